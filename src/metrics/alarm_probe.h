// The alarms' counters: alarms sent and failed, by channel. The alarms
// themselves come later (issue 9's other half); until the alarm module
// exists this probe lives here, and the server registers its families so
// they are scraped (empty) from the start. Move it beside the alarm code
// when that lands.
//
// Threads: thread-safe.
#pragma once

#include <string_view>

#include "metrics/metrics.h"

namespace forest::metrics {

class AlarmProbe {
 public:
  // `registry` must outlive the probe; null: a no-op probe (ProbeRegistry).
  explicit AlarmProbe(Registry* registry = nullptr);

  // Creates the channel's series at zero, so a scrape lists it before the
  // first alarm.
  void Declare(std::string_view channel);
  // An alarm was delivered on `channel` ("webhook", "email", ...).
  void Sent(std::string_view channel);
  // An alarm could not be delivered on `channel`.
  void Failed(std::string_view channel);

 private:
  ProbeRegistry registry_;
  CounterFamily& sent_;
  CounterFamily& failed_;
};

}  // namespace forest::metrics
