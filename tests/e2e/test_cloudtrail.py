"""CloudTrail event history through both CLIs and boto3: every management call (read and write,
failed and denied) is an event; LookupEvents by attribute and time range, newest first, in pages;
secret values appear in no CloudTrailEvent record and not in the server's log; S3 object-level
calls are data events and stay out; events survive a restart."""
import datetime
import json
import time
import unittest

from harness import Gantry, GantryTestCase

ACCOUNT = "000000000000"
CANARY = "PLAINTEXT-ct-canary-c0ffee42"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def all_events(client, **kwargs):
    events = []
    for page in client.get_paginator("lookup_events").paginate(**kwargs):
        events += page["Events"]
    return events


def record(event):
    return json.loads(event["CloudTrailEvent"])


def implemented(call):
    """False when Gantry answers NotImplemented (another engineer's service not in this build yet)."""
    try:
        call()
    except Exception as e:  # botocore ClientError
        code = getattr(e, "response", {}).get("Error", {}).get("Code")
        if code == "NotImplemented":
            return False
    return True


class LookupTest(GantryTestCase):
    def test_cli_lookups_by_attribute_and_time_range(self):
        before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
        for name, cli in self.clis():
            with self.subTest(cli=name):
                secret = f"trail-{name}"
                self.gantry.aws(cli, "secretsmanager", "create-secret", "--name", secret,
                                "--secret-string", CANARY)
                self.gantry.aws(cli, "secretsmanager", "get-secret-value", "--secret-id", secret)
                events = self.gantry.aws(cli, "cloudtrail", "lookup-events", "--lookup-attributes",
                                         "AttributeKey=ResourceName,AttributeValue=" + secret)["Events"]
                self.assertEqual([e["EventName"] for e in events], ["GetSecretValue", "CreateSecret"])
                create = record(events[1])
                self.assertEqual(create["eventSource"], "secretsmanager.amazonaws.com")
                self.assertEqual(create["userIdentity"]["type"], "Root")
                self.assertEqual(create["userIdentity"]["arn"], f"arn:aws:iam::{ACCOUNT}:root")
                self.assertEqual(create["sourceIPAddress"], "127.0.0.1")
                self.assertIn("aws-cli/", create["userAgent"])
                self.assertEqual(create["requestParameters"]["name"], secret)
                self.assertEqual(create["requestParameters"]["secretString"], HIDDEN)
                self.assertEqual(create["readOnly"], False)
                self.assertEqual(record(events[0])["readOnly"], True)
                self.assertEqual(events[1]["Username"], "root")
                self.assertEqual(events[0]["ReadOnly"], "true")

                by_name = self.gantry.aws(cli, "cloudtrail", "lookup-events", "--lookup-attributes",
                                          "AttributeKey=EventName,AttributeValue=CreateSecret")["Events"]
                self.assertIn(secret, [r["ResourceName"] for e in by_name for r in e["Resources"]])
                self.assertEqual({e["EventName"] for e in by_name}, {"CreateSecret"})
                writes = self.gantry.aws(cli, "cloudtrail", "lookup-events", "--lookup-attributes",
                                         "AttributeKey=ReadOnly,AttributeValue=false")["Events"]
                self.assertIn("CreateSecret", [e["EventName"] for e in writes])
                self.assertNotIn("GetSecretValue", [e["EventName"] for e in writes])

                after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
                ranged = self.gantry.aws(cli, "cloudtrail", "lookup-events", "--start-time", before.isoformat(),
                                         "--end-time", after.isoformat())["Events"]
                self.assertIn("CreateSecret", [e["EventName"] for e in ranged])
                times = [e["EventTime"] for e in ranged]
                self.assertEqual(times, sorted(times, reverse=True))  # newest first
                past = self.gantry.aws(cli, "cloudtrail", "lookup-events", "--start-time", "2020-01-01T00:00:00Z",
                                       "--end-time", before.isoformat())["Events"]
                self.assertEqual(past, [])
                code, _, err = self.gantry.aws(cli, "cloudtrail", "lookup-events", "--lookup-attributes",
                                               "AttributeKey=EventName,AttributeValue=A",
                                               "AttributeKey=Username,AttributeValue=B", check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (InvalidLookupAttributesException) when calling the LookupEvents "
                              "operation", err)

    def test_failed_calls_are_recorded_and_pages_are_newest_first(self):
        sm = self.gantry.boto3("secretsmanager")
        trail = self.gantry.boto3("cloudtrail")
        with self.assertRaises(sm.exceptions.ResourceNotFoundException):
            sm.describe_secret(SecretId="no-such-secret")
        failed = [e for e in trail.lookup_events(LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": "no-such-secret"}])["Events"]]
        self.assertEqual(len(failed), 1)
        self.assertEqual(record(failed[0])["errorCode"], "ResourceNotFoundException")
        self.assertEqual(record(failed[0])["errorMessage"], "Secrets Manager can't find the specified secret.")
        self.assertIn("Boto3/", record(failed[0])["userAgent"])

        ssm = self.gantry.boto3("ssm")
        for i in range(7):
            ssm.put_parameter(Name=f"/paged/p{i}", Value="v", Type="String")
        first = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutParameter"}],
                                    MaxResults=3)
        self.assertEqual(len(first["Events"]), 3)
        self.assertIn("NextToken", first)
        events = all_events(trail, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutParameter"}],
                            PaginationConfig={"PageSize": 3})
        names = [r["ResourceName"] for e in events for r in e["Resources"] if r["ResourceName"].startswith("/paged/")]
        self.assertEqual(names, [f"/paged/p{i}" for i in reversed(range(7))])
        self.assertEqual(len({e["EventId"] for e in events}), len(events))
        by_id = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventId",
                                                       "AttributeValue": events[0]["EventId"]}])["Events"]
        self.assertEqual([e["EventId"] for e in by_id], [events[0]["EventId"]])

    def test_secret_values_never_reach_the_trail_or_the_log(self):
        sm = self.gantry.boto3("secretsmanager")
        ssm = self.gantry.boto3("ssm")
        trail = self.gantry.boto3("cloudtrail")
        sm.create_secret(Name="leak-check", SecretString=CANARY + "-1")
        sm.put_secret_value(SecretId="leak-check", SecretBinary=(CANARY + "-2").encode())
        sm.update_secret(SecretId="leak-check", SecretString=CANARY + "-3")
        sm.get_secret_value(SecretId="leak-check")
        with self.assertRaises(sm.exceptions.ResourceExistsException):
            sm.create_secret(Name="leak-check", SecretString=CANARY + "-4")
        with self.assertRaises(sm.exceptions.ClientError):  # beyond the model's 65536 characters
            sm.create_secret(Name="leak-check-2", SecretString=CANARY + "x" * 70000)
        sm.get_random_password()
        ssm.put_parameter(Name="/leak/secure", Value=CANARY + "-5", Type="SecureString")
        ssm.put_parameter(Name="/leak/plain", Value=CANARY + "-6", Type="String")
        ssm.get_parameter(Name="/leak/secure", WithDecryption=True)

        events = all_events(trail)
        self.assertGreaterEqual(len(events), 9)
        for event in events:
            self.assertNotIn(CANARY, event["CloudTrailEvent"])
            self.assertNotIn(CANARY, json.dumps(event, default=str))
        put = [record(e) for e in events if e["EventName"] == "PutParameter"]
        self.assertTrue(put)
        self.assertTrue(all(r["requestParameters"]["value"] == HIDDEN for r in put))
        log = self.gantry.stderr()
        self.assertIn("POST", log)
        self.assertNotIn(CANARY, log)

    def test_denied_calls_are_recorded(self):
        iam = self.gantry.boto3("iam")
        if not implemented(lambda: iam.create_user(UserName="trail-denied")):
            self.skipTest("IAM (users, access keys and the policy authorizer) is not in this build yet")
        key = iam.create_access_key(UserName="trail-denied")["AccessKey"]
        time.sleep(0.2)
        denied = self.gantry.boto3("secretsmanager", access_key=key["AccessKeyId"],
                                   secret_key=key["SecretAccessKey"])
        with self.assertRaises(denied.exceptions.ClientError) as raised:
            denied.list_secrets()
        self.assertIn("AccessDenied", raised.exception.response["Error"]["Code"])
        events = self.gantry.boto3("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "Username", "AttributeValue": "trail-denied"}])["Events"]
        listed = [record(e) for e in events if e["EventName"] == "ListSecrets"]
        self.assertEqual(len(listed), 1)
        self.assertIn("AccessDenied", listed[0]["errorCode"])
        self.assertEqual(listed[0]["userIdentity"]["type"], "IAMUser")
        self.assertEqual(listed[0]["userIdentity"]["userName"], "trail-denied")
        self.assertEqual(listed[0]["userIdentity"]["accessKeyId"], key["AccessKeyId"])

    def test_s3_object_calls_are_data_events(self):
        s3 = self.gantry.boto3("s3")
        if not implemented(lambda: s3.create_bucket(Bucket="trail-bucket")):
            self.skipTest("S3 is not in this build yet")
        s3.put_object(Bucket="trail-bucket", Key="k", Body=b"data")
        s3.get_object(Bucket="trail-bucket", Key="k")["Body"].read()
        s3.head_object(Bucket="trail-bucket", Key="k")
        names = [e["EventName"] for e in all_events(self.gantry.boto3("cloudtrail"), LookupAttributes=[
            {"AttributeKey": "EventSource", "AttributeValue": "s3.amazonaws.com"}])]
        self.assertIn("CreateBucket", names)
        for data_event in ("PutObject", "GetObject", "HeadObject"):
            self.assertNotIn(data_event, names)


class RestartTest(unittest.TestCase):
    def test_events_survive_restart(self):
        first = Gantry().start()
        self.addCleanup(first.cleanup)
        first.boto3("ssm").put_parameter(Name="/restart/p", Value="v", Type="String")
        first.stop()  # a graceful stop stores everything queued
        second = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(second.stop)
        trail = second.boto3("cloudtrail")
        events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName",
                                                        "AttributeValue": "/restart/p"}])["Events"]
        self.assertEqual([e["EventName"] for e in events], ["PutParameter"])
        # Stored within ~100 ms of the request, so it survives a kill -9 after that.
        second.boto3("ssm").get_parameter(Name="/restart/p")
        time.sleep(1)
        second.kill9()
        third = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(third.stop)
        events = third.boto3("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": "/restart/p"}])["Events"]
        self.assertEqual([e["EventName"] for e in events], ["GetParameter", "PutParameter"])


if __name__ == "__main__":
    unittest.main()
