#include "services/codebuild/build_queue.h"

#include <filesystem>

#include "core/common/log.h"
#include "services/codebuild/build_events.h"
#include "services/codebuild/build_session.h"
#include "services/codebuild/process.h"
#include "services/codebuild/records.h"
#include "runtime/build/container.h"
#include "runtime/build/image_store.h"

namespace gantry::services::codebuild {

namespace {

using aws::Document;
using runtime::BuildPhaseType;
using runtime::BuildStatus;

constexpr auto kIdlePass = std::chrono::seconds(1);

bool EndpointKnown(const BuildQueueOptions& options) {
  if (!options.endpoint) return true;
  std::string url = options.endpoint();
  return !url.empty() && url.size() > 2 && url.compare(url.size() - 2, 2, ":0") != 0;
}

}  // namespace

struct BuildQueue::Running {
  std::string scope;
  std::string id;
  std::unique_ptr<BuildEngine> engine;
  StopFlags flags;
  std::thread thread;
  std::atomic<bool> done{false};
};

BuildQueue::BuildQueue(BuildQueueDeps deps, BuildQueueOptions options)
    : deps_(deps), options_(std::move(options)), announcer_(deps.client) {}

BuildQueue::~BuildQueue() { Stop(); }

Status BuildQueue::Start() {
  announcer_.Start();
  GANTRY_RETURN_IF_ERROR(ResolveInterrupted());
  std::lock_guard lock(mu_);
  stopping_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void BuildQueue::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::shared_ptr<Running>> running;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : running_) running.push_back(r);
  }
  for (const auto& r : running) {
    r->flags.shutdown = true;
    r->flags.stop = true;
    r->engine->RequestStop();
  }
  for (const auto& r : running) {
    if (r->thread.joinable()) r->thread.join();
  }
  {
    std::lock_guard lock(mu_);
    running_.clear();
  }
  announcer_.Stop();
}

void BuildQueue::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  wake_.notify_all();
}

void BuildQueue::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    Reap();
    Pass(false);
    lock.lock();
    wake_.wait_for(lock, kIdlePass, [this] { return woken_ || stopping_; });
  }
}

void BuildQueue::Reap() {
  std::vector<std::shared_ptr<Running>> finished;
  {
    std::lock_guard lock(mu_);
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second->done) {
        finished.push_back(it->second);
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& r : finished) {
    if (r->thread.joinable()) r->thread.join();
  }
}

int BuildQueue::Pass(bool run_inline) {
  auto active = deps_.store->List(kActiveTable, "");
  if (!active.ok()) {
    GANTRY_LOG(kWarn, "codebuild: cannot read the build queue: " << active.status().ToString());
    return 0;
  }
  bool can_start = EndpointKnown(options_);
  int started = 0;
  for (const store::Record& entry : active->records) {
    std::string scope = entry.doc.value("Scope", "");
    std::string id = entry.doc.value("Id", "");
    {
      std::lock_guard lock(mu_);
      if (stopping_ && !run_inline) break;
      if (running_.count(id)) continue;
    }
    auto found = deps_.store->Get(kBuildTable, scope, id);
    if (!found.ok()) continue;
    if (!*found || IsComplete((*found)->doc)) {
      deps_.store->Delete(kActiveTable, "", entry.key);
      continue;
    }
    Document before = (*found)->doc;
    TimePoint now = deps_.clock->Now();
    std::string phase = before["Build"].value("currentPhase", "");
    if (phase == "SUBMITTED") {
      auto queued = UpdateBuild(*deps_.store, scope, id, [&](Document& r) -> Status {
        if (r["Build"].value("currentPhase", "") != "SUBMITTED") return Status::Ok();
        EndPhase(r, BuildPhaseType::kSubmitted, now, BuildStatus::kSucceeded, {});
        BeginPhase(r, BuildPhaseType::kQueued, now);
        return Status::Ok();
      });
      if (!queued.ok()) continue;
      Announce(before, *queued);
      before = *queued;
      phase = before["Build"].value("currentPhase", "");
    }
    if (phase != "QUEUED") continue;
    const Document* open = OpenPhase(before);
    TimePoint queued_at = open ? FromSeconds((*open)["startTime"]) : now;
    int queued_minutes = before["Build"].value("queuedTimeoutInMinutes", kDefaultQueuedTimeoutMinutes);
    if (now - queued_at >= options_.minute * queued_minutes) {
      auto timed_out = UpdateBuild(*deps_.store, scope, id, [&](Document& r) -> Status {
        if (r["Build"].value("currentPhase", "") != "QUEUED") return Status::Ok();
        CompleteBuild(r, BuildStatus::kTimedOut, now,
                      {{"BUILD_TIMED_OUT", "Build did not start within its queued timeout of " +
                                               std::to_string(queued_minutes) + " minutes."}});
        return Status::Ok();
      });
      if (timed_out.ok()) Announce(before, *timed_out);
      continue;
    }
    if (!can_start) continue;
    // The build takes a slot before it is claimed: once the claim is committed, StopBuild finds it
    // here (StopRunning) as soon as it can see PROVISIONING, with no moment in between.
    auto running = std::make_shared<Running>();
    running->scope = scope;
    running->id = id;
    {
      std::lock_guard lock(mu_);
      if (static_cast<int>(running_.size()) >= options_.concurrent_builds) continue;
      running->engine = options_.engine();
      running_[id] = running;
    }
    // Claim: QUEUED ends and PROVISIONING begins in the same transaction that marks the queue entry
    // running, so that StopBuild either stops it in the queue or asks the running build to stop.
    Document claimed;
    Status claim = deps_.store->Transact([&](store::Transaction& tx) -> Status {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> current, tx.Get(kBuildTable, scope, id));
      if (!current || current->doc["Build"].value("currentPhase", "") != "QUEUED") {
        return Status::FailedPrecondition("no longer queued");
      }
      claimed = current->doc;
      EndPhase(claimed, BuildPhaseType::kQueued, now, BuildStatus::kSucceeded, {});
      BeginPhase(claimed, BuildPhaseType::kProvisioning, now);
      GANTRY_RETURN_IF_ERROR(tx.Put(kBuildTable, scope, id, claimed).status());
      Document marked = entry.doc;
      marked["Running"] = true;
      return tx.Put(kActiveTable, "", entry.key, marked).status();
    });
    if (!claim.ok()) {
      std::lock_guard lock(mu_);
      running_.erase(id);
      continue;
    }
    Announce(before, claimed);
    ++started;
    if (run_inline) {
      RunBuild(running);
      Reap();
    } else {
      running->thread = std::thread([this, running] { RunBuild(running); });
    }
  }
  return started;
}

void BuildQueue::RunBuild(const std::shared_ptr<Running>& running) {
  try {
    BuildSession session(deps_, options_, &announcer_, running->scope, running->id, &running->flags);
    session.Run(*running->engine);
  } catch (const std::exception& e) {
    // A bug, not the build's doing: the build ends FAULT rather than the server.
    GANTRY_LOG(kError, "codebuild: build " << running->id << " failed inside Gantry: " << e.what());
    Document before;
    auto ended = UpdateBuild(*deps_.store, running->scope, running->id, [&](Document& r) -> Status {
      before = r;
      if (!IsComplete(r)) {
        CompleteBuild(r, BuildStatus::kFault, deps_.clock->Now(),
                      {{"INTERNAL_ERROR", "Gantry failed while running this build; see its log."}});
      }
      return Status::Ok();
    });
    if (ended.ok()) Announce(before, *ended);
  }
  running->done = true;
  Wake();
}

Status BuildQueue::ResolveInterrupted() {
  GANTRY_ASSIGN_OR_RETURN(store::ListPage active, deps_.store->List(kActiveTable, ""));
  TimePoint now = deps_.clock->Now();
  for (const store::Record& entry : active.records) {
    std::string scope = entry.doc.value("Scope", "");
    std::string id = entry.doc.value("Id", "");
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> found, deps_.store->Get(kBuildTable, scope, id));
    if (!found || IsComplete(found->doc)) {
      GANTRY_RETURN_IF_ERROR(deps_.store->Delete(kActiveTable, "", entry.key).status());
      continue;
    }
    std::string phase = found->doc["Build"].value("currentPhase", "");
    if (phase == "SUBMITTED" || phase == "QUEUED") continue;
    int killed = KillBuildProcesses(id);
    if (killed > 0) GANTRY_LOG(kInfo, "codebuild: ended " << killed << " process(es) left by build " << id);
    Document before = found->doc;
    GANTRY_ASSIGN_OR_RETURN(Document after, UpdateBuild(*deps_.store, scope, id, [&](Document& r) -> Status {
                              if (r.value("StopRequested", false)) {
                                CompleteBuild(r, BuildStatus::kStopped, now);
                              } else {
                                CompleteBuild(r, BuildStatus::kFault, now, {InterruptedContext(phase, true)});
                              }
                              return Status::Ok();
                            }));
    Announce(before, after);
  }
  // Nothing runs yet: every build directory left behind belongs to a build that ended. Its
  // container (a killed Gantry's) goes first, then whatever is still mounted in it (the overlay
  // root), so that nothing is deleted through a mount; a directory something stays mounted in is
  // left as it is.
  runtime::RemoveStaleContainers(runtime::FindRunc(), runtime::DefaultRuncRoot(options_.state_dir), options_.work_root);
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator(options_.work_root, ec)) {
    if (!runtime::UnmountAllUnder(dir.path().string())) {
      GANTRY_LOG(kWarn, "codebuild: not removing " << dir.path().string() << ": something stays mounted in it");
      continue;
    }
    std::filesystem::remove_all(dir.path(), ec);
  }
  // Image trees whose removal was postponed while builds ran on them.
  if (!options_.image_dir.empty()) runtime::ImageStore(options_.image_dir).CollectGarbage();
  return Status::Ok();
}

void BuildQueue::StopRunning(const std::string& build_id) {
  std::shared_ptr<Running> running;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(build_id);
    if (it == running_.end()) return;
    running = it->second;
  }
  running->flags.user_stop = true;
  running->flags.stop = true;
  running->engine->RequestStop();
}

}  // namespace gantry::services::codebuild
