// Metrics and logs end to end (issue 9): real `forest server` processes
// scraped over HTTP, the text parsed with the strict parser of
// metrics/testing, counters watched while jobs run on the standalone
// server's embedded worker; the JSON log checked line by line and grepped
// for secrets; a `forest worker --metrics-address` on a real etcd.
//
// Every test starts its own processes in its own temporary directory; the
// destructors SIGKILL them and remove it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "coord/testing/etcd_cluster.h"
#include "metrics/testing/exposition.h"
#include "process.h"

namespace forest {
namespace {

namespace fs = std::filesystem;
using integration::ServerProcess;
using integration::Tail;
using integration::TempDir;
using metrics::testing::Exposition;
using metrics::testing::ParseExposition;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kAdminPassword[] = "Metrics-e2e-Pa55word-7f3a";
constexpr char kWrongPassword[] = "Not-The-Pa55word-91c2";
constexpr milliseconds kLimit{30000};

bool Eventually(const std::function<bool()>& cond, milliseconds limit = kLimit) {
  return integration::Eventually(cond, limit, milliseconds(100));
}

struct Answer {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string set_cookie;
  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

Answer Call(int port, const std::string& method, const std::string& path,
            const std::optional<json>& body = std::nullopt, const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(seconds(5));
  client.set_read_timeout(seconds(15));
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = headers;
  if (body) {
    req.body = body->dump();
    req.set_header("Content-Type", "application/json");
  }
  Answer a;
  auto result = client.send(req);
  if (!result) return a;
  a.status = result->status;
  a.body = result->body;
  a.content_type = result->get_header_value("Content-Type");
  a.set_cookie = result->get_header_value("Set-Cookie");
  return a;
}

// One scrape, parsed; fails the test (and answers an empty exposition) when
// the text does not parse.
Exposition Scrape(int port, std::string* content_type = nullptr) {
  const Answer a = Call(port, "GET", "/metrics");
  EXPECT_EQ(a.status, 200) << a.body;
  if (content_type != nullptr) *content_type = a.content_type;
  auto parsed = ParseExposition(a.body);
  EXPECT_TRUE(parsed.ok()) << parsed.status() << "\n" << Tail(a.body);
  return parsed.ok() ? *parsed : Exposition{};
}

std::vector<std::string> ServerArgs(const std::string& id, int port, const fs::path& data,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      FOREST_BINARY,      "server",       "--node-id",      id,
      "--data-dir",       data.string(),  "--http-address", fmt::format("127.0.0.1:{}", port),
      "--admin-password", kAdminPassword, "--allow-shell"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

class MetricsE2eTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> extra = {}) {
    dir_ = std::make_unique<TempDir>("metrics-e2e");
    ASSERT_FALSE(dir_->path().empty());
    const int port = coord::testing::FreeLoopbackPorts(1).at(0);
    server_ = std::make_unique<ServerProcess>(
        "solo", port, ServerArgs("solo", port, dir_->path() / "data", std::move(extra)),
        dir_->path());
    ASSERT_TRUE(server_->Start());
    ASSERT_TRUE(Eventually(
        [&] { return !server_->Running() || Call(port, "GET", "/readyz").status == 200; }));
    ASSERT_TRUE(server_->Running()) << Tail(server_->Log());
  }
  void TearDown() override {
    if (HasFailure() && server_ != nullptr) {
      std::cout << "---- server log (tail):\n" << Tail(server_->Log()) << "\n";
    }
    server_.reset();
    dir_.reset();
  }
  int port() const { return server_->port(); }

  // Logs in as admin and creates an API token; answers its text.
  std::string AdminToken() {
    const Answer login = Call(port(), "POST", "/api/v1/login",
                              json{{"user", "admin"}, {"password", kAdminPassword}});
    EXPECT_EQ(login.status, 200) << login.body;
    const std::string cookie = login.set_cookie.substr(0, login.set_cookie.find(';'));
    const std::string csrf = login.Json().value("csrfToken", "");
    const Answer token = Call(port(), "POST", "/api/v1/tokens", json{{"name", "metrics e2e"}},
                              {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
    EXPECT_EQ(token.status, 201) << token.body;
    return token.Json().value("token", "");
  }
  httplib::Headers Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  std::string CreateJob(const std::string& token, const std::string& name, const std::string& cron,
                        const std::string& target) {
    const Answer a =
        Call(port(), "POST", "/api/v1/jobs",
             json{{"name", name}, {"group", "local"}, {"cron", cron}, {"target", target}},
             Bearer(token));
    EXPECT_EQ(a.status, 201) << a.body;
    return a.Json().value("id", "");
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(MetricsE2eTest, ScrapeParsesAndCountersMoveAsJobsRun) {
  StartServer();
  // Public (no login), the text format, every family typed and described.
  std::string content_type;
  Exposition first = Scrape(port(), &content_type);
  EXPECT_EQ(content_type.rfind("text/plain; version=0.0.4", 0), 0u) << content_type;
  ASSERT_FALSE(first.families.empty());
  for (const auto& [name, family] : first.families) {
    EXPECT_TRUE(family.typed) << name;
    EXPECT_FALSE(family.help.empty()) << name;
    EXPECT_EQ(name.rfind("forest_", 0), 0u) << name;
  }
  for (const char* family : {"forest_scheduler_fires_total",
                             "forest_scheduler_fire_lag_seconds",
                             "forest_scheduler_dispatch_batch_size",
                             "forest_scheduler_dispatch_duration_seconds",
                             "forest_scheduler_misfires_total",
                             "forest_executions_finished_total",
                             "forest_executions_running",
                             "forest_workers",
                             "forest_scheduler_leader",
                             "forest_scheduler_leadership_changes_total",
                             "forest_coord_requests_total",
                             "forest_coord_errors_total",
                             "forest_collector_backlog",
                             "forest_collector_write_duration_seconds",
                             "forest_history_errors_total",
                             "forest_http_requests_total",
                             "forest_http_request_duration_seconds",
                             "forest_alarms_sent_total",
                             "forest_alarms_failed_total",
                             "forest_worker_runs_finished_total",
                             "forest_build_info"}) {
    EXPECT_TRUE(first.families.contains(family)) << family << " is not served";
  }
  // Standalone: this node leads.
  ASSERT_TRUE(Eventually([&] { return Scrape(port()).Value("forest_scheduler_leader") == 1; }));

  const std::string token = AdminToken();
  ASSERT_FALSE(token.empty());
  const std::string ok_job = CreateJob(token, "every-second", "* * * * * ?", "/bin/true");
  ASSERT_FALSE(ok_job.empty());
  // A yearly job that fails, run once on request.
  const std::string bad_job = CreateJob(token, "fails", "0 0 0 1 1 ?", "/bin/false");
  ASSERT_FALSE(bad_job.empty());
  const Answer run =
      Call(port(), "POST", "/api/v1/jobs/" + bad_job + "/run", json::object(), Bearer(token));
  ASSERT_EQ(run.status, 202) << run.body;

  Exposition e;
  ASSERT_TRUE(Eventually([&] {
    e = Scrape(port());
    return e.Value("forest_executions_finished_total", {{"status", "success"}}) >= 3 &&
           e.Value("forest_executions_finished_total", {{"status", "error"}}) >= 1;
  })) << "executions did not finish; last scrape:\n"
      << Call(port(), "GET", "/metrics").body;
  EXPECT_GE(e.Value("forest_scheduler_fires_total", {{"trigger", "cron"}}), 3);
  EXPECT_EQ(e.Value("forest_scheduler_fires_total", {{"trigger", "api"}}), 1);
  EXPECT_GE(e.Value("forest_scheduler_assignments_total"), 4);
  EXPECT_GE(e.Value("forest_scheduler_fire_lag_seconds_count"), 3);
  EXPECT_GE(e.Value("forest_scheduler_dispatch_batch_size_count"), 3);
  EXPECT_EQ(e.Value("forest_scheduler_leader"), 1);
  EXPECT_EQ(e.Value("forest_scheduler_leadership_changes_total"), 1);
  EXPECT_EQ(e.Value("forest_workers", {{"group", "local"}}), 1);
  EXPECT_TRUE(e.Value("forest_executions_running").has_value());
  EXPECT_GE(e.Value("forest_worker_runs_finished_total", {{"status", "success"}, {"reason", ""}}),
            3);
  EXPECT_GE(e.Value("forest_worker_runs_finished_total", {{"status", "error"}, {"reason", ""}}), 1);
  EXPECT_GE(e.Value("forest_collector_rows_total"), 4);
  EXPECT_GE(e.Value("forest_collector_write_duration_seconds_count"), 1);
  EXPECT_GT(e.Value("forest_coord_requests_total", {{"op", "txn"}}), 0);
  EXPECT_GT(e.Value("forest_history_requests_total", {{"op", "upsert"}}), 0);
  // The requests above, by route pattern, method and status.
  EXPECT_EQ(e.Value("forest_http_requests_total",
                    {{"method", "POST"}, {"route", "/api/v1/jobs"}, {"status", "201"}}),
            2);
  EXPECT_EQ(e.Value("forest_http_requests_total",
                    {{"method", "POST"}, {"route", "/api/v1/jobs/{id}/run"}, {"status", "202"}}),
            1);
  EXPECT_EQ(e.Value("forest_http_requests_total",
                    {{"method", "POST"}, {"route", "/api/v1/login"}, {"status", "200"}}),
            1);
  EXPECT_GE(e.Value("forest_http_requests_total",
                    {{"method", "GET"}, {"route", "/metrics"}, {"status", "200"}}),
            3);
  EXPECT_GE(e.Value("forest_http_request_duration_seconds_count",
                    {{"method", "GET"}, {"route", "/metrics"}}),
            3);
  // Alarms come later: their families are there, empty.
  EXPECT_TRUE(e.families.at("forest_alarms_sent_total").samples.empty());

  // Counters only go up between scrapes.
  const Exposition later = Scrape(port());
  for (const auto& [name, family] : e.families) {
    if (family.type != "counter") continue;
    for (const auto& sample : family.samples) {
      const std::optional<double> now = later.Value(sample.name, sample.labels);
      ASSERT_TRUE(now.has_value()) << sample.name;
      EXPECT_GE(*now, sample.value) << sample.name;
    }
  }
}

// The log in JSON: one object a line with ts, level, msg; job, execution
// and node where they apply; and no password or token, whatever happened.
TEST_F(MetricsE2eTest, JsonLogCarriesIdsAndNoSecrets) {
  StartServer({"--log-format", "json", "--log-level", "trace"});
  // A failed login, a login, a token, bearer calls.
  EXPECT_EQ(
      Call(port(), "POST", "/api/v1/login", json{{"user", "admin"}, {"password", kWrongPassword}})
          .status,
      401);
  const std::string token = AdminToken();
  ASSERT_GE(token.size(), 16u);
  EXPECT_EQ(Call(port(), "GET", "/api/v1/jobs", std::nullopt, Bearer(token)).status, 200);
  EXPECT_EQ(Call(port(), "GET", "/api/v1/jobs", std::nullopt, Bearer(token + "x")).status, 401);
  const std::string job = CreateJob(token, "logged", "* * * * * ?", "/bin/true");
  ASSERT_FALSE(job.empty());
  ASSERT_TRUE(Eventually([&] {
    return Scrape(port()).Value("forest_executions_finished_total", {{"status", "success"}}) >= 1;
  }));
  server_->Signal(SIGTERM);
  ASSERT_TRUE(server_->WaitExit(seconds(30)).has_value());

  const std::string log = server_->Log();
  EXPECT_EQ(log.find(kAdminPassword), std::string::npos) << "the password is in the log";
  EXPECT_EQ(log.find(kWrongPassword), std::string::npos) << "a tried password is in the log";
  EXPECT_EQ(log.find(token), std::string::npos) << "the token is in the log";
  // The token's secret part alone (after its public id) neither.
  EXPECT_EQ(log.find(token.substr(token.size() - 12)), std::string::npos);

  std::istringstream lines(log);
  std::string line;
  int count = 0;
  bool run_line = false;
  bool node_line = false;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++count;
    const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << "not a JSON object: " << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    if (j.value("node", "") == "solo") node_line = true;
    if (j.value("job", "") == job && !j.value("execution", "").empty() &&
        j.value("msg", "").find("run finished") != std::string::npos) {
      run_line = true;
    }
  }
  EXPECT_GT(count, 5);
  EXPECT_TRUE(node_line) << "no line names the node";
  EXPECT_TRUE(run_line) << "no line names the job and execution of a finished run";
}

TEST_F(MetricsE2eTest, BadLogFormatIsRefused) {
  dir_ = std::make_unique<TempDir>("metrics-e2e");
  const int port = coord::testing::FreeLoopbackPorts(1).at(0);
  ServerProcess bad("bad", port,
                    ServerArgs("bad", port, dir_->path() / "data", {"--log-format", "xml"}),
                    dir_->path());
  ASSERT_TRUE(bad.Start());
  const std::optional<int> status = bad.WaitExit(seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2);
  EXPECT_NE(bad.Log().find("--log-format"), std::string::npos) << bad.Log();
}

// `forest worker --metrics-address` serves its own /metrics: claims and runs
// by status, and its etcd calls.
TEST(WorkerMetricsE2eTest, WorkerServesItsMetrics) {
  auto etcd = coord::testing::EtcdCluster::Start(1);
  if (!etcd.ok() && absl::IsNotFound(etcd.status())) GTEST_SKIP() << etcd.status();
  ASSERT_TRUE(etcd.ok()) << etcd.status();
  TempDir dir("metrics-worker");
  const std::vector<int> ports = coord::testing::FreeLoopbackPorts(2);
  const std::string endpoints = (*etcd)->endpoint(0);
  ServerProcess server("node1", ports[0],
                       {FOREST_BINARY, "server", "--node-id", "node1", "--etcd-endpoints",
                        endpoints, "--http-address", fmt::format("127.0.0.1:{}", ports[0]),
                        "--data-dir", (dir.path() / "data").string(), "--auth", "off"},
                       dir.path());
  integration::Process worker(
      {FOREST_BINARY, "worker", "--etcd-endpoints", endpoints, "--group", "g1", "--name", "w1",
       "--allow-shell", "--spool-dir", (dir.path() / "spool").string(), "--metrics-address",
       fmt::format("127.0.0.1:{}", ports[1]), "--log-format", "json"},
      dir.path() / "worker.log");
  ASSERT_TRUE(server.Start());
  ASSERT_TRUE(Eventually([&] { return Call(ports[0], "GET", "/readyz").status == 200; }))
      << Tail(server.Log());
  ASSERT_EQ(Call(ports[0], "POST", "/api/v1/groups", json{{"name", "g1"}}).status, 201);
  ASSERT_TRUE(worker.Start());
  ASSERT_TRUE(Eventually([&] { return Call(ports[1], "GET", "/healthz").status == 200; }))
      << Tail(worker.Log());
  const Answer job =
      Call(ports[0], "POST", "/api/v1/jobs",
           json{{"name", "w"}, {"group", "g1"}, {"cron", "* * * * * ?"}, {"target", "/bin/true"}});
  ASSERT_EQ(job.status, 201) << job.body;
  Exposition e;
  ASSERT_TRUE(Eventually([&] {
    e = Scrape(ports[1]);
    return e.Value("forest_worker_runs_finished_total", {{"status", "success"}, {"reason", ""}}) >=
           2;
  })) << Tail(worker.Log());
  EXPECT_GE(e.Value("forest_worker_claims_total"), 2);
  EXPECT_GE(e.Value("forest_worker_run_duration_seconds_count"), 2);
  EXPECT_GT(e.Value("forest_coord_requests_total", {{"op", "txn"}}), 0);
  EXPECT_TRUE(
      e.Value("forest_build_info",
              {{"version", e.families.at("forest_build_info").samples.at(0).labels.at("version")}})
          .has_value());
  // The server sees the worker in its group and the runs finish there too.
  ASSERT_TRUE(Eventually([&] {
    const Exposition s = Scrape(ports[0]);
    return s.Value("forest_workers", {{"group", "g1"}}) == 1 &&
           s.Value("forest_executions_finished_total", {{"status", "success"}}) >= 2;
  })) << Call(ports[0], "GET", "/metrics").body;
}

}  // namespace
}  // namespace forest
