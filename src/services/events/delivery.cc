#include "services/events/delivery.h"

#include <algorithm>

#include "core/common/log.h"
#include "core/common/time_format.h"
#include "core/events/transform.h"
#include "services/events/invocations.h"
#include "services/events/outbox.h"

namespace gantry::services::events {

namespace {

using ::gantry::events::EventPattern;

constexpr int kBatch = 50;
constexpr int kDefaultMaximumRetryAttempts = 185;
constexpr int kDefaultMaximumEventAgeSeconds = 86400;
constexpr int64_t kMaxBackoffMillis = 5 * 60 * 1000;

bool IsEnabled(const Document& rule) { return rule.value("State", "ENABLED") != "DISABLED"; }

// Milliseconds since the epoch that lead a retry key ("<due ms>/<seq>").
int64_t DueMillisOf(const std::string& key) { return std::strtoll(key.c_str(), nullptr, 10); }

int64_t EventMillisOf(const Document& envelope, int64_t fallback) {
  auto time = ParseIso8601(envelope.value("time", ""));
  return time ? ToEpochMillis(*time) : fallback;
}

bool IsCancelled(const Document& replay) {
  std::string state = replay.value("State", "");
  return state == "CANCELLING" || state == "CANCELLED";
}

}  // namespace

const EventPattern* Delivery::Pattern(const std::string& text) {
  auto it = patterns_.find(text);
  if (it != patterns_.end()) return &it->second;
  auto parsed = EventPattern::Parse(text);
  if (!parsed.ok()) return nullptr;
  if (patterns_.size() >= 1024) patterns_.clear();
  return &patterns_.emplace(text, std::move(*parsed)).first->second;
}

bool Delivery::Handle(std::string_view table, const store::Record& record) {
  Status status;
  try {
    status = table == kRetryTable ? ProcessRetry(record) : ProcessEntry(record);
  } catch (const std::exception& e) {
    // A record that cannot be read would block everything behind it: it is dropped, loudly.
    GANTRY_LOG(kError, "events: dropping malformed " << table << " record " << record.key << ": " << e.what());
    Status dropped = deps_.store->Delete(table, "", record.key).status();
    return dropped.ok();
  }
  if (!status.ok()) {
    GANTRY_LOG(kWarn, "events: " << table << " record " << record.key << " failed: " << status.ToString());
    return false;
  }
  return true;
}

int Delivery::RunOnce() {
  int completed = 0;
  int64_t now_ms = ToEpochMillis(deps_.clock->Now());
  store::ListOptions options;
  options.limit = kBatch;
  auto retries = deps_.store->List(kRetryTable, "", options);
  if (retries.ok()) {
    for (const auto& record : retries->records) {
      if (DueMillisOf(record.key) > now_ms || !Handle(kRetryTable, record)) break;
      ++completed;
    }
  }
  auto outbox = deps_.store->List(kOutboxTable, "", options);
  if (!outbox.ok()) {
    GANTRY_LOG(kWarn, "events: reading the outbox failed: " << outbox.status().ToString());
    return completed;
  }
  for (const auto& record : outbox->records) {
    // On failure later entries wait, so that events keep their order.
    if (!Handle(kOutboxTable, record)) break;
    ++completed;
  }
  return completed;
}

std::optional<TimePoint> Delivery::NextRetryDue() {
  store::ListOptions options;
  options.limit = 1;
  auto first = deps_.store->List(kRetryTable, "", options);
  if (!first.ok() || first->records.empty()) return std::nullopt;
  return TimePoint(std::chrono::milliseconds(DueMillisOf(first->records.front().key)));
}

Status Delivery::ProcessEntry(const store::Record& record) {
  std::string kind = record.doc.value("kind", "");
  if (kind == "event") return ProcessEvent(record);
  if (kind == "replay") return ExpandReplay(record);
  if (kind == "replay_done") return FinishReplay(record);
  GANTRY_LOG(kWarn, "events: dropping outbox entry " << record.key << " of unknown kind '" << kind << "'");
  return deps_.store->Delete(kOutboxTable, "", record.key).status();
}

Status Delivery::ProcessEvent(const store::Record& record) {
  const Document& entry = record.doc;
  std::string account = entry.value("account", "");
  std::string region = entry.value("region", "");
  std::string bus = entry.value("bus", std::string(kDefaultBus));
  std::string scope = ScopeOf(account, region);
  Document envelope = entry.value("event", Document::object());
  int64_t ingested_ms = entry.value("ingested_ms", ToEpochMillis(deps_.clock->Now()));
  std::string replay = entry.value("replay", "");
  std::string only_rule = entry.value("rule", "");

  if (!replay.empty()) {
    GANTRY_ASSIGN_OR_RETURN(auto replay_record, deps_.store->Get(kReplayTable, scope, replay));
    if (!replay_record || IsCancelled(replay_record->doc)) {
      return deps_.store->Delete(kOutboxTable, "", record.key).status();
    }
  }

  std::vector<Document> rules;
  if (!only_rule.empty()) {
    GANTRY_ASSIGN_OR_RETURN(auto rule, deps_.store->Get(kRuleTable, scope, RuleKey(bus, only_rule)));
    if (rule && IsEnabled(rule->doc)) rules.push_back(std::move(rule->doc));
  } else {
    Document filter = entry.value("filter_arns", Document::array());
    store::ListOptions options;
    options.prefix = bus + "/";
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps_.store->List(kRuleTable, scope, options));
      for (auto& rule : page.records) {
        const Document& doc = rule.doc;
        if (!IsEnabled(doc) || !doc.contains("EventPattern")) continue;
        if (!filter.empty() && std::find(filter.begin(), filter.end(), doc["Arn"]) == filter.end()) continue;
        const EventPattern* pattern = Pattern(doc["EventPattern"].get<std::string>());
        if (pattern != nullptr && pattern->Matches(envelope)) rules.push_back(std::move(rule.doc));
      }
      if (page.next_token.empty()) break;
      options.start_after = page.next_token;
    }
    if (replay.empty()) GANTRY_RETURN_IF_ERROR(ArchiveEvent(scope, BusArn(region, account, bus), envelope));
  }

  std::vector<Document> retries;
  for (const Document& rule : rules) {
    for (const Document& target : rule.value("Targets", Document::array())) {
      TargetDelivery delivery;
      delivery.account = account;
      delivery.region = region;
      delivery.bus = bus;
      delivery.rule = rule;
      delivery.target = target;
      delivery.event = envelope;
      delivery.path = entry.value("path", Document::array());
      ::gantry::events::RuleContext context;
      context.rule_arn = rule.value("Arn", "");
      context.rule_name = rule.value("Name", "");
      context.ingestion_time = TimePoint(std::chrono::milliseconds(ingested_ms));
      auto payload = HasShapedInput(target) ? ShapeTargetInput(InputSpecOf(target), envelope, context)
                                            : StatusOr<std::string>(EnvelopeText(envelope));
      if (payload.ok()) delivery.payload = std::move(*payload);
      Document retry = Attempt(delivery, 1, ingested_ms, payload.status());
      if (!retry.is_null()) retries.push_back(std::move(retry));
    }
  }

  return deps_.store->Transact([&](store::Transaction& txn) -> Status {
    for (const Document& retry : retries) {
      GANTRY_ASSIGN_OR_RETURN(int64_t sequence, txn.NextSequence(kRetryTable));
      std::string key = Padded(retry["due_ms"].get<int64_t>()) + "/" + Padded(sequence);
      GANTRY_RETURN_IF_ERROR(txn.Create(kRetryTable, "", key, retry).status());
    }
    return txn.Delete(kOutboxTable, "", record.key).status();
  });
}

Document Delivery::Attempt(const TargetDelivery& delivery, int attempt, int64_t ingested_ms, const Status& shaped) {
  TimePoint now = deps_.clock->Now();
  DeliveryOutcome outcome;
  if (shaped.ok()) {
    outcome = invoker_.Invoke(delivery);
  } else {
    outcome.ok = false;
    outcome.error_code = "ValidationException";
    outcome.error_message = "The target's input could not be shaped: " + shaped.message();
  }

  const Document& policy = delivery.target.value("RetryPolicy", Document::object());
  int max_retries = policy.value("MaximumRetryAttempts", kDefaultMaximumRetryAttempts);
  int64_t max_age_ms = 1000LL * policy.value("MaximumEventAgeInSeconds", kDefaultMaximumEventAgeSeconds);
  int64_t now_ms = ToEpochMillis(now);
  int64_t backoff_ms = std::min<int64_t>(kMaxBackoffMillis, 1000LL << std::min(attempt - 1, 20));
  bool retry =
      !outcome.ok && outcome.transient && attempt - 1 < max_retries && now_ms + backoff_ms - ingested_ms <= max_age_ms;

  Document record = {{"Time", FormatIso8601(now, true)},
                     {"EventId", delivery.event.value("id", "")},
                     {"EventBusName", delivery.bus},
                     {"RuleName", delivery.rule.value("Name", "")},
                     {"RuleArn", delivery.rule.value("Arn", "")},
                     {"TargetId", delivery.target.value("Id", "")},
                     {"TargetArn", delivery.target.value("Arn", "")},
                     {"Attempt", attempt},
                     {"Status", outcome.ok ? "SUCCEEDED"
                                : retry    ? "RETRYING"
                                           : "FAILED"}};
  if (!outcome.ok) {
    record["ErrorCode"] = outcome.error_code;
    record["ErrorMessage"] = outcome.error_message;
    std::string dead_letter = delivery.target.value("DeadLetterConfig", Document::object()).value("Arn", "");
    if (!retry && !dead_letter.empty()) {
      record["DeadLetterArn"] = dead_letter;
      record["DeadLetterError"] = "Gantry does not implement sqs; the event was not sent to the dead-letter queue.";
    }
  }
  Status recorded = RecordInvocation(*deps_.store, ScopeOf(delivery.account, delivery.region), record);
  if (!recorded.ok()) GANTRY_LOG(kWarn, "events: recording an invocation failed: " << recorded.ToString());
  if (!outcome.ok) {
    GANTRY_LOG(kInfo, "events: delivery of " << delivery.event.value("id", "") << " to "
                                             << delivery.target.value("Arn", "") << " failed (attempt " << attempt
                                             << "): " << outcome.error_message);
  }
  if (!retry) return nullptr;
  return {{"account", delivery.account}, {"region", delivery.region},    {"bus", delivery.bus},
          {"rule", delivery.rule},       {"target", delivery.target},    {"event", delivery.event},
          {"path", delivery.path},       {"payload", delivery.payload},  {"ingested_ms", ingested_ms},
          {"attempt", attempt + 1},      {"due_ms", now_ms + backoff_ms}};
}

Status Delivery::ProcessRetry(const store::Record& record) {
  const Document& doc = record.doc;
  TargetDelivery delivery;
  delivery.account = doc.value("account", "");
  delivery.region = doc.value("region", "");
  delivery.bus = doc.value("bus", "");
  delivery.rule = doc.value("rule", Document::object());
  delivery.target = doc.value("target", Document::object());
  delivery.event = doc.value("event", Document::object());
  delivery.path = doc.value("path", Document::array());
  delivery.payload = doc.value("payload", "");
  Document retry = Attempt(delivery, doc.value("attempt", 2), doc.value("ingested_ms", int64_t{0}), Status::Ok());
  return deps_.store->Transact([&](store::Transaction& txn) -> Status {
    if (!retry.is_null()) {
      GANTRY_ASSIGN_OR_RETURN(int64_t sequence, txn.NextSequence(kRetryTable));
      std::string key = Padded(retry["due_ms"].get<int64_t>()) + "/" + Padded(sequence);
      GANTRY_RETURN_IF_ERROR(txn.Create(kRetryTable, "", key, retry).status());
    }
    return txn.Delete(kRetryTable, "", record.key).status();
  });
}

Status Delivery::ArchiveEvent(const std::string& scope, const std::string& bus_arn, const Document& envelope) {
  GANTRY_ASSIGN_OR_RETURN(store::ListPage archives, deps_.store->List(kArchiveTable, scope));
  std::vector<std::string> matching;
  for (const auto& archive : archives.records) {
    const Document& doc = archive.doc;
    if (doc.value("EventSourceArn", "") != bus_arn || doc.value("State", "") != "ENABLED") continue;
    if (doc.contains("EventPattern")) {
      const EventPattern* pattern = Pattern(doc["EventPattern"].get<std::string>());
      if (pattern == nullptr || !pattern->Matches(envelope)) continue;
    }
    matching.push_back(archive.key);
  }
  if (matching.empty()) return Status::Ok();
  int64_t now_ms = ToEpochMillis(deps_.clock->Now());
  int64_t size = static_cast<int64_t>(EnvelopeText(envelope).size());
  std::string id_part = Padded(EventMillisOf(envelope, now_ms)) + "/" + envelope.value("id", "");
  return deps_.store->Transact([&](store::Transaction& txn) -> Status {
    for (const std::string& name : matching) {
      GANTRY_ASSIGN_OR_RETURN(auto archive, txn.Get(kArchiveTable, scope, name));
      if (!archive) continue;
      Document doc = archive->doc;
      std::string key = name + "/" + id_part;
      GANTRY_ASSIGN_OR_RETURN(auto existing, txn.Get(kArchivedEventTable, scope, key));
      if (existing) continue;
      GANTRY_RETURN_IF_ERROR(txn.Create(kArchivedEventTable, scope, key, envelope).status());
      int64_t count = doc.value("EventCount", int64_t{0}) + 1;
      int64_t bytes = doc.value("SizeBytes", int64_t{0}) + size;
      int64_t retention_days = doc.value("RetentionDays", int64_t{0});
      if (retention_days > 0) {
        // Events past the retention period leave the archive (oldest first, a bounded number
        // per arrival).
        int64_t cutoff_ms = now_ms - retention_days * 86400000LL;
        store::ListOptions oldest;
        oldest.prefix = name + "/";
        oldest.limit = 100;
        GANTRY_ASSIGN_OR_RETURN(store::ListPage page, txn.List(kArchivedEventTable, scope, oldest));
        for (const auto& old : page.records) {
          if (DueMillisOf(old.key.substr(name.size() + 1)) >= cutoff_ms) break;
          GANTRY_RETURN_IF_ERROR(txn.Delete(kArchivedEventTable, scope, old.key).status());
          count -= 1;
          bytes -= static_cast<int64_t>(EnvelopeText(old.doc).size());
        }
      }
      doc["EventCount"] = std::max<int64_t>(count, 0);
      doc["SizeBytes"] = std::max<int64_t>(bytes, 0);
      GANTRY_RETURN_IF_ERROR(txn.Put(kArchiveTable, scope, name, doc).status());
    }
    return Status::Ok();
  });
}

Status Delivery::ExpandReplay(const store::Record& record) {
  std::string account = record.doc.value("account", "");
  std::string region = record.doc.value("region", "");
  std::string name = record.doc.value("replay", "");
  std::string scope = ScopeOf(account, region);
  TimePoint now = deps_.clock->Now();
  while (true) {
    bool finished = false;
    Status status = deps_.store->Transact([&](store::Transaction& txn) -> Status {
      GANTRY_ASSIGN_OR_RETURN(auto replay, txn.Get(kReplayTable, scope, name));
      if (!replay || IsCancelled(replay->doc)) {
        finished = true;
        if (replay) {
          Document doc = replay->doc;
          doc["State"] = "CANCELLED";
          doc["ReplayEndTime"] = ToEpochSeconds(now);
          GANTRY_RETURN_IF_ERROR(txn.Put(kReplayTable, scope, name, doc).status());
        }
        return txn.Delete(kOutboxTable, "", record.key).status();
      }
      Document doc = replay->doc;
      std::string archive_arn = doc.value("EventSourceArn", "");
      std::string archive = archive_arn.substr(archive_arn.rfind('/') + 1);
      int64_t start_ms = static_cast<int64_t>(doc.value("EventStartTime", 0.0) * 1000);
      int64_t end_ms = static_cast<int64_t>(doc.value("EventEndTime", 0.0) * 1000);
      std::string destination = BusNameOf(doc["Destination"].value("Arn", ""));
      Document filter = doc["Destination"].value("FilterArns", Document::array());

      store::ListOptions options;
      options.prefix = archive + "/";
      options.start_after = doc.value("Cursor", archive + "/" + Padded(start_ms));
      options.limit = kBatch;
      GANTRY_ASSIGN_OR_RETURN(store::ListPage page, txn.List(kArchivedEventTable, scope, options));
      for (const auto& event : page.records) {
        if (DueMillisOf(event.key.substr(archive.size() + 1)) >= end_ms) {
          finished = true;
          break;
        }
        Document envelope = event.doc;
        envelope["replay-name"] = name;
        Document entry = EventEntry(account, region, destination, envelope, now);
        entry["replay"] = name;
        if (!filter.empty()) entry["filter_arns"] = filter;
        GANTRY_RETURN_IF_ERROR(Enqueue(txn, entry));
        doc["Cursor"] = event.key;
        auto time = ParseIso8601(event.doc.value("time", ""));
        if (time) doc["EventLastReplayedTime"] = ToEpochSeconds(*time);
      }
      if (page.next_token.empty()) finished = true;
      doc["State"] = "RUNNING";
      GANTRY_RETURN_IF_ERROR(txn.Put(kReplayTable, scope, name, doc).status());
      if (!finished) return Status::Ok();
      GANTRY_RETURN_IF_ERROR(
          Enqueue(txn, {{"kind", "replay_done"}, {"account", account}, {"region", region}, {"replay", name}}));
      return txn.Delete(kOutboxTable, "", record.key).status();
    });
    GANTRY_RETURN_IF_ERROR(status);
    if (finished) break;
  }
  if (deps_.delivery_wakeup) deps_.delivery_wakeup->Ring();
  return Status::Ok();
}

Status Delivery::FinishReplay(const store::Record& record) {
  std::string scope = ScopeOf(record.doc.value("account", ""), record.doc.value("region", ""));
  std::string name = record.doc.value("replay", "");
  TimePoint now = deps_.clock->Now();
  return deps_.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto replay, txn.Get(kReplayTable, scope, name));
    if (replay) {
      Document doc = replay->doc;
      doc["State"] = IsCancelled(doc) ? "CANCELLED" : "COMPLETED";
      doc["ReplayEndTime"] = ToEpochSeconds(now);
      doc.erase("Cursor");
      GANTRY_RETURN_IF_ERROR(txn.Put(kReplayTable, scope, name, doc).status());
    }
    return txn.Delete(kOutboxTable, "", record.key).status();
  });
}

}  // namespace gantry::services::events
