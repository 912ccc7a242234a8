#include "services/codebuild/artifacts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "core/common/crypto.h"
#include "core/common/strings.h"

namespace gantry::services::codebuild {

namespace {

namespace fs = std::filesystem;

std::string TrimSlashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipHandle = std::unique_ptr<zip_t, ZipCloser>;

struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

std::string ZipError(zip_t* z) { return zip_strerror(z); }

// An entry name split into its components; nullopt when it is absolute or climbs out with "..".
std::optional<std::vector<std::string>> SafeComponents(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos) return std::nullopt;
  std::vector<std::string> parts;
  for (std::string_view part : Split(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    parts.emplace_back(part);
  }
  if (parts.empty()) return std::nullopt;
  return parts;
}

Status WriteEntry(zip_t* z, zip_uint64_t index, const fs::path& target, mode_t mode) {
  std::unique_ptr<zip_file_t, ZipFileCloser> in(zip_fopen_index(z, index, 0));
  if (!in) return Status::InvalidArgument("zip: cannot read entry " + target.filename().string() + ": " + ZipError(z));
  int fd =
      ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode & 0777 ? mode & 0777 : 0644);
  if (fd < 0) return Status::Internal("cannot create " + target.string() + ": " + std::strerror(errno));
  char buffer[65536];
  zip_int64_t n;
  Status result;
  while ((n = zip_fread(in.get(), buffer, sizeof buffer)) > 0) {
    if (::write(fd, buffer, static_cast<size_t>(n)) != n) {
      result = Status::Internal("cannot write " + target.string() + ": " + std::strerror(errno));
      break;
    }
  }
  if (n < 0 && result.ok())
    result = Status::InvalidArgument("zip: entry " + target.filename().string() + " is corrupt");
  ::close(fd);
  return result;
}

}  // namespace

std::string S3Object::Arn() const { return "arn:aws:s3:::" + bucket + (key.empty() ? "" : "/" + key); }

S3Object ParseS3Location(std::string_view location) {
  if (location.rfind("arn:aws:s3:::", 0) == 0) location.remove_prefix(13);
  size_t slash = location.find('/');
  if (slash == std::string_view::npos) return {std::string(location), ""};
  return {std::string(location.substr(0, slash)), std::string(location.substr(slash + 1))};
}

S3Object ArtifactObject(const aws::Document& artifacts, std::string_view build_uuid, std::string_view project,
                        std::string_view buildspec_name, std::string_view s3_prefix) {
  S3Object out = ParseS3Location(artifacts.value("location", ""));
  bool build_id = artifacts.value("namespaceType", "NONE") == "BUILD_ID";
  std::string path = artifacts.value("path", "");
  if (build_id && !s3_prefix.empty()) path = std::string(s3_prefix);
  std::string name = artifacts.value("name", "");
  if (artifacts.value("overrideArtifactName", false) && !buildspec_name.empty()) name = std::string(buildspec_name);
  if (name.empty()) name = std::string(project);
  std::vector<std::string> parts;
  for (const std::string& part : {out.key, TrimSlashes(path)}) {
    if (!TrimSlashes(part).empty()) parts.push_back(TrimSlashes(part));
  }
  if (build_id) parts.emplace_back(build_uuid);
  if (!TrimSlashes(name).empty()) parts.push_back(TrimSlashes(name));
  out.key = Join(parts, "/");
  return out;
}

Status WriteZip(const std::string& zip_path, const std::vector<runtime::ArtifactFile>& files, bool keep_symlinks) {
  int error = 0;
  ZipHandle z(zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error));
  if (!z) return Status::Internal("cannot create the artifact archive " + zip_path);
  for (const runtime::ArtifactFile& file : files) {
    struct stat st;
    if (::lstat(file.source.c_str(), &st) != 0) {
      return Status::InvalidArgument("cannot read artifact file " + file.path + ": " + std::strerror(errno));
    }
    zip_source_t* source = nullptr;
    std::string link_target;
    bool symlink = S_ISLNK(st.st_mode) && keep_symlinks;
    if (symlink) {
      std::error_code ec;
      link_target = fs::read_symlink(file.source, ec).string();
      if (ec) return Status::InvalidArgument("cannot read artifact symlink " + file.path + ": " + ec.message());
      source = zip_source_buffer(z.get(), link_target.data(), link_target.size(), 0);
    } else {
      if (S_ISLNK(st.st_mode) && ::stat(file.source.c_str(), &st) != 0) {
        return Status::InvalidArgument("artifact symlink " + file.path + " points to nothing");
      }
      if (!S_ISREG(st.st_mode)) continue;
      source = zip_source_file(z.get(), file.source.c_str(), 0, -1);
    }
    if (source == nullptr) return Status::Internal("cannot add " + file.path + " to the archive: " + ZipError(z.get()));
    zip_int64_t index = zip_file_add(z.get(), file.path.c_str(), source, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      return Status::Internal("cannot add " + file.path + " to the archive: " + ZipError(z.get()));
    }
    uint32_t mode = symlink ? (S_IFLNK | 0777) : (S_IFREG | (st.st_mode & 0777));
    zip_file_set_external_attributes(z.get(), static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX, mode << 16);
  }
  // zip_close writes the archive (and frees the handle) only on success.
  if (zip_close(z.get()) != 0) return Status::Internal("cannot write the artifact archive: " + ZipError(z.get()));
  z.release();
  return Status::Ok();
}

Status ExtractZip(const std::string& zip_path, const std::string& dir) {
  int error = 0;
  ZipHandle z(zip_open(zip_path.c_str(), ZIP_RDONLY, &error));
  if (!z) return Status::InvalidArgument("zip: not a valid zip file");
  zip_int64_t count = zip_get_num_entries(z.get(), 0);
  struct Link {
    fs::path at;
    std::string target;
    std::vector<std::string> parts;
  };
  std::vector<Link> links;
  const fs::path root(dir);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    if (zip_stat_index(z.get(), static_cast<zip_uint64_t>(i), 0, &st) != 0 || st.name == nullptr) {
      return Status::InvalidArgument("zip: entry " + std::to_string(i) + " is corrupt");
    }
    std::string name = st.name;
    std::optional<std::vector<std::string>> parts = SafeComponents(name);
    if (!parts) return Status::InvalidArgument("zip: entry " + name + " would be written outside the source directory");
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    zip_file_get_external_attributes(z.get(), static_cast<zip_uint64_t>(i), 0, &opsys, &attributes);
    mode_t mode = opsys == ZIP_OPSYS_UNIX ? static_cast<mode_t>(attributes >> 16) : 0;
    fs::path target = root;
    for (const std::string& part : *parts) target /= part;
    std::error_code ec;
    bool directory = name.back() == '/' || S_ISDIR(mode);
    fs::create_directories(directory ? target : target.parent_path(), ec);
    if (ec) return Status::Internal("cannot create " + target.string() + ": " + ec.message());
    if (directory) continue;
    if (S_ISLNK(mode)) {
      std::unique_ptr<zip_file_t, ZipFileCloser> in(zip_fopen_index(z.get(), static_cast<zip_uint64_t>(i), 0));
      std::string link(st.size, '\0');
      if (!in || zip_fread(in.get(), link.data(), st.size) != static_cast<zip_int64_t>(st.size)) {
        return Status::InvalidArgument("zip: entry " + name + " is corrupt");
      }
      links.push_back({target, link, *parts});
      continue;
    }
    GANTRY_RETURN_IF_ERROR(WriteEntry(z.get(), static_cast<zip_uint64_t>(i), target, mode));
  }
  // Symlinks last, so that no file is ever written through one; each must resolve inside dir.
  for (const Link& link : links) {
    if (link.target.empty() || link.target.front() == '/') {
      return Status::InvalidArgument("zip: symlink " + Join(link.parts, "/") + " points outside the source directory");
    }
    std::vector<std::string> at(link.parts.begin(), link.parts.end() - 1);
    for (std::string_view part : Split(link.target, '/')) {
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (at.empty()) {
          return Status::InvalidArgument("zip: symlink " + Join(link.parts, "/") +
                                         " points outside the source directory");
        }
        at.pop_back();
      } else {
        at.emplace_back(part);
      }
    }
    std::error_code ec;
    fs::create_symlink(link.target, link.at, ec);
    if (ec) return Status::Internal("cannot create symlink " + link.at.string() + ": " + ec.message());
  }
  return Status::Ok();
}

Status GzipFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return Status::Internal("cannot read " + from);
  gzFile out = gzopen(to.c_str(), "wb");
  if (out == nullptr) return Status::Internal("cannot create " + to);
  char buffer[65536];
  Status result;
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    if (gzwrite(out, buffer, static_cast<unsigned>(in.gcount())) != static_cast<int>(in.gcount())) {
      result = Status::Internal("cannot write " + to);
      break;
    }
  }
  if (gzclose(out) != Z_OK && result.ok()) result = Status::Internal("cannot write " + to);
  return result;
}

StatusOr<FileDigests> DigestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Internal("cannot read " + path);
  Hasher md5(DigestAlgorithm::kMd5);
  Hasher sha256(DigestAlgorithm::kSha256);
  FileDigests out;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    std::string_view chunk(buffer, static_cast<size_t>(in.gcount()));
    md5.Update(chunk);
    sha256.Update(chunk);
    out.size += chunk.size();
  }
  out.md5 = HexEncode(md5.Final());
  out.sha256 = HexEncode(sha256.Final());
  return out;
}

}  // namespace gantry::services::codebuild
