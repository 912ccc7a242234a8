// `gantry build`: runs the buildspec of the current directory in place with the CodeBuild engine
// (runtime/build), no server needed; parameter-store and secrets-manager values come from a running
// Gantry named by --endpoint or AWS_ENDPOINT_URL. Live phase progress on a terminal, plain lines
// otherwise; exit code 0 when the build succeeded, 1 when it did not, 2 on bad usage.
#pragma once

#include <string>
#include <vector>

namespace gantry::cli {

int Build(const std::vector<std::string>& args);

}  // namespace gantry::cli
