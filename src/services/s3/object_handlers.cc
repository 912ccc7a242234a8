// Object operations: writes, reads (ranges, preconditions, response overrides), deletes, copies and
// object tags.
#include <fstream>

#include "core/common/strings.h"
#include "core/common/time_format.h"
#include "services/s3/conditions.h"
#include "services/s3/handlers.h"
#include "services/s3/names.h"

namespace gantry::services::s3 {

namespace {

constexpr char kDefaultContentType[] = "binary/octet-stream";

Status MethodNotAllowed() {
  return Status::InvalidArgument("The specified method is not allowed against this resource.", "MethodNotAllowed")
      .WithHttpStatus(405);
}

Status PreconditionFailed() {
  return Status::FailedPrecondition("At least one of the pre-conditions you specified did not hold",
                                    "PreconditionFailed")
      .WithHttpStatus(412);
}

std::string HttpDate(int64_t millis) { return FormatRfc1123(FromEpochSeconds(static_cast<double>(millis / 1000))); }

std::optional<int64_t> EpochSecondsMember(const Document& input, const char* name) {
  auto it = input.find(name);
  if (it == input.end() || !it->is_number()) return std::nullopt;
  return static_cast<int64_t>(it->get<double>());
}

std::optional<std::string> OptionalMember(const Document& input, const char* name) {
  auto it = input.find(name);
  if (it == input.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// Preconditions of a read (If-*) or of a copy's source (x-amz-copy-source-if-*).
Preconditions PreconditionsOf(const Document& input, bool copy_source) {
  Preconditions p;
  p.if_match = OptionalMember(input, copy_source ? "CopySourceIfMatch" : "IfMatch");
  p.if_none_match = OptionalMember(input, copy_source ? "CopySourceIfNoneMatch" : "IfNoneMatch");
  p.if_modified_since = EpochSecondsMember(input, copy_source ? "CopySourceIfModifiedSince" : "IfModifiedSince");
  p.if_unmodified_since = EpochSecondsMember(input, copy_source ? "CopySourceIfUnmodifiedSince" : "IfUnmodifiedSince");
  return p;
}

// The version a read names; delete markers become S3's errors (with their headers).
StatusOr<VersionEntry> ReadableVersion(ObjectStore& objects, RequestContext& ctx, const Bucket& bucket,
                                       const std::string& key, const std::string& version_id) {
  GANTRY_ASSIGN_OR_RETURN(VersionEntry entry, objects.GetVersion(bucket, key, version_id));
  if (!entry.version.delete_marker) return entry;
  if (ctx.response != nullptr) {
    ctx.response->headers.Set("x-amz-delete-marker", "true");
    ctx.response->headers.Set("x-amz-version-id", entry.version.version_id);
    if (!version_id.empty()) ctx.response->headers.Set("Last-Modified", HttpDate(entry.version.last_modified_ms));
  }
  if (!version_id.empty()) return MethodNotAllowed();
  return Status::NotFound("The specified key does not exist.", "NoSuchKey").WithHttpStatus(404);
}

void PutAttributes(Document& out, const ObjectAttributes& a) {
  out["ContentType"] = a.content_type.empty() ? kDefaultContentType : a.content_type;
  if (!a.content_encoding.empty()) out["ContentEncoding"] = a.content_encoding;
  if (!a.content_disposition.empty()) out["ContentDisposition"] = a.content_disposition;
  if (!a.content_language.empty()) out["ContentLanguage"] = a.content_language;
  if (!a.cache_control.empty()) out["CacheControl"] = a.cache_control;
  if (!a.expires.empty()) out["Expires"] = a.expires;
  if (!a.website_redirect_location.empty()) out["WebsiteRedirectLocation"] = a.website_redirect_location;
  if (!a.storage_class.empty()) out["StorageClass"] = a.storage_class;
  if (!a.metadata.empty()) out["Metadata"] = a.metadata;
  if (!a.tags.empty()) out["TagCount"] = a.tags.size();
}

bool ShowsVersionId(const Bucket& bucket, const ObjectVersion& v) {
  return !bucket.versioning.empty() || v.version_id != kNullVersion;
}

StatusOr<Document> ReadObject(ObjectStore& objects, RequestContext& ctx, const Document& input, bool head) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  std::string key = Member(input, "Key");
  GANTRY_ASSIGN_OR_RETURN(VersionEntry entry,
                          ReadableVersion(objects, ctx, bucket, key, Member(input, "VersionId")));
  const ObjectVersion& v = entry.version;

  Preconditions preconditions = PreconditionsOf(input, /*copy_source=*/false);
  switch (EvaluatePreconditions(preconditions, v.etag, v.last_modified_ms)) {
    case PreconditionResult::kFailed:
      ctx.error_extra = {{"Condition", preconditions.if_match ? "If-Match" : "If-Unmodified-Since"}};
      return PreconditionFailed();
    case PreconditionResult::kNotModified:
      if (ctx.response != nullptr) {
        ctx.response->headers.Set("ETag", Quoted(v.etag));
        ctx.response->headers.Set("Last-Modified", HttpDate(v.last_modified_ms));
      }
      return Status::FailedPrecondition("Not Modified", "NotModified").WithHttpStatus(304);
    case PreconditionResult::kProceed: break;
  }

  Document out = Document::object();
  uint64_t first = 0, length = v.size;
  bool partial = false;
  if (auto it = input.find("PartNumber"); it != input.end() && it->is_number_integer()) {
    int number = it->get<int>();
    size_t parts = v.part_sizes.empty() ? 1 : v.part_sizes.size();
    if (number < 1 || static_cast<size_t>(number) > parts) {
      return Status::InvalidArgument("The requested partnumber is not satisfiable", "InvalidPartNumber")
          .WithHttpStatus(416);
    }
    if (!v.part_sizes.empty()) {
      for (int i = 0; i + 1 < number; ++i) first += v.part_sizes[static_cast<size_t>(i)];
      length = v.part_sizes[static_cast<size_t>(number - 1)];
      partial = true;
    }
    out["PartsCount"] = parts;
  } else if (input.contains("Range")) {
    std::string range = Member(input, "Range");
    RangeResult r = EvaluateRange(range, v.size);
    if (r.kind == RangeResult::Kind::kUnsatisfiable) {
      ctx.error_extra = {{"RangeRequested", range}, {"ActualObjectSize", std::to_string(v.size)}};
      if (ctx.response != nullptr) ctx.response->headers.Set("Content-Range", "bytes */" + std::to_string(v.size));
      return Status::InvalidArgument("The requested range is not satisfiable", "InvalidRange").WithHttpStatus(416);
    }
    if (r.kind == RangeResult::Kind::kPartial) {
      first = r.first;
      length = r.length;
      partial = true;
    }
  }

  out["AcceptRanges"] = "bytes";
  out["LastModified"] = Seconds(v.last_modified_ms);
  out["ContentLength"] = length;
  out["ETag"] = Quoted(v.etag);
  PutAttributes(out, v.attributes);
  if (ShowsVersionId(bucket, v)) out["VersionId"] = v.version_id;
  if (partial) out["ContentRange"] = ContentRange(first, length, v.size);
  if (!partial && Member(input, "ChecksumMode") == "ENABLED") PutChecksum(out, v.checksum);
  // Response header overrides (response-content-type=...).
  static const std::pair<const char*, const char*> kOverrides[] = {
      {"ResponseCacheControl", "CacheControl"},         {"ResponseContentDisposition", "ContentDisposition"},
      {"ResponseContentEncoding", "ContentEncoding"},   {"ResponseContentLanguage", "ContentLanguage"},
      {"ResponseContentType", "ContentType"},
  };
  for (const auto& [from, to] : kOverrides) {
    if (std::string value = Member(input, from); !value.empty()) out[to] = value;
  }
  if (auto expires = EpochSecondsMember(input, "ResponseExpires")) {
    out["Expires"] = FormatRfc1123(FromEpochSeconds(static_cast<double>(*expires)));
  }
  if (partial) ctx.response_status = 206;

  if (!head) {
    std::string path = objects.FilePath(bucket, v);
    if (ctx.response != nullptr) {
      ctx.response->body_file = path;
      ctx.response->file_offset = first;
      ctx.response->file_length = length;
    } else {
      std::ifstream in(path, std::ios::binary);
      std::vector<uint8_t> bytes(length);
      in.seekg(static_cast<std::streamoff>(first));
      if (length > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(length))) {
        return Status::Internal("cannot read the object's bytes");
      }
      out["Body"] = Document::binary(std::move(bytes));
    }
  }
  return out;
}

}  // namespace

StatusOr<Document> PutObject(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  std::string key = Member(input, "Key");
  GANTRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  GANTRY_RETURN_IF_ERROR(CheckCannedAcl(input));
  GANTRY_RETURN_IF_ERROR(CheckContentMd5Format(input));
  GANTRY_ASSIGN_OR_RETURN(std::string algorithm, RequestChecksumAlgorithm(input));
  ObjectVersion version;
  GANTRY_ASSIGN_OR_RETURN(version.attributes, AttributesFromInput(input));
  version.owner = ctx.account_id;
  WriteConditions conditions;
  conditions.if_match = OptionalMember(input, "IfMatch");
  conditions.if_none_match = OptionalMember(input, "IfNoneMatch");

  GANTRY_ASSIGN_OR_RETURN(StagedBody body, objects.Stage(bucket, RequestBody(ctx, input), {algorithm}));
  if (Status digests = CheckBodyDigests(input, algorithm, body.digests); !digests.ok()) {
    objects.Discard(body);
    return digests;
  }
  if (!algorithm.empty()) version.checksum = {algorithm, body.digests.checksums[algorithm], "FULL_OBJECT"};
  GANTRY_ASSIGN_OR_RETURN(ObjectVersion written, objects.PutObject(bucket, key, body, std::move(version), conditions));
  Document out = {{"ETag", Quoted(written.etag)}};
  if (written.version_id != kNullVersion) out["VersionId"] = written.version_id;
  PutChecksum(out, written.checksum);
  return out;
}

StatusOr<Document> GetObject(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  return ReadObject(objects, ctx, input, /*head=*/false);
}

StatusOr<Document> HeadObject(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  return ReadObject(objects, ctx, input, /*head=*/true);
}

StatusOr<Document> DeleteObject(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  std::string key = Member(input, "Key");
  GANTRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  GANTRY_ASSIGN_OR_RETURN(DeleteResult result, objects.DeleteObject(bucket, key, Member(input, "VersionId")));
  Document out = Document::object();
  if (result.delete_marker) out["DeleteMarker"] = true;
  if (!result.version_id.empty()) out["VersionId"] = result.version_id;
  return out;
}

StatusOr<Document> DeleteObjects(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  GANTRY_RETURN_IF_ERROR(CheckRequestBody(ctx, input));
  Document del = input.value("Delete", Document::object());
  Document list = del.value("Objects", Document::array());
  bool quiet = del.value("Quiet", false);
  if (list.empty() || list.size() > 1000) {
    return Status::InvalidArgument("The XML you provided was not well-formed or did not validate against our "
                                   "published schema",
                                   "MalformedXML");
  }
  Document deleted = Document::array();
  Document errors = Document::array();
  for (const Document& item : list) {
    std::string key = Member(item, "Key");
    std::string version_id = Member(item, "VersionId");
    Status status = ValidateObjectKey(key);
    StatusOr<DeleteResult> result = status.ok() ? objects.DeleteObject(bucket, key, version_id) : StatusOr<DeleteResult>(status);
    if (!result.ok()) {
      Document error = {{"Key", key},
                        {"Code", result.status().aws_code().empty() ? "InternalError" : result.status().aws_code()},
                        {"Message", result.status().message()}};
      if (!version_id.empty()) error["VersionId"] = version_id;
      errors.push_back(std::move(error));
      continue;
    }
    if (quiet) continue;
    Document entry = {{"Key", key}};
    if (!version_id.empty()) entry["VersionId"] = version_id;
    if (result->delete_marker) {
      entry["DeleteMarker"] = true;
      entry["DeleteMarkerVersionId"] = result->version_id;
    }
    deleted.push_back(std::move(entry));
  }
  Document out = Document::object();
  if (!deleted.empty()) out["Deleted"] = std::move(deleted);
  if (!errors.empty()) out["Errors"] = std::move(errors);
  return out;
}

StatusOr<Document> CopyObject(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(CopySource source, ParseCopySource(Member(input, "CopySource")));
  Document source_input = {{"Bucket", source.bucket}, {"Key", source.key}};
  if (input.contains("ExpectedSourceBucketOwner")) source_input["ExpectedBucketOwner"] = input["ExpectedSourceBucketOwner"];
  GANTRY_ASSIGN_OR_RETURN(Bucket source_bucket, LoadBucket(objects, ctx, source_input));
  GANTRY_ASSIGN_OR_RETURN(VersionEntry entry, objects.GetVersion(source_bucket, source.key, source.version_id));
  if (entry.version.delete_marker) {
    if (!source.version_id.empty()) {
      return Status::InvalidArgument("The source of a copy request may not specifically refer to a delete marker by "
                                     "version id.",
                                     "InvalidRequest");
    }
    ctx.error_extra = {{"Key", source.key}};
    return Status::NotFound("The specified key does not exist.", "NoSuchKey").WithHttpStatus(404);
  }
  const ObjectVersion& from = entry.version;
  if (EvaluatePreconditions(PreconditionsOf(input, /*copy_source=*/true), from.etag, from.last_modified_ms) !=
      PreconditionResult::kProceed) {
    return PreconditionFailed();
  }

  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  std::string key = Member(input, "Key");
  GANTRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  GANTRY_RETURN_IF_ERROR(CheckCannedAcl(input));
  bool replace_metadata = Member(input, "MetadataDirective") == "REPLACE";
  bool replace_tags = Member(input, "TaggingDirective") == "REPLACE";
  std::string storage_class = Member(input, "StorageClass");
  bool same_object = source_bucket.id == bucket.id && source.key == key && entry.is_latest;
  if (same_object && !replace_metadata && storage_class.empty() && !input.contains("WebsiteRedirectLocation") &&
      !input.contains("ServerSideEncryption") && !input.contains("ChecksumAlgorithm")) {
    return Status::InvalidArgument("This copy request is illegal because it is trying to copy an object to itself "
                                   "without changing the object's metadata, storage class, website redirect "
                                   "location or encryption attributes.",
                                   "InvalidRequest");
  }

  ObjectVersion version;
  version.owner = ctx.account_id;
  GANTRY_ASSIGN_OR_RETURN(ObjectAttributes requested, AttributesFromInput(input));
  version.attributes = replace_metadata ? requested : from.attributes;
  version.attributes.tags = replace_tags ? requested.tags : from.attributes.tags;
  version.attributes.storage_class = requested.storage_class;
  if (input.contains("WebsiteRedirectLocation")) {
    version.attributes.website_redirect_location = requested.website_redirect_location;
  }

  std::string algorithm = Member(input, "ChecksumAlgorithm");
  ObjectVersion written;
  if (!algorithm.empty() && algorithm != from.checksum.algorithm) {
    if (!IsSupportedChecksumAlgorithm(algorithm)) {
      return Status::InvalidArgument("Gantry does not compute the " + algorithm + " checksum.", "InvalidRequest");
    }
    // A new checksum means reading the bytes: copy them rather than share the file.
    GANTRY_ASSIGN_OR_RETURN(StagedBody body, objects.StageRange(bucket, source_bucket, from, 0, from.size, {algorithm}));
    version.checksum = {algorithm, body.digests.checksums[algorithm], "FULL_OBJECT"};
    GANTRY_ASSIGN_OR_RETURN(written, objects.PutObject(bucket, key, body, std::move(version)));
  } else {
    version.checksum = from.checksum;
    GANTRY_ASSIGN_OR_RETURN(written, objects.CopyObject(source_bucket, from, bucket, key, std::move(version)));
  }
  Document result = {{"ETag", Quoted(written.etag)}, {"LastModified", Seconds(written.last_modified_ms)}};
  PutChecksum(result, written.checksum);
  Document out = {{"CopyObjectResult", std::move(result)}};
  if (written.version_id != kNullVersion) out["VersionId"] = written.version_id;
  if (from.version_id != kNullVersion) out["CopySourceVersionId"] = from.version_id;
  return out;
}

StatusOr<Document> GetObjectTagging(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(VersionEntry entry,
                          ReadableVersion(objects, ctx, bucket, Member(input, "Key"), Member(input, "VersionId")));
  Document out = {{"TagSet", TagSetDocument(entry.version.attributes.tags)}};
  if (ShowsVersionId(bucket, entry.version)) out["VersionId"] = entry.version.version_id;
  return out;
}

StatusOr<Document> PutObjectTagging(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  GANTRY_RETURN_IF_ERROR(CheckRequestBody(ctx, input));
  GANTRY_ASSIGN_OR_RETURN(TagSet tags, TagSetFromInput(input.value("Tagging", Document::object()), 10));
  GANTRY_ASSIGN_OR_RETURN(ObjectVersion v, objects.UpdateVersion(bucket, Member(input, "Key"), Member(input, "VersionId"),
                                                                 [&](ObjectVersion& version) {
                                                                   version.attributes.tags = tags;
                                                                   return Status::Ok();
                                                                 }));
  Document out = Document::object();
  if (ShowsVersionId(bucket, v)) out["VersionId"] = v.version_id;
  return out;
}

StatusOr<Document> DeleteObjectTagging(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(ObjectVersion v, objects.UpdateVersion(bucket, Member(input, "Key"), Member(input, "VersionId"),
                                                                 [](ObjectVersion& version) {
                                                                   version.attributes.tags.clear();
                                                                   return Status::Ok();
                                                                 }));
  Document out = Document::object();
  if (ShowsVersionId(bucket, v)) out["VersionId"] = v.version_id;
  return out;
}

StatusOr<Document> GetObjectAcl(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  GANTRY_RETURN_IF_ERROR(
      ReadableVersion(objects, ctx, bucket, Member(input, "Key"), Member(input, "VersionId")).status());
  Document grantee = {{"ID", CanonicalUserId(bucket.owner)}, {"Type", "CanonicalUser"}};
  return Document{{"Owner", OwnerOf(bucket.owner)},
                  {"Grants", Document::array({{{"Grantee", grantee}, {"Permission", "FULL_CONTROL"}}})}};
}

}  // namespace gantry::services::s3
