#include "core/aws/xml.h"

#include <pugixml.hpp>

#include "core/aws/codecs.h"
#include "core/common/strings.h"

namespace gantry::aws {

namespace {

// Deeper than any AWS shape nests; bounds recursion on hostile input and recursive shapes.
constexpr int kMaxDepth = 64;
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

std::string_view LocalName(std::string_view name) {
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

Status Malformed() { return Status::InvalidArgument(std::string(kMalformedXmlMessage), "MalformedXML"); }

Status TooDeep(std::string_view where) {
  return Status::InvalidArgument("XML nested too deeply at '" + std::string(where) + "'", "MalformedXML");
}

std::string Child(std::string_view where, std::string_view name) {
  if (where.empty()) return std::string(name);
  std::string out(where);
  out += '.';
  out += name;
  return out;
}

bool IsFlattened(const MemberRef* ref, const Shape& shape) { return (ref && ref->flattened) || shape.flattened; }

// Declares the namespace of an element. A shape-level namespace whose prefix the model keeps only on
// the shape (S3's Grantee: xsi, used by its xsi:type attribute) is declared under the prefix its
// xmlAttribute members use, never as the default namespace, which would move the children into it.
void DeclareNamespace(XmlWriter& w, const MemberRef* ref, const Shape& shape, std::string_view default_namespace) {
  if (ref && !ref->xml_namespace.empty()) {
    w.Attribute(ref->xml_namespace_prefix.empty() ? "xmlns" : "xmlns:" + ref->xml_namespace_prefix, ref->xml_namespace);
    return;
  }
  if (!shape.xml_namespace.empty()) {
    std::string prefix;
    for (const MemberRef& m : shape.members) {
      size_t colon = m.location_name.find(':');
      if (m.xml_attribute && colon != std::string::npos) {
        prefix = m.location_name.substr(0, colon);
        break;
      }
    }
    w.Attribute(prefix.empty() ? "xmlns" : "xmlns:" + prefix, shape.xml_namespace);
    return;
  }
  if (!default_namespace.empty()) w.Attribute("xmlns", default_namespace);
}

std::string ScalarText(const MemberRef* ref, const Shape& shape, const Document& value) {
  return ScalarToText(shape, value, TimestampFormatFor(ref, shape, TimestampFormat::kIso8601));
}

void WriteValue(XmlWriter& w, std::string_view name, const MemberRef* ref, const Shape& shape, const Document& value,
                std::string_view default_namespace, int depth);

void WriteMembersAt(XmlWriter& w, const Shape& shape, const Document& value, bool body_only, int depth) {
  if (!value.is_object()) return;
  for (const MemberRef& m : shape.members) {
    if (m.xml_attribute || (body_only && m.location != Location::kBody)) continue;
    auto it = value.find(m.name);
    if (it == value.end() || it->is_null()) continue;
    WriteValue(w, XmlMemberName(m), &m, *m.shape, *it, {}, depth);
  }
}

void WriteValue(XmlWriter& w, std::string_view name, const MemberRef* ref, const Shape& shape, const Document& value,
                std::string_view default_namespace, int depth) {
  if (value.is_null() || depth > kMaxDepth) return;
  switch (shape.type) {
    case ShapeType::kStructure: {
      w.Start(name);
      DeclareNamespace(w, ref, shape, default_namespace);
      if (value.is_object()) {
        for (const MemberRef& m : shape.members) {
          if (!m.xml_attribute) continue;
          auto it = value.find(m.name);
          if (it != value.end() && !it->is_null()) w.Attribute(SerializedName(m, m.name), ScalarText(&m, *m.shape, *it));
        }
        WriteMembersAt(w, shape, value, /*body_only=*/false, depth + 1);
      }
      w.End();
      return;
    }
    case ShapeType::kList: {
      if (!value.is_array()) return;
      const MemberRef& item = shape.member;
      if (IsFlattened(ref, shape)) {
        for (const Document& v : value) WriteValue(w, name, &item, *item.shape, v, default_namespace, depth + 1);
        return;
      }
      w.Start(name);
      DeclareNamespace(w, ref, shape, default_namespace);
      std::string item_name = SerializedName(item, "member");
      for (const Document& v : value) WriteValue(w, item_name, &item, *item.shape, v, {}, depth + 1);
      w.End();
      return;
    }
    case ShapeType::kMap: {
      if (!value.is_object()) return;
      std::string key_name = SerializedName(shape.key, "key");
      std::string value_name = SerializedName(shape.value, "value");
      bool flattened = IsFlattened(ref, shape);
      if (!flattened) {
        w.Start(name);
        DeclareNamespace(w, ref, shape, default_namespace);
      }
      for (const auto& [k, v] : value.items()) {
        if (v.is_null()) continue;
        w.Start(flattened ? name : std::string_view("entry"));
        w.Element(key_name, k);
        WriteValue(w, value_name, &shape.value, *shape.value.shape, v, {}, depth + 1);
        w.End();
      }
      if (!flattened) w.End();
      return;
    }
    default:
      w.Start(name);
      if (ref && !ref->xml_namespace.empty()) DeclareNamespace(w, ref, shape, {});
      else if (!default_namespace.empty()) w.Attribute("xmlns", default_namespace);
      w.Text(ScalarText(ref, shape, value));
      w.End();
      return;
  }
}

// The character data directly inside an element.
std::string NodeText(pugi::xml_node node) {
  std::string text;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) text += c.value();
  }
  return text;
}

std::vector<pugi::xml_node> ChildrenNamed(pugi::xml_node node, std::string_view name) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c.name()) == name) out.push_back(c);
  }
  return out;
}

pugi::xml_node FirstChildNamed(pugi::xml_node node, std::string_view name) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c.name()) == name) return c;
  }
  return {};
}

StatusOr<Document> ReadValue(pugi::xml_node node, const MemberRef* ref, const Shape& shape, const std::string& where,
                             int depth, bool body_only);

// One <entry> (or one flattened map element) into `out`.
Status ReadMapEntry(pugi::xml_node entry, const Shape& shape, const std::string& where, int depth, Document& out) {
  pugi::xml_node key = FirstChildNamed(entry, SerializedName(shape.key, "key"));
  pugi::xml_node value = FirstChildNamed(entry, SerializedName(shape.value, "value"));
  if (!key) return Status::Ok();
  std::string k = NodeText(key);
  if (!value) return Status::Ok();
  GANTRY_ASSIGN_OR_RETURN(Document v, ReadValue(value, &shape.value, *shape.value.shape, Child(where, k), depth + 1, false));
  out[k] = std::move(v);
  return Status::Ok();
}

StatusOr<Document> ReadStructure(pugi::xml_node node, const Shape& shape, const std::string& where, int depth,
                                 bool body_only) {
  Document out = Document::object();
  for (const MemberRef& m : shape.members) {
    if (body_only && m.location != Location::kBody) continue;
    std::string member_where = Child(where, m.name);
    if (m.xml_attribute) {
      std::string attr_name = SerializedName(m, m.name);
      for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
        if (a.name() == attr_name || LocalName(a.name()) == LocalName(attr_name)) {
          GANTRY_ASSIGN_OR_RETURN(out[m.name], ScalarFromText(*m.shape, a.value(), member_where));
          break;
        }
      }
      continue;
    }
    const Shape& ms = *m.shape;
    bool flattened = (ms.type == ShapeType::kList || ms.type == ShapeType::kMap) && IsFlattened(&m, ms);
    // Writers disagree on a flattened list's element name (botocore's serializer uses the member's
    // name, its parser the list member's locationName): accept both.
    std::vector<pugi::xml_node> nodes = ChildrenNamed(node, XmlMemberName(m));
    if (nodes.empty()) {
      std::string alt = SerializedName(m, m.name);
      if (alt != XmlMemberName(m)) nodes = ChildrenNamed(node, alt);
    }
    if (nodes.empty()) continue;
    if (flattened && ms.type == ShapeType::kList) {
      Document items = Document::array();
      for (size_t i = 0; i < nodes.size(); ++i) {
        GANTRY_ASSIGN_OR_RETURN(Document v, ReadValue(nodes[i], &ms.member, *ms.member.shape,
                                                      Child(member_where, std::to_string(i + 1)), depth + 1, false));
        items.push_back(std::move(v));
      }
      out[m.name] = std::move(items);
    } else if (flattened) {
      Document map = Document::object();
      for (pugi::xml_node entry : nodes) GANTRY_RETURN_IF_ERROR(ReadMapEntry(entry, ms, member_where, depth, map));
      out[m.name] = std::move(map);
    } else {
      GANTRY_ASSIGN_OR_RETURN(out[m.name], ReadValue(nodes.front(), &m, ms, member_where, depth + 1, false));
    }
  }
  return out;
}

StatusOr<Document> ReadValue(pugi::xml_node node, const MemberRef* ref, const Shape& shape, const std::string& where,
                             int depth, bool body_only) {
  if (depth > kMaxDepth) return TooDeep(where);
  switch (shape.type) {
    case ShapeType::kStructure: return ReadStructure(node, shape, where, depth, body_only);
    case ShapeType::kList: {
      Document items = Document::array();
      size_t i = 0;
      for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
        if (c.type() != pugi::node_element) continue;
        GANTRY_ASSIGN_OR_RETURN(Document v, ReadValue(c, &shape.member, *shape.member.shape,
                                                      Child(where, std::to_string(++i)), depth + 1, false));
        items.push_back(std::move(v));
      }
      return items;
    }
    case ShapeType::kMap: {
      Document map = Document::object();
      for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
        if (c.type() == pugi::node_element) GANTRY_RETURN_IF_ERROR(ReadMapEntry(c, shape, where, depth, map));
      }
      return map;
    }
    case ShapeType::kString: return ScalarFromText(shape, NodeText(node), where);
    default: {
      std::string text = NodeText(node);
      return ScalarFromText(shape, Trim(text), where);
    }
  }
}

}  // namespace

void AppendXmlEscaped(std::string& out, std::string_view s, bool attribute) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += attribute ? "&quot;" : "\""; break;
        case '\r': out += "&#13;"; break;
        case '\n': out += attribute ? "&#10;" : "\n"; break;
        case '\t': out += attribute ? "&#9;" : "\t"; break;
        default:
          if (c >= 0x20) out.push_back(static_cast<char>(c));
          break;
      }
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      out += kReplacementChar;
      ++i;
      continue;
    }
    bool ok = i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      ok = !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) &&
           !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (!ok) {
      out += kReplacementChar;
      ++i;
      continue;
    }
    if (cp != 0xFFFE && cp != 0xFFFF) out.append(s.substr(i, len));
    i += len;
  }
}

std::string XmlEscape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size());
  AppendXmlEscaped(out, text, attribute);
  return out;
}

XmlWriter::XmlWriter(bool declaration) {
  if (declaration) out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
}

void XmlWriter::CloseStartTag() {
  if (start_tag_open_) {
    out_ += '>';
    start_tag_open_ = false;
  }
}

void XmlWriter::Start(std::string_view name) {
  CloseStartTag();
  out_ += '<';
  out_ += name;
  open_.emplace_back(name);
  start_tag_open_ = true;
}

void XmlWriter::Attribute(std::string_view name, std::string_view value) {
  if (!start_tag_open_) return;
  out_ += ' ';
  out_ += name;
  out_ += "=\"";
  AppendXmlEscaped(out_, value, /*attribute=*/true);
  out_ += '"';
}

void XmlWriter::Text(std::string_view text) {
  CloseStartTag();
  AppendXmlEscaped(out_, text);
}

void XmlWriter::End() {
  if (open_.empty()) return;
  if (start_tag_open_) {
    out_ += "/>";
    start_tag_open_ = false;
  } else {
    out_ += "</";
    out_ += open_.back();
    out_ += '>';
  }
  open_.pop_back();
}

void XmlWriter::Element(std::string_view name, std::string_view text) {
  Start(name);
  Text(text);
  End();
}

std::string XmlWriter::Finish() {
  while (!open_.empty()) End();
  return std::move(out_);
}

std::string SerializedName(const MemberRef& ref, std::string_view fallback) {
  if (!ref.location_name.empty()) return ref.location_name;
  if (ref.shape && !ref.shape->location_name.empty()) return ref.shape->location_name;
  return std::string(fallback);
}

std::string XmlMemberName(const MemberRef& ref) {
  if (ref.shape && ref.shape->type == ShapeType::kList && IsFlattened(&ref, *ref.shape)) {
    std::string item = SerializedName(ref.shape->member, "");
    if (!item.empty()) return item;
  }
  return SerializedName(ref, ref.name);
}

void WriteXmlValue(XmlWriter& writer, std::string_view name, const MemberRef* ref, const Shape& shape,
                   const Document& value, std::string_view default_namespace) {
  WriteValue(writer, name, ref, shape, value, default_namespace, 0);
}

void WriteXmlMembers(XmlWriter& writer, const Shape& shape, const Document& value, bool body_only) {
  WriteMembersAt(writer, shape, value, body_only, 0);
}

StatusOr<Document> ParseXml(std::string_view xml, const Shape& shape, const std::vector<std::string>& path,
                            bool body_only) {
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size(),
                                                  pugi::parse_default | pugi::parse_ws_pcdata_single,
                                                  pugi::encoding_utf8);
  if (!parsed) return Malformed();
  pugi::xml_node node = doc.document_element();
  if (!node) return Malformed();
  for (const std::string& name : path) {
    node = FirstChildNamed(node, name);
    if (!node) return Status::InvalidArgument("XML element <" + name + "> not found", "MalformedXML");
  }
  return ReadValue(node, nullptr, shape, "", 0, body_only);
}

std::string ServiceXmlNamespace(const ServiceModel& model) {
  if (!model.xml_namespace().empty()) return model.xml_namespace();
  return "https://" + model.endpoint_prefix() + ".amazonaws.com/doc/" + model.api_version() + "/";
}

std::string QueryStyleErrorXml(const ServiceModel* model, const AwsError& error, const std::string& request_id,
                               bool declaration) {
  XmlWriter w(declaration);
  w.Start("ErrorResponse");
  if (model) w.Attribute("xmlns", ServiceXmlNamespace(*model));
  w.Start("Error");
  w.Element("Type", error.sender_fault ? "Sender" : "Receiver");
  w.Element("Code", error.code);
  w.Element("Message", error.message);
  for (const auto& [name, value] : error.extra) w.Element(name, value);
  const Shape* shape = model && error.members.is_object() ? model->FindErrorByCode(error.code) : nullptr;
  if (shape) WriteXmlMembers(w, *shape, error.members, /*body_only=*/true);
  w.End();
  w.Element("RequestId", request_id);
  return w.Finish();
}

}  // namespace gantry::aws
