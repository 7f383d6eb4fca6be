// Test support for the servers tests start (etcd, PostgreSQL, MariaDB):
// Spawner runs tasks on one long-lived thread. Test servers (etcd,
// PostgreSQL, MariaDB) are forked from it so that PR_SET_PDEATHSIG (sent
// when the forking *thread* exits) kills them when their owner goes away or
// the test process dies, not when some test thread that happened to call
// Restart() ends.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>

namespace forest::coord::testing {

class Spawner {
 public:
  Spawner() : thread_([this] { Loop(); }) {}
  ~Spawner() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  pid_t Run(std::function<pid_t()> task) {
    std::packaged_task<pid_t()> packaged(std::move(task));
    std::future<pid_t> result = packaged.get_future();
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(packaged));
    }
    cv_.notify_all();
    return result.get();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      std::packaged_task<pid_t()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<pid_t()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
};

// The last `lines` lines of a server's log file, for error messages.
inline std::string Tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const std::string& l : last) out += l + "\n";
  return out;
}

}  // namespace forest::coord::testing
