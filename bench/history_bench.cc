// The execution history (history::HistoryStore and history::Collector) on
// each backend: SQLite (a file in a temporary directory), PostgreSQL and
// MariaDB (real servers started by DbServer on free loopback ports; a
// backend whose server is not installed is skipped, saying so). Prints, per
// backend:
//
//   1. Collector throughput: a real single-member etcd (EtcdCluster, fsync
//      on), N final execution records (status 2) written under
//      /forest/client/execute/snapshot/{group}/{worker}/{id} in transactions
//      of kMaxTxnOps puts, before a Collector is told to lead (with a token
//      from a real coord::Election); timed from Lead() until stats().deleted
//      == N: every row stored and every key deleted. Also where the time went
//      (Upsert, the store's ranges and delete transactions, the rest).
//   2. The baseline, in the same run on the same database: the same N rows
//      (the same column values) inserted by plain SOCI into an empty scratch
//      copy of job_execute_snapshot (same columns and indexes), one prepared
//      INSERT executed per row, one transaction per 500 rows (the
//      collector's batch size). Run twice (before and after the collector);
//      the faster run is the baseline. Then collector / raw (target >= 0.8).
//      Between the two, to tell the store's share from the collector's: the
//      same rows through HistoryStore::Upsert called directly, in the
//      collector's batches of 500 (into the empty table, emptied again).
//   3. Page queries: job_execute_snapshot filled with M rows (100 jobs, 10
//      groups, spread over 30 days; 5% errors, 2% unknown) by multi-row
//      INSERTs of 1,000 rows, 100 statements per transaction; then p50 / p99
//      of HistoryStore::List, 20 rows a page, for one job page 1, one job
//      page 50, one job and status error page 1, each over R repetitions of
//      the same job and then R cycling through the 100 jobs (whose rows are
//      interleaved: colder pages), and (the UI's first screen) no filter
//      page 1. Target: p99 < 20 ms.
//      PostgreSQL gets VACUUM ANALYZE and MariaDB ANALYZE TABLE after the
//      load (what autovacuum and InnoDB's persistent statistics do by
//      themselves after such a load); SQLite nothing (Forest never runs
//      ANALYZE there).
//
// The database servers are DbServer's, configured for tests: PostgreSQL with
// fsync and synchronous_commit off and 32 MB shared buffers, MariaDB with
// innodb_flush_log_at_trx_commit=2 and a 32 MB buffer pool. SQLite syncs as
// it always does (WAL, synchronous FULL). Both sides of each ratio run on the
// same database, so the ratio is fair; the absolute figures of the servers
// are not those of a durable production setup.
//
// Defaults: N = 20,000, M = 1,000,000, R = 200: about 3-4 minutes for the
// three backends. --quick (the CTest smoke test): N = 500, M = 20,000,
// R = 20, a few seconds per backend. --backend sqlite|postgres|mariadb runs
// one; --records N, --rows M, --reps R override the sizes.
#include <fmt/format.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#if __has_include(<mysql.h>)
#include <soci/mysql/soci-mysql.h>
#else
// soci-mysql.h includes the client's <mysql.h> (libmariadb-dev), which only
// its declarations need; the factory is all we use (as soci_history.cc).
namespace soci {
extern "C" backend_factory const* factory_mysql();
}  // namespace soci
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/clock.h"
#include "common/time.h"
#include "common/time_zone.h"
#include "coord/election.h"
#include "coord/etcd/etcd_store.h"
#include "coord/testing/etcd_cluster.h"
#include "coord/testing/forwarding_store.h"
#include "history/collector.h"
#include "history/history.h"
#include "history/testing/db_servers.h"
#include "model/keys.h"
#include "model/snapshot.h"

namespace forest::history {
namespace {

namespace keys = model::keys;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kNode = "bench-node";
constexpr int kRawBatch = 500;            // rows per transaction of the baseline
constexpr int kJobs = 100;                // the query part's jobs
constexpr int kLoadRowsPerInsert = 1000;  // the query part's multi-row INSERTs
constexpr int kLoadInsertsPerTxn = 100;
constexpr auto kCollectorTimeout = std::chrono::minutes(10);

struct Config {
  int records = 20000;  // 1, 2: execution records collected / inserted
  int rows = 1000000;   // 3: rows in the table queried
  int reps = 200;       // 3: repetitions per query
  std::string backend;  // empty: all three
};

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }
double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Nearest rank: the ceil(p * n)-th of the sorted values.
double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = size_t(std::ceil(p * double(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

// 1234567 -> "1,234,567".
std::string Thousands(double value) {
  std::string digits = fmt::format("{:.0f}", value);
  std::string out;
  const size_t start = digits[0] == '-' ? 1 : 0;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > start && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// A failure that ends the benchmark (with exit status 1).
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
template <typename T>
T Check(std::string_view what, absl::StatusOr<T> result) {
  if (!result.ok()) throw Failure(fmt::format("{}: {}", what, result.status().ToString()));
  return *std::move(result);
}
void Check(std::string_view what, const absl::Status& status) {
  if (!status.ok()) throw Failure(fmt::format("{}: {}", what, status.ToString()));
}

// --- Records and rows ----------------------------------------------------------

// A finished run of job `job` fired at `scheduled`, as a worker records it.
struct Record {
  model::ExecutionRecord record;
  std::string worker;
};

Record MakeRecord(int job, int index, Time scheduled, model::RunStatus status) {
  static const TimeZone local = TimeZone::Local();
  Record out;
  out.worker = fmt::format("worker-{}", index % 8);
  model::Assignment& a = out.record.run;
  a.job_id = fmt::format("job{:04}", job);
  a.id = model::SnapshotId(model::RunKey{a.job_id, scheduled, false, 1, 0});
  a.name = fmt::format("nightly report {}", job);
  a.group = fmt::format("group{}", job % 10);
  a.ip = out.worker;
  a.cron = "*/5 * * * * ?";
  a.target = "/usr/local/bin/report --quiet";
  a.params = "--region=eu";
  a.create_time = model::FormatLegacyTime(scheduled, local);
  a.scheduled_time = scheduled;
  a.timeout_seconds = 60;
  const Time started = scheduled + milliseconds(3 + index % 7);
  const milliseconds took(40 + index % 200);
  model::ExecutionRecord& r = out.record;
  r.started_at = started;
  r.start_time = model::FormatLegacyTime(started, local);
  r.finish_time = model::FormatLegacyTime(started + took, local);
  r.times = took.count() / 1000;
  r.status = status;
  r.duration_ms = took.count();
  r.exit_code = status == model::RunStatus::kSuccess ? 0 : 1;
  r.result = status == model::RunStatus::kSuccess ? "ok" : "exit status 1";
  r.output = "report written: 42 lines\n";
  return out;
}

// One row of job_execute_snapshot as the store writes a Record (the values
// of history/soci_rows.cc's ToRow for a record with every field set). The
// column list is ours, not the store's internal one, so that a column the
// store adds later keeps its default here.
struct RawRow {
  std::string id, job_id, name, group, cron, target, params, ip;
  int status = 0;
  std::string mobile, remark, create_time, start_time, finish_time;
  long long times = 0;
  std::string result, scheduled_time, trigger_kind;
  int attempt = 1, exit_code = 0;
  long long duration_ms = 0;
  std::string output, worker, leader_node;
  long long created_at = 0, updated_at = 0, started_at = 0, scheduled_at = 0;
  int shard_total = 1;
  long long timeout_seconds = 0;
};

long long ToMs(Time t) { return t.time_since_epoch().count(); }

RawRow ToRawRow(const Record& in, Time now) {
  const model::ExecutionRecord& r = in.record;
  const model::Assignment& a = r.run;
  RawRow row;
  row.id = a.id;
  row.job_id = a.job_id;
  row.name = a.name;
  row.group = a.group;
  row.cron = a.cron;
  row.target = a.target;
  row.params = a.params;
  row.ip = a.ip;
  row.status = static_cast<int>(r.status);
  row.mobile = a.mobile;
  row.remark = a.remark;
  row.create_time = a.create_time;
  row.start_time = r.start_time;
  row.finish_time = r.finish_time;
  row.times = r.times;
  row.result = r.result;
  row.scheduled_time = FormatRfc3339Millis(*a.scheduled_time);
  row.trigger_kind = std::string(model::Name(a.trigger));
  row.attempt = a.attempt;
  row.exit_code = *r.exit_code;
  row.duration_ms = *r.duration_ms;
  row.output = r.output;
  row.worker = in.worker;
  row.leader_node = kNode;
  row.created_at = ToMs(*r.started_at);
  row.updated_at = ToMs(now);
  row.started_at = ToMs(*r.started_at);
  row.scheduled_at = ToMs(*a.scheduled_time);
  row.shard_total = a.shard_total;
  row.timeout_seconds = a.timeout_seconds;
  return row;
}

// Calls fn(column name, field) for every column, in one fixed order.
template <typename Fn>
void ForEachColumn(RawRow& r, DbUrl::Kind kind, Fn&& fn) {
  fn("id", r.id);
  fn("job_id", r.job_id);
  fn("name", r.name);
  fn(kind == DbUrl::Kind::kMysql ? "`group`" : "\"group\"", r.group);
  fn("cron", r.cron);
  fn("target", r.target);
  fn("params", r.params);
  fn("ip", r.ip);
  fn("status", r.status);
  fn("mobile", r.mobile);
  fn("remark", r.remark);
  fn("create_time", r.create_time);
  fn("start_time", r.start_time);
  fn("finish_time", r.finish_time);
  fn("times", r.times);
  fn("result", r.result);
  fn("scheduled_time", r.scheduled_time);
  fn("trigger_kind", r.trigger_kind);
  fn("attempt", r.attempt);
  fn("exit_code", r.exit_code);
  fn("duration_ms", r.duration_ms);
  fn("output", r.output);
  fn("worker", r.worker);
  fn("leader_node", r.leader_node);
  fn("created_at", r.created_at);
  fn("updated_at", r.updated_at);
  fn("started_at", r.started_at);
  fn("scheduled_at", r.scheduled_at);
  fn("shard_total", r.shard_total);
  fn("timeout_seconds", r.timeout_seconds);
}

std::string ColumnList(DbUrl::Kind kind) {
  RawRow unused;
  std::string out;
  ForEachColumn(unused, kind, [&](const char* name, auto&) {
    if (!out.empty()) out += ", ";
    out += name;
  });
  return out;
}

// An SQL string literal (our generated values only).
std::string Literal(const std::string& s, DbUrl::Kind kind) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    if (c == '\\' && kind == DbUrl::Kind::kMysql) out += '\\';
    out += c;
  }
  return out + "'";
}

void AppendValues(RawRow& r, DbUrl::Kind kind, std::string& sql) {
  sql += '(';
  bool first = true;
  ForEachColumn(r, kind, [&](const char*, auto& v) {
    if (!first) sql += ',';
    first = false;
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
      sql += Literal(v, kind);
    } else {
      sql += std::to_string(v);
    }
  });
  sql += ')';
}

// --- Databases -------------------------------------------------------------------

std::unique_ptr<soci::session> Connect(const DbUrl& url) {
  const soci::backend_factory* factory = nullptr;
  switch (url.kind) {
    case DbUrl::Kind::kSqlite:
      factory = soci::factory_sqlite3();
      break;
    case DbUrl::Kind::kPostgres:
      factory = soci::factory_postgresql();
      break;
    case DbUrl::Kind::kMysql:
      factory = soci::factory_mysql();
      break;
  }
  auto session = std::make_unique<soci::session>(*factory, url.SociConnect());
  // libpq prints notices ("does not exist, skipping") to stderr.
  if (url.kind == DbUrl::Kind::kPostgres) *session << "SET client_min_messages = warning";
  return session;
}

long long CountRows(soci::session& sql, const std::string& table) {
  long long n = 0;
  sql << "SELECT COUNT(*) FROM " + table, soci::into(n);
  return n;
}

// An empty copy of job_execute_snapshot: its columns, defaults and indexes.
void CreateScratchTable(soci::session& sql, DbUrl::Kind kind, const std::string& name) {
  sql << "DROP TABLE IF EXISTS " + name;
  switch (kind) {
    case DbUrl::Kind::kPostgres:
      sql << "CREATE TABLE " + name + " (LIKE job_execute_snapshot INCLUDING ALL)";
      return;
    case DbUrl::Kind::kMysql:
      sql << "CREATE TABLE " + name + " LIKE job_execute_snapshot";
      return;
    case DbUrl::Kind::kSqlite: {
      // The table's and its indexes' own DDL (as altered by the migrations),
      // renamed: the index names carry the table's name.
      std::vector<std::string> ddl;
      soci::rowset<std::string> rows =
          (sql.prepare << "SELECT sql FROM sqlite_master WHERE tbl_name = 'job_execute_snapshot' "
                          "AND sql IS NOT NULL ORDER BY type DESC");  // table, then indexes
      for (const std::string& s : rows) ddl.push_back(s);
      for (std::string s : ddl) {
        for (size_t at = s.find("job_execute_snapshot"); at != std::string::npos;
             at = s.find("job_execute_snapshot", at + name.size())) {
          s.replace(at, std::strlen("job_execute_snapshot"), name);
        }
        sql << s;
      }
      return;
    }
  }
}

// A backend to measure: its URL and, for the servers, the server.
struct Backend {
  std::string name;
  DbUrl url;
  std::unique_ptr<testing::DbServer> server;
  std::string temp_dir;  // sqlite
  ~Backend() {
    server.reset();
    if (!temp_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(temp_dir, ec);
    }
  }
};

// Starts the backend; nullptr (having said why) when its server is not
// installed.
std::unique_ptr<Backend> StartBackend(const std::string& name) {
  auto backend = std::make_unique<Backend>();
  backend->name = name;
  if (name == "sqlite") {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/history_bench.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw Failure("mkdtemp " + pattern);
    backend->temp_dir = pattern;
    backend->url = Check("sqlite url", ParseDbUrl("sqlite://" + pattern + "/history.db"));
    return backend;
  }
  const auto started = Steady::now();
  absl::StatusOr<std::unique_ptr<testing::DbServer>> server =
      name == "postgres" ? testing::DbServer::StartPostgres() : testing::DbServer::StartMariaDb();
  if (absl::IsNotFound(server.status())) {
    fmt::print("== {}: skipped, its server is not installed ({})\n\n", name,
               std::string(server.status().message()));
    return nullptr;
  }
  backend->server = Check("starting " + name, std::move(server));
  backend->url = Check(name + " url", ParseDbUrl(backend->server->url()));
  fmt::print("({} started in {:.1f} s)\n", name, Seconds(Steady::now() - started));
  return backend;
}

// --- 1. Collector ---------------------------------------------------------------

// Time spent in the calls the collector makes.
class TimedStore final : public coord::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::StatusOr<coord::RangeResponse> Range(const coord::RangeRequest& r) override {
    const auto start = Steady::now();
    auto out = inner_.Range(r);
    range_ns += (Steady::now() - start).count();
    return out;
  }
  absl::StatusOr<coord::TxnResponse> Txn(const coord::TxnRequest& r) override {
    const auto start = Steady::now();
    auto out = inner_.Txn(r);
    txn_ns += (Steady::now() - start).count();
    ++txns;
    return out;
  }
  std::atomic<int64_t> range_ns{0}, txn_ns{0}, txns{0};
};

class TimedHistory final : public HistoryStore {
 public:
  explicit TimedHistory(HistoryStore& inner) : inner_(inner) {}
  absl::Status Upsert(const std::vector<Execution>& batch) override {
    const auto start = Steady::now();
    absl::Status out = inner_.Upsert(batch);
    upsert_ns += (Steady::now() - start).count();
    return out;
  }
  absl::Status Quarantine(std::string_view key, std::string_view value,
                          std::string_view reason) override {
    return inner_.Quarantine(key, value, reason);
  }
  absl::StatusOr<Page> List(const Query& q) override { return inner_.List(q); }
  absl::StatusOr<Execution> Get(std::string_view id) override { return inner_.Get(id); }
  absl::StatusOr<int64_t> DeleteOlderThan(Time before, int limit) override {
    return inner_.DeleteOlderThan(before, limit);
  }
  absl::StatusOr<std::vector<StatsRow>> Statistics(const StatsQuery& q) override {
    return inner_.Statistics(q);
  }
  absl::StatusOr<Overview> Summary(Time now) override { return inner_.Summary(now); }
  std::atomic<int64_t> upsert_ns{0};

 private:
  HistoryStore& inner_;
};

std::vector<Record> CollectorRecords(int n) {
  // Fired in the last hour, a few ms apart, over 100 jobs.
  const Time base = SystemClock::Get().Now() - std::chrono::hours(1);
  std::vector<Record> out;
  out.reserve(size_t(n));
  for (int i = 0; i < n; ++i) {
    out.push_back(MakeRecord(i % kJobs, i, base + milliseconds(i * 7), model::RunStatus::kSuccess));
  }
  return out;
}

int64_t CountExecuteKeys(coord::Store& store) {
  coord::RangeRequest range;
  range.key = std::string(keys::kExecutePrefix);
  range.range_end = coord::PrefixEnd(range.key);
  range.count_only = true;
  return Check("count execution records", store.Range(range)).count;
}

struct CollectorResult {
  double seconds = 0;
  double rate = 0;
};

CollectorResult MeasureCollector(const std::string& backend, coord::Store& store,
                                 coord::Revision token, HistoryStore& history, soci::session& sql,
                                 const std::vector<Record>& records) {
  const int n = int(records.size());
  // The records, as workers leave them, in transactions of kMaxTxnOps puts.
  for (size_t i = 0; i < records.size(); i += coord::kMaxTxnOps) {
    coord::TxnRequest txn;
    for (size_t k = i; k < std::min(records.size(), i + coord::kMaxTxnOps); ++k) {
      const Record& r = records[k];
      txn.success.push_back(
          coord::PutRequest{keys::Execute(r.record.run.group, r.worker, r.record.run.id),
                            r.record.ToJson(), 0, false});
    }
    Check("write execution records", store.Txn(txn));
  }
  if (CountExecuteKeys(store) != n) throw Failure("the execution records are not all in etcd");

  TimedStore timed_store(store);
  TimedHistory timed_history(history);
  CollectorOptions options;
  options.node_id = kNode;
  std::unique_ptr<Collector> collector =
      Check("start the collector", Collector::Start(timed_store, timed_history, options));

  const auto start = Steady::now();
  collector->Lead(token);
  std::optional<Steady::time_point> stored;
  CollectorStats stats;
  for (;;) {
    stats = collector->stats();
    const auto now = Steady::now();
    if (!stored && stats.collected >= n) stored = now;
    if (stats.deleted >= n) break;
    if (now - start > kCollectorTimeout || stats.fenced_out > 0) {
      throw Failure(fmt::format("the collector stopped at {} stored, {} deleted of {}",
                                stats.collected, stats.deleted, n));
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  const auto done = Steady::now();
  collector.reset();

  const double elapsed = Seconds(done - start);
  const double upsert = double(timed_history.upsert_ns) / 1e9;
  const double range = double(timed_store.range_ns) / 1e9;
  const double txn = double(timed_store.txn_ns) / 1e9;
  fmt::print(
      "collector: {} final records, etcd -> {}, stored and deleted in {:.2f} s: {:>9} "
      "records/s\n",
      Thousands(n), backend, elapsed, Thousands(n / elapsed));
  fmt::print(
      "  all stored after {:.2f} s; {} batches, {} db errors, {} store errors, last Upsert "
      "{} ms\n",
      Seconds(*stored - start), stats.batches, stats.db_errors, stats.store_errors,
      stats.last_batch_latency.count());
  fmt::print(
      "  time in: Upsert {:.2f} s ({:.1f} ms per batch), etcd ranges {:.2f} s, etcd delete "
      "txns {:.2f} s ({} txns, {:.1f} ms each), the rest {:.2f} s\n",
      upsert, stats.batches > 0 ? upsert * 1000 / double(stats.batches) : 0.0, range, txn,
      timed_store.txns.load(), timed_store.txns > 0 ? txn * 1000 / double(timed_store.txns) : 0.0,
      std::max(0.0, elapsed - upsert - range - txn));

  const long long rows = CountRows(sql, "job_execute_snapshot");
  const int64_t left = CountExecuteKeys(store);
  if (rows != n || left != 0 || stats.db_errors != 0 || stats.store_errors != 0) {
    throw Failure(fmt::format(
        "collector: {} rows in the table and {} records left in etcd (want {} and 0), {} db "
        "errors, {} store errors",
        rows, left, n, stats.db_errors, stats.store_errors));
  }
  return {elapsed, n / elapsed};
}

// --- 2. Baseline: a plain batched INSERT ----------------------------------------

// Seconds to insert `rows` into a fresh scratch copy of the table.
double RawInsert(soci::session& sql, DbUrl::Kind kind, std::vector<RawRow>& rows) {
  const std::string table = "bench_raw_insert";
  CreateScratchTable(sql, kind, table);
  RawRow row;
  std::string placeholders;
  soci::statement st(sql);
  int i = 0;
  ForEachColumn(row, kind, [&](const char*, auto& v) {
    st.exchange(soci::use(v));
    if (i > 0) placeholders += ", ";
    placeholders += ":v" + std::to_string(i++);
  });
  st.alloc();
  st.prepare("INSERT INTO " + table + " (" + ColumnList(kind) + ") VALUES (" + placeholders + ")");
  st.define_and_bind();

  const auto start = Steady::now();
  for (size_t b = 0; b < rows.size(); b += kRawBatch) {
    soci::transaction tr(sql);
    for (size_t k = b; k < std::min(rows.size(), b + kRawBatch); ++k) {
      row = rows[k];
      st.execute(true);
    }
    tr.commit();
  }
  const double elapsed = Seconds(Steady::now() - start);
  const long long n = CountRows(sql, table);
  if (n != (long long)rows.size()) {
    throw Failure(fmt::format("raw insert: {} rows in {}, want {}", n, table, rows.size()));
  }
  sql << "DROP TABLE " + table;
  return elapsed;
}

// Between the two: the store's own Upsert, called directly with the
// collector's batches (no etcd, no collector thread), into the empty table,
// which is emptied again afterwards. Answers the seconds in Upsert.
double DirectUpsert(HistoryStore& history, soci::session& sql, DbUrl::Kind kind,
                    const std::vector<Record>& records) {
  std::vector<std::vector<Execution>> batches;
  for (size_t b = 0; b < records.size(); b += kRawBatch) {
    std::vector<Execution>& batch = batches.emplace_back();
    for (size_t k = b; k < std::min(records.size(), b + kRawBatch); ++k) {
      batch.push_back(Execution{records[k].record, records[k].worker, kNode});
    }
  }
  const auto start = Steady::now();
  for (const std::vector<Execution>& batch : batches) Check("Upsert", history.Upsert(batch));
  const double elapsed = Seconds(Steady::now() - start);
  const long long n = CountRows(sql, "job_execute_snapshot");
  if (n != (long long)records.size()) {
    throw Failure(fmt::format("Upsert: {} rows in the table, want {}", n, records.size()));
  }
  sql << (kind == DbUrl::Kind::kSqlite ? "DELETE FROM job_execute_snapshot"
                                       : "TRUNCATE TABLE job_execute_snapshot");
  return elapsed;
}

// --- 3. Page queries --------------------------------------------------------------

// Fills the (emptied) table with `n` rows; answers the seconds it took.
double BulkLoad(soci::session& sql, DbUrl::Kind kind, int n) {
  sql << "DELETE FROM job_execute_snapshot";
  const Time end = SystemClock::Get().Now();
  const Time begin = end - std::chrono::hours(24 * 30);
  const int64_t step_ms = std::max<int64_t>(1, (end - begin).count() / n);
  const std::string head = "INSERT INTO job_execute_snapshot (" + ColumnList(kind) + ") VALUES ";
  const auto start = Steady::now();
  std::unique_ptr<soci::transaction> tr;
  int statements = 0;
  std::string text;
  for (int k = 0; k < n;) {
    if (tr == nullptr) tr = std::make_unique<soci::transaction>(sql);
    text = head;
    for (int row = 0; row < kLoadRowsPerInsert && k < n; ++row, ++k) {
      const int run = k / kJobs;  // the job's own sequence number
      const model::RunStatus status = run % 20 == 7    ? model::RunStatus::kError
                                      : run % 50 == 13 ? model::RunStatus::kUnknown
                                                       : model::RunStatus::kSuccess;
      RawRow r = ToRawRow(
          MakeRecord(k % kJobs, k, begin + milliseconds(int64_t(k) * step_ms), status), end);
      if (row > 0) text += ',';
      AppendValues(r, kind, text);
    }
    sql << text;
    if (++statements % kLoadInsertsPerTxn == 0 || k == n) {
      tr->commit();
      tr.reset();
    }
  }
  return Seconds(Steady::now() - start);
}

struct QueryFigure {
  double p50 = 0, p99 = 0;
};

// p50 and p99 of List(make(rep)) over `reps` repetitions.
QueryFigure TimeList(HistoryStore& history, const std::string& label, int reps,
                     const std::function<Query(int rep)>& make, int64_t* total, size_t* returned) {
  std::vector<double> ms;
  for (int rep = 0; rep < reps; ++rep) {
    const Query q = make(rep);
    const auto start = Steady::now();
    const Page page = Check("List", history.List(q));
    ms.push_back(Ms(Steady::now() - start));
    *total = page.total_count;
    *returned = page.rows.size();
    if (page.rows.empty()) throw Failure(label + ": an empty page");
  }
  return {Percentile(ms, 0.5), Percentile(ms, 0.99)};
}

// One job's query: the same job every time (job0037), then the 100 jobs in
// turn (what many users looking at different jobs cost the database).
struct JobQueryFigures {
  QueryFigure one, all;
};

JobQueryFigures TimeJobQuery(HistoryStore& history, const std::string& label, int reps,
                             const std::function<void(Query&)>& shape) {
  int64_t total = 0;
  size_t returned = 0;
  auto make = [&](int job) {
    Query q;
    q.job_id = fmt::format("job{:04}", job);
    shape(q);
    return q;
  };
  JobQueryFigures f;
  f.one = TimeList(
      history, label, reps, [&](int) { return make(37); }, &total, &returned);
  f.all = TimeList(
      history, label, reps, [&](int rep) { return make((rep * 37) % kJobs); }, &total, &returned);
  fmt::print(
      "  {:<34} one job: p50 {:6.2f}, p99 {:6.2f} ms | 100 jobs in turn: p50 {:6.2f}, "
      "p99 {:6.2f} ms  ({} rows of {})\n",
      label, f.one.p50, f.one.p99, f.all.p50, f.all.p99, returned, Thousands(double(total)));
  return f;
}

// --- The run ------------------------------------------------------------------------

struct Figures {
  std::string backend;
  double collector = 0, raw = 0, upsert = 0;
  JobQueryFigures page1, later, filtered;
  QueryFigure unfiltered;
  int later_page = 0;
};

Figures RunBackend(Backend& backend, coord::Store& store, coord::Revision token,
                   const Config& config) {
  Figures figures;
  figures.backend = backend.name;
  fmt::print("== {} ({})\n", backend.name, backend.url.Describe());
  std::unique_ptr<HistoryStore> history = Check("open the history", Open(backend.url));
  std::unique_ptr<soci::session> sql = Connect(backend.url);
  const DbUrl::Kind kind = backend.url.kind;

  // 1 and 2: the same rows; the baseline before and after the collector.
  const std::vector<Record> records = CollectorRecords(config.records);
  std::vector<RawRow> raw_rows;
  const Time now = SystemClock::Get().Now();
  for (const Record& r : records) raw_rows.push_back(ToRawRow(r, now));
  const double raw_before = RawInsert(*sql, kind, raw_rows);
  const double upsert = DirectUpsert(*history, *sql, kind, records);
  const CollectorResult collected =
      MeasureCollector(backend.name, store, token, *history, *sql, records);
  const double raw_after = RawInsert(*sql, kind, raw_rows);
  const double raw = std::min(raw_before, raw_after);
  const double n = double(config.records);
  fmt::print(
      "raw insert: {} rows into a copy of the table, one prepared INSERT per row, {} rows per "
      "transaction: {:.2f} s, {:>9} rows/s  (before the collector {} /s, after {} /s)\n",
      Thousands(n), kRawBatch, raw, Thousands(n / raw), Thousands(n / raw_before),
      Thousands(n / raw_after));
  fmt::print(
      "store Upsert alone: the same rows, HistoryStore::Upsert called with the collector's "
      "batches of {}: {:.2f} s, {:>9} rows/s = {:.2f} x raw\n",
      kRawBatch, upsert, Thousands(n / upsert), (n / upsert) / (n / raw));
  figures.collector = collected.rate;
  figures.raw = n / raw;
  figures.upsert = n / upsert;
  fmt::print("collector / raw insert = {:.2f} (target >= 0.8)\n", collected.rate / (n / raw));

  // 3.
  const double load = BulkLoad(*sql, kind, config.rows);
  if (backend.server != nullptr) {
    const auto start = Steady::now();
    Check("analyze", backend.server->Exec(kind == DbUrl::Kind::kPostgres
                                              ? "VACUUM ANALYZE job_execute_snapshot"
                                              : "ANALYZE TABLE job_execute_snapshot"));
    fmt::print("({} after the load: {:.1f} s)\n",
               kind == DbUrl::Kind::kPostgres ? "VACUUM ANALYZE" : "ANALYZE TABLE",
               Seconds(Steady::now() - start));
  }
  const long long count = CountRows(*sql, "job_execute_snapshot");
  fmt::print(
      "page queries: job_execute_snapshot holds {} rows ({} jobs, 30 days; loaded in {:.1f} s, "
      "{} rows/s), 20 rows a page, {} repetitions each (target p99 < 20 ms):\n",
      Thousands(double(count)), kJobs, load, Thousands(config.rows / load), config.reps);
  if (count != config.rows) throw Failure("the load left a wrong row count");
  const int pages = std::max(1, config.rows / kJobs / 20);
  figures.later_page = std::min(50, pages);
  figures.page1 = TimeJobQuery(*history, "List(job, page 1)", config.reps, [](Query&) {});
  figures.later = TimeJobQuery(*history, fmt::format("List(job, page {})", figures.later_page),
                               config.reps, [&](Query& q) { q.page_no = figures.later_page; });
  figures.filtered = TimeJobQuery(*history, "List(job + status error, page 1)", config.reps,
                                  [](Query& q) { q.status = model::RunStatus::kError; });
  int64_t total = 0;
  size_t returned = 0;
  figures.unfiltered = TimeList(
      *history, "no filter", config.reps, [](int) { return Query{}; }, &total, &returned);
  fmt::print("  {:<34} p50 {:6.2f}, p99 {:6.2f} ms  ({} rows of {})\n", "List(no filter, page 1)",
             figures.unfiltered.p50, figures.unfiltered.p99, returned, Thousands(double(total)));
  fmt::print("\n");
  return figures;
}

int Run(const Config& config) {
  spdlog::set_level(spdlog::level::warn);  // not the collector's "collecting" lines
  auto cluster = Check("start etcd", coord::testing::EtcdCluster::Start(1));
  coord::EtcdStoreOptions store_options;
  store_options.endpoints = cluster->endpoints();
  std::unique_ptr<coord::EtcdStore> store =
      Check("connect to etcd", coord::EtcdStore::Connect(store_options));
  coord::ElectionOptions election_options;
  election_options.node_id = kNode;
  std::unique_ptr<coord::Election> election =
      Check("campaign", coord::Election::Start(*store, election_options));
  const auto deadline = Steady::now() + std::chrono::seconds(20);
  while (!election->token().has_value()) {
    if (Steady::now() > deadline) throw Failure("not elected within 20 s");
    std::this_thread::sleep_for(milliseconds(5));
  }
  const coord::Revision token = *election->token();
  fmt::print(
      "history_bench: Collector on EtcdStore -> etcd 3.4 (one member on 127.0.0.1, fsync on); "
      "{} records, {} rows queried, {} cores\n\n",
      Thousands(config.records), Thousands(config.rows), std::thread::hardware_concurrency());

  std::vector<Figures> all;
  for (const std::string name : {"sqlite", "postgres", "mariadb"}) {
    if (!config.backend.empty() && config.backend != name) continue;
    std::unique_ptr<Backend> backend = StartBackend(name);
    if (backend == nullptr) continue;
    all.push_back(RunBackend(*backend, *store, token, config));
  }

  if (!all.empty()) {
    fmt::print(
        "summary ({} records; {} rows queried; p99 ms, one job / 100 jobs in turn):\n"
        "  backend   collector/s  Upsert/s  raw insert/s  ratio | page 1        page {:<2}       "
        "job+status    no filter\n",
        Thousands(config.records), Thousands(config.rows), all.front().later_page);
    for (const Figures& f : all) {
      auto pair = [](const JobQueryFigures& q) {
        return fmt::format("{:.1f} / {:.1f}", q.one.p99, q.all.p99);
      };
      fmt::print("  {:<9} {:>11} {:>9} {:>13} {:>6.2f} | {:<13} {:<13} {:<13} {:.1f}\n", f.backend,
                 Thousands(f.collector), Thousands(f.upsert), Thousands(f.raw), f.collector / f.raw,
                 pair(f.page1), pair(f.later), pair(f.filtered), f.unfiltered.p99);
    }
  }
  election.reset();
  store.reset();
  return 0;
}

}  // namespace
}  // namespace forest::history

int main(int argc, char** argv) {
  forest::history::Config config;
  auto number = [&](int& i) {
    if (i + 1 >= argc) return -1;
    return std::atoi(argv[++i]);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      config.records = 500;
      config.rows = 20000;
      config.reps = 20;
    } else if (arg == "--backend" && i + 1 < argc) {
      config.backend = argv[++i];
      if (config.backend != "sqlite" && config.backend != "postgres" &&
          config.backend != "mariadb") {
        fmt::print(stderr, "history_bench: unknown backend {}\n", config.backend);
        return 2;
      }
    } else if (arg == "--records") {
      config.records = number(i);
    } else if (arg == "--rows") {
      config.rows = number(i);
    } else if (arg == "--reps") {
      config.reps = number(i);
    } else {
      fmt::print(stderr,
                 "usage: history_bench [--quick] [--backend sqlite|postgres|mariadb] "
                 "[--records N] [--rows M] [--reps R]\n");
      return 2;
    }
  }
  if (config.records < 1 || config.rows < forest::history::kJobs * 20 || config.reps < 1) {
    fmt::print(stderr, "history_bench: --records >= 1, --rows >= 2000, --reps >= 1\n");
    return 2;
  }
  try {
    return forest::history::Run(config);
  } catch (const std::exception& e) {
    // soci::soci_error too.
    fmt::print(stderr, "history_bench: {}\n", e.what());
    return 1;
  }
}
