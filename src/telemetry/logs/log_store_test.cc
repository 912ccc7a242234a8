#include "telemetry/logs/log_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "core/store/test_support.h"

namespace gantry::telemetry::logs {
namespace {

using namespace std::chrono_literals;
using store::testing::RunChildAndKill;
using store::testing::ScratchDirectory;

constexpr int64_t kBase = 1700000000000;  // the FakeClock's default start, in ms

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Open();
  }

  void Open(size_t segment_bytes = 4 << 20, size_t block_bytes = 128 << 10) {
    store_.reset();
    LogStoreOptions options;
    options.root = dir_.File("logs");
    options.clock = &clock_;
    options.segment_bytes = segment_bytes;
    options.block_bytes = block_bytes;
    auto opened = LogStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }

  AppendResult Append(StreamId id, const std::vector<std::pair<int64_t, std::string>>& events) {
    std::vector<NewEvent> batch;
    for (const auto& [ts, message] : events) batch.push_back({ts, message});
    auto result = store_->Append(id, batch);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : AppendResult{};
  }

  ReadResult Read(const ReadQuery& q) {
    auto result = store_->Read(q);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? std::move(*result) : ReadResult{};
  }

  static std::vector<std::string> Messages(const ReadResult& r) {
    std::vector<std::string> out;
    for (const auto& e : r.events) out.push_back(e.message);
    return out;
  }

  ScratchDirectory dir_;
  FakeClock clock_;
  std::unique_ptr<LogStore> store_;
};

TEST_F(LogStoreTest, ReadsForwardAndBackwardInTimestampOrder) {
  StreamId s{1, 1};
  Append(s, {{kBase + 30, "c"}, {kBase + 10, "a"}});  // sorted on append
  Append(s, {{kBase + 20, "b"}, {kBase + 40, "d"}});
  ReadQuery q;
  q.streams = {s};
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"a", "b", "c", "d"}));
  q.limit = 2;
  ReadResult first = Read(q);
  EXPECT_EQ(Messages(first), (std::vector<std::string>{"a", "b"}));
  ASSERT_FALSE(first.complete);
  q.from = first.resume;
  ReadResult second = Read(q);
  EXPECT_EQ(Messages(second), (std::vector<std::string>{"c", "d"}));
  q.backward = true;
  q.from.reset();
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"c", "d"}));
  q.from = Position::Of(second.events.front());
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"a", "b"}));
}

TEST_F(LogStoreTest, EqualTimestampsKeepIngestionOrder) {
  StreamId s{1, 1};
  Append(s, {{kBase, "first"}, {kBase, "second"}});
  clock_.Advance(1ms);
  Append(s, {{kBase, "third"}});
  ReadQuery q;
  q.streams = {s};
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"first", "second", "third"}));
  ReadResult r = Read(q);
  EXPECT_EQ(r.events[0].seq, 1u);
  EXPECT_EQ(r.events[2].seq, 3u);
  EXPECT_EQ(r.events[2].ingestion_time, kBase + 1);
}

TEST_F(LogStoreTest, TimeRangeIsInclusive) {
  StreamId s{1, 1};
  Append(s, {{kBase + 1, "1"}, {kBase + 2, "2"}, {kBase + 3, "3"}});
  ReadQuery q;
  q.streams = {s};
  q.min_timestamp = kBase + 2;
  q.max_timestamp = kBase + 3;
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"2", "3"}));
}

TEST_F(LogStoreTest, ByteLimitEndsAPageButKeepsOneEvent) {
  StreamId s{1, 1};
  Append(s, {{kBase, std::string(600, 'a')}, {kBase + 1, std::string(600, 'b')}, {kBase + 2, "c"}});
  ReadQuery q;
  q.streams = {s};
  q.max_bytes = 1000;
  ReadResult r = Read(q);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_FALSE(r.complete);
  q.max_bytes = 100;
  r = Read(q);
  EXPECT_EQ(r.events.size(), 1u);
}

TEST_F(LogStoreTest, SealsIntoSegmentsAndReadsOnlyTheBlocksInRange) {
  Open(/*segment_bytes=*/64 << 10, /*block_bytes=*/4 << 10);
  StreamId s{1, 1};
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<std::pair<int64_t, std::string>> events;
    for (int i = 0; i < 50; ++i) {
      int n = batch * 50 + i;
      events.push_back({kBase + n, "event " + std::to_string(n) + " " + std::string(50, 'x')});
    }
    Append(s, events);
  }
  ASSERT_TRUE(store_->SealAll().ok());
  EXPECT_GT(store_->ListStreams(1).size(), 0u);
  ReadQuery q;
  q.streams = {s};
  ReadResult all = Read(q);
  ASSERT_EQ(all.events.size(), 2000u);
  for (size_t i = 0; i < all.events.size(); ++i) ASSERT_EQ(all.events[i].timestamp, kBase + static_cast<int64_t>(i));
  uint64_t all_blocks = all.blocks_read;
  q.min_timestamp = kBase + 1000;
  q.max_timestamp = kBase + 1010;
  ReadResult narrow = Read(q);
  EXPECT_EQ(narrow.events.size(), 11u);
  EXPECT_LE(narrow.blocks_read, 2u);
  EXPECT_GT(all_blocks, 20u);

  // Everything survives a reopen (segments from the manifest, nothing left in a WAL).
  Open(64 << 10, 4 << 10);
  q.min_timestamp = INT64_MIN;
  q.max_timestamp = INT64_MAX;
  EXPECT_EQ(Read(q).events.size(), 2000u);
  auto stats = store_->Stats(s);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 2000u);
  EXPECT_EQ(stats->first_timestamp, kBase);
  EXPECT_EQ(stats->last_timestamp, kBase + 1999);
  EXPECT_EQ(stats->last_seq, 2000u);
}

TEST_F(LogStoreTest, FilterUsesTheRequiredLiteralAndTheFullPattern) {
  Open(16 << 10, 2 << 10);
  StreamId s{1, 1};
  for (int i = 0; i < 500; ++i) {
    std::string message = i % 50 == 0 ? "ERROR code=" + std::to_string(i) : "INFO fine " + std::to_string(i);
    if (i % 100 == 0) message += " healthcheck";
    Append(s, {{kBase + i, message}});
  }
  auto pattern = FilterPattern::Parse("ERROR -healthcheck");
  ASSERT_TRUE(pattern.ok());
  ReadQuery q;
  q.streams = {s};
  q.filter = &*pattern;
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"ERROR code=50", "ERROR code=150", "ERROR code=250",
                                                          "ERROR code=350", "ERROR code=450"}));
  auto json = FilterPattern::Parse("{ $.level = ERROR }");
  Append(s, {{kBase + 600, R"({"level":"ERROR"})"}, {kBase + 601, R"({"level":"INFO"})"}});
  q.filter = &*json;
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{R"({"level":"ERROR"})"}));
}

TEST_F(LogStoreTest, LiteralSpanningTwoMessagesIsNotAHit) {
  StreamId s{1, 1};
  Append(s, {{kBase, "xxAB"}, {kBase + 1, "CDyy"}, {kBase + 2, "zz ABCD"}});
  auto pattern = FilterPattern::Parse("ABCD");
  ReadQuery q;
  q.streams = {s};
  q.filter = &*pattern;
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"zz ABCD"}));
}

TEST_F(LogStoreTest, MergesStreamsByTimestampIngestionStreamAndSeq) {
  StreamId a{1, 1}, b{1, 2};
  Append(a, {{kBase + 2, "a2"}, {kBase + 5, "a5"}});
  Append(b, {{kBase + 1, "b1"}, {kBase + 5, "b5"}});
  clock_.Advance(1ms);
  Append(a, {{kBase + 5, "a5-later"}});
  ReadQuery q;
  q.streams = {a, b};
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"b1", "a2", "a5", "b5", "a5-later"}));
}

TEST_F(LogStoreTest, ScanBudgetResumesWithoutLosingOrRepeatingEvents) {
  Open(8 << 10, 1 << 10);
  StreamId a{1, 1}, b{1, 2};
  std::mt19937 rng(7);
  for (int i = 0; i < 600; ++i) {
    StreamId s = rng() % 2 ? a : b;
    Append(s, {{kBase + static_cast<int64_t>(rng() % 400), "m" + std::to_string(i) + (i % 7 == 0 ? " hit" : "")}});
  }
  auto pattern = FilterPattern::Parse("hit");
  ReadQuery q;
  q.streams = {a, b};
  q.filter = &*pattern;
  ReadResult full = Read(q);
  ASSERT_TRUE(full.complete);
  q.scan_budget_bytes = 3000;
  std::vector<std::string> paged;
  int pages = 0;
  while (true) {
    ReadResult page = Read(q);
    for (const auto& e : page.events) paged.push_back(e.message);
    ++pages;
    if (page.complete) break;
    ASSERT_TRUE(page.resume.has_value());
    q.from = page.resume;
    ASSERT_LT(pages, 1000);
  }
  EXPECT_GT(pages, 3);
  EXPECT_EQ(paged, Messages(full));
}

TEST_F(LogStoreTest, ScanBudgetAdvancesWhenEveryEventHasTheSameTimestamp) {
  Open(4 << 10, 1 << 10);
  StreamId s{1, 1};
  for (int i = 0; i < 200; ++i) Append(s, {{kBase, "same " + std::to_string(i) + " " + std::string(60, 'q')}});
  auto pattern = FilterPattern::Parse("same");
  ReadQuery q;
  q.streams = {s};
  q.filter = &*pattern;
  q.scan_budget_bytes = 1;
  size_t total = 0;
  for (int page = 0; page < 50; ++page) {
    ReadResult r = Read(q);
    total += r.events.size();
    if (r.complete) break;
    ASSERT_TRUE(!q.from || *q.from < *r.resume) << "a page must advance";
    q.from = r.resume;
  }
  EXPECT_EQ(total, 200u);
}

// Reads through pages of random sizes in both directions agree with a sorted reference.
TEST_F(LogStoreTest, RandomPagingMatchesAReference) {
  Open(16 << 10, 2 << 10);
  std::mt19937 rng(42);
  std::vector<StreamId> streams = {{1, 1}, {1, 2}, {1, 3}};
  std::vector<Event> reference;
  for (int batch = 0; batch < 300; ++batch) {
    StreamId s = streams[rng() % streams.size()];
    std::vector<std::pair<int64_t, std::string>> events;
    int n = 1 + static_cast<int>(rng() % 5);
    for (int i = 0; i < n; ++i) {
      events.push_back({kBase + static_cast<int64_t>(rng() % 1000), std::string(1 + rng() % 200, 'a' + rng() % 26)});
    }
    AppendResult appended = Append(s, events);
    std::stable_sort(events.begin(), events.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (int i = 0; i < n; ++i) {
      reference.push_back(Event{events[i].first, appended.ingestion_time, appended.first_seq + i, s, events[i].second});
    }
    if (batch % 37 == 0) clock_.Advance(3ms);
    if (batch == 150) {
      ASSERT_TRUE(store_->SealAll().ok());
    }
  }
  std::sort(reference.begin(), reference.end(),
            [](const Event& x, const Event& y) { return Position::Of(x) < Position::Of(y); });
  FilterPattern match_all;
  for (int run = 0; run < 4; ++run) {
    bool backward = run % 2 == 1;
    ReadQuery q;
    q.streams = streams;
    q.backward = backward;
    if (run >= 2) q.filter = &match_all;  // the parallel scan path
    q.limit = 1 + rng() % 40;
    q.max_bytes = 500 + rng() % 3000;
    std::vector<Event> got;
    while (true) {
      ReadResult page = Read(q);
      if (backward) {
        got.insert(got.begin(), page.events.begin(), page.events.end());
      } else {
        got.insert(got.end(), page.events.begin(), page.events.end());
      }
      if (page.complete) break;
      q.from = page.resume;
    }
    ASSERT_EQ(got.size(), reference.size()) << "backward=" << backward;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(Position::Of(got[i]), Position::Of(reference[i])) << i;
      ASSERT_EQ(got[i].message, reference[i].message) << i;
    }
  }
}

TEST_F(LogStoreTest, ReadsMoreSegmentsThanFilesItKeepsOpen) {
  Open(/*segment_bytes=*/1 << 10, /*block_bytes=*/256);
  std::vector<StreamId> streams = {{1, 1}, {1, 2}, {1, 3}};
  for (int i = 0; i < 600; ++i) {
    Append(streams[i % 3], {{kBase + i, "event " + std::to_string(i) + (i % 10 == 0 ? " needle " : " ") + std::string(80, 'z')}});
  }
  size_t segments = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.File("logs"))) {
    segments += entry.path().extension() == ".seg";
  }
  EXPECT_GT(segments, 40u);  // more than the 16 files a reading thread keeps open
  auto pattern = FilterPattern::Parse("needle");
  ReadQuery q;
  q.streams = streams;
  q.filter = &*pattern;
  ReadResult r = Read(q);
  ASSERT_EQ(r.events.size(), 60u);
  for (size_t i = 0; i < r.events.size(); ++i) EXPECT_EQ(r.events[i].timestamp, kBase + static_cast<int64_t>(i) * 10);
  EXPECT_GT(r.blocks_skipped, 0u);
  q.filter = nullptr;
  EXPECT_EQ(Read(q).events.size(), 600u);
}

TEST_F(LogStoreTest, RetentionHidesOldEventsAndSweepDeletesSegments) {
  Open(1 << 10, 512);
  StreamId s{7, 1};
  int64_t now = ToEpochMillis(clock_.Now());
  Append(s, {{now - 3 * 86400000LL, std::string(2000, 'o')}});
  Append(s, {{now - 1000, std::string(2000, 'n')}});
  ReadQuery q;
  q.streams = {s};
  EXPECT_EQ(Read(q).events.size(), 2u);
  store_->SetRetention(7, std::chrono::hours(24));
  EXPECT_EQ(Read(q).events.size(), 1u);
  auto deleted = store_->Sweep();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1);
  EXPECT_EQ(store_->Stats(s)->events, 1u);
  store_->SetRetention(7, std::nullopt);
  EXPECT_EQ(Read(q).events.size(), 1u);  // deleted for good
  Open(1 << 10, 512);
  EXPECT_EQ(Read(q).events.size(), 1u);
}

TEST_F(LogStoreTest, DeletedStreamsAndGroupsAreGoneAndRefused) {
  StreamId a{1, 1}, b{1, 2}, c{2, 1};
  Append(a, {{kBase, "a"}});
  Append(b, {{kBase, "b"}});
  Append(c, {{kBase, "c"}});
  EXPECT_EQ(store_->ListGroups(), (std::vector<uint64_t>{1, 2}));
  ASSERT_TRUE(store_->DeleteStream(a).ok());
  EXPECT_EQ(store_->ListStreams(1), (std::vector<uint64_t>{2}));
  std::vector<NewEvent> one = {{kBase, "x"}};
  EXPECT_EQ(store_->Append(a, one).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->DeleteGroup(1).ok());
  EXPECT_EQ(store_->ListGroups(), (std::vector<uint64_t>{2}));
  EXPECT_EQ(store_->Append(b, one).status().code(), StatusCode::kNotFound);
  ReadQuery q;
  q.streams = {b};
  EXPECT_TRUE(Read(q).events.empty());
}

TEST_F(LogStoreTest, GroupStatsSumStreams) {
  Append({3, 1}, {{kBase + 5, "12345"}});
  Append({3, 2}, {{kBase + 1, "1"}, {kBase + 9, "12"}});
  auto stats = store_->GroupStats(3);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 3u);
  EXPECT_EQ(stats->stored_bytes, 8u);
  EXPECT_EQ(stats->first_timestamp, kBase + 1);
  EXPECT_EQ(stats->last_timestamp, kBase + 9);
}

TEST_F(LogStoreTest, TornWalTailIsCutAndAppendsContinue) {
  StreamId s{1, 1};
  Append(s, {{kBase, "kept"}});
  std::string dir = dir_.File("logs/1/1");
  std::string wal;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".wal") wal = entry.path();
  }
  ASSERT_FALSE(wal.empty());
  {
    std::ofstream out(wal, std::ios::app | std::ios::binary);
    out.write("\x10\x00\x00\x00garbage", 11);
  }
  Open();
  Append(s, {{kBase + 1, "after"}});
  Open();
  ReadQuery q;
  q.streams = {s};
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"kept", "after"}));
}

TEST_F(LogStoreTest, CrashBetweenSegmentAndManifestLeavesNoDuplicates) {
  StreamId s{1, 1};
  Append(s, {{kBase, "one"}, {kBase + 1, "two"}});
  std::string dir = dir_.File("logs/1/1");
  std::string wal;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".wal") wal = entry.path();
  }
  ASSERT_FALSE(wal.empty());
  std::string saved_wal = dir_.File("saved.wal");
  std::filesystem::copy_file(wal, saved_wal);
  ASSERT_TRUE(store_->SealAll().ok());
  // Put back the state of a crash after the segment was renamed but before the manifest listed it.
  std::filesystem::remove(dir + "/MANIFEST");
  std::filesystem::copy_file(saved_wal, wal);
  Open();
  ReadQuery q;
  q.streams = {s};
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"one", "two"}));
  ASSERT_TRUE(store_->SealAll().ok());
  Open();
  EXPECT_EQ(Messages(Read(q)), (std::vector<std::string>{"one", "two"}));
}

TEST_F(LogStoreTest, AcknowledgedAppendsSurviveKill9) {
  std::string root = dir_.File("killed");
  int acknowledged = RunChildAndKill(
      [&](const std::function<void()>& ack) {
        LogStoreOptions options;
        options.root = root;
        options.segment_bytes = 32 << 10;  // seals happen while the child is killed
        options.block_bytes = 4 << 10;
        auto opened = LogStore::Open(options);
        if (!opened.ok()) return;
        for (int i = 0;; ++i) {
          std::string message = "event " + std::to_string(i) + " " + std::string(100, 'p');
          std::vector<NewEvent> batch = {{kBase + i, message}};
          if (!(*opened)->Append(StreamId{1, 1}, batch).ok()) return;
          ack();
        }
      },
      3000);
  ASSERT_GE(acknowledged, 3000);
  LogStoreOptions options;
  options.root = root;
  auto reopened = LogStore::Open(options);
  ASSERT_TRUE(reopened.ok());
  ReadQuery q;
  q.streams = {StreamId{1, 1}};
  q.limit = 1000000;
  q.max_bytes = SIZE_MAX;
  auto result = (*reopened)->Read(q);
  ASSERT_TRUE(result.ok());
  ASSERT_GE(result->events.size(), static_cast<size_t>(acknowledged));
  for (size_t i = 0; i < result->events.size(); ++i) {
    ASSERT_EQ(result->events[i].timestamp, kBase + static_cast<int64_t>(i));
    ASSERT_EQ(result->events[i].seq, i + 1);
  }
}

TEST_F(LogStoreTest, SweeperThreadStopsPromptly) {
  store_->Start();
  auto start = std::chrono::steady_clock::now();
  store_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(SegmentFormat, ManifestRoundTripsAndRejectsCorruption) {
  Manifest m;
  m.next_generation = 9;
  m.last_seq = 77;
  SegmentSummary s;
  s.generation = 8;
  s.min_timestamp = -5;
  s.max_timestamp = 99;
  s.count = 3;
  m.segments.push_back(s);
  std::string bytes = EncodeManifest(m);
  auto decoded = DecodeManifest(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->next_generation, 9u);
  EXPECT_EQ(decoded->segments.at(0).min_timestamp, -5);
  bytes[20] ^= 1;
  EXPECT_FALSE(DecodeManifest(bytes).ok());
}

TEST(SegmentFormat, BlockDecodeRejectsMalformedBytes) {
  std::vector<EventRecord> records = {{1, 2, 3, "hello"}, {4, 5, 6, "world"}};
  std::string raw = Block::Encode(records);
  auto block = Block::Decode(raw);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ((*block)->message(1), "world");
  EXPECT_EQ((*block)->EventAt(5), 1u);
  EXPECT_FALSE(Block::Decode(raw.substr(0, raw.size() - 1)).ok());
  EXPECT_FALSE(Block::Decode("x").ok());
}

}  // namespace
}  // namespace gantry::telemetry::logs
