#include "services/codecommit/codecommit_service.h"

#include "services/codecommit/git.h"
#include "services/codecommit/git_http.h"
#include "services/codecommit/handlers.h"

namespace gantry::services::codecommit {

CodeCommitService::CodeCommitService(CodeCommitDeps deps) : deps_(std::move(deps)) { git::Init(); }

void CodeCommitService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterRepositoryHandlers(table, deps_);
  RegisterPullRequestHandlers(table, deps_);
}

Status CodeCommitService::Start() { return PrepareGitHosting(deps_); }

bool CodeCommitService::ServeHttp(http::Request& request, const aws::HttpServeContext& context,
                                  http::Response& response) {
  std::optional<GitRoute> route = ParseGitRoute(request);
  if (!route) return false;
  ServeGit(deps_, *route, request, context, response);
  return true;
}

}  // namespace gantry::services::codecommit
