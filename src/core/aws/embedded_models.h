// The botocore service models compiled into the binary by tools/gen_models.py (compact JSON, one
// string per service, documentation stripped). Read-only data; thread-safe.
#pragma once

#include <cstddef>

namespace gantry::aws {

struct EmbeddedModel {
  const char* service;          // botocore's directory name: "sts", "events", "cloudwatch", ...
  const char* signing_name;     // SigV4 service name in credential scopes ("monitoring")
  const char* endpoint_prefix;  // host prefix ("monitoring", "api.ecr")
  const char* target_prefix;    // X-Amz-Target prefix of JSON protocols, or ""
  const char* json;
};

extern const EmbeddedModel kEmbeddedModels[];
extern const size_t kEmbeddedModelCount;

}  // namespace gantry::aws
