#include "core/aws/sigv2.h"

#include <gtest/gtest.h>

#include <map>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::aws {
namespace {

// The S3 documentation's example credentials and its query-string authentication example.
constexpr char kKey[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

class OneKey final : public CredentialResolver {
 public:
  std::optional<Credential> Lookup(std::string_view id) const override {
    if (id != credential.access_key_id) return std::nullopt;
    return credential;
  }
  Credential credential{kKey, kSecret, "", std::nullopt, "arn:aws:iam::000000000000:root", "000000000000",
                        "000000000000"};
};

http::Request Req(std::string method, std::string target, std::string host) {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  http::SplitTarget(r.target, r.path, r.query);
  r.headers.Add("Host", std::move(host));
  return r;
}

AuthFailureKind KindOf(const std::variant<SignedRequestInfo, AuthFailure>& v) {
  EXPECT_TRUE(std::holds_alternative<AuthFailure>(v));
  return std::holds_alternative<AuthFailure>(v) ? std::get<AuthFailure>(v).kind : AuthFailureKind::kMissingAuthentication;
}

TEST(SigV2Test, DocumentationQueryExample) {
  OneKey keys;
  http::Request r = Req("GET",
                        "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
                        "&Expires=1175139620",
                        "johnsmith.s3.amazonaws.com");
  EXPECT_TRUE(IsSigV2Request(r));
  EXPECT_EQ(SigV2StringToSign(r, "1175139620", "/johnsmith/photos/puppy.jpg"),
            "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
  auto ok = VerifySigV2(r, keys, FromEpochSeconds(1175139000));
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(ok)) << std::get<AuthFailure>(ok).message;
  EXPECT_EQ(std::get<SignedRequestInfo>(ok).credential.access_key_id, kKey);
  EXPECT_TRUE(std::get<SignedRequestInfo>(ok).presigned);

  // An unescaped '+' in the signature (curl users paste what they see) still verifies.
  http::Request plus = Req("GET",
                           "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM+WFzoENXmpNDUsSn8="
                           "&Expires=1175139620",
                           "johnsmith.s3.amazonaws.com");
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(VerifySigV2(plus, keys, FromEpochSeconds(1175139000))));

  // Path-style addressing signs the same resource.
  http::Request path_style = Req("GET",
                                 "/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature="
                                 "NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620",
                                 "localhost:4566");
  EXPECT_TRUE(std::holds_alternative<SignedRequestInfo>(VerifySigV2(path_style, keys, FromEpochSeconds(1175139000))));

  EXPECT_EQ(KindOf(VerifySigV2(r, keys, FromEpochSeconds(1175139621))), AuthFailureKind::kRequestExpired);
  http::Request other = r;
  other.method = "PUT";
  auto mismatch = VerifySigV2(other, keys, FromEpochSeconds(1175139000));
  EXPECT_EQ(KindOf(mismatch), AuthFailureKind::kSignatureMismatch);
  EXPECT_EQ(std::get<AuthFailure>(mismatch).string_to_sign, "PUT\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
  EXPECT_EQ(std::get<AuthFailure>(mismatch).signature_provided, "NpgCjnDzrM+WFzoENXmpNDUsSn8=");
}

TEST(SigV2Test, PresignRoundTripWithSubResourcesHeadersAndToken) {
  OneKey keys;
  keys.credential.session_token = "session/token+1";
  TimePoint now = FromEpochSeconds(1700000000);
  http::Request r = Req("PUT", "/bucket/dir/a%20b.txt?versionId=v1&x-id=PutObject&response-content-type=text%2Fplain",
                        "localhost:4566");
  r.headers.Add("Content-Type", "text/plain");
  r.headers.Add("X-Amz-Meta-Color", " blue ");
  PresignSigV2(r, keys.credential, now + std::chrono::hours(1));
  EXPECT_NE(r.target.find("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE"), std::string::npos);
  EXPECT_NE(r.target.find("x-amz-security-token=session%2Ftoken%2B1"), std::string::npos);
  EXPECT_EQ(SigV2StringToSign(r, "1700003600", "/bucket/dir/a%20b.txt"),
            "PUT\n\ntext/plain\n1700003600\nx-amz-meta-color:blue\nx-amz-security-token:session/token+1\n"
            "/bucket/dir/a%20b.txt?response-content-type=text/plain&versionId=v1");
  auto ok = VerifySigV2(r, keys, now);
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(ok)) << std::get<AuthFailure>(ok).message;

  http::Request wrong_type = r;
  wrong_type.headers.Set("Content-Type", "application/octet-stream");
  EXPECT_EQ(KindOf(VerifySigV2(wrong_type, keys, now)), AuthFailureKind::kSignatureMismatch);

  OneKey no_token;
  EXPECT_EQ(KindOf(VerifySigV2(r, no_token, now)), AuthFailureKind::kInvalidToken);
}

TEST(SigV2Test, HeaderFormAndClockSkew) {
  OneKey keys;
  TimePoint now = FromEpochSeconds(1700000000);
  http::Request r = Req("GET", "/?acl", "johnsmith.localhost:4566");
  std::string date = FormatRfc1123(now);
  r.headers.Add("Date", date);
  std::string sts = SigV2StringToSign(r, date, "/johnsmith/");
  EXPECT_EQ(sts, "GET\n\n\n" + date + "\n/johnsmith/?acl");
  r.headers.Add("Authorization", std::string("AWS ") + kKey + ":" + Base64Encode(HmacSha1(kSecret, sts)));
  EXPECT_TRUE(IsSigV2Request(r));
  auto ok = VerifySigV2(r, keys, now + std::chrono::minutes(5));
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(ok)) << std::get<AuthFailure>(ok).message;
  EXPECT_FALSE(std::get<SignedRequestInfo>(ok).presigned);
  EXPECT_EQ(KindOf(VerifySigV2(r, keys, now + std::chrono::minutes(16))), AuthFailureKind::kClockSkew);

  http::Request unknown = r;
  unknown.headers.Set("Authorization", "AWS AKIDUNKNOWN:abc=");
  EXPECT_EQ(KindOf(VerifySigV2(unknown, keys, now)), AuthFailureKind::kUnknownAccessKey);
  http::Request malformed = r;
  malformed.headers.Set("Authorization", "AWS nocolon");
  EXPECT_EQ(KindOf(VerifySigV2(malformed, keys, now)), AuthFailureKind::kIncompleteSignature);
}

TEST(SigV2Test, OnlySigV2RequestsAreRecognized) {
  http::Request v4 = Req("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc", "localhost");
  EXPECT_FALSE(IsSigV2Request(v4));
  http::Request header_v4 = Req("GET", "/", "localhost");
  header_v4.headers.Add("Authorization", "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/s3/aws4_request");
  EXPECT_FALSE(IsSigV2Request(header_v4));
  EXPECT_FALSE(IsSigV2Request(Req("GET", "/b/k?AWSAccessKeyId=AKID", "localhost")));
  OneKey keys;
  EXPECT_EQ(KindOf(VerifySigV2(Req("GET", "/b/k?AWSAccessKeyId=AKID&Signature=x", "localhost"), keys,
                               FromEpochSeconds(0))),
            AuthFailureKind::kMissingAuthentication);
  EXPECT_EQ(KindOf(VerifySigV2(Req("GET", "/b/k?AWSAccessKeyId=AKID&Signature=x&Expires=soon", "localhost"), keys,
                               FromEpochSeconds(0))),
            AuthFailureKind::kMissingAuthentication);
}

}  // namespace
}  // namespace gantry::aws
