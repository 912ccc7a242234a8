// Report groups and reports: CreateReportGroup, UpdateReportGroup, DeleteReportGroup,
// ListReportGroups, BatchGetReportGroups, ListReports, ListReportsForReportGroup, BatchGetReports,
// DeleteReport, DescribeTestCases, DescribeCodeCoverages and GetReportGroupTrend. Reports are made
// by builds (report_upload.cc); these read and delete them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "services/codebuild/handlers.h"
#include "services/codebuild/records.h"
#include "services/codebuild/report_records.h"

namespace gantry::services::codebuild {

namespace {

using Handler = StatusOr<Document> (*)(const CodeBuildDeps&, aws::RequestContext&, const Document&);

// Reports DeleteReportGroup removes per transaction when asked to delete them.
constexpr int kDeleteBatch = 20;

int PageSizeOf(const Document& input) { return input.value("maxResults", kPageSize); }

// A ReportExportConfig as AWS keeps it: an S3 destination needs its bucket and gets packaging NONE
// and encryptionDisabled false unless given; NO_EXPORT keeps no destination.
StatusOr<Document> NormalizeExportConfig(const Document& config) {
  std::string type = config.value("exportConfigType", "");
  if (type.empty()) return InvalidInput("Invalid export config: exportConfigType is required");
  if (type == "NO_EXPORT") return Document{{"exportConfigType", "NO_EXPORT"}};
  Document destination = config.value("s3Destination", Document::object());
  if (destination.value("bucket", "").empty()) {
    return InvalidInput("Invalid export config: s3Destination.bucket is required when exportConfigType is S3");
  }
  if (!destination.contains("packaging")) destination["packaging"] = "NONE";
  if (!destination.contains("encryptionDisabled")) destination["encryptionDisabled"] = false;
  return Document{{"exportConfigType", "S3"}, {"s3Destination", destination}};
}

StatusOr<std::string> GroupNameOf(aws::RequestContext& ctx, const std::string& arn) {
  std::optional<std::string> name = ReportGroupNameOf(arn, ctx.region, ctx.account_id);
  if (!name) return InvalidInput("Invalid report group ARN: " + arn);
  return *name;
}

StatusOr<std::string> ReportIdFromArn(aws::RequestContext& ctx, const std::string& arn) {
  std::optional<std::string> id = ReportIdOf(arn, ctx.region, ctx.account_id);
  if (!id) return InvalidInput("Invalid report ARN: " + arn);
  return *id;
}

StatusOr<Document> CreateReportGroup(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["name"].get<std::string>();
  GANTRY_RETURN_IF_ERROR(ValidateReportGroupName(name));
  GANTRY_ASSIGN_OR_RETURN(Document export_config, NormalizeExportConfig(input["exportConfig"]));
  std::string arn = ReportGroupArn(ctx.region, ctx.account_id, name);
  double now = Seconds(deps.clock->Now());
  Document group = {{"arn", arn},
                    {"name", name},
                    {"type", input["type"]},
                    {"exportConfig", export_config},
                    {"created", now},
                    {"lastModified", now},
                    {"tags", input.value("tags", Document::array())},
                    {"status", "ACTIVE"}};
  auto created = deps.store->Create(kReportGroupTable, ctx.Scope(), name, Document{{"ReportGroup", group}});
  if (created.status().code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("Report group " + arn + " already exists", "ResourceAlreadyExistsException");
  }
  GANTRY_RETURN_IF_ERROR(created.status());
  return Document{{"reportGroup", group}};
}

StatusOr<Document> UpdateReportGroup(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string arn = input["arn"].get<std::string>();
  std::optional<std::string> name = ReportGroupNameOf(arn, ctx.region, ctx.account_id);
  if (!name) return ReportGroupNotFound(arn);
  std::optional<Document> export_config;
  if (input.contains("exportConfig")) {
    GANTRY_ASSIGN_OR_RETURN(export_config, NormalizeExportConfig(input["exportConfig"]));
  }
  Document group;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kReportGroupTable, ctx.Scope(), *name));
    if (!record) return ReportGroupNotFound(arn);
    group = record->doc["ReportGroup"];
    if (export_config) group["exportConfig"] = *export_config;
    if (input.contains("tags")) group["tags"] = input["tags"];
    group["lastModified"] = Seconds(deps.clock->Now());
    record->doc["ReportGroup"] = group;
    return tx.Put(kReportGroupTable, ctx.Scope(), *name, record->doc).status();
  }));
  return Document{{"reportGroup", group}};
}

StatusOr<Document> DeleteReportGroup(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string arn = input["arn"].get<std::string>();
  GANTRY_ASSIGN_OR_RETURN(std::string name, GroupNameOf(ctx, arn));
  bool delete_reports = input.value("deleteReports", false);
  std::string scope = ctx.Scope();
  std::string prefix = "g/" + name + "/a/";
  // With deleteReports, the reports go a batch per transaction; the group goes in the transaction
  // that finds none left (a build may add one meanwhile).
  while (true) {
    bool done = false;
    GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> group, tx.Get(kReportGroupTable, scope, name));
      if (!group) {
        done = true;
        return Status::Ok();
      }
      store::ListOptions options;
      options.prefix = prefix;
      options.limit = kDeleteBatch;
      GANTRY_ASSIGN_OR_RETURN(store::ListPage page, tx.List(kReportIndexTable, scope, options));
      if (!page.records.empty() && !delete_reports) {
        return InvalidInput("Cannot delete report group " + arn +
                            " because it contains reports. Delete its reports first, or set deleteReports to true.");
      }
      for (const store::Record& entry : page.records) {
        GANTRY_RETURN_IF_ERROR(DeleteReportRecords(tx, scope, entry.doc.value("id", "")).status());
      }
      if (!page.records.empty()) return Status::Ok();
      done = true;
      return tx.Delete(kReportGroupTable, scope, name).status();
    }));
    if (done) return Document::object();
  }
}

StatusOr<Document> ListReportGroups(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string sort_by = input.value("sortBy", "NAME");
  bool descending = input.value("sortOrder", "ASCENDING") == "DESCENDING";
  GANTRY_ASSIGN_OR_RETURN(std::string after, KeyAfter(input));
  size_t page_size = static_cast<size_t>(PageSizeOf(input));
  std::vector<std::pair<std::string, std::string>> keyed;  // sort key, ARN
  store::ListOptions options;
  options.limit = 1000;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kReportGroupTable, ctx.Scope(), options));
    for (const store::Record& r : page.records) {
      const Document& g = r.doc["ReportGroup"];
      std::string key = r.key;
      if (sort_by == "CREATED_TIME") {
        key = Padded(ToEpochMillis(FromSeconds(g["created"]))) + "/" + r.key;
      } else if (sort_by == "LAST_MODIFIED_TIME") {
        key = Padded(ToEpochMillis(FromSeconds(g["lastModified"]))) + "/" + r.key;
      }
      keyed.emplace_back(std::move(key), g.value("arn", ""));
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  std::sort(keyed.begin(), keyed.end());
  if (descending) std::reverse(keyed.begin(), keyed.end());
  Document arns = Document::array();
  Document out = Document::object();
  for (const auto& [key, arn] : keyed) {
    if (!after.empty() && (descending ? key >= after : key <= after)) continue;
    if (arns.size() == page_size) {
      out["nextToken"] = TokenAfter(after);
      break;
    }
    arns.push_back(arn);
    after = key;
  }
  out["reportGroups"] = arns;
  return out;
}

// BatchGetReportGroups and BatchGetReports: the `member` of the record each ARN names in table (key_of
// gives its key, nullopt for an ARN of another kind, region or account) under found_name, the ARNs
// of no record under not_found_name.
StatusOr<Document> BatchGetByArn(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& arns,
                                 std::string_view table,
                                 std::optional<std::string> (*key_of)(std::string_view arn, std::string_view region,
                                                                      std::string_view account),
                                 const char* member, const char* found_name, const char* not_found_name) {
  Document found = Document::array();
  Document not_found = Document::array();
  for (const Document& a : arns) {
    std::string arn = a.get<std::string>();
    std::optional<std::string> key = key_of(arn, ctx.region, ctx.account_id);
    std::optional<store::Record> record;
    if (key) {
      GANTRY_ASSIGN_OR_RETURN(record, deps.store->Get(table, ctx.Scope(), *key));
    }
    if (record) {
      found.push_back(record->doc[member]);
    } else {
      not_found.push_back(arn);
    }
  }
  return Document{{found_name, found}, {not_found_name, not_found}};
}

StatusOr<Document> BatchGetReportGroups(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return BatchGetByArn(deps, ctx, input["reportGroupArns"], kReportGroupTable, ReportGroupNameOf, "ReportGroup",
                       "reportGroups", "reportGroupsNotFound");
}

// A page of report ARNs from the index entries under prefix ("a/", "d/", "g/<group>/a/", ...), those
// of the filter's status only when it names one.
StatusOr<Document> ListReportArns(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input,
                                  const std::string& prefix) {
  std::string status = input.value("filter", Document::object()).value("status", "");
  GANTRY_ASSIGN_OR_RETURN(std::string after, KeyAfter(input));
  size_t page_size = static_cast<size_t>(PageSizeOf(input));
  Document arns = Document::array();
  Document out = Document::object();
  store::ListOptions options;
  options.prefix = prefix;
  options.start_after = after.empty() ? std::string() : prefix + after;
  options.limit = kPageSize;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kReportIndexTable, ctx.Scope(), options));
    for (size_t i = 0; i < page.records.size(); ++i) {
      const store::Record& entry = page.records[i];
      std::string id = entry.doc.value("id", "");
      if (!status.empty()) {
        GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> report, deps.store->Get(kReportTable, ctx.Scope(), id));
        if (!report || report->doc["Report"].value("status", "") != status) continue;
      }
      arns.push_back(ReportArn(ctx.region, ctx.account_id, id));
      if (arns.size() == page_size) {
        if (i + 1 < page.records.size() || !page.next_token.empty()) {
          out["nextToken"] = TokenAfter(entry.key.substr(prefix.size()));
        }
        out["reports"] = arns;
        return out;
      }
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  out["reports"] = arns;
  return out;
}

StatusOr<Document> ListReports(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  bool ascending = input.value("sortOrder", "DESCENDING") == "ASCENDING";
  return ListReportArns(deps, ctx, input, ascending ? "a/" : "d/");
}

StatusOr<Document> ListReportsForReportGroup(const CodeBuildDeps& deps, aws::RequestContext& ctx,
                                             const Document& input) {
  std::string arn = input["reportGroupArn"].get<std::string>();
  std::optional<std::string> name = ReportGroupNameOf(arn, ctx.region, ctx.account_id);
  if (!name) return ReportGroupNotFound(arn);
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> group, deps.store->Get(kReportGroupTable, ctx.Scope(), *name));
  if (!group) return ReportGroupNotFound(arn);
  bool ascending = input.value("sortOrder", "DESCENDING") == "ASCENDING";
  return ListReportArns(deps, ctx, input, "g/" + *name + (ascending ? "/a/" : "/d/"));
}

StatusOr<Document> BatchGetReports(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return BatchGetByArn(deps, ctx, input["reportArns"], kReportTable, ReportIdOf, "Report", "reports",
                       "reportsNotFound");
}

StatusOr<Document> DeleteReport(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string id, ReportIdFromArn(ctx, input["arn"].get<std::string>()));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact(
      [&](store::Transaction& tx) -> Status { return DeleteReportRecords(tx, ctx.Scope(), id).status(); }));
  return Document::object();
}

// The stored report a reportArn names, or `missing` (a ResourceNotFoundException or an
// InvalidInputException, as each operation's model allows).
StatusOr<store::Record> LoadReport(const CodeBuildDeps& deps, aws::RequestContext& ctx, const std::string& arn,
                                   bool not_found_is_input_error) {
  GANTRY_ASSIGN_OR_RETURN(std::string id, ReportIdFromArn(ctx, arn));
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, deps.store->Get(kReportTable, ctx.Scope(), id));
  if (!record) {
    std::string message = "Report " + arn + " does not exist";
    return not_found_is_input_error ? InvalidInput(message) : Status::NotFound(message, "ResourceNotFoundException");
  }
  return std::move(*record);
}

const std::set<std::string, std::less<>> kTestCaseStatuses = {"SUCCEEDED", "FAILED", "ERROR", "SKIPPED", "UNKNOWN"};

StatusOr<Document> DescribeTestCases(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record report, LoadReport(deps, ctx, input["reportArn"], false));
  const Document filter = input.value("filter", Document::object());
  std::string status = filter.value("status", "");
  std::string keyword = filter.value("keyword", "");
  if (!status.empty() && !kTestCaseStatuses.count(status)) {
    return InvalidInput("Invalid test case status filter: " + status +
                        ". Valid values: SUCCEEDED, FAILED, ERROR, SKIPPED, UNKNOWN");
  }
  GANTRY_ASSIGN_OR_RETURN(std::string after, KeyAfter(input));
  size_t page_size = static_cast<size_t>(PageSizeOf(input));
  std::string prefix = ReportUuid(report.key) + "/";
  store::ListOptions options;
  options.prefix = prefix;
  options.start_after = after.empty() ? std::string() : prefix + after;
  options.limit = kPageSize;
  Document cases = Document::array();
  Document out = Document::object();
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kTestCaseTable, ctx.Scope(), options));
    for (size_t i = 0; i < page.records.size(); ++i) {
      const Document& c = page.records[i].doc;
      if (!status.empty() && c.value("status", "") != status) continue;
      if (!keyword.empty() && c.value("name", "").find(keyword) == std::string::npos &&
          c.value("prefix", "").find(keyword) == std::string::npos) {
        continue;
      }
      cases.push_back(c);
      if (cases.size() == page_size) {
        if (i + 1 < page.records.size() || !page.next_token.empty()) {
          out["nextToken"] = TokenAfter(page.records[i].key.substr(prefix.size()));
        }
        out["testCases"] = cases;
        return out;
      }
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  out["testCases"] = cases;
  return out;
}

StatusOr<Document> DescribeCodeCoverages(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record report, LoadReport(deps, ctx, input["reportArn"], true));
  bool by_path = input.value("sortBy", "LINE_COVERAGE_PERCENTAGE") == "FILE_PATH";
  bool descending = input.value("sortOrder", "ASCENDING") == "DESCENDING";
  double min = input.value("minLineCoveragePercentage", 0.0);
  double max = input.value("maxLineCoveragePercentage", 100.0);
  GANTRY_ASSIGN_OR_RETURN(std::string after, KeyAfter(input));
  size_t page_size = static_cast<size_t>(PageSizeOf(input));
  // A report's coverage rows (one per source file) are sorted here: the sort key is the percentage
  // or the path, then the row's own key, so that equal values keep a stable order for page tokens.
  std::vector<std::pair<std::string, Document>> keyed;
  store::ListOptions options;
  options.prefix = ReportUuid(report.key) + "/";
  options.limit = 1000;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kCodeCoverageTable, ctx.Scope(), options));
    for (store::Record& r : page.records) {
      double percentage = r.doc.value("lineCoveragePercentage", 0.0);
      if (percentage < min || percentage > max) continue;
      std::string key =
          by_path ? r.doc.value("filePath", "") + '\n' + r.key : Padded(std::llround(percentage * 1e6)) + "/" + r.key;
      keyed.emplace_back(std::move(key), std::move(r.doc));
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (descending) std::reverse(keyed.begin(), keyed.end());
  Document coverages = Document::array();
  Document out = Document::object();
  for (const auto& [key, row] : keyed) {
    if (!after.empty() && (descending ? key >= after : key <= after)) continue;
    if (coverages.size() == page_size) {
      out["nextToken"] = TokenAfter(after);
      break;
    }
    coverages.push_back(row);
    after = key;
  }
  out["codeCoverages"] = coverages;
  return out;
}

// A trend value as AWS writes it: whole numbers without decimals, others with two.
std::string FormatTrendValue(double value) {
  char buffer[64];
  if (std::fabs(value - std::round(value)) < 1e-9) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.2f", value);
  }
  return buffer;
}

// The trend field's value in a report; nullopt when the report has no such value (a test field of a
// coverage report, or the other way round, or a report that was never completed).
std::optional<double> TrendValue(const Document& report, std::string_view field) {
  std::string status = report.value("status", "");
  if (status != "SUCCEEDED" && status != "FAILED") return std::nullopt;
  if (report.contains("testSummary")) {
    const Document& s = report["testSummary"];
    double total = s.value("total", 0);
    if (field == "PASS_RATE") {
      double passed = s.value("statusCounts", Document::object()).value("SUCCEEDED", 0);
      return total > 0 ? passed * 100.0 / total : 0.0;
    }
    if (field == "DURATION") return static_cast<double>(s.value("durationInNanoSeconds", int64_t{0}));
    if (field == "TOTAL") return total;
    return std::nullopt;
  }
  if (report.contains("codeCoverageSummary")) {
    const Document& s = report["codeCoverageSummary"];
    static const std::pair<std::string_view, const char*> kFields[] = {{"LINE_COVERAGE", "lineCoveragePercentage"},
                                                                       {"LINES_COVERED", "linesCovered"},
                                                                       {"LINES_MISSED", "linesMissed"},
                                                                       {"BRANCH_COVERAGE", "branchCoveragePercentage"},
                                                                       {"BRANCHES_COVERED", "branchesCovered"},
                                                                       {"BRANCHES_MISSED", "branchesMissed"}};
    for (const auto& [name, member] : kFields) {
      if (name == field) return s.value(member, 0.0);
    }
  }
  return std::nullopt;
}

StatusOr<Document> GetReportGroupTrend(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string arn = input["reportGroupArn"].get<std::string>();
  std::optional<std::string> name = ReportGroupNameOf(arn, ctx.region, ctx.account_id);
  if (!name) return ReportGroupNotFound(arn);
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> group, deps.store->Get(kReportGroupTable, ctx.Scope(), *name));
  if (!group) return ReportGroupNotFound(arn);
  std::string field = input["trendField"].get<std::string>();
  size_t wanted = static_cast<size_t>(input.value("numOfReports", kPageSize));
  Document raw = Document::array();
  std::vector<double> values;
  store::ListOptions options;
  options.prefix = "g/" + *name + "/d/";  // newest first
  options.limit = kPageSize;
  while (values.size() < wanted) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kReportIndexTable, ctx.Scope(), options));
    for (const store::Record& entry : page.records) {
      if (values.size() == wanted) break;
      std::string id = entry.doc.value("id", "");
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> report, deps.store->Get(kReportTable, ctx.Scope(), id));
      if (!report) continue;
      std::optional<double> value = TrendValue(report->doc["Report"], field);
      if (!value) continue;
      values.push_back(*value);
      raw.push_back({{"reportArn", ReportArn(ctx.region, ctx.account_id, id)}, {"data", FormatTrendValue(*value)}});
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  Document out = {{"rawData", raw}};
  if (!values.empty()) {
    double sum = 0;
    for (double v : values) sum += v;
    out["stats"] = {{"average", FormatTrendValue(sum / static_cast<double>(values.size()))},
                    {"max", FormatTrendValue(*std::max_element(values.begin(), values.end()))},
                    {"min", FormatTrendValue(*std::min_element(values.begin(), values.end()))}};
  } else {
    out["stats"] = Document::object();
  }
  return out;
}

}  // namespace

void RegisterReportHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps) {
  const std::pair<const char*, Handler> handlers[] = {
      {"CreateReportGroup", CreateReportGroup},
      {"UpdateReportGroup", UpdateReportGroup},
      {"DeleteReportGroup", DeleteReportGroup},
      {"ListReportGroups", ListReportGroups},
      {"BatchGetReportGroups", BatchGetReportGroups},
      {"ListReports", ListReports},
      {"ListReportsForReportGroup", ListReportsForReportGroup},
      {"BatchGetReports", BatchGetReports},
      {"DeleteReport", DeleteReport},
      {"DescribeTestCases", DescribeTestCases},
      {"DescribeCodeCoverages", DescribeCodeCoverages},
      {"GetReportGroupTrend", GetReportGroupTrend},
  };
  for (const auto& [name, fn] : handlers) {
    table.Add("codebuild", name,
              [deps, fn = fn](aws::RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
  }
}

}  // namespace gantry::services::codebuild
