// LogStore: the log store engine. Streams of events (timestamp, ingestion time, sequence number,
// message) grouped in groups, both named by numbers the caller assigns and never reuses. The engine
// knows nothing of CloudWatch's wire shapes; services translate.
//
// Layout under the root directory, one directory per stream (docs/log-segments.md):
//   <group>/<stream>/MANIFEST     the sealed segments and their summaries (write-then-rename)
//   <group>/<stream>/<gen>.wal    appends not yet sealed, one record per Append
//   <group>/<stream>/<gen>.seg    an immutable zstd-compressed segment, sorted by (timestamp, seq)
//
// Durability: Append returns after its record is write(2)n to the stream's WAL, so an acknowledged
// append survives kill -9 (not a power loss: the WAL is not fsynced; segments and manifests are).
// Once a stream's unsealed events reach segment_bytes they are sealed into a segment in the
// appending thread; the sweeper also seals idle streams and streams beyond the memory budget. A
// stream is loaded on first use: its manifest is read and its WAL replayed (a torn tail is cut).
//
// Reads return events in the order (timestamp, ingestion time, stream, seq), either forward or
// backward from a Position, within a timestamp range, optionally through a FilterPattern. Only the
// segments and blocks whose time range meets the query are read, and of those only the blocks
// whose trigram filter admits the pattern's literals are decompressed; filtered reads decompress
// and match on scan_threads threads ahead of the caller's, with the results of a sequential scan.
//
// Retention: SetRetention gives a group a maximum event age; reads hide older events at once and
// the sweeper deletes whole segments past it. Time comes from the injected Clock.
//
// Thread-safety: all methods are thread-safe. Appends to one stream are serialized; reads run
// concurrently with appends and seals (they see a snapshot). Stop() joins the sweeper promptly.
#pragma once

#include <atomic>
#include <algorithm>
#include <compare>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/common/clock.h"
#include "core/common/status.h"
#include "telemetry/logs/filter_pattern.h"
#include "telemetry/logs/segment.h"

namespace gantry::telemetry::logs {

struct StreamId {
  uint64_t group = 0;
  uint64_t stream = 0;
  auto operator<=>(const StreamId&) const = default;
};

struct NewEvent {
  int64_t timestamp = 0;
  std::string_view message;
};

struct Event {
  int64_t timestamp = 0;
  int64_t ingestion_time = 0;
  uint64_t seq = 0;
  StreamId stream;
  std::string message;
};

// A place in the order of events: (timestamp, ingestion time, stream, seq).
struct Position {
  int64_t timestamp = 0;
  int64_t ingestion_time = 0;
  uint64_t stream = 0;
  uint64_t seq = 0;
  auto operator<=>(const Position&) const = default;

  static Position Of(const Event& e) { return {e.timestamp, e.ingestion_time, e.stream.stream, e.seq}; }
};

struct StreamStats {
  uint64_t events = 0;
  uint64_t stored_bytes = 0;  // message bytes
  int64_t first_timestamp = 0;
  int64_t last_timestamp = 0;
  int64_t last_ingestion_time = 0;
  uint64_t last_seq = 0;
};

struct AppendResult {
  int64_t ingestion_time = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
};

struct LogStoreOptions {
  std::string root;
  Clock* clock = SystemClock::Instance();
  size_t segment_bytes = 4 << 20;     // unsealed message bytes of a stream that trigger a seal
  size_t block_bytes = 32 << 10;      // raw bytes per compressed block (and per trigram filter)
  int compression_level = 3;
  size_t max_unsealed_bytes = 256 << 20;  // all streams together; beyond it the sweeper seals
  Duration idle_seal_after = std::chrono::minutes(10);
  Duration sweep_interval = std::chrono::seconds(30);
  // Threads that decompress and filter blocks for one filtered read (1: the reading thread alone).
  size_t scan_threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
};

struct ReadQuery {
  std::vector<StreamId> streams;  // of one group
  int64_t min_timestamp = INT64_MIN;  // inclusive
  int64_t max_timestamp = INT64_MAX;  // inclusive
  bool backward = false;
  // Forward: only events after this position; backward: only events before it.
  std::optional<Position> from;
  const FilterPattern* filter = nullptr;
  size_t limit = 10000;
  // Events fill a page until their messages plus per_event_bytes each would pass max_bytes (a page
  // holds at least one event).
  size_t max_bytes = 1 << 20;
  size_t per_event_bytes = 26;
  // Forward reads stop after decompressing about this many raw bytes (0: no budget) and say where
  // to resume.
  uint64_t scan_budget_bytes = 0;
};

struct ReadResult {
  std::vector<Event> events;  // ascending order, whichever the direction
  // False when more events may follow in the read direction; then `resume` is where to continue
  // (pass it as `from`).
  bool complete = true;
  std::optional<Position> resume;
  uint64_t scanned_bytes = 0;
  uint64_t blocks_read = 0;
  uint64_t blocks_skipped = 0;  // ruled out by their trigram filter without reading them
};

class LogStore {
 public:
  static StatusOr<std::unique_ptr<LogStore>> Open(LogStoreOptions options);
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  // Appends events (sorted by timestamp here if they are not). NotFound for a deleted stream.
  StatusOr<AppendResult> Append(StreamId stream, std::span<const NewEvent> events);

  StatusOr<ReadResult> Read(const ReadQuery& query);

  // Statistics of a stream (all zero when it holds nothing), and the sum over a group's streams.
  StatusOr<StreamStats> Stats(StreamId stream);
  StatusOr<StreamStats> GroupStats(uint64_t group);

  // Removes a stream's or a group's data; their ids are refused afterwards.
  Status DeleteStream(StreamId stream);
  Status DeleteGroup(uint64_t group);
  // Group and stream ids that have data on disk (for reconciliation with the caller's records).
  std::vector<uint64_t> ListGroups();
  std::vector<uint64_t> ListStreams(uint64_t group);

  // Events of the group older than this are hidden and their segments deleted; nullopt: kept forever.
  void SetRetention(uint64_t group, std::optional<Duration> retention);

  // One sweeper pass now: deletes expired segments, seals idle streams and streams beyond the
  // memory budget. Returns how many segments were deleted.
  StatusOr<int> Sweep();
  // Seals every stream's unsealed events (tests, benchmarks).
  Status SealAll();

  // Starts and stops the sweeper thread.
  void Start();
  void Stop();

  struct Stream;

 private:
  explicit LogStore(LogStoreOptions options) : options_(std::move(options)) {}

  std::string StreamDir(StreamId id) const;
  // The stream, loaded; NotFound when deleted.
  StatusOr<std::shared_ptr<Stream>> Acquire(StreamId id);
  Status Load(Stream& stream);
  Status Seal(Stream& stream);
  Status ExpireStream(Stream& stream, int64_t cutoff, int* deleted);
  std::optional<int64_t> Cutoff(uint64_t group) const;
  void SweepLoop();

  LogStoreOptions options_;
  mutable std::mutex mu_;
  std::map<StreamId, std::shared_ptr<Stream>> streams_;
  std::set<StreamId> deleted_streams_;
  std::set<uint64_t> deleted_groups_;
  std::map<uint64_t, Duration> retention_;
  std::atomic<uint64_t> unsealed_bytes_{0};

  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool stopping_ = false;
  bool sweep_requested_ = false;  // an append passed the memory budget
  std::thread sweeper_;
};

}  // namespace gantry::telemetry::logs
