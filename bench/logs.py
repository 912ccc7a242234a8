#!/usr/bin/env python3
"""CloudWatch Logs benchmarks, each against a physical peer measured in the same run:

  1. ingestion: PutLogEvents into one log stream per client, in MB/s (message bytes) and
     events/s, for small events (10,000 per request) and large batches (1 MiB per request);
     through boto3 (one client, the SDK's own cost included) and through pre-signed raw HTTP
     requests from `--clients` threads (what the server sustains). Peer: appending the same
     message bytes to a file (write + flush per batch, as Gantry's write-ahead file does).
  2. scan: FilterLogEvents over a generated corpus (all pages) for a rare and a dense term, vs
     `grep -c` of the same term over the same text as one uncompressed file (page cache warm, best
     of --runs). Gantry is timed twice: through pre-signed raw HTTP requests whose JSON answers are
     parsed with json.loads (the server's scan rate), and through boto3's paginator (what an SDK
     user waits, botocore's response parsing included). Also the corpus's size on disk in Gantry
     (zstd segments) vs the plain text.

usage: bench/logs.py [--gantry build/src/gantry] [--corpus-mb 1024] [--ingest-mb 256]
                     [--clients 2] [--runs 3] [--streams 8]
needs: botocore/boto3 on this python, grep.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gantry_server import free_port  # noqa: E402

RARE_TERM = "OutOfMemoryError"       # one line in 10,000: most blocks are ruled out by their trigram filter
DENSE_TERM = "SocketTimeoutException"  # one line in 700: in nearly every block, a pure decompress-and-search
BATCH_LIMIT = 1048576


class Server:
    def __init__(self, binary, state_dir):
        self.binary, self.state_dir = binary, state_dir
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "up", "--listen", f"127.0.0.1:{self.port}", "--state-dir", state_dir, "--log-level", "warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        values = {}
        with open(os.path.join(state_dir, "credentials")) as f:
            for line in f:
                if "=" in line:
                    k, v = [p.strip() for p in line.split("=", 1)]
                    values[k] = v
        self.credentials = Credentials(values["aws_access_key_id"], values["aws_secret_access_key"])

    def boto3(self):
        import boto3
        from botocore.config import Config
        return boto3.client("logs", endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1",
                            aws_access_key_id=self.credentials.access_key,
                            aws_secret_access_key=self.credentials.secret_key,
                            config=Config(retries={"max_attempts": 1}, read_timeout=300))

    def signed(self, operation, body):
        request = AWSRequest(method="POST", url=f"http://127.0.0.1:{self.port}/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"Logs_20140328.{operation}"})
        SigV4Auth(self.credentials, "logs", "us-east-1").add_auth(request)
        return dict(request.headers.items())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def raw_put(conn, server, body):
    headers = server.signed("PutLogEvents", body)
    conn.request("POST", "/", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"PutLogEvents failed: {resp.status} {data[:300]!r}")


def put_body(group, stream, events):
    return json.dumps({"logGroupName": group, "logStreamName": stream,
                       "logEvents": [{"timestamp": t, "message": m} for t, m in events]}).encode()


# ---------------------------------------------------------------- ingestion

def ingestion(server, args, workdir):
    logs = server.boto3()
    rows = []
    for label, size, per_batch in [("small events (78 B, 10,000 per request)", 78, 10000),
                                   ("large batches (1,000 B, 1,017 per request)", 1000, 1017)]:
        message_bytes = per_batch * size
        batches = max(4, int(args.ingest_mb * 1e6 / message_bytes))
        payload = [("x" * (size - 12)) + f"{i:012d}" for i in range(per_batch)]
        group = f"/bench/ingest-{size}"
        logs.create_log_group(logGroupName=group)

        # Peer: the same message bytes appended to a file, flushed per batch.
        path = os.path.join(workdir, "peer.log")
        chunk = ("\n".join(payload) + "\n").encode()
        start = time.perf_counter()
        with open(path, "wb") as f:
            for _ in range(batches):
                f.write(chunk)
                f.flush()
        peer = time.perf_counter() - start
        os.unlink(path)

        # boto3, one client.
        logs.create_log_stream(logGroupName=group, logStreamName="boto3")
        boto_batches = max(2, batches // 4)
        base = int(time.time() * 1000)
        start = time.perf_counter()
        for b in range(boto_batches):
            logs.put_log_events(logGroupName=group, logStreamName="boto3",
                                logEvents=[{"timestamp": base + b, "message": m} for m in payload])
        boto = time.perf_counter() - start

        # Pre-signed raw HTTP from several clients, one stream each (bodies built beforehand).
        bodies = {}
        for c in range(args.clients):
            stream = f"raw-{c}"
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            bodies[c] = [put_body(group, stream, [(base + b, m) for m in payload])
                         for b in range(min(batches, 8))]
        per_client = batches // args.clients

        def run(c):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
            for b in range(per_client):
                raw_put(conn, server, bodies[c][b % len(bodies[c])])
            conn.close()

        threads = [threading.Thread(target=run, args=(c,)) for c in range(args.clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        raw = time.perf_counter() - start
        raw_batches = per_client * args.clients
        rows.append((label,
                     boto_batches * message_bytes / boto / 1e6, boto_batches * per_batch / boto,
                     raw_batches * message_bytes / raw / 1e6, raw_batches * per_batch / raw,
                     batches * message_bytes / peer / 1e6))
    print("\n## Ingestion (PutLogEvents)\n")
    print("| workload | boto3 MB/s | boto3 events/s | raw HTTP MB/s | raw HTTP events/s | file append MB/s | raw / file |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, bmb, bev, rmb, rev, pmb in rows:
        print(f"| {label} | {bmb:,.1f} | {bev:,.0f} | {rmb:,.1f} | {rev:,.0f} | {pmb:,.0f} | {rmb / pmb:.3f} |")


# ---------------------------------------------------------------- scan

def corpus_lines(seed):
    """Endless realistic log lines: access log, application log and JSON lines."""
    rng = random.Random(seed)
    paths = ["/api/v1/items", "/api/v1/users", "/static/app.js", "/health", "/api/v2/orders", "/login"]
    users = [f"user{i}" for i in range(500)]
    verbs = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
    statuses = [200] * 20 + [201, 204, 301, 304, 400, 401, 403, 404, 404, 500, 502, 503]
    workers = [f"worker-{i}" for i in range(16)]
    n = 0
    while True:
        n += 1
        kind = rng.random()
        if n % 10000 == 5000:
            yield (f"ERROR [{rng.choice(workers)}] java.lang.{RARE_TERM}: Java heap space "
                   f"while processing job {rng.randrange(10**9)}")
        elif n % 700 == 300:
            yield (f"WARN  [{rng.choice(workers)}] java.net.{DENSE_TERM}: Read timed out after "
                   f"{rng.randrange(1000, 30000)} ms (upstream 10.0.{rng.randrange(256)}.{rng.randrange(256)}:8080)")
        elif kind < 0.5:
            yield (f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)} - {rng.choice(users)} "
                   f"[26/Nov/2026:07:{rng.randrange(60):02d}:{rng.randrange(60):02d} +0000] "
                   f"\"{rng.choice(verbs)} {rng.choice(paths)}/{rng.randrange(100000)} HTTP/1.1\" "
                   f"{rng.choice(statuses)} {rng.randrange(100, 50000)} \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"")
        elif kind < 0.8:
            yield (f"INFO  [{rng.choice(workers)}] com.example.jobs.Processor - processed job {rng.randrange(10**9)} "
                   f"for {rng.choice(users)} in {rng.randrange(1, 5000)} ms (queue depth {rng.randrange(100)})")
        else:
            yield json.dumps({"level": rng.choice(["info", "info", "warn", "debug"]), "service": "checkout",
                              "requestId": f"{rng.getrandbits(64):016x}", "user": rng.choice(users),
                              "latencyMs": rng.randrange(1, 3000), "path": rng.choice(paths),
                              "status": rng.choice(statuses)})


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def scan(server, args, workdir):
    logs = server.boto3()
    group = "/bench/scan"
    logs.create_log_group(logGroupName=group)
    streams = [f"host-{i}" for i in range(args.streams)]
    for s in streams:
        logs.create_log_stream(logGroupName=group, logStreamName=s)
    corpus = os.path.join(workdir, "corpus.log")
    target = int(args.corpus_mb * 1024 * 1024)
    base = int(time.time() * 1000) - 6 * 3600 * 1000
    lines = corpus_lines(20261126)
    written = 0
    n = 0
    work = []  # (stream, body)
    lock = threading.Lock()
    done = threading.Event()

    def sender():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        while True:
            with lock:
                item = work.pop(0) if work else None
            if item is None:
                if done.is_set():
                    break
                time.sleep(0.005)
                continue
            raw_put(conn, server, item)
        conn.close()

    senders = [threading.Thread(target=sender) for _ in range(args.clients)]
    for t in senders:
        t.start()
    start = time.perf_counter()
    with open(corpus, "w") as f:
        while written < target:
            # One batch per stream in turn; timestamps advance 1 ms per line across the group.
            stream = streams[(n // 4000) % len(streams)]
            batch, size = [], 0
            while size < BATCH_LIMIT - 4000 and len(batch) < 4000 and written < target:
                line = next(lines)
                batch.append((base + n, line))
                size += len(line) + 26
                written += len(line) + 1
                n += 1
            f.write("\n".join(m for _, m in batch) + "\n")
            body = put_body(group, stream, batch)
            while True:
                with lock:
                    if len(work) < 8:
                        work.append(body)
                        break
                time.sleep(0.002)
    done.set()
    for t in senders:
        t.join()
    ingest_time = time.perf_counter() - start
    text_bytes = os.path.getsize(corpus)
    stored = dir_size(os.path.join(server.state_dir, "logs"))
    print(f"\n## Scan (FilterLogEvents vs grep -c)\n")
    print(f"corpus: {n:,} lines, {text_bytes / 2**20:,.0f} MiB of text in {len(streams)} streams; generated and "
          f"ingested in {ingest_time:.0f} s; stored in Gantry as {stored / 2**20:,.0f} MiB "
          f"({text_bytes / max(stored, 1):.1f}x smaller)\n")

    env = dict(os.environ, LC_ALL="C")
    print("| term | matches (Gantry / grep) | FilterLogEvents raw HTTP, s | via boto3, s | grep -c, s | "
          "ratio raw HTTP / grep | ratio boto3 / grep | Gantry MiB/s of text | grep MiB/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    notes = []

    def raw_filter(term):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        count, pages, token = 0, 0, None
        while True:
            request = {"logGroupName": group, "filterPattern": term}
            if token:
                request["nextToken"] = token
            body = json.dumps(request).encode()
            conn.request("POST", "/", body=body, headers=server.signed("FilterLogEvents", body))
            resp = conn.getresponse()
            answer = json.loads(resp.read())
            if resp.status != 200:
                raise RuntimeError(f"FilterLogEvents failed: {answer}")
            count += len(answer["events"])
            pages += 1
            token = answer.get("nextToken")
            if not token:
                conn.close()
                return count, pages

    def boto_filter(term):
        count, pages = 0, 0
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern=term):
            count += len(page["events"])
            pages += 1
        return count, pages

    def best(fn, term):
        times, result = [], None
        for _ in range(args.runs + 1):  # the first run warms caches
            t0 = time.perf_counter()
            result = fn(term)
            times.append(time.perf_counter() - t0)
        return min(times[1:]), result, times

    def grep(term):
        out = subprocess.run(["grep", "-c", term, corpus], capture_output=True, text=True, env=env)
        return int(out.stdout.strip())

    for label, term in [("rare", RARE_TERM), ("dense", DENSE_TERM)]:
        grep_best, grep_count, grep_times = best(grep, term)
        raw_best, (raw_count, pages), raw_times = best(raw_filter, term)
        boto_best, (boto_count, _), boto_times = best(boto_filter, term)
        print(f"| {label}: `{term}` | {raw_count:,} / {grep_count:,} | {raw_best:.3f} | {boto_best:.3f} | "
              f"{grep_best:.3f} | {raw_best / grep_best:.2f} | {boto_best / grep_best:.2f} | "
              f"{text_bytes / 2**20 / raw_best:,.0f} | {text_bytes / 2**20 / grep_best:,.0f} |")
        notes.append(f"{label}: {pages} page(s); runs raw HTTP {', '.join(f'{t:.2f}' for t in raw_times)} s, "
                     f"boto3 {', '.join(f'{t:.2f}' for t in boto_times)} s, "
                     f"grep {', '.join(f'{t:.2f}' for t in grep_times)} s")
        if not raw_count == boto_count == grep_count:
            notes.append(f"WARNING: {label} match counts differ ({raw_count}, {boto_count}, {grep_count})")
    print()
    for note in notes:
        print(f"- {note}")
    os.unlink(corpus)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--gantry", default=os.path.join(here, "..", "build", "src", "gantry"))
    parser.add_argument("--corpus-mb", type=float, default=1024)
    parser.add_argument("--ingest-mb", type=float, default=256)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["ingest", "scan"])
    parser.add_argument("--workdir", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="gantry-bench-logs-", dir=args.workdir)
    server = Server(os.path.abspath(args.gantry), os.path.join(workdir, "state"))
    try:
        print(f"# CloudWatch Logs benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f})")
        if args.only in (None, "ingest"):
            ingestion(server, args, workdir)
        if args.only in (None, "scan"):
            scan(server, args, workdir)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
