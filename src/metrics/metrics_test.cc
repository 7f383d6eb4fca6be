#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <limits>
#include <thread>
#include <vector>

#include "metrics/testing/exposition.h"

namespace forest::metrics {
namespace {

TEST(MetricsTest, EmptyRegistryRendersNothing) {
  Registry r;
  EXPECT_EQ(r.Render(), "");
}

TEST(MetricsTest, CounterWithoutLabelsRendersAtZeroThenCounts) {
  Registry r;
  Counter& c = r.AddCounter("forest_things_total", "Things seen.");
  EXPECT_EQ(r.Render(),
            "# HELP forest_things_total Things seen.\n"
            "# TYPE forest_things_total counter\n"
            "forest_things_total 0\n");
  c.Increment();
  c.Increment(41);
  EXPECT_EQ(c.value(), 42u);
  EXPECT_EQ(r.Render(),
            "# HELP forest_things_total Things seen.\n"
            "# TYPE forest_things_total counter\n"
            "forest_things_total 42\n");
}

TEST(MetricsTest, LabelledFamilyHasSeriesOnlyOnceAskedForSortedByValues) {
  Registry r;
  CounterFamily& f = r.AddCounterFamily("forest_runs_total", "Runs.", {"group", "status"});
  EXPECT_EQ(r.Render(),
            "# HELP forest_runs_total Runs.\n"
            "# TYPE forest_runs_total counter\n");
  f.WithLabels({"trade", "success"}).Increment(3);
  f.WithLabels({"billing", "error"}).Increment();
  f.WithLabels({"trade", "success"}).Increment();
  EXPECT_EQ(r.Render(),
            "# HELP forest_runs_total Runs.\n"
            "# TYPE forest_runs_total counter\n"
            "forest_runs_total{group=\"billing\",status=\"error\"} 1\n"
            "forest_runs_total{group=\"trade\",status=\"success\"} 4\n");
}

TEST(MetricsTest, WithLabelsAnswersTheSameSeriesEveryTime) {
  Registry r;
  CounterFamily& f = r.AddCounterFamily("forest_x_total", "x", {"a"});
  Counter& one = f.WithLabels({"v"});
  Counter& two = f.WithLabels(std::vector<std::string>{"v"});
  EXPECT_EQ(&one, &two);
}

TEST(MetricsTest, GaugeSetsAndAddsAndRendersFractions) {
  Registry r;
  Gauge& g = r.AddGauge("forest_backlog", "Rows waiting.");
  g.Set(5);
  g.Add(-2.5);
  EXPECT_DOUBLE_EQ(g.value(), 2.5);
  EXPECT_EQ(r.Render(),
            "# HELP forest_backlog Rows waiting.\n"
            "# TYPE forest_backlog gauge\n"
            "forest_backlog 2.5\n");
}

TEST(MetricsTest, GaugeSeriesCanBeRemoved) {
  Registry r;
  GaugeFamily& f = r.AddGaugeFamily("forest_workers", "Workers.", {"group"});
  f.WithLabels({"a"}).Set(2);
  f.WithLabels({"b"}).Set(1);
  f.Remove({"a"});
  EXPECT_EQ(r.Render(),
            "# HELP forest_workers Workers.\n"
            "# TYPE forest_workers gauge\n"
            "forest_workers{group=\"b\"} 1\n");
}

TEST(MetricsTest, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry r;
  Histogram& h = r.AddHistogram("forest_lag_seconds", "Lag.", {0.1, 0.5, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // le is inclusive
  h.Observe(0.7);
  h.Observe(3);
  EXPECT_EQ(r.Render(),
            "# HELP forest_lag_seconds Lag.\n"
            "# TYPE forest_lag_seconds histogram\n"
            "forest_lag_seconds_bucket{le=\"0.1\"} 2\n"
            "forest_lag_seconds_bucket{le=\"0.5\"} 2\n"
            "forest_lag_seconds_bucket{le=\"1\"} 3\n"
            "forest_lag_seconds_bucket{le=\"+Inf\"} 4\n"
            "forest_lag_seconds_sum 3.85\n"
            "forest_lag_seconds_count 4\n");
}

TEST(MetricsTest, HistogramWithLabelsPutsLeLast) {
  Registry r;
  HistogramFamily& f =
      r.AddHistogramFamily("forest_http_seconds", "Latency.", {"route"}, {0.01, 1});
  f.WithLabels({"/a"}).Observe(std::chrono::milliseconds(5));
  EXPECT_EQ(r.Render(),
            "# HELP forest_http_seconds Latency.\n"
            "# TYPE forest_http_seconds histogram\n"
            "forest_http_seconds_bucket{route=\"/a\",le=\"0.01\"} 1\n"
            "forest_http_seconds_bucket{route=\"/a\",le=\"1\"} 1\n"
            "forest_http_seconds_bucket{route=\"/a\",le=\"+Inf\"} 1\n"
            "forest_http_seconds_sum{route=\"/a\"} 0.005\n"
            "forest_http_seconds_count{route=\"/a\"} 1\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeHelp("a\\b\"c\nd"), "a\\\\b\"c\\nd");
  Registry r;
  r.AddCounterFamily("forest_e_total", "Line one\nline \\two", {"path"})
      .WithLabels({"C:\\dir \"x\"\n"})
      .Increment();
  const std::string text = r.Render();
  EXPECT_EQ(text,
            "# HELP forest_e_total Line one\\nline \\\\two\n"
            "# TYPE forest_e_total counter\n"
            "forest_e_total{path=\"C:\\\\dir \\\"x\\\"\\n\"} 1\n");
  // And a parser reads back what was escaped.
  auto parsed = testing::ParseExposition(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->families.at("forest_e_total").help, "Line one\nline \\two");
  EXPECT_EQ(parsed->Value("forest_e_total", {{"path", "C:\\dir \"x\"\n"}}), 1);
}

TEST(MetricsTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(0.0005), "0.0005");
}

TEST(MetricsTest, FamiliesRenderSortedByName) {
  Registry r;
  r.AddGauge("forest_b", "b");
  r.AddGauge("forest_a", "a");
  EXPECT_EQ(r.Render(),
            "# HELP forest_a a\n# TYPE forest_a gauge\nforest_a 0\n"
            "# HELP forest_b b\n# TYPE forest_b gauge\nforest_b 0\n");
}

TEST(MetricsTest, RegisteringTheSameShapeAgainAnswersTheSameFamily) {
  Registry r;
  CounterFamily& one = r.AddCounterFamily("forest_x_total", "x", {"a"});
  CounterFamily& two = r.AddCounterFamily("forest_x_total", "x", {"a"});
  EXPECT_EQ(&one, &two);
  HistogramFamily& h1 = r.AddHistogramFamily("forest_h", "h", {}, {1, 2});
  HistogramFamily& h2 = r.AddHistogramFamily("forest_h", "h", {}, {1, 2});
  EXPECT_EQ(&h1, &h2);
}

TEST(MetricsDeathTest, RefusesWhatTheFormatDoesNotAllow) {
  EXPECT_DEATH(Registry().AddCounter("1bad", "x"), "check failed");
  EXPECT_DEATH(Registry().AddCounter("bad-name", "x"), "check failed");
  EXPECT_DEATH(Registry().AddCounterFamily("ok", "x", {"a:b"}), "check failed");
  EXPECT_DEATH(Registry().AddCounterFamily("ok", "x", {"__reserved"}), "check failed");
  EXPECT_DEATH(Registry().AddCounterFamily("ok", "x", {"a", "a"}), "check failed");
  EXPECT_DEATH(Registry().AddHistogramFamily("ok", "x", {"le"}, {1}), "check failed");
  EXPECT_DEATH(Registry().AddHistogram("ok", "x", {2, 1}), "check failed");
  EXPECT_DEATH(Registry().AddHistogram("ok", "x", {1, std::numeric_limits<double>::infinity()}),
               "check failed");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("forest_x", "x");
        r.AddGauge("forest_x", "x");
      },
      "check failed");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounterFamily("forest_x", "x", {"a"}).WithLabels({"1", "2"});
      },
      "check failed");
}

TEST(MetricsTest, ExponentialBuckets) {
  EXPECT_EQ(ExponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
}

TEST(MetricsTest, ConcurrentUpdatesAllCountAndRenderStaysParseable) {
  Registry r;
  CounterFamily& counters = r.AddCounterFamily("forest_c_total", "c", {"t"});
  Histogram& h = r.AddHistogram("forest_h_seconds", "h", LatencyBuckets());
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) {
      auto parsed = testing::ParseExposition(r.Render());
      ASSERT_TRUE(parsed.ok()) << parsed.status();
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& mine = counters.WithLabels({t % 2 == 0 ? "even" : "odd"});
      for (int i = 0; i < kEach; ++i) {
        mine.Increment();
        h.Observe(0.001 * (i % 50));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  done = true;
  scraper.join();
  auto parsed = testing::ParseExposition(r.Render());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Sum("forest_c_total"), kThreads * kEach);
  EXPECT_EQ(parsed->Value("forest_h_seconds_count"), kThreads * kEach);
  EXPECT_EQ(parsed->Value("forest_h_seconds_bucket", {{"le", "+Inf"}}), kThreads * kEach);
}

}  // namespace
}  // namespace forest::metrics
