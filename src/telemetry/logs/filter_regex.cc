#include "telemetry/logs/filter_regex.h"

#include <cctype>

namespace gantry::telemetry::logs {

namespace {

// Expanded positions allowed per expression ({m,n} copies its atom), so matching stays cheap.
constexpr size_t kMaxNodes = 1000;

bool AllowedLiteral(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '_': case '#': case '=': case '@': case '/': case ';': case ',': case '-': case ':': case ' ':
      return true;
    default:
      return false;
  }
}

bool IsOperator(char c) {
  switch (c) {
    case '^': case '$': case '?': case '[': case ']': case '{': case '}': case '|': case '\\': case '*':
    case '+': case '.':
      return true;
    default:
      return false;
  }
}

std::bitset<256> Single(unsigned char c) {
  std::bitset<256> bits;
  bits.set(c);
  return bits;
}

std::bitset<256> Range(unsigned char lo, unsigned char hi) {
  std::bitset<256> bits;
  for (int c = lo; c <= hi; ++c) bits.set(static_cast<size_t>(c));
  return bits;
}

std::bitset<256> Word() { return Range('a', 'z') | Range('A', 'Z') | Range('0', '9') | Single('_'); }

std::bitset<256> Space() {
  return Single(' ') | Single('\t') | Single('\n') | Single('\r') | Single('\f') | Single('\v');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Compiler {
 public:
  explicit Compiler(std::string_view source) : s_(source) {}

  Status Error(std::string_view why) const {
    return Status::InvalidArgument("Invalid regular expression '%" + std::string(s_) + "%': " + std::string(why));
  }

  // Reads one escape after a backslash at s_[i_] (i_ points past the backslash on return).
  StatusOr<std::bitset<256>> Escape() {
    if (i_ >= s_.size()) return Error("the expression ends with '\\'");
    char c = s_[i_++];
    switch (c) {
      case 'd': return Range('0', '9');
      case 'D': return ~Range('0', '9');
      case 'w': return Word();
      case 'W': return ~Word();
      case 's': return Space();
      case 'S': return ~Space();
      case 'n': return Single('\n');
      case 't': return Single('\t');
      case 'r': return Single('\r');
      case 'x': {
        if (i_ + 2 > s_.size() || HexValue(s_[i_]) < 0 || HexValue(s_[i_ + 1]) < 0) {
          return Error("\\x needs two hexadecimal digits");
        }
        int value = HexValue(s_[i_]) * 16 + HexValue(s_[i_ + 1]);
        i_ += 2;
        return Single(static_cast<unsigned char>(value));
      }
      default:
        if (static_cast<unsigned char>(c) >= 0x80) return Error("multi-byte characters are not supported");
        if (std::isalnum(static_cast<unsigned char>(c))) return Error(std::string("unknown escape \\") + c);
        return Single(static_cast<unsigned char>(c));
    }
  }

  // Reads a class after '[' (i_ points past the closing ']' on return).
  StatusOr<std::bitset<256>> Class() {
    std::bitset<256> bits;
    bool negate = false;
    if (i_ < s_.size() && s_[i_] == '^') {
      negate = true;
      ++i_;
    }
    bool first = true;
    while (true) {
      if (i_ >= s_.size()) return Error("missing ']'");
      char c = s_[i_];
      if (c == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      std::bitset<256> item;
      int lo = -1;
      if (c == '\\') {
        ++i_;
        GANTRY_ASSIGN_OR_RETURN(item, Escape());
        if (item.count() == 1) {
          for (int b = 0; b < 256; ++b) {
            if (item.test(static_cast<size_t>(b))) lo = b;
          }
        }
      } else {
        if (static_cast<unsigned char>(c) >= 0x80) return Error("multi-byte characters are not supported");
        if (c == '(' || c == ')') return Error("parentheses are not supported");
        ++i_;
        item = Single(static_cast<unsigned char>(c));
        lo = static_cast<unsigned char>(c);
      }
      if (lo >= 0 && i_ + 1 < s_.size() && s_[i_] == '-' && s_[i_ + 1] != ']') {
        ++i_;
        char h = s_[i_];
        int hi;
        if (h == '\\') {
          ++i_;
          GANTRY_ASSIGN_OR_RETURN(std::bitset<256> end, Escape());
          if (end.count() != 1) return Error("a class range must end with a single character");
          hi = -1;
          for (int b = 0; b < 256; ++b) {
            if (end.test(static_cast<size_t>(b))) hi = b;
          }
        } else {
          if (static_cast<unsigned char>(h) >= 0x80) return Error("multi-byte characters are not supported");
          ++i_;
          hi = static_cast<unsigned char>(h);
        }
        if (hi < lo) return Error("a class range is out of order");
        item = Range(static_cast<unsigned char>(lo), static_cast<unsigned char>(hi));
      }
      bits |= item;
    }
    return negate ? ~bits : bits;
  }

  // Appends `count` copies of atom, marked per the quantifier.
  Status Emit(std::vector<FilterRegexNode>& out, const FilterRegexNode& atom, int min, int max) {
    // max < 0: unbounded.
    size_t copies = static_cast<size_t>(min) + (max < 0 ? 1 : static_cast<size_t>(max - min));
    if (out.size() + copies > kMaxNodes) return Error("the expression is too large");
    for (int k = 0; k < min; ++k) out.push_back(atom);
    if (max < 0) {
      FilterRegexNode star = atom;
      star.optional = true;
      star.repeat = true;
      out.push_back(star);
    } else {
      for (int k = min; k < max; ++k) {
        FilterRegexNode opt = atom;
        opt.optional = true;
        out.push_back(opt);
      }
    }
    return Status::Ok();
  }

  StatusOr<int> Number() {
    if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return Error("bad {m,n} quantifier");
    int value = 0;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
      value = value * 10 + (s_[i_] - '0');
      if (value > static_cast<int>(kMaxNodes)) return Error("a repetition count is too large");
      ++i_;
    }
    return value;
  }

  // One alternative, up to '|' or the end.
  Status Alternative(std::vector<FilterRegexNode>& out) {
    while (i_ < s_.size() && s_[i_] != '|') {
      char c = s_[i_];
      FilterRegexNode atom;
      if (c == '^' || c == '$') {
        ++i_;
        atom.kind = c == '^' ? FilterRegexNode::Kind::kBegin : FilterRegexNode::Kind::kEnd;
        if (out.size() + 1 > kMaxNodes) return Error("the expression is too large");
        out.push_back(atom);
        if (i_ < s_.size() && (s_[i_] == '*' || s_[i_] == '+' || s_[i_] == '?' || s_[i_] == '{')) {
          return Error("nothing to repeat before a quantifier");
        }
        continue;
      }
      if (c == '*' || c == '+' || c == '?' || c == '{') return Error("nothing to repeat before a quantifier");
      if (c == '(' || c == ')') return Error("parentheses are not supported");
      if (c == ']' || c == '}') return Error(std::string("unexpected '") + c + "'");
      if (c == '.') {
        ++i_;
        atom.bytes = ~Single('\n');
      } else if (c == '[') {
        ++i_;
        GANTRY_ASSIGN_OR_RETURN(atom.bytes, Class());
      } else if (c == '\\') {
        ++i_;
        GANTRY_ASSIGN_OR_RETURN(atom.bytes, Escape());
      } else {
        ++i_;
        atom.bytes = Single(static_cast<unsigned char>(c));
      }
      int min = 1, max = 1;
      if (i_ < s_.size()) {
        char q = s_[i_];
        if (q == '*') {
          min = 0, max = -1, ++i_;
        } else if (q == '+') {
          min = 1, max = -1, ++i_;
        } else if (q == '?') {
          min = 0, max = 1, ++i_;
        } else if (q == '{') {
          ++i_;
          GANTRY_ASSIGN_OR_RETURN(min, Number());
          max = min;
          if (i_ < s_.size() && s_[i_] == ',') {
            ++i_;
            if (i_ < s_.size() && s_[i_] == '}') {
              max = -1;
            } else {
              GANTRY_ASSIGN_OR_RETURN(max, Number());
            }
          }
          if (i_ >= s_.size() || s_[i_] != '}') return Error("bad {m,n} quantifier");
          ++i_;
          if (max >= 0 && max < min) return Error("a {m,n} quantifier has n < m");
        }
        if (i_ < s_.size() && (s_[i_] == '*' || s_[i_] == '+' || s_[i_] == '?' || s_[i_] == '{')) {
          return Error("nested quantifiers are not supported");
        }
      }
      GANTRY_RETURN_IF_ERROR(Emit(out, atom, min, max));
    }
    return Status::Ok();
  }

  Status Validate() const {
    for (size_t k = 0; k < s_.size(); ++k) {
      unsigned char c = static_cast<unsigned char>(s_[k]);
      if (c >= 0x80) return Error("multi-byte characters are not supported");
      if (c == '\\' && k + 1 < s_.size()) {
        ++k;  // escaped characters are taken literally
        continue;
      }
      if (!AllowedLiteral(c) && !IsOperator(static_cast<char>(c))) {
        return Status::InvalidArgument("Invalid character(s) in term '%" + std::string(s_) + "%'");
      }
    }
    return Status::Ok();
  }

  size_t pos() const { return i_; }
  void Skip() { ++i_; }
  bool Done() const { return i_ >= s_.size(); }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

StatusOr<FilterRegex> FilterRegex::Compile(std::string_view source) {
  Compiler compiler(source);
  GANTRY_RETURN_IF_ERROR(compiler.Validate());
  if (source.empty()) return compiler.Error("the expression is empty");
  FilterRegex regex;
  regex.source_ = std::string(source);
  while (true) {
    regex.starts_.push_back(regex.nodes_.size());
    GANTRY_RETURN_IF_ERROR(compiler.Alternative(regex.nodes_));
    Node accept;
    accept.kind = Node::Kind::kAccept;
    regex.nodes_.push_back(accept);
    if (compiler.Done()) break;
    compiler.Skip();  // '|'
  }
  return regex;
}

bool FilterRegex::Search(std::string_view text) const {
  const size_t n = nodes_.size();
  std::vector<size_t> current, next, stack;
  std::vector<size_t> mark(n, static_cast<size_t>(-1));  // position at which a state was last added
  current.reserve(n);
  next.reserve(n);
  // Adds state s (and what it reaches without consuming) at text position p; true on accept.
  auto add = [&](std::vector<size_t>& set, size_t s, size_t p) {
    stack.clear();
    stack.push_back(s);
    while (!stack.empty()) {
      size_t i = stack.back();
      stack.pop_back();
      if (mark[i] == p) continue;
      mark[i] = p;
      const Node& node = nodes_[i];
      switch (node.kind) {
        case Node::Kind::kAccept: return true;
        case Node::Kind::kBegin:
          if (p == 0) stack.push_back(i + 1);
          break;
        case Node::Kind::kEnd:
          if (p == text.size()) stack.push_back(i + 1);
          break;
        case Node::Kind::kClass:
          set.push_back(i);
          if (node.optional) stack.push_back(i + 1);
          break;
      }
    }
    return false;
  };
  for (size_t p = 0;; ++p) {
    for (size_t start : starts_) {
      if (add(current, start, p)) return true;
    }
    if (p == text.size()) return false;
    unsigned char byte = static_cast<unsigned char>(text[p]);
    next.clear();
    for (size_t i : current) {
      const Node& node = nodes_[i];
      if (!node.bytes.test(byte)) continue;
      if (node.repeat && add(next, i, p + 1)) return true;
      if (add(next, i + 1, p + 1)) return true;
    }
    current.swap(next);
  }
}

}  // namespace gantry::telemetry::logs
