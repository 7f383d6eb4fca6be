// Test support shared by the whole-system tests: polling with a deadline,
// temporary directories, and child processes (`forest server`, `forest
// worker`) with their output in a log file.
#pragma once

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace forest::integration {

// A write to a connection the server closed (it refused a body mid-way)
// fails instead of killing the test with SIGPIPE.
inline const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// Polls `cond` every `every` until it holds (true) or `limit` passes (false).
inline bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit,
                       std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The last `n` characters of `s` (for logs in failure messages).
inline std::string Tail(const std::string& s, size_t n = 4000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

// A fresh temporary directory, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / fmt::format("forest-{}-XXXXXX", name)).string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A child process (posix_spawn) with stdout and stderr appended to `log`.
// SIGKILLed and reaped in the destructor if still running.
class Process {
 public:
  Process(std::vector<std::string> args, std::filesystem::path log)
      : args_(std::move(args)), log_(std::move(log)) {}
  ~Process() { Kill(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool Start() {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }
  bool started() const { return pid_ > 0; }
  void Signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    status_ = status;
    pid_ = -1;
  }
  // Still running (reaps it if it has exited).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }
  // The wait status once it has exited within `limit`.
  std::optional<int> WaitExit(std::chrono::milliseconds limit) {
    if (!Eventually([&] { return !Running(); }, limit)) return std::nullopt;
    return status_;
  }
  std::string Log() const { return ReadFile(log_); }

 private:
  std::vector<std::string> args_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int status_ = 0;
};

// A `forest server` process named `id` (log {dir}/{id}.log), on `port`.
class ServerProcess : public Process {
 public:
  ServerProcess(std::string id, int port, std::vector<std::string> args,
                const std::filesystem::path& dir)
      : Process(std::move(args), dir / (id + ".log")), id_(std::move(id)), port_(port) {}
  const std::string& id() const { return id_; }
  int port() const { return port_; }

 private:
  std::string id_;
  int port_;
};

}  // namespace forest::integration
