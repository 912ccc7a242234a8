// EventBridge: event buses, rules with the full event-pattern language, targets inside Gantry
// (other buses, API destinations, CodeBuild, CodePipeline, CloudWatch Logs), scheduled rules,
// archives and replays, connections and tags — served from the store, so everything acknowledged
// survives kill -9 and restarts.
//
// Two engine threads run between Start and Stop: the delivery worker (delivery.h) drains the
// outbox and due retries, and the scheduler (scheduler.h) fires scheduled rules by the injected
// clock. Both sleep on a wake signal, so handlers wake them when work arrives and Stop is prompt.
// Tests leave the threads off and drive both engines on their own thread with DeliverPending and
// FireSchedules.
//
// The constructor reads (or creates) <state-dir>/master.key, which seals connections' secrets at
// rest; Start fails when it could not.
//
// Handlers are thread-safe; Start/Stop are called from one thread.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/crypto/sealed_box.h"
#include "core/store/store.h"
#include "services/events/delivery.h"
#include "services/events/http_sender.h"
#include "services/events/resources.h"
#include "services/events/scheduler.h"

namespace gantry::services::events {

class EventsService final : public aws::Service {
 public:
  // All pointers must outlive the service; the master key lives in state_dir; http is the sender
  // API destinations use.
  EventsService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client, const std::string& state_dir,
                std::unique_ptr<HttpSender> http = std::make_unique<PosixHttpSender>());
  ~EventsService() override;

  std::string_view name() const override { return "events"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  Status Start() override;
  void Stop() override;
  bool ServeAdmin(std::string_view subpath, const http::Request& request, const std::string& account_id,
                  const std::string& region, http::Response& response) override;

  // Runs the delivery engine until nothing is due now; returns the entries and retries completed.
  int DeliverPending();
  // Runs one scheduler pass at `now`; returns how many rules fired.
  int FireSchedules(TimePoint now);

 private:
  void DeliveryLoop();
  void ScheduleLoop();

  WakeSignal delivery_wakeup_;
  WakeSignal schedule_wakeup_;
  StatusOr<crypto::SealedBox> box_;  // before deps_, which points into it
  EventsDeps deps_;
  std::unique_ptr<HttpSender> http_;
  Delivery delivery_;
  RuleScheduler scheduler_;
  std::atomic<bool> stopping_{false};
  std::thread delivery_thread_;
  std::thread schedule_thread_;
};

}  // namespace gantry::services::events
