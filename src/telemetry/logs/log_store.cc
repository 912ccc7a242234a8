#include "telemetry/logs/log_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <filesystem>
#include <thread>

#include "core/common/log.h"

namespace gantry::telemetry::logs {

namespace {

constexpr char kManifestName[] = "MANIFEST";

std::string GenerationName(uint64_t generation, const char* suffix) {
  char name[40];
  std::snprintf(name, sizeof(name), "%012llu%s", static_cast<unsigned long long>(generation), suffix);
  return name;
}

// Parses "<digits><suffix>"; nullopt for other names.
std::optional<uint64_t> ParseGeneration(std::string_view name, std::string_view suffix) {
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) return std::nullopt;
  std::string_view digits = name.substr(0, name.size() - suffix.size());
  if (digits.empty() || digits.size() > 19 || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::stoull(std::string(digits));
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  return names;
}

std::vector<uint64_t> NumericEntries(const std::string& dir) {
  std::vector<uint64_t> ids;
  for (const std::string& name : ListDir(dir)) {
    if (auto id = ParseGeneration(name, "")) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status Errno(std::string_view what, const std::string& path) {
  return Status::Internal(std::string(what) + " " + path + ": " + std::strerror(errno));
}

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path);
    return Errno("open", path);
  }
  std::string data;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Errno("read", path);
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

bool Overlaps(int64_t min_a, int64_t max_a, int64_t min_b, int64_t max_b) { return min_a <= max_b && min_b <= max_a; }

bool FirstByteIsJson(std::string_view message) {
  for (char c : message) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' || c == '[';
  }
  return false;
}

}  // namespace

// A sealed segment of a stream; its block index is read on first use.
struct SegmentRef {
  SegmentSummary summary;
  std::string path;
  std::mutex mu;
  std::shared_ptr<const SegmentIndex> index;
};

struct LogStore::Stream {
  StreamId id;
  std::string dir;
  std::mutex mu;
  bool loaded = false;
  bool deleted = false;
  bool dir_exists = false;
  Manifest manifest;
  std::vector<std::shared_ptr<SegmentRef>> segments;
  std::vector<std::shared_ptr<const Block>> tail;  // unsealed batches, each sorted
  uint64_t tail_bytes = 0;                          // raw bytes of the tail
  uint64_t wal_generation = 1;                      // the WAL new appends go to
  uint64_t last_seq = 0;
  int64_t last_ingestion = 0;
  std::chrono::steady_clock::time_point last_append = std::chrono::steady_clock::now();
};

namespace {

// The segment files one reading thread has open: the few used last (blocks of several streams'
// segments interleave in time order), so a read over thousands of segments holds few descriptors.
class SegmentFiles {
 public:
  SegmentFiles() = default;
  SegmentFiles(const SegmentFiles&) = delete;
  SegmentFiles& operator=(const SegmentFiles&) = delete;
  ~SegmentFiles() {
    for (const auto& [segment, fd] : open_) ::close(fd);
  }

  // The segment's file; -1 when it was deleted meanwhile (expired, or its stream deleted).
  StatusOr<int> Get(const SegmentRef& segment) {
    for (size_t i = 0; i < open_.size(); ++i) {
      if (open_[i].first == &segment) {
        std::rotate(open_.begin() + static_cast<std::ptrdiff_t>(i), open_.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                    open_.end());
        return open_.back().second;
      }
    }
    int fd = ::open(segment.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return -1;
      return Errno("open", segment.path);
    }
    if (open_.size() == kMaxOpen) {
      ::close(open_.front().second);
      open_.erase(open_.begin());
    }
    open_.emplace_back(&segment, fd);
    return fd;
  }

 private:
  static constexpr size_t kMaxOpen = 16;
  std::vector<std::pair<const SegmentRef*, int>> open_;  // least recently used first
};

// One block a read may have to look at: in a segment file or in a stream's unsealed tail.
struct BlockRef {
  int64_t min_timestamp = 0;
  int64_t max_timestamp = 0;
  uint64_t raw_size = 0;
  StreamId stream;
  std::shared_ptr<const Block> memory;
  std::shared_ptr<SegmentRef> segment;
  BlockInfo info;
};

// Keeps the best events seen so far in the read direction, within the count and byte limits.
class Collector {
 public:
  explicit Collector(const ReadQuery& q) : q_(q) {}

  // Whether a comes before b in the read direction.
  bool Before(const Position& a, const Position& b) const { return q_.backward ? b < a : a < b; }

  // Whether an event at p could still make the page.
  bool Wanted(const Position& p) {
    if (dropped_ && !Before(p, *dropped_)) return false;
    if (heap_.size() >= q_.limit && !heap_.empty() && !Before(p, Position::Of(heap_.front()))) {
      Drop(p);
      return false;
    }
    return true;
  }

  void Offer(Event event) {
    bytes_ += Size(event);
    heap_.push_back(std::move(event));
    std::push_heap(heap_.begin(), heap_.end(), Worse());
    while (heap_.size() > q_.limit || (heap_.size() > 1 && bytes_ > q_.max_bytes)) {
      std::pop_heap(heap_.begin(), heap_.end(), Worse());
      bytes_ -= Size(heap_.back());
      Drop(Position::Of(heap_.back()));
      heap_.pop_back();
    }
  }

  // Whether no event of the block can make the page any more.
  bool Finished(const BlockRef& next) const {
    if (!dropped_) return false;
    return q_.backward ? next.max_timestamp < dropped_->timestamp : next.min_timestamp > dropped_->timestamp;
  }

  const std::optional<Position>& dropped() const { return dropped_; }

  std::vector<Event> Take() {
    std::sort(heap_.begin(), heap_.end(), [](const Event& a, const Event& b) { return Position::Of(a) < Position::Of(b); });
    return std::move(heap_);
  }

 private:
  // Heap order: the front is the event that leaves first (the last in the read direction).
  struct WorseOrder {
    bool backward;
    bool operator()(const Event& a, const Event& b) const {
      return backward ? Position::Of(b) < Position::Of(a) : Position::Of(a) < Position::Of(b);
    }
  };
  WorseOrder Worse() const { return WorseOrder{q_.backward}; }
  size_t Size(const Event& e) const { return e.message.size() + q_.per_event_bytes; }
  void Drop(const Position& p) {
    if (!dropped_ || Before(p, *dropped_)) dropped_ = p;
  }

  const ReadQuery& q_;
  std::vector<Event> heap_;
  size_t bytes_ = 0;
  std::optional<Position> dropped_;
};

// Takes every event offered: what a parallel scan worker hands back to the reading thread.
struct EventList {
  std::vector<Event> events;
  bool Wanted(const Position&) const { return true; }
  void Offer(Event event) { events.push_back(std::move(event)); }
};

// Offers the events of one block that pass the query to `out` (a Collector or an EventList).
template <typename Sink>
void ScanBlock(const Block& block, StreamId stream, const ReadQuery& q, int64_t min_ts, Sink& out) {
  size_t lo = 0, hi = block.size();
  if (block.sorted() && hi > 0) {
    // Events are in timestamp order: narrow to the query's range.
    size_t a = 0, b = hi;
    while (a < b) {
      size_t m = (a + b) / 2;
      if (block.timestamp(m) < min_ts) a = m + 1;
      else b = m;
    }
    lo = a;
    a = lo, b = hi;
    while (a < b) {
      size_t m = (a + b) / 2;
      if (block.timestamp(m) <= q.max_timestamp) a = m + 1;
      else b = m;
    }
    hi = a;
  }
  if (lo >= hi) return;
  const FilterPattern* filter = q.filter != nullptr && q.filter->kind() != FilterPattern::Kind::kAll ? q.filter : nullptr;
  auto consider = [&](size_t i) {
    int64_t ts = block.timestamp(i);
    if (ts < min_ts || ts > q.max_timestamp) return;
    Position p{ts, block.ingestion_time(i), stream.stream, block.seq(i)};
    if (q.from && !(q.backward ? p < *q.from : *q.from < p)) return;
    if (!out.Wanted(p)) return;
    std::string_view message = block.message(i);
    if (filter != nullptr) {
      if (filter->json_only() && !FirstByteIsJson(message)) return;
      if (!filter->Matches(message)) return;
    }
    out.Offer(Event{ts, p.ingestion_time, p.seq, stream, std::string(message)});
  };
  const std::string* literal = filter != nullptr && !filter->required_literal().empty() ? &filter->required_literal() : nullptr;
  if (literal == nullptr) {
    for (size_t i = lo; i < hi; ++i) consider(i);
    return;
  }
  // Look for the literal across the messages of the range at once; test only the events it hits.
  const char* base = block.messages();
  size_t pos = lo == 0 ? 0 : block.end(lo - 1);
  const size_t stop = block.end(hi - 1);
  while (pos < stop) {
    const void* hit = ::memmem(base + pos, stop - pos, literal->data(), literal->size());
    if (hit == nullptr) break;
    size_t offset = static_cast<const char*>(hit) - base;
    size_t i = block.EventAt(offset);
    if (offset + literal->size() <= block.end(i)) {
      consider(i);
      pos = block.end(i);
    } else {
      pos = offset + 1;
    }
  }
}

}  // namespace

StatusOr<std::unique_ptr<LogStore>> LogStore::Open(LogStoreOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(options.root, ec);
  if (ec) return Status::Internal("cannot create " + options.root + ": " + ec.message());
  return std::unique_ptr<LogStore>(new LogStore(std::move(options)));
}

LogStore::~LogStore() { Stop(); }

std::string LogStore::StreamDir(StreamId id) const {
  return options_.root + "/" + std::to_string(id.group) + "/" + std::to_string(id.stream);
}

StatusOr<std::shared_ptr<LogStore::Stream>> LogStore::Acquire(StreamId id) {
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard lock(mu_);
    if (deleted_groups_.count(id.group) > 0 || deleted_streams_.count(id) > 0) {
      return Status::NotFound("log stream " + std::to_string(id.group) + "/" + std::to_string(id.stream) + " was deleted");
    }
    auto& slot = streams_[id];
    if (!slot) {
      slot = std::make_shared<Stream>();
      slot->id = id;
      slot->dir = StreamDir(id);
    }
    stream = slot;
  }
  std::lock_guard lock(stream->mu);
  if (stream->deleted) return Status::NotFound("log stream was deleted");
  if (!stream->loaded) GANTRY_RETURN_IF_ERROR(Load(*stream));
  return stream;
}

Status LogStore::Load(Stream& s) {
  struct stat st;
  s.dir_exists = ::stat(s.dir.c_str(), &st) == 0;
  if (!s.dir_exists) {
    s.loaded = true;
    return Status::Ok();
  }
  auto manifest_bytes = ReadWholeFile(s.dir + "/" + kManifestName);
  if (manifest_bytes.ok()) {
    GANTRY_ASSIGN_OR_RETURN(s.manifest, DecodeManifest(*manifest_bytes));
  } else if (manifest_bytes.status().code() != StatusCode::kNotFound) {
    return manifest_bytes.status();
  }
  std::set<uint64_t> live;
  s.last_seq = s.manifest.last_seq;
  for (const SegmentSummary& summary : s.manifest.segments) {
    auto ref = std::make_shared<SegmentRef>();
    ref->summary = summary;
    ref->path = s.dir + "/" + GenerationName(summary.generation, ".seg");
    s.segments.push_back(ref);
    live.insert(summary.generation);
    s.last_seq = std::max(s.last_seq, summary.max_seq);
    s.last_ingestion = std::max(s.last_ingestion, summary.max_ingestion_time);
  }
  std::vector<uint64_t> wals;
  for (const std::string& name : ListDir(s.dir)) {
    std::string path = s.dir + "/" + name;
    if (auto gen = ParseGeneration(name, ".wal")) {
      if (*gen < s.manifest.next_generation) {
        ::unlink(path.c_str());  // sealed before a crash removed it
      } else {
        wals.push_back(*gen);
      }
    } else if (auto seg = ParseGeneration(name, ".seg")) {
      if (live.count(*seg) == 0) ::unlink(path.c_str());  // written, never listed: its WAL is replayed
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      ::unlink(path.c_str());
    }
  }
  std::sort(wals.begin(), wals.end());
  s.wal_generation = wals.empty() ? s.manifest.next_generation : wals.back();
  for (uint64_t gen : wals) {
    std::string path = s.dir + "/" + GenerationName(gen, ".wal");
    GANTRY_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
    size_t valid = 0;
    std::vector<std::string> records = ParseWal(bytes, &valid);
    if (valid < bytes.size()) {
      GANTRY_LOG(kWarn, "log store: cutting a torn tail of " << (bytes.size() - valid) << " bytes from " << path);
      if (::truncate(path.c_str(), static_cast<off_t>(valid)) != 0) return Errno("truncate", path);
    }
    for (std::string& record : records) {
      auto block = Block::Decode(std::move(record));
      if (!block.ok()) continue;
      const Block& b = **block;
      for (size_t i = 0; i < b.size(); ++i) {
        s.last_seq = std::max(s.last_seq, b.seq(i));
        s.last_ingestion = std::max(s.last_ingestion, b.ingestion_time(i));
      }
      s.tail_bytes += b.raw().size();
      unsealed_bytes_ += b.raw().size();
      s.tail.push_back(std::move(*block));
    }
  }
  s.loaded = true;
  return Status::Ok();
}

StatusOr<AppendResult> LogStore::Append(StreamId id, std::span<const NewEvent> events) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Stream> stream, Acquire(id));
  Stream& s = *stream;
  std::unique_lock lock(s.mu);
  if (s.deleted) return Status::NotFound("log stream was deleted");
  AppendResult result;
  result.ingestion_time = std::max(ToEpochMillis(options_.clock->Now()), s.last_ingestion);
  if (events.empty()) return result;
  std::vector<EventRecord> records(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    records[i].timestamp = events[i].timestamp;
    records[i].ingestion_time = result.ingestion_time;
    records[i].message = events[i].message;
  }
  auto by_time = [](const EventRecord& a, const EventRecord& b) { return a.timestamp < b.timestamp; };
  if (!std::is_sorted(records.begin(), records.end(), by_time)) std::stable_sort(records.begin(), records.end(), by_time);
  for (size_t i = 0; i < records.size(); ++i) records[i].seq = s.last_seq + 1 + i;
  std::string raw = Block::Encode(records);

  if (!s.dir_exists) {
    std::error_code ec;
    std::filesystem::create_directories(s.dir, ec);
    if (ec) return Status::Internal("cannot create " + s.dir + ": " + ec.message());
    s.dir_exists = true;
  }
  std::string path = s.dir + "/" + GenerationName(s.wal_generation, ".wal");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  off_t before = ::fstat(fd, &st) == 0 ? st.st_size : 0;
  std::string header = WalRecordHeader(raw);
  iovec parts[2] = {{header.data(), header.size()}, {raw.data(), raw.size()}};
  size_t total = header.size() + raw.size(), done = 0;
  Status written;
  while (done < total) {
    // Rebuild the vector past what was written.
    iovec rest[2];
    int count = 0;
    size_t skip = done;
    for (const iovec& part : parts) {
      if (skip >= part.iov_len) {
        skip -= part.iov_len;
        continue;
      }
      rest[count++] = {static_cast<char*>(part.iov_base) + skip, part.iov_len - skip};
      skip = 0;
    }
    ssize_t n = ::writev(fd, rest, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      written = Errno("write", path);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (!written.ok()) {
    if (::ftruncate(fd, before) != 0) GANTRY_LOG(kError, "log store: cannot undo a failed append to " << path);
    ::close(fd);
    return written;
  }
  ::close(fd);

  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<const Block> block, Block::Decode(std::move(raw)));
  result.first_seq = s.last_seq + 1;
  result.last_seq = s.last_seq + records.size();
  s.last_seq = result.last_seq;
  s.last_ingestion = result.ingestion_time;
  s.last_append = std::chrono::steady_clock::now();
  s.tail_bytes += block->raw().size();
  uint64_t unsealed = unsealed_bytes_ += block->raw().size();
  s.tail.push_back(std::move(block));
  if (s.tail_bytes >= options_.segment_bytes) {
    Status sealed = Seal(s);
    // The events are durable in the WAL either way; a failed seal is retried later.
    if (!sealed.ok()) GANTRY_LOG(kError, "log store: sealing " << s.dir << " failed: " << sealed.ToString());
  } else if (unsealed > options_.max_unsealed_bytes) {
    {
      std::lock_guard wake(sweep_mu_);
      sweep_requested_ = true;
    }
    sweep_cv_.notify_all();
  }
  return result;
}

Status LogStore::Seal(Stream& s) {
  if (s.tail.empty()) return Status::Ok();
  std::vector<EventRecord> records;
  for (const auto& block : s.tail) {
    for (size_t i = 0; i < block->size(); ++i) records.push_back(block->record(i));
  }
  std::sort(records.begin(), records.end(), [](const EventRecord& a, const EventRecord& b) {
    return a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.seq < b.seq;
  });
  uint64_t gen = s.wal_generation;
  std::string path = s.dir + "/" + GenerationName(gen, ".seg");
  std::string tmp = path + ".tmp";
  GANTRY_ASSIGN_OR_RETURN(SegmentSummary summary,
                          WriteSegment(tmp, records, options_.block_bytes, options_.compression_level));
  summary.generation = gen;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status failed = Errno("rename", tmp);
    ::unlink(tmp.c_str());
    return failed;
  }
  Manifest next = s.manifest;
  next.segments.push_back(summary);
  uint64_t first_unsealed = next.next_generation;
  next.next_generation = gen + 1;
  next.last_seq = s.last_seq;
  Status saved = WriteFileAtomic(s.dir + "/" + kManifestName, EncodeManifest(next));
  if (!saved.ok()) {
    ::unlink(path.c_str());
    return saved;
  }
  for (uint64_t g = first_unsealed; g <= gen; ++g) {
    ::unlink((s.dir + "/" + GenerationName(g, ".wal")).c_str());
  }
  auto ref = std::make_shared<SegmentRef>();
  ref->summary = summary;
  ref->path = path;
  s.segments.push_back(std::move(ref));
  s.manifest = std::move(next);
  unsealed_bytes_ -= s.tail_bytes;
  s.tail.clear();
  s.tail_bytes = 0;
  s.wal_generation = gen + 1;
  return Status::Ok();
}

std::optional<int64_t> LogStore::Cutoff(uint64_t group) const {
  Duration retention;
  {
    std::lock_guard lock(mu_);
    auto it = retention_.find(group);
    if (it == retention_.end()) return std::nullopt;
    retention = it->second;
  }
  return ToEpochMillis(options_.clock->Now() - retention);
}

StatusOr<ReadResult> LogStore::Read(const ReadQuery& q) {
  ReadResult result;
  if (q.streams.empty() || q.limit == 0) return result;
  int64_t min_ts = q.min_timestamp;
  if (auto cutoff = Cutoff(q.streams.front().group)) min_ts = std::max(min_ts, *cutoff);
  if (min_ts > q.max_timestamp) return result;

  // Snapshot the streams and pick the blocks the query can touch.
  std::vector<BlockRef> refs;
  SegmentFiles files;  // this thread's
  auto wanted = [&](int64_t lo, int64_t hi) {
    if (!Overlaps(lo, hi, min_ts, q.max_timestamp)) return false;
    if (q.from) return q.backward ? lo <= q.from->timestamp : hi >= q.from->timestamp;
    return true;
  };
  const std::vector<std::vector<std::string>>* literals =
      q.filter != nullptr && !q.filter->literal_groups().empty() ? &q.filter->literal_groups() : nullptr;
  // Whether a block's trigram filter leaves every literal group possible.
  auto may_match = [&](std::string_view filter) {
    for (const auto& group : *literals) {
      bool any = false;
      for (const std::string& literal : group) any = any || TrigramFilterMayContain(filter, literal);
      if (!any) return false;
    }
    return true;
  };
  for (StreamId id : q.streams) {
    auto acquired = Acquire(id);
    if (!acquired.ok()) {
      if (acquired.status().code() == StatusCode::kNotFound) continue;
      return acquired.status();
    }
    std::vector<std::shared_ptr<SegmentRef>> segments;
    std::vector<std::shared_ptr<const Block>> tail;
    {
      std::lock_guard lock((*acquired)->mu);
      segments = (*acquired)->segments;
      tail = (*acquired)->tail;
    }
    for (const auto& segment : segments) {
      if (!wanted(segment->summary.min_timestamp, segment->summary.max_timestamp)) continue;
      GANTRY_ASSIGN_OR_RETURN(int fd, files.Get(*segment));
      if (fd < 0) continue;  // expired or deleted meanwhile
      std::shared_ptr<const SegmentIndex> index;
      {
        std::lock_guard lock(segment->mu);
        if (!segment->index) {
          GANTRY_ASSIGN_OR_RETURN(SegmentIndex read, ReadSegmentIndex(fd));
          segment->index = std::make_shared<const SegmentIndex>(std::move(read));
        }
        index = segment->index;
      }
      // Trigram filters rule blocks out before any is read (one read per segment).
      std::string filters;
      if (literals != nullptr) {
        GANTRY_ASSIGN_OR_RETURN(filters, ReadSegmentFilters(fd, *index));
      }
      for (const BlockInfo& info : index->blocks) {
        if (!wanted(info.min_timestamp, info.max_timestamp)) continue;
        if (literals != nullptr && info.filter_size > 0 &&
            !may_match(std::string_view(filters).substr(info.filter_offset, info.filter_size))) {
          ++result.blocks_skipped;
          continue;
        }
        BlockRef ref;
        ref.min_timestamp = info.min_timestamp;
        ref.max_timestamp = info.max_timestamp;
        ref.raw_size = info.raw_size;
        ref.stream = id;
        ref.segment = segment;
        ref.info = info;
        refs.push_back(std::move(ref));
      }
    }
    for (const auto& block : tail) {
      if (block->size() == 0 || !wanted(block->min_timestamp(), block->max_timestamp())) continue;
      BlockRef ref;
      ref.min_timestamp = block->min_timestamp();
      ref.max_timestamp = block->max_timestamp();
      ref.raw_size = block->raw().size();
      ref.stream = id;
      ref.memory = block;
      refs.push_back(std::move(ref));
    }
  }
  if (q.backward) {
    std::sort(refs.begin(), refs.end(), [](const BlockRef& a, const BlockRef& b) { return a.max_timestamp > b.max_timestamp; });
  } else {
    std::sort(refs.begin(), refs.end(), [](const BlockRef& a, const BlockRef& b) { return a.min_timestamp < b.min_timestamp; });
  }

  Collector collector(q);
  std::optional<int64_t> budget_boundary;
  // Whether reading must stop before block r (the page is settled, or the scan budget is spent).
  auto stop_before = [&](size_t r) {
    if (collector.Finished(refs[r])) return true;
    // The budget ends a read only where the next one starts later than this one did, so pages
    // always advance (blocks that all hold one millisecond are read in one go).
    if (!q.backward && q.scan_budget_bytes > 0 && result.scanned_bytes >= q.scan_budget_bytes &&
        (!q.from || *q.from < Position{refs[r].min_timestamp - 1, INT64_MAX, UINT64_MAX, UINT64_MAX})) {
      budget_boundary = refs[r].min_timestamp;
      return true;
    }
    return false;
  };
  // The block of a ref, decompressed (null when its segment vanished).
  auto load = [](const BlockRef& ref, SegmentFiles& open) -> StatusOr<std::shared_ptr<const Block>> {
    if (ref.memory) return ref.memory;
    GANTRY_ASSIGN_OR_RETURN(int fd, open.Get(*ref.segment));
    if (fd < 0) return std::shared_ptr<const Block>();
    return ReadSegmentBlock(fd, ref.info);
  };
  size_t threads = std::min<size_t>(options_.scan_threads, refs.size());
  if (q.filter == nullptr || threads < 2 || refs.size() < 4) {
    for (size_t r = 0; r < refs.size(); ++r) {
      if (stop_before(r)) break;
      GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<const Block> block, load(refs[r], files));
      if (!block) continue;
      result.scanned_bytes += refs[r].raw_size;
      ++result.blocks_read;
      ScanBlock(*block, refs[r].stream, q, min_ts, collector);
    }
  } else {
    // Workers decompress and filter chunks of blocks ahead, in any order; this thread takes their
    // hits in block order, so the page and its stopping point are the same as a sequential scan's.
    constexpr size_t kChunk = 8;      // blocks a worker claims at once (fewer hand-offs)
    constexpr size_t kLookahead = 4;  // chunks decoded ahead of the reading thread
    struct Slot {
      bool present = false;
      Status status;
      EventList hits;
    };
    const size_t chunks = (refs.size() + kChunk - 1) / kChunk;
    std::vector<Slot> slots(refs.size());
    std::vector<char> ready(chunks, 0);
    std::mutex mu;
    std::condition_variable work_cv, ready_cv;
    size_t next = 0, consumed = 0;  // chunks
    bool stop = false;
    auto work = [&] {
      SegmentFiles open;
      while (true) {
        size_t c;
        {
          std::unique_lock lock(mu);
          work_cv.wait(lock, [&] { return stop || next >= chunks || next < consumed + kLookahead; });
          if (stop || next >= chunks) return;
          c = next++;
        }
        for (size_t r = c * kChunk; r < std::min(refs.size(), (c + 1) * kChunk); ++r) {
          Slot& slot = slots[r];  // only this worker writes it until `ready`
          auto block = load(refs[r], open);
          if (!block.ok()) {
            slot.status = block.status();
          } else if (*block) {
            slot.present = true;
            ScanBlock(**block, refs[r].stream, q, min_ts, slot.hits);
          }
        }
        {
          std::lock_guard lock(mu);
          ready[c] = 1;
        }
        ready_cv.notify_one();
      }
    };
    std::vector<std::thread> workers;
    for (size_t t = 0; t < threads; ++t) workers.emplace_back(work);
    Status failed;
    for (size_t r = 0; r < refs.size(); ++r) {
      if (stop_before(r)) break;
      size_t c = r / kChunk;
      if (r % kChunk == 0) {
        std::unique_lock lock(mu);
        ready_cv.wait(lock, [&] { return ready[c] != 0; });
        consumed = c + 1;
        lock.unlock();
        work_cv.notify_all();
      }
      Slot slot = std::move(slots[r]);
      if (!slot.status.ok()) {
        failed = slot.status;
        break;
      }
      if (!slot.present) continue;
      result.scanned_bytes += refs[r].raw_size;
      ++result.blocks_read;
      for (Event& event : slot.hits.events) {
        if (collector.Wanted(Position::Of(event))) collector.Offer(std::move(event));
      }
    }
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    work_cv.notify_all();
    for (auto& worker : workers) worker.join();
    GANTRY_RETURN_IF_ERROR(failed);
  }

  const std::optional<Position>& dropped = collector.dropped();  // Take() leaves it alone
  result.events = collector.Take();
  if (budget_boundary) {
    // Events at or past the boundary may be missing others from unread blocks: leave them for the
    // next read, which resumes at the boundary.
    int64_t boundary = *budget_boundary;
    while (!result.events.empty() && result.events.back().timestamp >= boundary) result.events.pop_back();
    result.complete = false;
    if (dropped && dropped->timestamp < boundary) {
      result.resume = Position::Of(result.events.back());
    } else {
      result.resume = Position{boundary - 1, INT64_MAX, UINT64_MAX, UINT64_MAX};
      if (q.from && *result.resume < *q.from) result.resume = q.from;
    }
  } else if (dropped) {
    result.complete = false;
    result.resume = Position::Of(q.backward ? result.events.front() : result.events.back());
  }
  return result;
}

StatusOr<StreamStats> LogStore::Stats(StreamId id) {
  StreamStats stats;
  auto acquired = Acquire(id);
  if (!acquired.ok()) {
    if (acquired.status().code() == StatusCode::kNotFound) return stats;
    return acquired.status();
  }
  Stream& s = **acquired;
  std::lock_guard lock(s.mu);
  bool any = false;
  auto take = [&](int64_t first, int64_t last, int64_t ingestion) {
    stats.first_timestamp = any ? std::min(stats.first_timestamp, first) : first;
    stats.last_timestamp = any ? std::max(stats.last_timestamp, last) : last;
    stats.last_ingestion_time = std::max(stats.last_ingestion_time, ingestion);
    any = true;
  };
  for (const auto& segment : s.segments) {
    const SegmentSummary& sum = segment->summary;
    stats.events += sum.count;
    stats.stored_bytes += sum.raw_bytes;
    take(sum.min_timestamp, sum.max_timestamp, sum.max_ingestion_time);
  }
  for (const auto& block : s.tail) {
    if (block->size() == 0) continue;
    stats.events += block->size();
    stats.stored_bytes += block->messages_size();
    int64_t ingestion = 0;
    for (size_t i = 0; i < block->size(); ++i) ingestion = std::max(ingestion, block->ingestion_time(i));
    take(block->min_timestamp(), block->max_timestamp(), ingestion);
  }
  stats.last_seq = s.last_seq;
  return stats;
}

StatusOr<StreamStats> LogStore::GroupStats(uint64_t group) {
  std::set<uint64_t> ids;
  for (uint64_t id : ListStreams(group)) ids.insert(id);
  {
    std::lock_guard lock(mu_);
    for (auto it = streams_.lower_bound(StreamId{group, 0}); it != streams_.end() && it->first.group == group; ++it) {
      ids.insert(it->first.stream);
    }
  }
  StreamStats total;
  bool any = false;
  for (uint64_t id : ids) {
    GANTRY_ASSIGN_OR_RETURN(StreamStats s, Stats(StreamId{group, id}));
    if (s.events == 0) continue;
    total.events += s.events;
    total.stored_bytes += s.stored_bytes;
    total.first_timestamp = any ? std::min(total.first_timestamp, s.first_timestamp) : s.first_timestamp;
    total.last_timestamp = any ? std::max(total.last_timestamp, s.last_timestamp) : s.last_timestamp;
    total.last_ingestion_time = std::max(total.last_ingestion_time, s.last_ingestion_time);
    any = true;
  }
  return total;
}

Status LogStore::DeleteStream(StreamId id) {
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard lock(mu_);
    deleted_streams_.insert(id);
    auto it = streams_.find(id);
    if (it != streams_.end()) {
      stream = it->second;
      streams_.erase(it);
    }
  }
  std::unique_lock<std::mutex> hold;
  if (stream) {
    hold = std::unique_lock(stream->mu);
    stream->deleted = true;
    unsealed_bytes_ -= stream->tail_bytes;
    stream->tail.clear();
    stream->tail_bytes = 0;
  }
  std::error_code ec;
  std::filesystem::remove_all(StreamDir(id), ec);
  if (ec) return Status::Internal("cannot remove " + StreamDir(id) + ": " + ec.message());
  return Status::Ok();
}

Status LogStore::DeleteGroup(uint64_t group) {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    std::lock_guard lock(mu_);
    deleted_groups_.insert(group);
    retention_.erase(group);
    for (auto it = streams_.lower_bound(StreamId{group, 0}); it != streams_.end() && it->first.group == group;) {
      streams.push_back(it->second);
      it = streams_.erase(it);
    }
  }
  for (const auto& stream : streams) {
    std::lock_guard lock(stream->mu);
    stream->deleted = true;
    unsealed_bytes_ -= stream->tail_bytes;
    stream->tail.clear();
    stream->tail_bytes = 0;
  }
  std::error_code ec;
  std::string dir = options_.root + "/" + std::to_string(group);
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::Internal("cannot remove " + dir + ": " + ec.message());
  return Status::Ok();
}

std::vector<uint64_t> LogStore::ListGroups() { return NumericEntries(options_.root); }

std::vector<uint64_t> LogStore::ListStreams(uint64_t group) {
  return NumericEntries(options_.root + "/" + std::to_string(group));
}

void LogStore::SetRetention(uint64_t group, std::optional<Duration> retention) {
  std::lock_guard lock(mu_);
  if (retention) {
    retention_[group] = *retention;
  } else {
    retention_.erase(group);
  }
}

Status LogStore::ExpireStream(Stream& s, int64_t cutoff, int* deleted) {
  std::vector<std::shared_ptr<SegmentRef>> keep, drop;
  for (const auto& segment : s.segments) {
    (segment->summary.max_timestamp < cutoff ? drop : keep).push_back(segment);
  }
  if (drop.empty()) return Status::Ok();
  Manifest next = s.manifest;
  next.segments.clear();
  for (const auto& segment : keep) next.segments.push_back(segment->summary);
  next.last_seq = s.last_seq;
  GANTRY_RETURN_IF_ERROR(WriteFileAtomic(s.dir + "/" + kManifestName, EncodeManifest(next)));
  for (const auto& segment : drop) ::unlink(segment->path.c_str());
  s.manifest = std::move(next);
  s.segments = std::move(keep);
  *deleted += static_cast<int>(drop.size());
  return Status::Ok();
}

StatusOr<int> LogStore::Sweep() {
  int deleted = 0;
  std::map<uint64_t, Duration> retention;
  {
    std::lock_guard lock(mu_);
    retention = retention_;
  }
  int64_t now = ToEpochMillis(options_.clock->Now());
  for (const auto& [group, age] : retention) {
    int64_t cutoff = now - std::chrono::duration_cast<std::chrono::milliseconds>(age).count();
    for (uint64_t id : ListStreams(group)) {
      auto stream = Acquire(StreamId{group, id});
      if (!stream.ok()) continue;
      std::lock_guard lock((*stream)->mu);
      if ((*stream)->deleted || !(*stream)->dir_exists) continue;
      GANTRY_RETURN_IF_ERROR(ExpireStream(**stream, cutoff, &deleted));
    }
  }
  std::vector<std::shared_ptr<Stream>> loaded;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, stream] : streams_) loaded.push_back(stream);
  }
  auto idle_before = std::chrono::steady_clock::now() - options_.idle_seal_after;
  std::vector<std::pair<uint64_t, std::shared_ptr<Stream>>> by_size;
  for (const auto& stream : loaded) {
    std::lock_guard lock(stream->mu);
    if (stream->deleted || stream->tail.empty()) continue;
    if (stream->last_append < idle_before) {
      Status sealed = Seal(*stream);
      if (!sealed.ok()) GANTRY_LOG(kError, "log store: sealing " << stream->dir << " failed: " << sealed.ToString());
      continue;
    }
    by_size.emplace_back(stream->tail_bytes, stream);
  }
  std::sort(by_size.begin(), by_size.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [bytes, stream] : by_size) {
    if (unsealed_bytes_ <= options_.max_unsealed_bytes) break;
    std::lock_guard lock(stream->mu);
    if (stream->deleted) continue;
    Status sealed = Seal(*stream);
    if (!sealed.ok()) GANTRY_LOG(kError, "log store: sealing " << stream->dir << " failed: " << sealed.ToString());
  }
  return deleted;
}

Status LogStore::SealAll() {
  std::vector<std::shared_ptr<Stream>> loaded;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, stream] : streams_) loaded.push_back(stream);
  }
  for (const auto& stream : loaded) {
    std::lock_guard lock(stream->mu);
    if (stream->deleted) continue;
    GANTRY_RETURN_IF_ERROR(Seal(*stream));
  }
  return Status::Ok();
}

void LogStore::Start() {
  std::lock_guard lock(sweep_mu_);
  if (sweeper_.joinable()) return;
  stopping_ = false;
  sweeper_ = std::thread([this] { SweepLoop(); });
}

void LogStore::Stop() {
  {
    std::lock_guard lock(sweep_mu_);
    stopping_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void LogStore::SweepLoop() {
  while (true) {
    {
      std::unique_lock lock(sweep_mu_);
      sweep_cv_.wait_for(lock, options_.sweep_interval, [this] { return stopping_ || sweep_requested_; });
      if (stopping_) return;
      sweep_requested_ = false;
    }
    auto swept = Sweep();
    if (!swept.ok()) GANTRY_LOG(kError, "log store: sweep failed: " << swept.status().ToString());
  }
}

}  // namespace gantry::telemetry::logs
