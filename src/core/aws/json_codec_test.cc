#include <gtest/gtest.h>

#include "core/aws/codecs.h"

namespace gantry::aws {
namespace {

const ServiceModel& Events() { return *ModelRegistry::Instance().Get("events"); }

http::Request JsonRequest(std::string target, std::string body) {
  http::Request r;
  r.method = "POST";
  r.path = "/";
  r.headers.Add("X-Amz-Target", std::move(target));
  r.headers.Add("Content-Type", "application/x-amz-json-1.1");
  r.body = std::move(body);
  return r;
}

TEST(JsonCodecTest, ResolvesOperationFromTarget) {
  auto op = JsonCodec().ResolveOperation(Events(), JsonRequest("AWSEvents.PutRule", "{}"));
  ASSERT_TRUE(op.ok());
  EXPECT_EQ((*op)->name, "PutRule");
  auto bad = JsonCodec().ResolveOperation(Events(), JsonRequest("AWSEvents.Nope", "{}"));
  EXPECT_EQ(bad.status().aws_code(), "UnknownOperationException");
  auto wrong_prefix = JsonCodec().ResolveOperation(Events(), JsonRequest("Logs_20140328.PutRule", "{}"));
  EXPECT_FALSE(wrong_prefix.ok());
}

TEST(JsonCodecTest, ParsesTypedInput) {
  const Operation& op = *Events().FindOperation("PutEvents");
  auto doc = JsonCodec().ParseInput(
      Events(), op,
      JsonRequest("AWSEvents.PutEvents",
                  R"({"Entries":[{"Source":"app","DetailType":"t","Detail":"{}","Time":1700000000.5}],"Extra":1})"));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ((*doc)["Entries"][0]["Source"], "app");
  EXPECT_EQ((*doc)["Entries"][0]["Time"].get<double>(), 1700000000.5);
  EXPECT_FALSE(doc->contains("Extra"));
}

TEST(JsonCodecTest, RejectsMalformedAndMistyped) {
  const Operation& op = *Events().FindOperation("PutRule");
  auto malformed = JsonCodec().ParseInput(Events(), op, JsonRequest("AWSEvents.PutRule", "{nope"));
  EXPECT_EQ(malformed.status().aws_code(), "SerializationException");
  auto mistyped = JsonCodec().ParseInput(Events(), op, JsonRequest("AWSEvents.PutRule", R"({"Name": 5})"));
  EXPECT_EQ(mistyped.status().aws_code(), "SerializationException");
  EXPECT_EQ(mistyped.status().message(), "Expected a string at 'Name' but found number.");
}

TEST(JsonCodecTest, WritesOutputAndErrors) {
  const Operation& op = *Events().FindOperation("DescribeRule");
  http::Response resp;
  JsonCodec().WriteOutput(Events(), op, {{"Name", "r"}, {"CreatedBy", "000000000000"}}, "req-1", resp);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.headers.Get("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(resp.headers.Get("x-amzn-RequestId"), "req-1");
  EXPECT_EQ(Document::parse(resp.body), Document({{"Name", "r"}, {"CreatedBy", "000000000000"}}));

  http::Response err;
  AwsError e;
  e.code = "ResourceNotFoundException";
  e.message = "Rule r does not exist.";
  JsonCodec().WriteError(&Events(), e, "req-2", err);
  EXPECT_EQ(err.status, 400);
  EXPECT_EQ(Document::parse(err.body)["__type"], "ResourceNotFoundException");
  EXPECT_EQ(Document::parse(err.body)["message"], "Rule r does not exist.");
}

TEST(JsonCodecTest, QueryCompatibleErrorsCarryHeader) {
  const ServiceModel& cw = *ModelRegistry::Instance().Get("cloudwatch");
  http::Response err;
  AwsError e;
  e.code = "ResourceNotFound";
  e.message = "x";
  JsonCodec().WriteError(&cw, e, "r", err);
  EXPECT_EQ(err.headers.Get("x-amzn-query-error"), "ResourceNotFound;Sender");
  EXPECT_EQ(err.headers.Get("Content-Type"), "application/x-amz-json-1.0");
}

TEST(JsonCodecTest, ErrorCarriesModeledMembersOfItsShape) {
  const ServiceModel& cw = *ModelRegistry::Instance().Get("cloudwatch");
  http::Response err;
  AwsError e;
  e.code = "InvalidParameterInput";
  e.message = "The dashboard body is invalid";
  e.members = {{"dashboardValidationMessages", {{{"DataPath", "/widgets"}, {"Message", "Should be array"}}}},
               {"notModeled", "dropped"}};
  JsonCodec().WriteError(&cw, e, "r", err);
  EXPECT_EQ(Document::parse(err.body),
            Document::parse(R"({"__type": "InvalidParameterInput", "message": "The dashboard body is invalid",
                                "dashboardValidationMessages": [{"DataPath": "/widgets", "Message": "Should be array"}]})"));
  // Without a shape for the code the members have nowhere to go.
  e.code = "ValidationError";
  JsonCodec().WriteError(&cw, e, "r", err);
  EXPECT_FALSE(Document::parse(err.body).contains("dashboardValidationMessages"));
}

TEST(ErrorTest, StatusMapsPerProtocol) {
  AwsError json = ToAwsError(Status::InvalidArgument("bad"), &Events());
  EXPECT_EQ(json.code, "ValidationException");
  EXPECT_EQ(json.http_status, 400);
  AwsError query = ToAwsError(Status::InvalidArgument("bad"), ModelRegistry::Instance().Get("sts"));
  EXPECT_EQ(query.code, "ValidationError");
  AwsError nf = ToAwsError(Status::NotFound("x", "NoSuchEntity"), ModelRegistry::Instance().Get("iam"));
  EXPECT_EQ(nf.http_status, 404);
  AwsError logs = ToAwsError(Status::InvalidArgument("bad"), ModelRegistry::Instance().Get("logs"));
  EXPECT_EQ(logs.code, "InvalidParameterException");
  // CloudWatch (awsQueryCompatible) answers model-validation failures alike in every protocol.
  const ServiceModel* cw = ModelRegistry::Instance().Get("cloudwatch");
  for (Protocol p : {Protocol::kQuery, Protocol::kJson, Protocol::kRpcV2Cbor}) {
    EXPECT_EQ(ToAwsError(Status::InvalidArgument("bad"), cw, p).code, "ValidationError");
  }
  AwsError internal = ToAwsError(Status::Internal("x"), &Events());
  EXPECT_EQ(internal.http_status, 500);
  EXPECT_FALSE(internal.sender_fault);
}

}  // namespace
}  // namespace gantry::aws
