#include "services/codecommit/git_http.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/common/clock.h"
#include "core/common/crypto.h"
#include "core/common/ids.h"
#include "core/common/strings.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"
#include "services/codecommit/codecommit_service.h"
#include "services/codecommit/records.h"

namespace gantry::services::codecommit {
namespace {

http::Request Get(const std::string& target, const std::string& method = "GET") {
  http::Request request;
  request.method = method;
  request.target = target;
  http::SplitTarget(target, request.path, request.query);
  return request;
}

TEST(GitRouteTest, Paths) {
  auto advertisement = ParseGitRoute(Get("/v1/repos/my-repo/info/refs?service=git-upload-pack"));
  ASSERT_TRUE(advertisement);
  EXPECT_EQ(advertisement->repository, "my-repo");
  EXPECT_EQ(advertisement->url_path, "/v1/repos/my-repo");
  EXPECT_EQ(advertisement->suffix, "info/refs");
  EXPECT_FALSE(advertisement->push);

  auto receive = ParseGitRoute(Get("/v1/repos/my-repo/info/refs?service=git-receive-pack"));
  ASSERT_TRUE(receive);
  EXPECT_TRUE(receive->push);
  auto rpc = ParseGitRoute(Get("/v1/repos/my-repo/git-receive-pack", "POST"));
  ASSERT_TRUE(rpc);
  EXPECT_TRUE(rpc->push);
  auto upload = ParseGitRoute(Get("/v1/repos/my-repo/git-upload-pack", "POST"));
  ASSERT_TRUE(upload);
  EXPECT_FALSE(upload->push);
  auto dumb = ParseGitRoute(Get("/v1/repos/my-repo/objects/info/packs"));
  ASSERT_TRUE(dumb);
  EXPECT_FALSE(dumb->push);
  auto encoded = ParseGitRoute(Get("/v1/repos/my%2Erepo/HEAD"));
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->repository, "my.repo");

  // Not git: left to S3 (a bucket named v1) and the AWS dispatcher.
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos/my-repo")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos/my-repo/README.md")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos//info/refs")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos/r/objects/../../x")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/other/r/info/refs")));
  EXPECT_FALSE(ParseGitRoute(Get("/v1/repos/r/info/refs", "PUT")));
}

// Refuses every action (the authorizer's answer for a principal without GitPull/GitPush).
class DenyAll final : public aws::Authorizer {
 public:
  Status Authorize(const aws::RequestContext&, const aws::Document&) override { return Status::Ok(); }
  Status AuthorizeAction(const aws::RequestContext& ctx, std::string_view action, std::string_view resource) override {
    asked = std::string(action) + " " + std::string(resource);
    return Status::PermissionDenied("User: " + ctx.principal.arn +
                                    " is not authorized to perform: " + std::string(action));
  }
  std::string asked;
};

// Stands in for EventBridge: records every PutEvents entry CodeCommit sends.
class RecordingClient final : public aws::Client {
 public:
  StatusOr<Document> Call(const aws::Principal&, std::string_view service, std::string_view operation,
                          const Document& input, std::string_view) override {
    std::lock_guard lock(mu_);
    EXPECT_EQ(std::string(service) + ":" + std::string(operation), "events:PutEvents");
    for (const auto& entry : input["Entries"]) details_.push_back(Document::parse(entry["Detail"].get<std::string>()));
    return Document{{"FailedEntryCount", 0}, {"Entries", {{{"EventId", "e"}}}}};
  }
  // (event, referenceFullName, commitId, oldCommitId) of every event, in order.
  std::vector<std::vector<std::string>> Changes() {
    std::lock_guard lock(mu_);
    std::vector<std::vector<std::string>> out;
    for (const Document& d : details_) {
      out.push_back({d.value("event", ""), d.value("referenceFullName", ""), d.value("commitId", ""),
                     d.value("oldCommitId", "")});
    }
    return out;
  }
  std::vector<Document> Details() {
    std::lock_guard lock(mu_);
    return details_;
  }

 private:
  std::mutex mu_;
  std::vector<Document> details_;
};

std::string Pkt(std::string_view line) {
  char length[5];
  std::snprintf(length, sizeof(length), "%04zx", line.size() + 4);
  return length + std::string(line);
}

// A receive-pack request moving refs to commits the repository already has: the commands, then
// an empty pack (git's client sends one when the server lacks no object).
std::string ReceivePackBody(const std::vector<std::string>& commands) {
  std::string body;
  for (size_t i = 0; i < commands.size(); ++i) {
    body += Pkt(i == 0 ? commands[i] + std::string("\0report-status", 14) + "\n" : commands[i] + "\n");
  }
  body += "0000";
  std::string pack("PACK\0\0\0\2\0\0\0\0", 12);
  return body + pack + Sha1(pack);
}

const std::string kZero(40, '0');

class ServeGitTest : public ::testing::Test {
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
    ASSERT_TRUE(PrepareGitHosting(deps_).ok());
    Document doc = {{"repositoryId", "r-1"},
                    {"repositoryName", "demo"},
                    {"accountId", "000000000000"},
                    {"region", "us-east-1"},
                    {"arn", RepositoryArn("us-east-1", "000000000000", "demo")}};
    ASSERT_TRUE(git::InitBare(RepositoryPath(deps_, "r-1")).ok());
    ASSERT_TRUE(store_->Create(kRepositoryTable, "000000000000/us-east-1", "demo", doc).ok());
    context_.account_id = "000000000000";
    context_.region = "us-east-1";
  }

  http::Response Serve(const http::Request& request) {
    http::Response response;
    auto route = ParseGitRoute(request);
    EXPECT_TRUE(route);
    if (route) ServeGit(deps_, *route, request, context_, response);
    return response;
  }

  // A commit with one file, written into the repository's objects without moving any ref (what a
  // push's pack brings).
  std::string WriteCommit(const std::string& content, const std::string& parent = "") {
    auto repo = git::Open(RepositoryPath(deps_, "r-1"));
    EXPECT_TRUE(repo.ok());
    git_oid blob, tree, commit;
    EXPECT_EQ(git_blob_create_from_buffer(&blob, repo->get(), content.data(), content.size()), 0);
    git_treebuilder* raw = nullptr;
    EXPECT_EQ(git_treebuilder_new(&raw, repo->get(), nullptr), 0);
    git::TreeBuilder builder(raw);
    EXPECT_EQ(git_treebuilder_insert(nullptr, raw, "file.txt", &blob, GIT_FILEMODE_BLOB), 0);
    EXPECT_EQ(git_treebuilder_write(&tree, raw), 0);
    git_tree* tree_object = nullptr;
    EXPECT_EQ(git_tree_lookup(&tree_object, repo->get(), &tree), 0);
    git::Tree owned_tree(tree_object);
    git_signature* raw_signature = nullptr;
    EXPECT_EQ(git_signature_new(&raw_signature, "Dev", "dev@example.com", 1700000000, 0), 0);
    git::Signature signature(raw_signature);
    std::vector<const git_commit*> parents;
    git::Commit parent_commit;
    if (!parent.empty()) {
      git_oid parent_id;
      EXPECT_TRUE(git::ParseOid(parent, parent_id));
      git_commit* raw_parent = nullptr;
      EXPECT_EQ(git_commit_lookup(&raw_parent, repo->get(), &parent_id), 0);
      parent_commit.reset(raw_parent);
      parents.push_back(raw_parent);
    }
    EXPECT_EQ(git_commit_create(&commit, repo->get(), nullptr, signature.get(), signature.get(), nullptr,
                                content.c_str(), owned_tree.get(), parents.size(), parents.data()),
              0);
    return git::OidHex(commit);
  }

  // Moves a ref behind Gantry's back (as a push whose events were lost did).
  void SetRef(const std::string& ref, const std::string& commit) {
    auto repo = git::Open(RepositoryPath(deps_, "r-1"));
    ASSERT_TRUE(repo.ok());
    git_oid id;
    ASSERT_TRUE(git::ParseOid(commit, id));
    git_reference* raw = nullptr;
    ASSERT_EQ(git_reference_create(&raw, repo->get(), ref.c_str(), &id, 1, nullptr), 0);
    git_reference_free(raw);
  }

  http::Response Push(const std::vector<std::string>& commands) {
    context_.accept_any_credentials = true;
    http::Request request = Get("/v1/repos/demo/git-receive-pack", "POST");
    request.headers.Add("Content-Type", "application/x-git-receive-pack-request");
    request.body = ReceivePackBody(commands);
    request.body_size = request.body.size();
    return Serve(request);
  }

  Document Repository() {
    auto record = store_->Get(kRepositoryTable, "000000000000/us-east-1", "demo");
    EXPECT_TRUE(record.ok() && *record);
    return record.ok() && *record ? (*record)->doc : Document();
  }

  // The files under <work_dir>/<sub>, by name.
  std::vector<std::string> FilesUnder(const std::string& sub) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.File("codecommit/" + sub), ec)) {
      if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
    }
    return names;
  }

  // Writes a push record for r-1 through the installed post-receive hook, as git runs it.
  std::string RecordPushWithHook(const std::string& name, const std::string& lines) {
    const std::string dir = dir_.File("codecommit/pending/r-1");
    std::filesystem::create_directories(dir);
    const std::string record = dir + "/" + name + ".refs";
    const std::string command = "GANTRY_PUSH_RECORD='" + record +
                                "' GANTRY_PUSH_CONTEXT='{\"accountId\":\"000000000000\",\"region\":\"us-east-1\","
                                "\"repositoryId\":\"r-1\",\"repositoryName\":\"demo\",\"callerArn\":"
                                "\"arn:aws:iam::000000000000:user/dev\"}' " +
                                dir_.File("codecommit/hooks/post-receive");
    FILE* hook = ::popen(command.c_str(), "w");
    EXPECT_NE(hook, nullptr);
    std::fputs(lines.c_str(), hook);
    EXPECT_EQ(::pclose(hook), 0);
    return record;
  }

  store::testing::ScratchDirectory dir_;
  FakeClock clock_;
  SequentialIdSource ids_;
  std::unique_ptr<store::Store> store_;
  RecordingClient events_;
  CodeCommitDeps deps_;
  aws::HttpServeContext context_;
};

TEST_F(ServeGitTest, HooksAreInstalledExecutable) {
  for (const char* hook : {"update", "post-receive"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir_.File(std::string("codecommit/hooks/") + hook).c_str(), &st), 0) << hook;
    EXPECT_TRUE(st.st_mode & S_IXUSR) << hook;
  }
}

TEST_F(ServeGitTest, UnauthenticatedRequestsAreChallenged) {
  http::Response response = Serve(Get("/v1/repos/demo/info/refs?service=git-upload-pack"));
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.headers.Get("WWW-Authenticate"), "Basic realm=\"Gantry CodeCommit\"");
  http::Request bad = Get("/v1/repos/demo/info/refs?service=git-upload-pack");
  bad.headers.Add("Authorization", "Basic " + Base64Encode("someone:something"));
  EXPECT_EQ(Serve(bad).status, 401);
}

TEST_F(ServeGitTest, AdvertisementThroughHttpBackend) {
  context_.accept_any_credentials = true;
  http::Response response = Serve(Get("/v1/repos/demo/info/refs?service=git-upload-pack"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/x-git-upload-pack-advertisement");
  EXPECT_EQ(response.body.substr(0, 30), "001e# service=git-upload-pack\n");

  http::Request v2 = Get("/v1/repos/demo/info/refs?service=git-upload-pack");
  v2.headers.Add("Git-Protocol", "version=2");
  EXPECT_NE(Serve(v2).body.find("version 2"), std::string::npos);

  EXPECT_EQ(Serve(Get("/v1/repos/missing/info/refs?service=git-upload-pack")).status, 404);
}

TEST_F(ServeGitTest, PullAndPushAreAuthorizedOnTheRepositoryArn) {
  context_.accept_any_credentials = true;
  DenyAll deny;
  context_.authorizer = &deny;
  http::Response pull = Serve(Get("/v1/repos/demo/info/refs?service=git-upload-pack"));
  EXPECT_EQ(pull.status, 403);
  EXPECT_EQ(deny.asked, "codecommit:GitPull arn:aws:codecommit:us-east-1:000000000000:demo");
  EXPECT_EQ(Serve(Get("/v1/repos/demo/info/refs?service=git-receive-pack")).status, 403);
  EXPECT_EQ(deny.asked, "codecommit:GitPush arn:aws:codecommit:us-east-1:000000000000:demo");
}

TEST_F(ServeGitTest, PushPublishesItsEventsAndDeletesItsRecord) {
  std::string first = WriteCommit("one");
  http::Response response = Push({kZero + " " + first + " refs/heads/main"});
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("ok refs/heads/main"), std::string::npos) << response.body;
  EXPECT_EQ(events_.Changes(),
            (std::vector<std::vector<std::string>>{{"referenceCreated", "refs/heads/main", first, ""}}));
  EXPECT_EQ(events_.Details()[0]["callerUserArn"], "arn:aws:iam::000000000000:root");
  EXPECT_EQ(Repository().value("defaultBranch", ""), "main");
  EXPECT_TRUE(FilesUnder("pending").empty());
  EXPECT_TRUE(FilesUnder("spool").empty());
}

// git accepts ref names that are not UTF-8; their events carry U+FFFD, and the push is answered.
TEST_F(ServeGitTest, BranchNameThatIsNotUtf8) {
  std::string first = WriteCommit("one");
  const std::string ref = "refs/heads/caf\xe9";
  http::Response response = Push({kZero + " " + first + " " + ref});
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("ok " + ref), std::string::npos) << response.body;
  std::vector<Document> details = events_.Details();
  ASSERT_EQ(details.size(), 1u);
  EXPECT_EQ(details[0]["referenceName"], "caf\xef\xbf\xbd");
  EXPECT_EQ(details[0]["commitId"], first);
  // The API cannot name such a branch, so it does not become the default.
  EXPECT_FALSE(Repository().contains("defaultBranch"));
  EXPECT_TRUE(FilesUnder("pending").empty());
  EXPECT_TRUE(FilesUnder("spool").empty());
}

// Gantry was killed after git moved the refs and its post-receive hook wrote the record: the next
// start publishes it (events, default branch) and deletes it.
TEST_F(ServeGitTest, PushRecordLeftByACrashIsPublishedAtStart) {
  std::string first = WriteCommit("one");
  std::string second = WriteCommit("two", first);
  SetRef("refs/heads/trunk", second);
  SetRef("refs/tags/v1", first);
  // Two pushes; the older record is published first.
  std::string older = RecordPushWithHook(
      "00000000000000000001-a", kZero + " " + first + " refs/heads/trunk\n" + kZero + " " + first + " refs/tags/v1\n");
  std::string newer = RecordPushWithHook("00000000000000000002-b", first + " " + second + " refs/heads/trunk\n");
  ASSERT_TRUE(std::filesystem::exists(older));

  CodeCommitService service(deps_);
  ASSERT_TRUE(service.Start().ok());
  EXPECT_EQ(events_.Changes(), (std::vector<std::vector<std::string>>{
                                   {"referenceCreated", "refs/heads/trunk", first, ""},
                                   {"referenceCreated", "refs/tags/v1", first, ""},
                                   {"referenceUpdated", "refs/heads/trunk", second, first},
                               }));
  EXPECT_EQ(events_.Details()[0]["callerUserArn"], "arn:aws:iam::000000000000:user/dev");
  EXPECT_EQ(Repository().value("defaultBranch", ""), "trunk");
  EXPECT_TRUE(FilesUnder("pending").empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.File("codecommit/pending/r-1")));
}

// A record whose lock is held (its push is still being answered, here or by another server) is
// not published by a replay; once the lock is free, it is.
TEST_F(ServeGitTest, ReplaySkipsRecordsSomeoneHolds) {
  std::string first = WriteCommit("one");
  SetRef("refs/heads/main", first);
  std::string record = RecordPushWithHook("00000000000000000001-a", kZero + " " + first + " refs/heads/main\n");
  const std::string lock_path = record.substr(0, record.size() - 5) + ".lock";
  int held = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX), 0);
  EXPECT_EQ(ReplayPendingPushes(deps_, "r-1"), 0);
  EXPECT_TRUE(std::filesystem::exists(record));
  EXPECT_TRUE(events_.Changes().empty());
  ::close(held);
  EXPECT_EQ(ReplayPendingPushes(deps_), 1);
  EXPECT_FALSE(std::filesystem::exists(record));
  EXPECT_FALSE(std::filesystem::exists(lock_path));
  EXPECT_EQ(events_.Changes().size(), 1u);
}

// A push whose repository lost its first push's events adopts an existing branch as its default.
TEST_F(ServeGitTest, UpdatePushToRepositoryWithoutDefaultBranchAdoptsOne) {
  std::string first = WriteCommit("one");
  std::string second = WriteCommit("two", first);
  SetRef("refs/heads/feature", first);
  http::Response response = Push({first + " " + second + " refs/heads/feature"});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Repository().value("defaultBranch", ""), "feature");
  EXPECT_EQ(events_.Changes(),
            (std::vector<std::vector<std::string>>{{"referenceUpdated", "refs/heads/feature", second, first}}));
}

// A push of a tag alone: the repository adopts its first existing branch by name.
TEST_F(ServeGitTest, TagPushToRepositoryWithoutDefaultBranchAdoptsTheFirstBranch) {
  std::string first = WriteCommit("one");
  SetRef("refs/heads/zeta", first);
  SetRef("refs/heads/alpha", first);
  http::Response response = Push({kZero + " " + first + " refs/tags/v1"});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Repository().value("defaultBranch", ""), "alpha");
}

http::Request ReceivePackRequest(const std::string& body) {
  http::Request request = Get("/v1/repos/demo/git-receive-pack", "POST");
  request.body = body;
  request.body_size = body.size();
  return request;
}

std::string Gzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(ReceivePackRefsTest, CommandsUpToTheFlush) {
  const std::string a(40, 'a'), b(40, 'b');
  std::string body = ReceivePackBody(
      {kZero + " " + a + " refs/heads/main", a + " " + b + " refs/tags/v1", b + " " + kZero + " refs/heads/caf\xe9"});
  auto refs = ReceivePackRefs(ReceivePackRequest(body));
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  EXPECT_EQ(*refs, (std::vector<std::string>{"refs/heads/main", "refs/tags/v1", "refs/heads/caf\xe9"}));

  // A shallow clone's push starts with its shallow commits.
  auto shallow = ReceivePackRefs(ReceivePackRequest(Pkt("shallow " + a + "\n") + body));
  ASSERT_TRUE(shallow.ok());
  EXPECT_EQ(shallow->size(), 3u);

  // git's probe before a large chunked push is a lone flush-pkt.
  auto probe = ReceivePackRefs(ReceivePackRequest("0000"));
  ASSERT_TRUE(probe.ok());
  EXPECT_TRUE(probe->empty());
}

TEST(ReceivePackRefsTest, GzipAndFileBodies) {
  const std::string a(40, 'a');
  std::string body = ReceivePackBody({kZero + " " + a + " refs/heads/main"}) + std::string(200000, 'x');
  http::Request gzipped = ReceivePackRequest(Gzip(body));
  gzipped.headers.Add("Content-Encoding", "gzip");
  auto refs = ReceivePackRefs(gzipped);
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  EXPECT_EQ(*refs, std::vector<std::string>{"refs/heads/main"});

  store::testing::ScratchDirectory dir;
  http::Request spooled = ReceivePackRequest("");
  spooled.body_file = dir.File("body");
  std::ofstream(spooled.body_file, std::ios::binary) << Gzip(body);
  spooled.headers.Add("Content-Encoding", "gzip");
  refs = ReceivePackRefs(spooled);
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  EXPECT_EQ(*refs, std::vector<std::string>{"refs/heads/main"});
}

TEST(ReceivePackRefsTest, MalformedCommands) {
  const std::string a(40, 'a');
  auto message = [](const std::string& body, bool gzip = false) -> std::string {
    http::Request request = ReceivePackRequest(gzip ? Gzip(body) : body);
    if (gzip) request.headers.Add("Content-Encoding", "gzip");
    auto refs = ReceivePackRefs(request);
    EXPECT_FALSE(refs.ok());
    EXPECT_EQ(refs.status().code(), StatusCode::kInvalidArgument);
    return refs.status().message();
  };
  EXPECT_EQ(message(Pkt(kZero + " " + a + " refs/heads/main\n")),
            "The push request is malformed: it ends before its flush-pkt.");
  EXPECT_EQ(message("00ff" + kZero), "The push request is malformed: it ends inside a pkt-line.");
  EXPECT_EQ(message("zz000000"), "The push request is malformed: a pkt-line length is not hexadecimal.");
  EXPECT_EQ(message("0003"), "The push request is malformed: a pkt-line has an invalid length.");
  EXPECT_EQ(message(Pkt("not a command\n") + "0000"),
            "The push request is malformed: a command is not \"<old-id> <new-id> <ref>\".");
  EXPECT_EQ(message(Pkt(kZero + " " + a + "\n") + "0000"),
            "The push request is malformed: a command is not \"<old-id> <new-id> <ref>\".");
  // Truncated inside the gzip stream, before the commands' flush-pkt.
  EXPECT_EQ(message(Pkt(kZero + " " + a + " refs/heads/main\n"), /*gzip=*/true),
            "The push request is malformed: it ends before its flush-pkt.");
  http::Request corrupt = ReceivePackRequest(std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff", 12));
  corrupt.headers.Add("Content-Encoding", "gzip");
  auto refs = ReceivePackRefs(corrupt);
  ASSERT_FALSE(refs.ok());
  EXPECT_EQ(refs.status().message(), "The push request is malformed: its gzip body is corrupt.");
}

// Allows everything but GitPush with codecommit:References = refs/heads/main (a protected branch).
class ProtectMain final : public aws::Authorizer {
 public:
  Status Authorize(const aws::RequestContext&, const aws::Document&) override { return Status::Ok(); }
  Status AuthorizeAction(const aws::RequestContext& ctx, std::string_view action, std::string_view) override {
    std::string references;
    for (const auto& [key, value] : ctx.condition_keys) {
      if (key == "codecommit:References") references = value;
    }
    asked.push_back(std::string(action) + " " + references);
    if (action == "codecommit:GitPush" && references == "refs/heads/main") {
      return Status::PermissionDenied("User: " + ctx.principal.arn +
                                      " is not authorized to perform: codecommit:GitPush with an explicit deny");
    }
    return Status::Ok();
  }
  std::vector<std::string> asked;
};

TEST_F(ServeGitTest, EveryPushedRefIsAuthorizedWithItsName) {
  ProtectMain protect;
  context_.authorizer = &protect;
  std::string first = WriteCommit("one");
  http::Response denied = Push({kZero + " " + first + " refs/heads/feature", kZero + " " + first + " refs/heads/main"});
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find("explicit deny (refs/heads/main)"), std::string::npos) << denied.body;
  EXPECT_EQ(protect.asked, (std::vector<std::string>{"codecommit:GitPush ", "codecommit:GitPush refs/heads/feature",
                                                     "codecommit:GitPush refs/heads/main"}));
  // The whole push was refused: no ref moved, nothing was published.
  auto repo = git::Open(RepositoryPath(deps_, "r-1"));
  ASSERT_TRUE(repo.ok());
  git_reference* ref = nullptr;
  EXPECT_NE(git_reference_lookup(&ref, repo->get(), "refs/heads/feature"), 0);
  EXPECT_TRUE(events_.Changes().empty());

  http::Response allowed = Push({kZero + " " + first + " refs/heads/feature"});
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(events_.Changes().size(), 1u);

  http::Response malformed = Serve(ReceivePackRequest(Pkt("junk\n") + "0000"));
  EXPECT_EQ(malformed.status, 400);
}

}  // namespace
}  // namespace gantry::services::codecommit
