// libFuzzer target for the HTTP request parser: the same head and body code the server runs on its
// sockets (core/http/parse.h). The first input byte picks how the rest is split into reads, so
// the parser's resumable states are exercised; the limits are small so that the 413/431 paths are
// reached. Any input must yield a Request or a Status, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/http/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t read_size = data[0] == 0 ? static_cast<size_t>(-1) : data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  auto request = gantry::http::ParseRequest(bytes, 4096, 1 << 16, read_size);
  if (request.ok()) {
    // Exercise what handlers read from a parsed request.
    (void)request->QueryParams();
    (void)request->headers.Get("Content-Type");
    if (request->body.size() != request->body_size) __builtin_trap();
  } else if (request.status().http_status() == 0) {
    __builtin_trap();  // every refusal carries the status the server answers with
  }
  return 0;
}
