"""`gantry build`: a buildspec run in place, with no server for plain builds and a running Gantry
for parameter-store and secrets-manager values."""
import os
import shutil
import subprocess
import tempfile
import textwrap
import unittest

from harness import GANTRY, Gantry


def run_build(directory, *args, env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update(env or {})
    return subprocess.run([os.path.abspath(GANTRY), "build"] + list(args), cwd=directory, env=full_env,
                          capture_output=True, text=True, timeout=120)


class GantryBuildTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gantry-build-e2e-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))

    def test_runs_in_place_with_shell_semantics(self):
        self.write("buildspec.yml", """\
            version: 0.2
            env:
              variables:
                GREETING: hello
                FROM_SPEC: spec
              exported-variables:
                - RESULT
            phases:
              install:
                commands:
                  - mkdir -p out && cd out
              build:
                commands:
                  - pwd > ../where.txt
                  - export RESULT="$GREETING-$FROM_SPEC"
                  - echo "src=$CODEBUILD_SRC_DIR succeeding=$CODEBUILD_BUILD_SUCCEEDING id=$CODEBUILD_BUILD_ID"
                  - echo made > artifact.txt
            artifacts:
              files:
                - out/**/*
            """)
        artifacts = os.path.join(self.dir, "artifacts-out")
        p = run_build(self.dir, "--env", "FROM_SPEC=flag", "--artifacts", artifacts)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # The working directory carried from INSTALL to BUILD; files stay in the source directory.
        with open(os.path.join(self.dir, "where.txt")) as f:
            self.assertEqual(f.read().strip(), os.path.realpath(os.path.join(self.dir, "out")))
        self.assertIn(f"src={os.path.realpath(self.dir)} succeeding=1 id=", p.stdout.replace(self.dir, os.path.realpath(self.dir)))
        self.assertIn("exported RESULT=hello-flag", p.stdout)  # --env wins over the buildspec
        with open(os.path.join(artifacts, "out", "artifact.txt")) as f:
            self.assertEqual(f.read(), "made\n")
        for phase in ("INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS"):
            self.assertRegex(p.stdout, rf"\[gantry\] {phase} +SUCCEEDED")

    def test_source_variables_come_from_the_git_work_tree(self):
        self.write("buildspec.yml", """\
            version: 0.2
            phases:
              build:
                commands:
                  - echo "resolved=$CODEBUILD_RESOLVED_SOURCE_VERSION url=$CODEBUILD_SOURCE_REPO_URL"
            """)
        git = ["git", "-C", self.dir, "-c", "user.name=t", "-c", "user.email=t@example.com"]
        subprocess.run(git + ["init", "-q", "-b", "main"], check=True)
        subprocess.run(git + ["remote", "add", "origin", "http://127.0.0.1:4566/v1/repos/app"], check=True)
        subprocess.run(git + ["add", "buildspec.yml"], check=True)
        subprocess.run(git + ["commit", "-q", "-m", "first"], check=True)
        head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        for packed in (False, True):
            if packed:
                subprocess.run(git + ["pack-refs", "--all"], check=True)  # the branch now lives in packed-refs
            p = run_build(self.dir, "--buildspec", "buildspec.yml")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn(f"resolved={head} url=http://127.0.0.1:4566/v1/repos/app", p.stdout)

    def test_failed_command_fails_build_and_post_build_still_runs(self):
        self.write("buildspec.yml", """\
            version: 0.2
            phases:
              build:
                commands:
                  - echo before
                  - exit 3
                  - echo never
                finally:
                  - echo cleanup
              post_build:
                commands:
                  - echo "post succeeding=$CODEBUILD_BUILD_SUCCEEDING"
            """)
        p = run_build(self.dir)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("before", p.stdout)
        self.assertNotIn("never\n", p.stdout)
        self.assertIn("cleanup", p.stdout)
        self.assertIn("post succeeding=0", p.stdout)
        self.assertRegex(p.stdout, r"\[gantry\] BUILD +FAILED .*COMMAND_EXECUTION_ERROR")
        self.assertRegex(p.stdout, r"Build FAILED")

    def test_bad_buildspec_names_the_line(self):
        self.write("buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n      - a: b\n")
        p = run_build(self.dir)
        self.assertEqual(p.returncode, 1)
        self.assertIn("YAML_FILE_ERROR", p.stdout)
        self.assertIn("line 5", p.stdout)

    def test_missing_buildspec_is_a_usage_error(self):
        p = run_build(self.dir)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no buildspec.yml", p.stderr)

    def test_artifacts_stay_inside_the_source_and_the_artifacts_directory(self):
        outside = tempfile.mkdtemp(prefix="gantry-build-e2e-outside-")
        self.addCleanup(shutil.rmtree, outside, True)
        with open(os.path.join(outside, "secret.txt"), "w") as f:
            f.write("outside the source\n")
        self.write("buildspec.yml", f"""\
            version: 0.2
            phases:
              build:
                commands:
                  - echo in > inside.txt
                  - ln -s {outside}/secret.txt stolen.txt
                  - ln -s /proc/self/environ environ
                  - ln -s {outside} report
                  - mkdir -p reports && echo r > reports/r.txt
            artifacts:
              files:
                - inside.txt
                - stolen.txt
                - environ
            """)
        artifacts = os.path.join(self.dir, "artifacts-out")
        p = run_build(self.dir, "--artifacts", artifacts)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(sorted(os.listdir(artifacts)), ["inside.txt"])
        self.assertIn("Skipping stolen.txt: it resolves outside the source directory", p.stdout)
        self.assertIn("Skipping environ: it resolves outside the source directory", p.stdout)

        # A link kept by enable-symlinks is never written through by a later artifact.
        shutil.rmtree(artifacts)
        self.write("buildspec.yml", """\
            version: 0.2
            phases:
              build:
                commands:
                  - echo r > r.txt
            artifacts:
              files:
                - report
              enable-symlinks: yes
              secondary-artifacts:
                report:
                  files:
                    - r.txt
            """)
        p = run_build(self.dir, "--artifacts", artifacts)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"UPLOAD_ARTIFACTS +FAILED .*CLIENT_ERROR: artifact path report/r.txt: "
                                   r".*/artifacts-out/report is not a directory")
        self.assertTrue(os.path.islink(os.path.join(artifacts, "report")))
        self.assertEqual(sorted(os.listdir(outside)), ["secret.txt"])

        # Patterns with `..` are refused before anything is read.
        self.write("buildspec.yml", """\
            version: 0.2
            phases:
              build:
                commands:
                  - echo hi
            artifacts:
              files:
                - ../*
            """)
        p = run_build(self.dir, "--artifacts", artifacts)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"UPLOAD_ARTIFACTS +FAILED .*CLIENT_ERROR: artifact files pattern \.\./\* leaves "
                                   r"the source directory: '\.\.' is not allowed")

    def test_the_work_root_is_a_fresh_private_directory_removed_afterwards(self):
        self.write("buildspec.yml", """\
            version: 0.2
            phases:
              build:
                commands:
                  - stat -c 'work-root %a %n' "$TMPDIR"/gantry-build-*
            """)
        tmp = tempfile.mkdtemp(prefix="gantry-build-e2e-tmp-")
        self.addCleanup(shutil.rmtree, tmp, True)
        p = run_build(self.dir, env={"TMPDIR": tmp})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"\nwork-root 700 " + tmp + r"/gantry-build-[A-Za-z0-9]{6}\n")
        self.assertEqual(os.listdir(tmp), [])

    def test_secrets_need_an_endpoint(self):
        self.write("buildspec.yml", """\
            version: 0.2
            env:
              secrets-manager:
                TOKEN: app/token
            phases:
              build:
                commands:
                  - echo "token=$TOKEN"
            """)
        p = run_build(self.dir)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot resolve secret app/token: no Gantry to ask", p.stdout)
        self.assertNotIn("token=", p.stdout)


class GantryBuildWithServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gantry = Gantry().start()

    @classmethod
    def tearDownClass(cls):
        cls.gantry.cleanup()

    def test_parameters_and_secrets_from_a_running_gantry_are_masked(self):
        ssm, secrets = self.gantry.boto3("ssm"), self.gantry.boto3("secretsmanager")
        ssm.put_parameter(Name="/app/plain", Value="visible-value", Type="String")
        ssm.put_parameter(Name="/app/secure", Value="hidden-param", Type="SecureString")
        secrets.create_secret(Name="app/creds", SecretString='{"user":"admin","password":"s3cr3t-pw"}')
        directory = tempfile.mkdtemp(prefix="gantry-build-e2e-")
        self.addCleanup(shutil.rmtree, directory, True)
        with open(os.path.join(directory, "buildspec.yml"), "w") as f:
            f.write(textwrap.dedent("""\
                version: 0.2
                env:
                  parameter-store:
                    PLAIN: /app/plain
                    SECURE: /app/secure
                  secrets-manager:
                    PASSWORD: app/creds:password
                phases:
                  build:
                    commands:
                      - echo "plain=$PLAIN secure=$SECURE password=$PASSWORD"
                """))
        key, secret = self.gantry.credentials()
        p = run_build(directory, "--endpoint", self.gantry.endpoint,
                      env={"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("plain=visible-value secure=*** password=***", p.stdout)
        self.assertNotIn("hidden-param", p.stdout)
        self.assertNotIn("s3cr3t-pw", p.stdout)

    def test_exported_variables_holding_a_secret_are_masked_in_the_summary(self):
        self.gantry.boto3("secretsmanager").create_secret(Name="app/exported", SecretString="l3aked-v4lue")
        directory = tempfile.mkdtemp(prefix="gantry-build-e2e-")
        self.addCleanup(shutil.rmtree, directory, True)
        with open(os.path.join(directory, "buildspec.yml"), "w") as f:
            f.write(textwrap.dedent("""\
                version: 0.2
                env:
                  secrets-manager:
                    TOKEN: app/exported
                  exported-variables:
                    - TOKEN
                    - COPY
                    - PLAIN
                phases:
                  build:
                    commands:
                      - export COPY="copy-$TOKEN" PLAIN=shown
                """))
        key, secret = self.gantry.credentials()
        p = run_build(directory, "--endpoint", self.gantry.endpoint,
                      env={"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("l3aked-v4lue", p.stdout)
        self.assertIn("Not exporting TOKEN", p.stdout)
        self.assertIn("exported COPY=copy-***", p.stdout)
        self.assertIn("exported PLAIN=shown", p.stdout)

    def test_missing_secret_fails_with_the_aws_error(self):
        directory = tempfile.mkdtemp(prefix="gantry-build-e2e-")
        self.addCleanup(shutil.rmtree, directory, True)
        with open(os.path.join(directory, "buildspec.yml"), "w") as f:
            f.write("version: 0.2\nenv:\n  secrets-manager:\n    X: no/such\nphases:\n  build:\n    commands:\n      - echo ran\n")
        key, secret = self.gantry.credentials()
        p = run_build(directory, "--endpoint", self.gantry.endpoint,
                      env={"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})
        self.assertEqual(p.returncode, 1)
        self.assertIn("ResourceNotFoundException", p.stdout)
        self.assertNotIn("\nran\n", p.stdout)


if __name__ == "__main__":
    unittest.main()
