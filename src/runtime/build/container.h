// A build's OCI container, the pieces HostSandbox::StartContainer puts together: the bundle's
// config.json (namespaces, mounts, capabilities, devices, cgroup limits), its root file system
// (an overlay over the image's shared rootfs, or a copy where overlayfs is refused), the runc
// command line, and the cleanup of containers and overlays a killed Gantry left behind.
// docs/containers.md says what a container isolates and why.
//
// Bundle layout (<work dir>/container, 0700): config.json, rootfs/ (the overlay's merged directory
// or the copy), upper/ and work/ (the overlay's), lock (flock'd by the build's sandbox while it
// lives), runc.log (runc's stderr).
//
// Thread-safety: free functions over their arguments; RemoveStaleContainers and the rootfs
// functions touch only the bundles they are given or find unlocked.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/status.h"
#include "runtime/build/build_runner.h"

namespace gantry::runtime {

struct ContainerSpec {
  std::string id;                         // runc's container id: ContainerId(<build tree>)
  std::string bundle;                     // see the layout above
  ContainerImage image;
  // Host directories mounted read-write at the same path inside (the build's tree, its source).
  std::vector<std::string> shared;
  std::string init_program;               // host path of gantry-build-init
  NetworkMode network = NetworkMode::kHost;
  bool privileged = false;
  uint64_t memory_bytes = 0;
  int max_pids = 0;
  double cpus = 0;
  std::string cgroup_path;                // relative to runc's own cgroup: "gantry/<name>"
};

// A device node to create in a privileged container (Docker --privileged gives them all).
struct HostDevice {
  std::string path;
  char type = 'c';                        // 'c' or 'b'
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t mode = 0;                      // permission bits
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// Where the init program is bind-mounted inside the container (read-only).
inline constexpr const char* kContainerInitPath = "/sbin/gantry-build-init";

// The bundle's config.json. devices: the host's, for a privileged container (else unused).
nlohmann::json OciConfig(const ContainerSpec& spec, const std::vector<HostDevice>& devices);
// Every character and block device under /dev, as Docker's --privileged lists them (pts, shm,
// mqueue and the like left out).
std::vector<HostDevice> ListHostDevices(const std::string& dev = "/dev");

// Makes <bundle>/rootfs: an overlay (lower: the image's rootfs, upper/work in the bundle), else a
// copy (cp -a). Returns a line saying which, for the build's log.
StatusOr<std::string> PrepareRootfs(const ContainerSpec& spec);
// Unmounts <bundle>/rootfs (lazily, if it is a mount) and removes the bundle.
void ReleaseBundle(const std::string& bundle);

// 12 hex digits of the SHA-256 of path made absolute: what tells two Gantry instances apart.
std::string InstanceTag(const std::string& path);
// runc's state directory for the containers of the Gantry whose state directory is state_dir
// (--root): /run/gantry-runc-<InstanceTag(state_dir)>, one per instance.
std::string DefaultRuncRoot(const std::string& state_dir);
// runc's container id for the build tree work_dir: "gantry-<8 hex of its path>-<its name>", which
// no other build tree on this machine has, whichever Gantry made it.
std::string ContainerId(const std::string& work_dir);
// runc on PATH, else /usr/sbin/runc; "" when there is none.
std::string FindRunc();
// Run once when a Gantry starts (before any build), not at each container start. Containers
// named gantry-* in runc_root whose bundle is gone or whose bundle lock is not held (their build's
// Gantry died): `runc delete --force`; a container directory without state.json only when older
// than min_age (runc makes the directory before it writes the state: younger, it may be starting).
// Overlays at <work_root>/*/container/rootfs (this Gantry's build trees; another Gantry's are its
// own to clean) whose bundle lock is not held or gone: unmounted and the bundle removed. Serialized by a mutex and by an flock on the runc root directory.
void RemoveStaleContainers(const std::string& runc, const std::string& runc_root, const std::string& work_root,
                           std::chrono::seconds min_age = std::chrono::seconds(60));
// Lazily unmounts every mount point below dir (not dir itself), deepest first. Returns whether
// nothing is mounted below dir afterwards.
bool UnmountAllUnder(const std::string& dir);

// Opens path (absolute, as a process inside sees it) below root, following links as they would be
// followed there (openat2 RESOLVE_IN_ROOT). -1 and errno on failure.
int OpenInRoot(const std::string& root, const std::string& path, int flags);
// The text of a regular file inside root ("" when missing), opened the same way without blocking
// (a FIFO or device there is an error, not a hang); an error too when larger than max_bytes.
StatusOr<std::string> ReadInRoot(const std::string& root, const std::string& path, size_t max_bytes = 16u << 20);
// The first executable regular file named program in path_value's directories ("/usr/bin:/bin"),
// resolved inside root; "" when none. An absolute program is checked as it is.
std::string FindInRoot(const std::string& root, const std::string& program, const std::string& path_value);

}  // namespace gantry::runtime
