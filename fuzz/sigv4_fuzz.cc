// libFuzzer target for SigV4 and S3's legacy SigV2 verification and the aws-chunked decoder
// (core/aws/sigv4.h, core/aws/sigv2.h, core/aws/aws_chunked.h): they parse untrusted requests before
// anything else runs.
//
// Input: byte 0 holds flags, byte 1 the read size for the chunked decoder; the rest is a request in
// text form: "METHOD\nTARGET\nName: value\n...\n\nBODY". Every input is verified as sent (any
// Authorization header or presigned query in it is parsed) and its body decoded as aws-chunked; with
// flag kResign the request is also signed by the client signer, after which it must verify (the
// signer and the verifier canonicalize alike); with kRoundTrip the body is encoded as aws-chunked
// and must decode back to itself; with kResign|kPresign|kS3 it is also presigned with SigV2 and must
// verify. Any input must yield a verdict or a Status, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/aws/aws_chunked.h"
#include "core/aws/sigv2.h"
#include "core/aws/sigv4.h"
#include "core/common/strings.h"

namespace {

using gantry::Status;
using namespace gantry::aws;

constexpr uint8_t kS3 = 1;
constexpr uint8_t kPresign = 2;
constexpr uint8_t kResign = 4;
constexpr uint8_t kRoundTrip = 8;
// Bits 4-5: chunked kind (0: signed, 1: signed with trailer, 2 and 3: unsigned with trailer).

class FuzzCredentials : public CredentialResolver {
 public:
  std::optional<Credential> Lookup(std::string_view id) const override {
    if (id == "AKIDFUZZ") return Make("AKIDFUZZ", "");
    if (id == "ASIAFUZZ") return Make("ASIAFUZZ", "token");
    return std::nullopt;
  }
  static Credential Make(std::string id, std::string token) {
    Credential c;
    c.access_key_id = std::move(id);
    c.secret_access_key = "fuzz-secret";
    c.session_token = std::move(token);
    return c;
  }
};

const gantry::TimePoint kNow = gantry::TimePoint(std::chrono::seconds(1700000000));

gantry::http::Request ParseText(std::string_view text) {
  gantry::http::Request r;
  auto next_line = [&text]() {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    return line;
  };
  r.method = std::string(next_line());
  r.target = std::string(next_line());
  gantry::http::SplitTarget(r.target, r.path, r.query);
  while (!text.empty()) {
    std::string_view line = next_line();
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.Add(std::string(line.substr(0, colon)), std::string(gantry::Trim(line.substr(colon + 1))));
  }
  r.body = std::string(text);
  r.body_size = r.body.size();
  return r;
}

// Whether the client signer is expected to produce a request the verifier accepts.
bool Signable(const gantry::http::Request& r) {
  if (r.method.empty() || r.path.empty() || r.path[0] != '/' || !r.headers.Has("Host")) return false;
  for (char c : r.method) {
    if (c < 'A' || c > 'Z') return false;
  }
  for (const auto& [name, value] : r.headers.fields()) {
    if (name.empty()) return false;
    for (char c : name) {
      bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!token) return false;
    }
    if (gantry::EqualsIgnoreCase(name, "authorization") || gantry::EqualsIgnoreCase(name, "x-amz-date") ||
        gantry::EqualsIgnoreCase(name, "date") || gantry::EqualsIgnoreCase(name, "x-amz-security-token") ||
        gantry::EqualsIgnoreCase(name, "x-amz-content-sha256")) {
      return false;
    }
  }
  for (const auto& [key, value] : r.QueryParams()) {
    if (key.rfind("X-Amz-", 0) == 0) return false;
  }
  // QueryParams decodes '+' as a space; the canonical query reads '+' literally.
  std::string_view q = r.query;
  if (q.find("X-Amz-") != std::string_view::npos || q.find("X%2DAmz") != std::string_view::npos) return false;
  return true;
}

// Whether PresignSigV2 is expected to produce a request VerifySigV2 accepts: no signature or session
// token of its own already in the request.
bool SigV2Signable(const gantry::http::Request& r) {
  if (r.method.empty() || !r.headers.Has("Host") || r.headers.Has("Authorization") ||
      r.headers.Has("x-amz-security-token")) {
    return false;
  }
  for (const auto& [key, value] : r.QueryParams()) {
    if (key == "AWSAccessKeyId" || key == "Signature" || key == "Expires") return false;
  }
  std::string_view q = r.query;
  return q.find("AWSAccessKeyId") == std::string_view::npos && q.find("Signature") == std::string_view::npos &&
         q.find("Expires") == std::string_view::npos && q.find('%') == std::string_view::npos;
}

void FuzzChunked(const gantry::http::Request& r, uint8_t flags, size_t step) {
  SignedRequestInfo info;
  int kind = (flags >> 4) & 3;
  info.content_sha256 = std::string(kind == 0   ? kStreamingSignedPayload
                                    : kind == 1 ? kStreamingSignedPayloadTrailer
                                                : kStreamingUnsignedPayloadTrailer);
  info.signing_key = DeriveSigningKey("fuzz-secret", "20231114", "us-east-1", "s3");
  info.amz_date = "20231114T221320Z";
  info.scope = "20231114/us-east-1/s3/aws4_request";
  info.signature = std::string(64, 'a');
  auto options = AwsChunkedOptionsFor(r, info);
  AwsChunkedOptions o;
  if (options.ok()) {
    o = *options;
  } else {
    o.kind = *ChunkedPayloadKindFor(info.content_sha256);
    o.signing = {info.signing_key, info.amz_date, info.scope, info.signature};
    o.declared_trailers = {"x-amz-checksum-crc32"};
  }
  o.max_decoded_size = 1 << 20;

  uint64_t seen = 0;
  AwsChunkedDecoder decoder(o, [&seen](std::string_view piece) {
    seen += piece.size();
    return Status::Ok();
  });
  std::string_view body = r.body;
  Status s;
  for (size_t pos = 0; pos < body.size() && s.ok(); pos += step) s = decoder.Feed(body.substr(pos, step));
  if (s.ok()) s = decoder.Finish();
  if (seen != decoder.decoded_size()) __builtin_trap();
  if (!s.ok() && s.message().empty()) __builtin_trap();

  if (flags & kRoundTrip) {
    o.decoded_content_length = body.size();
    std::vector<std::pair<std::string, std::string>> trailers;
    o.declared_trailers.clear();
    if (o.kind != ChunkedPayloadKind::kSigned) {
      o.declared_trailers = {"x-amz-checksum-crc32c"};
      auto sum = PayloadChecksum::ForHeader("x-amz-checksum-crc32c");
      sum->Update(body);
      trailers.emplace_back("x-amz-checksum-crc32c", sum->Base64Value());
    }
    std::string encoded = EncodeAwsChunked(body, 1 + step % 97, o, trailers);
    auto decoded = DecodeAwsChunked(encoded, o);
    if (!decoded.ok() || decoded->data != body || decoded->trailers != trailers) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const size_t step = data[1] == 0 ? static_cast<size_t>(-1) : data[1];
  gantry::http::Request request = ParseText(std::string_view(reinterpret_cast<const char*>(data + 2), size - 2));
  FuzzCredentials credentials;

  (void)PeekCredentialScope(request);
  auto verdict = VerifySigV4(request, credentials, kNow);
  if (auto* failure = std::get_if<AuthFailure>(&verdict); failure && failure->message.empty()) __builtin_trap();

  if ((flags & kResign) && Signable(request)) {
    const std::string service = (flags & kS3) ? "s3" : "codebuild";
    Credential c = FuzzCredentials::Make((flags & 0x40) ? "ASIAFUZZ" : "AKIDFUZZ", (flags & 0x40) ? "token" : "");
    gantry::http::Request signed_request = request;
    if (flags & kPresign) {
      PresignRequest(signed_request, c, "us-east-1", service, kNow, std::chrono::seconds(60));
    } else {
      SignRequest(signed_request, c, "us-east-1", service, kNow, (flags & 0x80) != 0);
    }
    auto v = VerifySigV4(signed_request, credentials, kNow);
    if (!std::holds_alternative<SignedRequestInfo>(v)) __builtin_trap();
  }

  (void)IsSigV2Request(request);
  auto v2 = VerifySigV2(request, credentials, kNow);
  if (auto* failure = std::get_if<AuthFailure>(&v2); failure && failure->message.empty()) __builtin_trap();
  if ((flags & kResign) && (flags & kPresign) && (flags & kS3) && SigV2Signable(request)) {
    gantry::http::Request presigned = request;
    PresignSigV2(presigned, FuzzCredentials::Make("AKIDFUZZ", ""), kNow + std::chrono::seconds(60));
    if (!std::holds_alternative<SignedRequestInfo>(VerifySigV2(presigned, credentials, kNow))) __builtin_trap();
  }

  FuzzChunked(request, flags, step);
  return 0;
}
