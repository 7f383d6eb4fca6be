#include "coord/embedded/sqlite_persistence.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <set>

namespace forest::coord::embedded_internal {
namespace {

constexpr const char* kSchemaName = "forest-embedded-store";
constexpr int64_t kFormat = 1;

std::string ColumnBytes(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  const int size = sqlite3_column_bytes(stmt, column);
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
}

bool IsBytes(sqlite3_stmt* stmt, int column) {
  const int type = sqlite3_column_type(stmt, column);
  return type == SQLITE_BLOB || type == SQLITE_TEXT;
}

// Steps a prepared statement to completion (ignoring rows) and resets it.
int Run(sqlite3_stmt* stmt) {
  int rc = SQLITE_ROW;
  while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void BindBytes(sqlite3_stmt* stmt, int index, const std::string& bytes) {
  sqlite3_bind_blob(stmt, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
}

// A statement finalized on scope exit.
class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  int Prepare(sqlite3* db, const char* sql) {
    return sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

absl::Status SqlitePersistence::Error(int rc, const std::string& what) const {
  const std::string message =
      fmt::format("embedded store {}: {}: {}", path_, what,
                  db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
      return absl::DataLossError(message);
    case SQLITE_NOTADB:
      return absl::UnavailableError(message + " (not a Forest embedded store)");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message + " (is another store using the file?)");
    default:
      return absl::UnavailableError(message);
  }
}

absl::StatusOr<std::unique_ptr<SqlitePersistence>> SqlitePersistence::Open(const std::string& path,
                                                                           Contents* contents) {
  sqlite3* db = nullptr;
  const int open_rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqlitePersistence> p(new SqlitePersistence(db, path));
  if (open_rc != SQLITE_OK) return p->Error(open_rc, "cannot open");
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 1000);
  const auto exec = [&](const char* sql, const char* what) -> absl::Status {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? absl::OkStatus() : p->Error(rc, what);
  };
  // Exclusive: a second store on the same file would fork its revisions.
  RETURN_IF_ERROR(exec("PRAGMA locking_mode=EXCLUSIVE", "cannot lock"));

  // Identify the file before changing anything in it.
  std::set<std::string> tables;
  {
    Statement list;
    int rc = list.Prepare(db, "SELECT name FROM sqlite_master WHERE type = 'table'");
    if (rc == SQLITE_OK) {
      while ((rc = sqlite3_step(list.get())) == SQLITE_ROW) {
        tables.insert(ColumnBytes(list.get(), 0));
      }
    }
    if (rc != SQLITE_DONE) return p->Error(rc, "cannot read the schema");
  }
  if (tables.empty()) {
    contents->created = true;
    RETURN_IF_ERROR(exec("PRAGMA journal_mode=WAL", "cannot enable WAL"));
    const std::string create = fmt::format(
        "BEGIN;"
        "CREATE TABLE meta(name TEXT PRIMARY KEY, value) WITHOUT ROWID;"
        "CREATE TABLE kv(key BLOB PRIMARY KEY, value BLOB NOT NULL,"
        " create_revision INTEGER NOT NULL, mod_revision INTEGER NOT NULL,"
        " version INTEGER NOT NULL);"
        "INSERT INTO meta VALUES('schema', '{}'), ('format', {}), ('revision', 1);"
        "COMMIT;",
        kSchemaName, kFormat);
    RETURN_IF_ERROR(exec(create.c_str(), "cannot create the schema"));
  } else {
    const auto foreign = [&] {
      return absl::UnavailableError(fmt::format(
          "embedded store {}: the file is a SQLite database of something else, not a Forest "
          "embedded store",
          path));
    };
    if (!tables.contains("meta")) return foreign();
    Statement marker;
    int rc = marker.Prepare(db, "SELECT name, value FROM meta WHERE name IN ('schema', 'format')");
    std::string schema;
    int64_t format = -1;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
      if ((rc = sqlite3_step(marker.get())) != SQLITE_ROW) break;
      const std::string name = ColumnBytes(marker.get(), 0);
      if (name == "schema") schema = ColumnBytes(marker.get(), 1);
      if (name == "format" && sqlite3_column_type(marker.get(), 1) == SQLITE_INTEGER) {
        format = sqlite3_column_int64(marker.get(), 1);
      }
    }
    if ((rc & 0xff) == SQLITE_ERROR) return foreign();  // e.g. a "meta" table without our columns
    if (rc != SQLITE_DONE) return p->Error(rc, "cannot read the meta table");
    if (schema != kSchemaName) return foreign();
    if (format != kFormat) {
      return absl::UnavailableError(fmt::format(
          "embedded store {}: file format {} is not supported (this build reads format {})", path,
          format, kFormat));
    }
    if (!tables.contains("kv")) {
      return absl::DataLossError(fmt::format("embedded store {}: the kv table is missing", path));
    }
    RETURN_IF_ERROR(exec("PRAGMA journal_mode=WAL", "cannot enable WAL"));
  }
  // FULL: an acknowledged change (a cursor, a dispatch) must survive a power
  // or OS failure, or a restarted standalone server would fire again.
  RETURN_IF_ERROR(exec("PRAGMA synchronous=FULL", "cannot set synchronous"));

  {
    Statement check;
    int rc = check.Prepare(db, "PRAGMA quick_check");
    if (rc == SQLITE_OK) rc = sqlite3_step(check.get());
    if (rc != SQLITE_ROW) return p->Error(rc, "integrity check failed");
    std::string verdict = ColumnBytes(check.get(), 0);
    if (verdict != "ok") {
      std::replace(verdict.begin(), verdict.end(), '\n', ' ');
      if (verdict.size() > 300) verdict = verdict.substr(0, 300) + "...";
      return absl::DataLossError(
          fmt::format("embedded store {}: the file is corrupt: {}", path, verdict));
    }
  }
  RETURN_IF_ERROR(p->Load(contents));
  RETURN_IF_ERROR(p->Prepare());
  return p;
}

absl::Status SqlitePersistence::Load(Contents* contents) {
  const auto corrupt = [&](const std::string& what) {
    return absl::DataLossError(fmt::format("embedded store {}: corrupt contents: {}", path_, what));
  };
  {
    Statement stmt;
    int rc = stmt.Prepare(db_, "SELECT value FROM meta WHERE name = 'revision'");
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) return corrupt("no revision counter");
    if (rc != SQLITE_ROW) return Error(rc, "cannot read the revision");
    if (sqlite3_column_type(stmt.get(), 0) != SQLITE_INTEGER ||
        sqlite3_column_int64(stmt.get(), 0) < 1) {
      return corrupt("the revision counter is not a positive integer");
    }
    contents->revision = sqlite3_column_int64(stmt.get(), 0);
  }
  Statement stmt;
  int rc = stmt.Prepare(
      db_, "SELECT key, value, create_revision, mod_revision, version FROM kv ORDER BY key");
  contents->kvs.clear();
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    if ((rc = sqlite3_step(stmt.get())) != SQLITE_ROW) break;
    sqlite3_stmt* s = stmt.get();
    KeyValue kv;
    kv.key = ColumnBytes(s, 0);
    bool valid = IsBytes(s, 0) && !kv.key.empty() && IsBytes(s, 1);
    for (int column = 2; column < 5; ++column) {
      valid = valid && sqlite3_column_type(s, column) == SQLITE_INTEGER;
    }
    if (valid) {
      kv.value = ColumnBytes(s, 1);
      kv.create_revision = sqlite3_column_int64(s, 2);
      kv.mod_revision = sqlite3_column_int64(s, 3);
      kv.version = sqlite3_column_int64(s, 4);
      valid = kv.create_revision >= 1 && kv.create_revision <= kv.mod_revision &&
              kv.mod_revision <= contents->revision && kv.version >= 1;
    }
    if (!valid) return corrupt(fmt::format("invalid row for key {:?}", kv.key));
    contents->kvs.push_back(std::move(kv));
  }
  if (rc != SQLITE_DONE) return Error(rc, "cannot read the keys");
  return absl::OkStatus();
}

absl::Status SqlitePersistence::Prepare() {
  const struct {
    sqlite3_stmt** stmt;
    const char* sql;
  } statements[] = {
      {&upsert_,
       "INSERT OR REPLACE INTO kv(key, value, create_revision, mod_revision, version) "
       "VALUES(?, ?, ?, ?, ?)"},
      {&erase_, "DELETE FROM kv WHERE key = ?"},
      {&set_revision_, "UPDATE meta SET value = ? WHERE name = 'revision'"},
  };
  for (const auto& s : statements) {
    const int rc = sqlite3_prepare_v2(db_, s.sql, -1, s.stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, "cannot prepare statements");
  }
  return absl::OkStatus();
}

SqlitePersistence::~SqlitePersistence() {
  sqlite3_finalize(upsert_);
  sqlite3_finalize(erase_);
  sqlite3_finalize(set_revision_);
  sqlite3_close_v2(db_);
}

absl::Status SqlitePersistence::Commit(Revision revision, const std::vector<WatchEvent>& events) {
  int rc = sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "cannot begin a transaction");
  for (const WatchEvent& event : events) {
    if (event.type == WatchEvent::Type::kPut && event.kv.lease == 0) {
      BindBytes(upsert_, 1, event.kv.key);
      BindBytes(upsert_, 2, event.kv.value);
      sqlite3_bind_int64(upsert_, 3, event.kv.create_revision);
      sqlite3_bind_int64(upsert_, 4, event.kv.mod_revision);
      sqlite3_bind_int64(upsert_, 5, event.kv.version);
      rc = Run(upsert_);
    } else if (event.prev_kv && event.prev_kv->lease == 0) {
      // Deleted, or now leased: either way no longer on disk.
      BindBytes(erase_, 1, event.kv.key);
      rc = Run(erase_);
    }
    if (rc != SQLITE_OK) break;
  }
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(set_revision_, 1, revision);
    rc = Run(set_revision_);
  }
  if (rc == SQLITE_OK) rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status error = Error(rc, fmt::format("cannot persist revision {}", revision));
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return error;
  }
  return absl::OkStatus();
}

}  // namespace forest::coord::embedded_internal
