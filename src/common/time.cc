#include "common/time.h"

#include <fmt/format.h>

#include <cstdio>

#include "common/time_zone.h"

namespace forest {
namespace {

using std::chrono::floor;
using std::chrono::seconds;

std::string FormatUtc(Time t, bool always_millis) {
  const auto day = floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss<Millis> tod{t - day};
  const auto ms = tod.subseconds().count();
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02lld", int(ymd.year()),
                        unsigned(ymd.month()), unsigned(ymd.day()), long(tod.hours().count()),
                        long(tod.minutes().count()), static_cast<long long>(tod.seconds().count()));
  if (always_millis || ms != 0) {
    n += std::snprintf(buf + n, sizeof buf - size_t(n), ".%03lld", static_cast<long long>(ms));
  }
  buf[n++] = 'Z';
  return std::string(buf, size_t(n));
}

// A tiny cursor over the text being parsed.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool done() const { return pos_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  bool Consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // Reads exactly n digits.
  bool Digits(int n, int& out) {
    out = 0;
    for (int i = 0; i < n; ++i) {
      const char c = peek();
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
      ++pos_;
    }
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::string FormatIso8601(Time t) { return FormatUtc(t, false); }
std::string FormatRfc3339Millis(Time t) { return FormatUtc(t, true); }

std::string FormatLocal(Time t, const TimeZone& zone) {
  const auto secs = floor<seconds>(t);
  const auto offset = zone.OffsetAt(secs);
  const auto local = Time(t.time_since_epoch() + offset);
  std::string s = FormatUtc(local, false);
  s.pop_back();  // the 'Z'
  s[10] = ' ';
  const long long off = offset.count() < 0 ? -offset.count() : offset.count();
  return fmt::format("{}{}{:02}:{:02}", s, offset.count() < 0 ? '-' : '+', off / 3600,
                     off % 3600 / 60);
}

absl::StatusOr<Time> ParseIso8601(std::string_view text, const TimeZone& zone_for_naive) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format(
        "'{}' is not an ISO-8601 time: {} (expected e.g. 2026-01-01T00:00:30Z)", text, why));
  };
  Reader r(text);
  int y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
  if (!r.Digits(4, y) || !r.Consume('-') || !r.Digits(2, mo) || !r.Consume('-') ||
      !r.Digits(2, d)) {
    return bad("the date must be YYYY-MM-DD");
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(unsigned(mo)),
                                        std::chrono::day(unsigned(d))};
  if (!ymd.ok()) return bad("no such date");
  bool has_offset = false;
  seconds offset{0};
  if (!r.done()) {
    if (!r.Consume('T') && !r.Consume('t') && !r.Consume(' '))
      return bad("expected 'T' after the date");
    if (!r.Digits(2, h) || !r.Consume(':') || !r.Digits(2, mi))
      return bad("the time must be hh:mm[:ss]");
    if (r.Consume(':')) {
      if (!r.Digits(2, s)) return bad("the seconds must be two digits");
      if (r.Consume('.') || r.Consume(',')) {
        int digits = 0;
        while (r.peek() >= '0' && r.peek() <= '9') {
          int digit;
          r.Digits(1, digit);
          if (digits < 3) ms = ms * 10 + digit;
          ++digits;
        }
        if (digits == 0) return bad("empty fraction of a second");
        for (int i = digits; i < 3; ++i) ms *= 10;
      }
    }
    if (h > 23 || mi > 59 || s > 59) return bad("time of day out of range");
    if (r.Consume('Z') || r.Consume('z')) {
      has_offset = true;
    } else if (r.peek() == '+' || r.peek() == '-') {
      const int sign = r.peek() == '-' ? -1 : 1;
      r.Consume(r.peek());
      int oh, om = 0;
      if (!r.Digits(2, oh)) return bad("the offset must be +hh:mm");
      if (r.Consume(':')) {
        if (!r.Digits(2, om)) return bad("the offset must be +hh:mm");
      } else if (!r.done() && !r.Digits(2, om)) {
        return bad("the offset must be +hh:mm");
      }
      if (oh > 23 || om > 59) return bad("offset out of range");
      has_offset = true;
      offset = seconds(sign * (oh * 3600 + om * 60));
    }
    if (!r.done()) return bad("unexpected text after the time");
  }
  const auto wall = std::chrono::local_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                    std::chrono::minutes(mi) + seconds(s);
  if (has_offset) return Time(std::chrono::duration_cast<Millis>(wall - offset) + Millis(ms));
  const TimeZone::Resolution res = zone_for_naive.Resolve(LocalSeconds(wall));
  return Time(std::chrono::duration_cast<Millis>(res.first.time_since_epoch()) + Millis(ms));
}

}  // namespace forest
