// CodeCommit: git repositories hosted by Gantry. Bare repositories live under
// <state-dir>/codecommit/repos/<repositoryId>; their records (name, description, default branch,
// triggers, tags) live in the store. The API (awsJson1_1) is split between repository handlers
// (repositories, branches, commits, files, differences, triggers, tags) and pull request handlers
// (pull requests, comments, approvals, merges); git's smart HTTP protocol is served at
// /v1/repos/<name> through ServeHttp.
//
// Handlers, ServeHttp and ServeAdmin are thread-safe (each request opens its own libgit2 repository).
#pragma once

#include <functional>
#include <string>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"

namespace gantry::services::codecommit {

// What every CodeCommit handler shares; pointers outlive the service.
struct CodeCommitDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  aws::Client* client = nullptr;  // in-process calls (events PutEvents)
  std::string repos_root;         // <state-dir>/codecommit/repos
  std::string work_dir;           // <state-dir>/codecommit: git hooks, spooled git responses
  std::string account_id;         // the server's default account
  std::string region;             // the server's region (credential-helper signatures are verified in it)
  // http://host:port the server listens on: the clone URLs of in-process calls (no Host header).
  std::function<std::string()> endpoint;
};

class CodeCommitService final : public aws::Service {
 public:
  explicit CodeCommitService(CodeCommitDeps deps);

  std::string_view name() const override { return "codecommit"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  // Installs the git hooks, empties the spool left by a previous run and publishes the pushes it
  // left unpublished (ReplayPendingPushes).
  Status Start() override;
  // GET /_gantry/codecommit/trigger-deliveries: the last delivery outcome of each trigger.
  bool ServeAdmin(std::string_view subpath, const http::Request& request, const std::string& account_id,
                  const std::string& region, http::Response& response) override;
  // Git smart HTTP at /v1/repos/<name>/...
  bool ServeHttp(http::Request& request, const aws::HttpServeContext& context, http::Response& response) override;

  const CodeCommitDeps& deps() const { return deps_; }

 private:
  CodeCommitDeps deps_;
};

}  // namespace gantry::services::codecommit
