// Store: Gantry's durable control-plane state, as JSON documents keyed by (table, scope, key).
//
//   table  the resource kind, e.g. "events.rule", "codebuild.project"
//   scope  where the resource lives, usually "<account>/<region>" ("<account>" for global services)
//   key    the resource id or name inside the scope
//
// Every record carries a version (1 on create, +1 on every write) for optimistic concurrency, and
// created/updated times in epoch milliseconds from the store's injected Clock. Keys list in byte
// order (memcmp), so a page token is simply the last key of the previous page.
//
// Durability contract: when a write (or a Transact) returns OK, the change survives a kill -9 of
// the process and a restart. Backends say in their own header what power loss can take.
//
// The interface is backend-neutral (SQLite now, PostgreSQL later): no SQL leaks through it.
// Table, scope and key are byte strings without NUL (PostgreSQL text cannot hold NUL); table and
// key must not be empty. Documents are serialized as JSON, so their strings must be valid UTF-8.
//
// Thread-safety: a Store is thread-safe; many server threads call one Store concurrently. A
// Transaction is used only by the thread running the Transact callback, only during the callback,
// and the callback must not call the Store itself (that would be re-entrant; it fails with
// kFailedPrecondition rather than deadlocking).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/status.h"

namespace gantry::store {

struct Record {
  std::string key;
  nlohmann::json doc;
  int64_t version = 0;
  int64_t created_millis = 0;
  int64_t updated_millis = 0;
};

struct ListOptions {
  // Only keys starting with prefix.
  std::string prefix;
  // Only keys strictly after this one: the next_token of the previous page.
  std::string start_after;
  // Maximum records per page; 0 means all.
  int limit = 0;
};

struct ListPage {
  std::vector<Record> records;
  // The last key of this page when more records follow; empty on the last page.
  std::string next_token;
};

// The record operations shared by a Store (each call is its own atomic transaction) and a
// Transaction (calls commit together). Not-found is a value (nullopt/false), not an error, except
// for Update, whose caller expects the record to exist.
class RecordOperations {
 public:
  virtual ~RecordOperations() = default;

  virtual StatusOr<std::optional<Record>> Get(std::string_view table, std::string_view scope,
                                              std::string_view key) = 0;
  // Insert or replace; returns the new version.
  virtual StatusOr<int64_t> Put(std::string_view table, std::string_view scope,
                                std::string_view key, const nlohmann::json& doc) = 0;
  // Insert; kAlreadyExists when the key is taken. Returns the version (1).
  virtual StatusOr<int64_t> Create(std::string_view table, std::string_view scope,
                                   std::string_view key, const nlohmann::json& doc) = 0;
  // Replace an existing record; kNotFound when absent, kConflict when expected_version is given
  // and differs from the stored version. Returns the new version.
  virtual StatusOr<int64_t> Update(std::string_view table, std::string_view scope,
                                   std::string_view key, const nlohmann::json& doc,
                                   std::optional<int64_t> expected_version = std::nullopt) = 0;
  // Whether a record was deleted; kConflict when expected_version is given and the stored
  // version differs.
  virtual StatusOr<bool> Delete(std::string_view table, std::string_view scope,
                                std::string_view key,
                                std::optional<int64_t> expected_version = std::nullopt) = 0;
  // Records of (table, scope) in byte order of key, one page at a time.
  virtual StatusOr<ListPage> List(std::string_view table, std::string_view scope,
                                  const ListOptions& options = {}) = 0;
  // Number of records of (table, scope) whose key starts with prefix.
  virtual StatusOr<int64_t> Count(std::string_view table, std::string_view scope,
                                  std::string_view prefix = {}) = 0;
  // The next value of a named durable counter: 1, 2, 3, ... Inside a Transaction a rolled-back
  // increment is rolled back too.
  virtual StatusOr<int64_t> NextSequence(std::string_view name) = 0;
};

class Transaction : public RecordOperations {};

class Store : public RecordOperations {
 public:
  // Runs fn in one transaction: committed atomically iff fn returns OK, rolled back otherwise
  // (fn's Status is returned). An exception thrown by fn rolls back and becomes kInternal.
  // Other threads' calls wait while fn runs, so keep fn to store work.
  virtual Status Transact(const std::function<Status(Transaction&)>& fn) = 0;
};

}  // namespace gantry::store
