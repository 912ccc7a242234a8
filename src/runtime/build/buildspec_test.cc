// Data-driven tests of the buildspec parser: tests/data/buildspec/*.txt hold one case per block:
//
//   === name of the case
//   buildspec:
//     the YAML, indented by two spaces
//   file: the file name used in messages (default buildspec.yml)
//   json: the parsed buildspec as JSON (see Summary below)  -- or --
//   error: the exact InvalidArgument message
//
// Plus tests of what does not fit a case: CodeBuild's warning text, secret references, phase
// lines, and inputs that must be refused without a crash.
#include "runtime/build/buildspec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support/case_file.h"

namespace gantry::runtime {
namespace {

using nlohmann::json;
using test_support::Case;
using test_support::CaseName;
using test_support::Where;

json Pairs(const KeyValues& pairs) {
  json out = json::array();
  for (const auto& [key, value] : pairs) out.push_back(key + "=" + value);
  return out;
}

json Phase(const PhaseSpec& phase) {
  json out = json::object();
  if (!phase.run_as.empty()) out["run_as"] = phase.run_as;
  if (phase.on_failure_specified) {
    out["on_failure"] = phase.on_failure == OnFailure::kAbort ? "ABORT"
                        : phase.on_failure == OnFailure::kContinue ? "CONTINUE"
                                                                  : "RETRY";
  }
  if (phase.on_failure == OnFailure::kRetry) out["retry_count"] = phase.retry_count;
  if (!phase.retry_regex.empty()) out["retry_regex"] = phase.retry_regex;
  if (!phase.runtime_versions.empty()) out["runtime_versions"] = Pairs(phase.runtime_versions);
  if (!phase.commands.empty()) out["commands"] = phase.commands;
  if (!phase.finally_commands.empty()) out["finally"] = phase.finally_commands;
  return out;
}

json Artifact(const ArtifactSpec& artifact) {
  json out = json::object();
  if (!artifact.identifier.empty()) out["identifier"] = artifact.identifier;
  out["files"] = artifact.files;
  if (!artifact.name.empty()) out["name"] = artifact.name;
  if (artifact.discard_paths) out["discard_paths"] = true;
  if (!artifact.base_directory.empty()) out["base_directory"] = artifact.base_directory;
  if (!artifact.exclude_paths.empty()) out["exclude_paths"] = artifact.exclude_paths;
  if (artifact.enable_symlinks) out["enable_symlinks"] = true;
  if (!artifact.s3_prefix.empty()) out["s3_prefix"] = artifact.s3_prefix;
  return out;
}

// The parsed buildspec with defaults left out, so that a case states only what it is about.
json Summary(const Buildspec& spec) {
  json out = json::object();
  out["version"] = spec.version;
  if (!spec.run_as.empty()) out["run_as"] = spec.run_as;
  if (!spec.shell.empty()) out["shell"] = spec.shell;
  if (!spec.variables.empty()) out["variables"] = Pairs(spec.variables);
  if (!spec.parameter_store.empty()) out["parameter_store"] = Pairs(spec.parameter_store);
  if (!spec.secrets_manager.empty()) out["secrets_manager"] = Pairs(spec.secrets_manager);
  if (!spec.exported_variables.empty()) out["exported_variables"] = spec.exported_variables;
  if (spec.git_credential_helper) out["git_credential_helper"] = true;
  if (spec.proxy_upload_artifacts) out["proxy_upload_artifacts"] = true;
  if (spec.proxy_logs) out["proxy_logs"] = true;
  json phases = json::object();
  const std::pair<const char*, const std::optional<PhaseSpec>*> all[] = {
      {"install", &spec.install}, {"pre_build", &spec.pre_build},
      {"build", &spec.build},     {"post_build", &spec.post_build}};
  for (const auto& [name, phase] : all) {
    if (phase->has_value()) phases[name] = Phase(**phase);
  }
  if (!phases.empty()) out["phases"] = phases;
  if (spec.artifacts) out["artifacts"] = Artifact(*spec.artifacts);
  for (const ArtifactSpec& artifact : spec.secondary_artifacts) {
    out["secondary_artifacts"].push_back(Artifact(artifact));
  }
  for (const ReportSpec& report : spec.reports) {
    json r = {{"group", report.group}, {"files", report.files}, {"file_format", report.file_format}};
    if (!report.base_directory.empty()) r["base_directory"] = report.base_directory;
    if (report.discard_paths) r["discard_paths"] = true;
    out["reports"].push_back(r);
  }
  if (spec.cache) {
    json cache = {{"paths", spec.cache->paths}};
    if (!spec.cache->key.empty()) cache["key"] = spec.cache->key;
    if (!spec.cache->fallback_keys.empty()) cache["fallback_keys"] = spec.cache->fallback_keys;
    if (!spec.cache->action.empty()) cache["action"] = spec.cache->action;
    out["cache"] = cache;
  }
  if (spec.batch) {
    json batch = {{"kind", spec.batch->kind}, {"body", json::parse(spec.batch->body_json)}};
    if (spec.batch->fast_fail) batch["fast_fail"] = true;
    out["batch"] = batch;
  }
  for (const UnknownKey& unknown : spec.unknown_keys) {
    out["unknown_keys"].push_back(unknown.section + " " + unknown.key + " line " + std::to_string(unknown.line));
  }
  return out;
}

class BuildspecCase : public testing::TestWithParam<Case> {};

TEST_P(BuildspecCase, Run) {
  const Case& c = GetParam();
  SCOPED_TRACE(Where(c));
  ASSERT_TRUE(c.Has("json") != c.Has("error")) << "a case needs exactly one of json: and error:";
  std::string file = c.Has("file") ? c.Get("file") : "buildspec.yml";
  std::string yaml = c.Get("buildspec");
  if (!yaml.empty()) yaml += "\n";  // as files end
  StatusOr<Buildspec> spec = ParseBuildspec(yaml, file);
  if (c.Has("error")) {
    ASSERT_FALSE(spec.ok()) << "unexpectedly valid: " << Summary(*spec).dump();
    EXPECT_EQ(spec.status().message(), c.Get("error"));
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
    return;
  }
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  json want = json::parse(c.Get("json"), nullptr, false);
  ASSERT_FALSE(want.is_discarded()) << "json: is not valid JSON";
  EXPECT_EQ(Summary(*spec), want) << "got " << Summary(*spec).dump();
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const char* file : {"parse.txt", "errors.txt", "batch.txt"}) {
    for (Case& c : test_support::LoadCases("buildspec", file)) cases.push_back(std::move(c));
  }
  return cases;
}

std::string FileAndCaseName(const testing::TestParamInfo<Case>& info) {
  std::string file = info.param.file.substr(0, info.param.file.find('.'));
  return file + "_" + CaseName(info);
}

INSTANTIATE_TEST_SUITE_P(Buildspec, BuildspecCase, testing::ValuesIn(AllCases()), FileAndCaseName);

TEST(Buildspec, CaseFilesAreNotEmpty) {
  EXPECT_GT(test_support::LoadCases("buildspec", "parse.txt").size(), 50u);
  EXPECT_GT(test_support::LoadCases("buildspec", "errors.txt").size(), 50u);
  EXPECT_GT(test_support::LoadCases("buildspec", "batch.txt").size(), 20u);
}

TEST(Buildspec, UnknownKeysMessageIsCodeBuildsWarning) {
  auto spec = ParseBuildspec(
      "version: 0.2\n"
      "phases:\n"
      "  build:\n"
      "    env: x\n"
      "    commands: [make]\n"
      "    timeout: 5\n"
      "  pre_build:\n"
      "    env: y\n"
      "artifacts:\n"
      "  files: ['**/*']\n"
      "  type: zip\n",
      "buildspec.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(UnknownKeysMessage(*spec),
            "Found possible syntax errors in buildspec: \n"
            "In the section BUILD\n"
            "    The following keys cannot be identified:\n"
            "        env\n"
            "        timeout\n"
            "In the section PRE_BUILD\n"
            "    The following keys cannot be identified:\n"
            "        env\n"
            "In the section artifacts\n"
            "    The following keys cannot be identified:\n"
            "        type");
  ASSERT_EQ(spec->unknown_keys.size(), 4u);
  EXPECT_EQ(spec->unknown_keys[1].line, 6);
}

TEST(Buildspec, NoUnknownKeysNoMessage) {
  auto spec = ParseBuildspec("version: 0.2\nphases:\n  build:\n    commands: [make]\n", "buildspec.yml");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(UnknownKeysMessage(*spec), "");
}

TEST(Buildspec, PhasesKnowTheirLine) {
  auto spec = ParseBuildspec(
      "version: 0.2\n"
      "\n"
      "phases:\n"
      "  install:\n"
      "    commands: [a]\n"
      "\n"
      "  build:\n"
      "    commands:\n"
      "      - b\n",
      "buildspec.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->install->line, 4);
  EXPECT_EQ(spec->build->line, 7);
}

TEST(Buildspec, BatchBodyIsCompactJson) {
  auto spec = ParseBuildspec(
      "version: 0.2\n"
      "batch:\n"
      "  build-list:\n"
      "    - identifier: a\n"
      "      ignore-failure: yes\n"
      "      env: {privileged-mode: no, variables: {X: 1.10}}\n",
      "buildspec.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->batch->body_json,
            R"([{"identifier":"a","ignore-failure":true,"env":{"privileged-mode":false,"variables":{"X":"1.10"}}}])");
}

TEST(Buildspec, SecretReferences) {
  struct Want {
    const char* reference;
    const char* id;
    const char* json_key;
    const char* stage;
    const char* version;
  };
  const Want wants[] = {
      {"prod/db", "prod/db", "", "", ""},
      {"prod/db:password", "prod/db", "password", "", ""},
      {"prod/db::AWSPREVIOUS", "prod/db", "", "AWSPREVIOUS", ""},
      {"prod/db:password::0123-abcd", "prod/db", "password", "", "0123-abcd"},
      {"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
       "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", "", "", ""},
      {"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:user:AWSCURRENT:v1",
       "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", "user", "AWSCURRENT", "v1"},
  };
  for (const Want& want : wants) {
    SCOPED_TRACE(want.reference);
    auto reference = ParseSecretReference(want.reference);
    ASSERT_TRUE(reference.ok()) << reference.status().message();
    EXPECT_EQ(reference->secret_id, want.id);
    EXPECT_EQ(reference->json_key, want.json_key);
    EXPECT_EQ(reference->version_stage, want.stage);
    EXPECT_EQ(reference->version_id, want.version);
  }
  EXPECT_EQ(ParseSecretReference("a:b:c:d:e").status().message(),
            "secret reference \"a:b:c:d:e\" has too many fields: expected secret-id:json-key:version-stage:version-id");
  EXPECT_EQ(ParseSecretReference(":key").status().message(), "secret reference \":key\" has no secret-id");
  EXPECT_EQ(ParseSecretReference("arn:aws:secretsmanager:us-east-1:1:secret").status().message(),
            "secret ARN \"arn:aws:secretsmanager:us-east-1:1:secret\" is incomplete: expected "
            "arn:<partition>:secretsmanager:<region>:<account>:secret:<name>");
}

// Aliases share nodes in memory, so a small file can name billions of values (here through merge
// keys, each level merging the previous one ten times).
TEST(Buildspec, AliasBombIsRefused) {
  std::string yaml = "version: 0.2\na0: &a0 {k0: x, k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x, k9: x}\n";
  for (int i = 1; i < 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " {<<: [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", " : "") + prev;
    yaml += "]}\n";
  }
  yaml += "env:\n  variables: *a8\n";
  auto spec = ParseBuildspec(yaml, "buildspec.yml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(), "buildspec.yml line 2: the buildspec has more than 262144 values once its "
                                     "aliases are expanded");
}

TEST(Buildspec, MergeOfItselfIsRefused) {
  auto spec = ParseBuildspec("version: 0.2\nenv: &e\n  <<: *e\n", "buildspec.yml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
}

TEST(Buildspec, DeepNestingIsRefused) {
  std::string yaml = "version: 0.2\nphases: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  auto spec = ParseBuildspec(yaml, "buildspec.yml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
}

TEST(Buildspec, LongDependencyChainIsChecked) {
  std::string yaml = "version: 0.2\nbatch:\n  build-graph:\n    - identifier: b0\n";
  for (int i = 1; i < 20000; ++i) {
    yaml += "    - {identifier: b" + std::to_string(i) + ", depend-on: [b" + std::to_string(i - 1) + "]}\n";
  }
  auto spec = ParseBuildspec(yaml, "buildspec.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  yaml += "    - {identifier: c, depend-on: [b19999, c]}\n";
  spec = ParseBuildspec(yaml, "buildspec.yml");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("dependency cycle: c -> c"), std::string::npos) << spec.status().message();
}

}  // namespace
}  // namespace gantry::runtime
