// The shape graph of an AWS service model (botocore's service-2.json): operations, shapes, members
// and where each member lives on the wire. Codecs and the validator are driven by it; nothing
// hand-writes a request or response shape. Models are parsed lazily from the embedded compact JSON
// the first time a service is used and are immutable afterwards: all accessors are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace gantry::aws {

enum class Protocol { kJson, kQuery, kRestJson, kRestXml, kRpcV2Cbor };

enum class ShapeType {
  kStructure, kList, kMap, kString, kInteger, kLong, kFloat, kDouble, kBoolean, kTimestamp, kBlob,
  kBigInteger, kBigDecimal,
};

enum class Location { kBody, kHeader, kHeaders, kUri, kQueryString, kStatusCode };

struct Shape;

// A reference to a shape from a structure member, list member, or map key/value.
struct MemberRef {
  std::string name;            // member name in the model (structure members only)
  const Shape* shape = nullptr;
  Location location = Location::kBody;
  std::string location_name;   // wire name (header name, query key, XML element, label)
  std::string query_name;      // ec2-style query name override
  std::string xml_namespace;   // xmlNamespace.uri
  std::string xml_namespace_prefix;
  std::string timestamp_format;
  bool xml_attribute = false;
  bool flattened = false;
  bool idempotency_token = false;
  bool json_value = false;     // header carrying base64 JSON
  bool host_label = false;
  bool streaming = false;
  bool required = false;       // listed in the parent structure's "required"

  // The name on the wire: location_name when set, else the member name.
  const std::string& WireName() const { return location_name.empty() ? name : location_name; }
};

struct Shape {
  std::string name;
  ShapeType type = ShapeType::kString;
  std::vector<MemberRef> members;  // structure, in model order
  MemberRef member;                // list
  MemberRef key, value;            // map
  bool flattened = false;
  std::vector<std::string> enum_values;
  std::optional<double> min, max;
  std::string pattern;
  std::string payload;             // structure: name of the member that is the whole HTTP payload
  std::string location_name;       // xml element name override
  std::string xml_namespace;
  std::string timestamp_format;
  bool streaming = false, document = false, is_union = false, event_stream = false, sensitive = false;
  // Errors.
  bool is_error = false;
  std::string error_code;          // "error.code" when present (query services), else the shape name
  int error_http_status = 0;
  bool sender_fault = true;

  const MemberRef* FindMember(std::string_view member_name) const;
};

struct Operation {
  std::string name;
  std::string http_method = "POST";
  std::string request_uri = "/";
  int response_code = 200;
  const Shape* input = nullptr;    // may be null (no input)
  const Shape* output = nullptr;   // may be null (no output)
  std::string input_location_name, output_location_name;  // rest-xml root element overrides
  std::string input_xml_namespace;
  std::string output_result_wrapper;  // awsQuery: the <{Op}Result> element around the output
  std::vector<const Shape*> errors;
  bool http_checksum_required = false;
  bool no_auth = false;  // "authtype": "none": clients send it unsigned (STS web identity, SAML)
};

class ServiceModel {
 public:
  static StatusOr<std::unique_ptr<ServiceModel>> Parse(std::string_view service, std::string_view json);

  const std::string& service() const { return service_; }  // botocore directory name
  Protocol protocol() const { return protocol_; }
  // Protocols the model lists in order of preference (newer models list several, e.g. CloudWatch).
  const std::vector<Protocol>& protocols() const { return protocols_; }
  bool SupportsProtocol(Protocol p) const;
  const std::string& api_version() const { return api_version_; }
  const std::string& target_prefix() const { return target_prefix_; }
  const std::string& json_version() const { return json_version_; }
  const std::string& signing_name() const { return signing_name_; }
  const std::string& endpoint_prefix() const { return endpoint_prefix_; }
  const std::string& xml_namespace() const { return xml_namespace_; }
  const std::string& service_id() const { return service_id_; }
  bool aws_query_compatible() const { return aws_query_compatible_; }

  const Operation* FindOperation(std::string_view name) const;
  const Shape* FindShape(std::string_view name) const;
  // An error shape by its wire code (error.code or shape name).
  const Shape* FindErrorByCode(std::string_view code) const;
  const std::map<std::string, Operation, std::less<>>& operations() const { return operations_; }

 private:
  std::string service_;
  Protocol protocol_ = Protocol::kJson;
  std::vector<Protocol> protocols_;
  std::string api_version_, target_prefix_, json_version_, signing_name_, endpoint_prefix_, xml_namespace_,
      service_id_;
  bool aws_query_compatible_ = false;
  std::map<std::string, std::unique_ptr<Shape>, std::less<>> shapes_;
  std::map<std::string, Operation, std::less<>> operations_;
  std::map<std::string, const Shape*, std::less<>> errors_by_code_;
};

// The embedded models, parsed on first use.
class ModelRegistry {
 public:
  static ModelRegistry& Instance();

  // By botocore service name ("sts", "events", "cloudwatch"); null when not embedded.
  const ServiceModel* Get(std::string_view service);
  // By the SigV4 signing name or endpoint prefix in a credential scope ("monitoring" → cloudwatch).
  const ServiceModel* FindBySigningName(std::string_view signing_name);
  // By the X-Amz-Target prefix of JSON protocols ("AWSEvents" → events).
  const ServiceModel* FindByTargetPrefix(std::string_view target_prefix);
  std::vector<std::string> ServiceNames() const;

 private:
  ModelRegistry();
  struct Entry;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace gantry::aws
