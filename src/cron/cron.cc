// Next-fire computation. The search runs on civil (wall-clock) fields with
// bitmasks: each step jumps to the next matching year, month, day, hour,
// minute or second, so its cost is bounded by the months scanned, never by
// the seconds in between. Wall time is turned into an instant last, where the
// daylight-saving rules of cron.h apply.

#include "cron/cron.h"

#include <fmt/format.h>

#include <bit>

#include "common/strings.h"

namespace forest::cron {
namespace {

using std::chrono::seconds;

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
constexpr int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

constexpr void CivilFromDays(int64_t z, int& year, int& month, int& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (m <= 2));
  month = static_cast<int>(m);
  day = static_cast<int>(d);
}

// Division rounding toward negative infinity (instants before 1970 too).
constexpr int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

constexpr bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned DaysInMonth(int y, unsigned m) {
  constexpr unsigned kDays[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m];
}

// 0 = Sunday. 1970-01-01 was a Thursday.
constexpr unsigned WeekdayFromDays(int64_t days) {
  return static_cast<unsigned>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

// Bits 1..n set.
constexpr uint32_t DaysUpTo(unsigned n) {
  return static_cast<uint32_t>((uint64_t{1} << (n + 1)) - 2);
}

// kWeekdayDays[k]: the days 1+k, 8+k, 15+k, ... of a month (days sharing a weekday).
constexpr std::array<uint32_t, 7> kWeekdayDays = [] {
  std::array<uint32_t, 7> a{};
  for (unsigned k = 0; k < 7; ++k) {
    for (unsigned d = 1 + k; d <= 31; d += 7) a[k] |= 1u << d;
  }
  return a;
}();

// The lowest set bit of `mask` at or above `from`, or -1.
template <typename T>
int NextBit(T mask, int from) {
  if (from >= static_cast<int>(sizeof(T) * 8)) return -1;
  const T m = mask & static_cast<T>(~T{0} << from);
  return m == 0 ? -1 : std::countr_zero(m);
}

// Upper bound on loop turns of one NextCivil call: every turn either returns
// or moves to a later day, month or year, and a feasible expression matches
// within a few decades (the rarest, e.g. Monday 29 February, within 40 years).
constexpr int kMaxSearchSteps = 100000;

}  // namespace

uint32_t Schedule::DayMaskFor(unsigned days_in_month, unsigned first_weekday) const {
  const uint32_t valid = DaysUpTo(days_in_month);
  const unsigned last_weekday = (first_weekday + days_in_month - 1) % 7;

  uint32_t dom = dom_ & valid;
  if (dom_last_offset_ >= 0 && unsigned(dom_last_offset_) < days_in_month) {
    dom |= 1u << (days_in_month - unsigned(dom_last_offset_));
  }
  // The weekday nearest `day`, within the month.
  const auto nearest_weekday = [&](unsigned day) {
    const unsigned weekday = (first_weekday + day - 1) % 7;
    if (weekday == 6) return day == 1 ? 3 : day - 1;                    // Saturday
    if (weekday == 0) return day == days_in_month ? day - 2 : day + 1;  // Sunday
    return day;
  };
  if (dom_last_weekday_offset_ >= 0 && unsigned(dom_last_weekday_offset_) < days_in_month) {
    dom |= 1u << nearest_weekday(days_in_month - unsigned(dom_last_weekday_offset_));
  }
  for (uint32_t w = dom_nearest_weekday_; w != 0; w &= w - 1) {
    const unsigned day = unsigned(std::countr_zero(w));
    if (day <= days_in_month) dom |= 1u << nearest_weekday(day);  // else: no such day this month
  }

  uint32_t dow = 0;
  if (dow_ == 0x7f) {
    dow = valid;
  } else {
    for (unsigned w = 0; w < 7; ++w) {
      if (dow_ & (1u << w)) dow |= kWeekdayDays[(w + 7 - first_weekday) % 7];
    }
    dow &= valid;
  }
  for (uint64_t n = dow_nth_; n != 0; n &= n - 1) {
    const unsigned bit = unsigned(std::countr_zero(n));
    const unsigned w = bit % 7;
    const unsigned k = bit / 7 + 1;
    const unsigned day = 1 + (w + 7 - first_weekday) % 7 + 7 * (k - 1);
    if (day <= days_in_month) dow |= 1u << day;
  }
  for (unsigned w = 0; w < 7; ++w) {
    if (dow_last_ & (1u << w)) dow |= 1u << (days_in_month - (last_weekday + 7 - w) % 7);
  }
  return dom_star_ || dow_star_ ? dom & dow : dom | dow;
}

uint32_t Schedule::DayMask(int year, unsigned month) const {
  const unsigned days = DaysInMonth(year, month);
  if (every_day_) return DaysUpTo(days);
  return DayMaskFor(days, WeekdayFromDays(DaysFromCivil(year, month, 1)));
}

void Schedule::Finish() {
  every_day_ = dom_ == DaysUpTo(31) && dow_ == 0x7f && dom_last_offset_ < 0 &&
               dom_last_weekday_offset_ < 0 && dom_nearest_weekday_ == 0 && dow_nth_ == 0 &&
               dow_last_ == 0;
  can_fire_ = ComputeCanFire();
}

bool Schedule::ComputeCanFire() const {
  if (every_.count() > 0) return true;
  if (seconds_ == 0 || minutes_ == 0 || hours_ == 0 || months_ == 0) return false;
  if (years_) {
    for (int y = kMinYear; y <= kMaxYear; ++y) {
      if (!years_->test(size_t(y - kMinYear))) continue;
      for (unsigned m = 1; m <= 12; ++m) {
        if ((months_ & (1u << m)) && DayMask(y, m) != 0) return true;
      }
    }
    return false;
  }
  // Without a year field the calendar repeats every 400 years, and in that
  // cycle every month starts on every weekday in both leap and common years:
  // checking each (length, first weekday) pair of each month is exhaustive.
  for (unsigned m = 1; m <= 12; ++m) {
    if (!(months_ & (1u << m))) continue;
    for (const unsigned days : {DaysInMonth(2001, m), DaysInMonth(2000, m)}) {
      for (unsigned first = 0; first < 7; ++first) {
        if (DayMaskFor(days, first) != 0) return true;
      }
    }
  }
  return false;
}

std::optional<Schedule::Civil> Schedule::NextCivil(Civil c) const {
  for (int step = 0; step < kMaxSearchSteps; ++step) {
    if (c.year > kMaxYear) return std::nullopt;
    if (years_ && (c.year < kMinYear || !years_->test(size_t(c.year - kMinYear)))) {
      int y = std::max(c.year + 1, kMinYear);
      while (y <= kMaxYear && !years_->test(size_t(y - kMinYear))) ++y;
      if (y > kMaxYear) return std::nullopt;
      c = {y, 1, 1, 0, 0, 0};
    }
    const int month = NextBit(months_, c.month);
    if (month < 0) {
      c = {c.year + 1, 1, 1, 0, 0, 0};
      continue;
    }
    if (month != c.month) c = {c.year, month, 1, 0, 0, 0};

    const int day = NextBit<uint64_t>(DayMask(c.year, unsigned(c.month)), c.day);
    if (day < 0) {
      c = c.month == 12 ? Civil{c.year + 1, 1, 1, 0, 0, 0} : Civil{c.year, c.month + 1, 1, 0, 0, 0};
      continue;
    }
    if (day != c.day) c = {c.year, c.month, day, 0, 0, 0};

    const int hour = NextBit(hours_, c.hour);
    if (hour < 0) {
      c = {c.year, c.month, c.day + 1, 0, 0, 0};
      continue;
    }
    if (hour != c.hour) c = {c.year, c.month, c.day, hour, 0, 0};

    const int minute = NextBit(minutes_, c.minute);
    if (minute < 0) {
      c = {c.year, c.month, c.day, c.hour + 1, 0, 0};
      continue;
    }
    if (minute != c.minute) c = {c.year, c.month, c.day, c.hour, minute, 0};

    const int second = NextBit(seconds_, c.second);
    if (second < 0) {
      c = {c.year, c.month, c.day, c.hour, c.minute + 1, 0};
      continue;
    }
    c.second = second;
    return c;
  }
  return std::nullopt;
}

std::optional<Time> Schedule::Next(Time after) const {
  if (every_.count() > 0) {
    // Multiples of the interval since the epoch.
    const int64_t d = every_.count();
    return Time(Millis((FloorDiv(after.time_since_epoch().count(), d) + 1) * d));
  }
  if (!can_fire_) return std::nullopt;

  // Search wall times from one second after the wall time of `after`, not
  // from the wall time of `after` + 1s: when `after` is the last second
  // before a spring-forward gap, the gap's wall times must still be seen
  // (they fire at the instant after the gap).
  const SysSeconds floor_after = std::chrono::floor<seconds>(after);
  const SysSeconds start = floor_after + seconds(1);
  LocalSeconds local = zone_.ToLocal(floor_after) + seconds(1);

  // A few turns at most: one more for each repeated (fall-back) interval skipped.
  for (int turn = 0; turn < 8; ++turn) {
    const int64_t secs = local.time_since_epoch().count();
    const int64_t days = FloorDiv(secs, 86400);
    const int64_t tod = secs - days * 86400;
    Civil c{};
    CivilFromDays(days, c.year, c.month, c.day);
    c.hour = int(tod / 3600);
    c.minute = int(tod / 60 % 60);
    c.second = int(tod % 60);

    const std::optional<Civil> match = NextCivil(c);
    if (!match) return std::nullopt;
    const LocalSeconds wall(
        seconds(DaysFromCivil(match->year, unsigned(match->month), unsigned(match->day)) * 86400 +
                match->hour * 3600 + match->minute * 60 + match->second));
    if (zone_.is_utc()) return Time(wall.time_since_epoch());

    const TimeZone::Resolution r = zone_.Resolve(wall);
    switch (r.kind) {
      case TimeZone::Resolution::kUnique:
      case TimeZone::Resolution::kNonexistent:
        if (r.first >= start) return Time(r.first.time_since_epoch());
        local = wall + seconds(1);  // only with inconsistent tz data; keep moving forward
        break;
      case TimeZone::Resolution::kAmbiguous:
        if (r.first >= start) return Time(r.first.time_since_epoch());
        // Its first occurrence is past: skip the rest of the repeated interval.
        local = std::max(r.repeat_end, wall + seconds(1));
        break;
    }
  }
  return std::nullopt;
}

std::vector<Time> Schedule::NextN(Time after, int count) const {
  std::vector<Time> out;
  out.reserve(size_t(std::max(count, 0)));
  for (int i = 0; i < count; ++i) {
    const std::optional<Time> t = Next(after);
    if (!t) break;
    out.push_back(*t);
    after = *t;
  }
  return out;
}

namespace {

// Prints a set of values compactly: "*", "*/5", "10/15", "1-5,7", ...
// `star_ok`: whether a leading "*" may stand for the full range (not in a day
// field that is restricted, where "*" would change the meaning).
std::string FormatValues(uint64_t mask, int lo, int hi, bool star_ok) {
  std::vector<int> v;
  for (int i = lo; i <= hi; ++i) {
    if (mask & (uint64_t{1} << i)) v.push_back(i);
  }
  if (v.empty()) return "";
  if (int(v.size()) == hi - lo + 1) return star_ok ? "*" : fmt::format("{}-{}", lo, hi);
  if (v.size() >= 3) {
    const int step = v[1] - v[0];
    bool progression = step > 1 && v.back() + step > hi;
    for (size_t i = 2; progression && i < v.size(); ++i) progression = v[i] - v[i - 1] == step;
    if (progression) {
      return fmt::format("{}/{}", v[0] == lo && star_ok ? "*" : std::to_string(v[0]), step);
    }
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (j - i >= 2) {
      parts.push_back(fmt::format("{}-{}", v[i], v[j]));
    } else {
      for (size_t k = i; k <= j; ++k) parts.push_back(std::to_string(v[k]));
    }
    i = j + 1;
  }
  return Join(parts, ",");
}

}  // namespace

std::vector<std::pair<std::string, std::string>> Schedule::Fields() const {
  if (every_.count() > 0) return {};
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back("second", FormatValues(seconds_, 0, 59, true));
  f.emplace_back("minute", FormatValues(minutes_, 0, 59, true));
  f.emplace_back("hour", FormatValues(hours_, 0, 23, true));

  std::vector<std::string> dom;
  if (dom_ != 0) dom.push_back(FormatValues(dom_, 1, 31, dom_star_));
  if (dom_last_offset_ == 0) dom.push_back("L");
  if (dom_last_offset_ > 0) dom.push_back(fmt::format("L-{}", dom_last_offset_));
  if (dom_last_weekday_offset_ == 0) dom.push_back("LW");
  if (dom_last_weekday_offset_ > 0) dom.push_back(fmt::format("L-{}W", dom_last_weekday_offset_));
  for (uint32_t w = dom_nearest_weekday_; w != 0; w &= w - 1) {
    dom.push_back(fmt::format("{}W", std::countr_zero(w)));
  }
  f.emplace_back("day-of-month", Join(dom, ","));

  f.emplace_back("month", FormatValues(months_, 1, 12, true));

  std::vector<std::string> dow;
  if (dow_ != 0) dow.push_back(FormatValues(dow_, 0, 6, dow_star_));
  for (uint64_t n = dow_nth_; n != 0; n &= n - 1) {
    const int bit = std::countr_zero(n);
    dow.push_back(fmt::format("{}#{}", bit % 7, bit / 7 + 1));
  }
  for (int w = 0; w < 7; ++w) {
    if (dow_last_ & (1u << w)) dow.push_back(fmt::format("{}L", w));
  }
  f.emplace_back("day-of-week", Join(dow, ","));

  if (!years_) {
    f.emplace_back("year", "*");
  } else {
    std::vector<std::string> runs;
    for (int y = kMinYear; y <= kMaxYear; ++y) {
      if (!years_->test(size_t(y - kMinYear))) continue;
      int last = y;
      while (last < kMaxYear && years_->test(size_t(last + 1 - kMinYear))) ++last;
      runs.push_back(last == y ? std::to_string(y) : fmt::format("{}-{}", y, last));
      y = last;
    }
    f.emplace_back("year", Join(runs, ","));
  }
  return f;
}

}  // namespace forest::cron
