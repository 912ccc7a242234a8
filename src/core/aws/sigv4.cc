#include "core/aws/sigv4.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::aws {

namespace {

constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kCredentialForm = "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"";

// Derived keys change once a day per (secret, region, service); deriving one costs four HMACs, which is
// most of the work of a verification, so they are kept. Bounded: cleared when full.
class SigningKeyCache {
 public:
  std::string Get(std::string_view secret, std::string_view date, std::string_view region,
                  std::string_view service) {
    std::string id;
    id.reserve(secret.size() + date.size() + region.size() + service.size() + 3);
    id.append(secret).push_back('\0');
    id.append(date).push_back('\0');
    id.append(region).push_back('\0');
    id.append(service);
    {
      std::lock_guard lock(mu_);
      auto it = keys_.find(id);
      if (it != keys_.end()) return it->second;
    }
    std::string key = DeriveSigningKey(secret, date, region, service);
    std::lock_guard lock(mu_);
    if (keys_.size() >= kMaxEntries) keys_.clear();
    keys_.emplace(std::move(id), key);
    return key;
  }

 private:
  static constexpr size_t kMaxEntries = 4096;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> keys_;
};

SigningKeyCache& KeyCache() {
  static SigningKeyCache* cache = new SigningKeyCache();
  return *cache;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

bool IsPayloadLiteral(std::string_view s) {
  return s == kUnsignedPayload || s == kStreamingSignedPayload || s == kStreamingSignedPayloadTrailer ||
         s == kStreamingUnsignedPayloadTrailer;
}

// Parses "AKID/YYYYMMDD/region/service/aws4_request" (the key id is everything before the last four).
bool ParseCredential(std::string_view credential, CredentialScope& out) {
  std::string_view parts[4];
  std::string_view rest = credential;
  for (int i = 3; i >= 0; --i) {
    size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos) return false;
    parts[i] = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (rest.empty() || parts[0].size() != 8 || parts[1].empty() || parts[2].empty() || parts[3] != kTerminator) {
    return false;
  }
  if (!std::all_of(parts[0].begin(), parts[0].end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  out.access_key_id = std::string(rest);
  out.date = std::string(parts[0]);
  out.region = std::string(parts[1]);
  out.service = std::string(parts[2]);
  return true;
}

struct QueryParam {
  std::string_view raw_key;
  std::string_view raw_value;
  std::string key;    // decoded
  std::string value;  // decoded
};

std::string DecodeComponent(std::string_view raw) {
  std::optional<std::string> decoded = UriDecode(raw, false);
  return decoded ? std::move(*decoded) : std::string(raw);
}

std::vector<QueryParam> ParseQuery(std::string_view raw_query) {
  std::vector<QueryParam> out;
  size_t start = 0;
  while (start <= raw_query.size()) {
    size_t amp = raw_query.find('&', start);
    if (amp == std::string_view::npos) amp = raw_query.size();
    std::string_view part = raw_query.substr(start, amp - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      QueryParam p;
      p.raw_key = part.substr(0, eq);
      p.raw_value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
      p.key = DecodeComponent(p.raw_key);
      p.value = DecodeComponent(p.raw_value);
      out.push_back(std::move(p));
    }
    start = amp + 1;
  }
  return out;
}

const QueryParam* FindParam(const std::vector<QueryParam>& params, std::string_view key) {
  for (const QueryParam& p : params) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

bool HasPresignParams(const std::vector<QueryParam>& params) {
  return FindParam(params, "X-Amz-Algorithm") || FindParam(params, "X-Amz-Signature") ||
         FindParam(params, "X-Amz-Credential");
}

// What the client sent, parsed but not verified.
struct ParsedAuth {
  bool presigned = false;
  CredentialScope scope;
  std::string signed_headers;  // as sent
  std::string signature;
};

// Parses an Authorization header value. On failure returns false with `error` set to AWS's wording.
bool ParseAuthorizationHeader(std::string_view header, ParsedAuth& out, std::string& error) {
  header = Trim(header);
  size_t space = header.find(' ');
  std::string_view algorithm = header.substr(0, space);
  if (algorithm != kSigV4Algorithm) {
    error = "Unsupported Authorization Type; Gantry accepts only AWS Signature Version 4 (" +
            std::string(kSigV4Algorithm) + ").";
    return false;
  }
  std::string_view rest = space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
  std::optional<std::string_view> credential, signed_headers, signature;
  for (std::string_view component : Split(rest, ',')) {
    component = Trim(component);
    if (component.empty()) continue;
    size_t eq = component.find('=');
    if (eq == std::string_view::npos) {
      error = "Authorization header requires each component to be of the form key=value; found '" +
              std::string(component) + "'.";
      return false;
    }
    std::string_view key = Trim(component.substr(0, eq));
    std::string_view value = Trim(component.substr(eq + 1));
    std::optional<std::string_view>* slot = key == "Credential"      ? &credential
                                            : key == "SignedHeaders" ? &signed_headers
                                            : key == "Signature"     ? &signature
                                                                     : nullptr;
    if (slot == nullptr) continue;  // AWS ignores unknown components
    if (slot->has_value()) {
      error = "Authorization header has the '" + std::string(key) + "' parameter more than once.";
      return false;
    }
    *slot = value;
  }
  std::string missing;
  if (!credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!missing.empty()) {
    error = missing + "Authorization=" + std::string(header);
    return false;
  }
  if (!ParseCredential(*credential, out.scope)) {
    error = "The authorization header is malformed; the Credential is mal-formed; expecting " +
            std::string(kCredentialForm) + ".";
    return false;
  }
  out.presigned = false;
  out.signed_headers = std::string(*signed_headers);
  out.signature = std::string(*signature);
  return true;
}

AuthFailure Failure(AuthFailureKind kind, std::string message, std::string access_key_id = {}) {
  AuthFailure f;
  f.kind = kind;
  f.message = std::move(message);
  f.access_key_id = std::move(access_key_id);
  return f;
}

// Removes "." and ".." segments and empty segments (RFC 3986 5.2.4 plus the AWS slash collapse).
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> out;
  for (std::string_view seg : Split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(seg);
  }
  std::string result = "/";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) result.push_back('/');
    result.append(out[i]);
  }
  if (!out.empty() && path.back() == '/') result.push_back('/');
  return result;
}

std::string BuildCanonicalHeaders(const http::Headers& headers, const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    out.append(name).push_back(':');
    bool first = true;
    for (const auto& [k, v] : headers.fields()) {
      if (!EqualsIgnoreCase(k, name)) continue;
      if (!first) out.push_back(',');
      out.append(CanonicalHeaderValue(v));
      first = false;
    }
    out.push_back('\n');
  }
  return out;
}

std::string BuildCanonicalRequest(std::string_view method, std::string_view canonical_uri,
                                  std::string_view canonical_query, const http::Headers& headers,
                                  const std::vector<std::string>& signed_header_names,
                                  std::string_view payload_hash) {
  std::string cr;
  cr.reserve(256);
  cr.append(method).push_back('\n');
  cr.append(canonical_uri).push_back('\n');
  cr.append(canonical_query).push_back('\n');
  cr.append(BuildCanonicalHeaders(headers, signed_header_names)).push_back('\n');
  for (size_t i = 0; i < signed_header_names.size(); ++i) {
    if (i) cr.push_back(';');
    cr.append(signed_header_names[i]);
  }
  cr.push_back('\n');
  cr.append(payload_hash);
  return cr;
}

std::string BuildStringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  std::string sts;
  sts.reserve(128 + scope.size());
  sts.append(kSigV4Algorithm).push_back('\n');
  sts.append(amz_date).push_back('\n');
  sts.append(scope).push_back('\n');
  sts.append(HexEncode(Sha256(canonical_request)));
  return sts;
}

std::string ScopeString(std::string_view date, std::string_view region, std::string_view service) {
  std::string s;
  s.reserve(date.size() + region.size() + service.size() + 16);
  s.append(date).push_back('/');
  s.append(region).push_back('/');
  s.append(service).push_back('/');
  s.append(kTerminator);
  return s;
}

std::string SignatureExpiredMessage(TimePoint request_time, TimePoint now) {
  std::string req = FormatAmzDate(request_time);
  if (request_time < now) {
    return "Signature expired: " + req + " is now earlier than " + FormatAmzDate(now - kMaxClockSkew) + " (" +
           FormatAmzDate(now) + " - 15 min.)";
  }
  return "Signature not yet current: " + req + " is still later than " + FormatAmzDate(now + kMaxClockSkew) +
         " (" + FormatAmzDate(now) + " + 15 min.)";
}

// TimePoint counts nanoseconds, so years past 2262 overflow it; request dates are bounded first.
bool PlausibleYear(std::string_view year) {
  if (year.size() != 4 || !std::all_of(year.begin(), year.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  return year >= "1970" && year <= "2200";
}

std::optional<TimePoint> ParseRequestAmzDate(std::string_view s) {
  if (s.size() != 16 || !PlausibleYear(s.substr(0, 4))) return std::nullopt;
  return ParseAmzDate(s);
}

// "Fri, 24 May 2013 00:00:00 GMT"
std::optional<TimePoint> ParseRequestHttpDate(std::string_view s) {
  std::vector<std::string_view> parts = Split(s, ' ');
  if (parts.size() != 6 || !PlausibleYear(parts[3])) return std::nullopt;
  return ParseRfc1123(s);
}

void EnsurePathAndQuery(http::Request& request) {
  if (request.path.empty() && !request.target.empty()) http::SplitTarget(request.target, request.path, request.query);
  if (request.path.empty()) request.path = "/";
}

void RebuildTarget(http::Request& request) {
  request.target = request.path;
  if (!request.query.empty()) request.target += "?" + request.query;
}

bool IsUnsignedClientHeader(std::string_view name) {
  return EqualsIgnoreCase(name, "authorization") || EqualsIgnoreCase(name, "user-agent") ||
         EqualsIgnoreCase(name, "expect") || EqualsIgnoreCase(name, "transfer-encoding") ||
         EqualsIgnoreCase(name, "x-amzn-trace-id");
}

}  // namespace

std::string CredentialScope::ToString() const { return ScopeString(date, region, service); }

std::string DeriveSigningKey(std::string_view secret_access_key, std::string_view date, std::string_view region,
                             std::string_view service) {
  std::string k_secret = "AWS4";
  k_secret.append(secret_access_key);
  std::string k_date = HmacSha256(k_secret, date);
  std::string k_region = HmacSha256(k_date, region);
  std::string k_service = HmacSha256(k_region, service);
  return HmacSha256(k_service, kTerminator);
}

std::string CanonicalUri(std::string_view raw_path, std::string_view service) {
  if (raw_path.empty()) return "/";
  if (service == "s3") {
    std::string out;
    out.reserve(raw_path.size() + 16);
    bool first = true;
    for (std::string_view seg : Split(raw_path, '/')) {
      if (!first) out.push_back('/');
      first = false;
      out.append(UriEncode(DecodeComponent(seg), true));
    }
    if (out.empty() || out[0] != '/') out.insert(out.begin(), '/');
    return out;
  }
  return UriEncode(NormalizePath(raw_path), false);
}

namespace {

std::string CanonicalQueryOf(const std::vector<QueryParam>& params, bool exclude_signature) {
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(params.size());
  for (const QueryParam& p : params) {
    if (exclude_signature && p.key == "X-Amz-Signature") continue;
    pairs.emplace_back(UriEncode(p.key), UriEncode(p.value));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i) out.push_back('&');
    out.append(pairs[i].first).push_back('=');
    out.append(pairs[i].second);
  }
  return out;
}

}  // namespace

std::string CanonicalQueryString(std::string_view raw_query, bool exclude_signature) {
  if (raw_query.empty()) return {};
  return CanonicalQueryOf(ParseQuery(raw_query), exclude_signature);
}

std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

StatusOr<std::string> BodySha256Hex(const http::Request& request) {
  if (request.body_file.empty()) return HexEncode(Sha256(request.body));
  int fd = ::open(request.body_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Internal("cannot open request body " + request.body_file + ": " + std::strerror(errno));
  }
  Hasher hasher(DigestAlgorithm::kSha256);
  std::string buffer(256 * 1024, '\0');
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::Internal("cannot read request body " + request.body_file + ": " + std::strerror(err));
    }
    if (n == 0) break;
    hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return HexEncode(hasher.Final());
}

std::optional<CredentialScope> PeekCredentialScope(const http::Request& request) {
  std::string_view header = request.headers.Get("Authorization");
  if (!header.empty()) {
    ParsedAuth parsed;
    std::string error;
    if (!ParseAuthorizationHeader(header, parsed, error)) return std::nullopt;
    return parsed.scope;
  }
  if (request.query.find("X-Amz-Credential") == std::string::npos) return std::nullopt;
  std::vector<QueryParam> params = ParseQuery(request.query);
  const QueryParam* credential = FindParam(params, "X-Amz-Credential");
  CredentialScope scope;
  if (credential == nullptr || !ParseCredential(credential->value, scope)) return std::nullopt;
  scope.presigned = true;
  return scope;
}

std::variant<SignedRequestInfo, AuthFailure> VerifySigV4(const http::Request& request,
                                                         const CredentialResolver& credentials, TimePoint now,
                                                         const VerifyOptions& options) {
  std::string_view auth_header = request.headers.Get("Authorization");
  std::vector<QueryParam> params = ParseQuery(request.query);
  bool query_auth = HasPresignParams(params);
  if (auth_header.empty() && !query_auth) {
    return Failure(AuthFailureKind::kMissingAuthentication, "Missing Authentication Token");
  }
  if (!auth_header.empty() && query_auth) {
    return Failure(AuthFailureKind::kIncompleteSignature,
                   "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                   "string parameter or the Authorization header should be specified");
  }

  ParsedAuth parsed;
  std::string amz_date;
  TimePoint request_time;
  std::optional<std::chrono::seconds> expires;
  std::string_view security_token;
  if (!auth_header.empty()) {
    std::string error;
    if (!ParseAuthorizationHeader(auth_header, parsed, error)) {
      return Failure(AuthFailureKind::kIncompleteSignature, std::move(error));
    }
    std::string_view x_amz_date = Trim(request.headers.Get("X-Amz-Date"));
    std::optional<TimePoint> t;
    if (!x_amz_date.empty()) {
      t = ParseRequestAmzDate(x_amz_date);
      amz_date = std::string(x_amz_date);
    } else if (std::string_view date = Trim(request.headers.Get("Date")); !date.empty()) {
      t = ParseRequestHttpDate(date);
      if (!t) t = ParseRequestAmzDate(date);
      if (t) amz_date = FormatAmzDate(*t);
    }
    if (!t) {
      return Failure(AuthFailureKind::kIncompleteSignature,
                     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header "
                     "holding a valid date. Authorization=" + std::string(Trim(auth_header)),
                     parsed.scope.access_key_id);
    }
    request_time = *t;
    security_token = request.headers.Get("X-Amz-Security-Token");
  } else {
    parsed.presigned = true;
    const QueryParam* algorithm = FindParam(params, "X-Amz-Algorithm");
    const QueryParam* credential = FindParam(params, "X-Amz-Credential");
    const QueryParam* date = FindParam(params, "X-Amz-Date");
    const QueryParam* signed_headers = FindParam(params, "X-Amz-SignedHeaders");
    const QueryParam* signature = FindParam(params, "X-Amz-Signature");
    const QueryParam* expires_param = FindParam(params, "X-Amz-Expires");
    if (!algorithm || !credential || !date || !signed_headers || !signature) {
      return Failure(AuthFailureKind::kIncompleteSignature,
                     "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                     "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
    }
    if (algorithm->value != kSigV4Algorithm) {
      return Failure(AuthFailureKind::kIncompleteSignature,
                     "X-Amz-Algorithm only supports \"" + std::string(kSigV4Algorithm) + "\"");
    }
    if (!ParseCredential(credential->value, parsed.scope)) {
      return Failure(AuthFailureKind::kIncompleteSignature,
                     "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting " +
                         std::string(kCredentialForm) + ".");
    }
    std::optional<TimePoint> t = ParseRequestAmzDate(date->value);
    if (!t) {
      return Failure(AuthFailureKind::kIncompleteSignature,
                     "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
                     parsed.scope.access_key_id);
    }
    request_time = *t;
    amz_date = date->value;
    if (expires_param) {
      const std::string& v = expires_param->value;
      bool numeric = !v.empty() && v.size() <= 12 &&
                     std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!numeric) {
        return Failure(AuthFailureKind::kIncompleteSignature, "X-Amz-Expires should be a number",
                       parsed.scope.access_key_id);
      }
      long long seconds = std::stoll(v);
      if (seconds < 1) {
        return Failure(AuthFailureKind::kIncompleteSignature, "X-Amz-Expires must be non-negative",
                       parsed.scope.access_key_id);
      }
      if (seconds > kMaxPresignedExpiry.count()) {
        return Failure(AuthFailureKind::kIncompleteSignature,
                       "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
                       parsed.scope.access_key_id);
      }
      expires = std::chrono::seconds(seconds);
    } else if (parsed.scope.service == "s3") {
      return Failure(AuthFailureKind::kIncompleteSignature,
                     "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                     "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
                     parsed.scope.access_key_id);
    }
    parsed.signed_headers = signed_headers->value;
    parsed.signature = signature->value;
    if (const QueryParam* token = FindParam(params, "X-Amz-Security-Token")) {
      security_token = token->value;
    } else {
      security_token = request.headers.Get("X-Amz-Security-Token");
    }
  }

  const CredentialScope& scope = parsed.scope;
  const std::string& akid = scope.access_key_id;
  const bool s3 = scope.service == "s3";

  if (amz_date.compare(0, 8, scope.date) != 0) {
    return Failure(AuthFailureKind::kIncompleteSignature,
                   "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                       scope.date + "' != '" + amz_date.substr(0, 8) + "', from '" + amz_date + "'.",
                   akid);
  }

  std::vector<std::string> signed_header_names;
  for (std::string_view name : Split(parsed.signed_headers, ';')) {
    if (name.empty()) {
      return Failure(AuthFailureKind::kIncompleteSignature,
                     "SignedHeaders is malformed: '" + parsed.signed_headers + "'.", akid);
    }
    signed_header_names.push_back(ToLower(name));
  }
  if (std::find(signed_header_names.begin(), signed_header_names.end(), "host") == signed_header_names.end()) {
    return Failure(AuthFailureKind::kIncompleteSignature,
                   "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", akid);
  }

  // Time: presigned requests carry their own validity; header-signed ones must be near the server's clock.
  if (parsed.presigned && expires) {
    if (now > request_time + *expires) {
      return Failure(AuthFailureKind::kRequestExpired,
                     s3 ? "Request has expired" : SignatureExpiredMessage(request_time + *expires, now), akid);
    }
    if (request_time - now > kMaxClockSkew) {
      return Failure(AuthFailureKind::kRequestExpired,
                     s3 ? "Request is not valid yet" : SignatureExpiredMessage(request_time, now), akid);
    }
  } else if (now - request_time > kMaxClockSkew || request_time - now > kMaxClockSkew) {
    return Failure(AuthFailureKind::kClockSkew,
                   s3 ? "The difference between the request time and the current time is too large."
                      : SignatureExpiredMessage(request_time, now),
                   akid);
  }

  // The payload hash as the client signed it.
  std::string payload_hash;
  bool payload_is_hex = false;
  std::string_view content_sha = Trim(request.headers.Get("X-Amz-Content-SHA256"));
  if (content_sha.empty() && parsed.presigned) {
    if (const QueryParam* p = FindParam(params, "X-Amz-Content-Sha256")) content_sha = p->value;
  }
  std::optional<std::string> body_hash;  // computed at most once
  if (!content_sha.empty()) {
    if (IsHex64(content_sha)) {
      payload_is_hex = true;
    } else if (!IsPayloadLiteral(content_sha)) {
      return Failure(AuthFailureKind::kInvalidContentSha256,
                     "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                     "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid "
                     "sha256 value.",
                     akid);
    }
    payload_hash = std::string(content_sha);
  } else if (parsed.presigned && s3) {
    payload_hash = std::string(kUnsignedPayload);
  }

  std::optional<Credential> credential = credentials.Lookup(akid);
  if (!credential) {
    return Failure(AuthFailureKind::kUnknownAccessKey,
                   s3 ? "The AWS Access Key Id you provided does not exist in our records."
                      : "The security token included in the request is invalid.",
                   akid);
  }
  if (credential->session_token.empty() ? !security_token.empty()
                                        : !ConstantTimeEquals(security_token, credential->session_token)) {
    return Failure(AuthFailureKind::kInvalidToken,
                   s3 ? "The provided token is malformed or otherwise invalid."
                      : "The security token included in the request is invalid.",
                   akid);
  }
  if (credential->expiration && now >= *credential->expiration) {
    return Failure(AuthFailureKind::kExpiredToken,
                   s3 ? "The provided token has expired." : "The security token included in the request is expired",
                   akid);
  }

  if (payload_hash.empty()) {  // nothing declared: the body's own hash was signed
    StatusOr<std::string> hash = BodySha256Hex(request);
    if (!hash.ok()) return Failure(AuthFailureKind::kContentSha256Mismatch, hash.status().message(), akid);
    body_hash = *hash;
    payload_hash = *body_hash;
  }

  std::string scope_string = scope.ToString();
  std::string signing_key = KeyCache().Get(credential->secret_access_key, scope.date, scope.region, scope.service);
  std::string canonical_query = CanonicalQueryOf(params, parsed.presigned);
  std::string canonical_uri = CanonicalUri(request.path, scope.service);
  std::string canonical_request = BuildCanonicalRequest(request.method, canonical_uri, canonical_query, request.headers,
                                                        signed_header_names, payload_hash);
  std::string string_to_sign = BuildStringToSign(amz_date, scope_string, canonical_request);
  std::string signature = HexEncode(HmacSha256(signing_key, string_to_sign));
  bool match = ConstantTimeEquals(signature, parsed.signature);
  if (!match && s3 && !request.path.empty() && request.path != canonical_uri) {
    // Some S3 clients sign the path exactly as they sent it (botocore does), and send characters the
    // strict encoding would escape.
    std::string raw_request = BuildCanonicalRequest(request.method, request.path, canonical_query, request.headers,
                                                    signed_header_names, payload_hash);
    std::string raw_sts = BuildStringToSign(amz_date, scope_string, raw_request);
    std::string raw_signature = HexEncode(HmacSha256(signing_key, raw_sts));
    if (ConstantTimeEquals(raw_signature, parsed.signature)) {
      match = true;
      signature = std::move(raw_signature);
    }
  }
  if (!match) {
    AuthFailure f = Failure(AuthFailureKind::kSignatureMismatch,
                            s3 ? "The request signature we calculated does not match the signature you provided. "
                                 "Check your key and signing method."
                               : "The request signature we calculated does not match the signature you provided. "
                                 "Check your AWS Secret Access Key and signing method. Consult the service "
                                 "documentation for details.",
                            akid);
    if (!s3) {
      f.message += "\n\nThe Canonical String for this request should have been\n'" + canonical_request +
                   "'\n\nThe String-to-Sign should have been\n'" + string_to_sign + "'\n";
    }
    f.canonical_request = std::move(canonical_request);
    f.string_to_sign = std::move(string_to_sign);
    f.signature_provided = parsed.signature;
    return f;
  }

  if (payload_is_hex && options.check_payload_hash) {
    if (!body_hash) {
      StatusOr<std::string> hash = BodySha256Hex(request);
      if (!hash.ok()) return Failure(AuthFailureKind::kContentSha256Mismatch, hash.status().message(), akid);
      body_hash = *hash;
    }
    if (ToLower(content_sha) != *body_hash) {
      return Failure(AuthFailureKind::kContentSha256Mismatch,
                     "The provided 'x-amz-content-sha256' header does not match what was computed.", akid);
    }
  }

  SignedRequestInfo info;
  info.credential = std::move(*credential);
  info.region = scope.region;
  info.service = scope.service;
  info.date = scope.date;
  info.amz_date = std::move(amz_date);
  info.scope = std::move(scope_string);
  info.request_time = request_time;
  info.signature = std::move(signature);
  info.signing_key = std::move(signing_key);
  info.presigned = parsed.presigned;
  info.content_sha256 = std::move(payload_hash);
  info.signed_headers = std::move(signed_header_names);
  return info;
}

std::string SignRequest(http::Request& request, const Credential& credential, std::string_view region,
                        std::string_view service, TimePoint now, bool unsigned_payload) {
  EnsurePathAndQuery(request);
  if (request.target.empty()) RebuildTarget(request);
  request.headers.Remove("Authorization");
  std::string amz_date = FormatAmzDate(now);
  std::string date = amz_date.substr(0, 8);
  request.headers.Set("X-Amz-Date", amz_date);
  if (!credential.session_token.empty()) request.headers.Set("X-Amz-Security-Token", credential.session_token);

  std::string payload_hash;
  if (unsigned_payload) {
    payload_hash = std::string(kUnsignedPayload);
    request.headers.Set("X-Amz-Content-SHA256", payload_hash);
  } else if (std::string_view preset = request.headers.Get("X-Amz-Content-SHA256"); !preset.empty()) {
    payload_hash = std::string(preset);
  } else {
    StatusOr<std::string> hash = BodySha256Hex(request);
    payload_hash = hash.ok() ? *hash : std::string(kEmptySha256);
    if (service == "s3") request.headers.Set("X-Amz-Content-SHA256", payload_hash);
  }

  std::vector<std::string> names;
  for (const auto& [k, v] : request.headers.fields()) {
    if (IsUnsignedClientHeader(k)) continue;
    names.push_back(ToLower(k));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  std::string scope = ScopeString(date, region, service);
  std::string canonical_request = BuildCanonicalRequest(request.method, CanonicalUri(request.path, service),
                                                        CanonicalQueryString(request.query), request.headers, names,
                                                        payload_hash);
  std::string key = KeyCache().Get(credential.secret_access_key, date, region, service);
  std::string signature = HexEncode(HmacSha256(key, BuildStringToSign(amz_date, scope, canonical_request)));
  std::string authorization = std::string(kSigV4Algorithm) + " Credential=" + credential.access_key_id + "/" +
                              scope + ", SignedHeaders=";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) authorization.push_back(';');
    authorization.append(names[i]);
  }
  authorization += ", Signature=" + signature;
  request.headers.Set("Authorization", std::move(authorization));
  return signature;
}

void PresignRequest(http::Request& request, const Credential& credential, std::string_view region,
                    std::string_view service, TimePoint now, std::chrono::seconds expires) {
  EnsurePathAndQuery(request);
  std::string amz_date = FormatAmzDate(now);
  std::string date = amz_date.substr(0, 8);
  std::string scope = ScopeString(date, region, service);
  std::string& q = request.query;
  auto add = [&q](std::string_view key, std::string_view value) {
    if (!q.empty()) q.push_back('&');
    q.append(UriEncode(key)).push_back('=');
    q.append(UriEncode(value));
  };
  add("X-Amz-Algorithm", kSigV4Algorithm);
  add("X-Amz-Credential", credential.access_key_id + "/" + scope);
  add("X-Amz-Date", amz_date);
  add("X-Amz-Expires", std::to_string(expires.count()));
  add("X-Amz-SignedHeaders", "host");
  if (!credential.session_token.empty()) add("X-Amz-Security-Token", credential.session_token);

  std::string payload_hash;
  if (service == "s3") {
    payload_hash = std::string(kUnsignedPayload);
  } else {
    StatusOr<std::string> hash = BodySha256Hex(request);
    payload_hash = hash.ok() ? *hash : std::string(kEmptySha256);
  }
  std::string canonical_request =
      BuildCanonicalRequest(request.method, CanonicalUri(request.path, service), CanonicalQueryString(q),
                            request.headers, {"host"}, payload_hash);
  std::string key = KeyCache().Get(credential.secret_access_key, date, region, service);
  add("X-Amz-Signature", HexEncode(HmacSha256(key, BuildStringToSign(amz_date, scope, canonical_request))));
  RebuildTarget(request);
}

}  // namespace gantry::aws
