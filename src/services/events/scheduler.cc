#include "services/events/scheduler.h"

#include "core/common/log.h"
#include "core/events/schedule.h"
#include "services/events/outbox.h"

namespace gantry::services::events {

namespace {

using ::gantry::events::ScheduleExpression;

std::string ScheduleKey(std::string_view account, std::string_view region, std::string_view rule) {
  return std::string(account) + "/" + std::string(region) + "/" + std::string(rule);
}

TimePoint FromMillis(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// The latest fire time of `schedule` that is not after `now`, given that `first` is one.
TimePoint LatestFire(const ScheduleExpression& schedule, TimePoint first, TimePoint now) {
  if (schedule.is_rate()) {
    auto missed = (now - first) / schedule.rate();
    return first + missed * schedule.rate();
  }
  TimePoint fire = first;
  for (int i = 0; i < 100000; ++i) {
    TimePoint next = schedule.NextAfter(fire);
    if (next > now) break;
    fire = next;
  }
  return fire;
}

}  // namespace

Status SyncSchedule(store::RecordOperations& ops, std::string_view account, std::string_view region,
                    std::string_view bus, std::string_view rule, const Document* rule_doc, TimePoint now) {
  if (bus != kDefaultBus) return Status::Ok();
  std::string key = ScheduleKey(account, region, rule);
  if (rule_doc == nullptr || !rule_doc->contains("ScheduleExpression")) {
    return ops.Delete(kScheduleTable, "", key).status();
  }
  std::string expression = (*rule_doc)["ScheduleExpression"].get<std::string>();
  bool enabled = rule_doc->value("State", "ENABLED") != "DISABLED";
  GANTRY_ASSIGN_OR_RETURN(auto existing, ops.Get(kScheduleTable, "", key));
  if (existing && existing->doc.value("expression", "") == expression &&
      existing->doc.value("enabled", false) == enabled) {
    return Status::Ok();
  }
  Document entry = {{"account", account},       {"region", region},   {"rule", rule},
                    {"expression", expression}, {"enabled", enabled}, {"anchor_ms", ToEpochMillis(now)}};
  return ops.Put(kScheduleTable, "", key, entry).status();
}

std::optional<TimePoint> RuleScheduler::FireIfDue(const store::Record& record, TimePoint now, bool& fired) {
  const Document& entry = record.doc;
  if (!entry.value("enabled", false)) return std::nullopt;
  auto schedule = ScheduleExpression::Parse(entry.value("expression", ""));
  if (!schedule.ok()) return std::nullopt;
  int64_t base_ms =
      entry.contains("last_fire_ms") ? entry["last_fire_ms"].get<int64_t>() : entry.value("anchor_ms", int64_t{0});
  TimePoint first = schedule->NextAfter(FromMillis(base_ms));
  if (first > now) return first;
  TimePoint fire = LatestFire(*schedule, first, now);
  std::string account = entry.value("account", "");
  std::string region = entry.value("region", "");
  std::string rule = entry.value("rule", "");
  Status status = deps_.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto current, txn.Get(kScheduleTable, "", record.key));
    // Changed since it was read: the next pass sees the new version.
    if (!current || current->version != record.version) return Status::Ok();
    Document updated = current->doc;
    updated["last_fire_ms"] = ToEpochMillis(fire);
    GANTRY_RETURN_IF_ERROR(txn.Put(kScheduleTable, "", record.key, updated).status());
    EventFields fields;
    fields.id = deps_.ids->Uuid();
    fields.detail_type = "Scheduled Event";
    fields.source = "aws.events";
    fields.account = account;
    fields.time = fire;
    fields.region = region;
    fields.resources = Document::array({RuleArn(region, account, kDefaultBus, rule)});
    Document queued = EventEntry(account, region, kDefaultBus, MakeEnvelope(fields), now);
    queued["rule"] = rule;
    GANTRY_RETURN_IF_ERROR(Enqueue(txn, queued));
    fired = true;
    return Status::Ok();
  });
  if (!status.ok()) {
    fired = false;
    GANTRY_LOG(kWarn, "events: firing schedule " << record.key << " failed: " << status.ToString());
    return std::nullopt;
  }
  if (!fired) return std::nullopt;
  return schedule->NextAfter(fire);
}

RuleScheduler::Pass RuleScheduler::RunOnce(TimePoint now) {
  Pass pass;
  store::ListOptions options;
  options.limit = 200;
  while (true) {
    auto page = deps_.store->List(kScheduleTable, "", options);
    if (!page.ok()) {
      GANTRY_LOG(kWarn, "events: reading schedules failed: " << page.status().ToString());
      return pass;
    }
    for (const auto& record : page->records) {
      bool fired = false;
      std::optional<TimePoint> next;
      try {
        next = FireIfDue(record, now, fired);
      } catch (const std::exception& e) {
        GANTRY_LOG(kError, "events: skipping malformed schedule " << record.key << ": " << e.what());
        continue;
      }
      if (fired) ++pass.fired;
      if (next && *next != TimePoint::max() && (!pass.next || *next < *pass.next)) pass.next = next;
    }
    if (page->next_token.empty()) break;
    options.start_after = page->next_token;
  }
  return pass;
}

}  // namespace gantry::services::events
