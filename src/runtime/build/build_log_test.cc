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

TEST(SecretMasker, MasksEveryLineOfAMultiLineSecret) {
  SecretMasker masker;
  masker.Add("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\r\nAQEFAASCBKcwggSjAgEAAoIB\n-----END PRIVATE KEY-----\n");
  masker.Add("{\n  \"user\": \"admin\",\n  \"pw\": \"hunter22\"\n}");
  EXPECT_EQ(masker.Mask("MIIEvQIBADANBgkqhkiG9w0B"), "***");
  EXPECT_EQ(masker.Mask("    AQEFAASCBKcwggSjAgEAAoIB\r"), "    ***\r");
  EXPECT_EQ(masker.Mask("-----END PRIVATE KEY-----"), "***");
  EXPECT_EQ(masker.Mask("  \"pw\": \"hunter22\""), "  ***");
  // Lines shorter than the minimum, and blank ones, are not masked on their own.
  EXPECT_EQ(masker.Mask("{"), "{");
  EXPECT_EQ(masker.Mask("}"), "}");
  EXPECT_EQ(masker.Mask(""), "");
  // A one-line secret is masked whatever its length.
  masker.Add("ab");
  EXPECT_EQ(masker.Mask("cab"), "c***");
}

TEST(SecretMasker, SplitPointNeverCutsASecret) {
  SecretMasker masker;
  EXPECT_EQ(masker.SplitPoint("anything at all", 5), 5u);
  EXPECT_EQ(masker.longest(), 0u);
  masker.Add("s3cr3t");
  EXPECT_EQ(masker.longest(), 6u);
  //                      0123456789
  EXPECT_EQ(masker.SplitPoint("xxxxs3cr3txx", 6), 4u);   // spans 6: cut before it
  EXPECT_EQ(masker.SplitPoint("xxxxs3cr3txx", 10), 10u);  // ends at 10: cut there
  EXPECT_EQ(masker.SplitPoint("xxxxs3cr3txx", 4), 4u);
  EXPECT_EQ(masker.SplitPoint("s3cr3txx", 3), 6u);        // starts at 0: cut after it
  EXPECT_EQ(masker.SplitPoint("s3cr3ts3cr3t", 8), 6u);
}

}  // namespace
}  // namespace gantry::runtime
