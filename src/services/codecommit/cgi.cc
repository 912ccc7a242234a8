#include "services/codecommit/cgi.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/common/strings.h"

namespace gantry::services::codecommit {

namespace {

constexpr size_t kMaxHeaderBlock = 64 * 1024;
constexpr size_t kMaxStderr = 64 * 1024;

// Closes the descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status Errno(const std::string& what) { return Status::Internal(what + ": " + std::strerror(errno)); }

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string ReadAt(int fd, uint64_t offset, size_t limit) {
  std::string out(limit, '\0');
  size_t got = 0;
  while (got < limit) {
    ssize_t n = ::pread(fd, out.data() + got, limit - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

// An anonymous in-memory file holding data, positioned at its start.
StatusOr<int> MemoryFile(const char* name, std::string_view data) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return Errno("memfd_create");
  if (!WriteAll(fd, data) || ::lseek(fd, 0, SEEK_SET) != 0) {
    ::close(fd);
    return Errno("writing the CGI input");
  }
  return fd;
}

// Parses "Name: value" lines up to the blank line; false when the block is incomplete.
bool ParseHeaderBlock(std::string_view text, CgiOutput& out) {
  size_t end = text.find("\r\n\r\n");
  size_t separator = 4;
  if (size_t lf = text.find("\n\n"); lf != std::string_view::npos && (end == std::string_view::npos || lf < end)) {
    end = lf;
    separator = 2;
  }
  if (end == std::string_view::npos) return false;
  out.body_offset = end + separator;
  for (std::string_view line : Split(text.substr(0, end), '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(Trim(line.substr(0, colon)));
    std::string value(Trim(line.substr(colon + 1)));
    if (EqualsIgnoreCase(name, "Status")) {
      out.status = std::atoi(value.c_str());
      if (out.status < 100 || out.status > 599) out.status = 500;
    } else {
      out.headers.emplace_back(std::move(name), std::move(value));
    }
  }
  return true;
}

}  // namespace

StatusOr<CgiOutput> RunCgi(const CgiInvocation& invocation) {
  Fd input;
  if (!invocation.stdin_file.empty()) {
    input.fd = ::open(invocation.stdin_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (input.fd < 0) return Errno("opening " + invocation.stdin_file);
  } else {
    GANTRY_ASSIGN_OR_RETURN(input.fd, MemoryFile("cgi-stdin", invocation.stdin_data));
  }
  Fd output;
  output.fd = ::open(invocation.output_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (output.fd < 0) return Errno("creating " + invocation.output_path);
  Fd errors;
  GANTRY_ASSIGN_OR_RETURN(errors.fd, MemoryFile("cgi-stderr", ""));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, errors.fd, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The server ignores SIGPIPE; the program gets the default dispositions and an empty mask.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigset_t mask;
  sigemptyset(&mask);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &mask);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv;
  for (const std::string& a : invocation.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : invocation.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  int spawned = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) return Status::Internal("starting " + invocation.argv[0] + ": " + std::strerror(spawned));

  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return Errno("waiting for " + invocation.argv[0]);
  }
  CgiOutput out;
  out.exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  out.stderr_text = ReadAt(errors.fd, 0, kMaxStderr);
  struct stat st {};
  if (::fstat(output.fd, &st) != 0) return Errno("reading the output of " + invocation.argv[0]);
  if (!ParseHeaderBlock(ReadAt(output.fd, 0, kMaxHeaderBlock), out)) {
    return Status::Internal(invocation.argv[0] + " exited with " + std::to_string(out.exit_code) +
                            " without a CGI header block: " + out.stderr_text);
  }
  out.body_size = static_cast<uint64_t>(st.st_size) - out.body_offset;
  return out;
}

}  // namespace gantry::services::codecommit
