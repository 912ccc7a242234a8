#include "core/aws/aws_chunked.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::aws {
namespace {

constexpr char kDocKey[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kDocSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kDocSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
constexpr char kDocTrailerSeed[] = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";

class MapResolver : public CredentialResolver {
 public:
  void Add(Credential c) { creds_[c.access_key_id] = std::move(c); }
  std::optional<Credential> Lookup(std::string_view id) const override {
    auto it = creds_.find(std::string(id));
    if (it == creds_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Credential> creds_;
};

ChunkSigningContext DocSigning(std::string seed) {
  return {DeriveSigningKey(kDocSecret, "20130524", "us-east-1", "s3"), "20130524T000000Z",
          "20130524/us-east-1/s3/aws4_request", std::move(seed)};
}

// The body of "Example: PUT Object" in "Transferring Payload in Multiple Chunks" (S3 API reference).
std::string DocSignedBody() {
  return "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" +
         std::string(65536, 'a') + "\r\n" +
         "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" +
         std::string(1024, 'a') + "\r\n" +
         "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
}

// The body of the trailing-header example ("Signature calculations for trailing headers").
std::string DocTrailerBody(bool blank_line_after_final_chunk) {
  return "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n" +
         std::string(65536, 'a') + "\r\n" +
         "400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n" +
         std::string(1024, 'a') + "\r\n" +
         "0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n" +
         (blank_line_after_final_chunk ? "\r\n" : "") +
         "x-amz-checksum-crc32c:sOO8/Q==\r\n"
         "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n";
}

AwsChunkedOptions DocOptions() {
  AwsChunkedOptions o;
  o.kind = ChunkedPayloadKind::kSigned;
  o.signing = DocSigning(kDocSeed);
  o.decoded_content_length = 66560;
  return o;
}

AwsChunkedOptions DocTrailerOptions() {
  AwsChunkedOptions o;
  o.kind = ChunkedPayloadKind::kSignedWithTrailer;
  o.signing = DocSigning(kDocTrailerSeed);
  o.decoded_content_length = 66560;
  o.declared_trailers = {"x-amz-checksum-crc32c"};
  return o;
}

// Feeds `body` in pieces of `step` bytes.
StatusOr<std::string> DecodeInSteps(std::string_view body, const AwsChunkedOptions& options, size_t step,
                                    std::vector<std::pair<std::string, std::string>>* trailers = nullptr) {
  std::string out;
  AwsChunkedDecoder decoder(options, [&](std::string_view piece) {
    out.append(piece);
    return Status::Ok();
  });
  for (size_t pos = 0; pos < body.size(); pos += step) {
    GANTRY_RETURN_IF_ERROR(decoder.Feed(body.substr(pos, step)));
  }
  GANTRY_RETURN_IF_ERROR(decoder.Finish());
  EXPECT_EQ(decoder.decoded_size(), out.size());
  if (trailers) *trailers = decoder.trailers();
  return out;
}

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

std::string TempPath(const char* tag) {
  std::string p = "/tmp/gantry_chunked_" + std::string(tag) + "_XXXXXX";
  int fd = mkstemp(p.data());
  EXPECT_GE(fd, 0);
  close(fd);
  return p;
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// ---------------------------------------------------------------------------------------------------
// AWS documentation examples

TEST(AwsChunkedTest, DocumentationExampleDecodesInAnySplit) {
  std::string body = DocSignedBody();
  ASSERT_EQ(body.size(), 66824u);  // the example's Content-Length
  for (size_t step : {body.size(), size_t{1}, size_t{2}, size_t{7}, size_t{85}, size_t{777}, size_t{65536}}) {
    auto decoded = DecodeInSteps(body, DocOptions(), step);
    ASSERT_TRUE(decoded.ok()) << "step " << step << ": " << decoded.status().message();
    EXPECT_EQ(*decoded, std::string(66560, 'a'));
  }
}

TEST(AwsChunkedTest, DocumentationExampleEncodes) {
  AwsChunkedOptions o = DocOptions();
  EXPECT_EQ(EncodeAwsChunked(std::string(66560, 'a'), 65536, o), DocSignedBody());
}

TEST(AwsChunkedTest, DocumentationTrailerExample) {
  for (bool blank : {false, true}) {
    std::vector<std::pair<std::string, std::string>> trailers;
    for (size_t step : {size_t{1}, size_t{13}, size_t{100000}}) {
      auto decoded = DecodeInSteps(DocTrailerBody(blank), DocTrailerOptions(), step, &trailers);
      ASSERT_TRUE(decoded.ok()) << decoded.status().message();
      EXPECT_EQ(*decoded, std::string(66560, 'a'));
      ASSERT_EQ(trailers.size(), 1u);
      EXPECT_EQ(trailers[0].first, "x-amz-checksum-crc32c");
      EXPECT_EQ(trailers[0].second, "sOO8/Q==");
    }
  }
  EXPECT_EQ(EncodeAwsChunked(std::string(66560, 'a'), 65536, DocTrailerOptions(),
                             {{"x-amz-checksum-crc32c", "sOO8/Q=="}}),
            DocTrailerBody(false));
}

TEST(AwsChunkedTest, DocumentationRequestsVerifyThenDecode) {
  MapResolver creds;
  Credential c;
  c.access_key_id = kDocKey;
  c.secret_access_key = kDocSecret;
  creds.Add(c);

  for (bool trailer : {false, true}) {
    http::Request r;
    r.method = "PUT";
    r.target = r.path = "/examplebucket/chunkObject.txt";
    r.headers.Add("Host", "s3.amazonaws.com");
    r.headers.Add("x-amz-date", "20130524T000000Z");
    r.headers.Add("x-amz-storage-class", "REDUCED_REDUNDANCY");
    r.headers.Add("Content-Encoding", "aws-chunked");
    r.headers.Add("x-amz-decoded-content-length", "66560");
    if (trailer) {
      r.headers.Add("x-amz-content-sha256", std::string(kStreamingSignedPayloadTrailer));
      r.headers.Add("x-amz-trailer", "x-amz-checksum-crc32c");
      r.headers.Add("Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                    "SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
                    "x-amz-storage-class;x-amz-trailer,Signature=" + std::string(kDocTrailerSeed));
      r.body = DocTrailerBody(false);
    } else {
      r.headers.Add("x-amz-content-sha256", std::string(kStreamingSignedPayload));
      r.headers.Add("Content-Length", "66824");
      r.headers.Add("Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                    "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                    "x-amz-decoded-content-length;x-amz-storage-class,Signature=" + std::string(kDocSeed));
      r.body = DocSignedBody();
    }
    r.body_size = r.body.size();
    auto verified = VerifySigV4(r, creds, *ParseAmzDate("20130524T000100Z"));
    ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(verified))
        << "trailer=" << trailer << ": " << std::get<AuthFailure>(verified).canonical_request;
    const SignedRequestInfo& info = std::get<SignedRequestInfo>(verified);

    auto options = AwsChunkedOptionsFor(r, info);
    ASSERT_TRUE(options.ok()) << options.status().message();
    EXPECT_EQ(options->kind, trailer ? ChunkedPayloadKind::kSignedWithTrailer : ChunkedPayloadKind::kSigned);
    EXPECT_EQ(options->decoded_content_length, 66560u);

    ASSERT_TRUE(DecodeAwsChunkedRequest(r, info).ok());
    EXPECT_EQ(r.body, std::string(66560, 'a'));
    EXPECT_EQ(r.body_size, 66560u);
    EXPECT_FALSE(r.headers.Has("Content-Encoding"));
    EXPECT_EQ(r.headers.Get("Content-Length"), "66560");
    if (trailer) {
      EXPECT_EQ(r.headers.Get("x-amz-checksum-crc32c"), "sOO8/Q==");
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Signed chunks: every kind of tampering

TEST(AwsChunkedTest, SignedChunkTampering) {
  const std::string body = DocSignedBody();
  auto status_of = [](const std::string& b, const AwsChunkedOptions& o) { return DecodeInSteps(b, o, 4096).status(); };

  std::string data_changed = body;
  data_changed[200] = 'b';
  Status s = status_of(data_changed, DocOptions());
  EXPECT_EQ(s.aws_code(), "SignatureDoesNotMatch");
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(s.http_status(), 403);

  EXPECT_EQ(status_of(Replace(body, "ad80c730", "ad80c731"), DocOptions()).aws_code(), "SignatureDoesNotMatch");
  EXPECT_EQ(status_of(Replace(body, "b6c6ea8a", "b6c6ea8b"), DocOptions()).aws_code(), "SignatureDoesNotMatch");

  AwsChunkedOptions other_seed = DocOptions();
  other_seed.signing.seed_signature[0] = '5';
  EXPECT_EQ(status_of(body, other_seed).aws_code(), "SignatureDoesNotMatch");

  AwsChunkedOptions other_key = DocOptions();
  other_key.signing.signing_key = DeriveSigningKey("other", "20130524", "us-east-1", "s3");
  EXPECT_EQ(status_of(body, other_key).aws_code(), "SignatureDoesNotMatch");

  // Chunk signatures missing entirely (an unsigned body sent as a signed one).
  std::string unsigned_body = EncodeAwsChunked(std::string(66560, 'a'), 65536, AwsChunkedOptions{});
  EXPECT_EQ(status_of(unsigned_body, DocOptions()).aws_code(), "InvalidRequest");

  // Chunks swapped: the chain breaks.
  AwsChunkedOptions o = DocOptions();
  o.decoded_content_length.reset();
  std::string two = EncodeAwsChunked("first chunk|second chunk", 12, o);
  size_t second = two.find("\r\n", two.find("\r\n") + 2) + 2;  // after the first chunk's data
  size_t final_chunk = two.find("0;chunk-signature");
  std::string swapped = two.substr(second, final_chunk - second) + two.substr(0, second) + two.substr(final_chunk);
  EXPECT_EQ(status_of(swapped, o).aws_code(), "SignatureDoesNotMatch");
  EXPECT_TRUE(status_of(two, o).ok());

  // Truncated before the final chunk.
  EXPECT_EQ(status_of(body.substr(0, body.size() - 90), DocOptions()).aws_code(), "IncompleteBody");
  EXPECT_EQ(status_of(body.substr(0, 1000), DocOptions()).aws_code(), "IncompleteBody");
  EXPECT_EQ(status_of("", DocOptions()).aws_code(), "IncompleteBody");

  // Data after the final chunk of a body without trailers.
  EXPECT_EQ(status_of(body + "x-amz-checksum-crc32:AAAAAA==\r\n", DocOptions()).aws_code(), "InvalidRequest");
}

TEST(AwsChunkedTest, DecodedContentLength) {
  AwsChunkedOptions o = DocOptions();
  o.decoded_content_length = 66561;
  Status s = DecodeInSteps(DocSignedBody(), o, 1000).status();
  EXPECT_EQ(s.aws_code(), "IncompleteBody");
  EXPECT_NE(s.message().find("66561 declared, 66560 sent"), std::string::npos);
  o.decoded_content_length = 100;
  EXPECT_EQ(DecodeInSteps(DocSignedBody(), o, 1000).status().aws_code(), "IncompleteBody");
  o.decoded_content_length.reset();
  EXPECT_TRUE(DecodeInSteps(DocSignedBody(), o, 1000).ok());
  o.max_decoded_size = 66559;
  EXPECT_EQ(DecodeInSteps(DocSignedBody(), o, 1000).status().aws_code(), "EntityTooLarge");
}

// ---------------------------------------------------------------------------------------------------
// Trailers

TEST(AwsChunkedTest, SignedTrailerTampering) {
  auto status_of = [](const std::string& b, const AwsChunkedOptions& o) { return DecodeInSteps(b, o, 1 << 20).status(); };
  const std::string body = DocTrailerBody(false);
  // Checksum value changed: the trailer signature no longer matches.
  EXPECT_EQ(status_of(Replace(body, "sOO8/Q==", "sOO8/A=="), DocTrailerOptions()).aws_code(), "SignatureDoesNotMatch");
  // Trailer signature changed.
  EXPECT_EQ(status_of(Replace(body, "d81f82fc", "d81f82fd"), DocTrailerOptions()).aws_code(), "SignatureDoesNotMatch");
  // Trailer signature missing.
  std::string no_sig = Replace(body, "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n", "");
  EXPECT_EQ(status_of(no_sig, DocTrailerOptions()).aws_code(), "MalformedTrailerError");
  // Declared but not sent.
  std::string no_trailers = body.substr(0, body.find("x-amz-checksum-crc32c"));
  EXPECT_EQ(status_of(no_trailers, DocTrailerOptions()).aws_code(), "MalformedTrailerError");
  // Sent but not declared.
  AwsChunkedOptions undeclared = DocTrailerOptions();
  undeclared.declared_trailers.clear();
  EXPECT_EQ(status_of(body, undeclared).aws_code(), "MalformedTrailerError");

  // Correctly signed trailer whose checksum is wrong for the data: BadDigest.
  AwsChunkedOptions o = DocTrailerOptions();
  std::string bad_sum = EncodeAwsChunked(std::string(66560, 'a'), 65536, o, {{"x-amz-checksum-crc32c", "AAAAAA=="}});
  Status s = status_of(bad_sum, o);
  EXPECT_EQ(s.aws_code(), "BadDigest");
  EXPECT_EQ(s.message(), "The CRC32C you specified did not match the calculated checksum.");
}

TEST(AwsChunkedTest, UnsignedTrailerAsBotocoreSendsIt) {
  // botocore's AwsChunkedWrapper: "<hex>\r\n<data>\r\n" ... "0\r\n<name>:<b64>\r\n\r\n"
  std::string body = "9\r\n123456789\r\n0\r\nx-amz-checksum-crc32:y/Q5Jg==\r\n\r\n";
  AwsChunkedOptions o;
  o.kind = ChunkedPayloadKind::kUnsignedWithTrailer;
  o.declared_trailers = {"x-amz-checksum-crc32"};
  o.decoded_content_length = 9;
  std::vector<std::pair<std::string, std::string>> trailers;
  auto decoded = DecodeInSteps(body, o, 3, &trailers);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, "123456789");
  ASSERT_EQ(trailers.size(), 1u);
  EXPECT_EQ(trailers[0].second, "y/Q5Jg==");

  // Without the final blank line, and with bare LF line ends.
  EXPECT_TRUE(DecodeInSteps("9\r\n123456789\r\n0\r\nx-amz-checksum-crc32:y/Q5Jg==", o, 5).ok());
  EXPECT_TRUE(DecodeInSteps("9\n123456789\n0\nx-amz-checksum-crc32:y/Q5Jg==\n\n", o, 5).ok());
  // Wrong checksum.
  Status s = DecodeInSteps("9\r\n123456789\r\n0\r\nx-amz-checksum-crc32:y/Q5Jw==\r\n\r\n", o, 5).status();
  EXPECT_EQ(s.aws_code(), "BadDigest");
  EXPECT_EQ(s.message(), "The CRC32 you specified did not match the calculated checksum.");
  // A trailer signature makes no sense without signing.
  EXPECT_EQ(DecodeInSteps(body + "x-amz-trailer-signature:00\r\n", o, 5).status().aws_code(), "MalformedTrailerError");
  // Chunk signatures are ignored in this mode only if absent: extensions are tolerated.
  EXPECT_TRUE(DecodeInSteps("9;ext=1\r\n123456789\r\n0\r\nx-amz-checksum-crc32:y/Q5Jg==\r\n\r\n", o, 5).ok());
}

TEST(AwsChunkedTest, EveryChecksumAlgorithm) {
  // Check values for "123456789".
  const std::map<std::string, std::string> expected = {
      {"x-amz-checksum-crc32", "y/Q5Jg=="},
      {"x-amz-checksum-crc32c", "4waSgw=="},
      {"x-amz-checksum-crc64nvme", "rosUhgp5mIg="},
      {"x-amz-checksum-sha1", "98O8HYCOBHMq32eZZczDTKeuNEE="},
      {"x-amz-checksum-sha256", "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="},
  };
  for (const auto& [name, value] : expected) {
    auto checksum = PayloadChecksum::ForHeader(name);
    ASSERT_TRUE(checksum.has_value()) << name;
    checksum->Update("1234");
    checksum->Update("56789");
    EXPECT_EQ(checksum->Base64Value(), value) << name;

    for (ChunkedPayloadKind kind : {ChunkedPayloadKind::kUnsignedWithTrailer, ChunkedPayloadKind::kSignedWithTrailer}) {
      AwsChunkedOptions o;
      o.kind = kind;
      o.signing = DocSigning(kDocSeed);
      o.declared_trailers = {name};
      std::string body = EncodeAwsChunked("123456789", 4, o, {{name, value}});
      EXPECT_TRUE(DecodeInSteps(body, o, 3).ok()) << name;
      std::string wrong = EncodeAwsChunked("123456780", 4, o, {{name, value}});
      EXPECT_EQ(DecodeInSteps(wrong, o, 3).status().aws_code(), "BadDigest") << name;
    }
  }
  EXPECT_FALSE(PayloadChecksum::ForHeader("x-amz-checksum-md5").has_value());
  EXPECT_TRUE(PayloadChecksum::ForHeader("X-Amz-Checksum-CRC32").has_value());
  EXPECT_EQ(PayloadChecksum::ForHeader("x-amz-checksum-crc64nvme")->algorithm(), "CRC64NVME");
}

TEST(AwsChunkedTest, OptionsFromRequestHeaders) {
  SignedRequestInfo info;
  info.content_sha256 = std::string(kStreamingUnsignedPayloadTrailer);
  info.signature = kDocSeed;
  http::Request r;
  r.headers.Add("X-Amz-Trailer", "x-amz-checksum-crc32, X-Amz-Checksum-SHA256");
  r.headers.Add("X-Amz-Decoded-Content-Length", "123");
  auto o = AwsChunkedOptionsFor(r, info);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->kind, ChunkedPayloadKind::kUnsignedWithTrailer);
  EXPECT_EQ(o->declared_trailers, (std::vector<std::string>{"x-amz-checksum-crc32", "x-amz-checksum-sha256"}));
  EXPECT_EQ(o->decoded_content_length, 123u);
  EXPECT_EQ(o->signing.seed_signature, kDocSeed);

  r.headers.Set("X-Amz-Decoded-Content-Length", "12x");
  EXPECT_FALSE(AwsChunkedOptionsFor(r, info).ok());
  r.headers.Set("X-Amz-Decoded-Content-Length", "99999999999999999999999");
  EXPECT_FALSE(AwsChunkedOptionsFor(r, info).ok());
  r.headers.Set("X-Amz-Decoded-Content-Length", std::to_string(kMaxAwsChunkedDecodedSize + 1));
  EXPECT_EQ(AwsChunkedOptionsFor(r, info).status().aws_code(), "EntityTooLarge");
  r.headers.Remove("X-Amz-Decoded-Content-Length");
  r.headers.Set("X-Amz-Trailer", "x-amz-checksum-md5");
  EXPECT_FALSE(AwsChunkedOptionsFor(r, info).ok());

  info.content_sha256 = std::string(kStreamingSignedPayload);
  r.headers.Set("X-Amz-Trailer", "x-amz-checksum-crc32");
  EXPECT_FALSE(AwsChunkedOptionsFor(r, info).ok());
  info.content_sha256 = std::string(kUnsignedPayload);
  EXPECT_FALSE(AwsChunkedOptionsFor(r, info).ok());
  EXPECT_FALSE(ChunkedPayloadKindFor(kEmptySha256).has_value());
  EXPECT_EQ(ChunkedPayloadKindFor(kStreamingSignedPayloadTrailer), ChunkedPayloadKind::kSignedWithTrailer);
}

// ---------------------------------------------------------------------------------------------------
// Framing errors never crash and say what is wrong

TEST(AwsChunkedTest, MalformedFraming) {
  AwsChunkedOptions unsigned_opts;
  unsigned_opts.kind = ChunkedPayloadKind::kUnsignedWithTrailer;
  struct Case {
    std::string body;
    std::string aws_code;
  };
  std::vector<Case> cases = {
      {"zz\r\nabc\r\n0\r\n\r\n", "InvalidRequest"},                      // not hex
      {"\r\nabc\r\n0\r\n\r\n", "InvalidRequest"},                        // empty size
      {"3\r\nabcX\r\n0\r\n\r\n", "InvalidRequest"},                      // data longer than its size
      {"5\r\nabc\r\n0\r\n\r\n", "InvalidRequest"},                       // data shorter: eats the CRLF
      {"5\r\nab", "IncompleteBody"},                                      // truncated data
      {"1000000000000000\r\n", "InvalidRequest"},                        // 16 hex digits
      {std::string(5000, '1'), "InvalidRequest"},                        // endless size line
      {"3\r\nabc\r\n", "IncompleteBody"},                                // no final chunk
      {"3\r\nabc\r\n0\r\nno-colon-here\r\n", "MalformedTrailerError"},   // trailer without ':'
      {"3\r\nabc\r\n0\r\n:value\r\n", "MalformedTrailerError"},          // trailer without name
      {"3\r\nabc\r\n0\r\n" + std::string(20000, 'x'), "MalformedTrailerError"},  // endless trailers
  };
  for (const Case& c : cases) {
    for (size_t step : {size_t{1}, size_t{4}, size_t{1} << 20}) {
      Status s = DecodeInSteps(c.body, unsigned_opts, step).status();
      EXPECT_EQ(s.aws_code(), c.aws_code) << c.body.substr(0, 40) << " step " << step << ": " << s.message();
      EXPECT_FALSE(s.message().empty());
    }
  }
  // A size larger than the allowed maximum is refused before any data.
  AwsChunkedOptions small = unsigned_opts;
  small.max_decoded_size = 10;
  EXPECT_EQ(DecodeInSteps("ffffff\r\n", small, 100).status().aws_code(), "EntityTooLarge");

  // After a failure the decoder keeps failing.
  AwsChunkedDecoder decoder(unsigned_opts, [](std::string_view) { return Status::Ok(); });
  EXPECT_FALSE(decoder.Feed("zz\r\n").ok());
  EXPECT_FALSE(decoder.Feed("3\r\nabc\r\n").ok());
  EXPECT_FALSE(decoder.Finish().ok());

  // A sink error stops decoding.
  AwsChunkedDecoder failing(unsigned_opts, [](std::string_view) { return Status::Internal("disk full"); });
  Status s = failing.Feed("3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(s.message(), "disk full");

  // Feed after Finish.
  AwsChunkedDecoder done(unsigned_opts, [](std::string_view) { return Status::Ok(); });
  ASSERT_TRUE(done.Feed("0\r\n\r\n").ok());
  ASSERT_TRUE(done.Finish().ok());
  EXPECT_TRUE(done.Finish().ok());
  EXPECT_FALSE(done.Feed("x").ok());
}

TEST(AwsChunkedTest, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(1234);
  AwsChunkedOptions signed_opts = DocTrailerOptions();
  signed_opts.decoded_content_length.reset();
  std::string data(5000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  std::string base = EncodeAwsChunked(data, 700, signed_opts, {{"x-amz-checksum-crc32c", "AAAAAA=="}});
  int accepted = 0;
  for (int i = 0; i < 400; ++i) {
    std::string body = base;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % body.size();
      switch (rng() % 3) {
        case 0: body[pos] = static_cast<char>(rng()); break;
        case 1: body.erase(pos, 1 + rng() % 10); break;
        case 2: body.insert(pos, std::string(1 + rng() % 3, static_cast<char>(rng()))); break;
      }
    }
    if (DecodeInSteps(body, signed_opts, 1 + rng() % 500).ok()) ++accepted;
  }
  EXPECT_EQ(accepted, 0);  // every edit breaks a signature or the framing
}

// ---------------------------------------------------------------------------------------------------
// Round trips, in memory and file to file

TEST(AwsChunkedTest, EncodeDecodeRoundTrips) {
  std::mt19937 rng(42);
  for (ChunkedPayloadKind kind :
       {ChunkedPayloadKind::kSigned, ChunkedPayloadKind::kSignedWithTrailer, ChunkedPayloadKind::kUnsignedWithTrailer}) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{8191}, size_t{8192}, size_t{100000}}) {
      std::string data(size, '\0');
      for (char& c : data) c = static_cast<char>(rng());
      AwsChunkedOptions o;
      o.kind = kind;
      o.signing = DocSigning(kDocSeed);
      o.decoded_content_length = size;
      std::vector<std::pair<std::string, std::string>> trailers;
      if (kind != ChunkedPayloadKind::kSigned) {
        auto sum = PayloadChecksum::ForHeader("x-amz-checksum-sha256");
        sum->Update(data);
        trailers.emplace_back("x-amz-checksum-sha256", sum->Base64Value());
        o.declared_trailers = {"x-amz-checksum-sha256"};
      }
      std::string body = EncodeAwsChunked(data, 8192, o, trailers);
      auto decoded = DecodeAwsChunked(body, o);
      ASSERT_TRUE(decoded.ok()) << static_cast<int>(kind) << " " << size << ": " << decoded.status().message();
      EXPECT_EQ(decoded->data, data);
      EXPECT_EQ(decoded->decoded_size, size);
      EXPECT_EQ(decoded->trailers, trailers);
    }
  }
}

TEST(AwsChunkedTest, FileToFile) {
  std::mt19937 rng(7);
  std::string data(6 * 1024 * 1024 + 123, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  AwsChunkedOptions o;
  o.kind = ChunkedPayloadKind::kSignedWithTrailer;
  o.signing = DocSigning(kDocSeed);
  o.decoded_content_length = data.size();
  o.declared_trailers = {"x-amz-checksum-crc64nvme"};
  auto sum = PayloadChecksum::ForHeader("x-amz-checksum-crc64nvme");
  sum->Update(data);
  std::string encoded = EncodeAwsChunked(data, 1 << 20, o, {{"x-amz-checksum-crc64nvme", sum->Base64Value()}});

  std::string in = TempPath("in");
  std::string out = TempPath("out");
  WriteFile(in, encoded);
  auto decoded = DecodeAwsChunkedFile(in, out, o);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->decoded_size, data.size());
  EXPECT_TRUE(decoded->data.empty());
  ASSERT_EQ(decoded->trailers.size(), 1u);
  EXPECT_EQ(ReadFile(out), data);
  struct stat st;
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A corrupted input leaves no output behind.
  encoded[encoded.size() / 2] ^= 1;
  WriteFile(in, encoded);
  auto failed = DecodeAwsChunkedFile(in, out, o);
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(Exists(out));
  EXPECT_FALSE(DecodeAwsChunkedFile("/nonexistent/in", out, o).ok());
  EXPECT_FALSE(DecodeAwsChunkedFile(in, "/nonexistent/dir/out", o).ok());
  unlink(in.c_str());
}

TEST(AwsChunkedTest, DecodeRequestWithBodyInAFile) {
  // A signed PUT whose aws-chunked body the server streamed to disk.
  MapResolver creds;
  Credential c;
  c.access_key_id = "AKIDFILE";
  c.secret_access_key = "file-secret";
  creds.Add(c);
  TimePoint now = *ParseAmzDate("20240301T101010Z");

  std::string data(300000, 'z');
  http::Request r;
  r.method = "PUT";
  r.path = "/bucket/object";
  r.headers.Add("Host", "localhost:4566");
  r.headers.Add("Content-Encoding", "gzip, aws-chunked");
  r.headers.Add("X-Amz-Content-SHA256", std::string(kStreamingSignedPayloadTrailer));
  r.headers.Add("X-Amz-Decoded-Content-Length", std::to_string(data.size()));
  r.headers.Add("X-Amz-Trailer", "x-amz-checksum-crc32");
  std::string seed = SignRequest(r, c, "us-east-1", "s3", now);

  AwsChunkedOptions o;
  o.kind = ChunkedPayloadKind::kSignedWithTrailer;
  o.signing = {DeriveSigningKey("file-secret", "20240301", "us-east-1", "s3"), "20240301T101010Z",
               "20240301/us-east-1/s3/aws4_request", seed};
  auto sum = PayloadChecksum::ForHeader("x-amz-checksum-crc32");
  sum->Update(data);
  std::string encoded = EncodeAwsChunked(data, 65536, o, {{"x-amz-checksum-crc32", sum->Base64Value()}});
  r.body_file = TempPath("req");
  WriteFile(r.body_file, encoded);
  r.body_size = encoded.size();

  auto verified = VerifySigV4(r, creds, now);
  ASSERT_TRUE(std::holds_alternative<SignedRequestInfo>(verified));
  Status s = DecodeAwsChunkedRequest(r, std::get<SignedRequestInfo>(verified));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(ReadFile(r.body_file), data);
  EXPECT_EQ(r.body_size, data.size());
  EXPECT_EQ(r.headers.Get("Content-Encoding"), "gzip");
  EXPECT_EQ(r.headers.Get("Content-Length"), std::to_string(data.size()));
  EXPECT_EQ(r.headers.Get("x-amz-checksum-crc32"), sum->Base64Value());
  EXPECT_FALSE(Exists(r.body_file + ".decoded"));
  unlink(r.body_file.c_str());

  // Plain bodies are left alone.
  http::Request plain;
  plain.body = "abc";
  SignedRequestInfo info;
  info.content_sha256 = std::string(kUnsignedPayload);
  EXPECT_TRUE(DecodeAwsChunkedRequest(plain, info).ok());
  EXPECT_EQ(plain.body, "abc");
}

}  // namespace
}  // namespace gantry::aws
