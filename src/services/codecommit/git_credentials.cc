#include "services/codecommit/git_credentials.h"

#include "core/aws/sigv4.h"
#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"
#include "services/codecommit/records.h"

namespace gantry::services::codecommit {

namespace {

bool Digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool LowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status Unauthenticated(std::string message) { return Status::Unauthenticated(std::move(message)); }

}  // namespace

std::optional<HelperPassword> ParseHelperPassword(std::string_view password) {
  // 20240101T120000Z + 64 hex digits.
  if (password.size() != 16 + 64 || password[8] != 'T' || password[15] != 'Z') return std::nullopt;
  if (!Digits(password.substr(0, 8)) || !Digits(password.substr(9, 6)) || !LowerHex(password.substr(16))) {
    return std::nullopt;
  }
  return HelperPassword{std::string(password.substr(0, 15)), std::string(password.substr(16))};
}

std::string HelperSignature(std::string_view secret_access_key, std::string_view timestamp, std::string_view region,
                            std::string_view url_path, std::string_view host) {
  std::string hostname(host.substr(0, host.find(':')));
  std::string canonical = "GIT\n" + std::string(url_path) + "\n\nhost:" + hostname + "\n\nhost\n";
  std::string date(timestamp.substr(0, 8));
  std::string scope = date + "/" + std::string(region) + "/codecommit/aws4_request";
  std::string string_to_sign = std::string(aws::kSigV4Algorithm) + "\n" + std::string(timestamp) + "\n" + scope + "\n" +
                               HexEncode(Sha256(canonical));
  return HexEncode(HmacSha256(aws::DeriveSigningKey(secret_access_key, date, region, "codecommit"), string_to_sign));
}

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header) {
  constexpr std::string_view kBasic = "basic ";
  if (header.size() <= kBasic.size() || !EqualsIgnoreCase(header.substr(0, kBasic.size()), kBasic)) {
    return std::nullopt;
  }
  std::optional<std::string> decoded = Base64Decode(Trim(header.substr(kBasic.size())));
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

StatusOr<aws::Principal> AuthenticateGit(const aws::HttpServeContext& context, const BasicCredentials& credentials,
                                         std::string_view url_path, std::string_view host, TimePoint now) {
  std::optional<HelperPassword> helper = ParseHelperPassword(credentials.password);
  if (!helper) {
    if (context.service_passwords != nullptr) {
      if (auto principal = context.service_passwords->VerifyServicePassword(kServicePrincipal, credentials.user,
                                                                            credentials.password)) {
        return std::move(*principal);
      }
    }
    return Unauthenticated("The user name or password of " + credentials.user +
                           " is not valid HTTPS Git credentials nor an aws codecommit credential-helper signature.");
  }
  std::string access_key = credentials.user;
  std::string token;
  if (size_t percent = access_key.find('%'); percent != std::string::npos) {
    token = access_key.substr(percent + 1);
    access_key.resize(percent);
  }
  std::optional<aws::Credential> credential =
      context.credentials != nullptr ? context.credentials->Lookup(access_key) : std::nullopt;
  if (!credential) return Unauthenticated("The access key " + access_key + " is not known.");
  if (!ConstantTimeEquals(token, credential->session_token)) {
    return Unauthenticated(token.empty() ? "The access key " + access_key + " needs its session token."
                                         : "The session token of " + access_key + " is not valid.");
  }
  if (credential->expiration && now >= *credential->expiration) {
    return Unauthenticated("The credentials of " + access_key + " have expired.");
  }
  std::optional<TimePoint> signed_at = ParseAmzDate(helper->timestamp + "Z");
  if (!signed_at || *signed_at > now + aws::kMaxClockSkew || *signed_at < now - aws::kMaxClockSkew) {
    return Unauthenticated("The credential-helper signature of " + access_key + " was made at " + helper->timestamp +
                           "Z, more than 15 minutes from the server's time " + FormatAmzDate(now) + ".");
  }
  std::string expected =
      HelperSignature(credential->secret_access_key, helper->timestamp, context.region, url_path, host);
  if (!ConstantTimeEquals(expected, helper->signature)) {
    return Unauthenticated("The credential-helper signature of " + access_key +
                           " does not match: it must be made for " + std::string(url_path) + " in region " +
                           context.region + " (set AWS_REGION or the profile's region).");
  }
  aws::Principal principal;
  principal.account_id = credential->account_id;
  principal.arn = credential->principal_arn;
  principal.access_key_id = credential->access_key_id;
  principal.is_root = principal.arn == "arn:aws:iam::" + credential->account_id + ":root";
  principal.user_id = principal.is_root ? credential->account_id : credential->user_id;
  return principal;
}

}  // namespace gantry::services::codecommit
