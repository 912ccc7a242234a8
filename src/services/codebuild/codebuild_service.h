// CodeBuild: build projects and builds through the API (awsJson 1.1), run for real. Projects are
// validated as CodeBuild validates them (service role passed by the caller and assumable by
// codebuild.amazonaws.com) and stored; StartBuild, RetryBuild and EventBridge targets create builds
// that wait in a durable queue and run, at most `concurrent_builds` at once, through the build
// engine (runtime/build) in a host sandbox outside the state directory, as the project's service
// role. Build records carry every phase with its times, status and contexts; logs stream to
// CloudWatch Logs (and S3), artifacts go to S3, and state and phase changes are EventBridge events.
//
// Start() makes the build directory (0700; an existing one must be this user's and writable by no
// other, else Start fails saying so), resolves builds a previous run left in flight (they end FAULT
// with a context saying why, or STOPPED when StopBuild had been asked; queued builds stay queued
// and run) and starts the scheduler; Stop() ends running builds (their process trees are killed,
// they end FAULT), stops it and removes the emptied build directory. Tests drive the queue with
// queue().Pass(true) instead of Start().
//
// Handlers are thread-safe; Start/Stop are called from one thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"
#include "services/codebuild/batch_runner.h"
#include "services/codebuild/build_queue.h"
#include "services/codebuild/handlers.h"

namespace gantry::services::codebuild {

struct CodeBuildOptions {
  std::string state_dir;  // hidden from builds
  std::string work_root;  // where builds run; "" = DefaultWorkRoot(state_dir)
  int concurrent_builds = 4;
  std::chrono::seconds minute{60};        // the length of a minute of build and queued timeouts
  std::function<std::string()> endpoint;  // Gantry's URL, for AWS_ENDPOINT_URL and CodeCommit sources
  BuildEngineFactory engine;              // what runs builds (MakeRuntimeEngine in the server)
  bool isolate = true;
  std::string image_dir;                  // registered container images; "" = DefaultImageDir(state_dir)
};

// $TMPDIR/gantry-builds-<12 hex digits of the state directory's SHA-256> (or /tmp/...).
std::string DefaultWorkRoot(const std::string& state_dir);

class CodeBuildService final : public aws::Service {
 public:
  // Pointers must outlive the service.
  CodeBuildService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client, CodeBuildOptions options);
  ~CodeBuildService() override;

  std::string_view name() const override { return "codebuild"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  Status Start() override;
  void Stop() override;

  BuildQueue& queue() { return *queue_; }

 private:
  std::unique_ptr<BuildQueue> queue_;
  std::unique_ptr<BatchRunner> batches_;
  CodeBuildDeps deps_;
  bool work_root_prepared_ = false;  // Start made (or accepted) the build directory
};

}  // namespace gantry::services::codebuild
