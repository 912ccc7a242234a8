#include "services/ssm/parameters.h"

#include <cctype>
#include <cstdio>
#include <set>

#include "core/common/arn.h"
#include "core/common/strings.h"

namespace gantry::services::ssm {

namespace {

bool NameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '/';
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

StatusOr<std::optional<Document>> GetDoc(store::RecordOperations& ops, std::string_view table,
                                         const std::string& scope, std::string_view key) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(table, scope, key));
  if (!record) return std::optional<Document>();
  return std::optional<Document>(std::move(record->doc));
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string Padded(int64_t n, int width) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%0*lld", width, static_cast<long long>(n < 0 ? 0 : n));
  return buffer;
}

std::string ParameterArn(std::string_view region, std::string_view account, std::string_view name) {
  Arn arn;
  arn.service = "ssm";
  arn.region = std::string(region);
  arn.account = std::string(account);
  arn.resource = "parameter" + std::string(StartsWith(name, "/") ? "" : "/") + std::string(name);
  return arn.ToString();
}

std::string VersionKey(std::string_view name, int64_t version) {
  return std::string(name) + ":" + Padded(version, 20);
}

std::string SealContext(std::string_view scope, std::string_view name, int64_t version) {
  return std::string(scope) + "|" + std::string(name) + "|" + std::to_string(version);
}

Status ParameterNotFound() { return Status::NotFound("", "ParameterNotFound"); }

Status VersionNotFound(std::string_view name, std::string_view version) {
  return Status::NotFound("Systems Manager could not find version " + std::string(version) + " of " +
                              std::string(name) + ". Verify the version and try again.",
                          "ParameterVersionNotFound");
}

Status ValidateName(std::string_view name) {
  bool valid = !name.empty();
  for (char c : name) valid = valid && NameChar(c);
  if (!valid) {
    return Status::InvalidArgument(
        "Parameter name: can't contain characters other than letters, numbers and the symbols . (period), "
        "- (hyphen), _ (underscore) and / (forward slash).",
        "ValidationException");
  }
  bool path = name.find('/') != std::string_view::npos;
  if (path && (name[0] != '/' || name.find("//") != std::string_view::npos || name.back() == '/')) {
    return Status::InvalidArgument("Parameter name must be a fully qualified name.", "ValidationException");
  }
  std::string first = ToLower(path ? name.substr(1, name.find('/', 1) == std::string_view::npos
                                                        ? std::string_view::npos
                                                        : name.find('/', 1) - 1)
                                   : name);
  if (StartsWith(first, "aws") || StartsWith(first, "ssm")) {
    return Status::InvalidArgument("Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).",
                                   "ValidationException");
  }
  if (path) {
    size_t levels = 0;
    for (char c : name) levels += c == '/';
    if (levels > 15) {
      return Status::InvalidArgument("A parameter name can have a maximum of 15 levels of hierarchy.",
                                     "HierarchyLevelLimitExceededException");
    }
  }
  return Status::Ok();
}

NameSelector ParseNameSelector(std::string_view text) {
  NameSelector out;
  std::string_view rest = text;
  if (StartsWith(text, "arn:")) {
    if (auto arn = Arn::Parse(text); arn && arn->service == "ssm" && StartsWith(arn->resource, "parameter/")) {
      std::string resource = arn->resource.substr(std::string_view("parameter").size());
      size_t colon = resource.find(':');
      out.name = resource.substr(0, colon);
      if (colon != std::string::npos) out.selector = resource.substr(colon + 1);
      return out;
    }
    out.name = std::string(text);
    return out;
  }
  size_t colon = rest.find(':');
  out.name = std::string(rest.substr(0, colon));
  if (colon != std::string_view::npos) out.selector = std::string(rest.substr(colon + 1));
  return out;
}

StatusOr<Resolved> ResolveParameter(store::RecordOperations& ops, const std::string& scope, std::string_view text) {
  NameSelector parsed = ParseNameSelector(text);
  if (parsed.selector.find(':') != std::string::npos) return ParameterNotFound();
  GANTRY_ASSIGN_OR_RETURN(std::optional<Document> parameter, GetDoc(ops, kParameterTable, scope, parsed.name));
  // An ARN names "/x" and "x" alike ("parameter/x"): try both.
  if (!parameter && StartsWith(text, "arn:") && StartsWith(parsed.name, "/") &&
      parsed.name.find('/', 1) == std::string::npos) {
    parsed.name = parsed.name.substr(1);
    GANTRY_ASSIGN_OR_RETURN(parameter, GetDoc(ops, kParameterTable, scope, parsed.name));
  }
  if (!parameter) return ParameterNotFound();
  Resolved out;
  out.selector = parsed.selector;
  int64_t version = (*parameter)["Version"].get<int64_t>();
  if (!parsed.selector.empty()) {
    if (AllDigits(parsed.selector)) {
      if (parsed.selector.size() > 18) return VersionNotFound(parsed.name, parsed.selector);
      version = std::stoll(parsed.selector);
    } else {
      const Document& labels = (*parameter)["Labels"];
      if (!labels.is_object() || !labels.contains(parsed.selector)) return ParameterNotFound();
      version = labels[parsed.selector].get<int64_t>();
    }
    GANTRY_ASSIGN_OR_RETURN(std::optional<Document> chosen,
                            GetDoc(ops, kVersionTable, scope, VersionKey(parsed.name, version)));
    if (!chosen) return VersionNotFound(parsed.name, parsed.selector);
    out.version = std::move(*chosen);
  } else {
    out.version = *parameter;
  }
  out.parameter = std::move(*parameter);
  return out;
}

namespace {

StatusOr<std::string> VisibleValue(const SsmDeps& deps, const std::string& scope, const Document& version,
                                   bool decrypt) {
  if (!version.contains("Sealed")) return version.value("Value", "");
  std::string sealed_text = version["Sealed"].get<std::string>();
  if (!decrypt) return sealed_text;
  if (deps.box == nullptr) return Status::Unavailable("Parameter Store has not started yet.");
  std::optional<std::string> sealed = Base64Decode(sealed_text);
  if (!sealed) return Status::Internal("A stored SecureString value is malformed.", "InternalServerError");
  auto opened = deps.box->Open(*sealed, SealContext(scope, version["Name"].get<std::string>(),
                                                    version["Version"].get<int64_t>()));
  if (!opened.ok()) {
    return Status::Internal("The SecureString value can't be decrypted with the master key.", "InvalidKeyId");
  }
  return std::move(*opened);
}

}  // namespace

StatusOr<Document> ParameterEntry(const SsmDeps& deps, const std::string& scope, const std::string& region,
                                  const std::string& account, const Document& version, const std::string& selector,
                                  bool decrypt) {
  GANTRY_ASSIGN_OR_RETURN(std::string value, VisibleValue(deps, scope, version, decrypt));
  std::string name = version["Name"].get<std::string>();
  Document out = {{"Name", name},
                  {"Type", version["Type"]},
                  {"Value", std::move(value)},
                  {"Version", version["Version"]},
                  {"LastModifiedDate", version["LastModifiedDate"]},
                  {"ARN", ParameterArn(region, account, name)},
                  {"DataType", version.value("DataType", "text")}};
  if (!selector.empty()) out["Selector"] = ":" + selector;
  return out;
}

Document MetadataEntry(const Document& parameter, const std::string& region, const std::string& account) {
  std::string name = parameter["Name"].get<std::string>();
  Document out = {{"Name", name},
                  {"ARN", ParameterArn(region, account, name)},
                  {"Type", parameter["Type"]},
                  {"LastModifiedDate", parameter["LastModifiedDate"]},
                  {"LastModifiedUser", parameter.value("LastModifiedUser", "")},
                  {"Version", parameter["Version"]},
                  {"Tier", parameter.value("Tier", "Standard")},
                  {"Policies", parameter.value("Policies", Document::array())},
                  {"DataType", parameter.value("DataType", "text")}};
  for (const char* member : {"KeyId", "Description", "AllowedPattern"}) {
    if (parameter.contains(member)) out[member] = parameter[member];
  }
  return out;
}

StatusOr<Document> HistoryEntry(const SsmDeps& deps, const std::string& scope, const Document& version,
                                bool decrypt) {
  GANTRY_ASSIGN_OR_RETURN(std::string value, VisibleValue(deps, scope, version, decrypt));
  Document out = {{"Name", version["Name"]},
                  {"Type", version["Type"]},
                  {"LastModifiedDate", version["LastModifiedDate"]},
                  {"LastModifiedUser", version.value("LastModifiedUser", "")},
                  {"Value", std::move(value)},
                  {"Version", version["Version"]},
                  {"Labels", version.value("Labels", Document::array())},
                  {"Tier", version.value("Tier", "Standard")},
                  {"Policies", version.value("Policies", Document::array())},
                  {"DataType", version.value("DataType", "text")}};
  for (const char* member : {"KeyId", "Description", "AllowedPattern"}) {
    if (version.contains(member)) out[member] = version[member];
  }
  return out;
}

// --- filters --------------------------------------------------------------------------------------

namespace {

Status InvalidFilterKey(const std::string& message) { return Status::InvalidArgument(message, "InvalidFilterKey"); }
Status InvalidFilterOption(const std::string& message) {
  return Status::InvalidArgument(message, "InvalidFilterOption");
}
Status InvalidFilterValue(const std::string& message) {
  return Status::InvalidArgument(message, "InvalidFilterValue");
}

std::string DefaultOption(const std::string& key) { return key == "Path" ? "OneLevel" : "Equals"; }

std::string PathOf(std::string value) {
  while (value.size() > 1 && value.back() == '/') value.pop_back();
  return value;
}

bool MatchText(const std::string& option, const std::string& actual, const Document& values) {
  for (const auto& v : values) {
    if (!v.is_string()) continue;
    const std::string& value = v.get_ref<const std::string&>();
    if (option == "Equals" && actual == value) return true;
    if (option == "BeginsWith" && StartsWith(actual, value)) return true;
    if (option == "Contains" && actual.find(value) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

Status ValidateParameterFilters(const Document& filters, bool by_path) {
  if (!filters.is_array()) return Status::Ok();
  std::set<std::string> seen;
  for (const auto& filter : filters) {
    std::string key = filter.value("Key", "");
    bool tag = StartsWith(key, "tag:") && key.size() > 4;
    static const std::set<std::string> kKeys = {"Name", "Type", "KeyId", "Path", "Label", "Tier", "DataType"};
    if (!tag && !kKeys.count(key)) {
      return InvalidFilterKey("The following filter key is not valid: " + key +
                              ". Valid filter keys include: [Path, Name, Type, KeyId, Tier, DataType, Label, tag].");
    }
    if (by_path && (key == "Name" || key == "Path" || key == "Tier")) {
      return InvalidFilterKey("The following filter key is not valid: " + key +
                              ". Valid filter keys include: [Type, KeyId, Label, DataType, tag].");
    }
    if (!by_path && key == "Label") {
      return InvalidFilterKey(
          "The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, "
          "Tier, DataType, tag].");
    }
    if (!seen.insert(key).second) {
      return InvalidFilterKey("The following filter is duplicated in the request: " + key +
                              ". A request can contain only one occurrence of a specific filter.");
    }
    std::string option = filter.value("Option", DefaultOption(key));
    if (key == "Path") {
      if (option != "Recursive" && option != "OneLevel") {
        return InvalidFilterOption("The following filter option is not valid: " + option +
                                   ". Valid options include: [Recursive, OneLevel].");
      }
    } else if (key == "Name") {
      if (option != "Equals" && option != "BeginsWith" && option != "Contains") {
        return InvalidFilterOption("The following filter option is not valid: " + option +
                                   ". Valid options include: [BeginsWith, Equals, Contains].");
      }
    } else if (key == "Label") {
      if (option != "Equals") {
        return InvalidFilterOption("The following filter option is not valid: " + option +
                                   ". Valid options include: [Equals].");
      }
    } else if (option != "Equals" && option != "BeginsWith") {
      return InvalidFilterOption("The following filter option is not valid: " + option +
                                 ". Valid options include: [BeginsWith, Equals].");
    }
    Document values = filter.value("Values", Document::array());
    if (values.empty() && !tag) {
      return InvalidFilterValue("The following filter values are missing : null for filter key " + key + ".");
    }
    auto check_values = [&](std::initializer_list<std::string_view> allowed) -> Status {
      for (const auto& v : values) {
        std::string value = v.is_string() ? v.get<std::string>() : std::string();
        bool ok = false;
        for (std::string_view a : allowed) ok = ok || value == a;
        if (!ok) {
          std::vector<std::string> names(allowed.begin(), allowed.end());
          return InvalidFilterValue("The following filter value is not valid: " + value +
                                    ". Valid values include: [" + Join(names, ", ") + "].");
        }
      }
      return Status::Ok();
    };
    if (key == "Type" && option == "Equals") GANTRY_RETURN_IF_ERROR(check_values({"String", "StringList", "SecureString"}));
    if (key == "Tier" && option == "Equals") GANTRY_RETURN_IF_ERROR(check_values({"Standard", "Advanced", "Intelligent-Tiering"}));
    if (key == "Path") {
      for (const auto& v : values) {
        std::string value = v.is_string() ? v.get<std::string>() : std::string();
        if (!StartsWith(value, "/") || value.find("//") != std::string::npos) {
          return Status::InvalidArgument(
              "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a "
              "forward slash \"/\". All sub-paths, if specified, must use the forward slash symbol \"/\".",
              "ValidationException");
        }
      }
    }
  }
  return Status::Ok();
}

bool MatchesParameterFilters(const Document& parameter, const Document& filters,
                             std::optional<int64_t>* label_version) {
  if (!filters.is_array()) return true;
  for (const auto& filter : filters) {
    std::string key = filter.value("Key", "");
    std::string option = filter.value("Option", DefaultOption(key));
    Document values = filter.value("Values", Document::array());
    std::string name = parameter.value("Name", "");
    if (key == "Name") {
      // Names match with or without their leading slash, as AWS normalizes them.
      Document normalized = Document::array();
      std::string slashed = StartsWith(name, "/") ? name : "/" + name;
      for (const auto& v : values) {
        std::string value = v.is_string() ? v.get<std::string>() : std::string();
        normalized.push_back(option == "Contains" || StartsWith(value, "/") ? value : "/" + value);
      }
      if (!MatchText(option, slashed, normalized)) return false;
    } else if (key == "Path") {
      bool matched = false;
      for (const auto& v : values) {
        std::string path = PathOf(v.is_string() ? v.get<std::string>() : std::string());
        if (!StartsWith(name, "/")) continue;
        std::string prefix = path == "/" ? "/" : path + "/";
        if (!StartsWith(name, prefix)) continue;
        matched = matched || option == "Recursive" || name.find('/', prefix.size()) == std::string::npos;
      }
      if (!matched) return false;
    } else if (key == "Type" || key == "KeyId" || key == "Tier" || key == "DataType") {
      std::string fallback = key == "Tier" ? "Standard" : key == "DataType" ? "text" : "";
      if (!parameter.contains(key) && fallback.empty()) return false;
      if (!MatchText(option, parameter.value(key, fallback), values)) return false;
    } else if (key == "Label") {
      const Document& labels = parameter.contains("Labels") ? parameter["Labels"] : Document::object();
      bool matched = false;
      for (const auto& v : values) {
        if (v.is_string() && labels.is_object() && labels.contains(v.get<std::string>())) {
          matched = true;
          if (label_version) *label_version = labels[v.get<std::string>()].get<int64_t>();
          break;
        }
      }
      if (!matched) return false;
    } else if (StartsWith(key, "tag:")) {
      std::string tag_key = key.substr(4);
      bool matched = false;
      for (const auto& tag : parameter.value("Tags", Document::array())) {
        if (tag.value("Key", "") != tag_key) continue;
        matched = values.empty() || MatchText(option, tag.value("Value", ""), values);
      }
      if (!matched) return false;
    }
  }
  return true;
}

Status DeleteParameterRecords(store::Transaction& tx, const std::string& scope, const Document& parameter) {
  std::string name = parameter["Name"].get<std::string>();
  GANTRY_RETURN_IF_ERROR(tx.Delete(kParameterTable, scope, name).status());
  store::ListOptions options;
  options.prefix = name + ":";
  GANTRY_ASSIGN_OR_RETURN(store::ListPage versions, tx.List(kVersionTable, scope, options));
  for (const auto& record : versions.records) {
    GANTRY_RETURN_IF_ERROR(tx.Delete(kVersionTable, scope, record.key).status());
  }
  if (auto key = parameter.find("ExpirationKey"); key != parameter.end() && key->is_string()) {
    GANTRY_RETURN_IF_ERROR(tx.Delete(kExpirationTable, "", key->get<std::string>()).status());
  }
  return Status::Ok();
}

StatusOr<int> SweepExpiredParameters(const SsmDeps& deps, TimePoint now) {
  int removed = 0;
  std::string now_key = Padded(ToEpochMillis(now), 16);
  store::ListOptions options;
  options.limit = 100;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kExpirationTable, "", options));
    for (const auto& entry : page.records) {
      if (entry.key.substr(0, now_key.size()) > now_key) return removed;
      std::string scope = entry.doc.value("Scope", "");
      std::string name = entry.doc.value("Name", "");
      GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
        GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kParameterTable, scope, name));
        if (record && record->doc.value("ExpirationKey", "") == entry.key) {
          ++removed;
          GANTRY_RETURN_IF_ERROR(DeleteParameterRecords(tx, scope, record->doc));
        }
        return tx.Delete(kExpirationTable, "", entry.key).status();
      }));
    }
    if (page.next_token.empty()) return removed;
    options.start_after = page.next_token;
  }
}

}  // namespace gantry::services::ssm
