#include "metrics/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "common/check.h"

namespace forest::metrics {
namespace {

bool ValidName(std::string_view s, bool colons) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// `{a="x",b="y"` without the closing brace (the caller may add le); empty
// when there are no labels and nothing follows.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values) {
  for (size_t i = 0; i < names.size(); ++i) {
    out += i == 0 ? "{" : ",";
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view value) {
  out += name;
  out += suffix;
  AppendLabels(out, names, values);
  if (!names.empty()) out += '}';
  out += ' ';
  out += value;
  out += '\n';
}

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// --- Histogram -----------------------------------------------------------------

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // The first bound >= v (le is inclusive); NaN and values past the last
  // bound land in +Inf, as other clients do.
  const size_t i = std::isnan(v)
                       ? bounds_.size()
                       : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                             bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return kBuckets;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  FOREST_CHECK(start > 0 && factor > 1 && count >= 1);
  std::vector<double> out;
  double b = start;
  for (int i = 0; i < count; ++i, b *= factor) out.push_back(b);
  return out;
}

// --- Families ------------------------------------------------------------------

FamilyBase::FamilyBase(std::string name, std::string help, Type type,
                       std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <typename M>
Family<M>::Family(std::string name, std::string help, Type type,
                  std::vector<std::string> label_names, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names),
                 std::move(bounds)) {
  // A family without labels has its one series from the start.
  if (label_names_.empty()) WithLabels(std::vector<std::string>{});
}

template <typename M>
M& Family<M>::WithLabels(const std::vector<std::string>& values) {
  FOREST_CHECK(values.size() == label_names_.size());
  std::lock_guard lock(mu_);
  auto it = series_.find(values);
  if (it == series_.end()) {
    std::unique_ptr<M> m;
    if constexpr (std::is_same_v<M, Histogram>) {
      m = std::make_unique<Histogram>(bounds_);
    } else {
      m = std::make_unique<M>();
    }
    it = series_.emplace(values, std::move(m)).first;
  }
  return *it->second;
}

template <typename M>
M& Family<M>::WithLabels(std::initializer_list<std::string_view> values) {
  std::vector<std::string> v;
  v.reserve(values.size());
  for (const std::string_view s : values) v.emplace_back(s);
  return WithLabels(v);
}

template <typename M>
void Family<M>::Remove(const std::vector<std::string>& values) {
  std::lock_guard lock(mu_);
  series_.erase(values);
}

template <typename M>
void Family<M>::Render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += EscapeHelp(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += TypeName(type_);
  out += '\n';
  std::lock_guard lock(mu_);
  for (const auto& [values, m] : series_) {
    if constexpr (std::is_same_v<M, Counter>) {
      AppendSample(out, name_, "", label_names_, values, fmt::format("{}", m->value()));
    } else if constexpr (std::is_same_v<M, Gauge>) {
      AppendSample(out, name_, "", label_names_, values, FormatValue(m->value()));
    } else {
      const Histogram::Snapshot s = m->snapshot();
      for (size_t i = 0; i < s.cumulative.size(); ++i) {
        out += name_;
        out += "_bucket";
        AppendLabels(out, label_names_, values);
        out += label_names_.empty() ? "{" : ",";
        out += "le=\"";
        out += i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
        out += "\"} ";
        out += fmt::format("{}", s.cumulative[i]);
        out += '\n';
      }
      AppendSample(out, name_, "_sum", label_names_, values, FormatValue(s.sum));
      AppendSample(out, name_, "_count", label_names_, values, fmt::format("{}", s.count));
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- Registry ------------------------------------------------------------------

template <typename M>
Family<M>& Registry::Add(std::string_view name, std::string_view help, Type type,
                         std::vector<std::string> label_names, std::vector<double> bounds) {
  FOREST_CHECK(ValidName(name, /*colons=*/true));
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& l = label_names[i];
    FOREST_CHECK(ValidName(l, /*colons=*/false));
    FOREST_CHECK(l.rfind("__", 0) != 0);
    FOREST_CHECK(type != Type::kHistogram || l != "le");
    for (size_t j = 0; j < i; ++j) FOREST_CHECK(label_names[j] != l);
  }
  if (type == Type::kHistogram) {
    for (size_t i = 0; i < bounds.size(); ++i) {
      FOREST_CHECK(std::isfinite(bounds[i]));
      FOREST_CHECK(i == 0 || bounds[i - 1] < bounds[i]);
    }
  }
  std::lock_guard lock(mu_);
  if (const auto it = families_.find(name); it != families_.end()) {
    FamilyBase& f = *it->second;
    FOREST_CHECK(f.type() == type && f.label_names() == label_names && f.bounds() == bounds);
    return static_cast<Family<M>&>(f);
  }
  auto family = std::make_unique<Family<M>>(std::string(name), std::string(help), type,
                                            std::move(label_names), std::move(bounds));
  Family<M>& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

CounterFamily& Registry::AddCounterFamily(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names) {
  return Add<Counter>(name, help, Type::kCounter, std::move(label_names), {});
}

GaugeFamily& Registry::AddGaugeFamily(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names) {
  return Add<Gauge>(name, help, Type::kGauge, std::move(label_names), {});
}

HistogramFamily& Registry::AddHistogramFamily(std::string_view name, std::string_view help,
                                              std::vector<std::string> label_names,
                                              std::vector<double> bounds) {
  return Add<Histogram>(name, help, Type::kHistogram, std::move(label_names), std::move(bounds));
}

Counter& Registry::AddCounter(std::string_view name, std::string_view help) {
  return AddCounterFamily(name, help, {}).WithLabels(std::vector<std::string>{});
}

Gauge& Registry::AddGauge(std::string_view name, std::string_view help) {
  return AddGaugeFamily(name, help, {}).WithLabels(std::vector<std::string>{});
}

Histogram& Registry::AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds) {
  return AddHistogramFamily(name, help, {}, std::move(bounds))
      .WithLabels(std::vector<std::string>{});
}

std::string Registry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) family->Render(out);
  return out;
}

}  // namespace forest::metrics
