// The HTTP API end to end (issue 7): real `forest server` processes spoken
// to over real HTTP with a cpp-httplib client; a tiny cpp-httplib server in
// the test is the HTTP target of the jobs the standalone server's embedded
// worker runs; a real etcd for the two-node cluster.
//
// Covered, standalone: authentication (401, sessions with their CSRF token,
// API tokens, revocation, the login rate limit), roles, cron runs recorded
// in the history and counted by the statistics, pause/resume, runs on
// request, version and group-in-use conflicts, bad input on every write
// endpoint (never a 500; 413 past --max-body-bytes, chunked bodies too),
// a POST with no body and no length, the audit log, the OpenAPI document,
// and the original's legacy endpoints as its UI calls them. Cluster: writes through the follower
// read back through the leader, both nodes agreeing on the leader, tokens valid on every node.
//
// Every test starts its own server(s) in its own temporary directory; the
// destructors SIGKILL them and remove the directory, so a failed assertion
// leaves nothing behind, and the failing test prints the servers' log tails.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "coord/testing/etcd_cluster.h"
#include "process.h"

extern char** environ;

namespace forest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ordered_json = nlohmann::ordered_json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;
using integration::ReadFile;
using integration::ServerProcess;
using integration::Tail;
using integration::TempDir;

constexpr char kAdminPassword[] = "e2e-admin-password";
// Small, so that a 413 costs nothing to provoke.
constexpr size_t kMaxBodyBytes = 4096;
// Generous bounds for what should take a second or two.
constexpr milliseconds kLimit{20000};

bool Eventually(const std::function<bool()>& cond, milliseconds limit = kLimit,
                milliseconds every = milliseconds(100)) {
  return integration::Eventually(cond, limit, every);
}
constexpr char kTargetBody[] = "hello from the e2e target";

// The arguments of a `forest server` on 127.0.0.1:`port` with its data in
// `data_dir`, authentication on with the test's admin password.
std::vector<std::string> ServerArgs(const std::string& node_id, int port,
                                    const fs::path& data_dir) {
  return {
      FOREST_BINARY,      "server",          "--node-id",        node_id,
      "--data-dir",       data_dir.string(), "--http-address",   fmt::format("127.0.0.1:{}", port),
      "--admin-password", kAdminPassword,    "--max-body-bytes", std::to_string(kMaxBodyBytes)};
}

// --- The HTTP client ----------------------------------------------------------

struct Answer {
  int status = 0;     // 0: no answer at all
  std::string error;  // the transport error then
  std::string body;
  httplib::Headers headers;

  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
  ordered_json Ordered() const {
    return ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
  }
  // The `code` of an {"error": {...}} answer, or "".
  std::string ErrorCode() const {
    const json j = Json();
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
    return j["error"].value("code", "");
  }
  std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  std::string Describe() const {
    if (status == 0) return "no answer: " + error;
    return fmt::format("HTTP {} {}", status, Tail(body, 1500));
  }
};

// Who calls: nobody, an API token, or a browser session (its cookie, and
// the CSRF token a state change sends in X-CSRF-Token).
struct Credentials {
  std::string token;
  std::string cookie;  // "forest_session=..."
  std::string csrf;
};

// One node's API as one caller sees it. A new connection per request.
class Client {
 public:
  Client() = default;
  Client(int port, Credentials who) : port_(port), who_(std::move(who)) {}

  Answer Call(const std::string& method, const std::string& path,
              const std::optional<std::string>& body = std::nullopt,
              const httplib::Headers& extra = {}) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(seconds(5));
    client.set_read_timeout(seconds(15));
    client.set_write_timeout(seconds(5));
    httplib::Request req;
    req.method = method;
    req.path = path;
    if (!who_.token.empty()) req.set_header("Authorization", "Bearer " + who_.token);
    if (!who_.cookie.empty()) req.set_header("Cookie", who_.cookie);
    if (!who_.csrf.empty()) req.set_header("X-CSRF-Token", who_.csrf);
    for (const auto& [name, value] : extra) req.set_header(name, value);
    if (body) {
      req.body = *body;
      req.set_header("Content-Type", "application/json");
    }
    Answer a;
    auto result = client.send(req);
    if (!result) {
      a.error = httplib::to_string(result.error());
      return a;
    }
    a.status = result->status;
    a.body = result->body;
    a.headers = result->headers;
    return a;
  }
  Answer Get(const std::string& path) const { return Call("GET", path); }
  Answer Delete(const std::string& path) const { return Call("DELETE", path); }
  Answer Post(const std::string& path, const json& body) const {
    return Call("POST", path, body.dump());
  }
  Answer Put(const std::string& path, const json& body) const {
    return Call("PUT", path, body.dump());
  }

  int port() const { return port_; }
  const Credentials& who() const { return who_; }

 private:
  int port_ = 0;
  Credentials who_;
};

// Logs `user` in: the session's credentials (empty on failure, with the
// answer in `answer`).
Credentials Login(int port, const std::string& user, const std::string& password,
                  Answer* answer = nullptr) {
  const Answer a = Client(port, {}).Post("/api/v1/login", {{"user", user}, {"password", password}});
  if (answer != nullptr) *answer = a;
  Credentials c;
  if (a.status != 200) return c;
  const std::string set_cookie = a.Header("Set-Cookie");
  c.cookie = set_cookie.substr(0, set_cookie.find(';'));
  const json j = a.Json();
  if (j.is_object()) c.csrf = j.value("csrfToken", "");
  return c;
}

struct Token {
  std::string id;
  std::string text;
};

// Creates an API token through `session` (empty on failure).
Token NewToken(const Client& session, const std::string& name) {
  const Answer a = session.Post("/api/v1/tokens", {{"name", name}});
  EXPECT_EQ(a.status, 201) << a.Describe();
  const json j = a.Json();
  if (a.status != 201 || !j.is_object()) return {};
  return {j.value("id", ""), j.value("token", "")};
}

// Logs `user` in on `port` and answers a client with a new API token of theirs.
Client TokenClient(int port, const std::string& user, const std::string& password) {
  Answer login;
  const Credentials session = Login(port, user, password, &login);
  EXPECT_FALSE(session.cookie.empty()) << "login of " << user << ": " << login.Describe();
  const Token token = NewToken(Client(port, session), "e2e token of " + user);
  EXPECT_FALSE(token.text.empty());
  return Client(port, {token.text, "", ""});
}

// Waits until the server answers /readyz with 200 (false if it exits or
// does not within the limit).
bool WaitReady(ServerProcess& server) {
  const Client anonymous(server.port(), {});
  bool ready = false;
  Eventually([&] {
    if (!server.Running()) return true;
    ready = anonymous.Get("/readyz").status == 200;
    return ready;
  });
  return ready;
}

// The `total` of GET /api/v1/executions?{query}; -1 when it fails.
int64_t ExecutionTotal(const Client& api, const std::string& query) {
  const Answer a = api.Get("/api/v1/executions?" + query);
  const json j = a.Json();
  if (a.status != 200 || !j.is_object() || !j.contains("total")) return -1;
  return j["total"].get<int64_t>();
}

// A job of the catalog's REST shape.
json JobBody(const std::string& name, const std::string& group, const std::string& cron,
             const std::string& target) {
  return {{"name", name}, {"group", group}, {"cron", cron}, {"target", target}};
}

// The keys of an object, in the order the server wrote them.
std::vector<std::string> KeysOf(const ordered_json& j) {
  std::vector<std::string> keys;
  if (!j.is_object()) return keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  return keys;
}

// Sends `request` byte for byte on a new connection to 127.0.0.1:`port`
// and answers what comes back before the server closes the connection or
// `limit` passes ("" if nothing). For requests cpp-httplib's client will not
// send (it always adds a Content-Length).
std::string RawExchange(int port, const std::string& request, milliseconds limit) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{};
  timeout.tv_sec = limit.count() / 1000;
  timeout.tv_usec = static_cast<int>(limit.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    const auto end = Steady::now() + limit;
    char buffer[4096];
    while (Steady::now() < end) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answer.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

// The HTTP target of the jobs: counts its hits and answers kTargetBody.
class TargetServer {
 public:
  TargetServer() {
    server_.Get("/hit", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_content(kTargetBody, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ > 0) {
      thread_ = std::thread([this] { server_.listen_after_bind(); });
      Eventually([&] { return server_.is_running(); }, milliseconds(5000), milliseconds(5));
    }
  }
  ~TargetServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  TargetServer(const TargetServer&) = delete;
  TargetServer& operator=(const TargetServer&) = delete;

  int port() const { return port_; }
  int hits() const { return hits_.load(); }
  std::string Url() const { return fmt::format("http://127.0.0.1:{}/hit", port_); }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::atomic<int> hits_{0};
  std::thread thread_;
};

// --- Standalone ------------------------------------------------------------------

// One standalone server (embedded store, embedded worker of group `local`)
// per test, with an admin API token ready.
class StandaloneApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("api-e2e");
    ASSERT_FALSE(dir_->path().empty()) << "mkdtemp failed";
    const int port = coord::testing::FreeLoopbackPorts(1).at(0);
    server_ = std::make_unique<ServerProcess>(
        "solo", port, ServerArgs("solo", port, dir_->path() / "data"), dir_->path());
    ASSERT_TRUE(server_->Start()) << "cannot spawn " << FOREST_BINARY;
    ASSERT_TRUE(WaitReady(*server_)) << "not ready:\n" << Tail(server_->Log());
    admin_ = TokenClient(port, "admin", kAdminPassword);
    ASSERT_FALSE(admin_.who().token.empty());
  }

  void TearDown() override {
    if (HasFailure() && server_ != nullptr) {
      std::cout << "---- server " << server_->id() << " log (tail):\n"
                << Tail(server_->Log()) << "\n";
    }
    server_.reset();  // SIGKILL
    dir_.reset();
  }

  int port() const { return server_->port(); }
  Client Anonymous() const { return Client(port(), {}); }

  // Creates a job through `api`; its JSON ({} on failure).
  json CreateJob(const Client& api, const json& body) {
    const Answer a = api.Post("/api/v1/jobs", body);
    EXPECT_EQ(a.status, 201) << a.Describe();
    return a.status == 201 ? a.Json() : json::object();
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ServerProcess> server_;
  Client admin_;
};

TEST_F(StandaloneApiTest, AnonymousCallsAreRefusedAndSessionsNeedTheirCsrfToken) {
  const Answer anonymous = Anonymous().Get("/api/v1/jobs");
  EXPECT_EQ(anonymous.status, 401) << anonymous.Describe();
  EXPECT_EQ(anonymous.ErrorCode(), "unauthenticated") << anonymous.body;
  EXPECT_EQ(Anonymous().Get("/healthz").status, 200);
  EXPECT_EQ(Anonymous().Post("/api/v1/groups", {{"name", "anon"}}).status, 401);
  EXPECT_EQ(Client(port(), {"fst_notatoken_xxxxxxxx", "", ""}).Get("/api/v1/jobs").status, 401);

  Answer login;
  const Credentials session = Login(port(), "admin", kAdminPassword, &login);
  ASSERT_EQ(login.status, 200) << login.Describe();
  EXPECT_NE(login.Header("Set-Cookie").find("HttpOnly"), std::string::npos)
      << login.Header("Set-Cookie");
  EXPECT_EQ(login.Json().value("role", ""), "admin");
  ASSERT_FALSE(session.csrf.empty()) << login.body;

  // Reads need the cookie only; state changes need the CSRF token too.
  const Client cookie_only(port(), {"", session.cookie, ""});
  const Answer who = cookie_only.Get("/api/v1/session");
  EXPECT_EQ(who.status, 200) << who.Describe();
  EXPECT_EQ(who.Json().value("user", ""), "admin");
  const Answer no_csrf = cookie_only.Post("/api/v1/groups", {{"name", "csrf-a"}});
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.Describe();
  const Answer wrong_csrf = Client(port(), {"", session.cookie, "bm90LXRoZS10b2tlbg"})
                                .Post("/api/v1/groups", {{"name", "csrf-a"}});
  EXPECT_EQ(wrong_csrf.status, 403) << wrong_csrf.Describe();
  EXPECT_EQ(admin_.Get("/api/v1/groups/csrf-a").status, 404) << "a refused request wrote";
  const Client browser(port(), session);
  const Answer created = browser.Post("/api/v1/groups", {{"name", "csrf-a"}});
  EXPECT_EQ(created.status, 201) << created.Describe();

  // A token made in the session works without it.
  const Token token = NewToken(browser, "csrf test");
  EXPECT_EQ(token.text.rfind("fst_", 0), 0u) << token.text;
  const Answer with_token = Client(port(), {token.text, "", ""}).Get("/api/v1/groups/csrf-a");
  EXPECT_EQ(with_token.status, 200) << with_token.Describe();

  // After logout the cookie is refused.
  EXPECT_EQ(browser.Post("/api/v1/logout", json::object()).status, 200);
  EXPECT_EQ(cookie_only.Get("/api/v1/session").status, 401);
}

TEST_F(StandaloneApiTest, CronJobRunsOnTheEmbeddedWorkerPausesResumesAndRunsOnRequest) {
  TargetServer target;
  ASSERT_GT(target.port(), 0) << "the target server cannot listen";
  const Answer local = admin_.Get("/api/v1/groups/local");
  ASSERT_EQ(local.status, 200) << "standalone creates group local: " << local.Describe();

  const json job = CreateJob(admin_, JobBody("every-second", "local", "* * * * * ?", target.Url()));
  ASSERT_TRUE(job.contains("id")) << job.dump();
  const std::string id = job["id"];
  EXPECT_EQ(job.value("version", 0), 1);
  const std::string of_job = "jobId=" + id;

  // Successful runs are recorded, with the target's answer as output.
  ASSERT_TRUE(Eventually([&] { return ExecutionTotal(admin_, of_job + "&status=2") >= 2; }))
      << "no two successful executions; executions: "
      << admin_.Get("/api/v1/executions?" + of_job).Describe();
  EXPECT_GE(target.hits(), 2);
  const Answer page = admin_.Get("/api/v1/executions?" + of_job + "&status=success");
  ASSERT_EQ(page.status, 200) << page.Describe();
  const json items = page.Json().value("items", json::array());
  ASSERT_FALSE(items.empty()) << page.body;
  const json first = items[0];
  EXPECT_EQ(first.value("jobId", ""), id);
  EXPECT_EQ(first.value("status", 0), 2);
  EXPECT_FALSE(first.contains("output")) << "lists leave the output out";
  const Answer one = admin_.Get("/api/v1/executions/" + first.value("id", ""));
  ASSERT_EQ(one.status, 200) << one.Describe();
  const json execution = one.Json();
  EXPECT_EQ(execution.value("status", 0), 2);
  EXPECT_EQ(execution.value("trigger", ""), "cron");
  EXPECT_EQ(execution.value("group", ""), "local");
  EXPECT_NE(execution.value("output", "").find(kTargetBody), std::string::npos) << one.body;

  // The statistics count them.
  const Answer stats = admin_.Get("/api/v1/stats?by=job&jobId=" + id);
  ASSERT_EQ(stats.status, 200) << stats.Describe();
  const json rows = stats.Json()["items"];
  ASSERT_EQ(rows.size(), 1u) << stats.body;
  EXPECT_EQ(rows[0].value("key", ""), id);
  EXPECT_EQ(rows[0].value("jobName", ""), "every-second");
  EXPECT_GE(rows[0].value("success", 0), 2) << stats.body;
  EXPECT_GE(rows[0].value("total", 0), rows[0].value("success", 0));
  const Answer overview = admin_.Get("/api/v1/stats/overview");
  ASSERT_EQ(overview.status, 200) << overview.Describe();
  EXPECT_GE(overview.Json().value("runs24h", 0), 2) << overview.body;
  EXPECT_GE(overview.Json().value("success24h", 0), 2) << overview.body;

  // Paused: once the runs in flight are recorded, nothing new for 3 s (a
  // job firing every second could not stay quiet that long).
  const Answer paused = admin_.Post("/api/v1/jobs/" + id + "/pause", json::object());
  ASSERT_EQ(paused.status, 200) << paused.Describe();
  EXPECT_EQ(paused.Json().value("status", 0), 2);
  int64_t settled = -1;
  {
    int64_t last = ExecutionTotal(admin_, of_job);
    auto since = Steady::now();
    const bool quiet = Eventually(
        [&] {
          const int64_t now = ExecutionTotal(admin_, of_job);
          if (now != last) {
            last = now;
            since = Steady::now();
          }
          return Steady::now() - since >= seconds(3);
        },
        milliseconds(12000));
    ASSERT_TRUE(quiet) << "a paused job kept running: " << last << " executions and counting";
    settled = last;
  }
  const int hits_paused = target.hits();

  // Resumed: it fires again.
  const Answer resumed = admin_.Post("/api/v1/jobs/" + id + "/resume", json::object());
  ASSERT_EQ(resumed.status, 200) << resumed.Describe();
  EXPECT_EQ(resumed.Json().value("status", 0), 1);
  EXPECT_TRUE(Eventually([&] { return ExecutionTotal(admin_, of_job) > settled; }))
      << "no execution after resume";
  EXPECT_GT(target.hits(), hits_paused);

  // Run on request: 202 with the id the execution then carries.
  const Answer run = admin_.Post("/api/v1/jobs/" + id + "/run", json::object());
  ASSERT_EQ(run.status, 202) << run.Describe();
  const std::string execution_id = run.Json().value("executionId", "");
  ASSERT_FALSE(execution_id.empty()) << run.body;
  json requested;
  EXPECT_TRUE(Eventually([&] {
    const Answer a = admin_.Get("/api/v1/executions/" + execution_id);
    requested = a.Json();
    return a.status == 200 && requested.value("status", 0) == 2;
  })) << "execution "
      << execution_id << ": " << requested.dump();
  EXPECT_EQ(requested.value("trigger", ""), "api");
  EXPECT_EQ(requested.value("jobId", ""), id);
  EXPECT_EQ(ExecutionTotal(admin_, "id=" + execution_id), 1);
  EXPECT_EQ(ExecutionTotal(admin_, of_job + "&trigger=api"), 1);
}

TEST_F(StandaloneApiTest, StaleVersionsAndGroupsInUseAreConflicts) {
  ASSERT_EQ(admin_.Post("/api/v1/groups", {{"name", "busy"}, {"remark", "in use"}}).status, 201);
  const json job =
      CreateJob(admin_, JobBody("nightly", "busy", "0 0 2 * * ?", "http://127.0.0.1:9/x"));
  ASSERT_TRUE(job.contains("id")) << job.dump();
  const std::string path = "/api/v1/jobs/" + job["id"].get<std::string>();

  json edit = job;
  edit["remark"] = "first edit";
  const Answer first = admin_.Put(path, edit);
  ASSERT_EQ(first.status, 200) << first.Describe();
  EXPECT_EQ(first.Json().value("version", 0), 2);

  edit["remark"] = "stale edit";  // still version 1
  const Answer stale = admin_.Put(path, edit);
  EXPECT_EQ(stale.status, 409) << stale.Describe();
  EXPECT_EQ(stale.ErrorCode(), "conflict") << stale.body;
  const Answer kept = admin_.Get(path);
  EXPECT_EQ(kept.Json().value("remark", ""), "first edit") << kept.body;
  EXPECT_EQ(kept.Json().value("version", 0), 2);

  const Answer in_use = admin_.Delete("/api/v1/groups/busy");
  EXPECT_EQ(in_use.status, 409) << in_use.Describe();
  EXPECT_EQ(admin_.Get("/api/v1/groups/busy").status, 200);
  const Answer local_in_use = admin_.Delete("/api/v1/groups/local");
  EXPECT_NE(local_in_use.status, 500) << local_in_use.Describe();

  EXPECT_EQ(admin_.Delete(path).status, 204);
  const Answer unused = admin_.Delete("/api/v1/groups/busy");
  EXPECT_EQ(unused.status, 204) << unused.Describe();
}

// One request with bad input and what it must get.
struct BadInput {
  std::string method;
  std::string path;
  std::optional<std::string> body;
  int want;
};

TEST_F(StandaloneApiTest, BadInputOnEveryWriteEndpointIsRefusedNeverA500) {
  ASSERT_EQ(admin_.Post("/api/v1/groups", {{"name", "bad"}}).status, 201);
  const json job =
      CreateJob(admin_, JobBody("victim", "bad", "0 0 3 * * ?", "http://127.0.0.1:9/x"));
  ASSERT_TRUE(job.contains("id")) << job.dump();
  const std::string id = job["id"];
  const std::string job_path = "/api/v1/jobs/" + id;
  ASSERT_EQ(admin_
                .Post("/api/v1/users",
                      {{"name", "someone"}, {"password", "someone-password"}, {"role", "viewer"}})
                .status,
            201);
  const std::string malformed = "{\"name\": \"x\",";
  const std::string bad_cron =
      JobBody("bad-cron", "bad", "61 * * * * ?", "http://127.0.0.1:9/x").dump();
  json bad_cron_edit = job;
  bad_cron_edit["cron"] = "every tuesday";
  const std::vector<BadInput> cases = {
      // jobs
      {"POST", "/api/v1/jobs", malformed, 400},
      {"POST", "/api/v1/jobs", "[1, 2]", 400},
      {"POST", "/api/v1/jobs", "", 400},
      {"POST", "/api/v1/jobs", bad_cron, 400},
      {"POST", "/api/v1/jobs", R"({"group": "bad", "cron": "0 * * * * ?", "target": "t"})", 400},
      {"POST", "/api/v1/jobs",
       R"({"name": 5, "group": "bad", "cron": "0 * * * * ?", "target": "t"})", 400},
      {"POST", "/api/v1/jobs", JobBody("orphan", "nosuchgroup", "0 * * * * ?", "t").dump(), 400},
      {"PUT", job_path, malformed, 400},
      {"PUT", job_path, bad_cron_edit.dump(), 400},
      {"PUT", job_path,
       R"({"name": "victim", "group": "bad", "cron": "0 * * * * ?", "target": "t"})",
       400},                                               // no version
      {"PUT", "/api/v1/jobs/nosuchjob", job.dump(), 400},  // the body's id differs from the path's
      {"PUT", "/api/v1/jobs/nosuchjob",
       R"({"name": "n", "group": "bad", "cron": "0 * * * * ?", "target": "t", "version": 1})", 404},
      {"DELETE", "/api/v1/jobs/nosuchjob", std::nullopt, 404},
      {"POST", "/api/v1/jobs/nosuchjob/pause", "{}", 404},
      {"POST", "/api/v1/jobs/nosuchjob/resume", "{}", 404},
      {"POST", "/api/v1/jobs/nosuchjob/run", "{}", 404},
      {"POST", job_path + "/run", malformed, 400},
      {"POST", job_path + "/run", R"({"params": 5})", 400},
      {"POST", "/api/v1/jobs:apply", malformed, 400},
      {"POST", "/api/v1/jobs:apply", R"({"jobs": 1})", 400},
      {"POST", "/api/v1/jobs:apply", "{\"jobs\": [" + bad_cron + "]}", 400},
      // groups
      {"POST", "/api/v1/groups", malformed, 400},
      {"POST", "/api/v1/groups", R"({"name": ""})", 400},
      {"POST", "/api/v1/groups", R"({"name": "a/b"})", 400},
      {"POST", "/api/v1/groups", R"({"name": "local"})", 409},
      {"PUT", "/api/v1/groups/bad", malformed, 400},
      {"PUT", "/api/v1/groups/nosuchgroup", R"({"remark": "r"})", 404},
      {"DELETE", "/api/v1/groups/nosuchgroup", std::nullopt, 404},
      // executions and assignments
      {"POST", "/api/v1/executions/nosuchrun/kill", "{}", 404},
      {"POST", "/api/v1/executions/nosuchrun/kill", malformed, 400},
      {"DELETE", "/api/v1/assignments/local/solo/nosuchrun", std::nullopt, 404},
      // users, tokens, login
      {"POST", "/api/v1/users", malformed, 400},
      {"POST", "/api/v1/users", R"({"name": "shorty", "password": "short"})", 400},
      {"POST", "/api/v1/users", R"({"name": "god", "password": "long-enough", "role": "god"})",
       400},
      {"POST", "/api/v1/users", R"({"name": "someone", "password": "someone-password"})", 409},
      {"PUT", "/api/v1/users/someone", malformed, 400},
      {"PUT", "/api/v1/users/someone", R"({"disabled": "yes"})", 400},
      {"PUT", "/api/v1/users/nosuchuser", R"({"role": "viewer"})", 404},
      {"PUT", "/api/v1/users/admin", R"({"role": "viewer"})", 409},  // the last admin
      {"DELETE", "/api/v1/users/nosuchuser", std::nullopt, 404},
      {"DELETE", "/api/v1/users/admin", std::nullopt, 409},
      {"POST", "/api/v1/tokens", malformed, 400},
      {"POST", "/api/v1/tokens", "{}", 400},
      {"DELETE", "/api/v1/tokens/nosuchtoken", std::nullopt, 404},
      {"POST", "/api/v1/login", malformed, 400},
      {"POST", "/api/v1/login", R"({"user": "admin"})", 400},
  };
  for (const BadInput& c : cases) {
    const Answer a = admin_.Call(c.method, c.path, c.body);
    EXPECT_EQ(a.status, c.want) << c.method << " " << c.path << " " << c.body.value_or("") << " -> "
                                << a.Describe();
    const json error = a.Json();
    EXPECT_TRUE(error.is_object() && error.contains("error") &&
                error["error"].contains("message") && error["error"].contains("code"))
        << c.method << " " << c.path << ": not an error document: " << a.body;
  }
  // Nothing above changed the job or the users.
  const Answer kept = admin_.Get(job_path);
  EXPECT_EQ(kept.Json().value("version", 0), 1) << kept.body;
  EXPECT_EQ(kept.Json().value("cron", ""), "0 0 3 * * ?");

  // The original's endpoints refuse with their envelope, HTTP 200.
  const std::vector<std::pair<std::string, std::string>> legacy = {
      {"/job/add", malformed},
      {"/job/add", R"({"name":"x","group":"bad","cron":"61 * * * * ?","status":1,"target":"t"})"},
      {"/job/add",
       R"({"name":"x","group":"nosuchgroup","cron":"0 * * * * ?","status":1,"target":"t"})"},
      {"/job/edit", malformed},
      {"/job/edit",
       R"({"id":"nosuchjob","name":"x","group":"bad","cron":"0 * * * * ?","status":1,"target":"t"})"},
      {"/job/delete", R"({"id":"nosuchjob"})"},
      {"/job/execute", R"({"id":"nosuchjob"})"},
      {"/group/add", malformed},
      {"/group/add", R"({"name":"nremark"})"},
      {"/client/list", R"({"group":"nosuchgroup"})"},
      {"/snapshot/list", malformed},
      {"/snapshot/delete", R"({"group":"local"})"},
      {"/execute/snapshot/list", malformed},
      {"/execute/snapshot/list", R"({"status":"x"})"},
  };
  for (const auto& [path, body] : legacy) {
    const Answer a = admin_.Call("POST", path, body);
    EXPECT_EQ(a.status, 200) << path << " " << body << " -> " << a.Describe();
    const json j = a.Json();
    EXPECT_TRUE(j.is_object() && j.value("code", 0) == -1 && j.contains("data") &&
                j["data"].is_null() && j.value("message", "") != "")
        << path << " " << body << " -> " << a.body;
  }

  // Past --max-body-bytes: 413 on every write route, whatever the route.
  const std::string big = json{{"name", std::string(kMaxBodyBytes + 100, 'x')}}.dump();
  const std::vector<std::pair<std::string, std::string>> writes = {
      {"POST", "/api/v1/jobs"},
      {"PUT", job_path},
      {"POST", "/api/v1/jobs:apply"},
      {"POST", job_path + "/run"},
      {"POST", job_path + "/pause"},
      {"POST", "/api/v1/groups"},
      {"PUT", "/api/v1/groups/bad"},
      {"POST", "/api/v1/executions/nosuchrun/kill"},
      {"POST", "/api/v1/users"},
      {"PUT", "/api/v1/users/someone"},
      {"POST", "/api/v1/tokens"},
      {"POST", "/api/v1/login"},
      {"POST", "/job/add"},
      {"POST", "/job/edit"},
      {"POST", "/execute/snapshot/list"},
  };
  for (const auto& [method, path] : writes) {
    const Answer a = admin_.Call(method, path, big);
    EXPECT_EQ(a.status, 413) << method << " " << path << " -> " << a.Describe();
    EXPECT_TRUE(a.Json().is_object() && a.Json().contains("error"))
        << method << " " << path << ": " << a.body;
  }
  EXPECT_EQ(admin_.Get(job_path).Json().value("version", 0), 1);
  // The server is still there and well.
  EXPECT_TRUE(server_->Running());
  EXPECT_EQ(Anonymous().Get("/readyz").status, 200);
}

// A body sent chunked (no Content-Length) is refused before it is read
// (411) and before authentication: anyone who reaches the port could
// otherwise make the server hold a body of any size in memory.
TEST_F(StandaloneApiTest, ChunkedBodiesPastTheLimitAreRefusedToo) {
  const std::string body =
      json{{"user", "admin"}, {"password", std::string(64 * kMaxBodyBytes, 'x')}}.dump();
  httplib::Client client("127.0.0.1", port());
  client.set_connection_timeout(seconds(5));
  client.set_read_timeout(seconds(15));
  size_t offset = 0;
  // A provider without a length: cpp-httplib sends Transfer-Encoding: chunked.
  const auto result = client.Post(
      "/api/v1/login",
      [&](size_t, httplib::DataSink& sink) {
        if (offset < body.size()) {
          const size_t n = std::min<size_t>(1024, body.size() - offset);
          sink.write(body.data() + offset, n);
          offset += n;
        } else {
          sink.done();
        }
        return true;
      },
      "application/json");
  // 411 (or 413), or the connection closed on us; any other answer means
  // the whole body was read and handled.
  if (result) {
    EXPECT_TRUE(result->status == 411 || result->status == 413)
        << "a " << body.size() << "-byte chunked body past the " << kMaxBodyBytes
        << "-byte limit was read and answered: HTTP " << result->status << " " << result->body;
  }
  EXPECT_TRUE(server_->Running());
  EXPECT_EQ(Anonymous().Get("/readyz").status, 200);
}

// A POST without Content-Length or Transfer-Encoding has an empty body
// (RFC 9112 section 6.3): `curl -X POST .../pause` and the original's
// scripts (`curl -X POST host:2856/job/list`) send exactly that.
TEST_F(StandaloneApiTest, PostWithoutBodyOrLengthIsAnEmptyBody) {
  ASSERT_EQ(admin_.Post("/api/v1/groups", {{"name", "nolength"}}).status, 201);
  const json job =
      CreateJob(admin_, JobBody("no-length", "nolength", "0 0 2 * * ?", "http://127.0.0.1:9/x"));
  ASSERT_TRUE(job.contains("id")) << job.dump();
  const std::string headers =
      fmt::format("Host: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
                  port(), admin_.who().token);
  for (const std::string& path :
       {"/api/v1/jobs/" + job["id"].get<std::string>() + "/pause", std::string("/job/list")}) {
    const auto start = Steady::now();
    const std::string answer =
        RawExchange(port(), "POST " + path + " HTTP/1.1\r\n" + headers, milliseconds(8000));
    const auto took = std::chrono::duration_cast<milliseconds>(Steady::now() - start);
    EXPECT_EQ(answer.substr(0, answer.find("\r\n")), "HTTP/1.1 200 OK")
        << "POST " << path << " without a length, answered after " << took.count()
        << " ms: " << Tail(answer, 500);
    EXPECT_LT(took, milliseconds(2000)) << "POST " << path << ": the server waited for a body";
  }
  EXPECT_EQ(admin_.Get("/api/v1/jobs/" + job["id"].get<std::string>()).Json().value("status", 0),
            2);
}

TEST_F(StandaloneApiTest, RolesLimitTokensRevokedTokensStopAndTheAuditLogNamesTheActor) {
  ASSERT_EQ(admin_.Post("/api/v1/groups", {{"name", "roles"}}).status, 201);
  for (const auto& [name, role] :
       std::vector<std::pair<std::string, std::string>>{{"vera", "viewer"}, {"otto", "operator"}}) {
    const Answer a = admin_.Post(
        "/api/v1/users", {{"name", name}, {"password", name + "-password"}, {"role", role}});
    ASSERT_EQ(a.status, 201) << a.Describe();
    EXPECT_EQ(a.Json().value("role", ""), role);
  }
  const Client viewer = TokenClient(port(), "vera", "vera-password");
  const Client operator_api = TokenClient(port(), "otto", "otto-password");
  ASSERT_FALSE(viewer.who().token.empty());
  ASSERT_FALSE(operator_api.who().token.empty());
  const json job_body = JobBody("by-otto", "roles", "0 0 4 * * ?", "http://127.0.0.1:9/x");

  // A viewer reads, and changes nothing.
  EXPECT_EQ(viewer.Get("/api/v1/jobs").status, 200);
  EXPECT_EQ(viewer.Get("/api/v1/groups").status, 200);
  EXPECT_EQ(viewer.Get("/api/v1/executions").status, 200);
  const Answer viewer_post = viewer.Post("/api/v1/jobs", job_body);
  EXPECT_EQ(viewer_post.status, 403) << viewer_post.Describe();
  EXPECT_EQ(viewer.Post("/api/v1/groups", {{"name", "by-vera"}}).status, 403);
  EXPECT_EQ(viewer.Post("/job/add", {{"name", "v"}, {"group", "roles"}}).status, 403);
  EXPECT_EQ(viewer.Get("/api/v1/users").status, 403);

  // An operator changes jobs, and may not see users or the audit log.
  const Answer created = operator_api.Post("/api/v1/jobs", job_body);
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string id = created.Json().value("id", "");
  EXPECT_EQ(created.Json().value("createdBy", ""), "otto") << created.body;
  EXPECT_EQ(operator_api.Post("/api/v1/jobs/" + id + "/pause", json::object()).status, 200);
  const Answer operator_apiusers = operator_api.Get("/api/v1/users");
  EXPECT_EQ(operator_apiusers.status, 403) << operator_apiusers.Describe();
  EXPECT_EQ(operator_api.Post("/api/v1/users", {{"name", "x"}, {"password", "long-enough"}}).status,
            403);
  EXPECT_EQ(operator_api.Get("/api/v1/audit").status, 403);

  // The audit log says who created it.
  const json admin_job =
      CreateJob(admin_, JobBody("by-admin", "roles", "0 0 5 * * ?", "http://127.0.0.1:9/x"));
  json entries;
  const auto created_by = [&](const std::string& job_id) -> std::string {
    for (const json& e : entries) {
      if (e.value("objectId", "") == job_id) return e.value("actor", "");
    }
    return "";
  };
  EXPECT_TRUE(Eventually([&] {
    const Answer audit = admin_.Get("/api/v1/audit?action=job.create");
    entries = audit.Json().value("items", json::array());
    return audit.status == 200 && !created_by(id).empty() &&
           !created_by(admin_job.value("id", "")).empty();
  })) << entries.dump();
  EXPECT_EQ(created_by(id), "otto") << entries.dump();
  EXPECT_EQ(created_by(admin_job.value("id", "")), "admin") << entries.dump();
  for (const json& e : entries) {
    EXPECT_EQ(e.value("action", ""), "job.create") << e.dump();
    if (e.value("objectId", "") == id) {
      EXPECT_TRUE(e.value("ok", false)) << e.dump();
      EXPECT_EQ(e.value("objectType", ""), "job") << e.dump();
    }
  }
  // The refused creation by the viewer is no job.create that succeeded.
  for (const json& e : entries) {
    if (e.value("actor", "") == "vera") {
      EXPECT_FALSE(e.value("ok", true)) << e.dump();
    }
  }

  // Revoking the operator's token ends it at once; the viewer's still works.
  const Answer tokens = admin_.Get("/api/v1/tokens?user=otto");
  ASSERT_EQ(tokens.status, 200) << tokens.Describe();
  const json token_items = tokens.Json().value("items", json::array());
  ASSERT_EQ(token_items.size(), 1u) << tokens.body;
  EXPECT_FALSE(tokens.body.find(operator_api.who().token) != std::string::npos)
      << "a token list carries a secret";
  const Answer revoked = admin_.Delete("/api/v1/tokens/" + token_items[0].value("id", ""));
  EXPECT_EQ(revoked.status, 204) << revoked.Describe();
  const Answer after = operator_api.Get("/api/v1/jobs");
  EXPECT_EQ(after.status, 401) << after.Describe();
  EXPECT_EQ(viewer.Get("/api/v1/jobs").status, 200);
  // And a viewer cannot revoke someone else's token (admin's): it is not theirs to see.
  const Answer admin_tokens = admin_.Get("/api/v1/tokens");
  ASSERT_EQ(admin_tokens.status, 200);
  const json admin_token_items = admin_tokens.Json().value("items", json::array());
  ASSERT_FALSE(admin_token_items.empty()) << admin_tokens.body;
  const std::string admin_token_id = admin_token_items[0].value("id", "");
  EXPECT_EQ(viewer.Delete("/api/v1/tokens/" + admin_token_id).status, 404);
  EXPECT_EQ(admin_.Get("/api/v1/jobs").status, 200);
}

TEST_F(StandaloneApiTest, FiveBadLoginsThenTooManyRequestsWithRetryAfter) {
  for (int i = 1; i <= 5; ++i) {
    Answer a;
    Login(port(), "admin", "not-the-password", &a);
    EXPECT_EQ(a.status, 401) << "bad login " << i << ": " << a.Describe();
  }
  Answer limited;
  Login(port(), "admin", "not-the-password", &limited);
  ASSERT_EQ(limited.status, 429) << limited.Describe();
  const std::string retry_after = limited.Header("Retry-After");
  ASSERT_FALSE(retry_after.empty()) << "no Retry-After";
  const int wait = std::atoi(retry_after.c_str());
  EXPECT_TRUE(wait >= 1 && wait <= 300) << "Retry-After: " << retry_after;
  EXPECT_EQ(limited.ErrorCode(), "resource_exhausted") << limited.body;
  // The right password does not get through either, for now.
  Answer right;
  Login(port(), "admin", kAdminPassword, &right);
  EXPECT_EQ(right.status, 429) << right.Describe();
  // Tokens are not logins.
  EXPECT_EQ(admin_.Get("/api/v1/jobs").status, 200);
}

TEST_F(StandaloneApiTest, OpenApiDocumentIsValidJson) {
  const Answer a = Anonymous().Get("/api/v1/openapi.json");
  ASSERT_EQ(a.status, 200) << a.Describe();
  const json doc = a.Json();
  ASSERT_TRUE(doc.is_object()) << "not JSON: " << Tail(a.body, 300);
  EXPECT_EQ(doc.value("openapi", "").rfind("3.", 0), 0u) << doc.value("openapi", "");
  ASSERT_TRUE(doc.contains("paths"));
  for (const char* path : {"/api/v1/jobs", "/api/v1/jobs/{id}/run", "/api/v1/login",
                           "/api/v1/executions", "/job/add", "/execute/snapshot/list"}) {
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  }
}

// The original's UI, over HTTP, with an API token (authentication is on).
TEST_F(StandaloneApiTest, LegacyEndpointsAnswerTheOriginalShapes) {
  TargetServer target;
  ASSERT_GT(target.port(), 0);
  const Answer anonymous = Anonymous().Post("/job/list", {{"name", ""}});
  EXPECT_EQ(anonymous.status, 401) << anonymous.Describe();
  const Answer get = admin_.Get("/job/list");
  EXPECT_EQ(get.status, 405) << get.Describe();

  const std::vector<std::string> envelope = {"code", "data", "message"};
  const std::vector<std::string> job_conf = {"id",     "name",   "group",  "cron",   "status",
                                             "target", "params", "mobile", "remark", "version"};
  // POST /job/add as the UI sends it.
  const Answer added = admin_.Post("/job/add", {{"name", "legacy-sync"},
                                                {"group", "local"},
                                                {"cron", "0/30 * * * * ?"},
                                                {"status", 1},
                                                {"target", target.Url()},
                                                {"params", ""},
                                                {"mobile", ""},
                                                {"remark", "sync orders"}});
  ASSERT_EQ(added.status, 200) << added.Describe();
  EXPECT_NE(added.Header("Content-Type").find("application/json"), std::string::npos);
  const ordered_json add = added.Ordered();
  EXPECT_EQ(KeysOf(add), envelope) << added.body;
  ASSERT_EQ(add.value("code", -2), 0) << added.body;
  EXPECT_EQ(add.value("message", ""), "创建成功");
  EXPECT_EQ(KeysOf(add["data"]), job_conf) << added.body;
  const std::string id = add["data"].value("id", "");
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9]{20}"))) << id;
  EXPECT_EQ(add["data"].value("version", 0), 1);

  // /job/list: the row as the UI shows it.
  const Answer listed = admin_.Post("/job/list", {{"name", ""}});
  ASSERT_EQ(listed.status, 200);
  const ordered_json list = listed.Ordered();
  EXPECT_EQ(KeysOf(list), envelope);
  EXPECT_EQ(list.value("code", -2), 0) << listed.body;
  EXPECT_EQ(list.value("message", ""), "查询成成功");
  ordered_json row;
  for (const auto& item : list["data"]) {
    if (item.value("id", "") == id) row = item;
  }
  ASSERT_TRUE(row.is_object()) << listed.body;
  EXPECT_EQ(KeysOf(row), job_conf);
  EXPECT_EQ(row.value("remark", ""), "sync orders");

  // /job/edit: the whole row back, one field changed.
  row["remark"] = "sync orders, edited";
  const Answer edited = admin_.Call("POST", "/job/edit", row.dump());
  ASSERT_EQ(edited.status, 200) << edited.Describe();
  const ordered_json edit = edited.Ordered();
  EXPECT_EQ(edit.value("code", -2), 0) << edited.body;
  EXPECT_EQ(edit.value("message", ""), "修改成功");
  EXPECT_EQ(edit["data"].value("version", 0), 2) << edited.body;
  EXPECT_EQ(edit["data"].value("remark", ""), "sync orders, edited");
  const Answer rest = admin_.Get("/api/v1/jobs/" + id);
  EXPECT_EQ(rest.Json().value("remark", ""), "sync orders, edited") << rest.body;
  EXPECT_EQ(rest.Json().value("version", 0), 2);

  // A manual run through /job/execute; its record through /execute/snapshot/list.
  const Answer executed = admin_.Post("/job/execute", {{"id", id}});
  ASSERT_EQ(executed.status, 200);
  const ordered_json execute = executed.Ordered();
  EXPECT_EQ(execute.value("code", -2), 0) << executed.body;
  EXPECT_TRUE(execute.contains("data") && execute["data"].is_null()) << executed.body;
  EXPECT_EQ(execute.value("message", ""), "手动执行任务请求已提交");
  const std::string ui_query =
      R"({"pageNo":1,"pageSize":20,"id":"","group":"","ip":"","status":""})";
  ordered_json page;
  ordered_json record;
  EXPECT_TRUE(Eventually([&] {
    const Answer a = admin_.Call("POST", "/execute/snapshot/list", ui_query);
    page = a.Ordered();
    record = ordered_json();
    if (a.status != 200 || !page.is_object() || !page["data"].is_object()) return false;
    for (const auto& r : page["data"].value("list", ordered_json::array())) {
      if (r.value("jobId", "") == id && r.value("status", 0) == 2) record = r;
    }
    return record.is_object();
  })) << page.dump();
  EXPECT_EQ(KeysOf(page), envelope);
  EXPECT_EQ(page.value("code", -2), 0);
  EXPECT_EQ(page.value("message", ""), "查询成成功");
  EXPECT_EQ(KeysOf(page["data"]), (std::vector<std::string>{"totalPage", "totalCount", "list"}));
  const int64_t total = page["data"].value("totalCount", int64_t{0});
  EXPECT_GE(total, 1);
  EXPECT_EQ(page["data"].value("totalPage", int64_t{-1}), (total + 19) / 20);
  const std::vector<std::string> original_record = {
      "id",     "jobId",  "name",       "ip",        "group",      "cron",  "target", "params",
      "mobile", "remark", "createTime", "startTime", "finishTime", "times", "status", "result"};
  std::vector<std::string> keys = KeysOf(record);
  ASSERT_GE(keys.size(), original_record.size()) << record.dump();
  keys.resize(original_record.size());
  EXPECT_EQ(keys, original_record) << record.dump();
  EXPECT_EQ(record.value("name", ""), "legacy-sync");
  EXPECT_EQ(record.value("group", ""), "local");
  EXPECT_EQ(record.value("remark", ""), "sync orders, edited");
  EXPECT_EQ(record.value("result", ""), "HTTP 200");
  EXPECT_TRUE(std::regex_match(record.value("createTime", ""),
                               std::regex(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")))
      << record.dump();
  EXPECT_TRUE(std::regex_match(record.value("finishTime", ""),
                               std::regex(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")))
      << record.dump();
  EXPECT_GE(target.hits(), 1);
  // The status filter as a number, and the UI's page defaults.
  const Answer filtered =
      admin_.Call("POST", "/execute/snapshot/list", R"({"status":-1,"name":"legacy-sync"})");
  EXPECT_EQ(filtered.Json()["data"].value("totalCount", -1), 0) << filtered.body;

  // /node/list: this node, leading.
  const Answer nodes = admin_.Post("/node/list", json::object());
  const ordered_json node_list = nodes.Ordered();
  EXPECT_EQ(KeysOf(node_list), envelope) << nodes.body;
  EXPECT_EQ(node_list.value("message", ""), "查询成成功");
  ASSERT_TRUE(node_list["data"].is_array()) << nodes.body;
  ASSERT_EQ(node_list["data"].size(), 1u) << nodes.body;
  EXPECT_EQ(KeysOf(node_list["data"][0]), (std::vector<std::string>{"name", "state"}));
  EXPECT_EQ(node_list["data"][0].value("name", ""), "solo");
  EXPECT_EQ(node_list["data"][0].value("state", -1), 1);

  // /plan/list: the job's plan with the original's times; message "".
  const Answer plans = admin_.Post("/plan/list", json::object());
  const ordered_json plan_list = plans.Ordered();
  EXPECT_EQ(KeysOf(plan_list), envelope) << plans.body;
  EXPECT_EQ(plan_list.value("code", -2), 0);
  EXPECT_EQ(plan_list.value("message", "x"), "");
  ordered_json plan;
  for (const auto& p : plan_list.value("data", ordered_json::array())) {
    if (p.value("id", "") == id) plan = p;
  }
  ASSERT_TRUE(plan.is_object()) << plans.body;
  const std::regex go_time(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  EXPECT_TRUE(std::regex_match(plan.value("nextTime", ""), go_time)) << plan.dump();
  EXPECT_TRUE(std::regex_match(plan.value("beforeTime", ""), go_time)) << plan.dump();
  EXPECT_EQ(plan.value("status", -1), 0);
  EXPECT_EQ(plan.value("version", 0), 2);
  for (const char* field : {"name", "group", "cron", "target", "params", "mobile", "remark"}) {
    EXPECT_TRUE(plan.contains(field)) << field << " missing: " << plan.dump();
  }

  // /job/delete echoes the body; the job is gone from REST v1 too.
  const Answer deleted = admin_.Post("/job/delete", {{"id", id}});
  EXPECT_EQ(deleted.Json().value("code", -2), 0) << deleted.body;
  EXPECT_EQ(deleted.Json().value("message", ""), "删除成功");
  EXPECT_EQ(admin_.Get("/api/v1/jobs/" + id).status, 404);
}

// --- Cluster ---------------------------------------------------------------------

// A real etcd and two `forest server` nodes on it with the same admin
// password; each test gets its own.
class ClusterApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("api-e2e-cluster");
    ASSERT_FALSE(dir_->path().empty()) << "mkdtemp failed";
    auto cluster = coord::testing::EtcdCluster::Start(1);
    if (!cluster.ok()) {
      if (cluster.status().code() == absl::StatusCode::kNotFound) {
        GTEST_SKIP() << "etcd is not installed: " << cluster.status().message();
      }
      FAIL() << "cannot start etcd: " << cluster.status();
    }
    cluster_ = *std::move(cluster);
    const std::vector<int> ports = coord::testing::FreeLoopbackPorts(2);
    // Both at once: the first admin is created once, whoever wins.
    for (int i = 0; i < 2; ++i) {
      const std::string id = fmt::format("n{}", i + 1);
      std::vector<std::string> args = ServerArgs(id, ports[i], dir_->path() / (id + "-data"));
      args.insert(args.end(), {"--etcd-endpoints", cluster_->endpoint(0), "--lease-ttl", "2s"});
      nodes_.push_back(std::make_unique<ServerProcess>(id, ports[i], args, dir_->path()));
      ASSERT_TRUE(nodes_.back()->Start()) << "cannot spawn " << FOREST_BINARY;
    }
    for (auto& node : nodes_) {
      ASSERT_TRUE(WaitReady(*node)) << node->id() << " not ready:\n" << Tail(node->Log());
    }
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const auto& node : nodes_) {
        std::cout << "---- server " << node->id() << " log (tail):\n" << Tail(node->Log()) << "\n";
      }
    }
    nodes_.clear();  // SIGKILL
    cluster_.reset();
    dir_.reset();
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<coord::testing::EtcdCluster> cluster_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
};

TEST_F(ClusterApiTest, WritesThroughTheFollowerAreReadThroughTheLeaderAndTokensWorkOnEveryNode) {
  // Both nodes accept the one admin.
  Client api[2] = {TokenClient(nodes_[0]->port(), "admin", kAdminPassword),
                   TokenClient(nodes_[1]->port(), "admin", kAdminPassword)};
  ASSERT_FALSE(api[0].who().token.empty());
  ASSERT_FALSE(api[1].who().token.empty());
  const Answer users = api[1].Get("/api/v1/users");
  ASSERT_EQ(users.status, 200) << users.Describe();
  EXPECT_EQ(users.Json().value("items", json::array()).size(), 1u) << users.body;

  // Both nodes see both, and agree on the leader.
  json views[2];
  ASSERT_TRUE(Eventually([&] {
    for (int i = 0; i < 2; ++i) {
      const Answer a = api[i].Get("/api/v1/nodes");
      views[i] = a.Json();
      if (a.status != 200 || !views[i].is_object() || views[i]["leader"].is_null() ||
          views[i]["items"].size() != 2) {
        return false;
      }
    }
    return views[0]["leader"] == views[1]["leader"];
  })) << views[0].dump()
      << " vs " << views[1].dump();
  const std::string leader_id = views[0]["leader"];
  int leader = -1;
  for (int i = 0; i < 2; ++i) {
    int leaders = 0;
    for (const json& n : views[i]["items"]) {
      const bool is_leader = n.value("role", "") == "leader";
      leaders += is_leader ? 1 : 0;
      EXPECT_EQ(is_leader, n.value("id", "") == leader_id) << views[i].dump();
      EXPECT_EQ(n.value("self", false), n.value("id", "") == nodes_[i]->id()) << views[i].dump();
      if (n.value("self", false) && is_leader) leader = i;
    }
    EXPECT_EQ(leaders, 1) << views[i].dump();
  }
  ASSERT_NE(leader, -1) << "the leader " << leader_id << " is neither node";
  const Client& leader_api = api[leader];
  const Client& follower_api = api[1 - leader];

  // Writes through the follower...
  const Answer group =
      follower_api.Post("/api/v1/groups", {{"name", "trade"}, {"remark", "trade cluster"}});
  ASSERT_EQ(group.status, 201) << group.Describe();
  const Answer created = follower_api.Post(
      "/api/v1/jobs", JobBody("cluster-job", "trade", "0 0 2 * * ?", "http://127.0.0.1:9/x"));
  ASSERT_EQ(created.status, 201) << created.Describe();
  const json job = created.Json();
  const std::string path = "/api/v1/jobs/" + job.value("id", "");

  // ... read back through the leader, at the same version.
  const Answer read = leader_api.Get(path);
  ASSERT_EQ(read.status, 200) << read.Describe();
  EXPECT_EQ(read.Json().value("version", 0), 1);
  EXPECT_EQ(read.Json().value("name", ""), "cluster-job");
  EXPECT_EQ(read.Json().value("group", ""), "trade");
  EXPECT_EQ(read.Json().value("createdBy", ""), "admin");
  EXPECT_EQ(leader_api.Get("/api/v1/groups/trade").Json().value("remark", ""), "trade cluster");

  // An edit through the follower; the leader sees the new version, and a
  // stale edit through the leader conflicts.
  json edit = job;
  edit["cron"] = "0 30 2 * * ?";
  const Answer edited = follower_api.Put(path, edit);
  ASSERT_EQ(edited.status, 200) << edited.Describe();
  EXPECT_EQ(leader_api.Get(path).Json().value("version", 0), 2);
  EXPECT_EQ(leader_api.Get(path).Json().value("cron", ""), "0 30 2 * * ?");
  EXPECT_EQ(leader_api.Put(path, edit).status, 409);
  // The leader plans it.
  json plans;
  EXPECT_TRUE(Eventually([&] {
    plans = leader_api.Get("/api/v1/plans?group=trade").Json();
    return plans.is_object() && plans.value("items", json::array()).size() == 1;
  })) << plans.dump();

  // A token made on one node works on the other, and its revocation too.
  const Client cross[2] = {Client(nodes_[1]->port(), api[0].who()),
                           Client(nodes_[0]->port(), api[1].who())};
  for (const Client& c : cross) {
    const Answer a = c.Get(path);
    EXPECT_EQ(a.status, 200) << a.Describe();
  }
  const Answer tokens = api[1].Get("/api/v1/tokens");
  std::string first_token_id;
  for (const json& t : tokens.Json().value("items", json::array())) {
    if (api[0].who().token.find("_" + t.value("id", "") + "_") != std::string::npos) {
      first_token_id = t.value("id", "");
    }
  }
  ASSERT_FALSE(first_token_id.empty()) << tokens.body;
  EXPECT_EQ(api[1].Delete("/api/v1/tokens/" + first_token_id).status, 204);
  EXPECT_EQ(api[0].Get(path).status, 401);
  EXPECT_EQ(cross[0].Get(path).status, 401);
  EXPECT_EQ(api[1].Get(path).status, 200);

  // A browser session from one node is good on the other, and a logout on
  // either ends it on both.
  Answer login;
  const Credentials session = Login(nodes_[0]->port(), "admin", kAdminPassword, &login);
  ASSERT_FALSE(session.cookie.empty()) << login.Describe();
  const Client browser[2] = {Client(nodes_[0]->port(), session),
                             Client(nodes_[1]->port(), session)};
  EXPECT_EQ(browser[1].Get("/api/v1/session").status, 200);
  const Answer via_other = browser[1].Post("/api/v1/groups", {{"name", "by-session"}});
  EXPECT_EQ(via_other.status, 201)
      << "the CSRF token of node 1's session on node 2: " << via_other.Describe();
  EXPECT_EQ(browser[1].Post("/api/v1/logout", json::object()).status, 200);
  EXPECT_EQ(browser[0].Get("/api/v1/session").status, 401);

  // The original's /node/list agrees.
  const Answer legacy =
      Client(nodes_[1 - leader]->port(), api[1].who()).Post("/node/list", json::object());
  const json legacy_nodes = legacy.Json().value("data", json::array());
  ASSERT_EQ(legacy_nodes.size(), 2u) << legacy.body;
  for (const json& n : legacy_nodes) {
    EXPECT_EQ(n.value("state", -1), n.value("name", "") == leader_id ? 1 : 0) << legacy.body;
  }
}

}  // namespace
}  // namespace forest
