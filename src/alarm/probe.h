// The alarm engine's counters, kept out of its logic (style.md): the engine
// tells the probe what happened, a metrics exporter decides what to count.
// The default does nothing.
//
// Called from the engine's threads; implementations must be thread-safe and
// quick.
#pragma once

#include <string_view>

namespace forest::alarm {

// One delivery attempt's outcome.
enum class DeliveryOutcome {
  kSent,    // the channel took it
  kRetry,   // it failed; another attempt follows
  kFailed,  // it failed for good (attempts used up, channel gone or disabled)
};

class AlarmProbe {
 public:
  virtual ~AlarmProbe() = default;
  // An attempt on a channel (by type: webhook, dingtalk, ...; and id).
  virtual void Delivered(std::string_view channel_type, std::string_view channel_id,
                         DeliveryOutcome outcome) {
    (void)channel_type, (void)channel_id, (void)outcome;
  }
  // An alarm recorded (kind: failed, timed_out, ...; summaries included).
  virtual void Raised(std::string_view kind) { (void)kind; }
  // A scheduler event dropped because the engine's queue was full.
  virtual void Dropped() {}
};

// A probe that counts nothing.
AlarmProbe& NoopProbe();

}  // namespace forest::alarm
