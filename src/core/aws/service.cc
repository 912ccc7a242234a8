#include "core/aws/service.h"

namespace gantry::aws {

Principal Principal::Root(const std::string& account_id) {
  Principal p;
  p.account_id = account_id;
  p.arn = "arn:aws:iam::" + account_id + ":root";
  p.user_id = account_id;
  p.is_root = true;
  return p;
}

Status RequestContext::Authorize(std::string_view action, std::string_view resource) const {
  return authorizer ? authorizer->AuthorizeAction(*this, action, resource) : Status::Ok();
}

void HandlerTable::Add(std::string_view service, std::string_view operation, HandlerFn fn) {
  handlers_[std::string(service)][std::string(operation)] = std::move(fn);
}

const HandlerFn* HandlerTable::Find(std::string_view service, std::string_view operation) const {
  auto s = handlers_.find(service);
  if (s == handlers_.end()) return nullptr;
  auto o = s->second.find(operation);
  return o == s->second.end() ? nullptr : &o->second;
}

std::string AdminViewScope(const http::Request& request, const std::string& default_account,
                           const std::string& default_region) {
  std::string account = default_account;
  std::string region = default_region;
  for (const auto& [key, value] : request.QueryParams()) {
    if (key == "account") account = value;
    if (key == "region") region = value;
  }
  return account + "/" + region;
}

void WriteAdminView(const StatusOr<Document>& records, std::string_view member, http::Response& response) {
  response.headers.Set("Content-Type", "application/json");
  Document body = records.ok() ? Document{{std::string(member), *records}}
                               : Document{{"message", records.status().message()}};
  response.status = records.ok() ? 200 : 500;
  response.body = body.dump(-1, ' ', false, Document::error_handler_t::replace);
}

bool HandlerTable::HasService(std::string_view service) const { return handlers_.find(service) != handlers_.end(); }

}  // namespace gantry::aws
