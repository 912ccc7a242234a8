// `gantry image`: the images container builds run in (runtime/build/image_store.h), managed from
// the command line with or without a running server: register a rootfs directory or an OCI image
// layout under a name, list, remove, and build-standard, which makes a Debian root file system
// with common build tools (debootstrap) and registers it as aws/codebuild/standard:7.0.
// Exit code 0 on success, 1 when the operation failed, 2 on bad usage.
#pragma once

#include <string>
#include <vector>

namespace gantry::cli {

int Image(const std::vector<std::string>& args);

}  // namespace gantry::cli
