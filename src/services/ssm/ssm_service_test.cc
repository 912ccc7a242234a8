#include "services/ssm/ssm_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "core/aws/dispatcher.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/strings.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"
#include "test_support/service_test.h"

namespace gantry::services::ssm {
namespace {

using namespace std::chrono_literals;

constexpr char kAccount[] = "000000000000";
constexpr char kRegion[] = "us-east-1";

class SsmTest : public test_support::ServiceTest<SsmService> {
 protected:
  SsmTest() : ServiceTest("ssm", kAccount, kRegion) {}

  std::unique_ptr<SsmService> MakeService() override {
    return std::make_unique<SsmService>(store_.get(), &clock_, &ids_, dir_.path());
  }
  Status Prepare(SsmService& service) override { return service.LoadMasterKey(); }

  void Put(const std::string& name, const std::string& value, const std::string& type = "String") {
    Ok("PutParameter", {{"Name", name}, {"Value", value}, {"Type", type}});
  }

  std::vector<std::string> Names(const Document& parameters) {
    std::vector<std::string> out;
    for (const auto& p : parameters) out.push_back(p["Name"]);
    return out;
  }

};

TEST_F(SsmTest, TypesValuesAndSecureStringCiphertext) {
  Document put = Ok("PutParameter", {{"Name", "/app/url"}, {"Value", "https://x"}, {"Type", "String"}});
  EXPECT_EQ(put, (Document{{"Version", 1}, {"Tier", "Standard"}}));
  Put("/app/hosts", "a,b,c", "StringList");
  Put("/app/password", "pa55word!", "SecureString");

  Document url = Ok("GetParameter", {{"Name", "/app/url"}})["Parameter"];
  EXPECT_EQ(url["Value"], "https://x");
  EXPECT_EQ(url["ARN"], "arn:aws:ssm:us-east-1:000000000000:parameter/app/url");
  EXPECT_EQ(url["DataType"], "text");
  EXPECT_EQ(Ok("GetParameter", {{"Name", "/app/hosts"}})["Parameter"]["Value"], "a,b,c");

  Document hidden = Ok("GetParameter", {{"Name", "/app/password"}})["Parameter"];
  std::string ciphertext = hidden["Value"];
  EXPECT_NE(ciphertext, "pa55word!");
  ASSERT_TRUE(Base64Decode(ciphertext).has_value());
  EXPECT_EQ(Base64Decode(ciphertext)->find("pa55word!"), std::string::npos);
  EXPECT_EQ(Ok("GetParameter", {{"Name", "/app/password"}, {"WithDecryption", true}})["Parameter"]["Value"],
            "pa55word!");
  Document meta = Ok("DescribeParameters", {{"ParameterFilters", {{{"Key", "Type"}, {"Values", {"SecureString"}}}}}});
  ASSERT_EQ(meta["Parameters"].size(), 1u);
  EXPECT_EQ(meta["Parameters"][0]["KeyId"], "alias/aws/ssm");
  EXPECT_EQ(meta["Parameters"][0]["LastModifiedUser"], "arn:aws:iam::000000000000:root");

  Put("plain", "no-hierarchy");
  EXPECT_EQ(Ok("GetParameter", {{"Name", "plain"}})["Parameter"]["ARN"],
            "arn:aws:ssm:us-east-1:000000000000:parameter/plain");
  EXPECT_EQ(Ok("GetParameter", {{"Name", "arn:aws:ssm:us-east-1:000000000000:parameter/plain"}})["Parameter"]["Value"],
            "no-hierarchy");
  EXPECT_EQ(Ok("GetParameter", {{"Name", "arn:aws:ssm:us-east-1:000000000000:parameter/app/url"}})["Parameter"]["Value"],
            "https://x");
}

TEST_F(SsmTest, NamesOverwriteAndErrors) {
  EXPECT_EQ(Error("PutParameter", {{"Name", "a/b"}, {"Value", "v"}, {"Type", "String"}}),
            std::make_pair(std::string("ValidationException"), std::string("Parameter name must be a fully qualified name.")));
  EXPECT_EQ(Error("PutParameter", {{"Name", "/awsx/b"}, {"Value", "v"}, {"Type", "String"}}).first, "ValidationException");
  EXPECT_EQ(Error("PutParameter", {{"Name", "SSM-thing"}, {"Value", "v"}, {"Type", "String"}}).first, "ValidationException");
  std::string deep;
  for (int i = 0; i < 16; ++i) deep += "/l" + std::to_string(i);
  EXPECT_EQ(Error("PutParameter", {{"Name", deep}, {"Value", "v"}, {"Type", "String"}}).first,
            "HierarchyLevelLimitExceededException");
  EXPECT_EQ(Error("PutParameter", {{"Name", "/x"}, {"Value", "v"}}).second,
            "A parameter type is required when you create a parameter.");
  EXPECT_EQ(Error("PutParameter", {{"Name", "/x"}, {"Value", "v"}, {"Type", "String"}, {"KeyId", "alias/k"}}).second,
            "KeyId is required for SecureString type parameter only.");

  Put("/x", "one");
  EXPECT_EQ(Error("PutParameter", {{"Name", "/x"}, {"Value", "two"}, {"Type", "String"}}),
            std::make_pair(std::string("ParameterAlreadyExists"),
                           std::string("The parameter already exists. To overwrite this value, set the overwrite "
                                       "option in the request to true.")));
  EXPECT_EQ(Error("PutParameter", {{"Name", "/x"}, {"Value", "two"}, {"Overwrite", true},
                                   {"Tags", {{{"Key", "k"}, {"Value", "v"}}}}}).first,
            "ValidationException");
  EXPECT_EQ(Ok("PutParameter", {{"Name", "/x"}, {"Value", "two"}, {"Overwrite", true}})["Version"], 2);
  EXPECT_EQ(Ok("GetParameter", {{"Name", "/x"}})["Parameter"]["Type"], "String");

  EXPECT_EQ(Error("GetParameter", {{"Name", "/missing"}}), std::make_pair(std::string("ParameterNotFound"), std::string()));
  EXPECT_EQ(Error("DeleteParameter", {{"Name", "/missing"}}).first, "ParameterNotFound");
  EXPECT_EQ(Error("PutParameter", {{"Name", "/p"}, {"Value", "abc"}, {"Type", "String"}, {"AllowedPattern", "^\\d+$"}}),
            std::make_pair(std::string("ParameterPatternMismatchException"),
                           std::string("Parameter value, cannot be validated against allowedPattern: ^\\d+$")));
  Ok("PutParameter", {{"Name", "/p"}, {"Value", "123"}, {"Type", "String"}, {"AllowedPattern", "^\\d+$"}});
  EXPECT_EQ(Error("PutParameter", {{"Name", "/p"}, {"Value", "x"}, {"Overwrite", true}}).first,
            "ParameterPatternMismatchException");
  // A recursive pattern over the largest value does not exhaust the request thread's stack.
  Ok("PutParameter", {{"Name", "/deep"}, {"Value", std::string(8192, 'a')}, {"Type", "String"}, {"Tier", "Advanced"},
                      {"AllowedPattern", "(a|b)*"}});
  EXPECT_EQ(Error("PutParameter", {{"Name", "/bad-pattern"}, {"Value", "v"}, {"Type", "String"},
                                   {"AllowedPattern", "(unclosed"}}).first,
            "InvalidAllowedPatternException");
}

TEST_F(SsmTest, VersionsLabelsSelectorsAndHistory) {
  Put("/db/password", "v1", "SecureString");
  for (int i = 2; i <= 3; ++i) {
    clock_.Advance(1s);
    Ok("PutParameter", {{"Name", "/db/password"}, {"Value", "v" + std::to_string(i)}, {"Overwrite", true}});
  }
  Document labeled = Ok("LabelParameterVersion", {{"Name", "/db/password"}, {"ParameterVersion", 1},
                                                  {"Labels", {"stable", "aws-bad", "9lives", "ok.label-1"}}});
  EXPECT_EQ(labeled["InvalidLabels"], Document::array({"aws-bad", "9lives"}));
  EXPECT_EQ(labeled["ParameterVersion"], 1);

  Document by_label = Ok("GetParameter", {{"Name", "/db/password:stable"}, {"WithDecryption", true}})["Parameter"];
  EXPECT_EQ(by_label["Value"], "v1");
  EXPECT_EQ(by_label["Selector"], ":stable");
  EXPECT_EQ(by_label["Version"], 1);
  Document by_version = Ok("GetParameter", {{"Name", "/db/password:2"}, {"WithDecryption", true}})["Parameter"];
  EXPECT_EQ(by_version["Value"], "v2");
  EXPECT_EQ(by_version["Selector"], ":2");
  EXPECT_EQ(Error("GetParameter", {{"Name", "/db/password:7"}}),
            std::make_pair(std::string("ParameterVersionNotFound"),
                           std::string("Systems Manager could not find version 7 of /db/password. Verify the version "
                                       "and try again.")));
  EXPECT_EQ(Error("GetParameter", {{"Name", "/db/password:nolabel"}}).first, "ParameterNotFound");

  // The label moves to version 3 (LabelParameterVersion without a version labels the latest).
  EXPECT_EQ(Ok("LabelParameterVersion", {{"Name", "/db/password"}, {"Labels", {"stable"}}})["ParameterVersion"], 3);
  EXPECT_EQ(Ok("GetParameter", {{"Name", "/db/password:stable"}})["Parameter"]["Version"], 3);
  Document history = Ok("GetParameterHistory", {{"Name", "/db/password"}, {"WithDecryption", true}})["Parameters"];
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]["Value"], "v1");
  EXPECT_EQ(history[0]["Labels"], Document::array({"ok.label-1"}));
  EXPECT_EQ(history[2]["Labels"], Document::array({"stable"}));
  EXPECT_EQ(history[2]["KeyId"], "alias/aws/ssm");
  Document hidden = Ok("GetParameterHistory", {{"Name", "/db/password"}})["Parameters"];
  EXPECT_NE(hidden[0]["Value"], "v1");

  Document page = Ok("GetParameterHistory", {{"Name", "/db/password"}, {"MaxResults", 2}});
  EXPECT_EQ(page["Parameters"].size(), 2u);
  Document rest = Ok("GetParameterHistory", {{"Name", "/db/password"}, {"MaxResults", 2}, {"NextToken", page["NextToken"]}});
  EXPECT_EQ(rest["Parameters"].size(), 1u);
  EXPECT_FALSE(rest.contains("NextToken"));

  Document unlabeled = Ok("UnlabelParameterVersion", {{"Name", "/db/password"}, {"ParameterVersion", 3},
                                                      {"Labels", {"stable", "ok.label-1"}}});
  EXPECT_EQ(unlabeled["RemovedLabels"], Document::array({"stable"}));
  EXPECT_EQ(unlabeled["InvalidLabels"], Document::array({"ok.label-1"}));
  EXPECT_EQ(Error("LabelParameterVersion", {{"Name", "/db/password"}, {"ParameterVersion", 9}, {"Labels", {"x"}}}).first,
            "ParameterVersionNotFound");
  Document six = {"l0", "l1", "l2", "l3", "l4", "l5"};
  Ok("LabelParameterVersion", {{"Name", "/db/password"}, {"Labels", six}});
  Document five = {"l6", "l7", "l8", "l9", "l10"};
  EXPECT_EQ(Error("LabelParameterVersion", {{"Name", "/db/password"}, {"Labels", five}}).first,
            "ParameterVersionLabelLimitExceeded");

  Document got = Ok("GetParameters", {{"Names", {"/db/password", "/db/password:1", "/nope", "/db/password:8"}}});
  EXPECT_EQ(got["Parameters"].size(), 2u);
  EXPECT_EQ(got["InvalidParameters"], Document::array({"/nope", "/db/password:8"}));
}

TEST_F(SsmTest, OldestVersionGoesBeyondAHundredUnlessLabeled) {
  Put("/v", "0");
  Ok("LabelParameterVersion", {{"Name", "/v"}, {"Labels", {"first"}}});
  for (int i = 2; i <= 100; ++i) Ok("PutParameter", {{"Name", "/v"}, {"Value", std::to_string(i)}, {"Overwrite", true}});
  EXPECT_EQ(Error("PutParameter", {{"Name", "/v"}, {"Value", "x"}, {"Overwrite", true}}).first,
            "ParameterMaxVersionLimitExceeded");
  Ok("UnlabelParameterVersion", {{"Name", "/v"}, {"ParameterVersion", 1}, {"Labels", {"first"}}});
  EXPECT_EQ(Ok("PutParameter", {{"Name", "/v"}, {"Value", "x"}, {"Overwrite", true}})["Version"], 101);
  EXPECT_EQ(Error("GetParameter", {{"Name", "/v:1"}}).first, "ParameterVersionNotFound");
  EXPECT_EQ(*store_->Count(kVersionTable, "000000000000/us-east-1", "/v:"), 100);
}

TEST_F(SsmTest, ByPathRecursionFiltersAndPages) {
  for (int i = 0; i < 12; ++i) Put("/svc/cfg/p" + (i < 10 ? "0" + std::to_string(i) : std::to_string(i)), "v");
  Put("/svc/cfg/deep/one", "x", "SecureString");
  Put("/svc/other", "y");
  Put("/svcx/not-under", "z");

  Document first = Ok("GetParametersByPath", {{"Path", "/svc/cfg"}});
  EXPECT_EQ(first["Parameters"].size(), 10u);
  ASSERT_TRUE(first.contains("NextToken"));
  Document second = Ok("GetParametersByPath", {{"Path", "/svc/cfg"}, {"NextToken", first["NextToken"]}});
  EXPECT_EQ(Names(second["Parameters"]), (std::vector<std::string>{"/svc/cfg/p10", "/svc/cfg/p11"}));
  EXPECT_FALSE(second.contains("NextToken"));

  std::vector<std::string> all;
  Document input = {{"Path", "/svc"}, {"Recursive", true}, {"MaxResults", 4}};
  while (true) {
    Document out = Ok("GetParametersByPath", input);
    for (const auto& n : Names(out["Parameters"])) all.push_back(n);
    if (!out.contains("NextToken")) break;
    input["NextToken"] = out["NextToken"];
  }
  EXPECT_EQ(all.size(), 14u);
  EXPECT_EQ(Names(Ok("GetParametersByPath", {{"Path", "/svc/"}})["Parameters"]), (std::vector<std::string>{"/svc/other"}));

  Document secure = Ok("GetParametersByPath", {{"Path", "/svc"}, {"Recursive", true}, {"WithDecryption", true},
                                               {"ParameterFilters", {{{"Key", "Type"}, {"Values", {"SecureString"}}}}}});
  ASSERT_EQ(secure["Parameters"].size(), 1u);
  EXPECT_EQ(secure["Parameters"][0]["Value"], "x");
  EXPECT_EQ(Error("GetParametersByPath", {{"Path", "/svc"}, {"ParameterFilters", {{{"Key", "Name"}, {"Values", {"x"}}}}}}).first,
            "InvalidFilterKey");
  EXPECT_EQ(Error("GetParametersByPath", {{"Path", "svc"}}).first, "ValidationException");

  Ok("PutParameter", {{"Name", "/svc/other"}, {"Value", "y2"}, {"Overwrite", true}});
  Ok("LabelParameterVersion", {{"Name", "/svc/other"}, {"ParameterVersion", 1}, {"Labels", {"golden"}}});
  Document labeled = Ok("GetParametersByPath", {{"Path", "/svc"}, {"ParameterFilters", {{{"Key", "Label"}, {"Values", {"golden"}}}}}});
  ASSERT_EQ(labeled["Parameters"].size(), 1u);
  EXPECT_EQ(labeled["Parameters"][0]["Value"], "y");
}

TEST_F(SsmTest, DescribeParametersFilters) {
  Put("/a/one", "1");
  Put("/a/b/two", "2", "StringList");
  Put("/a/b/c/three", "3", "SecureString");
  Put("top", "4");
  Ok("AddTagsToResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/a/one"}, {"Tags", {{{"Key", "team"}, {"Value", "red"}}}}});
  auto describe = [&](const Document& filters) {
    return Names(Ok("DescribeParameters", {{"ParameterFilters", filters}})["Parameters"]);
  };
  EXPECT_EQ(describe({{{"Key", "Path"}, {"Values", {"/a"}}}}), (std::vector<std::string>{"/a/one"}));
  EXPECT_EQ(describe({{{"Key", "Path"}, {"Option", "Recursive"}, {"Values", {"/a/b"}}}}),
            (std::vector<std::string>{"/a/b/c/three", "/a/b/two"}));
  EXPECT_EQ(describe({{{"Key", "Name"}, {"Option", "BeginsWith"}, {"Values", {"/a/b"}}}}),
            (std::vector<std::string>{"/a/b/c/three", "/a/b/two"}));
  EXPECT_EQ(describe({{{"Key", "Name"}, {"Values", {"top"}}}}), (std::vector<std::string>{"top"}));
  EXPECT_EQ(describe({{{"Key", "Name"}, {"Option", "Contains"}, {"Values", {"thr"}}}}),
            (std::vector<std::string>{"/a/b/c/three"}));
  EXPECT_EQ(describe({{{"Key", "tag:team"}, {"Values", {"red"}}}}), (std::vector<std::string>{"/a/one"}));
  EXPECT_EQ(describe({{{"Key", "tag:team"}}}), (std::vector<std::string>{"/a/one"}));
  EXPECT_EQ(Names(Ok("DescribeParameters", {{"Filters", {{{"Key", "Type"}, {"Values", {"StringList"}}}}}})["Parameters"]),
            (std::vector<std::string>{"/a/b/two"}));
  EXPECT_EQ(Error("DescribeParameters", {{"Filters", {{{"Key", "Type"}, {"Values", {"String"}}}}},
                                         {"ParameterFilters", {{{"Key", "Type"}, {"Values", {"String"}}}}}}).second,
            "You can use either Filters or ParameterFilters in a single request.");
  EXPECT_EQ(Error("DescribeParameters", {{"ParameterFilters", {{{"Key", "Path"}, {"Option", "Equals"}, {"Values", {"/a"}}}}}}).first,
            "InvalidFilterOption");
  EXPECT_EQ(Error("DescribeParameters", {{"ParameterFilters", {{{"Key", "Type"}, {"Values", {"Nope"}}}}}}).first,
            "InvalidFilterValue");
  EXPECT_EQ(Error("DescribeParameters", {{"ParameterFilters", {{{"Key", "Label"}, {"Values", {"x"}}}}}}).first,
            "InvalidFilterKey");
  Document page = Ok("DescribeParameters", {{"MaxResults", 3}});
  EXPECT_EQ(page["Parameters"].size(), 3u);
  EXPECT_EQ(Ok("DescribeParameters", {{"MaxResults", 3}, {"NextToken", page["NextToken"]}})["Parameters"].size(), 1u);

  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/a/one"}})["TagList"],
            (Document{{{"Key", "team"}, {"Value", "red"}}}));
  Ok("RemoveTagsFromResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/a/one"}, {"TagKeys", {"team"}}});
  EXPECT_TRUE(Ok("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/a/one"}})["TagList"].empty());
  EXPECT_EQ(Error("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/nope"}}).first, "InvalidResourceId");

  Document deleted = Ok("DeleteParameters", {{"Names", {"/a/one", "/nope"}}});
  EXPECT_EQ(deleted["DeletedParameters"], Document::array({"/a/one"}));
  EXPECT_EQ(deleted["InvalidParameters"], Document::array({"/nope"}));
  Ok("DeleteParameter", {{"Name", "top"}});
  EXPECT_EQ(*store_->Count(kVersionTable, "000000000000/us-east-1", "top:"), 0);
}

TEST_F(SsmTest, TiersPoliciesAndExpiration) {
  std::string big(5000, 'x');
  EXPECT_EQ(Error("PutParameter", {{"Name", "/big"}, {"Value", big}, {"Type", "String"}}).first, "ValidationException");
  EXPECT_EQ(Ok("PutParameter", {{"Name", "/big"}, {"Value", big}, {"Type", "String"}, {"Tier", "Intelligent-Tiering"}})["Tier"],
            "Advanced");
  EXPECT_EQ(Error("PutParameter", {{"Name", "/big"}, {"Value", "small"}, {"Overwrite", true}, {"Tier", "Standard"}}).first,
            "ValidationException");

  std::string policies = R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2023-11-15T00:00:00.000Z"}},)"
                         R"({"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"20","Unit":"Days"}}])";
  EXPECT_EQ(Error("PutParameter", {{"Name", "/exp"}, {"Value", "v"}, {"Type", "String"}, {"Policies", policies}}).first,
            "ValidationException");
  EXPECT_EQ(Error("PutParameter", {{"Name", "/exp"}, {"Value", "v"}, {"Type", "String"}, {"Tier", "Advanced"},
                                   {"Policies", R"([{"Type":"Bogus"}])"}}).first,
            "InvalidPolicyTypeException");
  Ok("PutParameter", {{"Name", "/exp"}, {"Value", "v"}, {"Type", "String"}, {"Tier", "Advanced"}, {"Policies", policies}});
  Document meta = Ok("DescribeParameters", {{"ParameterFilters", {{{"Key", "Name"}, {"Values", {"/exp"}}}}}})["Parameters"][0];
  ASSERT_EQ(meta["Policies"].size(), 2u);
  EXPECT_EQ(meta["Policies"][0]["PolicyType"], "Expiration");
  EXPECT_EQ(meta["Policies"][0]["PolicyStatus"], "Pending");
  EXPECT_EQ(meta["Tier"], "Advanced");

  // The fake clock starts at 2023-11-14T22:13:20Z; the policy fires at midnight.
  EXPECT_EQ(*service_->SweepExpired(clock_.Now()), 0);
  clock_.Advance(2h);
  EXPECT_EQ(*service_->SweepExpired(clock_.Now()), 1);
  EXPECT_EQ(Error("GetParameter", {{"Name", "/exp"}}).first, "ParameterNotFound");
}

TEST_F(SsmTest, SecureStringsAreEncryptedAtRestAndSurviveRestart) {
  const std::string plaintext = "PLAINTEXT-ssm-canary-41d2";
  Put("/secure/canary", plaintext, "SecureString");
  Ok("PutParameter", {{"Name", "/secure/canary"}, {"Value", plaintext + "-2"}, {"Overwrite", true}});
  Close();
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EXPECT_EQ(all.find(plaintext), std::string::npos) << "a SecureString is stored in the clear";
  Open();
  EXPECT_EQ(Ok("GetParameter", {{"Name", "/secure/canary:1"}, {"WithDecryption", true}})["Parameter"]["Value"], plaintext);
  EXPECT_EQ(Ok("GetParameter", {{"Name", "/secure/canary"}, {"WithDecryption", true}})["Parameter"]["Value"],
            plaintext + "-2");
}

}  // namespace
}  // namespace gantry::services::ssm
