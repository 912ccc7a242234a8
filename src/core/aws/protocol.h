// Protocol codecs: one per AWS wire protocol (awsJson 1.0/1.1, awsQuery, restJson1, restXml,
// smithy-rpc-v2-cbor), each driven entirely by the service model. A codec finds the operation a
// request names, turns the request into a Document shaped by the operation's input, and writes an
// output Document or an AwsError back in the protocol's exact shape. Codecs are stateless and thread-safe.
#pragma once

#include <memory>

#include "core/aws/document.h"
#include "core/aws/error.h"
#include "core/aws/model.h"
#include "core/common/status.h"
#include "core/http/message.h"

namespace gantry::aws {

class ProtocolCodec {
 public:
  virtual ~ProtocolCodec() = default;

  // The operation the request names (JSON: X-Amz-Target; query: Action; REST: method + URI
  // template). Errors are the protocol's "unknown operation" error.
  virtual StatusOr<const Operation*> ResolveOperation(const ServiceModel& model, const http::Request& request) const = 0;

  // The request as a Document of the operation's input shape. Malformed bodies and values of the
  // wrong type give the protocol's serialization/validation error; required members, enums and
  // ranges are checked afterwards by ValidateInput (validator.h).
  virtual StatusOr<Document> ParseInput(const ServiceModel& model, const Operation& op,
                                        const http::Request& request) const = 0;

  // Writes a successful response: status, headers and body from an output Document.
  virtual void WriteOutput(const ServiceModel& model, const Operation& op, const Document& output,
                           const std::string& request_id, http::Response& response) const = 0;

  // Writes an error response in the protocol's shape.
  virtual void WriteError(const ServiceModel* model, const AwsError& error, const std::string& request_id,
                          http::Response& response) const = 0;
};

// The codec for a protocol; never null.
const ProtocolCodec& CodecFor(Protocol protocol);

}  // namespace gantry::aws
