// Multipart uploads: create, upload (and copy) parts, complete, abort, list parts and uploads.
#include <algorithm>

#include "core/common/strings.h"
#include "services/s3/conditions.h"
#include "services/s3/handlers.h"
#include "services/s3/names.h"

namespace gantry::services::s3 {

namespace {

Status InvalidRequest(std::string message) { return Status::InvalidArgument(std::move(message), "InvalidRequest"); }

StatusOr<int> PartNumberOf(const Document& input) {
  auto it = input.find("PartNumber");
  int n = it != input.end() && it->is_number_integer() ? it->get<int>() : 0;
  if (n < 1 || n > 10000) {
    return Status::InvalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                                   "InvalidArgument");
  }
  return n;
}

void PutPartChecksum(Document& out, const Upload& upload, const Part& part, const std::string& sent_algorithm) {
  for (const std::string& algorithm : {upload.checksum_algorithm, sent_algorithm}) {
    if (algorithm.empty()) continue;
    auto it = part.checksums.find(algorithm);
    if (it != part.checksums.end()) out[ChecksumMember(algorithm)] = it->second;
  }
}

Document Initiator(const std::string& account) {
  return {{"ID", "arn:aws:iam::" + account + ":root"}, {"DisplayName", account}};
}

}  // namespace

StatusOr<Document> CreateMultipartUpload(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  Upload upload;
  upload.key = Member(input, "Key");
  GANTRY_RETURN_IF_ERROR(ValidateObjectKey(upload.key));
  GANTRY_RETURN_IF_ERROR(CheckCannedAcl(input));
  GANTRY_ASSIGN_OR_RETURN(upload.attributes, AttributesFromInput(input));
  upload.owner = ctx.account_id;
  std::string algorithm = Member(input, "ChecksumAlgorithm");
  std::string type = Member(input, "ChecksumType");
  if (!algorithm.empty() && !IsSupportedChecksumAlgorithm(algorithm)) {
    return InvalidRequest("Gantry does not compute the " + algorithm + " checksum.");
  }
  if (algorithm.empty() && !type.empty()) {
    return InvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.");
  }
  if (!algorithm.empty()) {
    if (type.empty()) type = algorithm == "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE";
    if (type == "FULL_OBJECT" && !SupportsFullObject(algorithm)) {
      return InvalidRequest("The FULL_OBJECT checksum type cannot be used with the " + ToLower(algorithm) +
                            " checksum algorithm.");
    }
    if (type == "COMPOSITE" && algorithm == "CRC64NVME") {
      return InvalidRequest("The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.");
    }
  }
  upload.checksum_algorithm = algorithm;
  upload.checksum_type = algorithm.empty() ? std::string() : type;
  GANTRY_ASSIGN_OR_RETURN(Upload created, objects.CreateUpload(bucket, std::move(upload)));
  Document out = {{"Bucket", bucket.name}, {"Key", created.key}, {"UploadId", created.id}};
  if (!created.checksum_algorithm.empty()) {
    out["ChecksumAlgorithm"] = created.checksum_algorithm;
    out["ChecksumType"] = created.checksum_type;
  }
  return out;
}

StatusOr<Document> UploadPart(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(int number, PartNumberOf(input));
  GANTRY_ASSIGN_OR_RETURN(Upload upload, objects.GetUpload(bucket, Member(input, "UploadId"), Member(input, "Key")));
  GANTRY_RETURN_IF_ERROR(CheckContentMd5Format(input));
  GANTRY_ASSIGN_OR_RETURN(std::string algorithm, RequestChecksumAlgorithm(input));
  if (!algorithm.empty() && !upload.checksum_algorithm.empty() && algorithm != upload.checksum_algorithm) {
    return InvalidRequest("Checksum Type mismatch occurred, expected checksum Type: " +
                          ToLower(upload.checksum_algorithm) + ", actual checksum Type: " + ToLower(algorithm));
  }
  GANTRY_ASSIGN_OR_RETURN(StagedBody body,
                          objects.Stage(bucket, RequestBody(ctx, input), {algorithm, upload.checksum_algorithm}));
  if (Status digests = CheckBodyDigests(input, algorithm, body.digests); !digests.ok()) {
    objects.Discard(body);
    return digests;
  }
  GANTRY_ASSIGN_OR_RETURN(Part part, objects.PutPart(bucket, upload, number, body));
  Document out = {{"ETag", Quoted(part.etag)}};
  PutPartChecksum(out, upload, part, algorithm);
  return out;
}

StatusOr<Document> UploadPartCopy(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(int number, PartNumberOf(input));
  GANTRY_ASSIGN_OR_RETURN(Upload upload, objects.GetUpload(bucket, Member(input, "UploadId"), Member(input, "Key")));
  GANTRY_ASSIGN_OR_RETURN(CopySource source, ParseCopySource(Member(input, "CopySource")));
  Document source_input = {{"Bucket", source.bucket}};
  GANTRY_ASSIGN_OR_RETURN(Bucket source_bucket, LoadBucket(objects, ctx, source_input));
  GANTRY_ASSIGN_OR_RETURN(VersionEntry entry, objects.GetVersion(source_bucket, source.key, source.version_id));
  const ObjectVersion& from = entry.version;
  if (from.delete_marker) {
    if (!source.version_id.empty()) {
      return InvalidRequest("The source of a copy request may not specifically refer to a delete marker by version id.");
    }
    ctx.error_extra = {{"Key", source.key}};
    return Status::NotFound("The specified key does not exist.", "NoSuchKey").WithHttpStatus(404);
  }
  Preconditions p;
  if (input.contains("CopySourceIfMatch")) p.if_match = Member(input, "CopySourceIfMatch");
  if (input.contains("CopySourceIfNoneMatch")) p.if_none_match = Member(input, "CopySourceIfNoneMatch");
  if (auto it = input.find("CopySourceIfModifiedSince"); it != input.end() && it->is_number()) {
    p.if_modified_since = static_cast<int64_t>(it->get<double>());
  }
  if (auto it = input.find("CopySourceIfUnmodifiedSince"); it != input.end() && it->is_number()) {
    p.if_unmodified_since = static_cast<int64_t>(it->get<double>());
  }
  if (EvaluatePreconditions(p, from.etag, from.last_modified_ms) != PreconditionResult::kProceed) {
    return Status::FailedPrecondition("At least one of the pre-conditions you specified did not hold",
                                      "PreconditionFailed")
        .WithHttpStatus(412);
  }
  uint64_t first = 0, length = from.size;
  if (std::string range = Member(input, "CopySourceRange"); !range.empty()) {
    std::string_view spec = Trim(range);
    size_t dash = spec.find('-');
    bool well_formed = spec.substr(0, 6) == "bytes=" && dash != std::string_view::npos && dash > 6 &&
                       dash + 1 < spec.size();
    uint64_t last = 0;
    if (well_formed) {
      std::string a(spec.substr(6, dash - 6)), b(spec.substr(dash + 1));
      well_formed = a.find_first_not_of("0123456789") == std::string::npos &&
                    b.find_first_not_of("0123456789") == std::string::npos && a.size() < 20 && b.size() < 20;
      if (well_formed) {
        first = std::stoull(a);
        last = std::stoull(b);
        well_formed = last >= first;
      }
    }
    if (!well_formed) {
      return Status::InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where "
                                     "first and last are the zero-based offsets of the first and last bytes to copy",
                                     "InvalidArgument");
    }
    if (last >= from.size) {
      return Status::InvalidArgument("Range specified is not valid for source object of size: " +
                                         std::to_string(from.size),
                                     "InvalidRange")
          .WithHttpStatus(416);
    }
    length = last - first + 1;
  }
  GANTRY_ASSIGN_OR_RETURN(StagedBody body, objects.StageRange(bucket, source_bucket, from, first, length,
                                                              {upload.checksum_algorithm}));
  GANTRY_ASSIGN_OR_RETURN(Part part, objects.PutPart(bucket, upload, number, body));
  Document result = {{"ETag", Quoted(part.etag)}, {"LastModified", Seconds(part.last_modified_ms)}};
  PutPartChecksum(result, upload, part, {});
  Document out = {{"CopyPartResult", std::move(result)}};
  if (from.version_id != kNullVersion) out["CopySourceVersionId"] = from.version_id;
  return out;
}

StatusOr<Document> CompleteMultipartUpload(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  std::string key = Member(input, "Key");
  std::vector<CompletedPart> parts;
  Document listed = input.value("MultipartUpload", Document::object()).value("Parts", Document::array());
  for (const Document& p : listed) {
    CompletedPart part;
    part.number = p.value("PartNumber", 0);
    part.etag = Member(p, "ETag");
    for (std::string_view algorithm : kChecksumAlgorithms) {
      std::string member = ChecksumMember(algorithm);
      if (p.contains(member)) part.checksums[std::string(algorithm)] = Member(p, member.c_str());
    }
    parts.push_back(std::move(part));
  }
  WriteConditions conditions;
  if (input.contains("IfMatch")) conditions.if_match = Member(input, "IfMatch");
  if (input.contains("IfNoneMatch")) conditions.if_none_match = Member(input, "IfNoneMatch");
  std::map<std::string, std::string> expected;
  for (std::string_view algorithm : kChecksumAlgorithms) {
    std::string member = ChecksumMember(algorithm);
    if (input.contains(member)) expected[std::string(algorithm)] = Member(input, member.c_str());
  }
  GANTRY_ASSIGN_OR_RETURN(ObjectVersion v,
                          objects.CompleteUpload(bucket, key, Member(input, "UploadId"), parts, conditions, expected));
  std::string host = ctx.http ? std::string(ctx.http->headers.Get("Host")) : std::string("s3.amazonaws.com");
  Document out = {{"Location", "http://" + host + "/" + bucket.name + "/" + UrlEncodeKey(key)},
                  {"Bucket", bucket.name},
                  {"Key", key},
                  {"ETag", Quoted(v.etag)}};
  PutChecksum(out, v.checksum);
  if (v.version_id != kNullVersion) out["VersionId"] = v.version_id;
  return out;
}

StatusOr<Document> AbortMultipartUpload(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  GANTRY_RETURN_IF_ERROR(objects.AbortUpload(bucket, Member(input, "Key"), Member(input, "UploadId")));
  return Document::object();
}

StatusOr<Document> ListParts(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(Upload upload, objects.GetUpload(bucket, Member(input, "UploadId"), Member(input, "Key")));
  int max_parts = input.contains("MaxParts") && input["MaxParts"].is_number_integer() ? input["MaxParts"].get<int>()
                                                                                      : 1000;
  max_parts = std::clamp(max_parts, 0, 1000);
  int marker = input.contains("PartNumberMarker") && input["PartNumberMarker"].is_number_integer()
                   ? std::max(0, input["PartNumberMarker"].get<int>())
                   : 0;
  GANTRY_ASSIGN_OR_RETURN(PartPage page, objects.ListParts(bucket, upload.id, marker, max_parts));
  Document parts = Document::array();
  for (const Part& p : page.parts) {
    Document entry = {{"PartNumber", p.number},
                      {"LastModified", Seconds(p.last_modified_ms)},
                      {"ETag", Quoted(p.etag)},
                      {"Size", p.size}};
    PutPartChecksum(entry, upload, p, {});
    parts.push_back(std::move(entry));
  }
  Document out = {{"Bucket", bucket.name},
                  {"Key", upload.key},
                  {"UploadId", upload.id},
                  {"PartNumberMarker", marker},
                  {"MaxParts", max_parts},
                  {"IsTruncated", page.truncated},
                  {"Initiator", Initiator(upload.owner)},
                  {"Owner", OwnerOf(upload.owner)},
                  {"StorageClass", upload.attributes.storage_class.empty() ? "STANDARD" : upload.attributes.storage_class}};
  if (!parts.empty()) out["Parts"] = std::move(parts);
  if (page.truncated) out["NextPartNumberMarker"] = page.next_part_number_marker;
  if (!upload.checksum_algorithm.empty()) {
    out["ChecksumAlgorithm"] = upload.checksum_algorithm;
    out["ChecksumType"] = upload.checksum_type;
  }
  return out;
}

StatusOr<Document> ListMultipartUploads(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  UploadQuery query;
  query.prefix = Member(input, "Prefix");
  query.delimiter = Member(input, "Delimiter");
  query.key_marker = Member(input, "KeyMarker");
  query.upload_id_marker = Member(input, "UploadIdMarker");
  int max_uploads = input.contains("MaxUploads") && input["MaxUploads"].is_number_integer()
                        ? input["MaxUploads"].get<int>()
                        : 1000;
  query.max_uploads = std::clamp(max_uploads, 0, 1000);
  GANTRY_ASSIGN_OR_RETURN(UploadPage page, objects.ListUploads(bucket, query));
  bool url = Member(input, "EncodingType") == "url";
  auto encode = [url](const std::string& s) { return url ? UrlEncodeKey(s) : s; };
  Document uploads = Document::array();
  for (const Upload& u : page.uploads) {
    Document entry = {{"UploadId", u.id},
                      {"Key", encode(u.key)},
                      {"Initiated", Seconds(u.initiated_ms)},
                      {"StorageClass", u.attributes.storage_class.empty() ? "STANDARD" : u.attributes.storage_class},
                      {"Owner", OwnerOf(u.owner)},
                      {"Initiator", Initiator(u.owner)}};
    if (!u.checksum_algorithm.empty()) {
      entry["ChecksumAlgorithm"] = u.checksum_algorithm;
      entry["ChecksumType"] = u.checksum_type;
    }
    uploads.push_back(std::move(entry));
  }
  Document out = {{"Bucket", bucket.name},
                  {"KeyMarker", encode(query.key_marker)},
                  {"UploadIdMarker", query.upload_id_marker},
                  {"MaxUploads", max_uploads},
                  {"IsTruncated", page.truncated},
                  {"Prefix", encode(query.prefix)}};
  if (!query.delimiter.empty()) out["Delimiter"] = encode(query.delimiter);
  if (!uploads.empty()) out["Uploads"] = std::move(uploads);
  if (!page.common_prefixes.empty()) {
    Document prefixes = Document::array();
    for (const std::string& p : page.common_prefixes) prefixes.push_back({{"Prefix", encode(p)}});
    out["CommonPrefixes"] = std::move(prefixes);
  }
  if (page.truncated) {
    out["NextKeyMarker"] = encode(page.next_key_marker);
    out["NextUploadIdMarker"] = page.next_upload_id_marker;
  }
  if (url) out["EncodingType"] = "url";
  return out;
}

}  // namespace gantry::services::s3
