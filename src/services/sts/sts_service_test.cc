#include "services/sts/sts_service.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "core/aws/dispatcher.h"
#include "core/common/strings.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"
#include "services/sts/web_identity.h"

namespace gantry::services {
namespace {

using aws::Document;

constexpr char kAccount[] = "000000000000";
constexpr char kTrust[] = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/issuer.test"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"issuer.test:sub":"repo:org/*"}}}]})";

std::string B64Url(std::string_view data) {
  std::string s = Base64Encode(data);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

// An RSA key that signs test tokens and publishes itself as a JWKS.
class TestSigner {
 public:
  TestSigner() : key_(EVP_RSA_gen(2048)) {}
  ~TestSigner() { EVP_PKEY_free(key_); }

  std::string Jwks(const std::string& kid) const {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    EVP_PKEY_get_bn_param(key_, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(key_, OSSL_PKEY_PARAM_RSA_E, &e);
    std::string nb(BN_num_bytes(n), '\0'), eb(BN_num_bytes(e), '\0');
    BN_bn2bin(n, reinterpret_cast<unsigned char*>(nb.data()));
    BN_bn2bin(e, reinterpret_cast<unsigned char*>(eb.data()));
    BN_free(n);
    BN_free(e);
    return Document{{"keys", Document::array({{{"kty", "RSA"}, {"kid", kid}, {"n", B64Url(nb)}, {"e", B64Url(eb)}}})}}
        .dump();
  }

  std::string Token(const Document& claims, const std::string& kid = "k1", const std::string& alg = "RS256") const {
    std::string input = B64Url(Document{{"alg", alg}, {"kid", kid}}.dump()) + "." + B64Url(claims.dump());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return input + "." + B64Url(sig);
  }

 private:
  EVP_PKEY* key_;
};

class StsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteStoreOptions options;
    options.clock = &clock_;
    auto opened = store::OpenSqliteStore(dir_.File("gantry.db"), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    aws::DispatcherOptions dispatcher_options;
    dispatcher_options.account_id = kAccount;
    dispatcher_options.clock = &clock_;
    dispatcher_ = std::make_unique<aws::Dispatcher>(dispatcher_options, &sessions_, &handlers_, nullptr);
    std::ofstream(dir_.File("jwks.json")) << signer_.Jwks("k1");
    StsOptions sts;
    sts.account_id = kAccount;
    sts.jwks_file = dir_.File("jwks.json");
    service_ = std::make_unique<StsService>(store_.get(), &clock_, RandomIdSource::Instance(), dispatcher_.get(), sts);
    service_->RegisterHandlers(handlers_);
    sessions_.target = service_->credentials();
    RegisterFakeIam();
  }

  // A stand-in IAM: one role and one OpenID Connect provider.
  void RegisterFakeIam() {
    handlers_.Add("iam", "GetRole", [](aws::RequestContext&, const Document& in) -> StatusOr<Document> {
      if (in["RoleName"] != "ci") return Status::NotFound("The role with name x cannot be found.", "NoSuchEntity");
      return Document{{"Role",
                       {{"RoleName", "ci"},
                        {"RoleId", "AROAEXAMPLEEXAMPLE12"},
                        {"Arn", "arn:aws:iam::000000000000:role/ci"},
                        {"MaxSessionDuration", 3600},
                        {"AssumeRolePolicyDocument", UriEncode(kTrust)}}}};
    });
    handlers_.Add("iam", "GetOpenIDConnectProvider", [](aws::RequestContext&, const Document& in) -> StatusOr<Document> {
      if (in["OpenIDConnectProviderArn"] != "arn:aws:iam::000000000000:oidc-provider/issuer.test") {
        return Status::NotFound("OpenIDConnect Provider not found", "NoSuchEntity");
      }
      return Document{{"Url", "issuer.test"}, {"ClientIDList", Document::array({"gantry"})}};
    });
  }

  static aws::Principal User() {
    aws::Principal p;
    p.account_id = kAccount;
    p.arn = "arn:aws:iam::000000000000:user/alice";
    p.user_id = "AIDAEXAMPLEEXAMPLE12";
    p.access_key_id = "AKIAEXAMPLEEXAMPLE12";
    return p;
  }

  StatusOr<Document> Call(const aws::Principal& p, std::string_view op, const Document& input) {
    return dispatcher_->Call(p, "sts", op, input, "us-east-1");
  }

  int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  }

  Document Claims() const {
    return {{"iss", "https://issuer.test"}, {"sub", "repo:org/app"}, {"aud", "gantry"}, {"exp", Now() + 600}};
  }

  http::Response SignedCallerIdentity(const Document& credentials) {
    http::Request r;
    r.method = "POST";
    r.target = r.path = "/";
    r.request_id = "req";
    r.headers.Add("Host", "localhost:4566");
    r.headers.Add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    r.body = "Action=GetCallerIdentity&Version=2011-06-15";
    r.body_size = r.body.size();
    aws::Credential c;
    c.access_key_id = credentials["AccessKeyId"];
    c.secret_access_key = credentials["SecretAccessKey"];
    c.session_token = credentials["SessionToken"];
    aws::SignRequest(r, c, "us-east-1", "sts", clock_.Now());
    http::Response response;
    dispatcher_->Handle(r, response);
    return response;
  }

  store::testing::ScratchDirectory dir_;
  FakeClock clock_{FromEpochSeconds(1764000000)};
  std::unique_ptr<store::Store> store_;
  aws::HandlerTable handlers_;
  std::unique_ptr<aws::Dispatcher> dispatcher_;
  std::unique_ptr<StsService> service_;
  TestSigner signer_;
  // The dispatcher is built before the service whose sessions it resolves.
  struct Forward final : aws::CredentialResolver {
    const aws::CredentialResolver* target = nullptr;
    std::optional<aws::Credential> Lookup(std::string_view id) const override {
      return target ? target->Lookup(id) : std::nullopt;
    }
  } sessions_;
};

TEST_F(StsServiceTest, SessionCredentialsWorkUntilTheyExpire) {
  auto out = Call(User(), "AssumeRole", {{"RoleArn", "arn:aws:iam::000000000000:role/ci"}, {"RoleSessionName", "s1"},
                                         {"DurationSeconds", 900}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["AssumedRoleUser"]["Arn"], "arn:aws:sts::000000000000:assumed-role/ci/s1");
  EXPECT_EQ((*out)["AssumedRoleUser"]["AssumedRoleId"], "AROAEXAMPLEEXAMPLE12:s1");
  const Document& credentials = (*out)["Credentials"];
  EXPECT_EQ((*out)["Credentials"]["Expiration"].get<double>(), static_cast<double>(Now() + 900));

  http::Response ok = SignedCallerIdentity(credentials);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("<Arn>arn:aws:sts::000000000000:assumed-role/ci/s1</Arn>"), std::string::npos);
  EXPECT_NE(ok.body.find("<UserId>AROAEXAMPLEEXAMPLE12:s1</UserId>"), std::string::npos);

  clock_.Advance(std::chrono::seconds(899));
  EXPECT_EQ(SignedCallerIdentity(credentials).status, 200);
  clock_.Advance(std::chrono::seconds(1));
  http::Response expired = SignedCallerIdentity(credentials);
  EXPECT_EQ(expired.status, 403);
  EXPECT_NE(expired.body.find("<Code>ExpiredToken</Code>"), std::string::npos) << expired.body;

  // Long-expired sessions are dropped at start.
  clock_.Advance(std::chrono::hours(25));
  ASSERT_TRUE(service_->Start().ok());
  EXPECT_FALSE(service_->credentials()->Lookup(credentials["AccessKeyId"].get<std::string>()).has_value());
}

TEST_F(StsServiceTest, AssumeRoleErrors) {
  auto root = Call(aws::Principal::Root(kAccount), "AssumeRole",
                   {{"RoleArn", "arn:aws:iam::000000000000:role/ci"}, {"RoleSessionName", "s1"}});
  EXPECT_EQ(root.status().message(), "Roles may not be assumed by root accounts.");
  EXPECT_EQ(root.status().aws_code(), "AccessDenied");
  auto missing = Call(User(), "AssumeRole", {{"RoleArn", "arn:aws:iam::000000000000:role/nope"}, {"RoleSessionName", "s1"}});
  EXPECT_EQ(missing.status().message(),
            "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: sts:AssumeRole on resource: "
            "arn:aws:iam::000000000000:role/nope");
  auto too_long = Call(User(), "AssumeRole", {{"RoleArn", "arn:aws:iam::000000000000:role/ci"}, {"RoleSessionName", "s1"},
                                              {"DurationSeconds", 7200}});
  EXPECT_EQ(too_long.status().aws_code(), "ValidationError");
  auto bad_policy = Call(User(), "AssumeRole", {{"RoleArn", "arn:aws:iam::000000000000:role/ci"}, {"RoleSessionName", "s1"},
                                                {"Policy", "{\"Statement\":[]}"}});
  EXPECT_EQ(bad_policy.status().aws_code(), "MalformedPolicyDocument");
}

TEST_F(StsServiceTest, GetSessionTokenActsAsTheCaller) {
  auto out = Call(User(), "GetSessionToken", Document::object());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["Credentials"]["Expiration"].get<double>(), static_cast<double>(Now() + 43200));
  http::Response me = SignedCallerIdentity((*out)["Credentials"]);
  EXPECT_NE(me.body.find("<Arn>arn:aws:iam::000000000000:user/alice</Arn>"), std::string::npos) << me.body;
  auto root = Call(aws::Principal::Root(kAccount), "GetSessionToken", {{"DurationSeconds", 7200}});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ((*root)["Credentials"]["Expiration"].get<double>(), static_cast<double>(Now() + 3600));
}

TEST_F(StsServiceTest, WebIdentityTokens) {
  aws::Principal anonymous;
  anonymous.account_id = kAccount;
  Document input = {{"RoleArn", "arn:aws:iam::000000000000:role/ci"}, {"RoleSessionName", "run-1"},
                    {"WebIdentityToken", signer_.Token(Claims())}};
  auto out = Call(anonymous, "AssumeRoleWithWebIdentity", input);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["SubjectFromWebIdentityToken"], "repo:org/app");
  EXPECT_EQ((*out)["Audience"], "gantry");
  EXPECT_EQ((*out)["Provider"], "issuer.test");
  EXPECT_EQ(SignedCallerIdentity((*out)["Credentials"]).status, 200);

  Document wrong_sub = Claims();
  wrong_sub["sub"] = "repo:evil/app";
  input["WebIdentityToken"] = signer_.Token(wrong_sub);
  EXPECT_EQ(Call(anonymous, "AssumeRoleWithWebIdentity", input).status().message(),
            "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  Document wrong_aud = Claims();
  wrong_aud["aud"] = Document::array({"a", "b"});
  input["WebIdentityToken"] = signer_.Token(wrong_aud);
  EXPECT_EQ(Call(anonymous, "AssumeRoleWithWebIdentity", input).status().message(), "Incorrect token audience");
  Document expired = Claims();
  expired["exp"] = Now() - 1;
  input["WebIdentityToken"] = signer_.Token(expired);
  EXPECT_EQ(Call(anonymous, "AssumeRoleWithWebIdentity", input).status().aws_code(), "ExpiredTokenException");
}

TEST(WebIdentityTokenTest, SignatureKeyAndAlgorithmAreChecked) {
  TestSigner signer, other;
  std::string jwks = signer.Jwks("k1");
  Document claims = {{"iss", "https://issuer.test"}, {"sub", "s"}, {"aud", Document::array({"x", "y"})}, {"exp", 2000000000}};
  auto ok = VerifyWebIdentityToken(signer.Token(claims), jwks);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->issuer, "https://issuer.test");
  EXPECT_EQ(ok->audiences, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(*ok->expires, 2000000000);

  EXPECT_EQ(VerifyWebIdentityToken(other.Token(claims), jwks).status().message(),
            "The web identity token signature is not valid.");
  EXPECT_EQ(VerifyWebIdentityToken(signer.Token(claims, "k2"), jwks).status().aws_code(), "InvalidIdentityToken");
  EXPECT_EQ(VerifyWebIdentityToken(signer.Token(claims, "k1", "none"), jwks).status().message(),
            "Unsupported token signing algorithm: none");
  std::string token = signer.Token(claims);
  std::string tampered = token;
  tampered[token.find('.') + 3] ^= 1;
  EXPECT_FALSE(VerifyWebIdentityToken(tampered, jwks).ok());
  for (size_t n = 0; n < token.size(); n += 7) EXPECT_FALSE(VerifyWebIdentityToken(token.substr(0, n), jwks).ok());
  EXPECT_FALSE(VerifyWebIdentityToken(token, "not json").ok());
  EXPECT_FALSE(VerifyWebIdentityToken(token, R"({"keys":[{"kty":"RSA","kid":"k1","n":"!!","e":"AQAB"}]})").ok());
}

}  // namespace
}  // namespace gantry::services
