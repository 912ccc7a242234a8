// EventBridge resources as Gantry stores them: the store tables and their keys, ARNs spelled as
// AWS spells them, opaque page tokens, and the lookups all handlers share (a bus by name or ARN,
// a rule of a bus, tags). Also EventsDeps, what the handlers and both engines are built with.
//
// Layout (scope "<account>/<region>" unless noted):
//   events.bus             key <bus>                      bus attributes and Tags
//   events.rule            key <bus>/<rule>               rule attributes, Targets and Tags
//   events.archive         key <archive>                  archive attributes and statistics
//   events.archived_event  key <archive>/<ms>/<event id>  one archived envelope (ms: event time)
//   events.replay          key <replay>                   replay attributes, state and cursor
//   events.connection      key <connection>               connection; its AuthParameters sealed
//   events.api_destination key <api destination>
//   events.invocation      key <sequence>                 one delivery attempt (invocations.h)
//   events.outbox          scope "", key <sequence>       acknowledged work not yet done (outbox.h)
//   events.retry           scope "", key <due ms>/<seq>   deliveries waiting for their next attempt
//   events.schedule        scope "", key <acct>/<region>/<rule>  scheduled rules of default buses
//
// Stateless functions; thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/crypto/sealed_box.h"
#include "core/store/store.h"

namespace gantry::services::events {

using aws::Document;

inline constexpr std::string_view kDefaultBus = "default";

inline constexpr std::string_view kBusTable = "events.bus";
inline constexpr std::string_view kRuleTable = "events.rule";
inline constexpr std::string_view kArchiveTable = "events.archive";
inline constexpr std::string_view kArchivedEventTable = "events.archived_event";
inline constexpr std::string_view kReplayTable = "events.replay";
inline constexpr std::string_view kConnectionTable = "events.connection";
inline constexpr std::string_view kApiDestinationTable = "events.api_destination";
inline constexpr std::string_view kInvocationTable = "events.invocation";
inline constexpr std::string_view kOutboxTable = "events.outbox";
inline constexpr std::string_view kRetryTable = "events.retry";
inline constexpr std::string_view kScheduleTable = "events.schedule";

// Wakes a worker thread that waits for work or for a deadline. Thread-safe.
class WakeSignal {
 public:
  void Ring();
  // Waits until rung or `timeout` passed; consumes the ring.
  void WaitFor(Duration timeout);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool rung_ = false;
};

// What handlers and engines share; everything outlives the service.
struct EventsDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  aws::Client* client = nullptr;
  WakeSignal* delivery_wakeup = nullptr;  // rung when the outbox has new work
  WakeSignal* schedule_wakeup = nullptr;  // rung when scheduled rules change
  const crypto::SealedBox* box = nullptr;  // seals connections' AuthParameters at rest
};

std::string ScopeOf(std::string_view account, std::string_view region);
std::string BusArn(std::string_view region, std::string_view account, std::string_view bus);
// rule/<name> on the default bus, rule/<bus>/<name> on the others.
std::string RuleArn(std::string_view region, std::string_view account, std::string_view bus, std::string_view rule);
std::string RuleKey(std::string_view bus, std::string_view rule);
std::string ResourceArn(std::string_view region, std::string_view account, std::string_view resource);

// n as a fixed-width decimal, so that keys built from numbers list in numeric order.
std::string Padded(int64_t n, int width = 20);

// The bus named by an EventBusName member (name or ARN); "default" when absent.
std::string BusNameOf(const Document& name_or_arn);

// The bus record; the default bus is created on first use. ResourceNotFoundException otherwise.
StatusOr<Document> LoadBus(store::RecordOperations& ops, const std::string& scope, std::string_view account,
                           std::string_view region, std::string_view bus, TimePoint now);
// The rule record; ResourceNotFoundException "Rule r does not exist on EventBus b." when absent.
StatusOr<store::Record> LoadRule(store::RecordOperations& ops, const std::string& scope, std::string_view bus,
                                 std::string_view rule);
Status RuleNotFound(std::string_view rule, std::string_view bus);
Status BusNotFound(std::string_view bus);

// Tags: stored as an object {key: value}; on the wire as [{Key, Value}].
Document TagListOf(const Document& tags);
void MergeTags(Document& tags, const Document& tag_list);

// A page of records of (table, scope) under prefix that `keep` accepts, resuming after the
// input's NextToken and holding at most the input's Limit (or default_limit).
struct Page {
  std::vector<store::Record> records;
  std::string next_token;  // opaque, empty on the last page
};
StatusOr<Page> ListPage(store::Store& store, std::string_view table, const std::string& scope,
                        const std::string& prefix, const Document& input,
                        const std::function<bool(const store::Record&)>& keep = nullptr, int default_limit = 100);

// A connection's AuthParameters (passwords, API keys, client secrets, secret parameter values) are
// stored only sealed with the master key and bound to the connection's ARN: the record member
// SealedAuthParameters holds base64 of Seal(auth.dump(), ConnectionArn), never the clear object.
// SealAuth sets it on `connection` (whose ConnectionArn is set) and drops any clear AuthParameters.
Status SealAuth(const EventsDeps& deps, Document& connection, const Document& auth);
// The clear AuthParameters of a stored connection; kInternal when they do not open.
StatusOr<Document> OpenAuth(const EventsDeps& deps, const Document& connection);

// A copy of the document without the members a response must not carry.
Document Without(Document doc, std::initializer_list<std::string_view> members);

}  // namespace gantry::services::events
