// AWS Signature Version 4: how every AWS API request proves who sent it. The server side parses the
// Authorization header or the presigned query (X-Amz-Algorithm, -Credential, -Date, -Expires,
// -SignedHeaders, -Signature, -Security-Token), rebuilds the canonical request exactly as the SDKs do
// (S3's single-encoded, unnormalized path; every other service's normalized, double-encoded path),
// checks the clock skew, the presigned expiry and the session token, and verifies the signature and
// the X-Amz-Content-SHA256 payload hash. aws-chunked streaming bodies are verified chunk by chunk in
// aws_chunked.h from the SignedRequestInfo returned here. The client side signs and presigns requests
// for tests, the in-process client and git credential checks.
//
// Thread-safety: every function is thread-safe. Derived signing keys are kept in a process-wide cache
// guarded by a mutex; CredentialResolver implementations must be safe to call concurrently.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/http/message.h"

namespace gantry::aws {

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
// X-Amz-Content-SHA256 literals.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingSignedPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingSignedPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
// Hex SHA-256 of the empty string.
inline constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// Header-signed requests dated further than this from the server's clock are refused.
inline constexpr std::chrono::minutes kMaxClockSkew{15};
// Longest X-Amz-Expires a presigned request may carry (7 days).
inline constexpr std::chrono::seconds kMaxPresignedExpiry{604800};

struct Credential {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;               // empty for long-term keys
  std::optional<TimePoint> expiration;     // temporary credentials only
  std::string principal_arn;               // arn:aws:iam::000000000000:root, ...:assumed-role/...
  std::string user_id;                     // AIDA... for users, AROA...:session for roles
  std::string account_id;
};

// Finds the secret behind an access key id (IAM users, STS sessions, root). Must be thread-safe.
class CredentialResolver {
 public:
  virtual ~CredentialResolver() = default;
  virtual std::optional<Credential> Lookup(std::string_view access_key_id) const = 0;
};

// What a request's credential scope claims, before anything is verified.
struct CredentialScope {
  std::string access_key_id;
  std::string date;     // YYYYMMDD
  std::string region;
  std::string service;  // the signing name: "s3", "codebuild", "sts", ...
  bool presigned = false;

  // "20130524/us-east-1/s3/aws4_request"
  std::string ToString() const;
};

enum class AuthFailureKind {
  kMissingAuthentication,  // neither an Authorization header nor a presigned query
  kIncompleteSignature,    // malformed Authorization header / presigned parameters, missing date
  kUnknownAccessKey,
  kSignatureMismatch,
  kRequestExpired,         // presigned: X-Amz-Date + X-Amz-Expires has passed (or is not yet valid)
  kClockSkew,              // header-signed: request time more than 15 minutes from the server's
  kExpiredToken,           // the credential (a session) has expired
  kInvalidToken,           // session token missing, unexpected or not the credential's
  kContentSha256Mismatch,  // X-Amz-Content-SHA256 is a hash that the body does not have
  kInvalidContentSha256,   // X-Amz-Content-SHA256 is neither a known literal nor a SHA-256 in hex
};

struct AuthFailure {
  AuthFailureKind kind = AuthFailureKind::kMissingAuthentication;
  // AWS's text for the failure, worded as the signing service would: S3's for "s3", the JSON and
  // query services' otherwise (those also carry the canonical request and string to sign).
  std::string message;
  std::string access_key_id;     // as sent, when known
  // kSignatureMismatch only: what the server computed, which S3 returns in its error body
  // (CanonicalRequest, StringToSign, SignatureProvided) and the JSON/query services in the message.
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature_provided;
};

// A verified request: who signed it and what the aws-chunked decoder needs to keep verifying the body.
struct SignedRequestInfo {
  Credential credential;
  std::string region;
  std::string service;
  std::string date;                  // YYYYMMDD of the scope
  std::string amz_date;              // YYYYMMDDTHHMMSSZ as it went into the string to sign
  std::string scope;                 // date/region/service/aws4_request
  TimePoint request_time;
  std::string signature;             // hex; the seed of aws-chunked chunk signatures
  std::string signing_key;           // raw 32 bytes
  bool presigned = false;
  std::string content_sha256;        // the payload hash that was signed (hex or a literal)
  std::vector<std::string> signed_headers;  // lower-case, as listed by the client
};

struct VerifyOptions {
  // Hash the body to check a hex X-Amz-Content-SHA256. A caller that hashes the body anyway while
  // storing it (S3) may turn this off and compare SignedRequestInfo::content_sha256 itself.
  bool check_payload_hash = true;
};

// The scope named by the Authorization header or the presigned query, without verifying anything, so
// the dispatcher can route a request by its signing service. nullopt when the request is not SigV4.
std::optional<CredentialScope> PeekCredentialScope(const http::Request& request);

// Verifies a request signed with SigV4 (header or presigned query) at server time `now`.
std::variant<SignedRequestInfo, AuthFailure> VerifySigV4(const http::Request& request,
                                                         const CredentialResolver& credentials, TimePoint now,
                                                         const VerifyOptions& options = {});

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"), raw.
std::string DeriveSigningKey(std::string_view secret_access_key, std::string_view date, std::string_view region,
                             std::string_view service);

// Canonicalization pieces, exposed for tests and for other signers (git credential helper).
// The canonical URI of a raw (still percent-encoded) request path: for "s3" each segment decoded and
// re-encoded once; for other services dot segments and empty segments removed, then encoded again.
std::string CanonicalUri(std::string_view raw_path, std::string_view service);
// The canonical query of a raw query string: pairs decoded ('+' is a literal plus), re-encoded
// strictly, sorted by name then value. X-Amz-Signature is left out when exclude_signature.
std::string CanonicalQueryString(std::string_view raw_query, bool exclude_signature = false);
// A header value as signed: trimmed, inner whitespace runs (including folded lines) made one space.
std::string CanonicalHeaderValue(std::string_view value);

// Client side. Signs `request` in place with an Authorization header (adding X-Amz-Date,
// X-Amz-Security-Token and, for s3 or unsigned_payload, X-Amz-Content-SHA256). Every header present is
// signed except User-Agent, Expect, Transfer-Encoding and X-Amzn-Trace-Id; the request must carry Host.
// A pre-set X-Amz-Content-SHA256 (e.g. a STREAMING-* literal) is signed as is; an unreadable body_file
// is signed as an empty body. Returns the signature (the seed of an aws-chunked body).
std::string SignRequest(http::Request& request, const Credential& credential, std::string_view region,
                        std::string_view service, TimePoint now, bool unsigned_payload = false);

// Client side. Presigns `request` in place: adds the X-Amz-* query parameters (host is the only signed
// header) and updates query and target. S3 signs UNSIGNED-PAYLOAD, other services the body's hash.
void PresignRequest(http::Request& request, const Credential& credential, std::string_view region,
                    std::string_view service, TimePoint now, std::chrono::seconds expires);

// Lower-case hex SHA-256 of the request body, read from body_file in blocks when it is on disk.
StatusOr<std::string> BodySha256Hex(const http::Request& request);

}  // namespace gantry::aws
