#include "server/config.h"

#include <cstdlib>

namespace gantry::server {

namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

bool Truthy(std::string_view v) { return v == "1" || v == "true" || v == "yes" || v == "on"; }

Status CheckAccountId(const std::string& id) {
  if (id.size() != 12 || id.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("--account-id must be 12 digits, got '" + id + "'");
  }
  return Status::Ok();
}

// A positive count (1-1000) for flag.
Status ParseCount(const std::string& flag, const std::string& text, int& out) {
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 1 || value > 1000) {
    return Status::InvalidArgument(flag + " must be a number from 1 to 1000, got '" + text + "'");
  }
  out = static_cast<int>(value);
  return Status::Ok();
}

}  // namespace

std::string DefaultStateDir() {
  if (const char* v = Env("XDG_DATA_HOME")) return std::string(v) + "/gantry";
  if (const char* home = Env("HOME")) return std::string(home) + "/.local/share/gantry";
  return ".gantry";
}

Status ParseListen(const std::string& text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("--listen must be HOST:PORT, got '" + text + "'");
  std::string h = text.substr(0, colon);
  std::string p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  char* end = nullptr;
  long value = std::strtol(p.c_str(), &end, 10);
  if (h.empty() || p.empty() || *end != '\0' || value < 0 || value > 65535) {
    return Status::InvalidArgument("--listen must be HOST:PORT with a port 0-65535, got '" + text + "'");
  }
  host = h;
  port = static_cast<uint16_t>(value);
  return Status::Ok();
}

StatusOr<Config> ParseConfig(const std::vector<std::string>& args) {
  Config c;
  c.state_dir = DefaultStateDir();
  if (const char* v = Env("GANTRY_LISTEN")) GANTRY_RETURN_IF_ERROR(ParseListen(v, c.host, c.port));
  if (const char* v = Env("GANTRY_STATE_DIR")) c.state_dir = v;
  if (const char* v = Env("GANTRY_ACCOUNT_ID")) c.account_id = v;
  if (const char* v = Env("GANTRY_REGION")) c.region = v;
  if (const char* v = Env("GANTRY_ACCEPT_ANY_CREDENTIALS")) c.accept_any_credentials = Truthy(v);
  if (const char* v = Env("GANTRY_LOG_LEVEL")) c.log_level = v;
  if (const char* v = Env("GANTRY_OIDC_JWKS")) c.oidc_jwks = v;
  if (const char* v = Env("GANTRY_CONCURRENT_BUILDS")) {
    GANTRY_RETURN_IF_ERROR(ParseCount("--concurrent-builds", v, c.concurrent_builds));
  }

  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_value = false;
    if (size_t eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    auto take = [&]() -> StatusOr<std::string> {
      if (has_value) return value;
      if (i + 1 >= args.size()) return Status::InvalidArgument(flag + " needs a value");
      return args[++i];
    };
    if (flag == "--listen") {
      GANTRY_ASSIGN_OR_RETURN(std::string v, take());
      GANTRY_RETURN_IF_ERROR(ParseListen(v, c.host, c.port));
    } else if (flag == "--state-dir") {
      GANTRY_ASSIGN_OR_RETURN(c.state_dir, take());
    } else if (flag == "--account-id") {
      GANTRY_ASSIGN_OR_RETURN(c.account_id, take());
    } else if (flag == "--region") {
      GANTRY_ASSIGN_OR_RETURN(c.region, take());
    } else if (flag == "--log-level") {
      GANTRY_ASSIGN_OR_RETURN(c.log_level, take());
    } else if (flag == "--oidc-jwks") {
      GANTRY_ASSIGN_OR_RETURN(c.oidc_jwks, take());
    } else if (flag == "--concurrent-builds") {
      GANTRY_ASSIGN_OR_RETURN(std::string v, take());
      GANTRY_RETURN_IF_ERROR(ParseCount(flag, v, c.concurrent_builds));
    } else if (flag == "--accept-any-credentials") {
      c.accept_any_credentials = true;
    } else {
      return Status::InvalidArgument("unknown flag '" + args[i] + "'");
    }
  }
  GANTRY_RETURN_IF_ERROR(CheckAccountId(c.account_id));
  if (c.region.empty() || c.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return Status::InvalidArgument("--region must look like us-east-1, got '" + c.region + "'");
  }
  if (c.state_dir.empty()) return Status::InvalidArgument("--state-dir must not be empty");
  return c;
}

}  // namespace gantry::server
