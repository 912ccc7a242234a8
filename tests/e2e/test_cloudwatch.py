"""CloudWatch metrics and dashboards through the CLIs and boto3: PutMetricData with values, counts
and statistic sets, GetMetricStatistics with percentiles, ListMetrics filters and pages, dashboards
with body validation, metrics from CloudWatch Logs metric filters and the Embedded Metric Format,
and metric data that survives kill -9. CLI v2 speaks awsQuery; CLI v1 and boto3 speak
smithy-rpc-v2-cbor (their tests skip while the server does not answer that protocol)."""
import json
import os
import tempfile
import time
import unittest

from harness import AWS_V1, AWS_V2, Gantry, GantryTestCase, wait_for

ACCOUNT = "000000000000"


def error_line(code, operation, message):
    return f"An error occurred ({code}) when calling the {operation} operation: {message}"


def minute_start(offset_minutes=0):
    """An ISO timestamp at the start of a minute a few minutes ago, so that its period is complete."""
    t = (int(time.time()) // 60 - 5 + offset_minutes) * 60
    return t


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class MetricsCliTest(GantryTestCase):
    def put(self, cli, namespace, data):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(data, f)
        try:
            return self.gantry.aws(cli, "cloudwatch", "put-metric-data", "--namespace", namespace,
                                   "--metric-data", "file://" + f.name)
        finally:
            os.unlink(f.name)

    def stats(self, cli, namespace, name, start, end, period, *args):
        out = self.gantry.aws(cli, "cloudwatch", "get-metric-statistics", "--namespace", namespace,
                              "--metric-name", name, "--start-time", iso(start), "--end-time", iso(end),
                              "--period", str(period), *args)
        return sorted(out["Datapoints"], key=lambda d: d["Timestamp"])

    def test_values_counts_and_statistic_sets(self):
        t = minute_start()
        self.put(AWS_V2, "E2E/App", [
            {"MetricName": "Latency", "Timestamp": iso(t + 1), "Value": 10, "Unit": "Milliseconds",
             "Dimensions": [{"Name": "Route", "Value": "/a"}]},
            {"MetricName": "Latency", "Timestamp": iso(t + 2), "Values": [20, 30], "Counts": [2, 1],
             "Unit": "Milliseconds", "Dimensions": [{"Name": "Route", "Value": "/a"}]},
            {"MetricName": "Latency", "Timestamp": iso(t + 61), "Unit": "Milliseconds",
             "StatisticValues": {"SampleCount": 4, "Sum": 400, "Minimum": 50, "Maximum": 150},
             "Dimensions": [{"Name": "Route", "Value": "/a"}]},
        ])
        points = self.stats(AWS_V2, "E2E/App", "Latency", t, t + 120, 60, "--dimensions", "Name=Route,Value=/a",
                            "--statistics", "Sum", "SampleCount", "Minimum", "Maximum", "Average")
        self.assertEqual(len(points), 2)
        self.assertEqual((points[0]["Sum"], points[0]["SampleCount"], points[0]["Minimum"], points[0]["Maximum"],
                          points[0]["Average"]), (80.0, 4.0, 10.0, 30.0, 20.0))
        self.assertEqual(points[0]["Unit"], "Milliseconds")
        self.assertEqual((points[1]["Sum"], points[1]["SampleCount"]), (400.0, 4.0))
        # Other dimensions are another metric.
        self.assertEqual(self.stats(AWS_V2, "E2E/App", "Latency", t, t + 120, 60, "--statistics", "Sum"), [])

    def test_percentiles(self):
        t = minute_start()
        self.put(AWS_V2, "E2E/Pct", [{"MetricName": "Size", "Timestamp": iso(t + 1),
                                      "Values": list(range(1, 101)), "Counts": [1] * 100}])
        points = self.stats(AWS_V2, "E2E/Pct", "Size", t, t + 60, 60, "--extended-statistics", "p99", "p50")
        self.assertEqual(len(points), 1)
        self.assertAlmostEqual(points[0]["ExtendedStatistics"]["p99"], 99, delta=2)
        self.assertAlmostEqual(points[0]["ExtendedStatistics"]["p50"], 50, delta=2)

    def test_errors_as_aws_words_them(self):
        rc, _, err = self.gantry.aws(AWS_V2, "cloudwatch", "put-metric-data", "--namespace", "AWS/EC2",
                                     "--metric-name", "X", "--value", "1", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn(error_line("InvalidParameterValue", "PutMetricData",
                                 "The value AWS/EC2 for parameter Namespace is invalid."), err)
        rc, _, err = self.gantry.aws(AWS_V2, "cloudwatch", "put-metric-data", "--namespace", "E2E/Err",
                                     "--metric-name", "X", "--value", "1",
                                     "--timestamp", iso(time.time() - 20 * 86400), check=False)
        self.assertIn("The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks.",
                      err)
        t = minute_start()
        rc, _, err = self.gantry.aws(AWS_V2, "cloudwatch", "get-metric-statistics", "--namespace", "E2E/Err",
                                     "--metric-name", "X", "--start-time", iso(t - 86400), "--end-time", iso(t + 60),
                                     "--period", "60", "--statistics", "Sum", check=False)
        self.assertIn("You have requested up to 1,441 datapoints, which exceeds the limit of 1,440.", err)

    def test_list_metrics_filters_and_pages(self):
        data = [{"MetricName": "Req", "Value": 1, "Dimensions": [{"Name": "Id", "Value": str(i)}]}
                for i in range(600)]
        self.put(AWS_V2, "E2E/List", data)
        self.put(AWS_V2, "E2E/List2", [{"MetricName": "Req", "Value": 1,
                                        "Dimensions": [{"Name": "Stage", "Value": "prod"}]}])
        page = self.gantry.aws(AWS_V2, "cloudwatch", "list-metrics", "--namespace", "E2E/List", "--no-paginate")
        self.assertEqual(len(page["Metrics"]), 500)
        self.assertIn("NextToken", page)
        every = self.gantry.aws(AWS_V2, "cloudwatch", "list-metrics", "--namespace", "E2E/List")
        self.assertEqual(len(every["Metrics"]), 600)
        self.assertEqual(len({m["Dimensions"][0]["Value"] for m in every["Metrics"]}), 600)
        stage = self.gantry.aws(AWS_V2, "cloudwatch", "list-metrics", "--dimensions", "Name=Stage")
        self.assertEqual([(m["Namespace"], m["MetricName"]) for m in stage["Metrics"]], [("E2E/List2", "Req")])
        one = self.gantry.aws(AWS_V2, "cloudwatch", "list-metrics", "--namespace", "E2E/List",
                              "--dimensions", "Name=Id,Value=42", "--recently-active", "PT3H")
        self.assertEqual(len(one["Metrics"]), 1)

    def test_dashboards_round_trip(self):
        body = '{"widgets": [ {"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "# hi"}} ]}'
        out = self.gantry.aws(AWS_V2, "cloudwatch", "put-dashboard", "--dashboard-name", "e2e-main",
                              "--dashboard-body", body)
        self.assertEqual(out.get("DashboardValidationMessages", []), [])
        got = self.gantry.aws(AWS_V2, "cloudwatch", "get-dashboard", "--dashboard-name", "e2e-main")
        self.assertEqual(got["DashboardBody"], body)
        self.assertEqual(got["DashboardArn"], f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/e2e-main")
        listed = self.gantry.aws(AWS_V2, "cloudwatch", "list-dashboards", "--dashboard-name-prefix", "e2e-")
        self.assertEqual([(d["DashboardName"], d["Size"]) for d in listed["DashboardEntries"]],
                         [("e2e-main", len(body))])
        rc, _, err = self.gantry.aws(AWS_V2, "cloudwatch", "put-dashboard", "--dashboard-name", "e2e-bad",
                                     "--dashboard-body", '{"widgets": [{"type": "metric", "width": 30, "properties": {}}]}',
                                     check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("(InvalidParameterInput)", err)
        self.assertIn('"dataPath": "/widgets/0/width"', err)
        rc, _, err = self.gantry.aws(AWS_V2, "cloudwatch", "delete-dashboards", "--dashboard-names", "e2e-main",
                                     "nope", check=False)
        self.assertIn(error_line("ResourceNotFound", "DeleteDashboards",
                                 "The specified dashboard does not exist. [nope]"), err)
        self.gantry.aws(AWS_V2, "cloudwatch", "delete-dashboards", "--dashboard-names", "e2e-main")
        rc, _, err = self.gantry.aws(AWS_V2, "cloudwatch", "get-dashboard", "--dashboard-name", "e2e-main",
                                     check=False)
        self.assertIn("(ResourceNotFound)", err)


BAD_DASHBOARD = '{"widgets": [{"type": "metric", "width": 30, "properties": {}}]}'
BAD_DASHBOARD_FINDINGS = [{"DataPath": "/widgets/0/width", "Message": "Should be <= 24"}]


def narrowed_client(gantry, data_dir, protocol):
    """A boto3 CloudWatch client whose model lists only `protocol` ("json", "query", ...)."""
    import copy
    import boto3
    import botocore.session
    from botocore.config import Config
    loader = botocore.session.get_session().get_component("data_loader")
    model = copy.deepcopy(loader.load_service_model("cloudwatch", "service-2"))
    model["metadata"]["protocols"] = [protocol]
    model["metadata"]["protocol"] = protocol
    path = os.path.join(data_dir, protocol, "cloudwatch", model["metadata"]["apiVersion"])
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "service-2.json"), "w") as f:
        json.dump(model, f)
    session = botocore.session.get_session()  # a fresh loader that has cached nothing
    session.get_component("data_loader").search_paths.insert(0, os.path.join(data_dir, protocol))
    key, secret = gantry.credentials()
    return boto3.Session(botocore_session=session).client(
        "cloudwatch", endpoint_url=gantry.endpoint, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1, "mode": "standard"}))


class DashboardValidationMessagesTest(GantryTestCase):
    """DashboardInvalidInputError carries dashboardValidationMessages as a modeled member in awsJson
    1.0 (CLI v1), awsQuery (CLI v2) and smithy-rpc-v2-cbor (boto3), besides the findings in its
    message."""

    def assert_findings(self, cw, protocol):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as caught:
            cw.put_dashboard(DashboardName="e2e-bad", DashboardBody=BAD_DASHBOARD)
        e = caught.exception
        self.assertIsInstance(e, cw.exceptions.DashboardInvalidInputError, protocol)
        self.assertEqual(e.response["Error"]["Code"], "InvalidParameterInput", protocol)
        self.assertIn('"dataPath": "/widgets/0/width"', e.response["Error"]["Message"], protocol)
        self.assertEqual(e.response.get("dashboardValidationMessages"), BAD_DASHBOARD_FINDINGS, protocol)

    def test_boto3_reads_the_findings_in_every_protocol(self):
        cw = self.gantry.boto3("cloudwatch")
        self.assert_findings(cw, cw.meta.service_model.protocol)
        data_dir = tempfile.mkdtemp(prefix="gantry-cw-model-")
        for protocol in ("json", "query", "smithy-rpc-v2-cbor"):
            narrowed = narrowed_client(self.gantry, data_dir, protocol)
            self.assertEqual(narrowed.meta.service_model.protocol, protocol)
            self.assert_findings(narrowed, protocol)

    def test_clis_print_the_findings(self):
        rc, _, err = self.gantry.aws(AWS_V2, "cloudwatch", "put-dashboard", "--dashboard-name", "e2e-bad",
                                     "--dashboard-body", BAD_DASHBOARD, "--debug", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("<dashboardValidationMessages><member><DataPath>/widgets/0/width</DataPath>"
                      "<Message>Should be &lt;= 24</Message></member></dashboardValidationMessages>", err)
        self.assertIn(error_line("InvalidParameterInput", "PutDashboard", "The dashboard body is invalid, there are 1 "
                                 'validation errors: [ { "message": "Should be <= 24", '
                                 '"dataPath": "/widgets/0/width" } ]'), err)
        if AWS_V1:
            rc, _, err = self.gantry.aws(AWS_V1, "cloudwatch", "put-dashboard", "--dashboard-name", "e2e-bad",
                                         "--dashboard-body", BAD_DASHBOARD, "--debug", check=False)
            self.assertNotEqual(rc, 0)
            self.assertIn('"dashboardValidationMessages":[{"DataPath":"/widgets/0/width",'
                          '"Message":"Should be <= 24"}]', err)


class LogMetricsTest(GantryTestCase):
    def sum_of(self, namespace, name, start, *dimensions):
        args = ["cloudwatch", "get-metric-statistics", "--namespace", namespace, "--metric-name", name,
                "--start-time", iso(start), "--end-time", iso(start + 600), "--period", "600",
                "--statistics", "Sum"]
        if dimensions:
            args += ["--dimensions", *dimensions]
        points = self.gantry.aws(AWS_V2, *args)["Datapoints"]
        return points[0]["Sum"] if points else None

    def test_metric_filter_and_emf_produce_metrics(self):
        g = self.gantry
        g.aws(AWS_V2, "logs", "create-log-group", "--log-group-name", "/e2e/app")
        g.aws(AWS_V2, "logs", "create-log-stream", "--log-group-name", "/e2e/app", "--log-stream-name", "s")
        g.aws(AWS_V2, "logs", "put-metric-filter", "--log-group-name", "/e2e/app", "--filter-name", "latency",
              "--filter-pattern", "{ $.latency > 0 }", "--metric-transformations",
              "metricName=Latency,metricNamespace=E2E/Logs,metricValue=$.latency,unit=Milliseconds")
        start = (int(time.time()) // 600) * 600
        now = int(time.time() * 1000)
        emf = json.dumps({"_aws": {"Timestamp": now, "CloudWatchMetrics": [
            {"Namespace": "E2E/Emf", "Dimensions": [["Service"]], "Metrics": [{"Name": "Orders", "Unit": "Count"}]}]},
            "Service": "cart", "Orders": 3})
        events = [{"timestamp": now, "message": json.dumps({"latency": 12})},
                  {"timestamp": now, "message": json.dumps({"latency": 30})},
                  {"timestamp": now, "message": "plain text"},
                  {"timestamp": now, "message": emf}]
        g.aws(AWS_V2, "logs", "put-log-events", "--log-group-name", "/e2e/app", "--log-stream-name", "s",
              "--log-events", json.dumps(events))
        self.assertEqual(wait_for(lambda: self.sum_of("E2E/Logs", "Latency", start), what="filter metric"), 42.0)
        self.assertEqual(wait_for(lambda: self.sum_of("E2E/Emf", "Orders", start, "Name=Service,Value=cart"),
                                  what="EMF metric"), 3.0)
        listed = g.aws(AWS_V2, "cloudwatch", "list-metrics", "--namespace", "E2E/Emf")
        self.assertEqual(listed["Metrics"], [{"Namespace": "E2E/Emf", "MetricName": "Orders",
                                              "Dimensions": [{"Name": "Service", "Value": "cart"}]}])


class MetricsDurabilityTest(unittest.TestCase):
    def test_metrics_and_dashboards_survive_kill_9(self):
        state = tempfile.mkdtemp(prefix="gantry-e2e-cw-")
        g = Gantry(state_dir=state).start()
        t = minute_start()
        try:
            g.aws(AWS_V2, "cloudwatch", "put-metric-data", "--namespace", "E2E/Durable", "--metric-name", "Kept",
                  "--value", "7", "--timestamp", iso(t + 1))
            g.aws(AWS_V2, "cloudwatch", "put-dashboard", "--dashboard-name", "kept", "--dashboard-body",
                  '{"widgets":[]}')
            g.kill9()
            g = Gantry(state_dir=state).start()
            out = g.aws(AWS_V2, "cloudwatch", "get-metric-statistics", "--namespace", "E2E/Durable",
                        "--metric-name", "Kept", "--start-time", iso(t), "--end-time", iso(t + 60),
                        "--period", "60", "--statistics", "Sum")
            self.assertEqual([p["Sum"] for p in out["Datapoints"]], [7.0])
            self.assertEqual(g.aws(AWS_V2, "cloudwatch", "get-dashboard", "--dashboard-name", "kept")["DashboardBody"],
                             '{"widgets":[]}')
        finally:
            g.stop()
            import shutil
            shutil.rmtree(state, ignore_errors=True)


class MetricsCborTest(GantryTestCase):
    """boto3 and CLI v1 (smithy-rpc-v2-cbor; boto3 gzips PutMetricData bodies over 10 KB)."""

    def setUp(self):
        self.cw = self.gantry.boto3("cloudwatch")
        try:
            self.cw.list_metrics(Namespace="E2E/Probe")
        except Exception as e:  # the protocol is not served yet
            self.skipTest(f"smithy-rpc-v2-cbor not served: {e}")

    def test_boto3_put_and_statistics_with_a_compressed_body(self):
        t = minute_start()
        data = [{"MetricName": "Big", "Timestamp": t + 1, "Value": float(i),
                 "Dimensions": [{"Name": "Shard", "Value": f"shard-{i:04d}-" + "x" * 40}]} for i in range(400)]
        self.cw.put_metric_data(Namespace="E2E/Cbor", MetricData=data)
        listed = self.cw.get_paginator("list_metrics").paginate(Namespace="E2E/Cbor").build_full_result()
        self.assertEqual(len(listed["Metrics"]), 400)
        out = self.cw.get_metric_statistics(Namespace="E2E/Cbor", MetricName="Big", StartTime=t, EndTime=t + 60,
                                            Period=60, Statistics=["Sum"],
                                            Dimensions=[{"Name": "Shard", "Value": "shard-0003-" + "x" * 40}])
        self.assertEqual([p["Sum"] for p in out["Datapoints"]], [3.0])
        with self.assertRaises(self.cw.exceptions.InvalidParameterValueException):
            self.cw.put_metric_data(Namespace="E2E/Cbor", MetricData=[{"MetricName": "M", "Value": float("nan")}])

    @unittest.skipUnless(AWS_V1, "no CLI v1")
    def test_cli_v1_statistic_sets_and_dashboards(self):
        t = minute_start()
        self.gantry.aws(AWS_V1, "cloudwatch", "put-metric-data", "--namespace", "E2E/V1", "--metric-name", "S",
                        "--timestamp", iso(t + 1), "--statistic-values", "SampleCount=2,Sum=10,Minimum=4,Maximum=6")
        out = self.gantry.aws(AWS_V1, "cloudwatch", "get-metric-statistics", "--namespace", "E2E/V1",
                              "--metric-name", "S", "--start-time", iso(t), "--end-time", iso(t + 60),
                              "--period", "60", "--statistics", "Average", "Maximum")
        self.assertEqual([(p["Average"], p["Maximum"]) for p in out["Datapoints"]], [(5.0, 6.0)])
        self.gantry.aws(AWS_V1, "cloudwatch", "put-dashboard", "--dashboard-name", "v1", "--dashboard-body",
                        '{"widgets":[]}')
        self.assertEqual(self.gantry.aws(AWS_V1, "cloudwatch", "get-dashboard", "--dashboard-name", "v1")
                         ["DashboardBody"], '{"widgets":[]}')


if __name__ == "__main__":
    unittest.main()
