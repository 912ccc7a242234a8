// HTTP request and response as the rest of Gantry sees them: plain structs with no Beast types, so
// only server.cc pays for Beast's headers. A body is either in memory or, for large streaming
// uploads, a file the server wrote it to. Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gantry::http {

// Header fields in arrival order; lookups are case-insensitive.
class Headers {
 public:
  // First value of the field, or "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  void Add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  // Replaces every value of the field with one.
  void Set(std::string name, std::string value);
  void Remove(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method;        // "GET", "POST", ...
  std::string target;        // raw request-target as sent: path plus "?query"
  std::string path;          // raw (still percent-encoded) path part of target
  std::string query;         // raw query string without '?'
  Headers headers;
  std::string body;          // the body when held in memory
  std::string body_file;     // the body's file when it was streamed to disk (body is then empty)
  uint64_t body_size = 0;    // bytes in the body, wherever it is
  std::string remote_address;
  std::string request_id;    // assigned by the server, echoed in x-amzn-RequestId

  // Decoded query parameters in order (a key without '=' has an empty value).
  std::vector<std::pair<std::string, std::string>> QueryParams() const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  std::string body_file;      // send this file as the body instead of `body`
  uint64_t file_offset = 0;   // with body_file: first byte and length to send
  uint64_t file_length = 0;
  bool remove_body_file = false;  // body_file is a spool file the server deletes once sent
};

// Decodes application/x-www-form-urlencoded text (a query string or a form body) into ordered
// pairs; '+' is a space; a key without '=' has an empty value; malformed escapes are kept as sent.
std::vector<std::pair<std::string, std::string>> ParseUrlEncoded(std::string_view text);

// Splits a request-target into path and query.
void SplitTarget(std::string_view target, std::string& path, std::string& query);

}  // namespace gantry::http
