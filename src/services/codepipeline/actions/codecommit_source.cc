// Source/AWS/CodeCommit/1: the head of a branch (or the commit a StartPipelineExecution override
// names), read through CodeCommit's API as the action's principal (GetBranch, GetCommit).
// OutputArtifactFormat CODE_ZIP (the default) zips the commit's tree into the output artifact when
// IAM's policy simulator allows the principal's role codecommit:UploadArchive on the repository
// (what AWS's documented service role policy grants), reading the tree as CodePipeline itself
// (GetFolder and GetBlob as codepipeline.amazonaws.com; executable bits and symlinks kept,
// submodules left out); CODEBUILD_CLONE_REF writes a zip holding only codebuild-clone-ref.json
// ({"cloneUrl", "commitId", "branchName", "repositoryName"}), from which CodeBuild clones the
// repository at the commit as its own role (the format CodeBuild's ReadCloneRef reads). The output
// artifact carries the commit id (codebuild::kArtifactRevisionIdKey metadata) and the message (its
// summary). Output variables: CommitId, CommitMessage, AuthorDate, CommitterDate, BranchName,
// RepositoryName.
#include <charconv>

#include "core/archive/zip.h"
#include "core/common/time_format.h"
#include "services/codebuild/clone_ref.h"
#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {

namespace {

using aws::Document;

using codebuild::kCloneRefEntry;
constexpr char kRevisionSummaryKey[] = "codepipeline-artifact-revision-summary";
constexpr char kUploadArchive[] = "codecommit:UploadArchive";
constexpr std::string_view kPipelinePrincipal = "codepipeline.amazonaws.com";

// A git user date ("1700000000 +0100") as a time point.
std::optional<TimePoint> ParseUserDate(const std::string& date) {
  int64_t seconds = 0;
  auto [end, error] = std::from_chars(date.data(), date.data() + date.size(), seconds);
  if (error != std::errc()) return std::nullopt;
  return TimePoint(std::chrono::seconds(seconds));
}

std::string IsoDate(const Document& person) {
  std::optional<TimePoint> t = ParseUserDate(person.value("date", ""));
  return t ? FormatIso8601(*t) : std::string();
}

class CodeCommitSource final : public ActionProvider {
 public:
  CodeCommitSource() {
    type_.category = "Source";
    type_.provider = "CodeCommit";
    type_.min_outputs = 1;
    type_.max_outputs = 1;
    type_.configuration = {
        {"RepositoryName", true, true, false, true, "The name of the repository"},
        {"BranchName", true, true, false, false, "The branch whose changes start the pipeline"},
        {"PollForSourceChanges", false, false, false, false, "Whether CodePipeline polls the branch", "Boolean"},
        {"OutputArtifactFormat", false, false, false, false, "CODE_ZIP or CODEBUILD_CLONE_REF"},
    };
  }

  const ActionTypeInfo& type() const override { return type_; }

  Status Validate(const Document& declaration) const override {
    std::string name = declaration.value("name", "");
    const Document& configuration = declaration.value("configuration", Document::object());
    std::string format = ConfigValue(configuration, "OutputArtifactFormat");
    if (configuration.contains("OutputArtifactFormat") && format != "CODE_ZIP" && format != "CODEBUILD_CLONE_REF") {
      return InvalidDeclaration("Action configuration for action '" + name +
                                "' has an invalid OutputArtifactFormat value: " + format +
                                ". It must be CODE_ZIP or CODEBUILD_CLONE_REF");
    }
    std::string poll = ConfigValue(configuration, "PollForSourceChanges");
    if (configuration.contains("PollForSourceChanges") && poll != "true" && poll != "false") {
      return InvalidDeclaration("Action configuration for action '" + name +
                                "' has an invalid PollForSourceChanges value: " + poll + ". It must be true or false");
    }
    return Status::Ok();
  }

  StatusOr<std::optional<SourceRevision>> LatestRevision(ActionContext& ctx) override {
    const Document& configuration = ctx.configuration();
    std::string repository = ConfigValue(configuration, "RepositoryName");
    auto branch =
        CallService(ctx, "codecommit", "GetBranch",
                    {{"repositoryName", repository}, {"branchName", ConfigValue(configuration, "BranchName")}});
    if (!branch.ok()) {
      std::string code = branch.status().aws_code();
      if (code == "BranchDoesNotExistException" || code == "RepositoryDoesNotExistException") {
        return std::optional<SourceRevision>();
      }
      return branch.status();
    }
    std::string commit_id = (*branch)["branch"].value("commitId", "");
    GANTRY_ASSIGN_OR_RETURN(Document commit, CallService(ctx, "codecommit", "GetCommit",
                                                         {{"repositoryName", repository}, {"commitId", commit_id}}));
    return std::optional<SourceRevision>(RevisionOf(ctx, repository, commit["commit"]));
  }

  ActionResult Start(ActionContext& ctx) override {
    const Document& configuration = ctx.configuration();
    std::string repository = ConfigValue(configuration, "RepositoryName");
    std::string branch_name = ConfigValue(configuration, "BranchName");
    std::string commit_id;
    if (ctx.source_revision_override && ctx.source_revision_override->value("revisionType", "") == "COMMIT_ID") {
      commit_id = ctx.source_revision_override->value("revisionValue", "");
    } else {
      auto branch =
          CallService(ctx, "codecommit", "GetBranch", {{"repositoryName", repository}, {"branchName", branch_name}});
      if (!branch.ok()) {
        return CallFailed(branch.status(),
                          "Could not access the CodeCommit repository " + repository + " branch " + branch_name);
      }
      commit_id = (*branch)["branch"].value("commitId", "");
    }
    auto got = CallService(ctx, "codecommit", "GetCommit", {{"repositoryName", repository}, {"commitId", commit_id}});
    if (!got.ok()) {
      ActionResult failed =
          CallFailed(got.status(), "Could not get commit " + commit_id + " of repository " + repository);
      if (got.status().code() != StatusCode::kPermissionDenied) failed.error_code = "RevisionUnavailable";
      return failed;
    }
    const Document& commit = (*got)["commit"];
    SourceRevision revision = RevisionOf(ctx, repository, commit);

    StatusOr<std::string> zip = std::string();
    if (ConfigValue(configuration, "OutputArtifactFormat") == "CODEBUILD_CLONE_REF") {
      Document ref = {{"cloneUrl", "https://git-codecommit." + ctx.region + ".amazonaws.com/v1/repos/" + repository},
                      {"commitId", commit_id},
                      {"branchName", branch_name},
                      {"repositoryName", repository}};
      zip = archive::WriteZip({{kCloneRefEntry, ref.dump(), 0644, false}});
    } else {
      // AWS zips the commit with codecommit:UploadArchive, the permission its documented service
      // role policy grants; the tree is then read as CodePipeline itself.
      std::string repository_arn = "arn:aws:codecommit:" + ctx.region + ":" + ctx.account_id + ":" + repository;
      Status allowed = CheckUploadArchive(ctx, repository_arn);
      if (!allowed.ok()) {
        return ActionResult::Failed(allowed.code() == StatusCode::kPermissionDenied ? "PermissionError" : "JobFailed",
                                    allowed.message());
      }
      std::vector<archive::ZipEntry> entries;
      Status walked = AddFolder(ctx, repository, commit_id, "/", entries);
      if (!walked.ok())
        return CallFailed(walked, "Could not read commit " + commit_id + " of repository " + repository);
      zip = archive::WriteZip(entries);
    }
    if (!zip.ok()) return ActionResult::Failed("JobFailed", zip.status().message());
    ArtifactLocation out = ctx.new_output_location(ctx.output_names.empty() ? "" : ctx.output_names.front());
    auto put = CallService(ctx, "s3", "PutObject",
                           {{"Bucket", out.bucket},
                            {"Key", out.key},
                            {"Body", BlobOf(*zip)},
                            {"ContentType", "application/zip"},
                            {"Metadata",
                             {{kRevisionSummaryKey, revision.revision_summary},
                              {codebuild::kArtifactRevisionIdKey, commit_id}}}});
    if (!put.ok()) return CallFailed(put.status(), "Could not write the output artifact to " + out.ArnForm());

    ActionResult result;
    result.status = ActionStatus::kSucceeded;
    result.outputs.push_back(out);
    result.revision = revision;
    result.external_execution_id = commit_id;
    result.external_execution_url = revision.revision_url;
    result.summary = revision.revision_summary;
    result.output_variables = {{"CommitId", commit_id},
                               {"CommitMessage", commit.value("message", "")},
                               {"AuthorDate", IsoDate(commit.value("author", Document::object()))},
                               {"CommitterDate", IsoDate(commit.value("committer", Document::object()))},
                               {"BranchName", branch_name},
                               {"RepositoryName", repository}};
    return result;
  }

  // Start finishes; polled (a restart lost Start's result), it reads the source again.
  ActionResult Poll(ActionContext& ctx) override { return Start(ctx); }

 private:
  static SourceRevision RevisionOf(const ActionContext& ctx, const std::string& repository, const Document& commit) {
    SourceRevision revision;
    revision.revision_id = commit.value("commitId", "");
    revision.revision_summary = commit.value("message", "");
    revision.revision_url = "https://" + ctx.region + ".console.aws.amazon.com/codesuite/codecommit/repositories/" +
                            repository + "/commit/" + revision.revision_id + "?region=" + ctx.region;
    revision.created = ParseUserDate(commit.value("committer", Document::object()).value("date", ""));
    return revision;
  }

  // Whether the action's role may perform codecommit:UploadArchive on the repository, as IAM's
  // policy simulator says: PermissionDenied, in AWS's words, when it may not.
  static Status CheckUploadArchive(ActionContext& ctx, const std::string& repository_arn) {
    if (ctx.client == nullptr) return Status::Internal("the action has no client to reach iam");
    GANTRY_ASSIGN_OR_RETURN(Document simulated,
                            ctx.client->Call(Pipeline(ctx), "iam", "SimulatePrincipalPolicy",
                                             {{"PolicySourceArn", ctx.role_arn},
                                              {"ActionNames", Document::array({std::string(kUploadArchive)})},
                                              {"ResourceArns", Document::array({repository_arn})}},
                                             ctx.region));
    for (const Document& result : simulated.value("EvaluationResults", Document::array())) {
      if (result.value("EvalDecision", "") == "allowed") return Status::Ok();
    }
    return Status::PermissionDenied("The service role or action role doesn't have the permissions required to access "
                                    "the AWS CodeCommit repository named " +
                                    repository_arn.substr(repository_arn.rfind(':') + 1) +
                                    ". Update the IAM role permissions, and then try again. Error: User: " +
                                    ctx.principal.arn + " is not authorized to perform: " + kUploadArchive +
                                    " on resource: " + repository_arn);
  }

  // CodePipeline itself, on the pipeline's behalf: Gantry's bookkeeping, not a call of the role.
  static aws::Principal Pipeline(const ActionContext& ctx) {
    aws::Principal p;
    p.account_id = ctx.account_id;
    p.arn = std::string(kPipelinePrincipal);
    p.user_id = std::string(kPipelinePrincipal);
    p.service = std::string(kPipelinePrincipal);
    p.internal = true;
    p.source_arn = ctx.pipeline_arn;
    return p;
  }

  // The files and symlinks of a folder of the commit, recursively, as zip entries (as CodePipeline).
  static Status AddFolder(ActionContext& ctx, const std::string& repository, const std::string& commit_id,
                          const std::string& path, std::vector<archive::ZipEntry>& entries) {
    GANTRY_ASSIGN_OR_RETURN(
        Document folder,
        ctx.client->Call(Pipeline(ctx), "codecommit", "GetFolder",
                         {{"repositoryName", repository}, {"commitSpecifier", commit_id}, {"folderPath", path}},
                         ctx.region));
    for (const char* member : {"files", "symbolicLinks"}) {
      bool links = std::string_view(member) == "symbolicLinks";
      for (const Document& file : folder.value(member, Document::array())) {
        GANTRY_ASSIGN_OR_RETURN(Document blob,
                                ctx.client->Call(Pipeline(ctx), "codecommit", "GetBlob",
                                                 {{"repositoryName", repository}, {"blobId", file.value("blobId", "")}},
                                                 ctx.region));
        archive::ZipEntry entry;
        entry.path = file.value("absolutePath", "");
        entry.content = BytesOf(blob["content"]);
        entry.mode = file.value("fileMode", "") == "EXECUTABLE" ? 0755 : 0644;
        entry.symlink = links;
        entries.push_back(std::move(entry));
      }
    }
    for (const Document& sub : folder.value("subFolders", Document::array())) {
      GANTRY_RETURN_IF_ERROR(AddFolder(ctx, repository, commit_id, sub.value("absolutePath", ""), entries));
    }
    return Status::Ok();
  }

  ActionTypeInfo type_;
};

}  // namespace

std::unique_ptr<ActionProvider> MakeCodeCommitSource() { return std::make_unique<CodeCommitSource>(); }

}  // namespace gantry::services::codepipeline
