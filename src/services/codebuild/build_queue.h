// The build queue and its workers: builds wait QUEUED (oldest first) until one of the
// `concurrent_builds` slots is free, then run on a worker thread through a BuildEngine (the
// runtime's BuildRunner in the server), their record updated by a BuildSession. A pass of the
// scheduler moves new builds from SUBMITTED to QUEUED, ends queued builds whose
// queuedTimeoutInMinutes passed (TIMED_OUT) and starts queued builds while slots are free. Every
// transition is persisted before it is announced or acted on.
//
// Restart: ResolveInterrupted (called by Start) ends builds a previous run left past QUEUED (the
// process died or stopped mid-build) with FAULT and a phase context saying why (STOPPED when
// StopBuild had been asked), kills what is left of their processes (found by their
// CODEBUILD_BUILD_ID) and removes their work directories (their containers deleted and whatever is
// mounted in them unmounted first, docs/containers.md) and image trees whose removal waited for
// builds; builds still SUBMITTED or QUEUED stay in
// the queue and run. Stop ends running builds the same way (FAULT,
// "Gantry stopped"), killing their process trees, before it returns.
//
// Thread-safety: all public methods are thread-safe. Start/Stop are called from one thread. Tests
// leave the thread off and call Pass(true), which runs started builds on the calling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"
#include "runtime/build/build_runner.h"
#include "services/codebuild/build_events.h"

namespace gantry::services::codebuild {

// What runs a build: runtime::BuildRunner in the server, a scripted engine in tests.
class BuildEngine {
 public:
  virtual ~BuildEngine() = default;
  virtual runtime::BuildOutcome Run(const runtime::BuildRequest& request, runtime::BuildHooks& hooks) = 0;
  virtual void RequestStop() = 0;
};
using BuildEngineFactory = std::function<std::unique_ptr<BuildEngine>()>;
// runtime::BuildRunner behind BuildEngine (runtime_engine.cc, which links the runtime).
std::unique_ptr<BuildEngine> MakeRuntimeEngine();

struct BuildQueueOptions {
  int concurrent_builds = 4;              // builds running at once (all accounts)
  std::chrono::seconds minute{60};        // what a minute of timeoutInMinutes and queuedTimeoutInMinutes lasts
  std::function<std::string()> endpoint;  // Gantry's URL ("http://host:port"); builds wait until it is known
  BuildEngineFactory engine;              // required
  std::string work_root;                  // build directories: <work_root>/<build uuid>
  std::string state_dir;                  // hidden from the sandbox
  // The registered container images (runtime::ImageStore); "" = none: only the curated images run,
  // in the host sandbox.
  std::string image_dir;
  bool isolate = true;                    // namespaces and cgroups where the host allows
};

struct BuildQueueDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  aws::Client* client = nullptr;
};

class BuildQueue {
 public:
  BuildQueue(BuildQueueDeps deps, BuildQueueOptions options);
  ~BuildQueue();
  BuildQueue(const BuildQueue&) = delete;
  BuildQueue& operator=(const BuildQueue&) = delete;

  // Resolves what a previous run left in flight, then starts the scheduler thread.
  Status Start();
  void Stop();
  // A build was submitted (or a slot freed): run a pass soon.
  void Wake();

  // One scheduler pass at the clock's now; returns how many builds it started. With run_inline the
  // builds run to completion on the calling thread, one after the other (tests).
  int Pass(bool run_inline);
  Status ResolveInterrupted();
  // Asks the engine of a running build to stop (StopBuild persisted StopRequested first).
  void StopRunning(const std::string& build_id);

  // The events of a persisted change of a build record (see BuildAnnouncer).
  void Announce(std::optional<aws::Document> before, aws::Document after) {
    announcer_.Announce(std::move(before), std::move(after));
  }

  int concurrent_builds() const { return options_.concurrent_builds; }
  // Builds waiting (SUBMITTED or QUEUED) may be at most five times the concurrent limit, as in AWS.
  int max_queued() const { return options_.concurrent_builds * 5; }
  const BuildQueueOptions& options() const { return options_; }

 private:
  struct Running;
  void Loop();
  // Runs one claimed build to the end (on a worker thread or inline).
  void RunBuild(const std::shared_ptr<Running>& running);
  void Reap();

  BuildQueueDeps deps_;
  BuildQueueOptions options_;
  BuildAnnouncer announcer_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Running>> running_;  // by build id
  std::thread thread_;
};

}  // namespace gantry::services::codebuild
