// Variable references in action configuration: #{namespace.Name} (an earlier action's output
// variables), #{variables.name} (V2 pipeline-level variables) and #{codepipeline.PipelineExecutionId}.
// Pure; thread-safe.
#pragma once

#include <string>

#include "core/aws/document.h"
#include "core/common/status.h"

namespace gantry::services::codepipeline {

// `values` is {namespace: {name: value}} ("variables" and "codepipeline" included). An unknown
// reference is an error naming it.
StatusOr<std::string> ResolveVariables(const std::string& text, const aws::Document& values);

// Every value of a configuration map resolved.
StatusOr<aws::Document> ResolveConfiguration(const aws::Document& configuration, const aws::Document& values);

}  // namespace gantry::services::codepipeline
