#include "core/events/transform.h"

#include <array>

#include "core/common/time_format.h"

namespace gantry::events {
namespace {

constexpr std::string_view kRuleArn = "aws.events.rule-arn";
constexpr std::string_view kRuleName = "aws.events.rule-name";
constexpr std::string_view kEvent = "aws.events.event";
constexpr std::string_view kEventJson = "aws.events.event.json";
constexpr std::string_view kIngestionTime = "aws.events.event.ingestion-time";
constexpr std::array<std::string_view, 5> kPredefined = {kRuleArn, kRuleName, kEvent, kEventJson,
                                                         kIngestionTime};

bool IsPredefined(std::string_view name) {
  for (std::string_view p : kPredefined) {
    if (p == name) return true;
  }
  return false;
}

Status ValidationError(std::string message) {
  return Status::InvalidArgument(std::move(message), "ValidationException");
}

std::string Dump(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool IsPlaceholderChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// If text[pos] opens a placeholder "<name>", returns the name's length (else 0).
size_t PlaceholderAt(std::string_view text, size_t pos) {
  if (text[pos] != '<') return 0;
  size_t i = pos + 1;
  while (i < text.size() && IsPlaceholderChar(text[i])) ++i;
  if (i == pos + 1 || i >= text.size() || text[i] != '>') return 0;
  return i - pos - 1;
}

bool IsJsonTemplate(std::string_view t) {
  for (char c : t) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' || c == '[';
  }
  return false;
}

// Removes JSON whitespace outside string literals (the text must be valid JSON).
std::string Minify(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < json.size()) {
        out.push_back(json[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

// A template variable's value; value == nullptr means the path selected nothing.
struct Variable {
  const nlohmann::json* value = nullptr;
  nlohmann::json owned;  // for predefined variables
};

class TemplateFiller {
 public:
  TemplateFiller(const InputTransformer& transformer, const nlohmann::json& event,
                 const RuleContext& context)
      : transformer_(transformer), event_(event), context_(context) {}

  StatusOr<std::string> Fill() {
    const std::string& t = transformer_.input_template;
    const bool json_template = IsJsonTemplate(t);
    std::string out;
    out.reserve(t.size());
    bool in_string = false;
    for (size_t i = 0; i < t.size(); ++i) {
      char c = t[i];
      if (c == '\\' && in_string && i + 1 < t.size()) {
        out.push_back(c);
        out.push_back(t[++i]);
        continue;
      }
      if (c == '"') {
        in_string = !in_string;
        out.push_back(c);
        continue;
      }
      size_t len = PlaceholderAt(t, i);
      if (len > 0) {
        std::string name = t.substr(i + 1, len);
        if (IsPredefined(name) || transformer_.input_paths_map.count(name) > 0) {
          Variable var;
          GANTRY_RETURN_IF_ERROR(Resolve(name, &var));
          Render(var, json_template && !in_string, &out);
          i += len + 1;
          continue;
        }
      }
      out.push_back(c);
    }
    if (json_template && nlohmann::json::accept(out)) return Minify(out);
    return out;
  }

 private:
  Status Resolve(const std::string& name, Variable* var) {
    if (name == kRuleArn) {
      var->owned = context_.rule_arn;
    } else if (name == kRuleName) {
      var->owned = context_.rule_name;
    } else if (name == kIngestionTime) {
      if (context_.ingestion_time.has_value()) {
        var->owned = FormatIso8601(*context_.ingestion_time);
      } else if (event_.is_object() && event_.contains("time") && event_["time"].is_string()) {
        var->owned = event_["time"];
      } else {
        var->owned = "";
      }
    } else if (name == kEventJson) {
      var->value = &event_;
      return Status::Ok();
    } else if (name == kEvent) {
      // The event's envelope: everything but "detail", with "detail-type" as "detailType".
      if (!event_.is_object()) {
        var->value = &event_;
        return Status::Ok();
      }
      var->owned = nlohmann::json::object();
      for (auto it = event_.begin(); it != event_.end(); ++it) {
        if (it.key() == "detail") continue;
        var->owned[it.key() == "detail-type" ? "detailType" : it.key()] = it.value();
      }
    } else {
      GANTRY_ASSIGN_OR_RETURN(JsonPath path, JsonPath::Parse(transformer_.input_paths_map.at(name)));
      var->value = path.Select(event_);
      return Status::Ok();
    }
    var->value = &var->owned;
    return Status::Ok();
  }

  static void Render(const Variable& var, bool as_json, std::string* out) {
    if (var.value == nullptr) {
      if (as_json) out->append("\"\"");
      return;
    }
    if (!as_json && var.value->is_string()) {
      out->append(var.value->get_ref<const std::string&>());
      return;
    }
    out->append(Dump(*var.value));
  }

  const InputTransformer& transformer_;
  const nlohmann::json& event_;
  const RuleContext& context_;
};

}  // namespace

StatusOr<JsonPath> JsonPath::Parse(std::string_view path) {
  auto invalid = [&]() {
    return Status::InvalidArgument("Invalid JSON path: " + std::string(path));
  };
  if (path.empty() || path[0] != '$') return invalid();
  JsonPath out;
  out.text_ = std::string(path);
  size_t i = 1;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      size_t start = i;
      while (i < path.size() && path[i] != '.' && path[i] != '[') ++i;
      std::string_view name = path.substr(start, i - start);
      if (name.empty() || name == "*") return invalid();
      out.steps_.push_back(Step{std::string(name), -1});
    } else if (path[i] == '[') {
      ++i;
      if (i >= path.size()) return invalid();
      if (path[i] == '\'' || path[i] == '"') {
        char quote = path[i++];
        size_t end = path.find(quote, i);
        if (end == std::string_view::npos || end + 1 >= path.size() || path[end + 1] != ']') {
          return invalid();
        }
        out.steps_.push_back(Step{std::string(path.substr(i, end - i)), -1});
        i = end + 2;
      } else {
        size_t start = i;
        int64_t index = 0;
        while (i < path.size() && path[i] >= '0' && path[i] <= '9') {
          index = index * 10 + (path[i] - '0');
          if (index > 1'000'000'000) return invalid();
          ++i;
        }
        if (i == start || i >= path.size() || path[i] != ']') return invalid();
        out.steps_.push_back(Step{"", index});
        ++i;
      }
    } else {
      return invalid();
    }
  }
  return out;
}

const nlohmann::json* JsonPath::Select(const nlohmann::json& document) const {
  const nlohmann::json* cur = &document;
  for (const Step& step : steps_) {
    if (step.index >= 0) {
      if (!cur->is_array() || static_cast<size_t>(step.index) >= cur->size()) return nullptr;
      cur = &(*cur)[static_cast<size_t>(step.index)];
    } else {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(step.name);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    }
  }
  return cur;
}

Status ValidateTargetInput(const TargetInput& spec, std::string_view target_id) {
  const std::string id(target_id);
  int set = spec.input.has_value() + spec.input_path.has_value() +
            spec.input_transformer.has_value();
  if (set > 1) {
    return ValidationError("Only one of Input, InputPath, or InputTransformer must be provided for "
                           "target " + id + ".");
  }
  if (spec.input.has_value() && !nlohmann::json::accept(*spec.input)) {
    return ValidationError("Input for target " + id + " is not valid JSON text.");
  }
  if (spec.input_path.has_value() && !JsonPath::Parse(*spec.input_path).ok()) {
    return ValidationError("InputPath for target " + id + " is not a valid JSON path.");
  }
  if (spec.input_transformer.has_value()) {
    const InputTransformer& t = *spec.input_transformer;
    if (t.input_paths_map.size() > kMaxInputPathsMapEntries) {
      return ValidationError("InputPathsMap for target " + id + " has more than " +
                             std::to_string(kMaxInputPathsMapEntries) + " entries.");
    }
    for (const auto& [name, path] : t.input_paths_map) {
      if (IsPredefined(name)) {
        return ValidationError("InputPathsMap for target " + id + " uses reserved variable name " +
                               name + ".");
      }
      if (!JsonPath::Parse(path).ok()) {
        return ValidationError("InputPathsMap for target " + id + " contains invalid JSON path " +
                               path + " for variable " + name + ".");
      }
    }
    const std::string& tmpl = t.input_template;
    for (size_t i = 0; i < tmpl.size(); ++i) {
      size_t len = PlaceholderAt(tmpl, i);
      if (len == 0) continue;
      std::string name = tmpl.substr(i + 1, len);
      if (!IsPredefined(name) && t.input_paths_map.count(name) == 0) {
        return ValidationError("InputTemplate for target " + id + " contains invalid placeholder " +
                               name + ".");
      }
      i += len + 1;
    }
  }
  return Status::Ok();
}

StatusOr<std::string> ShapeTargetInput(const TargetInput& spec, const nlohmann::json& event,
                                       const RuleContext& context) {
  if (spec.input.has_value()) return *spec.input;
  if (spec.input_path.has_value()) {
    GANTRY_ASSIGN_OR_RETURN(JsonPath path, JsonPath::Parse(*spec.input_path));
    const nlohmann::json* selected = path.Select(event);
    return selected == nullptr ? std::string() : Dump(*selected);
  }
  if (spec.input_transformer.has_value()) {
    return TemplateFiller(*spec.input_transformer, event, context).Fill();
  }
  return Dump(event);
}

}  // namespace gantry::events
