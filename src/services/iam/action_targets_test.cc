// Data-driven tests of what IAM checks for a request: tests/data/iam/action_targets.txt holds one
// case per block (service, operation, input → every check in order, and condition keys).
#include "services/iam/action_targets.h"

#include <gtest/gtest.h>

#include "core/aws/model.h"
#include "test_support/case_file.h"

namespace gantry::services::iam {
namespace {

using test_support::Case;
using test_support::CaseName;
using test_support::Where;

std::vector<Case> Cases() { return test_support::LoadCases("iam", "action_targets.txt"); }

class ActionTargetsCase : public testing::TestWithParam<Case> {};

TEST_P(ActionTargetsCase, Run) {
  const Case& c = GetParam();
  SCOPED_TRACE(Where(c));
  aws::RequestContext ctx;
  ctx.account_id = "111122223333";
  ctx.region = "us-east-1";
  ctx.principal.account_id = ctx.account_id;
  ctx.principal.arn = "arn:aws:iam::111122223333:user/alice";
  ctx.model = aws::ModelRegistry::Instance().Get(c.Get("service"));
  ASSERT_NE(ctx.model, nullptr) << c.Get("service");
  ctx.operation = ctx.model->FindOperation(c.Get("operation"));
  ASSERT_NE(ctx.operation, nullptr) << c.Get("operation");
  aws::Document input = aws::Document::parse(c.Has("input") ? c.Get("input") : "{}");

  ActionTargets targets = TargetsFor(ctx, input, TargetLookups{});
  std::vector<std::string> got;
  for (const ActionCheck& check : targets.checks) got.push_back(check.action + " " + check.resource);
  EXPECT_EQ(got, c.All("check"));
  for (const std::string& context : c.All("context")) {
    aws::Document expected = aws::Document::parse(context);
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      const std::vector<std::string>* values = targets.context.Find(it.key());
      ASSERT_NE(values, nullptr) << it.key();
      EXPECT_EQ(*values, it.value().get<std::vector<std::string>>()) << it.key();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ActionTargets, ActionTargetsCase, testing::ValuesIn(Cases()), CaseName);

}  // namespace
}  // namespace gantry::services::iam
