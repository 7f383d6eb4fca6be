// forest::Worker: the public worker over the runtime (worker/worker.h) with
// one executor, the SDK's, on an EtcdStore of its own.
#include "forest/worker.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "common/host.h"
#include "common/strings.h"
#include "coord/etcd/etcd_store.h"
#include "model/keys.h"
#include "sdk/internal.h"
#include "sdk/sdk_executor.h"
#include "worker/worker.h"

#ifndef FOREST_SDK_VERSION
#define FOREST_SDK_VERSION "dev"
#endif

namespace forest {
namespace {

// The write end of the pipe of the Worker whose Run() handles SIGINT and
// SIGTERM; -1 when none does.
std::atomic<int> g_signal_fd{-1};

void OnStopSignal(int) {
  const int saved = errno;
  const int fd = g_signal_fd.load();
  if (fd >= 0) {
    const char byte = 's';
    (void)!::write(fd, &byte, 1);
  }
  errno = saved;
}

// SIGINT and SIGTERM go to `fd` while it lives; the previous handlers after.
class SignalScope {
 public:
  explicit SignalScope(int fd) {
    int expected = -1;
    if (!g_signal_fd.compare_exchange_strong(expected, fd)) {
      throw Error(
          "forest::Worker: another Worker's Run() handles SIGINT/SIGTERM already; set "
          "handle_signals = false on all but one");
    }
    struct sigaction action = {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_signal_fd.store(-1);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  struct sigaction old_int_ = {};
  struct sigaction old_term_ = {};
};

void Pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw Error(fmt::format("forest::Worker: pipe: {}", std::strerror(errno)));
  }
}

void Close(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

// Lifecycle: kNew -> (Start) kRunning -> (Stop) kStopped, or kNew -> kStopped.
// Start and Stop hold lifecycle_mu_ throughout (a Stop waits for a Start in
// progress); mu_ guards the small state the accessors read.
class Worker::Impl {
 public:
  explicit Impl(WorkerOptions options) : options_(std::move(options)) {
    Pipe(signal_pipe_);
    try {
      Pipe(stop_pipe_);
    } catch (...) {
      Close(signal_pipe_[0]);
      Close(signal_pipe_[1]);
      throw;
    }
  }
  ~Impl() {
    Stop(std::chrono::milliseconds(0));
    for (int* fd : {&signal_pipe_[0], &signal_pipe_[1], &stop_pipe_[0], &stop_pipe_[1]}) {
      Close(*fd);
    }
  }

  void Handle(std::string target, Handler handler) {
    std::lock_guard lock(mu_);
    if (state_ != State::kNew) {
      throw Error("forest::Worker: Handle() after Start(); register every handler first");
    }
    if (target.empty()) throw Error("forest::Worker: Handle(): empty target");
    if (!handler) throw Error(fmt::format("forest::Worker: Handle('{}'): empty handler", target));
    if (handlers_.contains(target)) {
      throw Error(fmt::format("forest::Worker: Handle('{}'): registered already", target));
    }
    handlers_.emplace(std::move(target), std::move(handler));
  }

  // `store` null: connect to etcd with the options.
  void Start(coord::Store* store) {
    std::lock_guard lifecycle(lifecycle_mu_);
    StartLocked(store);
  }

  void Run() {
    std::optional<SignalScope> signals;
    if (options_.handle_signals) signals.emplace(signal_pipe_[1]);
    {
      std::lock_guard lifecycle(lifecycle_mu_);
      if (state() == State::kStopped) return;
      if (state() == State::kNew) StartLocked(nullptr);
    }
    // Stop() closes the stop pipe's write end (readable: EOF, for every
    // waiter at once); a signal writes a byte to the signal pipe.
    pollfd fds[2] = {{stop_pipe_[0], POLLIN, 0}, {signal_pipe_[0], POLLIN, 0}};
    while (true) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        throw Error(fmt::format("forest::Worker: poll: {}", std::strerror(errno)));
      }
      if (fds[0].revents != 0) return;  // stopped
      if (fds[1].revents != 0) {
        char bytes[16];
        while (::read(signal_pipe_[0], bytes, sizeof bytes) > 0) {
        }
        if (options_.handle_signals) {
          Stop(options_.drain_timeout);
          return;
        }
      }
    }
  }

  void Stop(std::chrono::milliseconds drain_timeout) {
    std::lock_guard lifecycle(lifecycle_mu_);
    if (state() == State::kStopped) return;
    if (runtime_) {
      runtime_->Drain(drain_timeout);
      runtime_.reset();
    }
    etcd_.reset();
    {
      std::lock_guard lock(mu_);
      state_ = State::kStopped;
    }
    Close(stop_pipe_[1]);  // wakes Run()
  }

  std::chrono::milliseconds drain_timeout() const { return options_.drain_timeout; }
  bool running() const { return state() == State::kRunning; }
  std::string name() const {
    std::lock_guard lock(mu_);
    return name_.empty() ? options_.name : name_;
  }
  worker::WorkerStats stats() const {
    std::lock_guard lifecycle(lifecycle_mu_);
    return runtime_ ? runtime_->stats() : worker::WorkerStats{};
  }

 private:
  enum class State { kNew, kRunning, kStopped };

  State state() const {
    std::lock_guard lock(mu_);
    return state_;
  }

  void StartLocked(coord::Store* store) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lifecycle_mu_);
  // The runtime's options, or what is wrong with ours (throws Error).
  worker::WorkerOptions RuntimeOptions(const std::string& name) const;

  const WorkerOptions options_;
  mutable std::mutex lifecycle_mu_;
  std::unique_ptr<coord::EtcdStore> etcd_ ABSL_GUARDED_BY(lifecycle_mu_);
  std::unique_ptr<worker::Worker> runtime_ ABSL_GUARDED_BY(lifecycle_mu_);

  mutable std::mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kNew;
  std::map<std::string, Handler, std::less<>> handlers_ ABSL_GUARDED_BY(mu_);
  std::string name_ ABSL_GUARDED_BY(mu_);  // resolved at Start

  int signal_pipe_[2] = {-1, -1};
  int stop_pipe_[2] = {-1, -1};
};

worker::WorkerOptions Worker::Impl::RuntimeOptions(const std::string& name) const {
  const auto invalid = [](std::string_view what) {
    return Error(fmt::format("forest::Worker: invalid options: {}", what));
  };
  if (options_.groups.empty()) throw invalid("groups is empty: name at least one group");
  for (const std::string& group : options_.groups) {
    if (group.empty() || group.find('/') != std::string::npos) {
      throw invalid(fmt::format("group '{}': not empty, no '/'", group));
    }
  }
  if (name.empty() || name.find('/') != std::string::npos || name == model::keys::kNoWorker) {
    throw invalid(fmt::format("name '{}': not empty, no '/'", name));
  }
  if (options_.concurrency < 1) throw invalid("concurrency must be at least 1");
  if (options_.lease_ttl < std::chrono::seconds(1)) {
    throw invalid("lease_ttl must be at least 1 s");
  }
  worker::WorkerOptions runtime;
  runtime.groups = options_.groups;
  runtime.name = name;
  runtime.concurrency = options_.concurrency;
  runtime.lease_ttl = options_.lease_ttl;
  runtime.log_dir = options_.log_dir;
  runtime.spool_dir = options_.spool_dir;
  runtime.output_cap = options_.output_cap;
  runtime.labels = options_.labels;
  runtime.version = "forest-sdk/" FOREST_SDK_VERSION;
  return runtime;
}

void Worker::Impl::StartLocked(coord::Store* store) {
  std::map<std::string, Handler, std::less<>> handlers;
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kRunning) throw Error("forest::Worker: started already");
    if (state_ == State::kStopped) {
      throw Error("forest::Worker: stopped; a Worker starts once (make a new one)");
    }
    if (handlers_.empty()) {
      throw Error("forest::Worker: no handler registered: call Handle() before Start()");
    }
    handlers = handlers_;
  }
  const std::string name = options_.name.empty() ? MachineAddress() : options_.name;
  worker::WorkerOptions runtime_options = RuntimeOptions(name);

  if (store == nullptr) {
    if (options_.etcd_endpoints.empty()) {
      throw Error("forest::Worker: invalid options: etcd_endpoints is empty");
    }
    coord::EtcdStoreOptions etcd;
    etcd.endpoints = options_.etcd_endpoints;
    etcd.dial_timeout = options_.etcd_dial_timeout;
    etcd.user = options_.etcd_user;
    etcd.password = options_.etcd_password;
    etcd.ca_file = options_.etcd_ca_file;
    etcd.cert_file = options_.etcd_cert_file;
    etcd.key_file = options_.etcd_key_file;
    auto connected = coord::EtcdStore::Connect(std::move(etcd));
    if (!connected.ok()) {
      throw Error(fmt::format("forest::Worker: cannot connect to etcd ({}): {}",
                              Join(options_.etcd_endpoints, ","),
                              std::string(connected.status().message())));
    }
    etcd_ = std::move(*connected);
    store = etcd_.get();
  }
  std::vector<std::unique_ptr<worker::Executor>> executors;
  executors.push_back(std::make_unique<sdk::SdkExecutor>(std::move(handlers)));
  auto started = worker::Worker::Start(*store, std::move(runtime_options), std::move(executors));
  if (!started.ok()) {
    etcd_.reset();
    std::string message(started.status().message());
    // The runtime speaks of the CLI's flag.
    if (const size_t at = message.find("--name"); at != std::string::npos) {
      message.replace(at, 6, "WorkerOptions::name");
    }
    throw Error(fmt::format("forest::Worker {}: cannot start: {}", name, message));
  }
  runtime_ = std::move(*started);
  std::lock_guard lock(mu_);
  name_ = name;
  state_ = State::kRunning;
}

Worker::Worker(WorkerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Worker::~Worker() = default;

void Worker::Handle(std::string target, Handler handler) {
  impl_->Handle(std::move(target), std::move(handler));
}
void Worker::Start() { impl_->Start(nullptr); }
void Worker::Run() { impl_->Run(); }
void Worker::Stop(std::chrono::milliseconds drain_timeout) { impl_->Stop(drain_timeout); }
void Worker::Stop() { impl_->Stop(impl_->drain_timeout()); }
bool Worker::running() const { return impl_->running(); }
std::string Worker::name() const { return impl_->name(); }

namespace sdk {

void WorkerAccess::StartOn(forest::Worker& worker, coord::Store& store) {
  worker.impl_->Start(&store);
}

worker::WorkerStats WorkerAccess::Stats(const forest::Worker& worker) {
  return worker.impl_->stats();
}

}  // namespace sdk
}  // namespace forest
