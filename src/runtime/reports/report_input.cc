#include "runtime/reports/report_input.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

namespace gantry::runtime::reports::internal {

namespace {

// Longest duration accepted, in seconds (about 31 years): keeps nanoseconds inside int64.
constexpr double kMaxSeconds = 1e9;

std::pair<int, int> LineAndColumn(std::string_view content, size_t offset) {
  offset = std::min(offset, content.size());
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (content[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int>(offset - line_start) + 1};
}

std::string Quoted(std::string_view value) {
  constexpr size_t kMax = 40;
  if (value.size() > kMax) return "\"" + std::string(value.substr(0, kMax)) + "...\"";
  return "\"" + std::string(value) + "\"";
}

Status BadAttr(const ReportInput& in, pugi::xml_node node, const char* name, std::string_view value,
               std::string_view expected) {
  return in.Error(node, "<" + std::string(node.name()) + "> attribute " + name + "=" + Quoted(value) + " is not " +
                            std::string(expected));
}

// A non-negative decimal number ("12", "0.25", "1,234.5" as some JUnit writers localise it).
bool ParseDecimal(std::string_view text, double& out) {
  std::string digits;
  for (char c : text) {
    if (c != ',') digits += c;
  }
  if (digits.empty()) return false;
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  if (!std::isfinite(value) || value < 0 || value > kMaxSeconds * 1000) return false;
  out = value;
  return true;
}

}  // namespace

Status ReportInput::Error(pugi::xml_node node, std::string_view what) const {
  ptrdiff_t offset = node ? node.offset_debug() : -1;
  if (offset < 0) return Error(what);
  return ErrorAt(static_cast<size_t>(offset), what);
}

Status ReportInput::ErrorAt(size_t offset, std::string_view what) const {
  auto [line, column] = LineAndColumn(content, offset);
  return Status::InvalidArgument(std::string(path) + ":" + std::to_string(line) + ":" + std::to_string(column) +
                                 ": " + std::string(what));
}

Status ReportInput::Error(std::string_view what) const {
  return Status::InvalidArgument(std::string(path) + ": " + std::string(what));
}

Status LoadXml(const ReportInput& in, pugi::xml_document& doc) {
  pugi::xml_parse_result parsed =
      doc.load_buffer(in.content.data(), in.content.size(), pugi::parse_default, pugi::encoding_auto);
  if (!parsed) {
    return in.ErrorAt(static_cast<size_t>(std::max<ptrdiff_t>(parsed.offset, 0)),
                      "not a well-formed " + std::string(in.format) + " file: " + parsed.description());
  }
  if (!doc.document_element()) return in.Error("not a " + std::string(in.format) + " file: no root element");
  return Status::Ok();
}

StatusOr<nlohmann::json> LoadJson(const ReportInput& in) {
  // nlohmann reports positions only through its exceptions; none leaves this function.
  try {
    return nlohmann::json::parse(in.content.begin(), in.content.end());
  } catch (const nlohmann::json::parse_error& e) {
    size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    std::string what = e.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    size_t colon = what.find(": ");
    return in.ErrorAt(offset, "not valid " + std::string(in.format) + ": " +
                                  (colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const nlohmann::json::exception& e) {  // a number too large for a double, ...
    std::string what = e.what();
    size_t bracket = what.find("] ");
    return in.Error("not valid " + std::string(in.format) + ": " +
                    (bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
}

bool Named(pugi::xml_node node, std::string_view name) { return std::string_view(node.name()) == name; }

Status WrongRoot(const ReportInput& in, pugi::xml_node root, std::string_view expected) {
  return in.Error(root, "not a " + std::string(in.format) + " file: the root element is <" + root.name() +
                            ">, expected " + std::string(expected));
}

StatusOr<int64_t> SecondsAttr(const ReportInput& in, pugi::xml_node node, const char* name) {
  std::string_view text = node.attribute(name).value();
  if (text.empty()) return int64_t{0};
  double seconds = 0;
  if (!ParseDecimal(text, seconds) || seconds > kMaxSeconds) return BadAttr(in, node, name, text, "a duration in seconds");
  return static_cast<int64_t>(std::llround(seconds * 1e9));
}

StatusOr<int64_t> MillisAttr(const ReportInput& in, pugi::xml_node node, const char* name) {
  std::string_view text = node.attribute(name).value();
  if (text.empty()) return int64_t{0};
  double millis = 0;
  if (!ParseDecimal(text, millis) || millis > kMaxSeconds * 1000) {
    return BadAttr(in, node, name, text, "a duration in milliseconds");
  }
  return static_cast<int64_t>(std::llround(millis * 1e6));
}

StatusOr<int64_t> CountAttr(const ReportInput& in, pugi::xml_node node, const char* name) {
  std::string_view text = node.attribute(name).value();
  if (text.empty()) return int64_t{0};
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return BadAttr(in, node, name, text, "a non-negative integer");
  }
  return value;
}

StatusOr<int64_t> TimeSpanAttr(const ReportInput& in, pugi::xml_node node, const char* name) {
  std::string_view text = node.attribute(name).value();
  if (text.empty()) return int64_t{0};
  auto bad = [&] { return BadAttr(in, node, name, text, "a time span [d.]hh:mm:ss[.fffffff]"); };
  // Split "[d.]hh:mm:ss" from the fraction: the fraction follows the last ':'.
  size_t first_colon = text.find(':');
  size_t last_colon = text.rfind(':');
  if (first_colon == std::string_view::npos || first_colon == last_colon) return bad();
  std::string_view head = text.substr(0, first_colon);  // "[d.]hh"
  std::string_view minutes = text.substr(first_colon + 1, last_colon - first_colon - 1);
  std::string_view seconds = text.substr(last_colon + 1);
  auto number = [](std::string_view s, int64_t max, int64_t& out) {
    if (s.empty() || s.size() > 10) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && out >= 0 && out <= max;
  };
  int64_t days = 0, hours = 0, mins = 0, secs = 0, fraction_ns = 0;
  size_t dot = head.find('.');
  if (dot != std::string_view::npos) {
    if (!number(head.substr(0, dot), 10000, days)) return bad();
    head = head.substr(dot + 1);
  }
  if (!number(head, 23, hours) || !number(minutes, 59, mins)) return bad();
  size_t fraction_dot = seconds.find('.');
  if (fraction_dot != std::string_view::npos) {
    std::string_view fraction = seconds.substr(fraction_dot + 1);
    if (fraction.empty() || fraction.size() > 9) return bad();
    int64_t scale = 1;
    for (size_t i = fraction.size(); i < 9; ++i) scale *= 10;
    if (!number(fraction, 999999999, fraction_ns)) return bad();
    fraction_ns *= scale;
    seconds = seconds.substr(0, fraction_dot);
  }
  if (!number(seconds, 59, secs)) return bad();
  return (((days * 24 + hours) * 60 + mins) * 60 + secs) * 1'000'000'000 + fraction_ns;
}

std::string TrimmedText(pugi::xml_node node) {
  std::string text = node.text().get();
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::string JoinMessage(std::string_view message, std::string_view detail) {
  if (message.empty()) return std::string(detail);
  if (detail.empty() || detail == message) return std::string(message);
  return std::string(message) + "\n" + std::string(detail);
}

int64_t AddCapped(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

void AddFile(CoverageReport& report, FileCoverage file) {
  report.lines_covered = AddCapped(report.lines_covered, file.lines_covered);
  report.lines_missed = AddCapped(report.lines_missed, file.lines_missed);
  report.branches_covered = AddCapped(report.branches_covered, file.branches_covered);
  report.branches_missed = AddCapped(report.branches_missed, file.branches_missed);
  report.files.push_back(std::move(file));
}

}  // namespace gantry::runtime::reports::internal
