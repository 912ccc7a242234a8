// One CloudTrail management event: what the audit trail captures of a completed request, encoded
// on the request's thread as one line of tab-separated fields (the redacted request parameters
// included), how lines are stored (many per store record), and what a lookup makes of a line (the
// LookupEvents Event with its CloudTrailEvent JSON, built only for events a lookup returns).
//
// Redaction: request parameters are copied member by member along the operation's input shape;
// a member whose shape the model marks sensitive, or whose name is a known secret
// (SecretString, SecretBinary, Password, ...), becomes "HIDDEN_DUE_TO_SECURITY_REASONS", as in AWS.
// The secrets found are also scrubbed from the error message of a failed call. Nothing secret is
// queued.
//
// Classification: S3 object-level operations are data events, which the event history does not
// record (IsDataEvent); ReadOnly follows AWS's verbs (Get, List, Describe, Head, Lookup, ...).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/model.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/status.h"

namespace gantry::services::cloudtrail {

using aws::Document;

inline constexpr std::string_view kHidden = "HIDDEN_DUE_TO_SECURITY_REASONS";
// Events are stored in records {"events": "<line>\n<line>..."} of up to kEventsPerRecord events of
// one scope, newest first, whose newest and oldest events are at most kRecordSpanMillis apart; a
// record's key is EventKey of its newest event. One store row per batch instead of per event is
// what keeps the trail cheap on hot paths (docs/decisions.md).
inline constexpr std::string_view kEventTable = "cloudtrail.event";
inline constexpr size_t kEventsPerRecord = 256;
inline constexpr int64_t kRecordSpanMillis = 1000;
// scope "", key "<account>/<region>": the scopes that hold events (for the retention sweep).
inline constexpr std::string_view kScopeTable = "cloudtrail.scope";

// A captured event, encoded on the request's thread as one line of tab-separated fields (see
// trail_event.cc) preceded by its scope and a tab: one allocation, handed to the writer as is.
struct CapturedEvent {
  int64_t millis = 0;     // the request's time, epoch ms
  uint64_t sequence = 0;  // orders events of the same millisecond
  size_t scope_size = 0;  // line starts with "<account>/<region>\t"
  std::string line;

  std::string_view Scope() const { return std::string_view(line).substr(0, scope_size); }
  std::string_view Encoded() const { return std::string_view(line).substr(scope_size + 1); }
};

bool IsDataEvent(std::string_view service, std::string_view operation);
bool IsReadOnly(std::string_view service, std::string_view operation);

// A copy of value along shape with sensitive members replaced by kHidden and member names in
// lowerCamelCase as CloudTrail writes them; the hidden string values are appended to secrets.
Document RedactedParameters(const aws::Shape* shape, const Document& value, std::vector<std::string>* secrets);

// The resources an operation names ([{ResourceType, ResourceName}]).
Document ResourcesOf(std::string_view service, std::string_view operation, const Document& input);

// What the trail keeps of a completed request; event_id names it, sequence orders it.
CapturedEvent Capture(const aws::RequestContext& ctx, const Document& input, const Status& result,
                      uint64_t sequence, std::string_view event_id);

// The user name LookupEvents reports: "root", the IAM user, the role session; empty for services.
std::string UsernameOf(const aws::Principal& principal);

// A stored event decoded from its line: {id, t, seq, name, src, ro, root, acct, region, req, arn,
// uid, key, svc, user, ip, ua, err, msg, params, res, truncated}, members absent when empty.
// "t" (epoch ms) and "seq" order events: newest first is (t, seq) descending. Malformed lines
// decode to null.
Document DecodeEvent(std::string_view line);
// The LookupEvents Event shape of a stored event, its CloudTrailEvent JSON record included.
Document LookupEntry(const Document& stored);
// Whether a stored event has lookup attribute key (EventId, EventName, ReadOnly, Username,
// ResourceType, ResourceName, EventSource, AccessKeyId) equal to value.
bool MatchesLookupAttribute(const Document& stored, std::string_view key, std::string_view value);

// Store keys sort newest first: the inverted epoch millisecond, then the inverted sequence.
std::string EventKey(int64_t epoch_millis, uint64_t sequence);
// The smallest key prefix of events at epoch_millis (all keys of that millisecond sort after it).
std::string MillisKeyPrefix(int64_t epoch_millis);
// The epoch millisecond of a key; -1 when malformed.
int64_t MillisOfKey(std::string_view key);

}  // namespace gantry::services::cloudtrail
