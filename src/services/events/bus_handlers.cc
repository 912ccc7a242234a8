// Event buses, PutEvents, TestEventPattern and tags.
#include "core/common/arn.h"
#include "core/events/pattern.h"
#include "services/events/handlers.h"
#include "services/events/outbox.h"

namespace gantry::services::events {

namespace {

constexpr size_t kMaxPutEventsBytes = 256 * 1024;

Document BusOutput(const Document& bus) { return Without(bus, {"Tags"}); }

StatusOr<Document> CreateEventBus(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  if (input.contains("EventSourceName")) {
    return Status::NotFound("Event source " + input["EventSourceName"].get<std::string>() + " does not exist.",
                            "ResourceNotFoundException");
  }
  if (name.find('/') != std::string::npos) {
    return Status::InvalidArgument("Event bus name must not contain '/'.", "ValidationException");
  }
  double now = ToEpochSeconds(deps.clock->Now());
  Document bus = {{"Name", name},
                  {"Arn", BusArn(ctx.region, ctx.account_id, name)},
                  {"CreationTime", now},
                  {"LastModifiedTime", now},
                  {"Tags", Document::object()}};
  for (const char* member : {"Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"}) {
    if (input.contains(member)) bus[member] = input[member];
  }
  MergeTags(bus["Tags"], input.value("Tags", Document::array()));
  std::string scope = ctx.Scope();
  Status status = deps.store->Transact([&](store::Transaction& txn) -> Status {
    if (name == kDefaultBus)
      GANTRY_RETURN_IF_ERROR(LoadBus(txn, scope, ctx.account_id, ctx.region, name, deps.clock->Now()).status());
    return txn.Create(kBusTable, scope, name, bus).status();
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("Event bus " + name + " already exists.", "ResourceAlreadyExistsException");
  }
  GANTRY_RETURN_IF_ERROR(status);
  Document out = {{"EventBusArn", bus["Arn"]}};
  for (const char* member : {"Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"}) {
    if (bus.contains(member)) out[member] = bus[member];
  }
  return out;
}

StatusOr<Document> DescribeEventBus(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = BusNameOf(input.value("Name", Document()));
  GANTRY_ASSIGN_OR_RETURN(Document bus,
                          LoadBus(*deps.store, ctx.Scope(), ctx.account_id, ctx.region, name, deps.clock->Now()));
  return BusOutput(bus);
}

StatusOr<Document> ListEventBuses(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(
      LoadBus(*deps.store, scope, ctx.account_id, ctx.region, kDefaultBus, deps.clock->Now()).status());
  GANTRY_ASSIGN_OR_RETURN(Page page, ListPage(*deps.store, kBusTable, scope, input.value("NamePrefix", ""), input));
  Document buses = Document::array();
  for (const auto& record : page.records) buses.push_back(BusOutput(record.doc));
  Document out = {{"EventBuses", buses}};
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

StatusOr<Document> DeleteEventBus(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  if (name == kDefaultBus) return Status::InvalidArgument("Cannot delete event bus default.", "ValidationException");
  std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    store::ListOptions options;
    options.prefix = name + "/";
    GANTRY_ASSIGN_OR_RETURN(store::ListPage rules, txn.List(kRuleTable, scope, options));
    for (const auto& rule : rules.records) GANTRY_RETURN_IF_ERROR(txn.Delete(kRuleTable, scope, rule.key).status());
    return txn.Delete(kBusTable, scope, name).status();
  }));
  return Document::object();
}

StatusOr<Document> UpdateEventBus(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = BusNameOf(input.value("Name", Document()));
  std::string scope = ctx.Scope();
  Document bus;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(bus, LoadBus(txn, scope, ctx.account_id, ctx.region, name, deps.clock->Now()));
    for (const char* member : {"Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"}) {
      if (input.contains(member)) bus[member] = input[member];
    }
    bus["LastModifiedTime"] = ToEpochSeconds(deps.clock->Now());
    return txn.Put(kBusTable, scope, name, bus).status();
  }));
  Document out = {{"Arn", bus["Arn"]}, {"Name", name}};
  for (const char* member : {"Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"}) {
    if (bus.contains(member)) out[member] = bus[member];
  }
  return out;
}

// The size EventBridge charges an entry against the request limit.
size_t EntrySize(const Document& entry) {
  size_t size = entry.contains("Time") ? 14 : 0;
  for (const char* member : {"Source", "DetailType", "Detail"}) {
    if (entry.contains(member)) size += entry[member].get<std::string>().size();
  }
  for (const auto& resource : entry.value("Resources", Document::array())) size += resource.get<std::string>().size();
  return size;
}

Document EntryError(std::string_view code, std::string_view message) {
  return {{"ErrorCode", code}, {"ErrorMessage", message}};
}

StatusOr<Document> PutEvents(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const Document& entries = input["Entries"];
  size_t total = 0;
  for (const auto& entry : entries) total += EntrySize(entry);
  if (total > kMaxPutEventsBytes) {
    return Status::InvalidArgument("Total size of the entries in the request is over the limit.",
                                   "ValidationException");
  }
  TimePoint now = deps.clock->Now();
  Document results = Document::array();
  std::vector<Document> queued;
  int failed = 0;
  for (const auto& entry : entries) {
    auto fail = [&](std::string_view code, std::string_view message) {
      results.push_back(EntryError(code, message));
      ++failed;
    };
    std::string source = entry.value("Source", "");
    std::string detail_type = entry.value("DetailType", "");
    std::string detail_text = entry.value("Detail", "");
    if (source.empty()) {
      fail("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.");
      continue;
    }
    if (detail_type.empty()) {
      fail("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
      continue;
    }
    if (detail_text.empty()) {
      fail("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.");
      continue;
    }
    Document detail = Document::parse(detail_text, nullptr, false);
    if (!detail.is_object()) {
      fail("MalformedDetail", "Detail is malformed.");
      continue;
    }
    if (source.rfind("aws.", 0) == 0 && ctx.principal.service.empty()) {
      fail("NotAuthorizedForSourceException", "Not authorized for the source.");
      continue;
    }
    std::string bus = BusNameOf(entry.value("EventBusName", Document()));
    std::string bus_account = ctx.account_id;
    std::string bus_region = ctx.region;
    if (auto arn = Arn::Parse(entry.value("EventBusName", ""))) {
      bus_account = arn->account;
      bus_region = arn->region;
    }
    std::string bus_scope = ScopeOf(bus_account, bus_region);
    if (bus != kDefaultBus) {
      GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(kBusTable, bus_scope, bus));
      if (!record) {
        fail("ResourceNotFoundException", "Event bus " + bus + " does not exist.");
        continue;
      }
    }
    EventFields fields;
    fields.id = deps.ids->Uuid();
    fields.detail_type = detail_type;
    fields.source = source;
    fields.account = ctx.account_id;
    fields.time = entry.contains("Time") ? FromEpochSeconds(entry["Time"].get<double>()) : now;
    fields.region = ctx.region;
    fields.resources = entry.value("Resources", Document::array());
    fields.detail = std::move(detail);
    queued.push_back(EventEntry(bus_account, bus_region, bus, MakeEnvelope(fields), now));
    results.push_back({{"EventId", fields.id}});
  }
  if (!queued.empty()) {
    GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
      for (const Document& entry : queued) GANTRY_RETURN_IF_ERROR(Enqueue(txn, entry));
      return Status::Ok();
    }));
    deps.delivery_wakeup->Ring();
  }
  return Document{{"FailedEntryCount", failed}, {"Entries", results}};
}

StatusOr<Document> TestEventPattern(const EventsDeps&, aws::RequestContext&, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(auto pattern,
                          ::gantry::events::EventPattern::Parse(input["EventPattern"].get<std::string>()));
  Document event = Document::parse(input["Event"].get<std::string>(), nullptr, false);
  bool complete = event.is_object();
  for (const char* field : {"id", "account", "source", "time", "region", "detail-type"}) {
    complete = complete && event.contains(field);
  }
  if (!complete) return Status::InvalidArgument("Parameter Event is not valid.", "ValidationException");
  return Document{{"Result", pattern.Matches(event)}};
}

// The record that holds a taggable resource's tags: an event bus or a rule of this account and
// region.
struct Taggable {
  std::string_view table;
  std::string key;
};

StatusOr<Taggable> TaggableOf(const EventsDeps& deps, aws::RequestContext& ctx, const std::string& resource_arn) {
  auto arn = Arn::Parse(resource_arn);
  auto invalid = Status::InvalidArgument("Parameter ResourceARN is not valid.", "ValidationException");
  if (!arn || arn->service != "events") return invalid;
  const std::string& resource = arn->resource;
  bool here = arn->account == ctx.account_id && arn->region == ctx.region;
  if (resource.rfind("event-bus/", 0) == 0) {
    std::string bus = resource.substr(10);
    if (!here) return BusNotFound(bus);
    GANTRY_RETURN_IF_ERROR(
        LoadBus(*deps.store, ctx.Scope(), ctx.account_id, ctx.region, bus, deps.clock->Now()).status());
    return Taggable{kBusTable, bus};
  }
  if (resource.rfind("rule/", 0) == 0) {
    std::string rest = resource.substr(5);
    size_t slash = rest.rfind('/');
    std::string bus = slash == std::string::npos ? std::string(kDefaultBus) : rest.substr(0, slash);
    std::string rule = slash == std::string::npos ? rest : rest.substr(slash + 1);
    if (!here) return RuleNotFound(rule, bus);
    GANTRY_RETURN_IF_ERROR(LoadRule(*deps.store, ctx.Scope(), bus, rule).status());
    return Taggable{kRuleTable, RuleKey(bus, rule)};
  }
  return invalid;
}

Status UpdateTags(const EventsDeps& deps, aws::RequestContext& ctx, const std::string& resource_arn,
                  const std::function<void(Document& tags)>& change) {
  GANTRY_ASSIGN_OR_RETURN(Taggable taggable, TaggableOf(deps, ctx, resource_arn));
  std::string scope = ctx.Scope();
  return deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto record, txn.Get(taggable.table, scope, taggable.key));
    if (!record) return Status::NotFound("Resource " + resource_arn + " does not exist.", "ResourceNotFoundException");
    Document doc = record->doc;
    if (!doc.contains("Tags")) doc["Tags"] = Document::object();
    change(doc["Tags"]);
    return txn.Put(taggable.table, scope, taggable.key, doc).status();
  });
}

StatusOr<Document> TagResource(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const Document& tags = input["Tags"];
  GANTRY_RETURN_IF_ERROR(UpdateTags(deps, ctx, input["ResourceARN"].get<std::string>(),
                                    [&](Document& current) { MergeTags(current, tags); }));
  return Document::object();
}

StatusOr<Document> UntagResource(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const Document& keys = input["TagKeys"];
  GANTRY_RETURN_IF_ERROR(UpdateTags(deps, ctx, input["ResourceARN"].get<std::string>(), [&](Document& current) {
    for (const auto& key : keys) current.erase(key.get<std::string>());
  }));
  return Document::object();
}

StatusOr<Document> ListTagsForResource(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Taggable taggable, TaggableOf(deps, ctx, input["ResourceARN"].get<std::string>()));
  GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(taggable.table, ctx.Scope(), taggable.key));
  return Document{{"Tags", TagListOf(record ? record->doc.value("Tags", Document::object()) : Document::object())}};
}

}  // namespace

void RegisterBusHandlers(aws::HandlerTable& table, const EventsDeps& deps) {
  AddHandler(table, deps, "CreateEventBus", CreateEventBus);
  AddHandler(table, deps, "DescribeEventBus", DescribeEventBus);
  AddHandler(table, deps, "ListEventBuses", ListEventBuses);
  AddHandler(table, deps, "DeleteEventBus", DeleteEventBus);
  AddHandler(table, deps, "UpdateEventBus", UpdateEventBus);
  AddHandler(table, deps, "PutEvents", PutEvents);
  AddHandler(table, deps, "TestEventPattern", TestEventPattern);
  AddHandler(table, deps, "TagResource", TagResource);
  AddHandler(table, deps, "UntagResource", UntagResource);
  AddHandler(table, deps, "ListTagsForResource", ListTagsForResource);
}

}  // namespace gantry::services::events
