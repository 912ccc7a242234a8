#include "cli/build_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/remote_client.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "runtime/build/build_log.h"
#include "runtime/build/build_runner.h"
#include "server/config.h"
#include "server/root_credentials.h"

extern char** environ;

namespace gantry::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kBuildUsage = R"USAGE(usage: gantry build [flags]

Runs ./buildspec.yml in place with CodeBuild's phases, variables and failure rules.

flags:
  --buildspec FILE     the buildspec (default buildspec.yml)
  --env KEY=VALUE      an extra variable, above the buildspec's (repeatable)
  --artifacts DIR      copy the artifact files there (base-directory, discard-paths and
                       exclude-paths applied; secondary artifacts under DIR/<identifier>)
  --endpoint URL       a running Gantry for parameter-store and secrets-manager values
                       (default $AWS_ENDPOINT_URL)
  --region REGION      default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1
)USAGE";

struct BuildOptions {
  std::string buildspec = "buildspec.yml";
  std::vector<runtime::EnvVar> env;
  std::string artifacts_dir;
  std::string endpoint;
  std::string region;
};

const char* Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

StatusOr<BuildOptions> ParseBuildOptions(const std::vector<std::string>& args) {
  BuildOptions o;
  if (const char* v = Getenv("AWS_ENDPOINT_URL")) o.endpoint = v;
  o.region = Getenv("AWS_REGION") ? Getenv("AWS_REGION") : Getenv("AWS_DEFAULT_REGION") ? Getenv("AWS_DEFAULT_REGION")
                                                                                          : "us-east-1";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto take = [&]() -> StatusOr<std::string> {
      if (i + 1 >= args.size()) return Status::InvalidArgument(flag + " needs a value");
      return args[++i];
    };
    if (flag == "--buildspec") {
      GANTRY_ASSIGN_OR_RETURN(o.buildspec, take());
    } else if (flag == "--env") {
      GANTRY_ASSIGN_OR_RETURN(std::string kv, take());
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return Status::InvalidArgument("--env takes KEY=VALUE, got '" + kv + "'");
      o.env.push_back({kv.substr(0, eq), kv.substr(eq + 1), runtime::EnvVarType::kPlaintext});
    } else if (flag == "--artifacts") {
      GANTRY_ASSIGN_OR_RETURN(o.artifacts_dir, take());
    } else if (flag == "--endpoint") {
      GANTRY_ASSIGN_OR_RETURN(o.endpoint, take());
    } else if (flag == "--region") {
      GANTRY_ASSIGN_OR_RETURN(o.region, take());
    } else {
      return Status::InvalidArgument("unknown flag " + flag);
    }
  }
  return o;
}

struct SourceInfo {
  std::string commit;      // HEAD's commit id, "" outside a git work tree
  std::string remote_url;  // remote "origin", if any
};

std::string ReadFirstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// What git knows of the source directory: HEAD's commit and origin's URL, read from the files git
// keeps (.git/HEAD, loose refs, packed-refs, config). libgit2 would do it too, but its start-up
// loads the system's CA certificates (~15 ms), a third of a small build's time.
SourceInfo ReadSourceInfo(const fs::path& src_dir) {
  SourceInfo info;
  std::error_code ec;
  fs::path git_dir;
  for (fs::path dir = src_dir; !dir.empty(); dir = dir.parent_path()) {
    fs::path candidate = dir / ".git";
    if (fs::is_directory(candidate, ec)) {
      git_dir = candidate;
    } else if (fs::is_regular_file(candidate, ec)) {  // a worktree or submodule: "gitdir: <path>"
      std::string line = ReadFirstLine(candidate);
      if (line.rfind("gitdir: ", 0) == 0) git_dir = dir / line.substr(8);
    }
    if (!git_dir.empty() || dir == dir.parent_path()) break;
  }
  if (git_dir.empty()) return info;
  std::string head = ReadFirstLine(git_dir / "HEAD");
  if (head.rfind("ref: ", 0) == 0) {
    std::string ref = head.substr(5);
    fs::path common = git_dir;
    if (std::string c = ReadFirstLine(git_dir / "commondir"); !c.empty()) common = git_dir / c;
    info.commit = ReadFirstLine(git_dir / ref);
    if (info.commit.empty()) info.commit = ReadFirstLine(common / ref);
    if (info.commit.empty()) {
      std::ifstream packed(common / "packed-refs");
      for (std::string line; std::getline(packed, line);) {
        if (line.size() > 41 && line[40] == ' ' && line.substr(41) == ref) info.commit = line.substr(0, 40);
      }
    }
    git_dir = common;
  } else {
    info.commit = head;
  }
  std::ifstream config(git_dir / "config");
  bool in_origin = false;
  for (std::string line; std::getline(config, line);) {
    std::string_view text = line;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    if (text.rfind('[', 0) == 0) {
      in_origin = text.rfind("[remote \"origin\"]", 0) == 0;
    } else if (in_origin && text.rfind("url", 0) == 0) {
      size_t eq = text.find('=');
      if (eq == std::string_view::npos) continue;
      text.remove_prefix(eq + 1);
      while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
      info.remote_url = std::string(text);
      break;
    }
  }
  return info;
}

// Credentials for the parameter and secret reads: the AWS_* variables, else the root key of the
// default state directory (the same machine's `gantry up`).
std::optional<aws::Credential> LocalCredential() {
  aws::Credential c;
  if (const char* id = Getenv("AWS_ACCESS_KEY_ID")) {
    c.access_key_id = id;
    if (const char* secret = Getenv("AWS_SECRET_ACCESS_KEY")) c.secret_access_key = secret;
    if (const char* token = Getenv("AWS_SESSION_TOKEN")) c.session_token = token;
    return c;
  }
  auto key = server::LoadRootKey(server::DefaultStateDir());
  if (!key.ok()) return std::nullopt;
  c.access_key_id = key->access_key_id;
  c.secret_access_key = key->secret_access_key;
  return c;
}

// What the terminal shows: build output as it comes, and a live line for the running phase.
class Progress {
 public:
  explicit Progress(bool terminal) : terminal_(terminal) {}

  void Line(std::string_view line) {
    std::lock_guard lock(mu_);
    if (terminal_) std::cout << "\r\033[K";
    std::cout << line << "\n";
    if (terminal_) DrawStatus();
    std::cout.flush();
  }

  void Phase(const runtime::PhaseRecord& record) {
    std::lock_guard lock(mu_);
    std::string name(runtime::PhaseName(record.type));
    if (!record.end) {
      current_ = name;
      current_start_ = std::chrono::steady_clock::now();
      if (terminal_) DrawStatus();
      std::cout.flush();
      return;
    }
    double seconds = std::chrono::duration<double>(*record.end - record.start).count();
    bool ok = record.status == runtime::BuildStatus::kSucceeded;
    std::ostringstream line;
    line << std::fixed << std::setprecision(2);
    if (terminal_) {
      line << "\r\033[K" << (ok ? "\033[32m✔\033[0m " : "\033[31m✘\033[0m ");
    } else {
      line << "[gantry] ";
    }
    line << std::left << std::setw(17) << name << std::setw(10)
         << (record.status ? runtime::StatusName(*record.status) : "") << seconds << " s";
    for (const auto& context : record.contexts) {
      if (!context.status_code.empty() || !context.message.empty()) {
        line << "  " << context.status_code << ": " << context.message;
      }
    }
    std::cout << line.str() << "\n";
    current_.clear();
    std::cout.flush();
  }

  // Redraws the running phase's elapsed time (terminal only).
  void Tick() {
    std::lock_guard lock(mu_);
    if (terminal_ && !current_.empty()) {
      DrawStatus();
      std::cout.flush();
    }
  }

 private:
  void DrawStatus() {
    if (current_.empty()) return;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - current_start_).count();
    std::cout << "\r\033[K\033[33m▸\033[0m " << current_ << "  " << std::fixed << std::setprecision(1) << seconds
              << " s";
  }

  bool terminal_;
  std::mutex mu_;
  std::string current_;
  std::chrono::steady_clock::time_point current_start_;
};

// Copies one artifact file to dir/relative. The destination stays inside dir: a relative path that
// leaves it is refused, and so is a directory on the way that is not a directory (a link another
// artifact file left there, kept as a link by enable-symlinks).
Status CopyArtifactFile(const runtime::ArtifactFile& file, const fs::path& dir, const std::string& relative) {
  fs::path rel = fs::path(relative).lexically_normal();
  if (rel.empty() || rel.is_absolute() || *rel.begin() == ".." || rel.filename().empty()) {
    return Status::InvalidArgument("artifact path " + relative + " does not lie inside " + dir.string(),
                                   "CLIENT_ERROR");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create " + dir.string() + ": " + ec.message());
  fs::path to = dir;
  for (auto part = rel.begin(); std::next(part) != rel.end(); ++part) {
    to /= *part;
    fs::file_status status = fs::symlink_status(to, ec);
    if (fs::exists(status)) {
      if (!fs::is_directory(status)) {
        return Status::InvalidArgument("artifact path " + relative + ": " + to.string() + " is not a directory",
                                       "CLIENT_ERROR");
      }
    } else if (!fs::create_directory(to, ec) || ec) {
      return Status::Internal("cannot create " + to.string() + ": " + ec.message());
    }
  }
  to /= rel.filename();
  fs::remove(to, ec);
  if (fs::is_symlink(fs::symlink_status(file.source, ec))) {
    fs::copy_symlink(file.source, to, ec);
  } else {
    fs::copy_file(file.source, to, fs::copy_options::overwrite_existing, ec);
  }
  if (ec) return Status::Internal("cannot copy " + file.source + " to " + to.string() + ": " + ec.message());
  return Status::Ok();
}

class LocalBuildHooks final : public runtime::BuildHooks {
 public:
  LocalBuildHooks(const BuildOptions& options, Progress& progress) : options_(options), progress_(progress) {
    if (!options.endpoint.empty()) {
      if (auto credential = LocalCredential()) remote_.emplace(options.endpoint, *credential, options.region);
    }
  }

  StatusOr<runtime::ResolvedValue> ResolveParameter(std::string_view name) override {
    GANTRY_RETURN_IF_ERROR(NeedRemote("parameter " + std::string(name)));
    GANTRY_ASSIGN_OR_RETURN(aws::Document out,
                            remote_->CallJson("ssm", "AmazonSSM", "1.1", "GetParameter",
                                              {{"Name", std::string(name)}, {"WithDecryption", true}}));
    const aws::Document& parameter = out["Parameter"];
    return Resolved(parameter.value("Value", ""), parameter.value("Type", "") == "SecureString");
  }

  StatusOr<runtime::ResolvedValue> ResolveSecret(std::string_view secret_id, std::string_view json_key,
                                                 std::string_view version_stage,
                                                 std::string_view version_id) override {
    GANTRY_RETURN_IF_ERROR(NeedRemote("secret " + std::string(secret_id)));
    aws::Document input = {{"SecretId", std::string(secret_id)}};
    if (!version_stage.empty()) input["VersionStage"] = std::string(version_stage);
    if (!version_id.empty()) input["VersionId"] = std::string(version_id);
    GANTRY_ASSIGN_OR_RETURN(aws::Document out,
                            remote_->CallJson("secretsmanager", "secretsmanager", "1.1", "GetSecretValue", input));
    std::string value = out.value("SecretString", "");
    if (json_key.empty()) return Resolved(value, true);
    aws::Document json = aws::Document::parse(value, nullptr, false);
    if (!json.is_object() || !json.contains(json_key)) {
      return Status::InvalidArgument("Secrets Manager error: secret " + std::string(secret_id) +
                                     " has no JSON key " + std::string(json_key));
    }
    const aws::Document& field = json[std::string(json_key)];
    return Resolved(field.is_string() ? field.get<std::string>() : field.dump(), true);
  }

  StatusOr<std::string> DownloadSource(const std::string& src_dir) override { return std::string(); }

  Status UploadArtifacts(const std::vector<runtime::SelectedArtifact>& artifacts) override {
    if (options_.artifacts_dir.empty()) return Status::Ok();
    for (const auto& artifact : artifacts) {
      const std::string& identifier = artifact.spec->identifier;
      if (identifier == "." || identifier == ".." || identifier.find('/') != std::string::npos) {
        return Status::InvalidArgument("secondary artifact identifier " + identifier + " is not a directory name",
                                       "CLIENT_ERROR");
      }
      std::string prefix = identifier.empty() ? "" : identifier + "/";
      for (const auto& file : artifact.files) {
        GANTRY_RETURN_IF_ERROR(CopyArtifactFile(file, options_.artifacts_dir, prefix + file.path));
      }
    }
    return Status::Ok();
  }

  void OnPhase(const runtime::PhaseRecord& record) override { progress_.Phase(record); }
  void OnLogLine(std::string_view line) override { progress_.Line(line); }

  // The secret values resolved for the build, for what gantry prints itself (the engine masks its
  // own lines).
  const runtime::SecretMasker& masker() const { return masker_; }

 private:
  runtime::ResolvedValue Resolved(std::string value, bool secret) {
    if (secret) masker_.Add(value);
    return {std::move(value), secret};
  }

  Status NeedRemote(const std::string& what) const {
    if (remote_) return Status::Ok();
    if (options_.endpoint.empty()) {
      return Status::FailedPrecondition("cannot resolve " + what +
                                        ": no Gantry to ask (give --endpoint or set AWS_ENDPOINT_URL)");
    }
    return Status::FailedPrecondition("cannot resolve " + what +
                                      ": no credentials (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or run "
                                      "`gantry up` once to make the root key)");
  }

  const BuildOptions& options_;
  Progress& progress_;
  std::optional<RemoteClient> remote_;
  runtime::SecretMasker masker_;
};

// The variables CodeBuild sets, for a build of the current directory.
std::vector<runtime::EnvVar> LocalCodeBuildEnv(const BuildOptions& options, const std::string& src_dir) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  std::string project = fs::path(src_dir).filename().string();
  if (project.empty()) project = "local";
  std::string account = "000000000000";
  std::string uuid = RandomIdSource::Instance()->Uuid();
  std::string project_arn = "arn:aws:codebuild:" + options.region + ":" + account + ":project/" + project;
  SourceInfo source = ReadSourceInfo(src_dir);
  const char* user = Getenv("USER");
  env["CODEBUILD_BUILD_ID"] = project + ":" + uuid;
  env["CODEBUILD_BUILD_ARN"] = "arn:aws:codebuild:" + options.region + ":" + account + ":build/" + project + ":" + uuid;
  env["CODEBUILD_BUILD_NUMBER"] = "1";
  env["CODEBUILD_BUILD_IMAGE"] = "aws/codebuild/standard:7.0";
  env["CODEBUILD_INITIATOR"] = user ? user : "gantry-build";
  env["CODEBUILD_LOG_PATH"] = uuid;
  env["CODEBUILD_PROJECT_ARN"] = project_arn;
  env["CODEBUILD_RESOLVED_SOURCE_VERSION"] = source.commit;
  env["CODEBUILD_SOURCE_REPO_URL"] = source.remote_url;
  env["CODEBUILD_SOURCE_VERSION"] = source.commit;
  env["CODEBUILD_START_TIME"] = std::to_string(ToEpochMillis(SystemClock::Instance()->Now()));
  env["CODEBUILD_KMS_KEY_ID"] = "arn:aws:kms:" + options.region + ":" + account + ":alias/aws/s3";
  env["CODEBUILD_PUBLIC_BUILD_URL"] = "";
  env["AWS_REGION"] = options.region;
  env["AWS_DEFAULT_REGION"] = options.region;
  if (!options.endpoint.empty()) env["AWS_ENDPOINT_URL"] = options.endpoint;
  std::vector<runtime::EnvVar> out;
  for (auto& [name, value] : env) out.push_back({name, value, runtime::EnvVarType::kPlaintext});
  return out;
}

// Ctrl-C and SIGTERM stop the build (its process tree dies) instead of killing gantry.
int stop_pipe[2] = {-1, -1};
void OnStopSignal(int) {
  char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_pipe[1], &byte, 1);
}

}  // namespace

int Build(const std::vector<std::string>& args) {
  for (const auto& arg : args) {
    if (arg == "-h" || arg == "--help") {
      std::cout << kBuildUsage;
      return 0;
    }
  }
  auto options = ParseBuildOptions(args);
  if (!options.ok()) {
    std::cerr << "gantry build: " << options.status().message() << "\n" << kBuildUsage;
    return 2;
  }
  std::error_code ec;
  std::string src_dir = fs::current_path(ec).string();
  if (!fs::exists(fs::path(src_dir) / options->buildspec, ec)) {
    std::cerr << "gantry build: no " << options->buildspec << " in " << src_dir << "\n";
    return 2;
  }
  if (!options->artifacts_dir.empty()) options->artifacts_dir = fs::absolute(options->artifacts_dir, ec).string();

  Progress progress(::isatty(STDOUT_FILENO));
  LocalBuildHooks hooks(*options, progress);
  runtime::BuildRequest request;
  request.build_id = "local";
  request.buildspec_path = options->buildspec;
  request.codebuild_env = LocalCodeBuildEnv(*options, src_dir);
  request.project_env = options->env;
  request.image = "aws/codebuild/standard:7.0";
  request.src_dir = src_dir;
  // A fresh directory only this user can enter (mkdtemp: 0700, never one that already existed).
  fs::path tmp = fs::temp_directory_path(ec);
  std::string work_pattern = ((ec ? fs::path("/tmp") : tmp) / "gantry-build-XXXXXX").string();
  if (::mkdtemp(work_pattern.data()) == nullptr) {
    std::cerr << "gantry build: mkdtemp " << work_pattern << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  request.work_root = work_pattern;
  request.isolate = false;
  request.clock = SystemClock::Instance();

  runtime::BuildRunner runner;
  if (::pipe2(stop_pipe, O_CLOEXEC) != 0) {
    std::cerr << "gantry build: pipe: " << std::strerror(errno) << "\n";
    return 1;
  }
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      pollfd fd = {stop_pipe[0], POLLIN, 0};
      if (::poll(&fd, 1, 100) > 0) {
        char byte;
        if (::read(stop_pipe[0], &byte, 1) == 1 && byte == 1) runner.RequestStop();
      }
      progress.Tick();
    }
  });
  runtime::BuildOutcome outcome = runner.Run(request, hooks);
  done = true;
  char wake = 0;
  [[maybe_unused]] ssize_t n = ::write(stop_pipe[1], &wake, 1);
  watcher.join();
  fs::remove_all(request.work_root, ec);

  double seconds = 0;
  if (!outcome.phases.empty()) {
    seconds = std::chrono::duration<double>(outcome.phases.back().start - outcome.phases.front().start).count();
  }
  std::ostringstream summary;
  summary << std::fixed << std::setprecision(2) << "Build " << runtime::StatusName(outcome.status) << " in "
          << seconds << " s";
  for (const auto& [name, value] : outcome.exported_variables) summary << "\n  exported " << name << "=" << value;
  // Secret-sourced variables are never exported, but a plaintext one may hold a secret's value.
  progress.Line(hooks.masker().Mask(summary.str()));
  return outcome.status == runtime::BuildStatus::kSucceeded ? 0 : 1;
}

}  // namespace gantry::cli
