#include "common/time_zone.h"

#include <fmt/format.h>

#include "absl/time/civil_time.h"

namespace forest {
namespace {

const absl::CivilSecond kCivilEpoch(1970, 1, 1, 0, 0, 0);

absl::Time ToAbsl(SysSeconds t) { return absl::FromUnixSeconds(t.time_since_epoch().count()); }
SysSeconds FromAbsl(absl::Time t) {
  return SysSeconds(std::chrono::seconds(absl::ToUnixSeconds(t)));
}
absl::CivilSecond ToCivil(LocalSeconds t) { return kCivilEpoch + t.time_since_epoch().count(); }
LocalSeconds FromCivil(absl::CivilSecond c) {
  return LocalSeconds(std::chrono::seconds(c - kCivilEpoch));
}

}  // namespace

TimeZone TimeZone::Local() {
  const absl::TimeZone tz = absl::LocalTimeZone();
  if (tz == absl::UTCTimeZone()) return TimeZone();
  return TimeZone(tz);
}

absl::StatusOr<TimeZone> TimeZone::Load(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC" || name == "Z" || name == "GMT" || name == "Etc/GMT" ||
      name == "Universal" || name == "Zulu") {
    return TimeZone();
  }
  absl::TimeZone tz;
  // cctz falls back to UTC for names it cannot load; only a true answer counts.
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos ||
      !absl::LoadTimeZone(std::string(name), &tz)) {
    return absl::InvalidArgumentError(
        fmt::format("unknown time zone '{}' (expected an IANA name such as Europe/London)", name));
  }
  return TimeZone(tz);
}

std::string TimeZone::name() const { return utc_ ? "UTC" : tz_.name(); }

LocalSeconds TimeZone::ToLocal(SysSeconds t) const {
  if (utc_) return LocalSeconds(t.time_since_epoch());
  return FromCivil(tz_.At(ToAbsl(t)).cs);
}

std::chrono::seconds TimeZone::OffsetAt(SysSeconds t) const {
  if (utc_) return std::chrono::seconds(0);
  return std::chrono::seconds(tz_.At(ToAbsl(t)).offset);
}

TimeZone::Resolution TimeZone::Resolve(LocalSeconds local) const {
  if (utc_) {
    const SysSeconds t(local.time_since_epoch());
    return {Resolution::kUnique, t, local};
  }
  const absl::TimeZone::TimeInfo info = tz_.At(ToCivil(local));
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::SKIPPED:
      // `trans` is the first instant after the gap.
      return {Resolution::kNonexistent, FromAbsl(info.trans), local};
    case absl::TimeZone::TimeInfo::REPEATED: {
      const SysSeconds first = FromAbsl(info.pre);
      // The repeated wall times end at the transition read with the offset
      // in force before it (the earlier occurrence's offset).
      const std::chrono::seconds pre_offset = local.time_since_epoch() - first.time_since_epoch();
      const LocalSeconds repeat_end(FromAbsl(info.trans).time_since_epoch() + pre_offset);
      return {Resolution::kAmbiguous, first, repeat_end};
    }
    case absl::TimeZone::TimeInfo::UNIQUE:
    default:
      return {Resolution::kUnique, FromAbsl(info.pre), local};
  }
}

}  // namespace forest
