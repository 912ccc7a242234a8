#include "services/codebuild/git_source.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "services/codebuild/environment.h"

namespace gantry::services::codebuild {
namespace {

namespace fs = std::filesystem;

TEST(ParseGitVersionTest, CodeBuildsForms) {
  auto v = ParseGitVersion("");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->name.empty() && v->ref.empty() && v->commit.empty());

  v = ParseGitVersion("feature/x");
  EXPECT_EQ(v->name, "feature/x");
  EXPECT_FALSE(v->abbreviated);
  EXPECT_EQ(ParseGitVersion("refs/heads/dev")->name, "dev");
  EXPECT_EQ(ParseGitVersion("refs/tags/v1.0")->name, "v1.0");
  EXPECT_EQ(ParseGitVersion("refs/pull/3/head")->ref, "refs/pull/3/head");
  EXPECT_EQ(ParseGitVersion("pr/25")->ref, "refs/pull/25/head");
  EXPECT_EQ(ParseGitVersion("pr/x")->name, "pr/x");

  std::string full = "0123456789ABCDEF0123456789abcdef01234567";
  v = ParseGitVersion(full);
  EXPECT_EQ(v->commit, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_TRUE(v->name.empty());

  // An abbreviated commit ID is also a valid branch name: the branch or tag wins, as in git.
  v = ParseGitVersion("abc1234");
  EXPECT_EQ(v->name, "abc1234");
  EXPECT_TRUE(v->abbreviated);
  EXPECT_EQ(v->commit, "abc1234");
  EXPECT_FALSE(ParseGitVersion("abc")->abbreviated);

  v = ParseGitVersion("refs/heads/main^{" + full + "}");
  EXPECT_EQ(v->name, "main");
  EXPECT_TRUE(v->on_reference);
  EXPECT_EQ(v->commit, "0123456789abcdef0123456789abcdef01234567");
  v = ParseGitVersion("refs/pull/1/head^{" + full + "}");
  EXPECT_EQ(v->ref, "refs/pull/1/head");
  EXPECT_TRUE(v->on_reference);

  std::vector<std::string> bad_versions = {"refs/heads/main^{abc}", "^{" + full + "}", "refs/heads/main^{" + full};
  for (const std::string& bad : bad_versions) {
    auto parsed = ParseGitVersion(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("Invalid source version: " + bad), std::string::npos);
  }
}

TEST(ParseUrlTest, PartsAsWritten) {
  std::optional<UrlParts> parts = ParseUrl("HTTPS://user:pw@Git.Example.com:8443/v1/repos/app");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->scheme, "HTTPS");
  EXPECT_EQ(parts->host, "Git.Example.com");
  EXPECT_EQ(parts->port, "8443");
  EXPECT_EQ(parts->path, "/v1/repos/app");
  parts = ParseUrl("http://[::1]");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->host, "[::1]");
  EXPECT_EQ(parts->port, "");
  EXPECT_EQ(parts->path, "/");
  EXPECT_FALSE(ParseUrl("git@example.com:app.git"));
}

TEST(GantryRepositoryPathTest, AwsAndGantryCloneUrls) {
  std::string endpoint = "http://127.0.0.1:4566";
  EXPECT_EQ(GantryRepositoryPath("HTTP://127.0.0.1:4566/v1/repos/app", endpoint), "/v1/repos/app");
  EXPECT_EQ(GantryRepositoryPath("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app", endpoint),
            "/v1/repos/app");
  EXPECT_EQ(GantryRepositoryPath("https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/lib", endpoint),
            "/v1/repos/lib");
  EXPECT_EQ(GantryRepositoryPath("http://127.0.0.1:4566/v1/repos/app", endpoint), "/v1/repos/app");
  EXPECT_FALSE(GantryRepositoryPath("http://127.0.0.1:4567/v1/repos/app", endpoint));
  EXPECT_FALSE(GantryRepositoryPath("https://example.com/v1/repos/app", endpoint));
  EXPECT_FALSE(GantryRepositoryPath("http://git-codecommit.us-east-1.amazonaws.com/v1/repos/app", endpoint));
  EXPECT_FALSE(GantryRepositoryPath("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/", endpoint));
  EXPECT_FALSE(GantryRepositoryPath("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/a/b", endpoint));
  EXPECT_FALSE(GantryRepositoryPath("https://git-codecommit.us-east-1.amazonaws.com.evil.com/v1/repos/a", endpoint));
}

TEST(SecondarySourceVariablesTest, DirectoryVersionAndUrl) {
  aws::Document source = {{"type", "CODECOMMIT"},
                          {"location", "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/lib"},
                          {"sourceIdentifier", "lib_src"}};
  auto vars = SecondarySourceVariables(source, "v2", "/w/sources/lib_src");
  ASSERT_EQ(vars.size(), 3u);
  EXPECT_EQ(vars[0].name, "CODEBUILD_SRC_DIR_lib_src");
  EXPECT_EQ(vars[0].value, "/w/sources/lib_src");
  EXPECT_EQ(vars[1].name, "CODEBUILD_SOURCE_VERSION_lib_src");
  EXPECT_EQ(vars[1].value, "v2");
  EXPECT_EQ(vars[2].name, "CODEBUILD_SOURCE_REPO_URL_lib_src");
  EXPECT_EQ(vars[2].value, "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/lib");
}

// Real git against local repositories (file:// URLs, so that --depth applies).
class CloneGitSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gantry-git-source-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    env_ = {"PATH=" + std::string(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"),
            "HOME=" + root_,
            "GIT_CONFIG_NOSYSTEM=1",
            "GIT_CONFIG_GLOBAL=/dev/null",
            "GIT_AUTHOR_NAME=t",
            "GIT_AUTHOR_EMAIL=t@example.com",
            "GIT_COMMITTER_NAME=t",
            "GIT_COMMITTER_EMAIL=t@example.com"};
    // main: c1 (tag v1) - c2 - c3; dev: c2 - c4.
    Git({"init", "-q", "-b", "main", "work"}, root_);
    c1_ = Commit("one");
    Git({"tag", "v1"});
    c2_ = Commit("two");
    c3_ = Commit("three");
    Git({"checkout", "-q", "-b", "dev", c2_});
    c4_ = Commit("four");
    Git({"checkout", "-q", "main"});
    Git({"clone", "-q", "--bare", "work", "app.git"}, root_);
    url_ = "file://" + root_ + "/app.git";
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Git(const std::vector<std::string>& args, const std::string& cwd = "") {
    std::vector<std::string> argv = {"git", "-c", "protocol.file.allow=always"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv, cwd.empty() ? root_ + "/work" : cwd, env_,
                             std::chrono::steady_clock::now() + std::chrono::seconds(60), nullptr);
    EXPECT_TRUE(result.ok() && result->exit_code == 0) << result->output;
    return result.ok() ? std::string(result->output) : std::string();
  }

  std::string Commit(const std::string& content, const std::string& dir = "") {
    std::string work = dir.empty() ? root_ + "/work" : dir;
    std::ofstream(work + "/file.txt") << content << "\n";
    Git({"add", "file.txt"}, work);
    Git({"commit", "-qm", content}, work);
    std::string head = Git({"rev-parse", "HEAD"}, work);
    return head.substr(0, 40);
  }

  StatusOr<std::string> Clone(const std::string& version, int depth = 0, bool submodules = false) {
    dir_ = root_ + "/src" + std::to_string(++clones_);
    fs::create_directories(dir_);
    GitCommands commands;
    commands.run = [&](const std::vector<std::string>& args, const std::string& cwd) {
      std::vector<std::string> argv = {"git", "-c", "protocol.file.allow=always", "-c", "advice.detachedHead=false"};
      argv.insert(argv.end(), args.begin(), args.end());
      return RunCommand(argv, cwd, env_, std::chrono::steady_clock::now() + std::chrono::seconds(60), nullptr);
    };
    commands.authorize = [&](const std::vector<std::string>& urls) {
      authorized_.insert(authorized_.end(), urls.begin(), urls.end());
    };
    GitSource source{url_, version, depth, submodules, " for primary source and source version " + version};
    return CloneGitSource(commands, source, dir_);
  }

  std::string InClone(const std::vector<std::string>& args) {
    std::string out = Git(args, dir_);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  std::string root_, url_, dir_, c1_, c2_, c3_, c4_;
  std::vector<std::string> env_, authorized_;
  int clones_ = 0;
};

TEST_F(CloneGitSourceTest, DefaultBranchFullOrShallow) {
  auto head = Clone("");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, c3_);
  EXPECT_EQ(InClone({"rev-list", "--count", "HEAD"}), "3");
  EXPECT_EQ(InClone({"symbolic-ref", "--short", "HEAD"}), "main");
  EXPECT_EQ(authorized_, std::vector<std::string>{url_});

  head = Clone("", 1);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, c3_);
  EXPECT_EQ(InClone({"rev-list", "--count", "HEAD"}), "1");
}

TEST_F(CloneGitSourceTest, BranchesAndTagsByNameOrReferenceDetached) {
  for (const auto& [version, commit] : std::vector<std::pair<std::string, std::string>>{
           {"dev", c4_}, {"refs/heads/dev", c4_}, {"v1", c1_}, {"refs/tags/v1", c1_}, {"main", c3_}}) {
    auto head = Clone(version, 1);
    ASSERT_TRUE(head.ok()) << version << ": " << head.status().ToString();
    EXPECT_EQ(*head, commit) << version;
    EXPECT_EQ(InClone({"rev-list", "--count", "HEAD"}), "1") << version;
    EXPECT_EQ(InClone({"rev-parse", "--abbrev-ref", "HEAD"}), "HEAD") << version << " is detached";
  }
  auto head = Clone("refs/heads/dev");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(InClone({"rev-list", "--count", "HEAD"}), "3");
}

TEST_F(CloneGitSourceTest, CommitIdsFullAndAbbreviated) {
  auto head = Clone(c2_, 1);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, c2_);
  head = Clone(c2_);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, c2_);
  EXPECT_EQ(InClone({"rev-list", "--count", "HEAD"}), "2");
  head = Clone(c4_.substr(0, 9), 1);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, c4_);
  head = Clone(c1_.substr(0, 7));
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, c1_);
}

TEST_F(CloneGitSourceTest, ReferenceAndCommit) {
  auto head = Clone("refs/heads/main^{" + c2_ + "}", 1);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, c2_);
  head = Clone("refs/heads/main^{" + c3_ + "}", 1);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, c3_);
  EXPECT_EQ(InClone({"rev-list", "--count", "HEAD"}), "1");
  // c3 is not in dev's history.
  head = Clone("refs/heads/dev^{" + c3_ + "}");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().message(),
            "reference not found for primary source and source version refs/heads/dev^{" + c3_ + "}");
}

TEST_F(CloneGitSourceTest, UnknownVersionsAreClientErrors) {
  std::vector<std::string> versions = {"nope",     "refs/heads/nope", "refs/tags/nope",
                                       "pr/7",     "abcdef12",        "0123456789abcdef0123456789abcdef01234567"};
  for (const std::string& version : versions) {
    auto head = Clone(version, 1);
    ASSERT_FALSE(head.ok()) << version;
    EXPECT_EQ(head.status().aws_code(), "CLIENT_ERROR") << version;
    EXPECT_EQ(head.status().message(), "reference not found for primary source and source version " + version);
  }
  url_ = "file://" + root_ + "/missing.git";
  auto head = Clone("");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().message().rfind("git clone failed: ", 0), 0u) << head.status().message();
}

TEST_F(CloneGitSourceTest, SubmodulesRecursivelyEachAuthorized) {
  // lib (with its own submodule leaf) inside app.
  for (const char* name : {"leaf", "lib"}) {
    std::string work = root_ + "/" + name + "-work";
    Git({"init", "-q", "-b", "main", work}, root_);
    Commit(name, work);
    if (std::string(name) == "lib") {
      Git({"submodule", "--quiet", "add", "file://" + root_ + "/leaf.git", "leaf"}, work);
      Git({"commit", "-qm", "leaf"}, work);
    }
    Git({"clone", "-q", "--bare", work, std::string(name) + ".git"}, root_);
  }
  Git({"submodule", "--quiet", "add", "file://" + root_ + "/lib.git", "vendor/lib"});
  Git({"commit", "-qm", "lib"});
  Git({"push", "-q", root_ + "/app.git", "main"});

  auto head = Clone("", 0, false);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_FALSE(fs::exists(dir_ + "/vendor/lib/file.txt"));
  authorized_.clear();
  head = Clone("main", 1, true);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  std::ifstream lib(dir_ + "/vendor/lib/file.txt"), leaf(dir_ + "/vendor/lib/leaf/file.txt");
  std::string line;
  EXPECT_TRUE(std::getline(lib, line) && line == "lib");
  EXPECT_TRUE(std::getline(leaf, line) && line == "leaf");
  std::vector<std::string> expected = {url_, "file://" + root_ + "/lib.git", "file://" + root_ + "/leaf.git"};
  EXPECT_EQ(authorized_, expected);
}

TEST_F(CloneGitSourceTest, OnlyHttpTransportsUnderGantrysOptionsAndEnvironment) {
  // An ssh on PATH that records being run: git must never reach Gantry's own keys.
  fs::create_directories(root_ + "/bin");
  std::ofstream(root_ + "/bin/ssh") << "#!/bin/sh\ntouch " << root_ << "/ssh-used\nexit 1\n";
  fs::permissions(root_ + "/bin/ssh", fs::perms::owner_all);
  std::vector<std::string> env = GitEnvironment(root_ + "/home");
  for (std::string& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) entry = "PATH=" + root_ + "/bin:" + entry.substr(5);
  }
  // The superproject over file:// (allowed here, after Gantry's options, as a later -c wins); its
  // submodule over ssh.
  std::ofstream(root_ + "/work/.gitmodules") << "[submodule \"lib\"]\n\tpath = lib\n\turl = ssh://localhost/lib.git\n";
  Git({"update-index", "--add", "--cacheinfo", "160000," + c1_ + ",lib"});
  Git({"add", ".gitmodules"});
  Git({"commit", "-qm", "ssh submodule"});
  Git({"push", "-q", root_ + "/app.git", "main"});
  auto clone = [&](const std::string& url, bool allow_file) {
    dir_ = root_ + "/src" + std::to_string(++clones_);
    fs::create_directories(dir_);
    GitCommands commands;
    commands.run = [&](const std::vector<std::string>& args, const std::string& cwd) {
      std::vector<std::string> argv = {"git"};
      for (const std::string& option : GitTransportOptions()) argv.push_back(option);
      if (allow_file) argv.insert(argv.end(), {"-c", "protocol.file.allow=always"});
      argv.insert(argv.end(), args.begin(), args.end());
      return RunCommand(argv, cwd, env, std::chrono::steady_clock::now() + std::chrono::seconds(60), nullptr);
    };
    commands.authorize = [](const std::vector<std::string>&) {};
    return CloneGitSource(commands, GitSource{url, "", 0, true, " for primary source"}, dir_);
  };
  for (const char* url : {"ssh://localhost/app.git", "git@localhost:app.git", "git://localhost/app.git"}) {
    auto head = clone(url, false);
    ASSERT_FALSE(head.ok()) << url;
    EXPECT_NE(head.status().message().find("not allowed"), std::string::npos) << head.status().message();
  }
  auto head = clone(url_, false);
  ASSERT_FALSE(head.ok());
  EXPECT_NE(head.status().message().find("transport 'file' not allowed"), std::string::npos)
      << head.status().message();
  head = clone(url_, true);
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().message().rfind("git submodule update failed: transport 'ssh' not allowed", 0), 0u)
      << head.status().message();
  EXPECT_FALSE(fs::exists(root_ + "/ssh-used"));
}

TEST(GitEnvironmentTest, CLocaleAndNoSsh) {
  ::setenv("LANG", "de_DE.UTF-8", 1);
  std::vector<std::string> env = GitEnvironment("/h");
  ::unsetenv("LANG");
  for (const char* expected : {"HOME=/h", "LC_ALL=C", "LANGUAGE=C", "GIT_SSH_COMMAND=false", "GIT_SSH=false"}) {
    EXPECT_NE(std::find(env.begin(), env.end(), expected), env.end()) << expected;
  }
  for (const std::string& entry : env) EXPECT_NE(entry.rfind("LANG=", 0), 0u) << entry;
}

}  // namespace
}  // namespace gantry::services::codebuild
