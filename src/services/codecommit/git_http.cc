#include "services/codecommit/git_http.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/log.h"
#include "core/common/strings.h"
#include "services/codecommit/cgi.h"
#include "services/codecommit/git_credentials.h"
#include "services/codecommit/records.h"

namespace gantry::services::codecommit {

namespace {

constexpr std::string_view kRoutePrefix = "/v1/repos/";
// Responses up to this size are sent from memory; larger ones (clones) from the spool file.
constexpr uint64_t kMaxMemoryResponse = 1 << 20;

// Refuses a push that deletes the default branch; the other refs of the push go ahead.
constexpr std::string_view kUpdateHook = R"(#!/bin/sh
# Gantry CodeCommit: the default branch of a repository cannot be deleted by a push.
case "$3" in *[!0]*) exit 0 ;; esac
if [ -n "$GANTRY_DEFAULT_BRANCH" ] && [ "$1" = "refs/heads/$GANTRY_DEFAULT_BRANCH" ]; then
  echo "The default branch $GANTRY_DEFAULT_BRANCH cannot be deleted. Make another branch the default first" \
    "(aws codecommit update-default-branch)." >&2
  exit 1
fi
exit 0
)";

// Hands the ref updates of a push ("<old> <new> <ref>" lines) to Gantry.
constexpr std::string_view kPostReceiveHook = R"(#!/bin/sh
# Gantry CodeCommit: records the ref updates of this push for its events.
[ -n "$GANTRY_REF_LOG" ] || exit 0
cat >> "$GANTRY_REF_LOG"
)";

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

void Text(http::Response& response, int status, std::string_view message) {
  response.status = status;
  response.headers.Set("Content-Type", "text/plain; charset=utf-8");
  response.body = std::string(message) + "\n";
}

void Challenge(http::Response& response, std::string_view why) {
  Text(response, 401, why);
  response.headers.Set("WWW-Authenticate", "Basic realm=\"Gantry CodeCommit\"");
}

Status WriteHook(const std::string& path, std::string_view text) {
  std::ifstream existing(path, std::ios::binary);
  std::stringstream current;
  current << existing.rdbuf();
  if (existing && current.str() == text) return Status::Ok();
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return Status::Internal("cannot write the git hook " + temp);
  }
  if (::chmod(temp.c_str(), 0755) != 0 || std::rename(temp.c_str(), path.c_str()) != 0) {
    return Status::Internal("cannot install the git hook " + path);
  }
  return Status::Ok();
}

bool IsZeroOid(std::string_view oid) { return oid.find_first_not_of('0') == std::string_view::npos; }

// The "<old> <new> <ref>" lines the post-receive hook wrote.
std::vector<ReferenceChange> ReadRefLog(const std::string& path) {
  std::vector<ReferenceChange> changes;
  std::ifstream in(path);
  std::string old_id, new_id, ref;
  while (in >> old_id >> new_id >> ref) {
    ReferenceChange change;
    change.full_name = ref;
    if (!IsZeroOid(old_id)) change.old_commit_id = old_id;
    if (!IsZeroOid(new_id)) change.commit_id = new_id;
    changes.push_back(std::move(change));
  }
  return changes;
}

std::vector<std::string> BackendEnvironment(const CodeCommitDeps& deps, const GitRoute& route,
                                            const http::Request& request, const aws::Principal& principal,
                                            const Document& repository, const std::string& ref_log) {
  std::vector<std::string> env = {
      "GIT_PROJECT_ROOT=" + deps.repos_root,
      "PATH_INFO=/" + repository.value("repositoryId", "") + "/" + route.suffix,
      "REQUEST_METHOD=" + request.method,
      "QUERY_STRING=" + request.query,
      "REMOTE_USER=" + principal.arn,
      "REMOTE_ADDR=" + request.remote_address,
      "GIT_HTTP_EXPORT_ALL=1",
      "HOME=" + deps.work_dir,
      "GIT_CONFIG_NOSYSTEM=1",
      "GIT_CONFIG_GLOBAL=/dev/null",
  };
  if (const char* path = std::getenv("PATH")) env.push_back(std::string("PATH=") + path);
  if (request.method == "POST") {
    env.push_back("CONTENT_LENGTH=" + std::to_string(request.body_size));
    env.push_back("CONTENT_TYPE=" + std::string(request.headers.Get("Content-Type")));
  }
  if (std::string_view encoding = request.headers.Get("Content-Encoding"); !encoding.empty()) {
    env.push_back("HTTP_CONTENT_ENCODING=" + std::string(encoding));
  }
  if (std::string_view protocol = request.headers.Get("Git-Protocol"); !protocol.empty()) {
    env.push_back("GIT_PROTOCOL=" + std::string(protocol));
    env.push_back("HTTP_GIT_PROTOCOL=" + std::string(protocol));
  }
  const std::vector<std::pair<std::string, std::string>> config = {
      {"core.hooksPath", deps.work_dir + "/hooks"},
      {"core.fsync", "committed"},
      {"http.receivepack", "true"},
      {"http.uploadpack", "true"},
      {"uploadpack.allowFilter", "true"},
      {"uploadpack.allowAnySHA1InWant", "true"},
      {"receive.advertisePushOptions", "false"},
      // The update hook refuses deleting the default branch with CodeCommit's reason.
      {"receive.denyDeleteCurrent", "ignore"},
  };
  env.push_back("GIT_CONFIG_COUNT=" + std::to_string(config.size()));
  for (size_t i = 0; i < config.size(); ++i) {
    env.push_back("GIT_CONFIG_KEY_" + std::to_string(i) + "=" + config[i].first);
    env.push_back("GIT_CONFIG_VALUE_" + std::to_string(i) + "=" + config[i].second);
  }
  if (route.push) {
    env.push_back("GANTRY_DEFAULT_BRANCH=" + repository.value("defaultBranch", ""));
    env.push_back("GANTRY_REF_LOG=" + ref_log);
  }
  return env;
}

void RemoveFile(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

}  // namespace

std::optional<GitRoute> ParseGitRoute(const http::Request& request) {
  if (!StartsWith(request.path, kRoutePrefix)) return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD" && request.method != "POST") return std::nullopt;
  std::string_view rest = std::string_view(request.path).substr(kRoutePrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  std::optional<std::string> name = UriDecode(rest.substr(0, slash));
  if (!name) return std::nullopt;
  GitRoute route;
  route.repository = *name;
  route.url_path = std::string(kRoutePrefix) + std::string(rest.substr(0, slash));
  route.suffix = std::string(rest.substr(slash + 1));
  bool known = route.suffix == "info/refs" || route.suffix == "git-upload-pack" || route.suffix == "git-receive-pack" ||
               route.suffix == "HEAD" || StartsWith(route.suffix, "objects/");
  if (!known || route.suffix.find("..") != std::string::npos) return std::nullopt;
  bool receive_advertisement = false;
  if (route.suffix == "info/refs") {
    for (const auto& [key, value] : request.QueryParams()) {
      if (key == "service" && value == "git-receive-pack") receive_advertisement = true;
    }
  }
  route.push = route.suffix == "git-receive-pack" || receive_advertisement;
  return route;
}

Status PrepareGitHosting(const CodeCommitDeps& deps) {
  std::error_code ec;
  for (const std::string& dir : {deps.repos_root, deps.work_dir + "/hooks", deps.work_dir + "/spool"}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::Internal("cannot create " + dir + ": " + ec.message());
  }
  for (const auto& entry : std::filesystem::directory_iterator(deps.work_dir + "/spool", ec)) {
    std::filesystem::remove_all(entry.path(), ec);
  }
  GANTRY_RETURN_IF_ERROR(WriteHook(deps.work_dir + "/hooks/update", kUpdateHook));
  return WriteHook(deps.work_dir + "/hooks/post-receive", kPostReceiveHook);
}

void ServeGit(const CodeCommitDeps& deps, const GitRoute& route, const http::Request& request,
              const aws::HttpServeContext& context, http::Response& response) {
  TimePoint now = deps.clock->Now();
  aws::Principal principal;
  if (context.accept_any_credentials) {
    principal = aws::Principal::Root(context.account_id);
  } else {
    std::optional<BasicCredentials> basic = ParseBasicAuthorization(request.headers.Get("Authorization"));
    if (!basic)
      return Challenge(response,
                       "Authentication required: use the aws codecommit credential helper or HTTPS Git credentials.");
    StatusOr<aws::Principal> who = AuthenticateGit(context, *basic, route.url_path, request.headers.Get("Host"), now);
    if (!who.ok()) return Challenge(response, who.status().message());
    principal = std::move(*who);
  }

  aws::RequestContext ctx;
  ctx.request_id = request.request_id;
  ctx.region = context.region;
  ctx.account_id = principal.account_id;
  ctx.principal = principal;
  ctx.time = now;
  ctx.source_ip = request.remote_address;
  ctx.http = &request;
  ctx.authorizer = context.authorizer;
  const std::string arn = RepositoryArn(ctx.region, ctx.account_id, route.repository);
  if (context.authorizer != nullptr) {
    Status allowed =
        context.authorizer->AuthorizeAction(ctx, route.push ? "codecommit:GitPush" : "codecommit:GitPull", arn);
    if (!allowed.ok()) return Text(response, 403, allowed.message());
  }
  StatusOr<store::Record> record = RequireRepository(*deps.store, ctx.Scope(), route.repository);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound || record.status().code() == StatusCode::kInvalidArgument) {
      return Text(response, 404, "Repository " + route.repository + " not found in " + ctx.region + ".");
    }
    GANTRY_LOG(kError, "codecommit: " << arn << ": " << record.status().ToString());
    return Text(response, 500, "The repository could not be read; try again.");
  }
  const Document& repository = record->doc;

  const std::string spool = deps.work_dir + "/spool/" + deps.ids->Uuid();
  const std::string ref_log = spool + ".refs";
  CgiInvocation invocation;
  invocation.argv = {"git", "http-backend"};
  invocation.env = BackendEnvironment(deps, route, request, principal, repository, ref_log);
  invocation.stdin_file = request.body_file;
  invocation.stdin_data = request.body;
  invocation.output_path = spool;
  StatusOr<CgiOutput> output = RunCgi(invocation);
  if (!output.ok()) {
    RemoveFile(spool);
    RemoveFile(ref_log);
    GANTRY_LOG(kError, "codecommit: git http-backend for " << arn << ": " << output.status().ToString());
    return Text(response, 500, "git http-backend failed; see the server log.");
  }
  if (output->exit_code != 0 && !output->stderr_text.empty()) {
    GANTRY_LOG(kWarn, "codecommit: git http-backend for " << arn << " exited with " << output->exit_code << ": "
                                                          << output->stderr_text);
  }
  if (route.push && request.method == "POST") {
    std::vector<ReferenceChange> changes = ReadRefLog(ref_log);
    RemoveFile(ref_log);
    if (!changes.empty()) PublishReferenceChanges(deps, repository, changes, principal.arn);
  }

  response.status = output->status;
  for (const auto& [name, value] : output->headers) response.headers.Set(name, value);
  if (output->body_size <= kMaxMemoryResponse) {
    std::ifstream in(spool, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(output->body_offset));
    response.body.resize(output->body_size);
    in.read(response.body.data(), static_cast<std::streamsize>(output->body_size));
    response.body.resize(static_cast<size_t>(in.gcount()));
    RemoveFile(spool);
  } else {
    response.body_file = spool;
    response.file_offset = output->body_offset;
    response.file_length = output->body_size;
    response.remove_body_file = true;
  }
}

}  // namespace gantry::services::codecommit
