"""A `gantry up` for benchmarks: a free port, a given state directory, boto3 clients signed with
the root key it made. Shared by the bench scripts that need a running server."""
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def event_sink(clock):
    """An HTTP handler class for an API destination's endpoint: it records (clock(), event) for each
    event POSTed to it in its `arrivals`, under its `lock`."""

    class EventSink(http.server.BaseHTTPRequestHandler):
        arrivals = []
        lock = threading.Lock()

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with EventSink.lock:
                EventSink.arrivals.append((clock(), json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    return EventSink


class GantryServer:
    def __init__(self, binary, state_dir, log_level="warn"):
        self.state_dir = state_dir
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [binary, "up", "--listen", f"127.0.0.1:{self.port}", "--state-dir", state_dir, "--log-level", log_level],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("gantry did not start")
                time.sleep(0.05)
        values = {}
        with open(os.path.join(state_dir, "credentials")) as f:
            for line in f:
                if "=" in line:
                    k, v = [p.strip() for p in line.split("=", 1)]
                    values[k] = v
        self.access_key = values["aws_access_key_id"]
        self.secret_key = values["aws_secret_access_key"]

    def env(self):
        """Environment for a client process (aws CLI, git credential helper) talking to this server."""
        env = dict(os.environ)
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key,
                   AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=self.endpoint)
        env.pop("AWS_SESSION_TOKEN", None)
        return env

    def boto3(self, service):
        import boto3
        from botocore.config import Config
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                            config=Config(retries={"max_attempts": 1}, read_timeout=300))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
