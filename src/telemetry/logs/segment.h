// The on-disk formats of the log store (docs/log-segments.md has the byte layouts):
//
//   Block     a run of events in columnar form — timestamps, ingestion times and sequence numbers as
//             arrays, then the messages back to back with an end-offset array — so a scan can test
//             times without touching messages and search all messages of a block with one substring
//             search. The unit of compression (one zstd frame) and of reading.
//   Segment   an immutable file of zstd-compressed blocks sorted by (timestamp, sequence), then a
//             trigram filter per block (a bloom filter of the byte trigrams of its messages, so a
//             search for a literal skips blocks that cannot hold it), a block index (offsets, sizes,
//             min/max timestamp per block) and a fixed footer.
//   Manifest  the list of a stream's segments with their summaries, replaced with write-then-rename.
//   WAL       a stream's unsealed appends: records of [length][crc32][raw block].
//
// All integers are little-endian. Functions here are stateless; a Block is immutable and may be
// read from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace gantry::telemetry::logs {

// One event as the store keeps it.
struct EventRecord {
  int64_t timestamp = 0;       // event time, ms since the epoch
  int64_t ingestion_time = 0;  // ms since the epoch
  uint64_t seq = 0;            // per-stream sequence number, from 1, in ingestion order
  std::string_view message;
};

class Block {
 public:
  // Raw (uncompressed) block bytes for events, in the order given.
  static std::string Encode(std::span<const EventRecord> events);
  // Takes raw block bytes; Internal when they are malformed.
  static StatusOr<std::shared_ptr<const Block>> Decode(std::string raw);

  size_t size() const { return count_; }
  int64_t timestamp(size_t i) const { return timestamps_[i]; }
  int64_t ingestion_time(size_t i) const { return ingestion_[i]; }
  uint64_t seq(size_t i) const { return seqs_[i]; }
  std::string_view message(size_t i) const {
    uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    return {messages_ + begin, ends_[i] - begin};
  }
  EventRecord record(size_t i) const { return {timestamps_[i], ingestion_[i], seqs_[i], message(i)}; }

  // The concatenated messages and the end offset of each, for whole-block searches.
  const char* messages() const { return messages_; }
  size_t messages_size() const { return count_ == 0 ? 0 : ends_[count_ - 1]; }
  uint32_t end(size_t i) const { return ends_[i]; }
  // Index of the event whose message holds byte `offset` of messages().
  size_t EventAt(size_t offset) const;

  int64_t min_timestamp() const { return min_timestamp_; }
  int64_t max_timestamp() const { return max_timestamp_; }
  // Whether events are in (timestamp, seq) order (segments and appended batches always are).
  bool sorted() const { return sorted_; }
  const std::string& raw() const { return raw_; }

 private:
  Block() = default;
  std::string raw_;
  size_t count_ = 0;
  const int64_t* timestamps_ = nullptr;
  const int64_t* ingestion_ = nullptr;
  const uint64_t* seqs_ = nullptr;
  const uint32_t* ends_ = nullptr;
  const char* messages_ = nullptr;
  int64_t min_timestamp_ = 0;
  int64_t max_timestamp_ = 0;
  bool sorted_ = true;
};

// What the index of a segment says about one block.
struct BlockInfo {
  uint64_t offset = 0;
  uint32_t compressed_size = 0;
  uint32_t raw_size = 0;
  uint32_t count = 0;
  int64_t min_timestamp = 0;
  int64_t max_timestamp = 0;
  uint64_t min_seq = 0;
  uint64_t max_seq = 0;
  int64_t max_ingestion_time = 0;
  uint32_t filter_offset = 0;  // of the block's trigram filter, within the filter section
  uint32_t filter_size = 0;
};

struct SegmentIndex {
  std::vector<BlockInfo> blocks;
  uint64_t filter_section_offset = 0;
  uint64_t filter_section_size = 0;
};

// A bloom filter (one hash, a power-of-two number of bits) of the byte trigrams of the events'
// messages; trigrams never span two messages.
std::string BuildTrigramFilter(std::span<const EventRecord> events);
// False only when `literal` cannot occur in any message of the filtered block. Literals shorter
// than three bytes, and empty filters, always may.
bool TrigramFilterMayContain(std::string_view filter, std::string_view literal);

// What a manifest says about one segment.
struct SegmentSummary {
  uint64_t generation = 0;  // the file is <generation>.seg
  int64_t min_timestamp = 0;
  int64_t max_timestamp = 0;
  uint64_t min_seq = 0;
  uint64_t max_seq = 0;
  uint64_t count = 0;
  uint64_t raw_bytes = 0;   // message bytes
  uint64_t file_bytes = 0;
  int64_t max_ingestion_time = 0;
};

// Writes events (sorted by (timestamp, seq)) as a segment file at path, in blocks of about
// block_bytes raw bytes compressed at zstd `level`, fsynced. Returns its summary (generation unset).
StatusOr<SegmentSummary> WriteSegment(const std::string& path, std::span<const EventRecord> events,
                                      size_t block_bytes, int level);

// The block index of a segment file.
StatusOr<SegmentIndex> ReadSegmentIndex(int fd);
// The trigram filters of a segment's blocks (BlockInfo::filter_offset/size index into it).
StatusOr<std::string> ReadSegmentFilters(int fd, const SegmentIndex& index);
// One block of an open segment file, decompressed.
StatusOr<std::shared_ptr<const Block>> ReadSegmentBlock(int fd, const BlockInfo& info);

struct Manifest {
  uint64_t next_generation = 1;  // WAL generations below this are sealed
  uint64_t last_seq = 0;
  std::vector<SegmentSummary> segments;
};

std::string EncodeManifest(const Manifest& manifest);
StatusOr<Manifest> DecodeManifest(std::string_view bytes);

// A WAL record holding one raw block.
std::string WalRecordHeader(std::string_view payload);
constexpr size_t kWalHeaderSize = 8;
// Parses records from the start of a WAL file's bytes; `valid_bytes` is set to the length of the
// intact prefix (a torn or corrupt tail is ignored and should be truncated).
std::vector<std::string> ParseWal(std::string_view bytes, size_t* valid_bytes);

// Writes data to path through a temporary file, fsync and rename, then fsyncs the directory.
Status WriteFileAtomic(const std::string& path, std::string_view data);

}  // namespace gantry::telemetry::logs
