// Git's smart HTTP protocol (v0 and v2, shallow and partial clones, gzip request bodies, large
// chunked pushes) at /v1/repos/<name>/..., served by running `git http-backend` as a CGI program
// over the repository's bare directory. What Gantry adds around it:
//  - authentication (git_credentials.h): no or bad Basic credentials get 401 with
//    WWW-Authenticate: Basic, so git asks its credential helper;
//  - authorization: codecommit:GitPull for fetches and clones, codecommit:GitPush for pushes, on
//    the repository's ARN, by the IAM authorizer as the authenticated principal;
//  - ref rules, through hooks git runs inside receive-pack (<work_dir>/hooks, core.hooksPath):
//    the `update` hook refuses to delete the default branch; the `post-receive` hook writes the
//    ref updates it is given to a file, which Gantry reads once receive-pack has finished, to emit
//    the "CodeCommit Repository State Change" events, fire triggers and set the default branch of
//    a repository that had none. The response is sent after that, so events are out before git
//    reports the push as done.
// git writes objects and refs before it answers, and Gantry answers only after git exits, so an
// acknowledged push survives kill -9 of Gantry (core.fsync=committed also covers power loss).
//
// Thread-safe: each request runs its own git process.
#pragma once

#include <optional>
#include <string>

#include "core/aws/service.h"
#include "core/http/message.h"
#include "services/codecommit/codecommit_service.h"

namespace gantry::services::codecommit {

// A request for a repository's git endpoint.
struct GitRoute {
  std::string repository;  // the repository name
  std::string url_path;    // the repository URL path as sent (/v1/repos/<name>): what helpers sign
  std::string suffix;      // info/refs, git-upload-pack, git-receive-pack, HEAD, objects/...
  bool push = false;       // receive-pack (advertisement or RPC)
};

// The git route of a request, or nullopt when the path is not a repository's git endpoint.
std::optional<GitRoute> ParseGitRoute(const http::Request& request);

// Writes the hooks into <work_dir>/hooks (idempotent) and empties <work_dir>/spool.
Status PrepareGitHosting(const CodeCommitDeps& deps);

void ServeGit(const CodeCommitDeps& deps, const GitRoute& route, const http::Request& request,
              const aws::HttpServeContext& context, http::Response& response);

}  // namespace gantry::services::codecommit
