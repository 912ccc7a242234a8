#include "telemetry/logs/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "core/common/crypto.h"

namespace gantry::telemetry::logs {

static_assert(std::endian::native == std::endian::little, "the log formats are little-endian");

namespace {

constexpr char kSegmentMagic[] = "GLOGSEG1";
constexpr char kFooterMagic[] = "GLOGEND1";
constexpr char kManifestMagic[] = "GLOGMAN1";
constexpr size_t kBlockHeader = 8;       // u32 count, u32 flags
constexpr size_t kPerEventFixed = 28;    // i64 timestamp, i64 ingestion, u64 seq, u32 end
constexpr size_t kFooterSize = 24;       // u64 index offset, u32 index size, u32 crc, magic
constexpr size_t kIndexHeaderSize = 24;  // u32 version, u32 blocks, u64 filter offset, u64 filter size
constexpr size_t kIndexEntrySize = 72;
constexpr size_t kSummarySize = 72;
constexpr uint32_t kIndexVersion = 1;

template <typename T>
void Put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <typename T>
T Get(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

Status Errno(std::string_view what, const std::string& path) {
  return Status::Internal(std::string(what) + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status PreadAll(int fd, char* out, size_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Internal(std::string("read of a log segment failed: ") + std::strerror(errno));
    }
    if (n == 0) return Status::Internal("a log segment is shorter than its index says");
    out += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

struct ZstdContexts {
  ZSTD_CCtx* compress = ZSTD_createCCtx();
  ZSTD_DCtx* decompress = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(compress);
    ZSTD_freeDCtx(decompress);
  }
};

ZstdContexts& Zstd() {
  thread_local ZstdContexts contexts;
  return contexts;
}

size_t RawSize(const EventRecord& e) { return kPerEventFixed + e.message.size(); }

constexpr size_t kMinFilterBytes = 64;
constexpr size_t kMaxFilterBytes = 8192;

uint32_t TrigramHash(const char* p) {
  uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(p[0])) |
               static_cast<uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
               static_cast<uint32_t>(static_cast<unsigned char>(p[2])) << 16;
  return v * 0x9E3779B1u;
}

}  // namespace

// ---- Block ----

std::string Block::Encode(std::span<const EventRecord> events) {
  size_t messages = 0;
  for (const auto& e : events) messages += e.message.size();
  std::string out;
  out.reserve(kBlockHeader + kPerEventFixed * events.size() + messages);
  Put<uint32_t>(out, static_cast<uint32_t>(events.size()));
  Put<uint32_t>(out, 0);
  for (const auto& e : events) Put<int64_t>(out, e.timestamp);
  for (const auto& e : events) Put<int64_t>(out, e.ingestion_time);
  for (const auto& e : events) Put<uint64_t>(out, e.seq);
  uint32_t end = 0;
  for (const auto& e : events) {
    end += static_cast<uint32_t>(e.message.size());
    Put<uint32_t>(out, end);
  }
  for (const auto& e : events) out.append(e.message);
  return out;
}

StatusOr<std::shared_ptr<const Block>> Block::Decode(std::string raw) {
  auto bad = [] { return Status::Internal("a log block is malformed"); };
  if (raw.size() < kBlockHeader) return bad();
  uint32_t count = Get<uint32_t>(raw.data());
  if (count > (raw.size() - kBlockHeader) / kPerEventFixed) return bad();
  std::shared_ptr<Block> block(new Block());
  block->raw_ = std::move(raw);
  const char* base = block->raw_.data();
  block->count_ = count;
  block->timestamps_ = reinterpret_cast<const int64_t*>(base + kBlockHeader);
  block->ingestion_ = block->timestamps_ + count;
  block->seqs_ = reinterpret_cast<const uint64_t*>(block->ingestion_ + count);
  block->ends_ = reinterpret_cast<const uint32_t*>(block->seqs_ + count);
  block->messages_ = reinterpret_cast<const char*>(block->ends_ + count);
  size_t message_bytes = block->raw_.size() - kBlockHeader - kPerEventFixed * count;
  uint32_t previous = 0;
  for (size_t i = 0; i < count; ++i) {
    if (block->ends_[i] < previous) return bad();
    previous = block->ends_[i];
  }
  if (previous != message_bytes) return bad();
  if (count > 0) {
    block->min_timestamp_ = block->max_timestamp_ = block->timestamps_[0];
    for (size_t i = 1; i < count; ++i) {
      int64_t t = block->timestamps_[i];
      block->min_timestamp_ = std::min(block->min_timestamp_, t);
      block->max_timestamp_ = std::max(block->max_timestamp_, t);
      if (t < block->timestamps_[i - 1] || (t == block->timestamps_[i - 1] && block->seqs_[i] < block->seqs_[i - 1])) {
        block->sorted_ = false;
      }
    }
  }
  return std::shared_ptr<const Block>(std::move(block));
}

size_t Block::EventAt(size_t offset) const {
  return static_cast<size_t>(std::upper_bound(ends_, ends_ + count_, static_cast<uint32_t>(offset)) - ends_);
}

// ---- Trigram filters ----

std::string BuildTrigramFilter(std::span<const EventRecord> events) {
  size_t message_bytes = 0;
  for (const auto& e : events) message_bytes += e.message.size();
  // About one bit per four message bytes: a block of log text holds fewer distinct trigrams.
  size_t bytes = kMinFilterBytes;
  while (bytes < kMaxFilterBytes && bytes * 32 < message_bytes) bytes *= 2;
  std::string filter(bytes, '\0');
  int shift = 32 - std::countr_zero(bytes * 8);
  auto* bits = reinterpret_cast<unsigned char*>(filter.data());
  for (const auto& e : events) {
    const char* p = e.message.data();
    for (size_t i = 0; i + 3 <= e.message.size(); ++i) {
      uint32_t bit = TrigramHash(p + i) >> shift;
      bits[bit >> 3] |= static_cast<unsigned char>(1u << (bit & 7));
    }
  }
  return filter;
}

bool TrigramFilterMayContain(std::string_view filter, std::string_view literal) {
  if (literal.size() < 3 || filter.size() < kMinFilterBytes || !std::has_single_bit(filter.size())) return true;
  int shift = 32 - std::countr_zero(filter.size() * 8);
  const auto* bits = reinterpret_cast<const unsigned char*>(filter.data());
  for (size_t i = 0; i + 3 <= literal.size(); ++i) {
    uint32_t bit = TrigramHash(literal.data() + i) >> shift;
    if ((bits[bit >> 3] & (1u << (bit & 7))) == 0) return false;
  }
  return true;
}

// ---- Segments ----

StatusOr<SegmentSummary> WriteSegment(const std::string& path, std::span<const EventRecord> events,
                                      size_t block_bytes, int level) {
  std::string file(kSegmentMagic, 8);
  std::vector<BlockInfo> infos;
  SegmentSummary summary;
  ZstdContexts& zstd = Zstd();
  size_t i = 0;
  std::string compressed;
  std::string filters;
  while (i < events.size()) {
    size_t begin = i;
    size_t raw = kBlockHeader;
    BlockInfo info;
    info.min_timestamp = events[i].timestamp;
    info.max_timestamp = events[i].timestamp;
    info.min_seq = info.max_seq = events[i].seq;
    info.max_ingestion_time = events[i].ingestion_time;
    // A block holds at least one event and stops once it reaches block_bytes.
    do {
      const EventRecord& e = events[i];
      raw += RawSize(e);
      info.min_timestamp = std::min(info.min_timestamp, e.timestamp);
      info.max_timestamp = std::max(info.max_timestamp, e.timestamp);
      info.min_seq = std::min(info.min_seq, e.seq);
      info.max_seq = std::max(info.max_seq, e.seq);
      info.max_ingestion_time = std::max(info.max_ingestion_time, e.ingestion_time);
      ++i;
    } while (i < events.size() && raw + RawSize(events[i]) <= block_bytes);
    std::string block = Block::Encode(events.subspan(begin, i - begin));
    std::string filter = BuildTrigramFilter(events.subspan(begin, i - begin));
    info.filter_offset = static_cast<uint32_t>(filters.size());
    info.filter_size = static_cast<uint32_t>(filter.size());
    filters += filter;
    compressed.resize(ZSTD_compressBound(block.size()));
    size_t n = ZSTD_compressCCtx(zstd.compress, compressed.data(), compressed.size(), block.data(), block.size(), level);
    if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    info.offset = file.size();
    info.compressed_size = static_cast<uint32_t>(n);
    info.raw_size = static_cast<uint32_t>(block.size());
    info.count = static_cast<uint32_t>(i - begin);
    file.append(compressed.data(), n);
    infos.push_back(info);
  }
  uint64_t filter_offset = file.size();
  file += filters;
  uint64_t index_offset = file.size();
  std::string index;
  Put<uint32_t>(index, kIndexVersion);
  Put<uint32_t>(index, static_cast<uint32_t>(infos.size()));
  Put<uint64_t>(index, filter_offset);
  Put<uint64_t>(index, filters.size());
  for (const BlockInfo& info : infos) {
    Put<uint64_t>(index, info.offset);
    Put<uint32_t>(index, info.compressed_size);
    Put<uint32_t>(index, info.raw_size);
    Put<uint32_t>(index, info.count);
    Put<uint32_t>(index, info.filter_size);
    Put<int64_t>(index, info.min_timestamp);
    Put<int64_t>(index, info.max_timestamp);
    Put<uint64_t>(index, info.min_seq);
    Put<uint64_t>(index, info.max_seq);
    Put<int64_t>(index, info.max_ingestion_time);
    Put<uint64_t>(index, info.filter_offset);
  }
  file += index;
  Put<uint64_t>(file, index_offset);
  Put<uint32_t>(file, static_cast<uint32_t>(index.size()));
  Put<uint32_t>(file, Crc32(index));
  file.append(kFooterMagic, 8);

  for (size_t b = 0; b < infos.size(); ++b) {
    const BlockInfo& info = infos[b];
    if (b == 0) {
      summary.min_timestamp = info.min_timestamp;
      summary.max_timestamp = info.max_timestamp;
      summary.min_seq = info.min_seq;
      summary.max_seq = info.max_seq;
      summary.max_ingestion_time = info.max_ingestion_time;
    }
    summary.min_timestamp = std::min(summary.min_timestamp, info.min_timestamp);
    summary.max_timestamp = std::max(summary.max_timestamp, info.max_timestamp);
    summary.min_seq = std::min(summary.min_seq, info.min_seq);
    summary.max_seq = std::max(summary.max_seq, info.max_seq);
    summary.max_ingestion_time = std::max(summary.max_ingestion_time, info.max_ingestion_time);
    summary.count += info.count;
  }
  for (const auto& e : events) summary.raw_bytes += e.message.size();
  summary.file_bytes = file.size();

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", path);
  Status written = WriteAll(fd, file, path);
  if (written.ok() && ::fsync(fd) != 0) written = Errno("fsync", path);
  ::close(fd);
  GANTRY_RETURN_IF_ERROR(written);
  return summary;
}

StatusOr<SegmentIndex> ReadSegmentIndex(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::Internal(std::string("fstat: ") + std::strerror(errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  auto bad = [] { return Status::Internal("a log segment's index is malformed"); };
  if (size < 8 + kFooterSize) return bad();
  char footer[kFooterSize];
  GANTRY_RETURN_IF_ERROR(PreadAll(fd, footer, kFooterSize, size - kFooterSize));
  if (std::memcmp(footer + 16, kFooterMagic, 8) != 0) return bad();
  uint64_t index_offset = Get<uint64_t>(footer);
  uint32_t index_size = Get<uint32_t>(footer + 8);
  uint32_t crc = Get<uint32_t>(footer + 12);
  if (index_offset + index_size != size - kFooterSize || index_size < kIndexHeaderSize) return bad();
  std::string bytes(index_size, '\0');
  GANTRY_RETURN_IF_ERROR(PreadAll(fd, bytes.data(), index_size, index_offset));
  if (Crc32(bytes) != crc) return bad();
  if (Get<uint32_t>(bytes.data()) != kIndexVersion) return bad();
  uint32_t count = Get<uint32_t>(bytes.data() + 4);
  if (static_cast<uint64_t>(count) * kIndexEntrySize + kIndexHeaderSize != index_size) return bad();
  SegmentIndex index;
  index.filter_section_offset = Get<uint64_t>(bytes.data() + 8);
  index.filter_section_size = Get<uint64_t>(bytes.data() + 16);
  if (index.filter_section_offset + index.filter_section_size != index_offset) return bad();
  index.blocks.resize(count);
  const char* p = bytes.data() + kIndexHeaderSize;
  for (BlockInfo& info : index.blocks) {
    info.offset = Get<uint64_t>(p);
    info.compressed_size = Get<uint32_t>(p + 8);
    info.raw_size = Get<uint32_t>(p + 12);
    info.count = Get<uint32_t>(p + 16);
    info.filter_size = Get<uint32_t>(p + 20);
    info.min_timestamp = Get<int64_t>(p + 24);
    info.max_timestamp = Get<int64_t>(p + 32);
    info.min_seq = Get<uint64_t>(p + 40);
    info.max_seq = Get<uint64_t>(p + 48);
    info.max_ingestion_time = Get<int64_t>(p + 56);
    info.filter_offset = static_cast<uint32_t>(Get<uint64_t>(p + 64));
    if (info.offset + info.compressed_size > index.filter_section_offset) return bad();
    if (static_cast<uint64_t>(info.filter_offset) + info.filter_size > index.filter_section_size) return bad();
    p += kIndexEntrySize;
  }
  return index;
}

StatusOr<std::string> ReadSegmentFilters(int fd, const SegmentIndex& index) {
  std::string filters(index.filter_section_size, '\0');
  GANTRY_RETURN_IF_ERROR(PreadAll(fd, filters.data(), filters.size(), index.filter_section_offset));
  return filters;
}

StatusOr<std::shared_ptr<const Block>> ReadSegmentBlock(int fd, const BlockInfo& info) {
  thread_local std::string compressed;
  compressed.resize(info.compressed_size);
  GANTRY_RETURN_IF_ERROR(PreadAll(fd, compressed.data(), info.compressed_size, info.offset));
  std::string raw(info.raw_size, '\0');
  size_t n = ZSTD_decompressDCtx(Zstd().decompress, raw.data(), raw.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n) || n != info.raw_size) return Status::Internal("a log block does not decompress");
  return Block::Decode(std::move(raw));
}

// ---- Manifest ----

std::string EncodeManifest(const Manifest& manifest) {
  std::string out(kManifestMagic, 8);
  Put<uint64_t>(out, manifest.next_generation);
  Put<uint64_t>(out, manifest.last_seq);
  Put<uint32_t>(out, static_cast<uint32_t>(manifest.segments.size()));
  for (const SegmentSummary& s : manifest.segments) {
    Put<uint64_t>(out, s.generation);
    Put<int64_t>(out, s.min_timestamp);
    Put<int64_t>(out, s.max_timestamp);
    Put<uint64_t>(out, s.min_seq);
    Put<uint64_t>(out, s.max_seq);
    Put<uint64_t>(out, s.count);
    Put<uint64_t>(out, s.raw_bytes);
    Put<uint64_t>(out, s.file_bytes);
    Put<int64_t>(out, s.max_ingestion_time);
  }
  Put<uint32_t>(out, Crc32(out));
  return out;
}

StatusOr<Manifest> DecodeManifest(std::string_view bytes) {
  auto bad = [] { return Status::Internal("a log stream manifest is malformed"); };
  if (bytes.size() < 8 + 8 + 8 + 4 + 4 || bytes.substr(0, 8) != std::string_view(kManifestMagic, 8)) return bad();
  uint32_t crc = Get<uint32_t>(bytes.data() + bytes.size() - 4);
  if (Crc32(bytes.substr(0, bytes.size() - 4)) != crc) return bad();
  Manifest m;
  const char* p = bytes.data() + 8;
  m.next_generation = Get<uint64_t>(p);
  m.last_seq = Get<uint64_t>(p + 8);
  uint32_t count = Get<uint32_t>(p + 16);
  p += 20;
  if (static_cast<uint64_t>(count) * kSummarySize + 8 + 20 + 4 != bytes.size()) return bad();
  m.segments.resize(count);
  for (SegmentSummary& s : m.segments) {
    s.generation = Get<uint64_t>(p);
    s.min_timestamp = Get<int64_t>(p + 8);
    s.max_timestamp = Get<int64_t>(p + 16);
    s.min_seq = Get<uint64_t>(p + 24);
    s.max_seq = Get<uint64_t>(p + 32);
    s.count = Get<uint64_t>(p + 40);
    s.raw_bytes = Get<uint64_t>(p + 48);
    s.file_bytes = Get<uint64_t>(p + 56);
    s.max_ingestion_time = Get<int64_t>(p + 64);
    p += kSummarySize;
  }
  return m;
}

// ---- WAL ----

std::string WalRecordHeader(std::string_view payload) {
  std::string header;
  Put<uint32_t>(header, static_cast<uint32_t>(payload.size()));
  Put<uint32_t>(header, Crc32(payload));
  return header;
}

std::vector<std::string> ParseWal(std::string_view bytes, size_t* valid_bytes) {
  std::vector<std::string> records;
  size_t pos = 0;
  while (bytes.size() - pos >= kWalHeaderSize) {
    uint32_t length = Get<uint32_t>(bytes.data() + pos);
    uint32_t crc = Get<uint32_t>(bytes.data() + pos + 4);
    if (bytes.size() - pos - kWalHeaderSize < length) break;
    std::string_view payload = bytes.substr(pos + kWalHeaderSize, length);
    if (Crc32(payload) != crc) break;
    records.emplace_back(payload);
    pos += kWalHeaderSize + length;
  }
  *valid_bytes = pos;
  return records;
}

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", tmp);
  Status written = WriteAll(fd, data, tmp);
  if (written.ok() && ::fsync(fd) != 0) written = Errno("fsync", tmp);
  ::close(fd);
  GANTRY_RETURN_IF_ERROR(written);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
  std::string dir = path.substr(0, path.find_last_of('/'));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace gantry::telemetry::logs
