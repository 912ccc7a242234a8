#include "services/s3/records.h"

#include <cstdio>

namespace gantry::services::s3 {

namespace {

using nlohmann::json;

json TagsToJson(const TagSet& tags) {
  json out = json::array();
  for (const auto& [k, v] : tags) out.push_back(json::array({k, v}));
  return out;
}

TagSet TagsFromJson(const json& j) {
  TagSet tags;
  if (!j.is_array()) return tags;
  for (const json& t : j) {
    if (t.is_array() && t.size() == 2) tags.emplace_back(t[0].get<std::string>(), t[1].get<std::string>());
  }
  return tags;
}

std::string Str(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <typename T>
T Num(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_number() ? it->get<T>() : T{};
}

void PutIfSet(json& j, const char* name, const std::string& value) {
  if (!value.empty()) j[name] = value;
}

json ToJson(const ObjectAttributes& a) {
  json j = json::object();
  PutIfSet(j, "content_type", a.content_type);
  PutIfSet(j, "content_encoding", a.content_encoding);
  PutIfSet(j, "content_disposition", a.content_disposition);
  PutIfSet(j, "content_language", a.content_language);
  PutIfSet(j, "cache_control", a.cache_control);
  PutIfSet(j, "expires", a.expires);
  PutIfSet(j, "website_redirect_location", a.website_redirect_location);
  PutIfSet(j, "storage_class", a.storage_class);
  if (!a.metadata.empty()) j["metadata"] = a.metadata;
  if (!a.tags.empty()) j["tags"] = TagsToJson(a.tags);
  return j;
}

ObjectAttributes AttributesFromJson(const json& j) {
  ObjectAttributes a;
  if (!j.is_object()) return a;
  a.content_type = Str(j, "content_type");
  a.content_encoding = Str(j, "content_encoding");
  a.content_disposition = Str(j, "content_disposition");
  a.content_language = Str(j, "content_language");
  a.cache_control = Str(j, "cache_control");
  a.expires = Str(j, "expires");
  a.website_redirect_location = Str(j, "website_redirect_location");
  a.storage_class = Str(j, "storage_class");
  if (auto it = j.find("metadata"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) a.metadata[k] = v.get<std::string>();
    }
  }
  if (auto it = j.find("tags"); it != j.end()) a.tags = TagsFromJson(*it);
  return a;
}

}  // namespace

json ToJson(const Bucket& b) {
  json j = {{"id", b.id}, {"owner", b.owner}, {"region", b.region}, {"created_ms", b.created_ms}};
  PutIfSet(j, "versioning", b.versioning);
  if (b.has_tags) j["tags"] = TagsToJson(b.tags);
  if (b.has_policy) j["policy"] = b.policy;
  return j;
}

Bucket BucketFromJson(const std::string& name, const json& j) {
  Bucket b;
  b.name = name;
  b.id = Str(j, "id");
  b.owner = Str(j, "owner");
  b.region = Str(j, "region");
  b.created_ms = Num<int64_t>(j, "created_ms");
  b.versioning = Str(j, "versioning");
  if (auto it = j.find("tags"); it != j.end()) {
    b.has_tags = true;
    b.tags = TagsFromJson(*it);
  }
  if (auto it = j.find("policy"); it != j.end() && it->is_string()) {
    b.has_policy = true;
    b.policy = it->get<std::string>();
  }
  return b;
}

json ToJson(const ObjectVersion& v) {
  json j = {{"version_id", v.version_id}, {"last_modified_ms", v.last_modified_ms}};
  PutIfSet(j, "owner", v.owner);
  if (v.delete_marker) {
    j["delete_marker"] = true;
    return j;
  }
  j["file"] = v.file;
  j["size"] = v.size;
  j["etag"] = v.etag;
  json attributes = ToJson(v.attributes);
  if (!attributes.empty()) j["attributes"] = std::move(attributes);
  if (!v.checksum.algorithm.empty()) {
    j["checksum"] = {{"algorithm", v.checksum.algorithm}, {"value", v.checksum.value}, {"type", v.checksum.type}};
  }
  if (!v.part_sizes.empty()) j["part_sizes"] = v.part_sizes;
  return j;
}

ObjectVersion VersionFromJson(const json& j) {
  ObjectVersion v;
  v.version_id = Str(j, "version_id");
  v.last_modified_ms = Num<int64_t>(j, "last_modified_ms");
  v.owner = Str(j, "owner");
  v.delete_marker = j.value("delete_marker", false);
  if (v.delete_marker) return v;
  v.file = Str(j, "file");
  v.size = Num<uint64_t>(j, "size");
  v.etag = Str(j, "etag");
  if (auto it = j.find("attributes"); it != j.end()) v.attributes = AttributesFromJson(*it);
  if (auto it = j.find("checksum"); it != j.end() && it->is_object()) {
    v.checksum = {Str(*it, "algorithm"), Str(*it, "value"), Str(*it, "type")};
  }
  if (auto it = j.find("part_sizes"); it != j.end() && it->is_array()) {
    for (const json& s : *it) v.part_sizes.push_back(s.get<uint64_t>());
  }
  return v;
}

json ToJson(const ObjectRecord& r) {
  json versions = json::array();
  for (const ObjectVersion& v : r.versions) versions.push_back(ToJson(v));
  return {{"versions", std::move(versions)}};
}

ObjectRecord ObjectRecordFromJson(const json& j) {
  ObjectRecord r;
  if (auto it = j.find("versions"); it != j.end() && it->is_array()) {
    for (const json& v : *it) r.versions.push_back(VersionFromJson(v));
  }
  return r;
}

json ToJson(const Upload& u) {
  json j = {{"key", u.key}, {"initiated_ms", u.initiated_ms}, {"owner", u.owner}};
  PutIfSet(j, "checksum_algorithm", u.checksum_algorithm);
  PutIfSet(j, "checksum_type", u.checksum_type);
  json attributes = ToJson(u.attributes);
  if (!attributes.empty()) j["attributes"] = std::move(attributes);
  return j;
}

Upload UploadFromJson(const std::string& id, const json& j) {
  Upload u;
  u.id = id;
  u.key = Str(j, "key");
  u.initiated_ms = Num<int64_t>(j, "initiated_ms");
  u.owner = Str(j, "owner");
  u.checksum_algorithm = Str(j, "checksum_algorithm");
  u.checksum_type = Str(j, "checksum_type");
  if (auto it = j.find("attributes"); it != j.end()) u.attributes = AttributesFromJson(*it);
  return u;
}

json ToJson(const Part& p) {
  json j = {{"file", p.file}, {"size", p.size}, {"etag", p.etag}, {"last_modified_ms", p.last_modified_ms}};
  if (!p.checksums.empty()) j["checksums"] = p.checksums;
  return j;
}

Part PartFromJson(const std::string& key, const json& j) {
  Part p;
  p.number = std::atoi(key.c_str());
  p.file = Str(j, "file");
  p.size = Num<uint64_t>(j, "size");
  p.etag = Str(j, "etag");
  p.last_modified_ms = Num<int64_t>(j, "last_modified_ms");
  if (auto it = j.find("checksums"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) p.checksums[k] = v.get<std::string>();
    }
  }
  return p;
}

std::string PartKey(int part_number) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05d", part_number);
  return buf;
}

std::string PartScope(const std::string& bucket_id, const std::string& upload_id) {
  return bucket_id + "/" + upload_id;
}

}  // namespace gantry::services::s3
