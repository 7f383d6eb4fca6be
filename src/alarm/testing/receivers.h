// Test support: a webhook receiver (cpp-httplib) and an SMTP server
// (smtp_server.py on Debian's python3-aiosmtpd), both on 127.0.0.1 only,
// started and stopped by the tests, keeping what they received.
#pragma once

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace forest::alarm::testing {

// Polls `cond` until it holds (true) or `limit` passes (false).
inline bool Eventually(const std::function<bool()>& cond,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Answers POSTs on any path; by default 200 with `answer` (per path).
class WebhookReceiver {
 public:
  struct Request {
    std::string path;
    std::map<std::string, std::string> query;    // decoded
    std::string raw_query;                       // as sent
    std::map<std::string, std::string> headers;  // names as sent
    std::string body;
  };

  WebhookReceiver() {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Request r;
      r.path = req.path;
      for (const auto& [k, v] : req.params) r.query[k] = v;
      const size_t q = req.target.find('?');
      if (q != std::string::npos) r.raw_query = req.target.substr(q + 1);
      for (const auto& [k, v] : req.headers) r.headers[k] = v;
      r.body = req.body;
      std::string answer = "{\"errcode\":0,\"errmsg\":\"ok\",\"code\":0}";
      int status = 200;
      std::chrono::milliseconds delay{0};
      {
        std::lock_guard lock(mu_);
        if (fail_ > 0) {
          --fail_;
          status = 500;
          answer = "{\"error\":\"down\"}";
        }
        if (auto it = answers_.find(req.path); it != answers_.end()) answer = it->second;
        delay = delays_[req.path];
        requests_.push_back(r);
      }
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      res.status = status;
      res.set_content(answer, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~WebhookReceiver() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string Url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }
  int port() const { return port_; }
  // The next `n` requests get HTTP 500.
  void FailNext(int n) {
    std::lock_guard lock(mu_);
    fail_ = n;
  }
  void Answer(const std::string& path, std::string body) {
    std::lock_guard lock(mu_);
    answers_[path] = std::move(body);
  }
  void Delay(const std::string& path, std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    delays_[path] = d;
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<Request> requests(const std::string& path) const {
    std::lock_guard lock(mu_);
    std::vector<Request> out;
    for (const Request& r : requests_) {
      if (r.path == path) out.push_back(r);
    }
    return out;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  int fail_ = 0;
  std::map<std::string, std::string> answers_;
  std::map<std::string, std::chrono::milliseconds> delays_;
  std::vector<Request> requests_;
};

// smtp_server.py in a temporary directory with a fresh self-signed
// certificate for localhost and 127.0.0.1 (ca_file()).
class SmtpServer {
 public:
  // mode: "starttls", "tls" or "plain". Empty user: no AUTH.
  SmtpServer(std::string mode, std::string user = "", std::string password = "", int fail = 0) {
    char dir[] = "/tmp/forest-smtp-XXXXXX";
    if (mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    const std::string cert = (dir_ / "cert.pem").string(), key = (dir_ / "key.pem").string();
    const std::string openssl = fmt::format(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout {} -out {} -days 2 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1",
        key, cert);
    if (std::system(openssl.c_str()) != 0) return;
    out_ = dir_ / "received.jsonl";
    std::vector<std::string> args = {"/usr/bin/python3",
                                     FOREST_SMTP_SERVER,
                                     "--mode",
                                     mode,
                                     "--cert",
                                     cert,
                                     "--key",
                                     key,
                                     "--out",
                                     out_.string(),
                                     "--fail",
                                     std::to_string(fail)};
    if (!user.empty()) {
      args.insert(args.end(), {"--user", user, "--password", password});
    }
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    if (rc != 0) {
      pid_ = -1;
      close(out[0]);
      return;
    }
    // "PORT <n>\n" once it listens.
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = std::atoi(line.c_str() + 5);
    ca_file_ = cert;
  }
  ~SmtpServer() {
    if (stdin_ >= 0) close(stdin_);  // it stops when its stdin closes
    if (pid_ > 0) {
      int status = 0;
      for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (waitpid(pid_, &status, WNOHANG) == 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
      }
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  const std::string& ca_file() const { return ca_file_; }
  // Every message taken so far.
  std::vector<nlohmann::json> messages() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(out_);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }

 private:
  std::filesystem::path dir_;
  std::filesystem::path out_;
  std::string ca_file_;
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

}  // namespace forest::alarm::testing
