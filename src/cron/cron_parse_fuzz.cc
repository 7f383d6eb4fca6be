// Fuzz entry point: any bytes, in either dialect, must parse or fail cleanly,
// and a parsed schedule must answer Next quickly (no crash, no hang).
// Built with libFuzzer under the `fuzz` preset (clang), and driven by
// cron_parse_fuzz_replay in every other build.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/check.h"
#include "cron/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using forest::cron::Dialect;
  // The first byte picks the dialect; the rest is the expression.
  const Dialect dialect = data[0] & 1 ? Dialect::kQuartz : Dialect::kForest;
  const std::string_view expr(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto schedule = forest::cron::Schedule::Parse(expr, {dialect, forest::TimeZone::Utc()});
  if (!schedule.ok()) {
    FOREST_CHECK(!schedule.status().message().empty());
    return 0;
  }
  forest::Time t{forest::Millis(1767225600000)};  // 2026-01-01
  for (int i = 0; i < 4; ++i) {
    const auto next = schedule->Next(t);
    if (!next) break;
    FOREST_CHECK(*next > t);
    t = *next;
  }
  schedule->Fields();
  return 0;
}
