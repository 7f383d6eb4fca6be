// Forest's instant type and its text forms.
//
// An instant is a UTC time point with millisecond resolution: Forest schedules
// on the millisecond and stores times as RFC 3339 UTC strings with
// milliseconds ("2026-01-01T00:00:30.000Z").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace forest {

class TimeZone;

using Millis = std::chrono::milliseconds;
using Time = std::chrono::sys_time<Millis>;

// "2026-01-01T00:00:30Z", or "2026-01-01T00:00:30.250Z" when the instant has a
// millisecond part. The form `forest cron next` prints.
std::string FormatIso8601(Time t);

// "2026-01-01T00:00:30.000Z": always with milliseconds; the form of our JSON fields.
std::string FormatRfc3339Millis(Time t);

// "2026-01-01 08:00:30+08:00" style: local wall time in `zone` with its offset.
std::string FormatLocal(Time t, const TimeZone& zone);

// Parses an ISO-8601 / RFC 3339 instant: "2026-01-01T00:00:30Z",
// "2026-01-01T08:00:30+08:00", "2026-01-01T00:00:30.5Z", "2026-01-01 00:00:30",
// "2026-01-01T00:00", "2026-01-01". A time without an offset is a wall time in
// `zone_for_naive` (its first occurrence when the wall time repeats; the first
// instant after the gap when it does not exist). InvalidArgument on bad input.
absl::StatusOr<Time> ParseIso8601(std::string_view text, const TimeZone& zone_for_naive);

}  // namespace forest
