// What the CodeCommit handler files share: reading string members, and registering a handler
// function that takes the service's deps. Header-only; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/aws/service.h"
#include "services/codecommit/codecommit_service.h"

namespace gantry::services::codecommit {

using HandlerFunction = StatusOr<aws::Document> (*)(const CodeCommitDeps&, aws::RequestContext&, const aws::Document&);

inline std::string Str(const aws::Document& input, const char* member) {
  auto it = input.find(member);
  return it != input.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline void AddHandler(aws::HandlerTable& table, const CodeCommitDeps& deps, std::string_view operation,
                       HandlerFunction fn) {
  table.Add("codecommit", operation,
            [&deps, fn](aws::RequestContext& ctx, const aws::Document& input) { return fn(deps, ctx, input); });
}

// Branches, commits and differences (branch_handlers.cc); blobs, files, folders and the commits
// PutFile, DeleteFile and CreateCommit make (file_handlers.cc). RegisterRepositoryHandlers calls them.
void RegisterBranchHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps);
void RegisterFileHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps);

}  // namespace gantry::services::codecommit
