// Alarms end to end inside the service: PutMetricAlarm/PutCompositeAlarm and the other alarm
// operations through the dispatcher, evaluation driven by the fake clock, events caught by a fake
// client.
#include "services/cloudwatch/alarm_scheduler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "services/cloudwatch/cloudwatch_service.h"
#include "test_support/service_test.h"

namespace gantry::services::cloudwatch {
namespace {

using aws::Document;
using namespace std::chrono_literals;

constexpr char kAccount[] = "000000000000";
constexpr char kRegion[] = "us-east-1";
constexpr char kTopic[] = "arn:aws:sns:us-east-1:000000000000:ops";

// Records the events the scheduler sends.
class EventCatcher : public aws::Client {
 public:
  StatusOr<Document> Call(const aws::Principal& principal, std::string_view service, std::string_view operation,
                          const Document& input, std::string_view region) override {
    std::lock_guard lock(mu_);
    if (service == "events" && operation == "PutEvents") {
      principals.push_back(principal.service);
      for (const Document& e : input["Entries"]) entries.push_back(e);
    }
    return Document{{"FailedEntryCount", 0}, {"Entries", Document::array()}};
  }
  std::mutex mu_;
  std::vector<Document> entries;
  std::vector<std::string> principals;
};

// A store that runs `before_update` once, just before the first Update of `key` in the alarm
// table: a write by another thread landing between an evaluation's reads and its write.
class InterleavingStore : public store::Store {
 public:
  explicit InterleavingStore(store::Store& inner) : inner_(inner) {}
  StatusOr<std::optional<store::Record>> Get(std::string_view table, std::string_view scope,
                                             std::string_view key) override {
    return inner_.Get(table, scope, key);
  }
  StatusOr<int64_t> Put(std::string_view table, std::string_view scope, std::string_view key,
                        const nlohmann::json& doc) override {
    return inner_.Put(table, scope, key, doc);
  }
  StatusOr<int64_t> Create(std::string_view table, std::string_view scope, std::string_view key,
                           const nlohmann::json& doc) override {
    return inner_.Create(table, scope, key, doc);
  }
  StatusOr<int64_t> Update(std::string_view table, std::string_view scope, std::string_view key,
                           const nlohmann::json& doc, std::optional<int64_t> expected_version) override {
    if (before_update && table == kAlarmTable && key == this->key) std::exchange(before_update, nullptr)();
    return inner_.Update(table, scope, key, doc, expected_version);
  }
  StatusOr<bool> Delete(std::string_view table, std::string_view scope, std::string_view key,
                        std::optional<int64_t> expected_version) override {
    return inner_.Delete(table, scope, key, expected_version);
  }
  StatusOr<store::ListPage> List(std::string_view table, std::string_view scope,
                                 const store::ListOptions& options) override {
    return inner_.List(table, scope, options);
  }
  StatusOr<int64_t> Count(std::string_view table, std::string_view scope, std::string_view prefix) override {
    return inner_.Count(table, scope, prefix);
  }
  StatusOr<int64_t> NextSequence(std::string_view name) override { return inner_.NextSequence(name); }
  Status Transact(const std::function<Status(store::Transaction&)>& fn) override { return inner_.Transact(fn); }

  std::string key;
  std::function<void()> before_update;

 private:
  store::Store& inner_;
};

class AlarmSchedulerTest : public test_support::ServiceTest<CloudWatchService> {
 protected:
  AlarmSchedulerTest() : ServiceTest("cloudwatch", kAccount, kRegion) {}

  std::unique_ptr<CloudWatchService> MakeService() override {
    std::filesystem::create_directories(dir_.File("state"));
    return std::make_unique<CloudWatchService>(store_.get(), &clock_, &ids_, &events_, dir_.File("state"));
  }
  Status Prepare(CloudWatchService& service) override { return service.Open(); }

  AlarmScheduler& scheduler() { return *service_->deps().alarms; }
  double Now() { return ToEpochSeconds(clock_.Now()); }

  void Put(double value) {
    Ok("PutMetricData", {{"Namespace", "App"},
                         {"MetricData", Document::array({{{"MetricName", "Errors"}, {"Value", value}, {"Timestamp", Now()}}})}});
  }

  Document MetricAlarm(const std::string& name) {
    return {{"AlarmName", name},        {"Namespace", "App"},        {"MetricName", "Errors"},
            {"Statistic", "Maximum"},   {"Period", 60},              {"EvaluationPeriods", 1},
            {"Threshold", 5},           {"ComparisonOperator", "GreaterThanThreshold"},
            {"AlarmActions", Document::array({kTopic})}};
  }

  Document Alarm(const std::string& name, const char* type = "MetricAlarm") {
    Document out = Ok("DescribeAlarms", {{"AlarmNames", Document::array({name})},
                                         {"AlarmTypes", Document::array({"MetricAlarm", "CompositeAlarm"})}});
    const Document& list = out[std::string(type) + "s"];
    return list.empty() ? Document() : list[0];
  }

  Document History(const std::string& name, const char* type) {
    return Ok("DescribeAlarmHistory", {{"AlarmName", name},
                                       {"HistoryItemType", type},
                                       {"AlarmTypes", Document::array({"MetricAlarm", "CompositeAlarm"})}})
        ["AlarmHistoryItems"];
  }

  EventCatcher events_;
};

TEST_F(AlarmSchedulerTest, MetricAlarmGoesToAlarmRecordsAndAnnouncesIt) {
  Ok("PutMetricAlarm", MetricAlarm("errors"));
  EXPECT_EQ(Alarm("errors")["StateValue"], "INSUFFICIENT_DATA");
  Put(10);
  scheduler().EvaluateDue(clock_.Now());
  Document alarm = Alarm("errors");
  EXPECT_EQ(alarm["StateValue"], "ALARM");
  EXPECT_EQ(alarm["AlarmArn"], "arn:aws:cloudwatch:us-east-1:000000000000:alarm:errors");
  EXPECT_NE(alarm["StateReason"].get<std::string>().find("was greater than the threshold (5.0)"), std::string::npos)
      << alarm["StateReason"];
  Document reason_data = Document::parse(alarm["StateReasonData"].get<std::string>());
  EXPECT_EQ(reason_data["statistic"], "Maximum");
  EXPECT_EQ(reason_data["evaluatedDatapoints"][0]["value"], 10.0);

  Document updates = History("errors", "StateUpdate");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]["HistorySummary"], "Alarm updated from INSUFFICIENT_DATA to ALARM");
  Document data = Document::parse(updates[0]["HistoryData"].get<std::string>());
  EXPECT_EQ(data["oldState"]["stateValue"], "INSUFFICIENT_DATA");
  EXPECT_EQ(data["newState"]["stateValue"], "ALARM");
  Document actions = History("errors", "Action");
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0]["HistorySummary"].get<std::string>().rfind(std::string("Failed to execute action ") + kTopic, 0),
            0u);

  ASSERT_EQ(events_.entries.size(), 1u);
  EXPECT_EQ(events_.principals[0], "monitoring.amazonaws.com");
  const Document& entry = events_.entries[0];
  EXPECT_EQ(entry["Source"], "aws.cloudwatch");
  EXPECT_EQ(entry["DetailType"], "CloudWatch Alarm State Change");
  Document detail = Document::parse(entry["Detail"].get<std::string>());
  EXPECT_EQ(detail["alarmName"], "errors");
  EXPECT_EQ(detail["state"]["value"], "ALARM");
  EXPECT_EQ(detail["previousState"]["value"], "INSUFFICIENT_DATA");
  EXPECT_EQ(detail["configuration"]["metrics"][0]["metricStat"]["metric"]["name"], "Errors");
  EXPECT_EQ(detail["configuration"]["metrics"][0]["metricStat"]["stat"], "Maximum");

  clock_.Advance(60s);
  Put(1);
  scheduler().EvaluateDue(clock_.Now());
  EXPECT_EQ(Alarm("errors")["StateValue"], "OK");
  EXPECT_EQ(events_.entries.size(), 2u);
}

TEST_F(AlarmSchedulerTest, AnAnnouncementLeftByACrashIsReplayedOnceAndCleared) {
  const std::string scope = "000000000000/us-east-1";
  Ok("PutMetricAlarm", MetricAlarm("errors"));
  Put(10);
  scheduler().EvaluateDue(clock_.Now());
  ASSERT_EQ(Alarm("errors")["StateValue"], "ALARM");
  auto record = store_->Get(kAlarmTable, scope, "errors");
  ASSERT_TRUE(record.ok() && *record);
  EXPECT_FALSE((*record)->doc.contains("PendingAnnouncements")) << "delivered announcements are cleared";

  // The state was saved to OK with its announcement, then the process died before announcing.
  Document doc = (*record)->doc;
  Document before = doc["Alarm"];
  doc["Alarm"]["StateValue"] = "OK";
  doc["PendingAnnouncements"] = Document::array({{{"Id", "crashed-1"},
                                                  {"Before", before},
                                                  {"After", doc["Alarm"]},
                                                  {"Type", "MetricAlarm"},
                                                  {"Changed", true},
                                                  {"Suppressed", false},
                                                  {"Timestamp", Now()},
                                                  {"Depth", 0}}});
  ASSERT_TRUE(store_->Update(kAlarmTable, scope, "errors", doc, (*record)->version).ok());
  size_t events_before = events_.entries.size();
  scheduler().EvaluateDue(clock_.Now());
  scheduler().EvaluateDue(clock_.Now());
  Document updates = History("errors", "StateUpdate");
  int to_ok = 0;
  for (const auto& u : updates) to_ok += u["HistorySummary"] == "Alarm updated from ALARM to OK";
  EXPECT_EQ(to_ok, 1);
  ASSERT_EQ(events_.entries.size(), events_before + 1);
  EXPECT_EQ(Document::parse(events_.entries.back()["Detail"].get<std::string>())["state"]["value"], "OK");
  record = store_->Get(kAlarmTable, scope, "errors");
  EXPECT_FALSE((*record)->doc.contains("PendingAnnouncements"));
}

TEST_F(AlarmSchedulerTest, AStaleEvaluationDoesNotOverwriteANewerConfiguration) {
  const std::string scope = "000000000000/us-east-1";
  Ok("PutMetricAlarm", MetricAlarm("errors"));
  auto stale = store_->Get(kAlarmTable, scope, "errors");
  ASSERT_TRUE(stale.ok() && *stale);
  Document raised = MetricAlarm("errors");
  raised["Threshold"] = 100;
  Ok("PutMetricAlarm", raised);
  Put(10);
  // Evaluated as read before the update (threshold 5): the newer record (threshold 100) decides.
  ASSERT_TRUE(scheduler().EvaluateRecord(scope, **stale, clock_.Now()).ok());
  Document alarm = Alarm("errors");
  EXPECT_EQ(alarm["Threshold"], 100.0);
  EXPECT_EQ(alarm["StateValue"], "OK");
}

TEST_F(AlarmSchedulerTest, ConfigurationHistoryWritesTimestampsAsCloudWatchDoes) {
  Ok("PutMetricAlarm", MetricAlarm("errors"));
  Document items = History("errors", "ConfigurationUpdate");
  ASSERT_EQ(items.size(), 1u);
  Document created = Document::parse(items[0]["HistoryData"].get<std::string>())["createdAlarm"];
  for (const char* key : {"alarmConfigurationUpdatedTimestamp", "stateUpdatedTimestamp"}) {
    ASSERT_TRUE(created[key].is_string()) << key << ": " << created[key];
    EXPECT_EQ(created[key].get<std::string>(), AlarmTime(clock_.Now())) << key;
  }
}

TEST_F(AlarmSchedulerTest, NotifyMetricEvaluatesAtOnceAndDisabledActionsAreNotRun) {
  Ok("PutMetricAlarm", MetricAlarm("errors"));
  Ok("DisableAlarmActions", {{"AlarmNames", Document::array({"errors"})}});
  Put(10);
  scheduler().NotifyMetric("000000000000/us-east-1", "App", "Errors");
  EXPECT_EQ(Alarm("errors")["StateValue"], "ALARM");
  EXPECT_FALSE(Alarm("errors")["ActionsEnabled"].get<bool>());
  EXPECT_TRUE(History("errors", "Action").empty());
}

TEST_F(AlarmSchedulerTest, MissingDataTurnsToInsufficientDataOrBreaching) {
  Document input = MetricAlarm("quiet");
  Ok("PutMetricAlarm", input);
  input["AlarmName"] = "breach-when-quiet";
  input["TreatMissingData"] = "breaching";
  Ok("PutMetricAlarm", input);
  Put(1);
  scheduler().EvaluateDue(clock_.Now());
  EXPECT_EQ(Alarm("quiet")["StateValue"], "OK");
  EXPECT_EQ(Alarm("breach-when-quiet")["StateValue"], "OK");
  clock_.Advance(5min);  // past the evaluation range
  scheduler().EvaluateDue(clock_.Now());
  EXPECT_EQ(Alarm("quiet")["StateValue"], "INSUFFICIENT_DATA");
  EXPECT_EQ(Alarm("breach-when-quiet")["StateValue"], "ALARM");
}

TEST_F(AlarmSchedulerTest, SetAlarmStateAndCompositeRules) {
  Ok("PutMetricAlarm", MetricAlarm("a"));
  Ok("PutMetricAlarm", MetricAlarm("b"));
  Ok("PutCompositeAlarm", {{"AlarmName", "both"},
                           {"AlarmRule", "ALARM(a) AND ALARM(\"arn:aws:cloudwatch:us-east-1:000000000000:alarm:b\")"},
                           {"AlarmActions", Document::array({kTopic})}});
  EXPECT_EQ(Alarm("both", "CompositeAlarm")["StateValue"], "OK");
  Ok("SetAlarmState", {{"AlarmName", "a"}, {"StateValue", "ALARM"}, {"StateReason", "testing"}});
  EXPECT_EQ(Alarm("a")["StateReason"], "testing");
  EXPECT_EQ(Alarm("both", "CompositeAlarm")["StateValue"], "OK");
  Ok("SetAlarmState", {{"AlarmName", "b"}, {"StateValue", "ALARM"}, {"StateReason", "testing"}});
  Document both = Alarm("both", "CompositeAlarm");
  EXPECT_EQ(both["StateValue"], "ALARM");
  EXPECT_NE(both["StateReason"].get<std::string>().find("transitioned to ALARM"), std::string::npos);
  EXPECT_EQ(History("both", "Action").size(), 1u);

  Document children = Ok("DescribeAlarms", {{"ChildrenOfAlarmName", "both"}});
  EXPECT_EQ(children["MetricAlarms"].size(), 2u);
  Document parents = Ok("DescribeAlarms", {{"ParentsOfAlarmName", "a"}});
  ASSERT_EQ(parents["CompositeAlarms"].size(), 1u);
  EXPECT_EQ(parents["CompositeAlarms"][0]["AlarmName"], "both");
  // Without AlarmTypes only metric alarms are listed.
  EXPECT_TRUE(Ok("DescribeAlarms", Document::object())["CompositeAlarms"].empty());

  auto [code, message] = Error("DeleteAlarms", {{"AlarmNames", Document::array({"a"})}});
  EXPECT_EQ(code, "ValidationError");
  EXPECT_NE(message.find("composite alarm both"), std::string::npos) << message;
  Ok("DeleteAlarms", {{"AlarmNames", Document::array({"a", "both"})}});
  EXPECT_TRUE(Alarm("a").is_null());
  EXPECT_EQ(Error("DeleteAlarms", {{"AlarmNames", Document::array({"a"})}}).first, "ResourceNotFound");
}

TEST_F(AlarmSchedulerTest, AnAlarmsStateChangesAreAnnouncedInOrder) {
  const std::string scope = "000000000000/us-east-1";
  Ok("PutMetricAlarm", MetricAlarm("errors"));
  Ok("SetAlarmState", {{"AlarmName", "errors"}, {"StateValue", "ALARM"}, {"StateReason", "first"}});
  auto record = store_->Get(kAlarmTable, scope, "errors");
  ASSERT_TRUE(record.ok() && *record);
  // A change to OK is stored but not yet announced (a crash, or another thread still delivering).
  Document doc = (*record)->doc;
  Document before = doc["Alarm"];
  doc["Alarm"]["StateValue"] = "OK";
  doc["PendingAnnouncements"] = Document::array({{{"Id", "earlier-1"},
                                                  {"Before", before},
                                                  {"After", doc["Alarm"]},
                                                  {"Type", "MetricAlarm"},
                                                  {"Changed", true},
                                                  {"Suppressed", false},
                                                  {"Timestamp", Now()},
                                                  {"Depth", 0}}});
  ASSERT_TRUE(store_->Update(kAlarmTable, scope, "errors", doc, (*record)->version).ok());
  const size_t events_before = events_.entries.size();
  Ok("SetAlarmState", {{"AlarmName", "errors"}, {"StateValue", "ALARM"}, {"StateReason", "second"}});
  ASSERT_EQ(events_.entries.size(), events_before + 2);
  EXPECT_EQ(Document::parse(events_.entries[events_before]["Detail"].get<std::string>())["state"]["value"], "OK");
  EXPECT_EQ(Document::parse(events_.entries[events_before + 1]["Detail"].get<std::string>())["state"]["value"], "ALARM");
  record = store_->Get(kAlarmTable, scope, "errors");
  EXPECT_FALSE((*record)->doc.contains("PendingAnnouncements"));
}

// Sets an alarm's stored state directly, as a concurrent change whose own follow-up already ran.
void SetStoredState(store::Store& store, const std::string& name, const std::string& state) {
  const std::string scope = "000000000000/us-east-1";
  auto record = store.Get(kAlarmTable, scope, name);
  ASSERT_TRUE(record.ok() && *record);
  Document doc = (*record)->doc;
  doc["Alarm"]["StateValue"] = state;
  ASSERT_TRUE(store.Update(kAlarmTable, scope, name, doc, (*record)->version).ok());
}

TEST_F(AlarmSchedulerTest, SetAlarmStateAppliesWhenAnEvaluationWritesMeanwhile) {
  Ok("PutMetricAlarm", MetricAlarm("a"));
  InterleavingStore interleaving(*store_);
  CloudWatchDeps deps = service_->deps();
  deps.store = &interleaving;
  AlarmScheduler isolated(deps);
  interleaving.key = "a";
  interleaving.before_update = [&] { SetStoredState(*store_, "a", "OK"); };
  ASSERT_TRUE(isolated.ChangeState("000000000000/us-east-1", "a", AlarmState::kAlarm, "testing", std::nullopt,
                                   clock_.Now())
                  .ok());
  EXPECT_EQ(Alarm("a")["StateValue"], "ALARM");
  EXPECT_EQ(Alarm("a")["StateReason"], "testing");
}

TEST_F(AlarmSchedulerTest, ACompositeIsReevaluatedWhenAChildChangedDuringItsEvaluation) {
  Ok("PutMetricAlarm", MetricAlarm("a"));
  Ok("PutCompositeAlarm", {{"AlarmName", "parent"}, {"AlarmRule", "ALARM(a)"}});
  ASSERT_EQ(Alarm("parent", "CompositeAlarm")["StateValue"], "OK");
  SetStoredState(*store_, "a", "ALARM");
  const size_t updates = History("parent", "StateUpdate").size();
  InterleavingStore interleaving(*store_);
  CloudWatchDeps deps = service_->deps();
  deps.store = &interleaving;
  AlarmScheduler isolated(deps);
  // The child returns to OK after the composite read it, before the composite's write.
  interleaving.key = "parent";
  interleaving.before_update = [&] { SetStoredState(*store_, "a", "OK"); };
  ASSERT_TRUE(isolated.EvaluateAlarm("000000000000/us-east-1", "parent", clock_.Now()).ok());
  EXPECT_EQ(Alarm("parent", "CompositeAlarm")["StateValue"], "OK");
  EXPECT_EQ(History("parent", "StateUpdate").size(), updates + 2);  // to ALARM, then back to OK
}

TEST_F(AlarmSchedulerTest, ActionsSuppressorHoldsCompositeActions) {
  Ok("PutMetricAlarm", MetricAlarm("child"));
  Document maintenance = MetricAlarm("maintenance");
  maintenance["Threshold"] = 100;
  Ok("PutMetricAlarm", maintenance);
  Ok("PutCompositeAlarm", {{"AlarmName", "parent"},
                           {"AlarmRule", "ALARM(child)"},
                           {"AlarmActions", Document::array({kTopic})},
                           {"ActionsSuppressor", "arn:aws:cloudwatch:us-east-1:000000000000:alarm:maintenance"},
                           {"ActionsSuppressorWaitPeriod", 60},
                           {"ActionsSuppressorExtensionPeriod", 60}});
  Ok("SetAlarmState", {{"AlarmName", "maintenance"}, {"StateValue", "ALARM"}, {"StateReason", "window"}});
  Ok("SetAlarmState", {{"AlarmName", "child"}, {"StateValue", "ALARM"}, {"StateReason", "broken"}});
  Document parent = Alarm("parent", "CompositeAlarm");
  EXPECT_EQ(parent["StateValue"], "ALARM");
  EXPECT_EQ(parent["ActionsSuppressedBy"], "Alarm");
  EXPECT_TRUE(History("parent", "Action").empty());

  // Not suppressed now: the wait period passes without the suppressor alarming, then actions run.
  Ok("SetAlarmState", {{"AlarmName", "child"}, {"StateValue", "OK"}, {"StateReason", "fixed"}});
  clock_.Advance(2min);
  Ok("SetAlarmState", {{"AlarmName", "maintenance"}, {"StateValue", "OK"}, {"StateReason", "over"}});
  clock_.Advance(2min);
  Put(10);  // the evaluations below keep child in ALARM and maintenance in OK
  Ok("SetAlarmState", {{"AlarmName", "child"}, {"StateValue", "ALARM"}, {"StateReason", "broken again"}});
  EXPECT_EQ(Alarm("parent", "CompositeAlarm")["ActionsSuppressedBy"], "WaitPeriod");
  clock_.Advance(61s);
  scheduler().EvaluateDue(clock_.Now());
  EXPECT_FALSE(Alarm("parent", "CompositeAlarm").contains("ActionsSuppressedBy"));
  EXPECT_EQ(History("parent", "Action").size(), 1u);
}

TEST_F(AlarmSchedulerTest, ValidationErrors) {
  Document input = MetricAlarm("x");
  input["AlarmActions"] = Document::array({"arn:aws:s3:::bucket"});
  EXPECT_EQ(Error("PutMetricAlarm", input),
            std::make_pair(std::string("ValidationError"), std::string("Invalid alarm action: arn:aws:s3:::bucket")));
  input = MetricAlarm("x");
  input["DatapointsToAlarm"] = 2;
  EXPECT_EQ(Error("PutMetricAlarm", input).first, "ValidationError");
  input = MetricAlarm("x");
  input["Period"] = 45;
  EXPECT_EQ(Error("PutMetricAlarm", input).second, "The parameter Period must be 10, 30 or a multiple of 60.");
  input = MetricAlarm("x");
  input["AlarmActions"] = Document::array({"arn:aws:automate:us-east-1:ec2:stop"});
  Ok("PutMetricAlarm", input);
  EXPECT_EQ(Error("PutCompositeAlarm", {{"AlarmName", "c"}, {"AlarmRule", "ALARM(nope)"}}).second,
            "Could not save the composite alarm as alarms [nope] in the alarm rule do not exist");
  EXPECT_EQ(Error("PutCompositeAlarm", {{"AlarmName", "c"}, {"AlarmRule", "ALARM(x) OR"}}).second,
            "Invalid AlarmRule: unexpected end of rule at position 12.");
  Ok("PutCompositeAlarm", {{"AlarmName", "c"}, {"AlarmRule", "ALARM(x)"}});
  Ok("PutCompositeAlarm", {{"AlarmName", "d"}, {"AlarmRule", "ALARM(c)"}});
  EXPECT_EQ(Error("PutCompositeAlarm", {{"AlarmName", "c"}, {"AlarmRule", "ALARM(d)"}}).first, "ValidationError");
  EXPECT_EQ(Error("PutCompositeAlarm", {{"AlarmName", "e"},
                                        {"AlarmRule", "TRUE"},
                                        {"AlarmActions", Document::array({"arn:aws:automate:us-east-1:ec2:stop"})}})
                .first,
            "ValidationError");
}

TEST_F(AlarmSchedulerTest, TagsPaginationAndHistoryOrder) {
  for (const char* name : {"a1", "a2", "a3"}) Ok("PutMetricAlarm", MetricAlarm(name));
  Document first = Ok("DescribeAlarms", {{"MaxRecords", 2}});
  ASSERT_EQ(first["MetricAlarms"].size(), 2u);
  ASSERT_TRUE(first.contains("NextToken"));
  Document second = Ok("DescribeAlarms", {{"MaxRecords", 2}, {"NextToken", first["NextToken"]}});
  ASSERT_EQ(second["MetricAlarms"].size(), 1u);
  EXPECT_EQ(second["MetricAlarms"][0]["AlarmName"], "a3");
  EXPECT_EQ(Ok("DescribeAlarms", {{"AlarmNamePrefix", "a2"}})["MetricAlarms"].size(), 1u);
  EXPECT_EQ(Ok("DescribeAlarms", {{"ActionPrefix", "arn:aws:sns:"}})["MetricAlarms"].size(), 3u);
  EXPECT_EQ(Ok("DescribeAlarms", {{"StateValue", "ALARM"}})["MetricAlarms"].size(), 0u);
  EXPECT_EQ(Ok("DescribeAlarmsForMetric", {{"Namespace", "App"}, {"MetricName", "Errors"}})["MetricAlarms"].size(), 3u);

  const std::string arn = "arn:aws:cloudwatch:us-east-1:000000000000:alarm:a1";
  Ok("TagResource", {{"ResourceARN", arn}, {"Tags", Document::array({{{"Key", "team"}, {"Value", "ops"}}})}});
  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceARN", arn}})["Tags"][0]["Value"], "ops");
  Ok("UntagResource", {{"ResourceARN", arn}, {"TagKeys", Document::array({"team"})}});
  EXPECT_TRUE(Ok("ListTagsForResource", {{"ResourceARN", arn}})["Tags"].empty());
  EXPECT_EQ(Error("ListTagsForResource", {{"ResourceARN", arn + "x"}}).first, "ResourceNotFoundException");

  Document descending = Ok("DescribeAlarmHistory", Document::object())["AlarmHistoryItems"];
  ASSERT_EQ(descending.size(), 3u);
  EXPECT_EQ(descending[0]["AlarmName"], "a3");
  EXPECT_EQ(descending[0]["HistorySummary"], "Alarm \"a3\" created");
  Document ascending =
      Ok("DescribeAlarmHistory", {{"ScanBy", "TimestampAscending"}, {"MaxRecords", 2}});
  ASSERT_EQ(ascending["AlarmHistoryItems"].size(), 2u);
  EXPECT_EQ(ascending["AlarmHistoryItems"][0]["AlarmName"], "a1");
  Document rest = Ok("DescribeAlarmHistory",
                     {{"ScanBy", "TimestampAscending"}, {"MaxRecords", 2}, {"NextToken", ascending["NextToken"]}});
  ASSERT_EQ(rest["AlarmHistoryItems"].size(), 1u);
  EXPECT_EQ(rest["AlarmHistoryItems"][0]["AlarmName"], "a3");
}

TEST_F(AlarmSchedulerTest, StateSurvivesARestart) {
  Ok("PutMetricAlarm", MetricAlarm("errors"));
  Put(10);
  scheduler().EvaluateDue(clock_.Now());
  Close();
  Open();
  EXPECT_EQ(Alarm("errors")["StateValue"], "ALARM");
  scheduler().EvaluateDue(clock_.Now());
  EXPECT_EQ(History("errors", "StateUpdate").size(), 1u);
}

}  // namespace
}  // namespace gantry::services::cloudwatch
