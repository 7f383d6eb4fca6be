// The leader's plan table alone (no I/O, simulated time): load N jobs, then
// take every fire due over a few simulated hours, on one thread.
//
//   build/release/bench/plan_table_bench            1,000,000 jobs
//   build/release/bench/plan_table_bench --jobs 10000
//
// Prints fires per second sustained and heap bytes per job (malloc's bytes
// in use after loading, minus before, over N, vector slack included; job ids
// are short enough to live inside std::string, so this is all table
// overhead). Targets (issue
// 4): at least 1,000,000 fires/s, under 300 bytes per job.
#include <fmt/format.h>
#include <malloc.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>

#include "scheduler/plan_table.h"

namespace {

// Bytes malloc has handed out: small blocks plus the large ones it mmaps.
size_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

}  // namespace

int main(int argc, char** argv) {
  using forest::Millis;
  using forest::Time;
  size_t jobs = 1'000'000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--jobs") == 0) jobs = std::stoul(argv[i + 1]);
  }
  // Typical shapes: hourly at a random minute and second, every five minutes
  // at a random second, daily at a random time.
  std::mt19937 rng(1);
  const Time start{Millis(1767225600000)};  // 2026-01-01T00:00:00Z

  forest::scheduler::PlanTable table;
  const size_t before = HeapInUse();
  const auto load_start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < jobs; ++i) {
    std::string expr;
    switch (i % 3) {
      case 0:
        expr = fmt::format("{} {} * * * *", rng() % 60, rng() % 60);
        break;
      case 1:
        expr = fmt::format("{} */5 * * * *", rng() % 60);
        break;
      default:
        expr = fmt::format("{} {} {} * * *", rng() % 60, rng() % 60, rng() % 24);
    }
    table.Upsert(fmt::format("job-{:07}", i), forest::cron::Schedule::Parse(expr).value(), start);
  }
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const size_t after = HeapInUse();

  std::vector<forest::scheduler::Fire> fires;
  fires.reserve(4096);
  size_t total = 0;
  const auto run_start = std::chrono::steady_clock::now();
  // Three simulated hours, one simulated second at a time.
  for (Time now = start; now < start + Millis(3 * 3600 * 1000); now += Millis(1000)) {
    while (table.TakeDue(now, 4096, fires) > 0) {
      total += fires.size();
      fires.clear();
    }
  }
  const double run_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();

  fmt::print("plan table: {} jobs loaded in {:.2f} s ({:.0f} upserts/s, parse included)\n", jobs,
             load_s, double(jobs) / load_s);
  fmt::print("heap per job:        {:.0f} bytes (target < 300)\n",
             double(after - before) / double(jobs));
  fmt::print("fires taken:         {} over 3 simulated hours in {:.2f} s\n", total, run_s);
  fmt::print("fires per second:    {:.0f} (one thread; target >= 1,000,000)\n",
             double(total) / run_s);
  return total > 0 ? 0 : 1;
}
