#include "core/aws/json_values.h"

#include <cmath>

#include "core/aws/codecs.h"
#include "core/common/strings.h"

namespace gantry::aws {

namespace {

Status Mismatch(const std::string& path, std::string_view expected, const Document& got) {
  std::string where = path.empty() ? "request body" : "'" + path + "'";
  return Status::InvalidArgument(
      "Expected " + std::string(expected) + " at " + where + " but found " + std::string(got.type_name()) + ".",
      "SerializationException");
}

std::string Join(const std::string& path, const std::string& name) { return path.empty() ? name : path + "." + name; }

constexpr int kMaxDepth = 64;

Document ToJson(const Shape& shape, const Document& doc, bool wire_names, const MemberRef* ref, int depth) {
  if (doc.is_null() || shape.document || depth > kMaxDepth) return doc;
  switch (shape.type) {
    case ShapeType::kStructure: {
      Document out = Document::object();
      if (!doc.is_object()) return out;
      for (const auto& m : shape.members) {
        if (m.location != Location::kBody) continue;
        auto it = doc.find(m.name);
        if (it == doc.end() || it->is_null()) continue;
        out[wire_names ? m.WireName() : m.name] = ToJson(*m.shape, *it, wire_names, &m, depth + 1);
      }
      return out;
    }
    case ShapeType::kList: {
      Document out = Document::array();
      if (!doc.is_array()) return out;
      for (const auto& v : doc) {
        if (!v.is_null()) out.push_back(ToJson(*shape.member.shape, v, wire_names, &shape.member, depth + 1));
      }
      return out;
    }
    case ShapeType::kMap: {
      Document out = Document::object();
      if (!doc.is_object()) return out;
      for (const auto& [k, v] : doc.items()) {
        if (!v.is_null()) out[k] = ToJson(*shape.value.shape, v, wire_names, &shape.value, depth + 1);
      }
      return out;
    }
    case ShapeType::kTimestamp: {
      auto t = ParseTimestampValue(doc, "");
      if (!t.ok()) return doc;
      TimestampFormat format = TimestampFormatFor(ref, shape, TimestampFormat::kEpochSeconds);
      if (format != TimestampFormat::kEpochSeconds) return FormatTimestamp(*t, format);
      if (*t == static_cast<double>(static_cast<int64_t>(*t))) return static_cast<int64_t>(*t);
      return *t;
    }
    case ShapeType::kBlob: return ScalarToText(shape, doc, TimestampFormat::kEpochSeconds);
    case ShapeType::kFloat:
    case ShapeType::kDouble:
    case ShapeType::kBigDecimal:
      if (doc.is_number_float() && !std::isfinite(doc.get<double>())) {
        return ScalarToText(shape, doc, TimestampFormat::kEpochSeconds);
      }
      return doc;
    default: return doc;
  }
}

}  // namespace

StatusOr<Document> JsonToDocument(const Shape& shape, const Document& json, const std::string& path, bool wire_names) {
  if (json.is_null()) return Document();
  if (shape.document) return json;
  switch (shape.type) {
    case ShapeType::kStructure: {
      if (!json.is_object()) return Mismatch(path, "an object", json);
      Document out = Document::object();
      for (const auto& m : shape.members) {
        if (m.location != Location::kBody) continue;
        const std::string& key = wire_names ? m.WireName() : m.name;
        auto it = json.find(key);
        if (it == json.end() || it->is_null()) continue;
        GANTRY_ASSIGN_OR_RETURN(out[m.name], JsonToDocument(*m.shape, *it, Join(path, m.name), wire_names));
      }
      return out;
    }
    case ShapeType::kList: {
      if (!json.is_array()) return Mismatch(path, "a list", json);
      Document out = Document::array();
      for (size_t i = 0; i < json.size(); ++i) {
        GANTRY_ASSIGN_OR_RETURN(Document v, JsonToDocument(*shape.member.shape, json[i],
                                                           path + "[" + std::to_string(i) + "]", wire_names));
        out.push_back(std::move(v));
      }
      return out;
    }
    case ShapeType::kMap: {
      if (!json.is_object()) return Mismatch(path, "a map", json);
      Document out = Document::object();
      for (const auto& [k, v] : json.items()) {
        if (v.is_null()) continue;
        GANTRY_ASSIGN_OR_RETURN(out[k], JsonToDocument(*shape.value.shape, v, Join(path, k), wire_names));
      }
      return out;
    }
    case ShapeType::kString:
      if (!json.is_string()) return Mismatch(path, "a string", json);
      return json;
    case ShapeType::kBoolean:
      if (!json.is_boolean()) return Mismatch(path, "a boolean", json);
      return json;
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kBigInteger:
      if (json.is_number_integer()) return json;
      if (json.is_number_float() && json.get<double>() == static_cast<double>(static_cast<int64_t>(json.get<double>()))) {
        return Document(static_cast<int64_t>(json.get<double>()));
      }
      return Mismatch(path, "an integer", json);
    case ShapeType::kFloat:
    case ShapeType::kDouble:
    case ShapeType::kBigDecimal:
      if (json.is_number()) return json;
      if (json.is_string()) return ScalarFromText(shape, json.get<std::string>(), path);
      return Mismatch(path, "a number", json);
    case ShapeType::kTimestamp: {
      if (!json.is_number() && !json.is_string()) return Mismatch(path, "a timestamp", json);
      auto t = ParseTimestampValue(json, path);
      if (!t.ok()) return Status::InvalidArgument(t.status().message(), "SerializationException");
      return Document(*t);
    }
    case ShapeType::kBlob: {
      if (!json.is_string()) return Mismatch(path, "a base64 string", json);
      auto decoded = Base64Decode(json.get<std::string>());
      if (!decoded) return Status::InvalidArgument("Value at '" + path + "' is not valid base64.", "SerializationException");
      return Document::binary(std::vector<uint8_t>(decoded->begin(), decoded->end()));
    }
  }
  return json;
}

Document DocumentToJson(const Shape& shape, const Document& doc, bool wire_names, const MemberRef* ref) {
  return ToJson(shape, doc, wire_names, ref, 0);
}

}  // namespace gantry::aws
