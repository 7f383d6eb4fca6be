#include "alarm/metrics_probe.h"

namespace forest::alarm {

MetricsProbe::MetricsProbe(metrics::Registry* registry)
    : registry_(registry),
      raised_(registry_.get().AddCounterFamily(
          "forest_alarms_raised_total", "Alarms recorded (summaries included), by kind.",
          {"kind"})),
      sent_(registry_.get().AddCounterFamily(
          "forest_alarms_sent_total", "Alarm deliveries a channel took, by channel.",
          {"channel", "type"})),
      failed_(registry_.get().AddCounterFamily(
          "forest_alarms_failed_total",
          "Alarm deliveries given up for good (attempts used up, channel gone), by channel.",
          {"channel", "type"})),
      retried_(registry_.get().AddCounterFamily(
          "forest_alarm_attempts_failed_total",
          "Failed alarm delivery attempts that are retried, by channel.", {"channel", "type"})),
      dropped_(registry_.get().AddCounter(
          "forest_alarm_events_dropped_total",
          "Scheduler events (misfires, leadership) dropped because the alarm queue was full.")) {}

void MetricsProbe::Declare(std::string_view channel_type, std::string_view channel_id) {
  for (metrics::CounterFamily* family : {&sent_, &failed_, &retried_}) {
    family->WithLabels({channel_id, channel_type});
  }
}

void MetricsProbe::Delivered(std::string_view channel_type, std::string_view channel_id,
                             DeliveryOutcome outcome) {
  metrics::CounterFamily& family = outcome == DeliveryOutcome::kSent     ? sent_
                                   : outcome == DeliveryOutcome::kFailed ? failed_
                                                                         : retried_;
  family.WithLabels({channel_id, channel_type}).Increment();
}

void MetricsProbe::Raised(std::string_view kind) { raised_.WithLabels({kind}).Increment(); }

void MetricsProbe::Dropped() { dropped_.Increment(); }

}  // namespace forest::alarm
