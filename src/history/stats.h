// Internal to history/: the statistics of HistoryStore::Statistics, computed
// from rows the backend streams in (any order). Pure logic, no SQL: every
// backend gets exactly the same numbers, and the arithmetic is unit-tested
// without a database.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "history/history.h"

namespace forest::history::internal {

// The columns Statistics reads from one row.
struct StatsInput {
  std::string job_id;
  std::string job_name;
  std::string group;
  int status = 1;                         // as stored (1, 2, -1 or 4, 3)
  long long created_at = 0;               // ms since the epoch
  std::optional<long long> duration_ms;   // NULL when not reported
  std::optional<long long> started_at;    // ms
  std::optional<long long> scheduled_at;  // ms
};

// OK, or InvalidArgument saying what is wrong with the query.
absl::Status ValidateStatsQuery(const StatsQuery& query);

class StatsAccumulator {
 public:
  explicit StatsAccumulator(const StatsQuery& query);
  void Add(const StatsInput& row);
  // The rows in key order.
  std::vector<StatsRow> Finish();

 private:
  struct Bucket {
    StatsRow row;
    long long newest = 0;  // created_at of the row that named it
    std::vector<long long> durations;
    std::vector<long long> lags;
  };
  std::string KeyOf(const StatsInput& row) const;

  StatsQuery query_;
  std::map<std::string, Bucket> buckets_;
};

// The nearest-rank percentile `p` (0 < p <= 1) of `values` (reordered);
// none when empty.
std::optional<long long> Percentile(std::vector<long long>& values, double p);

}  // namespace forest::history::internal
