// CloudTrail event history: every management event Gantry serves — read and write, HTTP or
// in-process, allowed or denied — is recorded by the request observer this service contributes
// to the chain (event_recorder.h), and LookupEvents reads it back: one lookup attribute per call
// (EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId),
// a time range, newest first, 50 per page. Events live 90 days.
//
// Layout: cloudtrail.event, scope "<account>/<region>", records of many events keyed so that they
// sort newest first (trail_event.h), so a time range is one range scan of the store; a lookup
// merges records whose time spans overlap. NextToken is the position (time, sequence) of the last
// event returned.
//
// Thread-safety: handlers and the observer are thread-safe; Start/Stop from one thread.
#pragma once

#include "core/aws/service.h"
#include "services/cloudtrail/event_recorder.h"

namespace gantry::services::cloudtrail {

class CloudTrailService final : public aws::Service {
 public:
  // Pointers must outlive the service.
  CloudTrailService(store::Store* store, Clock* clock, IdSource* ids);

  std::string_view name() const override { return "cloudtrail"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  Status Start() override;
  void Stop() override;
  aws::RequestObserver* observer() override { return &recorder_; }

  EventRecorder& recorder() { return recorder_; }

 private:
  store::Store* store_;
  EventRecorder recorder_;
};

}  // namespace gantry::services::cloudtrail
