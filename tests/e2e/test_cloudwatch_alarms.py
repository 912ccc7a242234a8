"""CloudWatch alarms with the real clients: an alarm on a metric fed by put-metric-data goes to
ALARM, records its history and sends its state-change event (seen through an EventBridge rule that
targets a log group); composite alarms, SetAlarmState, validation errors and tags."""
import json
import time
import uuid

from harness import GantryTestCase, wait_for

REGION = "us-east-1"
ACCOUNT = "000000000000"


class AlarmsTest(GantryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cw = cls.gantry.boto3("cloudwatch")
        cls.logs = cls.gantry.boto3("logs")
        cls.events = cls.gantry.boto3("events")

    def watch_alarm_events(self, group):
        self.logs.create_log_group(logGroupName=group)
        rule = "alarms-" + uuid.uuid4().hex[:8]
        self.events.put_rule(Name=rule, EventPattern=json.dumps(
            {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}))
        self.events.put_targets(Rule=rule, Targets=[
            {"Id": "log", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"}])

    def logged_events(self, group):
        out = []
        for stream in self.logs.describe_log_streams(logGroupName=group)["logStreams"]:
            for e in self.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                              startFromHead=True)["events"]:
                out.append(json.loads(e["message"]))
        return out

    def test_alarm_on_put_metric_data_goes_to_alarm_and_emits_its_event(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                namespace = "E2E/" + name
                alarm = "high-errors-" + name
                group = "/alarms/" + name
                self.watch_alarm_events(group)
                self.gantry.aws(cli, "cloudwatch", "put-metric-alarm", "--alarm-name", alarm,
                                "--namespace", namespace, "--metric-name", "Errors", "--statistic", "Maximum",
                                "--period", "60", "--evaluation-periods", "1", "--threshold", "5",
                                "--comparison-operator", "GreaterThanThreshold",
                                "--alarm-actions", f"arn:aws:sns:{REGION}:{ACCOUNT}:ops")
                described = self.gantry.aws(cli, "cloudwatch", "describe-alarms", "--alarm-names", alarm)
                self.assertEqual(described["MetricAlarms"][0]["StateValue"], "INSUFFICIENT_DATA")
                self.gantry.aws(cli, "cloudwatch", "put-metric-data", "--namespace", namespace,
                                "--metric-name", "Errors", "--value", "42")

                def in_alarm():
                    a = self.gantry.aws(cli, "cloudwatch", "describe-alarms", "--alarm-names", alarm)
                    return a["MetricAlarms"][0]["StateValue"] == "ALARM" and a["MetricAlarms"][0]
                state = wait_for(in_alarm, timeout=90, what="alarm in ALARM")
                self.assertIn("greater than the threshold (5.0)", state["StateReason"])

                history = self.gantry.aws(cli, "cloudwatch", "describe-alarm-history", "--alarm-name", alarm,
                                          "--history-item-type", "StateUpdate")["AlarmHistoryItems"]
                self.assertEqual(history[0]["HistorySummary"], "Alarm updated from INSUFFICIENT_DATA to ALARM")
                actions = self.gantry.aws(cli, "cloudwatch", "describe-alarm-history", "--alarm-name", alarm,
                                          "--history-item-type", "Action")["AlarmHistoryItems"]
                self.assertTrue(actions[0]["HistorySummary"].startswith(
                    f"Failed to execute action arn:aws:sns:{REGION}:{ACCOUNT}:ops"))

                events = wait_for(lambda: [e for e in self.logged_events(group)
                                           if e["detail"]["alarmName"] == alarm], what="alarm event in the log group")
                event = events[0]
                self.assertEqual(event["source"], "aws.cloudwatch")
                self.assertEqual(event["detail-type"], "CloudWatch Alarm State Change")
                self.assertEqual(event["resources"], [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"])
                self.assertEqual(event["detail"]["state"]["value"], "ALARM")
                self.assertEqual(event["detail"]["previousState"]["value"], "INSUFFICIENT_DATA")
                self.assertEqual(event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["name"],
                                 "Errors")

    def test_boto3_composite_alarm_and_set_alarm_state(self):
        for child in ("disk", "cpu"):
            self.cw.put_metric_alarm(AlarmName=child, Namespace="Host", MetricName=child, Statistic="Average",
                                     Period=60, EvaluationPeriods=1, Threshold=90,
                                     ComparisonOperator="GreaterThanOrEqualToThreshold")
        self.cw.put_composite_alarm(AlarmName="host-down", AlarmRule="ALARM(disk) AND ALARM(cpu)")
        for child in ("disk", "cpu"):
            self.cw.set_alarm_state(AlarmName=child, StateValue="ALARM", StateReason="test")
        composite = self.cw.describe_alarms(AlarmNames=["host-down"], AlarmTypes=["CompositeAlarm"])
        self.assertEqual(composite["CompositeAlarms"][0]["StateValue"], "ALARM")
        parents = self.cw.describe_alarms(ParentsOfAlarmName="disk")["CompositeAlarms"]
        self.assertEqual([p["AlarmName"] for p in parents], ["host-down"])

        with self.assertRaises(self.cw.exceptions.ClientError) as caught:
            self.cw.delete_alarms(AlarmNames=["disk"])
        self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationError")
        with self.assertRaises(self.cw.exceptions.ClientError) as caught:
            self.cw.put_composite_alarm(AlarmName="bad", AlarmRule="ALARM(disk) AND")
        self.assertEqual(caught.exception.response["Error"]["Message"],
                         "Invalid AlarmRule: unexpected end of rule at position 16.")
        self.cw.delete_alarms(AlarmNames=["host-down", "disk", "cpu"])
        self.assertEqual(self.cw.describe_alarms(AlarmNamePrefix="disk")["MetricAlarms"], [])

    def test_cli_errors_and_tags(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                code, _, err = self.gantry.aws(cli, "cloudwatch", "put-metric-alarm", "--alarm-name", "bad",
                                               "--namespace", "N", "--metric-name", "M", "--statistic", "Sum",
                                               "--period", "60", "--evaluation-periods", "1", "--threshold", "1",
                                               "--comparison-operator", "GreaterThanThreshold",
                                               "--alarm-actions", "arn:aws:s3:::bucket", check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (ValidationError) when calling the PutMetricAlarm operation: "
                              "Invalid alarm action: arn:aws:s3:::bucket", err)
                alarm = "tagged-" + name
                self.gantry.aws(cli, "cloudwatch", "put-metric-alarm", "--alarm-name", alarm,
                                "--namespace", "N", "--metric-name", "M", "--statistic", "Sum",
                                "--period", "60", "--evaluation-periods", "1", "--threshold", "1",
                                "--comparison-operator", "GreaterThanThreshold",
                                "--tags", "Key=team,Value=ops")
                arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"
                tags = self.gantry.aws(cli, "cloudwatch", "list-tags-for-resource", "--resource-arn", arn)
                self.assertEqual(tags["Tags"], [{"Key": "team", "Value": "ops"}])
