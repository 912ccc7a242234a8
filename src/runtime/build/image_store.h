// The images builds run in: names ("aws/codebuild/standard:7.0", "my/image:1") registered for a
// root file system directory or an OCI image layout on this machine (Gantry's ECR later). An OCI
// layout is unpacked once (umoci) into the store, with its config's Env, WorkingDir and User; a
// rootfs directory is used where it is. Every build of an image shares the unpacked tree read-only
// (docs/containers.md).
//
// Layout under dir: names/<escaped name>.json {name, rootfs, env, working_dir, user, source,
// registered}, written atomically (rename); unpacked/<manifest digest>/ for OCI layouts;
// rootfs/<escaped name>.<id>/ for trees made for the store (gantry image build-standard). The
// registry is files, so `gantry image` works with or without a running server, and a running
// server sees a registration at the next build.
// Thread-safety: the methods may be called from any thread; Register and Remove of the same name
// from two processes at once leave one of them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "runtime/build/build_runner.h"

namespace gantry::runtime {

// Where the images of the state directory state_dir live: <state_dir>/images.
std::string DefaultImageDir(const std::string& state_dir);

// OK when name can name an image: 1 to 255 characters of letters, digits and . _ - / : @ +, not
// starting with '/', '.' or '-'.
Status ValidateImageName(std::string_view name);

class ImageStore;

// A build's hold on the tree of its image: a shared flock on the lock file beside a tree the store
// made (<tree>.lock), from Provision until the build's container is gone. Removing or replacing
// the image deletes the tree only when no lease holds it; else a later collection does.
class ImageLease {
 public:
  ImageLease() = default;
  ImageLease(ImageLease&& other) noexcept;
  ImageLease& operator=(ImageLease&& other) noexcept;
  ImageLease(const ImageLease&) = delete;
  ImageLease& operator=(const ImageLease&) = delete;
  ~ImageLease();

 private:
  friend class ImageStore;
  int fd_ = -1;
};

class ImageStore {
 public:
  explicit ImageStore(std::string dir);

  // The image registered under name; NotFound when none is, FailedPrecondition when its root file
  // system is gone. With lease, the tree (when the store made it) is held for the caller first.
  StatusOr<ContainerImage> Resolve(std::string_view name, ImageLease* lease = nullptr) const;
  // Registers a root file system directory (it must hold /bin/sh or /bin/bash) under name,
  // replacing what the name meant before. Its environment is PATH=<the Debian default> with env
  // ("KEY=VALUE") added over it.
  Status RegisterRootfs(std::string_view name, const std::string& rootfs, const std::vector<std::string>& env = {});
  // Unpacks the image `reference` ("" = the layout's only image) of the OCI image layout at
  // layout (a directory with oci-layout and index.json) and registers it under name, with the
  // config's Env and env ("KEY=VALUE") added over it. An image unpacked before (same manifest
  // digest) is not unpacked again.
  Status RegisterOciLayout(std::string_view name, const std::string& layout, std::string_view reference,
                           const std::vector<std::string>& env = {});
  std::vector<ContainerImage> List() const;
  // Removes the name, then collects garbage (below).
  Status Remove(std::string_view name);
  // Deletes each tree the store made (unpacked layout, built rootfs) that no name uses and no
  // lease holds; a held one stays for a later collection (register, remove, server start).
  void CollectGarbage() const;

  // For trees made for the store (gantry image build-standard): a new empty directory under
  // rootfs/ to build the tree of name in, then AdoptRootfs moves the finished tree to its place
  // and registers it as RegisterRootfs does. hold keeps the staging directory from collection
  // until released (after AdoptRootfs). A staging directory left by a killed earlier build (its
  // hold gone) is removed by CreateStagingDir of the same name and by CollectGarbage (unless
  // something is mounted in it).
  StatusOr<std::string> CreateStagingDir(std::string_view name, ImageLease* hold);
  Status AdoptRootfs(std::string_view name, const std::string& staging_dir, const std::vector<std::string>& env = {});

  const std::string& dir() const { return dir_; }

 private:
  Status Register(std::string_view name, const ContainerImage& image, const std::string& source);
  // The store-made tree holding rootfs (unpacked/<digest> or rootfs/<name>.<id>); nullopt for a
  // directory registered where it is.
  std::optional<std::filesystem::path> TreeOf(const std::string& rootfs) const;

  std::string dir_;
};

}  // namespace gantry::runtime
