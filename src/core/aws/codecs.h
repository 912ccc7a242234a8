// The concrete codecs behind CodecFor(), and the scalar conversions they share.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/aws/protocol.h"

namespace gantry::aws {

const ProtocolCodec& JsonCodec();
const ProtocolCodec& QueryCodec();
const ProtocolCodec& RestJsonCodec();
const ProtocolCodec& RestXmlCodec();
const ProtocolCodec& CborCodec();

enum class TimestampFormat { kEpochSeconds, kIso8601, kRfc822 };

// The timestamp format for a member: its own timestampFormat, else the shape's, else `fallback`.
TimestampFormat TimestampFormatFor(const MemberRef* ref, const Shape& shape, TimestampFormat fallback);

// Text (query parameter, header, XML text, URI label) → Document value of the scalar shape.
// `where` names the member for error messages. Blobs arrive base64-encoded except where noted.
StatusOr<Document> ScalarFromText(const Shape& shape, std::string_view text, std::string_view where);

// Document scalar → text. Timestamps formatted per `format`; blobs base64-encoded.
std::string ScalarToText(const Shape& shape, const Document& value, TimestampFormat format);

// A timestamp given as number (epoch seconds) or text in any of the three formats.
StatusOr<double> ParseTimestampValue(const Document& value, std::string_view where);
std::string FormatTimestamp(double epoch_seconds, TimestampFormat format);

// The bucket named by an S3 virtual-host style Host ("b.s3.localhost.localstack.cloud:4566",
// "b.localhost", "b.s3.<region>.amazonaws.com"); nullopt for path-style hosts.
std::optional<std::string> ExtractVirtualHostBucket(std::string_view host);

}  // namespace gantry::aws
