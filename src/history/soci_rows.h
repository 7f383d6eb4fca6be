// Internal to history/: one row of job_execute_snapshot as SOCI binds it,
// and the mapping between rows and Executions. The column list lives here
// once: the upsert, the selects and the exchange order all come from it.
#pragma once

#include <soci/soci.h>

#include <string>
#include <vector>

#include "common/time.h"
#include "history/history.h"

namespace forest::history::internal {

inline long long ToMillis(Time t) { return t.time_since_epoch().count(); }

// One row as bound values; nullable columns carry indicators.
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
  long long started_at = 0;
  long long scheduled_at = 0;
  int shard_total = 1;
  long long timeout_seconds = 0;

  soci::indicator params_ind = soci::i_ok, mobile_ind = soci::i_ok, remark_ind = soci::i_ok,
                  start_ind = soci::i_ok, finish_ind = soci::i_ok, times_ind = soci::i_ok,
                  result_ind = soci::i_ok, scheduled_ind = soci::i_ok, exit_code_ind = soci::i_ok,
                  duration_ind = soci::i_ok, output_ind = soci::i_ok, started_ind = soci::i_ok,
                  scheduled_at_ind = soci::i_ok;
};

// The columns in DbRow's order (ExchangeRow's), `output` included.
std::vector<std::string> ColumnNames(DbUrl::Kind kind);

// Hands every field of `r` to `x`, in ColumnNames' order; `output` only
// when `with_output` (List leaves it out).
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
  x(r.started_at, r.started_ind);
  x(r.scheduled_at, r.scheduled_at_ind);
  x(r.shard_total);
  x(r.timeout_seconds);
}

// Binds each field a statement reads into (kInto) or writes from.
template <bool kInto>
struct RowBinder {
  soci::statement& st;
  template <typename T>
  void operator()(T& v) {
    if constexpr (kInto) {
      st.exchange(soci::into(v));
    } else {
      st.exchange(soci::use(v));
    }
  }
  template <typename T>
  void operator()(T& v, soci::indicator& ind) {
    if constexpr (kInto) {
      st.exchange(soci::into(v, ind));
    } else {
      st.exchange(soci::use(v, ind));
    }
  }
};
using IntoRow = RowBinder<true>;
using UseRow = RowBinder<false>;

// "id, job_id, ..." in ExchangeRow's order.
std::string SelectColumns(DbUrl::Kind kind, bool with_output);
// The upsert by id of `rows` rows in one statement (their placeholders in
// row order, each row's in ExchangeRow's order): a stored final status is
// never replaced by running (the whole row is kept then). The rows' ids
// must differ (PostgreSQL refuses to update one row twice in a statement).
std::string UpsertSql(DbUrl::Kind kind, size_t rows = 1);

// `s` as valid UTF-8 (invalid bytes become U+FFFD) without NUL bytes.
std::string CleanText(const std::string& s);
// UTF-8 characters in `s`.
size_t Characters(const std::string& s);

// `now` stamps updated_at (and created_at when the record has no time).
void ToRow(const Execution& e, Time now, DbRow* row);
Execution FromRow(const DbRow& row);

}  // namespace forest::history::internal
