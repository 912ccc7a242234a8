#include "services/codebuild/batch_records.h"

#include <algorithm>

#include "services/codebuild/records.h"

namespace gantry::services::codebuild {

namespace {

using aws::Document;

void ApplyEnv(const Document& env, BatchGroup& group) {
  if (!env.is_object()) return;
  group.compute_type = env.value("compute-type", group.compute_type);
  group.image = env.value("image", group.image);
  group.environment_type = env.value("type", group.environment_type);
  group.fleet = env.value("fleet", group.fleet);
  if (env.contains("privileged-mode")) group.privileged_mode = env["privileged-mode"].get<bool>();
  if (env.contains("variables")) {
    for (const auto& [name, value] : env["variables"].items()) {
      group.variables.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
}

// One dimension of a matrix: a setter per value.
struct Dimension {
  std::vector<std::function<void(BatchGroup&)>> values;
};

}  // namespace

std::string BatchArn(std::string_view region, std::string_view account, std::string_view batch_id) {
  return CodeBuildArn(region, account, "build-batch/" + std::string(batch_id));
}

std::optional<std::string> ParseBatchId(std::string_view id) {
  if (id.rfind("arn:", 0) == 0) {
    size_t at = id.find(":build-batch/");
    if (at == std::string_view::npos) return std::nullopt;
    id = id.substr(at + 13);
  }
  std::optional<BuildIdParts> parts = ParseBuildId(id);
  if (!parts) return std::nullopt;
  return parts->project + ":" + parts->uuid;
}

Status BatchNotFound(std::string_view id) {
  return Status::NotFound("Build batch cannot be found: " + std::string(id), "ResourceNotFoundException");
}

Document PrincipalDocument(const aws::Principal& p) {
  return {{"arn", p.arn},         {"account_id", p.account_id}, {"user_id", p.user_id},
          {"is_root", p.is_root}, {"service", p.service},       {"source_arn", p.source_arn}};
}

aws::Principal PrincipalOf(const Document& doc) {
  aws::Principal p;
  p.arn = doc.value("arn", "");
  p.account_id = doc.value("account_id", "");
  p.user_id = doc.value("user_id", "");
  p.is_root = doc.value("is_root", false);
  p.service = doc.value("service", "");
  p.source_arn = doc.value("source_arn", "");
  return p;
}

StatusOr<std::vector<BatchGroup>> ExpandBatch(const runtime::BatchSpec& spec) {
  Document body = Document::parse(spec.body_json, nullptr, false);
  std::vector<BatchGroup> groups;
  if (spec.kind == "build-list" || spec.kind == "build-graph") {
    for (const Document& task : body) {
      BatchGroup group;
      group.identifier = task.value("identifier", "");
      group.buildspec = task.value("buildspec", "");
      group.ignore_failure = task.value("ignore-failure", false);
      group.debug_session = task.value("debug-session", false);
      for (const Document& d : task.value("depend-on", Document::array())) group.depends_on.push_back(d);
      ApplyEnv(task.value("env", Document::object()), group);
      groups.push_back(std::move(group));
    }
  } else if (spec.kind == "build-matrix") {
    BatchGroup base;
    const Document& fixed = body.value("static", Document::object());
    base.ignore_failure = fixed.value("ignore-failure", false);
    ApplyEnv(fixed.value("env", Document::object()), base);
    const Document& dynamic = body.value("dynamic", Document::object());
    std::vector<Dimension> dimensions;
    auto add_list = [&](const Document& list, std::function<void(BatchGroup&, const std::string&)> set) {
      if (!list.is_array() || list.empty()) return;
      Dimension d;
      for (const Document& v : list) {
        std::string value = v.get<std::string>();
        d.values.push_back([set, value](BatchGroup& g) { set(g, value); });
      }
      dimensions.push_back(std::move(d));
    };
    add_list(dynamic.value("buildspec", Document::array()), [](BatchGroup& g, const std::string& v) { g.buildspec = v; });
    const Document& env = dynamic.value("env", Document::object());
    add_list(env.value("image", Document::array()), [](BatchGroup& g, const std::string& v) { g.image = v; });
    add_list(env.value("compute-type", Document::array()),
             [](BatchGroup& g, const std::string& v) { g.compute_type = v; });
    const Document variables = env.value("variables", Document::object());
    for (const auto& [name, values] : variables.items()) {
      std::string variable = name;
      add_list(values, [variable](BatchGroup& g, const std::string& v) { g.variables.emplace_back(variable, v); });
    }
    size_t total = 1;
    for (const Dimension& d : dimensions) total *= d.values.size();
    for (size_t n = 0; n < total; ++n) {
      BatchGroup group = base;
      size_t rest = n;
      std::vector<size_t> index(dimensions.size());
      for (size_t i = dimensions.size(); i-- > 0;) {
        index[i] = rest % dimensions[i].values.size();
        rest /= dimensions[i].values.size();
      }
      for (size_t i = 0; i < dimensions.size(); ++i) dimensions[i].values[index[i]](group);
      group.identifier = "build" + std::to_string(n + 1);
      groups.push_back(std::move(group));
    }
  } else if (spec.kind == "build-fanout") {
    return Status::InvalidArgument(
        "batch/build-fanout runs one test suite split across parallel builds, which needs CodeBuild's test "
        "splitting (codebuild-tests-run); Gantry does not have it: use build-list or build-matrix instead");
  } else {
    return Status::InvalidArgument("the buildspec's batch section names no build-list, build-graph or build-matrix");
  }
  return groups;
}

Document GroupToDocument(const BatchGroup& g) {
  Document variables = Document::array();
  for (const auto& [name, value] : g.variables) variables.push_back({{"name", name}, {"value", value}});
  Document out = {{"identifier", g.identifier},     {"dependsOn", g.depends_on},       {"ignoreFailure", g.ignore_failure},
                  {"buildspec", g.buildspec},       {"computeType", g.compute_type},   {"image", g.image},
                  {"type", g.environment_type},     {"fleet", g.fleet},                {"variables", variables},
                  {"debugSession", g.debug_session}};
  if (g.privileged_mode) out["privilegedMode"] = *g.privileged_mode;
  return out;
}

BatchGroup GroupFromDocument(const Document& doc) {
  BatchGroup g;
  g.identifier = doc.value("identifier", "");
  for (const Document& d : doc.value("dependsOn", Document::array())) g.depends_on.push_back(d);
  g.ignore_failure = doc.value("ignoreFailure", false);
  g.buildspec = doc.value("buildspec", "");
  g.compute_type = doc.value("computeType", "");
  g.image = doc.value("image", "");
  g.environment_type = doc.value("type", "");
  g.fleet = doc.value("fleet", "");
  if (doc.contains("privilegedMode")) g.privileged_mode = doc["privilegedMode"].get<bool>();
  for (const Document& v : doc.value("variables", Document::array())) {
    g.variables.emplace_back(v.value("name", ""), v.value("value", ""));
  }
  g.debug_session = doc.value("debugSession", false);
  return g;
}

Document GroupSettings(const Document& batch_settings, const BatchGroup& g) {
  Document settings = batch_settings;
  if (!g.buildspec.empty()) settings["source"]["buildspec"] = g.buildspec;
  Document& environment = settings["environment"];
  if (!g.compute_type.empty()) environment["computeType"] = g.compute_type;
  if (!g.image.empty()) environment["image"] = g.image;
  if (!g.environment_type.empty()) environment["type"] = g.environment_type;
  if (g.privileged_mode) environment["privilegedMode"] = *g.privileged_mode;
  Document& variables = environment["environmentVariables"];
  if (!variables.is_array()) variables = Document::array();
  for (const auto& [name, value] : g.variables) {
    auto same = std::find_if(variables.begin(), variables.end(),
                             [&](const Document& v) { return v.value("name", "") == name; });
    Document v = {{"name", name}, {"value", value}, {"type", "PLAINTEXT"}};
    if (same != variables.end()) {
      *same = v;
    } else {
      variables.push_back(v);
    }
  }
  if (g.debug_session) settings["debugSession"] = {{"sessionEnabled", true}};
  return settings;
}

bool IsBatchComplete(const Document& record) { return record["Batch"].value("complete", false); }

void BeginBatchPhase(Document& record, std::string_view type, TimePoint start) {
  Document& batch = record["Batch"];
  batch["phases"].push_back({{"phaseType", std::string(type)}, {"startTime", Seconds(start)}});
  batch["currentPhase"] = std::string(type);
}

void EndBatchPhase(Document& record, TimePoint end, std::string_view status,
                   const std::vector<std::pair<std::string, std::string>>& contexts) {
  Document& phases = record["Batch"]["phases"];
  if (phases.empty() || phases.back().contains("endTime")) return;
  Document& phase = phases.back();
  int64_t start_ms = ToEpochMillis(FromSeconds(phase["startTime"]));
  int64_t end_ms = std::max(ToEpochMillis(end), start_ms);
  phase["endTime"] = static_cast<double>(end_ms) / 1000.0;
  phase["durationInSeconds"] = (end_ms - start_ms) / 1000;
  phase["phaseStatus"] = std::string(status);
  if (phase.value("phaseType", "") != "SUBMITTED") {
    Document out = Document::array();
    for (const auto& [code, message] : contexts) out.push_back({{"statusCode", code}, {"message", message}});
    if (out.empty()) out.push_back({{"statusCode", ""}, {"message", ""}});
    phase["contexts"] = out;
  }
}

void CompleteBatch(Document& record, std::string_view status, TimePoint end,
                   const std::vector<std::pair<std::string, std::string>>& contexts) {
  EndBatchPhase(record, end, status, contexts);
  std::string final_phase = status == "SUCCEEDED" ? "SUCCEEDED" : status == "STOPPED" ? "STOPPED" : "FAILED";
  Document& batch = record["Batch"];
  batch["phases"].push_back({{"phaseType", final_phase}, {"startTime", Seconds(end)}});
  batch["currentPhase"] = final_phase;
  batch["buildBatchStatus"] = std::string(status);
  batch["endTime"] = Seconds(end);
  batch["complete"] = true;
}

StatusOr<Document> UpdateBatchIn(store::Transaction& tx, const std::string& scope, const std::string& id,
                                 const std::function<Status(Document& record)>& fn) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kBatchTable, scope, id));
  if (!record) return BatchNotFound(id);
  Document updated = std::move(record->doc);
  GANTRY_RETURN_IF_ERROR(fn(updated));
  std::string active_key = Padded(updated.value("Seq", int64_t{0}));
  if (IsBatchComplete(updated)) {
    GANTRY_RETURN_IF_ERROR(tx.Delete(kBatchActiveTable, "", active_key).status());
  } else {
    GANTRY_RETURN_IF_ERROR(tx.Put(kBatchActiveTable, "", active_key, Document{{"Scope", scope}, {"Id", id}}).status());
  }
  GANTRY_RETURN_IF_ERROR(tx.Put(kBatchTable, scope, id, updated).status());
  return updated;
}

StatusOr<Document> UpdateBatch(store::Store& store, const std::string& scope, const std::string& id,
                               const std::function<Status(Document& record)>& fn) {
  Document updated;
  GANTRY_RETURN_IF_ERROR(store.Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(updated, UpdateBatchIn(tx, scope, id, fn));
    return Status::Ok();
  }));
  return updated;
}

}  // namespace gantry::services::codebuild
