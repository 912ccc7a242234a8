"""STS GetCallerIdentity through both CLIs and boto3, and SigV4 failures as AWS reports them."""
import unittest

from harness import GantryTestCase


class GetCallerIdentityTest(GantryTestCase):
    def test_cli_v1_and_v2(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "sts", "get-caller-identity")
                self.assertEqual(out["Account"], "000000000000")
                self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:root")
                self.assertEqual(out["UserId"], "000000000000")

    def test_boto3(self):
        out = self.gantry.boto3("sts").get_caller_identity()
        self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:root")
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertTrue(out["ResponseMetadata"]["RequestId"])

    def test_other_region_in_scope(self):
        out = self.gantry.boto3("sts", region="eu-west-1").get_caller_identity()
        self.assertEqual(out["Account"], "000000000000")


class SignatureFailureTest(GantryTestCase):
    def test_unknown_access_key_query_protocol(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                code, _, err = self.gantry.aws(cli, "sts", "get-caller-identity", check=False,
                                               access_key="AKIAUNKNOWNKEY000000")
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity "
                              "operation: The security token included in the request is invalid.", err)

    def test_wrong_secret_query_protocol(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                code, _, err = self.gantry.aws(cli, "sts", "get-caller-identity", check=False,
                                               secret_key="wrong-secret-wrong-secret-wrong-secret00")
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity "
                              "operation: The request signature we calculated does not match", err)

    def test_wrong_secret_json_protocol(self):
        from botocore.exceptions import ClientError
        events = self.gantry.boto3("events", secret_key="wrong-secret-wrong-secret-wrong-secret00")
        with self.assertRaises(ClientError) as cm:
            events.list_rules()
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidSignatureException")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_unknown_key_json_protocol(self):
        from botocore.exceptions import ClientError
        events = self.gantry.boto3("events", access_key="AKIAUNKNOWNKEY000000")
        with self.assertRaises(ClientError) as cm:
            events.list_rules()
        self.assertEqual(cm.exception.response["Error"]["Code"], "UnrecognizedClientException")

    def test_unsigned_request_is_refused(self):
        status, _, body = self.gantry.raw(
            "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>MissingAuthenticationToken</Code>", body)

    def test_session_token_for_unknown_session(self):
        from botocore.exceptions import ClientError
        sts = self.gantry.boto3("sts", session_token="not-a-real-session-token")
        with self.assertRaises(ClientError) as cm:
            sts.get_caller_identity()
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidClientTokenId")


class AcceptAnyCredentialsTest(GantryTestCase):
    extra_args = ("--accept-any-credentials",)

    def test_test_test_credentials_are_root(self):
        out = self.gantry.boto3("sts", access_key="test", secret_key="test").get_caller_identity()
        self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:root")

    def test_loud_warning(self):
        self.assertIn("--accept-any-credentials", self.gantry.stderr())


if __name__ == "__main__":
    unittest.main()
