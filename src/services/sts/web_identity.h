// Web identity tokens for sts:AssumeRoleWithWebIdentity: a JWT (RS256, RS384 or RS512) verified
// against the RSA keys of a JWKS document (the --oidc-jwks file), with its claims decoded. Time
// claims (exp, nbf) are checked by the caller against the injected clock. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/status.h"

namespace gantry::services {

struct WebIdentityClaims {
  nlohmann::json payload;
  std::string issuer;                  // iss
  std::string subject;                 // sub
  std::vector<std::string> audiences;  // aud (a string or a list)
  std::optional<int64_t> expires;      // exp
  std::optional<int64_t> not_before;   // nbf
  std::optional<int64_t> issued_at;    // iat
};

// Verifies the token's signature with the JWKS key named by its "kid" (or the only key when the
// token names none) and decodes its claims. Errors are InvalidIdentityToken with STS's messages.
StatusOr<WebIdentityClaims> VerifyWebIdentityToken(std::string_view token, std::string_view jwks_json);

// RFC 4648 §5 base64url without padding; nullopt on malformed input.
std::optional<std::string> Base64UrlDecode(std::string_view s);

}  // namespace gantry::services
