#include "services/events/events_service.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "core/aws/dispatcher.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/strings.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"
#include "test_support/service_test.h"
#include "services/events/invocations.h"

namespace gantry::services::events {
namespace {

using namespace std::chrono_literals;

constexpr char kAccount[] = "000000000000";
constexpr char kRegion[] = "us-east-1";
constexpr char kScope[] = "000000000000/us-east-1";

// Answers API destination requests from a script and remembers them.
class FakeHttpSender final : public HttpSender {
 public:
  StatusOr<HttpReply> Send(const HttpCall& call) override {
    calls.push_back(call);
    if (replies.empty()) return HttpReply{200, "{}"};
    StatusOr<HttpReply> reply = replies.front();
    replies.pop_front();
    return reply;
  }
  std::vector<HttpCall> calls;
  std::deque<StatusOr<HttpReply>> replies;
};

struct LogsCall {
  aws::Principal principal;
  std::string operation;
  Document input;
};

class EventsServiceTest : public test_support::ServiceTest<EventsService> {
 protected:
  EventsServiceTest() : ServiceTest("events", kAccount, kRegion) {}

  // The service as `gantry up` builds it, with a fake HTTP sender and no engine threads (tests
  // drive the engines).
  std::unique_ptr<EventsService> MakeService() override {
    auto http = std::make_unique<FakeHttpSender>();
    http_ = http.get();
    return std::make_unique<EventsService>(store_.get(), &clock_, &ids_, dispatcher_.get(), dir_.path(),
                                           std::move(http));
  }

  // A stand-in CloudWatch Logs that records what delivery sends it.
  Status Prepare(EventsService&) override {
    for (const char* operation : {"CreateLogStream", "PutLogEvents"}) {
      handlers_->Add("logs", operation, [this, operation](aws::RequestContext& ctx, const Document& input) {
        logs_.push_back({ctx.principal, operation, input});
        return StatusOr<Document>(Document::object());
      });
    }
    return Status::Ok();
  }

  StatusOr<Document> Call(const std::string& operation, const Document& input,
                          const aws::Principal& principal = aws::Principal::Root(kAccount)) {
    return ServiceTest::Call(operation, input, &principal);
  }

  Document Invocations() {
    auto list = ListInvocations(*store_, kScope);
    EXPECT_TRUE(list.ok());
    return list.ok() ? *list : Document::array();
  }

  std::vector<Document> LoggedMessages() {
    std::vector<Document> messages;
    for (const auto& call : logs_) {
      if (call.operation != "PutLogEvents") continue;
      for (const auto& event : call.input["logEvents"]) {
        messages.push_back(Document::parse(event["message"].get<std::string>()));
      }
    }
    return messages;
  }

  std::string BusArnOf(const std::string& bus) { return "arn:aws:events:us-east-1:000000000000:event-bus/" + bus; }

  static constexpr char kLogGroup[] = "arn:aws:logs:us-east-1:000000000000:log-group:/events/app:*";

  void PutPatternRule(const std::string& name, const std::string& pattern, const std::string& bus = "default") {
    Ok("PutRule", {{"Name", name}, {"EventPattern", pattern}, {"EventBusName", bus}});
  }

  void PutTarget(const std::string& rule, const Document& target, const std::string& bus = "default") {
    Document out = Ok("PutTargets", {{"Rule", rule}, {"EventBusName", bus}, {"Targets", Document::array({target})}});
    EXPECT_EQ(out.value("FailedEntryCount", -1), 0) << out.dump();
  }

  Document PutEvent(const std::string& source, const Document& detail, const std::string& bus = "default") {
    Document out = Ok("PutEvents", {{"Entries", Document::array({{{"Source", source},
                                                                  {"DetailType", "Thing Happened"},
                                                                  {"Detail", detail.dump()},
                                                                  {"EventBusName", bus}}})}});
    EXPECT_EQ(out.value("FailedEntryCount", -1), 0) << out.dump();
    return out;
  }

  FakeHttpSender* http_ = nullptr;
  std::vector<LogsCall> logs_;
};

TEST_F(EventsServiceTest, RuleLifecycle) {
  Document put =
      Ok("PutRule", {{"Name", "on-push"}, {"EventPattern", R"({"source":["app"]})"}, {"Description", "pushes"}});
  EXPECT_EQ(put["RuleArn"], "arn:aws:events:us-east-1:000000000000:rule/on-push");

  Document rule = Ok("DescribeRule", {{"Name", "on-push"}});
  EXPECT_EQ(rule["Name"], "on-push");
  EXPECT_EQ(rule["State"], "ENABLED");
  EXPECT_EQ(rule["EventBusName"], "default");
  EXPECT_EQ(rule["Description"], "pushes");
  EXPECT_EQ(rule["CreatedBy"], kAccount);
  EXPECT_FALSE(rule.contains("Targets"));

  Ok("DisableRule", {{"Name", "on-push"}});
  EXPECT_EQ(Ok("DescribeRule", {{"Name", "on-push"}})["State"], "DISABLED");
  Ok("EnableRule", {{"Name", "on-push"}});
  EXPECT_EQ(Ok("DescribeRule", {{"Name", "on-push"}})["State"], "ENABLED");

  Ok("DeleteRule", {{"Name", "on-push"}});
  auto [code, message] = Error("DescribeRule", {{"Name", "on-push"}});
  EXPECT_EQ(code, "ResourceNotFoundException");
  EXPECT_EQ(message, "Rule on-push does not exist on EventBus default.");
  // Deleting what is not there succeeds, as in AWS.
  Ok("DeleteRule", {{"Name", "on-push"}});
}

TEST_F(EventsServiceTest, PutRuleValidation) {
  EXPECT_EQ(Error("PutRule", {{"Name", "r"}}),
            std::make_pair(std::string("ValidationException"),
                           std::string("Parameter(s) EventPattern or ScheduleExpression must be specified.")));
  Ok("CreateEventBus", {{"Name", "orders"}});
  EXPECT_EQ(Error("PutRule", {{"Name", "r"}, {"ScheduleExpression", "rate(5 minutes)"}, {"EventBusName", "orders"}}),
            std::make_pair(std::string("ValidationException"),
                           std::string("ScheduleExpression is supported only on the default event bus.")));
  EXPECT_EQ(Error("PutRule", {{"Name", "r"}, {"ScheduleExpression", "rate(5 fortnights)"}}).first,
            "ValidationException");
  EXPECT_EQ(Error("PutRule", {{"Name", "r"}, {"EventPattern", R"({"source":"app"})"}}).first,
            "InvalidEventPatternException");
  EXPECT_EQ(Error("PutRule", {{"Name", "r"}, {"EventPattern", R"({"source":["app"]})"}, {"EventBusName", "nope"}}),
            std::make_pair(std::string("ResourceNotFoundException"), std::string("Event bus nope does not exist.")));
  Document put = Ok("PutRule", {{"Name", "r"}, {"EventPattern", R"({"source":["app"]})"}, {"EventBusName", "orders"}});
  EXPECT_EQ(put["RuleArn"], "arn:aws:events:us-east-1:000000000000:rule/orders/r");
}

TEST_F(EventsServiceTest, TargetsAreLimitedToFivePerRule) {
  PutPatternRule("r", R"({"source":["app"]})");
  Document five = Document::array();
  for (int i = 0; i < 5; ++i) {
    five.push_back({{"Id", "t" + std::to_string(i)}, {"Arn", "arn:aws:codebuild:us-east-1:000000000000:project/p"}});
  }
  Ok("PutTargets", {{"Rule", "r"}, {"Targets", five}});
  // Replacing an existing target is not a new one.
  Ok("PutTargets", {{"Rule", "r"}, {"Targets", Document::array({five[0]})}});
  auto [code, message] =
      Error("PutTargets",
            {{"Rule", "r"},
             {"Targets", Document::array({{{"Id", "t5"}, {"Arn", "arn:aws:codebuild:us-east-1:0:project/p"}}})}});
  EXPECT_EQ(code, "LimitExceededException");
  EXPECT_EQ(message, "The requested resource exceeds the maximum number allowed.");

  Document listed = Ok("ListTargetsByRule", {{"Rule", "r"}, {"Limit", 2}});
  EXPECT_EQ(listed["Targets"].size(), 2u);
  Document rest = Ok("ListTargetsByRule", {{"Rule", "r"}, {"NextToken", listed["NextToken"]}});
  EXPECT_EQ(rest["Targets"].size(), 3u);
  EXPECT_FALSE(rest.contains("NextToken"));

  EXPECT_EQ(
      Ok("ListRuleNamesByTarget", {{"TargetArn", "arn:aws:codebuild:us-east-1:000000000000:project/p"}})["RuleNames"],
      Document::array({"r"}));
  EXPECT_EQ(Error("DeleteRule", {{"Name", "r"}}).second, "Rule can't be deleted since it has targets.");
  Document removed = Ok("RemoveTargets", {{"Rule", "r"}, {"Ids", {"t0", "t1", "t2", "t3", "t4", "nope"}}});
  EXPECT_EQ(removed["FailedEntryCount"], 1);
  EXPECT_EQ(removed["FailedEntries"][0]["TargetId"], "nope");
  Ok("DeleteRule", {{"Name", "r"}});
}

TEST_F(EventsServiceTest, ListRulesPages) {
  for (const char* name : {"a1", "a2", "a3", "a4", "b1"}) PutPatternRule(name, R"({"source":["app"]})");
  std::vector<std::string> names;
  Document input = {{"NamePrefix", "a"}, {"Limit", 3}};
  int pages = 0;
  while (true) {
    Document page = Ok("ListRules", input);
    ++pages;
    for (const auto& rule : page["Rules"]) names.push_back(rule["Name"]);
    if (!page.contains("NextToken")) break;
    input["NextToken"] = page["NextToken"];
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(names, (std::vector<std::string>{"a1", "a2", "a3", "a4"}));
  EXPECT_EQ(Error("ListRules", {{"NextToken", "bm90IGEgdG9rZW4="}}).first, "ValidationException");
}

TEST_F(EventsServiceTest, EventBuses) {
  Document bus = Ok("DescribeEventBus", Document::object());
  EXPECT_EQ(bus["Name"], "default");
  EXPECT_EQ(bus["Arn"], BusArnOf("default"));
  Document created = Ok("CreateEventBus", {{"Name", "orders"}, {"Description", "order events"}});
  EXPECT_EQ(created["EventBusArn"], BusArnOf("orders"));
  EXPECT_EQ(
      Error("CreateEventBus", {{"Name", "orders"}}),
      std::make_pair(std::string("ResourceAlreadyExistsException"), std::string("Event bus orders already exists.")));
  EXPECT_EQ(Ok("DescribeEventBus", {{"Name", BusArnOf("orders")}})["Description"], "order events");
  Document listed = Ok("ListEventBuses", Document::object());
  ASSERT_EQ(listed["EventBuses"].size(), 2u);
  EXPECT_EQ(Error("DeleteEventBus", {{"Name", "default"}}).second, "Cannot delete event bus default.");
  PutPatternRule("r", R"({"source":["app"]})", "orders");
  Ok("DeleteEventBus", {{"Name", "orders"}});
  EXPECT_EQ(Error("DescribeEventBus", {{"Name", "orders"}}).second, "Event bus orders does not exist.");
  EXPECT_EQ(Error("ListRules", {{"EventBusName", "orders"}}).first, "ResourceNotFoundException");
}

TEST_F(EventsServiceTest, PutEventsValidatesEachEntry) {
  Document entries = Document::array({
      {{"DetailType", "t"}, {"Detail", "{}"}},
      {{"Source", "app"}, {"Detail", "{}"}},
      {{"Source", "app"}, {"DetailType", "t"}},
      {{"Source", "app"}, {"DetailType", "t"}, {"Detail", "[1]"}},
      {{"Source", "aws.codecommit"}, {"DetailType", "t"}, {"Detail", "{}"}},
      {{"Source", "app"}, {"DetailType", "t"}, {"Detail", "{}"}, {"EventBusName", "nope"}},
      {{"Source", "app"}, {"DetailType", "t"}, {"Detail", "{\"ok\":true}"}},
  });
  Document out = Ok("PutEvents", {{"Entries", entries}});
  EXPECT_EQ(out["FailedEntryCount"], 6);
  const Document& r = out["Entries"];
  EXPECT_EQ(r[0]["ErrorMessage"], "Parameter Source is not valid. Reason: Source is a required argument.");
  EXPECT_EQ(r[1]["ErrorMessage"], "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
  EXPECT_EQ(r[2]["ErrorMessage"], "Parameter Detail is not valid. Reason: Detail is a required argument.");
  EXPECT_EQ(r[0]["ErrorCode"], "InvalidArgument");
  EXPECT_EQ(r[3]["ErrorCode"], "MalformedDetail");
  EXPECT_EQ(r[4]["ErrorCode"], "NotAuthorizedForSourceException");
  EXPECT_EQ(r[4]["ErrorMessage"], "Not authorized for the source.");
  EXPECT_EQ(r[5]["ErrorCode"], "ResourceNotFoundException");
  EXPECT_EQ(r[6]["EventId"].get<std::string>().size(), 36u);

  std::string big(200 * 1024, 'x');
  Document large = {{"Source", "app"}, {"DetailType", "t"}, {"Detail", "{\"a\":\"" + big + "\"}"}};
  EXPECT_EQ(Error("PutEvents", {{"Entries", {large, large}}}).second,
            "Total size of the entries in the request is over the limit.");
}

TEST_F(EventsServiceTest, ServicesMayPublishAwsSources) {
  aws::Principal codecommit;
  codecommit.account_id = kAccount;
  codecommit.arn = "codecommit.amazonaws.com";
  codecommit.service = "codecommit.amazonaws.com";
  auto out =
      Call("PutEvents",
           {{"Entries",
             {{{"Source", "aws.codecommit"}, {"DetailType", "CodeCommit Repository State Change"}, {"Detail", "{}"}}}}},
           codecommit);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["FailedEntryCount"], 0);
}

TEST_F(EventsServiceTest, MatchingEventsReachAnotherBusAndItsRules) {
  Ok("CreateEventBus", {{"Name", "audit"}});
  PutPatternRule("forward", R"({"source":["app"],"detail":{"level":[{"numeric":[">=",3]}]}})");
  PutTarget("forward", {{"Id", "to-audit"}, {"Arn", BusArnOf("audit")}});
  PutPatternRule("log-all", R"({"detail-type":["Thing Happened"]})", "audit");
  PutTarget("log-all", {{"Id", "log"}, {"Arn", kLogGroup}}, "audit");
  // A loop back to the default bus must not deliver the event twice.
  PutPatternRule("back", R"({"source":["app"]})", "audit");
  PutTarget("back", {{"Id", "back"}, {"Arn", BusArnOf("default")}}, "audit");

  std::string matched = PutEvent("app", {{"level", 5}})["Entries"][0]["EventId"];
  PutEvent("app", {{"level", 1}});
  PutEvent("other", {{"level", 9}});
  service_->DeliverPending();

  std::vector<Document> messages = LoggedMessages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["id"], matched);
  EXPECT_EQ(messages[0]["source"], "app");
  EXPECT_EQ(messages[0]["detail-type"], "Thing Happened");
  EXPECT_EQ(messages[0]["detail"]["level"], 5);
  EXPECT_EQ(messages[0]["time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(logs_.front().principal.service, "events.amazonaws.com");
  EXPECT_EQ(logs_.front().input["logGroupName"], "/events/app");
  EXPECT_EQ(logs_.front().input["logStreamName"], matched);

  int succeeded = 0, failed = 0;
  for (const auto& record : Invocations()) {
    if (record["Status"] == "SUCCEEDED") ++succeeded;
    if (record["Status"] == "FAILED") {
      ++failed;
      EXPECT_EQ(record["TargetId"], "back");
    }
  }
  // forward (1 event), log-all (1), back (1: default is where it came from).
  EXPECT_EQ(succeeded, 2);
  EXPECT_EQ(failed, 1);
}

TEST_F(EventsServiceTest, TargetOfAnUnimplementedServiceIsAFailedInvocation) {
  PutPatternRule("build", R"({"source":["app"]})");
  PutTarget("build", {{"Id", "cb"},
                      {"Arn", "arn:aws:codebuild:us-east-1:000000000000:project/site"},
                      {"RoleArn", "arn:aws:iam::000000000000:role/events-invoke"}});
  std::string id = PutEvent("app", Document::object())["Entries"][0]["EventId"];
  service_->DeliverPending();
  Document records = Invocations();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["Status"], "FAILED");
  EXPECT_EQ(records[0]["EventId"], id);
  EXPECT_EQ(records[0]["RuleArn"], "arn:aws:events:us-east-1:000000000000:rule/build");
  EXPECT_EQ(records[0]["TargetArn"], "arn:aws:codebuild:us-east-1:000000000000:project/site");
  EXPECT_EQ(records[0]["ErrorCode"], "NotImplemented");
  EXPECT_NE(records[0]["ErrorMessage"].get<std::string>().find("codebuild"), std::string::npos);
  // Nothing is left to deliver or retry.
  EXPECT_EQ(service_->DeliverPending(), 0);
}

TEST_F(EventsServiceTest, TargetInputIsShaped) {
  PutPatternRule("r", R"({"source":["app"]})");
  PutTarget("r", {{"Id", "constant"}, {"Arn", kLogGroup}, {"Input", R"({"fixed":1})"}});
  PutTarget("r", {{"Id", "path"}, {"Arn", kLogGroup}, {"InputPath", "$.detail"}});
  PutTarget("r", {{"Id", "template"},
                  {"Arn", kLogGroup},
                  {"InputTransformer",
                   {{"InputPathsMap", {{"repo", "$.detail.repo"}}},
                    {"InputTemplate", R"({"repository": <repo>, "rule": "<aws.events.rule-name>"})"}}}});
  EXPECT_EQ(
      Error("PutTargets",
            {{"Rule", "r"},
             {"Targets", {{{"Id", "bad"}, {"Arn", kLogGroup}, {"InputTransformer", {{"InputTemplate", "<nope>"}}}}}}})
          .first,
      "ValidationException");
  PutEvent("app", {{"repo", "site"}});
  service_->DeliverPending();
  std::vector<Document> messages = LoggedMessages();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0], Document::parse(R"({"fixed":1})"));
  EXPECT_EQ(messages[1], Document::parse(R"({"repo":"site"})"));
  EXPECT_EQ(messages[2], Document::parse(R"({"repository":"site","rule":"r"})"));
}

TEST_F(EventsServiceTest, ApiDestinationGetsTheEventWithTheConnectionsAuth) {
  Document connection =
      Ok("CreateConnection",
         {{"Name", "hooks"},
          {"AuthorizationType", "API_KEY"},
          {"AuthParameters",
           {{"ApiKeyAuthParameters", {{"ApiKeyName", "X-Api-Key"}, {"ApiKeyValue", "s3cret"}}},
            {"InvocationHttpParameters",
             {{"HeaderParameters", {{{"Key", "X-Team"}, {"Value", "web"}, {"IsValueSecret", false}}}},
              {"QueryStringParameters", {{{"Key", "token"}, {"Value", "hidden"}, {"IsValueSecret", true}}}}}}}}});
  EXPECT_EQ(connection["ConnectionState"], "AUTHORIZED");
  Document described = Ok("DescribeConnection", {{"Name", "hooks"}});
  EXPECT_FALSE(described["AuthParameters"]["ApiKeyAuthParameters"].contains("ApiKeyValue"));
  EXPECT_EQ(described["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyName"], "X-Api-Key");
  EXPECT_FALSE(described["AuthParameters"]["InvocationHttpParameters"]["QueryStringParameters"][0].contains("Value"));
  EXPECT_NE(described["SecretArn"].get<std::string>().find(":secret:events!connection/hooks/"), std::string::npos);

  Document destination = Ok("CreateApiDestination", {{"Name", "hook"},
                                                     {"ConnectionArn", connection["ConnectionArn"]},
                                                     {"InvocationEndpoint", "http://127.0.0.1:9/hooks/*"},
                                                     {"HttpMethod", "POST"}});
  EXPECT_EQ(destination["ApiDestinationState"], "ACTIVE");
  PutPatternRule("r", R"({"source":["app"]})");
  PutTarget("r", {{"Id", "hook"},
                  {"Arn", destination["ApiDestinationArn"]},
                  {"HttpParameters", {{"PathParameterValues", {"deploy"}}, {"HeaderParameters", {{"X-Extra", "1"}}}}},
                  {"RetryPolicy", {{"MaximumRetryAttempts", 2}, {"MaximumEventAgeInSeconds", 3600}}}});

  http_->replies.push_back(HttpReply{503, "busy"});
  http_->replies.push_back(HttpReply{503, "busy"});
  std::string id = PutEvent("app", {{"n", 1}})["Entries"][0]["EventId"];
  service_->DeliverPending();
  ASSERT_EQ(http_->calls.size(), 1u);
  const HttpCall& call = http_->calls[0];
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "http://127.0.0.1:9/hooks/deploy?token=hidden");
  auto header = [&](const std::string& name) {
    for (const auto& [k, v] : call.headers) {
      if (k == name) return v;
    }
    return std::string();
  };
  EXPECT_EQ(header("X-Api-Key"), "s3cret");
  EXPECT_EQ(header("X-Team"), "web");
  EXPECT_EQ(header("X-Extra"), "1");
  EXPECT_EQ(Document::parse(call.body)["id"], id);
  EXPECT_EQ(Invocations().back()["Status"], "RETRYING");

  // The retry waits for its backoff, then the second retry succeeds.
  EXPECT_EQ(service_->DeliverPending(), 0);
  clock_.Advance(1s);
  service_->DeliverPending();
  EXPECT_EQ(Invocations().back()["Status"], "RETRYING");
  clock_.Advance(2s);
  service_->DeliverPending();
  ASSERT_EQ(http_->calls.size(), 3u);
  EXPECT_EQ(Invocations().back()["Status"], "SUCCEEDED");
  EXPECT_EQ(Invocations().back()["Attempt"], 3);
}

TEST_F(EventsServiceTest, ConnectionSecretsAreSealedAtRest) {
  Document connection =
      Ok("CreateConnection",
         {{"Name", "vault"},
          {"AuthorizationType", "BASIC"},
          {"AuthParameters",
           {{"BasicAuthParameters", {{"Username", "deployer"}, {"Password", "pa55-w0rd-clear"}}},
            {"InvocationHttpParameters",
             {{"HeaderParameters", {{{"Key", "X-Token"}, {"Value", "hdr-s3cret"}, {"IsValueSecret", true}}}}}}}}});
  auto stored = [&] {
    auto record = store_->Get(kConnectionTable, kScope, "vault");
    EXPECT_TRUE(record.ok() && *record);
    return record.ok() && *record ? (*record)->doc.dump() : std::string();
  };
  std::string raw = stored();
  EXPECT_NE(raw.find("SealedAuthParameters"), std::string::npos);
  EXPECT_EQ(raw.find("pa55-w0rd-clear"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("hdr-s3cret"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("deployer"), std::string::npos) << raw;

  Ok("UpdateConnection", {{"Name", "vault"},
                          {"AuthParameters", {{"BasicAuthParameters", {{"Password", "n3w-pa55-clear"}}}}}});
  raw = stored();
  EXPECT_EQ(raw.find("n3w-pa55-clear"), std::string::npos) << raw;
  Document described = Ok("DescribeConnection", {{"Name", "vault"}});
  EXPECT_EQ(described["AuthParameters"]["BasicAuthParameters"]["Username"], "deployer");
  EXPECT_FALSE(described["AuthParameters"]["BasicAuthParameters"].contains("Password"));
  EXPECT_FALSE(described.contains("SealedAuthParameters"));
  EXPECT_FALSE(Ok("ListConnections", Document::object())["Connections"][0].contains("SealedAuthParameters"));

  // Delivery opens the updated parameters, also after a restart (the key is in the state dir).
  Close();
  Open();
  Document destination = Ok("CreateApiDestination", {{"Name", "hook"},
                                                     {"ConnectionArn", connection["ConnectionArn"]},
                                                     {"InvocationEndpoint", "http://127.0.0.1:9/hook"},
                                                     {"HttpMethod", "POST"}});
  PutPatternRule("r", R"({"source":["app"]})");
  PutTarget("r", {{"Id", "hook"}, {"Arn", destination["ApiDestinationArn"]}});
  PutEvent("app", {{"n", 1}});
  service_->DeliverPending();
  ASSERT_EQ(http_->calls.size(), 1u);
  std::string authorization;
  std::string token;
  for (const auto& [k, v] : http_->calls[0].headers) {
    if (k == "Authorization") authorization = v;
    if (k == "X-Token") token = v;
  }
  EXPECT_EQ(authorization, "Basic " + Base64Encode("deployer:n3w-pa55-clear"));
  EXPECT_EQ(token, "hdr-s3cret");
}

TEST_F(EventsServiceTest, RetriesStopAtTheRetryPolicy) {
  Document connection =
      Ok("CreateConnection", {{"Name", "c"},
                              {"AuthorizationType", "BASIC"},
                              {"AuthParameters", {{"BasicAuthParameters", {{"Username", "u"}, {"Password", "p"}}}}}});
  Document destination = Ok("CreateApiDestination", {{"Name", "d"},
                                                     {"ConnectionArn", connection["ConnectionArn"]},
                                                     {"InvocationEndpoint", "http://127.0.0.1:9/"},
                                                     {"HttpMethod", "PUT"}});
  PutPatternRule("r", R"({"source":["app"]})");
  PutTarget("r", {{"Id", "d"},
                  {"Arn", destination["ApiDestinationArn"]},
                  {"RetryPolicy", {{"MaximumRetryAttempts", 1}}},
                  {"DeadLetterConfig", {{"Arn", "arn:aws:sqs:us-east-1:000000000000:dlq"}}}});
  for (int i = 0; i < 2; ++i) http_->replies.push_back(Status::Unavailable("connection refused"));
  PutEvent("app", Document::object());
  service_->DeliverPending();
  clock_.Advance(1min);
  service_->DeliverPending();
  clock_.Advance(1h);
  service_->DeliverPending();
  EXPECT_EQ(http_->calls.size(), 2u);
  EXPECT_EQ(http_->calls[0].method, "PUT");
  Document records = Invocations();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["Status"], "FAILED");
  EXPECT_EQ(records[1]["DeadLetterArn"], "arn:aws:sqs:us-east-1:000000000000:dlq");
  // A client error is final at once.
  http_->replies.push_back(HttpReply{404, "no such hook"});
  PutEvent("app", Document::object());
  service_->DeliverPending();
  EXPECT_EQ(Invocations().back()["Status"], "FAILED");
  EXPECT_EQ(Invocations().back()["ErrorCode"], "HTTP404");
}

TEST_F(EventsServiceTest, ScheduledRulesFireByTheClock) {
  Ok("PutRule", {{"Name", "tick"}, {"ScheduleExpression", "rate(5 minutes)"}});
  PutTarget("tick", {{"Id", "log"}, {"Arn", kLogGroup}});
  EXPECT_EQ(Ok("DescribeRule", {{"Name", "tick"}})["ScheduleExpression"], "rate(5 minutes)");

  TimePoint created = clock_.Now();
  EXPECT_EQ(service_->FireSchedules(created + 4min), 0);
  clock_.Set(created + 5min);
  EXPECT_EQ(service_->FireSchedules(clock_.Now()), 1);
  EXPECT_EQ(service_->FireSchedules(clock_.Now()), 0);
  service_->DeliverPending();
  std::vector<Document> messages = LoggedMessages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["source"], "aws.events");
  EXPECT_EQ(messages[0]["detail-type"], "Scheduled Event");
  EXPECT_EQ(messages[0]["resources"], Document::array({"arn:aws:events:us-east-1:000000000000:rule/tick"}));
  EXPECT_EQ(messages[0]["detail"], Document::object());
  EXPECT_EQ(messages[0]["time"], "2023-11-14T22:18:20Z");

  // Down for an hour: the missed fires fire once, and the schedule keeps its phase.
  Close();
  clock_.Set(created + 65min + 30s);
  Open();
  EXPECT_EQ(service_->FireSchedules(clock_.Now()), 1);
  EXPECT_EQ(service_->FireSchedules(clock_.Now()), 0);
  EXPECT_EQ(service_->FireSchedules(created + 70min), 1);
  service_->DeliverPending();
  messages = LoggedMessages();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1]["time"], "2023-11-14T23:18:20Z");
  EXPECT_EQ(messages[2]["time"], "2023-11-14T23:23:20Z");

  Ok("DisableRule", {{"Name", "tick"}});
  EXPECT_EQ(service_->FireSchedules(created + 100min), 0);
}

TEST_F(EventsServiceTest, CronRuleFiresOnItsMinutes) {
  Ok("PutRule", {{"Name", "nightly"}, {"ScheduleExpression", "cron(0 3 * * ? *)"}});
  PutTarget("nightly", {{"Id", "log"}, {"Arn", kLogGroup}});
  // The fake clock starts at 2023-11-14T22:13:20Z; the next 03:00 is the 15th.
  EXPECT_EQ(service_->FireSchedules(clock_.Now() + 4h), 0);
  EXPECT_EQ(service_->FireSchedules(clock_.Now() + 5h), 1);
  service_->DeliverPending();
  ASSERT_EQ(LoggedMessages().size(), 1u);
  EXPECT_EQ(LoggedMessages()[0]["time"], "2023-11-15T03:00:00Z");
}

TEST_F(EventsServiceTest, ArchivesKeepEventsAndReplaysPublishThemAgain) {
  Document archive =
      Ok("CreateArchive",
         {{"ArchiveName", "all"}, {"EventSourceArn", BusArnOf("default")}, {"EventPattern", R"({"source":["app"]})"}});
  EXPECT_EQ(archive["ArchiveArn"], "arn:aws:events:us-east-1:000000000000:archive/all");
  EXPECT_EQ(Error("CreateArchive", {{"ArchiveName", "all"}, {"EventSourceArn", BusArnOf("default")}}).first,
            "ResourceAlreadyExistsException");
  PutPatternRule("r", R"({"source":["app"]})");
  PutTarget("r", {{"Id", "log"}, {"Arn", kLogGroup}});

  TimePoint start = clock_.Now();
  for (int i = 0; i < 3; ++i) {
    PutEvent("app", {{"n", i}});
    clock_.Advance(1min);
  }
  PutEvent("other", Document::object());
  service_->DeliverPending();
  Document described = Ok("DescribeArchive", {{"ArchiveName", "all"}});
  EXPECT_EQ(described["EventCount"], 3);
  EXPECT_GT(described["SizeBytes"].get<int64_t>(), 0);
  EXPECT_EQ(LoggedMessages().size(), 3u);

  Document replay = Ok("StartReplay", {{"ReplayName", "again"},
                                       {"EventSourceArn", archive["ArchiveArn"]},
                                       {"EventStartTime", ToEpochSeconds(start + 30s)},
                                       {"EventEndTime", ToEpochSeconds(start + 10min)},
                                       {"Destination", {{"Arn", BusArnOf("default")}}}});
  EXPECT_EQ(replay["State"], "STARTING");
  EXPECT_EQ(Error("StartReplay", {{"ReplayName", "again"},
                                  {"EventSourceArn", archive["ArchiveArn"]},
                                  {"EventStartTime", ToEpochSeconds(start)},
                                  {"EventEndTime", ToEpochSeconds(start + 10min)},
                                  {"Destination", {{"Arn", BusArnOf("default")}}}})
                .first,
            "ResourceAlreadyExistsException");
  service_->DeliverPending();
  std::vector<Document> messages = LoggedMessages();
  ASSERT_EQ(messages.size(), 5u);
  EXPECT_EQ(messages[3]["detail"]["n"], 1);
  EXPECT_EQ(messages[3]["replay-name"], "again");
  EXPECT_EQ(messages[4]["detail"]["n"], 2);
  Document done = Ok("DescribeReplay", {{"ReplayName", "again"}});
  EXPECT_EQ(done["State"], "COMPLETED");
  EXPECT_TRUE(done.contains("ReplayEndTime"));
  EXPECT_FALSE(done.contains("Cursor"));
  // Replayed events are not archived again.
  EXPECT_EQ(Ok("DescribeArchive", {{"ArchiveName", "all"}})["EventCount"], 3);
  EXPECT_EQ(Error("CancelReplay", {{"ReplayName", "again"}}).first, "IllegalStatusException");

  Ok("DeleteArchive", {{"ArchiveName", "all"}});
  EXPECT_EQ(Error("DescribeArchive", {{"ArchiveName", "all"}}).second, "Archive all does not exist.");
}

TEST_F(EventsServiceTest, CancelledReplayDeliversNothing) {
  Document archive = Ok("CreateArchive", {{"ArchiveName", "all"}, {"EventSourceArn", BusArnOf("default")}});
  PutPatternRule("r", R"({"source":["app"]})");
  PutTarget("r", {{"Id", "log"}, {"Arn", kLogGroup}});
  PutEvent("app", Document::object());
  service_->DeliverPending();
  Ok("StartReplay", {{"ReplayName", "x"},
                     {"EventSourceArn", archive["ArchiveArn"]},
                     {"EventStartTime", ToEpochSeconds(clock_.Now() - 1h)},
                     {"EventEndTime", ToEpochSeconds(clock_.Now() + 1h)},
                     {"Destination", {{"Arn", BusArnOf("default")}}}});
  EXPECT_EQ(Ok("CancelReplay", {{"ReplayName", "x"}})["State"], "CANCELLING");
  service_->DeliverPending();
  EXPECT_EQ(LoggedMessages().size(), 1u);
  EXPECT_EQ(Ok("DescribeReplay", {{"ReplayName", "x"}})["State"], "CANCELLED");
}

TEST_F(EventsServiceTest, AcknowledgedEventsSurviveARestart) {
  PutPatternRule("r", R"({"source":["app"]})");
  PutTarget("r", {{"Id", "log"}, {"Arn", kLogGroup}});
  std::string id = PutEvent("app", {{"k", "v"}})["Entries"][0]["EventId"];
  // The process goes away before the delivery worker ran.
  Close();
  Open();
  EXPECT_EQ(Ok("ListTargetsByRule", {{"Rule", "r"}})["Targets"].size(), 1u);
  service_->DeliverPending();
  std::vector<Document> messages = LoggedMessages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["id"], id);
}

TEST_F(EventsServiceTest, WorkerThreadsDeliverAndStopPromptly) {
  PutPatternRule("r", R"({"source":["app"]})");
  PutTarget("r", {{"Id", "log"}, {"Arn", kLogGroup}});
  ASSERT_TRUE(service_->Start().ok());
  PutEvent("app", Document::object());
  for (int i = 0; i < 500 && Invocations().empty(); ++i) std::this_thread::sleep_for(10ms);
  auto before = std::chrono::steady_clock::now();
  service_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  EXPECT_EQ(Invocations().size(), 1u);
}

TEST_F(EventsServiceTest, TestEventPattern) {
  std::string event = R"({"id":"1","account":"000000000000","source":"app","time":"2024-01-01T00:00:00Z",
                          "region":"us-east-1","resources":[],"detail-type":"t","detail":{"n":5}})";
  EXPECT_EQ(Ok("TestEventPattern",
               {{"EventPattern", R"({"detail":{"n":[{"numeric":[">",3]}]}})"}, {"Event", event}})["Result"],
            true);
  EXPECT_EQ(Ok("TestEventPattern", {{"EventPattern", R"({"source":["other"]})"}, {"Event", event}})["Result"], false);
  EXPECT_EQ(Error("TestEventPattern", {{"EventPattern", R"({"source":["app"]})"}, {"Event", R"({"source":"app"})"}}),
            std::make_pair(std::string("ValidationException"), std::string("Parameter Event is not valid.")));
  EXPECT_EQ(Error("TestEventPattern", {{"EventPattern", R"({"source":["app"]})"}, {"Event", "not json"}}).first,
            "ValidationException");
  EXPECT_EQ(Error("TestEventPattern", {{"EventPattern", "[]"}, {"Event", event}}).first,
            "InvalidEventPatternException");
}

TEST_F(EventsServiceTest, TagsOnBusesAndRules) {
  Ok("CreateEventBus", {{"Name", "orders"}, {"Tags", {{{"Key", "team"}, {"Value", "web"}}}}});
  std::string bus_arn = BusArnOf("orders");
  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceARN", bus_arn}})["Tags"],
            Document::parse(R"([{"Key":"team","Value":"web"}])"));
  PutPatternRule("r", R"({"source":["app"]})", "orders");
  std::string rule_arn = "arn:aws:events:us-east-1:000000000000:rule/orders/r";
  Ok("TagResource",
     {{"ResourceARN", rule_arn}, {"Tags", {{{"Key", "a"}, {"Value", "1"}}, {{"Key", "b"}, {"Value", "2"}}}}});
  Ok("UntagResource", {{"ResourceARN", rule_arn}, {"TagKeys", {"a"}}});
  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceARN", rule_arn}})["Tags"],
            Document::parse(R"([{"Key":"b","Value":"2"}])"));
  // PutRule on an existing rule keeps its tags and targets.
  PutTarget("r", {{"Id", "t"}, {"Arn", kLogGroup}}, "orders");
  PutPatternRule("r", R"({"source":["app2"]})", "orders");
  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceARN", rule_arn}})["Tags"].size(), 1u);
  EXPECT_EQ(Ok("ListTargetsByRule", {{"Rule", "r"}, {"EventBusName", "orders"}})["Targets"].size(), 1u);
  EXPECT_EQ(
      Error("ListTagsForResource", {{"ResourceARN", "arn:aws:events:us-east-1:000000000000:rule/orders/nope"}}).second,
      "Rule nope does not exist on EventBus orders.");
  Ok("TagResource", {{"ResourceARN", BusArnOf("default")}, {"Tags", {{{"Key", "k"}, {"Value", "v"}}}}});
  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceARN", BusArnOf("default")}})["Tags"].size(), 1u);
}

TEST_F(EventsServiceTest, InvocationLogKeepsTheLatestRecords) {
  for (int i = 0; i < kInvocationsKept + 5; ++i) {
    ASSERT_TRUE(RecordInvocation(*store_, kScope, {{"EventId", std::to_string(i)}}).ok());
  }
  Document records = Invocations();
  ASSERT_EQ(records.size(), static_cast<size_t>(kInvocationsKept));
  EXPECT_EQ(records[0]["EventId"], "5");
}

// One connection on a loopback port: reads the request, answers with `reply` (or nothing).
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len);
    ::listen(fd_, 1);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      int client = ::accept(fd_, nullptr, nullptr);
      // The head, then the body its Content-Length announces.
      size_t head_end = std::string::npos;
      size_t want = 0;
      char buffer[4096];
      while (head_end == std::string::npos || request_.size() < want) {
        ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        request_.append(buffer, static_cast<size_t>(n));
        head_end = request_.find("\r\n\r\n");
        size_t length = request_.find("Content-Length: ");
        if (head_end != std::string::npos) {
          want = head_end + 4 + (length < head_end ? std::stoul(request_.substr(length + 16)) : 0);
        }
      }
      if (!reply_.empty()) {
        ::send(client, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      } else {
        // Silent: wait for the sender to give up.
        while (::recv(client, buffer, sizeof(buffer), 0) > 0) {
        }
      }
      ::close(client);
    });
  }
  ~OneShotServer() {
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook?x=1"; }
  // Valid after the server thread finished (the sender got its answer).
  const std::string& request() const { return request_; }

 private:
  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

TEST(PosixHttpSenderTest, SendsTheRequestAndReadsAChunkedAnswer) {
  std::string request;
  {
    OneShotServer server("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    PosixHttpSender sender;
    HttpCall call;
    call.url = server.url();
    call.headers = {{"X-Api-Key", "k\r\nInjected: 1"}};
    call.body = "payload";
    auto reply = sender.Send(call);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->status, 201);
    EXPECT_EQ(reply->body, "abcde");
    request = server.request();
  }
  EXPECT_EQ(request.rfind("POST /hook?x=1 HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("Content-Length: 7\r\n"), std::string::npos);
  EXPECT_NE(request.find("X-Api-Key: kInjected: 1\r\n"), std::string::npos);
  EXPECT_EQ(request.substr(request.size() - 7), "payload");
}

TEST(PosixHttpSenderTest, UnreachableSilentAndHttpsEndpointsFail) {
  PosixHttpSender sender;
  HttpCall call;
  call.url = "https://127.0.0.1:1/";
  EXPECT_EQ(sender.Send(call).status().code(), StatusCode::kInvalidArgument);
  OneShotServer silent("");
  call.url = silent.url();
  call.timeout = 100ms;
  EXPECT_EQ(sender.Send(call).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gantry::services::events
