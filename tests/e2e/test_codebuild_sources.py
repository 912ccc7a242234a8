"""CodeBuild repository sources against Gantry's CodeCommit, with real git pushes through the aws CLI
credential helper: sourceVersion as a branch, refs/heads/<branch>, a tag (lightweight, annotated,
refs/tags/<tag>), a full and an abbreviated commit ID and <reference>^{<commit>}; the project's
sourceVersion and StartBuild's override (boto3, CLI v1 and v2); CODEBUILD_SOURCE_VERSION,
CODEBUILD_RESOLVED_SOURCE_VERSION and resolvedSourceVersion; gitCloneDepth seen as
`git rev-list --count HEAD`; secondary sources with the project's secondarySourceVersions and
StartBuild's secondarySourcesVersionOverride (CODEBUILD_SRC_DIR_<id>, CODEBUILD_SOURCE_VERSION_<id>,
CODEBUILD_SOURCE_REPO_URL_<id>); submodules that are other CodeCommit repositories named by AWS's
clone URL, fetched with the role's credentials (and refused when the role may not pull them); bad
versions failing DOWNLOAD_SOURCE with CLIENT_ERROR; builds run at once; nothing left in the work
root afterwards."""
import hashlib
import json
import os
import subprocess
import unittest

from harness import AWS_V1, AWS_V2, GantryTestCase, wait_for
from test_codebuild import ENVIRONMENT, REGION, buildspec, make_role

AWS_URL = f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/"
PRINT = buildspec({"build": {"commands": [
    'echo "SV=$CODEBUILD_SOURCE_VERSION"',
    'echo "RSV=$CODEBUILD_RESOLVED_SOURCE_VERSION"',
    'echo "URL=$CODEBUILD_SOURCE_REPO_URL"',
    'echo "COUNT=$(git rev-list --count HEAD)"',
    'echo "DETACHED=$(git rev-parse --abbrev-ref HEAD)"',
    'echo "FILE=$(cat file.txt)"',
    'echo "LIB=$(cat vendor/lib/lib.txt 2>/dev/null || echo none)"',
    'echo "RELATIVE=$(cat vendor/relative/lib.txt 2>/dev/null || echo none)"',
    'echo "SEC_DIR=$CODEBUILD_SRC_DIR_libsrc"',
    'echo "SEC_SV=$CODEBUILD_SOURCE_VERSION_libsrc"',
    'echo "SEC_URL=$CODEBUILD_SOURCE_REPO_URL_libsrc"',
    'echo "SEC_FILE=$(cat "$CODEBUILD_SRC_DIR_libsrc/lib.txt" 2>/dev/null || echo none)"',
    'echo "SEC_HEAD=$(git -C "$CODEBUILD_SRC_DIR_libsrc" rev-parse HEAD 2>/dev/null || echo none)"',
    'echo "SEC_COUNT=$(git -C "$CODEBUILD_SRC_DIR_libsrc" rev-list --count HEAD 2>/dev/null || echo none)"',
]}})


class CodeBuildSourcesTest(GantryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.role = make_role(cls.gantry, "codebuild-sources")
        cls.codebuild = cls.gantry.boto3("codebuild")
        cls.logs = cls.gantry.boto3("logs")
        codecommit = cls.gantry.boto3("codecommit")
        for name in ("app", "lib"):
            codecommit.create_repository(repositoryName=name)
        cls.home = os.path.join(cls.gantry.state_dir, "git-home")
        os.makedirs(cls.home)
        cls.env = dict(cls.gantry.cli_env(), HOME=cls.home, GIT_CONFIG_GLOBAL=os.path.join(cls.home, ".gitconfig"),
                       GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", GIT_AUTHOR_NAME="e2e",
                       GIT_AUTHOR_EMAIL="e2e@example.com", GIT_COMMITTER_NAME="e2e",
                       GIT_COMMITTER_EMAIL="e2e@example.com")
        cli = AWS_V2 if os.path.exists(AWS_V2) else AWS_V1
        cls.git("config", "--global", "credential.helper", f"!{cli} codecommit credential-helper --ignore-host-check $@")
        cls.git("config", "--global", "credential.UseHttpPath", "true")

        # lib: l1 (tag v2 on l2), l2.
        cls.git("init", "-q", "-b", "main", "lib")
        cls.lib = [cls.commit("lib", "lib.txt", f"lib {n}") for n in (1, 2)]
        cls.git("-C", "lib", "tag", "v2")
        cls.git("-C", "lib", "push", "-q", cls.gantry.endpoint + "/v1/repos/lib", "main", "v2")

        # app: main c1 (tags v1, rel-1 annotated) - c2 - c3 (adds the submodule vendor/lib at l1);
        # dev: c2 - c4. The submodules are lib by AWS's clone URL and by a relative URL.
        cls.git("init", "-q", "-b", "main", "app")
        c1 = cls.commit("app", "file.txt", "one")
        cls.git("-C", "app", "tag", "v1")
        cls.git("-C", "app", "tag", "-a", "-m", "release", "rel-1")
        c2 = cls.commit("app", "file.txt", "two")
        with open(os.path.join(cls.home, "app", ".gitmodules"), "w") as f:
            f.write(f'[submodule "lib"]\n\tpath = vendor/lib\n\turl = {AWS_URL}lib\n'
                    '[submodule "relative"]\n\tpath = vendor/relative\n\turl = ../lib\n')
        cls.git("-C", "app", "update-index", "--add", "--cacheinfo", f"160000,{cls.lib[0]},vendor/lib")
        cls.git("-C", "app", "update-index", "--add", "--cacheinfo", f"160000,{cls.lib[1]},vendor/relative")
        c3 = cls.commit("app", "file.txt", "three", ".gitmodules")
        cls.git("-C", "app", "checkout", "-q", "-b", "dev", c2)
        c4 = cls.commit("app", "file.txt", "four")
        cls.git("-C", "app", "push", "-q", cls.gantry.endpoint + "/v1/repos/app", "main", "dev", "v1", "rel-1")
        cls.c = [None, c1, c2, c3, c4]

    @classmethod
    def git(cls, *args):
        return subprocess.run(["git"] + list(args), cwd=cls.home, env=cls.env, check=True, capture_output=True,
                              text=True).stdout.strip()

    @classmethod
    def commit(cls, repo, name, content, *extra):
        with open(os.path.join(cls.home, repo, name), "w") as f:
            f.write(content + "\n")
        cls.git("-C", repo, "add", name, *extra)
        cls.git("-C", repo, "commit", "-qm", content)
        return cls.git("-C", repo, "rev-parse", "HEAD")

    def project(self, name, **extra):
        params = {"name": name, "source": {"type": "CODECOMMIT", "location": AWS_URL + "app", "buildspec": PRINT},
                  "artifacts": {"type": "NO_ARTIFACTS"}, "environment": ENVIRONMENT, "serviceRole": self.role}
        params.update(extra)
        return self.codebuild.create_project(**params)["project"]

    def start(self, project, **overrides):
        return self.codebuild.start_build(projectName=project, **overrides)["build"]["id"]

    def wait(self, build_id, timeout=120):
        return wait_for(lambda: next((b for b in self.codebuild.batch_get_builds(ids=[build_id])["builds"]
                                      if b["buildComplete"]), None), timeout, f"build {build_id} to complete")

    def printed(self, build):
        """The KEY=value lines the build printed, as a dict."""
        logs = build["logs"]
        events = self.logs.get_log_events(logGroupName=logs["groupName"], logStreamName=logs["streamName"],
                                          startFromHead=True)["events"]
        out = {}
        for e in events:
            key, sep, value = e["message"].partition("=")
            if sep and key.isupper() and key.replace("_", "").isalnum():
                out.setdefault(key, value)
        return out

    def succeeded(self, build):
        self.assertEqual(build["buildStatus"], "SUCCEEDED", json.dumps(build["phases"], default=str))
        return self.printed(build)

    def download_failure(self, build):
        self.assertEqual(build["buildStatus"], "FAILED")
        phase = next(p for p in build["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE")
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertEqual(phase["contexts"][0]["statusCode"], "CLIENT_ERROR")
        return phase["contexts"][0]["message"]

    def test_source_versions_and_clone_depth(self):
        self.project("versions")
        c = self.c
        cases = [  # (sourceVersion, depth, commit, commits in the checkout)
            (None, 0, c[3], "3"), (None, 1, c[3], "1"), ("main", 2, c[3], "2"),
            ("dev", 1, c[4], "1"), ("refs/heads/dev", 0, c[4], "3"),
            ("v1", 1, c[1], "1"), ("refs/tags/v1", 0, c[1], "1"), ("rel-1", 1, c[1], "1"),
            (c[2], 1, c[2], "1"), (c[4][:8], 1, c[4], "3"), (c[2], 0, c[2], "2"),
            (f"refs/heads/main^{{{c[3]}}}", 1, c[3], "1"), (f"refs/heads/main^{{{c[2]}}}", 1, c[2], "2"),
        ]
        # Started together: they run at once, each in its own directories.
        ids = []
        for version, depth, _, _ in cases:
            overrides = {"gitCloneDepthOverride": depth}
            if version:
                overrides["sourceVersion"] = version
            ids.append(self.start("versions", **overrides))
        for (version, depth, commit, count), build_id in zip(cases, ids):
            with self.subTest(version=version, depth=depth):
                build = self.wait(build_id)
                out = self.succeeded(build)
                self.assertEqual(build["resolvedSourceVersion"], commit)
                self.assertEqual(build.get("sourceVersion"), version)
                self.assertEqual(build["source"].get("gitCloneDepth"), depth)
                self.assertEqual(out["RSV"], commit)
                self.assertEqual(out["SV"], version or "")
                self.assertEqual(out["URL"], AWS_URL + "app")
                self.assertEqual(out["COUNT"], count)
                # A version is checked out detached, as CodeBuild does; the default branch stays a branch.
                self.assertEqual(out["DETACHED"], "HEAD" if version else "main")
                self.assertEqual(out["LIB"], "none")
        root = os.path.join(os.environ.get("TMPDIR") or "/tmp",
                            "gantry-builds-" + hashlib.sha256(self.gantry.state_dir.encode()).hexdigest()[:12])
        wait_for(lambda: os.path.isdir(root) and not os.listdir(root), 30, f"{root} to be emptied")

    def test_project_source_version_and_start_build_override(self):
        self.project("pinned", sourceVersion="dev")
        self.assertEqual(self.codebuild.batch_get_projects(names=["pinned"])["projects"][0]["sourceVersion"], "dev")
        build = self.wait(self.start("pinned"))
        out = self.succeeded(build)
        self.assertEqual((build["sourceVersion"], out["SV"], out["RSV"], out["FILE"]),
                         ("dev", "dev", self.c[4], "four"))
        for name, cli in self.clis():
            with self.subTest(cli=name):
                started = self.gantry.aws(cli, "codebuild", "start-build", "--project-name", "pinned",
                                          "--source-version", "refs/tags/v1", "--git-clone-depth-override", "1")
                build = self.wait(started["build"]["id"])
                out = self.succeeded(build)
                self.assertEqual((build["sourceVersion"], build["resolvedSourceVersion"], out["SV"], out["FILE"]),
                                 ("refs/tags/v1", self.c[1], "refs/tags/v1", "one"))
                listed = self.gantry.aws(cli, "codebuild", "batch-get-builds", "--ids", build["id"])
                self.assertEqual(listed["builds"][0]["resolvedSourceVersion"], self.c[1])

    def test_unknown_versions_fail_download_source(self):
        self.project("missing")
        c2_missing = "0" * 40
        for version in ("nope", "refs/heads/nope", "refs/tags/nope", c2_missing, f"refs/heads/dev^{{{self.c[3]}}}"):
            with self.subTest(version=version):
                build = self.wait(self.start("missing", sourceVersion=version, gitCloneDepthOverride=1))
                self.assertEqual(self.download_failure(build),
                                 f"reference not found for primary source and source version {version}")
                self.assertNotIn("resolvedSourceVersion", build)
        build = self.wait(self.start("missing", sourceVersion="refs/heads/main^{abc}"))
        self.assertIn("Invalid source version: refs/heads/main^{abc}", self.download_failure(build))
        with self.assertRaises(self.codebuild.exceptions.InvalidInputException):
            self.start("missing", sourceVersion="--upload-pack=touch")

    def test_secondary_sources_and_versions(self):
        secondary = {"type": "CODECOMMIT", "location": AWS_URL + "lib", "sourceIdentifier": "libsrc",
                     "gitCloneDepth": 1}
        self.project("two-sources", secondarySources=[secondary],
                     secondarySourceVersions=[{"sourceIdentifier": "libsrc", "sourceVersion": "v2"}])
        build = self.wait(self.start("two-sources"))
        out = self.succeeded(build)
        self.assertEqual(build["secondarySourceVersions"], [{"sourceIdentifier": "libsrc", "sourceVersion": "v2"}])
        self.assertEqual(out["SEC_SV"], "v2")
        self.assertEqual(out["SEC_HEAD"], self.lib[1])
        self.assertEqual(out["SEC_FILE"], "lib 2")
        self.assertEqual(out["SEC_COUNT"], "1")
        self.assertEqual(out["SEC_URL"], AWS_URL + "lib")
        self.assertTrue(out["SEC_DIR"].endswith("/libsrc"), out["SEC_DIR"])
        self.assertEqual(out["RSV"], self.c[3])

        # StartBuild's override names the version for this build only.
        build = self.wait(self.start("two-sources", secondarySourcesVersionOverride=[
            {"sourceIdentifier": "libsrc", "sourceVersion": self.lib[0]}]))
        out = self.succeeded(build)
        self.assertEqual(build["secondarySourceVersions"],
                         [{"sourceIdentifier": "libsrc", "sourceVersion": self.lib[0]}])
        self.assertEqual((out["SEC_SV"], out["SEC_HEAD"], out["SEC_FILE"]), (self.lib[0], self.lib[0], "lib 1"))
        if os.path.exists(AWS_V2):
            started = self.gantry.aws(AWS_V2, "codebuild", "start-build", "--project-name", "two-sources",
                                      "--secondary-sources-version-override",
                                      "sourceIdentifier=libsrc,sourceVersion=main")
            out = self.succeeded(self.wait(started["build"]["id"]))
            self.assertEqual((out["SEC_SV"], out["SEC_HEAD"]), ("main", self.lib[1]))

        # A secondary source at a version it does not have fails the download, naming it.
        build = self.wait(self.start("two-sources", secondarySourcesVersionOverride=[
            {"sourceIdentifier": "libsrc", "sourceVersion": "nope"}]))
        self.assertEqual(self.download_failure(build),
                         "reference not found for secondary source libsrc and source version nope")

    def test_submodules_from_codecommit_with_the_roles_credentials(self):
        self.project("with-submodules", source={"type": "CODECOMMIT", "location": AWS_URL + "app", "buildspec": PRINT,
                                                "gitCloneDepth": 1, "gitSubmodulesConfig": {"fetchSubmodules": True}})
        build = self.wait(self.start("with-submodules"))
        out = self.succeeded(build)
        self.assertEqual((out["LIB"], out["RELATIVE"], out["RSV"], out["COUNT"]), ("lib 1", "lib 2", self.c[3], "1"))
        build = self.wait(self.start("with-submodules",
                                     gitSubmodulesConfigOverride={"fetchSubmodules": False}))
        self.assertEqual(self.succeeded(build)["LIB"], "none")

        # A role that may pull app but not lib gets app and is refused lib.
        iam = self.gantry.boto3("iam")
        narrow = make_role(self.gantry, "codebuild-app-only", actions=["logs:*"])
        iam.put_role_policy(RoleName="codebuild-app-only", PolicyName="app", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codecommit:GitPull",
                                                    "Resource": f"arn:aws:codecommit:{REGION}:000000000000:app"}]}))
        build = self.wait(self.start("with-submodules", serviceRoleOverride=narrow))
        message = self.download_failure(build)
        self.assertTrue(message.startswith("git submodule update failed: "), message)
        self.assertIn("/v1/repos/lib", message)
        self.assertTrue(message.endswith(" for primary source and source version (default branch)"), message)


if __name__ == "__main__":
    unittest.main()
