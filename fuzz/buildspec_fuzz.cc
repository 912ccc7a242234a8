// libFuzzer target for buildspecs (runtime/build/buildspec.h): the input is a buildspec file. Any
// input must yield a Status or a Buildspec, never a crash or a hang; a Buildspec must keep the
// parser's promises (batch body is JSON, secrets-manager references parse, an error names the file).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/build/buildspec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto spec = gantry::runtime::ParseBuildspec(input, "buildspec.yml");
  if (!spec.ok()) {
    if (spec.status().message().rfind("buildspec.yml", 0) != 0) __builtin_trap();
    return 0;
  }
  (void)gantry::runtime::UnknownKeysMessage(*spec);
  if (spec->batch && nlohmann::json::parse(spec->batch->body_json, nullptr, false).is_discarded()) __builtin_trap();
  for (const auto& [name, reference] : spec->secrets_manager) {
    if (!gantry::runtime::ParseSecretReference(reference).ok()) __builtin_trap();
  }
  return 0;
}
