// Repository sources (CODECOMMIT, GITHUB, ...): what a CodeBuild sourceVersion asks of a git
// repository, how it is fetched (clone depth, submodules) and how CodeCommit repositories served by
// Gantry are reached and authenticated. CloneGitSource drives git through a GitCommands the caller
// provides (BuildSession runs git as the build's service role); the rest are pure functions.
//
// Thread-safety: stateless; a GitCommands is used from one thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "services/codebuild/process.h"

namespace gantry::services::codebuild {

// A sourceVersion of a repository source, in the forms CodeBuild documents ("Source version sample"):
//   ""                                (the default branch)
//   a branch or tag name, refs/heads/<branch>, refs/tags/<tag>
//   a commit ID (full; an abbreviated one is taken when no branch or tag has that name)
//   pr/<n> (GitHub's refs/pull/<n>/head) or another full reference refs/...
//   <reference>^{<full commit ID>}    (only that reference is fetched to find the commit)
struct GitVersion {
  std::string name;           // a branch or tag to clone (git clone --branch), or empty
  std::string ref;            // a full reference fetched after a clone of the default branch, or empty
  std::string commit;         // the commit the build is at: full, or abbreviated (`abbreviated`), or empty
  bool abbreviated = false;   // `name` may be an abbreviated commit ID instead
  bool on_reference = false;  // `commit` must be in the history of `name` or `ref` (the ^{} form)
};
StatusOr<GitVersion> ParseGitVersion(std::string_view version);

// A URL scheme://[userinfo@]host[:port][/path] cut into its parts as written (path "/" when it has
// none); nullopt without "://".
struct UrlParts {
  std::string scheme, host, port, path;
};
std::optional<UrlParts> ParseUrl(std::string_view url);

// The path (/v1/repos/<name>) of a CodeCommit repository Gantry serves at `endpoint` (its own URL),
// for AWS's clone URLs (https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>) and for
// Gantry's own (<endpoint>/v1/repos/<name>); nullopt for any other URL.
std::optional<std::string> GantryRepositoryPath(std::string_view url, std::string_view endpoint);

// A git `credential.helper` (shell) that answers, for protocol://host/path, the password listed for
// it in $GANTRY_GIT_CREDENTIALS (lines "<protocol>://<host>/<path> <password>") with user name
// $GANTRY_GIT_USER, and nothing for any other URL: the credentials of one repository never go to
// another host or repository. Needs credential.useHttpPath.
std::string_view CredentialTableHelper();

// The options (before git's subcommand) every git process of a build's sources runs with: only the
// http and https transports, for the source and for whatever it names (submodules, redirects), so
// that a repository cannot make git read this machine's paths (file://, ext::) nor use Gantry's
// own ssh keys and known hosts (ssh://, git@host:path); no detached-HEAD advice. The -c settings
// reach every git process this one starts.
std::vector<std::string> GitTransportOptions();

// The environment of those processes: Gantry's PATH and TMPDIR, HOME (git's global configuration)
// as given, the C locale (git's messages are matched in English), no terminal prompt, no system
// configuration, and no ssh command even if a setting asked for one.
std::vector<std::string> GitEnvironment(const std::string& home);

// How CloneGitSource runs git and gets repositories authorized.
struct GitCommands {
  // Runs `git <args>` (with the caller's settings and credentials) in cwd.
  std::function<StatusOr<CommandResult>(const std::vector<std::string>& args, const std::string& cwd)> run;
  // Makes the credential helper answer for these clone URLs (those it can sign for; others get
  // nothing and fail as the server decides).
  std::function<void(const std::vector<std::string>& urls)> authorize;
};

struct GitSource {
  std::string url;      // what git fetches (Gantry's URL for its CodeCommit repositories)
  std::string version;  // the sourceVersion as requested
  int depth = 0;        // gitCloneDepth; 0 is the full history
  bool submodules = false;
  std::string where;  // " for primary source and source version main", appended to messages
};

// Fetches the source into dir (empty) and checks out its version: detached at the commit for a
// version (HEAD on the default branch without one), `depth` commits deep when depth > 0 (and the
// commit can be fetched alone), submodules (recursively, at full depth) when asked. Returns the
// commit ID checked out. Failures are CLIENT_ERROR with git's reason and `where`.
StatusOr<std::string> CloneGitSource(const GitCommands& git, const GitSource& source, const std::string& dir);

}  // namespace gantry::services::codebuild
