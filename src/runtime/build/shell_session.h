// One build's shell: a long-lived bash (or /bin/sh) in the build's HostSandbox that runs every
// command of the build, so that the working directory, variables, functions and options carry
// from command to command and phase to phase, without a process start per command.
//
// Protocol (see docs/build-engine.md): the shell reads control lines from a socket on its stdin.
// A block of commands is written to one file that the shell sources at the top level, stdin from
// /dev/null; each command in it is `if __gantry_b K; then eval 'TEXT' 9>&-; __gantry_e; fi`. The
// small functions defined at start print begin/end markers (byte 0x1e, a per-session nonce, the
// command index or $?) on fd 9, which is the same pipe as stdout and stderr, so markers and output
// arrive in order and every line belongs to the command that printed it. The nonce keeps output
// from ending a command by accident, not on purpose (the shell prints it, so the build can read
// it): a marker the protocol cannot have sent at that point (an index outside the block, out of
// order, a token not awaited) is output. After a failure the shell skips the rest of the block
// itself. An EXIT trap writes the shell's state (variables, functions, options, cwd) to a file, so
// when a command runs `exit N` the session starts a fresh shell that restores it and only that
// command has failed.
//
// Thread-safety: a ShellSession is used from one thread (the build's).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/status.h"
#include "runtime/build/build_log.h"
#include "runtime/build/sandbox.h"

namespace gantry::runtime {

// What the session reports while it waits on the shell.
class ShellListener {
 public:
  virtual ~ShellListener() = default;
  // The command at this index of the current block begins.
  virtual void OnCommandStart(size_t index) = 0;
  // One line of output (stdout and stderr of the shell and everything it started).
  virtual void OnOutputLine(std::string_view line) = 0;
};

// When to give up waiting: a stop request (the fd becomes readable) or the deadline.
struct ShellWaiting {
  int stop_fd = -1;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

enum class ShellInterruption { kNone, kStopped, kTimedOut };

struct BlockResult {
  std::optional<size_t> failed;           // the index of the command that failed
  std::string reason;                     // "exit status 2", "signal: killed"
  ShellInterruption interruption = ShellInterruption::kNone;
  Status fault;                           // the shell could not be (re)started or broke the protocol
};

struct ShellConfig {
  std::string shell_program;              // absolute path of bash or sh
  bool posix_sh = false;                  // env.shell "/bin/sh": no bash-only state is kept
  std::string engine_dir;                 // private files of the session (command files, state)
  std::string cwd;                        // where the first shell starts
  std::vector<std::pair<std::string, std::string>> env;  // the first shell's environment
  size_t max_line = 256 * 1024;           // longer output lines are split
  const SecretMasker* masker = nullptr;   // where the listener masks: split lines never cut a secret
};

class ShellSession {
 public:
  // output_fd: read end of the pipe the sandbox's shells write to (the session owns it).
  ShellSession(HostSandbox& sandbox, int output_fd, ShellConfig config);
  ~ShellSession();
  ShellSession(const ShellSession&) = delete;
  ShellSession& operator=(const ShellSession&) = delete;

  // Starts the first shell as identity (unset: Gantry's own user).
  Status Start(std::optional<ShellIdentity> identity, const ShellWaiting& waiting, ShellListener& listener);
  // Ends the current shell (keeping its state) and continues as another user.
  Status SwitchUser(std::optional<ShellIdentity> identity, const ShellWaiting& waiting, ShellListener& listener);
  // The uid the shell runs as.
  uid_t uid() const;

  // Runs the commands in order until one fails. A shell that exits restarts with its state.
  BlockResult RunBlock(const std::vector<std::string>& commands, const ShellWaiting& waiting,
                       ShellListener& listener);

  // Sets and exports a variable in the shell.
  Status Export(const std::string& name, const std::string& value, const ShellWaiting& waiting,
                ShellListener& listener);
  // The values of the named variables (nullopt: unset). Names must be shell identifiers.
  StatusOr<std::vector<std::optional<std::string>>> ReadVariables(const std::vector<std::string>& names,
                                                                  const ShellWaiting& waiting,
                                                                  ShellListener& listener);
  // text expanded by the shell as a here-document: $VAR, ${VAR}, $(command), `command`, $((1+2)).
  StatusOr<std::string> Expand(const std::string& text, const ShellWaiting& waiting, ShellListener& listener);

  // Why the last call returned early (kNone if it did not).
  ShellInterruption interruption() const { return interruption_; }
  // Reads whatever output is waiting and passes it on (a partial last line included).
  void DrainOutput(ShellListener& listener);

 private:
  static constexpr size_t kMaxMarkerBody = 48;  // " D <token> <status>" and more fit
  enum class WaitEnd { kDone, kShellExited, kInterrupted, kBroken };

  Status WriteBoot();
  Status PrepareUserFile(const std::string& path) const;
  Status Spawn(const ShellWaiting& waiting, ShellListener& listener);
  // Sends lines plus a done marker and waits for it.
  WaitEnd Exchange(const std::string& lines, const ShellWaiting& waiting, ShellListener& listener);
  WaitEnd WaitForDone(long token, const ShellWaiting& waiting, ShellListener& listener);
  void ReadOutput(ShellListener& listener);
  void Parse(ShellListener& listener, bool flush);
  // Applies a marker's body (" B 3", " E 0", " D 7 0"); false when the protocol cannot have sent it.
  bool AcceptMarker(std::string_view body, ShellListener& listener);
  void EmitLine(std::string_view line, ShellListener& listener);
  // A whole line, in pieces of at most max_line (longer only to keep a secret in one piece).
  void EmitPieces(std::string_view line, ShellListener& listener);
  // Where to cut text (longer than max_line) into a piece.
  size_t CutPoint(std::string_view text) const;
  bool IsProtocolEcho(std::string_view line) const;
  void CloseControl();
  std::string Path(const std::string& name) const;
  std::string ShellExitText() const;

  HostSandbox& sandbox_;
  ShellConfig config_;
  int output_fd_ = -1;
  int control_fd_ = -1;
  std::string pending_control_;
  std::string buffer_;                    // output not yet split into lines
  std::string nonce_;
  std::string marker_prefix_;             // "\x1e" + nonce
  std::optional<ShellIdentity> identity_;
  pid_t pid_ = 0;
  bool alive_ = false;
  int exit_status_ = 0;                   // wait status of the last shell that exited
  long next_token_ = 1;
  ShellInterruption interruption_ = ShellInterruption::kNone;

  // The block being run: begin/end markers update these. Only indexes in [block_first_,
  // block_end_), each above the last one begun, are taken; only the awaited done token.
  long block_first_ = 0;
  long block_end_ = 0;
  long awaited_token_ = 0;
  std::optional<long> last_begun_;
  std::optional<long> running_;
  bool eval_trace_next_ = false;          // a command just began: its `eval` may be traced next
  std::optional<long> failed_;
  long failed_status_ = 0;
  std::optional<long> done_token_;
  long done_status_ = 0;                  // $? after the block ($? of `return N` when one left it)
};

// How a session starts its shell (bash --noprofile --norc, or sh).
ShellLaunch ShellLaunchFor(const std::string& program, bool posix_sh, const std::string& cwd,
                           const std::optional<ShellIdentity>& identity);

// "exit status 2" / "signal: killed", as CodeBuild (Go's os/exec) words a command's end.
std::string DescribeWaitStatus(int wait_status);

// Whether name can be a shell variable: [A-Za-z_][A-Za-z0-9_]*.
bool IsShellName(std::string_view name);

// 'text' for the shell: single quotes, with embedded ones as '\''.
std::string ShellQuote(std::string_view text);

}  // namespace gantry::runtime
