// Test support for the providers: an aws::Client that records every call and answers from canned
// handlers ("service:Operation"), with an in-memory S3 (PutObject, GetObject, HeadObject) by
// default; and an ActionContext for one action of pipeline "pipe" whose outputs go to bucket
// "store". Used by tests only; not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/aws/service.h"
#include "services/codepipeline/action.h"
#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline::testing {

class FakeServices final : public aws::Client {
 public:
  struct CallRecord {
    aws::Principal principal;
    std::string service, operation, region;
    aws::Document input;
  };
  struct Object {
    std::string body;
    aws::Document put;  // the PutObject input without its Body
  };
  using Handler = std::function<StatusOr<aws::Document>(const aws::Document& input)>;

  StatusOr<aws::Document> Call(const aws::Principal& principal, std::string_view service, std::string_view operation,
                               const aws::Document& input, std::string_view region) override {
    aws::Document recorded = input;
    if (recorded.contains("Body")) recorded["Body"] = "<" + std::to_string(BytesOf(input["Body"]).size()) + " bytes>";
    calls.push_back({principal, std::string(service), std::string(operation), std::string(region), recorded});
    std::string name = std::string(service) + ":" + std::string(operation);
    if (auto it = handlers.find(name); it != handlers.end()) return it->second(input);
    if (service == "s3") {
      std::string key = input.value("Bucket", "") + "/" + input.value("Key", "");
      if (operation == "PutObject") {
        aws::Document put = input;
        put.erase("Body");
        objects[key] = {BytesOf(input["Body"]), put};
        return aws::Document{{"ETag", "\"etag-" + key + "\""}};
      }
      auto it = objects.find(key);
      if (it == objects.end()) return Status::NotFound("The specified key does not exist.", "NoSuchKey");
      aws::Document out = {{"ETag", "\"etag-" + key + "\""}, {"LastModified", 1700000000.0}};
      if (it->second.put.contains("Metadata")) out["Metadata"] = it->second.put["Metadata"];
      if (operation == "GetObject") out["Body"] = BlobOf(it->second.body);
      if (operation == "GetObject" || operation == "HeadObject") return out;
    }
    return Status::Unimplemented("fake: " + name, "UnknownOperationException");
  }

  std::vector<CallRecord> CallsTo(const std::string& service, const std::string& operation) const {
    std::vector<CallRecord> out;
    for (const CallRecord& c : calls) {
      if (c.service == service && c.operation == operation) out.push_back(c);
    }
    return out;
  }

  std::map<std::string, Handler> handlers;
  std::map<std::string, Object> objects;  // "bucket/key"
  std::vector<CallRecord> calls;
};

// The context of action `declaration` (name, actionTypeId, configuration, inputArtifacts,
// outputArtifacts) in stage "Stage" of pipeline "pipe", as the pipeline's role.
inline ActionContext MakeContext(const aws::Document& declaration, FakeServices* services, Clock* clock,
                                 IdSource* ids) {
  ActionContext ctx;
  ctx.account_id = "000000000000";
  ctx.region = "us-east-1";
  ctx.pipeline_name = "pipe";
  ctx.pipeline_arn = "arn:aws:codepipeline:us-east-1:000000000000:pipe";
  ctx.pipeline_version = 1;
  ctx.execution_id = "exec-1";
  ctx.stage_name = "Stage";
  ctx.action_name = declaration.value("name", "");
  ctx.action_execution_id = "action-exec-1";
  ctx.declaration = declaration;
  for (const aws::Document& out : declaration.value("outputArtifacts", aws::Document::array())) {
    ctx.output_names.push_back(out["name"]);
  }
  ctx.artifact_bucket = "store";
  auto counter = std::make_shared<int>(0);
  ctx.new_output_location = [counter](const std::string& name) {
    return ArtifactLocation{name, "store", "pipe/" + name.substr(0, 20) + "/obj" + std::to_string(++*counter)};
  };
  ctx.principal.account_id = ctx.account_id;
  ctx.principal.arn = "arn:aws:sts::000000000000:assumed-role/pipeline-role/1";
  ctx.principal.source_arn = ctx.pipeline_arn;
  ctx.role_arn = "arn:aws:iam::000000000000:role/pipeline-role";
  ctx.client = services;
  ctx.clock = clock;
  ctx.ids = ids;
  ctx.endpoint = "http://127.0.0.1:4566";
  return ctx;
}

}  // namespace gantry::services::codepipeline::testing
