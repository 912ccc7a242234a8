// The code coverage formats: Cobertura XML, JaCoCo XML, Clover XML and SimpleCov JSON, each read
// into one FileCoverage per source file (docs/reports.md, "Formats", says what each format's
// elements become). Pure functions; thread-safe.
#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/reports/report_input.h"

namespace gantry::runtime::reports::internal {

namespace {

// ---- Cobertura XML --------------------------------------------------------------------------

struct CoberturaLine {
  bool covered = false;
  int64_t branches_covered = 0;
  int64_t branches_total = 0;
};

// Cobertura's files in first-seen order, each with its lines by number: a Java file is listed
// once per class (inner classes included), and a line counts once.
class CoberturaFiles {
 public:
  std::map<int64_t, CoberturaLine>& LinesOf(const std::string& path) {
    auto [it, inserted] = index_.try_emplace(path, files_.size());
    if (inserted) files_.emplace_back(path, std::map<int64_t, CoberturaLine>());
    return files_[it->second].second;
  }
  const std::vector<std::pair<std::string, std::map<int64_t, CoberturaLine>>>& files() const { return files_; }

 private:
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::pair<std::string, std::map<int64_t, CoberturaLine>>> files_;
};

// condition-coverage="50% (1/2)" -> {1, 2}.
bool ParseConditionCoverage(std::string_view text, int64_t& covered, int64_t& total) {
  size_t open = text.find('(');
  if (open == std::string_view::npos || text.empty() || text.back() != ')') return false;
  std::string_view inside = text.substr(open + 1, text.size() - open - 2);
  size_t slash = inside.find('/');
  if (slash == std::string_view::npos) return false;
  auto number = [](std::string_view s, int64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size() && out >= 0;
  };
  return number(inside.substr(0, slash), covered) && number(inside.substr(slash + 1), total) && covered <= total;
}

}  // namespace

StatusOr<CoverageReport> ParseCobertura(const ReportInput& in) {
  pugi::xml_document doc;
  GANTRY_RETURN_IF_ERROR(LoadXml(in, doc));
  pugi::xml_node root = doc.document_element();
  if (!Named(root, "coverage")) return WrongRoot(in, root, "<coverage>");
  CoberturaFiles files;
  for (pugi::xml_node package : root.child("packages").children("package")) {
    for (pugi::xml_node cls : package.child("classes").children("class")) {
      std::string path = cls.attribute("filename").value();
      if (path.empty()) return in.Error(cls, "<class> has no filename attribute");
      std::map<int64_t, CoberturaLine>& lines = files.LinesOf(path);
      // The class's own <lines>; its <methods> repeat the same lines.
      for (pugi::xml_node line : cls.child("lines").children("line")) {
        GANTRY_ASSIGN_OR_RETURN(int64_t number, CountAttr(in, line, "number"));
        GANTRY_ASSIGN_OR_RETURN(int64_t hits, CountAttr(in, line, "hits"));
        CoberturaLine& entry = lines[number];
        entry.covered = entry.covered || hits > 0;
        if (line.attribute("branch").as_bool()) {
          std::string_view condition = line.attribute("condition-coverage").value();
          int64_t covered = 0, total = 0;
          if (!condition.empty() && !ParseConditionCoverage(condition, covered, total)) {
            return in.Error(line, "<line> condition-coverage=\"" + std::string(condition) +
                                      "\" is not \"<percent>% (<covered>/<total>)\"");
          }
          entry.branches_covered = std::max(entry.branches_covered, covered);
          entry.branches_total = std::max(entry.branches_total, total);
        }
      }
    }
  }
  CoverageReport report;
  for (const auto& [path, lines] : files.files()) {
    FileCoverage file;
    file.path = path;
    for (const auto& [number, line] : lines) {
      (line.covered ? file.lines_covered : file.lines_missed) += 1;
      file.branches_covered = AddCapped(file.branches_covered, line.branches_covered);
      file.branches_missed = AddCapped(file.branches_missed, line.branches_total - line.branches_covered);
    }
    AddFile(report, std::move(file));
  }
  return report;
}

namespace {

// ---- JaCoCo XML -----------------------------------------------------------------------------

StatusOr<FileCoverage> JaCoCoSourceFile(const ReportInput& in, const std::string& package, pugi::xml_node source) {
  FileCoverage file;
  std::string name = source.attribute("name").value();
  if (name.empty()) return in.Error(source, "<sourcefile> has no name attribute");
  file.path = package.empty() ? name : package + "/" + name;
  bool have_line_counter = false;
  for (pugi::xml_node counter : source.children("counter")) {
    std::string_view type = counter.attribute("type").value();
    if (type != "LINE" && type != "BRANCH") continue;
    GANTRY_ASSIGN_OR_RETURN(int64_t missed, CountAttr(in, counter, "missed"));
    GANTRY_ASSIGN_OR_RETURN(int64_t covered, CountAttr(in, counter, "covered"));
    if (type == "LINE") {
      have_line_counter = true;
      file.lines_missed = missed;
      file.lines_covered = covered;
    } else {
      file.branches_missed = missed;
      file.branches_covered = covered;
    }
  }
  if (have_line_counter) return file;
  // No counters (a hand-trimmed report): count the <line> elements as JaCoCo would.
  for (pugi::xml_node line : source.children("line")) {
    GANTRY_ASSIGN_OR_RETURN(int64_t mi, CountAttr(in, line, "mi"));
    GANTRY_ASSIGN_OR_RETURN(int64_t ci, CountAttr(in, line, "ci"));
    GANTRY_ASSIGN_OR_RETURN(int64_t mb, CountAttr(in, line, "mb"));
    GANTRY_ASSIGN_OR_RETURN(int64_t cb, CountAttr(in, line, "cb"));
    if (ci > 0) ++file.lines_covered;
    else if (mi > 0) ++file.lines_missed;
    file.branches_covered = AddCapped(file.branches_covered, cb);
    file.branches_missed = AddCapped(file.branches_missed, mb);
  }
  return file;
}

}  // namespace

StatusOr<CoverageReport> ParseJaCoCo(const ReportInput& in) {
  pugi::xml_document doc;
  GANTRY_RETURN_IF_ERROR(LoadXml(in, doc));
  pugi::xml_node root = doc.document_element();
  if (!Named(root, "report")) return WrongRoot(in, root, "<report>");
  CoverageReport report;
  // <group> elements nest to any depth; walk them without recursion, in document order.
  std::vector<pugi::xml_node> pending = {root};
  while (!pending.empty()) {
    pugi::xml_node node = pending.back();
    pending.pop_back();
    if (Named(node, "package")) {
      std::string package = node.attribute("name").value();
      for (pugi::xml_node source : node.children("sourcefile")) {
        GANTRY_ASSIGN_OR_RETURN(FileCoverage file, JaCoCoSourceFile(in, package, source));
        AddFile(report, std::move(file));
      }
      continue;
    }
    for (pugi::xml_node child = node.last_child(); child; child = child.previous_sibling()) {
      if (Named(child, "group") || Named(child, "package")) pending.push_back(child);
    }
  }
  return report;
}

StatusOr<CoverageReport> ParseClover(const ReportInput& in) {
  pugi::xml_document doc;
  GANTRY_RETURN_IF_ERROR(LoadXml(in, doc));
  pugi::xml_node root = doc.document_element();
  if (!Named(root, "coverage")) return WrongRoot(in, root, "<coverage>");
  pugi::xml_node project = root.child("project");
  if (!project) return in.Error(root, "not a Clover XML file: <coverage> has no <project>");
  std::vector<pugi::xml_node> file_nodes;
  for (pugi::xml_node child : project.children()) {
    if (Named(child, "file")) file_nodes.push_back(child);
    if (Named(child, "package")) {
      for (pugi::xml_node file : child.children("file")) file_nodes.push_back(file);
    }
  }
  CoverageReport report;
  for (pugi::xml_node node : file_nodes) {
    FileCoverage file;
    file.path = node.attribute("path").value();
    if (file.path.empty()) file.path = node.attribute("name").value();
    if (file.path.empty()) return in.Error(node, "<file> has neither a path nor a name attribute");
    pugi::xml_node metrics = node.child("metrics");
    if (!metrics) return in.Error(node, "<file> has no <metrics>");
    GANTRY_ASSIGN_OR_RETURN(int64_t statements, CountAttr(in, metrics, "statements"));
    GANTRY_ASSIGN_OR_RETURN(int64_t covered_statements, CountAttr(in, metrics, "coveredstatements"));
    GANTRY_ASSIGN_OR_RETURN(int64_t conditionals, CountAttr(in, metrics, "conditionals"));
    GANTRY_ASSIGN_OR_RETURN(int64_t covered_conditionals, CountAttr(in, metrics, "coveredconditionals"));
    if (covered_statements > statements || covered_conditionals > conditionals) {
      return in.Error(metrics, "<metrics> counts more covered statements or conditionals than there are");
    }
    file.lines_covered = covered_statements;
    file.lines_missed = statements - covered_statements;
    file.branches_covered = covered_conditionals;
    file.branches_missed = conditionals - covered_conditionals;
    AddFile(report, std::move(file));
  }
  return report;
}

namespace {

// ---- SimpleCov JSON -------------------------------------------------------------------------

struct SimpleCovFile {
  std::vector<std::optional<int64_t>> lines;   // hits per line; nullopt: not a relevant line
  std::map<std::string, int64_t> branches;     // hits per branch, keyed by its position
};

// Adds one file's entry: {"lines": [...], "branches": ...} or, from simplecov before 0.18, the
// lines array alone.
Status AddSimpleCovFile(const ReportInput& in, const nlohmann::json& entry, const std::string& at,
                        SimpleCovFile& file) {
  const nlohmann::json* lines = &entry;
  const nlohmann::json* branches = nullptr;
  if (entry.is_object()) {
    auto it = entry.find("lines");
    if (it == entry.end()) return in.Error(at + " has no \"lines\"");
    lines = &*it;
    if (auto b = entry.find("branches"); b != entry.end()) branches = &*b;
  }
  if (!lines->is_array()) return in.Error(at + ".lines is not an array");
  if (file.lines.size() < lines->size()) file.lines.resize(lines->size());
  for (size_t i = 0; i < lines->size(); ++i) {
    const nlohmann::json& hits = (*lines)[i];
    if (hits.is_null() || hits.is_string()) continue;  // not relevant, or "ignored" (nocov)
    if (!hits.is_number_integer() || hits.get<int64_t>() < 0) {
      return in.Error(at + ".lines[" + std::to_string(i) + "] is not a hit count");
    }
    file.lines[i] = AddCapped(file.lines[i].value_or(0), hits.get<int64_t>());
  }
  if (branches == nullptr || branches->is_null()) return Status::Ok();
  if (branches->is_object()) {
    // .resultset.json: {"[:if, 0, 3, 4, 3, 20]": {"[:then, 1, 3, 4, 3, 10]": 0, ...}, ...}
    for (const auto& [condition, outcomes] : branches->items()) {
      if (!outcomes.is_object()) return in.Error(at + ".branches[\"" + condition + "\"] is not an object");
      for (const auto& [branch, hits] : outcomes.items()) {
        if (!hits.is_number_integer() || hits.get<int64_t>() < 0) {
          return in.Error(at + ".branches[\"" + condition + "\"][\"" + branch + "\"] is not a hit count");
        }
        int64_t& sum = file.branches[condition + " " + branch];
        sum = AddCapped(sum, hits.get<int64_t>());
      }
    }
    return Status::Ok();
  }
  if (!branches->is_array()) return in.Error(at + ".branches is neither an object nor an array");
  // coverage.json: [{"type": "then", "start_line": 3, "end_line": 3, "coverage": 0}, ...]
  for (size_t i = 0; i < branches->size(); ++i) {
    const nlohmann::json& branch = (*branches)[i];
    std::string branch_at = at + ".branches[" + std::to_string(i) + "]";
    if (!branch.is_object()) return in.Error(branch_at + " is not an object");
    auto coverage = branch.find("coverage");
    if (coverage == branch.end()) return in.Error(branch_at + " has no \"coverage\"");
    if (coverage->is_string()) continue;  // "ignored"
    if (!coverage->is_number_integer() || coverage->get<int64_t>() < 0) {
      return in.Error(branch_at + ".coverage is not a hit count");
    }
    int64_t& sum = file.branches[std::to_string(i) + " " + branch.dump()];
    sum = AddCapped(sum, coverage->get<int64_t>());
  }
  return Status::Ok();
}

Status AddSimpleCovFiles(const ReportInput& in, const nlohmann::json& coverage, const std::string& at,
                         std::vector<std::pair<std::string, SimpleCovFile>>& files,
                         std::unordered_map<std::string, size_t>& index) {
  if (!coverage.is_object()) return in.Error(at + " is not an object of files");
  for (const auto& [path, entry] : coverage.items()) {
    auto [it, inserted] = index.try_emplace(path, files.size());
    if (inserted) files.emplace_back(path, SimpleCovFile());
    GANTRY_RETURN_IF_ERROR(AddSimpleCovFile(in, entry, at + "[\"" + path + "\"]", files[it->second].second));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<CoverageReport> ParseSimpleCov(const ReportInput& in) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json top, LoadJson(in));
  if (!top.is_object()) return in.Error("not a SimpleCov JSON report: the top level is not an object");
  std::vector<std::pair<std::string, SimpleCovFile>> files;
  std::unordered_map<std::string, size_t> index;
  if (top.contains("meta") && top.contains("coverage")) {
    // coverage/coverage.json of simplecov's JSON formatter.
    GANTRY_RETURN_IF_ERROR(AddSimpleCovFiles(in, top["coverage"], "coverage", files, index));
  } else {
    // coverage/.resultset.json: one result per test command, merged as simplecov merges them.
    for (const auto& [command, result] : top.items()) {
      if (!result.is_object() || !result.contains("coverage")) {
        return in.Error("not a SimpleCov JSON report: [\"" + command + "\"] has no \"coverage\"");
      }
      GANTRY_RETURN_IF_ERROR(AddSimpleCovFiles(in, result["coverage"], "[\"" + command + "\"].coverage", files, index));
    }
  }
  CoverageReport report;
  for (const auto& [path, data] : files) {
    FileCoverage file;
    file.path = path;
    for (const std::optional<int64_t>& hits : data.lines) {
      if (hits) (*hits > 0 ? file.lines_covered : file.lines_missed) += 1;
    }
    for (const auto& [key, hits] : data.branches) (hits > 0 ? file.branches_covered : file.branches_missed) += 1;
    AddFile(report, std::move(file));
  }
  return report;
}

}  // namespace gantry::runtime::reports::internal
