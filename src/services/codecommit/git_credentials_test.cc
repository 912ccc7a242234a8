#include "services/codecommit/git_credentials.h"

#include <gtest/gtest.h>

#include <map>

#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::services::codecommit {
namespace {

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

// Passwords printed by the real helpers for protocol=http, host=localhost:4566,
// path=v1/repos/demo in us-east-1:
//   AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws codecommit credential-helper --ignore-host-check get
//   AWS_ACCESS_KEY_ID=ASIAIOSFODNN7EXAMPLE AWS_SESSION_TOKEN=tok/en+1= /usr/bin/aws codecommit ... get
constexpr char kKeyPassword[] = "20261126T090833Z3c7731865e11c01ea1d517a26c643cda65622e270d4a857bf8a218e96d211bf3";
constexpr char kSessionPassword[] = "20261126T090834Z6f8b47074820f1d9f77ae70401f2f2d26f13456e7e371dc64bc543c9ac0c7752";

class FakeResolver final : public aws::CredentialResolver {
 public:
  std::optional<aws::Credential> Lookup(std::string_view id) const override {
    auto it = credentials.find(std::string(id));
    if (it == credentials.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, aws::Credential> credentials;
};

class FakeServicePasswords final : public aws::ServicePasswordVerifier {
 public:
  std::optional<aws::Principal> VerifyServicePassword(std::string_view service, std::string_view user,
                                                      std::string_view password) const override {
    if (service != "codecommit.amazonaws.com" || user != "dev-at-000000000000" || password != "s3cret+/=") {
      return std::nullopt;
    }
    aws::Principal p;
    p.account_id = "000000000000";
    p.arn = "arn:aws:iam::000000000000:user/dev";
    p.user_id = "AIDAEXAMPLE";
    return p;
  }
};

class GitCredentialsTest : public ::testing::Test {
 protected:
  GitCredentialsTest() {
    aws::Credential key;
    key.access_key_id = "AKIAIOSFODNN7EXAMPLE";
    key.secret_access_key = kSecret;
    key.account_id = "000000000000";
    key.principal_arn = "arn:aws:iam::000000000000:user/alice";
    key.user_id = "AIDAALICE";
    resolver_.credentials[key.access_key_id] = key;
    aws::Credential session = key;
    session.access_key_id = "ASIAIOSFODNN7EXAMPLE";
    session.session_token = "tok/en+1=";
    session.principal_arn = "arn:aws:sts::000000000000:assumed-role/dev/e2e";
    session.user_id = "AROADEV:e2e";
    resolver_.credentials[session.access_key_id] = session;
    context_.account_id = "000000000000";
    context_.region = "us-east-1";
    context_.credentials = &resolver_;
    context_.service_passwords = &passwords_;
  }

  StatusOr<aws::Principal> Authenticate(const std::string& user, const std::string& password,
                                        const std::string& at = "20261126T091000Z",
                                        const std::string& host = "localhost:4566") {
    return AuthenticateGit(context_, {user, password}, "/v1/repos/demo", host, *ParseAmzDate(at));
  }

  FakeResolver resolver_;
  FakeServicePasswords passwords_;
  aws::HttpServeContext context_;
};

TEST_F(GitCredentialsTest, SignatureMatchesTheCliHelpers) {
  auto parsed = ParseHelperPassword(kKeyPassword);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->timestamp, "20261126T090833");
  EXPECT_EQ(HelperSignature(kSecret, parsed->timestamp, "us-east-1", "/v1/repos/demo", "localhost:4566"),
            parsed->signature);
  // The port is not signed; the region is.
  EXPECT_EQ(HelperSignature(kSecret, parsed->timestamp, "us-east-1", "/v1/repos/demo", "localhost"), parsed->signature);
  EXPECT_NE(HelperSignature(kSecret, parsed->timestamp, "eu-west-1", "/v1/repos/demo", "localhost"), parsed->signature);
}

TEST_F(GitCredentialsTest, AccessKeysAndSessions) {
  auto alice = Authenticate("AKIAIOSFODNN7EXAMPLE", kKeyPassword);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(alice->arn, "arn:aws:iam::000000000000:user/alice");
  EXPECT_EQ(alice->access_key_id, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_FALSE(alice->is_root);

  auto session = Authenticate("ASIAIOSFODNN7EXAMPLE%tok/en+1=", kSessionPassword);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ(session->arn, "arn:aws:sts::000000000000:assumed-role/dev/e2e");
  EXPECT_EQ(session->user_id, "AROADEV:e2e");
}

TEST_F(GitCredentialsTest, RefusalsSayWhy) {
  auto why = [&](const StatusOr<aws::Principal>& result) {
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
    return result.ok() ? std::string() : result.status().message();
  };
  EXPECT_NE(why(Authenticate("AKIAUNKNOWN000000000", kKeyPassword)).find("AKIAUNKNOWN000000000 is not known"),
            std::string::npos);
  EXPECT_NE(why(Authenticate("ASIAIOSFODNN7EXAMPLE", kSessionPassword)).find("needs its session token"),
            std::string::npos);
  EXPECT_NE(why(Authenticate("ASIAIOSFODNN7EXAMPLE%other", kSessionPassword)).find("session token"), std::string::npos);
  EXPECT_NE(why(Authenticate("AKIAIOSFODNN7EXAMPLE", kKeyPassword, "20261126T100000Z")).find("more than 15 minutes"),
            std::string::npos);
  EXPECT_NE(why(Authenticate("AKIAIOSFODNN7EXAMPLE", kKeyPassword, "20261126T091000Z", "otherhost:4566"))
                .find("does not match"),
            std::string::npos);
  context_.region = "eu-west-1";
  EXPECT_NE(why(Authenticate("AKIAIOSFODNN7EXAMPLE", kKeyPassword)).find("in region eu-west-1"), std::string::npos);
}

TEST_F(GitCredentialsTest, ExpiredSessions) {
  resolver_.credentials["ASIAIOSFODNN7EXAMPLE"].expiration = *ParseAmzDate("20261126T090900Z");
  auto result = Authenticate("ASIAIOSFODNN7EXAMPLE%tok/en+1=", kSessionPassword);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("have expired"), std::string::npos);
}

TEST_F(GitCredentialsTest, HttpsGitCredentials) {
  auto dev = Authenticate("dev-at-000000000000", "s3cret+/=");
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ(dev->arn, "arn:aws:iam::000000000000:user/dev");
  EXPECT_FALSE(Authenticate("dev-at-000000000000", "wrong").ok());
  context_.service_passwords = nullptr;
  EXPECT_FALSE(Authenticate("dev-at-000000000000", "s3cret+/=").ok());
}

TEST(HelperPasswordTest, Shapes) {
  EXPECT_TRUE(ParseHelperPassword(kKeyPassword));
  EXPECT_FALSE(ParseHelperPassword(""));
  EXPECT_FALSE(ParseHelperPassword("20261126T090833Z3c77"));
  std::string upper = kKeyPassword;
  upper[20] = 'A';
  EXPECT_FALSE(ParseHelperPassword(upper));
  std::string no_z = kKeyPassword;
  no_z[15] = 'X';
  EXPECT_FALSE(ParseHelperPassword(no_z));
}

TEST(BasicAuthorizationTest, Parsing) {
  auto parsed = ParseBasicAuthorization("Basic " + Base64Encode("user%tok:pa:ss"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->user, "user%tok");
  EXPECT_EQ(parsed->password, "pa:ss");
  EXPECT_TRUE(ParseBasicAuthorization("basic " + Base64Encode("u:p")));
  EXPECT_FALSE(ParseBasicAuthorization(""));
  EXPECT_FALSE(ParseBasicAuthorization("Bearer abc"));
  EXPECT_FALSE(ParseBasicAuthorization("Basic " + Base64Encode("no-colon")));
  EXPECT_FALSE(ParseBasicAuthorization("Basic !!!"));
}

}  // namespace
}  // namespace gantry::services::codecommit
