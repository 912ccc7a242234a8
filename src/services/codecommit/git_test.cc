#include "services/codecommit/git.h"

#include <gtest/gtest.h>

#include "core/store/test_support.h"

namespace gantry::services::codecommit::git {
namespace {

TEST(GitTest, InitBareThenOpen) {
  store::testing::ScratchDirectory dir;
  std::string path = dir.File("repos/r1");
  auto created = InitBare(path);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(git_repository_is_bare(created->get()), 1);
  auto opened = Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(git_repository_head_unborn(opened->get()), 1);
  git_reference* head = nullptr;
  ASSERT_EQ(git_reference_lookup(&head, opened->get(), "HEAD"), 0);
  EXPECT_STREQ(git_reference_symbolic_target(head), "refs/heads/main");
  git_reference_free(head);
}

TEST(GitTest, OpenOfMissingDirectoryIsAnError) {
  store::testing::ScratchDirectory dir;
  auto opened = Open(dir.File("absent"));
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find(dir.File("absent")), std::string::npos);
}

TEST(GitTest, OidParsing) {
  git_oid oid;
  EXPECT_TRUE(ParseOid("0123456789abcdef0123456789abcdef01234567", oid));
  EXPECT_EQ(OidHex(oid), "0123456789abcdef0123456789abcdef01234567");
  EXPECT_FALSE(ParseOid("0123456789abcdef", oid));
  EXPECT_FALSE(ParseOid("g123456789abcdef0123456789abcdef01234567", oid));
}

}  // namespace
}  // namespace gantry::services::codecommit::git
