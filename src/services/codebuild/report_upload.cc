// BuildSession's report hook: turns a build's report files into CodeBuild reports. Each buildspec
// `reports` entry names a report group: a plain name means the group "<project>-<name>", created
// (as the service role, codebuild:CreateReportGroup) when missing, with the type its file format
// implies; an ARN means that group, which must exist. Every group gets one report per build holding
// all its entries' files: SUCCEEDED when no test case failed or errored (coverage: when every file
// was read), FAILED when one did, INCOMPLETE when a file was missing or could not be parsed. The
// report, its test cases or coverage rows and the build's reportArns are written in one
// transaction, before the build's COMPLETED is. Groups exporting to S3 get the raw files too.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "runtime/build/build_log.h"
#include "runtime/reports/reports.h"
#include "services/codebuild/artifacts.h"
#include "services/codebuild/build_session.h"
#include "services/codebuild/records.h"
#include "services/codebuild/report_records.h"

namespace gantry::services::codebuild {

namespace {

namespace fs = std::filesystem;
using aws::Document;

// Report files larger than this are not read (the report is INCOMPLETE).
constexpr uintmax_t kMaxReportFileBytes = 64ull << 20;

StatusOr<std::string> ReadReportFile(const runtime::ArtifactFile& file) {
  std::error_code ec;
  uintmax_t size = fs::file_size(file.source, ec);
  if (ec) return Status::InvalidArgument(file.path + ": cannot be read: " + ec.message());
  if (size > kMaxReportFileBytes) {
    return Status::InvalidArgument(file.path + ": " + std::to_string(size) + " bytes is more than the " +
                                   std::to_string(kMaxReportFileBytes >> 20) + " MiB Gantry reads of a report file");
  }
  std::ifstream in(file.source, std::ios::binary);
  std::string content(static_cast<size_t>(size), '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (!in || static_cast<uintmax_t>(in.gcount()) != size) {
    return Status::InvalidArgument(file.path + ": cannot be read");
  }
  return content;
}

double Percentage(int64_t covered, int64_t missed) {
  int64_t total = covered + missed;
  if (total <= 0) return 0.0;
  return std::round(static_cast<double>(covered) * 10000.0 / static_cast<double>(total)) / 100.0;
}

// One report group's share of the build: the buildspec entries that name it.
struct GroupReport {
  std::string name;       // the group's name
  std::string requested;  // as the buildspec names it (first entry)
  bool by_arn = false;
  std::string type;  // TEST or CODE_COVERAGE
  std::vector<const runtime::SelectedReport*> entries;
};

}  // namespace

void BuildSession::UploadReports(const std::vector<runtime::SelectedReport>& reports) {
  auto log = [this](const std::string& message) { OnLogLine(runtime::ContainerLine(deps_.clock->Now(), message)); };
  const std::string project = record_["Build"].value("projectName", "");
  const std::string build_arn = record_["Build"].value("arn", "");

  std::vector<GroupReport> groups;
  for (const runtime::SelectedReport& entry : reports) {
    const runtime::ReportSpec& spec = *entry.spec;
    std::string format = spec.file_format.empty() ? std::string("JUNITXML") : spec.file_format;
    std::string type;
    if (runtime::reports::IsTestFormat(format)) {
      type = "TEST";
    } else if (runtime::reports::IsCoverageFormat(format)) {
      type = "CODE_COVERAGE";
    } else {
      log("Report " + spec.group + ": unsupported file-format " + format + "; no report is made for it");
      continue;
    }
    GroupReport group;
    group.requested = spec.group;
    group.type = type;
    if (spec.group.rfind("arn:", 0) == 0) {
      std::optional<std::string> name = ReportGroupNameOf(spec.group, region_, account_);
      if (!name) {
        log("Report " + spec.group + ": not a report group ARN of account " + account_ + " in region " + region_ +
            "; no report is made for it");
        continue;
      }
      group.name = *name;
      group.by_arn = true;
    } else {
      group.name = project + "-" + spec.group;
    }
    auto same = std::find_if(groups.begin(), groups.end(), [&](const GroupReport& g) { return g.name == group.name; });
    if (same == groups.end()) {
      group.entries.push_back(&entry);
      groups.push_back(std::move(group));
    } else if (same->type != type) {
      log("Report " + spec.group + ": file-format " + format + " makes a " + type + " report, but report group " +
          same->name + " already collects " + same->type + " reports in this build; no report is made for it");
    } else {
      same->entries.push_back(&entry);
    }
  }

  for (const GroupReport& group : groups) {
    const std::string group_arn = ReportGroupArn(region_, account_, group.name);
    auto stored = deps_.store->Get(kReportGroupTable, scope_, group.name);
    if (!stored.ok()) {
      log("Report group " + group_arn + ": " + stored.status().message());
      continue;
    }
    if (!*stored && group.by_arn) {
      log("Report group " + group_arn + " does not exist; no report is made for it");
      continue;
    }
    if (!*stored) {
      // As CodeBuild does: the build's service role creates the group.
      auto created = CallAsRole(
          "codebuild", "CreateReportGroup",
          {{"name", group.name}, {"type", group.type}, {"exportConfig", {{"exportConfigType", "NO_EXPORT"}}}});
      if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
        log("Cannot create report group " + group_arn + ": " + Described(created.status(), "codebuild") +
            "; no report is made for it");
        continue;
      }
      if (created.ok()) log("Created report group " + group_arn);
      stored = deps_.store->Get(kReportGroupTable, scope_, group.name);
      if (!stored.ok() || !*stored) {
        log("Report group " + group_arn + " is gone; no report is made for it");
        continue;
      }
    }
    const Document group_record = (**stored).doc["ReportGroup"];
    if (group_record.value("type", "") != group.type) {
      log("Report group " + group_arn + " collects " + group_record.value("type", "") + " reports, not " + group.type +
          " ones; no report is made for it");
      continue;
    }

    // The permissions AWS's CodeBuild service role policy grants on the group for reports.
    StatusOr<aws::Principal> role = Role();
    Status allowed = role.status();
    for (std::string_view action : {std::string_view("codebuild:CreateReport"), std::string_view("codebuild:UpdateReport"),
                                    group.type == "TEST" ? std::string_view("codebuild:BatchPutTestCases")
                                                         : std::string_view("codebuild:BatchPutCodeCoverages")}) {
      if (allowed.ok()) allowed = deps_.client->AuthorizeAs(*role, action, group_arn, region_);
    }
    if (!allowed.ok()) {
      log("Cannot report to report group " + group_arn + ": " + Described(allowed, "codebuild") +
          "; no report is made for it");
      continue;
    }

    const std::string uuid = deps_.ids->Uuid();
    const std::string id = group.name + ":" + uuid;
    const std::string report_arn = ReportArn(region_, account_, id);
    TimePoint now = deps_.clock->Now();
    const double created = Seconds(now);
    const double expired = Seconds(now + std::chrono::hours(24 * kReportLifetimeDays));
    bool incomplete = false;
    std::vector<const runtime::ArtifactFile*> files;
    for (const runtime::SelectedReport* entry : group.entries) {
      if (entry->files.empty()) {
        log("Report " + entry->spec->group + ": report files not found in build");
        incomplete = true;
      }
      for (const runtime::ArtifactFile& file : entry->files) files.push_back(&file);
    }
    log("Preparing to upload " + group.type + " report " + group.requested + " (" + std::to_string(files.size()) +
        " file(s)) to report group " + group_arn);

    Document report = {
        {"arn", report_arn},
        {"type", group.type},
        {"name", group.name},
        {"reportGroupArn", group_arn},
        {"executionId", build_arn},
        {"created", created},
        {"expired", expired},
        {"exportConfig", group_record.value("exportConfig", Document{{"exportConfigType", "NO_EXPORT"}})},
        {"truncated", false}};
    std::vector<Document> rows;  // test cases or coverage rows, in file order
    std::string summary;
    if (group.type == "TEST") {
      std::map<std::string, int> counts;
      int64_t duration = 0;
      std::vector<Document> failed, others;
      for (const runtime::SelectedReport* entry : group.entries) {
        std::string format = entry->spec->file_format.empty() ? std::string("JUNITXML") : entry->spec->file_format;
        for (const runtime::ArtifactFile& file : entry->files) {
          StatusOr<std::string> content = ReadReportFile(file);
          StatusOr<runtime::reports::TestReport> parsed =
              content.ok() ? runtime::reports::ParseTestReport(format, *content, file.path)
                           : StatusOr<runtime::reports::TestReport>(content.status());
          if (!parsed.ok()) {
            log("Report " + entry->spec->group + ": " + parsed.status().message());
            incomplete = true;
            continue;
          }
          duration += parsed->duration_ns;
          for (const runtime::reports::TestCaseResult& c : parsed->cases) {
            ++counts[c.status];
            Document row = {{"reportArn", report_arn}, {"testRawDataPath", file.path},
                            {"prefix", c.prefix},      {"name", c.name},
                            {"status", c.status},      {"durationInNanoSeconds", c.duration_ns},
                            {"expired", expired},      {"testSuiteName", c.test_suite_name}};
            if (!c.message.empty()) row["message"] = c.message;
            (c.status == runtime::reports::kFailed || c.status == runtime::reports::kError ? failed : others)
                .push_back(std::move(row));
          }
        }
      }
      int total = 0;
      Document status_counts = Document::object();
      for (const auto& [status, n] : counts) {
        status_counts[status] = n;
        total += n;
      }
      report["testSummary"] = {{"total", total}, {"statusCounts", status_counts}, {"durationInNanoSeconds", duration}};
      report["status"] = incomplete ? "INCOMPLETE" : failed.empty() ? "SUCCEEDED" : "FAILED";
      // At most kMaxTestCases are kept, failed and errored ones first, each kind in file order.
      bool truncated = failed.size() + others.size() > kMaxTestCases;
      report["truncated"] = truncated;
      for (Document& row : failed) {
        if (rows.size() < kMaxTestCases) rows.push_back(std::move(row));
      }
      for (Document& row : others) {
        if (rows.size() < kMaxTestCases) rows.push_back(std::move(row));
      }
      summary = std::to_string(total) + " test case(s)";
      for (const auto& [status, n] : counts) summary += ", " + std::to_string(n) + " " + status;
    } else {
      int64_t lines_covered = 0, lines_missed = 0, branches_covered = 0, branches_missed = 0;
      for (const runtime::SelectedReport* entry : group.entries) {
        for (const runtime::ArtifactFile& file : entry->files) {
          StatusOr<std::string> content = ReadReportFile(file);
          StatusOr<runtime::reports::CoverageReport> parsed =
              content.ok() ? runtime::reports::ParseCoverageReport(entry->spec->file_format, *content, file.path)
                           : StatusOr<runtime::reports::CoverageReport>(content.status());
          if (!parsed.ok()) {
            log("Report " + entry->spec->group + ": " + parsed.status().message());
            incomplete = true;
            continue;
          }
          lines_covered += parsed->lines_covered;
          lines_missed += parsed->lines_missed;
          branches_covered += parsed->branches_covered;
          branches_missed += parsed->branches_missed;
          for (const runtime::reports::FileCoverage& f : parsed->files) {
            rows.push_back({{"id", deps_.ids->Uuid()},
                            {"reportARN", report_arn},
                            {"filePath", f.path},
                            {"lineCoveragePercentage", Percentage(f.lines_covered, f.lines_missed)},
                            {"linesCovered", f.lines_covered},
                            {"linesMissed", f.lines_missed},
                            {"branchCoveragePercentage", Percentage(f.branches_covered, f.branches_missed)},
                            {"branchesCovered", f.branches_covered},
                            {"branchesMissed", f.branches_missed},
                            {"expired", expired}});
          }
        }
      }
      report["codeCoverageSummary"] = {{"lineCoveragePercentage", Percentage(lines_covered, lines_missed)},
                                       {"linesCovered", lines_covered},
                                       {"linesMissed", lines_missed},
                                       {"branchCoveragePercentage", Percentage(branches_covered, branches_missed)},
                                       {"branchesCovered", branches_covered},
                                       {"branchesMissed", branches_missed}};
      report["status"] = incomplete ? "INCOMPLETE" : "SUCCEEDED";
      summary = std::to_string(rows.size()) + " file(s), line coverage " +
                report["codeCoverageSummary"]["lineCoveragePercentage"].dump() + "%";
    }

    // The raw files, to the group's S3 export destination, as the service role.
    const Document& export_config = report["exportConfig"];
    if (export_config.value("exportConfigType", "") == "S3" && !files.empty()) {
      const Document& destination = export_config["s3Destination"];
      std::string bucket = destination.value("bucket", "");
      std::string prefix = destination.value("path", "");
      while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
      while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
      std::string base = (prefix.empty() ? std::string() : prefix + "/") + uuid;
      auto put = [&](const std::string& key, Document body) -> Status {
        Document input = {{"Bucket", bucket}, {"Key", key}, {"Body", std::move(body)}};
        if (!destination.value("encryptionDisabled", false) && destination.contains("encryptionKey")) {
          input["ServerSideEncryption"] = "aws:kms";
          input["SSEKMSKeyId"] = destination["encryptionKey"];
        }
        return CallAsRole("s3", "PutObject", input).status();
      };
      Status exported;
      if (destination.value("packaging", "NONE") == "ZIP") {
        std::vector<runtime::ArtifactFile> copies;
        for (const runtime::ArtifactFile* file : files) copies.push_back(*file);
        std::string zip = dir_ + "/report-" + uuid + ".zip";
        exported = WriteZip(zip, copies, false);
        std::ifstream in(zip, std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::error_code ec;
        fs::remove(zip, ec);
        if (exported.ok()) exported = put(base + ".zip", Document::binary(std::move(bytes)));
      } else {
        for (const runtime::ArtifactFile* file : files) {
          StatusOr<std::string> content = ReadReportFile(*file);
          exported = content.status();
          if (!exported.ok()) break;
          exported =
              put(base + "/" + file->path, Document::binary(std::vector<uint8_t>(content->begin(), content->end())));
          if (!exported.ok()) break;
        }
      }
      if (!exported.ok()) {
        log("Report " + report_arn + ": the raw report files were not exported to s3://" + bucket + "/" + base + ": " +
            Described(exported, "s3"));
      }
    }

    // The report, its rows and the build's reportArns, together.
    Status written = deps_.store->Transact([&](store::Transaction& tx) -> Status {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> still, tx.Get(kReportGroupTable, scope_, group.name));
      if (!still) return ReportGroupNotFound(group_arn);
      GANTRY_ASSIGN_OR_RETURN(int64_t seq, tx.NextSequence("codebuild.report"));
      GANTRY_RETURN_IF_ERROR(
          tx.Create(kReportTable, scope_, id, Document{{"Report", report}, {"Seq", seq}, {"Group", group.name}})
              .status());
      Document entry = {{"id", id}};
      for (const std::string& key : {"a/" + Padded(seq), "d/" + Inverted(seq), "g/" + group.name + "/a/" + Padded(seq),
                                     "g/" + group.name + "/d/" + Inverted(seq)}) {
        GANTRY_RETURN_IF_ERROR(tx.Put(kReportIndexTable, scope_, key, entry).status());
      }
      std::string_view table = group.type == "TEST" ? kTestCaseTable : kCodeCoverageTable;
      for (size_t i = 0; i < rows.size(); ++i) {
        GANTRY_RETURN_IF_ERROR(tx.Put(table, scope_, uuid + "/" + Padded(static_cast<int64_t>(i)), rows[i]).status());
      }
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> build, tx.Get(kBuildTable, scope_, id_));
      if (!build) return BuildNotFound(id_);
      Document& arns = build->doc["Build"]["reportArns"];
      if (!arns.is_array()) arns = Document::array();
      arns.push_back(report_arn);
      return tx.Put(kBuildTable, scope_, id_, build->doc).status();
    });
    if (!written.ok()) {
      log("Report " + report_arn + " was not recorded: " + written.message());
      continue;
    }
    log("Report " + report_arn + ": " + report.value("status", "") + ", " + summary);
  }
  Reload();
}

}  // namespace gantry::services::codebuild
