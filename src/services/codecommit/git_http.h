// Git's smart HTTP protocol (v0 and v2, shallow and partial clones, gzip request bodies, large
// chunked pushes) at /v1/repos/<name>/..., served by running `git http-backend` as a CGI program
// over the repository's bare directory. What Gantry adds around it:
//  - authentication (git_credentials.h): no or bad Basic credentials get 401 with
//    WWW-Authenticate: Basic, so git asks its credential helper;
//  - authorization: codecommit:GitPull for fetches and clones, codecommit:GitPush for pushes, on
//    the repository's ARN, by the IAM authorizer as the authenticated principal; a push is also
//    authorized once per ref it updates with the condition key codecommit:References set to the
//    ref, so a Deny on it protects branches (AWS's "Limit pushes and merges to branches"); one
//    denied ref refuses the whole push (403);
//  - ref rules, through hooks git runs inside receive-pack (<work_dir>/hooks, core.hooksPath):
//    the `update` hook refuses to delete the default branch;
//  - every push is an event: the `post-receive` hook writes the ref updates it is given to a push
//    record (below), which Gantry reads once receive-pack has finished, to emit the "CodeCommit
//    Repository State Change" events, fire triggers, refresh pull requests and set the default
//    branch of a repository that had none (PublishReferenceChanges); the record is deleted only
//    after that. The response is sent after that, so events are out before git reports the push
//    as done.
// git writes objects and refs before it answers, and Gantry answers only after git exits, so an
// acknowledged push survives kill -9 of Gantry; git also fsyncs them (core.fsync=committed,reference:
// git 2.39's `committed` already includes refs, but its documentation says objects only, so refs
// are named), against a power loss. git keeps running when Gantry is killed mid-push (it is not
// tied to Gantry's life: killing it between moving refs and running post-receive would lose the
// record), so its record can appear after Gantry died: ReplayPendingPushes, at Start and after
// every push to the repository, publishes the records nobody else is publishing.
//
// Push records: <work_dir>/pending/<repositoryId>/<time>-<id>.refs, written by the hook to a
// .tmp, fsynced and renamed into place (then the directory fsynced). Line 1 is a JSON object
// {accountId, region, repositoryId, repositoryName, callerArn}; each further line is
// "<old> <new> <ref>" as git gives it to post-receive (all-zero ids for created/deleted refs).
// Whoever publishes a record holds an exclusive flock on <same stem>.lock: the request that pushed
// it from before git starts until the record is deleted, or the replay that found it. A .tmp left
// by a hook that was itself killed is never published.
//
// Thread-safe: each request runs its own git process; records are claimed through their locks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// Writes the hooks into <work_dir>/hooks (idempotent), empties <work_dir>/spool and creates
// <work_dir>/pending.
Status PrepareGitHosting(const CodeCommitDeps& deps);

// Publishes and deletes every push record under <work_dir>/pending (or only the repository's,
// when repository_id is given) that no one else holds, oldest first; removes lock files and, for
// all repositories, empty directories left over. A record of a repository that no longer exists
// is dropped. Failures are logged. Returns the number of records published.
int ReplayPendingPushes(const CodeCommitDeps& deps, std::string_view repository_id = {});

// The refs a receive-pack request updates, in order: the "<old> <new> <ref>" commands at the start
// of its body (pkt-lines up to the flush-pkt, after any "shallow" lines), read from the body's file
// or memory and gunzipped when Content-Encoding is gzip; the pack that follows is not read.
// InvalidArgument when the commands are malformed, truncated, or larger than 16 MiB.
StatusOr<std::vector<std::string>> ReceivePackRefs(const http::Request& request);

void ServeGit(const CodeCommitDeps& deps, const GitRoute& route, const http::Request& request,
              const aws::HttpServeContext& context, http::Response& response);

}  // namespace gantry::services::codecommit
