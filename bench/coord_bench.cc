// EtcdStore throughput and watch latency against a real single-member etcd
// started for the run (EtcdCluster: data dir under $TMPDIR or /tmp, fsync on,
// as etcd always does). Prints one line per figure:
//   - single-key puts/s, one caller after the other;
//   - puts/s with 16 concurrent callers;
//   - keys/s written through transactions of 64 puts each (one caller);
//   - that batched rate over the concurrent one;
//   - watch delivery latency, put call -> callback, p50 and p99.
// A full run takes about 25 s; --quick (the CTest smoke test) about 3 s.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "coord/etcd/etcd_store.h"
#include "coord/testing/etcd_cluster.h"

namespace forest::coord {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kConcurrentCallers = 16;
constexpr int kBatch = 64;

struct Config {
  milliseconds phase{5000};  // measuring time per throughput figure
  int latency_samples = 2000;
};

const std::string kValue(100, 'v');

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Calls `once(i)` for `phase` with `callers` threads; returns calls per second.
double Rate(const Config& config, int callers,
            const std::function<bool(int caller, long i)>& once) {
  std::atomic<long> total{0};
  std::atomic<long> errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      for (long i = 0; !stop; ++i) {
        if (once(c, i)) {
          ++total;
        } else {
          ++errors;
        }
      }
    });
  }
  std::this_thread::sleep_for(config.phase);
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = Seconds(Clock::now() - start);
  if (errors > 0) fmt::print("  ({} failed calls)\n", errors.load());
  return double(total) / elapsed;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5));
  return v[i];
}

int Run(const Config& config) {
  auto cluster = testing::EtcdCluster::Start(1);
  if (!cluster.ok()) {
    fmt::print(stderr, "coord_bench: cannot start etcd: {}\n", cluster.status().ToString());
    return 1;
  }
  EtcdStoreOptions options;
  options.endpoints = (*cluster)->endpoints();
  auto connected = EtcdStore::Connect(options);
  if (!connected.ok()) {
    fmt::print(stderr, "coord_bench: {}\n", connected.status().ToString());
    return 1;
  }
  EtcdStore& store = **connected;
  fmt::print(
      "coord_bench: EtcdStore -> etcd 3.4, one member on 127.0.0.1 (fsync on), "
      "{} ms per throughput figure, {}-byte values\n",
      config.phase.count(), kValue.size());

  const double sequential = Rate(config, 1, [&](int, long i) {
    return store.Put({fmt::format("/bench/seq/{}", i % 1000), kValue, 0, false}).ok();
  });
  fmt::print("sequential puts/s (1 caller):            {:10.0f}\n", sequential);

  const double concurrent = Rate(config, kConcurrentCallers, [&](int c, long i) {
    return store.Put({fmt::format("/bench/conc/{}/{}", c, i % 1000), kValue, 0, false}).ok();
  });
  fmt::print("concurrent puts/s ({} callers):          {:10.0f}\n", kConcurrentCallers, concurrent);

  const double txns = Rate(config, 1, [&](int, long i) {
    TxnRequest txn;
    txn.success.reserve(kBatch);
    for (int k = 0; k < kBatch; ++k) {
      txn.success.push_back(
          PutRequest{fmt::format("/bench/batch/{}/{}", i % 100, k), kValue, 0, false});
    }
    return store.Txn(txn).ok();
  });
  const double batched = txns * kBatch;
  fmt::print("batched keys/s (Txn of {} puts, 1 caller): {:10.0f}  ({:.0f} txn/s)\n", kBatch,
             batched, txns);
  fmt::print("batched / concurrent:                    {:10.2f}x\n",
             concurrent > 0 ? batched / concurrent : 0.0);

  // Watch latency: one put at a time, each waited for at the callback.
  std::mutex mu;
  std::condition_variable cv;
  long received = -1;
  Clock::time_point received_at;
  auto watch = store.Watch({"/bench/lat", "", 0, false}, [&](WatchUpdate u) {
    const auto now = Clock::now();
    std::lock_guard lock(mu);
    for (const WatchEvent& e : u.events) received = std::stol(e.kv.value);
    received_at = now;
    cv.notify_all();
  });
  if (!watch.ok()) {
    fmt::print(stderr, "coord_bench: {}\n", watch.status().ToString());
    return 1;
  }
  std::vector<double> latencies_ms;
  for (long i = 0; i < config.latency_samples; ++i) {
    const auto sent = Clock::now();
    if (!store.Put({"/bench/lat", std::to_string(i), 0, false}).ok()) continue;
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(5), [&] { return received >= i; })) {
      fmt::print(stderr, "coord_bench: watch event {} not delivered within 5 s\n", i);
      return 1;
    }
    latencies_ms.push_back(Seconds(received_at - sent) * 1000);
  }
  fmt::print("watch latency put->callback:             p50 {:.2f} ms, p99 {:.2f} ms (n={})\n",
             Percentile(latencies_ms, 0.50), Percentile(latencies_ms, 0.99), latencies_ms.size());
  return 0;
}

}  // namespace
}  // namespace forest::coord

int main(int argc, char** argv) {
  forest::coord::Config config;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      config.phase = std::chrono::milliseconds(400);
      config.latency_samples = 100;
    } else {
      fmt::print(stderr, "usage: coord_bench [--quick]\n");
      return 2;
    }
  }
  return forest::coord::Run(config);
}
