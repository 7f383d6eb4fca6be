// The HTTP API under load: a standalone `forest` server in this process
// (embedded store in a temporary data directory, authentication on, one API
// token), 10,000 jobs, and 16 clients on loopback with keep-alive
// connections, each sending its next request as soon as the last answered.
// Prints, per figure, requests/s and latency p50/p99:
//
//   1. GET /api/v1/jobs?page=N&pageSize=50 (pages spread over the 200);
//   2. POST /api/v1/jobs/{id}/run (a run request each, jobs spread);
//   3. baseline, same run: GET /healthz (the HTTP stack, the router and the
//      token check's absence: what the server costs before any work).
//
// --quick (the CTest smoke test): 500 jobs, 1 s per figure; default 10,000
// jobs, 5 s per figure.
#include <fmt/format.h>
#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "server/server.h"

namespace forest {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;

struct Figure {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t errors = 0;
};

// `clients` threads, each with its own keep-alive connection, calling
// `request(client, i)` for `seconds`; each call answers whether it succeeded.
Figure Load(int port, int clients, std::chrono::seconds seconds,
            const std::function<bool(httplib::Client&, int, int64_t)>& request) {
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<int64_t> errors{0};
  const auto end = Clock::now() + seconds;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      for (int64_t i = 0; Clock::now() < end; ++i) {
        const auto start = Clock::now();
        if (!request(client, c, i)) ++errors;
        latencies[c].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Figure f;
  f.errors = errors;
  if (all.empty()) return f;
  f.per_second = static_cast<double>(all.size()) / static_cast<double>(seconds.count());
  f.p50_ms = all[all.size() / 2];
  f.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return f;
}

void Print(const std::string& what, const Figure& f) {
  fmt::print("{:<48} {:>9.0f} req/s   p50 {:>7.2f} ms   p99 {:>7.2f} ms{}\n", what, f.per_second,
             f.p50_ms, f.p99_ms, f.errors > 0 ? fmt::format("   ({} errors)", f.errors) : "");
}

int Run(bool quick) {
  spdlog::set_level(spdlog::level::warn);
  const int jobs = quick ? 500 : 10000;
  const auto seconds = std::chrono::seconds(quick ? 1 : 5);
  const int clients = 16;
  char dir_template[] = "/tmp/forest_api_bench.XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  server::ServerOptions o;
  o.data_dir = dir + "/data";
  o.node_id = "bench";
  o.http_address = "127.0.0.1:0";
  o.admin_password = "bench-password";
  o.history_retention_days = 0;
  auto started = server::Server::Start(o);
  if (!started.ok()) {
    fmt::print(stderr, "api_bench: cannot start the server: {}\n", started.status().ToString());
    return 1;
  }
  std::unique_ptr<server::Server> srv = *std::move(started);
  const int port = srv->http_port();

  // A token for everything that follows.
  httplib::Client admin("127.0.0.1", port);
  auto login = admin.Post("/api/v1/login", R"({"user":"admin","password":"bench-password"})",
                          "application/json");
  if (!login || login->status != 200) {
    fmt::print(stderr, "api_bench: cannot log in\n");
    return 1;
  }
  const std::string cookie = login->get_header_value("Set-Cookie");
  const std::string csrf = nlohmann::json::parse(login->body)["csrfToken"];
  auto token_answer = admin.Post(
      "/api/v1/tokens", {{"Cookie", cookie.substr(0, cookie.find(';'))}, {"X-CSRF-Token", csrf}},
      R"({"name":"bench"})", "application/json");
  const std::string token = nlohmann::json::parse(token_answer->body)["token"];
  const httplib::Headers auth = {{"Authorization", "Bearer " + token}};

  // 10,000 jobs, stopped (the benchmark measures the API, not the firing),
  // created through the API by 16 clients.
  const auto create_start = Clock::now();
  std::vector<std::string> ids(static_cast<size_t>(jobs));
  std::atomic<int> next{0};
  std::vector<std::thread> creators;
  for (int c = 0; c < clients; ++c) {
    creators.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      for (int i = next++; i < jobs; i = next++) {
        const nlohmann::json job = {{"name", fmt::format("job-{:05}", i)},
                                    {"group", "local"},
                                    {"cron", "0 0 2 * * ?"},
                                    {"status", 2},
                                    {"target", "https://127.0.0.1:9/run"},
                                    {"description", "a benchmark job with a few words"},
                                    {"tags", {"bench", fmt::format("t{}", i % 10)}}};
        auto r = client.Post("/api/v1/jobs", auth, job.dump(), "application/json");
        if (r && r->status == 201)
          ids[static_cast<size_t>(i)] = nlohmann::json::parse(r->body)["id"];
      }
    });
  }
  for (auto& t : creators) t.join();
  const double create_s = std::chrono::duration<double>(Clock::now() - create_start).count();
  fmt::print(
      "api_bench: standalone server, embedded store, auth on (API token), {} clients, {} "
      "jobs created through POST /api/v1/jobs in {:.1f} s ({:.0f}/s)\n",
      clients, jobs, create_s, jobs / create_s);

  const int pages = jobs / 50;
  std::atomic<bool> reported{false};
  Print("GET /healthz (baseline: HTTP, no work)",
        Load(port, clients, seconds, [&](httplib::Client& c, int, int64_t) {
          auto r = c.Get("/healthz");
          return r && r->status == 200;
        }));
  Print(fmt::format("GET /api/v1/jobs page of 50 of {}", jobs),
        Load(port, clients, seconds, [&](httplib::Client& c, int client, int64_t i) {
          const int page = static_cast<int>((client * 7919 + i) % pages) + 1;
          auto r = c.Get(fmt::format("/api/v1/jobs?page={}&pageSize=50", page), auth);
          return r && r->status == 200;
        }));
  Print("POST /api/v1/jobs/{id}/run",
        Load(port, clients, seconds, [&](httplib::Client& c, int client, int64_t i) {
          const std::string& id = ids[static_cast<size_t>((client * 7919 + i) % jobs)];
          auto r = c.Post("/api/v1/jobs/" + id + "/run", auth, "", "application/json");
          if (r && r->status != 202 && !reported.exchange(true)) {
            fmt::print(stderr, "api_bench: run answered {}: {}\n", r->status, r->body);
          }
          return r && r->status == 202;
        }));
  srv->Stop();
  srv.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}

}  // namespace
}  // namespace forest

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // as the forest binary does
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  return forest::Run(quick);
}
