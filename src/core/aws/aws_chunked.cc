#include "core/aws/aws_chunked.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/common/strings.h"

namespace gantry::aws {

namespace {

constexpr size_t kMaxSizeLine = 4096;         // "<hex>;chunk-signature=<64 hex>" is ~90 bytes
constexpr size_t kMaxTrailerBytes = 16 * 1024;
constexpr size_t kMaxTrailers = 64;
constexpr size_t kIoBlock = 256 * 1024;
constexpr std::string_view kChunkSignatureExt = "chunk-signature=";
constexpr std::string_view kTrailerSignatureName = "x-amz-trailer-signature";

Status Malformed(std::string message) {
  return Status::InvalidArgument("Malformed aws-chunked body: " + std::move(message), "InvalidRequest");
}

Status MalformedTrailer(std::string message) {
  return Status::InvalidArgument("The request contained trailing data that was not well-formed or did not conform "
                                 "to our published schema: " + std::move(message),
                                 "MalformedTrailerError");
}

Status IncompleteBody(std::string message) {
  return Status::InvalidArgument(std::move(message), "IncompleteBody");
}

Status ChunkSignatureMismatch(std::string_view what) {
  return Status::Unauthenticated("The request signature we calculated does not match the signature you provided. "
                                 "Check your key and signing method. (" + std::string(what) + ")",
                                 "SignatureDoesNotMatch")
      .WithHttpStatus(403);
}

bool IsLowerHex64(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string ChunkSignature(const ChunkSigningContext& ctx, std::string_view previous, std::string_view data_sha_hex) {
  std::string sts;
  sts.reserve(300);
  sts.append("AWS4-HMAC-SHA256-PAYLOAD\n");
  sts.append(ctx.amz_date).push_back('\n');
  sts.append(ctx.scope).push_back('\n');
  sts.append(previous).push_back('\n');
  sts.append(kEmptySha256).push_back('\n');
  sts.append(data_sha_hex);
  return HexEncode(HmacSha256(ctx.signing_key, sts));
}

std::string TrailerSignature(const ChunkSigningContext& ctx, std::string_view previous,
                             const std::vector<std::pair<std::string, std::string>>& trailers) {
  std::string canonical;
  for (const auto& [name, value] : trailers) {
    canonical.append(name).push_back(':');
    canonical.append(value).push_back('\n');
  }
  std::string sts;
  sts.reserve(300);
  sts.append("AWS4-HMAC-SHA256-TRAILER\n");
  sts.append(ctx.amz_date).push_back('\n');
  sts.append(ctx.scope).push_back('\n');
  sts.append(previous).push_back('\n');
  sts.append(HexEncode(Sha256(canonical)));
  return HexEncode(HmacSha256(ctx.signing_key, sts));
}

bool IsSigned(ChunkedPayloadKind kind) { return kind != ChunkedPayloadKind::kUnsignedWithTrailer; }

std::string BigEndian(uint64_t v, int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

// Buffered writes to a file descriptor.
class FileWriter {
 public:
  explicit FileWriter(int fd) : fd_(fd) { buffer_.reserve(kIoBlock); }
  Status Write(std::string_view data) {
    if (buffer_.size() + data.size() > kIoBlock) {
      GANTRY_RETURN_IF_ERROR(Flush());
      if (data.size() >= kIoBlock) return WriteAll(data);
    }
    buffer_.append(data);
    return Status::Ok();
  }
  Status Flush() {
    Status s = WriteAll(buffer_);
    buffer_.clear();
    return s;
  }

 private:
  Status WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::Internal(std::string("cannot write decoded body: ") + std::strerror(errno));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }
  int fd_;
  std::string buffer_;
};

}  // namespace

std::optional<ChunkedPayloadKind> ChunkedPayloadKindFor(std::string_view content_sha256) {
  if (content_sha256 == kStreamingSignedPayload) return ChunkedPayloadKind::kSigned;
  if (content_sha256 == kStreamingSignedPayloadTrailer) return ChunkedPayloadKind::kSignedWithTrailer;
  if (content_sha256 == kStreamingUnsignedPayloadTrailer) return ChunkedPayloadKind::kUnsignedWithTrailer;
  return std::nullopt;
}

StatusOr<AwsChunkedOptions> AwsChunkedOptionsFor(const http::Request& request, const SignedRequestInfo& info) {
  std::optional<ChunkedPayloadKind> kind = ChunkedPayloadKindFor(info.content_sha256);
  if (!kind) return Status::InvalidArgument("The request body is not aws-chunked.", "InvalidRequest");
  AwsChunkedOptions options;
  options.kind = *kind;
  options.signing = {info.signing_key, info.amz_date, info.scope, info.signature};
  std::string_view trailer_header = request.headers.Get("X-Amz-Trailer");
  for (std::string_view name : Split(trailer_header, ',')) {
    name = Trim(name);
    if (name.empty()) continue;
    std::string lower = ToLower(name);
    if (lower.rfind("x-amz-checksum-", 0) == 0 && !PayloadChecksum::ForHeader(lower)) {
      return Status::InvalidArgument("Value for x-amz-trailer header is invalid: " + std::string(name) + ".",
                                     "InvalidRequest");
    }
    if (std::find(options.declared_trailers.begin(), options.declared_trailers.end(), lower) ==
        options.declared_trailers.end()) {
      options.declared_trailers.push_back(std::move(lower));
    }
  }
  if (!IsSigned(*kind) || *kind == ChunkedPayloadKind::kSignedWithTrailer) {
    // trailers are allowed
  } else if (!options.declared_trailers.empty()) {
    return Status::InvalidArgument("x-amz-trailer is not allowed with " + std::string(kStreamingSignedPayload) +
                                       "; use " + std::string(kStreamingSignedPayloadTrailer) + ".",
                                   "InvalidRequest");
  }
  std::string_view decoded = Trim(request.headers.Get("X-Amz-Decoded-Content-Length"));
  if (!decoded.empty()) {
    if (decoded.size() > 19 || !std::all_of(decoded.begin(), decoded.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Status::InvalidArgument("X-Amz-Decoded-Content-Length is not a number: '" + std::string(decoded) + "'.",
                                     "InvalidArgument");
    }
    options.decoded_content_length = std::stoull(std::string(decoded));
    if (*options.decoded_content_length > options.max_decoded_size) {
      return Status::InvalidArgument("Your proposed upload exceeds the maximum allowed size.", "EntityTooLarge");
    }
  }
  return options;
}

// ---------------------------------------------------------------------------------------------------
// PayloadChecksum

struct PayloadChecksum::State {
  enum class Kind { kCrc32, kCrc32c, kCrc64Nvme, kDigest } kind = Kind::kCrc32;
  uint64_t crc = 0;
  std::unique_ptr<Hasher> hasher;
};

PayloadChecksum::PayloadChecksum(std::string algorithm, std::unique_ptr<State> state)
    : algorithm_(std::move(algorithm)), state_(std::move(state)) {}
PayloadChecksum::PayloadChecksum(PayloadChecksum&&) noexcept = default;
PayloadChecksum& PayloadChecksum::operator=(PayloadChecksum&&) noexcept = default;
PayloadChecksum::~PayloadChecksum() = default;

std::optional<PayloadChecksum> PayloadChecksum::ForHeader(std::string_view header_name) {
  auto state = std::make_unique<State>();
  std::string algorithm;
  if (EqualsIgnoreCase(header_name, "x-amz-checksum-crc32")) {
    state->kind = State::Kind::kCrc32;
    algorithm = "CRC32";
  } else if (EqualsIgnoreCase(header_name, "x-amz-checksum-crc32c")) {
    state->kind = State::Kind::kCrc32c;
    algorithm = "CRC32C";
  } else if (EqualsIgnoreCase(header_name, "x-amz-checksum-crc64nvme")) {
    state->kind = State::Kind::kCrc64Nvme;
    algorithm = "CRC64NVME";
  } else if (EqualsIgnoreCase(header_name, "x-amz-checksum-sha1")) {
    state->kind = State::Kind::kDigest;
    state->hasher = std::make_unique<Hasher>(DigestAlgorithm::kSha1);
    algorithm = "SHA1";
  } else if (EqualsIgnoreCase(header_name, "x-amz-checksum-sha256")) {
    state->kind = State::Kind::kDigest;
    state->hasher = std::make_unique<Hasher>(DigestAlgorithm::kSha256);
    algorithm = "SHA256";
  } else {
    return std::nullopt;
  }
  return PayloadChecksum(std::move(algorithm), std::move(state));
}

void PayloadChecksum::Update(std::string_view data) {
  constexpr size_t kPiece = 1u << 30;  // zlib takes 32-bit lengths
  while (!data.empty()) {
    std::string_view piece = data.substr(0, kPiece);
    data.remove_prefix(piece.size());
    switch (state_->kind) {
      case State::Kind::kCrc32: state_->crc = Crc32(piece, static_cast<uint32_t>(state_->crc)); break;
      case State::Kind::kCrc32c: state_->crc = Crc32c(piece, static_cast<uint32_t>(state_->crc)); break;
      case State::Kind::kCrc64Nvme: state_->crc = Crc64Nvme(piece, state_->crc); break;
      case State::Kind::kDigest: state_->hasher->Update(piece); break;
    }
  }
}

std::string PayloadChecksum::Base64Value() {
  switch (state_->kind) {
    case State::Kind::kCrc32:
    case State::Kind::kCrc32c: return Base64Encode(BigEndian(state_->crc, 4));
    case State::Kind::kCrc64Nvme: return Base64Encode(BigEndian(state_->crc, 8));
    case State::Kind::kDigest: return Base64Encode(state_->hasher->Final());
  }
  return {};
}

// ---------------------------------------------------------------------------------------------------
// AwsChunkedDecoder

AwsChunkedDecoder::AwsChunkedDecoder(AwsChunkedOptions options, Sink sink)
    : options_(std::move(options)), sink_(std::move(sink)) {
  previous_signature_ = options_.signing.seed_signature;
  for (const std::string& name : options_.declared_trailers) {
    if (std::optional<PayloadChecksum> checksum = PayloadChecksum::ForHeader(name)) {
      checksums_.push_back(std::move(*checksum));
      checksum_names_.push_back(ToLower(name));
    }
  }
}

AwsChunkedDecoder::~AwsChunkedDecoder() = default;

Status AwsChunkedDecoder::Fail(Status status) {
  state_ = State::kFailed;
  error_ = status;
  return status;
}

Status AwsChunkedDecoder::Feed(std::string_view bytes) {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kDone) return Fail(Malformed("data after the end of the body"));
  size_t pos = 0;
  while (pos < bytes.size()) {
    switch (state_) {
      case State::kSizeLine:
      case State::kTrailers: {
        size_t nl = bytes.find('\n', pos);
        size_t end = nl == std::string_view::npos ? bytes.size() : nl;
        size_t limit = state_ == State::kSizeLine ? kMaxSizeLine : kMaxTrailerBytes;
        if (line_.size() + (end - pos) > limit ||
            (state_ == State::kTrailers && trailer_bytes_ + line_.size() + (end - pos) > kMaxTrailerBytes)) {
          return Fail(state_ == State::kSizeLine ? Malformed("chunk header line longer than 4096 bytes")
                                                 : MalformedTrailer("trailers longer than 16384 bytes"));
        }
        line_.append(bytes.substr(pos, end - pos));
        if (nl == std::string_view::npos) {
          pos = bytes.size();
          break;
        }
        pos = nl + 1;
        std::string line = std::move(line_);
        line_.clear();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        Status s;
        if (state_ == State::kSizeLine) {
          s = OnSizeLine(line);
        } else {
          trailer_bytes_ += line.size() + 2;
          s = OnTrailerLine(line);
        }
        if (!s.ok()) return Fail(std::move(s));
        break;
      }
      case State::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_remaining_, bytes.size() - pos));
        std::string_view piece = bytes.substr(pos, n);
        uint64_t total = decoded_size_ + n;
        if (options_.decoded_content_length && total > *options_.decoded_content_length) {
          return Fail(IncompleteBody("The aws-chunked body holds more bytes than X-Amz-Decoded-Content-Length (" +
                                     std::to_string(*options_.decoded_content_length) + ")."));
        }
        if (total > options_.max_decoded_size) {
          return Fail(Status::InvalidArgument("Your proposed upload exceeds the maximum allowed size.",
                                              "EntityTooLarge"));
        }
        decoded_size_ = total;
        if (chunk_hasher_) chunk_hasher_->Update(piece);
        for (PayloadChecksum& c : checksums_) c.Update(piece);
        if (Status s = sink_(piece); !s.ok()) return Fail(std::move(s));
        chunk_remaining_ -= n;
        pos += n;
        if (chunk_remaining_ == 0) {
          state_ = State::kDataEnd;
          data_end_seen_ = 0;
        }
        break;
      }
      case State::kDataEnd: {
        char c = bytes[pos++];
        if (data_end_seen_ == 0 && c == '\r') {
          data_end_seen_ = 1;
          break;
        }
        if (c != '\n') return Fail(Malformed("chunk data is not followed by CRLF (chunk size larger than sent?)"));
        if (Status s = OnChunkComplete(); !s.ok()) return Fail(std::move(s));
        break;
      }
      case State::kDone:
      case State::kFailed:
        return error_;
    }
  }
  return Status::Ok();
}

Status AwsChunkedDecoder::OnSizeLine(std::string_view line) {
  size_t semi = line.find(';');
  std::string_view size_text = Trim(line.substr(0, semi));
  if (size_text.empty() || size_text.size() > 15) {
    return Malformed("invalid chunk size '" + std::string(size_text.substr(0, 32)) + "'");
  }
  uint64_t size = 0;
  for (char c : size_text) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (v < 0) return Malformed("invalid chunk size '" + std::string(size_text) + "'");
    size = size * 16 + static_cast<uint64_t>(v);
  }
  chunk_signature_.clear();
  if (IsSigned(options_.kind)) {
    std::string_view extensions = semi == std::string_view::npos ? std::string_view() : line.substr(semi + 1);
    for (std::string_view ext : Split(extensions, ';')) {
      ext = Trim(ext);
      if (ext.substr(0, kChunkSignatureExt.size()) == kChunkSignatureExt) {
        chunk_signature_ = std::string(ext.substr(kChunkSignatureExt.size()));
      }
    }
    if (!IsLowerHex64(chunk_signature_)) {
      return Malformed("chunk " + std::string(size_text) + " has no valid chunk-signature extension");
    }
  }
  if (size == 0) {
    if (IsSigned(options_.kind)) {
      GANTRY_RETURN_IF_ERROR(VerifyChunkSignature(kEmptySha256, chunk_signature_));
    }
    state_ = State::kTrailers;
    return Status::Ok();
  }
  if (size > options_.max_decoded_size - std::min(decoded_size_, options_.max_decoded_size)) {
    return Status::InvalidArgument("Your proposed upload exceeds the maximum allowed size.", "EntityTooLarge");
  }
  chunk_remaining_ = size;
  if (IsSigned(options_.kind)) chunk_hasher_ = std::make_unique<Hasher>(DigestAlgorithm::kSha256);
  state_ = State::kData;
  return Status::Ok();
}

Status AwsChunkedDecoder::OnChunkComplete() {
  if (chunk_hasher_) {
    std::string data_sha = HexEncode(chunk_hasher_->Final());
    chunk_hasher_.reset();
    GANTRY_RETURN_IF_ERROR(VerifyChunkSignature(data_sha, chunk_signature_));
  }
  state_ = State::kSizeLine;
  return Status::Ok();
}

Status AwsChunkedDecoder::VerifyChunkSignature(std::string_view data_sha256_hex, std::string_view provided) {
  if (!options_.verify_signatures) return Status::Ok();
  std::string expected = ChunkSignature(options_.signing, previous_signature_, data_sha256_hex);
  if (!ConstantTimeEquals(expected, provided)) {
    return ChunkSignatureMismatch("chunk signature after " + std::to_string(decoded_size_) + " decoded bytes");
  }
  previous_signature_ = std::move(expected);
  return Status::Ok();
}

Status AwsChunkedDecoder::OnTrailerLine(std::string_view line) {
  if (Trim(line).empty()) return Status::Ok();
  if (options_.kind == ChunkedPayloadKind::kSigned) {
    return Malformed("data after the final chunk, which " + std::string(kStreamingSignedPayload) +
                     " does not allow (use " + std::string(kStreamingSignedPayloadTrailer) + " for trailers)");
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return MalformedTrailer("trailer line without ':'");
  }
  std::string name = ToLower(Trim(line.substr(0, colon)));
  std::string value = std::string(Trim(line.substr(colon + 1)));
  if (name.empty()) return MalformedTrailer("trailer without a name");
  if (name == kTrailerSignatureName) {
    if (options_.kind != ChunkedPayloadKind::kSignedWithTrailer) {
      return MalformedTrailer("x-amz-trailer-signature in an unsigned payload");
    }
    if (!trailer_signature_.empty()) return MalformedTrailer("x-amz-trailer-signature sent twice");
    if (value.empty()) return MalformedTrailer("empty x-amz-trailer-signature");
    trailer_signature_ = std::move(value);
    return Status::Ok();
  }
  if (!trailer_signature_.empty()) return MalformedTrailer("trailer " + name + " after x-amz-trailer-signature");
  if (std::find(options_.declared_trailers.begin(), options_.declared_trailers.end(), name) ==
      options_.declared_trailers.end()) {
    return MalformedTrailer("trailer " + name + " was not declared in X-Amz-Trailer");
  }
  for (const auto& t : trailers_) {
    if (t.first == name) return MalformedTrailer("trailer " + name + " sent twice");
  }
  if (trailers_.size() >= kMaxTrailers) return MalformedTrailer("too many trailers");
  trailers_.emplace_back(std::move(name), std::move(value));
  return Status::Ok();
}

Status AwsChunkedDecoder::FinishTrailers() {
  if (options_.kind == ChunkedPayloadKind::kSignedWithTrailer && options_.verify_signatures &&
      (!trailers_.empty() || !trailer_signature_.empty() || !options_.declared_trailers.empty())) {
    if (trailer_signature_.empty()) return MalformedTrailer("x-amz-trailer-signature is missing");
    std::string expected = TrailerSignature(options_.signing, previous_signature_, trailers_);
    if (!ConstantTimeEquals(expected, trailer_signature_)) return ChunkSignatureMismatch("trailer signature");
  }
  for (const std::string& declared : options_.declared_trailers) {
    bool found = std::any_of(trailers_.begin(), trailers_.end(), [&](const auto& t) { return t.first == declared; });
    if (!found) return MalformedTrailer("trailer " + declared + " declared in X-Amz-Trailer was not sent");
  }
  for (size_t i = 0; i < checksums_.size(); ++i) {
    const std::string& name = checksum_names_[i];
    auto it = std::find_if(trailers_.begin(), trailers_.end(), [&](const auto& t) { return t.first == name; });
    if (it == trailers_.end()) return MalformedTrailer("trailer " + name + " was not sent");
    std::string computed = checksums_[i].Base64Value();
    std::optional<std::string> sent = Base64Decode(it->second);
    std::optional<std::string> want = Base64Decode(computed);
    if (!sent || sent != want) {
      return Status::InvalidArgument("The " + checksums_[i].algorithm() +
                                         " you specified did not match the calculated checksum.",
                                     "BadDigest");
    }
  }
  return Status::Ok();
}

Status AwsChunkedDecoder::Finish() {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kDone) return Status::Ok();
  if (state_ == State::kTrailers && !line_.empty()) {
    std::string line = std::move(line_);
    line_.clear();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Status s = OnTrailerLine(line); !s.ok()) return Fail(std::move(s));
  }
  if (state_ != State::kTrailers) {
    return Fail(IncompleteBody("The aws-chunked body ended before its final zero-size chunk (" +
                               std::to_string(decoded_size_) + " bytes decoded)."));
  }
  if (Status s = FinishTrailers(); !s.ok()) return Fail(std::move(s));
  if (options_.decoded_content_length && decoded_size_ != *options_.decoded_content_length) {
    return Fail(IncompleteBody("You did not provide the number of bytes specified by the "
                               "X-Amz-Decoded-Content-Length HTTP header (" +
                               std::to_string(*options_.decoded_content_length) + " declared, " +
                               std::to_string(decoded_size_) + " sent)."));
  }
  state_ = State::kDone;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------------
// Convenience forms

StatusOr<DecodedAwsChunked> DecodeAwsChunked(std::string_view encoded, const AwsChunkedOptions& options) {
  DecodedAwsChunked out;
  if (options.decoded_content_length) {
    out.data.reserve(static_cast<size_t>(std::min<uint64_t>(*options.decoded_content_length, encoded.size())));
  }
  AwsChunkedDecoder decoder(options, [&out](std::string_view piece) {
    out.data.append(piece);
    return Status::Ok();
  });
  GANTRY_RETURN_IF_ERROR(decoder.Feed(encoded));
  GANTRY_RETURN_IF_ERROR(decoder.Finish());
  out.decoded_size = decoder.decoded_size();
  out.trailers = decoder.trailers();
  return out;
}

StatusOr<DecodedAwsChunked> DecodeAwsChunkedFile(const std::string& input_path, const std::string& output_path,
                                                 const AwsChunkedOptions& options) {
  int in = ::open(input_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::Internal("cannot open " + input_path + ": " + std::strerror(errno));
  int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return Status::Internal("cannot create " + output_path + ": " + std::strerror(err));
  }
  FileWriter writer(out);
  AwsChunkedDecoder decoder(options, [&writer](std::string_view piece) { return writer.Write(piece); });
  Status status;
  std::string buffer(kIoBlock, '\0');
  while (status.ok()) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      status = Status::Internal("cannot read " + input_path + ": " + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    status = decoder.Feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  if (status.ok()) status = decoder.Finish();
  if (status.ok()) status = writer.Flush();
  ::close(in);
  if (::close(out) != 0 && status.ok()) {
    status = Status::Internal("cannot write " + output_path + ": " + std::strerror(errno));
  }
  if (!status.ok()) {
    ::unlink(output_path.c_str());
    return status;
  }
  DecodedAwsChunked result;
  result.decoded_size = decoder.decoded_size();
  result.trailers = decoder.trailers();
  return result;
}

namespace {

Status DecodeRequestBody(http::Request& request, const AwsChunkedOptions& options) {
  DecodedAwsChunked decoded;
  if (!request.body_file.empty()) {
    std::string temp = request.body_file + ".decoded";
    GANTRY_ASSIGN_OR_RETURN(decoded, DecodeAwsChunkedFile(request.body_file, temp, options));
    if (::rename(temp.c_str(), request.body_file.c_str()) != 0) {
      int err = errno;
      ::unlink(temp.c_str());
      return Status::Internal("cannot replace " + request.body_file + ": " + std::strerror(err));
    }
  } else {
    GANTRY_ASSIGN_OR_RETURN(decoded, DecodeAwsChunked(request.body, options));
    request.body = std::move(decoded.data);
  }
  request.body_size = decoded.decoded_size;

  std::string encodings;
  for (std::string_view e : Split(request.headers.Get("Content-Encoding"), ',')) {
    e = Trim(e);
    if (e.empty() || EqualsIgnoreCase(e, "aws-chunked")) continue;
    if (!encodings.empty()) encodings += ",";
    encodings += e;
  }
  if (encodings.empty()) {
    request.headers.Remove("Content-Encoding");
  } else {
    request.headers.Set("Content-Encoding", std::move(encodings));
  }
  request.headers.Set("Content-Length", std::to_string(decoded.decoded_size));
  for (auto& [name, value] : decoded.trailers) request.headers.Set(name, value);
  return Status::Ok();
}

}  // namespace

Status DecodeAwsChunkedRequest(http::Request& request, const SignedRequestInfo& info) {
  if (!ChunkedPayloadKindFor(info.content_sha256)) return Status::Ok();
  GANTRY_ASSIGN_OR_RETURN(AwsChunkedOptions options, AwsChunkedOptionsFor(request, info));
  return DecodeRequestBody(request, options);
}

Status DecodeUnverifiedAwsChunkedRequest(http::Request& request) {
  SignedRequestInfo info;
  info.content_sha256 = std::string(Trim(request.headers.Get("X-Amz-Content-SHA256")));
  if (!ChunkedPayloadKindFor(info.content_sha256)) return Status::Ok();
  GANTRY_ASSIGN_OR_RETURN(AwsChunkedOptions options, AwsChunkedOptionsFor(request, info));
  options.verify_signatures = false;
  return DecodeRequestBody(request, options);
}

std::string EncodeAwsChunked(std::string_view data, size_t chunk_size, const AwsChunkedOptions& options,
                             const std::vector<std::pair<std::string, std::string>>& trailers) {
  if (chunk_size == 0) chunk_size = 64 * 1024;
  const bool is_signed = IsSigned(options.kind);
  std::string out;
  out.reserve(data.size() + (data.size() / chunk_size + 2) * 100 + 256);
  std::string previous = options.signing.seed_signature;
  auto chunk_header = [&](std::string_view chunk) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", chunk.size());
    out.append(hex);
    if (is_signed) {
      previous = ChunkSignature(options.signing, previous, HexEncode(Sha256(chunk)));
      out.append(";").append(kChunkSignatureExt).append(previous);
    }
    out.append("\r\n");
  };
  for (size_t pos = 0; pos < data.size(); pos += chunk_size) {
    std::string_view chunk = data.substr(pos, chunk_size);
    chunk_header(chunk);
    out.append(chunk).append("\r\n");
  }
  chunk_header({});
  if (options.kind == ChunkedPayloadKind::kSigned || trailers.empty()) {
    out.append("\r\n");
    return out;
  }
  std::vector<std::pair<std::string, std::string>> canonical;
  for (const auto& [name, value] : trailers) {
    canonical.emplace_back(ToLower(name), value);
    out.append(canonical.back().first).append(":").append(value).append("\r\n");
  }
  if (options.kind == ChunkedPayloadKind::kSignedWithTrailer) {
    out.append(kTrailerSignatureName).append(":").append(TrailerSignature(options.signing, previous, canonical));
    out.append("\r\n");
  }
  out.append("\r\n");
  return out;
}

}  // namespace gantry::aws
