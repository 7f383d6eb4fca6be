// Internal to EmbeddedStore: the durable half. Unleased keys and the revision
// counter live in a SQLite file (WAL, synchronous=FULL, exclusive locking:
// one store per file at a time):
//   meta(name TEXT PRIMARY KEY, value)   'schema' = kSchemaName, 'format' = 1,
//                                        'revision' = the store's revision
//   kv(key BLOB PRIMARY KEY, value BLOB, create_revision, mod_revision, version)
// Each change of the store is one SQLite transaction; leased keys are never
// written (a put that attaches a lease to a persisted key deletes its row).
//
// Not thread-safe: EmbeddedStore calls it under its mutex.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "coord/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace forest::coord::embedded_internal {

class SqlitePersistence {
 public:
  struct Contents {
    Revision revision = 1;
    std::vector<KeyValue> kvs;  // sorted by key, all unleased
    bool created = false;       // the file was new (or an empty database)
  };

  // Opens or creates the file and reads it. kUnavailable when it cannot be
  // opened, is locked by another store, is not a SQLite database or is a
  // database of something else; kDataLoss when its contents are corrupt.
  static absl::StatusOr<std::unique_ptr<SqlitePersistence>> Open(const std::string& path,
                                                                 Contents* contents);
  ~SqlitePersistence();
  SqlitePersistence(const SqlitePersistence&) = delete;
  SqlitePersistence& operator=(const SqlitePersistence&) = delete;

  // Records one change: the events of `revision` (each with prev_kv set when
  // the key existed), and the new revision counter, atomically.
  absl::Status Commit(Revision revision, const std::vector<WatchEvent>& events);

 private:
  SqlitePersistence(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status Prepare();
  absl::Status Load(Contents* contents);
  absl::Status Error(int rc, const std::string& what) const;

  sqlite3* db_;
  const std::string path_;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* erase_ = nullptr;
  sqlite3_stmt* set_revision_ = nullptr;
};

}  // namespace forest::coord::embedded_internal
