// The EventBridge events CodeBuild emits, in AWS's detail shape (source "aws.codebuild"): "CodeBuild
// Build State Change" when a build is submitted and when it ends, and "CodeBuild Build Phase
// Change" when a phase ends. They are put on the default bus through the in-process EventBridge API
// as the codebuild.amazonaws.com service principal, after the change they announce is persisted,
// by BuildAnnouncer's thread (off the builds' own threads), in the order the changes were made.
// The same thread publishes the build's CloudWatch metrics (build_metrics.h) with each state change.
// The detail functions are pure; BuildAnnouncer is thread-safe (Start/Stop from one thread).
#pragma once

#include <optional>
#include <string>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ordered_worker.h"

namespace gantry::services::codebuild {

inline constexpr std::string_view kServicePrincipal = "codebuild.amazonaws.com";

// The principal CodeBuild's own calls run as when no role is involved (events, assuming roles).
aws::Principal ServicePrincipal(const std::string& account);

// "Sep 1, 2017 4:12:29 PM", the time form of the events' additional-information.
std::string EventTime(TimePoint t);

// additional-information of both events, from the stored build record.
aws::Document AdditionalInformation(const aws::Document& record);
aws::Document StateChangeDetail(const aws::Document& record);
// The detail for the end of phase `phase` (an element of the build's phases).
aws::Document PhaseChangeDetail(const aws::Document& record, const aws::Document& phase);

// Announces what changed between two persisted versions of a build record: a phase change for
// each phase `after` ended that `before` had open, and a state change when the build was submitted
// (no `before`) or ended. Failures are logged, not returned: the change was persisted already, and
// EventBridge may not be served.
class BuildAnnouncer {
 public:
  explicit BuildAnnouncer(aws::Client* client) : client_(client), worker_([this](Change& c) { Send(c); }) {}

  void Start() { worker_.Start(); }
  // Sends what is queued, then stops the thread.
  void Stop() { worker_.Stop(); }
  // Queued for the thread; sent at once on the caller's thread when the announcer is not started.
  void Announce(std::optional<aws::Document> before, aws::Document after);

 private:
  struct Change {
    std::optional<aws::Document> before;
    aws::Document after;
  };
  void Send(const Change& change);
  void Put(const aws::Document& record, std::string_view detail_type, const aws::Document& detail);
  // PutMetricData in AWS/CodeBuild (see build_metrics.h).
  void PutMetrics(const aws::Document& record, const aws::Document& input);

  aws::Client* client_;
  OrderedWorker<Change> worker_;  // last: its thread uses the members above
};

}  // namespace gantry::services::codebuild
