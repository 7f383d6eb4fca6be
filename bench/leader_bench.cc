// The scheduler leader's dispatch against a real single-member etcd started
// for the run (EtcdCluster: data dir under $TMPDIR or /tmp, fsync on, as etcd
// always does; --tmpfs puts it under /dev/shm instead). Prints one line per
// figure:
//
//   1. Throughput, in the same run:
//      - single-key puts/s from 16 concurrent callers (EtcdStore::Put, one
//        assignment-sized value each);
//      - fires/s committed by a Leader on a FakeClock: N jobs due every
//        second, one worker; each Tick dispatches N fires (an assignment and
//        a cursor update each, packed into fenced transactions of up to 128
//        operations, LeaderOptions::parallel_writes in flight);
//      - their ratio (target >= 2, thanks to batching).
//   2. Fire lag at 1,000 fires/s on the system clock: 1,000 jobs due every
//      second, the leader ticking when Tick() says; per fire, p50 and p99 of
//      (a) the Tick's return (every transaction committed) - the scheduled
//      second (all fires of one second share it: an upper bound for each),
//      and (b) the moment a watch on the assignments delivers the fire - the
//      scheduled second (what a worker would see). Target: p99 < 10 ms.
//
// Both parts also print the CPU used by this process and by etcd while the
// leader ticked, and the leader's conflicts and write errors (the run fails
// unless there are none and every fire was dispatched once).
//
// The leader is fed by hand (one Range + Load, no watch): the benchmark
// writes nothing the leader needs to see after that. Between ticks the
// assignments are deleted, outside the timed part, so etcd does not grow.
// A full run takes about 20 s; --quick (the CTest smoke test) about 3 s.
#include <dirent.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/time.h"
#include "coord/election.h"
#include "coord/etcd/etcd_store.h"
#include "coord/testing/etcd_cluster.h"
#include "model/job.h"
#include "model/keys.h"
#include "model/snapshot.h"
#include "scheduler/leader.h"

namespace forest::scheduler {
namespace {

namespace keys = model::keys;
using Steady = std::chrono::steady_clock;

constexpr int kConcurrentCallers = 16;
constexpr const char* kGroup = "g";
constexpr const char* kWorker = "w1";

struct Config {
  int jobs = 5000;                            // throughput: jobs, all due every second
  int ticks = 10;                             // throughput: timed ticks
  std::chrono::milliseconds put_phase{3000};  // baseline: measuring time
  int lag_jobs = 1000;                        // lag: fires per second
  int lag_seconds = 10;                       // lag: seconds measured
  bool tmpfs = false;
};

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5));
  return v[i];
}

// CPU seconds (user + system) used so far by this process.
double SelfCpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// The same for this process's etcd child (found under /proc by parent pid;
// 0 when it cannot be read).
double EtcdCpu() {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  double out = 0;
  const long ticks = sysconf(_SC_CLK_TCK);
  while (const dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream in(fmt::format("/proc/{}/stat", entry->d_name));
    std::string line;
    if (!std::getline(in, line) || line.find(" (etcd) ") == std::string::npos) continue;
    // After "pid (comm) ": state, ppid, ... utime, stime (fields 3, 4, 14, 15).
    std::vector<std::string> fields;
    size_t at = line.rfind(')') + 2;
    while (at < line.size()) {
      const size_t end = std::min(line.find(' ', at), line.size());
      fields.push_back(line.substr(at, end - at));
      at = end + 1;
    }
    if (fields.size() < 13 || std::stol(fields[1]) != long(getpid())) continue;
    out = double(std::stoll(fields[11]) + std::stoll(fields[12])) / double(ticks);
  }
  closedir(proc);
  return out;
}

// CPU used by both between Start() and Stop() (excluding the reading itself).
struct CpuMeter {
  double self = 0;
  double etcd = 0;
  double self_start = 0;
  double etcd_start = 0;
  void Start() {
    etcd_start = EtcdCpu();
    self_start = SelfCpu();
  }
  void Stop() {
    self += SelfCpu() - self_start;
    etcd += EtcdCpu() - etcd_start;
  }
};

[[noreturn]] void Die(std::string_view what, const absl::Status& status) {
  fmt::print(stderr, "leader_bench: {}: {}\n", what, status.ToString());
  std::exit(1);
}
template <typename T>
T Check(std::string_view what, absl::StatusOr<T> result) {
  if (!result.ok()) Die(what, result.status());
  return *std::move(result);
}

coord::RangeResponse RangeAll(coord::Store& store) {
  coord::RangeRequest range;
  range.key = std::string(keys::kRoot);
  range.range_end = coord::PrefixEnd(range.key);
  return Check("range /forest/", store.Range(range));
}

void DeletePrefix(coord::Store& store, std::string_view prefix) {
  coord::DeleteRequest del;
  del.key = std::string(prefix);
  del.range_end = coord::PrefixEnd(del.key);
  Check("delete " + del.key, store.Delete(del));
}

// `n` jobs `{prefix}{i}` in group g, due every second, and the worker w1,
// written in transactions of up to kMaxTxnOps puts.
void PutJobs(coord::Store& store, std::string_view prefix, int n) {
  std::vector<coord::PutRequest> puts;
  for (int i = 0; i < n; ++i) {
    model::Job job;
    job.id = fmt::format("{}{:05}", prefix, i);
    job.name = job.id;
    job.group = kGroup;
    job.cron = "* * * * * ?";
    job.target = "echo";
    if (const absl::Status s = job.Validate(); !s.ok()) Die("job", s);
    puts.push_back({keys::Conf(job.id), job.ToJson(), 0, false});
  }
  puts.push_back({keys::Client(kGroup, kWorker), kWorker, 0, false});
  for (size_t i = 0; i < puts.size(); i += coord::kMaxTxnOps) {
    coord::TxnRequest txn;
    for (size_t k = i; k < std::min(puts.size(), i + coord::kMaxTxnOps); ++k) {
      txn.success.push_back(puts[k]);
    }
    Check("put jobs", store.Txn(txn));
  }
}

// Creates the leader key (as a campaign would, without a lease) and answers
// its create revision: the fencing token.
coord::Revision TakeLeaderKey(coord::Store& store) {
  coord::TxnRequest txn;
  txn.compare.push_back(coord::Compare::Absent(std::string(coord::kLeaderKey)));
  txn.success.push_back(coord::PutRequest{std::string(coord::kLeaderKey), "bench", 0, false});
  const coord::TxnResponse response = Check("leader key", store.Txn(txn));
  if (!response.succeeded) Die("leader key", absl::AlreadyExistsError("taken"));
  return response.revision;
}

// A leader over everything under /forest/ now (the leader key included, so
// its view has reached the token), elected with `token`.
std::unique_ptr<Leader> MakeLeader(coord::Store& store, Clock& clock, coord::Revision token) {
  LeaderOptions options;
  options.clock = &clock;
  options.node_id = "bench";
  options.seed = 1;
  auto leader = std::make_unique<Leader>(store, options);
  leader->Load(RangeAll(store));
  leader->Elected(token);
  if (!leader->leading()) Die("leader", absl::InternalError("not leading after Elected"));
  return leader;
}

void PrintWriteStats(const LeaderStats& before, const LeaderStats& after) {
  fmt::print(
      "  leader: {} fires, {} assignments, {} txns, {} conflicts, {} write errors, "
      "{} fenced out, {} no-worker\n",
      after.fires - before.fires, after.assignments - before.assignments, after.txns - before.txns,
      after.txn_conflicts - before.txn_conflicts, after.write_errors - before.write_errors,
      after.fenced_out - before.fenced_out, after.no_worker - before.no_worker);
}

// --- 1. Throughput -----------------------------------------------------------

// Single-key puts/s from `kConcurrentCallers` threads for `phase`.
double ConcurrentPuts(coord::Store& store, std::chrono::milliseconds phase,
                      const std::string& value) {
  std::atomic<long> total{0};
  std::atomic<long> errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Steady::now();
  for (int c = 0; c < kConcurrentCallers; ++c) {
    threads.emplace_back([&, c] {
      for (long i = 0; !stop; ++i) {
        if (store.Put({fmt::format("/bench/put/{}/{}", c, i % 1000), value, 0, false}).ok()) {
          ++total;
        } else {
          ++errors;
        }
      }
    });
  }
  std::this_thread::sleep_for(phase);
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = Seconds(Steady::now() - start);
  if (errors > 0) fmt::print("  ({} failed puts)\n", errors.load());
  DeletePrefix(store, "/bench/");
  return double(total) / elapsed;
}

int Throughput(coord::Store& store, const Config& config) {
  DeletePrefix(store, keys::kRoot);
  PutJobs(store, "j", config.jobs);
  const coord::Revision token = TakeLeaderKey(store);
  FakeClock clock(ParseIso8601("2026-01-01T00:00:00Z", TimeZone::Utc()).value());
  std::unique_ptr<Leader> leader = MakeLeader(store, clock, token);

  leader->Tick();  // reconciles: writes the initial cursors
  // One untimed tick: warms the connections and shows an assignment's size.
  clock.Advance(std::chrono::seconds(1));
  leader->Tick();
  coord::RangeRequest one;
  one.key = std::string(keys::kSnapshotPrefix);
  one.range_end = coord::PrefixEnd(one.key);
  one.limit = 1;
  const coord::RangeResponse sample = Check("range assignments", store.Range(one));
  if (sample.kvs.empty() || leader->stats().fires != config.jobs) {
    fmt::print(stderr, "leader_bench: warm-up tick dispatched {} of {} fires ({} assignments)\n",
               leader->stats().fires, config.jobs, sample.count);
    return 1;
  }
  const size_t value_size = sample.kvs[0].value.size();
  DeletePrefix(store, keys::kSnapshotPrefix);

  const double puts = ConcurrentPuts(store, config.put_phase, std::string(value_size, 'v'));
  fmt::print("single-key puts/s ({} callers, {}-byte values): {:10.0f}\n", kConcurrentCallers,
             value_size, puts);

  const LeaderStats before = leader->stats();
  Steady::duration busy{};
  CpuMeter cpu;
  for (int t = 0; t < config.ticks; ++t) {
    clock.Advance(std::chrono::seconds(1));
    cpu.Start();
    const auto start = Steady::now();
    leader->Tick();
    busy += Steady::now() - start;
    cpu.Stop();
    DeletePrefix(store, keys::kSnapshotPrefix);  // untimed
  }
  const LeaderStats& after = leader->stats();
  const double fires = double(after.fires - before.fires) / Seconds(busy);
  fmt::print(
      "leader fires/s ({} jobs x {} ticks, {} txns in flight):  {:10.0f}  ({:.1f} ms per tick)\n",
      config.jobs, config.ticks, LeaderOptions{}.parallel_writes, fires,
      Seconds(busy) * 1000 / config.ticks);
  fmt::print("  CPU per tick: {:.1f} ms leader process, {:.1f} ms etcd ({} cores)\n",
             cpu.self * 1000 / config.ticks, cpu.etcd * 1000 / config.ticks,
             std::thread::hardware_concurrency());
  PrintWriteStats(before, after);
  fmt::print("leader fires/s / single puts/s ({} callers) = {:.1f} (target >= 2)\n",
             kConcurrentCallers, puts > 0 ? fires / puts : 0.0);
  const bool clean = after.txn_conflicts == before.txn_conflicts &&
                     after.write_errors == before.write_errors &&
                     after.fenced_out == before.fenced_out &&
                     after.fires - before.fires == int64_t(config.jobs) * config.ticks;
  if (!clean) fmt::print(stderr, "leader_bench: the leader did not dispatch cleanly\n");
  leader.reset();
  DeletePrefix(store, keys::kRoot);
  return clean ? 0 : 1;
}

// --- 2. Fire lag -------------------------------------------------------------

int Lag(coord::Store& store, const Config& config) {
  DeletePrefix(store, keys::kRoot);
  PutJobs(store, "lag", config.lag_jobs);
  const coord::Revision token = TakeLeaderKey(store);
  Clock& clock = SystemClock::Get();
  std::unique_ptr<Leader> leader = MakeLeader(store, clock, token);

  // When a watch on the assignments delivers each fire.
  std::mutex mu;
  std::vector<double> watch_lag_ms;
  coord::WatchRequest watch;
  watch.key = std::string(keys::kSnapshotPrefix);
  watch.range_end = coord::PrefixEnd(watch.key);
  watch.start_revision = leader->revision() + 1;
  std::atomic<long> bad_ids{0};
  auto handle = Check("watch", store.Watch(watch, [&](coord::WatchUpdate update) {
    const auto now = std::chrono::system_clock::now();
    std::lock_guard lock(mu);
    for (const coord::WatchEvent& e : update.events) {
      if (e.type != coord::WatchEvent::Type::kPut) continue;
      const auto parsed = keys::Parse(e.kv.key);
      const auto run = parsed ? model::ParseSnapshotId(parsed->c)
                              : absl::StatusOr<model::RunKey>(absl::InvalidArgumentError("key"));
      if (!run.ok()) {
        ++bad_ids;
        continue;
      }
      watch_lag_ms.push_back(
          std::chrono::duration<double, std::milli>(now - run->scheduled).count());
    }
  }));

  Time next = leader->Tick();  // reconciles: cursors at now, first fire next second
  if (next == Time::max()) Die("leader", absl::InternalError("nothing planned"));
  std::vector<double> tick_lag_ms;   // per fire: Tick returned - scheduled
  std::vector<double> tick_work_ms;  // per tick: Tick returned - Tick called
  std::vector<double> wake_ms;       // per tick: Tick called - scheduled
  const LeaderStats before = leader->stats();
  CpuMeter cpu;
  for (int s = 0; s < config.lag_seconds; ++s) {
    const Time scheduled = next;
    cpu.Start();  // before the sleep: reading the meter takes time
    clock.SleepUntil(scheduled);
    const auto called = std::chrono::system_clock::now();
    const int64_t fired = leader->stats().fires;
    next = leader->Tick();
    const auto returned = std::chrono::system_clock::now();
    cpu.Stop();
    const double lag = std::chrono::duration<double, std::milli>(returned - scheduled).count();
    tick_lag_ms.insert(tick_lag_ms.end(), size_t(leader->stats().fires - fired), lag);
    tick_work_ms.push_back(std::chrono::duration<double, std::milli>(returned - called).count());
    wake_ms.push_back(std::chrono::duration<double, std::milli>(called - scheduled).count());
    DeletePrefix(store, keys::kSnapshotPrefix);  // untimed: the next fire is ~1 s away
  }
  const LeaderStats after = leader->stats();
  // Let the watch deliver the last fires.
  const size_t expected = size_t(after.fires - before.fires);
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mu);
      if (watch_lag_ms.size() >= expected) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  handle.reset();
  leader.reset();

  fmt::print("fire lag, {} fires/s for {} s on the system clock (target p99 < 10 ms):\n",
             config.lag_jobs, config.lag_seconds);
  fmt::print("  Tick returned - scheduled, per fire:    p50 {:6.2f} ms, p99 {:6.2f} ms (n={})\n",
             Percentile(tick_lag_ms, 0.50), Percentile(tick_lag_ms, 0.99), tick_lag_ms.size());
  std::lock_guard lock(mu);
  fmt::print("  watch delivered - scheduled, per fire:  p50 {:6.2f} ms, p99 {:6.2f} ms (n={})\n",
             Percentile(watch_lag_ms, 0.50), Percentile(watch_lag_ms, 0.99), watch_lag_ms.size());
  fmt::print(
      "  per tick: woken {:.2f} ms after the second (p50; max {:.2f}), Tick took {:.2f} ms "
      "(p50; max {:.2f})\n",
      Percentile(wake_ms, 0.5), Percentile(wake_ms, 1.0), Percentile(tick_work_ms, 0.5),
      Percentile(tick_work_ms, 1.0));
  fmt::print("  CPU per second: {:.1f} ms leader process, {:.1f} ms etcd ({} cores)\n",
             cpu.self * 1000 / config.lag_seconds, cpu.etcd * 1000 / config.lag_seconds,
             std::thread::hardware_concurrency());
  PrintWriteStats(before, after);
  const bool clean =
      after.txn_conflicts == before.txn_conflicts && after.write_errors == before.write_errors &&
      after.fenced_out == before.fenced_out && bad_ids == 0 && watch_lag_ms.size() == expected &&
      expected == size_t(config.lag_jobs) * size_t(config.lag_seconds);
  if (!clean) fmt::print(stderr, "leader_bench: the leader did not dispatch cleanly\n");
  DeletePrefix(store, keys::kRoot);
  return clean ? 0 : 1;
}

int Run(const Config& config) {
  spdlog::set_level(spdlog::level::warn);             // not the leader's "elected" lines
  if (config.tmpfs) setenv("TMPDIR", "/dev/shm", 1);  // EtcdCluster's data dir parent
  auto cluster = coord::testing::EtcdCluster::Start(1);
  if (!cluster.ok()) Die("cannot start etcd", cluster.status());
  coord::EtcdStoreOptions options;
  options.endpoints = (*cluster)->endpoints();
  std::unique_ptr<coord::EtcdStore> store = Check("connect", coord::EtcdStore::Connect(options));
  const char* dir = std::getenv("TMPDIR");
  fmt::print(
      "leader_bench: Leader + EtcdStore -> etcd 3.4, one member on 127.0.0.1, data dir under {} "
      "(fsync on)\n",
      dir != nullptr && *dir != '\0' ? dir : "/tmp");
  int rc = Throughput(*store, config);
  rc = Lag(*store, config) != 0 ? 1 : rc;
  return rc;
}

}  // namespace
}  // namespace forest::scheduler

int main(int argc, char** argv) {
  forest::scheduler::Config config;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      config.jobs = 500;
      config.ticks = 2;
      config.put_phase = std::chrono::milliseconds(300);
      config.lag_jobs = 100;
      config.lag_seconds = 2;
    } else if (std::strcmp(argv[i], "--tmpfs") == 0) {
      config.tmpfs = true;
    } else {
      fmt::print(stderr, "usage: leader_bench [--quick] [--tmpfs]\n");
      return 2;
    }
  }
  return forest::scheduler::Run(config);
}
