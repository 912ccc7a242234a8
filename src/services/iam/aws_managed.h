// The AWS managed policies Gantry ships (arn:aws:iam::aws:policy/...): the ones DevOps setups
// attach most, with documents that grant what AWS's grant for the services Gantry serves. Built
// once, immutable; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "core/aws/document.h"

namespace gantry::services::iam {

// Each in the managed-policy record shape (PolicyName, PolicyId, Arn, Path, DefaultVersionId,
// Versions, ...), sorted by name.
const std::vector<aws::Document>& AwsManagedPolicies();
// nullptr when Gantry does not ship a policy of that name.
const aws::Document* FindAwsManagedPolicy(std::string_view name);

}  // namespace gantry::services::iam
