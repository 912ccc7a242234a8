"""EventBridge through both CLIs and boto3: rules and targets, patterns, delivery to another bus,
an archive and an API destination (a loopback HTTP server in this test), failed invocations,
schedules, tags, and state that survives a restart and kill -9."""
import base64
import http.server
import json
import os
import sys
import threading
import time
import unittest

from harness import Gantry, GantryTestCase, wait_for

ACCOUNT = "000000000000"
REGION = "us-east-1"


def bus_arn(name):
    return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"


class HookServer:
    """A loopback HTTP server that records what API destinations send it."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # A Gantry killed with -9 mid-request closes its end of the connection.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def events(self):
        return [json.loads(r["body"]) for r in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def invocations(gantry):
    status, _, body = gantry.raw("GET", "/_gantry/events/invocations")
    assert status == 200, body
    return json.loads(body)["Invocations"]


def put_event_entry(source, detail, bus="default"):
    return {"Source": source, "DetailType": "E2E Event", "Detail": json.dumps(detail), "EventBusName": bus}


class RulesTest(GantryTestCase):
    def test_rule_round_trip(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                rule = f"rt-{name}"
                pattern = '{"source":["e2e.app"],"detail":{"kind":[{"prefix":"build"}]}}'
                out = self.gantry.aws(cli, "events", "put-rule", "--name", rule, "--event-pattern", pattern,
                                      "--description", "round trip")
                self.assertEqual(out["RuleArn"], f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}")
                described = self.gantry.aws(cli, "events", "describe-rule", "--name", rule)
                self.assertEqual(described["EventPattern"], pattern)
                self.assertEqual(described["State"], "ENABLED")
                self.assertEqual(described["Description"], "round trip")
                self.gantry.aws(cli, "events", "disable-rule", "--name", rule)
                self.assertEqual(self.gantry.aws(cli, "events", "describe-rule", "--name", rule)["State"], "DISABLED")
                self.gantry.aws(cli, "events", "put-targets", "--rule", rule, "--targets",
                                f"Id=t1,Arn={bus_arn('default')}")
                targets = self.gantry.aws(cli, "events", "list-targets-by-rule", "--rule", rule)["Targets"]
                self.assertEqual([t["Id"] for t in targets], ["t1"])
                self.gantry.aws(cli, "events", "remove-targets", "--rule", rule, "--ids", "t1")
                self.gantry.aws(cli, "events", "delete-rule", "--name", rule)
                code, _, err = self.gantry.aws(cli, "events", "describe-rule", "--name", rule, check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("ResourceNotFoundException", err)

    def test_describe_rule_not_found(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                code, _, err = self.gantry.aws(cli, "events", "describe-rule", "--name", "nope", check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (ResourceNotFoundException) when calling the DescribeRule "
                              "operation: Rule nope does not exist on EventBus default.", err)

    def test_boto3_errors_are_modeled_exceptions(self):
        events = self.gantry.boto3("events")
        with self.assertRaises(events.exceptions.ResourceNotFoundException):
            events.describe_rule(Name="nope", EventBusName="no-such-bus")
        with self.assertRaises(events.exceptions.InvalidEventPatternException):
            events.put_rule(Name="bad", EventPattern='{"source":"not-a-list"}')
        events.put_rule(Name="limit", EventPattern='{"source":["x"]}')
        events.put_targets(Rule="limit", Targets=[{"Id": f"t{i}", "Arn": bus_arn("default")} for i in range(5)])
        with self.assertRaises(events.exceptions.LimitExceededException):
            events.put_targets(Rule="limit", Targets=[{"Id": "t5", "Arn": bus_arn("default")}])

    def test_list_rules_pagination(self):
        events = self.gantry.boto3("events")
        for i in range(5):
            events.put_rule(Name=f"page-{i}", EventPattern='{"source":["page"]}')
        first = events.list_rules(NamePrefix="page-", Limit=2)
        self.assertEqual([r["Name"] for r in first["Rules"]], ["page-0", "page-1"])
        self.assertIn("NextToken", first)
        names = [r["Name"] for p in events.get_paginator("list_rules").paginate(
            NamePrefix="page-", PaginationConfig={"PageSize": 2}) for r in p["Rules"]]
        self.assertEqual(names, [f"page-{i}" for i in range(5)])
        for name, cli in self.clis():
            with self.subTest(cli=name):
                # The CLIs follow NextToken across pages of two.
                out = self.gantry.aws(cli, "events", "list-rules", "--name-prefix", "page-", "--page-size", "2")
                self.assertEqual([r["Name"] for r in out["Rules"]], [f"page-{i}" for i in range(5)])
                out = self.gantry.aws(cli, "events", "list-rules", "--name-prefix", "page-", "--max-items", "3")
                self.assertEqual(len(out["Rules"]), 3)
                self.assertIn("NextToken", out)

    def test_schedule_expression_round_trip(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                rule = f"sched-{name}"
                self.gantry.aws(cli, "events", "put-rule", "--name", rule, "--schedule-expression", "rate(1 minute)")
                described = self.gantry.aws(cli, "events", "describe-rule", "--name", rule)
                self.assertEqual(described["ScheduleExpression"], "rate(1 minute)")
                self.gantry.aws(cli, "events", "put-rule", "--name", rule, "--schedule-expression",
                                "cron(0 12 ? * MON-FRI *)")
                described = self.gantry.aws(cli, "events", "describe-rule", "--name", rule)
                self.assertEqual(described["ScheduleExpression"], "cron(0 12 ? * MON-FRI *)")
                code, _, err = self.gantry.aws(cli, "events", "put-rule", "--name", rule, "--schedule-expression",
                                               "rate(1 fortnight)", check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (ValidationException) when calling the PutRule operation: "
                              "Parameter ScheduleExpression is not valid.", err)

    def test_test_event_pattern(self):
        event = json.dumps({"id": "1", "account": ACCOUNT, "source": "e2e.app", "time": "2024-01-01T00:00:00Z",
                            "region": REGION, "resources": [], "detail-type": "E2E Event",
                            "detail": {"level": 4, "tags": ["a", "b"]}})
        yes = '{"detail":{"level":[{"numeric":[">",3]}],"tags":["b"]}}'
        no = '{"detail":{"level":[{"numeric":["<",3]}]}}'
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "events", "test-event-pattern", "--event-pattern", yes, "--event", event)
                self.assertTrue(out["Result"])
                out = self.gantry.aws(cli, "events", "test-event-pattern", "--event-pattern", no, "--event", event)
                self.assertFalse(out["Result"])
                code, _, err = self.gantry.aws(cli, "events", "test-event-pattern", "--event-pattern", yes,
                                               "--event", '{"source":"e2e.app"}', check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("(ValidationException)", err)
                self.assertIn("Parameter Event is not valid.", err)
        events = self.gantry.boto3("events")
        self.assertTrue(events.test_event_pattern(EventPattern=yes, Event=event)["Result"])
        with self.assertRaises(events.exceptions.InvalidEventPatternException):
            events.test_event_pattern(EventPattern='{"detail":{"level":5}}', Event=event)

    def test_put_events_reports_entries_that_fail(self):
        entries = json.dumps([put_event_entry("aws.codecommit", {}), put_event_entry("e2e.app", {"ok": True}),
                              {"Source": "e2e.app", "DetailType": "E2E Event"}])
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "events", "put-events", "--entries", entries)
                self.assertEqual(out["FailedEntryCount"], 2)
                self.assertEqual(out["Entries"][0]["ErrorCode"], "NotAuthorizedForSourceException")
                self.assertIn("EventId", out["Entries"][1])
                self.assertEqual(out["Entries"][2]["ErrorCode"], "InvalidArgument")

    def test_event_buses_and_tags(self):
        events = self.gantry.boto3("events")
        self.assertEqual(events.describe_event_bus()["Name"], "default")
        created = events.create_event_bus(Name="tagged-bus", Tags=[{"Key": "team", "Value": "web"}])
        self.assertEqual(created["EventBusArn"], bus_arn("tagged-bus"))
        with self.assertRaises(events.exceptions.ResourceAlreadyExistsException):
            events.create_event_bus(Name="tagged-bus")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                buses = self.gantry.aws(cli, "events", "list-event-buses")["EventBuses"]
                self.assertIn("tagged-bus", [b["Name"] for b in buses])
                self.gantry.aws(cli, "events", "tag-resource", "--resource-arn", bus_arn("tagged-bus"),
                                "--tags", f"Key={name},Value=yes")
                tags = self.gantry.aws(cli, "events", "list-tags-for-resource",
                                       "--resource-arn", bus_arn("tagged-bus"))["Tags"]
                self.assertIn({"Key": name, "Value": "yes"}, tags)
                self.gantry.aws(cli, "events", "untag-resource", "--resource-arn", bus_arn("tagged-bus"),
                                "--tag-keys", name)
        tags = events.list_tags_for_resource(ResourceARN=bus_arn("tagged-bus"))["Tags"]
        self.assertEqual(tags, [{"Key": "team", "Value": "web"}])
        code, _, err = self.gantry.aws(self.clis()[0][1], "events", "delete-event-bus", "--name", "default",
                                       check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("Cannot delete event bus default.", err)


class DeliveryTest(GantryTestCase):
    def setUp(self):
        self.hooks = HookServer()
        self.addCleanup(self.hooks.close)

    def test_events_reach_another_bus_its_archive_and_an_api_destination(self):
        events = self.gantry.boto3("events")
        events.create_event_bus(Name="audit")
        archive = events.create_archive(ArchiveName="audit-all", EventSourceArn=bus_arn("audit"))
        self.assertEqual(archive["State"], "ENABLED")
        connection = events.create_connection(
            Name="hooks", AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": "s3cret"}})
        described = events.describe_connection(Name="hooks")
        self.assertNotIn("ApiKeyValue", described["AuthParameters"]["ApiKeyAuthParameters"])
        destination = events.create_api_destination(
            Name="hook", ConnectionArn=connection["ConnectionArn"], InvocationEndpoint=self.hooks.url + "/hook",
            HttpMethod="POST")

        # The rule through one CLI, its target through the other.
        clis = [cli for _, cli in self.clis()]
        pattern = json.dumps({"source": ["e2e.app"], "detail": {"env": ["prod"]}})
        self.gantry.aws(clis[0], "events", "put-rule", "--name", "forward", "--event-pattern", pattern)
        out = self.gantry.aws(clis[-1], "events", "put-targets", "--rule", "forward", "--targets",
                              json.dumps([{"Id": "audit", "Arn": bus_arn("audit")}]))
        self.assertEqual(out["FailedEntryCount"], 0)
        events.put_rule(Name="to-hook", EventBusName="audit", EventPattern='{"source":["e2e.app"]}')
        events.put_targets(Rule="to-hook", EventBusName="audit", Targets=[{
            "Id": "hook", "Arn": destination["ApiDestinationArn"],
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events-invoke",
            "InputTransformer": {"InputPathsMap": {"id": "$.id", "n": "$.detail.n"},
                                 "InputTemplate": '{"event": <id>, "n": <n>}'}}])

        ids = []
        for n, (name, cli) in enumerate(self.clis()):
            out = self.gantry.aws(cli, "events", "put-events", "--entries",
                                  json.dumps([put_event_entry("e2e.app", {"env": "prod", "n": n}),
                                              put_event_entry("e2e.app", {"env": "dev", "n": n})]))
            self.assertEqual(out["FailedEntryCount"], 0)
            ids.append(out["Entries"][0]["EventId"])
        out = events.put_events(Entries=[put_event_entry("e2e.app", {"env": "prod", "n": 9})])
        ids.append(out["Entries"][0]["EventId"])

        wait_for(lambda: len(self.hooks.received) >= len(ids), what="API destination requests")
        time.sleep(0.3)
        self.assertEqual(sorted(e["event"] for e in self.hooks.events()), sorted(ids))
        first = self.hooks.received[0]
        self.assertEqual(first["path"], "/hook")
        self.assertEqual(first["headers"]["x-api-key"], "s3cret")
        self.assertTrue(first["headers"]["content-type"].startswith("application/json"))

        count = wait_for(lambda: events.describe_archive(ArchiveName="audit-all")["EventCount"] == len(ids),
                         what="archived events")
        self.assertTrue(count)
        archives = events.list_archives(EventSourceArn=bus_arn("audit"))["Archives"]
        self.assertEqual([a["ArchiveName"] for a in archives], ["audit-all"])

        # A replay of the archive publishes the same events again, marked with the replay's name.
        start = time.time() - 3600
        events.start_replay(ReplayName="again", EventSourceArn=archive["ArchiveArn"], EventStartTime=start,
                            EventEndTime=time.time() + 60, Destination={"Arn": bus_arn("audit")})
        wait_for(lambda: events.describe_replay(ReplayName="again")["State"] == "COMPLETED", what="replay")
        wait_for(lambda: len(self.hooks.received) >= 2 * len(ids), what="replayed requests")

    def test_connection_secrets_are_not_stored_in_the_clear(self):
        events = self.gantry.boto3("events")
        password = "e2e-Cl34r-P4ssw0rd-never-on-disk"
        connection = events.create_connection(
            Name="sealed", AuthorizationType="BASIC",
            AuthParameters={"BasicAuthParameters": {"Username": "deployer", "Password": password}})
        self.assertNotIn("Password", events.describe_connection(Name="sealed")["AuthParameters"]["BasicAuthParameters"])
        destination = events.create_api_destination(
            Name="sealed-hook", ConnectionArn=connection["ConnectionArn"],
            InvocationEndpoint=self.hooks.url + "/sealed", HttpMethod="POST")
        events.put_rule(Name="to-sealed", EventPattern='{"source":["e2e.sealed"]}')
        events.put_targets(Rule="to-sealed", Targets=[{"Id": "hook", "Arn": destination["ApiDestinationArn"]}])
        events.put_events(Entries=[put_event_entry("e2e.sealed", {"n": 1})])

        # Delivery still authenticates with the password.
        wait_for(lambda: self.hooks.received, what="the API destination request")
        expected = "Basic " + base64.b64encode(f"deployer:{password}".encode()).decode()
        self.assertEqual(self.hooks.received[0]["headers"]["authorization"], expected)

        # No file of the state directory (gantry.db, its WAL, blobs, logs) holds the password.
        needle = password.encode()
        for root, _, files in os.walk(self.gantry.state_dir):
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    self.assertNotIn(needle, f.read(), f"the clear password is in {path}")

    def test_failed_invocation_is_recorded(self):
        events = self.gantry.boto3("events")
        target = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/e2e-nope"
        events.put_rule(Name="build-on-push", EventPattern='{"source":["e2e.push"]}')
        events.put_targets(Rule="build-on-push", Targets=[{"Id": "build", "Arn": target}])
        names = events.list_rule_names_by_target(TargetArn=target)["RuleNames"]
        self.assertEqual(names, ["build-on-push"])
        event_id = events.put_events(Entries=[put_event_entry("e2e.push", {"ref": "main"})])["Entries"][0]["EventId"]

        def failed():
            return [r for r in invocations(self.gantry) if r["EventId"] == event_id and r["Status"] == "FAILED"]
        record = wait_for(failed, what="a FAILED invocation")[0]
        self.assertEqual(record["TargetArn"], target)
        self.assertEqual(record["RuleName"], "build-on-push")
        self.assertIn("codebuild", record["ErrorMessage"])


class RestartTest(unittest.TestCase):
    """State written through the API survives a graceful restart and a kill -9."""

    def test_state_survives_restart_and_kill9(self):
        hooks = HookServer()
        self.addCleanup(hooks.close)
        first = Gantry().start()
        self.addCleanup(first.cleanup)
        events = first.boto3("events")
        events.create_event_bus(Name="durable", Tags=[{"Key": "k", "Value": "v"}])
        events.put_rule(Name="keep", EventBusName="durable", EventPattern='{"source":["e2e.durable"]}',
                        Tags=[{"Key": "rule", "Value": "tag"}])
        connection = events.create_connection(
            Name="c", AuthorizationType="BASIC",
            AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}})
        destination = events.create_api_destination(
            Name="d", ConnectionArn=connection["ConnectionArn"], InvocationEndpoint=hooks.url + "/durable",
            HttpMethod="POST")
        events.put_targets(Rule="keep", EventBusName="durable", Targets=[
            {"Id": "d", "Arn": destination["ApiDestinationArn"]}])
        events.put_rule(Name="tick", ScheduleExpression="rate(5 minutes)")
        first.stop()

        second = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(second.stop)
        events = second.boto3("events")
        self.assertEqual(events.describe_event_bus(Name="durable")["Arn"], bus_arn("durable"))
        self.assertEqual(events.list_tags_for_resource(ResourceARN=bus_arn("durable"))["Tags"],
                         [{"Key": "k", "Value": "v"}])
        rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/durable/keep"
        self.assertEqual(events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"],
                         [{"Key": "rule", "Value": "tag"}])
        self.assertEqual(events.describe_rule(Name="tick")["ScheduleExpression"], "rate(5 minutes)")
        targets = events.list_targets_by_rule(Rule="keep", EventBusName="durable")["Targets"]
        self.assertEqual([t["Id"] for t in targets], ["d"])

        # Events acknowledged just before a kill -9 are delivered after the restart (at least once).
        ids = [events.put_events(Entries=[put_event_entry("e2e.durable", {"i": i}, "durable")])["Entries"][0]["EventId"]
               for i in range(5)]
        second.kill9()
        third = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(third.stop)
        wait_for(lambda: set(ids) <= {e["id"] for e in hooks.events()}, what="events delivered after kill -9")
        self.assertEqual(hooks.received[0]["headers"]["authorization"], "Basic dTpw")
        events = third.boto3("events")
        self.assertEqual([r["Name"] for r in events.list_rules(EventBusName="durable")["Rules"]], ["keep"])


if __name__ == "__main__":
    unittest.main()
