"""CodeBuild's build cache through boto3 and both CLIs: a dependency directory a first build makes
(`deps/stamp`, written only when missing) comes back in the next builds of the project (started and
read through boto3 and each CLI), with an S3
cache (the archive is in the project's bucket, written as the service role) and with a LOCAL
LOCAL_CUSTOM_CACHE; cache keys and fallback keys, and a dynamic key made by `codebuild-hash-files` that
changes with the file it hashes; `action: restore` never saves and `action: save`
never restores; InvalidateProjectCache makes the next build start cold; LOCAL_DOCKER_LAYER_CACHE
says in the log that it is not applied; the project's cache settings are validated."""
import hashlib
import io
import json
import unittest
import zipfile

from test_codebuild import ENVIRONMENT, CodeBuildCase, buildspec

BUCKET = "build-cache"
STAMP = "if [ ! -f deps/stamp ]; then mkdir -p deps/sub && date +%s%N > deps/stamp && echo nested > deps/sub/file; fi"


def cached_spec(**cache):
    """A buildspec whose build keeps deps/ (made when missing) and exports its stamp as STAMP."""
    return buildspec({"build": {"commands": [STAMP, "export STAMP=$(cat deps/stamp)", "cat deps/sub/file"]}},
                     env={"exported-variables": ["STAMP"]}, cache=dict({"paths": ["deps/**/*"]}, **cache))


class CacheTest(CodeBuildCase):
    role_name = "codebuild-cache"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket=BUCKET)

    def build(self, project, cli=None, **overrides):
        """Runs a build to its end (through boto3, or start-build and batch-get-builds of one aws CLI);
        returns (build, its STAMP, its log lines)."""
        build = self.run_build_cli(cli, project, timeout=120) if cli else self.run_build(project, 120, **overrides)
        lines = self.log_lines(build)
        self.assertEqual(build["buildStatus"], "SUCCEEDED", "\n".join(lines))
        stamp = {v["name"]: v["value"] for v in build.get("exportedEnvironmentVariables", [])}["STAMP"]
        self.assertTrue(stamp.isdigit(), stamp)
        self.assertIn("nested", lines)
        return build, stamp, lines

    def keys(self, prefix):
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))

    def assertLogged(self, lines, text):
        self.assertTrue(any(text in line for line in lines), f"no line with {text!r} in:\n" + "\n".join(lines))

    def test_s3_cache_restores_what_the_previous_build_saved(self):
        project = self.project("s3-cached", cached_spec(), cache={"type": "S3", "location": f"{BUCKET}/team"})
        self.assertEqual(project["cache"], {"type": "S3", "location": f"{BUCKET}/team"})
        _, first, lines = self.build("s3-cached")
        self.assertLogged(lines, "Cache is not found")
        self.assertLogged(lines, f"Saved 2 file(s) to cache s3://{BUCKET}/team/projects/s3-cached/cache.zip")
        self.assertEqual(self.keys("team/projects/s3-cached/"), ["team/projects/s3-cached/cache.zip"])
        _, second, lines = self.build("s3-cached")
        self.assertEqual(second, first)
        self.assertLogged(lines, f"Restoring cache from s3://{BUCKET}/team/projects/s3-cached/cache.zip")
        self.assertLogged(lines, "Restored 2 cached file(s)")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                _, again, lines = self.build("s3-cached", cli=cli)
                self.assertEqual(again, first)
                self.assertLogged(lines, "Restored 2 cached file(s)")

    def test_local_custom_cache_and_invalidate_project_cache(self):
        self.project("local-cached", cached_spec(),
                     cache={"type": "LOCAL", "modes": ["LOCAL_CUSTOM_CACHE", "LOCAL_DOCKER_LAYER_CACHE"]})
        _, first, lines = self.build("local-cached")
        self.assertLogged(lines, "LOCAL_DOCKER_LAYER_CACHE is not applied")
        _, second, lines = self.build("local-cached")
        self.assertEqual(second, first)
        self.assertLogged(lines, "Restoring cache from ")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                self.gantry.aws(cli, "codebuild", "invalidate-project-cache", "--project-name", "local-cached")
                _, cold, lines = self.build("local-cached")
                self.assertNotEqual(cold, first)
                self.assertLogged(lines, "Cache is not found")
                _, warm, lines = self.build("local-cached", cli=cli)
                self.assertEqual(warm, cold)
                self.assertLogged(lines, "Restoring cache from ")
                first = cold

    def test_invalidating_an_s3_cache(self):
        self.project("s3-invalidated", cached_spec(), cache={"type": "S3", "location": BUCKET})
        _, first, _ = self.build("s3-invalidated")
        self.codebuild.invalidate_project_cache(projectName="s3-invalidated")
        _, cold, lines = self.build("s3-invalidated")
        self.assertNotEqual(cold, first)
        self.assertLogged(lines, "Cache is not found")
        _, warm, _ = self.build("s3-invalidated")
        self.assertEqual(warm, cold)

    def test_keys_and_fallback_keys(self):
        self.project("keyed", cached_spec(key="deps-v1"), cache={"type": "S3", "location": f"{BUCKET}/keyed"})
        _, v1, _ = self.build("keyed")
        # A new key finds nothing of its own and takes the newest entry its fallback prefix matches.
        _, v2, lines = self.build("keyed", buildspecOverride=cached_spec(key="deps-v2", **{"fallback-keys": ["deps-"]}))
        self.assertEqual(v2, v1)
        self.assertLogged(lines, "Restored cache of a fallback key: deps-v1")
        names = [k.rsplit("/", 1)[1] for k in self.keys("keyed/projects/keyed/keys/")]
        self.assertEqual(names, ["deps-v1.zip", "deps-v2.zip"])
        # A key without a fallback that matches starts cold; a keyed cache is never updated.
        _, other, _ = self.build("keyed", buildspecOverride=cached_spec(key="other", **{"fallback-keys": ["none-"]}))
        self.assertNotEqual(other, v1)
        _, again, lines = self.build("keyed")
        self.assertEqual(again, v1)
        self.assertLogged(lines, "Cache for key deps-v1 exists at")

    def test_a_key_made_by_codebuild_hash_files_follows_the_file(self):
        def put_source(lock):
            source = io.BytesIO()
            with zipfile.ZipFile(source, "w") as z:
                z.writestr("lock.txt", lock)
            self.s3.put_object(Bucket=BUCKET, Key="src/hashed.zip", Body=source.getvalue())
            # codebuild-hash-files: the SHA-256 of one "<SHA-256 of the file>  <path>" line a file.
            line = hashlib.sha256(lock.encode()).hexdigest() + "  lock.txt\n"
            return "deps-" + hashlib.sha256(line.encode()).hexdigest()

        key1 = put_source("v1\n")
        self.codebuild.create_project(
            name="hashed", source={"type": "S3", "location": f"{BUCKET}/src/hashed.zip",
                                   "buildspec": cached_spec(key="deps-$(codebuild-hash-files lock.txt)")},
            artifacts={"type": "NO_ARTIFACTS"}, environment=ENVIRONMENT, serviceRole=self.role,
            cache={"type": "S3", "location": f"{BUCKET}/hashed"})
        _, first, lines = self.build("hashed")
        self.assertLogged(lines, f"Cache is not found for key {key1}")
        _, second, lines = self.build("hashed")
        self.assertEqual(second, first)
        self.assertLogged(lines, f"/{key1}.zip")
        key2 = put_source("v2\n")
        self.assertNotEqual(key2, key1)
        _, third, lines = self.build("hashed")
        self.assertNotEqual(third, first)
        self.assertLogged(lines, f"Cache is not found for key {key2}")
        names = [k.rsplit("/", 1)[1] for k in self.keys("hashed/projects/hashed/keys/")]
        self.assertEqual(sorted(names), sorted([key1 + ".zip", key2 + ".zip"]))

    def test_restore_action_never_saves_and_save_action_never_restores(self):
        self.project("restore-only", cached_spec(action="restore"), cache={"type": "S3", "location": f"{BUCKET}/ro"})
        _, first, lines = self.build("restore-only")
        self.assertLogged(lines, "Cache action is restore: the cache is not saved")
        _, second, _ = self.build("restore-only")
        self.assertNotEqual(second, first)
        self.assertEqual(self.keys("ro/"), [])

        self.project("save-only", cached_spec(action="save"), cache={"type": "S3", "location": f"{BUCKET}/wo"})
        _, first, lines = self.build("save-only")
        self.assertLogged(lines, "Cache action is save: the cache is not restored")
        _, second, _ = self.build("save-only")
        self.assertNotEqual(second, first)
        self.assertEqual(self.keys("wo/"), ["wo/projects/save-only/cache.zip"])

    def test_cache_settings_are_validated(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                base = ["codebuild", "create-project", "--name", f"bad-cache-{name}", "--source",
                        json.dumps({"type": "NO_SOURCE", "buildspec": cached_spec()}), "--artifacts",
                        "type=NO_ARTIFACTS", "--environment", json.dumps(ENVIRONMENT), "--service-role", self.role]
                for cache, message in [
                        ("type=S3", "cache location is required when cache type is S3"),
                        ("type=LOCAL", "at least one cache mode is required when cache type is LOCAL"),
                        ("type=S3,location=b,modes=LOCAL_CUSTOM_CACHE", "cache modes are only valid when cache type "
                                                                        "is LOCAL")]:
                    code, _, err = self.gantry.aws(cli, *base, "--cache", cache, check=False)
                    self.assertNotEqual(code, 0)
                    self.assertIn("An error occurred (InvalidInputException) when calling the CreateProject "
                                  f"operation: Invalid input: {message}", err)
                code, _, err = self.gantry.aws(cli, "codebuild", "invalidate-project-cache", "--project-name",
                                               "no-such-project", check=False)
                self.assertNotEqual(code, 0)
                self.assertIn("(ResourceNotFoundException) when calling the InvalidateProjectCache operation", err)


if __name__ == "__main__":
    unittest.main()
