// Bucket operations and object listings.
#include <algorithm>

#include "core/common/strings.h"
#include "services/s3/handlers.h"
#include "services/s3/names.h"

namespace gantry::services::s3 {

namespace {

constexpr char kUsEast1[] = "us-east-1";

int MaxKeysOf(const Document& input, const char* member) {
  auto it = input.find(member);
  if (it == input.end() || !it->is_number_integer()) return 1000;
  return it->get<int>();
}

Status CheckMaxKeys(int max_keys) {
  if (max_keys < 0) {
    return Status::InvalidArgument("Provided max-keys not an integer or within integer range", "InvalidArgument");
  }
  return Status::Ok();
}

std::string StorageClassOf(const ObjectVersion& v) {
  return v.attributes.storage_class.empty() ? "STANDARD" : v.attributes.storage_class;
}

// One <Contents> entry of ListObjects/ListObjectsV2.
Document ListedObject(const std::string& key, const ObjectVersion& v, bool with_owner) {
  Document entry = {{"Key", key},
                    {"LastModified", Seconds(v.last_modified_ms)},
                    {"ETag", Quoted(v.etag)},
                    {"Size", v.size},
                    {"StorageClass", StorageClassOf(v)}};
  if (!v.checksum.algorithm.empty()) {
    entry["ChecksumAlgorithm"] = Document::array({v.checksum.algorithm});
    entry["ChecksumType"] = v.checksum.type;
  }
  if (with_owner) entry["Owner"] = OwnerOf(v.owner);
  return entry;
}

struct Encoder {
  bool url = false;
  std::string operator()(const std::string& s) const { return url ? UrlEncodeKey(s) : s; }
};

Document CommonPrefixList(const std::vector<std::string>& prefixes, const Encoder& encode) {
  Document out = Document::array();
  for (const std::string& p : prefixes) out.push_back({{"Prefix", encode(p)}});
  return out;
}

}  // namespace

StatusOr<Document> CreateBucket(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  std::string name = Member(input, "Bucket");
  GANTRY_RETURN_IF_ERROR(ValidateBucketName(name));
  GANTRY_RETURN_IF_ERROR(CheckCannedAcl(input));
  std::string constraint;
  if (auto it = input.find("CreateBucketConfiguration"); it != input.end() && it->is_object()) {
    constraint = Member(*it, "LocationConstraint");
  }
  if (constraint == "EU") constraint = "eu-west-1";
  std::string region;
  if (constraint.empty()) {
    if (ctx.region != kUsEast1) {
      return Status::InvalidArgument("The unspecified location constraint is incompatible for the region specific "
                                     "endpoint this request was sent to.",
                                     "IllegalLocationConstraintException");
    }
    region = kUsEast1;
  } else {
    if (constraint == kUsEast1) {
      return Status::InvalidArgument("The specified location-constraint is not valid", "InvalidLocationConstraint");
    }
    if (ctx.region != kUsEast1 && constraint != ctx.region) {
      return Status::InvalidArgument("The " + constraint + " location constraint is incompatible for the region "
                                     "specific endpoint this request was sent to.",
                                     "IllegalLocationConstraintException");
    }
    region = constraint;
  }
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, objects.CreateBucket(name, ctx.account_id, region));
  return Document{{"Location", "/" + bucket.name}};
}

StatusOr<Document> HeadBucket(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  return Document{{"BucketRegion", bucket.region}};
}

StatusOr<Document> DeleteBucket(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(LoadBucket(objects, ctx, input).status());
  GANTRY_RETURN_IF_ERROR(objects.DeleteBucket(Member(input, "Bucket"), ctx.account_id));
  return Document::object();
}

StatusOr<Document> ListBuckets(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<Bucket> buckets, objects.ListBuckets(ctx.account_id));
  std::string prefix = Member(input, "Prefix");
  std::string region = Member(input, "BucketRegion");
  std::string after;
  if (std::string token = Member(input, "ContinuationToken"); !token.empty()) {
    auto decoded = Base64Decode(token);
    if (!decoded) return Status::InvalidArgument("The continuation token provided is incorrect", "InvalidArgument");
    after = *decoded;
  }
  int max = input.contains("MaxBuckets") && input["MaxBuckets"].is_number_integer() ? input["MaxBuckets"].get<int>()
                                                                                     : 10000;
  Document list = Document::array();
  std::string last;
  bool truncated = false;
  for (const Bucket& b : buckets) {
    if (b.name <= after || b.name.compare(0, prefix.size(), prefix) != 0) continue;
    if (!region.empty() && b.region != region) continue;
    if (static_cast<int>(list.size()) == max) {
      truncated = true;
      break;
    }
    list.push_back({{"Name", b.name}, {"CreationDate", Seconds(b.created_ms)}, {"BucketRegion", b.region}});
    last = b.name;
  }
  Document out = {{"Buckets", std::move(list)}, {"Owner", OwnerOf(ctx.account_id)}};
  if (!prefix.empty()) out["Prefix"] = prefix;
  if (truncated) out["ContinuationToken"] = Base64Encode(last);
  return out;
}

StatusOr<Document> GetBucketLocation(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  if (bucket.region == kUsEast1) return Document::object();  // S3 answers null for us-east-1
  return Document{{"LocationConstraint", bucket.region}};
}

StatusOr<Document> PutBucketVersioning(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(LoadBucket(objects, ctx, input).status());
  GANTRY_RETURN_IF_ERROR(CheckRequestBody(ctx, input));
  std::string status;
  if (auto it = input.find("VersioningConfiguration"); it != input.end() && it->is_object()) {
    status = Member(*it, "Status");
  }
  if (status != "Enabled" && status != "Suspended") {
    return Status::InvalidArgument("The XML you provided was not well-formed or did not validate against our "
                                   "published schema",
                                   "MalformedXML");
  }
  GANTRY_RETURN_IF_ERROR(objects
                             .UpdateBucket(Member(input, "Bucket"), ctx.account_id,
                                           [&](Bucket& b) {
                                             b.versioning = status;
                                             return Status::Ok();
                                           })
                             .status());
  return Document::object();
}

StatusOr<Document> GetBucketVersioning(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  Document out = Document::object();
  if (!bucket.versioning.empty()) out["Status"] = bucket.versioning;
  return out;
}

StatusOr<Document> PutBucketTagging(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(LoadBucket(objects, ctx, input).status());
  GANTRY_RETURN_IF_ERROR(CheckRequestBody(ctx, input));
  GANTRY_ASSIGN_OR_RETURN(TagSet tags, TagSetFromInput(input.value("Tagging", Document::object()), 50));
  GANTRY_RETURN_IF_ERROR(objects
                             .UpdateBucket(Member(input, "Bucket"), ctx.account_id,
                                           [&](Bucket& b) {
                                             b.has_tags = true;
                                             b.tags = tags;
                                             return Status::Ok();
                                           })
                             .status());
  return Document::object();
}

StatusOr<Document> GetBucketTagging(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  if (!bucket.has_tags) {
    return Status::NotFound("The TagSet does not exist", "NoSuchTagSet").WithHttpStatus(404);
  }
  return Document{{"TagSet", TagSetDocument(bucket.tags)}};
}

StatusOr<Document> DeleteBucketTagging(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(LoadBucket(objects, ctx, input).status());
  GANTRY_RETURN_IF_ERROR(objects
                             .UpdateBucket(Member(input, "Bucket"), ctx.account_id,
                                           [](Bucket& b) {
                                             b.has_tags = false;
                                             b.tags.clear();
                                             return Status::Ok();
                                           })
                             .status());
  return Document::object();
}

StatusOr<Document> PutBucketPolicy(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(LoadBucket(objects, ctx, input).status());
  GANTRY_RETURN_IF_ERROR(CheckRequestBody(ctx, input));
  std::string policy = Member(input, "Policy");
  Document parsed = Document::parse(policy, nullptr, /*allow_exceptions=*/false);
  if (Trim(policy).empty() || Trim(policy).front() != '{' || parsed.is_discarded() || !parsed.is_object()) {
    return Status::InvalidArgument("Policies must be valid JSON and the first byte must be '{'", "MalformedPolicy");
  }
  if (!parsed.contains("Statement")) {
    return Status::InvalidArgument("Missing required field Statement", "MalformedPolicy");
  }
  GANTRY_RETURN_IF_ERROR(objects
                             .UpdateBucket(Member(input, "Bucket"), ctx.account_id,
                                           [&](Bucket& b) {
                                             b.has_policy = true;
                                             b.policy = policy;
                                             return Status::Ok();
                                           })
                             .status());
  return Document::object();
}

StatusOr<Document> GetBucketPolicy(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  if (!bucket.has_policy) {
    return Status::NotFound("The bucket policy does not exist", "NoSuchBucketPolicy").WithHttpStatus(404);
  }
  return Document{{"Policy", bucket.policy}};
}

StatusOr<Document> DeleteBucketPolicy(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(LoadBucket(objects, ctx, input).status());
  GANTRY_RETURN_IF_ERROR(objects
                             .UpdateBucket(Member(input, "Bucket"), ctx.account_id,
                                           [](Bucket& b) {
                                             b.has_policy = false;
                                             b.policy.clear();
                                             return Status::Ok();
                                           })
                             .status());
  return Document::object();
}

StatusOr<Document> GetBucketAcl(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  Document grantee = {{"ID", CanonicalUserId(bucket.owner)}, {"Type", "CanonicalUser"}};
  return Document{{"Owner", OwnerOf(bucket.owner)},
                  {"Grants", Document::array({{{"Grantee", grantee}, {"Permission", "FULL_CONTROL"}}})}};
}

StatusOr<Document> ListObjectsV2(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  int max_keys = MaxKeysOf(input, "MaxKeys");
  GANTRY_RETURN_IF_ERROR(CheckMaxKeys(max_keys));
  ListQuery query;
  query.prefix = Member(input, "Prefix");
  query.delimiter = Member(input, "Delimiter");
  query.max_keys = std::min(max_keys, 1000);
  std::string token = Member(input, "ContinuationToken");
  std::string start_after = Member(input, "StartAfter");
  if (!token.empty()) {
    auto decoded = Base64Decode(token);
    if (!decoded || decoded->empty()) {
      return Status::InvalidArgument("The continuation token provided is incorrect", "InvalidArgument");
    }
    query.start_after = *decoded;
  } else {
    query.start_after = start_after;
  }
  GANTRY_ASSIGN_OR_RETURN(ListPage page, objects.ListObjects(bucket, query));
  Encoder encode{Member(input, "EncodingType") == "url"};
  bool with_owner = input.value("FetchOwner", false);
  Document out = {{"Name", bucket.name},
                  {"Prefix", encode(query.prefix)},
                  {"MaxKeys", max_keys},
                  {"KeyCount", page.objects.size() + page.common_prefixes.size()},
                  {"IsTruncated", page.truncated}};
  if (!query.delimiter.empty()) out["Delimiter"] = encode(query.delimiter);
  if (!page.objects.empty()) {
    Document contents = Document::array();
    for (const auto& [key, version] : page.objects) contents.push_back(ListedObject(encode(key), version, with_owner));
    out["Contents"] = std::move(contents);
  }
  if (!page.common_prefixes.empty()) out["CommonPrefixes"] = CommonPrefixList(page.common_prefixes, encode);
  if (!token.empty()) out["ContinuationToken"] = token;
  if (page.truncated) out["NextContinuationToken"] = Base64Encode(page.next_start_after);
  if (!start_after.empty()) out["StartAfter"] = encode(start_after);
  if (encode.url) out["EncodingType"] = "url";
  return out;
}

StatusOr<Document> ListObjects(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  int max_keys = MaxKeysOf(input, "MaxKeys");
  GANTRY_RETURN_IF_ERROR(CheckMaxKeys(max_keys));
  ListQuery query;
  query.prefix = Member(input, "Prefix");
  query.delimiter = Member(input, "Delimiter");
  query.max_keys = std::min(max_keys, 1000);
  query.start_after = Member(input, "Marker");
  GANTRY_ASSIGN_OR_RETURN(ListPage page, objects.ListObjects(bucket, query));
  Encoder encode{Member(input, "EncodingType") == "url"};
  Document out = {{"Name", bucket.name},
                  {"Prefix", encode(query.prefix)},
                  {"Marker", encode(query.start_after)},
                  {"MaxKeys", max_keys},
                  {"IsTruncated", page.truncated}};
  if (!query.delimiter.empty()) out["Delimiter"] = encode(query.delimiter);
  if (!page.objects.empty()) {
    Document contents = Document::array();
    for (const auto& [key, version] : page.objects) contents.push_back(ListedObject(encode(key), version, true));
    out["Contents"] = std::move(contents);
  }
  if (!page.common_prefixes.empty()) out["CommonPrefixes"] = CommonPrefixList(page.common_prefixes, encode);
  if (page.truncated && !query.delimiter.empty()) out["NextMarker"] = encode(page.last_listed);
  if (encode.url) out["EncodingType"] = "url";
  return out;
}

StatusOr<Document> ListObjectVersions(ObjectStore& objects, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Bucket bucket, LoadBucket(objects, ctx, input));
  int max_keys = MaxKeysOf(input, "MaxKeys");
  GANTRY_RETURN_IF_ERROR(CheckMaxKeys(max_keys));
  VersionQuery query;
  query.prefix = Member(input, "Prefix");
  query.delimiter = Member(input, "Delimiter");
  query.key_marker = Member(input, "KeyMarker");
  query.version_id_marker = Member(input, "VersionIdMarker");
  query.max_keys = std::min(max_keys, 1000);
  if (!query.version_id_marker.empty() && query.key_marker.empty()) {
    return Status::InvalidArgument("A version-id marker cannot be specified without a key marker.",
                                   "InvalidArgument");
  }
  GANTRY_ASSIGN_OR_RETURN(VersionPage page, objects.ListVersions(bucket, query));
  Encoder encode{Member(input, "EncodingType") == "url"};
  Document out = {{"Name", bucket.name},
                  {"Prefix", encode(query.prefix)},
                  {"KeyMarker", encode(query.key_marker)},
                  {"VersionIdMarker", query.version_id_marker},
                  {"MaxKeys", max_keys},
                  {"IsTruncated", page.truncated}};
  if (!query.delimiter.empty()) out["Delimiter"] = encode(query.delimiter);
  Document versions = Document::array();
  Document markers = Document::array();
  for (const VersionEntry& e : page.entries) {
    const ObjectVersion& v = e.version;
    Document entry = {{"Key", encode(e.key)},
                      {"VersionId", v.version_id},
                      {"IsLatest", e.is_latest},
                      {"LastModified", Seconds(v.last_modified_ms)},
                      {"Owner", OwnerOf(v.owner.empty() ? bucket.owner : v.owner)}};
    if (v.delete_marker) {
      markers.push_back(std::move(entry));
      continue;
    }
    entry["ETag"] = Quoted(v.etag);
    entry["Size"] = v.size;
    entry["StorageClass"] = StorageClassOf(v);
    if (!v.checksum.algorithm.empty()) {
      entry["ChecksumAlgorithm"] = Document::array({v.checksum.algorithm});
      entry["ChecksumType"] = v.checksum.type;
    }
    versions.push_back(std::move(entry));
  }
  if (!versions.empty()) out["Versions"] = std::move(versions);
  if (!markers.empty()) out["DeleteMarkers"] = std::move(markers);
  if (!page.common_prefixes.empty()) out["CommonPrefixes"] = CommonPrefixList(page.common_prefixes, encode);
  if (page.truncated) {
    out["NextKeyMarker"] = encode(page.next_key_marker);
    if (!page.next_version_id_marker.empty()) out["NextVersionIdMarker"] = page.next_version_id_marker;
  }
  if (encode.url) out["EncodingType"] = "url";
  return out;
}

}  // namespace gantry::services::s3
