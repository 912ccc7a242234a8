// CodePipeline's operations (awsJson 1.1): the pipeline CRUD, tags and action types
// (pipeline_handlers.cc) and the execution APIs (execution_handlers.cc), over the store and the
// execution engine. Thread-safe.
#pragma once

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"
#include "services/codepipeline/action.h"
#include "services/codepipeline/engine.h"

namespace gantry::services::codepipeline {

struct CodePipelineDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  aws::Client* client = nullptr;
  const ActionRegistry* registry = nullptr;
  ExecutionEngine* engine = nullptr;
};

void RegisterPipelineHandlers(aws::HandlerTable& table, const CodePipelineDeps& deps);
void RegisterExecutionHandlers(aws::HandlerTable& table, const CodePipelineDeps& deps);

// The stored pipeline record of ctx's scope, or PipelineNotFoundException.
StatusOr<aws::Document> LoadPipelineRecord(const CodePipelineDeps& deps, const aws::RequestContext& ctx,
                                           const std::string& name);

}  // namespace gantry::services::codepipeline
