// Build/AWS/CodeBuild/1 and Test/AWS/CodeBuild/1: a CodeBuild build of the project the action names,
// over the action's input artifacts, as CodePipeline starts it: the primary input is the build's
// CODEPIPELINE source (its sourceVersion the artifact's arn:aws:s3:::bucket/key), the others are
// secondary S3 sources named by their artifact names (CODEBUILD_SRC_DIR_<name>; CodeBuild clones those
// that are CODEBUILD_CLONE_REF references, and CreatePipeline refuses names that are no identifiers
// when there are several inputs or outputs); one output artifact
// is the build's CODEPIPELINE artifact, zipped to the object the pipeline chose, and several are
// secondary artifacts named by the buildspec's artifact identifiers. The build's exported variables
// become the action's output variables. With BatchEnabled the action runs a batch build
// (StartBuildBatch): each output named after a build's identifier receives that build's primary
// artifact and <identifier>_<artifact> its secondary artifact <artifact>; with CombineArtifacts the one
// output receives the primary artifacts of all the builds, each under its identifier. A batch's
// builds export no output variables to the action.
#include <regex>
#include <set>

#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {

namespace {

using aws::Document;

const std::set<std::string> kVariableTypes = {"PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"};

// The EnvironmentVariables configuration (a JSON list of {name, value, type}) as StartBuild's
// environmentVariablesOverride.
StatusOr<Document> ParseEnvironmentVariables(const std::string& action, const std::string& text) {
  Document parsed = Document::parse(text, nullptr, false);
  auto invalid = [&](const std::string& why) {
    return InvalidDeclaration("Action configuration for action '" + action +
                              "' has an invalid EnvironmentVariables value: " + why);
  };
  if (!parsed.is_array()) return invalid("it must be a JSON list of {\"name\", \"value\", \"type\"} objects");
  Document out = Document::array();
  for (const Document& v : parsed) {
    if (!v.is_object() || !v.contains("name") || !v["name"].is_string() || !v.contains("value") ||
        !v["value"].is_string()) {
      return invalid("each variable must have a string name and a string value");
    }
    std::string type = v.value("type", "PLAINTEXT");
    if (!kVariableTypes.count(type)) {
      return invalid("type " + type + " of variable " + v["name"].get<std::string>() +
                     " must be PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER");
    }
    out.push_back({{"name", v["name"]}, {"value", v["value"]}, {"type", type}});
  }
  return out;
}

std::string ConsoleUrl(const std::string& region, const std::string& build_id) {
  return "https://console.aws.amazon.com/codesuite/codebuild/projects/" + build_id.substr(0, build_id.find(':')) +
         "/build/" + build_id + "/?region=" + region;
}

std::string BatchConsoleUrl(const std::string& region, const std::string& batch_id) {
  return "https://console.aws.amazon.com/codesuite/codebuild/projects/" + batch_id.substr(0, batch_id.find(':')) +
         "/batch/" + batch_id + "/?region=" + region;
}

// A poll's result for a build or batch build (what: "Build", "Batch build") in status: polled again
// while IN_PROGRESS, failed unless SUCCEEDED, else succeeded with the output artifacts Start named
// (state's "outputs").
void SettleBuildStatus(const std::string& status, const std::string& what, const Document& state,
                       ActionResult& result) {
  if (status == "IN_PROGRESS") {
    result.poll_after = std::chrono::seconds(2);
    return;
  }
  if (status != "SUCCEEDED") {
    result.status = ActionStatus::kFailed;
    result.error_code = "JobFailed";
    result.summary = what + " terminated with state: " + status;
    return;
  }
  result.status = ActionStatus::kSucceeded;
  for (const Document& out : state.value("outputs", Document::array())) {
    result.outputs.push_back({out.value("name", ""), out.value("bucket", ""), out.value("key", "")});
  }
}

class CodeBuildAction final : public ActionProvider {
 public:
  explicit CodeBuildAction(std::string category) {
    type_.category = std::move(category);
    type_.provider = "CodeBuild";
    type_.min_inputs = 1;
    type_.max_inputs = 5;
    type_.min_outputs = 0;
    type_.max_outputs = 5;
    type_.configuration = {
        {"ProjectName", true, true, false, true, "The name of the CodeBuild project"},
        {"PrimarySource", false, false, false, false, "The input artifact CodeBuild runs the buildspec in"},
        {"EnvironmentVariables", false, false, false, false, "Environment variables for the build, as JSON"},
        {"BatchEnabled", false, false, false, false, "Whether to run a batch build", "Boolean"},
        {"CombineArtifacts", false, false, false, false, "Whether to combine a batch build's artifacts", "Boolean"},
    };
  }

  const ActionTypeInfo& type() const override { return type_; }

  Status Validate(const Document& declaration) const override {
    std::string name = declaration.value("name", "");
    const Document& configuration = declaration.value("configuration", Document::object());
    for (const char* flag : {"BatchEnabled", "CombineArtifacts"}) {
      std::string value = ConfigValue(configuration, flag);
      if (!value.empty() && value != "true" && value != "false") {
        return InvalidDeclaration("Action configuration for action '" + name + "' has an invalid " + flag +
                                  " value: " + value + ". It must be true or false");
      }
    }
    if (configuration.contains("EnvironmentVariables")) {
      GANTRY_RETURN_IF_ERROR(
          ParseEnvironmentVariables(name, ConfigValue(configuration, "EnvironmentVariables")).status());
    }
    const Document& inputs = declaration.value("inputArtifacts", Document::array());
    // With several inputs (outputs), each name becomes a build's sourceIdentifier
    // (artifactIdentifier), which CodeBuild limits to letters, digits and underscores.
    static const std::regex kIdentifier("[A-Za-z0-9_]{1,127}");
    for (const char* member : {"inputArtifacts", "outputArtifacts"}) {
      const Document& artifacts = declaration.value(member, Document::array());
      if (artifacts.size() < 2) continue;
      for (const Document& artifact : artifacts) {
        std::string artifact_name = artifact.value("name", "");
        if (!std::regex_match(artifact_name, kIdentifier)) {
          return InvalidDeclaration("Action configuration for action '" + name + "' has artifact " + artifact_name +
                                    ": when a CodeBuild action has several " +
                                    (std::string(member) == "inputArtifacts" ? "input" : "output") +
                                    " artifacts, their names may contain only letters, digits and underscores");
        }
      }
    }
    std::string primary = ConfigValue(configuration, "PrimarySource");
    if (primary.empty() && inputs.size() > 1) {
      return InvalidDeclaration("Action configuration for action '" + name +
                                "' must set PrimarySource when the action has more than one input artifact");
    }
    if (!primary.empty()) {
      bool found = false;
      for (const Document& in : inputs) found = found || in.value("name", "") == primary;
      if (!found) {
        return InvalidDeclaration("Action configuration for action '" + name + "' has PrimarySource " + primary +
                                  ", which is not one of its input artifacts");
      }
    }
    return Status::Ok();
  }

  ActionResult Start(ActionContext& ctx) override {
    const Document& configuration = ctx.configuration();
    bool batch = ConfigValue(configuration, "BatchEnabled") == "true";
    bool combine = batch && ConfigValue(configuration, "CombineArtifacts") == "true";
    if (combine && ctx.output_names.size() > 1) {
      return ActionResult::Failed("ConfigurationError",
                                  "A batch build with CombineArtifacts has one output artifact; action " +
                                      ctx.action_name + " has " + std::to_string(ctx.output_names.size()));
    }
    std::string primary_name = ConfigValue(configuration, "PrimarySource");
    if (primary_name.empty() && !ctx.inputs.empty()) primary_name = ctx.inputs.front().name;
    const ArtifactLocation* primary = nullptr;
    Document secondary_sources = Document::array();
    for (const ArtifactLocation& in : ctx.inputs) {
      if (in.name == primary_name) {
        primary = &in;
        continue;
      }
      secondary_sources.push_back(
          {{"type", "S3"}, {"location", in.bucket + "/" + in.key}, {"sourceIdentifier", in.name}});
    }
    if (primary == nullptr) {
      return ActionResult::Failed("ConfigurationError",
                                  "The primary source " + primary_name + " is not one of the action's input artifacts");
    }
    Document input = {{"projectName", ConfigValue(configuration, "ProjectName")},
                      {"sourceTypeOverride", "CODEPIPELINE"},
                      {"sourceVersion", primary->ArnForm()}};
    if (!secondary_sources.empty()) input["secondarySourcesOverride"] = secondary_sources;
    if (configuration.contains("EnvironmentVariables")) {
      auto variables = ParseEnvironmentVariables(ctx.action_name, ConfigValue(configuration, "EnvironmentVariables"));
      if (!variables.ok()) return ActionResult::Failed("ConfigurationError", variables.status().message());
      input["environmentVariablesOverride"] = *variables;
    }
    // Where each output goes: one output is the build's CODEPIPELINE artifact; several are secondary
    // artifacts, each named by its buildspec identifier.
    Document outputs = Document::array();
    std::vector<ArtifactLocation> locations;
    for (const std::string& name : ctx.output_names) locations.push_back(ctx.new_output_location(name));
    if (locations.size() == 1 && (!batch || combine)) {
      input["artifactsOverride"] = {{"type", "CODEPIPELINE"}, {"location", locations[0].ArnForm()}};
    } else {
      input["artifactsOverride"] = {{"type", "NO_ARTIFACTS"}};
      if (!locations.empty()) {
        Document secondary = Document::array();
        for (const ArtifactLocation& out : locations) {
          size_t slash = out.key.rfind('/');
          secondary.push_back({{"type", "S3"},
                               {"location", out.bucket},
                               {"path", slash == std::string::npos ? "" : out.key.substr(0, slash)},
                               {"name", out.key.substr(slash == std::string::npos ? 0 : slash + 1)},
                               {"namespaceType", "NONE"},
                               {"packaging", "ZIP"},
                               {"artifactIdentifier", out.name}});
        }
        input["secondaryArtifactsOverride"] = secondary;
      }
    }
    for (const ArtifactLocation& out : locations) {
      outputs.push_back({{"name", out.name}, {"bucket", out.bucket}, {"key", out.key}});
    }
    if (combine) input["buildBatchConfigOverride"] = {{"combineArtifacts", true}};
    if (batch) {
      auto started = CallService(ctx, "codebuild", "StartBuildBatch", input);
      if (!started.ok()) {
        return CallFailed(started.status(),
                          "Could not start a batch build of project " + input["projectName"].get<std::string>());
      }
      std::string id = (*started)["buildBatch"].value("id", "");
      ActionResult result;
      result.state = {{"buildBatchId", id}, {"outputs", outputs}};
      result.external_execution_id = id;
      result.external_execution_url = BatchConsoleUrl(ctx.region, id);
      result.poll_after = std::chrono::seconds(2);
      return result;
    }
    auto started = CallService(ctx, "codebuild", "StartBuild", input);
    if (!started.ok())
      return CallFailed(started.status(),
                        "Could not start a build of project " + input["projectName"].get<std::string>());
    std::string id = (*started)["build"].value("id", "");
    ActionResult result;
    result.state = {{"buildId", id}, {"outputs", outputs}};
    result.external_execution_id = id;
    result.external_execution_url = ConsoleUrl(ctx.region, id);
    result.poll_after = std::chrono::seconds(2);
    return result;
  }

  ActionResult Poll(ActionContext& ctx) override {
    if (!ctx.state.is_object()) return ActionResult::Failed("JobFailed", "The build of this action was never started");
    if (ctx.state.contains("buildBatchId")) return PollBatch(ctx);
    std::string id = ctx.state.value("buildId", "");
    auto got = CallService(ctx, "codebuild", "BatchGetBuilds", {{"ids", Document::array({id})}});
    if (!got.ok() && got.status().code() == StatusCode::kPermissionDenied) {
      return CallFailed(got.status(), "Could not get the status of build " + id);
    }
    if (!got.ok()) {
      // The build goes on; a failed look at it is tried again.
      ActionResult result;
      result.state = ctx.state;
      result.external_execution_id = id;
      result.poll_after = std::chrono::seconds(5);
      return result;
    }
    const Document& builds = (*got)["builds"];
    if (builds.empty()) return ActionResult::Failed("JobFailed", "Build " + id + " does not exist");
    const Document& build = builds[0];
    std::string status = build.value("buildStatus", "IN_PROGRESS");
    ActionResult result;
    result.state = ctx.state;
    result.external_execution_id = id;
    result.external_execution_url = ConsoleUrl(ctx.region, id);
    SettleBuildStatus(status, "Build", ctx.state, result);
    if (result.status == ActionStatus::kSucceeded) {
      for (const Document& v : build.value("exportedEnvironmentVariables", Document::array())) {
        result.output_variables[v.value("name", "")] = v.value("value", "");
      }
    }
    return result;
  }

  void Stop(ActionContext& ctx) override {
    // No state: Start has not returned, so there is no build to stop yet.
    if (!ctx.state.is_object()) return;
    if (ctx.state.contains("buildBatchId")) {
      (void)CallService(ctx, "codebuild", "StopBuildBatch", {{"id", ctx.state.value("buildBatchId", "")}});
      return;
    }
    std::string id = ctx.state.value("buildId", "");
    if (!id.empty()) (void)CallService(ctx, "codebuild", "StopBuild", {{"id", id}});
  }

 private:
  ActionResult PollBatch(ActionContext& ctx) {
    std::string id = ctx.state.value("buildBatchId", "");
    auto got = CallService(ctx, "codebuild", "BatchGetBuildBatches", {{"ids", Document::array({id})}});
    if (!got.ok() && got.status().code() == StatusCode::kPermissionDenied) {
      return CallFailed(got.status(), "Could not get the status of batch build " + id);
    }
    ActionResult result;
    result.state = ctx.state;
    result.external_execution_id = id;
    result.external_execution_url = BatchConsoleUrl(ctx.region, id);
    if (!got.ok()) {
      result.poll_after = std::chrono::seconds(5);
      return result;
    }
    const Document& batches = (*got)["buildBatches"];
    if (batches.empty()) return ActionResult::Failed("JobFailed", "Batch build " + id + " does not exist");
    std::string status = batches[0].value("buildBatchStatus", "IN_PROGRESS");
    SettleBuildStatus(status, "Batch build", ctx.state, result);
    return result;
  }

  ActionTypeInfo type_;
};

}  // namespace

std::unique_ptr<ActionProvider> MakeCodeBuildAction(std::string category) {
  return std::make_unique<CodeBuildAction>(std::move(category));
}

}  // namespace gantry::services::codepipeline
