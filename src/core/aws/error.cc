#include "core/aws/error.h"

namespace gantry::aws {

namespace {

struct Default {
  const char* json_code;   // awsJson / restJson / cbor
  const char* query_code;  // awsQuery
  const char* xml_code;    // restXml (S3)
  int http_status;
};

Default DefaultFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: break;
    case StatusCode::kInvalidArgument: return {"ValidationException", "ValidationError", "InvalidArgument", 400};
    case StatusCode::kNotFound: return {"ResourceNotFoundException", "NoSuchEntity", "NoSuchResource", 404};
    case StatusCode::kAlreadyExists:
      return {"ResourceAlreadyExistsException", "EntityAlreadyExists", "ResourceAlreadyExists", 409};
    case StatusCode::kFailedPrecondition: return {"InvalidStateException", "InvalidState", "InvalidRequest", 400};
    case StatusCode::kPermissionDenied: return {"AccessDeniedException", "AccessDenied", "AccessDenied", 403};
    case StatusCode::kUnauthenticated:
      return {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId", 403};
    case StatusCode::kResourceExhausted: return {"LimitExceededException", "LimitExceeded", "EntityTooLarge", 400};
    case StatusCode::kConflict:
      return {"ConcurrentModificationException", "ConcurrentModification", "OperationAborted", 409};
    case StatusCode::kUnimplemented: return {"NotImplemented", "NotImplemented", "NotImplemented", 501};
    case StatusCode::kUnavailable: return {"ServiceUnavailable", "ServiceUnavailable", "ServiceUnavailable", 503};
    case StatusCode::kInternal: return {"InternalFailure", "InternalFailure", "InternalError", 500};
  }
  return {"InternalFailure", "InternalFailure", "InternalError", 500};
}

// Services whose constraint violations are not ValidationException: CloudWatch Logs answers
// "1 validation error detected: ..." with InvalidParameterException, CodeBuild with
// InvalidInputException.
const char* ValidationCodeOverride(const ServiceModel* model) {
  if (model && model->service() == "logs") return "InvalidParameterException";
  if (model && model->service() == "codebuild") return "InvalidInputException";
  return nullptr;
}

}  // namespace

AwsError ToAwsError(const Status& status, const ServiceModel* model, std::optional<Protocol> request_protocol) {
  AwsError error;
  error.message = status.message();
  Default d = DefaultFor(status.code());
  Protocol protocol = request_protocol ? *request_protocol : model ? model->protocol() : Protocol::kJson;
  if (!status.aws_code().empty()) {
    error.code = status.aws_code();
  } else {
    // An awsQueryCompatible service (CloudWatch) answers with its query codes in every protocol.
    const bool query_codes = protocol == Protocol::kQuery || (model && model->aws_query_compatible());
    error.code = query_codes ? d.query_code : protocol == Protocol::kRestXml ? d.xml_code : d.json_code;
    const char* validation_code = ValidationCodeOverride(model);
    if (status.code() == StatusCode::kInvalidArgument && validation_code) error.code = validation_code;
  }
  error.http_status = d.http_status;
  // JSON and CBOR RPC services answer client errors with 400 unless the model says otherwise (also
  // AccessDeniedException); query services answer AccessDenied with 403.
  if ((protocol == Protocol::kJson || protocol == Protocol::kRpcV2Cbor || protocol == Protocol::kQuery) &&
      d.http_status < 500 &&
      !(status.code() == StatusCode::kPermissionDenied && protocol == Protocol::kQuery) &&
      status.code() != StatusCode::kUnauthenticated) {
    error.http_status = 400;
  }
  if (model) {
    if (const Shape* shape = model->FindErrorByCode(error.code); shape && shape->error_http_status) {
      error.http_status = shape->error_http_status;
    }
  }
  if (status.http_status()) error.http_status = status.http_status();
  error.sender_fault = error.http_status < 500;
  return error;
}

}  // namespace gantry::aws
