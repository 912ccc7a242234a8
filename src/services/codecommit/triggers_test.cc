#include "services/codecommit/triggers.h"

#include <gtest/gtest.h>

#include <mutex>

#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"
#include "services/codecommit/codecommit_service.h"

namespace gantry::services::codecommit {
namespace {

// Stands in for EventBridge: records the principal and entry of every PutEvents.
class RecordingClient final : public aws::Client {
 public:
  StatusOr<Document> Call(const aws::Principal& principal, std::string_view, std::string_view, const Document& input,
                          std::string_view) override {
    std::lock_guard lock(mu);
    for (const auto& entry : input["Entries"]) calls.emplace_back(principal.account_id, entry);
    return Document{{"FailedEntryCount", 0}, {"Entries", {{{"EventId", "e"}}}}};
  }
  std::mutex mu;
  std::vector<std::pair<std::string, Document>> calls;  // (principal account, entry)
};

class TriggersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteStoreOptions options;
    options.clock = &clock_;
    auto opened = store::OpenSqliteStore(dir_.File("gantry.db"), options);
    ASSERT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    deps_.store = store_.get();
    deps_.clock = &clock_;
    deps_.ids = &ids_;
    deps_.client = &events_;
    deps_.repos_root = dir_.File("codecommit/repos");
    deps_.work_dir = dir_.File("codecommit");
  }

  static Document Trigger(const std::string& name, const std::string& destination) {
    return {{"name", name}, {"destinationArn", destination}, {"branches", Document::array()}, {"events", {"all"}}};
  }

  store::testing::ScratchDirectory dir_;
  FakeClock clock_;
  SequentialIdSource ids_;
  std::unique_ptr<store::Store> store_;
  RecordingClient events_;
  CodeCommitDeps deps_;
  Document repository_ = {{"repositoryId", "r-1"},
                          {"repositoryName", "demo"},
                          {"accountId", "000000000000"},
                          {"region", "us-east-1"},
                          {"arn", "arn:aws:codecommit:us-east-1:000000000000:demo"},
                          {"triggersConfigurationId", "c-1"}};
  std::vector<ReferenceChange> changes_ = {{"refs/heads/main", std::string(40, 'a'), ""}};
};

// Another account's bus would receive events its policies never admitted: not delivered.
TEST_F(TriggersTest, BusOfAnotherAccountIsRefused) {
  Status delivered =
      DeliverTrigger(deps_, repository_, Trigger("t", "arn:aws:events:us-east-1:111111111111:event-bus/x"), changes_,
                     "arn:aws:iam::000000000000:root", /*test=*/false);
  EXPECT_EQ(delivered.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(delivered.message().find("in account 111111111111"), std::string::npos) << delivered.message();
  EXPECT_TRUE(events_.calls.empty());

  ASSERT_TRUE(DeliverTrigger(deps_, repository_,
                             Trigger("t", "arn:aws:events:us-east-1:000000000000:event-bus/default"), changes_,
                             "arn:aws:iam::000000000000:root", /*test=*/false)
                  .ok());
  ASSERT_EQ(events_.calls.size(), 1u);
  EXPECT_EQ(events_.calls[0].first, "000000000000");
}

// A ref name that is not UTF-8 reaches the trigger's record with U+FFFD in its place.
TEST_F(TriggersTest, RefNameThatIsNotUtf8) {
  std::vector<ReferenceChange> changes = {{"refs/heads/caf\xe9", std::string(40, 'a'), ""}};
  ASSERT_TRUE(DeliverTrigger(deps_, repository_,
                             Trigger("t", "arn:aws:events:us-east-1:000000000000:event-bus/default"), changes,
                             "arn:aws:iam::000000000000:root", /*test=*/false)
                  .ok());
  ASSERT_EQ(events_.calls.size(), 1u);
  Document record = Document::parse(events_.calls[0].second["Detail"].get<std::string>());
  EXPECT_EQ(record["codecommit"]["references"][0]["ref"], "refs/heads/caf\xef\xbf\xbd");
}

// The last outcome of every fired trigger is shown at /_gantry/codecommit/trigger-deliveries.
TEST_F(TriggersTest, DeliveryOutcomesAreShownInTheAdminView) {
  repository_["triggers"] = {Trigger("to-bus", "arn:aws:events:us-east-1:000000000000:event-bus/default"),
                             Trigger("to-sns", "arn:aws:sns:us-east-1:000000000000:topic"),
                             Trigger("elsewhere", "arn:aws:events:us-east-1:111111111111:event-bus/default")};
  FireTriggers(deps_, repository_, changes_, "arn:aws:iam::000000000000:root");

  CodeCommitService service(deps_);
  http::Request request;
  request.method = "GET";
  request.target = "/_gantry/codecommit/trigger-deliveries";
  http::SplitTarget(request.target, request.path, request.query);
  http::Response response;
  ASSERT_TRUE(service.ServeAdmin("trigger-deliveries", request, "000000000000", "us-east-1", response));
  EXPECT_EQ(response.status, 200);
  Document deliveries = Document::parse(response.body)["TriggerDeliveries"];
  ASSERT_EQ(deliveries.size(), 3u);
  std::map<std::string, Document> by_name;
  for (const auto& d : deliveries) by_name[d["trigger"].get<std::string>()] = d;
  EXPECT_TRUE(by_name["to-bus"]["delivered"].get<bool>());
  EXPECT_EQ(by_name["to-bus"]["repositoryName"], "demo");
  EXPECT_EQ(by_name["to-bus"]["eventName"], "ReferenceChanges");
  EXPECT_FALSE(by_name["to-sns"]["delivered"].get<bool>());
  EXPECT_NE(by_name["to-sns"]["failureMessage"].get<std::string>().find("no SNS or Lambda"), std::string::npos);
  EXPECT_FALSE(by_name["elsewhere"]["delivered"].get<bool>());

  http::Request other = request;
  other.query = "region=eu-west-1";
  http::Response empty;
  ASSERT_TRUE(service.ServeAdmin("trigger-deliveries", other, "000000000000", "us-east-1", empty));
  EXPECT_EQ(Document::parse(empty.body)["TriggerDeliveries"], Document::array());
  EXPECT_FALSE(service.ServeAdmin("other", request, "000000000000", "us-east-1", empty));
}

}  // namespace
// PutRepositoryTriggers and TestRepositoryTriggers refuse an event bus of another account.
TEST_F(TriggersTest, ABusOfAnotherAccountIsNotAValidDestination) {
  Document triggers = Document::array({Trigger("elsewhere", "arn:aws:events:us-east-1:111111111111:event-bus/default")});
  Status refused = ValidateTriggers(triggers, "000000000000", "us-east-1");
  EXPECT_EQ(refused.aws_code(), "InvalidRepositoryTriggerDestinationArnException");
  EXPECT_NE(refused.message().find("must be in the repository's account 000000000000"), std::string::npos);
  Document own = Document::array({Trigger("own", "arn:aws:events:us-east-1:000000000000:event-bus/default")});
  EXPECT_TRUE(ValidateTriggers(own, "000000000000", "us-east-1").ok());
}

}  // namespace gantry::services::codecommit
