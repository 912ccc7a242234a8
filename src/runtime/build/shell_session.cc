#include "runtime/build/shell_session.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/common/strings.h"

namespace gantry::runtime {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Status::Internal("open " + path + ": " + ErrnoText(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      return Status::Internal("write " + path + ": " + ErrnoText(err));
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return Status::Ok();
}

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Internal("open " + path + ": " + ErrnoText(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A marker's number: digits only, as the protocol's printf writes them.
std::optional<long> ParseNumber(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

// Variables of bash itself that a restored shell must not take from the old one.
constexpr const char* kBashOwnVariables =
    "BASH*|FUNCNAME|GROUPS|PIPESTATUS|DIRSTACK|EUID|UID|PPID|SHELLOPTS|SHLVL|RANDOM|SRANDOM|SECONDS|"
    "LINENO|HISTCMD|EPOCHREALTIME|EPOCHSECONDS|OPTIND|OPTARG|_|COMP_WORDBREAKS|PWD|__gantry_*";

}  // namespace

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    std::string name = strsignal(WTERMSIG(wait_status));
    if (!name.empty()) name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    return "signal: " + name;
  }
  return "wait status " + std::to_string(wait_status);
}

bool IsShellName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

std::string ShellQuote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

ShellSession::ShellSession(HostSandbox& sandbox, int output_fd, ShellConfig config)
    : sandbox_(sandbox), config_(std::move(config)), output_fd_(output_fd) {
  fcntl(output_fd_, F_SETFL, fcntl(output_fd_, F_GETFL) | O_NONBLOCK);
  unsigned char random[8] = {};
  if (getrandom(random, sizeof(random), 0) != static_cast<ssize_t>(sizeof(random))) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    memcpy(random, &now, sizeof(random));
  }
  nonce_ = HexEncode(std::string_view(reinterpret_cast<const char*>(random), sizeof(random)));
  marker_prefix_ = "\x1e" + nonce_;
}

ShellSession::~ShellSession() {
  CloseControl();
  if (output_fd_ >= 0) close(output_fd_);
}

std::string ShellSession::Path(const std::string& name) const { return config_.engine_dir + "/" + name; }

uid_t ShellSession::uid() const { return identity_ ? identity_->uid : geteuid(); }

void ShellSession::CloseControl() {
  if (control_fd_ >= 0) close(control_fd_);
  control_fd_ = -1;
  pending_control_.clear();
}

std::string ShellSession::ShellExitText() const { return DescribeWaitStatus(exit_status_); }

Status ShellSession::PrepareUserFile(const std::string& path) const {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::Internal("open " + path + ": " + ErrnoText(errno));
  int err = 0;
  if (identity_ && fchown(fd, identity_->uid, identity_->gid) != 0) err = errno;
  close(fd);
  if (err != 0) return Status::Internal("chown " + path + ": " + ErrnoText(err));
  return Status::Ok();
}

Status ShellSession::WriteBoot() {
  std::string marker = "\\036" + nonce_;
  std::string state = ShellQuote(Path("state.sh"));
  std::string vars = ShellQuote(Path("variables"));
  std::string boot;
  // Kept to builtins without redirections: they run twice per command. Under `set -x` their trace
  // lines name __gantry_ or the nonce and are dropped by IsProtocolEcho.
  boot += "__gantry_b() { case ${__gantry_skip-} in '') printf '" + marker + " B %s\\n' \"$1\" >&9;; *) return 1;; esac; }\n";
  boot += "__gantry_e() { __gantry_s=$?; printf '" + marker +
          " E %s\\n' \"$__gantry_s\" >&9; case $__gantry_s in 0) ;; *) __gantry_skip=1;; esac; }\n";
  boot += "__gantry_d() { printf '" + marker + " D %s %s\\n' \"$1\" \"$?\" >&9; }\n";
  boot += "__gantry_v() { { for __gantry_n in \"$@\"; do eval \"__gantry_x=\\${$__gantry_n+=}\\${$__gantry_n-}\"; "
          "printf '%s\\0%s\\0' \"$__gantry_n\" \"$__gantry_x\"; done > " + vars +
          "; unset __gantry_n __gantry_x; } 2>/dev/null; }\n";
  if (config_.posix_sh) {
    boot += "__gantry_save() { __GANTRY_PWD=$PWD; export __GANTRY_PWD; { export -p; printf '%s\\n' "
            "'cd -- \"$__GANTRY_PWD\"' 'unset __GANTRY_PWD'; set +o; } > " + state +
            " 2>/dev/null; unset __GANTRY_PWD; }\n";
  } else {
    boot += "__gantry_save() { { compgen -v | while IFS= read -r __gantry_n; do case $__gantry_n in " +
            std::string(kBashOwnVariables) + ") ;; *) declare -p \"$__gantry_n\";; esac; done; declare -f; "
            "printf 'cd -- %q\\n' \"$PWD\"; shopt -p; set +o; } > " + state + " 2>/dev/null; }\n";
  }
  boot += "trap __gantry_save EXIT\n";
  boot += ". " + state + " 2>/dev/null\n";
  return WriteFile(Path("boot.sh"), boot, 0644);
}

Status ShellSession::Start(std::optional<ShellIdentity> identity, const ShellWaiting& waiting,
                           ShellListener& listener) {
  identity_ = std::move(identity);
  GANTRY_RETURN_IF_ERROR(WriteBoot());
  std::string state;
  for (const auto& [name, value] : config_.env) state += "export " + name + "=" + ShellQuote(value) + "\n";
  state += "cd -- " + ShellQuote(config_.cwd) + "\n";
  GANTRY_RETURN_IF_ERROR(PrepareUserFile(Path("state.sh")));
  GANTRY_RETURN_IF_ERROR(WriteFile(Path("state.sh"), state, 0600));
  return Spawn(waiting, listener);
}

ShellLaunch ShellLaunchFor(const std::string& program, bool posix_sh, const std::string& cwd,
                           const std::optional<ShellIdentity>& identity) {
  ShellLaunch launch;
  launch.program = program;
  launch.argv = posix_sh ? std::vector<std::string>{"sh"} : std::vector<std::string>{"bash", "--noprofile", "--norc"};
  launch.cwd = cwd;
  launch.identity = identity;
  return launch;
}

Status ShellSession::Spawn(const ShellWaiting& waiting, ShellListener& listener) {
  ShellLaunch launch = ShellLaunchFor(config_.shell_program, config_.posix_sh, config_.cwd, identity_);
  if (auto ready = sandbox_.TakeFirstShell(launch)) {
    control_fd_ = ready->control_fd;
    pid_ = ready->pid;
  } else {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return Status::Internal("socketpair: " + ErrnoText(errno));
    }
    auto pid = sandbox_.Spawn(launch, sv[1]);
    if (!pid.ok()) {
      close(sv[0]);
      return pid.status();
    }
    control_fd_ = sv[0];
    pid_ = *pid;
  }
  fcntl(control_fd_, F_SETFL, fcntl(control_fd_, F_GETFL) | O_NONBLOCK);
  alive_ = true;
  running_.reset();
  failed_.reset();
  switch (Exchange(". " + ShellQuote(Path("boot.sh")) + "\n", waiting, listener)) {
    case WaitEnd::kDone:
      return Status::Ok();
    case WaitEnd::kInterrupted:
      return Status::Unavailable("interrupted while the shell started");
    case WaitEnd::kShellExited:
      return Status::Internal("the shell " + config_.shell_program + " exited while starting (" + ShellExitText() + ")");
    case WaitEnd::kBroken:
      break;
  }
  return Status::Internal("the shell " + config_.shell_program + " stopped answering while starting");
}

Status ShellSession::SwitchUser(std::optional<ShellIdentity> identity, const ShellWaiting& waiting,
                                ShellListener& listener) {
  interruption_ = ShellInterruption::kNone;
  if (alive_) {
    switch (Exchange("__gantry_save\n", waiting, listener)) {
      case WaitEnd::kDone:
        break;
      case WaitEnd::kInterrupted:
        return Status::Unavailable("interrupted");
      default:
        return Status::Internal("the shell exited while saving its state (" + ShellExitText() + ")");
    }
    pending_control_ += "trap - EXIT; exit 0\n";
    if (WaitForDone(-1, waiting, listener) == WaitEnd::kInterrupted) return Status::Unavailable("interrupted");
  }
  identity_ = std::move(identity);
  if (identity_ && chown(Path("state.sh").c_str(), identity_->uid, identity_->gid) != 0) {
    return Status::Internal("chown " + Path("state.sh") + ": " + ErrnoText(errno));
  }
  return Spawn(waiting, listener);
}

ShellSession::WaitEnd ShellSession::Exchange(const std::string& lines, const ShellWaiting& waiting,
                                             ShellListener& listener) {
  long token = next_token_++;
  pending_control_ += lines;
  pending_control_ += "__gantry_d " + std::to_string(token) + "\n";
  return WaitForDone(token, waiting, listener);
}

ShellSession::WaitEnd ShellSession::WaitForDone(long token, const ShellWaiting& waiting, ShellListener& listener) {
  awaited_token_ = token;
  for (;;) {
    if (done_token_ && *done_token_ == token) return WaitEnd::kDone;
    while (auto exit = sandbox_.TakeExit()) {
      if (exit->pid != pid_ || !alive_) continue;
      alive_ = false;
      exit_status_ = exit->wait_status;
      CloseControl();
      ReadOutput(listener);
      Parse(listener, true);
    }
    if (done_token_ && *done_token_ == token) return WaitEnd::kDone;
    if (!alive_) return WaitEnd::kShellExited;
    if (sandbox_.destroyed()) return WaitEnd::kBroken;

    auto now = std::chrono::steady_clock::now();
    if (now >= waiting.deadline) {
      interruption_ = ShellInterruption::kTimedOut;
      return WaitEnd::kInterrupted;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(waiting.deadline - now).count() + 1;
    int timeout = left > 3600 * 1000 ? 3600 * 1000 : static_cast<int>(left);
    struct pollfd fds[4];
    nfds_t count = 0;
    fds[count++] = {output_fd_, POLLIN, 0};
    fds[count++] = {sandbox_.event_fd(), POLLIN, 0};
    int control_index = -1;
    if (!pending_control_.empty() && control_fd_ >= 0) {
      control_index = static_cast<int>(count);
      fds[count++] = {control_fd_, POLLOUT, 0};
    }
    int stop_index = -1;
    if (waiting.stop_fd >= 0) {
      stop_index = static_cast<int>(count);
      fds[count++] = {waiting.stop_fd, POLLIN, 0};
    }
    int ready = poll(fds, count, timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return WaitEnd::kBroken;
    }
    if (stop_index >= 0 && (fds[stop_index].revents & POLLIN) != 0) {
      interruption_ = ShellInterruption::kStopped;
      return WaitEnd::kInterrupted;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP)) != 0) ReadOutput(listener);
    if (control_index >= 0 && (fds[control_index].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t n = send(control_fd_, pending_control_.data(), pending_control_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        pending_control_.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        pending_control_.clear();  // the shell is gone; its exit arrives from the sandbox
      }
    }
  }
}

void ShellSession::ReadOutput(ShellListener& listener) {
  char chunk[65536];
  for (;;) {
    ssize_t n = read(output_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buffer_.append(chunk, static_cast<size_t>(n));
    Parse(listener, false);
  }
}

void ShellSession::Parse(ShellListener& listener, bool flush) {
  size_t pos = 0;                      // start of the line being collected
  size_t scan = 0;                     // where to look for the next newline or marker
  size_t pending = std::string::npos;  // where a marker begins that has not fully arrived
  const size_t longest_marker = marker_prefix_.size() + kMaxMarkerBody;
  for (;;) {
    size_t at = buffer_.find_first_of("\n\x1e", scan);
    if (at == std::string::npos) break;
    if (buffer_[at] == '\n') {
      EmitPieces(std::string_view(buffer_).substr(pos, at - pos), listener);
      pos = scan = at + 1;
      continue;
    }
    size_t have = std::min(marker_prefix_.size(), buffer_.size() - at);
    if (buffer_.compare(at, have, marker_prefix_, 0, have) != 0) {
      scan = at + 1;  // an ordinary 0x1e byte of output
      continue;
    }
    size_t end = buffer_.find('\n', at);
    if (end == std::string::npos) {
      if (buffer_.size() - at <= longest_marker) {
        pending = at;  // maybe a marker, not all here yet
        break;
      }
      scan = at + 1;  // too long for a marker: output
      continue;
    }
    // The nonce is not secret from the build (the shell prints it), so a marker may be forged:
    // one the protocol cannot have sent here stays output.
    size_t body_at = at + marker_prefix_.size();
    std::string_view body = std::string_view(buffer_).substr(body_at, end - body_at);
    if (end - at > longest_marker || !AcceptMarker(body, listener)) {
      scan = at + 1;
      continue;
    }
    if (at > pos) EmitPieces(std::string_view(buffer_).substr(pos, at - pos), listener);
    pos = scan = end + 1;
  }
  buffer_.erase(0, pos);
  // A line still arriving that is already longer than max_line goes out in pieces too, once enough
  // of it is here to see a secret that spans the cut, and never inside a marker still arriving.
  size_t limit = pending == std::string::npos ? buffer_.size() : pending - pos;
  size_t margin = config_.masker != nullptr && config_.masker->longest() > 0 ? config_.masker->longest() - 1 : 0;
  while (limit > config_.max_line && (flush || limit >= config_.max_line + margin)) {
    size_t cut = CutPoint(std::string_view(buffer_).substr(0, limit));
    EmitLine(std::string_view(buffer_).substr(0, cut), listener);
    buffer_.erase(0, cut);
    limit -= cut;
  }
  if (flush && !buffer_.empty()) {
    EmitPieces(buffer_, listener);
    buffer_.clear();
  }
}

size_t ShellSession::CutPoint(std::string_view text) const {
  return config_.masker != nullptr ? config_.masker->SplitPoint(text, config_.max_line) : config_.max_line;
}

void ShellSession::EmitPieces(std::string_view line, ShellListener& listener) {
  // The listener masks each piece on its own: no cut may split a secret value in two.
  while (line.size() > config_.max_line) {
    size_t cut = CutPoint(line);
    EmitLine(line.substr(0, cut), listener);
    line.remove_prefix(cut);
  }
  EmitLine(line, listener);
}

bool ShellSession::AcceptMarker(std::string_view body, ShellListener& listener) {
  if (body.size() < 4 || body[0] != ' ' || body[2] != ' ') return false;
  std::string_view rest = body.substr(3);
  switch (body[1]) {
    case 'B': {
      // Commands begin in order, each at most once, and only those of the block being run.
      auto index = ParseNumber(rest);
      if (!index || *index < block_first_ || *index >= block_end_ || (last_begun_ && *index <= *last_begun_)) {
        return false;
      }
      running_ = last_begun_ = *index;
      eval_trace_next_ = true;
      listener.OnCommandStart(static_cast<size_t>(*index));
      return true;
    }
    case 'E': {
      auto status = ParseNumber(rest);
      if (!status || !running_) return false;
      if (*status != 0) {
        failed_ = running_;
        failed_status_ = *status;
      }
      running_.reset();
      return true;
    }
    case 'D': {
      size_t space = rest.find(' ');
      if (space == std::string_view::npos) return false;
      auto token = ParseNumber(rest.substr(0, space));
      auto status = ParseNumber(rest.substr(space + 1));
      if (!token || !status || *token != awaited_token_) return false;
      done_token_ = *token;
      done_status_ = *status;
      return true;
    }
    default:
      return false;
  }
}

bool ShellSession::IsProtocolEcho(std::string_view line) const {
  // set -v echoes the lines the shell reads; set -x traces the protocol's own commands.
  if (line.rfind("if __gantry_b ", 0) == 0 || line.rfind("__gantry_", 0) == 0 || line.rfind(". '" + config_.engine_dir, 0) == 0) {
    return true;
  }
  size_t plus = 0;
  while (plus < line.size() && line[plus] == '+') ++plus;
  if (plus == 0 || plus >= line.size() || line[plus] != ' ') return false;
  return line.find("__gantry") != std::string_view::npos || line.find(nonce_) != std::string_view::npos ||
         line.find(config_.engine_dir) != std::string_view::npos;
}

void ShellSession::EmitLine(std::string_view line, ShellListener& listener) {
  bool eval_trace_next = eval_trace_next_;
  eval_trace_next_ = false;
  if (!line.empty() && (line[0] == '_' || line[0] == '+' || line[0] == 'i' || line[0] == '.') && IsProtocolEcho(line)) {
    return;
  }
  if (eval_trace_next && !line.empty() && line[0] == '+') {
    // Under set -x the first line after a command's begin marker is the trace of the protocol's
    // `eval '<command>'`.
    size_t plus = line.find_first_not_of('+');
    if (plus != std::string_view::npos && line.substr(plus).rfind(" eval ", 0) == 0) return;
  }
  listener.OnOutputLine(line);
}

void ShellSession::DrainOutput(ShellListener& listener) {
  ReadOutput(listener);
  Parse(listener, true);
}

BlockResult ShellSession::RunBlock(const std::vector<std::string>& commands, const ShellWaiting& waiting,
                                   ShellListener& listener) {
  BlockResult result;
  interruption_ = ShellInterruption::kNone;
  size_t next = 0;
  while (next < commands.size()) {
    if (!alive_) {
      Status started = Spawn(waiting, listener);
      if (!started.ok()) {
        if (interruption_ != ShellInterruption::kNone) {
          result.interruption = interruption_;
        } else {
          result.fault = started;
        }
        return result;
      }
    }
    // The block goes to one file that the shell sources with stdin from /dev/null: bash reads a
    // regular file in large chunks (a socket or pipe one byte per read(2)), and one file per block
    // instead of per command matters on a busy disk. Each command is eval'd at the block's top
    // level (no function scope); `return` in one ends the block, which the done marker tells.
    std::string lines = "__gantry_skip=\n";
    for (size_t i = next; i < commands.size(); ++i) {
      lines += "if __gantry_b " + std::to_string(i) + "; then eval " + ShellQuote(commands[i]) +
               " 9>&-; __gantry_e; fi\n";
    }
    std::string block = Path("block.sh");
    Status written = WriteFile(block, lines, 0644);
    if (!written.ok()) {
      result.fault = written;
      return result;
    }
    running_.reset();
    last_begun_.reset();
    failed_.reset();
    block_first_ = static_cast<long>(next);
    block_end_ = static_cast<long>(commands.size());
    WaitEnd end = Exchange(". " + ShellQuote(block) + " </dev/null\n", waiting, listener);
    block_first_ = block_end_ = 0;
    switch (end) {
      case WaitEnd::kDone:
        if (running_ && !failed_) {
          // The command ran `return N`, which left the block: N is its status.
          if (done_status_ != 0) {
            result.failed = static_cast<size_t>(*running_);
            result.reason = "exit status " + std::to_string(done_status_);
            return result;
          }
          next = static_cast<size_t>(*running_) + 1;
          continue;
        }
        if (failed_) {
          result.failed = static_cast<size_t>(*failed_);
          result.reason = "exit status " + std::to_string(failed_status_);
        }
        return result;
      case WaitEnd::kInterrupted:
        result.interruption = interruption_;
        return result;
      case WaitEnd::kBroken:
        result.fault = Status::Internal("lost the shell of the build");
        return result;
      case WaitEnd::kShellExited:
        if (failed_) {
          result.failed = static_cast<size_t>(*failed_);
          result.reason = "exit status " + std::to_string(failed_status_);
          return result;
        }
        // The shell ended within a command, or (a forged end marker, a signal) after the last
        // one that began: that command is the one that ended it.
        std::optional<long> current = running_ ? running_ : last_begun_;
        running_.reset();
        if (!current) {
          result.fault = Status::Internal("the shell exited between commands (" + ShellExitText() + ")");
          return result;
        }
        if (WIFEXITED(exit_status_) && WEXITSTATUS(exit_status_) == 0) {
          next = static_cast<size_t>(*current) + 1;  // `exit 0`: that command succeeded
          continue;
        }
        result.failed = static_cast<size_t>(*current);
        result.reason = ShellExitText();
        return result;
    }
  }
  return result;
}

Status ShellSession::Export(const std::string& name, const std::string& value, const ShellWaiting& waiting,
                            ShellListener& listener) {
  if (!IsShellName(name)) return Status::InvalidArgument("not a variable name: " + name);
  interruption_ = ShellInterruption::kNone;
  if (!alive_) GANTRY_RETURN_IF_ERROR(Spawn(waiting, listener));
  switch (Exchange("export " + name + "=" + ShellQuote(value) + "\n", waiting, listener)) {
    case WaitEnd::kDone:
      return Status::Ok();
    case WaitEnd::kInterrupted:
      return Status::Unavailable("interrupted");
    default:
      return Status::Internal("the shell exited while setting " + name + " (" + ShellExitText() + ")");
  }
}

StatusOr<std::vector<std::optional<std::string>>> ShellSession::ReadVariables(const std::vector<std::string>& names,
                                                                              const ShellWaiting& waiting,
                                                                              ShellListener& listener) {
  std::string line = "__gantry_v";
  for (const std::string& name : names) {
    if (!IsShellName(name)) return Status::InvalidArgument("not a variable name: " + name);
    line += " " + name;
  }
  interruption_ = ShellInterruption::kNone;
  if (!alive_) GANTRY_RETURN_IF_ERROR(Spawn(waiting, listener));
  GANTRY_RETURN_IF_ERROR(PrepareUserFile(Path("variables")));
  switch (Exchange(line + "\n", waiting, listener)) {
    case WaitEnd::kDone:
      break;
    case WaitEnd::kInterrupted:
      return Status::Unavailable("interrupted");
    default:
      return Status::Internal("the shell exited while reading variables (" + ShellExitText() + ")");
  }
  GANTRY_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(Path("variables")));
  std::vector<std::optional<std::string>> values(names.size());
  size_t pos = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    size_t name_end = text.find('\0', pos);
    if (name_end == std::string::npos) break;
    size_t value_end = text.find('\0', name_end + 1);
    if (value_end == std::string::npos) break;
    std::string_view value = std::string_view(text).substr(name_end + 1, value_end - name_end - 1);
    if (!value.empty() && value[0] == '=') values[i] = std::string(value.substr(1));
    pos = value_end + 1;
  }
  return values;
}

StatusOr<std::string> ShellSession::Expand(const std::string& text, const ShellWaiting& waiting,
                                           ShellListener& listener) {
  interruption_ = ShellInterruption::kNone;
  if (!alive_) GANTRY_RETURN_IF_ERROR(Spawn(waiting, listener));
  GANTRY_RETURN_IF_ERROR(PrepareUserFile(Path("expanded")));
  std::string delimiter = "__GANTRY_END_" + nonce_;
  std::string lines = "cat > " + ShellQuote(Path("expanded")) + " <<" + delimiter + "\n" + text + "\n" + delimiter + "\n";
  switch (Exchange(lines, waiting, listener)) {
    case WaitEnd::kDone:
      break;
    case WaitEnd::kInterrupted:
      return Status::Unavailable("interrupted");
    default:
      return Status::Internal("the shell exited while expanding " + text + " (" + ShellExitText() + ")");
  }
  GANTRY_ASSIGN_OR_RETURN(std::string expanded, ReadWholeFile(Path("expanded")));
  if (!expanded.empty() && expanded.back() == '\n') expanded.pop_back();
  return expanded;
}

}  // namespace gantry::runtime
