// Log events: PutLogEvents (AWS's batch rules), GetLogEvents (f/ and b/ tokens) and
// FilterLogEvents (filter patterns across a group's streams, interleaved by time).
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "core/common/strings.h"
#include "services/logs/handlers.h"
#include "services/logs/log_metrics.h"
#include "telemetry/logs/filter_pattern.h"

namespace gantry::services::logs {

namespace {

using telemetry::logs::FilterPattern;
using telemetry::logs::Position;
using telemetry::logs::ReadQuery;
using telemetry::logs::ReadResult;
using telemetry::logs::StreamId;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kMaxFuture = 2 * kHour;
constexpr int64_t kMaxPast = 14 * kDay;
constexpr int64_t kMaxBatchSpan = kDay;
// Raw bytes one FilterLogEvents call decompresses and scans before it answers with a nextToken.
constexpr uint64_t kFilterScanBudget = 512ull << 20;
constexpr uint64_t kMaxTokenSeq = 999999999999999999ull;

std::string Digits(uint64_t value, int width) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%0*llu", width, static_cast<unsigned long long>(value));
  return buffer;
}

uint64_t Clamp(int64_t value) { return value < 0 ? 0 : static_cast<uint64_t>(value); }

// GetLogEvents tokens as AWS prints them: "f/" or "b/", 56 digits, "/s". The digits hold the
// position of the event the page ended at: timestamp (19), ingestion time (19), sequence (18).
std::string PositionToken(char direction, const Position& p) {
  return std::string(1, direction) + "/" + Digits(Clamp(p.timestamp), 19) + Digits(Clamp(p.ingestion_time), 19) +
         Digits(std::min<uint64_t>(p.seq, kMaxTokenSeq), 18) + "/s";
}

struct ParsedToken {
  char direction = 'f';
  Position position;
};

std::optional<ParsedToken> ParsePositionToken(std::string_view token, uint64_t stream) {
  if (token.size() >= 2 && token.substr(token.size() - 2) == "/s") token.remove_suffix(2);
  if (token.size() != 58 || (token[0] != 'f' && token[0] != 'b') || token[1] != '/') return std::nullopt;
  std::string_view digits = token.substr(2);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  auto number = [&](size_t at, size_t n) {
    unsigned long long v = std::stoull(std::string(digits.substr(at, n)));
    return v > static_cast<unsigned long long>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
  };
  ParsedToken parsed;
  parsed.direction = token[0];
  parsed.position.timestamp = number(0, 19);
  parsed.position.ingestion_time = number(19, 19);
  parsed.position.stream = stream;
  parsed.position.seq = static_cast<uint64_t>(number(38, 18));
  return parsed;
}

std::string EventId(const telemetry::logs::Event& e) {
  return Digits(Clamp(e.timestamp), 19) + Digits(e.stream.stream % 1000000000000000000ull, 18) +
         Digits(e.seq % 10000000000000000000ull, 19);
}

Status InvalidToken() { return InvalidParameter("The specified nextToken is invalid."); }

StatusOr<Document> PutLogEvents(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string group_name = input["logGroupName"].get<std::string>();
  std::string stream_name = input["logStreamName"].get<std::string>();
  const Document& events = input["logEvents"];
  size_t total = 0;
  for (const auto& event : events) {
    size_t size = event["message"].get_ref<const std::string&>().size() + kEventOverhead;
    if (size > kMaxBatchBytes) {
      return InvalidParameter("Log event too large: " + std::to_string(size) + " bytes exceeds limit of " +
                              std::to_string(kMaxBatchBytes));
    }
    total += size;
  }
  if (total > kMaxBatchBytes) {
    return InvalidParameter("Upload too large: " + std::to_string(total) + " bytes exceeds limit of " +
                            std::to_string(kMaxBatchBytes));
  }
  for (size_t i = 1; i < events.size(); ++i) {
    if (events[i]["timestamp"].get<int64_t>() < events[i - 1]["timestamp"].get<int64_t>()) {
      return InvalidParameter("Log events in a single PutLogEvents request must be in chronological order.");
    }
  }
  std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(Document group, LoadGroup(*deps.store, scope, group_name));
  GANTRY_ASSIGN_OR_RETURN(Document stream, LoadStream(*deps.store, scope, group_name, stream_name));

  // Too old (14 days, or the group's retention) and too new (2 hours) events are rejected one by
  // one; as the batch is in time order they form a prefix and a suffix.
  int64_t now = ToEpochMillis(deps.clock->Now());
  size_t n = events.size();
  size_t too_old_end = 0, expired_end = 0, too_new_start = n;
  int64_t retention_cutoff = INT64_MIN;
  if (group.contains("retentionInDays")) retention_cutoff = now - group["retentionInDays"].get<int64_t>() * kDay;
  for (size_t i = 0; i < n; ++i) {
    int64_t ts = events[i]["timestamp"].get<int64_t>();
    if (ts < now - kMaxPast) too_old_end = i + 1;
    if (ts < retention_cutoff) expired_end = i + 1;
    if (ts > now + kMaxFuture && too_new_start == n) too_new_start = i;
  }
  size_t first = std::max(too_old_end, expired_end);
  size_t last = std::max(first, too_new_start);  // one past the last valid event
  if (last > first && events[last - 1]["timestamp"].get<int64_t>() - events[first]["timestamp"].get<int64_t>() > kMaxBatchSpan) {
    return InvalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
  }
  std::vector<telemetry::logs::NewEvent> batch;
  batch.reserve(last - first);
  for (size_t i = first; i < last; ++i) {
    batch.push_back({events[i]["timestamp"].get<int64_t>(), events[i]["message"].get_ref<const std::string&>()});
  }
  StreamId id{IdOf(group), IdOf(stream)};
  auto appended = deps.engine->Append(id, batch);
  if (!appended.ok()) {
    if (appended.status().code() == StatusCode::kNotFound) return StreamNotFound();
    return appended.status();
  }
  uint64_t last_seq = appended->last_seq;
  PublishLogMetrics(deps, ctx, group_name, batch);
  if (batch.empty()) {
    GANTRY_ASSIGN_OR_RETURN(telemetry::logs::StreamStats stats, deps.engine->Stats(id));
    last_seq = stats.last_seq;
  }
  Document out = {{"nextSequenceToken", SequenceToken(last_seq)}};
  Document rejected = Document::object();
  if (too_new_start < n) rejected["tooNewLogEventStartIndex"] = too_new_start;
  if (too_old_end > 0) rejected["tooOldLogEventEndIndex"] = too_old_end;
  if (expired_end > 0) rejected["expiredLogEventEndIndex"] = expired_end;
  if (!rejected.empty()) out["rejectedLogEventsInfo"] = rejected;
  return out;
}

StatusOr<Document> GetLogEvents(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string group_name, GroupNameOf(ctx, input));
  std::string stream_name = input["logStreamName"].get<std::string>();
  std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(Document group, LoadGroup(*deps.store, scope, group_name));
  GANTRY_ASSIGN_OR_RETURN(Document stream, LoadStream(*deps.store, scope, group_name, stream_name));
  StreamId id{IdOf(group), IdOf(stream)};

  std::optional<ParsedToken> token;
  std::string token_text;
  if (input.contains("nextToken")) {
    token_text = input["nextToken"].get<std::string>();
    token = ParsePositionToken(token_text, id.stream);
    if (!token) return InvalidToken();
  }
  ReadQuery q;
  q.streams = {id};
  if (input.contains("startTime")) q.min_timestamp = input["startTime"].get<int64_t>();
  if (input.contains("endTime")) q.max_timestamp = input["endTime"].get<int64_t>() - 1;  // endTime is exclusive
  q.limit = static_cast<size_t>(input.value("limit", kMaxPageEvents));
  q.max_bytes = kMaxPageBytes;
  if (token) {
    q.backward = token->direction == 'b';
    q.from = token->position;
  } else {
    q.backward = !input.value("startFromHead", false);
  }
  GANTRY_ASSIGN_OR_RETURN(ReadResult result, deps.engine->Read(q));

  Document events = Document::array();
  for (const auto& e : result.events) {
    events.push_back({{"timestamp", e.timestamp}, {"message", e.message}, {"ingestionTime", e.ingestion_time}});
  }
  Document out = {{"events", events}};
  if (!result.events.empty()) {
    out["nextForwardToken"] = PositionToken('f', Position::Of(result.events.back()));
    out["nextBackwardToken"] = PositionToken('b', Position::Of(result.events.front()));
  } else if (token) {
    // The end of the stream in this direction: the same token again.
    out["nextForwardToken"] = token->direction == 'f' ? token_text : PositionToken('f', token->position);
    out["nextBackwardToken"] = token->direction == 'b' ? token_text : PositionToken('b', token->position);
  } else {
    Position start{q.min_timestamp == INT64_MIN ? 0 : q.min_timestamp, 0, id.stream, 0};
    Position end{q.max_timestamp, INT64_MAX, id.stream, kMaxTokenSeq};
    out["nextForwardToken"] = PositionToken('f', start);
    out["nextBackwardToken"] = PositionToken('b', end);
  }
  return out;
}

// FilterLogEvents tokens: base64 of "<group id>:<timestamp>:<ingestion>:<stream>:<seq>", the
// position to resume after.
std::string FilterToken(uint64_t group, const Position& p) {
  return Base64Encode(std::to_string(group) + ":" + std::to_string(p.timestamp) + ":" + std::to_string(p.ingestion_time) +
                      ":" + std::to_string(p.stream) + ":" + std::to_string(p.seq));
}

std::optional<Position> ParseFilterToken(std::string_view token, uint64_t group) {
  auto text = Base64Decode(token);
  if (!text) return std::nullopt;
  std::vector<std::string_view> parts = Split(*text, ':');
  if (parts.size() != 5) return std::nullopt;
  try {
    if (std::stoull(std::string(parts[0])) != group) return std::nullopt;
    Position p;
    p.timestamp = std::stoll(std::string(parts[1]));
    p.ingestion_time = std::stoll(std::string(parts[2]));
    p.stream = std::stoull(std::string(parts[3]));
    p.seq = std::stoull(std::string(parts[4]));
    return p;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

StatusOr<Document> FilterLogEvents(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string group_name, GroupNameOf(ctx, input));
  if (input.contains("logStreamNames") && input.contains("logStreamNamePrefix")) {
    return InvalidParameter("Cannot specify both logStreamNames and logStreamNamePrefix.");
  }
  auto pattern = FilterPattern::Parse(input.value("filterPattern", ""));
  if (!pattern.ok()) return InvalidParameter(pattern.status().message());
  std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(Document group, LoadGroup(*deps.store, scope, group_name));
  uint64_t group_id = IdOf(group);
  std::set<std::string> names;
  if (input.contains("logStreamNames")) {
    for (const auto& name : input["logStreamNames"]) names.insert(name.get<std::string>());
  }
  GANTRY_ASSIGN_OR_RETURN(
      std::vector<store::Record> records,
      ListAll(*deps.store, kStreamTable, scope, StreamKey(group_name, input.value("logStreamNamePrefix", ""))));
  ReadQuery q;
  std::map<uint64_t, std::string> stream_names;
  for (const auto& record : records) {
    std::string name = record.doc["logStreamName"].get<std::string>();
    if (!names.empty() && names.count(name) == 0) continue;
    stream_names[IdOf(record.doc)] = name;
    q.streams.push_back({group_id, IdOf(record.doc)});
  }
  if (input.contains("nextToken")) {
    q.from = ParseFilterToken(input["nextToken"].get<std::string>(), group_id);
    if (!q.from) return InvalidToken();
  }
  if (input.contains("startTime")) q.min_timestamp = input["startTime"].get<int64_t>();
  if (input.contains("endTime")) q.max_timestamp = input["endTime"].get<int64_t>();
  q.filter = &*pattern;
  q.limit = static_cast<size_t>(input.value("limit", kMaxPageEvents));
  q.max_bytes = kMaxPageBytes;
  q.scan_budget_bytes = kFilterScanBudget;
  GANTRY_ASSIGN_OR_RETURN(ReadResult result, deps.engine->Read(q));

  Document events = Document::array();
  for (const auto& e : result.events) {
    events.push_back({{"logStreamName", stream_names[e.stream.stream]},
                      {"timestamp", e.timestamp},
                      {"message", e.message},
                      {"ingestionTime", e.ingestion_time},
                      {"eventId", EventId(e)}});
  }
  Document out = {{"events", events}, {"searchedLogStreams", Document::array()}};
  if (!result.complete && result.resume) out["nextToken"] = FilterToken(group_id, *result.resume);
  return out;
}

}  // namespace

void RegisterEventHandlers(aws::HandlerTable& table, const LogsDeps* deps) {
  AddHandler(table, deps, "PutLogEvents", PutLogEvents);
  AddHandler(table, deps, "GetLogEvents", GetLogEvents);
  AddHandler(table, deps, "FilterLogEvents", FilterLogEvents);
}

}  // namespace gantry::services::logs
