#include "services/s3/s3_service.h"

#include "services/s3/handlers.h"

namespace gantry::services::s3 {

S3Service::S3Service(store::Store* store, std::string state_dir, Clock* clock, IdSource* ids,
                     ObjectStoreOptions options)
    : store_(store), state_dir_(std::move(state_dir)), clock_(clock), ids_(ids), options_(options) {}

S3Service::~S3Service() { Stop(); }

void S3Service::RegisterHandlers(aws::HandlerTable& table) {
  for (const auto& [operation, handler] : AllHandlers()) {
    Handler fn = handler;
    table.Add("s3", operation, [this, fn](aws::RequestContext& ctx, const aws::Document& input) -> StatusOr<aws::Document> {
      if (objects_ == nullptr) return Status::Unavailable("The S3 service is starting.");
      StatusOr<aws::Document> result = fn(*objects_, ctx, input);
      if (!result.ok()) AddErrorDetails(ctx, input, result.status());
      return result;
    });
  }
}

Status S3Service::Start() {
  GANTRY_ASSIGN_OR_RETURN(store::BlobStore blobs, store::BlobStore::Open(state_dir_ + "/s3"));
  objects_ = std::make_unique<ObjectStore>(store_, std::move(blobs), clock_, ids_, options_);
  GANTRY_RETURN_IF_ERROR(objects_->Recover());
  reaper_.Start();
  return Status::Ok();
}

void S3Service::Stop() {
  reaper_.Stop();
  if (objects_) objects_->ReapRetired(/*everything=*/true);
}

}  // namespace gantry::services::s3
