// What the CodeCommit handler files share: reading string members, offset continuation tokens,
// and registering a handler function that takes the service's deps. Header-only; thread-safe.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include "core/aws/service.h"
#include "core/common/strings.h"
#include "services/codecommit/codecommit_service.h"

namespace gantry::services::codecommit {

using HandlerFunction = StatusOr<aws::Document> (*)(const CodeCommitDeps&, aws::RequestContext&, const aws::Document&);

inline std::string Str(const aws::Document& input, const char* member) {
  auto it = input.find(member);
  return it != input.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The offset in a continuation token made as Base64Encode(tag + decimal offset), e.g. "o:1000";
// nullopt when the token is not one (not base64, another tag, not a decimal that fits size_t).
inline std::optional<size_t> OffsetToken(std::string_view token, std::string_view tag) {
  std::optional<std::string> decoded = Base64Decode(token);
  if (!decoded || decoded->size() <= tag.size() || decoded->compare(0, tag.size(), tag) != 0) return std::nullopt;
  size_t offset = 0;
  const char* end = decoded->data() + decoded->size();
  auto [stop, error] = std::from_chars(decoded->data() + tag.size(), end, offset);
  if (error != std::errc() || stop != end) return std::nullopt;
  return offset;
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
