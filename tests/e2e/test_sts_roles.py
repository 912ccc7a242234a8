"""STS roles through both CLIs and boto3: AssumeRole with trust policies (the caller named, the
account delegating to identity policies, services), session policies, session tags, role
chaining, durations, GetSessionToken, AssumeRoleWithWebIdentity against a JWKS file and an OIDC
provider, temporary credentials that SigV4 accepts, that survive a restart and that are refused
once expired (ExpiredToken)."""
import base64
import json
import os
import sqlite3
import tempfile
import time
import unittest

from harness import Gantry, GantryTestCase

ACCOUNT = "000000000000"
REGION = "us-east-1"
ISSUER = "https://issuer.gantry.test/ci"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(principal, action="sts:AssumeRole", **extra):
    s = {"Effect": "Allow", "Principal": principal, "Action": action}
    s.update(extra)
    return doc(s)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """An RSA key, its JWKS file, and JWTs signed with it (RS256)."""

    def __init__(self, kid="k1"):
        from cryptography.hazmat.primitives.asymmetric import rsa
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self):
        numbers = self.key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig", "n": b64url(n), "e": b64url(e)}

    def token(self, **claims):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        now = int(time.time())
        payload = {"iss": ISSUER, "sub": "repo:org/app:ref:refs/heads/main", "aud": "gantry-ci",
                   "iat": now, "exp": now + 600}
        payload.update(claims)
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)


SIGNER = Signer()
OTHER_SIGNER = Signer(kid="k1")  # same kid, different key: its signatures do not verify
JWKS_DIR = tempfile.mkdtemp(prefix="gantry-jwks-")
JWKS_PATH = os.path.join(JWKS_DIR, "jwks.json")
with open(JWKS_PATH, "w") as f:
    json.dump({"keys": [SIGNER.jwk()]}, f)


class RoleCase(GantryTestCase):
    def iam(self):
        return self.gantry.boto3("iam")

    def make_user(self, name, *statements):
        iam = self.iam()
        iam.create_user(UserName=name)
        if statements:
            iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=doc(*statements))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def make_role(self, name, trust_policy, *statements, **kwargs):
        iam = self.iam()
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy, **kwargs)["Role"]
        if statements:
            iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc(*statements))
        return role

    def client(self, service, creds, region=REGION):
        if isinstance(creds, dict):
            return self.gantry.boto3(service, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                                     session_token=creds["SessionToken"], region=region)
        return self.gantry.boto3(service, access_key=creds[0], secret_key=creds[1], region=region)

    def cli(self, cli, creds, *args):
        if isinstance(creds, dict):
            return self.gantry.aws(cli, *args, check=False, access_key=creds["AccessKeyId"],
                                   secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
        return self.gantry.aws(cli, *args, check=False, access_key=creds[0], secret_key=creds[1])

    def assertCliError(self, cli, creds, args, code, operation, message):
        rc, _, err = self.cli(cli, creds, *args)
        self.assertNotEqual(rc, 0)
        self.assertIn(f"An error occurred ({code}) when calling the {operation} operation: {message}", err)


class AssumeRoleTest(RoleCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        case = cls("run")
        cls.alice = case.make_user("alice")
        cls.bob = case.make_user("bob", {"Effect": "Allow", "Action": "sts:AssumeRole",
                                         "Resource": f"arn:aws:iam::{ACCOUNT}:role/deploy-*"})
        case.make_role("named", trust({"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}),
                       {"Effect": "Allow", "Action": "events:*", "Resource": "*"})
        case.make_role("deploy-account", trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}),
                       {"Effect": "Allow", "Action": "events:ListRules", "Resource": "*"})

    def assume(self, creds, role, session="s1", **kwargs):
        return self.client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}",
                                                     RoleSessionName=session, **kwargs)

    def test_trust_naming_the_user_both_clis(self):
        role_id = self.iam().get_role(RoleName="named")["Role"]["RoleId"]
        for name, cli in self.clis():
            with self.subTest(cli=name):
                rc, out, err = self.cli(cli, self.alice, "sts", "assume-role", "--role-arn",
                                        f"arn:aws:iam::{ACCOUNT}:role/named", "--role-session-name", name)
                self.assertEqual(rc, 0, err)
                out = json.loads(out)
                creds = out["Credentials"]
                self.assertTrue(creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20)
                self.assertEqual(out["AssumedRoleUser"]["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/named/{name}")
                self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"], f"{role_id}:{name}")
                rc, me, err = self.cli(cli, creds, "sts", "get-caller-identity")
                self.assertEqual(rc, 0, err)
                self.assertEqual(json.loads(me)["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/named/{name}")
                self.assertEqual(json.loads(me)["UserId"], f"{role_id}:{name}")
                rc, _, err = self.cli(cli, creds, "events", "list-rules")
                self.assertEqual(rc, 0, err)
                self.assertCliError(cli, creds, ["iam", "list-users"], "AccessDenied", "ListUsers",
                                    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/named/{name} is not authorized to "
                                    f"perform: iam:ListUsers on resource: arn:aws:iam::{ACCOUNT}:user/ because no "
                                    f"identity-based policy allows the iam:ListUsers action")

    def test_trust_naming_the_account_needs_an_identity_allow(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                self.assertCliError(cli, self.alice, ["sts", "assume-role", "--role-arn",
                                                      f"arn:aws:iam::{ACCOUNT}:role/deploy-account",
                                                      "--role-session-name", "xx"],
                                    "AccessDenied", "AssumeRole",
                                    f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: "
                                    f"sts:AssumeRole on resource: arn:aws:iam::{ACCOUNT}:role/deploy-account")
        creds = self.assume(self.bob, "deploy-account")["Credentials"]
        self.assertEqual(self.client("events", creds).list_rules()["Rules"], [])

    def test_identity_allow_alone_does_not_open_a_role(self):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.assume(self.bob, "named")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)

    def test_root_and_missing_roles(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                rc, _, err = self.gantry.aws(cli, "sts", "assume-role", "--role-arn",
                                             f"arn:aws:iam::{ACCOUNT}:role/named", "--role-session-name", "rr",
                                             check=False)
                self.assertIn("An error occurred (AccessDenied) when calling the AssumeRole operation: "
                              "Roles may not be assumed by root accounts.", err)
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.assume(self.bob, "deploy-missing")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: sts:AssumeRole on "
                         f"resource: arn:aws:iam::{ACCOUNT}:role/deploy-missing")

    def test_duration_limits(self):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.assume(self.alice, "named", DurationSeconds=7200)
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationError")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        self.iam().update_role(RoleName="named", MaxSessionDuration=7200)
        out = self.assume(self.alice, "named", DurationSeconds=7200)
        remaining = out["Credentials"]["Expiration"].timestamp() - time.time()
        self.assertTrue(7100 < remaining <= 7200, remaining)
        self.iam().update_role(RoleName="named", MaxSessionDuration=3600)

    def test_session_policy_limits_the_session(self):
        from botocore.exceptions import ClientError
        out = self.assume(self.alice, "named", Policy=doc({"Effect": "Allow", "Action": "events:ListRules",
                                                           "Resource": "*"}))
        self.assertIn("PackedPolicySize", out)
        events = self.client("events", out["Credentials"])
        events.list_rules()
        with self.assertRaises(ClientError) as cm:
            events.list_event_buses()
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         f"User: arn:aws:sts::{ACCOUNT}:assumed-role/named/s1 is not authorized to perform: "
                         f"events:ListEventBuses on resource: * because no session policy allows the "
                         f"events:ListEventBuses action")
        with self.assertRaises(ClientError) as cm:
            self.assume(self.alice, "named", Policy='{"Version":"2012-10-17","Statement":[]}')
        self.assertEqual(cm.exception.response["Error"]["Code"], "MalformedPolicyDocument")

    def test_session_tags_external_id_and_role_chaining(self):
        from botocore.exceptions import ClientError
        self.make_role("tagged", doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
                                      "Action": ["sts:AssumeRole", "sts:TagSession"],
                                      "Condition": {"StringEquals": {"sts:ExternalId": "shared-secret"}}}),
                       {"Effect": "Allow", "Action": "events:ListRules", "Resource": "*",
                        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "web"}}},
                       {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
        with self.assertRaises(ClientError):
            self.assume(self.alice, "tagged", ExternalId="wrong")
        web = self.assume(self.alice, "tagged", ExternalId="shared-secret", Tags=[{"Key": "team", "Value": "web"}])
        self.client("events", web["Credentials"]).list_rules()
        data = self.assume(self.alice, "tagged", ExternalId="shared-secret", Tags=[{"Key": "team", "Value": "data"}])
        with self.assertRaises(ClientError):
            self.client("events", data["Credentials"]).list_rules()

        self.make_role("chained", trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/tagged"}),
                       {"Effect": "Allow", "Action": "events:ListEventBuses", "Resource": "*"})
        sts = self.client("sts", web["Credentials"])
        with self.assertRaises(ClientError) as cm:
            sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/chained", RoleSessionName="cc",
                            DurationSeconds=3700)
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role "
                         "chaining.")
        chained = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/chained", RoleSessionName="cc")
        self.assertEqual(chained["AssumedRoleUser"]["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/chained/cc")
        self.client("events", chained["Credentials"]).list_event_buses()

    def test_get_session_token(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                rc, out, err = self.cli(cli, self.alice, "sts", "get-session-token", "--duration-seconds", "900")
                self.assertEqual(rc, 0, err)
                creds = json.loads(out)["Credentials"]
                rc, me, err = self.cli(cli, creds, "sts", "get-caller-identity")
                self.assertEqual(json.loads(me)["Arn"], f"arn:aws:iam::{ACCOUNT}:user/alice")
                self.assertCliError(cli, creds, ["sts", "get-session-token"], "AccessDenied", "GetSessionToken",
                                    "Cannot call GetSessionToken with session credentials")

    def test_wrong_session_token_is_refused(self):
        from botocore.exceptions import ClientError
        creds = dict(self.assume(self.alice, "named")["Credentials"])
        creds["SessionToken"] = creds["SessionToken"][:-4] + "AAAA"
        with self.assertRaises(ClientError) as cm:
            self.client("sts", creds).get_caller_identity()
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidClientTokenId")


class SessionLifetimeTest(unittest.TestCase):
    def test_sessions_survive_restart_and_expire(self):
        gantry = Gantry().start()
        try:
            iam = gantry.boto3("iam")
            iam.create_user(UserName="carol")
            key = iam.create_access_key(UserName="carol")["AccessKey"]
            iam.create_role(RoleName="short", AssumeRolePolicyDocument=trust(
                {"AWS": f"arn:aws:iam::{ACCOUNT}:user/carol"}))
            iam.put_role_policy(RoleName="short", PolicyName="p", PolicyDocument=doc(
                {"Effect": "Allow", "Action": "events:ListRules", "Resource": "*"}))
            sts = gantry.boto3("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
            kept = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/short", RoleSessionName="kept",
                                   DurationSeconds=900)["Credentials"]
            doomed = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/short", RoleSessionName="doomed",
                                     DurationSeconds=900)["Credentials"]
            gantry.kill9()
            # Fast-forward the doomed session's expiry in the state (SigV4 checks the stored expiry).
            db = sqlite3.connect(os.path.join(gantry.state_dir, "gantry.db"))
            row = db.execute("SELECT doc FROM records WHERE tbl='sts.session' AND key=?",
                             (doomed["AccessKeyId"],)).fetchone()
            session = json.loads(row[0])
            session["Expiration"] = time.time() - 5
            db.execute("UPDATE records SET doc=? WHERE tbl='sts.session' AND key=?",
                       (json.dumps(session), doomed["AccessKeyId"]))
            db.commit()
            db.close()
            gantry = Gantry(state_dir=gantry.state_dir).start()
            gantry.owns_state = True

            events = gantry.boto3("events", access_key=kept["AccessKeyId"], secret_key=kept["SecretAccessKey"],
                                  session_token=kept["SessionToken"])
            self.assertEqual(events.list_rules()["Rules"], [])
            env = dict(access_key=doomed["AccessKeyId"], secret_key=doomed["SecretAccessKey"],
                       session_token=doomed["SessionToken"])
            case = GantryTestCase("run")
            for name, cli in case.clis():
                with self.subTest(cli=name):
                    rc, _, err = gantry.aws(cli, "sts", "get-caller-identity", check=False, **env)
                    self.assertNotEqual(rc, 0)
                    self.assertIn("An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: "
                                  "The security token included in the request is expired", err)
            from botocore.exceptions import ClientError
            with self.assertRaises(ClientError) as cm:
                gantry.boto3("events", **env).list_rules()
            self.assertEqual(cm.exception.response["Error"]["Code"], "ExpiredTokenException")
        finally:
            gantry.cleanup()


class WebIdentityTest(RoleCase):
    extra_args = ("--oidc-jwks", JWKS_PATH)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        case = cls("run")
        iam = case.iam()
        cls.provider_arn = iam.create_open_id_connect_provider(
            Url=ISSUER, ClientIDList=["gantry-ci"])["OpenIDConnectProviderArn"]
        case.make_role("ci", doc({
            "Effect": "Allow", "Principal": {"Federated": cls.provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"issuer.gantry.test/ci:aud": "gantry-ci"},
                          "StringLike": {"issuer.gantry.test/ci:sub": "repo:org/*"}}}),
            {"Effect": "Allow", "Action": "events:ListRules", "Resource": "*"})

    def web_identity(self, token, role="ci"):
        return self.gantry.boto3("sts").assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="ci-run", WebIdentityToken=token)

    def test_both_clis_unsigned(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                out = self.gantry.aws(cli, "sts", "assume-role-with-web-identity", "--role-arn",
                                      f"arn:aws:iam::{ACCOUNT}:role/ci", "--role-session-name", name,
                                      "--web-identity-token", SIGNER.token())
                self.assertEqual(out["SubjectFromWebIdentityToken"], "repo:org/app:ref:refs/heads/main")
                self.assertEqual(out["Audience"], "gantry-ci")
                self.assertEqual(out["AssumedRoleUser"]["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/{name}")
                rc, _, err = self.cli(cli, out["Credentials"], "events", "list-rules")
                self.assertEqual(rc, 0, err)

    def test_unsigned_request_on_the_wire(self):
        from botocore import UNSIGNED
        from botocore.config import Config
        import boto3
        sts = boto3.client("sts", endpoint_url=self.gantry.endpoint, region_name=REGION,
                           config=Config(signature_version=UNSIGNED))
        out = sts.assume_role_with_web_identity(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ci", RoleSessionName="raw",
                                                WebIdentityToken=SIGNER.token())
        self.assertEqual(self.client("sts", out["Credentials"]).get_caller_identity()["Arn"],
                         f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/raw")

    def test_rejected_tokens(self):
        from botocore.exceptions import ClientError
        cases = [
            (SIGNER.token(aud="someone-else"), "InvalidIdentityToken", "Incorrect token audience"),
            (SIGNER.token(sub="repo:evil/app"), "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
            (SIGNER.token(iss="https://unknown.gantry.test"), "InvalidIdentityToken",
             "No OpenIDConnect provider found in your account for https://unknown.gantry.test"),
            (OTHER_SIGNER.token(), "InvalidIdentityToken", "The web identity token signature is not valid."),
            ("not-a-jwt", "InvalidIdentityToken",
             "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"),
        ]
        for token, code, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(ClientError) as cm:
                    self.web_identity(token)
                self.assertEqual(cm.exception.response["Error"]["Code"], code)
                self.assertEqual(cm.exception.response["Error"]["Message"], message)
        now = int(time.time())
        with self.assertRaises(ClientError) as cm:
            self.web_identity(SIGNER.token(exp=now - 60))
        self.assertEqual(cm.exception.response["Error"]["Code"], "ExpiredTokenException")
        self.assertTrue(cm.exception.response["Error"]["Message"].startswith("Token expired: current date/time "))


if __name__ == "__main__":
    unittest.main()
