// CBOR (RFC 8949) as the smithy-rpc-v2-cbor protocol uses it: a decoder from bytes to a Document
// and a writer of data items. The decoder reads every well-formed item the protocol allows
// (definite and indefinite lengths, half/single/double floats, tag 1 epoch timestamps), bounds
// nesting depth and trusts no length prefix, so it is safe on untrusted bodies; the model-driven
// typing (which member is a timestamp or a blob) is the codec's job (cbor_codec.cc). Pure
// functions and a value-type writer: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/aws/document.h"
#include "core/common/status.h"

namespace gantry::aws {

// Decodes exactly one data item filling `bytes`. Text strings become strings, byte strings binary
// values, integers int64 (uint64 above INT64_MAX), floats doubles, undefined null, and a tag 1
// timestamp its numeric epoch seconds. Maps must have text keys. Errors (truncation, trailing
// bytes, other tags, invalid UTF-8, nesting deeper than kMaxCborDepth) are InvalidArgument with
// the aws code SerializationException.
inline constexpr int kMaxCborDepth = 100;
StatusOr<Document> DecodeCbor(std::string_view bytes);

// Appends CBOR data items to a byte string, always in the shortest head form; floats are written
// as 64-bit doubles except NaN and the infinities, which take the 16-bit form clients send.
class CborWriter {
 public:
  void Uint(uint64_t v) { Head(0, v); }
  void Int(int64_t v);
  void Double(double v);
  void Bool(bool v) { out_.push_back(static_cast<char>(v ? 0xf5 : 0xf4)); }
  void Null() { out_.push_back(static_cast<char>(0xf6)); }
  void Text(std::string_view s);
  void Bytes(std::string_view b);
  void BeginArray(uint64_t size) { Head(4, size); }
  void BeginMap(uint64_t pairs) { Head(5, pairs); }
  void Tag(uint64_t tag) { Head(6, tag); }

  const std::string& bytes() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Head(uint8_t major, uint64_t arg);
  std::string out_;
};

}  // namespace gantry::aws
