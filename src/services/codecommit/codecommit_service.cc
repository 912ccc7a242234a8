#include "services/codecommit/codecommit_service.h"

#include "services/codecommit/git.h"
#include "services/codecommit/git_http.h"
#include "services/codecommit/handlers.h"
#include "services/codecommit/triggers.h"

namespace gantry::services::codecommit {

CodeCommitService::CodeCommitService(CodeCommitDeps deps) : deps_(std::move(deps)) { git::Init(); }

void CodeCommitService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterRepositoryHandlers(table, deps_);
  RegisterPullRequestHandlers(table, deps_);
}

Status CodeCommitService::Start() {
  GANTRY_RETURN_IF_ERROR(PrepareGitHosting(deps_));
  ReplayPendingPushes(deps_);
  return Status::Ok();
}

bool CodeCommitService::ServeAdmin(std::string_view subpath, const http::Request& request,
                                   const std::string& account_id, const std::string& region, http::Response& response) {
  if (subpath != "trigger-deliveries") return false;
  WriteTriggerDeliveries(*deps_.store, request, account_id, region, response);
  return true;
}

bool CodeCommitService::ServeHttp(http::Request& request, const aws::HttpServeContext& context,
                                  http::Response& response) {
  std::optional<GitRoute> route = ParseGitRoute(request);
  if (!route) return false;
  ServeGit(deps_, *route, request, context, response);
  return true;
}

}  // namespace gantry::services::codecommit
