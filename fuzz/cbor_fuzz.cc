// libFuzzer target for the smithy-rpc-v2-cbor codec and gzip request bodies: byte 0 picks a
// CloudWatch operation and whether the rest is sent gzip-compressed (Content-Encoding: gzip,
// inflated with a small cap); the rest is the body. It is decoded generically (core/aws/cbor.h),
// parsed against the operation's input shape and, when it parses, written back as the output
// and re-decoded. Nothing may crash, hang, recurse without bound or leak on any input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/aws/cbor.h"
#include "core/aws/codecs.h"
#include "core/aws/content_encoding.h"

namespace {

using namespace gantry;
using namespace gantry::aws;

constexpr std::string_view kOperations[] = {"PutMetricData",   "GetMetricData", "PutDashboard", "PutMetricAlarm",
                                            "DescribeAlarms",  "ListMetrics",   "GetMetricStatistics",
                                            "PutInsightRule",  "TagResource",   "PutMetricStream"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const ServiceModel* model = ModelRegistry::Instance().Get("cloudwatch");
  if (model == nullptr) return 0;
  const Operation* op = model->FindOperation(kOperations[(data[0] & 0x7f) % std::size(kOperations)]);
  if (op == nullptr) return 0;
  http::Request request;
  request.method = "POST";
  request.path = request.target = "/service/" + model->target_prefix() + "/operation/" + op->name;
  request.headers.Add("smithy-protocol", "rpc-v2-cbor");
  request.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  request.body_size = request.body.size();
  if (data[0] & 0x80) {
    request.headers.Add("Content-Encoding", "gzip");
    if (!DecodeContentEncoding(request, 1 << 20, "SerializationException").ok()) return 0;
  }

  (void)DecodeCbor(request.body);
  const ProtocolCodec& codec = CodecFor(Protocol::kRpcV2Cbor);
  auto resolved = codec.ResolveOperation(*model, request);
  if (!resolved.ok()) return 0;
  auto input = codec.ParseInput(*model, **resolved, request);
  http::Response response;
  if (input.ok()) {
    codec.WriteOutput(*model, **resolved, *input, "fuzz", response);
  } else {
    codec.WriteError(model, ToAwsError(input.status(), model, Protocol::kRpcV2Cbor), "fuzz", response);
  }
  if (!DecodeCbor(response.body).ok()) __builtin_trap();
  return 0;
}
