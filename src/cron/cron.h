// Cron expressions: parsing and next-fire computation.
//
// Two dialects:
//  - kForest (default): a superset of what the original forest (robfig/cron v1)
//    accepts. 5 fields (min hour dom month dow), 6 fields with seconds first,
//    7 with a trailing year. `*`, `?` (= `*` in the day fields), lists, ranges
//    (wrapping ones too: `22-2`), steps, JAN-DEC and SUN-SAT in any case,
//    weekday 0-7 with 0 and 7 = Sunday; `L`, `L-n`, `nW`, `LW`, `L-nW` in
//    day-of-month; `n#k` and `nL` in day-of-week; descriptors @yearly
//    @annually @monthly @weekly @daily @midnight @hourly and `@every <Go
//    duration>` (at least 1s, a whole number of milliseconds).
//    When both day fields are restricted a day matches if either matches;
//    a day field is unrestricted when its text starts with `*` or is `?`
//    (Vixie cron's rule, and robfig/cron v1's, which the original used).
//  - kQuartz: Quartz's CronExpression: 6 or 7 fields, seconds first, weekday
//    1-7 = SUN-SAT, exactly one of the two day fields is `?`, same specials
//    (plus `L` alone in day-of-week = Saturday), Quartz's limits on steps and
//    on combining specials.
// Either dialect takes a `CRON_TZ=Area/City ` or `TZ=Area/City ` prefix, which
// overrides the zone of ParseOptions.
//
// Time zones and daylight saving: fire times are wall-clock times in the
// schedule's zone. A wall time that does not exist (spring-forward gap) fires
// once, at the first instant after the gap (several matching wall times in one
// gap fire once together). A wall time that happens twice (fall-back) fires
// once, at its first occurrence. `@every` counts absolute time: it fires at
// the multiples of its interval since the Unix epoch, whatever the zone.
//
// Thread safety: a Schedule is an immutable value; any thread may call its
// const methods concurrently.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "common/time_zone.h"

namespace forest::cron {

enum class Dialect : uint8_t { kForest, kQuartz };

// "forest" or "quartz"; InvalidArgument otherwise.
absl::StatusOr<Dialect> ParseDialect(std::string_view name);
std::string_view DialectName(Dialect dialect);

struct ParseOptions {
  Dialect dialect = Dialect::kForest;
  // The zone wall times are read in, unless the expression has a CRON_TZ= prefix.
  TimeZone zone = TimeZone::Utc();
};

// The first and last year a year field may name.
inline constexpr int kMinYear = 1970;
inline constexpr int kMaxYear = 2199;

class Schedule {
 public:
  // Parses `expr`. Errors are InvalidArgument with a message that names the
  // field and the problem, e.g. "field 3 (hour): 25 is out of range 0-23".
  static absl::StatusOr<Schedule> Parse(std::string_view expr, const ParseOptions& options = {});

  // The first fire time strictly after `after`, or nullopt when there is none:
  // the expression can never fire (decided at parse time, so this is O(1)),
  // or its year field has run out, or the next fire would be after kMaxYear.
  // Cost is bounded by the number of months scanned, never by seconds.
  std::optional<Time> Next(Time after) const;

  // Up to `count` fire times after `after`, in order.
  std::vector<Time> NextN(Time after, int count) const;

  // False when no instant can ever match (e.g. `0 0 0 30 2 *`).
  bool can_fire() const { return can_fire_; }
  const TimeZone& zone() const { return zone_; }
  Dialect dialect() const { return dialect_; }
  // Non-zero for `@every`.
  Millis every() const { return every_; }

  // The normalized fields, in order second, minute, hour, day-of-month, month,
  // day-of-week, year, as (name, text) with numbers in the forest dialect
  // (weekday 0 = Sunday), e.g. ("minute", "*/5"). Empty for `@every`.
  std::vector<std::pair<std::string, std::string>> Fields() const;
  // True when a day must match both day fields (one is unrestricted); false
  // when either may match.
  bool days_match_both() const { return dom_star_ || dow_star_; }

 private:
  Schedule() = default;
  friend class Parser;

  struct Civil {
    int year, month, day, hour, minute, second;
  };
  // The first civil time >= c that matches every field, or nullopt.
  std::optional<Civil> NextCivil(Civil c) const;
  // Days of (year, month) that match the day fields: bit d = day d.
  uint32_t DayMask(int year, unsigned month) const;
  uint32_t DayMaskFor(unsigned days_in_month, unsigned first_weekday) const;
  bool ComputeCanFire() const;
  // Derives the cached facts below from the parsed fields.
  void Finish();

  uint64_t seconds_ = 0;                 // bits 0-59
  uint64_t minutes_ = 0;                 // bits 0-59
  uint32_t hours_ = 0;                   // bits 0-23
  uint32_t dom_ = 0;                     // bits 1-31, plain days
  uint32_t dom_nearest_weekday_ = 0;     // bits 1-31: `nW`
  uint64_t dow_nth_ = 0;                 // bit (k-1)*7+w: `w#k`
  uint16_t months_ = 0;                  // bits 1-12
  uint8_t dow_ = 0;                      // bits 0-6, plain weekdays (0 = Sunday)
  uint8_t dow_last_ = 0;                 // bits 0-6: `wL`, last weekday w of the month
  int8_t dom_last_offset_ = -1;          // `L-n`: n (0 for `L`); -1 when absent
  int8_t dom_last_weekday_offset_ = -1;  // `L-nW`: n (0 for `LW`); -1 when absent
  bool dom_star_ = false;
  bool dow_star_ = false;
  bool can_fire_ = false;
  bool every_day_ = false;  // the day fields match every day: DayMask needs no weekday
  Dialect dialect_ = Dialect::kForest;
  Millis every_{0};
  TimeZone zone_;
  std::optional<std::bitset<kMaxYear - kMinYear + 1>> years_;  // absent = every year
};

}  // namespace forest::cron
