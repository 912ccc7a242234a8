#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "core/aws/codecs.h"
#include "core/aws/xml.h"

namespace gantry::aws {
namespace {

const ServiceModel& Model(std::string_view service) {
  const ServiceModel* model = ModelRegistry::Instance().Get(service);
  EXPECT_NE(model, nullptr) << service;
  return *model;
}

http::Request FormPost(std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/";
  r.headers.Add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  r.body = std::move(body);
  r.body_size = r.body.size();
  return r;
}

// Resolves and parses; fails the test on error.
Document Parse(const ServiceModel& model, const http::Request& request, std::string_view expected_op) {
  auto op = QueryCodec().ResolveOperation(model, request);
  EXPECT_TRUE(op.ok()) << op.status().ToString();
  if (!op.ok()) return {};
  EXPECT_EQ((*op)->name, expected_op);
  auto doc = QueryCodec().ParseInput(model, **op, request);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : Document();
}

pugi::xml_document ParseXmlText(const std::string& text) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(text.c_str())) << text;
  return doc;
}

TEST(QueryCodecTest, StsAssumeRoleInput) {
  const ServiceModel& sts = Model("sts");
  Document doc = Parse(sts,
                       FormPost("Action=AssumeRole&Version=2011-06-15"
                                "&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fdeployer"
                                "&RoleSessionName=ci+run&DurationSeconds=900"
                                "&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"
                                "&PolicyArns.member.2.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FViewOnly"
                                "&Tags.member.2.Key=team&Tags.member.2.Value=platform"
                                "&Tags.member.1.Key=env&Tags.member.1.Value=dev%20%26%20test"
                                "&TransitiveTagKeys.member.1=env"),
                       "AssumeRole");
  Document expected = {
      {"RoleArn", "arn:aws:iam::000000000000:role/deployer"},
      {"RoleSessionName", "ci run"},
      {"DurationSeconds", 900},
      {"PolicyArns",
       {{{"arn", "arn:aws:iam::aws:policy/ReadOnlyAccess"}}, {{"arn", "arn:aws:iam::aws:policy/ViewOnly"}}}},
      {"Tags", {{{"Key", "env"}, {"Value", "dev & test"}}, {{"Key", "team"}, {"Value", "platform"}}}},
      {"TransitiveTagKeys", {"env"}},
  };
  EXPECT_EQ(doc, expected) << doc.dump(2);
}

TEST(QueryCodecTest, GetQueryStringAndBodyBothCount) {
  const ServiceModel& sts = Model("sts");
  http::Request r;
  r.method = "GET";
  r.target = "/?Action=GetCallerIdentity&Version=2011-06-15";
  http::SplitTarget(r.target, r.path, r.query);
  EXPECT_EQ(Parse(sts, r, "GetCallerIdentity"), Document::object());

  http::Request post = FormPost("RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s");
  post.query = "Action=AssumeRole&Version=2011-06-15";
  Document doc = Parse(sts, post, "AssumeRole");
  EXPECT_EQ(doc["RoleSessionName"], "s");
}

TEST(QueryCodecTest, UnknownAndMissingAction) {
  const ServiceModel& sts = Model("sts");
  auto unknown = QueryCodec().ResolveOperation(sts, FormPost("Action=AssumeRoot2&Version=2011-06-15"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().aws_code(), "InvalidAction");
  EXPECT_EQ(unknown.status().message(), "Could not find operation AssumeRoot2 for version 2011-06-15");
  AwsError error = ToAwsError(unknown.status(), &sts);
  EXPECT_EQ(error.code, "InvalidAction");
  EXPECT_EQ(error.http_status, 400);

  auto missing = QueryCodec().ResolveOperation(sts, FormPost("Version=2011-06-15"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().aws_code(), "MissingAction");
}

TEST(QueryCodecTest, WrongTypeNamesTheParameter) {
  const ServiceModel& sts = Model("sts");
  http::Request r = FormPost("Action=AssumeRole&RoleArn=a&RoleSessionName=s&DurationSeconds=soon");
  const Operation* op = sts.FindOperation("AssumeRole");
  auto doc = QueryCodec().ParseInput(sts, *op, r);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(doc.status().message(),
            "Value 'soon' at 'DurationSeconds' failed to satisfy constraint: Member must be of type integer");

  http::Request nested = FormPost("Action=CreateStack&StackName=s&Parameters.member.1.UsePreviousValue=maybe");
  const ServiceModel& cfn = Model("cloudformation");
  auto bad = QueryCodec().ParseInput(cfn, *cfn.FindOperation("CreateStack"), nested);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'Parameters.member.1.UsePreviousValue'"), std::string::npos)
      << bad.status().message();
}

TEST(QueryCodecTest, EmptyListIsSentAsBareName) {
  const ServiceModel& sts = Model("sts");
  Document doc = Parse(sts, FormPost("Action=AssumeRole&RoleArn=a&RoleSessionName=s&Tags="), "AssumeRole");
  EXPECT_EQ(doc["Tags"], Document::array());
}

TEST(QueryCodecTest, CloudFormationCreateStack) {
  const ServiceModel& cfn = Model("cloudformation");
  Document doc = Parse(cfn,
                       FormPost("Action=CreateStack&Version=2010-05-15&StackName=web"
                                "&TemplateBody=%7B%22Resources%22%3A%7B%7D%7D"
                                "&Parameters.member.1.ParameterKey=Env&Parameters.member.1.ParameterValue=prod"
                                "&Parameters.member.2.ParameterKey=Size&Parameters.member.2.UsePreviousValue=true"
                                "&Parameters.member.10.ParameterKey=Tenth&Parameters.member.10.ParameterValue=10"
                                "&Capabilities.member.1=CAPABILITY_IAM&Capabilities.member.2=CAPABILITY_NAMED_IAM"
                                "&DisableRollback=false&TimeoutInMinutes=30"
                                "&Tags.member.1.Key=owner&Tags.member.1.Value=me"),
                       "CreateStack");
  Document expected = {
      {"StackName", "web"},
      {"TemplateBody", "{\"Resources\":{}}"},
      {"Parameters",
       {{{"ParameterKey", "Env"}, {"ParameterValue", "prod"}},
        {{"ParameterKey", "Size"}, {"UsePreviousValue", true}},
        {{"ParameterKey", "Tenth"}, {"ParameterValue", "10"}}}},
      {"Capabilities", {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}},
      {"DisableRollback", false},
      {"TimeoutInMinutes", 30},
      {"Tags", {{{"Key", "owner"}, {"Value", "me"}}}},
  };
  EXPECT_EQ(doc, expected) << doc.dump(2);
}

TEST(QueryCodecTest, MapsInInputUseEntryKeyValue) {
  const ServiceModel& cfn = Model("cloudformation");
  Document doc = Parse(cfn,
                       FormPost("Action=CreateChangeSet&StackName=s&ChangeSetName=c&ChangeSetType=IMPORT"
                                "&ResourcesToImport.member.1.ResourceType=AWS%3A%3AS3%3A%3ABucket"
                                "&ResourcesToImport.member.1.LogicalResourceId=Bucket"
                                "&ResourcesToImport.member.1.ResourceIdentifier.entry.1.key=BucketName"
                                "&ResourcesToImport.member.1.ResourceIdentifier.entry.1.value=my-bucket"
                                "&ResourcesToImport.member.1.ResourceIdentifier.entry.2.key=Other"
                                "&ResourcesToImport.member.1.ResourceIdentifier.entry.2.value=x"),
                       "CreateChangeSet");
  EXPECT_EQ(doc["ResourcesToImport"][0]["ResourceIdentifier"],
            (Document{{"BucketName", "my-bucket"}, {"Other", "x"}}));
  EXPECT_EQ(doc["ResourcesToImport"][0]["ResourceType"], "AWS::S3::Bucket");
}

TEST(QueryCodecTest, IamCreateRoleOutput) {
  const ServiceModel& iam = Model("iam");
  const Operation* op = iam.FindOperation("CreateRole");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->output_result_wrapper, "CreateRoleResult");
  Document output = {{"Role",
                      {{"Path", "/"},
                       {"RoleName", "deployer"},
                       {"RoleId", "AROAEXAMPLE"},
                       {"Arn", "arn:aws:iam::000000000000:role/deployer"},
                       {"CreateDate", 1700000000.5},
                       {"AssumeRolePolicyDocument", "{\"Statement\":[{\"Effect\":\"Allow\"}]} <&>"},
                       {"MaxSessionDuration", 3600},
                       {"Tags", {{{"Key", "team"}, {"Value", "platform"}}}},
                       {"RoleLastUsed", {{"Region", "us-east-1"}}}}}};
  http::Response response;
  QueryCodec().WriteOutput(iam, *op, output, "req-1", response);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.Get("Content-Type"), "text/xml");
  EXPECT_EQ(response.headers.Get("x-amzn-RequestId"), "req-1");

  pugi::xml_document xml = ParseXmlText(response.body);
  pugi::xml_node root = xml.document_element();
  EXPECT_STREQ(root.name(), "CreateRoleResponse");
  EXPECT_STREQ(root.attribute("xmlns").value(), "https://iam.amazonaws.com/doc/2010-05-08/");
  EXPECT_STREQ(root.child("ResponseMetadata").child("RequestId").text().get(), "req-1");
  pugi::xml_node role = root.child("CreateRoleResult").child("Role");
  EXPECT_STREQ(role.child("CreateDate").text().get(), "2023-11-14T22:13:20.500Z");
  EXPECT_STREQ(role.child("Tags").child("member").child("Key").text().get(), "team");

  auto back = ParseXml(response.body, *op->output, {"CreateRoleResult"});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, output) << back->dump(2);
}

TEST(QueryCodecTest, OutputWithoutShapeStillHasMetadata) {
  const ServiceModel& iam = Model("iam");
  const Operation* op = iam.FindOperation("DeleteRole");
  ASSERT_NE(op, nullptr);
  ASSERT_EQ(op->output, nullptr);
  http::Response response;
  QueryCodec().WriteOutput(iam, *op, Document(), "req-2", response);
  EXPECT_EQ(response.body,
            "<DeleteRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata>"
            "<RequestId>req-2</RequestId></ResponseMetadata></DeleteRoleResponse>");
}

TEST(QueryCodecTest, OutputMapsAndFallbackNamespace) {
  const ServiceModel& iam = Model("iam");
  const Operation* op = iam.FindOperation("GetAccountSummary");
  Document output = {{"SummaryMap", {{"Roles", 3}, {"Users", 0}}}};
  http::Response response;
  QueryCodec().WriteOutput(iam, *op, output, "r", response);
  pugi::xml_document xml = ParseXmlText(response.body);
  pugi::xml_node entry = xml.document_element().child("GetAccountSummaryResult").child("SummaryMap").child("entry");
  EXPECT_STREQ(entry.child("key").text().get(), "Roles");
  EXPECT_STREQ(entry.child("value").text().get(), "3");
  auto back = ParseXml(response.body, *op->output, {"GetAccountSummaryResult"});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, output);
}

TEST(QueryCodecTest, StsOutputTimestampsAndEscaping) {
  const ServiceModel& sts = Model("sts");
  const Operation* op = sts.FindOperation("AssumeRole");
  Document output = {{"Credentials",
                      {{"AccessKeyId", "ASIA123"},
                       {"SecretAccessKey", "s3cr3t/+="},
                       {"SessionToken", "tok\x01<en>&\"'\r\n"},
                       {"Expiration", 1700003600}}},
                     {"AssumedRoleUser", {{"AssumedRoleId", "AROA:s"}, {"Arn", "arn:aws:sts::0:assumed-role/r/s"}}},
                     {"PackedPolicySize", 6}};
  http::Response response;
  QueryCodec().WriteOutput(sts, *op, output, "r", response);
  EXPECT_EQ(response.body.find('\x01'), std::string::npos);
  pugi::xml_document xml = ParseXmlText(response.body);
  pugi::xml_node creds = xml.document_element().child("AssumeRoleResult").child("Credentials");
  EXPECT_STREQ(creds.child("Expiration").text().get(), "2023-11-14T23:13:20Z");
  EXPECT_STREQ(creds.child("SessionToken").text().get(), "tok<en>&\"'\r\n");
}

TEST(QueryCodecTest, ErrorResponse) {
  const ServiceModel& iam = Model("iam");
  AwsError error;
  error.code = "NoSuchEntity";
  error.message = "The role with name x cannot be found.";
  error.http_status = 404;
  http::Response response;
  QueryCodec().WriteError(&iam, error, "req-3", response);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.Get("Content-Type"), "text/xml");
  EXPECT_EQ(response.headers.Get("x-amzn-RequestId"), "req-3");
  pugi::xml_document xml = ParseXmlText(response.body);
  pugi::xml_node root = xml.document_element();
  EXPECT_STREQ(root.name(), "ErrorResponse");
  EXPECT_STREQ(root.attribute("xmlns").value(), "https://iam.amazonaws.com/doc/2010-05-08/");
  EXPECT_STREQ(root.child("Error").child("Type").text().get(), "Sender");
  EXPECT_STREQ(root.child("Error").child("Code").text().get(), "NoSuchEntity");
  EXPECT_STREQ(root.child("Error").child("Message").text().get(), "The role with name x cannot be found.");
  EXPECT_STREQ(root.child("RequestId").text().get(), "req-3");

  AwsError internal;
  internal.code = "InternalFailure";
  internal.http_status = 500;
  internal.sender_fault = false;
  QueryCodec().WriteError(nullptr, internal, "req-4", response);
  pugi::xml_document xml2 = ParseXmlText(response.body);
  EXPECT_STREQ(xml2.document_element().child("Error").child("Type").text().get(), "Receiver");
  EXPECT_EQ(response.status, 500);
}

TEST(QueryCodecTest, ErrorMembersAreNestedInsideError) {
  AwsError error;
  error.code = "InvalidParameterInput";
  error.message = "The dashboard body is invalid";
  error.members = {{"dashboardValidationMessages",
                    {{{"DataPath", "/widgets/0/width"}, {"Message", "Should be <= 24"}},
                     {{"DataPath", "/widgets/0"}, {"Message", "Should have required property 'type'"}}}}};
  http::Response response;
  QueryCodec().WriteError(&Model("cloudwatch"), error, "req-5", response);
  pugi::xml_document xml = ParseXmlText(response.body);
  pugi::xml_node e = xml.document_element().child("Error");
  EXPECT_STREQ(e.child("Code").text().get(), "InvalidParameterInput");
  EXPECT_STREQ(e.child("Message").text().get(), "The dashboard body is invalid");
  pugi::xml_node list = e.child("dashboardValidationMessages");
  ASSERT_TRUE(list);
  pugi::xml_node first = list.child("member");
  EXPECT_STREQ(first.child("DataPath").text().get(), "/widgets/0/width");
  EXPECT_STREQ(first.child("Message").text().get(), "Should be <= 24");
  EXPECT_STREQ(first.next_sibling("member").child("Message").text().get(), "Should have required property 'type'");
  EXPECT_FALSE(first.next_sibling("member").next_sibling("member"));
}

TEST(QueryCodecTest, CloudWatchQueryProtocolDimensions) {
  const ServiceModel& cw = Model("cloudwatch");
  ASSERT_TRUE(cw.SupportsProtocol(Protocol::kQuery));
  Document doc = Parse(cw,
                       FormPost("Action=PutMetricData&Version=2010-08-01&Namespace=App"
                                "&MetricData.member.1.MetricName=Latency&MetricData.member.1.Value=12.5"
                                "&MetricData.member.1.Unit=Milliseconds"
                                "&MetricData.member.1.Timestamp=2024-01-02T03%3A04%3A05.250Z"
                                "&MetricData.member.1.Dimensions.member.1.Name=Service"
                                "&MetricData.member.1.Dimensions.member.1.Value=api"),
                       "PutMetricData");
  const Document& datum = doc["MetricData"][0];
  EXPECT_EQ(datum["Value"], 12.5);
  EXPECT_DOUBLE_EQ(datum["Timestamp"].get<double>(), 1704164645.25);
  EXPECT_EQ(datum["Dimensions"][0]["Name"], "Service");
}

}  // namespace
}  // namespace gantry::aws
