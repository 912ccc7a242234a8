#include "core/events/pattern_tokenizer.h"

#include <cstdio>

namespace gantry::events {
namespace {

constexpr size_t kMaxSourceSnippet = 500;  // characters of the pattern quoted in a location
constexpr size_t kMaxErrorTokenLength = 256;
constexpr std::string_view kValidValues =
    "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')";

bool IsIdentifierPart(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || c >= 0x80;
}

bool IsIdentifierStart(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80;
}

// Number of UTF-16 code units the UTF-8 byte c starts (0 for continuation bytes).
int Utf16Units(unsigned char c) {
  if ((c & 0xC0) == 0x80) return 0;
  if (c >= 0xF0) return 2;
  return 1;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Jackson's description of a character in error messages: 'x' (code 120), (CTRL-CHAR, code 10).
std::string CharDescription(uint32_t cp) {
  char buf[64];
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
    std::snprintf(buf, sizeof(buf), "(CTRL-CHAR, code %u)", cp);
    return buf;
  }
  std::string c;
  AppendUtf8(&c, cp);
  if (cp > 255) {
    std::snprintf(buf, sizeof(buf), "' (code %u / 0x%x)", cp, cp);
  } else {
    std::snprintf(buf, sizeof(buf), "' (code %u)", cp);
  }
  return "'" + c + buf;
}

int HexValue(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

int PatternTokenizer::Get() {
  if (pos_ >= src_.size()) return -1;
  unsigned char c = static_cast<unsigned char>(src_[pos_++]);
  if (c == '\n' || (c == '\r' && Peek() != '\n')) {
    ++line_;
    column_ = 1;
  } else {
    column_ += Utf16Units(c);
  }
  return c;
}

std::string PatternTokenizer::SourceDescription() const {
  // Jackson counts characters; the snippet is cut at a character boundary.
  size_t units = 0;
  size_t cut = src_.size();
  size_t total_units = 0;
  for (size_t i = 0; i < src_.size(); ++i) {
    int u = Utf16Units(static_cast<unsigned char>(src_[i]));
    if (u > 0 && cut == src_.size() && units + u > kMaxSourceSnippet) cut = i;
    if (cut == src_.size()) units += u;
    total_units += u;
  }
  std::string out = "(String)\"";
  out.append(src_.substr(0, cut));
  out.push_back('"');
  if (total_units > units) out += "[truncated " + std::to_string(total_units - units) + " chars]";
  return out;
}

std::string PatternTokenizer::LocationString(int64_t line, int64_t column) const {
  return "[Source: " + SourceDescription() + "; line: " + std::to_string(line) +
         ", column: " + std::to_string(column) + "]";
}

std::string PatternTokenizer::Located(std::string_view message) const {
  return std::string(message) + "\n at " + LocationString(line_, column_);
}

Status PatternTokenizer::Error(std::string_view message) const {
  return Status::InvalidArgument(Located(message));
}

Status PatternTokenizer::UnexpectedChar(int c, std::string_view comment) const {
  uint32_t cp = static_cast<uint32_t>(c);
  if (c >= 0x80 && pos_ > 0) {
    // Decode the whole UTF-8 sequence whose lead byte was just consumed.
    size_t start = pos_ - 1;
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    cp = static_cast<uint32_t>(c) & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
    for (int k = 1; k < len && start + k < src_.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(src_[start + k]) & 0x3F);
    }
  }
  // The parser reports an unexpected character at the character itself, one before the position.
  int64_t column = column_ - (cp >= 0x10000 ? 2 : 1);
  return Status::InvalidArgument("Unexpected character (" + CharDescription(cp) + "): " +
                                 std::string(comment) + "\n at " + LocationString(line_, column));
}

Status PatternTokenizer::EndOfInputError() const {
  const Context& ctx = contexts_.back();
  if (ctx.kind == Context::Kind::kRoot) return Error("Unexpected end-of-input");
  std::string marker = ctx.kind == Context::Kind::kArray ? "Array" : "Object";
  return Error("Unexpected end-of-input: expected close marker for " + marker + " (start marker at " +
               LocationString(ctx.start_line, ctx.start_column) + ")");
}

Status PatternTokenizer::SkipWhitespace(int* c) {
  while (true) {
    int ch = Get();
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') continue;
    if (ch >= 0 && ch < 0x20) {
      return Error("Illegal character (" + CharDescription(static_cast<uint32_t>(ch)) +
                   "): only regular white space (\\r, \\n, \\t) is allowed between tokens");
    }
    *c = ch;
    return Status::Ok();
  }
}

Status PatternTokenizer::ReportInvalidToken(std::string prefix) {
  while (pos_ < src_.size() && IsIdentifierPart(Peek())) {
    prefix.push_back(static_cast<char>(Get()));
    if (prefix.size() >= kMaxErrorTokenLength) {
      prefix += "...";
      break;
    }
  }
  return Error("Unrecognized token '" + prefix + "': was expecting " + std::string(kValidValues));
}

Status PatternTokenizer::ParseKeyword(std::string_view word, PatternToken* token, PatternToken kind) {
  // The first character has been consumed.
  for (size_t i = 1; i < word.size(); ++i) {
    if (Peek() != word[i]) return ReportInvalidToken(std::string(word.substr(0, i)));
    Get();
  }
  if (pos_ < src_.size() && IsIdentifierPart(Peek())) return ReportInvalidToken(std::string(word));
  *token = kind;
  text_ = std::string(word);
  return Status::Ok();
}

Status PatternTokenizer::ParseNumber(int first, PatternToken* token) {
  std::string text(1, static_cast<char>(first));
  int c = first;
  if (c == '-') {
    c = Get();
    if (c < 0) return Error("Unexpected end-of-input in a Number value");
    if (c < '0' || c > '9') {
      return Error("Unexpected character (" + CharDescription(static_cast<uint32_t>(c)) +
                   ") in numeric value: expected digit (0-9) to follow minus sign, for valid "
                   "numeric value");
    }
    text.push_back(static_cast<char>(c));
  }
  if (c == '0' && Peek() >= '0' && Peek() <= '9') {
    return Error("Invalid numeric value: Leading zeroes not allowed");
  }
  while (Peek() >= '0' && Peek() <= '9') text.push_back(static_cast<char>(Get()));
  bool is_float = false;
  if (Peek() == '.') {
    is_float = true;
    text.push_back(static_cast<char>(Get()));
    int d = Get();
    if (d < 0) return Error("Unexpected end-of-input in a Number value");
    if (d < '0' || d > '9') {
      return Error("Unexpected character (" + CharDescription(static_cast<uint32_t>(d)) +
                   ") in numeric value: Decimal point not followed by a digit");
    }
    text.push_back(static_cast<char>(d));
    while (Peek() >= '0' && Peek() <= '9') text.push_back(static_cast<char>(Get()));
  }
  if (Peek() == 'e' || Peek() == 'E') {
    is_float = true;
    text.push_back(static_cast<char>(Get()));
    if (Peek() == '+' || Peek() == '-') text.push_back(static_cast<char>(Get()));
    int d = Get();
    if (d < 0) return Error("Unexpected end-of-input in a Number value");
    if (d < '0' || d > '9') {
      return Error("Unexpected character (" + CharDescription(static_cast<uint32_t>(d)) +
                   ") in numeric value: Exponent indicator not followed by a digit");
    }
    text.push_back(static_cast<char>(d));
    while (Peek() >= '0' && Peek() <= '9') text.push_back(static_cast<char>(Get()));
  }
  text_ = std::move(text);
  *token = is_float ? PatternToken::kNumberFloat : PatternToken::kNumberInt;
  return Status::Ok();
}

Status PatternTokenizer::ReadEscape(std::string* out, bool store) {
  int c = Get();
  if (c < 0) return Error("Unexpected end-of-input in character escape sequence");
  char simple = 0;
  switch (c) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'u': break;
    default:
      return Error("Unrecognized character escape " + CharDescription(static_cast<uint32_t>(c)));
  }
  if (simple != 0) {
    if (store) out->push_back(simple);
    return Status::Ok();
  }
  auto read_hex4 = [&](uint32_t* value) -> Status {
    *value = 0;
    for (int i = 0; i < 4; ++i) {
      int h = Get();
      if (h < 0) return Error("Unexpected end-of-input in character escape sequence");
      int v = HexValue(h);
      if (v < 0) return UnexpectedChar(h, "expected a hex-digit for character escape sequence");
      *value = (*value << 4) | static_cast<uint32_t>(v);
    }
    return Status::Ok();
  };
  uint32_t cp;
  GANTRY_RETURN_IF_ERROR(read_hex4(&cp));
  if (cp >= 0xD800 && cp <= 0xDBFF && Peek() == '\\' && pos_ + 1 < src_.size() &&
      src_[pos_ + 1] == 'u') {
    Get();
    Get();
    uint32_t low;
    GANTRY_RETURN_IF_ERROR(read_hex4(&low));
    if (low >= 0xDC00 && low <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else {
      if (store) out->push_back('?');  // an unpaired surrogate encodes as '?' in UTF-8
      cp = low;
    }
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) cp = '?';
  if (store) AppendUtf8(out, cp);
  return Status::Ok();
}

Status PatternTokenizer::ParseName() {
  // The opening quote has been consumed.
  field_name_.clear();
  while (true) {
    int c = Get();
    if (c < 0) return Error("Unexpected end-of-input in field name");
    if (c == '"') return Status::Ok();
    if (c == '\\') {
      GANTRY_RETURN_IF_ERROR(ReadEscape(&field_name_, true));
      continue;
    }
    if (c < 0x20) {
      return Error("Illegal unquoted character (" + CharDescription(static_cast<uint32_t>(c)) +
                   "): has to be escaped using backslash to be included in name");
    }
    field_name_.push_back(static_cast<char>(c));
  }
}

Status PatternTokenizer::FinishString() {
  text_.clear();
  string_incomplete_ = false;
  while (true) {
    int c = Get();
    if (c < 0) return Error("Unexpected end-of-input: was expecting closing quote for a string value");
    if (c == '"') return Status::Ok();
    if (c == '\\') {
      GANTRY_RETURN_IF_ERROR(ReadEscape(&text_, true));
      continue;
    }
    if (c < 0x20) {
      return Error("Illegal unquoted character (" + CharDescription(static_cast<uint32_t>(c)) +
                   "): has to be escaped using backslash to be included in string value");
    }
    text_.push_back(static_cast<char>(c));
  }
}

Status PatternTokenizer::SkipString() { return FinishString(); }

Status PatternTokenizer::NextValueToken(int c, PatternToken* token, bool after_name) {
  switch (c) {
    case '"':
      string_incomplete_ = true;
      *token = PatternToken::kString;
      return Status::Ok();
    case '[':
      *token = PatternToken::kStartArray;
      text_ = "[";
      return Status::Ok();
    case '{':
      *token = PatternToken::kStartObject;
      text_ = "{";
      return Status::Ok();
    case 't':
      return ParseKeyword("true", token, PatternToken::kTrue);
    case 'f':
      return ParseKeyword("false", token, PatternToken::kFalse);
    case 'n':
      return ParseKeyword("null", token, PatternToken::kNull);
    case '-':
      return ParseNumber(c, token);
    case ']':
    case '}':
      return UnexpectedChar(c, "expected a value");
    default:
      break;
  }
  if (c >= '0' && c <= '9') return ParseNumber(c, token);
  if (IsIdentifierStart(c)) {
    std::string prefix;
    size_t start = pos_ - 1;
    // Keep a multi-byte first character whole.
    prefix.append(src_.substr(start, 1));
    return ReportInvalidToken(prefix);
  }
  return UnexpectedChar(c, "expected a valid value " + std::string(kValidValues));
}

Status PatternTokenizer::Next(PatternToken* token) {
  if (current_ == PatternToken::kFieldName && pending_valid_) {
    pending_valid_ = false;
    current_ = pending_;
    if (current_ == PatternToken::kStartArray || current_ == PatternToken::kStartObject) {
      contexts_.push_back(Context{current_ == PatternToken::kStartArray ? Context::Kind::kArray
                                                                          : Context::Kind::kObject,
                                  false, pending_line_, pending_column_});
    }
    *token = current_;
    return Status::Ok();
  }
  if (string_incomplete_) GANTRY_RETURN_IF_ERROR(SkipString());

  int c;
  GANTRY_RETURN_IF_ERROR(SkipWhitespace(&c));
  if (c < 0) {
    if (contexts_.back().kind != Context::Kind::kRoot) return EndOfInputError();
    current_ = PatternToken::kEndOfInput;
    *token = current_;
    return Status::Ok();
  }
  int64_t token_line = line_;
  int64_t token_column = column_ - 1;

  Context& ctx = contexts_.back();
  if (c == ']' || c == '}') {
    bool closes = (c == ']' && ctx.kind == Context::Kind::kArray) ||
                  (c == '}' && ctx.kind == Context::Kind::kObject);
    if (!closes) {
      std::string type = ctx.kind == Context::Kind::kRoot    ? "root"
                         : ctx.kind == Context::Kind::kArray ? "Array"
                                                             : "Object";
      char expected = ctx.kind == Context::Kind::kArray ? ']' : '}';
      return Error(std::string("Unexpected close marker '") + static_cast<char>(c) + "': expected '" +
                   expected + "' (for " + type + " starting at " +
                   LocationString(ctx.start_line, ctx.start_column) + ")");
    }
    contexts_.pop_back();
    current_ = c == ']' ? PatternToken::kEndArray : PatternToken::kEndObject;
    text_ = std::string(1, static_cast<char>(c));
    contexts_.back().expect_comma = true;
    *token = current_;
    return Status::Ok();
  }

  if (ctx.expect_comma && ctx.kind != Context::Kind::kRoot) {
    if (c != ',') {
      return UnexpectedChar(c, std::string("was expecting comma to separate ") +
                                   (ctx.kind == Context::Kind::kArray ? "Array" : "Object") +
                                   " entries");
    }
    GANTRY_RETURN_IF_ERROR(SkipWhitespace(&c));
    if (c < 0) return EndOfInputError();
    token_line = line_;
    token_column = column_ - 1;
  }

  if (ctx.kind == Context::Kind::kObject) {
    if (c != '"') return UnexpectedChar(c, "was expecting double-quote to start field name");
    GANTRY_RETURN_IF_ERROR(ParseName());
    ctx.expect_comma = true;
    current_ = PatternToken::kFieldName;
    GANTRY_RETURN_IF_ERROR(SkipWhitespace(&c));
    if (c < 0) return EndOfInputError();
    if (c != ':') {
      return UnexpectedChar(c, "was expecting a colon to separate field name and value");
    }
    GANTRY_RETURN_IF_ERROR(SkipWhitespace(&c));
    if (c < 0) return EndOfInputError();
    pending_line_ = line_;
    pending_column_ = column_ - 1;
    GANTRY_RETURN_IF_ERROR(NextValueToken(c, &pending_, true));
    pending_valid_ = true;
    *token = current_;
    return Status::Ok();
  }

  ctx.expect_comma = true;
  GANTRY_RETURN_IF_ERROR(NextValueToken(c, &current_, false));
  if (current_ == PatternToken::kStartArray || current_ == PatternToken::kStartObject) {
    contexts_.push_back(Context{current_ == PatternToken::kStartArray ? Context::Kind::kArray
                                                                        : Context::Kind::kObject,
                                false, token_line, token_column});
  }
  *token = current_;
  return Status::Ok();
}

Status PatternTokenizer::Text(std::string* text) {
  switch (current_) {
    case PatternToken::kFieldName:
      *text = field_name_;
      return Status::Ok();
    case PatternToken::kString:
      if (string_incomplete_) GANTRY_RETURN_IF_ERROR(FinishString());
      *text = text_;
      return Status::Ok();
    case PatternToken::kEndOfInput:
      text->clear();
      return Status::Ok();
    default:
      *text = text_;
      return Status::Ok();
  }
}

}  // namespace gantry::events
