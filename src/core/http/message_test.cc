#include "core/http/message.h"

#include <gtest/gtest.h>

namespace gantry::http {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(HeadersTest, LookupIsCaseInsensitiveAndKeepsOrder) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-Amz-Meta-A", "1");
  h.Add("x-amz-meta-a", "2");
  EXPECT_EQ(h.Get("content-type"), "text/plain");
  EXPECT_EQ(h.Get("X-AMZ-META-A"), "1");
  EXPECT_TRUE(h.Has("CONTENT-TYPE"));
  EXPECT_FALSE(h.Has("Content-Length"));
  EXPECT_EQ(h.Get("Content-Length"), "");
  ASSERT_EQ(h.fields().size(), 3u);
  EXPECT_EQ(h.fields()[2].first, "x-amz-meta-a");
}

TEST(HeadersTest, SetReplacesEveryValueAndRemoveDeletesAll) {
  Headers h;
  h.Add("A", "1");
  h.Add("B", "x");
  h.Add("a", "2");
  h.Set("A", "3");
  ASSERT_EQ(h.fields().size(), 2u);
  EXPECT_EQ(h.Get("a"), "3");
  h.Remove("b");
  EXPECT_FALSE(h.Has("B"));
  EXPECT_EQ(h.fields().size(), 1u);
}

TEST(MessageTest, QueryParamsDecodeInOrder) {
  Request r;
  r.query = "b=2&a=%2Fx%20y&flag&c=a+b&&d=";
  EXPECT_EQ(r.QueryParams(), (Params{{"b", "2"}, {"a", "/x y"}, {"flag", ""}, {"c", "a b"}, {"d", ""}}));
}

TEST(MessageTest, QueryParamsKeepMalformedEscapesRaw) {
  Request r;
  r.query = "k=%zz&%4=v";
  EXPECT_EQ(r.QueryParams(), (Params{{"k", "%zz"}, {"%4", "v"}}));
  r.query = "";
  EXPECT_TRUE(r.QueryParams().empty());
}

TEST(MessageTest, SplitTarget) {
  std::string path, query;
  SplitTarget("/bucket/key%20x?versionId=1&x", path, query);
  EXPECT_EQ(path, "/bucket/key%20x");
  EXPECT_EQ(query, "versionId=1&x");
  SplitTarget("/", path, query);
  EXPECT_EQ(path, "/");
  EXPECT_EQ(query, "");
  SplitTarget("/a?", path, query);
  EXPECT_EQ(path, "/a");
  EXPECT_EQ(query, "");
  SplitTarget("/a?b?c", path, query);
  EXPECT_EQ(path, "/a");
  EXPECT_EQ(query, "b?c");
}

}  // namespace
}  // namespace gantry::http
