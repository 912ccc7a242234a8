#include "services/codebuild/git_source.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/common/strings.h"

namespace gantry::services::codebuild {

namespace {

namespace fs = std::filesystem;

constexpr size_t kCommitIdLength = 40;
constexpr size_t kMinAbbreviation = 4;
// Submodules of submodules of ...: deeper than this is a cycle or a mistake.
constexpr int kMaxSubmoduleLevels = 8;

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status ClientError(std::string message) { return Status::FailedPrecondition(std::move(message), "CLIENT_ERROR"); }

// Why git failed: its first "fatal:" line (a submodule's failure is followed by lines that only say
// so), else its last line.
std::string Reason(std::string_view output) {
  for (std::string_view line : Split(output, '\n')) {
    if (line.rfind("fatal: ", 0) == 0) return std::string(Trim(line.substr(7)));
  }
  std::string_view text = Trim(output);
  size_t newline = text.rfind('\n');
  return std::string(Trim(newline == std::string_view::npos ? text : text.substr(newline + 1)));
}

// ParseUrl with the scheme and host in lower case, for comparing.
std::optional<UrlParts> ParseUrlFolded(std::string_view url) {
  std::optional<UrlParts> parts = ParseUrl(url);
  if (parts) {
    parts->scheme = ToLower(parts->scheme);
    parts->host = ToLower(parts->host);
  }
  return parts;
}

bool IsAwsCodeCommitHost(const UrlParts& url) {
  constexpr std::string_view kSuffix = ".amazonaws.com";
  return url.scheme == "https" && url.host.rfind("git-codecommit.", 0) == 0 && url.host.size() > kSuffix.size() &&
         url.host.compare(url.host.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

// "submodule.<name>.<key> <value>" lines of git config --get-regexp: the values.
std::vector<std::string> ConfigValues(std::string_view output) {
  std::vector<std::string> values;
  for (std::string_view line : Split(output, '\n')) {
    size_t space = line.find(' ');
    if (space != std::string_view::npos) values.emplace_back(Trim(line.substr(space + 1)));
  }
  return values;
}

void ClearDirectory(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry.path(), ec);
}

class Cloner {
 public:
  Cloner(const GitCommands& git, const GitSource& source, const std::string& dir)
      : git_(git), source_(source), dir_(dir) {}

  StatusOr<std::string> Run() {
    auto parsed = ParseGitVersion(source_.version);
    if (!parsed.ok()) return ClientError(parsed.status().message() + source_.where);
    const GitVersion& v = *parsed;
    git_.authorize({source_.url});
    std::string target;  // what to check out detached; empty leaves the clone's branch
    bool cloned = false;
    if (source_.version.empty()) {
      GANTRY_RETURN_IF_ERROR(Clone({}));
      cloned = true;
    } else if (!v.name.empty()) {
      GANTRY_ASSIGN_OR_RETURN(CommandResult result, Git(CloneArgs({"--branch", v.name})));
      if (result.exit_code == 0) {
        cloned = true;
        target = "HEAD";
      } else if (result.output.find("not found in upstream") == std::string::npos) {
        return Failed("git clone failed", result);
      } else if (!v.abbreviated) {
        return ClientError("reference not found" + source_.where);
      } else {
        ClearDirectory(dir_);
      }
    }
    if (!cloned) {
      GANTRY_RETURN_IF_ERROR(Clone({"--no-checkout"}));
      if (!v.ref.empty()) {
        std::vector<std::string> fetch = {"fetch", "--quiet"};
        AddDepth(fetch);
        fetch.insert(fetch.end(), {"origin", "--end-of-options", v.ref});
        GANTRY_ASSIGN_OR_RETURN(CommandResult fetched, Git(fetch));
        if (fetched.exit_code != 0) return ClientError("reference not found" + source_.where);
        GANTRY_ASSIGN_OR_RETURN(target, Resolve("FETCH_HEAD"));
      } else {
        target = v.commit;
      }
    }
    if (v.on_reference) {
      // The ^{commit} form: the commit must be in the history of the reference fetched.
      std::string tip = target;
      if (!Has(v.commit) && IsShallow()) {
        std::vector<std::string> deepen = {"fetch", "--quiet", "--unshallow", "origin"};
        if (!v.ref.empty()) deepen.insert(deepen.end(), {"--end-of-options", v.ref});
        GANTRY_ASSIGN_OR_RETURN(CommandResult deepened, Git(deepen));
        if (deepened.exit_code != 0) return Failed("git fetch failed", deepened);
      }
      GANTRY_ASSIGN_OR_RETURN(CommandResult ancestor, Git({"merge-base", "--is-ancestor", v.commit, tip}));
      if (!Has(v.commit) || ancestor.exit_code != 0) return ClientError("reference not found" + source_.where);
      target = v.commit;
    } else if (!v.commit.empty() && !cloned) {
      GANTRY_RETURN_IF_ERROR(FetchCommit(v.commit));
    }
    if (!target.empty()) {
      GANTRY_ASSIGN_OR_RETURN(CommandResult checkout, Git({"checkout", "--quiet", "--detach", target, "--"}));
      if (checkout.exit_code != 0) return Failed("git checkout failed", checkout);
    }
    GANTRY_ASSIGN_OR_RETURN(CommandResult head, Git({"rev-parse", "--verify", "--quiet", "HEAD^{commit}"}));
    if (head.exit_code != 0) return ClientError("the repository has no commits" + source_.where);
    if (source_.submodules) GANTRY_RETURN_IF_ERROR(UpdateSubmodules(dir_, 1));
    return std::string(Trim(head.output));
  }

 private:
  StatusOr<CommandResult> Git(const std::vector<std::string>& args, const std::string& cwd = {}) {
    return git_.run(args, cwd.empty() ? dir_ : cwd);
  }

  Status Failed(const std::string& what, const CommandResult& result) {
    return ClientError(what + ": " + Reason(result.output) + source_.where);
  }

  void AddDepth(std::vector<std::string>& args) {
    if (source_.depth > 0) args.insert(args.end(), {"--depth", std::to_string(source_.depth)});
  }

  std::vector<std::string> CloneArgs(const std::vector<std::string>& options) {
    std::vector<std::string> args = {"clone", "--quiet"};
    AddDepth(args);
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"--", source_.url, dir_});
    return args;
  }

  Status Clone(const std::vector<std::string>& options) {
    GANTRY_ASSIGN_OR_RETURN(CommandResult result, Git(CloneArgs(options)));
    if (result.exit_code != 0) return Failed("git clone failed", result);
    return Status::Ok();
  }

  bool Has(const std::string& commit) {
    auto result = Git({"cat-file", "-e", "--end-of-options", commit + "^{commit}"});
    return result.ok() && result->exit_code == 0;
  }

  bool IsShallow() {
    auto result = Git({"rev-parse", "--is-shallow-repository"});
    return result.ok() && Trim(result->output) == "true";
  }

  StatusOr<std::string> Resolve(const std::string& rev) {
    GANTRY_ASSIGN_OR_RETURN(CommandResult result, Git({"rev-parse", "--verify", "--quiet", rev + "^{commit}"}));
    if (result.exit_code != 0) return ClientError("reference not found" + source_.where);
    return std::string(Trim(result.output));
  }

  // A commit ID not reached by the clone: fetched alone (depth commits deep) when the server allows
  // it, else found in the whole repository, as CodeBuild does.
  Status FetchCommit(const std::string& commit) {
    if (Has(commit)) return Status::Ok();
    if (commit.size() == kCommitIdLength) {
      std::vector<std::string> fetch = {"fetch", "--quiet"};
      AddDepth(fetch);
      fetch.insert(fetch.end(), {"origin", "--end-of-options", commit});
      GANTRY_ASSIGN_OR_RETURN(CommandResult fetched, Git(fetch));
      if (fetched.exit_code == 0 && Has(commit)) return Status::Ok();
    }
    std::vector<std::string> all = {"fetch", "--quiet", "--tags"};
    if (IsShallow()) all.push_back("--unshallow");
    all.insert(all.end(), {"origin", "+refs/heads/*:refs/remotes/origin/*"});
    GANTRY_ASSIGN_OR_RETURN(CommandResult fetched, Git(all));
    if (fetched.exit_code != 0) return Failed("git fetch failed", fetched);
    if (!Has(commit)) return ClientError("reference not found" + source_.where);
    return Status::Ok();
  }

  // `git submodule update --init --recursive`, one level at a time so that each level's
  // repositories are authorized before git fetches them.
  Status UpdateSubmodules(const std::string& dir, int level) {
    std::error_code ec;
    if (!fs::exists(fs::path(dir) / ".gitmodules", ec)) return Status::Ok();
    if (level > kMaxSubmoduleLevels) {
      return ClientError("submodules nested more than " + std::to_string(kMaxSubmoduleLevels) + " levels deep" +
                         source_.where);
    }
    GANTRY_ASSIGN_OR_RETURN(CommandResult init, Git({"submodule", "--quiet", "init"}, dir));
    if (init.exit_code != 0) return Failed("git submodule init failed", init);
    GANTRY_ASSIGN_OR_RETURN(CommandResult urls, Git({"config", "--get-regexp", "^submodule\\..*\\.url$"}, dir));
    git_.authorize(ConfigValues(urls.output));
    GANTRY_ASSIGN_OR_RETURN(CommandResult update, Git({"submodule", "--quiet", "update"}, dir));
    if (update.exit_code != 0) return Failed("git submodule update failed", update);
    GANTRY_ASSIGN_OR_RETURN(CommandResult paths,
                            Git({"config", "--file", ".gitmodules", "--get-regexp", "^submodule\\..*\\.path$"}, dir));
    for (const std::string& path : ConfigValues(paths.output)) {
      fs::path sub = fs::path(dir) / path;
      // git refuses submodule paths outside the work tree; a symlink or .git would not be a checkout.
      if (fs::is_directory(sub / ".git", ec) || fs::is_regular_file(sub / ".git", ec)) {
        GANTRY_RETURN_IF_ERROR(UpdateSubmodules(sub.string(), level + 1));
      }
    }
    return Status::Ok();
  }

  const GitCommands& git_;
  const GitSource& source_;
  const std::string& dir_;
};

}  // namespace

StatusOr<GitVersion> ParseGitVersion(std::string_view version) {
  GitVersion v;
  std::string_view rest = version;
  auto invalid = [&](std::string_view why) {
    return Status::InvalidArgument("Invalid source version: " + std::string(version) + ". " + std::string(why));
  };
  if (size_t open = rest.find("^{"); open != std::string_view::npos) {
    std::string_view commit = rest.substr(open + 2);
    if (commit.empty() || commit.back() != '}') return invalid("The form is <reference>^{<full commit ID>}.");
    commit.remove_suffix(1);
    if (commit.size() != kCommitIdLength || !IsHex(commit) || open == 0) {
      return invalid("The form is <reference>^{<full commit ID>}, with the commit's 40 hexadecimal digits.");
    }
    v.commit = ToLower(commit);
    v.on_reference = true;
    rest = rest.substr(0, open);
  }
  if (rest.empty()) return v;
  constexpr std::string_view kHeads = "refs/heads/", kTags = "refs/tags/";
  if (rest.rfind(kHeads, 0) == 0 && rest.size() > kHeads.size()) {
    v.name = std::string(rest.substr(kHeads.size()));
  } else if (rest.rfind(kTags, 0) == 0 && rest.size() > kTags.size()) {
    v.name = std::string(rest.substr(kTags.size()));
  } else if (rest.rfind("refs/", 0) == 0) {
    v.ref = std::string(rest);
  } else if (rest.rfind("pr/", 0) == 0 && IsDigits(rest.substr(3))) {
    v.ref = "refs/pull/" + std::string(rest.substr(3)) + "/head";
  } else if (!v.on_reference && rest.size() == kCommitIdLength && IsHex(rest)) {
    v.commit = ToLower(rest);
  } else {
    v.name = std::string(rest);
    if (!v.on_reference && rest.size() >= kMinAbbreviation && IsHex(rest)) {
      v.abbreviated = true;
      v.commit = ToLower(rest);
    }
  }
  return v;
}

std::optional<UrlParts> ParseUrl(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  UrlParts out;
  out.scheme = std::string(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    out.port = std::string(authority.substr(colon + 1));
    authority = authority.substr(0, colon);
  }
  out.host = std::string(authority);
  return out;
}

std::optional<std::string> GantryRepositoryPath(std::string_view url, std::string_view endpoint) {
  std::optional<UrlParts> parts = ParseUrlFolded(url);
  std::optional<UrlParts> gantry = ParseUrlFolded(endpoint);
  if (!parts || !gantry) return std::nullopt;
  bool ours = IsAwsCodeCommitHost(*parts) ||
              (parts->scheme == gantry->scheme && parts->host == gantry->host && parts->port == gantry->port);
  constexpr std::string_view kRepos = "/v1/repos/";
  std::string_view name = std::string_view(parts->path).substr(std::min(parts->path.size(), kRepos.size()));
  if (!ours || parts->path.rfind(kRepos, 0) != 0 || name.empty() || name.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  return parts->path;
}

std::string_view CredentialTableHelper() {
  return "!f() { test \"$1\" = get || return 0; s= h= p=; "
         "while IFS= read -r l; do case \"$l\" in protocol=*) s=\"${l#protocol=}\";; host=*) h=\"${l#host=}\";; "
         "path=*) p=\"${l#path=}\";; esac; done; "
         "printf '%s\\n' \"$GANTRY_GIT_CREDENTIALS\" | while read -r u w; do "
         "if [ \"$u\" = \"$s://$h/$p\" ]; then printf 'username=%s\\npassword=%s\\n' \"$GANTRY_GIT_USER\" \"$w\"; fi; "
         "done; }; f";
}

std::vector<std::string> GitTransportOptions() {
  return {"-c", "protocol.allow=never",       "-c", "protocol.https.allow=always",
          "-c", "protocol.http.allow=always", "-c", "advice.detachedHead=false"};
}

std::vector<std::string> GitEnvironment(const std::string& home) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("PATH=", 0) == 0 || entry.rfind("TMPDIR=", 0) == 0) env.emplace_back(entry);
  }
  env.insert(env.end(), {"HOME=" + home, "LC_ALL=C", "LANGUAGE=C", "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
                         "GIT_PROTOCOL_FROM_USER=0", "GIT_SSH_COMMAND=false", "GIT_SSH=false"});
  return env;
}

StatusOr<std::string> CloneGitSource(const GitCommands& git, const GitSource& source, const std::string& dir) {
  return Cloner(git, source, dir).Run();
}

}  // namespace gantry::services::codebuild
