#include "services/codecommit/git_http.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <utility>

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

// Writes the push record (git_http.h): the push's context, then the "<old> <new> <ref>" lines,
// durably (fsynced file, atomic rename, fsynced directory), since Gantry may be gone by now.
constexpr std::string_view kPostReceiveHook = R"hook(#!/bin/sh
# Gantry CodeCommit: records the ref updates of this push for its events.
[ -n "$GANTRY_PUSH_RECORD" ] || exit 0
tmp="${GANTRY_PUSH_RECORD%.refs}.tmp"
if { printf '%s\n' "$GANTRY_PUSH_CONTEXT" && cat; } > "$tmp" && sync "$tmp" &&
   mv -f "$tmp" "$GANTRY_PUSH_RECORD" && sync "$(dirname "$GANTRY_PUSH_RECORD")"; then
  exit 0
fi
echo "Gantry could not record the ref updates of this push: no events are published for it." >&2
exit 1
)hook";

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

std::vector<std::string> BackendEnvironment(const CodeCommitDeps& deps, const GitRoute& route,
                                            const http::Request& request, const aws::Principal& principal,
                                            const Document& repository, const std::string& push_record) {
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
      // fsync objects (loose and packed, with their indexes) and refs: git_http.h.
      {"core.fsync", "committed,reference"},
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
  if (route.push) env.push_back("GANTRY_DEFAULT_BRANCH=" + repository.value("defaultBranch", ""));
  if (!push_record.empty()) {
    Document context = {{"accountId", repository.value("accountId", "")},
                        {"region", repository.value("region", "")},
                        {"repositoryId", repository.value("repositoryId", "")},
                        {"repositoryName", repository.value("repositoryName", "")},
                        {"callerArn", principal.arn}};
    env.push_back("GANTRY_PUSH_RECORD=" + push_record);
    env.push_back("GANTRY_PUSH_CONTEXT=" + context.dump(-1, ' ', false, Document::error_handler_t::replace));
  }
  return env;
}

void RemoveFile(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

// Removes a file when it goes out of scope, unless released (handed to the response).
class FileRemover {
 public:
  explicit FileRemover(std::string path) : path_(std::move(path)) {}
  FileRemover(const FileRemover&) = delete;
  FileRemover& operator=(const FileRemover&) = delete;
  ~FileRemover() {
    if (!path_.empty()) RemoveFile(path_);
  }
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

void SyncDirectory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Creates dir (and missing parents); a directory made here is fsynced into its parent, so files
// fsynced in it later are found after a power loss.
Status MakeDurableDirectory(const std::string& dir) {
  std::error_code ec;
  bool created = std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create " + dir + ": " + ec.message());
  if (created) SyncDirectory(std::filesystem::path(dir).parent_path().string());
  return Status::Ok();
}

std::string PendingRoot(const CodeCommitDeps& deps) { return deps.work_dir + "/pending"; }

// An exclusive flock on a push record's lock file. Releasing it unlinks the file first, so a
// waiter that locked the unlinked file notices (the path names another file, or none) and retries.
class PushLock {
 public:
  PushLock(const PushLock&) = delete;
  PushLock& operator=(const PushLock&) = delete;
  PushLock(PushLock&& other) noexcept : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  ~PushLock() {
    if (fd_ < 0) return;
    ::unlink(path_.c_str());
    ::close(fd_);
  }

  // The lock on path (created if missing); with wait false, nullopt when someone else holds it.
  static StatusOr<std::optional<PushLock>> Acquire(const std::string& path, bool wait) {
    while (true) {
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) return Status::Internal("cannot open " + path + ": " + std::strerror(errno));
      if (::flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
        int error = errno;
        ::close(fd);
        if (error == EINTR) continue;
        if (error == EWOULDBLOCK) return std::optional<PushLock>();
        return Status::Internal("cannot lock " + path + ": " + std::strerror(error));
      }
      struct stat held {};
      struct stat named {};
      if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
          held.st_dev == named.st_dev) {
        return std::optional<PushLock>(PushLock(path, fd));
      }
      ::close(fd);  // locked after its holder unlinked it: try the file the path names now
    }
  }

 private:
  PushLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

struct PushRecord {
  Document context;  // {accountId, region, repositoryId, repositoryName, callerArn}
  std::vector<ReferenceChange> changes;
};

// The push record at path: NotFound when there is none (the push moved no ref), InvalidArgument
// when its first line is not the context object.
StatusOr<PushRecord> ReadPushRecord(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("no push record " + path);
  std::string line;
  std::getline(in, line);
  PushRecord record;
  record.context = Document::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!record.context.is_object() || !record.context.value("repositoryId", Document()).is_string()) {
    return Status::InvalidArgument("the push record " + path + " does not start with its context");
  }
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string old_id, new_id, ref;
    if (!(fields >> old_id >> new_id >> ref)) continue;
    ReferenceChange change;
    change.full_name = ref;
    if (!IsZeroOid(old_id)) change.old_commit_id = old_id;
    if (!IsZeroOid(new_id)) change.commit_id = new_id;
    record.changes.push_back(std::move(change));
  }
  return record;
}

// The repository a push record is for, by name or, after a rename, by id; nullopt once deleted.
StatusOr<std::optional<Document>> FindRepository(const CodeCommitDeps& deps, const Document& context) {
  const std::string scope = context.value("accountId", "") + "/" + context.value("region", "");
  const std::string id = context.value("repositoryId", "");
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> named,
                          deps.store->Get(kRepositoryTable, scope, context.value("repositoryName", "")));
  if (named && named->doc.value("repositoryId", "") == id) return std::optional<Document>(named->doc);
  store::ListOptions options;
  options.limit = 500;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kRepositoryTable, scope, options));
    for (store::Record& record : page.records) {
      if (record.doc.value("repositoryId", "") == id) return std::optional<Document>(std::move(record.doc));
    }
    if (page.next_token.empty()) return std::optional<Document>();
    options.start_after = page.next_token;
  }
}

// Creates the repository's pending directory and locks a new push record there (the request holds
// the lock until the record is published); record is set to the record's path.
StatusOr<PushLock> LockNewPushRecord(const CodeCommitDeps& deps, const std::string& repository_id, TimePoint now,
                                     std::string& record) {
  const std::string dir = PendingRoot(deps) + "/" + repository_id;
  GANTRY_RETURN_IF_ERROR(MakeDurableDirectory(dir));
  char time[24];
  std::snprintf(
      time, sizeof(time), "%020" PRId64,
      static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()));
  const std::string stem = dir + "/" + time + "-" + deps.ids->Uuid();
  GANTRY_ASSIGN_OR_RETURN(std::optional<PushLock> lock, PushLock::Acquire(stem + ".lock", /*wait=*/true));
  record = stem + ".refs";
  return std::move(*lock);
}

// Publishes the push record at path, found by a replay, and deletes it; the caller holds its lock.
// Returns whether it was published.
bool ReplayPushRecord(const CodeCommitDeps& deps, const std::string& path) {
  StatusOr<PushRecord> record = ReadPushRecord(path);
  if (record.status().code() == StatusCode::kNotFound) return false;  // published meanwhile
  bool published = false;
  if (!record.ok()) {
    GANTRY_LOG(kError, "codecommit: dropping " << path << ": " << record.status().message());
  } else if (StatusOr<std::optional<Document>> repository = FindRepository(deps, record->context); !repository.ok()) {
    GANTRY_LOG(kWarn, "codecommit: " << path << " is kept for the next replay: " << repository.status().ToString());
    return false;
  } else if (!*repository) {
    GANTRY_LOG(kWarn, "codecommit: dropping " << path << ": repository " << record->context.value("repositoryId", "")
                                              << " no longer exists");
  } else {
    try {
      PublishReferenceChanges(deps, **repository, record->changes, record->context.value("callerArn", ""));
      published = true;
    } catch (const std::exception& e) {
      // A record that cannot be published would stop every later replay (and Start): dropped.
      GANTRY_LOG(kError, "codecommit: dropping " << path << ", which cannot be published: " << e.what());
    }
  }
  RemoveFile(path);
  return published;
}

// At most this much of a receive-pack body (decompressed) is read for its commands.
constexpr size_t kMaxCommandBytes = 16 << 20;

Status Malformed(std::string_view why) {
  return Status::InvalidArgument("The push request is malformed: " + std::string(why) + ".");
}

// Reads the body's bytes in order (its file, or memory) into `consume` until it returns false.
Status ReadBody(const http::Request& request, const std::function<bool(std::string_view)>& consume) {
  if (request.body_file.empty()) {
    consume(request.body);
    return Status::Ok();
  }
  std::ifstream in(request.body_file, std::ios::binary);
  if (!in) return Status::Internal("cannot read the request body " + request.body_file);
  std::string chunk(64 * 1024, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (in.gcount() > 0 && !consume(std::string_view(chunk.data(), static_cast<size_t>(in.gcount())))) break;
  }
  return Status::Ok();
}

// The body's first bytes (gunzipped when it is gzip-encoded), up to limit.
StatusOr<std::string> BodyPrefix(const http::Request& request, size_t limit) {
  std::string out;
  if (!EqualsIgnoreCase(request.headers.Get("Content-Encoding"), "gzip")) {
    GANTRY_RETURN_IF_ERROR(ReadBody(request, [&](std::string_view data) {
      out.append(data.substr(0, limit - out.size()));
      return out.size() < limit;
    }));
    return out;
  }
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Status::Internal("zlib: inflateInit2 failed");
  int rc = Z_OK;
  std::string buffer(64 * 1024, '\0');
  Status read = ReadBody(request, [&](std::string_view data) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    while (zs.avail_in > 0 && out.size() < limit && rc == Z_OK) {
      zs.next_out = reinterpret_cast<Bytef*>(buffer.data());
      zs.avail_out = static_cast<uInt>(buffer.size());
      rc = inflate(&zs, Z_NO_FLUSH);
      out.append(buffer.data(), buffer.size() - zs.avail_out);
    }
    return rc == Z_OK && out.size() < limit;
  });
  inflateEnd(&zs);
  GANTRY_RETURN_IF_ERROR(read);
  if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return Malformed("its gzip body is corrupt");
  if (out.size() > limit) out.resize(limit);
  return out;
}

bool IsHexOid(std::string_view s) {
  return s.size() == 40 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

StatusOr<std::vector<std::string>> ReceivePackRefs(const http::Request& request) {
  GANTRY_ASSIGN_OR_RETURN(std::string data, BodyPrefix(request, kMaxCommandBytes));
  std::vector<std::string> refs;
  size_t pos = 0;
  while (true) {
    if (data.size() - pos < 4) {
      return Malformed(data.size() >= kMaxCommandBytes ? "its ref updates exceed 16 MiB"
                                                       : "it ends before its flush-pkt");
    }
    std::optional<std::string> length_bytes = HexDecode(std::string_view(data).substr(pos, 4));
    if (!length_bytes) return Malformed("a pkt-line length is not hexadecimal");
    size_t length =
        (static_cast<unsigned char>((*length_bytes)[0]) << 8) | static_cast<unsigned char>((*length_bytes)[1]);
    if (length == 0) return refs;
    if (length < 4 || data.size() - pos < length) {
      return Malformed(length < 4 ? "a pkt-line has an invalid length" : "it ends inside a pkt-line");
    }
    std::string_view line = std::string_view(data).substr(pos + 4, length - 4);
    pos += length;
    line = line.substr(0, line.find('\0'));
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.substr(0, 8) == "shallow ") continue;
    if (line.size() < 84 || line[40] != ' ' || line[81] != ' ' || !IsHexOid(line.substr(0, 40)) ||
        !IsHexOid(line.substr(41, 40))) {
      return Malformed("a command is not \"<old-id> <new-id> <ref>\"");
    }
    refs.emplace_back(line.substr(82));
  }
}

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
  GANTRY_RETURN_IF_ERROR(MakeDurableDirectory(PendingRoot(deps)));
  for (const auto& entry : std::filesystem::directory_iterator(deps.work_dir + "/spool", ec)) {
    std::filesystem::remove_all(entry.path(), ec);
  }
  GANTRY_RETURN_IF_ERROR(WriteHook(deps.work_dir + "/hooks/update", kUpdateHook));
  return WriteHook(deps.work_dir + "/hooks/post-receive", kPostReceiveHook);
}

int ReplayPendingPushes(const CodeCommitDeps& deps, std::string_view repository_id) {
  std::vector<std::string> dirs;
  std::error_code ec;
  if (!repository_id.empty()) {
    dirs.push_back(PendingRoot(deps) + "/" + std::string(repository_id));
  } else {
    for (const auto& entry : std::filesystem::directory_iterator(PendingRoot(deps), ec)) {
      if (entry.is_directory(ec)) dirs.push_back(entry.path().string());
    }
  }
  int published = 0;
  for (const std::string& dir : dirs) {
    std::vector<std::string> records;
    std::vector<std::string> locks;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const std::filesystem::path& path = entry.path();
      if (path.extension() == ".refs") records.push_back(path.string());
      if (path.extension() == ".lock") locks.push_back(path.string());
    }
    std::sort(records.begin(), records.end());
    for (const std::string& path : records) {
      const std::string stem = path.substr(0, path.size() - std::string_view(".refs").size());
      StatusOr<std::optional<PushLock>> lock = PushLock::Acquire(stem + ".lock", /*wait=*/false);
      if (!lock.ok()) {
        GANTRY_LOG(kWarn, "codecommit: " << lock.status().ToString());
        continue;
      }
      if (*lock && ReplayPushRecord(deps, path)) ++published;
    }
    // Lock files whose request ended without one (a failed push, or a crash before its hook ran).
    for (const std::string& path : locks) {
      const std::string stem = path.substr(0, path.size() - std::string_view(".lock").size());
      if (std::filesystem::exists(stem + ".refs", ec)) continue;
      StatusOr<std::optional<PushLock>> unused = PushLock::Acquire(path, /*wait=*/false);
      if (!unused.ok()) GANTRY_LOG(kWarn, "codecommit: " << unused.status().ToString());
    }
    if (repository_id.empty()) std::filesystem::remove(dir, ec);  // only when empty
  }
  return published;
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
  if (context.authorizer != nullptr && route.push && request.method == "POST") {
    StatusOr<std::vector<std::string>> refs = ReceivePackRefs(request);
    if (!refs.ok()) {
      if (refs.status().code() != StatusCode::kInvalidArgument) {
        GANTRY_LOG(kError, "codecommit: " << arn << ": " << refs.status().ToString());
        return Text(response, 500, "The push could not be read; try again.");
      }
      return Text(response, 400, refs.status().message());
    }
    for (const std::string& ref : *refs) {
      ctx.condition_keys = {{"codecommit:References", ref}};
      Status allowed = context.authorizer->AuthorizeAction(ctx, "codecommit:GitPush", arn);
      if (!allowed.ok()) return Text(response, 403, allowed.message() + " (" + ref + ")");
    }
    ctx.condition_keys.clear();
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

  const std::string repository_id = repository.value("repositoryId", "");
  const bool receive = route.push && request.method == "POST";
  std::optional<PushLock> push_lock;
  std::string push_record;
  if (receive) {
    StatusOr<PushLock> lock = LockNewPushRecord(deps, repository_id, now, push_record);
    if (!lock.ok()) {
      GANTRY_LOG(kError, "codecommit: preparing the push record for " << arn << ": " << lock.status().ToString());
      return Text(response, 500, "The push could not be prepared; try again.");
    }
    push_lock.emplace(std::move(*lock));
  }

  const std::string spool = deps.work_dir + "/spool/" + deps.ids->Uuid();
  FileRemover spool_remover(spool);
  CgiInvocation invocation;
  invocation.argv = {"git", "http-backend"};
  invocation.env = BackendEnvironment(deps, route, request, principal, repository, push_record);
  invocation.stdin_file = request.body_file;
  invocation.stdin_data = request.body;
  invocation.output_path = spool;
  StatusOr<CgiOutput> output = RunCgi(invocation);
  if (receive) {
    // Pushes from before a crash first, then this one; its record is deleted once published.
    ReplayPendingPushes(deps, repository_id);
    StatusOr<PushRecord> pushed = ReadPushRecord(push_record);
    if (pushed.ok() && !pushed->changes.empty()) {
      PublishReferenceChanges(deps, repository, pushed->changes, principal.arn);
    } else if (!pushed.ok() && pushed.status().code() != StatusCode::kNotFound) {
      GANTRY_LOG(kError, "codecommit: " << pushed.status().ToString());
    }
    RemoveFile(push_record);
    push_lock.reset();
  }
  if (!output.ok()) {
    GANTRY_LOG(kError, "codecommit: git http-backend for " << arn << ": " << output.status().ToString());
    return Text(response, 500, "git http-backend failed; see the server log.");
  }
  if (output->exit_code != 0 && !output->stderr_text.empty()) {
    GANTRY_LOG(kWarn, "codecommit: git http-backend for " << arn << " exited with " << output->exit_code << ": "
                                                          << output->stderr_text);
  }

  response.status = output->status;
  for (const auto& [name, value] : output->headers) response.headers.Set(name, value);
  if (output->body_size <= kMaxMemoryResponse) {
    std::ifstream in(spool, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(output->body_offset));
    response.body.resize(output->body_size);
    in.read(response.body.data(), static_cast<std::streamsize>(output->body_size));
    response.body.resize(static_cast<size_t>(in.gcount()));
  } else {
    response.body_file = spool;
    response.file_offset = output->body_offset;
    response.file_length = output->body_size;
    response.remove_body_file = true;
    spool_remover.Release();
  }
}

}  // namespace gantry::services::codecommit
