#include <gtest/gtest.h>

#include "core/common/arn.h"
#include "core/common/crypto.h"
#include "core/common/ids.h"
#include "core/common/periodic_task.h"
#include "core/common/status.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry {
namespace {

TEST(StatusTest, OkAndError) {
  EXPECT_TRUE(Status().ok());
  Status s = Status::NotFound("Rule r does not exist.", "ResourceNotFoundException");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.aws_code(), "ResourceNotFoundException");
  StatusOr<int> v = 3;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 3);
  StatusOr<int> e = Status::Internal("x");
  EXPECT_EQ(e.status().code(), StatusCode::kInternal);
}

TEST(StringsTest, UriEncodeDecode) {
  EXPECT_EQ(UriEncode("a b/c~*"), "a%20b%2Fc~%2A");
  EXPECT_EQ(UriEncode("a b/c", false), "a%20b/c");
  EXPECT_EQ(*UriDecode("a%20b+c", true), "a b c");
  EXPECT_FALSE(UriDecode("bad%2").has_value());
  EXPECT_FALSE(UriDecode("bad%zz").has_value());
}

TEST(StringsTest, Base64AndHex) {
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(*Base64Decode("aGVsbG8="), "hello");
  EXPECT_FALSE(Base64Decode("a$==").has_value());
  EXPECT_EQ(HexEncode("\x01\xff"), "01ff");
  EXPECT_EQ(*HexDecode("01ff"), "\x01\xff");
}

TEST(StringsTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8("héllo ✓"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(CryptoTest, KnownDigests) {
  EXPECT_EQ(HexEncode(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc64Nvme("123456789"), 0xAE8B14860A799888ull);
  Hasher h(DigestAlgorithm::kSha256);
  h.Update("ab");
  h.Update("c");
  EXPECT_EQ(h.Final(), Sha256("abc"));
}

TEST(TimeFormatTest, RoundTrips) {
  TimePoint t = FromEpochSeconds(1700000000.5);
  EXPECT_EQ(FormatIso8601(t), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatIso8601(t, true), "2023-11-14T22:13:20.500Z");
  EXPECT_EQ(FormatAmzDate(t), "20231114T221320Z");
  EXPECT_EQ(FormatRfc1123(t), "Tue, 14 Nov 2023 22:13:20 GMT");
  EXPECT_EQ(ToEpochSeconds(*ParseIso8601("2023-11-14T22:13:20.5Z")), 1700000000.5);
  EXPECT_EQ(ToEpochSeconds(*ParseIso8601("2023-11-14T23:13:20+01:00")), 1700000000);
  EXPECT_EQ(ToEpochSeconds(*ParseAmzDate("20231114T221320Z")), 1700000000);
  EXPECT_EQ(ToEpochSeconds(*ParseRfc1123("Tue, 14 Nov 2023 22:13:20 GMT")), 1700000000);
  EXPECT_FALSE(ParseIso8601("2023-13-01").has_value());
  EXPECT_FALSE(ParseAmzDate("2023").has_value());
  EXPECT_FALSE(ParseIso8601("9999-01-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseAmzDate("99991231T000000Z").has_value());
  EXPECT_FALSE(ParseRfc1123("Fri, 31 Dec 9999 00:00:00 GMT").has_value());
}

TEST(IdsTest, UuidShape) {
  SequentialIdSource ids;
  std::string u = ids.Uuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_EQ(RandomIdSource::Instance()->FromAlphabet(20, "ABC").size(), 20u);
}

TEST(ArnTest, ParseAndFormat) {
  auto arn = Arn::Parse("arn:aws:iam::000000000000:role/path/name");
  ASSERT_TRUE(arn.has_value());
  EXPECT_EQ(arn->service, "iam");
  EXPECT_EQ(arn->region, "");
  EXPECT_EQ(arn->resource, "role/path/name");
  EXPECT_EQ(arn->ToString(), "arn:aws:iam::000000000000:role/path/name");
  EXPECT_FALSE(Arn::Parse("nope").has_value());
}

TEST(PeriodicTaskTest, RunsRepeatedlyAndStopsPromptly) {
  std::mutex mu;
  std::condition_variable cv;
  int runs = 0;
  PeriodicTask task(std::chrono::milliseconds(1), [&] {
    std::lock_guard lock(mu);
    ++runs;
    cv.notify_all();
  });
  task.Start();
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return runs >= 3; });
  }
  task.Stop();
  int after_stop;
  {
    std::lock_guard lock(mu);
    after_stop = runs;
  }
  task.Stop();
  EXPECT_GE(after_stop, 3);
  PeriodicTask idle(std::chrono::hours(1), [] {});
  idle.Start();
  idle.Stop();  // returns without waiting an hour
}

}  // namespace
}  // namespace gantry
