// Parse and next-fire speed of the cron engine.
//
//   build/release/bench/cron_bench --benchmark_repetitions=9
//   --benchmark_report_aggregates_only=true
//
// BM_CronNext/<label> walks the schedule forward (each Next starts from the
// previous fire), the way the scheduler's plan table uses it. The `_ny`
// variants read wall times in America/New_York instead of UTC.
// bench/cron_compare.py runs the same expressions through croniter and Quartz.

#include <benchmark/benchmark.h>

#include <string>

#include "cron/cron.h"

namespace {

using forest::Millis;
using forest::Time;
using forest::cron::Dialect;
using forest::cron::ParseOptions;
using forest::cron::Schedule;

struct Case {
  const char* label;
  const char* expr;
  Dialect dialect;
};

constexpr Case kCases[] = {
    {"every5min", "*/5 * * * *", Dialect::kForest},
    {"weekdays", "0 0/30 9-17 ? * MON-FRI", Dialect::kQuartz},
    {"lastday", "0 0 12 L * ?", Dialect::kQuartz},
    {"every1h", "@every 1h", Dialect::kForest},
    {"feb29", "0 0 0 29 2 *", Dialect::kForest},
    {"never", "0 0 0 30 2 *", Dialect::kForest},
};

const Time kStart = Time(Millis(1767225600000));  // 2026-01-01T00:00:00Z

ParseOptions Options(const Case& c, bool new_york) {
  ParseOptions o;
  o.dialect = c.dialect;
  if (new_york) o.zone = forest::TimeZone::Load("America/New_York").value();
  return o;
}

void BM_CronParse(benchmark::State& state, Case c) {
  const ParseOptions options = Options(c, false);
  for (auto _ : state) {
    auto s = Schedule::Parse(c.expr, options);
    benchmark::DoNotOptimize(s);
  }
}

void BM_CronNext(benchmark::State& state, Case c, bool new_york) {
  const Schedule s = Schedule::Parse(c.expr, Options(c, new_york)).value();
  Time t = kStart;
  for (auto _ : state) {
    const std::optional<Time> next = s.Next(t);
    benchmark::DoNotOptimize(next);
    // Walk forward; start over when the schedule ends (or never fires).
    t = next && next->time_since_epoch() < Millis(4102444800000) ? *next : kStart;
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark((std::string("BM_CronParse/") + c.label).c_str(), BM_CronParse, c);
    benchmark::RegisterBenchmark((std::string("BM_CronNext/") + c.label).c_str(), BM_CronNext, c,
                                 false);
    benchmark::RegisterBenchmark((std::string("BM_CronNext/") + c.label + "_ny").c_str(),
                                 BM_CronNext, c, true);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
