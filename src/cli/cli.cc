#include "cli/cli.h"

#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/build_command.h"
#include "cli/image_command.h"
#include "core/common/log.h"
#include "server/config.h"
#include "server/gantry_server.h"
#include "server/root_credentials.h"

namespace gantry::cli {

namespace {

constexpr const char* kUsage = R"USAGE(usage: gantry <command> [flags]

commands:
  build     run ./buildspec.yml in place, as CodeBuild would (gantry build --help)
  image     register, list and remove container images; build-standard (gantry image help)
  up        start the server (foreground; SIGTERM or Ctrl-C stops it gracefully)
  env       print shell exports for the root credentials: eval "$(gantry env)"
  version   print the version

flags (also as environment variables):
  --listen HOST:PORT         GANTRY_LISTEN            default 127.0.0.1:4566 (port 0 picks a free port)
  --state-dir DIR            GANTRY_STATE_DIR         default ~/.local/share/gantry
  --account-id ID            GANTRY_ACCOUNT_ID        default 000000000000
  --region REGION            GANTRY_REGION            default us-east-1
  --log-level LEVEL          GANTRY_LOG_LEVEL         debug|info|warn|error, default info
  --accept-any-credentials   GANTRY_ACCEPT_ANY_CREDENTIALS=1
                             skip SigV4: every request runs as the root principal (unsafe)
  --oidc-jwks FILE           GANTRY_OIDC_JWKS         JWKS file verifying web identity tokens (STS)
  --concurrent-builds N      GANTRY_CONCURRENT_BUILDS CodeBuild builds running at once, default 4
)USAGE";

std::string EndpointUrl(const server::Config& config, uint16_t port) {
  std::string host = config.host.find(':') != std::string::npos ? "[" + config.host + "]" : config.host;
  return "http://" + host + ":" + std::to_string(port);
}

int Up(const std::vector<std::string>& args) {
  auto config = server::ParseConfig(args);
  if (!config.ok()) {
    std::cerr << "gantry up: " << config.status().message() << "\n";
    return 2;
  }
  log::Level level;
  if (!log::ParseLevel(config->log_level, level)) {
    std::cerr << "gantry up: --log-level must be debug, info, warn or error\n";
    return 2;
  }
  log::SetLevel(level);

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (config->accept_any_credentials) {
    GANTRY_LOG(kWarn, "**************************************************************************");
    GANTRY_LOG(kWarn, "--accept-any-credentials: SigV4 is NOT verified; every request runs as the");
    GANTRY_LOG(kWarn, "root principal of account " << config->account_id << ". Never expose this server.");
    GANTRY_LOG(kWarn, "**************************************************************************");
  }
  server::GantryServer gantry(*config);
  Status started = gantry.Start();
  if (!started.ok()) {
    std::cerr << "gantry up: " << started.message() << "\n";
    return 1;
  }
  std::string endpoint = EndpointUrl(*config, gantry.port());
  if (gantry.root_key().created) {
    std::cout << "Created root credentials in " << server::CredentialsPath(config->state_dir) << "\n"
              << "Use them with:  eval \"$(gantry env --state-dir " << config->state_dir << " --listen "
              << config->host << ":" << gantry.port() << ")\"\n";
  }
  std::cout << "Gantry " << GANTRY_VERSION << " listening on " << endpoint << " (state " << config->state_dir
            << ", account " << config->account_id << ", region " << config->region << ")" << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  GANTRY_LOG(kInfo, "received " << (received == SIGINT ? "SIGINT" : "SIGTERM") << ", shutting down");
  gantry.Stop();
  GANTRY_LOG(kInfo, "stopped");
  return 0;
}

int Env(const std::vector<std::string>& args) {
  auto config = server::ParseConfig(args);
  if (!config.ok()) {
    std::cerr << "gantry env: " << config.status().message() << "\n";
    return 2;
  }
  auto key = server::LoadRootKey(config->state_dir);
  if (!key.ok()) {
    std::cerr << "gantry env: " << key.status().message() << "\n";
    return 1;
  }
  std::cout << "export AWS_ACCESS_KEY_ID=" << key->access_key_id << "\n"
            << "export AWS_SECRET_ACCESS_KEY=" << key->secret_access_key << "\n"
            << "export AWS_DEFAULT_REGION=" << config->region << "\n"
            << "export AWS_ENDPOINT_URL=" << EndpointUrl(*config, config->port) << "\n";
  return 0;
}

}  // namespace

int Run(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "help";
  std::vector<std::string> args(argv + (argc > 1 ? 2 : 1), argv + argc);
  if (command == "build") return Build(args);
  if (command == "image") return Image(args);
  if (command == "up") return Up(args);
  if (command == "env") return Env(args);
  if (command == "version" || command == "--version") {
    std::cout << "gantry " << GANTRY_VERSION << "\n";
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "gantry: unknown command '" << command << "'\n" << kUsage;
  return 2;
}

}  // namespace gantry::cli
