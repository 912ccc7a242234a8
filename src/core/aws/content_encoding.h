// Request bodies a client compressed: botocore's request compression (the `requestcompression`
// trait, CloudWatch PutMetricData) gzips bodies of 10 KiB and more and sends Content-Encoding: gzip.
// The body is inflated after SigV4 verification (the signature and any x-amz-content-sha256 cover
// the compressed bytes) and before the codec parses it. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/common/status.h"
#include "core/http/message.h"

namespace gantry::aws {

// When Content-Encoding lists gzip, replaces the body (in memory, or spooled to body_file, which is
// then cleared) with its inflated bytes (one or more gzip members) in memory and drops gzip from
// the header; otherwise does nothing. A body that does not
// inflate is InvalidArgument with `malformed_code` (empty: the protocol's default); one that
// inflates past max_bytes is RequestEntityTooLarge (413).
Status DecodeContentEncoding(http::Request& request, uint64_t max_bytes, std::string_view malformed_code);

}  // namespace gantry::aws
