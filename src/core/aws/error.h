// AwsError: an error as it goes on the wire (code, message, HTTP status, sender/receiver fault),
// and the one table that maps a portable Status to it for each protocol. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/model.h"
#include "core/common/status.h"

namespace gantry::aws {

struct AwsError {
  std::string code;     // "ValidationException", "SignatureDoesNotMatch", ...
  std::string message;
  int http_status = 400;
  bool sender_fault = true;
  // Extra members some protocols carry (S3: Resource, Key, BucketName; SigV4: CanonicalRequest...).
  std::vector<std::pair<std::string, std::string>> extra;
  // Modeled members of the error shape (model->FindErrorByCode(code)) other than its message, keyed
  // by member name (CloudWatch's dashboardValidationMessages): an object or null. Each codec writes
  // them as it writes that shape; members the shape does not have are not written.
  Document members;
};

// The AWS error for a Status from a handler of `model` (model may be null for unidentified
// requests), in the protocol the request used (default: the model's first protocol).
AwsError ToAwsError(const Status& status, const ServiceModel* model, std::optional<Protocol> protocol = std::nullopt);

}  // namespace gantry::aws
