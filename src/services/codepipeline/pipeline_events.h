// The EventBridge events CodePipeline emits, in AWS's detail shape (source "aws.codepipeline"):
// "CodePipeline Pipeline Execution State Change", "CodePipeline Stage Execution State Change" and
// "CodePipeline Action Execution State Change". The engine announces a change after persisting it;
// PipelineAnnouncer's thread puts the events on the default bus through the in-process EventBridge
// API as codepipeline.amazonaws.com, in the order they were announced, with the event time set to
// the time of the transition (not of delivery). The detail functions are pure; PipelineAnnouncer is
// thread-safe (Start/Stop from one thread).
#pragma once

#include <string>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ordered_worker.h"

namespace gantry::services::codepipeline {

inline constexpr std::string_view kPipelineStateChange = "CodePipeline Pipeline Execution State Change";
inline constexpr std::string_view kStageStateChange = "CodePipeline Stage Execution State Change";
inline constexpr std::string_view kActionStateChange = "CodePipeline Action Execution State Change";

// The principal CodePipeline's own calls run as (events, assuming roles).
aws::Principal ServicePrincipal(const std::string& account);

// Details, from the execution record; states are the events' (STARTED, SUCCEEDED, FAILED,
// RESUMED, CANCELED, SUPERSEDED, STOPPING, STOPPED, ABANDONED).
aws::Document PipelineDetail(const aws::Document& execution, const std::string& state);
aws::Document StageDetail(const aws::Document& execution, const std::string& stage, const std::string& state);
aws::Document ActionDetail(const aws::Document& execution, const aws::Document& action, const std::string& state);

struct PipelineEvent {
  std::string account;
  std::string region;
  std::string detail_type;
  aws::Document detail;
  std::string resource;  // the pipeline's ARN
  TimePoint time;
};

class PipelineAnnouncer {
 public:
  explicit PipelineAnnouncer(aws::Client* client)
      : client_(client), worker_([this](PipelineEvent& e) { Send(e); }) {}

  void Start() { worker_.Start(); }
  // Sends what is queued, then stops the thread.
  void Stop() { worker_.Stop(); }
  // Queued for the thread; sent at once on the caller's thread when the announcer is not started.
  void Announce(PipelineEvent event) { worker_.Post(std::move(event)); }

 private:
  void Send(const PipelineEvent& event);

  aws::Client* client_;
  OrderedWorker<PipelineEvent> worker_;  // last: its thread uses the members above
};

}  // namespace gantry::services::codepipeline
