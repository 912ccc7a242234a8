#include "core/events/pattern.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/events/pattern_tokenizer.h"

namespace gantry::events {
namespace {

constexpr std::string_view kInvalidPattern = "Event pattern is not valid. Reason: ";
constexpr std::string_view kInvalidPatternCode = "InvalidEventPatternException";
constexpr std::string_view kOr = "$or";
// Guards against patterns whose $or alternatives multiply into an unbounded number of branches.
constexpr size_t kMaxBranches = 4096;
constexpr int kMaxNestingDepth = 1000;
// Guards the array-consistency search against pathological events.
constexpr int64_t kMaxMatchSteps = 1'000'000;
constexpr int kMaxEventDepth = 1000;

// Field names that cannot appear inside "$or" (they are, or are reserved to become, operators).
constexpr std::array<std::string_view, 24> kReservedInOr = {
    "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard",
    "numeric", "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case",
    "date-after", "date-on-or-after", "date-before", "date-on-or-before", "in-date-range",
    "ip-address-in-range", "ip-address-not-in-range"};

// ---------------------------------------------------------------------------------------------
// Case folding for equals-ignore-case: simple one-to-one folding of the scripts with case that
// event patterns meet in practice (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic).

uint32_t FoldCodePoint(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp < 0x80) return cp;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;
  if (cp == 0x130 || cp == 0x131) return cp;  // dotted and dotless i have no simple pair
  if (cp >= 0x100 && cp <= 0x137) return cp | 1;
  if (cp >= 0x139 && cp <= 0x148) return (cp & 1) ? cp + 1 : cp;
  if (cp >= 0x14A && cp <= 0x177) return cp | 1;
  if (cp == 0x178) return 0xFF;
  if (cp >= 0x179 && cp <= 0x17E) return (cp & 1) ? cp + 1 : cp;
  if (cp == 0x386) return 0x3AC;
  if (cp >= 0x388 && cp <= 0x38A) return cp + 37;
  if (cp == 0x38C) return 0x3CC;
  if (cp == 0x38E || cp == 0x38F) return cp + 63;
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 32;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

std::string FoldCase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    bool valid = true;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!valid) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    uint32_t folded = FoldCodePoint(cp);
    if (folded == cp) {
      out.append(s.substr(i, len));
    } else if (folded < 0x80) {
      out.push_back(static_cast<char>(folded));
    } else if (folded < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (folded >> 6)));
      out.push_back(static_cast<char>(0x80 | (folded & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xE0 | (folded >> 12)));
      out.push_back(static_cast<char>(0x80 | ((folded >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (folded & 0x3F)));
    }
    i += len;
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// ---------------------------------------------------------------------------------------------
// IP addresses, parsed the way EventBridge recognizes them: an IPv4 literal is four dotted
// decimal numbers, an IPv6 literal is hex digits and colons (IPv4-mapped IPv6 addresses count as
// IPv4).

using IpBytes = std::vector<uint8_t>;

bool LooksLikeIpv4(std::string_view s) {
  int groups = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
    ++groups;
    if (i == s.size()) return groups == 4;
    if (s[i] != '.' || groups == 4) return false;
    ++i;
  }
}

bool LooksLikeIpv6(std::string_view s) {
  bool colon = false;
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (c == ':') {
      colon = true;
    } else if (!hex) {
      return false;
    }
  }
  return colon;
}

enum class IpParse { kOk, kNotAnIp, kInvalid };

IpParse ParseIp(std::string_view s, IpBytes* out) {
  if (LooksLikeIpv4(s)) {
    out->assign(4, 0);
    int part = 0;
    size_t i = 0;
    while (i <= s.size()) {
      size_t j = s.find('.', i);
      if (j == std::string_view::npos) j = s.size();
      std::string_view digits = s.substr(i, j - i);
      if (digits.size() > 10) return IpParse::kInvalid;
      uint64_t v = 0;
      for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
      if (v > 255) return IpParse::kInvalid;
      (*out)[part++] = static_cast<uint8_t>(v);
      i = j + 1;
      if (j == s.size()) break;
    }
    return IpParse::kOk;
  }
  if (LooksLikeIpv6(s)) {
    std::string text(s);
    std::array<uint8_t, 16> buf{};
    if (inet_pton(AF_INET6, text.c_str(), buf.data()) != 1) return IpParse::kInvalid;
    bool mapped = std::all_of(buf.begin(), buf.begin() + 10, [](uint8_t b) { return b == 0; }) &&
                  buf[10] == 0xFF && buf[11] == 0xFF;
    if (mapped) {
      out->assign(buf.begin() + 12, buf.end());
    } else {
      out->assign(buf.begin(), buf.end());
    }
    return IpParse::kOk;
  }
  return IpParse::kNotAnIp;
}

// Java's String.split(regex) for a one-character separator: trailing empty strings are dropped.
std::vector<std::string_view> JavaSplit(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      break;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
  while (!parts.empty() && parts.back().empty() && !(parts.size() == 1 && s.empty())) {
    parts.pop_back();
  }
  return parts;
}

// Java's Integer.parseInt.
bool JavaParseInt(std::string_view s, int64_t* value) {
  size_t i = 0;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return false;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
    if (v > 2147483648LL) return false;
  }
  if (negative) v = -v;
  if (v > 2147483647LL || v < -2147483648LL) return false;
  *value = v;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Wildcards: '*' matches any run of characters; "\*" and "\\" are a literal star and backslash.

struct Wildcard {
  // The text between stars: one part means no star; "a*b*c" is {"a", "b", "c"}, "*a" is {"", "a"}.
  std::vector<std::string> parts;

  bool Matches(std::string_view s) const {
    if (parts.size() == 1) return s == parts[0];
    const std::string& head = parts.front();
    const std::string& tail = parts.back();
    if (s.size() < head.size() + tail.size()) return false;
    if (!StartsWith(s, head) || !EndsWith(s, tail)) return false;
    size_t pos = head.size();
    std::string_view middle = s.substr(0, s.size() - tail.size());
    // Greedy leftmost placement of each middle part is optimal when the only operator is '*'.
    for (size_t k = 1; k + 1 < parts.size(); ++k) {
      size_t found = middle.find(parts[k], pos);
      if (found == std::string_view::npos) return false;
      pos = found + parts[k].size();
    }
    return true;
  }
};

// Parses wildcard text. Positions in errors count the opening quote of the JSON string, as
// EventBridge's messages do.
bool ParseWildcard(std::string_view text, Wildcard* out, std::string* error) {
  std::string quoted = "\"" + std::string(text) + "\"";
  std::vector<std::string> parts(1);
  for (size_t i = 1; i + 1 < quoted.size(); ++i) {
    char c = quoted[i];
    if (c == '*') {
      if (quoted[i + 1] == '*') {
        *error = "Consecutive wildcard characters at pos " + std::to_string(i);
        return false;
      }
      parts.emplace_back();
    } else if (c == '\\') {
      char next = quoted[i + 1];
      if (next != '*' && next != '\\') {
        *error = "Invalid escape character at pos " + std::to_string(i);
        return false;
      }
      parts.back().push_back(next);
      ++i;
    } else {
      parts.back().push_back(c);
    }
  }
  out->parts = std::move(parts);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Compiled form.

enum class MatcherKind {
  kExactString,
  kExactIp,
  kExactNumber,
  kTrue,
  kFalse,
  kNull,
  kPrefix,
  kPrefixIgnoreCase,
  kSuffix,
  kSuffixIgnoreCase,
  kEqualsIgnoreCase,
  kWildcard,
  kNumeric,
  kCidr,
  kExists,
  kAnythingButStrings,
  kAnythingButNumbers,
  kAnythingButPrefix,
  kAnythingButSuffix,
  kAnythingButIgnoreCase,
  kAnythingButWildcard,
};

struct ValueMatcher {
  MatcherKind kind = MatcherKind::kExists;
  std::string text;                // exact / prefix / suffix text (folded for ignore-case kinds)
  std::vector<std::string> texts;  // anything-but sets (folded for ignore-case)
  std::vector<double> numbers;     // anything-but numbers
  double number = 0;               // exact number
  // Numeric range; absent bounds are infinite.
  double low = -INFINITY, high = INFINITY;
  bool low_open = false, high_open = false;
  IpBytes ip_low, ip_high;
  std::vector<Wildcard> wildcards;

  bool Matches(const nlohmann::json& v) const;
};

bool IpInRange(const IpBytes& ip, const IpBytes& lo, const IpBytes& hi) {
  return ip.size() == lo.size() && !(ip < lo) && !(hi < ip);
}

bool ValueMatcher::Matches(const nlohmann::json& v) const {
  const std::string* s = v.is_string() ? &v.get_ref<const std::string&>() : nullptr;
  switch (kind) {
    case MatcherKind::kExactString:
      return s != nullptr && *s == text;
    case MatcherKind::kExactIp:
    case MatcherKind::kCidr: {
      if (s == nullptr) return false;
      IpBytes ip;
      return ParseIp(*s, &ip) == IpParse::kOk && IpInRange(ip, ip_low, ip_high);
    }
    case MatcherKind::kExactNumber:
      return v.is_number() && v.get<double>() == number;
    case MatcherKind::kTrue:
      return v.is_boolean() && v.get<bool>();
    case MatcherKind::kFalse:
      return v.is_boolean() && !v.get<bool>();
    case MatcherKind::kNull:
      return v.is_null();
    case MatcherKind::kPrefix:
      return s != nullptr && StartsWith(*s, text);
    case MatcherKind::kPrefixIgnoreCase:
      return s != nullptr && StartsWith(FoldCase(*s), text);
    case MatcherKind::kSuffix:
      return s != nullptr && EndsWith(*s, text);
    case MatcherKind::kSuffixIgnoreCase:
      return s != nullptr && EndsWith(FoldCase(*s), text);
    case MatcherKind::kEqualsIgnoreCase:
      return s != nullptr && FoldCase(*s) == text;
    case MatcherKind::kWildcard:
      return s != nullptr && wildcards[0].Matches(*s);
    case MatcherKind::kNumeric: {
      if (!v.is_number()) return false;
      double d = v.get<double>();
      bool above = low_open ? d > low : d >= low;
      bool below = high_open ? d < high : d <= high;
      return above && below;
    }
    case MatcherKind::kExists:
      return true;
    case MatcherKind::kAnythingButStrings:
      return s == nullptr || std::find(texts.begin(), texts.end(), *s) == texts.end();
    case MatcherKind::kAnythingButNumbers: {
      if (!v.is_number()) return true;
      double d = v.get<double>();
      return std::find(numbers.begin(), numbers.end(), d) == numbers.end();
    }
    case MatcherKind::kAnythingButPrefix:
      return s == nullptr || std::none_of(texts.begin(), texts.end(),
                                          [&](const std::string& p) { return StartsWith(*s, p); });
    case MatcherKind::kAnythingButSuffix:
      return s == nullptr || std::none_of(texts.begin(), texts.end(),
                                          [&](const std::string& p) { return EndsWith(*s, p); });
    case MatcherKind::kAnythingButIgnoreCase: {
      if (s == nullptr) return true;
      std::string folded = FoldCase(*s);
      return std::find(texts.begin(), texts.end(), folded) == texts.end();
    }
    case MatcherKind::kAnythingButWildcard:
      return s == nullptr || std::none_of(wildcards.begin(), wildcards.end(),
                                          [&](const Wildcard& w) { return w.Matches(*s); });
  }
  return false;
}

struct FieldPatterns {
  std::vector<ValueMatcher> values;
  bool absence = false;  // [{"exists": false}] is among the values
};

// One way for an event to match: every path must match. "$or" produces several branches.
using Branch = std::vector<std::pair<std::string, std::shared_ptr<const FieldPatterns>>>;

void PutField(Branch* branch, const std::string& path, std::shared_ptr<const FieldPatterns> values) {
  for (auto& entry : *branch) {
    if (entry.first == path) {
      entry.second = std::move(values);  // a repeated key overrides, as in EventBridge
      return;
    }
  }
  branch->emplace_back(path, std::move(values));
}

}  // namespace

struct CompiledPattern {
  std::string source;
  std::vector<Branch> branches;
  std::vector<std::string> paths;  // every field path the branches use, sorted and unique
};

namespace {

// ---------------------------------------------------------------------------------------------
// Compiler: a recursive descent over PatternTokenizer that reports errors at the same points, with
// the same messages, as EventBridge.

class PatternCompiler {
 public:
  explicit PatternCompiler(std::string_view source) : tok_(source) {}

  Status Compile(std::vector<Branch>* branches) {
    PatternToken t;
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (t != PatternToken::kStartObject) return Barf("Filter is not an object");
    std::vector<std::string> path;
    GANTRY_RETURN_IF_ERROR(ParseObject(branches, &path, false, 1));
    return Status::Ok();
  }

 private:
  static Status Invalid(std::string message) {
    return Status::InvalidArgument(std::string(kInvalidPattern) + message,
                                   std::string(kInvalidPatternCode));
  }
  // An error located at the tokenizer's position.
  Status Barf(std::string_view message) const { return Invalid(tok_.Located(message)); }
  // An error reported from inside a list, which EventBridge wraps (and so locates) twice.
  Status BarfTwice(std::string_view message) const {
    return Invalid(tok_.Located(tok_.Located(message)));
  }

  Status Next(PatternToken* t) {
    Status s = tok_.Next(t);
    if (!s.ok()) return Invalid(s.message());
    return s;
  }
  Status Text(std::string* text) {
    Status s = tok_.Text(text);
    if (!s.ok()) return Invalid(s.message());
    return s;
  }
  static bool IsNumber(PatternToken t) {
    return t == PatternToken::kNumberInt || t == PatternToken::kNumberFloat;
  }
  Status NumberValue(double* value) {
    std::string text;
    GANTRY_RETURN_IF_ERROR(Text(&text));
    *value = std::strtod(text.c_str(), nullptr);
    return Status::Ok();
  }

  static std::string JoinPath(const std::vector<std::string>& path, const std::string& name) {
    std::string out;
    for (const std::string& p : path) {
      out += p;
      out += '.';
    }
    return out + name;
  }

  Status ParseObject(std::vector<Branch>* rules, std::vector<std::string>* path, bool inside_or,
                     int depth) {
    if (depth > kMaxNestingDepth) {
      return Barf("Document nesting depth (" + std::to_string(depth) +
                  ") exceeds the maximum allowed (" + std::to_string(kMaxNestingDepth) +
                  ", from `StreamReadConstraints.getMaxNestingDepth()`)");
    }
    bool fields_present = false;
    while (true) {
      PatternToken t;
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t == PatternToken::kEndObject) break;
      fields_present = true;
      std::string name = tok_.field_name();
      if (name == kOr) {
        GANTRY_RETURN_IF_ERROR(ParseOr(rules, path, depth));
        continue;
      }
      if (inside_or &&
          std::find(kReservedInOr.begin(), kReservedInOr.end(), name) != kReservedInOr.end()) {
        return Barf(name + " is Ruler reserved fieldName which cannot be used inside $or.");
      }
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t == PatternToken::kStartObject) {
        path->push_back(name);
        GANTRY_RETURN_IF_ERROR(ParseObject(rules, path, inside_or, depth + 1));
        path->pop_back();
      } else if (t == PatternToken::kStartArray) {
        GANTRY_RETURN_IF_ERROR(WriteRules(rules, JoinPath(*path, name)));
      } else {
        return Barf("\"" + name + "\" must be an object or an array");
      }
    }
    if (!fields_present) return Barf("Empty objects are not allowed");
    return Status::Ok();
  }

  Status ParseOr(std::vector<Branch>* rules, std::vector<std::string>* path, int depth) {
    std::vector<Branch> before = *rules;
    rules->clear();
    PatternToken t;
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (t != PatternToken::kStartArray) return Barf("It must be an Array followed with $or.");
    int alternatives = 0;
    while (true) {
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t == PatternToken::kEndArray) break;
      ++alternatives;
      if (t != PatternToken::kStartObject) {
        return Barf("Only JSON object is allowed in array of $or relationship.");
      }
      std::vector<Branch> alternative = before;
      if (alternative.empty()) alternative.emplace_back();
      GANTRY_RETURN_IF_ERROR(ParseObject(&alternative, path, true, depth + 1));
      if (rules->size() + alternative.size() > kMaxBranches) {
        return Barf("Rule is too complex - $or alternatives combine into more than " +
                    std::to_string(kMaxBranches) + " sub-patterns");
      }
      for (Branch& b : alternative) rules->push_back(std::move(b));
    }
    if (alternatives < 2) return Barf("There must have at least 2 Objects in $or relationship.");
    return Status::Ok();
  }

  Status WriteRules(std::vector<Branch>* rules, const std::string& name) {
    auto field = std::make_shared<FieldPatterns>();
    while (true) {
      PatternToken t;
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t == PatternToken::kEndArray) break;
      switch (t) {
        case PatternToken::kStartObject: {
          bool absence = false;
          ValueMatcher m;
          GANTRY_RETURN_IF_ERROR(MatchExpression(&m, &absence));
          if (absence) {
            field->absence = true;
          } else {
            field->values.push_back(std::move(m));
          }
          break;
        }
        case PatternToken::kString: {
          std::string text;
          GANTRY_RETURN_IF_ERROR(Text(&text));
          ValueMatcher m;
          IpBytes ip;
          if (ParseIp(text, &ip) == IpParse::kOk) {
            m.kind = MatcherKind::kExactIp;
            m.ip_low = ip;
            m.ip_high = ip;
          } else {
            m.kind = MatcherKind::kExactString;
            m.text = std::move(text);
          }
          field->values.push_back(std::move(m));
          break;
        }
        case PatternToken::kNumberInt:
        case PatternToken::kNumberFloat: {
          ValueMatcher m;
          m.kind = MatcherKind::kExactNumber;
          GANTRY_RETURN_IF_ERROR(NumberValue(&m.number));
          field->values.push_back(std::move(m));
          break;
        }
        case PatternToken::kTrue:
        case PatternToken::kFalse:
        case PatternToken::kNull: {
          ValueMatcher m;
          m.kind = t == PatternToken::kTrue    ? MatcherKind::kTrue
                   : t == PatternToken::kFalse ? MatcherKind::kFalse
                                               : MatcherKind::kNull;
          field->values.push_back(std::move(m));
          break;
        }
        default:
          return Barf("Match value must be String, number, true, false, or null");
      }
    }
    if (field->values.empty() && !field->absence) return Barf("Empty arrays are not allowed");
    if (rules->empty()) rules->emplace_back();
    std::shared_ptr<const FieldPatterns> shared = std::move(field);
    for (Branch& rule : *rules) PutField(&rule, name, shared);
    return Status::Ok();
  }

  // After a match expression's value: the object must close.
  Status ExpectEndObject(std::string_view message) {
    PatternToken t;
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (t != PatternToken::kEndObject) return Barf(message);
    return Status::Ok();
  }

  Status StringOperand(std::string_view error, std::string* text) {
    PatternToken t;
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (t != PatternToken::kString) return Barf(error);
    return Text(text);
  }

  Status MatchExpression(ValueMatcher* m, bool* absence) {
    static constexpr std::string_view kOneKey = "Only one key allowed in match expression";
    PatternToken t;
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (t != PatternToken::kFieldName) return Barf("Match expression name not found");
    const std::string op = tok_.field_name();
    if (op == "exactly") {
      m->kind = MatcherKind::kExactString;
      GANTRY_RETURN_IF_ERROR(StringOperand("exact match pattern must be a string", &m->text));
      return ExpectEndObject(kOneKey);
    }
    if (op == "prefix" || op == "suffix") {
      bool prefix = op == "prefix";
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t == PatternToken::kStartObject) return IgnoreCaseAffix(m, prefix);
      if (t != PatternToken::kString) return Barf(op + " match pattern must be a string");
      m->kind = prefix ? MatcherKind::kPrefix : MatcherKind::kSuffix;
      GANTRY_RETURN_IF_ERROR(Text(&m->text));
      return ExpectEndObject(kOneKey);
    }
    if (op == "numeric") {
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t != PatternToken::kStartArray) return Barf("Value of numeric must be an array.");
      GANTRY_RETURN_IF_ERROR(Numeric(m));
      return ExpectEndObject("Too many elements in numeric expression");
    }
    if (op == "anything-but") return AnythingBut(m);
    if (op == "exists") {
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t == PatternToken::kTrue) {
        m->kind = MatcherKind::kExists;
      } else if (t == PatternToken::kFalse) {
        *absence = true;
      } else {
        return Barf("exists match pattern must be either true or false.");
      }
      return ExpectEndObject(kOneKey);
    }
    if (op == "cidr") {
      std::string text;
      GANTRY_RETURN_IF_ERROR(StringOperand("prefix match pattern must be a string", &text));
      GANTRY_RETURN_IF_ERROR(Cidr(text, m));
      return ExpectEndObject(kOneKey);
    }
    if (op == "equals-ignore-case") {
      std::string text;
      GANTRY_RETURN_IF_ERROR(
          StringOperand("equals-ignore-case match pattern must be a string", &text));
      m->kind = MatcherKind::kEqualsIgnoreCase;
      m->text = FoldCase(text);
      return ExpectEndObject(kOneKey);
    }
    if (op == "wildcard") {
      std::string text;
      GANTRY_RETURN_IF_ERROR(StringOperand("wildcard match pattern must be a string", &text));
      Wildcard w;
      std::string error;
      if (!ParseWildcard(text, &w, &error)) return Barf(error);
      m->kind = MatcherKind::kWildcard;
      m->wildcards.push_back(std::move(w));
      return ExpectEndObject(kOneKey);
    }
    return Barf("Unrecognized match type " + op);
  }

  // {"prefix": {"equals-ignore-case": "..."}} and the suffix form; the inner '{' is current.
  Status IgnoreCaseAffix(ValueMatcher* m, bool prefix) {
    static constexpr std::string_view kOneKey = "Only one key allowed in match expression";
    PatternToken t;
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (t != PatternToken::kFieldName) {
      return Barf(prefix ? "Prefix expression name not found" : "Suffix expression name not found");
    }
    if (tok_.field_name() != "equals-ignore-case") {
      return Barf((prefix ? "Unsupported prefix pattern: " : "Unsupported suffix pattern: ") +
                  tok_.field_name());
    }
    std::string text;
    GANTRY_RETURN_IF_ERROR(
        StringOperand("equals-ignore-case match pattern must be a string", &text));
    m->kind = prefix ? MatcherKind::kPrefixIgnoreCase : MatcherKind::kSuffixIgnoreCase;
    m->text = FoldCase(text);
    GANTRY_RETURN_IF_ERROR(ExpectEndObject(kOneKey));
    return ExpectEndObject(kOneKey);
  }

  // The numeric operator list; its '[' is current.
  Status Numeric(ValueMatcher* m) {
    static constexpr std::string_view kTooMany = "Too many elements in numeric expression";
    m->kind = MatcherKind::kNumeric;
    PatternToken t;
    GANTRY_RETURN_IF_ERROR(Next(&t));
    std::string op;
    GANTRY_RETURN_IF_ERROR(Text(&op));
    if (t != PatternToken::kString) return Barf("Invalid member in numeric match: " + op);
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (op == "=") {
      if (!IsNumber(t)) return Barf("Value of equals must be numeric");
      double v;
      GANTRY_RETURN_IF_ERROR(NumberValue(&v));
      m->low = m->high = v;
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t != PatternToken::kEndArray) return Barf(kTooMany);
      return Status::Ok();
    }
    if (op == ">=" || op == ">") {
      if (!IsNumber(t)) return Barf("Value of " + op + " must be numeric");
      GANTRY_RETURN_IF_ERROR(NumberValue(&m->low));
      m->low_open = op == ">";
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t == PatternToken::kEndArray) return Status::Ok();
      return NumericUpperBound(t, m);
    }
    if (op == "<=" || op == "<") {
      if (!IsNumber(t)) return Barf("Value of " + op + " must be numeric");
      GANTRY_RETURN_IF_ERROR(NumberValue(&m->high));
      m->high_open = op == "<";
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t != PatternToken::kEndArray) return Barf(kTooMany);
      return Status::Ok();
    }
    return Barf("Unrecognized numeric range operator: " + op);
  }

  // The second half of [">", a, "<", b]; t is the token after a.
  Status NumericUpperBound(PatternToken t, ValueMatcher* m) {
    std::string op;
    GANTRY_RETURN_IF_ERROR(Text(&op));
    if (t != PatternToken::kString) return Barf("Bad value in numeric range: " + op);
    if (op != "<" && op != "<=") return Barf("Bad numeric range operator: " + op);
    m->high_open = op == "<";
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (!IsNumber(t)) return Barf("Value of " + op + " must be numeric");
    GANTRY_RETURN_IF_ERROR(NumberValue(&m->high));
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (t != PatternToken::kEndArray) return Barf("Too many terms in numeric range expression");
    if (!(m->low < m->high)) return Barf("Bottom must be less than top");
    return Status::Ok();
  }

  Status Cidr(const std::string& text, ValueMatcher* m) {
    // EventBridge reports CIDR errors without a location.
    std::vector<std::string_view> parts = JavaSplit(text, '/');
    if (parts.size() != 2) return Invalid("Malformed CIDR, one '/' required");
    int64_t bits;
    if (!JavaParseInt(parts[1], &bits)) return Invalid("Malformed CIDR, mask bits must be an integer");
    if (bits < 0) return Invalid("Malformed CIDR, mask bits must not be negative");
    IpBytes ip;
    switch (ParseIp(parts[0], &ip)) {
      case IpParse::kOk:
        break;
      case IpParse::kInvalid:
        return Invalid("Invalid IP address: " + std::string(parts[0]));
      case IpParse::kNotAnIp:
        return Invalid("Nonstandard IP address: " + std::string(parts[0]));
    }
    if (ip.size() == 4 && bits > 31) return Invalid("IPv4 mask bits must be < 32");
    if (ip.size() == 16 && bits > 127) return Invalid("IPv6 mask bits must be < 128");
    // The range runs from the address as written (not masked) to the top of its block.
    IpBytes top = ip;
    int host_bits = static_cast<int>(ip.size()) * 8 - static_cast<int>(bits);
    for (int i = static_cast<int>(ip.size()) - 1; i >= 0 && host_bits > 0; --i, host_bits -= 8) {
      top[i] = host_bits >= 8 ? 0xFF : static_cast<uint8_t>(top[i] | ((1 << host_bits) - 1));
    }
    m->kind = MatcherKind::kCidr;
    m->ip_low = std::move(ip);
    m->ip_high = std::move(top);
    return Status::Ok();
  }

  enum class ButKind { kPlain, kIgnoreCase, kPrefix, kSuffix, kWildcard };

  static std::string_view ButTypeError(ButKind kind) {
    switch (kind) {
      case ButKind::kIgnoreCase:
        return "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not "
               "supported.";
      case ButKind::kWildcard:
        return "wildcard match pattern must be a string";
      default:
        return "prefix/suffix match pattern must be a string";
    }
  }

  Status AnythingBut(ValueMatcher* m) {
    static constexpr std::string_view kTooMany = "Too many elements in numeric expression";
    ButKind kind = ButKind::kPlain;
    PatternToken t;
    GANTRY_RETURN_IF_ERROR(Next(&t));
    if (t == PatternToken::kStartObject) {
      GANTRY_RETURN_IF_ERROR(Next(&t));
      if (t != PatternToken::kFieldName) return Barf("Anything-But expression name not found");
      const std::string& op = tok_.field_name();
      if (op == "equals-ignore-case") {
        kind = ButKind::kIgnoreCase;
      } else if (op == "prefix") {
        kind = ButKind::kPrefix;
      } else if (op == "suffix") {
        kind = ButKind::kSuffix;
      } else if (op == "wildcard") {
        kind = ButKind::kWildcard;
      } else {
        return Barf("Unsupported anything-but pattern: " + op);
      }
      GANTRY_RETURN_IF_ERROR(Next(&t));
    }
    if (t != PatternToken::kStartArray && t != PatternToken::kString && !IsNumber(t)) {
      return Barf("Value of anything-but must be an array or single string/number value.");
    }
    std::vector<std::string> strings;
    std::vector<double> numbers;
    if (kind == ButKind::kPlain) {
      if (t == PatternToken::kStartArray) {
        while (true) {
          GANTRY_RETURN_IF_ERROR(Next(&t));
          if (t == PatternToken::kEndArray) break;
          if (t == PatternToken::kString) {
            std::string s;
            GANTRY_RETURN_IF_ERROR(Text(&s));
            strings.push_back(std::move(s));
          } else if (IsNumber(t)) {
            double d;
            GANTRY_RETURN_IF_ERROR(NumberValue(&d));
            numbers.push_back(d);
          } else {
            return BarfTwice("Inside anything but list, start|null|boolean is not supported.");
          }
        }
        if (strings.empty() == numbers.empty()) {
          return Barf("Inside anything but list, either all values are number or string, mixed "
                      "type is not supported");
        }
      } else if (t == PatternToken::kString) {
        std::string s;
        GANTRY_RETURN_IF_ERROR(Text(&s));
        strings.push_back(std::move(s));
      } else {
        double d;
        GANTRY_RETURN_IF_ERROR(NumberValue(&d));
        numbers.push_back(d);
      }
      if (!numbers.empty()) {
        m->kind = MatcherKind::kAnythingButNumbers;
        m->numbers = std::move(numbers);
      } else {
        m->kind = MatcherKind::kAnythingButStrings;
        m->texts = std::move(strings);
      }
    } else {
      bool affix = kind == ButKind::kPrefix || kind == ButKind::kSuffix;
      if (t == PatternToken::kStartArray) {
        while (true) {
          GANTRY_RETURN_IF_ERROR(Next(&t));
          if (t == PatternToken::kEndArray) break;
          if (t != PatternToken::kString) return BarfTwice(ButTypeError(kind));
          std::string s;
          GANTRY_RETURN_IF_ERROR(Text(&s));
          if (affix && s.empty()) return BarfTwice("Null prefix/suffix not allowed");
          strings.push_back(std::move(s));
        }
      } else {
        if (t != PatternToken::kString) return Barf(ButTypeError(kind));
        std::string s;
        GANTRY_RETURN_IF_ERROR(Text(&s));
        if (affix && s.empty()) return Barf("Null prefix/suffix not allowed");
        strings.push_back(std::move(s));
      }
      switch (kind) {
        case ButKind::kIgnoreCase:
          m->kind = MatcherKind::kAnythingButIgnoreCase;
          for (std::string& s : strings) s = FoldCase(s);
          break;
        case ButKind::kPrefix:
          m->kind = MatcherKind::kAnythingButPrefix;
          break;
        case ButKind::kSuffix:
          m->kind = MatcherKind::kAnythingButSuffix;
          break;
        default:
          m->kind = MatcherKind::kAnythingButWildcard;
          for (const std::string& s : strings) {
            Wildcard w;
            std::string error;
            if (!ParseWildcard(s, &w, &error)) return Barf(error);
            m->wildcards.push_back(std::move(w));
          }
          break;
      }
      m->texts = std::move(strings);
    }
    GANTRY_RETURN_IF_ERROR(ExpectEndObject(kTooMany));
    if (kind != ButKind::kPlain) GANTRY_RETURN_IF_ERROR(ExpectEndObject(kTooMany));
    return Status::Ok();
  }

  PatternTokenizer tok_;
};

// ---------------------------------------------------------------------------------------------
// Matching. The event is flattened into leaf values by dotted path; each leaf remembers which
// element of which array it came from, so that one match never combines fields from different
// elements of the same array.

using Membership = std::vector<std::pair<int, int>>;  // (array id, element index), by array id

struct Leaf {
  const nlohmann::json* value;
  Membership membership;
};

using FlatEvent = std::unordered_map<std::string, std::vector<Leaf>>;

// Flattens the parts of an event that the pattern's paths reach.
class EventFlattener {
 public:
  explicit EventFlattener(const std::vector<std::string>& paths) : paths_(paths) {}

  FlatEvent Run(const nlohmann::json& event) {
    FlatEvent out;
    Visit(event, "", 0, &out);
    return out;
  }

 private:
  bool IsPath(const std::string& path) const {
    return std::binary_search(paths_.begin(), paths_.end(), path);
  }
  // Whether some pattern path lies below this one ("a" is a prefix of "a.b").
  bool HasPathsBelow(const std::string& path) const {
    std::string prefix = path + ".";
    auto it = std::lower_bound(paths_.begin(), paths_.end(), prefix);
    return it != paths_.end() && StartsWith(*it, prefix);
  }

  void Visit(const nlohmann::json& v, const std::string& path, int depth, FlatEvent* out) {
    if (depth > kMaxEventDepth) return;
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        std::string child = path.empty() ? it.key() : path + "." + it.key();
        if (IsPath(child) || HasPathsBelow(child)) Visit(it.value(), child, depth + 1, out);
      }
    } else if (v.is_array()) {
      int id = next_array_++;
      int index = 0;
      for (const auto& element : v) {
        membership_.emplace_back(id, index++);
        Visit(element, path, depth + 1, out);
        membership_.pop_back();
      }
    } else if (!path.empty() && IsPath(path)) {
      (*out)[path].push_back(Leaf{&v, membership_});
    }
  }

  const std::vector<std::string>& paths_;
  Membership membership_;
  int next_array_ = 0;
};

// Merges b into a; false if they name different elements of the same array.
bool MergeMembership(const Membership& a, const Membership& b, Membership* out) {
  out->clear();
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].first == b[j].first) {
      if (a[i].second != b[j].second) return false;
      out->push_back(a[i]);
      ++i;
      ++j;
    } else if (a[i].first < b[j].first) {
      out->push_back(a[i++]);
    } else {
      out->push_back(b[j++]);
    }
  }
  out->insert(out->end(), a.begin() + i, a.end());
  out->insert(out->end(), b.begin() + j, b.end());
  return true;
}

bool Consistent(const Membership& a, const Membership& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].first == b[j].first) {
      if (a[i].second != b[j].second) return false;
      ++i;
      ++j;
    } else if (a[i].first < b[j].first) {
      ++i;
    } else {
      ++j;
    }
  }
  return true;
}

struct Slot {
  const FieldPatterns* patterns;
  const std::vector<Leaf>* leaves;  // every leaf at the path (nullptr if none)
  std::vector<const Leaf*> candidates;
};

class BranchSearch {
 public:
  explicit BranchSearch(std::vector<Slot> slots) : slots_(std::move(slots)) {}

  bool Run() {
    Membership none;
    return Visit(0, none);
  }

 private:
  bool Visit(size_t i, const Membership& m) {
    if (++steps_ > kMaxMatchSteps) return false;
    if (i == slots_.size()) {
      for (const Slot* s : absent_) {
        if (s->leaves == nullptr) continue;
        for (const Leaf& leaf : *s->leaves) {
          if (Consistent(m, leaf.membership)) return false;
        }
      }
      return true;
    }
    const Slot& slot = slots_[i];
    Membership merged;
    for (const Leaf* leaf : slot.candidates) {
      if (!MergeMembership(m, leaf->membership, &merged)) continue;
      if (Visit(i + 1, merged)) return true;
      if (steps_ > kMaxMatchSteps) return false;
    }
    if (slot.patterns->absence) {
      absent_.push_back(&slot);
      bool ok = Visit(i + 1, m);
      absent_.pop_back();
      if (ok) return true;
    }
    return false;
  }

  std::vector<Slot> slots_;
  std::vector<const Slot*> absent_;
  int64_t steps_ = 0;
};

bool BranchMatches(const Branch& branch, const FlatEvent& flat) {
  std::vector<Slot> slots;
  slots.reserve(branch.size());
  for (const auto& [path, patterns] : branch) {
    Slot slot{patterns.get(), nullptr, {}};
    auto it = flat.find(path);
    if (it != flat.end()) {
      slot.leaves = &it->second;
      for (const Leaf& leaf : it->second) {
        for (const ValueMatcher& m : patterns->values) {
          if (m.Matches(*leaf.value)) {
            slot.candidates.push_back(&leaf);
            break;
          }
        }
      }
    }
    if (slot.candidates.empty() && !patterns->absence) return false;
    slots.push_back(std::move(slot));
  }
  // Most constrained paths first.
  std::stable_sort(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) {
    return a.candidates.size() + a.patterns->absence < b.candidates.size() + b.patterns->absence;
  });
  return BranchSearch(std::move(slots)).Run();
}

}  // namespace

StatusOr<EventPattern> EventPattern::Parse(std::string_view json) {
  auto compiled = std::make_shared<CompiledPattern>();
  compiled->source = std::string(json);
  PatternCompiler compiler(compiled->source);
  GANTRY_RETURN_IF_ERROR(compiler.Compile(&compiled->branches));
  for (const Branch& branch : compiled->branches) {
    for (const auto& field : branch) compiled->paths.push_back(field.first);
  }
  std::sort(compiled->paths.begin(), compiled->paths.end());
  compiled->paths.erase(std::unique(compiled->paths.begin(), compiled->paths.end()),
                        compiled->paths.end());
  return EventPattern(std::move(compiled));
}

bool EventPattern::Matches(const nlohmann::json& event) const {
  FlatEvent flat = EventFlattener(compiled_->paths).Run(event);
  for (const Branch& branch : compiled_->branches) {
    if (BranchMatches(branch, flat)) return true;
  }
  return false;
}

StatusOr<bool> EventPattern::MatchesJson(std::string_view event_json) const {
  nlohmann::json event;
  try {
    event = nlohmann::json::parse(event_json, nullptr, /*allow_exceptions=*/false);
  } catch (const nlohmann::json::exception&) {
    event = nlohmann::json(nlohmann::json::value_t::discarded);
  }
  if (event.is_discarded() || !event.is_object()) {
    return Status::InvalidArgument("Parameter Event is not valid.", "ValidationException");
  }
  return Matches(event);
}

const std::string& EventPattern::source() const { return compiled_->source; }

}  // namespace gantry::events
