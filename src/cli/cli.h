// The gantry command line: `gantry up | env | version | help`.
#pragma once

namespace gantry::cli {

// Runs the command named by argv[1]; returns the process exit code.
int Run(int argc, char** argv);

}  // namespace gantry::cli
