// Log streams.
#include <algorithm>
#include <cstdio>

#include "services/logs/handlers.h"

namespace gantry::services::logs {

namespace {

Document StreamOutput(const aws::RequestContext& ctx, const std::string& group, const Document& stream,
                      const telemetry::logs::StreamStats& stats) {
  std::string name = stream["logStreamName"].get<std::string>();
  Document out = {{"logStreamName", name}, {"creationTime", stream["creationTime"]}};
  if (stats.events > 0) {
    out["firstEventTimestamp"] = stats.first_timestamp;
    out["lastEventTimestamp"] = stats.last_timestamp;
    out["lastIngestionTime"] = stats.last_ingestion_time;
  }
  out["uploadSequenceToken"] = SequenceToken(stats.last_seq);
  out["arn"] = StreamArn(ctx.region, ctx.account_id, group, name);
  out["storedBytes"] = 0;  // AWS reports 0 for streams since 2019
  return out;
}

StatusOr<Document> CreateLogStream(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string group = input["logGroupName"].get<std::string>();
  std::string name = input["logStreamName"].get<std::string>();
  std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(LoadGroup(txn, scope, group).status());
    std::string key = StreamKey(group, name);
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, txn.Get(kStreamTable, scope, key));
    if (existing) {
      return Status::AlreadyExists("The specified log stream already exists", "ResourceAlreadyExistsException");
    }
    GANTRY_ASSIGN_OR_RETURN(int64_t id, txn.NextSequence("logs.stream"));
    Document stream = {{"logStreamName", name}, {"creationTime", ToEpochMillis(deps.clock->Now())}, {"id", id}};
    return txn.Create(kStreamTable, scope, key, stream).status();
  }));
  return Document::object();
}

StatusOr<Document> DeleteLogStream(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string group = input["logGroupName"].get<std::string>();
  std::string name = input["logStreamName"].get<std::string>();
  std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(Document group_doc, LoadGroup(*deps.store, scope, group));
  GANTRY_ASSIGN_OR_RETURN(Document stream, LoadStream(*deps.store, scope, group, name));
  GANTRY_RETURN_IF_ERROR(deps.engine->DeleteStream({IdOf(group_doc), IdOf(stream)}));
  GANTRY_RETURN_IF_ERROR(deps.store->Delete(kStreamTable, scope, StreamKey(group, name)).status());
  return Document::object();
}

// The sort key of a stream ordered by last event time: the time, zero-padded, then the name.
std::string TimeKey(int64_t last_event, const std::string& name) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020lld", static_cast<long long>(std::max<int64_t>(last_event, 0)));
  return std::string(digits) + "\n" + name;
}

StatusOr<Document> DescribeLogStreams(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string group, GroupNameOf(ctx, input));
  std::string order = input.value("orderBy", "LogStreamName");
  bool descending = input.value("descending", false);
  std::string prefix = input.value("logStreamNamePrefix", "");
  if (order == "LastEventTime" && input.contains("logStreamNamePrefix")) {
    return InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.");
  }
  std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(Document group_doc, LoadGroup(*deps.store, scope, group));
  uint64_t group_id = IdOf(group_doc);
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> records,
                          ListAll(*deps.store, kStreamTable, scope, StreamKey(group, prefix)));
  std::vector<KeyedItem> items;
  for (auto& record : records) {
    GANTRY_ASSIGN_OR_RETURN(telemetry::logs::StreamStats stats, deps.engine->Stats({group_id, IdOf(record.doc)}));
    std::string name = record.doc["logStreamName"].get<std::string>();
    std::string key = order == "LastEventTime" ? TimeKey(stats.events > 0 ? stats.last_timestamp : 0, name) : name;
    items.push_back({std::move(key), StreamOutput(ctx, group, record.doc, stats)});
  }
  std::sort(items.begin(), items.end(), [descending](const KeyedItem& a, const KeyedItem& b) {
    return descending ? b.key < a.key : a.key < b.key;
  });
  GANTRY_ASSIGN_OR_RETURN(Page page,
                          PageOf(std::move(items), input, static_cast<size_t>(input.value("limit", 50)), descending));
  Document out = {{"logStreams", page.items}};
  if (!page.next_token.empty()) out["nextToken"] = page.next_token;
  return out;
}

}  // namespace

void RegisterStreamHandlers(aws::HandlerTable& table, const LogsDeps* deps) {
  AddHandler(table, deps, "CreateLogStream", CreateLogStream);
  AddHandler(table, deps, "DeleteLogStream", DeleteLogStream);
  AddHandler(table, deps, "DescribeLogStreams", DescribeLogStreams);
}

}  // namespace gantry::services::logs
