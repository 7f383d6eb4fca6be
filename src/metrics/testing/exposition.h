// A strict parser of the Prometheus text exposition format 0.0.4, for tests
// that check what /metrics serves (Registry::Render, a server's scrape).
//
// Refused (InvalidArgument naming the line): text not ending in "\n"; a
// metric or label name the format does not allow; a label value or HELP
// text with an escape other than the format's (\\ \" \n for values, \\ \n
// for HELP); a value or timestamp Go's ParseFloat / ParseInt would refuse;
// a second HELP or TYPE for a name, a TYPE after the family's samples, an
// unknown type; a family whose lines are not one group; a series given
// twice; a label named twice; a counter below zero or NaN; a histogram
// series without `le` on a bucket, with buckets out of order or decreasing,
// without le="+Inf", or whose `_count` is not its +Inf bucket, or without
// `_sum`/`_count`. Samples with no TYPE line are "untyped".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace forest::metrics::testing {

using LabelSet = std::map<std::string, std::string>;

struct Sample {
  std::string name;  // as written: x, x_bucket, x_sum, x_count
  LabelSet labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

struct ParsedFamily {
  std::string name;
  std::string help;              // unescaped; "" without a HELP line
  std::string type = "untyped";  // counter, gauge, histogram, summary, untyped
  bool typed = false;            // a TYPE line was given
  std::vector<Sample> samples;
};

struct Exposition {
  std::map<std::string, ParsedFamily> families;

  // The value of the sample `name` whose labels are exactly `labels`.
  std::optional<double> Value(std::string_view name, const LabelSet& labels = {}) const;
  // The sum over samples `name` whose labels include every one of `match`.
  double Sum(std::string_view name, const LabelSet& match = {}) const;
  // The family a sample name belongs to (x_bucket -> x for a histogram).
  const ParsedFamily* FamilyOf(std::string_view sample_name) const;
};

absl::StatusOr<Exposition> ParseExposition(std::string_view text);

}  // namespace forest::metrics::testing
