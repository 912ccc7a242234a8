#include "runtime/build/buildspec.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace gantry::runtime {
namespace {

using Json = nlohmann::ordered_json;

// Values read (list items and mapping entries, aliases expanded) before a buildspec is refused:
// an alias can repeat a large subtree many times over.
constexpr size_t kMaxValues = size_t{1} << 18;
// Merge keys ("<<") nested deeper than this are refused (an anchor can merge itself).
constexpr int kMaxMergeDepth = 16;
constexpr int kDefaultRetries = 3;
constexpr int kMaxRetries = 100;
// A RETRY regex is compiled with std::regex: bound its size so that compiling stays cheap.
constexpr size_t kMaxRetryRegexLength = 256;
constexpr int kMaxRetryRegexRepeats = 2;
constexpr int kMaxRetryRegexBound = 100;
constexpr size_t kMaxFallbackKeys = 5;
constexpr int kMaxParallelism = 100;

// Thrown inside this file only: the first error found ends the parse.
struct SpecError {
  std::string message;
};

struct Entry {
  std::string key;
  YAML::Node value;
  int line = 0;  // of the key, 1-based
};

// The 1-based line of a mark. yaml-cpp marks an empty value (and an error at the end of the
// input) at the token after it, often lines later: such marks are moved back over blank space to
// the ':' or '-' that introduced the value.
int LineAt(const YAML::Mark& mark, std::string_view source, bool move_back) {
  if (mark.is_null()) return 0;
  int line = mark.line;
  size_t pos = std::min(static_cast<size_t>(std::max(mark.pos, 0)), source.size());
  while (move_back && pos > 0 && std::isspace(static_cast<unsigned char>(source[pos - 1])) != 0) {
    if (source[pos - 1] == '\n') --line;
    --pos;
  }
  return line + 1;
}

// yaml-cpp 0.7 lets a quoted scalar run to the end of the input without its closing quote, where
// libyaml (and so CodeBuild) reports the unclosed quote. This pass over the parse events finds the
// closing quote of every quoted scalar.
class QuoteCheck : public YAML::EventHandler {
 public:
  explicit QuoteCheck(std::string_view source) : source_(source) {}

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t, const std::string&) override {
    if (tag != "!" || mark.pos < 0 || static_cast<size_t>(mark.pos) >= source_.size()) return;
    char quote = source_[mark.pos];
    if (quote != '"' && quote != '\'') return;
    for (size_t i = mark.pos + 1; i < source_.size(); ++i) {
      if (quote == '"' && source_[i] == '\\') {
        ++i;
      } else if (source_[i] == quote) {
        if (quote == '"' || i + 1 == source_.size() || source_[i + 1] != '\'') return;
        ++i;  // '' is an escaped single quote
      }
    }
    throw YAML::ParserException(mark, YAML::ErrorMsg::EOF_IN_SCALAR);
  }
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::string_view source_;
};

std::string Found(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "found subkeys instead";
    case YAML::NodeType::Sequence: return "found a list instead";
    case YAML::NodeType::Scalar: return "found a string instead";
    default: return "found an empty value instead";
  }
}

// CodeBuild's name for a key in its messages: "pre_build" -> "PreBuild", "base-directory" -> "BaseDirectory".
std::string Label(std::string_view key) {
  std::string out;
  bool upper = true;
  for (char c : key) {
    if (c == '-' || c == '_') {
      upper = true;
      continue;
    }
    out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    upper = false;
  }
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

// yaml-cpp's messages for the syntax errors people make most, in libyaml's words, which CodeBuild's
// messages carry ("mapping values are not allowed in this context"): a search for them finds the fix.
std::string SyntaxMessage(const std::string& msg) {
  static const std::map<std::string, std::string> kLibYaml = {
      {YAML::ErrorMsg::MAP_VALUE, "mapping values are not allowed in this context"},
      {YAML::ErrorMsg::END_OF_MAP, "did not find expected key"},
      {YAML::ErrorMsg::END_OF_SEQ, "did not find expected '-' indicator"},
      {YAML::ErrorMsg::END_OF_MAP_FLOW, "did not find expected ',' or '}'"},
      {YAML::ErrorMsg::END_OF_SEQ_FLOW, "did not find expected ',' or ']'"},
      {YAML::ErrorMsg::BLOCK_ENTRY, "block sequence entries are not allowed in this context"},
      {YAML::ErrorMsg::EOF_IN_SCALAR, "found unexpected end of stream (an unclosed quote?)"},
  };
  auto it = kLibYaml.find(msg);
  return it == kLibYaml.end() ? msg : it->second;
}

// Whether the leading white space of a 1-based line holds a tab, which YAML does not allow there.
bool IndentedWithTab(std::string_view source, int line) {
  size_t pos = 0;
  for (int i = 1; i < line && pos != std::string_view::npos; ++i) {
    pos = source.find('\n', pos);
    if (pos != std::string_view::npos) ++pos;
  }
  for (; pos < source.size() && (source[pos] == ' ' || source[pos] == '\t'); ++pos) {
    if (source[pos] == '\t') return true;
  }
  return false;
}

class Parser {
 public:
  Parser(std::string_view file_name, std::string_view source) : file_(file_name), source_(source) {}

  Buildspec Parse(const YAML::Node& root);

 private:
  int LineOf(const YAML::Node& node) const { return LineAt(node.Mark(), source_, node.IsNull()); }
  [[noreturn]] void Fail(int line, const std::string& path, const std::string& what) const {
    std::string message = file_;
    if (line > 0) message += " line " + std::to_string(line);
    message += ": ";
    if (!path.empty()) message += path + ": ";
    throw SpecError{message + what};
  }
  [[noreturn]] void Fail(const YAML::Node& at, const std::string& path, const std::string& what) const {
    Fail(LineOf(at), path, what);
  }
  [[noreturn]] void TypeError(const YAML::Node& node, const std::string& path, const std::string& label,
                              std::string_view type) const {
    Fail(node, path, "Expected " + label + " to be of " + std::string(type) + " type: " + Found(node));
  }

  void Count(const YAML::Node& at);
  // The entries of a mapping (empty for an empty value), merge keys applied. A key outside
  // `known` is recorded as unknown under `section`, or is an error when section is "".
  std::vector<Entry> Entries(const YAML::Node& node, const std::string& path, const std::string& label,
                             const std::set<std::string>& known, const std::string& section, int depth = 0);
  std::string String(const YAML::Node& node, const std::string& path, const std::string& label) const;
  std::string RequiredString(const YAML::Node& node, const std::string& path, const std::string& label) const;
  bool Bool(const YAML::Node& node, const std::string& path, const std::string& label) const;
  std::vector<std::string> Strings(const YAML::Node& node, const std::string& path, const std::string& label);
  KeyValues Pairs(const YAML::Node& node, const std::string& path, const std::string& label);

  void ParseVersion(const Entry& entry, Buildspec* spec) const;
  void ParseEnv(const Entry& entry, Buildspec* spec);
  void ParseEnvironmentVariables(const Entry& entry, Buildspec* spec);
  void ParseProxy(const Entry& entry, Buildspec* spec);
  void ParsePhases(const Entry& entry, Buildspec* spec);
  PhaseSpec ParsePhase(const Entry& entry, const std::string& path);
  void ParseOnFailure(const Entry& entry, const std::string& path, PhaseSpec* phase) const;
  void CheckRetryRegex(const Entry& entry, const std::string& path, const std::string& regex) const;
  ArtifactSpec ParseArtifact(const Entry& entry, const std::string& path, const std::string& label,
                             YAML::Node* secondary);
  void ParseArtifacts(const Entry& entry, Buildspec* spec);
  void ParseReports(const Entry& entry, Buildspec* spec);
  void ParseCache(const Entry& entry, Buildspec* spec);
  void ParseBatch(const Entry& entry, Buildspec* spec);
  Json BatchTasks(const Entry& entry, const std::string& path, bool graph);
  Json BatchEnv(const Entry& entry, const std::string& path);
  Json BuildMatrix(const Entry& entry, const std::string& path);
  Json BuildFanout(const Entry& entry, const std::string& path);
  Json StringList(const Entry& entry, const std::string& path, const std::string& label);

  std::string file_;
  std::string_view source_;
  std::string version_ = "0.2";
  size_t values_ = 0;
  std::vector<UnknownKey> unknown_keys_;
};

void Parser::Count(const YAML::Node& at) {
  if (++values_ > kMaxValues) {
    Fail(at, "", "the buildspec has more than " + std::to_string(kMaxValues) +
                     " values once its aliases are expanded");
  }
}

std::vector<Entry> Parser::Entries(const YAML::Node& node, const std::string& path, const std::string& label,
                                   const std::set<std::string>& known, const std::string& section, int depth) {
  std::vector<Entry> out;
  if (node.IsNull()) return out;
  if (!node.IsMap()) TypeError(node, path, label, "mapping");
  std::map<std::string, int> explicit_keys;
  for (auto it = node.begin(); it != node.end(); ++it) {
    YAML::Node key = it->first;
    if (!key.IsScalar()) Fail(key, path, "Expected a key of " + label + " to be of string type: " + Found(key));
    if (key.Scalar() == "<<" && key.Tag() == "?") continue;
    auto [seen, inserted] = explicit_keys.emplace(key.Scalar(), LineOf(key));
    if (!inserted) {
      Fail(key, path, "key " + Quote(key.Scalar()) + " is already defined at line " + std::to_string(seen->second));
    }
  }
  std::set<std::string> merged_keys;
  for (auto it = node.begin(); it != node.end(); ++it) {
    Count(it->first);
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    if (key.Scalar() == "<<" && key.Tag() == "?") {
      if (depth >= kMaxMergeDepth) Fail(key, path, "merge keys (<<) are nested too deeply");
      std::vector<YAML::Node> sources;
      if (value.IsSequence()) {
        for (auto source = value.begin(); source != value.end(); ++source) sources.push_back(*source);
      } else {
        sources.push_back(value);
      }
      for (const YAML::Node& source : sources) {
        if (!source.IsMap()) Fail(source, path, "Expected a merge (<<) to be of mapping type: " + Found(source));
        for (Entry& entry : Entries(source, path, label, known, section, depth + 1)) {
          if (explicit_keys.count(entry.key) != 0 || !merged_keys.insert(entry.key).second) continue;
          out.push_back(std::move(entry));
        }
      }
      continue;
    }
    Entry entry{key.Scalar(), value, LineOf(key)};
    if (!known.empty() && known.count(entry.key) == 0) {
      if (section.empty()) Fail(key, path, "unknown key " + Quote(entry.key));
      unknown_keys_.push_back({section, entry.key, entry.line});
      continue;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string Parser::String(const YAML::Node& node, const std::string& path, const std::string& label) const {
  if (node.IsNull()) return "";
  if (!node.IsScalar()) TypeError(node, path, label, "string");
  return node.Scalar();
}

std::string Parser::RequiredString(const YAML::Node& node, const std::string& path, const std::string& label) const {
  std::string value = String(node, path, label);
  if (value.empty()) Fail(node, path, "Expected " + label + " to be of string type: found an empty value instead");
  return value;
}

bool Parser::Bool(const YAML::Node& node, const std::string& path, const std::string& label) const {
  if (!node.IsScalar()) TypeError(node, path, label, "boolean");
  static const std::set<std::string> kTrue = {"yes", "Yes", "YES", "true", "True", "TRUE"};
  static const std::set<std::string> kFalse = {"no", "No", "NO", "false", "False", "FALSE"};
  if (kTrue.count(node.Scalar()) != 0) return true;
  if (kFalse.count(node.Scalar()) != 0) return false;
  Fail(node, path, "Expected " + label + " to be yes or no: found " + Quote(node.Scalar()) + " instead");
}

std::vector<std::string> Parser::Strings(const YAML::Node& node, const std::string& path, const std::string& label) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) TypeError(node, path, label, "list");
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    YAML::Node item = *it;
    Count(item);
    std::string item_path = path + "[" + std::to_string(i) + "]";
    std::string item_label = label + "[" + std::to_string(i) + "]";
    if (item.IsMap()) {
      // CodeBuild's message for the most common buildspec mistake: an unquoted ": " in a command.
      int line = LineOf(item);
      Fail(line, item_path,
           "Expected " + item_label + " to be of string type: found subkeys instead, value of the key tag on line " +
               std::to_string(line - 1) + " might be empty (quote a value that contains \": \")");
    }
    if (!item.IsScalar()) TypeError(item, item_path, item_label, "string");
    out.push_back(item.Scalar());
  }
  return out;
}

KeyValues Parser::Pairs(const YAML::Node& node, const std::string& path, const std::string& label) {
  KeyValues out;
  for (Entry& entry : Entries(node, path, label, {}, "")) {
    std::string entry_label = label + "[" + entry.key + "]";
    out.emplace_back(entry.key, String(entry.value, path + "." + entry.key, entry_label));
  }
  return out;
}

void Parser::ParseVersion(const Entry& entry, Buildspec* spec) const {
  std::string text = String(entry.value, "version", "Version");
  char* end = nullptr;
  double number = text.empty() ? 0 : std::strtod(text.c_str(), &end);
  bool numeric = !text.empty() && end != nullptr && *end == '\0';
  if (numeric && number == 0.2) {
    spec->version = "0.2";
  } else if (numeric && number == 0.1) {
    spec->version = "0.1";
  } else {
    Fail(entry.line, "version", "invalid buildspec `version` specified: " + text + ", see documentation");
  }
}

bool ValidVariableName(const std::string& name) {
  return !name.empty() && name.find('=') == std::string::npos && name.find('\0') == std::string::npos;
}

void Parser::ParseEnv(const Entry& entry, Buildspec* spec) {
  static const std::set<std::string> kKeys = {"shell", "variables", "parameter-store", "secrets-manager",
                                              "exported-variables", "git-credential-helper"};
  for (const Entry& e : Entries(entry.value, "env", "Env", kKeys, "env")) {
    std::string path = "env." + e.key;
    std::string label = Label(e.key);
    if (e.key == "shell") {
      spec->shell = String(e.value, path, label);
      if (spec->shell != "bash" && spec->shell != "/bin/sh") {
        std::string what = "Expected Shell to be bash or /bin/sh: found " + Quote(spec->shell) + " instead";
        if (spec->shell == "powershell.exe" || spec->shell == "cmd.exe") what += " (a shell of Windows images)";
        Fail(e.value, path, what);
      }
      continue;
    }
    if (e.key == "exported-variables") {
      spec->exported_variables = Strings(e.value, path, label);
      for (size_t i = 0; i < spec->exported_variables.size(); ++i) {
        if (!ValidVariableName(spec->exported_variables[i])) {
          Fail(e.value[i], path + "[" + std::to_string(i) + "]",
               "invalid environment variable name " + Quote(spec->exported_variables[i]));
        }
      }
      continue;
    }
    if (e.key == "git-credential-helper") {
      spec->git_credential_helper = Bool(e.value, path, label);
      continue;
    }
    KeyValues pairs;
    for (const Entry& var : Entries(e.value, path, label, {}, "")) {
      std::string var_path = path + "." + var.key;
      std::string var_label = label + "[" + var.key + "]";
      if (!ValidVariableName(var.key)) Fail(var.line, var_path, "invalid environment variable name " + Quote(var.key));
      std::string value = e.key == "variables" ? String(var.value, var_path, var_label)
                                               : RequiredString(var.value, var_path, var_label);
      if (e.key == "secrets-manager") {
        StatusOr<SecretReference> reference = ParseSecretReference(value);
        if (!reference.ok()) Fail(var.value, var_path, reference.status().message());
      }
      pairs.emplace_back(var.key, std::move(value));
    }
    KeyValues& slot = e.key == "variables"         ? spec->variables
                      : e.key == "parameter-store" ? spec->parameter_store
                                                   : spec->secrets_manager;
    slot = std::move(pairs);
  }
}

void Parser::ParseEnvironmentVariables(const Entry& entry, Buildspec* spec) {
  for (const Entry& e : Entries(entry.value, "environment_variables", "EnvironmentVariables", {"plaintext"},
                                "environment_variables")) {
    std::string path = "environment_variables.plaintext";
    for (const Entry& var : Entries(e.value, path, "Plaintext", {}, "")) {
      std::string var_path = path + "." + var.key;
      if (!ValidVariableName(var.key)) Fail(var.line, var_path, "invalid environment variable name " + Quote(var.key));
      spec->variables.emplace_back(var.key, String(var.value, var_path, "Plaintext[" + var.key + "]"));
    }
  }
}

void Parser::ParseProxy(const Entry& entry, Buildspec* spec) {
  for (const Entry& e : Entries(entry.value, "proxy", "Proxy", {"upload-artifacts", "logs"}, "proxy")) {
    bool on = Bool(e.value, "proxy." + e.key, Label(e.key));
    (e.key == "logs" ? spec->proxy_logs : spec->proxy_upload_artifacts) = on;
  }
}

void Parser::CheckRetryRegex(const Entry& entry, const std::string& path, const std::string& regex) const {
  if (regex.size() > kMaxRetryRegexLength) {
    Fail(entry.value, path, "the RETRY regular expression is longer than " + std::to_string(kMaxRetryRegexLength) +
                                " characters");
  }
  int repeats = 0;
  for (size_t i = 0; i < regex.size(); ++i) {
    if (regex[i] == '\\') {
      // Step over the escape as std::regex reads it. It reads a back reference's number without
      // bound; CodeBuild's regexes (RE2) have no back references.
      char escaped = i + 1 < regex.size() ? regex[i + 1] : '\0';
      if (escaped >= '1' && escaped <= '9') {
        Fail(entry.value, path, "back references (\\" + std::string(1, escaped) +
                                    ") are not supported in a RETRY regular expression");
      }
      i += escaped == 'c' ? 2 : escaped == 'x' ? 3 : escaped == 'u' ? 5 : 1;
      continue;
    }
    if (regex[i] != '{') continue;
    ++repeats;
    for (size_t j = i + 1; j < regex.size() && regex[j] != '}'; ++j) {
      if (!std::isdigit(static_cast<unsigned char>(regex[j]))) continue;
      size_t k = j;
      while (k < regex.size() && std::isdigit(static_cast<unsigned char>(regex[k]))) ++k;
      if (k - j > 3 || std::atoi(regex.substr(j, k - j).c_str()) > kMaxRetryRegexBound) {
        Fail(entry.value, path, "a repetition count in the RETRY regular expression is above " +
                                    std::to_string(kMaxRetryRegexBound));
      }
      j = k - 1;
    }
  }
  if (repeats > kMaxRetryRegexRepeats) {
    Fail(entry.value, path, "the RETRY regular expression has more than " + std::to_string(kMaxRetryRegexRepeats) +
                                " counted repetitions ({n})");
  }
  try {
    std::regex compiled(regex, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    Fail(entry.value, path, "the RETRY regular expression " + Quote(regex) + " is not valid: " + e.what());
  }
}

void Parser::ParseOnFailure(const Entry& entry, const std::string& path, PhaseSpec* phase) const {
  std::string text = String(entry.value, path, "OnFailure");
  std::string upper = Upper(text);
  phase->on_failure_specified = true;
  if (upper == "ABORT" || upper == "CONTINUE") {
    phase->on_failure = upper == "ABORT" ? OnFailure::kAbort : OnFailure::kContinue;
    return;
  }
  if (upper != "RETRY" && (upper.rfind("RETRY-", 0) != 0 || upper.size() == 6)) {
    Fail(entry.value, path,
         "Expected OnFailure to be ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>: "
         "found " + Quote(text) + " instead");
  }
  phase->on_failure = OnFailure::kRetry;
  phase->retry_count = kDefaultRetries;
  if (upper == "RETRY") return;
  std::string rest = text.substr(6);
  size_t digits = 0;
  while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
  if (digits > 0 && (digits == rest.size() || rest[digits] == '-')) {
    if (digits > 3 || std::atoi(rest.substr(0, digits).c_str()) > kMaxRetries) {
      Fail(entry.value, path, "the RETRY count must be between 0 and " + std::to_string(kMaxRetries) + ": found " +
                                  rest.substr(0, digits));
    }
    phase->retry_count = std::atoi(rest.substr(0, digits).c_str());
    if (digits == rest.size()) return;
    rest.erase(0, digits + 1);
    if (rest.empty()) Fail(entry.value, path, "expected a regular expression after " + Quote(text));
  }
  CheckRetryRegex(entry, path, rest);
  phase->retry_regex = rest;
}

PhaseSpec Parser::ParsePhase(const Entry& entry, const std::string& path) {
  static const std::set<std::string> kKeys = {"run-as", "on-failure", "runtime-versions", "commands", "finally"};
  PhaseSpec phase;
  phase.line = entry.line;
  for (const Entry& e : Entries(entry.value, path, Label(entry.key), kKeys, Upper(entry.key))) {
    std::string key_path = path + "." + e.key;
    if (e.key == "run-as") {
      phase.run_as = String(e.value, key_path, "RunAs");
    } else if (e.key == "on-failure") {
      ParseOnFailure(e, key_path, &phase);
    } else if (e.key == "runtime-versions") {
      if (entry.key != "install") Fail(e.line, key_path, "runtime-versions can only be specified in the install phase");
      for (const Entry& runtime : Entries(e.value, key_path, "RuntimeVersions", {}, "")) {
        std::string label = "RuntimeVersions[" + runtime.key + "]";
        phase.runtime_versions.emplace_back(runtime.key,
                                            RequiredString(runtime.value, key_path + "." + runtime.key, label));
      }
      if (phase.runtime_versions.empty()) Fail(e.line, key_path, "runtime-versions must name at least one runtime");
    } else if (e.key == "commands") {
      phase.commands = Strings(e.value, key_path, "Commands");
    } else {
      phase.finally_commands = Strings(e.value, key_path, "Finally");
    }
  }
  return phase;
}

void Parser::ParsePhases(const Entry& entry, Buildspec* spec) {
  static const std::set<std::string> kPhases = {"install", "pre_build", "build", "post_build"};
  for (const Entry& e : Entries(entry.value, "phases", "Phases", {}, "")) {
    std::string path = "phases." + e.key;
    if (kPhases.count(e.key) == 0) {
      Fail(e.line, path, "Invalid buildspec phase name: " + e.key + ". Expecting: build,install,post_build,pre_build");
    }
    PhaseSpec phase = ParsePhase(e, path);
    std::optional<PhaseSpec>& slot = e.key == "install"     ? spec->install
                                     : e.key == "pre_build" ? spec->pre_build
                                     : e.key == "build"     ? spec->build
                                                            : spec->post_build;
    slot = std::move(phase);
  }
}

ArtifactSpec Parser::ParseArtifact(const Entry& entry, const std::string& path, const std::string& label,
                                   YAML::Node* secondary) {
  bool primary = secondary != nullptr;
  std::set<std::string> keys = {"files", "name", "discard-paths", "base-directory", "exclude-paths",
                                "enable-symlinks", "s3-prefix"};
  if (primary) keys.insert("secondary-artifacts");
  if (primary && version_ == "0.1") keys.insert("type");
  ArtifactSpec artifact;
  int files_line = 0;
  for (const Entry& e : Entries(entry.value, path, label, keys, path)) {
    std::string key_path = path + "." + e.key;
    std::string key_label = Label(e.key);
    if (e.key == "files") {
      files_line = e.line;
      artifact.files = Strings(e.value, key_path, key_label);
    } else if (e.key == "name") {
      artifact.name = String(e.value, key_path, key_label);
    } else if (e.key == "discard-paths") {
      artifact.discard_paths = Bool(e.value, key_path, key_label);
    } else if (e.key == "base-directory") {
      artifact.base_directory = String(e.value, key_path, key_label);
    } else if (e.key == "exclude-paths") {
      artifact.exclude_paths = e.value.IsScalar() ? std::vector<std::string>{e.value.Scalar()}
                                                  : Strings(e.value, key_path, key_label);
    } else if (e.key == "enable-symlinks") {
      artifact.enable_symlinks = Bool(e.value, key_path, key_label);
    } else if (e.key == "s3-prefix") {
      artifact.s3_prefix = String(e.value, key_path, key_label);
    } else if (e.key == "type") {
      String(e.value, key_path, key_label);  // 0.1's artifact type, deprecated and without effect
    } else {
      *secondary = e.value;
    }
  }
  if (files_line == 0) Fail(entry.line, path, "missing required key \"files\"");
  if (artifact.files.empty()) Fail(files_line, path + ".files", "files must list at least one path");
  return artifact;
}

void Parser::ParseArtifacts(const Entry& entry, Buildspec* spec) {
  if (entry.value.IsNull()) return;
  YAML::Node secondary;
  spec->artifacts = ParseArtifact(entry, "artifacts", "Artifacts", &secondary);
  std::string path = "artifacts.secondary-artifacts";
  for (const Entry& e : Entries(secondary, path, "SecondaryArtifacts", {}, "")) {
    ArtifactSpec artifact = ParseArtifact(e, path + "." + e.key, "SecondaryArtifacts[" + e.key + "]", nullptr);
    artifact.identifier = e.key;
    spec->secondary_artifacts.push_back(std::move(artifact));
  }
}

void Parser::ParseReports(const Entry& entry, Buildspec* spec) {
  static const std::vector<std::string> kFormats = {
      "CUCUMBERJSON", "JUNITXML", "NUNITXML", "NUNIT3XML", "TESTNGXML", "VISUALSTUDIOTRX",  // test reports
      "CLOVERXML",    "COBERTURAXML", "JACOCOXML", "SIMPLECOV"};                            // code coverage
  static const std::set<std::string> kKeys = {"files", "base-directory", "discard-paths", "file-format"};
  for (const Entry& group : Entries(entry.value, "reports", "Reports", {}, "")) {
    std::string path = "reports." + group.key;
    ReportSpec report;
    report.group = group.key;
    report.file_format = "JUNITXML";
    int files_line = 0;
    for (const Entry& e : Entries(group.value, path, "Reports[" + group.key + "]", kKeys, path)) {
      std::string key_path = path + "." + e.key;
      std::string label = Label(e.key);
      if (e.key == "files") {
        files_line = e.line;
        report.files = Strings(e.value, key_path, label);
      } else if (e.key == "base-directory") {
        report.base_directory = String(e.value, key_path, label);
      } else if (e.key == "discard-paths") {
        report.discard_paths = Bool(e.value, key_path, label);
      } else {
        std::string format = Upper(RequiredString(e.value, key_path, label));
        if (std::find(kFormats.begin(), kFormats.end(), format) == kFormats.end()) {
          Fail(e.value, key_path,
               "Expected FileFormat to be one of " + Join(kFormats, ", ") + ": found " + Quote(e.value.Scalar()) +
                   " instead");
        }
        report.file_format = format;
      }
    }
    if (files_line == 0) Fail(group.line, path, "missing required key \"files\"");
    if (report.files.empty()) Fail(files_line, path + ".files", "files must list at least one path");
    spec->reports.push_back(std::move(report));
  }
}

void Parser::ParseCache(const Entry& entry, Buildspec* spec) {
  if (entry.value.IsNull()) return;
  CacheSpec cache;
  bool has_paths = false;
  for (const Entry& e : Entries(entry.value, "cache", "Cache", {"key", "fallback-keys", "action", "paths"}, "cache")) {
    std::string path = "cache." + e.key;
    std::string label = Label(e.key);
    if (e.key == "key") {
      cache.key = String(e.value, path, label);
    } else if (e.key == "fallback-keys") {
      cache.fallback_keys = Strings(e.value, path, label);
      if (cache.fallback_keys.size() > kMaxFallbackKeys) {
        Fail(e.line, path, "at most " + std::to_string(kMaxFallbackKeys) + " fallback keys are supported, found " +
                               std::to_string(cache.fallback_keys.size()));
      }
    } else if (e.key == "action") {
      cache.action = String(e.value, path, label);
      if (cache.action != "restore" && cache.action != "save") {
        Fail(e.value, path, "Expected Action to be restore or save: found " + Quote(cache.action) + " instead");
      }
    } else {
      has_paths = true;
      cache.paths = Strings(e.value, path, label);
    }
  }
  if (!has_paths) Fail(entry.line, "cache", "missing required key \"paths\"");
  spec->cache = std::move(cache);
}

Json Parser::StringList(const Entry& entry, const std::string& path, const std::string& label) {
  Json out = Json::array();
  for (std::string& s : Strings(entry.value, path, label)) out.push_back(std::move(s));
  return out;
}

Json Parser::BatchEnv(const Entry& entry, const std::string& path) {
  static const std::set<std::string> kKeys = {"compute-type", "fleet", "image", "privileged-mode", "type", "variables"};
  Json env = Json::object();
  for (const Entry& e : Entries(entry.value, path, "Env", kKeys, "")) {
    std::string key_path = path + "." + e.key;
    if (e.key == "privileged-mode") {
      env[e.key] = Bool(e.value, key_path, "PrivilegedMode");
    } else if (e.key == "variables") {
      Json variables = Json::object();
      for (auto& [name, value] : Pairs(e.value, key_path, "Variables")) variables[name] = value;
      env[e.key] = std::move(variables);
    } else {
      env[e.key] = RequiredString(e.value, key_path, Label(e.key));
    }
  }
  if (env.contains("compute-type") && env.contains("fleet")) {
    Fail(entry.line, path, "compute-type and fleet cannot both be specified for one build");
  }
  return env;
}

Json Parser::BatchTasks(const Entry& entry, const std::string& path, bool graph) {
  std::set<std::string> keys = {"identifier", "buildspec", "debug-session", "env", "ignore-failure"};
  if (graph) keys.insert("depend-on");
  if (!entry.value.IsSequence()) TypeError(entry.value, path, Label(entry.key), "list");
  if (entry.value.size() == 0) Fail(entry.line, path, "the batch must define at least one build");
  Json tasks = Json::array();
  std::map<std::string, int> identifiers;  // -> line
  struct Dependency {
    std::string on;
    std::string path;  // of the depend-on list
    YAML::Node at;
  };
  std::map<std::string, std::vector<Dependency>> depends;
  size_t i = 0;
  for (auto it = entry.value.begin(); it != entry.value.end(); ++it, ++i) {
    YAML::Node item = *it;
    Count(item);
    std::string item_path = path + "[" + std::to_string(i) + "]";
    Json task = Json::object();
    YAML::Node depend_on;
    for (const Entry& e : Entries(item, item_path, Label(entry.key) + "[" + std::to_string(i) + "]", keys, "")) {
      std::string key_path = item_path + "." + e.key;
      if (e.key == "debug-session" || e.key == "ignore-failure") {
        task[e.key] = Bool(e.value, key_path, Label(e.key));
      } else if (e.key == "env") {
        task[e.key] = BatchEnv(e, key_path);
      } else if (e.key == "depend-on") {
        task[e.key] = StringList(e, key_path, "DependOn");
        depend_on = e.value;
      } else {
        task[e.key] = RequiredString(e.value, key_path, Label(e.key));
      }
    }
    if (!task.contains("identifier")) Fail(item, item_path, "missing required key \"identifier\"");
    std::string id = task["identifier"].get<std::string>();
    auto [seen, inserted] = identifiers.emplace(id, LineOf(item));
    if (!inserted) {
      Fail(item, item_path + ".identifier",
           "identifier " + Quote(id) + " is already used by the build at line " + std::to_string(seen->second));
    }
    if (task.contains("depend-on")) {
      std::vector<Dependency>& list = depends[id];
      for (size_t d = 0; d < task["depend-on"].size(); ++d) {
        list.push_back({task["depend-on"][d].get<std::string>(), item_path + ".depend-on[" + std::to_string(d) + "]",
                        depend_on[d]});
      }
    }
    tasks.push_back(std::move(task));
  }
  for (const auto& [id, list] : depends) {
    for (const Dependency& dependency : list) {
      if (identifiers.count(dependency.on) == 0) {
        Fail(dependency.at, dependency.path, "depends on " + Quote(dependency.on) + ", which no build defines");
      }
    }
  }
  // A dependency cycle would leave every build on it waiting forever. Peel off builds whose
  // dependencies are all peeled (Kahn); whatever remains lies on or behind a cycle.
  std::map<std::string, size_t> waiting;
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& [id, line] : identifiers) waiting[id] = depends.count(id) != 0 ? depends[id].size() : 0;
  for (const auto& [id, list] : depends) {
    for (const Dependency& dependency : list) dependents[dependency.on].push_back(id);
  }
  std::vector<std::string> ready;
  for (const auto& [id, count] : waiting) {
    if (count == 0) ready.push_back(id);
  }
  while (!ready.empty()) {
    std::string id = ready.back();
    ready.pop_back();
    for (const std::string& dependent : dependents[id]) {
      if (--waiting[dependent] == 0) ready.push_back(dependent);
    }
  }
  for (const auto& [id, count] : waiting) {
    if (count == 0) continue;
    // Walk unfinished dependencies until a build repeats: that stretch is a cycle.
    std::vector<std::string> trail = {id};
    std::map<std::string, size_t> position = {{id, 0}};
    const Dependency* last = nullptr;
    while (true) {
      for (const Dependency& dependency : depends[trail.back()]) {
        if (waiting[dependency.on] != 0) {
          last = &dependency;
          break;
        }
      }
      auto [at, fresh] = position.emplace(last->on, trail.size());
      if (!fresh) {
        std::vector<std::string> cycle(trail.begin() + static_cast<long>(at->second), trail.end());
        cycle.push_back(last->on);
        Fail(last->at, last->path, "the build graph has a dependency cycle: " + Join(cycle, " -> "));
      }
      trail.push_back(last->on);
    }
  }
  return tasks;
}

Json Parser::BuildMatrix(const Entry& entry, const std::string& path) {
  Json matrix = Json::object();
  for (const Entry& e : Entries(entry.value, path, "BuildMatrix", {"static", "dynamic"}, "")) {
    std::string part_path = path + "." + e.key;
    Json part = Json::object();
    if (e.key == "static") {
      for (const Entry& s : Entries(e.value, part_path, "Static", {"ignore-failure", "env"}, "")) {
        part[s.key] = s.key == "env" ? BatchEnv(s, part_path + ".env")
                                     : Json(Bool(s.value, part_path + "." + s.key, "IgnoreFailure"));
      }
    } else {
      size_t dimensions = 0;
      for (const Entry& d : Entries(e.value, part_path, "Dynamic", {"buildspec", "env"}, "")) {
        std::string key_path = part_path + "." + d.key;
        if (d.key == "buildspec") {
          part[d.key] = StringList(d, key_path, "Buildspec");
          dimensions += part[d.key].empty() ? 0 : 1;
          continue;
        }
        Json env = Json::object();
        for (const Entry& v : Entries(d.value, key_path, "Env", {"compute-type", "image", "variables"}, "")) {
          std::string value_path = key_path + "." + v.key;
          if (v.key == "variables") {
            Json variables = Json::object();
            for (const Entry& var : Entries(v.value, value_path, "Variables", {}, "")) {
              variables[var.key] = StringList(var, value_path + "." + var.key, "Variables[" + var.key + "]");
              dimensions += variables[var.key].empty() ? 0 : 1;
            }
            env[v.key] = std::move(variables);
          } else {
            env[v.key] = StringList(v, value_path, Label(v.key));
            dimensions += env[v.key].empty() ? 0 : 1;
          }
        }
        part[d.key] = std::move(env);
      }
      if (dimensions == 0) {
        Fail(e.line, part_path, "the matrix needs at least one buildspec, compute-type, image or variable value");
      }
    }
    matrix[e.key] = std::move(part);
  }
  if (!matrix.contains("dynamic")) Fail(entry.line, path, "missing required key \"dynamic\"");
  return matrix;
}

Json Parser::BuildFanout(const Entry& entry, const std::string& path) {
  Json fanout = Json::object();
  for (const Entry& e : Entries(entry.value, path, "BuildFanout", {"parallelism", "ignore-failure"}, "")) {
    std::string key_path = path + "." + e.key;
    if (e.key == "ignore-failure") {
      fanout[e.key] = Bool(e.value, key_path, "IgnoreFailure");
      continue;
    }
    std::string text = RequiredString(e.value, key_path, "Parallelism");
    bool digits = text.size() <= 3 && std::all_of(text.begin(), text.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
    int parallelism = digits ? std::atoi(text.c_str()) : 0;
    if (parallelism < 1 || parallelism > kMaxParallelism) {
      Fail(e.value, key_path, "Expected Parallelism to be a whole number from 1 to " + std::to_string(kMaxParallelism) +
                                  ": found " + Quote(text) + " instead");
    }
    fanout[e.key] = parallelism;
  }
  if (!fanout.contains("parallelism")) Fail(entry.line, path, "missing required key \"parallelism\"");
  return fanout;
}

void Parser::ParseBatch(const Entry& entry, Buildspec* spec) {
  static const std::set<std::string> kKeys = {"fast-fail", "build-list", "build-matrix", "build-graph", "build-fanout"};
  BatchSpec batch;
  int kind_line = 0;
  Json body;
  for (const Entry& e : Entries(entry.value, "batch", "Batch", kKeys, "")) {
    std::string path = "batch." + e.key;
    if (e.key == "fast-fail") {
      batch.fast_fail = Bool(e.value, path, "FastFail");
      continue;
    }
    if (!batch.kind.empty()) {
      Fail(e.line, path, "only one of build-list, build-matrix, build-graph and build-fanout may be specified (" +
                             batch.kind + " is at line " + std::to_string(kind_line) + ")");
    }
    batch.kind = e.key;
    kind_line = e.line;
    if (e.key == "build-matrix") {
      body = BuildMatrix(e, path);
    } else if (e.key == "build-fanout") {
      body = BuildFanout(e, path);
    } else {
      body = BatchTasks(e, path, e.key == "build-graph");
    }
  }
  batch.body_json = body.dump();
  spec->batch = std::move(batch);
}

Buildspec Parser::Parse(const YAML::Node& root) {
  if (root.IsNull()) Fail(0, "", "the buildspec is empty");
  if (!root.IsMap()) TypeError(root, "", "the buildspec", "mapping");
  std::vector<Entry> entries = Entries(root, "", "the buildspec", {}, "");
  auto version = std::find_if(entries.begin(), entries.end(), [](const Entry& e) { return e.key == "version"; });
  if (version == entries.end()) Fail(0, "", "no buildspec `version` specified, see documentation");
  Buildspec spec;
  ParseVersion(*version, &spec);
  version_ = spec.version;
  for (const Entry& e : entries) {
    if (e.key == "version") continue;
    if (e.key == "run-as") {
      spec.run_as = String(e.value, "run-as", "RunAs");
    } else if (e.key == "env") {
      ParseEnv(e, &spec);
    } else if (e.key == "environment_variables" && version_ == "0.1") {
      ParseEnvironmentVariables(e, &spec);
    } else if (e.key == "proxy") {
      ParseProxy(e, &spec);
    } else if (e.key == "phases") {
      ParsePhases(e, &spec);
    } else if (e.key == "artifacts") {
      ParseArtifacts(e, &spec);
    } else if (e.key == "reports") {
      ParseReports(e, &spec);
    } else if (e.key == "cache") {
      ParseCache(e, &spec);
    } else if (e.key == "batch") {
      ParseBatch(e, &spec);
    } else {
      unknown_keys_.push_back({"root", e.key, e.line});
    }
  }
  std::stable_sort(unknown_keys_.begin(), unknown_keys_.end(),
                   [](const UnknownKey& a, const UnknownKey& b) { return a.line < b.line; });
  spec.unknown_keys = std::move(unknown_keys_);
  return spec;
}

}  // namespace

StatusOr<SecretReference> ParseSecretReference(std::string_view reference) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = reference.find(':', start);
    size_t length = colon == std::string_view::npos ? std::string_view::npos : colon - start;
    parts.emplace_back(reference.substr(start, length));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  constexpr size_t kArnFields = 7;  // arn:partition:secretsmanager:region:account:secret:name
  size_t id_fields = reference.rfind("arn:", 0) == 0 ? kArnFields : 1;
  if (parts.size() < id_fields) {
    return Status::InvalidArgument("secret ARN " + Quote(reference) +
                                   " is incomplete: expected arn:<partition>:secretsmanager:<region>:<account>:"
                                   "secret:<name>");
  }
  if (parts.size() > id_fields + 3) {
    return Status::InvalidArgument("secret reference " + Quote(reference) +
                                   " has too many fields: expected secret-id:json-key:version-stage:version-id");
  }
  SecretReference out;
  out.secret_id = Join(std::vector<std::string>(parts.begin(), parts.begin() + static_cast<long>(id_fields)), ":");
  if (out.secret_id.empty() || parts[id_fields - 1].empty()) {
    return Status::InvalidArgument("secret reference " + Quote(reference) + " has no secret-id");
  }
  std::string* fields[] = {&out.json_key, &out.version_stage, &out.version_id};
  for (size_t i = id_fields; i < parts.size(); ++i) *fields[i - id_fields] = parts[i];
  return out;
}

StatusOr<Buildspec> ParseBuildspec(std::string_view yaml, std::string_view file_name) {
  std::string source(yaml);
  Parser parser(file_name, source);
  try {
    std::istringstream in(source);
    YAML::Parser events(in);
    QuoteCheck quotes(source);
    events.HandleNextDocument(quotes);
    YAML::Node root = YAML::Load(source);
    return parser.Parse(root);
  } catch (const SpecError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const YAML::Exception& e) {
    std::string message(file_name);
    bool at_end = !e.mark.is_null() && static_cast<size_t>(e.mark.pos) >= source.size();
    int line = LineAt(e.mark, source, at_end);
    if (line > 0) message += " line " + std::to_string(line);
    message += ": " + SyntaxMessage(e.msg);
    if (line > 0 && IndentedWithTab(source, line)) message += " (a tab in the indentation: YAML indents with spaces)";
    return Status::InvalidArgument(message);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string(file_name) + ": the buildspec cannot be read: " + e.what());
  }
}

std::string UnknownKeysMessage(const Buildspec& spec) {
  if (spec.unknown_keys.empty()) return "";
  std::vector<std::string> sections;
  std::map<std::string, std::vector<std::string>> keys;
  for (const UnknownKey& unknown : spec.unknown_keys) {
    if (keys.count(unknown.section) == 0) sections.push_back(unknown.section);
    keys[unknown.section].push_back(unknown.key);
  }
  std::string out = "Found possible syntax errors in buildspec: ";
  for (const std::string& section : sections) {
    out += "\nIn the section " + section + "\n    The following keys cannot be identified:";
    for (const std::string& key : keys[section]) out += "\n        " + key;
  }
  return out;
}

}  // namespace gantry::runtime
