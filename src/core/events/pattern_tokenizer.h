// PatternTokenizer: a pull tokenizer for the JSON text of an EventBridge event pattern.
// EventBridge compiles patterns with a streaming JSON parser (Jackson) and quotes that parser's
// messages and positions in InvalidEventPatternException ("... at [Source: (String)"..."; line: 1,
// column: 11]"). To give users the same messages, this tokenizer reproduces the parser's observable
// behaviour: which token it has consumed when an error is reported (a field name's value is read
// ahead; a string value's text is only read when asked for), its error texts, and its locations.
// Internal to core/events. Not thread-safe: one tokenizer per parse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace gantry::events {

enum class PatternToken {
  kEndOfInput,
  kStartObject,
  kEndObject,
  kStartArray,
  kEndArray,
  kFieldName,
  kString,
  kNumberInt,
  kNumberFloat,
  kTrue,
  kFalse,
  kNull,
};

class PatternTokenizer {
 public:
  explicit PatternTokenizer(std::string_view source) : src_(source) {}

  // Advances to the next token. Malformed JSON becomes an error whose message is the parser's
  // message followed by "\n at [Source: ...]".
  Status Next(PatternToken* token);
  PatternToken current() const { return current_; }

  // The current field name (after kFieldName).
  const std::string& field_name() const { return field_name_; }
  // Text of the current token: a string's value (finishing a lazily read string), a number's
  // literal text, or the punctuation/keyword itself ("[", "}", "true", ...).
  Status Text(std::string* text);

  // "<message>\n at [Source: (String)"..."; line: L, column: C]" at the current position.
  std::string Located(std::string_view message) const;

 private:
  struct Context {
    enum class Kind { kRoot, kObject, kArray } kind;
    bool expect_comma = false;
    int64_t start_line = 1;
    int64_t start_column = 1;
  };

  Status NextValueToken(int c, PatternToken* token, bool after_name);
  Status ParseNumber(int first, PatternToken* token);
  Status ParseKeyword(std::string_view word, PatternToken* token, PatternToken kind);
  Status ParseName();
  Status FinishString();
  Status SkipString();
  Status ReadEscape(std::string* out, bool store);
  Status ReportInvalidToken(std::string prefix);
  Status Error(std::string_view message) const;
  Status UnexpectedChar(int c, std::string_view comment) const;
  Status EndOfInputError() const;

  // Next non-whitespace character, consuming it; -1 at end of input.
  Status SkipWhitespace(int* c);
  int Peek() const { return pos_ < src_.size() ? static_cast<unsigned char>(src_[pos_]) : -1; }
  int Get();
  std::string SourceDescription() const;
  std::string LocationString(int64_t line, int64_t column) const;

  std::string_view src_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  int64_t column_ = 1;  // column of the character at pos_ (1-based, in UTF-16 units)

  std::vector<Context> contexts_{Context{Context::Kind::kRoot}};
  PatternToken current_ = PatternToken::kEndOfInput;
  PatternToken pending_ = PatternToken::kEndOfInput;  // value read ahead after a field name
  bool pending_valid_ = false;
  int64_t pending_line_ = 1;    // where the read-ahead value starts (for its context)
  int64_t pending_column_ = 1;
  bool string_incomplete_ = false;  // a string token whose text has not been read yet
  std::string field_name_;
  std::string text_;
};

}  // namespace gantry::events
