#include "core/archive/zip.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>

#include "core/common/strings.h"

namespace gantry::archive {

namespace {

namespace fs = std::filesystem;

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipHandle = std::unique_ptr<zip_t, ZipDiscard>;

struct SourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};

struct FileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

constexpr size_t kChunk = 64 * 1024;

// The components of a name, without empty and "." ones.
std::vector<std::string> Components(std::string_view name) {
  std::vector<std::string> parts;
  for (std::string_view part : Split(name, '/')) {
    if (!part.empty() && part != ".") parts.emplace_back(part);
  }
  return parts;
}

struct EntryInfo {
  zip_uint64_t index = 0;
  std::string name;
  std::vector<std::string> parts;
  mode_t mode = 0;
  bool directory = false;
  bool symlink = false;
};

// Lists an archive's entries and inflates them, counting the bytes really inflated against the
// limits (the sizes an archive declares are never trusted).
class Reader {
 public:
  Reader(zip_t* z, const ZipLimits& limits) : z_(z), limits_(limits) {}

  StatusOr<std::vector<EntryInfo>> Entries() {
    zip_int64_t count = zip_get_num_entries(z_, 0);
    if (count < 0) return Status::InvalidArgument("zip: not a valid zip file");
    if (static_cast<uint64_t>(count) > limits_.max_entries) {
      return Status::InvalidArgument("zip: the archive has more than " + std::to_string(limits_.max_entries) +
                                     " entries");
    }
    std::vector<EntryInfo> out;
    for (zip_int64_t i = 0; i < count; ++i) {
      EntryInfo e;
      e.index = static_cast<zip_uint64_t>(i);
      const char* name = zip_get_name(z_, e.index, 0);
      if (name == nullptr) return Status::InvalidArgument("zip: entry " + std::to_string(i) + " is corrupt");
      e.name = name;
      if (!SafeZipPath(e.name)) {
        return Status::InvalidArgument("zip: entry " + e.name + " would be written outside its directory");
      }
      e.parts = Components(e.name);
      zip_uint8_t opsys = 0;
      zip_uint32_t attributes = 0;
      zip_file_get_external_attributes(z_, e.index, 0, &opsys, &attributes);
      e.mode = opsys == ZIP_OPSYS_UNIX ? static_cast<mode_t>(attributes >> 16) : 0;
      e.directory = e.name.back() == '/' || S_ISDIR(e.mode);
      e.symlink = !e.directory && S_ISLNK(e.mode);
      out.push_back(std::move(e));
    }
    return out;
  }

  // Hands the entry's inflated bytes to sink in chunks; at most max_bytes of them.
  Status Inflate(const EntryInfo& e, uint64_t max_bytes, const std::function<Status(std::string_view)>& sink) {
    std::unique_ptr<zip_file_t, FileClose> in(zip_fopen_index(z_, e.index, 0));
    if (!in) return Status::InvalidArgument("zip: cannot read entry " + e.name + ": " + zip_strerror(z_));
    uint64_t entry_bytes = 0;
    std::string buffer(kChunk, '\0');
    for (;;) {
      zip_int64_t n = zip_fread(in.get(), buffer.data(), buffer.size());
      if (n < 0) return Status::InvalidArgument("zip: entry " + e.name + " is corrupt");
      if (n == 0) return Status::Ok();
      entry_bytes += static_cast<uint64_t>(n);
      total_ += static_cast<uint64_t>(n);
      if (entry_bytes > max_bytes) {
        return Status::InvalidArgument("zip: entry " + e.name + " inflates to more than " + std::to_string(max_bytes) +
                                       " bytes");
      }
      if (total_ > limits_.max_total_bytes) {
        return Status::InvalidArgument("zip: the archive inflates to more than " +
                                       std::to_string(limits_.max_total_bytes) + " bytes");
      }
      GANTRY_RETURN_IF_ERROR(sink(std::string_view(buffer.data(), static_cast<size_t>(n))));
    }
  }

  StatusOr<std::string> Content(const EntryInfo& e) {
    std::string out;
    GANTRY_RETURN_IF_ERROR(Inflate(e, limits_.max_entry_bytes, [&](std::string_view chunk) {
      out.append(chunk);
      return Status::Ok();
    }));
    return out;
  }

 private:
  zip_t* z_;
  ZipLimits limits_;
  uint64_t total_ = 0;
};

StatusOr<ZipHandle> OpenFile(const std::string& zip_path) {
  int error = 0;
  ZipHandle z(zip_open(zip_path.c_str(), ZIP_RDONLY, &error));
  if (!z) return Status::InvalidArgument("zip: not a valid zip file");
  return z;
}

Status AddSource(zip_t* z, const std::string& path, zip_source_t* source, uint32_t mode) {
  if (source == nullptr) return Status::Internal("cannot add " + path + " to the archive: " + zip_strerror(z));
  zip_int64_t index = zip_file_add(z, path.c_str(), source, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    zip_source_free(source);
    return Status::Internal("cannot add " + path + " to the archive: " + zip_strerror(z));
  }
  zip_file_set_external_attributes(z, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX, mode << 16);
  return Status::Ok();
}

// Whether root/parts[0..count) passes through a symlink on disk.
bool ThroughSymlinkOnDisk(const fs::path& root, const std::vector<std::string>& parts, size_t count) {
  fs::path at = root;
  for (size_t i = 0; i < count; ++i) {
    at /= parts[i];
    std::error_code ec;
    if (fs::is_symlink(at, ec)) return true;
  }
  return false;
}

Status WriteFile(Reader& reader, const EntryInfo& e, const fs::path& target, uint64_t max_bytes) {
  mode_t mode = e.mode & 0777 ? e.mode & 0777 : 0644;
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return Status::Internal("cannot create " + target.string() + ": " + std::strerror(errno));
  Status result = reader.Inflate(e, max_bytes, [&](std::string_view chunk) {
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
      return Status::Internal("cannot write " + target.string() + ": " + std::strerror(errno));
    }
    return Status::Ok();
  });
  ::close(fd);
  return result;
}

}  // namespace

bool SafeZipPath(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos) return false;
  for (std::string_view part : Split(name, '/')) {
    if (part == "..") return false;
  }
  return !Components(name).empty();
}

StatusOr<std::string> WriteZip(const std::vector<ZipEntry>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  std::unique_ptr<zip_source_t, SourceFree> buffer(zip_source_buffer_create(nullptr, 0, 0, &error));
  if (!buffer) return Status::Internal("cannot create an archive in memory");
  ZipHandle z(zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &error));
  if (!z) return Status::Internal(std::string("cannot create an archive: ") + zip_error_strerror(&error));
  // The archive takes a reference to the buffer; keep ours to read the bytes after zip_close.
  zip_source_keep(buffer.get());
  for (const ZipEntry& entry : entries) {
    uint32_t mode = entry.symlink ? (S_IFLNK | 0777) : (S_IFREG | (entry.mode & 0777));
    GANTRY_RETURN_IF_ERROR(AddSource(z.get(), entry.path,
                                     zip_source_buffer(z.get(), entry.content.data(), entry.content.size(), 0), mode));
  }
  if (zip_close(z.get()) != 0) return Status::Internal(std::string("cannot write the archive: ") + zip_strerror(z.get()));
  z.release();
  if (zip_source_open(buffer.get()) != 0) return Status::Internal("cannot read the archive back");
  zip_source_seek(buffer.get(), 0, SEEK_END);
  zip_int64_t size = zip_source_tell(buffer.get());
  zip_source_seek(buffer.get(), 0, SEEK_SET);
  std::string bytes(size > 0 ? static_cast<size_t>(size) : 0, '\0');
  zip_int64_t read = bytes.empty() ? 0 : zip_source_read(buffer.get(), bytes.data(), bytes.size());
  zip_source_close(buffer.get());
  if (read != static_cast<zip_int64_t>(bytes.size())) return Status::Internal("cannot read the archive back");
  return bytes;
}

Status WriteZipFile(const std::string& zip_path, const std::vector<ZipSourceFile>& files, bool keep_symlinks) {
  int error = 0;
  ZipHandle z(zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error));
  if (!z) return Status::Internal("cannot create the archive " + zip_path);
  // Symlink targets must outlive the archive's sources until zip_close.
  std::vector<std::unique_ptr<std::string>> targets;
  for (const ZipSourceFile& file : files) {
    struct stat st;
    if (::lstat(file.source.c_str(), &st) != 0) {
      return Status::InvalidArgument("cannot read file " + file.path + ": " + std::strerror(errno));
    }
    bool symlink = S_ISLNK(st.st_mode) && keep_symlinks;
    if (symlink) {
      std::error_code ec;
      targets.push_back(std::make_unique<std::string>(fs::read_symlink(file.source, ec).string()));
      if (ec) return Status::InvalidArgument("cannot read symlink " + file.path + ": " + ec.message());
      const std::string& target = *targets.back();
      GANTRY_RETURN_IF_ERROR(AddSource(z.get(), file.path, zip_source_buffer(z.get(), target.data(), target.size(), 0),
                                       S_IFLNK | 0777));
      continue;
    }
    if (S_ISLNK(st.st_mode) && ::stat(file.source.c_str(), &st) != 0) {
      return Status::InvalidArgument("symlink " + file.path + " points to nothing");
    }
    if (!S_ISREG(st.st_mode)) continue;
    GANTRY_RETURN_IF_ERROR(AddSource(z.get(), file.path, zip_source_file(z.get(), file.source.c_str(), 0, -1),
                                     S_IFREG | (st.st_mode & 0777)));
  }
  // zip_close writes the archive (and frees the handle) only on success.
  if (zip_close(z.get()) != 0) return Status::Internal(std::string("cannot write the archive: ") + zip_strerror(z.get()));
  z.release();
  return Status::Ok();
}

StatusOr<std::vector<ZipEntry>> ReadZip(std::string_view bytes, const ZipLimits& limits) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) return Status::Internal("cannot read the archive");
  ZipHandle z(zip_open_from_source(source, ZIP_RDONLY, &error));
  if (!z) {
    zip_source_free(source);
    return Status::InvalidArgument("zip: not a valid zip file");
  }
  Reader reader(z.get(), limits);
  GANTRY_ASSIGN_OR_RETURN(std::vector<EntryInfo> entries, reader.Entries());
  std::vector<ZipEntry> out;
  for (const EntryInfo& e : entries) {
    if (e.directory) continue;
    ZipEntry entry;
    entry.path = e.name;
    entry.symlink = e.symlink;
    entry.mode = e.mode & 0777 ? e.mode & 0777 : 0644;
    GANTRY_ASSIGN_OR_RETURN(entry.content, reader.Content(e));
    out.push_back(std::move(entry));
  }
  return out;
}

StatusOr<std::optional<std::string>> ReadOnlyEntry(const std::string& zip_path, std::string_view name,
                                                   uint64_t max_bytes) {
  GANTRY_ASSIGN_OR_RETURN(ZipHandle z, OpenFile(zip_path));
  if (zip_get_num_entries(z.get(), 0) != 1) return std::optional<std::string>();
  const char* only = zip_get_name(z.get(), 0, 0);
  if (only == nullptr || std::string_view(only) != name) return std::optional<std::string>();
  ZipLimits limits;
  limits.max_entries = 1;
  limits.max_entry_bytes = max_bytes;
  limits.max_total_bytes = max_bytes;
  Reader reader(z.get(), limits);
  GANTRY_ASSIGN_OR_RETURN(std::vector<EntryInfo> entries, reader.Entries());
  GANTRY_ASSIGN_OR_RETURN(std::string content, reader.Content(entries[0]));
  return std::optional<std::string>(std::move(content));
}

Status ExtractZip(const std::string& zip_path, const std::string& dir, const ZipLimits& limits) {
  GANTRY_ASSIGN_OR_RETURN(ZipHandle z, OpenFile(zip_path));
  Reader reader(z.get(), limits);
  GANTRY_ASSIGN_OR_RETURN(std::vector<EntryInfo> entries, reader.Entries());
  const fs::path root(dir);
  struct Link {
    const EntryInfo* entry;
    std::string target;
  };
  std::vector<Link> links;
  std::set<std::string> link_paths;
  for (const EntryInfo& e : entries) {
    size_t parents = e.directory ? e.parts.size() : e.parts.size() - 1;
    if (ThroughSymlinkOnDisk(root, e.parts, parents)) {
      return Status::InvalidArgument("zip: entry " + e.name + " would be written through a symlink");
    }
    fs::path target = root;
    for (const std::string& part : e.parts) target /= part;
    std::error_code ec;
    fs::create_directories(e.directory ? target : target.parent_path(), ec);
    if (ec) return Status::Internal("cannot create " + target.string() + ": " + ec.message());
    if (e.directory) continue;
    if (e.symlink) {
      GANTRY_ASSIGN_OR_RETURN(std::string link_target, reader.Content(e));
      links.push_back({&e, std::move(link_target)});
      link_paths.insert(Join(e.parts, "/"));
      continue;
    }
    GANTRY_RETURN_IF_ERROR(WriteFile(reader, e, target, limits.max_entry_bytes));
  }
  // Symlinks last, so that no file is ever written through one. Each target is resolved from the
  // link's directory component by component; it must stay inside dir and pass through no symlink
  // (of the archive, created or not yet, or already in dir), so what it names is what it resolves to.
  for (const Link& link : links) {
    const std::string name = Join(link.entry->parts, "/");
    if (link.target.empty() || link.target.front() == '/') {
      return Status::InvalidArgument("zip: symlink " + name + " points outside the directory");
    }
    std::vector<std::string> at(link.entry->parts.begin(), link.entry->parts.end() - 1);
    for (std::string_view part : Split(link.target, '/')) {
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (at.empty()) return Status::InvalidArgument("zip: symlink " + name + " points outside the directory");
        at.pop_back();
        continue;
      }
      at.emplace_back(part);
      if (link_paths.count(Join(at, "/")) || ThroughSymlinkOnDisk(root, at, at.size())) {
        return Status::InvalidArgument("zip: symlink " + name + " points through another symlink");
      }
    }
    fs::path target = root;
    for (const std::string& part : link.entry->parts) target /= part;
    std::error_code ec;
    fs::create_symlink(link.target, target, ec);
    if (ec) return Status::Internal("cannot create symlink " + target.string() + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace gantry::archive
