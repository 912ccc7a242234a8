#include "test_support/case_file.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>

namespace gantry::test_support {

bool Case::Has(const std::string& key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return true;
  }
  return false;
}

std::string Case::Get(const std::string& key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return v;
  }
  return {};
}

std::vector<std::string> Case::All(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields) {
    if (k == key) out.push_back(v);
  }
  return out;
}

std::string TestDataDir() {
  const char* env = std::getenv("GANTRY_TEST_DATA");
  return env != nullptr && *env != '\0' ? env : GANTRY_TEST_DATA_DIR;
}

std::vector<Case> LoadCases(const std::string& area, const std::string& file) {
  std::ifstream in(TestDataDir() + "/" + area + "/" + file);
  std::vector<Case> cases;
  std::map<std::string, std::string> fixtures;
  auto finish = [&] {
    if (cases.empty()) return;
    Case& c = cases.back();
    if (!c.name.empty() && c.name[0] == '@') {
      fixtures[c.name] = c.Get("event");
      cases.pop_back();
      return;
    }
    for (auto& [key, value] : c.fields) {
      if (value.empty() || value[0] != '@') continue;
      if (auto f = fixtures.find(value); f != fixtures.end()) value = f->second;
    }
  };
  std::string line;
  int line_no = 0;
  bool multiline = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("=== ", 0) == 0) {
      finish();
      multiline = false;
      Case c;
      c.file = file;
      c.line = line_no;
      c.name = line.substr(4);
      cases.push_back(std::move(c));
      continue;
    }
    if (multiline && line.rfind("  ", 0) == 0) {
      std::string& value = cases.back().fields.back().second;
      if (!value.empty()) value.push_back('\n');
      value.append(line.substr(2));
      continue;
    }
    multiline = false;
    if (line.empty() || line[0] == '#' || cases.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    multiline = value.empty();
    cases.back().fields.emplace_back(std::move(key), std::move(value));
  }
  finish();
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name = "L" + std::to_string(info.param.line) + "_";
  for (char c : info.param.name) name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return name;
}

std::string Where(const Case& c) { return c.file + ":" + std::to_string(c.line) + " (" + c.name + ")"; }

void PrintTo(const Case& c, std::ostream* os) { *os << Where(c); }

}  // namespace gantry::test_support
