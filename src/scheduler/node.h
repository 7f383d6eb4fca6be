// A scheduler node: the threads around the Leader. It registers the node
// under /forest/server/node/{id} with a kept-alive lease, keeps the Leader's
// view warm (one range of /forest/ at revision R, one watch from R + 1;
// a compacted watch reloads), campaigns for leadership through
// coord::Election, and runs the Leader's Tick loop on a thread of its own,
// waking at the next due time or when something changed.
//
// Stop() (or the destructor) resigns: the lease is revoked, so another node
// takes over at once instead of after the TTL.
//
// Threads: Start returns once the node is registered and its view loaded;
// the loop, watch and election threads are the node's. Public methods are
// thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "coord/store.h"
#include "scheduler/leader.h"

namespace forest::scheduler {

struct NodeOptions {
  LeaderOptions leader;  // leader.node_id is the node's id (required)
  // TTL of the node's lease and of its leadership.
  std::chrono::seconds lease_ttl{5};
  // A leader steps down this long before its lease can expire on the server.
  std::chrono::milliseconds safety_margin{1000};
  // Told on the loop thread when this node starts leading (the token) and
  // when it stops (nullopt): for the leader's other duties (the collector).
  std::function<void(std::optional<coord::Revision> token)> on_leadership;
};

struct NodeStatus {
  std::string node_id;
  bool leading = false;
  std::optional<std::string> leader;  // the leader's id as last seen
  coord::Revision revision = 0;       // how far the view has got
  size_t planned = 0;                 // jobs in the plan table (leader only)
  LeaderStats stats;
};

class Node {
 public:
  // `store` must outlive the node. InvalidArgument without a node id;
  // AlreadyExists when a live node holds the same id; store errors as they come.
  static absl::StatusOr<std::unique_ptr<Node>> Start(coord::Store& store, NodeOptions options);
  ~Node();

  // Resigns and stops every thread. Idempotent.
  void Stop();

  NodeStatus status() const;
  // The next planned fire of a job while this node leads.
  std::optional<Time> NextFire(std::string_view job_id) const;

 private:
  class Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::scheduler
