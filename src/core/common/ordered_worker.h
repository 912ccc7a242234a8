// OrderedWorker<T>: one thread that hands queued items to a function in the order they were posted
// (services' announcers: events and metrics sent after a change is persisted, off the thread that
// made it). Before Start and after Stop, Post runs the function on the caller's thread, so nothing
// posted is dropped. Stop sends what is queued, then joins. Thread-safe; Start/Stop are called from
// one controlling thread; the function must not call Start or Stop.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace gantry {

template <typename T>
class OrderedWorker {
 public:
  explicit OrderedWorker(std::function<void(T&)> fn) : fn_(std::move(fn)) {}
  ~OrderedWorker() { Stop(); }
  OrderedWorker(const OrderedWorker&) = delete;
  OrderedWorker& operator=(const OrderedWorker&) = delete;

  void Start() {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (!running_) return;
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    std::lock_guard lock(mu_);
    running_ = false;
  }

  void Post(T item) {
    {
      std::lock_guard lock(mu_);
      if (running_ && !stopping_) {
        queue_.push_back(std::move(item));
        wake_.notify_one();
        return;
      }
    }
    fn_(item);
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything was sent
      T item = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      fn_(item);
      lock.lock();
    }
  }

  const std::function<void(T&)> fn_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<T> queue_;
  bool running_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gantry
