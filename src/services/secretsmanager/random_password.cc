#include "services/secretsmanager/random_password.h"

#include <cstdint>
#include <vector>

namespace gantry::services::secretsmanager {

namespace {

// A uniform index in [0, n) by rejection sampling over 32-bit draws.
size_t UniformIndex(IdSource& ids, size_t n) {
  const uint64_t range = uint64_t{1} << 32;
  const uint64_t limit = range - range % n;
  while (true) {
    std::string bytes = ids.Bytes(4);
    uint64_t v = 0;
    for (unsigned char c : bytes) v = (v << 8) | c;
    if (v < limit) return static_cast<size_t>(v % n);
  }
}

std::string Without(std::string_view chars, std::string_view excluded) {
  std::string out;
  for (char c : chars) {
    if (excluded.find(c) == std::string_view::npos) out.push_back(c);
  }
  return out;
}

}  // namespace

StatusOr<std::string> RandomPassword(const aws::Document& input, IdSource& ids) {
  int64_t length = input.value("PasswordLength", int64_t{32});
  std::string excluded = input.value("ExcludeCharacters", "");
  std::vector<std::string> classes;
  if (!input.value("ExcludeLowercase", false)) classes.push_back(Without("abcdefghijklmnopqrstuvwxyz", excluded));
  if (!input.value("ExcludeUppercase", false)) classes.push_back(Without("ABCDEFGHIJKLMNOPQRSTUVWXYZ", excluded));
  if (!input.value("ExcludeNumbers", false)) classes.push_back(Without("0123456789", excluded));
  if (!input.value("ExcludePunctuation", false)) classes.push_back(Without(kPunctuation, excluded));
  std::string all;
  std::vector<const std::string*> required;
  for (const auto& c : classes) {
    all += c;
    if (!c.empty()) required.push_back(&c);
  }
  if (input.value("IncludeSpace", false)) all += Without(" ", excluded);
  if (all.empty()) {
    return Status::InvalidArgument("The password can't be generated because every character type is excluded.",
                                   "InvalidParameterException");
  }
  bool each = input.value("RequireEachIncludedType", true);
  if (!each) required.clear();
  if (length < static_cast<int64_t>(required.size())) {
    return Status::InvalidArgument("The password length is too short to include every required character type.",
                                   "InvalidParameterException");
  }
  std::string password;
  password.reserve(static_cast<size_t>(length));
  for (const std::string* c : required) password.push_back((*c)[UniformIndex(ids, c->size())]);
  while (static_cast<int64_t>(password.size()) < length) password.push_back(all[UniformIndex(ids, all.size())]);
  for (size_t i = password.size(); i > 1; --i) std::swap(password[i - 1], password[UniformIndex(ids, i)]);
  return password;
}

}  // namespace gantry::services::secretsmanager
