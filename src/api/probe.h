// The HTTP API's metrics: requests by method, route and status, and their
// latency by method and route. The route is the matched pattern
// ("/api/v1/jobs/{id}"), "ui" for the web UI's files, "none" for paths no
// route serves (404, 405): never the raw path, so the series stay few.
// The Router calls Request once per request it dispatches.
//
// Threads: thread-safe.
#pragma once

#include <chrono>
#include <string_view>

#include "metrics/metrics.h"

namespace forest::api {

class Probe {
 public:
  // `registry` must outlive the probe; null: a no-op probe.
  explicit Probe(metrics::Registry* registry = nullptr);

  void Request(std::string_view method, std::string_view route, int status,
               std::chrono::nanoseconds elapsed);

 private:
  metrics::ProbeRegistry registry_;
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& seconds_;
};

}  // namespace forest::api
