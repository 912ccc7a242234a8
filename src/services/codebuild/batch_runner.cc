#include "services/codebuild/batch_runner.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/archive/zip.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "services/codebuild/artifacts.h"
#include "services/codebuild/batch_records.h"
#include "services/codebuild/build_events.h"
#include "services/codebuild/build_session.h"
#include "services/codebuild/environment.h"
#include "services/codebuild/records.h"

namespace gantry::services::codebuild {

namespace {

namespace fs = std::filesystem;
using aws::Document;
using Contexts = std::vector<std::pair<std::string, std::string>>;

constexpr auto kActivePass = std::chrono::milliseconds(250);
constexpr auto kIdlePass = std::chrono::seconds(2);

const std::set<std::string> kRepositoryTypes = {"CODECOMMIT", "GITHUB", "GITHUB_ENTERPRISE",
                                                "BITBUCKET",  "GITLAB", "GITLAB_SELF_MANAGED"};

// The settings of a group's build: the group's buildspec and env, the batch's resolved source
// version for repositories, and, in a pipeline, the outputs named after the group: <identifier> is
// its primary artifact and <identifier>_<artifact> its secondary artifact <artifact>; with combined
// artifacts, its primary artifact goes beside the combined one, to be zipped into it.
Document BuildSettings(const Document& record, const BatchGroup& group) {
  Document settings = GroupSettings(record["Settings"], group);
  std::string resolved = record["Batch"].value("resolvedSourceVersion", "");
  if (!resolved.empty() && kRepositoryTypes.count(settings["source"].value("type", ""))) {
    settings["sourceVersion"] = resolved;
  }
  if (PipelineOf(PrincipalOf(record["Principal"])).empty()) return settings;
  const Document& artifacts = settings["artifacts"];
  if (artifacts.value("type", "") == "CODEPIPELINE" && artifacts.contains("location")) {
    settings["artifacts"] = {{"type", "S3"},
                             {"location", ParseS3Location(artifacts.value("location", "")).Arn() + ".parts"},
                             {"name", group.identifier},
                             {"packaging", "ZIP"},
                             {"namespaceType", "NONE"},
                             {"encryptionDisabled", false}};
    return settings;
  }
  Document secondary = Document::array();
  settings["artifacts"] = {{"type", "NO_ARTIFACTS"}};
  for (const Document& a : record["Settings"].value("secondaryArtifacts", Document::array())) {
    std::string name = a.value("artifactIdentifier", "");
    if (name == group.identifier) {
      settings["artifacts"] = a;
      settings["artifacts"].erase("artifactIdentifier");
    } else if (name.rfind(group.identifier + "_", 0) == 0) {
      Document renamed = a;
      renamed["artifactIdentifier"] = name.substr(group.identifier.size() + 1);
      secondary.push_back(renamed);
    }
  }
  settings["secondaryArtifacts"] = secondary;
  return settings;
}

std::string BuildIdOfArn(const std::string& arn) {
  std::optional<BuildIdParts> parts = ParseBuildId(arn);
  return parts ? parts->project + ":" + parts->uuid : std::string();
}

}  // namespace

void BatchRunner::Start() {
  std::lock_guard lock(mu_);
  stopping_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void BatchRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // No pass runs now: the tasks end (their batches do that step again after a restart).
  std::map<std::string, std::unique_ptr<Task>> tasks;
  {
    std::lock_guard lock(tasks_mu_);
    tasks.swap(tasks_);
  }
  for (auto& [id, task] : tasks) {
    task->flags.shutdown = true;
    task->flags.stop = true;
  }
  for (auto& [id, task] : tasks) task->thread.join();
}

void BatchRunner::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  wake_.notify_all();
}

void BatchRunner::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    int active = Pass();
    lock.lock();
    wake_.wait_for(lock, active > 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(kActivePass)
                                    : std::chrono::duration_cast<std::chrono::milliseconds>(kIdlePass),
                   [this] { return woken_ || stopping_; });
  }
}

int BatchRunner::Pass() {
  auto active = deps_.store->List(kBatchActiveTable, "");
  if (!active.ok()) {
    GANTRY_LOG(kWarn, "codebuild: cannot read the batch builds in flight: " << active.status().ToString());
    return 0;
  }
  int left = 0;
  std::set<std::string> in_flight;
  for (const store::Record& entry : active->records) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && thread_.joinable()) break;
    }
    std::string scope = entry.doc.value("Scope", ""), id = entry.doc.value("Id", "");
    Step(scope, id, entry.key);
    auto after = deps_.store->Get(kBatchTable, scope, id);
    // Kept in flight when the read fails, so that its running task is not stopped over a store error.
    if (!after.ok() || (*after && !IsBatchComplete((*after)->doc))) {
      ++left;
      in_flight.insert(id);
    }
  }
  ReapTasks(in_flight);
  return left;
}

std::optional<StatusOr<BatchRunner::Text>> BatchRunner::RunTask(const std::string& id,
                                                                std::function<StatusOr<Text>(StopFlags*)> fn) {
  std::unique_ptr<Task> finished;
  {
    std::lock_guard lock(tasks_mu_);
    auto it = tasks_.find(id);
    if (it == tasks_.end()) {
      auto task = std::make_unique<Task>();
      Task* t = task.get();
      t->thread = std::thread([t, fn = std::move(fn)] {
        t->result = fn(&t->flags);
        t->done = true;
      });
      tasks_.emplace(id, std::move(task));
      return std::nullopt;
    }
    if (!it->second->done) return std::nullopt;
    finished = std::move(it->second);
    tasks_.erase(it);
  }
  finished->thread.join();
  return std::move(finished->result);
}

bool BatchRunner::StopTask(const std::string& id) {
  std::lock_guard lock(tasks_mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return false;
  it->second->flags.user_stop = true;
  it->second->flags.stop = true;
  return true;
}

void BatchRunner::ReapTasks(const std::set<std::string>& active) {
  std::vector<std::unique_ptr<Task>> reaped;
  {
    std::lock_guard lock(tasks_mu_);
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      if (active.count(it->first)) {
        ++it;
        continue;
      }
      it->second->flags.user_stop = true;
      it->second->flags.stop = true;
      if (it->second->done) {
        reaped.push_back(std::move(it->second));
        it = tasks_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& task : reaped) task->thread.join();
}

bool BatchRunner::TimedOut(const Document& record) const {
  const Document& config = record["Batch"].value("buildBatchConfig", Document::object());
  int timeout = config.value("timeoutInMins", kDefaultBatchTimeoutMinutes);
  TimePoint start = FromSeconds(record.contains("RunStart") ? record["RunStart"] : record["Batch"]["startTime"]);
  return deps_.clock->Now() - start >= deps_.queue->options().minute * timeout;
}

void BatchRunner::Step(const std::string& scope, const std::string& id, const std::string& active_key) {
  auto found = deps_.store->Get(kBatchTable, scope, id);
  if (!found.ok()) return;
  if (!*found || IsBatchComplete((*found)->doc)) {
    (void)deps_.store->Delete(kBatchActiveTable, "", active_key);
    return;
  }
  Document record = (*found)->doc;
  std::string phase = record["Batch"].value("currentPhase", "");
  TimePoint now = deps_.clock->Now();
  if (phase != "IN_PROGRESS") {
    bool stop = record.value("StopRequested", false);
    if (stop || TimedOut(record)) {
      if (StopTask(id)) {
        // Its result is not wanted; once it has returned the batch ends.
        if (!RunTask(id, nullptr)) return;
      }
      (void)UpdateBatch(*deps_.store, scope, id, [&](Document& r) -> Status {
        if (IsBatchComplete(r)) return Status::Ok();
        if (stop) {
          CompleteBatch(r, "STOPPED", now);
        } else {
          CompleteBatch(r, "TIMED_OUT", now, {{"BATCH_TIMED_OUT", "the batch did not end within its timeoutInMins"}});
        }
        return Status::Ok();
      });
      return;
    }
  }
  if (phase == "SUBMITTED") {
    auto begun = UpdateBatch(*deps_.store, scope, id, [&](Document& r) -> Status {
      if (r["Batch"].value("currentPhase", "") != "SUBMITTED") return Status::Ok();
      EndBatchPhase(r, now, "SUCCEEDED");
      BeginBatchPhase(r, "DOWNLOAD_BATCHSPEC", now);
      return Status::Ok();
    });
    if (!begun.ok()) return;
    record = *begun;
    phase = record["Batch"].value("currentPhase", "");
  }
  if (phase == "DOWNLOAD_BATCHSPEC") {
    DownloadBatchspec(scope, id, record);
  } else if (phase == "IN_PROGRESS") {
    Progress(scope, id, std::move(record));
  } else if (phase == "COMBINE_ARTIFACTS") {
    Combine(scope, id, record);
  }
}

StatusOr<aws::Principal> BatchRunner::AssumeRole(const Document& record) {
  std::string account = record.value("Account", ""), region = record.value("Region", "");
  std::string uuid = ParseBuildId(record["Batch"].value("id", "")).value_or(BuildIdParts{}).uuid;
  Document input = {{"RoleArn", record["Settings"].value("serviceRole", "")},
                    {"RoleSessionName", "AWSCodeBuild-" + uuid},
                    {"DurationSeconds", 3600}};
  GANTRY_ASSIGN_OR_RETURN(Document out,
                          deps_.client->Call(ServicePrincipal(account), "sts", "AssumeRole", input, region));
  aws::Principal principal;
  principal.account_id = account;
  principal.arn = out["AssumedRoleUser"].value("Arn", "");
  principal.user_id = out["AssumedRoleUser"].value("AssumedRoleId", "");
  principal.access_key_id = out["Credentials"].value("AccessKeyId", "");
  principal.service = std::string(kServicePrincipal);
  return principal;
}

StatusOr<BatchRunner::Text> BatchRunner::ReadBuildspec(const std::string& id, const Document& record,
                                                       StopFlags* flags) {
  const Document& settings = record["Settings"];
  const Document& source = settings["source"];
  std::string buildspec = source.value("buildspec", "");
  std::string region = record.value("Region", "");
  if (buildspec.rfind("arn:aws:s3:::", 0) == 0) {
    GANTRY_ASSIGN_OR_RETURN(aws::Principal role, AssumeRole(record));
    S3Object object = ParseS3Location(buildspec);
    GANTRY_ASSIGN_OR_RETURN(Document got, deps_.client->Call(role, "s3", "GetObject",
                                                             {{"Bucket", object.bucket}, {"Key", object.key}}, region));
    const auto& bytes = got["Body"].get_binary();
    return std::make_pair(std::string(bytes.begin(), bytes.end()), std::string());
  }
  if (source.value("type", "NO_SOURCE") == "NO_SOURCE") {
    return Status::InvalidArgument("a NO_SOURCE batch needs an inline buildspec");
  }
  std::string path = buildspec.empty() ? "buildspec.yml" : buildspec;
  if (path.front() == '/' || ("/" + path + "/").find("/../") != std::string::npos) {
    return Status::InvalidArgument("the buildspec path " + path + " leaves the source directory");
  }
  const BuildQueueOptions& options = deps_.queue->options();
  std::string uuid = ParseBuildId(id).value_or(BuildIdParts{}).uuid;
  std::string dir = options.work_root + "/" + uuid;
  Document fetch = {{"Build",
                     {{"source", source},
                      {"sourceVersion", settings.value("sourceVersion", "")},
                      {"initiator", record["Batch"].value("initiator", "")},
                      {"serviceRole", settings.value("serviceRole", "")},
                      {"timeoutInMinutes", settings.value("timeoutInMinutes", kDefaultTimeoutMinutes)}}},
                    {"Account", record.value("Account", "")},
                    {"Region", region},
                    {"Scope", record.value("Scope", "")}};
  auto resolved = BuildSession::FetchBatchSource({deps_.store, deps_.clock, deps_.ids, deps_.client}, options, fetch,
                                                 id, dir + "/src", flags);
  if (flags->stop) resolved = Status::Unavailable("the batch build was stopped");
  std::string text;
  if (resolved.ok()) {
    std::ifstream in(dir + "/src/" + path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    text = content.str();
    if (!in) resolved = Status::InvalidArgument("YAML_FILE_ERROR: the source has no buildspec " + path);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  GANTRY_RETURN_IF_ERROR(resolved.status());
  return std::make_pair(text, *resolved);
}

void BatchRunner::DownloadBatchspec(const std::string& scope, const std::string& id, const Document& record) {
  auto fail = [&](const std::string& code, const std::string& message) {
    (void)UpdateBatch(*deps_.store, scope, id, [&](Document& r) -> Status {
      if (r["Batch"].value("currentPhase", "") != "DOWNLOAD_BATCHSPEC") return Status::Ok();
      CompleteBatch(r, "FAILED", deps_.clock->Now(), {{code, message}});
      return Status::Ok();
    });
  };
  const std::string buildspec = record["Settings"]["source"].value("buildspec", "");
  StatusOr<Text> text = std::make_pair(buildspec, std::string());
  if (buildspec.empty() || !IsInlineBuildspec(buildspec)) {
    // From S3 or the source: on the batch's own thread, which the next passes look at.
    auto read = RunTask(id, [this, id, record](StopFlags* flags) { return ReadBuildspec(id, record, flags); });
    if (!read) return;
    text = std::move(*read);
  }
  if (!text.ok()) return fail("CLIENT_ERROR", text.status().message());
  auto spec = runtime::ParseBuildspec(text->first, "buildspec");
  if (!spec.ok()) return fail("YAML_FILE_ERROR", spec.status().message());
  if (!spec->batch) {
    return fail("CLIENT_ERROR", "the buildspec has no batch section: a batch build needs batch/build-list, "
                                "batch/build-graph or batch/build-matrix");
  }
  auto groups = ExpandBatch(*spec->batch);
  if (!groups.ok()) return fail("CLIENT_ERROR", groups.status().message());
  const Document& config = record["Batch"].value("buildBatchConfig", Document::object());
  const Document& restrictions = config.value("restrictions", Document::object());
  int maximum = restrictions.value("maximumBuildsAllowed", kDefaultMaximumBuilds);
  if (static_cast<int>(groups->size()) > maximum) {
    return fail("CLIENT_ERROR", "Batch build has " + std::to_string(groups->size()) +
                                    " builds, more than the maximumBuildsAllowed of " + std::to_string(maximum));
  }
  std::set<std::string> allowed;
  for (const Document& c : restrictions.value("computeTypesAllowed", Document::array())) allowed.insert(c);
  for (const BatchGroup& g : *groups) {
    if (!g.fleet.empty()) {
      return fail("CLIENT_ERROR", "build " + g.identifier + " names fleet " + g.fleet +
                                      "; Gantry has no reserved-capacity fleets");
    }
    std::string compute =
        g.compute_type.empty() ? record["Settings"]["environment"].value("computeType", "") : g.compute_type;
    if (!allowed.empty() && !allowed.count(compute)) {
      return fail("CLIENT_ERROR", "build " + g.identifier + " uses compute type " + compute +
                                      ", which the batch's computeTypesAllowed does not allow");
    }
  }
  std::string resolved = text->second;
  bool fast_fail = spec->batch->fast_fail;
  (void)UpdateBatch(*deps_.store, scope, id, [&](Document& r) -> Status {
    if (r["Batch"].value("currentPhase", "") != "DOWNLOAD_BATCHSPEC") return Status::Ok();
    TimePoint now = deps_.clock->Now();
    Document stored = Document::array();
    Document wire = Document::array();
    for (const BatchGroup& g : *groups) {
      stored.push_back(GroupToDocument(g));
      wire.push_back({{"identifier", g.identifier},
                      {"dependsOn", g.depends_on},
                      {"ignoreFailure", g.ignore_failure},
                      {"priorBuildSummaryList", Document::array()}});
    }
    r["Groups"] = stored;
    r["FastFail"] = fast_fail;
    r["Batch"]["buildGroups"] = wire;
    if (!resolved.empty()) r["Batch"]["resolvedSourceVersion"] = resolved;
    EndBatchPhase(r, now, "SUCCEEDED");
    BeginBatchPhase(r, "IN_PROGRESS", now);
    return Status::Ok();
  });
}

void BatchRunner::Progress(const std::string& scope, const std::string& id, Document record) {
  std::string account = record.value("Account", ""), region = record.value("Region", "");
  bool timed_out = TimedOut(record);

  // The builds' outcomes, what fast-fail and the dependencies make of them.
  std::vector<BatchGroup> groups;
  std::map<std::string, bool> ignores_failure;  // identifier → ignore-failure
  for (const Document& g : record["Groups"]) {
    groups.push_back(GroupFromDocument(g));
    ignores_failure[groups.back().identifier] = groups.back().ignore_failure;
  }
  const Document& wire = record["Batch"]["buildGroups"];
  std::map<std::string, std::string> status;  // identifier → build status; "" = not started
  std::map<std::string, Document> summaries;  // identifier → updated currentBuildSummary
  std::vector<std::string> running;           // build ids
  for (size_t i = 0; i < groups.size(); ++i) {
    const Document& summary = wire[i].value("currentBuildSummary", Document());
    if (summary.is_null()) {
      status[groups[i].identifier] = "";
      continue;
    }
    std::string build_id = BuildIdOfArn(summary.value("arn", ""));
    auto build = deps_.store->Get(kBuildTable, scope, build_id);
    std::string s = summary.value("buildStatus", "IN_PROGRESS");
    if (build.ok() && *build) {
      const Document& b = (*build)->doc["Build"];
      s = b.value("buildStatus", "IN_PROGRESS");
      if (s != summary.value("buildStatus", "")) {
        Document updated = summary;
        updated["buildStatus"] = s;
        std::string type = (*build)->doc["Settings"]["artifacts"].value("type", "NO_ARTIFACTS");
        std::string location = b["artifacts"].value("location", "");
        if (s != "IN_PROGRESS" && !location.empty()) {
          updated["primaryArtifact"] = {{"type", type}, {"location", location}};
        }
        Document secondary = Document::array();
        for (const Document& a : b.value("secondaryArtifacts", Document::array())) {
          if (!a.value("location", "").empty()) {
            secondary.push_back({{"type", "S3"},
                                 {"location", a.value("location", "")},
                                 {"identifier", a.value("artifactIdentifier", "")}});
          }
        }
        if (s != "IN_PROGRESS" && !secondary.empty()) updated["secondaryArtifacts"] = secondary;
        summaries[groups[i].identifier] = updated;
      }
    } else if (build.ok()) {
      s = "FAULT";  // the build was deleted
      if (summary.value("buildStatus", "") != s) {
        Document updated = summary;
        updated["buildStatus"] = s;
        summaries[groups[i].identifier] = updated;
      }
    }
    status[groups[i].identifier] = s;
    if (s == "IN_PROGRESS") running.push_back(build_id);
  }
  const Document& skipped_before = record.value("Skipped", Document::object());
  bool fast_failed = record.value("FastFailed", false);
  for (const BatchGroup& g : groups) {
    const std::string& s = status[g.identifier];
    if (record.value("FastFail", false) && !g.ignore_failure && !s.empty() && s != "IN_PROGRESS" && s != "SUCCEEDED") {
      fast_failed = true;
    }
  }
  bool stopping = record.value("StopRequested", false) || fast_failed || timed_out;
  Document skipped = skipped_before;
  std::vector<const BatchGroup*> ready;
  for (const BatchGroup& g : groups) {
    if (!status[g.identifier].empty() || skipped.contains(g.identifier)) continue;
    if (stopping) {
      skipped[g.identifier] = record.value("StopRequested", false) ? "the batch was stopped"
                              : timed_out ? "the batch timed out"
                                          : "fast-fail: another build of the batch failed";
      continue;
    }
    bool waiting = false;
    std::string blocked;
    for (const std::string& dep : g.depends_on) {
      const std::string& s = status[dep];
      bool done = s == "SUCCEEDED" || (!s.empty() && s != "IN_PROGRESS" && ignores_failure[dep]);
      if (skipped.contains(dep) || (!s.empty() && s != "IN_PROGRESS" && !done)) {
        blocked = dep;
        break;
      }
      if (!done) waiting = true;
    }
    if (!blocked.empty()) {
      skipped[g.identifier] = "its dependency " + blocked + " did not succeed";
    } else if (!waiting) {
      ready.push_back(&g);
    }
  }
  if (!summaries.empty() || skipped != skipped_before || fast_failed != record.value("FastFailed", false) ||
      timed_out != record.value("TimedOut", false)) {
    auto updated = UpdateBatch(*deps_.store, scope, id, [&](Document& r) -> Status {
      for (Document& w : r["Batch"]["buildGroups"]) {
        auto it = summaries.find(w.value("identifier", ""));
        if (it != summaries.end() && w.contains("currentBuildSummary") &&
            w["currentBuildSummary"].value("arn", "") == it->second.value("arn", "")) {
          w["currentBuildSummary"] = it->second;
        }
      }
      r["Skipped"] = skipped;
      r["FastFailed"] = fast_failed;
      r["TimedOut"] = timed_out;
      return Status::Ok();
    });
    if (!updated.ok()) return;
    record = *updated;
  }
  if (stopping) {
    for (const std::string& build_id : running) {
      auto stopped = deps_.client->Call(ServicePrincipal(account), "codebuild", "StopBuild", {{"id", build_id}}, region);
      if (!stopped.ok()) {
        GANTRY_LOG(kWarn, "codebuild: batch " << id << " could not stop build " << build_id << ": "
                                              << stopped.status().ToString());
      }
    }
  }
  aws::RequestContext ctx;
  ctx.region = region;
  ctx.account_id = account;
  ctx.principal = PrincipalOf(record["Principal"]);
  std::string project = record["Batch"].value("projectName", "");
  std::string batch_arn = record["Batch"].value("arn", "");
  bool started = false;
  for (const BatchGroup* g : ready) {
    Document settings = BuildSettings(record, *g);
    Status valid = ValidateEnvironment(settings["environment"]);
    if (!valid.ok()) {
      (void)UpdateBatch(*deps_.store, scope, id, [&](Document& r) -> Status {
        r["Skipped"][g->identifier] = "its settings are not valid: " + valid.message();
        return Status::Ok();
      });
      continue;
    }
    BatchMember member;
    member.batch_arn = batch_arn;
    member.identifier = g->identifier;
    member.in_transaction = [&](store::Transaction& tx, const Document& build) -> Status {
      return UpdateBatchIn(tx, scope, id, [&](Document& r) -> Status {
               if (IsBatchComplete(r) || r.value("StopRequested", false)) {
                 return Status::FailedPrecondition("the batch is stopping");
               }
               for (Document& w : r["Batch"]["buildGroups"]) {
                 if (w.value("identifier", "") != g->identifier) continue;
                 if (w.contains("currentBuildSummary")) return Status::FailedPrecondition("already started");
                 w["currentBuildSummary"] = {{"arn", build["Build"].value("arn", "")},
                                             {"requestedOn", build["Build"]["startTime"]},
                                             {"buildStatus", "IN_PROGRESS"}};
               }
               return Status::Ok();
             })
          .status();
    };
    auto created = CreateBatchBuild(deps_, ctx, project, std::move(settings), member);
    if (created.ok()) {
      started = true;
      continue;
    }
    if (created.status().code() == StatusCode::kResourceExhausted ||
        created.status().code() == StatusCode::kFailedPrecondition) {
      continue;  // the queue is full (tried again next pass), or the batch moved on meanwhile
    }
    std::string why = created.status().message();
    (void)UpdateBatch(*deps_.store, scope, id, [&](Document& r) -> Status {
      r["Skipped"][g->identifier] = "its build could not be started: " + why;
      return Status::Ok();
    });
  }
  if (started) return;
  // Done when nothing runs and nothing more can start.
  auto current = deps_.store->Get(kBatchTable, scope, id);
  if (!current.ok() || !*current) return;
  const Document& r = (*current)->doc;
  for (size_t i = 0; i < r["Groups"].size(); ++i) {
    const Document& w = r["Batch"]["buildGroups"][i];
    std::string identifier = w.value("identifier", "");
    if (r.value("Skipped", Document::object()).contains(identifier)) continue;
    if (!w.contains("currentBuildSummary")) return;
    std::string build_id = BuildIdOfArn(w["currentBuildSummary"].value("arn", ""));
    auto build = deps_.store->Get(kBuildTable, scope, build_id);
    if (build.ok() && *build && !IsComplete((*build)->doc)) return;
    if (w["currentBuildSummary"].value("buildStatus", "IN_PROGRESS") == "IN_PROGRESS") return;  // next pass records it
  }
  Finish(scope, id, r);
}

void BatchRunner::Finish(const std::string& scope, const std::string& id, const Document& record) {
  TimePoint now = deps_.clock->Now();
  std::string status = "SUCCEEDED";
  Contexts contexts;
  const Document& skipped = record.value("Skipped", Document::object());
  for (const Document& w : record["Batch"]["buildGroups"]) {
    std::string identifier = w.value("identifier", "");
    std::string s = w.value("currentBuildSummary", Document::object()).value("buildStatus", "");
    if (skipped.contains(identifier)) {
      contexts.emplace_back("BUILD_NOT_STARTED",
                            "build " + identifier + " was not started: " + skipped[identifier].get<std::string>());
      if (!w.value("ignoreFailure", false)) status = "FAILED";
    } else if (s != "SUCCEEDED") {
      contexts.emplace_back("BUILD_" + s, "build " + identifier + " ended " + s);
      if (!w.value("ignoreFailure", false)) status = "FAILED";
    }
  }
  if (record.value("StopRequested", false)) status = "STOPPED";
  if (record.value("TimedOut", false) && status != "STOPPED") status = "TIMED_OUT";
  bool combine = record["Batch"].value("buildBatchConfig", Document::object()).value("combineArtifacts", false) &&
                 record["Settings"]["artifacts"].value("type", "") == "CODEPIPELINE" &&
                 record["Settings"]["artifacts"].contains("location") &&
                 !PipelineOf(PrincipalOf(record["Principal"])).empty();
  (void)UpdateBatch(*deps_.store, scope, id, [&](Document& r) -> Status {
    if (r["Batch"].value("currentPhase", "") != "IN_PROGRESS") return Status::Ok();
    if (combine && status == "SUCCEEDED") {
      EndBatchPhase(r, now, "SUCCEEDED", contexts);
      BeginBatchPhase(r, "COMBINE_ARTIFACTS", now);
    } else {
      CompleteBatch(r, status, now, contexts);
    }
    return Status::Ok();
  });
}

void BatchRunner::Combine(const std::string& scope, const std::string& id, const Document& record) {
  auto combined = RunTask(id, [this, id, record](StopFlags* flags) -> StatusOr<Text> {
    GANTRY_RETURN_IF_ERROR(CombineArtifacts(id, record, flags));
    return Text();
  });
  if (!combined) return;  // on the batch's thread
  (void)UpdateBatch(*deps_.store, scope, id, [&](Document& r) -> Status {
    if (r["Batch"].value("currentPhase", "") != "COMBINE_ARTIFACTS") return Status::Ok();
    if (combined->ok()) {
      CompleteBatch(r, "SUCCEEDED", deps_.clock->Now());
    } else {
      CompleteBatch(r, "FAILED", deps_.clock->Now(), {{"CLIENT_ERROR", combined->status().message()}});
    }
    return Status::Ok();
  });
}

Status BatchRunner::CombineArtifacts(const std::string& id, const Document& record, StopFlags* flags) {
  GANTRY_ASSIGN_OR_RETURN(aws::Principal role, AssumeRole(record));
  std::string region = record.value("Region", "");
  S3Object target = ParseS3Location(record["Settings"]["artifacts"].value("location", ""));
  std::string uuid = ParseBuildId(id).value_or(BuildIdParts{}).uuid;
  std::string dir = deps_.queue->options().work_root + "/" + uuid;
  std::error_code ec;
  fs::create_directories(dir + "/combined", ec);
  ::chmod(dir.c_str(), 0700);
  Status result;
  for (const Document& w : record["Batch"]["buildGroups"]) {
    if (flags->stop) {
      result = Status::Unavailable("the batch build was stopped");
      break;
    }
    std::string identifier = w.value("identifier", "");
    if (w.value("currentBuildSummary", Document::object()).value("buildStatus", "") != "SUCCEEDED") continue;
    std::string key = target.key + ".parts/" + identifier;
    auto got = deps_.client->Call(role, "s3", "GetObject", {{"Bucket", target.bucket}, {"Key", key}}, region);
    if (!got.ok()) {
      if (got.status().code() == StatusCode::kNotFound) continue;  // the build has no primary artifact
      result = Status::FailedPrecondition("cannot read the artifact of build " + identifier + ": " +
                                          got.status().message());
      break;
    }
    const auto& bytes = (*got)["Body"].get_binary();
    std::string zip = dir + "/" + identifier + ".zip";
    std::ofstream(zip, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
    result = archive::ExtractZip(zip, dir + "/combined/" + identifier);
    fs::remove(zip, ec);
    if (!result.ok()) break;
  }
  if (result.ok()) {
    std::vector<runtime::ArtifactFile> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir + "/combined", ec)) {
      if (!entry.is_regular_file()) continue;
      files.push_back({entry.path().string(), fs::relative(entry.path(), dir + "/combined").string()});
    }
    std::string zip = dir + "/combined.zip";
    result = WriteZip(zip, files, false);
    if (result.ok()) {
      std::ifstream in(zip, std::ios::binary);
      std::vector<uint8_t> body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      result = deps_.client
                   ->Call(role, "s3", "PutObject",
                          {{"Bucket", target.bucket},
                           {"Key", target.key},
                           {"Body", Document::binary(std::move(body))},
                           {"ContentType", "application/zip"}},
                          region)
                   .status();
    }
  }
  fs::remove_all(dir, ec);
  return result;
}

}  // namespace gantry::services::codebuild
