// A command CodeBuild runs for itself (git, to fetch repository sources): started in its own
// process group with a given environment, its stdout and stderr collected, and the whole group
// killed when the deadline passes or `cancel` becomes true. Thread-safe (no shared state).
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "core/common/status.h"

namespace gantry::services::codebuild {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr interleaved (the first 1 MiB)
};

// Runs argv[0] (looked up on PATH) in cwd with exactly `env`, until it has exited (not only closed
// its output). Unavailable when the deadline passed or it was cancelled, Internal when it could not
// start or its output or exit could not be read; in both cases the group is killed and reaped.
StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& cwd,
                                   const std::vector<std::string>& env, std::chrono::steady_clock::time_point deadline,
                                   const std::atomic<bool>* cancel);

// SIGKILLs every process of this user whose environment holds CODEBUILD_BUILD_ID=<build_id>: what
// is left of a build whose server died (its commands and their children carry the variable).
// Returns how many were killed.
int KillBuildProcesses(const std::string& build_id);

}  // namespace gantry::services::codebuild
