#include "core/aws/content_encoding.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace gantry::aws {
namespace {

std::string Gzip(std::string_view data) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

http::Request WithBody(std::string body, std::string encoding) {
  http::Request r;
  r.method = "POST";
  r.body = std::move(body);
  r.body_size = r.body.size();
  if (!encoding.empty()) r.headers.Add("Content-Encoding", std::move(encoding));
  return r;
}

TEST(ContentEncodingTest, InflatesGzipAndDropsTheToken) {
  std::string text(200000, 'x');
  auto r = WithBody(Gzip(text), "gzip");
  ASSERT_TRUE(DecodeContentEncoding(r, 1 << 20, "SerializationException").ok());
  EXPECT_EQ(r.body, text);
  EXPECT_EQ(r.body_size, text.size());
  EXPECT_FALSE(r.headers.Has("Content-Encoding"));

  auto multi = WithBody(Gzip("ab") + Gzip("cd"), "identity, GZIP");
  ASSERT_TRUE(DecodeContentEncoding(multi, 100, "").ok());
  EXPECT_EQ(multi.body, "abcd");
  EXPECT_EQ(multi.headers.Get("Content-Encoding"), "identity");
}

TEST(ContentEncodingTest, LeavesOtherBodiesAlone) {
  auto plain = WithBody("{}", "");
  ASSERT_TRUE(DecodeContentEncoding(plain, 100, "").ok());
  EXPECT_EQ(plain.body, "{}");
  auto other = WithBody("{}", "br");
  ASSERT_TRUE(DecodeContentEncoding(other, 100, "").ok());
  EXPECT_EQ(other.body, "{}");
}

TEST(ContentEncodingTest, RejectsCorruptTruncatedAndOversized) {
  auto corrupt = WithBody("definitely not gzip", "gzip");
  Status s = DecodeContentEncoding(corrupt, 100, "SerializationException");
  EXPECT_EQ(s.aws_code(), "SerializationException");

  std::string gz = Gzip(std::string(5000, 'y'));
  auto truncated = WithBody(gz.substr(0, gz.size() - 10), "gzip");
  EXPECT_FALSE(DecodeContentEncoding(truncated, 1 << 20, "").ok());

  auto empty = WithBody("", "gzip");
  EXPECT_FALSE(DecodeContentEncoding(empty, 100, "").ok());

  auto bomb = WithBody(Gzip(std::string(10 << 20, '\0')), "gzip");
  Status big = DecodeContentEncoding(bomb, 1 << 20, "");
  EXPECT_EQ(big.aws_code(), "RequestEntityTooLarge");
  EXPECT_EQ(big.http_status(), 413);

  auto trailing = WithBody(Gzip("ab") + "junk", "gzip");
  EXPECT_FALSE(DecodeContentEncoding(trailing, 100, "").ok());
}

// A body the server spooled to disk: inflated from the file under the same cap.
http::Request Spooled(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  http::Request r;
  r.method = "POST";
  r.body_file = path;
  r.body_size = bytes.size();
  r.headers.Add("Content-Encoding", "gzip");
  return r;
}

TEST(ContentEncodingTest, InflatesASpooledBodyUnderTheSameCap) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("gantry-spool-" + std::to_string(::getpid()) + ".gz")).string();
  std::string text;  // incompressible, so the compressed file spans several reads
  uint32_t x = 12345;
  for (int i = 0; i < 300000; ++i) text.push_back(static_cast<char>((x = x * 1103515245 + 12345) >> 24));
  auto r = Spooled(path, Gzip(text) + Gzip("more"));
  ASSERT_TRUE(DecodeContentEncoding(r, 1 << 20, "").ok());
  EXPECT_EQ(r.body, text + "more");
  EXPECT_TRUE(r.body_file.empty());
  EXPECT_FALSE(r.headers.Has("Content-Encoding"));

  auto bomb = Spooled(path, Gzip(std::string(10 << 20, '\0')));
  Status big = DecodeContentEncoding(bomb, 1 << 20, "");
  EXPECT_EQ(big.http_status(), 413);

  std::string gz = Gzip(std::string(5000, 'y'));
  auto truncated = Spooled(path, gz.substr(0, gz.size() - 10));
  EXPECT_FALSE(DecodeContentEncoding(truncated, 1 << 20, "").ok());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace gantry::aws
