// CodePipeline's stored records and the small facts every part shares: table names, keys, ARNs,
// timestamps, and the execution record's shape (one JSON document per execution, holding its stages
// and every action execution, written whole on every transition). Pure functions; thread-safe.
//
// Tables (scope "<account>/<region>" unless said otherwise):
//   codepipeline.pipeline          <name>: {pipeline (declaration), arn, created, updated, tags,
//                                  transitions {"<stage>/Inbound"|"<stage>/Outbound": {...}}}
//   codepipeline.pipeline_version  <name>/<version, 10 digits>: the declaration of that version
//   codepipeline.execution         <name>/<execution id>: the execution record
//   codepipeline.execution_order   <name>/<12 digits, 999999999999 - number>: {id}, so that the
//                                  newest execution (the highest per-pipeline number) lists first and
//                                  a page token (the last key) never shifts as executions arrive
//   codepipeline.latest            <name>: the pipeline's pointers, written in the transaction that
//                                  writes the execution they point to: {count (numbers given),
//                                  stages {stage: {id, seq}}, actions {"stage/action": {id, seq}},
//                                  revisions {"stage/action": {id, seq}}, succeeded {stage: {id,
//                                  seq}} (STANDARD executions only)}
//   codepipeline.request_token     <name>/<clientRequestToken>: {id}
//   codepipeline.source_revision   <name>/<action>: {revisionId}, the newest revision seen (polling)
//   codepipeline.index             scope "all": "<account>/<region>/<name>" for every pipeline and
//                                  "active/<account>/<region>/<name>/<id>" for executions in flight,
//                                  so Start() and polling find them without knowing the scopes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/aws/document.h"
#include "core/common/clock.h"

namespace gantry::services::codepipeline {

using aws::Document;

inline constexpr std::string_view kPipelineTable = "codepipeline.pipeline";
inline constexpr std::string_view kVersionTable = "codepipeline.pipeline_version";
inline constexpr std::string_view kExecutionTable = "codepipeline.execution";
inline constexpr std::string_view kExecutionOrderTable = "codepipeline.execution_order";
inline constexpr std::string_view kLatestTable = "codepipeline.latest";
// Executions kept per pipeline: creating one more deletes the oldest (AWS keeps 12 months).
inline constexpr int64_t kMaxExecutionsPerPipeline = 1000;
inline constexpr std::string_view kRequestTokenTable = "codepipeline.request_token";
inline constexpr std::string_view kSourceRevisionTable = "codepipeline.source_revision";
inline constexpr std::string_view kIndexTable = "codepipeline.index";
inline constexpr std::string_view kIndexScope = "all";
inline constexpr std::string_view kServicePrincipal = "codepipeline.amazonaws.com";

std::string PipelineArn(const std::string& region, const std::string& account, const std::string& name);
std::string VersionKey(const std::string& name, int version);
std::string ExecutionKey(const std::string& pipeline, const std::string& id);
std::string ExecutionOrderKey(const std::string& pipeline, int64_t number);
// The pointers of `latest` moved to what the execution record says (newer seq wins).
void UpdateLatest(Document& latest, const Document& execution);
std::string PipelineIndexKey(const std::string& account, const std::string& region, const std::string& name);
std::string ActiveIndexKey(const std::string& account, const std::string& region, const std::string& pipeline,
                           const std::string& id);
double Seconds(TimePoint t);

// A (account, region, pipeline) a runtime belongs to.
struct PipelineRef {
  std::string account;
  std::string region;
  std::string name;
  std::string scope() const { return account + "/" + region; }
  std::string key() const { return account + "/" + region + "/" + name; }
  bool operator<(const PipelineRef& o) const { return key() < o.key(); }
};

// The execution record. Members (beyond the wire PipelineExecution's): seq (order among all
// executions), number (1, 2, ... within the pipeline; its execution_order key), account, region, startTime, lastUpdateTime, current {stage (index), state
// waiting|running|done, retryMode?}, stages [{name, status?, attempt, latest {action name: action
// execution id}, startTime, endTime, type, autoRetries}], actions [action execution records],
// artifacts {name: {bucket, key}}, namespaces {ns: {var: value}}, sourceRevisions, abandon,
// stopTrigger, lastStageOnly (rollbacks run one stage).
// An action execution record: the wire ActionExecutionDetail plus stageIndex, runOrder, pollAt,
// state (the provider's), token, delivered, summary, errorDetails, externalExecutionId/Url,
// stopAsked.
bool IsActive(const Document& execution);            // InProgress or Stopping
Document* FindAction(Document& execution, const std::string& action_execution_id);

// The wire PipelineExecution / PipelineExecutionSummary / ActionExecutionDetail of records.
Document ExecutionOut(const Document& execution);
Document ExecutionSummaryOut(const Document& execution);
Document ActionExecutionDetailOut(const Document& execution, const Document& action);

}  // namespace gantry::services::codepipeline
