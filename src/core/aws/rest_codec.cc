// restJson1 (X-Ray, AppConfig, ...) and restXml (S3): the REST protocols. They share routing (method
// plus the requestUri template with {Label} and greedy {Key+} labels and literal query parts), the
// located members (uri, querystring, header, headers prefix maps, statusCode) and the payload rules;
// they differ only in the body document (JSON or XML), the error shape and the request-id headers.
// Wire behaviour mirrors botocore's RestJSON/RestXML serializers and parsers. Stateless; thread-safe.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <set>

#include "core/aws/codecs.h"
#include "core/aws/json_values.h"
#include "core/aws/xml.h"
#include "core/common/strings.h"

namespace gantry::aws {

// The bucket named by a virtual-hosted-style S3 host (bucket.s3.localhost.localstack.cloud[:port],
// bucket.localhost[:port], bucket.s3[.-]<region>.amazonaws.com, bucket.s3.amazonaws.com), lower
// case; nullopt for path-style hosts.

namespace {

constexpr int kMaxDepth = 64;
// Bodies that are parsed (JSON, XML, non-streaming payloads) are read from a spooled file up to this.
constexpr size_t kMaxParsedBody = 64 << 20;

using Labels = std::vector<std::pair<std::string, std::string>>;
using QueryParams = std::vector<std::pair<std::string, std::string>>;

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// ---------------------------------------------------------------------------------------------
// Routing.

struct UriTemplate {
  struct Part {
    bool label = false;
    bool greedy = false;
    std::string text;  // literal text, or the label name
  };
  std::vector<Part> path;
  std::vector<std::pair<std::string, std::optional<std::string>>> query;  // literal "?k=v" / "?k" parts
  size_t literal_chars = 0;
};

UriTemplate ParseTemplate(std::string_view uri) {
  UriTemplate t;
  size_t q = uri.find('?');
  std::string_view path = uri.substr(0, q);
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '{') {
      size_t close = path.find('}', i);
      if (close == std::string_view::npos) break;
      UriTemplate::Part p;
      p.label = true;
      p.text = std::string(path.substr(i + 1, close - i - 1));
      if (!p.text.empty() && p.text.back() == '+') {
        p.greedy = true;
        p.text.pop_back();
      }
      t.path.push_back(std::move(p));
      i = close + 1;
    } else {
      size_t next = path.find('{', i);
      if (next == std::string_view::npos) next = path.size();
      UriTemplate::Part p;
      p.text = std::string(path.substr(i, next - i));
      t.literal_chars += p.text.size();
      t.path.push_back(std::move(p));
      i = next;
    }
  }
  if (q != std::string_view::npos) {
    for (std::string_view part : Split(uri.substr(q + 1), '&')) {
      if (part.empty()) continue;
      size_t eq = part.find('=');
      t.literal_chars += part.size();
      if (eq == std::string_view::npos) {
        t.query.emplace_back(std::string(part), std::nullopt);
      } else {
        t.query.emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
      }
    }
  }
  return t;
}

// Matches the raw (still percent-encoded) path; label values are raw. Labels are non-empty; plain
// labels stop at '/', greedy ones take the longest match.
bool MatchPath(const std::vector<UriTemplate::Part>& parts, size_t index, std::string_view path, size_t pos,
               Labels& labels) {
  if (index == parts.size()) return pos == path.size();
  const UriTemplate::Part& p = parts[index];
  if (!p.label) {
    if (path.substr(pos, p.text.size()) != p.text) return false;
    return MatchPath(parts, index + 1, path, pos + p.text.size(), labels);
  }
  size_t limit = p.greedy ? path.size() : std::min(path.find('/', pos), path.size());
  for (size_t end = limit; end > pos; --end) {
    labels.emplace_back(p.text, std::string(path.substr(pos, end - pos)));
    if (MatchPath(parts, index + 1, path, end, labels)) return true;
    labels.pop_back();
  }
  return false;
}

bool QueryLiteralsPresent(const UriTemplate& t, const QueryParams& params) {
  for (const auto& [key, value] : t.query) {
    bool found = false;
    for (const auto& [k, v] : params) {
      if (k == key && (!value || v == *value)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

// Matches `path`, then the same without a trailing '/' (clients differ on "/bucket/" vs "/bucket").
bool MatchTemplate(const UriTemplate& t, std::string_view path, Labels& labels) {
  labels.clear();
  if (MatchPath(t.path, 0, path, 0, labels)) return true;
  labels.clear();
  if (path.size() > 1 && path.back() == '/') return MatchPath(t.path, 0, path.substr(0, path.size() - 1), 0, labels);
  return false;
}

bool IsS3(const ServiceModel& model) { return model.endpoint_prefix() == "s3"; }

// Operations that share a route with another and lose the tie: botocore marks the first four
// deprecated (their *Configuration successors answer the same request); ListDirectoryBuckets is
// served on the S3 Express control endpoint, never on the one ListBuckets answers. The compact
// model drops both markers.
bool IsShadowed(std::string_view operation) {
  static constexpr std::string_view kShadowed[] = {"GetBucketLifecycle", "PutBucketLifecycle", "GetBucketNotification",
                                                   "PutBucketNotification", "ListDirectoryBuckets"};
  return std::find(std::begin(kShadowed), std::end(kShadowed), operation) != std::end(kShadowed);
}

// The request path with a virtual-hosted S3 bucket moved into it, so one set of templates routes both.
std::string EffectivePath(const ServiceModel& model, const http::Request& request, bool xml) {
  std::string path = request.path.empty() || request.path[0] != '/' ? "/" + request.path : request.path;
  if (xml && IsS3(model)) {
    if (auto bucket = ExtractVirtualHostBucket(request.headers.Get("Host"))) {
      return "/" + UriEncode(*bucket) + (path == "/" ? "" : path);
    }
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// Scalars in headers.

std::string SanitizeHeaderValue(std::string value) {
  for (char& c : value) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return value;
}

bool IsHeaderToken(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7f || std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// A header list as botocore writes it: comma-separated, items with ',' or '"' double-quoted.
std::vector<std::string> SplitHeaderList(std::string_view value) {
  std::vector<std::string> items;
  std::string current;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted) {
      if (c == '\\' && i + 1 < value.size()) current += value[++i];
      else if (c == '"') quoted = false;
      else current += c;
    } else if (c == '"' && Trim(current).empty()) {
      current.clear();
      quoted = was_quoted = true;
    } else if (c == ',') {
      items.push_back(was_quoted ? current : std::string(Trim(current)));
      current.clear();
      was_quoted = false;
    } else if (!(was_quoted && (c == ' ' || c == '\t'))) {
      current += c;
    }
  }
  items.push_back(was_quoted ? current : std::string(Trim(current)));
  return items;
}

StatusOr<Document> HeaderToDocument(const MemberRef& m, std::string_view raw) {
  const Shape& shape = *m.shape;
  std::string_view text = Trim(raw);
  if (m.json_value) {
    auto decoded = Base64Decode(text);
    if (decoded) {
      Document v = Document::parse(*decoded, nullptr, /*allow_exceptions=*/false);
      if (!v.is_discarded()) return v;
    }
    return Status::InvalidArgument("Value at '" + m.name + "' must be base64-encoded JSON");
  }
  if (shape.type == ShapeType::kList) {
    Document items = Document::array();
    for (const std::string& item : SplitHeaderList(text)) {
      GANTRY_ASSIGN_OR_RETURN(Document v, ScalarFromText(*shape.member.shape, item, m.name));
      items.push_back(std::move(v));
    }
    return items;
  }
  return ScalarFromText(shape, text, m.name);
}

std::string DocumentToHeader(const MemberRef& m, const Document& value) {
  const Shape& shape = *m.shape;
  if (m.json_value) return Base64Encode(value.dump(-1, ' ', false, Document::error_handler_t::replace));
  if (shape.type == ShapeType::kList && value.is_array()) {
    std::string out;
    for (const Document& item : value) {
      if (!out.empty()) out += ",";
      const Shape& item_shape = *shape.member.shape;
      out += ScalarToText(item_shape, item, TimestampFormatFor(&shape.member, item_shape, TimestampFormat::kRfc822));
    }
    return out;
  }
  return ScalarToText(shape, value, TimestampFormatFor(&m, shape, TimestampFormat::kRfc822));
}

// ---------------------------------------------------------------------------------------------
// Shared REST request/response handling.

bool HasBodyMembers(const Shape& shape) {
  for (const MemberRef& m : shape.members) {
    if (m.location == Location::kBody) return true;
  }
  return false;
}

bool IsStreaming(const MemberRef& m) { return m.streaming || m.shape->streaming || m.shape->event_stream; }

StatusOr<std::string> BodyText(const http::Request& request) {
  if (!request.body.empty() || request.body_file.empty()) return request.body;
  std::ifstream in(request.body_file, std::ios::binary);
  if (!in) return Status::Internal("cannot read the spooled request body");
  std::string body;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    body.append(buf, static_cast<size_t>(in.gcount()));
    if (body.size() > kMaxParsedBody) return Status::ResourceExhausted("Request body is too large");
  }
  return body;
}

// S3 names its response root elements by API, not by shape; the model does not carry them.
std::string_view S3RootElement(std::string_view operation) {
  static const std::pair<std::string_view, std::string_view> kRoots[] = {
      {"ListBuckets", "ListAllMyBucketsResult"},
      {"ListObjects", "ListBucketResult"},
      {"ListObjectsV2", "ListBucketResult"},
      {"ListObjectVersions", "ListVersionsResult"},
      {"ListMultipartUploads", "ListMultipartUploadsResult"},
      {"ListParts", "ListPartsResult"},
      {"DeleteObjects", "DeleteResult"},
      {"CreateMultipartUpload", "InitiateMultipartUploadResult"},
      {"CompleteMultipartUpload", "CompleteMultipartUploadResult"},
      {"GetBucketTagging", "Tagging"},
      {"GetObjectTagging", "Tagging"},
      {"GetBucketVersioning", "VersioningConfiguration"},
      {"GetBucketAcl", "AccessControlPolicy"},
      {"GetObjectAcl", "AccessControlPolicy"},
      {"GetBucketLocation", "LocationConstraint"},
      {"GetBucketLifecycleConfiguration", "LifecycleConfiguration"},
      {"GetBucketNotificationConfiguration", "NotificationConfiguration"},
      {"GetBucketCors", "CORSConfiguration"},
      {"GetBucketWebsite", "WebsiteConfiguration"},
      {"GetBucketLogging", "BucketLoggingStatus"},
      {"GetBucketRequestPayment", "RequestPaymentConfiguration"},
      {"GetBucketAccelerateConfiguration", "AccelerateConfiguration"},
      {"GetObjectAttributes", "GetObjectAttributesResponse"},
  };
  for (const auto& [op, root] : kRoots) {
    if (op == operation) return root;
  }
  return {};
}

std::string XmlNamespaceFor(const ServiceModel* model) {
  if (model == nullptr || IsS3(*model)) {
    return "http://s3.amazonaws.com/doc/" + (model ? model->api_version() : std::string("2006-03-01")) + "/";
  }
  return ServiceXmlNamespace(*model);
}

void SetRequestIdHeaders(const ServiceModel* model, bool xml, const std::string& request_id, http::Response& response) {
  if (xml && (model == nullptr || IsS3(*model))) {
    response.headers.Set("x-amz-request-id", request_id);
    response.headers.Set("x-amz-id-2", Base64Encode(request_id));
  } else {
    response.headers.Set("x-amzn-RequestId", request_id);
  }
}

class RestProtocolCodec final : public ProtocolCodec {
 public:
  explicit RestProtocolCodec(bool xml) : xml_(xml) {}

  // The operation whose method, path template and literal query parts match. Several can match
  // (S3's PutObject, UploadPart, CopyObject and UploadPartCopy share PUT /{Bucket}/{Key+}): the one
  // with more literal characters wins, then the one with more of its required query-string and header
  // members present; one missing such a member loses to one that lacks none; see also IsShadowed.
  StatusOr<const Operation*> ResolveOperation(const ServiceModel& model, const http::Request& request) const override {
    std::string path = EffectivePath(model, request, xml_);
    QueryParams params = request.QueryParams();
    struct Candidate {
      const Operation* op = nullptr;
      bool complete = false;
      size_t literal_chars = 0, required_present = 0;
      bool shadowed = false;
      bool operator<(const Candidate& o) const {
        if (complete != o.complete) return !complete;
        if (literal_chars != o.literal_chars) return literal_chars < o.literal_chars;
        if (required_present != o.required_present) return required_present < o.required_present;
        return shadowed && !o.shadowed;
      }
    };
    Candidate best;
    bool path_matched = false;
    Labels labels;
    for (const auto& [name, op] : model.operations()) {
      UriTemplate t = ParseTemplate(op.request_uri);
      if (!MatchTemplate(t, path, labels)) continue;
      path_matched = true;
      if (op.http_method != request.method || !QueryLiteralsPresent(t, params)) continue;
      Candidate c{&op, true, t.literal_chars, 0, IsShadowed(name)};
      if (op.input) {
        for (const MemberRef& m : op.input->members) {
          if (!m.required || (m.location != Location::kQueryString && m.location != Location::kHeader)) continue;
          std::string wire = SerializedName(m, m.name);
          bool present = m.location == Location::kHeader
                             ? request.headers.Has(wire)
                             : std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == wire; });
          if (present) ++c.required_present;
          else c.complete = false;
        }
      }
      if (best.op == nullptr || best < c) best = c;
    }
    if (best.op) return best.op;
    if (xml_ && (IsS3(model) || path_matched)) {
      return Status::InvalidArgument("The specified method is not allowed against this resource.", "MethodNotAllowed")
          .WithHttpStatus(405);
    }
    return Status::NotFound("No operation of " + model.service_id() + " matches " + request.method + " " + path,
                            "UnknownOperationException")
        .WithHttpStatus(404);
  }

  StatusOr<Document> ParseInput(const ServiceModel& model, const Operation& op,
                                const http::Request& request) const override {
    Document out = Document::object();
    if (op.input == nullptr) return out;
    const Shape& input = *op.input;
    UriTemplate t = ParseTemplate(op.request_uri);
    Labels labels;
    MatchTemplate(t, EffectivePath(model, request, xml_), labels);
    QueryParams params = request.QueryParams();
    std::set<std::string> claimed;
    for (const auto& [key, value] : t.query) claimed.insert(key);
    const MemberRef* query_map = nullptr;

    for (const MemberRef& m : input.members) {
      const Shape& shape = *m.shape;
      std::string wire = SerializedName(m, m.name);
      switch (m.location) {
        case Location::kUri: {
          for (const auto& [label, raw] : labels) {
            if (label != wire) continue;
            auto decoded = UriDecode(raw);
            GANTRY_ASSIGN_OR_RETURN(out[m.name], ScalarFromText(shape, decoded ? *decoded : raw, m.name));
            break;
          }
          break;
        }
        case Location::kQueryString: {
          if (shape.type == ShapeType::kMap) {
            query_map = &m;
            break;
          }
          claimed.insert(wire);
          if (shape.type == ShapeType::kList) {
            Document items = Document::array();
            for (const auto& [k, v] : params) {
              if (k != wire) continue;
              GANTRY_ASSIGN_OR_RETURN(Document item, ScalarFromText(*shape.member.shape, v, m.name));
              items.push_back(std::move(item));
            }
            if (!items.empty()) out[m.name] = std::move(items);
            break;
          }
          for (const auto& [k, v] : params) {
            if (k != wire) continue;
            GANTRY_ASSIGN_OR_RETURN(out[m.name], ScalarFromText(shape, v, m.name));
            break;
          }
          break;
        }
        case Location::kHeader: {
          if (!request.headers.Has(wire)) break;
          GANTRY_ASSIGN_OR_RETURN(out[m.name], HeaderToDocument(m, request.headers.Get(wire)));
          break;
        }
        case Location::kHeaders: {
          std::string prefix = ToLower(m.location_name);
          Document map = Document::object();
          for (const auto& [name, value] : request.headers.fields()) {
            std::string lower = ToLower(name);
            if (lower.size() <= prefix.size() || !StartsWith(lower, prefix)) continue;
            // S3 stores metadata names in lower case and returns them so.
            GANTRY_ASSIGN_OR_RETURN(map[lower.substr(prefix.size())],
                                    ScalarFromText(*shape.value.shape, Trim(value), m.name));
          }
          if (!map.empty()) out[m.name] = std::move(map);
          break;
        }
        case Location::kStatusCode:
        case Location::kBody: break;
      }
    }
    // A map-of-strings querystring member (without a locationName) takes the parameters no other
    // member claimed; values of a map of lists collect repeats.
    if (query_map) {
      const Shape& value_shape = *query_map->shape->value.shape;
      Document map = Document::object();
      for (const auto& [k, v] : params) {
        if (claimed.count(k)) continue;
        if (value_shape.type == ShapeType::kList) {
          GANTRY_ASSIGN_OR_RETURN(Document item, ScalarFromText(*value_shape.member.shape, v, query_map->name));
          map[k].push_back(std::move(item));
        } else if (!map.contains(k)) {
          GANTRY_ASSIGN_OR_RETURN(map[k], ScalarFromText(value_shape, v, query_map->name));
        }
      }
      if (!map.empty()) out[query_map->name] = std::move(map);
    }
    GANTRY_RETURN_IF_ERROR(ParseBody(op, request, out));
    return out;
  }

  void WriteOutput(const ServiceModel& model, const Operation& op, const Document& output,
                   const std::string& request_id, http::Response& response) const override {
    response.status = op.response_code;
    response.body.clear();
    const Shape* shape = op.output;
    if (shape != nullptr && output.is_object()) {
      WriteBody(model, op, *shape, output, response);
      for (const MemberRef& m : shape->members) {
        auto it = output.find(m.name);
        if (it == output.end() || it->is_null()) continue;
        switch (m.location) {
          case Location::kHeader:
            response.headers.Set(SerializedName(m, m.name), SanitizeHeaderValue(DocumentToHeader(m, *it)));
            break;
          case Location::kHeaders:
            if (!it->is_object()) break;
            for (const auto& [k, v] : it->items()) {
              std::string name = m.location_name + k;
              if (!IsHeaderToken(name) || v.is_null()) continue;
              response.headers.Set(name, SanitizeHeaderValue(ScalarToText(*m.shape->value.shape, v,
                                                                          TimestampFormat::kRfc822)));
            }
            break;
          case Location::kStatusCode:
            if (it->is_number_integer()) response.status = it->get<int>();
            break;
          default: break;
        }
      }
    }
    SetRequestIdHeaders(&model, xml_, request_id, response);
  }

  void WriteError(const ServiceModel* model, const AwsError& error, const std::string& request_id,
                  http::Response& response) const override {
    response.status = error.http_status;
    SetRequestIdHeaders(model, xml_, request_id, response);
    if (xml_) {
      if (model == nullptr || IsS3(*model)) {
        XmlWriter w(/*declaration=*/true);
        w.Start("Error");
        w.Element("Code", error.code);
        w.Element("Message", error.message);
        for (const auto& [name, value] : error.extra) w.Element(name, value);
        const Shape* shape = model && error.members.is_object() ? model->FindErrorByCode(error.code) : nullptr;
        if (shape) WriteXmlMembers(w, *shape, error.members, /*body_only=*/true);
        w.Element("RequestId", request_id);
        w.Element("HostId", Base64Encode(request_id));
        response.body = w.Finish();
      } else {
        response.body = QueryStyleErrorXml(model, error, request_id, /*declaration=*/true);
      }
      response.headers.Set("Content-Type", "application/xml");
      return;
    }
    // botocore takes the code from x-amzn-ErrorType and the message from "message" or "Message";
    // the key follows the error shape so that its modeled Message member is filled too.
    const Shape* shape = model ? model->FindErrorByCode(error.code) : nullptr;
    auto key_for = [&](const std::string& name) {
      if (shape) {
        for (const MemberRef& m : shape->members) {
          std::string wire = SerializedName(m, m.name);
          if (EqualsIgnoreCase(wire, name)) return wire;
        }
      }
      return name;
    };
    Document body = Document::object();
    body[key_for("message")] = error.message;
    for (const auto& [name, value] : error.extra) body[key_for(name)] = value;
    if (shape && error.members.is_object()) body.update(DocumentToJson(*shape, error.members, /*wire_names=*/true));
    response.body = body.dump(-1, ' ', false, Document::error_handler_t::replace);
    response.headers.Set("Content-Type", "application/json");
    response.headers.Set("x-amzn-ErrorType", error.code);
  }

 private:
  // The body: the payload member alone, or the members without a location. A streaming payload
  // (S3 PutObject's Body) is never read into the Document: the handler reads request.body or
  // request.body_file itself, so objects of any size stream straight to storage.
  Status ParseBody(const Operation& op, const http::Request& request, Document& out) const {
    const Shape& input = *op.input;
    if (!input.payload.empty()) {
      const MemberRef* p = input.FindMember(input.payload);
      if (p == nullptr || IsStreaming(*p)) return Status::Ok();
      GANTRY_ASSIGN_OR_RETURN(std::string body, BodyText(request));
      const Shape& ps = *p->shape;
      if (ps.type == ShapeType::kBlob) {
        if (!body.empty()) out[p->name] = Document::binary(std::vector<uint8_t>(body.begin(), body.end()));
        return Status::Ok();
      }
      if (ps.type == ShapeType::kString) {
        if (!body.empty()) out[p->name] = std::move(body);
        return Status::Ok();
      }
      if (Trim(body).empty()) return Status::Ok();
      if (xml_) {
        GANTRY_ASSIGN_OR_RETURN(out[p->name], ParseXml(body, ps));
      } else {
        Document wire = Document::parse(body, nullptr, /*allow_exceptions=*/false);
        if (wire.is_discarded()) return Status::InvalidArgument("The request body is not valid JSON", "SerializationException");
        GANTRY_ASSIGN_OR_RETURN(out[p->name], JsonToDocument(ps, wire, p->name, /*wire_names=*/true));
      }
      if (out[p->name].is_null()) out.erase(p->name);
      return Status::Ok();
    }
    if (!HasBodyMembers(input)) return Status::Ok();
    GANTRY_ASSIGN_OR_RETURN(std::string body, BodyText(request));
    if (Trim(body).empty()) return Status::Ok();
    Document members;
    if (xml_) {
      GANTRY_ASSIGN_OR_RETURN(members, ParseXml(body, input, {}, /*body_only=*/true));
    } else {
      Document wire = Document::parse(body, nullptr, /*allow_exceptions=*/false);
      if (wire.is_discarded()) return Status::InvalidArgument("The request body is not valid JSON", "SerializationException");
      GANTRY_ASSIGN_OR_RETURN(members, JsonToDocument(input, wire, "", /*wire_names=*/true));
    }
    if (!members.is_object()) return Status::Ok();
    for (auto& [k, v] : members.items()) out[k] = std::move(v);
    return Status::Ok();
  }

  // The body of a response. An absent streaming payload writes nothing: the handler sets
  // Response.body_file.
  void WriteBody(const ServiceModel& model, const Operation& op, const Shape& shape, const Document& output,
                 http::Response& response) const {
    if (!shape.payload.empty()) {
      const MemberRef* p = shape.FindMember(shape.payload);
      if (p == nullptr) return;
      auto it = output.find(p->name);
      if (it == output.end() || it->is_null()) return;
      const Shape& ps = *p->shape;
      if (ps.type == ShapeType::kBlob) {
        if (it->is_binary()) response.body.assign(it->get_binary().begin(), it->get_binary().end());
        else if (it->is_string()) response.body = it->get<std::string>();
        response.headers.Set("Content-Type", "application/octet-stream");
      } else if (ps.type == ShapeType::kString) {
        response.body = it->is_string() ? it->get<std::string>() : it->dump();
        response.headers.Set("Content-Type", "text/plain");
      } else if (xml_) {
        XmlWriter w(/*declaration=*/true);
        WriteXmlValue(w, SerializedName(*p, p->name), p, ps, *it, XmlNamespaceFor(&model));
        response.body = w.Finish();
        response.headers.Set("Content-Type", "application/xml");
      } else {
        response.body = DocumentToJson(ps, *it, /*wire_names=*/true, p).dump(-1, ' ', false, Document::error_handler_t::replace);
        response.headers.Set("Content-Type", "application/json");
      }
      return;
    }
    if (!HasBodyMembers(shape)) return;
    if (!xml_) {
      response.body = DocumentToJson(shape, output, /*wire_names=*/true)
                          .dump(-1, ' ', false, Document::error_handler_t::replace);
      response.headers.Set("Content-Type", "application/json");
      return;
    }
    std::string root = op.output_location_name;
    if (root.empty()) root = shape.location_name;
    if (root.empty() && IsS3(model)) root = std::string(S3RootElement(op.name));
    if (root.empty()) root = op.name + "Result";
    Document body = Document::object();
    const MemberRef* only = nullptr;
    size_t body_members = 0;
    for (const MemberRef& m : shape.members) {
      if (m.location != Location::kBody) continue;
      ++body_members;
      only = &m;
      if (auto it = output.find(m.name); it != output.end()) body[m.name] = *it;
    }
    XmlWriter w(/*declaration=*/true);
    if (body_members == 1 && only->shape->type != ShapeType::kStructure && only->shape->type != ShapeType::kList &&
        only->shape->type != ShapeType::kMap && XmlMemberName(*only) == root) {
      // The root is the member itself (S3 GetBucketLocation: <LocationConstraint>region</...>).
      w.Start(root);
      w.Attribute("xmlns", XmlNamespaceFor(&model));
      if (auto it = body.find(only->name); it != body.end() && !it->is_null()) {
        w.Text(ScalarToText(*only->shape, *it, TimestampFormatFor(only, *only->shape, TimestampFormat::kIso8601)));
      }
      w.End();
    } else {
      WriteXmlValue(w, root, nullptr, shape, body, XmlNamespaceFor(&model));
    }
    response.body = w.Finish();
    response.headers.Set("Content-Type", "application/xml");
  }

  bool xml_;
};

bool IsBucketChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::optional<std::string> ExtractVirtualHostBucket(std::string_view host) {
  std::string h = ToLower(Trim(host));
  if (h.empty() || h[0] == '[') return std::nullopt;
  if (size_t colon = h.rfind(':'); colon != std::string::npos) {
    std::string_view port = std::string_view(h).substr(colon + 1);
    if (port.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    h.resize(colon);
  }
  if (!h.empty() && h.back() == '.') h.pop_back();
  std::string bucket;
  static constexpr std::string_view kSuffixes[] = {".s3.localhost.localstack.cloud", ".localhost"};
  for (std::string_view suffix : kSuffixes) {
    if (EndsWith(h, suffix)) {
      bucket = h.substr(0, h.size() - suffix.size());
      break;
    }
  }
  if (bucket.empty() && EndsWith(h, ".amazonaws.com")) {
    // bucket.s3 | bucket.s3-<region> | bucket.s3.<region> | bucket.s3.dualstack.<region>
    std::string_view rest = std::string_view(h).substr(0, h.size() - std::string_view(".amazonaws.com").size());
    std::vector<std::string_view> labels = Split(rest, '.');
    size_t n = labels.size();
    if (n >= 2 && (labels[n - 1] == "s3" || StartsWith(labels[n - 1], "s3-"))) {
      bucket = rest.substr(0, rest.size() - labels[n - 1].size() - 1);
    } else if (n >= 3 && labels[n - 2] == "s3") {
      bucket = rest.substr(0, rest.size() - labels[n - 1].size() - labels[n - 2].size() - 2);
    } else if (n >= 4 && labels[n - 3] == "s3" && labels[n - 2] == "dualstack") {
      bucket = rest.substr(0, rest.size() - labels[n - 1].size() - labels[n - 2].size() - labels[n - 3].size() - 3);
    }
  }
  if (bucket.empty() || bucket.size() > 255) return std::nullopt;
  for (char c : bucket) {
    if (!IsBucketChar(c)) return std::nullopt;
  }
  return bucket;
}

const ProtocolCodec& RestJsonCodec() {
  static const RestProtocolCodec codec(/*xml=*/false);
  return codec;
}

const ProtocolCodec& RestXmlCodec() {
  static const RestProtocolCodec codec(/*xml=*/true);
  return codec;
}

}  // namespace gantry::aws
