#include "services/sts/web_identity.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

#include "core/common/strings.h"

namespace gantry::services {

namespace {

using Json = nlohmann::json;

constexpr size_t kMaxTokenSize = 20000;

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message), "InvalidIdentityToken"); }

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;

// An RSA public key from the JWK's modulus and exponent.
Key RsaKey(const std::string& n, const std::string& e) {
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY_CTX* ctx = nullptr;
  EVP_PKEY* key = nullptr;
  if (bn_n && bn_e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1 &&
      (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr &&
      (ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)) != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) key = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return Key(key);
}

bool Verify(EVP_PKEY* key, const EVP_MD* md, std::string_view data, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::optional<int64_t> NumericClaim(const Json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_number()) return std::nullopt;
  return it->is_number_integer() ? it->get<int64_t>() : static_cast<int64_t>(it->get<double>());
}

}  // namespace

std::optional<std::string> Base64UrlDecode(std::string_view s) {
  std::string b64(s);
  for (char& c : b64) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return std::nullopt;
  }
  while (b64.size() % 4 != 0) b64.push_back('=');
  return Base64Decode(b64);
}

StatusOr<WebIdentityClaims> VerifyWebIdentityToken(std::string_view token, std::string_view jwks_json) {
  if (token.size() > kMaxTokenSize) return Invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)");
  }
  auto header_text = Base64UrlDecode(token.substr(0, dot1));
  auto payload_text = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) {
    return Invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)");
  }
  Json header = Json::parse(*header_text, nullptr, false);
  Json payload = Json::parse(*payload_text, nullptr, false);
  if (!header.is_object() || !payload.is_object()) {
    return Invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)");
  }
  std::string alg = header.value("alg", "");
  const EVP_MD* md = alg == "RS256" ? EVP_sha256() : alg == "RS384" ? EVP_sha384() : alg == "RS512" ? EVP_sha512() : nullptr;
  if (md == nullptr) return Invalid("Unsupported token signing algorithm: " + (alg.empty() ? std::string("none") : alg));

  Json jwks = Json::parse(jwks_json.begin(), jwks_json.end(), nullptr, false);
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return Invalid("Couldn't retrieve verification key from your identity provider,  please reference "
                   "AssumeRoleWithWebIdentity documentation for requirements");
  }
  std::string kid = header.value("kid", "");
  const Json* jwk = nullptr;
  for (const Json& k : jwks["keys"]) {
    if (!k.is_object() || k.value("kty", "") != "RSA") continue;
    if (kid.empty() ? jwks["keys"].size() == 1 : k.value("kid", "") == kid) jwk = &k;
  }
  if (jwk == nullptr) {
    return Invalid("Couldn't retrieve verification key from your identity provider,  please reference "
                   "AssumeRoleWithWebIdentity documentation for requirements");
  }
  auto n = Base64UrlDecode(jwk->value("n", ""));
  auto e = Base64UrlDecode(jwk->value("e", ""));
  Key key = n && e && !n->empty() && !e->empty() ? RsaKey(*n, *e) : Key();
  if (!key) return Invalid("The key in the identity provider's JWKS is not a valid RSA key.");
  if (!Verify(key.get(), md, token.substr(0, dot2), *signature)) {
    return Invalid("The web identity token signature is not valid.");
  }

  WebIdentityClaims claims;
  claims.payload = payload;
  claims.issuer = payload.value("iss", "");
  claims.subject = payload.value("sub", "");
  if (auto aud = payload.find("aud"); aud != payload.end()) {
    if (aud->is_string()) claims.audiences.push_back(aud->get<std::string>());
    if (aud->is_array()) {
      for (const Json& a : *aud) {
        if (a.is_string()) claims.audiences.push_back(a.get<std::string>());
      }
    }
  }
  claims.expires = NumericClaim(payload, "exp");
  claims.not_before = NumericClaim(payload, "nbf");
  claims.issued_at = NumericClaim(payload, "iat");
  if (claims.issuer.empty()) return Invalid("The ID Token provided does not have an issuer (iss) claim.");
  if (!claims.expires) return Invalid("The ID Token provided does not have an expiration (exp) claim.");
  return claims;
}

}  // namespace gantry::services
