// The batch runner: moves every batch build through its phases. A pass takes each batch not
// complete (codebuild.batch_active, oldest first) one step on:
//   SUBMITTED → DOWNLOAD_BATCHSPEC: the buildspec is read (inline, from S3, or from the source,
//     fetched as a build fetches it, as the project's service role) and its batch section expanded
//     into build groups, checked against the batch's restrictions (maximumBuildsAllowed,
//     computeTypesAllowed);
//   IN_PROGRESS: groups whose dependencies are all done get a build (a normal build in the build
//     queue, with buildBatchArn and CODEBUILD_BATCH_BUILD_IDENTIFIER, recorded in the batch in the
//     transaction that creates it): a dependency is done when it SUCCEEDED, or ended otherwise with
//     ignore-failure; one that failed without it, or never ran, leaves its dependents unbuilt;
//     fast-fail (a failed build that does not ignore failures), StopBuildBatch and the batch's
//     timeout stop the running builds and start no more;
//   COMBINE_ARTIFACTS (combineArtifacts, for a pipeline's single output): the builds' artifacts
//     zipped into one, each under its build's identifier;
//   then SUCCEEDED when every group that does not ignore failures succeeded, else FAILED, STOPPED
//   or TIMED_OUT.
// The batch's timeoutInMins counts from its start (or its retry), in every phase.
// Every step is persisted before the next is taken, so after a restart a batch resumes where it
// was: its builds in flight were ended by the build queue's restart logic, and the batch goes on
// from their outcome; a source fetch or a combination cut short by the stop is done again.
//
// The slow steps (the source fetch of DOWNLOAD_BATCHSPEC, COMBINE_ARTIFACTS) run on a thread of
// their batch, so that a pass never waits for them: StopBuildBatch and the timeout end them (their
// StopFlags), and the next pass after they return takes the batch on.
//
// Thread-safety: Wake and Pass may be called from any thread, Pass from one at a time; Start/Stop
// from one. Tests call Pass() without Start().
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "services/codebuild/build_session.h"
#include "services/codebuild/handlers.h"

namespace gantry::services::codebuild {

class BatchRunner {
 public:
  explicit BatchRunner(CodeBuildDeps deps) : deps_(deps) {}
  ~BatchRunner() { Stop(); }
  BatchRunner(const BatchRunner&) = delete;
  BatchRunner& operator=(const BatchRunner&) = delete;

  void Start();
  void Stop();
  // A batch was started, stopped or retried: run a pass soon.
  void Wake();
  // One pass over the batches not complete; returns how many are still not complete.
  int Pass();

 private:
  using Text = std::pair<std::string, std::string>;  // the buildspec and the resolved source version
  // The slow step of one batch, on a thread of its own.
  struct Task {
    std::thread thread;
    StopFlags flags;
    std::atomic<bool> done{false};
    StatusOr<Text> result = Status::Unavailable("the task is running");
  };

  void Loop();
  // One step of one batch; active_key is its codebuild.batch_active entry.
  void Step(const std::string& scope, const std::string& id, const std::string& active_key);
  void DownloadBatchspec(const std::string& scope, const std::string& id, const aws::Document& record);
  void Progress(const std::string& scope, const std::string& id, aws::Document record);
  void Finish(const std::string& scope, const std::string& id, const aws::Document& record);
  void Combine(const std::string& scope, const std::string& id, const aws::Document& record);
  // The outcome of the batch's task running fn: nullopt while it runs (started now when none was);
  // the result once it has returned (the task is then gone).
  std::optional<StatusOr<Text>> RunTask(const std::string& id, std::function<StatusOr<Text>(StopFlags*)> fn);
  // Asks the batch's task, if one runs, to stop; whether one still runs.
  bool StopTask(const std::string& id);
  // Joins and forgets the tasks that returned for batches no longer in flight.
  void ReapTasks(const std::set<std::string>& active);
  // Whether the batch's timeoutInMins has passed since it started (or was retried).
  bool TimedOut(const aws::Document& record) const;
  // The buildspec text the batch runs (inline, S3, or the source's file) and the resolved version.
  StatusOr<Text> ReadBuildspec(const std::string& id, const aws::Document& record, StopFlags* flags);
  // A principal of the project's service role, assumed as codebuild.amazonaws.com.
  StatusOr<aws::Principal> AssumeRole(const aws::Document& record);
  Status CombineArtifacts(const std::string& id, const aws::Document& record, StopFlags* flags);

  CodeBuildDeps deps_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex tasks_mu_;
  std::map<std::string, std::unique_ptr<Task>> tasks_;  // by batch id
};

}  // namespace gantry::services::codebuild
