// Runs a CGI program (git http-backend) for one request: the request body is its standard input
// (the body's spool file, or bytes in memory), its output is spooled to a file, and the CGI header
// block at the start of that file is parsed into a status and headers. The body that follows stays
// in the file, so a large clone is never held in memory.
//
// Thread-safe: each call spawns its own process (posix_spawn) and waits for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/status.h"

namespace gantry::services::codecommit {

struct CgiInvocation {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::vector<std::string> env;   // "NAME=value": the whole environment of the program
  std::string stdin_file;         // the request body's file, or
  std::string_view stdin_data;    // the request body in memory (when stdin_file is empty)
  std::string output_path;        // created exclusively (0600); the caller removes it
};

struct CgiOutput {
  int exit_code = 0;  // the program's exit status (128 + n when killed by signal n)
  int status = 200;   // from the "Status:" header
  std::vector<std::pair<std::string, std::string>> headers;  // every other header, in order
  uint64_t body_offset = 0;                                  // where the body starts in output_path
  uint64_t body_size = 0;
  std::string stderr_text;  // the first 64 KiB the program wrote to standard error
};

// Internal when the program cannot be started or its output has no complete header block.
StatusOr<CgiOutput> RunCgi(const CgiInvocation& invocation);

}  // namespace gantry::services::codecommit
