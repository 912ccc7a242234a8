// Log groups, retention policies and tags.
#include <algorithm>
#include <set>

#include "services/logs/handlers.h"

namespace gantry::services::logs {

namespace {

constexpr int kRetentionDays[] = {1,   3,   5,    7,    14,   30,   60,   90,   120,  150,  180,
                                  365, 400, 545,  731,  1096, 1827, 2192, 2557, 2922, 3288, 3653};

int64_t NowMillis(const LogsDeps& deps) { return ToEpochMillis(deps.clock->Now()); }

Document GroupOutput(const aws::RequestContext& ctx, const LogsDeps& deps, const Document& group, bool brief) {
  std::string name = group["logGroupName"].get<std::string>();
  Document out = {{"logGroupName", name},
                  {"creationTime", group["creationTime"]},
                  {"arn", GroupArn(ctx.region, ctx.account_id, name, true)}};
  if (brief) return out;
  if (group.contains("retentionInDays")) out["retentionInDays"] = group["retentionInDays"];
  auto filters = deps.store->Count(kMetricFilterTable, ctx.Scope(), name + ":");
  out["metricFilterCount"] = filters.ok() ? *filters : 0;
  auto stats = deps.engine->GroupStats(IdOf(group));
  out["storedBytes"] = stats.ok() ? stats->stored_bytes : 0;
  out["logGroupClass"] = group.value("logGroupClass", "STANDARD");
  out["logGroupArn"] = GroupArn(ctx.region, ctx.account_id, name, false);
  if (group.contains("kmsKeyId")) out["kmsKeyId"] = group["kmsKeyId"];
  if (group.contains("deletionProtectionEnabled")) out["deletionProtectionEnabled"] = group["deletionProtectionEnabled"];
  return out;
}

StatusOr<Document> CreateLogGroup(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["logGroupName"].get<std::string>();
  if (name.rfind("aws/", 0) == 0) {
    return InvalidParameter("Log group names can't start with the string aws/");
  }
  Document tags = input.value("tags", Document::object());
  GANTRY_RETURN_IF_ERROR(CheckTagCount(tags));
  Document group = {{"logGroupName", name},
                    {"creationTime", NowMillis(deps)},
                    {"logGroupClass", input.value("logGroupClass", "STANDARD")},
                    {"tags", tags}};
  if (input.contains("kmsKeyId")) group["kmsKeyId"] = input["kmsKeyId"];
  if (input.contains("deletionProtectionEnabled")) group["deletionProtectionEnabled"] = input["deletionProtectionEnabled"];
  std::string scope = ctx.Scope();
  Status status = deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, txn.Get(kGroupTable, scope, name));
    if (existing) return Status::AlreadyExists("The specified log group already exists", "ResourceAlreadyExistsException");
    GANTRY_ASSIGN_OR_RETURN(int64_t id, txn.NextSequence("logs.group"));
    group["id"] = id;
    return txn.Create(kGroupTable, scope, name, group).status();
  });
  GANTRY_RETURN_IF_ERROR(status);
  return Document::object();
}

StatusOr<Document> DeleteLogGroup(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["logGroupName"].get<std::string>();
  std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(Document group, LoadGroup(*deps.store, scope, name));
  if (group.value("deletionProtectionEnabled", false)) {
    return Status::InvalidArgument("Deletion protection is enabled for log group " + name + ".", "ValidationException");
  }
  uint64_t id = IdOf(group);
  // Data first: a crash in between leaves an empty group to delete again, never unreachable data.
  GANTRY_RETURN_IF_ERROR(deps.engine->DeleteGroup(id));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    for (std::string_view table : {kStreamTable, kMetricFilterTable}) {
      GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> records, ListAll(txn, table, scope, name + ":"));
      for (const auto& record : records) GANTRY_RETURN_IF_ERROR(txn.Delete(table, scope, record.key).status());
    }
    GANTRY_RETURN_IF_ERROR(txn.Delete(kRetentionTable, "", std::to_string(id)).status());
    return txn.Delete(kGroupTable, scope, name).status();
  }));
  return Document::object();
}

StatusOr<Document> DescribeLogGroups(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  bool has_prefix = input.contains("logGroupNamePrefix");
  bool has_pattern = input.contains("logGroupNamePattern");
  bool has_identifiers = input.contains("logGroupIdentifiers");
  if (has_prefix && has_pattern) {
    return InvalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
  }
  if (has_identifiers && (has_prefix || has_pattern)) {
    return InvalidParameter(
        "LogGroup identifiers cannot be used together with a LogGroup name prefix or LogGroup name pattern.");
  }
  std::set<std::string> wanted;
  if (has_identifiers) {
    for (const auto& identifier : input["logGroupIdentifiers"]) {
      std::string text = identifier.get<std::string>();
      if (text.rfind("arn:", 0) == 0) {
        if (auto name = GroupNameFromArn(ctx, text)) wanted.insert(*name);
      } else {
        wanted.insert(text);
      }
    }
  }
  std::string prefix = input.value("logGroupNamePrefix", "");
  std::string pattern = input.value("logGroupNamePattern", "");
  std::string group_class = input.value("logGroupClass", "");
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> records, ListAll(*deps.store, kGroupTable, ctx.Scope(), prefix));
  std::vector<KeyedItem> items;
  for (auto& record : records) {
    if (has_identifiers && wanted.count(record.key) == 0) continue;
    if (has_pattern && record.key.find(pattern) == std::string::npos) continue;
    if (!group_class.empty() && record.doc.value("logGroupClass", "STANDARD") != group_class) continue;
    items.push_back({record.key, std::move(record.doc)});
  }
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(std::move(items), input, static_cast<size_t>(input.value("limit", 50))));
  Document groups = Document::array();
  for (const auto& group : page.items) groups.push_back(GroupOutput(ctx, deps, group, has_pattern));
  Document out = {{"logGroups", groups}};
  if (!page.next_token.empty()) out["nextToken"] = page.next_token;
  return out;
}

StatusOr<Document> PutRetentionPolicy(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["logGroupName"].get<std::string>();
  int days = input["retentionInDays"].get<int>();
  if (std::find(std::begin(kRetentionDays), std::end(kRetentionDays), days) == std::end(kRetentionDays)) {
    std::string set;
    for (int d : kRetentionDays) set += (set.empty() ? "" : ", ") + std::to_string(d);
    return InvalidParameter("1 validation error detected: Value '" + std::to_string(days) +
                            "' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [" +
                            set + "]");
  }
  std::string scope = ctx.Scope();
  uint64_t id = 0;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Document group, LoadGroup(txn, scope, name));
    id = IdOf(group);
    group["retentionInDays"] = days;
    GANTRY_RETURN_IF_ERROR(txn.Put(kGroupTable, scope, name, group).status());
    return txn.Put(kRetentionTable, "", std::to_string(id), Document{{"days", days}}).status();
  }));
  deps.engine->SetRetention(id, std::chrono::hours(24) * days);
  return Document::object();
}

StatusOr<Document> DeleteRetentionPolicy(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["logGroupName"].get<std::string>();
  std::string scope = ctx.Scope();
  uint64_t id = 0;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Document group, LoadGroup(txn, scope, name));
    id = IdOf(group);
    group.erase("retentionInDays");
    GANTRY_RETURN_IF_ERROR(txn.Put(kGroupTable, scope, name, group).status());
    return txn.Delete(kRetentionTable, "", std::to_string(id)).status();
  }));
  deps.engine->SetRetention(id, std::nullopt);
  return Document::object();
}

// Applies `change` to the tags of a group and saves it.
Status ChangeTags(const LogsDeps& deps, const std::string& scope, const std::string& name,
                  const std::function<Status(Document&)>& change) {
  return deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Document group, LoadGroup(txn, scope, name));
    Document& tags = group["tags"];
    if (!tags.is_object()) tags = Document::object();
    GANTRY_RETURN_IF_ERROR(change(tags));
    return txn.Put(kGroupTable, scope, name, group).status();
  });
}

Status AddTags(Document& tags, const Document& add) {
  for (const auto& [key, value] : add.items()) tags[key] = value;
  return CheckTagCount(tags);
}

StatusOr<std::string> GroupOfResource(const aws::RequestContext& ctx, const Document& input) {
  std::string arn = input["resourceArn"].get<std::string>();
  if (arn.rfind("arn:", 0) != 0) return InvalidParameter("Invalid resource ARN: " + arn);
  auto name = GroupNameFromArn(ctx, arn);
  if (!name) return Status::NotFound("The specified resource does not exist.", "ResourceNotFoundException");
  return *name;
}

StatusOr<Document> TagLogGroup(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(ChangeTags(deps, ctx.Scope(), input["logGroupName"].get<std::string>(),
                                    [&](Document& tags) { return AddTags(tags, input["tags"]); }));
  return Document::object();
}

StatusOr<Document> UntagLogGroup(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(ChangeTags(deps, ctx.Scope(), input["logGroupName"].get<std::string>(), [&](Document& tags) {
    for (const auto& key : input["tags"]) tags.erase(key.get<std::string>());
    return Status::Ok();
  }));
  return Document::object();
}

StatusOr<Document> ListTagsLogGroup(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Document group, LoadGroup(*deps.store, ctx.Scope(), input["logGroupName"].get<std::string>()));
  return Document{{"tags", group.value("tags", Document::object())}};
}

StatusOr<Document> TagResource(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, GroupOfResource(ctx, input));
  Status status = ChangeTags(deps, ctx.Scope(), name, [&](Document& tags) { return AddTags(tags, input["tags"]); });
  if (status.code() == StatusCode::kNotFound) {
    return Status::NotFound("The specified resource does not exist.", "ResourceNotFoundException");
  }
  GANTRY_RETURN_IF_ERROR(status);
  return Document::object();
}

StatusOr<Document> UntagResource(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, GroupOfResource(ctx, input));
  Status status = ChangeTags(deps, ctx.Scope(), name, [&](Document& tags) {
    for (const auto& key : input["tagKeys"]) tags.erase(key.get<std::string>());
    return Status::Ok();
  });
  if (status.code() == StatusCode::kNotFound) {
    return Status::NotFound("The specified resource does not exist.", "ResourceNotFoundException");
  }
  GANTRY_RETURN_IF_ERROR(status);
  return Document::object();
}

StatusOr<Document> ListTagsForResource(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, GroupOfResource(ctx, input));
  auto group = LoadGroup(*deps.store, ctx.Scope(), name);
  if (!group.ok()) {
    if (group.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("The specified resource does not exist.", "ResourceNotFoundException");
    }
    return group.status();
  }
  return Document{{"tags", group->value("tags", Document::object())}};
}

}  // namespace

void RegisterGroupHandlers(aws::HandlerTable& table, const LogsDeps* deps) {
  AddHandler(table, deps, "CreateLogGroup", CreateLogGroup);
  AddHandler(table, deps, "DeleteLogGroup", DeleteLogGroup);
  AddHandler(table, deps, "DescribeLogGroups", DescribeLogGroups);
  AddHandler(table, deps, "PutRetentionPolicy", PutRetentionPolicy);
  AddHandler(table, deps, "DeleteRetentionPolicy", DeleteRetentionPolicy);
  AddHandler(table, deps, "TagLogGroup", TagLogGroup);
  AddHandler(table, deps, "UntagLogGroup", UntagLogGroup);
  AddHandler(table, deps, "ListTagsLogGroup", ListTagsLogGroup);
  AddHandler(table, deps, "TagResource", TagResource);
  AddHandler(table, deps, "UntagResource", UntagResource);
  AddHandler(table, deps, "ListTagsForResource", ListTagsForResource);
}

}  // namespace gantry::services::logs
