#include "services/secretsmanager/secretsmanager_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>

#include "core/aws/dispatcher.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/strings.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"
#include "test_support/service_test.h"
#include "services/secretsmanager/random_password.h"

namespace gantry::services::secretsmanager {
namespace {

using namespace std::chrono_literals;

constexpr char kAccount[] = "000000000000";
constexpr char kRegion[] = "us-east-1";

class SecretsManagerTest : public test_support::ServiceTest<SecretsManagerService> {
 protected:
  SecretsManagerTest() : ServiceTest("secretsmanager", kAccount, kRegion) {}

  std::unique_ptr<SecretsManagerService> MakeService() override {
    return std::make_unique<SecretsManagerService>(store_.get(), &clock_, &ids_, dir_.path());
  }
  Status Prepare(SecretsManagerService& service) override { return service.LoadMasterKey(); }

  static std::string Token(char c) { return std::string(36, c); }

  // Every byte of every file under the state directory.
  std::string StateBytes() {
    std::string all;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }

};

TEST_F(SecretsManagerTest, CreateGetAndArnLookups) {
  Document created = Ok("CreateSecret", {{"Name", "app/db"}, {"SecretString", "s3cr3t-one"},
                                         {"ClientRequestToken", Token('a')}, {"Description", "db password"}});
  std::string arn = created["ARN"];
  EXPECT_EQ(arn.rfind("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-", 0), 0u) << arn;
  EXPECT_EQ(arn.size(), std::string("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-").size() + 6);
  EXPECT_EQ(created["VersionId"], Token('a'));

  for (const std::string& id : {std::string("app/db"), arn, arn.substr(0, arn.size() - 7)}) {
    Document got = Ok("GetSecretValue", {{"SecretId", id}});
    EXPECT_EQ(got["SecretString"], "s3cr3t-one") << id;
    EXPECT_EQ(got["VersionStages"], Document::array({"AWSCURRENT"}));
    EXPECT_EQ(got["Name"], "app/db");
  }
  std::string wrong = arn.substr(0, arn.size() - 6) + "ZZZZZZ";
  EXPECT_EQ(Error("GetSecretValue", {{"SecretId", wrong}}),
            std::make_pair(std::string("ResourceNotFoundException"),
                           std::string("Secrets Manager can't find the specified secret.")));
  EXPECT_EQ(Error("CreateSecret", {{"Name", "app/db"}, {"SecretString", "x"}}).first, "ResourceExistsException");
  EXPECT_EQ(Error("CreateSecret", {{"Name", "bad name!"}}).first, "InvalidParameterException");
  EXPECT_EQ(Error("CreateSecret", {{"Name", "both"}, {"SecretString", "x"},
                                   {"SecretBinary", Document::binary({1, 2})}}).first,
            "InvalidParameterException");

  Document described = Ok("DescribeSecret", {{"SecretId", "app/db"}});
  EXPECT_EQ(described["Description"], "db password");
  EXPECT_EQ(described["VersionIdsToStages"], (Document{{Token('a'), {"AWSCURRENT"}}}));
  EXPECT_EQ(described["LastAccessedDate"], 1699920000);  // the day of the access, at midnight UTC
}

TEST_F(SecretsManagerTest, VersionsStagesAndIdempotentTokens) {
  Ok("CreateSecret", {{"Name", "s"}, {"SecretString", "v1"}, {"ClientRequestToken", Token('a')}});
  Document put = Ok("PutSecretValue", {{"SecretId", "s"}, {"SecretString", "v2"}, {"ClientRequestToken", Token('b')}});
  EXPECT_EQ(put["VersionStages"], Document::array({"AWSCURRENT"}));
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "s"}})["SecretString"], "v2");
  Document previous = Ok("GetSecretValue", {{"SecretId", "s"}, {"VersionStage", "AWSPREVIOUS"}});
  EXPECT_EQ(previous["SecretString"], "v1");
  EXPECT_EQ(previous["VersionId"], Token('a'));

  // Same token and value: nothing changes; same token, other value: refused.
  Ok("PutSecretValue", {{"SecretId", "s"}, {"SecretString", "v2"}, {"ClientRequestToken", Token('b')}});
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "s"}, {"VersionStage", "AWSPREVIOUS"}})["VersionId"], Token('a'));
  EXPECT_EQ(Error("PutSecretValue", {{"SecretId", "s"}, {"SecretString", "other"}, {"ClientRequestToken", Token('b')}}),
            std::make_pair(std::string("ResourceExistsException"),
                           std::string("You can't modify an existing version, you can only create a new version.")));

  // A custom stage does not move AWSCURRENT.
  Ok("PutSecretValue", {{"SecretId", "s"}, {"SecretString", "v3"}, {"ClientRequestToken", Token('c')},
                        {"VersionStages", {"AWSPENDING"}}});
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "s"}})["SecretString"], "v2");
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "s"}, {"VersionStage", "AWSPENDING"}})["SecretString"], "v3");
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "s"}, {"VersionId", Token('a')}})["SecretString"], "v1");
  EXPECT_EQ(Error("GetSecretValue", {{"SecretId", "s"}, {"VersionId", Token('a')}, {"VersionStage", "AWSCURRENT"}}).first,
            "InvalidRequestException");
  EXPECT_EQ(Error("GetSecretValue", {{"SecretId", "s"}, {"VersionStage", "NOPE"}}).second,
            "Secrets Manager can't find the specified secret value for staging label: NOPE");

  // Promoting AWSPENDING needs the current holder named; then AWSPREVIOUS follows.
  auto refused = Error("UpdateSecretVersionStage",
                       {{"SecretId", "s"}, {"VersionStage", "AWSCURRENT"}, {"MoveToVersionId", Token('c')}});
  EXPECT_EQ(refused.first, "InvalidParameterException");
  EXPECT_EQ(refused.second, "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently "
                            "attached to version " + Token('b') +
                            ", so you must explicitly reference that version in RemoveFromVersionId.");
  Ok("UpdateSecretVersionStage", {{"SecretId", "s"}, {"VersionStage", "AWSCURRENT"}, {"MoveToVersionId", Token('c')},
                                  {"RemoveFromVersionId", Token('b')}});
  Document stages = Ok("DescribeSecret", {{"SecretId", "s"}})["VersionIdsToStages"];
  EXPECT_EQ(stages, (Document{{Token('b'), {"AWSPREVIOUS"}}, {Token('c'), {"AWSPENDING", "AWSCURRENT"}}}));

  Ok("UpdateSecretVersionStage", {{"SecretId", "s"}, {"VersionStage", "AWSPENDING"}, {"RemoveFromVersionId", Token('c')}});
  Document versions = Ok("ListSecretVersionIds", {{"SecretId", "s"}})["Versions"];
  ASSERT_EQ(versions.size(), 2u);  // Token('a') has no label any more: deprecated
  EXPECT_EQ(versions[0]["VersionId"], Token('c'));
  EXPECT_EQ(Ok("ListSecretVersionIds", {{"SecretId", "s"}, {"IncludeDeprecated", true}})["Versions"].size(), 3u);

  // UpdateSecret with a value makes a new AWSCURRENT version; without one only metadata changes.
  Document updated = Ok("UpdateSecret", {{"SecretId", "s"}, {"SecretString", "v4"}, {"ClientRequestToken", Token('d')}});
  EXPECT_EQ(updated["VersionId"], Token('d'));
  Document meta = Ok("UpdateSecret", {{"SecretId", "s"}, {"Description", "new"}});
  EXPECT_FALSE(meta.contains("VersionId"));
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "s"}, {"VersionStage", "AWSPREVIOUS"}})["SecretString"], "v3");
}

TEST_F(SecretsManagerTest, BinarySecretsAndNoValueSecrets) {
  Ok("CreateSecret", {{"Name", "bin"}, {"SecretBinary", Document::binary({0, 1, 2, 255})}});
  Document got = Ok("GetSecretValue", {{"SecretId", "bin"}});
  ASSERT_TRUE(got["SecretBinary"].is_binary());
  EXPECT_EQ(got["SecretBinary"].get_binary(), (std::vector<uint8_t>{0, 1, 2, 255}));
  EXPECT_FALSE(got.contains("SecretString"));

  Document empty = Ok("CreateSecret", {{"Name", "empty"}});
  EXPECT_FALSE(empty.contains("VersionId"));
  EXPECT_EQ(Error("GetSecretValue", {{"SecretId", "empty"}}).first, "ResourceNotFoundException");
  Ok("PutSecretValue", {{"SecretId", "empty"}, {"SecretString", "first"}, {"VersionStages", {"CUSTOM"}}});
  // The first version always gets AWSCURRENT.
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "empty"}})["SecretString"], "first");
}

TEST_F(SecretsManagerTest, DeletionRecoveryRestoreAndSweep) {
  Ok("CreateSecret", {{"Name", "gone"}, {"SecretString", "v"}});
  EXPECT_EQ(Error("DeleteSecret", {{"SecretId", "gone"}, {"RecoveryWindowInDays", 3}}).second,
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  EXPECT_EQ(Error("DeleteSecret", {{"SecretId", "gone"}, {"RecoveryWindowInDays", 7},
                                   {"ForceDeleteWithoutRecovery", true}}).first,
            "InvalidParameterException");
  Document deleted = Ok("DeleteSecret", {{"SecretId", "gone"}, {"RecoveryWindowInDays", 7}});
  EXPECT_EQ(deleted["DeletionDate"], 1700000000 + 7 * 86400);

  const std::pair<std::string, std::string> marked = {
      "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion."};
  EXPECT_EQ(Error("GetSecretValue", {{"SecretId", "gone"}}), marked);
  EXPECT_EQ(Error("PutSecretValue", {{"SecretId", "gone"}, {"SecretString", "x"}}), marked);
  EXPECT_EQ(Error("DeleteSecret", {{"SecretId", "gone"}}), marked);
  EXPECT_EQ(Ok("DescribeSecret", {{"SecretId", "gone"}})["DeletedDate"], 1700000000);
  EXPECT_TRUE(Ok("ListSecrets", Document::object())["SecretList"].empty());
  EXPECT_EQ(Ok("ListSecrets", {{"IncludePlannedDeletion", true}})["SecretList"].size(), 1u);
  EXPECT_EQ(Error("CreateSecret", {{"Name", "gone"}}).first, "InvalidRequestException");

  Ok("RestoreSecret", {{"SecretId", "gone"}});
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "gone"}})["SecretString"], "v");
  EXPECT_FALSE(Ok("DescribeSecret", {{"SecretId", "gone"}}).contains("DeletedDate"));

  Ok("DeleteSecret", {{"SecretId", "gone"}, {"RecoveryWindowInDays", 7}});
  clock_.Advance(std::chrono::hours(24 * 7) - 1s);
  ASSERT_EQ(*service_->SweepDeleted(clock_.Now()), 0);
  EXPECT_EQ(Error("GetSecretValue", {{"SecretId", "gone"}}), marked);
  clock_.Advance(2s);
  // Past the window the secret is gone even before the sweep runs.
  EXPECT_EQ(Error("DescribeSecret", {{"SecretId", "gone"}}).first, "ResourceNotFoundException");
  ASSERT_EQ(*service_->SweepDeleted(clock_.Now()), 1);
  EXPECT_EQ(*store_->Count(kValueTable, "000000000000/us-east-1"), 0);
  EXPECT_EQ(*store_->Count(kDeletionTable, ""), 0);
  Document again = Ok("CreateSecret", {{"Name", "gone"}, {"SecretString", "new"}});
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "gone"}})["SecretString"], "new");

  Ok("DeleteSecret", {{"SecretId", "gone"}, {"ForceDeleteWithoutRecovery", true}});
  EXPECT_EQ(Error("DescribeSecret", {{"SecretId", "gone"}}).first, "ResourceNotFoundException");
  Document nothing = Ok("DeleteSecret", {{"SecretId", "never-was"}, {"ForceDeleteWithoutRecovery", true}});
  EXPECT_EQ(nothing["Name"], "never-was");
  EXPECT_EQ(Error("DeleteSecret", {{"SecretId", "never-was"}}).first, "ResourceNotFoundException");
}

TEST_F(SecretsManagerTest, ListSecretsFiltersSortingAndPages) {
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1s);
    Ok("CreateSecret", {{"Name", "team/app-" + std::to_string(i)},
                        {"Description", i % 2 ? "Odd One" : "even one"},
                        {"Tags", {{{"Key", "env"}, {"Value", i < 3 ? "prod" : "dev"}}}}});
  }
  Ok("CreateSecret", {{"Name", "other"}});
  auto names = [&](const Document& input) {
    std::vector<std::string> out;
    Document listed = Ok("ListSecrets", input);
    for (const auto& e : listed["SecretList"]) out.push_back(e["Name"]);
    return out;
  };
  EXPECT_EQ(names({{"Filters", {{{"Key", "name"}, {"Values", {"team/"}}}}}}).size(), 5u);
  EXPECT_EQ(names({{"Filters", {{{"Key", "description"}, {"Values", {"odd"}}}}}}),
            (std::vector<std::string>{"team/app-1", "team/app-3"}));
  EXPECT_EQ(names({{"Filters", {{{"Key", "tag-value"}, {"Values", {"dev"}}}}}}),
            (std::vector<std::string>{"team/app-3", "team/app-4"}));
  EXPECT_EQ(names({{"Filters", {{{"Key", "name"}, {"Values", {"team/"}}}, {{"Key", "tag-value"}, {"Values", {"!prod"}}}}}}),
            (std::vector<std::string>{"team/app-3", "team/app-4"}));
  EXPECT_EQ(names({{"SortOrder", "desc"}})[0], "other");
  EXPECT_EQ(names({{"SortBy", "name"}})[0], "other");
  EXPECT_EQ(names({{"SortBy", "name"}, {"SortOrder", "asc"}}).back(), "team/app-4");

  std::vector<std::string> all;
  Document input = {{"MaxResults", 4}};
  for (int page = 0; page < 3; ++page) {
    Document out = Ok("ListSecrets", input);
    for (const auto& e : out["SecretList"]) all.push_back(e["Name"]);
    if (!out.contains("NextToken")) break;
    input["NextToken"] = out["NextToken"];
  }
  EXPECT_EQ(all.size(), 6u);
  EXPECT_EQ(Error("ListSecrets", {{"NextToken", "garbage"}}).first, "InvalidNextTokenException");

  Ok("PutSecretValue", {{"SecretId", "team/app-0"}, {"SecretString", "zero"}});
  Document batch = Ok("BatchGetSecretValue", {{"SecretIdList", {"team/app-0", "team/app-1", "missing"}}});
  ASSERT_EQ(batch["SecretValues"].size(), 1u);
  EXPECT_EQ(batch["SecretValues"][0]["SecretString"], "zero");
  EXPECT_EQ(batch["Errors"].size(), 2u);
}

TEST_F(SecretsManagerTest, RandomPasswordOptions) {
  std::string p = Ok("GetRandomPassword", Document::object())["RandomPassword"];
  EXPECT_EQ(p.size(), 32u);
  Document only_digits = {{"PasswordLength", 64}, {"ExcludeLowercase", true}, {"ExcludeUppercase", true},
                          {"ExcludePunctuation", true}};
  std::string digits = Ok("GetRandomPassword", only_digits)["RandomPassword"];
  EXPECT_EQ(digits.find_first_not_of("0123456789"), std::string::npos) << digits;
  std::string excluded = Ok("GetRandomPassword", {{"PasswordLength", 200}, {"ExcludeCharacters", "abcABC123!\"#"}})
                             ["RandomPassword"];
  EXPECT_EQ(excluded.find_first_of("abcABC123!\"#"), std::string::npos) << excluded;
  RandomIdSource random;
  for (int i = 0; i < 50; ++i) {
    auto each = RandomPassword({{"PasswordLength", 4}}, random);
    ASSERT_TRUE(each.ok());
    EXPECT_NE(each->find_first_of("abcdefghijklmnopqrstuvwxyz"), std::string::npos) << *each;
    EXPECT_NE(each->find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), std::string::npos) << *each;
    EXPECT_NE(each->find_first_of("0123456789"), std::string::npos) << *each;
    EXPECT_NE(each->find_first_of(kPunctuation), std::string::npos) << *each;
  }
  std::string spaced = *RandomPassword({{"PasswordLength", 400}, {"IncludeSpace", true}}, random);
  EXPECT_NE(spaced.find(' '), std::string::npos);
  EXPECT_EQ(Error("GetRandomPassword", {{"PasswordLength", 3}}).first, "InvalidParameterException");
  EXPECT_EQ(Error("GetRandomPassword", {{"ExcludeLowercase", true}, {"ExcludeUppercase", true},
                                        {"ExcludeNumbers", true}, {"ExcludePunctuation", true}}).first,
            "InvalidParameterException");
}

TEST_F(SecretsManagerTest, ResourcePoliciesAndTags) {
  Ok("CreateSecret", {{"Name", "p"}, {"SecretString", "v"}, {"Tags", {{{"Key", "a"}, {"Value", "1"}}}}});
  std::string policy = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/reader"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]})";
  std::string open = R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"secretsmanager:*","Resource":"*"}})";
  EXPECT_FALSE(Ok("GetResourcePolicy", {{"SecretId", "p"}}).contains("ResourcePolicy"));
  Ok("PutResourcePolicy", {{"SecretId", "p"}, {"ResourcePolicy", policy}});
  EXPECT_EQ(Ok("GetResourcePolicy", {{"SecretId", "p"}})["ResourcePolicy"], policy);
  EXPECT_EQ(Error("PutResourcePolicy", {{"SecretId", "p"}, {"ResourcePolicy", "{not json"}}).first,
            "MalformedPolicyDocumentException");
  EXPECT_EQ(Error("PutResourcePolicy", {{"SecretId", "p"}, {"ResourcePolicy", open}, {"BlockPublicPolicy", true}}).first,
            "PublicPolicyException");
  EXPECT_EQ(Ok("ValidateResourcePolicy", {{"ResourcePolicy", policy}})["PolicyValidationPassed"], true);
  EXPECT_EQ(Ok("ValidateResourcePolicy", {{"ResourcePolicy", open}})["PolicyValidationPassed"], false);
  Ok("DeleteResourcePolicy", {{"SecretId", "p"}});
  EXPECT_FALSE(Ok("GetResourcePolicy", {{"SecretId", "p"}}).contains("ResourcePolicy"));

  Ok("TagResource", {{"SecretId", "p"}, {"Tags", {{{"Key", "a"}, {"Value", "2"}}, {{"Key", "b"}, {"Value", "3"}}}}});
  Ok("UntagResource", {{"SecretId", "p"}, {"TagKeys", {"b"}}});
  EXPECT_EQ(Ok("DescribeSecret", {{"SecretId", "p"}})["Tags"], (Document{{{"Key", "a"}, {"Value", "2"}}}));
}

TEST_F(SecretsManagerTest, ValuesAreEncryptedAtRestAndSurviveRestart) {
  const std::string plaintext = "PLAINTEXT-canary-7f3a9c";
  Ok("CreateSecret", {{"Name", "canary"}, {"SecretString", plaintext}});
  Ok("PutSecretValue", {{"SecretId", "canary"}, {"SecretBinary", Document::binary(std::vector<uint8_t>(
                                                                       plaintext.begin(), plaintext.end()))}});
  Close();
  std::string bytes = StateBytes();
  EXPECT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(plaintext), std::string::npos) << "the plaintext is stored in the state directory";
  EXPECT_EQ(bytes.find(Base64Encode(plaintext)), std::string::npos);
  Open();
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "canary"}, {"VersionStage", "AWSPREVIOUS"}})["SecretString"], plaintext);

  // Another master key cannot open the values.
  Close();
  std::filesystem::remove(crypto::MasterKeyPath(dir_.path()));
  Open();
  EXPECT_EQ(Error("GetSecretValue", {{"SecretId", "canary"}}).first, "DecryptionFailure");
}

}  // namespace
}  // namespace gantry::services::secretsmanager
