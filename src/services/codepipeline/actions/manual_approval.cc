// Approval/AWS/Manual/1: the execution waits for PutApprovalResult. Start announces the approval
// token the engine issued (ctx.approval_token, which GetPipelineState shows and PutApprovalResult
// must name) and keeps it with its expiry, seven days on, in the action's state; the engine delivers the result and polls. Approved
// succeeds and Rejected fails, each with the reviewer's summary; no answer within seven days fails
// the action. NotificationArn is published to through SNS as AWS does; while Gantry has no SNS the
// state records that the notification was not delivered.
#include <regex>

#include "core/common/time_format.h"
#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {

namespace {

using aws::Document;

constexpr auto kApprovalLifetime = std::chrono::hours(24 * 7);

class ManualApproval final : public ActionProvider {
 public:
  ManualApproval() {
    type_.category = "Approval";
    type_.provider = "Manual";
    type_.configuration = {
        {"NotificationArn", false, false, false, false, "The Amazon SNS topic notified of the approval request"},
        {"CustomData", false, false, false, false, "Comments for the reviewer"},
        {"ExternalEntityLink", false, false, false, false, "A URL for the reviewer"},
    };
  }

  const ActionTypeInfo& type() const override { return type_; }

  Status Validate(const Document& declaration) const override {
    static const std::regex kTopicArn(R"(arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?)");
    const Document& configuration = declaration.value("configuration", Document::object());
    std::string arn = ConfigValue(configuration, "NotificationArn");
    // A value with #{...} variables is checked when it is resolved, at run time.
    if (configuration.contains("NotificationArn") && arn.find("#{") == std::string::npos &&
        !std::regex_match(arn, kTopicArn)) {
      return InvalidDeclaration("Action configuration for action '" + declaration.value("name", "") +
                                "' has an invalid NotificationArn: " + arn + " is not an Amazon SNS topic ARN");
    }
    return Status::Ok();
  }

  ActionResult Start(ActionContext& ctx) override {
    TimePoint now = ctx.clock->Now();
    const std::string& token = ctx.approval_token;
    ActionResult result;
    result.state = {{"token", token}, {"expires", ToEpochSeconds(now + kApprovalLifetime)}};
    std::string topic = ConfigValue(ctx.configuration(), "NotificationArn");
    if (!topic.empty()) {
      Document message = {{"region", ctx.region},
                          {"consoleLink", ctx.endpoint},
                          {"approval",
                           {{"pipelineName", ctx.pipeline_name},
                            {"stageName", ctx.stage_name},
                            {"actionName", ctx.action_name},
                            {"token", token},
                            {"expires", FormatIso8601(now + kApprovalLifetime)},
                            {"externalEntityLink", ConfigValue(ctx.configuration(), "ExternalEntityLink")},
                            {"customData", ConfigValue(ctx.configuration(), "CustomData")}}}};
      auto published = CallService(
          ctx, "sns", "Publish",
          {{"TopicArn", topic},
           {"Subject", "APPROVAL NEEDED: AWS CodePipeline " + ctx.pipeline_name + " for action " + ctx.action_name},
           {"Message", message.dump()}});
      result.state["notification"] =
          published.ok() ? "delivered to " + topic
                         : "not delivered to " + topic + ": " + std::string(published.status().message());
    }
    result.external_execution_id = token;
    result.poll_after = kApprovalLifetime;
    return result;
  }

  ActionResult Poll(ActionContext& ctx) override {
    if (ctx.delivered.is_object() && ctx.delivered.contains("status")) {
      std::string status = ctx.delivered.value("status", "");
      ActionResult result;
      result.state = ctx.state;
      result.external_execution_id = ctx.state.is_object() ? ctx.state.value("token", "") : "";
      result.summary = ctx.delivered.value("summary", "");
      if (status == "Approved") {
        result.status = ActionStatus::kSucceeded;
        return result;
      }
      if (status == "Rejected") {
        result.status = ActionStatus::kFailed;
        result.error_code = "JobFailed";
        return result;
      }
    }
    TimePoint now = ctx.clock->Now();
    if (!ctx.state.is_object()) return ActionResult::Failed("JobFailed", "The approval request was never made");
    TimePoint expires = FromEpochSeconds(ctx.state.value("expires", 0.0));
    if (now >= expires) {
      return ActionResult::Failed("JobFailed", "The approval request expired: no response was received within 7 days.");
    }
    ActionResult result;
    result.state = ctx.state;
    result.external_execution_id = ctx.state.value("token", "");
    result.poll_after = std::chrono::duration_cast<std::chrono::milliseconds>(expires - now);
    return result;
  }

 private:
  ActionTypeInfo type_;
};

}  // namespace

std::unique_ptr<ActionProvider> MakeManualApproval() { return std::make_unique<ManualApproval>(); }

}  // namespace gantry::services::codepipeline
