// aws-chunked: the body framing the SDKs use for streaming uploads (Content-Encoding: aws-chunked,
// X-Amz-Content-SHA256: STREAMING-*). Each chunk is "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n";
// a zero-size chunk ends the data and may be followed by trailer lines ("x-amz-checksum-crc32:...",
// and "x-amz-trailer-signature:..." for the signed-trailer variant). The decoder verifies every chunk
// signature (chained from the request's seed signature), the trailer signature, the trailing checksum
// and X-Amz-Decoded-Content-Length, and streams decoded bytes out with bounded memory, so 5 GiB bodies
// go file to file.
//
// Decoded bytes are handed to the sink before the chunk they belong to is verified: output is only
// trustworthy once Finish() returns OK; on any error the caller discards what the sink received.
//
// Thread-safety: an AwsChunkedDecoder and a PayloadChecksum are single-threaded objects; the free
// functions are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/aws/sigv4.h"
#include "core/common/crypto.h"
#include "core/common/status.h"
#include "core/http/message.h"

namespace gantry::aws {

enum class ChunkedPayloadKind {
  kSigned,               // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  kSignedWithTrailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
  kUnsignedWithTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
};

// The chunked kind an X-Amz-Content-SHA256 value announces; nullopt for hashes and UNSIGNED-PAYLOAD.
std::optional<ChunkedPayloadKind> ChunkedPayloadKindFor(std::string_view content_sha256);

// What chunk and trailer signatures are chained from (the request's verified SigV4 signature).
struct ChunkSigningContext {
  std::string signing_key;     // raw
  std::string amz_date;        // YYYYMMDDTHHMMSSZ
  std::string scope;           // date/region/service/aws4_request
  std::string seed_signature;  // hex
};

// Largest decoded body accepted by default (S3's single PUT / part limit).
inline constexpr uint64_t kMaxAwsChunkedDecodedSize = 5ull << 30;

struct AwsChunkedOptions {
  ChunkedPayloadKind kind = ChunkedPayloadKind::kUnsignedWithTrailer;
  ChunkSigningContext signing;                   // for the signed kinds
  std::vector<std::string> declared_trailers;    // lower-case names from X-Amz-Trailer
  std::optional<uint64_t> decoded_content_length;  // X-Amz-Decoded-Content-Length
  uint64_t max_decoded_size = kMaxAwsChunkedDecodedSize;
  // Off only when the request's own signature was not checked (--accept-any-credentials): chunk and
  // trailer signatures are then parsed but not compared.
  bool verify_signatures = true;
};

// Options for a request verified by VerifySigV4 (kind from its payload hash, trailers and decoded length
// from its headers). InvalidArgument when the request is not aws-chunked or its headers are malformed.
StatusOr<AwsChunkedOptions> AwsChunkedOptionsFor(const http::Request& request, const SignedRequestInfo& info);

// Flexible checksums (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256), computed
// incrementally; the value is base64 of the big-endian digest, as on the wire.
class PayloadChecksum {
 public:
  // nullopt when `header_name` (case-insensitive) is not a supported x-amz-checksum-* header.
  static std::optional<PayloadChecksum> ForHeader(std::string_view header_name);
  PayloadChecksum(PayloadChecksum&&) noexcept;
  PayloadChecksum& operator=(PayloadChecksum&&) noexcept;
  ~PayloadChecksum();

  void Update(std::string_view data);
  std::string Base64Value();  // call once, after the last Update
  // "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"
  const std::string& algorithm() const { return algorithm_; }

 private:
  struct State;
  PayloadChecksum(std::string algorithm, std::unique_ptr<State> state);
  std::string algorithm_;
  std::unique_ptr<State> state_;
};

// Incremental decoder: Feed() any split of the encoded body, then Finish().
class AwsChunkedDecoder {
 public:
  // Receives decoded bytes in order; an error from the sink stops decoding and is returned.
  using Sink = std::function<Status(std::string_view)>;

  AwsChunkedDecoder(AwsChunkedOptions options, Sink sink);
  ~AwsChunkedDecoder();
  AwsChunkedDecoder(const AwsChunkedDecoder&) = delete;
  AwsChunkedDecoder& operator=(const AwsChunkedDecoder&) = delete;

  Status Feed(std::string_view bytes);
  // The encoded body has ended: checks the final chunk, trailers, checksum and decoded length.
  Status Finish();

  uint64_t decoded_size() const { return decoded_size_; }
  // Trailers in arrival order (names lower-case), x-amz-trailer-signature excluded.
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }

 private:
  enum class State { kSizeLine, kData, kDataEnd, kTrailers, kDone, kFailed };
  Status Fail(Status status);
  Status OnSizeLine(std::string_view line);
  Status OnChunkComplete();
  Status OnTrailerLine(std::string_view line);
  Status VerifyChunkSignature(std::string_view data_sha256_hex, std::string_view provided);
  Status FinishTrailers();

  AwsChunkedOptions options_;
  Sink sink_;
  State state_ = State::kSizeLine;
  Status error_;
  std::string line_;                // partial size or trailer line
  uint64_t chunk_remaining_ = 0;
  size_t data_end_seen_ = 0;        // bytes of the "\r\n" after a chunk's data already seen
  std::string chunk_signature_;     // of the chunk being read
  std::string previous_signature_;  // hex; starts as the seed
  std::unique_ptr<Hasher> chunk_hasher_;
  std::vector<PayloadChecksum> checksums_;  // one per declared x-amz-checksum-* trailer
  std::vector<std::string> checksum_names_;
  std::vector<std::pair<std::string, std::string>> trailers_;
  std::string trailer_signature_;
  size_t trailer_bytes_ = 0;
  uint64_t decoded_size_ = 0;
};

struct DecodedAwsChunked {
  std::string data;  // empty for the file form
  uint64_t decoded_size = 0;
  std::vector<std::pair<std::string, std::string>> trailers;
};

// Decodes a body held in memory.
StatusOr<DecodedAwsChunked> DecodeAwsChunked(std::string_view encoded, const AwsChunkedOptions& options);
// Decodes the file `input_path` into `output_path` (created 0600, truncated) with bounded memory.
// On error output_path is removed.
StatusOr<DecodedAwsChunked> DecodeAwsChunkedFile(const std::string& input_path, const std::string& output_path,
                                                 const AwsChunkedOptions& options);

// Replaces an aws-chunked request body by its decoded bytes, in memory or in body_file (rewritten in
// place through a sibling temporary file), after VerifySigV4 accepted the request. Drops "aws-chunked"
// from Content-Encoding, sets Content-Length to the decoded size and adds the trailers (checksums) as
// headers, so handlers see the request as if it had been sent plainly. No-op for other bodies.
Status DecodeAwsChunkedRequest(http::Request& request, const SignedRequestInfo& info);

// The same for a request whose signature was not verified (--accept-any-credentials): the payload
// kind comes from the X-Amz-Content-SHA256 header and chunk signatures are not compared.
Status DecodeUnverifiedAwsChunkedRequest(http::Request& request);

// Client side: encodes `data` in chunks of chunk_size with options.kind's framing; for the signed kinds
// signatures are chained from options.signing. `trailers` are appended after the final chunk (and
// signed for kSignedWithTrailer).
std::string EncodeAwsChunked(std::string_view data, size_t chunk_size, const AwsChunkedOptions& options,
                             const std::vector<std::pair<std::string, std::string>>& trailers = {});

}  // namespace gantry::aws
