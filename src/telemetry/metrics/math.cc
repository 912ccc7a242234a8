#include "telemetry/metrics/math.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <map>
#include <set>
#include <utility>

#include "core/common/strings.h"

namespace gantry::telemetry::metrics::math {

// --- Values -------------------------------------------------------------------------------------

Value Value::Scalar(double v) {
  Value out;
  out.kind = Kind::kScalar;
  out.scalar = v;
  return out;
}

Value Value::Series(TimeSeries s) {
  Value out;
  out.kind = Kind::kSeries;
  out.series.push_back(std::move(s));
  return out;
}

Value Value::Array(std::vector<TimeSeries> s) {
  Value out;
  out.kind = Kind::kArray;
  out.series = std::move(s);
  return out;
}

bool IsValidId(std::string_view s) {
  if (s.empty() || !std::islower(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// --- Syntax tree --------------------------------------------------------------------------------

struct Node {
  enum class Kind { kNumber, kString, kIdentifier, kKeyword, kCall, kUnary, kBinary, kRange };
  Kind kind = Kind::kNumber;
  double number = 0;
  std::string text;  // the identifier, keyword, string, operator or function name (upper case)
  size_t position = 0;
  std::vector<std::unique_ptr<Node>> children;
};

Expression::Expression() = default;
Expression::~Expression() = default;
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;

namespace {

struct FunctionArity {
  const char* name;
  size_t min_args;
  size_t max_args;
};

constexpr FunctionArity kFunctions[] = {
    {"ABS", 1, 1},          {"CEIL", 1, 1},         {"FLOOR", 1, 1},       {"LOG", 1, 1},
    {"LOG10", 1, 1},        {"AVG", 1, 1},          {"MIN", 1, 1},         {"MAX", 1, 1},
    {"SUM", 1, 1},          {"STDDEV", 1, 1},       {"DATAPOINT_COUNT", 1, 1}, {"METRIC_COUNT", 1, 1},
    {"DIFF", 1, 1},         {"DIFF_TIME", 1, 1},    {"RATE", 1, 1},        {"RUNNING_SUM", 1, 1},
    {"FILL", 2, 2},         {"IF", 2, 3},           {"METRICS", 0, 1},     {"FIRST", 1, 1},
    {"LAST", 1, 1},         {"SORT", 3, 4},         {"SLICE", 2, 2},       {"REMOVE_EMPTY", 1, 1},
    {"TIME_SERIES", 1, 1},  {"PERIOD", 1, 1},       {"MINUTE", 1, 1},      {"HOUR", 1, 1},
    {"DAY", 1, 1},          {"DATE", 1, 1},         {"MONTH", 1, 1},       {"YEAR", 1, 1},
    {"EPOCH", 1, 1},        {"SEARCH", 3, 3},       {"ANOMALY_DETECTION_BAND", 1, 2},
};

const FunctionArity* FindFunction(std::string_view upper) {
  for (const auto& f : kFunctions) {
    if (upper == f.name) return &f;
  }
  return nullptr;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// --- Lexer ---------------------------------------------------------------------------------------

struct Token {
  enum class Kind { kEnd, kNumber, kName, kString, kOp };
  Kind kind = Kind::kEnd;
  std::string text;
  double number = 0;
  size_t position = 0;  // 1-based column
};

StatusOr<std::vector<Token>> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    Token t;
    t.position = i + 1;
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
          j = k;
          while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        }
      }
      std::string text(s.substr(i, j - i));
      char* end = nullptr;
      t.number = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) {
        return Status::InvalidArgument("Invalid number '" + text + "' at position " + std::to_string(t.position));
      }
      t.kind = Token::Kind::kNumber;
      t.text = std::move(text);
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      t.kind = Token::Kind::kName;
      t.text = std::string(s.substr(i, j - i));
      i = j;
    } else if (c == '"' || c == '\'') {
      size_t j = i + 1;
      std::string text;
      while (j < s.size() && s[j] != c) {
        if (s[j] == '\\' && j + 1 < s.size()) ++j;
        text += s[j++];
      }
      if (j >= s.size()) {
        return Status::InvalidArgument("Unterminated string starting at position " + std::to_string(t.position));
      }
      t.kind = Token::Kind::kString;
      t.text = std::move(text);
      i = j + 1;
    } else {
      static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "&&", "||"};
      t.kind = Token::Kind::kOp;
      for (std::string_view op : kTwo) {
        if (s.substr(i, 2) == op) t.text = std::string(op);
      }
      if (t.text.empty()) {
        if (std::string_view("+-*/^(),:<>").find(c) == std::string_view::npos) {
          return Status::InvalidArgument("Unexpected character '" + std::string(1, c) + "' at position " +
                                         std::to_string(t.position));
        }
        t.text = std::string(1, c);
      }
      i += t.text.size();
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.position = s.size() + 1;
  out.push_back(end);
  return out;
}

// --- Parser --------------------------------------------------------------------------------------
// Precedence, lowest first: OR ||, AND &&, comparisons, + -, * /, unary -, ^ (right-associative).

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  StatusOr<std::unique_ptr<Node>> ParseAll() {
    GANTRY_ASSIGN_OR_RETURN(auto root, ParseOr());
    if (Peek().kind != Token::Kind::kEnd) return Unexpected();
    return root;
  }

  std::vector<std::string> references;
  bool uses_metrics = false;
  int search_count = 0;

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool IsOp(std::string_view op) const { return Peek().kind == Token::Kind::kOp && Peek().text == op; }
  bool IsWord(std::string_view word) const { return Peek().kind == Token::Kind::kName && Upper(Peek().text) == word; }

  Status Unexpected() const {
    const Token& t = Peek();
    if (t.kind == Token::Kind::kEnd) return Status::InvalidArgument("Unexpected end of expression");
    return Status::InvalidArgument("Unexpected '" + t.text + "' at position " + std::to_string(t.position));
  }

  static std::unique_ptr<Node> Binary(std::string op, size_t position, std::unique_ptr<Node> a, std::unique_ptr<Node> b) {
    auto n = std::make_unique<Node>();
    n->kind = Node::Kind::kBinary;
    n->text = std::move(op);
    n->position = position;
    n->children.push_back(std::move(a));
    n->children.push_back(std::move(b));
    return n;
  }

  // Parentheses, unary minus and ^ recurse: nesting is bounded so no input exhausts the stack.
  template <typename F>
  StatusOr<std::unique_ptr<Node>> Nested(F parse) {
    if (++depth_ > kMaxDepth) return Status::InvalidArgument("The expression is nested too deeply");
    auto result = parse();
    --depth_;
    return result;
  }

  StatusOr<std::unique_ptr<Node>> ParseOr() {
    return Nested([this] { return ParseOrInner(); });
  }

  StatusOr<std::unique_ptr<Node>> ParseOrInner() {
    GANTRY_ASSIGN_OR_RETURN(auto left, ParseAnd());
    while (IsOp("||") || IsWord("OR")) {
      size_t position = Next().position;
      GANTRY_ASSIGN_OR_RETURN(auto right, ParseAnd());
      left = Binary("OR", position, std::move(left), std::move(right));
    }
    return left;
  }

  StatusOr<std::unique_ptr<Node>> ParseAnd() {
    GANTRY_ASSIGN_OR_RETURN(auto left, ParseComparison());
    while (IsOp("&&") || IsWord("AND")) {
      size_t position = Next().position;
      GANTRY_ASSIGN_OR_RETURN(auto right, ParseComparison());
      left = Binary("AND", position, std::move(left), std::move(right));
    }
    return left;
  }

  // A left-associative level of binary operators: operands parsed by `operand`, joined by any of
  // the operator tokens `ops`.
  template <typename F>
  StatusOr<std::unique_ptr<Node>> ParseBinaryLevel(std::initializer_list<std::string_view> ops, F operand) {
    GANTRY_ASSIGN_OR_RETURN(auto left, operand());
    while (std::any_of(ops.begin(), ops.end(), [this](std::string_view op) { return IsOp(op); })) {
      const Token& op = Next();
      std::string text = op.text;
      size_t position = op.position;
      GANTRY_ASSIGN_OR_RETURN(auto right, operand());
      left = Binary(text, position, std::move(left), std::move(right));
    }
    return left;
  }

  StatusOr<std::unique_ptr<Node>> ParseComparison() {
    return ParseBinaryLevel({"==", "!=", "<", ">", "<=", ">="}, [this] { return ParseAdditive(); });
  }

  StatusOr<std::unique_ptr<Node>> ParseAdditive() {
    return ParseBinaryLevel({"+", "-"}, [this] { return ParseMultiplicative(); });
  }

  StatusOr<std::unique_ptr<Node>> ParseMultiplicative() {
    return ParseBinaryLevel({"*", "/"}, [this] { return ParseUnary(); });
  }

  StatusOr<std::unique_ptr<Node>> ParseUnary() {
    return Nested([this] { return ParseUnaryInner(); });
  }

  StatusOr<std::unique_ptr<Node>> ParseUnaryInner() {
    if (IsOp("-") || IsOp("+")) {
      const Token& op = Next();
      std::string text = op.text;
      size_t position = op.position;
      GANTRY_ASSIGN_OR_RETURN(auto operand, ParseUnary());
      if (text == "+") return operand;
      auto n = std::make_unique<Node>();
      n->kind = Node::Kind::kUnary;
      n->text = "-";
      n->position = position;
      n->children.push_back(std::move(operand));
      return n;
    }
    return ParsePower();
  }

  StatusOr<std::unique_ptr<Node>> ParsePower() {
    GANTRY_ASSIGN_OR_RETURN(auto base, ParsePrimary());
    if (IsOp("^")) {
      size_t position = Next().position;
      GANTRY_ASSIGN_OR_RETURN(auto exponent, ParseUnary());
      return Binary("^", position, std::move(base), std::move(exponent));
    }
    return base;
  }

  StatusOr<std::unique_ptr<Node>> ParsePrimary() {
    const Token& t = Peek();
    auto n = std::make_unique<Node>();
    n->position = t.position;
    switch (t.kind) {
      case Token::Kind::kNumber:
        n->kind = Node::Kind::kNumber;
        n->number = t.number;
        Next();
        return n;
      case Token::Kind::kString:
        n->kind = Node::Kind::kString;
        n->text = t.text;
        Next();
        return n;
      case Token::Kind::kOp:
        if (t.text == "(") {
          Next();
          GANTRY_ASSIGN_OR_RETURN(auto inner, ParseOr());
          if (!IsOp(")")) return Unexpected();
          Next();
          return inner;
        }
        return Unexpected();
      case Token::Kind::kEnd:
        return Unexpected();
      case Token::Kind::kName:
        break;
    }
    std::string name = t.text;
    Next();
    if (IsOp("(")) return ParseCall(std::move(name), n->position);
    if (std::islower(static_cast<unsigned char>(name[0]))) {
      n->kind = Node::Kind::kIdentifier;
      if (std::find(references.begin(), references.end(), name) == references.end()) references.push_back(name);
    } else {
      n->kind = Node::Kind::kKeyword;
      name = Upper(name);
    }
    n->text = std::move(name);
    return n;
  }

  StatusOr<std::unique_ptr<Node>> ParseCall(std::string name, size_t position) {
    std::string upper = Upper(name);
    const FunctionArity* function = FindFunction(upper);
    if (!function) return Status::InvalidArgument("Unrecognized function '" + name + "' at position " + std::to_string(position));
    if (upper == "METRICS") uses_metrics = true;
    if (upper == "SEARCH") ++search_count;
    Next();  // (
    auto n = std::make_unique<Node>();
    n->kind = Node::Kind::kCall;
    n->text = upper;
    n->position = position;
    if (!IsOp(")")) {
      while (true) {
        GANTRY_ASSIGN_OR_RETURN(auto arg, ParseOr());
        if (IsOp(":")) {
          size_t colon = Next().position;
          GANTRY_ASSIGN_OR_RETURN(auto end, ParseOr());
          auto range = std::make_unique<Node>();
          range->kind = Node::Kind::kRange;
          range->position = colon;
          range->children.push_back(std::move(arg));
          range->children.push_back(std::move(end));
          arg = std::move(range);
        }
        n->children.push_back(std::move(arg));
        if (IsOp(",")) {
          Next();
          continue;
        }
        break;
      }
    }
    if (!IsOp(")")) return Unexpected();
    Next();
    size_t count = n->children.size();
    if (count < function->min_args || count > function->max_args) {
      std::string expected = function->min_args == function->max_args
                                 ? std::to_string(function->min_args)
                                 : std::to_string(function->min_args) + " to " + std::to_string(function->max_args);
      return Status::InvalidArgument("Function " + upper + " takes " + expected + " argument" +
                                     (function->max_args == 1 ? "" : "s") + ", but " + std::to_string(count) +
                                     (count == 1 ? " was" : " were") + " given");
    }
    return n;
  }

  static constexpr int kMaxDepth = 100;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

StatusOr<Expression> Parse(std::string_view text) {
  if (Trim(text).empty()) return Status::InvalidArgument("The expression is empty");
  GANTRY_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(text));
  Parser parser(std::move(tokens));
  GANTRY_ASSIGN_OR_RETURN(auto root, parser.ParseAll());
  Expression out;
  out.root_ = std::move(root);
  out.references_ = std::move(parser.references);
  out.uses_metrics_ = parser.uses_metrics;
  out.search_count_ = parser.search_count;
  return out;
}

// --- SEARCH queries --------------------------------------------------------------------------------

struct SearchQuery::Term {
  enum class Kind { kAnd, kOr, kNot, kProperty, kText };
  Kind kind = Kind::kText;
  std::string name;   // kProperty: the property
  std::string value;  // kProperty / kText
  bool exact = false;  // kText: a quoted term (whole-value match)
  std::vector<std::unique_ptr<Term>> children;
};

SearchQuery::SearchQuery() = default;
SearchQuery::~SearchQuery() = default;
SearchQuery::SearchQuery(SearchQuery&&) noexcept = default;
SearchQuery& SearchQuery::operator=(SearchQuery&&) noexcept = default;

namespace {

struct SearchToken {
  enum class Kind { kEnd, kWord, kQuoted, kPunct };
  Kind kind = Kind::kEnd;
  std::string text;
};

StatusOr<std::vector<SearchToken>> LexSearch(std::string_view s) {
  std::vector<SearchToken> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (std::string_view("{}(),=").find(c) != std::string_view::npos) {
      out.push_back({SearchToken::Kind::kPunct, std::string(1, c)});
      ++i;
    } else if (c == '"' || c == '\'') {
      size_t j = i + 1;
      std::string text;
      while (j < s.size() && s[j] != c) {
        if (s[j] == '\\' && j + 1 < s.size()) ++j;
        text += s[j++];
      }
      if (j >= s.size()) return Status::InvalidArgument("Unterminated quoted string in the SEARCH query");
      out.push_back({SearchToken::Kind::kQuoted, std::move(text)});
      i = j + 1;
    } else {
      size_t j = i;
      while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j])) &&
             std::string_view("{}(),=\"'").find(s[j]) == std::string_view::npos) {
        ++j;
      }
      out.push_back({SearchToken::Kind::kWord, std::string(s.substr(i, j - i))});
      i = j;
    }
  }
  out.push_back({});
  return out;
}

class SearchParser {
 public:
  explicit SearchParser(std::vector<SearchToken> tokens) : tokens_(std::move(tokens)) {}

  const SearchToken& Peek() const { return tokens_[pos_]; }
  SearchToken Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool IsPunct(char c) const { return Peek().kind == SearchToken::Kind::kPunct && Peek().text.size() == 1 && Peek().text[0] == c; }
  bool IsWord(std::string_view w) const { return Peek().kind == SearchToken::Kind::kWord && Peek().text == w; }
  bool AtTermStart() const {
    return Peek().kind == SearchToken::Kind::kWord || Peek().kind == SearchToken::Kind::kQuoted || IsPunct('(');
  }

  StatusOr<std::vector<std::string>> ParseSchema() {
    Next();  // {
    std::vector<std::string> names;
    while (true) {
      SearchToken t = Next();
      if (t.kind != SearchToken::Kind::kWord && t.kind != SearchToken::Kind::kQuoted) {
        return Status::InvalidArgument("Malformed schema in the SEARCH query: expected a name inside { }");
      }
      names.push_back(t.text);
      if (IsPunct(',')) {
        Next();
        continue;
      }
      if (IsPunct('}')) {
        Next();
        return names;
      }
      return Status::InvalidArgument("Malformed schema in the SEARCH query: expected ',' or '}'");
    }
  }

  StatusOr<std::unique_ptr<SearchQuery::Term>> ParseOr() {
    GANTRY_ASSIGN_OR_RETURN(auto left, ParseAnd());
    while (IsWord("OR")) {
      Next();
      GANTRY_ASSIGN_OR_RETURN(auto right, ParseAnd());
      left = Combine(SearchQuery::Term::Kind::kOr, std::move(left), std::move(right));
    }
    return left;
  }

  StatusOr<std::unique_ptr<SearchQuery::Term>> ParseAnd() {
    GANTRY_ASSIGN_OR_RETURN(auto left, ParseNot());
    while (IsWord("AND") || (AtTermStart() && !IsWord("OR"))) {
      if (IsWord("AND")) Next();
      GANTRY_ASSIGN_OR_RETURN(auto right, ParseNot());
      left = Combine(SearchQuery::Term::Kind::kAnd, std::move(left), std::move(right));
    }
    return left;
  }

  StatusOr<std::unique_ptr<SearchQuery::Term>> ParseNot() {
    if (++depth_ > kMaxDepth) return Status::InvalidArgument("The SEARCH query is nested too deeply");
    auto result = ParseNotInner();
    --depth_;
    return result;
  }

  StatusOr<std::unique_ptr<SearchQuery::Term>> ParseNotInner() {
    if (IsWord("NOT")) {
      Next();
      GANTRY_ASSIGN_OR_RETURN(auto inner, ParseNot());
      auto t = std::make_unique<SearchQuery::Term>();
      t->kind = SearchQuery::Term::Kind::kNot;
      t->children.push_back(std::move(inner));
      return t;
    }
    if (IsPunct('(')) {
      Next();
      GANTRY_ASSIGN_OR_RETURN(auto inner, ParseOr());
      if (!IsPunct(')')) return Status::InvalidArgument("Unbalanced parentheses in the SEARCH query");
      Next();
      return inner;
    }
    SearchToken t = Next();
    if (t.kind != SearchToken::Kind::kWord && t.kind != SearchToken::Kind::kQuoted) {
      return Status::InvalidArgument(t.kind == SearchToken::Kind::kEnd
                                         ? "The SEARCH query ends where a search term was expected"
                                         : "Unexpected '" + t.text + "' in the SEARCH query");
    }
    auto term = std::make_unique<SearchQuery::Term>();
    if (IsPunct('=')) {
      Next();
      SearchToken value = Next();
      if (value.kind != SearchToken::Kind::kWord && value.kind != SearchToken::Kind::kQuoted) {
        return Status::InvalidArgument("The SEARCH term " + t.text + "= needs a value");
      }
      term->kind = SearchQuery::Term::Kind::kProperty;
      term->name = t.text;
      term->value = value.text;
      return term;
    }
    term->kind = SearchQuery::Term::Kind::kText;
    term->value = t.text;
    term->exact = t.kind == SearchToken::Kind::kQuoted;
    return term;
  }

 private:
  static std::unique_ptr<SearchQuery::Term> Combine(SearchQuery::Term::Kind kind, std::unique_ptr<SearchQuery::Term> a,
                                                    std::unique_ptr<SearchQuery::Term> b) {
    auto t = std::make_unique<SearchQuery::Term>();
    t->kind = kind;
    t->children.push_back(std::move(a));
    t->children.push_back(std::move(b));
    return t;
  }

  static constexpr int kMaxDepth = 100;
  std::vector<SearchToken> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

bool TermMatches(const SearchQuery::Term& term, const SeriesKey& key) {
  using Kind = SearchQuery::Term::Kind;
  switch (term.kind) {
    case Kind::kAnd:
      return TermMatches(*term.children[0], key) && TermMatches(*term.children[1], key);
    case Kind::kOr:
      return TermMatches(*term.children[0], key) || TermMatches(*term.children[1], key);
    case Kind::kNot:
      return !TermMatches(*term.children[0], key);
    case Kind::kProperty:
      if (term.name == "MetricName") return key.metric_name == term.value;
      if (term.name == "Namespace") return key.name_space == term.value;
      return std::any_of(key.dimensions.begin(), key.dimensions.end(),
                         [&](const Dimension& d) { return d.name == term.name && d.value == term.value; });
    case Kind::kText: {
      std::vector<std::string_view> fields = {key.name_space, key.metric_name};
      for (const auto& d : key.dimensions) {
        fields.push_back(d.name);
        fields.push_back(d.value);
      }
      std::string needle = Lower(term.value);
      return std::any_of(fields.begin(), fields.end(), [&](std::string_view field) {
        std::string hay = Lower(field);
        return term.exact ? hay == needle : hay.find(needle) != std::string::npos;
      });
    }
  }
  return false;
}

}  // namespace

StatusOr<SearchQuery> SearchQuery::Parse(std::string_view text) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<SearchToken> tokens, LexSearch(text));
  SearchParser parser(std::move(tokens));
  SearchQuery out;
  if (parser.IsPunct('{')) {
    GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> schema, parser.ParseSchema());
    out.name_space_ = schema.front();
    std::vector<std::string> dimensions(schema.begin() + 1, schema.end());
    std::sort(dimensions.begin(), dimensions.end());
    out.schema_dimensions_ = std::move(dimensions);
  }
  if (parser.Peek().kind != SearchToken::Kind::kEnd) {
    GANTRY_ASSIGN_OR_RETURN(out.term_, parser.ParseOr());
    if (parser.Peek().kind != SearchToken::Kind::kEnd) {
      return Status::InvalidArgument("Unexpected '" + parser.Peek().text + "' in the SEARCH query");
    }
  }
  if (!out.schema_dimensions_ && !out.term_) return Status::InvalidArgument("The SEARCH query is empty");
  if (!out.name_space_ && out.term_ && out.term_->kind == Term::Kind::kProperty && out.term_->name == "Namespace") {
    out.name_space_ = out.term_->value;
  }
  return out;
}

bool SearchQuery::Matches(const SeriesKey& key) const {
  if (schema_dimensions_) {
    if (key.name_space != *name_space_) return false;
    std::vector<std::string> names;
    for (const auto& d : key.dimensions) names.push_back(d.name);
    std::sort(names.begin(), names.end());
    if (names != *schema_dimensions_) return false;
  }
  return !term_ || TermMatches(*term_, key);
}

// --- Evaluation -----------------------------------------------------------------------------------

Status PointBudget::Charge(int64_t n) {
  if (used + n > limit) {
    return Status::InvalidArgument("You have requested up to " + std::to_string(used + n) +
                                       " datapoints, which exceeds the limit of " + std::to_string(limit) +
                                       ". You may reduce the datapoints requested by increasing Period, or "
                                       "decreasing the time range.",
                                   "InvalidParameterCombination");
  }
  used += n;
  return Status::Ok();
}

namespace {

constexpr size_t kMaxGridPoints = 1'000'000;

Status TypeError(std::string_view function, std::string_view expected) {
  return Status::InvalidArgument("Invalid argument for function " + std::string(function) + ": expected " +
                                 std::string(expected));
}

// Builds a series from (timestamp, value) pairs, dropping non-finite values.
class SeriesBuilder {
 public:
  SeriesBuilder(const TimeSeries& like, int64_t* dropped) : dropped_(dropped) {
    out_.label = like.label;
    out_.id = like.id;
    out_.period_seconds = like.period_seconds;
  }
  void Add(int64_t t, double v) {
    if (!std::isfinite(v)) {
      ++*dropped_;
      return;
    }
    out_.timestamps_ms.push_back(t);
    out_.values.push_back(v);
  }
  TimeSeries Take() { return std::move(out_); }

 private:
  TimeSeries out_;
  int64_t* dropped_;
};

double Aggregate(std::string_view function, const std::vector<double>& values) {
  if (values.empty()) return std::nan("");
  if (function == "DATAPOINT_COUNT") return static_cast<double>(values.size());
  if (function == "MIN") return *std::min_element(values.begin(), values.end());
  if (function == "MAX") return *std::max_element(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  if (function == "SUM") return sum;
  double mean = sum / static_cast<double>(values.size());
  if (function == "AVG") return mean;
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / static_cast<double>(values.size()));  // STDDEV (population)
}

class Evaluator {
 public:
  explicit Evaluator(const EvalContext& context) : ctx_(context) {}

  int64_t dropped = 0;

  StatusOr<Value> Eval(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kNumber:
        return Value::Scalar(n.number);
      case Node::Kind::kString:
        return Status::InvalidArgument("Unexpected string \"" + n.text + "\" at position " + std::to_string(n.position));
      case Node::Kind::kKeyword:
        return Status::InvalidArgument("Unrecognized identifier '" + n.text + "' at position " + std::to_string(n.position));
      case Node::Kind::kRange:
        return Status::InvalidArgument("A range (a:b) is only valid as the second argument of SLICE");
      case Node::Kind::kIdentifier: {
        if (!ctx_.resolve) return Status::InvalidArgument("Unrecognized identifier '" + n.text + "'");
        return ctx_.resolve(n.text);
      }
      case Node::Kind::kUnary: {
        GANTRY_ASSIGN_OR_RETURN(Value v, Eval(*n.children[0]));
        return MapValues(v, [](double x) { return -x; });
      }
      case Node::Kind::kBinary: {
        GANTRY_ASSIGN_OR_RETURN(Value a, Eval(*n.children[0]));
        GANTRY_ASSIGN_OR_RETURN(Value b, Eval(*n.children[1]));
        return Binary(n.text, a, b);
      }
      case Node::Kind::kCall:
        return Call(n);
    }
    return Status::Internal("unknown node");
  }

 private:
  template <typename F>
  TimeSeries MapSeries(const TimeSeries& s, F f) {
    SeriesBuilder b(s, &dropped);
    for (size_t i = 0; i < s.values.size(); ++i) b.Add(s.timestamps_ms[i], f(s.values[i]));
    return b.Take();
  }

  template <typename F>
  Value MapValues(const Value& v, F f) {
    if (v.kind == Value::Kind::kScalar) return Value::Scalar(f(v.scalar));
    Value out = v;
    for (auto& s : out.series) s = MapSeries(s, f);
    return out;
  }

  // Applies f to each member of a series or array.
  template <typename F>
  StatusOr<Value> PerSeries(std::string_view function, const Value& v, F f) {
    if (v.kind == Value::Kind::kScalar) return TypeError(function, "a time series or an array of time series");
    Value out = v;
    for (auto& s : out.series) s = f(s);
    return out;
  }

  static double Apply(std::string_view op, double x, double y) {
    if (op == "+") return x + y;
    if (op == "-") return x - y;
    if (op == "*") return x * y;
    if (op == "/") return x / y;
    if (op == "^") return std::pow(x, y);
    if (op == "==") return x == y ? 1 : 0;
    if (op == "!=") return x != y ? 1 : 0;
    if (op == "<") return x < y ? 1 : 0;
    if (op == ">") return x > y ? 1 : 0;
    if (op == "<=") return x <= y ? 1 : 0;
    if (op == ">=") return x >= y ? 1 : 0;
    if (op == "AND") return (x != 0 && y != 0) ? 1 : 0;
    return (x != 0 || y != 0) ? 1 : 0;  // OR
  }

  TimeSeries SeriesOp(std::string_view op, const TimeSeries& a, const TimeSeries& b) {
    SeriesBuilder out(a, &dropped);
    size_t j = 0;
    for (size_t i = 0; i < a.values.size(); ++i) {
      while (j < b.timestamps_ms.size() && b.timestamps_ms[j] < a.timestamps_ms[i]) ++j;
      if (j < b.timestamps_ms.size() && b.timestamps_ms[j] == a.timestamps_ms[i]) {
        out.Add(a.timestamps_ms[i], Apply(op, a.values[i], b.values[j]));
      }
    }
    TimeSeries s = out.Take();
    s.period_seconds = std::min(a.period_seconds, b.period_seconds);
    return s;
  }

  StatusOr<Value> Binary(const std::string& op, const Value& a, const Value& b) {
    using K = Value::Kind;
    if (a.kind == K::kScalar && b.kind == K::kScalar) return Value::Scalar(Apply(op, a.scalar, b.scalar));
    if (a.kind == K::kScalar) return MapValues(b, [&](double y) { return Apply(op, a.scalar, y); });
    if (b.kind == K::kScalar) return MapValues(a, [&](double x) { return Apply(op, x, b.scalar); });
    if (a.kind == K::kArray && b.kind == K::kArray) {
      if (a.series.size() != b.series.size()) {
        return Status::InvalidArgument("Operator " + op + " needs arrays of time series of the same size (" +
                                       std::to_string(a.series.size()) + " and " + std::to_string(b.series.size()) + ")");
      }
      Value out = a;
      for (size_t i = 0; i < a.series.size(); ++i) out.series[i] = SeriesOp(op, a.series[i], b.series[i]);
      return out;
    }
    if (a.kind == K::kArray) {
      Value out = a;
      for (auto& s : out.series) s = SeriesOp(op, s, b.series[0]);
      return out;
    }
    if (b.kind == K::kArray) {
      Value out = b;
      for (auto& s : out.series) {
        TimeSeries r = SeriesOp(op, a.series[0], s);
        r.label = s.label;
        r.id = s.id;
        s = std::move(r);
      }
      return out;
    }
    TimeSeries r = SeriesOp(op, a.series[0], b.series[0]);
    r.label.clear();
    r.id.clear();
    return Value::Series(std::move(r));
  }

  StatusOr<std::vector<int64_t>> Grid(int period_seconds) const {
    int64_t step = int64_t{period_seconds} * 1000;
    if (step <= 0) return Status::InvalidArgument("The period must be positive");
    if (ctx_.period_has_data && !ctx_.period_has_data(period_seconds)) return std::vector<int64_t>{};
    int64_t first = (ctx_.start_ms + step - 1) / step * step;
    int64_t points = ctx_.end_ms > first ? (ctx_.end_ms - first + step - 1) / step : 0;
    if (static_cast<size_t>(points) > kMaxGridPoints) {
      return Status::InvalidArgument("Too many datapoints requested: the time range holds more than " +
                                     std::to_string(kMaxGridPoints) + " periods");
    }
    if (ctx_.budget) GANTRY_RETURN_IF_ERROR(ctx_.budget->Charge(points));
    std::vector<int64_t> out;
    for (int64_t t = first; t < ctx_.end_ms; t += step) out.push_back(t);
    return out;
  }

  // The series' timestamps merged with the grid of its period.
  StatusOr<std::vector<int64_t>> FilledTimestamps(const TimeSeries& s) const {
    GANTRY_ASSIGN_OR_RETURN(std::vector<int64_t> grid, Grid(s.period_seconds));
    std::vector<int64_t> out;
    std::set_union(grid.begin(), grid.end(), s.timestamps_ms.begin(), s.timestamps_ms.end(), std::back_inserter(out));
    return out;
  }

  static std::optional<double> At(const TimeSeries& s, int64_t t) {
    auto it = std::lower_bound(s.timestamps_ms.begin(), s.timestamps_ms.end(), t);
    if (it == s.timestamps_ms.end() || *it != t) return std::nullopt;
    return s.values[static_cast<size_t>(it - s.timestamps_ms.begin())];
  }

  StatusOr<TimeSeries> Fill(const TimeSeries& s, const Node& how, const Value* with) {
    GANTRY_ASSIGN_OR_RETURN(std::vector<int64_t> times, FilledTimestamps(s));
    SeriesBuilder out(s, &dropped);
    if (how.kind == Node::Kind::kKeyword) {
      if (how.text != "REPEAT" && how.text != "LINEAR") {
        return Status::InvalidArgument("Invalid argument for function FILL: expected a number, a time series, REPEAT or LINEAR");
      }
      size_t next = 0;  // index in s of the first datapoint at or after t
      for (int64_t t : times) {
        while (next < s.timestamps_ms.size() && s.timestamps_ms[next] < t) ++next;
        if (next < s.timestamps_ms.size() && s.timestamps_ms[next] == t) {
          out.Add(t, s.values[next]);
        } else if (next > 0 && how.text == "REPEAT") {
          out.Add(t, s.values[next - 1]);
        } else if (next > 0 && next < s.timestamps_ms.size()) {
          double t0 = static_cast<double>(s.timestamps_ms[next - 1]), t1 = static_cast<double>(s.timestamps_ms[next]);
          double v0 = s.values[next - 1], v1 = s.values[next];
          out.Add(t, v0 + (v1 - v0) * (static_cast<double>(t) - t0) / (t1 - t0));
        }
      }
      return out.Take();
    }
    for (int64_t t : times) {
      if (auto v = At(s, t)) {
        out.Add(t, *v);
      } else if (with->kind == Value::Kind::kScalar) {
        out.Add(t, with->scalar);
      } else if (auto w = At(with->series[0], t)) {
        out.Add(t, *w);
      }
    }
    return out.Take();
  }

  // The value of a branch of IF at t: a scalar, or a series' value there.
  static std::optional<double> Branch(const Value* v, size_t index, int64_t t) {
    if (!v) return std::nullopt;
    if (v->kind == Value::Kind::kScalar) return v->scalar;
    const TimeSeries& s = v->kind == Value::Kind::kArray ? v->series[index] : v->series[0];
    return At(s, t);
  }

  StatusOr<Value> If(const Node& n) {
    GANTRY_ASSIGN_OR_RETURN(Value cond, Eval(*n.children[0]));
    GANTRY_ASSIGN_OR_RETURN(Value yes, Eval(*n.children[1]));
    std::optional<Value> no;
    if (n.children.size() > 2) {
      GANTRY_ASSIGN_OR_RETURN(no, Eval(*n.children[2]));
    }
    if (cond.kind == Value::Kind::kScalar) {
      if (cond.scalar != 0) return yes;
      if (no) return *no;
      return Value::Series(TimeSeries{});
    }
    for (const Value* branch : {&yes, no ? &*no : nullptr}) {
      if (branch && branch->kind == Value::Kind::kArray &&
          (cond.kind != Value::Kind::kArray || branch->series.size() != cond.series.size())) {
        return TypeError("IF", "branches that are scalars, time series, or arrays the size of the condition");
      }
    }
    Value out = cond;
    for (size_t i = 0; i < cond.series.size(); ++i) {
      const TimeSeries& c = cond.series[i];
      SeriesBuilder b(c, &dropped);
      for (size_t k = 0; k < c.values.size(); ++k) {
        std::optional<double> v = c.values[k] != 0 ? Branch(&yes, i, c.timestamps_ms[k])
                                                   : Branch(no ? &*no : nullptr, i, c.timestamps_ms[k]);
        if (v) b.Add(c.timestamps_ms[k], *v);
      }
      out.series[i] = b.Take();
      if (cond.kind == Value::Kind::kSeries) out.series[i].label.clear();
    }
    return out;
  }

  // AVG, MIN, MAX, SUM, STDDEV, DATAPOINT_COUNT: a series gives a scalar, an array a series of the
  // aggregate across its members at each timestamp.
  StatusOr<Value> Reduce(const std::string& function, const Value& v) {
    if (v.kind == Value::Kind::kScalar) return TypeError(function, "a time series or an array of time series");
    if (v.kind == Value::Kind::kSeries) {
      const auto& values = v.series[0].values;
      if (values.empty() && function == "DATAPOINT_COUNT") return Value::Scalar(0);
      return Value::Scalar(Aggregate(function, values));
    }
    std::map<int64_t, std::vector<double>> by_time;
    int period = 0;
    for (const auto& s : v.series) {
      period = period == 0 ? s.period_seconds : std::min(period, s.period_seconds);
      for (size_t i = 0; i < s.values.size(); ++i) by_time[s.timestamps_ms[i]].push_back(s.values[i]);
    }
    TimeSeries like;
    like.period_seconds = period == 0 ? ctx_.period_seconds : period;
    SeriesBuilder b(like, &dropped);
    for (const auto& [t, values] : by_time) b.Add(t, Aggregate(function, values));
    return Value::Series(b.Take());
  }

  StatusOr<Value> TimeFunction(const std::string& function, const Value& v) {
    return PerSeries(function, v, [&](const TimeSeries& s) {
      return MapTimes(s, [&](int64_t t) -> double {
        using namespace std::chrono;
        sys_seconds secs{seconds{t / 1000}};
        sys_days day = floor<days>(secs);
        year_month_day ymd{day};
        hh_mm_ss hms{secs - day};
        if (function == "MINUTE") return static_cast<double>(hms.minutes().count());
        if (function == "HOUR") return static_cast<double>(hms.hours().count());
        if (function == "DAY") return static_cast<double>(weekday{day}.iso_encoding());
        if (function == "DATE") return static_cast<double>(static_cast<unsigned>(ymd.day()));
        if (function == "MONTH") return static_cast<double>(static_cast<unsigned>(ymd.month()));
        if (function == "YEAR") return static_cast<double>(static_cast<int>(ymd.year()));
        return static_cast<double>(t / 1000);  // EPOCH
      });
    });
  }

  template <typename F>
  TimeSeries MapTimes(const TimeSeries& s, F f) {
    SeriesBuilder b(s, &dropped);
    for (int64_t t : s.timestamps_ms) b.Add(t, f(t));
    return b.Take();
  }

  // DIFF, DIFF_TIME, RATE: from each datapoint and the one before it.
  StatusOr<Value> Pairwise(const std::string& function, const Value& v) {
    return PerSeries(function, v, [&](const TimeSeries& s) {
      SeriesBuilder b(s, &dropped);
      for (size_t i = 1; i < s.values.size(); ++i) {
        double dv = s.values[i] - s.values[i - 1];
        double dt = static_cast<double>(s.timestamps_ms[i] - s.timestamps_ms[i - 1]) / 1000.0;
        b.Add(s.timestamps_ms[i], function == "DIFF" ? dv : function == "DIFF_TIME" ? dt : dv / dt);
      }
      return b.Take();
    });
  }

  StatusOr<int64_t> Index(const Node& n, const char* function) {
    GANTRY_ASSIGN_OR_RETURN(Value v, Eval(n));
    if (v.kind != Value::Kind::kScalar || !(v.scalar >= 0 && v.scalar <= 1e9) || v.scalar != std::floor(v.scalar)) {
      return TypeError(function, "a non-negative whole number as index");
    }
    return static_cast<int64_t>(v.scalar);
  }

  StatusOr<Value> Call(const Node& n) {
    const std::string& f = n.text;
    const auto& args = n.children;
    if (f == "METRICS") {
      std::string filter;
      if (!args.empty()) {
        if (args[0]->kind != Node::Kind::kString) return TypeError(f, "a string");
        filter = args[0]->text;
      }
      if (!ctx_.metrics) return Value::Array({});
      GANTRY_ASSIGN_OR_RETURN(std::vector<TimeSeries> series, ctx_.metrics(filter));
      return Value::Array(std::move(series));
    }
    if (f == "SEARCH") {
      if (args[0]->kind != Node::Kind::kString || args[1]->kind != Node::Kind::kString) {
        return TypeError(f, "SEARCH('search expression', 'statistic', period)");
      }
      GANTRY_ASSIGN_OR_RETURN(Value period, Eval(*args[2]));
      if (period.kind != Value::Kind::kScalar || !(period.scalar >= 1 && period.scalar <= 1e9) ||
          period.scalar != std::floor(period.scalar)) {
        return TypeError(f, "a period in whole seconds as the third argument");
      }
      GANTRY_ASSIGN_OR_RETURN(SearchQuery query, SearchQuery::Parse(args[0]->text));
      if (!ctx_.search) return Value::Array({});
      SearchRequest request{&query, args[0]->text, args[1]->text, static_cast<int>(period.scalar)};
      GANTRY_ASSIGN_OR_RETURN(std::vector<TimeSeries> series, ctx_.search(request));
      return Value::Array(std::move(series));
    }
    if (f == "ANOMALY_DETECTION_BAND") {
      if (args[0]->kind != Node::Kind::kIdentifier) return TypeError(f, "the id of a metric or expression as the first argument");
      double stddevs = 2;
      if (args.size() > 1) {
        GANTRY_ASSIGN_OR_RETURN(Value v, Eval(*args[1]));
        if (v.kind != Value::Kind::kScalar || !(v.scalar >= 0)) return TypeError(f, "a non-negative number of standard deviations");
        stddevs = v.scalar;
      }
      if (!ctx_.anomaly_band) return Status::InvalidArgument("ANOMALY_DETECTION_BAND is not available here");
      GANTRY_ASSIGN_OR_RETURN(std::vector<TimeSeries> band, ctx_.anomaly_band(args[0]->text, stddevs));
      return Value::Array(std::move(band));
    }
    if (f == "FILL") {
      GANTRY_ASSIGN_OR_RETURN(Value v, Eval(*args[0]));
      if (v.kind == Value::Kind::kScalar) return TypeError(f, "a time series or an array of time series to fill");
      std::optional<Value> with;
      if (args[1]->kind != Node::Kind::kKeyword) {
        GANTRY_ASSIGN_OR_RETURN(with, Eval(*args[1]));
        if (with->kind == Value::Kind::kArray) return TypeError(f, "a number, a time series, REPEAT or LINEAR");
      }
      for (auto& s : v.series) {
        GANTRY_ASSIGN_OR_RETURN(s, Fill(s, *args[1], with ? &*with : nullptr));
      }
      return v;
    }
    if (f == "IF") return If(n);
    if (f == "SORT") {
      GANTRY_ASSIGN_OR_RETURN(Value v, Eval(*args[0]));
      if (v.kind != Value::Kind::kArray) return TypeError(f, "an array of time series");
      static const std::set<std::string> kBy = {"AVG", "MIN", "MAX", "SUM", "STDDEV", "DATAPOINT_COUNT"};
      if (args[1]->kind != Node::Kind::kKeyword || !kBy.count(args[1]->text)) {
        return TypeError(f, "AVG, MIN, MAX, SUM, STDDEV or DATAPOINT_COUNT to sort by");
      }
      if (args[2]->kind != Node::Kind::kKeyword || (args[2]->text != "ASC" && args[2]->text != "DESC")) {
        return TypeError(f, "ASC or DESC as the order");
      }
      bool descending = args[2]->text == "DESC";
      std::vector<std::pair<double, TimeSeries>> keyed;
      for (auto& s : v.series) keyed.emplace_back(Aggregate(args[1]->text, s.values), std::move(s));
      std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        if (std::isnan(a.first) || std::isnan(b.first)) return !std::isnan(a.first) && std::isnan(b.first);
        return descending ? a.first > b.first : a.first < b.first;
      });
      size_t limit = keyed.size();
      if (args.size() > 3) {
        GANTRY_ASSIGN_OR_RETURN(int64_t count, Index(*args[3], "SORT"));
        limit = std::min(limit, static_cast<size_t>(count));
      }
      std::vector<TimeSeries> out;
      for (size_t i = 0; i < limit; ++i) out.push_back(std::move(keyed[i].second));
      return Value::Array(std::move(out));
    }
    if (f == "SLICE") {
      GANTRY_ASSIGN_OR_RETURN(Value v, Eval(*args[0]));
      if (v.kind != Value::Kind::kArray) return TypeError(f, "an array of time series");
      if (args[1]->kind == Node::Kind::kRange) {
        GANTRY_ASSIGN_OR_RETURN(int64_t from, Index(*args[1]->children[0], "SLICE"));
        GANTRY_ASSIGN_OR_RETURN(int64_t to, Index(*args[1]->children[1], "SLICE"));
        size_t a = std::min(static_cast<size_t>(from), v.series.size());
        size_t b = std::clamp(static_cast<size_t>(to), a, v.series.size());
        return Value::Array(std::vector<TimeSeries>(v.series.begin() + static_cast<ptrdiff_t>(a),
                                                    v.series.begin() + static_cast<ptrdiff_t>(b)));
      }
      GANTRY_ASSIGN_OR_RETURN(int64_t index, Index(*args[1], "SLICE"));
      if (static_cast<size_t>(index) >= v.series.size()) return Value::Series(TimeSeries{});
      return Value::Series(v.series[static_cast<size_t>(index)]);
    }

    GANTRY_ASSIGN_OR_RETURN(Value v, Eval(*args[0]));
    if (f == "ABS") return MapValues(v, [](double x) { return std::fabs(x); });
    if (f == "CEIL") return MapValues(v, [](double x) { return std::ceil(x); });
    if (f == "FLOOR") return MapValues(v, [](double x) { return std::floor(x); });
    if (f == "LOG") return MapValues(v, [](double x) { return std::log(x); });
    if (f == "LOG10") return MapValues(v, [](double x) { return std::log10(x); });
    if (f == "AVG" || f == "MIN" || f == "MAX" || f == "SUM" || f == "STDDEV" || f == "DATAPOINT_COUNT") {
      return Reduce(f, v);
    }
    if (f == "METRIC_COUNT") {
      if (v.kind == Value::Kind::kScalar) return TypeError(f, "an array of time series");
      return Value::Scalar(static_cast<double>(v.series.size()));
    }
    if (f == "DIFF" || f == "DIFF_TIME" || f == "RATE") return Pairwise(f, v);
    if (f == "RUNNING_SUM") {
      return PerSeries(f, v, [&](const TimeSeries& s) {
        double sum = 0;
        return MapSeries(s, [&](double x) { return sum += x; });
      });
    }
    if (f == "FIRST" || f == "LAST") {
      if (v.kind != Value::Kind::kArray) return TypeError(f, "an array of time series");
      if (v.series.empty()) return Value::Series(TimeSeries{});
      return Value::Series(f == "FIRST" ? v.series.front() : v.series.back());
    }
    if (f == "REMOVE_EMPTY") {
      if (v.kind != Value::Kind::kArray) return TypeError(f, "an array of time series");
      std::erase_if(v.series, [](const TimeSeries& s) { return s.empty(); });
      return v;
    }
    if (f == "TIME_SERIES") {
      if (v.kind != Value::Kind::kScalar) return TypeError(f, "a scalar");
      GANTRY_ASSIGN_OR_RETURN(std::vector<int64_t> grid, Grid(ctx_.period_seconds));
      TimeSeries like;
      like.period_seconds = ctx_.period_seconds;
      SeriesBuilder b(like, &dropped);
      for (int64_t t : grid) b.Add(t, v.scalar);
      return Value::Series(b.Take());
    }
    if (f == "PERIOD") {
      if (v.kind != Value::Kind::kSeries) return TypeError(f, "a time series");
      return Value::Scalar(v.series[0].period_seconds);
    }
    return TimeFunction(f, v);  // MINUTE HOUR DAY DATE MONTH YEAR EPOCH
  }

  const EvalContext& ctx_;
};

}  // namespace

StatusOr<EvalResult> Evaluate(const Expression& expression, const EvalContext& context) {
  Evaluator evaluator(context);
  GANTRY_ASSIGN_OR_RETURN(Value value, evaluator.Eval(expression.root()));
  EvalResult out;
  out.value = std::move(value);
  out.dropped_non_finite = evaluator.dropped;
  return out;
}

}  // namespace gantry::telemetry::metrics::math
