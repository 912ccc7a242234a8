#include "services/codebuild/build_session.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/archive/zip.h"
#include "core/aws/error.h"
#include "core/aws/model.h"
#include "core/aws/sigv4.h"
#include "core/common/crypto.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"
#include "services/codebuild/artifacts.h"
#include "services/codebuild/build_events.h"
#include "services/codebuild/clone_ref.h"
#include "services/codebuild/environment.h"
#include "services/codebuild/git_source.h"
#include "services/codebuild/handlers.h"
#include "services/codebuild/process.h"
#include "services/codebuild/records.h"
#include "runtime/build/build_log.h"
#include "runtime/build/container.h"
#include "runtime/build/image_store.h"

namespace gantry::services::codebuild {

namespace {

namespace fs = std::filesystem;
using aws::Document;
using runtime::BuildPhaseType;
using runtime::BuildStatus;
using runtime::PhaseContext;

constexpr int kDefaultSessionSeconds = 3600;
constexpr int kMaxSessionSeconds = 43200;
constexpr auto kRoleRefreshMargin = std::chrono::minutes(5);

const char* const kRepositoryTypes[] = {"CODECOMMIT", "GITHUB", "GITHUB_ENTERPRISE",
                                        "BITBUCKET",  "GITLAB", "GITLAB_SELF_MANAGED"};

// The AWS error code of a failed in-process call to `service`.
std::string CodeOf(const Status& status, std::string_view service) {
  return aws::ToAwsError(status, aws::ModelRegistry::Instance().Get(service)).code;
}

Status ClientError(std::string message) { return Status::FailedPrecondition(std::move(message), "CLIENT_ERROR"); }

// A file's bytes as a binary Document, read once straight into the Document's own buffer.
StatusOr<Document> ReadBinary(const std::string& path) {
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) return Status::Internal("cannot read " + path);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<uintmax_t>(in.gcount()) != size) return Status::Internal("cannot read " + path);
  return Document::binary(std::move(bytes));
}

Status WriteFile(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) return Status::Internal("cannot write " + path.string());
  return Status::Ok();
}

}  // namespace

std::string Described(const Status& status, std::string_view service) {
  return CodeOf(status, service) + ": " + status.message();
}

PhaseContext InterruptedContext(std::string_view phase, bool at_restart) {
  std::string why = at_restart ? "Gantry stopped or was killed while this build was in " + std::string(phase) +
                                     "; the build's processes are gone and it did not finish."
                               : "Gantry stopped while this build was in " + std::string(phase) +
                                     "; its processes were ended and it did not finish.";
  return {"BUILD_INTERRUPTED", why};
}

BuildSession::BuildSession(const BuildQueueDeps& deps, const BuildQueueOptions& options, BuildAnnouncer* announcer,
                           std::string scope, std::string id, StopFlags* flags)
    : deps_(deps),
      options_(options),
      announcer_(announcer),
      scope_(std::move(scope)),
      id_(std::move(id)),
      flags_(flags) {
  Reload();
  if (!record_.is_null()) {
    account_ = record_.value("Account", "");
    region_ = record_.value("Region", "");
    role_arn_ = record_["Build"].value("serviceRole", "");
    timeout_minutes_ = record_["Build"].value("timeoutInMinutes", kDefaultTimeoutMinutes);
  }
  if (auto parts = ParseBuildId(id_)) uuid_ = parts->uuid;
  dir_ = options_.work_root + "/" + uuid_;
}

BuildSession::~BuildSession() {
  if (log_) log_->Close();
}

void BuildSession::Reload() {
  auto record = deps_.store->Get(kBuildTable, scope_, id_);
  if (record.ok() && *record) record_ = std::move((*record)->doc);
}

bool BuildSession::StopRequested() {
  if (!flags_->user_stop && record_.value("StopRequested", false)) {
    flags_->user_stop = true;
    flags_->stop = true;
  }
  return flags_->user_stop;
}

void BuildSession::Run(BuildEngine& engine) {
  if (record_.is_null() || IsComplete(record_)) return;
  std::error_code ec;
  fs::create_directories(dir_ + "/home", ec);
  ::chmod(dir_.c_str(), 0700);
  const Document& logs = record_["Build"]["logs"];
  BuildLogSink::SendFn send;
  if (logs.contains("groupName")) {
    std::string group = logs["groupName"], stream = logs["streamName"];
    send = [this, group, stream](const Document& events) {
      return CallAsRole("logs", "PutLogEvents",
                        {{"logGroupName", group}, {"logStreamName", stream}, {"logEvents", events}})
          .status();
    };
  }
  log_ = std::make_unique<BuildLogSink>(deps_.clock, std::move(send),
                                        logs.contains("s3LogsArn") ? dir_ + "/build.log" : std::string());
  std::optional<PhaseContext> failure;
  if (!StopRequested()) {
    failure = Provision();
    Reload();
  }
  if (StopRequested()) {
    Persist([&](Document& r) { CompleteBuild(r, BuildStatus::kStopped, deps_.clock->Now()); });
  } else if (failure) {
    FailProvisioning(*failure);
  } else if (!flags_->shutdown) {
    log_->Start();
    engine_ = &engine;
    request_ = MakeRequest();
    if (!request_.container) {
      log_->Append(runtime::ContainerLine(deps_.clock->Now(),
                                          "Image " + request_.image + " is not registered with Gantry: it runs in the " +
                                              "host sandbox (`gantry image build-standard --name " + request_.image +
                                              "` registers a container image for it)"));
    }
    // debugSession.sessionEnabled stays as asked (StartBuild, StartBuildBatch, a batch's debug-session).
    if (record_["Build"].value("debugSession", Document::object()).value("sessionEnabled", false)) {
      log_->Append(runtime::ContainerLine(deps_.clock->Now(),
                                          "Debug session not started: Gantry has no Session Manager, so the build "
                                          "runs without a session to connect to"));
    }
    runtime::BuildOutcome outcome = engine.Run(request_, *this);
    engine_ = nullptr;
    log_->Close();
    if (Status sent = log_->first_error(); !sent.ok()) {
      GANTRY_LOG(kWarn,
                 "codebuild: some log lines of build " << id_ << " did not reach CloudWatch Logs: " << sent.ToString());
    }
    UploadS3Log();
    Finish(outcome);
  }
  log_->Close();
  if (!IsComplete(record_) && flags_->shutdown) {
    std::string phase = record_["Build"].value("currentPhase", "");
    Persist([&](Document& r) {
      CompleteBuild(r, BuildStatus::kFault, deps_.clock->Now(), {InterruptedContext(phase, false)});
    });
  }
  fs::remove_all(dir_, ec);
}

StatusOr<std::string> BuildSession::FetchBatchSource(const BuildQueueDeps& deps, const BuildQueueOptions& options,
                                                     const Document& record, const std::string& id,
                                                     const std::string& src_dir, StopFlags* flags) {
  BuildSession session(deps, options, nullptr, record.value("Scope", ""), id, flags);
  session.record_ = record;
  session.account_ = record.value("Account", "");
  session.region_ = record.value("Region", "");
  session.role_arn_ = record["Build"].value("serviceRole", "");
  session.timeout_minutes_ = record["Build"].value("timeoutInMinutes", kDefaultTimeoutMinutes);
  std::error_code ec;
  fs::create_directories(session.dir_ + "/home", ec);
  fs::create_directories(src_dir, ec);
  if (ec) return Status::Internal("cannot create " + src_dir + ": " + ec.message());
  ::chmod(session.dir_.c_str(), 0700);
  const Document& build = record["Build"];
  return session.FetchOne(build["source"], build.value("sourceVersion", ""), src_dir, "primary source");
}

StatusOr<aws::Principal> BuildSession::Role() {
  std::lock_guard lock(role_mu_);
  TimePoint now = deps_.clock->Now();
  if (role_ && role_->expiration - now > kRoleRefreshMargin) return role_->principal;
  // The build's commands keep the first session's credentials: ask for one as long as the build may
  // run (up to STS's 12 hours), or the default hour when the role's MaxSessionDuration is shorter.
  int timeout_seconds = timeout_minutes_ * 60;
  Document input = {{"RoleArn", role_arn_},
                    {"RoleSessionName", "AWSCodeBuild-" + uuid_},
                    {"DurationSeconds", std::clamp(timeout_seconds, kDefaultSessionSeconds, kMaxSessionSeconds)}};
  auto assumed = deps_.client->Call(ServicePrincipal(account_), "sts", "AssumeRole", input, region_);
  if (!assumed.ok() && assumed.status().code() == StatusCode::kInvalidArgument) {
    input["DurationSeconds"] = kDefaultSessionSeconds;
    assumed = deps_.client->Call(ServicePrincipal(account_), "sts", "AssumeRole", input, region_);
  }
  GANTRY_ASSIGN_OR_RETURN(Document out, std::move(assumed));
  RoleSession session;
  const Document& credentials = out["Credentials"];
  session.access_key_id = credentials.value("AccessKeyId", "");
  session.secret_access_key = credentials.value("SecretAccessKey", "");
  session.session_token = credentials.value("SessionToken", "");
  session.expiration = FromSeconds(credentials["Expiration"]);
  session.principal.account_id = account_;
  session.principal.arn = out["AssumedRoleUser"].value("Arn", "");
  session.principal.user_id = out["AssumedRoleUser"].value("AssumedRoleId", "");
  session.principal.access_key_id = session.access_key_id;
  // CodeBuild makes these calls on the role's behalf: the audit trail shows it as invokedBy.
  session.principal.service = std::string(kServicePrincipal);
  role_ = std::move(session);
  return role_->principal;
}

StatusOr<Document> BuildSession::CallAsRole(std::string_view service, std::string_view operation,
                                            const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(aws::Principal principal, Role());
  return deps_.client->Call(principal, service, operation, input, region_);
}

std::optional<PhaseContext> BuildSession::Provision() {
  const Document& build = record_["Build"];
  const Document& environment = build["environment"];
  std::string type = environment.value("type", "");
  std::string image = environment.value("image", "");
  if (type.rfind("WINDOWS", 0) == 0 || type.rfind("MAC", 0) == 0) {
    return PhaseContext{"CLIENT_ERROR", "Gantry runs Linux builds only; environment type " + type +
                                            " needs a Windows or macOS host, which Gantry does not provide."};
  }
  // A registered image runs in a container; an unregistered curated one in the host sandbox.
  container_.reset();
  if (!options_.image_dir.empty()) {
    auto resolved = runtime::ImageStore(options_.image_dir).Resolve(image, &image_lease_);
    if (resolved.ok()) {
      container_ = *resolved;
    } else if (resolved.status().code() != StatusCode::kNotFound) {
      return PhaseContext{"CLIENT_ERROR", "Unable to use image " + image + ": " + resolved.status().message()};
    }
  }
  if (!container_ && !IsCuratedImage(image)) {
    return PhaseContext{"BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE",
                        "Unable to use image " + image + ": it is not registered with Gantry, which pulls no images; " +
                            "register a root file system or OCI image layout for it on the Gantry machine with " +
                            "`gantry image register " + image + " DIR`"};
  }
  network_ = runtime::NetworkMode::kHost;
  for (const Document& tag : record_["Settings"].value("tags", Document::array())) {
    if (tag.value("key", "") != "gantry:network") continue;
    std::string mode = tag.value("value", "");
    if (mode == "none") {
      network_ = runtime::NetworkMode::kNone;
    } else if (mode != "host") {
      return PhaseContext{"CLIENT_ERROR", "The project tag gantry:network is " + mode + "; it must be host or none"};
    }
  }
  const std::string& role_arn = role_arn_;
  if (Status assumed = Role().status(); !assumed.ok()) {
    // STS denies roles that do not trust CodeBuild and roles that do not exist alike.
    if (assumed.code() == StatusCode::kPermissionDenied) {
      return PhaseContext{"CLIENT_ERROR", "CodeBuild is not authorized to perform: sts:AssumeRole on " + role_arn};
    }
    return PhaseContext{"CLIENT_ERROR",
                        "CodeBuild could not assume the service role " + role_arn + ": " + Described(assumed, "sts")};
  }
  const Document& logs = build["logs"];
  if (logs.contains("groupName")) {
    std::string group = logs["groupName"], stream = logs["streamName"];
    // The group may exist already (and the role may only be allowed to add streams to it).
    auto group_made = CallAsRole("logs", "CreateLogGroup", {{"logGroupName", group}});
    auto made = CallAsRole("logs", "CreateLogStream", {{"logGroupName", group}, {"logStreamName", stream}});
    if (!made.ok() && made.status().code() != StatusCode::kAlreadyExists) {
      if (made.status().code() == StatusCode::kPermissionDenied) {
        return PhaseContext{"ACCESS_DENIED", "Service role " + role_arn +
                                                 " does not allow AWS CodeBuild to create Amazon CloudWatch Logs log "
                                                 "streams for build " +
                                                 build.value("arn", "") +
                                                 ". Error message: " + made.status().message()};
      }
      if (!group_made.ok() && group_made.status().code() != StatusCode::kAlreadyExists) {
        return PhaseContext{"CLIENT_ERROR", Described(group_made.status(), "logs")};
      }
      return PhaseContext{"CLIENT_ERROR", Described(made.status(), "logs")};
    }
  }
  std::string buildspec = build["source"].value("buildspec", "");
  if (buildspec.rfind("arn:aws:s3:::", 0) == 0) {
    S3Object object = ParseS3Location(buildspec);
    auto got = CallAsRole("s3", "GetObject", {{"Bucket", object.bucket}, {"Key", object.key}});
    if (!got.ok()) {
      return PhaseContext{"CLIENT_ERROR", Described(got.status(), "s3") + " for buildspec " + buildspec};
    }
    const auto& bytes = (*got)["Body"].get_binary();
    s3_buildspec_ = std::string(bytes.begin(), bytes.end());
  }
  return std::nullopt;
}

runtime::BuildRequest BuildSession::MakeRequest() {
  const Document& build = record_["Build"];
  const Document& environment = build["environment"];
  runtime::BuildRequest request;
  request.build_id = id_;
  std::string buildspec = build["source"].value("buildspec", "");
  if (s3_buildspec_) {
    request.buildspec_inline = *s3_buildspec_;
  } else if (IsInlineBuildspec(buildspec)) {
    request.buildspec_inline = buildspec;
  } else {
    request.buildspec_path = buildspec;
  }
  BuildFacts facts;
  facts.build_id = id_;
  facts.build_arn = build.value("arn", "");
  facts.build_number = build.value("buildNumber", int64_t{0});
  facts.image = environment.value("image", "");
  facts.initiator = build.value("initiator", "");
  facts.log_path = build["logs"].value("streamName", "");
  facts.project_arn = ProjectArn(region_, account_, build.value("projectName", ""));
  facts.source_repo_url = SourceRepoUrl(build["source"]);
  facts.source_version = build.value("sourceVersion", "");
  facts.batch_build_identifier = record_["Settings"].value("batchBuildIdentifier", "");
  facts.kms_key_id = build.value("encryptionKey", "");
  facts.start_time_ms = ToEpochMillis(FromSeconds(build["startTime"]));
  facts.region = region_;
  // A container has its own root's home; the host sandbox one in the build's directory.
  facts.home = container_ ? "/root" : dir_ + "/home";
  {
    std::lock_guard lock(role_mu_);
    if (role_) {
      facts.access_key_id = role_->access_key_id;
      facts.secret_access_key = role_->secret_access_key;
      facts.session_token = role_->session_token;
    }
  }
  if (options_.endpoint) facts.endpoint_url = options_.endpoint();
  request.codebuild_env = CodeBuildVariables(facts);
  request.project_env = ProjectVariables(environment.value("environmentVariables", Document::array()));
  request.image = facts.image;
  request.container = container_;
  request.runc_root = runtime::DefaultRuncRoot(options_.state_dir);
  request.network = network_;
  request.privileged = environment.value("privilegedMode", false);
  request.work_root = dir_;
  request.hidden_paths = {options_.state_dir};
  std::string compute = environment.value("computeType", "");
  if (std::optional<runtime::SandboxLimits> limits = ComputeLimits(compute)) {
    request.limits = *limits;
  } else if (environment.contains("computeConfiguration")) {
    const Document& c = environment["computeConfiguration"];
    request.limits.memory_bytes = static_cast<uint64_t>(c.value("memory", int64_t{0})) << 30;
    request.limits.cpus = static_cast<double>(c.value("vCpu", int64_t{0}));
  }
  request.isolate = options_.isolate;
  request.timeout = options_.minute * build.value("timeoutInMinutes", kDefaultTimeoutMinutes);
  request.clock = deps_.clock;
  for (const Document& phase : build["phases"]) {
    if (phase.value("phaseType", "") == "SUBMITTED") request.submitted_at = FromSeconds(phase["startTime"]);
    if (phase.value("phaseType", "") == "QUEUED") request.queued_at = FromSeconds(phase["startTime"]);
  }
  return request;
}

void BuildSession::FailProvisioning(const PhaseContext& context) {
  Persist([&](Document& r) {
    TimePoint now = deps_.clock->Now();
    EndPhase(r, BuildPhaseType::kProvisioning, now, BuildStatus::kFailed, {context});
  });
  Persist([&](Document& r) {
    TimePoint now = deps_.clock->Now();
    BeginPhase(r, BuildPhaseType::kFinalizing, now);
    EndPhase(r, BuildPhaseType::kFinalizing, now, BuildStatus::kSucceeded, {});
  });
  Persist([&](Document& r) { CompleteBuild(r, BuildStatus::kFailed, deps_.clock->Now()); });
}

void BuildSession::Finish(const runtime::BuildOutcome& outcome) {
  BuildStatus status = outcome.status;
  if (flags_->shutdown && status == BuildStatus::kStopped) status = BuildStatus::kFault;
  TimePoint end = deps_.clock->Now();
  for (const runtime::PhaseRecord& phase : outcome.phases) {
    if (phase.type == BuildPhaseType::kCompleted) end = phase.start;
  }
  Persist([&](Document& r) {
    Document& build = r["Build"];
    if (!outcome.exported_variables.empty()) {
      Document exported = Document::array();
      for (const auto& [name, value] : outcome.exported_variables)
        exported.push_back({{"name", name}, {"value", value}});
      build["exportedEnvironmentVariables"] = exported;
    }
    if (!outcome.resolved_source_version.empty()) build["resolvedSourceVersion"] = outcome.resolved_source_version;
    std::vector<PhaseContext> contexts;
    if (status == BuildStatus::kFault && flags_->shutdown) {
      contexts.push_back(InterruptedContext(build.value("currentPhase", ""), false));
    }
    CompleteBuild(r, status, end, contexts);
  });
}

void BuildSession::Persist(const std::function<void(Document& record)>& fn) {
  Document before;
  auto updated = UpdateBuild(*deps_.store, scope_, id_, [&](Document& r) -> Status {
    before = r;
    fn(r);
    return Status::Ok();
  });
  if (!updated.ok()) {
    GANTRY_LOG(kWarn, "codebuild: cannot record the progress of build " << id_ << ": " << updated.status().ToString());
    return;
  }
  record_ = std::move(*updated);
  announcer_->Announce(std::move(before), record_);
}

void BuildSession::CheckStop(BuildEngine* engine) {
  if (engine != nullptr && !stop_forwarded_ && (StopRequested() || flags_->shutdown)) {
    stop_forwarded_ = true;
    engine->RequestStop();
  }
}

void BuildSession::OnPhase(const runtime::PhaseRecord& phase) {
  RecordPhase(phase);
  // Persisting the change re-read the record: a stop StopBuild persisted is honoured before the
  // next phase even if its request to the running build was missed.
  CheckStop(engine_);
}

void BuildSession::RecordPhase(const runtime::PhaseRecord& phase) {
  if (phase.type == BuildPhaseType::kSubmitted || phase.type == BuildPhaseType::kQueued ||
      phase.type == BuildPhaseType::kCompleted) {
    return;
  }
  if (!phase.end) {
    if (const Document* open = OpenPhase(record_);
        open && open->value("phaseType", "") == runtime::PhaseName(phase.type)) {
      return;
    }
    Persist([&](Document& r) { BeginPhase(r, phase.type, phase.start); });
    return;
  }
  BuildStatus status = phase.status.value_or(BuildStatus::kSucceeded);
  std::vector<PhaseContext> contexts = phase.contexts;
  if (flags_->shutdown && status == BuildStatus::kStopped) {
    status = BuildStatus::kFault;
    contexts.push_back(InterruptedContext(runtime::PhaseName(phase.type), false));
  }
  Persist([&](Document& r) { EndPhase(r, phase.type, *phase.end, status, contexts); });
}

void BuildSession::OnLogLine(std::string_view line) {
  CheckStop(engine_);
  if (log_) log_->Append(line);
}

StatusOr<runtime::ResolvedValue> BuildSession::ResolveParameter(std::string_view name) {
  // The engine words the context ("Decrypted Variables Error"): NotFound, or the AWS code and message.
  auto out =
      CallAsRole("ssm", "GetParameters", {{"Names", Document::array({std::string(name)})}, {"WithDecryption", true}});
  if (!out.ok()) return Status(out.status().code(), out.status().message(), CodeOf(out.status(), "ssm"));
  const Document& parameters = (*out)["Parameters"];
  if (parameters.empty()) return Status::NotFound("parameter does not exist: " + std::string(name));
  return runtime::ResolvedValue{parameters[0].value("Value", ""), parameters[0].value("Type", "") == "SecureString"};
}

StatusOr<runtime::ResolvedValue> BuildSession::ResolveSecret(std::string_view secret_id, std::string_view json_key,
                                                             std::string_view version_stage,
                                                             std::string_view version_id) {
  Document input = {{"SecretId", std::string(secret_id)}};
  if (!version_stage.empty()) input["VersionStage"] = std::string(version_stage);
  if (!version_id.empty()) input["VersionId"] = std::string(version_id);
  // The engine words the context ("Secrets Manager Error"): the AWS code and message.
  auto out = CallAsRole("secretsmanager", "GetSecretValue", input);
  if (!out.ok()) return Status(out.status().code(), out.status().message(), CodeOf(out.status(), "secretsmanager"));
  std::string value;
  if (out->contains("SecretString")) {
    value = (*out)["SecretString"].get<std::string>();
  } else if (out->contains("SecretBinary") && (*out)["SecretBinary"].is_binary()) {
    const auto& bytes = (*out)["SecretBinary"].get_binary();
    value.assign(bytes.begin(), bytes.end());
  }
  if (!json_key.empty()) {
    Document parsed = Document::parse(value, nullptr, false);
    if (!parsed.is_object() || !parsed.contains(std::string(json_key))) {
      return Status::NotFound("secret " + std::string(secret_id) + " has no JSON key " + std::string(json_key),
                              "ResourceNotFoundException");
    }
    const Document& field = parsed[std::string(json_key)];
    value = field.is_string() ? field.get<std::string>() : field.dump();
  }
  return runtime::ResolvedValue{value, true};
}

StatusOr<std::string> BuildSession::DownloadSource(const std::string& src_dir) {
  src_dir_ = src_dir;
  GANTRY_ASSIGN_OR_RETURN(std::string version, FetchSource(src_dir));
  // The engine reads codebuild_env after DOWNLOAD_SOURCE (the buildspec's env comes from the
  // source), so the version resolved here reaches the build's commands.
  if (!version.empty()) {
    request_.codebuild_env.push_back({"CODEBUILD_RESOLVED_SOURCE_VERSION", version, runtime::EnvVarType::kPlaintext});
  }
  return version;
}

StatusOr<std::string> BuildSession::FetchSource(const std::string& src_dir) {
  const Document& build = record_["Build"];
  GANTRY_ASSIGN_OR_RETURN(std::string resolved,
                          FetchOne(build["source"], build.value("sourceVersion", ""), src_dir, "primary source"));
  bool pipeline = build.value("initiator", "").rfind("codepipeline/", 0) == 0;
  Document resolved_secondary = Document::array();
  for (const Document& source : build.value("secondarySources", Document::array())) {
    std::string identifier = source.value("sourceIdentifier", "");
    std::string version;
    for (const Document& v : build.value("secondarySourceVersions", Document::array())) {
      if (v.value("sourceIdentifier", "") == identifier) version = v.value("sourceVersion", "");
    }
    // Identifiers are [A-Za-z0-9_]: a plain directory name.
    std::string dir = (fs::path(src_dir).parent_path() / "sources" / identifier).string();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::Internal("cannot create " + dir + ": " + ec.message());
    GANTRY_ASSIGN_OR_RETURN(std::string secondary, FetchOne(source, version, dir, "secondary source " + identifier));
    for (runtime::EnvVar& var : SecondarySourceVariables(source, version, dir)) {
      request_.codebuild_env.push_back(std::move(var));
    }
    // A pipeline names no versions for its secondary artifacts: the build shows the revisions they
    // hold as their versions, the only place the model has for them.
    if (pipeline && version.empty() && !secondary.empty()) {
      resolved_secondary.push_back({{"sourceIdentifier", identifier}, {"sourceVersion", secondary}});
    }
  }
  if (!resolved_secondary.empty()) {
    Persist([&](Document& r) {
      Document& versions = r["Build"]["secondarySourceVersions"];
      if (!versions.is_array()) versions = Document::array();
      for (const Document& v : resolved_secondary) versions.push_back(v);
    });
  }
  return resolved;
}

StatusOr<std::string> BuildSession::FetchOne(const Document& source, const std::string& version, const std::string& dir,
                                             const std::string& which) {
  std::string type = source.value("type", "NO_SOURCE");
  if (type == "NO_SOURCE") return std::string();
  // A pipeline passes its secondary input artifacts as S3 sources: each, like its primary one, is
  // an artifact zip or a CODEBUILD_CLONE_REF reference to clone.
  if (type == "S3" && record_["Build"].value("initiator", "").rfind("codepipeline/", 0) == 0) {
    return DownloadPipelineArtifact(ParseS3Location(source.value("location", "")).Arn(), dir, which);
  }
  if (type == "S3") return DownloadS3(source, version, dir, which);
  if (type == "CODEPIPELINE") return DownloadPipelineArtifact(version, dir, which);
  for (const char* repository : kRepositoryTypes) {
    if (type == repository) return CloneRepository(source, version, dir, which);
  }
  return ClientError("Gantry does not download " + type + " sources yet; start this build with another source type.");
}

StatusOr<std::string> BuildSession::DownloadS3(const Document& source, const std::string& version,
                                               const std::string& dir, const std::string& which) {
  S3Object object = ParseS3Location(source.value("location", ""));
  std::string where = " for " + which + " and source version " + object.Arn();
  if (!object.key.empty() && object.key.back() == '/') {
    Document list = {{"Bucket", object.bucket}, {"Prefix", object.key}};
    while (true) {
      auto page = CallAsRole("s3", "ListObjectsV2", list);
      if (!page.ok()) return ClientError(Described(page.status(), "s3") + where);
      for (const Document& item : page->value("Contents", Document::array())) {
        std::string key = item.value("Key", "");
        std::string relative = key.substr(object.key.size());
        if (relative.empty() || relative.back() == '/') continue;
        if (relative.front() == '/' || ("/" + relative + "/").find("/../") != std::string::npos) {
          return ClientError("S3 object " + key + " would be written outside the source directory" + where);
        }
        auto got = CallAsRole("s3", "GetObject", {{"Bucket", object.bucket}, {"Key", key}});
        if (!got.ok()) return ClientError(Described(got.status(), "s3") + where);
        GANTRY_RETURN_IF_ERROR(WriteFile(fs::path(dir) / relative, (*got)["Body"].get_binary()));
      }
      if (!page->value("IsTruncated", false)) break;
      list["ContinuationToken"] = page->value("NextContinuationToken", "");
    }
    return std::string();
  }
  Document input = {{"Bucket", object.bucket}, {"Key", object.key}};
  if (!version.empty()) input["VersionId"] = version;
  auto got = CallAsRole("s3", "GetObject", input);
  if (!got.ok()) return ClientError(Described(got.status(), "s3") + where);
  std::string zip = dir_ + "/source.zip";
  GANTRY_RETURN_IF_ERROR(WriteFile(zip, (*got)["Body"].get_binary()));
  Status extracted = archive::ExtractZip(zip, dir);
  std::error_code ec;
  fs::remove(zip, ec);
  if (!extracted.ok()) return ClientError(extracted.message() + where);
  std::string resolved = got->value("VersionId", "");
  return resolved == "null" ? std::string() : resolved;
}

StatusOr<std::string> BuildSession::DownloadPipelineArtifact(const std::string& version, const std::string& dir,
                                                             const std::string& which) {
  S3Object object = ParseS3Location(version);
  std::string where = " for " + which + " and source version " + version;
  if (version.rfind("arn:aws:s3:::", 0) != 0 || object.key.empty()) {
    return ClientError("CODEPIPELINE sources are the artifacts a pipeline passes (arn:aws:s3:::<bucket>/<key>)" +
                       where);
  }
  auto got = CallAsRole("s3", "GetObject", {{"Bucket", object.bucket}, {"Key", object.key}});
  if (!got.ok()) return ClientError(Described(got.status(), "s3") + where);
  std::string zip = dir_ + "/source.zip";
  GANTRY_RETURN_IF_ERROR(WriteFile(zip, (*got)["Body"].get_binary()));
  StatusOr<std::optional<CloneRef>> ref = ReadCloneRef(zip);
  Status extracted = ref.ok() && !*ref ? archive::ExtractZip(zip, dir) : ref.status();
  std::error_code ec;
  fs::remove(zip, ec);
  if (!extracted.ok()) return ClientError(extracted.message() + where);
  if (*ref) {
    Document source = {{"type", "CODECOMMIT"}, {"location", (*ref)->clone_url}};
    return CloneRepository(source, (*ref)->commit_id, dir, which);
  }
  // The source revision the pipeline's source action recorded on the artifact (a commit id, an S3
  // version id), as AWS shows it; else, for artifacts without it, the object's own version.
  std::string revision = got->value("Metadata", Document::object()).value(kArtifactRevisionIdKey, "");
  if (!revision.empty()) return revision;
  std::string resolved = got->value("VersionId", "");
  return resolved == "null" ? std::string() : resolved;
}

StatusOr<std::string> BuildSession::CloneRepository(const Document& source, const std::string& version,
                                                    const std::string& src_dir, const std::string& which) {
  const Document& build = record_["Build"];
  std::string url = source.value("location", "");
  std::string where =
      " for " + which + " and source version " + (version.empty() ? std::string("(default branch)") : version);
  // Checked when the build was started too; a build stored before those checks meets them here.
  if (!IsCloneUrl(url)) return ClientError("Invalid source location: " + url + where);
  if (Status valid = ValidateSourceVersion(source.value("type", ""), version); !valid.ok()) {
    return ClientError(valid.message());
  }
  // Only http and https, for the source and whatever it names (see GitTransportOptions).
  std::vector<std::string> env = GitEnvironment(dir_ + "/home");
  if (source.value("insecureSsl", false)) env.push_back("GIT_SSL_NO_VERIFY=1");
  std::vector<std::string> git = {"git"};
  for (const std::string& option : GitTransportOptions()) git.push_back(option);
  git.insert(git.end(), {"-c", "credential.helper=", "-c", "credential.helper=" + std::string(CredentialTableHelper()),
                         "-c", "credential.useHttpPath=true"});

  // CodeCommit repositories served by Gantry: AWS's clone URLs (the source's, and submodules') reach
  // Gantry's own endpoint, and the build authenticates as its service role with the aws CLI
  // credential helper's signed password, made for each repository's path.
  std::string endpoint = options_.endpoint ? options_.endpoint() : std::string();
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (std::optional<std::string> path = GantryRepositoryPath(url, endpoint)) url = endpoint + *path;
  std::optional<UrlParts> gantry = ParseUrl(endpoint);
  std::string host = gantry ? gantry->host : std::string();
  std::string user, credentials;
  std::set<std::string> rewritten;
  Status authorized = Status::Ok();
  GitCommands commands;
  commands.authorize = [&](const std::vector<std::string>& urls) {
    for (const std::string& repository : urls) {
      std::optional<std::string> path = GantryRepositoryPath(repository, endpoint);
      if (!path) continue;
      if (std::string prefix = repository.substr(0, repository.size() - path->size());
          prefix != endpoint && rewritten.insert(prefix).second) {
        git.insert(git.end(), {"-c", "url." + endpoint + "/v1/repos/.insteadOf=" + prefix + "/v1/repos/"});
      }
      if (Status role = Role().status(); !role.ok()) {
        authorized = role;
        return;
      }
      std::lock_guard lock(role_mu_);
      // As the aws CLI's helper signs: the timestamp without its 'Z' in the string to sign, with it
      // in the password.
      std::string amz_date = FormatAmzDate(deps_.clock->Now());
      std::string timestamp = amz_date.substr(0, amz_date.size() - 1);
      std::string date = amz_date.substr(0, 8);
      std::string canonical = "GIT\n" + *path + "\n\nhost:" + host + "\n\nhost\n";
      std::string to_sign = "AWS4-HMAC-SHA256\n" + timestamp + "\n" + date + "/" + region_ +
                            "/codecommit/aws4_request\n" + HexEncode(Sha256(canonical));
      std::string key = aws::DeriveSigningKey(role_->secret_access_key, date, region_, "codecommit");
      user = role_->access_key_id + "%" + role_->session_token;
      credentials += endpoint + *path + " " + amz_date + HexEncode(HmacSha256(key, to_sign)) + "\n";
    }
  };
  auto deadline =
      std::chrono::steady_clock::now() + options_.minute * build.value("timeoutInMinutes", kDefaultTimeoutMinutes);
  commands.run = [&](const std::vector<std::string>& args, const std::string& cwd) -> StatusOr<CommandResult> {
    GANTRY_RETURN_IF_ERROR(authorized);
    std::vector<std::string> argv = git;
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> run_env = env;
    run_env.push_back("GANTRY_GIT_USER=" + user);
    run_env.push_back("GANTRY_GIT_CREDENTIALS=" + credentials);
    return RunCommand(argv, cwd, run_env, deadline, &flags_->stop);
  };
  GitSource fetch;
  fetch.url = url;
  fetch.version = version;
  fetch.depth = source.value("gitCloneDepth", 0);
  fetch.submodules =
      source.contains("gitSubmodulesConfig") && source["gitSubmodulesConfig"].value("fetchSubmodules", false);
  fetch.where = where;
  return CloneGitSource(commands, fetch, src_dir);
}

Status BuildSession::UploadArtifacts(const std::vector<runtime::SelectedArtifact>& selected) {
  const Document& settings = record_["Settings"];
  const Document& primary = settings["artifacts"];
  std::string project = record_["Build"].value("projectName", "");
  struct Uploaded {
    std::string identifier;  // "" for the primary artifact
    Document fields;         // location, md5sum, sha256sum
  };
  std::vector<Uploaded> uploaded;
  bool primary_seen = false;
  int n = 0;
  for (const runtime::SelectedArtifact& artifact : selected) {
    const std::string identifier = artifact.spec ? artifact.spec->identifier : std::string();
    const Document* target = nullptr;
    if (identifier.empty()) {
      target = &primary;
      primary_seen = true;
    } else {
      if (auto secondary = settings.find("secondaryArtifacts"); secondary != settings.end()) {
        for (const Document& a : *secondary) {
          if (a.value("artifactIdentifier", "") == identifier) target = &a;
        }
      }
    }
    // A CODEPIPELINE artifact carries its location only when the pipeline started the build.
    bool pipeline = target != nullptr && target->value("type", "") == "CODEPIPELINE" && target->contains("location");
    if (target == nullptr || (target->value("type", "") != "S3" && !pipeline)) continue;
    if (artifact.files.empty()) return ClientError("no matching artifact paths found");
    S3Object object = pipeline ? ParseS3Location(target->value("location", ""))
                               : ArtifactObject(*target, uuid_, project, artifact.name,
                                                artifact.spec ? artifact.spec->s3_prefix : "");
    Uploaded done{identifier, {{"location", object.Arn()}}};
    if (pipeline || target->value("packaging", "NONE") == "ZIP") {
      if (object.key.empty()) object.key = project;
      std::string zip = dir_ + "/artifact-" + std::to_string(n++) + ".zip";
      Status written = WriteZip(zip, artifact.files, artifact.spec && artifact.spec->enable_symlinks);
      if (!written.ok()) return ClientError("Error creating the artifact archive: " + written.message());
      GANTRY_ASSIGN_OR_RETURN(FileDigests digests, DigestFile(zip));
      GANTRY_ASSIGN_OR_RETURN(Document body, ReadBinary(zip));
      auto put = CallAsRole("s3", "PutObject",
                            {{"Bucket", object.bucket},
                             {"Key", object.key},
                             {"Body", std::move(body)},
                             {"ContentType", "application/zip"}});
      std::error_code ec;
      fs::remove(zip, ec);
      if (!put.ok()) return ClientError("Error uploading artifacts: " + Described(put.status(), "s3"));
      done.fields = {{"location", object.Arn()}, {"md5sum", digests.md5}, {"sha256sum", digests.sha256}};
    } else {
      for (const runtime::ArtifactFile& file : artifact.files) {
        struct stat st;
        if (::stat(file.source.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        GANTRY_ASSIGN_OR_RETURN(Document body, ReadBinary(file.source));
        std::string key = object.key.empty() ? file.path : object.key + "/" + file.path;
        auto put = CallAsRole("s3", "PutObject", {{"Bucket", object.bucket}, {"Key", key}, {"Body", std::move(body)}});
        if (!put.ok()) return ClientError("Error uploading artifacts: " + Described(put.status(), "s3"));
      }
    }
    uploaded.push_back(std::move(done));
  }
  bool primary_expected = primary.value("type", "") == "S3" ||
                          (primary.value("type", "") == "CODEPIPELINE" && primary.contains("location"));
  if (!primary_seen && primary_expected) return ClientError("no matching artifact paths found");
  Persist([&](Document& r) {
    Document& build = r["Build"];
    for (const Uploaded& u : uploaded) {
      if (u.identifier.empty()) {
        for (const auto& [k, v] : u.fields.items()) build["artifacts"][k] = v;
        continue;
      }
      for (Document& a : build["secondaryArtifacts"]) {
        if (a.value("artifactIdentifier", "") != u.identifier) continue;
        for (const auto& [k, v] : u.fields.items()) a[k] = v;
      }
    }
  });
  return Status::Ok();
}

void BuildSession::UploadS3Log() {
  const Document& logs = record_["Build"]["logs"];
  if (!logs.contains("s3LogsArn")) return;
  S3Object object = ParseS3Location(logs.value("s3LogsArn", ""));
  std::string gz = dir_ + "/build.log.gz";
  Status zipped = GzipFile(dir_ + "/build.log", gz);
  StatusOr<Document> body = zipped.ok() ? ReadBinary(gz) : StatusOr<Document>(zipped);
  Status put = body.status();
  if (body.ok()) {
    put = CallAsRole("s3", "PutObject",
                     {{"Bucket", object.bucket},
                      {"Key", object.key},
                      {"Body", std::move(*body)},
                      {"ContentType", "application/gzip"}})
              .status();
  }
  if (!put.ok()) {
    GANTRY_LOG(kWarn, "codebuild: the S3 log of build " << id_ << " was not written: " << put.ToString());
  }
}

}  // namespace gantry::services::codebuild
