"""The server itself: health endpoints, /_gantry/metrics (request counters and latency histograms per
service, checked by promtool when installed), unknown services and operations, malformed input,
restart persistence of the root key, graceful shutdown."""
import json
import os
import shutil
import stat
import subprocess
import unittest

from harness import GANTRY, Gantry, GantryTestCase


class HealthTest(GantryTestCase):
    def test_gantry_health_needs_no_signature(self):
        status, headers, body = self.gantry.raw("GET", "/_gantry/health")
        self.assertEqual(status, 200)
        doc = json.loads(body)
        self.assertEqual(doc["status"], "running")
        self.assertEqual(doc["services"]["sts"], "running")

    def test_localstack_health_shape(self):
        status, _, body = self.gantry.raw("GET", "/_localstack/health")
        self.assertEqual(status, 200)
        doc = json.loads(body)
        self.assertIn("services", doc)
        self.assertEqual(doc["services"]["sts"], "running")
        self.assertIn("version", doc)

    def test_metrics(self):
        status, headers, body = self.gantry.raw("GET", "/_gantry/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"gantry_requests_total", body)

    def samples(self):
        """The /_gantry/metrics samples as {"name{labels}": value}."""
        status, headers, body = self.gantry.raw("GET", "/_gantry/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        lines = [line for line in body.decode().splitlines() if line and not line.startswith("#")]
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}

    def test_metrics_count_requests_per_service(self):
        from botocore.exceptions import ClientError
        sts_ok = 'gantry_aws_requests_total{service="sts",operation="GetCallerIdentity",status_class="2xx",caller="client"}'
        ssm_4xx = 'gantry_aws_requests_total{service="ssm",operation="GetParameter",status_class="4xx",caller="client"}'
        sts_all = 'gantry_aws_request_duration_seconds_bucket{service="sts",le="+Inf"}'
        ssm_count = 'gantry_aws_request_duration_seconds_count{service="ssm"}'
        before = self.samples()
        sts = self.gantry.boto3("sts")
        sts.get_caller_identity()
        sts.get_caller_identity()
        with self.assertRaises(ClientError):
            self.gantry.boto3("ssm").get_parameter(Name="/no/such/parameter")
        after = self.samples()
        self.assertEqual(after[sts_ok] - before.get(sts_ok, 0), 2)
        self.assertEqual(after[ssm_4xx] - before.get(ssm_4xx, 0), 1)
        self.assertEqual(after[sts_all] - before.get(sts_all, 0), 2)
        self.assertEqual(after[ssm_count] - before.get(ssm_count, 0), 1)
        self.assertGreater(after["process_resident_memory_bytes"], 0)
        self.assertGreater(after["process_open_fds"], 0)

    @unittest.skipUnless(shutil.which("promtool"), "promtool (scripts/setup --bench) is not installed")
    def test_metrics_pass_promtool(self):
        self.gantry.boto3("sts").get_caller_identity()
        _, _, body = self.gantry.raw("GET", "/_gantry/metrics")
        check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
        # 0: it parses and passes promtool's lint (HELP text, counter names, units).
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)


class ErrorShapeTest(GantryTestCase):
    def test_unimplemented_service_names_itself(self):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.gantry.boto3("codedeploy").list_applications()
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "NotImplemented")
        self.assertIn("codedeploy", err["Message"])

    def test_service_gantry_does_not_know(self):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.gantry.boto3("dynamodb").list_tables()
        self.assertEqual(cm.exception.response["Error"]["Code"], "UnknownOperationException")

    def test_cli_prints_aws_error_line(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                code, _, err = self.gantry.aws(cli, "deploy", "list-applications", check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (NotImplemented) when calling the ListApplications operation", err)

    def test_malformed_http_keeps_serving(self):
        import socket
        s = socket.create_connection(("127.0.0.1", self.gantry.port))
        s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        data = s.recv(4096)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data)
        self.assertEqual(self.gantry.boto3("sts").get_caller_identity()["Account"], "000000000000")

    def test_oversized_body_is_refused(self):
        import socket
        s = socket.create_connection(("127.0.0.1", self.gantry.port))
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.ListRules\r\n"
                  b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 999999999999\r\n\r\n")
        data = s.recv(4096)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data)


class LifecycleTest(unittest.TestCase):
    def test_root_key_made_once_0600_and_kept_across_restart(self):
        g = Gantry().start()
        try:
            path = os.path.join(g.state_dir, "credentials")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            self.assertTrue(any("Created root credentials" in line for line in g.stdout_lines))
            first = g.credentials()
            self.assertEqual(g.kill9(), -9)
            stale_spool = os.path.join(g.state_dir, "tmp", "upload-killed-midway")
            with open(stale_spool, "wb") as f:
                f.write(b"partial body")
            g2 = Gantry(state_dir=g.state_dir).start()
            try:
                self.assertEqual(g2.credentials(), first)
                self.assertFalse(os.path.exists(stale_spool), "spooled bodies of a killed run are removed")
                self.assertFalse(any("Created root credentials" in line for line in g2.stdout_lines))
                self.assertEqual(g2.boto3("sts").get_caller_identity()["Account"], "000000000000")
            finally:
                g2.stop()
        finally:
            g.cleanup()

    def test_sigterm_stops_gracefully(self):
        g = Gantry().start()
        try:
            g.boto3("sts").get_caller_identity()
            self.assertEqual(g.stop(), 0)
            self.assertIn("stopped", g.stderr())
        finally:
            g.cleanup()

    def test_env_prints_exports(self):
        g = Gantry().start()
        try:
            out = subprocess.run([GANTRY, "env", "--state-dir", g.state_dir], capture_output=True, text=True,
                                 check=True).stdout
            key, secret = g.credentials()
            self.assertIn(f"export AWS_ACCESS_KEY_ID={key}", out)
            self.assertIn(f"export AWS_SECRET_ACCESS_KEY={secret}", out)
            self.assertIn("export AWS_DEFAULT_REGION=us-east-1", out)
        finally:
            g.cleanup()

    def test_bad_flag_is_an_error(self):
        p = subprocess.run([GANTRY, "up", "--listen", "nope"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--listen must be HOST:PORT", p.stderr)


if __name__ == "__main__":
    unittest.main()
