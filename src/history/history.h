// Execution history: every execution record, stored in SQL, queried by the
// API and UI. One interface, backends through SOCI: SQLite (the standalone
// default, a file in the data directory), PostgreSQL, MySQL/MariaDB.
//
// The table is the original's `job_execute_snapshot` (its columns, names and
// meanings, so the original's UI and reports keep working on it) plus ours:
// scheduled_time, trigger_kind, attempt, exit_code, duration_ms, output,
// worker, leader_node, updated_at. Open() creates the schema or migrates an
// existing one (a database created by the original gets the missing columns
// and indexes; every row is kept), recording applied versions in
// `forest_schema_migrations`. Records that do not parse go to
// `forest_quarantine` (raw value and reason).
//
// Writes are upserts by id, in batches, in one transaction each: applying
// the same batch twice leaves the table as applying it once, which is what
// makes the collector's retries (and a leader change mid-batch) harmless.
// A row is never moved back from a final status to running.
//
// Thread safety: all methods may be called from any thread; a backend
// serializes access to its connection(s) as it needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/time.h"
#include "common/time_zone.h"
#include "model/snapshot.h"

namespace forest::history {

// Where the history lives, parsed from --db-url: sqlite:///path/file.db (or
// sqlite://relative.db), postgres://user:pass@host:port/db,
// postgresql://..., mysql://user:pass@host:port/db, and the original's Go
// DSN user:pass@tcp(host:port)/db?charset=utf8.
struct DbUrl {
  enum class Kind { kSqlite, kPostgres, kMysql };
  Kind kind = Kind::kSqlite;
  std::string path;  // sqlite: the file
  std::string host;
  int port = 0;  // 0 = the backend's default
  std::string user;
  std::string password;
  std::string database;
  // The SOCI backend name and connection string.
  std::string SociBackend() const;
  std::string SociConnect() const;
  // For logs: the password hidden.
  std::string Describe() const;
};
// InvalidArgument naming what is wrong.
absl::StatusOr<DbUrl> ParseDbUrl(std::string_view url);

// One row: the record as stored, and where it came from.
struct Execution {
  model::ExecutionRecord record;  // run.id is the primary key
  std::string worker;             // the worker segment of the record's key
  std::string leader_node;        // the leader that collected it
};

// OK when every backend can store `e`; otherwise InvalidArgument naming the
// field: an empty id, a key field (id, job id, name, group, worker, ...)
// longer than its column or not valid UTF-8. The collector quarantines
// such records instead of retrying them forever. Free text (params,
// result, output, ...) is never refused: Upsert stores it with invalid
// UTF-8 replaced by U+FFFD and NUL bytes removed, the same on every backend.
absl::Status CheckStorable(const Execution& e);

struct Query {
  std::string id;
  std::string job_id;
  std::string job_name;  // exact match on `name`
  std::string group;
  std::string worker;  // matches `ip`
  std::optional<model::RunStatus> status;
  std::optional<model::Trigger> trigger;
  std::optional<Time> from;  // create time >= from
  std::optional<Time> to;    // create time < to
  int page_size = 20;        // 1..1000
  int page_no = 1;           // from 1
};

struct Page {
  int64_t total_count = 0;
  int64_t total_pages = 0;
  std::vector<Execution> rows;  // newest first; output omitted (see Get)
};

// Statistics over executions created in [from, to), grouped by job, by
// group or by calendar day (in `zone`), optionally of one job or group.
enum class StatsBy { kJob, kGroup, kDay };
struct StatsQuery {
  StatsBy by = StatsBy::kJob;
  Time from;
  Time to;             // after from; at most kMaxStatsRange later
  std::string job_id;  // optional filters
  std::string group;
  TimeZone zone;  // days of StatsBy::kDay (UTC by default)
};
inline constexpr std::chrono::hours kMaxStatsRange{24 * 400};

// Percentiles are nearest-rank: p of n sorted values is the
// ceil(p * n)-th. Durations count finished runs that reported one; fire lag
// (start minus scheduled time) counts runs with both times, never below 0.
struct StatsRow {
  std::string key;       // the job id, the group, or the day (YYYY-MM-DD)
  std::string job_name;  // by job: the name of its newest execution
  std::string group;     // by job and by group
  int64_t total = 0;
  int64_t running = 0;
  int64_t success = 0;
  int64_t error = 0;
  int64_t unknown = 0;                 // lost: the worker vanished
  std::optional<double> success_rate;  // success / finished; none when none finished
  std::optional<int64_t> duration_p50_ms, duration_p95_ms, duration_max_ms;
  std::optional<int64_t> lag_p50_ms, lag_p95_ms;
  friend bool operator==(const StatsRow&, const StatsRow&) = default;
};

// The dashboard's headline: the 24 hours before `now`, and what runs now.
struct Overview {
  int64_t runs_24h = 0;
  int64_t success_24h = 0;
  int64_t failures_24h = 0;  // error and unknown
  int64_t running_now = 0;   // status running, whenever created
  std::optional<double> success_rate_24h;
};

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // Upserts every execution in one transaction (all or nothing).
  virtual absl::Status Upsert(const std::vector<Execution>& batch) = 0;
  // Keeps a record that does not parse, with why.
  virtual absl::Status Quarantine(std::string_view key, std::string_view value,
                                  std::string_view reason) = 0;
  virtual absl::StatusOr<Page> List(const Query& query) = 0;
  // One execution with its whole output; NotFound when absent.
  virtual absl::StatusOr<Execution> Get(std::string_view id) = 0;
  // Deletes at most `limit` rows created before `before`; answers how many.
  virtual absl::StatusOr<int64_t> DeleteOlderThan(Time before, int limit) = 0;
  // Rows in key order (days chronologically); InvalidArgument for an empty,
  // reversed or too long range.
  virtual absl::StatusOr<std::vector<StatsRow>> Statistics(const StatsQuery& query) = 0;
  virtual absl::StatusOr<Overview> Summary(Time now) = 0;
};

// Connects, then creates or migrates the schema. kUnavailable when the
// database cannot be reached; kInvalidArgument for an unusable URL.
// The store keeps one connection, serialized by a mutex, and replaces it on
// the next call after a connection error. `clock` (which must outlive the
// store) stamps updated_at and quarantine rows; Open(url) uses the system's.
absl::StatusOr<std::unique_ptr<HistoryStore>> Open(const DbUrl& url);
absl::StatusOr<std::unique_ptr<HistoryStore>> Open(const DbUrl& url, Clock& clock);

}  // namespace forest::history
