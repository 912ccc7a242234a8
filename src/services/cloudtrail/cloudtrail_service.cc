#include "services/cloudtrail/cloudtrail_service.h"

#include <algorithm>
#include <cmath>
#include <compare>
#include <cstdint>
#include <optional>

#include "core/common/strings.h"

namespace gantry::services::cloudtrail {

namespace {

// Records read per LookupEvents call at most; a filtered scan that reaches it returns the events
// found so far and a NextToken (AWS, too, may return fewer events than MaxResults with a token).
constexpr size_t kRecordBudget = 200;

Status InvalidLookupAttributes(const std::string& message) {
  return Status::InvalidArgument(message, "InvalidLookupAttributesException");
}

Status InvalidNextToken() {
  return Status::InvalidArgument("Invalid NextToken. Use the token returned by the previous LookupEvents call.",
                                 "InvalidNextTokenException");
}

int64_t MillisOf(const aws::Document& seconds) {
  return static_cast<int64_t>(std::floor(seconds.get<double>() * 1000.0));
}

// A position in the trail: events are ordered newest first by (epoch ms, sequence).
struct Position {
  int64_t millis = 0;
  uint64_t sequence = 0;
  auto operator<=>(const Position&) const = default;
};

Position PositionOf(const aws::Document& stored) {
  return {stored.value("t", int64_t{0}), stored.value("seq", uint64_t{0})};
}

std::string TokenFor(Position p) {
  return Base64Encode("ct2:" + std::to_string(p.millis) + ":" + std::to_string(p.sequence));
}

std::optional<Position> ParseToken(const std::string& token) {
  std::optional<std::string> decoded = Base64Decode(token);
  if (!decoded || decoded->rfind("ct2:", 0) != 0) return std::nullopt;
  size_t colon = decoded->find(':', 4);
  if (colon == std::string::npos) return std::nullopt;
  try {
    size_t used = 0;
    Position p;
    p.millis = std::stoll(decoded->substr(4, colon - 4), &used);
    if (used != colon - 4) return std::nullopt;
    p.sequence = std::stoull(decoded->substr(colon + 1), &used);
    if (used != decoded->size() - colon - 1) return std::nullopt;
    return p;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

StatusOr<aws::Document> LookupEvents(store::Store& store, EventRecorder& recorder, aws::RequestContext& ctx,
                                     const aws::Document& input) {
  aws::Document attributes = input.value("LookupAttributes", aws::Document::array());
  if (attributes.size() > 1) {
    return InvalidLookupAttributes("You cannot specify more than one lookup attribute in a LookupEvents request.");
  }
  std::string key, value;
  if (!attributes.empty()) {
    key = attributes[0].value("AttributeKey", "");
    value = attributes[0].value("AttributeValue", "");
    if (key == "ReadOnly" && value != "true" && value != "false") {
      return InvalidLookupAttributes("The ReadOnly lookup attribute takes the value true or false.");
    }
  }
  std::optional<int64_t> start, end;
  if (input.contains("StartTime")) start = MillisOf(input["StartTime"]);
  if (input.contains("EndTime")) end = MillisOf(input["EndTime"]);
  if (start && end && *start > *end) {
    return Status::InvalidArgument("The start time of the lookup must be earlier than its end time.",
                                   "InvalidTimeRangeException");
  }
  if (input.value("EventCategory", "") == "insight") return aws::Document{{"Events", aws::Document::array()}};
  size_t limit = static_cast<size_t>(input.value("MaxResults", 50));

  // Events strictly older than `before` are wanted.
  std::optional<Position> before;
  if (end) before = Position{*end, UINT64_MAX};
  if (auto token = input.find("NextToken"); token != input.end()) {
    std::optional<Position> resume = ParseToken(token->get<std::string>());
    if (!resume) return InvalidNextToken();
    if (!before || *resume < *before) before = resume;
  }

  GANTRY_RETURN_IF_ERROR(recorder.Flush());

  // Records are keyed by their newest event and span at most kRecordSpanMillis, so the records
  // that may hold events older than `before` start at `before` + the span. Events of overlapping
  // records are merged: once the record whose newest event is P is read, no unread record holds
  // an event at or after P.
  auto newer = [](const aws::Document& a, const aws::Document& b) { return PositionOf(a) < PositionOf(b); };
  std::vector<aws::Document> heap;  // max-heap by position
  aws::Document events = aws::Document::array();
  std::optional<Position> last;
  auto emit_down_to = [&](std::optional<Position> floor) {
    while (!heap.empty() && events.size() < limit && (!floor || PositionOf(heap.front()) >= *floor)) {
      std::pop_heap(heap.begin(), heap.end(), newer);
      last = PositionOf(heap.back());
      events.push_back(LookupEntry(heap.back()));
      heap.pop_back();
    }
  };
  auto page_result = [&](bool more) {
    aws::Document out = {{"Events", events}};
    if (more && last) out["NextToken"] = TokenFor(*last);
    return out;
  };

  store::ListOptions options;
  options.limit = 20;
  if (before) options.start_after = MillisKeyPrefix(std::min(before->millis, INT64_MAX - kRecordSpanMillis) +
                                                    kRecordSpanMillis);
  size_t read = 0;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, store.List(kEventTable, ctx.Scope(), options));
    for (auto& record : page.records) {
      std::vector<aws::Document> stored;
      const std::string lines = record.doc.value("events", std::string());
      for (std::string_view line : Split(lines, '\n')) {
        aws::Document event = DecodeEvent(line);
        if (!event.is_null()) stored.push_back(std::move(event));
      }
      if (stored.empty()) continue;
      Position newest = PositionOf(stored[0]);
      if (start && newest.millis < *start) {
        emit_down_to(std::nullopt);
        return page_result(!heap.empty());
      }
      for (auto& event : stored) {
        Position p = PositionOf(event);
        if (before && p >= *before) continue;
        if (start && p.millis < *start) continue;
        if (!MatchesLookupAttribute(event, key, value)) continue;
        heap.push_back(std::move(event));
        std::push_heap(heap.begin(), heap.end(), newer);
      }
      emit_down_to(newest);
      if (events.size() == limit) return page_result(true);
      if (++read == kRecordBudget) {
        // Everything at or after `newest` has been looked at: continue from there.
        return aws::Document{{"Events", events}, {"NextToken", TokenFor(newest)}};
      }
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  emit_down_to(std::nullopt);
  return page_result(!heap.empty());
}

}  // namespace

CloudTrailService::CloudTrailService(store::Store* store, Clock* clock, IdSource* ids)
    : store_(store), recorder_(store, clock, ids) {}

void CloudTrailService::RegisterHandlers(aws::HandlerTable& table) {
  table.Add("cloudtrail", "LookupEvents", [this](aws::RequestContext& ctx, const aws::Document& input) {
    return LookupEvents(*store_, recorder_, ctx, input);
  });
}

Status CloudTrailService::Start() {
  recorder_.Start();
  return Status::Ok();
}

void CloudTrailService::Stop() { recorder_.Stop(); }

}  // namespace gantry::services::cloudtrail
