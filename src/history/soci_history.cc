// The HistoryStore over SOCI: one session per store, serialized by a mutex,
// replaced on the call after it was lost. Every value goes through a bound
// parameter; only our own column names, placeholders and validated integers
// (LIMIT/OFFSET) are spliced into the SQL text.
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#if __has_include(<mysql.h>)
#include <soci/mysql/soci-mysql.h>
#else
// soci-mysql.h includes the client's <mysql.h> (libmariadb-dev), which only
// its declarations need; the factory is all we use.
namespace soci {
extern "C" backend_factory const* factory_mysql();
}  // namespace soci
#endif

#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/time_zone.h"
#include "history/history.h"
#include "history/soci_backend.h"

namespace forest::history {
namespace internal {

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
  if (url.kind == DbUrl::Kind::kSqlite) {
    // Readers (the API) then do not block the collector's writes.
    std::string mode;
    *session << "PRAGMA journal_mode=WAL", soci::into(mode);
  }
  if (url.kind == DbUrl::Kind::kPostgres) {
    // libpq prints notices ("already exists, skipping") to stderr.
    *session << "SET client_min_messages = warning";
  }
  return session;
}

bool IsConnectionError(const std::exception& e) {
  const auto* soci_error = dynamic_cast<const soci::soci_error*>(&e);
  return soci_error != nullptr &&
         soci_error->get_error_category() == soci::soci_error::connection_error;
}

absl::Status ErrorStatus(const std::exception& e, std::string_view what) {
  std::string message = std::string(what) + ": " + e.what();
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  if (IsConnectionError(e)) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

absl::Status ExecuteSql(const DbUrl& url, const std::vector<std::string>& statements) {
  try {
    std::unique_ptr<soci::session> sql = Connect(url);
    for (const std::string& s : statements) *sql << s;
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return ErrorStatus(e, "executing SQL on " + url.Describe());
  }
}

absl::StatusOr<std::string> QueryScalar(const DbUrl& url, const std::string& query) {
  try {
    std::unique_ptr<soci::session> sql = Connect(url);
    std::string value;
    soci::indicator ind = soci::i_null;
    *sql << query, soci::into(value, ind);
    if (!sql->got_data() || ind != soci::i_ok) return std::string();
    return value;
  } catch (const std::exception& e) {
    return ErrorStatus(e, "querying " + url.Describe());
  }
}

}  // namespace internal

namespace {

using internal::ErrorStatus;

constexpr int kMaxPageSize = 1000;

long long ToMillis(Time t) { return t.time_since_epoch().count(); }

// One row of job_execute_snapshot as bound values; nullable columns carry
// indicators.
struct DbRow {
  std::string id, job_id, name, group, cron, target, params, ip;
  int status = 1;
  std::string mobile, remark, create_time, start_time, finish_time;
  long long times = 0;
  std::string result, scheduled_time, trigger_kind;
  int attempt = 1;
  int exit_code = 0;
  long long duration_ms = 0;
  std::string output, worker, leader_node;
  long long created_at = 0;
  long long updated_at = 0;

  soci::indicator params_ind = soci::i_ok, mobile_ind = soci::i_ok, remark_ind = soci::i_ok,
                  start_ind = soci::i_ok, finish_ind = soci::i_ok, times_ind = soci::i_ok,
                  result_ind = soci::i_ok, scheduled_ind = soci::i_ok, exit_code_ind = soci::i_ok,
                  duration_ind = soci::i_ok, output_ind = soci::i_ok;
};

// The columns in DbRow's order; `output` last but two, kept apart so List
// can leave it out.
std::vector<std::string> ColumnNames(DbUrl::Kind kind) {
  return {"id",
          "job_id",
          "name",
          std::string(internal::GroupColumn(kind)),
          "cron",
          "target",
          "params",
          "ip",
          "status",
          "mobile",
          "remark",
          "create_time",
          "start_time",
          "finish_time",
          "times",
          "result",
          "scheduled_time",
          "trigger_kind",
          "attempt",
          "exit_code",
          "duration_ms",
          "output",
          "worker",
          "leader_node",
          "created_at",
          "updated_at"};
}

template <typename Exchange>
void ExchangeRow(DbRow& r, bool with_output, Exchange&& x) {
  x(r.id);
  x(r.job_id);
  x(r.name);
  x(r.group);
  x(r.cron);
  x(r.target);
  x(r.params, r.params_ind);
  x(r.ip);
  x(r.status);
  x(r.mobile, r.mobile_ind);
  x(r.remark, r.remark_ind);
  x(r.create_time);
  x(r.start_time, r.start_ind);
  x(r.finish_time, r.finish_ind);
  x(r.times, r.times_ind);
  x(r.result, r.result_ind);
  x(r.scheduled_time, r.scheduled_ind);
  x(r.trigger_kind);
  x(r.attempt);
  x(r.exit_code, r.exit_code_ind);
  x(r.duration_ms, r.duration_ind);
  if (with_output) x(r.output, r.output_ind);
  x(r.worker);
  x(r.leader_node);
  x(r.created_at);
  x(r.updated_at);
}

struct IntoRow {
  soci::statement& st;
  template <typename T>
  void operator()(T& v) {
    st.exchange(soci::into(v));
  }
  template <typename T>
  void operator()(T& v, soci::indicator& ind) {
    st.exchange(soci::into(v, ind));
  }
};

struct UseRow {
  soci::statement& st;
  template <typename T>
  void operator()(T& v) {
    st.exchange(soci::use(v));
  }
  template <typename T>
  void operator()(T& v, soci::indicator& ind) {
    st.exchange(soci::use(v, ind));
  }
};

std::string SelectColumns(DbUrl::Kind kind, bool with_output) {
  std::string out;
  for (const std::string& c : ColumnNames(kind)) {
    if (!with_output && c == "output") continue;
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

// The upsert: a stored final status is never replaced by running (the
// whole row is kept then).
std::string UpsertSql(DbUrl::Kind kind) {
  const std::vector<std::string> cols = ColumnNames(kind);
  std::string names, values;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i > 0) {
      names += ", ";
      values += ", ";
    }
    names += cols[i];
    values += ":v" + std::to_string(i);
  }
  std::string sql = "INSERT INTO job_execute_snapshot (" + names + ") VALUES (" + values + ")";
  std::string sets;
  if (kind == DbUrl::Kind::kMysql) {
    // MySQL assigns left to right and later expressions see earlier
    // assignments: status goes last so every test reads the stored one.
    std::vector<std::string> ordered;
    for (const std::string& c : cols) {
      if (c != "id" && c != "status") ordered.push_back(c);
    }
    ordered.push_back("status");
    for (const std::string& c : ordered) {
      if (!sets.empty()) sets += ", ";
      sets += c + " = IF(status <> 1 AND VALUES(status) = 1, " + c + ", VALUES(" + c + "))";
    }
    return sql + " ON DUPLICATE KEY UPDATE " + sets;
  }
  for (const std::string& c : cols) {
    if (c == "id") continue;
    if (!sets.empty()) sets += ", ";
    sets += c +
            " = CASE WHEN job_execute_snapshot.status <> 1 AND excluded.status = 1 "
            "THEN job_execute_snapshot." +
            c + " ELSE excluded." + c + " END";
  }
  return sql + " ON CONFLICT (id) DO UPDATE SET " + sets;
}

// created_at: the record's start, else its legacy create time (local wall
// time, as the original writes it), else now.
long long CreatedAt(const model::ExecutionRecord& r, Time now) {
  if (r.started_at) return ToMillis(*r.started_at);
  if (!r.run.create_time.empty()) {
    if (auto t = ParseIso8601(r.run.create_time, TimeZone::Local()); t.ok()) return ToMillis(*t);
  }
  return ToMillis(now);
}

void ToRow(const Execution& e, Time now, DbRow* row) {
  const model::ExecutionRecord& r = e.record;
  const model::Assignment& a = r.run;
  row->id = a.id;
  row->job_id = a.job_id;
  row->name = a.name;
  row->group = a.group;
  row->cron = a.cron;
  row->target = a.target;
  row->params = a.params;
  row->params_ind = soci::i_ok;
  row->ip = a.ip;
  row->status = static_cast<int>(r.status);
  row->mobile = a.mobile;
  row->mobile_ind = soci::i_ok;
  row->remark = a.remark;
  row->remark_ind = soci::i_ok;
  row->create_time = a.create_time;
  row->start_time = r.start_time;
  row->start_ind = soci::i_ok;
  row->finish_time = r.finish_time;
  row->finish_ind = soci::i_ok;
  row->times = r.times;
  row->times_ind = soci::i_ok;
  row->result = r.result;
  row->result_ind = soci::i_ok;
  row->scheduled_time = a.scheduled_time ? FormatRfc3339Millis(*a.scheduled_time) : "";
  row->scheduled_ind = a.scheduled_time ? soci::i_ok : soci::i_null;
  row->trigger_kind = std::string(model::Name(a.trigger));
  row->attempt = a.attempt;
  row->exit_code = r.exit_code.value_or(0);
  row->exit_code_ind = r.exit_code ? soci::i_ok : soci::i_null;
  row->duration_ms = r.duration_ms.value_or(0);
  row->duration_ind = r.duration_ms ? soci::i_ok : soci::i_null;
  row->output = r.output;
  row->output_ind = soci::i_ok;
  row->worker = e.worker;
  row->leader_node = e.leader_node;
  row->created_at = CreatedAt(r, now);
  row->updated_at = ToMillis(now);
}

std::string OrEmpty(const std::string& s, soci::indicator ind) {
  return ind == soci::i_ok ? s : std::string();
}

model::RunStatus StatusFromDb(int s) {
  switch (s) {
    case 1:
      return model::RunStatus::kRunning;
    case 2:
      return model::RunStatus::kSuccess;
    case -1:
    case 4:  // the original's DDL comment numbers errors 4
      return model::RunStatus::kError;
    default:
      return model::RunStatus::kUnknown;
  }
}

Execution FromRow(const DbRow& row) {
  Execution e;
  model::ExecutionRecord& r = e.record;
  model::Assignment& a = r.run;
  a.id = row.id;
  a.job_id = row.job_id;
  a.name = row.name;
  a.group = row.group;
  a.cron = row.cron;
  a.target = row.target;
  a.params = OrEmpty(row.params, row.params_ind);
  a.ip = row.ip;
  a.mobile = OrEmpty(row.mobile, row.mobile_ind);
  a.remark = OrEmpty(row.remark, row.remark_ind);
  a.create_time = row.create_time;
  if (row.scheduled_ind == soci::i_ok) {
    if (auto t = ParseIso8601(row.scheduled_time, TimeZone::Utc()); t.ok()) a.scheduled_time = *t;
  }
  if (auto t = model::ParseTrigger(row.trigger_kind); t.ok()) a.trigger = *t;
  a.attempt = row.attempt;
  if (auto key = model::ParseSnapshotId(row.id); key.ok()) a.shard_index = key->shard_index;
  r.start_time = OrEmpty(row.start_time, row.start_ind);
  r.finish_time = OrEmpty(row.finish_time, row.finish_ind);
  r.times = row.times_ind == soci::i_ok ? row.times : 0;
  r.status = StatusFromDb(row.status);
  r.result = OrEmpty(row.result, row.result_ind);
  if (row.duration_ind == soci::i_ok) r.duration_ms = row.duration_ms;
  if (row.exit_code_ind == soci::i_ok) r.exit_code = row.exit_code;
  r.output = OrEmpty(row.output, row.output_ind);
  e.worker = row.worker;
  e.leader_node = row.leader_node;
  return e;
}

// WHERE clauses with their bound values, in placeholder order.
class Filters {
 public:
  void Add(const std::string& condition_prefix, std::string value) {
    clauses_.push_back(condition_prefix + Next());
    strings_.push_back(std::move(value));
    order_.push_back({true, strings_.size() - 1});
  }
  void Add(const std::string& condition_prefix, long long value) {
    clauses_.push_back(condition_prefix + Next());
    numbers_.push_back(value);
    order_.push_back({false, numbers_.size() - 1});
  }
  std::string Where() const {
    std::string out;
    for (const std::string& c : clauses_) out += (out.empty() ? " WHERE " : " AND ") + c;
    return out;
  }
  void Bind(soci::statement& st) {
    for (const auto& [is_string, index] : order_) {
      if (is_string) {
        st.exchange(soci::use(strings_[index]));
      } else {
        st.exchange(soci::use(numbers_[index]));
      }
    }
  }

 private:
  std::string Next() { return ":f" + std::to_string(order_.size()); }
  std::vector<std::string> clauses_;
  std::deque<std::string> strings_;  // deques: bound by address
  std::deque<long long> numbers_;
  std::vector<std::pair<bool, size_t>> order_;
};

class SociHistory final : public HistoryStore {
 public:
  SociHistory(DbUrl url, Clock& clock, std::unique_ptr<soci::session> session)
      : url_(std::move(url)),
        clock_(clock),
        upsert_sql_(UpsertSql(url_.kind)),
        session_(std::move(session)) {}

  absl::Status Upsert(const std::vector<Execution>& batch) override {
    for (const Execution& e : batch) {
      if (e.record.run.id.empty()) return absl::InvalidArgumentError("execution without an id");
    }
    if (batch.empty()) return absl::OkStatus();
    return Run("upserting executions", [&](soci::session& sql) -> absl::Status {
      const Time now = clock_.Now();
      DbRow row;
      soci::transaction tr(sql);
      soci::statement st(sql);
      ExchangeRow(row, /*with_output=*/true, UseRow{st});
      st.alloc();
      st.prepare(upsert_sql_);
      st.define_and_bind();
      for (const Execution& e : batch) {
        ToRow(e, now, &row);
        st.execute(true);
      }
      tr.commit();
      return absl::OkStatus();
    });
  }

  absl::Status Quarantine(std::string_view key, std::string_view value,
                          std::string_view reason) override {
    return Run("quarantining a record", [&](soci::session& sql) -> absl::Status {
      std::string k(key), v(value), why(reason);
      long long now = ToMillis(clock_.Now());
      sql << "INSERT INTO forest_quarantine (record_key, raw_value, reason, created_at) "
             "VALUES (:k, :v, :r, :c)",
          soci::use(k), soci::use(v), soci::use(why), soci::use(now);
      return absl::OkStatus();
    });
  }

  absl::StatusOr<Page> List(const Query& query) override {
    if (query.page_size < 1 || query.page_size > kMaxPageSize) {
      return absl::InvalidArgumentError("page size " + std::to_string(query.page_size) +
                                        " is outside 1.." + std::to_string(kMaxPageSize));
    }
    if (query.page_no < 1) {
      return absl::InvalidArgumentError("page number " + std::to_string(query.page_no) +
                                        " is below 1");
    }
    return Run("listing executions", [&](soci::session& sql) -> absl::StatusOr<Page> {
      Filters filters;
      if (!query.id.empty()) filters.Add("id = ", query.id);
      if (!query.job_id.empty()) filters.Add("job_id = ", query.job_id);
      if (!query.job_name.empty()) filters.Add("name = ", query.job_name);
      if (!query.group.empty()) {
        filters.Add(std::string(internal::GroupColumn(url_.kind)) + " = ", query.group);
      }
      if (!query.worker.empty()) filters.Add("ip = ", query.worker);
      if (query.status) filters.Add("status = ", static_cast<long long>(*query.status));
      if (query.trigger) filters.Add("trigger_kind = ", std::string(model::Name(*query.trigger)));
      if (query.from) filters.Add("created_at >= ", ToMillis(*query.from));
      if (query.to) filters.Add("created_at < ", ToMillis(*query.to));
      const std::string where = filters.Where();

      Page page;
      {
        long long count = 0;
        soci::statement st(sql);
        filters.Bind(st);
        st.exchange(soci::into(count));
        st.alloc();
        st.prepare("SELECT COUNT(*) FROM job_execute_snapshot" + where);
        st.define_and_bind();
        st.execute(true);
        page.total_count = count;
        page.total_pages = (count + query.page_size - 1) / query.page_size;
      }
      const long long offset = static_cast<long long>(query.page_no - 1) * query.page_size;
      if (offset >= page.total_count) return page;
      DbRow row;
      soci::statement st(sql);
      filters.Bind(st);
      ExchangeRow(row, /*with_output=*/false, IntoRow{st});
      st.alloc();
      st.prepare("SELECT " + SelectColumns(url_.kind, false) + " FROM job_execute_snapshot" +
                 where + " ORDER BY created_at DESC, id DESC LIMIT " +
                 std::to_string(query.page_size) + " OFFSET " + std::to_string(offset));
      st.define_and_bind();
      st.execute(false);
      while (st.fetch()) page.rows.push_back(FromRow(row));
      return page;
    });
  }

  absl::StatusOr<Execution> Get(std::string_view id) override {
    return Run("reading an execution", [&](soci::session& sql) -> absl::StatusOr<Execution> {
      std::string key(id);
      DbRow row;
      soci::statement st(sql);
      st.exchange(soci::use(key));
      ExchangeRow(row, /*with_output=*/true, IntoRow{st});
      st.alloc();
      st.prepare("SELECT " + SelectColumns(url_.kind, true) +
                 " FROM job_execute_snapshot WHERE id = :id");
      st.define_and_bind();
      if (!st.execute(true)) {
        return absl::NotFoundError("no execution \"" + key + "\"");
      }
      return FromRow(row);
    });
  }

  absl::StatusOr<int64_t> DeleteOlderThan(Time before, int limit) override {
    if (limit < 1) {
      return absl::InvalidArgumentError("delete limit " + std::to_string(limit) + " is below 1");
    }
    return Run("deleting old executions", [&](soci::session& sql) -> absl::StatusOr<int64_t> {
      long long cutoff = ToMillis(before);
      const std::string n = std::to_string(limit);
      std::string text =
          url_.kind == DbUrl::Kind::kMysql
              ? "DELETE FROM job_execute_snapshot WHERE created_at < :b ORDER BY created_at "
                "LIMIT " +
                    n
              : "DELETE FROM job_execute_snapshot WHERE id IN (SELECT id FROM "
                "job_execute_snapshot WHERE created_at < :b ORDER BY created_at LIMIT " +
                    n + ")";
      soci::statement st = (sql.prepare << text, soci::use(cutoff));
      st.execute(true);
      return static_cast<int64_t>(st.get_affected_rows());
    });
  }

 private:
  // Runs `fn` on the session (connecting first when there is none) and maps
  // what SOCI throws; a lost connection is dropped, the next call makes a
  // new one.
  template <typename Fn>
  auto Run(std::string_view what, Fn&& fn) -> decltype(fn(std::declval<soci::session&>())) {
    std::lock_guard<std::mutex> lock(mu_);
    if (session_ == nullptr) {
      try {
        session_ = internal::Connect(url_);
      } catch (const std::exception& e) {
        return absl::UnavailableError("connecting to " + url_.Describe() + ": " + e.what());
      }
    }
    try {
      return fn(*session_);
    } catch (const std::exception& e) {
      absl::Status status = ErrorStatus(e, what);
      if (internal::IsConnectionError(e) || !session_->is_connected()) {
        session_.reset();
        if (status.code() != absl::StatusCode::kUnavailable) {
          status = absl::UnavailableError(std::string(status.message()));
        }
      }
      return status;
    }
  }

  const DbUrl url_;
  Clock& clock_;
  const std::string upsert_sql_;
  std::mutex mu_;
  std::unique_ptr<soci::session> session_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<HistoryStore>> Open(const DbUrl& url) {
  return Open(url, SystemClock::Get());
}

absl::StatusOr<std::unique_ptr<HistoryStore>> Open(const DbUrl& url, Clock& clock) {
  if (url.kind == DbUrl::Kind::kSqlite && url.path.empty()) {
    return absl::InvalidArgumentError("sqlite database URL without a file");
  }
  if (url.kind != DbUrl::Kind::kSqlite && url.database.empty()) {
    return absl::InvalidArgumentError("database URL " + url.Describe() + " names no database");
  }
  std::unique_ptr<soci::session> session;
  try {
    session = internal::Connect(url);
  } catch (const std::exception& e) {
    return absl::UnavailableError("connecting to " + url.Describe() + ": " + e.what());
  }
  try {
    internal::Migrate(*session, url.kind, clock.Now());
  } catch (const std::exception& e) {
    return ErrorStatus(e, "migrating the history schema on " + url.Describe());
  }
  return std::make_unique<SociHistory>(url, clock, std::move(session));
}

}  // namespace forest::history
