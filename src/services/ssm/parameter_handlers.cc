// The Parameter Store operations, one handler per model operation. Every change is one store
// transaction that re-reads the parameter inside it.
#include <pthread.h>

#include <algorithm>
#include <regex>
#include <set>

#include "core/common/strings.h"
#include "core/common/time_format.h"
#include "services/ssm/parameters.h"

namespace gantry::services::ssm {

namespace {

using Handler = StatusOr<Document> (*)(const SsmDeps&, aws::RequestContext&, const Document&);

constexpr size_t kStandardValueLimit = 4096;
constexpr size_t kAdvancedValueLimit = 8192;

std::string Str(const Document& input, const char* member) { return input.value(member, std::string()); }

Status Validation(std::string message) { return Status::InvalidArgument(std::move(message), "ValidationException"); }

Status InvalidNextToken() { return Status::InvalidArgument("The nextToken is not valid.", "InvalidNextToken"); }

// Page tokens are base64 of the last store key returned.
StatusOr<std::string> StartAfter(const Document& input) {
  std::string token = Str(input, "NextToken");
  if (token.empty()) return std::string();
  std::optional<std::string> decoded = Base64Decode(token);
  if (!decoded || decoded->rfind("k:", 0) != 0) return InvalidNextToken();
  return decoded->substr(2);
}

std::string TokenAfter(const std::string& key) { return Base64Encode("k:" + key); }

// --- PutParameter -------------------------------------------------------------------------------

struct Policy {
  Document entry;                     // {PolicyText, PolicyType, PolicyStatus}
  std::optional<TimePoint> expires;   // an Expiration policy's timestamp
};

StatusOr<std::vector<Policy>> ParsePolicies(const std::string& text) {
  Document parsed = Document::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return Status::InvalidArgument("The policies are not a JSON array of parameter policies.",
                                   "InvalidPolicyAttributeException");
  }
  if (parsed.size() > 10) {
    return Status::ResourceExhausted("A parameter can have a maximum of 10 policies.", "PoliciesLimitExceededException");
  }
  std::vector<Policy> out;
  std::set<std::string> types;
  for (const auto& p : parsed) {
    std::string type = p.is_object() ? p.value("Type", "") : "";
    if (type != "Expiration" && type != "ExpirationNotification" && type != "NoChangeNotification") {
      return Status::InvalidArgument(
          "The policy type is not supported. Parameter Store supports the following policy types: Expiration, "
          "ExpirationNotification, and NoChangeNotification.",
          "InvalidPolicyTypeException");
    }
    if (!types.insert(type).second) {
      return Status::InvalidArgument("A parameter can have only one " + type + " policy.",
                                     "IncompatiblePolicyException");
    }
    Document attributes = p.value("Attributes", Document::object());
    Policy policy;
    if (type == "Expiration") {
      std::optional<TimePoint> when =
          attributes.contains("Timestamp") && attributes["Timestamp"].is_string()
              ? ParseIso8601(attributes["Timestamp"].get<std::string>())
              : std::nullopt;
      if (!when) {
        return Status::InvalidArgument("An Expiration policy needs a Timestamp attribute in ISO 8601 form.",
                                       "InvalidPolicyAttributeException");
      }
      policy.expires = when;
    } else {
      std::string after = attributes.value("After", "");
      std::string unit = attributes.value("Unit", "");
      bool number = !after.empty() && after.find_first_not_of("0123456789") == std::string::npos;
      if (!number || (unit != "Days" && unit != "Hours")) {
        return Status::InvalidArgument("A " + type + " policy needs After (a number) and Unit (Days or Hours).",
                                       "InvalidPolicyAttributeException");
      }
    }
    policy.entry = {{"PolicyText", p.dump()}, {"PolicyType", type}, {"PolicyStatus", "Pending"}};
    out.push_back(std::move(policy));
  }
  return out;
}

// std::regex matches recursively (one frame per character for patterns like "(a|b)*"), so an
// AllowedPattern is matched on a thread with a stack big enough for the largest value (8 KB) rather
// than on the request's thread.
struct MatchJob {
  const std::regex* re = nullptr;
  const std::string* value = nullptr;
  bool matched = false;
  bool failed = false;
};

void* RunMatch(void* arg) {
  auto* job = static_cast<MatchJob*>(arg);
  try {
    job->matched = std::regex_match(*job->value, *job->re);
  } catch (const std::exception&) {
    job->failed = true;
  }
  return nullptr;
}

Status CheckAllowedPattern(const std::string& pattern, const std::string& value) {
  if (pattern.empty()) return Status::Ok();
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return Status::InvalidArgument("The allowed pattern " + pattern + " is not a valid regular expression.",
                                   "InvalidAllowedPatternException");
  }
  MatchJob job{&re, &value};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 << 20);
  pthread_t thread;
  bool started = pthread_create(&thread, &attr, RunMatch, &job) == 0;
  pthread_attr_destroy(&attr);
  if (!started) return Status::Unavailable("Parameter Store cannot check the allowed pattern now; try again.");
  pthread_join(thread, nullptr);
  if (job.failed) {
    return Status::InvalidArgument("The allowed pattern " + pattern + " is too complex to check.",
                                   "InvalidAllowedPatternException");
  }
  if (!job.matched) {
    return Status::InvalidArgument("Parameter value, cannot be validated against allowedPattern: " + pattern,
                                   "ParameterPatternMismatchException");
  }
  return Status::Ok();
}

StatusOr<Document> PutParameter(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "Name");
  GANTRY_RETURN_IF_ERROR(ValidateName(name));
  std::string value = Str(input, "Value");
  if (value.empty()) {
    return Validation(
        "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length "
        "greater than or equal to 1.");
  }
  bool overwrite = input.value("Overwrite", false);
  if (overwrite && input.contains("Tags")) {
    return Validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove "
        "overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or "
        "RemoveTagsFromResource.");
  }
  std::string data_type = input.value("DataType", "");
  if (!data_type.empty() && data_type != "text" && data_type != "aws:ec2:image" && data_type != "aws:ssm:integration") {
    return Validation("The following data type is not supported: " + data_type +
                      " (Data type names are all lowercase.)");
  }
  std::optional<std::vector<Policy>> policies;
  if (input.contains("Policies")) {
    GANTRY_ASSIGN_OR_RETURN(policies, ParsePolicies(Str(input, "Policies")));
  }
  if (deps.box == nullptr) return Status::Unavailable("Parameter Store has not started yet.");
  const std::string scope = ctx.Scope();
  // The AllowedPattern (the request's, else the parameter's) is checked before the transaction, so
  // a slow pattern never holds the store; the transaction makes sure it is still the one in force.
  std::string checked_pattern = input.value("AllowedPattern", "");
  if (!input.contains("AllowedPattern")) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> current, deps.store->Get(kParameterTable, scope, name));
    if (current) checked_pattern = current->doc.value("AllowedPattern", "");
  }
  if (value.size() <= kAdvancedValueLimit) GANTRY_RETURN_IF_ERROR(CheckAllowedPattern(checked_pattern, value));
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, tx.Get(kParameterTable, scope, name));
    if (existing && !overwrite) {
      return Status::AlreadyExists(
          "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
          "ParameterAlreadyExists");
    }
    Document parameter = existing ? existing->doc : Document{{"Name", name}, {"Tags", Document::array()},
                                                             {"Labels", Document::object()}, {"Version", 0}};
    std::string type = input.value("Type", existing ? parameter.value("Type", "") : "");
    if (type.empty()) return Validation("A parameter type is required when you create a parameter.");
    if (input.contains("KeyId") && type != "SecureString") {
      return Validation("KeyId is required for SecureString type parameter only.");
    }
    for (const char* member : {"Description", "AllowedPattern"}) {
      if (input.contains(member)) parameter[member] = input[member];
    }
    if (type == "SecureString") {
      parameter["KeyId"] = input.contains("KeyId") ? input["KeyId"].get<std::string>()
                                                   : parameter.value("KeyId", std::string(kDefaultKeyId));
    } else {
      parameter.erase("KeyId");
    }
    parameter["Type"] = type;
    if (!data_type.empty()) parameter["DataType"] = data_type;
    if (!parameter.contains("DataType")) parameter["DataType"] = "text";
    if (data_type == "aws:ec2:image" && !std::regex_match(value, std::regex("ami-[0-9a-f]{8,17}"))) {
      return Validation("The parameter value must be an AMI ID (ami-...) for the aws:ec2:image data type.");
    }

    if (policies) {
      Document entries = Document::array();
      for (const auto& p : *policies) entries.push_back(p.entry);
      parameter["Policies"] = entries;
    }
    bool has_policies = !parameter.value("Policies", Document::array()).empty();
    std::string previous_tier = parameter.value("Tier", "Standard");
    std::string tier = input.value("Tier", previous_tier);
    if (tier == "Intelligent-Tiering") {
      tier = previous_tier == "Advanced" || value.size() > kStandardValueLimit || has_policies ? "Advanced" : "Standard";
    }
    if (previous_tier == "Advanced" && tier == "Standard" && existing) {
      return Validation(
          "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the "
          "advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced "
          "parameter and recreate it as a standard parameter.");
    }
    if (tier == "Standard" && value.size() > kStandardValueLimit) {
      return Validation(
          "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger "
          "parameter value, upgrade the parameter to use the advanced-parameter tier.");
    }
    if (value.size() > kAdvancedValueLimit) {
      return Validation("Advanced tier parameters support a maximum parameter value of 8192 characters.");
    }
    if (tier == "Standard" && has_policies) {
      return Validation("Parameter policies are supported only for the advanced-parameter tier. Use the Advanced "
                        "or Intelligent-Tiering tier.");
    }
    parameter["Tier"] = tier;
    if (parameter.value("AllowedPattern", "") != checked_pattern) {
      return Status::Conflict("The parameter changed while it was being updated; try again.", "TooManyUpdates");
    }

    int64_t version = parameter.value("Version", int64_t{0}) + 1;
    // Beyond 100 versions the oldest goes, unless a label still points at it.
    if (version > kMaxVersions) {
      int64_t oldest = version - kMaxVersions;
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> old, tx.Get(kVersionTable, scope, VersionKey(name, oldest)));
      if (old && !old->doc.value("Labels", Document::array()).empty()) {
        return Status::ResourceExhausted(
            "You attempted to create a new version of " + name + " by calling the PutParameter API with the "
            "overwrite flag. Version " + std::to_string(oldest) + ", the oldest version, can't be deleted because "
            "it has a label associated with it. Move the label to another version of the parameter, and try again.",
            "ParameterMaxVersionLimitExceeded");
      }
      if (old) GANTRY_RETURN_IF_ERROR(tx.Delete(kVersionTable, scope, old->key).status());
    }
    parameter["Version"] = version;
    parameter["LastModifiedDate"] = ToEpochSeconds(ctx.time);
    parameter["LastModifiedUser"] = ctx.principal.arn;
    parameter.erase("Value");
    parameter.erase("Sealed");
    if (type == "SecureString") {
      GANTRY_ASSIGN_OR_RETURN(std::string sealed, deps.box->Seal(value, SealContext(scope, name, version)));
      parameter["Sealed"] = Base64Encode(sealed);
    } else {
      parameter["Value"] = value;
    }
    if (input.contains("Tags")) {
      for (const auto& tag : input["Tags"]) {
        Document& tags = parameter["Tags"];
        auto same = std::find_if(tags.begin(), tags.end(), [&](const Document& t) { return t["Key"] == tag["Key"]; });
        if (same != tags.end()) {
          (*same)["Value"] = tag["Value"];
        } else {
          tags.push_back({{"Key", tag["Key"]}, {"Value", tag["Value"]}});
        }
      }
    }
    // The expiration entry follows the latest Expiration policy.
    if (auto key = parameter.find("ExpirationKey"); key != parameter.end() && policies) {
      GANTRY_RETURN_IF_ERROR(tx.Delete(kExpirationTable, "", key->get<std::string>()).status());
      parameter.erase("ExpirationKey");
    }
    if (policies) {
      for (const auto& p : *policies) {
        if (!p.expires) continue;
        std::string key = Padded(ToEpochMillis(*p.expires), 16) + "/" + scope + "/" + name;
        GANTRY_RETURN_IF_ERROR(tx.Put(kExpirationTable, "", key, {{"Scope", scope}, {"Name", name}}).status());
        parameter["ExpirationKey"] = key;
      }
    }
    Document version_doc = parameter;
    for (const char* member : {"Tags", "Labels", "ExpirationKey"}) version_doc.erase(member);
    version_doc["Labels"] = Document::array();
    GANTRY_RETURN_IF_ERROR(tx.Put(kVersionTable, scope, VersionKey(name, version), version_doc).status());
    if (existing) {
      GANTRY_RETURN_IF_ERROR(tx.Update(kParameterTable, scope, name, parameter, existing->version).status());
    } else {
      GANTRY_RETURN_IF_ERROR(tx.Create(kParameterTable, scope, name, parameter).status());
    }
    out = {{"Version", version}, {"Tier", tier}};
    return Status::Ok();
  }));
  return out;
}

// --- reads ----------------------------------------------------------------------------------------

StatusOr<Document> GetParameter(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(Resolved resolved, ResolveParameter(*deps.store, scope, Str(input, "Name")));
  GANTRY_ASSIGN_OR_RETURN(Document entry, ParameterEntry(deps, scope, ctx.region, ctx.account_id, resolved.version,
                                                         resolved.selector, input.value("WithDecryption", false)));
  return Document{{"Parameter", entry}};
}

StatusOr<Document> GetParameters(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  bool decrypt = input.value("WithDecryption", false);
  Document parameters = Document::array();
  Document invalid = Document::array();
  std::set<std::string> seen;
  for (const auto& n : input.value("Names", Document::array())) {
    std::string text = n.get<std::string>();
    if (!seen.insert(text).second) continue;
    StatusOr<Resolved> resolved = ResolveParameter(*deps.store, scope, text);
    if (!resolved.ok()) {
      if (resolved.status().code() != StatusCode::kNotFound) return resolved.status();
      invalid.push_back(text);
      continue;
    }
    GANTRY_ASSIGN_OR_RETURN(Document entry, ParameterEntry(deps, scope, ctx.region, ctx.account_id, resolved->version,
                                                           resolved->selector, decrypt));
    parameters.push_back(std::move(entry));
  }
  return Document{{"Parameters", parameters}, {"InvalidParameters", invalid}};
}

StatusOr<Document> GetParametersByPath(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string path = Str(input, "Path");
  if (path.empty() || path[0] != '/' || path.find("//") != std::string::npos) {
    return Validation(
        "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward "
        "slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, "
        "numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not "
        "allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: "
        "/get/parameters2-/by1./path0_.");
  }
  Document filters = input.value("ParameterFilters", Document::array());
  GANTRY_RETURN_IF_ERROR(ValidateParameterFilters(filters, true));
  GANTRY_ASSIGN_OR_RETURN(std::string start_after, StartAfter(input));
  bool recursive = input.value("Recursive", false);
  bool decrypt = input.value("WithDecryption", false);
  size_t limit = static_cast<size_t>(input.value("MaxResults", 10));
  std::string prefix = path.back() == '/' ? path : path + "/";
  const std::string scope = ctx.Scope();

  Document parameters = Document::array();
  store::ListOptions options;
  options.prefix = prefix;
  options.start_after = start_after;
  options.limit = 100;
  std::string last_key;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kParameterTable, scope, options));
    for (const auto& record : page.records) {
      if (parameters.size() == limit) return Document{{"Parameters", parameters}, {"NextToken", TokenAfter(last_key)}};
      last_key = record.key;
      if (!recursive && record.key.find('/', prefix.size()) != std::string::npos) continue;
      std::optional<int64_t> label_version;
      if (!MatchesParameterFilters(record.doc, filters, &label_version)) continue;
      Document version = record.doc;
      std::string selector;
      if (label_version && *label_version != record.doc.value("Version", int64_t{0})) {
        GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> labeled,
                                deps.store->Get(kVersionTable, scope, VersionKey(record.key, *label_version)));
        if (!labeled) continue;
        version = std::move(labeled->doc);
      }
      GANTRY_ASSIGN_OR_RETURN(Document entry,
                              ParameterEntry(deps, scope, ctx.region, ctx.account_id, version, selector, decrypt));
      parameters.push_back(std::move(entry));
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  return Document{{"Parameters", parameters}};
}

StatusOr<Document> DescribeParameters(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  Document filters = input.value("Filters", Document::array());
  Document parameter_filters = input.value("ParameterFilters", Document::array());
  if (!filters.empty() && !parameter_filters.empty()) {
    return Validation("You can use either Filters or ParameterFilters in a single request.");
  }
  // The older Filters form: Name begins with, Type and KeyId equal.
  for (const auto& f : filters) {
    std::string key = f.value("Key", "");
    parameter_filters.push_back({{"Key", key},
                                 {"Option", key == "Name" ? "BeginsWith" : "Equals"},
                                 {"Values", f.value("Values", Document::array())}});
  }
  GANTRY_RETURN_IF_ERROR(ValidateParameterFilters(parameter_filters, false));
  GANTRY_ASSIGN_OR_RETURN(std::string start_after, StartAfter(input));
  size_t limit = static_cast<size_t>(input.value("MaxResults", 50));
  const std::string scope = ctx.Scope();
  Document out = Document::array();
  store::ListOptions options;
  options.start_after = start_after;
  options.limit = 100;
  std::string last_key;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kParameterTable, scope, options));
    for (const auto& record : page.records) {
      if (out.size() == limit) return Document{{"Parameters", out}, {"NextToken", TokenAfter(last_key)}};
      last_key = record.key;
      if (MatchesParameterFilters(record.doc, parameter_filters)) {
        out.push_back(MetadataEntry(record.doc, ctx.region, ctx.account_id));
      }
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  return Document{{"Parameters", out}};
}

StatusOr<Document> GetParameterHistory(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  NameSelector parsed = ParseNameSelector(Str(input, "Name"));
  if (!parsed.selector.empty()) return ParameterNotFound();
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> parameter, deps.store->Get(kParameterTable, scope, parsed.name));
  if (!parameter) return ParameterNotFound();
  GANTRY_ASSIGN_OR_RETURN(std::string start_after, StartAfter(input));
  store::ListOptions options;
  options.prefix = parsed.name + ":";
  options.start_after = start_after;
  options.limit = input.value("MaxResults", 50);
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kVersionTable, scope, options));
  bool decrypt = input.value("WithDecryption", false);
  Document history = Document::array();
  for (const auto& record : page.records) {
    GANTRY_ASSIGN_OR_RETURN(Document entry, HistoryEntry(deps, scope, record.doc, decrypt));
    history.push_back(std::move(entry));
  }
  Document out = {{"Parameters", history}};
  if (!page.next_token.empty()) out["NextToken"] = TokenAfter(page.next_token);
  return out;
}

// --- labels ---------------------------------------------------------------------------------------

bool ValidLabel(const std::string& label) {
  if (label.empty() || label.size() > 100) return false;
  std::string lower = ToLower(label);
  if (lower.rfind("aws", 0) == 0 || lower.rfind("ssm", 0) == 0) return false;
  if (label[0] >= '0' && label[0] <= '9') return false;
  for (char c : label) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

StatusOr<Document> LabelParameterVersion(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  std::string name = Str(input, "Name");
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> parameter, tx.Get(kParameterTable, scope, name));
    if (!parameter) return ParameterNotFound();
    int64_t version = input.value("ParameterVersion", parameter->doc["Version"].get<int64_t>());
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> target, tx.Get(kVersionTable, scope, VersionKey(name, version)));
    if (!target) return VersionNotFound(name, std::to_string(version));
    Document invalid = Document::array();
    Document& labels = parameter->doc["Labels"];
    if (!labels.is_object()) labels = Document::object();
    Document& target_labels = target->doc["Labels"];
    for (const auto& l : input.value("Labels", Document::array())) {
      std::string label = l.get<std::string>();
      if (!ValidLabel(label)) {
        invalid.push_back(label);
        continue;
      }
      if (labels.contains(label)) {
        int64_t holder = labels[label].get<int64_t>();
        if (holder == version) continue;
        // A label names one version: it moves.
        GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> old, tx.Get(kVersionTable, scope, VersionKey(name, holder)));
        if (old) {
          Document kept = Document::array();
          for (const auto& x : old->doc["Labels"]) {
            if (x != label) kept.push_back(x);
          }
          old->doc["Labels"] = kept;
          GANTRY_RETURN_IF_ERROR(tx.Put(kVersionTable, scope, old->key, old->doc).status());
        }
      }
      labels[label] = version;
      target_labels.push_back(label);
    }
    if (target_labels.size() > 10) {
      return Status::ResourceExhausted(
          "A parameter version can have maximum 10 labels. Move one or more labels to another version and try again.",
          "ParameterVersionLabelLimitExceeded");
    }
    GANTRY_RETURN_IF_ERROR(tx.Put(kVersionTable, scope, target->key, target->doc).status());
    GANTRY_RETURN_IF_ERROR(tx.Update(kParameterTable, scope, name, parameter->doc, parameter->version).status());
    out = {{"InvalidLabels", invalid}, {"ParameterVersion", version}};
    return Status::Ok();
  }));
  return out;
}

StatusOr<Document> UnlabelParameterVersion(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  std::string name = Str(input, "Name");
  int64_t version = input.value("ParameterVersion", int64_t{0});
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> parameter, tx.Get(kParameterTable, scope, name));
    if (!parameter) return ParameterNotFound();
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> target, tx.Get(kVersionTable, scope, VersionKey(name, version)));
    if (!target) return VersionNotFound(name, std::to_string(version));
    Document removed = Document::array();
    Document invalid = Document::array();
    Document& labels = parameter->doc["Labels"];
    for (const auto& l : input.value("Labels", Document::array())) {
      std::string label = l.get<std::string>();
      if (labels.is_object() && labels.contains(label) && labels[label].get<int64_t>() == version) {
        labels.erase(label);
        removed.push_back(label);
      } else {
        invalid.push_back(label);
      }
    }
    Document kept = Document::array();
    for (const auto& x : target->doc["Labels"]) {
      if (std::find(removed.begin(), removed.end(), x) == removed.end()) kept.push_back(x);
    }
    target->doc["Labels"] = kept;
    GANTRY_RETURN_IF_ERROR(tx.Put(kVersionTable, scope, target->key, target->doc).status());
    GANTRY_RETURN_IF_ERROR(tx.Update(kParameterTable, scope, name, parameter->doc, parameter->version).status());
    out = {{"RemovedLabels", removed}, {"InvalidLabels", invalid}};
    return Status::Ok();
  }));
  return out;
}

// --- deletes and tags -----------------------------------------------------------------------------

StatusOr<Document> DeleteParameter(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> parameter, tx.Get(kParameterTable, scope, Str(input, "Name")));
    if (!parameter) return ParameterNotFound();
    return DeleteParameterRecords(tx, scope, parameter->doc);
  }));
  return Document::object();
}

StatusOr<Document> DeleteParameters(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  Document deleted = Document::array();
  Document invalid = Document::array();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    for (const auto& n : input.value("Names", Document::array())) {
      std::string name = n.get<std::string>();
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> parameter, tx.Get(kParameterTable, scope, name));
      if (!parameter) {
        invalid.push_back(name);
        continue;
      }
      GANTRY_RETURN_IF_ERROR(DeleteParameterRecords(tx, scope, parameter->doc));
      deleted.push_back(name);
    }
    return Status::Ok();
  }));
  return Document{{"DeletedParameters", deleted}, {"InvalidParameters", invalid}};
}

// The parameter a tagging call names; only Parameter resources exist in Gantry.
Status CheckTaggable(const Document& input) {
  std::string type = Str(input, "ResourceType");
  if (type != "Parameter") {
    return Status::InvalidArgument("The resource type " + type + " is not supported by Gantry's Parameter Store.",
                                   "InvalidResourceType");
  }
  return Status::Ok();
}

Status InvalidResourceId() {
  return Status::InvalidArgument("The resource ID is not valid. Verify that you entered the correct ID and try again.",
                                 "InvalidResourceId");
}

StatusOr<Document> AddTagsToResource(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(CheckTaggable(input));
  const std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    std::string name = ParseNameSelector(Str(input, "ResourceId")).name;
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> parameter, tx.Get(kParameterTable, scope, name));
    if (!parameter) return InvalidResourceId();
    Document& tags = parameter->doc["Tags"];
    for (const auto& tag : input.value("Tags", Document::array())) {
      auto same = std::find_if(tags.begin(), tags.end(), [&](const Document& t) { return t["Key"] == tag["Key"]; });
      if (same != tags.end()) {
        (*same)["Value"] = tag["Value"];
      } else {
        tags.push_back({{"Key", tag["Key"]}, {"Value", tag["Value"]}});
      }
    }
    if (tags.size() > 50) {
      return Status::ResourceExhausted("A parameter can have at most 50 tags.", "TooManyTagsError");
    }
    return tx.Update(kParameterTable, scope, name, parameter->doc, parameter->version).status();
  }));
  return Document::object();
}

StatusOr<Document> RemoveTagsFromResource(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(CheckTaggable(input));
  const std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    std::string name = ParseNameSelector(Str(input, "ResourceId")).name;
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> parameter, tx.Get(kParameterTable, scope, name));
    if (!parameter) return InvalidResourceId();
    Document keys = input.value("TagKeys", Document::array());
    Document kept = Document::array();
    for (const auto& tag : parameter->doc["Tags"]) {
      if (std::find(keys.begin(), keys.end(), tag["Key"]) == keys.end()) kept.push_back(tag);
    }
    parameter->doc["Tags"] = kept;
    return tx.Update(kParameterTable, scope, name, parameter->doc, parameter->version).status();
  }));
  return Document::object();
}

StatusOr<Document> ListTagsForResource(const SsmDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(CheckTaggable(input));
  std::string name = ParseNameSelector(Str(input, "ResourceId")).name;
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> parameter, deps.store->Get(kParameterTable, ctx.Scope(), name));
  if (!parameter) return InvalidResourceId();
  return Document{{"TagList", parameter->doc.value("Tags", Document::array())}};
}

void Add(aws::HandlerTable& table, const SsmDeps& deps, std::string_view operation, Handler fn) {
  table.Add("ssm", operation, [&deps, fn](aws::RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
}

}  // namespace

void RegisterParameterHandlers(aws::HandlerTable& table, const SsmDeps& deps) {
  Add(table, deps, "PutParameter", PutParameter);
  Add(table, deps, "GetParameter", GetParameter);
  Add(table, deps, "GetParameters", GetParameters);
  Add(table, deps, "GetParametersByPath", GetParametersByPath);
  Add(table, deps, "DescribeParameters", DescribeParameters);
  Add(table, deps, "GetParameterHistory", GetParameterHistory);
  Add(table, deps, "LabelParameterVersion", LabelParameterVersion);
  Add(table, deps, "UnlabelParameterVersion", UnlabelParameterVersion);
  Add(table, deps, "DeleteParameter", DeleteParameter);
  Add(table, deps, "DeleteParameters", DeleteParameters);
  Add(table, deps, "AddTagsToResource", AddTagsToResource);
  Add(table, deps, "RemoveTagsFromResource", RemoveTagsFromResource);
  Add(table, deps, "ListTagsForResource", ListTagsForResource);
}

}  // namespace gantry::services::ssm
