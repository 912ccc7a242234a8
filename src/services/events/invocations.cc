#include "services/events/invocations.h"

#include "services/events/resources.h"

namespace gantry::services::events {

Status RecordInvocation(store::Store& store, const std::string& scope, const aws::Document& record) {
  GANTRY_ASSIGN_OR_RETURN(int64_t sequence, store.NextSequence(kInvocationTable));
  GANTRY_RETURN_IF_ERROR(store.Create(kInvocationTable, scope, Padded(sequence), record).status());
  GANTRY_ASSIGN_OR_RETURN(int64_t count, store.Count(kInvocationTable, scope));
  if (count <= kInvocationsKept) return Status::Ok();
  store::ListOptions oldest;
  oldest.limit = static_cast<int>(count - kInvocationsKept);
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, store.List(kInvocationTable, scope, oldest));
  for (const auto& r : page.records) GANTRY_RETURN_IF_ERROR(store.Delete(kInvocationTable, scope, r.key).status());
  return Status::Ok();
}

StatusOr<aws::Document> ListInvocations(store::Store& store, const std::string& scope) {
  aws::Document list = aws::Document::array();
  store::ListOptions options;
  options.limit = 500;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, store.List(kInvocationTable, scope, options));
    for (auto& record : page.records) list.push_back(std::move(record.doc));
    if (page.next_token.empty()) return list;
    options.start_after = page.next_token;
  }
}

void WriteInvocations(store::Store& store, const http::Request& request, const std::string& default_account,
                      const std::string& default_region, http::Response& response) {
  aws::WriteAdminView(ListInvocations(store, aws::AdminViewScope(request, default_account, default_region)),
                      "Invocations", response);
}

}  // namespace gantry::services::events
