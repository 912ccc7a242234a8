#include "core/aws/codecs.h"

#include <cmath>
#include <cstdlib>

#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::aws {

namespace {

std::optional<TimestampFormat> ParseFormatName(std::string_view name) {
  if (name == "unixTimestamp") return TimestampFormat::kEpochSeconds;
  if (name == "iso8601") return TimestampFormat::kIso8601;
  if (name == "rfc822") return TimestampFormat::kRfc822;
  return std::nullopt;
}

Status TypeError(std::string_view where, std::string_view text, std::string_view type) {
  return Status::InvalidArgument("Value '" + std::string(text) + "' at '" + std::string(where) +
                                     "' failed to satisfy constraint: Member must be of type " + std::string(type),
                                 "");
}

}  // namespace

const ProtocolCodec& CodecFor(Protocol protocol) {
  switch (protocol) {
    case Protocol::kJson: return JsonCodec();
    case Protocol::kQuery: return QueryCodec();
    case Protocol::kRestJson: return RestJsonCodec();
    case Protocol::kRestXml: return RestXmlCodec();
    case Protocol::kRpcV2Cbor: return CborCodec();
  }
  return JsonCodec();
}

TimestampFormat TimestampFormatFor(const MemberRef* ref, const Shape& shape, TimestampFormat fallback) {
  if (ref) {
    if (auto f = ParseFormatName(ref->timestamp_format)) return *f;
  }
  if (auto f = ParseFormatName(shape.timestamp_format)) return *f;
  return fallback;
}

StatusOr<double> ParseTimestampValue(const Document& value, std::string_view where) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (auto t = ParseIso8601(s)) return ToEpochSeconds(*t);
    if (auto t = ParseRfc1123(s)) return ToEpochSeconds(*t);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(d)) return d;
    return TypeError(where, s, "timestamp");
  }
  return TypeError(where, value.dump(), "timestamp");
}

std::string FormatTimestamp(double epoch_seconds, TimestampFormat format) {
  switch (format) {
    case TimestampFormat::kEpochSeconds: {
      if (epoch_seconds == std::floor(epoch_seconds)) return std::to_string(static_cast<int64_t>(epoch_seconds));
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.3f", epoch_seconds);
      return buf;
    }
    case TimestampFormat::kIso8601: {
      TimePoint t = FromEpochSeconds(epoch_seconds);
      return FormatIso8601(t, epoch_seconds != std::floor(epoch_seconds));
    }
    case TimestampFormat::kRfc822: return FormatRfc1123(FromEpochSeconds(epoch_seconds));
  }
  return {};
}

StatusOr<Document> ScalarFromText(const Shape& shape, std::string_view text, std::string_view where) {
  switch (shape.type) {
    case ShapeType::kString: return Document(std::string(text));
    case ShapeType::kBoolean:
      if (text == "true") return Document(true);
      if (text == "false") return Document(false);
      return TypeError(where, text, "boolean");
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kBigInteger: {
      std::string s(Trim(text));
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || errno == ERANGE) return TypeError(where, text, "integer");
      if (shape.type == ShapeType::kInteger && (v > INT32_MAX || v < INT32_MIN)) return TypeError(where, text, "integer");
      return Document(static_cast<int64_t>(v));
    }
    case ShapeType::kFloat:
    case ShapeType::kDouble:
    case ShapeType::kBigDecimal: {
      std::string s(Trim(text));
      if (s == "NaN") return Document(std::nan(""));
      if (s == "Infinity") return Document(INFINITY);
      if (s == "-Infinity") return Document(-INFINITY);
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0') return TypeError(where, text, "double");
      return Document(v);
    }
    case ShapeType::kTimestamp: {
      GANTRY_ASSIGN_OR_RETURN(double t, ParseTimestampValue(Document(std::string(text)), where));
      return Document(t);
    }
    case ShapeType::kBlob: {
      auto decoded = Base64Decode(text);
      if (!decoded) return TypeError(where, text, "base64-encoded blob");
      return Document::binary(std::vector<uint8_t>(decoded->begin(), decoded->end()));
    }
    case ShapeType::kStructure:
    case ShapeType::kList:
    case ShapeType::kMap: break;
  }
  return TypeError(where, text, "scalar");
}

std::string ScalarToText(const Shape& shape, const Document& value, TimestampFormat format) {
  switch (shape.type) {
    case ShapeType::kString:
      return value.is_string() ? value.get<std::string>() : value.dump();
    case ShapeType::kBoolean: return value.is_boolean() && value.get<bool>() ? "true" : "false";
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kBigInteger:
      if (value.is_number()) return std::to_string(value.get<int64_t>());
      return value.is_string() ? value.get<std::string>() : value.dump();
    case ShapeType::kFloat:
    case ShapeType::kDouble:
    case ShapeType::kBigDecimal: {
      if (!value.is_number()) return value.is_string() ? value.get<std::string>() : value.dump();
      double d = value.get<double>();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return Document(d).dump();
    }
    case ShapeType::kTimestamp: {
      auto t = ParseTimestampValue(value, "");
      return t.ok() ? FormatTimestamp(*t, format) : std::string();
    }
    case ShapeType::kBlob:
      if (value.is_binary()) {
        const auto& bin = value.get_binary();
        return Base64Encode(std::string_view(reinterpret_cast<const char*>(bin.data()), bin.size()));
      }
      return value.is_string() ? Base64Encode(value.get<std::string>()) : std::string();
    case ShapeType::kStructure:
    case ShapeType::kList:
    case ShapeType::kMap: break;
  }
  return value.dump();
}

}  // namespace gantry::aws
