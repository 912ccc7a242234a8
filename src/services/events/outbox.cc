#include "services/events/outbox.h"

#include "core/common/time_format.h"
#include "services/events/resources.h"

namespace gantry::services::events {

Status Enqueue(store::RecordOperations& ops, const Document& entry) {
  GANTRY_ASSIGN_OR_RETURN(int64_t sequence, ops.NextSequence(kOutboxTable));
  return ops.Create(kOutboxTable, "", Padded(sequence), entry).status();
}

Document EventEntry(std::string_view account, std::string_view region, std::string_view bus, const Document& envelope,
                    TimePoint ingested) {
  return {{"kind", "event"},          {"account", account},
          {"region", region},         {"bus", bus},
          {"event", envelope},        {"ingested_ms", ToEpochMillis(ingested)},
          {"path", Document::array()}};
}

Document MakeEnvelope(const EventFields& fields) {
  return {{"version", "0"},
          {"id", fields.id},
          {"detail-type", fields.detail_type},
          {"source", fields.source},
          {"account", fields.account},
          {"time", FormatIso8601(fields.time)},
          {"region", fields.region},
          {"resources", fields.resources},
          {"detail", fields.detail}};
}

std::string EnvelopeText(const Document& envelope) {
  static constexpr std::string_view kOrder[] = {"version", "id",     "detail-type", "source", "account",
                                                "time",    "region", "resources",   "detail"};
  nlohmann::ordered_json ordered;
  for (std::string_view key : kOrder) {
    auto it = envelope.find(key);
    if (it != envelope.end()) ordered[std::string(key)] = *it;
  }
  for (const auto& [key, value] : envelope.items()) {
    if (!ordered.contains(key)) ordered[key] = value;
  }
  return ordered.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace gantry::services::events
