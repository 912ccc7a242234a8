#include "core/aws/sigv4.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::aws {
namespace {

// The AWS SigV4 test suite credentials (awslabs/aws-c-auth tests/aws-signing-test-suite/v4).
constexpr char kSuiteKey[] = "AKIDEXAMPLE";
constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
// The S3 documentation's example credentials.
constexpr char kS3DocKey[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kS3DocSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

class MapResolver : public CredentialResolver {
 public:
  void Add(Credential c) { creds_[c.access_key_id] = std::move(c); }
  std::optional<Credential> Lookup(std::string_view id) const override {
    auto it = creds_.find(std::string(id));
    if (it == creds_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Credential> creds_;
};

Credential MakeCredential(std::string id, std::string secret, std::string token = {}) {
  Credential c;
  c.access_key_id = std::move(id);
  c.secret_access_key = std::move(secret);
  c.session_token = std::move(token);
  c.account_id = "000000000000";
  c.principal_arn = "arn:aws:iam::000000000000:root";
  return c;
}

TimePoint At(std::string_view amz_date) { return *ParseAmzDate(amz_date); }

// Parses a request in the test suite's text form: request line, "Name:value" header lines (a line
// starting with whitespace is one more value of the previous header), an empty line, the body.
http::Request ParseRequestText(std::string_view text) {
  http::Request r;
  size_t eol = text.find('\n');
  std::string_view line = text.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  http::SplitTarget(r.target, r.path, r.query);
  size_t pos = eol + 1;
  std::vector<std::pair<std::string, std::string>> headers;
  while (pos < text.size()) {
    eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {  // the suite reads a continuation as another value
      headers.emplace_back(headers.back().first, std::string(Trim(line)));
      continue;
    }
    size_t colon = line.find(':');
    headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  for (auto& [k, v] : headers) r.headers.Add(k, v);
  if (pos < text.size()) r.body = std::string(text.substr(pos));
  r.body_size = r.body.size();
  return r;
}

std::variant<SignedRequestInfo, AuthFailure> Verify(const http::Request& r, const CredentialResolver& creds,
                                                    TimePoint now) {
  return VerifySigV4(r, creds, now);
}

std::string Describe(const std::variant<SignedRequestInfo, AuthFailure>& v) {
  if (std::holds_alternative<SignedRequestInfo>(v)) return "verified";
  const AuthFailure& f = std::get<AuthFailure>(v);
  return "failure kind " + std::to_string(static_cast<int>(f.kind)) + ": " + f.message + "\n" + f.canonical_request;
}

const AuthFailure* FailureOf(const std::variant<SignedRequestInfo, AuthFailure>& v) {
  return std::get_if<AuthFailure>(&v);
}

AuthFailureKind KindOf(const std::variant<SignedRequestInfo, AuthFailure>& v) {
  const AuthFailure* f = FailureOf(v);
  EXPECT_NE(f, nullptr) << "expected a failure";
  return f ? f->kind : AuthFailureKind::kMissingAuthentication;
}

// ---------------------------------------------------------------------------------------------------
// Key derivation and canonical pieces

TEST(SigV4Test, DeriveSigningKeyMatchesAwsExample) {
  // "Examples of how to derive a signing key for Signature Version 4" (IAM, 20120215).
  EXPECT_EQ(HexEncode(DeriveSigningKey(kSuiteSecret, "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4Test, CanonicalUriNonS3NormalizesAndDoubleEncodes) {
  EXPECT_EQ(CanonicalUri("", "service"), "/");
  EXPECT_EQ(CanonicalUri("/", "service"), "/");
  EXPECT_EQ(CanonicalUri("//example//", "service"), "/example/");
  EXPECT_EQ(CanonicalUri("/./example", "service"), "/example");
  EXPECT_EQ(CanonicalUri("/example1/example2/../..", "service"), "/");
  EXPECT_EQ(CanonicalUri("/a/../../b/", "service"), "/b/");
  EXPECT_EQ(CanonicalUri("/example space/", "service"), "/example%20space/");
  // The client already encoded the path; it is encoded again.
  EXPECT_EQ(CanonicalUri("/2015-03-31/functions/my%3Afn/invocations", "lambda"),
            "/2015-03-31/functions/my%253Afn/invocations");
}

TEST(SigV4Test, CanonicalUriS3EncodesOnceWithoutNormalizing) {
  EXPECT_EQ(CanonicalUri("", "s3"), "/");
  EXPECT_EQ(CanonicalUri("/", "s3"), "/");
  EXPECT_EQ(CanonicalUri("/test$file.text", "s3"), "/test%24file.text");
  EXPECT_EQ(CanonicalUri("/test%24file.text", "s3"), "/test%24file.text");
  EXPECT_EQ(CanonicalUri("/bucket/a%20b+c", "s3"), "/bucket/a%20b%2Bc");
  EXPECT_EQ(CanonicalUri("/bucket//x/./../y", "s3"), "/bucket//x/./../y");
  EXPECT_EQ(CanonicalUri("/bucket/a%2Fb", "s3"), "/bucket/a%2Fb");
  EXPECT_EQ(CanonicalUri("/bucket/%E4%BA%A4", "s3"), "/bucket/%E4%BA%A4");
}

TEST(SigV4Test, CanonicalQueryString) {
  EXPECT_EQ(CanonicalQueryString(""), "");
  EXPECT_EQ(CanonicalQueryString("Param2=value2&Param1=value1"), "Param1=value1&Param2=value2");
  EXPECT_EQ(CanonicalQueryString("lifecycle"), "lifecycle=");
  EXPECT_EQ(CanonicalQueryString("prefix=J&max-keys=2"), "max-keys=2&prefix=J");
  EXPECT_EQ(CanonicalQueryString("a=b%20c&a=a+b"), "a=a%2Bb&a=b%20c");  // '+' is a literal plus
  EXPECT_EQ(CanonicalQueryString("k=%7e%21"), "k=~%21");
  EXPECT_EQ(CanonicalQueryString("b=1&&a=2&"), "a=2&b=1");
  EXPECT_EQ(CanonicalQueryString("X-Amz-Signature=abc&X-Amz-Date=1", true), "X-Amz-Date=1");
  EXPECT_EQ(CanonicalQueryString("X-Amz-Signature=abc&X-Amz-Date=1", false), "X-Amz-Date=1&X-Amz-Signature=abc");
  // Sorted by encoded name: '%' sorts before letters.
  EXPECT_EQ(CanonicalQueryString("Param=Value2&%E1%88%B4=Value1"), "%E1%88%B4=Value1&Param=Value2");
  // A malformed escape is taken literally.
  EXPECT_EQ(CanonicalQueryString("a=%zz"), "a=%25zz");
}

TEST(SigV4Test, CanonicalHeaderValue) {
  EXPECT_EQ(CanonicalHeaderValue("  value1  "), "value1");
  EXPECT_EQ(CanonicalHeaderValue("\"a   b   c\""), "\"a b c\"");
  EXPECT_EQ(CanonicalHeaderValue("value1\n  value2\n     value3"), "value1 value2 value3");
  EXPECT_EQ(CanonicalHeaderValue("a\t\tb"), "a b");
  EXPECT_EQ(CanonicalHeaderValue(""), "");
}

// ---------------------------------------------------------------------------------------------------
// The AWS SigV4 test suite: header-signed requests, verified as a server would.

struct SuiteCase {
  const char* name;
  const char* request;
};

class SigV4SuiteTest : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SigV4SuiteTest, Verifies) {
  MapResolver creds;
  creds.Add(MakeCredential(kSuiteKey, kSuiteSecret, "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"));
  http::Request r = ParseRequestText(GetParam().request);
  // Only the session-token case sends the token; the others use a credential without one.
  if (!r.headers.Has("X-Amz-Security-Token")) {
    MapResolver plain;
    plain.Add(MakeCredential(kSuiteKey, kSuiteSecret));
    auto v = Verify(r, plain, At("20150830T123600Z"));
    ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
    const auto& info = std::get<SignedRequestInfo>(v);
    EXPECT_EQ(info.service, "service");
    EXPECT_EQ(info.region, "us-east-1");
    EXPECT_EQ(info.scope, "20150830/us-east-1/service/aws4_request");
    EXPECT_FALSE(info.presigned);
    return;
  }
  auto v = Verify(r, creds, At("20150830T123600Z"));
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
}

INSTANTIATE_TEST_SUITE_P(
    AwsSuite, SigV4SuiteTest,
    ::testing::Values(
        SuiteCase{"get_vanilla",
                  "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-"
                  "SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n"},
        SuiteCase{"get_vanilla_query_order_key_case",
                  "GET /?Param2=value2&Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\n"
                  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                  "SignedHeaders=host;x-amz-date, "
                  "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500\n\n"},
        SuiteCase{"get_vanilla_empty_query_key",
                  "GET /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_vanilla_query_unreserved",
                  "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~"
                  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\n"
                  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                  "SignedHeaders=host;x-amz-date, "
                  "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_vanilla_query_order_encoded",
                  "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1 HTTP/1.1\nHost:example.amazonaws.com\n"
                  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                  "SignedHeaders=host;x-amz-date, "
                  "Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_vanilla_utf8_query",
                  "GET /?\xe1\x88\xb4=bar HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_utf8",
                  "GET /\xe1\x88\xb4 HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_unreserved",
                  "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\n"
                  "Host:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_space_normalized",
                  "GET /example space/ HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_slashes_normalized",
                  "GET //example// HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_slash_dot_slash_normalized",
                  "GET /./ HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_slash_pointless_dot_normalized",
                  "GET /./example HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_relative_relative_normalized",
                  "GET /example1/example2/../.. HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_header_key_duplicate",
                  "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value2\nMy-Header1:value2\n"
                  "My-Header1:value1\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                  "SignedHeaders=host;my-header1;x-amz-date, "
                  "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_header_value_multiline",
                  "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\n  value2\n     value3\n"
                  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                  "SignedHeaders=host;my-header1;x-amz-date, "
                  "Signature=ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_header_value_trim",
                  "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1: value1\nMy-Header2: \"a   b   c\"\n"
                  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                  "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                  "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736\n"
                  "X-Amz-Date:20150830T123600Z\n\n"},
        SuiteCase{"get_vanilla_with_session_token",
                  "GET / HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                  "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                  "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8\n"
                  "X-Amz-Date:20150830T123600Z\n"
                  "X-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n"},
        SuiteCase{"post_x_www_form_urlencoded",
                  "POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\nHost:example.amazonaws.com\n"
                  "Content-Length:13\n"
                  "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
                  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                  "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, "
                  "Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b\n"
                  "X-Amz-Date:20150830T123600Z\n\nParam1=value1"}),
    [](const ::testing::TestParamInfo<SuiteCase>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------------
// The S3 documentation's examples (examplebucket, 20130524T000000Z).

class S3DocExamplesTest : public ::testing::Test {
 protected:
  S3DocExamplesTest() { creds_.Add(MakeCredential(kS3DocKey, kS3DocSecret)); }
  http::Request Request(std::string method, std::string target, std::string signed_headers, std::string signature) {
    http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    http::SplitTarget(r.target, r.path, r.query);
    r.headers.Add("Host", "examplebucket.s3.amazonaws.com");
    r.headers.Add("x-amz-date", "20130524T000000Z");
    r.headers.Add("Authorization",
                  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=" +
                      signed_headers + ",Signature=" + signature);
    return r;
  }
  MapResolver creds_;
  TimePoint now_ = At("20130524T000500Z");
};

TEST_F(S3DocExamplesTest, GetObjectWithRange) {
  http::Request r = Request("GET", "/test.txt", "host;range;x-amz-content-sha256;x-amz-date",
                            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  r.headers.Add("Range", "bytes=0-9");
  r.headers.Add("x-amz-content-sha256", std::string(kEmptySha256));
  auto v = Verify(r, creds_, now_);
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
  EXPECT_EQ(std::get<SignedRequestInfo>(v).content_sha256, kEmptySha256);
}

TEST_F(S3DocExamplesTest, PutObjectWithDateHeaderAndUnencodedDollar) {
  // The key "test$file.text" arrives with '$' unencoded; it is signed as %24.
  http::Request r = Request("PUT", "/test$file.text", "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  r.headers.Add("Date", "Fri, 24 May 2013 00:00:00 GMT");
  r.headers.Add("x-amz-storage-class", "REDUCED_REDUNDANCY");
  r.headers.Add("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  r.body = "Welcome to Amazon S3.";
  r.body_size = r.body.size();
  auto v = Verify(r, creds_, now_);
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);

  r.body = "Welcome to Amazon S4.";
  v = Verify(r, creds_, now_);
  ASSERT_NE(FailureOf(v), nullptr);
  EXPECT_EQ(FailureOf(v)->kind, AuthFailureKind::kContentSha256Mismatch);
  EXPECT_EQ(FailureOf(v)->message, "The provided 'x-amz-content-sha256' header does not match what was computed.");

  VerifyOptions no_check;
  no_check.check_payload_hash = false;
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(VerifySigV4(r, creds_, now_, no_check)));
}

TEST_F(S3DocExamplesTest, GetBucketLifecycle) {
  http::Request r = Request("GET", "/?lifecycle", "host;x-amz-content-sha256;x-amz-date",
                            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  r.headers.Add("x-amz-content-sha256", std::string(kEmptySha256));
  auto v = Verify(r, creds_, now_);
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
}

TEST_F(S3DocExamplesTest, ListObjects) {
  http::Request r = Request("GET", "/?max-keys=2&prefix=J", "host;x-amz-content-sha256;x-amz-date",
                            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  r.headers.Add("x-amz-content-sha256", std::string(kEmptySha256));
  auto v = Verify(r, creds_, now_);
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
}

TEST_F(S3DocExamplesTest, PresignedGetObject) {
  http::Request r;
  r.method = "GET";
  r.target =
      "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%"
      "2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
      "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  http::SplitTarget(r.target, r.path, r.query);
  r.headers.Add("Host", "examplebucket.s3.amazonaws.com");

  auto v = Verify(r, creds_, At("20130524T230000Z"));  // within the day, far past the 15 min skew
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
  const auto& info = std::get<SignedRequestInfo>(v);
  EXPECT_TRUE(info.presigned);
  EXPECT_EQ(info.content_sha256, kUnsignedPayload);

  v = Verify(r, creds_, At("20130525T000001Z"));
  ASSERT_NE(FailureOf(v), nullptr);
  EXPECT_EQ(FailureOf(v)->kind, AuthFailureKind::kRequestExpired);
  EXPECT_EQ(FailureOf(v)->message, "Request has expired");

  v = Verify(r, creds_, At("20130523T230000Z"));
  ASSERT_NE(FailureOf(v), nullptr);
  EXPECT_EQ(FailureOf(v)->kind, AuthFailureKind::kRequestExpired);

  auto scope = PeekCredentialScope(r);
  ASSERT_TRUE(scope.has_value());
  EXPECT_TRUE(scope->presigned);
  EXPECT_EQ(scope->service, "s3");
  EXPECT_EQ(scope->access_key_id, kS3DocKey);
}

TEST_F(S3DocExamplesTest, ChunkedUploadSeedSignatures) {
  http::Request r;
  r.method = "PUT";
  r.target = r.path = "/examplebucket/chunkObject.txt";
  r.headers.Add("Host", "s3.amazonaws.com");
  r.headers.Add("x-amz-date", "20130524T000000Z");
  r.headers.Add("x-amz-storage-class", "REDUCED_REDUNDANCY");
  r.headers.Add("x-amz-content-sha256", std::string(kStreamingSignedPayload));
  r.headers.Add("Content-Encoding", "aws-chunked");
  r.headers.Add("x-amz-decoded-content-length", "66560");
  r.headers.Add("Content-Length", "66824");
  r.headers.Add("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders="
                "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
                "x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  auto v = Verify(r, creds_, now_);
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
  EXPECT_EQ(std::get<SignedRequestInfo>(v).signature,
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  EXPECT_EQ(std::get<SignedRequestInfo>(v).content_sha256, kStreamingSignedPayload);
}

// ---------------------------------------------------------------------------------------------------
// Failures

class SigV4FailureTest : public ::testing::Test {
 protected:
  SigV4FailureTest() {
    creds_.Add(MakeCredential("AKIDGOOD", "secret-good"));
    Credential session = MakeCredential("ASIASESSION", "secret-session", "the-token");
    session.expiration = now_ + std::chrono::hours(1);
    creds_.Add(session);
  }
  http::Request Base(std::string service = "codebuild") {
    http::Request r;
    r.method = "POST";
    r.target = r.path = "/";
    r.headers.Add("Host", "localhost:4566");
    r.headers.Add("Content-Type", "application/x-amz-json-1.1");
    r.headers.Add("X-Amz-Target", "CodeBuild_20161006.ListProjects");
    r.body = "{}";
    r.body_size = 2;
    service_ = std::move(service);
    return r;
  }
  std::variant<SignedRequestInfo, AuthFailure> SignAndVerify(http::Request& r, const Credential& c,
                                                             TimePoint signed_at) {
    SignRequest(r, c, "us-east-1", service_, signed_at);
    return Verify(r, creds_, now_);
  }
  MapResolver creds_;
  TimePoint now_ = At("20240102T030405Z");
  std::string service_;
};

TEST_F(SigV4FailureTest, MissingAuthentication) {
  http::Request r = Base();
  auto v = Verify(r, creds_, now_);
  EXPECT_EQ(KindOf(v), AuthFailureKind::kMissingAuthentication);
  EXPECT_EQ(FailureOf(v)->message, "Missing Authentication Token");
  EXPECT_FALSE(PeekCredentialScope(r).has_value());
}

TEST_F(SigV4FailureTest, MalformedAuthorizationHeaders) {
  const char* bad[] = {
      "AWS AKIDGOOD:c2lnbmF0dXJl",  // SigV2
      "AWS4-HMAC-SHA256",
      "AWS4-HMAC-SHA256 Credential=AKIDGOOD/20240102/us-east-1/codebuild/aws4_request, SignedHeaders=host",
      "AWS4-HMAC-SHA256 Credential=AKIDGOOD/20240102/us-east-1/codebuild, SignedHeaders=host, Signature=00",
      "AWS4-HMAC-SHA256 Credential=AKIDGOOD/2024010/us-east-1/codebuild/aws4_request, SignedHeaders=host, Signature=0",
      "AWS4-HMAC-SHA256 Credential=/20240102/us-east-1/codebuild/aws4_request, SignedHeaders=host, Signature=0",
      "AWS4-HMAC-SHA256 Credential=AKIDGOOD/20240102//codebuild/aws4_request, SignedHeaders=host, Signature=0",
      "AWS4-HMAC-SHA256 Credential=AKIDGOOD/20240102/us-east-1/codebuild/aws4_request, SignedHeaders=host, "
      "Signature=0, Signature=1",
      "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=0",
  };
  for (const char* header : bad) {
    http::Request r = Base();
    r.headers.Add("X-Amz-Date", "20240102T030405Z");
    r.headers.Add("Authorization", header);
    auto v = Verify(r, creds_, now_);
    EXPECT_EQ(KindOf(v), AuthFailureKind::kIncompleteSignature) << header;
  }
  http::Request r = Base();
  r.headers.Add("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDGOOD/20240102/us-east-1/codebuild/aws4_request");
  auto v = Verify(r, creds_, now_);
  ASSERT_EQ(KindOf(v), AuthFailureKind::kIncompleteSignature);
  EXPECT_NE(FailureOf(v)->message.find("Authorization header requires 'Signature' parameter."), std::string::npos);
}

TEST_F(SigV4FailureTest, MissingDateAndScopeDateMismatch) {
  http::Request r = Base();
  SignRequest(r, creds_.Lookup("AKIDGOOD").value(), "us-east-1", "codebuild", now_);
  r.headers.Remove("X-Amz-Date");
  EXPECT_EQ(KindOf(Verify(r, creds_, now_)), AuthFailureKind::kIncompleteSignature);

  // Dates a TimePoint cannot hold are malformed, not an overflow.
  for (const char* date : {"99991231T235959Z", "18000101T000000Z", "2024010T030405Z"}) {
    r = Base();
    SignRequest(r, creds_.Lookup("AKIDGOOD").value(), "us-east-1", "codebuild", now_);
    r.headers.Set("X-Amz-Date", date);
    EXPECT_EQ(KindOf(Verify(r, creds_, now_)), AuthFailureKind::kIncompleteSignature) << date;
  }
  r = Base();
  SignRequest(r, creds_.Lookup("AKIDGOOD").value(), "us-east-1", "codebuild", now_);
  r.headers.Remove("X-Amz-Date");
  r.headers.Set("Date", "Fri, 24 May 9999 00:00:00 GMT");
  EXPECT_EQ(KindOf(Verify(r, creds_, now_)), AuthFailureKind::kIncompleteSignature);

  r = Base();
  SignRequest(r, creds_.Lookup("AKIDGOOD").value(), "us-east-1", "codebuild", now_);
  r.headers.Set("X-Amz-Date", "20240103T000000Z");
  EXPECT_EQ(KindOf(Verify(r, creds_, At("20240103T000000Z"))), AuthFailureKind::kIncompleteSignature);
}

TEST_F(SigV4FailureTest, BothMechanisms) {
  http::Request r = Base();
  SignRequest(r, creds_.Lookup("AKIDGOOD").value(), "us-east-1", "codebuild", now_);
  r.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256";
  EXPECT_EQ(KindOf(Verify(r, creds_, now_)), AuthFailureKind::kIncompleteSignature);
}

TEST_F(SigV4FailureTest, UnknownAccessKey) {
  http::Request r = Base();
  auto v = SignAndVerify(r, MakeCredential("AKIDNOBODY", "x"), now_);
  EXPECT_EQ(KindOf(v), AuthFailureKind::kUnknownAccessKey);
  EXPECT_EQ(FailureOf(v)->access_key_id, "AKIDNOBODY");
  EXPECT_EQ(FailureOf(v)->message, "The security token included in the request is invalid.");

  r = Base("s3");
  v = SignAndVerify(r, MakeCredential("AKIDNOBODY", "x"), now_);
  EXPECT_EQ(FailureOf(v)->message, "The AWS Access Key Id you provided does not exist in our records.");
}

TEST_F(SigV4FailureTest, SignatureMismatchCarriesCanonicalRequest) {
  http::Request r = Base();
  auto v = SignAndVerify(r, MakeCredential("AKIDGOOD", "wrong-secret"), now_);
  ASSERT_EQ(KindOf(v), AuthFailureKind::kSignatureMismatch);
  const AuthFailure& f = *FailureOf(v);
  EXPECT_EQ(f.canonical_request.substr(0, 9), "POST\n/\n\nc");
  EXPECT_NE(f.canonical_request.find("x-amz-target:CodeBuild_20161006.ListProjects\n"), std::string::npos);
  EXPECT_EQ(f.string_to_sign.substr(0, 34), "AWS4-HMAC-SHA256\n20240102T030405Z\n");
  EXPECT_EQ(f.string_to_sign.substr(34, 41), "20240102/us-east-1/codebuild/aws4_request");
  EXPECT_EQ(f.signature_provided.size(), 64u);
  EXPECT_EQ(f.message.rfind("The request signature we calculated does not match the signature you provided. Check "
                            "your AWS Secret Access Key and signing method. Consult the service documentation for "
                            "details.",
                            0),
            0u);
  EXPECT_NE(f.message.find("The Canonical String for this request should have been\n'POST\n/"), std::string::npos);

  r = Base("s3");
  v = SignAndVerify(r, MakeCredential("AKIDGOOD", "wrong-secret"), now_);
  ASSERT_EQ(KindOf(v), AuthFailureKind::kSignatureMismatch);
  EXPECT_EQ(FailureOf(v)->message,
            "The request signature we calculated does not match the signature you provided. Check your key and "
            "signing method.");
}

TEST_F(SigV4FailureTest, TamperingIsDetected) {
  const Credential good = creds_.Lookup("AKIDGOOD").value();
  auto tampered = [&](const std::function<void(http::Request&)>& change) {
    http::Request r = Base();
    r.query = "a=1";
    SignRequest(r, good, "us-east-1", "codebuild", now_);
    EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(Verify(r, creds_, now_)));
    change(r);
    return KindOf(Verify(r, creds_, now_));
  };
  EXPECT_EQ(tampered([](http::Request& r) { r.method = "PUT"; }), AuthFailureKind::kSignatureMismatch);
  EXPECT_EQ(tampered([](http::Request& r) { r.path = "/x"; }), AuthFailureKind::kSignatureMismatch);
  EXPECT_EQ(tampered([](http::Request& r) { r.query = "a=2"; }), AuthFailureKind::kSignatureMismatch);
  EXPECT_EQ(tampered([](http::Request& r) { r.query += "&b=1"; }), AuthFailureKind::kSignatureMismatch);
  EXPECT_EQ(tampered([](http::Request& r) { r.headers.Set("X-Amz-Target", "CodeBuild_20161006.DeleteProject"); }),
            AuthFailureKind::kSignatureMismatch);
  EXPECT_EQ(tampered([](http::Request& r) { r.body = "{\"x\":1}"; }), AuthFailureKind::kSignatureMismatch);
  EXPECT_EQ(tampered([](http::Request& r) { r.headers.Set("Host", "evil:4566"); }), AuthFailureKind::kSignatureMismatch);
}

TEST_F(SigV4FailureTest, HostMustBeSigned) {
  http::Request r = Base();
  std::string signature = std::string(64, 'a');
  r.headers.Add("X-Amz-Date", "20240102T030405Z");
  r.headers.Add("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDGOOD/20240102/us-east-1/codebuild/aws4_request, "
                "SignedHeaders=x-amz-date, Signature=" + signature);
  auto v = Verify(r, creds_, now_);
  ASSERT_EQ(KindOf(v), AuthFailureKind::kIncompleteSignature);
  EXPECT_EQ(FailureOf(v)->message, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_F(SigV4FailureTest, ClockSkew) {
  const Credential good = creds_.Lookup("AKIDGOOD").value();
  http::Request r = Base();
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(SignAndVerify(r, good, now_ - std::chrono::minutes(14))));
  r = Base();
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(SignAndVerify(r, good, now_ + std::chrono::minutes(14))));
  r = Base();
  auto v = SignAndVerify(r, good, now_ - std::chrono::minutes(16));
  ASSERT_EQ(KindOf(v), AuthFailureKind::kClockSkew);
  EXPECT_EQ(FailureOf(v)->message,
            "Signature expired: 20240102T024805Z is now earlier than 20240102T024905Z (20240102T030405Z - 15 min.)");
  r = Base();
  v = SignAndVerify(r, good, now_ + std::chrono::minutes(16));
  ASSERT_EQ(KindOf(v), AuthFailureKind::kClockSkew);
  EXPECT_EQ(FailureOf(v)->message.rfind("Signature not yet current: 20240102T032005Z", 0), 0u);
  r = Base("s3");
  v = SignAndVerify(r, good, now_ - std::chrono::hours(2));
  ASSERT_EQ(KindOf(v), AuthFailureKind::kClockSkew);
  EXPECT_EQ(FailureOf(v)->message, "The difference between the request time and the current time is too large.");
}

TEST_F(SigV4FailureTest, DateHeaderInsteadOfXAmzDate) {
  const Credential good = creds_.Lookup("AKIDGOOD").value();
  http::Request r = Base();
  r.headers.Add("Date", FormatRfc1123(now_));
  SignRequest(r, good, "us-east-1", "codebuild", now_);
  r.headers.Remove("X-Amz-Date");
  // X-Amz-Date was signed; with it gone the signature cannot match, but the date still parses.
  EXPECT_EQ(KindOf(Verify(r, creds_, now_)), AuthFailureKind::kSignatureMismatch);
  EXPECT_EQ(KindOf(Verify(r, creds_, now_ + std::chrono::hours(1))), AuthFailureKind::kClockSkew);
}

TEST_F(SigV4FailureTest, SessionTokens) {
  const Credential session = creds_.Lookup("ASIASESSION").value();
  http::Request r = Base();
  auto v = SignAndVerify(r, session, now_);
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
  EXPECT_EQ(std::get<SignedRequestInfo>(v).credential.session_token, "the-token");

  // Token missing.
  Credential no_token = session;
  no_token.session_token.clear();
  r = Base();
  EXPECT_EQ(KindOf(SignAndVerify(r, no_token, now_)), AuthFailureKind::kInvalidToken);
  // Wrong token.
  Credential wrong = session;
  wrong.session_token = "the-tokeN";
  r = Base();
  EXPECT_EQ(KindOf(SignAndVerify(r, wrong, now_)), AuthFailureKind::kInvalidToken);
  // A token sent with long-term keys.
  Credential extra = creds_.Lookup("AKIDGOOD").value();
  extra.session_token = "surprise";
  r = Base();
  EXPECT_EQ(KindOf(SignAndVerify(r, extra, now_)), AuthFailureKind::kInvalidToken);
  // Expired session.
  r = Base();
  SignRequest(r, session, "us-east-1", "codebuild", now_ + std::chrono::hours(2));
  v = Verify(r, creds_, now_ + std::chrono::hours(2));
  ASSERT_EQ(KindOf(v), AuthFailureKind::kExpiredToken);
  EXPECT_EQ(FailureOf(v)->message, "The security token included in the request is expired");
}

TEST_F(SigV4FailureTest, ContentSha256) {
  const Credential good = creds_.Lookup("AKIDGOOD").value();
  http::Request r = Base("s3");
  r.method = "PUT";
  r.target = r.path = "/bucket/key";
  r.body = "hello";
  r.body_size = 5;
  auto v = SignAndVerify(r, good, now_);
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
  EXPECT_EQ(std::get<SignedRequestInfo>(v).content_sha256, HexEncode(Sha256("hello")));
  EXPECT_EQ(r.headers.Get("X-Amz-Content-SHA256"), HexEncode(Sha256("hello")));

  // The body changed after signing: the header still matches the signature, not the body.
  r.body = "jello";
  v = Verify(r, creds_, now_);
  EXPECT_EQ(KindOf(v), AuthFailureKind::kContentSha256Mismatch);

  // Upper-case hex is accepted.
  r = Base("s3");
  r.body = "hello";
  r.headers.Set("X-Amz-Content-SHA256", ToLower(HexEncode(Sha256("hello"))));
  std::string upper = HexEncode(Sha256("hello"));
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  r.headers.Set("X-Amz-Content-SHA256", upper);
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(SignAndVerify(r, good, now_)));

  // Not a hash, not a literal.
  r = Base("s3");
  r.headers.Set("X-Amz-Content-SHA256", "STREAMING-SOMETHING");
  v = SignAndVerify(r, good, now_);
  EXPECT_EQ(KindOf(v), AuthFailureKind::kInvalidContentSha256);

  // UNSIGNED-PAYLOAD: any body.
  r = Base("s3");
  r.body = "anything";
  SignRequest(r, good, "us-east-1", "s3", now_, /*unsigned_payload=*/true);
  r.body = "anything else";
  v = Verify(r, creds_, now_);
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
  EXPECT_EQ(std::get<SignedRequestInfo>(v).content_sha256, kUnsignedPayload);
}

TEST_F(SigV4FailureTest, PresignedParameters) {
  const Credential good = creds_.Lookup("AKIDGOOD").value();
  auto presigned = [&](std::string_view service, std::chrono::seconds expires) {
    http::Request r = Base(std::string(service));
    r.method = "GET";
    r.body.clear();
    r.body_size = 0;
    r.headers = http::Headers();
    r.headers.Add("Host", "localhost:4566");
    PresignRequest(r, good, "us-east-1", service, now_, expires);
    return r;
  };
  http::Request r = presigned("s3", std::chrono::seconds(3600));
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(Verify(r, creds_, now_)));
  EXPECT_EQ(r.target, r.path + "?" + r.query);

  auto replace = [](std::string s, std::string_view from, std::string_view to) {
    size_t pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) s.replace(pos, from.size(), to);
    return s;
  };
  http::Request bad = r;
  bad.query = replace(r.query, "X-Amz-Expires=3600", "X-Amz-Expires=604801");
  auto v = Verify(bad, creds_, now_);
  ASSERT_EQ(KindOf(v), AuthFailureKind::kIncompleteSignature);
  EXPECT_EQ(FailureOf(v)->message, "X-Amz-Expires must be less than a week (in seconds) that is; 604800");
  bad.query = replace(r.query, "X-Amz-Expires=3600", "X-Amz-Expires=0");
  EXPECT_EQ(KindOf(Verify(bad, creds_, now_)), AuthFailureKind::kIncompleteSignature);
  bad.query = replace(r.query, "X-Amz-Expires=3600", "X-Amz-Expires=soon");
  EXPECT_EQ(KindOf(Verify(bad, creds_, now_)), AuthFailureKind::kIncompleteSignature);
  bad.query = replace(r.query, "X-Amz-Expires=3600&", "");
  EXPECT_EQ(KindOf(Verify(bad, creds_, now_)), AuthFailureKind::kIncompleteSignature);
  bad.query = replace(r.query, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256");
  EXPECT_EQ(KindOf(Verify(bad, creds_, now_)), AuthFailureKind::kIncompleteSignature);
  bad.query = replace(r.query, "X-Amz-Date=20240102T030405Z", "X-Amz-Date=2024-01-02");
  EXPECT_EQ(KindOf(Verify(bad, creds_, now_)), AuthFailureKind::kIncompleteSignature);
  bad.query = replace(r.query, "X-Amz-SignedHeaders=host&", "");
  EXPECT_EQ(KindOf(Verify(bad, creds_, now_)), AuthFailureKind::kIncompleteSignature);
  bad.query = r.query + "&extra=1";
  EXPECT_EQ(KindOf(Verify(bad, creds_, now_)), AuthFailureKind::kSignatureMismatch);
  // A week is the limit, and it holds.
  r = presigned("s3", std::chrono::seconds(604800));
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(Verify(r, creds_, now_ + std::chrono::hours(24 * 7))));
  EXPECT_EQ(KindOf(Verify(r, creds_, now_ + std::chrono::hours(24 * 7) + std::chrono::seconds(1))),
            AuthFailureKind::kRequestExpired);
}

// ---------------------------------------------------------------------------------------------------
// Round trips through the client signer

class SigV4RoundTripTest : public ::testing::Test {
 protected:
  SigV4RoundTripTest() {
    creds_.Add(MakeCredential("AKIDROUND", "round-secret"));
    Credential s = MakeCredential("ASIAROUND", "round-session-secret", "FwoGZXIvYXdzEJr//////////wEaDEXAMPLE+/=");
    creds_.Add(s);
  }
  MapResolver creds_;
  TimePoint now_ = At("20240615T120000Z");
};

TEST_F(SigV4RoundTripTest, HeaderSignedAcrossServicesPathsAndQueries) {
  struct Case {
    std::string service, method, path, query, body;
  };
  std::vector<Case> cases = {
      {"s3", "PUT", "/bucket/key%20with%20spaces/and%2Bplus", "", "data"},
      {"s3", "GET", "/bucket", "list-type=2&prefix=a%20b%2Fc&delimiter=%2F&encoding-type=url", ""},
      {"s3", "GET", "/bucket/%E4%BA%A4%E4%BB%98.bin", "versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY", ""},
      {"s3", "POST", "/bucket/key", "uploads", ""},
      {"s3", "GET", "/", "", ""},
      {"codebuild", "POST", "/", "", "{\"projectName\":\"p\"}"},
      {"sts", "POST", "/", "", "Action=GetCallerIdentity&Version=2011-06-15"},
      {"lambda", "GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af",
       "Qualifier=%24LATEST", ""},
      {"logs", "POST", "//double//slashes/./and/../dots/", "b=2&a=1&a=0&empty=&flag", ""},
      {"execute-api", "GET", "/a%2Fb/c d", "q=%E2%9C%93&sp=a%20b&pl=a%2Bb", ""},
  };
  for (const std::string id : {"AKIDROUND", "ASIAROUND"}) {
    const Credential c = creds_.Lookup(id).value();
    for (const Case& tc : cases) {
      http::Request r;
      r.method = tc.method;
      r.path = tc.path;
      r.query = tc.query;
      r.body = tc.body;
      r.body_size = tc.body.size();
      r.headers.Add("Host", "127.0.0.1:4566");
      r.headers.Add("User-Agent", "aws-cli/2.15 unsigned");
      r.headers.Add("X-Custom", "  spaced   value  ");
      SignRequest(r, c, "eu-west-3", tc.service, now_);
      EXPECT_EQ(r.target, tc.query.empty() ? tc.path : tc.path + "?" + tc.query);
      r.headers.Set("User-Agent", "changed in flight");  // not signed
      auto v = Verify(r, creds_, now_ + std::chrono::seconds(30));
      ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v))
          << tc.service << " " << tc.path << "?" << tc.query << ": " << Describe(v);
      const auto& info = std::get<SignedRequestInfo>(v);
      EXPECT_EQ(info.region, "eu-west-3");
      EXPECT_EQ(info.service, tc.service);
      EXPECT_EQ(info.credential.access_key_id, id);
      EXPECT_EQ(info.signing_key, DeriveSigningKey(c.secret_access_key, "20240615", "eu-west-3", tc.service));
      EXPECT_EQ(info.amz_date, "20240615T120000Z");
      EXPECT_EQ(info.request_time, now_);

      auto scope = PeekCredentialScope(r);
      ASSERT_TRUE(scope.has_value());
      EXPECT_EQ(scope->service, tc.service);
      EXPECT_EQ(scope->region, "eu-west-3");
      EXPECT_EQ(scope->date, "20240615");
      EXPECT_FALSE(scope->presigned);
      EXPECT_EQ(scope->ToString(), "20240615/eu-west-3/" + tc.service + "/aws4_request");
    }
  }
}

TEST_F(SigV4RoundTripTest, PresignedAcrossServices) {
  for (const std::string id : {"AKIDROUND", "ASIAROUND"}) {
    const Credential c = creds_.Lookup(id).value();
    for (const std::string service : {"s3", "sts", "codecommit"}) {
      http::Request r;
      r.method = "GET";
      r.path = service == "s3" ? "/bucket/some%20key" : "/";
      r.query = service == "sts" ? "Action=GetCallerIdentity&Version=2011-06-15" : "";
      r.headers.Add("Host", "localhost:4566");
      PresignRequest(r, c, "us-west-2", service, now_, std::chrono::seconds(900));
      // Headers other than Host are free to change.
      r.headers.Add("X-Anything", "1");
      auto v = Verify(r, creds_, now_ + std::chrono::seconds(899));
      ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << service << ": " << Describe(v);
      EXPECT_TRUE(std::get<SignedRequestInfo>(v).presigned);
      EXPECT_EQ(std::get<SignedRequestInfo>(v).content_sha256, service == "s3" ? kUnsignedPayload : kEmptySha256);
      EXPECT_EQ(KindOf(Verify(r, creds_, now_ + std::chrono::seconds(901))), AuthFailureKind::kRequestExpired);
    }
  }
}

TEST_F(SigV4RoundTripTest, S3ClientThatSignsItsRawPath) {
  // A client that sends "(" and "!" unescaped and signs the path exactly as sent.
  const Credential c = creds_.Lookup("AKIDROUND").value();
  http::Request r;
  r.method = "GET";
  r.target = r.path = "/bucket/a(1)!.txt";
  r.headers.Add("Host", "localhost:4566");
  r.headers.Add("X-Amz-Date", "20240615T120000Z");
  r.headers.Add("X-Amz-Content-SHA256", std::string(kEmptySha256));
  std::string cr = "GET\n/bucket/a(1)!.txt\n\nhost:localhost:4566\nx-amz-content-sha256:" + std::string(kEmptySha256) +
                   "\nx-amz-date:20240615T120000Z\n\nhost;x-amz-content-sha256;x-amz-date\n" +
                   std::string(kEmptySha256);
  std::string sts = "AWS4-HMAC-SHA256\n20240615T120000Z\n20240615/us-east-1/s3/aws4_request\n" + HexEncode(Sha256(cr));
  std::string sig = HexEncode(HmacSha256(DeriveSigningKey(c.secret_access_key, "20240615", "us-east-1", "s3"), sts));
  r.headers.Add("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDROUND/20240615/us-east-1/s3/aws4_request, "
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + sig);
  auto v = Verify(r, creds_, now_);
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << Describe(v);
  EXPECT_EQ(std::get<SignedRequestInfo>(v).signature, sig);
}

TEST_F(SigV4RoundTripTest, BodyInAFile) {
  char path[] = "/tmp/gantry_sigv4_body_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string body(3 * 1024 * 1024 + 17, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
  close(fd);

  const Credential c = creds_.Lookup("AKIDROUND").value();
  for (const std::string service : {"s3", "codebuild"}) {
    http::Request r;
    r.method = "PUT";
    r.path = "/bucket/big";
    r.body_file = path;
    r.body_size = body.size();
    r.headers.Add("Host", "localhost:4566");
    SignRequest(r, c, "us-east-1", service, now_);
    auto v = Verify(r, creds_, now_);
    ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(v)) << service << ": " << Describe(v);
    EXPECT_EQ(std::get<SignedRequestInfo>(v).content_sha256, HexEncode(Sha256(body)));
    auto hash = BodySha256Hex(r);
    ASSERT_TRUE(hash.ok());
    EXPECT_EQ(*hash, HexEncode(Sha256(body)));
  }

  // The file changes after signing (S3 keeps the header, so it is a content mismatch).
  http::Request r;
  r.method = "PUT";
  r.path = "/bucket/big";
  r.body_file = path;
  r.headers.Add("Host", "localhost:4566");
  SignRequest(r, c, "us-east-1", "s3", now_);
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "more";
  }
  EXPECT_EQ(KindOf(Verify(r, creds_, now_)), AuthFailureKind::kContentSha256Mismatch);
  unlink(path);
  // And disappears.
  auto v = Verify(r, creds_, now_);
  ASSERT_NE(FailureOf(v), nullptr);
  EXPECT_NE(FailureOf(v)->message.find("cannot open request body"), std::string::npos);
  EXPECT_FALSE(BodySha256Hex(r).ok());
}

TEST_F(SigV4RoundTripTest, ConcurrentVerificationSharesTheKeyCache) {
  std::vector<http::Request> requests;
  for (int i = 0; i < 16; ++i) {
    http::Request r;
    r.method = "POST";
    r.path = "/";
    r.body = "{\"i\":" + std::to_string(i) + "}";
    r.headers.Add("Host", "localhost");
    SignRequest(r, creds_.Lookup(i % 2 ? "AKIDROUND" : "ASIAROUND").value(), i % 3 ? "us-east-1" : "eu-west-1",
                i % 4 ? "codebuild" : "s3", now_);
    requests.push_back(std::move(r));
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int n = 0; n < 200; ++n) {
        if (std::holds_alternative<SignedRequestInfo>(Verify(requests[n % requests.size()], creds_, now_))) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
}

TEST(SigV4PeekTest, Scopes) {
  http::Request r;
  r.method = "GET";
  r.path = "/";
  EXPECT_FALSE(PeekCredentialScope(r).has_value());
  r.headers.Add("Authorization", "AWS4-HMAC-SHA256 Credential=A/B/C/D/aws4_request, SignedHeaders=host, Signature=x");
  EXPECT_FALSE(PeekCredentialScope(r).has_value());  // date is not YYYYMMDD
  r.headers.Set("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20240101/ap-south-1/monitoring/aws4_request,SignedHeaders=host,"
                "Signature=x");
  auto scope = PeekCredentialScope(r);
  ASSERT_TRUE(scope.has_value());
  EXPECT_EQ(scope->access_key_id, "AKID");
  EXPECT_EQ(scope->service, "monitoring");
  EXPECT_EQ(scope->region, "ap-south-1");
  r.headers.Set("Authorization", "Bearer abc");
  EXPECT_FALSE(PeekCredentialScope(r).has_value());
  r.headers.Remove("Authorization");
  r.query = "X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fcodecommit%2Faws4_request";
  scope = PeekCredentialScope(r);
  ASSERT_TRUE(scope.has_value());
  EXPECT_EQ(scope->service, "codecommit");
  EXPECT_TRUE(scope->presigned);
}

}  // namespace
}  // namespace gantry::aws
