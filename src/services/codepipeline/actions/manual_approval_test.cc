#include <gtest/gtest.h>

#include "services/codepipeline/actions/fake_services_test.h"
#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {
namespace {

using aws::Document;
using testing::FakeServices;

Document Approval(Document configuration) {
  return {{"name", "Approve"},
          {"actionTypeId", {{"category", "Approval"}, {"owner", "AWS"}, {"provider", "Manual"}, {"version", "1"}}},
          {"configuration", configuration},
          {"inputArtifacts", Document::array()},
          {"outputArtifacts", Document::array()}};
}

class ManualApprovalTest : public ::testing::Test {
 protected:
  ManualApprovalTest() : provider_(MakeManualApproval()) {}
  ActionContext Context(const Document& declaration) {
    ActionContext ctx = testing::MakeContext(declaration, &services_, &clock_, &ids_);
    ctx.approval_token = "11111111-2222-4333-8444-555555555555";
    return ctx;
  }

  std::unique_ptr<ActionProvider> provider_;
  FakeServices services_;
  FakeClock clock_;
  SequentialIdSource ids_;
};

TEST_F(ManualApprovalTest, WaitsForTheResultItsTokenNames) {
  ActionContext ctx = Context(Approval({{"CustomData", "Look at it"}}));
  ActionResult started = provider_->Start(ctx);
  ASSERT_EQ(started.status, ActionStatus::kInProgress);
  std::string token = started.state["token"];
  EXPECT_EQ(token, ctx.approval_token);
  EXPECT_EQ(started.external_execution_id, token);
  EXPECT_EQ(FromEpochSeconds(started.state["expires"].get<double>()), clock_.Now() + std::chrono::hours(168));
  EXPECT_EQ(started.poll_after, std::chrono::hours(168));
  EXPECT_TRUE(services_.calls.empty());

  ctx.state = started.state;
  clock_.Advance(std::chrono::hours(1));
  ActionResult waiting = provider_->Poll(ctx);
  EXPECT_EQ(waiting.status, ActionStatus::kInProgress);
  EXPECT_EQ(waiting.state, started.state);
  EXPECT_EQ(waiting.poll_after, std::chrono::hours(167));

  ctx.delivered = {
      {"status", "Approved"}, {"summary", "Looks good"}, {"approvedBy", "arn:aws:iam::000000000000:user/a"}};
  ActionResult approved = provider_->Poll(ctx);
  EXPECT_EQ(approved.status, ActionStatus::kSucceeded);
  EXPECT_EQ(approved.summary, "Looks good");
}

TEST_F(ManualApprovalTest, RejectionAndExpiryFail) {
  ActionContext ctx = Context(Approval(Document::object()));
  ctx.state = provider_->Start(ctx).state;
  ctx.delivered = {{"status", "Rejected"}, {"summary", "Not yet"}};
  ActionResult rejected = provider_->Poll(ctx);
  EXPECT_EQ(rejected.status, ActionStatus::kFailed);
  EXPECT_EQ(rejected.summary, "Not yet");

  ctx.delivered = Document();
  clock_.Advance(std::chrono::hours(168));
  ActionResult expired = provider_->Poll(ctx);
  EXPECT_EQ(expired.status, ActionStatus::kFailed);
  EXPECT_EQ(expired.summary, "The approval request expired: no response was received within 7 days.");
}

TEST_F(ManualApprovalTest, NotificationTopicsAreCheckedAndTheirDeliveryRecorded) {
  EXPECT_EQ(provider_->Validate(Approval({{"NotificationArn", "arn:aws:s3:::bucket"}})).message(),
            "Action configuration for action 'Approve' has an invalid NotificationArn: arn:aws:s3:::bucket is not an "
            "Amazon SNS topic ARN");
  Document declaration = Approval({{"NotificationArn", "arn:aws:sns:us-east-1:000000000000:approvals"}});
  ASSERT_TRUE(provider_->Validate(declaration).ok());
  ActionContext ctx = Context(declaration);
  ActionResult started = provider_->Start(ctx);
  EXPECT_EQ(started.status, ActionStatus::kInProgress);
  ASSERT_EQ(services_.CallsTo("sns", "Publish").size(), 1u);
  EXPECT_EQ(services_.CallsTo("sns", "Publish")[0].input["TopicArn"], "arn:aws:sns:us-east-1:000000000000:approvals");
  EXPECT_EQ(started.state["notification"],
            "not delivered to arn:aws:sns:us-east-1:000000000000:approvals: fake: sns:Publish");
}

}  // namespace
}  // namespace gantry::services::codepipeline
