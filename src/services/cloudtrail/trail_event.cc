#include "services/cloudtrail/trail_event.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <unordered_set>

#include "core/aws/error.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::services::cloudtrail {

namespace {

constexpr int64_t kMaxMillis = 9999999999999;  // 13 digits: until the year 2286
constexpr size_t kMaxUserAgent = 1024;
constexpr size_t kMaxParametersBytes = 100 * 1024;
constexpr int kMaxDepth = 32;

// Member names that hold secrets whatever their shape says.
bool SecretMemberName(std::string_view name) {
  static const std::array<std::string_view, 10> kNames = {
      "secretstring", "secretbinary",   "randompassword", "password",     "newpassword",
      "oldpassword",  "secretaccesskey", "sessiontoken",  "privatekey",   "clientsecret"};
  std::string lower = ToLower(name);
  return std::find(kNames.begin(), kNames.end(), lower) != kNames.end();
}

std::string LowerCamel(std::string_view name) {
  std::string out(name);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

void CollectSecrets(const Document& value, std::vector<std::string>* secrets) {
  if (secrets == nullptr) return;
  if (value.is_string()) {
    secrets->push_back(value.get<std::string>());
  } else if (value.is_binary()) {
    const auto& bytes = value.get_binary();
    secrets->emplace_back(bytes.begin(), bytes.end());
  } else if (value.is_structured()) {
    for (const auto& v : value) CollectSecrets(v, secrets);
  }
}

Document Redact(const aws::Shape* shape, const Document& value, std::vector<std::string>* secrets, int depth) {
  if (shape && shape->sensitive) {
    CollectSecrets(value, secrets);
    return std::string(kHidden);
  }
  if (depth > kMaxDepth) return nullptr;
  if (value.is_binary()) {
    const auto& bytes = value.get_binary();
    return Base64Encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  if (value.is_object()) {
    Document out = Document::object();
    bool structure = shape && shape->type == aws::ShapeType::kStructure;
    for (const auto& [name, member] : value.items()) {
      if (structure) {
        const aws::MemberRef* ref = shape->FindMember(name);
        if (SecretMemberName(name)) {
          CollectSecrets(member, secrets);
          out[LowerCamel(name)] = std::string(kHidden);
        } else {
          out[LowerCamel(name)] = Redact(ref ? ref->shape : nullptr, member, secrets, depth + 1);
        }
      } else {
        // A map (or a document without a shape): keys are data, values follow the map's value shape.
        const aws::Shape* value_shape = shape && shape->type == aws::ShapeType::kMap ? shape->value.shape : nullptr;
        if (!shape && SecretMemberName(name)) {
          CollectSecrets(member, secrets);
          out[name] = std::string(kHidden);
        } else {
          out[name] = Redact(value_shape, member, secrets, depth + 1);
        }
      }
    }
    return out;
  }
  if (value.is_array()) {
    Document out = Document::array();
    const aws::Shape* member_shape = shape && shape->type == aws::ShapeType::kList ? shape->member.shape : nullptr;
    for (const auto& v : value) out.push_back(Redact(member_shape, v, secrets, depth + 1));
    return out;
  }
  return value;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string LastSegment(std::string_view s) {
  size_t slash = s.rfind('/');
  return std::string(slash == std::string_view::npos ? s : s.substr(slash + 1));
}

// The S3 operations on objects: data events.
const std::unordered_set<std::string_view>& S3ObjectOperations() {
  static const std::unordered_set<std::string_view> kOps = {
      "GetObject", "PutObject", "HeadObject", "DeleteObject", "DeleteObjects", "CopyObject", "UploadPart",
      "UploadPartCopy", "CreateMultipartUpload", "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts",
      "ListMultipartUploads", "ListObjects", "ListObjectsV2", "ListObjectVersions", "GetObjectAcl", "PutObjectAcl",
      "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging", "GetObjectAttributes", "RestoreObject",
      "SelectObjectContent", "GetObjectRetention", "PutObjectRetention", "GetObjectLegalHold", "PutObjectLegalHold",
      "GetObjectTorrent", "WriteGetObjectResponse", "RenameObject"};
  return kOps;
}

struct ResourceMember {
  std::string_view service;
  std::string_view member;
  std::string_view type;
};

// Members that name a resource, by service.
constexpr ResourceMember kResourceMembers[] = {
    {"secretsmanager", "SecretId", "AWS::SecretsManager::Secret"},
    {"secretsmanager", "Name", "AWS::SecretsManager::Secret"},
    {"secretsmanager", "SecretIdList", "AWS::SecretsManager::Secret"},
    {"ssm", "Name", "AWS::SSM::Parameter"},
    {"ssm", "Names", "AWS::SSM::Parameter"},
    {"ssm", "Path", "AWS::SSM::Parameter"},
    {"ssm", "ResourceId", "AWS::SSM::Parameter"},
    {"s3", "Bucket", "AWS::S3::Bucket"},
    {"iam", "UserName", "AWS::IAM::User"},
    {"iam", "RoleName", "AWS::IAM::Role"},
    {"iam", "GroupName", "AWS::IAM::Group"},
    {"iam", "PolicyArn", "AWS::IAM::Policy"},
    {"iam", "AccessKeyId", "AWS::IAM::AccessKey"},
    {"iam", "InstanceProfileName", "AWS::IAM::InstanceProfile"},
    {"sts", "RoleArn", "AWS::IAM::Role"},
    {"events", "Rule", "AWS::Events::Rule"},
    {"events", "EventBusName", "AWS::Events::EventBus"},
    {"logs", "logGroupName", "AWS::Logs::LogGroup"},
    {"logs", "logStreamName", "AWS::Logs::LogStream"},
    {"cloudwatch", "AlarmName", "AWS::CloudWatch::Alarm"},
    {"cloudwatch", "AlarmNames", "AWS::CloudWatch::Alarm"},
    {"cloudwatch", "DashboardName", "AWS::CloudWatch::Dashboard"},
    {"codebuild", "projectName", "AWS::CodeBuild::Project"},
    {"codecommit", "repositoryName", "AWS::CodeCommit::Repository"},
    {"codepipeline", "pipelineName", "AWS::CodePipeline::Pipeline"},
    {"codedeploy", "applicationName", "AWS::CodeDeploy::Application"},
    {"codedeploy", "deploymentGroupName", "AWS::CodeDeploy::DeploymentGroup"},
    {"codedeploy", "deploymentId", "AWS::CodeDeploy::Deployment"},
    {"cloudformation", "StackName", "AWS::CloudFormation::Stack"},
    {"cloudformation", "ChangeSetName", "AWS::CloudFormation::ChangeSet"},
    {"ecr", "repositoryName", "AWS::ECR::Repository"},
    {"ecs", "cluster", "AWS::ECS::Cluster"},
    {"ecs", "service", "AWS::ECS::Service"},
    {"ecs", "taskDefinition", "AWS::ECS::TaskDefinition"},
    {"appconfig", "ApplicationId", "AWS::AppConfig::Application"},
};

// "Name" means the resource an operation acts on, for services whose operations say which.
std::string NameResourceType(std::string_view service, std::string_view operation) {
  if (service == "events") {
    if (operation.find("EventBus") != std::string_view::npos) return "AWS::Events::EventBus";
    if (operation.find("ApiDestination") != std::string_view::npos) return "AWS::Events::ApiDestination";
    if (operation.find("Connection") != std::string_view::npos) return "AWS::Events::Connection";
    if (operation.find("Rule") != std::string_view::npos) return "AWS::Events::Rule";
  }
  if (service == "codebuild" && operation.find("Project") != std::string_view::npos) return "AWS::CodeBuild::Project";
  if (service == "codepipeline" && operation.find("Pipeline") != std::string_view::npos) {
    return "AWS::CodePipeline::Pipeline";
  }
  return {};
}

std::string ErrorCodeOf(const aws::RequestContext& ctx, const Status& result) {
  return aws::ToAwsError(result, ctx.model).code;
}

void Scrub(std::string& message, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.size() < 3) continue;
    for (size_t at = message.find(secret); at != std::string::npos; at = message.find(secret, at + kHidden.size())) {
      message.replace(at, secret.size(), kHidden);
    }
  }
}

}  // namespace

bool IsDataEvent(std::string_view service, std::string_view operation) {
  return service == "s3" && S3ObjectOperations().count(operation) > 0;
}

bool IsReadOnly(std::string_view service, std::string_view operation) {
  static constexpr std::string_view kReadVerbs[] = {"Get",    "List",     "Describe", "Head",     "Lookup",
                                                    "BatchGet", "Search", "Select",   "Filter",   "Test",
                                                    "Validate", "Simulate", "Estimate", "Preview", "Download",
                                                    "Query",  "Scan",     "Check",    "View"};
  for (std::string_view verb : kReadVerbs) {
    if (StartsWith(operation, verb) && operation.size() > verb.size() &&
        std::isupper(static_cast<unsigned char>(operation[verb.size()]))) {
      return true;
    }
  }
  return service == "sts" && StartsWith(operation, "AssumeRole");
}

Document RedactedParameters(const aws::Shape* shape, const Document& value, std::vector<std::string>* secrets) {
  if (value.is_null()) return nullptr;
  return Redact(shape, value, secrets, 0);
}

Document ResourcesOf(std::string_view service, std::string_view operation, const Document& input) {
  Document out = Document::array();
  if (!input.is_object()) return out;
  auto add = [&](std::string_view type, const Document& value) {
    if (value.is_string() && !value.get_ref<const std::string&>().empty()) {
      std::string name = value.get<std::string>();
      if (service == "ssm" && !StartsWith(name, "arn:")) name = name.substr(0, name.find(':'));
      out.push_back({{"ResourceType", std::string(type)}, {"ResourceName", name}});
    } else if (value.is_array()) {
      for (const auto& v : value) {
        if (v.is_string()) out.push_back({{"ResourceType", std::string(type)}, {"ResourceName", v}});
      }
    }
  };
  for (const auto& r : kResourceMembers) {
    if (r.service != service) continue;
    if (auto it = input.find(std::string(r.member)); it != input.end()) add(r.type, *it);
  }
  std::string name_type = NameResourceType(service, operation);
  if (!name_type.empty()) {
    for (const char* member : {"Name", "name"}) {
      if (auto it = input.find(member); it != input.end()) add(name_type, *it);
    }
  }
  return out;
}

std::string UsernameOf(const aws::Principal& p) {
  if (p.is_root) return "root";
  if (p.arn.find(":user/") != std::string::npos) return LastSegment(p.arn);
  if (p.arn.find(":assumed-role/") != std::string::npos) return LastSegment(p.arn);
  return {};
}

namespace {

// The fields of an encoded event, in line order.
enum Field {
  kId, kMillis, kSequence, kName, kSource, kReadOnly, kRoot, kAccount, kRegion, kRequestId, kArn, kUserId,
  kAccessKey, kService, kUser, kIp, kUserAgent, kErrorCode, kErrorMessage, kParams, kResources, kTruncated,
  kFieldCount
};
constexpr const char* kFieldNames[kFieldCount] = {
    "id", "t", "seq", "name", "src", "ro", "root", "acct", "region", "req", "arn", "uid",
    "key", "svc", "user", "ip", "ua", "err", "msg", "params", "res", "truncated"};

// Text fields escape backslash, tab and newline; JSON fields (params, res) need nothing: a JSON
// text never holds a raw tab or newline.
void AppendEscaped(std::string& out, std::string_view text) {
  if (text.find_first_of("\\\t\n") == std::string_view::npos) {
    out += text;
    return;
  }
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
}

// Replaces bytes that are not part of valid UTF-8 with '?' (headers may carry any bytes; stored
// documents must be UTF-8).
void SanitizeUtf8(std::string& s) {
  if (IsValidUtf8(s)) return;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size() && IsValidUtf8(std::string_view(s).substr(i, n));
    if (!ok) {
      s[i++] = '?';
      continue;
    }
    i += n;
  }
}

std::string Unescaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    char next = text[++i];
    out.push_back(next == 't' ? '\t' : next == 'n' ? '\n' : next);
  }
  return out;
}

}  // namespace

CapturedEvent Capture(const aws::RequestContext& ctx, const Document& input, const Status& result,
                      uint64_t sequence, std::string_view event_id) {
  const aws::ServiceModel& model = *ctx.model;
  const std::string& name = ctx.operation->name;
  const aws::Principal& p = ctx.principal;
  CapturedEvent event;
  event.millis = ToEpochMillis(ctx.time);
  event.sequence = sequence;

  std::string params, resources;
  std::vector<std::string> secrets;
  if (input.is_object() && !input.empty()) {
    Document redacted = RedactedParameters(ctx.operation->input, input, &secrets);
    params = redacted.dump(-1, ' ', false, Document::error_handler_t::replace);
    Document named = ResourcesOf(model.service(), name, input);
    if (!named.empty()) resources = named.dump(-1, ' ', false, Document::error_handler_t::replace);
  }
  bool truncated = params.size() > kMaxParametersBytes;
  if (truncated) params.clear();
  std::string error_code, error_message;
  if (!result.ok()) {
    error_code = ErrorCodeOf(ctx, result);
    error_message = result.message();
    Scrub(error_message, secrets);
  }
  std::string_view source = model.signing_name().empty() ? model.endpoint_prefix() : model.signing_name();
  std::string_view ip = ctx.http ? std::string_view(ctx.source_ip)
                                 : (p.service.empty() ? std::string_view("AWS Internal") : std::string_view(p.service));
  std::string_view user_agent = ctx.http ? ctx.http->headers.Get("User-Agent").substr(0, kMaxUserAgent) : ip;

  std::string& line = event.line;
  line.reserve(256 + params.size() + resources.size() + user_agent.size() + error_message.size());
  line += ctx.account_id;
  line += '/';
  line += ctx.region;
  event.scope_size = line.size();
  auto text = [&](std::string_view value) {
    line += '\t';
    AppendEscaped(line, value);
  };
  auto raw = [&](std::string_view value) {
    line += '\t';
    line += value;
  };
  text(event_id);
  raw(std::to_string(event.millis));
  raw(std::to_string(sequence));
  text(name);
  line += '\t';
  line += source;
  line += ".amazonaws.com";
  raw(IsReadOnly(model.service(), name) ? "1" : "0");
  raw(p.is_root ? "1" : "0");
  text(ctx.account_id);
  text(ctx.region);
  text(ctx.request_id);
  text(p.arn);
  text(p.user_id == p.account_id ? std::string_view() : std::string_view(p.user_id));
  text(p.access_key_id);
  text(p.service);
  text(UsernameOf(p));
  text(ip);
  text(user_agent);
  text(error_code);
  text(error_message);
  raw(params);
  raw(resources);
  raw(truncated ? "1" : "");
  SanitizeUtf8(line);
  return event;
}

Document DecodeEvent(std::string_view line) {
  std::string_view fields[kFieldCount];
  size_t n = 0;
  for (size_t at = 0; n < kFieldCount; ++n) {
    size_t tab = line.find('\t', at);
    fields[n] = line.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at);
    if (tab == std::string_view::npos) {
      ++n;
      break;
    }
    at = tab + 1;
  }
  if (n != kFieldCount) return nullptr;
  Document out = Document::object();
  try {
    for (size_t i = 0; i < kFieldCount; ++i) {
      if (fields[i].empty()) continue;
      const char* member = kFieldNames[i];
      switch (i) {
        case kMillis: out[member] = std::stoll(std::string(fields[i])); break;
        case kSequence: out[member] = std::stoull(std::string(fields[i])); break;
        case kReadOnly:
        case kRoot:
        case kTruncated: out[member] = fields[i] == "1"; break;
        case kParams:
        case kResources: out[member] = Document::parse(fields[i]); break;
        default: out[member] = Unescaped(fields[i]);
      }
    }
  } catch (const std::exception&) {
    return nullptr;
  }
  return out;
}

namespace {

// The userIdentity block of a stored event's principal fields.
nlohmann::ordered_json UserIdentity(const Document& stored) {
  std::string arn = stored.value("arn", "");
  std::string user_id = stored.value("uid", "");
  std::string key = stored.value("key", "");
  std::string service = stored.value("svc", "");
  std::string account = stored.value("acct", "");
  nlohmann::ordered_json identity;
  if (!service.empty() && !StartsWith(arn, "arn:")) {
    identity["type"] = "AWSService";
    identity["invokedBy"] = service;
    return identity;
  }
  if (stored.value("root", false)) {
    identity["type"] = "Root";
    identity["principalId"] = account;
    identity["arn"] = arn;
    identity["accountId"] = account;
    if (!key.empty()) identity["accessKeyId"] = key;
  } else if (arn.find(":assumed-role/") != std::string::npos) {
    // arn:aws:sts::<account>:assumed-role/<role>/<session>
    std::string resource = arn.substr(arn.find(":assumed-role/") + std::string_view(":assumed-role/").size());
    std::string role = resource.substr(0, resource.rfind('/'));
    identity["type"] = "AssumedRole";
    identity["principalId"] = user_id;
    identity["arn"] = arn;
    identity["accountId"] = account;
    if (!key.empty()) identity["accessKeyId"] = key;
    nlohmann::ordered_json issuer;
    issuer["type"] = "Role";
    issuer["principalId"] = user_id.substr(0, user_id.find(':'));
    issuer["arn"] = "arn:aws:iam::" + account + ":role/" + role;
    issuer["accountId"] = account;
    issuer["userName"] = LastSegment(role);
    identity["sessionContext"] = {{"sessionIssuer", issuer}, {"attributes", {{"mfaAuthenticated", "false"}}}};
  } else {
    identity["type"] = "IAMUser";
    identity["principalId"] = user_id;
    identity["arn"] = arn;
    identity["accountId"] = account;
    if (!key.empty()) identity["accessKeyId"] = key;
    identity["userName"] = LastSegment(arn);
  }
  if (!service.empty()) identity["invokedBy"] = service;
  return identity;
}

std::string Hex16(uint64_t v) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(v));
  return buffer;
}

}  // namespace

Document LookupEntry(const Document& stored) {
  TimePoint time{std::chrono::milliseconds(stored.value("t", int64_t{0}))};
  bool read_only = stored.value("ro", false);
  std::string ip = stored.value("ip", "");
  nlohmann::ordered_json record;
  record["eventVersion"] = "1.09";
  record["userIdentity"] = UserIdentity(stored);
  record["eventTime"] = FormatIso8601(time);
  record["eventSource"] = stored.value("src", "");
  record["eventName"] = stored.value("name", "");
  record["awsRegion"] = stored.value("region", "");
  record["sourceIPAddress"] = ip;
  record["userAgent"] = stored.value("ua", "");
  if (stored.contains("err")) {
    record["errorCode"] = stored.value("err", "");
    record["errorMessage"] = stored.value("msg", "");
  }
  record["requestParameters"] = nullptr;
  if (auto params = stored.find("params"); params != stored.end()) {
    record["requestParameters"] = nlohmann::ordered_json::parse(params->dump());
  }
  if (stored.value("truncated", false)) record["additionalEventData"] = {{"requestParametersTruncated", true}};
  record["responseElements"] = nullptr;
  record["requestID"] = stored.value("req", "");
  record["eventID"] = stored.value("id", "");
  record["readOnly"] = read_only;
  record["eventType"] = "AwsApiCall";
  record["managementEvent"] = true;
  record["recipientAccountId"] = stored.value("acct", "");
  record["eventCategory"] = "Management";

  Document out = {{"EventId", stored.value("id", "")},
                  {"EventName", stored.value("name", "")},
                  {"ReadOnly", read_only ? "true" : "false"},
                  {"EventTime", ToEpochSeconds(time)},
                  {"EventSource", stored.value("src", "")},
                  {"Resources", stored.value("res", Document::array())},
                  {"CloudTrailEvent", record.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)}};
  if (stored.contains("key")) out["AccessKeyId"] = stored["key"];
  if (stored.contains("user")) out["Username"] = stored["user"];
  return out;
}

bool MatchesLookupAttribute(const Document& stored, std::string_view key, std::string_view value) {
  if (key.empty()) return true;
  auto text = [&](const char* member) {
    auto it = stored.find(member);
    return it != stored.end() && it->is_string() && it->get_ref<const std::string&>() == value;
  };
  if (key == "EventId") return text("id");
  if (key == "EventName") return text("name");
  if (key == "EventSource") return text("src");
  if (key == "Username") return text("user");
  if (key == "AccessKeyId") return text("key");
  if (key == "ReadOnly") return (stored.value("ro", false) ? "true" : "false") == value;
  if (key == "ResourceType" || key == "ResourceName") {
    auto res = stored.find("res");
    if (res == stored.end()) return false;
    for (const auto& r : *res) {
      auto it = r.find(std::string(key));
      if (it != r.end() && it->is_string() && it->get_ref<const std::string&>() == value) return true;
    }
  }
  return false;
}

std::string MillisKeyPrefix(int64_t epoch_millis) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%013lld",
                static_cast<long long>(kMaxMillis - std::clamp<int64_t>(epoch_millis, 0, kMaxMillis)));
  return buffer;
}

std::string EventKey(int64_t epoch_millis, uint64_t sequence) {
  return MillisKeyPrefix(epoch_millis) + "-" + Hex16(~sequence);
}

int64_t MillisOfKey(std::string_view key) {
  if (key.size() < 13) return -1;
  int64_t inverted = 0;
  for (char c : key.substr(0, 13)) {
    if (c < '0' || c > '9') return -1;
    inverted = inverted * 10 + (c - '0');
  }
  return kMaxMillis - inverted;
}

}  // namespace gantry::services::cloudtrail
