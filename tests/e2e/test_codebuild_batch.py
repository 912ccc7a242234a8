"""CodeBuild batch builds through boto3 and both CLIs: a build-graph diamond runs in dependency order
(from the builds' own phase times; started and read through boto3 and each CLI), an entry's
debug-session recorded on its build (no session is started), build-list with ignore-failure, a
dynamic build-matrix, fast-fail stopping the rest, StopBuildBatch, RetryBuildBatch (failed builds
only), ListBuildBatchesForProject with its status filter and pages, DeleteBuildBatch, a project
without buildBatchConfig refused, a batch resuming after kill -9, and a pipeline CodeBuild action
with BatchEnabled (separate outputs and CombineArtifacts)."""
import datetime
import io
import json
import os
import unittest
import uuid
import zipfile

from harness import AWS_V1, AWS_V2, Gantry, GantryTestCase, wait_for

ACCOUNT = "000000000000"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}


def make_role(gantry, name, trust=TRUST):
    iam = gantry.boto3("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    return arn


def seconds(value):
    """A timestamp as boto3 (datetime) or a CLI (epoch number, or ISO 8601 text) gives it, in seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value).timestamp()
    return value.timestamp()


def spec(batch, commands):
    """A buildspec (JSON is YAML) whose builds run `commands`."""
    return json.dumps({"version": 0.2, "batch": batch, "phases": {"build": {"commands": commands}}})


class BatchCase(GantryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.role = make_role(cls.gantry, "batch-build")
        cls.batch_role = make_role(cls.gantry, "batch-service")
        cls.codebuild = cls.gantry.boto3("codebuild")

    def project(self, name, buildspec, **config):
        batch_config = dict({"serviceRole": self.batch_role}, **config)
        self.codebuild.create_project(
            name=name, source={"type": "NO_SOURCE", "buildspec": buildspec}, artifacts={"type": "NO_ARTIFACTS"},
            environment=ENVIRONMENT, serviceRole=self.role, buildBatchConfig=batch_config)

    def wait_batch(self, batch_id, timeout=120):
        return wait_for(lambda: next((b for b in self.codebuild.batch_get_build_batches(ids=[batch_id])["buildBatches"]
                                      if b["complete"]), None), timeout, f"batch {batch_id} to complete")

    def builds_of(self, batch):
        """identifier → the Build of each group's current build."""
        arns = {g["identifier"]: g["currentBuildSummary"]["arn"] for g in batch["buildGroups"]
                if "currentBuildSummary" in g}
        ids = [a.split(":build/", 1)[1] for a in arns.values()]
        builds = {b["arn"]: b for b in self.codebuild.batch_get_builds(ids=ids)["builds"]} if ids else {}
        return {k: builds[a] for k, a in arns.items()}

    def build_phase(self, build, phase_type):
        return next(p for p in build["phases"] if p["phaseType"] == phase_type)

    def cli_batch(self, cli, project, timeout=120):
        """A batch through one aws CLI: start-build-batch, batch-get-build-batches until it is complete,
        batch-get-builds of its groups' builds. Returns (batch, identifier → Build)."""
        batch_id = self.gantry.aws(cli, "codebuild", "start-build-batch", "--project-name",
                                   project)["buildBatch"]["id"]
        batch = wait_for(lambda: next((b for b in self.gantry.aws(cli, "codebuild", "batch-get-build-batches", "--ids",
                                                                  batch_id)["buildBatches"] if b["complete"]), None),
                         timeout, f"batch {batch_id} to complete")
        arns = {g["identifier"]: g["currentBuildSummary"]["arn"] for g in batch["buildGroups"]
                if "currentBuildSummary" in g}
        ids = [a.split(":build/", 1)[1] for a in arns.values()]
        builds = {b["arn"]: b for b in self.gantry.aws(cli, "codebuild", "batch-get-builds", "--ids", *ids)["builds"]}
        return batch, {k: builds[a] for k, a in arns.items()}

    def assertRanInOrder(self, builds, edges):
        """Each (before, after) pair: after's BUILD phase started when before's had ended."""
        start = {k: seconds(self.build_phase(b, "BUILD")["startTime"]) for k, b in builds.items()}
        end = {k: seconds(self.build_phase(b, "BUILD")["endTime"]) for k, b in builds.items()}
        for before, after in edges:
            self.assertLessEqual(end[before], start[after], f"{after} started before {before} ended")


class BatchTypesTest(BatchCase):
    def test_graph_diamond_runs_in_dependency_order(self):
        self.project("diamond", spec({"build-graph": [
            {"identifier": "a"},
            {"identifier": "b", "depend-on": ["a"]},
            {"identifier": "c", "depend-on": ["a"]},
            {"identifier": "d", "depend-on": ["b", "c"], "env": {"variables": {"LAST": "yes"}}},
        ]}, ["echo identifier=$CODEBUILD_BATCH_BUILD_IDENTIFIER last=${LAST:-no}", "sleep 1"]))
        started = self.codebuild.start_build_batch(projectName="diamond")["buildBatch"]
        self.assertEqual(started["currentPhase"], "SUBMITTED")
        self.assertEqual(started["buildBatchNumber"], 1)
        self.assertEqual(started["arn"], f"arn:aws:codebuild:us-east-1:{ACCOUNT}:build-batch/{started['id']}")
        batch = self.wait_batch(started["id"])
        self.assertEqual(batch["buildBatchStatus"], "SUCCEEDED", batch)
        self.assertEqual([p["phaseType"] for p in batch["phases"]],
                         ["SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS", "SUCCEEDED"])
        groups = {g["identifier"]: g for g in batch["buildGroups"]}
        self.assertEqual(groups["d"]["dependsOn"], ["b", "c"])
        builds = self.builds_of(batch)
        self.assertEqual(set(builds), {"a", "b", "c", "d"})
        for identifier, build in builds.items():
            self.assertEqual(build["buildBatchArn"], batch["arn"])
            self.assertEqual(build["buildStatus"], "SUCCEEDED")
        diamond = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
        self.assertRanInOrder(builds, diamond)
        # Each build saw its identifier (and its own env) in CODEBUILD_BATCH_BUILD_IDENTIFIER.
        logs = self.gantry.boto3("logs")
        for identifier in ("a", "d"):
            location = builds[identifier]["logs"]
            lines = "".join(e["message"] for e in logs.get_log_events(
                logGroupName=location["groupName"], logStreamName=location["streamName"], startFromHead=True)["events"])
            self.assertIn(f"identifier={identifier} last={'yes' if identifier == 'd' else 'no'}", lines)
        # The builds are ordinary builds of the project, listed with it.
        listed = self.codebuild.list_builds_for_project(projectName="diamond")["ids"]
        self.assertEqual(set(listed), {b["id"] for b in builds.values()})
        # The same graph started and read through each CLI.
        for number, (name, cli) in enumerate(self.clis(), start=2):
            with self.subTest(cli=name):
                batch, builds = self.cli_batch(cli, "diamond")
                self.assertEqual(batch["buildBatchStatus"], "SUCCEEDED", batch)
                self.assertEqual(batch["buildBatchNumber"], number)
                self.assertEqual(set(builds), {"a", "b", "c", "d"})
                self.assertEqual({b["buildStatus"] for b in builds.values()}, {"SUCCEEDED"})
                self.assertRanInOrder(builds, diamond)

    def test_debug_session_of_an_entry_is_recorded_but_not_started(self):
        self.project("debug-entry", spec({"build-list": [{"identifier": "debugged", "debug-session": True},
                                                         {"identifier": "plain"}]}, ["echo ran"]))
        logs = self.gantry.boto3("logs")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                batch, builds = self.cli_batch(cli, "debug-entry")
                self.assertEqual(batch["buildBatchStatus"], "SUCCEEDED", batch)
                self.assertEqual(builds["debugged"]["debugSession"], {"sessionEnabled": True})
                self.assertNotIn("debugSession", builds["plain"])
                for identifier, build in builds.items():
                    location = build["logs"]
                    text = "".join(e["message"] for e in logs.get_log_events(
                        logGroupName=location["groupName"], logStreamName=location["streamName"],
                        startFromHead=True)["events"])
                    self.assertIn("ran", text)
                    self.assertEqual("Debug session not started: Gantry has no Session Manager" in text,
                                     identifier == "debugged", text)
        # StartBuildBatch's debugSessionEnabled asks it for every build of the batch.
        batch = self.wait_batch(self.codebuild.start_build_batch(projectName="debug-entry",
                                                                 debugSessionEnabled=True)["buildBatch"]["id"])
        self.assertTrue(batch["debugSessionEnabled"])
        self.assertEqual([b["debugSession"] for b in self.builds_of(batch).values()], [{"sessionEnabled": True}] * 2)

    def test_list_with_ignore_failure_and_a_failing_build(self):
        self.project("listing", spec({"build-list": [
            {"identifier": "ok"},
            {"identifier": "flaky", "ignore-failure": True, "env": {"variables": {"FAIL": "1"}}},
        ]}, ["test -z \"$FAIL\""]))
        batch = self.wait_batch(self.codebuild.start_build_batch(projectName="listing")["buildBatch"]["id"])
        self.assertEqual(batch["buildBatchStatus"], "SUCCEEDED")
        statuses = {g["identifier"]: g["currentBuildSummary"]["buildStatus"] for g in batch["buildGroups"]}
        self.assertEqual(statuses, {"ok": "SUCCEEDED", "flaky": "FAILED"})
        # Without ignore-failure the same failure fails the batch; the CLI shows it too.
        self.project("listing-strict", spec({"build-list": [
            {"identifier": "ok"}, {"identifier": "bad", "env": {"variables": {"FAIL": "1"}}}]}, ["test -z \"$FAIL\""]))
        strict = self.wait_batch(self.codebuild.start_build_batch(projectName="listing-strict")["buildBatch"]["id"])
        self.assertEqual(strict["buildBatchStatus"], "FAILED")
        self.assertEqual(strict["phases"][-1]["phaseType"], "FAILED")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                got = self.gantry.aws(cli, "codebuild", "batch-get-build-batches", "--ids", strict["id"])
                self.assertEqual(got["buildBatches"][0]["buildBatchStatus"], "FAILED")

    def test_dynamic_matrix_makes_every_combination(self):
        self.project("matrix", spec({"build-matrix": {
            "static": {"ignore-failure": False},
            "dynamic": {"env": {"variables": {"OS": ["linux", "bsd"], "ARCH": ["x86", "arm", "riscv"]}}}}},
            ["echo $OS-$ARCH"]))
        batch = self.wait_batch(self.codebuild.start_build_batch(projectName="matrix")["buildBatch"]["id"], 180)
        self.assertEqual(batch["buildBatchStatus"], "SUCCEEDED")
        self.assertEqual(len(batch["buildGroups"]), 6)
        combos = set()
        for build in self.builds_of(batch).values():
            env = {v["name"]: v["value"] for v in build["environment"]["environmentVariables"]}
            combos.add((env["OS"], env["ARCH"]))
        self.assertEqual(len(combos), 6)

    def test_fast_fail_stops_the_rest(self):
        self.project("fast", spec({"fast-fail": True, "build-graph": [
            {"identifier": "slow", "env": {"variables": {"MODE": "slow"}}},
            {"identifier": "broken", "env": {"variables": {"MODE": "fail"}}},
            {"identifier": "later", "depend-on": ["broken"]},
        ]}, ["if [ \"$MODE\" = slow ]; then sleep 120; fi", "test \"$MODE\" != fail"]))
        batch = self.wait_batch(self.codebuild.start_build_batch(projectName="fast")["buildBatch"]["id"])
        self.assertEqual(batch["buildBatchStatus"], "FAILED")
        groups = {g["identifier"]: g for g in batch["buildGroups"]}
        self.assertEqual(groups["broken"]["currentBuildSummary"]["buildStatus"], "FAILED")
        self.assertEqual(groups["slow"]["currentBuildSummary"]["buildStatus"], "STOPPED")
        self.assertNotIn("currentBuildSummary", groups["later"])

    def test_batch_needs_a_batch_configuration(self):
        self.codebuild.create_project(
            name="no-batch", source={"type": "NO_SOURCE", "buildspec": spec({"build-list": [{"identifier": "x"}]}, [])},
            artifacts={"type": "NO_ARTIFACTS"}, environment=ENVIRONMENT, serviceRole=self.role)
        with self.assertRaises(self.codebuild.exceptions.InvalidInputException) as raised:
            self.codebuild.start_build_batch(projectName="no-batch")
        self.assertIn("Batch build is not enabled", str(raised.exception))
        # A buildspec without a batch section fails DOWNLOAD_BATCHSPEC, saying why.
        self.project("no-section", json.dumps({"version": 0.2, "phases": {"build": {"commands": ["true"]}}}))
        batch = self.wait_batch(self.codebuild.start_build_batch(projectName="no-section")["buildBatch"]["id"])
        self.assertEqual(batch["buildBatchStatus"], "FAILED")
        phase = next(p for p in batch["phases"] if p["phaseType"] == "DOWNLOAD_BATCHSPEC")
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertIn("no batch section", phase["contexts"][0]["message"])
        # More builds than the restrictions allow.
        self.project("too-many", spec({"build-list": [{"identifier": "a"}, {"identifier": "b"}]}, ["true"]),
                     restrictions={"maximumBuildsAllowed": 1})
        batch = self.wait_batch(self.codebuild.start_build_batch(projectName="too-many")["buildBatch"]["id"])
        self.assertEqual(batch["buildBatchStatus"], "FAILED")
        self.assertIn("maximumBuildsAllowed", batch["phases"][1]["contexts"][0]["message"])


class BatchLifecycleTest(BatchCase):
    def test_stop_retry_list_and_delete(self):
        marker = "batch-" + uuid.uuid4().hex[:6]
        self.project("life", spec({"build-list": [
            {"identifier": "quick"},
            {"identifier": "long", "env": {"variables": {"SLEEP": "120"}}},
        ]}, [f"sleep ${{SLEEP:-0}} # {marker}"]))
        batch_id = self.codebuild.start_build_batch(projectName="life", idempotencyToken=marker)["buildBatch"]["id"]
        # The same token within five minutes returns the same batch.
        again = self.codebuild.start_build_batch(projectName="life", idempotencyToken=marker)["buildBatch"]["id"]
        self.assertEqual(again, batch_id)

        def both_started():
            groups = self.codebuild.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]["buildGroups"]
            return len(groups) == 2 and all("currentBuildSummary" in g for g in groups)
        wait_for(both_started, what="both builds to start")
        self.codebuild.stop_build_batch(id=batch_id)
        stopped = self.wait_batch(batch_id)
        self.assertEqual(stopped["buildBatchStatus"], "STOPPED")
        self.assertEqual(stopped["currentPhase"], "STOPPED")
        statuses = {g["identifier"]: g["currentBuildSummary"]["buildStatus"] for g in stopped["buildGroups"]}
        self.assertEqual(statuses["long"], "STOPPED")

        # RETRY_FAILED_BUILDS reruns what did not succeed; the earlier build moves to priorBuildSummaryList.
        retried = self.codebuild.retry_build_batch(id=batch_id, retryType="RETRY_FAILED_BUILDS")["buildBatch"]
        self.assertEqual(retried["id"], batch_id)
        self.assertEqual(retried["buildBatchStatus"], "IN_PROGRESS")
        groups = {g["identifier"]: g for g in retried["buildGroups"]}
        self.assertEqual(len(groups["long"]["priorBuildSummaryList"]), 1)
        if statuses["quick"] == "SUCCEEDED":
            self.assertEqual(groups["quick"]["priorBuildSummaryList"], [])
        wait_for(lambda: "currentBuildSummary" in {g["identifier"]: g for g in self.codebuild.batch_get_build_batches(
            ids=[batch_id])["buildBatches"][0]["buildGroups"]}["long"], what="the retried build")
        self.codebuild.stop_build_batch(id=batch_id)
        done = self.wait_batch(batch_id)
        self.assertEqual(done["buildBatchStatus"], "STOPPED")
        with self.assertRaises(self.codebuild.exceptions.InvalidInputException):
            self.codebuild.retry_build_batch(id=f"{batch_id}-nope:x")

        # A second batch that succeeds; the list, its filter and pages.
        self.project("life-ok", spec({"build-list": [{"identifier": "one"}]}, ["true"]))
        ok_ids = [self.codebuild.start_build_batch(projectName="life-ok")["buildBatch"]["id"] for _ in range(3)]
        for i in ok_ids:
            self.wait_batch(i)
        listed = self.codebuild.list_build_batches_for_project(projectName="life-ok", sortOrder="ASCENDING")["ids"]
        self.assertEqual(listed, ok_ids)
        page = self.codebuild.list_build_batches_for_project(projectName="life-ok", maxResults=2)
        self.assertEqual(page["ids"], list(reversed(ok_ids))[:2])
        rest = self.codebuild.list_build_batches_for_project(projectName="life-ok", maxResults=2,
                                                             nextToken=page["nextToken"])
        self.assertEqual(rest["ids"], [ok_ids[0]])
        self.assertEqual(self.codebuild.list_build_batches(filter={"status": "STOPPED"})["ids"], [batch_id])
        for name, cli in self.clis():
            with self.subTest(cli=name):
                got = self.gantry.aws(cli, "codebuild", "list-build-batches-for-project", "--project-name", "life")
                self.assertEqual(got["ids"], [batch_id])

        # Deleting the batch deletes its builds (shown by ARN, as AWS shows them); a running batch and a
        # batch that is gone are refused.
        build_arns = [s["arn"] for g in done["buildGroups"]
                      for s in g["priorBuildSummaryList"] + ([g["currentBuildSummary"]] if "currentBuildSummary" in g
                                                             else [])]
        deleted = self.codebuild.delete_build_batch(id=batch_id)
        self.assertEqual(deleted["statusCode"], "BATCH_DELETED")
        self.assertEqual(sorted(deleted["buildsDeleted"]), sorted(build_arns))
        self.assertEqual(self.codebuild.batch_get_build_batches(ids=[batch_id])["buildBatchesNotFound"], [batch_id])
        self.assertEqual(self.codebuild.batch_get_builds(ids=build_arns)["builds"], [])
        with self.assertRaises(self.codebuild.exceptions.InvalidInputException):
            self.codebuild.delete_build_batch(id=batch_id)


class BatchRestartTest(unittest.TestCase):
    def test_kill_9_mid_batch_then_the_batch_moves_on(self):
        gantry = Gantry().start()
        self.addCleanup(lambda: gantry.cleanup())
        role = make_role(gantry, "restart-build")
        codebuild = gantry.boto3("codebuild")
        codebuild.create_project(
            name="resume", source={"type": "NO_SOURCE", "buildspec": spec({"build-graph": [
                {"identifier": "first", "env": {"variables": {"SLEEP": "300"}}},
                {"identifier": "second", "depend-on": ["first"]}]}, ["sleep ${SLEEP:-0}"])},
            artifacts={"type": "NO_ARTIFACTS"}, environment=ENVIRONMENT, serviceRole=role,
            buildBatchConfig={"serviceRole": role})
        batch_id = codebuild.start_build_batch(projectName="resume")["buildBatch"]["id"]

        def first_build():
            groups = codebuild.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]["buildGroups"]
            arn = next((g["currentBuildSummary"]["arn"] for g in groups
                        if g["identifier"] == "first" and "currentBuildSummary" in g), None)
            if not arn:
                return None
            build = codebuild.batch_get_builds(ids=[arn.split(":build/", 1)[1]])["builds"][0]
            return build if build["currentPhase"] == "BUILD" else None
        wait_for(first_build, what="the first build to run")
        gantry.kill9()
        restarted = Gantry(state_dir=gantry.state_dir).start()
        self.addCleanup(lambda: restarted.stop())
        codebuild = restarted.boto3("codebuild")
        batch = wait_for(lambda: next((b for b in codebuild.batch_get_build_batches(ids=[batch_id])["buildBatches"]
                                       if b["complete"]), None), what="the batch to end after the restart")
        self.assertEqual(batch["buildBatchStatus"], "FAILED")
        groups = {g["identifier"]: g for g in batch["buildGroups"]}
        self.assertEqual(groups["first"]["currentBuildSummary"]["buildStatus"], "FAULT")
        self.assertNotIn("currentBuildSummary", groups["second"])


class BatchPipelineTest(BatchCase):
    def pipeline(self, name, outputs, **configuration):
        return {"pipeline": {
            "name": name, "roleArn": self.pipeline_role,
            "artifactStore": {"type": "S3", "location": "batch-artifacts"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3",
                                                       "version": "1"},
                    "configuration": {"S3Bucket": "batch-sources", "S3ObjectKey": "app.zip",
                                      "PollForSourceChanges": "false"},
                    "outputArtifacts": [{"name": "Src"}]}]},
                {"name": "Build", "actions": [{
                    "name": "Batch", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild",
                                                      "version": "1"},
                    "configuration": dict({"ProjectName": "piped", "BatchEnabled": "true"}, **configuration),
                    "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": o} for o in outputs]}]}]}}

    def test_pipeline_batch_with_separate_and_combined_artifacts(self):
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        self.pipeline_role = make_role(self.gantry, "batch-pipeline", trust)
        s3 = self.gantry.boto3("s3")
        for bucket in ("batch-sources", "batch-artifacts"):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket="batch-sources", VersioningConfiguration={"Status": "Enabled"})
        source = io.BytesIO()
        with zipfile.ZipFile(source, "w") as z:
            z.writestr("buildspec.yml", json.dumps({
                "version": 0.2,
                "batch": {"build-list": [{"identifier": "build1"}, {"identifier": "build2"}]},
                "phases": {"build": {"commands": ["echo made-by-$CODEBUILD_BATCH_BUILD_IDENTIFIER > out.txt"]}},
                "artifacts": {"files": ["out.txt"]}}))
        s3.put_object(Bucket="batch-sources", Key="app.zip", Body=source.getvalue())
        self.codebuild.create_project(
            name="piped", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
            environment=ENVIRONMENT, serviceRole=self.role, buildBatchConfig={"serviceRole": self.batch_role})
        cp = self.gantry.boto3("codepipeline")

        def outputs_of(name):
            execution = wait_for(lambda: next((e for e in cp.list_pipeline_executions(pipelineName=name)[
                "pipelineExecutionSummaries"] if e["status"] != "InProgress"), None), 180, "the execution")
            self.assertEqual(execution["status"], "Succeeded", execution)
            details = cp.list_action_executions(pipelineName=name, filter={
                "pipelineExecutionId": execution["pipelineExecutionId"]})["actionExecutionDetails"]
            action = next(d for d in details if d["stageName"] == "Build")
            found = {}
            for out in action["output"]["outputArtifacts"]:
                location = out["s3location"]
                body = s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
                with zipfile.ZipFile(io.BytesIO(body)) as z:
                    found[out["name"]] = {n: z.read(n).decode().strip() for n in z.namelist()}
            return found

        cp.create_pipeline(**self.pipeline("separate", ["build1", "build2"]))
        self.assertEqual(outputs_of("separate"), {"build1": {"out.txt": "made-by-build1"},
                                                  "build2": {"out.txt": "made-by-build2"}})
        cp.create_pipeline(**self.pipeline("combined", ["All"], CombineArtifacts="true"))
        self.assertEqual(outputs_of("combined"), {"All": {"build1/out.txt": "made-by-build1",
                                                          "build2/out.txt": "made-by-build2"}})


if __name__ == "__main__":
    unittest.main()
