#include "dispatch/router.h"

#include <algorithm>

#include "common/strings.h"

namespace forest::dispatch {
namespace {

// FNV-1a over both names (with a separator), then a 64-bit finalizer
// (splitmix64) so nearby names spread: stable across runs and platforms,
// which std::hash is not.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Fnv(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

uint64_t RendezvousScore(std::string_view job_id, std::string_view worker) {
  uint64_t h = Fnv(0xcbf29ce484222325ULL, job_id);
  h = Fnv(h ^ 0xff, worker);
  return Mix(h);
}

std::vector<size_t> Router::Candidates(std::span<const LiveWorker> workers,
                                       std::string_view avoid) const {
  std::vector<size_t> out;
  out.reserve(workers.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    if (avoid.empty() || workers[i].name != avoid) out.push_back(i);
  }
  if (out.empty()) {
    for (size_t i = 0; i < workers.size(); ++i) out.push_back(i);
  }
  return out;
}

size_t Router::NextRoundRobin(std::string_view job_id, size_t n) {
  uint64_t& count = round_robin_[ToAbsl(job_id)];
  return static_cast<size_t>(count++ % n);
}

void Router::Forget(std::string_view job_id) { round_robin_.erase(ToAbsl(job_id)); }

std::vector<Pick> Router::Route(model::Routing routing, std::string_view job_id,
                                std::span<const LiveWorker> workers, std::string_view avoid) {
  if (workers.empty()) return {};
  using model::Routing;
  if (routing == Routing::kBroadcast || routing == Routing::kShard) {
    std::vector<Pick> all;
    const int total = static_cast<int>(workers.size());
    for (size_t i = 0; i < workers.size(); ++i) {
      all.push_back(routing == Routing::kShard ? Pick{i, static_cast<int>(i), total} : Pick{i});
    }
    return all;
  }
  const std::vector<size_t> candidates = Candidates(workers, avoid);
  switch (routing) {
    case Routing::kRoundRobin:
      return {Pick{candidates[NextRoundRobin(job_id, candidates.size())]}};
    case Routing::kLeastBusy: {
      int fewest = workers[candidates.front()].running;
      for (size_t c : candidates) fewest = std::min(fewest, workers[c].running);
      std::vector<size_t> idle;
      for (size_t c : candidates) {
        if (workers[c].running == fewest) idle.push_back(c);
      }
      return {Pick{idle[NextRoundRobin(job_id, idle.size())]}};
    }
    case Routing::kConsistentHash: {
      size_t best = candidates.front();
      uint64_t best_score = RendezvousScore(job_id, workers[best].name);
      for (size_t c : candidates) {
        const uint64_t score = RendezvousScore(job_id, workers[c].name);
        if (score > best_score) {
          best = c;
          best_score = score;
        }
      }
      return {Pick{best}};
    }
    case Routing::kRandom:
    default: {
      std::uniform_int_distribution<size_t> pick(0, candidates.size() - 1);
      return {Pick{candidates[pick(rng_)]}};
    }
  }
}

}  // namespace forest::dispatch
