#!/usr/bin/env python3
"""Foundation benchmarks, each a ratio against nginx measured in the same run on this machine.

  1. start-up: process start → first successful SigV4-signed STS GetCallerIdentity (warm state
     directory), vs nginx start → first 200 for a static file;
  2. idle memory after start-up and one request, vs nginx (master + workers): resident (RSS,
     which counts the pages of shared libraries) and anonymous (what the process allocated);
  3. keep-alive throughput with wrk: SigV4-verified GetCallerIdentity (the signature is checked
     in full on every request; wrk replays one signed request, valid for the 15-minute skew
     window) vs nginx serving a static file.

usage: bench/foundation.py [--gantry build/src/gantry] [--duration 10] [--connections 32]
needs: scripts/setup --bench (wrk, nginx-light), botocore on this python.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gantry_server import free_port  # noqa: E402

BODY = "Action=GetCallerIdentity&Version=2011-06-15"


def read_credentials(state_dir):
    values = {}
    with open(os.path.join(state_dir, "credentials")) as f:
        for line in f:
            if "=" in line:
                k, v = [p.strip() for p in line.split("=", 1)]
                values[k] = v
    return Credentials(values["aws_access_key_id"], values["aws_secret_access_key"])


def signed_headers(credentials, port):
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=BODY,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(credentials, "sts", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def http_request(port, method, path, headers, body):
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
    for k, v in headers.items():
        if k.lower() not in ("host", "content-length"):
            head += f"{k}: {v}\r\n"
    return (head + "Connection: close\r\n\r\n" + body).encode()


def poll_until_ok(port, raw, deadline):
    while time.perf_counter() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(raw)
                data = s.recv(64)
                if data.startswith(b"HTTP/1.1 200"):
                    return True
        except OSError:
            pass
    return False


def memory_kib(pid):
    """(resident, anonymous) KiB. Resident counts every mapped page of the binary and its shared
    libraries; anonymous is what the process allocated itself (heap, stacks, dirtied data)."""
    rss = anon = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Anonymous:"):
                anon = int(line.split()[1])
    return rss, anon


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


class Nginx:
    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "html"), exist_ok=True)
        with open(os.path.join(root, "html", "index.html"), "w") as f:
            f.write("<html>ok</html>\n")

    def start(self, port):
        conf = os.path.join(self.root, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes auto; daemon off; pid {self.root}/nginx.pid; error_log {self.root}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {self.root}/tmp; proxy_temp_path {self.root}/tmp;
  fastcgi_temp_path {self.root}/tmp; uwsgi_temp_path {self.root}/tmp; scgi_temp_path {self.root}/tmp;
  server {{ listen 127.0.0.1:{port}; root {self.root}/html; }} }}
""")
        return subprocess.Popen(["nginx", "-p", self.root, "-c", conf], stderr=subprocess.DEVNULL)


def start_gantry(binary, state_dir, port):
    return subprocess.Popen([binary, "up", "--listen", f"127.0.0.1:{port}", "--state-dir", state_dir,
                             "--log-level", "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def startup(args, state_dir, nginx):
    gantry_ms, nginx_ms = [], []
    for _ in range(args.runs):
        port = free_port()
        raw = http_request(port, "POST", "/", signed_headers(read_credentials(state_dir), port), BODY)
        t0 = time.perf_counter()
        p = start_gantry(args.gantry, state_dir, port)
        ok = poll_until_ok(port, raw, t0 + 10)
        gantry_ms.append((time.perf_counter() - t0) * 1000)
        stop(p)
        assert ok, "gantry did not answer GetCallerIdentity"

        port = free_port()
        raw = http_request(port, "GET", "/index.html", {}, "")
        t0 = time.perf_counter()
        p = nginx.start(port)
        ok = poll_until_ok(port, raw, t0 + 10)
        nginx_ms.append((time.perf_counter() - t0) * 1000)
        stop(p)
        assert ok, "nginx did not answer"
    return statistics.median(gantry_ms), statistics.median(nginx_ms)


def wrk(url, script, args):
    cmd = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(next(line for line in out.splitlines() if line.startswith("Requests/sec:")).split()[1])
    non2xx = [line for line in out.splitlines() if "Non-2xx" in line]
    assert not non2xx, f"wrk saw errors: {non2xx}"
    return rps


def lua_for(headers):
    lines = ['wrk.method = "POST"', f'wrk.body = "{BODY}"']
    for k, v in headers.items():
        if k.lower() in ("host", "content-length"):
            continue
        lines.append(f'wrk.headers["{k}"] = "{v}"')
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gantry", default=os.path.join(os.path.dirname(__file__), "../build/src/gantry"))
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="gantry-bench-")
    os.chmod(work, 0o755)  # nginx workers run as nobody
    try:
        state_dir = os.path.join(work, "state")
        nginx = Nginx(os.path.join(work, "nginx"))
        os.makedirs(os.path.join(work, "nginx", "tmp"), exist_ok=True)

        # First start makes the root key; later starts are the warm case measured below.
        port = free_port()
        p = start_gantry(args.gantry, state_dir, port)
        deadline = time.perf_counter() + 10
        while not os.path.exists(os.path.join(state_dir, "credentials")) and time.perf_counter() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        stop(p)

        g_start, n_start = startup(args, state_dir, nginx)

        port, nport = free_port(), free_port()
        g = start_gantry(args.gantry, state_dir, port)
        n = nginx.start(nport)
        headers = signed_headers(read_credentials(state_dir), port)
        assert poll_until_ok(port, http_request(port, "POST", "/", headers, BODY), time.perf_counter() + 10)
        assert poll_until_ok(nport, http_request(nport, "GET", "/index.html", {}, ""), time.perf_counter() + 10)
        time.sleep(0.5)
        g_rss, g_uss = memory_kib(g.pid)
        n_mem = [memory_kib(p) for p in [n.pid] + children(n.pid)]
        n_rss, n_uss = sum(m[0] for m in n_mem), sum(m[1] for m in n_mem)

        script = os.path.join(work, "sts.lua")
        with open(script, "w") as f:
            f.write(lua_for(headers))
        g_rps = wrk(f"http://127.0.0.1:{port}/", script, args)
        n_rps = wrk(f"http://127.0.0.1:{nport}/index.html", None, args)
        stop(g)
        stop(n)

        print(f"{'measure':<48}{'gantry':>12}{'nginx':>12}{'ratio':>10}")
        print(f"{'start → first response, median ms':<48}{g_start:>12.1f}{n_start:>12.1f}{g_start / n_start:>10.2f}")
        print(f"{'idle resident memory (RSS), KiB':<48}{g_rss:>12}{n_rss:>12}{g_rss / n_rss:>10.2f}")
        print(f"{'idle anonymous memory, KiB':<48}{g_uss:>12}{n_uss:>12}{g_uss / n_uss:>10.2f}")
        print(f"{'keep-alive requests/s (gantry: SigV4 STS)':<48}{g_rps:>12.0f}{n_rps:>12.0f}{g_rps / n_rps:>10.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
