// The buildspec (version 0.2) as a value: every key CodeBuild reads, parsed and validated from
// YAML (yaml-cpp, inside buildspec.cc only). Errors name the file, line and key, in CodeBuild's
// words where it has them (a build shows them as YAML_FILE_ERROR). Keys that only part 2 of
// CodeBuild executes (reports, cache, batch) are parsed and validated here too.
//
// As in CodeBuild, a key it does not know is not an error: it is listed in unknown_keys and the
// build logs UnknownKeysMessage ("Found possible syntax errors in buildspec") and runs on. An
// unknown phase name, a wrong type or a bad value is an error. Version 0.1 is accepted with its
// own names (environment_variables/plaintext, artifacts/type); in 0.1 every command runs in a
// shell of its own, in 0.2 all commands of a build share one shell.
// Value types; the functions are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/status.h"

namespace gantry::runtime {

using KeyValues = std::vector<std::pair<std::string, std::string>>;  // in file order

enum class OnFailure { kAbort, kContinue, kRetry };

// One of install / pre_build / build / post_build.
struct PhaseSpec {
  std::string run_as;                 // "" = the global run-as
  OnFailure on_failure = OnFailure::kAbort;
  bool on_failure_specified = false;  // false: CodeBuild's default phase transitions apply
  int retry_count = 0;                // RETRY*: how many retries (3 unless RETRY-<count>)
  std::string retry_regex;            // RETRY*-regex: only output matching it is retried ("" = any);
                                      // a valid std::regex (ECMAScript)
  KeyValues runtime_versions;         // install only
  std::vector<std::string> commands;
  std::vector<std::string> finally_commands;
  int line = 0;                       // where the phase starts in the file (1-based)
};

struct ArtifactSpec {
  std::string identifier;             // secondary artifacts only
  std::vector<std::string> files;     // globs relative to base_directory ("**/*")
  std::string name;
  bool discard_paths = false;
  std::string base_directory;
  std::vector<std::string> exclude_paths;
  bool enable_symlinks = false;
  std::string s3_prefix;
};

struct ReportSpec {
  std::string group;                  // report group name or ARN
  std::vector<std::string> files;
  std::string base_directory;
  bool discard_paths = false;
  std::string file_format;            // upper case: JUNITXML (default), CUCUMBERJSON, ..., JACOCOXML, ...
};

struct CacheSpec {
  std::string key;
  std::vector<std::string> fallback_keys;
  std::string action;                 // "", "restore", "save"
  std::vector<std::string> paths;
};

// batch: one of build-list, build-matrix, build-graph, build-fanout, validated and kept for part 2.
struct BatchSpec {
  bool fast_fail = false;
  std::string kind;                   // "build-list" | "build-matrix" | "build-graph" | "build-fanout" | ""
  std::string body_json;              // the chosen kind's value as JSON text: the buildspec's keys,
                                      // booleans as true/false, parallelism as a number, other
                                      // scalars as strings ("null" when kind is "")
};

// A key CodeBuild does not know, in the section CodeBuild names in its warning ("BUILD",
// "artifacts", ...).
struct UnknownKey {
  std::string section;
  std::string key;
  int line = 0;
};

// env/secrets-manager's reference "secret-id[:json-key[:version-stage[:version-id]]]", where
// secret-id may be an ARN (which has colons of its own).
struct SecretReference {
  std::string secret_id;
  std::string json_key;               // "" = the whole secret string
  std::string version_stage;          // "" and version_id "" = AWSCURRENT
  std::string version_id;
};
StatusOr<SecretReference> ParseSecretReference(std::string_view reference);

struct Buildspec {
  std::string version;                // "0.2" or "0.1" (normalized: "0.20" becomes "0.2")
  std::string run_as;
  std::string shell;                  // "" = bash; "bash" | "/bin/sh"
  KeyValues variables;
  KeyValues parameter_store;          // variable -> parameter name
  KeyValues secrets_manager;          // variable -> reference, valid for ParseSecretReference
  std::vector<std::string> exported_variables;
  bool git_credential_helper = false;
  bool proxy_upload_artifacts = false;
  bool proxy_logs = false;
  std::optional<PhaseSpec> install, pre_build, build, post_build;
  std::optional<ArtifactSpec> artifacts;
  std::vector<ArtifactSpec> secondary_artifacts;
  std::vector<ReportSpec> reports;
  std::optional<CacheSpec> cache;
  std::optional<BatchSpec> batch;
  std::vector<UnknownKey> unknown_keys;  // in file order
};

// Parses and validates. file_name is used in messages ("buildspec.yml" or "inline buildspec").
// InvalidArgument with a message naming file, line and key on any error.
StatusOr<Buildspec> ParseBuildspec(std::string_view yaml, std::string_view file_name);

// CodeBuild's build-log warning for spec.unknown_keys (several lines), or "" when there are none.
std::string UnknownKeysMessage(const Buildspec& spec);

}  // namespace gantry::runtime
