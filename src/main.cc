#include "cli/cli.h"

int main(int argc, char** argv) { return gantry::cli::Run(argc, argv); }
