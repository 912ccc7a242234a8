// The pure parts of S3: digests and multipart checksum math, ranges and preconditions, names.
#include <gtest/gtest.h>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "services/s3/conditions.h"
#include "services/s3/digests.h"
#include "services/s3/names.h"

namespace gantry::services::s3 {
namespace {

std::string Base64Crc32(std::string_view data) {
  uint32_t crc = Crc32(data);
  std::string raw = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16), static_cast<char>(crc >> 8),
                     static_cast<char>(crc)};
  return Base64Encode(raw);
}

TEST(DigestsTest, BodyDigesterComputesMd5AndChecksumsInOnePass) {
  BodyDigester digester({"CRC32", "SHA256", "CRC32", "NOPE"});
  digester.Update("hello ");
  digester.Update("world");
  BodyDigests d = digester.Finish();
  EXPECT_EQ(d.size, 11u);
  EXPECT_EQ(HexEncode(d.md5), "5eb63bbbe01eeed093cb22bb8f5acdc3");
  ASSERT_EQ(d.checksums.size(), 2u);
  EXPECT_EQ(d.checksums["CRC32"], "DUoRhQ==");
  EXPECT_EQ(d.checksums["SHA256"], Base64Encode(Sha256("hello world")));
}

TEST(DigestsTest, MultipartETagIsMd5OfPartMd5s) {
  // Values computed with Python's hashlib for parts "a"*10 and "b"*7.
  EXPECT_EQ(MultipartETag({HexEncode(Md5(std::string(10, 'a'))), HexEncode(Md5(std::string(7, 'b')))}),
            "30e57f64e284aca6fd268ecbac8a42dc-2");
}

TEST(DigestsTest, CompositeAndFullObjectChecksums) {
  std::string a(10, 'a'), b(7, 'b');
  EXPECT_EQ(Base64Crc32(a), "TBHN8A==");
  auto composite = CompositeChecksum("CRC32", {Base64Crc32(a), Base64Crc32(b)});
  ASSERT_TRUE(composite.ok());
  EXPECT_EQ(*composite, "Pe5qPw==-2");
  auto full = CombineCrcs("CRC32", {{Base64Crc32(a), a.size()}, {Base64Crc32(b), b.size()}});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full, "TMpPXQ==");
  EXPECT_EQ(*full, Base64Crc32(a + b));
  EXPECT_FALSE(CombineCrcs("SHA256", {{"x", 1}}).ok());
  EXPECT_FALSE(CompositeChecksum("CRC32", {"not base64!"}).ok());
}

TEST(DigestsTest, CrcCombinationMatchesWholeDataForEveryCrc) {
  std::string a = "The quick brown fox jumps over the lazy dog";
  std::string b(100000, 'z');
  b[777] = 'q';
  EXPECT_EQ(CombineCrc(Crc32(a), Crc32(b), b.size(), 0xEDB88320ull, 32), Crc32(a + b));
  EXPECT_EQ(CombineCrc(Crc32c(a), Crc32c(b), b.size(), 0x82F63B78ull, 32), Crc32c(a + b));
  EXPECT_EQ(CombineCrc(Crc64Nvme(a), Crc64Nvme(b), b.size(), 0x9A6C9329AC4BC9B5ull, 64), Crc64Nvme(a + b));
  EXPECT_EQ(CombineCrc(Crc32(a), Crc32(""), 0, 0xEDB88320ull, 32), Crc32(a));
}

TEST(DigestsTest, ChecksumNames) {
  EXPECT_EQ(ChecksumHeader("CRC64NVME"), "x-amz-checksum-crc64nvme");
  EXPECT_EQ(ChecksumMember("SHA1"), "ChecksumSHA1");
  EXPECT_TRUE(SupportsFullObject("CRC32C"));
  EXPECT_FALSE(SupportsFullObject("SHA1"));
  EXPECT_TRUE(IsWellFormedChecksum("CRC32", "DUoRhQ=="));
  EXPECT_FALSE(IsWellFormedChecksum("CRC32", Base64Encode(Sha256("x"))));
  EXPECT_FALSE(IsSupportedChecksumAlgorithm("MD5"));
}

TEST(RangeTest, SingleByteRangesAsS3AnswersThem) {
  using K = RangeResult::Kind;
  auto check = [](std::string_view header, uint64_t size, K kind, uint64_t first = 0, uint64_t length = 0) {
    RangeResult r = EvaluateRange(header, size);
    EXPECT_EQ(r.kind, kind) << header << " of " << size;
    if (kind == K::kPartial) {
      EXPECT_EQ(r.first, first) << header;
      EXPECT_EQ(r.length, length) << header;
    }
  };
  check("bytes=0-9", 100, K::kPartial, 0, 10);
  check("bytes=90-", 100, K::kPartial, 90, 10);
  check("bytes=-5", 100, K::kPartial, 95, 5);
  check("bytes=-500", 100, K::kPartial, 0, 100);
  check("bytes=50-1000", 100, K::kPartial, 50, 50);
  check("bytes=99-99", 100, K::kPartial, 99, 1);
  check("bytes=100-200", 100, K::kUnsatisfiable);
  check("bytes=100-", 100, K::kUnsatisfiable);
  check("bytes=-0", 100, K::kUnsatisfiable);
  check("bytes=0-", 0, K::kUnsatisfiable);
  check("bytes=-1", 0, K::kUnsatisfiable);
  // Not a single byte range: the whole object.
  check("bytes=5-1", 100, K::kWhole);
  check("bytes=0-1,5-6", 100, K::kWhole);
  check("items=0-1", 100, K::kWhole);
  check("bytes=a-b", 100, K::kWhole);
  check("", 100, K::kWhole);
  EXPECT_EQ(ContentRange(0, 10, 100), "bytes 0-9/100");
}

TEST(PreconditionsTest, S3PrecedenceRules) {
  const int64_t modified_ms = 1700000000500;  // second 1700000000
  auto eval = [&](Preconditions p) { return EvaluatePreconditions(p, "abc", modified_ms); };
  using R = PreconditionResult;
  EXPECT_EQ(eval({}), R::kProceed);
  EXPECT_EQ(eval({.if_match = "\"abc\""}), R::kProceed);
  EXPECT_EQ(eval({.if_match = "\"zzz\""}), R::kFailed);
  EXPECT_EQ(eval({.if_match = "*"}), R::kProceed);
  EXPECT_EQ(eval({.if_none_match = "\"abc\""}), R::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "\"x\", W/\"abc\""}), R::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "\"zzz\""}), R::kProceed);
  EXPECT_EQ(eval({.if_modified_since = 1700000000}), R::kNotModified);
  EXPECT_EQ(eval({.if_modified_since = 1699999999}), R::kProceed);
  EXPECT_EQ(eval({.if_unmodified_since = 1699999999}), R::kFailed);
  EXPECT_EQ(eval({.if_unmodified_since = 1700000000}), R::kProceed);
  // If-Match true wins over a failing If-Unmodified-Since; If-None-Match false over If-Modified-Since.
  EXPECT_EQ(eval({.if_match = "\"abc\"", .if_unmodified_since = 1}), R::kProceed);
  EXPECT_EQ(eval({.if_none_match = "\"zzz\"", .if_modified_since = 1700000000}), R::kProceed);
  EXPECT_EQ(eval({.if_match = "\"zzz\"", .if_none_match = "\"abc\""}), R::kFailed);
}

TEST(NamesTest, BucketNames) {
  for (const char* ok : {"abc", "my-bucket.logs", "a1b2c3", "0-0"}) EXPECT_TRUE(ValidateBucketName(ok).ok()) << ok;
  for (const char* bad : {"ab", "UPPER", "-start", "end-", "a..b", "192.168.1.1", "under_score", "xn--bucket",
                          "bucket-s3alias", "a b", ""}) {
    Status s = ValidateBucketName(bad);
    EXPECT_EQ(s.aws_code(), "InvalidBucketName") << bad;
  }
  EXPECT_FALSE(ValidateBucketName(std::string(64, 'a')).ok());
}

TEST(NamesTest, ObjectKeysAllowAnythingS3Allows) {
  for (const char* ok : {"../../etc/passwd", "/leading", "a//b", "unicode \xE2\x9C\x93 key", "sp ace", ".", ".."}) {
    EXPECT_TRUE(ValidateObjectKey(ok).ok()) << ok;
  }
  EXPECT_EQ(ValidateObjectKey(std::string(1025, 'k')).aws_code(), "KeyTooLongError");
  EXPECT_FALSE(ValidateObjectKey("").ok());
  EXPECT_FALSE(ValidateObjectKey("bad\xff").ok());
}

TEST(NamesTest, TagsAndTaggingHeader) {
  auto tags = ParseTaggingHeader("team=plat%20form&env=dev&empty=");
  ASSERT_TRUE(tags.ok());
  TagSet expected = {{"team", "plat form"}, {"env", "dev"}, {"empty", ""}};
  EXPECT_EQ(*tags, expected);
  EXPECT_TRUE(ValidateTags(*tags, 10).ok());
  EXPECT_EQ(ValidateTags({{"a", "1"}, {"a", "2"}}, 10).aws_code(), "InvalidTag");
  EXPECT_EQ(ValidateTags({{"aws:x", "1"}}, 10).aws_code(), "InvalidTag");
  TagSet eleven;
  for (int i = 0; i < 11; ++i) eleven.emplace_back("k" + std::to_string(i), "v");
  EXPECT_EQ(ValidateTags(eleven, 10).aws_code(), "BadRequest");
  EXPECT_TRUE(ValidateTags(eleven, 50).ok());
}

TEST(NamesTest, CopySources) {
  auto a = ParseCopySource("src-bucket/dir/a%20b.txt");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bucket, "src-bucket");
  EXPECT_EQ(a->key, "dir/a b.txt");
  EXPECT_EQ(a->version_id, "");
  auto b = ParseCopySource("/src/k%3Fq?versionId=v1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->bucket, "src");
  EXPECT_EQ(b->key, "k?q");
  EXPECT_EQ(b->version_id, "v1");
  EXPECT_FALSE(ParseCopySource("nokey").ok());
  EXPECT_FALSE(ParseCopySource("bucket/").ok());
  EXPECT_EQ(UrlEncodeKey("a b/c+d\xE2\x9C\x93"), "a%20b/c%2Bd%E2%9C%93");
}

}  // namespace
}  // namespace gantry::services::s3
