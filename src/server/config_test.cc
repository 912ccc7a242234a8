#include <gtest/gtest.h>

#include "server/config.h"

namespace gantry::server {
namespace {

TEST(ConfigTest, Defaults) {
  auto c = ParseConfig({});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, 4566);
  EXPECT_EQ(c->account_id, "000000000000");
  EXPECT_EQ(c->region, "us-east-1");
  EXPECT_FALSE(c->accept_any_credentials);
}

TEST(ConfigTest, Flags) {
  auto c = ParseConfig({"--listen", "0.0.0.0:0", "--state-dir=/tmp/x", "--account-id", "123456789012", "--region",
                        "eu-west-1", "--accept-any-credentials"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "0.0.0.0");
  EXPECT_EQ(c->port, 0);
  EXPECT_EQ(c->state_dir, "/tmp/x");
  EXPECT_EQ(c->account_id, "123456789012");
  EXPECT_EQ(c->region, "eu-west-1");
  EXPECT_TRUE(c->accept_any_credentials);
}

TEST(ConfigTest, ConcurrentBuilds) {
  EXPECT_EQ(ParseConfig({})->concurrent_builds, 4);
  EXPECT_EQ(ParseConfig({"--concurrent-builds", "12"})->concurrent_builds, 12);
  EXPECT_EQ(ParseConfig({"--concurrent-builds=0"}).status().message(),
            "--concurrent-builds must be a number from 1 to 1000, got '0'");
}

TEST(ConfigTest, Ipv6Listen) {
  std::string host;
  uint16_t port;
  ASSERT_TRUE(ParseListen("[::1]:4566", host, port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 4566);
}

TEST(ConfigTest, Errors) {
  EXPECT_EQ(ParseConfig({"--listen", "nope"}).status().message(), "--listen must be HOST:PORT, got 'nope'");
  EXPECT_FALSE(ParseConfig({"--listen", "h:70000"}).ok());
  EXPECT_FALSE(ParseConfig({"--account-id", "12"}).ok());
  EXPECT_FALSE(ParseConfig({"--region", "US EAST"}).ok());
  EXPECT_EQ(ParseConfig({"--bogus"}).status().message(), "unknown flag '--bogus'");
  EXPECT_EQ(ParseConfig({"--region"}).status().message(), "--region needs a value");
}

}  // namespace
}  // namespace gantry::server
