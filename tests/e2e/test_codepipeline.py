"""CodePipeline end to end, through git, both aws CLIs and boto3, with the sample app of
examples/pipeline-app: the README's walkthrough run as written (CLI v1: roles, buckets, repository,
project, pipeline, the EventBridge rule that starts it on a push, approval, the deployed site); the
same through CLI v2 with the execution's details (action executions, revisions, variables, the
build) and the pipeline's events at a log-group target; the commit a build sees; a failing unit
test failing the Build stage, then a fixed push; a rejected approval; a failed build action retried
with RetryStageExecution FAILED_ACTIONS; SUPERSEDED and QUEUED executions; a stop with abandon; and
kill -9 with an execution waiting for approval (it resumes) and with one building (it fails with a
reason, never stays InProgress)."""
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import zipfile

from harness import AWS_V1, AWS_V2, GANTRY, Gantry, GantryTestCase, wait_for
from test_codecommit import Git

ACCOUNT = "000000000000"
REGION = "us-east-1"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "pipeline-app")
SETUP = os.path.join(EXAMPLE, "setup")
PIPELINE = "pipeline-app"
PIPELINE_ARN = f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{PIPELINE}"
ARTIFACTS = "pipeline-app-artifacts"
SITE = "pipeline-app-site"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/pipeline-app-on-push"


def setup_file(name):
    with open(os.path.join(SETUP, name)) as f:
        return f.read()


def setup_json(name):
    return json.loads(setup_file(name))


def readme_walkthrough():
    """The shell blocks of the README's CodePipeline walkthrough, in order, as one script."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    start = readme.index("#### Walkthrough: push, test, approve, deploy")
    end = readme.index("\n#", start + 1)
    blocks = re.findall(r"```sh\n(.*?)```", readme[start:end], re.S)
    assert blocks, "the walkthrough has no sh blocks"
    return "".join(blocks)


def create_sample(gantry, pipeline=True, rule=True):
    """What the walkthrough sets up, through boto3 from the same files: roles, buckets,
    repository, project, and the pipeline and the push rule when asked."""
    iam = gantry.boto3("iam")
    for role in ("pipeline", "build", "events"):
        iam.create_role(RoleName=f"pipeline-app-{role}",
                        AssumeRolePolicyDocument=setup_file(f"roles/{role}-trust.json"))
        iam.put_role_policy(RoleName=f"pipeline-app-{role}", PolicyName="pipeline-app",
                            PolicyDocument=setup_file(f"roles/{role}-policy.json"))
    s3 = gantry.boto3("s3")
    s3.create_bucket(Bucket=ARTIFACTS)
    s3.create_bucket(Bucket=SITE)
    gantry.boto3("codecommit").create_repository(repositoryName=PIPELINE)
    gantry.boto3("codebuild").create_project(**setup_json("codebuild-project.json"))
    if pipeline:
        gantry.boto3("codepipeline").create_pipeline(**setup_json("pipeline.json"))
    if rule:
        put_push_rule(gantry)


def put_push_rule(gantry):
    events = gantry.boto3("events")
    events.put_rule(Name="pipeline-app-on-push", EventPattern=setup_file("on-push-rule.json"))
    out = events.put_targets(Rule="pipeline-app-on-push", Targets=setup_json("on-push-targets.json"))
    assert out["FailedEntryCount"] == 0, out


def push_sample(git, message="The sample app"):
    """A work tree of examples/pipeline-app/app pushed to main; returns (work tree, commit)."""
    work = os.path.join(git.home, "work")
    shutil.copytree(os.path.join(EXAMPLE, "app"), work, ignore=shutil.ignore_patterns("__pycache__"))
    git.run("init", "-q", "-b", "main", cwd=work)
    git.run("remote", "add", "origin", git.url(PIPELINE), cwd=work)
    git.run("add", ".", cwd=work)
    git.run("commit", "-q", "-m", message, cwd=work)
    git.run("push", "-q", "origin", "main", cwd=work)
    return work, git.run("rev-parse", "HEAD", cwd=work).stdout.strip()


def push_change(git, work, path, old, new, message):
    """Replaces old by new in one file of the work tree, commits and pushes; returns the commit."""
    full = os.path.join(work, path)
    with open(full) as f:
        text = f.read()
    assert old in text, f"{old!r} not in {path}"
    with open(full, "w") as f:
        f.write(text.replace(old, new))
    git.run("commit", "-q", "-am", message, cwd=work)
    git.run("push", "-q", "origin", "main", cwd=work)
    return git.run("rev-parse", "HEAD", cwd=work).stdout.strip()


def execution_of(cp, revision, pipeline=PIPELINE, timeout=60):
    """The summary of the execution whose source revision is `revision`, once there is one."""
    def find():
        for summary in cp.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"]:
            if any(r.get("revisionId") == revision for r in summary.get("sourceRevisions", [])):
                return summary
        return None
    return wait_for(find, timeout, f"an execution of {revision}")


def execution(cp, execution_id, pipeline=PIPELINE):
    return cp.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id)["pipelineExecution"]


def final(cp, execution_id, pipeline=PIPELINE, timeout=120):
    """The execution once it is no longer InProgress (or Stopping)."""
    return wait_for(lambda: (lambda e: e if e["status"] not in ("InProgress", "Stopping") else None)(
        execution(cp, execution_id, pipeline)), timeout, f"execution {execution_id} to end")


def stage_state(cp, stage, pipeline=PIPELINE):
    state = cp.get_pipeline_state(name=pipeline)
    return next(s for s in state["stageStates"] if s["stageName"] == stage)


def approval_token(cp, execution_id, pipeline=PIPELINE, stage="Approval", timeout=120):
    """The token of the approval that execution_id waits for, once it waits; fails if it ends first."""
    def waiting():
        current = execution(cp, execution_id, pipeline)
        if current["status"] != "InProgress":
            raise AssertionError(f"execution {execution_id} ended {current['status']} before its approval: "
                                 f"{current.get('statusSummary')} {action_errors(cp, execution_id, pipeline)}")
        state = stage_state(cp, stage, pipeline)
        latest = state.get("latestExecution", {})
        if latest.get("pipelineExecutionId") != execution_id or latest.get("status") != "InProgress":
            return None
        action = state["actionStates"][0].get("latestExecution", {})
        return action.get("token") if action.get("status") == "InProgress" else None
    return wait_for(waiting, timeout, f"the approval of {execution_id}")


def approve(cp, execution_id, status="Approved", pipeline=PIPELINE, stage="Approval", action="Approve"):
    token = approval_token(cp, execution_id, pipeline, stage)
    return cp.put_approval_result(pipelineName=pipeline, stageName=stage, actionName=action, token=token,
                                  result={"status": status, "summary": f"{status} by the e2e test"})


def action_executions(cp, execution_id, pipeline=PIPELINE):
    details = []
    for page in cp.get_paginator("list_action_executions").paginate(
            pipelineName=pipeline, filter={"pipelineExecutionId": execution_id}):
        details.extend(page["actionExecutionDetails"])
    return details


def action_errors(cp, execution_id, pipeline=PIPELINE):
    return [(d["stageName"], d["actionName"], d["status"], d.get("output", {}).get("executionResult", {}))
            for d in action_executions(cp, execution_id, pipeline) if d["status"] != "Succeeded"]


def site_object(gantry, key):
    return gantry.boto3("s3").get_object(Bucket=SITE, Key=key)["Body"].read().decode()


def log_events(gantry, group):
    logs = gantry.boto3("logs")
    messages = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        messages.extend(json.loads(e["message"]) for e in page["events"])
    return messages


class WalkthroughTest(GantryTestCase):
    """The README's walkthrough, run as written with CLI v1 (`aws` on PATH) and git."""

    def test_readme_walkthrough(self):
        self.assertIsNotNone(AWS_V1, "CLI v1 (`aws` on PATH) is needed")
        script = readme_walkthrough()
        self.assertIn("build/src/gantry env", script)
        home = tempfile.mkdtemp(prefix="gantry-walkthrough-")
        self.addCleanup(shutil.rmtree, home, True)
        with open(os.path.join(home, ".gitconfig"), "w") as f:
            f.write("[user]\n\tname = E2E Tester\n\temail = e2e@example.com\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"HOME": home, "GIT_CONFIG_GLOBAL": os.path.join(home, ".gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_TERMINAL_PROMPT": "0", "TMPDIR": home, "AWS_PAGER": "",
                    "AWS_CONFIG_FILE": os.path.join(home, "no-config"),
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "no-credentials"),
                    # `gantry env` of the walkthrough prints this server's key and address.
                    "GANTRY_STATE_DIR": self.gantry.state_dir, "GANTRY_LISTEN": f"127.0.0.1:{self.gantry.port}"})
        # The walkthrough names the binary as built by scripts/build; here it is GANTRY_BIN.
        script = script.replace("build/src/gantry", os.path.abspath(GANTRY))
        cp = self.gantry.boto3("codepipeline")
        try:
            ran = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired as timed_out:
            executions = cp.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
            self.fail(f"walkthrough timed out:\n{timed_out.stdout}\n{timed_out.stderr}\nexecutions: "
                      f"{[(e['status'], e.get('statusSummary')) for e in executions]}")
        self.assertEqual(ran.returncode, 0, f"walkthrough failed:\n{ran.stdout}\n{ran.stderr}")
        self.assertNotIn("__pycache__", os.listdir(os.path.join(EXAMPLE, "app")))

        summaries = cp.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
        self.assertEqual([s["status"] for s in summaries], ["Succeeded", "Succeeded"])
        newest, first = summaries
        self.assertEqual(first["trigger"]["triggerType"], "CreatePipeline")
        self.assertEqual(newest["trigger"]["triggerType"], "CloudWatchEvent")
        self.assertEqual(newest["trigger"]["triggerDetail"], RULE_ARN)
        commit = newest["sourceRevisions"][0]["revisionId"]
        self.assertEqual(newest["sourceRevisions"][0]["revisionSummary"].strip(), "Greet the world")
        # What the script printed: the page of each deployment, the second one last.
        after_first = ran.stdout.split("<h1>Hello, pipeline!</h1>", 1)[1]
        self.assertIn("Built from commit", after_first.split("<h1>Hello, world!</h1>", 1)[1])
        self.assertIn("<h1>Hello, world!</h1>", site_object(self.gantry, "index.html"))
        self.assertEqual(json.loads(site_object(self.gantry, "version.json"))["greeting"], "Hello, world!")
        branch = self.gantry.boto3("codecommit").get_branch(repositoryName=PIPELINE, branchName="main")["branch"]
        self.assertEqual(branch["commitId"], commit)


class SampleCase(GantryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cp = cls.gantry.boto3("codepipeline")

    def git(self, cli=None):
        g = Git(self.gantry, cli or AWS_V1 or AWS_V2)
        self.addCleanup(g.cleanup)
        return g


class CliV2Test(SampleCase):
    """The sample set up and approved through CLI v2 (/usr/bin/aws), with the pipeline's events
    delivered to a log group by an EventBridge rule."""

    def aws(self, *args, **kwargs):
        return self.gantry.aws(AWS_V2, *args, **kwargs)

    def test_pipeline_through_cli_v2_with_events(self):
        if not os.path.exists(AWS_V2):
            self.skipTest("no CLI v2 at /usr/bin/aws")
        logs = self.gantry.boto3("logs")
        logs.create_log_group(logGroupName="/e2e/pipeline-events")
        self.aws("events", "put-rule", "--name", "pipeline-events", "--event-pattern",
                 json.dumps({"source": ["aws.codepipeline"], "resources": [PIPELINE_ARN]}))
        self.aws("events", "put-targets", "--rule", "pipeline-events", "--targets",
                 f"Id=logs,Arn=arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/e2e/pipeline-events")

        for role in ("pipeline", "build", "events"):
            self.aws("iam", "create-role", "--role-name", f"pipeline-app-{role}", "--assume-role-policy-document",
                     f"file://{SETUP}/roles/{role}-trust.json")
            self.aws("iam", "put-role-policy", "--role-name", f"pipeline-app-{role}", "--policy-name", "pipeline-app",
                     "--policy-document", f"file://{SETUP}/roles/{role}-policy.json")
        self.aws("s3api", "create-bucket", "--bucket", ARTIFACTS)
        self.aws("s3api", "create-bucket", "--bucket", SITE)
        self.aws("codecommit", "create-repository", "--repository-name", PIPELINE)
        project = self.aws("codebuild", "create-project", "--cli-input-json",
                           f"file://{SETUP}/codebuild-project.json")["project"]
        self.assertEqual((project["source"]["type"], project["artifacts"]["type"]), ("CODEPIPELINE", "CODEPIPELINE"))
        git = self.git(AWS_V2)
        work, commit = push_sample(git)

        # CLI v2 2.9 predates V2 pipelines: its model has no pipelineType and executionMode, so it
        # creates the sample as a V1 pipeline (SUPERSEDED, the only mode of V1).
        declaration = setup_json("pipeline.json")
        for member in ("pipelineType", "executionMode"):
            declaration["pipeline"].pop(member)
        v1_file = os.path.join(self.gantry.state_dir, "pipeline-v1.json")
        with open(v1_file, "w") as f:
            json.dump(declaration, f)
        created = self.aws("codepipeline", "create-pipeline", "--cli-input-json", f"file://{v1_file}")
        self.assertEqual(created["pipeline"]["version"], 1)
        self.aws("events", "put-rule", "--name", "pipeline-app-on-push", "--event-pattern",
                 f"file://{SETUP}/on-push-rule.json")
        self.aws("events", "put-targets", "--rule", "pipeline-app-on-push", "--targets",
                 f"file://{SETUP}/on-push-targets.json")
        got = self.aws("codepipeline", "get-pipeline", "--name", PIPELINE)
        self.assertEqual(got["metadata"]["pipelineArn"], PIPELINE_ARN)
        described = self.cp.get_pipeline(name=PIPELINE)["pipeline"]
        self.assertEqual((described["pipelineType"], described["executionMode"]), ("V1", "SUPERSEDED"))
        self.assertEqual([s["name"] for s in got["pipeline"]["stages"]], ["Source", "Build", "Approval", "Deploy"])
        source = got["pipeline"]["stages"][0]["actions"][0]
        self.assertEqual(source["configuration"]["PollForSourceChanges"], "false")
        listed = self.aws("codepipeline", "list-pipelines")["pipelines"]
        self.assertEqual([(p["name"], p["version"]) for p in listed], [(PIPELINE, 1)])

        first = execution_of(self.cp, commit)
        self.assertEqual(first["trigger"]["triggerType"], "CreatePipeline")
        execution_id = first["pipelineExecutionId"]
        token = approval_token(self.cp, execution_id)
        # The approval as CLI v2 sees it: the token in get-pipeline-state, the CustomData with the
        # source's variable resolved in list-action-executions.
        state = self.aws("codepipeline", "get-pipeline-state", "--name", PIPELINE)
        stages = {s["stageName"]: s for s in state["stageStates"]}
        self.assertEqual(stages["Source"]["latestExecution"]["status"], "Succeeded")
        self.assertEqual(stages["Build"]["latestExecution"]["status"], "Succeeded")
        self.assertEqual(stages["Approval"]["actionStates"][0]["latestExecution"]["token"], token)
        self.assertNotIn("latestExecution", stages["Deploy"])
        details = self.aws("codepipeline", "list-action-executions", "--pipeline-name", PIPELINE, "--filter",
                           f"pipelineExecutionId={execution_id}")["actionExecutionDetails"]
        by_action = {d["actionName"]: d for d in details}
        self.assertEqual(by_action["Source"]["status"], "Succeeded")
        self.assertEqual(by_action["Source"]["output"]["outputVariables"]["CommitId"], commit)
        self.assertEqual(by_action["Source"]["output"]["outputVariables"]["BranchName"], "main")
        self.assertEqual(by_action["Source"]["output"]["outputArtifacts"][0]["name"], "SourceOutput")
        self.assertEqual(by_action["Test"]["status"], "Succeeded")
        build_id = by_action["Test"]["output"]["executionResult"]["externalExecutionId"]
        self.assertTrue(build_id.startswith("pipeline-app:"), build_id)
        self.assertEqual(by_action["Approve"]["status"], "InProgress")
        self.assertEqual(by_action["Approve"]["input"]["configuration"]["CustomData"],
                         "Commit #{SourceVariables.CommitId} passed its tests. Deploy it?")
        # (resolvedConfiguration is newer than CLI v2 2.9's model.)
        approve_input = next(d for d in action_executions(self.cp, execution_id) if d["actionName"] == "Approve")["input"]
        self.assertEqual(approve_input["resolvedConfiguration"]["CustomData"],
                         f"Commit {commit} passed its tests. Deploy it?")

        # The build ran the repository's tests on the pushed commit, as the project's role.
        build = self.gantry.boto3("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
        self.assertEqual(build["buildStatus"], "SUCCEEDED")
        self.assertEqual(build["initiator"], f"codepipeline/{PIPELINE}")
        lines = [e["message"] for e in logs.get_log_events(
            logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"],
            startFromHead=True)["events"]]
        self.assertTrue(any("Ran 2 tests" in line for line in lines), lines)

        code, _, err = self.aws("codepipeline", "put-approval-result", "--pipeline-name", PIPELINE, "--stage-name",
                                "Approval", "--action-name", "Approve", "--token", "00000000-0000-0000-0000-000000000000",
                                "--result", "status=Approved,summary=wrong token", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("InvalidApprovalTokenException", err)
        approved = self.aws("codepipeline", "put-approval-result", "--pipeline-name", PIPELINE, "--stage-name",
                            "Approval", "--action-name", "Approve", "--token", token, "--result",
                            "status=Approved,summary=Looks good")
        self.assertIn("approvedAt", approved)
        done = final(self.cp, execution_id)
        self.assertEqual(done["status"], "Succeeded", action_errors(self.cp, execution_id))
        self.assertEqual(done["artifactRevisions"][0]["revisionId"], commit)
        self.assertEqual(done["artifactRevisions"][0]["name"], "SourceOutput")
        self.assertIn("<h1>Hello, pipeline!</h1>", site_object(self.gantry, "index.html"))
        described = self.aws("codepipeline", "get-pipeline-execution", "--pipeline-name", PIPELINE,
                             "--pipeline-execution-id", execution_id)["pipelineExecution"]
        self.assertEqual((described["status"], described["pipelineVersion"]), ("Succeeded", 1))
        self.assertEqual(sorted(d["status"] for d in action_executions(self.cp, execution_id)), ["Succeeded"] * 4)

        # The artifacts went through the artifact store as zips: <pipeline>/<artifact>/<key>.
        keys = [o["Key"] for o in self.gantry.boto3("s3").list_objects_v2(Bucket=ARTIFACTS).get("Contents", [])]
        self.assertTrue(any(k.startswith(f"{PIPELINE}/SourceOutput/") for k in keys), keys)
        self.assertTrue(any(k.startswith(f"{PIPELINE}/BuildOutput/") for k in keys), keys)
        built = next(k for k in keys if k.startswith(f"{PIPELINE}/BuildOutput/"))
        archive = zipfile.ZipFile(io.BytesIO(self.gantry.boto3("s3").get_object(Bucket=ARTIFACTS, Key=built)["Body"].read()))
        self.assertEqual(sorted(archive.namelist()), ["index.html", "version.json"])

        # Every state change of the execution reached the rule's log group.
        def all_events():
            found = [e for e in log_events(self.gantry, "/e2e/pipeline-events")
                     if e["detail"].get("execution-id") == execution_id]
            ends = [e for e in found if e["detail-type"] == "CodePipeline Pipeline Execution State Change"
                    and e["detail"]["state"] == "SUCCEEDED"]
            return found if ends else None
        received = wait_for(all_events, 30, "the pipeline's events")
        pipeline_states = [e["detail"]["state"] for e in received
                           if e["detail-type"] == "CodePipeline Pipeline Execution State Change"]
        self.assertEqual(sorted(pipeline_states), ["STARTED", "SUCCEEDED"])
        stage_states = sorted((e["detail"]["stage"], e["detail"]["state"]) for e in received
                              if e["detail-type"] == "CodePipeline Stage Execution State Change")
        self.assertEqual(stage_states, sorted((s, st) for s in ("Source", "Build", "Approval", "Deploy")
                                              for st in ("STARTED", "SUCCEEDED")))
        action_changes = [e for e in received if e["detail-type"] == "CodePipeline Action Execution State Change"]
        self.assertEqual(sorted((e["detail"]["action"], e["detail"]["state"]) for e in action_changes),
                         sorted((a, st) for a in ("Source", "Test", "Approve", "Site") for st in ("STARTED", "SUCCEEDED")))
        test_started = next(e for e in action_changes if e["detail"]["action"] == "Test")
        self.assertEqual(test_started["source"], "aws.codepipeline")
        self.assertEqual(test_started["resources"], [PIPELINE_ARN])
        self.assertEqual(test_started["detail"]["pipeline"], PIPELINE)
        self.assertEqual(test_started["detail"]["stage"], "Build")
        self.assertEqual(test_started["detail"]["type"],
                         {"owner": "AWS", "category": "Build", "provider": "CodeBuild", "version": "1"})
        self.assertEqual(test_started["detail"]["version"], 1)

        # A push starts the next execution through the rule (and its role).
        second = push_change(git, work, "greeter.py", 'default="pipeline"', 'default="cli v2"', "Greet CLI v2")
        summary = execution_of(self.cp, second)
        self.assertEqual(summary["trigger"], {"triggerType": "CloudWatchEvent", "triggerDetail": RULE_ARN})
        token = approval_token(self.cp, summary["pipelineExecutionId"])
        self.aws("codepipeline", "put-approval-result", "--pipeline-name", PIPELINE, "--stage-name", "Approval",
                 "--action-name", "Approve", "--token", token, "--result", "status=Approved,summary=again")
        self.assertEqual(final(self.cp, summary["pipelineExecutionId"])["status"], "Succeeded")
        self.assertIn("<h1>Hello, cli v2!</h1>", site_object(self.gantry, "index.html"))

    def test_error_lines(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                code, _, err = self.gantry.aws(cli, "codepipeline", "get-pipeline", "--name", "nope", check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (PipelineNotFoundException) when calling the GetPipeline operation: "
                              f"Account '{ACCOUNT}' does not have a pipeline with name 'nope'", err)
                code, _, err = self.gantry.aws(cli, "codepipeline", "start-pipeline-execution", "--name", "nope",
                                               check=False)
                self.assertIn("(PipelineNotFoundException) when calling the StartPipelineExecution operation", err)


class FailuresTest(SampleCase):
    def test_failing_test_fails_the_build_then_a_fixed_push_passes(self):
        create_sample(self.gantry)
        git = self.git()
        work, commit = push_sample(git)
        first = execution_of(self.cp, commit)["pipelineExecutionId"]
        approval_token(self.cp, first)
        # A commit whose unit test fails: the Build stage fails, the execution with it, and the
        # waiting approval of the first execution is not disturbed.
        broken = push_change(git, work, "greeter.py", 'return f"Hello, {name}!"', 'return f"Goodbye, {name}!"',
                             "Break the greeting")
        failed_id = execution_of(self.cp, broken)["pipelineExecutionId"]
        failed = final(self.cp, failed_id)
        self.assertEqual(failed["status"], "Failed")
        build_stage = stage_state(self.cp, "Build")
        self.assertEqual(build_stage["latestExecution"]["pipelineExecutionId"], failed_id)
        self.assertEqual(build_stage["latestExecution"]["status"], "Failed")
        test_action = build_stage["actionStates"][0]["latestExecution"]
        self.assertEqual(test_action["status"], "Failed")
        self.assertEqual(test_action["errorDetails"]["code"], "JobFailed")
        self.assertTrue(test_action["errorDetails"]["message"], test_action)
        details = action_executions(self.cp, failed_id)
        self.assertEqual(sorted((d["stageName"], d["status"]) for d in details),
                         [("Build", "Failed"), ("Source", "Succeeded")])
        build_id = next(d for d in details if d["stageName"] == "Build")["output"]["executionResult"]["externalExecutionId"]
        build = self.gantry.boto3("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
        self.assertEqual(build["buildStatus"], "FAILED")
        phase = next(p for p in build["phases"] if p["phaseType"] == "BUILD")
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertEqual(execution(self.cp, first)["status"], "InProgress")

        # The fix, pushed: a new execution passes the tests and waits for approval behind nothing.
        fixed = push_change(git, work, "greeter.py", 'return f"Goodbye, {name}!"', 'return f"Hello, {name}!"',
                            "Fix the greeting")
        fixed_id = execution_of(self.cp, fixed)["pipelineExecutionId"]
        # The first execution still holds the Approval stage: reject it, then approve the fix.
        approve(self.cp, first, status="Rejected")
        rejected = final(self.cp, first)
        self.assertEqual(rejected["status"], "Failed")
        approve(self.cp, fixed_id)
        self.assertEqual(final(self.cp, fixed_id)["status"], "Succeeded", action_errors(self.cp, fixed_id))
        self.assertEqual(execution(self.cp, fixed_id)["artifactRevisions"][0]["revisionId"], fixed)
        self.assertIn("<h1>Hello, pipeline!</h1>", site_object(self.gantry, "index.html"))
        approve_rejected = next(d for d in action_executions(self.cp, first) if d["actionName"] == "Approve")
        self.assertEqual(approve_rejected["status"], "Failed")



class SourceRevisionTest(SampleCase):
    def test_the_build_sees_the_commit_it_builds(self):
        """As in AWS, a build started by the pipeline has the source revision CodePipeline passed
        (the commit) as resolvedSourceVersion and CODEBUILD_RESOLVED_SOURCE_VERSION, which the sample
        app writes into the page it deploys."""
        create_sample(self.gantry, pipeline=False)
        git = self.git()
        _, commit = push_sample(git)
        self.cp.create_pipeline(**setup_json("pipeline.json"))
        execution_id = execution_of(self.cp, commit)["pipelineExecutionId"]
        approve(self.cp, execution_id)
        self.assertEqual(final(self.cp, execution_id)["status"], "Succeeded", action_errors(self.cp, execution_id))
        test = next(d for d in action_executions(self.cp, execution_id) if d["actionName"] == "Test")
        build_id = test["output"]["executionResult"]["externalExecutionId"]
        build = self.gantry.boto3("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
        self.assertEqual(build.get("resolvedSourceVersion"), commit)
        self.assertEqual(json.loads(site_object(self.gantry, "version.json"))["commit"], commit)
        self.assertIn(f"<p>Built from commit <code>{commit}</code>.</p>", site_object(self.gantry, "index.html"))


class RetryTest(SampleCase):
    def test_retry_failed_actions_after_fixing_the_project(self):
        create_sample(self.gantry, pipeline=False, rule=False)
        codebuild = self.gantry.boto3("codebuild")
        # A project whose buildspec checks a setting of the project: closed at first.
        gated = setup_json("codebuild-project.json")
        gated.update(name="gated", source={"type": "CODEPIPELINE", "buildspec": json.dumps({
            "version": 0.2, "phases": {"build": {"commands": ['test "$GATE" = open']}}})},
            environment=dict(gated["environment"], environmentVariables=[{"name": "GATE", "value": "closed"}]))
        codebuild.create_project(**gated)
        iam = self.gantry.boto3("iam")
        iam.put_role_policy(RoleName="pipeline-app-pipeline", PolicyName="gated", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["codebuild:StartBuild",
                                                                                  "codebuild:BatchGetBuilds"],
                                                    "Resource": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/gated"}]}))
        iam.put_role_policy(RoleName="pipeline-app-build", PolicyName="gated-logs", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*",
                                                    "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/codebuild/gated*"}]}))
        declaration = setup_json("pipeline.json")
        stages = declaration["pipeline"]["stages"]
        stages[1]["actions"][0]["configuration"]["ProjectName"] = "gated"
        stages[1]["actions"][0].pop("outputArtifacts")
        declaration["pipeline"]["stages"] = stages[:2]
        git = self.git()
        _, commit = push_sample(git)
        self.cp.create_pipeline(**declaration)
        execution_id = execution_of(self.cp, commit)["pipelineExecutionId"]
        self.assertEqual(final(self.cp, execution_id)["status"], "Failed")
        failed_action = next(d for d in action_executions(self.cp, execution_id) if d["stageName"] == "Build")

        with self.assertRaises(self.cp.exceptions.StageNotRetryableException):
            self.cp.retry_stage_execution(pipelineName=PIPELINE, stageName="Source", pipelineExecutionId=execution_id,
                                          retryMode="FAILED_ACTIONS")
        codebuild.update_project(name="gated", environment=dict(
            gated["environment"], environmentVariables=[{"name": "GATE", "value": "open"}]))
        for name, cli in self.clis()[:1]:
            retried = self.gantry.aws(cli, "codepipeline", "retry-stage-execution", "--pipeline-name", PIPELINE,
                                      "--stage-name", "Build", "--pipeline-execution-id", execution_id,
                                      "--retry-mode", "FAILED_ACTIONS")
            self.assertEqual(retried["pipelineExecutionId"], execution_id)
        done = final(self.cp, execution_id)
        self.assertEqual(done["status"], "Succeeded", action_errors(self.cp, execution_id))
        builds = [d for d in action_executions(self.cp, execution_id) if d["stageName"] == "Build"]
        self.assertEqual(sorted(d["status"] for d in builds), ["Failed", "Succeeded"])
        retried_action = next(d for d in builds if d["status"] == "Succeeded")
        self.assertNotEqual(retried_action["actionExecutionId"], failed_action["actionExecutionId"])
        # The source was not run again: one Source action execution.
        self.assertEqual(len([d for d in action_executions(self.cp, execution_id) if d["stageName"] == "Source"]), 1)


def gate_pipeline(name, bucket, **extra):
    """S3 source → a manual approval, for watching executions meet at a stage."""
    pipeline = {
        "name": name, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/pipeline-app-pipeline",
        "artifactStore": {"type": "S3", "location": ARTIFACTS},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": bucket, "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "Zip"}]}]},
            {"name": "Approval", "actions": [{
                "name": "Approve", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual",
                                                     "version": "1"}}]},
        ]}
    pipeline.update(extra)
    return {"pipeline": pipeline}


class ExecutionModesTest(SampleCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        create_sample(cls.gantry, pipeline=False, rule=False)
        cls.gantry.boto3("iam").put_role_policy(
            RoleName="pipeline-app-pipeline", PolicyName="sources", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": [
                    "arn:aws:s3:::gate-sources", "arn:aws:s3:::gate-sources/*"]}]}))
        s3 = cls.gantry.boto3("s3")
        s3.create_bucket(Bucket="gate-sources")
        s3.put_bucket_versioning(Bucket="gate-sources", VersioningConfiguration={"Status": "Enabled"})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("app.txt", "app\n")
        s3.put_object(Bucket="gate-sources", Key="app.zip", Body=buffer.getvalue())

    def first_execution(self, name):
        """The execution CreatePipeline started, once it waits in Approval."""
        first = wait_for(lambda: self.cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"],
                         10, "the execution CreatePipeline starts")[-1]
        self.assertEqual(first["trigger"]["triggerType"], "CreatePipeline")
        approval_token(self.cp, first["pipelineExecutionId"], pipeline=name)
        return first["pipelineExecutionId"]

    def start_three(self, name):
        """Three executions: the first waits in Approval, the others come behind it."""
        first = self.first_execution(name)
        second = self.cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
        # The second has its source and waits to enter Approval.
        wait_for(lambda: any(d["stageName"] == "Source" and d["status"] == "Succeeded"
                             for d in action_executions(self.cp, second, name)), what="the second execution's source")
        third = self.cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
        wait_for(lambda: any(d["stageName"] == "Source" and d["status"] == "Succeeded"
                             for d in action_executions(self.cp, third, name)), what="the third execution's source")
        return first, second, third

    def test_superseded_is_the_default(self):
        self.cp.create_pipeline(**gate_pipeline("superseding", "gate-sources"))
        self.assertEqual(self.cp.get_pipeline(name="superseding")["pipeline"].get("executionMode", "SUPERSEDED"),
                         "SUPERSEDED")
        first, second, third = self.start_three("superseding")
        # The third overtook the second, which waited at the same place.
        self.assertEqual(final(self.cp, second, "superseding")["status"], "Superseded")
        self.assertEqual(execution(self.cp, first, "superseding")["status"], "InProgress")
        self.assertEqual(execution(self.cp, third, "superseding")["status"], "InProgress")
        approve(self.cp, first, pipeline="superseding")
        self.assertEqual(final(self.cp, first, "superseding")["status"], "Succeeded")
        approve(self.cp, third, pipeline="superseding")
        self.assertEqual(final(self.cp, third, "superseding")["status"], "Succeeded")
        statuses = {s["pipelineExecutionId"]: s["status"] for s in
                    self.cp.list_pipeline_executions(pipelineName="superseding")["pipelineExecutionSummaries"]}
        self.assertEqual((statuses[first], statuses[second], statuses[third]), ("Succeeded", "Superseded", "Succeeded"))

    def test_queued_on_a_v2_pipeline(self):
        self.cp.create_pipeline(**gate_pipeline("queueing", "gate-sources", pipelineType="V2", executionMode="QUEUED"))
        self.assertEqual(self.cp.get_pipeline(name="queueing")["pipeline"]["executionMode"], "QUEUED")
        first, second, third = self.start_three("queueing")
        summaries = {s["pipelineExecutionId"]: s for s in
                     self.cp.list_pipeline_executions(pipelineName="queueing")["pipelineExecutionSummaries"]}
        self.assertEqual([summaries[e]["status"] for e in (first, second, third)], ["InProgress"] * 3)
        self.assertEqual(summaries[second]["executionMode"], "QUEUED")
        # Each enters Approval in its turn, in the order they started.
        for current, waiting in ((first, [second, third]), (second, [third]), (third, [])):
            self.assertEqual(stage_state(self.cp, "Approval", "queueing")["latestExecution"]["pipelineExecutionId"],
                             current)
            for w in waiting:
                self.assertEqual(execution(self.cp, w, "queueing")["status"], "InProgress")
            approve(self.cp, current, pipeline="queueing")
            self.assertEqual(final(self.cp, current, "queueing")["status"], "Succeeded")
            if waiting:
                approval_token(self.cp, waiting[0], pipeline="queueing")

    def test_stop_and_abandon(self):
        self.cp.create_pipeline(**gate_pipeline("stopping", "gate-sources", pipelineType="V2"))
        first = self.first_execution("stopping")
        stopped = self.cp.stop_pipeline_execution(pipelineName="stopping", pipelineExecutionId=first, abandon=True,
                                                  reason="not needed")
        self.assertEqual(stopped["pipelineExecutionId"], first)
        self.assertEqual(final(self.cp, first, "stopping")["status"], "Stopped")
        approval = next(d for d in action_executions(self.cp, first, "stopping") if d["stageName"] == "Approval")
        self.assertEqual(approval["status"], "Abandoned")
        summary = self.cp.list_pipeline_executions(pipelineName="stopping")["pipelineExecutionSummaries"][0]
        self.assertEqual(summary["stopTrigger"]["reason"], "not needed")


class RestartTest(unittest.TestCase):
    """kill -9 with an execution waiting for approval, then with one building; the same state
    directory afterwards."""

    def start(self, state_dir=None):
        gantry = Gantry(state_dir=state_dir).start()
        self.addCleanup(gantry.stop)
        return gantry

    def test_kill_9_waiting_for_approval_and_while_building(self):
        gantry = self.start()
        self.addCleanup(gantry.cleanup)
        create_sample(gantry)
        git = Git(gantry, AWS_V1 or AWS_V2)
        self.addCleanup(git.cleanup)
        work, commit = push_sample(git)
        cp = gantry.boto3("codepipeline")
        waiting = execution_of(cp, commit)["pipelineExecutionId"]
        token = approval_token(cp, waiting)
        gantry.kill9()

        gantry = self.start(gantry.state_dir)
        cp = gantry.boto3("codepipeline")
        self.assertEqual(execution(cp, waiting)["status"], "InProgress")
        self.assertEqual(approval_token(cp, waiting), token)
        cp.put_approval_result(pipelineName=PIPELINE, stageName="Approval", actionName="Approve", token=token,
                               result={"status": "Approved", "summary": "after a restart"})
        self.assertEqual(final(cp, waiting)["status"], "Succeeded", action_errors(cp, waiting))
        self.assertIn("<h1>Hello, pipeline!</h1>", site_object(gantry, "index.html"))  # deployed after the restart

        # A build in flight: its execution fails with the reason after the restart.
        marker = "cp-restart-" + os.urandom(4).hex()
        gantry.boto3("codebuild").update_project(name=PIPELINE, source={"type": "CODEPIPELINE", "buildspec": json.dumps(
            {"version": 0.2, "phases": {"build": {"commands": [f"sh -c 'sleep 299; echo {marker}'"]}}})})
        git.gantry = gantry  # the restarted server listens on another port
        git.run("remote", "set-url", "origin", git.url(PIPELINE), cwd=work)
        slow = push_change(git, work, "greeter.py", 'default="pipeline"', 'default="slow"', "Slow build")
        building = execution_of(cp, slow)["pipelineExecutionId"]
        wait_for(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0,
                 what="the build's processes")
        gantry.kill9()

        gantry = self.start(gantry.state_dir)
        cp = gantry.boto3("codepipeline")
        ended = final(cp, building, timeout=90)
        self.assertEqual(ended["status"], "Failed")
        build_action = next(d for d in action_executions(cp, building) if d["stageName"] == "Build")
        self.assertEqual(build_action["status"], "Failed")
        result = build_action["output"]["executionResult"]
        self.assertTrue(result.get("externalExecutionSummary"), build_action)
        state = stage_state(cp, "Build")["actionStates"][0]["latestExecution"]
        self.assertEqual(state["status"], "Failed")
        self.assertTrue(state["errorDetails"]["message"], state)
        wait_for(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1,
                 what="the build's processes to end")
        # Nothing is left InProgress.
        self.assertEqual({s["status"] for s in cp.list_pipeline_executions(pipelineName=PIPELINE)[
            "pipelineExecutionSummaries"]}, {"Succeeded", "Failed"})


if __name__ == "__main__":
    unittest.main()
