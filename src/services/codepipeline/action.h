// The contract between CodePipeline's execution engine and its action providers. A provider is
// what one action type (category, owner "AWS", provider, version "1") does when an action runs:
// CodeCommit and S3 sources, CodeBuild builds and tests, manual approval, S3 deploy now;
// CodeDeploy, CloudFormation and ECS deploy later, each one new file that registers a provider.
//
// The engine owns every persisted fact of an execution; a provider owns only the opaque `state`
// it returns, which the engine persists before acting on the result and hands back on the next
// Poll, so that a provider resumes after a restart from what it last reported (a build id, an
// approval token). Providers reach other services only through ctx.client, as ctx.principal (the
// action's role, else the pipeline's), with aws:SourceArn set to the pipeline's ARN, exactly as
// CodePipeline acts in AWS. Providers are stateless and thread-safe; the engine calls one action's
// Start/Poll/Stop from one thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/status.h"

namespace gantry::services::codepipeline {

// An artifact in the pipeline's artifact store: <pipeline name>/<artifact name, cut to 20
// characters>/<object key of 7 characters>, a zip (S3 locations as ListActionExecutions shows them).
struct ArtifactLocation {
  std::string name;    // the artifact's name in the pipeline structure
  std::string bucket;
  std::string key;
  std::string ArnForm() const { return "arn:aws:s3:::" + bucket + "/" + key; }
};

// The revision a source action produced (GetPipelineExecution's artifactRevisions, ListActionExecutions'
// outputVariables and the execution's sourceRevisions).
struct SourceRevision {
  std::string revision_id;       // commit id, S3 version id or ETag
  std::string revision_summary;  // commit message, S3 object's codepipeline-artifact-revision-summary
  std::string revision_url;
  std::optional<TimePoint> created;
};

struct ActionContext {
  // Where the action runs.
  std::string account_id;
  std::string region;
  std::string pipeline_name;
  std::string pipeline_arn;
  int pipeline_version = 0;
  std::string execution_id;
  std::string stage_name;
  std::string action_name;
  std::string action_execution_id;
  // The action's declaration (name, actionTypeId, runOrder, configuration, inputArtifacts,
  // outputArtifacts, namespace, region, roleArn), with #{...} variables already resolved in its
  // configuration.
  aws::Document declaration;
  const aws::Document& configuration() const;
  // The action's input artifacts in declaration order; outputs are the names it must produce.
  std::vector<ArtifactLocation> inputs;
  std::vector<std::string> output_names;
  std::string artifact_bucket;  // the artifact store of the action's region
  // A fresh object key under <pipeline>/<artifact name (20 characters)>/ for an output artifact.
  std::function<ArtifactLocation(const std::string& artifact_name)> new_output_location;
  // Source revision overrides of StartPipelineExecution for this action (sourceRevisions), if any.
  std::optional<aws::Document> source_revision_override;
  // Who the action runs as and how it reaches other services: a session of role_arn (the action's
  // role, else the pipeline's).
  aws::Principal principal;
  std::string role_arn;
  aws::Client* client = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  std::string endpoint;  // Gantry's URL (for externalExecutionUrl links)
  // What the provider returned last time (null before Start).
  aws::Document state;
  // Approval actions: the token the engine issued for this action execution, the one
  // GetPipelineState shows and PutApprovalResult must name; the provider announces this token
  // (notification, externalExecutionId) and never makes its own. Empty for other categories.
  std::string approval_token;
  // Facts the engine delivers to a waiting action: PutApprovalResult's result ({"status",
  // "summary", "approvedBy"} ) for manual approvals; null otherwise.
  aws::Document delivered;
};

enum class ActionStatus { kInProgress, kSucceeded, kFailed, kAbandoned };

struct ActionResult {
  ActionStatus status = ActionStatus::kInProgress;
  aws::Document state;                        // persisted; handed back on the next Poll
  std::string summary;                        // the action execution's summary / error message
  std::string error_code;                     // JobFailed, ... (errorDetails.code) when failed
  std::string external_execution_id;          // a build id, an approval token's id, ...
  std::string external_execution_url;
  std::map<std::string, std::string> output_variables;  // for #{namespace.Name}
  std::vector<ArtifactLocation> outputs;      // produced output artifacts (by name)
  std::optional<SourceRevision> revision;     // source actions
  // When to poll again (the engine may poll sooner, when an event about the action arrives).
  std::chrono::milliseconds poll_after{1000};

  static ActionResult Failed(std::string code, std::string message);
};

// What ListActionTypes and GetActionType show about a provider, and what CreatePipeline checks.
struct ActionTypeInfo {
  std::string category;  // Source | Build | Test | Deploy | Approval | Invoke | Compute
  std::string owner = "AWS";
  std::string provider;
  std::string version = "1";
  int min_inputs = 0, max_inputs = 0, min_outputs = 0, max_outputs = 0;
  struct Property {
    std::string name;
    bool required = false;
    bool key = false;
    bool secret = false;
    bool queryable = false;
    std::string description{};
    std::string type = "String";  // String | Number | Boolean
  };
  std::vector<Property> configuration;
};

class ActionProvider {
 public:
  virtual ~ActionProvider() = default;
  virtual const ActionTypeInfo& type() const = 0;
  // Checks an action declaration of this type beyond the common rules (required configuration
  // keys, values), with CodePipeline's InvalidActionDeclarationException messages.
  virtual Status Validate(const aws::Document& declaration) const = 0;
  // Begins the action. Quick actions finish here; others return kInProgress with state.
  virtual ActionResult Start(ActionContext& ctx) = 0;
  // Checks on an action that returned kInProgress.
  virtual ActionResult Poll(ActionContext& ctx) = 0;
  // Asks the work behind an abandoned action to stop (StopPipelineExecution with abandon=true,
  // DeletePipeline): best effort; the engine does not wait, the action ends Abandoned at once.
  // "Stop and wait" (abandon=false) never calls it: running actions complete and are polled.
  virtual void Stop(ActionContext& ctx) {}

  // Source actions only: the newest revision at the configured location, for polling
  // (PollForSourceChanges=true) and to decide whether an execution is needed. nullopt when the
  // provider is not a source or the location does not exist yet.
  virtual StatusOr<std::optional<SourceRevision>> LatestRevision(ActionContext& ctx) {
    return std::optional<SourceRevision>();
  }
};

// All providers, registered once at start; read-only afterwards.
class ActionRegistry {
 public:
  void Add(std::unique_ptr<ActionProvider> provider);
  // The provider for an actionTypeId ({category, owner, provider, version}); null when unknown.
  ActionProvider* Find(const aws::Document& action_type_id) const;
  std::vector<ActionProvider*> All() const;

 private:
  std::vector<std::unique_ptr<ActionProvider>> providers_;
};

// The registry with every provider Gantry has (actions/*.cc each contribute one function).
ActionRegistry MakeDefaultRegistry();

}  // namespace gantry::services::codepipeline
