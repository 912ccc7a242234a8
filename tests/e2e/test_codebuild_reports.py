"""CodeBuild test and coverage reports through boto3 and both CLIs: a build whose buildspec `reports`
name real report files (pytest's JUnit XML and coverage.py's Cobertura XML from tests/data/reports)
creates the report groups "<project>-<name>" as its service role and one report in each, plus one in
a report group named by ARN; the reports' summaries, test cases (filtered by status and keyword),
code coverage rows, the group trend, the build's reportArns and log lines; a build whose BUILD phase
fails still reports; a role that may not create report groups gets no report; DeleteReportGroup
refuses a group with reports unless deleteReports; a build that CodePipeline starts (S3 source
action, CODEPIPELINE project) reports too."""
import io
import json
import os
import zipfile

from harness import wait_for
from test_codebuild import ENVIRONMENT, CodeBuildCase, buildspec, make_role

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "reports")
ARN_PREFIX = "arn:aws:codebuild:us-east-1:000000000000"


def sample(*parts):
    with open(os.path.join(DATA, *parts), "rb") as f:
        return f.read()


class ReportsTest(CodeBuildCase):
    role_name = "codebuild-reports"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="reports-src")

    def source(self, key, spec, files):
        """An S3 zip source holding buildspec.yml and files (path -> bytes)."""
        body = io.BytesIO()
        with zipfile.ZipFile(body, "w") as z:
            z.writestr("buildspec.yml", spec)
            for path, data in files.items():
                z.writestr(path, data)
        self.s3.put_object(Bucket="reports-src", Key=key, Body=body.getvalue())
        return {"type": "S3", "location": f"reports-src/{key}"}

    def run_project(self, name, spec, files, role=None):
        self.codebuild.create_project(name=name, source=self.source(f"{name}.zip", spec, files),
                                      artifacts={"type": "NO_ARTIFACTS"}, environment=ENVIRONMENT,
                                      serviceRole=role or self.role)
        return self.run_build(name, 120)

    def test_build_reports_read_through_every_client(self):
        shared = self.codebuild.create_report_group(
            name="shared-junit", type="TEST", exportConfig={"exportConfigType": "NO_EXPORT"})["reportGroup"]
        self.assertEqual(shared["arn"], f"{ARN_PREFIX}:report-group/shared-junit")
        spec = buildspec(
            {"build": {"commands": ["mkdir -p out", "cp results/pytest.xml out/TEST-calc.xml"]}},
            reports={
                "pytest": {"files": ["TEST-*.xml"], "base-directory": "out", "file-format": "JUNITXML"},
                "coverage": {"files": ["coverage/*.xml"], "file-format": "COBERTURAXML"},
                shared["arn"]: {"files": ["results/pytest.xml"]},
            })
        build = self.run_project("tested", spec, {
            "results/pytest.xml": sample("junitxml", "pytest.xml"),
            "coverage/coverage-py.xml": sample("coberturaxml", "coverage-py.xml"),
        })
        self.assertEqual(build["buildStatus"], "SUCCEEDED", json.dumps(build["phases"], default=str))
        self.assertEqual(len(build["reportArns"]), 3, build.get("reportArns"))
        pytest_group = f"{ARN_PREFIX}:report-group/tested-pytest"
        coverage_group = f"{ARN_PREFIX}:report-group/tested-coverage"

        groups = self.codebuild.list_report_groups()["reportGroups"]
        for arn in (pytest_group, coverage_group, shared["arn"]):
            self.assertIn(arn, groups)
        got = self.codebuild.batch_get_report_groups(reportGroupArns=[pytest_group, coverage_group])
        self.assertEqual([g["type"] for g in got["reportGroups"]], ["TEST", "CODE_COVERAGE"])
        self.assertEqual([g["status"] for g in got["reportGroups"]], ["ACTIVE", "ACTIVE"])

        lines = self.log_lines(build)
        self.assertTrue(any(f"Created report group {pytest_group}" in line for line in lines), lines)
        self.assertTrue(any(": FAILED, 8 test case(s)" in line for line in lines), lines)

        for name, cli in self.clis():
            with self.subTest(cli=name):
                listed = self.gantry.aws(cli, "codebuild", "list-reports-for-report-group",
                                         "--report-group-arn", pytest_group)["reports"]
                self.assertEqual(len(listed), 1)
                self.assertIn(listed[0], build["reportArns"])
                report = self.gantry.aws(cli, "codebuild", "batch-get-reports",
                                         "--report-arns", listed[0])["reports"][0]
                self.assertEqual(report["status"], "FAILED")
                self.assertEqual(report["type"], "TEST")
                self.assertEqual(report["name"], "tested-pytest")
                self.assertEqual(report["reportGroupArn"], pytest_group)
                self.assertEqual(report["executionId"], build["arn"])
                self.assertEqual(report["testSummary"]["total"], 8)
                self.assertEqual(report["testSummary"]["statusCounts"],
                                 {"SUCCEEDED": 5, "FAILED": 1, "ERROR": 1, "SKIPPED": 1})
                failed = self.gantry.aws(cli, "codebuild", "describe-test-cases", "--report-arn", listed[0],
                                         "--filter", "status=FAILED")["testCases"]
                self.assertEqual([c["name"] for c in failed], ["test_wrong_expectation"])
                self.assertEqual(failed[0]["prefix"], "tests.test_calc.TestDivide")
                self.assertIn("assert 0.5 == 1", failed[0]["message"])
                classify = self.gantry.aws(cli, "codebuild", "describe-test-cases", "--report-arn", listed[0],
                                           "--filter", "keyword=classify")["testCases"]
                self.assertEqual(len(classify), 3)

                coverage_arn = self.gantry.aws(cli, "codebuild", "list-reports-for-report-group",
                                               "--report-group-arn", coverage_group)["reports"][0]
                coverage = self.gantry.aws(cli, "codebuild", "batch-get-reports",
                                           "--report-arns", coverage_arn)["reports"][0]
                self.assertEqual(coverage["status"], "SUCCEEDED")
                summary = coverage["codeCoverageSummary"]
                self.assertEqual((summary["linesCovered"], summary["linesMissed"]), (30, 6))
                self.assertEqual(summary["lineCoveragePercentage"], 83.33)
                rows = self.gantry.aws(cli, "codebuild", "describe-code-coverages", "--report-arn", coverage_arn,
                                       "--sort-by", "FILE_PATH")["codeCoverages"]
                paths = [r["filePath"] for r in rows]
                self.assertEqual(paths, sorted(paths))
                self.assertIn("calc.py", paths)
                calc = next(r for r in rows if r["filePath"] == "calc.py")
                self.assertEqual(calc["lineCoveragePercentage"], 73.33)

                trend = self.gantry.aws(cli, "codebuild", "get-report-group-trend", "--report-group-arn",
                                        pytest_group, "--trend-field", "PASS_RATE")
                self.assertEqual(trend["stats"], {"average": "62.50", "max": "62.50", "min": "62.50"})
                self.assertEqual(trend["rawData"], [{"reportArn": listed[0], "data": "62.50"}])

        shared_reports = self.codebuild.list_reports_for_report_group(reportGroupArn=shared["arn"])["reports"]
        self.assertEqual(len(shared_reports), 1)
        self.assertIn(shared_reports[0], build["reportArns"])
        by_status = self.codebuild.list_reports(filter={"status": "SUCCEEDED"})["reports"]
        self.assertIn(self.codebuild.list_reports_for_report_group(reportGroupArn=coverage_group)["reports"][0],
                      by_status)
        self.assertNotIn(shared_reports[0], by_status)

    def test_a_failed_build_phase_still_reports(self):
        spec = buildspec({"build": {"commands": ["cp results/pytest.xml TEST-late.xml", "exit 1"]}},
                         reports={"unit": {"files": ["TEST-*.xml"], "file-format": "JUNITXML"}})
        build = self.run_project("failing", spec, {"results/pytest.xml": sample("junitxml", "pytest.xml")})
        self.assertEqual(build["buildStatus"], "FAILED")
        self.assertEqual(self.phase(build, "BUILD")["phaseStatus"], "FAILED")
        self.assertEqual(len(build["reportArns"]), 1, build.get("reportArns"))
        for name, cli in self.clis():
            with self.subTest(cli=name):
                report = self.gantry.aws(cli, "codebuild", "batch-get-reports", "--report-arns",
                                         build["reportArns"][0])["reports"][0]
                self.assertEqual(report["reportGroupArn"], f"{ARN_PREFIX}:report-group/failing-unit")
                self.assertEqual(report["status"], "FAILED")
                self.assertEqual(report["testSummary"]["total"], 8)
                failed = self.gantry.aws(cli, "codebuild", "describe-test-cases", "--report-arn",
                                         build["reportArns"][0], "--filter", "status=FAILED")["testCases"]
                self.assertEqual([c["name"] for c in failed], ["test_wrong_expectation"])

    def test_delete_report_group_rules(self):
        spec = buildspec({"build": {"commands": ["true"]}},
                         reports={"unit": {"files": ["pytest.xml"], "file-format": "JUNITXML"}})
        build = self.run_project("deleting", spec, {"pytest.xml": sample("junitxml", "pytest.xml")})
        self.assertEqual(len(build["reportArns"]), 1)
        group = f"{ARN_PREFIX}:report-group/deleting-unit"
        for name, cli in self.clis():
            with self.subTest(cli=name):
                code, _, err = self.gantry.aws(cli, "codebuild", "delete-report-group", "--arn", group, check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("InvalidInputException", err)
                self.assertIn("contains reports", err)
        self.gantry.aws(self.clis()[0][1], "codebuild", "delete-report-group", "--arn", group, "--delete-reports")
        self.assertEqual(self.codebuild.batch_get_report_groups(reportGroupArns=[group])["reportGroupsNotFound"],
                         [group])
        self.assertEqual(self.codebuild.batch_get_reports(reportArns=build["reportArns"])["reportsNotFound"],
                         build["reportArns"])
        self.assertEqual(self.codebuild.batch_get_builds(ids=[build["id"]])["builds"][0]["reportArns"],
                         build["reportArns"])

    def test_role_without_report_permissions_gets_no_report(self):
        role = make_role(self.gantry, "codebuild-no-reports", actions=("logs:*", "s3:*"))
        spec = buildspec({"build": {"commands": ["true"]}},
                         reports={"unit": {"files": ["pytest.xml"]}})
        build = self.run_project("denied", spec, {"pytest.xml": sample("junitxml", "pytest.xml")}, role=role)
        self.assertEqual(build["buildStatus"], "SUCCEEDED")
        self.assertNotIn("reportArns", build)
        lines = self.log_lines(build)
        self.assertTrue(any(f"Cannot create report group {ARN_PREFIX}:report-group/denied-unit: AccessDenied" in line
                            for line in lines), lines)

    def test_role_that_may_create_the_group_but_not_put_test_cases_gets_no_report(self):
        role = make_role(self.gantry, "codebuild-no-test-cases",
                         actions=("logs:*", "s3:*", "codebuild:CreateReportGroup", "codebuild:CreateReport",
                                  "codebuild:UpdateReport"))
        spec = buildspec({"build": {"commands": ["true"]}},
                         reports={"unit": {"files": ["pytest.xml"]}})
        build = self.run_project("no-cases", spec, {"pytest.xml": sample("junitxml", "pytest.xml")}, role=role)
        self.assertEqual(build["buildStatus"], "SUCCEEDED")
        self.assertNotIn("reportArns", build)
        lines = self.log_lines(build)
        self.assertTrue(any(f"Cannot report to report group {ARN_PREFIX}:report-group/no-cases-unit: AccessDenied" in line
                            and "codebuild:BatchPutTestCases" in line for line in lines), lines)

    def test_reports_of_a_build_codepipeline_starts(self):
        iam = self.gantry.boto3("iam")
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        pipeline_role = iam.create_role(RoleName="reports-pipeline", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName="reports-pipeline", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        for bucket in ("reports-pipeline-src", "reports-pipeline-artifacts"):
            self.s3.create_bucket(Bucket=bucket)
            self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        body = io.BytesIO()
        with zipfile.ZipFile(body, "w") as z:
            z.writestr("pytest.xml", sample("junitxml", "pytest.xml"))
        self.s3.put_object(Bucket="reports-pipeline-src", Key="app.zip", Body=body.getvalue())
        self.codebuild.create_project(
            name="piped", environment=ENVIRONMENT, serviceRole=self.role, artifacts={"type": "CODEPIPELINE"},
            source={"type": "CODEPIPELINE", "buildspec": buildspec(
                {"build": {"commands": ["ls pytest.xml"]}}, reports={"unit": {"files": ["pytest.xml"]}})})
        cp = self.gantry.boto3("codepipeline")
        cp.create_pipeline(pipeline={
            "name": "reports-pipeline", "roleArn": pipeline_role,
            "artifactStore": {"type": "S3", "location": "reports-pipeline-artifacts"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "reports-pipeline-src", "S3ObjectKey": "app.zip",
                                      "PollForSourceChanges": "false"},
                    "outputArtifacts": [{"name": "SourceOutput"}]}]},
                {"name": "Build", "actions": [{
                    "name": "Test",
                    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": "piped"},
                    "inputArtifacts": [{"name": "SourceOutput"}]}]}]})

        def finished():
            summaries = cp.list_pipeline_executions(pipelineName="reports-pipeline")["pipelineExecutionSummaries"]
            return next((e for e in summaries if e["status"] not in ("InProgress", "Stopping")), None)
        execution = wait_for(finished, 120, "the pipeline's execution")
        self.assertEqual(execution["status"], "Succeeded", execution)
        build_id = self.codebuild.list_builds_for_project(projectName="piped")["ids"][0]
        build = self.codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        self.assertEqual(build["initiator"], "codepipeline/reports-pipeline")
        self.assertEqual(len(build["reportArns"]), 1)
        report = self.codebuild.batch_get_reports(reportArns=build["reportArns"])["reports"][0]
        self.assertEqual(report["reportGroupArn"], f"{ARN_PREFIX}:report-group/piped-unit")
        self.assertEqual(report["status"], "FAILED")
        self.assertEqual(report["testSummary"]["total"], 8)
