#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/common/clock.h"
#include "core/store/sqlite_store.h"
#include "core/store/store.h"
#include "core/store/test_support.h"

namespace gantry::store {
namespace {

using nlohmann::json;

constexpr char kRules[] = "events.rule";
constexpr char kScope[] = "000000000000/us-east-1";

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.File("state.db");
    Reopen();
  }

  void Reopen() {
    store_.reset();
    SqliteStoreOptions options;
    options.clock = &clock_;
    auto opened = OpenSqliteStore(path_, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }

  std::vector<std::string> Keys(const ListPage& page) {
    std::vector<std::string> keys;
    for (const Record& r : page.records) keys.push_back(r.key);
    return keys;
  }

  // Reads one integer with plain SQLite, bypassing the store.
  int64_t QueryInt(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    int64_t value = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
  }

  testing::ScratchDirectory dir_;
  std::string path_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, CreateGetUpdateDelete) {
  int64_t t0 = ToEpochMillis(clock_.Now());
  auto created = store_->Create(kRules, kScope, "r1", {{"State", "ENABLED"}});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(*created, 1);

  auto again = store_->Create(kRules, kScope, "r1", {{"State", "DISABLED"}});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);

  auto got = store_->Get(kRules, kScope, "r1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->key, "r1");
  EXPECT_EQ((*got)->doc, json({{"State", "ENABLED"}}));
  EXPECT_EQ((*got)->version, 1);
  EXPECT_EQ((*got)->created_millis, t0);
  EXPECT_EQ((*got)->updated_millis, t0);

  clock_.Advance(std::chrono::seconds(5));
  auto updated = store_->Update(kRules, kScope, "r1", {{"State", "DISABLED"}});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(*updated, 2);
  got = store_->Get(kRules, kScope, "r1");
  EXPECT_EQ((*got)->doc["State"], "DISABLED");
  EXPECT_EQ((*got)->created_millis, t0);
  EXPECT_EQ((*got)->updated_millis, t0 + 5000);

  auto put = store_->Put(kRules, kScope, "r1", {{"State", "ENABLED"}});
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(*put, 3);
  auto put_new = store_->Put(kRules, kScope, "r2", json::array({1, 2}));
  ASSERT_TRUE(put_new.ok());
  EXPECT_EQ(*put_new, 1);

  EXPECT_EQ(store_->Update(kRules, kScope, "missing", json::object()).status().code(),
            StatusCode::kNotFound);

  auto deleted = store_->Delete(kRules, kScope, "r1");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  deleted = store_->Delete(kRules, kScope, "r1");
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
  got = store_->Get(kRules, kScope, "r1");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(*store_->Count(kRules, kScope), 1);
}

TEST_F(SqliteStoreTest, TablesAndScopesAreSeparate) {
  ASSERT_TRUE(store_->Put(kRules, kScope, "k", 1).ok());
  ASSERT_TRUE(store_->Put(kRules, "000000000000/eu-west-1", "k", 2).ok());
  ASSERT_TRUE(store_->Put("events.bus", kScope, "k", 3).ok());
  ASSERT_TRUE(store_->Put("iam.user", "", "k", 4).ok());  // an empty scope is allowed
  EXPECT_EQ((*store_->Get(kRules, kScope, "k"))->doc, 1);
  EXPECT_EQ((*store_->Get(kRules, "000000000000/eu-west-1", "k"))->doc, 2);
  EXPECT_EQ((*store_->Get("events.bus", kScope, "k"))->doc, 3);
  EXPECT_EQ((*store_->Get("iam.user", "", "k"))->doc, 4);
  EXPECT_EQ(*store_->Count(kRules, kScope), 1);
  EXPECT_EQ(store_->List(kRules, kScope)->records.size(), 1u);
}

TEST_F(SqliteStoreTest, OptimisticConcurrency) {
  ASSERT_TRUE(store_->Create(kRules, kScope, "r", {{"n", 0}}).ok());
  auto v2 = store_->Update(kRules, kScope, "r", {{"n", 1}}, 1);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, 2);

  auto stale = store_->Update(kRules, kScope, "r", {{"n", 99}}, 1);
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
  EXPECT_NE(stale.status().message().find("version 2"), std::string::npos);
  EXPECT_EQ((*store_->Get(kRules, kScope, "r"))->doc["n"], 1);

  EXPECT_EQ(store_->Delete(kRules, kScope, "r", 1).status().code(), StatusCode::kConflict);
  EXPECT_TRUE((*store_->Get(kRules, kScope, "r")).has_value());
  EXPECT_TRUE(*store_->Delete(kRules, kScope, "r", 2));
  EXPECT_FALSE(*store_->Delete(kRules, kScope, "r", 2));
  EXPECT_EQ(store_->Update(kRules, kScope, "r", {}, 2).status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ListPaginatesInByteOrder) {
  std::vector<std::string> keys = {"b", "a", "B", "a/b", "a0", "\xc3\xa9", "a\x7f", "Z", "aa", "~"};
  for (const std::string& k : keys) ASSERT_TRUE(store_->Put(kRules, kScope, k, k).ok());
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());  // char_traits<char> compares as unsigned char

  auto all = store_->List(kRules, kScope);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Keys(*all), sorted);
  EXPECT_EQ(all->next_token, "");
  EXPECT_EQ(all->records[0].doc, sorted[0]);

  for (int limit : {1, 3, 5, 10, 11}) {
    std::vector<std::string> seen;
    ListOptions options;
    options.limit = limit;
    int pages = 0;
    while (true) {
      auto page = store_->List(kRules, kScope, options);
      ASSERT_TRUE(page.ok());
      ASSERT_LE(page->records.size(), static_cast<size_t>(limit));
      for (const std::string& k : Keys(*page)) seen.push_back(k);
      ++pages;
      if (page->next_token.empty()) break;
      EXPECT_EQ(page->next_token, page->records.back().key);
      options.start_after = page->next_token;
    }
    EXPECT_EQ(seen, sorted) << "limit " << limit;
    // A page that ends exactly at the last record carries no token (no empty trailing page).
    EXPECT_EQ(pages, (static_cast<int>(sorted.size()) + limit - 1) / limit) << "limit " << limit;
  }
}

TEST_F(SqliteStoreTest, ListAndCountByPrefix) {
  for (const char* k : {"ru", "rule/a", "rule/b", "rule/c", "rule0", "rulez", "rule", "s"}) {
    ASSERT_TRUE(store_->Put(kRules, kScope, k, json::object()).ok());
  }
  ListOptions options;
  options.prefix = "rule/";
  EXPECT_EQ(Keys(*store_->List(kRules, kScope, options)),
            (std::vector<std::string>{"rule/a", "rule/b", "rule/c"}));
  EXPECT_EQ(*store_->Count(kRules, kScope, "rule/"), 3);
  EXPECT_EQ(*store_->Count(kRules, kScope, "rule"), 6);
  EXPECT_EQ(*store_->Count(kRules, kScope, "x"), 0);
  EXPECT_EQ(*store_->Count(kRules, kScope), 8);

  options.limit = 2;
  auto first = store_->List(kRules, kScope, options);
  EXPECT_EQ(Keys(*first), (std::vector<std::string>{"rule/a", "rule/b"}));
  EXPECT_EQ(first->next_token, "rule/b");
  options.start_after = first->next_token;
  auto second = store_->List(kRules, kScope, options);
  EXPECT_EQ(Keys(*second), (std::vector<std::string>{"rule/c"}));
  EXPECT_EQ(second->next_token, "");

  // A token before the prefix range starts at the prefix; one past it yields nothing.
  options.start_after = "a";
  EXPECT_EQ(Keys(*store_->List(kRules, kScope, options)),
            (std::vector<std::string>{"rule/a", "rule/b"}));
  options.start_after = "rule0";
  EXPECT_TRUE(store_->List(kRules, kScope, options)->records.empty());
}

TEST_F(SqliteStoreTest, PrefixOfHighBytes) {
  for (const char* k : {"\xfe", "\xff", "\xff\xff", "\xff" "a", "a"}) {
    ASSERT_TRUE(store_->Put(kRules, kScope, k, 0).ok());
  }
  ListOptions options;
  options.prefix = "\xff";
  EXPECT_EQ(Keys(*store_->List(kRules, kScope, options)),
            (std::vector<std::string>{"\xff", "\xff" "a", "\xff\xff"}));
  EXPECT_EQ(*store_->Count(kRules, kScope, "\xff\xff"), 1);
  EXPECT_EQ(*store_->Count(kRules, kScope, "\xfe"), 1);
}

TEST_F(SqliteStoreTest, RejectsInvalidInput) {
  EXPECT_EQ(store_->Put(kRules, kScope, "", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put("", kScope, "k", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put(kRules, kScope, std::string("a\0b", 3), 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Get(kRules, std::string("s\0", 2), "k").status().code(),
            StatusCode::kInvalidArgument);
  ListOptions negative;
  negative.limit = -1;
  EXPECT_EQ(store_->List(kRules, kScope, negative).status().code(), StatusCode::kInvalidArgument);
  auto bad_utf8 = store_->Put(kRules, kScope, "k", json{{"name", "\xff\xfe"}});
  EXPECT_EQ(bad_utf8.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->NextSequence("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*store_->Count(kRules, kScope), 0);
}

TEST_F(SqliteStoreTest, TransactionCommits) {
  Status status = store_->Transact([](Transaction& tx) -> Status {
    GANTRY_RETURN_IF_ERROR(tx.Create(kRules, kScope, "a", 1).status());
    GANTRY_RETURN_IF_ERROR(tx.Create(kRules, kScope, "b", 2).status());
    auto seen = tx.Get(kRules, kScope, "a");  // a transaction reads its own writes
    if (!seen.ok() || !seen->has_value()) return Status::Internal("own write not visible");
    GANTRY_RETURN_IF_ERROR(tx.Update(kRules, kScope, "a", 10, 1).status());
    GANTRY_RETURN_IF_ERROR(tx.NextSequence("build").status());
    return Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ((*store_->Get(kRules, kScope, "a"))->doc, 10);
  EXPECT_EQ((*store_->Get(kRules, kScope, "b"))->doc, 2);
  EXPECT_EQ(*store_->NextSequence("build"), 2);
}

TEST_F(SqliteStoreTest, TransactionRollsBackOnError) {
  ASSERT_TRUE(store_->Put(kRules, kScope, "keep", 1).ok());
  Status status = store_->Transact([](Transaction& tx) -> Status {
    GANTRY_RETURN_IF_ERROR(tx.Put(kRules, kScope, "new", 1).status());
    GANTRY_RETURN_IF_ERROR(tx.Put(kRules, kScope, "keep", 2).status());
    GANTRY_RETURN_IF_ERROR(tx.Delete(kRules, kScope, "keep").status());
    GANTRY_RETURN_IF_ERROR(tx.NextSequence("build").status());
    // Fails with AlreadyExists: "new" exists inside the transaction.
    return tx.Create(kRules, kScope, "new", 3).status();
  });
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE((*store_->Get(kRules, kScope, "new")).has_value());
  auto keep = store_->Get(kRules, kScope, "keep");
  ASSERT_TRUE(keep->has_value());
  EXPECT_EQ((*keep)->doc, 1);
  EXPECT_EQ((*keep)->version, 1);
  EXPECT_EQ(*store_->NextSequence("build"), 1);
}

TEST_F(SqliteStoreTest, TransactionRollsBackOnException) {
  Status status = store_->Transact([](Transaction& tx) -> Status {
    (void)tx.Put(kRules, kScope, "x", 1);
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("boom"), std::string::npos);
  EXPECT_FALSE((*store_->Get(kRules, kScope, "x")).has_value());
  EXPECT_TRUE(store_->Put(kRules, kScope, "y", 1).ok());  // the store is usable afterwards
}

TEST_F(SqliteStoreTest, MisuseInsideTransactionFailsInsteadOfDeadlocking) {
  Status status = store_->Transact([&](Transaction& tx) -> Status {
    auto nested = store_->Get(kRules, kScope, "k");
    EXPECT_EQ(nested.status().code(), StatusCode::kFailedPrecondition);
    Status inner = store_->Transact([](Transaction&) { return Status::Ok(); });
    EXPECT_EQ(inner.code(), StatusCode::kFailedPrecondition);
    return tx.Put(kRules, kScope, "k", 1).status();
  });
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE((*store_->Get(kRules, kScope, "k")).has_value());
}

TEST_F(SqliteStoreTest, SequencesAreDurableAndIndependent) {
  EXPECT_EQ(*store_->NextSequence("a"), 1);
  EXPECT_EQ(*store_->NextSequence("a"), 2);
  EXPECT_EQ(*store_->NextSequence("b"), 1);
  Reopen();
  EXPECT_EQ(*store_->NextSequence("a"), 3);
  EXPECT_EQ(*store_->NextSequence("b"), 2);
}

TEST_F(SqliteStoreTest, ConcurrentThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  ASSERT_TRUE(store_->Create(kRules, kScope, "counter", {{"n", 0}}).ok());
  std::vector<std::vector<int64_t>> sequences(kThreads);
  std::atomic<int> conflicts = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        sequences[t].push_back(*store_->NextSequence("ids"));
        ASSERT_TRUE(store_->Put(kRules, kScope, "t" + std::to_string(t) + "-" + std::to_string(i), i).ok());
        // Read-modify-write with optimistic concurrency, retried on conflict.
        while (true) {
          auto current = store_->Get(kRules, kScope, "counter");
          ASSERT_TRUE(current.ok());
          json doc = (*current)->doc;
          doc["n"] = doc["n"].get<int>() + 1;
          auto written = store_->Update(kRules, kScope, "counter", doc, (*current)->version);
          if (written.ok()) break;
          ASSERT_EQ(written.status().code(), StatusCode::kConflict);
          ++conflicts;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> all;
  for (const auto& s : sequences) all.insert(s.begin(), s.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kPerThread);
  EXPECT_EQ((*store_->Get(kRules, kScope, "counter"))->doc["n"], kThreads * kPerThread);
  EXPECT_EQ(*store_->Count(kRules, kScope, "t"), kThreads * kPerThread);
}

TEST_F(SqliteStoreTest, DurableAcrossReopen) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store_->Put(kRules, kScope, "k" + std::to_string(i), {{"i", i}}).ok());
  }
  ASSERT_TRUE(store_->Update(kRules, kScope, "k7", {{"i", 700}}).ok());
  Reopen();
  EXPECT_EQ(*store_->Count(kRules, kScope), 50);
  auto k7 = store_->Get(kRules, kScope, "k7");
  EXPECT_EQ((*k7)->doc["i"], 700);
  EXPECT_EQ((*k7)->version, 2);
}

TEST_F(SqliteStoreTest, OpensInWalModeWithPrivateFile) {
  EXPECT_EQ(QueryInt("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SqliteStoreTest, MigrationsApplyOnceAndSurviveReopen) {
  ASSERT_TRUE(store_->Put(kRules, kScope, "k", 1).ok());
  for (int i = 0; i < 3; ++i) Reopen();
  int64_t latest = LatestSqliteSchemaVersion();
  EXPECT_GE(latest, 1);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM schema_migrations"), latest);
  EXPECT_EQ(QueryInt("SELECT max(version) FROM schema_migrations"), latest);
  EXPECT_EQ((*store_->Get(kRules, kScope, "k"))->doc, 1);
}

TEST_F(SqliteStoreTest, RefusesNewerSchema) {
  store_.reset();
  QueryInt("INSERT INTO schema_migrations (version, description, applied_ms) VALUES (999, 'future', 0)");
  ASSERT_EQ(QueryInt("SELECT max(version) FROM schema_migrations"), 999);
  auto opened = OpenSqliteStore(path_);
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("999"), std::string::npos);
}

TEST(SqliteStoreOpenTest, MissingDirectoryIsNotFound) {
  testing::ScratchDirectory dir;
  auto opened = OpenSqliteStore(dir.File("no/such/dir/state.db"));
  EXPECT_EQ(opened.status().code(), StatusCode::kNotFound);
}

std::string Key(int i) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "k%08d", i);
  return buffer;
}

// Every write acknowledged to the (child) client is present after kill -9, and at most the one
// write in flight at the kill is there beyond them.
TEST(SqliteStoreCrashTest, AcknowledgedWritesSurviveKill9) {
  testing::ScratchDirectory dir;
  std::string path = dir.File("state.db");
  constexpr int kKillAfter = 300;
  int acknowledged = testing::RunChildAndKill(
      [&](const std::function<void()>& acknowledge) {
        auto store = OpenSqliteStore(path);
        if (!store.ok()) ::_exit(2);
        for (int i = 0;; ++i) {
          if (!(*store)->Put(kRules, kScope, Key(i), {{"i", i}}).ok()) ::_exit(3);
          acknowledge();
        }
      },
      kKillAfter);
  ASSERT_GE(acknowledged, kKillAfter) << "the child died before the kill";

  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (int i = 0; i < acknowledged; ++i) {
    auto record = (*store)->Get(kRules, kScope, Key(i));
    ASSERT_TRUE(record.ok());
    ASSERT_TRUE(record->has_value()) << "acknowledged record " << i << " lost";
    EXPECT_EQ((**record).doc["i"], i);
  }
  int64_t count = *(*store)->Count(kRules, kScope);
  EXPECT_GE(count, acknowledged);
  EXPECT_LE(count, acknowledged + 1);
}

// Transactions are atomic across kill -9: each writes a pair of records, and a pair is found
// whole or not at all.
TEST(SqliteStoreCrashTest, TransactionsAreAtomicUnderKill9) {
  testing::ScratchDirectory dir;
  std::string path = dir.File("state.db");
  constexpr int kKillAfter = 200;
  int acknowledged = testing::RunChildAndKill(
      [&](const std::function<void()>& acknowledge) {
        auto store = OpenSqliteStore(path);
        if (!store.ok()) ::_exit(2);
        for (int i = 0;; ++i) {
          Status status = (*store)->Transact([&](Transaction& tx) -> Status {
            GANTRY_RETURN_IF_ERROR(tx.Create("pair.a", kScope, Key(i), i).status());
            GANTRY_RETURN_IF_ERROR(tx.NextSequence("pairs").status());
            return tx.Create("pair.b", kScope, Key(i), i).status();
          });
          if (!status.ok()) ::_exit(3);
          acknowledge();
        }
      },
      kKillAfter);
  ASSERT_GE(acknowledged, kKillAfter);

  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  int64_t a = *(*store)->Count("pair.a", kScope);
  int64_t b = *(*store)->Count("pair.b", kScope);
  EXPECT_EQ(a, b);
  EXPECT_GE(a, acknowledged);
  EXPECT_LE(a, acknowledged + 1);
  EXPECT_EQ(*(*store)->NextSequence("pairs"), a + 1);
  auto page_a = (*store)->List("pair.a", kScope);
  auto page_b = (*store)->List("pair.b", kScope);
  for (size_t i = 0; i < page_a->records.size(); ++i) {
    EXPECT_EQ(page_a->records[i].key, Key(static_cast<int>(i)));
    EXPECT_EQ(page_b->records[i].key, Key(static_cast<int>(i)));
  }
}

}  // namespace
}  // namespace gantry::store
