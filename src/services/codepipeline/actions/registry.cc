#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {

ActionRegistry MakeDefaultRegistry() {
  ActionRegistry registry;
  registry.Add(MakeCodeCommitSource());
  registry.Add(MakeS3Source());
  registry.Add(MakeCodeBuildAction("Build"));
  registry.Add(MakeCodeBuildAction("Test"));
  registry.Add(MakeManualApproval());
  registry.Add(MakeS3Deploy());
  return registry;
}

StatusOr<aws::Document> CallService(ActionContext& ctx, std::string_view service, std::string_view operation,
                                    const aws::Document& input) {
  if (ctx.client == nullptr) return Status::Internal("the action has no client to reach " + std::string(service));
  return ctx.client->Call(ctx.principal, service, operation, input, ctx.region);
}

ActionResult CallFailed(const Status& status, const std::string& what) {
  std::string code = status.aws_code().empty() ? "" : status.aws_code() + ": ";
  return ActionResult::Failed(status.code() == StatusCode::kPermissionDenied ? "PermissionError" : "JobFailed",
                              what + ". " + code + status.message());
}

std::string BytesOf(const aws::Document& blob) {
  if (blob.is_binary()) return std::string(blob.get_binary().begin(), blob.get_binary().end());
  return blob.is_string() ? blob.get<std::string>() : std::string();
}

aws::Document BlobOf(std::string_view bytes) {
  return aws::Document::binary(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

std::string ConfigValue(const aws::Document& configuration, const std::string& name) {
  auto it = configuration.find(name);
  return it != configuration.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status InvalidDeclaration(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidActionDeclarationException");
}

}  // namespace gantry::services::codepipeline
