"""CloudWatch over each wire protocol its clients use: boto3 and CLI v1 (botocore 1.43) pick awsJson
1.0 from the model's ['smithy-rpc-v2-cbor', 'json', 'query'], CLI v2 2.9 speaks awsQuery, and newer
SDKs speak smithy-rpc-v2-cbor (driven here by boto3 with the model narrowed to that protocol).
PutMetricData bodies of 10 KiB and more arrive gzip-compressed (Content-Encoding: gzip)."""
import copy
import gzip
import json
import os
import tempfile
import unittest

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import AWS_V1, AWS_V2, GantryTestCase

DASHBOARD = json.dumps({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3,
                                     "properties": {"markdown": "hello"}}]})


def cbor_only_client(gantry, data_dir):
    """A boto3 CloudWatch client whose model lists only smithy-rpc-v2-cbor."""
    original = botocore.session.get_session().get_component("data_loader")
    model = copy.deepcopy(original.load_service_model("cloudwatch", "service-2"))
    model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
    path = os.path.join(data_dir, "cloudwatch", model["metadata"]["apiVersion"])
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "service-2.json"), "w") as f:
        json.dump(model, f)
    session = botocore.session.get_session()  # its loader has cached nothing yet
    session.get_component("data_loader").search_paths.insert(0, data_dir)
    key, secret = gantry.credentials()
    return boto3.Session(botocore_session=session).client(
        "cloudwatch", endpoint_url=gantry.endpoint, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def record_requests(client):
    sent = []
    client.meta.events.register("before-send", lambda request, **kw: sent.append(request))
    return sent


def metric_data(n):
    return [{"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": f"host-{i % 7}"}],
             "Value": float(i), "Unit": "Milliseconds"} for i in range(n)]


class CloudWatchProtocolsTest(GantryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data_dir = tempfile.mkdtemp(prefix="gantry-cw-model-")

    def test_boto3_speaks_json_and_gzips_large_put_metric_data(self):
        cw = self.gantry.boto3("cloudwatch")
        sent = record_requests(cw)
        cw.put_dashboard(DashboardName="json-dash", DashboardBody=DASHBOARD)
        self.assertEqual(sent[-1].headers["X-Amz-Target"], b"GraniteServiceVersion20100801.PutDashboard")
        self.assertEqual(sent[-1].headers["x-amzn-query-mode"], b"true")
        names = [d["DashboardName"] for d in cw.list_dashboards()["DashboardEntries"]]
        self.assertIn("json-dash", names)
        with self.assertRaises(ClientError) as e:
            cw.get_dashboard(DashboardName="no-such-dashboard")
        self.assertEqual(e.exception.response["Error"]["Code"], "ResourceNotFound")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

        cw.put_metric_data(Namespace="Gz/Json", MetricData=metric_data(400))
        self.assertEqual(sent[-1].headers["Content-Encoding"], b"gzip")
        self.assertGreater(len(gzip.decompress(sent[-1].body)), 10240)
        metrics = cw.list_metrics(Namespace="Gz/Json")["Metrics"]
        self.assertEqual({m["Dimensions"][0]["Value"] for m in metrics}, {f"host-{i}" for i in range(7)})

    def test_rpc_v2_cbor(self):
        cw = cbor_only_client(self.gantry, self.data_dir)
        sent = record_requests(cw)
        cw.put_dashboard(DashboardName="cbor-dash", DashboardBody=DASHBOARD)
        self.assertEqual(sent[-1].url.split("/", 3)[3], "service/GraniteServiceVersion20100801/operation/PutDashboard")
        self.assertEqual(sent[-1].headers["smithy-protocol"], b"rpc-v2-cbor")
        got = cw.get_dashboard(DashboardName="cbor-dash")
        self.assertEqual(json.loads(got["DashboardBody"]), json.loads(DASHBOARD))
        entries = cw.list_dashboards(DashboardNamePrefix="cbor-")["DashboardEntries"]
        self.assertEqual([d["DashboardName"] for d in entries], ["cbor-dash"])
        self.assertEqual(entries[0]["LastModified"].tzinfo is not None, True)  # tag 1 timestamp parsed
        with self.assertRaises(ClientError) as e:
            cw.get_dashboard(DashboardName="no-such-dashboard")
        self.assertEqual(e.exception.response["Error"]["Code"], "ResourceNotFound")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        with self.assertRaises(ClientError) as e:
            cw.put_dashboard(DashboardName="bad", DashboardBody="{not json")
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterInput")

        cw.put_metric_data(Namespace="Gz/Cbor", MetricData=metric_data(400))
        self.assertEqual(sent[-1].headers["Content-Encoding"], b"gzip")
        metrics = cw.list_metrics(Namespace="Gz/Cbor", MetricName="Latency")["Metrics"]
        self.assertEqual(len(metrics), 7)

    @unittest.skipUnless(AWS_V1, "no CLI v1")
    def test_cli_v1_json(self):
        self.gantry.aws(AWS_V1, "cloudwatch", "put-dashboard", "--dashboard-name", "v1-dash",
                        "--dashboard-body", DASHBOARD)
        code, out, err = self.gantry.aws(AWS_V1, "--debug", "cloudwatch", "list-dashboards", check=False)
        self.assertEqual(code, 0, err)
        self.assertIn("GraniteServiceVersion20100801.ListDashboards", err)
        self.assertIn("v1-dash", out)

    def test_cli_v2_query(self):
        self.gantry.aws(AWS_V2, "cloudwatch", "put-dashboard", "--dashboard-name", "v2-dash",
                        "--dashboard-body", DASHBOARD)
        code, out, err = self.gantry.aws(AWS_V2, "--debug", "cloudwatch", "list-dashboards", check=False)
        self.assertEqual(code, 0, err)
        self.assertIn("'body': {'Action': 'ListDashboards'", err)
        self.assertIn("v2-dash", out)
        code, _, err = self.gantry.aws(AWS_V2, "cloudwatch", "get-dashboard", "--dashboard-name", "nope", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("ResourceNotFound", err)


if __name__ == "__main__":
    unittest.main()
