// The scheduler node's plumbing: registration under /forest/server/node/,
// one leader among several nodes, fast handover on Stop, the view following
// the store, re-registration after a lost node lease. On the embedded store,
// and one election on a real etcd. The leader's logic has its own tests
// (leader_test.cc).
#include "scheduler/node.h"

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <thread>

#include "coord/embedded/embedded_store.h"
#include "coord/etcd/etcd_store.h"
#include "coord/testing/etcd_cluster.h"

namespace forest::scheduler {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

NodeOptions Options(std::string id) {
  NodeOptions o;
  o.leader.node_id = std::move(id);
  o.lease_ttl = seconds(2);
  o.safety_margin = milliseconds(500);
  return o;
}

// Polls `done` every 10 ms until it holds or `limit` passes.
bool WaitFor(const std::function<bool()>& done, milliseconds limit = milliseconds(10000)) {
  const auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

std::optional<coord::KeyValue> Get(coord::Store& store, const std::string& key) {
  auto r = store.Range(coord::RangeRequest{key, "", 0, 0, false, false});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || r->kvs.empty()) return std::nullopt;
  return r->kvs.front();
}

std::unique_ptr<coord::EmbeddedStore> OpenEmbedded() {
  auto store = coord::EmbeddedStore::Open({});
  EXPECT_TRUE(store.ok()) << store.status();
  return *std::move(store);
}

// The one node of `nodes` that leads, once exactly one does.
int WaitForOneLeader(const std::vector<Node*>& nodes) {
  int leader = -1;
  const bool one = WaitFor([&] {
    int count = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i]->status().leading) {
        ++count;
        leader = static_cast<int>(i);
      }
    }
    return count == 1;
  });
  return one ? leader : -1;
}

// Forwards to a real store, counts the reads and watches of /forest/, and
// lets a test end the node's current view watch as the store would.
class ProxyStore final : public coord::Store {
 public:
  explicit ProxyStore(coord::Store& inner) : inner_(inner) {}

  int root_ranges() {
    std::lock_guard lock(mu_);
    return root_ranges_;
  }
  int root_watches() {
    std::lock_guard lock(mu_);
    return root_watches_;
  }
  // Delivers `update` to the latest watch of /forest/ (from the test's
  // thread: the node only queues it).
  void EndRootWatch(coord::WatchUpdate update) {
    std::function<void(coord::WatchUpdate)> callback;
    {
      std::lock_guard lock(mu_);
      callback = root_callback_;
    }
    ASSERT_TRUE(callback);
    callback(std::move(update));
  }

  absl::StatusOr<coord::RangeResponse> Range(const coord::RangeRequest& r) override {
    if (r.key == "/forest/" && !r.range_end.empty()) {
      std::lock_guard lock(mu_);
      ++root_ranges_;
    }
    return inner_.Range(r);
  }
  absl::StatusOr<coord::PutResponse> Put(const coord::PutRequest& r) override {
    return inner_.Put(r);
  }
  absl::StatusOr<coord::DeleteResponse> Delete(const coord::DeleteRequest& r) override {
    return inner_.Delete(r);
  }
  absl::StatusOr<coord::TxnResponse> Txn(const coord::TxnRequest& r) override {
    return inner_.Txn(r);
  }
  absl::Status Compact(coord::Revision r) override { return inner_.Compact(r); }
  absl::StatusOr<coord::LeaseGrant> GrantLease(seconds ttl) override {
    return inner_.GrantLease(ttl);
  }
  absl::Status RevokeLease(coord::LeaseId id) override { return inner_.RevokeLease(id); }
  absl::StatusOr<coord::LeaseStatus> LeaseTimeToLive(coord::LeaseId id, bool keys) override {
    return inner_.LeaseTimeToLive(id, keys);
  }
  absl::StatusOr<std::unique_ptr<coord::LeaseKeeper>> KeepAlive(
      coord::LeaseId id, coord::KeepAliveOptions o) override {
    return inner_.KeepAlive(id, std::move(o));
  }
  absl::StatusOr<std::unique_ptr<coord::WatchHandle>> Watch(
      const coord::WatchRequest& r, std::function<void(coord::WatchUpdate)> callback) override {
    if (r.key == "/forest/" && !r.range_end.empty()) {
      std::lock_guard lock(mu_);
      ++root_watches_;
      root_callback_ = callback;
    }
    return inner_.Watch(r, std::move(callback));
  }

 private:
  coord::Store& inner_;
  std::mutex mu_;
  int root_ranges_ = 0;
  int root_watches_ = 0;
  std::function<void(coord::WatchUpdate)> root_callback_;
};

TEST(NodeTest, RejectsMissingNodeId) {
  auto store = OpenEmbedded();
  auto node = Node::Start(*store, Options(""));
  EXPECT_EQ(node.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(NodeTest, TwoNodesRegisterAndExactlyOneLeads) {
  auto store = OpenEmbedded();
  auto a = Node::Start(*store, Options("n1"));
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Node::Start(*store, Options("n2"));
  ASSERT_TRUE(b.ok()) << b.status();

  for (const std::string id : {"n1", "n2"}) {
    const auto kv = Get(*store, "/forest/server/node/" + id);
    ASSERT_TRUE(kv.has_value()) << id;
    EXPECT_EQ(kv->value, id);
    EXPECT_NE(kv->lease, 0) << "a node key lives with its node's lease";
  }

  const int leader = WaitForOneLeader({a->get(), b->get()});
  ASSERT_GE(leader, 0) << "no single leader";
  const std::string leader_id = leader == 0 ? "n1" : "n2";
  Node& follower = leader == 0 ? **b : **a;
  EXPECT_TRUE(WaitFor([&] { return follower.status().leader == leader_id; }));
  EXPECT_EQ(follower.status().node_id, leader == 0 ? "n2" : "n1");
  const auto key = Get(*store, "/forest/server/elect/leader");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->value, leader_id);

  // Stays that way: nobody else takes over while the leader lives.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE((leader == 0 ? *a : *b)->status().leading);
  EXPECT_FALSE(follower.status().leading);
}

TEST(NodeTest, StoppingTheLeaderHandsOverWithinASecond) {
  auto store = OpenEmbedded();
  auto a = Node::Start(*store, Options("n1"));
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Node::Start(*store, Options("n2"));
  ASSERT_TRUE(b.ok()) << b.status();
  const int leader = WaitForOneLeader({a->get(), b->get()});
  ASSERT_GE(leader, 0);
  Node& old_leader = leader == 0 ? **a : **b;
  Node& follower = leader == 0 ? **b : **a;
  const std::string old_id = old_leader.status().node_id;

  const auto stopped = steady_clock::now();
  old_leader.Stop();
  EXPECT_FALSE(old_leader.status().leading);
  ASSERT_TRUE(WaitFor([&] { return follower.status().leading; }, milliseconds(1000)))
      << "the follower did not take over within 1 s of a graceful stop";
  EXPECT_LT(steady_clock::now() - stopped, milliseconds(1000));
  // Stop revoked the stopped node's lease: its key is gone at once.
  EXPECT_FALSE(Get(*store, "/forest/server/node/" + old_id).has_value());
  old_leader.Stop();  // idempotent
}

TEST(NodeTest, DuplicateNodeIdIsAlreadyExists) {
  auto store = OpenEmbedded();
  auto first = Node::Start(*store, Options("n1"));
  ASSERT_TRUE(first.ok()) << first.status();
  const auto held = Get(*store, "/forest/server/node/n1");
  ASSERT_TRUE(held.has_value());

  auto second = Node::Start(*store, Options("n1"));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists) << second.status();
  EXPECT_NE(std::string(second.status().message()).find("node id n1 is held by a live node"),
            std::string::npos)
      << second.status();
  // The failed start left the live node's registration alone.
  const auto still = Get(*store, "/forest/server/node/n1");
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->lease, held->lease);

  // Once the first node is gone, the id is free again.
  (*first)->Stop();
  auto third = Node::Start(*store, Options("n1"));
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(NodeTest, ViewFollowsTheStore) {
  auto store = OpenEmbedded();
  auto node = Node::Start(*store, Options("n1"));
  ASSERT_TRUE(node.ok()) << node.status();
  auto put = store->Put(coord::PutRequest{"/forest/server/group/g1",
                                          R"({"name":"g1","remark":""})", 0, false});
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(WaitFor([&] { return (*node)->status().revision >= put->revision; }))
      << "view at " << (*node)->status().revision << ", want " << put->revision;
}

TEST(NodeTest, ReloadsTheViewWhenItsWatchIsCompacted) {
  auto store = OpenEmbedded();
  ProxyStore proxy(*store);
  auto node = Node::Start(proxy, Options("n1"));
  ASSERT_TRUE(node.ok()) << node.status();
  ASSERT_EQ(proxy.root_ranges(), 1);
  ASSERT_EQ(proxy.root_watches(), 1);

  coord::WatchUpdate compacted;
  compacted.compact_revision = 2;
  compacted.ended = true;
  compacted.status = absl::OutOfRangeError("compacted");
  proxy.EndRootWatch(std::move(compacted));
  EXPECT_TRUE(WaitFor([&] { return proxy.root_ranges() == 2 && proxy.root_watches() == 2; }))
      << "ranges " << proxy.root_ranges() << ", watches " << proxy.root_watches();

  // The new watch feeds the view.
  auto put = store->Put(coord::PutRequest{"/forest/server/group/g1",
                                          R"({"name":"g1","remark":""})", 0, false});
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(WaitFor([&] { return (*node)->status().revision >= put->revision; }));
}

TEST(NodeTest, AWatchCancelledByAClosingStoreIsNotReloaded) {
  auto store = OpenEmbedded();
  ProxyStore proxy(*store);
  auto node = Node::Start(proxy, Options("n1"));
  ASSERT_TRUE(node.ok()) << node.status();
  coord::WatchUpdate cancelled;
  cancelled.ended = true;
  cancelled.status = absl::CancelledError("store closing");
  proxy.EndRootWatch(std::move(cancelled));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(proxy.root_ranges(), 1);
  EXPECT_EQ(proxy.root_watches(), 1);
}

TEST(NodeTest, RegistersAgainWhenTheNodeLeaseIsLost) {
  auto store = OpenEmbedded();
  auto node = Node::Start(*store, Options("n1"));
  ASSERT_TRUE(node.ok()) << node.status();
  const auto before = Get(*store, "/forest/server/node/n1");
  ASSERT_TRUE(before.has_value());

  // The lease goes behind the node's back (as when the server expires it).
  ASSERT_TRUE(store->RevokeLease(before->lease).ok());
  EXPECT_TRUE(WaitFor([&] {
    const auto now = Get(*store, "/forest/server/node/n1");
    return now.has_value() && now->lease != before->lease;
  })) << "the node did not register again with a fresh lease";
}

TEST(NodeTest, TwoNodesElectOneLeaderOnEtcd) {
  auto cluster = coord::testing::EtcdCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  coord::EtcdStoreOptions eo;
  eo.endpoints = (*cluster)->endpoints();
  auto store = coord::EtcdStore::Connect(eo);
  ASSERT_TRUE(store.ok()) << store.status();

  auto a = Node::Start(**store, Options("n1"));
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Node::Start(**store, Options("n2"));
  ASSERT_TRUE(b.ok()) << b.status();
  const int leader = WaitForOneLeader({a->get(), b->get()});
  ASSERT_GE(leader, 0) << "no single leader";
  const auto key = Get(**store, "/forest/server/elect/leader");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->value, leader == 0 ? "n1" : "n2");
  EXPECT_TRUE(Get(**store, "/forest/server/node/n1").has_value());
  EXPECT_TRUE(Get(**store, "/forest/server/node/n2").has_value());
  (*a)->Stop();
  (*b)->Stop();
}

}  // namespace
}  // namespace forest::scheduler
