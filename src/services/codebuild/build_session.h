// One build run, from PROVISIONING to COMPLETED: CodeBuild's side of the engine (BuildHooks). It
// acts as the project's service role, assumed through STS in-process as codebuild.amazonaws.com:
// the build's commands get the session's temporary credentials (and AWS_ENDPOINT_URL, Gantry's
// own URL), and CodeBuild's own calls (S3 source, Parameter Store and Secrets Manager values,
// CloudWatch Logs, S3 artifacts and logs) are made as that session through the in-process client,
// so the role's policies decide them; a denial fails the phase with AWS's message.
//
// Every phase change is written to the build record before it is announced (EventBridge), and the
// outcome (status, exported variables, resolved source version, artifacts) is written when the
// engine returns. Stop flags: `user_stop` (StopBuild) ends the build STOPPED; `shutdown` (Gantry
// stops) ends it FAULT with a context saying so. StopBuild's persisted StopRequested counts as
// `user_stop` too: it is read when the session starts, after provisioning and at every phase.
//
// Thread-safety: Run and the hooks run on the build's thread; the flags may be set from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "services/codebuild/build_queue.h"
#include "services/codebuild/log_sink.h"
#include "runtime/build/image_store.h"

namespace gantry::services::codebuild {

struct StopFlags {
  std::atomic<bool> user_stop{false};  // StopBuild
  std::atomic<bool> shutdown{false};   // Gantry is stopping
  std::atomic<bool> stop{false};       // either (what CodeBuild's own commands watch)
};

// The context a build ends with when Gantry stopped (or died) while it ran.
runtime::PhaseContext InterruptedContext(std::string_view phase, bool at_restart);

// A failed in-process call to `service` as the build's log and phase contexts show it:
// "<AWS error code>: <message>".
std::string Described(const Status& status, std::string_view service);

class BuildSession final : public runtime::BuildHooks {
 public:
  // The build must have been claimed (PROVISIONING begun) by the queue.
  BuildSession(const BuildQueueDeps& deps, const BuildQueueOptions& options, BuildAnnouncer* announcer,
               std::string scope, std::string id, StopFlags* flags);
  ~BuildSession() override;

  // Runs the build to COMPLETED through the engine (or fails it in PROVISIONING without it).
  void Run(BuildEngine& engine);

  // A batch's primary source fetched into src_dir as a build fetches it, outside any build: what a
  // batch reads its buildspec from. `record` is shaped like a build record (Build: source,
  // sourceVersion, initiator, serviceRole, timeoutInMinutes; Account, Region), `id` is the batch's
  // ("<project>:<uuid>"); archives and git's HOME go to <work_root>/<uuid>, which the caller removes
  // (src_dir may lie inside it). Returns the resolved source version.
  static StatusOr<std::string> FetchBatchSource(const BuildQueueDeps& deps, const BuildQueueOptions& options,
                                                const aws::Document& record, const std::string& id,
                                                const std::string& src_dir, StopFlags* flags);

  StatusOr<runtime::ResolvedValue> ResolveParameter(std::string_view name) override;
  StatusOr<runtime::ResolvedValue> ResolveSecret(std::string_view secret_id, std::string_view json_key,
                                                 std::string_view version_stage, std::string_view version_id) override;
  StatusOr<std::string> DownloadSource(const std::string& src_dir) override;
  Status UploadArtifacts(const std::vector<runtime::SelectedArtifact>& artifacts) override;
  // Report groups and reports (report_upload.cc).
  void UploadReports(const std::vector<runtime::SelectedReport>& reports) override;
  // The project's LOCAL and S3 caches (cache.cc).
  Status RestoreCache(const runtime::CacheSpec* spec, const runtime::BuildFilesystem& fs) override;
  Status SaveCache(const runtime::CacheSpec* spec, const runtime::BuildFilesystem& fs) override;
  void OnPhase(const runtime::PhaseRecord& record) override;
  void OnLogLine(std::string_view line) override;

 private:
  struct RoleSession {
    aws::Principal principal;
    std::string access_key_id, secret_access_key, session_token;
    TimePoint expiration;
  };

  // The service role's session, assumed again when it has less than five minutes left.
  StatusOr<aws::Principal> Role();
  StatusOr<aws::Document> CallAsRole(std::string_view service, std::string_view operation, const aws::Document& input);
  // Provisioning done by CodeBuild before the engine runs: the image and environment, the role
  // session, the CloudWatch Logs stream. A failure is the PROVISIONING phase's context.
  std::optional<runtime::PhaseContext> Provision();
  runtime::BuildRequest MakeRequest();
  // Ends the build in PROVISIONING (then FINALIZING, COMPLETED) with a context, without the engine.
  void FailProvisioning(const runtime::PhaseContext& context);
  void Finish(const runtime::BuildOutcome& outcome);
  // Applies fn to the record, persists it, and announces the phases it ended and the build's end.
  void Persist(const std::function<void(aws::Document& record)>& fn);
  // Reads the build record again (record_).
  void Reload();
  // Whether StopBuild asked this build to stop: the flag StopRunning sets, or StopRequested in the
  // last record read (StopBuild persists it first), which then sets the flags.
  bool StopRequested();
  // Forwards a stop (StopBuild's or Gantry's) to the engine, once.
  void CheckStop(BuildEngine* engine);
  // Persists a phase's beginning or end.
  void RecordPhase(const runtime::PhaseRecord& phase);

  // The primary source into src_dir, the secondary ones into <work dir>/sources/<sourceIdentifier>
  // (CODEBUILD_SRC_DIR_<sourceIdentifier>); the primary's resolved version. A pipeline's build
  // records its secondary artifacts' revisions as their secondarySourceVersions.
  StatusOr<std::string> FetchSource(const std::string& src_dir);
  // One source at a version into dir; its resolved version. `which` names the source in messages
  // ("primary source", "secondary source <identifier>").
  StatusOr<std::string> FetchOne(const aws::Document& source, const std::string& version, const std::string& dir,
                                 const std::string& which);
  StatusOr<std::string> DownloadS3(const aws::Document& source, const std::string& version, const std::string& dir,
                                   const std::string& which);
  // A CodePipeline artifact (version "arn:aws:s3:::bucket/key"): unpacked, or cloned when it is a
  // clone reference (CODEBUILD_CLONE_REF); its resolved version is the revision the source action
  // recorded (kArtifactRevisionIdKey), else the commit cloned, else the object's version id.
  StatusOr<std::string> DownloadPipelineArtifact(const std::string& version, const std::string& dir,
                                                 const std::string& which);
  StatusOr<std::string> CloneRepository(const aws::Document& source, const std::string& version, const std::string& dir,
                                        const std::string& which);
  void UploadS3Log();

  BuildQueueDeps deps_;
  const BuildQueueOptions& options_;
  BuildAnnouncer* announcer_;
  const std::string scope_, id_;
  // Fixed for the run (read from the log flusher's thread too).
  std::string account_, region_, role_arn_;
  int timeout_minutes_ = 0;
  StopFlags* flags_;
  aws::Document record_;  // the last persisted build record
  std::string uuid_;
  std::string dir_;     // <work_root>/<uuid>: the engine's work root, the log file, archives
  std::mutex role_mu_;  // role_ is refreshed from the log flusher's thread too
  std::optional<RoleSession> role_;
  std::optional<std::string> s3_buildspec_;  // a buildspec fetched from S3 (arn:aws:s3:::...)
  // Provision: the registered image the build's container runs (unset: the host sandbox), and the
  // project's gantry:network tag.
  std::optional<runtime::ContainerImage> container_;
  runtime::ImageLease image_lease_;        // holds container_'s tree until the session ends
  runtime::NetworkMode network_ = runtime::NetworkMode::kHost;
  std::string src_dir_;                      // CODEBUILD_SRC_DIR (DownloadSource's), for the cache hooks
  runtime::BuildRequest request_;            // what the engine runs (it holds a reference)
  std::unique_ptr<BuildLogSink> log_;
  BuildEngine* engine_ = nullptr;
  bool stop_forwarded_ = false;
};

}  // namespace gantry::services::codebuild
