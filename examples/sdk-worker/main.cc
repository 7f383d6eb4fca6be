// sdk-worker: a Forest worker whose jobs are functions of this program.
//
//   sdk-worker --etcd-endpoints 127.0.0.1:2379 --group example [--name NAME]
//
// Jobs of group `example` with target "example.hello" or "example.count"
// run here; Ctrl-C (or SIGTERM) drains and exits 0. Exits 1 when it cannot
// start (etcd unreachable, name taken), 2 on a bad command line.
#include <forest/worker.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace {

// Logs who it is and what it was given; fails when params say "fail".
forest::JobResult Hello(forest::JobContext& ctx) {
  ctx.log() << "hello from " << ctx.worker_name() << ": job " << ctx.job_id() << ", run "
            << ctx.execution_id() << ", attempt " << ctx.attempt() << ", trigger " << ctx.trigger();
  ctx.log() << "shard " << ctx.shard_index() << " of " << ctx.shard_total() << ", params '"
            << ctx.params() << "'";
  if (ctx.params() == "fail") return forest::JobResult::Failure("asked to fail", 3);
  return forest::JobResult::Success("said hello");
}

// Counts to the number in params (default 10), one a second, until killed
// or timed out: long work that stops when asked.
forest::JobResult Count(forest::JobContext& ctx) {
  const int to = ctx.params().empty() ? 10 : std::atoi(ctx.params().c_str());
  for (int i = 1; i <= to; ++i) {
    ctx.log() << i;
    if (ctx.wait_cancelled(std::chrono::seconds(1))) {
      return forest::JobResult::Failure("stopped at " + std::to_string(i));
    }
  }
  return forest::JobResult::Success("counted to " + std::to_string(to));
}

int Usage() {
  std::cerr << "usage: sdk-worker [--etcd-endpoints HOST:PORT[,...]] [--group GROUP]... "
               "[--name NAME] [--dial-timeout-ms N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  forest::WorkerOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string value = argv[++i];
    if (flag == "--etcd-endpoints") {
      options.etcd_endpoints.clear();
      for (size_t start = 0; start <= value.size();) {
        const size_t comma = std::min(value.find(',', start), value.size());
        options.etcd_endpoints.push_back(value.substr(start, comma - start));
        start = comma + 1;
      }
    } else if (flag == "--group") {
      options.groups.push_back(value);
    } else if (flag == "--name") {
      options.name = value;
    } else if (flag == "--dial-timeout-ms") {
      options.etcd_dial_timeout = std::chrono::milliseconds(std::atoi(value.c_str()));
    } else {
      return Usage();
    }
  }
  if (options.groups.empty()) options.groups = {"example"};
  options.drain_timeout = std::chrono::seconds(10);

  try {
    forest::Worker worker(options);
    worker.Handle("example.hello", Hello);
    worker.Handle("example.count", Count);
    worker.Start();
    std::cerr << "sdk-worker " << worker.name() << ": running; Ctrl-C stops\n";
    worker.Run();
    std::cerr << "sdk-worker " << worker.name() << ": stopped\n";
  } catch (const forest::Error& e) {
    std::cerr << "sdk-worker: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
