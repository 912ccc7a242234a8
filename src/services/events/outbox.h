// The outbox: acknowledged work the delivery engine has not finished. An entry is written in the
// same store transaction that acknowledges it (PutEvents, a schedule fire, StartReplay, a delivery
// to another bus) and removed once everything it causes was attempted and recorded, so a restart
// after a crash delivers what was pending (at least once, as EventBridge does).
//
// Entries (Document, by "kind"):
//   "event"        {account, region, bus, event, ingested_ms, path: [bus ARNs the event crossed],
//                   rule?: only this rule (a scheduled event), replay?, filter_arns?}
//   "replay"       {account, region, replay}: expand the replay's archived events into "event"s
//   "replay_done"  {account, region, replay}: queued after those events; finishes the replay
//
// Also the event envelope, the JSON document rules match and targets receive. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/aws/document.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/store/store.h"

namespace gantry::services::events {

using aws::Document;

// Appends an entry in arrival order.
Status Enqueue(store::RecordOperations& ops, const Document& entry);

Document EventEntry(std::string_view account, std::string_view region, std::string_view bus, const Document& envelope,
                    TimePoint ingested);

struct EventFields {
  std::string id;
  std::string detail_type;
  std::string source;
  std::string account;
  TimePoint time;
  std::string region;
  Document resources = Document::array();
  Document detail = Document::object();
};

// {"version":"0","id","detail-type","source","account","time","region","resources","detail"}
Document MakeEnvelope(const EventFields& fields);

// The envelope as text with its members in EventBridge's order (version, id, detail-type, source,
// account, time, region, resources, detail, then any others such as replay-name).
std::string EnvelopeText(const Document& envelope);

}  // namespace gantry::services::events
