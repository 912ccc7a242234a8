// The CodeCommit operation groups, each registering its handlers into the table: repositories,
// branches, commits, files, differences, triggers and tags (repository_handlers.cc); pull
// requests, comments, approvals and merges (pull_request_handlers.cc).
// Registration happens once at start; handlers are thread-safe.
#pragma once

#include "core/aws/service.h"
#include "services/codecommit/codecommit_service.h"

namespace gantry::services::codecommit {

void RegisterRepositoryHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps);
void RegisterPullRequestHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps);

}  // namespace gantry::services::codecommit
