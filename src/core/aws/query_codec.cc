// awsQuery (STS, IAM, CloudFormation, CloudWatch's query protocol): form-encoded parameters in,
// XML out. Parameter names follow botocore's QuerySerializer: structure members by wire name joined
// with '.', lists as Name.member.N (1-based; Name.N when flattened, the list member's locationName
// replacing "member" or, when flattened, the last name), maps as Name.entry.N.key/.value (flattened:
// Name.N.key/.value), an empty list as "Name=". Stateless; thread-safe.
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "core/aws/codecs.h"
#include "core/aws/xml.h"
#include "core/common/strings.h"

namespace gantry::aws {

namespace {

using Params = std::map<std::string, std::string, std::less<>>;

constexpr int kMaxDepth = 64;

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

void AddForm(std::string_view text, Params& params) {
  for (auto& [k, v] : http::ParseUrlEncoded(text)) params[std::move(k)] = std::move(v);
}

// Query string parameters, then (POST) form body parameters, which win.
Params CollectParams(const http::Request& request) {
  Params params;
  AddForm(request.query, params);
  std::string_view content_type = request.headers.Get("Content-Type");
  if (!request.body.empty() &&
      (content_type.empty() || StartsWith(ToLower(content_type), "application/x-www-form-urlencoded"))) {
    AddForm(request.body, params);
  }
  return params;
}

// Whether any parameter is `name` itself or lies under "name.".
bool HasUnder(const Params& params, const std::string& prefix) {
  std::string dotted = prefix + ".";
  auto it = params.lower_bound(dotted);
  return it != params.end() && StartsWith(it->first, dotted);
}

// The 1-based indices N of parameters named "prefix.N" or "prefix.N.*", ascending.
std::set<long> IndicesUnder(const Params& params, const std::string& prefix) {
  std::set<long> out;
  std::string dotted = prefix + ".";
  for (auto it = params.lower_bound(dotted); it != params.end() && StartsWith(it->first, dotted); ++it) {
    std::string_view rest = std::string_view(it->first).substr(dotted.size());
    std::string_view digits = rest.substr(0, rest.find('.'));
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos) continue;
    long n = std::strtol(std::string(digits).c_str(), nullptr, 10);
    if (n > 0) out.insert(n);
  }
  return out;
}

StatusOr<std::optional<Document>> ParseValue(const Params& params, const MemberRef* ref, const Shape& shape,
                                             const std::string& prefix, int depth);

StatusOr<std::optional<Document>> ParseStructure(const Params& params, const Shape& shape, const std::string& prefix,
                                                 int depth) {
  if (!prefix.empty() && !HasUnder(params, prefix)) return std::optional<Document>();
  Document out = Document::object();
  for (const MemberRef& m : shape.members) {
    std::string name = SerializedName(m, m.name);
    if (!prefix.empty()) name = prefix + "." + name;
    GANTRY_ASSIGN_OR_RETURN(std::optional<Document> v, ParseValue(params, &m, *m.shape, name, depth + 1));
    if (v) out[m.name] = std::move(*v);
  }
  if (!prefix.empty() && out.empty()) return std::optional<Document>();
  return std::optional<Document>(std::move(out));
}

StatusOr<std::optional<Document>> ParseList(const Params& params, const MemberRef* ref, const Shape& shape,
                                            const std::string& prefix, int depth) {
  const MemberRef& item = shape.member;
  std::string item_name = SerializedName(item, "");
  std::string list_prefix;
  if ((ref && ref->flattened) || shape.flattened) {
    list_prefix = prefix;
    if (!item_name.empty()) {
      size_t dot = prefix.rfind('.');
      list_prefix = dot == std::string::npos ? item_name : prefix.substr(0, dot + 1) + item_name;
    }
  } else {
    list_prefix = prefix + "." + (item_name.empty() ? std::string("member") : item_name);
  }
  std::set<long> indices = IndicesUnder(params, list_prefix);
  if (indices.empty()) {
    // "Name=" is how botocore sends an empty list.
    if (auto it = params.find(prefix); it != params.end() && it->second.empty()) {
      return std::optional<Document>(Document::array());
    }
    return std::optional<Document>();
  }
  Document items = Document::array();
  for (long n : indices) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<Document> v,
                            ParseValue(params, &item, *item.shape, list_prefix + "." + std::to_string(n), depth + 1));
    if (v) items.push_back(std::move(*v));
  }
  return std::optional<Document>(std::move(items));
}

StatusOr<std::optional<Document>> ParseMap(const Params& params, const MemberRef* ref, const Shape& shape,
                                           const std::string& prefix, int depth) {
  std::string full_prefix = (ref && ref->flattened) || shape.flattened ? prefix : prefix + ".entry";
  std::string key_suffix = SerializedName(shape.key, "key");
  std::string value_suffix = SerializedName(shape.value, "value");
  std::set<long> indices = IndicesUnder(params, full_prefix);
  if (indices.empty()) return std::optional<Document>();
  Document out = Document::object();
  for (long n : indices) {
    std::string entry = full_prefix + "." + std::to_string(n) + ".";
    auto key = params.find(entry + key_suffix);
    if (key == params.end()) continue;
    GANTRY_ASSIGN_OR_RETURN(std::optional<Document> v,
                            ParseValue(params, &shape.value, *shape.value.shape, entry + value_suffix, depth + 1));
    if (v) out[key->second] = std::move(*v);
  }
  return std::optional<Document>(std::move(out));
}

StatusOr<std::optional<Document>> ParseValue(const Params& params, const MemberRef* ref, const Shape& shape,
                                             const std::string& prefix, int depth) {
  if (depth > kMaxDepth) return std::optional<Document>();
  switch (shape.type) {
    case ShapeType::kStructure: return ParseStructure(params, shape, prefix, depth);
    case ShapeType::kList: return ParseList(params, ref, shape, prefix, depth);
    case ShapeType::kMap: return ParseMap(params, ref, shape, prefix, depth);
    default: {
      auto it = params.find(prefix);
      if (it == params.end()) return std::optional<Document>();
      GANTRY_ASSIGN_OR_RETURN(Document v, ScalarFromText(shape, it->second, prefix));
      return std::optional<Document>(std::move(v));
    }
  }
}

class QueryProtocolCodec final : public ProtocolCodec {
 public:
  StatusOr<const Operation*> ResolveOperation(const ServiceModel& model, const http::Request& request) const override {
    Params params = CollectParams(request);
    auto action = params.find("Action");
    if (action == params.end() || action->second.empty()) {
      return Status::InvalidArgument("Missing Action", "MissingAction");
    }
    const Operation* op = model.FindOperation(action->second);
    if (op == nullptr) {
      auto version = params.find("Version");
      return Status::InvalidArgument("Could not find operation " + action->second + " for version " +
                                         (version == params.end() ? model.api_version() : version->second),
                                     "InvalidAction");
    }
    return op;
  }

  StatusOr<Document> ParseInput(const ServiceModel& model, const Operation& op,
                                const http::Request& request) const override {
    if (op.input == nullptr) return Document::object();
    Params params = CollectParams(request);
    GANTRY_ASSIGN_OR_RETURN(std::optional<Document> input, ParseStructure(params, *op.input, "", 0));
    return input ? std::move(*input) : Document::object();
  }

  void WriteOutput(const ServiceModel& model, const Operation& op, const Document& output,
                   const std::string& request_id, http::Response& response) const override {
    XmlWriter w;
    w.Start(op.name + "Response");
    w.Attribute("xmlns", ServiceXmlNamespace(model));
    if (op.output != nullptr) {
      if (!op.output_result_wrapper.empty()) w.Start(op.output_result_wrapper);
      WriteXmlMembers(w, *op.output, output, /*body_only=*/false);
      if (!op.output_result_wrapper.empty()) w.End();
    }
    w.Start("ResponseMetadata");
    w.Element("RequestId", request_id);
    w.End();
    response.status = 200;
    response.body = w.Finish();
    response.headers.Set("Content-Type", "text/xml");
    response.headers.Set("x-amzn-RequestId", request_id);
  }

  void WriteError(const ServiceModel* model, const AwsError& error, const std::string& request_id,
                  http::Response& response) const override {
    response.status = error.http_status;
    response.body = QueryStyleErrorXml(model, error, request_id);
    response.headers.Set("Content-Type", "text/xml");
    response.headers.Set("x-amzn-RequestId", request_id);
  }
};

}  // namespace

const ProtocolCodec& QueryCodec() {
  static const QueryProtocolCodec codec;
  return codec;
}

}  // namespace gantry::aws
