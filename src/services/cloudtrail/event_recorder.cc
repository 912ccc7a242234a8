#include "services/cloudtrail/event_recorder.h"

#include <algorithm>

#include "core/common/log.h"

namespace gantry::services::cloudtrail {

namespace {

constexpr auto kSweepEvery = std::chrono::hours(1);
constexpr int kDeletesPerTransaction = 100;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A version-4 UUID from the recorder's 16 random bytes and the event's sequence number: unique per
// event without a draw from the OS per request.
std::string EventId(const std::string& seed, uint64_t sequence) {
  unsigned char b[16];
  uint64_t mix[2] = {SplitMix64(sequence), SplitMix64(sequence ^ 0x5bd1e995ULL)};
  for (int i = 0; i < 16; ++i) {
    b[i] = static_cast<unsigned char>(seed[static_cast<size_t>(i)]) ^
           static_cast<unsigned char>(mix[i / 8] >> (8 * (i % 8)));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

}  // namespace

EventRecorder::EventRecorder(store::Store* store, Clock* clock, IdSource* ids)
    : store_(store), clock_(clock), ids_(ids), id_seed_(ids->Bytes(16)) {
  // Sequence numbers stay unique across restarts: each run numbers its events after its own epoch.
  StatusOr<int64_t> epoch = store_->NextSequence("cloudtrail.recorder");
  uint64_t base = epoch.ok() ? static_cast<uint64_t>(*epoch) : static_cast<uint64_t>(ToEpochMillis(clock_->Now()));
  sequence_ = base << 32;
}

EventRecorder::~EventRecorder() {
  Stop();
  Status flushed = Flush();
  if (!flushed.ok()) GANTRY_LOG(kWarn, "cloudtrail: storing the last events failed: " << flushed.ToString());
}

void EventRecorder::OnRequestComplete(const aws::RequestContext& ctx, const aws::Document& input,
                                      const Status& result) {
  if (ctx.model == nullptr || ctx.operation == nullptr) return;
  if (IsDataEvent(ctx.model->service(), ctx.operation->name) || ctx.principal.internal) return;
  uint64_t sequence = sequence_.fetch_add(1, std::memory_order_relaxed);
  CapturedEvent event = Capture(ctx, input, result, sequence, EventId(id_seed_, sequence));
  bool full_batch = false;
  {
    std::unique_lock lock(mu_);
    if (queue_.size() >= kMaxQueued && writer_.joinable() && !stopping_) {
      // The store is that far behind: the request waits for room rather than the event being lost.
      waits_.fetch_add(1, std::memory_order_relaxed);
      wake_.notify_one();
      room_.wait(lock, [this] { return queue_.size() < kMaxQueued || stopping_; });
    }
    queue_.push_back(std::move(event));
    full_batch = queue_.size() == kBatchSize;
  }
  if (full_batch) wake_.notify_one();
}

void EventRecorder::Start() {
  if (writer_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  writer_ = std::thread([this] { WriterLoop(); });
}

void EventRecorder::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  room_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void EventRecorder::WriterLoop() {
  while (true) {
    bool stopping;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, kFlushInterval, [this] { return stopping_ || queue_.size() >= kBatchSize; });
      stopping = stopping_;
    }
    Status flushed = Flush();
    if (!flushed.ok()) GANTRY_LOG(kWarn, "cloudtrail: storing events failed: " << flushed.ToString());
    TimePoint now = clock_->Now();
    if (!stopping && (last_sweep_ == TimePoint{} || now - last_sweep_ >= kSweepEvery)) {
      last_sweep_ = now;
      StatusOr<int64_t> swept = SweepRetention(now);
      if (!swept.ok()) GANTRY_LOG(kWarn, "cloudtrail: retention sweep failed: " << swept.status().ToString());
    }
    if (stopping) return;
  }
}

Status EventRecorder::Flush() {
  std::lock_guard write_lock(write_mu_);
  while (true) {
    std::vector<CapturedEvent> batch;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return Status::Ok();
      batch.swap(queue_);
    }
    room_.notify_all();
    GANTRY_RETURN_IF_ERROR(WriteBatch(batch));
  }
}

Status EventRecorder::WriteBatch(std::vector<CapturedEvent>& batch) {
  // Per scope, newest first; then cut into records of at most kEventsPerRecord events spanning at
  // most kRecordSpanMillis, one line per event.
  std::sort(batch.begin(), batch.end(), [](const CapturedEvent& a, const CapturedEvent& b) {
    if (a.Scope() != b.Scope()) return a.Scope() < b.Scope();
    if (a.millis != b.millis) return a.millis > b.millis;
    return a.sequence > b.sequence;
  });
  struct Row {
    std::string_view scope;
    std::string key;
    std::string lines;
    size_t count = 0;
    int64_t newest = 0;
  };
  std::vector<Row> rows;
  std::set<std::string, std::less<>> new_scopes;
  for (const CapturedEvent& event : batch) {
    if (rows.empty() || rows.back().scope != event.Scope() || rows.back().count == kEventsPerRecord ||
        rows.back().newest - event.millis > kRecordSpanMillis) {
      rows.push_back({event.Scope(), EventKey(event.millis, event.sequence), {}, 0, event.millis});
      if (known_scopes_.find(event.Scope()) == known_scopes_.end()) new_scopes.emplace(event.Scope());
    }
    Row& row = rows.back();
    if (row.count++ > 0) row.lines += '\n';
    row.lines += event.Encoded();
  }
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    for (Row& row : rows) {
      Document doc = {{"events", std::move(row.lines)}};
      GANTRY_RETURN_IF_ERROR(tx.Put(kEventTable, row.scope, row.key, doc).status());
    }
    for (const std::string& scope : new_scopes) {
      GANTRY_RETURN_IF_ERROR(tx.Put(kScopeTable, "", scope, Document::object()).status());
    }
    return Status::Ok();
  });
  if (status.ok()) known_scopes_.insert(new_scopes.begin(), new_scopes.end());
  return status;
}

StatusOr<int64_t> EventRecorder::SweepRetention(TimePoint now) {
  std::lock_guard write_lock(write_mu_);
  int64_t cutoff = ToEpochMillis(now - kRetention);
  // Keys sort newest first, by a record's newest event: records after the cutoff millisecond's
  // keys hold only older events.
  std::string older_than = MillisKeyPrefix(cutoff) + "-~";
  int64_t removed = 0;
  GANTRY_ASSIGN_OR_RETURN(store::ListPage scopes, store_->List(kScopeTable, ""));
  for (const auto& scope : scopes.records) {
    while (true) {
      store::ListOptions options;
      options.start_after = older_than;
      options.limit = kDeletesPerTransaction;
      GANTRY_ASSIGN_OR_RETURN(store::ListPage page, store_->List(kEventTable, scope.key, options));
      if (page.records.empty()) break;
      GANTRY_RETURN_IF_ERROR(store_->Transact([&](store::Transaction& tx) -> Status {
        for (const auto& record : page.records) {
          GANTRY_RETURN_IF_ERROR(tx.Delete(kEventTable, scope.key, record.key).status());
        }
        return Status::Ok();
      }));
      for (const auto& record : page.records) {
        const std::string& lines = record.doc.value("events", std::string());
        if (!lines.empty()) removed += 1 + std::count(lines.begin(), lines.end(), '\n');
      }
      if (page.next_token.empty()) break;
    }
  }
  return removed;
}

}  // namespace gantry::services::cloudtrail
