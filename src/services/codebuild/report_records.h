// CodeBuild report groups and reports as Gantry stores them: the store layout, the ARNs AWS spells,
// and the removal of a report with everything it owns. Builds write reports (report_upload.cc).
//
// Layout (scope "<account>/<region>"):
//   codebuild.report_group  key <name>          {ReportGroup: the wire ReportGroup}
//   codebuild.report        key <group>:<uuid>  {Report: the wire Report, Seq, Group: the group's name}
//   codebuild.report_index  key a/<seq>, d/<inverted seq>, g/<group>/a/<seq>, g/<group>/d/<inverted seq>
//                           {id: "<group>:<uuid>"}: ListReports and ListReportsForReportGroup, each order
//   codebuild.test_case     key <uuid>/<padded n>  {the wire TestCase}, in file order
//   codebuild.code_coverage key <uuid>/<padded n>  {the wire CodeCoverage}, in file order
//
// Report group names hold neither ':' nor '/', so keys and prefixes never overlap.
// Stateless functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/aws/document.h"
#include "core/common/status.h"
#include "core/store/store.h"

namespace gantry::services::codebuild {

inline constexpr std::string_view kReportGroupTable = "codebuild.report_group";
inline constexpr std::string_view kReportTable = "codebuild.report";
inline constexpr std::string_view kReportIndexTable = "codebuild.report_index";
inline constexpr std::string_view kTestCaseTable = "codebuild.test_case";
inline constexpr std::string_view kCodeCoverageTable = "codebuild.code_coverage";

// A report keeps at most this many test cases (failed ones first), as in AWS; `truncated` says so.
inline constexpr size_t kMaxTestCases = 500;
// Reports expire 30 days after they are created (Report.expired).
inline constexpr int kReportLifetimeDays = 30;

std::string ReportGroupArn(std::string_view region, std::string_view account, std::string_view name);
// "arn:aws:codebuild:<region>:<account>:report/<group>:<uuid>"; id is "<group>:<uuid>".
std::string ReportArn(std::string_view region, std::string_view account, std::string_view id);

// The name inside a report group ARN of this region and account; nullopt otherwise.
std::optional<std::string> ReportGroupNameOf(std::string_view arn, std::string_view region, std::string_view account);
// The id "<group>:<uuid>" inside a report ARN of this region and account; nullopt otherwise.
std::optional<std::string> ReportIdOf(std::string_view arn, std::string_view region, std::string_view account);
// The uuid of a report id "<group>:<uuid>".
std::string ReportUuid(std::string_view id);

Status ReportGroupNotFound(std::string_view arn);
// A report group name as CodeBuild accepts it (2 to 128 letters, digits, '-' and '_').
Status ValidateReportGroupName(std::string_view name);

// Deletes a report with its list entries, test cases and coverage rows. False when it did not exist.
StatusOr<bool> DeleteReportRecords(store::Transaction& tx, const std::string& scope, const std::string& id);

}  // namespace gantry::services::codebuild
