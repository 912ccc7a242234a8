#include "services/codecommit/git_http.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/strings.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"
#include "services/codecommit/records.h"

namespace gantry::services::codecommit {
namespace {

http::Request Get(const std::string& target, const std::string& method = "GET") {
  http::Request request;
  request.method = method;
  request.target = target;
  http::SplitTarget(target, request.path, request.query);
  return request;
}

TEST(GitRouteTest, Paths) {
  auto advertisement = ParseGitRoute(Get("/v1/repos/my-repo/info/refs?service=git-upload-pack"));
  ASSERT_TRUE(advertisement);
  EXPECT_EQ(advertisement->repository, "my-repo");
  EXPECT_EQ(advertisement->url_path, "/v1/repos/my-repo");
  EXPECT_EQ(advertisement->suffix, "info/refs");
  EXPECT_FALSE(advertisement->push);

  auto receive = ParseGitRoute(Get("/v1/repos/my-repo/info/refs?service=git-receive-pack"));
  ASSERT_TRUE(receive);
  EXPECT_TRUE(receive->push);
  auto rpc = ParseGitRoute(Get("/v1/repos/my-repo/git-receive-pack", "POST"));
  ASSERT_TRUE(rpc);
  EXPECT_TRUE(rpc->push);
  auto upload = ParseGitRoute(Get("/v1/repos/my-repo/git-upload-pack", "POST"));
  ASSERT_TRUE(upload);
  EXPECT_FALSE(upload->push);
  auto dumb = ParseGitRoute(Get("/v1/repos/my-repo/objects/info/packs"));
  ASSERT_TRUE(dumb);
  EXPECT_FALSE(dumb->push);
  auto encoded = ParseGitRoute(Get("/v1/repos/my%2Erepo/HEAD"));
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->repository, "my.repo");

  // Not git: left to S3 (a bucket named v1) and the AWS dispatcher.
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos/my-repo")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos/my-repo/README.md")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos//info/refs")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos/r/objects/../../x")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/other/r/info/refs")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos/r/info/refs", "PUT")));
}

// Refuses every action (the authorizer's answer for a principal without GitPull/GitPush).
class DenyAll final : public aws::Authorizer {
 public:
  Status Authorize(const aws::RequestContext&, const aws::Document&) override { return Status::Ok(); }
  Status AuthorizeAction(const aws::RequestContext& ctx, std::string_view action, std::string_view resource) override {
    asked = std::string(action) + " " + std::string(resource);
    return Status::PermissionDenied("User: " + ctx.principal.arn +
                                    " is not authorized to perform: " + std::string(action));
  }
  std::string asked;
};

class ServeGitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteStoreOptions options;
    options.clock = &clock_;
    auto opened = store::OpenSqliteStore(dir_.File("gantry.db"), options);
    ASSERT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    deps_.store = store_.get();
    deps_.clock = &clock_;
    deps_.ids = &ids_;
    deps_.repos_root = dir_.File("codecommit/repos");
    deps_.work_dir = dir_.File("codecommit");
    ASSERT_TRUE(PrepareGitHosting(deps_).ok());
    Document doc = {{"repositoryId", "r-1"},
                    {"repositoryName", "demo"},
                    {"accountId", "000000000000"},
                    {"region", "us-east-1"},
                    {"arn", RepositoryArn("us-east-1", "000000000000", "demo")}};
    ASSERT_TRUE(git::InitBare(RepositoryPath(deps_, "r-1")).ok());
    ASSERT_TRUE(store_->Create(kRepositoryTable, "000000000000/us-east-1", "demo", doc).ok());
    context_.account_id = "000000000000";
    context_.region = "us-east-1";
  }

  http::Response Serve(const http::Request& request) {
    http::Response response;
    auto route = ParseGitRoute(request);
    EXPECT_TRUE(route);
    if (route) ServeGit(deps_, *route, request, context_, response);
    return response;
  }

  store::testing::ScratchDirectory dir_;
  FakeClock clock_;
  SequentialIdSource ids_;
  std::unique_ptr<store::Store> store_;
  CodeCommitDeps deps_;
  aws::HttpServeContext context_;
};

TEST_F(ServeGitTest, HooksAreInstalledExecutable) {
  for (const char* hook : {"update", "post-receive"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir_.File(std::string("codecommit/hooks/") + hook).c_str(), &st), 0) << hook;
    EXPECT_TRUE(st.st_mode & S_IXUSR) << hook;
  }
}

TEST_F(ServeGitTest, UnauthenticatedRequestsAreChallenged) {
  http::Response response = Serve(Get("/v1/repos/demo/info/refs?service=git-upload-pack"));
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.headers.Get("WWW-Authenticate"), "Basic realm=\"Gantry CodeCommit\"");
  http::Request bad = Get("/v1/repos/demo/info/refs?service=git-upload-pack");
  bad.headers.Add("Authorization", "Basic " + Base64Encode("someone:something"));
  EXPECT_EQ(Serve(bad).status, 401);
}

TEST_F(ServeGitTest, AdvertisementThroughHttpBackend) {
  context_.accept_any_credentials = true;
  http::Response response = Serve(Get("/v1/repos/demo/info/refs?service=git-upload-pack"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/x-git-upload-pack-advertisement");
  EXPECT_EQ(response.body.substr(0, 30), "001e# service=git-upload-pack\n");

  http::Request v2 = Get("/v1/repos/demo/info/refs?service=git-upload-pack");
  v2.headers.Add("Git-Protocol", "version=2");
  EXPECT_NE(Serve(v2).body.find("version 2"), std::string::npos);

  EXPECT_EQ(Serve(Get("/v1/repos/missing/info/refs?service=git-upload-pack")).status, 404);
}

TEST_F(ServeGitTest, PullAndPushAreAuthorizedOnTheRepositoryArn) {
  context_.accept_any_credentials = true;
  DenyAll deny;
  context_.authorizer = &deny;
  http::Response pull = Serve(Get("/v1/repos/demo/info/refs?service=git-upload-pack"));
  EXPECT_EQ(pull.status, 403);
  EXPECT_EQ(deny.asked, "codecommit:GitPull arn:aws:codecommit:us-east-1:000000000000:demo");
  EXPECT_EQ(Serve(Get("/v1/repos/demo/info/refs?service=git-receive-pack")).status, 403);
  EXPECT_EQ(deny.asked, "codecommit:GitPush arn:aws:codecommit:us-east-1:000000000000:demo");
}

}  // namespace
}  // namespace gantry::services::codecommit
