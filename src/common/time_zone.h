// An IANA time zone from the system tzdata, as a small value (one pointer).
//
// UTC is represented without a tzdb lookup so the common case stays fast. The
// tzdb behind it is process-wide and immutable once loaded; TimeZone values are
// cheap to copy and safe to use from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace date {
class time_zone;
}

namespace forest {

using LocalSeconds = std::chrono::local_time<std::chrono::seconds>;
using SysSeconds = std::chrono::sys_time<std::chrono::seconds>;

class TimeZone {
 public:
  // What a local wall time is in this zone.
  struct Resolution {
    enum Kind { kUnique, kNonexistent, kAmbiguous } kind;
    // kUnique: the instant. kNonexistent: the first instant after the gap
    // (the transition). kAmbiguous: the first of the two occurrences.
    SysSeconds first;
    // kAmbiguous: the second occurrence. Otherwise equal to `first`.
    SysSeconds second;
    // kAmbiguous: the first local wall time after the repeated interval.
    LocalSeconds repeat_end;
  };

  TimeZone() = default;  // UTC
  static TimeZone Utc() { return TimeZone(); }

  // Looks up an IANA name ("Europe/London"); "UTC", "Etc/UTC", "Z" and "GMT"
  // give UTC. InvalidArgument names the zone when it is unknown.
  static absl::StatusOr<TimeZone> Load(std::string_view name);

  bool is_utc() const { return tz_ == nullptr; }
  std::string name() const;

  // The offset in force at an instant and the interval [begin, end) over
  // which it stays in force: lets a caller convert many nearby times with one
  // tzdb lookup.
  struct Span {
    std::chrono::seconds offset;
    SysSeconds begin;
    SysSeconds end;
  };
  Span SpanAt(SysSeconds t) const;

  LocalSeconds ToLocal(SysSeconds t) const;
  // Offset from UTC in force at `t`.
  std::chrono::seconds OffsetAt(SysSeconds t) const;
  Resolution Resolve(LocalSeconds local) const;

  friend bool operator==(const TimeZone& a, const TimeZone& b) { return a.tz_ == b.tz_; }

 private:
  explicit TimeZone(const date::time_zone* tz) : tz_(tz) {}
  const date::time_zone* tz_ = nullptr;  // nullptr = UTC; owned by the tzdb
};

}  // namespace forest
