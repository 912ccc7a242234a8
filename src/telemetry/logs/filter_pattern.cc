#include "telemetry/logs/filter_pattern.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <nlohmann/json.hpp>

#include "telemetry/logs/filter_regex.h"

namespace gantry::telemetry::logs {

namespace {

// Alignments tried when matching a delimited pattern with several ellipses against one message.
constexpr int kMaxAlignSteps = 20000;
// Nesting of parentheses in JSON and delimited conditions.
constexpr int kMaxDepth = 64;

Status Invalid(std::string_view detail) {
  return Status::InvalidArgument("Invalid filter pattern: " + std::string(detail));
}

Status InvalidTerm(std::string_view term) {
  return Status::InvalidArgument("Invalid character(s) in term '" + std::string(term) + "'");
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view TrimBlank(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool IsWordByte(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// [+-]?(digits[.digits?]|.digits)([eE][+-]?digits)?, the whole string.
bool ParseNumber(std::string_view s, double* out) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp;
    if (exp == 0) return false;
  }
  if (i != s.size()) return false;
  std::string copy(s);
  *out = std::strtod(copy.c_str(), nullptr);
  return true;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  return ::memmem(haystack.data(), haystack.size(), needle.data(), needle.size()) != nullptr;
}

// A string value: '*' at the start and/or the end is a wildcard; elsewhere it is literal.
struct Glob {
  bool leading = false;
  bool trailing = false;
  std::string literal;

  static Glob Of(std::string_view text) {
    Glob g;
    if (!text.empty() && text.front() == '*') {
      g.leading = true;
      text.remove_prefix(1);
    }
    if (!text.empty() && text.back() == '*') {
      g.trailing = true;
      text.remove_suffix(1);
    }
    g.literal = std::string(text);
    return g;
  }

  bool Match(std::string_view s) const {
    if (leading && trailing) return Contains(s, literal);
    if (leading) return s.size() >= literal.size() && s.substr(s.size() - literal.size()) == literal;
    if (trailing) return s.substr(0, literal.size()) == literal;
    return s == literal;
  }
};

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };

// The right-hand side of a comparison.
struct Value {
  enum class Type { kText, kNumber, kRegex } type = Type::kText;
  std::string text;  // as written, without quotes
  Glob glob;
  double number = 0;
  std::shared_ptr<const FilterRegex> regex;
};

// A scalar taken from a message: its text and, when it is a number, its value.
struct Scalar {
  std::string_view text;
  bool numeric = false;
  double number = 0;
};

bool Compare(Op op, const Value& value, const Scalar& scalar) {
  switch (op) {
    case Op::kEq:
    case Op::kNe: {
      bool equal = false;
      switch (value.type) {
        case Value::Type::kNumber:
          equal = scalar.numeric ? scalar.number == value.number : scalar.text == value.text;
          break;
        case Value::Type::kRegex: equal = value.regex->Search(scalar.text); break;
        case Value::Type::kText: equal = value.glob.Match(scalar.text); break;
      }
      return op == Op::kEq ? equal : !equal;
    }
    case Op::kLt: return scalar.numeric && scalar.number < value.number;
    case Op::kLe: return scalar.numeric && scalar.number <= value.number;
    case Op::kGt: return scalar.numeric && scalar.number > value.number;
    case Op::kGe: return scalar.numeric && scalar.number >= value.number;
  }
  return false;
}

Scalar TextScalar(std::string_view text) {
  Scalar s;
  s.text = text;
  s.numeric = ParseNumber(text, &s.number);
  return s;
}

// ---- lexer shared by JSON and delimited conditions ----

enum class Tok { kEnd, kLParen, kRParen, kAnd, kOr, kOp, kString, kRegex, kWord, kSelector };

struct Token {
  Tok type = Tok::kEnd;
  std::string text;  // unquoted content for strings, the expression for regexes
  Op op = Op::kEq;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  StatusOr<Token> Next() {
    while (i_ < s_.size() && IsBlank(s_[i_])) ++i_;
    Token t;
    if (i_ >= s_.size()) return t;
    char c = s_[i_];
    auto two = [&](char second) { return i_ + 1 < s_.size() && s_[i_ + 1] == second; };
    switch (c) {
      case '(': ++i_, t.type = Tok::kLParen; return t;
      case ')': ++i_, t.type = Tok::kRParen; return t;
      case '&':
        if (!two('&')) return Invalid("expected '&&'");
        i_ += 2, t.type = Tok::kAnd;
        return t;
      case '|':
        if (!two('|')) return Invalid("expected '||'");
        i_ += 2, t.type = Tok::kOr;
        return t;
      case '=': ++i_, t.type = Tok::kOp, t.op = Op::kEq; return t;
      case '!':
        if (!two('=')) return Invalid("expected '!='");
        i_ += 2, t.type = Tok::kOp, t.op = Op::kNe;
        return t;
      case '<':
        t.type = Tok::kOp;
        if (two('=')) i_ += 2, t.op = Op::kLe;
        else ++i_, t.op = Op::kLt;
        return t;
      case '>':
        t.type = Tok::kOp;
        if (two('=')) i_ += 2, t.op = Op::kGe;
        else ++i_, t.op = Op::kGt;
        return t;
      case '"': {
        ++i_;
        t.type = Tok::kString;
        while (true) {
          if (i_ >= s_.size()) return Invalid("unterminated quoted string");
          char d = s_[i_++];
          if (d == '"') break;
          if (d == '\\' && i_ < s_.size()) d = s_[i_++];
          t.text.push_back(d);
        }
        return t;
      }
      case '%': {
        size_t end = s_.find('%', i_ + 1);
        if (end == std::string_view::npos) return Invalid("unterminated regular expression");
        t.type = Tok::kRegex;
        t.text = std::string(s_.substr(i_ + 1, end - i_ - 1));
        i_ = end + 1;
        return t;
      }
      case '$': {
        size_t start = i_++;
        while (i_ < s_.size()) {
          if (s_[i_] == '.') {
            ++i_;
            size_t name = i_;
            while (i_ < s_.size() && (IsWordByte(s_[i_]) || s_[i_] == '-')) ++i_;
            if (i_ == name) return Invalid("a selector needs a property name after '.'");
          } else if (s_[i_] == '[') {
            size_t close = s_.find(']', i_);
            if (close == std::string_view::npos) return Invalid("missing ']' in selector");
            std::string_view index = s_.substr(i_ + 1, close - i_ - 1);
            if (index.empty() || index.size() > 9 ||
                index.find_first_not_of("0123456789") != std::string_view::npos) {
              return Invalid("an array index must be a number");
            }
            i_ = close + 1;
          } else {
            break;
          }
        }
        t.type = Tok::kSelector;
        t.text = std::string(s_.substr(start, i_ - start));
        return t;
      }
      default: break;
    }
    size_t start = i_;
    while (i_ < s_.size() && !IsBlank(s_[i_]) && std::strchr("()\"%&|=!<>{}[],$", s_[i_]) == nullptr) ++i_;
    if (i_ == start) return Invalid(std::string("unexpected '") + c + "'");
    t.type = Tok::kWord;
    t.text = std::string(s_.substr(start, i_ - start));
    return t;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// A token stream with one token of lookahead.
class Tokens {
 public:
  explicit Tokens(std::string_view s) : lexer_(s) {}

  StatusOr<const Token*> Peek() {
    if (!has_) {
      GANTRY_ASSIGN_OR_RETURN(current_, lexer_.Next());
      has_ = true;
    }
    return &current_;
  }
  StatusOr<Token> Take() {
    GANTRY_RETURN_IF_ERROR(Peek().status());
    has_ = false;
    return std::move(current_);
  }

 private:
  Lexer lexer_;
  Token current_;
  bool has_ = false;
};

bool ValidBareValue(std::string_view word) {
  for (char c : word) {
    if (!IsWordByte(c) && std::strchr(".*:/+-", c) == nullptr) return false;
  }
  return true;
}

StatusOr<Value> ParseValue(Tokens& tokens, Op op) {
  GANTRY_ASSIGN_OR_RETURN(Token t, tokens.Take());
  Value v;
  switch (t.type) {
    case Tok::kString:
      v.type = Value::Type::kText;
      v.text = t.text;
      v.glob = Glob::Of(t.text);
      break;
    case Tok::kRegex: {
      GANTRY_ASSIGN_OR_RETURN(FilterRegex regex, FilterRegex::Compile(t.text));
      v.type = Value::Type::kRegex;
      v.text = t.text;
      v.regex = std::make_shared<const FilterRegex>(std::move(regex));
      break;
    }
    case Tok::kWord:
      if (!ValidBareValue(t.text)) return InvalidTerm(t.text);
      v.text = t.text;
      if (ParseNumber(t.text, &v.number)) {
        v.type = Value::Type::kNumber;
      } else {
        v.type = Value::Type::kText;
        v.glob = Glob::Of(t.text);
      }
      break;
    default: return Invalid("expected a value after a comparison operator");
  }
  if (op != Op::kEq && op != Op::kNe && v.type != Value::Type::kNumber) {
    return Invalid("'" + v.text + "' is not a number; <, <=, > and >= compare numbers");
  }
  return v;
}

// ---- JSON patterns ----

struct SelectorStep {
  bool is_index = false;
  std::string key;
  size_t index = 0;
};

struct JsonExpr {
  enum class Kind { kAnd, kOr, kCompare, kIsNull, kIsTrue, kIsFalse, kNotExists } kind = Kind::kCompare;
  std::vector<JsonExpr> children;
  std::vector<SelectorStep> selector;
  Op op = Op::kEq;
  Value value;
};

std::vector<SelectorStep> ParseSelector(std::string_view text) {
  std::vector<SelectorStep> steps;
  size_t i = 1;  // after '$'
  while (i < text.size()) {
    SelectorStep step;
    if (text[i] == '.') {
      size_t start = ++i;
      while (i < text.size() && text[i] != '.' && text[i] != '[') ++i;
      step.key = std::string(text.substr(start, i - start));
    } else {
      size_t close = text.find(']', i);
      step.is_index = true;
      step.index = static_cast<size_t>(std::strtoull(std::string(text.substr(i + 1, close - i - 1)).c_str(), nullptr, 10));
      i = close + 1;
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

bool KeywordIs(const Token& t, std::string_view word) {
  if (t.type != Tok::kWord || t.text.size() != word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(t.text[i])) != word[i]) return false;
  }
  return true;
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view body) : tokens_(body) {}

  StatusOr<JsonExpr> Parse() {
    GANTRY_ASSIGN_OR_RETURN(JsonExpr expr, Or(0));
    GANTRY_ASSIGN_OR_RETURN(const Token* t, tokens_.Peek());
    if (t->type != Tok::kEnd) return Invalid("unexpected '" + Describe(*t) + "' in JSON pattern");
    return expr;
  }

 private:
  static std::string Describe(const Token& t) {
    switch (t.type) {
      case Tok::kLParen: return "(";
      case Tok::kRParen: return ")";
      case Tok::kAnd: return "&&";
      case Tok::kOr: return "||";
      case Tok::kOp: return "operator";
      default: return t.text;
    }
  }

  StatusOr<JsonExpr> Or(int depth) {
    GANTRY_ASSIGN_OR_RETURN(JsonExpr left, And(depth));
    JsonExpr node;
    node.kind = JsonExpr::Kind::kOr;
    node.children.push_back(std::move(left));
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(const Token* t, tokens_.Peek());
      if (t->type != Tok::kOr) break;
      GANTRY_RETURN_IF_ERROR(tokens_.Take().status());
      GANTRY_ASSIGN_OR_RETURN(JsonExpr right, And(depth));
      node.children.push_back(std::move(right));
    }
    if (node.children.size() == 1) return std::move(node.children[0]);
    return node;
  }

  StatusOr<JsonExpr> And(int depth) {
    GANTRY_ASSIGN_OR_RETURN(JsonExpr left, Primary(depth));
    JsonExpr node;
    node.kind = JsonExpr::Kind::kAnd;
    node.children.push_back(std::move(left));
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(const Token* t, tokens_.Peek());
      if (t->type != Tok::kAnd) break;
      GANTRY_RETURN_IF_ERROR(tokens_.Take().status());
      GANTRY_ASSIGN_OR_RETURN(JsonExpr right, Primary(depth));
      node.children.push_back(std::move(right));
    }
    if (node.children.size() == 1) return std::move(node.children[0]);
    return node;
  }

  StatusOr<JsonExpr> Primary(int depth) {
    if (depth > kMaxDepth) return Invalid("too many nested parentheses");
    GANTRY_ASSIGN_OR_RETURN(Token t, tokens_.Take());
    if (t.type == Tok::kLParen) {
      GANTRY_ASSIGN_OR_RETURN(JsonExpr inner, Or(depth + 1));
      GANTRY_ASSIGN_OR_RETURN(Token close, tokens_.Take());
      if (close.type != Tok::kRParen) return Invalid("missing ')' in JSON pattern");
      return inner;
    }
    if (t.type != Tok::kSelector) {
      if (t.type == Tok::kEnd) return Invalid("a JSON pattern needs a condition such as { $.field = value }");
      return Invalid("expected a selector starting with '$', found '" + Describe(t) + "'");
    }
    JsonExpr expr;
    expr.selector = ParseSelector(t.text);
    GANTRY_ASSIGN_OR_RETURN(Token next, tokens_.Take());
    if (next.type == Tok::kOp) {
      expr.kind = JsonExpr::Kind::kCompare;
      expr.op = next.op;
      GANTRY_ASSIGN_OR_RETURN(expr.value, ParseValue(tokens_, next.op));
      return expr;
    }
    if (KeywordIs(next, "IS")) {
      GANTRY_ASSIGN_OR_RETURN(Token what, tokens_.Take());
      if (KeywordIs(what, "NULL")) expr.kind = JsonExpr::Kind::kIsNull;
      else if (KeywordIs(what, "TRUE")) expr.kind = JsonExpr::Kind::kIsTrue;
      else if (KeywordIs(what, "FALSE")) expr.kind = JsonExpr::Kind::kIsFalse;
      else return Invalid("expected NULL, TRUE or FALSE after IS");
      return expr;
    }
    if (KeywordIs(next, "NOT")) {
      GANTRY_ASSIGN_OR_RETURN(Token what, tokens_.Take());
      if (!KeywordIs(what, "EXISTS")) return Invalid("expected EXISTS after NOT");
      expr.kind = JsonExpr::Kind::kNotExists;
      return expr;
    }
    return Invalid("expected an operator, IS or NOT EXISTS after " + t.text);
  }

  Tokens tokens_;
};

const nlohmann::json* Resolve(const nlohmann::json& root, const std::vector<SelectorStep>& steps) {
  const nlohmann::json* node = &root;
  for (const auto& step : steps) {
    if (step.is_index) {
      if (!node->is_array() || step.index >= node->size()) return nullptr;
      node = &(*node)[step.index];
    } else {
      if (!node->is_object()) return nullptr;
      auto it = node->find(step.key);
      if (it == node->end()) return nullptr;
      node = &*it;
    }
  }
  return node;
}

bool Evaluate(const JsonExpr& expr, const nlohmann::json& root) {
  switch (expr.kind) {
    case JsonExpr::Kind::kAnd:
      for (const auto& child : expr.children) {
        if (!Evaluate(child, root)) return false;
      }
      return true;
    case JsonExpr::Kind::kOr:
      for (const auto& child : expr.children) {
        if (Evaluate(child, root)) return true;
      }
      return false;
    case JsonExpr::Kind::kNotExists: return Resolve(root, expr.selector) == nullptr;
    case JsonExpr::Kind::kIsNull: {
      const nlohmann::json* v = Resolve(root, expr.selector);
      return v != nullptr && v->is_null();
    }
    case JsonExpr::Kind::kIsTrue:
    case JsonExpr::Kind::kIsFalse: {
      const nlohmann::json* v = Resolve(root, expr.selector);
      return v != nullptr && v->is_boolean() && v->get<bool>() == (expr.kind == JsonExpr::Kind::kIsTrue);
    }
    case JsonExpr::Kind::kCompare: {
      const nlohmann::json* v = Resolve(root, expr.selector);
      if (v == nullptr) return false;
      if (v->is_string()) {
        const std::string& text = v->get_ref<const std::string&>();
        return Compare(expr.op, expr.value, TextScalar(text));
      }
      if (v->is_number()) {
        std::string text = v->dump();
        Scalar s;
        s.text = text;
        s.numeric = true;
        s.number = v->get<double>();
        return Compare(expr.op, expr.value, s);
      }
      if (v->is_boolean()) {
        Scalar s;
        s.text = v->get<bool>() ? "true" : "false";
        return Compare(expr.op, expr.value, s);
      }
      return false;
    }
  }
  return false;
}

// ---- space-delimited patterns ----

struct DelimExpr {
  enum class Kind { kAnd, kOr, kCond } kind = Kind::kCond;
  std::vector<DelimExpr> children;
  std::string name;
  Op op = Op::kEq;
  Value value;
};

struct DelimField {
  bool ellipsis = false;
  std::string name;
  std::optional<DelimExpr> condition;
};

bool ValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsWordByte(c) && c != '-') return false;
  }
  return true;
}

class DelimParser {
 public:
  explicit DelimParser(std::string_view spec) : tokens_(spec) {}

  // The field's conditions; `name` is set to the first field name they mention.
  StatusOr<std::optional<DelimExpr>> Parse(std::string* name) {
    GANTRY_ASSIGN_OR_RETURN(const Token* first, tokens_.Peek());
    if (first->type == Tok::kWord) {
      // A bare name without conditions.
      Token word = *first;
      GANTRY_RETURN_IF_ERROR(tokens_.Take().status());
      GANTRY_ASSIGN_OR_RETURN(const Token* after, tokens_.Peek());
      if (after->type == Tok::kEnd) {
        if (!ValidFieldName(word.text)) return InvalidTerm(word.text);
        *name = word.text;
        return std::optional<DelimExpr>();
      }
      pending_ = std::move(word);
    }
    GANTRY_ASSIGN_OR_RETURN(DelimExpr expr, Or(0));
    GANTRY_ASSIGN_OR_RETURN(const Token* end, tokens_.Peek());
    if (end->type != Tok::kEnd) return Invalid("unexpected '" + end->text + "' in a field condition");
    *name = first_name_;
    return std::optional<DelimExpr>(std::move(expr));
  }

 private:
  StatusOr<Token> Take() {
    if (pending_) {
      Token t = std::move(*pending_);
      pending_.reset();
      return t;
    }
    return tokens_.Take();
  }
  StatusOr<Tok> PeekType() {
    if (pending_) return pending_->type;
    GANTRY_ASSIGN_OR_RETURN(const Token* t, tokens_.Peek());
    return t->type;
  }

  StatusOr<DelimExpr> Or(int depth) {
    DelimExpr node;
    node.kind = DelimExpr::Kind::kOr;
    GANTRY_ASSIGN_OR_RETURN(DelimExpr left, And(depth));
    node.children.push_back(std::move(left));
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(Tok type, PeekType());
      if (type != Tok::kOr) break;
      GANTRY_RETURN_IF_ERROR(Take().status());
      GANTRY_ASSIGN_OR_RETURN(DelimExpr right, And(depth));
      node.children.push_back(std::move(right));
    }
    if (node.children.size() == 1) return std::move(node.children[0]);
    return node;
  }

  StatusOr<DelimExpr> And(int depth) {
    DelimExpr node;
    node.kind = DelimExpr::Kind::kAnd;
    GANTRY_ASSIGN_OR_RETURN(DelimExpr left, Primary(depth));
    node.children.push_back(std::move(left));
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(Tok type, PeekType());
      if (type != Tok::kAnd) break;
      GANTRY_RETURN_IF_ERROR(Take().status());
      GANTRY_ASSIGN_OR_RETURN(DelimExpr right, Primary(depth));
      node.children.push_back(std::move(right));
    }
    if (node.children.size() == 1) return std::move(node.children[0]);
    return node;
  }

  StatusOr<DelimExpr> Primary(int depth) {
    if (depth > kMaxDepth) return Invalid("too many nested parentheses");
    GANTRY_ASSIGN_OR_RETURN(Token t, Take());
    if (t.type == Tok::kLParen) {
      GANTRY_ASSIGN_OR_RETURN(DelimExpr inner, Or(depth + 1));
      GANTRY_ASSIGN_OR_RETURN(Token close, Take());
      if (close.type != Tok::kRParen) return Invalid("missing ')' in a field condition");
      return inner;
    }
    if (t.type != Tok::kWord) return Invalid("a field condition needs a field name, as in status = 404");
    if (!ValidFieldName(t.text)) return InvalidTerm(t.text);
    GANTRY_ASSIGN_OR_RETURN(Token op, Take());
    if (op.type != Tok::kOp) return Invalid("expected a comparison operator after " + t.text);
    DelimExpr cond;
    cond.kind = DelimExpr::Kind::kCond;
    cond.name = t.text;
    cond.op = op.op;
    if (pending_) return Invalid("unexpected token in a field condition");
    GANTRY_ASSIGN_OR_RETURN(cond.value, ParseValue(tokens_, op.op));
    if (first_name_.empty()) first_name_ = cond.name;
    return cond;
  }

  Tokens tokens_;
  std::optional<Token> pending_;
  std::string first_name_;
};

// Splits a delimited pattern's body at commas outside quotes and %regex%.
StatusOr<std::vector<std::string_view>> SplitFields(std::string_view body) {
  std::vector<std::string_view> pieces;
  size_t start = 0;
  bool quoted = false, regex = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
      continue;
    }
    if (regex) {
      if (c == '%') regex = false;
      continue;
    }
    if (c == '"') quoted = true;
    else if (c == '%') regex = true;
    else if (c == ',') {
      pieces.push_back(body.substr(start, i - start));
      start = i + 1;
    }
  }
  if (quoted) return Invalid("unterminated quoted string");
  if (regex) return Invalid("unterminated regular expression");
  pieces.push_back(body.substr(start));
  return pieces;
}

// The fields of a message: runs of non-blank bytes; "..." and [...] are one field each.
std::vector<std::string_view> SplitMessage(std::string_view message) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (true) {
    while (i < message.size() && (message[i] == ' ' || message[i] == '\t')) ++i;
    if (i >= message.size()) break;
    char c = message[i];
    if (c == '"' || c == '[') {
      char close = c == '"' ? '"' : ']';
      size_t j = i + 1;
      while (j < message.size() && message[j] != close) {
        if (c == '"' && message[j] == '\\') ++j;
        ++j;
      }
      if (j > message.size()) j = message.size();
      fields.push_back(message.substr(i + 1, j - i - 1));
      i = j < message.size() ? j + 1 : j;
    } else {
      size_t j = i;
      while (j < message.size() && message[j] != ' ' && message[j] != '\t') ++j;
      fields.push_back(message.substr(i, j - i));
      i = j;
    }
  }
  return fields;
}

struct Binding {
  const std::vector<DelimField>* pattern;
  const std::vector<std::string_view>* message;
  std::vector<int> field_of;  // per pattern field: the message field it is bound to, or -1
  int steps = 0;

  const std::string_view* Lookup(std::string_view name) const {
    for (size_t p = 0; p < pattern->size(); ++p) {
      if ((*pattern)[p].name == name && field_of[p] >= 0) return &(*message)[static_cast<size_t>(field_of[p])];
    }
    return nullptr;
  }
};

bool EvaluateDelim(const DelimExpr& expr, const Binding& binding) {
  switch (expr.kind) {
    case DelimExpr::Kind::kAnd:
      for (const auto& child : expr.children) {
        if (!EvaluateDelim(child, binding)) return false;
      }
      return true;
    case DelimExpr::Kind::kOr:
      for (const auto& child : expr.children) {
        if (EvaluateDelim(child, binding)) return true;
      }
      return false;
    case DelimExpr::Kind::kCond: {
      const std::string_view* text = binding.Lookup(expr.name);
      return text != nullptr && Compare(expr.op, expr.value, TextScalar(*text));
    }
  }
  return false;
}

bool Align(Binding& b, size_t p, size_t m) {
  if (++b.steps > kMaxAlignSteps) return false;
  const auto& pattern = *b.pattern;
  const size_t fields = b.message->size();
  if (p == pattern.size()) {
    if (m != fields) return false;
    for (const auto& field : pattern) {
      if (field.condition && !EvaluateDelim(*field.condition, b)) return false;
    }
    return true;
  }
  if (pattern[p].ellipsis) {
    for (size_t k = m; k <= fields; ++k) {
      if (Align(b, p + 1, k)) return true;
      if (b.steps > kMaxAlignSteps) return false;
    }
    return false;
  }
  if (m >= fields) return false;
  b.field_of[p] = static_cast<int>(m);
  if (Align(b, p + 1, m + 1)) return true;
  b.field_of[p] = -1;
  return false;
}

// ---- terms ----

struct Term {
  enum class Mode { kAll, kAny, kNone } mode = Mode::kAll;
  std::string text;
};

StatusOr<std::vector<Term>> ParseTerms(std::string_view text) {
  std::vector<Term> terms;
  size_t i = 0;
  while (true) {
    while (i < text.size() && IsBlank(text[i])) ++i;
    if (i >= text.size()) break;
    Term term;
    if (text[i] == '?' || text[i] == '-') {
      term.mode = text[i] == '?' ? Term::Mode::kAny : Term::Mode::kNone;
      ++i;
      while (i < text.size() && IsBlank(text[i])) ++i;
      if (i >= text.size()) return InvalidTerm(term.mode == Term::Mode::kAny ? "?" : "-");
    }
    if (text[i] == '"') {
      size_t start = i++;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < text.size()) c = text[i++];
        term.text.push_back(c);
      }
      if (!closed) return InvalidTerm(text.substr(start));
      if (term.text.empty()) return InvalidTerm("\"\"");
    } else {
      size_t start = i;
      while (i < text.size() && !IsBlank(text[i])) ++i;
      std::string_view word = text.substr(start, i - start);
      for (char c : word) {
        if (!IsWordByte(c)) return InvalidTerm(word);
      }
      term.text = std::string(word);
    }
    terms.push_back(std::move(term));
  }
  return terms;
}

}  // namespace

struct FilterPattern::Impl {
  Kind kind = Kind::kAll;
  std::vector<Term> terms;
  bool any_terms = false;  // some term is ?optional
  std::optional<FilterRegex> regex;
  std::optional<JsonExpr> json;
  std::vector<DelimField> fields;
  std::string required_literal;
  std::vector<std::vector<std::string>> literal_groups;
};

FilterPattern::FilterPattern() : impl_(std::make_shared<const Impl>()) {}

StatusOr<FilterPattern> FilterPattern::Parse(std::string_view text) {
  auto impl = std::make_shared<Impl>();
  std::string_view body = TrimBlank(text);
  if (body.empty()) return FilterPattern(std::move(impl));

  if (body.front() == '{') {
    if (body.back() != '}') return Invalid("a JSON pattern must end with '}'");
    GANTRY_ASSIGN_OR_RETURN(JsonExpr expr, JsonParser(body.substr(1, body.size() - 2)).Parse());
    impl->kind = Kind::kJson;
    impl->json = std::move(expr);
    return FilterPattern(std::move(impl));
  }

  if (body.front() == '[') {
    if (body.back() != ']') return Invalid("a space-delimited pattern must end with ']'");
    std::string_view inner = TrimBlank(body.substr(1, body.size() - 2));
    if (inner.empty()) return Invalid("a space-delimited pattern needs at least one field");
    GANTRY_ASSIGN_OR_RETURN(std::vector<std::string_view> pieces, SplitFields(inner));
    for (std::string_view piece : pieces) {
      piece = TrimBlank(piece);
      DelimField field;
      if (piece == "...") {
        field.ellipsis = true;
        if (!impl->fields.empty() && impl->fields.back().ellipsis) continue;
      } else if (!piece.empty()) {
        GANTRY_ASSIGN_OR_RETURN(field.condition, DelimParser(piece).Parse(&field.name));
      }
      impl->fields.push_back(std::move(field));
    }
    impl->kind = Kind::kDelimited;
    return FilterPattern(std::move(impl));
  }

  if (body.size() >= 2 && body.front() == '%' && body.back() == '%' &&
      body.find('%', 1) == body.size() - 1) {
    GANTRY_ASSIGN_OR_RETURN(FilterRegex regex, FilterRegex::Compile(body.substr(1, body.size() - 2)));
    impl->kind = Kind::kRegex;
    impl->regex = std::move(regex);
    return FilterPattern(std::move(impl));
  }

  GANTRY_ASSIGN_OR_RETURN(impl->terms, ParseTerms(body));
  impl->kind = Kind::kTerms;
  std::vector<std::string> any;
  for (const Term& term : impl->terms) {
    if (term.mode == Term::Mode::kAny) {
      impl->any_terms = true;
      any.push_back(term.text);
    }
    if (term.mode == Term::Mode::kAll) {
      impl->literal_groups.push_back({term.text});
      if (term.text.size() > impl->required_literal.size()) impl->required_literal = term.text;
    }
  }
  if (!any.empty()) impl->literal_groups.push_back(std::move(any));
  return FilterPattern(std::move(impl));
}

FilterPattern::Kind FilterPattern::kind() const { return impl_->kind; }

const std::string& FilterPattern::required_literal() const { return impl_->required_literal; }

const std::vector<std::vector<std::string>>& FilterPattern::literal_groups() const { return impl_->literal_groups; }

bool FilterPattern::json_only() const { return impl_->kind == Kind::kJson; }

bool FilterPattern::Matches(std::string_view message) const { return Match(message, nullptr); }

bool FilterPattern::Match(std::string_view message, Fields* fields) const {
  if (fields != nullptr) fields->clear();
  const Impl& p = *impl_;
  switch (p.kind) {
    case Kind::kAll: return true;
    case Kind::kTerms: {
      bool any = false;
      for (const Term& term : p.terms) {
        bool found = Contains(message, term.text);
        switch (term.mode) {
          case Term::Mode::kAll:
            if (!found) return false;
            break;
          case Term::Mode::kNone:
            if (found) return false;
            break;
          case Term::Mode::kAny: any = any || found; break;
        }
      }
      return !p.any_terms || any;
    }
    case Kind::kRegex: return p.regex->Search(message);
    case Kind::kJson: {
      std::string_view body = TrimBlank(message);
      if (body.empty() || (body.front() != '{' && body.front() != '[')) return false;
      nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
      if (doc.is_discarded()) return false;
      return Evaluate(*p.json, doc);
    }
    case Kind::kDelimited: {
      std::vector<std::string_view> parts = SplitMessage(message);
      Binding binding{&p.fields, &parts, std::vector<int>(p.fields.size(), -1), 0};
      if (!Align(binding, 0, 0)) return false;
      if (fields != nullptr) {
        std::vector<int> named(parts.size(), -1);
        for (size_t f = 0; f < p.fields.size(); ++f) {
          if (binding.field_of[f] >= 0 && !p.fields[f].name.empty()) named[static_cast<size_t>(binding.field_of[f])] = static_cast<int>(f);
        }
        for (size_t m = 0; m < parts.size(); ++m) {
          std::string key = named[m] >= 0 ? "$" + p.fields[static_cast<size_t>(named[m])].name : "$" + std::to_string(m + 1);
          fields->emplace_back(std::move(key), std::string(parts[m]));
        }
      }
      return true;
    }
  }
  return false;
}

}  // namespace gantry::telemetry::logs
