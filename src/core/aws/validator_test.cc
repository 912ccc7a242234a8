#include <gtest/gtest.h>

#include "core/aws/validator.h"

namespace gantry::aws {
namespace {

const Shape& PutRuleInput() { return *ModelRegistry::Instance().Get("events")->FindOperation("PutRule")->input; }

TEST(ValidatorTest, AcceptsValidInput) {
  EXPECT_TRUE(ValidateInput(PutRuleInput(), {{"Name", "my-rule"}, {"State", "ENABLED"}}).ok());
}

TEST(ValidatorTest, MissingRequired) {
  Status s = ValidateInput(PutRuleInput(), Document::object());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
}

TEST(ValidatorTest, EnumLengthAndPattern) {
  Status s = ValidateInput(PutRuleInput(), {{"Name", std::string(65, 'a')}, {"State", "ON"}});
  EXPECT_EQ(s.message(),
            "2 validation errors detected: Value '" + std::string(65, 'a') +
                "' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64; "
                "Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy enum value set: "
                "[ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]");
  Status p = ValidateInput(PutRuleInput(), {{"Name", "bad name!"}});
  EXPECT_NE(p.message().find("Member must satisfy regular expression pattern"), std::string::npos) << p.message();
}

TEST(ValidatorTest, NestedListPaths) {
  const Shape& input = *ModelRegistry::Instance().Get("events")->FindOperation("PutTargets")->input;
  Status s = ValidateInput(input, {{"Rule", "r"}, {"Targets", {{{"Id", "t1"}}}}});
  EXPECT_EQ(s.message(),
            "1 validation error detected: Value null at 'targets.1.member.arn' failed to satisfy constraint: Member "
            "must not be null");
}

TEST(ValidatorTest, NumericRange) {
  const Shape& input = *ModelRegistry::Instance().Get("events")->FindOperation("ListRules")->input;
  Status s = ValidateInput(input, {{"Limit", 0}});
  EXPECT_EQ(s.message(),
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value "
            "greater than or equal to 1");
}

}  // namespace
}  // namespace gantry::aws
