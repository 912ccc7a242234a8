#include "services/codebuild/artifacts.h"

#include <zlib.h>

#include <fstream>

#include "core/archive/zip.h"
#include "core/common/crypto.h"
#include "core/common/strings.h"

namespace gantry::services::codebuild {

namespace {

std::string TrimSlashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
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
  std::vector<archive::ZipSourceFile> sources;
  sources.reserve(files.size());
  for (const runtime::ArtifactFile& file : files) sources.push_back({file.path, file.source});
  return archive::WriteZipFile(zip_path, sources, keep_symlinks);
}

StatusOr<std::optional<CloneRef>> ReadCloneRef(const std::string& zip_path) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<std::string> text,
                          archive::ReadOnlyEntry(zip_path, kCloneRefEntry, kMaxCloneRefBytes));
  if (!text) return std::optional<CloneRef>();
  aws::Document ref = aws::Document::parse(*text, nullptr, false);
  if (!ref.is_object() || !ref.contains("cloneUrl") || !ref["cloneUrl"].is_string() || !ref.contains("commitId") ||
      !ref["commitId"].is_string()) {
    return Status::InvalidArgument(std::string("the clone reference ") + kCloneRefEntry +
                                   " does not name a cloneUrl and a commitId");
  }
  return std::optional<CloneRef>(CloneRef{ref["cloneUrl"], ref["commitId"], ref.value("branchName", "")});
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
