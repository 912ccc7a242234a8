#include "services/iam/action_targets.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/common/strings.h"

namespace gantry::services::iam {

namespace {

using aws::Document;

std::string Str(const Document& input, const char* member) {
  auto it = input.find(member);
  return it != input.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IsArn(std::string_view s) { return s.substr(0, 4) == "arn:"; }

std::string RegionalArn(const aws::RequestContext& ctx, std::string_view service, std::string_view resource) {
  return "arn:aws:" + std::string(service) + ":" + ctx.region + ":" + ctx.account_id + ":" + std::string(resource);
}

void AddTagContext(const Document& input, policy::ConditionContext& context) {
  std::vector<std::string> keys;
  for (const char* member : {"Tags", "tags"}) {
    auto it = input.find(member);
    if (it == input.end()) continue;
    if (it->is_array()) {
      for (const Document& t : *it) {
        if (!t.is_object() || !t.contains("Key")) continue;
        std::string key = t["Key"].is_string() ? t["Key"].get<std::string>() : "";
        keys.push_back(key);
        if (t.contains("Value") && t["Value"].is_string()) context.Set("aws:RequestTag/" + key, t["Value"].get<std::string>());
      }
    } else if (it->is_object()) {
      for (auto kv = it->begin(); kv != it->end(); ++kv) {
        keys.push_back(kv.key());
        if (kv.value().is_string()) context.Set("aws:RequestTag/" + kv.key(), kv.value().get<std::string>());
      }
    }
  }
  if (auto it = input.find("TagKeys"); it != input.end() && it->is_array()) {
    for (const Document& k : *it) {
      if (k.is_string()) keys.push_back(k.get<std::string>());
    }
  }
  if (!keys.empty()) context.Set("aws:TagKeys", std::move(keys));
}

void AddResourceTags(const Document& tags, policy::ConditionContext& context) {
  if (!tags.is_array()) return;
  for (const Document& t : tags) {
    if (t.contains("Key") && t.contains("Value")) {
      context.Set("aws:ResourceTag/" + t["Key"].get<std::string>(), t["Value"].get<std::string>());
    }
  }
}

// ---- S3 ----

const std::map<std::string, std::string, std::less<>>& S3Actions() {
  static const std::map<std::string, std::string, std::less<>> kActions = {
      {"AbortMultipartUpload", "AbortMultipartUpload"},
      {"CompleteMultipartUpload", "PutObject"},
      {"CopyObject", "PutObject"},
      {"CreateMultipartUpload", "PutObject"},
      {"DeleteBucketCors", "PutBucketCORS"},
      {"DeleteBucketEncryption", "PutEncryptionConfiguration"},
      {"DeleteBucketLifecycle", "PutLifecycleConfiguration"},
      {"DeleteBucketOwnershipControls", "PutBucketOwnershipControls"},
      {"DeleteBucketReplication", "PutReplicationConfiguration"},
      {"DeleteBucketTagging", "PutBucketTagging"},
      {"DeleteObjects", "DeleteObject"},
      {"DeletePublicAccessBlock", "PutBucketPublicAccessBlock"},
      {"GetBucketCors", "GetBucketCORS"},
      {"GetBucketEncryption", "GetEncryptionConfiguration"},
      {"GetBucketLifecycleConfiguration", "GetLifecycleConfiguration"},
      {"GetBucketNotificationConfiguration", "GetBucketNotification"},
      {"GetBucketReplication", "GetReplicationConfiguration"},
      {"GetPublicAccessBlock", "GetBucketPublicAccessBlock"},
      {"HeadBucket", "ListBucket"},
      {"HeadObject", "GetObject"},
      {"ListBuckets", "ListAllMyBuckets"},
      {"ListMultipartUploads", "ListBucketMultipartUploads"},
      {"ListObjectVersions", "ListBucketVersions"},
      {"ListObjects", "ListBucket"},
      {"ListObjectsV2", "ListBucket"},
      {"ListParts", "ListMultipartUploadParts"},
      {"PutBucketCors", "PutBucketCORS"},
      {"PutBucketEncryption", "PutEncryptionConfiguration"},
      {"PutBucketLifecycleConfiguration", "PutLifecycleConfiguration"},
      {"PutBucketNotificationConfiguration", "PutBucketNotification"},
      {"PutBucketReplication", "PutReplicationConfiguration"},
      {"PutPublicAccessBlock", "PutBucketPublicAccessBlock"},
      {"SelectObjectContent", "GetObject"},
      {"UploadPart", "PutObject"},
      {"UploadPartCopy", "PutObject"},
  };
  return kActions;
}

void S3Targets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  const std::string& op = ctx.operation->name;
  std::string action = "s3:" + op;
  if (auto it = S3Actions().find(op); it != S3Actions().end()) action = "s3:" + it->second;
  bool versioned = input.contains("VersionId");
  if (versioned && (op == "GetObject" || op == "HeadObject")) action = "s3:GetObjectVersion";
  if (versioned && op == "DeleteObject") action = "s3:DeleteObjectVersion";
  if (versioned && op == "GetObjectTagging") action = "s3:GetObjectVersionTagging";
  if (versioned && op == "PutObjectTagging") action = "s3:PutObjectVersionTagging";
  if (versioned && op == "GetObjectAcl") action = "s3:GetObjectVersionAcl";
  std::string bucket = Str(input, "Bucket");
  std::string key = Str(input, "Key");
  std::string resource = bucket.empty() ? "*" : "arn:aws:s3:::" + bucket + (key.empty() ? "" : "/" + key);
  out.checks.push_back({action, resource});
  out.quote_resource = true;
  if (!bucket.empty() && op != "CreateBucket") {
    out.policy_source = ResourcePolicySource::kBucketPolicy;
    out.policy_id = bucket;
  }
  if (op == "CopyObject" || op == "UploadPartCopy") {
    std::string source = Str(input, "CopySource");
    std::string version;
    if (size_t q = source.find("?versionId="); q != std::string::npos) {
      version = source.substr(q + 11);
      source.resize(q);
    }
    if (auto decoded = UriDecode(source)) source = *decoded;
    if (!source.empty() && source.front() == '/') source.erase(0, 1);
    if (!source.empty()) {
      out.checks.push_back({version.empty() ? "s3:GetObject" : "s3:GetObjectVersion", "arn:aws:s3:::" + source});
    }
  }
  if (op == "ListObjects" || op == "ListObjectsV2" || op == "ListObjectVersions") {
    if (input.contains("Prefix")) out.context.Set("s3:prefix", Str(input, "Prefix"));
    if (input.contains("Delimiter")) out.context.Set("s3:delimiter", Str(input, "Delimiter"));
    if (input.contains("MaxKeys") && input["MaxKeys"].is_number()) {
      out.context.Set("s3:max-keys", std::to_string(input["MaxKeys"].get<int64_t>()));
    }
  }
  if (versioned) out.context.Set("s3:VersionId", Str(input, "VersionId"));
}

// ---- EventBridge ----

std::string BusName(const Document& input, const char* member = "EventBusName") {
  std::string bus = Str(input, member);
  if (IsArn(bus)) bus = bus.substr(bus.find(":event-bus/") == std::string::npos ? bus.size() : bus.find(":event-bus/") + 11);
  return bus.empty() ? "default" : bus;
}

void EventsTargets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  const std::string& op = ctx.operation->name;
  std::string action = "events:" + op;
  static const std::set<std::string, std::less<>> kRuleOps = {"PutRule", "DeleteRule", "DescribeRule", "EnableRule",
                                                             "DisableRule", "PutTargets", "RemoveTargets",
                                                             "ListTargetsByRule"};
  static const std::set<std::string, std::less<>> kBusOps = {"CreateEventBus", "DeleteEventBus", "DescribeEventBus",
                                                            "UpdateEventBus"};
  static const std::set<std::string, std::less<>> kConnectionOps = {
      "CreateConnection", "DeleteConnection", "DescribeConnection", "UpdateConnection", "DeauthorizeConnection"};
  static const std::set<std::string, std::less<>> kDestinationOps = {"CreateApiDestination", "DeleteApiDestination",
                                                                    "DescribeApiDestination", "UpdateApiDestination"};
  if (kRuleOps.count(op)) {
    std::string name = Str(input, input.contains("Rule") ? "Rule" : "Name");
    std::string bus = BusName(input);
    out.checks.push_back({action, RegionalArn(ctx, "events", "rule/" + (bus == "default" ? "" : bus + "/") + name)});
  } else if (kBusOps.count(op)) {
    out.checks.push_back({action, RegionalArn(ctx, "events", "event-bus/" + Str(input, "Name"))});
  } else if (op == "PutPermission" || op == "RemovePermission") {
    out.checks.push_back({action, RegionalArn(ctx, "events", "event-bus/" + BusName(input))});
  } else if (op == "PutEvents") {
    std::set<std::string> buses;
    std::vector<std::string> sources, detail_types;
    for (const Document& entry : input.value("Entries", Document::array())) {
      buses.insert(BusName(entry));
      if (entry.contains("Source")) sources.push_back(Str(entry, "Source"));
      if (entry.contains("DetailType")) detail_types.push_back(Str(entry, "DetailType"));
    }
    if (buses.empty()) buses.insert("default");
    for (const std::string& bus : buses) out.checks.push_back({action, RegionalArn(ctx, "events", "event-bus/" + bus)});
    if (!sources.empty()) out.context.Set("events:source", std::move(sources));
    if (!detail_types.empty()) out.context.Set("events:detail-type", std::move(detail_types));
  } else if (input.contains("ArchiveName")) {
    out.checks.push_back({action, RegionalArn(ctx, "events", "archive/" + Str(input, "ArchiveName"))});
  } else if (input.contains("ReplayName")) {
    out.checks.push_back({action, RegionalArn(ctx, "events", "replay/" + Str(input, "ReplayName"))});
  } else if (kConnectionOps.count(op)) {
    out.checks.push_back({action, RegionalArn(ctx, "events", "connection/" + Str(input, "Name"))});
  } else if (kDestinationOps.count(op)) {
    out.checks.push_back({action, RegionalArn(ctx, "events", "api-destination/" + Str(input, "Name"))});
  } else if (input.contains("ResourceARN")) {
    out.checks.push_back({action, Str(input, "ResourceARN")});
  } else {
    out.checks.push_back({action, "*"});
  }
}

// ---- CloudWatch Logs ----

std::string LogGroupOf(const Document& input) {
  std::string id = Str(input, "logGroupIdentifier");
  if (!id.empty()) {
    if (!IsArn(id)) return id;
    size_t at = id.find(":log-group:");
    if (at == std::string::npos) return "";
    std::string name = id.substr(at + 11);
    if (name.size() >= 2 && name.substr(name.size() - 2) == ":*") name.resize(name.size() - 2);
    return name;
  }
  return Str(input, "logGroupName");
}

void LogsTargets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  std::string action = "logs:" + ctx.operation->name;
  std::string group = LogGroupOf(input);
  std::string stream = Str(input, "logStreamName");
  if (!group.empty()) {
    out.checks.push_back({action, RegionalArn(ctx, "logs", "log-group:" + group + (stream.empty() ? ":*" : ":log-stream:" + stream))});
  } else if (input.contains("resourceArn")) {
    out.checks.push_back({action, Str(input, "resourceArn")});
  } else {
    out.checks.push_back({action, "*"});
  }
}

// ---- SSM Parameter Store ----

std::string ParameterArn(const aws::RequestContext& ctx, const std::string& name) {
  if (IsArn(name)) return name;
  return RegionalArn(ctx, "ssm", "parameter" + std::string(!name.empty() && name.front() == '/' ? "" : "/") + name);
}

void SsmTargets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  const std::string& op = ctx.operation->name;
  std::string action = "ssm:" + op;
  static const std::set<std::string, std::less<>> kNamed = {"GetParameter", "PutParameter", "DeleteParameter",
                                                           "GetParameterHistory", "LabelParameterVersion",
                                                           "UnlabelParameterVersion"};
  if (kNamed.count(op)) {
    std::string name = Str(input, "Name");
    if (size_t colon = name.rfind(':'); colon != std::string::npos && !IsArn(name)) name.resize(colon);  // name:version
    out.checks.push_back({action, ParameterArn(ctx, name)});
  } else if (op == "GetParameters" || op == "DeleteParameters") {
    std::set<std::string> arns;
    for (const Document& n : input.value("Names", Document::array())) {
      std::string name = n.is_string() ? n.get<std::string>() : "";
      if (size_t colon = name.rfind(':'); colon != std::string::npos && !IsArn(name)) name.resize(colon);
      arns.insert(ParameterArn(ctx, name));
    }
    for (const std::string& arn : arns) out.checks.push_back({action, arn});
  } else if (op == "GetParametersByPath") {
    std::string path = Str(input, "Path");
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    out.checks.push_back({action, ParameterArn(ctx, path)});
  } else if (input.contains("ResourceId") && Str(input, "ResourceType") == "Parameter") {
    out.checks.push_back({action, ParameterArn(ctx, Str(input, "ResourceId"))});
  } else {
    out.checks.push_back({action, "*"});
  }
}

// ---- Secrets Manager ----

void SecretsTargets(const aws::RequestContext& ctx, const Document& input, const TargetLookups& lookups,
                    ActionTargets& out) {
  const std::string& op = ctx.operation->name;
  std::string action = "secretsmanager:" + op;
  auto add_secret = [&](const std::string& id) {
    std::optional<SecretInfo> info = lookups.secret ? lookups.secret(id) : std::nullopt;
    std::string arn = info ? info->arn : IsArn(id) ? id : RegionalArn(ctx, "secretsmanager", "secret:" + id);
    out.checks.push_back({action, arn});
    if (out.policy_source == ResourcePolicySource::kNone) {
      out.policy_source = ResourcePolicySource::kSecretPolicy;
      out.policy_id = id;
    }
  };
  if (op == "CreateSecret") {
    out.checks.push_back({action, RegionalArn(ctx, "secretsmanager", "secret:" + Str(input, "Name") + "-*")});
  } else if (input.contains("SecretId")) {
    add_secret(Str(input, "SecretId"));
  } else if (op == "BatchGetSecretValue" && input.contains("SecretIdList")) {
    for (const Document& id : input["SecretIdList"]) {
      if (id.is_string()) add_secret(id.get<std::string>());
    }
  } else {
    out.checks.push_back({action, "*"});
  }
}

// ---- CloudTrail, CodeBuild ----

void CloudTrailTargets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  std::string action = "cloudtrail:" + ctx.operation->name;
  std::string name = Str(input, input.contains("TrailName") ? "TrailName" : "Name");
  if (name.empty() || ctx.operation->name == "ListInsightsMetricData") {
    out.checks.push_back({action, input.contains("ResourceId") ? Str(input, "ResourceId") : "*"});
  } else {
    out.checks.push_back({action, IsArn(name) ? name : RegionalArn(ctx, "cloudtrail", "trail/" + name)});
  }
}

void CodeBuildTargets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  std::string action = "codebuild:" + ctx.operation->name;
  auto project = [&](const std::string& name) {
    return IsArn(name) ? name : RegionalArn(ctx, "codebuild", "project/" + name);
  };
  // Report groups and reports are checked on the group's ARN (.../report-group/<name>); a report's
  // ARN is .../report/<group name>:<uuid>.
  auto report_group = [&](const std::string& name_or_arn) {
    if (!IsArn(name_or_arn)) return RegionalArn(ctx, "codebuild", "report-group/" + name_or_arn);
    size_t report = name_or_arn.find(":report/");
    if (report == std::string::npos) return name_or_arn;
    std::string group = name_or_arn.substr(report + 8);
    group = group.substr(0, group.rfind(':'));
    return name_or_arn.substr(0, report) + ":report-group/" + group;
  };
  const bool reports = ctx.operation->name.find("Report") != std::string::npos ||
                       ctx.operation->name == "DescribeTestCases" || ctx.operation->name == "DescribeCodeCoverages";
  if (reports) {
    for (const char* member : {"name", "arn", "reportArn", "reportGroupArn"}) {
      if (input.contains(member) && input[member].is_string()) {
        out.checks.push_back({action, report_group(input[member].get<std::string>())});
      }
    }
    for (const char* member : {"reportArns", "reportGroupArns"}) {
      for (const Document& arn : input.value(member, Document::array())) {
        if (arn.is_string()) out.checks.push_back({action, report_group(arn.get<std::string>())});
      }
    }
  } else if (input.contains("projectName")) {
    out.checks.push_back({action, project(Str(input, "projectName"))});
  } else if (input.contains("name") && ctx.operation->name.find("Project") != std::string::npos) {
    out.checks.push_back({action, project(Str(input, "name"))});
  } else if (input.contains("names") && input["names"].is_array()) {
    for (const Document& n : input["names"]) {
      if (n.is_string()) out.checks.push_back({action, project(n.get<std::string>())});
    }
  } else if (input.contains("id") || input.contains("ids")) {
    // Build and batch operations are checked on the project: a build or batch id is
    // "<project>:<uuid>" (or an ARN, ...:build/<project>:<uuid>, ...:build-batch/<project>:<uuid>).
    std::set<std::string> projects;
    auto add_build = [&](const Document& id) {
      if (!id.is_string()) return;
      std::string text = id.get<std::string>();
      if (size_t build = text.find(":build/"); IsArn(text) && build != std::string::npos) text = text.substr(build + 7);
      if (size_t batch = text.find(":build-batch/"); IsArn(text) && batch != std::string::npos) {
        text = text.substr(batch + 13);
      }
      if (size_t colon = text.find(':'); colon != std::string::npos && colon > 0) projects.insert(text.substr(0, colon));
    };
    if (input.contains("id")) add_build(input["id"]);
    for (const Document& id : input.value("ids", Document::array())) add_build(id);
    for (const std::string& name : projects) out.checks.push_back({action, project(name)});
  }
  if (out.checks.empty()) out.checks.push_back({action, "*"});
}

// ---- CodeCommit ----

// Operations on a repository are checked on its ARN (arn:aws:codecommit:<region>:<account>:<name>),
// as are codecommit:GitPull and codecommit:GitPush, which CodeCommit's git smart HTTP checks itself
// (AuthorizeAction) since they are not API operations. Operations that name only a pull request or
// a comment act on that pull request's repository too, which only CodeCommit's records know: they
// get no check here and their handlers check the action on the repository's ARN once they have
// read the pull request or comment (RequestContext::Authorize). Approval rule templates and
// ListRepositories are checked on "*".
const std::set<std::string, std::less<>>& CodeCommitOperationsAuthorizedByHandler() {
  static const std::set<std::string, std::less<>> kOperations = {
      "CreatePullRequestApprovalRule",
      "DeleteCommentContent",
      "DeletePullRequestApprovalRule",
      "DescribePullRequestEvents",
      "EvaluatePullRequestApprovalRules",
      "GetComment",
      "GetCommentsForPullRequest",
      "GetPullRequest",
      "GetPullRequestApprovalStates",
      "GetPullRequestOverrideState",
      "OverridePullRequestApprovalRules",
      "PostCommentReply",
      "UpdateComment",
      "UpdatePullRequestApprovalRuleContent",
      "UpdatePullRequestApprovalState",
      "UpdatePullRequestDescription",
      "UpdatePullRequestStatus",
      "UpdatePullRequestTitle",
  };
  return kOperations;
}

void CodeCommitTargets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  if (CodeCommitOperationsAuthorizedByHandler().count(ctx.operation->name)) return;
  std::string action = "codecommit:" + ctx.operation->name;
  auto repository = [&](const std::string& name) { return RegionalArn(ctx, "codecommit", name); };
  if (input.contains("repositoryName")) {
    out.checks.push_back({action, repository(Str(input, "repositoryName"))});
  } else if (input.contains("resourceArn")) {
    out.checks.push_back({action, Str(input, "resourceArn")});
  } else if (input.contains("repositoryNames") && input["repositoryNames"].is_array()) {
    std::set<std::string> arns;
    for (const Document& n : input["repositoryNames"]) {
      if (n.is_string()) arns.insert(repository(n.get<std::string>()));
    }
    for (const std::string& arn : arns) out.checks.push_back({action, arn});
  } else if (input.contains("targets") && input["targets"].is_array()) {
    std::set<std::string> arns;
    for (const Document& t : input["targets"]) {
      if (t.is_object()) arns.insert(repository(Str(t, "repositoryName")));
    }
    for (const std::string& arn : arns) out.checks.push_back({action, arn});
  } else if (input.contains("oldName")) {
    out.checks.push_back({action, repository(Str(input, "oldName"))});  // UpdateRepositoryName
  }
  if (out.checks.empty()) out.checks.push_back({action, "*"});
}

// ---- CodePipeline ----

// As the Service Authorization Reference lists them: a pipeline is
// arn:aws:codepipeline:<region>:<account>:<name>, a stage <name>/<stage>, an action
// <name>/<stage>/<action>, a webhook webhook:<name>, a custom action type
// actiontype:Custom/<category>/<provider>/<version>. Jobs, action type listings and ListPipelines
// are checked on "*".
void CodePipelineTargets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  const std::string& op = ctx.operation->name;
  std::string action = "codepipeline:" + op;
  auto arn = [&](const std::string& resource) { return RegionalArn(ctx, "codepipeline", resource); };
  std::string pipeline = Str(input, "pipelineName");
  if (pipeline.empty() && (op == "GetPipeline" || op == "DeletePipeline" || op == "GetPipelineState" ||
                           op == "StartPipelineExecution")) {
    pipeline = Str(input, "name");
  }
  if (pipeline.empty() && input.contains("pipeline") && input["pipeline"].is_object()) {
    pipeline = Str(input["pipeline"], "name");  // CreatePipeline, UpdatePipeline
  }
  if (input.contains("resourceArn")) {
    out.checks.push_back({action, Str(input, "resourceArn")});
  } else if (!pipeline.empty() && input.contains("stageName") && input.contains("actionName")) {
    out.checks.push_back({action, arn(pipeline + "/" + Str(input, "stageName") + "/" + Str(input, "actionName"))});
  } else if (!pipeline.empty() && input.contains("stageName")) {
    out.checks.push_back({action, arn(pipeline + "/" + Str(input, "stageName"))});
  } else if (!pipeline.empty()) {
    out.checks.push_back({action, arn(pipeline)});
  } else if (op == "PutWebhook" && input.contains("webhook") && input["webhook"].is_object()) {
    out.checks.push_back({action, arn("webhook:" + Str(input["webhook"], "name"))});
    std::string target = Str(input["webhook"], "targetPipeline");
    if (!target.empty()) out.checks.push_back({action, arn(target)});
  } else if (op == "DeleteWebhook" || input.contains("webhookName")) {
    out.checks.push_back({action, arn("webhook:" + Str(input, op == "DeleteWebhook" ? "name" : "webhookName"))});
  } else if (op == "CreateCustomActionType" || op == "DeleteCustomActionType") {
    out.checks.push_back({action, arn("actiontype:Custom/" + Str(input, "category") + "/" + Str(input, "provider") +
                                      "/" + Str(input, "version"))});
  }
  if (out.checks.empty()) out.checks.push_back({action, "*"});
}

// ---- CloudWatch ----

// Alarms are arn:aws:cloudwatch:<region>:<account>:alarm:<name>, dashboards (global)
// arn:aws:cloudwatch::<account>:dashboard/<name>; an operation naming several is checked on each.
// PutMetricAlarm and PutCompositeAlarm carry cloudwatch:AlarmActions (every action of the alarm),
// PutMetricData cloudwatch:namespace. Metric operations and listings are checked on "*".
void CloudWatchTargets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  const std::string& op = ctx.operation->name;
  std::string action = "cloudwatch:" + op;
  auto alarm = [&](const std::string& name) { return RegionalArn(ctx, "cloudwatch", "alarm:" + name); };
  auto dashboard = [&](const std::string& name) {
    return "arn:aws:cloudwatch::" + ctx.account_id + ":dashboard/" + name;
  };
  auto each = [&](const char* member, const auto& to_arn) {
    std::set<std::string> arns;
    for (const Document& name : input.value(member, Document::array())) {
      if (name.is_string()) arns.insert(to_arn(name.get<std::string>()));
    }
    for (const std::string& arn : arns) out.checks.push_back({action, arn});
  };
  if (input.contains("ResourceARN")) {
    out.checks.push_back({action, Str(input, "ResourceARN")});
  } else if (input.contains("AlarmName")) {
    out.checks.push_back({action, alarm(Str(input, "AlarmName"))});
  } else if (input.contains("AlarmNames")) {
    each("AlarmNames", alarm);
  } else if (input.contains("DashboardName")) {
    out.checks.push_back({action, dashboard(Str(input, "DashboardName"))});
  } else if (input.contains("DashboardNames")) {
    each("DashboardNames", dashboard);
  }
  if (out.checks.empty()) out.checks.push_back({action, "*"});
  if (op == "PutMetricAlarm" || op == "PutCompositeAlarm") {
    std::vector<std::string> actions;
    for (const char* member : {"AlarmActions", "OKActions", "InsufficientDataActions"}) {
      for (const Document& a : input.value(member, Document::array())) {
        if (a.is_string()) actions.push_back(a.get<std::string>());
      }
    }
    if (!actions.empty()) out.context.Set("cloudwatch:AlarmActions", std::move(actions));
  }
  if (op == "PutMetricData" && input.contains("Namespace")) out.context.Set("cloudwatch:namespace", Str(input, "Namespace"));
}

// ---- STS ----

void StsTargets(const aws::RequestContext& ctx, const Document& input, ActionTargets& out) {
  const std::string& op = ctx.operation->name;
  std::string action = "sts:" + op;
  if (op == "AssumeRole" || op == "AssumeRoleWithWebIdentity" || op == "AssumeRoleWithSAML") {
    std::string role = Str(input, "RoleArn");
    out.checks.push_back({action, role});
    out.policy_source = ResourcePolicySource::kRoleTrust;
    out.policy_id = role;
    if (input.contains("RoleSessionName")) out.context.Set("sts:RoleSessionName", Str(input, "RoleSessionName"));
    if (input.contains("ExternalId")) out.context.Set("sts:ExternalId", Str(input, "ExternalId"));
    if (input.contains("SourceIdentity")) out.context.Set("sts:SourceIdentity", Str(input, "SourceIdentity"));
    if (input.contains("DurationSeconds")) {
      out.context.Set("sts:DurationSeconds", std::to_string(input["DurationSeconds"].get<int64_t>()));
    }
    if (input.contains("Tags")) {
      // Session tags need sts:TagSession as well.
      out.checks.push_back({"sts:TagSession", role});
    }
  } else if (op == "GetFederationToken") {
    out.checks.push_back({action, "arn:aws:sts::" + ctx.account_id + ":federated-user/" + Str(input, "Name")});
  } else {
    out.checks.push_back({action, "*"});
  }
}

// ---- IAM ----

void IamTargets(const aws::RequestContext& ctx, const Document& input, const TargetLookups& lookups,
                ActionTargets& out) {
  const std::string& op = ctx.operation->name;
  std::string action = "iam:" + op;
  const std::string& account = ctx.account_id;
  auto entity = [&](std::string_view kind, const std::string& name, const std::string& path_member) {
    std::optional<IamEntity> found = lookups.iam ? lookups.iam(kind, name) : std::nullopt;
    if (found) {
      AddResourceTags(found->tags, out.context);
      return found->arn;
    }
    std::string path = Str(input, path_member.c_str());
    if (path.empty()) path = "/";
    return "arn:aws:iam::" + account + ":" + std::string(kind) + path + name;
  };
  std::string resource;
  if (input.contains("UserName")) {
    resource = entity("user", Str(input, "UserName"), "Path");
  } else if (input.contains("GroupName")) {
    resource = entity("group", Str(input, "GroupName"), "Path");
  } else if (input.contains("RoleName")) {
    resource = entity("role", Str(input, "RoleName"), "Path");
  } else if (input.contains("InstanceProfileName")) {
    resource = entity("instance-profile", Str(input, "InstanceProfileName"), "Path");
  } else if (input.contains("PolicyArn")) {
    resource = Str(input, "PolicyArn");
  } else if (op == "CreatePolicy") {
    std::string path = input.contains("Path") ? Str(input, "Path") : "/";
    resource = "arn:aws:iam::" + account + ":policy" + path + Str(input, "PolicyName");
  } else if (input.contains("OpenIDConnectProviderArn")) {
    resource = Str(input, "OpenIDConnectProviderArn");
  } else if (op == "CreateOpenIDConnectProvider") {
    std::string url = Str(input, "Url");
    if (url.rfind("https://", 0) == 0) url = url.substr(8);
    resource = "arn:aws:iam::" + account + ":oidc-provider/" + url;
  } else if (input.contains("PolicySourceArn")) {
    resource = Str(input, "PolicySourceArn");
  } else if (op == "ListUsers" || op == "ListRoles" || op == "ListGroups" || op == "ListInstanceProfiles" ||
             op == "ListPolicies") {
    std::string kind = op == "ListUsers" ? "user" : op == "ListRoles" ? "role" : op == "ListGroups" ? "group"
                       : op == "ListInstanceProfiles" ? "instance-profile" : "policy";
    std::string prefix = input.contains("PathPrefix") ? Str(input, "PathPrefix") : "/";
    resource = "arn:aws:iam::" + account + ":" + kind + prefix;
  } else if (op == "GetUser" || op == "ListAccessKeys" || op == "CreateAccessKey" || op == "UpdateAccessKey" ||
             op == "DeleteAccessKey" || op == "ListServiceSpecificCredentials" || op == "ListGroupsForUser" ||
             op == "ListUserTags" || op == "ChangePassword") {
    // Without UserName these act on the caller itself.
    resource = ctx.principal.arn.empty() ? "*" : ctx.principal.arn;
  } else {
    resource = "*";
  }
  out.checks.push_back({action, resource});
  if (input.contains("PolicyArn") &&
      (op.rfind("Attach", 0) == 0 || op.rfind("Detach", 0) == 0)) {
    out.context.Set("iam:PolicyARN", Str(input, "PolicyArn"));
  }
  if (input.contains("PermissionsBoundary")) out.context.Set("iam:PermissionsBoundary", Str(input, "PermissionsBoundary"));
}

}  // namespace

std::string ActionPrefix(const aws::ServiceModel& model) {
  if (model.service() == "appconfigdata") return "appconfig";
  return model.service();
}

ActionTargets TargetsFor(const aws::RequestContext& ctx, const Document& input, const TargetLookups& lookups) {
  ActionTargets out;
  const std::string& service = ctx.model->service();
  if (service == "s3") {
    S3Targets(ctx, input, out);
  } else if (service == "events") {
    EventsTargets(ctx, input, out);
  } else if (service == "logs") {
    LogsTargets(ctx, input, out);
  } else if (service == "ssm") {
    SsmTargets(ctx, input, out);
  } else if (service == "secretsmanager") {
    SecretsTargets(ctx, input, lookups, out);
  } else if (service == "cloudtrail") {
    CloudTrailTargets(ctx, input, out);
  } else if (service == "codebuild") {
    CodeBuildTargets(ctx, input, out);
  } else if (service == "codecommit") {
    CodeCommitTargets(ctx, input, out);
  } else if (service == "codepipeline") {
    CodePipelineTargets(ctx, input, out);
  } else if (service == "cloudwatch") {
    CloudWatchTargets(ctx, input, out);
  } else if (service == "sts") {
    StsTargets(ctx, input, out);
  } else if (service == "iam") {
    IamTargets(ctx, input, lookups, out);
  } else {
    out.checks.push_back({ActionPrefix(*ctx.model) + ":" + ctx.operation->name, "*"});
  }
  AddTagContext(input, out.context);
  return out;
}

}  // namespace gantry::services::iam
