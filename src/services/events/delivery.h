// The delivery engine: takes the outbox in order and does what each entry asks. For an event: the
// enabled rules of its bus whose pattern matches (or the one rule of a scheduled event, or the
// replay's rules) get it delivered to each of their targets, shaped by the target's Input,
// InputPath or InputTransformer; matching archives of the bus keep a copy; every attempt is
// recorded in the invocation log. A transient failure is retried later with exponential backoff
// within the target's RetryPolicy (MaximumRetryAttempts, MaximumEventAgeInSeconds), from the
// durable retry table; a final failure is recorded as FAILED (with the DeadLetterConfig ARN it
// could not be sent to: Gantry has no SQS). The entry leaves the outbox, and its retries enter the
// retry table, in one transaction after all deliveries were attempted, so a crash only ever
// repeats deliveries (at least once), never loses one.
//
// Not thread-safe: one thread runs a Delivery (the service's worker, or a test).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/events/pattern.h"
#include "core/store/store.h"
#include "services/events/http_sender.h"
#include "services/events/resources.h"
#include "services/events/targets.h"

namespace gantry::services::events {

class Delivery {
 public:
  Delivery(const EventsDeps& deps, HttpSender* http) : deps_(deps), invoker_(deps, http) {}

  // Does what is due now: retries whose time has come, then up to one batch of the outbox.
  // Returns how many entries and retries were completed.
  int RunOnce();
  // When the earliest waiting retry is due; nullopt when none waits.
  std::optional<TimePoint> NextRetryDue();

 private:
  // Processes one outbox or retry record; false when it failed and must wait for a later pass.
  bool Handle(std::string_view table, const store::Record& record);
  Status ProcessEntry(const store::Record& record);
  Status ProcessEvent(const store::Record& record);
  Status ExpandReplay(const store::Record& record);
  Status FinishReplay(const store::Record& record);
  Status ProcessRetry(const store::Record& record);
  Status ArchiveEvent(const std::string& scope, const std::string& bus_arn, const Document& envelope);
  // Delivers once (unless shaping the payload failed), records the attempt, and returns the retry
  // to schedule (null when none).
  Document Attempt(const TargetDelivery& delivery, int attempt, int64_t ingested_ms, const Status& shaped);
  const ::gantry::events::EventPattern* Pattern(const std::string& text);

  EventsDeps deps_;
  TargetInvoker invoker_;
  std::map<std::string, ::gantry::events::EventPattern> patterns_;
};

}  // namespace gantry::services::events
