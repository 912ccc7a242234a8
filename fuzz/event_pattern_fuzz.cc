// libFuzzer target for EventBridge event patterns (core/events/pattern.h): the input is split at the
// first NUL byte into a pattern and an event; the pattern is parsed and, when valid, matched against
// the event. Any input must yield a Status or a verdict, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/events/pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view pattern_text = input.substr(0, nul);
  std::string_view event_text = nul == std::string_view::npos ? std::string_view("{}") : input.substr(nul + 1);
  auto pattern = gantry::events::EventPattern::Parse(pattern_text);
  if (!pattern.ok()) return 0;
  (void)pattern->MatchesJson(event_text);
  return 0;
}
