"""CodeBuild through both CLIs and boto3: projects (create, get, list, update, delete, errors),
repository locations other than clone URLs and option-like source versions refused, builds that
really run (NO_SOURCE inline buildspecs and S3 zip sources) with every phase, failure rules,
finally, on-failure, exported variables, secrets (multi-line ones too) and the role's secret key
and session token masked in the CloudWatch Logs stream and the S3 log, the service role's denials,
the aws CLI (v1 and v2) reaching Gantry from inside a build, a debug session recorded but not
started (Gantry has no Session Manager), zipped artifacts in S3, StopBuild, the
queue, timeouts, EventBridge events, the AWS/CodeBuild CloudWatch metrics, a build directory other users can write refused, and a build in
flight when the server is killed with -9 (it ends FAULT with a reason after the restart)."""
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid
import zipfile

from harness import AWS_V2, Gantry, GantryTestCase, wait_for

ACCOUNT = "000000000000"
REGION = "us-east-1"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
IMAGE = "aws/codebuild/standard:7.0"
ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": IMAGE, "computeType": "BUILD_GENERAL1_SMALL"}
PHASES = ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD",
          "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]


def make_role(gantry, name, actions=("*",)):
    """A service role CodeBuild may assume, allowed `actions` on everything."""
    iam = gantry.boto3("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="build", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}))
    return arn


def buildspec(phases, **top):
    """A buildspec 0.2 as YAML text (JSON is YAML) from a dict of phases and top-level keys."""
    return json.dumps(dict({"version": 0.2, "phases": phases}, **top))


class CodeBuildCase(GantryTestCase):
    """A server with a CodeBuild service role (named role_name) and the clients the tests use."""

    role_name = "codebuild-e2e"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.role = make_role(cls.gantry, cls.role_name)
        cls.codebuild = cls.gantry.boto3("codebuild")
        cls.logs = cls.gantry.boto3("logs")
        cls.s3 = cls.gantry.boto3("s3")

    def project(self, name, spec=None, **extra):
        params = {"name": name, "source": {"type": "NO_SOURCE", "buildspec": spec or buildspec({})},
                  "artifacts": {"type": "NO_ARTIFACTS"}, "environment": ENVIRONMENT, "serviceRole": self.role}
        params.update(extra)
        return self.codebuild.create_project(**params)["project"]

    def run_build(self, project, timeout=90, **overrides):
        build_id = self.codebuild.start_build(projectName=project, **overrides)["build"]["id"]
        return self.wait_build(build_id, timeout)

    def wait_build(self, build_id, timeout=90):
        return wait_for(lambda: next((b for b in self.codebuild.batch_get_builds(ids=[build_id])["builds"]
                                      if b["buildComplete"]), None), timeout, f"build {build_id} to complete")

    def run_build_cli(self, cli, project, *start_args, timeout=90):
        """A build through one aws CLI: start-build, then batch-get-builds until it is complete."""
        build_id = self.gantry.aws(cli, "codebuild", "start-build", "--project-name", project,
                                   *start_args)["build"]["id"]
        return wait_for(lambda: next((b for b in self.gantry.aws(cli, "codebuild", "batch-get-builds", "--ids",
                                                                  build_id)["builds"] if b["buildComplete"]), None),
                        timeout, f"build {build_id} to complete")

    def phase(self, build, phase_type):
        return next(p for p in build["phases"] if p["phaseType"] == phase_type)

    def log_lines(self, build):
        logs = build["logs"]
        events = self.logs.get_log_events(logGroupName=logs["groupName"], logStreamName=logs["streamName"],
                                          startFromHead=True)["events"]
        return [e["message"] for e in events]


class ProjectsTest(CodeBuildCase):
    def test_project_round_trip(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                project = f"round-trip-{name}"
                source = json.dumps({"type": "NO_SOURCE", "buildspec": buildspec({"build": {"commands": ["true"]}})})
                created = self.gantry.aws(cli, "codebuild", "create-project", "--name", project, "--source", source,
                                          "--artifacts", "type=NO_ARTIFACTS", "--environment",
                                          f"type=LINUX_CONTAINER,image={IMAGE},computeType=BUILD_GENERAL1_SMALL",
                                          "--service-role", self.role)["project"]
                self.assertEqual(created["arn"], f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{project}")
                self.assertEqual(created["timeoutInMinutes"], 60)
                self.assertEqual(created["queuedTimeoutInMinutes"], 480)
                self.assertEqual(created["logsConfig"]["cloudWatchLogs"]["status"], "ENABLED")
                got = self.gantry.aws(cli, "codebuild", "batch-get-projects", "--names", project, "missing-one")
                self.assertEqual([p["name"] for p in got["projects"]], [project])
                self.assertEqual(got["projectsNotFound"], ["missing-one"])
                self.assertIn(project, self.gantry.aws(cli, "codebuild", "list-projects")["projects"])
                updated = self.gantry.aws(cli, "codebuild", "update-project", "--name", project, "--description",
                                          "updated", "--timeout-in-minutes", "30")["project"]
                self.assertEqual((updated["description"], updated["timeoutInMinutes"]), ("updated", 30))
                self.assertEqual(updated["source"]["type"], "NO_SOURCE")
                self.gantry.aws(cli, "codebuild", "delete-project", "--name", project)
                gone = self.gantry.aws(cli, "codebuild", "batch-get-projects", "--names", project)
                self.assertEqual((gone["projects"], gone["projectsNotFound"]), ([], [project]))

    def test_error_lines(self):
        self.project("dup")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                code, _, err = self.gantry.aws(
                    cli, "codebuild", "create-project", "--name", "dup", "--source", "type=NO_SOURCE,buildspec=x",
                    "--artifacts", "type=NO_ARTIFACTS", "--environment",
                    f"type=LINUX_CONTAINER,image={IMAGE},computeType=BUILD_GENERAL1_SMALL", "--service-role",
                    self.role, check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (ResourceAlreadyExistsException) when calling the CreateProject "
                              f"operation: Project already exists: arn:aws:codebuild:{REGION}:{ACCOUNT}:project/dup",
                              err)
                code, _, err = self.gantry.aws(cli, "codebuild", "start-build", "--project-name", "nope", check=False)
                self.assertIn("An error occurred (ResourceNotFoundException) when calling the StartBuild operation: "
                              f"Project cannot be found: arn:aws:codebuild:{REGION}:{ACCOUNT}:project/nope", err)
                code, _, err = self.gantry.aws(
                    cli, "codebuild", "create-project", "--name", f"no-spec-{name}", "--source", "type=NO_SOURCE",
                    "--artifacts", "type=NO_ARTIFACTS", "--environment",
                    f"type=LINUX_CONTAINER,image={IMAGE},computeType=BUILD_GENERAL1_SMALL", "--service-role",
                    self.role, check=False)
                self.assertIn("An error occurred (InvalidInputException) when calling the CreateProject operation: "
                              "Invalid input: buildspec must be specified for a NO_SOURCE source type", err)
                code, _, err = self.gantry.aws(cli, "codebuild", "stop-build", "--id", "not-a-build-id", check=False)
                self.assertIn("An error occurred (InvalidInputException) when calling the StopBuild operation: "
                              "Invalid build ID provided", err)

    def test_repository_sources_are_clone_urls(self):
        """A repository source is fetched from its HTTPS clone URL only: never a path or file:// URL on
        Gantry's host, and its version is never a git option."""
        self.project("cloned", source={"type": "GITHUB", "location": "https://github.com/o/r.git"})
        environment = f"type=LINUX_CONTAINER,image={IMAGE},computeType=BUILD_GENERAL1_SMALL"
        for name, cli in self.clis():
            with self.subTest(cli=name):
                location = os.path.join(self.gantry.state_dir, "codecommit", "repos", "x.git")
                for given in (location, "file://" + location):
                    code, _, err = self.gantry.aws(
                        cli, "codebuild", "create-project", "--name", f"local-{name}", "--source",
                        json.dumps({"type": "CODECOMMIT", "location": given}), "--artifacts", "type=NO_ARTIFACTS",
                        "--environment", environment, "--service-role", self.role, check=False)
                    self.assertNotEqual(code, 0)
                    self.assertIn("An error occurred (InvalidInputException) when calling the CreateProject "
                                  f"operation: Invalid source location: {given}. The location of a CODECOMMIT source "
                                  "is the repository's HTTPS clone URL, for example "
                                  "https://git-codecommit.<region>.amazonaws.com/v1/repos/<repository>.", err)
                # (The CLIs read a file:// parameter as a file's content: a path is given here.)
                code, _, err = self.gantry.aws(cli, "codebuild", "start-build", "--project-name", "cloned",
                                               "--source-location-override", location, check=False)
                self.assertIn("An error occurred (InvalidInputException) when calling the StartBuild operation: "
                              f"Invalid source location: {location}. The location of a GITHUB source", err)
                code, _, err = self.gantry.aws(cli, "codebuild", "start-build", "--project-name", "cloned",
                                               "--source-version=--upload-pack=touch /tmp/owned", check=False)
                self.assertIn("An error occurred (InvalidInputException) when calling the StartBuild operation: "
                              "Invalid source version: --upload-pack=touch /tmp/owned. The source version of a GITHUB "
                              "source is a branch, tag, commit ID or pull request (pr/<number>), which cannot start "
                              "with '-'.", err)
        self.assertEqual(self.codebuild.list_builds_for_project(projectName="cloned")["ids"], [])

    def test_service_role_checks(self):
        iam = self.gantry.boto3("iam")
        iam.create_role(RoleName="not-for-codebuild", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
        untrusted = f"arn:aws:iam::{ACCOUNT}:role/not-for-codebuild"
        with self.assertRaises(self.codebuild.exceptions.InvalidInputException) as raised:
            self.project("untrusted-role", serviceRole=untrusted)
        self.assertEqual(raised.exception.response["Error"]["Message"],
                         f"CodeBuild is not authorized to perform: sts:AssumeRole on {untrusted}")
        # A user may hand CodeBuild only the roles iam:PassRole allows.
        iam.create_user(UserName="builder")
        iam.put_user_policy(UserName="builder", PolicyName="codebuild", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codebuild:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="builder")["AccessKey"]
        as_user = self.gantry.boto3("codebuild", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        params = {"name": "passed-role", "source": {"type": "NO_SOURCE", "buildspec": buildspec({})},
                  "artifacts": {"type": "NO_ARTIFACTS"}, "environment": ENVIRONMENT, "serviceRole": self.role}
        with self.assertRaises(Exception) as denied:
            as_user.create_project(**params)
        self.assertEqual(denied.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertIn("is not authorized to perform: iam:PassRole on resource: " + self.role,
                      denied.exception.response["Error"]["Message"])
        iam.put_user_policy(UserName="builder", PolicyName="pass", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": self.role,
                                                    "Condition": {"StringEquals": {
                                                        "iam:PassedToService": "codebuild.amazonaws.com"}}}]}))
        self.assertEqual(as_user.create_project(**params)["project"]["serviceRole"], self.role)


class BuildsTest(CodeBuildCase):
    def test_inline_build_phases_variables_and_logs(self):
        spec = buildspec({
            "install": {"commands": ["echo installing"]},
            "build": {"commands": ["echo \"id=$CODEBUILD_BUILD_ID number=$CODEBUILD_BUILD_NUMBER\"",
                                   "echo \"region=$AWS_REGION initiator=$CODEBUILD_INITIATOR from=$FROM\"",
                                   "cd sub 2>/dev/null || mkdir sub && cd sub",
                                   "export TAG=v-$CODEBUILD_BUILD_NUMBER"]},
            "post_build": {"commands": ["echo \"still in $(basename $PWD)\""]},
        }, env={"variables": {"FROM": "buildspec"}, "exported-variables": ["TAG"]})
        self.project("inline", spec, environment=dict(ENVIRONMENT, environmentVariables=[
            {"name": "FROM", "value": "project"}]))
        build = self.run_build("inline")
        self.assertEqual(build["buildStatus"], "SUCCEEDED")
        self.assertEqual([p["phaseType"] for p in build["phases"]], PHASES)
        for p in build["phases"][:-1]:
            self.assertEqual(p["phaseStatus"], "SUCCEEDED", p)
            self.assertIn("durationInSeconds", p)
            self.assertLessEqual(p["startTime"], p["endTime"])
        self.assertEqual(build["buildNumber"], 1)
        self.assertEqual(build["exportedEnvironmentVariables"], [{"name": "TAG", "value": "v-1"}])
        uuid_part = build["id"].split(":", 1)[1]
        self.assertEqual(build["logs"]["groupName"], "/aws/codebuild/inline")
        self.assertEqual(build["logs"]["streamName"], uuid_part)
        lines = self.log_lines(build)
        self.assertIn(f"id={build['id']} number=1", lines)
        self.assertIn("region=us-east-1 initiator=root from=project", lines)  # project beats buildspec
        self.assertIn("still in sub", lines)
        for name, cli in self.clis():
            with self.subTest(cli=name):
                got = self.gantry.aws(cli, "codebuild", "batch-get-builds", "--ids", build["id"])["builds"][0]
                self.assertEqual([p["phaseType"] for p in got["phases"]], PHASES)
                self.assertEqual(got["currentPhase"], "COMPLETED")
                self.assertIn(build["id"], self.gantry.aws(cli, "codebuild", "list-builds-for-project",
                                                           "--project-name", "inline")["ids"])
                events = self.gantry.aws(cli, "logs", "get-log-events", "--log-group-name", "/aws/codebuild/inline",
                                         "--log-stream-name", uuid_part, "--start-from-head")["events"]
                self.assertIn("still in sub", [e["message"] for e in events])

    def test_builds_publish_cloudwatch_metrics(self):
        import datetime
        self.project("measured", buildspec({"build": {"commands": ["true"]}}))
        build = self.run_build("measured")
        self.assertEqual(build["buildStatus"], "SUCCEEDED")
        cloudwatch = self.gantry.boto3("cloudwatch")
        now = datetime.datetime.now(datetime.timezone.utc)
        window = {"StartTime": now - datetime.timedelta(minutes=10), "EndTime": now + datetime.timedelta(minutes=1),
                  "Period": 60}

        def total(metric, dimensions, statistic="Sum"):
            points = cloudwatch.get_metric_statistics(Namespace="AWS/CodeBuild", MetricName=metric,
                                                      Dimensions=dimensions, Statistics=[statistic], **window)
            return sum(p[statistic] for p in points["Datapoints"])

        project = [{"Name": "ProjectName", "Value": "measured"}]
        # The end's metrics are published just after the build is stored complete.
        wait_for(lambda: total("SucceededBuilds", project) == 1, 30, "SucceededBuilds")
        self.assertEqual(total("Builds", project), 1)
        self.assertEqual(total("FailedBuilds", project), 0)
        self.assertGreaterEqual(total("SucceededBuilds", []), 1)  # the account-level series
        per_build = [{"Name": "BuildId", "Value": build["id"]}, {"Name": "BuildNumber", "Value": "1"}] + project
        self.assertEqual(total("SucceededBuilds", per_build), 1)
        self.assertGreaterEqual(total("Duration", project, "Maximum"), total("BuildDuration", project, "Maximum"))
        names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="AWS/CodeBuild", Dimensions=project)["Metrics"]}
        self.assertLessEqual({"Builds", "SucceededBuilds", "FailedBuilds", "Duration", "QueuedDuration",
                              "InstallDuration", "BuildDuration", "PostBuildDuration", "FinalizingDuration"}, names)
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/CodeBuild",
                                      "--metric-name", "SucceededBuilds", "--dimensions", "Name=ProjectName,Value=measured",
                                      "--statistics", "Sum", "--period", "60",
                                      "--start-time", window["StartTime"].isoformat(),
                                      "--end-time", window["EndTime"].isoformat())
                self.assertEqual(sum(p["Sum"] for p in out["Datapoints"]), 1)
        # Gantry's own view of the requests, for Prometheus.
        status, _, body = self.gantry.raw("GET", "/_gantry/metrics")
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertRegex(text, r'gantry_aws_requests_total\{service="codebuild",operation="StartBuild",'
                               r'status_class="2xx",caller="client"\} [1-9]')
        self.assertRegex(text, r'gantry_aws_requests_total\{service="cloudwatch",operation="PutMetricData",'
                               r'status_class="2xx",caller="service"\} [1-9]')
        self.assertRegex(text, r'gantry_aws_request_duration_seconds_count\{service="codebuild"\} [1-9]')

    def test_failure_rules_finally_and_on_failure(self):
        spec = buildspec({
            "pre_build": {"on-failure": "CONTINUE", "commands": ["echo pre", "false", "echo skipped-rest-of-pre"]},
            "build": {"commands": ["echo building", "exit 3", "echo never"], "finally": ["echo finally-ran"]},
            "post_build": {"commands": ["echo succeeding=$CODEBUILD_BUILD_SUCCEEDING"]},
        })
        self.project("failing", spec)
        build = self.run_build("failing")
        self.assertEqual(build["buildStatus"], "FAILED")
        statuses = {p["phaseType"]: p.get("phaseStatus") for p in build["phases"]}
        self.assertEqual(statuses["PRE_BUILD"], "FAILED")
        self.assertEqual(statuses["BUILD"], "FAILED")
        self.assertEqual(statuses["POST_BUILD"], "SUCCEEDED")
        self.assertEqual(self.phase(build, "BUILD")["contexts"][0]["statusCode"], "COMMAND_EXECUTION_ERROR")
        lines = self.log_lines(build)
        self.assertIn("building", lines)
        self.assertIn("finally-ran", lines)
        self.assertIn("succeeding=0", lines)
        self.assertNotIn("never", lines)
        self.assertNotIn("skipped-rest-of-pre", lines)

        self.project("install-fails", buildspec({"install": {"commands": ["false"]},
                                                 "build": {"commands": ["echo not-reached"]}}))
        build = self.run_build("install-fails")
        self.assertEqual(build["buildStatus"], "FAILED")
        self.assertEqual([p["phaseType"] for p in build["phases"]],
                         ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "FINALIZING",
                          "COMPLETED"])

    def test_secrets_are_masked_in_the_log_stream(self):
        secret = "s3cr3t-" + uuid.uuid4().hex[:8]
        parameter = "p4ram-" + uuid.uuid4().hex[:8]
        # A multi-line secret (a PEM key): none of its lines may be seen, whole or alone.
        pem = "\n".join(["-----BEGIN PRIVATE KEY-----"] + [uuid.uuid4().hex + uuid.uuid4().hex for _ in range(3)]
                        + ["-----END PRIVATE KEY-----"])
        self.gantry.boto3("secretsmanager").create_secret(Name="build/db",
                                                          SecretString=json.dumps({"password": secret}))
        self.gantry.boto3("secretsmanager").create_secret(Name="build/key", SecretString=pem)
        self.gantry.boto3("ssm").put_parameter(Name="/build/token", Value=parameter, Type="SecureString")
        spec = buildspec({"build": {"commands": ["echo \"pw=$PW\"", "echo \"token=$TOKEN\"", "echo plain=$PLAIN",
                                                 "echo \"$KEY\"", "echo key-printed"]}},
                         env={"secrets-manager": {"PW": "build/db:password", "KEY": "build/key"},
                              "parameter-store": {"TOKEN": "/build/token"}, "variables": {"PLAIN": "visible"}})
        self.project("secrets", spec)
        build = self.run_build("secrets")
        self.assertEqual(build["buildStatus"], "SUCCEEDED")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                events = self.gantry.aws(cli, "logs", "get-log-events", "--log-group-name", build["logs"]["groupName"],
                                         "--log-stream-name", build["logs"]["streamName"],
                                         "--start-from-head")["events"]
                messages = [e["message"] for e in events]
                self.assertIn("pw=***", messages)
                self.assertIn("token=***", messages)
                self.assertIn("plain=visible", messages)
                self.assertIn("key-printed", messages)
                self.assertFalse(any(secret in m or parameter in m for m in messages))
                for line in pem.split("\n"):
                    self.assertFalse([m for m in messages if line in m], f"{line!r} is in the log")

    def test_role_credentials_are_masked_in_the_logs(self):
        """`env` in a build shows the role's access key id, never its secret key or session token, in
        CloudWatch Logs and in the S3 log."""
        self.s3.create_bucket(Bucket="cb-credentials")
        self.project("printenv", buildspec({"build": {"commands": [
            "env",
            "printenv AWS_ACCESS_KEY_ID > id.txt && printenv AWS_SECRET_ACCESS_KEY > key.txt && "
            "printenv AWS_SESSION_TOKEN > token.txt",
            "for f in id key token; do aws s3 cp $f.txt s3://cb-credentials/$f.txt; done"]}}),
            logsConfig={"s3Logs": {"status": "ENABLED", "location": "cb-credentials/logs"}})
        build = self.run_build("printenv")
        self.assertEqual(build["buildStatus"], "SUCCEEDED", self.log_lines(build))

        def stored(name):
            return self.s3.get_object(Bucket="cb-credentials", Key=name)["Body"].read().decode().strip()

        key_id, key, token = stored("id.txt"), stored("key.txt"), stored("token.txt")
        self.assertTrue(key_id.startswith("ASIA") and key and token, (key_id, key, token))
        uuid_part = build["id"].split(":", 1)[1]
        s3_log = gzip.decompress(self.s3.get_object(Bucket="cb-credentials",
                                                    Key=f"logs/{uuid_part}.gz")["Body"].read()).decode()
        for name, messages in [("CloudWatch Logs", self.log_lines(build)), ("the S3 log", s3_log.split("\n"))]:
            with self.subTest(log=name):
                self.assertIn(f"AWS_ACCESS_KEY_ID={key_id}", messages)
                self.assertIn("AWS_SECRET_ACCESS_KEY=***", messages)
                self.assertIn("AWS_SESSION_TOKEN=***", messages)
                self.assertFalse([m for m in messages if key in m or token in m])

    def test_s3_zip_source_and_zipped_artifacts(self):
        self.s3.create_bucket(Bucket="cb-in")
        self.s3.create_bucket(Bucket="cb-out")
        source = io.BytesIO()
        with zipfile.ZipFile(source, "w") as z:
            z.writestr("buildspec.yml", buildspec(
                {"build": {"commands": ["mkdir -p dist", "cp app.txt dist/", "echo built > dist/status.txt"]}},
                artifacts={"files": ["**/*"], "base-directory": "dist"}))
            z.writestr("app.txt", "the application\n")
        self.s3.put_object(Bucket="cb-in", Key="src/app.zip", Body=source.getvalue())
        self.project("zipped", source={"type": "S3", "location": "cb-in/src/app.zip"},
                     artifacts={"type": "S3", "location": "cb-out", "path": "builds", "namespaceType": "BUILD_ID",
                                "name": "app.zip", "packaging": "ZIP"})
        build = self.run_build("zipped")
        self.assertEqual(build["buildStatus"], "SUCCEEDED", json.dumps(build["phases"], default=str))
        uuid_part = build["id"].split(":", 1)[1]
        key = f"builds/{uuid_part}/app.zip"
        self.assertEqual(build["artifacts"]["location"], f"arn:aws:s3:::cb-out/{key}")
        body = self.s3.get_object(Bucket="cb-out", Key=key)["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            self.assertEqual(sorted(z.namelist()), ["app.txt", "status.txt"])
            self.assertEqual(z.read("app.txt"), b"the application\n")
        self.assertEqual(build["artifacts"]["md5sum"], hashlib.md5(body).hexdigest())
        self.assertEqual(build["artifacts"]["sha256sum"], hashlib.sha256(body).hexdigest())
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = os.path.join(self.gantry.state_dir, f"{name}-artifact.zip")
                code, _, err = self.gantry.aws(cli, "s3", "cp", f"s3://cb-out/{key}", out, check=False)
                self.assertEqual(code, 0, err)
                with zipfile.ZipFile(out) as z:
                    self.assertEqual(z.read("status.txt"), b"built\n")
                os.unlink(out)

    def test_secondary_artifacts_and_s3_logs(self):
        self.s3.create_bucket(Bucket="cb-more")
        spec = buildspec({"build": {"commands": ["mkdir -p out docs", "echo main > out/main.txt",
                                                 "echo guide > docs/guide.md", "echo logged-line"]}},
                         artifacts={"files": ["out/main.txt"], "discard-paths": "yes",
                                    "secondary-artifacts": {"docs": {"files": ["docs/**/*"]}}})
        self.project("more-outputs", spec,
                     artifacts={"type": "S3", "location": "cb-more", "name": "main", "packaging": "NONE"},
                     secondaryArtifacts=[{"type": "S3", "location": "cb-more", "path": "extra", "name": "docs",
                                          "artifactIdentifier": "docs", "packaging": "NONE"}],
                     logsConfig={"cloudWatchLogs": {"status": "DISABLED"},
                                 "s3Logs": {"status": "ENABLED", "location": "cb-more/build-logs"}})
        build = self.run_build("more-outputs")
        self.assertEqual(build["buildStatus"], "SUCCEEDED", json.dumps(build["phases"], default=str))
        self.assertEqual(self.s3.get_object(Bucket="cb-more", Key="main/main.txt")["Body"].read(), b"main\n")
        self.assertEqual(self.s3.get_object(Bucket="cb-more", Key="extra/docs/docs/guide.md")["Body"].read(),
                         b"guide\n")
        self.assertEqual(build["secondaryArtifacts"][0]["artifactIdentifier"], "docs")
        self.assertEqual(build["secondaryArtifacts"][0]["location"], "arn:aws:s3:::cb-more/extra/docs")
        # CloudWatch Logs off: no stream; the whole log is gzipped in S3.
        self.assertNotIn("groupName", build["logs"])
        uuid_part = build["id"].split(":", 1)[1]
        self.assertEqual(build["logs"]["s3LogsArn"], f"arn:aws:s3:::cb-more/build-logs/{uuid_part}.gz")
        log = gzip.decompress(self.s3.get_object(Bucket="cb-more", Key=f"build-logs/{uuid_part}.gz")["Body"].read())
        self.assertIn(b"\nlogged-line\n", log)

    def test_codecommit_source_cloned_as_the_role(self):
        self.gantry.boto3("codecommit").create_repository(repositoryName="built-repo")
        home = os.path.join(self.gantry.state_dir, "git-home")
        os.makedirs(home)
        env = dict(self.gantry.cli_env(), HOME=home, GIT_CONFIG_GLOBAL=os.path.join(home, ".gitconfig"),
                   GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")
        cli = AWS_V2 if os.path.exists(AWS_V2) else self.clis()[0][1]

        def git(*args):
            subprocess.run(["git"] + list(args), cwd=home, env=env, check=True, capture_output=True)

        git("config", "--global", "credential.helper", f"!{cli} codecommit credential-helper --ignore-host-check $@")
        git("config", "--global", "credential.UseHttpPath", "true")
        git("init", "-q", "-b", "main", "work")
        with open(os.path.join(home, "work", "app.txt"), "w") as f:
            f.write("from codecommit\n")
        git("-C", "work", "add", "app.txt")
        git("-C", "work", "-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-qm", "first")
        git("-C", "work", "push", "-q", f"{self.gantry.endpoint}/v1/repos/built-repo", "main")
        commit = subprocess.run(["git", "-C", "work", "rev-parse", "HEAD"], cwd=home, env=env, capture_output=True,
                                text=True, check=True).stdout.strip()
        # AWS's clone URL: Gantry serves it, and the build authenticates as its service role.
        self.project("from-codecommit", source={
            "type": "CODECOMMIT", "location": f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/built-repo",
            "buildspec": buildspec({"build": {"commands": ["cat app.txt",
                                                           "echo resolved=$CODEBUILD_RESOLVED_SOURCE_VERSION"]}})})
        build = self.run_build("from-codecommit", sourceVersion="main")
        self.assertEqual(build["buildStatus"], "SUCCEEDED", json.dumps(build["phases"], default=str))
        self.assertEqual(build["resolvedSourceVersion"], commit)
        lines = self.log_lines(build)
        self.assertIn("from codecommit", lines)
        self.assertIn(f"resolved={commit}", lines)

        # A role without codecommit:GitPull cannot fetch it.
        no_pull = make_role(self.gantry, "codebuild-no-git", actions=["logs:*"])
        self.codebuild.update_project(name="from-codecommit", serviceRole=no_pull)
        build = self.run_build("from-codecommit")
        download = self.phase(build, "DOWNLOAD_SOURCE")
        self.assertEqual(download["phaseStatus"], "FAILED")
        self.assertEqual(download["contexts"][0]["statusCode"], "CLIENT_ERROR")
        self.assertIn("git clone failed", download["contexts"][0]["message"])

    def test_service_role_denial_fails_download_source(self):
        self.s3.create_bucket(Bucket="cb-denied")
        self.s3.put_object(Bucket="cb-denied", Key="src.zip", Body=b"not read")
        narrow = make_role(self.gantry, "codebuild-no-s3", actions=["logs:*"])
        self.project("denied", source={"type": "S3", "location": "cb-denied/src.zip"}, serviceRole=narrow)
        build = self.run_build("denied")
        self.assertEqual(build["buildStatus"], "FAILED")
        download = self.phase(build, "DOWNLOAD_SOURCE")
        self.assertEqual(download["phaseStatus"], "FAILED")
        context = download["contexts"][0]
        self.assertEqual(context["statusCode"], "CLIENT_ERROR")
        session = f"arn:aws:sts::{ACCOUNT}:assumed-role/codebuild-no-s3/AWSCodeBuild-{build['id'].split(':', 1)[1]}"
        self.assertEqual(context["message"],
                         f"AccessDenied: User: {session} is not authorized to perform: s3:GetObject on resource: "
                         "\"arn:aws:s3:::cb-denied/src.zip\" because no identity-based policy allows the s3:GetObject "
                         "action for primary source and source version arn:aws:s3:::cb-denied/src.zip")

    def test_aws_cli_inside_a_build_reaches_gantry(self):
        self.s3.create_bucket(Bucket="cb-from-build")
        commands = ["echo one > one.txt", "aws s3 cp one.txt s3://cb-from-build/v1.txt",
                    "aws sts get-caller-identity --query Arn --output text"]
        if os.path.exists(AWS_V2):
            # The engine's `aws` comes first on PATH; behind it, the v2 CLI, which ignores AWS_ENDPOINT_URL.
            commands += ["export PATH=$(dirname $(command -v aws)):/usr/bin:/bin",
                         "aws --version", "aws s3 cp one.txt s3://cb-from-build/v2.txt"]
        self.project("cli-inside", buildspec({"build": {"commands": commands}}))
        build = self.run_build("cli-inside")
        self.assertEqual(build["buildStatus"], "SUCCEEDED", self.log_lines(build))
        self.assertEqual(self.s3.get_object(Bucket="cb-from-build", Key="v1.txt")["Body"].read(), b"one\n")
        lines = self.log_lines(build)
        self.assertIn(f"arn:aws:sts::{ACCOUNT}:assumed-role/codebuild-e2e/AWSCodeBuild-{build['id'].split(':', 1)[1]}",
                      lines)
        if os.path.exists(AWS_V2):
            self.assertTrue(any(line.startswith("aws-cli/2.") for line in lines), lines)
            self.assertEqual(self.s3.get_object(Bucket="cb-from-build", Key="v2.txt")["Body"].read(), b"one\n")

    def test_debug_session_is_recorded_but_not_started(self):
        """Gantry has no Session Manager: a build asked for a debug session records it as asked, says in
        its log that no session was started, and runs to its end."""
        self.project("debugged", buildspec({"build": {"commands": ["echo ran"]}}))
        for name, cli in self.clis():
            with self.subTest(cli=name):
                build = self.run_build_cli(cli, "debugged", "--debug-session-enabled")
                self.assertEqual(build["buildStatus"], "SUCCEEDED")
                self.assertEqual(build["debugSession"], {"sessionEnabled": True})
                lines = [line.rstrip("\n") for line in self.log_lines(build)]
                self.assertIn("ran", lines)
                self.assertTrue(any(line.endswith(
                    "Debug session not started: Gantry has no Session Manager, so the build runs without a session "
                    "to connect to") for line in lines), lines)
        plain = self.run_build("debugged", debugSessionEnabled=False)
        self.assertEqual(plain["debugSession"], {"sessionEnabled": False})
        self.assertFalse(any("Debug session" in line for line in self.log_lines(plain)))

    def test_stop_build_kills_the_process_tree(self):
        marker = "cb-stop-" + uuid.uuid4().hex[:8]
        self.project("stoppable", buildspec({"build": {"commands": [f"sh -c 'sleep 300; echo {marker}' &",
                                                                    f"sh -c 'sleep 301; echo {marker}'"]}}))
        build_id = self.codebuild.start_build(projectName="stoppable")["build"]["id"]
        wait_for(lambda: self.codebuild.batch_get_builds(ids=[build_id])["builds"][0]["currentPhase"] == "BUILD",
                 what="BUILD phase")
        wait_for(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0,
                 what="the build's processes")
        name, cli = self.clis()[0]
        stopped = self.gantry.aws(cli, "codebuild", "stop-build", "--id", build_id)["build"]
        self.assertEqual(stopped["id"], build_id)
        build = self.wait_build(build_id)
        self.assertEqual(build["buildStatus"], "STOPPED")
        self.assertEqual(self.phase(build, "BUILD")["phaseStatus"], "STOPPED")
        wait_for(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1,
                 what="the build's processes to end")

    def test_list_retry_and_delete_builds(self):
        self.project("listed", buildspec({"build": {"commands": ["true"]}}))
        first = self.run_build("listed")
        retried_id = self.codebuild.retry_build(id=first["id"])["build"]["id"]
        retried = self.wait_build(retried_id)
        self.assertEqual(retried["buildNumber"], 2)
        self.assertEqual(retried["source"], first["source"])
        for name, cli in self.clis():
            with self.subTest(cli=name):
                ids = self.gantry.aws(cli, "codebuild", "list-builds-for-project", "--project-name", "listed")["ids"]
                self.assertEqual(ids[:2], [retried_id, first["id"]])
                ascending = self.gantry.aws(cli, "codebuild", "list-builds-for-project", "--project-name", "listed",
                                            "--sort-order", "ASCENDING")["ids"]
                self.assertEqual(ascending[:2], [first["id"], retried_id])
                self.assertIn(retried_id, self.gantry.aws(cli, "codebuild", "list-builds")["ids"])
        deleted = self.codebuild.batch_delete_builds(ids=[first["id"]])
        self.assertEqual(deleted["buildsDeleted"], [first["id"]])
        self.assertEqual(self.codebuild.batch_get_builds(ids=[first["id"]])["buildsNotFound"], [first["id"]])

    def test_events_reach_an_eventbridge_rule(self):
        self.logs.create_log_group(logGroupName="/e2e/codebuild-events")
        events = self.gantry.boto3("events")
        events.put_rule(Name="codebuild-changes", EventPattern=json.dumps(
            {"source": ["aws.codebuild"], "detail": {"project-name": ["evented"]}}))
        events.put_targets(Rule="codebuild-changes", Targets=[
            {"Id": "logs", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/e2e/codebuild-events"}])
        self.project("evented", buildspec({"build": {"commands": ["true"]}}))
        build = self.run_build("evented")

        def delivered():
            found = self.logs.filter_log_events(logGroupName="/e2e/codebuild-events")["events"]
            parsed = [json.loads(e["message"]) for e in found]
            done = [e for e in parsed if e["detail-type"] == "CodeBuild Build State Change"
                    and e["detail"]["build-status"] == "SUCCEEDED"]
            return parsed if done else None

        received = wait_for(delivered, what="the events")
        state = [e for e in received if e["detail-type"] == "CodeBuild Build State Change"]
        self.assertEqual(sorted(e["detail"]["build-status"] for e in state), ["IN_PROGRESS", "SUCCEEDED"])
        final = next(e for e in state if e["detail"]["build-status"] == "SUCCEEDED")
        self.assertEqual(final["source"], "aws.codebuild")
        self.assertEqual(final["resources"], [build["arn"]])
        self.assertEqual(final["detail"]["build-id"], build["arn"])
        self.assertEqual(final["detail"]["current-phase"], "COMPLETED")
        self.assertEqual(final["detail"]["additional-information"]["build-complete"], True)
        completed = [e["detail"]["completed-phase"] for e in received
                     if e["detail-type"] == "CodeBuild Build Phase Change"]
        self.assertEqual(sorted(completed), sorted(PHASES[:-1]))
        build_phase = next(e for e in received if e["detail-type"] == "CodeBuild Build Phase Change"
                           and e["detail"]["completed-phase"] == "BUILD")
        self.assertEqual(build_phase["detail"]["completed-phase-status"], "SUCCEEDED")


class QueueTest(CodeBuildCase):
    extra_args = ("--concurrent-builds", "1")

    def test_builds_beyond_the_limit_wait_queued(self):
        self.project("slow", buildspec({"build": {"commands": ["sleep 300"]}}))
        first = self.codebuild.start_build(projectName="slow")["build"]["id"]
        second = self.codebuild.start_build(projectName="slow")["build"]["id"]
        wait_for(lambda: self.codebuild.batch_get_builds(ids=[first])["builds"][0]["currentPhase"] == "BUILD",
                 what="the first build to run")
        self.assertEqual(self.codebuild.batch_get_builds(ids=[second])["builds"][0]["currentPhase"], "QUEUED")
        for _ in range(3):
            self.codebuild.start_build(projectName="slow")
        with self.assertRaises(self.codebuild.exceptions.AccountLimitExceededException) as raised:
            for _ in range(3):
                self.codebuild.start_build(projectName="slow")
        self.assertEqual(raised.exception.response["Error"]["Message"],
                         "Cannot have more than 5 builds in queue for the account")
        self.codebuild.stop_build(id=first)
        wait_for(lambda: self.codebuild.batch_get_builds(ids=[second])["builds"][0]["currentPhase"] == "BUILD",
                 what="the second build to start")
        for build_id in self.codebuild.list_builds_for_project(projectName="slow")["ids"]:
            self.codebuild.stop_build(id=build_id)


class BuildDirectoryTest(unittest.TestCase):
    """The build directory in a shared TMPDIR: Gantry refuses one another user could write."""

    def test_a_build_directory_others_can_write_is_refused(self):
        tmp = tempfile.mkdtemp(prefix="gantry-e2e-tmp-")
        state = tempfile.mkdtemp(prefix="gantry-e2e-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.addCleanup(shutil.rmtree, state, True)
        root = os.path.join(tmp, "gantry-builds-" + hashlib.sha256(os.path.normpath(state).encode()).hexdigest()[:12])
        os.mkdir(root)
        os.chmod(root, 0o777)  # as somebody else's umask or chmod would leave it
        gantry = Gantry(state_dir=state)
        self.addCleanup(gantry.cleanup)
        old = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = tmp
        try:
            with self.assertRaises(RuntimeError) as raised:
                gantry.start()
        finally:
            if old is None:
                del os.environ["TMPDIR"]
            else:
                os.environ["TMPDIR"] = old
        self.assertIn(f"the build directory {root} is writable by other users (mode 0777), who could change builds "
                      "there; remove it or set TMPDIR to a directory of your own", str(raised.exception))
        # Once it is private, Gantry starts and builds there.
        os.chmod(root, 0o700)
        os.environ["TMPDIR"] = tmp
        try:
            gantry = Gantry(state_dir=state).start()
        finally:
            if old is None:
                del os.environ["TMPDIR"]
            else:
                os.environ["TMPDIR"] = old
        self.addCleanup(gantry.cleanup)
        self.assertEqual(os.stat(root).st_mode & 0o777, 0o700)


class TimeoutAndRestartTest(unittest.TestCase):
    """A server where a minute of timeoutInMinutes lasts one second (GANTRY_TEST_BUILD_MINUTE_SECONDS)."""

    def start(self, state_dir=None):
        os.environ["GANTRY_TEST_BUILD_MINUTE_SECONDS"] = "1"
        try:
            return Gantry(state_dir=state_dir).start()
        finally:
            del os.environ["GANTRY_TEST_BUILD_MINUTE_SECONDS"]

    def setUp(self):
        self.gantry = self.start()
        self.role = make_role(self.gantry, "codebuild-restart")
        self.codebuild = self.gantry.boto3("codebuild")

    def tearDown(self):
        self.gantry.cleanup()

    def create(self, name, commands, **extra):
        self.codebuild.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": buildspec(
            {"build": {"commands": commands}})}, artifacts={"type": "NO_ARTIFACTS"}, environment=ENVIRONMENT,
            serviceRole=self.role, **extra)

    def test_timeout_ends_the_build_timed_out(self):
        self.create("timing-out", ["sleep 120"], timeoutInMinutes=5)
        build_id = self.codebuild.start_build(projectName="timing-out")["build"]["id"]
        build = wait_for(lambda: next((b for b in self.codebuild.batch_get_builds(ids=[build_id])["builds"]
                                       if b["buildComplete"]), None), what="the timeout")
        self.assertEqual(build["buildStatus"], "TIMED_OUT")
        phase = next(p for p in build["phases"] if p["phaseType"] == "BUILD")
        self.assertEqual(phase["phaseStatus"], "TIMED_OUT")
        self.assertEqual(phase["contexts"][0]["statusCode"], "BUILD_TIMED_OUT")

    def test_kill_9_mid_build_then_restart(self):
        marker = "cb-restart-" + uuid.uuid4().hex[:8]
        self.create("in-flight", [f"sh -c 'sleep 299; echo {marker}'"])
        build_id = self.codebuild.start_build(projectName="in-flight")["build"]["id"]
        wait_for(lambda: self.codebuild.batch_get_builds(ids=[build_id])["builds"][0]["currentPhase"] == "BUILD",
                 what="BUILD phase")
        wait_for(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0,
                 what="the build's processes")
        killed = self.gantry
        killed.kill9()
        restarted = self.start(killed.state_dir)
        self.gantry = restarted
        self.addCleanup(killed.cleanup)  # after tearDown's: removes the shared state directory
        codebuild = restarted.boto3("codebuild")
        build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        self.assertEqual(build["buildStatus"], "FAULT")
        self.assertTrue(build["buildComplete"])
        self.assertEqual(build["currentPhase"], "COMPLETED")
        phase = next(p for p in build["phases"] if p["phaseType"] == "BUILD")
        self.assertEqual(phase["phaseStatus"], "FAULT")
        self.assertEqual(phase["contexts"][0]["statusCode"], "BUILD_INTERRUPTED")
        self.assertIn("was in BUILD", phase["contexts"][0]["message"])
        # What the dead server's build left running is gone.
        wait_for(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1,
                 what="the build's processes to end")
        for name, cli in [("cli-v2", AWS_V2)] if os.path.exists(AWS_V2) else []:
            got = restarted.aws(cli, "codebuild", "batch-get-builds", "--ids", build_id)["builds"][0]
            self.assertEqual(got["buildStatus"], "FAULT")


if __name__ == "__main__":
    unittest.main()
