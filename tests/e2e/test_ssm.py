"""SSM Parameter Store through both CLIs and boto3: String, StringList and SecureString (ciphertext
without --with-decryption), overwrite rules, hierarchies with recursive and paginated
get-parameters-by-path, labels and selectors, history, describe-parameters filters, tiers and
policies, deletes, tags, and state (SecureStrings sealed) that survives a restart and kill -9."""
import base64
import os
import unittest

from harness import Gantry, GantryTestCase

ACCOUNT = "000000000000"
REGION = "us-east-1"
CANARY = "PLAINTEXT-ssm-canary-07c4aa"


class ParametersTest(GantryTestCase):
    def test_types_and_secure_strings(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                base = f"/types/{name}"
                self.assertEqual(self.gantry.aws(cli, "ssm", "put-parameter", "--name", f"{base}/url",
                                                 "--value", "example.com:8080", "--type", "String"),
                                 {"Version": 1, "Tier": "Standard"})
                self.gantry.aws(cli, "ssm", "put-parameter", "--name", f"{base}/hosts", "--value", "a,b,c",
                                "--type", "StringList")
                self.gantry.aws(cli, "ssm", "put-parameter", "--name", f"{base}/password", "--value", CANARY,
                                "--type", "SecureString")
                url = self.gantry.aws(cli, "ssm", "get-parameter", "--name", f"{base}/url")["Parameter"]
                self.assertEqual(url["Value"], "example.com:8080")
                self.assertEqual(url["ARN"], f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{base}/url")
                self.assertEqual(url["Type"], "String")
                hosts = self.gantry.aws(cli, "ssm", "get-parameter", "--name", f"{base}/hosts")["Parameter"]
                self.assertEqual((hosts["Type"], hosts["Value"]), ("StringList", "a,b,c"))

                hidden = self.gantry.aws(cli, "ssm", "get-parameter", "--name", f"{base}/password")["Parameter"]
                self.assertEqual(hidden["Type"], "SecureString")
                self.assertNotEqual(hidden["Value"], CANARY)
                self.assertNotIn(CANARY.encode(), base64.b64decode(hidden["Value"]))
                shown = self.gantry.aws(cli, "ssm", "get-parameter", "--name", f"{base}/password",
                                        "--with-decryption")["Parameter"]
                self.assertEqual(shown["Value"], CANARY)
                both = self.gantry.aws(cli, "ssm", "get-parameters", "--names", f"{base}/password", f"{base}/nope",
                                       "--with-decryption")
                self.assertEqual([p["Value"] for p in both["Parameters"]], [CANARY])
                self.assertEqual(both["InvalidParameters"], [f"{base}/nope"])
                described = self.gantry.aws(cli, "ssm", "describe-parameters", "--parameter-filters",
                                            f"Key=Name,Values={base}/password")["Parameters"]
                self.assertEqual(described[0]["KeyId"], "alias/aws/ssm")

    def test_overwrite_and_error_lines(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                param = f"/errors/{name}"
                self.gantry.aws(cli, "ssm", "put-parameter", "--name", param, "--value", "one", "--type", "String")
                code, _, err = self.gantry.aws(cli, "ssm", "put-parameter", "--name", param, "--value", "two",
                                               "--type", "String", check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("An error occurred (ParameterAlreadyExists) when calling the PutParameter operation: "
                              "The parameter already exists. To overwrite this value, set the overwrite option in "
                              "the request to true.", err)
                self.assertEqual(self.gantry.aws(cli, "ssm", "put-parameter", "--name", param, "--value", "two",
                                                 "--overwrite")["Version"], 2)
                code, _, err = self.gantry.aws(cli, "ssm", "get-parameter", "--name", param + "/missing", check=False)
                self.assertIn("An error occurred (ParameterNotFound) when calling the GetParameter operation: ", err)
                code, _, err = self.gantry.aws(cli, "ssm", "get-parameter", "--name", param + ":9", check=False)
                self.assertIn("An error occurred (ParameterVersionNotFound) when calling the GetParameter operation: "
                              f"Systems Manager could not find version 9 of {param}. Verify the version and try "
                              "again.", err)
                code, _, err = self.gantry.aws(cli, "ssm", "put-parameter", "--name", "no/leading/slash",
                                               "--value", "x", "--type", "String", check=False)
                self.assertIn("An error occurred (ValidationException) when calling the PutParameter operation: "
                              "Parameter name must be a fully qualified name.", err)

    def test_by_path_recursive_and_paginated(self):
        ssm = self.gantry.boto3("ssm")
        for i in range(23):
            ssm.put_parameter(Name=f"/tree/app/p{i:02d}", Value=str(i), Type="String")
        ssm.put_parameter(Name="/tree/app/deep/secret", Value=CANARY, Type="SecureString")
        ssm.put_parameter(Name="/tree/top", Value="t", Type="String")
        first = ssm.get_parameters_by_path(Path="/tree/app")
        self.assertEqual(len(first["Parameters"]), 10)  # MaxResults defaults to 10
        names, token, pages = [], None, 0
        while True:
            kwargs = {"Path": "/tree/app", "MaxResults": 7}
            if token:
                kwargs["NextToken"] = token
            page = ssm.get_parameters_by_path(**kwargs)
            names += [p["Name"] for p in page["Parameters"]]
            pages += 1
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(names, [f"/tree/app/p{i:02d}" for i in range(23)])
        self.assertEqual(pages, 4)
        recursive = []
        for page in ssm.get_paginator("get_parameters_by_path").paginate(Path="/tree", Recursive=True,
                                                                         WithDecryption=True):
            recursive += page["Parameters"]
        self.assertEqual(len(recursive), 25)
        self.assertIn(CANARY, [p["Value"] for p in recursive])
        for name, cli in self.clis():
            with self.subTest(cli=name):
                # The CLIs follow NextToken themselves.
                out = self.gantry.aws(cli, "ssm", "get-parameters-by-path", "--path", "/tree", "--recursive",
                                      "--parameter-filters", "Key=Type,Values=String")
                self.assertEqual(len(out["Parameters"]), 24)
                top = self.gantry.aws(cli, "ssm", "get-parameters-by-path", "--path", "/tree/")
                self.assertEqual([p["Name"] for p in top["Parameters"]], ["/tree/top"])

    def test_labels_selectors_and_history(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                param = f"/labels/{name}"
                for v in ("v1", "v2", "v3"):
                    self.gantry.aws(cli, "ssm", "put-parameter", "--name", param, "--value", v, "--type",
                                    "SecureString", "--overwrite")
                labeled = self.gantry.aws(cli, "ssm", "label-parameter-version", "--name", param,
                                          "--parameter-version", "1", "--labels", "stable", "aws-nope")
                self.assertEqual(labeled, {"InvalidLabels": ["aws-nope"], "ParameterVersion": 1})
                stable = self.gantry.aws(cli, "ssm", "get-parameter", "--name", f"{param}:stable",
                                         "--with-decryption")["Parameter"]
                self.assertEqual((stable["Value"], stable["Version"], stable["Selector"]), ("v1", 1, ":stable"))
                second = self.gantry.aws(cli, "ssm", "get-parameter", "--name", f"{param}:2",
                                         "--with-decryption")["Parameter"]
                self.assertEqual(second["Value"], "v2")
                history = self.gantry.aws(cli, "ssm", "get-parameter-history", "--name", param,
                                          "--with-decryption")["Parameters"]
                self.assertEqual([(h["Version"], h["Value"], h["Labels"]) for h in history],
                                 [(1, "v1", ["stable"]), (2, "v2", []), (3, "v3", [])])
                hidden = self.gantry.aws(cli, "ssm", "get-parameter-history", "--name", param)["Parameters"]
                self.assertNotIn("v1", [h["Value"] for h in hidden])
                # Labelling the latest version moves the label.
                self.gantry.aws(cli, "ssm", "label-parameter-version", "--name", param, "--labels", "stable")
                self.assertEqual(self.gantry.aws(cli, "ssm", "get-parameter", "--name", f"{param}:stable")
                                 ["Parameter"]["Version"], 3)
                removed = self.gantry.aws(cli, "ssm", "unlabel-parameter-version", "--name", param,
                                          "--parameter-version", "3", "--labels", "stable")
                self.assertEqual(removed["RemovedLabels"], ["stable"])

    def test_describe_delete_tiers_policies_and_tags(self):
        ssm = self.gantry.boto3("ssm")
        ssm.put_parameter(Name="/desc/a", Value="1", Type="String", Tags=[{"Key": "team", "Value": "red"}])
        ssm.put_parameter(Name="/desc/b/c", Value="2", Type="StringList")
        ssm.put_parameter(Name="/desc/big", Value="x" * 5000, Type="String", Tier="Intelligent-Tiering",
                          Policies='[{"Type":"Expiration","Version":"1.0","Attributes":'
                                   '{"Timestamp":"2099-01-01T00:00:00.000Z"}}]')
        with self.assertRaises(ssm.exceptions.ClientError) as raised:
            ssm.put_parameter(Name="/desc/toolong", Value="x" * 5000, Type="String")
        self.assertEqual(raised.exception.response["Error"]["Code"], "ValidationException")
        big = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/desc/big"]}])["Parameters"][0]
        self.assertEqual(big["Tier"], "Advanced")
        self.assertEqual(big["Policies"][0]["PolicyType"], "Expiration")
        one_level = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": ["/desc"]}])["Parameters"]
        self.assertEqual(sorted(p["Name"] for p in one_level), ["/desc/a", "/desc/big"])
        tagged = ssm.describe_parameters(ParameterFilters=[{"Key": "tag:team", "Values": ["red"]}])["Parameters"]
        self.assertEqual([p["Name"] for p in tagged], ["/desc/a"])
        with self.assertRaises(ssm.exceptions.InvalidFilterOption):
            ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Option": "Equals", "Values": ["/desc"]}])
        self.assertEqual(ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/desc/a")["TagList"],
                         [{"Key": "team", "Value": "red"}])
        ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId="/desc/a", Tags=[{"Key": "env", "Value": "p"}])
        ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId="/desc/a", TagKeys=["team"])
        self.assertEqual(ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/desc/a")["TagList"],
                         [{"Key": "env", "Value": "p"}])
        deleted = ssm.delete_parameters(Names=["/desc/a", "/desc/none"])
        self.assertEqual((deleted["DeletedParameters"], deleted["InvalidParameters"]), (["/desc/a"], ["/desc/none"]))
        ssm.delete_parameter(Name="/desc/b/c")
        with self.assertRaises(ssm.exceptions.ParameterNotFound):
            ssm.delete_parameter(Name="/desc/b/c")
        with self.assertRaises(ssm.exceptions.ParameterNotFound):
            ssm.get_parameter(Name="/desc/b/c")

    def test_no_parameter_value_in_the_server_log(self):
        ssm = self.gantry.boto3("ssm")
        ssm.put_parameter(Name="/logged", Value=CANARY + "-log", Type="SecureString")
        ssm.get_parameter(Name="/logged", WithDecryption=True)
        self.assertNotIn(CANARY, self.gantry.stderr())


class RestartTest(unittest.TestCase):
    def test_parameters_survive_restart_and_kill9(self):
        first = Gantry().start()
        self.addCleanup(first.cleanup)
        ssm = first.boto3("ssm")
        ssm.put_parameter(Name="/durable/secure", Value=CANARY, Type="SecureString")
        ssm.put_parameter(Name="/durable/plain", Value="p1", Type="String")
        ssm.label_parameter_version(Name="/durable/plain", Labels=["keep"])
        first.stop()
        data = b""
        for root, _, files in os.walk(first.state_dir):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    data += fh.read()
        self.assertNotIn(CANARY.encode(), data)

        second = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(second.stop)
        ssm = second.boto3("ssm")
        self.assertEqual(ssm.get_parameter(Name="/durable/secure", WithDecryption=True)["Parameter"]["Value"], CANARY)
        self.assertEqual(ssm.get_parameter(Name="/durable/plain:keep")["Parameter"]["Value"], "p1")
        ssm.put_parameter(Name="/durable/plain", Value="p2", Overwrite=True)
        second.kill9()
        third = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(third.stop)
        ssm = third.boto3("ssm")
        self.assertEqual(ssm.get_parameter(Name="/durable/plain")["Parameter"]["Version"], 2)
        self.assertEqual(len(ssm.get_parameter_history(Name="/durable/plain")["Parameters"]), 2)


if __name__ == "__main__":
    unittest.main()
