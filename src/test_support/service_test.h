// ServiceTest<S>: the unit-test fixture of one service. A SQLite store in a fresh scratch directory,
// a FakeClock, sequential ids, and a dispatcher (accepting any credentials) that runs the service's
// handlers in-process, so validation, errors and handlers behave exactly as for HTTP requests.
// Close() and Open() reopen everything over the same directory (restart tests). Used by tests only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "core/aws/dispatcher.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/sqlite_store.h"
#include "core/store/test_support.h"

namespace gantry::test_support {

template <typename ServiceT>
class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest(std::string service_name, std::string account, std::string region)
      : service_name_(std::move(service_name)), account_(std::move(account)), region_(std::move(region)) {}

  // The service over the open store_ (called by Open).
  virtual std::unique_ptr<ServiceT> MakeService() = 0;
  // What must happen after registration before the service serves (load keys, Start engines).
  virtual Status Prepare(ServiceT& service) { return Status::Ok(); }

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Open();
  }
  void TearDown() override { Close(); }

  void Open() {
    store::SqliteStoreOptions options;
    options.clock = &clock_;
    auto opened = store::OpenSqliteStore(dir_.File("gantry.db"), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    handlers_ = std::make_unique<aws::HandlerTable>();
    aws::DispatcherOptions dispatcher_options;
    dispatcher_options.accept_any_credentials = true;
    dispatcher_options.clock = &clock_;
    dispatcher_ = std::make_unique<aws::Dispatcher>(dispatcher_options, nullptr, handlers_.get(), nullptr);
    service_ = MakeService();
    service_->RegisterHandlers(*handlers_);
    Status prepared = Prepare(*service_);
    ASSERT_TRUE(prepared.ok()) << prepared.ToString();
  }

  void Close() {
    service_.reset();
    dispatcher_.reset();
    handlers_.reset();
    store_.reset();
  }

  // As the account's root principal unless another is given.
  StatusOr<aws::Document> Call(const std::string& operation, const aws::Document& input,
                               const aws::Principal* principal = nullptr) {
    return dispatcher_->Call(principal ? *principal : aws::Principal::Root(account_), service_name_, operation, input,
                             region_);
  }

  aws::Document Ok(const std::string& operation, const aws::Document& input) {
    auto result = Call(operation, input);
    EXPECT_TRUE(result.ok()) << operation << ": " << result.status().ToString();
    return result.ok() ? *result : aws::Document();
  }

  // The AWS error code and message of a call expected to fail.
  std::pair<std::string, std::string> Error(const std::string& operation, const aws::Document& input) {
    auto result = Call(operation, input);
    EXPECT_FALSE(result.ok()) << operation << " succeeded: " << (result.ok() ? result->dump() : "");
    if (result.ok()) return {};
    return {result.status().aws_code(), result.status().message()};
  }

  const std::string service_name_, account_, region_;
  store::testing::ScratchDirectory dir_;
  FakeClock clock_;
  SequentialIdSource ids_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<aws::HandlerTable> handlers_;
  std::unique_ptr<aws::Dispatcher> dispatcher_;
  std::unique_ptr<ServiceT> service_;
};

}  // namespace gantry::test_support
