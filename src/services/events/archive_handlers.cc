// Archives (copies of a bus's events, filtered by an optional pattern) and replays (archived
// events of a time window published again to the bus's rules).
#include "core/common/arn.h"
#include "core/events/pattern.h"
#include "services/events/handlers.h"
#include "services/events/outbox.h"

namespace gantry::services::events {

namespace {

Status ArchiveNotFound(const std::string& name) {
  return Status::NotFound("Archive " + name + " does not exist.", "ResourceNotFoundException");
}

Status ReplayNotFound(const std::string& name) {
  return Status::NotFound("Replay " + name + " does not exist.", "ResourceNotFoundException");
}

// The bus an event-bus ARN names, when it is a bus of this account and region.
std::optional<std::string> LocalBusOf(const aws::RequestContext& ctx, const std::string& bus_arn) {
  auto arn = Arn::Parse(bus_arn);
  if (!arn || arn->service != "events" || arn->resource.rfind("event-bus/", 0) != 0) return std::nullopt;
  if (arn->account != ctx.account_id || arn->region != ctx.region) return std::nullopt;
  return arn->resource.substr(10);
}

// At most one of the List* filters may be given.
Status OneFilterAtMost(const Document& input, const char* operation) {
  int filters = input.contains("NamePrefix") + input.contains("EventSourceArn") + input.contains("State");
  if (filters <= 1) return Status::Ok();
  return Status::InvalidArgument(std::string("At most one filter is allowed for ") + operation +
                                     ". Use either : State, EventSourceArn, or NamePrefix.",
                                 "ValidationException");
}

StatusOr<Document> CreateArchive(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["ArchiveName"].get<std::string>();
  std::string source = input["EventSourceArn"].get<std::string>();
  if (input.contains("EventPattern")) {
    GANTRY_RETURN_IF_ERROR(::gantry::events::EventPattern::Parse(input["EventPattern"].get<std::string>()).status());
  }
  auto bus = LocalBusOf(ctx, source);
  if (!bus) return BusNotFound(source.substr(source.rfind('/') + 1));
  TimePoint now = deps.clock->Now();
  Document archive = {
      {"ArchiveName", name},      {"ArchiveArn", ResourceArn(ctx.region, ctx.account_id, "archive/" + name)},
      {"EventSourceArn", source}, {"RetentionDays", input.value("RetentionDays", 0)},
      {"State", "ENABLED"},       {"CreationTime", ToEpochSeconds(now)},
      {"EventCount", 0},          {"SizeBytes", 0}};
  for (const char* member : {"Description", "EventPattern", "KmsKeyIdentifier"}) {
    if (input.contains(member)) archive[member] = input[member];
  }
  std::string scope = ctx.Scope();
  Status status = deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(LoadBus(txn, scope, ctx.account_id, ctx.region, *bus, now).status());
    return txn.Create(kArchiveTable, scope, name, archive).status();
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("Archive " + name + " already exists.", "ResourceAlreadyExistsException");
  }
  GANTRY_RETURN_IF_ERROR(status);
  return Document{
      {"ArchiveArn", archive["ArchiveArn"]}, {"State", "ENABLED"}, {"CreationTime", archive["CreationTime"]}};
}

StatusOr<Document> DescribeArchive(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["ArchiveName"].get<std::string>();
  GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(kArchiveTable, ctx.Scope(), name));
  if (!record) return ArchiveNotFound(name);
  return record->doc;
}

StatusOr<Document> ListArchives(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(OneFilterAtMost(input, "ListArchives"));
  std::string source = input.value("EventSourceArn", "");
  std::string state = input.value("State", "");
  auto keep = [&](const store::Record& r) {
    return (source.empty() || r.doc.value("EventSourceArn", "") == source) &&
           (state.empty() || r.doc.value("State", "") == state);
  };
  GANTRY_ASSIGN_OR_RETURN(
      Page page, ListPage(*deps.store, kArchiveTable, ctx.Scope(), input.value("NamePrefix", ""), input, keep));
  Document archives = Document::array();
  for (const auto& record : page.records) archives.push_back(record.doc);
  Document out = {{"Archives", archives}};
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

StatusOr<Document> UpdateArchive(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["ArchiveName"].get<std::string>();
  if (input.contains("EventPattern")) {
    GANTRY_RETURN_IF_ERROR(::gantry::events::EventPattern::Parse(input["EventPattern"].get<std::string>()).status());
  }
  std::string scope = ctx.Scope();
  Document archive;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto record, txn.Get(kArchiveTable, scope, name));
    if (!record) return ArchiveNotFound(name);
    archive = record->doc;
    for (const char* member : {"Description", "EventPattern", "RetentionDays", "KmsKeyIdentifier"}) {
      if (input.contains(member)) archive[member] = input[member];
    }
    return txn.Put(kArchiveTable, scope, name, archive).status();
  }));
  return Document{
      {"ArchiveArn", archive["ArchiveArn"]}, {"State", archive["State"]}, {"CreationTime", archive["CreationTime"]}};
}

StatusOr<Document> DeleteArchive(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["ArchiveName"].get<std::string>();
  std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(bool deleted, deps.store->Delete(kArchiveTable, scope, name));
  if (!deleted) return ArchiveNotFound(name);
  // The archived events go in batches: none of them is reachable without the archive record.
  store::ListOptions options;
  options.prefix = name + "/";
  options.limit = 500;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kArchivedEventTable, scope, options));
    if (page.records.empty()) break;
    GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
      for (const auto& record : page.records) {
        GANTRY_RETURN_IF_ERROR(txn.Delete(kArchivedEventTable, scope, record.key).status());
      }
      return Status::Ok();
    }));
  }
  return Document::object();
}

StatusOr<Document> StartReplay(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["ReplayName"].get<std::string>();
  std::string archive_arn = input["EventSourceArn"].get<std::string>();
  double start = input["EventStartTime"].get<double>();
  double end = input["EventEndTime"].get<double>();
  const Document& destination = input["Destination"];
  std::string destination_arn = destination["Arn"].get<std::string>();
  std::string scope = ctx.Scope();
  if (end <= start) {
    return Status::InvalidArgument(
        "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
        "ValidationException");
  }
  std::string archive_name = archive_arn.substr(archive_arn.rfind('/') + 1);
  GANTRY_ASSIGN_OR_RETURN(auto archive, deps.store->Get(kArchiveTable, scope, archive_name));
  if (!archive || archive->doc.value("ArchiveArn", "") != archive_arn) {
    return Status::InvalidArgument(
        "Parameter EventSourceArn is not valid. Reason: Archive " + archive_name + " does not exist.",
        "ValidationException");
  }
  auto destination_bus = LocalBusOf(ctx, destination_arn);
  if (!destination_bus) {
    return Status::InvalidArgument("Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN.",
                                   "ValidationException");
  }
  if (destination_arn != archive->doc.value("EventSourceArn", "")) {
    GANTRY_ASSIGN_OR_RETURN(auto bus, deps.store->Get(kBusTable, scope, *destination_bus));
    if (!bus && *destination_bus != kDefaultBus) return BusNotFound(*destination_bus);
    return Status::InvalidArgument(
        "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
        "ValidationException");
  }
  TimePoint now = deps.clock->Now();
  Document replay = {
      {"ReplayName", name},         {"ReplayArn", ResourceArn(ctx.region, ctx.account_id, "replay/" + name)},
      {"State", "STARTING"},        {"EventSourceArn", archive_arn},
      {"Destination", destination}, {"EventStartTime", start},
      {"EventEndTime", end},        {"ReplayStartTime", ToEpochSeconds(now)}};
  if (input.contains("Description")) replay["Description"] = input["Description"];
  Status status = deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(txn.Create(kReplayTable, scope, name, replay).status());
    return Enqueue(txn, {{"kind", "replay"}, {"account", ctx.account_id}, {"region", ctx.region}, {"replay", name}});
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("Replay " + name + " already exists.", "ResourceAlreadyExistsException");
  }
  GANTRY_RETURN_IF_ERROR(status);
  deps.delivery_wakeup->Ring();
  return Document{
      {"ReplayArn", replay["ReplayArn"]}, {"State", "STARTING"}, {"ReplayStartTime", replay["ReplayStartTime"]}};
}

StatusOr<Document> DescribeReplay(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["ReplayName"].get<std::string>();
  GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(kReplayTable, ctx.Scope(), name));
  if (!record) return ReplayNotFound(name);
  return Without(record->doc, {"Cursor"});
}

StatusOr<Document> ListReplays(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(OneFilterAtMost(input, "ListReplays"));
  std::string source = input.value("EventSourceArn", "");
  std::string state = input.value("State", "");
  auto keep = [&](const store::Record& r) {
    return (source.empty() || r.doc.value("EventSourceArn", "") == source) &&
           (state.empty() || r.doc.value("State", "") == state);
  };
  GANTRY_ASSIGN_OR_RETURN(Page page,
                          ListPage(*deps.store, kReplayTable, ctx.Scope(), input.value("NamePrefix", ""), input, keep));
  Document replays = Document::array();
  for (const auto& record : page.records) replays.push_back(Without(record.doc, {"Cursor"}));
  Document out = {{"Replays", replays}};
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

StatusOr<Document> CancelReplay(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["ReplayName"].get<std::string>();
  std::string scope = ctx.Scope();
  Document replay;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto record, txn.Get(kReplayTable, scope, name));
    if (!record) return ReplayNotFound(name);
    replay = record->doc;
    std::string state = replay.value("State", "");
    if (state != "STARTING" && state != "RUNNING") {
      return Status::FailedPrecondition("Replay " + name + " is not in a valid state for this operation.",
                                        "IllegalStatusException");
    }
    replay["State"] = "CANCELLING";
    return txn.Put(kReplayTable, scope, name, replay).status();
  }));
  deps.delivery_wakeup->Ring();
  return Document{{"ReplayArn", replay["ReplayArn"]}, {"State", "CANCELLING"}};
}

}  // namespace

void RegisterArchiveHandlers(aws::HandlerTable& table, const EventsDeps& deps) {
  AddHandler(table, deps, "CreateArchive", CreateArchive);
  AddHandler(table, deps, "DescribeArchive", DescribeArchive);
  AddHandler(table, deps, "ListArchives", ListArchives);
  AddHandler(table, deps, "UpdateArchive", UpdateArchive);
  AddHandler(table, deps, "DeleteArchive", DeleteArchive);
  AddHandler(table, deps, "StartReplay", StartReplay);
  AddHandler(table, deps, "DescribeReplay", DescribeReplay);
  AddHandler(table, deps, "ListReplays", ListReplays);
  AddHandler(table, deps, "CancelReplay", CancelReplay);
}

}  // namespace gantry::services::events
