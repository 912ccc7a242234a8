#!/usr/bin/env python3
"""CodeBuild benchmarks, each against a physical peer measured in the same run:

  1. `gantry build` of a buildspec with 200 commands vs the same 200 commands as one bare
     `bash` script (hyperfine when installed, else an interleaved loop; mean of --runs).
     Target: overhead under 5% of the script plus 20 ms.
  2. StartBuild to the first command's first output line through a running server: the first
     command prints the wall clock (`date +%s.%N`) and the benchmark reads it back from the build's
     CloudWatch Logs stream. Peer: starting `bash -c 'date +%s.%N'` from the same Python process.
     Target: under 30 ms.
  3. The same in a container (runc; as root, with runc and busybox-static installed): a busybox
     image with GNU date registered with `gantry image register`, side by side with the host
     sandbox build of 2. and with `runc run` of the same `date +%s.%N` alone (its own bundle over
     the same root file system), interleaved. Target: under 60 ms.

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


def busybox_rootfs(root):
    """busybox (sh and its applets) plus GNU date and the libraries it loads (busybox's date has no %N)."""
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(os.path.join(root, "usr", "bin"))
    os.makedirs(os.path.join(root, "etc"))
    os.makedirs(os.path.join(root, "root"))
    shutil.copy2("/bin/busybox", os.path.join(root, "bin", "busybox"))
    for applet in subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True).stdout.split():
        if applet not in ("busybox", "date"):
            os.symlink("busybox", os.path.join(root, "bin", applet))
    shutil.copy2("/usr/bin/date", os.path.join(root, "usr", "bin", "date"))
    for line in subprocess.run(["ldd", "/usr/bin/date"], capture_output=True, text=True).stdout.splitlines():
        path = next((w for w in line.split() if w.startswith("/")), None)
        if path:
            target = os.path.join(root, path.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.realpath(path), target)
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")


def runc_alone_ms(bundle, rootfs, index):
    """`runc run` of `date +%s.%N` in a bundle over rootfs: from the start to the printed time."""
    spec = subprocess.run(["runc", "spec", "--bundle", bundle], capture_output=True) if not os.path.exists(
        os.path.join(bundle, "config.json")) else None
    if spec is not None:
        with open(os.path.join(bundle, "config.json")) as f:
            config = json.load(f)
        config["process"]["terminal"] = False
        config["process"]["args"] = ["/usr/bin/date", "+%s.%N"]
        config["root"] = {"path": rootfs, "readonly": True}
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(config, f)
    started = time.time()
    out = subprocess.run(["runc", "--root", os.path.join(bundle, "state"), "run", "--bundle", bundle,
                          f"bench-{os.getpid()}-{index}"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return (float(out.stdout) - started) * 1000


def build_first_line_ms(codebuild, logs, project):
    """StartBuild to the wall clock the build's first command printed."""
    started = time.time()
    build = codebuild.start_build(projectName=project)["build"]
    while True:
        build = codebuild.batch_get_builds(ids=[build["id"]])["builds"][0]
        if build["buildComplete"]:
            break
        time.sleep(0.02)
    events = logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                 logStreamName=build["logs"]["streamName"], startFromHead=True)["events"]
    printed = next((float(e["message"]) for e in events if e["message"].strip().replace(".", "").isdigit()), None)
    if printed is None:
        raise RuntimeError(f"build of {project} printed no time: " + "".join(e["message"] for e in events))
    return (printed - started) * 1000


def containers_available():
    return os.geteuid() == 0 and shutil.which("runc") and os.access("/bin/busybox", os.X_OK)


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
        containers = containers_available()
        if containers:
            busybox_rootfs(os.path.join(state, "..", os.path.basename(state) + "-rootfs"))
            rootfs = os.path.realpath(os.path.join(state, "..", os.path.basename(state) + "-rootfs"))
            subprocess.run([args.gantry, "image", "register", "bench/busybox:1", rootfs, "--env", "PATH=/usr/bin:/bin",
                            "--state-dir", state], check=True, stdout=subprocess.DEVNULL)
            # busybox's sh would run its own date applet for a plain `date`.
            in_image = "version: 0.2\nenv:\n  shell: /bin/sh\nphases:\n  build:\n    commands:\n" \
                       "      - /usr/bin/date +%s.%N\n"
            codebuild.create_project(name="bench-container", source={"type": "NO_SOURCE", "buildspec": in_image},
                                     artifacts={"type": "NO_ARTIFACTS"}, serviceRole=role,
                                     environment={"type": "LINUX_CONTAINER", "image": "bench/busybox:1",
                                                  "computeType": "BUILD_GENERAL1_SMALL"})
            bundle = tempfile.mkdtemp(prefix="gantry-bench-runc-")
        gantry_ms, peer_ms, container_ms, runc_ms = [], [], [], []
        for i in range(args.runs):
            gantry_ms.append(build_first_line_ms(codebuild, logs, "bench"))
            started = time.time()
            printed = float(subprocess.run(["bash", "-c", "date +%s.%N"], capture_output=True, text=True).stdout)
            peer_ms.append((printed - started) * 1000)
            if containers:
                container_ms.append(build_first_line_ms(codebuild, logs, "bench-container"))
                runc_ms.append(runc_alone_ms(bundle, rootfs, i))
        g, p = statistics.median(gantry_ms), statistics.median(peer_ms)
        print(f"StartBuild to first output line: median {g:.1f} ms (target < 30 ms: {'met' if g < 30 else 'NOT met'}); "
              f"bash -c from Python {p:.1f} ms; ratio {g / p:.1f}")
        if containers:
            c, r = statistics.median(container_ms), statistics.median(runc_ms)
            print(f"StartBuild to first output line in a container: median {c:.1f} ms (target < 60 ms: "
                  f"{'met' if c < 60 else 'NOT met'}); host sandbox {g:.1f} ms; `runc run` of the same date alone "
                  f"{r:.1f} ms")
            shutil.rmtree(bundle, ignore_errors=True)
            shutil.rmtree(rootfs, ignore_errors=True)
        else:
            print("StartBuild to first output line in a container: skipped (needs root, runc and /bin/busybox)")
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
