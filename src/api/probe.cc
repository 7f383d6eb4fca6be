#include "api/probe.h"

#include <string>

namespace forest::api {
namespace {

// The methods the server routes; anything else is "other" (bounded labels).
std::string_view MethodLabel(std::string_view method) {
  for (const std::string_view m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == m) return m;
  }
  return "other";
}

}  // namespace

Probe::Probe(metrics::Registry* registry)
    : registry_(registry),
      requests_(registry_.get().AddCounterFamily(
          "forest_http_requests_total",
          "HTTP requests answered, by method, route pattern and status code.",
          {"method", "route", "status"})),
      seconds_(registry_.get().AddHistogramFamily(
          "forest_http_request_duration_seconds",
          "Time from a request's dispatch to its answer, by method and route pattern.",
          {"method", "route"}, metrics::LatencyBuckets())) {}

void Probe::Request(std::string_view method, std::string_view route, int status,
                    std::chrono::nanoseconds elapsed) {
  const std::string_view m = MethodLabel(method);
  requests_.WithLabels({m, route, std::to_string(status)}).Increment();
  seconds_.WithLabels({m, route}).Observe(elapsed);
}

}  // namespace forest::api
