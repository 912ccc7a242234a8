// XML on the AWS wire, shared by the awsQuery and restXml codecs: a small streaming writer that
// always produces well-formed XML 1.0 (escaping markup and dropping what XML cannot carry), and the
// model-driven mapping between XML elements and Documents (structure members by wire name, lists as
// <member> children or flattened repeats, maps as <entry><key/><value/></entry>, xmlAttribute
// members, ISO 8601 timestamps, base64 blobs), read with pugixml. Element naming follows botocore's
// XML parser so that every SDK reads what we write. Pure functions; XmlWriter is thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/error.h"
#include "core/aws/model.h"
#include "core/common/status.h"

namespace gantry::aws {

// Appends `text` escaped for element content (attribute=false) or a double-quoted attribute value.
// Invalid UTF-8 becomes U+FFFD and characters XML 1.0 cannot represent (C0 controls other than
// tab/LF/CR, U+FFFE, U+FFFF) are dropped: botocore's expat-based parser rejects the whole response
// otherwise. CR is written as &#13; so it survives end-of-line normalisation.
void AppendXmlEscaped(std::string& out, std::string_view text, bool attribute = false);
std::string XmlEscape(std::string_view text, bool attribute = false);

class XmlWriter {
 public:
  // With `declaration`, output starts with <?xml version="1.0" encoding="UTF-8"?> and a newline.
  explicit XmlWriter(bool declaration = false);

  void Start(std::string_view name);
  // Only directly after Start, before any content.
  void Attribute(std::string_view name, std::string_view value);
  void Text(std::string_view text);
  void End();
  // <name>text</name>
  void Element(std::string_view name, std::string_view text);
  // Closes every open element and returns the document.
  std::string Finish();

 private:
  void CloseStartTag();

  std::string out_;
  std::vector<std::string> open_;
  bool start_tag_open_ = false;
};

// The XML element name of a structure member as botocore reads it: a flattened list member takes
// its list member's locationName when there is one; otherwise the member's (or its shape's)
// locationName; otherwise the member name.
std::string XmlMemberName(const MemberRef& ref);

// The serialized name of a reference: its locationName, else its shape's, else `fallback`.
std::string SerializedName(const MemberRef& ref, std::string_view fallback);

// Writes `value` (a Document of `shape`) as element `name`. `ref` (may be null) carries member-level
// traits (flattened, namespace, timestamp format). A flattened list or map writes one `name` element
// per item instead of a wrapper. `default_namespace` is declared on the element when neither the
// reference nor the shape names one (the root of a response).
void WriteXmlValue(XmlWriter& writer, std::string_view name, const MemberRef* ref, const Shape& shape,
                   const Document& value, std::string_view default_namespace = {});

// Writes the members of structure `shape` present in `value` as children of the open element.
// With `body_only`, members located elsewhere (header, uri, querystring, statusCode) are skipped.
// xmlAttribute members are not written here (they belong on the start tag; see WriteXmlValue).
void WriteXmlMembers(XmlWriter& writer, const Shape& shape, const Document& value, bool body_only);

// Parses `xml` and reads the element reached from the root by the child names in `path` (the root
// itself when empty; names compare without namespace prefix) as a Document of `shape`. With
// `body_only`, located members of a top-level structure are not read. Malformed XML gives
// InvalidArgument with AWS code "MalformedXML"; values of the wrong type give InvalidArgument naming
// the member.
StatusOr<Document> ParseXml(std::string_view xml, const Shape& shape, const std::vector<std::string>& path = {},
                            bool body_only = false);

// The XML namespace of a query or restXml service's documents: the model's, else AWS's
// https://<endpointPrefix>.amazonaws.com/doc/<apiVersion>/.
std::string ServiceXmlNamespace(const ServiceModel& model);

// <ErrorResponse xmlns><Error><Type/><Code/><Message/>extra...</Error><RequestId/></ErrorResponse>:
// the error document of awsQuery services and of restXml services other than S3. The error's
// modeled members follow the extras inside <Error>, where botocore reads an error shape's members
// (lists as <member> items, as in any query response).
std::string QueryStyleErrorXml(const ServiceModel* model, const AwsError& error, const std::string& request_id,
                               bool declaration = false);

// The message S3 sends with MalformedXML.
inline constexpr std::string_view kMalformedXmlMessage =
    "The XML you provided was not well-formed or did not validate against our published schema";

}  // namespace gantry::aws
