#!/usr/bin/env python3
"""CodeBuild benchmarks, each against a physical peer measured in the same run:

  1. `gantry build` of a buildspec with 200 commands vs the same 200 commands as one bare
     `bash` script (hyperfine when installed, else an interleaved loop; mean of --runs).
     Target: overhead under 5% of the script plus 20 ms.
  2. StartBuild to the first command's first output line through a running server: the first
     command prints the wall clock (`date +%s.%N`) and the benchmark reads it back from the build's
     CloudWatch Logs stream. Peer: starting `bash -c 'date +%s.%N'` from the same Python process.
     Target: under 30 ms.

usage: bench/codebuild.py [--gantry build/src/gantry] [--runs 20]
needs: boto3 on this python, bash; hyperfine optional (scripts/setup --bench).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gantry_server import GantryServer  # noqa: E402


def commands(n):
    """A mix of what buildspecs do: builtins, variable and directory changes, small processes."""
    kinds = [
        lambda i: f'echo "step {i}"',
        lambda i: f"export STEP_{i}={i}",
        lambda i: "test -f buildspec.yml",
        lambda i: "ls > /dev/null",
        lambda i: "cd . && true",
    ]
    return [kinds[i % len(kinds)](i) for i in range(n)]


def write_project(directory, n):
    cmds = commands(n)
    with open(os.path.join(directory, "buildspec.yml"), "w") as f:
        f.write("version: 0.2\nphases:\n  build:\n    commands:\n")
        for c in cmds:
            f.write("      - " + json.dumps(c) + "\n")
    with open(os.path.join(directory, "script.sh"), "w") as f:
        f.write("\n".join(cmds) + "\n")


def mean_seconds(command, cwd, runs):
    if shutil.which("hyperfine"):
        out = os.path.join(cwd, "hyperfine.json")
        subprocess.run(["hyperfine", "--warmup", "3", "--runs", str(runs), "-N", "--export-json", out, command],
                       cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)["results"][0]["mean"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, shell=True, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.mean(times)


def local_build(args):
    work = tempfile.mkdtemp(prefix="gantry-bench-build-")
    try:
        write_project(work, 200)
        gantry = os.path.abspath(args.gantry)
        bash = mean_seconds("bash script.sh", work, args.runs)
        build = mean_seconds(f"{gantry} build", work, args.runs)
        overhead = build - bash
        target = 0.05 * bash + 0.020
        print(f"200 commands: bash script {bash * 1000:.1f} ms, gantry build {build * 1000:.1f} ms, "
              f"overhead {overhead * 1000:.1f} ms (target < {target * 1000:.1f} ms: "
              f"{'met' if overhead < target else 'NOT met'}), ratio {build / bash:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def first_line_latency(args):
    state = tempfile.mkdtemp(prefix="gantry-bench-state-")
    server = GantryServer(args.gantry, state)
    try:
        iam, codebuild, logs = server.boto3("iam"), server.boto3("codebuild"), server.boto3("logs")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                           "Principal": {"Service": "codebuild.amazonaws.com"}}]}
        role = iam.create_role(RoleName="bench-build", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.attach_role_policy(RoleName="bench-build", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - date +%s.%N\n"
        codebuild.create_project(name="bench", source={"type": "NO_SOURCE", "buildspec": buildspec},
                                 artifacts={"type": "NO_ARTIFACTS"}, serviceRole=role,
                                 environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                                              "computeType": "BUILD_GENERAL1_SMALL"})
        gantry_ms, peer_ms = [], []
        for _ in range(args.runs):
            started = time.time()
            build = codebuild.start_build(projectName="bench")["build"]
            while True:
                build = codebuild.batch_get_builds(ids=[build["id"]])["builds"][0]
                if build["buildComplete"]:
                    break
                time.sleep(0.02)
            events = logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                         logStreamName=build["logs"]["streamName"], startFromHead=True)["events"]
            printed = next(float(e["message"]) for e in events if e["message"].strip().replace(".", "").isdigit())
            gantry_ms.append((printed - started) * 1000)
            started = time.time()
            printed = float(subprocess.run(["bash", "-c", "date +%s.%N"], capture_output=True, text=True).stdout)
            peer_ms.append((printed - started) * 1000)
        g, p = statistics.median(gantry_ms), statistics.median(peer_ms)
        print(f"StartBuild to first output line: median {g:.1f} ms (target < 30 ms: {'met' if g < 30 else 'NOT met'}); "
              f"bash -c from Python {p:.1f} ms; ratio {g / p:.1f}")
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gantry", default=os.path.join(os.path.dirname(__file__), "../build/src/gantry"))
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    local_build(args)
    first_line_latency(args)


if __name__ == "__main__":
    main()
