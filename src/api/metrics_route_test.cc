// GET /metrics (public, the text format) and the router's request metrics
// (by route pattern, never the raw path).
#include <gtest/gtest.h>

#include "api/api.h"
#include "api/errors.h"
#include "coord/embedded/embedded_store.h"
#include "metrics/testing/exposition.h"

namespace forest::api {
namespace {

using metrics::testing::ParseExposition;

Request Make(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

TEST(MetricsRouteTest, ServesTheRegistryPubliclyEvenWithAuthentication) {
  auto store = coord::EmbeddedStore::Open({}).value();
  FakeClock clock(ParseIso8601("2026-03-01T08:00:00Z", TimeZone::Utc()).value());
  auto authn = auth::Authenticator::Create(*store, clock).value();
  metrics::Registry registry;
  registry.AddCounter("forest_test_total", "A test counter.").Increment(3);
  ApiDeps deps;
  deps.store = store.get();
  deps.clock = &clock;
  deps.auth = authn.get();
  deps.metrics = &registry;
  Router router;
  AddRoutes(router, deps);
  Request r = Make("GET", "/metrics");
  const Response out = router.Dispatch(r);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.content_type, "text/plain; version=0.0.4; charset=utf-8");
  auto parsed = ParseExposition(out.body);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << out.body;
  EXPECT_EQ(parsed->Value("forest_test_total"), 3);
  // Everything else still needs a login.
  Request jobs = Make("GET", "/api/v1/jobs");
  EXPECT_EQ(router.Dispatch(jobs).status, 401);
}

TEST(MetricsRouteTest, WithoutARegistryTheAnswerIsEmpty) {
  auto store = coord::EmbeddedStore::Open({}).value();
  ApiDeps deps;
  deps.store = store.get();
  Router router;
  AddRoutes(router, deps);
  Request r = Make("GET", "/metrics");
  const Response out = router.Dispatch(r);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body, "");
}

TEST(MetricsRouteTest, RouterCountsRequestsByPatternMethodAndStatus) {
  metrics::Registry registry;
  Probe probe(&registry);
  Router router;
  router.SetProbe(&probe);
  router.Add("GET", "/api/v1/jobs/{id}", Access::kViewer, [](Request&) {
    return JsonResponse({{"ok", true}});
  });
  router.Add("POST", "/api/v1/jobs/{id}/run", Access::kOperator,
             [](Request&) { return ErrorResponse(absl::NotFoundError("no such job")); });
  router.SetFallback([](Request&) { return Response{}; });
  for (const char* id : {"a", "b", "c"}) {
    Request r = Make("GET", std::string("/api/v1/jobs/") + id);
    router.Dispatch(r);
  }
  Request run = Make("POST", "/api/v1/jobs/a/run");
  router.Dispatch(run);
  Request wrong = Make("DELETE", "/api/v1/jobs/a");  // 405
  router.Dispatch(wrong);
  Request missing = Make("POST", "/nothing/here");  // 404
  router.Dispatch(missing);
  Request ui = Make("GET", "/assets/app.js");
  router.Dispatch(ui);
  Request odd = Make("BREW", "/coffee");
  router.Dispatch(odd);

  auto e = ParseExposition(registry.Render());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->Value("forest_http_requests_total",
                     {{"method", "GET"}, {"route", "/api/v1/jobs/{id}"}, {"status", "200"}}),
            3);
  EXPECT_EQ(e->Value("forest_http_requests_total",
                     {{"method", "POST"}, {"route", "/api/v1/jobs/{id}/run"}, {"status", "404"}}),
            1);
  EXPECT_EQ(e->Value("forest_http_requests_total",
                     {{"method", "DELETE"}, {"route", "none"}, {"status", "405"}}),
            1);
  EXPECT_EQ(e->Value("forest_http_requests_total",
                     {{"method", "POST"}, {"route", "none"}, {"status", "404"}}),
            1);
  EXPECT_EQ(e->Value("forest_http_requests_total",
                     {{"method", "GET"}, {"route", "ui"}, {"status", "200"}}),
            1);
  EXPECT_EQ(e->Value("forest_http_requests_total",
                     {{"method", "other"}, {"route", "none"}, {"status", "404"}}),
            1);
  EXPECT_EQ(e->Sum("forest_http_requests_total"), 8);
  EXPECT_EQ(e->Value("forest_http_request_duration_seconds_count",
                     {{"method", "GET"}, {"route", "/api/v1/jobs/{id}"}}),
            3);
  // No raw path became a label.
  for (const auto& s : e->families.at("forest_http_requests_total").samples) {
    EXPECT_EQ(s.labels.at("route").find("/api/v1/jobs/a"), std::string::npos);
  }
}

}  // namespace
}  // namespace forest::api
