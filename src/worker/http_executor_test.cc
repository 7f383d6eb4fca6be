// The HTTP executor: the request its params describe, and runs against a
// local cpp-httplib server on 127.0.0.1 (statuses, body, what reaches the
// server, cancel, timeout, a refused connection). Nothing leaves 127.0.0.1.
#include "worker/http_executor.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace forest::worker {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

TEST(HttpRequestFromParamsTest, ReadsMethodHeadersAndBody) {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  const Headers kJson = {{"Content-Type", "application/json"}};
  const struct {
    std::string params;
    std::string method;
    Headers headers;
    bool has_body;
    std::string body;
  } cases[] = {
      {"", "GET", {}, false, ""},
      {"not json", "GET", {}, false, ""},
      {"[1, 2]", "GET", {}, false, ""},
      {"\"POST\"", "GET", {}, false, ""},
      {"{}", "GET", {}, false, ""},
      {R"({"other": 1})", "GET", {}, false, ""},
      {R"({"method": "delete"})", "DELETE", {}, false, ""},
      {R"({"body": "a=1&b=2"})", "POST", {}, true, "a=1&b=2"},
      {R"({"body": ""})", "POST", {}, true, ""},
      {R"({"body": null})", "GET", {}, false, ""},
      {R"({"body": {"k": [1, "x"]}})", "POST", kJson, true, R"({"k":[1,"x"]})"},
      {R"({"body": 42, "method": "PUT"})", "PUT", kJson, true, "42"},
      {R"({"method": "GET", "body": "x"})", "GET", {}, true, "x"},
      {R"({"body": {"k": 1}, "headers": {"content-type": "text/plain"}})",
       "POST",
       {{"content-type", "text/plain"}},
       true,
       R"({"k":1})"},
      {R"({"headers": {"X-A": "1", "X-Empty": ""}})",
       "GET",
       {{"X-A", "1"}, {"X-Empty", ""}},
       false,
       ""},
  };
  for (const auto& c : cases) {
    const auto req = HttpRequestFromParams(c.params);
    ASSERT_TRUE(req.ok()) << c.params << ": " << req.status();
    EXPECT_EQ(req->method, c.method) << c.params;
    EXPECT_EQ(req->headers, c.headers) << c.params;
    EXPECT_EQ(req->has_body, c.has_body) << c.params;
    EXPECT_EQ(req->body, c.body) << c.params;
  }
}

TEST(HttpRequestFromParamsTest, RejectsWrongTypesAndInjection) {
  const struct {
    std::string params;
    std::string message;
  } cases[] = {
      {R"({"headers": ["X-A: 1"]})", "params.headers: expected an object of strings"},
      {R"({"headers": {"X-A": 1}})", "params.headers.X-A: expected a string"},
      {R"({"headers": {"X-A": "1\r\nX-Injected: yes"}})",
       "params.headers.X-A: must not contain line breaks"},
      {R"({"headers": {"Bad Name": "v"}})",
       "params.headers: 'Bad Name' is not a valid header name"},
      {R"({"method": 1})", "params.method: expected an HTTP method such as \"POST\""},
      {R"({"method": "GET /x HTTP/1.1\r\n"})",
       "params.method: expected an HTTP method such as \"POST\""},
  };
  for (const auto& c : cases) {
    const auto req = HttpRequestFromParams(c.params);
    ASSERT_FALSE(req.ok()) << c.params;
    EXPECT_EQ(req.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(req.status().message()), c.message) << c.params;
  }
}

TEST(HttpExecutorTest, AcceptsHttpAndHttpsUrlsOnly) {
  HttpExecutor executor;
  const struct {
    std::string target;
    bool accepted;
  } cases[] = {
      {"http://127.0.0.1/", true}, {"HTTPS://127.0.0.1/", true}, {" http://x/", true},
      {"echo http://x", false},    {"ftp://127.0.0.1/", false},  {"sh: curl http://x", false},
  };
  for (const auto& c : cases) {
    model::Assignment a;
    a.target = c.target;
    EXPECT_EQ(executor.Accepts(a), c.accepted) << c.target;
  }
}

// What the /echo handler saw.
struct Seen {
  std::string method, body, header, content_type;
};

class HttpExecutorServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello from the server", "text/plain");
    });
    server_.Get("/fail", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content("boom", "text/plain");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100000, 'x'), "text/plain");
    });
    server_.Get("/redirect",
                [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ok"); });
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(10), [&] { return released_; });
      res.set_content("late", "text/plain");
    });
    const auto echo = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      seen_ = {req.method, req.body, req.get_header_value("X-Forest-Test"),
               req.get_header_value("Content-Type")};
      res.status = 201;
      res.set_content("echoed", "text/plain");
    };
    server_.Get("/echo", echo);
    server_.Post("/echo", echo);
    server_.Put("/echo", echo);
    server_.Patch("/echo", echo);
    server_.Delete("/echo", echo);

    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    ASSERT_TRUE(server_.is_running());
  }

  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    server_.stop();
    if (thread_.joinable()) thread_.join();
    std::error_code ec;
    if (!log_dir_.empty()) std::filesystem::remove_all(log_dir_, ec);
  }

  std::string Url(std::string_view path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }

  Execution Exec(std::string_view path, std::string params = "") const {
    Execution e;
    e.assignment.id = "20260101000030000-job1";
    e.assignment.job_id = "job1";
    e.assignment.target = Url(path);
    e.assignment.params = std::move(params);
    e.group = "g1";
    return e;
  }

  std::string LogPath() {
    if (log_dir_.empty()) {
      std::string pattern =
          (std::filesystem::temp_directory_path() / "forest_http_XXXXXX").string();
      log_dir_ = mkdtemp(pattern.data());
    }
    return log_dir_ + "/logs/run.log";
  }

  Seen seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  Seen seen_;
  std::string log_dir_;
};

Outcome RunOnce(HttpExecutor& executor, const Execution& e) {
  CancelToken cancel;
  return executor.Run(e, cancel);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(HttpExecutorServerTest, Status200IsSuccessWithTheBodyAndTheLog) {
  HttpExecutor executor;
  Execution e = Exec("/ok");
  e.log_path = LogPath();
  const Outcome o = RunOnce(executor, e);
  EXPECT_TRUE(o.success) << o.result;
  EXPECT_EQ(o.result, "HTTP 200");
  EXPECT_EQ(o.exit_code, 200);
  EXPECT_EQ(o.output, "hello from the server");
  const std::string log = ReadFile(e.log_path);
  EXPECT_EQ(log.rfind("HTTP/1.1 200", 0), 0u) << log;
  EXPECT_NE(log.find("\r\n\r\nhello from the server"), std::string::npos) << log;
}

TEST_F(HttpExecutorServerTest, Status500IsFailure) {
  HttpExecutor executor;
  const Outcome o = RunOnce(executor, Exec("/fail"));
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.result, "HTTP 500");
  EXPECT_EQ(o.exit_code, 500);
  EXPECT_EQ(o.output, "boom");
}

TEST_F(HttpExecutorServerTest, Status404IsFailure) {
  HttpExecutor executor;
  const Outcome o = RunOnce(executor, Exec("/nowhere"));
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.result, "HTTP 404");
}

TEST_F(HttpExecutorServerTest, FollowsRedirects) {
  HttpExecutor executor;
  const Outcome o = RunOnce(executor, Exec("/redirect"));
  EXPECT_EQ(o.result, "HTTP 200");
  EXPECT_EQ(o.output, "hello from the server");

  HttpOptions options;
  options.follow_redirects = false;
  HttpExecutor strict(options);
  EXPECT_EQ(RunOnce(strict, Exec("/redirect")).result, "HTTP 302");
}

TEST_F(HttpExecutorServerTest, MethodHeadersAndBodyFromParamsReachTheServer) {
  HttpExecutor executor;
  const struct {
    std::string params;
    Seen seen;
  } cases[] = {
      {"", {"GET", "", "", ""}},
      {"plain text, not JSON", {"GET", "", "", ""}},
      {R"({"body": "a=1", "headers": {"X-Forest-Test": "yes",
           "Content-Type": "application/x-www-form-urlencoded"}})",
       {"POST", "a=1", "yes", "application/x-www-form-urlencoded"}},
      {R"({"method": "PUT", "body": {"a": [1, 2]}})",
       {"PUT", R"({"a":[1,2]})", "", "application/json"}},
      {R"({"method": "patch", "body": "p", "headers": {"Content-Type": "text/plain"}})",
       {"PATCH", "p", "", "text/plain"}},
      {R"({"method": "DELETE", "headers": {"X-Forest-Test": "gone"}})", {"DELETE", "", "gone", ""}},
  };
  for (const auto& c : cases) {
    const Outcome o = RunOnce(executor, Exec("/echo", c.params));
    EXPECT_TRUE(o.success) << c.params << ": " << o.result;
    EXPECT_EQ(o.result, "HTTP 201") << c.params;
    EXPECT_EQ(o.output, "echoed") << c.params;
    const Seen s = seen();
    EXPECT_EQ(s.method, c.seen.method) << c.params;
    EXPECT_EQ(s.body, c.seen.body) << c.params;
    EXPECT_EQ(s.header, c.seen.header) << c.params;
    EXPECT_EQ(s.content_type, c.seen.content_type) << c.params;
  }
}

TEST_F(HttpExecutorServerTest, BadParamsFailWithoutARequest) {
  HttpExecutor executor;
  {
    std::lock_guard lock(mu_);
    seen_ = {"none", "", "", ""};
  }
  const Outcome o = RunOnce(executor, Exec("/echo", R"({"headers": {"X-A": 1}})"));
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.result, "bad params: params.headers.X-A: expected a string");
  EXPECT_EQ(seen().method, "none");
}

TEST_F(HttpExecutorServerTest, KeepsTheStartOfTheBodyWithinBothCaps) {
  HttpOptions options;
  options.max_body_kept = 100;
  HttpExecutor executor(options);
  Execution e = Exec("/big");
  e.log_path = LogPath();
  Outcome o = RunOnce(executor, e);
  EXPECT_EQ(o.output, std::string(100, 'x'));
  // The log has all of it.
  EXPECT_NE(ReadFile(e.log_path).find(std::string(100000, 'x')), std::string::npos);
  e.output_cap = 10;
  o = RunOnce(executor, e);
  EXPECT_EQ(o.output, std::string(10, 'x'));
}

TEST_F(HttpExecutorServerTest, CancelAbortsASlowRequestPromptly) {
  HttpExecutor executor;
  const Execution e = Exec("/slow");
  CancelToken cancel;
  Outcome o;
  SteadyClock::time_point returned;
  std::thread runner([&] {
    o = executor.Run(e, cancel);
    returned = SteadyClock::now();
  });
  std::this_thread::sleep_for(milliseconds(300));
  const SteadyClock::time_point cancelled = SteadyClock::now();
  cancel.Cancel("timed out after 1 s");
  runner.join();
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.result, "timed out after 1 s");
  EXPECT_FALSE(o.exit_code.has_value());
  EXPECT_LT(returned - cancelled, milliseconds(2000));
}

TEST_F(HttpExecutorServerTest, AssignmentTimeoutBoundsTheRequest) {
  HttpExecutor executor;
  Execution e = Exec("/slow");
  e.assignment.timeout_seconds = 1;
  const auto start = SteadyClock::now();
  const Outcome o = RunOnce(executor, e);
  EXPECT_LT(SteadyClock::now() - start, milliseconds(3000));
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.result.rfind("request failed: ", 0), 0u) << o.result;
  EXPECT_NE(o.result.find("timed out"), std::string::npos) << o.result;
}

TEST(HttpExecutorNoServerTest, ConnectionRefusedIsAFailureWithCurlsMessage) {
  // A bound socket that does not listen: connecting to it is refused, and
  // nobody else can take the port meanwhile.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  HttpExecutor executor;
  Execution e;
  e.assignment.target = fmt::format("http://127.0.0.1:{}/", port);
  const Outcome o = RunOnce(executor, e);
  ::close(fd);
  EXPECT_FALSE(o.success);
  EXPECT_FALSE(o.exit_code.has_value());
  EXPECT_EQ(o.result.rfind("request failed: ", 0), 0u) << o.result;
  EXPECT_NE(o.result.find(fmt::format("127.0.0.1 port {}", port)), std::string::npos) << o.result;
}

}  // namespace
}  // namespace forest::worker
