#include "services/iam/iam_service.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/aws/dispatcher.h"
#include "core/common/ids.h"
#include "core/common/strings.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"
#include "test_support/requests.h"

namespace gantry::services::iam {
namespace {

using test_support::JsonRequest;
using test_support::QueryRequest;

constexpr char kAccount[] = "000000000000";

class RootKey final : public aws::CredentialResolver {
 public:
  std::optional<aws::Credential> Lookup(std::string_view id) const override {
    if (id != key.access_key_id) return std::nullopt;
    return key;
  }
  aws::Credential key{"AKIAROOTROOTROOTROOT", "root/root/root/root/root/root/root/root0", "", std::nullopt,
                      "arn:aws:iam::000000000000:root", kAccount, kAccount};
};

class Chain final : public aws::CredentialResolver {
 public:
  std::vector<const aws::CredentialResolver*> resolvers;
  std::optional<aws::Credential> Lookup(std::string_view id) const override {
    for (const auto* r : resolvers) {
      if (auto c = r->Lookup(id)) return c;
    }
    return std::nullopt;
  }
};

class IamServiceTest : public ::testing::Test {
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
    dispatcher_ = std::make_unique<aws::Dispatcher>(dispatcher_options, &chain_, &handlers_, nullptr);
    service_ = std::make_unique<IamService>(store_.get(), &clock_, RandomIdSource::Instance(), dispatcher_.get(),
                                            kAccount);
    service_->RegisterHandlers(handlers_);
    chain_.resolvers = {&root_, service_->credentials()};
    dispatcher_->SetAuthorizer(service_->authorizer());
  }

  Document Root(std::string_view service, std::string_view op, const Document& input) {
    auto out = dispatcher_->Call(aws::Principal::Root(kAccount), service, op, input, "us-east-1");
    EXPECT_TRUE(out.ok()) << op << ": " << out.status().ToString();
    return out.ok() ? *out : Document();
  }

  StatusOr<Document> As(const aws::Principal& p, std::string_view service, std::string_view op,
                        const Document& input = Document::object()) {
    return dispatcher_->Call(p, service, op, input, "us-east-1");
  }

  static aws::Principal User(const std::string& name) {
    aws::Principal p;
    p.account_id = kAccount;
    p.arn = std::string("arn:aws:iam::") + kAccount + ":user/" + name;
    return p;
  }

  aws::Credential MakeUserKey(const std::string& name) {
    Root("iam", "CreateUser", {{"UserName", name}});
    Document key = Root("iam", "CreateAccessKey", {{"UserName", name}})["AccessKey"];
    aws::Credential c;
    c.access_key_id = key["AccessKeyId"];
    c.secret_access_key = key["SecretAccessKey"];
    return c;
  }

  http::Response Send(http::Request request, const aws::Credential& signer, std::string_view service) {
    request.request_id = "req";
    request.remote_address = "127.0.0.1";
    aws::SignRequest(request, signer, "us-east-1", service, clock_.Now());
    http::Response response;
    dispatcher_->Handle(request, response);
    return response;
  }

  static std::string Allow(const std::string& action, const std::string& resource = "*") {
    return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":")" + action + R"(","Resource":")" +
           resource + R"("}]})";
  }

  store::testing::ScratchDirectory dir_;
  FakeClock clock_{FromEpochSeconds(1764000000)};
  std::unique_ptr<store::Store> store_;
  aws::HandlerTable handlers_;
  RootKey root_;
  Chain chain_;
  std::unique_ptr<aws::Dispatcher> dispatcher_;
  std::unique_ptr<IamService> service_;
};

TEST_F(IamServiceTest, SignedRequestsOfAUserAreAuthorizedAndPolicyChangesApplyAtOnce) {
  aws::Credential key = MakeUserKey("alice");
  http::Response denied = Send(QueryRequest("Action=ListUsers&Version=2010-05-08"), key, "iam");
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find("<Code>AccessDenied</Code>"), std::string::npos) << denied.body;
  EXPECT_NE(denied.body.find("User: arn:aws:iam::000000000000:user/alice is not authorized to perform: "
                             "iam:ListUsers on resource: arn:aws:iam::000000000000:user/ because no identity-based "
                             "policy allows the iam:ListUsers action"),
            std::string::npos)
      << denied.body;
  Root("iam", "PutUserPolicy", {{"UserName", "alice"}, {"PolicyName", "p"}, {"PolicyDocument", Allow("iam:List*")}});
  http::Response allowed = Send(QueryRequest("Action=ListUsers&Version=2010-05-08"), key, "iam");
  EXPECT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_NE(allowed.body.find("<UserName>alice</UserName>"), std::string::npos);
}

TEST_F(IamServiceTest, AllowedCallsReachTheHandlerAndDeniedJsonCallsAre400) {
  aws::Credential key = MakeUserKey("lister");
  Root("iam", "PutUserPolicy",
       {{"UserName", "lister"}, {"PolicyName", "p"}, {"PolicyDocument", Allow("events:List*")}});
  http::Response allowed = Send(JsonRequest("AWSEvents.ListRules", "{}"), key, "events");
  EXPECT_EQ(allowed.status, 501) << allowed.body;  // no events handlers in this test: NotImplemented
  http::Response denied = Send(JsonRequest("AWSEvents.PutRule", R"j({"Name":"r","ScheduleExpression":"rate(1 hour)"})j"),
                               key, "events");
  EXPECT_EQ(denied.status, 400) << denied.body;
  Document body = Document::parse(denied.body);
  EXPECT_EQ(body["__type"], "AccessDeniedException");
  EXPECT_EQ(body["message"],
            "User: arn:aws:iam::000000000000:user/lister is not authorized to perform: events:PutRule on resource: "
            "arn:aws:events:us-east-1:000000000000:rule/r because no identity-based policy allows the events:PutRule "
            "action");
}

TEST_F(IamServiceTest, InactiveAndDeletedKeysAreNotResolved) {
  aws::Credential key = MakeUserKey("keys");
  ASSERT_TRUE(service_->credentials()->Lookup(key.access_key_id).has_value());
  EXPECT_EQ(service_->credentials()->Lookup(key.access_key_id)->principal_arn,
            "arn:aws:iam::000000000000:user/keys");
  Root("iam", "UpdateAccessKey", {{"UserName", "keys"}, {"AccessKeyId", key.access_key_id}, {"Status", "Inactive"}});
  EXPECT_FALSE(service_->credentials()->Lookup(key.access_key_id).has_value());
  http::Response r = Send(QueryRequest("Action=GetUser&Version=2010-05-08"), key, "iam");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("InvalidClientTokenId"), std::string::npos);
  Root("iam", "DeleteAccessKey", {{"UserName", "keys"}, {"AccessKeyId", key.access_key_id}});
  EXPECT_FALSE(service_->credentials()->Lookup(key.access_key_id).has_value());
}

TEST_F(IamServiceTest, PassRoleIsCheckedWithThePassedToServiceKey) {
  Root("iam", "CreateUser", {{"UserName", "wirer"}});
  std::string role = "arn:aws:iam::000000000000:role/invoke";
  aws::RequestContext ctx;
  ctx.principal = User("wirer");
  ctx.account_id = kAccount;
  ctx.region = "us-east-1";
  ctx.time = clock_.Now();
  ctx.model = aws::ModelRegistry::Instance().Get("events");
  ctx.authorizer = service_->authorizer();
  Status denied = ctx.Authorize("iam:PassRole", role);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(),
            "User: arn:aws:iam::000000000000:user/wirer is not authorized to perform: iam:PassRole on resource: " +
                role + " because no identity-based policy allows the iam:PassRole action");
  Root("iam", "PutUserPolicy",
       {{"UserName", "wirer"},
        {"PolicyName", "pass"},
        {"PolicyDocument",
         R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*",
            "Condition":{"StringEquals":{"iam:PassedToService":"events.amazonaws.com"}}}]})"}});
  EXPECT_TRUE(ctx.Authorize("iam:PassRole", role).ok());
  ctx.model = aws::ModelRegistry::Instance().Get("codebuild");
  EXPECT_FALSE(ctx.Authorize("iam:PassRole", role).ok());
  ctx.principal = aws::Principal::Root(kAccount);
  EXPECT_TRUE(ctx.Authorize("iam:PassRole", role).ok());
}

TEST_F(IamServiceTest, ServicePrincipalsNeedTheTrustPolicyToAssumeRoles) {
  Root("iam", "CreateRole",
       {{"RoleName", "build"},
        {"AssumeRolePolicyDocument",
         R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]})"}});
  aws::Principal codebuild;
  codebuild.account_id = kAccount;
  codebuild.arn = "codebuild.amazonaws.com";
  codebuild.service = "codebuild.amazonaws.com";
  Document input = {{"RoleArn", "arn:aws:iam::000000000000:role/build"}, {"RoleSessionName", "b1"}};
  // Allowed: reaches the (absent) STS handler.
  EXPECT_EQ(As(codebuild, "sts", "AssumeRole", input).status().code(), StatusCode::kUnimplemented);
  aws::Principal events = codebuild;
  events.arn = events.service = "events.amazonaws.com";
  auto denied = As(events, "sts", "AssumeRole", input);
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().message(),
            "User: events.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: "
            "arn:aws:iam::000000000000:role/build");
  // Services acting as themselves are trusted for everything else.
  EXPECT_EQ(As(events, "events", "ListRules").status().code(), StatusCode::kUnimplemented);
}

TEST_F(IamServiceTest, InProcessRoleSessionsUseTheRolePolicies) {
  Root("iam", "CreateRole",
       {{"RoleName", "target"},
        {"AssumeRolePolicyDocument",
         R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]})"}});
  aws::Principal session;
  session.account_id = kAccount;
  session.arn = "arn:aws:sts::000000000000:assumed-role/target/evt-1";
  EXPECT_EQ(As(session, "logs", "PutLogEvents", {{"logGroupName", "g"}, {"logStreamName", "s"}, {"logEvents", Document::array({{{"timestamp", 1}, {"message", "m"}}})}})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  Root("iam", "PutRolePolicy",
       {{"RoleName", "target"},
        {"PolicyName", "logs"},
        {"PolicyDocument", Allow("logs:PutLogEvents", "arn:aws:logs:*:*:log-group:g:*")}});
  EXPECT_EQ(As(session, "logs", "PutLogEvents", {{"logGroupName", "g"}, {"logStreamName", "s"}, {"logEvents", Document::array({{{"timestamp", 1}, {"message", "m"}}})}})
                .status()
                .code(),
            StatusCode::kUnimplemented);
}

TEST_F(IamServiceTest, CodeBuildBuildOperationsAreCheckedOnTheBuildsProject) {
  Root("iam", "CreateUser", {{"UserName", "dev"}});
  Root("iam", "PutUserPolicy",
       {{"UserName", "dev"},
        {"PolicyName", "builds"},
        {"PolicyDocument", Allow("codebuild:*", "arn:aws:codebuild:us-east-1:000000000000:project/app")}});
  std::string id = "app:0d2c8b1e-8c1a-4f6e-9d2b-3f1a2b3c4d5e";
  // Allowed: reaches the (absent) CodeBuild handler.
  EXPECT_EQ(As(User("dev"), "codebuild", "BatchGetBuilds", {{"ids", {id}}}).status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(As(User("dev"), "codebuild", "StopBuild", {{"id", "arn:aws:codebuild:us-east-1:000000000000:build/" + id}})
                .status()
                .code(),
            StatusCode::kUnimplemented);
  auto denied = As(User("dev"), "codebuild", "BatchGetBuilds", {{"ids", {id, "other:0d2c8b1e-8c1a-4f6e-9d2b-3f1a2b3c4d5e"}}});
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().message(),
            "User: arn:aws:iam::000000000000:user/dev is not authorized to perform: codebuild:BatchGetBuilds on "
            "resource: arn:aws:codebuild:us-east-1:000000000000:project/other because no identity-based policy allows "
            "the codebuild:BatchGetBuilds action");
}

TEST_F(IamServiceTest, PolicyDocumentsAreUrlEncodedAndVersionsLimited) {
  std::string text = Allow("s3:GetObject");
  Document created = Root("iam", "CreatePolicy", {{"PolicyName", "p"}, {"PolicyDocument", text}});
  std::string arn = created["Policy"]["Arn"];
  EXPECT_EQ(arn, "arn:aws:iam::000000000000:policy/p");
  EXPECT_TRUE(created["Policy"]["PolicyId"].get<std::string>().rfind("ANPA", 0) == 0);
  Document version = Root("iam", "GetPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v1"}});
  EXPECT_EQ(version["PolicyVersion"]["Document"], UriEncode(text));
  for (int i = 2; i <= 5; ++i) Root("iam", "CreatePolicyVersion", {{"PolicyArn", arn}, {"PolicyDocument", text}});
  auto sixth = As(aws::Principal::Root(kAccount), "iam", "CreatePolicyVersion", {{"PolicyArn", arn}, {"PolicyDocument", text}});
  EXPECT_EQ(sixth.status().aws_code(), "LimitExceeded");
  auto bad = As(aws::Principal::Root(kAccount), "iam", "CreatePolicy",
                {{"PolicyName", "q"}, {"PolicyDocument", R"({"Version":"2012-10-17","Statement":{"Effect":"Allow"}})"}});
  EXPECT_EQ(bad.status().aws_code(), "MalformedPolicyDocument");
  EXPECT_EQ(bad.status().message(), "Policy statement must contain actions.");
}

TEST_F(IamServiceTest, GroupsAndBoundariesCompose) {
  Root("iam", "CreateUser", {{"UserName", "dev"}});
  Root("iam", "CreateGroup", {{"GroupName", "devs"}});
  Root("iam", "AddUserToGroup", {{"GroupName", "devs"}, {"UserName", "dev"}});
  Root("iam", "AttachGroupPolicy", {{"GroupName", "devs"}, {"PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}});
  EXPECT_EQ(As(User("dev"), "ssm", "GetParameter", {{"Name", "/a"}}).status().code(), StatusCode::kUnimplemented);
  Root("iam", "PutUserPermissionsBoundary",
       {{"UserName", "dev"}, {"PermissionsBoundary", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}});
  auto bounded = As(User("dev"), "ssm", "GetParameter", {{"Name", "/a"}});
  EXPECT_EQ(bounded.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(bounded.status().message(),
            "User: arn:aws:iam::000000000000:user/dev is not authorized to perform: ssm:GetParameter on resource: "
            "arn:aws:ssm:us-east-1:000000000000:parameter/a because no permissions boundary allows the "
            "ssm:GetParameter action");
  auto policy = Root("iam", "GetPolicy", {{"PolicyArn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}});
  EXPECT_EQ(policy["Policy"]["PermissionsBoundaryUsageCount"], 1);
}

TEST_F(IamServiceTest, AnonymousCallersAreDeniedExceptForUnsignedOperations) {
  aws::Principal anonymous;
  anonymous.account_id = kAccount;
  auto denied = As(anonymous, "iam", "ListUsers");
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().message(),
            "User: anonymous is not authorized to perform: iam:ListUsers on resource: * because no identity-based "
            "policy allows the iam:ListUsers action");
  auto web = As(anonymous, "sts", "AssumeRoleWithWebIdentity",
                {{"RoleArn", "arn:aws:iam::000000000000:role/ci"}, {"RoleSessionName", "ci"},
                 {"WebIdentityToken", "x.y.z"}});
  EXPECT_EQ(web.status().code(), StatusCode::kUnimplemented);
}

TEST_F(IamServiceTest, HttpsGitCredentialsAreVerifiedForCodeCommit) {
  Root("iam", "CreateUser", {{"UserName", "dev"}});
  Document created = Root("iam", "CreateServiceSpecificCredential",
                          {{"UserName", "dev"}, {"ServiceName", "codecommit.amazonaws.com"}})["ServiceSpecificCredential"];
  std::string user = created["ServiceUserName"];
  std::string password = created["ServicePassword"];
  const aws::ServicePasswordVerifier* verifier = service_->service_passwords();
  auto principal = verifier->VerifyServicePassword("codecommit.amazonaws.com", user, password);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->arn, "arn:aws:iam::000000000000:user/dev");
  EXPECT_EQ(principal->user_id.substr(0, 4), "AIDA");
  EXPECT_FALSE(verifier->VerifyServicePassword("codecommit.amazonaws.com", user, password + "x"));
  EXPECT_FALSE(verifier->VerifyServicePassword("cassandra.amazonaws.com", user, password));
  EXPECT_FALSE(verifier->VerifyServicePassword("codecommit.amazonaws.com", "nobody-at-000000000000", password));
  Root("iam", "UpdateServiceSpecificCredential",
       {{"UserName", "dev"}, {"ServiceSpecificCredentialId", created["ServiceSpecificCredentialId"]},
        {"Status", "Inactive"}});
  EXPECT_FALSE(verifier->VerifyServicePassword("codecommit.amazonaws.com", user, password));
}

TEST_F(IamServiceTest, CodeCommitOperationsAndGitActionsAreCheckedOnTheRepository) {
  Root("iam", "CreateUser", {{"UserName", "dev"}});
  Root("iam", "PutUserPolicy",
       {{"UserName", "dev"},
        {"PolicyName", "repo"},
        {"PolicyDocument", Allow("codecommit:*", "arn:aws:codecommit:us-east-1:000000000000:app")}});
  // Allowed: reaches the (absent) CodeCommit handler.
  EXPECT_EQ(As(User("dev"), "codecommit", "GetRepository", {{"repositoryName", "app"}}).status().code(),
            StatusCode::kUnimplemented);
  auto denied = As(User("dev"), "codecommit", "BatchGetRepositories", {{"repositoryNames", {"app", "other"}}});
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("on resource: arn:aws:codecommit:us-east-1:000000000000:other"),
            std::string::npos);
  aws::RequestContext git;
  git.principal = User("dev");
  git.account_id = kAccount;
  git.region = "us-east-1";
  git.time = clock_.Now();
  EXPECT_TRUE(service_->authorizer()
                  ->AuthorizeAction(git, "codecommit:GitPush", "arn:aws:codecommit:us-east-1:000000000000:app")
                  .ok());
  EXPECT_EQ(service_->authorizer()
                ->AuthorizeAction(git, "codecommit:GitPull", "arn:aws:codecommit:us-east-1:000000000000:other")
                .code(),
            StatusCode::kPermissionDenied);
}

TEST_F(IamServiceTest, CodeCommitPullRequestAndCommentOperationsAreLeftToTheHandler) {
  const std::string app = "arn:aws:codecommit:us-east-1:000000000000:app";
  Root("iam", "CreateUser", {{"UserName", "dev"}});
  Root("iam", "PutUserPolicy", {{"UserName", "dev"}, {"PolicyName", "repo"}, {"PolicyDocument", Allow("codecommit:*", app)}});
  Root("iam", "PutUserPolicy",
       {{"UserName", "dev"},
        {"PolicyName", "no-override"},
        {"PolicyDocument",
         R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"codecommit:OverridePullRequestApprovalRules","Resource":")" +
             app + R"("}]})"}});
  // Not decided on "*" before the handler runs (an Allow scoped to a repository would never match
  // it): each reaches the (absent) CodeCommit handler, which checks the pull request's repository.
  for (const auto& [op, input] : std::vector<std::pair<std::string, Document>>{
           {"GetPullRequest", {{"pullRequestId", "1"}}},
           {"UpdatePullRequestApprovalState", {{"pullRequestId", "1"}, {"revisionId", "r"}, {"approvalState", "APPROVE"}}},
           {"OverridePullRequestApprovalRules", {{"pullRequestId", "1"}, {"revisionId", "r"}, {"overrideStatus", "OVERRIDE"}}},
           {"GetCommentsForPullRequest", {{"pullRequestId", "1"}, {"repositoryName", "other"}}},
           {"GetComment", {{"commentId", "c"}}},
           {"PostCommentReply", {{"inReplyTo", "c"}, {"content", "x"}}}}) {
    EXPECT_EQ(As(User("dev"), "codecommit", op, input).status().code(), StatusCode::kUnimplemented) << op;
  }
  aws::RequestContext ctx;
  ctx.principal = User("dev");
  ctx.account_id = kAccount;
  ctx.region = "us-east-1";
  ctx.time = clock_.Now();
  EXPECT_TRUE(service_->authorizer()->AuthorizeAction(ctx, "codecommit:UpdatePullRequestApprovalState", app).ok());
  EXPECT_EQ(service_->authorizer()
                ->AuthorizeAction(ctx, "codecommit:UpdatePullRequestApprovalState",
                                  "arn:aws:codecommit:us-east-1:000000000000:other")
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->authorizer()->AuthorizeAction(ctx, "codecommit:OverridePullRequestApprovalRules", app).code(),
            StatusCode::kPermissionDenied);

  // UpdateRepositoryName names the repository as oldName.
  EXPECT_EQ(As(User("dev"), "codecommit", "UpdateRepositoryName", {{"oldName", "app"}, {"newName", "b"}}).status().code(),
            StatusCode::kUnimplemented);
  auto renamed = As(User("dev"), "codecommit", "UpdateRepositoryName", {{"oldName", "other"}, {"newName", "b"}});
  EXPECT_EQ(renamed.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(renamed.status().message().find("on resource: arn:aws:codecommit:us-east-1:000000000000:other"),
            std::string::npos);
}

}  // namespace
}  // namespace gantry::services::iam
