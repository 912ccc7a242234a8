// CloudWatch Logs resources as Gantry stores them: the store tables and their keys, ARNs spelled
// as AWS spells them, page tokens, the log group / stream lookups all handlers share, and LogsDeps,
// what the handlers are built with. Event data lives in the log store engine
// (telemetry/logs/log_store.h) under the numeric ids the records carry.
//
// Layout (scope "<account>/<region>" unless noted):
//   logs.group          key <group>                  {logGroupName, creationTime, id, tags, retentionInDays?,
//                                                     logGroupClass, kmsKeyId?, deletionProtectionEnabled?}
//   logs.stream         key <group>:<stream>         {logStreamName, creationTime, id}
//   logs.metric_filter  key <group>:<filter>         the filter as DescribeMetricFilters returns it
//   logs.retention      scope "", key <group id>     {days}: retention of every group, for the engine
// Group names cannot hold ':', so "<group>:" lists exactly one group's streams and filters.
//
// Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/store/store.h"
#include "telemetry/logs/log_store.h"

namespace gantry::services::logs {

using aws::Document;

inline constexpr std::string_view kGroupTable = "logs.group";
inline constexpr std::string_view kStreamTable = "logs.stream";
inline constexpr std::string_view kMetricFilterTable = "logs.metric_filter";
inline constexpr std::string_view kRetentionTable = "logs.retention";

// PutLogEvents limits and the response page size.
inline constexpr size_t kMaxBatchBytes = 1048576;
inline constexpr size_t kEventOverhead = 26;
inline constexpr size_t kMaxPageBytes = 1048576;
inline constexpr int kMaxPageEvents = 10000;

struct LogsDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  telemetry::logs::LogStore* engine = nullptr;
  aws::Client* client = nullptr;  // publishes metric filters' and EMF metrics; null: none
};

// Errors as CloudWatch Logs words them.
Status GroupNotFound();
Status StreamNotFound();
Status InvalidParameter(std::string message);

std::string GroupArn(std::string_view region, std::string_view account, std::string_view group, bool wildcard);
std::string StreamArn(std::string_view region, std::string_view account, std::string_view group,
                      std::string_view stream);
std::string StreamKey(std::string_view group, std::string_view stream);

// The log group a request names with logGroupName or logGroupIdentifier (a name or an ARN), exactly
// one of them (InvalidParameterException otherwise).
StatusOr<std::string> GroupNameOf(const aws::RequestContext& ctx, const Document& input);
// The group named by an ARN of this account and region (with or without the trailing ":*").
std::optional<std::string> GroupNameFromArn(const aws::RequestContext& ctx, std::string_view arn);

StatusOr<Document> LoadGroup(store::RecordOperations& ops, const std::string& scope, std::string_view group);
StatusOr<Document> LoadStream(store::RecordOperations& ops, const std::string& scope, std::string_view group,
                              std::string_view stream);

// Every record of (table, scope) under prefix, in key order.
StatusOr<std::vector<store::Record>> ListAll(store::RecordOperations& ops, std::string_view table,
                                             const std::string& scope, const std::string& prefix);

// A page of items that resumes after the input's nextToken (an opaque token holding the sort key of
// the last item returned) and holds at most `limit`. Items must be sorted by key, ascending or
// (descending) descending.
struct KeyedItem {
  std::string key;
  Document doc;
};
struct Page {
  std::vector<Document> items;
  std::string next_token;  // empty on the last page
};
StatusOr<Page> PageOf(std::vector<KeyedItem> items, const Document& input, size_t limit, bool descending = false);

// Tags: stored as an object {key: value}.
Status CheckTagCount(const Document& tags);

// The sequence token PutLogEvents returns and DescribeLogStreams shows (a 56-digit number).
std::string SequenceToken(uint64_t last_seq);

// The engine ids of a group and stream record.
uint64_t IdOf(const Document& record);

}  // namespace gantry::services::logs
