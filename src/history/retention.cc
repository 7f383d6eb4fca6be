#include "history/retention.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"

namespace forest::history {
namespace {

// Deletes batch by batch; `wait(pause)` between batches answers false to
// stop early.
absl::StatusOr<int64_t> PruneWith(HistoryStore& history, Time cutoff, int batch,
                                  std::chrono::milliseconds pause,
                                  const std::function<bool(std::chrono::milliseconds)>& wait) {
  int64_t total = 0;
  for (;;) {
    ASSIGN_OR_RETURN(const int64_t deleted, history.DeleteOlderThan(cutoff, batch));
    total += deleted;
    if (deleted < batch) return total;
    if (!wait(pause)) return total;
  }
}

}  // namespace

absl::StatusOr<int64_t> Retention::Prune(HistoryStore& history, Time cutoff, int batch,
                                         std::chrono::milliseconds pause) {
  if (batch < 1) return absl::InvalidArgumentError(fmt::format("batch {} is below 1", batch));
  return PruneWith(history, cutoff, batch, pause, [](std::chrono::milliseconds d) {
    std::this_thread::sleep_for(d);
    return true;
  });
}

class Retention::Impl {
 public:
  Impl(HistoryStore& history, RetentionOptions options)
      : history_(history), options_(std::move(options)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Impl() { Stop(); }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  RetentionStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  // False once stopping.
  bool Wait(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return stopping_; });
  }

  void Loop() {
    do {
      const Time cutoff = options_.clock->Now() - std::chrono::days(options_.days);
      auto deleted = PruneWith(history_, cutoff, options_.batch, options_.pause,
                               [this](std::chrono::milliseconds d) { return Wait(d); });
      std::lock_guard lock(mu_);
      ++stats_.passes;
      if (deleted.ok()) {
        stats_.deleted += *deleted;
        stats_.last_error.clear();
        if (*deleted > 0) {
          spdlog::info("history retention: deleted {} executions created before {}", *deleted,
                       FormatIso8601(cutoff));
        }
      } else {
        ++stats_.errors;
        stats_.last_error = std::string(deleted.status().message());
        spdlog::warn("history retention: {} (next pass in {} s)", stats_.last_error,
                     std::chrono::duration_cast<std::chrono::seconds>(options_.interval).count());
      }
    } while (Wait(options_.interval));
  }

  HistoryStore& history_;
  const RetentionOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  RetentionStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<Retention>> Retention::Start(HistoryStore& history,
                                                            RetentionOptions options) {
  if (options.days < 1 || options.days > 36500) {
    return absl::InvalidArgumentError(
        fmt::format("history retention of {} days is outside 1..36500", options.days));
  }
  if (options.batch < 1 || options.batch > 100000) {
    return absl::InvalidArgumentError(
        fmt::format("retention batch {} is outside 1..100000", options.batch));
  }
  if (options.interval <= std::chrono::milliseconds(0) ||
      options.pause < std::chrono::milliseconds(0)) {
    return absl::InvalidArgumentError("retention interval must be positive, pause not negative");
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("retention without a clock");
  return std::unique_ptr<Retention>(
      new Retention(std::make_unique<Impl>(history, std::move(options))));
}

Retention::Retention(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Retention::~Retention() = default;
void Retention::Stop() { impl_->Stop(); }
RetentionStats Retention::stats() const { return impl_->stats(); }

}  // namespace forest::history
