// The cron expression parser: text -> Schedule. The grammar of each dialect
// is described in cron.h; this file also holds the error messages, which name
// the field (by its 1-based position in the expression) and the problem.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>

#include "common/strings.h"
#include "cron/cron.h"

namespace forest::cron {
namespace {

enum class Kind { kSecond, kMinute, kHour, kDom, kMonth, kDow, kYear };

struct KindInfo {
  const char* name;
  int min;
  int max;
  int quartz_max_step;  // Quartz rejects larger increments
};

constexpr std::array<KindInfo, 7> kKinds = {{
    {"second", 0, 59, 59},
    {"minute", 0, 59, 59},
    {"hour", 0, 23, 23},
    {"day-of-month", 1, 31, 31},
    {"month", 1, 12, 12},
    {"day-of-week", 0, 7, 7},
    {"year", kMinYear, kMaxYear, 1 << 30},
}};

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

// Six fields (sec min hour dom month dow) and the optional year.
constexpr std::array<Kind, 7> kSixFieldKinds = {
    Kind::kSecond, Kind::kMinute, Kind::kHour, Kind::kDom, Kind::kMonth, Kind::kDow, Kind::kYear};
constexpr std::array<Kind, 5> kFiveFieldKinds = {Kind::kMinute, Kind::kHour, Kind::kDom,
                                                 Kind::kMonth, Kind::kDow};

using ValueSet = std::bitset<kMaxYear - kMinYear + 1>;  // index = value - kind's base

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

absl::StatusOr<Dialect> ParseDialect(std::string_view name) {
  if (name == "forest") return Dialect::kForest;
  if (name == "quartz") return Dialect::kQuartz;
  return absl::InvalidArgumentError(
      fmt::format("unknown cron dialect '{}' (expected forest or quartz)", name));
}

std::string_view DialectName(Dialect dialect) {
  return dialect == Dialect::kQuartz ? "quartz" : "forest";
}

class Parser {
 public:
  explicit Parser(Dialect dialect) : dialect_(dialect), quartz_(dialect == Dialect::kQuartz) {}

  absl::StatusOr<Schedule> Parse(std::string_view expr, const ParseOptions& options);

 private:
  struct Field {
    int position;  // 1-based, as written
    Kind kind;
    std::string_view text;
  };

  absl::Status Error(const Field& f, std::string_view message) const {
    return absl::InvalidArgumentError(fmt::format("field {} ({}): {}", f.position,
                                                  kKinds[static_cast<int>(f.kind)].name, message));
  }

  // The smallest and largest value a field takes in this dialect.
  int Min(Kind kind) const { return kind == Kind::kDow && quartz_ ? 1 : kKinds[int(kind)].min; }
  int Max(Kind kind) const { return kKinds[int(kind)].max; }
  int Base(Kind kind) const { return kind == Kind::kYear ? kMinYear : 0; }

  absl::StatusOr<int> Value(const Field& f, std::string_view token) const;
  absl::StatusOr<int> Number(const Field& f, std::string_view token, int lo, int hi,
                             std::string_view what) const;
  absl::Status Item(const Field& f, std::string_view item, ValueSet& values, Schedule& s) const;
  absl::Status DomSpecial(const Field& f, std::string_view item, Schedule& s, bool& handled) const;
  absl::Status DowSpecial(const Field& f, std::string_view item, Schedule& s, bool& handled) const;
  absl::Status ParseField(const Field& f, Schedule& s) const;
  absl::Status Descriptor(std::string_view expr, Schedule& s) const;

  Dialect dialect_;
  bool quartz_;
};

absl::StatusOr<int> Parser::Number(const Field& f, std::string_view token, int lo, int hi,
                                   std::string_view what) const {
  if (!IsDigits(token)) {
    return Error(f, fmt::format("'{}' is not a number", token));
  }
  if (token.size() > 9) return Error(f, fmt::format("{} is out of range {}-{}", token, lo, hi));
  int v = 0;
  for (char c : token) v = v * 10 + (c - '0');
  if (v < lo || v > hi) {
    return Error(
        f, fmt::format("{}{}{} is out of range {}-{}", what, what.empty() ? "" : " ", v, lo, hi));
  }
  return v;
}

absl::StatusOr<int> Parser::Value(const Field& f, std::string_view token) const {
  if (token.empty()) return Error(f, "missing value");
  if (!IsDigits(token)) {
    if (f.kind == Kind::kMonth) {
      for (size_t i = 0; i < kMonthNames.size(); ++i) {
        if (EqualsIgnoreCase(token, kMonthNames[i])) return int(i) + 1;
      }
      return Error(f, fmt::format("'{}' is not a month (1-12 or JAN-DEC)", token));
    }
    if (f.kind == Kind::kDow) {
      for (size_t i = 0; i < kDayNames.size(); ++i) {
        if (EqualsIgnoreCase(token, kDayNames[i])) return int(i) + (quartz_ ? 1 : 0);
      }
      return Error(f, fmt::format("'{}' is not a weekday ({}-{} or SUN-SAT)", token, Min(f.kind),
                                  Max(f.kind)));
    }
    return Error(f, fmt::format("'{}' is not a number", token));
  }
  return Number(f, token, Min(f.kind), Max(f.kind), "");
}

// Day-of-month specials: L, L-n, LW, nW.
absl::Status Parser::DomSpecial(const Field& f, std::string_view item, Schedule& s,
                                bool& handled) const {
  handled = true;
  if (EqualsIgnoreCase(item, "L")) {
    s.dom_last_offset_ = 0;
    return absl::OkStatus();
  }
  if (EqualsIgnoreCase(item, "LW")) {
    s.dom_last_weekday_offset_ = 0;
    return absl::OkStatus();
  }
  if (StartsWithIgnoreCase(item, "L-") && EndsWithIgnoreCase(item, "W")) {
    ASSIGN_OR_RETURN(const int n,
                     Number(f, item.substr(2, item.size() - 3), 0, 30, "offset from the last day"));
    if (s.dom_last_weekday_offset_ >= 0 && s.dom_last_weekday_offset_ != n) {
      return Error(f, "only one LW or L-nW per field");
    }
    s.dom_last_weekday_offset_ = static_cast<int8_t>(n);
    return absl::OkStatus();
  }
  if (StartsWithIgnoreCase(item, "L-")) {
    ASSIGN_OR_RETURN(const int n, Number(f, item.substr(2), 0, 30, "offset from the last day"));
    if (s.dom_last_offset_ >= 0 && s.dom_last_offset_ != n) {
      return Error(f, "only one L or L-n per field");
    }
    s.dom_last_offset_ = static_cast<int8_t>(n);
    return absl::OkStatus();
  }
  if (item.size() >= 2 && (item.back() == 'W' || item.back() == 'w')) {
    ASSIGN_OR_RETURN(const int day, Number(f, item.substr(0, item.size() - 1), 1, 31, "day"));
    s.dom_nearest_weekday_ |= 1u << day;
    return absl::OkStatus();
  }
  handled = false;
  return absl::OkStatus();
}

// Day-of-week specials: w#k, wL (and, in quartz, L alone = Saturday).
absl::Status Parser::DowSpecial(const Field& f, std::string_view item, Schedule& s,
                                bool& handled) const {
  handled = true;
  const auto weekday = [&](std::string_view token) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(int w, Value(f, token));
    if (quartz_) w -= 1;
    return w % 7;  // forest's 7 is Sunday
  };
  if (const size_t hash = item.find('#'); hash != std::string_view::npos) {
    ASSIGN_OR_RETURN(const int w, weekday(item.substr(0, hash)));
    ASSIGN_OR_RETURN(const int k, Number(f, item.substr(hash + 1), 1, 5, "week number"));
    s.dow_nth_ |= uint64_t{1} << ((k - 1) * 7 + w);
    return absl::OkStatus();
  }
  if (EqualsIgnoreCase(item, "L")) {
    if (!quartz_) {
      return Error(f, "'L' needs a weekday, e.g. 5L for the last Friday of the month");
    }
    s.dow_ |= 1u << 6;  // Quartz: L alone is the last day of the week, Saturday
    return absl::OkStatus();
  }
  if (item.size() >= 2 && (item.back() == 'L' || item.back() == 'l')) {
    ASSIGN_OR_RETURN(const int w, weekday(item.substr(0, item.size() - 1)));
    s.dow_last_ |= uint8_t(1u << w);
    return absl::OkStatus();
  }
  handled = false;
  return absl::OkStatus();
}

absl::Status Parser::Item(const Field& f, std::string_view item, ValueSet& values,
                          Schedule& s) const {
  if (item.empty()) return Error(f, "empty list item");

  const bool is_day = f.kind == Kind::kDom || f.kind == Kind::kDow;
  const bool has_step = item.find('/') != std::string_view::npos;
  if (!has_step && f.kind == Kind::kDom) {
    bool handled = false;
    // `L-3` contains a dash but is a special, not a range.
    RETURN_IF_ERROR(DomSpecial(f, item, s, handled));
    if (handled) return absl::OkStatus();
  }
  if (!has_step && f.kind == Kind::kDow) {
    bool handled = false;
    RETURN_IF_ERROR(DowSpecial(f, item, s, handled));
    if (handled) return absl::OkStatus();
  }

  std::string_view range = item;
  int step = 1;
  if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
    range = item.substr(0, slash);
    const std::string_view step_text = item.substr(slash + 1);
    if (step_text.find('/') != std::string_view::npos) return Error(f, "more than one '/'");
    if (step_text.empty()) return Error(f, "missing step after '/'");
    const int max_step = quartz_ ? kKinds[int(f.kind)].quartz_max_step : 1 << 30;
    ASSIGN_OR_RETURN(step, Number(f, step_text, 1, max_step, "step"));
    if (range.empty()) return Error(f, "missing start before '/'");
  }

  const int lo = Min(f.kind);
  const int hi = Max(f.kind);
  int first, last;
  if (range == "*" || range == "?") {
    if (range == "?") {
      if (quartz_ && !is_day) {
        return Error(f, "'?' is only allowed in the day-of-month and day-of-week fields");
      }
      if (quartz_ && has_step) return Error(f, "'?' cannot take a step");
    }
    first = lo;
    last = hi;
  } else if (const size_t dash = range.find('-'); dash != std::string_view::npos) {
    ASSIGN_OR_RETURN(first, Value(f, range.substr(0, dash)));
    ASSIGN_OR_RETURN(last, Value(f, range.substr(dash + 1)));
  } else {
    ASSIGN_OR_RETURN(first, Value(f, range));
    // "a/s" runs from a to the end of the field.
    last = has_step ? hi : first;
  }

  const int base = Base(f.kind);
  if (first <= last) {
    for (int v = first; v <= last; v += step) values.set(size_t(v - base));
  } else if (f.kind == Kind::kDow && !quartz_) {
    // A weekday range that wraps past Sunday: the week has 7 days, though
    // both 0 and 7 name Sunday (so 6-1/2 is Saturday and Monday).
    const int from = first % 7;
    const int to = last % 7 + (last % 7 < from ? 7 : 0);
    for (int v = from; v <= to; v += step) values.set(size_t(v % 7));
  } else {
    // A range that wraps around the end of the field, e.g. hours 22-2.
    const int span = hi - lo + 1;
    for (int v = first; v <= last + span; v += step) {
      values.set(size_t((v > hi ? v - span : v) - base));
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseField(const Field& f, Schedule& s) const {
  const std::vector<std::string_view> items = Split(f.text, ',');
  if (quartz_ && items.size() > 1) {
    for (std::string_view item : items) {
      const bool special = (f.kind == Kind::kDom &&
                            (ContainsIgnoreCase(item, 'L') || ContainsIgnoreCase(item, 'W'))) ||
                           (f.kind == Kind::kDow && (item.find('#') != std::string_view::npos ||
                                                     EndsWithIgnoreCase(item, "L"))) ||
                           item == "?";
      if (special) {
        return Error(f, fmt::format("'{}' cannot be combined with other values (quartz)", item));
      }
    }
  }
  ValueSet values;
  for (std::string_view item : items) RETURN_IF_ERROR(Item(f, item, values, s));

  const auto bits = [&](int lo, int hi) {
    uint64_t m = 0;
    for (int v = lo; v <= hi; ++v) {
      if (values.test(size_t(v))) m |= uint64_t{1} << v;
    }
    return m;
  };
  switch (f.kind) {
    case Kind::kSecond:
      s.seconds_ = bits(0, 59);
      break;
    case Kind::kMinute:
      s.minutes_ = bits(0, 59);
      break;
    case Kind::kHour:
      s.hours_ = uint32_t(bits(0, 23));
      break;
    case Kind::kDom:
      s.dom_ = uint32_t(bits(1, 31));
      s.dom_star_ = f.text == "?" || f.text.front() == '*';
      break;
    case Kind::kMonth:
      s.months_ = uint16_t(bits(1, 12));
      break;
    case Kind::kDow: {
      uint64_t m = bits(0, 7);
      if (quartz_) m >>= 1;                    // 1-7 -> 0-6
      if (m & (1u << 7)) m = (m | 1u) & 0x7f;  // forest's 7 is Sunday
      s.dow_ |= uint8_t(m);
      s.dow_star_ = f.text == "?" || f.text.front() == '*';
      break;
    }
    case Kind::kYear:
      s.years_ = values;
      break;
  }
  return absl::OkStatus();
}

absl::Status Parser::Descriptor(std::string_view expr, Schedule& s) const {
  if (quartz_) {
    return absl::InvalidArgumentError(
        fmt::format("'{}': descriptors are not part of the quartz dialect", expr));
  }
  struct Named {
    std::string_view name;
    std::string_view fields;
  };
  static constexpr std::array<Named, 7> kNamed = {{
      {"@yearly", "0 0 0 1 1 *"},
      {"@annually", "0 0 0 1 1 *"},
      {"@monthly", "0 0 0 1 * *"},
      {"@weekly", "0 0 0 * * 0"},
      {"@daily", "0 0 0 * * *"},
      {"@midnight", "0 0 0 * * *"},
      {"@hourly", "0 0 * * * *"},
  }};
  for (const Named& named : kNamed) {
    if (EqualsIgnoreCase(expr, named.name)) {
      const std::vector<std::string_view> fields = Split(named.fields, ' ');
      for (size_t i = 0; i < fields.size(); ++i) {
        RETURN_IF_ERROR(ParseField({int(i) + 1, kSixFieldKinds[i], fields[i]}, s));
      }
      return absl::OkStatus();
    }
  }
  if (StartsWithIgnoreCase(expr, "@every")) {
    std::string_view d = Trim(expr.substr(6));
    const auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(fmt::format("@every: {}", why));
    };
    if (d.empty()) return bad("missing duration (e.g. @every 1h30m)");
    if (expr.size() > 6 && expr[6] != ' ' && expr[6] != '\t') {
      return bad("expected a space after @every");
    }
    // A Go duration: one or more <decimal number><unit>.
    struct Unit {
      std::string_view name;
      double nanos;
    };
    static constexpr std::array<Unit, 7> kUnits = {{{"ns", 1},
                                                    {"us", 1e3},
                                                    {"\xC2\xB5s", 1e3},
                                                    {"ms", 1e6},
                                                    {"s", 1e9},
                                                    {"m", 60e9},
                                                    {"h", 3600e9}}};
    long double nanos = 0;
    size_t i = 0;
    while (i < d.size()) {
      const size_t num_start = i;
      while (i < d.size() && (std::isdigit(static_cast<unsigned char>(d[i])) || d[i] == '.')) ++i;
      const std::string_view number = d.substr(num_start, i - num_start);
      if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
        return bad(fmt::format("'{}' is not a duration (e.g. 90s, 1h30m, 1500ms)", d));
      }
      const size_t unit_start = i;
      while (i < d.size() && !std::isdigit(static_cast<unsigned char>(d[i])) && d[i] != '.') ++i;
      const std::string_view unit = d.substr(unit_start, i - unit_start);
      const auto it =
          std::find_if(kUnits.begin(), kUnits.end(), [&](const Unit& u) { return u.name == unit; });
      if (it == kUnits.end()) {
        return bad(
            fmt::format("'{}' is not a duration: unknown unit '{}' (expected ns, us, ms, "
                        "s, m or h)",
                        d, unit));
      }
      nanos += std::stold(std::string(number)) * it->nanos;
      if (nanos > 1e18L) return bad(fmt::format("'{}' is too long", d));
    }
    const long double ms = nanos / 1e6L;
    if (ms < 1000) return bad(fmt::format("{} is below the minimum of 1s", d));
    if (ms != static_cast<long double>(static_cast<int64_t>(ms))) {
      return bad(fmt::format("{} is not a whole number of milliseconds", d));
    }
    s.every_ = Millis(static_cast<int64_t>(ms));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(fmt::format(
      "unknown descriptor '{}' (expected @yearly, @annually, @monthly, @weekly, @daily, "
      "@midnight, @hourly or @every <duration>)",
      expr));
}

absl::StatusOr<Schedule> Parser::Parse(std::string_view expr, const ParseOptions& options) {
  Schedule s;
  s.dialect_ = dialect_;
  s.zone_ = options.zone;
  expr = Trim(expr);
  if (expr.empty()) return absl::InvalidArgumentError("empty cron expression");

  for (std::string_view prefix : {"CRON_TZ=", "TZ="}) {
    if (expr.starts_with(prefix)) {
      const size_t end = expr.find_first_of(" \t");
      const std::string_view name = expr.substr(prefix.size(), end - prefix.size());
      auto zone = TimeZone::Load(name);
      if (!zone.ok()) {
        return absl::InvalidArgumentError(fmt::format("{}: {}", prefix.substr(0, prefix.size() - 1),
                                                      std::string(zone.status().message())));
      }
      s.zone_ = *zone;
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError("missing expression after the time zone prefix");
      }
      expr = Trim(expr.substr(end));
      break;
    }
  }

  if (expr.front() == '@') {
    RETURN_IF_ERROR(Descriptor(expr, s));
  } else {
    const std::vector<std::string_view> fields = SplitWhitespace(expr);
    const size_t n = fields.size();
    if (quartz_ ? (n != 6 && n != 7) : (n < 5 || n > 7)) {
      return absl::InvalidArgumentError(fmt::format(
          "{}{}",
          quartz_ ? "expected 6 or 7 fields (second minute hour day-of-month month "
                    "day-of-week [year]), got "
                  : "expected 5 fields (minute hour day-of-month month day-of-week), 6 with "
                    "seconds first, or 7 with a trailing year; got ",
          n));
    }
    if (n == 5) {
      s.seconds_ = 1;  // second 0
      for (size_t i = 0; i < n; ++i) {
        RETURN_IF_ERROR(ParseField({int(i) + 1, kFiveFieldKinds[i], fields[i]}, s));
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        RETURN_IF_ERROR(ParseField({int(i) + 1, kSixFieldKinds[i], fields[i]}, s));
      }
    }
    if (quartz_) {
      const bool dom_any = fields[3] == "?";
      const bool dow_any = fields[5] == "?";
      if (dom_any == dow_any) {
        return absl::InvalidArgumentError(
            dom_any ? "'?' may stand in only one of day-of-month and day-of-week (quartz)"
                    : "one of day-of-month and day-of-week must be '?' (quartz: setting both is "
                      "not supported)");
      }
    }
  }
  s.Finish();
  return s;
}

absl::StatusOr<Schedule> Schedule::Parse(std::string_view expr, const ParseOptions& options) {
  return Parser(options.dialect).Parse(expr, options);
}

}  // namespace forest::cron
