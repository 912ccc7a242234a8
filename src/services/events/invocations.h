// The invocation log: one durable record per attempt to deliver an event to a rule's target
// (SUCCEEDED, RETRYING — a transient failure with another attempt scheduled — or FAILED), the
// last kInvocationsKept per account and region. EventBridge shows this only as CloudWatch metrics;
// Gantry exposes the records read-only at GET /_gantry/events/invocations so that a failed
// delivery (e.g. to a service Gantry does not implement yet) is visible, not silently dropped.
// Thread-safe (the store is).
#pragma once

#include <string>

#include "core/aws/document.h"
#include "core/common/status.h"
#include "core/http/message.h"
#include "core/store/store.h"

namespace gantry::services::events {

inline constexpr int kInvocationsKept = 1000;

// Appends a record {Time, EventId, EventBusName, RuleName, RuleArn, TargetId, TargetArn, Attempt,
// Status, ErrorCode?, ErrorMessage?, DeadLetterArn?} and drops the oldest beyond the bound.
Status RecordInvocation(store::Store& store, const std::string& scope, const aws::Document& record);

// The records of one scope, oldest first.
StatusOr<aws::Document> ListInvocations(store::Store& store, const std::string& scope);

// GET /_gantry/events/invocations[?account=..&region=..] (defaults: the server's account and
// region): {"Invocations": [...]} as JSON.
void WriteInvocations(store::Store& store, const http::Request& request, const std::string& default_account,
                      const std::string& default_region, http::Response& response);

}  // namespace gantry::services::events
