#include "services/s3/object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>

#include "core/common/log.h"
#include "core/common/strings.h"
#include "services/s3/conditions.h"

namespace gantry::services::s3 {

namespace {

constexpr size_t kIoBlock = 1 << 20;
constexpr uint64_t kMinPartSize = 5ull << 20;
// Larger than any byte of UTF-8: "p\xff" sorts after every key that starts with "p".
constexpr char kAfterPrefix = '\xff';

Status NoSuchBucket() {
  return Status::NotFound("The specified bucket does not exist", "NoSuchBucket").WithHttpStatus(404);
}
Status NoSuchKey() { return Status::NotFound("The specified key does not exist.", "NoSuchKey").WithHttpStatus(404); }
Status NoSuchVersion() {
  return Status::NotFound("The specified version does not exist.", "NoSuchVersion").WithHttpStatus(404);
}
Status NoSuchUpload() {
  return Status::NotFound("The specified upload does not exist. The upload ID may be invalid, or the upload may have "
                          "been aborted or completed.",
                          "NoSuchUpload")
      .WithHttpStatus(404);
}
Status PreconditionFailed() {
  return Status::FailedPrecondition("At least one of the pre-conditions you specified did not hold",
                                    "PreconditionFailed")
      .WithHttpStatus(412);
}
Status InvalidPart() {
  return Status::InvalidArgument("One or more of the specified parts could not be found.  The part may not have been "
                                 "uploaded, or the specified entity tag may not match the part's entity tag.",
                                 "InvalidPart");
}

Status Errno(std::string_view what, const std::string& path) {
  return Status::Internal(std::string(what) + " " + path + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Reads [offset, offset+length) of in_fd into the digester and, when out_fd >= 0, to out_fd.
Status DigestRange(int in_fd, const std::string& in_path, uint64_t offset, uint64_t length, BodyDigester& digester,
                   int out_fd, const std::string& out_path) {
  std::string buffer(kIoBlock, '\0');
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, buffer.size()));
    ssize_t n = ::pread(in_fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot read", in_path);
    }
    if (n == 0) {
      if (length == std::numeric_limits<uint64_t>::max()) break;
      return Status::Internal("unexpected end of " + in_path);
    }
    std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    digester.Update(chunk);
    if (out_fd >= 0) GANTRY_RETURN_IF_ERROR(WriteAll(out_fd, chunk, out_path));
    offset += static_cast<uint64_t>(n);
    if (length != std::numeric_limits<uint64_t>::max()) length -= static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

// Appends [offset, offset+length) of in_fd to out_fd, in the kernel where it can.
Status CopyRange(int in_fd, const std::string& in_path, uint64_t offset, uint64_t length, int out_fd,
                 const std::string& out_path) {
  loff_t in_offset = static_cast<loff_t>(offset);
  while (length > 0) {
    ssize_t n = ::copy_file_range(in_fd, &in_offset, out_fd, nullptr,
                                  static_cast<size_t>(std::min<uint64_t>(length, 1ull << 30)), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) break;
      return Errno("cannot copy", in_path);
    }
    if (n == 0) return Status::Internal("unexpected end of " + in_path);
    length -= static_cast<uint64_t>(n);
  }
  if (length == 0) return Status::Ok();
  std::string buffer(kIoBlock, '\0');
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, buffer.size()));
    ssize_t n = ::pread(in_fd, buffer.data(), want, in_offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot read", in_path);
    }
    if (n == 0) return Status::Internal("unexpected end of " + in_path);
    GANTRY_RETURN_IF_ERROR(WriteAll(out_fd, std::string_view(buffer.data(), static_cast<size_t>(n)), out_path));
    in_offset += n;
    length -= static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status FsyncDirectory(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return Errno("cannot fsync", path);
  return Status::Ok();
}

// The common prefix `key` rolls up into (prefix + ... + delimiter), or "" when it rolls up into none.
std::string CommonPrefixOf(const std::string& key, const std::string& prefix, const std::string& delimiter) {
  if (delimiter.empty()) return {};
  size_t pos = key.find(delimiter, prefix.size());
  if (pos == std::string::npos) return {};
  return key.substr(0, pos + delimiter.size());
}

StatusOr<ObjectRecord> LoadObject(store::RecordOperations& ops, const std::string& bucket_id, const std::string& key,
                                  bool* found) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kObjectTable, bucket_id, key));
  *found = record.has_value();
  if (!record) return ObjectRecord{};
  return ObjectRecordFromJson(record->doc);
}

// The bucket as the transaction sees it; NoSuchBucket when it was deleted (or re-created) meanwhile.
StatusOr<Bucket> CheckBucket(store::RecordOperations& ops, const Bucket& bucket) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kBucketTable, kGlobalScope, bucket.name));
  if (!record) return NoSuchBucket();
  Bucket current = BucketFromJson(bucket.name, record->doc);
  if (current.id != bucket.id) return NoSuchBucket();
  return current;
}


// Walks a bucket's object records under `prefix`, strictly after `marker`, in key order, collapsing
// the keys that share a delimiter-terminated common prefix into one group (S3's CommonPrefixes);
// a group is visited only when it sorts after the marker. `limit` sizes each store page (the
// entries still wanted plus one). A visitor returns false to stop the walk.
Status WalkKeys(store::Store& store, const std::string& bucket_id, const std::string& prefix,
                const std::string& delimiter, const std::string& marker, const std::function<int()>& limit,
                const std::function<bool(const std::string& common)>& on_prefix,
                const std::function<bool(const store::Record& record)>& on_record) {
  std::string cursor = marker;
  for (;;) {
    store::ListOptions options;
    options.prefix = prefix;
    options.start_after = cursor;
    options.limit = std::clamp(limit(), 1, 1000);
    GANTRY_ASSIGN_OR_RETURN(store::ListPage listed, store.List(kObjectTable, bucket_id, options));
    bool jumped = false;
    for (const store::Record& r : listed.records) {
      std::string common = CommonPrefixOf(r.key, prefix, delimiter);
      if (!common.empty()) {
        cursor = common + kAfterPrefix;
        jumped = true;
        if (common > marker && !on_prefix(common)) return Status::Ok();
        break;  // list again from past the whole group
      }
      cursor = r.key;
      if (!on_record(r)) return Status::Ok();
    }
    if (!jumped && listed.next_token.empty()) return Status::Ok();
  }
}

}  // namespace

ObjectStore::ObjectStore(store::Store* store, store::BlobStore blobs, Clock* clock, IdSource* ids,
                         ObjectStoreOptions options)
    : store_(store), blobs_(std::move(blobs)), clock_(clock), ids_(ids), options_(options) {}

ObjectStore::~ObjectStore() { ReapRetired(/*everything=*/true); }

std::string ObjectStore::NewVersionId() { return ids_->Hex(32); }

std::string ObjectStore::FilePath(const Bucket& bucket, const ObjectVersion& version) const {
  return blobs_.root() + "/" + bucket.id + "/" + version.file;
}

// ---------------------------------------------------------------------------------------------
// Retiring files.

void ObjectStore::Retire(const std::string& bucket_id, const std::string& file) {
  if (file.empty()) return;
  {
    std::lock_guard lock(retired_mu_);
    retired_.push_back({clock_->Now() + options_.retire_grace, blobs_.root() + "/" + bucket_id + "/" + file});
  }
  ReapRetired();
}

void ObjectStore::RemoveNow(const std::string& bucket_id, const std::string& file) {
  std::string path = blobs_.root() + "/" + bucket_id + "/" + file;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    GANTRY_LOG(kWarn, "s3: cannot remove " << path << ": " << std::strerror(errno));
  }
}

void ObjectStore::ReapRetired(bool everything) {
  std::vector<std::string> due;
  {
    std::lock_guard lock(retired_mu_);
    TimePoint now = clock_->Now();
    while (!retired_.empty() && (everything || retired_.front().due <= now)) {
      due.push_back(std::move(retired_.front().path));
      retired_.pop_front();
    }
  }
  for (const std::string& path : due) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) GANTRY_LOG(kWarn, "s3: cannot remove " << path << ": " << ec.message());
  }
}

Status ObjectStore::Recover() {
  GANTRY_ASSIGN_OR_RETURN(int64_t stale, blobs_.RemoveStaleTempFiles());
  std::set<std::string> bucket_ids;
  std::set<std::string> referenced;  // "<bucket id>/<file>"
  store::ListOptions all;
  all.limit = 1000;
  for (std::string token;;) {
    all.start_after = token;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage buckets, store_->List(kBucketTable, kGlobalScope, all));
    for (const store::Record& r : buckets.records) {
      Bucket bucket = BucketFromJson(r.key, r.doc);
      bucket_ids.insert(bucket.id);
      store::ListOptions objects_options;
      objects_options.limit = 1000;
      for (std::string object_token;;) {
        objects_options.start_after = object_token;
        GANTRY_ASSIGN_OR_RETURN(store::ListPage objects, store_->List(kObjectTable, bucket.id, objects_options));
        for (const store::Record& o : objects.records) {
          for (const ObjectVersion& v : ObjectRecordFromJson(o.doc).versions) {
            if (!v.file.empty()) referenced.insert(bucket.id + "/" + v.file);
          }
        }
        if (objects.next_token.empty()) break;
        object_token = objects.next_token;
      }
      GANTRY_ASSIGN_OR_RETURN(store::ListPage uploads, store_->List(kUploadTable, bucket.id));
      for (const store::Record& u : uploads.records) {
        GANTRY_ASSIGN_OR_RETURN(store::ListPage parts, store_->List(kPartTable, PartScope(bucket.id, u.key)));
        for (const store::Record& p : parts.records) referenced.insert(bucket.id + "/" + PartFromJson(p.key, p.doc).file);
      }
    }
    if (buckets.next_token.empty()) break;
    token = buckets.next_token;
  }

  namespace fs = std::filesystem;
  std::error_code ec;
  int64_t removed = 0;
  for (const fs::directory_entry& dir : fs::directory_iterator(blobs_.root(), ec)) {
    std::string id = dir.path().filename().string();
    if (!bucket_ids.count(id)) {
      fs::remove_all(dir.path(), ec);
      ++removed;
      continue;
    }
    std::error_code inner;
    for (const fs::directory_entry& file : fs::directory_iterator(dir.path(), inner)) {
      if (!referenced.count(id + "/" + file.path().filename().string())) {
        fs::remove_all(file.path(), inner);
        ++removed;
      }
    }
  }
  if (stale + removed > 0) {
    GANTRY_LOG(kInfo, "s3: removed " << stale + removed << " files left by interrupted writes");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Buckets.

StatusOr<Bucket> ObjectStore::CreateBucket(const std::string& name, const std::string& owner,
                                           const std::string& region) {
  Bucket bucket;
  bucket.name = name;
  bucket.id = ids_->Hex(16);
  bucket.owner = owner;
  bucket.region = region;
  bucket.created_ms = ToEpochMillis(clock_->Now());
  Bucket result = bucket;
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, tx.Get(kBucketTable, kGlobalScope, name));
    if (existing) {
      Bucket current = BucketFromJson(name, existing->doc);
      if (current.owner != owner) {
        return Status::AlreadyExists("The requested bucket name is not available. The bucket namespace is shared by "
                                     "all users of the system. Please select a different name and try again.",
                                     "BucketAlreadyExists")
            .WithHttpStatus(409);
      }
      if (current.region == "us-east-1" && region == "us-east-1") {  // AWS's legacy behaviour
        result = current;
        return Status::Ok();
      }
      return Status::AlreadyExists("Your previous request to create the named bucket succeeded and you already own "
                                   "it.",
                                   "BucketAlreadyOwnedByYou")
          .WithHttpStatus(409);
    }
    return tx.Create(kBucketTable, kGlobalScope, name, ToJson(bucket)).status();
  });
  if (!status.ok()) return status;
  return result;
}

StatusOr<Bucket> ObjectStore::GetBucket(const std::string& name, const std::string& account) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, store_->Get(kBucketTable, kGlobalScope, name));
  if (!record) return NoSuchBucket();
  Bucket bucket = BucketFromJson(name, record->doc);
  if (bucket.owner != account) return Status::PermissionDenied("Access Denied", "AccessDenied").WithHttpStatus(403);
  return bucket;
}

StatusOr<std::vector<Bucket>> ObjectStore::ListBuckets(const std::string& account) {
  std::vector<Bucket> out;
  store::ListOptions options;
  options.limit = 1000;
  for (std::string token;;) {
    options.start_after = token;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, store_->List(kBucketTable, kGlobalScope, options));
    for (const store::Record& r : page.records) {
      Bucket b = BucketFromJson(r.key, r.doc);
      if (b.owner == account) out.push_back(std::move(b));
    }
    if (page.next_token.empty()) break;
    token = page.next_token;
  }
  return out;
}

Status ObjectStore::DeleteBucket(const std::string& name, const std::string& account) {
  std::string bucket_id;
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kBucketTable, kGlobalScope, name));
    if (!record) return NoSuchBucket();
    Bucket bucket = BucketFromJson(name, record->doc);
    if (bucket.owner != account) return Status::PermissionDenied("Access Denied", "AccessDenied").WithHttpStatus(403);
    GANTRY_ASSIGN_OR_RETURN(int64_t objects, tx.Count(kObjectTable, bucket.id));
    if (objects > 0) {
      return Status::FailedPrecondition("The bucket you tried to delete is not empty", "BucketNotEmpty")
          .WithHttpStatus(409);
    }
    GANTRY_ASSIGN_OR_RETURN(store::ListPage uploads, tx.List(kUploadTable, bucket.id));
    for (const store::Record& u : uploads.records) {
      std::string scope = PartScope(bucket.id, u.key);
      GANTRY_ASSIGN_OR_RETURN(store::ListPage parts, tx.List(kPartTable, scope));
      for (const store::Record& p : parts.records) GANTRY_RETURN_IF_ERROR(tx.Delete(kPartTable, scope, p.key).status());
      GANTRY_RETURN_IF_ERROR(tx.Delete(kUploadTable, bucket.id, u.key).status());
    }
    GANTRY_RETURN_IF_ERROR(tx.Delete(kBucketTable, kGlobalScope, name).status());
    bucket_id = bucket.id;
    return Status::Ok();
  });
  if (!status.ok()) return status;
  // The directory holds only garbage now (retired files, aborted parts); it goes after the grace.
  {
    std::lock_guard lock(retired_mu_);
    retired_.push_back({clock_->Now() + options_.retire_grace, blobs_.root() + "/" + bucket_id});
  }
  return Status::Ok();
}

StatusOr<Bucket> ObjectStore::UpdateBucket(const std::string& name, const std::string& account,
                                           const std::function<Status(Bucket&)>& change) {
  Bucket result;
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kBucketTable, kGlobalScope, name));
    if (!record) return NoSuchBucket();
    Bucket bucket = BucketFromJson(name, record->doc);
    if (bucket.owner != account) return Status::PermissionDenied("Access Denied", "AccessDenied").WithHttpStatus(403);
    GANTRY_RETURN_IF_ERROR(change(bucket));
    GANTRY_RETURN_IF_ERROR(tx.Put(kBucketTable, kGlobalScope, name, ToJson(bucket)).status());
    result = std::move(bucket);
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Bytes.

StatusOr<StagedBody> ObjectStore::Stage(const Bucket& bucket, const BodySource& source,
                                        const std::vector<std::string>& algorithms) {
  BodyDigester digester(algorithms);
  StagedBody staged;
  if (!source.file.empty()) {
    Fd fd(::open(source.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return Errno("cannot open", source.file);
    // The file is made durable before it is committed; start writing it back now, while it is hashed.
    ::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    GANTRY_RETURN_IF_ERROR(
        DigestRange(fd.get(), source.file, 0, std::numeric_limits<uint64_t>::max(), digester, -1, {}));
    staged.path = source.file;
    staged.owned = false;
  } else {
    GANTRY_ASSIGN_OR_RETURN(staged.path, blobs_.CreateTempFile(bucket.id + "/staged"));
    staged.owned = true;
    Fd fd(::open(staged.path.c_str(), O_WRONLY | O_CLOEXEC));
    Status written = fd.get() < 0 ? Errno("cannot open", staged.path) : WriteAll(fd.get(), source.data, staged.path);
    if (!written.ok()) {
      ::unlink(staged.path.c_str());
      return written;
    }
    digester.Update(source.data);
  }
  staged.digests = digester.Finish();
  return staged;
}

StatusOr<StagedBody> ObjectStore::StageRange(const Bucket& bucket, const Bucket& source_bucket,
                                             const ObjectVersion& source, uint64_t first, uint64_t length,
                                             const std::vector<std::string>& algorithms) {
  std::string source_path = FilePath(source_bucket, source);
  Fd in(::open(source_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return Errno("cannot open", source_path);
  StagedBody staged;
  GANTRY_ASSIGN_OR_RETURN(staged.path, blobs_.CreateTempFile(bucket.id + "/staged"));
  staged.owned = true;
  BodyDigester digester(algorithms);
  Status copied;
  {
    Fd out(::open(staged.path.c_str(), O_WRONLY | O_CLOEXEC));
    copied = out.get() < 0 ? Errno("cannot open", staged.path)
                           : DigestRange(in.get(), source_path, first, length, digester, out.get(), staged.path);
  }
  if (!copied.ok()) {
    ::unlink(staged.path.c_str());
    return copied;
  }
  staged.digests = digester.Finish();
  return staged;
}

void ObjectStore::Discard(const StagedBody& body) {
  if (body.owned && !body.path.empty()) ::unlink(body.path.c_str());
}

StatusOr<std::string> ObjectStore::Place(const Bucket& bucket, const StagedBody& body) {
  std::string file = ids_->Hex(32);
  std::string relative = bucket.id + "/" + file;
  Status moved = blobs_.MoveInto(body.path, relative);
  if (moved.ok()) return file;
  if (body.owned) {
    ::unlink(body.path.c_str());
    return moved;
  }
  // The spool file is elsewhere (another file system): copy it.
  GANTRY_ASSIGN_OR_RETURN(std::string temp, blobs_.CreateTempFile(relative));
  Status copied;
  {
    Fd in(::open(body.path.c_str(), O_RDONLY | O_CLOEXEC));
    Fd out(::open(temp.c_str(), O_WRONLY | O_CLOEXEC));
    copied = in.get() < 0    ? Errno("cannot open", body.path)
             : out.get() < 0 ? Errno("cannot open", temp)
                             : CopyRange(in.get(), body.path, 0, body.digests.size, out.get(), temp);
  }
  if (copied.ok()) copied = blobs_.MoveInto(temp, relative);
  if (!copied.ok()) {
    ::unlink(temp.c_str());
    return copied;
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// Objects.

StatusOr<ObjectVersion> ObjectStore::CommitVersion(const Bucket& bucket, const std::string& key, ObjectVersion version,
                                                   const WriteConditions& conditions,
                                                   const std::function<Status(store::Transaction&)>& also) {
  std::vector<std::string> replaced;
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    replaced.clear();
    GANTRY_ASSIGN_OR_RETURN(Bucket current, CheckBucket(tx, bucket));
    bool found = false;
    GANTRY_ASSIGN_OR_RETURN(ObjectRecord record, LoadObject(tx, bucket.id, key, &found));
    const ObjectVersion* latest = record.versions.empty() ? nullptr : &record.versions[0];
    bool exists = latest != nullptr && !latest->delete_marker;
    if (conditions.if_none_match && exists &&
        (Trim(*conditions.if_none_match) == "*" || ETagListMatches(*conditions.if_none_match, latest->etag))) {
      return PreconditionFailed();
    }
    if (conditions.if_match) {
      if (!exists) return NoSuchKey();
      if (!ETagListMatches(*conditions.if_match, latest->etag)) return PreconditionFailed();
    }
    if (current.versioning == "Enabled") {
      version.version_id = NewVersionId();
    } else {
      version.version_id = kNullVersion;
      for (auto it = record.versions.begin(); it != record.versions.end();) {
        if (it->version_id == kNullVersion) {
          replaced.push_back(it->file);
          it = record.versions.erase(it);
        } else {
          ++it;
        }
      }
    }
    record.versions.insert(record.versions.begin(), version);
    GANTRY_RETURN_IF_ERROR(tx.Put(kObjectTable, bucket.id, key, ToJson(record)).status());
    if (also) GANTRY_RETURN_IF_ERROR(also(tx));
    return Status::Ok();
  });
  if (!status.ok()) return status;
  for (const std::string& file : replaced) Retire(bucket.id, file);
  return version;
}

StatusOr<ObjectVersion> ObjectStore::PutObject(const Bucket& bucket, const std::string& key, const StagedBody& body,
                                               ObjectVersion version, const WriteConditions& conditions) {
  version.delete_marker = false;
  version.size = body.digests.size;
  version.etag = HexEncode(body.digests.md5);
  version.last_modified_ms = ToEpochMillis(clock_->Now());
  GANTRY_ASSIGN_OR_RETURN(version.file, Place(bucket, body));
  auto committed = CommitVersion(bucket, key, version, conditions);
  if (!committed.ok()) RemoveNow(bucket.id, version.file);
  return committed;
}

StatusOr<ObjectVersion> ObjectStore::CopyObject(const Bucket& source_bucket, const ObjectVersion& source,
                                                const Bucket& bucket, const std::string& key, ObjectVersion version) {
  version.delete_marker = false;
  version.size = source.size;
  version.etag = source.etag;
  version.part_sizes = source.part_sizes;
  version.last_modified_ms = ToEpochMillis(clock_->Now());
  version.file = ids_->Hex(32);
  // Files are immutable once written, so a copy shares the source's bytes through a hard link.
  std::string directory = blobs_.root() + "/" + bucket.id;
  std::string target = directory + "/" + version.file;
  std::string source_path = FilePath(source_bucket, source);
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (::link(source_path.c_str(), target.c_str()) == 0) {
    GANTRY_RETURN_IF_ERROR(FsyncDirectory(directory));
  } else {
    StagedBody staged;
    GANTRY_ASSIGN_OR_RETURN(staged, StageRange(bucket, source_bucket, source, 0, source.size, {}));
    GANTRY_ASSIGN_OR_RETURN(version.file, Place(bucket, staged));
  }
  auto committed = CommitVersion(bucket, key, version, {});
  if (!committed.ok()) RemoveNow(bucket.id, version.file);
  return committed;
}

StatusOr<VersionEntry> ObjectStore::GetVersion(const Bucket& bucket, const std::string& key,
                                               const std::string& version_id) {
  bool found = false;
  GANTRY_ASSIGN_OR_RETURN(ObjectRecord record, LoadObject(*store_, bucket.id, key, &found));
  if (!found || record.versions.empty()) {
    return version_id.empty() || version_id == kNullVersion ? NoSuchKey() : NoSuchVersion();
  }
  if (version_id.empty()) return VersionEntry{key, record.versions[0], true};
  for (size_t i = 0; i < record.versions.size(); ++i) {
    if (record.versions[i].version_id == version_id) return VersionEntry{key, record.versions[i], i == 0};
  }
  return NoSuchVersion();
}

StatusOr<DeleteResult> ObjectStore::DeleteObject(const Bucket& bucket, const std::string& key,
                                                 const std::string& version_id) {
  DeleteResult result;
  std::vector<std::string> removed;
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    removed.clear();
    result = {};
    GANTRY_ASSIGN_OR_RETURN(Bucket current, CheckBucket(tx, bucket));
    bool found = false;
    GANTRY_ASSIGN_OR_RETURN(ObjectRecord record, LoadObject(tx, bucket.id, key, &found));
    if (!version_id.empty()) {
      result.version_id = version_id;
      auto it = std::find_if(record.versions.begin(), record.versions.end(),
                             [&](const ObjectVersion& v) { return v.version_id == version_id; });
      if (it == record.versions.end()) return Status::Ok();
      result.delete_marker = it->delete_marker;
      removed.push_back(it->file);
      record.versions.erase(it);
    } else if (current.versioning.empty()) {
      if (!found) return Status::Ok();
      for (const ObjectVersion& v : record.versions) removed.push_back(v.file);
      record.versions.clear();
    } else {
      ObjectVersion marker;
      marker.delete_marker = true;
      marker.last_modified_ms = ToEpochMillis(clock_->Now());
      if (current.versioning == "Enabled") {
        marker.version_id = NewVersionId();
      } else {
        marker.version_id = kNullVersion;
        for (auto it = record.versions.begin(); it != record.versions.end();) {
          if (it->version_id == kNullVersion) {
            removed.push_back(it->file);
            it = record.versions.erase(it);
          } else {
            ++it;
          }
        }
      }
      record.versions.insert(record.versions.begin(), marker);
      result.delete_marker = true;
      result.version_id = marker.version_id;
    }
    if (record.versions.empty()) {
      if (found) GANTRY_RETURN_IF_ERROR(tx.Delete(kObjectTable, bucket.id, key).status());
      return Status::Ok();
    }
    return tx.Put(kObjectTable, bucket.id, key, ToJson(record)).status();
  });
  if (!status.ok()) return status;
  for (const std::string& file : removed) Retire(bucket.id, file);
  return result;
}

StatusOr<ObjectVersion> ObjectStore::UpdateVersion(const Bucket& bucket, const std::string& key,
                                                   const std::string& version_id,
                                                   const std::function<Status(ObjectVersion&)>& change) {
  ObjectVersion result;
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_RETURN_IF_ERROR(CheckBucket(tx, bucket).status());
    bool found = false;
    GANTRY_ASSIGN_OR_RETURN(ObjectRecord record, LoadObject(tx, bucket.id, key, &found));
    if (!found || record.versions.empty()) return version_id.empty() ? NoSuchKey() : NoSuchVersion();
    ObjectVersion* target = nullptr;
    if (version_id.empty()) {
      target = &record.versions[0];
    } else {
      for (ObjectVersion& v : record.versions) {
        if (v.version_id == version_id) target = &v;
      }
      if (target == nullptr) return NoSuchVersion();
    }
    if (target->delete_marker) {
      if (version_id.empty()) return NoSuchKey();
      return Status::InvalidArgument("The specified method is not allowed against this resource.", "MethodNotAllowed")
          .WithHttpStatus(405);
    }
    GANTRY_RETURN_IF_ERROR(change(*target));
    result = *target;
    return tx.Put(kObjectTable, bucket.id, key, ToJson(record)).status();
  });
  if (!status.ok()) return status;
  return result;
}

StatusOr<ListPage> ObjectStore::ListObjects(const Bucket& bucket, const ListQuery& query) {
  ListPage page;
  int count = 0;
  auto page_full = [&] {
    if (count < query.max_keys) return false;
    page.truncated = true;
    return true;
  };
  GANTRY_RETURN_IF_ERROR(WalkKeys(
      *store_, bucket.id, query.prefix, query.delimiter, query.start_after,
      [&] { return query.max_keys - count + 1; },
      [&](const std::string& common) {
        if (page_full()) return false;
        page.common_prefixes.push_back(common);
        page.last_listed = common;
        page.next_start_after = common + kAfterPrefix;
        ++count;
        return true;
      },
      [&](const store::Record& r) {
        ObjectRecord record = ObjectRecordFromJson(r.doc);
        if (record.versions.empty() || record.versions[0].delete_marker) return true;
        if (page_full()) return false;
        page.objects.emplace_back(r.key, std::move(record.versions[0]));
        page.last_listed = r.key;
        page.next_start_after = r.key;
        ++count;
        return true;
      }));
  return page;
}

StatusOr<VersionPage> ObjectStore::ListVersions(const Bucket& bucket, const VersionQuery& query) {
  VersionPage page;
  int count = 0;
  auto page_full = [&] {
    if (count < query.max_keys) return false;
    page.truncated = true;
    return true;
  };
  // Emits the versions of one key from index `from`; false once the page is full.
  auto emit = [&](const std::string& key, const ObjectRecord& record, size_t from) {
    for (size_t i = from; i < record.versions.size(); ++i) {
      if (page_full()) return false;
      page.entries.push_back({key, record.versions[i], i == 0});
      page.next_key_marker = key;
      page.next_version_id_marker = record.versions[i].version_id;
      ++count;
    }
    return true;
  };
  if (!query.key_marker.empty() && !query.version_id_marker.empty() &&
      query.key_marker.compare(0, query.prefix.size(), query.prefix) == 0 &&
      CommonPrefixOf(query.key_marker, query.prefix, query.delimiter).empty()) {
    bool found = false;
    GANTRY_ASSIGN_OR_RETURN(ObjectRecord record, LoadObject(*store_, bucket.id, query.key_marker, &found));
    for (size_t i = 0; found && i < record.versions.size(); ++i) {
      if (record.versions[i].version_id == query.version_id_marker) {
        if (!emit(query.key_marker, record, i + 1)) return page;
        break;
      }
    }
  }
  GANTRY_RETURN_IF_ERROR(WalkKeys(
      *store_, bucket.id, query.prefix, query.delimiter, query.key_marker,
      [&] { return query.max_keys - count + 1; },
      [&](const std::string& common) {
        if (page_full()) return false;
        page.common_prefixes.push_back(common);
        page.next_key_marker = common;
        page.next_version_id_marker.clear();
        ++count;
        return true;
      },
      [&](const store::Record& r) { return emit(r.key, ObjectRecordFromJson(r.doc), 0); }));
  return page;
}

// ---------------------------------------------------------------------------------------------
// Multipart uploads.

StatusOr<Upload> ObjectStore::CreateUpload(const Bucket& bucket, Upload upload) {
  upload.id = ids_->Hex(64);
  upload.initiated_ms = ToEpochMillis(clock_->Now());
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_RETURN_IF_ERROR(CheckBucket(tx, bucket).status());
    return tx.Create(kUploadTable, bucket.id, upload.id, ToJson(upload)).status();
  });
  if (!status.ok()) return status;
  return upload;
}

StatusOr<Upload> ObjectStore::GetUpload(const Bucket& bucket, const std::string& upload_id, const std::string& key) {
  if (upload_id.empty()) return NoSuchUpload();
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, store_->Get(kUploadTable, bucket.id, upload_id));
  if (!record) return NoSuchUpload();
  Upload upload = UploadFromJson(upload_id, record->doc);
  if (upload.key != key) return NoSuchUpload();
  return upload;
}

StatusOr<Part> ObjectStore::PutPart(const Bucket& bucket, const Upload& upload, int part_number,
                                    const StagedBody& body) {
  Part part;
  part.number = part_number;
  part.size = body.digests.size;
  part.etag = HexEncode(body.digests.md5);
  part.last_modified_ms = ToEpochMillis(clock_->Now());
  part.checksums = body.digests.checksums;
  GANTRY_ASSIGN_OR_RETURN(part.file, Place(bucket, body));
  std::string replaced;
  std::string scope = PartScope(bucket.id, upload.id);
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_RETURN_IF_ERROR(CheckBucket(tx, bucket).status());
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> u, tx.Get(kUploadTable, bucket.id, upload.id));
    if (!u) return NoSuchUpload();
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> previous, tx.Get(kPartTable, scope, PartKey(part_number)));
    replaced = previous ? PartFromJson(previous->key, previous->doc).file : std::string();
    return tx.Put(kPartTable, scope, PartKey(part_number), ToJson(part)).status();
  });
  if (!status.ok()) {
    RemoveNow(bucket.id, part.file);
    return status;
  }
  Retire(bucket.id, replaced);
  return part;
}

StatusOr<ObjectVersion> ObjectStore::CompleteUpload(const Bucket& bucket, const std::string& key,
                                                    const std::string& upload_id,
                                                    const std::vector<CompletedPart>& parts,
                                                    const WriteConditions& conditions,
                                                    const std::map<std::string, std::string>& expected_checksums) {
  GANTRY_ASSIGN_OR_RETURN(Upload upload, GetUpload(bucket, upload_id, key));
  if (parts.empty()) {
    return Status::InvalidArgument("The XML you provided was not well-formed or did not validate against our "
                                   "published schema",
                                   "MalformedXML");
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].number <= parts[i - 1].number) {
      return Status::InvalidArgument("The list of parts was not in ascending order. Parts must be ordered by part "
                                     "number.",
                                     "InvalidPartOrder");
    }
  }
  std::string scope = PartScope(bucket.id, upload_id);
  GANTRY_ASSIGN_OR_RETURN(store::ListPage stored_page, store_->List(kPartTable, scope));
  std::map<int, Part> stored;
  for (const store::Record& r : stored_page.records) stored.emplace(std::atoi(r.key.c_str()), PartFromJson(r.key, r.doc));

  std::vector<const Part*> chosen;
  std::vector<std::string> md5s;
  std::vector<std::string> part_checksums;
  std::vector<std::pair<std::string, uint64_t>> part_crcs;
  const std::string& algorithm = upload.checksum_algorithm;
  uint64_t total = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = stored.find(parts[i].number);
    if (it == stored.end()) return InvalidPart();
    const Part& part = it->second;
    std::string_view listed = Trim(parts[i].etag);
    if (listed.size() >= 2 && listed.front() == '"' && listed.back() == '"') listed = listed.substr(1, listed.size() - 2);
    if (listed != part.etag) return InvalidPart();
    for (const auto& [listed_algorithm, value] : parts[i].checksums) {
      auto computed = part.checksums.find(listed_algorithm);
      if (computed != part.checksums.end() && computed->second != value) return InvalidPart();
    }
    if (!algorithm.empty()) {
      auto value = part.checksums.find(algorithm);
      if (upload.checksum_type != "FULL_OBJECT" && !parts[i].checksums.count(algorithm)) {
        return Status::InvalidArgument("The upload was created using a " + ToLower(algorithm) +
                                           " checksum. The complete request must include the checksum for each "
                                           "part. It was missing for part " +
                                           std::to_string(parts[i].number) + " in the request.",
                                       "InvalidRequest");
      }
      if (value == part.checksums.end()) return InvalidPart();
      part_checksums.push_back(value->second);
      part_crcs.emplace_back(value->second, part.size);
    }
    chosen.push_back(&part);
    md5s.push_back(part.etag);
    total += part.size;
  }
  for (size_t i = 0; i + 1 < chosen.size(); ++i) {
    if (chosen[i]->size < kMinPartSize) {
      return Status::InvalidArgument("Your proposed upload is smaller than the minimum allowed size",
                                     "EntityTooSmall");
    }
  }

  ObjectVersion version;
  version.attributes = upload.attributes;
  version.owner = upload.owner;
  version.size = total;
  version.etag = MultipartETag(md5s);
  for (const Part* part : chosen) version.part_sizes.push_back(part->size);
  if (!algorithm.empty()) {
    version.checksum.algorithm = algorithm;
    version.checksum.type = upload.checksum_type;
    if (upload.checksum_type == "FULL_OBJECT") {
      GANTRY_ASSIGN_OR_RETURN(version.checksum.value, CombineCrcs(algorithm, part_crcs));
    } else {
      GANTRY_ASSIGN_OR_RETURN(version.checksum.value, CompositeChecksum(algorithm, part_checksums));
    }
  }
  for (const auto& [expected_algorithm, value] : expected_checksums) {
    auto base = [](std::string_view v) { return v.substr(0, v.find('-')); };
    if (expected_algorithm == algorithm && base(value) != base(version.checksum.value)) {
      return Status::InvalidArgument("The " + algorithm + " you specified did not match the calculated checksum.",
                                     "BadDigest");
    }
  }

  // Concatenate the parts into the object's file.
  version.file = ids_->Hex(32);
  std::string relative = bucket.id + "/" + version.file;
  GANTRY_ASSIGN_OR_RETURN(std::string temp, blobs_.CreateTempFile(relative));
  Status copied;
  {
    Fd out(::open(temp.c_str(), O_WRONLY | O_CLOEXEC));
    if (out.get() < 0) copied = Errno("cannot open", temp);
    for (const Part* part : chosen) {
      if (!copied.ok()) break;
      std::string path = blobs_.root() + "/" + bucket.id + "/" + part->file;
      Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      copied = in.get() < 0 ? Errno("cannot open", path) : CopyRange(in.get(), path, 0, part->size, out.get(), temp);
    }
  }
  if (copied.ok()) copied = blobs_.MoveInto(temp, relative);
  if (!copied.ok()) {
    ::unlink(temp.c_str());
    return copied;
  }
  version.last_modified_ms = ToEpochMillis(clock_->Now());

  std::vector<std::string> part_files;
  auto consume_upload = [&](store::Transaction& tx) -> Status {
    part_files.clear();
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> u, tx.Get(kUploadTable, bucket.id, upload_id));
    if (!u) return NoSuchUpload();
    GANTRY_ASSIGN_OR_RETURN(store::ListPage now, tx.List(kPartTable, scope));
    for (const store::Record& r : now.records) {
      Part part = PartFromJson(r.key, r.doc);
      auto it = stored.find(part.number);
      if (it == stored.end() || it->second.file != part.file) {
        // A part was uploaded again while this completion ran; only the caller can resolve that.
        bool listed = std::any_of(parts.begin(), parts.end(), [&](const CompletedPart& p) { return p.number == part.number; });
        if (listed) return InvalidPart();
      }
      part_files.push_back(part.file);
      GANTRY_RETURN_IF_ERROR(tx.Delete(kPartTable, scope, r.key).status());
    }
    return tx.Delete(kUploadTable, bucket.id, upload_id).status();
  };
  auto committed = CommitVersion(bucket, key, version, conditions, consume_upload);
  if (!committed.ok()) {
    RemoveNow(bucket.id, version.file);
    return committed;
  }
  for (const std::string& file : part_files) Retire(bucket.id, file);
  return committed;
}

Status ObjectStore::AbortUpload(const Bucket& bucket, const std::string& key, const std::string& upload_id) {
  std::vector<std::string> files;
  std::string scope = PartScope(bucket.id, upload_id);
  Status status = store_->Transact([&](store::Transaction& tx) -> Status {
    files.clear();
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> u, tx.Get(kUploadTable, bucket.id, upload_id));
    if (!u || UploadFromJson(upload_id, u->doc).key != key) return NoSuchUpload();
    GANTRY_ASSIGN_OR_RETURN(store::ListPage parts, tx.List(kPartTable, scope));
    for (const store::Record& r : parts.records) {
      files.push_back(PartFromJson(r.key, r.doc).file);
      GANTRY_RETURN_IF_ERROR(tx.Delete(kPartTable, scope, r.key).status());
    }
    return tx.Delete(kUploadTable, bucket.id, upload_id).status();
  });
  if (!status.ok()) return status;
  for (const std::string& file : files) Retire(bucket.id, file);
  return Status::Ok();
}

StatusOr<PartPage> ObjectStore::ListParts(const Bucket& bucket, const std::string& upload_id, int part_number_marker,
                                          int max_parts) {
  store::ListOptions options;
  if (part_number_marker > 0) options.start_after = PartKey(part_number_marker);
  options.limit = max_parts + 1;
  GANTRY_ASSIGN_OR_RETURN(store::ListPage listed, store_->List(kPartTable, PartScope(bucket.id, upload_id), options));
  PartPage page;
  for (const store::Record& r : listed.records) {
    if (static_cast<int>(page.parts.size()) == max_parts) {
      page.truncated = true;
      break;
    }
    page.parts.push_back(PartFromJson(r.key, r.doc));
  }
  if (page.truncated && !page.parts.empty()) page.next_part_number_marker = page.parts.back().number;
  return page;
}

StatusOr<UploadPage> ObjectStore::ListUploads(const Bucket& bucket, const UploadQuery& query) {
  std::vector<Upload> uploads;
  store::ListOptions options;
  options.limit = 1000;
  for (std::string token;;) {
    options.start_after = token;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage listed, store_->List(kUploadTable, bucket.id, options));
    for (const store::Record& r : listed.records) {
      Upload u = UploadFromJson(r.key, r.doc);
      if (u.key.compare(0, query.prefix.size(), query.prefix) == 0) uploads.push_back(std::move(u));
    }
    if (listed.next_token.empty()) break;
    token = listed.next_token;
  }
  std::sort(uploads.begin(), uploads.end(), [](const Upload& a, const Upload& b) {
    if (a.key != b.key) return a.key < b.key;
    if (a.initiated_ms != b.initiated_ms) return a.initiated_ms < b.initiated_ms;
    return a.id < b.id;
  });
  UploadPage page;
  int count = 0;
  bool passed_upload_marker = false;
  std::string last_common;
  for (const Upload& u : uploads) {
    if (!query.key_marker.empty()) {
      if (u.key < query.key_marker) continue;
      if (u.key == query.key_marker) {
        if (query.upload_id_marker.empty()) continue;
        if (!passed_upload_marker) {
          passed_upload_marker = u.id == query.upload_id_marker;
          continue;
        }
      }
    }
    std::string common = CommonPrefixOf(u.key, query.prefix, query.delimiter);
    if (!common.empty()) {
      if (common == last_common || common <= query.key_marker) continue;
      if (count == query.max_uploads) {
        page.truncated = true;
        break;
      }
      last_common = common;
      page.common_prefixes.push_back(common);
      page.next_key_marker = common;
      page.next_upload_id_marker.clear();
      ++count;
      continue;
    }
    if (count == query.max_uploads) {
      page.truncated = true;
      break;
    }
    page.uploads.push_back(u);
    page.next_key_marker = u.key;
    page.next_upload_id_marker = u.id;
    ++count;
  }
  return page;
}

}  // namespace gantry::services::s3
