// smithy-rpc-v2-cbor: POST /service/{ServiceName}/operation/{Operation} with "smithy-protocol:
// rpc-v2-cbor", bodies a CBOR map of the input or output keyed by member name; timestamps are tag 1
// epoch seconds, blobs byte strings, non-finite doubles native CBOR floats. Errors are a CBOR map
// {"__type": "<namespace>#<ErrorShape>", "message": ..., other members of the error shape} with the
// error's HTTP status, plus the x-amzn-query-error header ("Code;Sender") for awsQueryCompatible
// services such as CloudWatch, from which clients take the query error code. Stateless; thread-safe.
#include <cmath>
#include <vector>

#include "core/aws/cbor.h"
#include "core/aws/codecs.h"
#include "core/common/strings.h"

namespace gantry::aws {

namespace {

constexpr int kMaxDepth = 64;
constexpr std::string_view kServicePrefix = "/service/";
constexpr std::string_view kOperationInfix = "/operation/";

Status Mismatch(const std::string& path, std::string_view expected, const Document& got) {
  std::string where = path.empty() ? "request body" : "'" + path + "'";
  return Status::InvalidArgument(
      "Expected " + std::string(expected) + " at " + where + " but found " + std::string(got.type_name()) + ".",
      "SerializationException");
}

std::string Join(const std::string& path, const std::string& name) { return path.empty() ? name : path + "." + name; }

// Decoded CBOR → Document of `shape`, checking each value's CBOR type against the model.
StatusOr<Document> FromCbor(const Shape& shape, const Document& value, const std::string& path) {
  if (value.is_null() || shape.document) return value;
  switch (shape.type) {
    case ShapeType::kStructure: {
      if (!value.is_object()) return Mismatch(path, "a map", value);
      Document out = Document::object();
      for (const auto& m : shape.members) {
        auto it = value.find(m.name);
        if (it == value.end() || it->is_null()) continue;
        GANTRY_ASSIGN_OR_RETURN(out[m.name], FromCbor(*m.shape, *it, Join(path, m.name)));
      }
      return out;
    }
    case ShapeType::kList: {
      if (!value.is_array()) return Mismatch(path, "an array", value);
      Document out = Document::array();
      for (size_t i = 0; i < value.size(); ++i) {
        GANTRY_ASSIGN_OR_RETURN(Document v, FromCbor(*shape.member.shape, value[i], path + "[" + std::to_string(i) + "]"));
        out.push_back(std::move(v));
      }
      return out;
    }
    case ShapeType::kMap: {
      if (!value.is_object()) return Mismatch(path, "a map", value);
      Document out = Document::object();
      for (const auto& [k, v] : value.items()) {
        if (v.is_null()) continue;
        GANTRY_ASSIGN_OR_RETURN(out[k], FromCbor(*shape.value.shape, v, Join(path, k)));
      }
      return out;
    }
    case ShapeType::kString:
      if (!value.is_string()) return Mismatch(path, "a text string", value);
      return value;
    case ShapeType::kBoolean:
      if (!value.is_boolean()) return Mismatch(path, "a boolean", value);
      return value;
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kBigInteger:
      if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        return Mismatch(path, "a 64-bit integer", value);
      }
      if (value.is_number_integer()) return Document(value.get<int64_t>());
      // Encoders may write an integral value in a float's shortest form.
      if (value.is_number_float() && std::isfinite(value.get<double>()) &&
          value.get<double>() == std::trunc(value.get<double>()) && std::fabs(value.get<double>()) < 9.2e18) {
        return Document(static_cast<int64_t>(value.get<double>()));
      }
      return Mismatch(path, "an integer", value);
    case ShapeType::kFloat:
    case ShapeType::kDouble:
    case ShapeType::kBigDecimal:
      if (value.is_number()) return Document(value.get<double>());
      return Mismatch(path, "a number", value);
    case ShapeType::kTimestamp:
      if (value.is_number()) return Document(value.get<double>());
      return Mismatch(path, "a timestamp", value);
    case ShapeType::kBlob:
      if (!value.is_binary()) return Mismatch(path, "a byte string", value);
      return value;
  }
  return value;
}

// A Document of no model type (document shapes, error extras): JSON types map onto CBOR's.
void WriteGeneric(const Document& doc, CborWriter& w, int depth) {
  switch (doc.type()) {
    case Document::value_t::object:
      if (depth > kMaxDepth) return w.Null();
      w.BeginMap(doc.size());
      for (const auto& [k, v] : doc.items()) {
        w.Text(k);
        WriteGeneric(v, w, depth + 1);
      }
      return;
    case Document::value_t::array:
      if (depth > kMaxDepth) return w.Null();
      w.BeginArray(doc.size());
      for (const auto& v : doc) WriteGeneric(v, w, depth + 1);
      return;
    case Document::value_t::string: return w.Text(doc.get_ref<const std::string&>());
    case Document::value_t::boolean: return w.Bool(doc.get<bool>());
    case Document::value_t::number_integer: return w.Int(doc.get<int64_t>());
    case Document::value_t::number_unsigned: return w.Uint(doc.get<uint64_t>());
    case Document::value_t::number_float: return w.Double(doc.get<double>());
    case Document::value_t::binary: {
      const auto& bin = doc.get_binary();
      return w.Bytes(std::string_view(reinterpret_cast<const char*>(bin.data()), bin.size()));
    }
    default: return w.Null();
  }
}

// A Document of `shape` → CBOR. Containers of the wrong type are written empty, as the JSON writer
// does; timestamps get tag 1 whatever form the handler stored them in.
void WriteValue(const Shape& shape, const Document& doc, CborWriter& w, int depth) {
  if (shape.document || depth > kMaxDepth) return WriteGeneric(doc, w, depth);
  switch (shape.type) {
    case ShapeType::kStructure: {
      size_t n = 0;
      if (doc.is_object()) {
        for (const auto& m : shape.members) {
          auto it = doc.find(m.name);
          if (it != doc.end() && !it->is_null()) ++n;
        }
      }
      w.BeginMap(n);
      if (n == 0) return;
      for (const auto& m : shape.members) {
        auto it = doc.find(m.name);
        if (it == doc.end() || it->is_null()) continue;
        w.Text(m.name);
        WriteValue(*m.shape, *it, w, depth + 1);
      }
      return;
    }
    case ShapeType::kList: {
      size_t n = 0;
      if (doc.is_array()) {
        for (const auto& v : doc) n += v.is_null() ? 0 : 1;
      }
      w.BeginArray(n);
      if (n == 0) return;
      for (const auto& v : doc) {
        if (!v.is_null()) WriteValue(*shape.member.shape, v, w, depth + 1);
      }
      return;
    }
    case ShapeType::kMap: {
      size_t n = 0;
      if (doc.is_object()) {
        for (const auto& [k, v] : doc.items()) n += v.is_null() ? 0 : 1;
      }
      w.BeginMap(n);
      if (n == 0) return;
      for (const auto& [k, v] : doc.items()) {
        if (v.is_null()) continue;
        w.Text(k);
        WriteValue(*shape.value.shape, v, w, depth + 1);
      }
      return;
    }
    case ShapeType::kString:
      return doc.is_string() ? w.Text(doc.get_ref<const std::string&>()) : w.Text(ScalarToText(shape, doc, {}));
    case ShapeType::kBoolean: return w.Bool(doc.is_boolean() ? doc.get<bool>() : doc == "true");
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kBigInteger:
      if (doc.is_number_unsigned()) return w.Uint(doc.get<uint64_t>());
      if (doc.is_number()) return w.Int(doc.get<int64_t>());
      return WriteGeneric(doc, w, depth);
    case ShapeType::kFloat:
    case ShapeType::kDouble:
    case ShapeType::kBigDecimal: {
      if (doc.is_number()) return w.Double(doc.get<double>());
      if (doc.is_string()) {
        auto parsed = ScalarFromText(shape, doc.get<std::string>(), "");
        if (parsed.ok()) return w.Double(parsed->get<double>());
      }
      return WriteGeneric(doc, w, depth);
    }
    case ShapeType::kTimestamp: {
      auto t = ParseTimestampValue(doc, "");
      if (!t.ok()) return WriteGeneric(doc, w, depth);
      w.Tag(1);
      if (*t == std::floor(*t) && std::fabs(*t) < 9.2e18) return w.Int(static_cast<int64_t>(*t));
      return w.Double(*t);
    }
    case ShapeType::kBlob:
      if (doc.is_string()) return w.Bytes(doc.get_ref<const std::string&>());
      return WriteGeneric(doc, w, depth);
  }
}

// "com.amazonaws.cloudwatch": the Smithy namespace AWS service shapes live in.
std::string ShapeNamespace(const ServiceModel& model) {
  std::string id;
  for (char c : model.service_id()) {
    if (c != ' ' && c != '-') id.push_back(c);
  }
  return "com.amazonaws." + ToLower(id.empty() ? model.service() : id);
}

void SetCommonHeaders(const std::string& request_id, http::Response& response) {
  response.headers.Set("smithy-protocol", "rpc-v2-cbor");
  response.headers.Set("Content-Type", "application/cbor");
  response.headers.Set("x-amzn-RequestId", request_id);
}

class CborProtocolCodec final : public ProtocolCodec {
 public:
  StatusOr<const Operation*> ResolveOperation(const ServiceModel& model, const http::Request& request) const override {
    std::string_view path = request.path;
    size_t service_at = path.rfind(kServicePrefix);
    size_t op_at = service_at == std::string_view::npos ? std::string_view::npos : path.find(kOperationInfix, service_at);
    if (op_at == std::string_view::npos) {
      return Status::InvalidArgument("The request path " + std::string(path) +
                                         " is not /service/{ServiceName}/operation/{OperationName}.",
                                     "UnknownOperationException");
    }
    std::string_view service = path.substr(service_at + kServicePrefix.size(), op_at - service_at - kServicePrefix.size());
    std::string_view name = path.substr(op_at + kOperationInfix.size());
    const Operation* op = service == model.target_prefix() ? model.FindOperation(name) : nullptr;
    if (op == nullptr) {
      return Status::InvalidArgument(
          "Operation " + std::string(service) + "." + std::string(name) + " is not supported by this service.",
          "UnknownOperationException");
    }
    return op;
  }

  StatusOr<Document> ParseInput(const ServiceModel& model, const Operation& op,
                                const http::Request& request) const override {
    Document body = Document::object();
    if (!request.body.empty()) {
      GANTRY_ASSIGN_OR_RETURN(body, DecodeCbor(request.body));
      if (!body.is_object()) return Mismatch("", "a map", body);
    }
    if (op.input == nullptr) return Document::object();
    return FromCbor(*op.input, body, "");
  }

  void WriteOutput(const ServiceModel& model, const Operation& op, const Document& output,
                   const std::string& request_id, http::Response& response) const override {
    response.status = 200;
    SetCommonHeaders(request_id, response);
    CborWriter w;
    if (op.output) {
      WriteValue(*op.output, output, w, 0);
    } else {
      w.BeginMap(0);
    }
    response.body = w.Take();
  }

  void WriteError(const ServiceModel* model, const AwsError& error, const std::string& request_id,
                  http::Response& response) const override {
    response.status = error.http_status;
    SetCommonHeaders(request_id, response);
    std::string type = error.code;
    const Shape* shape = nullptr;
    if (model) {
      shape = model->FindErrorByCode(error.code);
      type = ShapeNamespace(*model) + "#" + (shape ? shape->name : error.code);
      if (model->aws_query_compatible()) {
        response.headers.Set("x-amzn-query-error", error.code + (error.sender_fault ? ";Sender" : ";Receiver"));
      }
    }
    // The error shape's modeled members the error carries, written as the shape says.
    std::vector<const MemberRef*> members;
    if (shape && error.members.is_object()) {
      for (const MemberRef& m : shape->members) {
        auto it = error.members.find(m.name);
        if (it != error.members.end() && !it->is_null()) members.push_back(&m);
      }
    }
    CborWriter w;
    w.BeginMap(2 + error.extra.size() + members.size());
    w.Text("__type");
    w.Text(type);
    w.Text("message");
    w.Text(error.message);
    for (const auto& [k, v] : error.extra) {
      w.Text(k);
      w.Text(v);
    }
    for (const MemberRef* m : members) {
      w.Text(m->name);
      WriteValue(*m->shape, error.members[m->name], w, 1);
    }
    response.body = w.Take();
  }
};

}  // namespace

const ProtocolCodec& CborCodec() {
  static const CborProtocolCodec codec;
  return codec;
}

}  // namespace gantry::aws
