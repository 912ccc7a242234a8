// The SQLite backend of Store: one database file under the state directory (the embedded default).
//
// Durability: the database runs in WAL mode with synchronous=NORMAL. A transaction is committed
// when its frames are written to the WAL file, i.e. handed to the kernel, so everything a call
// acknowledged survives kill -9 of the process. Only a power loss or kernel crash can drop the last
// transactions before the next WAL checkpoint (the database itself never corrupts). Set
// SqliteStoreOptions::synchronous_full (synchronous=FULL: fsync of the WAL on every commit) where
// that matters more than write latency.
//
// Schema: ordered migration steps live in sqlite_store.cc (kMigrations); the applied versions are
// rows of the schema_migrations table. Opening applies the pending steps once, all in one
// transaction, and refuses a database whose schema is newer than this binary.
//
// Thread-safety: the returned Store is thread-safe (one connection behind a mutex, prepared
// statements cached on it). Several processes may open the same file (SQLite locks; writers wait
// up to busy_timeout_ms), though Gantry expects one server per state directory.
#pragma once

#include <memory>
#include <string>

#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/store/store.h"

namespace gantry::store {

struct SqliteStoreOptions {
  // Source of created/updated times; not owned, must outlive the store.
  Clock* clock = SystemClock::Instance();
  // fsync the WAL on every commit, so that commits also survive power loss.
  bool synchronous_full = false;
  // How long a write waits for another connection's lock before failing with kUnavailable.
  int busy_timeout_ms = 5000;
};

// Opens (creating it 0600 if missing) the database file at path; its directory must exist.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                 const SqliteStoreOptions& options = {});

// The schema version this binary migrates to (the last step of kMigrations).
int LatestSqliteSchemaVersion();

}  // namespace gantry::store
