// Target invocation: hands one event's payload to one rule target, chosen by the service in the
// target's ARN, through the same API a client would use:
//   events event-bus        the event is queued on that bus (any account or region of this
//                           server); an event never enters a bus it already crossed
//   events api-destination  an HTTP request (method and endpoint of the API destination, auth and
//                           parameters of its connection, the payload as body)
//   codebuild project       codebuild:StartBuild {projectName} (+ a JSON object payload's members
//                           as StartBuild overrides when the target shapes its input)
//   codepipeline pipeline   codepipeline:StartPipelineExecution {name}
//   logs log-group          logs:CreateLogStream (the event id) + logs:PutLogEvents
// Calls run as the target's RoleArn (an assumed-role principal) when it has one, else as the
// service principal events.amazonaws.com of the rule's account, with the rule's ARN as source_arn
// (aws:SourceArn). A service Gantry does not
// implement answers Unimplemented: a failed invocation. Thread-compatible; used by the delivery
// engine's thread.
#pragma once

#include <string>

#include "core/aws/document.h"
#include "core/common/clock.h"
#include "core/events/transform.h"
#include "services/events/http_sender.h"
#include "services/events/resources.h"

namespace gantry::services::events {

// Whether the target sets Input, InputPath or InputTransformer (else it receives the event).
bool HasShapedInput(const Document& target);
// The target's input settings as the transform engine takes them.
::gantry::events::TargetInput InputSpecOf(const Document& target);

struct TargetDelivery {
  std::string account;  // the rule's account and region
  std::string region;
  std::string bus;
  Document rule;                      // the rule record (Name, Arn, RoleArn, ...)
  Document target;                    // the target as PutTargets stored it
  Document event;                     // the envelope
  Document path = Document::array();  // ARNs of the buses the event crossed before this one
  std::string payload;
};

struct DeliveryOutcome {
  bool ok = true;
  bool transient = false;  // worth another attempt
  std::string error_code;
  std::string error_message;
};

class TargetInvoker {
 public:
  TargetInvoker(const EventsDeps& deps, HttpSender* http) : deps_(deps), http_(http) {}

  DeliveryOutcome Invoke(const TargetDelivery& delivery);

 private:
  DeliveryOutcome ToBus(const TargetDelivery& delivery, const std::string& region, const std::string& account,
                        const std::string& bus);
  DeliveryOutcome ToApiDestination(const TargetDelivery& delivery, const std::string& region,
                                   const std::string& account, const std::string& name);
  DeliveryOutcome Call(const TargetDelivery& delivery, const std::string& service, const std::string& operation,
                       const Document& input, const std::string& region);

  EventsDeps deps_;
  HttpSender* http_;
};

}  // namespace gantry::services::events
