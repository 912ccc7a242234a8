#include "services/codepipeline/codepipeline_service.h"

namespace gantry::services::codepipeline {

CodePipelineService::CodePipelineService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client,
                                         std::function<std::string()> endpoint)
    : CodePipelineService(store, clock, ids, client, std::move(endpoint), MakeDefaultRegistry(),
                          CodePipelineOptions{}) {}

CodePipelineService::CodePipelineService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client,
                                         std::function<std::string()> endpoint, ActionRegistry registry,
                                         CodePipelineOptions options)
    : registry_(std::move(registry)), options_(options), announcer_(client) {
  EngineDeps engine;
  engine.store = store;
  engine.clock = clock;
  engine.ids = ids;
  engine.client = client;
  engine.registry = &registry_;
  engine.endpoint = std::move(endpoint);
  engine.announcer = &announcer_;
  engine_ = std::make_unique<ExecutionEngine>(std::move(engine), options_.engine_threads);
  deps_.store = store;
  deps_.clock = clock;
  deps_.ids = ids;
  deps_.client = client;
  deps_.registry = &registry_;
  deps_.engine = engine_.get();
}

CodePipelineService::~CodePipelineService() { Stop(); }

void CodePipelineService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterPipelineHandlers(table, deps_);
  RegisterExecutionHandlers(table, deps_);
}

Status CodePipelineService::Start() {
  announcer_.Start();
  GANTRY_RETURN_IF_ERROR(engine_->Resume());
  engine_->Start();
  if (options_.poll_interval.count() > 0 && !poller_) {
    poller_ = std::make_unique<PeriodicTask>(options_.poll_interval, [this] { engine_->PollSources(); });
    poller_->Start();
  }
  return Status::Ok();
}

void CodePipelineService::Stop() {
  if (poller_) poller_->Stop();
  poller_.reset();
  engine_->Stop();
  announcer_.Stop();
}

}  // namespace gantry::services::codepipeline
