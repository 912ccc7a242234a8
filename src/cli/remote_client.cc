#include "cli/remote_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/common/clock.h"
#include "core/http/message.h"

namespace gantry::cli {

namespace {

// "http://host:port/..." → "host:port" (what the Host header carries).
std::string HostOf(std::string_view url) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t end = url.find('/', start);
  return std::string(url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
}

}  // namespace

RemoteClient::RemoteClient(std::string endpoint, aws::Credential credential, std::string region)
    : endpoint_(std::move(endpoint)), credential_(std::move(credential)), region_(std::move(region)) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

StatusOr<aws::Document> RemoteClient::CallJson(std::string_view signing_name, std::string_view target_prefix,
                                               std::string_view json_version, std::string_view operation,
                                               const aws::Document& input) const {
  namespace beast = boost::beast;
  using tcp = boost::asio::ip::tcp;
  if (endpoint_.rfind("http://", 0) != 0) {
    return Status::InvalidArgument("endpoint " + endpoint_ + " is not an http:// URL");
  }
  std::string host_port = HostOf(endpoint_);
  size_t colon = host_port.rfind(':');
  bool has_port = colon != std::string::npos && host_port.find(']', colon) == std::string::npos;
  std::string host = has_port ? host_port.substr(0, colon) : host_port;
  std::string port = has_port ? host_port.substr(colon + 1) : "80";
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);

  http::Request request;
  request.method = "POST";
  request.target = request.path = "/";
  request.body = input.dump();
  request.body_size = request.body.size();
  request.headers.Add("Host", host_port);
  request.headers.Add("Content-Type", "application/x-amz-json-" + std::string(json_version));
  request.headers.Add("X-Amz-Target", std::string(target_prefix) + "." + std::string(operation));
  aws::SignRequest(request, credential_, region_, signing_name, SystemClock::Instance()->Now());

  beast::http::request<beast::http::string_body> wire{beast::http::verb::post, "/", 11};
  for (const auto& [name, value] : request.headers.fields()) wire.set(name, value);
  wire.body() = request.body;
  wire.prepare_payload();
  beast::http::response<beast::http::string_body> answer;
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(tcp::resolver(io).resolve(host, port));
    beast::http::write(stream, wire);
    beast::flat_buffer buffer;
    beast::http::read(stream, buffer, answer);
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot reach " + endpoint_ + ": " + e.what());
  }
  aws::Document body = aws::Document::parse(answer.body(), nullptr, false);
  if (answer.result_int() / 100 == 2) {
    if (body.is_discarded()) return Status::Internal("unreadable answer from " + endpoint_ + ": " + answer.body());
    return body;
  }
  std::string code;
  std::string message = answer.body();
  if (body.is_object()) {
    code = body.value("__type", "");
    if (size_t hash = code.rfind('#'); hash != std::string::npos) code = code.substr(hash + 1);
    message = body.value("message", body.value("Message", message));
  }
  return Status(answer.result_int() == 404 || code.find("NotFound") != std::string::npos ? StatusCode::kNotFound
                                                                                        : StatusCode::kInvalidArgument,
                message, code);
}

}  // namespace gantry::cli
