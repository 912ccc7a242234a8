// Validation of a PipelineDeclaration (CreatePipeline, UpdatePipeline) beyond what the model
// checks, with CodePipeline's exception codes and messages: the structure (stages, source stage,
// artifact store(s)), stages (actions, onFailure), actions (known action types, artifacts produced
// before they are consumed, unique names and namespaces, the provider's own checks) and V2-only
// features. Returns the declaration as CodePipeline stores it (defaults filled in). Pure; thread-safe.
#pragma once

#include <string>

#include "core/aws/document.h"
#include "core/common/status.h"
#include "services/codepipeline/action.h"

namespace gantry::services::codepipeline {

// `region` is the pipeline's own region (the request's).
StatusOr<aws::Document> ValidatePipeline(const aws::Document& declaration, const ActionRegistry& registry,
                                         const std::string& region);

// The artifact store of `region` for a validated declaration (artifactStore, or artifactStores[region]).
aws::Document ArtifactStoreFor(const aws::Document& declaration, const std::string& region);

}  // namespace gantry::services::codepipeline
