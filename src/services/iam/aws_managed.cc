#include "services/iam/aws_managed.h"

#include <algorithm>
#include <cctype>

#include "core/common/crypto.h"
#include "core/common/strings.h"

namespace gantry::services::iam {

namespace {

struct Builtin {
  const char* name;
  const char* path;
  const char* description;
  const char* document;
};

// Documents follow AWS's; the broad read-only ones are condensed to the verb prefixes they allow.
constexpr Builtin kBuiltins[] = {
    {"AdministratorAccess", "/", "Provides full access to AWS services and resources.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"},
    {"PowerUserAccess", "/",
     "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions","account:GetAccountInformation"],"Resource":"*"}]})"},
    {"ReadOnlyAccess", "/", "Provides read-only access to AWS services and resources.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*:BatchGet*","*:Describe*","*:Get*","*:List*","*:Lookup*","logs:FilterLogEvents","logs:StartQuery","logs:StopQuery","logs:TestMetricFilter","events:TestEventPattern","s3:Head*"],"Resource":"*"}]})"},
    {"IAMFullAccess", "/", "Provides full access to IAM via the AWS Management Console.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]})"},
    {"IAMReadOnlyAccess", "/", "Provides read only access to IAM via the AWS Management Console.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]})"},
    {"AmazonS3FullAccess", "/", "Provides full access to all buckets via the AWS Management Console.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]})"},
    {"AmazonS3ReadOnlyAccess", "/", "Provides read only access to all buckets via the AWS Management Console.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]})"},
    {"CloudWatchLogsFullAccess", "/", "Provides full access to CloudWatch Logs",
     R"({"Version":"2012-10-17","Statement":[{"Sid":"CloudWatchLogsFullAccess","Effect":"Allow","Action":["logs:*","cloudwatch:GenerateQuery"],"Resource":"*"}]})"},
    {"CloudWatchLogsReadOnlyAccess", "/", "Provides read only access to CloudWatch Logs",
     R"({"Version":"2012-10-17","Statement":[{"Sid":"CloudWatchLogsReadOnlyAccess","Effect":"Allow","Action":["logs:Describe*","logs:Get*","logs:List*","logs:StartQuery","logs:StopQuery","logs:TestMetricFilter","logs:FilterLogEvents","logs:StartLiveTail","logs:StopLiveTail","cloudwatch:GenerateQuery"],"Resource":"*"}]})"},
    {"AmazonEventBridgeFullAccess", "/", "Provides full access to Amazon EventBridge.",
     R"({"Version":"2012-10-17","Statement":[{"Sid":"EventBridgeActions","Effect":"Allow","Action":["events:*","schemas:*","scheduler:*","pipes:*"],"Resource":"*"},{"Sid":"IAMPassRoleAccessForEventBridge","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::*:role/*","Condition":{"StringLike":{"iam:PassedToService":"events.amazonaws.com"}}}]})"},
    {"AmazonEventBridgeReadOnlyAccess", "/", "Provides read only access to Amazon EventBridge.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["events:DescribeRule","events:DescribeEventBus","events:DescribeEventSource","events:ListEventBuses","events:ListEventSources","events:ListRuleNamesByTarget","events:ListRules","events:ListTargetsByRule","events:TestEventPattern","events:DescribeArchive","events:ListArchives","events:DescribeReplay","events:ListReplays","events:DescribeConnection","events:ListConnections","events:DescribeApiDestination","events:ListApiDestinations"],"Resource":"*"}]})"},
    {"AWSCodeBuildAdminAccess", "/", "Provides full access to AWS CodeBuild via the AWS Management Console.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codebuild:*","codecommit:GetBranch","codecommit:GetCommit","codecommit:GetRepository","codecommit:ListBranches","codecommit:ListRepositories","ecr:DescribeRepositories","ecr:ListImages","events:DeleteRule","events:DescribeRule","events:DisableRule","events:EnableRule","events:ListTargetsByRule","events:ListRuleNamesByTarget","events:PutRule","events:PutTargets","events:RemoveTargets","logs:GetLogEvents","s3:GetBucketLocation","s3:ListAllMyBuckets"],"Resource":"*"},{"Effect":"Allow","Action":["logs:DeleteLogGroup"],"Resource":"arn:aws:logs:*:*:log-group:/aws/codebuild/*:log-stream:*"}]})"},
    {"AWSCodeBuildReadOnlyAccess", "/", "Provides read only access to AWS CodeBuild via the AWS Management Console.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codebuild:BatchGet*","codebuild:GetResourcePolicy","codebuild:List*","codebuild:DescribeTestCases","codebuild:DescribeCodeCoverages","codecommit:GetBranch","codecommit:GetCommit","codecommit:GetRepository","logs:GetLogEvents"],"Resource":"*"}]})"},
    {"AWSCodeCommitPowerUser", "/", "Provides full access to AWS CodeCommit repositories, but does not allow repository deletion.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codecommit:AssociateApprovalRuleTemplateWithRepository","codecommit:BatchAssociateApprovalRuleTemplateWithRepositories","codecommit:BatchDisassociateApprovalRuleTemplateFromRepositories","codecommit:BatchGet*","codecommit:BatchDescribe*","codecommit:Create*","codecommit:DeleteBranch","codecommit:DeleteFile","codecommit:Describe*","codecommit:DisassociateApprovalRuleTemplateFromRepository","codecommit:EvaluatePullRequestApprovalRules","codecommit:Get*","codecommit:List*","codecommit:Merge*","codecommit:OverridePullRequestApprovalRules","codecommit:Put*","codecommit:Post*","codecommit:TagResource","codecommit:Test*","codecommit:UntagResource","codecommit:Update*","codecommit:GitPull","codecommit:GitPush"],"Resource":"*"},{"Effect":"Allow","Action":["iam:ListServiceSpecificCredentials","iam:CreateServiceSpecificCredential","iam:UpdateServiceSpecificCredential","iam:DeleteServiceSpecificCredential","iam:ResetServiceSpecificCredential"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]})"},
    {"AWSCodePipeline_FullAccess", "/", "Provides full access to AWS CodePipeline via the AWS Management Console.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codepipeline:*","cloudformation:DescribeStacks","cloudformation:ListStacks","cloudformation:ListChangeSets","codebuild:BatchGetProjects","codebuild:CreateProject","codebuild:ListCuratedEnvironmentImages","codebuild:ListProjects","codecommit:ListBranches","codecommit:GetReferences","codecommit:ListRepositories","codedeploy:BatchGetDeploymentGroups","codedeploy:ListApplications","codedeploy:ListDeploymentGroups","ecr:DescribeRepositories","ecr:ListImages","ecs:ListClusters","ecs:ListServices","iam:ListRoles","iam:GetRole","s3:ListAllMyBuckets","s3:ListBucket","s3:GetBucketPolicy","s3:GetBucketVersioning","s3:GetObjectVersion","s3:CreateBucket","s3:PutBucketPolicy"],"Resource":"*"},{"Effect":"Allow","Action":"iam:PassRole","Resource":["arn:aws:iam::*:role/service-role/cwe-role-*"],"Condition":{"StringEquals":{"iam:PassedToService":["events.amazonaws.com"]}}},{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":["codepipeline.amazonaws.com"]}}}]})"},
    {"SecretsManagerReadWrite", "/", "Provides read/write access to AWS Secrets Manager via the AWS Management Console.",
     R"({"Version":"2012-10-17","Statement":[{"Sid":"BasePermissions","Effect":"Allow","Action":["secretsmanager:*","cloudformation:CreateChangeSet","cloudformation:DescribeChangeSet","cloudformation:DescribeStackResource","cloudformation:DescribeStacks","cloudformation:ExecuteChangeSet","kms:DescribeKey","kms:ListAliases","kms:ListKeys","tag:GetResources"],"Resource":"*"}]})"},
    {"AmazonSSMReadOnlyAccess", "/", "Provides read only access to Amazon SSM.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:Describe*","ssm:Get*","ssm:List*"],"Resource":"*"}]})"},
    {"AWSCloudTrail_ReadOnlyAccess", "/", "Provides read only access to AWS CloudTrail.",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:Get*","cloudtrail:Describe*","cloudtrail:List*","cloudtrail:LookupEvents"],"Resource":"*"}]})"},
};

// A stable policy id: "ANPA" and 17 characters derived from the name.
std::string StableId(std::string_view name) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string digest = Sha256(name);
  std::string id = "ANPA";
  for (size_t i = 0; i < 17; ++i) id.push_back(kAlphabet[static_cast<unsigned char>(digest[i]) % 32]);
  return id;
}

std::vector<aws::Document> Build() {
  constexpr double kCreated = 1423602200;  // 2015-02-06T18:39:46Z and thereabouts, as AWS shows
  std::vector<aws::Document> out;
  for (const Builtin& b : kBuiltins) {
    aws::Document p = {
        {"PolicyName", b.name},
        {"PolicyId", StableId(b.name)},
        {"Arn", std::string("arn:aws:iam::aws:policy") + b.path + b.name},
        {"Path", b.path},
        {"DefaultVersionId", "v1"},
        {"IsAttachable", true},
        {"Description", b.description},
        {"CreateDate", kCreated},
        {"UpdateDate", kCreated},
        {"Versions", aws::Document::array({{{"VersionId", "v1"}, {"Document", b.document}, {"CreateDate", kCreated}}})},
    };
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(), [](const aws::Document& a, const aws::Document& b) {
    return a["PolicyName"].get<std::string>() < b["PolicyName"].get<std::string>();
  });
  return out;
}

}  // namespace

const std::vector<aws::Document>& AwsManagedPolicies() {
  static const std::vector<aws::Document> policies = Build();
  return policies;
}

const aws::Document* FindAwsManagedPolicy(std::string_view name) {
  for (const aws::Document& p : AwsManagedPolicies()) {
    if (p["PolicyName"] == name) return &p;
  }
  return nullptr;
}

}  // namespace gantry::services::iam
