// An IANA time zone from the system tzdata, as a small value.
//
// Backed by Abseil's cctz, which reads /usr/share/zoneinfo (or $TZDIR) and
// applies each zone's POSIX rule string to the years after its last listed
// transition, so daylight saving stays right past 2037. UTC takes no
// lookups. Values are cheap to copy and safe to use from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/status.h"

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
    // kAmbiguous: the first local wall time after the repeated interval.
    LocalSeconds repeat_end;
  };

  TimeZone() = default;  // UTC
  static TimeZone Utc() { return TimeZone(); }

  // Looks up an IANA name ("Europe/London"); "UTC", "Etc/UTC", "Z" and "GMT"
  // give UTC. InvalidArgument names the zone when it is unknown.
  static absl::StatusOr<TimeZone> Load(std::string_view name);
  // The machine's zone ($TZ, else /etc/localtime; UTC when neither loads):
  // the zone of the original forest's "2006-01-02 15:04:05" timestamps.
  static TimeZone Local();

  bool is_utc() const { return utc_; }
  std::string name() const;

  LocalSeconds ToLocal(SysSeconds t) const;
  // Offset from UTC in force at `t`.
  std::chrono::seconds OffsetAt(SysSeconds t) const;
  Resolution Resolve(LocalSeconds local) const;

  friend bool operator==(const TimeZone& a, const TimeZone& b) {
    return a.utc_ == b.utc_ && a.tz_ == b.tz_;
  }

 private:
  explicit TimeZone(absl::TimeZone tz) : tz_(tz), utc_(false) {}
  absl::TimeZone tz_;  // unused when utc_
  bool utc_ = true;
};

}  // namespace forest
