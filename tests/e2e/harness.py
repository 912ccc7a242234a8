"""Starts a real `gantry up` on a free port with a temporary state directory and drives it with
real clients: the v1 CLI (`aws` on PATH, botocore 1.43), the v2 CLI (Debian's /usr/bin/aws),
boto3, and raw HTTP for what no SDK would send."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

GANTRY = os.environ.get("GANTRY_BIN", os.path.join(os.path.dirname(__file__), "../../build/gantry"))
AWS_V2 = "/usr/bin/aws"


def _find_aws_v1():
    for d in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(d, "aws")
        if os.path.realpath(path) != os.path.realpath(AWS_V2) and os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    return None


AWS_V1 = _find_aws_v1()


def wait_for(condition, timeout=60.0, what="condition"):
    """Polls condition() until it returns something true, and returns that."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Gantry:
    """One server process. start() waits for the printed bound address."""

    def __init__(self, state_dir=None, extra_args=()):
        self.owns_state = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="gantry-e2e-")
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.stderr_path = os.path.join(self.state_dir, "..", os.path.basename(self.state_dir) + ".stderr")

    def start(self, timeout=20):
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [GANTRY, "up", "--listen", "127.0.0.1:0", "--state-dir", self.state_dir, "--log-level", "debug"]
            + self.extra_args,
            stdout=subprocess.PIPE, stderr=self.stderr_file, text=True)
        deadline = time.time() + timeout
        self.stdout_lines = []
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("gantry exited early: " + self.stderr())
            self.stdout_lines.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                return self
        raise RuntimeError("gantry did not report its address in time")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def credentials(self):
        key = secret = None
        with open(os.path.join(self.state_dir, "credentials")) as f:
            for line in f:
                if "=" in line:
                    k, v = [p.strip() for p in line.split("=", 1)]
                    if k == "aws_access_key_id":
                        key = v
                    elif k == "aws_secret_access_key":
                        secret = v
        return key, secret

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if self.proc:
            self.proc.stdout.close()
            self.stderr_file.close()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        if self.owns_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            try:
                os.unlink(self.stderr_path)
            except OSError:
                pass

    # --- clients ---------------------------------------------------------------------------------

    def cli_env(self, access_key=None, secret_key=None, session_token=None, region="us-east-1"):
        key, secret = self.credentials()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        config = os.path.join(self.state_dir, "cli-config")
        if not os.path.exists(config):
            with open(config, "w") as f:
                f.write("[default]\n")
        env.update({
            "AWS_ACCESS_KEY_ID": access_key or key,
            "AWS_SECRET_ACCESS_KEY": secret_key or secret,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": config,
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.state_dir, "no-such-credentials"),
            "AWS_PAGER": "",
        })
        if session_token:
            env["AWS_SESSION_TOKEN"] = session_token
        return env

    def aws(self, cli, *args, check=True, **env_overrides):
        """Runs one CLI (AWS_V1 or AWS_V2) and returns (returncode, stdout, stderr); parses JSON
        stdout when check is True."""
        env = self.cli_env(**env_overrides)
        cmd = [cli, "--endpoint-url", self.endpoint, "--output", "json"] + list(args)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if check:
            if p.returncode != 0:
                raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
            return json.loads(p.stdout) if p.stdout.strip() else None
        return p.returncode, p.stdout, p.stderr

    def boto3(self, service, access_key=None, secret_key=None, session_token=None, region="us-east-1"):
        import boto3
        from botocore.config import Config
        key, secret = self.credentials()
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=access_key or key, aws_secret_access_key=secret_key or secret,
            aws_session_token=session_token,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def raw(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), data


class GantryTestCase(unittest.TestCase):
    """A server shared by the tests of one class."""

    extra_args = ()

    @classmethod
    def setUpClass(cls):
        cls.gantry = Gantry(extra_args=cls.extra_args).start()

    @classmethod
    def tearDownClass(cls):
        cls.gantry.cleanup()

    def clis(self):
        """The CLIs present on this machine, as (name, path) pairs for subTest."""
        found = []
        if AWS_V1:
            found.append(("cli-v1", AWS_V1))
        if os.path.exists(AWS_V2):
            found.append(("cli-v2", AWS_V2))
        self.assertTrue(found, "no aws CLI found")
        return found
