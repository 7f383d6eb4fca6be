#include "metrics/alarm_probe.h"

namespace forest::metrics {

AlarmProbe::AlarmProbe(Registry* registry)
    : registry_(registry),
      sent_(registry_.get().AddCounterFamily("forest_alarms_sent_total",
                                             "Alarms delivered, by channel.", {"channel"})),
      failed_(registry_.get().AddCounterFamily("forest_alarms_failed_total",
                                               "Alarms that could not be delivered, by channel.",
                                               {"channel"})) {}

void AlarmProbe::Declare(std::string_view channel) {
  sent_.WithLabels({channel});
  failed_.WithLabels({channel});
}

void AlarmProbe::Sent(std::string_view channel) { sent_.WithLabels({channel}).Increment(); }

void AlarmProbe::Failed(std::string_view channel) { failed_.WithLabels({channel}).Increment(); }

}  // namespace forest::metrics
