#include "services/codecommit/git.h"

#include <filesystem>
#include <mutex>

namespace gantry::services::codecommit::git {

void Init() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
  });
}

Status Error(int rc, std::string_view what) {
  const git_error* error = git_error_last();
  std::string detail = error != nullptr && error->message != nullptr ? error->message : "error " + std::to_string(rc);
  return Status::Internal(std::string(what) + ": " + detail);
}

Status Check(int rc, std::string_view what) { return rc < 0 ? Error(rc, what) : Status::Ok(); }

StatusOr<Repository> Open(const std::string& path) {
  Init();
  git_repository* repo = nullptr;
  int rc = git_repository_open_bare(&repo, path.c_str());
  if (rc < 0) return Error(rc, "opening repository " + path);
  return Repository(repo);
}

StatusOr<Repository> InitBare(const std::string& path) {
  Init();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return Status::Internal("creating " + path + ": " + ec.message());
  git_repository_init_options options = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  options.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
  options.initial_head = "main";
  git_repository* repo = nullptr;
  int rc = git_repository_init_ext(&repo, path.c_str(), &options);
  if (rc < 0) return Error(rc, "creating repository " + path);
  return Repository(repo);
}

std::string OidHex(const git_oid& oid) {
  char buffer[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buffer, sizeof(buffer), &oid);
  return buffer;
}

bool ParseOid(std::string_view hex, git_oid& out) {
  if (hex.size() != GIT_OID_HEXSZ) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return git_oid_fromstrn(&out, hex.data(), hex.size()) == 0;
}

}  // namespace gantry::services::codecommit::git
