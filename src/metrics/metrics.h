// Metrics in the Prometheus text exposition format (version 0.0.4): a
// Registry of counter, gauge and histogram families, each with label names
// fixed at registration and one time series per set of label values.
//
// Contract:
//  - Registering a family makes it appear in Render() from then on, with its
//    `# HELP` and `# TYPE` lines; a family without labels has its single
//    series at zero at once, a labelled one has a series per label values
//    asked for with WithLabels (none until then).
//  - Registering a name again with the same type, label names (and bucket
//    bounds) answers the existing family, so two probes of one kind may
//    share a registry. Anything else about names is a programming error and
//    crashes (FOREST_CHECK): a name registered again with another shape, a
//    name or label name the format does not allow (metric names
//    [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* not
//    starting with "__", no "le" on a histogram), bucket bounds that are not
//    finite and strictly increasing, the wrong number of label values.
//  - Label values are any UTF-8 text; Render escapes them. Keep their number
//    bounded (a route pattern, not a raw path).
//  - Render() sorts families by name and series by label values; a
//    histogram's series is its cumulative `_bucket{le="..."}` lines (the
//    last le="+Inf"), `_sum` and `_count` (= the +Inf bucket).
//
// Ownership: the registry owns every family and series; the references it
// hands out stay valid as long as the registry (except after Remove, below).
//
// Threads: everything is thread-safe. Counter, Gauge and Histogram updates
// are lock-free atomics (cache the reference from WithLabels on hot paths);
// a mutex guards only the registry's and each family's map (registration,
// WithLabels, Remove, Render). A Render concurrent with updates sees each
// series at some instant; a histogram's +Inf bucket always equals its count.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace forest::metrics {

// The Content-Type of Render()'s text.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// A value that only goes up (events, bytes). Starts at 0.
class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (a queue's length, 1/0 for a role). Starts at 0.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets by upper bound (`le`, inclusive), with
// their sum and count. The bounds are the family's; +Inf is implicit.
class Histogram {
 public:
  // REQUIRES: `bounds` finite, strictly increasing, and outliving this.
  explicit Histogram(const std::vector<double>& bounds);
  void Observe(double v);
  // Seconds of a duration.
  void Observe(std::chrono::nanoseconds d) { Observe(std::chrono::duration<double>(d).count()); }

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double>& bounds_;
  // Per bucket (not cumulative), the last one for +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

enum class Type { kCounter, kGauge, kHistogram };

// Everything a family has besides its series (Registry::Render's view).
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bounds() const { return bounds_; }
  // Appends this family's lines to `out`.
  virtual void Render(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names,
             std::vector<double> bounds);

  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
};

// The series of one metric, by label values.
template <typename M>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> label_names,
         std::vector<double> bounds = {});

  // The series of these label values (in label_names() order), created at
  // zero on first use. REQUIRES: as many values as label names.
  M& WithLabels(const std::vector<std::string>& values);
  M& WithLabels(std::initializer_list<std::string_view> values);
  // Drops a series (it disappears from Render until asked for again).
  // REQUIRES: nobody uses a reference to it any more.
  void Remove(const std::vector<std::string>& values);

  void Render(std::string& out) const override;

 private:
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> series_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Bucket bounds in seconds for latencies from 0.5 ms to 10 s.
const std::vector<double>& LatencyBuckets();
// `count` bounds from `start`, each `factor` times the last. REQUIRES:
// start > 0, factor > 1, count >= 1.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& AddCounterFamily(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names);
  GaugeFamily& AddGaugeFamily(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names);
  HistogramFamily& AddHistogramFamily(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> bounds);
  // A family without labels, and its one series.
  Counter& AddCounter(std::string_view name, std::string_view help);
  Gauge& AddGauge(std::string_view name, std::string_view help);
  Histogram& AddHistogram(std::string_view name, std::string_view help, std::vector<double> bounds);

  // Every family in the text format, each line ending in "\n".
  std::string Render() const;

 private:
  template <typename M>
  Family<M>& Add(std::string_view name, std::string_view help, Type type,
                 std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_ ABSL_GUARDED_BY(mu_);
};

// What a probe records into: the registry it was given, or (null) one of
// its own that nobody renders, so a probe is always usable and a component
// built without metrics (tests, tools) needs no special case. Declare it as
// a probe's first member, then initialize the families from get().
class ProbeRegistry {
 public:
  explicit ProbeRegistry(Registry* registry)
      : own_(registry == nullptr ? std::make_unique<Registry>() : nullptr),
        registry_(registry == nullptr ? own_.get() : registry) {}
  Registry& get() const { return *registry_; }

 private:
  std::unique_ptr<Registry> own_;
  Registry* registry_;
};

// The text format's escapes: a label value's (\\, \", \n) and a HELP
// text's (\\, \n).
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
// A sample value as the format writes it: shortest round-trip form, "+Inf",
// "-Inf", "NaN".
std::string FormatValue(double v);

// Measures a duration for a histogram. Durations in metrics are read from
// the steady clock directly, not through common/Clock (whose millisecond
// readings are too coarse for a request's latency): they only ever feed
// metrics, never a decision, so tests have nothing to fake.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  std::chrono::nanoseconds Elapsed() const { return std::chrono::steady_clock::now() - start_; }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace forest::metrics
