// Authentication through the router: the role matrix, tokens and their
// revocation, sessions with CSRF, rate limiting, the audit log.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "coord/embedded/embedded_store.h"
#include "model/keys.h"
#include "scheduler/run_request.h"

namespace forest::api {
namespace {

using nlohmann::json;

class AuthRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = coord::EmbeddedStore::Open({}).value();
    authn_ = auth::Authenticator::Create(*store_, clock_).value();
    ASSERT_TRUE(authn_->CreateUser("root", "root-password", auth::Role::kAdmin).ok());
    ASSERT_TRUE(authn_->CreateUser("olga", "olga-password", auth::Role::kOperator).ok());
    ASSERT_TRUE(authn_->CreateUser("vera", "vera-password", auth::Role::kViewer).ok());
    const std::string path = ::testing::TempDir() + "forest_audit_" + std::to_string(getpid()) +
                             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                             ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    audit_ = history::OpenAuditLog(history::ParseDbUrl("sqlite://" + path).value(), clock_).value();
    ApiDeps deps;
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.auth = authn_.get();
    deps.audit = audit_.get();
    AddRoutes(router_, deps);
    ASSERT_TRUE(authn_->CreateToken("root", "setup").ok());
    root_ = authn_->CreateToken("root", "t").value().text;
    olga_ = authn_->CreateToken("olga", "t").value().text;
    vera_ = authn_->CreateToken("vera", "t").value().text;
  }

  Response Call(const std::string& method, const std::string& path, const std::string& body = "",
                std::map<std::string, std::string> headers = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.headers = std::move(headers);
    r.remote_address = "10.0.0.9";
    return router_.Dispatch(r);
  }
  Response As(const std::string& token, const std::string& method, const std::string& path,
              const std::string& body = "") {
    return Call(method, path, body, {{"authorization", "Bearer " + token}});
  }
  static std::string Group(const std::string& name) { return R"({"name":")" + name + R"("})"; }
  // Logs in as a browser does: the session cookie ("name=value") and the CSRF token.
  struct BrowserSession {
    std::string cookie;
    std::string csrf;
  };
  BrowserSession LogIn(const std::string& user, const std::string& password) {
    const Response login = Call("POST", "/api/v1/login",
                                json{{"user", user}, {"password", password}}.dump());
    EXPECT_EQ(login.status, 200) << login.body;
    BrowserSession session;
    for (const auto& [name, value] : login.headers) {
      if (name == "Set-Cookie") session.cookie = value.substr(0, value.find(';'));
    }
    if (login.status == 200) session.csrf = json::parse(login.body)["csrfToken"];
    return session;
  }

  FakeClock clock_{ParseIso8601("2026-03-01T08:00:00Z", TimeZone::Utc()).value()};
  std::unique_ptr<coord::Store> store_;
  std::unique_ptr<auth::Authenticator> authn_;
  std::unique_ptr<history::AuditLog> audit_;
  Router router_;
  std::string root_, olga_, vera_;
};

TEST_F(AuthRoutesTest, RolesDecideWhoMayDoWhat) {
  EXPECT_EQ(Call("GET", "/healthz").status, 200);  // public
  EXPECT_EQ(Call("GET", "/api/v1/jobs").status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/jobs", "", {{"authorization", "Bearer fst_nope_nope"}}).status,
            401);
  // viewer: reads only
  EXPECT_EQ(As(vera_, "GET", "/api/v1/jobs").status, 200);
  EXPECT_EQ(As(vera_, "POST", "/api/v1/groups", Group("g1")).status, 403);
  EXPECT_EQ(As(vera_, "POST", "/job/list").status, 200);                // legacy read
  EXPECT_EQ(As(vera_, "POST", "/group/add", Group("g1")).status, 403);  // legacy write
  // operator: jobs and groups, not users
  EXPECT_EQ(As(olga_, "POST", "/api/v1/groups", Group("g1")).status, 201);
  EXPECT_EQ(As(olga_, "GET", "/api/v1/users").status, 403);
  EXPECT_EQ(As(olga_, "GET", "/api/v1/audit").status, 403);
  // admin: everything
  EXPECT_EQ(As(root_, "GET", "/api/v1/users").status, 200);
  const Response created = As(root_, "POST", "/api/v1/users",
                              R"({"name":"nina","password":"nina-password","role":"viewer"})");
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(As(root_, "POST", "/api/v1/users", R"({"name":"x","password":"short"})").status, 400);
}

TEST_F(AuthRoutesTest, ARevokedTokenStopsWorking) {
  const Response made = As(vera_, "POST", "/api/v1/tokens", R"({"name":"ci"})");
  ASSERT_EQ(made.status, 201) << made.body;
  const json token = json::parse(made.body);
  const std::string text = token["token"];
  EXPECT_EQ(As(text, "GET", "/api/v1/jobs").status, 200);
  // Another (non-admin) user cannot even see it.
  EXPECT_EQ(As(olga_, "DELETE", "/api/v1/tokens/" + token["id"].get<std::string>()).status, 404);
  EXPECT_EQ(As(vera_, "DELETE", "/api/v1/tokens/" + token["id"].get<std::string>()).status, 204);
  EXPECT_EQ(As(text, "GET", "/api/v1/jobs").status, 401);
  // A deleted user's tokens die with them.
  ASSERT_EQ(As(root_, "DELETE", "/api/v1/users/vera").status, 204);
  EXPECT_EQ(As(vera_, "GET", "/api/v1/jobs").status, 401);
}

TEST_F(AuthRoutesTest, BrowserSessionsNeedTheCsrfTokenToChangeThings) {
  const Response login =
      Call("POST", "/api/v1/login", R"({"user":"olga","password":"olga-password"})");
  ASSERT_EQ(login.status, 200) << login.body;
  std::string cookie;
  for (const auto& [name, value] : login.headers) {
    if (name == "Set-Cookie") cookie = value.substr(0, value.find(';'));
  }
  ASSERT_FALSE(cookie.empty());
  for (const auto& [name, value] : login.headers) {
    if (name == "Set-Cookie") {
      EXPECT_NE(value.find("HttpOnly"), std::string::npos);
      EXPECT_NE(value.find("SameSite=Strict"), std::string::npos);
    }
  }
  const std::string csrf = json::parse(login.body)["csrfToken"];
  EXPECT_EQ(Call("GET", "/api/v1/jobs", "", {{"cookie", cookie}}).status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/groups", Group("g2"), {{"cookie", cookie}}).status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/groups", Group("g2"), {{"cookie", cookie}, {"x-csrf-token", "x"}})
                .status,
            403);
  EXPECT_EQ(
      Call("POST", "/api/v1/groups", Group("g2"), {{"cookie", cookie}, {"x-csrf-token", csrf}})
          .status,
      201);
  const json session = json::parse(Call("GET", "/api/v1/session", "", {{"cookie", cookie}}).body);
  EXPECT_EQ(session["user"], "olga");
  EXPECT_EQ(session["csrfToken"], csrf);
  EXPECT_EQ(Call("POST", "/api/v1/logout", "", {{"cookie", cookie}, {"x-csrf-token", csrf}}).status,
            200);
  EXPECT_EQ(Call("GET", "/api/v1/jobs", "", {{"cookie", cookie}}).status, 401);
}

TEST_F(AuthRoutesTest, FailedLoginsAreRateLimitedAndAudited) {
  Response r;
  for (int i = 0; i < 5; ++i) {
    r = Call("POST", "/api/v1/login", R"({"user":"olga","password":"wrong-password"})");
    EXPECT_EQ(r.status, 401) << r.body;
  }
  r = Call("POST", "/api/v1/login", R"({"user":"olga","password":"olga-password"})");
  EXPECT_EQ(r.status, 429) << r.body;
  bool retry_after = false;
  for (const auto& [name, value] : r.headers)
    retry_after |= name == "Retry-After" && !value.empty();
  EXPECT_TRUE(retry_after);
  clock_.Advance(std::chrono::minutes(6));
  EXPECT_EQ(Call("POST", "/api/v1/login", R"({"user":"olga","password":"olga-password"})").status,
            200);

  ASSERT_EQ(As(olga_, "POST", "/api/v1/groups", Group("audited")).status, 201);
  const json failed = json::parse(As(root_, "GET", "/api/v1/audit?action=login.failed").body);
  const json all = json::parse(As(root_, "GET", "/api/v1/audit").body);
  ASSERT_TRUE(all.contains("items")) << all;
  bool saw_create = false, saw_failed = false, saw_login = false;
  for (const json& e : all["items"]) {
    saw_create |= e["action"] == "group.create" && e["actor"] == "olga" &&
                  e["objectId"] == "audited" && e["ok"] == true;
    saw_failed |= e["action"] == "login.failed" && e["objectId"] == "olga" && e["ok"] == false &&
                  e["clientAddress"] == "10.0.0.9";
    saw_login |= e["action"] == "login" && e["actor"] == "olga";
  }
  EXPECT_TRUE(saw_create) << all.dump(1);
  EXPECT_TRUE(saw_failed) << all.dump(1);
  EXPECT_TRUE(saw_login) << all.dump(1);
  (void)failed;
}

TEST_F(AuthRoutesTest, WrongTypesAre400AndTokenTextsStayOutOfTheAuditLog) {
  EXPECT_EQ(Call("POST", "/api/v1/login", R"({"user":1,"password":"x"})").status, 400);
  EXPECT_EQ(As(root_, "POST", "/api/v1/tokens", R"({"name":[1]})").status, 400);
  EXPECT_EQ(As(root_, "POST", "/api/v1/users", R"({"name":"n","password":"p","role":7})").status,
            400);
  // A whole token pasted where its id belongs: refused, and not recorded.
  EXPECT_EQ(As(root_, "DELETE", "/api/v1/tokens/" + vera_).status, 404);
  const std::string log = As(root_, "GET", "/api/v1/audit").body;
  EXPECT_EQ(log.find(vera_), std::string::npos) << log;
  EXPECT_NE(log.find("token.delete"), std::string::npos) << log;
}

// A run from the UI (a session) is a run by hand; one by API token is `api`.
TEST_F(AuthRoutesTest, RunsFromASessionAreManualAndByTokenApi) {
  ASSERT_EQ(As(olga_, "POST", "/api/v1/groups", Group("g")).status, 201);
  const Response created = As(olga_, "POST", "/api/v1/jobs",
                              R"({"name":"j","group":"g","cron":"0 0 3 * * ?","target":"x"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = json::parse(created.body)["id"];
  const BrowserSession session = LogIn("olga", "olga-password");
  ASSERT_EQ(Call("POST", "/api/v1/jobs/" + id + "/run", "",
                 {{"cookie", session.cookie}, {"x-csrf-token", session.csrf}})
                .status,
            202);
  ASSERT_EQ(As(olga_, "POST", "/api/v1/jobs/" + id + "/run").status, 202);
  std::multiset<std::string> triggers;
  const auto requests =
      store_->Range(coord::RangeRequest::Prefix(std::string(model::keys::kRunPrefix)));
  ASSERT_TRUE(requests.ok()) << requests.status();
  for (const coord::KeyValue& kv : requests->kvs) {
    triggers.insert(
        std::string(model::Name(scheduler::RunRequest::FromJson(kv.value).value().trigger)));
  }
  EXPECT_EQ(triggers, (std::multiset<std::string>{"api", "manual"}));
}

// Regression: the original's list endpoints are POST, so the original UI's
// reads needed a CSRF token from a browser session and filled the audit log.
TEST_F(AuthRoutesTest, LegacyListsAreReadsWithoutCsrfAndNotAudited) {
  const std::string cookie = LogIn("vera", "vera-password").cookie;
  for (const std::string path : {"/job/list", "/group/list", "/node/list", "/plan/list",
                                 "/client/list", "/snapshot/list", "/execute/snapshot/list"}) {
    const std::string body = path == "/client/list" ? R"({"group":"g"})" : "{}";
    EXPECT_EQ(Call("POST", path, body, {{"cookie", cookie}}).status, 200) << path;
  }
  // Writes still need it (and a viewer may not do them anyway).
  EXPECT_EQ(Call("POST", "/group/add", Group("g3"), {{"cookie", cookie}}).status, 403);
  const std::string log = As(root_, "GET", "/api/v1/audit").body;
  EXPECT_EQ(log.find("/job/list"), std::string::npos) << log;
  EXPECT_EQ(log.find("/execute/snapshot/list"), std::string::npos) << log;
  EXPECT_NE(log.find("/group/add"), std::string::npos) << log;
}

TEST(AuthOffTest, EveryoneIsAnAdminAndThereAreNoUsers) {
  auto store = coord::EmbeddedStore::Open({}).value();
  ApiDeps deps;
  deps.store = store.get();
  Router router;
  AddRoutes(router, deps);
  Request r;
  r.method = "POST";
  r.path = "/api/v1/groups";
  r.body = R"({"name":"g"})";
  EXPECT_EQ(router.Dispatch(r).status, 201);
  Request login;
  login.method = "POST";
  login.path = "/api/v1/login";
  login.body = R"({"user":"a","password":"b"})";
  EXPECT_EQ(router.Dispatch(login).status, 409);
}

}  // namespace
}  // namespace forest::api
