// The runtime's BuildRunner as the BuildEngine builds run through in the server.
#include "services/codebuild/build_queue.h"

namespace gantry::services::codebuild {

namespace {

class RuntimeEngine final : public BuildEngine {
 public:
  runtime::BuildOutcome Run(const runtime::BuildRequest& request, runtime::BuildHooks& hooks) override {
    return runner_.Run(request, hooks);
  }
  void RequestStop() override { runner_.RequestStop(); }

 private:
  runtime::BuildRunner runner_;
};

}  // namespace

std::unique_ptr<BuildEngine> MakeRuntimeEngine() { return std::make_unique<RuntimeEngine>(); }

}  // namespace gantry::services::codebuild
