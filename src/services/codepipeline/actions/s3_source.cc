// Source/AWS/S3/1: an object (a zip) in a bucket, read as the action's principal and copied into
// the output artifact. Its revision is the object's version id (versioned buckets, which AWS
// requires) or else its ETag, summarized by its codepipeline-artifact-revision-summary metadata;
// a StartPipelineExecution override may name a version (S3_OBJECT_VERSION_ID) and, when
// AllowOverrideForS3ObjectKey is true, another key (S3_OBJECT_KEY). The output artifact carries the
// revision id (codebuild::kArtifactRevisionIdKey metadata) and the summary. Output variables: ETag,
// VersionId.
#include "services/codebuild/clone_ref.h"
#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {

namespace {

using aws::Document;

constexpr char kRevisionSummaryKey[] = "codepipeline-artifact-revision-summary";

std::string Unquoted(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

class S3Source final : public ActionProvider {
 public:
  S3Source() {
    type_.category = "Source";
    type_.provider = "S3";
    type_.min_outputs = 1;
    type_.max_outputs = 1;
    type_.configuration = {
        {"S3Bucket", true, true, false, false, "The bucket of the source object"},
        {"S3ObjectKey", true, true, false, false, "The key of the source object"},
        {"PollForSourceChanges", false, false, false, false, "Whether CodePipeline polls the object", "Boolean"},
        {"AllowOverrideForS3ObjectKey", false, false, false, false,
         "Whether StartPipelineExecution may name another object key", "Boolean"},
    };
  }

  const ActionTypeInfo& type() const override { return type_; }

  Status Validate(const Document& declaration) const override {
    const Document& configuration = declaration.value("configuration", Document::object());
    for (const char* flag : {"PollForSourceChanges", "AllowOverrideForS3ObjectKey"}) {
      std::string value = ConfigValue(configuration, flag);
      if (configuration.contains(flag) && value != "true" && value != "false") {
        return InvalidDeclaration("Action configuration for action '" + declaration.value("name", "") +
                                  "' has an invalid " + flag + " value: " + value + ". It must be true or false");
      }
    }
    return Status::Ok();
  }

  StatusOr<std::optional<SourceRevision>> LatestRevision(ActionContext& ctx) override {
    const Document& configuration = ctx.configuration();
    auto head = CallService(
        ctx, "s3", "HeadObject",
        {{"Bucket", ConfigValue(configuration, "S3Bucket")}, {"Key", ConfigValue(configuration, "S3ObjectKey")}});
    if (!head.ok()) {
      if (head.status().code() == StatusCode::kNotFound) return std::optional<SourceRevision>();
      return head.status();
    }
    return std::optional<SourceRevision>(RevisionOf(*head));
  }

  ActionResult Start(ActionContext& ctx) override {
    const Document& configuration = ctx.configuration();
    std::string bucket = ConfigValue(configuration, "S3Bucket");
    std::string key = ConfigValue(configuration, "S3ObjectKey");
    std::string version;
    if (ctx.source_revision_override) {
      std::string type = ctx.source_revision_override->value("revisionType", "");
      std::string value = ctx.source_revision_override->value("revisionValue", "");
      if (type == "S3_OBJECT_VERSION_ID") version = value;
      if (type == "S3_OBJECT_KEY") {
        if (ConfigValue(configuration, "AllowOverrideForS3ObjectKey") != "true") {
          return ActionResult::Failed("ConfigurationError",
                                      "The S3 object key cannot be overridden: AllowOverrideForS3ObjectKey is not "
                                      "true for action " +
                                          ctx.action_name);
        }
        key = value;
      }
    }
    Document input = {{"Bucket", bucket}, {"Key", key}};
    if (!version.empty()) input["VersionId"] = version;
    auto got = CallService(ctx, "s3", "GetObject", input);
    if (!got.ok()) {
      ActionResult failed = CallFailed(got.status(), "Could not get object " + key + " from bucket " + bucket);
      if (got.status().code() == StatusCode::kNotFound) failed.error_code = "RevisionUnavailable";
      return failed;
    }
    SourceRevision revision = RevisionOf(*got);
    ArtifactLocation out = ctx.new_output_location(ctx.output_names.empty() ? "" : ctx.output_names.front());
    Document put = {{"Bucket", out.bucket},
                    {"Key", out.key},
                    {"Body", (*got)["Body"]},
                    {"ContentType", got->value("ContentType", "application/zip")}};
    put["Metadata"] = {{codebuild::kArtifactRevisionIdKey, revision.revision_id}};
    if (!revision.revision_summary.empty()) put["Metadata"][kRevisionSummaryKey] = revision.revision_summary;
    auto written = CallService(ctx, "s3", "PutObject", put);
    if (!written.ok()) return CallFailed(written.status(), "Could not write the output artifact to " + out.ArnForm());

    ActionResult result;
    result.status = ActionStatus::kSucceeded;
    result.outputs.push_back(out);
    result.revision = revision;
    result.summary = revision.revision_summary;
    result.external_execution_id = revision.revision_id;
    result.output_variables["ETag"] = Unquoted(got->value("ETag", ""));
    if (got->contains("VersionId")) result.output_variables["VersionId"] = got->value("VersionId", "");
    return result;
  }

  // Start finishes; polled (a restart lost Start's result), it reads the source again.
  ActionResult Poll(ActionContext& ctx) override { return Start(ctx); }

 private:
  static SourceRevision RevisionOf(const Document& object) {
    SourceRevision revision;
    revision.revision_id =
        object.contains("VersionId") ? object.value("VersionId", "") : Unquoted(object.value("ETag", ""));
    revision.revision_summary = object.value("Metadata", Document::object()).value(kRevisionSummaryKey, "");
    if (object.contains("LastModified") && object["LastModified"].is_number()) {
      revision.created = FromEpochSeconds(object["LastModified"].get<double>());
    }
    return revision;
  }

  ActionTypeInfo type_;
};

}  // namespace

std::unique_ptr<ActionProvider> MakeS3Source() { return std::make_unique<S3Source>(); }

}  // namespace gantry::services::codepipeline
