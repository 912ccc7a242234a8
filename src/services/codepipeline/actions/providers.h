// The action providers Gantry has, one function per file, and what they share: calls to other
// services as the action's principal, and the failures those calls become. MakeDefaultRegistry
// (registry.cc) registers them all. Providers are stateless; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "services/codepipeline/action.h"

namespace gantry::services::codepipeline {

std::unique_ptr<ActionProvider> MakeCodeCommitSource();                     // Source/AWS/CodeCommit/1
std::unique_ptr<ActionProvider> MakeS3Source();                             // Source/AWS/S3/1
std::unique_ptr<ActionProvider> MakeCodeBuildAction(std::string category);  // Build|Test/AWS/CodeBuild/1
std::unique_ptr<ActionProvider> MakeManualApproval();                       // Approval/AWS/Manual/1
std::unique_ptr<ActionProvider> MakeS3Deploy();                             // Deploy/AWS/S3/1

// An operation of another service, as the action's principal, in the action's region.
StatusOr<aws::Document> CallService(ActionContext& ctx, std::string_view service, std::string_view operation,
                                    const aws::Document& input);

// The action failing because a call failed: PermissionError for a denial, JobFailed otherwise, with
// the service's error code and message after `what` ("Could not get object ...").
ActionResult CallFailed(const Status& status, const std::string& what);

// A blob member's bytes, and bytes as a blob member.
std::string BytesOf(const aws::Document& blob);
aws::Document BlobOf(std::string_view bytes);

// A configuration value: the string, or "" when absent.
std::string ConfigValue(const aws::Document& configuration, const std::string& name);

// InvalidActionDeclarationException with `message`.
Status InvalidDeclaration(std::string message);

}  // namespace gantry::services::codepipeline
