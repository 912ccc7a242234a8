// Pull requests, approvals, approval rules and templates, comments and merges through the model's
// operations, on real repositories whose commits the tests write with libgit2. EventBridge events
// are captured by a recording in-process client.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "core/common/strings.h"
#include "services/codecommit/codecommit_service.h"
#include "services/codecommit/pull_requests.h"
#include "services/codecommit/records.h"
#include "test_support/service_test.h"

namespace gantry::services::codecommit {
namespace {

constexpr char kAccount[] = "000000000000";
constexpr char kRegion[] = "us-east-1";
constexpr char kRootArn[] = "arn:aws:iam::000000000000:root";
constexpr char kReviewerArn[] = "arn:aws:iam::000000000000:user/reviewer";

using Files = std::map<std::string, std::string>;
using ErrorPair = std::pair<std::string, std::string>;

// Captures the events CodeCommit puts on the bus.
class RecordingClient final : public aws::Client {
 public:
  StatusOr<Document> Call(const aws::Principal& principal, std::string_view service, std::string_view operation,
                          const Document& input, std::string_view region) override {
    std::lock_guard lock(mu_);
    if (service == "events" && operation == "PutEvents") {
      for (const Document& entry : input["Entries"]) events_.push_back(entry);
    }
    return Document{{"FailedEntryCount", 0}, {"Entries", Document::array({{{"EventId", "e"}}})}};
  }

  // The details of the events of one detail-type, oldest first.
  std::vector<Document> Details(const std::string& detail_type) {
    std::lock_guard lock(mu_);
    std::vector<Document> out;
    for (const Document& e : events_) {
      if (e["DetailType"] == detail_type) out.push_back(Document::parse(e["Detail"].get<std::string>()));
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<Document> events_;
};

// Stands in for IAM: the check before the handler allows (IAM leaves the operations naming only a
// pull request or a comment to their handlers), and every check a handler makes is recorded and
// refused on the resources in denied.
class RecordingAuthorizer final : public aws::Authorizer {
 public:
  Status Authorize(const aws::RequestContext&, const Document&) override { return Status::Ok(); }
  Status AuthorizeAction(const aws::RequestContext& ctx, std::string_view action, std::string_view resource) override {
    checks.emplace_back(action, resource);
    if (!denied.contains(std::string(resource))) return Status::Ok();
    return Status::PermissionDenied("User: " + ctx.principal.arn + " is not authorized to perform: " +
                                        std::string(action) + " on resource: " + std::string(resource),
                                    "AccessDeniedException");
  }
  std::vector<std::pair<std::string, std::string>> checks;
  std::set<std::string> denied;
};

// The service's clock, which runs an armed action (once) when it is next read: a merge reads it
// for its commit's time after reading the branches and before moving one, so the action stands in
// for a push arriving while the merge runs.
class InterruptingClock final : public Clock {
 public:
  explicit InterruptingClock(const Clock* clock) : clock_(clock) {}
  TimePoint Now() const override {
    if (armed) {
      std::function<void()> action = std::move(armed);
      armed = nullptr;
      action();
    }
    return clock_->Now();
  }
  mutable std::function<void()> armed;

 private:
  const Clock* clock_;
};

class PullRequestTest : public test_support::ServiceTest<CodeCommitService> {
 protected:
  PullRequestTest() : ServiceTest("codecommit", kAccount, kRegion) {}

  std::unique_ptr<CodeCommitService> MakeService() override {
    CodeCommitDeps deps;
    deps.store = store_.get();
    deps.clock = &service_clock_;
    deps.ids = &ids_;
    deps.client = &client_;
    deps.repos_root = dir_.File("codecommit/repos");
    deps.account_id = kAccount;
    deps.region = kRegion;
    deps.endpoint = [] { return std::string("http://127.0.0.1:4566"); };
    return std::make_unique<CodeCommitService>(deps);
  }

  void SetUp() override {
    ServiceTest::SetUp();
    repository_id_ = Ok("CreateRepository", {{"repositoryName", "app"}})["repositoryMetadata"]["repositoryId"];
    main_ = CommitOn("main", {{"README.md", "hello\n"}, {"n.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"}}, "initial");
  }

  aws::Principal Reviewer() {
    aws::Principal p;
    p.account_id = kAccount;
    p.arn = kReviewerArn;
    p.user_id = "AIDAREVIEWER";
    p.access_key_id = "AKIAREVIEWER";
    return p;
  }

  Document OkAs(const aws::Principal& principal, const std::string& operation, const Document& input) {
    auto result = Call(operation, input, &principal);
    EXPECT_TRUE(result.ok()) << operation << ": " << result.status().ToString();
    return result.ok() ? *result : Document();
  }

  ErrorPair ErrorAs(const aws::Principal& principal, const std::string& operation, const Document& input) {
    auto result = Call(operation, input, &principal);
    EXPECT_FALSE(result.ok()) << operation << " succeeded";
    return result.ok() ? ErrorPair() : ErrorPair{result.status().aws_code(), result.status().message()};
  }

  git::Repository Repo() {
    auto repo = git::Open(dir_.File("codecommit/repos/") + repository_id_);
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return std::move(repo).value();
  }

  // Commits the whole file set on branch (parent: the branch's tip, else from's tip) and moves it.
  std::string CommitOn(const std::string& branch, const Files& files, const std::string& message,
                       const std::string& from = "") {
    git::Repository repo = Repo();
    git_index* raw_index = nullptr;
    EXPECT_EQ(git_index_new(&raw_index), 0);
    git::Index index(raw_index);
    for (const auto& [path, content] : files) {
      git_oid blob;
      EXPECT_EQ(git_blob_create_from_buffer(&blob, repo.get(), content.data(), content.size()), 0);
      git_index_entry entry{};
      entry.path = path.c_str();
      entry.mode = GIT_FILEMODE_BLOB;
      entry.id = blob;
      EXPECT_EQ(git_index_add(index.get(), &entry), 0);
    }
    git_oid tree_id;
    EXPECT_EQ(git_index_write_tree_to(&tree_id, index.get(), repo.get()), 0);
    git_tree* raw_tree = nullptr;
    EXPECT_EQ(git_tree_lookup(&raw_tree, repo.get(), &tree_id), 0);
    git::Tree tree(raw_tree);
    std::vector<git::Commit> parents;
    std::vector<const git_commit*> parent_ptrs;
    for (const std::string& ref : {"refs/heads/" + branch, "refs/heads/" + from}) {
      git_oid tip;
      if (ref == "refs/heads/" || git_reference_name_to_id(&tip, repo.get(), ref.c_str()) != 0) continue;
      git_commit* raw = nullptr;
      EXPECT_EQ(git_commit_lookup(&raw, repo.get(), &tip), 0);
      parents.emplace_back(raw);
      parent_ptrs.push_back(raw);
      break;
    }
    git_signature* raw_sig = nullptr;
    EXPECT_EQ(git_signature_new(&raw_sig, "Dev", "dev@example.com", 1700000000 + (commits_++), 0), 0);
    git::Signature sig(raw_sig);
    git_oid id;
    EXPECT_EQ(git_commit_create(&id, repo.get(), ("refs/heads/" + branch).c_str(), sig.get(), sig.get(), nullptr,
                                message.c_str(), tree.get(), parent_ptrs.size(), parent_ptrs.data()),
              0);
    return git::OidHex(id);
  }

  std::string Tip(const std::string& branch) {
    git::Repository repo = Repo();
    git_oid tip;
    if (git_reference_name_to_id(&tip, repo.get(), ("refs/heads/" + branch).c_str()) != 0) return "";
    return git::OidHex(tip);
  }

  std::string FileAt(const std::string& commit_hex, const std::string& path) {
    git::Repository repo = Repo();
    git_oid oid;
    git::ParseOid(commit_hex, oid);
    git_commit* raw = nullptr;
    EXPECT_EQ(git_commit_lookup(&raw, repo.get(), &oid), 0);
    git::Commit commit(raw);
    git_tree* raw_tree = nullptr;
    git_commit_tree(&raw_tree, commit.get());
    git::Tree tree(raw_tree);
    git_tree_entry* raw_entry = nullptr;
    if (git_tree_entry_bypath(&raw_entry, tree.get(), path.c_str()) != 0) return "<absent>";
    git::TreeEntry entry(raw_entry);
    git_blob* raw_blob = nullptr;
    git_blob_lookup(&raw_blob, repo.get(), git_tree_entry_id(entry.get()));
    git::Blob blob(raw_blob);
    return std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())), git_blob_rawsize(blob.get()));
  }

  unsigned ParentCount(const std::string& commit_hex) {
    git::Repository repo = Repo();
    git_oid oid;
    git::ParseOid(commit_hex, oid);
    git_commit* raw = nullptr;
    EXPECT_EQ(git_commit_lookup(&raw, repo.get(), &oid), 0);
    git::Commit commit(raw);
    return git_commit_parentcount(commit.get());
  }

  Document Create(const std::string& source, const std::string& destination = "main",
                  const std::string& title = "feature") {
    return Ok("CreatePullRequest", {{"title", title},
                                    {"targets", {{{"repositoryName", "app"},
                                                  {"sourceReference", source},
                                                  {"destinationReference", destination}}}}})["pullRequest"];
  }

  // A feature branch one commit ahead of main (fast-forwardable), with an open pull request.
  Document FeaturePullRequest() {
    CommitOn("feature", {{"README.md", "hello\n"}, {"n.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"}, {"new.txt", "new\n"}},
             "add new.txt", "main");
    return Create("feature");
  }

  std::vector<std::string> EventTypes(const std::string& id) {
    std::vector<std::string> out;
    Document events = Ok("DescribePullRequestEvents", {{"pullRequestId", id}})["pullRequestEvents"];
    for (const Document& e : events) out.push_back(e["pullRequestEventType"]);
    return out;
  }

  RecordingClient client_;
  InterruptingClock service_clock_{&clock_};
  std::string repository_id_;
  std::string main_;
  int commits_ = 0;
};

const char kOneApprover[] =
    R"({"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1,"ApprovalPoolMembers":["CodeCommitApprovers:000000000000:reviewer"]}]})";

// --- Pull requests --------------------------------------------------------------------------------

TEST_F(PullRequestTest, CreateGetAndDescribe) {
  std::string feature = CommitOn("feature", {{"README.md", "hello\n"}, {"f.txt", "f\n"}}, "feature", "main");
  Document pr = Ok("CreatePullRequest", {{"title", "Add f"},
                                         {"description", "adds f"},
                                         {"targets", {{{"repositoryName", "app"}, {"sourceReference", "feature"},
                                                       {"destinationReference", "refs/heads/main"}}}}})["pullRequest"];
  EXPECT_EQ(pr["pullRequestId"], "1");
  EXPECT_EQ(pr["title"], "Add f");
  EXPECT_EQ(pr["description"], "adds f");
  EXPECT_EQ(pr["pullRequestStatus"], "OPEN");
  EXPECT_EQ(pr["authorArn"], kRootArn);
  EXPECT_EQ(pr["creationDate"], 1700000000.0);
  EXPECT_EQ(pr["revisionId"].get<std::string>().size(), 64u);
  const Document& target = pr["pullRequestTargets"][0];
  EXPECT_EQ(target["repositoryName"], "app");
  EXPECT_EQ(target["sourceReference"], "refs/heads/feature");
  EXPECT_EQ(target["destinationReference"], "refs/heads/main");
  EXPECT_EQ(target["sourceCommit"], feature);
  EXPECT_EQ(target["destinationCommit"], main_);
  EXPECT_EQ(target["mergeBase"], main_);
  EXPECT_EQ(target["mergeMetadata"], (Document{{"isMerged", false}}));
  EXPECT_EQ(pr["approvalRules"], Document::array());

  EXPECT_EQ(Ok("GetPullRequest", {{"pullRequestId", "1"}})["pullRequest"], pr);
  EXPECT_EQ(Create("feature", "main", "second")["pullRequestId"], "2");

  Document events = Ok("DescribePullRequestEvents", {{"pullRequestId", "1"}})["pullRequestEvents"];
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["pullRequestEventType"], "PULL_REQUEST_CREATED");
  EXPECT_EQ(events[0]["actorArn"], kRootArn);
  EXPECT_EQ(events[0]["pullRequestCreatedEventMetadata"]["sourceCommitId"], feature);

  std::vector<Document> published = client_.Details("CodeCommit Pull Request State Change");
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0]["event"], "pullRequestCreated");
  EXPECT_EQ(published[0]["pullRequestId"], "1");
  EXPECT_EQ(published[0]["pullRequestStatus"], "Open");
  EXPECT_EQ(published[0]["isMerged"], "False");
  EXPECT_EQ(published[0]["repositoryNames"], Document::array({"app"}));
  EXPECT_EQ(published[0]["sourceReference"], "refs/heads/feature");
  EXPECT_EQ(published[0]["creationDate"], "Tue Nov 14 22:13:20 UTC 2023");
  EXPECT_EQ(published[0]["revisionId"], pr["revisionId"]);
}

TEST_F(PullRequestTest, CreateErrors) {
  CommitOn("feature", {{"f.txt", "f\n"}}, "feature", "main");
  auto create = [&](const Document& target, const std::string& title = "t") {
    return Error("CreatePullRequest", {{"title", title}, {"targets", {target}}});
  };
  EXPECT_EQ(create({{"repositoryName", "nope"}, {"sourceReference", "feature"}}),
            (ErrorPair{"RepositoryDoesNotExistException", "nope does not exist"}));
  EXPECT_EQ(create({{"repositoryName", "app"}, {"sourceReference", "missing"}, {"destinationReference", "main"}}),
            (ErrorPair{"ReferenceDoesNotExistException",
                       "The reference refs/heads/missing does not exist in repository app."}));
  EXPECT_EQ(create({{"repositoryName", "app"}, {"sourceReference", "main"}, {"destinationReference", "refs/heads/main"}})
                .first,
            "SourceAndDestinationAreSameException");
  EXPECT_EQ(create({{"repositoryName", "app"}, {"sourceReference", "refs/tags/v1"}, {"destinationReference", "main"}})
                .first,
            "ReferenceTypeNotSupportedException");
  EXPECT_EQ(create({{"repositoryName", "app"}, {"sourceReference", "bad..name"}, {"destinationReference", "main"}}).first,
            "InvalidReferenceNameException");
  EXPECT_EQ(create({{"repositoryName", "app"}, {"sourceReference", "feature"}, {"destinationReference", "main"}}, " ").first,
            "TitleRequiredException");
  Document target = {{"repositoryName", "app"}, {"sourceReference", "feature"}, {"destinationReference", "main"}};
  EXPECT_EQ(Error("CreatePullRequest", {{"title", "t"}, {"targets", {target, target}}}).first,
            "MultipleRepositoriesInPullRequestException");
  EXPECT_EQ(Error("CreatePullRequest", {{"title", "t"}, {"targets", Document::array()}}).first,
            "TargetsRequiredException");
  EXPECT_EQ(Error("GetPullRequest", {{"pullRequestId", "42"}}).first, "PullRequestDoesNotExistException");
  EXPECT_EQ(Error("GetPullRequest", {{"pullRequestId", "x1"}}).first, "InvalidPullRequestIdException");
}

TEST_F(PullRequestTest, IdsThatDoNotFitAreInvalid) {
  EXPECT_EQ(Error("GetPullRequest", {{"pullRequestId", "9223372036854775807"}}).first, "PullRequestDoesNotExistException");
  for (const char* id : {"9223372036854775808", "9999999999999999999", "99999999999999999999999", "-1", "+1", "1 "}) {
    EXPECT_EQ(Error("GetPullRequest", {{"pullRequestId", id}}).first, "InvalidPullRequestIdException") << id;
    EXPECT_EQ(Error("GetCommentsForPullRequest", {{"pullRequestId", id}}).first, "InvalidPullRequestIdException") << id;
  }
}

TEST_F(PullRequestTest, ASourceAlreadyInTheDestinationIsMergedByTheAuthorAtCreation) {
  Ok("CreateBranch", {{"repositoryName", "app"}, {"branchName", "stale"}, {"commitId", main_}});
  CommitOn("main", {{"README.md", "hello\n"}, {"later.txt", "later\n"}}, "later");
  Document pr = OkAs(Reviewer(), "CreatePullRequest",
                     {{"title", "nothing to merge"},
                      {"targets", {{{"repositoryName", "app"}, {"sourceReference", "stale"},
                                    {"destinationReference", "main"}}}}})["pullRequest"];
  EXPECT_EQ(pr["pullRequestStatus"], "CLOSED");
  EXPECT_EQ(pr["pullRequestTargets"][0]["mergeMetadata"], (Document{{"isMerged", true}, {"mergedBy", kReviewerArn}}));
  // Whoever reads it later, it was merged by its author.
  EXPECT_EQ(Ok("GetPullRequest", {{"pullRequestId", "1"}})["pullRequest"], pr);
  EXPECT_EQ(EventTypes("1"), (std::vector<std::string>{"PULL_REQUEST_CREATED", "PULL_REQUEST_MERGE_STATE_CHANGED",
                                                        "PULL_REQUEST_STATUS_CHANGED"}));
  std::vector<Document> published = client_.Details("CodeCommit Pull Request State Change");
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0]["event"], "pullRequestCreated");
  EXPECT_EQ(published[1]["event"], "pullRequestMergeStatusUpdated");
  EXPECT_EQ(published[1]["isMerged"], "True");
  EXPECT_EQ(published[1]["callerUserArn"], kReviewerArn);
  // The same branch as both tips is contained too.
  Ok("CreateBranch", {{"repositoryName", "app"}, {"branchName", "same"}, {"commitId", Tip("main")}});
  EXPECT_EQ(Create("same")["pullRequestStatus"], "CLOSED");
}

TEST_F(PullRequestTest, OperationsNamingOnlyAPullRequestOrCommentAreAuthorizedOnItsRepository) {
  Document pr = FeaturePullRequest();
  const std::string revision = pr["revisionId"];
  const Document& target = pr["pullRequestTargets"][0];
  const std::string comment = Ok("PostCommentForPullRequest", {{"pullRequestId", "1"},
                                                               {"repositoryName", "app"},
                                                               {"beforeCommitId", target["destinationCommit"]},
                                                               {"afterCommitId", target["sourceCommit"]},
                                                               {"content", "first"}})["comment"]["commentId"];
  const std::string app = "arn:aws:codecommit:us-east-1:000000000000:app";
  struct Operation {
    std::string name;
    Document input;
    bool as_reviewer = false;
  };
  const std::vector<Operation> operations = {
      {"GetPullRequest", {{"pullRequestId", "1"}}},
      {"DescribePullRequestEvents", {{"pullRequestId", "1"}}},
      {"GetPullRequestApprovalStates", {{"pullRequestId", "1"}, {"revisionId", revision}}},
      {"EvaluatePullRequestApprovalRules", {{"pullRequestId", "1"}, {"revisionId", revision}}},
      {"GetPullRequestOverrideState", {{"pullRequestId", "1"}, {"revisionId", revision}}},
      {"UpdatePullRequestApprovalState", {{"pullRequestId", "1"}, {"revisionId", revision}, {"approvalState", "APPROVE"}}, true},
      {"OverridePullRequestApprovalRules", {{"pullRequestId", "1"}, {"revisionId", revision}, {"overrideStatus", "OVERRIDE"}}},
      {"CreatePullRequestApprovalRule", {{"pullRequestId", "1"}, {"approvalRuleName", "one"}, {"approvalRuleContent", kOneApprover}}},
      {"UpdatePullRequestApprovalRuleContent", {{"pullRequestId", "1"}, {"approvalRuleName", "one"}, {"newRuleContent", kOneApprover}}},
      {"DeletePullRequestApprovalRule", {{"pullRequestId", "1"}, {"approvalRuleName", "one"}}},
      {"UpdatePullRequestTitle", {{"pullRequestId", "1"}, {"title", "retitled"}}},
      {"UpdatePullRequestDescription", {{"pullRequestId", "1"}, {"description", "described"}}},
      {"GetCommentsForPullRequest", {{"pullRequestId", "1"}}},
      {"GetComment", {{"commentId", comment}}},
      {"PostCommentReply", {{"inReplyTo", comment}, {"content", "reply"}}},
      {"UpdateComment", {{"commentId", comment}, {"content", "edited"}}},
      {"DeleteCommentContent", {{"commentId", comment}}},
      {"UpdatePullRequestStatus", {{"pullRequestId", "1"}, {"pullRequestStatus", "CLOSED"}}},
  };
  RecordingAuthorizer authorizer;
  dispatcher_->SetAuthorizer(&authorizer);
  auto call = [&](const Operation& op) {
    aws::Principal root = aws::Principal::Root(kAccount);
    aws::Principal reviewer = Reviewer();
    return Call(op.name, op.input, op.as_reviewer ? &reviewer : &root);
  };

  // Denied on the repository: refused before anything is read out or changed.
  authorizer.denied = {app};
  for (const Operation& op : operations) {
    authorizer.checks.clear();
    StatusOr<Document> out = call(op);
    EXPECT_EQ(out.status().aws_code(), "AccessDeniedException") << op.name;
    EXPECT_EQ(authorizer.checks, (std::vector<std::pair<std::string, std::string>>{{"codecommit:" + op.name, app}}))
        << op.name;
  }
  dispatcher_->SetAuthorizer(nullptr);
  Document unchanged = Ok("GetPullRequest", {{"pullRequestId", "1"}})["pullRequest"];
  EXPECT_EQ(unchanged["title"], "feature");
  EXPECT_EQ(unchanged["pullRequestStatus"], "OPEN");
  EXPECT_EQ(EventTypes("1"), std::vector<std::string>{"PULL_REQUEST_CREATED"});
  EXPECT_EQ(Ok("GetComment", {{"commentId", comment}})["comment"]["content"], "first");

  // Allowed: each does its work, checked on the repository under its current name.
  Ok("UpdateRepositoryName", {{"oldName", "app"}, {"newName", "renamed"}});
  dispatcher_->SetAuthorizer(&authorizer);
  authorizer.denied.clear();
  for (const Operation& op : operations) {
    authorizer.checks.clear();
    StatusOr<Document> out = call(op);
    EXPECT_TRUE(out.ok()) << op.name << ": " << out.status().ToString();
    EXPECT_EQ(authorizer.checks, (std::vector<std::pair<std::string, std::string>>{
                                     {"codecommit:" + op.name, "arn:aws:codecommit:us-east-1:000000000000:renamed"}}))
        << op.name;
  }
}

TEST_F(PullRequestTest, ClientRequestTokenMakesCreateIdempotent) {
  CommitOn("feature", {{"f.txt", "f\n"}}, "feature", "main");
  Document input = {{"title", "t"},
                    {"clientRequestToken", "token-1"},
                    {"targets", {{{"repositoryName", "app"}, {"sourceReference", "feature"}, {"destinationReference", "main"}}}}};
  Document first = Ok("CreatePullRequest", input)["pullRequest"];
  EXPECT_EQ(first["clientRequestToken"], "token-1");
  EXPECT_EQ(Ok("CreatePullRequest", input)["pullRequest"], first);
  input["title"] = "other";
  EXPECT_EQ(Error("CreatePullRequest", input).first, "IdempotencyParameterMismatchException");
  EXPECT_EQ(Ok("ListPullRequests", {{"repositoryName", "app"}})["pullRequestIds"], Document::array({"1"}));
}

TEST_F(PullRequestTest, ListFiltersAndPages) {
  CommitOn("feature", {{"f.txt", "f\n"}}, "feature", "main");
  Create("feature");
  OkAs(Reviewer(), "CreatePullRequest",
       {{"title", "by reviewer"},
        {"targets", {{{"repositoryName", "app"}, {"sourceReference", "feature"}, {"destinationReference", "main"}}}}});
  Create("feature");
  Ok("UpdatePullRequestStatus", {{"pullRequestId", "3"}, {"pullRequestStatus", "CLOSED"}});

  EXPECT_EQ(Ok("ListPullRequests", {{"repositoryName", "app"}})["pullRequestIds"], (Document{"1", "2", "3"}));
  EXPECT_EQ(Ok("ListPullRequests", {{"repositoryName", "app"}, {"authorArn", kReviewerArn}})["pullRequestIds"],
            (Document{"2"}));
  EXPECT_EQ(Ok("ListPullRequests", {{"repositoryName", "app"}, {"pullRequestStatus", "CLOSED"}})["pullRequestIds"],
            (Document{"3"}));
  Document page = Ok("ListPullRequests", {{"repositoryName", "app"}, {"maxResults", 2}});
  EXPECT_EQ(page["pullRequestIds"], (Document{"1", "2"}));
  ASSERT_TRUE(page.contains("nextToken"));
  Document rest = Ok("ListPullRequests", {{"repositoryName", "app"}, {"maxResults", 2}, {"nextToken", page["nextToken"]}});
  EXPECT_EQ(rest["pullRequestIds"], (Document{"3"}));
  EXPECT_FALSE(rest.contains("nextToken"));
  EXPECT_EQ(Error("ListPullRequests", {{"repositoryName", "app"}, {"nextToken", "garbage"}}).first,
            "InvalidContinuationTokenException");
  EXPECT_EQ(Error("ListPullRequests", {{"repositoryName", "app"}, {"authorArn", "reviewer"}}).first,
            "InvalidAuthorArnException");
}

TEST_F(PullRequestTest, StatusTitleAndDescription) {
  Document pr = FeaturePullRequest();
  EXPECT_EQ(Ok("UpdatePullRequestTitle", {{"pullRequestId", "1"}, {"title", "renamed"}})["pullRequest"]["title"], "renamed");
  EXPECT_EQ(Ok("UpdatePullRequestDescription", {{"pullRequestId", "1"}, {"description", "more"}})["pullRequest"]["description"],
            "more");
  EXPECT_EQ(Error("UpdatePullRequestTitle", {{"pullRequestId", "1"}, {"title", ""}}).first, "TitleRequiredException");
  EXPECT_EQ(Error("UpdatePullRequestStatus", {{"pullRequestId", "1"}, {"pullRequestStatus", "OPEN"}}).first,
            "InvalidPullRequestStatusUpdateException");
  Document closed = Ok("UpdatePullRequestStatus", {{"pullRequestId", "1"}, {"pullRequestStatus", "CLOSED"}})["pullRequest"];
  EXPECT_EQ(closed["pullRequestStatus"], "CLOSED");
  EXPECT_EQ(Error("UpdatePullRequestStatus", {{"pullRequestId", "1"}, {"pullRequestStatus", "OPEN"}}).first,
            "PullRequestAlreadyClosedException");
  EXPECT_EQ(Error("UpdatePullRequestTitle", {{"pullRequestId", "1"}, {"title", "late"}}).first,
            "PullRequestAlreadyClosedException");
  EXPECT_EQ(EventTypes("1"), (std::vector<std::string>{"PULL_REQUEST_CREATED", "PULL_REQUEST_STATUS_CHANGED"}));
  std::vector<Document> published = client_.Details("CodeCommit Pull Request State Change");
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[1]["event"], "pullRequestStatusChanged");
  EXPECT_EQ(published[1]["pullRequestStatus"], "Closed");
  EXPECT_EQ(published[1]["title"], "renamed");
}

TEST_F(PullRequestTest, PushToSourceMakesANewRevisionAndResetsApprovals) {
  Document pr = FeaturePullRequest();
  const std::string first_revision = pr["revisionId"];
  OkAs(Reviewer(), "UpdatePullRequestApprovalState",
       {{"pullRequestId", "1"}, {"revisionId", first_revision}, {"approvalState", "APPROVE"}});
  std::string pushed = CommitOn("feature", {{"README.md", "hello\n"}, {"new.txt", "newer\n"}}, "second");

  Document now = Ok("GetPullRequest", {{"pullRequestId", "1"}})["pullRequest"];
  EXPECT_NE(now["revisionId"], first_revision);
  EXPECT_EQ(now["pullRequestTargets"][0]["sourceCommit"], pushed);
  EXPECT_EQ(Ok("GetPullRequestApprovalStates", {{"pullRequestId", "1"}, {"revisionId", now["revisionId"]}})["approvals"],
            Document::array());
  EXPECT_EQ(Ok("GetPullRequestApprovalStates", {{"pullRequestId", "1"}, {"revisionId", first_revision}})["approvals"],
            (Document{{{"userArn", kReviewerArn}, {"approvalState", "APPROVE"}}}));
  EXPECT_EQ(ErrorAs(Reviewer(), "UpdatePullRequestApprovalState",
                    {{"pullRequestId", "1"}, {"revisionId", first_revision}, {"approvalState", "APPROVE"}})
                .first,
            "RevisionNotCurrentException");
  EXPECT_EQ(Error("GetPullRequestApprovalStates", {{"pullRequestId", "1"}, {"revisionId", "abc"}}).first,
            "InvalidRevisionIdException");
  EXPECT_EQ(EventTypes("1"), (std::vector<std::string>{"PULL_REQUEST_CREATED", "PULL_REQUEST_APPROVAL_STATE_CHANGED",
                                                        "PULL_REQUEST_SOURCE_REFERENCE_UPDATED"}));
  std::vector<Document> published = client_.Details("CodeCommit Pull Request State Change");
  ASSERT_EQ(published.size(), 3u);
  EXPECT_EQ(published[2]["event"], "pullRequestSourceBranchUpdated");
  EXPECT_EQ(published[2]["sourceCommit"], pushed);
}

TEST_F(PullRequestTest, ACommitThroughTheApiUpdatesThePullRequestAtOnce) {
  Document pr = FeaturePullRequest();
  Document put = Ok("PutFile", {{"repositoryName", "app"},
                                {"branchName", "feature"},
                                {"filePath", "more.txt"},
                                {"fileContent", Document::binary({'m', '\n'})},
                                {"parentCommitId", pr["pullRequestTargets"][0]["sourceCommit"]}});
  // No read of the pull request in between: the ref change itself refreshed it.
  std::vector<Document> published = client_.Details("CodeCommit Pull Request State Change");
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[1]["event"], "pullRequestSourceBranchUpdated");
  EXPECT_EQ(published[1]["sourceCommit"], put["commitId"]);
  EXPECT_NE(published[1]["revisionId"], pr["revisionId"]);
}

TEST_F(PullRequestTest, ApprovalsAndRuleEvaluation) {
  Document pr = FeaturePullRequest();
  const std::string revision = pr["revisionId"];
  Document evaluation = Ok("EvaluatePullRequestApprovalRules", {{"pullRequestId", "1"}, {"revisionId", revision}})["evaluation"];
  EXPECT_EQ(evaluation["approved"], true);  // no rules
  EXPECT_EQ(evaluation["overridden"], false);

  Document rule = Ok("CreatePullRequestApprovalRule",
                     {{"pullRequestId", "1"}, {"approvalRuleName", "one"}, {"approvalRuleContent", kOneApprover}})["approvalRule"];
  EXPECT_EQ(rule["approvalRuleName"], "one");
  EXPECT_EQ(rule["ruleContentSha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(rule["lastModifiedUser"], kRootArn);
  evaluation = Ok("EvaluatePullRequestApprovalRules", {{"pullRequestId", "1"}, {"revisionId", revision}})["evaluation"];
  EXPECT_EQ(evaluation["approved"], false);
  EXPECT_EQ(evaluation["approvalRulesNotSatisfied"], Document::array({"one"}));

  EXPECT_EQ(Error("UpdatePullRequestApprovalState",
                  {{"pullRequestId", "1"}, {"revisionId", revision}, {"approvalState", "APPROVE"}})
                .first,
            "PullRequestCannotBeApprovedByAuthorException");
  OkAs(Reviewer(), "UpdatePullRequestApprovalState",
       {{"pullRequestId", "1"}, {"revisionId", revision}, {"approvalState", "APPROVE"}});
  evaluation = Ok("EvaluatePullRequestApprovalRules", {{"pullRequestId", "1"}, {"revisionId", revision}})["evaluation"];
  EXPECT_EQ(evaluation["approved"], true);
  EXPECT_EQ(evaluation["approvalRulesSatisfied"], Document::array({"one"}));
  EXPECT_EQ(evaluation["approvalRulesNotSatisfied"], Document::array());

  OkAs(Reviewer(), "UpdatePullRequestApprovalState",
       {{"pullRequestId", "1"}, {"revisionId", revision}, {"approvalState", "REVOKE"}});
  EXPECT_EQ(Ok("GetPullRequestApprovalStates", {{"pullRequestId", "1"}, {"revisionId", revision}})["approvals"],
            Document::array());
  EXPECT_EQ(Ok("EvaluatePullRequestApprovalRules", {{"pullRequestId", "1"}, {"revisionId", revision}})["evaluation"]["approved"],
            false);

  std::vector<Document> published = client_.Details("CodeCommit Pull Request State Change");
  ASSERT_EQ(published.size(), 4u);
  EXPECT_EQ(published[1]["event"], "pullRequestApprovalRuleCreated");
  EXPECT_EQ(published[1]["approvalRuleName"], "one");
  EXPECT_EQ(published[2]["event"], "pullRequestApprovalStateChanged");
  EXPECT_EQ(published[2]["approvalStatus"], "APPROVE");
  EXPECT_EQ(published[2]["callerUserArn"], kReviewerArn);
  EXPECT_EQ(published[3]["approvalStatus"], "REVOKE");
}

TEST_F(PullRequestTest, ApprovalRuleLifecycle) {
  FeaturePullRequest();
  Document rule = Ok("CreatePullRequestApprovalRule",
                     {{"pullRequestId", "1"}, {"approvalRuleName", "one"}, {"approvalRuleContent", kOneApprover}})["approvalRule"];
  EXPECT_EQ(Error("CreatePullRequestApprovalRule",
                  {{"pullRequestId", "1"}, {"approvalRuleName", "one"}, {"approvalRuleContent", kOneApprover}})
                .first,
            "ApprovalRuleNameAlreadyExistsException");
  EXPECT_EQ(Error("CreatePullRequestApprovalRule",
                  {{"pullRequestId", "1"}, {"approvalRuleName", "bad"}, {"approvalRuleContent", "{}"}})
                .first,
            "InvalidApprovalRuleContentException");
  const std::string two =
      R"({"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":2}]})";
  EXPECT_EQ(Error("UpdatePullRequestApprovalRuleContent", {{"pullRequestId", "1"},
                                                           {"approvalRuleName", "one"},
                                                           {"existingRuleContentSha256", "0000"},
                                                           {"newRuleContent", two}})
                .first,
            "InvalidRuleContentSha256Exception");
  Document updated = Ok("UpdatePullRequestApprovalRuleContent", {{"pullRequestId", "1"},
                                                                 {"approvalRuleName", "one"},
                                                                 {"existingRuleContentSha256", rule["ruleContentSha256"]},
                                                                 {"newRuleContent", two}})["approvalRule"];
  EXPECT_EQ(updated["approvalRuleContent"], two);
  EXPECT_EQ(updated["approvalRuleId"], rule["approvalRuleId"]);
  EXPECT_EQ(Ok("GetPullRequest", {{"pullRequestId", "1"}})["pullRequest"]["approvalRules"][0]["approvalRuleContent"], two);
  EXPECT_EQ(Ok("DeletePullRequestApprovalRule", {{"pullRequestId", "1"}, {"approvalRuleName", "one"}})["approvalRuleId"],
            rule["approvalRuleId"]);
  EXPECT_EQ(Error("DeletePullRequestApprovalRule", {{"pullRequestId", "1"}, {"approvalRuleName", "one"}}).first,
            "ApprovalRuleDoesNotExistException");
  EXPECT_EQ(EventTypes("1"),
            (std::vector<std::string>{"PULL_REQUEST_CREATED", "PULL_REQUEST_APPROVAL_RULE_CREATED",
                                      "PULL_REQUEST_APPROVAL_RULE_UPDATED", "PULL_REQUEST_APPROVAL_RULE_DELETED"}));
}

TEST_F(PullRequestTest, OverrideSetsRulesAside) {
  Document pr = FeaturePullRequest();
  const std::string revision = pr["revisionId"];
  Ok("CreatePullRequestApprovalRule", {{"pullRequestId", "1"}, {"approvalRuleName", "one"}, {"approvalRuleContent", kOneApprover}});
  EXPECT_EQ(Error("MergePullRequestByFastForward", {{"pullRequestId", "1"}, {"repositoryName", "app"}}).first,
            "PullRequestApprovalRulesNotSatisfiedException");
  OkAs(Reviewer(), "OverridePullRequestApprovalRules",
       {{"pullRequestId", "1"}, {"revisionId", revision}, {"overrideStatus", "OVERRIDE"}});
  EXPECT_EQ(ErrorAs(Reviewer(), "OverridePullRequestApprovalRules",
                    {{"pullRequestId", "1"}, {"revisionId", revision}, {"overrideStatus", "OVERRIDE"}})
                .first,
            "OverrideAlreadySetException");
  EXPECT_EQ(Ok("GetPullRequestOverrideState", {{"pullRequestId", "1"}, {"revisionId", revision}}),
            (Document{{"overridden", true}, {"overrider", kReviewerArn}}));
  Document evaluation = Ok("EvaluatePullRequestApprovalRules", {{"pullRequestId", "1"}, {"revisionId", revision}})["evaluation"];
  EXPECT_EQ(evaluation["approved"], false);
  EXPECT_EQ(evaluation["overridden"], true);
  Ok("OverridePullRequestApprovalRules", {{"pullRequestId", "1"}, {"revisionId", revision}, {"overrideStatus", "REVOKE"}});
  EXPECT_EQ(Ok("GetPullRequestOverrideState", {{"pullRequestId", "1"}, {"revisionId", revision}}),
            (Document{{"overridden", false}}));
  OkAs(Reviewer(), "OverridePullRequestApprovalRules",
       {{"pullRequestId", "1"}, {"revisionId", revision}, {"overrideStatus", "OVERRIDE"}});
  Document merged = Ok("MergePullRequestByFastForward", {{"pullRequestId", "1"}, {"repositoryName", "app"}})["pullRequest"];
  EXPECT_EQ(merged["pullRequestTargets"][0]["mergeMetadata"]["isMerged"], true);
}

// --- Merging pull requests ------------------------------------------------------------------------

TEST_F(PullRequestTest, MergeByFastForwardMovesTheDestination) {
  Document pr = FeaturePullRequest();
  const std::string source = pr["pullRequestTargets"][0]["sourceCommit"];
  EXPECT_EQ(Error("MergePullRequestByFastForward",
                  {{"pullRequestId", "1"}, {"repositoryName", "app"}, {"sourceCommitId", main_}})
                .first,
            "TipOfSourceReferenceIsDifferentException");
  Ok("CreateRepository", {{"repositoryName", "other"}});
  EXPECT_EQ(Error("MergePullRequestByFastForward", {{"pullRequestId", "1"}, {"repositoryName", "other"}}).first,
            "RepositoryNotAssociatedWithPullRequestException");

  Document merged = Ok("MergePullRequestByFastForward",
                       {{"pullRequestId", "1"}, {"repositoryName", "app"}, {"sourceCommitId", source}})["pullRequest"];
  EXPECT_EQ(merged["pullRequestStatus"], "CLOSED");
  EXPECT_EQ(merged["pullRequestTargets"][0]["mergeMetadata"],
            (Document{{"isMerged", true}, {"mergedBy", kRootArn}, {"mergeCommitId", source},
                      {"mergeOption", "FAST_FORWARD_MERGE"}}));
  EXPECT_EQ(Tip("main"), source);
  EXPECT_EQ(Error("MergePullRequestByFastForward", {{"pullRequestId", "1"}, {"repositoryName", "app"}}).first,
            "PullRequestAlreadyClosedException");

  std::vector<Document> refs = client_.Details("CodeCommit Repository State Change");
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0]["event"], "referenceUpdated");
  EXPECT_EQ(refs[0]["referenceName"], "main");
  EXPECT_EQ(refs[0]["commitId"], source);
  EXPECT_EQ(refs[0]["oldCommitId"], main_);
  EXPECT_EQ(refs[0]["mergeOption"], "FAST_FORWARD_MERGE");
  EXPECT_EQ(refs[0]["sourceCommitId"], source);
  EXPECT_EQ(refs[0]["destinationCommitId"], main_);
  EXPECT_EQ(refs[0]["baseCommitId"], main_);
  EXPECT_EQ(refs[0]["conflictResolutionStrategy"], "NONE");
  std::vector<Document> published = client_.Details("CodeCommit Pull Request State Change");
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[1]["event"], "pullRequestMergeStatusUpdated");
  EXPECT_EQ(published[1]["isMerged"], "True");
  EXPECT_EQ(published[1]["mergeOption"], "FAST_FORWARD_MERGE");
  EXPECT_EQ(EventTypes("1"), (std::vector<std::string>{"PULL_REQUEST_CREATED", "PULL_REQUEST_MERGE_STATE_CHANGED",
                                                        "PULL_REQUEST_STATUS_CHANGED"}));
}

TEST_F(PullRequestTest, DivergedPullRequestsMergeBySquashAndThreeWay) {
  CommitOn("feature", {{"README.md", "hello\n"}, {"n.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"}, {"s.txt", "s\n"}}, "s",
           "main");
  std::string destination =
      CommitOn("main", {{"README.md", "hello\n"}, {"n.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"}, {"d.txt", "d\n"}}, "d");
  Create("feature");
  Create("feature");
  EXPECT_EQ(Error("MergePullRequestByFastForward", {{"pullRequestId", "1"}, {"repositoryName", "app"}}).first,
            "ManualMergeRequiredException");
  Document squashed = Ok("MergePullRequestBySquash", {{"pullRequestId", "1"},
                                                      {"repositoryName", "app"},
                                                      {"commitMessage", "squashed"},
                                                      {"authorName", "Mary"},
                                                      {"email", "mary@example.com"}})["pullRequest"];
  const std::string squash_commit = squashed["pullRequestTargets"][0]["mergeMetadata"]["mergeCommitId"];
  EXPECT_EQ(Tip("main"), squash_commit);
  EXPECT_EQ(ParentCount(squash_commit), 1u);
  EXPECT_EQ(FileAt(squash_commit, "s.txt"), "s\n");
  EXPECT_EQ(FileAt(squash_commit, "d.txt"), "d\n");

  Document three_way = Ok("MergePullRequestByThreeWay", {{"pullRequestId", "2"}, {"repositoryName", "app"}})["pullRequest"];
  const std::string merge_commit = three_way["pullRequestTargets"][0]["mergeMetadata"]["mergeCommitId"];
  EXPECT_EQ(three_way["pullRequestTargets"][0]["mergeMetadata"]["mergeOption"], "THREE_WAY_MERGE");
  EXPECT_EQ(ParentCount(merge_commit), 2u);
  EXPECT_EQ(Tip("main"), merge_commit);
  EXPECT_NE(destination, merge_commit);
}

TEST_F(PullRequestTest, ConflictingPullRequestNeedsAStrategyOrAResolution) {
  CommitOn("feature", {{"README.md", "from feature\n"}}, "feature edit", "main");
  CommitOn("main", {{"README.md", "from main\n"}}, "main edit");
  Create("feature");
  EXPECT_EQ(Error("MergePullRequestByThreeWay", {{"pullRequestId", "1"}, {"repositoryName", "app"}}).first,
            "ManualMergeRequiredException");
  Document conflicts = Ok("GetMergeConflicts", {{"repositoryName", "app"},
                                                {"sourceCommitSpecifier", "feature"},
                                                {"destinationCommitSpecifier", "main"},
                                                {"mergeOption", "THREE_WAY_MERGE"}});
  EXPECT_EQ(conflicts["mergeable"], false);
  ASSERT_EQ(conflicts["conflictMetadataList"].size(), 1u);
  const Document& c = conflicts["conflictMetadataList"][0];
  EXPECT_EQ(c["filePath"], "README.md");
  EXPECT_EQ(c["contentConflict"], true);
  EXPECT_EQ(c["mergeOperations"], (Document{{"source", "M"}, {"destination", "M"}}));
  EXPECT_EQ(c["fileModes"], (Document{{"source", "NORMAL"}, {"destination", "NORMAL"}, {"base", "NORMAL"}}));
  EXPECT_EQ(c["objectTypes"]["source"], "FILE");
  EXPECT_EQ(c["fileSizes"]["source"], 13);
  EXPECT_EQ(conflicts["baseCommitId"], main_);

  Document resolved = Ok("MergePullRequestByThreeWay",
                         {{"pullRequestId", "1"},
                          {"repositoryName", "app"},
                          {"conflictResolution",
                           {{"replaceContents",
                             {{{"filePath", "README.md"},
                               {"replacementType", "USE_NEW_CONTENT"},
                               {"content", Document::binary({'b', 'o', 't', 'h', '\n'})}}}}}}})["pullRequest"];
  EXPECT_EQ(FileAt(resolved["pullRequestTargets"][0]["mergeMetadata"]["mergeCommitId"], "README.md"), "both\n");
}

TEST_F(PullRequestTest, MergingTheBranchesOutsideThePullRequestClosesIt) {
  Document pr = FeaturePullRequest();
  Document merged = Ok("MergeBranchesByFastForward", {{"repositoryName", "app"},
                                                      {"sourceCommitSpecifier", "feature"},
                                                      {"destinationCommitSpecifier", "main"}});
  EXPECT_EQ(merged["commitId"], pr["pullRequestTargets"][0]["sourceCommit"]);
  Document now = Ok("GetPullRequest", {{"pullRequestId", "1"}})["pullRequest"];
  EXPECT_EQ(now["pullRequestStatus"], "CLOSED");
  EXPECT_EQ(now["pullRequestTargets"][0]["mergeMetadata"]["isMerged"], true);
  std::vector<Document> published = client_.Details("CodeCommit Pull Request State Change");
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[1]["event"], "pullRequestMergeStatusUpdated");
}

// --- Merging branches -----------------------------------------------------------------------------

TEST_F(PullRequestTest, MergeOptionsConflictDetailsAndBranchMerges) {
  CommitOn("feature", {{"README.md", "hello\n"}, {"n.txt", "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"}}, "top", "main");
  std::string destination = CommitOn("main", {{"README.md", "hello\n"}, {"n.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\nten\n"}}, "bottom");
  Document specifiers = {{"repositoryName", "app"}, {"sourceCommitSpecifier", "feature"}, {"destinationCommitSpecifier", "main"}};

  Document options = Ok("GetMergeOptions", specifiers);
  EXPECT_EQ(options["mergeOptions"], Document::array());  // FILE_LEVEL: n.txt changed on both sides
  Document line = specifiers;
  line["conflictDetailLevel"] = "LINE_LEVEL";
  EXPECT_EQ(Ok("GetMergeOptions", line)["mergeOptions"], (Document{"SQUASH_MERGE", "THREE_WAY_MERGE"}));

  Document describe = specifiers;
  describe["mergeOption"] = "THREE_WAY_MERGE";
  describe["filePath"] = "n.txt";
  Document described = Ok("DescribeMergeConflicts", describe);
  EXPECT_EQ(described["conflictMetadata"]["numberOfConflicts"], 1);
  ASSERT_EQ(described["mergeHunks"].size(), 2u);
  EXPECT_EQ(described["mergeHunks"][0]["isConflict"], false);
  EXPECT_EQ(described["mergeHunks"][0]["source"]["hunkContent"], "one\n");
  EXPECT_EQ(described["mergeHunks"][1]["destination"]["hunkContent"], "ten\n");
  EXPECT_EQ(described["mergeHunks"][1]["destination"]["startLine"], 10);
  describe["maxMergeHunks"] = 1;
  Document first = Ok("DescribeMergeConflicts", describe);
  ASSERT_EQ(first["mergeHunks"].size(), 1u);
  describe["nextToken"] = first["nextToken"];
  EXPECT_EQ(Ok("DescribeMergeConflicts", describe)["mergeHunks"][0], described["mergeHunks"][1]);
  describe["mergeOption"] = "FAST_FORWARD_MERGE";
  EXPECT_EQ(Error("DescribeMergeConflicts", describe).first, "InvalidMergeOptionException");

  Document batch = specifiers;
  batch["mergeOption"] = "SQUASH_MERGE";
  Document batched = Ok("BatchDescribeMergeConflicts", batch);
  ASSERT_EQ(batched["conflicts"].size(), 1u);
  EXPECT_EQ(batched["conflicts"][0]["mergeHunks"].size(), 2u);

  Document unreferenced = specifiers;
  unreferenced["mergeOption"] = "THREE_WAY_MERGE";
  unreferenced["conflictResolutionStrategy"] = "AUTOMERGE";
  Document commit = Ok("CreateUnreferencedMergeCommit", unreferenced);
  EXPECT_EQ(FileAt(commit["commitId"], "n.txt"), "one\n2\n3\n4\n5\n6\n7\n8\n9\nten\n");
  EXPECT_EQ(Tip("main"), destination);
  unreferenced["mergeOption"] = "FAST_FORWARD_MERGE";
  EXPECT_EQ(Error("CreateUnreferencedMergeCommit", unreferenced).first, "InvalidMergeOptionException");

  Document squash = specifiers;
  squash["conflictResolutionStrategy"] = "ACCEPT_SOURCE";
  squash["targetBranch"] = "main";
  Document squashed = Ok("MergeBranchesBySquash", squash);
  EXPECT_EQ(Tip("main"), squashed["commitId"]);
  EXPECT_EQ(FileAt(squashed["commitId"], "n.txt"), "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
  std::vector<Document> refs = client_.Details("CodeCommit Repository State Change");
  ASSERT_GE(refs.size(), 2u);
  EXPECT_EQ(refs[0]["event"], "unreferencedMergeCommitCreated");
  EXPECT_EQ(refs[1]["event"], "referenceUpdated");

  Document bad_target = specifiers;
  bad_target["targetBranch"] = "nope";
  EXPECT_EQ(Error("MergeBranchesByThreeWay", bad_target).first, "BranchDoesNotExistException");
  Document unknown = specifiers;
  unknown["sourceCommitSpecifier"] = "no-such-branch";
  EXPECT_EQ(Error("GetMergeOptions", unknown).first, "CommitDoesNotExistException");
}

TEST_F(PullRequestTest, GetMergeCommitFindsTheMergeCommit) {
  CommitOn("feature", {{"s.txt", "s\n"}, {"README.md", "hello\n"}}, "s", "main");
  CommitOn("main", {{"d.txt", "d\n"}, {"README.md", "hello\n"}}, "d");
  Document specifiers = {{"repositoryName", "app"}, {"sourceCommitSpecifier", "feature"}, {"destinationCommitSpecifier", "main"}};
  EXPECT_FALSE(Ok("GetMergeCommit", specifiers).contains("mergedCommitId"));
  Document merged = Ok("MergeBranchesByThreeWay", specifiers);
  Document found = Ok("GetMergeCommit", specifiers);
  EXPECT_EQ(found["mergedCommitId"], merged["commitId"]);
  EXPECT_EQ(found["baseCommitId"], Tip("feature"));
}

// --- Comments -------------------------------------------------------------------------------------

TEST_F(PullRequestTest, PullRequestComments) {
  Document pr = FeaturePullRequest();
  const std::string before = pr["pullRequestTargets"][0]["destinationCommit"];
  const std::string after = pr["pullRequestTargets"][0]["sourceCommit"];
  Document base = {{"pullRequestId", "1"}, {"repositoryName", "app"}, {"beforeCommitId", before}, {"afterCommitId", after}};

  Document general = base;
  general["content"] = "looks good";
  Document posted = Ok("PostCommentForPullRequest", general);
  EXPECT_EQ(posted["pullRequestId"], "1");
  EXPECT_EQ(posted["comment"]["content"], "looks good");
  EXPECT_EQ(posted["comment"]["authorArn"], kRootArn);
  EXPECT_EQ(posted["comment"]["deleted"], false);

  Document located = base;
  located["content"] = "typo here";
  located["location"] = {{"filePath", "new.txt"}, {"filePosition", 1}, {"relativeFileVersion", "AFTER"}};
  Document on_line = OkAs(Reviewer(), "PostCommentForPullRequest", located);
  EXPECT_EQ(on_line["location"]["filePath"], "new.txt");
  EXPECT_TRUE(on_line.contains("afterBlobId"));
  EXPECT_FALSE(on_line.contains("beforeBlobId"));  // new.txt is not in the destination

  Document past_end = located;
  past_end["location"]["filePosition"] = 5;
  EXPECT_EQ(Error("PostCommentForPullRequest", past_end).first, "InvalidFilePositionException");
  Document missing = located;
  missing["location"]["relativeFileVersion"] = "BEFORE";
  EXPECT_EQ(Error("PostCommentForPullRequest", missing).first, "PathDoesNotExistException");
  Document same = general;
  same["beforeCommitId"] = after;
  EXPECT_EQ(Error("PostCommentForPullRequest", same).first, "BeforeCommitIdAndAfterCommitIdAreSameException");
  Document empty = general;
  empty["content"] = "";
  EXPECT_EQ(Error("PostCommentForPullRequest", empty).first, "CommentContentRequiredException");

  Document reply = Ok("PostCommentReply", {{"inReplyTo", on_line["comment"]["commentId"]}, {"content", "fixed"}})["comment"];
  EXPECT_EQ(reply["inReplyTo"], on_line["comment"]["commentId"]);

  Document listed = Ok("GetCommentsForPullRequest", {{"pullRequestId", "1"}})["commentsForPullRequestData"];
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["comments"].size(), 1u);
  EXPECT_FALSE(listed[0].contains("location"));
  EXPECT_EQ(listed[1]["location"]["filePath"], "new.txt");
  ASSERT_EQ(listed[1]["comments"].size(), 2u);
  EXPECT_EQ(listed[1]["comments"][1]["content"], "fixed");
  EXPECT_EQ(Error("GetCommentsForPullRequest", {{"pullRequestId", "1"}, {"repositoryName", "app"}}).first,
            "CommitIdRequiredException");

  const std::string id = on_line["comment"]["commentId"];
  EXPECT_EQ(Error("UpdateComment", {{"commentId", id}, {"content", "not mine"}}).first, "CommentNotCreatedByCallerException");
  EXPECT_EQ(OkAs(Reviewer(), "UpdateComment", {{"commentId", id}, {"content", "typo on line 1"}})["comment"]["content"],
            "typo on line 1");
  Document deleted = Ok("DeleteCommentContent", {{"commentId", id}})["comment"];
  EXPECT_EQ(deleted["deleted"], true);
  EXPECT_EQ(deleted["content"], "");
  EXPECT_EQ(Error("GetComment", {{"commentId", id}}).first, "CommentDeletedException");
  EXPECT_EQ(Error("DeleteCommentContent", {{"commentId", id}}).first, "CommentDeletedException");
  EXPECT_EQ(Error("GetComment", {{"commentId", "nope"}}).first, "CommentDoesNotExistException");

  std::vector<Document> events = client_.Details("CodeCommit Comment on Pull Request");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0]["event"], "commentOnPullRequestCreated");
  EXPECT_EQ(events[1]["callerUserArn"], kReviewerArn);
  EXPECT_EQ(events[2]["event"], "commentOnPullRequestUpdated");
  EXPECT_EQ(events[2]["inReplyTo"], id);
}

TEST_F(PullRequestTest, ComparedCommitComments) {
  std::string second = CommitOn("main", {{"README.md", "hello again\n"}}, "second");
  Document posted = Ok("PostCommentForComparedCommit", {{"repositoryName", "app"},
                                                        {"beforeCommitId", main_},
                                                        {"afterCommitId", second},
                                                        {"content", "why?"},
                                                        {"clientRequestToken", "c-1"},
                                                        {"location", {{"filePath", "README.md"}, {"filePosition", 1}}}});
  EXPECT_EQ(posted["beforeCommitId"], main_);
  EXPECT_TRUE(posted.contains("beforeBlobId"));
  EXPECT_EQ(posted["comment"]["clientRequestToken"], "c-1");
  Document again = Ok("PostCommentForComparedCommit", {{"repositoryName", "app"},
                                                       {"beforeCommitId", main_},
                                                       {"afterCommitId", second},
                                                       {"content", "why?"},
                                                       {"clientRequestToken", "c-1"},
                                                       {"location", {{"filePath", "README.md"}, {"filePosition", 1}}}});
  EXPECT_EQ(again["comment"]["commentId"], posted["comment"]["commentId"]);
  Document listed = Ok("GetCommentsForComparedCommit",
                       {{"repositoryName", "app"}, {"beforeCommitId", main_}, {"afterCommitId", second}});
  ASSERT_EQ(listed["commentsForComparedCommitData"].size(), 1u);
  EXPECT_EQ(listed["commentsForComparedCommitData"][0]["comments"].size(), 1u);
  EXPECT_EQ(Error("PostCommentForComparedCommit",
                  {{"repositoryName", "app"}, {"afterCommitId", "0123456789012345678901234567890123456789"}, {"content", "x"}})
                .first,
            "CommitDoesNotExistException");
  EXPECT_EQ(client_.Details("CodeCommit Comment on Commit").size(), 1u);
}

// --- Approval rule templates ----------------------------------------------------------------------

TEST_F(PullRequestTest, TemplatesApplyToNewPullRequestsIntoMatchingBranches) {
  const std::string content =
      R"({"Version":"2018-11-08","DestinationReferences":["refs/heads/main"],"Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1,"ApprovalPoolMembers":["CodeCommitApprovers:000000000000:reviewer"]}]})";
  Document t = Ok("CreateApprovalRuleTemplate", {{"approvalRuleTemplateName", "main-needs-review"},
                                                 {"approvalRuleTemplateContent", content},
                                                 {"approvalRuleTemplateDescription", "one reviewer"}})["approvalRuleTemplate"];
  EXPECT_EQ(t["approvalRuleTemplateName"], "main-needs-review");
  EXPECT_EQ(Error("CreateApprovalRuleTemplate", {{"approvalRuleTemplateName", "main-needs-review"},
                                                 {"approvalRuleTemplateContent", content}})
                .first,
            "ApprovalRuleTemplateNameAlreadyExistsException");
  EXPECT_EQ(Error("CreateApprovalRuleTemplate", {{"approvalRuleTemplateName", "bad"}, {"approvalRuleTemplateContent", "[]"}}).first,
            "InvalidApprovalRuleTemplateContentException");
  EXPECT_EQ(Ok("GetApprovalRuleTemplate", {{"approvalRuleTemplateName", "main-needs-review"}})["approvalRuleTemplate"], t);
  EXPECT_EQ(Ok("ListApprovalRuleTemplates", Document::object())["approvalRuleTemplateNames"],
            Document::array({"main-needs-review"}));

  Ok("AssociateApprovalRuleTemplateWithRepository", {{"approvalRuleTemplateName", "main-needs-review"}, {"repositoryName", "app"}});
  EXPECT_EQ(Ok("ListAssociatedApprovalRuleTemplatesForRepository", {{"repositoryName", "app"}})["approvalRuleTemplateNames"],
            Document::array({"main-needs-review"}));
  EXPECT_EQ(Ok("ListRepositoriesForApprovalRuleTemplate", {{"approvalRuleTemplateName", "main-needs-review"}})["repositoryNames"],
            Document::array({"app"}));
  EXPECT_EQ(Error("DeleteApprovalRuleTemplate", {{"approvalRuleTemplateName", "main-needs-review"}}).first,
            "ApprovalRuleTemplateInUseException");

  Document pr = FeaturePullRequest();
  ASSERT_EQ(pr["approvalRules"].size(), 1u);
  const Document& rule = pr["approvalRules"][0];
  EXPECT_EQ(rule["approvalRuleName"], "main-needs-review");
  EXPECT_EQ(rule["originApprovalRuleTemplate"],
            (Document{{"approvalRuleTemplateId", t["approvalRuleTemplateId"]},
                      {"approvalRuleTemplateName", "main-needs-review"}}));
  EXPECT_EQ(Error("DeletePullRequestApprovalRule", {{"pullRequestId", "1"}, {"approvalRuleName", "main-needs-review"}}).first,
            "CannotDeleteApprovalRuleFromTemplateException");
  EXPECT_EQ(Error("MergePullRequestByFastForward", {{"pullRequestId", "1"}, {"repositoryName", "app"}}).first,
            "PullRequestApprovalRulesNotSatisfiedException");
  OkAs(Reviewer(), "UpdatePullRequestApprovalState",
       {{"pullRequestId", "1"}, {"revisionId", pr["revisionId"]}, {"approvalState", "APPROVE"}});
  Ok("MergePullRequestByFastForward", {{"pullRequestId", "1"}, {"repositoryName", "app"}});

  CommitOn("release", {{"README.md", "hello\n"}}, "release", "main");
  EXPECT_EQ(Create("feature", "release")["approvalRules"], Document::array());

  Ok("UpdateApprovalRuleTemplateName", {{"oldApprovalRuleTemplateName", "main-needs-review"},
                                        {"newApprovalRuleTemplateName", "reviewed"}});
  EXPECT_EQ(Ok("ListAssociatedApprovalRuleTemplatesForRepository", {{"repositoryName", "app"}})["approvalRuleTemplateNames"],
            Document::array({"reviewed"}));
  Document batch = Ok("BatchDisassociateApprovalRuleTemplateFromRepositories",
                      {{"approvalRuleTemplateName", "reviewed"}, {"repositoryNames", {"app", "ghost"}}});
  EXPECT_EQ(batch["disassociatedRepositoryNames"], Document::array({"app"}));
  ASSERT_EQ(batch["errors"].size(), 1u);
  EXPECT_EQ(batch["errors"][0]["errorCode"], "RepositoryDoesNotExistException");
  EXPECT_EQ(Ok("DeleteApprovalRuleTemplate", {{"approvalRuleTemplateName", "reviewed"}})["approvalRuleTemplateId"],
            t["approvalRuleTemplateId"]);
  EXPECT_EQ(Error("GetApprovalRuleTemplate", {{"approvalRuleTemplateName", "reviewed"}}).first,
            "ApprovalRuleTemplateDoesNotExistException");
  EXPECT_GE(client_.Details("CodeCommit Approval Rule Template Change").size(), 4u);
}

TEST_F(PullRequestTest, DeletingARepositoryReleasesItsTemplatesAndPullRequestIndex) {
  Ok("CreateApprovalRuleTemplate", {{"approvalRuleTemplateName", "reviewed"}, {"approvalRuleTemplateContent", kOneApprover}});
  Ok("AssociateApprovalRuleTemplateWithRepository", {{"approvalRuleTemplateName", "reviewed"}, {"repositoryName", "app"}});
  FeaturePullRequest();
  EXPECT_EQ(Error("DeleteApprovalRuleTemplate", {{"approvalRuleTemplateName", "reviewed"}}).first,
            "ApprovalRuleTemplateInUseException");
  const std::string scope = std::string(kAccount) + "/" + kRegion;
  EXPECT_EQ(*store_->Count(kTemplateAssociationTable, scope, ""), 2);
  EXPECT_EQ(*store_->Count(kPullRequestIndexTable, scope, repository_id_ + "/"), 1);

  Ok("DeleteRepository", {{"repositoryName", "app"}});
  EXPECT_EQ(*store_->Count(kTemplateAssociationTable, scope, ""), 0);
  EXPECT_EQ(*store_->Count(kPullRequestIndexTable, scope, ""), 0);
  EXPECT_EQ(Ok("ListRepositoriesForApprovalRuleTemplate", {{"approvalRuleTemplateName", "reviewed"}})["repositoryNames"],
            Document::array());
  Ok("DeleteApprovalRuleTemplate", {{"approvalRuleTemplateName", "reviewed"}});
}

TEST_F(PullRequestTest, APushToTheDestinationDuringABranchMergeIsNotOverwritten) {
  CommitOn("feature", {{"README.md", "hello\n"}, {"s.txt", "s\n"}}, "s", "main");
  std::string pushed;
  service_clock_.armed = [&] { pushed = CommitOn("main", {{"README.md", "hello\n"}, {"p.txt", "p\n"}}, "pushed"); };
  Document input = {{"repositoryName", "app"}, {"sourceCommitSpecifier", "feature"}, {"destinationCommitSpecifier", "main"}};
  EXPECT_EQ(Error("MergeBranchesByThreeWay", input).first, "ConcurrentReferenceUpdateException");
  ASSERT_FALSE(pushed.empty());  // the push did arrive mid-merge
  EXPECT_EQ(Tip("main"), pushed);
  EXPECT_TRUE(client_.Details("CodeCommit Repository State Change").empty());
  // Tried again, the merge is computed against the pushed tip and keeps it.
  Document merged = Ok("MergeBranchesByThreeWay", input);
  EXPECT_EQ(Tip("main"), merged["commitId"]);
  EXPECT_EQ(FileAt(merged["commitId"], "p.txt"), "p\n");
  EXPECT_EQ(FileAt(merged["commitId"], "s.txt"), "s\n");
}

TEST_F(PullRequestTest, ABranchMergeMovesItsTargetOnlyForward) {
  CommitOn("feature", {{"README.md", "hello\n"}, {"f.txt", "f\n"}}, "f", "main");
  std::string other = CommitOn("other", {{"README.md", "hello\n"}, {"o.txt", "o\n"}}, "o", "main");
  // other has a commit the merge of feature into main does not contain: it is not dropped.
  Document input = {{"repositoryName", "app"},
                    {"sourceCommitSpecifier", "feature"},
                    {"destinationCommitSpecifier", "main"},
                    {"targetBranch", "other"}};
  EXPECT_EQ(Error("MergeBranchesByFastForward", input).first, "ConcurrentReferenceUpdateException");
  EXPECT_EQ(Error("MergeBranchesByThreeWay", input).first, "ConcurrentReferenceUpdateException");
  EXPECT_EQ(Tip("other"), other);
  // Merged into the target's own tip (a commit id), the target moves to the merge.
  input["destinationCommitSpecifier"] = other;
  Document merged = Ok("MergeBranchesByThreeWay", input);
  EXPECT_EQ(Tip("other"), merged["commitId"]);
  EXPECT_EQ(ParentCount(merged["commitId"]), 2u);
  EXPECT_EQ(Tip("main"), main_);
  // A destination given as a full reference is the branch to move; a revision expression is no branch.
  Document full = {{"repositoryName", "app"}, {"sourceCommitSpecifier", "feature"}, {"destinationCommitSpecifier", "main~0"}};
  EXPECT_EQ(Ok("MergeBranchesByFastForward", full)["commitId"], Tip("feature"));
  EXPECT_EQ(Tip("main"), main_);
  full["destinationCommitSpecifier"] = "refs/heads/main";
  EXPECT_EQ(Ok("MergeBranchesByFastForward", full)["commitId"], Tip("feature"));
  EXPECT_EQ(Tip("main"), Tip("feature"));
}

TEST_F(PullRequestTest, MergeHunkTokensThatDoNotFitAreInvalid) {
  CommitOn("feature", {{"README.md", "hello\n"}, {"n.txt", "one\n"}}, "top", "main");
  CommitOn("main", {{"README.md", "hello\n"}, {"n.txt", "ten\n"}}, "bottom");
  Document input = {{"repositoryName", "app"},
                    {"sourceCommitSpecifier", "feature"},
                    {"destinationCommitSpecifier", "main"},
                    {"mergeOption", "THREE_WAY_MERGE"},
                    {"filePath", "n.txt"}};
  for (const char* offset : {"99999999999999999999", "0", "1x"}) {
    input["nextToken"] = Base64Encode(std::string("k:") + offset);
    EXPECT_EQ(Error("DescribeMergeConflicts", input).first, "InvalidContinuationTokenException") << offset;
  }
}

TEST_F(PullRequestTest, PullRequestsSurviveARestart) {
  Document pr = FeaturePullRequest();
  Ok("CreatePullRequestApprovalRule", {{"pullRequestId", "1"}, {"approvalRuleName", "one"}, {"approvalRuleContent", kOneApprover}});
  Close();
  Open();
  Document again = Ok("GetPullRequest", {{"pullRequestId", "1"}})["pullRequest"];
  EXPECT_EQ(again["revisionId"], pr["revisionId"]);
  EXPECT_EQ(again["approvalRules"].size(), 1u);
  EXPECT_EQ(Create("feature")["pullRequestId"], "2");
}

}  // namespace
}  // namespace gantry::services::codecommit
