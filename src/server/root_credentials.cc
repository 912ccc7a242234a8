#include "server/root_credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/common/strings.h"

namespace gantry::server {

namespace {

constexpr std::string_view kKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kSecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Status WriteFile0600(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::Internal("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

std::string CredentialsPath(const std::string& state_dir) { return state_dir + "/credentials"; }

StatusOr<RootKey> LoadRootKey(const std::string& state_dir) {
  std::string path = CredentialsPath(state_dir);
  std::ifstream in(path);
  if (!in) return Status::NotFound("no root credentials at " + path + " (start the server once with `gantry up`)");
  RootKey key;
  std::string line;
  bool in_default = false;
  while (std::getline(in, line)) {
    std::string_view l = Trim(line);
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    if (l.front() == '[') {
      in_default = l == "[default]";
      continue;
    }
    size_t eq = l.find('=');
    if (!in_default || eq == std::string_view::npos) continue;
    std::string_view k = Trim(l.substr(0, eq)), v = Trim(l.substr(eq + 1));
    if (k == "aws_access_key_id") key.access_key_id = std::string(v);
    if (k == "aws_secret_access_key") key.secret_access_key = std::string(v);
  }
  if (key.access_key_id.empty() || key.secret_access_key.empty()) {
    return Status::FailedPrecondition(path + " has no [default] aws_access_key_id and aws_secret_access_key");
  }
  return key;
}

StatusOr<RootKey> LoadOrCreateRootKey(const std::string& state_dir, IdSource& ids) {
  struct stat st;
  if (::stat(CredentialsPath(state_dir).c_str(), &st) == 0) return LoadRootKey(state_dir);
  RootKey key;
  key.access_key_id = "AKIA" + ids.FromAlphabet(16, kKeyAlphabet);
  key.secret_access_key = ids.FromAlphabet(40, kSecretAlphabet);
  key.created = true;
  std::ostringstream out;
  out << "# Gantry root credentials (the account's root principal). Keep this file private.\n"
      << "[default]\n"
      << "aws_access_key_id = " << key.access_key_id << "\n"
      << "aws_secret_access_key = " << key.secret_access_key << "\n";
  GANTRY_RETURN_IF_ERROR(WriteFile0600(CredentialsPath(state_dir), out.str()));
  return key;
}

}  // namespace gantry::server
