#include "core/aws/validator.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <regex>

namespace gantry::aws {

namespace {

constexpr size_t kMaxReported = 10;
constexpr size_t kMaxPatternInput = 1024;  // longer values skip the regex (std::regex recurses)

std::string LowerCamel(std::string_view name) {
  std::string out(name);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

std::string Brief(const Document& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_binary()) return "java.nio.HeapByteBuffer";
  return v.dump();
}

// "Value 'v'" as AWS quotes an offending value; a sensitive shape's value is never echoed.
std::string ValueOf(const Shape& shape, const Document& v) {
  return shape.sensitive ? "Value" : "Value '" + Brief(v) + "'";
}

std::string Number(double d) {
  if (d == static_cast<double>(static_cast<int64_t>(d))) return std::to_string(static_cast<int64_t>(d));
  return std::to_string(d);
}

// Compiled patterns, shared by all requests; a pattern std::regex can't compile is not checked.
const std::regex* PatternFor(const std::string& pattern) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<std::regex>, std::less<>> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(pattern);
  if (it != cache.end()) return it->second.get();
  std::unique_ptr<std::regex> re;
  // Java regex features std::regex reads differently on UTF-8 bytes are not checked at all.
  bool portable = pattern.find("\\u") == std::string::npos && pattern.find("\\p") == std::string::npos &&
                  pattern.find("\\x") == std::string::npos && pattern.find("\\P") == std::string::npos &&
                  std::all_of(pattern.begin(), pattern.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!portable) return cache.emplace(pattern, nullptr).first->second.get();
  try {
    re = std::make_unique<std::regex>(pattern, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error&) {
    re = nullptr;
  }
  return cache.emplace(pattern, std::move(re)).first->second.get();
}

class Validator {
 public:
  void Check(const Shape& shape, const Document& value, const std::string& path) {
    if (errors_.size() >= kMaxReported) return;
    switch (shape.type) {
      case ShapeType::kStructure: {
        if (!value.is_object()) return;
        for (const auto& m : shape.members) {
          std::string member_path = path.empty() ? LowerCamel(m.name) : path + "." + LowerCamel(m.name);
          auto it = value.find(m.name);
          if (it == value.end() || it->is_null()) {
            if (m.required && m.location != Location::kStatusCode && !m.streaming && !m.shape->streaming) {
              Add("Value null at '" + member_path + "' failed to satisfy constraint: Member must not be null");
            }
            continue;
          }
          Check(*m.shape, *it, member_path);
        }
        break;
      }
      case ShapeType::kList: {
        if (!value.is_array()) return;
        CheckLength(shape, value, value.size(), path);
        for (size_t i = 0; i < value.size(); ++i) {
          Check(*shape.member.shape, value[i], path + "." + std::to_string(i + 1) + ".member");
        }
        break;
      }
      case ShapeType::kMap: {
        if (!value.is_object()) return;
        CheckLength(shape, value, value.size(), path);
        for (const auto& [k, v] : value.items()) {
          Check(*shape.key.shape, Document(k), path + ".key");
          Check(*shape.value.shape, v, path + ".value");
        }
        break;
      }
      case ShapeType::kString: {
        if (!value.is_string()) return;
        const std::string& s = value.get_ref<const std::string&>();
        if (!shape.enum_values.empty() &&
            std::find(shape.enum_values.begin(), shape.enum_values.end(), s) == shape.enum_values.end()) {
          std::string set;
          for (const auto& e : shape.enum_values) set += (set.empty() ? "" : ", ") + e;
          Add(ValueOf(shape, value) + " at '" + path + "' failed to satisfy constraint: Member must satisfy enum value set: [" +
              set + "]");
          return;
        }
        CheckLength(shape, value, CodePoints(s), path);
        if (!shape.pattern.empty() && s.size() <= kMaxPatternInput) {
          if (const std::regex* re = PatternFor(shape.pattern); re && !std::regex_match(s, *re)) {
            Add(ValueOf(shape, value) + " at '" + path +
                "' failed to satisfy constraint: Member must satisfy regular expression pattern: " + shape.pattern);
          }
        }
        break;
      }
      case ShapeType::kBlob:
        if (value.is_binary()) CheckLength(shape, value, value.get_binary().size(), path);
        break;
      case ShapeType::kInteger:
      case ShapeType::kLong:
      case ShapeType::kFloat:
      case ShapeType::kDouble: {
        if (!value.is_number()) return;
        double d = value.get<double>();
        if (shape.min && d < *shape.min) {
          Add("Value '" + Brief(value) + "' at '" + path +
              "' failed to satisfy constraint: Member must have value greater than or equal to " + Number(*shape.min));
        } else if (shape.max && d > *shape.max) {
          Add("Value '" + Brief(value) + "' at '" + path +
              "' failed to satisfy constraint: Member must have value less than or equal to " + Number(*shape.max));
        }
        break;
      }
      default: break;
    }
  }

  Status Result() const {
    if (errors_.empty()) return Status::Ok();
    std::string msg = std::to_string(errors_.size()) + (errors_.size() == 1 ? " validation error" : " validation errors") +
                      " detected: ";
    for (size_t i = 0; i < errors_.size(); ++i) msg += (i ? "; " : "") + errors_[i];
    return Status::InvalidArgument(msg);
  }

 private:
  static size_t CodePoints(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }

  void CheckLength(const Shape& shape, const Document& value, size_t length, const std::string& path) {
    if (shape.min && static_cast<double>(length) < *shape.min) {
      Add(ValueOf(shape, value) + " at '" + path +
          "' failed to satisfy constraint: Member must have length greater than or equal to " + Number(*shape.min));
    } else if (shape.max && static_cast<double>(length) > *shape.max) {
      Add(ValueOf(shape, value) + " at '" + path +
          "' failed to satisfy constraint: Member must have length less than or equal to " + Number(*shape.max));
    }
  }

  void Add(std::string e) {
    if (errors_.size() < kMaxReported) errors_.push_back(std::move(e));
  }

  std::vector<std::string> errors_;
};

}  // namespace

Status ValidateInput(const Shape& shape, const Document& input) {
  Validator v;
  v.Check(shape, input, "");
  return v.Result();
}

}  // namespace gantry::aws
