// Server settings from flags and GANTRY_* environment variables (flags win). Pure parsing.
#pragma once

#include <string>
#include <vector>

#include "core/common/status.h"

namespace gantry::server {

struct Config {
  std::string host = "127.0.0.1";
  uint16_t port = 4566;
  std::string state_dir;   // default: $GANTRY_STATE_DIR, else $XDG_DATA_HOME/gantry, else ~/.local/share/gantry
  std::string account_id = "000000000000";
  std::string region = "us-east-1";
  bool accept_any_credentials = false;
  std::string log_level = "info";
  std::string oidc_jwks;   // JWKS file that verifies web identity tokens (AssumeRoleWithWebIdentity)
  int concurrent_builds = 4;  // CodeBuild builds running at once; more wait QUEUED
};

// The default state directory for this user.
std::string DefaultStateDir();

// Parses `args` (the words after the subcommand) over the environment's GANTRY_* settings.
// Unknown flags and malformed values are errors that name the flag.
StatusOr<Config> ParseConfig(const std::vector<std::string>& args);

// "host:port" → host, port ("[::1]:4566" for IPv6).
Status ParseListen(const std::string& text, std::string& host, uint16_t& port);

}  // namespace gantry::server
