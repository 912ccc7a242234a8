// Deploy/AWS/S3/1: puts the input artifact into a bucket, as the action's principal. With Extract
// true the artifact's files are written under ObjectKey (a prefix, optional) with content types from
// their extensions; with Extract false the zip itself is written as ObjectKey. CannedACL,
// CacheControl and KMSEncryptionKeyARN apply to every object written. An artifact to extract is
// inflated in memory, so it may hold at most 10,000 files, 256 MiB each and 512 MiB in all.
#include <map>
#include <set>

#include "core/archive/zip.h"
#include "core/common/strings.h"
#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {

namespace {

using aws::Document;

constexpr archive::ZipLimits kExtractLimits = {10000, uint64_t{256} << 20, uint64_t{512} << 20};

const std::set<std::string> kCannedAcls = {"private",
                                           "public-read",
                                           "public-read-write",
                                           "aws-exec-read",
                                           "authenticated-read",
                                           "bucket-owner-read",
                                           "bucket-owner-full-control",
                                           "log-delivery-write"};

// The Content-Type of a file by its extension; binary/octet-stream otherwise, as S3 stores it.
std::string ContentTypeOf(const std::string& path) {
  static const std::map<std::string, std::string> kTypes = {
      {"html", "text/html"},
      {"htm", "text/html"},
      {"css", "text/css"},
      {"js", "application/javascript"},
      {"mjs", "application/javascript"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"txt", "text/plain"},
      {"md", "text/markdown"},
      {"csv", "text/csv"},
      {"xml", "application/xml"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"pdf", "application/pdf"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"tar", "application/x-tar"},
      {"wasm", "application/wasm"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"otf", "font/otf"},
      {"mp4", "video/mp4"},
      {"webm", "video/webm"},
      {"mp3", "audio/mpeg"},
      {"yaml", "application/x-yaml"},
      {"yml", "application/x-yaml"},
      {"sh", "application/x-sh"},
  };
  size_t slash = path.rfind('/');
  size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "binary/octet-stream";
  auto it = kTypes.find(ToLower(path.substr(dot + 1)));
  return it == kTypes.end() ? "binary/octet-stream" : it->second;
}

class S3Deploy final : public ActionProvider {
 public:
  S3Deploy() {
    type_.category = "Deploy";
    type_.provider = "S3";
    type_.min_inputs = 1;
    type_.max_inputs = 1;
    type_.configuration = {
        {"BucketName", true, true, false, false, "The bucket to deploy to"},
        {"Extract", true, false, false, false, "Whether to unzip the artifact before deploying it", "Boolean"},
        {"ObjectKey", false, false, false, false, "The object key, or the key prefix of extracted files"},
        {"KMSEncryptionKeyARN", false, false, false, false, "The AWS KMS key to encrypt the objects with"},
        {"CannedACL", false, false, false, false, "The canned ACL of the objects"},
        {"CacheControl", false, false, false, false, "The Cache-Control of the objects"},
    };
  }

  const ActionTypeInfo& type() const override { return type_; }

  Status Validate(const Document& declaration) const override {
    std::string name = declaration.value("name", "");
    const Document& configuration = declaration.value("configuration", Document::object());
    std::string extract = ConfigValue(configuration, "Extract");
    if (extract != "true" && extract != "false") {
      return InvalidDeclaration("Action configuration for action '" + name +
                                "' has an invalid Extract value: " + extract + ". It must be true or false");
    }
    if (extract == "false" && ConfigValue(configuration, "ObjectKey").empty()) {
      return InvalidDeclaration("Action configuration for action '" + name +
                                "' is missing required configuration 'ObjectKey' (required when Extract is false)");
    }
    std::string acl = ConfigValue(configuration, "CannedACL");
    if (configuration.contains("CannedACL") && !kCannedAcls.count(acl)) {
      return InvalidDeclaration("Action configuration for action '" + name +
                                "' has an invalid CannedACL value: " + acl);
    }
    return Status::Ok();
  }

  ActionResult Start(ActionContext& ctx) override {
    const Document& configuration = ctx.configuration();
    if (ctx.inputs.empty()) return ActionResult::Failed("ConfigurationError", "The action has no input artifact");
    const ArtifactLocation& in = ctx.inputs.front();
    auto got = CallService(ctx, "s3", "GetObject", {{"Bucket", in.bucket}, {"Key", in.key}});
    if (!got.ok())
      return CallFailed(got.status(), "Could not read input artifact " + in.name + " (" + in.ArnForm() + ")");
    std::string bucket = ConfigValue(configuration, "BucketName");
    std::string key = ConfigValue(configuration, "ObjectKey");
    Document common = {{"Bucket", bucket}};
    if (configuration.contains("CannedACL")) common["ACL"] = ConfigValue(configuration, "CannedACL");
    if (configuration.contains("CacheControl")) common["CacheControl"] = ConfigValue(configuration, "CacheControl");
    if (configuration.contains("KMSEncryptionKeyARN")) {
      common["ServerSideEncryption"] = "aws:kms";
      common["SSEKMSKeyId"] = ConfigValue(configuration, "KMSEncryptionKeyARN");
    }
    auto put = [&](const std::string& object_key, std::string_view body, const std::string& content_type) {
      Document input = common;
      input["Key"] = object_key;
      input["Body"] = BlobOf(body);
      input["ContentType"] = content_type;
      return CallService(ctx, "s3", "PutObject", input).status();
    };
    std::string body = BytesOf((*got)["Body"]);
    if (ConfigValue(configuration, "Extract") != "true") {
      Status written = put(key, body, "application/zip");
      if (!written.ok()) return CallFailed(written, "Could not put object " + key + " in bucket " + bucket);
    } else {
      auto entries = archive::ReadZip(body, kExtractLimits);
      if (!entries.ok()) {
        return ActionResult::Failed("JobFailed",
                                    "Could not extract input artifact " + in.name + ": " + entries.status().message());
      }
      std::string prefix = key;
      while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
      for (const archive::ZipEntry& entry : *entries) {
        if (entry.symlink) continue;
        std::string object_key = prefix.empty() ? entry.path : prefix + "/" + entry.path;
        Status written = put(object_key, entry.content, ContentTypeOf(entry.path));
        if (!written.ok()) return CallFailed(written, "Could not put object " + object_key + " in bucket " + bucket);
      }
    }
    ActionResult result;
    result.status = ActionStatus::kSucceeded;
    result.external_execution_url =
        "https://s3.console.aws.amazon.com/s3/buckets/" + bucket + "?region=" + ctx.region + "&prefix=" + key;
    return result;
  }

  // Start finishes the deploy; polled (a restart lost Start's result), it deploys again, which
  // writes the same objects.
  ActionResult Poll(ActionContext& ctx) override { return Start(ctx); }

 private:
  ActionTypeInfo type_;
};

}  // namespace

std::unique_ptr<ActionProvider> MakeS3Deploy() { return std::make_unique<S3Deploy>(); }

}  // namespace gantry::services::codepipeline
