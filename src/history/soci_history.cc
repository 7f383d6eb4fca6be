// The HistoryStore over SOCI: one session per store, serialized by a mutex,
// replaced on the call after it was lost (soci_session.h). Every value goes
// through a bound parameter; only our own column names, placeholders and
// validated integers (LIMIT/OFFSET) are spliced into the SQL text.
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

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/time_zone.h"
#include "history/history.h"
#include "history/soci_backend.h"
#include "history/soci_rows.h"
#include "history/soci_session.h"
#include "history/stats.h"

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
    // Readers (the API) then do not block the collector's writes. Switching
    // a file to WAL while another connection opens it answers "database is
    // locked" at once (SQLite calls no busy handler there): try again for
    // as long as the busy timeout would wait.
    std::string mode;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int attempt = 1;; ++attempt) {
      try {
        *session << "PRAGMA journal_mode=WAL", soci::into(mode);
        break;
      } catch (const soci::soci_error& e) {
        if (std::string_view(e.what()).find("database is locked") == std::string_view::npos ||
            std::chrono::steady_clock::now() > deadline) {
          throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(attempt, 20)));
      }
    }
    // Another connection's write (a migration, retention) makes this one
    // wait, not fail.
    *session << "PRAGMA busy_timeout = 10000";
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

absl::StatusOr<std::unique_ptr<soci::session>> ConnectAndMigrate(const DbUrl& url, Time now) {
  if (url.kind == DbUrl::Kind::kSqlite && url.path.empty()) {
    return absl::InvalidArgumentError("sqlite database URL without a file");
  }
  if (url.kind != DbUrl::Kind::kSqlite && url.database.empty()) {
    return absl::InvalidArgumentError("database URL " + url.Describe() + " names no database");
  }
  std::unique_ptr<soci::session> session;
  try {
    session = Connect(url);
  } catch (const std::exception& e) {
    return absl::UnavailableError("connecting to " + url.Describe() + ": " + e.what());
  }
  try {
    Migrate(*session, url.kind, now);
  } catch (const std::exception& e) {
    return ErrorStatus(e, "migrating the history schema on " + url.Describe());
  }
  return session;
}

}  // namespace internal

namespace {

using internal::DbRow;
using internal::ErrorStatus;
using internal::ExchangeRow;
using internal::CountPages;
using internal::Filters;
using internal::FromRow;
using internal::PageCount;
using internal::IntoRow;
using internal::SelectColumns;
using internal::ToMillis;
using internal::UseRow;

constexpr int kMaxPageSize = 1000;
// Rows of one upsert statement: 64 x 30 placeholders, within every backend's limit.
constexpr size_t kRowsPerStatement = 64;

class SociHistory final : public HistoryStore {
 public:
  SociHistory(DbUrl url, Clock& clock, std::unique_ptr<soci::session> session)
      : url_(std::move(url)),
        clock_(clock),
        upsert_sql_(internal::UpsertSql(url_.kind)),
        db_(url_, std::move(session)) {}

  absl::Status Upsert(const std::vector<Execution>& batch) override {
    for (const Execution& e : batch) {
      if (e.record.run.id.empty()) return absl::InvalidArgumentError("execution without an id");
    }
    if (batch.empty()) return absl::OkStatus();
    // Rows go several to a statement on a server (one round trip each, not
    // one per row); a batch naming an id twice goes one row at a time.
    std::unordered_set<std::string_view> ids;
    bool repeated = false;
    for (const Execution& e : batch) repeated |= !ids.insert(e.record.run.id).second;
    // SQLite has no round trip to save, and SOCI binds its many-row
    // statements by name, slowly: one row a statement there.
    const size_t per_statement = repeated || url_.kind == DbUrl::Kind::kSqlite
                                     ? 1
                                     : std::min(kRowsPerStatement, batch.size());
    return db_.Run("upserting executions", [&](soci::session& sql) -> absl::Status {
      const Time now = clock_.Now();
      soci::transaction tr(sql);
      size_t next = 0;
      // Executes a statement of `k` rows for as many whole groups of k as remain.
      const auto upsert_by = [&](size_t k) {
        std::vector<DbRow> rows(k);
        soci::statement st(sql);
        for (DbRow& row : rows) ExchangeRow(row, /*with_output=*/true, UseRow{st});
        st.alloc();
        st.prepare(k == 1 ? upsert_sql_ : internal::UpsertSql(url_.kind, k));
        st.define_and_bind();
        while (batch.size() - next >= k) {
          for (size_t j = 0; j < k; ++j) internal::ToRow(batch[next + j], now, &rows[j]);
          st.execute(true);
          next += k;
        }
      };
      upsert_by(per_statement);
      if (next < batch.size()) upsert_by(batch.size() - next);
      tr.commit();
      return absl::OkStatus();
    });
  }

  absl::Status Quarantine(std::string_view key, std::string_view value,
                          std::string_view reason) override {
    return db_.Run("quarantining a record", [&](soci::session& sql) -> absl::Status {
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
    return db_.Run("listing executions", [&](soci::session& sql) -> absl::StatusOr<Page> {
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
        const PageCount counted = CountPages(sql, filters, "job_execute_snapshot", query.page_size);
        page.total_count = counted.total_count;
        page.total_pages = counted.total_pages;
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
    return db_.Run("reading an execution", [&](soci::session& sql) -> absl::StatusOr<Execution> {
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
    return db_.Run("deleting old executions", [&](soci::session& sql) -> absl::StatusOr<int64_t> {
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

  absl::StatusOr<std::vector<StatsRow>> Statistics(const StatsQuery& query) override {
    RETURN_IF_ERROR(internal::ValidateStatsQuery(query));
    using Rows = std::vector<StatsRow>;
    return db_.Run("computing statistics", [&](soci::session& sql) -> absl::StatusOr<Rows> {
      const std::string group(internal::GroupColumn(url_.kind));
      Filters filters;
      filters.Add("created_at >= ", ToMillis(query.from));
      filters.Add("created_at < ", ToMillis(query.to));
      if (!query.job_id.empty()) filters.Add("job_id = ", query.job_id);
      if (!query.group.empty()) filters.Add(group + " = ", query.group);

      // Fetched a chunk at a time: one row's strings at a time would cost
      // an allocation per column per row.
      constexpr size_t kChunk = 1000;
      std::vector<std::string> job_ids(kChunk), names(kChunk), groups(kChunk);
      std::vector<int> statuses(kChunk);
      std::vector<long long> created(kChunk), durations(kChunk), started(kChunk), scheduled(kChunk);
      std::vector<soci::indicator> duration_ind(kChunk), started_ind(kChunk), scheduled_ind(kChunk);
      soci::statement st(sql);
      filters.Bind(st);
      st.exchange(soci::into(job_ids));
      st.exchange(soci::into(names));
      st.exchange(soci::into(groups));
      st.exchange(soci::into(statuses));
      st.exchange(soci::into(created));
      st.exchange(soci::into(durations, duration_ind));
      st.exchange(soci::into(started, started_ind));
      st.exchange(soci::into(scheduled, scheduled_ind));
      st.alloc();
      st.prepare("SELECT job_id, name, " + group +
                 ", status, created_at, duration_ms, started_at, scheduled_at "
                 "FROM job_execute_snapshot" +
                 filters.Where());
      st.define_and_bind();
      st.execute(false);
      internal::StatsAccumulator stats(query);
      internal::StatsInput in;
      auto present = [](const std::vector<long long>& v, const std::vector<soci::indicator>& ind,
                        size_t i) -> std::optional<long long> {
        // 0: a version 2 time that did not parse (see migrations.cc).
        if (ind[i] != soci::i_ok || v[i] <= 0) return std::nullopt;
        return v[i];
      };
      while (st.fetch()) {
        for (size_t i = 0; i < job_ids.size(); ++i) {
          in.job_id = std::move(job_ids[i]);
          in.job_name = std::move(names[i]);
          in.group = std::move(groups[i]);
          in.status = statuses[i];
          in.created_at = created[i];
          in.duration_ms =
              duration_ind[i] == soci::i_ok ? std::optional(durations[i]) : std::nullopt;
          in.started_at = present(started, started_ind, i);
          in.scheduled_at = present(scheduled, scheduled_ind, i);
          stats.Add(in);
        }
        for (auto* v : {&job_ids, &names, &groups}) v->resize(kChunk);
        statuses.resize(kChunk);
        for (auto* v : {&created, &durations, &started, &scheduled}) v->resize(kChunk);
        for (auto* v : {&duration_ind, &started_ind, &scheduled_ind}) v->resize(kChunk);
      }
      return stats.Finish();
    });
  }

  absl::StatusOr<Overview> Summary(Time now) override {
    return db_.Run("summarizing executions", [&](soci::session& sql) -> absl::StatusOr<Overview> {
      Overview o;
      long long since = ToMillis(now - std::chrono::hours(24));
      std::vector<int> statuses(16);
      std::vector<long long> counts(16);
      sql << "SELECT status, COUNT(*) FROM job_execute_snapshot WHERE created_at >= :s "
             "GROUP BY status",
          soci::use(since), soci::into(statuses), soci::into(counts);
      for (size_t i = 0; i < statuses.size(); ++i) {
        o.runs_24h += counts[i];
        if (statuses[i] == 2) o.success_24h += counts[i];
        if (statuses[i] != 1 && statuses[i] != 2) o.failures_24h += counts[i];
      }
      if (o.success_24h + o.failures_24h > 0) {
        o.success_rate_24h = double(o.success_24h) / double(o.success_24h + o.failures_24h);
      }
      long long running = 0;
      sql << "SELECT COUNT(*) FROM job_execute_snapshot WHERE status = 1", soci::into(running);
      o.running_now = running;
      return o;
    });
  }

 private:
  const DbUrl url_;
  Clock& clock_;
  const std::string upsert_sql_;
  internal::ReconnectingSession db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HistoryStore>> Open(const DbUrl& url) {
  return Open(url, SystemClock::Get());
}

absl::StatusOr<std::unique_ptr<HistoryStore>> Open(const DbUrl& url, Clock& clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<soci::session> session,
                   internal::ConnectAndMigrate(url, clock.Now()));
  return std::make_unique<SociHistory>(url, clock, std::move(session));
}

}  // namespace forest::history
