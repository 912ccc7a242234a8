#include <gtest/gtest.h>

#include "core/aws/model.h"

namespace gantry::aws {
namespace {

TEST(ModelTest, EveryEmbeddedModelParses) {
  auto& registry = ModelRegistry::Instance();
  for (const auto& name : registry.ServiceNames()) {
    const ServiceModel* model = registry.Get(name);
    ASSERT_NE(model, nullptr) << name;
    EXPECT_FALSE(model->operations().empty()) << name;
  }
}

TEST(ModelTest, LookupsByScopeAndTarget) {
  auto& registry = ModelRegistry::Instance();
  EXPECT_EQ(registry.FindBySigningName("monitoring")->service(), "cloudwatch");
  EXPECT_EQ(registry.FindByTargetPrefix("AWSEvents")->service(), "events");
  EXPECT_EQ(registry.FindBySigningName("sts")->protocol(), Protocol::kQuery);
  EXPECT_EQ(registry.Get("nope"), nullptr);
}

TEST(ModelTest, ShapesAndMembers) {
  const ServiceModel* events = ModelRegistry::Instance().Get("events");
  const Operation* put_rule = events->FindOperation("PutRule");
  ASSERT_NE(put_rule, nullptr);
  ASSERT_NE(put_rule->input, nullptr);
  const MemberRef* name = put_rule->input->FindMember("Name");
  ASSERT_NE(name, nullptr);
  EXPECT_TRUE(name->required);
  EXPECT_EQ(name->shape->type, ShapeType::kString);
  EXPECT_EQ(*name->shape->max, 64);
  const MemberRef* state = put_rule->input->FindMember("State");
  EXPECT_FALSE(state->shape->enum_values.empty());
  const Shape* not_found = events->FindErrorByCode("ResourceNotFoundException");
  ASSERT_NE(not_found, nullptr);
  EXPECT_TRUE(not_found->is_error);
}

TEST(ModelTest, QueryErrorCodesAndRestLocations) {
  const ServiceModel* iam = ModelRegistry::Instance().Get("iam");
  const Shape* no_such = iam->FindErrorByCode("NoSuchEntity");
  ASSERT_NE(no_such, nullptr);
  EXPECT_EQ(no_such->error_http_status, 404);
  const ServiceModel* s3 = ModelRegistry::Instance().Get("s3");
  const Operation* get = s3->FindOperation("GetObject");
  EXPECT_EQ(get->http_method, "GET");
  EXPECT_EQ(get->request_uri, "/{Bucket}/{Key+}");
  EXPECT_EQ(get->input->FindMember("Bucket")->location, Location::kUri);
  EXPECT_EQ(get->input->FindMember("Range")->location, Location::kHeader);
}

}  // namespace
}  // namespace gantry::aws
