#include "core/aws/cbor.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/common/strings.h"

namespace gantry::aws {

namespace {

constexpr uint8_t kIndefinite = 31;
constexpr uint8_t kBreak = 0xff;

Status Malformed(std::string_view why) {
  return Status::InvalidArgument("Could not parse the request body as CBOR: " + std::string(why) + ".",
                                 "SerializationException");
}

double HalfToDouble(uint16_t h) {
  int exponent = (h >> 10) & 0x1f;
  int mantissa = h & 0x3ff;
  double value;
  if (exponent == 0) {
    value = std::ldexp(mantissa, -24);
  } else if (exponent == 31) {
    value = mantissa == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else {
    value = std::ldexp(mantissa + 1024, exponent - 25);
  }
  return (h & 0x8000) ? -value : value;
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : in_(bytes) {}

  bool AtEnd() const { return pos_ == in_.size(); }

  StatusOr<Document> Item(int depth) {
    if (depth > kMaxCborDepth) return Malformed("nesting is too deep");
    GANTRY_ASSIGN_OR_RETURN(uint8_t initial, Byte());
    uint8_t major = initial >> 5;
    uint8_t info = initial & 0x1f;
    switch (major) {
      case 0: {
        GANTRY_ASSIGN_OR_RETURN(uint64_t v, Argument(info));
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Document(v);
        return Document(static_cast<int64_t>(v));
      }
      case 1: {
        GANTRY_ASSIGN_OR_RETURN(uint64_t v, Argument(info));
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Malformed("integer out of range");
        return Document(-1 - static_cast<int64_t>(v));
      }
      case 2: {
        GANTRY_ASSIGN_OR_RETURN(std::string b, String(major, info));
        return Document::binary(std::vector<uint8_t>(b.begin(), b.end()));
      }
      case 3: {
        GANTRY_ASSIGN_OR_RETURN(std::string s, String(major, info));
        if (!IsValidUtf8(s)) return Malformed("text string is not valid UTF-8");
        return Document(std::move(s));
      }
      case 4: {
        Document out = Document::array();
        if (info == kIndefinite) {
          while (!NextIsBreak()) {
            GANTRY_ASSIGN_OR_RETURN(Document v, Item(depth + 1));
            out.push_back(std::move(v));
          }
          ++pos_;
          return out;
        }
        GANTRY_ASSIGN_OR_RETURN(uint64_t n, Argument(info));
        if (n > Remaining()) return Malformed("array length exceeds the body");
        for (uint64_t i = 0; i < n; ++i) {
          GANTRY_ASSIGN_OR_RETURN(Document v, Item(depth + 1));
          out.push_back(std::move(v));
        }
        return out;
      }
      case 5: {
        Document out = Document::object();
        if (info == kIndefinite) {
          while (!NextIsBreak()) GANTRY_RETURN_IF_ERROR(Pair(out, depth));
          ++pos_;
          return out;
        }
        GANTRY_ASSIGN_OR_RETURN(uint64_t n, Argument(info));
        if (n > Remaining() / 2) return Malformed("map length exceeds the body");
        for (uint64_t i = 0; i < n; ++i) GANTRY_RETURN_IF_ERROR(Pair(out, depth));
        return out;
      }
      case 6: {
        GANTRY_ASSIGN_OR_RETURN(uint64_t tag, Argument(info));
        if (tag != 1) return Malformed("unsupported tag " + std::to_string(tag));
        GANTRY_ASSIGN_OR_RETURN(Document v, Item(depth + 1));
        if (!v.is_number()) return Malformed("tag 1 (epoch timestamp) must wrap a number");
        return v;
      }
      default: return Simple(info);
    }
  }

 private:
  size_t Remaining() const { return in_.size() - pos_; }

  bool NextIsBreak() const { return pos_ < in_.size() && static_cast<uint8_t>(in_[pos_]) == kBreak; }

  StatusOr<uint8_t> Byte() {
    if (pos_ >= in_.size()) return Malformed("unexpected end of data");
    return static_cast<uint8_t>(in_[pos_++]);
  }

  StatusOr<uint64_t> BigEndian(int bytes) {
    if (Remaining() < static_cast<size_t>(bytes)) return Malformed("unexpected end of data");
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
    return v;
  }

  // The argument of a head whose additional information is `info` (not indefinite).
  StatusOr<uint64_t> Argument(uint8_t info) {
    if (info < 24) return info;
    switch (info) {
      case 24: return BigEndian(1);
      case 25: return BigEndian(2);
      case 26: return BigEndian(4);
      case 27: return BigEndian(8);
    }
    return Malformed("invalid additional information " + std::to_string(info));
  }

  // A byte or text string, definite or made of definite chunks of the same major type.
  StatusOr<std::string> String(uint8_t major, uint8_t info) {
    if (info != kIndefinite) {
      GANTRY_ASSIGN_OR_RETURN(uint64_t n, Argument(info));
      if (n > Remaining()) return Malformed("string length exceeds the body");
      std::string s(in_.substr(pos_, n));
      pos_ += n;
      return s;
    }
    std::string s;
    while (!NextIsBreak()) {
      GANTRY_ASSIGN_OR_RETURN(uint8_t chunk, Byte());
      if ((chunk >> 5) != major || (chunk & 0x1f) == kIndefinite) return Malformed("invalid string chunk");
      GANTRY_ASSIGN_OR_RETURN(uint64_t n, Argument(chunk & 0x1f));
      if (n > Remaining()) return Malformed("string length exceeds the body");
      s.append(in_.substr(pos_, n));
      pos_ += n;
    }
    ++pos_;
    return s;
  }

  Status Pair(Document& map, int depth) {
    GANTRY_ASSIGN_OR_RETURN(Document key, Item(depth + 1));
    if (!key.is_string()) return Malformed("map keys must be text strings");
    GANTRY_ASSIGN_OR_RETURN(Document value, Item(depth + 1));
    map[key.get<std::string>()] = std::move(value);
    return Status::Ok();
  }

  StatusOr<Document> Simple(uint8_t info) {
    switch (info) {
      case 20: return Document(false);
      case 21: return Document(true);
      case 22:
      case 23: return Document();
      case 25: {
        GANTRY_ASSIGN_OR_RETURN(uint64_t h, BigEndian(2));
        return Document(HalfToDouble(static_cast<uint16_t>(h)));
      }
      case 26: {
        GANTRY_ASSIGN_OR_RETURN(uint64_t bits, BigEndian(4));
        uint32_t b32 = static_cast<uint32_t>(bits);
        float f;
        std::memcpy(&f, &b32, sizeof f);
        return Document(static_cast<double>(f));
      }
      case 27: {
        GANTRY_ASSIGN_OR_RETURN(uint64_t bits, BigEndian(8));
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return Document(d);
      }
    }
    return Malformed("unsupported simple value " + std::to_string(info));
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<Document> DecodeCbor(std::string_view bytes) {
  Reader reader(bytes);
  GANTRY_ASSIGN_OR_RETURN(Document doc, reader.Item(0));
  if (!reader.AtEnd()) return Malformed("unexpected data after the top-level item");
  return doc;
}

void CborWriter::Head(uint8_t major, uint64_t arg) {
  uint8_t m = static_cast<uint8_t>(major << 5);
  auto put = [&](int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(static_cast<char>((arg >> (8 * i)) & 0xff));
  };
  if (arg < 24) {
    out_.push_back(static_cast<char>(m | arg));
  } else if (arg <= 0xff) {
    out_.push_back(static_cast<char>(m | 24));
    put(1);
  } else if (arg <= 0xffff) {
    out_.push_back(static_cast<char>(m | 25));
    put(2);
  } else if (arg <= 0xffffffffull) {
    out_.push_back(static_cast<char>(m | 26));
    put(4);
  } else {
    out_.push_back(static_cast<char>(m | 27));
    put(8);
  }
}

void CborWriter::Int(int64_t v) {
  if (v >= 0) {
    Head(0, static_cast<uint64_t>(v));
  } else {
    Head(1, static_cast<uint64_t>(-(v + 1)));
  }
}

void CborWriter::Double(double v) {
  if (std::isnan(v)) {
    out_.append("\xf9\x7e\x00", 3);
  } else if (std::isinf(v)) {
    out_.append(v > 0 ? std::string_view("\xf9\x7c\x00", 3) : std::string_view("\xf9\xfc\x00", 3));
  } else {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    out_.push_back(static_cast<char>(0xfb));
    for (int i = 7; i >= 0; --i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
}

void CborWriter::Text(std::string_view s) {
  Head(3, s.size());
  out_.append(s);
}

void CborWriter::Bytes(std::string_view b) {
  Head(2, b.size());
  out_.append(b);
}

}  // namespace gantry::aws
