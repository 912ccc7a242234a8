// Requests as the AWS SDKs send them, for tests that drive the dispatcher over HTTP shapes (sign
// them with aws::SignRequest). Used by tests only.
#pragma once

#include <string>
#include <utility>

#include "core/http/message.h"

namespace gantry::test_support {

// An awsQuery POST (form body, e.g. "Action=GetCallerIdentity&Version=2011-06-15").
inline http::Request QueryRequest(std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/";
  r.headers.Add("Host", "localhost:4566");
  r.headers.Add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  r.body = std::move(body);
  r.body_size = r.body.size();
  return r;
}

// An awsJson 1.1 POST with X-Amz-Target "<prefix>.<Operation>".
inline http::Request JsonRequest(std::string target, std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/";
  r.headers.Add("Host", "localhost:4566");
  r.headers.Add("Content-Type", "application/x-amz-json-1.1");
  r.headers.Add("X-Amz-Target", std::move(target));
  r.body = std::move(body);
  r.body_size = r.body.size();
  return r;
}

// A smithy-rpc-v2-cbor POST to /service/<service>/operation/<operation> with a CBOR body.
inline http::Request CborRequest(std::string service, std::string operation, std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/service/" + service + "/operation/" + operation;
  r.headers.Add("Host", "localhost:4566");
  r.headers.Add("smithy-protocol", "rpc-v2-cbor");
  r.headers.Add("Accept", "application/cbor");
  if (!body.empty()) r.headers.Add("Content-Type", "application/cbor");
  r.body = std::move(body);
  r.body_size = r.body.size();
  return r;
}

}  // namespace gantry::test_support
