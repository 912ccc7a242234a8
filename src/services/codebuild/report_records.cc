#include "services/codebuild/report_records.h"

#include <regex>

#include "core/common/arn.h"
#include "services/codebuild/records.h"

namespace gantry::services::codebuild {

namespace {

std::string RegionalArn(std::string_view region, std::string_view account, std::string resource) {
  Arn arn;
  arn.service = "codebuild";
  arn.region = std::string(region);
  arn.account = std::string(account);
  arn.resource = std::move(resource);
  return arn.ToString();
}

// The resource after "<kind>/" of a CodeBuild ARN of this region and account.
std::optional<std::string> ResourceOf(std::string_view text, std::string_view kind, std::string_view region,
                                      std::string_view account) {
  std::optional<Arn> arn = Arn::Parse(text);
  if (!arn || arn->service != "codebuild" || arn->region != region || arn->account != account) return std::nullopt;
  std::string prefix = std::string(kind) + "/";
  if (arn->resource.rfind(prefix, 0) != 0 || arn->resource.size() == prefix.size()) return std::nullopt;
  return arn->resource.substr(prefix.size());
}

}  // namespace

std::string ReportGroupArn(std::string_view region, std::string_view account, std::string_view name) {
  return RegionalArn(region, account, "report-group/" + std::string(name));
}

std::string ReportArn(std::string_view region, std::string_view account, std::string_view id) {
  return RegionalArn(region, account, "report/" + std::string(id));
}

std::optional<std::string> ReportGroupNameOf(std::string_view arn, std::string_view region, std::string_view account) {
  std::optional<std::string> name = ResourceOf(arn, "report-group", region, account);
  if (!name || name->find_first_of(":/") != std::string::npos) return std::nullopt;
  return name;
}

std::optional<std::string> ReportIdOf(std::string_view arn, std::string_view region, std::string_view account) {
  std::optional<std::string> id = ResourceOf(arn, "report", region, account);
  if (!id) return std::nullopt;
  size_t colon = id->find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == id->size() || id->find('/') != std::string::npos ||
      id->find(':', colon + 1) != std::string::npos) {
    return std::nullopt;
  }
  return id;
}

std::string ReportUuid(std::string_view id) {
  size_t colon = id.find(':');
  return std::string(colon == std::string_view::npos ? id : id.substr(colon + 1));
}

Status ReportGroupNotFound(std::string_view arn) {
  return Status::NotFound("Report group " + std::string(arn) + " does not exist", "ResourceNotFoundException");
}

Status ValidateReportGroupName(std::string_view name) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_-]{1,127}");
  if (!std::regex_match(name.begin(), name.end(), kName)) {
    return InvalidInput("Invalid report group name: " + std::string(name) +
                        ". It must be 2 to 128 characters: letters, digits, hyphens and underscores, starting with a "
                        "letter or digit");
  }
  return Status::Ok();
}

StatusOr<bool> DeleteReportRecords(store::Transaction& tx, const std::string& scope, const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kReportTable, scope, id));
  if (!record) return false;
  int64_t seq = record->doc.value("Seq", int64_t{0});
  std::string group = record->doc.value("Group", "");
  for (const std::string& key : {"a/" + Padded(seq), "d/" + Inverted(seq), "g/" + group + "/a/" + Padded(seq),
                                 "g/" + group + "/d/" + Inverted(seq)}) {
    GANTRY_RETURN_IF_ERROR(tx.Delete(kReportIndexTable, scope, key).status());
  }
  std::string prefix = ReportUuid(id) + "/";
  for (std::string_view table : {kTestCaseTable, kCodeCoverageTable}) {
    store::ListOptions options;
    options.prefix = prefix;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage rows, tx.List(table, scope, options));
    for (const store::Record& row : rows.records) GANTRY_RETURN_IF_ERROR(tx.Delete(table, scope, row.key).status());
  }
  GANTRY_RETURN_IF_ERROR(tx.Delete(kReportTable, scope, id).status());
  return true;
}

}  // namespace gantry::services::codebuild
