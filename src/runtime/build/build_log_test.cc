#include "runtime/build/build_log.h"

#include <gtest/gtest.h>

namespace gantry::runtime {
namespace {

TEST(ContainerLine, StampsInCodeBuildsForm) {
  TimePoint time = TimePoint(std::chrono::seconds(1795683600)) + std::chrono::microseconds(123456);
  EXPECT_EQ(ContainerLine(time, "Running command echo hi"),
            "[Container] 2026/11/26 09:00:00.123456 Running command echo hi");
  EXPECT_EQ(ContainerLine(TimePoint(std::chrono::seconds(0)), ""), "[Container] 1970/01/01 00:00:00.000000 ");
}

TEST(SecretMasker, MasksEveryOccurrenceLongestFirst) {
  SecretMasker masker;
  EXPECT_EQ(masker.Mask("nothing to hide"), "nothing to hide");
  masker.Add("pass");
  masker.Add("password1");
  masker.Add("");
  EXPECT_FALSE(masker.empty());
  EXPECT_EQ(masker.Mask("password1 and pass and passpass"), "*** and *** and ******");
  EXPECT_EQ(masker.Mask("pas"), "pas");
  EXPECT_EQ(masker.Mask(""), "");
}

}  // namespace
}  // namespace gantry::runtime
