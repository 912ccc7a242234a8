#include "core/aws/dispatcher.h"

#include "core/aws/aws_chunked.h"

#include <gtest/gtest.h>

#include "core/common/time_format.h"
#include "test_support/requests.h"

namespace gantry::aws {
namespace {

using test_support::JsonRequest;
using test_support::QueryRequest;

constexpr char kAccount[] = "111122223333";

class OneKey final : public CredentialResolver {
 public:
  std::optional<Credential> Lookup(std::string_view access_key_id) const override {
    if (access_key_id != key.access_key_id) return std::nullopt;
    return key;
  }
  Credential key{"AKIAEXAMPLEKEY000001", "secret/secret/secret/secret/secret/000001", "", std::nullopt,
                 std::string("arn:aws:iam::") + kAccount + ":root", kAccount, kAccount};
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    handlers_.Add("sts", "GetCallerIdentity", [](RequestContext& ctx, const Document&) -> StatusOr<Document> {
      return Document{{"Account", ctx.account_id}, {"Arn", ctx.principal.arn}, {"UserId", ctx.region}};
    });
    handlers_.Add("events", "DescribeRule", [](RequestContext& ctx, const Document& in) -> StatusOr<Document> {
      if (in["Name"] == "boom") throw std::runtime_error("bug");
      return Status::NotFound("Rule " + in["Name"].get<std::string>() + " does not exist on EventBus default.",
                              "ResourceNotFoundException");
    });
    DispatcherOptions options;
    options.account_id = kAccount;
    options.clock = &clock_;
    dispatcher_ = std::make_unique<Dispatcher>(options, &credentials_, &handlers_, nullptr);
  }

  http::Response Send(http::Request request, const Credential* signer, std::string_view region = "us-east-1",
                      std::string_view service = "") {
    request.request_id = "req-1";
    if (signer) SignRequest(request, *signer, region, service, clock_.Now());
    http::Response response;
    dispatcher_->Handle(request, response);
    return response;
  }

  FakeClock clock_{FromEpochSeconds(1764000000)};
  OneKey credentials_;
  HandlerTable handlers_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, SignedQueryRequestReachesHandlerWithScopeRegion) {
  auto r = Send(QueryRequest("Action=GetCallerIdentity&Version=2011-06-15"), &credentials_.key, "eu-west-1", "sts");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<Account>111122223333</Account>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<UserId>eu-west-1</UserId>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<RequestId>req-1</RequestId>"), std::string::npos) << r.body;
}

TEST_F(DispatcherTest, AuthFailuresPerProtocol) {
  Credential wrong = credentials_.key;
  wrong.secret_access_key = "not-the-secret";
  auto q = Send(QueryRequest("Action=GetCallerIdentity&Version=2011-06-15"), &wrong, "us-east-1", "sts");
  EXPECT_EQ(q.status, 403);
  EXPECT_NE(q.body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos) << q.body;

  Credential unknown = credentials_.key;
  unknown.access_key_id = "AKIANOSUCHKEY0000000";
  auto j = Send(JsonRequest("AWSEvents.ListRules", "{}"), &unknown, "us-east-1", "events");
  EXPECT_EQ(j.status, 400);
  EXPECT_EQ(Document::parse(j.body)["__type"], "UnrecognizedClientException");

  auto unsigned_query = Send(QueryRequest("Action=GetCallerIdentity&Version=2011-06-15"), nullptr);
  EXPECT_EQ(unsigned_query.status, 403);
  EXPECT_NE(unsigned_query.body.find("<Code>MissingAuthenticationToken</Code>"), std::string::npos);
}

TEST_F(DispatcherTest, ClockSkewIsRefused) {
  http::Request r = QueryRequest("Action=GetCallerIdentity&Version=2011-06-15");
  r.request_id = "x";
  SignRequest(r, credentials_.key, "us-east-1", "sts", clock_.Now() - std::chrono::minutes(20));
  http::Response response;
  dispatcher_->Handle(r, response);
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("Signature expired"), std::string::npos) << response.body;
}

TEST_F(DispatcherTest, AwsChunkedBodyIsDecodedBeforeParsing) {
  http::Request r = JsonRequest("AWSEvents.DescribeRule", "");
  r.headers.Add("Content-Encoding", "aws-chunked");
  r.headers.Add("X-Amz-Content-SHA256", std::string(kStreamingUnsignedPayloadTrailer));
  r.headers.Add("X-Amz-Trailer", "x-amz-checksum-crc32");
  std::string json = R"({"Name":"chunked"})";
  r.headers.Add("X-Amz-Decoded-Content-Length", std::to_string(json.size()));
  AwsChunkedOptions options;
  options.kind = ChunkedPayloadKind::kUnsignedWithTrailer;
  auto checksum = PayloadChecksum::ForHeader("x-amz-checksum-crc32");
  checksum->Update(json);
  r.body = EncodeAwsChunked(json, 5, options, {{"x-amz-checksum-crc32", checksum->Base64Value()}});
  r.body_size = r.body.size();
  auto ok = Send(r, &credentials_.key, "us-east-1", "events");
  EXPECT_EQ(Document::parse(ok.body)["message"], "Rule chunked does not exist on EventBus default.") << ok.body;

  r.body = EncodeAwsChunked(json, 5, options, {{"x-amz-checksum-crc32", "AAAAAA=="}});
  auto bad = Send(r, &credentials_.key, "us-east-1", "events");
  EXPECT_EQ(Document::parse(bad.body)["__type"], "BadDigest") << bad.body;
}

TEST_F(DispatcherTest, HandlerErrorsUseModelCodes) {
  auto r = Send(JsonRequest("AWSEvents.DescribeRule", R"({"Name":"nope"})"), &credentials_.key, "us-east-1", "events");
  EXPECT_EQ(r.status, 400);
  auto body = Document::parse(r.body);
  EXPECT_EQ(body["__type"], "ResourceNotFoundException");
  EXPECT_EQ(body["message"], "Rule nope does not exist on EventBus default.");
}

TEST_F(DispatcherTest, ValidationRunsBeforeHandler) {
  auto r = Send(JsonRequest("AWSEvents.DescribeRule", "{}"), &credentials_.key, "us-east-1", "events");
  auto body = Document::parse(r.body);
  EXPECT_EQ(body["__type"], "ValidationException");
  EXPECT_EQ(body["message"],
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
}

TEST_F(DispatcherTest, ThrowingHandlerIsInternalFailure) {
  auto r = Send(JsonRequest("AWSEvents.DescribeRule", R"({"Name":"boom"})"), &credentials_.key, "us-east-1", "events");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Document::parse(r.body)["__type"], "InternalFailure");
}

TEST_F(DispatcherTest, UnimplementedOperationAndUnknownService) {
  auto r = Send(JsonRequest("AWSEvents.ListRules", "{}"), &credentials_.key, "us-east-1", "events");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(Document::parse(r.body)["message"], "Gantry does not implement events:ListRules yet.");
  auto unknown = Send(JsonRequest("DynamoDB_20120810.ListTables", "{}"), &credentials_.key, "us-east-1", "dynamodb");
  EXPECT_EQ(Document::parse(unknown.body)["__type"], "UnknownOperationException");
}

TEST_F(DispatcherTest, InProcessCallRunsTheSameChain) {
  Principal root = Principal::Root(kAccount);
  auto ok = dispatcher_->Call(root, "sts", "GetCallerIdentity", Document::object(), "ap-south-1");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)["UserId"], "ap-south-1");
  auto invalid = dispatcher_->Call(root, "events", "DescribeRule", Document::object(), "");
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  auto missing = dispatcher_->Call(root, "events", "DescribeRule", {{"Name", "r"}}, "");
  EXPECT_EQ(missing.status().aws_code(), "ResourceNotFoundException");
  EXPECT_FALSE(dispatcher_->Call(root, "nope", "X", Document::object(), "").ok());
}

TEST_F(DispatcherTest, AcceptAnyCredentialsRunsAsRoot) {
  DispatcherOptions options;
  options.account_id = kAccount;
  options.accept_any_credentials = true;
  options.clock = &clock_;
  Dispatcher any(options, &credentials_, &handlers_, nullptr);
  Credential test{"test", "test", "", std::nullopt, "", "", ""};
  http::Request r = QueryRequest("Action=GetCallerIdentity&Version=2011-06-15");
  SignRequest(r, test, "us-east-1", "sts", clock_.Now());
  http::Response response;
  any.Handle(r, response);
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("arn:aws:iam::111122223333:root"), std::string::npos);
}

}  // namespace
}  // namespace gantry::aws
