"""S3 through both aws CLIs, boto3, curl and raw HTTP: buckets, `aws s3` commands (cp up and down,
multipart, sync, ls, rm, mb, rb), s3api objects with metadata, ranges, preconditions, checksums
(headers and aws-chunked trailers, multipart composite and full-object), copies, batch deletes,
listings with delimiters and pagination, tags, versioning, presigned URLs (SigV4 and the SigV2
query form of `aws s3 presign`), virtual-hosted addressing, hostile keys, concurrent writers,
bounded server memory, and objects that survive a restart and kill -9."""
import base64
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request
import zlib

from harness import AWS_V1, Gantry, GantryTestCase

MIB = 1 << 20


def b64(raw):
    return base64.b64encode(raw).decode()


def crc32_b64(data):
    return b64(struct.pack(">I", zlib.crc32(data)))


def _reflected_crc(data, poly, width):
    mask = (1 << width) - 1
    crc = mask
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc ^ mask


def crc32c_b64(data):
    return b64(struct.pack(">I", _reflected_crc(data, 0x82F63B78, 32)))


def crc64nvme_b64(data):
    return b64(struct.pack(">Q", _reflected_crc(data, 0x9A6C9329AC4BC9B5, 64)))


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def multipart_etag(data, part_size):
    parts = [data[i:i + part_size] for i in range(0, len(data), part_size)]
    return '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(), len(parts))


def random_bytes(n, seed):
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


class S3TestCase(GantryTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gantry-s3-e2e-")
        self.s3 = self.gantry.boto3("s3")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def cli(self, cli, *args):
        """Runs a CLI command that prints text (aws s3 ...) and returns its stdout."""
        code, out, err = self.gantry.aws(cli, *args, check=False)
        self.assertEqual(code, 0, f"{args} failed: {err}")
        return out

    def cli_error(self, cli, *args, **env):
        code, _, err = self.gantry.aws(cli, *args, check=False, **env)
        self.assertNotEqual(code, 0, f"{args} unexpectedly succeeded")
        return err

    def bucket(self, name):
        self.s3.create_bucket(Bucket=name)
        return name


class BucketCommandsTest(S3TestCase):
    def test_mb_ls_rb_with_both_clis(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                bucket = f"mb-{name}"
                self.assertIn(f"make_bucket: {bucket}", self.cli(cli, "s3", "mb", f"s3://{bucket}"))
                self.assertIn(bucket, self.cli(cli, "s3", "ls"))
                self.s3.head_bucket(Bucket=bucket)
                self.assertIn(f"remove_bucket: {bucket}", self.cli(cli, "s3", "rb", f"s3://{bucket}"))
                self.assertNotIn(bucket, self.cli(cli, "s3", "ls"))

    def test_create_bucket_with_location_constraint(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                bucket = f"eu-{name}"
                self.gantry.aws(cli, "s3api", "create-bucket", "--bucket", bucket, "--create-bucket-configuration",
                                "LocationConstraint=eu-west-1", region="eu-west-1")
                out = self.gantry.aws(cli, "s3api", "get-bucket-location", "--bucket", bucket)
                self.assertEqual(out["LocationConstraint"], "eu-west-1")
                self.cli(cli, "s3", "mb", f"s3://us-{name}")
                out = self.gantry.aws(cli, "s3api", "get-bucket-location", "--bucket", f"us-{name}")
                self.assertIsNone(out["LocationConstraint"])
                err = self.cli_error(cli, "s3api", "create-bucket", "--bucket", f"x-{name}", region="eu-west-1")
                self.assertIn("An error occurred (IllegalLocationConstraintException) when calling the CreateBucket "
                              "operation: The unspecified location constraint is incompatible for the region "
                              "specific endpoint this request was sent to.", err)
        # `aws s3 mb` in another region sends the constraint itself.
        self.cli(AWS_V1, "s3", "mb", "s3://mb-in-ap", "--region", "ap-southeast-2")
        self.assertEqual(self.s3.get_bucket_location(Bucket="mb-in-ap")["LocationConstraint"], "ap-southeast-2")
        self.assertEqual(self.s3.head_bucket(Bucket="mb-in-ap")["BucketRegion"], "ap-southeast-2")

    def test_bucket_errors_as_the_clis_print_them(self):
        self.bucket("full-bucket")
        self.s3.put_object(Bucket="full-bucket", Key="k", Body=b"x")
        for name, cli in self.clis():
            with self.subTest(cli=name):
                err = self.cli_error(cli, "s3api", "list-objects-v2", "--bucket", "no-such-bucket")
                self.assertIn("An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The "
                              "specified bucket does not exist", err)
                err = self.cli_error(cli, "s3api", "delete-bucket", "--bucket", "full-bucket")
                self.assertIn("An error occurred (BucketNotEmpty) when calling the DeleteBucket operation: The "
                              "bucket you tried to delete is not empty", err)
                err = self.cli_error(cli, "s3", "rb", "s3://full-bucket")
                self.assertIn("BucketNotEmpty", err)
                err = self.cli_error(cli, "s3api", "head-bucket", "--bucket", "no-such-bucket")
                self.assertIn("An error occurred (404) when calling the HeadBucket operation: Not Found", err)
                err = self.cli_error(cli, "s3api", "create-bucket", "--bucket", "Not_Valid")
                self.assertIn("An error occurred (InvalidBucketName) when calling the CreateBucket operation: The "
                              "specified bucket is not valid.", err)
        from botocore.exceptions import ClientError
        with self.assertRaises(self.s3.exceptions.NoSuchBucket) as cm:
            self.s3.list_objects_v2(Bucket="no-such-bucket")
        self.assertEqual(cm.exception.response["Error"]["BucketName"], "no-such-bucket")
        with self.assertRaises(ClientError) as cm:
            self.s3.delete_bucket(Bucket="full-bucket")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 409)
        # rb --force empties the bucket first.
        self.cli(AWS_V1, "s3", "rb", "s3://full-bucket", "--force")
        with self.assertRaises(ClientError):
            self.s3.head_bucket(Bucket="full-bucket")

    def test_bucket_tagging_policy_and_versioning_configuration(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                bucket = self.bucket(f"conf-{name}")
                err = self.cli_error(cli, "s3api", "get-bucket-tagging", "--bucket", bucket)
                self.assertIn("An error occurred (NoSuchTagSet) when calling the GetBucketTagging operation: The "
                              "TagSet does not exist", err)
                self.gantry.aws(cli, "s3api", "put-bucket-tagging", "--bucket", bucket, "--tagging",
                                "TagSet=[{Key=team,Value=platform},{Key=env,Value=dev}]")
                tags = self.gantry.aws(cli, "s3api", "get-bucket-tagging", "--bucket", bucket)["TagSet"]
                self.assertEqual(tags, [{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "dev"}])
                self.gantry.aws(cli, "s3api", "delete-bucket-tagging", "--bucket", bucket)
                self.cli_error(cli, "s3api", "get-bucket-tagging", "--bucket", bucket)

                policy = json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                     "Resource": f"arn:aws:s3:::{bucket}/*"}]})
                err = self.cli_error(cli, "s3api", "get-bucket-policy", "--bucket", bucket)
                self.assertIn("An error occurred (NoSuchBucketPolicy) when calling the GetBucketPolicy operation: "
                              "The bucket policy does not exist", err)
                self.gantry.aws(cli, "s3api", "put-bucket-policy", "--bucket", bucket, "--policy", policy)
                out = self.gantry.aws(cli, "s3api", "get-bucket-policy", "--bucket", bucket)
                self.assertEqual(json.loads(out["Policy"]), json.loads(policy))
                err = self.cli_error(cli, "s3api", "put-bucket-policy", "--bucket", bucket, "--policy", "nope")
                self.assertIn("MalformedPolicy", err)
                self.gantry.aws(cli, "s3api", "delete-bucket-policy", "--bucket", bucket)

                self.assertNotIn("Status", self.gantry.aws(cli, "s3api", "get-bucket-versioning", "--bucket", bucket)
                                 or {})
                self.gantry.aws(cli, "s3api", "put-bucket-versioning", "--bucket", bucket,
                                "--versioning-configuration", "Status=Enabled")
                out = self.gantry.aws(cli, "s3api", "get-bucket-versioning", "--bucket", bucket)
                self.assertEqual(out["Status"], "Enabled")


class TransferCommandsTest(S3TestCase):
    def test_cp_small_and_multipart_both_ways(self):
        small = b"hello from gantry\n"
        big = random_bytes(20 * MIB + 12345, "big")
        self.write("small.txt", small)
        self.write("big.bin", big)
        for name, cli in self.clis():
            with self.subTest(cli=name):
                bucket = self.bucket(f"cp-{name}")
                self.cli(cli, "s3", "cp", self.path("small.txt"), f"s3://{bucket}/dir/small.txt", "--no-progress")
                self.cli(cli, "s3", "cp", self.path("big.bin"), f"s3://{bucket}/big.bin", "--no-progress")
                self.cli(cli, "s3", "cp", f"s3://{bucket}/dir/small.txt", self.path(f"small-{name}"), "--no-progress")
                self.cli(cli, "s3", "cp", f"s3://{bucket}/big.bin", self.path(f"big-{name}"), "--no-progress")
                self.assertEqual(self.read(f"small-{name}"), small)
                self.assertEqual(self.read(f"big-{name}"), big)
                self.assertEqual(self.cli(cli, "s3", "cp", f"s3://{bucket}/dir/small.txt", "-").encode(), small)
                head = self.gantry.aws(cli, "s3api", "head-object", "--bucket", bucket, "--key", "big.bin")
                # Both CLIs upload 8 MiB parts: S3's multipart ETag, computed locally.
                self.assertEqual(head["ETag"], multipart_etag(big, 8 * MIB))
                self.assertEqual(head["ContentLength"], len(big))
                head = self.gantry.aws(cli, "s3api", "head-object", "--bucket", bucket, "--key", "dir/small.txt")
                self.assertEqual(head["ETag"], '"%s"' % md5_hex(small))
                listing = self.cli(cli, "s3", "ls", f"s3://{bucket}/", "--recursive")
                self.assertIn("dir/small.txt", listing)
                self.assertIn(str(len(big)), listing)
                self.cli(cli, "s3", "rm", f"s3://{bucket}/big.bin")
                self.assertNotIn("big.bin", self.cli(cli, "s3", "ls", f"s3://{bucket}/", "--recursive"))
                self.cli(cli, "s3", "cp", f"s3://{bucket}/dir/small.txt", f"s3://{bucket}/copied.txt")
                self.assertEqual(self.s3.get_object(Bucket=bucket, Key="copied.txt")["Body"].read(), small)

    def test_sync_ls_rm(self):
        tree = {"a.txt": b"a", "nested/b.txt": b"bb", "nested/deeper/c.txt": b"ccc", "with space.txt": b"sp"}
        for rel, data in tree.items():
            self.write(f"src/{rel}", data)
        for name, cli in self.clis():
            with self.subTest(cli=name):
                bucket = self.bucket(f"sync-{name}")
                out = self.cli(cli, "s3", "sync", self.path("src"), f"s3://{bucket}/site", "--no-progress")
                self.assertEqual(out.count("upload:"), len(tree))
                # Nothing changed: nothing to do.
                self.assertEqual(self.cli(cli, "s3", "sync", self.path("src"), f"s3://{bucket}/site").strip(), "")
                top = self.cli(cli, "s3", "ls", f"s3://{bucket}/site/")
                self.assertIn("PRE nested/", top)
                self.assertIn("a.txt", top)
                self.cli(cli, "s3", "sync", f"s3://{bucket}/site", self.path(f"down-{name}"), "--no-progress")
                for rel, data in tree.items():
                    self.assertEqual(self.read(f"down-{name}/{rel}"), data)
                # --delete removes what the source no longer has.
                os.remove(self.path("src/a.txt"))
                out = self.cli(cli, "s3", "sync", self.path("src"), f"s3://{bucket}/site", "--delete")
                self.assertIn(f"delete: s3://{bucket}/site/a.txt", out)
                self.write("src/a.txt", b"a")
                self.cli(cli, "s3", "rm", f"s3://{bucket}/site", "--recursive")
                self.assertEqual(self.s3.list_objects_v2(Bucket=bucket)["KeyCount"], 0)

    def test_boto3_managed_transfer_multipart_with_threads(self):
        from boto3.s3.transfer import TransferConfig
        bucket = self.bucket("managed")
        data = random_bytes(23 * MIB + 7, "managed")
        self.write("managed.bin", data)
        config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4,
                                use_threads=True)
        self.s3.upload_file(self.path("managed.bin"), bucket, "managed.bin", Config=config,
                            ExtraArgs={"Metadata": {"origin": "boto3"}, "ContentType": "application/x-test"})
        head = self.s3.head_object(Bucket=bucket, Key="managed.bin", ChecksumMode="ENABLED")
        self.assertEqual(head["ETag"], multipart_etag(data, 5 * MIB))
        self.assertEqual(head["Metadata"], {"origin": "boto3"})
        self.assertEqual(head["ContentType"], "application/x-test")
        # s3transfer asks for CRC32 parts: the object's checksum is S3's composite form.
        self.assertTrue(head["ChecksumCRC32"].endswith("-5"), head)
        self.assertEqual(head["ChecksumType"], "COMPOSITE")
        self.s3.download_file(bucket, "managed.bin", self.path("managed.out"), Config=config)
        self.assertEqual(self.read("managed.out"), data)
        # Ranged reads (what the download above did in parallel) return exactly the bytes asked for.
        part = self.s3.get_object(Bucket=bucket, Key="managed.bin", Range="bytes=5242875-5242884")
        self.assertEqual(part["Body"].read(), data[5242875:5242885])
        self.assertEqual(part["ContentRange"], f"bytes 5242875-5242884/{len(data)}")
        self.assertEqual(part["ResponseMetadata"]["HTTPStatusCode"], 206)
        second = self.s3.get_object(Bucket=bucket, Key="managed.bin", PartNumber=2)
        self.assertEqual(second["Body"].read(), data[5 * MIB:10 * MIB])
        self.assertEqual(second["PartsCount"], 5)

    def test_multipart_api_directly(self):
        bucket = self.bucket("mpu-api")
        s3 = self.s3
        part1, part2 = random_bytes(5 * MIB, "p1"), b"last part"
        for algorithm, checksum_type in (("CRC32", "FULL_OBJECT"), ("SHA256", "COMPOSITE")):
            key = f"obj-{algorithm}"
            upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm,
                                                ChecksumType=checksum_type)
            self.assertEqual(upload["ChecksumType"], checksum_type)
            uid = upload["UploadId"]
            listed = s3.list_multipart_uploads(Bucket=bucket)
            self.assertIn(uid, [u["UploadId"] for u in listed["Uploads"]])
            r1 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=part1,
                                ChecksumAlgorithm=algorithm)
            r2 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=part2,
                                ChecksumAlgorithm=algorithm)
            parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
            self.assertEqual([(p["PartNumber"], p["Size"]) for p in parts], [(1, len(part1)), (2, len(part2))])
            member = "Checksum" + algorithm
            done = s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=uid,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r1["ETag"], member: r1[member]},
                                           {"PartNumber": 2, "ETag": r2["ETag"], member: r2[member]}]})
            self.assertEqual(done["ETag"], multipart_etag(part1 + part2, 5 * MIB))
            if checksum_type == "FULL_OBJECT":
                self.assertEqual(done["ChecksumCRC32"], crc32_b64(part1 + part2))
            else:
                raw = b"".join(base64.b64decode(r[member]) for r in (r1, r2))
                self.assertEqual(done["ChecksumSHA256"], b64(hashlib.sha256(raw).digest()) + "-2")
            self.assertEqual(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), part1 + part2)
        # Part copies, aborts and the errors of a wrong completion.
        upload = s3.create_multipart_upload(Bucket=bucket, Key="copied")
        uid = upload["UploadId"]
        c1 = s3.upload_part_copy(Bucket=bucket, Key="copied", UploadId=uid, PartNumber=1,
                                 CopySource={"Bucket": bucket, "Key": "obj-CRC32"},
                                 CopySourceRange=f"bytes=0-{5 * MIB - 1}")
        c2 = s3.upload_part_copy(Bucket=bucket, Key="copied", UploadId=uid, PartNumber=2,
                                 CopySource=f"{bucket}/obj-CRC32", CopySourceRange=f"bytes={5 * MIB}-{5 * MIB + 3}")
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            s3.complete_multipart_upload(Bucket=bucket, Key="copied", UploadId=uid, MultipartUpload={"Parts": [
                {"PartNumber": 2, "ETag": c2["CopyPartResult"]["ETag"]},
                {"PartNumber": 1, "ETag": c1["CopyPartResult"]["ETag"]}]})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidPartOrder")
        with self.assertRaises(ClientError) as cm:
            s3.complete_multipart_upload(Bucket=bucket, Key="copied", UploadId=uid, MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidPart")
        s3.complete_multipart_upload(Bucket=bucket, Key="copied", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": c1["CopyPartResult"]["ETag"]},
            {"PartNumber": 2, "ETag": c2["CopyPartResult"]["ETag"]}]})
        self.assertEqual(s3.get_object(Bucket=bucket, Key="copied")["Body"].read(), part1 + part2[:4])
        aborted = s3.create_multipart_upload(Bucket=bucket, Key="aborted")["UploadId"]
        s3.upload_part(Bucket=bucket, Key="aborted", UploadId=aborted, PartNumber=1, Body=b"x")
        s3.abort_multipart_upload(Bucket=bucket, Key="aborted", UploadId=aborted)
        with self.assertRaises(s3.exceptions.NoSuchUpload) as cm:
            s3.list_parts(Bucket=bucket, Key="aborted", UploadId=aborted)
        self.assertEqual(cm.exception.response["Error"]["UploadId"], aborted)
        self.assertNotIn("Uploads", s3.list_multipart_uploads(Bucket=bucket))


class ObjectApiTest(S3TestCase):
    def test_put_get_head_with_metadata_range_and_conditions(self):
        content = b"0123456789abcdefghij"
        self.write("obj.txt", content)
        for name, cli in self.clis():
            with self.subTest(cli=name):
                bucket = self.bucket(f"api-{name}")
                put = self.gantry.aws(cli, "s3api", "put-object", "--bucket", bucket, "--key", "docs/obj.txt",
                                      "--body", self.path("obj.txt"), "--content-type", "text/plain",
                                      "--metadata", "Build-Id=42,commit=abc", "--cache-control", "max-age=60",
                                      "--tagging", "team=platform")
                etag = '"%s"' % md5_hex(content)
                self.assertEqual(put["ETag"], etag)
                head = self.gantry.aws(cli, "s3api", "head-object", "--bucket", bucket, "--key", "docs/obj.txt")
                self.assertEqual(head["ContentLength"], len(content))
                self.assertEqual(head["ContentType"], "text/plain")
                self.assertEqual(head["CacheControl"], "max-age=60")
                self.assertEqual(head["Metadata"], {"build-id": "42", "commit": "abc"})
                self.assertEqual(head["ETag"], etag)
                out = self.gantry.aws(cli, "s3api", "get-object", "--bucket", bucket, "--key", "docs/obj.txt",
                                      "--range", "bytes=5-9", self.path(f"range-{name}"))
                self.assertEqual(self.read(f"range-{name}"), content[5:10])
                self.assertEqual(out["ContentRange"], f"bytes 5-9/{len(content)}")
                self.assertEqual(out["TagCount"], 1)
                err = self.cli_error(cli, "s3api", "get-object", "--bucket", bucket, "--key", "docs/obj.txt",
                                     "--if-none-match", etag, self.path("nm"))
                self.assertIn("An error occurred (304) when calling the GetObject operation: Not Modified", err)
                err = self.cli_error(cli, "s3api", "get-object", "--bucket", bucket, "--key", "docs/obj.txt",
                                     "--if-match", '"0000"', self.path("pf"))
                self.assertIn("An error occurred (PreconditionFailed) when calling the GetObject operation: At "
                              "least one of the pre-conditions you specified did not hold", err)
                err = self.cli_error(cli, "s3api", "get-object", "--bucket", bucket, "--key", "docs/obj.txt",
                                     "--if-modified-since", "2100-01-01T00:00:00Z", self.path("ims"))
                self.assertIn("(304)", err)
                self.gantry.aws(cli, "s3api", "get-object", "--bucket", bucket, "--key", "docs/obj.txt",
                                "--if-unmodified-since", "2100-01-01T00:00:00Z", self.path("ius"))
                err = self.cli_error(cli, "s3api", "get-object", "--bucket", bucket, "--key", "docs/obj.txt",
                                     "--range", "bytes=100-200", self.path("ir"))
                self.assertIn("An error occurred (InvalidRange) when calling the GetObject operation: The "
                              "requested range is not satisfiable", err)
                err = self.cli_error(cli, "s3api", "get-object", "--bucket", bucket, "--key", "missing",
                                     self.path("nk"))
                self.assertIn("An error occurred (NoSuchKey) when calling the GetObject operation: The specified "
                              "key does not exist.", err)
                err = self.cli_error(cli, "s3api", "head-object", "--bucket", bucket, "--key", "missing")
                self.assertIn("An error occurred (404) when calling the HeadObject operation: Not Found", err)
        with self.assertRaises(self.s3.exceptions.NoSuchKey) as cm:
            self.s3.get_object(Bucket="api-cli-v1", Key="missing/key")
        self.assertEqual(cm.exception.response["Error"]["Key"], "missing/key")

    def test_head_and_errors_on_the_wire(self):
        bucket = self.bucket("wire")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"12345")
        url = self.s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "k"})
        conn = http.client.HTTPConnection("127.0.0.1", self.gantry.port)
        conn.request("HEAD", url[len(self.gantry.endpoint):])
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Length"), "5")
        self.assertEqual(resp.read(), b"")
        url = self.s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "nope"})
        conn.request("HEAD", url[len(self.gantry.endpoint):])
        resp = conn.getresponse()
        self.assertEqual(resp.status, 404)
        self.assertEqual(resp.read(), b"")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "nope"})
        conn.request("GET", url[len(self.gantry.endpoint):])
        resp = conn.getresponse()
        body = resp.read().decode()
        self.assertEqual(resp.status, 404)
        self.assertIn("<Code>NoSuchKey</Code>", body)
        self.assertIn("<Key>nope</Key>", body)
        self.assertTrue(resp.getheader("x-amz-request-id"))
        conn.close()

    def test_checksums_round_trip(self):
        bucket = self.bucket("sums")
        data = b"checksummed payload " * 1000
        # botocore computes CRC32, SHA1 and SHA256 itself (as headers over http).
        for algorithm, expected in (("CRC32", crc32_b64(data)), ("SHA1", b64(hashlib.sha1(data).digest())),
                                    ("SHA256", b64(hashlib.sha256(data).digest()))):
            put = self.s3.put_object(Bucket=bucket, Key=algorithm, Body=data, ChecksumAlgorithm=algorithm)
            self.assertEqual(put["Checksum" + algorithm], expected)
            got = self.s3.get_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
            self.assertEqual(got["Checksum" + algorithm], expected)
            self.assertEqual(got["ChecksumType"], "FULL_OBJECT")
            self.assertEqual(got["Body"].read(), data)  # botocore validates the checksum while reading
        # CRC32C and CRC64NVME values computed here (botocore needs awscrt for them).
        for algorithm, value in (("CRC32C", crc32c_b64(data)), ("CRC64NVME", crc64nvme_b64(data))):
            self.s3.put_object(Bucket=bucket, Key=algorithm, Body=data, **{"Checksum" + algorithm: value})
            head = self.s3.head_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
            self.assertEqual(head["Checksum" + algorithm], value)
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.s3.put_object(Bucket=bucket, Key="bad", Body=data, ChecksumCRC32=crc32_b64(b"other"))
        self.assertEqual(cm.exception.response["Error"]["Code"], "BadDigest")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "The CRC32 you specified did not match the calculated checksum.")
        with self.assertRaises(ClientError) as cm:
            self.s3.put_object(Bucket=bucket, Key="bad", Body=data, ContentMD5=b64(hashlib.md5(b"x").digest()))
        self.assertEqual(cm.exception.response["Error"]["Code"], "BadDigest")
        with self.assertRaises(ClientError):
            self.s3.head_object(Bucket=bucket, Key="bad")
        # The CLIs: s3api put-object --checksum-algorithm (both), s3 cp --checksum-algorithm (v1; v2.9's
        # `s3 cp` predates the option).
        self.write("sums.bin", data)
        for name, cli in self.clis():
            for algorithm, expected in (("CRC32", crc32_b64(data)), ("SHA256", b64(hashlib.sha256(data).digest()))):
                with self.subTest(cli=name, algorithm=algorithm):
                    key = f"cli-{name}-{algorithm}"
                    out = self.gantry.aws(cli, "s3api", "put-object", "--bucket", bucket, "--key", key,
                                          "--body", self.path("sums.bin"), "--checksum-algorithm", algorithm)
                    self.assertEqual(out["Checksum" + algorithm], expected)
                    head = self.gantry.aws(cli, "s3api", "head-object", "--bucket", bucket, "--key", key,
                                           "--checksum-mode", "ENABLED")
                    self.assertEqual(head["Checksum" + algorithm], expected)
        self.cli(AWS_V1, "s3", "cp", self.path("sums.bin"), f"s3://{bucket}/cp-sha1", "--checksum-algorithm", "SHA1")
        head = self.s3.head_object(Bucket=bucket, Key="cp-sha1", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumSHA1"], b64(hashlib.sha1(data).digest()))

    def test_aws_chunked_trailing_checksum(self):
        """botocore sends checksums as aws-chunked trailers over TLS; make it believe it uses TLS."""
        import botocore.httpchecksum as httpchecksum
        from urllib.parse import urlparse
        bucket = self.bucket("trailers")
        data = random_bytes(3 * MIB + 5, "trailer")
        original = httpchecksum.urlparse

        def pretend_https(url):
            return urlparse(url.replace("http://", "https://", 1))
        seen = {}

        def capture(request, **kwargs):
            seen.update({k.lower(): v for k, v in request.headers.items()})
        s3 = self.gantry.boto3("s3")
        s3.meta.events.register("before-send.s3.PutObject", capture)
        httpchecksum.urlparse = pretend_https
        try:
            put = s3.put_object(Bucket=bucket, Key="trailer", Body=data, ChecksumAlgorithm="CRC32")
        finally:
            httpchecksum.urlparse = original
        def text(v):
            return v.decode() if isinstance(v, bytes) else v
        self.assertEqual(text(seen.get("content-encoding")), "aws-chunked")
        self.assertEqual(text(seen.get("x-amz-trailer")), "x-amz-checksum-crc32")
        self.assertEqual(put["ChecksumCRC32"], crc32_b64(data))
        got = s3.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got["ContentLength"], len(data))
        self.assertNotIn("ContentEncoding", got)

    def test_copy_delete_objects_and_listing_pagination(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                bucket = self.bucket(f"list-{name}")
                keys = ["a.txt", "docs/1", "docs/2", "docs/sub/3", "img/x.png", "img/y.png", "z.txt"]
                for key in keys:
                    self.s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
                out = self.gantry.aws(cli, "s3api", "list-objects-v2", "--bucket", bucket, "--delimiter", "/")
                self.assertEqual([o["Key"] for o in out["Contents"]], ["a.txt", "z.txt"])
                self.assertEqual([p["Prefix"] for p in out["CommonPrefixes"]], ["docs/", "img/"])
                # Pages of two, followed by the CLI through continuation tokens.
                out = self.gantry.aws(cli, "s3api", "list-objects-v2", "--bucket", bucket, "--page-size", "2")
                self.assertEqual([o["Key"] for o in out["Contents"]], keys)
                out = self.gantry.aws(cli, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "docs/",
                                      "--delimiter", "/", "--page-size", "1")
                self.assertEqual([o["Key"] for o in out["Contents"]], ["docs/1", "docs/2"])
                self.assertEqual([p["Prefix"] for p in out["CommonPrefixes"]], ["docs/sub/"])
                out = self.gantry.aws(cli, "s3api", "list-objects-v2", "--bucket", bucket, "--start-after", "img/x.png")
                self.assertEqual([o["Key"] for o in out["Contents"]], ["img/y.png", "z.txt"])
                out = self.gantry.aws(cli, "s3api", "list-objects", "--bucket", bucket, "--page-size", "3")
                self.assertEqual([o["Key"] for o in out["Contents"]], keys)

                copied = self.gantry.aws(cli, "s3api", "copy-object", "--bucket", bucket, "--key", "copy/a.txt",
                                         "--copy-source", f"{bucket}/a.txt", "--metadata-directive", "REPLACE",
                                         "--metadata", "copied=yes", "--content-type", "text/x-copied")
                self.assertEqual(copied["CopyObjectResult"]["ETag"], '"%s"' % md5_hex(b"a.txt"))
                head = self.s3.head_object(Bucket=bucket, Key="copy/a.txt")
                self.assertEqual(head["Metadata"], {"copied": "yes"})
                self.assertEqual(head["ContentType"], "text/x-copied")
                err = self.cli_error(cli, "s3api", "copy-object", "--bucket", bucket, "--key", "a.txt",
                                     "--copy-source", f"{bucket}/a.txt")
                self.assertIn("An error occurred (InvalidRequest) when calling the CopyObject operation: This copy "
                              "request is illegal because it is trying to copy an object to itself", err)
                delete = json.dumps({"Objects": [{"Key": k} for k in keys], "Quiet": False})
                out = self.gantry.aws(cli, "s3api", "delete-objects", "--bucket", bucket, "--delete", delete)
                self.assertEqual(sorted(d["Key"] for d in out["Deleted"]), sorted(keys))
                out = self.gantry.aws(cli, "s3api", "list-objects-v2", "--bucket", bucket)
                self.assertEqual([o["Key"] for o in out["Contents"]], ["copy/a.txt"])
        # boto3 paginator and explicit continuation tokens.
        bucket = self.bucket("paged")
        for i in range(25):
            self.s3.put_object(Bucket=bucket, Key=f"k{i:03d}", Body=b"")
        pages = list(self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 10}))
        self.assertEqual([p["KeyCount"] for p in pages], [10, 10, 5])
        self.assertEqual([o["Key"] for p in pages for o in p["Contents"]], [f"k{i:03d}" for i in range(25)])
        first = self.s3.list_objects_v2(Bucket=bucket, MaxKeys=3)
        self.assertTrue(first["IsTruncated"])
        second = self.s3.list_objects_v2(Bucket=bucket, MaxKeys=3, ContinuationToken=first["NextContinuationToken"])
        self.assertEqual([o["Key"] for o in second["Contents"]], ["k003", "k004", "k005"])

    def test_object_tagging(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                bucket = self.bucket(f"tags-{name}")
                self.s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=two%20words")
                out = self.gantry.aws(cli, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "k")
                self.assertEqual(out["TagSet"], [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "two words"}])
                self.gantry.aws(cli, "s3api", "put-object-tagging", "--bucket", bucket, "--key", "k", "--tagging",
                                "TagSet=[{Key=env,Value=prod}]")
                out = self.gantry.aws(cli, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "k")
                self.assertEqual(out["TagSet"], [{"Key": "env", "Value": "prod"}])
                self.gantry.aws(cli, "s3api", "delete-object-tagging", "--bucket", bucket, "--key", "k")
                out = self.gantry.aws(cli, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "k")
                self.assertEqual(out["TagSet"], [])
                err = self.cli_error(cli, "s3api", "put-object-tagging", "--bucket", bucket, "--key", "k",
                                     "--tagging", "TagSet=[{Key=a,Value=1},{Key=a,Value=2}]")
                self.assertIn("InvalidTag", err)

    def test_versioning(self):
        for name, cli in self.clis():
            with self.subTest(cli=name):
                bucket = self.bucket(f"ver-{name}")
                self.gantry.aws(cli, "s3api", "put-bucket-versioning", "--bucket", bucket,
                                "--versioning-configuration", "Status=Enabled")
                self.write("v1", b"version one")
                self.write("v2", b"version two")
                first = self.gantry.aws(cli, "s3api", "put-object", "--bucket", bucket, "--key", "doc",
                                        "--body", self.path("v1"))
                second = self.gantry.aws(cli, "s3api", "put-object", "--bucket", bucket, "--key", "doc",
                                         "--body", self.path("v2"))
                self.assertNotEqual(first["VersionId"], second["VersionId"])
                deleted = self.gantry.aws(cli, "s3api", "delete-object", "--bucket", bucket, "--key", "doc")
                self.assertTrue(deleted["DeleteMarker"])
                err = self.cli_error(cli, "s3api", "get-object", "--bucket", bucket, "--key", "doc", self.path("x"))
                self.assertIn("NoSuchKey", err)
                out = self.gantry.aws(cli, "s3api", "get-object", "--bucket", bucket, "--key", "doc", "--version-id",
                                      first["VersionId"], self.path(f"old-{name}"))
                self.assertEqual(self.read(f"old-{name}"), b"version one")
                self.assertEqual(out["VersionId"], first["VersionId"])
                versions = self.gantry.aws(cli, "s3api", "list-object-versions", "--bucket", bucket)
                self.assertEqual([v["VersionId"] for v in versions["Versions"]],
                                 [second["VersionId"], first["VersionId"]])
                self.assertEqual([m["VersionId"] for m in versions["DeleteMarkers"]], [deleted["VersionId"]])
                self.assertTrue(versions["DeleteMarkers"][0]["IsLatest"])
                # Removing the delete marker restores the latest version.
                self.gantry.aws(cli, "s3api", "delete-object", "--bucket", bucket, "--key", "doc", "--version-id",
                                deleted["VersionId"])
                self.gantry.aws(cli, "s3api", "get-object", "--bucket", bucket, "--key", "doc", self.path(f"cur-{name}"))
                self.assertEqual(self.read(f"cur-{name}"), b"version two")
                # Suspended: writes replace the "null" version.
                self.gantry.aws(cli, "s3api", "put-bucket-versioning", "--bucket", bucket,
                                "--versioning-configuration", "Status=Suspended")
                self.s3.put_object(Bucket=bucket, Key="doc", Body=b"null one")
                self.s3.put_object(Bucket=bucket, Key="doc", Body=b"null two")
                ids = [v["VersionId"] for v in self.s3.list_object_versions(Bucket=bucket)["Versions"]]
                self.assertEqual(ids, ["null", second["VersionId"], first["VersionId"]])


class AddressingAndPresignTest(S3TestCase):
    def fetch(self, url, method="GET", data=None, headers=None):
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def test_presigned_urls_sigv4_and_sigv2(self):
        from botocore.config import Config
        import boto3
        bucket = self.bucket("presign")
        key, secret = self.gantry.credentials()

        def client(signature_version):
            return boto3.client("s3", endpoint_url=self.gantry.endpoint, region_name="us-east-1",
                                aws_access_key_id=key, aws_secret_access_key=secret,
                                config=Config(signature_version=signature_version))
        v4, v2 = client("s3v4"), client("s3")
        # SigV4: PUT then GET with urllib.
        put_url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up/v4.txt"})
        self.assertIn("X-Amz-Signature=", put_url)
        self.assertEqual(self.fetch(put_url, "PUT", b"sigv4 upload")[0], 200)
        get_url = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "up/v4.txt"})
        self.assertEqual(self.fetch(get_url), (200, b"sigv4 upload"))
        # SigV2 query form (AWSAccessKeyId, Signature, Expires), boto3's default in us-east-1.
        self.assertIn("AWSAccessKeyId=", self.s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                                                               "Key": "up/v4.txt"}))
        # SigV2 signs Content-Type, so the presigner names it and the uploader sends it.
        put_url = v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up/v2 file.txt",
                                                                  "ContentType": "text/plain"})
        self.assertIn("AWSAccessKeyId=", put_url)
        self.assertEqual(self.fetch(put_url, "PUT", b"sigv2 upload", {"Content-Type": "text/plain"})[0], 200)
        got = self.s3.get_object(Bucket=bucket, Key="up/v2 file.txt")
        self.assertEqual((got["Body"].read(), got["ContentType"]), (b"sigv2 upload", "text/plain"))
        status, body = self.fetch(put_url, "PUT", b"x", {"Content-Type": "application/json"})
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", body)
        self.assertIn(b"<StringToSign>PUT\n\napplication/json\n", body)
        # `aws s3 presign`: CLI v1 emits SigV2, CLI v2 SigV4; both fetched with curl.
        for name, cli in self.clis():
            with self.subTest(cli=name):
                url = self.cli(cli, "s3", "presign", f"s3://{bucket}/up/v4.txt").strip()
                if name == "cli-v1":
                    self.assertIn("AWSAccessKeyId=", url)
                out = subprocess.run(["curl", "-sS", "-f", url], capture_output=True, timeout=30)
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertEqual(out.stdout, b"sigv4 upload")
        # Expired and tampered URLs are refused with S3's codes.
        url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "up/v4.txt"}, ExpiresIn=1)
        time.sleep(2)
        status, body = self.fetch(url)
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.assertIn(b"Request has expired", body)
        url = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "up/v4.txt"})
        status, body = self.fetch(url.replace("up/v4.txt", "up/v2%20file.txt"))
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", body)
        # curl -T streams a presigned PUT from a file.
        self.write("curl.bin", random_bytes(2 * MIB, "curl"))
        url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "curl.bin"})
        out = subprocess.run(["curl", "-sS", "-f", "-T", self.path("curl.bin"), url], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="curl.bin")["Body"].read(), self.read("curl.bin"))

    def signed(self, method, host, path, body=b"", headers=None):
        """Sends a SigV4-signed request addressed to `host` (virtual-hosted) to the local server."""
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        key, secret = self.gantry.credentials()
        request = AWSRequest(method=method, url=f"http://{host}{path}", data=body, headers=headers or {})
        S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(request)
        conn = http.client.HTTPConnection("127.0.0.1", self.gantry.port, timeout=30)
        headers = dict(request.headers.items())
        headers["Host"] = host
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, data

    def test_virtual_hosted_addressing(self):
        port = self.gantry.port
        for host in (f"vhost-a.s3.localhost.localstack.cloud:{port}", f"vhost-b.localhost:{port}"):
            with self.subTest(host=host):
                bucket = host.split(".")[0]
                self.assertEqual(self.signed("PUT", host, "/")[0], 200)
                self.assertEqual(self.signed("PUT", host, "/dir/hello%20world.txt", b"virtual!")[0], 200)
                self.assertEqual(self.signed("GET", host, "/dir/hello%20world.txt"), (200, b"virtual!"))
                status, listing = self.signed("GET", host, "/?list-type=2&prefix=dir%2F")
                self.assertEqual(status, 200)
                self.assertIn(b"<Key>dir/hello world.txt</Key>", listing)
                self.assertEqual(self.s3.get_object(Bucket=bucket, Key="dir/hello world.txt")["Body"].read(),
                                 b"virtual!")
                status, body = self.signed("GET", host, "/missing")
                self.assertEqual(status, 404)
                self.assertIn(b"<Key>missing</Key>", body)
        # A presigned virtual-hosted URL, as boto3 makes it for virtual addressing.
        from botocore.config import Config
        import boto3
        key, secret = self.gantry.credentials()
        vclient = boto3.client("s3", endpoint_url=f"http://s3.localhost.localstack.cloud:{port}",
                               region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
                               config=Config(s3={"addressing_style": "virtual"}))
        url = vclient.generate_presigned_url("get_object", Params={"Bucket": "vhost-a", "Key": "dir/hello world.txt"})
        self.assertTrue(url.startswith(f"http://vhost-a.s3.localhost.localstack.cloud:{port}/"), url)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", url.split(f":{port}", 1)[1], headers={"Host": f"vhost-a.s3.localhost.localstack.cloud:{port}"})
        resp = conn.getresponse()
        self.assertEqual((resp.status, resp.read()), (200, b"virtual!"))
        conn.close()


class KeySafetyAndConcurrencyTest(S3TestCase):
    HOSTILE = ["../../etc/passwd", "/leading", "a//b", "unicode ✓ key", "sp ace", "..", "./.", "trailing/",
               "%2e%2e/encoded", "q?x=1&y=#frag", "semi;colon", "tab\tkey", "a" * 1024]

    def test_hostile_keys_stay_inside_the_bucket(self):
        bucket = self.bucket("hostile")
        for key in self.HOSTILE:
            self.s3.put_object(Bucket=bucket, Key=key, Body=("data:" + key).encode())
        for key in self.HOSTILE:
            self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(), ("data:" + key).encode(), key)
        listed = [o["Key"] for p in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                  for o in p.get("Contents", [])]
        self.assertEqual(sorted(listed), sorted(self.HOSTILE))
        for name, cli in self.clis():
            with self.subTest(cli=name):
                self.gantry.aws(cli, "s3api", "put-object", "--bucket", bucket, "--key", f"../{name}/✓ x",
                                "--body", self.write("h", b"cli"))
                self.cli(cli, "s3", "cp", f"s3://{bucket}/../{name}/✓ x", self.path(f"h-{name}"))
                self.assertEqual(self.read(f"h-{name}"), b"cli")
        # Every byte lives in <state>/s3/<bucket id>/<random id>: no key became a path.
        root = os.path.join(self.gantry.state_dir, "s3")
        for dirpath, dirnames, filenames in os.walk(root):
            depth = os.path.relpath(dirpath, root).count(os.sep)
            self.assertLessEqual(depth, 0, dirpath)
            for f in filenames:
                self.assertRegex(f, r"^[0-9a-f]{32}$")
        self.assertFalse(os.path.exists(os.path.join(self.gantry.state_dir, "etc")))
        for key in self.HOSTILE:
            self.s3.delete_object(Bucket=bucket, Key=key)
        self.assertNotIn("../../etc/passwd", [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])])

    def test_concurrent_writers_last_wins_and_readers_see_whole_objects(self):
        bucket = self.bucket("race")
        bodies = [bytes([65 + i]) * (256 * 1024 + i) for i in range(6)]
        stop = threading.Event()
        bad = []

        def reader():
            s3 = self.gantry.boto3("s3")
            while not stop.is_set():
                try:
                    body = s3.get_object(Bucket=bucket, Key="shared")["Body"].read()
                except s3.exceptions.NoSuchKey:
                    continue
                if body not in bodies:
                    bad.append(len(body))

        def writer(i):
            s3 = self.gantry.boto3("s3")
            for _ in range(3):
                s3.put_object(Bucket=bucket, Key="shared", Body=bodies[i])

        readers = [threading.Thread(target=reader) for _ in range(2)]
        for t in readers:
            t.start()
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            list(pool.map(writer, range(6)))
        stop.set()
        for t in readers:
            t.join()
        self.assertEqual(bad, [])
        self.assertIn(self.s3.get_object(Bucket=bucket, Key="shared")["Body"].read(), bodies)

    def test_large_streaming_upload_keeps_server_memory_bounded(self):
        bucket = self.bucket("stream")
        size = 300 * MIB
        path = self.path("large.bin")
        with open(path, "wb") as f:
            chunk = random_bytes(MIB, "large")
            for _ in range(size // MIB):
                f.write(chunk)
        url = self.s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "large.bin"})
        out = subprocess.run(["curl", "-sS", "-f", "-T", path, url], capture_output=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "large.bin"})
        out = subprocess.run(["curl", "-sS", "-f", "-o", self.path("large.out"), url], capture_output=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(os.path.getsize(self.path("large.out")), size)
        with open(path, "rb") as a, open(self.path("large.out"), "rb") as b:
            self.assertEqual(hashlib.md5(a.read()).hexdigest(), hashlib.md5(b.read()).hexdigest())
        with open(f"/proc/{self.gantry.proc.pid}/status") as f:
            hwm_kib = int([line for line in f if line.startswith("VmHWM:")][0].split()[1])
        self.assertLess(hwm_kib * 1024, 120 * MIB, "the server held the object in memory")


class DurabilityTest(unittest.TestCase):
    """Objects acknowledged to a client survive SIGTERM restarts and kill -9; a half-sent upload never
    becomes visible."""

    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="gantry-s3-durable-")
        self.gantry = Gantry(state_dir=self.state).start()

    def tearDown(self):
        self.gantry.stop()
        shutil.rmtree(self.state, ignore_errors=True)

    def restart(self, kill=False):
        if kill:
            self.gantry.kill9()
        else:
            self.gantry.stop()
        self.gantry = Gantry(state_dir=self.state).start()
        return self.gantry.boto3("s3")

    def test_restart_and_kill9_persistence(self):
        s3 = self.gantry.boto3("s3")
        s3.create_bucket(Bucket="durable")
        s3.put_bucket_versioning(Bucket="durable", VersioningConfiguration={"Status": "Enabled"})
        v1 = s3.put_object(Bucket="durable", Key="k", Body=b"first", Metadata={"m": "1"})["VersionId"]
        s3.put_object(Bucket="durable", Key="k", Body=b"second")
        upload = s3.create_multipart_upload(Bucket="durable", Key="mpu")["UploadId"]
        etag = s3.upload_part(Bucket="durable", Key="mpu", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
        s3 = self.restart()
        self.assertEqual(s3.get_object(Bucket="durable", Key="k")["Body"].read(), b"second")
        old = s3.get_object(Bucket="durable", Key="k", VersionId=v1)
        self.assertEqual((old["Body"].read(), old["Metadata"]), (b"first", {"m": "1"}))
        self.assertEqual(s3.get_bucket_versioning(Bucket="durable")["Status"], "Enabled")
        s3.complete_multipart_upload(Bucket="durable", Key="mpu", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        s3.put_object(Bucket="durable", Key="acked-before-kill", Body=b"acknowledged")
        s3 = self.restart(kill=True)
        self.assertEqual(s3.get_object(Bucket="durable", Key="acked-before-kill")["Body"].read(), b"acknowledged")
        self.assertEqual(s3.get_object(Bucket="durable", Key="mpu")["Body"].read(), b"part")
        self.assertEqual(len(s3.list_object_versions(Bucket="durable")["Versions"]), 4)

    def test_half_written_upload_is_never_visible(self):
        s3 = self.gantry.boto3("s3")
        s3.create_bucket(Bucket="half")
        s3.put_object(Bucket="half", Key="k", Body=b"complete old version")
        url = s3.generate_presigned_url("put_object", Params={"Bucket": "half", "Key": "k"})
        target = url[len(self.gantry.endpoint):]
        sock = socket.create_connection(("127.0.0.1", self.gantry.port))
        sock.sendall(f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{self.gantry.port}\r\n"
                     f"Content-Length: {64 * MIB}\r\n\r\n".encode())
        sock.sendall(b"x" * (8 * MIB))  # an eighth of the promised body, then the server dies
        time.sleep(0.5)
        s3 = self.restart(kill=True)
        sock.close()
        self.assertEqual(s3.get_object(Bucket="half", Key="k")["Body"].read(), b"complete old version")
        head = s3.head_object(Bucket="half", Key="k")
        self.assertEqual(head["ContentLength"], len(b"complete old version"))
        # Nothing of the torn upload is left among the objects.
        files = [f for _, _, fs in os.walk(os.path.join(self.state, "s3")) for f in fs]
        self.assertEqual(len(files), 1, files)


if __name__ == "__main__":
    unittest.main()
