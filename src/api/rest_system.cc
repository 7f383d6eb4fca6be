// /healthz, /readyz, /metrics and the OpenAPI document.
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/catalog.h"
#include "api/errors.h"
#include "coord/election.h"

namespace forest::api {

void AddSystemRoutes(Router& router, const ApiDeps& deps) {
  router.Add("GET", "/healthz", Access::kPublic, [](Request&) {
    return JsonResponse({{"status", "ok"}});
  });
  router.Add("GET", "/readyz", Access::kPublic, [deps](Request&) {
    nlohmann::json checks = nlohmann::json::object();
    bool ready = true;
    // One key read: the store answers (and, on etcd, has a quorum).
    auto store = deps.store->Range(coord::RangeRequest::Single(std::string(coord::kLeaderKey)));
    checks["store"] = store.ok() ? "ok" : std::string(store.status().message());
    ready = ready && store.ok();
    if (deps.history != nullptr) {
      history::Query q;
      q.id = "~readyz";
      q.page_size = 1;
      auto h = deps.history->List(q);
      checks["history"] = h.ok() ? "ok" : std::string(h.status().message());
      ready = ready && h.ok();
    }
    return JsonResponse({{"status", ready ? "ready" : "not ready"}, {"checks", checks}},
                        ready ? 200 : 503);
  });
  // Public like /healthz: Prometheus scrapers carry no login. It tells
  // counts and latencies, never names of users, tokens or job contents
  // beyond job-independent labels.
  router.Add("GET", "/metrics", Access::kPublic, [registry = deps.metrics](Request&) {
    Response r;
    r.content_type = std::string(metrics::kContentType);
    if (registry != nullptr) r.body = registry->Render();
    return r;
  });
  router.Add("GET", "/api/v1/openapi.json", Access::kPublic, [](Request&) {
    Response r;
    r.body = OpenApiDocument();
    return r;
  });
}

void AddRoutes(Router& router, const ApiDeps& given) {
  ApiDeps deps = given;
  if (deps.catalog == nullptr) deps.catalog = MakeCatalog(deps);
  AddSystemRoutes(router, deps);
  AddCatalogRoutes(router, deps);
  AddClusterRoutes(router, deps);
  AddHistoryRoutes(router, deps);
  AddAlarmRoutes(router, deps);
  AddLegacyRoutes(router, deps);
  AddAuthRoutes(router, deps);
  InstallAuth(router, deps);
}

}  // namespace forest::api
