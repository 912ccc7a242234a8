// Rules and their targets.
#include "core/common/arn.h"
#include "core/common/strings.h"
#include "core/events/pattern.h"
#include "core/events/schedule.h"
#include "core/events/transform.h"
#include "services/events/handlers.h"
#include "services/events/scheduler.h"
#include "services/events/targets.h"

namespace gantry::services::events {

namespace {

constexpr size_t kMaxTargetsPerRule = 5;

Document RuleOutput(const Document& rule) { return Without(rule, {"Targets", "Tags"}); }

bool NonEmpty(const Document& input, const char* member) {
  return input.contains(member) && !input[member].get<std::string>().empty();
}

StatusOr<Document> PutRule(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  std::string bus = BusNameOf(input.value("EventBusName", Document()));
  bool has_pattern = NonEmpty(input, "EventPattern");
  bool has_schedule = NonEmpty(input, "ScheduleExpression");
  if (!has_pattern && !has_schedule) {
    return Status::InvalidArgument("Parameter(s) EventPattern or ScheduleExpression must be specified.",
                                   "ValidationException");
  }
  if (has_schedule) {
    if (bus != kDefaultBus) {
      return Status::InvalidArgument("ScheduleExpression is supported only on the default event bus.",
                                     "ValidationException");
    }
    GANTRY_RETURN_IF_ERROR(
        ::gantry::events::ScheduleExpression::Parse(input["ScheduleExpression"].get<std::string>()).status());
  }
  if (has_pattern) {
    GANTRY_RETURN_IF_ERROR(::gantry::events::EventPattern::Parse(input["EventPattern"].get<std::string>()).status());
  }
  std::string scope = ctx.Scope();
  TimePoint now = deps.clock->Now();
  Document rule = {{"Name", name},
                   {"Arn", RuleArn(ctx.region, ctx.account_id, bus, name)},
                   {"EventBusName", bus},
                   {"State", input.value("State", "ENABLED")},
                   {"CreatedBy", ctx.account_id},
                   {"Targets", Document::array()},
                   {"Tags", Document::object()}};
  if (has_pattern) rule["EventPattern"] = input["EventPattern"];
  if (has_schedule) rule["ScheduleExpression"] = input["ScheduleExpression"];
  for (const char* member : {"Description", "RoleArn"}) {
    if (input.contains(member)) rule[member] = input[member];
  }
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(LoadBus(txn, scope, ctx.account_id, ctx.region, bus, now).status());
    GANTRY_ASSIGN_OR_RETURN(auto existing, txn.Get(kRuleTable, scope, RuleKey(bus, name)));
    if (existing) {
      rule["Targets"] = existing->doc.value("Targets", Document::array());
      rule["Tags"] = existing->doc.value("Tags", Document::object());
      rule["CreatedBy"] = existing->doc.value("CreatedBy", ctx.account_id);
    }
    MergeTags(rule["Tags"], input.value("Tags", Document::array()));
    GANTRY_RETURN_IF_ERROR(txn.Put(kRuleTable, scope, RuleKey(bus, name), rule).status());
    return SyncSchedule(txn, ctx.account_id, ctx.region, bus, name, &rule, now);
  }));
  deps.schedule_wakeup->Ring();
  return Document{{"RuleArn", rule["Arn"]}};
}

StatusOr<Document> DescribeRule(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string bus = BusNameOf(input.value("EventBusName", Document()));
  std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(LoadBus(*deps.store, scope, ctx.account_id, ctx.region, bus, deps.clock->Now()).status());
  GANTRY_ASSIGN_OR_RETURN(store::Record rule, LoadRule(*deps.store, scope, bus, input["Name"].get<std::string>()));
  return RuleOutput(rule.doc);
}

Status SetRuleState(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input, const char* state) {
  std::string name = input["Name"].get<std::string>();
  std::string bus = BusNameOf(input.value("EventBusName", Document()));
  std::string scope = ctx.Scope();
  TimePoint now = deps.clock->Now();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(LoadBus(txn, scope, ctx.account_id, ctx.region, bus, now).status());
    GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadRule(txn, scope, bus, name));
    Document rule = record.doc;
    rule["State"] = state;
    GANTRY_RETURN_IF_ERROR(txn.Put(kRuleTable, scope, record.key, rule).status());
    return SyncSchedule(txn, ctx.account_id, ctx.region, bus, name, &rule, now);
  }));
  deps.schedule_wakeup->Ring();
  return Status::Ok();
}

StatusOr<Document> EnableRule(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(SetRuleState(deps, ctx, input, "ENABLED"));
  return Document::object();
}

StatusOr<Document> DisableRule(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(SetRuleState(deps, ctx, input, "DISABLED"));
  return Document::object();
}

StatusOr<Document> ListRules(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string bus = BusNameOf(input.value("EventBusName", Document()));
  std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(LoadBus(*deps.store, scope, ctx.account_id, ctx.region, bus, deps.clock->Now()).status());
  GANTRY_ASSIGN_OR_RETURN(Page page,
                          ListPage(*deps.store, kRuleTable, scope, bus + "/" + input.value("NamePrefix", ""), input));
  Document rules = Document::array();
  for (const auto& record : page.records) rules.push_back(Without(RuleOutput(record.doc), {"CreatedBy"}));
  Document out = {{"Rules", rules}};
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

StatusOr<Document> ListRuleNamesByTarget(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string bus = BusNameOf(input.value("EventBusName", Document()));
  std::string target_arn = input["TargetArn"].get<std::string>();
  std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(LoadBus(*deps.store, scope, ctx.account_id, ctx.region, bus, deps.clock->Now()).status());
  auto has_target = [&](const store::Record& record) {
    for (const auto& target : record.doc.value("Targets", Document::array())) {
      if (target.value("Arn", "") == target_arn) return true;
    }
    return false;
  };
  GANTRY_ASSIGN_OR_RETURN(Page page, ListPage(*deps.store, kRuleTable, scope, bus + "/", input, has_target));
  Document names = Document::array();
  for (const auto& record : page.records) names.push_back(record.doc["Name"]);
  Document out = {{"RuleNames", names}};
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

StatusOr<Document> DeleteRule(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  std::string bus = BusNameOf(input.value("EventBusName", Document()));
  std::string scope = ctx.Scope();
  TimePoint now = deps.clock->Now();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(LoadBus(txn, scope, ctx.account_id, ctx.region, bus, now).status());
    GANTRY_ASSIGN_OR_RETURN(auto rule, txn.Get(kRuleTable, scope, RuleKey(bus, name)));
    if (!rule) return Status::Ok();
    if (!rule->doc.value("Targets", Document::array()).empty()) {
      return Status::InvalidArgument("Rule can't be deleted since it has targets.", "ValidationException");
    }
    GANTRY_RETURN_IF_ERROR(txn.Delete(kRuleTable, scope, rule->key).status());
    return SyncSchedule(txn, ctx.account_id, ctx.region, bus, name, nullptr, now);
  }));
  deps.schedule_wakeup->Ring();
  return Document::object();
}

StatusOr<Document> PutTargets(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Rule"].get<std::string>();
  std::string bus = BusNameOf(input.value("EventBusName", Document()));
  const Document& targets = input["Targets"];
  for (const auto& target : targets) {
    GANTRY_RETURN_IF_ERROR(::gantry::events::ValidateTargetInput(InputSpecOf(target), target["Id"].get<std::string>()));
  }
  // Handing a role to a target needs iam:PassRole on it, as in AWS.
  for (const auto& target : targets) {
    if (target.contains("RoleArn")) {
      GANTRY_RETURN_IF_ERROR(ctx.Authorize("iam:PassRole", target["RoleArn"].get<std::string>()));
    }
  }
  std::string scope = ctx.Scope();
  Document failed = Document::array();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    failed = Document::array();
    GANTRY_RETURN_IF_ERROR(LoadBus(txn, scope, ctx.account_id, ctx.region, bus, deps.clock->Now()).status());
    GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadRule(txn, scope, bus, name));
    Document rule = record.doc;
    Document& current = rule["Targets"];
    if (!current.is_array()) current = Document::array();
    for (const auto& target : targets) {
      std::string id = target["Id"].get<std::string>();
      std::string arn = target["Arn"].get<std::string>();
      if (!Arn::Parse(arn)) {
        failed.push_back(
            {{"TargetId", id},
             {"ErrorCode", "ValidationException"},
             {"ErrorMessage", "Parameter " + arn + " is not valid. Reason: Provided Arn is not in correct format."}});
        continue;
      }
      auto same = std::find_if(current.begin(), current.end(), [&](const Document& t) { return t["Id"] == id; });
      if (same != current.end()) {
        *same = target;
      } else if (current.size() >= kMaxTargetsPerRule) {
        return Status::ResourceExhausted("The requested resource exceeds the maximum number allowed.",
                                         "LimitExceededException");
      } else {
        current.push_back(target);
      }
    }
    return txn.Put(kRuleTable, scope, record.key, rule).status();
  }));
  return Document{{"FailedEntryCount", failed.size()}, {"FailedEntries", failed}};
}

StatusOr<Document> ListTargetsByRule(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string bus = BusNameOf(input.value("EventBusName", Document()));
  std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(LoadBus(*deps.store, scope, ctx.account_id, ctx.region, bus, deps.clock->Now()).status());
  GANTRY_ASSIGN_OR_RETURN(store::Record rule, LoadRule(*deps.store, scope, bus, input["Rule"].get<std::string>()));
  const Document targets = rule.doc.value("Targets", Document::array());
  size_t start = 0;
  if (input.contains("NextToken")) {
    auto decoded = Base64Decode(input["NextToken"].get<std::string>());
    if (!decoded || decoded->empty() || decoded->size() > 9 ||
        decoded->find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument("The NextToken provided is not valid.", "ValidationException");
    }
    start = std::stoul(*decoded);
  }
  size_t limit = static_cast<size_t>(input.value("Limit", 100));
  Document page = Document::array();
  for (size_t i = start; i < targets.size() && page.size() < limit; ++i) page.push_back(targets[i]);
  Document out = {{"Targets", page}};
  if (start + page.size() < targets.size()) out["NextToken"] = Base64Encode(std::to_string(start + page.size()));
  return out;
}

StatusOr<Document> RemoveTargets(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Rule"].get<std::string>();
  std::string bus = BusNameOf(input.value("EventBusName", Document()));
  const Document& ids = input["Ids"];
  std::string scope = ctx.Scope();
  Document failed = Document::array();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    failed = Document::array();
    GANTRY_RETURN_IF_ERROR(LoadBus(txn, scope, ctx.account_id, ctx.region, bus, deps.clock->Now()).status());
    GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadRule(txn, scope, bus, name));
    Document rule = record.doc;
    Document kept = Document::array();
    const Document current = rule.value("Targets", Document::array());
    for (const auto& id : ids) {
      bool found = std::any_of(current.begin(), current.end(), [&](const Document& t) { return t["Id"] == id; });
      if (!found) {
        failed.push_back({{"TargetId", id},
                          {"ErrorCode", "ResourceNotFoundException"},
                          {"ErrorMessage",
                           "Rule '" + name + "' does not have a target with the Id '" + id.get<std::string>() + "'."}});
      }
    }
    for (const auto& target : current) {
      if (std::find(ids.begin(), ids.end(), target["Id"]) == ids.end()) kept.push_back(target);
    }
    rule["Targets"] = kept;
    return txn.Put(kRuleTable, scope, record.key, rule).status();
  }));
  return Document{{"FailedEntryCount", failed.size()}, {"FailedEntries", failed}};
}

}  // namespace

void RegisterRuleHandlers(aws::HandlerTable& table, const EventsDeps& deps) {
  AddHandler(table, deps, "PutRule", PutRule);
  AddHandler(table, deps, "DescribeRule", DescribeRule);
  AddHandler(table, deps, "EnableRule", EnableRule);
  AddHandler(table, deps, "DisableRule", DisableRule);
  AddHandler(table, deps, "ListRules", ListRules);
  AddHandler(table, deps, "ListRuleNamesByTarget", ListRuleNamesByTarget);
  AddHandler(table, deps, "DeleteRule", DeleteRule);
  AddHandler(table, deps, "PutTargets", PutTargets);
  AddHandler(table, deps, "ListTargetsByRule", ListTargetsByRule);
  AddHandler(table, deps, "RemoveTargets", RemoveTargets);
}

}  // namespace gantry::services::events
