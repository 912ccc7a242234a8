// The CloudWatch Logs operations Gantry serves, one handler per model operation, registered in
// groups: log groups, retention and tags; log streams; log events (put, get, filter); metric
// filters. Handlers validate what the model cannot express and read and write the store and the
// engine. Handlers are thread-safe; deps must outlive the table.
#pragma once

#include "core/aws/service.h"
#include "services/logs/resources.h"

namespace gantry::services::logs {

using Handler = StatusOr<Document> (*)(const LogsDeps&, aws::RequestContext&, const Document&);

inline void AddHandler(aws::HandlerTable& table, const LogsDeps* deps, std::string_view operation, Handler fn) {
  table.Add("logs", operation, [deps, fn](aws::RequestContext& ctx, const Document& input) {
    return fn(*deps, ctx, input);
  });
}

void RegisterGroupHandlers(aws::HandlerTable& table, const LogsDeps* deps);
void RegisterStreamHandlers(aws::HandlerTable& table, const LogsDeps* deps);
void RegisterEventHandlers(aws::HandlerTable& table, const LogsDeps* deps);
void RegisterMetricFilterHandlers(aws::HandlerTable& table, const LogsDeps* deps);

}  // namespace gantry::services::logs
