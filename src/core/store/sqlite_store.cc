#include "core/store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace gantry::store {
namespace {

// Schema steps, applied in order, each once per database.
//
// To change the schema, append {next version, what it does, SQL} at the end. Never edit, remove
// or reorder a step that has shipped: existing state directories have applied it already. Pending
// steps run together inside the transaction that opens the database, so a step must not contain
// BEGIN/COMMIT or statements SQLite refuses inside a transaction (VACUUM, PRAGMA journal_mode).
// Reshaping stored documents is SQL too (json_set/json_remove over records.doc).
struct Migration {
  int version;
  const char* description;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, "records and sequences", R"sql(
CREATE TABLE records (
  tbl        TEXT    NOT NULL,
  scope      TEXT    NOT NULL,
  key        TEXT    NOT NULL,
  doc        TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tbl, scope, key)
) WITHOUT ROWID;
CREATE TABLE sequences (
  name  TEXT    NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql"},
};

constexpr bool MigrationsAreNumberedInOrder() {
  int expected = 1;
  for (const Migration& m : kMigrations) {
    if (m.version != expected++) return false;
  }
  return true;
}
static_assert(MigrationsAreNumberedInOrder(), "kMigrations must be numbered 1, 2, 3, ...");

constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

// Keys compare with SQLite's BINARY collation (memcmp), i.e. in byte order. Prefix scans are a
// key range [prefix, successor) so that they use the primary key index.
constexpr const char* kGetSql =
    "SELECT doc, version, created_ms, updated_ms FROM records "
    "WHERE tbl = ?1 AND scope = ?2 AND key = ?3";
constexpr const char* kPutSql =
    "INSERT INTO records (tbl, scope, key, doc, version, created_ms, updated_ms) "
    "VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5) "
    "ON CONFLICT (tbl, scope, key) DO UPDATE SET "
    "doc = excluded.doc, version = records.version + 1, updated_ms = excluded.updated_ms "
    "RETURNING version";
constexpr const char* kCreateSql =
    "INSERT INTO records (tbl, scope, key, doc, version, created_ms, updated_ms) "
    "VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5) "
    "ON CONFLICT (tbl, scope, key) DO NOTHING RETURNING version";
constexpr const char* kUpdateSql =
    "UPDATE records SET doc = ?4, version = version + 1, updated_ms = ?5 "
    "WHERE tbl = ?1 AND scope = ?2 AND key = ?3 AND (?6 IS NULL OR version = ?6) "
    "RETURNING version";
constexpr const char* kVersionSql =
    "SELECT version FROM records WHERE tbl = ?1 AND scope = ?2 AND key = ?3";
constexpr const char* kDeleteSql =
    "DELETE FROM records "
    "WHERE tbl = ?1 AND scope = ?2 AND key = ?3 AND (?4 IS NULL OR version = ?4) "
    "RETURNING version";
// [inclusive lower bound][has upper bound]; ?3 lower bound, ?4 limit, ?5 upper bound.
constexpr const char* kListSql[2][2] = {
    {"SELECT key, doc, version, created_ms, updated_ms FROM records "
     "WHERE tbl = ?1 AND scope = ?2 AND key > ?3 ORDER BY key LIMIT ?4",
     "SELECT key, doc, version, created_ms, updated_ms FROM records "
     "WHERE tbl = ?1 AND scope = ?2 AND key > ?3 AND key < ?5 ORDER BY key LIMIT ?4"},
    {"SELECT key, doc, version, created_ms, updated_ms FROM records "
     "WHERE tbl = ?1 AND scope = ?2 AND key >= ?3 ORDER BY key LIMIT ?4",
     "SELECT key, doc, version, created_ms, updated_ms FROM records "
     "WHERE tbl = ?1 AND scope = ?2 AND key >= ?3 AND key < ?5 ORDER BY key LIMIT ?4"},
};
// [has upper bound]; ?3 prefix, ?4 upper bound.
constexpr const char* kCountSql[2] = {
    "SELECT count(*) FROM records WHERE tbl = ?1 AND scope = ?2 AND key >= ?3",
    "SELECT count(*) FROM records WHERE tbl = ?1 AND scope = ?2 AND key >= ?3 AND key < ?4",
};
constexpr const char* kNextSequenceSql =
    "INSERT INTO sequences (name, value) VALUES (?1, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value";

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message = "sqlite: " + std::string(what) + ": " + sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_errcode(db) == rc) {
    message += " (";
    message += sqlite3_errmsg(db);
    message += ")";
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(message));
    case SQLITE_FULL:
      return Status::ResourceExhausted(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

// The smallest string greater than every string starting with prefix; nullopt when there is none
// (prefix empty or all 0xff bytes).
std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) s.pop_back();
  if (s.empty()) return std::nullopt;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

// A cached prepared statement in use by one operation; reset (bindings cleared) when it goes out
// of scope, which also ends SQLite's read of it so that COMMIT can proceed.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  void Bind(int index, std::string_view text) {
    // A null pointer would bind SQL NULL; an empty string must stay a string.
    const char* data = text.data() != nullptr ? text.data() : "";
    Check(sqlite3_bind_text(stmt_, index, data, static_cast<int>(text.size()), SQLITE_TRANSIENT));
  }
  void Bind(int index, int64_t value) { Check(sqlite3_bind_int64(stmt_, index, value)); }
  void Bind(int index, std::optional<int64_t> value) {
    if (value) {
      Bind(index, *value);
    } else {
      Check(sqlite3_bind_null(stmt_, index));
    }
  }

  // True when a row is ready, false when the statement is done.
  StatusOr<bool> Step() {
    if (bind_rc_ != SQLITE_OK) return SqliteError(db_, bind_rc_, "bind");
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, "step");
  }

  Status StepToEnd() {
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, Step());
      if (!row) return Status::Ok();
    }
  }

  std::string Text(int column) {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    int size = sqlite3_column_bytes(stmt_, column);
    return data == nullptr ? std::string() : std::string(data, static_cast<size_t>(size));
  }
  int64_t Int(int column) { return sqlite3_column_int64(stmt_, column); }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// One SQLite connection and its prepared statements. Not thread-safe: the store's mutex guards it.
class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  sqlite3* db() { return db_; }

  StatusOr<Statement> Prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      sqlite3_stmt* stmt = nullptr;
      int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
      it = statements_.emplace(sql, stmt).first;
    }
    return Statement(db_, it->second);
  }

  // Runs a statement without parameters to its end.
  Status Run(const char* sql) {
    GANTRY_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
    return stmt.StepToEnd();
  }

  // Runs a script of statements once, without caching (schema steps, pragmas).
  Status RunScript(const char* sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    return SqliteError(nullptr, rc, message);
  }

  Status Begin() { return Run("BEGIN IMMEDIATE"); }

  Status Commit() {
    Status status = Run("COMMIT");
    if (!status.ok()) Rollback();
    return status;
  }

  // Rolls back the open transaction, if SQLite has not already done so after an error.
  void Rollback() {
    if (sqlite3_get_autocommit(db_) == 0) (void)Run("ROLLBACK");
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

Status ValidateName(std::string_view what, std::string_view value, bool may_be_empty) {
  if (!may_be_empty && value.empty()) return Status::InvalidArgument("store: empty " + std::string(what));
  if (value.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("store: " + std::string(what) + " contains a NUL byte");
  }
  return Status::Ok();
}

Status ValidateAddress(std::string_view table, std::string_view scope, std::string_view key) {
  GANTRY_RETURN_IF_ERROR(ValidateName("table name", table, false));
  GANTRY_RETURN_IF_ERROR(ValidateName("scope", scope, true));
  return ValidateName("key", key, false);
}

std::string Describe(std::string_view table, std::string_view scope, std::string_view key) {
  return std::string(table) + " '" + std::string(scope) + "/" + std::string(key) + "'";
}

StatusOr<std::string> SerializeDocument(const nlohmann::json& doc, std::string_view table,
                                        std::string_view scope, std::string_view key) {
  try {
    return doc.dump();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument("store: document of " + Describe(table, scope, key) +
                                   " cannot be serialized: " + e.what());
  }
}

StatusOr<nlohmann::json> ParseDocument(const std::string& text, std::string_view table,
                                       std::string_view scope, std::string_view key) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status::Internal("store: stored document of " + Describe(table, scope, key) +
                            " is not valid JSON");
  }
  return doc;
}

// The record operations on a connection whose lock the caller holds. Inside Transact it is the
// Transaction handed to the callback (a stack object: it dies when the callback returns).
class SqliteRecords final : public Transaction {
 public:
  SqliteRecords(Connection* connection, Clock* clock) : connection_(connection), clock_(clock) {}

  StatusOr<std::optional<Record>> Get(std::string_view table, std::string_view scope,
                                      std::string_view key) override {
    GANTRY_RETURN_IF_ERROR(ValidateAddress(table, scope, key));
    GANTRY_ASSIGN_OR_RETURN(Statement stmt, connection_->Prepare(kGetSql));
    stmt.Bind(1, table);
    stmt.Bind(2, scope);
    stmt.Bind(3, key);
    GANTRY_ASSIGN_OR_RETURN(bool found, stmt.Step());
    if (!found) return std::optional<Record>();
    Record record;
    record.key = std::string(key);
    GANTRY_ASSIGN_OR_RETURN(record.doc, ParseDocument(stmt.Text(0), table, scope, key));
    record.version = stmt.Int(1);
    record.created_millis = stmt.Int(2);
    record.updated_millis = stmt.Int(3);
    return std::optional<Record>(std::move(record));
  }

  StatusOr<int64_t> Put(std::string_view table, std::string_view scope, std::string_view key,
                        const nlohmann::json& doc) override {
    return Write(kPutSql, table, scope, key, doc);
  }

  StatusOr<int64_t> Create(std::string_view table, std::string_view scope, std::string_view key,
                           const nlohmann::json& doc) override {
    GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> version,
                            WriteIf(kCreateSql, table, scope, key, doc, std::nullopt));
    if (!version) {
      return Status::AlreadyExists("store: " + Describe(table, scope, key) + " already exists");
    }
    return *version;
  }

  StatusOr<int64_t> Update(std::string_view table, std::string_view scope, std::string_view key,
                           const nlohmann::json& doc,
                           std::optional<int64_t> expected_version) override {
    GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> version,
                            WriteIf(kUpdateSql, table, scope, key, doc, expected_version));
    if (version) return *version;
    GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> stored, StoredVersion(table, scope, key));
    if (!stored) return Status::NotFound("store: " + Describe(table, scope, key) + " does not exist");
    if (!expected_version) return Status::Internal("store: update of " + Describe(table, scope, key) + " wrote no row");
    return VersionConflict(table, scope, key, *expected_version, *stored);
  }

  StatusOr<bool> Delete(std::string_view table, std::string_view scope, std::string_view key,
                        std::optional<int64_t> expected_version) override {
    GANTRY_RETURN_IF_ERROR(ValidateAddress(table, scope, key));
    bool deleted = false;
    {
      GANTRY_ASSIGN_OR_RETURN(Statement stmt, connection_->Prepare(kDeleteSql));
      stmt.Bind(1, table);
      stmt.Bind(2, scope);
      stmt.Bind(3, key);
      stmt.Bind(4, expected_version);
      GANTRY_ASSIGN_OR_RETURN(deleted, stmt.Step());
      GANTRY_RETURN_IF_ERROR(stmt.StepToEnd());
    }
    if (deleted || !expected_version) return deleted;
    GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> stored, StoredVersion(table, scope, key));
    if (!stored) return false;
    return VersionConflict(table, scope, key, *expected_version, *stored);
  }

  StatusOr<ListPage> List(std::string_view table, std::string_view scope,
                          const ListOptions& options) override {
    GANTRY_RETURN_IF_ERROR(ValidateName("table name", table, false));
    GANTRY_RETURN_IF_ERROR(ValidateName("scope", scope, true));
    GANTRY_RETURN_IF_ERROR(ValidateName("prefix", options.prefix, true));
    GANTRY_RETURN_IF_ERROR(ValidateName("page token", options.start_after, true));
    if (options.limit < 0) return Status::InvalidArgument("store: negative list limit");

    // One lower bound for the index range: the tighter of "starts with prefix" and "after token".
    bool after_token = !options.start_after.empty() && options.start_after >= options.prefix;
    const std::string& lower = after_token ? options.start_after : options.prefix;
    std::optional<std::string> upper = PrefixSuccessor(options.prefix);
    int64_t fetch = options.limit == 0 ? -1 : int64_t{options.limit} + 1;

    GANTRY_ASSIGN_OR_RETURN(Statement stmt,
                            connection_->Prepare(kListSql[after_token ? 0 : 1][upper ? 1 : 0]));
    stmt.Bind(1, table);
    stmt.Bind(2, scope);
    stmt.Bind(3, std::string_view(lower));
    stmt.Bind(4, fetch);
    if (upper) stmt.Bind(5, std::string_view(*upper));

    ListPage page;
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      if (options.limit > 0 && page.records.size() == static_cast<size_t>(options.limit)) {
        page.next_token = page.records.back().key;
        break;
      }
      Record record;
      record.key = stmt.Text(0);
      GANTRY_ASSIGN_OR_RETURN(record.doc, ParseDocument(stmt.Text(1), table, scope, record.key));
      record.version = stmt.Int(2);
      record.created_millis = stmt.Int(3);
      record.updated_millis = stmt.Int(4);
      page.records.push_back(std::move(record));
    }
    return page;
  }

  StatusOr<int64_t> Count(std::string_view table, std::string_view scope,
                          std::string_view prefix) override {
    GANTRY_RETURN_IF_ERROR(ValidateName("table name", table, false));
    GANTRY_RETURN_IF_ERROR(ValidateName("scope", scope, true));
    GANTRY_RETURN_IF_ERROR(ValidateName("prefix", prefix, true));
    std::optional<std::string> upper = PrefixSuccessor(prefix);
    GANTRY_ASSIGN_OR_RETURN(Statement stmt, connection_->Prepare(kCountSql[upper ? 1 : 0]));
    stmt.Bind(1, table);
    stmt.Bind(2, scope);
    stmt.Bind(3, prefix);
    if (upper) stmt.Bind(4, std::string_view(*upper));
    GANTRY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status::Internal("store: count returned no row");
    return stmt.Int(0);
  }

  StatusOr<int64_t> NextSequence(std::string_view name) override {
    GANTRY_RETURN_IF_ERROR(ValidateName("sequence name", name, false));
    GANTRY_ASSIGN_OR_RETURN(Statement stmt, connection_->Prepare(kNextSequenceSql));
    stmt.Bind(1, name);
    GANTRY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status::Internal("store: sequence increment returned no row");
    int64_t value = stmt.Int(0);
    GANTRY_RETURN_IF_ERROR(stmt.StepToEnd());
    return value;
  }

 private:
  StatusOr<int64_t> Write(const char* sql, std::string_view table, std::string_view scope,
                          std::string_view key, const nlohmann::json& doc) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<int64_t> version,
                            WriteIf(sql, table, scope, key, doc, std::nullopt));
    if (!version) return Status::Internal("store: write of " + Describe(table, scope, key) + " returned no row");
    return *version;
  }

  // Runs an insert/update with RETURNING version; nullopt when no row was written.
  StatusOr<std::optional<int64_t>> WriteIf(const char* sql, std::string_view table,
                                           std::string_view scope, std::string_view key,
                                           const nlohmann::json& doc,
                                           std::optional<int64_t> expected_version) {
    GANTRY_RETURN_IF_ERROR(ValidateAddress(table, scope, key));
    GANTRY_ASSIGN_OR_RETURN(std::string text, SerializeDocument(doc, table, scope, key));
    GANTRY_ASSIGN_OR_RETURN(Statement stmt, connection_->Prepare(sql));
    stmt.Bind(1, table);
    stmt.Bind(2, scope);
    stmt.Bind(3, key);
    stmt.Bind(4, std::string_view(text));
    stmt.Bind(5, ToEpochMillis(clock_->Now()));
    if (expected_version) stmt.Bind(6, *expected_version);
    GANTRY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<int64_t>();
    int64_t version = stmt.Int(0);
    GANTRY_RETURN_IF_ERROR(stmt.StepToEnd());
    return std::optional<int64_t>(version);
  }

  StatusOr<std::optional<int64_t>> StoredVersion(std::string_view table, std::string_view scope,
                                                 std::string_view key) {
    GANTRY_ASSIGN_OR_RETURN(Statement stmt, connection_->Prepare(kVersionSql));
    stmt.Bind(1, table);
    stmt.Bind(2, scope);
    stmt.Bind(3, key);
    GANTRY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<int64_t>();
    return std::optional<int64_t>(stmt.Int(0));
  }

  static Status VersionConflict(std::string_view table, std::string_view scope,
                                std::string_view key, int64_t expected, int64_t stored) {
    return Status::Conflict("store: " + Describe(table, scope, key) + " is at version " +
                            std::to_string(stored) + ", expected " + std::to_string(expected));
  }

  Connection* connection_;
  Clock* clock_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, Clock* clock) : connection_(db), clock_(clock) {}

  Status Initialize(const SqliteStoreOptions& options) {
    std::lock_guard lock(mu_);
    sqlite3_extended_result_codes(connection_.db(), 1);
    int rc = sqlite3_busy_timeout(connection_.db(), options.busy_timeout_ms);
    if (rc != SQLITE_OK) return SqliteError(connection_.db(), rc, "busy_timeout");
    {
      GANTRY_ASSIGN_OR_RETURN(Statement stmt, connection_.Prepare("PRAGMA journal_mode = WAL"));
      GANTRY_ASSIGN_OR_RETURN(bool row, stmt.Step());
      std::string mode = row ? stmt.Text(0) : "";
      if (mode != "wal") {
        return Status::Internal("sqlite: cannot switch the database to WAL mode (journal_mode is '" +
                                mode + "'); is the state directory on a local file system?");
      }
    }
    GANTRY_RETURN_IF_ERROR(connection_.RunScript(options.synchronous_full
                                                     ? "PRAGMA synchronous = FULL"
                                                     : "PRAGMA synchronous = NORMAL"));
    GANTRY_RETURN_IF_ERROR(connection_.RunScript("PRAGMA foreign_keys = ON"));
    return Migrate();
  }

  StatusOr<std::optional<Record>> Get(std::string_view table, std::string_view scope,
                                      std::string_view key) override {
    return Read([&](SqliteRecords& r) { return r.Get(table, scope, key); });
  }
  StatusOr<int64_t> Put(std::string_view table, std::string_view scope, std::string_view key,
                        const nlohmann::json& doc) override {
    return Write([&](SqliteRecords& r) { return r.Put(table, scope, key, doc); });
  }
  StatusOr<int64_t> Create(std::string_view table, std::string_view scope, std::string_view key,
                           const nlohmann::json& doc) override {
    return Write([&](SqliteRecords& r) { return r.Create(table, scope, key, doc); });
  }
  StatusOr<int64_t> Update(std::string_view table, std::string_view scope, std::string_view key,
                           const nlohmann::json& doc,
                           std::optional<int64_t> expected_version) override {
    return Write(
        [&](SqliteRecords& r) { return r.Update(table, scope, key, doc, expected_version); });
  }
  StatusOr<bool> Delete(std::string_view table, std::string_view scope, std::string_view key,
                        std::optional<int64_t> expected_version) override {
    return Write([&](SqliteRecords& r) { return r.Delete(table, scope, key, expected_version); });
  }
  StatusOr<ListPage> List(std::string_view table, std::string_view scope,
                          const ListOptions& options) override {
    return Read([&](SqliteRecords& r) { return r.List(table, scope, options); });
  }
  StatusOr<int64_t> Count(std::string_view table, std::string_view scope,
                          std::string_view prefix) override {
    return Read([&](SqliteRecords& r) { return r.Count(table, scope, prefix); });
  }
  StatusOr<int64_t> NextSequence(std::string_view name) override {
    return Write([&](SqliteRecords& r) { return r.NextSequence(name); });
  }

  Status Transact(const std::function<Status(Transaction&)>& fn) override {
    GANTRY_RETURN_IF_ERROR(CheckNotReentrant());
    std::lock_guard lock(mu_);
    TransactionOwner owner(&owner_);
    GANTRY_RETURN_IF_ERROR(connection_.Begin());
    SqliteRecords records(&connection_, clock_);
    Status status;
    try {
      status = fn(records);
    } catch (const std::exception& e) {
      status = Status::Internal(std::string("store: exception in transaction: ") + e.what());
    } catch (...) {
      status = Status::Internal("store: unknown exception in transaction");
    }
    if (!status.ok()) {
      connection_.Rollback();
      return status;
    }
    return connection_.Commit();
  }

 private:
  // Marks the calling thread as the one inside Transact, for the duration of the callback.
  class TransactionOwner {
   public:
    explicit TransactionOwner(std::atomic<std::thread::id>* owner) : owner_(owner) {
      owner_->store(std::this_thread::get_id());
    }
    ~TransactionOwner() { owner_->store(std::thread::id()); }

   private:
    std::atomic<std::thread::id>* owner_;
  };

  Status CheckNotReentrant() const {
    if (owner_.load() != std::this_thread::get_id()) return Status::Ok();
    return Status::FailedPrecondition(
        "store: called from inside its own Transact callback; use the Transaction instead");
  }

  template <typename Fn>
  auto Read(Fn&& fn) -> decltype(fn(std::declval<SqliteRecords&>())) {
    GANTRY_RETURN_IF_ERROR(CheckNotReentrant());
    std::lock_guard lock(mu_);
    SqliteRecords records(&connection_, clock_);
    return fn(records);
  }

  // Runs one operation as its own transaction, so that multi-statement operations (Update's
  // conflict check) see one consistent state even with other processes on the file.
  template <typename Fn>
  auto Write(Fn&& fn) -> decltype(fn(std::declval<SqliteRecords&>())) {
    GANTRY_RETURN_IF_ERROR(CheckNotReentrant());
    std::lock_guard lock(mu_);
    GANTRY_RETURN_IF_ERROR(connection_.Begin());
    SqliteRecords records(&connection_, clock_);
    auto result = fn(records);
    if (!result.ok()) {
      connection_.Rollback();
      return result;
    }
    GANTRY_RETURN_IF_ERROR(connection_.Commit());
    return result;
  }

  Status Migrate() {
    GANTRY_RETURN_IF_ERROR(connection_.Begin());
    Status status = ApplyPendingMigrations();
    if (!status.ok()) {
      connection_.Rollback();
      return status;
    }
    return connection_.Commit();
  }

  Status ApplyPendingMigrations() {
    GANTRY_RETURN_IF_ERROR(connection_.RunScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_ms INTEGER NOT NULL)"));
    int64_t current = 0;
    {
      GANTRY_ASSIGN_OR_RETURN(
          Statement stmt,
          connection_.Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations"));
      GANTRY_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) current = stmt.Int(0);
    }
    if (current > kLatestVersion) {
      return Status::FailedPrecondition(
          "sqlite: the state database has schema version " + std::to_string(current) +
          ", newer than this Gantry understands (" + std::to_string(kLatestVersion) +
          "); run a newer Gantry or use another state directory");
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      Status step = connection_.RunScript(m.sql);
      if (!step.ok()) {
        return Status(step.code(), "sqlite: schema migration " + std::to_string(m.version) + " (" +
                                       m.description + ") failed: " + step.message());
      }
      GANTRY_ASSIGN_OR_RETURN(
          Statement stmt,
          connection_.Prepare(
              "INSERT INTO schema_migrations (version, description, applied_ms) VALUES (?1, ?2, ?3)"));
      stmt.Bind(1, int64_t{m.version});
      stmt.Bind(2, std::string_view(m.description));
      stmt.Bind(3, ToEpochMillis(clock_->Now()));
      GANTRY_RETURN_IF_ERROR(stmt.StepToEnd());
    }
    return Status::Ok();
  }

  std::mutex mu_;
  std::atomic<std::thread::id> owner_;
  Connection connection_;  // guarded by mu_
  Clock* clock_;
};

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                 const SqliteStoreOptions& options) {
  if (path.empty()) return Status::InvalidArgument("sqlite: empty database path");
  if (options.clock == nullptr) return Status::InvalidArgument("sqlite: no clock given");
  // Create the file ourselves so that it (and the -wal/-shm files SQLite derives from it) is
  // private to the user: the state directory holds credentials.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    std::string message = "sqlite: cannot open " + path + ": " + std::strerror(err);
    if (err == ENOENT) return Status::NotFound(message + " (does the state directory exist?)");
    return Status::Internal(message);
  }
  ::close(fd);

  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteError(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return status;
  }
  auto store = std::make_unique<SqliteStore>(db, options.clock);
  GANTRY_RETURN_IF_ERROR(store->Initialize(options));
  return std::unique_ptr<Store>(std::move(store));
}

int LatestSqliteSchemaVersion() { return kLatestVersion; }

}  // namespace gantry::store
