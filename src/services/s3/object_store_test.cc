// The S3 engine against a real SQLite store and blob directory, with a fake clock and sequential ids:
// versions, listings, multipart math, file safety and recovery.
#include "services/s3/object_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"

namespace gantry::services::s3 {
namespace {

constexpr char kAccount[] = "000000000000";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Open();
  }

  void Open() {
    store::SqliteStoreOptions options;
    options.clock = &clock_;
    auto store = store::OpenSqliteStore(dir_.File("gantry.db"), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto blobs = store::BlobStore::Open(dir_.File("s3"));
    ASSERT_TRUE(blobs.ok());
    ObjectStoreOptions o;
    o.retire_grace = std::chrono::seconds(10);
    objects_ = std::make_unique<ObjectStore>(store_.get(), *blobs, &clock_, &ids_, o);
  }

  void Reopen() {
    objects_.reset();
    store_.reset();
    Open();
  }

  Bucket MakeBucket(const std::string& name, const std::string& versioning = "") {
    auto b = objects_->CreateBucket(name, kAccount, "us-east-1");
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (!versioning.empty()) {
      auto updated = objects_->UpdateBucket(name, kAccount, [&](Bucket& bucket) {
        bucket.versioning = versioning;
        return Status::Ok();
      });
      EXPECT_TRUE(updated.ok());
      return *updated;
    }
    return *b;
  }

  ObjectVersion Put(const Bucket& b, const std::string& key, std::string_view data,
                    const std::vector<std::string>& algorithms = {}) {
    BodySource source;
    source.data = data;
    auto staged = objects_->Stage(b, source, algorithms);
    EXPECT_TRUE(staged.ok()) << staged.status().ToString();
    ObjectVersion v;
    v.owner = kAccount;
    auto written = objects_->PutObject(b, key, *staged, v);
    EXPECT_TRUE(written.ok()) << written.status().ToString();
    clock_.Advance(std::chrono::seconds(1));
    return written.ok() ? *written : ObjectVersion{};
  }

  std::string Read(const Bucket& b, const std::string& key, const std::string& version = "") {
    auto entry = objects_->GetVersion(b, key, version);
    if (!entry.ok()) return "error: " + entry.status().aws_code();
    if (entry->version.delete_marker) return "delete marker";
    return ReadFile(objects_->FilePath(b, entry->version));
  }

  std::vector<std::string> Keys(const ListPage& page) {
    std::vector<std::string> out;
    for (const auto& [k, v] : page.objects) out.push_back(k);
    return out;
  }

  store::testing::ScratchDirectory dir_;
  FakeClock clock_;
  SequentialIdSource ids_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ObjectStore> objects_;
};

TEST_F(ObjectStoreTest, BucketsAreUniquePerServerAndOwned) {
  MakeBucket("alpha");
  EXPECT_EQ(objects_->CreateBucket("alpha", "111111111111", "us-east-1").status().aws_code(), "BucketAlreadyExists");
  // Re-creating your own bucket is fine in us-east-1 (AWS's legacy rule), an error elsewhere.
  EXPECT_TRUE(objects_->CreateBucket("alpha", kAccount, "us-east-1").ok());
  ASSERT_TRUE(objects_->CreateBucket("beta", kAccount, "eu-west-1").ok());
  EXPECT_EQ(objects_->CreateBucket("beta", kAccount, "eu-west-1").status().aws_code(), "BucketAlreadyOwnedByYou");
  EXPECT_EQ(objects_->GetBucket("alpha", "111111111111").status().aws_code(), "AccessDenied");
  EXPECT_EQ(objects_->GetBucket("nope", kAccount).status().aws_code(), "NoSuchBucket");
  auto mine = objects_->ListBuckets(kAccount);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[1].region, "eu-west-1");
  EXPECT_TRUE(objects_->ListBuckets("111111111111")->empty());
}

TEST_F(ObjectStoreTest, PutGetOverwriteAndDelete) {
  Bucket b = MakeBucket("data");
  ObjectVersion v1 = Put(b, "k", "first", {"CRC32"});
  EXPECT_EQ(v1.version_id, kNullVersion);
  EXPECT_EQ(v1.etag, HexEncode(Md5("first")));
  EXPECT_EQ(v1.size, 5u);
  EXPECT_EQ(Read(b, "k"), "first");
  ObjectVersion v2 = Put(b, "k", "second!");
  EXPECT_EQ(Read(b, "k"), "second!");
  EXPECT_NE(v1.file, v2.file);
  // The replaced file stays for the grace period, then goes.
  std::string old_path = objects_->FilePath(b, v1);
  EXPECT_TRUE(std::filesystem::exists(old_path));
  clock_.Advance(std::chrono::seconds(11));
  objects_->ReapRetired();
  EXPECT_FALSE(std::filesystem::exists(old_path));

  EXPECT_EQ(objects_->DeleteBucket("data", kAccount).aws_code(), "BucketNotEmpty");
  auto deleted = objects_->DeleteObject(b, "k", "");
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(deleted->delete_marker);
  EXPECT_EQ(Read(b, "k"), "error: NoSuchKey");
  EXPECT_TRUE(objects_->DeleteObject(b, "k", "").ok());  // deleting nothing is fine
  EXPECT_TRUE(objects_->DeleteBucket("data", kAccount).ok());
  EXPECT_EQ(objects_->GetBucket("data", kAccount).status().aws_code(), "NoSuchBucket");
}

TEST_F(ObjectStoreTest, HostileKeysNeverBecomePaths) {
  Bucket b = MakeBucket("hostile");
  std::vector<std::string> keys = {"../../etc/passwd", "/leading", "a//b", "unicode \xE2\x9C\x93 key", "sp ace",
                                   "..", ".", ".gantry-tmp-XXXXXX", std::string(1024, '/')};
  for (const std::string& key : keys) Put(b, key, "data of " + key);
  for (const std::string& key : keys) EXPECT_EQ(Read(b, key), "data of " + key) << key;
  std::string root = dir_.File("s3");
  for (const std::string& file : FilesIn(root)) {
    // Every file is <root>/<bucket id>/<hex object id>.
    std::string rel = file.substr(root.size() + 1);
    EXPECT_EQ(rel.find('/'), b.id.size()) << rel;
    EXPECT_EQ(rel.substr(0, b.id.size()), b.id);
    EXPECT_TRUE(HexDecode(rel.substr(b.id.size() + 1)).has_value()) << rel;
  }
  auto page = objects_->ListObjects(b, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects.size(), keys.size());
}

TEST_F(ObjectStoreTest, ListingWithPrefixDelimiterAndPages) {
  Bucket b = MakeBucket("list");
  for (const char* key : {"a.txt", "dir/1", "dir/2", "dir/sub/3", "dir2/x", "e.txt", "photos/2024/a.jpg",
                          "photos/2024/b.jpg", "photos/2025/c.jpg", "z"}) {
    Put(b, key, key);
  }
  ListQuery all;
  auto page = objects_->ListObjects(b, all);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects.size(), 10u);
  EXPECT_FALSE(page->truncated);

  ListQuery by_dir;
  by_dir.delimiter = "/";
  page = objects_->ListObjects(b, by_dir);
  EXPECT_EQ(Keys(*page), (std::vector<std::string>{"a.txt", "e.txt", "z"}));
  EXPECT_EQ(page->common_prefixes, (std::vector<std::string>{"dir/", "dir2/", "photos/"}));

  ListQuery photos;
  photos.prefix = "photos/";
  photos.delimiter = "/";
  page = objects_->ListObjects(b, photos);
  EXPECT_TRUE(page->objects.empty());
  EXPECT_EQ(page->common_prefixes, (std::vector<std::string>{"photos/2024/", "photos/2025/"}));

  // Pages of two entries (keys and common prefixes count alike) that resume exactly.
  std::vector<std::string> seen;
  ListQuery paged = by_dir;
  paged.max_keys = 2;
  for (int i = 0; i < 10; ++i) {
    page = objects_->ListObjects(b, paged);
    ASSERT_TRUE(page.ok());
    for (const auto& [k, v] : page->objects) seen.push_back(k);
    for (const std::string& p : page->common_prefixes) seen.push_back(p);
    if (!page->truncated) break;
    paged.start_after = page->next_start_after;
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"a.txt", "dir/", "dir2/", "e.txt", "photos/", "z"}));

  // StartAfter (and ListObjects v1's NextMarker, a common prefix) resumes after a whole group.
  ListQuery after = by_dir;
  after.start_after = "dir/";
  page = objects_->ListObjects(b, after);
  EXPECT_EQ(page->common_prefixes, (std::vector<std::string>{"dir2/", "photos/"}));
  after.start_after = "dir/2";
  after.delimiter.clear();
  page = objects_->ListObjects(b, after);
  EXPECT_EQ(Keys(*page).front(), "dir/sub/3");

  ListQuery none;
  none.max_keys = 0;
  page = objects_->ListObjects(b, none);
  EXPECT_TRUE(page->objects.empty());
  EXPECT_TRUE(page->truncated);
}

TEST_F(ObjectStoreTest, VersioningEnabledKeepsEveryVersionAndDeleteMarkers) {
  Bucket b = MakeBucket("versions", "Enabled");
  ObjectVersion v1 = Put(b, "doc", "one");
  ObjectVersion v2 = Put(b, "doc", "two");
  EXPECT_NE(v1.version_id, kNullVersion);
  EXPECT_NE(v1.version_id, v2.version_id);
  EXPECT_EQ(Read(b, "doc"), "two");
  EXPECT_EQ(Read(b, "doc", v1.version_id), "one");
  EXPECT_EQ(Read(b, "doc", "nonexistent"), "error: NoSuchVersion");

  auto marker = objects_->DeleteObject(b, "doc", "");
  ASSERT_TRUE(marker.ok());
  EXPECT_TRUE(marker->delete_marker);
  EXPECT_EQ(Read(b, "doc"), "delete marker");
  EXPECT_EQ(Read(b, "doc", v2.version_id), "two");
  // The key is hidden from listings but its versions are listed, newest first.
  EXPECT_TRUE(objects_->ListObjects(b, {})->objects.empty());
  auto versions = objects_->ListVersions(b, {});
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->entries.size(), 3u);
  EXPECT_TRUE(versions->entries[0].version.delete_marker);
  EXPECT_TRUE(versions->entries[0].is_latest);
  EXPECT_EQ(versions->entries[1].version.version_id, v2.version_id);
  EXPECT_EQ(versions->entries[2].version.version_id, v1.version_id);
  EXPECT_EQ(objects_->DeleteBucket("versions", kAccount).aws_code(), "BucketNotEmpty");

  // Deleting the marker by version id brings the previous version back.
  ASSERT_TRUE(objects_->DeleteObject(b, "doc", marker->version_id).ok());
  EXPECT_EQ(Read(b, "doc"), "two");
  ASSERT_TRUE(objects_->DeleteObject(b, "doc", v2.version_id).ok());
  EXPECT_EQ(Read(b, "doc"), "one");
  ASSERT_TRUE(objects_->DeleteObject(b, "doc", v1.version_id).ok());
  EXPECT_EQ(Read(b, "doc"), "error: NoSuchKey");
  EXPECT_TRUE(objects_->DeleteBucket("versions", kAccount).ok());
}

TEST_F(ObjectStoreTest, VersioningSuspendedWritesTheNullVersion) {
  Bucket b = MakeBucket("susp");
  ObjectVersion before = Put(b, "k", "unversioned");  // "null"
  b = *objects_->UpdateBucket("susp", kAccount, [](Bucket& x) {
    x.versioning = "Enabled";
    return Status::Ok();
  });
  ObjectVersion enabled = Put(b, "k", "versioned");
  b = *objects_->UpdateBucket("susp", kAccount, [](Bucket& x) {
    x.versioning = "Suspended";
    return Status::Ok();
  });
  ObjectVersion suspended = Put(b, "k", "suspended");
  EXPECT_EQ(before.version_id, kNullVersion);
  EXPECT_EQ(suspended.version_id, kNullVersion);
  // The suspended write replaced the old null version; the enabled one survives.
  auto versions = objects_->ListVersions(b, {});
  ASSERT_EQ(versions->entries.size(), 2u);
  EXPECT_EQ(versions->entries[0].version.version_id, kNullVersion);
  EXPECT_EQ(versions->entries[1].version.version_id, enabled.version_id);
  EXPECT_EQ(Read(b, "k", kNullVersion), "suspended");
  // A delete while suspended makes a null delete marker.
  auto marker = objects_->DeleteObject(b, "k", "");
  EXPECT_TRUE(marker->delete_marker);
  EXPECT_EQ(marker->version_id, kNullVersion);
  versions = objects_->ListVersions(b, {});
  ASSERT_EQ(versions->entries.size(), 2u);
  EXPECT_TRUE(versions->entries[0].version.delete_marker);
}

TEST_F(ObjectStoreTest, ListVersionsPaginatesWithinAndAcrossKeys) {
  Bucket b = MakeBucket("vpages", "Enabled");
  for (int i = 0; i < 3; ++i) Put(b, "a", "a" + std::to_string(i));
  for (int i = 0; i < 2; ++i) Put(b, "b", "b" + std::to_string(i));
  VersionQuery q;
  q.max_keys = 2;
  std::vector<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    auto page = objects_->ListVersions(b, q);
    ASSERT_TRUE(page.ok());
    for (const VersionEntry& e : page->entries) seen.push_back(e.key + ":" + Read(b, e.key, e.version.version_id));
    if (!page->truncated) break;
    q.key_marker = page->next_key_marker;
    q.version_id_marker = page->next_version_id_marker;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a:a2", "a:a1", "a:a0", "b:b1", "b:b0"}));
}

TEST_F(ObjectStoreTest, ConditionalWrites) {
  Bucket b = MakeBucket("cond");
  BodySource source;
  source.data = "x";
  auto put = [&](WriteConditions c) {
    auto staged = objects_->Stage(b, source, {});
    auto r = objects_->PutObject(b, "k", *staged, {}, c);
    return r.ok() ? std::string("ok") : r.status().aws_code();
  };
  EXPECT_EQ(put({.if_match = "\"abc\""}), "NoSuchKey");
  EXPECT_EQ(put({.if_none_match = "*"}), "ok");
  EXPECT_EQ(put({.if_none_match = "*"}), "PreconditionFailed");
  EXPECT_EQ(put({.if_match = "\"" + HexEncode(Md5("x")) + "\""}), "ok");
  EXPECT_EQ(put({.if_match = "\"other\""}), "PreconditionFailed");
}

TEST_F(ObjectStoreTest, MultipartUploadConcatenatesPartsWithS3sETagAndChecksums) {
  Bucket b = MakeBucket("mpu");
  const uint64_t five_mib = 5ull << 20;
  std::string p1(five_mib, 'a'), p2(five_mib, 'b'), p3 = "tail";
  for (const std::string type : {"COMPOSITE", "FULL_OBJECT"}) {
    Upload u;
    u.key = "big/" + type;
    u.owner = kAccount;
    u.checksum_algorithm = "CRC32";
    u.checksum_type = type;
    u.attributes.content_type = "text/plain";
    auto upload = objects_->CreateUpload(b, u);
    ASSERT_TRUE(upload.ok());
    std::vector<CompletedPart> listed;
    int number = 0;
    for (const std::string* data : {&p1, &p2, &p3}) {
      ++number;
      BodySource source;
      source.data = *data;
      auto staged = objects_->Stage(b, source, {"CRC32"});
      auto part = objects_->PutPart(b, *upload, number, *staged);
      ASSERT_TRUE(part.ok()) << part.status().ToString();
      listed.push_back({number, "\"" + part->etag + "\"", {{"CRC32", part->checksums["CRC32"]}}});
    }
    auto parts = objects_->ListParts(b, upload->id, 0, 2);
    ASSERT_TRUE(parts.ok());
    EXPECT_EQ(parts->parts.size(), 2u);
    EXPECT_TRUE(parts->truncated);
    EXPECT_EQ(parts->next_part_number_marker, 2);

    // Errors first: order, unknown parts, wrong ETags, small parts, missing checksums.
    auto reversed = listed;
    std::swap(reversed[0], reversed[1]);
    EXPECT_EQ(objects_->CompleteUpload(b, u.key, upload->id, reversed).status().aws_code(), "InvalidPartOrder");
    auto wrong = listed;
    wrong[1].etag = "\"0000\"";
    EXPECT_EQ(objects_->CompleteUpload(b, u.key, upload->id, wrong).status().aws_code(), "InvalidPart");
    EXPECT_EQ(objects_->CompleteUpload(b, u.key, upload->id, {listed[2], {7, "x", {}}}).status().aws_code(),
              "InvalidPart");
    EXPECT_EQ(objects_->CompleteUpload(b, u.key, upload->id, {listed[0], {2, listed[2].etag, {}}}).status().aws_code(),
              "InvalidPart");
    EXPECT_EQ(objects_->CompleteUpload(b, u.key, upload->id, {listed[2], listed[0]}).status().aws_code(),
              "InvalidPartOrder");
    EXPECT_EQ(objects_->CompleteUpload(b, "other", upload->id, listed).status().aws_code(), "NoSuchUpload");

    auto done = objects_->CompleteUpload(b, u.key, upload->id, listed);
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_EQ(done->etag, MultipartETag({HexEncode(Md5(p1)), HexEncode(Md5(p2)), HexEncode(Md5(p3))}));
    EXPECT_EQ(done->size, p1.size() + p2.size() + p3.size());
    EXPECT_EQ(done->part_sizes, (std::vector<uint64_t>{five_mib, five_mib, 4}));
    EXPECT_EQ(done->attributes.content_type, "text/plain");
    EXPECT_EQ(done->checksum.type, type);
    if (type == "FULL_OBJECT") {
      BodyDigester whole({"CRC32"});
      whole.Update(p1 + p2 + p3);
      EXPECT_EQ(done->checksum.value, whole.Finish().checksums["CRC32"]);
    } else {
      EXPECT_EQ(done->checksum.value.substr(done->checksum.value.size() - 2), "-3");
    }
    EXPECT_EQ(Read(b, u.key), p1 + p2 + p3);
    // The upload is gone.
    EXPECT_EQ(objects_->CompleteUpload(b, u.key, upload->id, listed).status().aws_code(), "NoSuchUpload");
  }
}

TEST_F(ObjectStoreTest, CompleteRefusesSmallPartsAndMissingChecksums) {
  Bucket b = MakeBucket("mpu-errors");
  Upload u;
  u.key = "k";
  u.checksum_algorithm = "SHA256";
  u.checksum_type = "COMPOSITE";
  auto upload = objects_->CreateUpload(b, u);
  std::vector<CompletedPart> listed;
  for (int n = 1; n <= 2; ++n) {
    BodySource source;
    source.data = "small";
    auto part = objects_->PutPart(b, *upload, n, *objects_->Stage(b, source, {"SHA256"}));
    listed.push_back({n, part->etag, {{"SHA256", part->checksums["SHA256"]}}});
  }
  EXPECT_EQ(objects_->CompleteUpload(b, "k", upload->id, listed).status().aws_code(), "EntityTooSmall");
  auto missing = objects_->CompleteUpload(b, "k", upload->id, {{1, listed[0].etag, {}}});
  EXPECT_EQ(missing.status().aws_code(), "InvalidRequest");
  EXPECT_NE(missing.status().message().find("missing for part 1"), std::string::npos) << missing.status().message();
  auto uploads = objects_->ListUploads(b, {});
  ASSERT_EQ(uploads->uploads.size(), 1u);
  ASSERT_TRUE(objects_->AbortUpload(b, "k", upload->id).ok());
  EXPECT_EQ(objects_->AbortUpload(b, "k", upload->id).aws_code(), "NoSuchUpload");
  EXPECT_TRUE(objects_->ListUploads(b, {})->uploads.empty());
}

TEST_F(ObjectStoreTest, CopySharesBytesAndKeepsSourceWhenSourceIsReplaced) {
  Bucket src = MakeBucket("src");
  Bucket dst = MakeBucket("dst");
  ObjectVersion original = Put(src, "k", "payload");
  ObjectVersion copy_attrs;
  copy_attrs.attributes.content_type = "text/x";
  auto copied = objects_->CopyObject(src, original, dst, "copy", copy_attrs);
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(copied->etag, original.etag);
  Put(src, "k", "replaced");
  clock_.Advance(std::chrono::minutes(1));
  objects_->ReapRetired();
  EXPECT_EQ(Read(dst, "copy"), "payload");
  EXPECT_EQ(Read(src, "k"), "replaced");

  // A range of a version staged as a new body (UploadPartCopy): "replaced"[2..4].
  auto current = objects_->GetVersion(src, "k", "");
  ASSERT_TRUE(current.ok());
  auto range = objects_->StageRange(dst, src, current->version, 2, 3, {"CRC32"});
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->digests.md5, Md5("pla"));
  objects_->Discard(*range);
}

TEST_F(ObjectStoreTest, RecoverRemovesWhatACrashLeftButKeepsObjects) {
  Bucket b = MakeBucket("crash");
  Put(b, "kept", "kept bytes");
  std::string dir = dir_.File("s3") + "/" + b.id;
  // A file written but never committed, a temporary file, a deleted bucket's directory.
  std::ofstream(dir + "/0123456789abcdef0123456789abcdef") << "orphan";
  std::ofstream(dir + "/.gantry-tmp-abcdef") << "half";
  std::filesystem::create_directories(dir_.File("s3") + "/deadbeefdeadbeef");
  std::ofstream(dir_.File("s3") + "/deadbeefdeadbeef/x") << "gone";
  Reopen();
  ASSERT_TRUE(objects_->Recover().ok());
  auto files = FilesIn(dir_.File("s3"));
  ASSERT_EQ(files.size(), 1u);
  b = *objects_->GetBucket("crash", kAccount);
  EXPECT_EQ(Read(b, "kept"), "kept bytes");
  EXPECT_FALSE(std::filesystem::exists(dir_.File("s3") + "/deadbeefdeadbeef"));
}

TEST_F(ObjectStoreTest, ConcurrentWritersOfOneKeyLastCommitWins) {
  Bucket b = MakeBucket("race");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string data(1000 + t, static_cast<char>('a' + t));
        BodySource source;
        source.data = data;
        auto staged = objects_->Stage(b, source, {});
        ASSERT_TRUE(staged.ok());
        ASSERT_TRUE(objects_->PutObject(b, "shared", *staged, {}).ok());
        std::string seen = Read(b, "shared");
        // Whatever a reader sees is one writer's whole object.
        ASSERT_FALSE(seen.empty());
        ASSERT_EQ(seen, std::string(seen.size(), seen[0]));
        ASSERT_EQ(seen.size(), 1000u + static_cast<size_t>(seen[0] - 'a'));
      }
    });
  }
  for (auto& t : threads) t.join();
  auto page = objects_->ListObjects(b, {});
  ASSERT_EQ(page->objects.size(), 1u);
}

}  // namespace
}  // namespace gantry::services::s3
