#include "history/soci_rows.h"

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "common/time_zone.h"
#include "history/soci_backend.h"
#include "model/job.h"

namespace forest::history::internal {
namespace {

// started_at: the record's own, else its legacy start time (local wall
// time, whole seconds).
std::optional<long long> StartedAt(const model::ExecutionRecord& r) {
  if (r.started_at) return ToMillis(*r.started_at);
  if (!r.start_time.empty()) {
    if (auto t = ParseIso8601(r.start_time, TimeZone::Local()); t.ok()) return ToMillis(*t);
  }
  return std::nullopt;
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

}  // namespace

// Valid UTF-8 with every invalid byte replaced by U+FFFD and NUL removed
// (PostgreSQL refuses both; MySQL refuses invalid UTF-8 in strict mode).
std::string CleanText(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      ++i;
      continue;
    }
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    if (ok && n == 2) ok = c >= 0xC2;  // no overlong forms
    if (ok && n == 3) {
      const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    }
    if (ok && n == 4) {
      const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90) && c <= 0xF4;
    }
    if (!ok) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(s, i, n);
    i += n;
  }
  return out;
}

size_t Characters(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

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
          "updated_at",
          "started_at",
          "scheduled_at",
          "shard_total",
          "timeout_seconds"};
}

std::string SelectColumns(DbUrl::Kind kind, bool with_output) {
  std::string out;
  for (const std::string& c : ColumnNames(kind)) {
    if (!with_output && c == "output") continue;
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

std::string UpsertSql(DbUrl::Kind kind, size_t rows) {
  const std::vector<std::string> cols = ColumnNames(kind);
  std::string names;
  for (size_t i = 0; i < cols.size(); ++i) names += (i > 0 ? ", " : "") + cols[i];
  std::string values;
  for (size_t r = 0; r < rows; ++r) {
    values += r > 0 ? ", (" : "(";
    for (size_t i = 0; i < cols.size(); ++i) {
      values += fmt::format("{}:v{}_{}", i > 0 ? ", " : "", r, i);
    }
    values += ")";
  }
  std::string sql = "INSERT INTO job_execute_snapshot (" + names + ") VALUES " + values;
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

void ToRow(const Execution& e, Time now, DbRow* row) {
  const model::ExecutionRecord& r = e.record;
  const model::Assignment& a = r.run;
  row->id = a.id;
  row->job_id = a.job_id;
  row->name = a.name;
  row->group = a.group;
  row->cron = a.cron;
  row->target = a.target;
  row->params = CleanText(a.params);
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
  row->result = CleanText(r.result);
  row->result_ind = soci::i_ok;
  row->scheduled_time = a.scheduled_time ? FormatRfc3339Millis(*a.scheduled_time) : "";
  row->scheduled_ind = a.scheduled_time ? soci::i_ok : soci::i_null;
  row->trigger_kind = std::string(model::Name(a.trigger));
  row->attempt = a.attempt;
  row->exit_code = r.exit_code.value_or(0);
  row->exit_code_ind = r.exit_code ? soci::i_ok : soci::i_null;
  row->duration_ms = r.duration_ms.value_or(0);
  row->duration_ind = r.duration_ms ? soci::i_ok : soci::i_null;
  row->output = CleanText(r.output);
  row->output_ind = soci::i_ok;
  row->worker = e.worker;
  row->leader_node = e.leader_node;
  row->created_at = CreatedAt(r, now);
  row->updated_at = ToMillis(now);
  row->started_at = StartedAt(r).value_or(0);
  row->started_ind = StartedAt(r) ? soci::i_ok : soci::i_null;
  row->scheduled_at = a.scheduled_time ? ToMillis(*a.scheduled_time) : 0;
  row->scheduled_at_ind = a.scheduled_time ? soci::i_ok : soci::i_null;
  row->shard_total = a.shard_total;
  row->timeout_seconds = a.timeout_seconds;
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
  if (row.started_ind == soci::i_ok && row.started_at > 0) {
    r.started_at = Time(Millis(row.started_at));
  }
  a.shard_total = row.shard_total;
  a.timeout_seconds = row.timeout_seconds;
  e.worker = row.worker;
  e.leader_node = row.leader_node;
  return e;
}

}  // namespace forest::history::internal

namespace forest::history {

absl::Status CheckStorable(const Execution& e) {
  const model::Assignment& a = e.record.run;
  if (a.id.empty()) return model::FieldError("id", "an execution record needs an id");
  // The narrowest width each column has on any backend (migrations.cc).
  const std::pair<const char*, std::pair<const std::string*, size_t>> fields[] = {
      {"id", {&a.id, 64}},
      {"jobId", {&a.job_id, 128}},
      {"name", {&a.name, 128}},
      {"group", {&a.group, 128}},
      {"ip", {&a.ip, 128}},
      {"worker", {&e.worker, 128}},
      {"leader", {&e.leader_node, 128}},
      {"cron", {&a.cron, 255}},
      {"target", {&a.target, 4096}},
      {"mobile", {&a.mobile, 255}},
      {"remark", {&a.remark, 1024}},
      {"createTime", {&a.create_time, 32}},
      {"startTime", {&e.record.start_time, 255}},
      {"finishTime", {&e.record.finish_time, 32}},
  };
  for (const auto& [field, value_and_width] : fields) {
    const auto& [value, width] = value_and_width;
    if (internal::CleanText(*value) != *value) {
      return model::FieldError(field, "is not valid UTF-8 text");
    }
    if (internal::Characters(*value) > width) {
      return model::FieldError(field, "is longer than " + std::to_string(width) +
                                          " characters, the width of its column");
    }
  }
  return absl::OkStatus();
}

}  // namespace forest::history
