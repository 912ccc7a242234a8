"""IAM through both CLIs and boto3: users, groups, access keys, service-specific credentials,
managed and inline policies, roles and trust policies, OIDC providers, instance profiles, the
simulator — and policies enforced on every request of a non-root principal: the CodeBuild and
EventBridge permission matrix, explicit denies on a resource ARN, conditions, policy variables,
permissions boundaries, resource-based policies, and AWS's exact AccessDenied messages."""
import json
import unittest

from harness import Gantry, GantryTestCase

ACCOUNT = "000000000000"
REGION = "us-east-1"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    s = {"Effect": "Allow", "Action": action, "Resource": resource}
    s.update(extra)
    return s


def deny(action, resource="*", **extra):
    s = {"Effect": "Deny", "Action": action, "Resource": resource}
    s.update(extra)
    return s


def denied(who, action, resource, why=None):
    message = f"User: {who} is not authorized to perform: {action} on resource: {resource}"
    if why is None:
        why = f"because no identity-based policy allows the {action} action"
    return message + (" " + why if why else "")


class IamCase(GantryTestCase):
    def iam(self):
        return self.gantry.boto3("iam")

    def make_user(self, name, *statements, managed=()):
        iam = self.iam()
        iam.create_user(UserName=name)
        if statements:
            iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=doc(*statements))
        for arn in managed:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def as_user(self, key, service, region=REGION):
        return self.gantry.boto3(service, access_key=key[0], secret_key=key[1], region=region)

    def cli_as(self, cli, key, *args):
        return self.gantry.aws(cli, *args, check=False, access_key=key[0], secret_key=key[1])

    def assertCliError(self, cli, key, args, code, operation, message):
        rc, _, err = self.cli_as(cli, key, *args)
        self.assertNotEqual(rc, 0)
        self.assertIn(f"An error occurred ({code}) when calling the {operation} operation: {message}", err)


class UsersAndKeysTest(IamCase):
    def test_user_lifecycle_both_clis(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                user = f"dev-{name}"
                out = self.gantry.aws(cli, "iam", "create-user", "--user-name", user, "--path", "/team/",
                                      "--tags", "Key=env,Value=test")["User"]
                self.assertEqual(out["Arn"], f"arn:aws:iam::{ACCOUNT}:user/team/{user}")
                self.assertTrue(out["UserId"].startswith("AIDA") and len(out["UserId"]) == 21)
                got = self.gantry.aws(cli, "iam", "get-user", "--user-name", user)["User"]
                self.assertEqual(got["Tags"], [{"Key": "env", "Value": "test"}])
                listed = self.gantry.aws(cli, "iam", "list-users", "--path-prefix", "/team/")["Users"]
                self.assertIn(user, [u["UserName"] for u in listed])
                rc, _, err = self.gantry.aws(cli, "iam", "create-user", "--user-name", user, check=False)
                self.assertIn(f"An error occurred (EntityAlreadyExists) when calling the CreateUser operation: "
                              f"User with name {user} already exists.", err)
                self.gantry.aws(cli, "iam", "update-user", "--user-name", user, "--new-user-name", user + "-2")
                rc, _, err = self.gantry.aws(cli, "iam", "get-user", "--user-name", user, check=False)
                self.assertIn(f"An error occurred (NoSuchEntity) when calling the GetUser operation: "
                              f"The user with name {user} cannot be found.", err)
                self.gantry.aws(cli, "iam", "delete-user", "--user-name", user + "-2")

    def test_tag_untag_and_list_tags_of_users_and_roles(self):
        iam = self.iam()
        iam.create_user(UserName="tag-user")
        iam.create_role(RoleName="tag-role", AssumeRolePolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}))
        for tag, untag, list_tags, name in (
                (iam.tag_user, iam.untag_user, iam.list_user_tags, {"UserName": "tag-user"}),
                (iam.tag_role, iam.untag_role, iam.list_role_tags, {"RoleName": "tag-role"})):
            tag(Tags=[{"Key": "team", "Value": "web"}, {"Key": "env", "Value": "dev"}], **name)
            tag(Tags=[{"Key": "env", "Value": "prod"}], **name)
            untag(TagKeys=["team"], **name)
            self.assertEqual(list_tags(**name)["Tags"], [{"Key": "env", "Value": "prod"}])
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            iam.tag_user(UserName="nobody", Tags=[{"Key": "k", "Value": "v"}])
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchEntity")

    def test_no_such_entity_is_404(self):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.iam().get_user(UserName="nobody")
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchEntity")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    def test_access_keys_create_list_deactivate_delete(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        key = self.make_user("keys", allow("sts:GetCallerIdentity"))
        self.assertTrue(key[0].startswith("AKIA") and len(key[0]) == 20 and len(key[1]) == 40)
        me = self.as_user(key, "sts").get_caller_identity()
        self.assertEqual(me["Arn"], f"arn:aws:iam::{ACCOUNT}:user/keys")
        iam.create_access_key(UserName="keys")
        with self.assertRaises(ClientError) as cm:
            iam.create_access_key(UserName="keys")
        self.assertEqual(cm.exception.response["Error"]["Message"], "Cannot exceed quota for AccessKeysPerUser: 2")
        listed = iam.list_access_keys(UserName="keys")["AccessKeyMetadata"]
        self.assertEqual(len(listed), 2)
        self.assertEqual({k["Status"] for k in listed}, {"Active"})

        iam.update_access_key(UserName="keys", AccessKeyId=key[0], Status="Inactive")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                self.assertCliError(cli, key, ["sts", "get-caller-identity"], "InvalidClientTokenId",
                                    "GetCallerIdentity", "The security token included in the request is invalid.")
        iam.update_access_key(UserName="keys", AccessKeyId=key[0], Status="Active")
        self.assertEqual(self.as_user(key, "sts").get_caller_identity()["UserId"],
                         iam.get_user(UserName="keys")["User"]["UserId"])

        with self.assertRaises(ClientError) as cm:
            iam.delete_user(UserName="keys")
        self.assertEqual(cm.exception.response["Error"]["Code"], "DeleteConflict")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "Cannot delete entity, must delete access keys first.")
        for k in iam.list_access_keys(UserName="keys")["AccessKeyMetadata"]:
            iam.delete_access_key(UserName="keys", AccessKeyId=k["AccessKeyId"])
        with self.assertRaises(ClientError) as cm:
            self.as_user(key, "sts").get_caller_identity()
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidClientTokenId")

    def test_user_manages_own_keys_with_username_variable(self):
        key = self.make_user("self-service", allow(["iam:ListAccessKeys", "iam:CreateAccessKey", "iam:GetUser"],
                                                   f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"))
        for name, cli in self.clis():
            with self.subTest(cli=name):
                _, out, _ = self.cli_as(cli, key, "iam", "list-access-keys")
                self.assertEqual(json.loads(out)["AccessKeyMetadata"][0]["UserName"], "self-service")
                self.assertEqual(json.loads(self.cli_as(cli, key, "iam", "get-user")[1])["User"]["UserName"],
                                 "self-service")
                self.assertCliError(cli, key, ["iam", "list-access-keys", "--user-name", "keys-of-someone"],
                                    "AccessDenied", "ListAccessKeys",
                                    denied(f"arn:aws:iam::{ACCOUNT}:user/self-service", "iam:ListAccessKeys",
                                           f"arn:aws:iam::{ACCOUNT}:user/keys-of-someone"))

    def test_service_specific_credentials_for_codecommit(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        iam.create_user(UserName="git-user")
        created = iam.create_service_specific_credential(UserName="git-user",
                                                         ServiceName="codecommit.amazonaws.com")
        cred = created["ServiceSpecificCredential"]
        self.assertEqual(cred["ServiceUserName"], f"git-user-at-{ACCOUNT}")
        self.assertEqual(len(cred["ServicePassword"]), 44)
        self.assertEqual(cred["Status"], "Active")
        listed = iam.list_service_specific_credentials(UserName="git-user")["ServiceSpecificCredentials"]
        self.assertEqual([c["ServiceSpecificCredentialId"] for c in listed], [cred["ServiceSpecificCredentialId"]])
        self.assertNotIn("ServicePassword", listed[0])
        iam.update_service_specific_credential(UserName="git-user", Status="Inactive",
                                               ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])
        reset = iam.reset_service_specific_credential(
            UserName="git-user", ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])
        self.assertNotEqual(reset["ServiceSpecificCredential"]["ServicePassword"], cred["ServicePassword"])
        with self.assertRaises(ClientError) as cm:
            iam.create_service_specific_credential(UserName="git-user", ServiceName="s3.amazonaws.com")
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotSupportedService")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "iam", "list-service-specific-credentials", "--user-name", "git-user",
                                      "--service-name", "codecommit.amazonaws.com")
                self.assertEqual(out["ServiceSpecificCredentials"][0]["Status"], "Inactive")
        iam.delete_service_specific_credential(UserName="git-user",
                                               ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])
        iam.delete_user(UserName="git-user")


class GroupsAndPoliciesTest(IamCase):
    def test_group_policies_apply_to_members(self):
        iam = self.iam()
        key = self.make_user("member")
        iam.create_group(GroupName="readers")
        iam.put_group_policy(GroupName="readers", PolicyName="list", PolicyDocument=doc(allow("events:ListRules")))
        events = self.as_user(key, "events")
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError):
            events.list_rules()
        iam.add_user_to_group(GroupName="readers", UserName="member")
        self.assertEqual(events.list_rules()["Rules"], [])
        group = iam.get_group(GroupName="readers")
        self.assertEqual([u["UserName"] for u in group["Users"]], ["member"])
        self.assertEqual([g["GroupName"] for g in iam.list_groups_for_user(UserName="member")["Groups"]], ["readers"])
        with self.assertRaises(ClientError) as cm:
            iam.delete_group(GroupName="readers")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "Cannot delete entity, must remove users from group first.")
        iam.remove_user_from_group(GroupName="readers", UserName="member")
        with self.assertRaises(ClientError):
            events.list_rules()

    def test_managed_policy_versions(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        arn = iam.create_policy(PolicyName="rules", Path="/ci/", Description="rules",
                                PolicyDocument=doc(allow("events:ListRules")))["Policy"]["Arn"]
        self.assertEqual(arn, f"arn:aws:iam::{ACCOUNT}:policy/ci/rules")
        for i in range(2, 6):
            v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("events:*")),
                                          SetAsDefault=(i == 3))["PolicyVersion"]
            self.assertEqual(v["VersionId"], f"v{i}")
        with self.assertRaises(ClientError) as cm:
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("events:*")))
        self.assertEqual(cm.exception.response["Error"]["Code"], "LimitExceeded")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "A managed policy can have up to 5 versions. Before you create a new version, you must "
                         "delete an existing version.")
        self.assertEqual(iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"], "v3")
        with self.assertRaises(ClientError) as cm:
            iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
        self.assertEqual(cm.exception.response["Error"]["Message"], "Cannot delete the default version of a policy.")
        iam.delete_policy_version(PolicyArn=arn, VersionId="v5")
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        self.assertEqual(sorted(v["VersionId"] for v in versions), ["v1", "v2", "v3", "v4"])
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                version = self.gantry.aws(cli, "iam", "get-policy-version", "--policy-arn", arn,
                                          "--version-id", "v1")["PolicyVersion"]
                # The wire carries the URL-encoded document; both CLIs decode it.
                self.assertEqual(version["Document"]["Statement"][0]["Action"], "events:ListRules")
                self.assertTrue(version["IsDefaultVersion"])

    def test_policy_document_is_url_encoded_on_the_wire(self):
        iam = self.iam()
        iam.create_role(RoleName="encoded", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "codebuild.amazonaws.com"}}]}))
        iam.put_role_policy(RoleName="encoded", PolicyName="p", PolicyDocument=doc(allow("s3:GetObject")))
        import urllib.parse
        captured = []
        raw = self.iam()
        raw.meta.events.register("before-parse.iam.GetRolePolicy",
                                 lambda **kw: captured.append(kw["response_dict"]["body"]))
        out = raw.get_role_policy(RoleName="encoded", PolicyName="p")
        self.assertEqual(out["PolicyDocument"]["Statement"][0]["Action"], "s3:GetObject")
        text = captured[0].decode()
        encoded = text.split("<PolicyDocument>")[1].split("</PolicyDocument>")[0]
        self.assertTrue(encoded.startswith("%7B%22Version%22"), encoded)
        self.assertEqual(json.loads(urllib.parse.unquote(encoded))["Statement"][0]["Action"], "s3:GetObject")

    def test_attach_detach_and_aws_managed_policies(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        key = self.make_user("attached")
        iam.attach_user_policy(UserName="attached", PolicyArn="arn:aws:iam::aws:policy/AmazonEventBridgeReadOnlyAccess")
        self.assertEqual(self.as_user(key, "events").list_rules()["Rules"], [])
        attached = iam.list_attached_user_policies(UserName="attached")["AttachedPolicies"]
        self.assertEqual(attached, [{"PolicyName": "AmazonEventBridgeReadOnlyAccess",
                                     "PolicyArn": "arn:aws:iam::aws:policy/AmazonEventBridgeReadOnlyAccess"}])
        policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonEventBridgeReadOnlyAccess")["Policy"]
        self.assertEqual(policy["AttachmentCount"], 1)
        entities = iam.list_entities_for_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonEventBridgeReadOnlyAccess")
        self.assertEqual([u["UserName"] for u in entities["PolicyUsers"]], ["attached"])
        aws_policies = iam.list_policies(Scope="AWS")["Policies"]
        self.assertIn("AdministratorAccess", [p["PolicyName"] for p in aws_policies])
        iam.delete_access_key(UserName="attached", AccessKeyId=key[0])
        with self.assertRaises(ClientError) as cm:
            iam.delete_user(UserName="attached")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "Cannot delete entity, must detach all policies first.")
        key = iam.create_access_key(UserName="attached")["AccessKey"]
        key = (key["AccessKeyId"], key["SecretAccessKey"])
        iam.detach_user_policy(UserName="attached", PolicyArn="arn:aws:iam::aws:policy/AmazonEventBridgeReadOnlyAccess")
        with self.assertRaises(ClientError) as cm:
            self.as_user(key, "events").list_rules()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        with self.assertRaises(ClientError) as cm:
            iam.attach_user_policy(UserName="attached", PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/nope")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         f"Policy arn:aws:iam::{ACCOUNT}:policy/nope does not exist or is not attachable.")

    def test_customer_policy_cannot_be_deleted_while_attached(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        arn = iam.create_policy(PolicyName="sticky", PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
        iam.create_group(GroupName="sticky-group")
        iam.attach_group_policy(GroupName="sticky-group", PolicyArn=arn)
        with self.assertRaises(ClientError) as cm:
            iam.delete_policy(PolicyArn=arn)
        self.assertEqual(cm.exception.response["Error"]["Code"], "DeleteConflict")
        self.assertEqual(cm.exception.response["Error"]["Message"], "Cannot delete a policy attached to entities.")
        iam.detach_group_policy(GroupName="sticky-group", PolicyArn=arn)
        iam.delete_policy(PolicyArn=arn)

    def test_malformed_policy_documents(self):
        cases = [
            ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*"}}',
             "Policy statement must contain resources."),
            ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}',
             "Policy statement must contain actions."),
            ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}',
             "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
            ('{"Version":"2012-10-17","Statement":', "Syntax errors in policy."),
            ('{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}',
             "Policy document must be version 2012-10-17 or greater."),
        ]
        for name, cli in self.clis():
            for i, (document, message) in enumerate(cases):
                with self.subTest(cli=name, case=message):
                    rc, _, err = self.gantry.aws(cli, "iam", "create-policy", "--policy-name", f"bad-{name}-{i}",
                                                 "--policy-document", document, check=False)
                    self.assertIn("An error occurred (MalformedPolicyDocument) when calling the CreatePolicy "
                                  "operation: " + message, err)

    def test_identity_policy_with_principal_is_refused(self):
        from botocore.exceptions import ClientError
        self.iam().create_user(UserName="principal-test")
        with self.assertRaises(ClientError) as cm:
            self.iam().put_user_policy(UserName="principal-test", PolicyName="p", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}}))
        self.assertEqual(cm.exception.response["Error"]["Message"], "Policy document should not specify a principal.")

    def test_simulate_principal_policy(self):
        iam = self.iam()
        self.make_user("simulated", allow("events:*"), deny("events:DeleteRule",
                                                            "arn:aws:events:*:*:rule/prod-*"))
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "iam", "simulate-principal-policy", "--policy-source-arn",
                                      f"arn:aws:iam::{ACCOUNT}:user/simulated",
                                      "--action-names", "events:DeleteRule", "s3:GetObject",
                                      "--resource-arns", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/prod-x")
                decisions = {r["EvalActionName"]: r["EvalDecision"] for r in out["EvaluationResults"]}
                self.assertEqual(decisions, {"events:DeleteRule": "explicitDeny", "s3:GetObject": "implicitDeny"})
        out = iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/simulated", ActionNames=["events:PutRule"],
            ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.1.1"],
                             "ContextKeyType": "ip"}])
        result = out["EvaluationResults"][0]
        self.assertEqual(result["EvalDecision"], "allowed")
        self.assertEqual(result["MatchedStatements"][0]["SourcePolicyId"], "inline")
        self.assertEqual(result["MatchedStatements"][0]["SourcePolicyType"], "user")


class RolesProvidersProfilesTest(IamCase):
    TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "codebuild.amazonaws.com"}}]}

    def test_role_with_trust_policy_both_clis(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                role = f"build-{name}"
                out = self.gantry.aws(cli, "iam", "create-role", "--role-name", role, "--path", "/service-role/",
                                      "--assume-role-policy-document", json.dumps(self.TRUST),
                                      "--description", "CodeBuild")["Role"]
                self.assertEqual(out["Arn"], f"arn:aws:iam::{ACCOUNT}:role/service-role/{role}")
                self.assertTrue(out["RoleId"].startswith("AROA"))
                got = self.gantry.aws(cli, "iam", "get-role", "--role-name", role)["Role"]
                self.assertEqual(got["AssumeRolePolicyDocument"], self.TRUST)
                self.assertEqual(got["MaxSessionDuration"], 3600)
                self.gantry.aws(cli, "iam", "update-role", "--role-name", role, "--max-session-duration", "7200")
                self.gantry.aws(cli, "iam", "attach-role-policy", "--role-name", role, "--policy-arn",
                                "arn:aws:iam::aws:policy/AWSCodeBuildAdminAccess")
                rc, _, err = self.gantry.aws(cli, "iam", "delete-role", "--role-name", role, check=False)
                self.assertIn("An error occurred (DeleteConflict) when calling the DeleteRole operation: "
                              "Cannot delete entity, must detach all policies first.", err)
                self.gantry.aws(cli, "iam", "detach-role-policy", "--role-name", role, "--policy-arn",
                                "arn:aws:iam::aws:policy/AWSCodeBuildAdminAccess")
                self.gantry.aws(cli, "iam", "delete-role", "--role-name", role)

    def test_trust_policy_errors(self):
        cases = [
            ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "codebuild.amazonaws.com"},
                                                      "Resource": "*"}]},
             "Has prohibited field Resource"),
            ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]},
             "Missing required field Principal"),
            ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/ghost"}}]},
             f'Invalid principal in policy: "AWS":"arn:aws:iam::{ACCOUNT}:user/ghost"'),
        ]
        for name, cli in self.clis():
            for trust, message in cases:
                with self.subTest(cli=name, case=message):
                    rc, _, err = self.gantry.aws(cli, "iam", "create-role", "--role-name", "bad-trust",
                                                 "--assume-role-policy-document", json.dumps(trust), check=False)
                    self.assertIn("An error occurred (MalformedPolicyDocument) when calling the CreateRole "
                                  "operation: " + message, err)

    def test_oidc_provider(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        arn = iam.create_open_id_connect_provider(Url="https://token.example.com/ci",
                                                  ClientIDList=["sts.amazonaws.com"],
                                                  ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
        self.assertEqual(arn, f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.example.com/ci")
        iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="gantry")
        got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        self.assertEqual(got["Url"], "token.example.com/ci")
        self.assertEqual(got["ClientIDList"], ["sts.amazonaws.com", "gantry"])
        with self.assertRaises(ClientError) as cm:
            iam.create_open_id_connect_provider(Url="https://token.example.com/ci", ClientIDList=["x"])
        self.assertEqual(cm.exception.response["Error"]["Code"], "EntityAlreadyExists")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                listed = self.gantry.aws(cli, "iam", "list-open-id-connect-providers")
                self.assertIn({"Arn": arn}, listed["OpenIDConnectProviderList"])
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        with self.assertRaises(ClientError) as cm:
            iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchEntity")

    def test_instance_profiles(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        iam.create_role(RoleName="ec2-role", AssumeRolePolicyDocument=json.dumps(self.TRUST))
        profile = iam.create_instance_profile(InstanceProfileName="web")["InstanceProfile"]
        self.assertTrue(profile["InstanceProfileId"].startswith("AIPA"))
        iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="ec2-role")
        got = iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]
        self.assertEqual([r["RoleName"] for r in got["Roles"]], ["ec2-role"])
        self.assertEqual([p["InstanceProfileName"] for p in
                          iam.list_instance_profiles_for_role(RoleName="ec2-role")["InstanceProfiles"]], ["web"])
        with self.assertRaises(ClientError) as cm:
            iam.delete_role(RoleName="ec2-role")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "Cannot delete entity, must remove roles from instance profile first.")
        iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="ec2-role")
        iam.delete_instance_profile(InstanceProfileName="web")
        iam.delete_role(RoleName="ec2-role")

    def test_pagination_with_marker(self):
        iam = self.iam()
        for i in range(5):
            iam.create_group(GroupName=f"page-{i}", Path="/paged/")
        seen, marker = [], None
        while True:
            kwargs = {"PathPrefix": "/paged/", "MaxItems": 2}
            if marker:
                kwargs["Marker"] = marker
            out = iam.list_groups(**kwargs)
            seen += [g["GroupName"] for g in out["Groups"]]
            if not out["IsTruncated"]:
                break
            marker = out["Marker"]
        self.assertEqual(seen, [f"page-{i}" for i in range(5)])
        paginated = [g["GroupName"] for page in iam.get_paginator("list_groups").paginate(
            PathPrefix="/paged/", PaginationConfig={"PageSize": 3}) for g in page["Groups"]]
        self.assertEqual(paginated, seen)


class EnforcementMatrixTest(IamCase):
    """The security matrix through the real CLIs: an allowed call reaches the handler and succeeds,
    a denied one gets AccessDeniedException."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        case = cls("run")
        cls.codebuild_key = case.make_user("cb-lister", allow("codebuild:List*"))
        cls.events_key = case.make_user("ev-lister", allow("events:List*"))

    def test_codebuild_list_allowed_start_denied(self):
        user = f"arn:aws:iam::{ACCOUNT}:user/cb-lister"
        for name, cli in self.clis():
            with self.subTest(cli=name):
                rc, out, err = self.cli_as(cli, self.codebuild_key, "codebuild", "list-projects")
                self.assertEqual(rc, 0, err)
                self.assertEqual(json.loads(out)["projects"], [])
                self.assertCliError(cli, self.codebuild_key, ["codebuild", "start-build", "--project-name", "app"],
                                    "AccessDeniedException", "StartBuild",
                                    denied(user, "codebuild:StartBuild",
                                           f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/app"))
                self.assertCliError(cli, self.codebuild_key, ["codebuild", "create-project", "--name", "app",
                                                              "--source", "type=NO_SOURCE,buildspec=x",
                                                              "--artifacts", "type=NO_ARTIFACTS",
                                                              "--environment",
                                                              "type=LINUX_CONTAINER,image=i,computeType=BUILD_GENERAL1_SMALL",
                                                              "--service-role", "r"],
                                    "AccessDeniedException", "CreateProject",
                                    denied(user, "codebuild:CreateProject",
                                           f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/app"))

    def test_events_list_allowed_put_denied(self):
        user = f"arn:aws:iam::{ACCOUNT}:user/ev-lister"
        for name, cli in self.clis():
            with self.subTest(cli=name):
                rc, out, err = self.cli_as(cli, self.events_key, "events", "list-rules")
                self.assertEqual(rc, 0, err)
                self.assertIn("Rules", json.loads(out))
                self.assertCliError(cli, self.events_key, ["events", "put-rule", "--name", "r",
                                                           "--schedule-expression", "rate(5 minutes)"],
                                    "AccessDeniedException", "PutRule",
                                    denied(user, "events:PutRule", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r"))
                self.assertCliError(cli, self.events_key, ["events", "put-events", "--entries",
                                                           '[{"Source":"app","DetailType":"t","Detail":"{}"}]'],
                                    "AccessDeniedException", "PutEvents",
                                    denied(user, "events:PutEvents",
                                           f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"))

    def test_status_codes_per_protocol(self):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.as_user(self.events_key, "events").put_rule(Name="r", ScheduleExpression="rate(1 hour)")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        with self.assertRaises(ClientError) as cm:
            self.as_user(self.events_key, "iam").list_users()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         denied(f"arn:aws:iam::{ACCOUNT}:user/ev-lister", "iam:ListUsers",
                                f"arn:aws:iam::{ACCOUNT}:user/"))

    def test_caller_identity_needs_no_permission(self):
        key = self.make_user("denied-everything", deny("*"))
        self.assertEqual(self.as_user(key, "sts").get_caller_identity()["Arn"],
                         f"arn:aws:iam::{ACCOUNT}:user/denied-everything")

    def test_root_is_allowed_everything(self):
        self.assertIn("Rules", self.gantry.boto3("events").list_rules())
        self.assertIn("Users", self.iam().list_users())


class DenyAndConditionsTest(IamCase):
    def test_deny_on_resource_arn_wins_over_allow(self):
        from botocore.exceptions import ClientError
        key = self.make_user("deployer", allow("events:*"),
                             deny("events:PutRule", f"arn:aws:events:*:{ACCOUNT}:rule/prod-*"))
        user = f"arn:aws:iam::{ACCOUNT}:user/deployer"
        events = self.as_user(key, "events")
        events.put_rule(Name="dev-deploy", ScheduleExpression="rate(1 hour)")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                self.assertCliError(cli, key, ["events", "put-rule", "--name", "prod-deploy",
                                               "--schedule-expression", "rate(1 hour)"],
                                    "AccessDeniedException", "PutRule",
                                    denied(user, "events:PutRule",
                                           f"arn:aws:events:{REGION}:{ACCOUNT}:rule/prod-deploy",
                                           "with an explicit deny in an identity-based policy"))
        with self.assertRaises(ClientError):
            events.put_rule(Name="prod-deploy", ScheduleExpression="rate(1 hour)")
        self.assertEqual([r["Name"] for r in events.list_rules()["Rules"]], ["dev-deploy"])

    def test_policy_changes_apply_immediately(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        key = self.make_user("changing", allow("events:ListRules"))
        events = self.as_user(key, "events")
        events.list_rules()
        iam.put_user_policy(UserName="changing", PolicyName="deny", PolicyDocument=doc(deny("events:*")))
        with self.assertRaises(ClientError):
            events.list_rules()
        iam.delete_user_policy(UserName="changing", PolicyName="deny")
        events.list_rules()

    def test_conditions_on_region_source_ip_and_time(self):
        from botocore.exceptions import ClientError
        key = self.make_user(
            "conditional",
            allow("events:ListRules", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
            allow("events:ListEventBuses", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}),
            allow("events:ListArchives", Condition={"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}),
            allow("events:ListReplays", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
            allow("events:ListConnections", Condition={"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}))
        self.as_user(key, "events", region="eu-west-1").list_rules()
        with self.assertRaises(ClientError):
            self.as_user(key, "events", region="us-east-1").list_rules()
        events = self.as_user(key, "events")
        events.list_event_buses()
        events.list_replays()
        for call in (events.list_archives, events.list_connections):
            with self.assertRaises(ClientError):
                call()

    def test_resource_tag_and_request_tag_conditions(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        iam.create_user(UserName="tagged-target", Tags=[{"Key": "team", "Value": "web"}])
        iam.create_user(UserName="other-target", Tags=[{"Key": "team", "Value": "data"}])
        key = self.make_user("tagger", allow("iam:GetUser", Condition={"StringEquals": {"aws:ResourceTag/team": "web"}}),
                             allow("iam:TagUser", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}}))
        as_tagger = self.as_user(key, "iam")
        as_tagger.get_user(UserName="tagged-target")
        with self.assertRaises(ClientError):
            as_tagger.get_user(UserName="other-target")
        as_tagger.tag_user(UserName="other-target", Tags=[{"Key": "env", "Value": "x"}])
        with self.assertRaises(ClientError):
            as_tagger.tag_user(UserName="other-target", Tags=[{"Key": "owner", "Value": "x"}])

    def test_permissions_boundary_limits_identity_policy(self):
        from botocore.exceptions import ClientError
        iam = self.iam()
        boundary = iam.create_policy(PolicyName="only-events", PolicyDocument=doc(allow("events:*")))["Policy"]["Arn"]
        key = self.make_user("bounded", managed=["arn:aws:iam::aws:policy/AdministratorAccess"])
        iam.put_user_permissions_boundary(UserName="bounded", PermissionsBoundary=boundary)
        self.assertEqual(iam.get_user(UserName="bounded")["User"]["PermissionsBoundary"],
                         {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary})
        self.as_user(key, "events").list_rules()
        with self.assertRaises(ClientError) as cm:
            self.as_user(key, "iam").list_users()
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         denied(f"arn:aws:iam::{ACCOUNT}:user/bounded", "iam:ListUsers",
                                f"arn:aws:iam::{ACCOUNT}:user/",
                                "because no permissions boundary allows the iam:ListUsers action"))
        iam.delete_user_permissions_boundary(UserName="bounded")
        self.as_user(key, "iam").list_users()

    def test_secrets_manager_resource_policy(self):
        from botocore.exceptions import ClientError
        secrets = self.gantry.boto3("secretsmanager")
        arn = secrets.create_secret(Name="db-password", SecretString="hunter2")["ARN"]
        reader = self.make_user("secret-reader")
        other = self.make_user("secret-outsider", allow("secretsmanager:GetSecretValue"))
        with self.assertRaises(ClientError) as cm:
            self.as_user(reader, "secretsmanager").get_secret_value(SecretId="db-password")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         denied(f"arn:aws:iam::{ACCOUNT}:user/secret-reader", "secretsmanager:GetSecretValue", arn))
        secrets.put_resource_policy(SecretId="db-password", ResourcePolicy=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/secret-reader"},
                 "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
                {"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/secret-outsider"},
                 "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
        value = self.as_user(reader, "secretsmanager").get_secret_value(SecretId="db-password")
        self.assertEqual(value["SecretString"], "hunter2")
        with self.assertRaises(ClientError) as cm:
            self.as_user(other, "secretsmanager").get_secret_value(SecretId=arn)
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         denied(f"arn:aws:iam::{ACCOUNT}:user/secret-outsider", "secretsmanager:GetSecretValue", arn,
                                "with an explicit deny in a resource-based policy"))


class BucketPolicyTest(IamCase):
    def test_bucket_policy_grants_and_denies(self):
        from botocore.exceptions import ClientError
        s3 = self.gantry.boto3("s3")
        s3.create_bucket(Bucket="artifacts")
        s3.put_object(Bucket="artifacts", Key="app.zip", Body=b"zip")
        writer = self.make_user("s3-writer", allow("s3:*"))
        reader = self.make_user("s3-reader")
        s3.put_bucket_policy(Bucket="artifacts", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/s3-reader"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::artifacts/*"}]}))
        self.assertEqual(self.as_user(reader, "s3").get_object(Bucket="artifacts", Key="app.zip")["Body"].read(), b"zip")
        with self.assertRaises(ClientError) as cm:
            self.as_user(reader, "s3").list_objects_v2(Bucket="artifacts")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         denied(f"arn:aws:iam::{ACCOUNT}:user/s3-reader", "s3:ListBucket", '"arn:aws:s3:::artifacts"'))
        self.as_user(writer, "s3").put_object(Bucket="artifacts", Key="new.zip", Body=b"n")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                self.assertCliError(cli, writer, ["s3api", "delete-object", "--bucket", "artifacts", "--key", "app.zip"],
                                    "AccessDenied", "DeleteObject",
                                    denied(f"arn:aws:iam::{ACCOUNT}:user/s3-writer", "s3:DeleteObject",
                                           '"arn:aws:s3:::artifacts/app.zip"',
                                           "with an explicit deny in a resource-based policy"))


class PassRoleTest(IamCase):
    def test_eventbridge_target_role_needs_pass_role(self):
        iam = self.iam()
        iam.create_role(RoleName="invoke", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "events.amazonaws.com"}}]}))
        role = f"arn:aws:iam::{ACCOUNT}:role/invoke"
        key = self.make_user("wirer", allow("events:*"))
        self.as_user(key, "events").put_rule(Name="wired", ScheduleExpression="rate(1 hour)")
        target = json.dumps([{"Id": "bus", "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
                              "RoleArn": role}])
        for name, cli in self.clis():
            with self.subTest(cli=name):
                self.assertCliError(cli, key, ["events", "put-targets", "--rule", "wired", "--targets", target],
                                    "AccessDeniedException", "PutTargets",
                                    denied(f"arn:aws:iam::{ACCOUNT}:user/wirer", "iam:PassRole", role))
        iam.put_user_policy(UserName="wirer", PolicyName="pass", PolicyDocument=doc(allow(
            "iam:PassRole", role, Condition={"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}})))
        out = self.as_user(key, "events").put_targets(Rule="wired", Targets=json.loads(target))
        self.assertEqual(out["FailedEntryCount"], 0)
        # Root passes any role.
        self.gantry.boto3("events").put_targets(Rule="wired", Targets=json.loads(target))


class PersistenceTest(unittest.TestCase):
    def test_users_keys_and_policies_survive_restart_and_kill(self):
        gantry = Gantry().start()
        try:
            iam = gantry.boto3("iam")
            iam.create_user(UserName="durable")
            iam.put_user_policy(UserName="durable", PolicyName="p", PolicyDocument=doc(allow("events:ListRules")))
            key = iam.create_access_key(UserName="durable")["AccessKey"]
            gantry.kill9()
            gantry = Gantry(state_dir=gantry.state_dir).start()
            gantry.owns_state = True
            events = gantry.boto3("events", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
            self.assertEqual(events.list_rules()["Rules"], [])
            self.assertEqual(gantry.boto3("iam").get_user(UserName="durable")["User"]["UserName"], "durable")
        finally:
            gantry.cleanup()


if __name__ == "__main__":
    unittest.main()
