// The build engine: runs one build through CodeBuild's phases for real. It provisions a host
// sandbox (own working tree outside Gantry's state, own process group, Linux namespaces and cgroup
// limits where available), resolves the environment (CodeBuild's variables, project/override
// variables, the buildspec's env with parameter-store and secrets-manager values asked of the
// caller), runs every command in one long-lived shell so that the working directory and variables
// carry from command to command and phase to phase, applies CodeBuild's failure rules (finally,
// on-failure ABORT/CONTINUE/RETRY, POST_BUILD after a failed BUILD with CODEBUILD_BUILD_SUCCEEDING=0,
// UPLOAD_ARTIFACTS once BUILD ran), masks secret values in every output line, selects artifact
// files, and enforces the timeout and stop requests (the whole process tree dies).
//
// It knows nothing of AWS wire shapes: the CodeBuild service and `gantry build` both drive it
// through BuildHooks. The shell protocol and the sandbox are described in docs/build-engine.md.
// Thread-safety: Run blocks on the calling thread; RequestStop may be called from any thread
// before or while Run is in progress. Hooks are called on Run's thread. One BuildRunner runs one
// build at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/clock.h"
#include "core/common/status.h"
#include "runtime/build/buildspec.h"

namespace gantry::runtime {

enum class BuildPhaseType {
  kSubmitted, kQueued, kProvisioning, kDownloadSource, kInstall, kPreBuild, kBuild, kPostBuild,
  kUploadArtifacts, kFinalizing, kCompleted
};
std::string_view PhaseName(BuildPhaseType type);  // "DOWNLOAD_SOURCE"

// CodeBuild's StatusType, for phases and builds.
enum class BuildStatus { kSucceeded, kFailed, kFault, kTimedOut, kInProgress, kStopped };
std::string_view StatusName(BuildStatus status);  // "SUCCEEDED"

// CodeBuild's phase context: statusCode ("COMMAND_EXECUTION_ERROR", "YAML_FILE_ERROR",
// "CLIENT_ERROR", "BUILD_TIMED_OUT", ...) and message.
struct PhaseContext {
  std::string status_code;
  std::string message;
};

struct PhaseRecord {
  BuildPhaseType type = BuildPhaseType::kSubmitted;
  TimePoint start;
  std::optional<TimePoint> end;           // unset while the phase runs (and for COMPLETED)
  std::optional<BuildStatus> status;      // unset while the phase runs (and for COMPLETED)
  std::vector<PhaseContext> contexts;
};

enum class EnvVarType { kPlaintext, kParameterStore, kSecretsManager };
struct EnvVar {
  std::string name;
  std::string value;                      // for the resolved types: the parameter name / secret reference
  EnvVarType type = EnvVarType::kPlaintext;
  bool secret = false;                    // masked like resolved secrets in every log line
};

// A value fetched for the environment; secret values (Secrets Manager, SecureString) are masked.
struct ResolvedValue {
  std::string value;
  bool secret = false;
};

// One artifact's selected files: source path on disk and path inside the artifact.
struct ArtifactFile {
  std::string source;                     // absolute: the real path, or a kept link's own path
  std::string path;                       // relative, '/'-separated, after base-directory/discard-paths
};
// One `reports` entry's selected files (files / base-directory / discard-paths, as artifacts).
struct SelectedReport {
  const ReportSpec* spec = nullptr;       // the buildspec's entry (spec->group: a name or an ARN);
                                          // valid during the UploadReports call
  std::vector<ArtifactFile> files;
};

// Where the paths a build's commands see are on this machine. The host sandbox sees the machine's
// own file system; a container sees its root file system (an overlay on the host) with the build's
// tree mounted at its own path.
struct BuildFilesystem {
  std::string root;                       // "" (host sandbox) or the container's root on the host
  std::vector<std::string> shared;        // mounted at the same path inside (the build's tree)
  // The host path of `path` (absolute, as the build's commands see it).
  std::string HostPath(std::string_view path) const;
};

struct SelectedArtifact {
  const ArtifactSpec* spec = nullptr;     // the buildspec's (primary or secondary) entry; valid
                                          // during the UploadArtifacts call
  std::vector<ArtifactFile> files;
  std::string name;                       // spec->name expanded by the build's shell ("" when unset)
};

// What the caller does around the engine. Errors returned by hooks fail the phase they belong to
// (StatusCode::kInternal ones fault it), with the Status's AWS code (else CLIENT_ERROR) as the
// context's status code and its message.
class BuildHooks {
 public:
  virtual ~BuildHooks() = default;
  // DOWNLOAD_SOURCE, after the buildspec is read (where CodeBuild resolves them and fails): a
  // Parameter Store name, or the parts of a Secrets Manager reference
  // "secret-id[:json-key[:version-stage[:version-id]]]" (a secret-id may be an ARN).
  virtual StatusOr<ResolvedValue> ResolveParameter(std::string_view name) = 0;
  virtual StatusOr<ResolvedValue> ResolveSecret(std::string_view secret_id, std::string_view json_key,
                                                std::string_view version_stage, std::string_view version_id) = 0;
  // DOWNLOAD_SOURCE: puts the source into src_dir (empty, already created). Returns the resolved
  // source version (a commit id, an S3 version id) or "".
  virtual StatusOr<std::string> DownloadSource(const std::string& src_dir) = 0;
  // UPLOAD_ARTIFACTS: the files each artifact selected (primary first); empty when the buildspec
  // has no artifacts section. The build's processes are gone by then and the files stay until Run
  // returns.
  virtual Status UploadArtifacts(const std::vector<SelectedArtifact>& artifacts) = 0;
  // DOWNLOAD_SOURCE, after the buildspec is read and before INSTALL: restores the project's cache
  // for the buildspec's `cache` section (nullptr when it has none). An error fails
  // DOWNLOAD_SOURCE; a cache that is missing is not an error (the hook logs it).
  virtual Status RestoreCache(const CacheSpec* spec, const BuildFilesystem& fs) {
    (void)spec, (void)fs;
    return Status::Ok();
  }
  // UPLOAD_ARTIFACTS, first (the build's processes are gone): each `reports` entry's files, in
  // buildspec order (an entry that matched nothing has none). A report's trouble never fails the
  // build: the hook logs it and records the report as CodeBuild would.
  virtual void UploadReports(const std::vector<SelectedReport>& reports) { (void)reports; }
  // UPLOAD_ARTIFACTS, after the artifacts: saves the project's cache (spec nullptr when the
  // buildspec has no `cache` section). An error fails UPLOAD_ARTIFACTS.
  virtual Status SaveCache(const CacheSpec* spec, const BuildFilesystem& fs) {
    (void)spec, (void)fs;
    return Status::Ok();
  }
  // A phase began (record.end unset) or ended (record.end set). Called for every phase,
  // SUBMITTED through COMPLETED, in order.
  virtual void OnPhase(const PhaseRecord& record) = 0;
  // One line of build output (commands' stdout and stderr, and the engine's own lines in
  // CodeBuild's form: "[Container] 2026/11/26 09:00:00.123456 Running command make"), already
  // masked, without the trailing newline.
  virtual void OnLogLine(std::string_view line) = 0;
};

struct SandboxLimits {
  uint64_t memory_bytes = 0;              // 0 = no limit
  int max_pids = 0;
  double cpus = 0;                        // CPU quota in cores
};

// An OCI image as the build's container runs it, resolved by the caller (runtime::ImageStore).
struct ContainerImage {
  std::string name;                       // as the project names it ("aws/codebuild/standard:7.0")
  std::string rootfs;                     // the unpacked root file system, shared read-only
  std::vector<std::string> env;           // the image config's Env ("PATH=/usr/local/sbin:...")
  std::string working_dir;                // the image config's WorkingDir ("" = /)
  std::string user;                       // the image config's User ("" = root)
};

enum class NetworkMode { kHost, kNone };

struct BuildRequest {
  std::string build_id;                   // "project:uuid", for messages and the tree's name
  // The buildspec: inline text, or a path relative to the source directory (default
  // "buildspec.yml"), read after DOWNLOAD_SOURCE. Errors fail DOWNLOAD_SOURCE with YAML_FILE_ERROR.
  std::string buildspec_inline;
  std::string buildspec_path;
  // Variables CodeBuild sets (CODEBUILD_*, AWS_REGION, HOME, ...), lowest precedence after the
  // engine's own; CODEBUILD_SRC_DIR and CODEBUILD_BUILD_SUCCEEDING are set by the engine.
  std::vector<EnvVar> codebuild_env;
  // Project variables with StartBuild overrides already applied (highest precedence, above the buildspec).
  std::vector<EnvVar> project_env;
  std::string image;                      // recorded in the log
  // Set: the build runs in a container of this image through the OCI runtime (runc); unset: in
  // the host sandbox.
  std::optional<ContainerImage> container;
  NetworkMode network = NetworkMode::kHost;  // containers: the host's network, or loopback only
  bool privileged = false;                // containers: CodeBuild's privilegedMode (docs/containers.md)
  // Containers: the init program ("" = gantry-build-init beside the running program) and runc's
  // state directory ("" = DefaultRuncRoot(work_root); the service passes its state directory's).
  std::string container_init;
  std::string runc_root;
  // When the build was submitted and queued (SUBMITTED and QUEUED phases); unset: when Run starts.
  std::optional<TimePoint> submitted_at;
  std::optional<TimePoint> queued_at;
  // Where the build's own tree lives: a fresh directory made under work_root. When src_dir is
  // set (gantry build), commands run there instead and DownloadSource is not called.
  std::string work_root;
  std::string src_dir;
  std::vector<std::string> hidden_paths;  // made unreadable inside the sandbox (the state directory)
  SandboxLimits limits;
  bool isolate = true;                    // namespaces and cgroups when the host allows them
  std::chrono::milliseconds timeout{std::chrono::hours(1)};  // the whole build, from PROVISIONING
  // After StopBuild or the timeout: how long the build's processes get between SIGTERM and SIGKILL.
  std::chrono::milliseconds stop_grace{std::chrono::seconds(2)};
  std::string cgroup_root = "/sys/fs/cgroup";  // where the cgroup v1 controllers are mounted
  const Clock* clock = nullptr;           // phase times and log stamps; nullptr = the system clock
};

struct BuildOutcome {
  BuildStatus status = BuildStatus::kFailed;
  std::vector<PhaseRecord> phases;        // every phase that ran, in order, COMPLETED last
  std::vector<std::pair<std::string, std::string>> exported_variables;  // names from env.exported-variables
  std::string resolved_source_version;
  std::string work_dir;                   // the build's tree (removed by the caller when it likes)
};

class BuildRunner {
 public:
  BuildRunner();
  ~BuildRunner();
  BuildRunner(const BuildRunner&) = delete;
  BuildRunner& operator=(const BuildRunner&) = delete;

  // Runs the build to COMPLETED; never throws; every failure is in the outcome.
  BuildOutcome Run(const BuildRequest& request, BuildHooks& hooks);
  // Ends the build: the shell's process tree is killed, the current phase ends STOPPED and the
  // build ends STOPPED (after FINALIZING). Safe from any thread; no effect after Run returned. A
  // stop requested before Run begins stops that Run at its first step.
  void RequestStop();

 private:
  std::atomic<bool> stop_requested_{false};
  int stop_fd_ = -1;                      // eventfd, readable once a stop was requested
};

}  // namespace gantry::runtime
