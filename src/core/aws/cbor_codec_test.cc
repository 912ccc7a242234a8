#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>

#include "core/aws/cbor.h"
#include "core/aws/codecs.h"
#include "core/aws/dispatcher.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"
#include "test_support/requests.h"

namespace gantry::aws {
namespace {

using test_support::CborRequest;
using test_support::JsonRequest;

constexpr char kPrefix[] = "GraniteServiceVersion20100801";

const ServiceModel& CloudWatch() { return *ModelRegistry::Instance().Get("cloudwatch"); }

// botocore 1.43's RpcV2CBORSerializer output for PutMetricData with a timestamp, a double, a
// dimension, NaN/Infinity values and an integer.
constexpr char kBotocorePutMetricData[] =
    "a2694e616d657370616365634170706a4d65747269634461746181a66a4d65747269634e616d65634c61746954696d657374616d70c11a"
    "692481006556616c7565fb3ff80000000000006a44696d656e73696f6e7381a2644e616d6564486f73746556616c756561616656616c75"
    "657382f97e00f97c007153746f726167655265736f6c7574696f6e01";

TEST(CborCodecTest, ResolvesOperationFromPath) {
  auto op = CborCodec().ResolveOperation(CloudWatch(), CborRequest(kPrefix, "ListDashboards", "\xa0"));
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  EXPECT_EQ((*op)->name, "ListDashboards");
  auto prefixed = CborRequest(kPrefix, "PutDashboard", "");
  prefixed.path = "/some/base" + prefixed.path;
  op = CborCodec().ResolveOperation(CloudWatch(), prefixed);
  ASSERT_TRUE(op.ok());
  EXPECT_EQ((*op)->name, "PutDashboard");
  EXPECT_EQ(CborCodec().ResolveOperation(CloudWatch(), CborRequest(kPrefix, "Nope", "")).status().aws_code(),
            "UnknownOperationException");
  EXPECT_EQ(CborCodec().ResolveOperation(CloudWatch(), CborRequest("Other", "ListDashboards", "")).status().aws_code(),
            "UnknownOperationException");
  auto bare = CborRequest(kPrefix, "ListDashboards", "");
  bare.path = "/";
  EXPECT_FALSE(CborCodec().ResolveOperation(CloudWatch(), bare).ok());
}

TEST(CborCodecTest, ParsesBotocoreRequest) {
  const Operation& op = *CloudWatch().FindOperation("PutMetricData");
  auto doc = CborCodec().ParseInput(CloudWatch(), op,
                                    CborRequest(kPrefix, "PutMetricData", *HexDecode(kBotocorePutMetricData)));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const Document& datum = (*doc)["MetricData"][0];
  EXPECT_EQ((*doc)["Namespace"], "App");
  EXPECT_EQ(datum["MetricName"], "Lat");
  EXPECT_EQ(datum["Timestamp"].get<double>(), 1764000000.0);
  EXPECT_EQ(datum["Value"].get<double>(), 1.5);
  EXPECT_EQ(datum["Dimensions"][0]["Value"], "a");
  EXPECT_TRUE(std::isnan(datum["Values"][0].get<double>()));
  EXPECT_EQ(datum["Values"][1].get<double>(), INFINITY);
  EXPECT_EQ(datum["StorageResolution"], 1);
}

TEST(CborCodecTest, EmptyBodyIsEmptyInput) {
  const Operation& op = *CloudWatch().FindOperation("ListDashboards");
  auto doc = CborCodec().ParseInput(CloudWatch(), op, CborRequest(kPrefix, "ListDashboards", ""));
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(*doc, Document::object());
}

TEST(CborCodecTest, RejectsMalformedAndMistyped) {
  const Operation& op = *CloudWatch().FindOperation("PutDashboard");
  auto malformed = CborCodec().ParseInput(CloudWatch(), op, CborRequest(kPrefix, "PutDashboard", "\xa1\x61"));
  EXPECT_EQ(malformed.status().aws_code(), "SerializationException");
  auto not_map = CborCodec().ParseInput(CloudWatch(), op, CborRequest(kPrefix, "PutDashboard", "\x01"));
  EXPECT_EQ(not_map.status().aws_code(), "SerializationException");
  CborWriter w;
  w.BeginMap(1);
  w.Text("DashboardName");
  w.Int(5);
  auto mistyped = CborCodec().ParseInput(CloudWatch(), op, CborRequest(kPrefix, "PutDashboard", w.Take()));
  EXPECT_EQ(mistyped.status().aws_code(), "SerializationException");
  EXPECT_EQ(mistyped.status().message(), "Expected a text string at 'DashboardName' but found number.");

  const Operation& image = *CloudWatch().FindOperation("GetMetricData");
  CborWriter t;
  t.BeginMap(1);
  t.Text("StartTime");
  t.Text("2025-01-01T00:00:00Z");
  EXPECT_EQ(CborCodec().ParseInput(CloudWatch(), image, CborRequest(kPrefix, "GetMetricData", t.Take())).status().aws_code(),
            "SerializationException");
}

TEST(CborCodecTest, WritesTypedOutput) {
  const Operation& op = *CloudWatch().FindOperation("GetMetricStatistics");
  Document out = {{"Label", "Lat"},
                  {"Datapoints",
                   {{{"Timestamp", 1764000000.0}, {"Average", 2}, {"Maximum", NAN}, {"Unit", "Seconds"}},
                    {{"Timestamp", "2025-11-24T16:00:01.500Z"}, {"Sum", 1.25}}}}};
  http::Response r;
  CborCodec().WriteOutput(CloudWatch(), op, out, "req-1", r);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("smithy-protocol"), "rpc-v2-cbor");
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/cbor");
  EXPECT_EQ(r.headers.Get("x-amzn-RequestId"), "req-1");
  // Timestamps carry tag 1 (0xc1) as integers or doubles; an integer in a double member is a double.
  EXPECT_NE(HexEncode(r.body).find("6954696d657374616d70c11a69248100"), std::string::npos) << HexEncode(r.body);
  EXPECT_NE(HexEncode(r.body).find("6954696d657374616d70c1fb41da492040600000"), std::string::npos);
  EXPECT_NE(HexEncode(r.body).find("6741766572616765fb4000000000000000"), std::string::npos);
  auto doc = DecodeCbor(r.body);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["Label"], "Lat");
  EXPECT_TRUE(std::isnan((*doc)["Datapoints"][0]["Maximum"].get<double>()));
  EXPECT_EQ((*doc)["Datapoints"][1]["Timestamp"].get<double>(), 1764000001.5);

  http::Response empty;
  CborCodec().WriteOutput(CloudWatch(), *CloudWatch().FindOperation("PutMetricData"), Document(), "req-2", empty);
  EXPECT_EQ(HexEncode(empty.body), "a0");
}

TEST(CborCodecTest, WritesQueryCompatibleErrors) {
  AwsError error = ToAwsError(Status::NotFound("Dashboard x does not exist", "ResourceNotFound"), &CloudWatch(),
                              Protocol::kRpcV2Cbor);
  http::Response r;
  CborCodec().WriteError(&CloudWatch(), error, "req-3", r);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.Get("smithy-protocol"), "rpc-v2-cbor");
  EXPECT_EQ(r.headers.Get("x-amzn-query-error"), "ResourceNotFound;Sender");
  auto doc = DecodeCbor(r.body);
  ASSERT_TRUE(doc.ok());
  std::string type = (*doc)["__type"];
  EXPECT_EQ(type.substr(0, type.find('#') + 1), "com.amazonaws.cloudwatch#");
  EXPECT_TRUE(CloudWatch().FindShape(type.substr(type.find('#') + 1))->is_error) << type;
  EXPECT_EQ((*doc)["message"], "Dashboard x does not exist");

  AwsError internal = ToAwsError(Status::Internal("boom"), &CloudWatch(), Protocol::kRpcV2Cbor);
  http::Response ri;
  CborCodec().WriteError(&CloudWatch(), internal, "req-4", ri);
  EXPECT_EQ(ri.status, 500);
  EXPECT_EQ(ri.headers.Get("x-amzn-query-error"), "InternalFailure;Receiver");

  AwsError validation = ToAwsError(Status::InvalidArgument("bad"), &CloudWatch(), Protocol::kRpcV2Cbor);
  EXPECT_EQ(validation.http_status, 400);
}

TEST(CborCodecTest, WritesModeledErrorMembers) {
  AwsError error = ToAwsError(Status::InvalidArgument("The dashboard body is invalid", "InvalidParameterInput"),
                              &CloudWatch(), Protocol::kRpcV2Cbor);
  error.members = {{"dashboardValidationMessages", {{{"DataPath", "/widgets/0"}, {"Message", "Should be object"}}}},
                   {"notModeled", "dropped"}};
  http::Response r;
  CborCodec().WriteError(&CloudWatch(), error, "req-5", r);
  EXPECT_EQ(r.status, 400);
  auto doc = DecodeCbor(r.body);
  ASSERT_TRUE(doc.ok()) << HexEncode(r.body);
  EXPECT_EQ((*doc)["__type"], "com.amazonaws.cloudwatch#DashboardInvalidInputError");
  EXPECT_EQ((*doc)["message"], "The dashboard body is invalid");
  EXPECT_EQ((*doc)["dashboardValidationMessages"],
            Document::parse(R"([{"DataPath": "/widgets/0", "Message": "Should be object"}])"));
  EXPECT_FALSE(doc->contains("notModeled"));
}

// Through the dispatcher: routing by path and credential scope, SigV4 over the binary body, gzip.

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

std::string Gzip(std::string_view data) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

class CborDispatchTest : public ::testing::Test {
 protected:
  CborDispatchTest() {
    handlers_.Add("cloudwatch", "PutDashboard", [this](RequestContext& ctx, const Document& in) -> StatusOr<Document> {
      seen_ = in;
      if (in["DashboardName"] == "missing") return Status::NotFound("Dashboard missing does not exist", "ResourceNotFound");
      if (in["DashboardName"] == "invalid") {
        ctx.error_members = {{"dashboardValidationMessages", {{{"DataPath", ""}, {"Message", "Should be object"}}}}};
        return Status::InvalidArgument("The dashboard body is invalid", "InvalidParameterInput");
      }
      return Document{{"DashboardValidationMessages", Document::array()}};
    });
    handlers_.Add("cloudwatch", "PutMetricData", [this](RequestContext&, const Document& in) -> StatusOr<Document> {
      seen_ = in;
      return Document::object();
    });
    DispatcherOptions options;
    options.account_id = kAccount;
    options.clock = &clock_;
    dispatcher_ = std::make_unique<Dispatcher>(options, &credentials_, &handlers_, nullptr);
  }

  http::Response Send(http::Request request, bool sign = true) {
    request.request_id = "req-1";
    if (sign) SignRequest(request, credentials_.key, "us-east-1", "monitoring", clock_.Now());
    http::Response response;
    dispatcher_->Handle(request, response);
    return response;
  }

  static std::string Dashboard(std::string_view name) {
    CborWriter w;
    w.BeginMap(2);
    w.Text("DashboardName");
    w.Text(name);
    w.Text("DashboardBody");
    w.Text("{\"widgets\":[]}");
    return w.Take();
  }

  FakeClock clock_{FromEpochSeconds(1764000000)};
  OneKey credentials_;
  HandlerTable handlers_;
  std::unique_ptr<Dispatcher> dispatcher_;
  Document seen_;
};

TEST_F(CborDispatchTest, SignedRequestReachesHandler) {
  auto r = Send(CborRequest(kPrefix, "PutDashboard", Dashboard("d1")));
  ASSERT_EQ(r.status, 200) << HexEncode(r.body);
  EXPECT_EQ(r.headers.Get("smithy-protocol"), "rpc-v2-cbor");
  EXPECT_EQ(seen_["DashboardName"], "d1");
  auto doc = DecodeCbor(r.body);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(*doc, Document({{"DashboardValidationMessages", Document::array()}}));
}

TEST_F(CborDispatchTest, SignatureCoversTheBinaryBody) {
  auto request = CborRequest(kPrefix, "PutDashboard", Dashboard("d1"));
  request.request_id = "req-1";
  SignRequest(request, credentials_.key, "us-east-1", "monitoring", clock_.Now());
  request.body[request.body.size() - 2] ^= 0x01;
  http::Response r;
  dispatcher_->Handle(request, r);
  EXPECT_EQ(r.status, 400);
  auto doc = DecodeCbor(r.body);
  ASSERT_TRUE(doc.ok()) << HexEncode(r.body);
  EXPECT_EQ((*doc)["__type"], "com.amazonaws.cloudwatch#InvalidSignatureException");
  EXPECT_EQ(r.headers.Get("x-amzn-query-error"), "InvalidSignatureException;Sender");
}

TEST_F(CborDispatchTest, ModeledErrorCarriesQueryCode) {
  auto r = Send(CborRequest(kPrefix, "PutDashboard", Dashboard("missing")));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.Get("x-amzn-query-error"), "ResourceNotFound;Sender");
}

TEST_F(CborDispatchTest, HandlerErrorMembersReachEveryJsonLikeProtocol) {
  Document expected = Document::parse(R"([{"DataPath": "", "Message": "Should be object"}])");
  auto r = Send(CborRequest(kPrefix, "PutDashboard", Dashboard("invalid")));
  EXPECT_EQ(r.status, 400);
  auto doc = DecodeCbor(r.body);
  ASSERT_TRUE(doc.ok()) << HexEncode(r.body);
  EXPECT_EQ((*doc)["dashboardValidationMessages"], expected);
  auto j = Send(JsonRequest(std::string(kPrefix) + ".PutDashboard",
                            R"({"DashboardName":"invalid","DashboardBody":"{}"})"));
  EXPECT_EQ(j.status, 400);
  EXPECT_EQ(j.headers.Get("x-amzn-query-error"), "InvalidParameterInput;Sender");
  Document body = Document::parse(j.body);
  EXPECT_EQ(body["message"], "The dashboard body is invalid");
  EXPECT_EQ(body["dashboardValidationMessages"], expected);
}

TEST_F(CborDispatchTest, UnsignedRequestIsRoutedByPathServiceName) {
  auto r = Send(CborRequest(kPrefix, "PutDashboard", Dashboard("d1")), /*sign=*/false);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.headers.Get("smithy-protocol"), "rpc-v2-cbor");
  auto doc = DecodeCbor(r.body);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["__type"], "com.amazonaws.cloudwatch#MissingAuthenticationTokenException");
}

TEST_F(CborDispatchTest, JsonProtocolStillServedWithQueryErrorHeader) {
  auto r = Send(JsonRequest(std::string(kPrefix) + ".PutDashboard",
                            R"({"DashboardName":"missing","DashboardBody":"{}"})"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(r.headers.Get("x-amzn-query-error"), "ResourceNotFound;Sender");
}

TEST_F(CborDispatchTest, GzipBodiesInflateAfterVerification) {
  // Above botocore's 10 KiB compression threshold.
  CborWriter w;
  w.BeginMap(2);
  w.Text("Namespace");
  w.Text("gz");
  w.Text("MetricData");
  w.BeginArray(1000);
  for (int i = 0; i < 1000; ++i) {
    w.BeginMap(2);
    w.Text("MetricName");
    w.Text("m" + std::to_string(i));
    w.Text("Value");
    w.Double(i);
  }
  ASSERT_GT(w.bytes().size(), 10240u);
  auto cbor = CborRequest(kPrefix, "PutMetricData", Gzip(w.bytes()));
  cbor.headers.Add("Content-Encoding", "gzip");
  auto r = Send(cbor);
  ASSERT_EQ(r.status, 200) << r.status;
  EXPECT_EQ(seen_["MetricData"].size(), 1000u);
  EXPECT_EQ(seen_["MetricData"][999]["Value"].get<double>(), 999.0);

  auto json = JsonRequest(std::string(kPrefix) + ".PutMetricData",
                          Gzip(R"({"Namespace":"gz","MetricData":[{"MetricName":"m","Value":1}]})"));
  json.headers.Add("Content-Encoding", "gzip");
  r = Send(json);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(seen_["MetricData"][0]["MetricName"], "m");

  auto query = test_support::QueryRequest(
      Gzip("Action=PutMetricData&Version=2010-08-01&Namespace=q&MetricData.member.1.MetricName=m"));
  query.headers.Add("Content-Encoding", "gzip");
  r = Send(query);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(seen_["Namespace"], "q");

  auto bad = CborRequest(kPrefix, "PutMetricData", "not gzip at all");
  bad.headers.Add("Content-Encoding", "gzip");
  r = Send(bad);
  EXPECT_EQ(r.status, 400);
  auto doc = DecodeCbor(r.body);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["__type"], "com.amazonaws.cloudwatch#SerializationException");
}

}  // namespace
}  // namespace gantry::aws
