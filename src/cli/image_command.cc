#include "cli/image_command.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "core/common/strings.h"
#include "runtime/build/image_store.h"
#include "server/config.h"

extern char** environ;

namespace gantry::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kImageUsage = R"USAGE(usage: gantry image <command> [flags]

The images CodeBuild projects name in environment.image, for builds in containers.

commands:
  register NAME DIR [--env KEY=VALUE ...]
                  register a root file system directory (it must hold /bin/sh or /bin/bash),
                  used where it is, or an OCI image layout DIR[:REF], unpacked into the store;
                  --env adds or replaces a variable of the image's environment (repeatable)
  list            the registered images: name, root file system, environment
  remove NAME     forget NAME (a tree the store made for it goes when no other name uses it)
  build-standard [--name NAME] [--suite SUITE] [--mirror URL] [--include PKG,...]
                  make a Debian root file system with common build tools (debootstrap, as
                  root) and register it; default name aws/codebuild/standard:7.0, suite
                  bookworm, mirror http://deb.debian.org/debian; --include replaces the
                  package list ('' = Debian's minbase only), --include +PKG,... adds to it

flags:
  --state-dir DIR   GANTRY_STATE_DIR   default ~/.local/share/gantry; images are kept in DIR/images
)USAGE";

// What build-standard installs over minbase: the tools of CodeBuild's standard image that Debian
// ships (docs/containers.md). python3-cffi-backend is named because debootstrap does not resolve
// the virtual package python3-cryptography depends on.
constexpr const char* kStandardPackages =
    "bash,ca-certificates,curl,wget,git,openssh-client,make,gcc,g++,libc6-dev,python3,python3-pip,python3-venv,"
    "python3-cffi-backend,nodejs,awscli,jq,zip,unzip,tar,gzip,bzip2,xz-utils,less,procps,file";

struct ImageArgs {
  std::string state_dir;
  std::vector<std::string> positional;
  std::vector<std::string> env;
  std::optional<std::string> name, suite, mirror, include;
};

StatusOr<ImageArgs> ParseImageArgs(const std::vector<std::string>& args) {
  ImageArgs a;
  const char* state = std::getenv("GANTRY_STATE_DIR");
  a.state_dir = state && *state ? state : server::DefaultStateDir();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto take = [&]() -> StatusOr<std::string> {
      if (i + 1 >= args.size()) return Status::InvalidArgument(flag + " needs a value");
      return args[++i];
    };
    if (flag == "--state-dir") {
      GANTRY_ASSIGN_OR_RETURN(a.state_dir, take());
      if (a.state_dir.empty()) return Status::InvalidArgument("--state-dir must not be empty");
    } else if (flag == "--env") {
      GANTRY_ASSIGN_OR_RETURN(std::string kv, take());
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return Status::InvalidArgument("--env takes KEY=VALUE, got '" + kv + "'");
      a.env.push_back(kv);
    } else if (flag == "--name") {
      GANTRY_ASSIGN_OR_RETURN(a.name, take());
    } else if (flag == "--suite") {
      GANTRY_ASSIGN_OR_RETURN(a.suite, take());
    } else if (flag == "--mirror") {
      GANTRY_ASSIGN_OR_RETURN(a.mirror, take());
    } else if (flag == "--include") {
      GANTRY_ASSIGN_OR_RETURN(a.include, take());
    } else if (flag.size() > 1 && flag[0] == '-') {
      return Status::InvalidArgument("unknown flag " + flag);
    } else {
      a.positional.push_back(flag);
    }
  }
  return a;
}

int Usage(const std::string& message) {
  std::cerr << "gantry image: " << message << "\n" << kImageUsage;
  return 2;
}

int Fail(const Status& status) {
  std::cerr << "gantry image: " << status.message() << "\n";
  return 1;
}

bool IsOciLayout(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "oci-layout", ec) && fs::exists(dir / "index.json", ec);
}

int Register(runtime::ImageStore& store, const ImageArgs& a) {
  if (a.positional.size() != 2) return Usage("register takes NAME and DIR");
  const std::string& name = a.positional[0];
  const std::string& source = a.positional[1];
  if (Status valid = runtime::ValidateImageName(name); !valid.ok()) return Usage(valid.message());
  Status registered;
  size_t colon = source.rfind(':');
  if (IsOciLayout(source)) {
    registered = store.RegisterOciLayout(name, source, "", a.env);
  } else if (colon != std::string::npos && colon > 0 && IsOciLayout(source.substr(0, colon))) {
    registered = store.RegisterOciLayout(name, source.substr(0, colon), source.substr(colon + 1), a.env);
  } else {
    registered = store.RegisterRootfs(name, source, a.env);
  }
  if (!registered.ok()) return Fail(registered);
  auto image = store.Resolve(name);
  if (!image.ok()) return Fail(image.status());
  std::cout << "registered " << image->name << ": " << image->rootfs << "\n";
  return 0;
}

int List(const runtime::ImageStore& store, const ImageArgs& a) {
  if (!a.positional.empty()) return Usage("list takes no arguments");
  for (const runtime::ContainerImage& image : store.List()) {
    std::cout << image.name << "\t" << image.rootfs << "\t" << Join(image.env, " ");
    if (!image.working_dir.empty()) std::cout << "\tworkdir=" << image.working_dir;
    if (!image.user.empty()) std::cout << "\tuser=" << image.user;
    std::cout << "\n";
  }
  return 0;
}

int Remove(runtime::ImageStore& store, const ImageArgs& a) {
  if (a.positional.size() != 1) return Usage("remove takes NAME");
  if (Status valid = runtime::ValidateImageName(a.positional[0]); !valid.ok()) return Usage(valid.message());
  Status removed = store.Remove(a.positional[0]);
  if (!removed.ok()) return Fail(removed);
  std::cout << "removed " << a.positional[0] << "\n";
  return 0;
}

// Runs argv with this process's stdout and stderr (debootstrap's progress lines go straight to
// the terminal); its exit code, or an error when it could not start or was killed.
StatusOr<int> RunInherited(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (spawned != 0) {
    return Status::FailedPrecondition("cannot run " + argv[0] + ": " + std::strerror(spawned) +
                                      (spawned == ENOENT ? " (apt-get install " + argv[0] + ")" : ""));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status)) return Status::Internal(argv[0] + " was killed by signal " + std::to_string(WTERMSIG(status)));
  return WEXITSTATUS(status);
}

uintmax_t TreeBytes(const fs::path& root) {
  uintmax_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

int BuildStandard(runtime::ImageStore& store, const ImageArgs& a) {
  if (!a.positional.empty()) return Usage("build-standard takes only flags");
  std::string name = a.name.value_or("aws/codebuild/standard:7.0");
  std::string suite = a.suite.value_or("bookworm");
  std::string mirror = a.mirror.value_or("http://deb.debian.org/debian");
  std::string include = a.include.value_or(kStandardPackages);
  if (!include.empty() && include[0] == '+') include = std::string(kStandardPackages) + "," + include.substr(1);
  if (Status valid = runtime::ValidateImageName(name); !valid.ok()) return Usage(valid.message());
  if (::geteuid() != 0) {
    return Fail(Status::PermissionDenied("build-standard runs debootstrap, which needs root; run it as root with the "
                                         "same --state-dir (" + a.state_dir + ")"));
  }
  runtime::ImageLease staging_hold;  // until the tree is adopted
  auto staging = store.CreateStagingDir(name, &staging_hold);
  if (!staging.ok()) return Fail(staging.status());
  auto started = std::chrono::steady_clock::now();
  std::cout << "gantry image: building " << name << " from Debian " << suite << " (" << mirror << ") in " << *staging
            << "\ngantry image: packages over minbase: " << (include.empty() ? "(none)" : include) << std::endl;
  std::vector<std::string> argv = {"debootstrap", "--variant=minbase"};
  if (!include.empty()) argv.push_back("--include=" + include);
  argv.insert(argv.end(), {suite, *staging, mirror});
  auto exit_code = RunInherited(argv);
  if (!exit_code.ok()) return Fail(exit_code.status());
  if (*exit_code != 0) {
    std::cerr << "gantry image: debootstrap failed with exit code " << *exit_code << "; its log is " << *staging
              << "/debootstrap/debootstrap.log (the next build-standard of " << name << " removes the tree)\n";
    return 1;
  }
  // The downloaded packages are not part of the image.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(*staging) / "var/cache/apt/archives", ec)) {
    if (entry.path().extension() == ".deb") fs::remove(entry.path(), ec);
  }
  std::cout << "gantry image: debootstrap done, registering " << name << std::endl;
  Status adopted = store.AdoptRootfs(name, *staging, {"LANG=C.UTF-8"});
  if (!adopted.ok()) return Fail(adopted);
  auto image = store.Resolve(name);
  if (!image.ok()) return Fail(image.status());
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count();
  std::cout << "registered " << image->name << ": " << image->rootfs << " (" << TreeBytes(image->rootfs) / (1024 * 1024)
            << " MiB, " << seconds << " s)\n";
  return 0;
}

}  // namespace

int Image(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kImageUsage;
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  auto parsed = ParseImageArgs(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!parsed.ok()) return Usage(parsed.status().message());
  if (command != "build-standard" && (parsed->name || parsed->suite || parsed->mirror || parsed->include)) {
    return Usage("--name, --suite, --mirror and --include are flags of build-standard");
  }
  if (command != "register" && !parsed->env.empty()) return Usage("--env is a flag of register");
  runtime::ImageStore store(runtime::DefaultImageDir(parsed->state_dir));
  if (command == "register") return Register(store, *parsed);
  if (command == "list") return List(store, *parsed);
  if (command == "remove") return Remove(store, *parsed);
  if (command == "build-standard") return BuildStandard(store, *parsed);
  return Usage("unknown command '" + command + "'");
}

}  // namespace gantry::cli
