#include "services/events/resources.h"

#include <cstdio>

#include "core/common/arn.h"
#include "core/common/strings.h"

namespace gantry::services::events {

void WakeSignal::Ring() {
  {
    std::lock_guard lock(mu_);
    rung_ = true;
  }
  cv_.notify_all();
}

void WakeSignal::WaitFor(Duration timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return rung_; });
  rung_ = false;
}

std::string ScopeOf(std::string_view account, std::string_view region) {
  return std::string(account) + "/" + std::string(region);
}

std::string ResourceArn(std::string_view region, std::string_view account, std::string_view resource) {
  Arn arn;
  arn.service = "events";
  arn.region = std::string(region);
  arn.account = std::string(account);
  arn.resource = std::string(resource);
  return arn.ToString();
}

std::string BusArn(std::string_view region, std::string_view account, std::string_view bus) {
  return ResourceArn(region, account, "event-bus/" + std::string(bus));
}

std::string RuleArn(std::string_view region, std::string_view account, std::string_view bus, std::string_view rule) {
  std::string resource = "rule/";
  if (bus != kDefaultBus) resource += std::string(bus) + "/";
  return ResourceArn(region, account, resource + std::string(rule));
}

std::string RuleKey(std::string_view bus, std::string_view rule) { return std::string(bus) + "/" + std::string(rule); }

std::string Padded(int64_t n, int width) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%0*lld", width, static_cast<long long>(n < 0 ? 0 : n));
  return buffer;
}

std::string BusNameOf(const Document& name_or_arn) {
  if (!name_or_arn.is_string()) return std::string(kDefaultBus);
  std::string value = name_or_arn.get<std::string>();
  if (auto arn = Arn::Parse(value)) {
    constexpr std::string_view kPrefix = "event-bus/";
    if (arn->resource.rfind(kPrefix, 0) == 0) return arn->resource.substr(kPrefix.size());
  }
  return value;
}

Status BusNotFound(std::string_view bus) {
  return Status::NotFound("Event bus " + std::string(bus) + " does not exist.", "ResourceNotFoundException");
}

Status RuleNotFound(std::string_view rule, std::string_view bus) {
  return Status::NotFound("Rule " + std::string(rule) + " does not exist on EventBus " + std::string(bus) + ".",
                          "ResourceNotFoundException");
}

StatusOr<Document> LoadBus(store::RecordOperations& ops, const std::string& scope, std::string_view account,
                           std::string_view region, std::string_view bus, TimePoint now) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kBusTable, scope, bus));
  if (record) return record->doc;
  if (bus != kDefaultBus) return BusNotFound(bus);
  Document doc = {{"Name", std::string(kDefaultBus)},
                  {"Arn", BusArn(region, account, kDefaultBus)},
                  {"CreationTime", ToEpochSeconds(now)},
                  {"LastModifiedTime", ToEpochSeconds(now)},
                  {"Tags", Document::object()}};
  auto created = ops.Create(kBusTable, scope, bus, doc);
  if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) return created.status();
  return doc;
}

StatusOr<store::Record> LoadRule(store::RecordOperations& ops, const std::string& scope, std::string_view bus,
                                 std::string_view rule) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kRuleTable, scope, RuleKey(bus, rule)));
  if (!record) return RuleNotFound(rule, bus);
  return std::move(*record);
}

Document TagListOf(const Document& tags) {
  Document list = Document::array();
  if (!tags.is_object()) return list;
  for (const auto& [key, value] : tags.items()) list.push_back({{"Key", key}, {"Value", value}});
  return list;
}

void MergeTags(Document& tags, const Document& tag_list) {
  if (!tags.is_object()) tags = Document::object();
  if (!tag_list.is_array()) return;
  for (const auto& tag : tag_list) tags[tag.value("Key", "")] = tag.value("Value", "");
}

StatusOr<Page> ListPage(store::Store& store, std::string_view table, const std::string& scope,
                        const std::string& prefix, const Document& input,
                        const std::function<bool(const store::Record&)>& keep, int default_limit) {
  size_t limit = static_cast<size_t>(input.value("Limit", default_limit));
  std::string start_after;
  if (auto token = input.find("NextToken"); token != input.end() && token->is_string()) {
    auto decoded = Base64Decode(token->get<std::string>());
    if (!decoded || decoded->rfind(prefix, 0) != 0) {
      return Status::InvalidArgument("The NextToken provided is not valid.", "ValidationException");
    }
    start_after = *decoded;
  }
  Page page;
  store::ListOptions options;
  options.prefix = prefix;
  options.start_after = start_after;
  options.limit = 100;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage batch, store.List(table, scope, options));
    for (auto& record : batch.records) {
      if (keep && !keep(record)) continue;
      if (page.records.size() == limit) {
        // One more match exists: the page ends at the last record it holds.
        page.next_token = Base64Encode(page.records.back().key);
        return page;
      }
      page.records.push_back(std::move(record));
    }
    if (batch.next_token.empty()) return page;
    options.start_after = batch.next_token;
  }
}

Document Without(Document doc, std::initializer_list<std::string_view> members) {
  for (std::string_view m : members) doc.erase(std::string(m));
  return doc;
}

Status SealAuth(const EventsDeps& deps, Document& connection, const Document& auth) {
  if (deps.box == nullptr) return Status::Internal("The master key is not loaded.", "InternalException");
  GANTRY_ASSIGN_OR_RETURN(std::string sealed, deps.box->Seal(auth.dump(), connection.value("ConnectionArn", "")));
  connection["SealedAuthParameters"] = Base64Encode(sealed);
  connection.erase("AuthParameters");
  return Status::Ok();
}

StatusOr<Document> OpenAuth(const EventsDeps& deps, const Document& connection) {
  if (deps.box == nullptr) return Status::Internal("The master key is not loaded.", "InternalException");
  std::optional<std::string> sealed = Base64Decode(connection.value("SealedAuthParameters", ""));
  if (!sealed) return Status::Internal("A stored connection's parameters are malformed.", "InternalException");
  GANTRY_ASSIGN_OR_RETURN(std::string clear, deps.box->Open(*sealed, connection.value("ConnectionArn", "")));
  Document auth = Document::parse(clear, nullptr, /*allow_exceptions=*/false);
  if (auth.is_discarded()) {
    return Status::Internal("A stored connection's parameters are malformed.", "InternalException");
  }
  return auth;
}

}  // namespace gantry::services::events
