#include "services/codebuild/codebuild_service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/common/crypto.h"
#include "core/common/strings.h"

namespace gantry::services::codebuild {

std::string DefaultWorkRoot(const std::string& state_dir) {
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(state_dir, ec).lexically_normal().string();
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  return base + "/gantry-builds-" + HexEncode(Sha256(absolute)).substr(0, 12);
}

CodeBuildService::CodeBuildService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client,
                                   CodeBuildOptions options) {
  BuildQueueOptions queue;
  queue.concurrent_builds = options.concurrent_builds;
  queue.minute = options.minute;
  queue.endpoint = std::move(options.endpoint);
  queue.engine = std::move(options.engine);
  queue.state_dir = options.state_dir;
  queue.work_root = options.work_root.empty() ? DefaultWorkRoot(options.state_dir) : options.work_root;
  queue.isolate = options.isolate;
  queue_ = std::make_unique<BuildQueue>(BuildQueueDeps{store, clock, ids, client}, std::move(queue));
  deps_ = {store, clock, ids, client, queue_.get()};
}

CodeBuildService::~CodeBuildService() { Stop(); }

void CodeBuildService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterProjectHandlers(table, deps_);
  RegisterBuildHandlers(table, deps_);
}

Status CodeBuildService::Start() {
  const std::string& root = queue_->options().work_root;
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return Status::Internal("cannot create the build directory " + root + ": " + ec.message());
  ::chmod(root.c_str(), 0700);
  return queue_->Start();
}

void CodeBuildService::Stop() {
  queue_->Stop();
  // Every build has ended and removed its directory: the root goes too (rmdir fails if it is not empty).
  ::rmdir(queue_->options().work_root.c_str());
}

}  // namespace gantry::services::codebuild
