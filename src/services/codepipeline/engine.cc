#include "services/codepipeline/engine.h"

#include <algorithm>

#include "core/common/arn.h"
#include "core/common/log.h"
#include "services/codepipeline/pipeline_validation.h"
#include "services/codepipeline/variables.h"

namespace gantry::services::codepipeline {

namespace {

using aws::Document;

constexpr std::string_view kAlphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr auto kRoleRefreshMargin = std::chrono::minutes(5);
constexpr int kMaxStepsPerAdvance = 1000;
constexpr auto kPersistRetry = std::chrono::seconds(1);

// Releases a held mutex for a scope (a provider call) and takes it back.
class Unlocked {
 public:
  explicit Unlocked(std::mutex& mu) : mu_(mu) { mu_.unlock(); }
  ~Unlocked() { mu_.lock(); }
  Unlocked(const Unlocked&) = delete;
  Unlocked& operator=(const Unlocked&) = delete;

 private:
  std::mutex& mu_;
};

// The action declaration of an action execution record in the pipeline declaration; null when
// the stage or action is not declared there.
const Document* ActionDeclaration(const Document& declaration, const Document& action) {
  auto stages = declaration.find("stages");
  size_t stage = action.value("stageIndex", size_t{0});
  if (stages == declaration.end() || !stages->is_array() || stage >= stages->size()) return nullptr;
  auto actions = (*stages)[stage].find("actions");
  if (actions == (*stages)[stage].end()) return nullptr;
  for (const Document& a : *actions) {
    if (a.value("name", "") == action.value("actionName", "")) return &a;
  }
  return nullptr;
}

const char* StatusName(ActionStatus status) {
  switch (status) {
    case ActionStatus::kInProgress: return "InProgress";
    case ActionStatus::kSucceeded: return "Succeeded";
    case ActionStatus::kFailed: return "Failed";
    case ActionStatus::kAbandoned: return "Abandoned";
  }
  return "Failed";
}

const char* EventState(const std::string& action_status) {
  if (action_status == "Succeeded") return "SUCCEEDED";
  if (action_status == "Abandoned") return "ABANDONED";
  if (action_status == "InProgress") return "STARTED";
  return "FAILED";
}

const Document* StageDeclaration(const Document& declaration, size_t stage) {
  auto stages = declaration.find("stages");
  if (stages == declaration.end() || !stages->is_array() || stage >= stages->size()) return nullptr;
  return &(*stages)[stage];
}

// The action records of the stage's current attempt, by name (latest), as indices into actions.
std::map<std::string, size_t> LatestOf(const Document& execution, size_t stage) {
  std::map<std::string, size_t> out;
  const Document& latest = execution["stages"][stage].value("latest", Document::object());
  const Document& actions = execution["actions"];
  for (size_t i = 0; i < actions.size(); ++i) {
    auto it = latest.find(actions[i].value("actionName", ""));
    if (it != latest.end() && *it == actions[i]["actionExecutionId"]) out[actions[i]["actionName"]] = i;
  }
  return out;
}

bool Waiting(const Document& execution, size_t stage) {
  const Document& current = execution["current"];
  return current.value("state", "") == "waiting" && current.value("stage", size_t{0}) == stage;
}

bool Running(const Document& execution, size_t stage) {
  const Document& current = execution["current"];
  return current.value("state", "") == "running" && current.value("stage", size_t{0}) == stage;
}

std::string TransitionKey(const std::string& stage, const std::string& type) { return stage + "/" + type; }

bool TransitionEnabled(const Document& record, const std::string& key) {
  const Document& transitions = record.value("transitions", Document::object());
  auto it = transitions.find(key);
  return it == transitions.end() || it->value("enabled", true);
}

}  // namespace

ExecutionEngine::ExecutionEngine(EngineDeps deps, int threads) : deps_(std::move(deps)), threads_(threads) {}

ExecutionEngine::~ExecutionEngine() { Stop(); }

void ExecutionEngine::Start() {
  std::lock_guard lock(mu_);
  if (!workers_.empty()) return;
  stopping_ = false;
  for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void ExecutionEngine::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

std::shared_ptr<ExecutionEngine::Runtime> ExecutionEngine::RuntimeFor(const PipelineRef& pipeline) {
  std::lock_guard lock(mu_);
  auto& entry = runtimes_[pipeline.key()];
  if (!entry.second) entry = {pipeline, std::make_shared<Runtime>()};
  return entry.second;
}

void ExecutionEngine::EraseIfIdle(const std::string& key) {
  auto it = runtimes_.find(key);
  if (it == runtimes_.end()) return;
  Runtime& r = *it->second.second;
  // Held elsewhere (a handler, a worker) or with work to do: kept.
  if (it->second.second.use_count() > 1 || r.running || r.dirty || r.due != TimePoint::max()) return;
  if (!r.mu.try_lock()) return;
  bool idle = r.active.empty();
  r.mu.unlock();
  if (idle) runtimes_.erase(it);
}

size_t ExecutionEngine::RuntimeCount() {
  std::lock_guard lock(mu_);
  return runtimes_.size();
}

void ExecutionEngine::Wake(const PipelineRef& pipeline) {
  {
    std::lock_guard lock(mu_);
    auto& entry = runtimes_[pipeline.key()];
    if (!entry.second) entry = {pipeline, std::make_shared<Runtime>()};
    entry.second->dirty = true;
  }
  wake_.notify_one();
}

void ExecutionEngine::WorkerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    TimePoint now = deps_.clock->Now();
    TimePoint earliest = TimePoint::max();
    std::pair<PipelineRef, std::shared_ptr<Runtime>>* chosen = nullptr;
    for (auto& [key, entry] : runtimes_) {
      Runtime& r = *entry.second;
      if (r.running) continue;
      if (r.dirty || r.due <= now) {
        chosen = &entry;
        break;
      }
      earliest = std::min(earliest, r.due);
    }
    if (!chosen) {
      if (earliest == TimePoint::max()) {
        wake_.wait(lock);
      } else {
        wake_.wait_for(lock, std::min<Duration>(earliest - now, std::chrono::seconds(1)));
      }
      continue;
    }
    PipelineRef ref = chosen->first;
    std::shared_ptr<Runtime> runtime = chosen->second;
    runtime->running = true;
    runtime->dirty = false;
    lock.unlock();
    TimePoint next = GuardedAdvance(ref, *runtime);
    lock.lock();
    runtime->running = false;
    runtime->due = next;
    if (runtime->dirty || next != TimePoint::max()) wake_.notify_one();
    runtime.reset();
    EraseIfIdle(ref.key());
  }
}

void ExecutionEngine::RunPending() {
  for (int round = 0; round < kMaxStepsPerAdvance; ++round) {
    std::pair<PipelineRef, std::shared_ptr<Runtime>> chosen;
    {
      std::lock_guard lock(mu_);
      TimePoint now = deps_.clock->Now();
      for (auto& [key, entry] : runtimes_) {
        if (entry.second->dirty || entry.second->due <= now) {
          chosen = entry;
          break;
        }
      }
      if (!chosen.second) return;
      chosen.second->dirty = false;
      chosen.second->due = TimePoint::max();
    }
    TimePoint next = GuardedAdvance(chosen.first, *chosen.second);
    std::lock_guard lock(mu_);
    chosen.second->due = std::min(chosen.second->due, next);
    chosen.second.reset();
    EraseIfIdle(chosen.first.key());
  }
}

StatusOr<Document> ExecutionEngine::LoadPipeline(const PipelineRef& pipeline) {
  GANTRY_ASSIGN_OR_RETURN(auto found, deps_.store->Get(kPipelineTable, pipeline.scope(), pipeline.name));
  if (!found) {
    return Status::NotFound("Account '" + pipeline.account + "' does not have a pipeline with name '" +
                                pipeline.name + "'",
                            "PipelineNotFoundException");
  }
  return found->doc;
}

StatusOr<Document> ExecutionEngine::Declaration(const PipelineRef& pipeline, Runtime& runtime, int version) {
  auto it = runtime.declarations.find(version);
  if (it != runtime.declarations.end()) return it->second;
  GANTRY_ASSIGN_OR_RETURN(auto found, deps_.store->Get(kVersionTable, pipeline.scope(), VersionKey(pipeline.name, version)));
  if (!found) return Status::NotFound("Pipeline " + pipeline.name + " has no version " + std::to_string(version));
  runtime.declarations[version] = found->doc;
  return found->doc;
}

Document ExecutionEngine::Latest(const PipelineRef& pipeline) {
  auto found = deps_.store->Get(kLatestTable, pipeline.scope(), pipeline.name);
  return found.ok() && *found ? (*found)->doc : Document::object();
}

std::optional<Document> ExecutionEngine::Pointed(const PipelineRef& pipeline, const Document& latest,
                                                 const char* group, const std::string& key) {
  auto g = latest.find(group);
  if (g == latest.end() || !g->contains(key)) return std::nullopt;
  auto found = deps_.store->Get(kExecutionTable, pipeline.scope(), ExecutionKey(pipeline.name, (*g)[key].value("id", "")));
  if (!found.ok() || !*found) return std::nullopt;
  return (*found)->doc;
}

Status ExecutionEngine::Persist(const PipelineRef& pipeline, Runtime& runtime, const Document& execution) {
  std::string id = execution.value("pipelineExecutionId", "");
  bool active = IsActive(execution);
  Status written = deps_.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(
        txn.Put(kExecutionTable, pipeline.scope(), ExecutionKey(pipeline.name, id), execution).status());
    GANTRY_ASSIGN_OR_RETURN(auto found, txn.Get(kLatestTable, pipeline.scope(), pipeline.name));
    Document latest = found ? found->doc : Document::object();
    UpdateLatest(latest, execution);
    GANTRY_RETURN_IF_ERROR(txn.Put(kLatestTable, pipeline.scope(), pipeline.name, latest).status());
    std::string index = ActiveIndexKey(pipeline.account, pipeline.region, pipeline.name, id);
    if (active) return txn.Put(kIndexTable, kIndexScope, index, Document{{"id", id}}).status();
    return txn.Delete(kIndexTable, kIndexScope, index).status();
  });
  if (!written.ok()) {
    // The previous record stays (in the store and here); the transition is tried again later.
    GANTRY_LOG(kError, "codepipeline: execution " << id << " of " << pipeline.name
                                                  << " not persisted, retried later: " << written.ToString());
    runtime.persist_failed = true;
    return written;
  }
  if (active) {
    runtime.active[id] = execution;
  } else {
    runtime.active.erase(id);
  }
  return Status::Ok();
}

void ExecutionEngine::Emit(const PipelineRef& pipeline, std::string_view detail_type, Document detail) {
  if (!deps_.announcer) return;
  deps_.announcer->Announce(PipelineEvent{pipeline.account, pipeline.region, std::string(detail_type),
                                          std::move(detail), PipelineArn(pipeline.region, pipeline.account, pipeline.name),
                                          deps_.clock->Now()});
}

TimePoint ExecutionEngine::GuardedAdvance(const PipelineRef& pipeline, Runtime& runtime) {
  try {
    return Advance(pipeline, runtime);
  } catch (const std::exception& e) {
    // A provider or a malformed record threw: the engine thread lives on and tries again.
    GANTRY_LOG(kError, "codepipeline: advancing " << pipeline.name << " failed, retried later: " << e.what());
    return deps_.clock->Now() + kPersistRetry;
  }
}

TimePoint ExecutionEngine::Advance(const PipelineRef& pipeline, Runtime& runtime) {
  std::lock_guard lock(runtime.mu);
  runtime.persist_failed = false;
  auto record = LoadPipeline(pipeline);
  if (!record.ok()) {
    if (record.status().code() != StatusCode::kNotFound) return deps_.clock->Now() + kPersistRetry;
    runtime.active.clear();
    return TimePoint::max();
  }
  for (int step = 0; step < kMaxStepsPerAdvance; ++step) {
    std::vector<std::pair<int64_t, std::string>> order;
    for (const auto& [id, e] : runtime.active) order.emplace_back(e.value("seq", int64_t{0}), id);
    std::sort(order.begin(), order.end());
    bool changed = false;
    for (const auto& [seq, id] : order) {
      auto it = runtime.active.find(id);
      if (it == runtime.active.end()) continue;
      Document execution = it->second;
      if (Step(pipeline, runtime, *record, execution)) changed = true;
      if (runtime.persist_failed) break;
    }
    if (!changed || runtime.persist_failed) break;
  }
  TimePoint next = TimePoint::max();
  if (runtime.persist_failed) next = deps_.clock->Now() + kPersistRetry;
  for (const auto& [id, e] : runtime.active) {
    for (const Document& a : e["actions"]) {
      if (a.value("status", "") == "InProgress") next = std::min(next, FromEpochSeconds(a.value("pollAt", 0.0)));
    }
  }
  return next;
}

bool ExecutionEngine::Step(const PipelineRef& pipeline, Runtime& runtime, const Document& record, Document& execution) {
  auto declaration = Declaration(pipeline, runtime, execution.value("pipelineVersion", 1));
  if (!declaration.ok()) {
    execution["statusSummary"] = "The pipeline version this execution runs is gone: " + declaration.status().message();
    Finish(pipeline, runtime, execution, "Failed", "FAILED");
    return true;
  }
  size_t stage = execution["current"].value("stage", size_t{0});
  const std::string state = execution["current"].value("state", "");
  TimePoint now = deps_.clock->Now();

  if (state == "waiting") {
    if (execution["status"] == "Stopping") {
      Finish(pipeline, runtime, execution, "Stopped", "STOPPED");
      return true;
    }
    // A retried execution is the stage's own: nothing newer supersedes it there.
    if (execution.value("executionMode", "") == "SUPERSEDED" && !execution["current"].contains("retryMode")) {
      for (const auto& [id, other] : runtime.active) {
        if (id != execution["pipelineExecutionId"] && Waiting(other, stage) &&
            other.value("seq", int64_t{0}) > execution.value("seq", int64_t{0})) {
          Finish(pipeline, runtime, execution, "Superseded", "SUPERSEDED");
          return true;
        }
      }
    }
    if (!CanEnter(pipeline, runtime, record, execution, stage)) return false;
    EnterStage(pipeline, runtime, execution, stage);
    return true;
  }
  if (state != "running") return false;

  // Poll what is due.
  bool changed = false;
  for (size_t i = 0; i < execution["actions"].size(); ++i) {
    const Document& a = execution["actions"][i];
    if (a.value("status", "") != "InProgress" || a.value("stageIndex", size_t{0}) != stage) continue;
    if (FromEpochSeconds(a.value("pollAt", 0.0)) > now) continue;
    // The lock is released around the provider call: the record is read afresh on the next step.
    PollAction(pipeline, runtime, execution, i);
    return true;
  }
  const Document* stage_declaration = StageDeclaration(*declaration, stage);
  const Document stage_actions =
      stage_declaration ? stage_declaration->value("actions", Document::array()) : Document::array();
  std::map<std::string, size_t> latest = LatestOf(execution, stage);
  bool in_progress = false, failed = false;
  int group = -1;  // the runOrder started last: its other actions start too, one per step
  for (const auto& [name, index] : latest) {
    std::string status = execution["actions"][index].value("status", "");
    if (status == "InProgress") in_progress = true;
    if (status == "Failed" || status == "Abandoned") failed = true;
    group = std::max(group, execution["actions"][index].value("runOrder", 1));
  }
  if (execution["status"] != "Stopping") {
    for (const Document& action : stage_actions) {
      if (action.value("runOrder", 1) != group || latest.count(action.value("name", ""))) continue;
      StartAction(pipeline, runtime, execution, stage, action);
      return true;
    }
  }
  if (in_progress) return changed;
  if (execution["status"] == "Stopping") {
    execution["stages"][stage]["status"] = "Stopped";
    execution["stages"][stage]["endTime"] = Seconds(now);
    if (!Persist(pipeline, runtime, execution).ok()) return true;
    Emit(pipeline, kStageStateChange,
         StageDetail(execution, execution["stages"][stage].value("name", ""), "STOPPED"));
    Finish(pipeline, runtime, execution, "Stopped", "STOPPED");
    return true;
  }
  if (failed) {
    StageFailed(pipeline, runtime, execution, stage);
    return true;
  }
  int next_order = -1;
  for (const Document& action : stage_actions) {
    auto it = latest.find(action.value("name", ""));
    if (it != latest.end() && execution["actions"][it->second].value("status", "") == "Succeeded") continue;
    int order = action.value("runOrder", 1);
    if (next_order < 0 || order < next_order) next_order = order;
  }
  if (next_order < 0) {
    StageSucceeded(pipeline, runtime, execution, stage);
    return true;
  }
  for (const Document& action : stage_actions) {
    if (action.value("runOrder", 1) != next_order || latest.count(action.value("name", ""))) continue;
    StartAction(pipeline, runtime, execution, stage, action);
    return true;
  }
  return changed;
}

bool ExecutionEngine::CanEnter(const PipelineRef& pipeline, Runtime& runtime, const Document& record,
                               const Document& execution, size_t stage) {
  const Document& stages = execution["stages"];
  std::string name = stages[stage].value("name", "");
  bool retrying = execution["current"].contains("retryMode");
  if (!retrying) {
    if (!TransitionEnabled(record, TransitionKey(name, "Inbound"))) return false;
    if (stage > 0 && !TransitionEnabled(record, TransitionKey(stages[stage - 1].value("name", ""), "Outbound"))) {
      return false;
    }
  }
  std::string mode = execution.value("executionMode", "SUPERSEDED");
  if (mode == "PARALLEL") return true;
  std::string self = execution.value("pipelineExecutionId", "");
  int64_t seq = execution.value("seq", int64_t{0});
  for (const auto& [id, other] : runtime.active) {
    if (id == self) continue;
    if (Running(other, stage) && other.value("executionMode", "") != "PARALLEL") return false;
    if (mode == "QUEUED" && Waiting(other, stage) && other.value("seq", int64_t{0}) < seq) return false;
  }
  return true;
}

void ExecutionEngine::EnterStage(const PipelineRef& pipeline, Runtime& runtime, Document& execution, size_t stage) {
  Document& s = execution["stages"][stage];
  Document& current = execution["current"];
  std::string retry_mode = current.value("retryMode", "");
  Document latest = Document::object();
  if (retry_mode == "FAILED_ACTIONS") {
    for (const auto& [name, index] : LatestOf(execution, stage)) {
      if (execution["actions"][index].value("status", "") == "Succeeded") latest[name] = s["latest"][name];
    }
  }
  s["latest"] = latest;
  s["attempt"] = s.value("attempt", 0) + 1;
  s["status"] = "InProgress";
  s["startTime"] = Seconds(deps_.clock->Now());
  s.erase("endTime");
  current = {{"stage", stage}, {"state", "running"}};
  execution["lastUpdateTime"] = Seconds(deps_.clock->Now());
  if (!Persist(pipeline, runtime, execution).ok()) return;
  Emit(pipeline, kStageStateChange, StageDetail(execution, s.value("name", ""), retry_mode.empty() ? "STARTED" : "RESUMED"));
}

ActionProvider* ExecutionEngine::ProviderOf(const Document& action_declaration) const {
  return deps_.registry->Find(action_declaration.value("actionTypeId", Document::object()));
}

StatusOr<aws::Principal> ExecutionEngine::RolePrincipal(const std::string& role_arn, const PipelineRef& pipeline) {
  std::string pipeline_arn = PipelineArn(pipeline.region, pipeline.account, pipeline.name);
  TimePoint now = deps_.clock->Now();
  {
    std::lock_guard lock(roles_mu_);
    auto it = roles_.find(role_arn);
    if (it != roles_.end() && it->second.expiration - now > kRoleRefreshMargin) {
      aws::Principal principal = it->second.principal;
      principal.source_arn = pipeline_arn;
      return principal;
    }
  }
  if (!deps_.client) return Status::FailedPrecondition("no client to assume " + role_arn);
  Document input = {{"RoleArn", role_arn}, {"RoleSessionName", "AWSCodePipeline-" + pipeline.name.substr(0, 40)}};
  auto assumed = deps_.client->Call(ServicePrincipal(pipeline.account), "sts", "AssumeRole", input, pipeline.region);
  if (!assumed.ok()) {
    return Status::PermissionDenied("CodePipeline is not authorized to perform AssumeRole on role " + role_arn + ": " +
                                    assumed.status().message());
  }
  RoleSession session;
  session.principal.account_id = pipeline.account;
  if (auto arn = Arn::Parse(role_arn)) session.principal.account_id = arn->account;
  session.principal.arn = (*assumed)["AssumedRoleUser"].value("Arn", "");
  session.principal.user_id = (*assumed)["AssumedRoleUser"].value("AssumedRoleId", "");
  session.principal.access_key_id = (*assumed)["Credentials"].value("AccessKeyId", "");
  session.principal.service = std::string(kServicePrincipal);
  const Document& expiration = (*assumed)["Credentials"]["Expiration"];
  session.expiration = expiration.is_number() ? FromEpochSeconds(expiration.get<double>()) : now + std::chrono::hours(1);
  aws::Principal principal = session.principal;
  {
    std::lock_guard lock(roles_mu_);
    roles_[role_arn] = std::move(session);
  }
  principal.source_arn = pipeline_arn;
  return principal;
}

StatusOr<ActionContext> ExecutionEngine::Context(const PipelineRef& pipeline, const Document& declaration,
                                                 const Document& execution, const Document& action,
                                                 const Document& action_declaration) {
  ActionContext ctx;
  ctx.account_id = pipeline.account;
  ctx.region = action_declaration.value("region", pipeline.region);
  ctx.pipeline_name = pipeline.name;
  ctx.pipeline_arn = PipelineArn(pipeline.region, pipeline.account, pipeline.name);
  ctx.pipeline_version = execution.value("pipelineVersion", 1);
  ctx.execution_id = execution.value("pipelineExecutionId", "");
  ctx.stage_name = action.value("stageName", "");
  ctx.action_name = action.value("actionName", "");
  ctx.action_execution_id = action.value("actionExecutionId", "");
  ctx.declaration = action_declaration;
  ctx.declaration["configuration"] = action["input"].value("resolvedConfiguration", Document::object());
  for (const Document& in : action["input"].value("inputArtifacts", Document::array())) {
    ctx.inputs.push_back({in.value("name", ""), in["s3location"].value("bucket", ""), in["s3location"].value("key", "")});
  }
  for (const Document& out : action_declaration.value("outputArtifacts", Document::array())) {
    ctx.output_names.push_back(out.value("name", ""));
  }
  ctx.artifact_bucket = ArtifactStoreFor(declaration, ctx.region).value("location", "");
  std::string pipeline_name = pipeline.name, bucket = ctx.artifact_bucket;
  IdSource* ids = deps_.ids;
  ctx.new_output_location = [pipeline_name, bucket, ids](const std::string& artifact) {
    return ArtifactLocation{artifact, bucket,
                            pipeline_name + "/" + artifact.substr(0, 20) + "/" + ids->FromAlphabet(7, kAlphanumeric)};
  };
  for (const Document& o : execution.value("sourceRevisionOverrides", Document::array())) {
    if (o.value("actionName", "") == ctx.action_name) ctx.source_revision_override = o;
  }
  std::string role = action_declaration.value("roleArn", declaration.value("roleArn", ""));
  GANTRY_ASSIGN_OR_RETURN(ctx.principal, RolePrincipal(role, pipeline));
  ctx.role_arn = role;
  ctx.client = deps_.client;
  ctx.clock = deps_.clock;
  ctx.ids = deps_.ids;
  ctx.endpoint = deps_.endpoint ? deps_.endpoint() : "";
  ctx.state = action.value("state", Document());
  ctx.delivered = action.value("delivered", Document());
  ctx.approval_token = action.value("token", "");
  return ctx;
}

void ExecutionEngine::StartAction(const PipelineRef& pipeline, Runtime& runtime, Document& execution, size_t stage,
                                  const Document& action_declaration) {
  auto declared = Declaration(pipeline, runtime, execution.value("pipelineVersion", 1));
  if (!declared.ok()) return;
  const Document declaration = *declared;
  TimePoint now = deps_.clock->Now();
  std::string id = deps_.ids->Uuid();
  std::string name = action_declaration.value("name", "");
  Document values = execution.value("namespaces", Document::object());
  Document variables = Document::object();
  for (const Document& v : execution.value("variables", Document::array())) {
    variables[v.value("name", "")] = v.value("resolvedValue", "");
  }
  values["variables"] = variables;
  values["codepipeline"] = {{"PipelineExecutionId", execution.value("pipelineExecutionId", "")}};
  const Document& configuration = action_declaration.value("configuration", Document::object());
  auto resolved = ResolveConfiguration(configuration, values);

  Document input = {{"actionTypeId", action_declaration["actionTypeId"]},
                    {"configuration", configuration},
                    {"resolvedConfiguration", resolved.ok() ? *resolved : configuration},
                    {"region", action_declaration.value("region", pipeline.region)},
                    {"inputArtifacts", Document::array()}};
  if (action_declaration.contains("namespace")) input["namespace"] = action_declaration["namespace"];
  if (action_declaration.contains("roleArn")) input["roleArn"] = action_declaration["roleArn"];
  const Document& artifacts = execution.value("artifacts", Document::object());
  for (const Document& in : action_declaration.value("inputArtifacts", Document::array())) {
    std::string artifact = in.value("name", "");
    Document location = artifacts.contains(artifact) ? artifacts[artifact] : Document::object();
    input["inputArtifacts"].push_back({{"name", artifact}, {"s3location", location}});
  }
  Document action = {{"actionExecutionId", id},
                     {"stageName", execution["stages"][stage].value("name", "")},
                     {"actionName", name},
                     {"stageIndex", stage},
                     {"runOrder", action_declaration.value("runOrder", 1)},
                     {"status", "InProgress"},
                     {"startTime", Seconds(now)},
                     {"lastUpdateTime", Seconds(now)},
                     {"pollAt", Seconds(now)},
                     {"input", input},
                     {"output", Document::object()},
                     {"state", nullptr}};
  if (action_declaration["actionTypeId"].value("category", "") == "Approval") action["token"] = deps_.ids->Uuid();
  execution["actions"].push_back(action);
  execution["stages"][stage]["latest"][name] = id;
  execution["lastUpdateTime"] = Seconds(now);
  size_t index = execution["actions"].size() - 1;
  // The start is on record before the provider is called.
  if (!Persist(pipeline, runtime, execution).ok()) return;
  Emit(pipeline, kActionStateChange, ActionDetail(execution, execution["actions"][index], "STARTED"));

  ActionProvider* provider = ProviderOf(action_declaration);
  if (!resolved.ok()) {
    Settle(pipeline, runtime, execution, id, ActionResult::Failed("JobFailed", resolved.status().message()));
  } else if (!provider) {
    Settle(pipeline, runtime, execution, id,
           ActionResult::Failed("JobFailed", "The action type of action " + name + " is not available"));
  } else {
    CallProvider(pipeline, runtime, declaration, execution, index, action_declaration, *provider, true);
  }
}

void ExecutionEngine::PollAction(const PipelineRef& pipeline, Runtime& runtime, Document& execution, size_t index) {
  auto declared = Declaration(pipeline, runtime, execution.value("pipelineVersion", 1));
  const Document declaration = declared.ok() ? *declared : Document::object();
  const Document action = execution["actions"][index];
  const Document* action_declaration = ActionDeclaration(declaration, action);
  ActionProvider* provider = action_declaration ? ProviderOf(*action_declaration) : nullptr;
  if (!provider) {
    Settle(pipeline, runtime, execution, action.value("actionExecutionId", ""),
           ActionResult::Failed("JobFailed", "The action type of action " + action.value("actionName", "") +
                                                 " is not available"));
    return;
  }
  CallProvider(pipeline, runtime, declaration, execution, index, *action_declaration, *provider, false);
}

void ExecutionEngine::CallProvider(const PipelineRef& pipeline, Runtime& runtime, const Document& declaration,
                                   const Document& execution, size_t index, const Document& action_declaration,
                                   ActionProvider& provider, bool start) {
  // Copies: the record may change (stop, approval, deletion) while the lock is released.
  const Document snapshot = execution;
  const std::string action_id = snapshot["actions"][index].value("actionExecutionId", "");
  ActionResult result;
  std::optional<ActionContext> ctx;
  {
    Unlocked unlocked(runtime.mu);
    auto made = Context(pipeline, declaration, snapshot, snapshot["actions"][index], action_declaration);
    if (made.ok()) {
      ctx = std::move(*made);
      result = start ? provider.Start(*ctx) : provider.Poll(*ctx);
    } else {
      result = ActionResult::Failed("JobFailed", made.status().message());
    }
  }
  auto it = runtime.active.find(snapshot.value("pipelineExecutionId", ""));
  if (it != runtime.active.end()) {
    Document current = it->second;
    if (Settle(pipeline, runtime, current, action_id, result, snapshot["actions"][index].contains("delivered"))) return;
  }
  // The execution or the action ended meanwhile (abandoned, superseded, deleted): work the
  // provider still runs is asked to stop.
  if (ctx && result.status == ActionStatus::kInProgress) {
    ctx->state = result.state;
    Unlocked unlocked(runtime.mu);
    provider.Stop(*ctx);
  }
}

bool ExecutionEngine::Settle(const PipelineRef& pipeline, Runtime& runtime, Document& execution,
                             const std::string& action_execution_id, const ActionResult& result,
                             bool delivered_seen) {
  size_t index = execution["actions"].size();
  for (size_t i = 0; i < execution["actions"].size(); ++i) {
    if (execution["actions"][i].value("actionExecutionId", "") == action_execution_id) index = i;
  }
  if (index == execution["actions"].size() || execution["actions"][index].value("status", "") != "InProgress") {
    return false;
  }
  Apply(pipeline, execution, index, result);
  // A result PutApprovalResult delivered while the provider ran is looked at at once.
  Document& action = execution["actions"][index];
  if (result.status == ActionStatus::kInProgress && action.contains("delivered") && !delivered_seen) {
    action["pollAt"] = Seconds(deps_.clock->Now());
  }
  if (!Persist(pipeline, runtime, execution).ok()) return true;
  std::string status = execution["actions"][index].value("status", "");
  if (status != "InProgress") {
    Emit(pipeline, kActionStateChange, ActionDetail(execution, execution["actions"][index], EventState(status)));
  }
  return true;
}

void ExecutionEngine::Apply(const PipelineRef& pipeline, Document& execution, size_t index, const ActionResult& result) {
  TimePoint now = deps_.clock->Now();
  Document& action = execution["actions"][index];
  action["state"] = result.state;
  action["status"] = StatusName(result.status);
  action["lastUpdateTime"] = Seconds(now);
  if (!result.summary.empty()) action["summary"] = result.summary;
  if (!result.external_execution_id.empty()) action["externalExecutionId"] = result.external_execution_id;
  if (!result.external_execution_url.empty()) action["externalExecutionUrl"] = result.external_execution_url;
  if (result.status == ActionStatus::kInProgress) {
    action["pollAt"] = Seconds(now + result.poll_after);
    return;
  }
  action.erase("pollAt");
  Document execution_result = Document::object();
  if (action.contains("externalExecutionId")) execution_result["externalExecutionId"] = action["externalExecutionId"];
  if (action.contains("summary")) execution_result["externalExecutionSummary"] = action["summary"];
  if (action.contains("externalExecutionUrl")) execution_result["externalExecutionUrl"] = action["externalExecutionUrl"];
  Document output = {{"outputArtifacts", Document::array()}, {"executionResult", execution_result}};
  if (result.status == ActionStatus::kFailed) {
    Document error = {{"code", result.error_code.empty() ? "JobFailed" : result.error_code},
                      {"message", result.summary.empty() ? "The action failed" : result.summary}};
    action["errorDetails"] = error;
    output["executionResult"]["errorDetails"] = error;
  }
  if (result.status == ActionStatus::kSucceeded) {
    for (const ArtifactLocation& out : result.outputs) {
      Document location = {{"bucket", out.bucket}, {"key", out.key}};
      execution["artifacts"][out.name] = location;
      output["outputArtifacts"].push_back({{"name", out.name}, {"s3location", location}});
    }
    if (!result.output_variables.empty()) {
      Document variables = Document::object();
      for (const auto& [k, v] : result.output_variables) variables[k] = v;
      output["outputVariables"] = variables;
      std::string ns = action["input"].value("namespace", "");
      if (!ns.empty()) execution["namespaces"][ns] = variables;
    }
    if (result.revision) {
      const SourceRevision& r = *result.revision;
      Document artifact_revision = {{"revisionId", r.revision_id}};
      if (!result.outputs.empty()) artifact_revision["name"] = result.outputs[0].name;
      if (!r.revision_summary.empty()) artifact_revision["revisionSummary"] = r.revision_summary;
      if (!r.revision_url.empty()) artifact_revision["revisionUrl"] = r.revision_url;
      if (r.created) artifact_revision["created"] = Seconds(*r.created);
      execution["artifactRevisions"].push_back(artifact_revision);
      Document source_revision = {{"actionName", action.value("actionName", "")}, {"revisionId", r.revision_id}};
      if (!r.revision_summary.empty()) source_revision["revisionSummary"] = r.revision_summary;
      if (!r.revision_url.empty()) source_revision["revisionUrl"] = r.revision_url;
      execution["sourceRevisions"].push_back(source_revision);
      action["currentRevision"] = {{"revisionId", r.revision_id},
                                   {"revisionChangeId", r.revision_id},
                                   {"created", Seconds(r.created.value_or(now))}};
      // A revision an override asked for is not the newest one at the location: polling keeps its own.
      bool overridden = false;
      for (const Document& o : execution.value("sourceRevisionOverrides", Document::array())) {
        overridden = overridden || o.value("actionName", "") == action.value("actionName", "");
      }
      if (!overridden) {
        auto written = deps_.store->Put(kSourceRevisionTable, pipeline.scope(),
                                        pipeline.name + "/" + action.value("actionName", ""),
                                        Document{{"revisionId", r.revision_id}});
        if (!written.ok()) GANTRY_LOG(kWarn, "codepipeline: source revision not recorded: " << written.status().ToString());
      }
    }
  }
  action["output"] = output;
  execution["lastUpdateTime"] = Seconds(now);
}

void ExecutionEngine::StageSucceeded(const PipelineRef& pipeline, Runtime& runtime, Document& execution, size_t stage) {
  TimePoint now = deps_.clock->Now();
  Document& s = execution["stages"][stage];
  s["status"] = "Succeeded";
  s["endTime"] = Seconds(now);
  std::string name = s.value("name", "");
  bool last = stage + 1 >= execution["stages"].size() || execution.value("lastStageOnly", false);
  if (last) {
    execution["current"] = {{"stage", stage}, {"state", "done"}};
    if (!Persist(pipeline, runtime, execution).ok()) return;
    Emit(pipeline, kStageStateChange, StageDetail(execution, name, "SUCCEEDED"));
    Finish(pipeline, runtime, execution, "Succeeded", "SUCCEEDED");
    return;
  }
  execution["current"] = {{"stage", stage + 1}, {"state", "waiting"}};
  execution["lastUpdateTime"] = Seconds(now);
  if (!Persist(pipeline, runtime, execution).ok()) return;
  Emit(pipeline, kStageStateChange, StageDetail(execution, name, "SUCCEEDED"));
}

void ExecutionEngine::StageFailed(const PipelineRef& pipeline, Runtime& runtime, Document& execution, size_t stage) {
  TimePoint now = deps_.clock->Now();
  auto declared = Declaration(pipeline, runtime, execution.value("pipelineVersion", 1));
  const Document* stage_declaration = declared.ok() ? StageDeclaration(*declared, stage) : nullptr;
  const Document on_failure =
      stage_declaration ? stage_declaration->value("onFailure", Document::object()) : Document::object();
  Document& s = execution["stages"][stage];
  s["status"] = "Failed";
  s["endTime"] = Seconds(now);
  std::string name = s.value("name", "");
  std::string result = on_failure.value("result", "FAIL");
  if (result == "RETRY" && s.value("autoRetries", 0) < 1) {
    s["autoRetries"] = s.value("autoRetries", 0) + 1;
    s["retryStageMetadata"] = {{"autoStageRetryAttempt", s["autoRetries"]},
                               {"latestRetryTrigger", "AutomatedStageRetry"}};
    std::string mode = on_failure.value("retryConfiguration", Document::object()).value("retryMode", "FAILED_ACTIONS");
    execution["current"] = {{"stage", stage}, {"state", "waiting"}, {"retryMode", mode}};
    execution["lastUpdateTime"] = Seconds(now);
    if (!Persist(pipeline, runtime, execution).ok()) return;
    Emit(pipeline, kStageStateChange, StageDetail(execution, name, "FAILED"));
    return;
  }
  execution["current"] = {{"stage", stage}, {"state", "done"}};
  // The failed action's summary is the execution's.
  for (const auto& [action_name, index] : LatestOf(execution, stage)) {
    const Document& a = execution["actions"][index];
    if (a.value("status", "") == "Failed") {
      execution["statusSummary"] = a.value("errorDetails", Document::object()).value("message", "");
      break;
    }
  }
  if (!Persist(pipeline, runtime, execution).ok()) return;
  Emit(pipeline, kStageStateChange, StageDetail(execution, name, "FAILED"));
  if (!Finish(pipeline, runtime, execution, "Failed", "FAILED")) return;
  if (result != "ROLLBACK" || execution.value("executionType", "") == "ROLLBACK") return;
  // Roll the stage back to the newest execution that succeeded in it.
  std::string failed_id = execution.value("pipelineExecutionId", "");
  std::optional<Document> target = Pointed(pipeline, Latest(pipeline), "succeeded", name);
  if (target && (*target)["pipelineExecutionId"] != failed_id) {
    const Document& earlier = *target;
    auto record = LoadPipeline(pipeline);
    if (!record.ok()) return;
    Document rollback = NewExecution(pipeline, *record, {{"triggerType", "AutomatedRollback"}, {"triggerDetail", failed_id}});
    rollback["executionType"] = "ROLLBACK";
    rollback["rollbackMetadata"] = {{"rollbackTargetPipelineExecutionId", earlier["pipelineExecutionId"]}};
    for (const char* member : {"artifacts", "namespaces", "variables", "artifactRevisions", "sourceRevisions"}) {
      rollback[member] = earlier.value(member, Document());
    }
    rollback["current"] = {{"stage", stage}, {"state", "waiting"}};
    rollback["lastStageOnly"] = true;
    auto created = CreateExecution(pipeline, runtime, std::move(rollback), "");
    if (!created.ok()) GANTRY_LOG(kWarn, "codepipeline: rollback not started: " << created.status().ToString());
  }
}

bool ExecutionEngine::Finish(const PipelineRef& pipeline, Runtime& runtime, Document& execution,
                             const std::string& status, const std::string& event_state) {
  execution["status"] = status;
  execution["current"]["state"] = "done";
  execution["lastUpdateTime"] = Seconds(deps_.clock->Now());
  if (status == "Superseded") execution["statusSummary"] = "Superseded by a newer execution";
  if (!Persist(pipeline, runtime, execution).ok()) return false;
  Emit(pipeline, kPipelineStateChange, PipelineDetail(execution, event_state));
  return true;
}

Document ExecutionEngine::NewExecution(const PipelineRef& pipeline, const Document& record, const Document& trigger) {
  const Document& declaration = record["pipeline"];
  TimePoint now = deps_.clock->Now();
  Document stages = Document::array();
  for (const Document& s : declaration["stages"]) {
    stages.push_back({{"name", s.value("name", "")}, {"attempt", 0}, {"latest", Document::object()}});
  }
  return {{"pipelineName", pipeline.name},
          {"pipelineVersion", declaration.value("version", 1)},
          {"pipelineExecutionId", deps_.ids->Uuid()},
          {"account", pipeline.account},
          {"region", pipeline.region},
          {"status", "InProgress"},
          {"startTime", Seconds(now)},
          {"lastUpdateTime", Seconds(now)},
          {"trigger", trigger},
          {"executionMode", declaration.value("executionMode", "SUPERSEDED")},
          {"executionType", "STANDARD"},
          {"attempt", 1},
          {"variables", Document::array()},
          {"artifactRevisions", Document::array()},
          {"sourceRevisions", Document::array()},
          {"artifacts", Document::object()},
          {"namespaces", Document::object()},
          {"stages", stages},
          {"actions", Document::array()},
          {"current", {{"stage", 0}, {"state", "waiting"}}}};
}

StatusOr<std::string> ExecutionEngine::CreateExecution(const PipelineRef& pipeline, Runtime& runtime, Document execution,
                                                       const std::string& client_request_token) {
  GANTRY_ASSIGN_OR_RETURN(int64_t seq, deps_.store->NextSequence("codepipeline.execution"));
  execution["seq"] = seq;
  std::string id = execution["pipelineExecutionId"];
  // The declaration the execution runs, cached before anything can change it.
  GANTRY_RETURN_IF_ERROR(Declaration(pipeline, runtime, execution.value("pipelineVersion", 1)).status());
  GANTRY_RETURN_IF_ERROR(deps_.store->Transact([&](store::Transaction& txn) -> Status {
    // The execution's number in its pipeline orders the listing; the oldest beyond the cap goes.
    GANTRY_ASSIGN_OR_RETURN(auto found, txn.Get(kLatestTable, pipeline.scope(), pipeline.name));
    Document latest = found ? found->doc : Document::object();
    int64_t number = latest.value("count", int64_t{0}) + 1;
    latest["count"] = number;
    execution["number"] = number;
    UpdateLatest(latest, execution);
    GANTRY_RETURN_IF_ERROR(txn.Put(kLatestTable, pipeline.scope(), pipeline.name, latest).status());
    GANTRY_RETURN_IF_ERROR(txn.Put(kExecutionOrderTable, pipeline.scope(), ExecutionOrderKey(pipeline.name, number),
                                   Document{{"id", id}})
                               .status());
    if (number > kMaxExecutionsPerPipeline) {
      std::string oldest = ExecutionOrderKey(pipeline.name, number - kMaxExecutionsPerPipeline);
      GANTRY_ASSIGN_OR_RETURN(auto entry, txn.Get(kExecutionOrderTable, pipeline.scope(), oldest));
      if (entry) {
        std::string key = ExecutionKey(pipeline.name, entry->doc.value("id", ""));
        GANTRY_ASSIGN_OR_RETURN(auto old, txn.Get(kExecutionTable, pipeline.scope(), key));
        if (old && !IsActive(old->doc)) {
          GANTRY_RETURN_IF_ERROR(txn.Delete(kExecutionTable, pipeline.scope(), key).status());
          GANTRY_RETURN_IF_ERROR(txn.Delete(kExecutionOrderTable, pipeline.scope(), oldest).status());
        }
      }
    }
    GANTRY_RETURN_IF_ERROR(
        txn.Create(kExecutionTable, pipeline.scope(), ExecutionKey(pipeline.name, id), execution).status());
    GANTRY_RETURN_IF_ERROR(txn.Put(kIndexTable, kIndexScope,
                                   ActiveIndexKey(pipeline.account, pipeline.region, pipeline.name, id),
                                   Document{{"id", id}})
                               .status());
    if (!client_request_token.empty()) {
      GANTRY_RETURN_IF_ERROR(txn.Put(kRequestTokenTable, pipeline.scope(), pipeline.name + "/" + client_request_token,
                                     Document{{"id", id}})
                                 .status());
    }
    return Status::Ok();
  }));
  runtime.active[id] = execution;
  Emit(pipeline, kPipelineStateChange, PipelineDetail(execution, "STARTED"));
  {
    std::lock_guard lock(mu_);
    runtime.dirty = true;
  }
  wake_.notify_one();
  return id;
}

StatusOr<std::string> ExecutionEngine::StartExecution(const StartRequest& request) {
  const PipelineRef& pipeline = request.pipeline;
  std::shared_ptr<Runtime> runtime = RuntimeFor(pipeline);
  std::lock_guard lock(runtime->mu);
  GANTRY_ASSIGN_OR_RETURN(Document record, LoadPipeline(pipeline));
  if (!request.client_request_token.empty()) {
    GANTRY_ASSIGN_OR_RETURN(auto earlier, deps_.store->Get(kRequestTokenTable, pipeline.scope(),
                                                           pipeline.name + "/" + request.client_request_token));
    if (earlier) return earlier->doc.value("id", "");
  }
  const Document& declaration = record["pipeline"];
  Document variables = Document::array();
  std::map<std::string, std::string> given;
  for (const Document& v : request.variables) {
    std::string name = v.value("name", "");
    bool declared = false;
    for (const Document& d : declaration.value("variables", Document::array())) declared |= d.value("name", "") == name;
    if (!declared) {
      return Status::InvalidArgument("Pipeline variable " + name + " is not declared in pipeline " + pipeline.name,
                                     "ValidationException");
    }
    if (!given.emplace(name, v.value("value", "")).second) {
      return Status::InvalidArgument("Pipeline variable " + name + " is given more than once", "ValidationException");
    }
  }
  for (const Document& d : declaration.value("variables", Document::array())) {
    std::string name = d.value("name", "");
    auto it = given.find(name);
    if (it == given.end() && !d.contains("defaultValue")) {
      return Status::InvalidArgument("Pipeline variable " + name + " has no default value and no value was given",
                                     "ValidationException");
    }
    variables.push_back({{"name", name}, {"resolvedValue", it != given.end() ? it->second : d.value("defaultValue", "")}});
  }
  for (const Document& o : request.source_revisions) {
    bool found = false;
    for (const Document& a : declaration["stages"][0]["actions"]) found |= a.value("name", "") == o.value("actionName", "");
    if (!found) {
      return Status::InvalidArgument("Source revision override names action " + o.value("actionName", "") +
                                         ", which is not a source action of pipeline " + pipeline.name,
                                     "ValidationException");
    }
  }
  Document execution = NewExecution(pipeline, record, request.trigger);
  execution["variables"] = variables;
  if (!request.source_revisions.empty()) execution["sourceRevisionOverrides"] = request.source_revisions;
  return CreateExecution(pipeline, *runtime, std::move(execution), request.client_request_token);
}

std::vector<size_t> ExecutionEngine::StopWork(const PipelineRef& pipeline, Runtime& runtime, Document& execution,
                                              bool abandon) {
  std::vector<size_t> abandoned_actions;
  auto declared = Declaration(pipeline, runtime, execution.value("pipelineVersion", 1));
  const Document declaration = declared.ok() ? *declared : Document::object();
  for (size_t i = 0; i < execution["actions"].size(); ++i) {
    Document& action = execution["actions"][i];
    if (action.value("status", "") != "InProgress") continue;
    // Stop and wait lets in-progress actions complete; only abandoned ones have their work stopped.
    if (!abandon) {
      action["stopAsked"] = true;
      continue;
    }
    // An action whose provider is still starting has no state yet: CallProvider stops that work
    // once Start returns and the action is found ended.
    const Document* stage_declaration = action.value("state", Document()).is_null()
                                            ? nullptr
                                            : StageDeclaration(declaration, action.value("stageIndex", size_t{0}));
    for (const Document& a : stage_declaration ? (*stage_declaration)["actions"] : Document::array()) {
      if (a.value("name", "") != action.value("actionName", "")) continue;
      if (ActionProvider* provider = ProviderOf(a)) {
        auto ctx = Context(pipeline, declaration, execution, action, a);
        if (ctx.ok()) provider->Stop(*ctx);
      }
    }
    ActionResult abandoned;
    abandoned.status = ActionStatus::kAbandoned;
    abandoned.state = action.value("state", Document());
    abandoned.summary = "Abandoned by StopPipelineExecution";
    Apply(pipeline, execution, i, abandoned);
    abandoned_actions.push_back(i);
  }
  return abandoned_actions;
}

Status ExecutionEngine::StopExecution(const PipelineRef& pipeline, const std::string& id, bool abandon,
                                      const std::string& reason) {
  std::shared_ptr<Runtime> runtime = RuntimeFor(pipeline);
  std::lock_guard lock(runtime->mu);
  GANTRY_RETURN_IF_ERROR(LoadPipeline(pipeline).status());
  auto it = runtime->active.find(id);
  if (it == runtime->active.end()) {
    GANTRY_ASSIGN_OR_RETURN(auto found,
                            deps_.store->Get(kExecutionTable, pipeline.scope(), ExecutionKey(pipeline.name, id)));
    if (!found) {
      return Status::NotFound("Pipeline execution " + id + " does not exist in pipeline " + pipeline.name,
                              "PipelineExecutionNotFoundException");
    }
    return Status::FailedPrecondition("Unable to stop pipeline execution " + id + " because it is " +
                                          found->doc.value("status", "") + ". Only executions in progress can be stopped.",
                                      "PipelineExecutionNotStoppableException");
  }
  Document execution = it->second;
  if (execution["status"] == "Stopping" && !abandon) {
    return Status::Conflict("Pipeline execution " + id + " is already stopping; only a stop and abandon can follow",
                            "DuplicatedStopRequestException");
  }
  GANTRY_RETURN_IF_ERROR(Declaration(pipeline, *runtime, execution.value("pipelineVersion", 1)).status());
  if (!reason.empty()) execution["stopTrigger"] = {{"reason", reason}};
  execution["abandon"] = abandon;
  size_t stage = execution["current"].value("stage", size_t{0});
  bool running = execution["current"].value("state", "") == "running";
  bool was_stopping = execution["status"] == "Stopping";
  std::vector<size_t> abandoned = StopWork(pipeline, *runtime, execution, abandon);
  if (!was_stopping) {
    execution["status"] = "Stopping";
    if (running) execution["stages"][stage]["status"] = "Stopping";
  }
  execution["lastUpdateTime"] = Seconds(deps_.clock->Now());
  GANTRY_RETURN_IF_ERROR(Persist(pipeline, *runtime, execution));
  if (!was_stopping) {
    Emit(pipeline, kPipelineStateChange, PipelineDetail(execution, "STOPPING"));
    if (running) {
      Emit(pipeline, kStageStateChange, StageDetail(execution, execution["stages"][stage].value("name", ""), "STOPPING"));
    }
  }
  for (size_t i : abandoned) Emit(pipeline, kActionStateChange, ActionDetail(execution, execution["actions"][i], "ABANDONED"));
  {
    std::lock_guard wake_lock(mu_);
    runtime->dirty = true;
  }
  wake_.notify_one();
  return Status::Ok();
}

StatusOr<TimePoint> ExecutionEngine::PutApprovalResult(const PipelineRef& pipeline, const std::string& stage,
                                                       const std::string& action_name, const std::string& token,
                                                       const Document& result, const std::string& approved_by) {
  std::shared_ptr<Runtime> runtime = RuntimeFor(pipeline);
  std::lock_guard lock(runtime->mu);
  TimePoint now = deps_.clock->Now();
  for (auto& [id, e] : runtime->active) {
    for (size_t i = 0; i < e["actions"].size(); ++i) {
      const Document& a = e["actions"][i];
      if (a.value("stageName", "") != stage || a.value("actionName", "") != action_name || a.value("token", "") != token) {
        continue;
      }
      if (a.value("status", "") != "InProgress" || a.contains("delivered")) {
        return Status::FailedPrecondition("The approval request has already been completed",
                                          "ApprovalAlreadyCompletedException");
      }
      Document execution = e;
      execution["actions"][i]["delivered"] = {{"status", result.value("status", "")},
                                              {"summary", result.value("summary", "")},
                                              {"approvedBy", approved_by}};
      execution["actions"][i]["updatedBy"] = approved_by;
      execution["actions"][i]["pollAt"] = Seconds(now);
      GANTRY_RETURN_IF_ERROR(Persist(pipeline, *runtime, execution));
      {
        std::lock_guard wake_lock(mu_);
        runtime->dirty = true;
      }
      wake_.notify_one();
      return now;
    }
  }
  // The action's latest execution, ended: its token is spent.
  if (std::optional<Document> e = Pointed(pipeline, Latest(pipeline), "actions", stage + "/" + action_name)) {
    for (const Document& a : (*e)["actions"]) {
      if (a.value("stageName", "") == stage && a.value("actionName", "") == action_name && a.value("token", "") == token) {
        return Status::FailedPrecondition("The approval request has already been completed",
                                          "ApprovalAlreadyCompletedException");
      }
    }
  }
  return Status::InvalidArgument("The approval token " + token + " is not valid for action " + action_name +
                                     " in stage " + stage,
                                 "InvalidApprovalTokenException");
}

StatusOr<std::string> ExecutionEngine::RetryStage(const PipelineRef& pipeline, const std::string& stage_name,
                                                  const std::string& id, const std::string& mode) {
  std::shared_ptr<Runtime> runtime = RuntimeFor(pipeline);
  std::lock_guard lock(runtime->mu);
  GANTRY_RETURN_IF_ERROR(LoadPipeline(pipeline).status());
  GANTRY_ASSIGN_OR_RETURN(auto found, deps_.store->Get(kExecutionTable, pipeline.scope(), ExecutionKey(pipeline.name, id)));
  if (!found) {
    return Status::NotFound("Pipeline execution " + id + " does not exist in pipeline " + pipeline.name,
                            "PipelineExecutionNotFoundException");
  }
  Document execution = found->doc;
  size_t stage = execution["stages"].size();
  for (size_t i = 0; i < execution["stages"].size(); ++i) {
    if (execution["stages"][i].value("name", "") == stage_name) stage = i;
  }
  if (stage == execution["stages"].size()) {
    return Status::NotFound("Stage " + stage_name + " not found in pipeline execution " + id, "StageNotFoundException");
  }
  if (IsActive(execution)) {
    return Status::FailedPrecondition("Stage " + stage_name + " cannot be retried: pipeline execution " + id +
                                          " is still in progress",
                                      "StageNotRetryableException");
  }
  std::string stage_status = execution["stages"][stage].value("status", "");
  if (stage_status != "Failed" && stage_status != "Stopped") {
    return Status::FailedPrecondition("Stage " + stage_name + " cannot be retried: its latest execution in " + id +
                                          " is " + (stage_status.empty() ? "not started" : stage_status) +
                                          ", not Failed or Stopped",
                                      "StageNotRetryableException");
  }
  const Document latest = Latest(pipeline);
  const Document& newest = latest.value("stages", Document::object()).value(stage_name, Document::object());
  if (newest.value("seq", int64_t{0}) > execution.value("seq", int64_t{0})) {
    return Status::FailedPrecondition("Pipeline execution " + id + " is not the latest execution of stage " +
                                          stage_name + "; " + newest.value("id", "") + " is newer",
                                      "NotLatestPipelineExecutionException");
  }
  // A newer execution waiting to enter the stage would supersede or overtake the retried one.
  for (const auto& [other_id, other] : runtime->active) {
    if (Waiting(other, stage) && other.value("seq", int64_t{0}) > execution.value("seq", int64_t{0})) {
      return Status::Conflict("Stage " + stage_name + " cannot be retried: pipeline execution " + other_id +
                                  " is waiting to enter it",
                              "ConflictException");
    }
  }
  GANTRY_RETURN_IF_ERROR(Declaration(pipeline, *runtime, execution.value("pipelineVersion", 1)).status());
  Document& s = execution["stages"][stage];
  int manual = s.value("manualRetries", 0) + 1;
  s["manualRetries"] = manual;
  s["retryStageMetadata"] = {{"manualStageRetryAttempt", manual}, {"latestRetryTrigger", "ManualStageRetry"}};
  if (s.contains("autoRetries")) s["retryStageMetadata"]["autoStageRetryAttempt"] = s["autoRetries"];
  execution["status"] = "InProgress";
  execution.erase("statusSummary");
  execution.erase("stopTrigger");
  execution["attempt"] = execution.value("attempt", 1) + 1;
  execution["current"] = {{"stage", stage}, {"state", "waiting"}, {"retryMode", mode}};
  execution["lastUpdateTime"] = Seconds(deps_.clock->Now());
  GANTRY_RETURN_IF_ERROR(Persist(pipeline, *runtime, execution));
  Emit(pipeline, kPipelineStateChange, PipelineDetail(execution, "RESUMED"));
  {
    std::lock_guard wake_lock(mu_);
    runtime->dirty = true;
  }
  wake_.notify_one();
  return id;
}

StatusOr<std::string> ExecutionEngine::RollbackStage(const PipelineRef& pipeline, const std::string& stage_name,
                                                     const std::string& target_id, const std::string& caller) {
  std::shared_ptr<Runtime> runtime = RuntimeFor(pipeline);
  std::lock_guard lock(runtime->mu);
  GANTRY_ASSIGN_OR_RETURN(Document record, LoadPipeline(pipeline));
  if (record["pipeline"].value("pipelineType", "V1") != "V2") {
    return Status::FailedPrecondition("Rollback is only supported for pipelines of type V2",
                                      "UnableToRollbackStageException");
  }
  size_t stage = record["pipeline"]["stages"].size();
  for (size_t i = 0; i < record["pipeline"]["stages"].size(); ++i) {
    if (record["pipeline"]["stages"][i].value("name", "") == stage_name) stage = i;
  }
  if (stage == record["pipeline"]["stages"].size()) {
    return Status::NotFound("Stage " + stage_name + " not found in pipeline " + pipeline.name, "StageNotFoundException");
  }
  GANTRY_ASSIGN_OR_RETURN(auto found,
                          deps_.store->Get(kExecutionTable, pipeline.scope(), ExecutionKey(pipeline.name, target_id)));
  if (!found) {
    return Status::NotFound("Pipeline execution " + target_id + " does not exist in pipeline " + pipeline.name,
                            "PipelineExecutionNotFoundException");
  }
  const Document& target = found->doc;
  if (target.value("executionType", "STANDARD") != "STANDARD") {
    return Status::FailedPrecondition("Unable to roll back stage " + stage_name + " to pipeline execution " +
                                          target_id + ": only STANDARD executions can be rollback targets",
                                      "UnableToRollbackStageException");
  }
  if (stage >= target["stages"].size() || target["stages"][stage].value("name", "") != stage_name ||
      target["stages"][stage].value("status", "") != "Succeeded") {
    return Status::FailedPrecondition("Unable to roll back stage " + stage_name + " to pipeline execution " + target_id +
                                          ": the stage did not succeed in that execution",
                                      "UnableToRollbackStageException");
  }
  for (const auto& [id, other] : runtime->active) {
    if (Running(other, stage)) {
      return Status::Conflict("Stage " + stage_name + " has an execution in progress (" + id + ")",
                              "ConflictException");
    }
  }
  Document rollback = NewExecution(pipeline, record, {{"triggerType", "ManualRollback"}, {"triggerDetail", caller}});
  rollback["executionType"] = "ROLLBACK";
  rollback["rollbackMetadata"] = {{"rollbackTargetPipelineExecutionId", target_id}};
  for (const char* member : {"artifacts", "namespaces", "variables", "artifactRevisions", "sourceRevisions"}) {
    rollback[member] = target.value(member, Document());
  }
  rollback["current"] = {{"stage", stage}, {"state", "waiting"}};
  rollback["lastStageOnly"] = true;
  return CreateExecution(pipeline, *runtime, std::move(rollback), "");
}

void ExecutionEngine::Forget(const PipelineRef& pipeline) {
  std::shared_ptr<Runtime> runtime = RuntimeFor(pipeline);
  {
    std::lock_guard lock(runtime->mu);
    for (auto& [id, e] : runtime->active) {
      Document execution = e;
      if (Declaration(pipeline, *runtime, execution.value("pipelineVersion", 1)).ok()) {
        StopWork(pipeline, *runtime, execution, true);
      }
      auto removed = deps_.store->Delete(kIndexTable, kIndexScope,
                                         ActiveIndexKey(pipeline.account, pipeline.region, pipeline.name, id));
      if (!removed.ok()) GANTRY_LOG(kWarn, "codepipeline: " << removed.status().ToString());
    }
    runtime->active.clear();
    runtime->declarations.clear();
  }
  std::lock_guard lock(mu_);
  runtime->dirty = false;
  runtime->due = TimePoint::max();
  runtime.reset();
  EraseIfIdle(pipeline.key());
}

Status ExecutionEngine::Resume() {
  store::ListOptions options;
  options.prefix = "active/";
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps_.store->List(kIndexTable, kIndexScope, options));
  for (const store::Record& entry : page.records) {
    // active/<account>/<region>/<pipeline>/<id>
    std::string rest = entry.key.substr(7);
    size_t a = rest.find('/'), b = rest.find('/', a + 1), c = rest.rfind('/');
    if (a == std::string::npos || b == std::string::npos || c <= b) continue;
    PipelineRef pipeline{rest.substr(0, a), rest.substr(a + 1, b - a - 1), rest.substr(b + 1, c - b - 1)};
    std::string id = rest.substr(c + 1);
    std::shared_ptr<Runtime> runtime = RuntimeFor(pipeline);
    std::lock_guard lock(runtime->mu);
    GANTRY_ASSIGN_OR_RETURN(auto found,
                            deps_.store->Get(kExecutionTable, pipeline.scope(), ExecutionKey(pipeline.name, id)));
    if (!found || !IsActive(found->doc)) {
      GANTRY_RETURN_IF_ERROR(deps_.store->Delete(kIndexTable, kIndexScope, entry.key).status());
      continue;
    }
    Document execution = found->doc;
    TimePoint now = deps_.clock->Now();
    std::vector<size_t> failed;
    for (size_t i = 0; i < execution["actions"].size(); ++i) {
      Document& action = execution["actions"][i];
      if (action.value("status", "") != "InProgress") continue;
      if (action.value("state", Document()).is_null()) {
        Apply(pipeline, execution, i,
              ActionResult::Failed("JobFailed",
                                   "Gantry stopped while this action was starting; its provider had reported no state "
                                   "to resume from, so the action failed. Retry the stage to run it again."));
        failed.push_back(i);
      } else {
        action["pollAt"] = Seconds(now);
      }
    }
    runtime->active[id] = found->doc;
    if (!Persist(pipeline, *runtime, execution).ok()) {
      // Kept as resumed (no provider is polled without a state) and tried again soon.
      runtime->active[id] = execution;
      std::lock_guard wake_lock(mu_);
      runtime->due = std::min(runtime->due, now + kPersistRetry);
      continue;
    }
    for (size_t i : failed) Emit(pipeline, kActionStateChange, ActionDetail(execution, execution["actions"][i], "FAILED"));
    std::lock_guard wake_lock(mu_);
    runtime->dirty = true;
  }
  return Status::Ok();
}

void ExecutionEngine::PollSources() {
  store::ListOptions options;
  auto page = deps_.store->List(kIndexTable, kIndexScope, options);
  if (!page.ok()) return;
  for (const store::Record& entry : page->records) {
    if (entry.key.rfind("active/", 0) == 0) continue;
    size_t a = entry.key.find('/'), b = entry.key.find('/', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    PipelineRef pipeline{entry.key.substr(0, a), entry.key.substr(a + 1, b - a - 1), entry.key.substr(b + 1)};
    auto record = LoadPipeline(pipeline);
    if (!record.ok()) continue;
    const Document& declaration = (*record)["pipeline"];
    for (const Document& action : declaration["stages"][0]["actions"]) {
      if (action.value("configuration", Document::object()).value("PollForSourceChanges", "true") == "false") continue;
      ActionProvider* provider = ProviderOf(action);
      if (!provider) continue;
      Document pseudo = {{"actionName", action.value("name", "")},
                         {"stageName", declaration["stages"][0].value("name", "")},
                         {"input", {{"resolvedConfiguration", action.value("configuration", Document::object())}}}};
      auto ctx = Context(pipeline, declaration, Document{{"pipelineVersion", declaration.value("version", 1)}}, pseudo,
                         action);
      if (!ctx.ok()) continue;
      auto latest = provider->LatestRevision(*ctx);
      if (!latest.ok() || !latest->has_value()) continue;
      std::string key = pipeline.name + "/" + action.value("name", "");
      auto seen = deps_.store->Get(kSourceRevisionTable, pipeline.scope(), key);
      if (!seen.ok()) continue;
      std::string revision = (*latest)->revision_id;
      if (*seen && seen->value().doc.value("revisionId", "") == revision) continue;
      if (*seen) {
        StartRequest request;
        request.pipeline = pipeline;
        request.trigger = {{"triggerType", "PollForSourceChanges"}, {"triggerDetail", action.value("name", "")}};
        auto started = StartExecution(request);
        if (!started.ok()) {
          // The revision stays unseen: the next poll tries again.
          GANTRY_LOG(kWarn, "codepipeline: polling " << pipeline.name << ": " << started.status().ToString());
          continue;
        }
      }
      auto written = deps_.store->Put(kSourceRevisionTable, pipeline.scope(), key, Document{{"revisionId", revision}});
      if (!written.ok()) GANTRY_LOG(kWarn, "codepipeline: source revision not recorded: " << written.status().ToString());
      if (*seen) break;
    }
  }
}

}  // namespace gantry::services::codepipeline
