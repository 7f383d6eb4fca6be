#include "alarm/metrics_probe.h"

#include <gtest/gtest.h>

#include "metrics/testing/exposition.h"

namespace forest::alarm {
namespace {

TEST(MetricsProbeTest, FamiliesAreThereAtZeroAndCountByChannelAndKind) {
  metrics::Registry r;
  MetricsProbe probe(&r);
  auto parsed = metrics::testing::ParseExposition(r.Render());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  for (const char* family : {"forest_alarms_raised_total", "forest_alarms_sent_total",
                             "forest_alarms_failed_total", "forest_alarm_attempts_failed_total",
                             "forest_alarm_events_dropped_total"}) {
    EXPECT_EQ(parsed->families.at(family).type, "counter") << family;
  }
  probe.Declare("webhook", "ch-1");
  EXPECT_EQ(metrics::testing::ParseExposition(r.Render())
                ->Value("forest_alarms_sent_total", {{"channel", "ch-1"}, {"type", "webhook"}}),
            0);
  probe.Delivered("webhook", "ch-1", DeliveryOutcome::kSent);
  probe.Delivered("webhook", "ch-1", DeliveryOutcome::kSent);
  probe.Delivered("email", "ch-2", DeliveryOutcome::kRetry);
  probe.Delivered("email", "ch-2", DeliveryOutcome::kFailed);
  probe.Raised("failed");
  probe.Dropped();
  parsed = metrics::testing::ParseExposition(r.Render());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Value("forest_alarms_sent_total", {{"channel", "ch-1"}, {"type", "webhook"}}),
            2);
  EXPECT_EQ(parsed->Value("forest_alarms_failed_total", {{"channel", "ch-2"}, {"type", "email"}}),
            1);
  EXPECT_EQ(parsed->Value("forest_alarm_attempts_failed_total",
                          {{"channel", "ch-2"}, {"type", "email"}}),
            1);
  EXPECT_EQ(parsed->Value("forest_alarms_failed_total", {{"channel", "ch-1"}, {"type", "webhook"}}),
            0);
  EXPECT_EQ(parsed->Value("forest_alarms_raised_total", {{"kind", "failed"}}), 1);
  EXPECT_EQ(parsed->Value("forest_alarm_events_dropped_total", {}), 1);
}

TEST(MetricsProbeTest, WithoutARegistryItCountsNowhere) {
  MetricsProbe probe(nullptr);
  probe.Delivered("webhook", "ch-1", DeliveryOutcome::kSent);
  probe.Raised("failed");
  probe.Dropped();
}

}  // namespace
}  // namespace forest::alarm
