#include "services/codepipeline/codepipeline_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "services/codepipeline/actions/providers.h"
#include "services/codepipeline/records.h"
#include "test_support/case_file.h"
#include "test_support/service_test.h"

namespace gantry::services::codepipeline {
namespace {

using aws::Document;

constexpr char kRole[] = "arn:aws:iam::000000000000:role/pipeline";

// Answers what the engine and handlers ask of other services: AssumeRole, HeadBucket (every
// bucket but "missing" exists) and PutEvents (recorded).
class FakeAws final : public aws::Client {
 public:
  StatusOr<Document> Call(const aws::Principal& principal, std::string_view service, std::string_view operation,
                          const Document& input, std::string_view region) override {
    std::lock_guard lock(mu);
    if (service == "sts" && operation == "AssumeRole") {
      std::string role = input.value("RoleArn", "");
      return Document{{"Credentials", {{"AccessKeyId", "ASIA1"}, {"Expiration", 4000000000.0}}},
                      {"AssumedRoleUser",
                       {{"Arn", "arn:aws:sts::000000000000:assumed-role/" + role.substr(role.rfind('/') + 1) + "/s"},
                        {"AssumedRoleId", "AROA:s"}}}};
    }
    if (service == "s3" && operation == "HeadBucket") {
      if (input.value("Bucket", "") == "missing") return Status::NotFound("no bucket", "NoSuchBucket");
      return Document::object();
    }
    if (service == "events" && operation == "PutEvents") {
      events.push_back(input["Entries"][0]);
      return Document{{"FailedEntryCount", 0}};
    }
    if (service == "sns" && operation == "Publish") {
      published.push_back(Document::parse(input.value("Message", "{}")));
      return Document{{"MessageId", "m1"}};
    }
    return Status::Unimplemented("fake");
  }
  std::vector<std::pair<std::string, Document>> Events() {
    std::lock_guard lock(mu);
    std::vector<std::pair<std::string, Document>> out;
    for (const Document& e : events) out.emplace_back(e["DetailType"], Document::parse(e["Detail"].get<std::string>()));
    return out;
  }
  std::mutex mu;
  std::vector<Document> events;
  std::vector<Document> published;  // SNS messages
};

// The store, with writes in transactions failing on demand.
class FlakyStore final : public store::Store {
 public:
  explicit FlakyStore(store::Store* store) : store_(store) {}
  StatusOr<std::optional<store::Record>> Get(std::string_view t, std::string_view s, std::string_view k) override {
    if (failing_reads) return Status::Unavailable("disk busy");
    return store_->Get(t, s, k);
  }
  StatusOr<int64_t> Put(std::string_view t, std::string_view s, std::string_view k, const nlohmann::json& d) override {
    return store_->Put(t, s, k, d);
  }
  StatusOr<int64_t> Create(std::string_view t, std::string_view s, std::string_view k, const nlohmann::json& d) override {
    return store_->Create(t, s, k, d);
  }
  StatusOr<int64_t> Update(std::string_view t, std::string_view s, std::string_view k, const nlohmann::json& d,
                           std::optional<int64_t> v) override {
    return store_->Update(t, s, k, d, v);
  }
  StatusOr<bool> Delete(std::string_view t, std::string_view s, std::string_view k, std::optional<int64_t> v) override {
    return store_->Delete(t, s, k, v);
  }
  StatusOr<store::ListPage> List(std::string_view t, std::string_view s, const store::ListOptions& o) override {
    return store_->List(t, s, o);
  }
  StatusOr<int64_t> Count(std::string_view t, std::string_view s, std::string_view p) override {
    return store_->Count(t, s, p);
  }
  StatusOr<int64_t> NextSequence(std::string_view name) override { return store_->NextSequence(name); }
  Status Transact(const std::function<Status(store::Transaction&)>& fn) override {
    if (failing) return Status::Unavailable("disk full");
    return store_->Transact(fn);
  }
  std::atomic<bool> failing{false};
  std::atomic<bool> failing_reads{false};

 private:
  store::Store* store_;
};

// What the fake providers saw, shared with the test.
struct Script {
  std::mutex mu;
  // "block": Start waits until released, saying it entered.
  std::condition_variable cv;
  bool entered = false, released = false;
  // action name → succeed | fail | fail-once | throw-once | wait (default succeed)
  std::map<std::string, std::string> outcome;
  std::map<std::string, int> starts;
  std::map<std::string, int> stops;
  std::map<std::string, int> stateless_stops;  // Stop called before Start reported a state
  std::map<std::string, Document> configurations;  // resolved, by action name
  std::map<std::string, aws::Principal> principals;
  std::string revision = "rev1";
  std::string Outcome(const std::string& action) {
    std::lock_guard lock(mu);
    auto it = outcome.find(action);
    return it == outcome.end() ? "succeed" : it->second;
  }
};

// One fake provider per category: sources produce their outputs and a revision; others
// succeed, fail or wait as scripted; approvals wait for PutApprovalResult.
class FakeProvider final : public ActionProvider {
 public:
  FakeProvider(std::string category, Script* script) : script_(script) {
    info_.category = category;
    info_.provider = "Fake" + category;
    info_.max_inputs = category == "Source" ? 0 : 5;
    info_.min_outputs = category == "Source" ? 1 : 0;
    info_.max_outputs = category == "Approval" ? 0 : 5;
    info_.configuration = {{"Value"}, {"PollForSourceChanges"}};
  }
  const ActionTypeInfo& type() const override { return info_; }
  Status Validate(const Document& declaration) const override {
    if (declaration["configuration"].value("Value", "") == "invalid") {
      return Status::InvalidArgument("Value must not be invalid", "InvalidActionDeclarationException");
    }
    return Status::Ok();
  }
  ActionResult Start(ActionContext& ctx) override {
    {
      std::unique_lock lock(script_->mu);
      ++script_->starts[ctx.action_name];
      script_->configurations[ctx.action_name] = ctx.configuration();
      script_->principals[ctx.action_name] = ctx.principal;
      if (script_->outcome[ctx.action_name] == "block") {
        script_->entered = true;
        script_->cv.notify_all();
        script_->cv.wait(lock, [&] { return script_->released; });
        script_->outcome[ctx.action_name] = "wait";
      }
    }
    return Decide(ctx);
  }
  ActionResult Poll(ActionContext& ctx) override { return Decide(ctx); }
  void Stop(ActionContext& ctx) override {
    std::lock_guard lock(script_->mu);
    ++script_->stops[ctx.action_name];
    if (!ctx.state.is_object()) ++script_->stateless_stops[ctx.action_name];
  }
  StatusOr<std::optional<SourceRevision>> LatestRevision(ActionContext& ctx) override {
    if (info_.category != "Source") return std::optional<SourceRevision>();
    std::lock_guard lock(script_->mu);
    return std::optional<SourceRevision>(SourceRevision{script_->revision, "summary", "", std::nullopt});
  }

 private:
  ActionResult Decide(ActionContext& ctx) {
    ActionResult result;
    result.state = {{"started", true}};
    if (info_.category == "Approval") {
      if (ctx.delivered.is_null()) return result;
      if (ctx.delivered.value("status", "") == "Approved") {
        result.status = ActionStatus::kSucceeded;
        result.summary = ctx.delivered.value("summary", "");
        return result;
      }
      return ActionResult::Failed("JobFailed", "Rejected: " + ctx.delivered.value("summary", ""));
    }
    std::string outcome = script_->Outcome(ctx.action_name);
    if (outcome == "wait") return result;
    if (outcome == "throw-once") {
      std::lock_guard lock(script_->mu);
      script_->outcome[ctx.action_name] = "succeed";
      throw std::runtime_error("provider bug");
    }
    if (outcome == "fail-once") {
      std::lock_guard lock(script_->mu);
      script_->outcome[ctx.action_name] = "succeed";
    }
    if (outcome == "fail" || outcome == "fail-once") return ActionResult::Failed("JobFailed", ctx.action_name + " failed");
    result.status = ActionStatus::kSucceeded;
    for (const std::string& name : ctx.output_names) result.outputs.push_back(ctx.new_output_location(name));
    if (info_.category == "Source") {
      std::lock_guard lock(script_->mu);
      result.revision = SourceRevision{script_->revision, "the commit", "", std::nullopt};
      result.output_variables = {{"CommitId", script_->revision}};
    }
    return result;
  }
  ActionTypeInfo info_;
  Script* script_;
};

Document Action(const std::string& name, const std::string& category, int run_order = 1,
                std::vector<std::string> inputs = {}, std::vector<std::string> outputs = {}) {
  Document action = {{"name", name},
                     {"actionTypeId", {{"category", category}, {"owner", "AWS"}, {"provider", "Fake" + category}, {"version", "1"}}},
                     {"runOrder", run_order},
                     {"inputArtifacts", Document::array()},
                     {"outputArtifacts", Document::array()}};
  for (const auto& i : inputs) action["inputArtifacts"].push_back({{"name", i}});
  for (const auto& o : outputs) action["outputArtifacts"].push_back({{"name", o}});
  return action;
}

Document Pipeline(const std::string& name, Document later_stages, const std::string& mode = "SUPERSEDED") {
  Document stages = Document::array({{{"name", "Source"}, {"actions", {Action("Src", "Source", 1, {}, {"SourceOut"})}}}});
  for (const Document& s : later_stages) stages.push_back(s);
  return {{"name", name},
          {"roleArn", kRole},
          {"artifactStore", {{"type", "S3"}, {"location", "artifacts"}}},
          {"stages", stages},
          {"pipelineType", "V2"},
          {"executionMode", mode}};
}

class CodePipelineTest : public test_support::ServiceTest<CodePipelineService> {
 protected:
  CodePipelineTest() : ServiceTest("codepipeline", "000000000000", "us-east-1") {}

  std::unique_ptr<CodePipelineService> MakeService() override {
    ActionRegistry registry;
    for (const char* category : {"Source", "Build", "Test", "Deploy", "Approval"}) {
      registry.Add(std::make_unique<FakeProvider>(category, &script_));
    }
    registry.Add(MakeManualApproval());
    CodePipelineOptions options;
    options.engine_threads = 0;
    options.poll_interval = std::chrono::milliseconds(0);
    flaky_ = std::make_unique<FlakyStore>(store_.get());
    return std::make_unique<CodePipelineService>(flaky_.get(), &clock_, &ids_, &aws_, [] { return "http://gantry"; },
                                                 std::move(registry), options);
  }

  void Run() { service_->engine().RunPending(); }

  // Creates the pipeline and runs its first execution as far as it goes; its id.
  std::string Create(const Document& pipeline) {
    Ok("CreatePipeline", {{"pipeline", pipeline}});
    Run();
    return LatestExecution(pipeline["name"]);
  }
  std::string LatestExecution(const std::string& pipeline) {
    Document list = Ok("ListPipelineExecutions", {{"pipelineName", pipeline}});
    return list["pipelineExecutionSummaries"].empty() ? "" : list["pipelineExecutionSummaries"][0].value("pipelineExecutionId", "");
  }
  std::string Status(const std::string& pipeline, const std::string& id) {
    return Ok("GetPipelineExecution", {{"pipelineName", pipeline}, {"pipelineExecutionId", id}})["pipelineExecution"]
        .value("status", "");
  }
  std::string StartExecution(const std::string& pipeline) {
    return Ok("StartPipelineExecution", {{"name", pipeline}}).value("pipelineExecutionId", "");
  }
  // Action execution details of an execution, oldest first.
  std::vector<Document> Actions(const std::string& pipeline, const std::string& id) {
    Document out = Ok("ListActionExecutions", {{"pipelineName", pipeline}, {"filter", {{"pipelineExecutionId", id}}}});
    std::vector<Document> list(out["actionExecutionDetails"].begin(), out["actionExecutionDetails"].end());
    std::reverse(list.begin(), list.end());
    return list;
  }
  std::map<std::string, std::string> ActionStatuses(const std::string& pipeline, const std::string& id) {
    std::map<std::string, std::string> out;
    for (const Document& a : Actions(pipeline, id)) out[a["actionName"]] = a["status"];
    return out;
  }

  FakeAws aws_;
  Script script_;
  std::unique_ptr<FlakyStore> flaky_;
};

TEST_F(CodePipelineTest, CreatePipelineRunsItsFirstExecutionThroughEveryStage) {
  Document pipeline = Pipeline("p", {{{"name", "Build"}, {"actions", {Action("Compile", "Build", 1, {"SourceOut"}, {"BuildOut"})}}},
                                     {{"name", "Deploy"}, {"actions", {Action("Ship", "Deploy", 1, {"BuildOut"})}}}});
  std::string id = Create(pipeline);
  ASSERT_FALSE(id.empty());
  Document execution = Ok("GetPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", id}})["pipelineExecution"];
  EXPECT_EQ(execution["status"], "Succeeded");
  EXPECT_EQ(execution["trigger"]["triggerType"], "CreatePipeline");
  EXPECT_EQ(execution["pipelineVersion"], 1);
  ASSERT_EQ(execution["artifactRevisions"].size(), 1u);
  EXPECT_EQ(execution["artifactRevisions"][0]["revisionId"], "rev1");
  EXPECT_EQ(execution["artifactRevisions"][0]["name"], "SourceOut");

  std::vector<Document> actions = Actions("p", id);
  ASSERT_EQ(actions.size(), 3u);
  const Document& source_out = actions[0]["output"]["outputArtifacts"][0];
  EXPECT_EQ(source_out["s3location"]["bucket"], "artifacts");
  std::string key = source_out["s3location"]["key"];
  EXPECT_EQ(key.rfind("p/SourceOut/", 0), 0u) << key;
  EXPECT_EQ(key.size(), std::string("p/SourceOut/").size() + 7);
  EXPECT_EQ(actions[1]["input"]["inputArtifacts"][0]["s3location"]["key"], key);
  EXPECT_EQ(actions[0]["output"]["outputVariables"]["CommitId"], "rev1");
  // The providers ran as the pipeline's role, on the pipeline's behalf.
  EXPECT_EQ(script_.principals["Compile"].arn, "arn:aws:sts::000000000000:assumed-role/pipeline/s");
  EXPECT_EQ(script_.principals["Compile"].source_arn, "arn:aws:codepipeline:us-east-1:000000000000:p");

  Document state = Ok("GetPipelineState", {{"name", "p"}});
  ASSERT_EQ(state["stageStates"].size(), 3u);
  EXPECT_EQ(state["stageStates"][1]["latestExecution"]["status"], "Succeeded");
  EXPECT_EQ(state["stageStates"][1]["actionStates"][0]["latestExecution"]["status"], "Succeeded");
  EXPECT_EQ(state["stageStates"][0]["actionStates"][0]["currentRevision"]["revisionId"], "rev1");

  std::vector<std::string> pipeline_states, stage_events;
  for (const auto& [type, detail] : aws_.Events()) {
    if (type == "CodePipeline Pipeline Execution State Change") pipeline_states.push_back(detail["state"]);
    if (type == "CodePipeline Stage Execution State Change") stage_events.push_back(detail.value("stage", "") + ":" + detail.value("state", ""));
  }
  EXPECT_EQ(pipeline_states, (std::vector<std::string>{"STARTED", "SUCCEEDED"}));
  EXPECT_EQ(stage_events, (std::vector<std::string>{"Source:STARTED", "Source:SUCCEEDED", "Build:STARTED",
                                                    "Build:SUCCEEDED", "Deploy:STARTED", "Deploy:SUCCEEDED"}));
}

TEST_F(CodePipelineTest, SameRunOrderRunsInParallelAndHigherRunOrderWaits) {
  script_.outcome = {{"A", "wait"}, {"B", "wait"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"},
                                          {"actions", {Action("A", "Build", 1, {"SourceOut"}), Action("B", "Build", 1),
                                                       Action("C", "Build", 2)}}}}));
  auto statuses = ActionStatuses("p", id);
  EXPECT_EQ(statuses["A"], "InProgress");
  EXPECT_EQ(statuses["B"], "InProgress");
  EXPECT_FALSE(statuses.count("C"));
  script_.outcome = {};
  clock_.Advance(std::chrono::seconds(2));
  Run();
  EXPECT_EQ(ActionStatuses("p", id)["C"], "Succeeded");
  EXPECT_EQ(Status("p", id), "Succeeded");
}

TEST_F(CodePipelineTest, AFailedActionFailsTheStageAfterItsSiblingsAndTheExecution) {
  script_.outcome = {{"A", "fail"}, {"B", "wait"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("A", "Build"), Action("B", "Build"), Action("C", "Build", 2)}}},
                                         {{"name", "Deploy"}, {"actions", {Action("D", "Deploy")}}}}));
  EXPECT_EQ(Status("p", id), "InProgress");  // B still runs
  script_.outcome["B"] = "succeed";
  clock_.Advance(std::chrono::seconds(2));
  Run();
  Document execution = Ok("GetPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", id}})["pipelineExecution"];
  EXPECT_EQ(execution["status"], "Failed");
  EXPECT_EQ(execution["statusSummary"], "A failed");
  auto statuses = ActionStatuses("p", id);
  EXPECT_FALSE(statuses.count("C"));
  EXPECT_FALSE(statuses.count("D"));
  Document state = Ok("GetPipelineState", {{"name", "p"}});
  EXPECT_EQ(state["stageStates"][1]["latestExecution"]["status"], "Failed");
  EXPECT_EQ(state["stageStates"][1]["actionStates"][0]["latestExecution"]["errorDetails"]["message"], "A failed");
}

TEST_F(CodePipelineTest, ApprovalWaitsForPutApprovalResultWithItsToken) {
  std::string id = Create(Pipeline("p", {{{"name", "Approve"}, {"actions", {Action("Gate", "Approval")}}}}));
  Document state = Ok("GetPipelineState", {{"name", "p"}});
  std::string token = state["stageStates"][1]["actionStates"][0]["latestExecution"].value("token", "");
  ASSERT_FALSE(token.empty());
  Document request = {{"pipelineName", "p"}, {"stageName", "Approve"}, {"actionName", "Gate"},
                      {"result", {{"summary", "ok"}, {"status", "Approved"}}}, {"token", "00000000-0000-4000-8000-000000000000"}};
  EXPECT_EQ(Error("PutApprovalResult", request).first, "InvalidApprovalTokenException");
  request["token"] = token;
  Document approved = Ok("PutApprovalResult", request);
  EXPECT_TRUE(approved.contains("approvedAt"));
  Run();
  EXPECT_EQ(Status("p", id), "Succeeded");
  EXPECT_EQ(Error("PutApprovalResult", request).first, "ApprovalAlreadyCompletedException");
  request["actionName"] = "Nope";
  EXPECT_EQ(Error("PutApprovalResult", request).first, "ActionNotFoundException");
}

TEST_F(CodePipelineTest, ApprovalIsCheckedAgainstTheVersionItsExecutionRuns) {
  Document pipeline = Pipeline("p", {{{"name", "Approve"}, {"actions", {Action("Gate", "Approval")}}}});
  std::string id = Create(pipeline);
  std::string token =
      Ok("GetPipelineState", {{"name", "p"}})["stageStates"][1]["actionStates"][0]["latestExecution"].value("token", "");
  pipeline["stages"][1]["actions"][0]["name"] = "Gate2";
  Ok("UpdatePipeline", {{"pipeline", pipeline}});
  Ok("PutApprovalResult", {{"pipelineName", "p"}, {"stageName", "Approve"}, {"actionName", "Gate"},
                           {"result", {{"summary", "ok"}, {"status", "Approved"}}}, {"token", token}});
  Run();
  EXPECT_EQ(Status("p", id), "Succeeded");
}

TEST_F(CodePipelineTest, ARetryIsRefusedWhileANewerExecutionWaitsForTheStage) {
  script_.outcome = {{"B", "fail"}};
  std::string failed = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  EXPECT_EQ(Status("p", failed), "Failed");
  Ok("DisableStageTransition", {{"pipelineName", "p"}, {"stageName", "Build"}, {"transitionType", "Inbound"}, {"reason", "x"}});
  std::string newer = StartExecution("p");
  Run();
  Document retry = {{"pipelineName", "p"}, {"stageName", "Build"}, {"pipelineExecutionId", failed}, {"retryMode", "FAILED_ACTIONS"}};
  EXPECT_EQ(Error("RetryStageExecution", retry).first, "ConflictException");
  EXPECT_EQ(Status("p", failed), "Failed");
  EXPECT_EQ(Status("p", newer), "InProgress");
}

TEST_F(CodePipelineTest, ManualApprovalAnnouncesTheTokenPutApprovalResultAccepts) {
  Document gate = Action("Gate", "Approval");
  gate["actionTypeId"]["provider"] = "Manual";
  gate["configuration"] = {{"NotificationArn", "arn:aws:sns:us-east-1:000000000000:approvals"}};
  std::string id = Create(Pipeline("p", {{{"name", "Approve"}, {"actions", {gate}}}}));
  Document latest = Ok("GetPipelineState", {{"name", "p"}})["stageStates"][1]["actionStates"][0]["latestExecution"];
  std::string token = latest.value("token", "");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(latest["externalExecutionId"], token);
  ASSERT_EQ(aws_.published.size(), 1u);
  EXPECT_EQ(aws_.published[0]["approval"]["token"], token);
  Ok("PutApprovalResult", {{"pipelineName", "p"}, {"stageName", "Approve"}, {"actionName", "Gate"},
                           {"result", {{"summary", "ok"}, {"status", "Approved"}}}, {"token", token}});
  Run();
  EXPECT_EQ(Status("p", id), "Succeeded");
}

TEST_F(CodePipelineTest, RejectedApprovalFailsTheExecution) {
  std::string id = Create(Pipeline("p", {{{"name", "Approve"}, {"actions", {Action("Gate", "Approval")}}}}));
  std::string token =
      Ok("GetPipelineState", {{"name", "p"}})["stageStates"][1]["actionStates"][0]["latestExecution"].value("token", "");
  Ok("PutApprovalResult", {{"pipelineName", "p"}, {"stageName", "Approve"}, {"actionName", "Gate"},
                           {"result", {{"summary", "no"}, {"status", "Rejected"}}}, {"token", token}});
  Run();
  EXPECT_EQ(Status("p", id), "Failed");
}

TEST_F(CodePipelineTest, VariablesResolveInConfiguration) {
  Document pipeline = Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build", 1, {"SourceOut"})}}}});
  pipeline["stages"][0]["actions"][0]["namespace"] = "SourceVariables";
  pipeline["stages"][1]["actions"][0]["configuration"] = {
      {"Value", "#{SourceVariables.CommitId}/#{variables.env}/#{codepipeline.PipelineExecutionId}"}};
  pipeline["variables"] = {{{"name", "env"}, {"defaultValue", "dev"}}};
  std::string first = Create(pipeline);
  EXPECT_EQ(script_.configurations["B"]["Value"], "rev1/dev/" + first);
  std::string id = Ok("StartPipelineExecution", {{"name", "p"}, {"variables", {{{"name", "env"}, {"value", "prod"}}}}})
                       .value("pipelineExecutionId", "");
  Run();
  EXPECT_EQ(script_.configurations["B"]["Value"], "rev1/prod/" + id);
  std::vector<Document> actions = Actions("p", id);
  EXPECT_EQ(actions[1]["input"]["resolvedConfiguration"]["Value"], "rev1/prod/" + id);
  EXPECT_EQ(Error("StartPipelineExecution", {{"name", "p"}, {"variables", {{{"name", "nope"}, {"value", "x"}}}}}).first,
            "ValidationException");
}

TEST_F(CodePipelineTest, AnUnresolvableVariableFailsTheAction) {
  Document pipeline = Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}});
  pipeline["stages"][1]["actions"][0]["configuration"] = {{"Value", "#{Nowhere.Thing}"}};
  std::string id = Create(pipeline);
  EXPECT_EQ(Status("p", id), "Failed");
  EXPECT_EQ(script_.starts["B"], 0);
}

TEST_F(CodePipelineTest, ClientRequestTokenMakesStartIdempotent) {
  Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  std::string a = Ok("StartPipelineExecution", {{"name", "p"}, {"clientRequestToken", "t1"}})["pipelineExecutionId"];
  std::string b = Ok("StartPipelineExecution", {{"name", "p"}, {"clientRequestToken", "t1"}})["pipelineExecutionId"];
  EXPECT_EQ(a, b);
  EXPECT_EQ(Error("StartPipelineExecution", {{"name", "nope"}}).first, "PipelineNotFoundException");
}

TEST_F(CodePipelineTest, SupersededModeReplacesAnOlderWaitingExecution) {
  script_.outcome = {{"B", "wait"}};
  std::string first = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  std::string second = StartExecution("p");
  Run();
  std::string third = StartExecution("p");
  Run();
  EXPECT_EQ(Status("p", first), "InProgress");
  EXPECT_EQ(Status("p", second), "Superseded");
  EXPECT_EQ(Status("p", third), "InProgress");
  Document state = Ok("GetPipelineState", {{"name", "p"}});
  EXPECT_EQ(state["stageStates"][1]["inboundExecution"]["pipelineExecutionId"], third);
  script_.outcome = {};
  clock_.Advance(std::chrono::seconds(2));
  Run();
  EXPECT_EQ(Status("p", first), "Succeeded");
  EXPECT_EQ(Status("p", third), "Succeeded");
}

TEST_F(CodePipelineTest, QueuedModeRunsEveryExecutionInOrder) {
  script_.outcome = {{"B", "wait"}};
  std::string first = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}, "QUEUED"));
  std::string second = StartExecution("p");
  std::string third = StartExecution("p");
  Run();
  EXPECT_EQ(Status("p", second), "InProgress");
  EXPECT_EQ(Status("p", third), "InProgress");
  EXPECT_TRUE(ActionStatuses("p", second).count("Src"));
  EXPECT_FALSE(ActionStatuses("p", second).count("B"));
  script_.outcome = {};
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(std::chrono::seconds(2));
    Run();
  }
  for (const std::string& id : {first, second, third}) EXPECT_EQ(Status("p", id), "Succeeded");
}

TEST_F(CodePipelineTest, ParallelModeDoesNotLockStages) {
  script_.outcome = {{"B", "wait"}};
  std::string first = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}, "PARALLEL"));
  std::string second = StartExecution("p");
  Run();
  EXPECT_EQ(ActionStatuses("p", first)["B"], "InProgress");
  EXPECT_EQ(ActionStatuses("p", second)["B"], "InProgress");
}

TEST_F(CodePipelineTest, DisabledTransitionHoldsExecutionsUntilEnabled) {
  Ok("CreatePipeline", {{"pipeline", Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}})}});
  Ok("DisableStageTransition", {{"pipelineName", "p"}, {"stageName", "Build"}, {"transitionType", "Inbound"}, {"reason", "freeze"}});
  Run();
  std::string id = LatestExecution("p");
  EXPECT_EQ(Status("p", id), "InProgress");
  EXPECT_FALSE(ActionStatuses("p", id).count("B"));
  Document state = Ok("GetPipelineState", {{"name", "p"}});
  EXPECT_EQ(state["stageStates"][1]["inboundTransitionState"]["enabled"], false);
  EXPECT_EQ(state["stageStates"][1]["inboundTransitionState"]["disabledReason"], "freeze");
  Ok("EnableStageTransition", {{"pipelineName", "p"}, {"stageName", "Build"}, {"transitionType", "Inbound"}});
  Run();
  EXPECT_EQ(Status("p", id), "Succeeded");
  EXPECT_EQ(Error("EnableStageTransition", {{"pipelineName", "p"}, {"stageName", "Nope"}, {"transitionType", "Inbound"}}).first,
            "StageNotFoundException");
}

TEST_F(CodePipelineTest, StopWaitsForRunningActionsAndAbandonDoesNot) {
  script_.outcome = {{"B", "wait"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  Ok("StopPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", id}, {"reason", "enough"}});
  EXPECT_EQ(Status("p", id), "Stopping");
  // Stop and wait lets the action complete: its work is not stopped.
  EXPECT_EQ(script_.stops["B"], 0);
  EXPECT_EQ(Error("StopPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", id}}).first,
            "DuplicatedStopRequestException");
  Ok("StopPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", id}, {"abandon", true}});
  EXPECT_EQ(script_.stops["B"], 1);
  Run();
  EXPECT_EQ(Status("p", id), "Stopped");
  EXPECT_EQ(ActionStatuses("p", id)["B"], "Abandoned");
  EXPECT_EQ(Error("StopPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", id}}).first,
            "PipelineExecutionNotStoppableException");
  Document summary = Ok("ListPipelineExecutions", {{"pipelineName", "p"}})["pipelineExecutionSummaries"][0];
  EXPECT_EQ(summary["stopTrigger"]["reason"], "enough");
}

TEST_F(CodePipelineTest, AFailedWriteKeepsTheOldStateAnnouncesNothingAndIsRetried) {
  script_.outcome = {{"B", "wait"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  size_t events = aws_.Events().size();
  script_.outcome["B"] = "succeed";
  flaky_->failing = true;
  clock_.Advance(std::chrono::seconds(2));
  Run();
  EXPECT_EQ(aws_.Events().size(), events);  // nothing announced that is not on record
  EXPECT_EQ(ActionStatuses("p", id)["B"], "InProgress");
  EXPECT_EQ(Status("p", id), "InProgress");
  flaky_->failing = false;
  clock_.Advance(std::chrono::seconds(2));
  Run();
  EXPECT_EQ(ActionStatuses("p", id)["B"], "Succeeded");
  EXPECT_EQ(Status("p", id), "Succeeded");
  int succeeded = 0;
  for (const auto& [type, detail] : aws_.Events()) {
    succeeded += type == "CodePipeline Action Execution State Change" && detail.value("action", "") == "B" &&
                 detail.value("state", "") == "SUCCEEDED";
  }
  EXPECT_EQ(succeeded, 1);
}

TEST_F(CodePipelineTest, AFailedReadOfThePipelineKeepsItsExecutionsAndIsRetried) {
  script_.outcome = {{"B", "wait"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  script_.outcome["B"] = "succeed";
  flaky_->failing_reads = true;
  clock_.Advance(std::chrono::seconds(2));
  Run();
  flaky_->failing_reads = false;
  clock_.Advance(std::chrono::seconds(2));
  Run();
  EXPECT_EQ(Status("p", id), "Succeeded");
}

TEST_F(CodePipelineTest, AProviderThatThrowsIsRetriedLater) {
  script_.outcome = {{"B", "throw-once"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  EXPECT_EQ(Status("p", id), "InProgress");
  clock_.Advance(std::chrono::seconds(2));
  Run();
  EXPECT_EQ(Status("p", id), "Succeeded");
}

TEST_F(CodePipelineTest, ProvidersRunWithoutThePipelineLockAndAbandonedResultsAreDropped) {
  script_.outcome = {{"B", "block"}};
  Ok("CreatePipeline", {{"pipeline", Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}})}});
  std::thread runner([&] { Run(); });
  {
    std::unique_lock lock(script_.mu);
    script_.cv.wait(lock, [&] { return script_.entered; });
  }
  // B's Start is still running: the pipeline is not locked by it.
  std::string id = LatestExecution("p");
  auto stopped = std::async(std::launch::async, [&] {
    return Ok("StopPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", id}, {"abandon", true}});
  });
  bool answered = stopped.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  {
    std::lock_guard lock(script_.mu);
    script_.released = true;
  }
  script_.cv.notify_all();
  runner.join();
  stopped.wait();
  EXPECT_TRUE(answered);
  Run();
  EXPECT_EQ(ActionStatuses("p", id)["B"], "Abandoned");
  EXPECT_EQ(Status("p", id), "Stopped");
  // The result Start returned afterwards was dropped, and the work it started asked to stop,
  // once, with the state Start reported (the abandon found no state to stop with).
  EXPECT_EQ(script_.stops["B"], 1);
  EXPECT_EQ(script_.stateless_stops["B"], 0);
}

TEST_F(CodePipelineTest, AnApprovalDeliveredWhileTheProviderRunsIsLookedAtAtOnce) {
  script_.outcome = {{"Gate", "block"}};
  Ok("CreatePipeline", {{"pipeline", Pipeline("p", {{{"name", "Approve"}, {"actions", {Action("Gate", "Approval")}}}})}});
  std::thread runner([&] { Run(); });
  {
    std::unique_lock lock(script_.mu);
    script_.cv.wait(lock, [&] { return script_.entered; });
  }
  std::string id = LatestExecution("p");
  std::string token =
      Ok("GetPipelineState", {{"name", "p"}})["stageStates"][1]["actionStates"][0]["latestExecution"].value("token", "");
  Ok("PutApprovalResult", {{"pipelineName", "p"}, {"stageName", "Approve"}, {"actionName", "Gate"},
                           {"result", {{"summary", "ok"}, {"status", "Approved"}}}, {"token", token}});
  {
    std::lock_guard lock(script_.mu);
    script_.released = true;
  }
  script_.cv.notify_all();
  runner.join();
  Run();  // no time passes
  EXPECT_EQ(Status("p", id), "Succeeded");
}

TEST_F(CodePipelineTest, StopWithoutAbandonEndsWhenTheActionEnds) {
  script_.outcome = {{"B", "wait"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  Ok("StopPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", id}});
  script_.outcome["B"] = "fail";
  clock_.Advance(std::chrono::seconds(2));
  Run();
  EXPECT_EQ(Status("p", id), "Stopped");
}

TEST_F(CodePipelineTest, RetryFailedActionsRunsOnlyTheFailedOnes) {
  script_.outcome = {{"B", "fail"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("A", "Build"), Action("B", "Build")}}}}));
  EXPECT_EQ(Status("p", id), "Failed");
  script_.outcome = {};
  Document retry = {{"pipelineName", "p"}, {"stageName", "Build"}, {"pipelineExecutionId", id}, {"retryMode", "FAILED_ACTIONS"}};
  EXPECT_EQ(Ok("RetryStageExecution", retry)["pipelineExecutionId"], id);
  Run();
  EXPECT_EQ(Status("p", id), "Succeeded");
  EXPECT_EQ(script_.starts["A"], 1);
  EXPECT_EQ(script_.starts["B"], 2);
  EXPECT_EQ(Error("RetryStageExecution", retry).first, "StageNotRetryableException");
}

TEST_F(CodePipelineTest, RetryAllActionsRunsEveryAction) {
  script_.outcome = {{"B", "fail"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("A", "Build"), Action("B", "Build")}}}}));
  script_.outcome = {};
  Ok("RetryStageExecution", {{"pipelineName", "p"}, {"stageName", "Build"}, {"pipelineExecutionId", id}, {"retryMode", "ALL_ACTIONS"}});
  Run();
  EXPECT_EQ(Status("p", id), "Succeeded");
  EXPECT_EQ(script_.starts["A"], 2);
}

TEST_F(CodePipelineTest, RetryOfAnOlderExecutionIsRefused) {
  script_.outcome = {{"B", "fail"}};
  std::string first = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  StartExecution("p");
  Run();
  EXPECT_EQ(Error("RetryStageExecution", {{"pipelineName", "p"}, {"stageName", "Build"}, {"pipelineExecutionId", first},
                                          {"retryMode", "FAILED_ACTIONS"}})
                .first,
            "NotLatestPipelineExecutionException");
}

TEST_F(CodePipelineTest, OnFailureRetryRetriesTheStageOnce) {
  script_.outcome = {{"B", "fail"}};
  Document pipeline = Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}});
  pipeline["stages"][1]["onFailure"] = {{"result", "RETRY"}};
  std::string id = Create(pipeline);
  EXPECT_EQ(Status("p", id), "Failed");
  EXPECT_EQ(script_.starts["B"], 2);
  Document state = Ok("GetPipelineState", {{"name", "p"}});
  EXPECT_EQ(state["stageStates"][1]["retryStageMetadata"]["autoStageRetryAttempt"], 1);
}

TEST_F(CodePipelineTest, OnFailureRollbackRunsTheStageWithTheLastGoodArtifacts) {
  Document pipeline = Pipeline("p", {{{"name", "Deploy"}, {"actions", {Action("D", "Deploy", 1, {"SourceOut"})}}}});
  pipeline["stages"][1]["onFailure"] = {{"result", "ROLLBACK"}};
  std::string good = Create(pipeline);
  ASSERT_EQ(Status("p", good), "Succeeded");
  std::string good_key = Actions("p", good)[1]["input"]["inputArtifacts"][0]["s3location"]["key"];
  script_.outcome = {{"D", "fail-once"}};
  script_.revision = "rev2";
  std::string bad = StartExecution("p");
  Run();
  EXPECT_EQ(Status("p", bad), "Failed");
  Document summary = Ok("ListPipelineExecutions", {{"pipelineName", "p"}})["pipelineExecutionSummaries"][0];
  EXPECT_EQ(summary["executionType"], "ROLLBACK");
  EXPECT_EQ(summary["trigger"]["triggerType"], "AutomatedRollback");
  EXPECT_EQ(summary["rollbackMetadata"]["rollbackTargetPipelineExecutionId"], good);
  std::string rollback = summary["pipelineExecutionId"];
  EXPECT_EQ(Status("p", rollback), "Succeeded");
  std::vector<Document> actions = Actions("p", rollback);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0]["input"]["inputArtifacts"][0]["s3location"]["key"], good_key);
}

TEST_F(CodePipelineTest, RollbackStageToAnEarlierSuccessfulExecution) {
  std::string first = Create(Pipeline("p", {{{"name", "Deploy"}, {"actions", {Action("D", "Deploy")}}}}));
  std::string id = Ok("RollbackStage", {{"pipelineName", "p"}, {"stageName", "Deploy"}, {"targetPipelineExecutionId", first}})
                       .value("pipelineExecutionId", "");
  Run();
  Document execution = Ok("GetPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", id}})["pipelineExecution"];
  EXPECT_EQ(execution["status"], "Succeeded");
  EXPECT_EQ(execution["executionType"], "ROLLBACK");
  EXPECT_EQ(execution["trigger"]["triggerType"], "ManualRollback");
  script_.outcome = {{"D", "fail"}};
  std::string failed = StartExecution("p");
  Run();
  EXPECT_EQ(Error("RollbackStage", {{"pipelineName", "p"}, {"stageName", "Deploy"}, {"targetPipelineExecutionId", failed}}).first,
            "UnableToRollbackStageException");
  // A rollback execution is no target, though its stage succeeded.
  std::pair<std::string, std::string> to_rollback =
      Error("RollbackStage", {{"pipelineName", "p"}, {"stageName", "Deploy"}, {"targetPipelineExecutionId", id}});
  EXPECT_EQ(to_rollback.first, "UnableToRollbackStageException");
  EXPECT_NE(to_rollback.second.find("only STANDARD executions"), std::string::npos) << to_rollback.second;
}

TEST_F(CodePipelineTest, RestartResumesPollableActionsAndFailsOthers) {
  script_.outcome = {{"B", "wait"}, {"C", "wait"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build"), Action("C", "Build")}}}}));
  Close();
  // C's provider never reported a state (the process died inside Start).
  {
    store::SqliteStoreOptions options;
    options.clock = &clock_;
    auto opened = store::OpenSqliteStore(dir_.File("gantry.db"), options);
    ASSERT_TRUE(opened.ok());
    auto record = (*opened)->Get(kExecutionTable, "000000000000/us-east-1", ExecutionKey("p", id));
    ASSERT_TRUE(record.ok() && *record);
    Document execution = (*record)->doc;
    for (Document& a : execution["actions"]) {
      if (a["actionName"] == "C") a["state"] = nullptr;
    }
    ASSERT_TRUE((*opened)->Put(kExecutionTable, "000000000000/us-east-1", ExecutionKey("p", id), execution).ok());
  }
  Open();
  script_.outcome = {};
  ASSERT_TRUE(service_->engine().Resume().ok());
  Run();
  auto statuses = ActionStatuses("p", id);
  EXPECT_EQ(statuses["B"], "Succeeded");
  EXPECT_EQ(statuses["C"], "Failed");
  EXPECT_EQ(Status("p", id), "Failed");
  EXPECT_EQ(script_.starts["C"], 1);
}

TEST_F(CodePipelineTest, AResumedExecutionWhoseSaveFailsIsStillAdvanced) {
  script_.outcome = {{"B", "wait"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  Close();
  Open();
  script_.outcome = {};
  flaky_->failing = true;
  ASSERT_TRUE(service_->engine().Resume().ok());
  flaky_->failing = false;
  clock_.Advance(std::chrono::seconds(2));
  Run();
  EXPECT_EQ(ActionStatuses("p", id)["B"], "Succeeded");
  EXPECT_EQ(Status("p", id), "Succeeded");
}

TEST_F(CodePipelineTest, CrudVersionsTagsAndActionTypes) {
  Document pipeline = Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}});
  Ok("CreatePipeline", {{"pipeline", pipeline}, {"tags", {{{"key", "team"}, {"value", "a"}}}}});
  EXPECT_EQ(Error("CreatePipeline", {{"pipeline", pipeline}}).first, "PipelineNameInUseException");
  pipeline["stages"][1]["actions"][0]["name"] = "B2";
  EXPECT_EQ(Ok("UpdatePipeline", {{"pipeline", pipeline}})["pipeline"]["version"], 2);
  EXPECT_EQ(Ok("GetPipeline", {{"name", "p"}})["pipeline"]["stages"][1]["actions"][0]["name"], "B2");
  EXPECT_EQ(Ok("GetPipeline", {{"name", "p"}, {"version", 1}})["pipeline"]["stages"][1]["actions"][0]["name"], "B");
  EXPECT_EQ(Error("GetPipeline", {{"name", "p"}, {"version", 9}}).first, "PipelineVersionNotFoundException");
  std::string arn = Ok("GetPipeline", {{"name", "p"}})["metadata"]["pipelineArn"];
  EXPECT_EQ(arn, "arn:aws:codepipeline:us-east-1:000000000000:p");
  Ok("TagResource", {{"resourceArn", arn}, {"tags", {{{"key", "env"}, {"value", "prod"}}}}});
  Ok("UntagResource", {{"resourceArn", arn}, {"tagKeys", {"team"}}});
  Document tags = Ok("ListTagsForResource", {{"resourceArn", arn}})["tags"];
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0]["key"], "env");
  Document list = Ok("ListPipelines", Document::object());
  ASSERT_EQ(list["pipelines"].size(), 1u);
  EXPECT_EQ(list["pipelines"][0]["version"], 2);
  EXPECT_EQ(Ok("ListActionTypes", Document::object())["actionTypes"].size(), 6u);
  EXPECT_EQ(Ok("GetActionType", {{"category", "Build"}, {"owner", "AWS"}, {"provider", "FakeBuild"}, {"version", "1"}})
                ["actionType"]["id"]["provider"],
            "FakeBuild");
  Ok("DeletePipeline", {{"name", "p"}});
  EXPECT_EQ(Error("GetPipeline", {{"name", "p"}}).first, "PipelineNotFoundException");
  EXPECT_EQ(Error("ListTagsForResource", {{"resourceArn", arn}}).first, "ResourceNotFoundException");
}

TEST_F(CodePipelineTest, ExecutionsFromEventBridgeRulesRecordTheRule) {
  Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  aws::Principal events_role;
  events_role.account_id = "000000000000";
  events_role.arn = "arn:aws:sts::000000000000:assumed-role/events/e";
  events_role.source_arn = "arn:aws:events:us-east-1:000000000000:rule/on-push";
  auto started = Call("StartPipelineExecution", {{"name", "p"}}, &events_role);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  Document summary = Ok("ListPipelineExecutions", {{"pipelineName", "p"}, {"maxResults", 1}});
  EXPECT_EQ(summary["pipelineExecutionSummaries"][0]["trigger"]["triggerType"], "CloudWatchEvent");
  EXPECT_EQ(summary["pipelineExecutionSummaries"][0]["trigger"]["triggerDetail"], events_role.source_arn);
  ASSERT_TRUE(summary.contains("nextToken"));
  Document next = Ok("ListPipelineExecutions", {{"pipelineName", "p"}, {"nextToken", summary["nextToken"]}});
  EXPECT_EQ(next["pipelineExecutionSummaries"][0]["trigger"]["triggerType"], "CreatePipeline");
}

TEST_F(CodePipelineTest, PollingStartsAnExecutionForANewRevision) {
  Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  service_->engine().PollSources();
  Run();
  EXPECT_EQ(Ok("ListPipelineExecutions", {{"pipelineName", "p"}})["pipelineExecutionSummaries"].size(), 1u);
  script_.revision = "rev2";
  service_->engine().PollSources();
  Run();
  Document summaries = Ok("ListPipelineExecutions", {{"pipelineName", "p"}})["pipelineExecutionSummaries"];
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[0]["trigger"]["triggerType"], "PollForSourceChanges");
  EXPECT_EQ(summaries[0]["status"], "Succeeded");
}

TEST_F(CodePipelineTest, PollingRetriesARevisionWhoseExecutionDidNotStart) {
  Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  service_->engine().PollSources();
  script_.revision = "rev2";
  flaky_->failing = true;
  service_->engine().PollSources();
  flaky_->failing = false;
  EXPECT_EQ(Ok("ListPipelineExecutions", {{"pipelineName", "p"}})["pipelineExecutionSummaries"].size(), 1u);
  service_->engine().PollSources();
  Run();
  EXPECT_EQ(Ok("ListPipelineExecutions", {{"pipelineName", "p"}})["pipelineExecutionSummaries"].size(), 2u);
}

TEST_F(CodePipelineTest, AnOverriddenRevisionIsNotTheNewestSeenByPolling) {
  Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  service_->engine().PollSources();
  script_.revision = "rev2";
  Ok("StartPipelineExecution",
     {{"name", "p"},
      {"sourceRevisions", {{{"actionName", "Src"}, {"revisionType", "COMMIT_ID"}, {"revisionValue", "rev2"}}}}});
  Run();
  service_->engine().PollSources();
  Run();
  Document summaries = Ok("ListPipelineExecutions", {{"pipelineName", "p"}})["pipelineExecutionSummaries"];
  ASSERT_EQ(summaries.size(), 3u);
  EXPECT_EQ(summaries[0]["trigger"]["triggerType"], "PollForSourceChanges");
}

TEST_F(CodePipelineTest, IdleAndDeletedPipelinesLeaveNoRuntime) {
  Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  EXPECT_EQ(service_->engine().RuntimeCount(), 0u);
  script_.outcome = {{"B", "wait"}};
  StartExecution("p");
  Run();
  EXPECT_EQ(service_->engine().RuntimeCount(), 1u);
  Ok("DeletePipeline", {{"name", "p"}});
  EXPECT_EQ(service_->engine().RuntimeCount(), 0u);
}

TEST_F(CodePipelineTest, UpdatePipelineNeverOverwritesAVersion) {
  Document pipeline = Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}});
  Ok("CreatePipeline", {{"pipeline", pipeline}});
  // Another update took version 2 between this one's read and its write.
  Document other = pipeline;
  other["version"] = 2;
  ASSERT_TRUE(store_->Put(kVersionTable, "000000000000/us-east-1", VersionKey("p", 2), other).ok());
  pipeline["stages"][1]["actions"][0]["name"] = "Renamed";
  EXPECT_EQ(Error("UpdatePipeline", {{"pipeline", pipeline}}).first, "ConcurrentModificationException");
  Document stored = Ok("GetPipeline", {{"name", "p"}, {"version", 2}})["pipeline"];
  EXPECT_EQ(stored["stages"][1]["actions"][0]["name"], "B");
  EXPECT_EQ(Ok("GetPipeline", {{"name", "p"}})["pipeline"]["version"], 1);
}

TEST_F(CodePipelineTest, ExecutionPagesDoNotShiftAsExecutionsArrive) {
  std::string first = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  std::string second = StartExecution("p");
  Run();
  std::string third = StartExecution("p");
  Run();
  Document page = Ok("ListPipelineExecutions", {{"pipelineName", "p"}, {"maxResults", 1}});
  ASSERT_EQ(page["pipelineExecutionSummaries"].size(), 1u);
  EXPECT_EQ(page["pipelineExecutionSummaries"][0]["pipelineExecutionId"], third);
  ASSERT_TRUE(page.contains("nextToken"));
  StartExecution("p");
  Run();
  Document rest = Ok("ListPipelineExecutions", {{"pipelineName", "p"}, {"maxResults", 5}, {"nextToken", page["nextToken"]}});
  ASSERT_EQ(rest["pipelineExecutionSummaries"].size(), 2u);
  EXPECT_EQ(rest["pipelineExecutionSummaries"][0]["pipelineExecutionId"], second);
  EXPECT_EQ(rest["pipelineExecutionSummaries"][1]["pipelineExecutionId"], first);
  EXPECT_FALSE(rest.contains("nextToken"));
  // Action executions page the same way, across executions.
  std::vector<std::string> ids;
  Document request = {{"pipelineName", "p"}, {"maxResults", 3}};
  for (int pages = 0; pages < 10; ++pages) {
    Document out = Ok("ListActionExecutions", request);
    for (const Document& d : out["actionExecutionDetails"]) ids.push_back(d["actionExecutionId"]);
    if (!out.contains("nextToken")) break;
    request["nextToken"] = out["nextToken"];
  }
  EXPECT_EQ(ids.size(), 8u);  // 4 executions of 2 actions
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 8u);
  for (int bad : {0, 101}) {
    EXPECT_NE(Error("ListPipelineExecutions", {{"pipelineName", "p"}, {"maxResults", bad}}).second.find("at 'maxResults'"),
              std::string::npos);
    EXPECT_NE(Error("ListActionExecutions", {{"pipelineName", "p"}, {"maxResults", bad}}).second.find("at 'maxResults'"),
              std::string::npos);
  }
  EXPECT_EQ(Error("ListPipelineExecutions", {{"pipelineName", "p"}, {"nextToken", "bm9wZQ=="}}).first,
            "InvalidNextTokenException");
}

TEST_F(CodePipelineTest, LatestInPipelineExecutionListsOnlyTheLatestActionExecutions) {
  script_.outcome = {{"B", "fail"}};
  std::string id = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("A", "Build"), Action("B", "Build")}}}}));
  script_.outcome = {};
  Ok("RetryStageExecution", {{"pipelineName", "p"}, {"stageName", "Build"}, {"pipelineExecutionId", id}, {"retryMode", "FAILED_ACTIONS"}});
  Run();
  EXPECT_EQ(Actions("p", id).size(), 4u);  // Src, A, B failed, B again
  Document latest = Ok("ListActionExecutions",
                       {{"pipelineName", "p"}, {"filter", {{"latestInPipelineExecution", {{"pipelineExecutionId", id}, {"startTimeRange", "Latest"}}}}}});
  ASSERT_EQ(latest["actionExecutionDetails"].size(), 3u);
  for (const Document& d : latest["actionExecutionDetails"]) EXPECT_EQ(d["status"], "Succeeded");
}

TEST_F(CodePipelineTest, OldExecutionsBeyondTheCapAreDeleted) {
  std::string first = Create(Pipeline("p", {{{"name", "Build"}, {"actions", {Action("B", "Build")}}}}));
  for (int64_t i = 1; i < kMaxExecutionsPerPipeline; ++i) {
    StartExecution("p");
    Run();
  }
  EXPECT_EQ(Status("p", first), "Succeeded");
  StartExecution("p");
  Run();
  EXPECT_EQ(Error("GetPipelineExecution", {{"pipelineName", "p"}, {"pipelineExecutionId", first}}).first,
            "PipelineExecutionNotFoundException");
}

// tests/data/codepipeline/create_pipeline.txt: a pipeline (JSON) and the error CreatePipeline
// answers (code and message), or "ok".
class ValidationCases : public CodePipelineTest, public ::testing::WithParamInterface<test_support::Case> {};

TEST_P(ValidationCases, CreatePipelineAnswers) {
  const test_support::Case& c = GetParam();
  Document pipeline = Document::parse(c.Get("pipeline"));
  auto result = Call("CreatePipeline", {{"pipeline", pipeline}});
  if (c.Get("error") == "ok") {
    EXPECT_TRUE(result.ok()) << test_support::Where(c) << ": " << result.status().ToString();
    return;
  }
  ASSERT_FALSE(result.ok()) << test_support::Where(c);
  EXPECT_EQ(result.status().aws_code(), c.Get("error")) << test_support::Where(c);
  EXPECT_EQ(result.status().message(), c.Get("message")) << test_support::Where(c);
}

INSTANTIATE_TEST_SUITE_P(Cases, ValidationCases,
                         ::testing::ValuesIn(test_support::LoadCases("codepipeline", "create_pipeline.txt")),
                         test_support::CaseName);

}  // namespace
}  // namespace gantry::services::codepipeline
