// S3 handlers through the real request chain (aws::Dispatcher with SigV4/SigV2 verification and the
// restXml codec), with a SQLite store in a temporary directory and a fake clock.
#include "services/s3/s3_service.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/aws/dispatcher.h"
#include "core/aws/sigv2.h"
#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"

namespace gantry::services::s3 {
namespace {

constexpr char kAccount[] = "000000000000";

class OneKey final : public aws::CredentialResolver {
 public:
  std::optional<aws::Credential> Lookup(std::string_view id) const override {
    if (id != key.access_key_id) return std::nullopt;
    return key;
  }
  aws::Credential key{"AKIAS3TESTKEY0000001", "s3-test-secret", "", std::nullopt,
                      std::string("arn:aws:iam::") + kAccount + ":root", kAccount, kAccount};
};

std::string FileRange(const http::Response& r) {
  std::ifstream in(r.body_file, std::ios::binary);
  std::string all(std::istreambuf_iterator<char>(in), {});
  uint64_t length = r.file_length == 0 ? all.size() - r.file_offset : r.file_length;
  return all.substr(r.file_offset, length);
}

class S3ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    store::SqliteStoreOptions options;
    options.clock = &clock_;
    auto store = store::OpenSqliteStore(dir_.File("gantry.db"), options);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    service_ = std::make_unique<S3Service>(store_.get(), dir_.path(), &clock_, &ids_);
    service_->RegisterHandlers(handlers_);
    ASSERT_TRUE(service_->Start().ok());
    aws::DispatcherOptions d;
    d.account_id = kAccount;
    d.clock = &clock_;
    dispatcher_ = std::make_unique<aws::Dispatcher>(d, &keys_, &handlers_, nullptr);
  }

  void TearDown() override { service_->Stop(); }

  http::Response Send(std::string method, std::string target, std::string body = {},
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      std::string host = "localhost:4566") {
    http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    http::SplitTarget(r.target, r.path, r.query);
    r.headers.Add("Host", host);
    for (auto& [k, v] : headers) r.headers.Add(k, v);
    r.body = std::move(body);
    r.body_size = r.body.size();
    r.request_id = "req-1";
    aws::SignRequest(r, keys_.key, "us-east-1", "s3", clock_.Now());
    http::Response response;
    dispatcher_->Handle(r, response);
    return response;
  }

  store::testing::ScratchDirectory dir_;
  FakeClock clock_{FromEpochSeconds(1764000000)};
  SequentialIdSource ids_;
  OneKey keys_;
  std::unique_ptr<store::Store> store_;
  aws::HandlerTable handlers_;
  std::unique_ptr<S3Service> service_;
  std::unique_ptr<aws::Dispatcher> dispatcher_;
};

TEST_F(S3ServiceTest, PutGetRangesAndPreconditions) {
  ASSERT_EQ(Send("PUT", "/site").status, 200);
  auto put = Send("PUT", "/site/dir/page.html", "0123456789",
                  {{"Content-Type", "text/html"}, {"x-amz-meta-Owner", "team-a"}, {"x-amz-tagging", "a=1&b=2"}});
  ASSERT_EQ(put.status, 200) << put.body;
  std::string etag = "\"" + HexEncode(Md5("0123456789")) + "\"";
  EXPECT_EQ(put.headers.Get("ETag"), etag);

  auto get = Send("GET", "/site/dir/page.html");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(FileRange(get), "0123456789");
  EXPECT_EQ(get.headers.Get("Content-Type"), "text/html");
  EXPECT_EQ(get.headers.Get("x-amz-meta-owner"), "team-a");
  EXPECT_EQ(get.headers.Get("x-amz-tagging-count"), "2");
  EXPECT_EQ(get.headers.Get("Last-Modified"), FormatRfc1123(clock_.Now()));

  auto range = Send("GET", "/site/dir/page.html", {}, {{"Range", "bytes=2-4"}});
  EXPECT_EQ(range.status, 206);
  EXPECT_EQ(range.headers.Get("Content-Range"), "bytes 2-4/10");
  EXPECT_EQ(FileRange(range), "234");

  auto bad_range = Send("GET", "/site/dir/page.html", {}, {{"Range", "bytes=20-30"}});
  EXPECT_EQ(bad_range.status, 416);
  EXPECT_NE(bad_range.body.find("<Code>InvalidRange</Code>"), std::string::npos);
  EXPECT_NE(bad_range.body.find("<ActualObjectSize>10</ActualObjectSize>"), std::string::npos);

  auto not_modified = Send("GET", "/site/dir/page.html", {}, {{"If-None-Match", etag}});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.headers.Get("ETag"), etag);
  EXPECT_TRUE(not_modified.body_file.empty());

  auto failed = Send("GET", "/site/dir/page.html", {}, {{"If-Match", "\"nope\""}});
  EXPECT_EQ(failed.status, 412);
  EXPECT_NE(failed.body.find("<Code>PreconditionFailed</Code>"), std::string::npos);
  EXPECT_NE(failed.body.find("<Condition>If-Match</Condition>"), std::string::npos);

  auto head = Send("HEAD", "/site/dir/page.html");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.Get("Content-Length"), "10");
  EXPECT_TRUE(head.body_file.empty());

  auto missing = Send("GET", "/site/nope%20key");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("<Code>NoSuchKey</Code>"), std::string::npos);
  EXPECT_NE(missing.body.find("<Key>nope key</Key>"), std::string::npos);
  auto no_bucket = Send("GET", "/nobucket/k");
  EXPECT_NE(no_bucket.body.find("<BucketName>nobucket</BucketName>"), std::string::npos);
}

TEST_F(S3ServiceTest, DigestsAreVerified) {
  ASSERT_EQ(Send("PUT", "/sums").status, 200);
  auto good = Send("PUT", "/sums/a", "hello world",
                   {{"Content-MD5", Base64Encode(Md5("hello world"))}, {"x-amz-checksum-crc32", "DUoRhQ=="}});
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.headers.Get("x-amz-checksum-crc32"), "DUoRhQ==");
  auto bad_md5 = Send("PUT", "/sums/a", "hello world", {{"Content-MD5", Base64Encode(Md5("other"))}});
  EXPECT_EQ(bad_md5.status, 400);
  EXPECT_NE(bad_md5.body.find("<Code>BadDigest</Code>"), std::string::npos);
  auto bad_crc = Send("PUT", "/sums/a", "hello world", {{"x-amz-checksum-crc32", "AAAAAA=="}});
  EXPECT_NE(bad_crc.body.find("The CRC32 you specified did not match the calculated checksum."), std::string::npos)
      << bad_crc.body;
  auto malformed = Send("PUT", "/sums/a", "x", {{"Content-MD5", "short"}});
  EXPECT_NE(malformed.body.find("<Code>InvalidDigest</Code>"), std::string::npos);
  // A failed write leaves the previous object.
  auto get = Send("GET", "/sums/a", {}, {{"x-amz-checksum-mode", "ENABLED"}});
  EXPECT_EQ(FileRange(get), "hello world");
  EXPECT_EQ(get.headers.Get("x-amz-checksum-crc32"), "DUoRhQ==");
  EXPECT_EQ(get.headers.Get("x-amz-checksum-type"), "FULL_OBJECT");
}

TEST_F(S3ServiceTest, VirtualHostAndListingEncoding) {
  ASSERT_EQ(Send("PUT", "/", {}, {}, "vhost.s3.localhost.localstack.cloud:4566").status, 200);
  ASSERT_EQ(Send("PUT", "/a%20b/c%2Bd", "x", {}, "vhost.localhost:4566").status, 200);
  auto list = Send("GET", "/vhost?list-type=2&encoding-type=url&delimiter=%2F");
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("<Prefix>a%20b/</Prefix>"), std::string::npos) << list.body;
  auto list_plain = Send("GET", "/?list-type=2", {}, {}, "vhost.localhost");
  EXPECT_NE(list_plain.body.find("<Key>a b/c+d</Key>"), std::string::npos) << list_plain.body;
  auto location = Send("GET", "/vhost?location");
  EXPECT_NE(location.body.find("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"),
            std::string::npos)
      << location.body;
}

TEST_F(S3ServiceTest, SigV2PresignedUrlsReadAndWrite) {
  ASSERT_EQ(Send("PUT", "/presigned").status, 200);
  http::Request put;
  put.method = "PUT";
  put.target = "/presigned/up%20load.txt";
  http::SplitTarget(put.target, put.path, put.query);
  put.headers.Add("Host", "localhost:4566");
  aws::PresignSigV2(put, keys_.key, clock_.Now() + std::chrono::minutes(5));
  put.body = "via sigv2";
  put.body_size = put.body.size();
  http::Response put_response;
  dispatcher_->Handle(put, put_response);
  ASSERT_EQ(put_response.status, 200) << put_response.body;

  http::Request get;
  get.method = "GET";
  get.target = "/up%20load.txt";
  http::SplitTarget(get.target, get.path, get.query);
  get.headers.Add("Host", "presigned.localhost:4566");
  aws::PresignSigV2(get, keys_.key, clock_.Now() + std::chrono::minutes(5));
  http::Response get_response;
  dispatcher_->Handle(get, get_response);
  ASSERT_EQ(get_response.status, 200) << get_response.body;
  EXPECT_EQ(FileRange(get_response), "via sigv2");

  clock_.Advance(std::chrono::minutes(6));
  http::Response expired;
  dispatcher_->Handle(get, expired);
  EXPECT_EQ(expired.status, 403);
  EXPECT_NE(expired.body.find("<Code>AccessDenied</Code>"), std::string::npos) << expired.body;
}

TEST_F(S3ServiceTest, InProcessCallsCarryBodiesInTheDocument) {
  aws::Principal root = aws::Principal::Root(kAccount);
  ASSERT_TRUE(dispatcher_->Call(root, "s3", "CreateBucket", {{"Bucket", "artifacts"}}, "us-east-1").ok());
  std::string bytes = "zip bytes";
  aws::Document put = {{"Bucket", "artifacts"},
                       {"Key", "build/1.zip"},
                       {"Body", aws::Document::binary(std::vector<uint8_t>(bytes.begin(), bytes.end()))}};
  auto written = dispatcher_->Call(root, "s3", "PutObject", put, "us-east-1");
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto read = dispatcher_->Call(root, "s3", "GetObject", {{"Bucket", "artifacts"}, {"Key", "build/1.zip"}}, "");
  ASSERT_TRUE(read.ok());
  const auto& body = (*read)["Body"].get_binary();
  EXPECT_EQ(std::string(body.begin(), body.end()), bytes);
  EXPECT_EQ((*read)["ETag"], (*written)["ETag"]);
}

TEST_F(S3ServiceTest, BucketConfigurationAndErrors) {
  auto eu = Send("PUT", "/eu-bucket",
                 "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
                 "</CreateBucketConfiguration>");
  ASSERT_EQ(eu.status, 200) << eu.body;
  EXPECT_NE(Send("GET", "/eu-bucket?location").body.find(">eu-west-1</LocationConstraint>"), std::string::npos);
  auto invalid = Send("PUT", "/Bad_Name");
  EXPECT_NE(invalid.body.find("<Code>InvalidBucketName</Code>"), std::string::npos);
  auto versioning = Send("PUT", "/eu-bucket?versioning",
                         "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>");
  ASSERT_EQ(versioning.status, 200) << versioning.body;
  EXPECT_NE(Send("GET", "/eu-bucket?versioning").body.find("<Status>Enabled</Status>"), std::string::npos);
  auto put = Send("PUT", "/eu-bucket/k", "v1");
  EXPECT_FALSE(put.headers.Get("x-amz-version-id").empty());
  auto no_tags = Send("GET", "/eu-bucket?tagging");
  EXPECT_EQ(no_tags.status, 404);
  EXPECT_NE(no_tags.body.find("<Code>NoSuchTagSet</Code>"), std::string::npos);
  auto policy = Send("PUT", "/eu-bucket?policy", "not json");
  EXPECT_NE(policy.body.find("<Code>MalformedPolicy</Code>"), std::string::npos);
  auto not_empty = Send("DELETE", "/eu-bucket");
  EXPECT_EQ(not_empty.status, 409);
  EXPECT_NE(not_empty.body.find("<BucketName>eu-bucket</BucketName>"), std::string::npos);
}

}  // namespace
}  // namespace gantry::services::s3
