"""CodeBuild builds in OCI containers (runc) through boto3 and the aws CLIs: a busybox image
registered with `gantry image register` runs a project's build (started and read through boto3 and
each CLI) in a container that sees the image's files and not the machine's, reaches Gantry on
127.0.0.1 with the host's network and not with the project tag gantry:network=none; an image at a
path overlayfs refuses (it holds ',') is copied instead; an image that is not registered fails
PROVISIONING with a message that says how to register it. Needs root, runc and /bin/busybox (busybox-static)."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import GANTRY, Gantry, GantryTestCase, wait_for

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
IMAGE = "gantry-test/busybox:1"
MARKER = "image marker 51c2"


def containers_available():
    return os.geteuid() == 0 and shutil.which("runc", path=os.environ.get("PATH", "") + ":/usr/sbin") \
        and os.access("/bin/busybox", os.X_OK)


def make_busybox_rootfs(root):
    """A root file system of the static busybox: the binary, a link per applet, users, a marker."""
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(os.path.join(root, "etc"))
    os.makedirs(os.path.join(root, "root"))
    os.makedirs(os.path.join(root, "tmp"))
    shutil.copy2("/bin/busybox", os.path.join(root, "bin", "busybox"))
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", os.path.join(root, "bin", applet))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\n")
    with open(os.path.join(root, "etc", "gantry-image-marker"), "w") as f:
        f.write(MARKER + "\n")


@unittest.skipUnless(containers_available(), "containers need root, runc and /bin/busybox")
class ContainerBuildsTest(GantryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.image_dir = tempfile.mkdtemp(prefix="gantry-e2e-image-")
        make_busybox_rootfs(os.path.join(cls.image_dir, "rootfs"))
        registered = subprocess.run(
            [GANTRY, "image", "register", IMAGE, os.path.join(cls.image_dir, "rootfs"), "--env", "PATH=/bin",
             "--env", "IMAGE_VAR=from-the-image", "--state-dir", cls.gantry.state_dir],
            capture_output=True, text=True, timeout=60)
        if registered.returncode != 0:
            raise AssertionError("gantry image register failed: " + registered.stderr)
        iam = cls.gantry.boto3("iam")
        cls.role = iam.create_role(RoleName="containers", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName="containers", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        cls.codebuild = cls.gantry.boto3("codebuild")
        cls.logs = cls.gantry.boto3("logs")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.image_dir, ignore_errors=True)

    def project(self, name, commands, image=IMAGE, **extra):
        spec = json.dumps({"version": 0.2, "env": {"shell": "/bin/sh"}, "phases": {"build": {"commands": commands}}})
        self.codebuild.create_project(
            name=name, source={"type": "NO_SOURCE", "buildspec": spec}, artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": image, "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=self.role, **extra)

    def run_build(self, project):
        build_id = self.codebuild.start_build(projectName=project)["build"]["id"]
        return wait_for(lambda: next((b for b in self.codebuild.batch_get_builds(ids=[build_id])["builds"]
                                      if b["buildComplete"]), None), 120, f"build {build_id} to complete")

    def log_lines(self, build):
        logs = build["logs"]
        events = self.logs.get_log_events(logGroupName=logs["groupName"], logStreamName=logs["streamName"],
                                          startFromHead=True)["events"]
        return [e["message"].rstrip("\n") for e in events]

    # Gantry's HTTP status line, fetched with busybox nc from inside the build.
    REACH = 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc 127.0.0.1 "${AWS_ENDPOINT_URL##*:}" | head -1 | ' \
            'grep -q "^HTTP/1.1" && echo "gantry reached" || echo "gantry unreachable"'

    def test_build_runs_in_the_registered_image(self):
        host_only = os.path.realpath(GANTRY)  # on this machine, not in the image
        self.project("in-busybox", [
            "cat /etc/gantry-image-marker",
            f"test -e {host_only} && echo 'host file visible' || echo 'host file absent'",
            'echo "IMAGE_VAR=$IMAGE_VAR HOME=$HOME"',
            self.REACH,
        ])
        runs = [("boto3", self.run_build("in-busybox"))]
        for name, cli in self.clis():
            build_id = self.gantry.aws(cli, "codebuild", "start-build", "--project-name", "in-busybox")["build"]["id"]
            runs.append((name, wait_for(lambda: next((b for b in self.gantry.aws(
                cli, "codebuild", "batch-get-builds", "--ids", build_id)["builds"] if b["buildComplete"]), None),
                120, f"build {build_id} to complete")))
        for name, build in runs:
            with self.subTest(client=name):
                lines = self.log_lines(build)
                self.assertEqual(build["buildStatus"], "SUCCEEDED", lines)
                self.assertTrue(any(line.endswith(f"Running image {IMAGE} in a container (runc)") for line in lines),
                                lines)
                self.assertIn(MARKER, lines)
                self.assertIn("host file absent", lines)
                self.assertNotIn("host file visible", lines)
                self.assertIn("IMAGE_VAR=from-the-image HOME=/root", lines)
                self.assertIn("gantry reached", lines)

    def test_an_image_overlayfs_refuses_is_copied(self):
        rootfs = os.path.join(self.image_dir, "rootfs,copied")
        shutil.copytree(os.path.join(self.image_dir, "rootfs"), rootfs, symlinks=True)
        subprocess.run([GANTRY, "image", "register", "gantry-test/copied:1", rootfs, "--env", "PATH=/bin",
                        "--state-dir", self.gantry.state_dir], check=True, capture_output=True, timeout=60)
        self.project("copied", ["cat /etc/gantry-image-marker", "echo written > /etc/by-build", "cat /etc/by-build"],
                     image="gantry-test/copied:1")
        build = self.run_build("copied")
        lines = self.log_lines(build)
        self.assertEqual(build["buildStatus"], "SUCCEEDED", lines)
        self.assertTrue(any(f"root file system: a copy of {rootfs} (overlay mount refused: the path holds ',' or ':')"
                            in line for line in lines), lines)
        self.assertIn(MARKER, lines)
        self.assertIn("written", lines)
        self.assertFalse(os.path.exists(os.path.join(rootfs, "etc", "by-build")))

    def test_network_none_does_not_reach_gantry(self):
        self.project("no-network", [self.REACH], tags=[{"key": "gantry:network", "value": "none"}])
        build = self.run_build("no-network")
        lines = self.log_lines(build)
        self.assertEqual(build["buildStatus"], "SUCCEEDED", lines)
        self.assertIn("gantry unreachable", lines)
        self.assertTrue(any(line.endswith("Container: network: none (its own network namespace, loopback only)")
                            for line in lines), lines)

    def test_unregistered_image_fails_provisioning(self):
        self.project("unregistered", ["true"], image="example.com/not/registered:3")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                build_id = self.gantry.aws(cli, "codebuild", "start-build", "--project-name",
                                           "unregistered")["build"]["id"]
                build = wait_for(lambda: next((b for b in self.gantry.aws(
                    cli, "codebuild", "batch-get-builds", "--ids", build_id)["builds"] if b["buildComplete"]), None),
                    60, "the build to fail")
                self.assertEqual(build["buildStatus"], "FAILED")
                provisioning = next(p for p in build["phases"] if p["phaseType"] == "PROVISIONING")
                self.assertEqual(provisioning["phaseStatus"], "FAILED")
                context = provisioning["contexts"][0]
                self.assertEqual(context["statusCode"], "BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE")
                self.assertIn("example.com/not/registered:3", context["message"])
                self.assertIn("gantry image register example.com/not/registered:3 DIR", context["message"])



def work_root(state_dir):
    """Where a server with this state directory runs builds (DefaultWorkRoot)."""
    digest = hashlib.sha256(os.path.normpath(os.path.abspath(state_dir)).encode()).hexdigest()[:12]
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", "gantry-builds-" + digest)


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path + "/")]


@unittest.skipUnless(containers_available(), "containers need root, runc and /bin/busybox")
class KilledServerTest(unittest.TestCase):
    """kill -9 of the server mid-build leaves the build's overlay root mounted; the restarted server
    unmounts it before it deletes the build's directory."""

    def setUp(self):
        self.image_dir = tempfile.mkdtemp(prefix="gantry-e2e-image-")
        make_busybox_rootfs(os.path.join(self.image_dir, "rootfs"))
        self.first = Gantry().start()
        self.addCleanup(self.first.cleanup)
        self.addCleanup(shutil.rmtree, self.image_dir, True)
        subprocess.run([GANTRY, "image", "register", IMAGE, os.path.join(self.image_dir, "rootfs"), "--env", "PATH=/bin",
                        "--state-dir", self.first.state_dir], check=True, capture_output=True, timeout=60)

    def test_restart_unmounts_and_removes_the_killed_build(self):
        iam = self.first.boto3("iam")
        role = iam.create_role(RoleName="killed", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName="killed", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        codebuild = self.first.boto3("codebuild")
        marker = "container-kill9-" + os.urandom(4).hex()
        spec = json.dumps({"version": 0.2, "phases": {"build": {"commands": [f"sh -c 'sleep 299; echo {marker}'"]}}})
        codebuild.create_project(name="killed", source={"type": "NO_SOURCE", "buildspec": spec},
                                 artifacts={"type": "NO_ARTIFACTS"}, serviceRole=role,
                                 environment={"type": "LINUX_CONTAINER", "image": IMAGE,
                                              "computeType": "BUILD_GENERAL1_SMALL"})
        build_id = codebuild.start_build(projectName="killed")["build"]["id"]

        def running():
            build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
            self.assertFalse(build["buildComplete"], build)
            return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0
        wait_for(running, what="the build's processes")
        root = work_root(self.first.state_dir)
        self.assertTrue(any(p.endswith("/container/rootfs") for p in mounts_under(root)), mounts_under(root))
        self.first.kill9()
        # The init sees Gantry's socket close and ends; runc removes the container. The overlay stays.
        wait_for(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1,
                 what="the container to end")
        self.assertTrue(mounts_under(root))

        second = Gantry(state_dir=self.first.state_dir).start()
        self.addCleanup(second.stop)
        build = second.boto3("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
        self.assertEqual(build["buildStatus"], "FAULT")
        self.assertEqual(mounts_under(root), [])
        self.assertEqual(os.listdir(root), [])
        # The image itself was not written through the overlay.
        self.assertTrue(os.path.exists(os.path.join(self.image_dir, "rootfs", "etc", "gantry-image-marker")))


if __name__ == "__main__":
    unittest.main()
