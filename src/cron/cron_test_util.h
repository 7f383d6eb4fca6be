// Helpers shared by the cron tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "common/time_zone.h"
#include "cron/cron.h"

namespace forest::cron::testing {

inline Time At(std::string_view iso) { return ParseIso8601(iso, TimeZone::Utc()).value(); }

// The next `count` fires of `expr` after `from`, as ISO-8601 UTC strings, or
// the parse error as "error: ...".
inline std::vector<std::string> NextFires(std::string_view expr, std::string_view from, int count,
                                          Dialect dialect = Dialect::kForest,
                                          std::string_view zone = "UTC") {
  ParseOptions options;
  options.dialect = dialect;
  options.zone = TimeZone::Load(zone).value();
  auto s = Schedule::Parse(expr, options);
  if (!s.ok()) return {"error: " + std::string(s.status().message())};
  std::vector<std::string> out;
  for (Time t : s->NextN(At(from), count)) out.push_back(FormatIso8601(t));
  return out;
}

// A test name for a parameterized case: its index and the expression's
// letters and digits ("3_0_0_12_L").
inline std::string CaseName(size_t index, std::string_view expr) {
  std::string name = std::to_string(index) + "_";
  for (char c : expr) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum) {
      name += c;
    } else if (name.back() != '_') {
      name += '_';
    }
  }
  return name;
}

// gtest name generator for a parameter struct with an `expr` member.
struct ExprName {
  template <typename Info>
  std::string operator()(const Info& info) const {
    return CaseName(info.index, info.param.expr);
  }
};

}  // namespace forest::cron::testing
