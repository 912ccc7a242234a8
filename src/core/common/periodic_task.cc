#include "core/common/periodic_task.h"

namespace gantry {

void PeriodicTask::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void PeriodicTask::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicTask::Loop() {
  std::unique_lock lock(mu_);
  do {
    lock.unlock();
    fn_();
    lock.lock();
  } while (!wake_.wait_for(lock, interval_, [this] { return stopping_; }));
}

}  // namespace gantry
