// Test support for the Leader's logic tests: an embedded store on a fake
// clock, nodes fed by real watches, leadership changes made by hand, and
// helpers to write jobs and workers and to read what was dispatched.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "coord/election.h"
#include "coord/embedded/embedded_store.h"
#include "coord/testing/watch_recorder.h"
#include "model/job.h"
#include "model/keys.h"
#include "model/snapshot.h"
#include "scheduler/leader.h"

namespace forest::scheduler::testing {

inline Time At(std::string_view text) { return ParseIso8601(text, TimeZone::Utc()).value(); }

class LeaderHarness {
 public:
  struct Node {
    std::string id;
    std::unique_ptr<Leader> leader;
    std::mutex mu;
    std::vector<coord::WatchEvent> queue;
    std::unique_ptr<coord::WatchHandle> watch;
  };

  explicit LeaderHarness(Time start = At("2026-01-01T00:00:00Z")) : clock_(start) {
    coord::EmbeddedStoreOptions options;
    options.clock = &clock_;
    store_ = coord::EmbeddedStore::Open(options).value();
    // Everything dispatched, in order, from the beginning.
    coord::WatchRequest all;
    all.key = std::string(model::keys::kRoot);
    all.range_end = coord::PrefixEnd(all.key);
    all.start_revision = 1;
    history_ = store_->Watch(all, recorder_.Callback()).value();
  }
  ~LeaderHarness() {
    for (auto& node : nodes_) node->watch.reset();
    history_.reset();
  }

  FakeClock& clock() { return clock_; }
  coord::EmbeddedStore& store() { return *store_; }

  Node& AddNode(std::string id, LeaderOptions options = {}) {
    auto node = std::make_unique<Node>();
    node->id = id;
    options.clock = &clock_;
    options.node_id = id;
    if (options.seed == 0) options.seed = 42 + nodes_.size();
    node->leader = std::make_unique<Leader>(*store_, options);
    coord::RangeRequest range;
    range.key = std::string(model::keys::kRoot);
    range.range_end = coord::PrefixEnd(range.key);
    const coord::RangeResponse snapshot = store_->Range(range).value();
    node->leader->Load(snapshot);
    coord::WatchRequest watch;
    watch.key = range.key;
    watch.range_end = range.range_end;
    watch.start_revision = snapshot.revision + 1;
    Node* raw = node.get();
    node->watch = store_
                      ->Watch(watch,
                              [raw](coord::WatchUpdate update) {
                                std::lock_guard lock(raw->mu);
                                for (auto& e : update.events) raw->queue.push_back(std::move(e));
                              })
                      .value();
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  }

  coord::Revision StoreRevision() {
    coord::RangeRequest r;
    r.key = "/";
    r.count_only = true;
    return store_->Range(r).value().revision;
  }

  // Feeds the node every event up to the store's current revision.
  void Sync(Node& node) {
    const coord::Revision target = StoreRevision();
    ASSERT_TRUE(coord::testing::WaitUntil([&] {
      std::lock_guard lock(node.mu);
      return node.leader->revision() >= target ||
             (!node.queue.empty() && node.queue.back().kv.mod_revision >= target);
    })) << node.id << " never saw revision " << target;
    std::vector<coord::WatchEvent> events;
    {
      std::lock_guard lock(node.mu);
      events.swap(node.queue);
    }
    node.leader->Apply(events);
  }

  // Makes `node` the leader (deleting whoever's key is there, without telling
  // the old leader) and answers its token.
  coord::Revision Elect(Node& node) {
    Delete(std::string(coord::kLeaderKey));
    coord::TxnRequest txn;
    txn.compare.push_back(coord::Compare::Absent(std::string(coord::kLeaderKey)));
    txn.success.push_back(coord::PutRequest{std::string(coord::kLeaderKey), node.id});
    const coord::TxnResponse response = store_->Txn(txn).value();
    EXPECT_TRUE(response.succeeded);
    node.leader->Elected(response.revision);
    return response.revision;
  }

  // Sync, then Tick.
  Time Step(Node& node) {
    Sync(node);
    return node.leader->Tick();
  }
  // Advances the clock by `d` in steps of at most `step`, ticking `node`.
  void Run(Node& node, Millis d, Millis step = Millis(250)) {
    const Time end = clock_.Now() + d;
    while (clock_.Now() < end) {
      clock_.Advance(std::min(step, Millis((end - clock_.Now()).count())));
      Step(node);
    }
    Step(node);
  }

  void Delete(std::string key) {
    coord::DeleteRequest request;
    request.key = std::move(key);
    store_->Delete(request).value();
  }

  // The usual start: node "a" with `options`, workers in group "g", the job,
  // "a" elected and through its first tick (which starts the job's plan).
  Node& Lead(const model::Job& job, std::vector<std::string> workers,
             LeaderOptions options = {}) {
    Node& a = AddNode("a", std::move(options));
    for (const std::string& w : workers) AddWorker("g", w);
    PutJob(job);
    Elect(a);
    Step(a);
    return a;
  }

  void PutJob(const model::Job& job) {
    ASSERT_TRUE(job.Validate().ok()) << job.Validate();
    store_->Put({model::keys::Conf(job.id), job.ToJson()}).value();
  }
  void AddWorker(std::string_view group, std::string_view name) {
    store_->Put({model::keys::Client(group, name), std::string(name)}).value();
  }
  void RemoveWorker(std::string_view group, std::string_view name) {
    Delete(model::keys::Client(group, name));
  }

  // Every assignment write (put with a new create) so far, in order.
  struct Dispatch {
    std::string key;
    model::Assignment assignment;
    coord::Revision revision;
  };
  std::vector<Dispatch> Dispatches() {
    WaitForHistory();
    std::vector<Dispatch> out;
    for (const coord::WatchEvent& e : recorder_.events()) {
      if (e.type != coord::WatchEvent::Type::kPut ||
          !e.kv.key.starts_with(model::keys::kSnapshotPrefix)) {
        continue;
      }
      out.push_back({e.kv.key, model::Assignment::FromJson(e.kv.value).value(), e.kv.mod_revision});
    }
    return out;
  }
  // Current values under a prefix.
  std::vector<coord::KeyValue> Keys(std::string_view prefix) {
    coord::RangeRequest r;
    r.key = std::string(prefix);
    r.range_end = coord::PrefixEnd(r.key);
    return store_->Range(r).value().kvs;
  }
  void WaitForHistory() {
    const coord::Revision target = StoreRevision();
    ASSERT_TRUE(recorder_.WaitForRevision(target) || target == 0);
  }

  static model::Job MakeJob(std::string id, std::string cron, std::string group = "g") {
    model::Job job;
    job.id = id;
    job.name = id;
    job.group = std::move(group);
    job.cron = std::move(cron);
    job.target = "echo";
    return job;
  }

 private:
  FakeClock clock_;
  std::unique_ptr<coord::EmbeddedStore> store_;
  coord::testing::WatchRecorder recorder_;
  std::unique_ptr<coord::WatchHandle> history_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace forest::scheduler::testing
