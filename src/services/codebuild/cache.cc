// BuildSession's cache hooks: the project's LOCAL and S3 caches (see cache_store.h for the
// archives and entry names, docs/build-cache.md for the behaviour).
//
// The build's `cache` setting (the project's, or StartBuild's cacheOverride) decides where entries
// live: S3 (`location` bucket[/prefix], read and written as the service role) or LOCAL with
// LOCAL_CUSTOM_CACHE (a directory on this machine under Gantry's state directory). Trouble with a
// cache (a denied S3 call, a damaged archive) is logged and the build goes on without it; only a
// buildspec cache path that leaves its directory fails the build (DOWNLOAD_SOURCE).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "core/archive/zip.h"
#include "runtime/build/build_log.h"
#include "services/codebuild/artifacts.h"
#include "services/codebuild/build_session.h"
#include "services/codebuild/cache_store.h"
#include "services/codebuild/records.h"

namespace gantry::services::codebuild {

namespace {

namespace fs = std::filesystem;

// Where a project's cache entries are kept. Names are '/'-separated, relative to the store's root.
class CacheBackend {
 public:
  virtual ~CacheBackend() = default;
  // Where an entry is, for the log.
  virtual std::string Describe(const std::string& name) const = 0;
  // The entries directly under prefix (which ends with '/'), names relative to it.
  virtual StatusOr<std::vector<StoredCacheEntry>> List(const std::string& prefix) = 0;
  // A file holding the entry's archive (scratch: a path the backend may write it to).
  virtual StatusOr<std::string> Fetch(const std::string& name, const std::string& scratch) = 0;
  // Stores the archive as the entry; readers see the old entry or the new one, never a part.
  virtual Status Store(const std::string& file, const std::string& name) = 0;
};

class S3Backend final : public CacheBackend {
 public:
  using Call = std::function<StatusOr<aws::Document>(std::string_view operation, const aws::Document& input)>;

  S3Backend(const std::string& location, Call call) : call_(std::move(call)) {
    S3Object object = ParseS3Location(location);
    bucket_ = object.bucket;
    prefix_ = object.key;
    while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
    if (!prefix_.empty()) prefix_ += '/';
  }

  std::string Describe(const std::string& name) const override { return "s3://" + bucket_ + "/" + prefix_ + name; }

  StatusOr<std::vector<StoredCacheEntry>> List(const std::string& prefix) override {
    std::vector<StoredCacheEntry> entries;
    aws::Document input = {{"Bucket", bucket_}, {"Prefix", prefix_ + prefix}, {"Delimiter", "/"}};
    while (true) {
      auto page = call_("ListObjectsV2", input);
      if (!page.ok()) return Status(page.status().code(), Described(page.status(), "s3"));
      for (const aws::Document& item : page->value("Contents", aws::Document::array())) {
        std::string key = item.value("Key", "");
        entries.push_back({key.substr(prefix_.size() + prefix.size()), FromSeconds(item["LastModified"])});
      }
      if (!page->value("IsTruncated", false)) break;
      input["ContinuationToken"] = page->value("NextContinuationToken", "");
    }
    return entries;
  }

  StatusOr<std::string> Fetch(const std::string& name, const std::string& scratch) override {
    auto got = call_("GetObject", {{"Bucket", bucket_}, {"Key", prefix_ + name}});
    if (!got.ok()) return Status(got.status().code(), Described(got.status(), "s3"));
    const auto& bytes = (*got)["Body"].get_binary();
    std::ofstream out(scratch, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) return Status::Internal("cannot write " + scratch);
    return scratch;
  }

  Status Store(const std::string& file, const std::string& name) override {
    std::error_code ec;
    uintmax_t size = fs::file_size(file, ec);
    if (ec) return Status::Internal("cannot read " + file);
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    std::ifstream in(file, std::ios::binary);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<uintmax_t>(in.gcount()) != size) return Status::Internal("cannot read " + file);
    auto put = call_("PutObject", {{"Bucket", bucket_},
                                   {"Key", prefix_ + name},
                                   {"Body", aws::Document::binary(std::move(bytes))},
                                   {"ContentType", "application/zip"}});
    if (!put.ok()) return Status(put.status().code(), Described(put.status(), "s3"));
    return Status::Ok();
  }

 private:
  Call call_;
  std::string bucket_, prefix_;  // prefix_ "" or ending with '/'
};

class LocalBackend final : public CacheBackend {
 public:
  LocalBackend(std::string root, std::string temp_suffix) : root_(std::move(root)), suffix_(std::move(temp_suffix)) {}

  std::string Describe(const std::string& name) const override { return root_ + "/" + name; }

  StatusOr<std::vector<StoredCacheEntry>> List(const std::string& prefix) override {
    std::vector<StoredCacheEntry> entries;
    std::error_code ec;
    fs::path dir = fs::path(root_) / prefix;
    if (!fs::is_directory(dir, ec)) return entries;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      struct stat st;
      std::string name = entry.path().filename();
      if (name.empty() || name.front() == '.') continue;  // temporary files
      if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      TimePoint modified = std::chrono::time_point_cast<TimePoint::duration>(
          std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
      entries.push_back({name, modified});
    }
    if (ec) return Status::Internal("cannot read " + dir.string() + ": " + ec.message());
    return entries;
  }

  StatusOr<std::string> Fetch(const std::string& name, const std::string&) override { return root_ + "/" + name; }

  Status Store(const std::string& file, const std::string& name) override {
    fs::path target = fs::path(root_) / name;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Status::Internal("cannot create " + target.parent_path().string() + ": " + ec.message());
    fs::permissions(root_, fs::perms::owner_all, fs::perm_options::replace, ec);
    // Written beside the entry and renamed over it, so that a build restoring at the same time
    // reads the old archive or the new one.
    fs::path temp = target.parent_path() / ("." + target.filename().string() + "." + suffix_);
    RemoveStaleTemporaries(target.parent_path());
    fs::copy_file(file, temp, fs::copy_options::overwrite_existing, ec);
    if (!ec) {
      // Flushed before the rename, so that a crash never leaves a renamed but empty entry.
      int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::fsync(fd) != 0) ec = std::error_code(errno, std::generic_category());
      if (fd >= 0) ::close(fd);
    }
    if (!ec) fs::rename(temp, target, ec);
    if (ec) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      return Status::Internal("cannot write " + target.string() + ": " + ec.message());
    }
    return Status::Ok();
  }

  // Removes the temporaries of saves that a crash interrupted: dot-files in dir older than an
  // hour, far longer than a save takes.
  static void RemoveStaleTemporaries(const fs::path& dir) {
    std::error_code ec;
    auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename();
      std::error_code ignored;
      if (name.empty() || name.front() != '.' || !entry.is_regular_file(ignored)) continue;
      auto modified = entry.last_write_time(ignored);
      if (!ignored && modified < cutoff) fs::remove(entry.path(), ignored);
    }
  }

 private:
  std::string root_;
  std::string suffix_;
};

struct CacheSettings {
  std::string type;                 // "S3", "LOCAL" or "NO_CACHE"
  std::set<std::string> modes;
  std::string location, cache_namespace;
};

CacheSettings SettingsOf(const aws::Document& build) {
  const aws::Document& cache = build.value("cache", aws::Document::object());
  CacheSettings settings;
  settings.type = cache.value("type", "NO_CACHE");
  for (const aws::Document& mode : cache.value("modes", aws::Document::array())) {
    if (mode.is_string()) settings.modes.insert(mode.get<std::string>());
  }
  settings.location = cache.value("location", "");
  settings.cache_namespace = cache.value("cacheNamespace", "");
  return settings;
}

// Where the build's cache entries are kept: the S3 location (s3 makes the calls) or, for LOCAL, a
// directory under the state directory; nullptr for LOCAL when Gantry runs without one.
std::unique_ptr<CacheBackend> OpenBackend(const CacheSettings& settings, const std::string& state_dir,
                                          const std::string& account, const std::string& region,
                                          const std::string& temp_suffix, S3Backend::Call s3) {
  if (settings.type == "S3") return std::make_unique<S3Backend>(settings.location, std::move(s3));
  if (state_dir.empty()) return nullptr;
  return std::make_unique<LocalBackend>(LocalCacheRoot(state_dir, account, region), temp_suffix);
}

// When the project's cache was last invalidated (InvalidateProjectCache); entries older are ignored.
TimePoint InvalidatedAt(store::Store& store, const std::string& scope, const std::string& project) {
  auto record = store.Get(kProjectTable, scope, project);
  if (!record.ok() || !*record) return TimePoint{};
  return FromEpochSeconds((*record)->doc.value("CacheInvalidatedAt", 0.0));
}

}  // namespace

Status BuildSession::RestoreCache(const runtime::CacheSpec* spec, const runtime::BuildFilesystem& fs) {
  const aws::Document& build = record_["Build"];
  const CacheSettings settings = SettingsOf(build);
  auto log = [&](const std::string& message) { OnLogLine(runtime::ContainerLine(deps_.clock->Now(), message)); };
  if (settings.type == "LOCAL") {
    if (settings.modes.count("LOCAL_DOCKER_LAYER_CACHE")) {
      log("LOCAL_DOCKER_LAYER_CACHE is not applied: Gantry runs no Docker daemon for builds, so there are no Docker "
          "layers to keep");
    }
    if (settings.modes.count("LOCAL_SOURCE_CACHE")) {
      log("LOCAL_SOURCE_CACHE is not applied: Gantry clones the source afresh for every build");
    }
    if (!settings.modes.count("LOCAL_CUSTOM_CACHE")) {
      if (spec != nullptr) log("Cache paths are not used: the project's LOCAL cache has no LOCAL_CUSTOM_CACHE mode");
      return Status::Ok();
    }
  } else if (settings.type != "S3") {
    return Status::Ok();
  }
  if (spec == nullptr) {
    log("No cache section in the buildspec: nothing is cached (Gantry does not pick dependency directories "
        "by itself)");
    return Status::Ok();
  }
  GANTRY_RETURN_IF_ERROR(CheckCachePaths(spec->paths));
  if (spec->action == "save") {
    log("Cache action is save: the cache is not restored");
    return Status::Ok();
  }

  const std::string project = build.value("projectName", "");
  std::unique_ptr<CacheBackend> backend =
      OpenBackend(settings, options_.state_dir, account_, region_, uuid_,
                  [this](std::string_view op, const aws::Document& in) { return CallAsRole("s3", op, in); });
  if (backend == nullptr) {
    log("The LOCAL cache is not used: Gantry runs without a state directory to keep it in");
    return Status::Ok();
  }
  const TimePoint invalidated = InvalidatedAt(*deps_.store, scope_, project);
  std::string prefix, name;
  if (spec->key.empty()) {
    std::string entry = UnkeyedCacheEntry(project);
    prefix = entry.substr(0, entry.rfind('/') + 1);
    auto listed = backend->List(prefix);
    if (!listed.ok()) {
      log("Unable to restore cache: " + listed.status().message());
      return Status::Ok();
    }
    for (const StoredCacheEntry& e : *listed) {
      if (prefix + e.name == entry && e.modified > invalidated) name = e.name;
    }
  } else {
    prefix = KeyedCachePrefix(CacheScopeDir(project, settings.cache_namespace), CacheVersion(spec->paths));
    auto listed = backend->List(prefix);
    if (!listed.ok()) {
      log("Unable to restore cache: " + listed.status().message());
      return Status::Ok();
    }
    name = ChooseCacheEntry(*listed, spec->key, spec->fallback_keys, invalidated).value_or("");
  }
  if (name.empty()) {
    log(spec->key.empty() ? "Cache is not found: no cache was saved for this project yet"
                          : "Cache is not found for key " + spec->key +
                                (spec->fallback_keys.empty() ? "" : " nor for its fallback keys"));
    return Status::Ok();
  }
  log("Restoring cache from " + backend->Describe(prefix + name));
  const std::string staging = dir_ + "/cache-restore";
  std::error_code ec;
  std::filesystem::remove_all(staging, ec);
  std::filesystem::create_directories(staging, ec);
  auto file = backend->Fetch(prefix + name, dir_ + "/cache-restore.zip");
  Status restored = file.status();
  std::vector<std::string> lines;
  size_t placed = 0;
  if (restored.ok()) restored = archive::ExtractZip(*file, staging);
  if (restored.ok()) {
    CacheTree tree{src_dir_, fs, {options_.state_dir}};
    auto count = PlaceCacheFiles(staging, tree, lines);
    restored = count.status();
    placed = count.ok() ? *count : 0;
  }
  std::filesystem::remove_all(staging, ec);
  std::filesystem::remove(dir_ + "/cache-restore.zip", ec);
  for (const std::string& line : lines) log(line);
  if (!restored.ok()) {
    log("Unable to restore cache: " + restored.message());
    return Status::Ok();
  }
  if (!spec->key.empty() && name != EncodeCacheKey(spec->key) + ".zip") {
    log("Restored cache of a fallback key: " + name.substr(0, name.size() - 4));
  }
  log("Restored " + std::to_string(placed) + " cached file(s)");
  return Status::Ok();
}

Status BuildSession::SaveCache(const runtime::CacheSpec* spec, const runtime::BuildFilesystem& fs) {
  const aws::Document& build = record_["Build"];
  const CacheSettings settings = SettingsOf(build);
  auto log = [&](const std::string& message) { OnLogLine(runtime::ContainerLine(deps_.clock->Now(), message)); };
  bool active = settings.type == "S3" || (settings.type == "LOCAL" && settings.modes.count("LOCAL_CUSTOM_CACHE"));
  if (!active || spec == nullptr) return Status::Ok();
  if (spec->action == "restore") {
    log("Cache action is restore: the cache is not saved");
    return Status::Ok();
  }
  const std::string project = build.value("projectName", "");
  std::unique_ptr<CacheBackend> backend =
      OpenBackend(settings, options_.state_dir, account_, region_, uuid_,
                  [this](std::string_view op, const aws::Document& in) { return CallAsRole("s3", op, in); });
  if (backend == nullptr) {
    log("The LOCAL cache is not used: Gantry runs without a state directory to keep it in");
    return Status::Ok();
  }
  std::string name;
  if (spec->key.empty()) {
    name = UnkeyedCacheEntry(project);
  } else {
    std::string prefix = KeyedCachePrefix(CacheScopeDir(project, settings.cache_namespace), CacheVersion(spec->paths));
    name = prefix + EncodeCacheKey(spec->key) + ".zip";
    // A keyed cache is never updated once made (CodeBuild's rule), unless it was invalidated.
    const TimePoint invalidated = InvalidatedAt(*deps_.store, scope_, project);
    auto listed = backend->List(prefix);
    if (!listed.ok()) {
      log("Unable to save cache: " + listed.status().message());
      return Status::Ok();
    }
    for (const StoredCacheEntry& e : *listed) {
      if (prefix + e.name == name && e.modified > invalidated) {
        log("Cache for key " + spec->key + " exists at " + backend->Describe(name) +
            ": a keyed cache is not updated");
        return Status::Ok();
      }
    }
  }
  CacheTree tree{src_dir_, fs, {options_.state_dir}};
  std::vector<std::string> lines;
  auto files = CollectCacheFiles(spec->paths, tree, lines);
  for (const std::string& line : lines) log(line);
  if (!files.ok()) {
    log("Unable to save cache: " + files.status().message());
    return Status::Ok();
  }
  if (files->empty()) {
    log("Cache paths matched no file: the cache is not saved");
    return Status::Ok();
  }
  const std::string zip = dir_ + "/cache-save.zip";
  Status saved = archive::WriteZipFile(zip, *files, true);
  if (saved.ok()) saved = backend->Store(zip, name);
  std::error_code ec;
  std::filesystem::remove(zip, ec);
  if (!saved.ok()) {
    log("Unable to save cache: " + saved.message());
    return Status::Ok();
  }
  log("Saved " + std::to_string(files->size()) + " file(s) to cache " + backend->Describe(name));
  return Status::Ok();
}

}  // namespace gantry::services::codebuild
