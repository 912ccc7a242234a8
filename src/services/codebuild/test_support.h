// Test-only fixtures shared by the CodeBuild service's tests: the account, region and service role
// they run as, and the other AWS services CodeBuild calls, in memory.
// FakeAws is thread-safe (builds call it from their threads); its public fields are read and set by
// the test between builds, or under mu_.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/aws/service.h"

namespace gantry::services::codebuild::testing {

inline constexpr char kAccount[] = "000000000000";
inline constexpr char kRegion[] = "us-east-1";
inline constexpr char kRole[] = "arn:aws:iam::000000000000:role/cb";

// The other services CodeBuild calls, in memory: STS (roles in `assumable`), IAM GetRole, CloudWatch
// Logs, S3, Parameter Store, Secrets Manager, EventBridge and CloudWatch metrics; CodeBuild's own
// operations (the role creating report groups) go to `codebuild` when it is set. Every call is
// recorded with its principal; `denied` holds "service:Operation" entries that fail with
// AccessDenied, `assume_error` fails every AssumeRole; `on_event` sees each event put, outside the
// fake's lock (it may call the service).
class FakeAws final : public aws::Client {
 public:
  struct CallRecord {
    aws::Principal principal;
    std::string service, operation;
    aws::Document input;
  };

  StatusOr<aws::Document> Call(const aws::Principal& principal, std::string_view service, std::string_view operation,
                               const aws::Document& input, std::string_view region) override {
    using aws::Document;
    if (service == "events" && operation == "PutEvents" && on_event) {
      {
        std::lock_guard lock(mu_);
        calls.push_back({principal, std::string(service), std::string(operation), input});
        events.push_back(input["Entries"][0]);
      }
      on_event(input["Entries"][0]["DetailType"], Document::parse(input["Entries"][0]["Detail"].get<std::string>()));
      return Document{{"FailedEntryCount", 0}};
    }
    std::string action = std::string(service) + ":" + std::string(operation);
    {
      std::lock_guard lock(mu_);
      calls.push_back({principal, std::string(service), std::string(operation), input});
      if (denied.count(action)) {
        return Status::PermissionDenied("User: " + principal.arn + " is not authorized to perform: " + action,
                                        service == "s3" ? "AccessDenied" : "AccessDeniedException");
      }
    }
    if (service == "codebuild" && codebuild != nullptr) {
      return codebuild->Call(principal, service, operation, input, region);
    }
    std::lock_guard lock(mu_);
    if (service == "sts" && operation == "AssumeRole") {
      if (!assume_error.ok()) return assume_error;
      std::string role = input.value("RoleArn", "");
      if (!assumable.count(role)) return Status::PermissionDenied("not trusted", "AccessDenied");
      ++sessions;
      std::string name = role.substr(role.rfind('/') + 1);
      return Document{
          {"Credentials",
           {{"AccessKeyId", "ASIA" + std::to_string(sessions)},
            {"SecretAccessKey", "secret"},
            {"SessionToken", "token"},
            {"Expiration", 4000000000.0}}},
          {"AssumedRoleUser",
           {{"Arn", "arn:aws:sts::000000000000:assumed-role/" + name + "/" + input.value("RoleSessionName", "")},
            {"AssumedRoleId", "AROA:" + input.value("RoleSessionName", "")}}}};
    }
    if (service == "iam" && operation == "GetRole") {
      std::string arn = "arn:aws:iam::000000000000:role/" + input.value("RoleName", "");
      if (!assumable.count(arn)) return Status::NotFound("no role", "NoSuchEntity");
      return Document{{"Role", {{"Arn", arn}}}};
    }
    if (service == "logs") {
      if (operation == "PutLogEvents") {
        for (const Document& e : input["logEvents"]) {
          log_lines[input.value("logGroupName", "") + "|" + input.value("logStreamName", "")].push_back(e["message"]);
        }
        ++log_batches;
      }
      return Document::object();
    }
    if (service == "s3") {
      std::string key = input.value("Bucket", "") + "/" + input.value("Key", "");
      if (operation == "PutObject") {
        const auto& body = input["Body"].get_binary();
        objects[key] = std::string(body.begin(), body.end());
        return Document::object();
      }
      if (operation == "GetObject") {
        auto it = objects.find(key);
        if (it == objects.end()) return Status::NotFound("The specified key does not exist.", "NoSuchKey");
        Document out = {{"Body", Document::binary(std::vector<uint8_t>(it->second.begin(), it->second.end()))}};
        if (auto m = object_metadata.find(key); m != object_metadata.end()) out["Metadata"] = m->second;
        return out;
      }
      if (operation == "ListObjectsV2") {
        Document contents = Document::array();
        std::string prefix = input.value("Bucket", "") + "/" + input.value("Prefix", "");
        for (const auto& [k, v] : objects) {
          if (k.rfind(prefix, 0) == 0) contents.push_back({{"Key", k.substr(k.find('/') + 1)}});
        }
        return Document{{"Contents", contents}, {"IsTruncated", false}};
      }
    }
    if (service == "ssm" && operation == "GetParameters") {
      std::string name = input["Names"][0];
      auto it = parameters.find(name);
      if (it == parameters.end()) return Document{{"Parameters", Document::array()}, {"InvalidParameters", {name}}};
      return Document{{"Parameters", {{{"Name", name}, {"Value", it->second.first}, {"Type", it->second.second}}}}};
    }
    if (service == "secretsmanager" && operation == "GetSecretValue") {
      auto it = secrets.find(input.value("SecretId", ""));
      if (it == secrets.end()) {
        return Status::NotFound("Secrets Manager can't find the specified secret.", "ResourceNotFoundException");
      }
      return Document{{"SecretString", it->second}};
    }
    if (service == "events" && operation == "PutEvents") {
      events.push_back(input["Entries"][0]);
      return Document{{"FailedEntryCount", 0}};
    }
    if (service == "cloudwatch" && operation == "PutMetricData") return Document::object();
    return Status::Unimplemented("fake: " + action);
  }

  std::vector<CallRecord> CallsTo(const std::string& service, const std::string& operation) {
    std::lock_guard lock(mu_);
    std::vector<CallRecord> out;
    for (const auto& c : calls) {
      if (c.service == service && c.operation == operation) out.push_back(c);
    }
    return out;
  }
  // detail-type and the detail of every event, in order.
  std::vector<std::pair<std::string, aws::Document>> Events() {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, aws::Document>> out;
    for (const aws::Document& e : events) {
      out.emplace_back(e["DetailType"], aws::Document::parse(e["Detail"].get<std::string>()));
    }
    return out;
  }
  // Whether a line of any log stream contains text.
  bool Logged(const std::string& text) {
    std::lock_guard lock(mu_);
    for (const auto& [stream, lines] : log_lines) {
      for (const std::string& line : lines) {
        if (line.find(text) != std::string::npos) return true;
      }
    }
    return false;
  }

  aws::Client* codebuild = nullptr;
  std::mutex mu_;
  std::vector<CallRecord> calls;
  std::set<std::string> assumable = {kRole};
  std::set<std::string> denied;
  Status assume_error;
  std::function<void(const std::string& detail_type, const aws::Document& detail)> on_event;
  std::map<std::string, std::vector<std::string>> log_lines;  // "group|stream"
  int log_batches = 0;
  std::map<std::string, std::string> objects;                             // "bucket/key"
  std::map<std::string, aws::Document> object_metadata;                   // "bucket/key" → user metadata
  std::map<std::string, std::pair<std::string, std::string>> parameters;  // name → value, type
  std::map<std::string, std::string> secrets;
  std::vector<aws::Document> events;
  int sessions = 0;
};

}  // namespace gantry::services::codebuild::testing
