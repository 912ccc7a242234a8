// The CODEBUILD_CLONE_REF contract between CodePipeline's CodeCommit source and CodeBuild: a
// source artifact of that output format is a zip whose only entry, kCloneRefEntry, is JSON naming
// the repository to clone and where ({"cloneUrl", "commitId", "branchName"}); a build given such an
// artifact as a source clones it instead of unpacking the archive. Every source artifact also
// carries the revision it holds (a commit id, an S3 version id) as the object's user metadata
// kArtifactRevisionIdKey: CodeBuild shows it as the build's resolvedSourceVersion, as CodeBuild
// shows "the source revision provided by CodePipeline". Constants only.
#pragma once

#include <cstdint>

namespace gantry::services::codebuild {

inline constexpr char kCloneRefEntry[] = "codebuild-clone-ref.json";
inline constexpr char kArtifactRevisionIdKey[] = "codepipeline-artifact-revision-id";
// The most a clone reference may inflate to.
inline constexpr uint64_t kMaxCloneRefBytes = 64 * 1024;

}  // namespace gantry::services::codebuild
