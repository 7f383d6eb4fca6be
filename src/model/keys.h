// The key layout under /forest: the original's keys (protocol.md) and
// Forest's additions, built and parsed in one place.
//
//   /forest/server/elect/leader                            leader node id (leased)
//   /forest/server/node/{node}                             node id (leased)
//   /forest/server/group/{group}                           GroupConf
//   /forest/server/conf/{job}                              JobConf
//   /forest/client/{group}/clients/{worker}                worker name (leased)
//   /forest/client/snapshot/{group}/{worker}/{id}          Assignment (JobSnapshot)
//   /forest/client/execute/snapshot/{group}/{worker}/{id}  ExecutionRecord
// Forest's:
//   /forest/server/cursor/{job}                            Cursor: schedule consumed up to
//   /forest/server/retry/{job}/{id}                        RetryIntent for run `id`
//   /forest/server/run/{job}/{request}                     RunRequest (manual / API run)
//   /forest/client/kill/{group}/{worker}/{id}              stop run `id` (value: reason)
//   /forest/worker/{group}/{worker}                        worker facts (leased; JSON)
//   /forest/worker/claim/{group}/{id}                      run `id` claimed (value: worker)
//
// auth/ keeps its own keys under /forest/auth/ (users, tokens, the cluster
// secret, logged-out sessions; see auth/auth.h): Parse does not know them.
//
// Records the leader writes for runs no worker took (no live worker) use
// kNoWorker as the worker segment; it is not a valid worker name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace forest::model::keys {

inline constexpr std::string_view kRoot = "/forest/";
inline constexpr std::string_view kConfPrefix = "/forest/server/conf/";
inline constexpr std::string_view kGroupPrefix = "/forest/server/group/";
inline constexpr std::string_view kNodePrefix = "/forest/server/node/";
// Ours: what a node tells about itself (JSON: httpAddress, version,
// startedAt, host, pid), written at each start, shown for registered nodes.
inline constexpr std::string_view kNodeInfoPrefix = "/forest/server/nodeinfo/";
inline constexpr std::string_view kCursorPrefix = "/forest/server/cursor/";
inline constexpr std::string_view kRetryPrefix = "/forest/server/retry/";
inline constexpr std::string_view kRunPrefix = "/forest/server/run/";
inline constexpr std::string_view kSnapshotPrefix = "/forest/client/snapshot/";
inline constexpr std::string_view kExecutePrefix = "/forest/client/execute/snapshot/";
inline constexpr std::string_view kKillPrefix = "/forest/client/kill/";
inline constexpr std::string_view kWorkerPrefix = "/forest/worker/";
inline constexpr std::string_view kClaimPrefix = "/forest/worker/claim/";
inline constexpr std::string_view kNoWorker = "~";

std::string Conf(std::string_view job_id);
std::string Group(std::string_view group);
std::string Node(std::string_view node_id);
std::string NodeInfo(std::string_view node_id);
std::string Cursor(std::string_view job_id);
std::string Retry(std::string_view job_id, std::string_view snapshot_id);
std::string Run(std::string_view job_id, std::string_view request_id);
std::string Client(std::string_view group, std::string_view worker);
std::string ClientPrefix(std::string_view group);  // every worker of the group
std::string Snapshot(std::string_view group, std::string_view worker, std::string_view id);
std::string SnapshotPrefix(std::string_view group, std::string_view worker);
std::string Execute(std::string_view group, std::string_view worker, std::string_view id);
std::string Kill(std::string_view group, std::string_view worker, std::string_view id);
// A worker's facts, under its registration's lease: while it exists the
// worker is alive, even when it has withdrawn its client key to drain.
std::string WorkerFacts(std::string_view group, std::string_view worker);
std::string Claim(std::string_view group, std::string_view id);

// What a key under /forest is. `a`, `b`, `c` are its name segments in the
// order of the builders above (e.g. Snapshot: group, worker, id).
struct Parsed {
  enum class Kind {
    kLeader,
    kNode,
    kGroup,
    kConf,
    kCursor,
    kRetry,
    kRun,
    kClient,
    kSnapshot,
    kExecute,
    kKill,
    kWorkerFacts,
    kClaim,
  };
  Kind kind;
  std::string_view a, b, c;
};
// nullopt for keys that are none of these (an empty segment, a prefix, a
// key outside the layout). The segments are views into `key`.
std::optional<Parsed> Parse(std::string_view key);

}  // namespace forest::model::keys
