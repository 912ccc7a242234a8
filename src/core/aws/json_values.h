// Conversion between JSON bodies (awsJson, restJson1) and Documents, shape by shape: timestamps
// (epoch seconds or strings) become epoch-second numbers, base64 blobs become binary, and values of
// the wrong JSON type are a SerializationException naming the member. Thread-safe.
#pragma once

#include <string>

#include "core/aws/document.h"
#include "core/aws/model.h"
#include "core/common/status.h"

namespace gantry::aws {

// wire_names: restJson1 keys members by locationName when set; awsJson by member name.
StatusOr<Document> JsonToDocument(const Shape& shape, const Document& json, const std::string& path, bool wire_names);
// Timestamps honour the member's or shape's timestampFormat (epoch seconds by default); non-finite
// doubles become "NaN"/"Infinity"/"-Infinity"; ref is the member referring to shape, if any.
Document DocumentToJson(const Shape& shape, const Document& doc, bool wire_names, const MemberRef* ref = nullptr);

}  // namespace gantry::aws
