// Parsing of one HTTP/1.1 request from bytes already in memory, through the same head and body code
// the server runs on its sockets (in server.cc, the one translation unit that includes Beast). It
// exists for fuzzing and for tests of the wire grammar without sockets. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "core/common/status.h"
#include "core/http/message.h"

namespace gantry::http {

// Parses the first request in bytes; the body is kept in memory. read_size splits the input into
// reads of at most that many bytes, as a socket would deliver it. Errors carry the HTTP status the
// server would answer with (Status::http_status(): 400 malformed, 413 body over max_body, 431 head
// over max_header, 505 unsupported version).
StatusOr<Request> ParseRequest(std::string_view bytes, size_t max_header, uint64_t max_body,
                               size_t read_size = std::numeric_limits<size_t>::max());

}  // namespace gantry::http
