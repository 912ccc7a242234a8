// The IAM operations Gantry serves, one handler per model operation, registered in groups:
// users, groups, access keys and service-specific credentials; roles, instance profiles and
// OpenID Connect providers; managed and inline policies, attachments, permissions boundaries and
// the policy simulator. Handlers validate what the model cannot express, change the store in one
// transaction per request and bump IamDeps::generation after every write. Thread-safe.
#pragma once

#include "core/aws/service.h"
#include "services/iam/records.h"

namespace gantry::services::iam {

using Handler = StatusOr<Document> (*)(const IamDeps&, aws::RequestContext&, const Document&);

// Registers fn for operation; writes (every operation but Get*/List*/Simulate*) bump the
// generation after they succeed.
void AddHandler(aws::HandlerTable& table, const IamDeps& deps, std::string_view operation, Handler fn);

void RegisterUserHandlers(aws::HandlerTable& table, const IamDeps& deps);
void RegisterRoleHandlers(aws::HandlerTable& table, const IamDeps& deps);
void RegisterPolicyHandlers(aws::HandlerTable& table, const IamDeps& deps);

// Output shapes shared by the groups.
Document UserOut(const Document& user, bool full);
Document RoleOut(const Document& role, bool full);
Document GroupOut(const Document& group);
Document InstanceProfileOut(store::RecordOperations& ops, std::string_view account, const Document& profile);

// The user a request names, else the caller itself when the caller is an IAM user ("Must specify
// userName when calling with non-User credentials" otherwise).
StatusOr<std::string> UserNameOrCaller(const aws::RequestContext& ctx, const Document& input);

}  // namespace gantry::services::iam
