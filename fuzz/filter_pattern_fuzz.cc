// libFuzzer target for CloudWatch Logs filter patterns (telemetry/logs/filter_pattern.h): the input
// is split at the first NUL byte into a pattern and messages (one per line); the pattern is parsed
// and, when valid, matched against each message with field extraction. Any input must yield a
// Status or a verdict, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "telemetry/logs/filter_pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view pattern_text = input.substr(0, nul);
  std::string_view messages = nul == std::string_view::npos ? std::string_view("ERROR 1 {\"a\":1}") : input.substr(nul + 1);
  auto pattern = gantry::telemetry::logs::FilterPattern::Parse(pattern_text);
  if (!pattern.ok()) return 0;
  gantry::telemetry::logs::FilterPattern::Fields fields;
  while (true) {
    size_t end = messages.find('\n');
    (void)pattern->Match(messages.substr(0, end), &fields);
    if (end == std::string_view::npos) break;
    messages.remove_prefix(end + 1);
  }
  return 0;
}
