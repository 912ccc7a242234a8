"""Secrets Manager through both CLIs and boto3: secrets, versions and staging labels, idempotent
tokens, deletion with a recovery window and restore, random passwords, resource policies, tags,
ListSecrets filters and pages; values encrypted at rest in the state directory and surviving a
restart and kill -9; no secret value in the server's log."""
import base64
import os
import stat
import unittest

from harness import Gantry, GantryTestCase

ACCOUNT = "000000000000"
REGION = "us-east-1"
CANARY = "PLAINTEXT-sm-canary-5d1e8b"


def token(char):
    return char * 36


class SecretsTest(GantryTestCase):
    def test_create_get_put_versions_and_stages(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                secret = f"app/{name}/db"
                created = self.gantry.aws(cli, "secretsmanager", "create-secret", "--name", secret,
                                          "--secret-string", CANARY + "-v1", "--description", "db password",
                                          "--client-request-token", token("a"))
                self.assertRegex(created["ARN"],
                                 rf"^arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}-[A-Za-z0-9]{{6}}$")
                self.assertEqual(created["VersionId"], token("a"))
                got = self.gantry.aws(cli, "secretsmanager", "get-secret-value", "--secret-id", created["ARN"])
                self.assertEqual(got["SecretString"], CANARY + "-v1")
                self.assertEqual(got["VersionStages"], ["AWSCURRENT"])
                # A partial ARN (without the random suffix) finds the secret too.
                partial = created["ARN"][:-7]
                self.assertEqual(self.gantry.aws(cli, "secretsmanager", "get-secret-value", "--secret-id",
                                                 partial)["Name"], secret)

                put = self.gantry.aws(cli, "secretsmanager", "put-secret-value", "--secret-id", secret,
                                      "--secret-string", CANARY + "-v2", "--client-request-token", token("b"))
                self.assertEqual(put["VersionStages"], ["AWSCURRENT"])
                self.assertEqual(self.gantry.aws(cli, "secretsmanager", "get-secret-value", "--secret-id", secret)
                                 ["SecretString"], CANARY + "-v2")
                previous = self.gantry.aws(cli, "secretsmanager", "get-secret-value", "--secret-id", secret,
                                           "--version-stage", "AWSPREVIOUS")
                self.assertEqual(previous["SecretString"], CANARY + "-v1")

                pending = self.gantry.aws(cli, "secretsmanager", "put-secret-value", "--secret-id", secret,
                                          "--secret-string", CANARY + "-v3", "--version-stages", "AWSPENDING",
                                          "--client-request-token", token("c"))
                self.assertEqual(pending["VersionStages"], ["AWSPENDING"])
                code, _, err = self.gantry.aws(cli, "secretsmanager", "update-secret-version-stage",
                                               "--secret-id", secret, "--version-stage", "AWSCURRENT",
                                               "--move-to-version-id", token("c"), check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (InvalidParameterException) when calling the "
                              "UpdateSecretVersionStage operation: The parameter RemoveFromVersionId can't be empty. "
                              f"Staging label AWSCURRENT is currently attached to version {token('b')}, so you must "
                              "explicitly reference that version in RemoveFromVersionId.", err)
                self.gantry.aws(cli, "secretsmanager", "update-secret-version-stage", "--secret-id", secret,
                                "--version-stage", "AWSCURRENT", "--move-to-version-id", token("c"),
                                "--remove-from-version-id", token("b"))
                described = self.gantry.aws(cli, "secretsmanager", "describe-secret", "--secret-id", secret)
                self.assertEqual(described["Description"], "db password")
                self.assertEqual({k: sorted(v) for k, v in described["VersionIdsToStages"].items()},
                                 {token("b"): ["AWSPREVIOUS"], token("c"): ["AWSCURRENT", "AWSPENDING"]})
                versions = self.gantry.aws(cli, "secretsmanager", "list-secret-version-ids", "--secret-id", secret,
                                           "--include-deprecated")["Versions"]
                self.assertEqual(sorted(v["VersionId"] for v in versions), [token("a"), token("b"), token("c")])

    def test_errors_both_clis_print(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                code, _, err = self.gantry.aws(cli, "secretsmanager", "get-secret-value", "--secret-id", "nope",
                                               check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (ResourceNotFoundException) when calling the GetSecretValue "
                              "operation: Secrets Manager can't find the specified secret.", err)
                secret = f"dup-{name}"
                self.gantry.aws(cli, "secretsmanager", "create-secret", "--name", secret, "--secret-string", "x")
                code, _, err = self.gantry.aws(cli, "secretsmanager", "create-secret", "--name", secret,
                                               "--secret-string", "y", check=False)
                self.assertIn("An error occurred (ResourceExistsException) when calling the CreateSecret operation: "
                              f"The operation failed because the secret {secret} already exists.", err)
                code, _, err = self.gantry.aws(cli, "secretsmanager", "delete-secret", "--secret-id", secret,
                                               "--recovery-window-in-days", "3", check=False)
                self.assertIn("An error occurred (InvalidParameterException) when calling the DeleteSecret "
                              "operation: The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
                              err)

    def test_delete_restore_and_list(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                secret = f"gone-{name}"
                self.gantry.aws(cli, "secretsmanager", "create-secret", "--name", secret, "--secret-string", "v")
                deleted = self.gantry.aws(cli, "secretsmanager", "delete-secret", "--secret-id", secret,
                                          "--recovery-window-in-days", "7")
                self.assertIn("DeletionDate", deleted)
                code, _, err = self.gantry.aws(cli, "secretsmanager", "get-secret-value", "--secret-id", secret,
                                               check=False)
                self.assertIn("An error occurred (InvalidRequestException) when calling the GetSecretValue "
                              "operation: You can't perform this operation on the secret because it was marked for "
                              "deletion.", err)
                self.assertIn("DeletedDate", self.gantry.aws(cli, "secretsmanager", "describe-secret",
                                                             "--secret-id", secret))
                listed = self.gantry.aws(cli, "secretsmanager", "list-secrets", "--filters",
                                         f"Key=name,Values={secret}")["SecretList"]
                self.assertEqual(listed, [])
                listed = self.gantry.aws(cli, "secretsmanager", "list-secrets", "--include-planned-deletion",
                                         "--filters", f"Key=name,Values={secret}")["SecretList"]
                self.assertEqual([s["Name"] for s in listed], [secret])
                self.gantry.aws(cli, "secretsmanager", "restore-secret", "--secret-id", secret)
                self.assertEqual(self.gantry.aws(cli, "secretsmanager", "get-secret-value", "--secret-id", secret)
                                 ["SecretString"], "v")
                self.gantry.aws(cli, "secretsmanager", "delete-secret", "--secret-id", secret,
                                "--force-delete-without-recovery")
                code, _, err = self.gantry.aws(cli, "secretsmanager", "describe-secret", "--secret-id", secret,
                                               check=False)
                self.assertIn("(ResourceNotFoundException)", err)
                # The name is free again at once.
                self.gantry.aws(cli, "secretsmanager", "create-secret", "--name", secret, "--secret-string", "w")

    def test_random_password(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                password = self.gantry.aws(cli, "secretsmanager", "get-random-password")["RandomPassword"]
                self.assertEqual(len(password), 32)
                digits = self.gantry.aws(cli, "secretsmanager", "get-random-password", "--password-length", "50",
                                         "--exclude-lowercase", "--exclude-uppercase",
                                         "--exclude-punctuation")["RandomPassword"]
                self.assertRegex(digits, r"^[0-9]{50}$")
        sm = self.gantry.boto3("secretsmanager")
        for _ in range(20):
            p = sm.get_random_password(PasswordLength=8, ExcludeCharacters="abcdefABCDEF0123")["RandomPassword"]
            self.assertEqual(len(p), 8)
            self.assertFalse(set(p) & set("abcdefABCDEF0123"), p)
            self.assertTrue(any(c.islower() for c in p) and any(c.isupper() for c in p) and
                            any(c.isdigit() for c in p) and any(not c.isalnum() for c in p), p)
        # A space is one character of ~95 allowed: one in 300 is missing about 4% of the time, one in
        # ten such passwords practically never.
        spaced = "".join(sm.get_random_password(PasswordLength=300, IncludeSpace=True)["RandomPassword"]
                         for _ in range(10))
        self.assertIn(" ", spaced)
        with self.assertRaises(sm.exceptions.InvalidParameterException):
            sm.get_random_password(ExcludeLowercase=True, ExcludeUppercase=True, ExcludeNumbers=True,
                                   ExcludePunctuation=True)

    def test_boto3_binary_idempotency_policies_and_tags(self):
        sm = self.gantry.boto3("secretsmanager")
        arn = sm.create_secret(Name="bin", SecretBinary=b"\x00\x01\xfe\xff",
                               Tags=[{"Key": "team", "Value": "red"}])["ARN"]
        self.assertEqual(sm.get_secret_value(SecretId="bin")["SecretBinary"], b"\x00\x01\xfe\xff")
        first = sm.put_secret_value(SecretId="bin", SecretString="s", ClientRequestToken=token("x"))
        again = sm.put_secret_value(SecretId="bin", SecretString="s", ClientRequestToken=token("x"))
        self.assertEqual(first["VersionId"], again["VersionId"])
        with self.assertRaises(sm.exceptions.ResourceExistsException):
            sm.put_secret_value(SecretId="bin", SecretString="other", ClientRequestToken=token("x"))
        with self.assertRaises(sm.exceptions.InvalidParameterException):
            sm.create_secret(Name="both", SecretString="a", SecretBinary=b"b")

        policy = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
                  f'"arn:aws:iam::{ACCOUNT}:role/reader"}},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}]}}')
        sm.put_resource_policy(SecretId=arn, ResourcePolicy=policy)
        self.assertEqual(sm.get_resource_policy(SecretId="bin")["ResourcePolicy"], policy)
        public = '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:*","Resource":"*"}]}'
        with self.assertRaises(sm.exceptions.PublicPolicyException):
            sm.put_resource_policy(SecretId=arn, ResourcePolicy=public, BlockPublicPolicy=True)
        with self.assertRaises(sm.exceptions.MalformedPolicyDocumentException):
            sm.put_resource_policy(SecretId=arn, ResourcePolicy="{nope")
        self.assertFalse(sm.validate_resource_policy(ResourcePolicy=public)["PolicyValidationPassed"])
        self.assertTrue(sm.validate_resource_policy(SecretId=arn, ResourcePolicy=policy)["PolicyValidationPassed"])
        sm.delete_resource_policy(SecretId=arn)
        self.assertNotIn("ResourcePolicy", sm.get_resource_policy(SecretId=arn))

        sm.tag_resource(SecretId=arn, Tags=[{"Key": "env", "Value": "prod"}])
        sm.untag_resource(SecretId=arn, TagKeys=["team"])
        self.assertEqual(sm.describe_secret(SecretId=arn)["Tags"], [{"Key": "env", "Value": "prod"}])

    def test_list_secrets_filters_and_pages(self):
        sm = self.gantry.boto3("secretsmanager")
        for i in range(7):
            sm.create_secret(Name=f"paged/s{i}", SecretString="v", Description="odd" if i % 2 else "even",
                             Tags=[{"Key": "env", "Value": "dev" if i < 3 else "prod"}])
        names = []
        for page in sm.get_paginator("list_secrets").paginate(
                Filters=[{"Key": "name", "Values": ["paged/"]}], PaginationConfig={"PageSize": 3}):
            self.assertLessEqual(len(page["SecretList"]), 3)
            names += [s["Name"] for s in page["SecretList"]]
        self.assertEqual(sorted(names), [f"paged/s{i}" for i in range(7)])
        dev = sm.list_secrets(Filters=[{"Key": "name", "Values": ["paged/"]},
                                       {"Key": "tag-value", "Values": ["dev"]}])["SecretList"]
        self.assertEqual(sorted(s["Name"] for s in dev), ["paged/s0", "paged/s1", "paged/s2"])
        not_dev = sm.list_secrets(Filters=[{"Key": "name", "Values": ["paged/"]},
                                           {"Key": "tag-value", "Values": ["!dev"]}])["SecretList"]
        self.assertEqual(len(not_dev), 4)
        batch = sm.batch_get_secret_value(SecretIdList=["paged/s0", "paged/s1", "missing"])
        self.assertEqual(sorted(v["Name"] for v in batch["SecretValues"]), ["paged/s0", "paged/s1"])
        self.assertEqual([e["ErrorCode"] for e in batch["Errors"]], ["ResourceNotFoundException"])

    def test_no_secret_value_in_the_server_log(self):
        sm = self.gantry.boto3("secretsmanager")
        sm.create_secret(Name="logged", SecretString=CANARY + "-log")
        sm.get_secret_value(SecretId="logged")
        with self.assertRaises(sm.exceptions.ResourceExistsException):
            sm.create_secret(Name="logged", SecretString=CANARY + "-log")
        log = self.gantry.stderr()
        self.assertIn("POST", log)  # the harness runs the server with --log-level debug
        self.assertNotIn(CANARY, log)


def state_bytes(state_dir):
    """Every byte of every file under the state directory."""
    chunks = []
    for root, _, files in os.walk(state_dir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                chunks.append(fh.read())
    return b"".join(chunks)


class EncryptionAtRestTest(unittest.TestCase):
    def test_values_are_sealed_in_the_state_directory_and_survive_restarts(self):
        first = Gantry().start()
        self.addCleanup(first.cleanup)
        sm = first.boto3("secretsmanager")
        ssm = first.boto3("ssm")
        sm.create_secret(Name="at-rest", SecretString=CANARY + "-string")
        sm.put_secret_value(SecretId="at-rest", SecretBinary=(CANARY + "-binary").encode())
        ssm.put_parameter(Name="/at-rest/param", Value=CANARY + "-param", Type="SecureString")
        key = os.path.join(first.state_dir, "master.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(os.path.getsize(key), 32)
        first.stop()

        data = state_bytes(first.state_dir)
        self.assertGreater(len(data), 0)
        self.assertNotIn(CANARY.encode(), data, "a secret is stored in the clear")
        self.assertNotIn(base64.b64encode((CANARY + "-string").encode()), data)
        self.assertNotIn(CANARY, first.stderr())

        second = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(second.stop)
        sm = second.boto3("secretsmanager")
        self.assertEqual(sm.get_secret_value(SecretId="at-rest")["SecretBinary"], (CANARY + "-binary").encode())
        self.assertEqual(sm.get_secret_value(SecretId="at-rest", VersionStage="AWSPREVIOUS")["SecretString"],
                         CANARY + "-string")
        # Acknowledged writes survive kill -9.
        sm.put_secret_value(SecretId="at-rest", SecretString=CANARY + "-after")
        second.kill9()
        third = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(third.stop)
        self.assertEqual(third.boto3("secretsmanager").get_secret_value(SecretId="at-rest")["SecretString"],
                         CANARY + "-after")
        self.assertEqual(third.boto3("ssm").get_parameter(Name="/at-rest/param", WithDecryption=True)
                         ["Parameter"]["Value"], CANARY + "-param")
        self.assertNotIn(CANARY.encode(), state_bytes(first.state_dir))


if __name__ == "__main__":
    unittest.main()
