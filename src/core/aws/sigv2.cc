#include "core/aws/sigv2.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "core/aws/codecs.h"
#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::aws {

namespace {

// The query parameters that are part of the canonical resource (botocore's HmacV1Auth.QSAOfInterest).
constexpr std::string_view kSubResources[] = {
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle", "location",
    "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication", "requestPayment",
    "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires", "restore", "select", "select-type",
    "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
};

bool IsSubResource(std::string_view key) {
  return std::find(std::begin(kSubResources), std::end(kSubResources), key) != std::end(kSubResources);
}

struct RawParam {
  std::string key;    // decoded
  std::string value;  // decoded ('+' stays '+': base64 signatures are often sent unescaped)
  bool has_value = false;
};

std::vector<RawParam> ParseQuery(std::string_view query) {
  std::vector<RawParam> out;
  for (std::string_view part : Split(query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    RawParam p;
    std::string_view k = part.substr(0, eq);
    auto dk = UriDecode(k, false);
    p.key = dk ? *dk : std::string(k);
    if (eq != std::string_view::npos) {
      std::string_view v = part.substr(eq + 1);
      auto dv = UriDecode(v, false);
      p.value = dv ? *dv : std::string(v);
      p.has_value = true;
    }
    out.push_back(std::move(p));
  }
  return out;
}

const RawParam* Find(const std::vector<RawParam>& params, std::string_view key) {
  for (const RawParam& p : params) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

bool IsHeaderForm(const http::Request& request) {
  std::string_view auth = Trim(request.headers.Get("Authorization"));
  return auth.size() > 4 && auth.substr(0, 4) == "AWS ";
}

bool IsQueryForm(const std::vector<RawParam>& params) {
  return Find(params, "AWSAccessKeyId") != nullptr && Find(params, "Signature") != nullptr;
}

std::string CanonicalAmzHeaders(const http::Request& request, const std::vector<RawParam>& params) {
  std::map<std::string, std::string> amz;
  for (const auto& [name, value] : request.headers.fields()) {
    std::string lower = ToLower(name);
    if (lower.rfind("x-amz-", 0) != 0) continue;
    std::string& slot = amz[lower];
    if (!slot.empty()) slot.push_back(',');
    slot.append(Trim(value));
  }
  for (const RawParam& p : params) {
    std::string lower = ToLower(p.key);
    if (lower.rfind("x-amz-", 0) != 0 || amz.count(lower)) continue;
    amz[lower] = std::string(Trim(p.value));
  }
  std::string out;
  for (const auto& [name, value] : amz) out += name + ":" + value + "\n";
  return out;
}

std::string CanonicalSubResources(const std::vector<RawParam>& params) {
  std::vector<std::pair<std::string, std::string>> picked;
  for (const RawParam& p : params) {
    if (IsSubResource(p.key)) picked.emplace_back(p.key, p.has_value ? "=" + p.value : std::string());
  }
  std::stable_sort(picked.begin(), picked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (size_t i = 0; i < picked.size(); ++i) {
    out += i == 0 ? "?" : "&";
    out += picked[i].first + picked[i].second;
  }
  return out;
}

// "/bucket/key" for both addressing styles: a virtual-hosted bucket is moved into the path.
std::string ResourcePath(const http::Request& request) {
  std::string path = request.path.empty() ? "/" : request.path;
  if (auto bucket = ExtractVirtualHostBucket(request.headers.Get("Host"))) return "/" + *bucket + path;
  return path;
}

std::string StringToSign(const http::Request& request, const std::vector<RawParam>& params, std::string_view date,
                         std::string_view resource_path) {
  auto standard = [&](std::string_view name) {
    if (request.headers.Has(name)) return std::string(Trim(request.headers.Get(name)));
    if (const RawParam* p = Find(params, ToLower(name))) return std::string(Trim(p->value));
    return std::string();
  };
  std::string sts = request.method + "\n";
  sts += standard("Content-MD5") + "\n";
  sts += standard("Content-Type") + "\n";
  sts += std::string(date) + "\n";
  sts += CanonicalAmzHeaders(request, params);
  sts += std::string(resource_path) + CanonicalSubResources(params);
  return sts;
}

std::string Sign(std::string_view secret, std::string_view string_to_sign) {
  return Base64Encode(HmacSha1(secret, string_to_sign));
}

AuthFailure Failure(AuthFailureKind kind, std::string message, std::string access_key_id = {}) {
  AuthFailure f;
  f.kind = kind;
  f.message = std::move(message);
  f.access_key_id = std::move(access_key_id);
  return f;
}

}  // namespace

bool IsSigV2Request(const http::Request& request) {
  if (IsHeaderForm(request)) return true;
  if (request.query.find("AWSAccessKeyId") == std::string::npos) return false;
  return IsQueryForm(ParseQuery(request.query));
}

std::string SigV2StringToSign(const http::Request& request, std::string_view date, std::string_view resource_path) {
  return StringToSign(request, ParseQuery(request.query), date, resource_path);
}

std::variant<SignedRequestInfo, AuthFailure> VerifySigV2(const http::Request& request,
                                                         const CredentialResolver& credentials, TimePoint now) {
  std::vector<RawParam> params = ParseQuery(request.query);
  const bool header_form = IsHeaderForm(request);
  std::string access_key_id, signature, date;
  std::string_view security_token;
  if (header_form) {
    std::string_view value = Trim(Trim(request.headers.Get("Authorization")).substr(4));
    size_t colon = value.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == value.size()) {
      return Failure(AuthFailureKind::kIncompleteSignature,
                     "The authorization header you provided is invalid; expecting \"AWS <AWSAccessKeyId>:<Signature>\".");
    }
    access_key_id = std::string(Trim(value.substr(0, colon)));
    signature = std::string(Trim(value.substr(colon + 1)));
    std::optional<TimePoint> time;
    if (std::string_view amz_date = Trim(request.headers.Get("x-amz-date")); !amz_date.empty()) {
      time = ParseRfc1123(amz_date);
      if (!time) time = ParseAmzDate(amz_date);
    } else {
      date = std::string(Trim(request.headers.Get("Date")));
      time = ParseRfc1123(date);
    }
    if (!time) {
      return Failure(AuthFailureKind::kMissingAuthentication,
                     "AWS authentication requires a valid Date or x-amz-date header", access_key_id);
    }
    if (now - *time > kMaxClockSkew || *time - now > kMaxClockSkew) {
      return Failure(AuthFailureKind::kClockSkew,
                     "The difference between the request time and the current time is too large.", access_key_id);
    }
    security_token = request.headers.Get("x-amz-security-token");
  } else {
    const RawParam* key = Find(params, "AWSAccessKeyId");
    const RawParam* sig = Find(params, "Signature");
    const RawParam* expires = Find(params, "Expires");
    if (key == nullptr || sig == nullptr || expires == nullptr) {
      return Failure(AuthFailureKind::kMissingAuthentication,
                     "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters");
    }
    access_key_id = key->value;
    signature = sig->value;
    date = expires->value;
    bool numeric = !date.empty() && date.size() <= 12 &&
                   std::all_of(date.begin(), date.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric) {
      return Failure(AuthFailureKind::kMissingAuthentication, "Invalid date (should be seconds since epoch): " + date,
                     access_key_id);
    }
    if (ToEpochSeconds(now) > static_cast<double>(std::stoll(date))) {
      return Failure(AuthFailureKind::kRequestExpired, "Request has expired", access_key_id);
    }
    if (const RawParam* token = Find(params, "x-amz-security-token")) {
      security_token = token->value;
    } else {
      security_token = request.headers.Get("x-amz-security-token");
    }
  }

  std::optional<Credential> credential = credentials.Lookup(access_key_id);
  if (!credential) {
    return Failure(AuthFailureKind::kUnknownAccessKey,
                   "The AWS Access Key Id you provided does not exist in our records.", access_key_id);
  }
  if (credential->session_token.empty() ? !security_token.empty()
                                        : !ConstantTimeEquals(security_token, credential->session_token)) {
    return Failure(AuthFailureKind::kInvalidToken, "The provided token is malformed or otherwise invalid.",
                   access_key_id);
  }
  if (credential->expiration && now >= *credential->expiration) {
    return Failure(AuthFailureKind::kExpiredToken, "The provided token has expired.", access_key_id);
  }

  // The path as sent first (what botocore signs), then the same path encoded the strict way.
  std::string raw_path = ResourcePath(request);
  std::string string_to_sign = StringToSign(request, params, date, raw_path);
  bool match = ConstantTimeEquals(Sign(credential->secret_access_key, string_to_sign), signature);
  if (!match) {
    auto decoded = UriDecode(raw_path, false);
    std::string strict = UriEncode(decoded ? *decoded : raw_path, /*encode_slash=*/false);
    if (strict != raw_path) {
      std::string strict_sts = StringToSign(request, params, date, strict);
      match = ConstantTimeEquals(Sign(credential->secret_access_key, strict_sts), signature);
    }
  }
  if (!match) {
    AuthFailure f = Failure(AuthFailureKind::kSignatureMismatch,
                            "The request signature we calculated does not match the signature you provided. Check "
                            "your key and signing method.",
                            access_key_id);
    f.string_to_sign = std::move(string_to_sign);
    f.signature_provided = signature;
    return f;
  }

  SignedRequestInfo info;
  info.credential = std::move(*credential);
  info.service = "s3";
  info.request_time = now;
  info.presigned = !header_form;
  return info;
}

void PresignSigV2(http::Request& request, const Credential& credential, TimePoint expires) {
  if (request.path.empty() && !request.target.empty()) http::SplitTarget(request.target, request.path, request.query);
  if (request.path.empty()) request.path = "/";
  std::string expires_text = std::to_string(static_cast<long long>(ToEpochSeconds(expires)));
  if (!credential.session_token.empty()) {
    if (!request.query.empty()) request.query += "&";
    request.query += "x-amz-security-token=" + UriEncode(credential.session_token);
  }
  std::string sts = StringToSign(request, ParseQuery(request.query), expires_text, ResourcePath(request));
  if (!request.query.empty()) request.query += "&";
  request.query += "AWSAccessKeyId=" + UriEncode(credential.access_key_id) + "&Expires=" + expires_text +
                   "&Signature=" + UriEncode(Sign(credential.secret_access_key, sts));
  request.target = request.path + "?" + request.query;
}

}  // namespace gantry::aws
