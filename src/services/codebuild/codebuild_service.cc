#include "services/codebuild/codebuild_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "runtime/build/image_store.h"

namespace gantry::services::codebuild {

namespace {

// The build directory, private to Gantry's user: made 0700, or, when it exists (a previous run's,
// or one somebody else made in a shared /tmp), accepted only as a real directory of this user that
// no other user can write, and made 0700.
Status PrepareWorkRoot(const std::string& root) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(root).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Status::Internal("cannot create " + parent.string() + " for the build directory: " + ec.message());
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Internal("cannot create the build directory " + root + ": " + std::strerror(errno));
  }
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return Status::FailedPrecondition("the build directory " + root + " cannot be used: " + std::strerror(errno) +
                                      " (it must be a directory, not a symbolic link); remove it or set TMPDIR "
                                      "to a directory of your own");
  }
  struct stat st {};
  Status status;
  if (::fstat(fd, &st) != 0) {
    status = Status::Internal("cannot inspect the build directory " + root + ": " + std::strerror(errno));
  } else if (st.st_uid != ::geteuid()) {
    status = Status::FailedPrecondition("the build directory " + root + " belongs to uid " + std::to_string(st.st_uid) +
                                        ", not to Gantry's user (uid " + std::to_string(::geteuid()) +
                                        "), who could read and change builds there; remove it or set TMPDIR "
                                        "to a directory of your own");
  } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    status = Status::FailedPrecondition("the build directory " + root + " is writable by other users (mode " + mode +
                                        "), who could change builds there; remove it or set TMPDIR to a "
                                        "directory of your own");
  } else if ((st.st_mode & 07777) != 0700 && ::fchmod(fd, 0700) != 0) {
    status =
        Status::Internal("cannot make the build directory " + root + " private (chmod 0700): " + std::strerror(errno));
  }
  ::close(fd);
  return status;
}

}  // namespace

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
  queue.image_dir = options.image_dir.empty() ? runtime::DefaultImageDir(options.state_dir) : options.image_dir;
  queue_ = std::make_unique<BuildQueue>(BuildQueueDeps{store, clock, ids, client}, std::move(queue));
  deps_ = {store, clock, ids, client, queue_.get()};
  batches_ = std::make_unique<BatchRunner>(deps_);
  deps_.batches = batches_.get();
}

CodeBuildService::~CodeBuildService() { Stop(); }

void CodeBuildService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterProjectHandlers(table, deps_);
  RegisterBuildHandlers(table, deps_);
  RegisterReportHandlers(table, deps_);
  RegisterBatchHandlers(table, deps_);
}

Status CodeBuildService::Start() {
  GANTRY_RETURN_IF_ERROR(PrepareWorkRoot(queue_->options().work_root));
  work_root_prepared_ = true;
  GANTRY_RETURN_IF_ERROR(queue_->Start());
  // After the queue resolved the builds a previous run left in flight: batches go on from their outcome.
  batches_->Start();
  return Status::Ok();
}

void CodeBuildService::Stop() {
  batches_->Stop();
  queue_->Stop();
  // Every build has ended and removed its directory: the root goes too (rmdir fails if it is not
  // empty), when it is the one Start prepared.
  if (work_root_prepared_) ::rmdir(queue_->options().work_root.c_str());
  work_root_prepared_ = false;
}

}  // namespace gantry::services::codebuild
