// The test report formats: JUnit XML, TestNG XML, Visual Studio TRX, NUnit 2 and NUnit 3 XML and
// Cucumber JSON, each read into TestCaseResult values (docs/reports.md, "Formats", says what each
// format's elements become). Pure functions; thread-safe.
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/reports/report_input.h"

namespace gantry::runtime::reports::internal {

namespace {

int64_t SumOfCases(const TestReport& report) {
  int64_t total = 0;
  for (const TestCaseResult& c : report.cases) total = AddCapped(total, c.duration_ns);
  return total;
}

// The message of a failure-like element: its message attribute (or <message> child) and its body
// (or <stack-trace> / <StackTrace> child).
std::string ElementMessage(pugi::xml_node node) {
  std::string message = node.attribute("message").value();
  if (message.empty()) message = TrimmedText(node.child("message"));
  std::string detail = TrimmedText(node);
  if (detail.empty()) detail = TrimmedText(node.child("stack-trace"));
  return JoinMessage(message, detail);
}

// ---- JUnit XML ------------------------------------------------------------------------------

Status JUnitCase(const ReportInput& in, pugi::xml_node testcase, const std::string& suite, TestReport& report) {
  TestCaseResult result;
  result.test_suite_name = suite;
  result.prefix = testcase.attribute("classname").value();
  result.name = testcase.attribute("name").value();
  if (result.name.empty()) return in.Error(testcase, "<testcase> has no name attribute");
  GANTRY_ASSIGN_OR_RETURN(result.duration_ns, SecondsAttr(in, testcase, "time"));
  result.status = std::string(kSucceeded);
  // The first outcome element decides (pytest adds a teardown <error> after a test's <failure>).
  for (pugi::xml_node child : testcase.children()) {
    std::string_view outcome;
    if (Named(child, "failure")) outcome = kFailed;
    else if (Named(child, "error")) outcome = kError;
    else if (Named(child, "skipped")) outcome = kSkipped;
    else continue;
    result.status = std::string(outcome);
    result.message = ElementMessage(child);
    break;
  }
  report.cases.push_back(std::move(result));
  return Status::Ok();
}

}  // namespace

StatusOr<TestReport> ParseJUnit(const ReportInput& in) {
  pugi::xml_document doc;
  GANTRY_RETURN_IF_ERROR(LoadXml(in, doc));
  pugi::xml_node root = doc.document_element();
  if (!Named(root, "testsuites") && !Named(root, "testsuite")) {
    return WrongRoot(in, root, "<testsuites> or <testsuite>");
  }
  TestReport report;
  // Depth-first in document order, without recursion: suites nest to any depth, and a suite may
  // hold cases and suites in any order.
  std::vector<std::pair<pugi::xml_node, std::string>> pending = {{root, ""}};
  while (!pending.empty()) {
    auto [node, suite_name] = std::move(pending.back());
    pending.pop_back();
    if (Named(node, "testcase")) {
      GANTRY_RETURN_IF_ERROR(JUnitCase(in, node, suite_name, report));
      continue;
    }
    std::string name = Named(node, "testsuite") || suite_name.empty() ? node.attribute("name").value() : suite_name;
    for (pugi::xml_node child = node.last_child(); child; child = child.previous_sibling()) {
      if (Named(child, "testcase") || Named(child, "testsuite")) pending.emplace_back(child, name);
    }
  }
  // The root's time, else its suites' (pytest times only <testsuite>), else the cases'.
  GANTRY_ASSIGN_OR_RETURN(report.duration_ns, SecondsAttr(in, root, "time"));
  if (root.attribute("time").empty()) {
    bool timed = false;
    for (pugi::xml_node suite : root.children("testsuite")) {
      GANTRY_ASSIGN_OR_RETURN(int64_t suite_ns, SecondsAttr(in, suite, "time"));
      report.duration_ns = AddCapped(report.duration_ns, suite_ns);
      timed = timed || !suite.attribute("time").empty();
    }
    if (!timed) report.duration_ns = SumOfCases(report);
  }
  return report;
}

namespace {

// ---- TestNG XML -----------------------------------------------------------------------------

std::string_view TestNgStatus(std::string_view status) {
  if (status == "PASS") return kSucceeded;
  if (status == "FAIL") return kFailed;
  if (status == "SKIP") return kSkipped;
  return kUnknown;
}

}  // namespace

StatusOr<TestReport> ParseTestNg(const ReportInput& in) {
  pugi::xml_document doc;
  GANTRY_RETURN_IF_ERROR(LoadXml(in, doc));
  pugi::xml_node root = doc.document_element();
  if (!Named(root, "testng-results")) return WrongRoot(in, root, "<testng-results>");
  TestReport report;
  int64_t suites_ns = 0;
  bool suites_timed = false;
  for (pugi::xml_node suite : root.children("suite")) {
    GANTRY_ASSIGN_OR_RETURN(int64_t suite_ns, MillisAttr(in, suite, "duration-ms"));
    suites_ns = AddCapped(suites_ns, suite_ns);
    suites_timed = suites_timed || !suite.attribute("duration-ms").empty();
    for (pugi::xml_node test : suite.children("test")) {
      for (pugi::xml_node cls : test.children("class")) {
        for (pugi::xml_node method : cls.children("test-method")) {
          if (method.attribute("is-config").as_bool()) continue;  // @Before/@After methods
          TestCaseResult result;
          result.test_suite_name = suite.attribute("name").value();
          result.prefix = cls.attribute("name").value();
          result.name = method.attribute("name").value();
          if (result.name.empty()) return in.Error(method, "<test-method> has no name attribute");
          result.status = std::string(TestNgStatus(method.attribute("status").value()));
          GANTRY_ASSIGN_OR_RETURN(result.duration_ns, MillisAttr(in, method, "duration-ms"));
          pugi::xml_node exception = method.child("exception");
          if (exception && result.status != kSucceeded) {  // a passing test may name its expected exception
            std::string message = TrimmedText(exception.child("message"));
            if (message.empty()) message = exception.attribute("class").value();
            result.message = JoinMessage(message, TrimmedText(exception.child("full-stacktrace")));
          }
          report.cases.push_back(std::move(result));
        }
      }
    }
  }
  report.duration_ns = suites_timed ? suites_ns : SumOfCases(report);
  return report;
}

namespace {

// ---- Visual Studio TRX ----------------------------------------------------------------------

std::string_view TrxStatus(std::string_view outcome) {
  for (std::string_view o : {"Passed", "PassedButRunAborted", "Completed", "Warning"}) {
    if (outcome == o) return kSucceeded;
  }
  for (std::string_view o : {"Failed", "Timeout", "Aborted"}) {
    if (outcome == o) return kFailed;
  }
  for (std::string_view o : {"Error", "NotRunnable", "Disconnected"}) {
    if (outcome == o) return kError;
  }
  for (std::string_view o : {"NotExecuted", "Pending", "InProgress"}) {
    if (outcome == o) return kSkipped;
  }
  return kUnknown;  // Inconclusive and anything else
}

struct TrxDefinition {
  std::string class_name;
  std::string storage;
};

std::string BaseName(std::string_view path) {
  size_t slash = path.find_last_of("/\\");
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

StatusOr<TestReport> ParseTrx(const ReportInput& in) {
  pugi::xml_document doc;
  GANTRY_RETURN_IF_ERROR(LoadXml(in, doc));
  pugi::xml_node root = doc.document_element();
  if (!Named(root, "TestRun")) return WrongRoot(in, root, "<TestRun>");
  std::unordered_map<std::string, TrxDefinition> definitions;
  for (pugi::xml_node test : root.child("TestDefinitions").children()) {
    TrxDefinition definition;
    definition.class_name = test.child("TestMethod").attribute("className").value();
    definition.storage = BaseName(test.attribute("storage").value());
    definitions[test.attribute("id").value()] = std::move(definition);
  }
  TestReport report;
  // A stack of results still to read, the next one last.
  std::vector<pugi::xml_node> pending;
  for (pugi::xml_node results = root.last_child(); results; results = results.previous_sibling()) {
    if (!Named(results, "Results")) continue;
    for (pugi::xml_node r = results.last_child(); r; r = r.previous_sibling()) {
      if (r.type() == pugi::node_element) pending.push_back(r);
    }
  }
  while (!pending.empty()) {
    pugi::xml_node r = pending.back();
    pending.pop_back();
    if (pugi::xml_node inner = r.child("InnerResults")) {
      // A data-driven or ordered test: its rows are the cases.
      for (pugi::xml_node child = inner.last_child(); child; child = child.previous_sibling()) {
        if (child.type() == pugi::node_element) pending.push_back(child);
      }
      continue;
    }
    TestCaseResult result;
    result.name = r.attribute("testName").value();
    if (result.name.empty()) return in.Error(r, "<" + std::string(r.name()) + "> has no testName attribute");
    auto definition = definitions.find(r.attribute("testId").value());
    if (definition != definitions.end()) {
      result.prefix = definition->second.class_name;
      result.test_suite_name = definition->second.storage;
    }
    if (result.test_suite_name.empty()) result.test_suite_name = root.attribute("name").value();
    result.status = std::string(TrxStatus(r.attribute("outcome").value()));
    GANTRY_ASSIGN_OR_RETURN(result.duration_ns, TimeSpanAttr(in, r, "duration"));
    pugi::xml_node error = r.child("Output").child("ErrorInfo");
    result.message = JoinMessage(TrimmedText(error.child("Message")), TrimmedText(error.child("StackTrace")));
    report.cases.push_back(std::move(result));
  }
  report.duration_ns = SumOfCases(report);
  return report;
}

namespace {

// ---- NUnit 2 and NUnit 3 XML ----------------------------------------------------------------

std::string_view NUnit2Status(pugi::xml_node testcase) {
  std::string_view result = testcase.attribute("result").value();
  if (result.empty()) {  // NUnit 2.4 writes only executed/success
    if (!testcase.attribute("executed").as_bool(true)) return kSkipped;
    return testcase.attribute("success").as_bool() ? kSucceeded : kFailed;
  }
  if (result == "Success") return kSucceeded;
  if (result == "Failure") return kFailed;
  if (result == "Error" || result == "Cancelled" || result == "NotRunnable") return kError;
  if (result == "Ignored" || result == "Skipped") return kSkipped;
  return kUnknown;  // Inconclusive
}

std::string_view NUnit3Status(pugi::xml_node testcase) {
  std::string_view result = testcase.attribute("result").value();
  std::string_view label = testcase.attribute("label").value();
  if (result == "Passed" || result == "Warning") return kSucceeded;
  if (result == "Failed") {
    return label == "Error" || label == "Cancelled" || label == "Invalid" ? kError : kFailed;
  }
  if (result == "Skipped") return kSkipped;
  return kUnknown;  // Inconclusive
}

// "Ns.Class.Method(args)" -> {"Ns.Class", "Method(args)"}: splits at the last '.' outside
// parentheses and angle brackets ("Ns.Fixture<Double>(11.5d).Test1" -> "Ns.Fixture<Double>(11.5d)").
std::pair<std::string, std::string> SplitFullName(std::string_view full) {
  int depth = 0;
  size_t split = std::string_view::npos;
  for (size_t i = 0; i < full.size(); ++i) {
    char c = full[i];
    if (c == '(' || c == '<') ++depth;
    else if ((c == ')' || c == '>') && depth > 0) --depth;
    else if (c == '.' && depth == 0) split = i;
  }
  if (split == std::string_view::npos) return {"", std::string(full)};
  return {std::string(full.substr(0, split)), std::string(full.substr(split + 1))};
}

// Suites that group the cases of one method (parameterized, theory, generic); a case's suite is
// the nearest enclosing suite of any other type (its fixture).
bool IsMethodSuite(std::string_view type) {
  return type == "ParameterizedTest" || type == "ParameterizedMethod" || type == "Theory" || type == "GenericMethod";
}

// Walks nested <test-suite> elements below root without recursion, calling on_case for every
// <test-case> with the name of its suite (see IsMethodSuite).
template <typename OnCase>
Status WalkNUnitSuites(pugi::xml_node root, OnCase on_case) {
  struct Frame {
    pugi::xml_node container;  // a node whose children (or <results> children) are suites/cases
    std::string suite;
  };
  std::vector<Frame> pending = {{root, ""}};
  while (!pending.empty()) {
    Frame frame = std::move(pending.back());
    pending.pop_back();
    std::vector<Frame> nested;
    auto visit = [&](pugi::xml_node parent) -> Status {
      for (pugi::xml_node child : parent.children()) {
        if (Named(child, "test-case")) {
          GANTRY_RETURN_IF_ERROR(on_case(child, frame.suite));
        } else if (Named(child, "test-suite")) {
          bool method = IsMethodSuite(child.attribute("type").value()) && !frame.suite.empty();
          nested.push_back({child, method ? frame.suite : child.attribute("name").value()});
        }
      }
      return Status::Ok();
    };
    GANTRY_RETURN_IF_ERROR(visit(frame.container));
    GANTRY_RETURN_IF_ERROR(visit(frame.container.child("results")));  // NUnit 2 wraps children
    for (auto it = nested.rbegin(); it != nested.rend(); ++it) pending.push_back(std::move(*it));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<TestReport> ParseNUnit2(const ReportInput& in) {
  pugi::xml_document doc;
  GANTRY_RETURN_IF_ERROR(LoadXml(in, doc));
  pugi::xml_node root = doc.document_element();
  if (!Named(root, "test-results")) return WrongRoot(in, root, "<test-results> (NUnit 2)");
  TestReport report;
  GANTRY_RETURN_IF_ERROR(WalkNUnitSuites(root, [&](pugi::xml_node testcase, const std::string& suite) -> Status {
    std::string full = testcase.attribute("name").value();
    if (full.empty()) return in.Error(testcase, "<test-case> has no name attribute");
    TestCaseResult result;
    result.test_suite_name = suite;
    std::tie(result.prefix, result.name) = SplitFullName(full);
    result.status = std::string(NUnit2Status(testcase));
    GANTRY_ASSIGN_OR_RETURN(result.duration_ns, SecondsAttr(in, testcase, "time"));
    pugi::xml_node why = testcase.child("failure") ? testcase.child("failure") : testcase.child("reason");
    if (result.status != kSucceeded) result.message = ElementMessage(why);
    report.cases.push_back(std::move(result));
    return Status::Ok();
  }));
  int64_t suites_ns = 0;
  bool timed = false;
  for (pugi::xml_node suite : root.children("test-suite")) {
    GANTRY_ASSIGN_OR_RETURN(int64_t ns, SecondsAttr(in, suite, "time"));
    suites_ns = AddCapped(suites_ns, ns);
    timed = timed || !suite.attribute("time").empty();
  }
  report.duration_ns = timed ? suites_ns : SumOfCases(report);
  return report;
}

StatusOr<TestReport> ParseNUnit3(const ReportInput& in) {
  pugi::xml_document doc;
  GANTRY_RETURN_IF_ERROR(LoadXml(in, doc));
  pugi::xml_node root = doc.document_element();
  if (!Named(root, "test-run")) return WrongRoot(in, root, "<test-run> (NUnit 3)");
  TestReport report;
  GANTRY_RETURN_IF_ERROR(WalkNUnitSuites(root, [&](pugi::xml_node testcase, const std::string& suite) -> Status {
    TestCaseResult result;
    result.test_suite_name = suite;
    result.name = testcase.attribute("name").value();
    if (result.name.empty()) return in.Error(testcase, "<test-case> has no name attribute");
    result.prefix = testcase.attribute("classname").value();
    if (result.prefix.empty()) result.prefix = SplitFullName(testcase.attribute("fullname").value()).first;
    result.status = std::string(NUnit3Status(testcase));
    GANTRY_ASSIGN_OR_RETURN(result.duration_ns, SecondsAttr(in, testcase, "duration"));
    pugi::xml_node why = testcase.child("failure") ? testcase.child("failure") : testcase.child("reason");
    if (result.status != kSucceeded) result.message = ElementMessage(why);
    report.cases.push_back(std::move(result));
    return Status::Ok();
  }));
  GANTRY_ASSIGN_OR_RETURN(report.duration_ns, SecondsAttr(in, root, "duration"));
  if (root.attribute("duration").empty()) report.duration_ns = SumOfCases(report);
  return report;
}

namespace {

// ---- Cucumber JSON --------------------------------------------------------------------------

// The outcome of a scenario, from the results of its steps and hooks (background steps included).
struct ScenarioOutcome {
  bool any = false;
  bool failed = false;
  bool broken = false;   // undefined or ambiguous: a step that has no single definition
  bool skipped = false;  // skipped or pending
  int64_t duration_ns = 0;
  std::string message;

  std::string_view Status() const {
    if (failed) return kFailed;
    if (broken) return kError;
    if (skipped) return kSkipped;
    return any ? kSucceeded : kUnknown;
  }
};

Status AddCucumberResults(const ReportInput& in, const nlohmann::json& items, const std::string& where,
                          ScenarioOutcome& outcome) {
  if (items.is_null()) return Status::Ok();
  if (!items.is_array()) return in.Error(where + " is not an array");
  for (size_t i = 0; i < items.size(); ++i) {
    const nlohmann::json& item = items[i];
    std::string at = where + "[" + std::to_string(i) + "]";
    if (!item.is_object()) return in.Error(at + " is not an object");
    auto result = item.find("result");
    if (result == item.end()) continue;
    if (!result->is_object()) return in.Error(at + ".result is not an object");
    auto status = result->find("status");
    if (status == result->end() || !status->is_string()) return in.Error(at + ".result.status is not a string");
    auto duration = result->find("duration");
    if (duration != result->end()) {
      if (!duration->is_number() || duration->get<double>() < 0 || duration->get<double>() > 1e18) {
        return in.Error(at + ".result.duration is not a non-negative number of nanoseconds");
      }
      outcome.duration_ns = AddCapped(outcome.duration_ns, static_cast<int64_t>(duration->get<double>()));
    }
    const std::string& s = status->get_ref<const std::string&>();
    outcome.any = true;
    std::string step;
    if (auto keyword = item.find("keyword"); keyword != item.end() && keyword->is_string()) {
      step = keyword->get<std::string>();
    }
    if (auto name = item.find("name"); name != item.end() && name->is_string()) step += name->get<std::string>();
    std::string error;
    if (auto e = result->find("error_message"); e != result->end() && e->is_string()) error = e->get<std::string>();
    if (s == "failed") {
      if (!outcome.failed) outcome.message = JoinMessage(step.empty() ? "" : "Failed step: " + step, error);
      outcome.failed = true;
    } else if (s == "undefined" || s == "ambiguous") {
      if (!outcome.failed && !outcome.broken) outcome.message = JoinMessage((s == "undefined" ? "Undefined step: " : "Ambiguous step: ") + step, error);
      outcome.broken = true;
    } else if (s == "skipped" || s == "pending") {
      if (s == "pending" && outcome.message.empty()) outcome.message = JoinMessage("Pending step: " + step, error);
      outcome.skipped = true;
    } else if (s != "passed") {
      return in.Error(at + ".result.status \"" + s + "\" is not a Cucumber step status");
    }
    // Hooks attached to a step (after_step) count like the step.
    GANTRY_RETURN_IF_ERROR(AddCucumberResults(in, item.contains("after") ? item["after"] : nlohmann::json(),
                                              at + ".after", outcome));
  }
  return Status::Ok();
}

std::string StringMember(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

StatusOr<TestReport> ParseCucumber(const ReportInput& in) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json features, LoadJson(in));
  if (!features.is_array()) return in.Error("not a Cucumber JSON report: the top level is not an array of features");
  TestReport report;
  for (size_t f = 0; f < features.size(); ++f) {
    const nlohmann::json& feature = features[f];
    std::string at = "[" + std::to_string(f) + "]";
    if (!feature.is_object()) return in.Error(at + " is not a feature object");
    std::string feature_name = StringMember(feature, "name");
    std::string uri = StringMember(feature, "uri");
    auto elements = feature.find("elements");
    if (elements == feature.end()) continue;
    if (!elements->is_array()) return in.Error(at + ".elements is not an array");
    ScenarioOutcome background;
    bool has_background = false;
    for (size_t e = 0; e < elements->size(); ++e) {
      const nlohmann::json& element = (*elements)[e];
      std::string element_at = at + ".elements[" + std::to_string(e) + "]";
      if (!element.is_object()) return in.Error(element_at + " is not an object");
      ScenarioOutcome outcome;
      if (StringMember(element, "type") != "background") {
        if (has_background) outcome = background;  // the background's steps ran for this scenario
        has_background = false;
      }
      for (const char* part : {"before", "steps", "after"}) {
        GANTRY_RETURN_IF_ERROR(AddCucumberResults(in, element.contains(part) ? element[part] : nlohmann::json(),
                                                  element_at + "." + part, outcome));
      }
      if (StringMember(element, "type") == "background") {
        background = std::move(outcome);
        has_background = true;
        continue;
      }
      TestCaseResult result;
      result.test_suite_name = feature_name;
      result.prefix = uri;
      result.name = StringMember(element, "name");
      result.status = std::string(outcome.Status());
      result.duration_ns = outcome.duration_ns;
      result.message = std::move(outcome.message);
      report.cases.push_back(std::move(result));
    }
  }
  report.duration_ns = SumOfCases(report);
  return report;
}

}  // namespace gantry::runtime::reports::internal
