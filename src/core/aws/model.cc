#include "core/aws/model.h"

#include <mutex>
#include <nlohmann/json.hpp>

#include "core/aws/embedded_models.h"

namespace gantry::aws {

namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool Bool(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::optional<Protocol> ParseProtocol(std::string_view p) {
  if (p == "json") return Protocol::kJson;
  if (p == "query") return Protocol::kQuery;
  if (p == "rest-json") return Protocol::kRestJson;
  if (p == "rest-xml") return Protocol::kRestXml;
  if (p == "smithy-rpc-v2-cbor") return Protocol::kRpcV2Cbor;
  return std::nullopt;
}

std::optional<ShapeType> ParseShapeType(std::string_view t) {
  static const std::pair<std::string_view, ShapeType> kTypes[] = {
      {"structure", ShapeType::kStructure}, {"list", ShapeType::kList},       {"map", ShapeType::kMap},
      {"string", ShapeType::kString},       {"integer", ShapeType::kInteger}, {"long", ShapeType::kLong},
      {"float", ShapeType::kFloat},         {"double", ShapeType::kDouble},   {"boolean", ShapeType::kBoolean},
      {"timestamp", ShapeType::kTimestamp}, {"blob", ShapeType::kBlob},       {"biginteger", ShapeType::kBigInteger},
      {"bigdecimal", ShapeType::kBigDecimal},
  };
  for (const auto& [name, type] : kTypes) {
    if (name == t) return type;
  }
  return std::nullopt;
}

Location ParseLocation(std::string_view l) {
  if (l == "header") return Location::kHeader;
  if (l == "headers") return Location::kHeaders;
  if (l == "uri") return Location::kUri;
  if (l == "querystring") return Location::kQueryString;
  if (l == "statusCode") return Location::kStatusCode;
  return Location::kBody;
}

}  // namespace

const MemberRef* Shape::FindMember(std::string_view member_name) const {
  for (const auto& m : members) {
    if (m.name == member_name) return &m;
  }
  return nullptr;
}

bool ServiceModel::SupportsProtocol(Protocol p) const {
  for (Protocol q : protocols_) {
    if (q == p) return true;
  }
  return false;
}

const Operation* ServiceModel::FindOperation(std::string_view name) const {
  auto it = operations_.find(name);
  return it == operations_.end() ? nullptr : &it->second;
}

const Shape* ServiceModel::FindShape(std::string_view name) const {
  auto it = shapes_.find(name);
  return it == shapes_.end() ? nullptr : it->second.get();
}

const Shape* ServiceModel::FindErrorByCode(std::string_view code) const {
  auto it = errors_by_code_.find(code);
  return it == errors_by_code_.end() ? nullptr : it->second;
}

StatusOr<std::unique_ptr<ServiceModel>> ServiceModel::Parse(std::string_view service, std::string_view text) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return Status::Internal("embedded model for " + std::string(service) + " is not valid JSON");
  }
  auto model = std::make_unique<ServiceModel>();
  model->service_ = std::string(service);
  const json& meta = root["metadata"];
  if (meta.contains("protocols") && meta["protocols"].is_array()) {
    for (const auto& p : meta["protocols"]) {
      if (auto parsed = ParseProtocol(p.get<std::string>())) model->protocols_.push_back(*parsed);
    }
  }
  if (auto p = ParseProtocol(Str(meta, "protocol"))) {
    if (!model->SupportsProtocol(*p)) model->protocols_.push_back(*p);
  }
  if (model->protocols_.empty()) return Status::Internal("model for " + std::string(service) + " has no protocol");
  model->protocol_ = model->protocols_.front();
  model->api_version_ = Str(meta, "apiVersion");
  model->target_prefix_ = Str(meta, "targetPrefix");
  model->json_version_ = Str(meta, "jsonVersion");
  model->endpoint_prefix_ = Str(meta, "endpointPrefix");
  model->signing_name_ = Str(meta, "signingName");
  if (model->signing_name_.empty()) model->signing_name_ = model->endpoint_prefix_;
  model->xml_namespace_ = Str(meta, "xmlNamespace");
  model->service_id_ = Str(meta, "serviceId");
  model->aws_query_compatible_ = meta.contains("awsQueryCompatible");

  // Pass 1: create every shape so references resolve regardless of order.
  for (const auto& [name, _] : root["shapes"].items()) {
    auto shape = std::make_unique<Shape>();
    shape->name = name;
    model->shapes_.emplace(name, std::move(shape));
  }
  auto resolve_ref = [&](const json& j, MemberRef& ref) -> Status {
    std::string target = Str(j, "shape");
    ref.shape = model->FindShape(target);
    if (ref.shape == nullptr) return Status::Internal("model references unknown shape " + target);
    ref.location = ParseLocation(Str(j, "location"));
    ref.location_name = Str(j, "locationName");
    ref.query_name = Str(j, "queryName");
    ref.timestamp_format = Str(j, "timestampFormat");
    if (auto ns = j.find("xmlNamespace"); ns != j.end() && ns->is_object()) {
      ref.xml_namespace = Str(*ns, "uri");
      ref.xml_namespace_prefix = Str(*ns, "prefix");
    }
    ref.xml_attribute = Bool(j, "xmlAttribute");
    ref.flattened = Bool(j, "flattened");
    ref.idempotency_token = Bool(j, "idempotencyToken");
    ref.json_value = Bool(j, "jsonvalue");
    ref.host_label = Bool(j, "hostLabel");
    ref.streaming = Bool(j, "streaming");
    return Status::Ok();
  };
  // Pass 2: fill shapes.
  for (const auto& [name, j] : root["shapes"].items()) {
    Shape& shape = *model->shapes_.find(name)->second;
    auto type = ParseShapeType(Str(j, "type"));
    if (!type) return Status::Internal("shape " + name + " has unknown type " + Str(j, "type"));
    shape.type = *type;
    shape.flattened = Bool(j, "flattened");
    shape.payload = Str(j, "payload");
    shape.location_name = Str(j, "locationName");
    shape.timestamp_format = Str(j, "timestampFormat");
    shape.pattern = Str(j, "pattern");
    shape.streaming = Bool(j, "streaming");
    shape.document = Bool(j, "document");
    shape.is_union = Bool(j, "union");
    shape.event_stream = Bool(j, "eventstream");
    shape.sensitive = Bool(j, "sensitive");
    if (auto ns = j.find("xmlNamespace"); ns != j.end() && ns->is_object()) shape.xml_namespace = Str(*ns, "uri");
    if (auto it = j.find("min"); it != j.end() && it->is_number()) shape.min = it->get<double>();
    if (auto it = j.find("max"); it != j.end() && it->is_number()) shape.max = it->get<double>();
    if (auto it = j.find("enum"); it != j.end() && it->is_array()) {
      for (const auto& v : *it) shape.enum_values.push_back(v.get<std::string>());
    }
    if (Bool(j, "exception") || j.contains("error")) {
      shape.is_error = true;
      shape.error_code = name;
      if (auto e = j.find("error"); e != j.end() && e->is_object()) {
        if (std::string code = Str(*e, "code"); !code.empty()) shape.error_code = code;
        if (auto s = e->find("httpStatusCode"); s != e->end() && s->is_number()) shape.error_http_status = s->get<int>();
        if (e->contains("senderFault")) shape.sender_fault = Bool(*e, "senderFault");
        else if (shape.error_http_status >= 500) shape.sender_fault = false;
      }
      if (Bool(j, "fault")) shape.sender_fault = false;
    }
    if (auto members = j.find("members"); members != j.end() && members->is_object()) {
      std::vector<std::string> required;
      if (auto r = j.find("required"); r != j.end() && r->is_array()) required = r->get<std::vector<std::string>>();
      for (const auto& [member_name, mj] : members->items()) {
        MemberRef ref;
        ref.name = member_name;
        GANTRY_RETURN_IF_ERROR(resolve_ref(mj, ref));
        ref.required = std::find(required.begin(), required.end(), member_name) != required.end();
        shape.members.push_back(std::move(ref));
      }
    }
    if (auto m = j.find("member"); m != j.end()) GANTRY_RETURN_IF_ERROR(resolve_ref(*m, shape.member));
    if (auto k = j.find("key"); k != j.end()) GANTRY_RETURN_IF_ERROR(resolve_ref(*k, shape.key));
    if (auto v = j.find("value"); v != j.end()) GANTRY_RETURN_IF_ERROR(resolve_ref(*v, shape.value));
    if (shape.is_error) model->errors_by_code_.emplace(shape.error_code, &shape);
  }
  for (const auto& [name, j] : root["operations"].items()) {
    Operation op;
    op.name = name;
    if (auto http = j.find("http"); http != j.end()) {
      if (std::string m = Str(*http, "method"); !m.empty()) op.http_method = m;
      if (std::string u = Str(*http, "requestUri"); !u.empty()) op.request_uri = u;
      if (auto rc = http->find("responseCode"); rc != http->end() && rc->is_number()) op.response_code = rc->get<int>();
    }
    if (auto in = j.find("input"); in != j.end()) {
      op.input = model->FindShape(Str(*in, "shape"));
      op.input_location_name = Str(*in, "locationName");
      if (auto ns = in->find("xmlNamespace"); ns != in->end() && ns->is_object()) op.input_xml_namespace = Str(*ns, "uri");
    }
    if (auto out = j.find("output"); out != j.end()) {
      op.output = model->FindShape(Str(*out, "shape"));
      op.output_location_name = Str(*out, "locationName");
      op.output_result_wrapper = Str(*out, "resultWrapper");
    }
    if (auto errs = j.find("errors"); errs != j.end() && errs->is_array()) {
      for (const auto& e : *errs) {
        if (const Shape* s = model->FindShape(Str(e, "shape"))) op.errors.push_back(s);
      }
    }
    if (auto hc = j.find("httpChecksum"); hc != j.end() && hc->is_object()) {
      op.http_checksum_required = Bool(*hc, "requestChecksumRequired");
    }
    op.no_auth = Str(j, "authtype") == "none";
    model->operations_.emplace(name, std::move(op));
  }
  return model;
}

struct ModelRegistry::Entry {
  const EmbeddedModel* embedded;
  std::once_flag once;
  std::unique_ptr<ServiceModel> model;
};

ModelRegistry::ModelRegistry() {
  for (size_t i = 0; i < kEmbeddedModelCount; ++i) {
    auto entry = std::make_unique<Entry>();
    entry->embedded = &kEmbeddedModels[i];
    entries_.push_back(std::move(entry));
  }
}

ModelRegistry& ModelRegistry::Instance() {
  static ModelRegistry registry;
  return registry;
}

const ServiceModel* ModelRegistry::Get(std::string_view service) {
  for (auto& entry : entries_) {
    if (service != entry->embedded->service) continue;
    std::call_once(entry->once, [&] {
      auto parsed = ServiceModel::Parse(entry->embedded->service, entry->embedded->json);
      if (parsed.ok()) entry->model = std::move(parsed).value();
    });
    return entry->model.get();
  }
  return nullptr;
}

const ServiceModel* ModelRegistry::FindBySigningName(std::string_view signing_name) {
  for (auto& entry : entries_) {
    if (signing_name == entry->embedded->signing_name || signing_name == entry->embedded->endpoint_prefix) {
      return Get(entry->embedded->service);
    }
  }
  return nullptr;
}

const ServiceModel* ModelRegistry::FindByTargetPrefix(std::string_view target_prefix) {
  for (auto& entry : entries_) {
    if (*entry->embedded->target_prefix && target_prefix == entry->embedded->target_prefix) {
      return Get(entry->embedded->service);
    }
  }
  return nullptr;
}

std::vector<std::string> ModelRegistry::ServiceNames() const {
  std::vector<std::string> names;
  for (const auto& entry : entries_) names.emplace_back(entry->embedded->service);
  return names;
}

}  // namespace gantry::aws
