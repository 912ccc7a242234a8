#include "services/events/events_service.h"

#include <algorithm>

#include "services/events/handlers.h"
#include "services/events/invocations.h"

namespace gantry::services::events {

namespace {

// The longest an engine sleeps without being woken (the real clock may jump).
constexpr Duration kMaxSleep = std::chrono::seconds(30);

Duration Until(TimePoint when, TimePoint now) {
  return std::clamp<Duration>(when - now, std::chrono::milliseconds(1), kMaxSleep);
}

}  // namespace

EventsService::EventsService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client,
                             const std::string& state_dir, std::unique_ptr<HttpSender> http)
    : box_(crypto::SealedBox::OpenOrCreate(crypto::MasterKeyPath(state_dir))),
      deps_{store, clock, ids, client, &delivery_wakeup_, &schedule_wakeup_, box_.ok() ? &*box_ : nullptr},
      http_(std::move(http)),
      delivery_(deps_, http_.get()),
      scheduler_(deps_) {}

EventsService::~EventsService() { Stop(); }

void EventsService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterBusHandlers(table, deps_);
  RegisterRuleHandlers(table, deps_);
  RegisterArchiveHandlers(table, deps_);
  RegisterConnectionHandlers(table, deps_);
}

Status EventsService::Start() {
  if (!box_.ok()) return box_.status();
  if (delivery_thread_.joinable()) return Status::Ok();
  stopping_ = false;
  delivery_thread_ = std::thread([this] { DeliveryLoop(); });
  schedule_thread_ = std::thread([this] { ScheduleLoop(); });
  return Status::Ok();
}

bool EventsService::ServeAdmin(std::string_view subpath, const http::Request& request, const std::string& account_id,
                               const std::string& region, http::Response& response) {
  if (subpath != "invocations") return false;
  WriteInvocations(*deps_.store, request, account_id, region, response);
  return true;
}

void EventsService::Stop() {
  stopping_ = true;
  delivery_wakeup_.Ring();
  schedule_wakeup_.Ring();
  if (delivery_thread_.joinable()) delivery_thread_.join();
  if (schedule_thread_.joinable()) schedule_thread_.join();
}

int EventsService::DeliverPending() {
  int total = 0;
  for (int n = delivery_.RunOnce(); n > 0; n = delivery_.RunOnce()) total += n;
  return total;
}

int EventsService::FireSchedules(TimePoint now) { return scheduler_.RunOnce(now).fired; }

void EventsService::DeliveryLoop() {
  while (!stopping_) {
    if (delivery_.RunOnce() > 0) continue;
    Duration sleep = kMaxSleep;
    if (auto due = delivery_.NextRetryDue()) sleep = Until(*due, deps_.clock->Now());
    delivery_wakeup_.WaitFor(sleep);
  }
}

void EventsService::ScheduleLoop() {
  while (!stopping_) {
    RuleScheduler::Pass pass = scheduler_.RunOnce(deps_.clock->Now());
    if (pass.fired > 0) delivery_wakeup_.Ring();
    Duration sleep = pass.next ? Until(*pass.next, deps_.clock->Now()) : kMaxSleep;
    schedule_wakeup_.WaitFor(sleep);
  }
}

}  // namespace gantry::services::events
