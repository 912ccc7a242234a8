#include "services/codecommit/triggers.h"

#include <set>

#include "core/common/arn.h"
#include "core/common/log.h"
#include "core/common/time_format.h"

namespace gantry::services::codecommit {

namespace {

constexpr size_t kMaxTriggers = 10;
constexpr size_t kMaxBranches = 100;
constexpr size_t kMaxCustomData = 1000;

Status Invalid(std::string code, std::string message) {
  return Status::InvalidArgument(std::move(message), std::move(code));
}

// "createReference", "updateReference" or "deleteReference" for a change.
std::string_view TriggerEventOf(const ReferenceChange& change) {
  if (change.old_commit_id.empty()) return "createReference";
  if (change.commit_id.empty()) return "deleteReference";
  return "updateReference";
}

bool Matches(const Document& trigger, const ReferenceChange& change) {
  bool event = false;
  for (const auto& e : trigger.value("events", Document::array())) {
    event = event || e == "all" || e == TriggerEventOf(change);
  }
  if (!event) return false;
  const Document branches = trigger.value("branches", Document::array());
  if (branches.empty()) return true;
  constexpr std::string_view kHeads = "refs/heads/";
  if (change.full_name.rfind(kHeads, 0) != 0) return false;
  std::string branch = change.full_name.substr(kHeads.size());
  for (const auto& b : branches) {
    if (b == branch) return true;
  }
  return false;
}

std::optional<Arn> BusArn(std::string_view destination) {
  std::optional<Arn> arn = Arn::Parse(destination);
  if (!arn || arn->service != "events" || arn->resource.rfind("event-bus/", 0) != 0) return std::nullopt;
  return arn;
}

}  // namespace

Status ValidateTriggers(const Document& triggers, std::string_view account_id, std::string_view region) {
  if (!triggers.is_array()) {
    return Invalid("RepositoryTriggersListRequiredException",
                   "The list of triggers for the repository is required, "
                   "but was not specified.");
  }
  if (triggers.size() > kMaxTriggers) {
    return Invalid("MaximumRepositoryTriggersExceededException",
                   "The number of triggers allowed for the repository was exceeded: at most " +
                       std::to_string(kMaxTriggers) + ".");
  }
  std::set<std::string> names;
  for (const auto& trigger : triggers) {
    std::string name = trigger.value("name", "");
    if (name.empty()) {
      return Invalid("RepositoryTriggerNameRequiredException",
                     "A name for the trigger is required, but was not "
                     "specified.");
    }
    if (!names.insert(name).second || name.size() > 100) {
      return Invalid("InvalidRepositoryTriggerNameException",
                     "The name of the trigger " + name +
                         " is not valid: trigger names are unique in a repository "
                         "and at most 100 characters.");
    }
    std::string destination = trigger.value("destinationArn", "");
    if (destination.empty()) {
      return Invalid(
          "RepositoryTriggerDestinationArnRequiredException",
          "A destination ARN for the target service for the trigger " + name + " is required, but was not specified.");
    }
    std::optional<Arn> arn = Arn::Parse(destination);
    bool known = arn && ((arn->service == "sns" && !arn->resource.empty()) ||
                         (arn->service == "lambda" && arn->resource.rfind("function:", 0) == 0) ||
                         (arn->service == "events" && arn->resource.rfind("event-bus/", 0) == 0));
    if (!known) {
      return Invalid("InvalidRepositoryTriggerDestinationArnException",
                     "The Amazon Resource Name (ARN) " + destination + " of the trigger " + name +
                         " is not valid: it must be an Amazon SNS topic, an AWS Lambda function or, in Gantry, an "
                         "EventBridge event bus.");
    }
    if (arn->service == "events" && arn->account != account_id) {
      return Invalid("InvalidRepositoryTriggerDestinationArnException",
                     "The Amazon Resource Name (ARN) " + destination + " of the trigger " + name +
                         " is not valid: the event bus must be in the repository's account " + std::string(account_id) +
                         ".");
    }
    if (arn->region != region) {
      return Invalid("InvalidRepositoryTriggerRegionException",
                     "The region of the destination " + destination + " of the trigger " + name +
                         " is not valid: it must be " + std::string(region) + ", the repository's region.");
    }
    if (trigger.value("customData", "").size() > kMaxCustomData) {
      return Invalid("InvalidRepositoryTriggerCustomDataException",
                     "The custom data of the trigger " + name + " is longer than 1000 characters.");
    }
    if (!trigger.contains("branches")) {
      return Invalid("RepositoryTriggerBranchNameListRequiredException",
                     "The list of branches of the trigger " + name +
                         " is required (it can be empty), but was not "
                         "specified.");
    }
    if (trigger["branches"].size() > kMaxBranches) {
      return Invalid("MaximumBranchesExceededException",
                     "The trigger " + name + " names more than " + std::to_string(kMaxBranches) + " branches.");
    }
    for (const auto& branch : trigger["branches"]) {
      std::string b = branch.get<std::string>();
      if (b.empty() || b.size() > 256 || git_reference_is_valid_name(("refs/heads/" + b).c_str()) == 0) {
        return Invalid("InvalidRepositoryTriggerBranchNameException",
                       "The branch name " + b + " of the trigger " + name + " is not valid.");
      }
    }
    const Document events = trigger.value("events", Document::array());
    if (events.empty()) {
      return Invalid("RepositoryTriggerEventsListRequiredException",
                     "The list of events of the trigger " + name + " is required, but was not specified.");
    }
    bool all = false;
    for (const auto& e : events) all = all || e == "all";
    if (all && events.size() > 1) {
      return Invalid("InvalidRepositoryTriggerEventsException", "The events of the trigger " + name +
                                                                    " are not valid: \"all\" cannot be used with other "
                                                                    "events.");
    }
  }
  return Status::Ok();
}

Status DeliverTrigger(const CodeCommitDeps& deps, const Document& repository, const Document& trigger,
                      const std::vector<ReferenceChange>& changes, std::string_view caller_arn, bool test) {
  std::string destination = trigger.value("destinationArn", "");
  std::optional<Arn> bus = BusArn(destination);
  if (!bus) {
    return Status::FailedPrecondition("Gantry cannot deliver to " + destination +
                                      ": only EventBridge event bus destinations are served (no SNS or Lambda).");
  }
  const std::string account = repository.value("accountId", "");
  if (bus->account != account) {
    // Gantry's event buses have no resource policies that could let another account in.
    return Status::FailedPrecondition("Gantry cannot deliver to " + destination + ": the event bus is in account " +
                                      bus->account + ", and triggers deliver only to the repository's account, " +
                                      account + ".");
  }
  Document references = Document::array();
  for (const ReferenceChange& change : changes) {
    Document reference = {{"ref", change.full_name}};
    if (!change.commit_id.empty()) reference["commit"] = change.commit_id;
    if (change.old_commit_id.empty()) reference["created"] = true;
    if (change.commit_id.empty()) reference["deleted"] = true;
    references.push_back(std::move(reference));
  }
  Document record = {
      {"awsRegion", repository.value("region", "")},
      {"codecommit", {{"references", references}}},
      {"eventId", deps.ids->Uuid()},
      {"eventName", test ? "TriggerEventTest" : "ReferenceChanges"},
      {"eventPartNumber", 1},
      {"eventSource", "aws:codecommit"},
      {"eventSourceARN", repository.value("arn", "")},
      {"eventTime", FormatIso8601(deps.clock->Now(), /*with_millis=*/true)},
      {"eventTotalParts", 1},
      {"eventTriggerConfigId", repository.value("triggersConfigurationId", "")},
      {"eventTriggerName", trigger.value("name", "")},
      {"eventVersion", "1.0"},
      {"userIdentityARN", caller_arn},
  };
  if (trigger.contains("customData")) record["customData"] = trigger["customData"];
  aws::Principal principal;
  principal.account_id = account;
  principal.arn = std::string(kServicePrincipal);
  principal.user_id = std::string(kServicePrincipal);
  principal.service = std::string(kServicePrincipal);
  principal.internal = true;
  Document entry = {{"Source", kEventSource},
                    {"DetailType", kTriggerDetailType},
                    {"Detail", record.dump(-1, ' ', false, Document::error_handler_t::replace)},
                    {"Resources", {repository.value("arn", "")}},
                    {"EventBusName", destination}};
  if (deps.client == nullptr) return Status::Unavailable("no event bus is wired");
  GANTRY_ASSIGN_OR_RETURN(Document result,
                          deps.client->Call(principal, "events", "PutEvents", {{"Entries", {entry}}}, bus->region));
  if (result.value("FailedEntryCount", 0) > 0) {
    const Document& failed = result["Entries"][0];
    return Status::FailedPrecondition(destination + " refused the event: " + failed.value("ErrorCode", "") + " " +
                                      failed.value("ErrorMessage", ""));
  }
  return Status::Ok();
}

void FireTriggers(const CodeCommitDeps& deps, const Document& repository, const std::vector<ReferenceChange>& changes,
                  std::string_view caller_arn) {
  const std::string scope = repository.value("accountId", "") + "/" + repository.value("region", "");
  for (const auto& trigger : repository.value("triggers", Document::array())) {
    std::vector<ReferenceChange> matched;
    for (const ReferenceChange& change : changes) {
      if (Matches(trigger, change)) matched.push_back(change);
    }
    if (matched.empty()) continue;
    Status delivered = DeliverTrigger(deps, repository, trigger, matched, caller_arn, /*test=*/false);
    std::string name = trigger.value("name", "");
    Document outcome = {{"repositoryId", repository.value("repositoryId", "")},
                        {"repositoryName", repository.value("repositoryName", "")},
                        {"trigger", name},
                        {"destinationArn", trigger.value("destinationArn", "")},
                        {"time", ToEpochSeconds(deps.clock->Now())},
                        {"eventName", "ReferenceChanges"},
                        {"delivered", delivered.ok()}};
    if (!delivered.ok()) {
      outcome["failureMessage"] = delivered.message();
      GANTRY_LOG(kWarn, "codecommit: trigger " << name << " of " << repository.value("arn", "") << ": "
                                               << delivered.message());
    }
    Status recorded =
        deps.store->Put(kTriggerDeliveryTable, scope, repository.value("repositoryId", "") + "/" + name, outcome)
            .status();
    if (!recorded.ok()) GANTRY_LOG(kWarn, "codecommit: recording trigger " << name << ": " << recorded.ToString());
  }
}

void WriteTriggerDeliveries(store::Store& store, const http::Request& request, const std::string& default_account,
                            const std::string& default_region, http::Response& response) {
  auto deliveries = [&]() -> StatusOr<Document> {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page,
                            store.List(kTriggerDeliveryTable, aws::AdminViewScope(request, default_account, default_region)));
    Document list = Document::array();
    for (store::Record& record : page.records) list.push_back(std::move(record.doc));
    return list;
  };
  aws::WriteAdminView(deliveries(), "TriggerDeliveries", response);
}

}  // namespace gantry::services::codecommit
