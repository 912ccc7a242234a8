// Status and StatusOr: the one error type of Gantry (leveldb/absl style).
// A Status carries a portable code, a message a user can act on, and optionally the exact AWS error
// code (e.g. "ResourceNotFoundException") a service wants on the wire. core/aws maps the portable code
// to a default AWS code and HTTP status per protocol. Value types; thread-compatible.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace gantry {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // validation of untrusted input failed
  kNotFound,            // the named resource does not exist
  kAlreadyExists,       // create of an existing resource
  kFailedPrecondition,  // state does not allow the operation (e.g. bucket not empty)
  kPermissionDenied,    // authenticated but not allowed
  kUnauthenticated,     // bad or missing credentials / signature
  kResourceExhausted,   // limits (too large, too many)
  kConflict,            // concurrent modification
  kUnimplemented,       // operation exists in AWS but not in Gantry
  kUnavailable,         // try again later
  kInternal,            // a bug or an OS failure
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string aws_code = {})
      : code_(code), message_(std::move(message)), aws_code_(std::move(aws_code)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m, std::string aws = {}) { return {StatusCode::kInvalidArgument, std::move(m), std::move(aws)}; }
  static Status NotFound(std::string m, std::string aws = {}) { return {StatusCode::kNotFound, std::move(m), std::move(aws)}; }
  static Status AlreadyExists(std::string m, std::string aws = {}) { return {StatusCode::kAlreadyExists, std::move(m), std::move(aws)}; }
  static Status FailedPrecondition(std::string m, std::string aws = {}) { return {StatusCode::kFailedPrecondition, std::move(m), std::move(aws)}; }
  static Status PermissionDenied(std::string m, std::string aws = {}) { return {StatusCode::kPermissionDenied, std::move(m), std::move(aws)}; }
  static Status Unauthenticated(std::string m, std::string aws = {}) { return {StatusCode::kUnauthenticated, std::move(m), std::move(aws)}; }
  static Status ResourceExhausted(std::string m, std::string aws = {}) { return {StatusCode::kResourceExhausted, std::move(m), std::move(aws)}; }
  static Status Conflict(std::string m, std::string aws = {}) { return {StatusCode::kConflict, std::move(m), std::move(aws)}; }
  static Status Unimplemented(std::string m, std::string aws = {}) { return {StatusCode::kUnimplemented, std::move(m), std::move(aws)}; }
  static Status Unavailable(std::string m, std::string aws = {}) { return {StatusCode::kUnavailable, std::move(m), std::move(aws)}; }
  static Status Internal(std::string m, std::string aws = {}) { return {StatusCode::kInternal, std::move(m), std::move(aws)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The AWS error code to put on the wire; empty means "derive from code()".
  const std::string& aws_code() const { return aws_code_; }
  // HTTP status override (0 = derive from the model's error shape or from code()).
  int http_status() const { return http_status_; }
  Status&& WithHttpStatus(int s) && { http_status_ = s; return std::move(*this); }

  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string aws_code_;
  int http_status_ = 0;
};

template <typename T>
class StatusOr {
 public:
  StatusOr(Status s) : v_(std::move(s)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT
  StatusOr(T value) : v_(std::move(value)) {}                                     // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace gantry

#define GANTRY_CONCAT_INNER(a, b) a##b
#define GANTRY_CONCAT(a, b) GANTRY_CONCAT_INNER(a, b)

#define GANTRY_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::gantry::Status _st = (expr);            \
    if (!_st.ok()) return _st;                \
  } while (0)

#define GANTRY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define GANTRY_ASSIGN_OR_RETURN(lhs, expr) \
  GANTRY_ASSIGN_OR_RETURN_IMPL(GANTRY_CONCAT(_status_or_, __LINE__), lhs, expr)
