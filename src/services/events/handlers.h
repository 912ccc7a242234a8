// The EventBridge operations Gantry serves, one handler per model operation, registered in
// groups: event buses, PutEvents, TestEventPattern and tags; rules and targets; archives and
// replays; connections and API destinations. Handlers validate what the model cannot express,
// read and write the store (one transaction per change) and ring the engines' wake signals.
// Handlers are thread-safe; deps must outlive the table.
#pragma once

#include "core/aws/service.h"
#include "services/events/resources.h"

namespace gantry::services::events {

using Handler = StatusOr<Document> (*)(const EventsDeps&, aws::RequestContext&, const Document&);

inline void AddHandler(aws::HandlerTable& table, const EventsDeps& deps, std::string_view operation, Handler fn) {
  table.Add("events", operation,
            [deps, fn](aws::RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
}

void RegisterBusHandlers(aws::HandlerTable& table, const EventsDeps& deps);
void RegisterRuleHandlers(aws::HandlerTable& table, const EventsDeps& deps);
void RegisterArchiveHandlers(aws::HandlerTable& table, const EventsDeps& deps);
void RegisterConnectionHandlers(aws::HandlerTable& table, const EventsDeps& deps);

}  // namespace gantry::services::events
