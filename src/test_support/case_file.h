// Data-driven test cases for grammars (event patterns, policies, filter patterns, ...): files under
// tests/data/<area>/ made of blocks
//
//   === a case name
//   key: value
//   other key:
//     a multi-line value, each line indented two spaces
//
// '#' starts a comment line. A block named "@name" is a fixture, not a case: a later field whose
// whole value is "@name" takes the fixture's "event" field instead. Used by tests only.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace gantry::test_support {

struct Case {
  std::string file;
  int line = 0;
  std::string name;
  std::vector<std::pair<std::string, std::string>> fields;  // in file order

  bool Has(const std::string& key) const;
  // The first value of key, or "".
  std::string Get(const std::string& key) const;
  // Every value of key, in file order.
  std::vector<std::string> All(const std::string& key) const;
};

// The test data directory: $GANTRY_TEST_DATA, else the source tree's tests/data (gtest lists
// parameterized tests at build time, outside ctest's environment).
std::string TestDataDir();

// The cases of tests/data/<area>/<file>, under TestDataDir().
std::vector<Case> LoadCases(const std::string& area, const std::string& file);

// "L<line>_<name with non-alphanumerics as _>": a stable gtest parameter name.
std::string CaseName(const ::testing::TestParamInfo<Case>& info);
// "<file>:<line> (<name>)" for failure messages.
std::string Where(const Case& c);
// How gtest prints a case.
void PrintTo(const Case& c, std::ostream* os);

}  // namespace gantry::test_support
