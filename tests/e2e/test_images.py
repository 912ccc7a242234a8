"""`gantry image`: registering, listing and removing the images container builds run in, with no
server; build-standard making the standard image with debootstrap, and a CodeBuild project written for
AWS running unchanged in it."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import GANTRY, GantryTestCase, wait_for

BUSYBOX = "/bin/busybox" if os.path.exists("/bin/busybox") else "/usr/bin/busybox"


def gantry_image(*args, env=None, timeout=60):
    full_env = {k: v for k, v in os.environ.items() if k != "GANTRY_STATE_DIR"}
    full_env.update(env or {})
    return subprocess.run([os.path.abspath(GANTRY), "image"] + list(args), env=full_env, capture_output=True,
                          text=True, timeout=timeout)


class ImageCommandTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gantry-images-e2e-")
        self.state = os.path.join(self.dir, "state")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def busybox_rootfs(self, name="rootfs"):
        rootfs = os.path.join(self.dir, name)
        os.makedirs(os.path.join(rootfs, "bin"))
        shutil.copy(BUSYBOX, os.path.join(rootfs, "bin", "busybox"))
        os.symlink("busybox", os.path.join(rootfs, "bin", "sh"))
        return rootfs

    def list_images(self, *args, env=None):
        out = gantry_image("list", *args, env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        return [line.split("\t") for line in out.stdout.splitlines()]

    def test_registers_lists_and_removes_a_rootfs(self):
        rootfs = self.busybox_rootfs()
        out = gantry_image("register", "my/busybox:1", rootfs, "--env", "GREETING=hello", "--state-dir", self.state)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), f"registered my/busybox:1: {os.path.realpath(rootfs)}")
        # The record is a file of the state directory, readable by a server started on it later.
        records = os.listdir(os.path.join(self.state, "images", "names"))
        self.assertEqual(records, ["my%2Fbusybox%3A1.json"])
        with open(os.path.join(self.state, "images", "names", records[0])) as f:
            record = json.load(f)
        self.assertEqual(record["rootfs"], os.path.realpath(rootfs))
        self.assertEqual(record["env"], ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                         "GREETING=hello"])

        # GANTRY_STATE_DIR names the same store as --state-dir.
        images = self.list_images(env={"GANTRY_STATE_DIR": self.state})
        self.assertEqual(images, [["my/busybox:1", os.path.realpath(rootfs),
                                   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GREETING=hello"]])
        self.assertEqual(self.list_images("--state-dir", os.path.join(self.dir, "other")), [])

        out = gantry_image("register", "aws/codebuild/standard:7.0", rootfs, "--state-dir", self.state)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual([i[0] for i in self.list_images("--state-dir", self.state)],
                         ["aws/codebuild/standard:7.0", "my/busybox:1"])

        out = gantry_image("remove", "my/busybox:1", "--state-dir", self.state)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual([i[0] for i in self.list_images("--state-dir", self.state)], ["aws/codebuild/standard:7.0"])
        self.assertTrue(os.path.exists(os.path.join(rootfs, "bin", "busybox")))  # registered where it is: kept
        out = gantry_image("remove", "my/busybox:1", "--state-dir", self.state)
        self.assertEqual(out.returncode, 1)
        self.assertIn("my/busybox:1 is not registered", out.stderr)

    def test_rejects_a_rootfs_without_a_shell_and_bad_usage(self):
        empty = os.path.join(self.dir, "empty")
        os.makedirs(os.path.join(empty, "bin"))
        os.symlink("/bin/sh", os.path.join(empty, "bin", "sh"))  # the host's shell is not the image's
        out = gantry_image("register", "img", empty, "--state-dir", self.state)
        self.assertEqual(out.returncode, 1)
        self.assertIn("holds no /bin/sh or /bin/bash", out.stderr)
        self.assertEqual(self.list_images("--state-dir", self.state), [])

        rootfs = self.busybox_rootfs()
        for args, message in [(["register", "img"], "register takes NAME and DIR"),
                              (["register", "bad name", rootfs], "holds ' '"),
                              (["register", "img", rootfs, "--env", "NOEQUALS"], "--env takes KEY=VALUE"),
                              (["list", "--name", "x"], "flags of build-standard"),
                              (["frobnicate"], "unknown command 'frobnicate'")]:
            out = gantry_image(*args, "--state-dir", self.state)
            self.assertEqual(out.returncode, 2, args)
            self.assertIn(message, out.stderr)

    def test_registers_an_oci_layout(self):
        layout = os.path.join(self.dir, "layout")
        bundle = os.path.join(self.dir, "bundle")
        rootless = [] if os.geteuid() == 0 else ["--rootless"]
        subprocess.run(["umoci", "init", "--layout", layout], check=True)
        subprocess.run(["umoci", "new", "--image", layout + ":v1"], check=True)
        subprocess.run(["umoci", "unpack"] + rootless + ["--image", layout + ":v1", bundle], check=True,
                       capture_output=True)
        os.makedirs(os.path.join(bundle, "rootfs", "bin"))
        shutil.copy(BUSYBOX, os.path.join(bundle, "rootfs", "bin", "busybox"))
        os.symlink("busybox", os.path.join(bundle, "rootfs", "bin", "sh"))
        subprocess.run(["umoci", "repack", "--image", layout + ":v1", bundle], check=True, capture_output=True)
        subprocess.run(["umoci", "config", "--image", layout + ":v1", "--config.env", "PATH=/bin",
                        "--config.workingdir", "/src"], check=True)

        out = gantry_image("register", "tiny:1", layout + ":v1", "--state-dir", self.state)
        self.assertEqual(out.returncode, 0, out.stderr)
        [[name, rootfs, env, workdir]] = self.list_images("--state-dir", self.state)
        self.assertEqual((name, env, workdir), ("tiny:1", "PATH=/bin", "workdir=/src"))
        self.assertTrue(rootfs.startswith(os.path.join(self.state, "images", "unpacked", "sha256-")), rootfs)
        self.assertTrue(os.path.islink(os.path.join(rootfs, "bin", "sh")))
        self.assertEqual(os.path.getsize(os.path.join(rootfs, "bin", "busybox")), os.path.getsize(BUSYBOX))

        out = gantry_image("register", "tiny:1", layout + ":v2", "--state-dir", self.state)
        self.assertEqual(out.returncode, 1)
        self.assertIn("holds no image v2 (it holds: v1)", out.stderr)

        out = gantry_image("remove", "tiny:1", "--state-dir", self.state)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertFalse(os.path.exists(rootfs))  # unpacked by the store: goes with its last name


def standard_image_available():
    return os.geteuid() == 0 and shutil.which("debootstrap", path=os.environ.get("PATH", "") + ":/usr/sbin") \
        and shutil.which("runc", path=os.environ.get("PATH", "") + ":/usr/sbin")


# A project as written for AWS CodeBuild: its image, its compute type, a bash buildspec using git,
# python3 and the aws CLI as the build's role. Nothing in it knows about Gantry.
AWS_BUILDSPEC = """version: 0.2
phases:
  install:
    commands:
      - git --version
      - python3 --version
      - aws --version
  build:
    commands:
      - |
        tools=(git python3 aws)
        for t in "${tools[@]}"; do [[ -x "$(command -v "$t")" ]] && echo "has $t"; done
      - |
        git init -q /tmp/repo && cd /tmp/repo
        git -c user.name=b -c user.email=b@example.com commit -q --allow-empty -m first
        echo "commits: $(git rev-list --count HEAD)"
      - |
        python3 -c 'import json, sys; print("python says", json.dumps({"major": sys.version_info[0]}))'
      - echo "caller $(aws sts get-caller-identity --query Arn --output text)"
      - aws s3 ls "s3://$BUCKET/" | sed 's/^/listed /'
      - echo "from the build" > out.txt && aws s3 cp out.txt "s3://$BUCKET/from-build.txt"
"""


@unittest.skipUnless(standard_image_available(), "build-standard needs root, debootstrap and runc")
class StandardImageTest(GantryTestCase):
    """`gantry image build-standard` as documented (default package list, Debian's mirror), then a
    CodeBuild project written for AWS (image aws/codebuild/standard:7.0) that runs unchanged in it."""

    def test_build_standard_then_an_aws_project_runs_in_it(self):
        started = time.monotonic()
        # The running server sees the registration at its next build: same state directory.
        out = gantry_image("build-standard", "--state-dir", self.gantry.state_dir, timeout=900)
        self.assertEqual(out.returncode, 0, out.stdout[-3000:] + out.stderr[-3000:])
        built = time.monotonic()
        self.assertIn("gantry image: building aws/codebuild/standard:7.0 from Debian bookworm", out.stdout)
        self.assertIn("I: Base system installed successfully.", out.stdout + out.stderr)
        [[name, rootfs, env]] = [line.split("\t") for line in gantry_image(
            "list", "--state-dir", self.gantry.state_dir).stdout.splitlines()]
        self.assertEqual(name, "aws/codebuild/standard:7.0")
        self.assertEqual(os.path.dirname(rootfs), os.path.join(self.gantry.state_dir, "images", "rootfs"))
        self.assertEqual(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8")
        with open(os.path.join(rootfs, "etc", "debian_version")) as f:
            self.assertTrue(f.read().startswith("12."))
        self.assertTrue(os.path.islink(os.path.join(rootfs, "bin")))  # merged /usr
        self.assertEqual([f for f in os.listdir(os.path.join(rootfs, "var/cache/apt/archives")) if f.endswith(".deb")],
                         [])

        iam = self.gantry.boto3("iam")
        role = iam.create_role(RoleName="standard-build", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                "Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        iam.put_role_policy(RoleName="standard-build", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        s3 = self.gantry.boto3("s3")
        s3.create_bucket(Bucket="standard-build-data")
        s3.put_object(Bucket="standard-build-data", Key="input/seed.txt", Body=b"seed")
        codebuild = self.gantry.boto3("codebuild")
        codebuild.create_project(
            name="aws-written", source={"type": "NO_SOURCE", "buildspec": AWS_BUILDSPEC},
            artifacts={"type": "NO_ARTIFACTS"}, serviceRole=role,
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                         "computeType": "BUILD_GENERAL1_SMALL",
                         "environmentVariables": [{"name": "BUCKET", "value": "standard-build-data"}]})
        build_id = codebuild.start_build(projectName="aws-written")["build"]["id"]
        build = wait_for(lambda: next((b for b in codebuild.batch_get_builds(ids=[build_id])["builds"]
                                       if b["buildComplete"]), None), 300, f"build {build_id} to complete")
        logs = self.gantry.boto3("logs")
        events = logs.get_log_events(logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"],
                                     startFromHead=True)["events"]
        lines = [e["message"].rstrip("\n") for e in events]
        finished = time.monotonic()
        print(f"\nbuild-standard {built - started:.1f} s, the build {finished - built:.1f} s", file=sys.stderr)
        self.assertEqual(build["buildStatus"], "SUCCEEDED", "\n".join(lines))
        self.assertTrue(any(line.endswith("Running image aws/codebuild/standard:7.0 in a container (runc)")
                            for line in lines), lines)
        for tool in ("git", "python3", "aws"):
            self.assertIn(f"has {tool}", lines)
        self.assertIn("commits: 1", lines)
        self.assertIn('python says {"major": 3}', lines)
        # The build's role as STS (Gantry) sees it.
        self.assertTrue(any(line.startswith("caller arn:aws:sts::") and ":assumed-role/standard-build/" in line
                            for line in lines), lines)
        self.assertTrue(any(line.startswith("listed ") and line.endswith("PRE input/") for line in lines), lines)
        self.assertEqual(s3.get_object(Bucket="standard-build-data", Key="from-build.txt")["Body"].read(),
                         b"from the build\n")

        # About 30000 files: seconds on a quiet disk, far longer when other work loads it.
        out = gantry_image("remove", "aws/codebuild/standard:7.0", "--state-dir", self.gantry.state_dir, timeout=600)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertFalse(os.path.exists(rootfs))
        print(f"remove {time.monotonic() - finished:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
