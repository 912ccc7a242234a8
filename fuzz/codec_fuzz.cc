// libFuzzer target for the awsJson, awsQuery, restJson1 and restXml codecs: arbitrary bytes become a request
// (method, target, Host, headers, body) to a few real services, which is routed, parsed and, when it
// parses, written back as an output. Nothing may crash, hang or leak on any input.
//
// Input layout: byte 0 picks the service, byte 1 the method; then newline-separated lines: the
// request target, the Host header, "Name: value" headers until an empty line, and the body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/aws/codecs.h"
#include "core/aws/xml.h"

namespace {

using namespace gantry;
using namespace gantry::aws;

constexpr std::string_view kServices[] = {"sts", "iam", "cloudformation", "s3", "xray", "appconfig", "events", "logs"};
constexpr std::string_view kMethods[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};

std::string_view NextLine(std::string_view& rest) {
  size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const ServiceModel* model = ModelRegistry::Instance().Get(kServices[data[0] % std::size(kServices)]);
  if (model == nullptr) return 0;
  const ProtocolCodec& codec = CodecFor(model->protocol());
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  http::Request request;
  request.method = std::string(kMethods[data[1] % std::size(kMethods)]);
  if (model->protocol() == Protocol::kQuery) request.method = data[1] & 1 ? "POST" : "GET";
  if (model->protocol() == Protocol::kJson) request.method = "POST";
  request.target = std::string(NextLine(rest));
  http::SplitTarget(request.target, request.path, request.query);
  request.headers.Add("Host", std::string(NextLine(rest)));
  while (!rest.empty()) {
    std::string_view line = NextLine(rest);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    request.headers.Add(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  request.body = std::string(rest);
  request.body_size = request.body.size();

  auto op = codec.ResolveOperation(*model, request);
  if (!op.ok()) return 0;
  auto input = codec.ParseInput(*model, **op, request);
  http::Response response;
  if (input.ok()) {
    codec.WriteOutput(*model, **op, *input, "fuzz", response);
  } else {
    codec.WriteError(model, ToAwsError(input.status(), model), "fuzz", response);
  }
  if ((*op)->input != nullptr) (void)ParseXml(request.body, *(*op)->input);
  return 0;
}
