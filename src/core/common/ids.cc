#include "core/common/ids.h"

#include <sys/random.h>

#include <cerrno>

#include <cstdio>
#include <stdexcept>

namespace gantry {

std::string IdSource::Hex(size_t n_chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string raw = Bytes((n_chars + 1) / 2);
  std::string out;
  out.reserve(n_chars);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  out.resize(n_chars);
  return out;
}

std::string IdSource::Uuid() {
  std::string b = Bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  char out[37];
  auto u = [&](int i) { return static_cast<unsigned>(static_cast<unsigned char>(b[i])); };
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u(0), u(1),
                u(2), u(3), u(4), u(5), u(6), u(7), u(8), u(9), u(10), u(11), u(12), u(13), u(14), u(15));
  return out;
}

std::string IdSource::FromAlphabet(size_t n, std::string_view alphabet) {
  std::string out;
  out.reserve(n);
  const unsigned limit = 256 - (256 % alphabet.size());
  while (out.size() < n) {
    for (unsigned char c : Bytes(n * 2)) {
      if (c >= limit) continue;
      out.push_back(alphabet[c % alphabet.size()]);
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string RandomIdSource::Bytes(size_t n) {
  // getrandom(2): the kernel's CSPRNG, with no user-space generator to set up first.
  std::string out(n, '\0');
  for (size_t filled = 0; filled < n;) {
    ssize_t got = ::getrandom(out.data() + filled, n - filled, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::runtime_error("getrandom failed");  // the OS CSPRNG failing is not recoverable
    filled += static_cast<size_t>(got);
  }
  return out;
}

RandomIdSource* RandomIdSource::Instance() {
  static RandomIdSource source;
  return &source;
}

std::string SequentialIdSource::Bytes(size_t n) {
  std::string out(n, '\0');
  uint64_t v = next_.fetch_add(1);
  for (size_t i = 0; i < n; ++i) out[n - 1 - i] = static_cast<char>(i < 8 ? (v >> (8 * i)) & 0xff : 0);
  return out;
}

}  // namespace gantry
