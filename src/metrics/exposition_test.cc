// The strict text-format parser the tests check /metrics with: what it
// accepts, and each thing it refuses.
#include "metrics/testing/exposition.h"

#include <gtest/gtest.h>

#include <cmath>

namespace forest::metrics::testing {
namespace {

TEST(ExpositionTest, ParsesFamiliesSamplesAndLabels) {
  const auto parsed = ParseExposition(
      "# HELP a_total Things.\n"
      "# TYPE a_total counter\n"
      "a_total{x=\"1\",y=\"two words\"} 3\n"
      "a_total{x=\"2\",} 4 1700000000000\n"
      "\n"
      "# a comment\n"
      "# TYPE g gauge\n"
      "g -1.5e3\n"
      "g2{a=\"NaN\"} NaN\n"
      "  \tindented 1\n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\"} 1\n"
      "h_bucket{le=\"+Inf\"} 2\n"
      "h_sum 3.5\n"
      "h_count 2\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const Exposition& e = *parsed;
  EXPECT_EQ(e.families.at("a_total").type, "counter");
  EXPECT_EQ(e.families.at("a_total").help, "Things.");
  EXPECT_EQ(e.Value("a_total", {{"x", "1"}, {"y", "two words"}}), 3);
  EXPECT_EQ(e.families.at("a_total").samples[1].timestamp_ms, 1700000000000);
  EXPECT_EQ(e.Sum("a_total"), 7);
  EXPECT_EQ(e.Value("g"), -1500);
  EXPECT_TRUE(std::isnan(*e.Value("g2", {{"a", "NaN"}})));
  EXPECT_EQ(e.families.at("g2").type, "untyped");
  EXPECT_EQ(e.Value("indented"), 1);
  EXPECT_EQ(e.families.at("h").samples.size(), 4u);
  EXPECT_EQ(e.FamilyOf("h_bucket")->name, "h");
}

TEST(ExpositionTest, AcceptsEmptyText) { EXPECT_TRUE(ParseExposition("").ok()); }

TEST(ExpositionTest, RefusesWhatTheFormatDoesNot) {
  const struct {
    const char* why;
    const char* text;
  } kCases[] = {
      {"no final line feed", "a 1"},
      {"bad metric name", "1a 1\n"},
      {"bad metric name char", "a-b 1\n"},
      {"bad label name", "a{1x=\"v\"} 1\n"},
      {"reserved label name", "a{__x=\"v\"} 1\n"},
      {"unquoted label value", "a{x=v} 1\n"},
      {"unterminated label value", "a{x=\"v} 1\n"},
      {"bad label escape", "a{x=\"\\t\"} 1\n"},
      {"label twice", "a{x=\"1\",x=\"2\"} 1\n"},
      {"unterminated label set", "a{x=\"1\" 1\n"},
      {"no value", "a\n"},
      {"bad value", "a one\n"},
      {"lower-case inf", "a inf\n"},
      {"bad timestamp", "a 1 soon\n"},
      {"float timestamp", "a 1 1.5\n"},
      {"text after the timestamp", "a 1 2 3\n"},
      {"bad HELP escape", "# HELP a x\\ty\n"},
      {"two HELP lines", "# HELP a x\n# HELP a y\n"},
      {"two TYPE lines", "# TYPE a gauge\n# TYPE a gauge\n"},
      {"TYPE after samples", "a 1\n# TYPE a gauge\n"},
      {"unknown type", "# TYPE a meter\n"},
      {"text after the type", "# TYPE a gauge extra\n"},
      {"family in two groups", "a 1\nb 1\na{x=\"1\"} 2\n"},
      {"series twice", "a{x=\"1\"} 1\na{x=\"1\"} 2\n"},
      {"negative counter", "# TYPE a counter\na -1\n"},
      {"NaN counter", "# TYPE a counter\na NaN\n"},
      {"bucket without le", "# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n"},
      {"le not a number", "# TYPE h histogram\nh_bucket{le=\"x\"} 1\nh_sum 1\nh_count 1\n"},
      {"no +Inf bucket", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"},
      {"buckets out of order",
       "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
       "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"},
      {"decreasing buckets",
       "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"},
      {"count is not +Inf", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n"},
      {"no sum", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"},
      {"histogram parts apart",
       "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nother 1\nh_count 1\n"},
  };
  for (const auto& c : kCases) {
    EXPECT_FALSE(ParseExposition(c.text).ok()) << c.why << ": " << c.text;
  }
}

}  // namespace
}  // namespace forest::metrics::testing
