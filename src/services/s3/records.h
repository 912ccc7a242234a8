// S3's durable records and how they are stored (core/store tables, one JSON document each):
//
//   s3.bucket  scope "global"             key bucket name   Bucket (names are unique per server)
//   s3.object  scope <bucket id>          key object key    ObjectRecord: every version of the key
//   s3.upload  scope <bucket id>          key upload id     Upload (a multipart upload in progress)
//   s3.part    scope <bucket id>/<upload> key 00001..10000  Part
//
// Object and part bytes are files named by random ids in <state>/s3/<bucket id>/, never by key, so
// any key S3 allows is safe by construction. A record names its file; a file no record names is
// garbage (a crash between writing the file and committing the record) and is removed at start.
//
// All versions of a key live in its one record, so a write is one atomic record update; the cost is
// that writing a key with very many versions rewrites them all (fine for artifacts and configs, the
// workloads here; a key with tens of thousands of versions would want a table of its own).
// Plain value types; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace gantry::services::s3 {

inline constexpr char kBucketTable[] = "s3.bucket";
inline constexpr char kObjectTable[] = "s3.object";
inline constexpr char kUploadTable[] = "s3.upload";
inline constexpr char kPartTable[] = "s3.part";
inline constexpr char kGlobalScope[] = "global";
// The version id of objects written while versioning was never enabled or is suspended.
inline constexpr char kNullVersion[] = "null";

using TagSet = std::vector<std::pair<std::string, std::string>>;

struct Bucket {
  std::string name;
  std::string id;      // directory and record scope; new for every bucket created under a name
  std::string owner;   // account id
  std::string region;
  int64_t created_ms = 0;
  std::string versioning;  // "" (never enabled), "Enabled", "Suspended"
  bool has_tags = false;
  TagSet tags;
  bool has_policy = false;
  std::string policy;
};

// A whole-object checksum as S3 stores and returns it.
struct ObjectChecksum {
  std::string algorithm;  // "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"; empty: none
  std::string value;      // base64; a composite multipart value ends in "-<parts>"
  std::string type;       // "FULL_OBJECT" or "COMPOSITE"
};

// What a writer chooses about an object besides its bytes.
struct ObjectAttributes {
  std::string content_type;
  std::string content_encoding;
  std::string content_disposition;
  std::string content_language;
  std::string cache_control;
  std::string expires;  // the Expires header as sent
  std::string website_redirect_location;
  std::string storage_class;  // empty: STANDARD
  std::map<std::string, std::string> metadata;  // x-amz-meta-*, names lower case
  TagSet tags;
};

struct ObjectVersion {
  std::string version_id;  // kNullVersion unless versioning was enabled when written
  bool delete_marker = false;
  std::string file;        // blob name inside the bucket directory; empty for delete markers
  uint64_t size = 0;
  std::string etag;        // without quotes: md5 hex, or md5-of-md5s hex + "-<parts>"
  int64_t last_modified_ms = 0;
  std::string owner;       // account id of the writer
  ObjectAttributes attributes;
  ObjectChecksum checksum;
  std::vector<uint64_t> part_sizes;  // objects completed from a multipart upload
};

// Every version of one key, newest first; versions[0] is the current one (possibly a delete marker).
struct ObjectRecord {
  std::vector<ObjectVersion> versions;
};

struct Upload {
  std::string id;
  std::string key;
  int64_t initiated_ms = 0;
  std::string owner;
  std::string checksum_algorithm;  // empty: none requested
  std::string checksum_type;       // "COMPOSITE" or "FULL_OBJECT" when an algorithm is set
  ObjectAttributes attributes;
};

struct Part {
  int number = 0;
  std::string file;
  uint64_t size = 0;
  std::string etag;  // md5 hex, without quotes
  int64_t last_modified_ms = 0;
  // Checksums computed over the part, algorithm → base64 (the upload's algorithm always among them).
  std::map<std::string, std::string> checksums;
};

nlohmann::json ToJson(const Bucket& b);
Bucket BucketFromJson(const std::string& name, const nlohmann::json& j);
nlohmann::json ToJson(const ObjectVersion& v);
ObjectVersion VersionFromJson(const nlohmann::json& j);
nlohmann::json ToJson(const ObjectRecord& r);
ObjectRecord ObjectRecordFromJson(const nlohmann::json& j);
nlohmann::json ToJson(const Upload& u);
Upload UploadFromJson(const std::string& id, const nlohmann::json& j);
nlohmann::json ToJson(const Part& p);
Part PartFromJson(const std::string& key, const nlohmann::json& j);

// "00042": part record keys sort numerically.
std::string PartKey(int part_number);
// The record scope of an upload's parts.
std::string PartScope(const std::string& bucket_id, const std::string& upload_id);

}  // namespace gantry::services::s3
