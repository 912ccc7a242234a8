// Repository triggers: the configurations PutRepositoryTriggers stores on the repository record and
// their delivery. A trigger whose destinationArn is an EventBridge event bus
// (arn:aws:events:<region>:<account>:event-bus/<name>) receives, on that bus, an event from
// aws.codecommit with detail-type "CodeCommit Repository Trigger" whose detail is the record AWS
// sends to a trigger's SNS topic or Lambda function ({awsRegion, codecommit: {references}, eventName,
// eventTriggerName, customData, ...}). Gantry has no SNS or Lambda, so a trigger aimed at one is kept
// (its configuration is valid) but every delivery to it fails; TestRepositoryTriggers reports it
// under failedExecutions. A bus of another account is never delivered to (Gantry's buses have no
// resource policies to admit another account). The last outcome of each trigger's delivery for
// ref changes is kept in codecommit.trigger_delivery and shown at GET
// /_gantry/codecommit/trigger-deliveries.
//
// Stateless functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/common/status.h"
#include "core/http/message.h"
#include "core/store/store.h"
#include "services/codecommit/codecommit_service.h"
#include "services/codecommit/records.h"

namespace gantry::services::codecommit {

// Last delivery outcome per trigger (scope "<account>/<region>", key "<repositoryId>/<triggerName>"):
// {repositoryId, repositoryName, trigger, destinationArn, time, eventName, delivered, failureMessage?}.
inline constexpr std::string_view kTriggerDeliveryTable = "codecommit.trigger_delivery";
inline constexpr std::string_view kTriggerDetailType = "CodeCommit Repository Trigger";

// PutRepositoryTriggers/TestRepositoryTriggers validation of a triggers list, with AWS's error codes
// (RepositoryTriggerNameRequiredException, InvalidRepositoryTriggerDestinationArnException, ...).
Status ValidateTriggers(const Document& triggers, std::string_view account_id, std::string_view region);

// Delivers one trigger for the given reference changes; an empty status when delivered, otherwise
// why not. test marks the TestRepositoryTriggers event ("TriggerEventTest").
Status DeliverTrigger(const CodeCommitDeps& deps, const Document& repository, const Document& trigger,
                      const std::vector<ReferenceChange>& changes, std::string_view caller_arn, bool test);

// Delivers every trigger of the repository whose events and branches match the changes, and records
// each outcome. Failures are logged.
void FireTriggers(const CodeCommitDeps& deps, const Document& repository, const std::vector<ReferenceChange>& changes,
                  std::string_view caller_arn);

// GET /_gantry/codecommit/trigger-deliveries[?account=..&region=..] (defaults: the server's account
// and region): {"TriggerDeliveries": [...]}, the kTriggerDeliveryTable records, as JSON.
void WriteTriggerDeliveries(store::Store& store, const http::Request& request, const std::string& default_account,
                            const std::string& default_region, http::Response& response);

}  // namespace gantry::services::codecommit
