#include "core/aws/content_encoding.h"

#include <zlib.h>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/common/strings.h"

namespace gantry::aws {

namespace {

Status Malformed(std::string_view code) {
  return Status::InvalidArgument("The request body is not valid gzip data (Content-Encoding: gzip).",
                                 std::string(code));
}

// Inflates one or more concatenated gzip members read by `next` (an empty chunk at the end).
Status Gunzip(const std::function<StatusOr<std::string_view>()>& next, uint64_t max_bytes,
              std::string_view malformed_code, std::string& out) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::Internal("zlib inflateInit2 failed");
  char buffer[64 * 1024];
  Status status = Status::Ok();
  bool input_ended = false;
  while (true) {
    if (zs.avail_in == 0 && !input_ended) {
      StatusOr<std::string_view> chunk = next();
      if (!chunk.ok()) {
        status = chunk.status();
        break;
      }
      input_ended = chunk->empty();
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk->data()));
      zs.avail_in = static_cast<uInt>(chunk->size());
    }
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof buffer;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - zs.avail_out);
    if (out.size() > max_bytes) {
      status = Status::InvalidArgument("The decompressed request body is larger than " + std::to_string(max_bytes) +
                                           " bytes.",
                                       "RequestEntityTooLarge")
                   .WithHttpStatus(413);
      break;
    }
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) {
        if (input_ended) break;
        StatusOr<std::string_view> chunk = next();
        if (!chunk.ok()) {
          status = chunk.status();
          break;
        }
        if (chunk->empty()) break;
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk->data()));
        zs.avail_in = static_cast<uInt>(chunk->size());
      }
      if (inflateReset(&zs) != Z_OK) {
        status = Malformed(malformed_code);
        break;
      }
      continue;
    }
    // No progress is possible with input left (Z_BUF_ERROR), and the input ended mid-member.
    if ((rc != Z_OK && rc != Z_BUF_ERROR) || (rc == Z_BUF_ERROR && zs.avail_in != 0) ||
        (input_ended && zs.avail_in == 0 && zs.avail_out != 0)) {
      status = Malformed(malformed_code);
      break;
    }
  }
  inflateEnd(&zs);
  return status;
}

}  // namespace

Status DecodeContentEncoding(http::Request& request, uint64_t max_bytes, std::string_view malformed_code) {
  std::string_view header = request.headers.Get("Content-Encoding");
  if (header.empty()) return Status::Ok();
  std::vector<std::string> kept;
  bool gzip = false;
  for (std::string_view token : Split(header, ',')) {
    token = Trim(token);
    if (EqualsIgnoreCase(token, "gzip") && !gzip) {
      gzip = true;
    } else if (!token.empty()) {
      kept.emplace_back(token);
    }
  }
  if (!gzip) return Status::Ok();
  std::string inflated;
  if (request.body_file.empty()) {
    bool given = false;
    GANTRY_RETURN_IF_ERROR(Gunzip(
        [&]() -> StatusOr<std::string_view> {
          if (given) return std::string_view();
          given = true;
          return std::string_view(request.body);
        },
        max_bytes, malformed_code, inflated));
  } else {
    // A body spooled to disk is inflated from the file, under the same cap, into memory; the
    // server removes the spool file after the request.
    std::ifstream in(request.body_file, std::ios::binary);
    if (!in) return Status::Internal("cannot open request body " + request.body_file);
    std::string chunk(64 * 1024, '\0');
    GANTRY_RETURN_IF_ERROR(Gunzip(
        [&]() -> StatusOr<std::string_view> {
          in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
          if (in.bad()) return Status::Internal("cannot read request body " + request.body_file);
          return std::string_view(chunk.data(), static_cast<size_t>(in.gcount()));
        },
        max_bytes, malformed_code, inflated));
    request.body_file.clear();
  }
  request.body = std::move(inflated);
  request.body_size = request.body.size();
  if (kept.empty()) {
    request.headers.Remove("Content-Encoding");
  } else {
    request.headers.Set("Content-Encoding", Join(kept, ","));
  }
  return Status::Ok();
}

}  // namespace gantry::aws
