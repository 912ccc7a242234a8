// The execution engine: runs pipeline executions through their stages with the action providers of
// action.h, as CodePipeline does. An execution waits to enter a stage (inbound transition enabled,
// and the stage free: a stage holds one execution, except in PARALLEL mode; SUPERSEDED mode keeps
// only the newest execution waiting for a stage, QUEUED lets them enter in order), runs the
// stage's actions by runOrder (equal runOrders in parallel), and leaves it when every action
// succeeded; a failed action stops the stage once its siblings finish, and the stage's onFailure
// decides (FAIL, RETRY once, ROLLBACK to the last execution that succeeded in the stage).
//
// Every transition is written to the store (the execution record, whole) before it is announced
// (EventBridge) or acted on (a provider called). Resume() resolves what a previous process left in
// flight: actions whose provider reported a state are polled again, actions that never got one
// fail saying why. See docs/pipeline-engine.md.
//
// Threading: each pipeline has a runtime with its own mutex, held while the engine advances the
// pipeline's executions or a handler changes them (stop, approve, retry), but released around every
// provider call (the action's start is persisted first; the result is applied only if the action
// is still in progress once the lock is back); different pipelines
// advance on different worker threads. Wake() makes a pipeline due at once (milliseconds after a
// StartPipelineExecution); in-progress actions are polled at the time their provider asked for.
// With no worker threads (tests), RunPending() advances everything due on the caller's thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"
#include "services/codepipeline/action.h"
#include "services/codepipeline/pipeline_events.h"
#include "services/codepipeline/records.h"

namespace gantry::services::codepipeline {

struct EngineDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  aws::Client* client = nullptr;
  const ActionRegistry* registry = nullptr;
  std::function<std::string()> endpoint;
  PipelineAnnouncer* announcer = nullptr;
};

struct StartRequest {
  PipelineRef pipeline;
  aws::Document trigger;                                  // {triggerType, triggerDetail}
  aws::Document variables = aws::Document::array();       // [{name, value}]
  aws::Document source_revisions = aws::Document::array();  // [SourceRevisionOverride]
  std::string client_request_token;
};

class ExecutionEngine {
 public:
  ExecutionEngine(EngineDeps deps, int threads);
  ~ExecutionEngine();
  ExecutionEngine(const ExecutionEngine&) = delete;
  ExecutionEngine& operator=(const ExecutionEngine&) = delete;

  // Loads the executions a previous process left in flight and resolves their actions.
  Status Resume();
  void Start();
  void Stop();
  // Advances every pipeline that is due, on the caller's thread, until none is (tests).
  void RunPending();
  void Wake(const PipelineRef& pipeline);
  // How many pipelines have a runtime (idle ones are erased; tests).
  size_t RuntimeCount();

  // A new execution (trigger as given); validates variables and source revision overrides.
  StatusOr<std::string> StartExecution(const StartRequest& request);
  Status StopExecution(const PipelineRef& pipeline, const std::string& id, bool abandon, const std::string& reason);
  // The approval's time.
  StatusOr<TimePoint> PutApprovalResult(const PipelineRef& pipeline, const std::string& stage,
                                        const std::string& action, const std::string& token,
                                        const aws::Document& result, const std::string& approved_by);
  StatusOr<std::string> RetryStage(const PipelineRef& pipeline, const std::string& stage, const std::string& id,
                                   const std::string& mode);
  StatusOr<std::string> RollbackStage(const PipelineRef& pipeline, const std::string& stage,
                                      const std::string& target_id, const std::string& caller);
  // DeletePipeline: stops the work of executions in flight and forgets them (records are the
  // caller's to delete).
  void Forget(const PipelineRef& pipeline);
  // PollForSourceChanges: asks each polled source for its newest revision and starts an
  // execution for a new one.
  void PollSources();

 private:
  struct Runtime {
    std::mutex mu;                                 // the pipeline's executions
    std::map<std::string, aws::Document> active;   // id → record, executions in flight
    std::map<int, aws::Document> declarations;     // version → declaration
    bool persist_failed = false;                   // a write failed during this Advance
    // Scheduling, under the engine's mu_.
    bool dirty = false;
    bool running = false;
    TimePoint due = TimePoint::max();
  };
  struct RoleSession {
    aws::Principal principal;
    TimePoint expiration;
  };

  std::shared_ptr<Runtime> RuntimeFor(const PipelineRef& pipeline);
  // Under mu_: forgets the pipeline's runtime when nothing holds it and it has nothing in flight.
  void EraseIfIdle(const std::string& key);
  // Under the runtime's lock: advances each execution until nothing changes; the next poll time.
  TimePoint Advance(const PipelineRef& pipeline, Runtime& runtime);
  // Advance, with an exception caught and logged: the pipeline is then tried again shortly.
  TimePoint GuardedAdvance(const PipelineRef& pipeline, Runtime& runtime);
  bool Step(const PipelineRef& pipeline, Runtime& runtime, const aws::Document& record, aws::Document& execution);
  bool CanEnter(const PipelineRef& pipeline, Runtime& runtime, const aws::Document& record,
                const aws::Document& execution, size_t stage);
  void EnterStage(const PipelineRef& pipeline, Runtime& runtime, aws::Document& execution, size_t stage);
  void StartAction(const PipelineRef& pipeline, Runtime& runtime, aws::Document& execution, size_t stage,
                   const aws::Document& declaration);
  void PollAction(const PipelineRef& pipeline, Runtime& runtime, aws::Document& execution, size_t action_index);
  // Calls the provider's Start or Poll with the runtime's lock released, then settles the result
  // on the execution as it is by then.
  void CallProvider(const PipelineRef& pipeline, Runtime& runtime, const aws::Document& declaration,
                    const aws::Document& execution, size_t action_index, const aws::Document& action_declaration,
                    ActionProvider& provider, bool start);
  // Applies a result to the action if it is still in progress in `execution`, persists and
  // announces it; false when the action is gone or already ended (the result is dropped). A
  // delivered result the provider had not seen (delivered_seen false) makes the action due at once.
  bool Settle(const PipelineRef& pipeline, Runtime& runtime, aws::Document& execution,
              const std::string& action_execution_id, const ActionResult& result, bool delivered_seen = true);
  void Apply(const PipelineRef& pipeline, aws::Document& execution, size_t action_index, const ActionResult& result);
  void StageSucceeded(const PipelineRef& pipeline, Runtime& runtime, aws::Document& execution, size_t stage);
  void StageFailed(const PipelineRef& pipeline, Runtime& runtime, aws::Document& execution, size_t stage);
  // False when the record could not be written.
  bool Finish(const PipelineRef& pipeline, Runtime& runtime, aws::Document& execution, const std::string& status,
              const std::string& event_state);
  // With abandon, asks the providers of the execution's running actions to stop and ends them
  // Abandoned (their indices are returned); without, marks them stopAsked and lets them complete.
  std::vector<size_t> StopWork(const PipelineRef& pipeline, Runtime& runtime, aws::Document& execution, bool abandon);

  StatusOr<std::string> CreateExecution(const PipelineRef& pipeline, Runtime& runtime, aws::Document execution,
                                        const std::string& client_request_token);
  aws::Document NewExecution(const PipelineRef& pipeline, const aws::Document& record, const aws::Document& trigger);
  StatusOr<aws::Document> Declaration(const PipelineRef& pipeline, Runtime& runtime, int version);
  StatusOr<aws::Document> LoadPipeline(const PipelineRef& pipeline);
  // The pipeline's pointers (records.h, codepipeline.latest); empty when it has none.
  aws::Document Latest(const PipelineRef& pipeline);
  // The execution latest[group][key] points to, if any.
  std::optional<aws::Document> Pointed(const PipelineRef& pipeline, const aws::Document& latest, const char* group,
                                       const std::string& key);
  StatusOr<ActionContext> Context(const PipelineRef& pipeline, const aws::Document& declaration,
                                  const aws::Document& execution, const aws::Document& action,
                                  const aws::Document& action_declaration);
  StatusOr<aws::Principal> RolePrincipal(const std::string& role_arn, const PipelineRef& pipeline);
  ActionProvider* ProviderOf(const aws::Document& action_declaration) const;

  // Writes the execution record (and its active index entry) and caches it; on failure the old
  // record stays, persist_failed is set and nothing may be announced or acted on.
  Status Persist(const PipelineRef& pipeline, Runtime& runtime, const aws::Document& execution);
  void Emit(const PipelineRef& pipeline, std::string_view detail_type, aws::Document detail);
  void WorkerLoop();

  EngineDeps deps_;
  int threads_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, std::pair<PipelineRef, std::shared_ptr<Runtime>>> runtimes_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::mutex roles_mu_;
  std::map<std::string, RoleSession> roles_;
};

}  // namespace gantry::services::codepipeline
