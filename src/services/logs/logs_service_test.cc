#include "services/logs/logs_service.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/aws/dispatcher.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"
#include "test_support/service_test.h"

namespace gantry::services::logs {
namespace {

using namespace std::chrono_literals;

constexpr char kAccount[] = "000000000000";
constexpr char kRegion[] = "us-east-1";

class LogsServiceTest : public test_support::ServiceTest<LogsService> {
 protected:
  LogsServiceTest() : ServiceTest("logs", kAccount, kRegion) {}

  std::unique_ptr<LogsService> MakeService() override {
    telemetry::logs::LogStoreOptions engine;
    engine.root = dir_.File("logs");
    engine.segment_bytes = 16 << 10;
    engine.block_bytes = 2 << 10;
    return std::make_unique<LogsService>(store_.get(), &clock_, &ids_, engine);
  }
  Status Prepare(LogsService& service) override { return service.Start(); }

  void SetUp() override {
    ServiceTest::SetUp();
    now_ = ToEpochMillis(clock_.Now());
  }

  void MakeStream(const std::string& group, const std::string& stream) {
    if (!Call("DescribeLogGroups", {{"logGroupNamePrefix", group}})->at("logGroups").size()) {
      Ok("CreateLogGroup", {{"logGroupName", group}});
    }
    Ok("CreateLogStream", {{"logGroupName", group}, {"logStreamName", stream}});
  }

  Document Put(const std::string& group, const std::string& stream, const std::vector<std::pair<int64_t, std::string>>& events) {
    Document list = Document::array();
    for (const auto& [ts, message] : events) list.push_back({{"timestamp", ts}, {"message", message}});
    return Ok("PutLogEvents", {{"logGroupName", group}, {"logStreamName", stream}, {"logEvents", list}});
  }

  static std::vector<std::string> Messages(const Document& out) {
    std::vector<std::string> messages;
    for (const auto& e : out["events"]) messages.push_back(e["message"].get<std::string>());
    return messages;
  }

  int64_t now_ = 0;
};

TEST_F(LogsServiceTest, LogGroupsAreCreatedListedAndDeleted) {
  Ok("CreateLogGroup", {{"logGroupName", "/app/web"}, {"tags", {{"team", "a"}}}});
  Ok("CreateLogGroup", {{"logGroupName", "/app/worker"}});
  Ok("CreateLogGroup", {{"logGroupName", "other"}});
  EXPECT_EQ(Error("CreateLogGroup", {{"logGroupName", "/app/web"}}),
            std::make_pair(std::string("ResourceAlreadyExistsException"), std::string("The specified log group already exists")));
  Document all = Ok("DescribeLogGroups", Document::object());
  ASSERT_EQ(all["logGroups"].size(), 3u);
  const Document& web = all["logGroups"][0];
  EXPECT_EQ(web["logGroupName"], "/app/web");
  EXPECT_EQ(web["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:/app/web:*");
  EXPECT_EQ(web["logGroupArn"], "arn:aws:logs:us-east-1:000000000000:log-group:/app/web");
  EXPECT_EQ(web["creationTime"], now_);
  EXPECT_EQ(web["storedBytes"], 0);
  EXPECT_EQ(web["metricFilterCount"], 0);
  EXPECT_EQ(web["logGroupClass"], "STANDARD");

  Document prefixed = Ok("DescribeLogGroups", {{"logGroupNamePrefix", "/app/"}, {"limit", 1}});
  ASSERT_EQ(prefixed["logGroups"].size(), 1u);
  ASSERT_TRUE(prefixed.contains("nextToken"));
  Document next = Ok("DescribeLogGroups", {{"logGroupNamePrefix", "/app/"}, {"nextToken", prefixed["nextToken"]}});
  ASSERT_EQ(next["logGroups"].size(), 1u);
  EXPECT_EQ(next["logGroups"][0]["logGroupName"], "/app/worker");
  EXPECT_FALSE(next.contains("nextToken"));

  Document pattern = Ok("DescribeLogGroups", {{"logGroupNamePattern", "work"}});
  ASSERT_EQ(pattern["logGroups"].size(), 1u);
  EXPECT_EQ(pattern["logGroups"][0].size(), 3u);  // only arn, creationTime and logGroupName
  EXPECT_EQ(Error("DescribeLogGroups", {{"logGroupNamePattern", "a"}, {"logGroupNamePrefix", "a"}}).first,
            "InvalidParameterException");

  Ok("DeleteLogGroup", {{"logGroupName", "/app/web"}});
  EXPECT_EQ(Error("DeleteLogGroup", {{"logGroupName", "/app/web"}}),
            std::make_pair(std::string("ResourceNotFoundException"), std::string("The specified log group does not exist.")));
  EXPECT_EQ(Ok("DescribeLogGroups", Document::object())["logGroups"].size(), 2u);
}

TEST_F(LogsServiceTest, RetentionPolicyValuesAndTags) {
  Ok("CreateLogGroup", {{"logGroupName", "g"}});
  auto error = Error("PutRetentionPolicy", {{"logGroupName", "g"}, {"retentionInDays", 2}});
  EXPECT_EQ(error.first, "InvalidParameterException");
  EXPECT_EQ(error.second,
            "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: Member must "
            "satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, "
            "2192, 2557, 2922, 3288, 3653]");
  Ok("PutRetentionPolicy", {{"logGroupName", "g"}, {"retentionInDays", 7}});
  EXPECT_EQ(Ok("DescribeLogGroups", Document::object())["logGroups"][0]["retentionInDays"], 7);
  Ok("DeleteRetentionPolicy", {{"logGroupName", "g"}});
  EXPECT_FALSE(Ok("DescribeLogGroups", Document::object())["logGroups"][0].contains("retentionInDays"));
  EXPECT_EQ(Error("PutRetentionPolicy", {{"logGroupName", "nope"}, {"retentionInDays", 1}}).first,
            "ResourceNotFoundException");

  std::string arn = "arn:aws:logs:us-east-1:000000000000:log-group:g";
  Ok("TagResource", {{"resourceArn", arn}, {"tags", {{"a", "1"}, {"b", "2"}}}});
  Ok("TagLogGroup", {{"logGroupName", "g"}, {"tags", {{"c", "3"}}}});
  Ok("UntagResource", {{"resourceArn", arn}, {"tagKeys", {"a"}}});
  EXPECT_EQ(Ok("ListTagsForResource", {{"resourceArn", arn}})["tags"], (Document{{"b", "2"}, {"c", "3"}}));
  Ok("UntagLogGroup", {{"logGroupName", "g"}, {"tags", {"b"}}});
  EXPECT_EQ(Ok("ListTagsLogGroup", {{"logGroupName", "g"}})["tags"], (Document{{"c", "3"}}));
  EXPECT_EQ(Error("ListTagsForResource", {{"resourceArn", "arn:aws:logs:us-east-1:000000000000:log-group:zz"}}).first,
            "ResourceNotFoundException");
}

TEST_F(LogsServiceTest, StreamsAreOrderedByNameOrLastEventTime) {
  MakeStream("g", "b");
  MakeStream("g", "a");
  MakeStream("g", "c");
  EXPECT_EQ(Error("CreateLogStream", {{"logGroupName", "g"}, {"logStreamName", "a"}}),
            std::make_pair(std::string("ResourceAlreadyExistsException"), std::string("The specified log stream already exists")));
  EXPECT_EQ(Error("CreateLogStream", {{"logGroupName", "x"}, {"logStreamName", "a"}}).first, "ResourceNotFoundException");
  Put("g", "a", {{now_ - 100, "old"}});
  Put("g", "c", {{now_ - 10, "new"}});
  Put("g", "b", {{now_ - 50, "mid"}});
  Document by_name = Ok("DescribeLogStreams", {{"logGroupName", "g"}});
  ASSERT_EQ(by_name["logStreams"].size(), 3u);
  EXPECT_EQ(by_name["logStreams"][0]["logStreamName"], "a");
  EXPECT_EQ(by_name["logStreams"][0]["firstEventTimestamp"], now_ - 100);
  EXPECT_EQ(by_name["logStreams"][0]["lastIngestionTime"], now_);
  EXPECT_EQ(by_name["logStreams"][0]["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:a");
  Document by_time = Ok("DescribeLogStreams", {{"logGroupName", "g"}, {"orderBy", "LastEventTime"}, {"descending", true}, {"limit", 2}});
  ASSERT_EQ(by_time["logStreams"].size(), 2u);
  EXPECT_EQ(by_time["logStreams"][0]["logStreamName"], "c");
  EXPECT_EQ(by_time["logStreams"][1]["logStreamName"], "b");
  Document rest = Ok("DescribeLogStreams", {{"logGroupName", "g"}, {"orderBy", "LastEventTime"}, {"descending", true},
                                            {"nextToken", by_time["nextToken"]}});
  ASSERT_EQ(rest["logStreams"].size(), 1u);
  EXPECT_EQ(rest["logStreams"][0]["logStreamName"], "a");
  EXPECT_EQ(Error("DescribeLogStreams", {{"logGroupName", "g"}, {"orderBy", "LastEventTime"}, {"logStreamNamePrefix", "a"}}),
            std::make_pair(std::string("InvalidParameterException"),
                           std::string("Cannot order by LastEventTime with a logStreamNamePrefix.")));
  Document by_arn = Ok("DescribeLogStreams", {{"logGroupIdentifier", "arn:aws:logs:us-east-1:000000000000:log-group:g"},
                                              {"logStreamNamePrefix", "b"}});
  ASSERT_EQ(by_arn["logStreams"].size(), 1u);
  Ok("DeleteLogStream", {{"logGroupName", "g"}, {"logStreamName", "b"}});
  EXPECT_EQ(Error("DeleteLogStream", {{"logGroupName", "g"}, {"logStreamName", "b"}}),
            std::make_pair(std::string("ResourceNotFoundException"), std::string("The specified log stream does not exist.")));
}

TEST_F(LogsServiceTest, PutLogEventsEnforcesTheBatchRules) {
  MakeStream("g", "s");
  auto put = [&](Document events) {
    return Call("PutLogEvents", {{"logGroupName", "g"}, {"logStreamName", "s"}, {"logEvents", events}});
  };
  auto error = put({{{"timestamp", now_}, {"message", "b"}}, {{"timestamp", now_ - 1}, {"message", "a"}}});
  EXPECT_EQ(error.status().message(), "Log events in a single PutLogEvents request must be in chronological order.");
  EXPECT_EQ(error.status().aws_code(), "InvalidParameterException");
  error = put({{{"timestamp", now_}, {"message", std::string(1048551, 'x')}}});
  EXPECT_EQ(error.status().message(), "Log event too large: 1048577 bytes exceeds limit of 1048576");
  Document big = Document::array();
  for (int i = 0; i < 3; ++i) big.push_back({{"timestamp", now_}, {"message", std::string(400000, 'x')}});
  error = put(big);
  EXPECT_EQ(error.status().message(), "Upload too large: 1200078 bytes exceeds limit of 1048576");
  error = put({{{"timestamp", now_ - 25 * 3600 * 1000LL}, {"message", "a"}}, {{"timestamp", now_}, {"message", "b"}}});
  EXPECT_EQ(error.status().message(),
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
  EXPECT_EQ(Error("PutLogEvents", {{"logGroupName", "g"}, {"logStreamName", "nope"},
                                   {"logEvents", {{{"timestamp", now_}, {"message", "x"}}}}}),
            std::make_pair(std::string("ResourceNotFoundException"), std::string("The specified log stream does not exist.")));

  // Too old and too new events are rejected one by one; the rest is kept, and the span of the kept
  // events alone counts.
  auto mixed = put({{{"timestamp", now_ - 15 * 24 * 3600 * 1000LL}, {"message", "ancient"}},
                    {{"timestamp", now_ - 1000}, {"message", "kept 1"}},
                    {{"timestamp", now_}, {"message", "kept 2"}},
                    {{"timestamp", now_ + 3 * 3600 * 1000LL}, {"message", "future"}}});
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
  EXPECT_EQ((*mixed)["rejectedLogEventsInfo"], (Document{{"tooOldLogEventEndIndex", 1}, {"tooNewLogEventStartIndex", 3}}));
  EXPECT_EQ((*mixed)["nextSequenceToken"].get<std::string>().size(), 56u);
  Document got = Ok("GetLogEvents", {{"logGroupName", "g"}, {"logStreamName", "s"}, {"startFromHead", true}});
  EXPECT_EQ(Messages(got), (std::vector<std::string>{"kept 1", "kept 2"}));
  EXPECT_EQ(got["events"][0]["ingestionTime"], now_);

  Ok("PutRetentionPolicy", {{"logGroupName", "g"}, {"retentionInDays", 1}});
  auto expired = put({{{"timestamp", now_ - 2 * 24 * 3600 * 1000LL}, {"message", "expired"}}, {{"timestamp", now_}, {"message", "ok"}}});
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ((*expired)["rejectedLogEventsInfo"], (Document{{"expiredLogEventEndIndex", 1}}));
  // Sequence tokens are accepted and ignored.
  EXPECT_TRUE(Call("PutLogEvents", {{"logGroupName", "g"}, {"logStreamName", "s"}, {"sequenceToken", "bogus"},
                                    {"logEvents", {{{"timestamp", now_}, {"message", "x"}}}}})
                  .ok());
}

TEST_F(LogsServiceTest, GetLogEventsPagesWithForwardAndBackwardTokens) {
  MakeStream("g", "s");
  for (int i = 0; i < 5; ++i) Put("g", "s", {{now_ + i, "e" + std::to_string(i)}});
  Document base = {{"logGroupName", "g"}, {"logStreamName", "s"}, {"limit", 2}};
  Document head = base;
  head["startFromHead"] = true;
  Document page = Ok("GetLogEvents", head);
  EXPECT_EQ(Messages(page), (std::vector<std::string>{"e0", "e1"}));
  std::string forward = page["nextForwardToken"];
  EXPECT_EQ(forward.substr(0, 2), "f/");
  EXPECT_EQ(forward.size(), 60u);
  EXPECT_EQ(forward.substr(58), "/s");
  std::vector<std::string> all = Messages(page);
  while (true) {
    Document next = base;
    next["nextToken"] = forward;
    Document more = Ok("GetLogEvents", next);
    if (more["nextForwardToken"] == forward) {
      EXPECT_TRUE(more["events"].empty());
      EXPECT_EQ(more["nextBackwardToken"].get<std::string>().substr(2), forward.substr(2));
      break;
    }
    for (const auto& m : Messages(more)) all.push_back(m);
    forward = more["nextForwardToken"];
  }
  EXPECT_EQ(all, (std::vector<std::string>{"e0", "e1", "e2", "e3", "e4"}));

  // Without startFromHead the newest events come first; backward tokens page towards the oldest.
  Document tail = Ok("GetLogEvents", base);
  EXPECT_EQ(Messages(tail), (std::vector<std::string>{"e3", "e4"}));
  Document back = base;
  back["nextToken"] = tail["nextBackwardToken"];
  Document older = Ok("GetLogEvents", back);
  EXPECT_EQ(Messages(older), (std::vector<std::string>{"e1", "e2"}));
  back["nextToken"] = older["nextBackwardToken"];
  Document oldest = Ok("GetLogEvents", back);
  EXPECT_EQ(Messages(oldest), (std::vector<std::string>{"e0"}));
  back["nextToken"] = oldest["nextBackwardToken"];
  Document none = Ok("GetLogEvents", back);
  EXPECT_TRUE(none["events"].empty());
  EXPECT_EQ(none["nextBackwardToken"], oldest["nextBackwardToken"]);

  Document ranged = Ok("GetLogEvents", {{"logGroupName", "g"}, {"logStreamName", "s"}, {"startFromHead", true},
                                        {"startTime", now_ + 1}, {"endTime", now_ + 3}});
  EXPECT_EQ(Messages(ranged), (std::vector<std::string>{"e1", "e2"}));
  Document bad = base;
  bad["nextToken"] = "x/123";
  EXPECT_EQ(Error("GetLogEvents", bad),
            std::make_pair(std::string("InvalidParameterException"), std::string("The specified nextToken is invalid.")));
}

TEST_F(LogsServiceTest, FilterLogEventsInterleavesStreamsAndPages) {
  MakeStream("g", "web-1");
  MakeStream("g", "web-2");
  MakeStream("g", "db");
  Put("g", "web-1", {{now_ + 1, "GET / 200"}, {now_ + 4, "GET /x 500 ERROR"}});
  Put("g", "web-2", {{now_ + 2, "GET /y 500 ERROR"}, {now_ + 3, "GET / 200"}});
  Put("g", "db", {{now_ + 5, R"({"level":"ERROR","ms":1200})"}});
  Document all = Ok("FilterLogEvents", {{"logGroupName", "g"}});
  EXPECT_EQ(all["events"].size(), 5u);
  EXPECT_EQ(all["searchedLogStreams"], Document::array());
  EXPECT_FALSE(all.contains("nextToken"));
  Document errors = Ok("FilterLogEvents", {{"logGroupName", "g"}, {"filterPattern", "ERROR"}, {"logStreamNamePrefix", "web"}});
  EXPECT_EQ(Messages(errors), (std::vector<std::string>{"GET /y 500 ERROR", "GET /x 500 ERROR"}));
  EXPECT_EQ(errors["events"][0]["logStreamName"], "web-2");
  EXPECT_EQ(errors["events"][0]["eventId"].get<std::string>().size(), 56u);
  Document json = Ok("FilterLogEvents", {{"logGroupName", "g"}, {"filterPattern", "{ $.ms > 1000 }"}});
  EXPECT_EQ(Messages(json), (std::vector<std::string>{R"({"level":"ERROR","ms":1200})"}));
  Document named = Ok("FilterLogEvents", {{"logGroupName", "g"}, {"logStreamNames", {"db", "web-1"}}, {"startTime", now_ + 2},
                                          {"endTime", now_ + 4}});
  EXPECT_EQ(Messages(named), (std::vector<std::string>{"GET /x 500 ERROR"}));

  Document paged = Ok("FilterLogEvents", {{"logGroupName", "g"}, {"limit", 2}});
  EXPECT_EQ(paged["events"].size(), 2u);
  ASSERT_TRUE(paged.contains("nextToken"));
  Document rest = Ok("FilterLogEvents", {{"logGroupName", "g"}, {"limit", 10}, {"nextToken", paged["nextToken"]}});
  EXPECT_EQ(rest["events"].size(), 3u);
  EXPECT_EQ(rest["events"][0]["timestamp"], now_ + 3);

  EXPECT_EQ(Error("FilterLogEvents", {{"logGroupName", "g"}, {"filterPattern", "a.b"}}),
            std::make_pair(std::string("InvalidParameterException"), std::string("Invalid character(s) in term 'a.b'")));
  EXPECT_EQ(Error("FilterLogEvents", {{"logGroupName", "g"}, {"logStreamNames", {"db"}}, {"logStreamNamePrefix", "d"}}).first,
            "InvalidParameterException");
  EXPECT_EQ(Error("FilterLogEvents", {{"logGroupName", "g"}, {"logGroupIdentifier", "g"}}),
            std::make_pair(std::string("InvalidParameterException"),
                           std::string("LogGroup name and LogGroup ARN are mutually exclusive parameters.")));
  EXPECT_EQ(Error("FilterLogEvents", {{"logGroupName", "zz"}}).first, "ResourceNotFoundException");
}

TEST_F(LogsServiceTest, MetricFiltersAreStoredAndTested) {
  Ok("CreateLogGroup", {{"logGroupName", "g"}});
  Document transformation = {{"metricName", "Errors"}, {"metricNamespace", "App"}, {"metricValue", "1"}};
  Ok("PutMetricFilter", {{"logGroupName", "g"}, {"filterName", "errors"}, {"filterPattern", "ERROR"},
                         {"metricTransformations", {transformation}}});
  EXPECT_EQ(Error("PutMetricFilter", {{"logGroupName", "g"}, {"filterName", "bad"}, {"filterPattern", "{ $.a = }"},
                                      {"metricTransformations", {transformation}}})
                .first,
            "InvalidParameterException");
  EXPECT_EQ(Error("PutMetricFilter", {{"logGroupName", "x"}, {"filterName", "f"}, {"filterPattern", ""},
                                      {"metricTransformations", {transformation}}})
                .first,
            "ResourceNotFoundException");
  Document described = Ok("DescribeMetricFilters", {{"logGroupName", "g"}});
  ASSERT_EQ(described["metricFilters"].size(), 1u);
  EXPECT_EQ(described["metricFilters"][0]["filterName"], "errors");
  EXPECT_EQ(described["metricFilters"][0]["creationTime"], now_);
  EXPECT_EQ(described["metricFilters"][0]["metricTransformations"][0]["metricName"], "Errors");
  EXPECT_EQ(Ok("DescribeMetricFilters", {{"metricName", "Errors"}, {"metricNamespace", "App"}})["metricFilters"].size(), 1u);
  EXPECT_EQ(Ok("DescribeLogGroups", Document::object())["logGroups"][0]["metricFilterCount"], 1);

  Document tested = Ok("TestMetricFilter", {{"filterPattern", "[ip, user, ..., status=4*, bytes>1000]"},
                                            {"logEventMessages", {"1.2.3.4 bob GET /a 404 2048", "1.2.3.4 bob GET /a 200 5"}}});
  ASSERT_EQ(tested["matches"].size(), 1u);
  EXPECT_EQ(tested["matches"][0]["eventNumber"], 1);
  EXPECT_EQ(tested["matches"][0]["extractedValues"],
            (Document{{"$ip", "1.2.3.4"}, {"$user", "bob"}, {"$3", "GET"}, {"$4", "/a"}, {"$status", "404"}, {"$bytes", "2048"}}));

  Ok("DeleteMetricFilter", {{"logGroupName", "g"}, {"filterName", "errors"}});
  EXPECT_EQ(Error("DeleteMetricFilter", {{"logGroupName", "g"}, {"filterName", "errors"}}),
            std::make_pair(std::string("ResourceNotFoundException"), std::string("The specified metric filter does not exist.")));
}

TEST_F(LogsServiceTest, RetentionExpiresDataAndEverythingSurvivesARestart) {
  MakeStream("g", "s");
  for (int i = 0; i < 200; ++i) Put("g", "s", {{now_ - 3 * 24 * 3600 * 1000LL + i, "old " + std::string(100, 'o')}});
  for (int i = 0; i < 200; ++i) Put("g", "s", {{now_ + i, "new " + std::string(100, 'n')}});
  Ok("PutRetentionPolicy", {{"logGroupName", "g"}, {"retentionInDays", 1}});
  Document filtered = Ok("FilterLogEvents", {{"logGroupName", "g"}});
  EXPECT_EQ(filtered["events"].size(), 200u);
  auto swept = service_->engine()->Sweep();
  ASSERT_TRUE(swept.ok());
  EXPECT_GT(*swept, 0);

  Close();
  Open();
  EXPECT_EQ(Ok("FilterLogEvents", {{"logGroupName", "g"}})["events"].size(), 200u);
  Document group = Ok("DescribeLogGroups", Document::object())["logGroups"][0];
  EXPECT_EQ(group["retentionInDays"], 1);
  Ok("DeleteRetentionPolicy", {{"logGroupName", "g"}});
  // The old segments are gone for good; events still in the unsealed tail come back.
  size_t after = Ok("FilterLogEvents", {{"logGroupName", "g"}})["events"].size();
  EXPECT_GE(after, 200u);
  EXPECT_LT(after, 400u);
  clock_.Advance(48h);
  Ok("PutRetentionPolicy", {{"logGroupName", "g"}, {"retentionInDays", 1}});
  EXPECT_TRUE(Ok("FilterLogEvents", {{"logGroupName", "g"}})["events"].empty());
}

TEST_F(LogsServiceTest, DeletingAGroupDeletesItsStreamsFiltersAndData) {
  MakeStream("g", "s");
  Put("g", "s", {{now_, "x"}});
  Ok("PutMetricFilter", {{"logGroupName", "g"}, {"filterName", "f"}, {"filterPattern", ""},
                         {"metricTransformations", {{{"metricName", "m"}, {"metricNamespace", "n"}, {"metricValue", "1"}}}}});
  Ok("DeleteLogGroup", {{"logGroupName", "g"}});
  Ok("CreateLogGroup", {{"logGroupName", "g"}});
  EXPECT_TRUE(Ok("DescribeLogStreams", {{"logGroupName", "g"}})["logStreams"].empty());
  EXPECT_TRUE(Ok("DescribeMetricFilters", {{"logGroupName", "g"}})["metricFilters"].empty());
  Ok("CreateLogStream", {{"logGroupName", "g"}, {"logStreamName", "s"}});
  EXPECT_TRUE(Ok("FilterLogEvents", {{"logGroupName", "g"}})["events"].empty());
}

}  // namespace
}  // namespace gantry::services::logs
