// Schema versions of the history database, applied in order and recorded in
// forest_schema_migrations:
//   1: the original's job_execute_snapshot (its DDL, adapted per backend),
//      created only when absent: a database of the original keeps its table.
//   2: Forest's columns, the narrow columns widened, created_at backfilled
//      from create_time, the time indexes, forest_quarantine.
//   3: the times statistics need as numbers (started_at, scheduled_at, in
//      ms), shard_total and timeout_seconds; an index for "running now".
//      Rows of version 2 get scheduled_at from scheduled_time, and
//      started_at from created_at (version 2 stored the start there).
//   4: forest_audit, the audit log (audit.h), with its indexes.
//   5: the alarm log (alarm_log.h): forest_alarm, forest_alarm_delivery,
//      forest_alarm_condition, with their indexes.
// Nodes migrating at once take turns (MigrationLock).
// Each step checks what exists before changing it, so a version interrupted
// half way (MySQL commits every DDL statement on its own) is finished by the
// next Open; on PostgreSQL and SQLite a version is one transaction.
#include <soci/soci.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/time.h"
#include "common/time_zone.h"
#include "history/soci_backend.h"

namespace forest::history::internal {
namespace {

using Kind = DbUrl::Kind;

constexpr char kTable[] = "job_execute_snapshot";

bool ColumnExists(soci::session& sql, Kind kind, const std::string& column) {
  long long n = 0;
  std::string table = kTable;
  std::string name = column;
  switch (kind) {
    case Kind::kSqlite:
      sql << "SELECT COUNT(*) FROM pragma_table_info('job_execute_snapshot') WHERE name = :c",
          soci::into(n), soci::use(name);
      break;
    case Kind::kPostgres:
      sql << "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = "
             "current_schema() AND table_name = :t AND column_name = :c",
          soci::into(n), soci::use(table), soci::use(name);
      break;
    case Kind::kMysql:
      sql << "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = "
             "DATABASE() AND table_name = :t AND column_name = :c",
          soci::into(n), soci::use(table), soci::use(name);
      break;
  }
  return n > 0;
}

// MySQL only: PostgreSQL and SQLite say CREATE INDEX IF NOT EXISTS.
bool MysqlIndexExists(soci::session& sql, const std::string& index,
                      const std::string& table_name = kTable) {
  long long n = 0;
  std::string table = table_name;
  std::string name = index;
  sql << "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() "
         "AND table_name = :t AND index_name = :i",
      soci::into(n), soci::use(table), soci::use(name);
  return n > 0;
}

// An index on job_execute_snapshot: MySQL names are per table (the
// original's `ip`, `job_id`...); PostgreSQL and SQLite names share the
// schema with tables, so there they carry the table's name.
void CreateIndex(soci::session& sql, Kind kind, const std::string& name,
                 const std::string& columns) {
  if (kind == Kind::kMysql) {
    if (!MysqlIndexExists(sql, name)) {
      sql << "CREATE INDEX `" + name + "` ON job_execute_snapshot (" + columns + ")";
    }
    return;
  }
  sql << "CREATE INDEX IF NOT EXISTS job_execute_snapshot_" + name + " ON job_execute_snapshot (" +
             columns + ")";
}

void RecordVersion(soci::session& sql, int version, Time now) {
  long long applied_at = now.time_since_epoch().count();
  sql << "INSERT INTO forest_schema_migrations (version, applied_at) VALUES (:v, :a)",
      soci::use(version), soci::use(applied_at);
}

struct Column {
  const char* name;
  std::string definition;
};

// Adds those of `columns` that are missing.
void AddColumns(soci::session& sql, Kind kind, const std::vector<Column>& columns) {
  for (const Column& c : columns) {
    if (!ColumnExists(sql, kind, c.name)) {
      sql << "ALTER TABLE job_execute_snapshot ADD COLUMN " + std::string(c.name) + " " +
                 c.definition;
    }
  }
}

// Version 1: the original's table, when absent.
void CreateOriginalTable(soci::session& sql, Kind kind) {
  if (kind == Kind::kMysql) {
    sql << "CREATE TABLE IF NOT EXISTS `job_execute_snapshot` ("
           "`id` VARCHAR(64) NOT NULL, "
           "`job_id` VARCHAR(32) NOT NULL, "
           "`name` VARCHAR(32) NOT NULL, "
           "`group` VARCHAR(32) NOT NULL, "
           "`cron` VARCHAR(32) NOT NULL, "
           "`target` VARCHAR(255) NOT NULL, "
           "`params` VARCHAR(255) DEFAULT NULL, "
           "`ip` VARCHAR(32) NOT NULL, "
           "`status` TINYINT(4) NOT NULL, "
           "`mobile` VARCHAR(32) DEFAULT NULL, "
           "`remark` VARCHAR(255) DEFAULT NULL, "
           "`create_time` VARCHAR(32) NOT NULL, "
           "`start_time` VARCHAR(255) DEFAULT NULL, "
           "`finish_time` VARCHAR(32) DEFAULT NULL, "
           "`times` BIGINT(20) DEFAULT '0', "
           "`result` VARCHAR(255) DEFAULT NULL, "
           "PRIMARY KEY (`id`), KEY `ip` (`ip`), KEY `job_id` (`job_id`), "
           "KEY `status` (`status`), KEY `group` (`group`)"
           ") ENGINE = INNODB DEFAULT CHARSET = utf8mb4";
    return;
  }
  const std::string status_type = kind == Kind::kPostgres ? "SMALLINT" : "INTEGER";
  sql << "CREATE TABLE IF NOT EXISTS job_execute_snapshot ("
         "id VARCHAR(64) NOT NULL PRIMARY KEY, "
         "job_id VARCHAR(32) NOT NULL, "
         "name VARCHAR(32) NOT NULL, "
         "\"group\" VARCHAR(32) NOT NULL, "
         "cron VARCHAR(32) NOT NULL, "
         "target VARCHAR(255) NOT NULL, "
         "params VARCHAR(255) DEFAULT NULL, "
         "ip VARCHAR(32) NOT NULL, "
         "status " +
             status_type +
             " NOT NULL, "
             "mobile VARCHAR(32) DEFAULT NULL, "
             "remark VARCHAR(255) DEFAULT NULL, "
             "create_time VARCHAR(32) NOT NULL, "
             "start_time VARCHAR(255) DEFAULT NULL, "
             "finish_time VARCHAR(32) DEFAULT NULL, "
             "times BIGINT DEFAULT 0, "
             "result VARCHAR(255) DEFAULT NULL)";
  CreateIndex(sql, kind, "ip", "ip");
  CreateIndex(sql, kind, "job_id", "job_id");
  CreateIndex(sql, kind, "status", "status");
  CreateIndex(sql, kind, "group", "\"group\"");
}

// Rows of the original have no created_at: it comes from their create_time
// (the original's local wall time), else the migration's time.
// `own_transaction`: one transaction a chunk (MySQL, where the version has none).
void BackfillCreatedAt(soci::session& sql, Time now, bool own_transaction) {
  const TimeZone zone = TimeZone::Local();
  constexpr int kChunk = 1000;
  for (;;) {
    std::vector<std::string> ids(kChunk);
    std::vector<std::string> create_times(kChunk);
    std::vector<soci::indicator> create_ind(kChunk);
    sql << "SELECT id, create_time FROM job_execute_snapshot WHERE created_at = 0 LIMIT " +
               std::to_string(kChunk),
        soci::into(ids), soci::into(create_times, create_ind);
    if (ids.empty()) return;
    std::unique_ptr<soci::transaction> tr;
    if (own_transaction) tr = std::make_unique<soci::transaction>(sql);
    std::string id;
    long long created_at = 0;
    soci::statement update =
        (sql.prepare << "UPDATE job_execute_snapshot SET created_at = :c, updated_at = :u "
                        "WHERE id = :id",
         soci::use(created_at), soci::use(created_at), soci::use(id));
    for (size_t i = 0; i < ids.size(); ++i) {
      id = ids[i];
      Time t = now;
      if (create_ind[i] == soci::i_ok) {
        if (auto parsed = ParseIso8601(create_times[i], zone); parsed.ok()) t = *parsed;
      }
      created_at = t.time_since_epoch().count();
      if (created_at <= 0) created_at = 1;  // 0 means "not yet backfilled"
      update.execute(true);
    }
    if (tr) tr->commit();
    if (ids.size() < static_cast<size_t>(kChunk)) return;
  }
}

// Version 2.
void AddForestSchema(soci::session& sql, Kind kind, Time now) {
  const bool mysql = kind == Kind::kMysql;
  const std::string long_text = mysql ? "MEDIUMTEXT" : "TEXT";
  if (mysql) {
    // The original's tables are utf8 (3 bytes): outputs hold any character.
    std::string collation;
    soci::indicator ind = soci::i_null;
    sql << "SELECT table_collation FROM information_schema.tables WHERE table_schema = "
           "DATABASE() AND table_name = 'job_execute_snapshot'",
        soci::into(collation, ind);
    if (ind != soci::i_ok || collation.rfind("utf8mb4", 0) != 0) {
      sql << "ALTER TABLE job_execute_snapshot CONVERT TO CHARACTER SET utf8mb4";
    }
  }
  const std::vector<Column> columns = {
      {"scheduled_time", "VARCHAR(32) NULL"},
      {"trigger_kind", "VARCHAR(16) NOT NULL DEFAULT 'cron'"},
      {"attempt", "INT NOT NULL DEFAULT 1"},
      {"exit_code", "INT NULL"},
      {"duration_ms", "BIGINT NULL"},
      {"output", long_text + " NULL"},
      {"worker", "VARCHAR(128) NOT NULL DEFAULT ''"},
      {"leader_node", "VARCHAR(128) NOT NULL DEFAULT ''"},
      {"created_at", "BIGINT NOT NULL DEFAULT 0"},
      {"updated_at", "BIGINT NOT NULL DEFAULT 0"},
  };
  AddColumns(sql, kind, columns);
  // Widths for our ids, names and params (SQLite has none to widen).
  if (mysql) {
    sql << "ALTER TABLE job_execute_snapshot "
           "MODIFY `job_id` VARCHAR(128) NOT NULL, "
           "MODIFY `name` VARCHAR(128) NOT NULL, "
           "MODIFY `group` VARCHAR(128) NOT NULL, "
           "MODIFY `cron` VARCHAR(255) NOT NULL, "
           "MODIFY `target` VARCHAR(4096) NOT NULL, "
           "MODIFY `params` MEDIUMTEXT NULL, "
           "MODIFY `ip` VARCHAR(128) NOT NULL, "
           "MODIFY `mobile` VARCHAR(255) NULL, "
           "MODIFY `remark` VARCHAR(1024) NULL, "
           "MODIFY `result` MEDIUMTEXT NULL";
  } else if (kind == Kind::kPostgres) {
    sql << "ALTER TABLE job_execute_snapshot "
           "ALTER COLUMN job_id TYPE VARCHAR(128), "
           "ALTER COLUMN name TYPE VARCHAR(128), "
           "ALTER COLUMN \"group\" TYPE VARCHAR(128), "
           "ALTER COLUMN cron TYPE VARCHAR(255), "
           "ALTER COLUMN target TYPE VARCHAR(4096), "
           "ALTER COLUMN params TYPE TEXT, "
           "ALTER COLUMN ip TYPE VARCHAR(128), "
           "ALTER COLUMN mobile TYPE VARCHAR(255), "
           "ALTER COLUMN remark TYPE VARCHAR(1024), "
           "ALTER COLUMN result TYPE TEXT";
  }
  BackfillCreatedAt(sql, now, /*own_transaction=*/mysql);
  const std::string group(GroupColumn(kind));
  CreateIndex(sql, kind, "job_id_created_at", "job_id, created_at");
  CreateIndex(sql, kind, "created_at", "created_at");
  CreateIndex(sql, kind, "group_created_at", group + ", created_at");
  switch (kind) {
    case Kind::kSqlite:
      sql << "CREATE TABLE IF NOT EXISTS forest_quarantine ("
             "id INTEGER PRIMARY KEY AUTOINCREMENT, record_key VARCHAR(1024) NOT NULL, "
             "raw_value TEXT, reason TEXT, created_at BIGINT NOT NULL)";
      break;
    case Kind::kPostgres:
      sql << "CREATE TABLE IF NOT EXISTS forest_quarantine ("
             "id BIGSERIAL PRIMARY KEY, record_key VARCHAR(1024) NOT NULL, "
             "raw_value TEXT, reason TEXT, created_at BIGINT NOT NULL)";
      break;
    case Kind::kMysql:
      sql << "CREATE TABLE IF NOT EXISTS forest_quarantine ("
             "id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, record_key VARCHAR(1024) NOT NULL, "
             "raw_value MEDIUMTEXT, reason TEXT, created_at BIGINT NOT NULL"
             ") ENGINE = INNODB DEFAULT CHARSET = utf8mb4";
      break;
  }
}

// Version 3.
void AddTimingColumns(soci::session& sql, Kind kind, bool own_transaction) {
  AddColumns(sql, kind,
             {
                 {"started_at", "BIGINT NULL"},
                 {"scheduled_at", "BIGINT NULL"},
                 {"shard_total", "INT NOT NULL DEFAULT 1"},
                 {"timeout_seconds", "BIGINT NOT NULL DEFAULT 0"},
             });
  // Rows of version 2: scheduled_time is Forest's RFC 3339 UTC text.
  constexpr int kChunk = 1000;
  for (;;) {
    std::vector<std::string> ids(kChunk);
    std::vector<std::string> scheduled(kChunk);
    sql << "SELECT id, scheduled_time FROM job_execute_snapshot WHERE scheduled_at IS NULL AND "
           "scheduled_time IS NOT NULL LIMIT " +
               std::to_string(kChunk),
        soci::into(ids), soci::into(scheduled);
    if (ids.empty()) break;
    std::unique_ptr<soci::transaction> tr;
    if (own_transaction) tr = std::make_unique<soci::transaction>(sql);
    std::string id;
    long long at = 0;
    soci::statement update =
        (sql.prepare << "UPDATE job_execute_snapshot SET scheduled_at = :s, started_at = "
                        "CASE WHEN start_time IS NULL THEN NULL ELSE created_at END WHERE id = :id",
         soci::use(at), soci::use(id));
    for (size_t i = 0; i < ids.size(); ++i) {
      id = ids[i];
      auto parsed = ParseIso8601(scheduled[i], TimeZone::Utc());
      // Unparsable text is left as it is, and out of the statistics.
      at = parsed.ok() ? parsed->time_since_epoch().count() : 0;
      update.execute(true);
    }
    if (tr) tr->commit();
    if (ids.size() < static_cast<size_t>(kChunk)) break;
  }
  CreateIndex(sql, kind, "status_created_at", "status, created_at");
}

// Version 4. Index names carry the table's on every backend.
void CreateAuditTable(soci::session& sql, Kind kind) {
  const std::string columns =
      "created_at BIGINT NOT NULL, "
      "actor VARCHAR(128) NOT NULL, "
      "action VARCHAR(64) NOT NULL, "
      "object_type VARCHAR(64) NOT NULL, "
      "object_id VARCHAR(255) NOT NULL, "
      "detail " +
      std::string(kind == Kind::kMysql ? "MEDIUMTEXT" : "TEXT") +
      " NULL, "
      "client_address VARCHAR(128) NOT NULL, "
      "ok SMALLINT NOT NULL";
  switch (kind) {
    case Kind::kSqlite:
      sql << "CREATE TABLE IF NOT EXISTS forest_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, " +
                 columns + ")";
      break;
    case Kind::kPostgres:
      sql << "CREATE TABLE IF NOT EXISTS forest_audit (id BIGSERIAL PRIMARY KEY, " + columns + ")";
      break;
    case Kind::kMysql:
      sql << "CREATE TABLE IF NOT EXISTS forest_audit (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY "
             "KEY, " +
                 columns + ") ENGINE = INNODB DEFAULT CHARSET = utf8mb4";
      break;
  }
  const std::vector<std::pair<std::string, std::string>> indexes = {
      {"forest_audit_created_at", "created_at"},
      {"forest_audit_actor", "actor, created_at"},
      {"forest_audit_action", "action, created_at"},
      {"forest_audit_object", "object_type, object_id, created_at"},
  };
  for (const auto& [name, index_columns] : indexes) {
    if (kind == Kind::kMysql) {
      if (!MysqlIndexExists(sql, name, "forest_audit")) {
        sql << "CREATE INDEX " + name + " ON forest_audit (" + index_columns + ")";
      }
    } else {
      sql << "CREATE INDEX IF NOT EXISTS " + name + " ON forest_audit (" + index_columns + ")";
    }
  }
}

// Version 5. Index names carry the table's on every backend.
void CreateAlarmTables(soci::session& sql, Kind kind) {
  const std::string text = kind == Kind::kMysql ? "MEDIUMTEXT" : "TEXT";
  const std::string engine =
      kind == Kind::kMysql ? " ENGINE = INNODB DEFAULT CHARSET = utf8mb4" : "";
  sql << "CREATE TABLE IF NOT EXISTS forest_alarm ("
         "id VARCHAR(64) NOT NULL PRIMARY KEY, "
         "kind VARCHAR(32) NOT NULL, "
         "job_id VARCHAR(128) NOT NULL, "
         "job_name VARCHAR(255) NOT NULL, "
         "group_name VARCHAR(128) NOT NULL, "
         "execution_id VARCHAR(64) NOT NULL, "
         "worker VARCHAR(128) NOT NULL, "
         "title VARCHAR(512) NOT NULL, "
         "detail " +
             text +
             " NULL, "
             "event_count BIGINT NOT NULL, "
             "first_at BIGINT NOT NULL, "
             "last_at BIGINT NOT NULL, "
             "created_at BIGINT NOT NULL, "
             "leader_node VARCHAR(128) NOT NULL)" +
             engine;
  sql << "CREATE TABLE IF NOT EXISTS forest_alarm_delivery ("
         "alarm_id VARCHAR(64) NOT NULL, "
         "channel_id VARCHAR(128) NOT NULL, "
         "channel_name VARCHAR(255) NOT NULL, "
         "channel_type VARCHAR(16) NOT NULL, "
         "state VARCHAR(16) NOT NULL, "
         "attempts INT NOT NULL, "
         "last_error VARCHAR(1024) NOT NULL, "
         "next_attempt_at BIGINT NOT NULL, "
         "owner VARCHAR(255) NOT NULL, "
         "updated_at BIGINT NOT NULL, "
         "sent_at BIGINT NULL, "
         "alarm_created_at BIGINT NOT NULL, "
         "PRIMARY KEY (alarm_id, channel_id))" +
             engine;
  sql << "CREATE TABLE IF NOT EXISTS forest_alarm_condition ("
         "cond_key VARCHAR(255) NOT NULL PRIMARY KEY, "
         "is_open SMALLINT NOT NULL, "
         "episode BIGINT NOT NULL, "
         "changed_at BIGINT NOT NULL)" +
             engine;
  const std::vector<std::pair<std::string, std::pair<std::string, std::string>>> indexes = {
      {"forest_alarm_created_at", {"forest_alarm", "created_at"}},
      {"forest_alarm_kind", {"forest_alarm", "kind, created_at"}},
      {"forest_alarm_job", {"forest_alarm", "job_id, created_at"}},
      {"forest_alarm_group", {"forest_alarm", "group_name, created_at"}},
      {"forest_alarm_delivery_due", {"forest_alarm_delivery", "state, next_attempt_at"}},
      {"forest_alarm_delivery_channel", {"forest_alarm_delivery", "channel_id, state"}},
      {"forest_alarm_condition_open", {"forest_alarm_condition", "is_open"}},
  };
  for (const auto& [name, on] : indexes) {
    const auto& [table, index_columns] = on;
    if (kind == Kind::kMysql) {
      if (!MysqlIndexExists(sql, name, table)) {
        sql << "CREATE INDEX " + name + " ON " + table + " (" + index_columns + ")";
      }
    } else {
      sql << "CREATE INDEX IF NOT EXISTS " + name + " ON " + table + " (" + index_columns + ")";
    }
  }
}

}  // namespace

std::string_view GroupColumn(DbUrl::Kind kind) {
  return kind == Kind::kMysql ? "`group`" : "\"group\"";
}

std::vector<int> AppliedVersions(soci::session& sql) {
  std::vector<int> versions;
  soci::rowset<int> rows =
      (sql.prepare << "SELECT version FROM forest_schema_migrations ORDER BY version");
  for (int v : rows) versions.push_back(v);
  return versions;
}

namespace {

// Holds the database's migration lock, so that nodes started together on a
// fresh database migrate one after the other (each then finds the versions
// the first applied). PostgreSQL: a session advisory lock; MySQL: a named
// lock; SQLite: one IMMEDIATE transaction around the whole migration (other
// connections wait on busy_timeout), committed by Commit().
class MigrationLock {
 public:
  MigrationLock(soci::session& sql, Kind kind) : sql_(sql), kind_(kind) {
    switch (kind_) {
      case Kind::kPostgres:
        sql_ << "SELECT pg_advisory_lock(" + std::to_string(kLockId) + ")";
        break;
      case Kind::kMysql: {
        int got = 0;
        soci::indicator ind = soci::i_null;
        sql_ << "SELECT GET_LOCK('forest_schema_migrations', 120)", soci::into(got, ind);
        if (ind != soci::i_ok || got != 1) {
          throw soci::soci_error("timed out waiting for another node's schema migration");
        }
        break;
      }
      case Kind::kSqlite:
        sql_ << "BEGIN IMMEDIATE";
        break;
    }
  }
  ~MigrationLock() {
    try {
      switch (kind_) {
        case Kind::kPostgres:
          sql_ << "SELECT pg_advisory_unlock(" + std::to_string(kLockId) + ")";
          break;
        case Kind::kMysql:
          sql_ << "SELECT RELEASE_LOCK('forest_schema_migrations')";
          break;
        case Kind::kSqlite:
          if (!committed_) sql_ << "ROLLBACK";
          break;
      }
    } catch (...) {
      // The connection is gone: so is the lock.
    }
  }
  void Commit() {
    if (kind_ == Kind::kSqlite) {
      sql_ << "COMMIT";
      committed_ = true;
    }
  }

 private:
  // "forest" in ASCII: any constant; it only has to be the same for every node.
  static constexpr long long kLockId = 0x666f72657374;
  soci::session& sql_;
  const Kind kind_;
  bool committed_ = false;
};

}  // namespace

void Migrate(soci::session& sql, DbUrl::Kind kind, Time now) {
  MigrationLock lock(sql, kind);
  sql << "CREATE TABLE IF NOT EXISTS forest_schema_migrations ("
         "version INT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)";
  const std::vector<int> applied = AppliedVersions(sql);
  auto is_applied = [&](int v) {
    for (int a : applied) {
      if (a == v) return true;
    }
    return false;
  };
  for (int version = 1; version <= kSchemaVersion; ++version) {
    if (is_applied(version)) continue;
    // DDL is transactional in PostgreSQL and SQLite, not in MySQL; SQLite's
    // versions share the lock's transaction.
    std::unique_ptr<soci::transaction> tr;
    if (kind == Kind::kPostgres) tr = std::make_unique<soci::transaction>(sql);
    if (version == 1) CreateOriginalTable(sql, kind);
    if (version == 2) AddForestSchema(sql, kind, now);
    if (version == 3) AddTimingColumns(sql, kind, /*own_transaction=*/kind == Kind::kMysql);
    if (version == 4) CreateAuditTable(sql, kind);
    if (version == 5) CreateAlarmTables(sql, kind);
    RecordVersion(sql, version, now);
    if (tr) tr->commit();
  }
  lock.Commit();
}

}  // namespace forest::history::internal
