// libFuzzer target for what Parameter Store, Secrets Manager and CloudTrail read from requests and
// from their own records: the input is split at the first NUL byte into a text part and a JSON part.
// The text is read as a parameter name or ARN with a selector, checked against the name rules,
// opened as a sealed value, and decoded as a stored trail line; the JSON is validated and matched
// as ParameterFilters against a fixed parameter. Any input must yield a Status or a value, never a
// crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/crypto/sealed_box.h"
#include "services/cloudtrail/trail_event.h"
#include "services/ssm/parameters.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view text = input.substr(0, nul);
  std::string_view json = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);

  namespace ssm = gantry::services::ssm;
  ssm::NameSelector selector = ssm::ParseNameSelector(text);
  (void)ssm::ValidateName(selector.name);
  (void)ssm::ValidateName(text);

  static const auto box = gantry::crypto::SealedBox::FromKey(std::string(gantry::crypto::kMasterKeyBytes, 'k'));
  (void)box->Open(text, "context");

  nlohmann::json decoded = gantry::services::cloudtrail::DecodeEvent(text);
  if (decoded.is_object()) (void)gantry::services::cloudtrail::LookupEntry(decoded);

  nlohmann::json filters = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (filters.is_array()) {
    static const nlohmann::json parameter = {
        {"Name", "/app/prod/db"}, {"Type", "SecureString"}, {"KeyId", "alias/aws/ssm"}, {"Tier", "Standard"},
        {"DataType", "text"}, {"Labels", {{"stable", 2}}}, {"Tags", {{{"Key", "team"}, {"Value", "red"}}}}};
    for (bool by_path : {false, true}) {
      try {
        if (ssm::ValidateParameterFilters(filters, by_path).ok()) (void)ssm::MatchesParameterFilters(parameter, filters);
      } catch (const nlohmann::json::exception&) {
        // Wrongly typed members are refused by the model's validation before a handler sees them.
      }
    }
  }
  return 0;
}
