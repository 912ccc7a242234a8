#include "services/logs/resources.h"

#include <cstdio>

#include "core/common/arn.h"
#include "core/common/strings.h"

namespace gantry::services::logs {

Status GroupNotFound() {
  return Status::NotFound("The specified log group does not exist.", "ResourceNotFoundException");
}

Status StreamNotFound() {
  return Status::NotFound("The specified log stream does not exist.", "ResourceNotFoundException");
}

Status InvalidParameter(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidParameterException");
}

std::string GroupArn(std::string_view region, std::string_view account, std::string_view group, bool wildcard) {
  Arn arn;
  arn.service = "logs";
  arn.region = std::string(region);
  arn.account = std::string(account);
  arn.resource = "log-group:" + std::string(group) + (wildcard ? ":*" : "");
  return arn.ToString();
}

std::string StreamArn(std::string_view region, std::string_view account, std::string_view group,
                      std::string_view stream) {
  return GroupArn(region, account, group, false) + ":log-stream:" + std::string(stream);
}

std::string StreamKey(std::string_view group, std::string_view stream) {
  return std::string(group) + ":" + std::string(stream);
}

std::optional<std::string> GroupNameFromArn(const aws::RequestContext& ctx, std::string_view text) {
  auto arn = Arn::Parse(text);
  if (!arn || arn->service != "logs" || arn->account != ctx.account_id || arn->region != ctx.region) {
    return std::nullopt;
  }
  constexpr std::string_view kPrefix = "log-group:";
  std::string_view resource = arn->resource;
  if (resource.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  resource.remove_prefix(kPrefix.size());
  if (resource.size() >= 2 && resource.substr(resource.size() - 2) == ":*") resource.remove_suffix(2);
  if (resource.empty() || resource.find(':') != std::string_view::npos) return std::nullopt;
  return std::string(resource);
}

StatusOr<std::string> GroupNameOf(const aws::RequestContext& ctx, const Document& input) {
  bool has_name = input.contains("logGroupName");
  bool has_identifier = input.contains("logGroupIdentifier");
  if (has_name && has_identifier) {
    return InvalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.");
  }
  if (!has_name && !has_identifier) {
    return InvalidParameter("Should provide either name or ARN of log group.");
  }
  if (has_name) return input["logGroupName"].get<std::string>();
  std::string identifier = input["logGroupIdentifier"].get<std::string>();
  if (identifier.rfind("arn:", 0) != 0) return identifier;
  auto name = GroupNameFromArn(ctx, identifier);
  if (!name) return GroupNotFound();
  return *name;
}

StatusOr<Document> LoadGroup(store::RecordOperations& ops, const std::string& scope, std::string_view group) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kGroupTable, scope, group));
  if (!record) return GroupNotFound();
  return std::move(record->doc);
}

StatusOr<Document> LoadStream(store::RecordOperations& ops, const std::string& scope, std::string_view group,
                              std::string_view stream) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kStreamTable, scope, StreamKey(group, stream)));
  if (!record) return StreamNotFound();
  return std::move(record->doc);
}

StatusOr<std::vector<store::Record>> ListAll(store::RecordOperations& ops, std::string_view table,
                                             const std::string& scope, const std::string& prefix) {
  std::vector<store::Record> all;
  store::ListOptions options;
  options.prefix = prefix;
  options.limit = 1000;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, ops.List(table, scope, options));
    for (auto& record : page.records) all.push_back(std::move(record));
    if (page.next_token.empty()) return all;
    options.start_after = page.next_token;
  }
}

StatusOr<Page> PageOf(std::vector<KeyedItem> items, const Document& input, size_t limit, bool descending) {
  size_t begin = 0;
  if (auto token = input.find("nextToken"); token != input.end() && token->is_string()) {
    auto key = Base64Decode(token->get<std::string>());
    if (!key) return InvalidParameter("The specified nextToken is invalid.");
    while (begin < items.size() && (descending ? items[begin].key >= *key : items[begin].key <= *key)) ++begin;
  }
  Page page;
  for (size_t i = begin; i < items.size(); ++i) {
    if (page.items.size() == limit) {
      page.next_token = Base64Encode(items[i - 1].key);
      break;
    }
    page.items.push_back(std::move(items[i].doc));
  }
  return page;
}

Status CheckTagCount(const Document& tags) {
  if (tags.is_object() && tags.size() > 50) {
    return Status::InvalidArgument("A resource can have no more than 50 tags.", "TooManyTagsException");
  }
  return Status::Ok();
}

std::string SequenceToken(uint64_t last_seq) {
  char digits[64];
  std::snprintf(digits, sizeof(digits), "%056llu", static_cast<unsigned long long>(last_seq + 1));
  return digits;
}

uint64_t IdOf(const Document& record) { return record.value("id", static_cast<uint64_t>(0)); }

}  // namespace gantry::services::logs
