#include "history/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

namespace forest::history::internal {

absl::Status ValidateStatsQuery(const StatsQuery& query) {
  if (query.to <= query.from) {
    return absl::InvalidArgumentError(
        fmt::format("statistics range [{}, {}) is empty: `to` must be after `from`",
                    FormatIso8601(query.from), FormatIso8601(query.to)));
  }
  if (query.to - query.from > kMaxStatsRange) {
    return absl::InvalidArgumentError(
        fmt::format("statistics range [{}, {}) is longer than {} days", FormatIso8601(query.from),
                    FormatIso8601(query.to), kMaxStatsRange.count() / 24));
  }
  return absl::OkStatus();
}

std::optional<long long> Percentile(std::vector<long long>& values, double p) {
  if (values.empty()) return std::nullopt;
  const double rank = std::ceil(p * static_cast<double>(values.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, double(values.size()))) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.end());
  return values[index];
}

StatsAccumulator::StatsAccumulator(const StatsQuery& query) : query_(query) {}

std::string StatsAccumulator::KeyOf(const StatsInput& row) const {
  switch (query_.by) {
    case StatsBy::kJob:
      return row.job_id;
    case StatsBy::kGroup:
      return row.group;
    case StatsBy::kDay:
      break;
  }
  const auto seconds = std::chrono::floor<std::chrono::seconds>(SysSeconds(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::milliseconds(row.created_at))));
  const auto local = query_.zone.ToLocal(seconds);
  const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(local)};
  return fmt::format("{:04}-{:02}-{:02}", int(day.year()), unsigned(day.month()),
                     unsigned(day.day()));
}

void StatsAccumulator::Add(const StatsInput& in) {
  const std::string key = KeyOf(in);
  auto [it, inserted] = buckets_.try_emplace(key);
  Bucket& b = it->second;
  if (inserted) b.row.key = key;
  if (query_.by != StatsBy::kDay && (inserted || in.created_at >= b.newest)) {
    b.newest = in.created_at;
    if (query_.by == StatsBy::kJob) b.row.job_name = in.job_name;
    b.row.group = in.group;
  }
  ++b.row.total;
  bool finished = true;
  switch (in.status) {
    case 1:
      ++b.row.running;
      finished = false;
      break;
    case 2:
      ++b.row.success;
      break;
    case -1:
    case 4:  // the original's DDL numbers errors 4
      ++b.row.error;
      break;
    default:
      ++b.row.unknown;
      break;
  }
  if (finished && in.duration_ms && *in.duration_ms >= 0) b.durations.push_back(*in.duration_ms);
  if (in.started_at && in.scheduled_at) {
    b.lags.push_back(std::max(0LL, *in.started_at - *in.scheduled_at));
  }
}

std::vector<StatsRow> StatsAccumulator::Finish() {
  std::vector<StatsRow> out;
  out.reserve(buckets_.size());
  for (auto& [key, b] : buckets_) {
    StatsRow row = std::move(b.row);
    const int64_t finished = row.success + row.error + row.unknown;
    if (finished > 0) row.success_rate = double(row.success) / double(finished);
    row.duration_p50_ms = Percentile(b.durations, 0.50);
    row.duration_p95_ms = Percentile(b.durations, 0.95);
    if (!b.durations.empty()) {
      row.duration_max_ms = *std::max_element(b.durations.begin(), b.durations.end());
    }
    row.lag_p50_ms = Percentile(b.lags, 0.50);
    row.lag_p95_ms = Percentile(b.lags, 0.95);
    out.push_back(std::move(row));
  }
  buckets_.clear();
  return out;
}

}  // namespace forest::history::internal
