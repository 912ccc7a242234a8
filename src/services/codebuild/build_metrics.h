// CodeBuild's CloudWatch metrics (namespace AWS/CodeBuild), as AWS documents them: Builds when a
// build is submitted; SucceededBuilds, FailedBuilds (FAILED, FAULT, TIMED_OUT), Duration and a
// <Phase>Duration for each ended phase (SubmittedDuration ... FinalizingDuration) when it ends.
// Counts are in Count, durations in Seconds, timestamped at the submission or the end. Each metric
// is published three times, as CodeBuild does: for the account (no dimension), with ProjectName,
// and with BuildId, BuildNumber and ProjectName. BuildAnnouncer publishes them next to the events.
// Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "core/aws/document.h"

namespace gantry::services::codebuild {

inline constexpr std::string_view kMetricNamespace = "AWS/CodeBuild";

// The PutMetricData input for a stored build record that was just submitted.
aws::Document SubmittedBuildMetrics(const aws::Document& record);
// The PutMetricData input for a stored build record that just ended (buildComplete).
aws::Document CompletedBuildMetrics(const aws::Document& record);

}  // namespace gantry::services::codebuild
