// The rule scheduler: fires the enabled rules with a ScheduleExpression (default buses only, as in
// AWS) at the times the expression selects, by the injected clock. A fire is one transaction that
// advances the rule's last fire time and queues a "Scheduled Event" (source aws.events, resources
// [rule ARN], detail {}) for that rule's targets in the outbox, so a restart neither loses nor
// repeats a fire. Fires missed while Gantry was down fire once, at the next pass (as AWS fires a
// missed schedule at most once).
//
// The schedule index (table events.schedule, one entry per scheduled rule across all accounts and
// regions) is kept in step with the rules by SyncSchedule, in the rule handlers' transactions.
//
// RuleScheduler is not thread-safe: one thread runs it (the service's scheduler, or a test).
#pragma once

#include <optional>

#include "core/aws/document.h"
#include "core/common/clock.h"
#include "core/store/store.h"
#include "services/events/resources.h"

namespace gantry::services::events {

// Makes the index agree with a rule record (absent: the rule was deleted). A changed expression or
// a rule enabled again starts its schedule anew from `now`.
Status SyncSchedule(store::RecordOperations& ops, std::string_view account, std::string_view region,
                    std::string_view bus, std::string_view rule, const Document* rule_doc, TimePoint now);

class RuleScheduler {
 public:
  explicit RuleScheduler(const EventsDeps& deps) : deps_(deps) {}

  struct Pass {
    int fired = 0;
    std::optional<TimePoint> next;  // the earliest fire after this pass
  };
  // Fires every schedule due at `now`.
  Pass RunOnce(TimePoint now);

 private:
  // Fires the schedule of `record` if it is due (setting `fired`); returns its next fire time.
  std::optional<TimePoint> FireIfDue(const store::Record& record, TimePoint now, bool& fired);

  EventsDeps deps_;
};

}  // namespace gantry::services::events
