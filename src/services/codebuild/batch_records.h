// CodeBuild batch builds as Gantry stores them: the store layout, batch ids and ARNs spelled as AWS
// spells them, the batch record's state machine (phases, status, completion), and the buildspec's
// `batch` section expanded into the batch's build groups (build-list, build-graph, build-matrix).
//
// Layout (scope "<account>/<region>" unless noted):
//   codebuild.batch        key <project>:<uuid>
//                          {Batch: the wire BuildBatch, Settings: what its builds run with (the
//                           project after StartBuildBatch's overrides), Groups: the expanded groups
//                           (after DOWNLOAD_BATCHSPEC), FastFail, Principal: who started it,
//                           RunStart: when it was started or last retried (its timeout counts
//                           from there), StopRequested?, TimedOut?,
//                           FastFailed?, Seq, Scope, Region, Account}
//   codebuild.batch_index  key a/<seq>, d/<inverted seq>, p/<project>/a/<number>, p/<project>/d/<inverted>
//                          {id}: ListBuildBatches and ListBuildBatchesForProject, each order
//   codebuild.batch_active scope "", key <seq>  {Scope, Id}: batches not complete, oldest first
//   codebuild.idempotency  key batch/<token>    {Id, Hash, Expires}: StartBuildBatch/RetryBuildBatch tokens
//                          (records.h: UsedToken, UseToken)
//
// Stateless functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/store/store.h"
#include "runtime/build/buildspec.h"

namespace gantry::services::codebuild {

inline constexpr std::string_view kBatchTable = "codebuild.batch";
inline constexpr std::string_view kBatchIndexTable = "codebuild.batch_index";
inline constexpr std::string_view kBatchActiveTable = "codebuild.batch_active";

// Defaults of a project's buildBatchConfig where it sets none.
inline constexpr int kDefaultBatchTimeoutMinutes = 480;
inline constexpr int kDefaultMaximumBuilds = 100;

std::string BatchArn(std::string_view region, std::string_view account, std::string_view batch_id);
// A batch id "<project>:<uuid>" or its ARN, as the stored key; nullopt when it is neither.
std::optional<std::string> ParseBatchId(std::string_view id);

Status BatchNotFound(std::string_view id);

// The principal a batch was started by, kept so that its builds have the same initiator.
aws::Document PrincipalDocument(const aws::Principal& principal);
aws::Principal PrincipalOf(const aws::Document& doc);

// One build group of a batch, from the buildspec.
struct BatchGroup {
  std::string identifier;
  std::vector<std::string> depends_on;
  bool ignore_failure = false;
  std::string buildspec;            // "" = the batch's buildspec
  std::string compute_type, image, environment_type, fleet;
  std::optional<bool> privileged_mode;
  std::vector<std::pair<std::string, std::string>> variables;
  bool debug_session = false;
};

// The groups of a buildspec's batch section, in file order. build-matrix makes one group per
// combination of its dynamic values (buildspecs x images x compute types x each variable's values,
// in that nesting, the first varying slowest), named "build<n>" from 1, with the static settings;
// build-fanout needs test splitting, which Gantry does not have: an error saying so.
StatusOr<std::vector<BatchGroup>> ExpandBatch(const runtime::BatchSpec& spec);

aws::Document GroupToDocument(const BatchGroup& group);
BatchGroup GroupFromDocument(const aws::Document& doc);

// The settings of one group's build: the batch's, with the group's buildspec and env applied.
aws::Document GroupSettings(const aws::Document& batch_settings, const BatchGroup& group);

// ---- The batch record's state machine (record: the stored document; "Batch" is the wire shape). ----

bool IsBatchComplete(const aws::Document& record);
// Starts a BuildBatchPhaseType phase at `start`.
void BeginBatchPhase(aws::Document& record, std::string_view type, TimePoint start);
// Ends the open phase with a status and contexts ({statusCode, message} pairs).
void EndBatchPhase(aws::Document& record, TimePoint end, std::string_view status,
                   const std::vector<std::pair<std::string, std::string>>& contexts = {});
// Ends what is open and appends the final phase (SUCCEEDED, FAILED or STOPPED, by status) with the
// batch's status, end time and complete.
void CompleteBatch(aws::Document& record, std::string_view status, TimePoint end,
                   const std::vector<std::pair<std::string, std::string>>& contexts = {});

// Re-reads the batch record in a transaction, applies fn, writes it back (and removes a completed
// batch from codebuild.batch_active). NotFound when the batch is gone.
StatusOr<aws::Document> UpdateBatch(store::Store& store, const std::string& scope, const std::string& id,
                                    const std::function<Status(aws::Document& record)>& fn);
// The same inside a caller's transaction.
StatusOr<aws::Document> UpdateBatchIn(store::Transaction& tx, const std::string& scope, const std::string& id,
                                      const std::function<Status(aws::Document& record)>& fn);

}  // namespace gantry::services::codebuild
