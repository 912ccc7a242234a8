#include "runtime/build/build_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "runtime/build/artifact_selection.h"
#include "runtime/build/build_log.h"
#include "runtime/build/container.h"
#include "runtime/build/sandbox.h"
#include "runtime/build/shell_session.h"

namespace gantry::runtime {

std::string_view PhaseName(BuildPhaseType type) {
  static constexpr std::array<std::string_view, 11> kNames = {
      "SUBMITTED", "QUEUED",     "PROVISIONING",     "DOWNLOAD_SOURCE", "INSTALL",  "PRE_BUILD",
      "BUILD",     "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING",      "COMPLETED"};
  return kNames[static_cast<size_t>(type)];
}

std::string_view StatusName(BuildStatus status) {
  static constexpr std::array<std::string_view, 6> kNames = {"SUCCEEDED",   "FAILED",  "FAULT",
                                                             "TIMED_OUT", "IN_PROGRESS", "STOPPED"};
  return kNames[static_cast<size_t>(status)];
}

namespace {

constexpr size_t kRetryOutputLimit = 1 << 20;  // output kept per attempt for RETRY-regex matching

std::string ErrnoText(int err) { return std::strerror(err); }

// The environment, in order of first definition; later definitions replace the value.
class Environment {
 public:
  void Set(const std::string& name, std::string value) {
    auto it = index_.find(name);
    if (it == index_.end()) {
      index_[name] = entries_.size();
      entries_.emplace_back(name, std::move(value));
    } else {
      entries_[it->second].second = std::move(value);
    }
  }
  const std::string* Get(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
  std::map<std::string, size_t> index_;
};

// "arn:aws:secretsmanager:r:a:secret:name-x:key:stage:id" or "name:key:stage:id".
std::array<std::string, 4> SplitSecretReference(const std::string& reference) {
  std::vector<std::string> parts;
  std::stringstream in(reference);
  std::string part;
  while (std::getline(in, part, ':')) parts.push_back(part);
  if (!reference.empty() && reference.back() == ':') parts.emplace_back();
  std::array<std::string, 4> out;
  size_t id_parts = reference.rfind("arn:", 0) == 0 ? std::min<size_t>(7, parts.size()) : std::min<size_t>(1, parts.size());
  for (size_t i = 0; i < id_parts; ++i) out[0] += (i > 0 ? ":" : "") + parts[i];
  for (size_t i = 1; i < 4 && id_parts + i - 1 < parts.size(); ++i) out[i] = parts[id_parts + i - 1];
  return out;
}

std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string BashProgram() {
  std::string bash = FindOnPath("bash");
  return bash.empty() ? "/bin/bash" : bash;
}

// The PATH of a container's image (its config's Env), else the usual one.
std::string ImagePath(const ContainerImage& image) {
  for (const std::string& entry : image.env) {
    if (entry.rfind("PATH=", 0) == 0) return entry.substr(5);
  }
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

// gantry-build-init beside the running program (/proc/self/exe).
std::string DefaultContainerInit() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("gantry-build-init") : (self.parent_path() / "gantry-build-init").string();
}

// A user of a container's image, from its /etc/passwd and /etc/group: a name or uid, with an
// optional ":group" (as an image config's User).
StatusOr<ShellIdentity> ImageUser(const std::string& root, const std::string& image, const std::string& user) {
  auto split = [](const std::string& line) {
    std::vector<std::string> fields;
    std::stringstream in(line);
    std::string field;
    while (std::getline(in, field, ':')) fields.push_back(field);
    if (!line.empty() && line.back() == ':') fields.emplace_back();
    return fields;
  };
  auto numeric = [](const std::string& text) {
    return !text.empty() && text.size() < 10 && std::all_of(text.begin(), text.end(), ::isdigit);
  };
  std::string name = user.substr(0, user.find(':'));
  std::string group = user.find(':') == std::string::npos ? "" : user.substr(user.find(':') + 1);
  ShellIdentity identity;
  bool found = false;
  GANTRY_ASSIGN_OR_RETURN(std::string passwd_text, ReadInRoot(root, "/etc/passwd"));
  std::istringstream passwd(passwd_text);
  for (std::string line; std::getline(passwd, line);) {
    std::vector<std::string> f = split(line);
    if (f.size() < 4 || !numeric(f[2]) || !numeric(f[3])) continue;
    if (f[0] == name || (numeric(name) && f[2] == name)) {
      identity.name = f[0];
      identity.uid = static_cast<uid_t>(std::stoul(f[2]));
      identity.gid = static_cast<gid_t>(std::stoul(f[3]));
      found = true;
      break;
    }
  }
  if (!found && numeric(name)) {
    identity.name = name;
    identity.uid = identity.gid = static_cast<uid_t>(std::stoul(name));
    found = true;
  }
  if (!found) {
    return Status::NotFound("run-as user " + name + " does not exist in image " + image + " (its /etc/passwd)",
                            "CLIENT_ERROR");
  }
  GANTRY_ASSIGN_OR_RETURN(std::string group_text, ReadInRoot(root, "/etc/group"));
  std::istringstream groups(group_text);
  for (std::string line; std::getline(groups, line);) {
    std::vector<std::string> f = split(line);
    if (f.size() < 3 || !numeric(f[2])) continue;
    gid_t gid = static_cast<gid_t>(std::stoul(f[2]));
    if (!group.empty() && (f[0] == group || f[2] == group)) identity.gid = gid;
    std::stringstream members(f.size() > 3 ? f[3] : "");
    for (std::string member; std::getline(members, member, ',');) {
      if (member == identity.name) identity.groups.push_back(gid);
    }
  }
  if (!group.empty() && numeric(group)) identity.gid = static_cast<gid_t>(std::stoul(group));
  if (std::find(identity.groups.begin(), identity.groups.end(), identity.gid) == identity.groups.end()) {
    identity.groups.insert(identity.groups.begin(), identity.gid);
  }
  return identity;
}

std::string SanitizeName(const std::string& build_id) {
  std::string out;
  for (char c : build_id) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '-';
  if (out.empty()) out = "build";
  if (out.size() > 100) out.resize(100);
  return out;
}

// Makes work_root (0700) if missing and checks that no other user can put or swap anything in it:
// it must be a directory of Gantry's user that only that user can write.
Status CheckWorkRoot(const std::string& work_root) {
  std::error_code ec;
  std::filesystem::path path(work_root);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (mkdir(work_root.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FailedPrecondition("cannot make the work root " + work_root + ": " + ErrnoText(errno),
                                      "CLIENT_ERROR");
  }
  struct stat st;
  if (stat(work_root.c_str(), &st) != 0) {
    return Status::FailedPrecondition("work root " + work_root + ": " + ErrnoText(errno), "CLIENT_ERROR");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition("work root " + work_root + " is not a directory", "CLIENT_ERROR");
  }
  if (st.st_uid != geteuid()) {
    return Status::FailedPrecondition("work root " + work_root + " belongs to uid " + std::to_string(st.st_uid) +
                                          ", not to Gantry's user (uid " + std::to_string(geteuid()) +
                                          "); builds need a directory only Gantry's user can write",
                                      "CLIENT_ERROR");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::FailedPrecondition("work root " + work_root + " is writable by other users (mode " + mode +
                                          "); builds need a directory only Gantry's user can write",
                                      "CLIENT_ERROR");
  }
  return Status::Ok();
}

PhaseContext ContextFromStatus(const Status& status, const std::string& default_code) {
  return {status.aws_code().empty() ? default_code : status.aws_code(), status.message()};
}

// A hook's error fails its phase; an internal one (Gantry's own fault, not the build's) faults it.
BuildStatus StatusForHookError(const Status& status) {
  return status.code() == StatusCode::kInternal ? BuildStatus::kFault : BuildStatus::kFailed;
}

// A shell script that runs the next aws on PATH as `aws --endpoint-url "$AWS_ENDPOINT_URL" ...`:
// the aws CLI v2 of these machines (2.9) ignores AWS_ENDPOINT_URL; v1 and boto3 read it.
std::string AwsWrapper(const std::string& own_dir) {
  return "#!/bin/sh\n"
         "# Written by Gantry's build engine: passes AWS_ENDPOINT_URL to the aws CLI as --endpoint-url.\n"
         "own=" + ShellQuote(own_dir) + "\n"
         "real=\n"
         "old_ifs=$IFS\n"
         "IFS=:\n"
         "for dir in $PATH; do\n"
         "  if [ -n \"$dir\" ] && [ \"$dir\" != \"$own\" ] && [ -x \"$dir/aws\" ]; then real=$dir/aws; break; fi\n"
         "done\n"
         "IFS=$old_ifs\n"
         "if [ -z \"$real\" ]; then echo 'aws: command not found' >&2; exit 127; fi\n"
         "for arg in \"$@\"; do\n"
         "  case $arg in --endpoint-url|--endpoint-url=*) exec \"$real\" \"$@\";; esac\n"
         "done\n"
         "if [ -n \"$AWS_ENDPOINT_URL\" ]; then exec \"$real\" --endpoint-url \"$AWS_ENDPOINT_URL\" \"$@\"; fi\n"
         "exec \"$real\" \"$@\"\n";
}

// codebuild-hash-files, as CodeBuild documents it for dynamic cache keys
// (`key: npm-$(codebuild-hash-files package-lock.json)`): the SHA-256 of the source files some glob
// patterns match. POSIX sh and sha256sum only, so that it runs in any image as on the host.
constexpr std::string_view kHashFilesScript = R"SCRIPT(#!/bin/sh
# Written by Gantry's build engine: codebuild-hash-files <glob-pattern>... prints the SHA-256 of the
# files of CODEBUILD_SRC_DIR the patterns match (of one line "<SHA-256 of its contents>  <path>" a
# file, in the order the patterns find them). '*', '?' and '[...]' match within one path component
# and '**' any number of components; a name beginning with '.' is matched only by a component that
# begins with '.'; '**' enters no linked directory.
export LC_ALL=C
if [ $# -eq 0 ]; then echo 'usage: codebuild-hash-files <glob-pattern> ...' >&2; exit 2; fi
if [ -n "$CODEBUILD_SRC_DIR" ]; then cd "$CODEBUILD_SRC_DIR" || exit 1; fi
nl='
'
IFS=$nl
# walk PREFIX COMPONENT...: the files below PREFIX ("", "/" or "<dir>/") the components match.
walk() (
  prefix=$1
  comp=$2
  shift 2
  if [ "$comp" = '**' ]; then
    if [ $# -eq 0 ]; then set -- '*'; fi
    walk "$prefix" "$@"
    for dir in "$prefix"*; do
      if [ -d "$dir" ] && [ ! -L "$dir" ]; then walk "$dir/" '**' "$@"; fi
    done
  else
    for match in "$prefix"$comp; do
      if [ $# -eq 0 ]; then
        if [ -f "$match" ]; then printf '%s\n' "$match"; fi
      elif [ -d "$match" ]; then
        walk "$match/" "$@"
      fi
    done
  fi
)
# matches PATTERN: the files it matches, one a line.
matches() (
  case $1 in /*) prefix=/ ;; *) prefix= ;; esac
  set -f
  IFS=/
  set -- $1
  IFS=$nl
  for comp do
    shift
    case $comp in '' | .) ;; *) set -- "$@" "$comp" ;; esac
  done
  set +f
  if [ $# -gt 0 ]; then walk "$prefix" "$@"; fi
)
list=
for pattern do
  found=$(matches "$pattern") || exit 1
  set -f
  for file in $found; do
    case $nl$list in *"$nl$file$nl"*) ;; *) list=$list$file$nl ;; esac
  done
  set +f
done
lines=
set -f
for file in $list; do
  sum=$(sha256sum < "$file") || exit 1
  lines=$lines${sum%% *}"  "$file$nl
done
total=$(printf '%s' "$lines" | sha256sum) || exit 1
printf '%s\n' "${total%% *}"
)SCRIPT";

class BuildExecution : public ShellListener {
 public:
  BuildExecution(const BuildRequest& request, BuildHooks& hooks, int stop_fd, const std::atomic<bool>& stop)
      : request_(request), hooks_(hooks), stop_fd_(stop_fd), stop_(stop),
        clock_(request.clock != nullptr ? *request.clock : *SystemClock::Instance()) {}

  ~BuildExecution() override {
    session_.reset();
    if (output_read_fd_ >= 0) close(output_read_fd_);
    if (sandbox_) sandbox_->Destroy(std::chrono::milliseconds(0));
  }

  BuildOutcome Run();

  void OnCommandStart(size_t index) override {
    if (current_commands_ != nullptr && index < current_commands_->size()) {
      Log("Running command " + (*current_commands_)[index]);
    }
  }

  void OnOutputLine(std::string_view line) override {
    std::string masked = masker_.Mask(line);
    if (collect_output_ && attempt_output_size_ < kRetryOutputLimit) {
      attempt_output_size_ += masked.size();
      attempt_output_.push_back(masked);
    }
    hooks_.OnLogLine(masked);
  }

 private:
  enum class Step { kOk, kFailed, kInterrupted };

  void BeginPhase(BuildPhaseType type, std::optional<TimePoint> start = std::nullopt) {
    PhaseRecord record;
    record.type = type;
    record.start = start.value_or(clock_.Now());
    outcome_.phases.push_back(record);
    hooks_.OnPhase(outcome_.phases.back());
  }

  void EndPhase(BuildStatus status, std::vector<PhaseContext> contexts = {},
                std::optional<TimePoint> end = std::nullopt) {
    PhaseRecord& record = outcome_.phases.back();
    record.end = end.value_or(clock_.Now());
    if (*record.end < record.start) record.end = record.start;
    record.status = status;
    if (contexts.empty() && record.type >= BuildPhaseType::kProvisioning) contexts.push_back({"", ""});
    for (PhaseContext& context : contexts) context.message = masker_.Mask(context.message);
    record.contexts = std::move(contexts);
    if (record.type >= BuildPhaseType::kDownloadSource && record.type <= BuildPhaseType::kUploadArtifacts) {
      Log("Phase complete: " + std::string(PhaseName(record.type)) + " State: " + std::string(StatusName(status)));
      for (const PhaseContext& context : record.contexts) {
        Log("Phase context status code: " + context.status_code + " Message: " + context.message);
      }
    }
    if (status == BuildStatus::kFault) fault_ = true;
    if (status == BuildStatus::kFailed) failed_ = true;
    hooks_.OnPhase(record);
  }

  void Log(const std::string& message) {
    size_t start = 0;
    bool first = true;
    while (start <= message.size()) {
      size_t end = message.find('\n', start);
      if (end == std::string::npos) end = message.size();
      std::string_view part = std::string_view(message).substr(start, end - start);
      hooks_.OnLogLine(masker_.Mask(first ? ContainerLine(clock_.Now(), part) : std::string(part)));
      first = false;
      start = end + 1;
    }
  }

  ShellWaiting Waiting() const { return {stop_fd_, deadline_}; }

  // Checks the stop request and the timeout between steps that do not wait on the shell.
  bool CheckInterrupted() {
    if (interruption_ != ShellInterruption::kNone) return true;
    if (stop_.load()) {
      interruption_ = ShellInterruption::kStopped;
    } else if (std::chrono::steady_clock::now() >= deadline_) {
      interruption_ = ShellInterruption::kTimedOut;
    }
    return interruption_ != ShellInterruption::kNone;
  }

  // Ends the running phase as the interruption says and kills the build's processes.
  void EndInterrupted() {
    StopProcesses(request_.stop_grace);
    if (interruption_ == ShellInterruption::kTimedOut) {
      Log("Build timed out after " + std::to_string(request_.timeout.count()) + " ms");
      EndPhase(BuildStatus::kTimedOut, {{"BUILD_TIMED_OUT", "Build has timed out. "}});
    } else {
      Log("Build was stopped");
      EndPhase(BuildStatus::kStopped);
    }
  }

  // Ends the build's processes: after a stop or timeout they get SIGTERM and the grace period; at
  // the normal end (as when CodeBuild's container goes) they are killed at once.
  void StopProcesses(std::chrono::milliseconds grace) {
    if (session_) session_->DrainOutput(*this);
    if (sandbox_) sandbox_->Destroy(grace);
  }

  Step Provision();
  Step DownloadSource();
  Step ReadBuildspec();
  Step ResolveEnvironment();
  // A plaintext variable; one marked secret is masked and never exported.
  void SetPlain(const EnvVar& var) {
    env_.Set(var.name, var.value);
    if (var.secret) {
      masker_.Add(var.value);
      secret_sourced_.insert(var.name);
    } else {
      secret_sourced_.erase(var.name);
    }
  }
  Step RunBuildPhase(BuildPhaseType type, const std::optional<PhaseSpec>& spec);
  Status EnsureShell(const std::optional<ShellIdentity>& identity);
  // text expanded by the build's shell ($VAR, $(command), ...); text without '$', '`' or '\' as is.
  StatusOr<std::string> ExpandText(const std::string& text);
  StatusOr<std::optional<ShellIdentity>> ResolveUser(const std::string& name);
  bool RetryMatches(const PhaseSpec& spec, const std::vector<PhaseContext>& failures);
  void MarkFailing();
  void CaptureExportedVariables();
  Step UploadArtifacts();

  const BuildRequest& request_;
  BuildHooks& hooks_;
  int stop_fd_;
  const std::atomic<bool>& stop_;
  const Clock& clock_;
  BuildOutcome outcome_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  ShellInterruption interruption_ = ShellInterruption::kNone;
  bool failed_ = false;
  bool fault_ = false;

  std::string src_dir_;
  std::string engine_dir_;
  std::unique_ptr<HostSandbox> sandbox_;
  BuildFilesystem fs_;                    // where the build's paths are on this machine
  int output_read_fd_ = -1;
  std::unique_ptr<ShellSession> session_;
  Buildspec buildspec_;
  std::optional<CacheSpec> cache_;        // buildspec_.cache, key and fallback keys expanded
  Environment env_;
  SecretMasker masker_;
  std::set<std::string> secret_sourced_;  // from Parameter Store or Secrets Manager, or marked secret
  bool succeeding_ = true;

  const std::vector<std::string>* current_commands_ = nullptr;
  bool collect_output_ = false;
  std::vector<std::string> attempt_output_;
  size_t attempt_output_size_ = 0;
};

BuildExecution::Step BuildExecution::Provision() {
  if (request_.work_root.empty()) {
    EndPhase(BuildStatus::kFault, {{"CLIENT_ERROR", "no work root was given for the build's directory"}});
    return Step::kFailed;
  }
  Status root = CheckWorkRoot(request_.work_root);
  if (!root.ok()) {
    EndPhase(BuildStatus::kFault, {ContextFromStatus(root, "CLIENT_ERROR")});
    return Step::kFailed;
  }
  std::string pattern = request_.work_root + "/" + SanitizeName(request_.build_id) + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    EndPhase(BuildStatus::kFault, {{"CLIENT_ERROR", "mkdtemp " + pattern + ": " + ErrnoText(errno)}});
    return Step::kFailed;
  }
  outcome_.work_dir = buffer.data();
  chmod(outcome_.work_dir.c_str(), 0711);
  engine_dir_ = outcome_.work_dir + "/engine";
  src_dir_ = request_.src_dir.empty() ? outcome_.work_dir + "/src" : request_.src_dir;
  if (mkdir(engine_dir_.c_str(), 0755) != 0 || (request_.src_dir.empty() && mkdir(src_dir_.c_str(), 0755) != 0)) {
    EndPhase(BuildStatus::kFault, {{"CLIENT_ERROR", "mkdir in " + outcome_.work_dir + ": " + ErrnoText(errno)}});
    return Step::kFailed;
  }

  int output[2];
  if (pipe2(output, O_CLOEXEC) != 0) {
    EndPhase(BuildStatus::kFault, {{"CLIENT_ERROR", "pipe: " + ErrnoText(errno)}});
    return Step::kFailed;
  }
  SandboxSpec spec;
  spec.name = std::filesystem::path(outcome_.work_dir).filename().string();
  spec.visible_paths = {outcome_.work_dir, src_dir_};
  spec.hidden_paths = request_.hidden_paths;
  spec.memory_bytes = request_.limits.memory_bytes;
  spec.max_pids = request_.limits.max_pids;
  spec.cpus = request_.limits.cpus;
  spec.isolate = request_.isolate;
  spec.cgroup_root = request_.cgroup_root;
  // The shell most builds want (bash, Gantry's user) starts now, while the source and buildspec
  // are read; a buildspec that wants another is given another.
  StatusOr<std::unique_ptr<HostSandbox>> sandbox = Status::Internal("the sandbox was not started");
  if (request_.container) {
    // The build's tree at its own path inside, so that the engine's paths need no translation.
    ContainerSpec container;
    container.id = ContainerId(outcome_.work_dir);
    container.bundle = outcome_.work_dir + "/container";
    container.image = *request_.container;
    container.shared = {outcome_.work_dir};
    if (src_dir_ != outcome_.work_dir && src_dir_.rfind(outcome_.work_dir + "/", 0) != 0) container.shared.push_back(src_dir_);
    container.init_program = request_.container_init.empty() ? DefaultContainerInit() : request_.container_init;
    container.network = request_.network;
    container.privileged = request_.privileged;
    container.memory_bytes = spec.memory_bytes;
    container.max_pids = spec.max_pids;
    container.cpus = spec.cpus;
    container.cgroup_path = "gantry/" + container.id.substr(7);
    std::string bash = FindInRoot(container.image.rootfs, "bash", ImagePath(container.image));
    std::optional<ShellLaunch> first;
    if (!bash.empty()) first = ShellLaunchFor(bash, false, src_dir_, std::nullopt);
    sandbox = HostSandbox::StartContainer(container, request_.runc_root.empty() ? DefaultRuncRoot(request_.work_root) : request_.runc_root,
                                          output[1], first);
    if (sandbox.ok()) {
      fs_.root = (*sandbox)->container_root();
      fs_.shared = container.shared;
    }
  } else {
    sandbox = HostSandbox::Start(spec, output[1], ShellLaunchFor(BashProgram(), false, src_dir_, std::nullopt));
  }
  close(output[1]);
  if (!sandbox.ok()) {
    close(output[0]);
    EndPhase(BuildStatus::kFault, {ContextFromStatus(sandbox.status(), "CLIENT_ERROR")});
    return Step::kFailed;
  }
  sandbox_ = std::move(sandbox).value();
  output_read_fd_ = output[0];
  if (request_.container) {
    Log("Running image " + request_.container->name + " in a container (runc)");
    for (const std::string& note : sandbox_->notes()) Log("Container: " + note);
  } else {
    Log("Running image " + (request_.image.empty() ? std::string("(none)") : request_.image) +
        " in the host sandbox: no container image is pulled, commands run on this machine");
    for (const std::string& note : sandbox_->notes()) Log("Sandbox: " + note);
  }
  return Step::kOk;
}

BuildExecution::Step BuildExecution::ReadBuildspec() {
  std::string text;
  std::string file_name;
  if (!request_.buildspec_inline.empty()) {
    text = request_.buildspec_inline;
    file_name = "inline buildspec";
    Log("YAML location is the project's inline buildspec");
  } else {
    std::string relative = request_.buildspec_path.empty() ? "buildspec.yml" : request_.buildspec_path;
    std::string path = relative[0] == '/' ? relative : src_dir_ + "/" + relative;
    file_name = relative;
    Log("YAML location is " + path);
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      EndPhase(BuildStatus::kFailed, {{"YAML_FILE_ERROR", "stat " + path + ": " + ErrnoText(errno)}});
      return Step::kFailed;
    }
    std::ifstream in(path, std::ios::binary);
    if (!S_ISREG(st.st_mode) || !in) {
      EndPhase(BuildStatus::kFailed, {{"YAML_FILE_ERROR", "read " + path + ": not a readable file"}});
      return Step::kFailed;
    }
    std::stringstream content;
    content << in.rdbuf();
    text = content.str();
  }
  auto parsed = ParseBuildspec(text, file_name);
  if (!parsed.ok()) {
    EndPhase(BuildStatus::kFailed, {{"YAML_FILE_ERROR", parsed.status().message()}});
    return Step::kFailed;
  }
  buildspec_ = std::move(parsed).value();
  std::istringstream warning(UnknownKeysMessage(buildspec_));
  for (std::string line; std::getline(warning, line);) Log(line);
  // Keys that configure CodeBuild's container, which the host sandbox does not have: said, not hidden.
  if (buildspec_.install && !buildspec_.install->runtime_versions.empty()) {
    std::string runtimes;
    for (const auto& [name, version] : buildspec_.install->runtime_versions) {
      runtimes += (runtimes.empty() ? "" : ", ") + name + " " + version;
    }
    Log("runtime-versions (" + runtimes + ") not installed: " +
        (request_.container ? "the image's own runtimes are used" : "the host sandbox runs the machine's own runtimes"));
  }
  if (buildspec_.git_credential_helper) {
    Log(request_.container ? "git-credential-helper not applied: the image's git configuration is used"
                           : "git-credential-helper not applied: the host sandbox uses the machine's git configuration");
  }
  if (buildspec_.proxy_upload_artifacts || buildspec_.proxy_logs) {
    Log(request_.container ? "proxy settings not applied: the container has no proxy server"
                           : "proxy settings not applied: the host sandbox has no proxy server");
  }
  if (!buildspec_.shell.empty() && buildspec_.shell != "bash" && buildspec_.shell != "/bin/sh") {
    EndPhase(BuildStatus::kFailed, {{"YAML_FILE_ERROR", "env/shell " + buildspec_.shell +
                                                            (request_.container ? " is not available in a container (bash or /bin/sh)"
                                                                                : " is not available in the host sandbox (bash or /bin/sh)")}});
    return Step::kFailed;
  }
  return Step::kOk;
}

BuildExecution::Step BuildExecution::ResolveEnvironment() {
  Log("Processing environment variables");
  if (request_.container) {
    // The image's Env (its config's), not Gantry's own.
    for (const std::string& entry : request_.container->env) {
      size_t equals = entry.find('=');
      if (equals != std::string::npos && equals > 0) env_.Set(entry.substr(0, equals), entry.substr(equals + 1));
    }
    if (env_.Get("PATH") == nullptr) env_.Set("PATH", ImagePath(*request_.container));
  } else {
    for (const char* name : {"PATH", "LANG", "LC_ALL", "TZ", "HOME", "USER", "LOGNAME"}) {
      if (const char* value = std::getenv(name)) env_.Set(name, value);
    }
  }
  if (env_.Get("HOME") == nullptr) env_.Set("HOME", "/root");
  for (const EnvVar& var : request_.codebuild_env) SetPlain(var);
  for (const auto& [name, value] : buildspec_.variables) env_.Set(name, value);

  if (!buildspec_.parameter_store.empty() ||
      std::any_of(request_.project_env.begin(), request_.project_env.end(),
                  [](const EnvVar& v) { return v.type == EnvVarType::kParameterStore; })) {
    Log("Decrypting parameter store environment variables");
  }
  auto parameter = [&](const std::string& variable, const std::string& parameter_name) -> bool {
    auto value = hooks_.ResolveParameter(parameter_name);
    if (!value.ok()) {
      std::string message = value.status().code() == StatusCode::kNotFound
                                ? "parameter does not exist: " + parameter_name
                                : (value.status().aws_code().empty() ? "" : value.status().aws_code() + ": ") +
                                      value.status().message();
      EndPhase(StatusForHookError(value.status()), {{"Decrypted Variables Error", message}});
      return false;
    }
    if (value->secret) masker_.Add(value->value);
    secret_sourced_.insert(variable);
    env_.Set(variable, value->value);
    return true;
  };
  auto secret = [&](const std::string& variable, const std::string& reference) -> bool {
    std::array<std::string, 4> parts = SplitSecretReference(reference);
    auto value = hooks_.ResolveSecret(parts[0], parts[1], parts[2], parts[3]);
    if (!value.ok()) {
      std::string message = (value.status().aws_code().empty() ? "" : value.status().aws_code() + ": ") +
                            value.status().message();
      EndPhase(StatusForHookError(value.status()), {{"Secrets Manager Error", message}});
      return false;
    }
    if (value->secret) masker_.Add(value->value);
    secret_sourced_.insert(variable);
    env_.Set(variable, value->value);
    return true;
  };
  for (const auto& [variable, name] : buildspec_.parameter_store) {
    if (!parameter(variable, name)) return Step::kFailed;
  }
  for (const auto& [variable, reference] : buildspec_.secrets_manager) {
    if (!secret(variable, reference)) return Step::kFailed;
  }
  for (const EnvVar& var : request_.project_env) {
    bool ok = true;
    switch (var.type) {
      case EnvVarType::kPlaintext:
        SetPlain(var);
        break;
      case EnvVarType::kParameterStore:
        ok = parameter(var.name, var.value);
        break;
      case EnvVarType::kSecretsManager:
        ok = secret(var.name, var.value);
        break;
    }
    if (!ok) return Step::kFailed;
  }
  env_.Set("CODEBUILD_SRC_DIR", src_dir_);
  env_.Set("CODEBUILD_BUILD_SUCCEEDING", "1");
  // The engine's commands, first on PATH: codebuild-hash-files, and the aws wrapper when builds
  // have an endpoint.
  const std::string bin = engine_dir_ + "/bin";
  std::vector<std::pair<std::string, std::string>> commands = {{"codebuild-hash-files", std::string(kHashFilesScript)}};
  const std::string* endpoint = env_.Get("AWS_ENDPOINT_URL");
  if (endpoint != nullptr && !endpoint->empty()) commands.emplace_back("aws", AwsWrapper(bin));
  bool made = mkdir(bin.c_str(), 0755) == 0;
  for (const auto& [name, script] : commands) {
    std::string file = bin + "/" + name;
    std::ofstream out;
    if (made) out.open(file, std::ios::binary);
    out << script;
    out.close();
    if (!out || chmod(file.c_str(), 0755) != 0) {
      EndPhase(BuildStatus::kFault, {{"CLIENT_ERROR", "writing " + file + " failed"}});
      return Step::kFailed;
    }
  }
  const std::string* path = env_.Get("PATH");
  env_.Set("PATH", bin + (path != nullptr && !path->empty() ? ":" + *path : ""));
  for (const auto& entry : env_.entries()) {
    if (!IsShellName(entry.first)) {
      Log("Skipping environment variable " + entry.first + ": not a valid shell variable name");
    }
  }
  return Step::kOk;
}

BuildExecution::Step BuildExecution::DownloadSource() {
  Log("Phase is DOWNLOAD_SOURCE");
  if (request_.src_dir.empty()) {
    auto version = hooks_.DownloadSource(src_dir_);
    if (!version.ok()) {
      EndPhase(StatusForHookError(version.status()), {ContextFromStatus(version.status(), "CLIENT_ERROR")});
      return Step::kFailed;
    }
    outcome_.resolved_source_version = *version;
  }
  Log("CODEBUILD_SRC_DIR=" + src_dir_);
  if (CheckInterrupted()) return Step::kInterrupted;
  if (ReadBuildspec() != Step::kOk) return Step::kFailed;
  if (ResolveEnvironment() != Step::kOk) return Step::kFailed;
  if (CheckInterrupted()) return Step::kInterrupted;
  if (buildspec_.cache) {
    // Expanded once, as CodeBuild does (`key: npm-$(codebuild-hash-files package-lock.json)`); the
    // build saves under the key it restored.
    cache_ = buildspec_.cache;
    std::vector<std::string*> texts = {&cache_->key};
    for (std::string& fallback : cache_->fallback_keys) texts.push_back(&fallback);
    for (std::string* text : texts) {
      auto expanded = ExpandText(*text);
      if (!expanded.ok()) {
        if (interruption_ != ShellInterruption::kNone) return Step::kInterrupted;
        EndPhase(BuildStatus::kFailed, {{"CLIENT_ERROR", "cache key " + *text + ": " + expanded.status().message()}});
        return Step::kFailed;
      }
      *text = *expanded;
    }
  }
  if (Status restored = hooks_.RestoreCache(cache_ ? &*cache_ : nullptr, fs_); !restored.ok()) {
    EndPhase(StatusForHookError(restored), {ContextFromStatus(restored, "CLIENT_ERROR")});
    return Step::kFailed;
  }
  if (CheckInterrupted()) return Step::kInterrupted;
  const std::pair<const std::optional<PhaseSpec>*, const char*> named[] = {{&buildspec_.install, "INSTALL"},
                                                                           {&buildspec_.pre_build, "PRE_BUILD"},
                                                                           {&buildspec_.build, "BUILD"},
                                                                           {&buildspec_.post_build, "POST_BUILD"}};
  Log("Phases found in YAML: " + std::to_string(std::count_if(std::begin(named), std::end(named),
                                                              [](const auto& p) { return p.first->has_value(); })));
  for (const auto& [phase, name] : named) {
    if (phase->has_value()) {
      Log(std::string(" ") + name + ": " + std::to_string((*phase)->commands.size()) + " commands");
    }
  }
  EndPhase(BuildStatus::kSucceeded);
  return Step::kOk;
}

StatusOr<std::optional<ShellIdentity>> BuildExecution::ResolveUser(const std::string& run_as) {
  if (request_.container) {
    // The image's users (its /etc/passwd as the build left it); without run-as, its config's User.
    std::string name = run_as.empty() ? request_.container->user : run_as;
    if (name.empty()) return std::optional<ShellIdentity>();
    GANTRY_ASSIGN_OR_RETURN(ShellIdentity identity, ImageUser(fs_.root, request_.container->name, name));
    if (identity.uid == 0) return std::optional<ShellIdentity>();
    return std::optional<ShellIdentity>(identity);
  }
  const std::string& name = run_as;
  if (name.empty()) return std::optional<ShellIdentity>();
  struct passwd entry;
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  int err = getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (err != 0 || found == nullptr) {
    return Status::NotFound("run-as user " + name + " does not exist on this machine", "CLIENT_ERROR");
  }
  if (found->pw_uid == geteuid()) return std::optional<ShellIdentity>();
  ShellIdentity identity;
  identity.uid = found->pw_uid;
  identity.gid = found->pw_gid;
  identity.name = name;
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  if (getgrouplist(name.c_str(), found->pw_gid, groups.data(), &count) < 0) count = 64;
  groups.resize(static_cast<size_t>(std::max(count, 0)));
  identity.groups = groups;
  return std::optional<ShellIdentity>(identity);
}

Status BuildExecution::EnsureShell(const std::optional<ShellIdentity>& identity) {
  uid_t wanted = identity ? identity->uid : geteuid();
  if (!session_) {
    ShellConfig config;
    config.posix_sh = buildspec_.shell == "/bin/sh";
    config.shell_program = config.posix_sh ? "/bin/sh" : BashProgram();
    if (request_.container && !config.posix_sh) {
      config.shell_program = FindInRoot(fs_.root, "bash", ImagePath(*request_.container));
      if (config.shell_program.empty()) {
        Log("bash is not in image " + request_.container->name + ": commands run in /bin/sh");
        config.posix_sh = true;
        config.shell_program = "/bin/sh";
      }
    }
    config.engine_dir = engine_dir_;
    config.cwd = src_dir_;
    config.masker = &masker_;
    for (const auto& entry : env_.entries()) {
      if (IsShellName(entry.first)) config.env.push_back(entry);
    }
    session_ = std::make_unique<ShellSession>(*sandbox_, output_read_fd_, std::move(config));
    output_read_fd_ = -1;
    Log("Moving to directory " + src_dir_);
    return session_->Start(identity, Waiting(), *this);
  }
  if (session_->uid() == wanted) return Status::Ok();
  return session_->SwitchUser(identity, Waiting(), *this);
}

StatusOr<std::string> BuildExecution::ExpandText(const std::string& text) {
  if (text.find_first_of("$`\\") == std::string::npos) return text;
  Status shell = EnsureShell(std::nullopt);
  auto expanded = shell.ok() ? session_->Expand(text, Waiting(), *this) : StatusOr<std::string>(shell);
  if (!expanded.ok() && session_ && session_->interruption() != ShellInterruption::kNone) {
    interruption_ = session_->interruption();
  }
  return expanded;
}

void BuildExecution::MarkFailing() {
  if (!succeeding_) return;
  succeeding_ = false;
  env_.Set("CODEBUILD_BUILD_SUCCEEDING", "0");
  if (session_) session_->Export("CODEBUILD_BUILD_SUCCEEDING", "0", Waiting(), *this).ok();
}

bool BuildExecution::RetryMatches(const PhaseSpec& spec, const std::vector<PhaseContext>& failures) {
  if (spec.retry_regex.empty()) return true;
  std::regex pattern;
  try {
    pattern = std::regex(spec.retry_regex, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return false;
  }
  auto matches = [&](const std::string& text) {
    return std::regex_search(text.size() > 4096 ? text.substr(0, 4096) : text, pattern);
  };
  for (const PhaseContext& failure : failures) {
    if (matches(failure.message)) return true;
  }
  return std::any_of(attempt_output_.begin(), attempt_output_.end(), matches);
}

BuildExecution::Step BuildExecution::RunBuildPhase(BuildPhaseType type, const std::optional<PhaseSpec>& spec) {
  BeginPhase(type);
  Log("Entering phase " + std::string(PhaseName(type)));
  if (CheckInterrupted()) return Step::kInterrupted;
  if (!spec || (spec->commands.empty() && spec->finally_commands.empty())) {
    EndPhase(BuildStatus::kSucceeded);
    return Step::kOk;
  }
  auto identity = ResolveUser(spec->run_as.empty() ? buildspec_.run_as : spec->run_as);
  if (!identity.ok()) {
    EndPhase(BuildStatus::kFailed, {ContextFromStatus(identity.status(), "CLIENT_ERROR")});
    return Step::kFailed;
  }
  Status shell = EnsureShell(*identity);
  if (!shell.ok()) {
    if (session_ && session_->interruption() != ShellInterruption::kNone) {
      interruption_ = session_->interruption();
      return Step::kInterrupted;
    }
    bool user_error = shell.code() == StatusCode::kPermissionDenied;
    EndPhase(user_error ? BuildStatus::kFailed : BuildStatus::kFault, {{"CLIENT_ERROR", shell.message()}});
    return Step::kFailed;
  }

  int attempts = 1 + (spec->on_failure == OnFailure::kRetry ? std::max(spec->retry_count, 0) : 0);
  for (int attempt = 1;; ++attempt) {
    std::vector<PhaseContext> failures;
    collect_output_ = attempts > 1;
    attempt_output_.clear();
    attempt_output_size_ = 0;
    for (const std::vector<std::string>* block : {&spec->commands, &spec->finally_commands}) {
      if (block->empty()) continue;
      current_commands_ = block;
      // Version 0.1 runs every command in a shell of its own: a subshell of the build's shell.
      std::vector<std::string> own_shells;
      if (buildspec_.version == "0.1") {
        for (const std::string& command : *block) own_shells.push_back("(\n" + command + "\n)");
      }
      BlockResult result = session_->RunBlock(own_shells.empty() ? *block : own_shells, Waiting(), *this);
      if (result.interruption != ShellInterruption::kNone) {
        interruption_ = result.interruption;
        current_commands_ = nullptr;
        return Step::kInterrupted;
      }
      if (!result.fault.ok()) {
        current_commands_ = nullptr;
        EndPhase(BuildStatus::kFault, {{"CLIENT_ERROR", result.fault.message()}});
        return Step::kFailed;
      }
      if (result.failed) {
        // The session only reports indexes of the block it was given; a bad one is still never
        // used to index it.
        std::string command = *result.failed < block->size()
                                  ? (*block)[*result.failed]
                                  : "(command " + std::to_string(*result.failed) + " of a block of " +
                                        std::to_string(block->size()) + ")";
        Log("Command did not exit successfully " + command + " " + result.reason);
        failures.push_back({"COMMAND_EXECUTION_ERROR", "Error while executing command: " + command + ". Reason: " + result.reason});
      }
    }
    current_commands_ = nullptr;
    collect_output_ = false;
    if (failures.empty()) {
      EndPhase(BuildStatus::kSucceeded);
      return Step::kOk;
    }
    if (attempt < attempts && RetryMatches(*spec, failures)) {
      Log("Phase " + std::string(PhaseName(type)) + " failed; retrying it (attempt " + std::to_string(attempt + 1) +
          " of " + std::to_string(attempts) + ")");
      if (CheckInterrupted()) return Step::kInterrupted;
      continue;
    }
    EndPhase(BuildStatus::kFailed, std::move(failures));
    return Step::kFailed;
  }
}

void BuildExecution::CaptureExportedVariables() {
  std::vector<std::string> names;
  for (const std::string& name : buildspec_.exported_variables) {
    if (name.rfind("AWS_", 0) == 0) {
      Log("Not exporting " + name + ": variables starting with AWS_ cannot be exported");
    } else if (secret_sourced_.count(name) != 0) {
      Log("Not exporting " + name + ": Parameter Store, Secrets Manager and secret variables cannot be exported");
    } else if (!IsShellName(name)) {
      Log("Not exporting " + name + ": not a valid shell variable name");
    } else {
      names.push_back(name);
    }
  }
  if (names.empty()) return;
  if (!session_ && !EnsureShell(std::nullopt).ok()) return;
  auto values = session_->ReadVariables(names, Waiting(), *this);
  if (!values.ok()) {
    if (session_->interruption() != ShellInterruption::kNone) interruption_ = session_->interruption();
    Log("Could not read the exported variables: " + values.status().message());
    return;
  }
  for (size_t i = 0; i < names.size(); ++i) {
    outcome_.exported_variables.emplace_back(names[i], (*values)[i].value_or(""));
  }
}

BuildExecution::Step BuildExecution::UploadArtifacts() {
  std::vector<const ArtifactSpec*> specs;
  if (buildspec_.artifacts) specs.push_back(&*buildspec_.artifacts);
  for (const ArtifactSpec& secondary : buildspec_.secondary_artifacts) specs.push_back(&secondary);
  std::vector<SelectedArtifact> selected;
  for (const ArtifactSpec* spec : specs) {
    SelectedArtifact artifact;
    artifact.spec = spec;
    if (!spec->name.empty()) {
      Status shell = EnsureShell(std::nullopt);
      auto name = shell.ok() ? session_->Expand(spec->name, Waiting(), *this) : StatusOr<std::string>(shell);
      if (!name.ok()) {
        if (session_ && session_->interruption() != ShellInterruption::kNone) {
          interruption_ = session_->interruption();
          return Step::kInterrupted;
        }
        EndPhase(BuildStatus::kFailed, {{"CLIENT_ERROR", "artifact name " + spec->name + ": " + name.status().message()}});
        return Step::kFailed;
      }
      artifact.name = *name;
    }
    selected.push_back(std::move(artifact));
  }
  // Report group names may use the build's variables (`$REPORT_GROUP_NAME:`), as CodeBuild documents.
  std::vector<ReportSpec> report_specs;
  for (const ReportSpec& spec : buildspec_.reports) {
    auto group = ExpandText(spec.group);
    if (!group.ok() && interruption_ != ShellInterruption::kNone) return Step::kInterrupted;
    if (!group.ok() || group->empty()) {
      Log("Report " + spec.group + ": no report is made, its name " +
          (group.ok() ? std::string("expands to nothing") : "cannot be expanded: " + group.status().message()));
      continue;
    }
    report_specs.push_back(spec);
    report_specs.back().group = *group;
  }
  // Nothing of the build may run (or swap links) while its files are picked and read.
  StopProcesses(std::chrono::milliseconds(0));
  if (CheckInterrupted()) return Step::kInterrupted;
  if (!report_specs.empty()) {
    std::vector<SelectedReport> reports;
    for (const ReportSpec& spec : report_specs) {
      ArtifactSpec files;
      files.files = spec.files;
      files.base_directory = spec.base_directory;
      files.discard_paths = spec.discard_paths;
      std::vector<std::string> lines;
      auto selected = SelectArtifactFiles(files, src_dir_, request_.hidden_paths, lines);
      if (!selected.ok()) {
        Log("Report " + spec.group + ": " + selected.status().message());
        selected = std::vector<ArtifactFile>{};
      }
      reports.push_back({&spec, std::move(selected).value()});
    }
    hooks_.UploadReports(reports);
  }
  for (SelectedArtifact& artifact : selected) {
    std::vector<std::string> lines;
    auto files = SelectArtifactFiles(*artifact.spec, src_dir_, request_.hidden_paths, lines);
    for (const std::string& line : lines) Log(line);
    if (!files.ok()) {
      EndPhase(BuildStatus::kFailed, {ContextFromStatus(files.status(), "CLIENT_ERROR")});
      return Step::kFailed;
    }
    artifact.files = std::move(files).value();
    if (artifact.files.empty()) {
      EndPhase(BuildStatus::kFailed, {{"CLIENT_ERROR", "no matching artifact paths found"}});
      return Step::kFailed;
    }
  }
  Status uploaded = hooks_.UploadArtifacts(selected);
  if (!uploaded.ok()) {
    EndPhase(StatusForHookError(uploaded), {ContextFromStatus(uploaded, "CLIENT_ERROR")});
    return Step::kFailed;
  }
  if (Status saved = hooks_.SaveCache(cache_ ? &*cache_ : nullptr, fs_); !saved.ok()) {
    EndPhase(StatusForHookError(saved), {ContextFromStatus(saved, "CLIENT_ERROR")});
    return Step::kFailed;
  }
  if (CheckInterrupted()) return Step::kInterrupted;
  EndPhase(BuildStatus::kSucceeded);
  return Step::kOk;
}

BuildOutcome BuildExecution::Run() {
  TimePoint now = clock_.Now();
  TimePoint submitted = request_.submitted_at.value_or(now);
  TimePoint queued = request_.queued_at.value_or(now);
  BeginPhase(BuildPhaseType::kSubmitted, submitted);
  EndPhase(BuildStatus::kSucceeded, {}, queued);
  BeginPhase(BuildPhaseType::kQueued, queued);
  EndPhase(BuildStatus::kSucceeded, {}, std::max(queued, now));

  deadline_ = std::chrono::steady_clock::now() + request_.timeout;
  bool reached_build = false;
  bool go_on = true;

  BeginPhase(BuildPhaseType::kProvisioning);
  if (CheckInterrupted()) {
    EndInterrupted();
    go_on = false;
  } else if (Provision() != Step::kOk) {
    go_on = false;
  } else if (CheckInterrupted()) {
    EndInterrupted();
    go_on = false;
  } else {
    EndPhase(BuildStatus::kSucceeded);
  }

  if (go_on) {
    BeginPhase(BuildPhaseType::kDownloadSource);
    Step step = DownloadSource();
    if (step == Step::kInterrupted) EndInterrupted();
    go_on = step == Step::kOk;
  }

  if (go_on) {
    const std::pair<BuildPhaseType, const std::optional<PhaseSpec>*> phases[] = {
        {BuildPhaseType::kInstall, &buildspec_.install},
        {BuildPhaseType::kPreBuild, &buildspec_.pre_build},
        {BuildPhaseType::kBuild, &buildspec_.build},
        {BuildPhaseType::kPostBuild, &buildspec_.post_build}};
    for (const auto& [type, spec] : phases) {
      if (type == BuildPhaseType::kBuild) reached_build = true;
      Step step = RunBuildPhase(type, *spec);
      if (step == Step::kInterrupted) {
        EndInterrupted();
        go_on = false;
        break;
      }
      if (step == Step::kFailed) {
        MarkFailing();
        bool keep_going = (*spec && (*spec)->on_failure == OnFailure::kContinue) || type == BuildPhaseType::kBuild ||
                          type == BuildPhaseType::kPostBuild;
        // An explicit ABORT ends the build phases; without on-failure CodeBuild's transitions apply.
        if (*spec && (*spec)->on_failure_specified && (*spec)->on_failure == OnFailure::kAbort) keep_going = false;
        if (fault_) keep_going = false;
        if (!keep_going) break;
      }
    }
    if (go_on && !fault_) CaptureExportedVariables();
    if (interruption_ != ShellInterruption::kNone && go_on) go_on = false;  // the capture was interrupted
  }

  if (go_on && reached_build && !fault_) {
    BeginPhase(BuildPhaseType::kUploadArtifacts);
    Step step = UploadArtifacts();
    if (step == Step::kInterrupted) EndInterrupted();
  }

  BeginPhase(BuildPhaseType::kFinalizing);
  StopProcesses(std::chrono::milliseconds(0));
  EndPhase(BuildStatus::kSucceeded);
  BeginPhase(BuildPhaseType::kCompleted);

  if (interruption_ == ShellInterruption::kTimedOut) {
    outcome_.status = BuildStatus::kTimedOut;
  } else if (interruption_ == ShellInterruption::kStopped) {
    outcome_.status = BuildStatus::kStopped;
  } else if (fault_) {
    outcome_.status = BuildStatus::kFault;
  } else if (failed_) {
    outcome_.status = BuildStatus::kFailed;
  } else {
    outcome_.status = BuildStatus::kSucceeded;
  }
  return std::move(outcome_);
}

}  // namespace

std::string BuildFilesystem::HostPath(std::string_view path) const {
  if (root.empty()) return std::string(path);
  for (const std::string& dir : shared) {
    if (path.size() >= dir.size() && path.compare(0, dir.size(), dir) == 0 &&
        (path.size() == dir.size() || path[dir.size()] == '/')) {
      return std::string(path);
    }
  }
  return root + std::string(path);
}

BuildRunner::BuildRunner() : stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

BuildRunner::~BuildRunner() {
  if (stop_fd_ >= 0) close(stop_fd_);
}

void BuildRunner::RequestStop() {
  stop_requested_.store(true);
  uint64_t one = 1;
  if (stop_fd_ >= 0) (void)!write(stop_fd_, &one, sizeof(one));
}

BuildOutcome BuildRunner::Run(const BuildRequest& request, BuildHooks& hooks) {
  BuildOutcome outcome;
  {
    BuildExecution execution(request, hooks, stop_fd_, stop_requested_);
    outcome = execution.Run();
  }
  stop_requested_.store(false);
  uint64_t count;
  if (stop_fd_ >= 0) (void)!read(stop_fd_, &count, sizeof(count));
  return outcome;
}

}  // namespace gantry::runtime
