#include "services/codepipeline/pipeline_validation.h"

#include <algorithm>
#include <map>
#include <set>

namespace gantry::services::codepipeline {

namespace {

using aws::Document;

Status Structure(std::string message) { return Status::InvalidArgument(std::move(message), "InvalidStructureException"); }
Status StageError(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidStageDeclarationException");
}
Status ActionError(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidActionDeclarationException");
}
Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message), "ValidationException"); }

// "US_EAST_1", the region form of CodePipeline's action type messages.
std::string RegionEnum(std::string region) {
  for (char& c : region) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return region;
}

std::string TypeText(const Document& id) {
  return "ActionType (Category: '" + id.value("category", "") + "', Provider: '" + id.value("provider", "") +
         "', Owner: '" + id.value("owner", "") + "', Version: '" + id.value("version", "") + "')";
}

Status CheckArtifactCount(const std::string& action, const char* kind, size_t count, int min, int max) {
  if (static_cast<int>(count) < min || static_cast<int>(count) > max) {
    return ActionError("Action '" + action + "' has " + std::to_string(count) + " " + kind +
                       " artifacts. The number of " + kind + " artifacts for this action type must be between " +
                       std::to_string(min) + " and " + std::to_string(max) + ".");
  }
  return Status::Ok();
}

}  // namespace

Document ArtifactStoreFor(const Document& declaration, const std::string& region) {
  if (declaration.contains("artifactStore")) return declaration["artifactStore"];
  const Document& stores = declaration.value("artifactStores", Document::object());
  auto it = stores.find(region);
  return it != stores.end() ? *it : Document();
}

StatusOr<Document> ValidatePipeline(const Document& input, const ActionRegistry& registry, const std::string& region) {
  Document pipeline = input;
  std::string type = pipeline.value("pipelineType", "V1");
  pipeline["pipelineType"] = type;
  std::string mode = pipeline.value("executionMode", "SUPERSEDED");
  pipeline["executionMode"] = mode;
  bool v2 = type == "V2";

  bool single = pipeline.contains("artifactStore");
  bool multi = pipeline.contains("artifactStores");
  if (single == multi) {
    return Structure(single ? "Pipeline cannot have both artifactStore and artifactStores"
                            : "Pipeline must have either artifactStore or artifactStores");
  }
  if (multi && !pipeline["artifactStores"].contains(region)) {
    return Structure("artifactStores must contain an artifact store for the pipeline's region " + region);
  }

  if (!v2) {
    if (mode != "SUPERSEDED") {
      return Invalid("Execution mode " + mode + " is only supported for pipeline type V2");
    }
    if (pipeline.contains("variables") && !pipeline["variables"].empty()) {
      return Invalid("Pipeline variables are only supported for pipeline type V2");
    }
    if (pipeline.contains("triggers") && !pipeline["triggers"].empty()) {
      return Invalid("Triggers are only supported for pipeline type V2");
    }
  }
  if (pipeline.contains("triggers") && !pipeline["triggers"].empty()) {
    return Invalid("Triggers with a CodeStarSourceConnection provider are not supported by Gantry");
  }
  std::set<std::string> variable_names;
  for (const Document& v : pipeline.value("variables", Document::array())) {
    if (!variable_names.insert(v.value("name", "")).second) {
      return Invalid("Pipeline variable names must be unique: " + v.value("name", "") + " is declared more than once");
    }
  }

  Document& stages = pipeline["stages"];
  if (stages.size() < 2) {
    return Structure("Pipeline has only " + std::to_string(stages.size()) +
                     " stage(s). There should be a minimum of 2 stages in a pipeline");
  }
  std::set<std::string> stage_names, action_names, namespaces;
  std::map<std::string, std::pair<size_t, int>> produced;  // artifact → (stage index, runOrder)
  for (size_t s = 0; s < stages.size(); ++s) {
    Document& stage = stages[s];
    std::string stage_name = stage.value("name", "");
    if (!stage_names.insert(stage_name).second) {
      return Structure("Stage names must be unique in a pipeline: " + stage_name + " is used more than once");
    }
    if (stage.contains("blockers") && !stage["blockers"].empty()) {
      return Status::InvalidArgument("Blockers are not supported in stage " + stage_name,
                                     "InvalidBlockerDeclarationException");
    }
    if (stage.contains("beforeEntry") || stage.contains("onSuccess") ||
        stage.value("onFailure", Document::object()).contains("conditions")) {
      return StageError("Stage " + stage_name + ": rule-based stage conditions are not supported by Gantry yet");
    }
    if (stage.contains("onFailure")) {
      Document& on_failure = stage["onFailure"];
      std::string result = on_failure.value("result", "");
      if (result.empty()) return StageError("Stage " + stage_name + ": onFailure must have a result");
      if (result == "SKIP") return StageError("Stage " + stage_name + ": onFailure result SKIP is not supported");
      if (result == "ROLLBACK") {
        if (!v2) return StageError("Stage " + stage_name + ": rollback on failure requires pipeline type V2");
        if (mode == "PARALLEL") {
          return StageError("Stage " + stage_name + ": rollback on failure is not supported in PARALLEL execution mode");
        }
        if (s == 0) return StageError("Stage " + stage_name + ": the source stage cannot roll back");
      }
      if (result == "RETRY") {
        Document& retry = on_failure["retryConfiguration"];
        if (!retry.is_object()) retry = Document::object();
        if (!retry.contains("retryMode")) retry["retryMode"] = "FAILED_ACTIONS";
      } else if (on_failure.contains("retryConfiguration")) {
        return StageError("Stage " + stage_name + ": retryConfiguration is only valid with onFailure result RETRY");
      }
    }
    Document& actions = stage["actions"];
    if (actions.empty()) {
      return StageError("Stage " + stage_name + " must contain at least one action");
    }
    // Sources first: an artifact is available to actions of later stages and of higher runOrder.
    std::vector<size_t> order(actions.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (Document& action : actions) {
      if (!action.contains("runOrder")) action["runOrder"] = 1;
      if (!action.contains("inputArtifacts")) action["inputArtifacts"] = Document::array();
      if (!action.contains("outputArtifacts")) action["outputArtifacts"] = Document::array();
      if (!action.contains("configuration")) action["configuration"] = Document::object();
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return actions[a]["runOrder"].get<int>() < actions[b]["runOrder"].get<int>();
    });
    for (size_t index : order) {
      Document& action = actions[index];
      std::string name = action.value("name", "");
      int run_order = action["runOrder"].get<int>();
      const Document& id = action["actionTypeId"];
      std::string category = id.value("category", "");
      if (!action_names.insert(name).second) {
        return ActionError("Action names must be unique in a pipeline: " + name + " is used more than once");
      }
      std::string action_region = action.value("region", region);
      ActionProvider* provider = registry.Find(id);
      if (!provider) {
        return ActionError(TypeText(id) + " in action '" + name + "' is not available in region '" +
                           RegionEnum(action_region) + "'");
      }
      if (s == 0 && category != "Source") {
        return Structure("Stage " + stage_name + " contains a non-source action " + name +
                         ". The first stage of a pipeline must contain only source actions");
      }
      if (s > 0 && category == "Source") {
        return Structure("Action " + name + " in stage " + stage_name +
                         " is a source action. Source actions can only be in the first stage of a pipeline");
      }
      if (action.contains("region") && action_region != region) {
        if (!multi) {
          return Structure("Action " + name + " is in region " + action_region +
                           "; cross-region actions require artifactStores with a store for each region");
        }
        if (!pipeline["artifactStores"].contains(action_region)) {
          return Structure("artifactStores has no artifact store for region " + action_region + " of action " + name);
        }
      }
      const ActionTypeInfo& info = provider->type();
      GANTRY_RETURN_IF_ERROR(
          CheckArtifactCount(name, "input", action["inputArtifacts"].size(), info.min_inputs, info.max_inputs));
      GANTRY_RETURN_IF_ERROR(
          CheckArtifactCount(name, "output", action["outputArtifacts"].size(), info.min_outputs, info.max_outputs));
      for (const Document& in : action["inputArtifacts"]) {
        std::string artifact = in.value("name", "");
        auto it = produced.find(artifact);
        if (it == produced.end() || (it->second.first == s && it->second.second >= run_order)) {
          return ActionError("Input artifact " + artifact + " of action " + name +
                             " is not the output of an action in an earlier stage or of an earlier runOrder in stage " +
                             stage_name);
        }
      }
      for (const Document& out : action["outputArtifacts"]) {
        std::string artifact = out.value("name", "");
        if (produced.count(artifact)) {
          return ActionError("Output artifact names must be unique in a pipeline: " + artifact +
                             " is produced by more than one action");
        }
        produced[artifact] = {s, run_order};
      }
      if (action.contains("namespace") && !namespaces.insert(action.value("namespace", "")).second) {
        return ActionError("Namespaces must be unique in a pipeline: " + action.value("namespace", "") +
                           " is used by more than one action");
      }
      if (action.value("namespace", "") == "variables" || action.value("namespace", "") == "codepipeline") {
        return ActionError("Namespace " + action.value("namespace", "") + " of action " + name + " is reserved");
      }
      const Document& configuration = action["configuration"];
      for (const auto& property : info.configuration) {
        if (property.required && !configuration.contains(property.name)) {
          return ActionError("Action configuration for action '" + name + "' is missing required configuration '" +
                             property.name + "'");
        }
      }
      for (auto it = configuration.begin(); it != configuration.end(); ++it) {
        bool known = std::any_of(info.configuration.begin(), info.configuration.end(),
                                 [&](const ActionTypeInfo::Property& p) { return p.name == it.key(); });
        if (!known) {
          return ActionError("Action configuration for action '" + name + "' contains unknown configuration '" +
                             it.key() + "'");
        }
      }
      GANTRY_RETURN_IF_ERROR(provider->Validate(action));
    }
  }
  return pipeline;
}

}  // namespace gantry::services::codepipeline
