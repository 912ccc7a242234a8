#include "services/cloudwatch/alarm_rule.h"

#include <algorithm>
#include <cctype>

namespace gantry::services::cloudwatch {

struct AlarmRule::Node {
  enum class Kind { kConstant, kState, kNot, kAnd, kOr };
  Kind kind = Kind::kConstant;
  bool constant = false;
  AlarmState state = AlarmState::kAlarm;
  std::string alarm;
  std::shared_ptr<const Node> left, right;
};

namespace {

using Node = AlarmRule::Node;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  StatusOr<std::shared_ptr<const Node>> Rule() {
    GANTRY_ASSIGN_OR_RETURN(auto node, Or());
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected '" + std::string(text_.substr(pos_, 1)) + "'");
    return node;
  }

  std::vector<std::string> references;

 private:
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("Invalid AlarmRule: " + what + " at position " + std::to_string(pos_ + 1) + ".",
                                   "ValidationError");
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  // The keyword at the cursor (letters and underscores), without consuming it.
  std::string_view PeekWord() {
    SkipSpace();
    size_t end = pos_;
    while (end < text_.size() && (std::isalpha(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) ++end;
    return text_.substr(pos_, end - pos_);
  }

  StatusOr<std::shared_ptr<const Node>> Binary(Node::Kind kind, std::string_view keyword,
                                               StatusOr<std::shared_ptr<const Node>> (Parser::*operand)()) {
    GANTRY_ASSIGN_OR_RETURN(auto left, (this->*operand)());
    while (PeekWord() == keyword) {
      pos_ += keyword.size();
      GANTRY_ASSIGN_OR_RETURN(auto right, (this->*operand)());
      auto node = std::make_shared<Node>();
      node->kind = kind;
      node->left = std::move(left);
      node->right = std::move(right);
      left = std::move(node);
    }
    return left;
  }

  StatusOr<std::shared_ptr<const Node>> Or() { return Binary(Node::Kind::kOr, "OR", &Parser::And); }
  StatusOr<std::shared_ptr<const Node>> And() { return Binary(Node::Kind::kAnd, "AND", &Parser::Not); }

  StatusOr<std::shared_ptr<const Node>> Not() {
    if (PeekWord() == "NOT") {
      pos_ += 3;
      GANTRY_ASSIGN_OR_RETURN(auto operand, Not());
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kNot;
      node->left = std::move(operand);
      return std::shared_ptr<const Node>(std::move(node));
    }
    return Primary();
  }

  StatusOr<std::shared_ptr<const Node>> Primary() {
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end of rule");
    if (text_[pos_] == '(') {
      if (++depth_ > kMaxDepth) return Error("too deeply nested");
      ++pos_;
      GANTRY_ASSIGN_OR_RETURN(auto inner, Or());
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ')') return Error("expected ')'");
      ++pos_;
      --depth_;
      return inner;
    }
    std::string_view word = PeekWord();
    auto node = std::make_shared<Node>();
    if (word == "TRUE" || word == "FALSE") {
      pos_ += word.size();
      node->constant = word == "TRUE";
      return std::shared_ptr<const Node>(std::move(node));
    }
    std::optional<AlarmState> state = ParseAlarmState(word);
    if (!state || word.empty()) {
      return Error(word.empty() ? "expected ALARM, OK, INSUFFICIENT_DATA, TRUE, FALSE, NOT or '('"
                                : "unknown keyword '" + std::string(word) + "'");
    }
    pos_ += word.size();
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '(') return Error("expected '(' after " + std::string(word));
    ++pos_;
    SkipSpace();
    GANTRY_ASSIGN_OR_RETURN(std::string alarm, AlarmReference());
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != ')') return Error("expected ')'");
    ++pos_;
    node->kind = Node::Kind::kState;
    node->state = *state;
    node->alarm = alarm;
    if (std::find(references.begin(), references.end(), alarm) == references.end()) references.push_back(alarm);
    return std::shared_ptr<const Node>(std::move(node));
  }

  StatusOr<std::string> AlarmReference() {
    std::string name;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      ++pos_;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        name += text_[pos_++];
      }
      if (pos_ >= text_.size()) return Error("unterminated '\"'");
      ++pos_;
    } else {
      while (pos_ < text_.size() && text_[pos_] != ')' && text_[pos_] != '(' &&
             !std::isspace(static_cast<unsigned char>(text_[pos_]))) {
        name += text_[pos_++];
      }
    }
    if (name.empty()) return Error("expected an alarm name or ARN");
    return name;
  }

  static constexpr int kMaxDepth = 64;
  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

bool Eval(const Node& node, const std::function<std::optional<AlarmState>(const std::string&)>& state_of) {
  switch (node.kind) {
    case Node::Kind::kConstant: return node.constant;
    case Node::Kind::kState: return state_of(node.alarm) == node.state;
    case Node::Kind::kNot: return !Eval(*node.left, state_of);
    case Node::Kind::kAnd: return Eval(*node.left, state_of) && Eval(*node.right, state_of);
    case Node::Kind::kOr: return Eval(*node.left, state_of) || Eval(*node.right, state_of);
  }
  return false;
}

}  // namespace

StatusOr<AlarmRule> AlarmRule::Parse(std::string_view text) {
  Parser parser(text);
  GANTRY_ASSIGN_OR_RETURN(auto root, parser.Rule());
  AlarmRule rule;
  rule.root_ = std::move(root);
  rule.references_ = std::move(parser.references);
  return rule;
}

bool AlarmRule::Evaluate(const std::function<std::optional<AlarmState>(const std::string&)>& state_of) const {
  return Eval(*root_, state_of);
}

}  // namespace gantry::services::cloudwatch
