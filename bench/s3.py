#!/usr/bin/env python3
"""S3 PutObject/GetObject throughput, as a ratio against a plain file copy on the same disk in the
same run.

Peers (the source file, the copy and Gantry's state directory share one temporary directory, so one
file system and one disk):
  cp             `cp src dst` (page cache; nothing forced to disk)
  cp+fsync       `dd bs=4M conv=fsync` (the copy made durable, which Gantry's PutObject is)
Gantry, each through a real client:
  curl PUT/GET   presigned SigV4 URL (UNSIGNED-PAYLOAD), `curl -T file` / `curl -o file`: the
                 server path with the least client work
  boto3 put/get  put_object(Body=file) / get_object streamed to a file: botocore signs the payload
                 (SHA-256) and sends a CRC32 checksum, both computed client-side on the same cores
  boto3 managed  upload_file / download_file, multipart with threads (s3transfer defaults: 8 MiB
                 parts, 10 threads)
Each measure is the median of --runs; throughput is size / time; ratio = Gantry time / cp time.

usage: bench/s3.py [--gantry build/src/gantry] [--size-mib 256] [--runs 3] [--dir DIR]
needs: boto3 and curl.
"""
import argparse
import os
import shutil
import signal
import sys
import statistics
import subprocess
import tempfile
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gantry_server import free_port  # noqa: E402


def read_credentials(state_dir):
    values = {}
    with open(os.path.join(state_dir, "credentials")) as f:
        for line in f:
            if "=" in line:
                k, v = [p.strip() for p in line.split("=", 1)]
                values[k] = v
    return values["aws_access_key_id"], values["aws_secret_access_key"]


def timed(fn, runs, before=None):
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gantry", default=os.path.join(os.path.dirname(__file__), "../build/src/gantry"))
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where the file, the copies and the state go (one disk)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="gantry-s3-bench-", dir=args.dir)
    size = args.size_mib << 20
    src = os.path.join(work, "source.bin")
    dst = os.path.join(work, "copy.bin")
    out = os.path.join(work, "download.bin")
    with open(src, "wb") as f:
        for _ in range(args.size_mib):
            f.write(os.urandom(1 << 20))

    state = os.path.join(work, "state")
    port = free_port()
    server = subprocess.Popen([args.gantry, "up", "--listen", f"127.0.0.1:{port}", "--state-dir", state,
                               "--log-level", "warn"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        while "listening on" not in server.stdout.readline():
            pass
        key, secret = read_credentials(state)
        endpoint = f"http://127.0.0.1:{port}"

        def client(**config):
            return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                                aws_secret_access_key=secret, config=Config(signature_version="s3v4", **config))

        s3 = client()
        s3.create_bucket(Bucket="bench")

        def remove(path):
            return lambda: os.path.exists(path) and os.remove(path)

        results = {}
        results["cp"] = timed(lambda: run(["cp", src, dst]), args.runs, remove(dst))
        results["cp+fsync"] = timed(lambda: run(["dd", f"if={src}", f"of={dst}", "bs=4M", "conv=fsync"]), args.runs,
                                    remove(dst))

        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "bench", "Key": "curl"}, ExpiresIn=3600)
        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": "curl"}, ExpiresIn=3600)
        results["curl PUT"] = timed(lambda: run(["curl", "-sS", "-f", "-T", src, put_url]), args.runs)
        results["curl GET"] = timed(lambda: run(["curl", "-sS", "-f", "-o", out, get_url]), args.runs, remove(out))

        def boto3_put():
            with open(src, "rb") as f:
                s3.put_object(Bucket="bench", Key="boto3", Body=f)

        def boto3_get():
            body = s3.get_object(Bucket="bench", Key="boto3")["Body"]
            with open(out, "wb") as f:
                for chunk in body.iter_chunks(1 << 20):
                    f.write(chunk)

        results["boto3 put_object"] = timed(boto3_put, args.runs)
        results["boto3 get_object"] = timed(boto3_get, args.runs, remove(out))
        managed = TransferConfig()
        results["boto3 upload_file"] = timed(lambda: s3.upload_file(src, "bench", "managed", Config=managed), args.runs)
        results["boto3 download_file"] = timed(lambda: s3.download_file("bench", "managed", out, Config=managed),
                                               args.runs, remove(out))
        if os.path.getsize(out) != size:
            raise SystemExit("download size mismatch")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    base, durable = results["cp"], results["cp+fsync"]
    print(f"object size {args.size_mib} MiB, median of {args.runs} runs")
    print(f"| measure | seconds | MiB/s | × cp time | × cp+fsync time |")
    print(f"|---|---:|---:|---:|---:|")
    for name, seconds in results.items():
        print(f"| {name} | {seconds:.3f} | {args.size_mib / seconds:,.0f} | {seconds / base:.2f} | "
              f"{seconds / durable:.2f} |")


if __name__ == "__main__":
    main()
