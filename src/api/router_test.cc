#include "api/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "api/errors.h"
#include "model/job.h"

namespace forest::api {
namespace {

Request Make(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

nlohmann::json Body(const Response& r) { return nlohmann::json::parse(r.body); }

TEST(RouterTest, MatchesSegmentsAndFillsParams) {
  Router router;
  router.Add("GET", "/api/v1/jobs/{id}", Access::kViewer, [](Request& r) {
    return JsonResponse({{"id", r.Param("id")}});
  });
  router.Add("GET", "/api/v1/jobs/{id}/next", Access::kViewer, [](Request& r) {
    return JsonResponse({{"next", r.Param("id")}});
  });
  router.Add("GET", "/files/{path...}", Access::kViewer, [](Request& r) {
    return JsonResponse({{"path", r.Param("path")}});
  });
  // The server library has decoded the path once; the router does not again.
  Request a = Make("GET", "/api/v1/jobs/a%41b");
  EXPECT_EQ(Body(router.Dispatch(a))["id"], "a%41b");
  Request head = Make("HEAD", "/api/v1/jobs/x");
  EXPECT_EQ(router.Dispatch(head).status, 200);
  Request b = Make("GET", "/api/v1/jobs/x/next");
  EXPECT_EQ(Body(router.Dispatch(b))["next"], "x");
  Request c = Make("GET", "/files/a/b/c.js");
  EXPECT_EQ(Body(router.Dispatch(c))["path"], "a/b/c.js");
  Request d = Make("GET", "/api/v1/jobs/x/next/more");
  EXPECT_EQ(router.Dispatch(d).status, 404);
}

TEST(RouterTest, WrongMethodIs405WithAllow) {
  Router router;
  router.Add("GET", "/a", Access::kViewer, [](Request&) { return JsonResponse({}); });
  router.Add("POST", "/a", Access::kViewer, [](Request&) { return JsonResponse({}); });
  Request r = Make("DELETE", "/a");
  const Response out = router.Dispatch(r);
  EXPECT_EQ(out.status, 405);
  ASSERT_EQ(out.headers.size(), 1u);
  EXPECT_EQ(out.headers[0].second, "GET, POST");
  EXPECT_EQ(Body(out)["error"]["code"], "unimplemented");
}

TEST(RouterTest, TheAuthorizerDecidesAndNamesTheCaller) {
  Router router;
  router.Add("GET", "/open", Access::kPublic, [](Request&) { return JsonResponse({}); });
  router.Add("POST", "/admin", Access::kAdmin, [](Request& r) {
    return JsonResponse({{"user", r.caller->user}});
  });
  router.SetAuthorizer([](Request& r, Access need) -> absl::Status {
    if (need == Access::kPublic) return absl::OkStatus();
    if (r.Header("authorization") != "Bearer good") {
      return absl::UnauthenticatedError("log in first");
    }
    r.caller = Caller{"alice", Access::kAdmin, false};
    return absl::OkStatus();
  });
  Request open = Make("GET", "/open");
  EXPECT_EQ(router.Dispatch(open).status, 200);
  Request anon = Make("POST", "/admin");
  const Response denied = router.Dispatch(anon);
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(Body(denied)["error"]["message"], "log in first");
  Request alice = Make("POST", "/admin");
  alice.headers["authorization"] = "Bearer good";
  EXPECT_EQ(Body(router.Dispatch(alice))["user"], "alice");
}

TEST(RouterTest, AThrowingHandlerIsA500NotACrash) {
  Router router;
  router.Add("GET", "/boom", Access::kViewer,
             [](Request&) -> Response { throw std::runtime_error("secret detail"); });
  Request r = Make("GET", "/boom");
  const Response out = router.Dispatch(r);
  EXPECT_EQ(out.status, 500);
  EXPECT_EQ(out.body.find("secret"), std::string::npos);
}

TEST(RouterTest, AThrowingObserverLeavesTheAnswerAlone) {
  Router router;
  router.Add("POST", "/a", Access::kViewer, [](Request&) { return JsonResponse({{"ok", 1}}); });
  router.SetObserver([](const Request&, const RouteInfo&, const Response&) {
    throw std::runtime_error("audit down");
  });
  Request r = Make("POST", "/a");
  const Response out = router.Dispatch(r);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(Body(out)["ok"], 1);
}

TEST(ErrorsTest, CodesMapToStatusesAndFieldsAreNamed) {
  const Response r = ErrorResponse(FieldError("cron", "field 3 (hour): 25 is out of range"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["error"]["field"], "cron");
  EXPECT_EQ(Body(r)["error"]["code"], "invalid_argument");
  EXPECT_EQ(HttpStatus(absl::StatusCode::kAborted), 409);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_FALSE(Body(ErrorResponse(absl::NotFoundError("x")))["error"].contains("field"));
}

TEST(ErrorsTest, BodiesAndQueryIntegersAreChecked) {
  EXPECT_EQ(ParseJsonObject("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJsonObject("[1]").status().code(), absl::StatusCode::kInvalidArgument);
  const auto bad = ParseJsonObject("{\"a\": ");
  EXPECT_NE(std::string(bad.status().message()).find("not valid JSON"), std::string::npos);
  EXPECT_TRUE(ParseJsonObject("{\"a\": 1}").ok());
  Request r;
  r.query.emplace("n", "12");
  r.query.emplace("bad", "1x");
  EXPECT_EQ(QueryInt(r, "n", 5, 1, 100).value(), 12);
  EXPECT_EQ(QueryInt(r, "absent", 5, 1, 100).value(), 5);
  EXPECT_EQ(QueryInt(r, "n", 5, 1, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(model::ErrorField(QueryInt(r, "bad", 5, 1, 100).status()), "bad");
}

}  // namespace
}  // namespace forest::api
