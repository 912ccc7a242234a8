// libFuzzer target for the zip archives CodeBuild unpacks as S3 and pipeline sources
// (core/archive/zip.h, ExtractZip): the input is an archive. Any input must yield a
// Status, never a crash or a hang, and nothing may be written outside the source directory.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/archive/zip.h"

namespace fs = std::filesystem;

namespace {

// A scratch directory for the whole run, removed at exit.
struct Scratch {
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/gantry-zip-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~Scratch() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
  fs::path path;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Scratch scratch;
  const fs::path& root = scratch.path;
  if (root.empty()) return 0;
  fs::path zip = root / "input.zip";
  fs::path box = root / "box";
  fs::path src = box / "src";
  {
    std::ofstream out(zip, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::error_code ec;
  fs::remove_all(box, ec);
  fs::create_directories(src, ec);
  (void)gantry::archive::ExtractZip(zip.string(), src.string());
  // The source directory is the only thing in the box, and no symlink in it leads out.
  for (const auto& entry : fs::directory_iterator(box, ec)) {
    if (entry.path() != src) __builtin_trap();
  }
  for (auto it = fs::recursive_directory_iterator(src, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink(ec)) continue;
    fs::path target = fs::weakly_canonical(it->path().parent_path() / fs::read_symlink(it->path(), ec), ec);
    std::string inside = fs::weakly_canonical(src, ec).string();
    if (target.string().rfind(inside, 0) != 0) __builtin_trap();
  }
  fs::remove_all(box, ec);
  return 0;
}
