// Build inputs and outputs as files: where CodeBuild puts an artifact in S3 (its location, path,
// namespaceType and name rules), artifact archives (through core/archive/zip.h, which also unpacks
// sources safely), clone references, and gzip for S3 logs.
// Pure functions over the file system; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/common/status.h"
#include "runtime/build/build_runner.h"
#include "services/codebuild/clone_ref.h"

namespace gantry::services::codebuild {

// An S3 bucket and key (or key prefix, for packaging NONE).
struct S3Object {
  std::string bucket;
  std::string key;
  std::string Arn() const;  // arn:aws:s3:::bucket/key
};

// "bucket/key..." or "arn:aws:s3:::bucket/key..." split at the first '/'; the key may be empty.
S3Object ParseS3Location(std::string_view location);

// Where an S3 artifact goes, from the ProjectArtifacts settings: <path>/<build uuid if namespaceType
// is BUILD_ID>/<name>, where name is the buildspec's when overrideArtifactName is set and the
// buildspec names one, else the settings' name, else the project name; a name of "/" stores the
// artifact at the path itself. With namespaceType BUILD_ID, a buildspec s3-prefix replaces path.
S3Object ArtifactObject(const aws::Document& artifacts, std::string_view build_uuid, std::string_view project,
                        std::string_view buildspec_name = {}, std::string_view s3_prefix = {});

// Writes the selected files to a zip archive at zip_path (regular files with their permission bits;
// symlinks as symlink entries when the artifact enables them, else the file they point to).
Status WriteZip(const std::string& zip_path, const std::vector<runtime::ArtifactFile>& files, bool keep_symlinks);

// A CodePipeline source artifact of output format CODEBUILD_CLONE_REF (clone_ref.h): the build
// clones the repository it names instead of unpacking the archive.
struct CloneRef {
  std::string clone_url;
  std::string commit_id;
  std::string branch_name;
};
// The clone reference a zip holds; nullopt for any other archive.
StatusOr<std::optional<CloneRef>> ReadCloneRef(const std::string& zip_path);

// Compresses a file into a gzip file.
Status GzipFile(const std::string& from, const std::string& to);

// MD5 and SHA-256 of a file, lower-case hex.
struct FileDigests {
  std::string md5;
  std::string sha256;
  uint64_t size = 0;
};
StatusOr<FileDigests> DigestFile(const std::string& path);

}  // namespace gantry::services::codebuild
