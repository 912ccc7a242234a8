// Validation of an input Document against its model shape: required members, enums, lengths,
// ranges and patterns, with the message style AWS services use ("1 validation error detected:
// Value null at 'name' failed to satisfy constraint: Member must not be null"). Thread-safe.
#pragma once

#include "core/aws/document.h"
#include "core/aws/model.h"
#include "core/common/status.h"

namespace gantry::aws {

// OK, or InvalidArgument listing every violation (at most 10, as AWS does).
Status ValidateInput(const Shape& shape, const Document& input);

}  // namespace gantry::aws
