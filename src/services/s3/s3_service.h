// S3: buckets (location, versioning, tags, policy), objects with versions, ranges, preconditions,
// user metadata, tags and flexible checksums, copies, listings (v1, v2, versions), multipart
// uploads, presigned URLs (SigV4 and SigV2, verified in core/aws). Object bytes stream between
// disk and socket (the server spools uploads to a file that is moved into place; downloads are
// sent from the object's file); metadata lives in the store. See object_store.h for durability.
//
// One background thread between Start and Stop deletes the files of replaced versions once their
// grace period has passed. Handlers are thread-safe; Start/Stop are called from one thread.
#pragma once

#include <memory>
#include <string>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/periodic_task.h"
#include "core/store/store.h"
#include "services/s3/object_store.h"

namespace gantry::services::s3 {

class S3Service final : public aws::Service {
 public:
  // Objects live under <state_dir>/s3. store, clock and ids must outlive the service.
  S3Service(store::Store* store, std::string state_dir, Clock* clock, IdSource* ids,
            ObjectStoreOptions options = {});
  ~S3Service() override;

  std::string_view name() const override { return "s3"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  // Opens the object directory, removes what a crash left behind, starts the file reaper.
  Status Start() override;
  void Stop() override;

  // The engine (after Start), for tests.
  ObjectStore* objects() { return objects_.get(); }

 private:
  store::Store* store_;
  std::string state_dir_;
  Clock* clock_;
  IdSource* ids_;
  ObjectStoreOptions options_;
  std::unique_ptr<ObjectStore> objects_;
  PeriodicTask reaper_{std::chrono::seconds(1), [this] { objects_->ReapRetired(); }};
};

}  // namespace gantry::services::s3
