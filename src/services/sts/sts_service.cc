#include "services/sts/sts_service.h"

namespace gantry::services {

namespace {

StatusOr<aws::Document> GetCallerIdentity(aws::RequestContext& ctx, const aws::Document&) {
  return aws::Document{
      {"UserId", ctx.principal.user_id},
      {"Account", ctx.principal.account_id},
      {"Arn", ctx.principal.arn},
  };
}

}  // namespace

void StsService::RegisterHandlers(aws::HandlerTable& table) {
  table.Add("sts", "GetCallerIdentity", GetCallerIdentity);
}

}  // namespace gantry::services
