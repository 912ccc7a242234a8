// The audit trail's writer: a RequestObserver that captures every management event (redacted, on
// the request's thread) into an in-memory queue, and a writer thread that stores the queue in
// batches, one store transaction per batch, every ~100 ms (sooner when a batch fills up) and on
// Stop. Events are therefore durable within about 100 ms of the request; AWS's own event history
// is eventually consistent too (minutes). LookupEvents flushes the queue before it reads, so a
// client always finds its own earlier calls.
//
// The queue is bounded (kMaxQueued events). An audit trail must not lose events, so when the
// store falls that far behind, requests wait for room (counted in waits()) instead: under
// sustained overload the request rate settles at the rate events can be stored. Retention: events
// older than 90 days by the injected clock are removed by a sweep the writer runs hourly (by that
// clock).
//
// Thread-safety: OnRequestComplete is called concurrently from request threads and never touches
// the store (it waits only while the queue is full); Flush and SweepRetention may be called from
// any thread (batches are serialized); Start/Stop from one controlling thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"
#include "services/cloudtrail/trail_event.h"

namespace gantry::services::cloudtrail {

inline constexpr auto kRetention = std::chrono::hours(24 * 90);
inline constexpr auto kFlushInterval = std::chrono::milliseconds(100);
inline constexpr size_t kBatchSize = 512;
inline constexpr size_t kMaxQueued = 16384;

class EventRecorder final : public aws::RequestObserver {
 public:
  // Pointers must outlive the recorder.
  EventRecorder(store::Store* store, Clock* clock, IdSource* ids);
  ~EventRecorder() override;

  void OnRequestComplete(const aws::RequestContext& ctx, const aws::Document& input, const Status& result) override;

  // Starts the writer thread.
  void Start();
  // Writes what is queued and stops the writer thread. Events captured later wait for Flush (or
  // the destructor).
  void Stop();

  // Stores everything queued now.
  Status Flush();
  // Removes events older than the retention period at now; returns how many.
  StatusOr<int64_t> SweepRetention(TimePoint now);

  // How many requests waited for room in the queue.
  uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }

 private:
  void WriterLoop();
  Status WriteBatch(std::vector<CapturedEvent>& batch);

  store::Store* store_;
  Clock* clock_;
  IdSource* ids_;
  std::string id_seed_;  // 16 random bytes: event ids are derived from it and the sequence
  std::atomic<uint64_t> sequence_{0};
  std::atomic<uint64_t> waits_{0};

  std::mutex mu_;  // guards queue_ and stopping_
  std::condition_variable wake_;  // the writer: a batch is ready or stopping
  std::condition_variable room_;  // waiting requests: the queue has room
  std::vector<CapturedEvent> queue_;
  bool stopping_ = false;
  std::thread writer_;

  std::mutex write_mu_;  // one batch at a time; guards known_scopes_
  std::set<std::string, std::less<>> known_scopes_;
  TimePoint last_sweep_{};
};

}  // namespace gantry::services::cloudtrail
