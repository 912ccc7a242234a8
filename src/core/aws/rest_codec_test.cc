#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "core/aws/codecs.h"
#include "core/aws/xml.h"
#include "core/common/strings.h"

namespace gantry::aws {

// Defined in rest_codec.cc (the S3 handler and the dispatcher will want it from a header too).

namespace {

const ServiceModel& Model(std::string_view service) {
  const ServiceModel* model = ModelRegistry::Instance().Get(service);
  EXPECT_NE(model, nullptr) << service;
  return *model;
}

http::Request Req(std::string method, std::string target,
                  std::vector<std::pair<std::string, std::string>> headers = {}, std::string body = {}) {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  http::SplitTarget(r.target, r.path, r.query);
  for (auto& [k, v] : headers) r.headers.Add(k, v);
  r.body = std::move(body);
  r.body_size = r.body.size();
  return r;
}

std::string Resolve(const ProtocolCodec& codec, const ServiceModel& model, const http::Request& request) {
  auto op = codec.ResolveOperation(model, request);
  return op.ok() ? (*op)->name : "error: " + op.status().aws_code() + " " + op.status().message();
}

Document Parse(const ProtocolCodec& codec, const ServiceModel& model, const http::Request& request,
               std::string_view expected_op) {
  auto op = codec.ResolveOperation(model, request);
  EXPECT_TRUE(op.ok()) << op.status().ToString();
  if (!op.ok()) return {};
  EXPECT_EQ((*op)->name, expected_op);
  auto doc = codec.ParseInput(model, **op, request);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : Document();
}

pugi::xml_document ParseXmlText(const std::string& text) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(text.c_str())) << text;
  return doc;
}

TEST(RestCodecTest, VirtualHostBucket) {
  EXPECT_EQ(ExtractVirtualHostBucket("my-bucket.s3.localhost.localstack.cloud:4566"), "my-bucket");
  EXPECT_EQ(ExtractVirtualHostBucket("my-bucket.s3.localhost.localstack.cloud"), "my-bucket");
  EXPECT_EQ(ExtractVirtualHostBucket("my.dotted.bucket.localhost:4566"), "my.dotted.bucket");
  EXPECT_EQ(ExtractVirtualHostBucket("Logs.LOCALHOST"), "logs");
  EXPECT_EQ(ExtractVirtualHostBucket("artifacts.s3.eu-west-1.amazonaws.com"), "artifacts");
  EXPECT_EQ(ExtractVirtualHostBucket("artifacts.s3.amazonaws.com"), "artifacts");
  EXPECT_EQ(ExtractVirtualHostBucket("artifacts.s3-us-west-2.amazonaws.com"), "artifacts");
  EXPECT_EQ(ExtractVirtualHostBucket("a.s3.dualstack.us-east-1.amazonaws.com"), "a");
  EXPECT_EQ(ExtractVirtualHostBucket("localhost:4566"), std::nullopt);
  EXPECT_EQ(ExtractVirtualHostBucket("127.0.0.1:4566"), std::nullopt);
  EXPECT_EQ(ExtractVirtualHostBucket("[::1]:4566"), std::nullopt);
  EXPECT_EQ(ExtractVirtualHostBucket("s3.localhost.localstack.cloud:4566"), std::nullopt);
  EXPECT_EQ(ExtractVirtualHostBucket("s3.us-east-1.amazonaws.com"), std::nullopt);
  EXPECT_EQ(ExtractVirtualHostBucket("sts.us-east-1.amazonaws.com"), std::nullopt);
  EXPECT_EQ(ExtractVirtualHostBucket("bad_host!.localhost"), std::nullopt);
  EXPECT_EQ(ExtractVirtualHostBucket(""), std::nullopt);
}

TEST(RestCodecTest, S3Routing) {
  const ServiceModel& s3 = Model("s3");
  const ProtocolCodec& c = RestXmlCodec();
  EXPECT_EQ(Resolve(c, s3, Req("GET", "/")), "ListBuckets");
  EXPECT_EQ(Resolve(c, s3, Req("PUT", "/bucket")), "CreateBucket");
  EXPECT_EQ(Resolve(c, s3, Req("PUT", "/bucket/")), "CreateBucket");
  EXPECT_EQ(Resolve(c, s3, Req("GET", "/bucket")), "ListObjects");
  EXPECT_EQ(Resolve(c, s3, Req("GET", "/bucket?list-type=2&prefix=a")), "ListObjectsV2");
  EXPECT_EQ(Resolve(c, s3, Req("GET", "/bucket?location")), "GetBucketLocation");
  EXPECT_EQ(Resolve(c, s3, Req("PUT", "/bucket?tagging")), "PutBucketTagging");
  EXPECT_EQ(Resolve(c, s3, Req("POST", "/bucket?delete")), "DeleteObjects");
  EXPECT_EQ(Resolve(c, s3, Req("PUT", "/bucket/a/b.txt")), "PutObject");
  EXPECT_EQ(Resolve(c, s3, Req("GET", "/bucket/a/b.txt")), "GetObject");
  EXPECT_EQ(Resolve(c, s3, Req("HEAD", "/bucket/a/b.txt")), "HeadObject");
  EXPECT_EQ(Resolve(c, s3, Req("HEAD", "/bucket")), "HeadBucket");
  EXPECT_EQ(Resolve(c, s3, Req("GET", "/bucket/a?tagging")), "GetObjectTagging");
  EXPECT_EQ(Resolve(c, s3, Req("POST", "/bucket/a?uploads")), "CreateMultipartUpload");
  EXPECT_EQ(Resolve(c, s3, Req("PUT", "/bucket/a?partNumber=1&uploadId=u")), "UploadPart");
  EXPECT_EQ(Resolve(c, s3, Req("PUT", "/bucket/a?partNumber=1&uploadId=u", {{"x-amz-copy-source", "b/k"}})),
            "UploadPartCopy");
  EXPECT_EQ(Resolve(c, s3, Req("PUT", "/bucket/a", {{"x-amz-copy-source", "b/k"}})), "CopyObject");
  EXPECT_EQ(Resolve(c, s3, Req("POST", "/bucket/a?uploadId=u")), "CompleteMultipartUpload");
  EXPECT_EQ(Resolve(c, s3, Req("DELETE", "/bucket/a?uploadId=u")), "AbortMultipartUpload");
  EXPECT_EQ(Resolve(c, s3, Req("DELETE", "/bucket/a")), "DeleteObject");
  EXPECT_EQ(Resolve(c, s3, Req("GET", "/bucket/a?uploadId=u")), "ListParts");
  // Virtual-hosted style: the path is the key.
  EXPECT_EQ(Resolve(c, s3, Req("GET", "/", {{"Host", "bucket.s3.localhost.localstack.cloud:4566"}})), "ListObjects");
  EXPECT_EQ(Resolve(c, s3, Req("GET", "/?list-type=2", {{"Host", "bucket.localhost:4566"}})), "ListObjectsV2");
  EXPECT_EQ(Resolve(c, s3, Req("PUT", "/k", {{"Host", "bucket.localhost:4566"}})), "PutObject");
  EXPECT_EQ(Resolve(c, s3, Req("PUT", "/", {{"Host", "localhost:4566"}})), "error: MethodNotAllowed "
                                                                           "The specified method is not allowed "
                                                                           "against this resource.");
}

// Every REST operation of the embedded models is reachable: a request built from its own template,
// literal query parts and required located members resolves back to it.
TEST(RestCodecTest, EveryOperationRoutesToItself) {
  for (std::string_view service : {"s3", "xray", "appconfig"}) {
    const ServiceModel& model = Model(service);
    const ProtocolCodec& codec = model.protocol() == Protocol::kRestXml ? RestXmlCodec() : RestJsonCodec();
    for (const auto& [name, op] : model.operations()) {
      // Deprecated twins and the S3 Express control-plane listing share their successors' routes.
      if (name == "GetBucketLifecycle" || name == "PutBucketLifecycle" || name == "GetBucketNotification" ||
          name == "PutBucketNotification" || name == "ListDirectoryBuckets") {
        continue;
      }
      std::string target;
      const std::string& uri = op.request_uri;
      for (size_t i = 0; i < uri.size(); ++i) {
        if (uri[i] != '{') {
          target += uri[i];
          continue;
        }
        size_t close = uri.find('}', i);
        target += uri[close - 1] == '+' ? "dir/sub%20dir/key" : "1";
        i = close;
      }
      std::vector<std::pair<std::string, std::string>> headers;
      if (op.input) {
        for (const MemberRef& m : op.input->members) {
          if (!m.required) continue;
          std::string value = m.shape->type == ShapeType::kBoolean ? "true" : "1";
          if (m.location == Location::kQueryString && m.shape->type != ShapeType::kMap) {
            target += (target.find('?') == std::string::npos ? "?" : "&") + m.WireName() + "=" + value;
          } else if (m.location == Location::kHeader) {
            headers.emplace_back(m.WireName(), value);
          }
        }
      }
      EXPECT_EQ(Resolve(codec, model, Req(op.http_method, target, headers)), name) << service << " " << target;
    }
  }
}

TEST(RestCodecTest, S3PutObjectHeadersAndGreedyKey) {
  const ServiceModel& s3 = Model("s3");
  http::Request r = Req("PUT", "/artifacts/builds/2024%2001/out%2Bput%3F.tar.gz",
                        {{"Content-Type", "application/gzip"},
                         {"Content-Length", "11"},
                         {"X-Amz-Meta-Build-Id", "42"},
                         {"x-amz-meta-commit", "abc123"},
                         {"x-amz-tagging", "team=platform&env=dev"},
                         {"x-amz-server-side-encryption-bucket-key-enabled", "true"},
                         {"Expires", "Tue, 02 Jan 2024 03:04:05 GMT"},
                         {"x-amz-object-lock-retain-until-date", "2024-01-02T03:04:05Z"}},
                        "hello world");
  Document doc = Parse(RestXmlCodec(), s3, r, "PutObject");
  Document expected = {
      {"Bucket", "artifacts"},
      {"Key", "builds/2024 01/out+put?.tar.gz"},
      {"ContentType", "application/gzip"},
      {"ContentLength", 11},
      {"Metadata", {{"build-id", "42"}, {"commit", "abc123"}}},
      {"Tagging", "team=platform&env=dev"},
      {"BucketKeyEnabled", true},
      {"Expires", "Tue, 02 Jan 2024 03:04:05 GMT"},
      {"ObjectLockRetainUntilDate", 1704164645},
  };
  // The streaming Body stays out of the Document: the handler reads the request body itself.
  EXPECT_EQ(doc, expected) << doc.dump(2);

  Document vhost = Parse(RestXmlCodec(), s3,
                         Req("PUT", "/deep//slashes/%E2%9C%93", {{"Host", "artifacts.s3.localhost.localstack.cloud"}}),
                         "PutObject");
  EXPECT_EQ(vhost["Bucket"], "artifacts");
  EXPECT_EQ(vhost["Key"], "deep//slashes/\xE2\x9C\x93");
}

TEST(RestCodecTest, S3HeadObjectOutputHeaders) {
  const ServiceModel& s3 = Model("s3");
  Document output = {{"ContentLength", 11},
                     {"ContentType", "text/plain"},
                     {"LastModified", 1704164645},
                     {"ETag", "\"abc\""},
                     {"Metadata", {{"build-id", "42"}, {"bad name", "dropped"}}},
                     {"ObjectLockRetainUntilDate", 1704164645},
                     {"DeleteMarker", false},
                     {"WebsiteRedirectLocation", "/x\r\nSet-Cookie: y"}};
  http::Response response;
  RestXmlCodec().WriteOutput(s3, *s3.FindOperation("HeadObject"), output, "r", response);
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(response.headers.Get("Content-Length"), "11");
  EXPECT_EQ(response.headers.Get("Content-Type"), "text/plain");
  EXPECT_EQ(response.headers.Get("Last-Modified"), "Tue, 02 Jan 2024 03:04:05 GMT");
  EXPECT_EQ(response.headers.Get("ETag"), "\"abc\"");
  EXPECT_EQ(response.headers.Get("x-amz-meta-build-id"), "42");
  EXPECT_FALSE(response.headers.Has("x-amz-meta-bad name"));
  EXPECT_EQ(response.headers.Get("x-amz-object-lock-retain-until-date"), "2024-01-02T03:04:05Z");
  EXPECT_EQ(response.headers.Get("x-amz-delete-marker"), "false");
  EXPECT_EQ(response.headers.Get("x-amz-website-redirect-location"), "/x  Set-Cookie: y");
}

TEST(RestCodecTest, S3HeaderOfWrongTypeNamesTheMember) {
  const ServiceModel& s3 = Model("s3");
  http::Request r = Req("PUT", "/b/k", {{"Content-Length", "eleven"}});
  auto doc = RestXmlCodec().ParseInput(s3, *s3.FindOperation("PutObject"), r);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("ContentLength"), std::string::npos) << doc.status().message();
}

TEST(RestCodecTest, S3ListObjectsV2QueryParameters) {
  const ServiceModel& s3 = Model("s3");
  Document doc = Parse(RestXmlCodec(), s3,
                       Req("GET", "/site?list-type=2&prefix=docs%2F&delimiter=%2F&max-keys=50&fetch-owner=true"
                                  "&continuation-token=abc%3D%3D&encoding-type=url"),
                       "ListObjectsV2");
  Document expected = {{"Bucket", "site"},       {"Prefix", "docs/"},       {"Delimiter", "/"},
                       {"MaxKeys", 50},          {"FetchOwner", true},      {"ContinuationToken", "abc=="},
                       {"EncodingType", "url"}};
  EXPECT_EQ(doc, expected) << doc.dump(2);

  auto bad = RestXmlCodec().ParseInput(s3, *s3.FindOperation("ListObjectsV2"), Req("GET", "/site?list-type=2&max-keys=x"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("MaxKeys"), std::string::npos);
}

TEST(RestCodecTest, S3ListObjectsV2Output) {
  const ServiceModel& s3 = Model("s3");
  const Operation& op = *s3.FindOperation("ListObjectsV2");
  Document output = {
      {"IsTruncated", false},
      {"Name", "site"},
      {"Prefix", "docs/"},
      {"Delimiter", "/"},
      {"MaxKeys", 1000},
      {"KeyCount", 3},
      {"Contents",
       {{{"Key", "docs/a.txt"},
         {"LastModified", 1704164645.5},
         {"ETag", "\"d41d8cd98f00b204e9800998ecf8427e\""},
         {"Size", 0},
         {"StorageClass", "STANDARD"},
         {"Owner", {{"ID", "abc"}, {"DisplayName", "me"}}}},
        {{"Key", "docs/b & c.txt"}, {"LastModified", 1704164645}, {"Size", 12}, {"StorageClass", "STANDARD"}}}},
      {"CommonPrefixes", {{{"Prefix", "docs/img/"}}}},
      {"RequestCharged", "requester"},
  };
  http::Response response;
  RestXmlCodec().WriteOutput(s3, op, output, "REQ9", response);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/xml");
  EXPECT_EQ(response.headers.Get("x-amz-request-id"), "REQ9");
  EXPECT_FALSE(response.headers.Get("x-amz-id-2").empty());
  EXPECT_FALSE(response.headers.Has("x-amzn-RequestId"));
  EXPECT_EQ(response.headers.Get("x-amz-request-charged"), "requester");
  EXPECT_EQ(response.body.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0), 0u);

  pugi::xml_document xml = ParseXmlText(response.body);
  pugi::xml_node root = xml.document_element();
  EXPECT_STREQ(root.name(), "ListBucketResult");
  EXPECT_STREQ(root.attribute("xmlns").value(), "http://s3.amazonaws.com/doc/2006-03-01/");
  // Flattened: one <Contents> per object, no wrapper; CommonPrefixes likewise.
  int contents = 0;
  for (pugi::xml_node n : root.children("Contents")) {
    ++contents;
    EXPECT_FALSE(n.child("member"));
  }
  EXPECT_EQ(contents, 2);
  EXPECT_STREQ(root.child("Contents").child("LastModified").text().get(), "2024-01-02T03:04:05.500Z");
  EXPECT_STREQ(root.child("CommonPrefixes").child("Prefix").text().get(), "docs/img/");
  EXPECT_STREQ(root.child("IsTruncated").text().get(), "false");
  EXPECT_FALSE(root.child("RequestCharged"));

  auto back = ParseXml(response.body, *op.output, {}, /*body_only=*/true);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  Document body = output;
  body.erase("RequestCharged");
  EXPECT_EQ(*back, body) << back->dump(2);
}

TEST(RestCodecTest, S3ListBucketsAndAclOutput) {
  const ServiceModel& s3 = Model("s3");
  Document buckets = {{"Buckets", {{{"Name", "a"}, {"CreationDate", 1704164645}}}}, {"Owner", {{"ID", "o"}}}};
  http::Response response;
  RestXmlCodec().WriteOutput(s3, *s3.FindOperation("ListBuckets"), buckets, "r", response);
  pugi::xml_document xml = ParseXmlText(response.body);
  EXPECT_STREQ(xml.document_element().name(), "ListAllMyBucketsResult");
  EXPECT_STREQ(xml.document_element().child("Buckets").child("Bucket").child("Name").text().get(), "a");

  Document acl = {{"Owner", {{"ID", "o"}}},
                  {"Grants", {{{"Grantee", {{"ID", "o"}, {"Type", "CanonicalUser"}}}, {"Permission", "FULL_CONTROL"}}}}};
  RestXmlCodec().WriteOutput(s3, *s3.FindOperation("GetBucketAcl"), acl, "r", response);
  // xsi:type needs its prefix declared, or every XML parser rejects the document.
  pugi::xml_document acl_xml = ParseXmlText(response.body);
  pugi::xml_node grantee = acl_xml.document_element().child("AccessControlList").child("Grant").child("Grantee");
  EXPECT_STREQ(grantee.attribute("xmlns:xsi").value(), "http://www.w3.org/2001/XMLSchema-instance");
  EXPECT_STREQ(grantee.attribute("xsi:type").value(), "CanonicalUser");
  auto back = ParseXml(response.body, *s3.FindOperation("GetBucketAcl")->output, {}, true);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, acl) << back->dump();
}

TEST(RestCodecTest, S3GetBucketLocationRootIsTheValue) {
  const ServiceModel& s3 = Model("s3");
  http::Response response;
  RestXmlCodec().WriteOutput(s3, *s3.FindOperation("GetBucketLocation"), {{"LocationConstraint", "eu-west-1"}}, "r",
                             response);
  EXPECT_EQ(response.body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>");
}

TEST(RestCodecTest, S3PutBucketTaggingBody) {
  const ServiceModel& s3 = Model("s3");
  std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>"
      "<Tag><Key>team</Key><Value>platform &amp; infra</Value></Tag>"
      "<Tag><Key>empty</Key><Value></Value></Tag>"
      "<Tag><Key>space</Key><Value>  </Value></Tag>"
      "</TagSet></Tagging>";
  Document doc = Parse(RestXmlCodec(), s3,
                       Req("PUT", "/b?tagging", {{"Content-MD5", "abc=="}, {"Content-Type", "application/xml"}}, body),
                       "PutBucketTagging");
  Document expected = {{"Bucket", "b"},
                       {"ContentMD5", "abc=="},
                       {"Tagging",
                        {{"TagSet",
                          {{{"Key", "team"}, {"Value", "platform & infra"}},
                           {{"Key", "empty"}, {"Value", ""}},
                           {{"Key", "space"}, {"Value", "  "}}}}}}};
  EXPECT_EQ(doc, expected) << doc.dump(2);
}

TEST(RestCodecTest, S3DeleteObjectsFlattenedInput) {
  const ServiceModel& s3 = Model("s3");
  std::string body =
      "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>a</Key></Object>"
      "<Object><Key>b/c</Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>";
  Document doc = Parse(RestXmlCodec(), s3, Req("POST", "/b?delete", {}, body), "DeleteObjects");
  EXPECT_EQ(doc["Delete"], (Document{{"Objects", {{{"Key", "a"}}, {{"Key", "b/c"}, {"VersionId", "v1"}}}},
                                     {"Quiet", true}}))
      << doc.dump(2);
}

TEST(RestCodecTest, S3MalformedXml) {
  const ServiceModel& s3 = Model("s3");
  for (std::string body : {"<Tagging><TagSet></Tagging>", "not xml", "<Tagging>"}) {
    auto doc = RestXmlCodec().ParseInput(s3, *s3.FindOperation("PutBucketTagging"), Req("PUT", "/b?tagging", {}, body));
    ASSERT_FALSE(doc.ok()) << body;
    EXPECT_EQ(doc.status().aws_code(), "MalformedXML");
    EXPECT_EQ(doc.status().message(), kMalformedXmlMessage);
  }
}

TEST(RestCodecTest, S3ErrorShape) {
  const ServiceModel& s3 = Model("s3");
  AwsError error;
  error.code = "NoSuchKey";
  error.message = "The specified key does not exist.";
  error.http_status = 404;
  error.extra = {{"Key", "a/b<c>"}};
  http::Response response;
  RestXmlCodec().WriteError(&s3, error, "REQ1", response);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/xml");
  EXPECT_EQ(response.headers.Get("x-amz-request-id"), "REQ1");
  EXPECT_FALSE(response.headers.Get("x-amz-id-2").empty());
  EXPECT_EQ(response.body.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>", 0), 0u)
      << response.body;
  pugi::xml_document xml = ParseXmlText(response.body);
  pugi::xml_node root = xml.document_element();
  EXPECT_STREQ(root.name(), "Error");
  EXPECT_STREQ(root.child("Message").text().get(), "The specified key does not exist.");
  EXPECT_STREQ(root.child("Key").text().get(), "a/b<c>");
  EXPECT_STREQ(root.child("RequestId").text().get(), "REQ1");
}

TEST(RestCodecTest, XRayPutTraceSegments) {
  const ServiceModel& xray = Model("xray");
  std::string segment = R"({"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"defdfd9912dc5a56","name":"api"})";
  Document body = {{"TraceSegmentDocuments", {segment}}};
  Document doc = Parse(RestJsonCodec(), xray,
                       Req("POST", "/TraceSegments", {{"Content-Type", "application/json"}}, body.dump()),
                       "PutTraceSegments");
  EXPECT_EQ(doc, body);

  http::Response response;
  Document output = {{"UnprocessedTraceSegments", {{{"Id", "defdfd9912dc5a56"}, {"ErrorCode", "InvalidTraceId"}}}}};
  RestJsonCodec().WriteOutput(xray, *xray.FindOperation("PutTraceSegments"), output, "rid", response);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/json");
  EXPECT_EQ(response.headers.Get("x-amzn-RequestId"), "rid");
  EXPECT_EQ(Document::parse(response.body), output);

  auto bad = RestJsonCodec().ParseInput(xray, *xray.FindOperation("PutTraceSegments"),
                                        Req("POST", "/TraceSegments", {}, "{\"TraceSegmentDocuments\": "));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().aws_code(), "SerializationException");
  auto wrong = RestJsonCodec().ParseInput(xray, *xray.FindOperation("PutTraceSegments"),
                                          Req("POST", "/TraceSegments", {}, R"({"TraceSegmentDocuments": "x"})"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("TraceSegmentDocuments"), std::string::npos);
}

TEST(RestCodecTest, XRayTimestampsAreEpochSeconds) {
  const ServiceModel& xray = Model("xray");
  Document doc = Parse(RestJsonCodec(), xray,
                       Req("POST", "/TraceSummaries", {}, R"({"StartTime": 1704164645.5, "EndTime": "2024-01-02T04:00:00Z"})"),
                       "GetTraceSummaries");
  EXPECT_EQ(doc["StartTime"], 1704164645.5);
  EXPECT_EQ(doc["EndTime"], 1704168000);
  http::Response response;
  RestJsonCodec().WriteOutput(xray, *xray.FindOperation("GetTraceSummaries"),
                              {{"ApproximateTime", 1704164645}, {"TracesProcessedCount", 2}}, "r", response);
  EXPECT_EQ(Document::parse(response.body), (Document{{"ApproximateTime", 1704164645}, {"TracesProcessedCount", 2}}));
}

TEST(RestCodecTest, AppConfigGetWithLabelsAndQuery) {
  const ServiceModel& appconfig = Model("appconfig");
  Document doc = Parse(RestJsonCodec(), appconfig, Req("GET", "/applications/abc123/configurationprofiles/prof9"),
                       "GetConfigurationProfile");
  EXPECT_EQ(doc, (Document{{"ApplicationId", "abc123"}, {"ConfigurationProfileId", "prof9"}}));

  Document list = Parse(RestJsonCodec(), appconfig, Req("GET", "/applications?max_results=5&next_token=t%2B1"),
                        "ListApplications");
  EXPECT_EQ(list, (Document{{"MaxResults", 5}, {"NextToken", "t+1"}}));

  Document version = Parse(RestJsonCodec(), appconfig,
                           Req("GET", "/applications/a/configurationprofiles/p/hostedconfigurationversions/7"),
                           "GetHostedConfigurationVersion");
  EXPECT_EQ(version["VersionNumber"], 7);

  auto bad = RestJsonCodec().ParseInput(
      appconfig, *appconfig.FindOperation("GetHostedConfigurationVersion"),
      Req("GET", "/applications/a/configurationprofiles/p/hostedconfigurationversions/seven"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("VersionNumber"), std::string::npos);
}

TEST(RestCodecTest, AppConfigTagsWithArnLabelAndRepeatedQueryKeys) {
  const ServiceModel& appconfig = Model("appconfig");
  std::string arn = "arn:aws:appconfig:us-east-1:000000000000:application/abc";
  Document tag = Parse(RestJsonCodec(), appconfig,
                       Req("POST", "/tags/" + UriEncode(arn), {}, R"({"Tags": {"team": "platform"}})"), "TagResource");
  EXPECT_EQ(tag, (Document{{"ResourceArn", arn}, {"Tags", {{"team", "platform"}}}}));
  Document untag = Parse(RestJsonCodec(), appconfig, Req("DELETE", "/tags/" + UriEncode(arn) + "?tagKeys=a&tagKeys=b"),
                         "UntagResource");
  EXPECT_EQ(untag, (Document{{"ResourceArn", arn}, {"TagKeys", {"a", "b"}}}));

  http::Response response;
  RestJsonCodec().WriteOutput(appconfig, *appconfig.FindOperation("TagResource"), Document::object(), "r", response);
  EXPECT_EQ(response.status, 204);
  EXPECT_TRUE(response.body.empty());
}

TEST(RestCodecTest, AppConfigBlobPayloadAndHeaders) {
  const ServiceModel& appconfig = Model("appconfig");
  std::string content = R"({"flags":{"beta":{"name":"beta"}}})";
  Document doc = Parse(RestJsonCodec(), appconfig,
                       Req("POST", "/applications/a/configurationprofiles/p/hostedconfigurationversions",
                           {{"Content-Type", "application/json"}, {"Latest-Version-Number", "3"}, {"Description", "d"}},
                           content),
                       "CreateHostedConfigurationVersion");
  EXPECT_EQ(doc["ContentType"], "application/json");
  EXPECT_EQ(doc["LatestVersionNumber"], 3);
  ASSERT_TRUE(doc["Content"].is_binary());
  EXPECT_EQ(std::string(doc["Content"].get_binary().begin(), doc["Content"].get_binary().end()), content);

  Document output = {{"ApplicationId", "a"},
                     {"ConfigurationProfileId", "p"},
                     {"VersionNumber", 4},
                     {"ContentType", "application/json"},
                     {"Content", Document::binary(std::vector<uint8_t>(content.begin(), content.end()))}};
  http::Response response;
  RestJsonCodec().WriteOutput(appconfig, *appconfig.FindOperation("CreateHostedConfigurationVersion"), output, "r",
                              response);
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, content);
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/json");
  EXPECT_EQ(response.headers.Get("Application-Id"), "a");
  EXPECT_EQ(response.headers.Get("Version-Number"), "4");
}

TEST(RestCodecTest, AppConfigIso8601TimestampsStayStrings) {
  const ServiceModel& appconfig = Model("appconfig");
  Document output = {{"ApplicationId", "a"},
                     {"DeploymentNumber", 1},
                     {"StartedAt", 1704164645.5},
                     {"EventLog", {{{"EventType", "DEPLOYMENT_STARTED"}, {"OccurredAt", 1704164645}}}}};
  http::Response response;
  RestJsonCodec().WriteOutput(appconfig, *appconfig.FindOperation("GetDeployment"), output, "r", response);
  Document body = Document::parse(response.body);
  EXPECT_EQ(body["StartedAt"], "2024-01-02T03:04:05.500Z");
  EXPECT_EQ(body["EventLog"][0]["OccurredAt"], "2024-01-02T03:04:05Z");
}

TEST(RestCodecTest, RestJsonErrorShape) {
  const ServiceModel& appconfig = Model("appconfig");
  AwsError error;
  error.code = "ResourceNotFoundException";
  error.message = "Application abc not found";
  error.http_status = 404;
  error.extra = {{"ResourceName", "abc"}};
  http::Response response;
  RestJsonCodec().WriteError(&appconfig, error, "rid", response);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.Get("x-amzn-ErrorType"), "ResourceNotFoundException");
  EXPECT_EQ(response.headers.Get("x-amzn-RequestId"), "rid");
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/json");
  // AppConfig's error shapes model "Message": botocore reads either case, the modeled field wants this one.
  EXPECT_EQ(Document::parse(response.body),
            (Document{{"Message", "Application abc not found"}, {"ResourceName", "abc"}}));

  AwsError unmodeled;
  unmodeled.code = "ThrottlingException";
  unmodeled.message = "slow down";
  RestJsonCodec().WriteError(nullptr, unmodeled, "rid", response);
  EXPECT_EQ(Document::parse(response.body), (Document{{"message", "slow down"}}));
}

TEST(RestCodecTest, RestJsonUnknownRoute) {
  const ServiceModel& xray = Model("xray");
  auto op = RestJsonCodec().ResolveOperation(xray, Req("POST", "/NoSuchThing"));
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().aws_code(), "UnknownOperationException");
  EXPECT_EQ(ToAwsError(op.status(), &xray).http_status, 404);
  auto method = RestJsonCodec().ResolveOperation(xray, Req("GET", "/TraceSegments"));
  EXPECT_FALSE(method.ok());
}

TEST(XmlTest, EscapingKeepsDocumentsWellFormed) {
  EXPECT_EQ(XmlEscape("a<b>&\"c\""), "a&lt;b&gt;&amp;\"c\"");
  EXPECT_EQ(XmlEscape("a\"\n\t", /*attribute=*/true), "a&quot;&#10;&#9;");
  EXPECT_EQ(XmlEscape("x\x01\x1fy\rz"), "xy&#13;z");
  EXPECT_EQ(XmlEscape("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80");
  EXPECT_EQ(XmlEscape("bad\xFFutf8\xC3"), "bad\xEF\xBF\xBDutf8\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a UTF-16 surrogate
  EXPECT_EQ(XmlEscape("\xEF\xBF\xBE"), "");                                      // U+FFFE

  XmlWriter w(true);
  w.Start("a");
  w.Attribute("k", "<v>");
  w.Start("b");
  w.End();
  w.Element("c", "1 < 2");
  EXPECT_EQ(w.Finish(), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a k=\"&lt;v&gt;\"><b/><c>1 &lt; 2</c></a>");
}

}  // namespace
}  // namespace gantry::aws
