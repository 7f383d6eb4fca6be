// Routing: which live worker(s) of a group run one fire of a job.
//
//   random           one worker, uniformly at random (the original's rule)
//   round_robin      one worker, cycling per job through the group in name order
//   least_busy       one worker with the fewest running executions (ties: the
//                    next in the job's round-robin order, so load spreads)
//   consistent_hash  one worker chosen by rendezvous hashing of (job id,
//                    worker name): stable while the group's members are, and
//                    when one joins or leaves only the jobs it wins or held move
//   broadcast        every worker
//   shard            every worker, each with its shard index and the total
//
// `avoid` (a worker name, e.g. where the previous attempt failed) is passed
// over by the single-worker strategies when another worker is live.
//
// Not thread-safe (the round-robin positions are state): the leader loop owns it.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/job.h"

namespace forest::dispatch {

struct LiveWorker {
  std::string name;
  int running = 0;  // executions it is running now
};

struct Pick {
  size_t worker;  // index into the `workers` span
  int shard_index = 0;
  int shard_total = 1;
};

class Router {
 public:
  explicit Router(uint64_t seed = std::random_device{}()) : rng_(seed) {}

  // `workers`: the group's live workers, sorted by name, no duplicates.
  // Empty when there is no worker (the caller records "no live worker").
  std::vector<Pick> Route(model::Routing routing, std::string_view job_id,
                          std::span<const LiveWorker> workers, std::string_view avoid = {});

  // Forgets a job's round-robin position (the job was deleted).
  void Forget(std::string_view job_id);

 private:
  // The candidates: all workers but `avoid`, unless it is the only one.
  std::vector<size_t> Candidates(std::span<const LiveWorker> workers, std::string_view avoid) const;
  size_t NextRoundRobin(std::string_view job_id, size_t n);

  std::mt19937_64 rng_;
  absl::flat_hash_map<std::string, uint64_t> round_robin_;  // job id -> fires routed
};

// The rendezvous score of (job, worker): the highest score wins.
uint64_t RendezvousScore(std::string_view job_id, std::string_view worker);

}  // namespace forest::dispatch
