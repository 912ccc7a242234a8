#include "services/s3/handlers.h"

#include <fstream>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "services/s3/names.h"

namespace gantry::services::s3 {

namespace {

// Checksum members S3 defines but Gantry does not compute.
constexpr const char* kUnsupportedChecksums[] = {"ChecksumSHA512", "ChecksumMD5", "ChecksumXXHASH64",
                                                 "ChecksumXXHASH3", "ChecksumXXHASH128"};

Status InvalidRequest(std::string message) { return Status::InvalidArgument(std::move(message), "InvalidRequest"); }

}  // namespace

const std::vector<std::pair<std::string_view, Handler>>& AllHandlers() {
  static const std::vector<std::pair<std::string_view, Handler>> kHandlers = {
      {"CreateBucket", CreateBucket},
      {"HeadBucket", HeadBucket},
      {"DeleteBucket", DeleteBucket},
      {"ListBuckets", ListBuckets},
      {"GetBucketLocation", GetBucketLocation},
      {"PutBucketVersioning", PutBucketVersioning},
      {"GetBucketVersioning", GetBucketVersioning},
      {"PutBucketTagging", PutBucketTagging},
      {"GetBucketTagging", GetBucketTagging},
      {"DeleteBucketTagging", DeleteBucketTagging},
      {"PutBucketPolicy", PutBucketPolicy},
      {"GetBucketPolicy", GetBucketPolicy},
      {"DeleteBucketPolicy", DeleteBucketPolicy},
      {"GetBucketAcl", GetBucketAcl},
      {"ListObjects", ListObjects},
      {"ListObjectsV2", ListObjectsV2},
      {"ListObjectVersions", ListObjectVersions},
      {"PutObject", PutObject},
      {"GetObject", GetObject},
      {"HeadObject", HeadObject},
      {"DeleteObject", DeleteObject},
      {"DeleteObjects", DeleteObjects},
      {"CopyObject", CopyObject},
      {"GetObjectTagging", GetObjectTagging},
      {"PutObjectTagging", PutObjectTagging},
      {"DeleteObjectTagging", DeleteObjectTagging},
      {"GetObjectAcl", GetObjectAcl},
      {"CreateMultipartUpload", CreateMultipartUpload},
      {"UploadPart", UploadPart},
      {"UploadPartCopy", UploadPartCopy},
      {"CompleteMultipartUpload", CompleteMultipartUpload},
      {"AbortMultipartUpload", AbortMultipartUpload},
      {"ListParts", ListParts},
      {"ListMultipartUploads", ListMultipartUploads},
  };
  return kHandlers;
}

void AddErrorDetails(RequestContext& ctx, const Document& input, const Status& status) {
  if (!ctx.error_extra.empty()) return;
  const std::string& code = status.aws_code();
  auto add = [&](const char* name, const char* member) {
    std::string value = Member(input, member);
    if (!value.empty()) ctx.error_extra.emplace_back(name, value);
  };
  if (code == "NoSuchBucket" || code == "BucketNotEmpty" || code == "BucketAlreadyExists" ||
      code == "BucketAlreadyOwnedByYou" || code == "NoSuchTagSet" || code == "NoSuchBucketPolicy") {
    add("BucketName", "Bucket");
  } else if (code == "NoSuchKey") {
    add("Key", "Key");
  } else if (code == "NoSuchVersion") {
    add("Key", "Key");
    add("VersionId", "VersionId");
  } else if (code == "NoSuchUpload") {
    add("UploadId", "UploadId");
  }
}

std::string Member(const Document& input, const char* name) {
  auto it = input.find(name);
  return it != input.end() && it->is_string() ? it->get<std::string>() : std::string();
}

StatusOr<Bucket> LoadBucket(ObjectStore& objects, const RequestContext& ctx, const Document& input,
                            const char* member) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, objects.GetBucket(Member(input, member), ctx.account_id));
  std::string expected = Member(input, "ExpectedBucketOwner");
  if (!expected.empty() && expected != bucket.owner) {
    return Status::PermissionDenied("Access Denied", "AccessDenied").WithHttpStatus(403);
  }
  return bucket;
}

std::string CanonicalUserId(const std::string& account_id) { return HexEncode(Sha256("gantry-s3-owner:" + account_id)); }

Document OwnerOf(const std::string& account_id) { return {{"ID", CanonicalUserId(account_id)}}; }

double Seconds(int64_t millis) { return static_cast<double>(millis) / 1000.0; }

std::string Quoted(const std::string& etag) { return "\"" + etag + "\""; }

StatusOr<ObjectAttributes> AttributesFromInput(const Document& input) {
  ObjectAttributes a;
  a.content_type = Member(input, "ContentType");
  a.content_encoding = Member(input, "ContentEncoding");
  a.content_disposition = Member(input, "ContentDisposition");
  a.content_language = Member(input, "ContentLanguage");
  a.cache_control = Member(input, "CacheControl");
  a.expires = Member(input, "Expires");
  a.website_redirect_location = Member(input, "WebsiteRedirectLocation");
  a.storage_class = Member(input, "StorageClass");
  if (a.storage_class == "STANDARD") a.storage_class.clear();
  if (auto it = input.find("Metadata"); it != input.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) a.metadata[k] = v.get<std::string>();
    }
  }
  for (const std::string* s : {&a.content_type, &a.content_encoding, &a.content_disposition, &a.content_language,
                               &a.cache_control, &a.expires, &a.website_redirect_location}) {
    if (!IsValidUtf8(*s)) return Status::InvalidArgument("Header values must be UTF-8.", "InvalidArgument");
  }
  size_t metadata_size = 0;
  for (const auto& [k, v] : a.metadata) {
    if (!IsValidUtf8(k) || !IsValidUtf8(v)) {
      return Status::InvalidArgument("User-defined metadata must be UTF-8.", "InvalidArgument");
    }
    metadata_size += k.size() + v.size();
  }
  if (metadata_size > 2048) {
    return Status::InvalidArgument("Your metadata headers exceed the maximum allowed metadata size.",
                                   "MetadataTooLarge");
  }
  if (input.contains("Tagging")) {
    GANTRY_ASSIGN_OR_RETURN(a.tags, ParseTaggingHeader(Member(input, "Tagging")));
    GANTRY_RETURN_IF_ERROR(ValidateTags(a.tags, 10));
  }
  return a;
}

Document TagSetDocument(const TagSet& tags) {
  Document out = Document::array();
  for (const auto& [k, v] : tags) out.push_back({{"Key", k}, {"Value", v}});
  return out;
}

StatusOr<TagSet> TagSetFromInput(const Document& tagging, size_t max_tags) {
  TagSet tags;
  if (auto it = tagging.find("TagSet"); it != tagging.end() && it->is_array()) {
    for (const Document& tag : *it) tags.emplace_back(Member(tag, "Key"), Member(tag, "Value"));
  }
  GANTRY_RETURN_IF_ERROR(ValidateTags(tags, max_tags));
  return tags;
}

Status CheckCannedAcl(const Document& input) {
  std::string acl = Member(input, "ACL");
  if (acl.empty() || acl == "private" || acl == "bucket-owner-full-control") return Status::Ok();
  return Status::InvalidArgument("The bucket does not allow ACLs", "AccessControlListNotSupported");
}

StatusOr<std::string> RequestChecksumAlgorithm(const Document& input) {
  for (const char* member : kUnsupportedChecksums) {
    if (input.contains(member)) {
      return InvalidRequest(std::string("Gantry does not compute the ") + (member + 8) +
                            " checksum; use CRC32, CRC32C, CRC64NVME, SHA1 or SHA256.");
    }
  }
  std::string found;
  for (std::string_view algorithm : kChecksumAlgorithms) {
    std::string member = ChecksumMember(algorithm);
    if (!input.contains(member)) continue;
    if (!found.empty()) {
      return InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
    }
    found = std::string(algorithm);
    if (!IsWellFormedChecksum(found, Member(input, member.c_str()))) {
      return InvalidRequest("Value for " + ChecksumHeader(found) + " header is invalid.");
    }
  }
  std::string sdk = Member(input, "ChecksumAlgorithm");
  if (!sdk.empty() && found.empty()) {
    return InvalidRequest("x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
                          "x-amz-trailer headers were found.");
  }
  if (!sdk.empty() && sdk != found) {
    return InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.");
  }
  return found;
}

Status CheckContentMd5Format(const Document& input) {
  if (!input.contains("ContentMD5")) return Status::Ok();
  auto raw = Base64Decode(Trim(Member(input, "ContentMD5")));
  if (!raw || raw->size() != 16) {
    return Status::InvalidArgument("The Content-MD5 you specified was invalid.", "InvalidDigest");
  }
  return Status::Ok();
}

Status CheckBodyDigests(const Document& input, const std::string& checksum_algorithm, const BodyDigests& digests) {
  if (input.contains("ContentMD5")) {
    auto raw = Base64Decode(Trim(Member(input, "ContentMD5")));
    if (!raw || *raw != digests.md5) {
      return Status::InvalidArgument("The Content-MD5 you specified did not match what we received.", "BadDigest");
    }
  }
  if (!checksum_algorithm.empty()) {
    auto it = digests.checksums.find(checksum_algorithm);
    if (it == digests.checksums.end() || it->second != Member(input, ChecksumMember(checksum_algorithm).c_str())) {
      return Status::InvalidArgument("The " + checksum_algorithm + " you specified did not match the calculated checksum.",
                                     "BadDigest");
    }
  }
  return Status::Ok();
}

Status CheckRequestBody(const RequestContext& ctx, const Document& input) {
  if (ctx.http == nullptr) return Status::Ok();
  GANTRY_RETURN_IF_ERROR(CheckContentMd5Format(input));
  // These operations' shapes name only the algorithm; the checksum itself is a plain header.
  Document sent = Document::object();
  if (input.contains("ChecksumAlgorithm")) sent["ChecksumAlgorithm"] = input["ChecksumAlgorithm"];
  if (input.contains("ContentMD5")) sent["ContentMD5"] = input["ContentMD5"];
  for (std::string_view candidate : kChecksumAlgorithms) {
    std::string header = ChecksumHeader(candidate);
    if (ctx.http->headers.Has(header)) sent[ChecksumMember(candidate)] = std::string(Trim(ctx.http->headers.Get(header)));
  }
  GANTRY_ASSIGN_OR_RETURN(std::string algorithm, RequestChecksumAlgorithm(sent));
  if (algorithm.empty() && !sent.contains("ContentMD5")) return Status::Ok();
  BodyDigester digester({algorithm});
  if (!ctx.http->body_file.empty() && ctx.http->body.empty()) {
    std::ifstream in(ctx.http->body_file, std::ios::binary);
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      digester.Update(std::string_view(buffer, static_cast<size_t>(in.gcount())));
    }
  } else {
    digester.Update(ctx.http->body);
  }
  return CheckBodyDigests(sent, algorithm, digester.Finish());
}

BodySource RequestBody(const RequestContext& ctx, const Document& input) {
  BodySource source;
  if (ctx.http != nullptr) {
    if (!ctx.http->body_file.empty() && ctx.http->body.empty()) {
      source.file = ctx.http->body_file;
    } else {
      source.data = ctx.http->body;
    }
    return source;
  }
  if (auto it = input.find("Body"); it != input.end()) {
    if (it->is_binary()) {
      const auto& bytes = it->get_binary();
      source.data = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    } else if (it->is_string()) {
      source.data = it->get_ref<const std::string&>();
    }
  }
  return source;
}

void PutChecksum(Document& out, const ObjectChecksum& checksum, bool with_type) {
  if (checksum.algorithm.empty()) return;
  out[ChecksumMember(checksum.algorithm)] = checksum.value;
  if (with_type) out["ChecksumType"] = checksum.type;
}

}  // namespace gantry::services::s3
