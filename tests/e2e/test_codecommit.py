"""CodeCommit through the real git client, both aws CLIs (their `aws codecommit credential-helper`)
and boto3: clone of an empty repository, push, clone, branches, tags, the default-branch rules,
shallow and partial clones, protocol v0 and v2, a 20 MB push, 401 without credentials, IAM HTTPS
Git credentials, GitPull/GitPush policies, STS session credentials, the repository API (files,
commits, differences, branches, tags, triggers and their delivery view), a branch protected by a
Deny on codecommit:References, the "CodeCommit Repository State Change" events delivered to a rule's
target (also for a branch name that is not UTF-8), a push that survives kill -9, and a push
interrupted by kill -9 that is published when the server restarts."""
import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import unittest.mock

from harness import AWS_V1, AWS_V2, Gantry, GantryTestCase, wait_for

ACCOUNT = "000000000000"
REGION = "us-east-1"


class Git:
    """Runs git with its own global config: the aws CLI credential helper (CodeCommit's documented
    setup) of one CLI, or a fixed username/password helper, and no terminal prompts."""

    def __init__(self, gantry, cli=None, username=None, password=None, **credentials):
        self.gantry = gantry
        self.home = tempfile.mkdtemp(prefix="gantry-git-")
        self.env = gantry.cli_env(**credentials)
        self.env.update({"HOME": self.home, "GIT_CONFIG_GLOBAL": os.path.join(self.home, ".gitconfig"),
                         "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"})
        self.config("user.name", "E2E Tester")
        self.config("user.email", "e2e@example.com")
        self.config("init.defaultBranch", "main")
        if cli:
            self.config("credential.helper", f"!{cli} codecommit credential-helper --ignore-host-check $@")
            self.config("credential.UseHttpPath", "true")
        elif username:
            self.config("credential.helper", f"!f() {{ echo username={username}; echo password={password}; }}; f")

    def config(self, key, value):
        subprocess.run(["git", "config", "--global", key, value], env=self.env, check=True)

    def run(self, *args, cwd=None, check=True, env=None):
        full_env = dict(self.env, **(env or {}))
        p = subprocess.run(["git"] + list(args), cwd=cwd or self.home, env=full_env, capture_output=True, text=True,
                           timeout=300)
        if check and p.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def url(self, repository):
        return f"{self.gantry.endpoint}/v1/repos/{repository}"

    def clone(self, repository, directory, *flags, **kwargs):
        path = os.path.join(self.home, directory)
        self.run("clone", *flags, self.url(repository), path, **kwargs)
        return path

    def commit(self, work, name, content, message):
        with open(os.path.join(work, name), "w") as f:
            f.write(content)
        self.run("add", name, cwd=work)
        self.run("commit", "-q", "-m", message, cwd=work)
        return self.run("rev-parse", "HEAD", cwd=work).stdout.strip()

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)


class CodeCommitTestCase(GantryTestCase):
    def git(self, cli=None, **kwargs):
        g = Git(self.gantry, cli, **kwargs)
        self.addCleanup(g.cleanup)
        return g

    def codecommit(self, **kwargs):
        return self.gantry.boto3("codecommit", **kwargs)

    def create_repository(self, name):
        return self.codecommit().create_repository(repositoryName=name)["repositoryMetadata"]


class GitOverHttpTest(CodeCommitTestCase):
    def test_clone_push_branches_tags_with_both_credential_helpers(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                repo = f"app-{name}"
                created = self.gantry.aws(cli, "codecommit", "create-repository", "--repository-name", repo)
                self.assertEqual(created["repositoryMetadata"]["cloneUrlHttp"], f"{self.gantry.endpoint}/v1/repos/{repo}")
                git = self.git(cli)
                work = git.clone(repo, "work")
                self.assertIn("You appear to have cloned an empty repository", git.run(
                    "clone", git.url(repo), os.path.join(git.home, "empty")).stderr)
                first = git.commit(work, "README.md", "# app\n", "first")
                git.run("push", "origin", "main", cwd=work)
                metadata = self.gantry.aws(cli, "codecommit", "get-repository", "--repository-name", repo)
                self.assertEqual(metadata["repositoryMetadata"]["defaultBranch"], "main")

                git.run("checkout", "-q", "-b", "feature", cwd=work)
                second = git.commit(work, "feature.txt", "feature\n", "second")
                git.run("push", "origin", "feature", cwd=work)
                git.run("tag", "v1.0", cwd=work)
                git.run("push", "origin", "v1.0", cwd=work)
                branches = self.gantry.aws(cli, "codecommit", "list-branches", "--repository-name", repo)
                self.assertEqual(sorted(branches["branches"]), ["feature", "main"])
                branch = self.gantry.aws(cli, "codecommit", "get-branch", "--repository-name", repo,
                                         "--branch-name", "feature")
                self.assertEqual(branch["branch"]["commitId"], second)

                again = git.clone(repo, "again")
                self.assertEqual(git.run("rev-parse", "HEAD", cwd=again).stdout.strip(), first)
                self.assertEqual(git.run("ls-remote", "--tags", "origin", cwd=again).stdout.split()[0], second)

                git.run("push", "origin", "--delete", "feature", cwd=work)
                branches = self.gantry.aws(cli, "codecommit", "list-branches", "--repository-name", repo)
                self.assertEqual(branches["branches"], ["main"])

    def test_default_branch_rules(self):
        repo = "rules"
        self.create_repository(repo)
        git = self.git(AWS_V1 or AWS_V2)
        work = git.clone(repo, "work")
        git.run("checkout", "-q", "-b", "trunk", cwd=work)
        git.commit(work, "a.txt", "a\n", "a")
        git.run("push", "origin", "trunk", cwd=work)
        git.run("push", "origin", "trunk:other", cwd=work)
        cc = self.codecommit()
        self.assertEqual(cc.get_repository(repositoryName=repo)["repositoryMetadata"]["defaultBranch"], "trunk")
        # A clone checks out the default branch.
        clone = git.clone(repo, "clone")
        self.assertEqual(git.run("branch", "--show-current", cwd=clone).stdout.strip(), "trunk")

        refused = git.run("push", "origin", "--delete", "trunk", cwd=work, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("The default branch trunk cannot be deleted", refused.stderr)
        with self.assertRaises(cc.exceptions.DefaultBranchCannotBeDeletedException):
            cc.delete_branch(repositoryName=repo, branchName="trunk")

        cc.update_default_branch(repositoryName=repo, defaultBranchName="other")
        git.run("push", "origin", "--delete", "trunk", cwd=work)
        self.assertEqual(cc.list_branches(repositoryName=repo)["branches"], ["other"])
        clone = git.clone(repo, "clone-other")
        self.assertEqual(git.run("branch", "--show-current", cwd=clone).stdout.strip(), "other")

    def test_shallow_partial_and_protocol_versions(self):
        repo = "history"
        self.create_repository(repo)
        git = self.git(AWS_V2 if os.path.exists(AWS_V2) else AWS_V1)
        work = git.clone(repo, "work")
        for i in range(5):
            git.commit(work, f"f{i}.txt", f"{i}\n", f"commit {i}")
        git.run("push", "origin", "main", cwd=work)

        shallow = git.clone(repo, "shallow", "--depth", "1")
        self.assertEqual(git.run("rev-parse", "--is-shallow-repository", cwd=shallow).stdout.strip(), "true")
        self.assertEqual(git.run("rev-list", "--count", "HEAD", cwd=shallow).stdout.strip(), "1")
        git.run("fetch", "--deepen", "2", cwd=shallow)
        self.assertEqual(git.run("rev-list", "--count", "HEAD", cwd=shallow).stdout.strip(), "3")

        partial = git.clone(repo, "partial", "--filter=blob:none")
        self.assertEqual(git.run("config", "remote.origin.promisor", cwd=partial).stdout.strip(), "true")
        with open(os.path.join(partial, "f4.txt")) as f:
            self.assertEqual(f.read(), "4\n")

        for version in ("0", "2"):
            with self.subTest(protocol=version):
                traced = git.run("-c", f"protocol.version={version}", "ls-remote", git.url(repo),
                                 env={"GIT_TRACE_PACKET": "1"})
                self.assertEqual(" version 2" in traced.stderr, version == "2")
                self.assertIn("refs/heads/main", traced.stdout)
                clone = git.clone(repo, f"v{version}", "-c", f"protocol.version={version}")
                self.assertEqual(git.run("rev-list", "--count", "HEAD", cwd=clone).stdout.strip(), "5")

    def test_large_push(self):
        repo = "large"
        self.create_repository(repo)
        git = self.git(AWS_V1 or AWS_V2)
        work = git.clone(repo, "work")
        payload = os.urandom(20 * 1024 * 1024)
        with open(os.path.join(work, "blob.bin"), "wb") as f:
            f.write(payload)
        git.run("add", "blob.bin", cwd=work)
        git.run("commit", "-q", "-m", "20 MB", cwd=work)
        # Larger than http.postBuffer: git probes with a 4-byte POST, then streams a chunked body.
        pushed = git.run("push", "origin", "main", cwd=work, env={"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"})
        self.assertIn("Transfer-Encoding: chunked", pushed.stderr)
        clone = git.clone(repo, "clone")
        with open(os.path.join(clone, "blob.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(payload).digest())

    def test_gzip_request_body(self):
        repo = "gzipped"
        self.create_repository(repo)
        git = self.git(AWS_V1 or AWS_V2)
        work = git.clone(repo, "work")
        tip = git.commit(work, "a.txt", "a\n", "a")
        git.run("push", "origin", "main", cwd=work)
        helper = subprocess.run([AWS_V1 or AWS_V2, "codecommit", "credential-helper", "--ignore-host-check", "get"],
                                input=f"protocol=http\nhost=127.0.0.1:{self.gantry.port}\npath=v1/repos/{repo}\n\n",
                                env=git.env, capture_output=True, text=True, check=True).stdout
        fields = dict(line.split("=", 1) for line in helper.splitlines() if "=" in line)
        auth = "Basic " + base64.b64encode(f"{fields['username']}:{fields['password']}".encode()).decode()

        def pkt(text):
            return f"{len(text) + 4:04x}{text}".encode()

        request = pkt(f"want {tip} ofs-delta\n") + b"0000" + pkt("done\n")
        status, headers, body = self.gantry.raw(
            "POST", f"/v1/repos/{repo}/git-upload-pack", body=gzip.compress(request),
            headers={"Authorization": auth, "Content-Type": "application/x-git-upload-pack-request",
                     "Content-Encoding": "gzip"})
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"], "application/x-git-upload-pack-result")
        self.assertIn(b"PACK", body)

    def test_authentication_is_required(self):
        repo = "private"
        self.create_repository(repo)
        status, headers, body = self.gantry.raw("GET", f"/v1/repos/{repo}/info/refs?service=git-upload-pack")
        self.assertEqual(status, 401)
        self.assertTrue(headers["WWW-Authenticate"].startswith("Basic realm="))
        bad = base64.b64encode(b"AKIAEXAMPLEEXAMPLE12:20240101T000000Z" + b"0" * 64).decode()
        status, headers, body = self.gantry.raw("GET", f"/v1/repos/{repo}/info/refs?service=git-upload-pack",
                                                headers={"Authorization": "Basic " + bad})
        self.assertEqual(status, 401)
        self.assertIn(b"AKIAEXAMPLEEXAMPLE12 is not known", body)

        git = self.git()  # no credential helper
        denied = git.run("clone", git.url(repo), os.path.join(git.home, "x"), check=False)
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn("could not read Username", denied.stderr)
        # The helper signs for its own region: a region other than the server's does not verify.
        other = self.git(AWS_V1 or AWS_V2, region="eu-west-1")
        denied = other.run("clone", other.url(repo), os.path.join(other.home, "x"), check=False)
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn("Authentication failed", denied.stderr)

    def test_signed_requests_on_git_paths_go_to_aws(self):
        # A SigV4-signed request is an AWS call even on a git-looking path: here S3 path-style for a
        # bucket "v1" (which S3's naming rules reject), never git.
        self.create_repository("app")
        s3 = self.gantry.boto3("s3")
        with self.assertRaises(s3.exceptions.ClientError) as e:
            s3.get_object(Bucket="v1", Key="repos/app/info/refs")
        self.assertIn(e.exception.response["Error"]["Code"], ("InvalidBucketName", "NoSuchBucket"))

    def test_unknown_repository_and_clone_url_from_host(self):
        git = self.git(AWS_V1 or AWS_V2)
        missing = git.run("clone", git.url("nope"), os.path.join(git.home, "nope"), check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("not found", missing.stderr)
        import boto3
        key, secret = self.gantry.credentials()
        local = boto3.client("codecommit", endpoint_url=f"http://localhost:{self.gantry.port}", region_name=REGION,
                             aws_access_key_id=key, aws_secret_access_key=secret)
        metadata = local.create_repository(repositoryName="hosted")["repositoryMetadata"]
        self.assertEqual(metadata["cloneUrlHttp"], f"http://localhost:{self.gantry.port}/v1/repos/hosted")
        self.assertEqual(metadata["cloneUrlSsh"], f"ssh://git-codecommit.{REGION}.amazonaws.com/v1/repos/hosted")


class GitIdentityTest(CodeCommitTestCase):
    """Who may pull and push: IAM users through HTTPS Git credentials and access keys, roles through
    STS session credentials, under codecommit:GitPull and codecommit:GitPush."""

    def user(self, name, actions, resource):
        iam = self.gantry.boto3("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="git", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}))
        return iam

    def test_https_git_credentials_and_git_push_policy(self):
        repo = "shared"
        arn = self.create_repository(repo)["Arn"]
        owner = self.git(AWS_V1 or AWS_V2)
        work = owner.clone(repo, "work")
        owner.commit(work, "a.txt", "a\n", "a")
        owner.run("push", "origin", "main", cwd=work)

        iam = self.user("reader", ["codecommit:GitPull"], arn)
        credential = iam.create_service_specific_credential(UserName="reader", ServiceName="codecommit.amazonaws.com")
        credential = credential["ServiceSpecificCredential"]
        reader = self.git(username=credential["ServiceUserName"], password=credential["ServicePassword"])
        clone = reader.clone(repo, "clone")
        reader.commit(clone, "b.txt", "b\n", "b")
        denied = reader.run("push", "origin", "main", cwd=clone, check=False)
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn("403", denied.stderr)
        wrong = self.git(username=credential["ServiceUserName"], password="not-the-password")
        failed = wrong.run("clone", wrong.url(repo), os.path.join(wrong.home, "x"), check=False)
        self.assertIn("Authentication failed", failed.stderr)
        iam.update_service_specific_credential(UserName="reader", Status="Inactive",
                                               ServiceSpecificCredentialId=credential["ServiceSpecificCredentialId"])
        failed = reader.run("clone", reader.url(repo), os.path.join(reader.home, "y"), check=False)
        self.assertIn("Authentication failed", failed.stderr)

        iam = self.user("writer", ["codecommit:GitPull", "codecommit:GitPush"], arn)
        key = iam.create_access_key(UserName="writer")["AccessKey"]
        writer = self.git(AWS_V1 or AWS_V2, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        clone = writer.clone(repo, "clone")
        writer.commit(clone, "c.txt", "c\n", "c")
        writer.run("push", "origin", "main", cwd=clone)
        other = self.create_repository("not-shared")
        denied = writer.run("clone", writer.url("not-shared"), os.path.join(writer.home, "z"), check=False)
        self.assertIn("403", denied.stderr)
        self.assertTrue(other["Arn"].endswith(":not-shared"))

    def test_branch_protected_by_a_deny_on_references(self):
        # AWS's "Limit pushes and merges to branches": a Deny on codecommit:GitPush for the
        # codecommit:References of main; other branches still take pushes.
        repo = "protected"
        arn = self.create_repository(repo)["Arn"]
        iam = self.user("contributor", ["codecommit:GitPull", "codecommit:GitPush"], arn)
        iam.put_user_policy(UserName="contributor", PolicyName="protect-main", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "codecommit:GitPush", "Resource": arn,
                           "Condition": {"StringEqualsIfExists": {"codecommit:References": ["refs/heads/main"]},
                                         "Null": {"codecommit:References": "false"}}}]}))
        key = iam.create_access_key(UserName="contributor")["AccessKey"]
        git = self.git(AWS_V1 or AWS_V2, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        work = git.clone(repo, "work")
        git.commit(work, "a.txt", "a\n", "a")
        denied = git.run("push", "origin", "main", cwd=work, check=False)
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn("403", denied.stderr)
        git.run("push", "origin", "main:feature", cwd=work)
        cc = self.codecommit()
        self.assertEqual(cc.list_branches(repositoryName=repo)["branches"], ["feature"])
        feature = cc.get_branch(repositoryName=repo, branchName="feature")["branch"]["commitId"]
        # Every ref of a push is checked: one protected ref refuses the whole push.
        git.commit(work, "b.txt", "b\n", "b")
        denied = git.run("push", "origin", "main:feature", "main:main", cwd=work, check=False)
        self.assertIn("403", denied.stderr)
        self.assertEqual(cc.list_branches(repositoryName=repo)["branches"], ["feature"])
        self.assertEqual(cc.get_branch(repositoryName=repo, branchName="feature")["branch"]["commitId"], feature)
        # The owner (root) is not bound by the user's policy.
        owner = self.git(AWS_V1 or AWS_V2)
        owner_work = owner.clone(repo, "owner")
        owner.run("push", "origin", "feature:main", cwd=owner_work)
        self.assertEqual(sorted(cc.list_branches(repositoryName=repo)["branches"]), ["feature", "main"])

    def test_sts_session_credentials(self):
        repo = "sessions"
        arn = self.create_repository(repo)["Arn"]
        iam = self.gantry.boto3("iam")
        iam.create_role(RoleName="dev", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                           "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName="dev", PolicyName="git", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["codecommit:GitPull", "codecommit:GitPush"],
                           "Resource": arn}]}))
        iam.create_user(UserName="assumer")
        iam.put_user_policy(UserName="assumer", PolicyName="assume", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="assumer")["AccessKey"]
        sts = self.gantry.boto3("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        session = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/dev", RoleSessionName="e2e")["Credentials"]
        for name, cli in self.clis():
            with self.subTest(cli=name):
                git = self.git(cli, access_key=session["AccessKeyId"], secret_key=session["SecretAccessKey"],
                               session_token=session["SessionToken"])
                work = git.clone(repo, "work")
                git.commit(work, f"{name}.txt", name, name)
                git.run("pull", "-q", "--rebase", "origin", "main", cwd=work, check=False)
                git.run("push", "origin", "HEAD:main", cwd=work)


class RepositoryApiTest(CodeCommitTestCase):
    def test_repositories(self):
        cc = self.codecommit()
        for name in ("zeta", "alpha", "mid"):
            cc.create_repository(repositoryName=name, repositoryDescription=f"the {name}", tags={"team": name})
        with self.assertRaises(cc.exceptions.RepositoryNameExistsException):
            cc.create_repository(repositoryName="alpha")
        with self.assertRaises(cc.exceptions.InvalidRepositoryNameException):
            cc.create_repository(repositoryName="x.git")
        names = [r["repositoryName"] for r in cc.list_repositories(sortBy="repositoryName", order="descending")["repositories"]]
        self.assertEqual([n for n in names if n in ("zeta", "alpha", "mid")], ["zeta", "mid", "alpha"])
        batch = cc.batch_get_repositories(repositoryNames=["alpha", "ghost"])
        self.assertEqual([r["repositoryName"] for r in batch["repositories"]], ["alpha"])
        self.assertEqual(batch["repositoriesNotFound"], ["ghost"])

        cc.update_repository_description(repositoryName="mid", repositoryDescription="changed")
        cc.update_repository_name(oldName="mid", newName="middle")
        got = cc.get_repository(repositoryName="middle")["repositoryMetadata"]
        self.assertEqual(got["repositoryDescription"], "changed")
        self.assertEqual(got["Arn"], f"arn:aws:codecommit:{REGION}:{ACCOUNT}:middle")
        with self.assertRaises(cc.exceptions.RepositoryDoesNotExistException) as e:
            cc.get_repository(repositoryName="mid")
        self.assertEqual(e.exception.response["Error"]["Message"], "mid does not exist")

        arn = got["Arn"]
        cc.tag_resource(resourceArn=arn, tags={"env": "dev"})
        cc.untag_resource(resourceArn=arn, tagKeys=["team"])
        self.assertEqual(cc.list_tags_for_resource(resourceArn=arn)["tags"], {"env": "dev"})
        deleted = cc.delete_repository(repositoryName="middle")
        self.assertEqual(deleted["repositoryId"], got["repositoryId"])
        self.assertNotIn("repositoryId", cc.delete_repository(repositoryName="middle"))

    def test_files_commits_and_differences(self):
        cc = self.codecommit()
        repo = "files"
        cc.create_repository(repositoryName=repo)
        first = cc.put_file(repositoryName=repo, branchName="main", fileContent=b"print('hi')\n", filePath="src/app.py",
                            commitMessage="add app", name="Dev", email="dev@example.com")
        self.assertEqual(cc.get_repository(repositoryName=repo)["repositoryMetadata"]["defaultBranch"], "main")
        with self.assertRaises(cc.exceptions.ParentCommitIdRequiredException):
            cc.put_file(repositoryName=repo, branchName="main", fileContent=b"x", filePath="x.txt")
        with self.assertRaises(cc.exceptions.SameFileContentException):
            cc.put_file(repositoryName=repo, branchName="main", fileContent=b"print('hi')\n", filePath="src/app.py",
                        parentCommitId=first["commitId"])
        for bad in ("../etc/passwd", "src/../../x", ".git/config", "a//b"):
            with self.assertRaises(cc.exceptions.InvalidPathException, msg=bad):
                cc.put_file(repositoryName=repo, branchName="main", fileContent=b"x", filePath=bad,
                            parentCommitId=first["commitId"])

        second = cc.create_commit(
            repositoryName=repo, branchName="main", parentCommitId=first["commitId"], authorName="Dev",
            email="dev@example.com", commitMessage="layout",
            putFiles=[{"filePath": "README.md", "fileContent": b"# files\n"},
                      {"filePath": "bin/run.sh", "fileContent": b"#!/bin/sh\n", "fileMode": "EXECUTABLE"},
                      {"filePath": "src/main.py", "sourceFile": {"filePath": "src/app.py", "isMove": True}}])
        self.assertEqual(sorted(f["absolutePath"] for f in second["filesAdded"]), ["README.md", "bin/run.sh", "src/main.py"])
        self.assertEqual([f["absolutePath"] for f in second["filesDeleted"]], ["src/app.py"])
        with self.assertRaises(cc.exceptions.ParentCommitIdOutdatedException):
            cc.put_file(repositoryName=repo, branchName="main", fileContent=b"late", filePath="late.txt",
                        parentCommitId=first["commitId"])

        got = cc.get_file(repositoryName=repo, filePath="bin/run.sh")
        self.assertEqual((got["fileContent"], got["fileMode"], got["commitId"]),
                         (b"#!/bin/sh\n", "EXECUTABLE", second["commitId"]))
        with self.assertRaises(cc.exceptions.FileDoesNotExistException):
            cc.get_file(repositoryName=repo, filePath="src/app.py")
        self.assertEqual(cc.get_file(repositoryName=repo, filePath="src/app.py", commitSpecifier=first["commitId"])
                         ["fileContent"], b"print('hi')\n")
        folder = cc.get_folder(repositoryName=repo, folderPath="/")
        self.assertEqual([f["absolutePath"] for f in folder["subFolders"]], ["bin", "src"])
        self.assertEqual([f["absolutePath"] for f in folder["files"]], ["README.md"])
        self.assertEqual(cc.get_blob(repositoryName=repo, blobId=got["blobId"])["content"], b"#!/bin/sh\n")

        commit = cc.get_commit(repositoryName=repo, commitId=second["commitId"])["commit"]
        self.assertEqual((commit["message"], commit["parents"], commit["author"]["name"]),
                         ("layout", [first["commitId"]], "Dev"))
        batch = cc.batch_get_commits(repositoryName=repo, commitIds=[first["commitId"], "0" * 40])
        self.assertEqual([c["commitId"] for c in batch["commits"]], [first["commitId"]])
        self.assertEqual(batch["errors"][0]["commitId"], "0" * 40)

        all_changes = cc.get_differences(repositoryName=repo, beforeCommitSpecifier=first["commitId"],
                                         afterCommitSpecifier="main")["differences"]
        self.assertEqual(sorted((d["changeType"], (d.get("afterBlob") or d["beforeBlob"])["path"]) for d in all_changes),
                         [("A", "README.md"), ("A", "bin/run.sh"), ("A", "src/main.py"), ("D", "src/app.py")])
        in_src = cc.get_differences(repositoryName=repo, beforeCommitSpecifier=first["commitId"],
                                    afterCommitSpecifier="main", beforePath="src", afterPath="src")["differences"]
        self.assertEqual(sorted(d["changeType"] for d in in_src), ["A", "D"])
        page = cc.get_differences(repositoryName=repo, beforeCommitSpecifier=first["commitId"],
                                  afterCommitSpecifier="main", MaxResults=3)
        rest = cc.get_differences(repositoryName=repo, beforeCommitSpecifier=first["commitId"],
                                  afterCommitSpecifier="main", NextToken=page["NextToken"])
        self.assertEqual(len(page["differences"]) + len(rest["differences"]), 4)
        with self.assertRaises(cc.exceptions.PathDoesNotExistException):
            cc.get_differences(repositoryName=repo, afterCommitSpecifier="main", afterPath="nowhere")

        deleted = cc.delete_file(repositoryName=repo, branchName="main", filePath="README.md",
                                 parentCommitId=second["commitId"])
        self.assertEqual(deleted["filePath"], "README.md")
        cc.create_branch(repositoryName=repo, branchName="release", commitId=deleted["commitId"])
        with self.assertRaises(cc.exceptions.BranchNameExistsException):
            cc.create_branch(repositoryName=repo, branchName="release", commitId=deleted["commitId"])
        with self.assertRaises(cc.exceptions.CommitDoesNotExistException):
            cc.create_branch(repositoryName=repo, branchName="ghost", commitId="1" * 40)
        self.assertEqual(cc.delete_branch(repositoryName=repo, branchName="release")["deletedBranch"],
                         {"branchName": "release", "commitId": deleted["commitId"]})
        with self.assertRaises(cc.exceptions.BranchDoesNotExistException):
            cc.get_branch(repositoryName=repo, branchName="release")

        # What the API committed is what git clones.
        git = self.git(AWS_V1 or AWS_V2)
        clone = git.clone(repo, "clone")
        self.assertEqual(sorted(os.listdir(os.path.join(clone, "src"))), ["main.py"])
        self.assertTrue(os.access(os.path.join(clone, "bin/run.sh"), os.X_OK))


class EventsTest(CodeCommitTestCase):
    def log_messages(self, group, count, timeout=30):
        logs = self.gantry.boto3("logs")
        deadline = time.time() + timeout
        messages = []
        while time.time() < deadline:
            events = logs.filter_log_events(logGroupName=group)["events"]
            messages = [json.loads(e["message"]) for e in events]
            if len(messages) >= count:
                break
            time.sleep(0.2)
        return messages

    def rule_to_log_group(self, name, pattern):
        self.gantry.boto3("logs").create_log_group(logGroupName=name)
        events = self.gantry.boto3("events")
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": "1", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"}])

    def test_push_and_api_events_reach_a_rule_target(self):
        repo = "evented"
        metadata = self.create_repository(repo)
        self.rule_to_log_group("pushes", {"source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"],
                                          "resources": [metadata["Arn"]]})
        git = self.git(AWS_V1 or AWS_V2)
        work = git.clone(repo, "work")
        first = git.commit(work, "a.txt", "a\n", "a")
        git.run("push", "origin", "main", cwd=work)
        second = git.commit(work, "b.txt", "b\n", "b")
        git.run("push", "origin", "main", cwd=work)
        git.run("tag", "v1", cwd=work)
        git.run("push", "origin", "v1", cwd=work)
        git.run("push", "origin", "main:topic", cwd=work)
        git.run("push", "origin", "--delete", "topic", cwd=work)
        third = self.codecommit().put_file(repositoryName=repo, branchName="main", fileContent=b"c", filePath="c.txt",
                                           parentCommitId=second)["commitId"]

        messages = self.log_messages("pushes", 6)
        details = [(m["detail"]["event"], m["detail"]["referenceFullName"], m["detail"].get("commitId"),
                    m["detail"].get("oldCommitId")) for m in messages]
        self.assertEqual(sorted(details, key=str), sorted([
            ("referenceCreated", "refs/heads/main", first, None),
            ("referenceUpdated", "refs/heads/main", second, first),
            ("referenceCreated", "refs/tags/v1", second, None),
            ("referenceCreated", "refs/heads/topic", second, None),
            ("referenceDeleted", "refs/heads/topic", None, second),
            ("referenceUpdated", "refs/heads/main", third, second),
        ], key=str))
        sample = next(m for m in messages if m["detail"]["referenceFullName"] == "refs/tags/v1")
        self.assertEqual(sample["source"], "aws.codecommit")
        self.assertEqual(sample["resources"], [metadata["Arn"]])
        self.assertEqual(sample["detail"]["referenceType"], "tag")
        self.assertEqual(sample["detail"]["referenceName"], "v1")
        self.assertEqual(sample["detail"]["repositoryName"], repo)
        self.assertEqual(sample["detail"]["repositoryId"], metadata["repositoryId"])
        self.assertEqual(sample["detail"]["callerUserArn"], f"arn:aws:iam::{ACCOUNT}:root")

    def test_branch_name_that_is_not_utf8(self):
        # git accepts any bytes but a few in a ref name; the push succeeds and its event names the
        # branch with U+FFFD where the name is not UTF-8.
        repo = "latin1"
        metadata = self.create_repository(repo)
        self.rule_to_log_group("latin1", {"source": ["aws.codecommit"], "resources": [metadata["Arn"]]})
        git = self.git(AWS_V1 or AWS_V2)
        work = git.clone(repo, "work")
        tip = git.commit(work, "a.txt", "a\n", "a")
        pushed = subprocess.run([b"git", b"push", b"origin", b"HEAD:refs/heads/caf\xe9"], cwd=work, env=git.env,
                                capture_output=True, timeout=300)
        self.assertEqual(pushed.returncode, 0, pushed.stderr)
        listed = subprocess.run([b"git", b"ls-remote", b"origin"], cwd=work, env=git.env, capture_output=True,
                                check=True).stdout
        self.assertIn(tip.encode() + b"\trefs/heads/caf\xe9", listed)
        [message] = self.log_messages("latin1", 1)
        self.assertEqual((message["detail"]["referenceName"], message["detail"]["commitId"]), ("caf\ufffd", tip))
        git.run("push", "origin", "HEAD:main", cwd=work)
        self.assertEqual(len(self.log_messages("latin1", 2)), 2)

    def test_triggers(self):
        repo = "triggered"
        self.create_repository(repo)
        cc = self.codecommit()
        bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
        topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:builds"
        self.rule_to_log_group("triggers", {"detail-type": ["CodeCommit Repository Trigger"]})
        triggers = [{"name": "to-bus", "destinationArn": bus, "customData": "hello", "branches": ["main"],
                     "events": ["all"]},
                    {"name": "to-sns", "destinationArn": topic, "branches": [], "events": ["createReference"]}]
        configuration = cc.put_repository_triggers(repositoryName=repo, triggers=triggers)["configurationId"]
        got = cc.get_repository_triggers(repositoryName=repo)
        self.assertEqual((got["configurationId"], got["triggers"]), (configuration, triggers))
        with self.assertRaises(cc.exceptions.InvalidRepositoryTriggerEventsException):
            cc.put_repository_triggers(repositoryName=repo, triggers=[dict(triggers[0], events=["all", "updateReference"])])

        tested = cc.test_repository_triggers(repositoryName=repo, triggers=triggers)
        self.assertEqual(tested["successfulExecutions"], ["to-bus"])
        self.assertEqual([f["trigger"] for f in tested["failedExecutions"]], ["to-sns"])
        self.assertIn("no SNS or Lambda", tested["failedExecutions"][0]["failureMessage"])

        commit = cc.put_file(repositoryName=repo, branchName="main", fileContent=b"x", filePath="x")["commitId"]
        records = [m["detail"] for m in self.log_messages("triggers", 2)]
        names = sorted(r["eventName"] for r in records)
        self.assertEqual(names, ["ReferenceChanges", "TriggerEventTest"])
        pushed = next(r for r in records if r["eventName"] == "ReferenceChanges")
        self.assertEqual(pushed["customData"], "hello")
        self.assertEqual(pushed["eventTriggerName"], "to-bus")
        self.assertEqual(pushed["codecommit"]["references"], [{"commit": commit, "ref": "refs/heads/main", "created": True}])

        # The last outcome of each trigger, in Gantry's own view.
        status, _, body = self.gantry.raw("GET", "/_gantry/codecommit/trigger-deliveries")
        self.assertEqual(status, 200)
        outcomes = {(d["repositoryName"], d["trigger"]): d for d in json.loads(body)["TriggerDeliveries"]}
        self.assertTrue(outcomes[(repo, "to-bus")]["delivered"])
        self.assertFalse(outcomes[(repo, "to-sns")]["delivered"])
        self.assertIn("no SNS or Lambda", outcomes[(repo, "to-sns")]["failureMessage"])

        # A bus of another account is refused: its owner never admitted this account's events.
        elsewhere = {"name": "elsewhere", "destinationArn": f"arn:aws:events:{REGION}:111111111111:event-bus/default",
                     "branches": [], "events": ["all"]}
        for call in (cc.test_repository_triggers, cc.put_repository_triggers):
            with self.assertRaises(cc.exceptions.InvalidRepositoryTriggerDestinationArnException) as caught:
                call(repositoryName=repo, triggers=[elsewhere])
            self.assertIn("must be in the repository's account 000000000000", str(caught.exception))


class DurabilityTest(unittest.TestCase):
    def test_acknowledged_push_survives_kill9(self):
        state = tempfile.mkdtemp(prefix="gantry-e2e-")
        self.addCleanup(shutil.rmtree, state, True)
        gantry = Gantry(state_dir=state).start()
        try:
            gantry.boto3("codecommit").create_repository(repositoryName="durable")
            git = Git(gantry, AWS_V1 or AWS_V2)
            self.addCleanup(git.cleanup)
            work = git.clone("durable", "work")
            pushed = git.commit(work, "a.txt", "kept\n", "kept")
            git.run("push", "origin", "main", cwd=work)
            gantry.kill9()
            gantry = Gantry(state_dir=state).start()
            git.gantry = gantry
            git.env = dict(git.env, **{k: v for k, v in gantry.cli_env().items() if k.startswith("AWS_")})
            metadata = gantry.boto3("codecommit").get_repository(repositoryName="durable")["repositoryMetadata"]
            self.assertEqual(metadata["defaultBranch"], "main")
            clone = git.clone("durable", "clone")
            self.assertEqual(git.run("rev-parse", "HEAD", cwd=clone).stdout.strip(), pushed)
        finally:
            gantry.cleanup()

    def test_push_interrupted_by_kill9_is_published_on_restart(self):
        # Gantry is killed while git is still in receive-pack (held in its post-receive hook by a
        # `sync` that waits for the test); git finishes the push on its own, and the restarted
        # server publishes it: the event reaches the rule's target and the first branch becomes
        # the default.
        state = tempfile.mkdtemp(prefix="gantry-e2e-")
        self.addCleanup(shutil.rmtree, state, True)
        gate = tempfile.mkdtemp(prefix="gantry-gate-")
        self.addCleanup(shutil.rmtree, gate, True)
        real_sync = shutil.which("sync")
        with open(os.path.join(gate, "sync"), "w") as f:
            f.write(f"#!/bin/sh\ntouch {gate}/reached\nwhile [ ! -e {gate}/go ]; do sleep 0.05; done\n"
                    f"exec {real_sync} \"$@\"\n")
        os.chmod(os.path.join(gate, "sync"), 0o755)
        with unittest.mock.patch.dict(os.environ, {"PATH": gate + os.pathsep + os.environ["PATH"]}):
            gantry = Gantry(state_dir=state).start()
        try:
            metadata = gantry.boto3("codecommit").create_repository(repositoryName="interrupted")["repositoryMetadata"]
            gantry.boto3("logs").create_log_group(logGroupName="pushes")
            events = gantry.boto3("events")
            events.put_rule(Name="pushes", EventPattern=json.dumps({"source": ["aws.codecommit"],
                                                                    "resources": [metadata["Arn"]]}))
            events.put_targets(Rule="pushes", Targets=[{"Id": "1",
                                                        "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:pushes"}])
            git = Git(gantry, AWS_V1 or AWS_V2)
            self.addCleanup(git.cleanup)
            work = git.clone("interrupted", "work")
            pushed = git.commit(work, "a.txt", "kept\n", "kept")
            push = subprocess.Popen(["git", "push", "origin", "main"], cwd=work, env=git.env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(lambda: os.path.exists(os.path.join(gate, "reached")), what="the post-receive hook")
            gantry.kill9()
            open(os.path.join(gate, "go"), "w").close()
            push.wait(timeout=60)
            pending = os.path.join(state, "codecommit", "pending", metadata["repositoryId"])
            wait_for(lambda: any(n.endswith(".refs") for n in os.listdir(pending)), what="the push record")

            gantry = Gantry(state_dir=state).start()
            cc = gantry.boto3("codecommit")
            self.assertEqual(cc.get_repository(repositoryName="interrupted")["repositoryMetadata"]["defaultBranch"],
                             "main")
            self.assertEqual(cc.get_branch(repositoryName="interrupted", branchName="main")["branch"]["commitId"],
                             pushed)
            logs = gantry.boto3("logs")
            messages = wait_for(lambda: [json.loads(e["message"]) for e in
                                         logs.filter_log_events(logGroupName="pushes")["events"]],
                                what="the push's event")
            self.assertEqual([(m["detail"]["event"], m["detail"]["referenceFullName"], m["detail"]["commitId"])
                              for m in messages], [("referenceCreated", "refs/heads/main", pushed)])
            self.assertEqual([n for n in os.listdir(os.path.join(state, "codecommit", "pending"))], [])
        finally:
            gantry.cleanup()


if __name__ == "__main__":
    unittest.main()
