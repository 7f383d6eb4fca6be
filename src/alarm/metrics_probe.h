// The alarm engine's probe that counts into a metrics registry (the
// server's /metrics):
//   forest_alarms_raised_total{kind}            alarms recorded (summaries too)
//   forest_alarms_sent_total{channel,type}      deliveries a channel took
//   forest_alarms_failed_total{channel,type}    deliveries given up for good
//   forest_alarm_attempts_failed_total{channel,type}  failed attempts to be retried
//   forest_alarm_events_dropped_total           scheduler events the full queue dropped
//
// Threads: thread-safe (the registry's families are).
#pragma once

#include <string_view>

#include "alarm/probe.h"
#include "metrics/metrics.h"

namespace forest::alarm {

class MetricsProbe final : public AlarmProbe {
 public:
  // `registry` must outlive the probe; null counts nowhere.
  explicit MetricsProbe(metrics::Registry* registry);

  // Creates a channel's series at zero, so a scrape lists it before its
  // first alarm.
  void Declare(std::string_view channel_type, std::string_view channel_id);

  void Delivered(std::string_view channel_type, std::string_view channel_id,
                 DeliveryOutcome outcome) override;
  void Raised(std::string_view kind) override;
  void Dropped() override;

 private:
  metrics::ProbeRegistry registry_;
  metrics::CounterFamily& raised_;
  metrics::CounterFamily& sent_;
  metrics::CounterFamily& failed_;
  metrics::CounterFamily& retried_;
  metrics::Counter& dropped_;
};

}  // namespace forest::alarm
