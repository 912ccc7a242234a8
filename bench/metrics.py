#!/usr/bin/env python3
"""CloudWatch metrics engine vs Prometheus 2.42 (Debian) on the same synthetic data.

Data (bench/metrics_bench.cc generates both sides' copy): --series series, each with a sample every
minute for 24 hours (metric m) and every second for the last --second-minutes minutes (m_hr).

  1. ingestion rate, samples/s. Prometheus: `promtool tsdb create-blocks-from openmetrics` of the
     data as OpenMetrics text (its bulk-import path: parse + append + write blocks; remote-write
     needs snappy/protobuf clients that Debian's python lacks). Gantry: MetricStore::Write in
     batches of 1,000 datums (PutMetricData's limit) from 2 threads, each Write fdatasync'd before
     it returns, Compact() every data hour and at the end. Text generation is outside both timings.
  2. bytes per sample on disk after both are compacted (Prometheus: its blocks directory).
  3. a range aggregation over all minute series: the sum over all series per 5-minute step over
     the day. Prometheus: `sum(sum_over_time(m[5m]))` through /api/v1/query_range (step 300);
     Gantry: List + Query(period 300) per series + summing, in the driver. Best of --runs.

usage: bench/metrics.py --driver build-bench/bench/metrics_bench [--series 10000] [--runs 3]
needs: prometheus and promtool (scripts/setup --bench), a build with -DGANTRY_BENCH=ON.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gantry_server import free_port  # noqa: E402

END_S = 1700006400


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--series", type=int, default=10000)
    ap.add_argument("--second-minutes", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    flags = ["--series", str(args.series), "--second-minutes", str(args.second_minutes), "--end-s", str(END_S)]
    work = tempfile.mkdtemp(prefix="metrics-bench-")
    try:
        data = os.path.join(work, "data.om")
        subprocess.run([args.driver, "generate", data] + flags, check=True)

        # Prometheus ingestion.
        prom_dir = os.path.join(work, "prom")
        t = time.monotonic()
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", data, prom_dir],
                       check=True, stdout=subprocess.DEVNULL)
        prom_ingest = time.monotonic() - t
        os.unlink(data)

        # Gantry ingestion.
        gantry_dir = os.path.join(work, "gantry")
        out = subprocess.run([args.driver, "ingest", gantry_dir] + flags, check=True, capture_output=True, text=True)
        g = json.loads(out.stdout)
        samples = g["samples"]

        # Prometheus: serve the blocks and query.
        port = free_port()
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        proc = subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={prom_dir}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
                                 "--query.max-samples=500000000"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.2)
            prom_bytes = du(os.path.join(prom_dir))
            q = urllib.parse.urlencode({"query": "sum(sum_over_time(m[5m]))", "start": END_S - 86400 + 300,
                                        "end": END_S, "step": 300})
            prom_times, prom_total = [], 0
            for _ in range(args.runs):
                t = time.monotonic()
                body = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query_range?{q}", timeout=600).read())
                prom_times.append(time.monotonic() - t)
                prom_total = sum(float(v) for _, v in body["data"]["result"][0]["values"])
        finally:
            proc.terminate()
            proc.wait()

        g_times, g_total = [], 0
        for _ in range(args.runs):
            out = subprocess.run([args.driver, "query", gantry_dir] + flags, check=True, capture_output=True, text=True)
            r = json.loads(out.stdout)
            g_times.append(r["seconds"])
            g_total = r["total"]

        rows = [
            ("ingestion, samples/s", samples / g["seconds"], samples / prom_ingest, "gantry/prometheus", ">= 1"),
            ("bytes per sample on disk", g["bytes_on_disk"] / samples, prom_bytes / samples, "gantry/prometheus", "gantry <= 1.4"),
            ("sum over all series per 5 min over a day, s", min(g_times), min(prom_times), "prometheus/gantry", ">= 2"),
        ]
        print(f"samples {samples:,}, series {args.series:,} (x2 metrics); totals: gantry {g_total:.0f}, prometheus {prom_total:.0f}")
        print("| measure | gantry | prometheus | ratio | target |\n|---|---:|---:|---:|---|")
        for name, gv, pv, kind, target in rows:
            ratio = gv / pv if kind == "gantry/prometheus" else pv / gv
            print(f"| {name} | {gv:,.3f} | {pv:,.3f} | {ratio:.2f} ({kind}) | {target} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
