// CodePipeline: pipelines (V1 and V2) validated as CodePipeline validates them and stored with
// every version, and executed for real by the execution engine (engine.h) with the action
// providers of action.h (MakeDefaultRegistry()). Executions start on CreatePipeline,
// StartPipelineExecution (from a client or an EventBridge rule target) and source polling
// (PollForSourceChanges); state changes are EventBridge events.
//
// Start() resolves executions a previous process left in flight, then starts the engine's workers,
// the event announcer and the source poller; Stop() stops them (state is already durable). Tests
// build the service with their own registry and no worker threads, and drive the engine with
// engine().RunPending(). Handlers are thread-safe; Start/Stop are called from one thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/periodic_task.h"
#include "core/store/store.h"
#include "services/codepipeline/action.h"
#include "services/codepipeline/engine.h"
#include "services/codepipeline/handlers.h"
#include "services/codepipeline/pipeline_events.h"

namespace gantry::services::codepipeline {

struct CodePipelineOptions {
  int engine_threads = 4;
  // How often sources with PollForSourceChanges are asked for a new revision (0: never).
  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};
};

class CodePipelineService final : public aws::Service {
 public:
  // Pointers must outlive the service. The first form runs every provider Gantry has.
  CodePipelineService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client,
                      std::function<std::string()> endpoint);
  CodePipelineService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client,
                      std::function<std::string()> endpoint, ActionRegistry registry, CodePipelineOptions options);
  ~CodePipelineService() override;

  std::string_view name() const override { return "codepipeline"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  Status Start() override;
  void Stop() override;

  ExecutionEngine& engine() { return *engine_; }

 private:
  ActionRegistry registry_;
  CodePipelineOptions options_;
  PipelineAnnouncer announcer_;
  std::unique_ptr<ExecutionEngine> engine_;
  std::unique_ptr<PeriodicTask> poller_;
  CodePipelineDeps deps_;
};

}  // namespace gantry::services::codepipeline
