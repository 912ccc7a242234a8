// Small string utilities shared by every module: case, trimming, splitting, percent-encoding as AWS
// canonicalizes it, base64 and hex. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gantry {

std::string ToLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string_view Trim(std::string_view s);
std::vector<std::string_view> Split(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// RFC 3986 unreserved characters pass; everything else becomes %XX (upper case). With
// encode_slash=false, '/' is kept (SigV4 canonical URI for S3 object keys).
std::string UriEncode(std::string_view s, bool encode_slash = true);
// Decodes %XX and, with plus_is_space, '+' as ' ' (forms). nullopt on malformed escapes.
std::optional<std::string> UriDecode(std::string_view s, bool plus_is_space = false);

std::string Base64Encode(std::string_view data);
std::optional<std::string> Base64Decode(std::string_view s);
std::string HexEncode(std::string_view data);
std::optional<std::string> HexDecode(std::string_view s);

// Constant-time comparison for secrets and signatures.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Whether s is valid UTF-8.
bool IsValidUtf8(std::string_view s);

}  // namespace gantry
