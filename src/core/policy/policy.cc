#include "core/policy/policy.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/policy/values.h"

namespace gantry::policy {

namespace {

using Json = nlohmann::json;

constexpr int kMaxNesting = 32;

Status Malformed(std::string message) { return Status::InvalidArgument(std::move(message), "MalformedPolicyDocument"); }
Status SyntaxError() { return Malformed("Syntax errors in policy."); }

// Rejects documents nested deeper than any policy can be before handing them to the JSON parser.
bool NestingWithinLimit(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > kMaxNesting) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

struct OperatorName {
  const char* name;
  ConditionOperator op;
  bool negated;
};

constexpr OperatorName kOperators[] = {
    {"StringEquals", ConditionOperator::kStringEquals, false},
    {"StringNotEquals", ConditionOperator::kStringNotEquals, true},
    {"StringEqualsIgnoreCase", ConditionOperator::kStringEqualsIgnoreCase, false},
    {"StringNotEqualsIgnoreCase", ConditionOperator::kStringNotEqualsIgnoreCase, true},
    {"StringLike", ConditionOperator::kStringLike, false},
    {"StringNotLike", ConditionOperator::kStringNotLike, true},
    {"NumericEquals", ConditionOperator::kNumericEquals, false},
    {"NumericNotEquals", ConditionOperator::kNumericNotEquals, true},
    {"NumericLessThan", ConditionOperator::kNumericLessThan, false},
    {"NumericLessThanEquals", ConditionOperator::kNumericLessThanEquals, false},
    {"NumericGreaterThan", ConditionOperator::kNumericGreaterThan, false},
    {"NumericGreaterThanEquals", ConditionOperator::kNumericGreaterThanEquals, false},
    {"DateEquals", ConditionOperator::kDateEquals, false},
    {"DateNotEquals", ConditionOperator::kDateNotEquals, true},
    {"DateLessThan", ConditionOperator::kDateLessThan, false},
    {"DateLessThanEquals", ConditionOperator::kDateLessThanEquals, false},
    {"DateGreaterThan", ConditionOperator::kDateGreaterThan, false},
    {"DateGreaterThanEquals", ConditionOperator::kDateGreaterThanEquals, false},
    {"Bool", ConditionOperator::kBool, false},
    {"BinaryEquals", ConditionOperator::kBinaryEquals, false},
    {"IpAddress", ConditionOperator::kIpAddress, false},
    {"NotIpAddress", ConditionOperator::kNotIpAddress, true},
    {"ArnEquals", ConditionOperator::kArnEquals, false},
    {"ArnLike", ConditionOperator::kArnLike, false},
    {"ArnNotEquals", ConditionOperator::kArnNotEquals, true},
    {"ArnNotLike", ConditionOperator::kArnNotLike, true},
    {"Null", ConditionOperator::kNull, false},
};

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// "ForAnyValue:StringLikeIfExists" → the operator, its set qualifier and IfExists.
std::optional<Condition> ParseOperator(std::string_view written) {
  Condition c;
  c.op_name = std::string(written);
  std::string_view name = written;
  if (StartsWith(name, "ForAnyValue:")) {
    c.set = SetQualifier::kForAnyValue;
    name.remove_prefix(12);
  } else if (StartsWith(name, "ForAllValues:")) {
    c.set = SetQualifier::kForAllValues;
    name.remove_prefix(13);
  }
  if (EndsWith(name, "IfExists")) {
    c.if_exists = true;
    name.remove_suffix(8);
  }
  for (const OperatorName& o : kOperators) {
    if (name == o.name) {
      if (o.op == ConditionOperator::kNull && c.if_exists) return std::nullopt;
      c.op = o.op;
      c.negated = o.negated;
      return c;
    }
  }
  return std::nullopt;
}

bool IsDateOperator(ConditionOperator op) {
  switch (op) {
    case ConditionOperator::kDateEquals:
    case ConditionOperator::kDateNotEquals:
    case ConditionOperator::kDateLessThan:
    case ConditionOperator::kDateLessThanEquals:
    case ConditionOperator::kDateGreaterThan:
    case ConditionOperator::kDateGreaterThanEquals:
      return true;
    default:
      return false;
  }
}

// A string, or a list of strings (booleans and numbers are taken as their text, as AWS does in
// condition values). nullopt when the JSON has another shape.
std::optional<std::vector<std::string>> StringOrList(const Json& j, bool scalars_as_text) {
  auto one = [&](const Json& v) -> std::optional<std::string> {
    if (v.is_string()) return v.get<std::string>();
    if (scalars_as_text && v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
    if (scalars_as_text && v.is_number()) return v.dump();
    return std::nullopt;
  };
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const Json& v : j) {
      auto s = one(v);
      if (!s) return std::nullopt;
      out.push_back(std::move(*s));
    }
    return out;
  }
  auto s = one(j);
  if (!s) return std::nullopt;
  out.push_back(std::move(*s));
  return out;
}

bool IsAccountId(std::string_view s) {
  return s.size() == 12 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// What AWS accepts as an "AWS" principal: "*", an account id, or an IAM/STS ARN of an account.
bool IsValidAwsPrincipal(std::string_view v) {
  if (v == "*" || IsAccountId(v)) return true;
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = v.find(':', start);
    if (colon == std::string_view::npos) return false;
    parts.push_back(v.substr(start, colon - start));
    start = colon + 1;
  }
  std::string_view resource = v.substr(start);
  if (parts[0] != "arn" || parts[1].empty() || !parts[3].empty() || !IsAccountId(parts[4])) return false;
  if (parts[2] == "iam") {
    return resource == "root" || StartsWith(resource, "user/") || StartsWith(resource, "role/") ||
           StartsWith(resource, "federated-user/");
  }
  if (parts[2] == "sts") return StartsWith(resource, "assumed-role/") || StartsWith(resource, "federated-user/");
  return false;
}

bool IsValidServicePrincipal(std::string_view v) {
  if (v == "*") return true;
  if (v.empty() || v.size() > 256) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
  }) && v.find('.') != std::string_view::npos;
}

Status ParsePrincipal(const Json& j, Statement& st) {
  st.has_principal = true;
  if (j.is_string()) {
    if (j.get<std::string>() != "*") return SyntaxError();
    st.any_principal = true;
    return Status::Ok();
  }
  if (!j.is_object() || j.empty()) return SyntaxError();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& type = it.key();
    if (type != "AWS" && type != "Service" && type != "Federated" && type != "CanonicalUser") return SyntaxError();
    auto values = StringOrList(it.value(), false);
    if (!values || values->empty()) return SyntaxError();
    for (std::string& v : *values) {
      if (type == "AWS" && v == "*") st.any_principal = true;
      st.principals.push_back({type, std::move(v)});
    }
  }
  return Status::Ok();
}

Status ParseConditions(const Json& j, Statement& st) {
  if (!j.is_object()) return SyntaxError();
  for (auto op = j.begin(); op != j.end(); ++op) {
    if (!op.value().is_object()) return SyntaxError();
    std::optional<Condition> parsed = ParseOperator(op.key());
    if (!parsed) {
      if (op.value().empty()) continue;  // an unknown operator with no keys is ignored, as by AWS
      return SyntaxError();
    }
    for (auto key = op.value().begin(); key != op.value().end(); ++key) {
      auto values = StringOrList(key.value(), true);
      if (!values) return SyntaxError();
      Condition c = *parsed;
      c.key = key.key();
      c.values = std::move(*values);
      st.conditions.push_back(std::move(c));
    }
  }
  return Status::Ok();
}

// The parse of one statement's syntax; semantic checks follow over all statements.
Status ParseStatementSyntax(const Json& j, Statement& st, bool& effect_case_ok) {
  static const std::set<std::string> kElements = {"Sid",      "Effect",      "Principal", "NotPrincipal",
                                                  "Action",   "NotAction",   "Resource",  "NotResource",
                                                  "Condition"};
  if (!j.is_object()) return SyntaxError();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!kElements.count(it.key())) return SyntaxError();
  }
  if (j.contains("Action") && j.contains("NotAction")) return SyntaxError();
  if (j.contains("Resource") && j.contains("NotResource")) return SyntaxError();
  if (j.contains("Principal") && j.contains("NotPrincipal")) return SyntaxError();

  auto effect = j.find("Effect");
  if (effect == j.end() || !effect->is_string()) return SyntaxError();
  std::string e = effect->get<std::string>();
  std::string lower = e;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower != "allow" && lower != "deny") return SyntaxError();
  effect_case_ok = e == "Allow" || e == "Deny";
  st.effect = lower == "allow" ? Effect::kAllow : Effect::kDeny;

  for (const char* name : {"Action", "NotAction"}) {
    if (auto a = j.find(name); a != j.end()) {
      auto values = StringOrList(*a, false);
      if (!values) return SyntaxError();
      st.actions = std::move(*values);
      st.not_action = std::string_view(name) == "NotAction";
    }
  }
  for (const char* name : {"Resource", "NotResource"}) {
    if (auto r = j.find(name); r != j.end()) {
      auto values = StringOrList(*r, false);
      if (!values) return SyntaxError();
      st.resources = std::move(*values);
      st.has_resources = true;
      st.not_resource = std::string_view(name) == "NotResource";
    }
  }
  if (auto p = j.find("Principal"); p != j.end()) GANTRY_RETURN_IF_ERROR(ParsePrincipal(*p, st));
  if (auto p = j.find("NotPrincipal"); p != j.end()) {
    GANTRY_RETURN_IF_ERROR(ParsePrincipal(*p, st));
    st.not_principal = true;
  }
  if (auto c = j.find("Condition"); c != j.end()) GANTRY_RETURN_IF_ERROR(ParseConditions(*c, st));
  if (auto s = j.find("Sid"); s != j.end()) {
    if (!s->is_string()) return SyntaxError();
    st.sid = s->get<std::string>();
  }
  return Status::Ok();
}

// The first resource format problem AWS reports, or "".
std::string ResourceFormatError(const std::string& resource) {
  if (resource == "*") return "";
  if (resource.find(':') == std::string::npos) return "Resource " + resource + " must be in ARN format or \"*\".";
  std::vector<std::string> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = resource.find(':', start);
    if (colon == std::string::npos) break;
    parts.push_back(resource.substr(start, colon - start));
    start = colon + 1;
  }
  parts.push_back(resource.substr(start));
  if (parts[0] != "arn") return "Resource " + resource + " must be in ARN format or \"*\".";
  if (parts.size() < 6) return "";  // legacy parsing decides
  const std::string& partition = parts[1];
  if (partition != "aws" && partition != "aws-cn" && partition != "aws-us-gov" && partition != "*") {
    return "Partition \"" + partition + "\" is not valid for resource \"" + resource + "\".";
  }
  const std::string& service = parts[2];
  if (service.find_first_of("*?") != std::string::npos) {
    return "Resource vendor must be fully qualified and cannot contain regexes.";
  }
  if (service == "iam" && !parts[3].empty()) return "IAM resource " + resource + " cannot contain region information.";
  if (service == "s3" && !parts[3].empty()) return "Resource " + resource + " can not contain region information.";
  if (service == "iam" && parts[5] != "*") {
    static const char* kStarts[] = {"user/",    "federated-user/", "role/",    "group/",        "instance-profile/",
                                    "mfa/",     "server-certificate/", "policy/", "sms-mfa/", "saml-provider/",
                                    "oidc-provider/", "report/",   "access-report/"};
    bool ok = std::any_of(std::begin(kStarts), std::end(kStarts),
                          [&](const char* s) { return StartsWith(parts[5], s); });
    if (!ok) {
      return "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, group/, "
             "instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, "
             "report/, access-report/.";
    }
  }
  return "";
}

// What AWS's legacy parser refuses in a resource: "::" in an ARN with fewer than six parts, or an
// empty service.
bool ResourcePassesLegacyParsing(const std::string& resource) {
  if (resource == "*") return true;
  size_t colons = std::count(resource.begin(), resource.end(), ':');
  if (colons < 5 && resource.find("::") != std::string::npos) return false;
  std::vector<std::string> parts;
  size_t start = 0;
  while (parts.size() < 3) {
    size_t colon = resource.find(':', start);
    parts.push_back(resource.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return parts.size() < 3 || !parts[2].empty();
}

Status ActionPrefixError(const std::string& action) {
  if (action == "*") return Status::Ok();
  size_t colons = std::count(action.begin(), action.end(), ':');
  if (colons == 0) return Malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  if (colons > 1) return Malformed("Actions/Condition can contain only one colon.");
  std::string vendor = action.substr(0, action.find(':'));
  if (vendor != "*" && (vendor.empty() || !std::all_of(vendor.begin(), vendor.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
      }))) {
    return Malformed("Vendor " + vendor + " is not valid");
  }
  return Status::Ok();
}

bool IsTrustAction(const std::string& action) {
  std::string a = action;
  std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
  return a == "*" || a == "sts:*" || a == "sts:assumerole" || a == "sts:assumerolewithsaml" ||
         a == "sts:assumerolewithwebidentity" || a == "sts:tagsession" || a == "sts:setsourceidentity" ||
         a == "sts:setcontext" || a == "sts:assumerole*";
}

}  // namespace

StatusOr<Policy> Policy::Parse(std::string_view text, const ParseOptions& options) {
  if (!NestingWithinLimit(text)) return SyntaxError();
  Json root = Json::parse(text.begin(), text.end(), nullptr, false);
  if (root.is_discarded() || !root.is_object()) return SyntaxError();
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() != "Version" && it.key() != "Id" && it.key() != "Statement") return SyntaxError();
  }
  Policy policy;
  if (auto v = root.find("Version"); v != root.end()) {
    if (!v->is_string()) return SyntaxError();
    policy.version_ = v->get<std::string>();
    if (policy.version_ != "2012-10-17" && policy.version_ != "2008-10-17") return SyntaxError();
  }
  if (auto id = root.find("Id"); id != root.end()) {
    if (!id->is_string()) return SyntaxError();
    policy.id_ = id->get<std::string>();
  }
  auto statements = root.find("Statement");
  if (statements == root.end()) return SyntaxError();
  std::vector<const Json*> raw;
  if (statements->is_object()) {
    raw.push_back(&*statements);
  } else if (statements->is_array() && !statements->empty()) {
    for (const Json& s : *statements) raw.push_back(&s);
  } else {
    return SyntaxError();
  }
  bool effects_case_ok = true;
  for (const Json* s : raw) {
    Statement st;
    bool case_ok = true;
    GANTRY_RETURN_IF_ERROR(ParseStatementSyntax(*s, st, case_ok));
    effects_case_ok = effects_case_ok && case_ok;
    policy.statements_.push_back(std::move(st));
  }

  if (options.kind == PolicyKind::kIdentity &&
      std::any_of(policy.statements_.begin(), policy.statements_.end(),
                  [](const Statement& s) { return s.has_principal; })) {
    return Malformed("Policy document should not specify a principal.");
  }
  if (options.require_current_version && policy.version_ != "2012-10-17") {
    return Malformed("Policy document must be version 2012-10-17 or greater.");
  }

  // AWS's legacy parser: case-sensitive Effect, date condition values, resource shapes.
  if (!effects_case_ok) return Malformed("The policy failed legacy parsing");
  std::string resource_error;
  for (const Statement& st : policy.statements_) {
    for (const Condition& c : st.conditions) {
      if (!IsDateOperator(c.op)) continue;
      for (const std::string& v : c.values) {
        if (!ParseDateValue(v) && v.find("${") == std::string::npos) return Malformed("The policy failed legacy parsing");
      }
    }
    std::vector<std::string> sorted = st.resources;
    std::sort(sorted.rbegin(), sorted.rend());
    for (const std::string& r : sorted) {
      if (resource_error.empty()) resource_error = ResourceFormatError(r);
    }
    if (resource_error.empty()) {
      for (const std::string& r : st.resources) {
        if (!ResourcePassesLegacyParsing(r)) return Malformed("The policy failed legacy parsing");
      }
    }
  }

  std::set<std::string> sids;
  for (const Statement& st : policy.statements_) {
    if (st.sid.empty()) continue;
    if (!sids.insert(st.sid).second) return Malformed("Statement IDs (SID) in a single policy must be unique.");
  }
  for (const Statement& st : policy.statements_) {
    if (st.actions.empty()) return Malformed("Policy statement must contain actions.");
  }
  for (const Statement& st : policy.statements_) {
    if (options.kind == PolicyKind::kTrust) {
      if (st.has_resources) return Malformed(st.not_resource ? "Has prohibited field NotResource" : "Has prohibited field Resource");
    } else if (!st.has_resources || st.resources.empty()) {
      return Malformed("Policy statement must contain resources.");
    }
  }
  if (options.kind != PolicyKind::kIdentity) {
    for (const Statement& st : policy.statements_) {
      if (!st.has_principal) return Malformed("Missing required field Principal");
    }
  }
  if (!resource_error.empty()) return Malformed(resource_error);
  for (const Statement& st : policy.statements_) {
    for (const std::string& a : st.actions) GANTRY_RETURN_IF_ERROR(ActionPrefixError(a));
  }
  if (options.kind == PolicyKind::kTrust) {
    for (const Statement& st : policy.statements_) {
      if (st.not_action) return Malformed("AssumeRole policy may only specify STS AssumeRole actions.");
      for (const std::string& a : st.actions) {
        if (!IsTrustAction(a)) return Malformed("AssumeRole policy may only specify STS AssumeRole actions.");
      }
    }
  }
  if (options.kind != PolicyKind::kIdentity) {
    for (const Statement& st : policy.statements_) {
      for (const PrincipalEntry& p : st.principals) {
        bool ok = p.type == "AWS" ? IsValidAwsPrincipal(p.value)
                  : p.type == "Service" ? IsValidServicePrincipal(p.value)
                                        : !p.value.empty();
        if (!ok) {
          std::string type = p.type == "AWS" ? "AWS" : p.type == "Service" ? "SERVICE" : p.type == "Federated" ? "FEDERATED" : "CANONICALUSER";
          return Malformed("Invalid principal in policy: \"" + type + "\":\"" + p.value + "\"");
        }
      }
    }
  }
  return policy;
}

std::vector<std::string> ConditionKeysOf(const Policy& policy) {
  std::map<std::string, std::string> keys;  // lower-case → first spelling
  for (const Statement& st : policy.statements()) {
    for (const Condition& c : st.conditions) {
      std::string lower = c.key;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
      keys.emplace(lower, c.key);
    }
  }
  std::vector<std::string> out;
  for (auto& [_, k] : keys) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace gantry::policy
