"""CloudWatch Logs through both CLIs and boto3: log groups and streams, PutLogEvents with AWS's
batch rules, GetLogEvents tokens, FilterLogEvents with the filter-pattern language, `aws logs tail
--follow` (CLI v2), retention, metric filters, tags, and events that survive a restart and kill -9."""
import json
import os
import queue
import subprocess
import threading
import time
import unittest

from harness import AWS_V2, Gantry, GantryTestCase

ACCOUNT = "000000000000"
REGION = "us-east-1"
DAY_MS = 24 * 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def group_arn(name, wildcard=False):
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}" + (":*" if wildcard else "")


def error_line(code, operation, message):
    return f"An error occurred ({code}) when calling the {operation} operation: {message}"


class LogGroupsTest(GantryTestCase):
    def test_groups_round_trip_with_both_clis(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                group = f"/e2e/{name}/web"
                self.gantry.aws(cli, "logs", "create-log-group", "--log-group-name", group,
                                "--tags", "team=platform")
                rc, _, err = self.gantry.aws(cli, "logs", "create-log-group", "--log-group-name", group, check=False)
                self.assertNotEqual(rc, 0)
                self.assertIn(error_line("ResourceAlreadyExistsException", "CreateLogGroup",
                                         "The specified log group already exists"), err)
                out = self.gantry.aws(cli, "logs", "describe-log-groups", "--log-group-name-prefix", f"/e2e/{name}/")
                self.assertEqual(len(out["logGroups"]), 1)
                described = out["logGroups"][0]
                self.assertEqual(described["logGroupName"], group)
                self.assertEqual(described["arn"], group_arn(group, True))
                if name == "cli-v1":  # Debian's 2.9 model predates logGroupArn
                    self.assertEqual(described["logGroupArn"], group_arn(group))
                self.assertEqual(described["storedBytes"], 0)
                self.assertEqual(described["metricFilterCount"], 0)

                self.gantry.aws(cli, "logs", "put-retention-policy", "--log-group-name", group,
                                "--retention-in-days", "14")
                out = self.gantry.aws(cli, "logs", "describe-log-groups", "--log-group-name-pattern", f"{name}/we")
                self.assertEqual([g["logGroupName"] for g in out["logGroups"]], [group])
                self.assertEqual(set(out["logGroups"][0]), {"logGroupName", "creationTime", "arn"})
                rc, _, err = self.gantry.aws(cli, "logs", "put-retention-policy", "--log-group-name", group,
                                             "--retention-in-days", "2", check=False)
                self.assertIn(error_line(
                    "InvalidParameterException", "PutRetentionPolicy",
                    "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, "
                    "545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"), err)

                tags = self.gantry.aws(cli, "logs", "list-tags-for-resource", "--resource-arn", group_arn(group))
                self.assertEqual(tags["tags"], {"team": "platform"})
                self.gantry.aws(cli, "logs", "tag-resource", "--resource-arn", group_arn(group), "--tags", "env=dev")
                self.gantry.aws(cli, "logs", "untag-resource", "--resource-arn", group_arn(group),
                                "--tag-keys", "team")
                tags = self.gantry.aws(cli, "logs", "list-tags-for-resource", "--resource-arn", group_arn(group))
                self.assertEqual(tags["tags"], {"env": "dev"})

                self.gantry.aws(cli, "logs", "delete-log-group", "--log-group-name", group)
                rc, _, err = self.gantry.aws(cli, "logs", "delete-log-group", "--log-group-name", group, check=False)
                self.assertIn(error_line("ResourceNotFoundException", "DeleteLogGroup",
                                         "The specified log group does not exist."), err)

    def test_describe_log_groups_paginates(self):
        logs = self.gantry.boto3("logs")
        for i in range(7):
            logs.create_log_group(logGroupName=f"/paged/{i:02d}")
        first = logs.describe_log_groups(logGroupNamePrefix="/paged/", limit=3)
        self.assertEqual(len(first["logGroups"]), 3)
        self.assertIn("nextToken", first)
        pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/paged/",
                                                                   PaginationConfig={"PageSize": 2})
        names = [g["logGroupName"] for page in pages for g in page["logGroups"]]
        self.assertEqual(names, [f"/paged/{i:02d}" for i in range(7)])
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "logs", "describe-log-groups", "--log-group-name-prefix", "/paged/",
                                      "--page-size", "2")
                self.assertEqual(len(out["logGroups"]), 7)


class LogStreamsAndEventsTest(GantryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.logs = cls.gantry.boto3("logs")

    def make_stream(self, group, *streams):
        try:
            self.logs.create_log_group(logGroupName=group)
        except self.logs.exceptions.ResourceAlreadyExistsException:
            pass
        for stream in streams:
            self.logs.create_log_stream(logGroupName=group, logStreamName=stream)

    def test_streams_order_by_last_event_time(self):
        self.make_stream("/streams", "alpha", "beta", "gamma")
        t = now_ms()
        self.logs.put_log_events(logGroupName="/streams", logStreamName="beta",
                                 logEvents=[{"timestamp": t - 3000, "message": "b"}])
        self.logs.put_log_events(logGroupName="/streams", logStreamName="alpha",
                                 logEvents=[{"timestamp": t - 1000, "message": "a"}])
        self.logs.put_log_events(logGroupName="/streams", logStreamName="gamma",
                                 logEvents=[{"timestamp": t - 2000, "message": "c"}])
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "logs", "describe-log-streams", "--log-group-name", "/streams",
                                      "--order-by", "LastEventTime", "--descending")
                self.assertEqual([s["logStreamName"] for s in out["logStreams"]], ["alpha", "gamma", "beta"])
                self.assertEqual(out["logStreams"][0]["lastEventTimestamp"], t - 1000)
                self.assertEqual(out["logStreams"][0]["arn"],
                                 f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/streams:log-stream:alpha")
                rc, _, err = self.gantry.aws(cli, "logs", "describe-log-streams", "--log-group-name", "/streams",
                                             "--order-by", "LastEventTime", "--log-stream-name-prefix", "a",
                                             check=False)
                self.assertIn(error_line("InvalidParameterException", "DescribeLogStreams",
                                         "Cannot order by LastEventTime with a logStreamNamePrefix."), err)
                rc, _, err = self.gantry.aws(cli, "logs", "create-log-stream", "--log-group-name", "/streams",
                                             "--log-stream-name", "alpha", check=False)
                self.assertIn(error_line("ResourceAlreadyExistsException", "CreateLogStream",
                                         "The specified log stream already exists"), err)
        self.logs.delete_log_stream(logGroupName="/streams", logStreamName="beta")
        names = [s["logStreamName"] for s in self.logs.describe_log_streams(logGroupName="/streams")["logStreams"]]
        self.assertEqual(names, ["alpha", "gamma"])

    def test_put_log_events_rules_with_both_clis(self):
        self.make_stream("/rules", "s")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                t = now_ms()
                events = json.dumps([
                    {"timestamp": t - 15 * DAY_MS, "message": "too old"},
                    {"timestamp": t - 1, "message": f"kept by {name}"},
                    {"timestamp": t + 3 * 3600 * 1000, "message": "too new"},
                ])
                out = self.gantry.aws(cli, "logs", "put-log-events", "--log-group-name", "/rules",
                                      "--log-stream-name", "s", "--log-events", events)
                self.assertEqual(out["rejectedLogEventsInfo"],
                                 {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2})
                self.assertEqual(len(out["nextSequenceToken"]), 56)
                unordered = json.dumps([{"timestamp": t, "message": "b"}, {"timestamp": t - 5, "message": "a"}])
                rc, _, err = self.gantry.aws(cli, "logs", "put-log-events", "--log-group-name", "/rules",
                                             "--log-stream-name", "s", "--log-events", unordered, check=False)
                self.assertIn(error_line("InvalidParameterException", "PutLogEvents",
                                         "Log events in a single PutLogEvents request must be in chronological "
                                         "order."), err)
                span = json.dumps([{"timestamp": t - 25 * 3600 * 1000, "message": "a"},
                                   {"timestamp": t, "message": "b"}])
                rc, _, err = self.gantry.aws(cli, "logs", "put-log-events", "--log-group-name", "/rules",
                                             "--log-stream-name", "s", "--log-events", span, check=False)
                self.assertIn(error_line("InvalidParameterException", "PutLogEvents",
                                         "The batch of log events in a single PutLogEvents request cannot span "
                                         "more than 24 hours."), err)
                rc, _, err = self.gantry.aws(cli, "logs", "put-log-events", "--log-group-name", "/rules",
                                             "--log-stream-name", "missing", "--log-events",
                                             f"timestamp={t},message=x", check=False)
                self.assertIn(error_line("ResourceNotFoundException", "PutLogEvents",
                                         "The specified log stream does not exist."), err)
        messages = [e["message"] for e in self.logs.get_log_events(logGroupName="/rules", logStreamName="s",
                                                                    startFromHead=True)["events"]]
        self.assertEqual(sorted(messages), sorted(f"kept by {name}" for name, _ in self.clis()))

        # Size limits: 1,048,576 bytes per batch counting 26 bytes per event.
        t = now_ms()
        big = [{"timestamp": t, "message": "x" * 400000} for _ in range(3)]
        with self.assertRaises(self.logs.exceptions.InvalidParameterException) as raised:
            self.logs.put_log_events(logGroupName="/rules", logStreamName="s", logEvents=big)
        self.assertEqual(raised.exception.response["Error"]["Message"],
                         "Upload too large: 1200078 bytes exceeds limit of 1048576")
        exact = [{"timestamp": t, "message": "y" * (1048576 - 26)}]
        self.logs.put_log_events(logGroupName="/rules", logStreamName="s", logEvents=exact, sequenceToken="ignored")
        many = [{"timestamp": t, "message": str(i)} for i in range(10000)]
        self.logs.put_log_events(logGroupName="/rules", logStreamName="s", logEvents=many)

    def test_get_log_events_tokens_page_like_aws(self):
        self.make_stream("/tokens", "s")
        t = now_ms()
        self.logs.put_log_events(logGroupName="/tokens", logStreamName="s",
                                 logEvents=[{"timestamp": t + i, "message": f"m{i}"} for i in range(7)])
        seen = []
        page = self.logs.get_log_events(logGroupName="/tokens", logStreamName="s", startFromHead=True, limit=3)
        token = None
        while True:
            seen += [e["message"] for e in page["events"]]
            self.assertRegex(page["nextForwardToken"], r"^f/\d{56}/s$")
            self.assertRegex(page["nextBackwardToken"], r"^b/\d{56}/s$")
            if page["nextForwardToken"] == token:
                self.assertEqual(page["events"], [])
                break
            token = page["nextForwardToken"]
            page = self.logs.get_log_events(logGroupName="/tokens", logStreamName="s", startFromHead=True,
                                            limit=3, nextToken=token)
        self.assertEqual(seen, [f"m{i}" for i in range(7)])

        latest = self.logs.get_log_events(logGroupName="/tokens", logStreamName="s", limit=3)
        self.assertEqual([e["message"] for e in latest["events"]], ["m4", "m5", "m6"])
        older = self.logs.get_log_events(logGroupName="/tokens", logStreamName="s", limit=3,
                                         nextToken=latest["nextBackwardToken"])
        self.assertEqual([e["message"] for e in older["events"]], ["m1", "m2", "m3"])
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "logs", "get-log-events", "--log-group-name", "/tokens",
                                      "--log-stream-name", "s", "--start-from-head", "--limit", "2",
                                      "--start-time", str(t + 2), "--end-time", str(t + 5))
                self.assertEqual([e["message"] for e in out["events"]], ["m2", "m3"])
                rc, _, err = self.gantry.aws(cli, "logs", "get-log-events", "--log-group-name", "/tokens",
                                             "--log-stream-name", "nope", check=False)
                self.assertIn(error_line("ResourceNotFoundException", "GetLogEvents",
                                         "The specified log stream does not exist."), err)

    def test_filter_patterns_across_streams(self):
        self.make_stream("/filter", "web-1", "web-2", "db")
        t = now_ms() - 60000
        self.logs.put_log_events(logGroupName="/filter", logStreamName="web-1", logEvents=[
            {"timestamp": t + 1, "message": '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /a.html HTTP/1.0" 200 1534'},
            {"timestamp": t + 4, "message": '10.0.0.9 - bob [10/Oct/2000:13:25:16 -0700] "GET /b.html HTTP/1.0" 404 2048'},
        ])
        self.logs.put_log_events(logGroupName="/filter", logStreamName="web-2", logEvents=[
            {"timestamp": t + 2, "message": "ERROR connection refused"},
            {"timestamp": t + 3, "message": "WARN slow healthcheck"},
        ])
        self.logs.put_log_events(logGroupName="/filter", logStreamName="db", logEvents=[
            {"timestamp": t + 5, "message": json.dumps({"level": "ERROR", "latency": 1500, "user": {"id": 7},
                                                        "tags": ["x*y", "db"], "cause": None})},
            {"timestamp": t + 6, "message": json.dumps({"level": "INFO", "latency": 20})},
        ])
        cases = {
            "ERROR": [t + 2, t + 5],
            "?refused ?healthcheck": [t + 2, t + 3],
            "WARN -healthcheck": [],
            '"connection refused"': [t + 2],
            "%[0-9]{3} [0-9]{4}$%": [t + 1, t + 4],
            '{ $.level = "ERROR" && $.latency > 1000 }': [t + 5],
            '{ ($.user.id = 7 || $.latency < 0) && $.cause IS NULL && $.missing NOT EXISTS }': [t + 5],
            '{ $.tags[1] = "d*" }': [t + 5],
            "[ip, user, username, timestamp, request = *.html*, status = 4*, bytes > 1000]": [t + 4],
            "[..., status = 200, bytes]": [t + 1],
        }
        for pattern, want in cases.items():
            with self.subTest(pattern=pattern):
                events = self.logs.filter_log_events(logGroupName="/filter", filterPattern=pattern,
                                                     startTime=t)["events"]
                self.assertEqual([e["timestamp"] for e in events], want)
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "logs", "filter-log-events", "--log-group-name", "/filter",
                                      "--log-stream-name-prefix", "web", "--filter-pattern", "?ERROR ?WARN",
                                      "--start-time", str(t))
                self.assertEqual([(e["logStreamName"], e["timestamp"]) for e in out["events"]],
                                 [("web-2", t + 2), ("web-2", t + 3)])
                self.assertRegex(out["events"][0]["eventId"], r"^\d{56}$")
                out = self.gantry.aws(cli, "logs", "filter-log-events", "--log-group-name", "/filter",
                                      "--log-stream-names", "db", "web-1", "--start-time", str(t + 2),
                                      "--end-time", str(t + 5))
                self.assertEqual([e["timestamp"] for e in out["events"]], [t + 4, t + 5])
                rc, _, err = self.gantry.aws(cli, "logs", "filter-log-events", "--log-group-name", "/filter",
                                             "--filter-pattern", "user@example.com", check=False)
                self.assertIn(error_line("InvalidParameterException", "FilterLogEvents",
                                         "Invalid character(s) in term 'user@example.com'"), err)
                rc, _, err = self.gantry.aws(cli, "logs", "filter-log-events", "--log-group-name", "/filter",
                                             "--filter-pattern", "{ $.latency > fast }", check=False)
                self.assertIn(error_line("InvalidParameterException", "FilterLogEvents",
                                         "Invalid filter pattern: 'fast' is not a number; <, <=, > and >= compare "
                                         "numbers"), err)
        # Pages of 2 through the boto3 paginator interleave the streams by time.
        pages = self.logs.get_paginator("filter_log_events").paginate(
            logGroupName="/filter", startTime=t, PaginationConfig={"PageSize": 2})
        self.assertEqual([e["timestamp"] for page in pages for e in page["events"]], [t + i for i in range(1, 7)])

    def test_retention_hides_expired_events(self):
        self.make_stream("/retention", "s")
        t = now_ms()
        self.logs.put_log_events(logGroupName="/retention", logStreamName="s", logEvents=[
            {"timestamp": t - 3 * DAY_MS, "message": "three days old"}])
        self.logs.put_log_events(logGroupName="/retention", logStreamName="s", logEvents=[
            {"timestamp": t, "message": "fresh"}])
        self.logs.put_retention_policy(logGroupName="/retention", retentionInDays=1)
        events = self.logs.filter_log_events(logGroupName="/retention")["events"]
        self.assertEqual([e["message"] for e in events], ["fresh"])
        out = self.logs.put_log_events(logGroupName="/retention", logStreamName="s", logEvents=[
            {"timestamp": t - 2 * DAY_MS, "message": "expired"}, {"timestamp": t, "message": "ok"}])
        self.assertEqual(out["rejectedLogEventsInfo"], {"expiredLogEventEndIndex": 1})

    def test_metric_filters(self):
        self.make_stream("/metrics")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                self.gantry.aws(cli, "logs", "put-metric-filter", "--log-group-name", "/metrics",
                                "--filter-name", f"errors-{name}", "--filter-pattern", "[ip, user, ..., status=5*, bytes]",
                                "--metric-transformations",
                                "metricName=ServerErrors,metricNamespace=App,metricValue=1,defaultValue=0")
                out = self.gantry.aws(cli, "logs", "describe-metric-filters", "--log-group-name", "/metrics",
                                      "--filter-name-prefix", f"errors-{name}")
                self.assertEqual(len(out["metricFilters"]), 1)
                mf = out["metricFilters"][0]
                self.assertEqual(mf["filterPattern"], "[ip, user, ..., status=5*, bytes]")
                self.assertEqual(mf["metricTransformations"][0]["metricName"], "ServerErrors")
                self.assertEqual(mf["metricTransformations"][0]["defaultValue"], 0.0)
                out = self.gantry.aws(cli, "logs", "test-metric-filter", "--filter-pattern",
                                      "[ip, user, ..., status=5*, bytes]", "--log-event-messages",
                                      "1.2.3.4 alice GET /x 503 12", "1.2.3.4 alice GET /x 200 12")
                self.assertEqual(out["matches"], [{
                    "eventNumber": 1, "eventMessage": "1.2.3.4 alice GET /x 503 12",
                    "extractedValues": {"$ip": "1.2.3.4", "$user": "alice", "$3": "GET", "$4": "/x",
                                        "$status": "503", "$bytes": "12"}}])
                self.gantry.aws(cli, "logs", "delete-metric-filter", "--log-group-name", "/metrics",
                                "--filter-name", f"errors-{name}")
                rc, _, err = self.gantry.aws(cli, "logs", "delete-metric-filter", "--log-group-name", "/metrics",
                                             "--filter-name", f"errors-{name}", check=False)
                self.assertIn(error_line("ResourceNotFoundException", "DeleteMetricFilter",
                                         "The specified metric filter does not exist."), err)

    def test_eventbridge_rule_delivers_to_a_log_group(self):
        self.make_stream("/aws/events/e2e")
        events = self.gantry.boto3("events")
        events.put_rule(Name="to-logs", EventPattern='{"source":["e2e.logs"]}')
        events.put_targets(Rule="to-logs", Targets=[{"Id": "logs", "Arn": group_arn("/aws/events/e2e", True)}])
        entry = events.put_events(Entries=[{"Source": "e2e.logs", "DetailType": "Ping",
                                            "Detail": json.dumps({"n": 1})}])["Entries"][0]
        deadline = time.time() + 20
        found = []
        while time.time() < deadline and not found:
            found = self.logs.filter_log_events(logGroupName="/aws/events/e2e", filterPattern='{ $.detail.n = 1 }')["events"]
            time.sleep(0.2)
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0]["logStreamName"], entry["EventId"])
        self.assertEqual(json.loads(found[0]["message"])["source"], "e2e.logs")

    @unittest.skipUnless(os.path.exists(AWS_V2), "needs the v2 CLI")
    def test_tail_follow_with_cli_v2(self):
        self.make_stream("/tail", "s")
        self.logs.put_log_events(logGroupName="/tail", logStreamName="s",
                                 logEvents=[{"timestamp": now_ms(), "message": "before tail"}])
        proc = subprocess.Popen(
            [AWS_V2, "--endpoint-url", self.gantry.endpoint, "logs", "tail", "/tail", "--follow", "--format", "short"],
            env=self.gantry.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
        reader.start()

        def expect(text, timeout=30):
            deadline = time.time() + timeout
            while time.time() < deadline:
                try:
                    line = lines.get(timeout=0.5)
                except queue.Empty:
                    continue
                if text in line:
                    return line
            raise AssertionError(f"tail did not print {text!r}")

        try:
            expect("before tail")
            for i in range(3):
                self.logs.put_log_events(logGroupName="/tail", logStreamName="s",
                                         logEvents=[{"timestamp": now_ms(), "message": f"followed {i}"}])
                expect(f"followed {i}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()
            proc.stderr.close()


class RestartTest(unittest.TestCase):
    """Acknowledged events survive a graceful restart and a kill -9."""

    def test_events_survive_restart_and_kill9(self):
        first = Gantry().start()
        self.addCleanup(first.cleanup)
        logs = first.boto3("logs")
        logs.create_log_group(logGroupName="/durable")
        logs.create_log_stream(logGroupName="/durable", logStreamName="s")
        logs.put_metric_filter(logGroupName="/durable", filterName="f", filterPattern="ERROR",
                               metricTransformations=[{"metricName": "E", "metricNamespace": "N", "metricValue": "1"}])
        logs.put_retention_policy(logGroupName="/durable", retentionInDays=30)
        t = now_ms() - 100000
        # Enough to seal segments (4 MiB) and leave a tail in the write-ahead file.
        batch = 0
        for batch in range(12):
            logs.put_log_events(logGroupName="/durable", logStreamName="s", logEvents=[
                {"timestamp": t + batch * 1000 + i, "message": f"b{batch} e{i} " + "x" * 400} for i in range(1000)])
        first.stop()

        second = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(second.stop)
        logs = second.boto3("logs")
        group = logs.describe_log_groups(logGroupNamePrefix="/durable")["logGroups"][0]
        self.assertEqual(group["retentionInDays"], 30)
        self.assertEqual(group["metricFilterCount"], 1)
        count = sum(len(p["events"]) for p in logs.get_paginator("filter_log_events").paginate(logGroupName="/durable"))
        self.assertEqual(count, 12000)

        # Every acknowledged PutLogEvents is there after kill -9.
        acknowledged = []
        for i in range(200):
            logs.put_log_events(logGroupName="/durable", logStreamName="s",
                                logEvents=[{"timestamp": t + 50000 + i, "message": f"acked {i}"}])
            acknowledged.append(f"acked {i}")
        second.kill9()
        third = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(third.stop)
        logs = third.boto3("logs")
        found = [e["message"] for p in logs.get_paginator("filter_log_events").paginate(
            logGroupName="/durable", filterPattern="acked") for e in p["events"]]
        self.assertEqual(found, acknowledged)
        for name, cli in [("cli-v2", AWS_V2)]:
            out = third.aws(cli, "logs", "get-log-events", "--log-group-name", "/durable", "--log-stream-name", "s",
                            "--limit", "1")
            self.assertEqual(out["events"][0]["message"], "acked 199")


if __name__ == "__main__":
    unittest.main()
