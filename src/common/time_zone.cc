#include "common/time_zone.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <stdexcept>

namespace forest {

absl::StatusOr<TimeZone> TimeZone::Load(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC" || name == "Z" || name == "GMT" || name == "Etc/GMT" ||
      name == "Universal" || name == "Zulu") {
    return TimeZone();
  }
  if (name.empty()) return absl::InvalidArgumentError("empty time zone name");
  try {
    return TimeZone(date::locate_zone(name));
  } catch (const std::exception&) {
    return absl::InvalidArgumentError(
        fmt::format("unknown time zone '{}' (expected an IANA name such as Europe/London)", name));
  }
}

std::string TimeZone::name() const { return tz_ == nullptr ? "UTC" : std::string(tz_->name()); }

TimeZone::Span TimeZone::SpanAt(SysSeconds t) const {
  if (tz_ == nullptr) return {std::chrono::seconds(0), SysSeconds::min(), SysSeconds::max()};
  const date::sys_info info = tz_->get_info(t);
  return {info.offset, info.begin, info.end};
}

LocalSeconds TimeZone::ToLocal(SysSeconds t) const {
  if (tz_ == nullptr) return LocalSeconds(t.time_since_epoch());
  return LocalSeconds(t.time_since_epoch() + tz_->get_info(t).offset);
}

std::chrono::seconds TimeZone::OffsetAt(SysSeconds t) const {
  if (tz_ == nullptr) return std::chrono::seconds(0);
  return tz_->get_info(t).offset;
}

TimeZone::Resolution TimeZone::Resolve(LocalSeconds local) const {
  const SysSeconds naive(local.time_since_epoch());
  if (tz_ == nullptr) return {Resolution::kUnique, naive, naive, local};
  const date::local_info info = tz_->get_info(date::local_seconds(local.time_since_epoch()));
  switch (info.result) {
    case date::local_info::unique: {
      const SysSeconds t = naive - info.first.offset;
      return {Resolution::kUnique, t, t, local};
    }
    case date::local_info::nonexistent:
      // The gap ends where the second period begins.
      return {Resolution::kNonexistent, info.second.begin, info.second.begin, local};
    case date::local_info::ambiguous:
    default: {
      const SysSeconds first = naive - info.first.offset;
      const SysSeconds second = naive - info.second.offset;
      // The repeated wall times end where the first period's wall clock stopped.
      const LocalSeconds repeat_end(info.first.end.time_since_epoch() + info.first.offset);
      return {Resolution::kAmbiguous, first, second, repeat_end};
    }
  }
}

}  // namespace forest
