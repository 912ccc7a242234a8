// The S3 engine: buckets, object versions, listings and multipart uploads over core/store records
// (records.h) and files under <state>/s3/<bucket id>/ (never named by key). No HTTP and no wire
// shapes: handlers translate.
//
// Durability and visibility: bytes are staged into a file, made durable (fsync + rename), and only
// then does one store transaction make them the key's version; a crash before that commit leaves an
// unreferenced file that Recover() removes, never a half-visible object. Concurrent writers of one
// key each write their own file and the last commit wins, atomically. Files of replaced or deleted
// versions are retired: deleted after a grace period, so that a GetObject answered with a file
// just before can still open it.
//
// Thread-safety: thread-safe; handlers call one ObjectStore from many server threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/store/blob_store.h"
#include "core/store/store.h"
#include "services/s3/digests.h"
#include "services/s3/records.h"

namespace gantry::services::s3 {

struct ObjectStoreOptions {
  // How long files of replaced or deleted versions stay on disk.
  std::chrono::milliseconds retire_grace{std::chrono::seconds(60)};
};

// An upload's bytes as they arrived: a file the HTTP server spooled (moved, not copied, into the
// bucket's directory on success), or memory.
struct BodySource {
  std::string file;
  std::string_view data;
};

// Bytes staged for an object or a part: complete and digested, not yet visible.
struct StagedBody {
  std::string path;    // absolute
  bool owned = false;  // a file the store created (else the caller's spool file)
  BodyDigests digests;
};

struct WriteConditions {
  std::optional<std::string> if_match{};       // the current version's ETag must match
  std::optional<std::string> if_none_match{};  // "*": the key must not exist
};

struct ListQuery {
  std::string prefix;
  std::string delimiter;
  std::string start_after;  // exclusive: keys (and common prefixes) after this
  int max_keys = 1000;
};

struct ListPage {
  std::vector<std::pair<std::string, ObjectVersion>> objects;  // key and its current version
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_start_after;  // where the next page starts (continuation tokens carry it)
  std::string last_listed;       // the last key or common prefix of the page (ListObjects NextMarker)
};

struct VersionQuery {
  std::string prefix;
  std::string delimiter;
  std::string key_marker;
  std::string version_id_marker;
  int max_keys = 1000;
};

struct VersionEntry {
  std::string key;
  ObjectVersion version;
  bool is_latest = false;
};

struct VersionPage {
  std::vector<VersionEntry> entries;  // versions and delete markers, by key then newest first
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_version_id_marker;
};

struct DeleteResult {
  bool delete_marker = false;  // a delete marker was created or removed
  std::string version_id;      // of the created marker or the removed version; empty when unversioned
};

struct CompletedPart {
  int number = 0;
  std::string etag;                              // as listed by the client (quotes allowed)
  std::map<std::string, std::string> checksums;  // algorithm → base64, as listed by the client
};

struct UploadQuery {
  std::string prefix;
  std::string delimiter;
  std::string key_marker;
  std::string upload_id_marker;
  int max_uploads = 1000;
};

struct UploadPage {
  std::vector<Upload> uploads;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

struct PartPage {
  std::vector<Part> parts;
  bool truncated = false;
  int next_part_number_marker = 0;
};

class ObjectStore {
 public:
  // store and blobs (rooted at <state>/s3), clock and ids must outlive the ObjectStore.
  ObjectStore(store::Store* store, store::BlobStore blobs, Clock* clock, IdSource* ids,
              ObjectStoreOptions options = {});
  // Deletes every retired file (no request can still be about to open one).
  ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // Removes what a crash left: temporary files, files no record names, directories of deleted
  // buckets. Call before requests are served.
  Status Recover();
  // Deletes retired files whose grace period has passed (all of them with `everything`).
  void ReapRetired(bool everything = false);

  // Buckets. CreateBucket: InvalidBucketName, BucketAlreadyExists (another account's),
  // BucketAlreadyOwnedByYou (yours; in us-east-1 the existing bucket is returned instead).
  StatusOr<Bucket> CreateBucket(const std::string& name, const std::string& owner, const std::string& region);
  // NoSuchBucket, or AccessDenied for another account's bucket.
  StatusOr<Bucket> GetBucket(const std::string& name, const std::string& account);
  StatusOr<std::vector<Bucket>> ListBuckets(const std::string& account);
  // BucketNotEmpty while any version or delete marker exists; aborts uploads in progress.
  Status DeleteBucket(const std::string& name, const std::string& account);
  StatusOr<Bucket> UpdateBucket(const std::string& name, const std::string& account,
                                const std::function<Status(Bucket&)>& change);

  // Bytes. Stage digests a body (MD5 plus `algorithms`) into a file that is not yet visible;
  // StageRange copies a range of an object version. Discard drops a staged body not committed.
  StatusOr<StagedBody> Stage(const Bucket& bucket, const BodySource& source, const std::vector<std::string>& algorithms);
  StatusOr<StagedBody> StageRange(const Bucket& bucket, const Bucket& source_bucket, const ObjectVersion& source,
                                  uint64_t first, uint64_t length, const std::vector<std::string>& algorithms);
  void Discard(const StagedBody& body);
  // The absolute path of a version's file.
  std::string FilePath(const Bucket& bucket, const ObjectVersion& version) const;

  // Objects. PutObject makes `version` (attributes, checksum, owner; size and ETag come from the body)
  // the key's current version: a new version id when versioning is enabled, else "null" replacing
  // the previous null version. Fails with PreconditionFailed (or NoSuchKey for If-Match on a missing
  // key) when `conditions` do not hold.
  StatusOr<ObjectVersion> PutObject(const Bucket& bucket, const std::string& key, const StagedBody& body,
                                    ObjectVersion version, const WriteConditions& conditions = {});
  // Makes `version` (attributes and checksum chosen by the caller; size and ETag are the source's) a
  // new version of `key` sharing the source's bytes.
  StatusOr<ObjectVersion> CopyObject(const Bucket& source_bucket, const ObjectVersion& source, const Bucket& bucket,
                                     const std::string& key, ObjectVersion version);
  // The current version (version_id empty) or the named one, delete markers included. NoSuchKey,
  // NoSuchVersion.
  StatusOr<VersionEntry> GetVersion(const Bucket& bucket, const std::string& key, const std::string& version_id);
  StatusOr<DeleteResult> DeleteObject(const Bucket& bucket, const std::string& key, const std::string& version_id);
  // Changes one version in place (tags); NoSuchKey, NoSuchVersion, MethodNotAllowed for a marker.
  StatusOr<ObjectVersion> UpdateVersion(const Bucket& bucket, const std::string& key, const std::string& version_id,
                                        const std::function<Status(ObjectVersion&)>& change);
  StatusOr<ListPage> ListObjects(const Bucket& bucket, const ListQuery& query);
  StatusOr<VersionPage> ListVersions(const Bucket& bucket, const VersionQuery& query);

  // Multipart uploads.
  StatusOr<Upload> CreateUpload(const Bucket& bucket, Upload upload);
  // NoSuchUpload unless the upload exists for `key`.
  StatusOr<Upload> GetUpload(const Bucket& bucket, const std::string& upload_id, const std::string& key);
  StatusOr<Part> PutPart(const Bucket& bucket, const Upload& upload, int part_number, const StagedBody& body);
  // Concatenates the listed parts into the key's new version. InvalidPartOrder, InvalidPart,
  // EntityTooSmall, NoSuchUpload, InvalidRequest (a part lacks the upload's checksum), BadDigest
  // (the object's checksum is not the expected one, algorithm → base64).
  StatusOr<ObjectVersion> CompleteUpload(const Bucket& bucket, const std::string& key, const std::string& upload_id,
                                         const std::vector<CompletedPart>& parts,
                                         const WriteConditions& conditions = {},
                                         const std::map<std::string, std::string>& expected_checksums = {});
  Status AbortUpload(const Bucket& bucket, const std::string& key, const std::string& upload_id);
  StatusOr<PartPage> ListParts(const Bucket& bucket, const std::string& upload_id, int part_number_marker,
                               int max_parts);
  StatusOr<UploadPage> ListUploads(const Bucket& bucket, const UploadQuery& query);

 private:
  struct Retired {
    TimePoint due;
    std::string path;
  };

  std::string NewVersionId();
  // Moves a staged body to a new file in the bucket directory; returns the file name.
  StatusOr<std::string> Place(const Bucket& bucket, const StagedBody& body);
  // Commits `version` (with its file placed) as the key's newest version, checking the bucket still
  // exists and `conditions`; retires what it replaces.
  StatusOr<ObjectVersion> CommitVersion(const Bucket& bucket, const std::string& key, ObjectVersion version,
                                        const WriteConditions& conditions,
                                        const std::function<Status(store::Transaction&)>& also = nullptr);
  void Retire(const std::string& bucket_id, const std::string& file);
  void RemoveNow(const std::string& bucket_id, const std::string& file);

  store::Store* store_;
  store::BlobStore blobs_;
  Clock* clock_;
  IdSource* ids_;
  ObjectStoreOptions options_;
  std::mutex retired_mu_;
  std::deque<Retired> retired_;
};

}  // namespace gantry::services::s3
