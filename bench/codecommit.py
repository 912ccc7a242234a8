"""CodeCommit side by side with `git daemon` on the same machine: push of a repository with
10,000 commits into an empty repository, and a bare clone of it, through Gantry's git smart HTTP
(git http-backend behind Gantry's authentication, IAM authorization and ref events) and through
`git daemon` (git:// protocol, no authentication) serving the same kind of bare repository. Also
the push-to-event latency: from the end of a `git push` (and from its start) to the arrival of the
"CodeCommit Repository State Change" event at an EventBridge API-destination target, an HTTP server
in this script.

Gantry's git client authenticates with IAM HTTPS Git credentials (a fixed user name and password),
so the numbers are the server's, not the aws CLI credential helper's start-up (about 0.4 s of
Python per git process, reported separately).

Usage: python3 bench/codecommit.py [--gantry build/gantry] [--commits 10000] [--runs 3] [--events 20]
"""
import argparse
import http.server
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from gantry_server import GantryServer, event_sink, free_port  # noqa: E402


def run(cmd, cwd=None, env=None, input=None):
    p = subprocess.run(cmd, cwd=cwd, env=env, input=input, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr.decode(errors='replace')}")
    return p.stdout


def timed(cmd, cwd=None, env=None):
    start = time.perf_counter()
    run(cmd, cwd=cwd, env=env)
    return time.perf_counter() - start


def make_history(path, commits):
    """A repository whose main has `commits` commits, each changing one of 100 files."""
    run(["git", "init", "-q", "-b", "main", path])
    stream = []
    for i in range(1, commits + 1):
        message = f"commit {i}\n".encode()
        content = f"line {i}\n".encode() * 4
        stream.append(b"commit refs/heads/main\n")
        stream.append(f"mark :{i}\ncommitter Bench <bench@example.com> {1700000000 + i} +0000\n".encode())
        stream.append(f"data {len(message)}\n".encode() + message)
        if i > 1:
            stream.append(f"from :{i - 1}\n".encode())
        stream.append(f"M 100644 inline src/file_{i % 100:03d}.txt\ndata {len(content)}\n".encode() + content + b"\n")
    run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(stream))
    run(["git", "gc", "-q"], cwd=path)


class GitDaemon:
    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", f"--base-path={base}",
             f"--port={self.port}", "--listen=127.0.0.1", base], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("git daemon did not start")
                time.sleep(0.05)

    def url(self, name):
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


EventSink = event_sink(time.perf_counter)


def wait_for_event(commit, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with EventSink.lock:
            for arrived, event in EventSink.arrivals:
                if event.get("detail", {}).get("commitId") == commit:
                    return arrived
        time.sleep(0.001)
    raise RuntimeError(f"no event for {commit}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gantry", default=os.path.join(os.path.dirname(__file__), "../build/gantry"))
    parser.add_argument("--commits", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="gantry-bench-codecommit-")
    server = daemon = None
    try:
        source = os.path.join(work, "source")
        make_history(source, args.commits)
        server = GantryServer(args.gantry, os.path.join(work, "state"))
        daemon_root = os.path.join(work, "daemon")
        os.makedirs(daemon_root)
        daemon = GitDaemon(daemon_root)

        iam = server.boto3("iam")
        iam.create_user(UserName="bench")
        iam.put_user_policy(UserName="bench", PolicyName="git", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codecommit:*", "Resource": "*"}]}))
        credential = iam.create_service_specific_credential(
            UserName="bench", ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
        home = os.path.join(work, "home")
        os.makedirs(home)
        env = dict(os.environ, HOME=home, GIT_CONFIG_GLOBAL=os.path.join(home, ".gitconfig"), GIT_TERMINAL_PROMPT="0")
        helper = f"!f() {{ echo username={credential['ServiceUserName']}; echo password={credential['ServicePassword']}; }}; f"
        run(["git", "config", "--global", "credential.helper", helper], env=env)
        codecommit = server.boto3("codecommit")

        results = {"push": {"gantry": [], "daemon": []}, "clone": {"gantry": [], "daemon": []}}
        for i in range(args.runs):
            name = f"bench-{i}"
            codecommit.create_repository(repositoryName=name)
            gantry_url = f"{server.endpoint}/v1/repos/{name}"
            run(["git", "init", "-q", "--bare", os.path.join(daemon_root, name)])
            daemon_url = daemon.url(name)
            for peer, url in (("gantry", gantry_url), ("daemon", daemon_url)):
                results["push"][peer].append(timed(["git", "push", "-q", url, "main"], cwd=source, env=env))
            for peer, url in (("gantry", gantry_url), ("daemon", daemon_url)):
                target = os.path.join(work, f"clone-{peer}-{i}")
                results["clone"][peer].append(timed(["git", "clone", "-q", "--bare", url, target], env=env))
                count = run(["git", "rev-list", "--count", "main"], cwd=target).strip().decode()
                if count != str(args.commits):
                    raise RuntimeError(f"{peer} clone has {count} commits")
                shutil.rmtree(target)

        # Push-to-event latency through an EventBridge rule and API destination.
        sink_port = free_port()
        sink = http.server.ThreadingHTTPServer(("127.0.0.1", sink_port), EventSink)
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        events = server.boto3("events")
        connection = events.create_connection(
            Name="sink", AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}})["ConnectionArn"]
        destination = events.create_api_destination(
            Name="sink", ConnectionArn=connection, InvocationEndpoint=f"http://127.0.0.1:{sink_port}/events",
            HttpMethod="POST")["ApiDestinationArn"]
        events.put_rule(Name="pushes", EventPattern=json.dumps({"source": ["aws.codecommit"]}))
        events.put_targets(Rule="pushes", Targets=[{"Id": "sink", "Arn": destination}])
        codecommit.create_repository(repositoryName="events")
        clone = os.path.join(work, "events")
        run(["git", "clone", "-q", f"{server.endpoint}/v1/repos/events", clone], env=env)
        after_end, after_start = [], []
        for i in range(args.events):
            with open(os.path.join(clone, "n.txt"), "w") as f:
                f.write(str(i))
            run(["git", "add", "n.txt"], cwd=clone, env=env)
            run(["git", "-c", "user.name=b", "-c", "user.email=b@e", "commit", "-q", "-m", str(i)], cwd=clone, env=env)
            commit = run(["git", "rev-parse", "HEAD"], cwd=clone).strip().decode()
            start = time.perf_counter()
            run(["git", "push", "-q", "origin", "HEAD:main"], cwd=clone, env=env)
            end = time.perf_counter()
            arrived = wait_for_event(commit)
            after_end.append((arrived - end) * 1000)
            after_start.append((arrived - start) * 1000)
        sink.shutdown()

        # The aws CLI credential helper's own cost, which every git process pays with it.
        helper_env = dict(server.env(), HOME=home)
        helper_start = time.perf_counter()
        run([shutil.which("aws") or "/usr/bin/aws", "codecommit", "credential-helper", "--ignore-host-check", "get"],
            env=helper_env, input=f"protocol=http\nhost=127.0.0.1:{server.port}\npath=v1/repos/events\n\n".encode())
        helper_seconds = time.perf_counter() - helper_start

        print(f"repository: {args.commits} commits, pack {os.path.getsize(pack_of(source)) / 1024:.0f} KiB; "
              f"{args.runs} runs, medians")
        print("| operation | gantry s | git daemon s | ratio |")
        print("|---|---:|---:|---:|")
        for op in ("push", "clone"):
            g = statistics.median(results[op]["gantry"])
            d = statistics.median(results[op]["daemon"])
            print(f"| {op} | {g:.3f} | {d:.3f} | {g / d:.2f} |")
        print(f"push-to-event ({args.events} pushes): event arrived {statistics.median(after_end):.1f} ms "
              f"(median; max {max(after_end):.1f}) after `git push` exited, "
              f"{statistics.median(after_start):.1f} ms after it started")
        print(f"aws CLI credential helper, one call: {helper_seconds:.2f} s")
    finally:
        if daemon:
            daemon.stop()
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def pack_of(repo):
    pack_dir = os.path.join(repo, ".git", "objects", "pack")
    return os.path.join(pack_dir, next(f for f in os.listdir(pack_dir) if f.endswith(".pack")))


if __name__ == "__main__":
    main()
