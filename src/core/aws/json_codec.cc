// awsJson 1.0 / 1.1: POST /, X-Amz-Target "<targetPrefix>.<Operation>", JSON bodies keyed by member
// name; errors as {"__type": code, "message": ...}. Also the JSON half of restJson1 bodies uses the
// same value conversion (json_values.h).
#include "core/aws/codecs.h"
#include "core/aws/json_values.h"
#include "core/common/strings.h"

namespace gantry::aws {

namespace {

std::string ContentType(const ServiceModel* model) {
  std::string version = model && !model->json_version().empty() ? model->json_version() : "1.1";
  if (model && model->protocol() == Protocol::kRpcV2Cbor) version = "1.0";
  return "application/x-amz-json-" + version;
}

class JsonProtocolCodec final : public ProtocolCodec {
 public:
  StatusOr<const Operation*> ResolveOperation(const ServiceModel& model, const http::Request& request) const override {
    std::string_view target = request.headers.Get("X-Amz-Target");
    size_t dot = target.rfind('.');
    if (target.empty() || dot == std::string_view::npos) {
      return Status::InvalidArgument("Missing required header: X-Amz-Target", "UnknownOperationException");
    }
    std::string_view prefix = target.substr(0, dot);
    std::string_view name = target.substr(dot + 1);
    const Operation* op = prefix == model.target_prefix() ? model.FindOperation(name) : nullptr;
    if (op == nullptr) {
      return Status::InvalidArgument("Operation " + std::string(target) + " is not supported by this service.",
                                     "UnknownOperationException");
    }
    return op;
  }

  StatusOr<Document> ParseInput(const ServiceModel& model, const Operation& op,
                                const http::Request& request) const override {
    Document body = Document::object();
    if (!Trim(request.body).empty()) {
      body = Document::parse(request.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded()) {
        return Status::InvalidArgument("Could not parse the request body as JSON.", "SerializationException");
      }
    }
    if (op.input == nullptr) return Document::object();
    return JsonToDocument(*op.input, body, "", /*wire_names=*/false);
  }

  void WriteOutput(const ServiceModel& model, const Operation& op, const Document& output,
                   const std::string& request_id, http::Response& response) const override {
    response.status = 200;
    response.headers.Set("Content-Type", ContentType(&model));
    response.headers.Set("x-amzn-RequestId", request_id);
    Document body = op.output ? DocumentToJson(*op.output, output, /*wire_names=*/false) : Document::object();
    response.body = body.dump(-1, ' ', false, Document::error_handler_t::replace);
  }

  void WriteError(const ServiceModel* model, const AwsError& error, const std::string& request_id,
                  http::Response& response) const override {
    response.status = error.http_status;
    response.headers.Set("Content-Type", ContentType(model));
    response.headers.Set("x-amzn-RequestId", request_id);
    if (model && model->aws_query_compatible()) {
      response.headers.Set("x-amzn-query-error", error.code + (error.sender_fault ? ";Sender" : ";Receiver"));
    }
    Document body = {{"__type", error.code}, {"message", error.message}};
    for (const auto& [k, v] : error.extra) body[k] = v;
    const Shape* shape = model && error.members.is_object() ? model->FindErrorByCode(error.code) : nullptr;
    if (shape) body.update(DocumentToJson(*shape, error.members, /*wire_names=*/false));
    response.body = body.dump(-1, ' ', false, Document::error_handler_t::replace);
  }
};

}  // namespace

const ProtocolCodec& JsonCodec() {
  static const JsonProtocolCodec codec;
  return codec;
}

}  // namespace gantry::aws
