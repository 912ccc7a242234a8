#include "services/cloudtrail/cloudtrail_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <thread>

#include "core/aws/dispatcher.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"

namespace gantry::services::cloudtrail {
namespace {

using namespace std::chrono_literals;

constexpr char kAccount[] = "000000000000";
constexpr char kRegion[] = "us-east-1";
constexpr char kScope[] = "000000000000/us-east-1";
constexpr char kSecret[] = "PLAINTEXT-trail-canary-93ab";

// Denies every call of a principal whose ARN contains "/denied".
class DenyNamed final : public aws::Authorizer {
 public:
  Status Authorize(const aws::RequestContext& ctx, const Document&) override {
    if (ctx.principal.arn.find("/denied") == std::string::npos) return Status::Ok();
    return Status::PermissionDenied("User: " + ctx.principal.arn + " is not authorized to perform: " +
                                        ctx.model->signing_name() + ":" + ctx.operation->name,
                                    "AccessDeniedException");
  }
};

class CloudTrailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    store::SqliteStoreOptions options;
    options.clock = &clock_;
    auto opened = store::OpenSqliteStore(dir_.File("gantry.db"), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    aws::DispatcherOptions dispatcher_options;
    dispatcher_options.accept_any_credentials = true;
    dispatcher_options.clock = &clock_;
    dispatcher_ = std::make_unique<aws::Dispatcher>(dispatcher_options, nullptr, &handlers_, &deny_);
    service_ = std::make_unique<CloudTrailService>(store_.get(), &clock_, &ids_);
    service_->RegisterHandlers(handlers_);
    dispatcher_->AddObserver(service_->observer());
    auto ok = [](aws::RequestContext&, const Document&) { return StatusOr<Document>(Document::object()); };
    for (const char* op : {"CreateSecret", "GetSecretValue", "PutSecretValue", "ListSecrets"}) {
      handlers_.Add("secretsmanager", op, ok);
    }
    handlers_.Add("secretsmanager", "DescribeSecret", [](aws::RequestContext&, const Document&) -> StatusOr<Document> {
      return Status::NotFound("Secrets Manager can't find the specified secret.", "ResourceNotFoundException");
    });
    for (const char* op : {"PutParameter", "GetParameter"}) handlers_.Add("ssm", op, ok);
    for (const char* op : {"CreateBucket", "GetObject", "PutObject", "ListBuckets"}) handlers_.Add("s3", op, ok);
  }

  void TearDown() override {
    service_.reset();
    dispatcher_.reset();
    store_.reset();
  }

  StatusOr<Document> Call(const std::string& service, const std::string& operation, const Document& input,
                          const aws::Principal& principal = aws::Principal::Root(kAccount)) {
    return dispatcher_->Call(principal, service, operation, input, kRegion);
  }

  Document Lookup(const Document& input) {
    auto result = Call("cloudtrail", "LookupEvents", input);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? (*result)["Events"] : Document::array();
  }

  Document LookupOne(const std::string& key, const std::string& value) {
    return Lookup({{"LookupAttributes", {{{"AttributeKey", key}, {"AttributeValue", value}}}}});
  }

  std::vector<std::string> EventNames(const Document& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e["EventName"]);
    return out;
  }

  // Events stored (records hold several).
  int64_t StoredEvents() {
    auto page = store_->List(kEventTable, kScope);
    int64_t n = 0;
    if (page.ok()) {
      for (const auto& record : page->records) {
        std::string lines = record.doc.value("events", std::string());
        n += lines.empty() ? 0 : 1 + std::count(lines.begin(), lines.end(), '\n');
      }
    }
    return n;
  }

  static aws::Principal User(const std::string& name) {
    aws::Principal p;
    p.account_id = kAccount;
    p.arn = "arn:aws:iam::000000000000:user/" + name;
    p.user_id = "AIDAEXAMPLE" + name;
    p.access_key_id = "AKIAEXAMPLE" + name;
    return p;
  }

  store::testing::ScratchDirectory dir_;
  FakeClock clock_;
  SequentialIdSource ids_;
  DenyNamed deny_;
  std::unique_ptr<store::Store> store_;
  aws::HandlerTable handlers_;
  std::unique_ptr<aws::Dispatcher> dispatcher_;
  std::unique_ptr<CloudTrailService> service_;
};

TEST_F(CloudTrailTest, RecordsManagementEventsWithRedactedParameters) {
  ASSERT_TRUE(Call("secretsmanager", "CreateSecret", {{"Name", "db"}, {"SecretString", kSecret},
                                                      {"Description", "the db"}}).ok());
  ASSERT_TRUE(Call("secretsmanager", "PutSecretValue",
                   {{"SecretId", "db"}, {"SecretBinary", Document::binary({'P', 'L', 'A', 'I', 'N'})}}).ok());
  ASSERT_TRUE(Call("ssm", "PutParameter", {{"Name", "/p"}, {"Value", kSecret}, {"Type", "SecureString"}}).ok());
  Document events = Lookup(Document::object());
  ASSERT_EQ(EventNames(events), (std::vector<std::string>{"PutParameter", "PutSecretValue", "CreateSecret"}));
  for (const auto& e : events) {
    std::string record = e["CloudTrailEvent"];
    EXPECT_EQ(record.find(kSecret), std::string::npos) << record;
    EXPECT_EQ(record.find("PLAIN"), std::string::npos) << record;
  }
  Document create = Document::parse(events[2]["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(create["requestParameters"],
            (Document{{"name", "db"}, {"secretString", "HIDDEN_DUE_TO_SECURITY_REASONS"}, {"description", "the db"}}));
  EXPECT_EQ(create["eventSource"], "secretsmanager.amazonaws.com");
  EXPECT_EQ(create["eventType"], "AwsApiCall");
  EXPECT_EQ(create["readOnly"], false);
  EXPECT_EQ(create["managementEvent"], true);
  EXPECT_EQ(create["recipientAccountId"], kAccount);
  EXPECT_EQ(create["awsRegion"], kRegion);
  EXPECT_EQ(create["eventTime"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(create["userIdentity"]["type"], "Root");
  EXPECT_EQ(create["userIdentity"]["arn"], "arn:aws:iam::000000000000:root");
  EXPECT_EQ(create["sourceIPAddress"], "AWS Internal");
  EXPECT_EQ(events[2]["Username"], "root");
  EXPECT_EQ(events[2]["EventTime"], 1700000000);
  EXPECT_EQ(events[2]["Resources"], (Document{{{"ResourceType", "AWS::SecretsManager::Secret"}, {"ResourceName", "db"}}}));
  Document parameter = Document::parse(events[0]["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(parameter["requestParameters"]["value"], "HIDDEN_DUE_TO_SECURITY_REASONS");
  EXPECT_EQ(parameter["eventSource"], "ssm.amazonaws.com");
}

TEST_F(CloudTrailTest, FailedDeniedAndInvalidCallsAreRecordedWithoutSecrets) {
  EXPECT_FALSE(Call("secretsmanager", "DescribeSecret", {{"SecretId", "nope"}}).ok());
  EXPECT_FALSE(Call("secretsmanager", "GetSecretValue", {{"SecretId", "db"}}, User("denied")).ok());
  // A value beyond the model's length limit: the validation message must not quote it.
  std::string huge = std::string(kSecret) + std::string(70000, 'x');
  auto invalid = Call("secretsmanager", "CreateSecret", {{"Name", "big"}, {"SecretString", huge}});
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().message().find(kSecret), std::string::npos);

  Document events = Lookup(Document::object());
  ASSERT_EQ(events.size(), 3u);
  Document validation = Document::parse(events[0]["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(validation["errorCode"], "ValidationException");
  EXPECT_EQ(events[0]["CloudTrailEvent"].get<std::string>().find(kSecret), std::string::npos);
  Document denied = Document::parse(events[1]["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(denied["errorCode"], "AccessDeniedException");
  EXPECT_EQ(denied["userIdentity"]["type"], "IAMUser");
  EXPECT_EQ(denied["userIdentity"]["userName"], "denied");
  EXPECT_EQ(denied["userIdentity"]["accessKeyId"], "AKIAEXAMPLEdenied");
  EXPECT_EQ(events[1]["Username"], "denied");
  EXPECT_EQ(events[1]["AccessKeyId"], "AKIAEXAMPLEdenied");
  Document missing = Document::parse(events[2]["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(missing["errorCode"], "ResourceNotFoundException");
  EXPECT_EQ(missing["errorMessage"], "Secrets Manager can't find the specified secret.");
  EXPECT_EQ(missing["readOnly"], true);
}

TEST_F(CloudTrailTest, S3ObjectOperationsAreDataEventsAndNotRecorded) {
  ASSERT_TRUE(Call("s3", "CreateBucket", {{"Bucket", "b"}}).ok());
  ASSERT_TRUE(Call("s3", "PutObject", {{"Bucket", "b"}, {"Key", "k"}}).ok());
  ASSERT_TRUE(Call("s3", "GetObject", {{"Bucket", "b"}, {"Key", "k"}}).ok());
  ASSERT_TRUE(Call("s3", "ListBuckets", Document::object()).ok());
  Document events = Lookup(Document::object());
  EXPECT_EQ(EventNames(events), (std::vector<std::string>{"ListBuckets", "CreateBucket"}));
  EXPECT_EQ(events[1]["EventSource"], "s3.amazonaws.com");
  EXPECT_EQ(events[1]["Resources"][0]["ResourceType"], "AWS::S3::Bucket");
}

TEST_F(CloudTrailTest, LookupAttributesTimeRangeAndPages) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Call("ssm", "PutParameter", {{"Name", "/p" + std::to_string(i)}, {"Value", "v"}, {"Type", "String"}},
                     User(i % 2 ? "alice" : "bob")).ok());
    clock_.Advance(10s);
    ASSERT_TRUE(Call("ssm", "GetParameter", {{"Name", "/p" + std::to_string(i)}}).ok());
    clock_.Advance(10s);
  }
  EXPECT_EQ(LookupOne("EventName", "PutParameter").size(), 5u);
  // Lookups are read-only events too.
  EXPECT_EQ(EventNames(LookupOne("ReadOnly", "true")),
            (std::vector<std::string>{"LookupEvents", "GetParameter", "GetParameter", "GetParameter", "GetParameter",
                                      "GetParameter"}));
  Document writes = LookupOne("ReadOnly", "false");
  ASSERT_EQ(writes.size(), 5u);
  EXPECT_EQ(writes[0]["EventTime"], 1700000080);  // newest first
  EXPECT_EQ(LookupOne("Username", "alice").size(), 2u);
  EXPECT_EQ(LookupOne("AccessKeyId", "AKIAEXAMPLEbob").size(), 3u);
  EXPECT_EQ(LookupOne("ResourceName", "/p3").size(), 2u);
  EXPECT_EQ(LookupOne("ResourceType", "AWS::SSM::Parameter").size(), 10u);
  EXPECT_EQ(LookupOne("EventSource", "ssm.amazonaws.com").size(), 10u);
  std::string id = writes[1]["EventId"];
  Document by_id = LookupOne("EventId", id);
  ASSERT_EQ(by_id.size(), 1u);
  EXPECT_EQ(by_id[0]["EventId"], id);

  Document range = Lookup({{"StartTime", 1700000020}, {"EndTime", 1700000050}});
  EXPECT_EQ(EventNames(range),
            (std::vector<std::string>{"GetParameter", "PutParameter", "GetParameter", "PutParameter"}));
  EXPECT_EQ(range[0]["EventTime"], 1700000050);
  EXPECT_EQ(range[3]["EventTime"], 1700000020);

  std::vector<std::string> ids;
  Document input = {{"MaxResults", 3}};
  for (int page = 0; page < 10; ++page) {
    auto result = Call("cloudtrail", "LookupEvents", input);
    ASSERT_TRUE(result.ok());
    for (const auto& e : (*result)["Events"]) ids.push_back(e["EventId"]);
    if (!result->contains("NextToken")) break;
    input["NextToken"] = (*result)["NextToken"];
  }
  // The ten calls and the lookups made so far, each once.
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  EXPECT_GE(ids.size(), 10u);

  auto two = Call("cloudtrail", "LookupEvents",
                  {{"LookupAttributes", {{{"AttributeKey", "EventName"}, {"AttributeValue", "a"}},
                                         {{"AttributeKey", "Username"}, {"AttributeValue", "b"}}}}});
  EXPECT_EQ(two.status().aws_code(), "InvalidLookupAttributesException");
  auto bad_range = Call("cloudtrail", "LookupEvents", {{"StartTime", 1700000050}, {"EndTime", 1700000020}});
  EXPECT_EQ(bad_range.status().aws_code(), "InvalidTimeRangeException");
  auto bad_token = Call("cloudtrail", "LookupEvents", {{"NextToken", "nope"}});
  EXPECT_EQ(bad_token.status().aws_code(), "InvalidNextTokenException");
  auto bad_bool = Call("cloudtrail", "LookupEvents",
                       {{"LookupAttributes", {{{"AttributeKey", "ReadOnly"}, {"AttributeValue", "yes"}}}}});
  EXPECT_EQ(bad_bool.status().aws_code(), "InvalidLookupAttributesException");
}

TEST_F(CloudTrailTest, IdentitiesOfRolesAndServices) {
  aws::Principal role;
  role.account_id = kAccount;
  role.arn = "arn:aws:sts::000000000000:assumed-role/deployer/session-1";
  role.user_id = "AROAEXAMPLE:session-1";
  role.access_key_id = "ASIAEXAMPLE";
  role.service = "codepipeline.amazonaws.com";
  ASSERT_TRUE(Call("ssm", "GetParameter", {{"Name", "/x"}}, role).ok());
  aws::Principal events;
  events.account_id = kAccount;
  events.arn = "events.amazonaws.com";
  events.user_id = "events.amazonaws.com";
  events.service = "events.amazonaws.com";
  ASSERT_TRUE(Call("ssm", "GetParameter", {{"Name", "/y"}}, events).ok());
  aws::Principal bookkeeping = aws::Principal::Root(kAccount);
  bookkeeping.service = "iam.amazonaws.com";
  bookkeeping.internal = true;
  ASSERT_TRUE(Call("ssm", "GetParameter", {{"Name", "/z"}}, bookkeeping).ok());

  Document found = Lookup(Document::object());
  ASSERT_EQ(found.size(), 2u) << "Gantry's own lookups are not audited: " << found.dump();
  Document by_service = Document::parse(found[0]["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(by_service["userIdentity"], (Document{{"type", "AWSService"}, {"invokedBy", "events.amazonaws.com"}}));
  EXPECT_EQ(by_service["sourceIPAddress"], "events.amazonaws.com");
  EXPECT_FALSE(found[0].contains("Username"));
  Document by_role = Document::parse(found[1]["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(by_role["userIdentity"]["type"], "AssumedRole");
  EXPECT_EQ(by_role["userIdentity"]["invokedBy"], "codepipeline.amazonaws.com");
  EXPECT_EQ(by_role["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"], "arn:aws:iam::000000000000:role/deployer");
  EXPECT_EQ(by_role["userIdentity"]["sessionContext"]["sessionIssuer"]["principalId"], "AROAEXAMPLE");
  EXPECT_EQ(by_role["sourceIPAddress"], "codepipeline.amazonaws.com");
  EXPECT_EQ(found[1]["Username"], "session-1");
}

TEST_F(CloudTrailTest, HttpRequestsCarrySourceAddressAndUserAgent) {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/";
  r.request_id = "req-http-1";
  r.remote_address = "127.0.0.1";
  r.headers.Add("Host", "localhost:4566");
  r.headers.Add("Content-Type", "application/x-amz-json-1.1");
  r.headers.Add("X-Amz-Target", "secretsmanager.GetSecretValue");
  r.headers.Add("User-Agent", "aws-cli/2.9.19 Python/3.11");
  r.body = R"({"SecretId":"db"})";
  r.body_size = r.body.size();
  http::Response response;
  dispatcher_->Handle(r, response);
  ASSERT_EQ(response.status, 200) << response.body;
  Document events = Lookup(Document::object());
  ASSERT_EQ(events.size(), 1u);
  Document record = Document::parse(events[0]["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(record["sourceIPAddress"], "127.0.0.1");
  EXPECT_EQ(record["userAgent"], "aws-cli/2.9.19 Python/3.11");
  EXPECT_EQ(record["requestID"], "req-http-1");
  EXPECT_EQ(record["requestParameters"], (Document{{"secretId", "db"}}));
}

TEST_F(CloudTrailTest, WriterThreadStoresBatchesAndRetentionSweeps) {
  service_->Start();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Call("ssm", "GetParameter", {{"Name", "/x"}}).ok());
  for (int i = 0; i < 100 && StoredEvents() < 20; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(StoredEvents(), 20);
  clock_.Advance(24h * 60);
  ASSERT_TRUE(Call("ssm", "GetParameter", {{"Name", "/x"}}).ok());
  service_->Stop();  // flushes
  EXPECT_EQ(StoredEvents(), 21);

  clock_.Advance(24h * 31);  // the first twenty are now 91 days old
  EXPECT_EQ(*service_->recorder().SweepRetention(clock_.Now()), 20);
  EXPECT_EQ(StoredEvents(), 1);
  EXPECT_EQ(service_->recorder().waits(), 0u);
}

TEST_F(CloudTrailTest, LateEventsMergeNewestFirstAcrossRecords) {
  // Events are timed by when their request started; a slow request lands in a later record.
  aws::RequestContext ctx;
  ctx.model = aws::ModelRegistry::Instance().Get("ssm");
  ctx.operation = ctx.model->FindOperation("GetParameter");
  ctx.principal = aws::Principal::Root(kAccount);
  ctx.account_id = kAccount;
  ctx.region = kRegion;
  auto at = [&](int seconds, const std::string& name) {
    ctx.time = FromEpochSeconds(1700000000 + seconds);
    ctx.request_id = name;
    service_->recorder().OnRequestComplete(ctx, {{"Name", name}}, Status::Ok());
  };
  at(0, "/t0");
  at(5, "/t5");
  at(1, "/t1");  // more than a record's span older than /t5: its own record
  ASSERT_TRUE(service_->recorder().Flush().ok());
  at(3, "/t3");  // a late event inside the previous records' range
  at(7, "/t7");
  ASSERT_TRUE(service_->recorder().Flush().ok());
  auto names = [&](const Document& input) {
    std::vector<std::string> out;
    for (const auto& e : Lookup(input)) {
      if (e["EventName"] == "GetParameter") out.push_back(e["Resources"][0]["ResourceName"]);
    }
    return out;
  };
  EXPECT_EQ(names(Document::object()), (std::vector<std::string>{"/t7", "/t5", "/t3", "/t1", "/t0"}));
  EXPECT_EQ(names({{"EndTime", 1700000004}}), (std::vector<std::string>{"/t3", "/t1", "/t0"}));
  EXPECT_EQ(names({{"StartTime", 1700000001}, {"EndTime", 1700000005}}),
            (std::vector<std::string>{"/t5", "/t3", "/t1"}));
  std::vector<std::string> paged;
  Document input = {{"MaxResults", 1}, {"LookupAttributes", {{{"AttributeKey", "EventName"},
                                                             {"AttributeValue", "GetParameter"}}}}};
  for (int i = 0; i < 10; ++i) {
    auto result = Call("cloudtrail", "LookupEvents", input);
    ASSERT_TRUE(result.ok());
    for (const auto& e : (*result)["Events"]) paged.push_back(e["Resources"][0]["ResourceName"]);
    if (!result->contains("NextToken")) break;
    input["NextToken"] = (*result)["NextToken"];
  }
  EXPECT_EQ(paged, (std::vector<std::string>{"/t7", "/t5", "/t3", "/t1", "/t0"}));
}

TEST(TrailEventTest, ReadOnlyVerbsAndKeys) {
  EXPECT_TRUE(IsReadOnly("secretsmanager", "GetSecretValue"));
  EXPECT_TRUE(IsReadOnly("ssm", "DescribeParameters"));
  EXPECT_TRUE(IsReadOnly("cloudtrail", "LookupEvents"));
  EXPECT_TRUE(IsReadOnly("s3", "HeadBucket"));
  EXPECT_FALSE(IsReadOnly("secretsmanager", "PutSecretValue"));
  EXPECT_FALSE(IsReadOnly("ssm", "GetawayParameter"));
  EXPECT_TRUE(IsDataEvent("s3", "UploadPart"));
  EXPECT_FALSE(IsDataEvent("s3", "CreateBucket"));
  EXPECT_LT(EventKey(2000, 5), EventKey(1000, 0));  // newer first
  EXPECT_LT(EventKey(1000, 6), EventKey(1000, 5));
  EXPECT_EQ(MillisOfKey(EventKey(1700000000123, 1)), 1700000000123);
  EXPECT_EQ(MillisOfKey("junk"), -1);
}

}  // namespace
}  // namespace gantry::services::cloudtrail

namespace gantry::services::cloudtrail {
namespace {

TEST(TrailEventTest, LinesRoundTripAwkwardText) {
  aws::RequestContext ctx;
  ctx.model = aws::ModelRegistry::Instance().Get("secretsmanager");
  ctx.operation = ctx.model->FindOperation("DescribeSecret");
  ctx.principal = aws::Principal::Root("000000000000");
  ctx.account_id = "000000000000";
  ctx.region = "eu-west-1";
  ctx.request_id = "r\tq\\1";
  ctx.time = TimePoint(std::chrono::milliseconds(1700000000123));
  http::Request r;
  r.headers.Add("User-Agent", std::string("agent\n\twith \\ and bad \xff bytes"));
  ctx.http = &r;
  ctx.source_ip = "127.0.0.1";
  Status failed = Status::NotFound("line one\nline\ttwo", "ResourceNotFoundException");
  CapturedEvent event = Capture(ctx, {{"SecretId", "a\tb\nc"}}, failed, 42, "id-1");
  EXPECT_EQ(event.Scope(), "000000000000/eu-west-1");
  EXPECT_EQ(event.Encoded().find('\n'), std::string_view::npos);
  Document decoded = DecodeEvent(event.Encoded());
  ASSERT_FALSE(decoded.is_null());
  EXPECT_EQ(decoded["t"], 1700000000123);
  EXPECT_EQ(decoded["seq"], 42);
  EXPECT_EQ(decoded["req"], "r\tq\\1");
  EXPECT_EQ(decoded["ua"], "agent\n\twith \\ and bad ? bytes");
  EXPECT_EQ(decoded["msg"], "line one\nline\ttwo");
  EXPECT_EQ(decoded["params"], (Document{{"secretId", "a\tb\nc"}}));
  EXPECT_EQ(decoded["res"][0]["ResourceName"], "a\tb\nc");
  EXPECT_EQ(decoded["ro"], true);
  Document entry = LookupEntry(decoded);
  Document record = Document::parse(entry["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(record["eventTime"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(record["errorMessage"], "line one\nline\ttwo");
  EXPECT_EQ(record["awsRegion"], "eu-west-1");
  EXPECT_TRUE(DecodeEvent("too\tfew").is_null());
}

}  // namespace
}  // namespace gantry::services::cloudtrail
