// One conformance suite, every backend: the embedded store (on a fake clock)
// and a real etcd process started for the test. What passes here is what the
// scheduler may rely on (store.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "coord/embedded/embedded_store.h"
#include "coord/etcd/etcd_store.h"
#include "coord/store.h"
#include "coord/testing/etcd_cluster.h"
#include "coord/testing/watch_recorder.h"

namespace forest::coord {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Result = Compare::Result;

// A store and whatever makes it run, plus the way time passes for its leases.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Store& store() = 0;
  // Lets `d` pass for lease expiry and keep-alives.
  virtual void PassTime(milliseconds d) = 0;
};

class EmbeddedBackend final : public Backend {
 public:
  EmbeddedBackend() {
    EmbeddedStoreOptions options;
    options.clock = &clock_;
    options.expiry_poll = milliseconds(5);
    store_ = EmbeddedStore::Open(options).value();
  }
  Store& store() override { return *store_; }
  void PassTime(milliseconds d) override {
    // Small steps with real pauses: keep-alive threads poll real time.
    for (milliseconds done{0}; done < d; done += milliseconds(100)) {
      clock_.Advance(milliseconds(100));
      std::this_thread::sleep_for(milliseconds(3));
      store_->ExpireLeases();
    }
    std::this_thread::sleep_for(milliseconds(20));
  }

 private:
  FakeClock clock_{Time(Millis(1767225600000))};
  std::unique_ptr<EmbeddedStore> store_;
};

class EtcdBackend final : public Backend {
 public:
  EtcdBackend() {
    cluster_ = testing::EtcdCluster::Start(1).value();
    EtcdStoreOptions options;
    options.endpoints = cluster_->endpoints();
    store_ = EtcdStore::Connect(options).value();
  }
  Store& store() override { return *store_; }
  void PassTime(milliseconds d) override { std::this_thread::sleep_for(d); }

 private:
  std::unique_ptr<testing::EtcdCluster> cluster_;
  std::unique_ptr<EtcdStore> store_;
};

using BackendFactory = std::unique_ptr<Backend> (*)();

class StoreConformanceTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override { backend_ = GetParam()(); }
  Store& store() { return backend_->store(); }

  Revision Put(const std::string& key, const std::string& value, LeaseId lease = 0) {
    return store().Put({key, value, lease, false}).value().revision;
  }
  std::optional<KeyValue> Get(const std::string& key) {
    auto r = store().Range({key, "", 0, 0, false, false}).value();
    if (r.kvs.empty()) return std::nullopt;
    return r.kvs.front();
  }
  Revision Current() { return store().Range({"/", "", 0, 0, false, true}).value().revision; }
  TxnResponse Txn(std::vector<Compare> compare, std::vector<Op> success,
                  std::vector<Op> failure = {}) {
    return store().Txn({std::move(compare), std::move(success), std::move(failure)}).value();
  }

  std::unique_ptr<Backend> backend_;
};

// --- keys and revisions ----------------------------------------------------

TEST_P(StoreConformanceTest, PutCreatesAndOverwriteKeepsCreateRevision) {
  const Revision r1 = Put("/k", "v1");
  EXPECT_GT(r1, 0);
  KeyValue kv = Get("/k").value();
  EXPECT_EQ(kv, (KeyValue{"/k", "v1", r1, r1, 1, 0}));
  const Revision r2 = Put("/k", "v2");
  EXPECT_EQ(r2, r1 + 1);
  kv = Get("/k").value();
  EXPECT_EQ(kv, (KeyValue{"/k", "v2", r1, r2, 2, 0}));
}

TEST_P(StoreConformanceTest, PutReturnsThePreviousValueWhenAsked) {
  EXPECT_FALSE(store().Put({"/k", "v1", 0, true}).value().prev_kv.has_value());
  const auto r = store().Put({"/k", "v2", 0, true}).value();
  ASSERT_TRUE(r.prev_kv.has_value());
  EXPECT_EQ(r.prev_kv->value, "v1");
  EXPECT_EQ(r.prev_kv->version, 1);
}

TEST_P(StoreConformanceTest, BinaryKeysAndValuesRoundTrip) {
  const std::string key("/bin/\x00\x01\xff", 8);
  const std::string value("\x00zero\x00", 6);
  Put(key, value);
  EXPECT_EQ(Get(key)->value, value);
}

TEST_P(StoreConformanceTest, MissingKeyReadsEmpty) {
  const auto r = store().Range({"/nothing", "", 0, 0, false, false}).value();
  EXPECT_TRUE(r.kvs.empty());
  EXPECT_EQ(r.count, 0);
  EXPECT_FALSE(r.more);
}

TEST_P(StoreConformanceTest, PrefixRangeIsSortedAndHonoursLimit) {
  Put("/p/b", "2");
  Put("/p/a", "1");
  Put("/p/c", "3");
  Put("/q", "other");
  auto r = store().Range({"/p/", PrefixEnd("/p/"), 0, 0, false, false}).value();
  ASSERT_EQ(r.kvs.size(), 3u);
  EXPECT_EQ(r.kvs[0].key, "/p/a");
  EXPECT_EQ(r.kvs[2].key, "/p/c");
  EXPECT_EQ(r.count, 3);
  EXPECT_FALSE(r.more);

  r = store().Range({"/p/", PrefixEnd("/p/"), 2, 0, false, false}).value();
  ASSERT_EQ(r.kvs.size(), 2u);
  EXPECT_EQ(r.kvs[1].key, "/p/b");
  EXPECT_EQ(r.count, 3);
  EXPECT_TRUE(r.more);

  // From a key to the end of the key space.
  r = store().Range({"/p/b", std::string(1, '\0'), 0, 0, false, false}).value();
  ASSERT_EQ(r.kvs.size(), 3u);
  EXPECT_EQ(r.kvs[2].key, "/q");
}

TEST_P(StoreConformanceTest, EmptyKeyWithARangeStartsAtTheFirstKey) {
  Put("/a", "1");
  Put("/b", "2");
  auto r = store().Range({"", std::string(1, '\0'), 0, 0, false, false}).value();
  EXPECT_EQ(r.count, 2);
  r = store().Range({"", PrefixEnd(""), 0, 0, false, false}).value();
  EXPECT_EQ(r.count, 2);
  r = store().Range({"", "/b", 0, 0, false, false}).value();
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].key, "/a");
  // A single empty key is not a key.
  EXPECT_EQ(store().Range({"", "", 0, 0, false, false}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Put({"", "v", 0, false}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Delete({"", std::string(1, '\0'), false}).value().deleted, 2);
}

TEST_P(StoreConformanceTest, KeysOnlyAndCountOnly) {
  Put("/p/a", "1");
  Put("/p/b", "2");
  auto r = store().Range({"/p/", PrefixEnd("/p/"), 0, 0, true, false}).value();
  ASSERT_EQ(r.kvs.size(), 2u);
  EXPECT_EQ(r.kvs[0].key, "/p/a");
  EXPECT_EQ(r.kvs[0].value, "");
  EXPECT_GT(r.kvs[0].mod_revision, 0);
  r = store().Range({"/p/", PrefixEnd("/p/"), 0, 0, false, true}).value();
  EXPECT_TRUE(r.kvs.empty());
  EXPECT_EQ(r.count, 2);
}

TEST_P(StoreConformanceTest, ReadsAtAnOldRevisionSeeThePast) {
  const Revision r1 = Put("/k", "v1");
  Put("/k", "v2");
  store().Delete({"/k", "", false}).value();
  auto r = store().Range({"/k", "", 0, r1, false, false}).value();
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].value, "v1");
  EXPECT_TRUE(store().Range({"/k", "", 0, 0, false, false}).value().kvs.empty());

  const auto future = store().Range({"/k", "", 0, Current() + 100, false, false});
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.status().code(), absl::StatusCode::kOutOfRange);
}

TEST_P(StoreConformanceTest, DeleteKeyAndRange) {
  Put("/d/a", "1");
  Put("/d/b", "2");
  Put("/d/c", "3");
  const Revision before = Current();
  auto r = store().Delete({"/d/a", "", false}).value();
  EXPECT_EQ(r.deleted, 1);
  EXPECT_EQ(r.revision, before + 1);
  EXPECT_FALSE(Get("/d/a").has_value());

  r = store().Delete({"/d/", PrefixEnd("/d/"), true}).value();
  EXPECT_EQ(r.deleted, 2);
  EXPECT_EQ(r.revision, before + 2);  // one revision for the whole range
  ASSERT_EQ(r.prev_kvs.size(), 2u);
  EXPECT_EQ(r.prev_kvs[0].key, "/d/b");
  EXPECT_EQ(r.prev_kvs[1].value, "3");
}

TEST_P(StoreConformanceTest, DeletingNothingDoesNotBumpTheRevision) {
  Put("/x", "1");
  const Revision before = Current();
  const auto r = store().Delete({"/absent", "", false}).value();
  EXPECT_EQ(r.deleted, 0);
  EXPECT_EQ(Current(), before);
}

TEST_P(StoreConformanceTest, RecreatedKeyStartsOver) {
  Put("/k", "v1");
  Put("/k", "v2");
  store().Delete({"/k", "", false}).value();
  const Revision r = Put("/k", "v3");
  const KeyValue kv = Get("/k").value();
  EXPECT_EQ(kv.create_revision, r);
  EXPECT_EQ(kv.version, 1);
}

// --- transactions ------------------------------------------------------------

TEST_P(StoreConformanceTest, TxnTakesTheSuccessBranchAtomically) {
  const Revision before = Current();
  const TxnResponse r = Txn({Compare::Absent("/t/a")},
                            {PutRequest{"/t/a", "1", 0, false}, PutRequest{"/t/b", "2", 0, false},
                             RangeRequest{"/t/", PrefixEnd("/t/"), 0, 0, false, false}});
  EXPECT_TRUE(r.succeeded);
  EXPECT_EQ(r.revision, before + 1);  // one revision for the whole transaction
  ASSERT_EQ(r.responses.size(), 3u);
  EXPECT_EQ(Get("/t/a")->mod_revision, r.revision);
  EXPECT_EQ(Get("/t/b")->mod_revision, r.revision);
  // A read inside the transaction sees its own earlier writes.
  const auto& range = std::get<RangeResponse>(r.responses[2]);
  EXPECT_EQ(range.count, 2);
}

TEST_P(StoreConformanceTest, TxnTakesTheFailureBranchAndReportsIt) {
  Put("/t/a", "1");
  const TxnResponse r = Txn({Compare::Absent("/t/a")}, {PutRequest{"/t/a", "2", 0, false}},
                            {RangeRequest{"/t/a", "", 0, 0, false, false}});
  EXPECT_FALSE(r.succeeded);
  ASSERT_EQ(r.responses.size(), 1u);
  const auto& range = std::get<RangeResponse>(r.responses[0]);
  ASSERT_EQ(range.kvs.size(), 1u);
  EXPECT_EQ(range.kvs[0].value, "1");
  EXPECT_EQ(Get("/t/a")->value, "1");
}

TEST_P(StoreConformanceTest, ReadOnlyTxnDoesNotBumpTheRevision) {
  Put("/t/a", "1");
  const Revision before = Current();
  const TxnResponse r = Txn({}, {RangeRequest{"/t/a", "", 0, 0, false, false}});
  EXPECT_TRUE(r.succeeded);
  EXPECT_EQ(r.revision, before);
  EXPECT_EQ(Current(), before);
}

TEST_P(StoreConformanceTest, TxnDeleteReportsWhatItDeleted) {
  Put("/t/a", "1");
  const TxnResponse r =
      Txn({Compare::Value("/t/a", Result::kEqual, "1")}, {DeleteRequest{"/t/a", "", true}});
  ASSERT_TRUE(r.succeeded);
  const auto& del = std::get<DeleteResponse>(r.responses[0]);
  EXPECT_EQ(del.deleted, 1);
  ASSERT_EQ(del.prev_kvs.size(), 1u);
  EXPECT_EQ(del.prev_kvs[0].value, "1");
}

TEST_P(StoreConformanceTest, EveryCompareTargetAndResult) {
  const Revision created = Put("/c/k", "m");
  const Revision modified = Put("/c/k", "n");  // version 2
  const LeaseId lease = store().GrantLease(seconds(30)).value().id;
  Put("/c/leased", "x", lease);

  struct Case {
    Compare compare;
    bool want;
  };
  const std::vector<Case> cases = {
      {Compare::Value("/c/k", Result::kEqual, "n"), true},
      {Compare::Value("/c/k", Result::kEqual, "m"), false},
      {Compare::Value("/c/k", Result::kNotEqual, "m"), true},
      {Compare::Value("/c/k", Result::kGreater, "m"), true},
      {Compare::Value("/c/k", Result::kLess, "m"), false},
      {Compare::Value("/c/k", Result::kLess, "o"), true},
      {Compare::Version("/c/k", Result::kEqual, 2), true},
      {Compare::Version("/c/k", Result::kGreater, 1), true},
      {Compare::Version("/c/k", Result::kLess, 2), false},
      {Compare::Version("/c/k", Result::kNotEqual, 2), false},
      {Compare::CreateRevision("/c/k", Result::kEqual, created), true},
      {Compare::CreateRevision("/c/k", Result::kLess, created), false},
      {Compare::ModRevision("/c/k", Result::kEqual, modified), true},
      {Compare::ModRevision("/c/k", Result::kGreater, created), true},
      {Compare::Lease("/c/leased", Result::kEqual, lease), true},
      {Compare::Lease("/c/k", Result::kEqual, 0), true},
      {Compare::Lease("/c/leased", Result::kNotEqual, lease), false},
      // An absent key: version, revisions and lease are 0; a value compare is false.
      {Compare::Absent("/c/none"), true},
      {Compare::Version("/c/none", Result::kEqual, 0), true},
      {Compare::ModRevision("/c/none", Result::kLess, 1), true},
      {Compare::Value("/c/none", Result::kEqual, ""), false},
      {Compare::Value("/c/none", Result::kNotEqual, "x"), false},
      {Compare::Absent("/c/k"), false},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const TxnResponse r = Txn({cases[i].compare}, {});
    EXPECT_EQ(r.succeeded, cases[i].want) << "case " << i;
  }
}

TEST_P(StoreConformanceTest, RangeCompareAppliesToEveryKeyInTheRange) {
  Put("/r/a", "1");
  Put("/r/b", "1");
  Compare all_one = Compare::Value("/r/", Result::kEqual, "1");
  all_one.range_end = PrefixEnd("/r/");
  EXPECT_TRUE(Txn({all_one}, {}).succeeded);
  Put("/r/c", "2");
  EXPECT_FALSE(Txn({all_one}, {}).succeeded);
}

TEST_P(StoreConformanceTest, AllComparesMustHold) {
  Put("/c/a", "1");
  Put("/c/b", "2");
  EXPECT_TRUE(Txn({Compare::Value("/c/a", Result::kEqual, "1"),
                   Compare::Value("/c/b", Result::kEqual, "2")},
                  {})
                  .succeeded);
  EXPECT_FALSE(Txn({Compare::Value("/c/a", Result::kEqual, "1"),
                    Compare::Value("/c/b", Result::kEqual, "3")},
                   {})
                   .succeeded);
}

TEST_P(StoreConformanceTest, OversizedAndDuplicateTxnsAreRejected) {
  TxnRequest big;
  for (size_t i = 0; i <= kMaxTxnOps; ++i) {
    big.success.push_back(PutRequest{"/big/" + std::to_string(i), "v", 0, false});
  }
  auto r = store().Txn(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);

  big.success.resize(kMaxTxnOps);  // exactly the limit is fine
  EXPECT_TRUE(store().Txn(big).ok());

  TxnRequest dup;
  dup.success = {PutRequest{"/dup", "1", 0, false}, PutRequest{"/dup", "2", 0, false}};
  r = store().Txn(dup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Get("/dup").has_value());
}

TEST_P(StoreConformanceTest, CompareAndSwapHasNoLostUpdates) {
  Put("/counter", "0");
  auto increment = [&] {
    for (int i = 0; i < 25; ++i) {
      while (true) {
        const KeyValue kv = Get("/counter").value();
        const std::string next = std::to_string(std::stoi(kv.value) + 1);
        if (Txn({Compare::ModRevision("/counter", Result::kEqual, kv.mod_revision)},
                {PutRequest{"/counter", next, 0, false}})
                .succeeded) {
          break;
        }
      }
    }
  };
  std::thread a(increment), b(increment);
  a.join();
  b.join();
  EXPECT_EQ(Get("/counter")->value, "50");
}

TEST_P(StoreConformanceTest, CompactionForgetsOldRevisions) {
  const Revision r1 = Put("/k", "v1");
  const Revision r2 = Put("/k", "v2");
  Put("/k", "v3");
  ASSERT_TRUE(store().Compact(r2).ok());
  const auto old = store().Range({"/k", "", 0, r1, false, false});
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), absl::StatusCode::kOutOfRange);
  const auto kept = store().Range({"/k", "", 0, r2, false, false}).value();
  EXPECT_EQ(kept.kvs.at(0).value, "v2");
  EXPECT_EQ(Get("/k")->value, "v3");
}

// --- leases ------------------------------------------------------------------

TEST_P(StoreConformanceTest, LeaseKeysGoWithRevoke) {
  const LeaseGrant lease = store().GrantLease(seconds(30)).value();
  EXPECT_GT(lease.id, 0);
  EXPECT_EQ(lease.ttl, seconds(30));
  Put("/l/a", "1", lease.id);
  Put("/l/b", "2", lease.id);
  EXPECT_EQ(Get("/l/a")->lease, lease.id);

  const LeaseStatus status = store().LeaseTimeToLive(lease.id, true).value();
  EXPECT_EQ(status.granted_ttl, seconds(30));
  EXPECT_GT(status.remaining.count(), 0);
  EXPECT_LE(status.remaining, seconds(30));
  std::vector<std::string> keys = status.keys;
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"/l/a", "/l/b"}));

  const Revision before = Current();
  ASSERT_TRUE(store().RevokeLease(lease.id).ok());
  EXPECT_FALSE(Get("/l/a").has_value());
  EXPECT_FALSE(Get("/l/b").has_value());
  EXPECT_EQ(Current(), before + 1);  // the keys go in one revision
  EXPECT_EQ(store().LeaseTimeToLive(lease.id, false).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store().RevokeLease(lease.id).code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, PutWithAnUnknownLeaseFails) {
  const auto r = store().Put({"/k", "v", 123456789, false});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(Get("/k").has_value());
}

TEST_P(StoreConformanceTest, LeaseExpiresAfterItsTtl) {
  const LeaseGrant lease = store().GrantLease(seconds(1)).value();
  Put("/l/a", "1", lease.id);
  Put("/forever", "1");
  backend_->PassTime(milliseconds(3500));
  EXPECT_FALSE(Get("/l/a").has_value());
  EXPECT_TRUE(Get("/forever").has_value());
  EXPECT_EQ(store().LeaseTimeToLive(lease.id, false).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, KeepAliveKeepsALeaseUntilStopped) {
  const LeaseGrant lease = store().GrantLease(seconds(2)).value();
  Put("/l/a", "1", lease.id);
  std::atomic<int> lost{0};
  KeepAliveOptions options;
  options.safety_margin = milliseconds(500);
  options.on_lost = [&] { ++lost; };
  auto keeper = store().KeepAlive(lease.id, options).value();
  EXPECT_EQ(keeper->id(), lease.id);
  backend_->PassTime(milliseconds(5000));
  EXPECT_TRUE(Get("/l/a").has_value());
  EXPECT_FALSE(keeper->lost());
  EXPECT_EQ(lost, 0);

  keeper.reset();  // stops renewing, does not revoke
  EXPECT_TRUE(Get("/l/a").has_value());
  backend_->PassTime(milliseconds(4500));
  EXPECT_FALSE(Get("/l/a").has_value());
}

TEST_P(StoreConformanceTest, KeepAliveReportsARevokedLease) {
  const LeaseGrant lease = store().GrantLease(seconds(3)).value();
  std::atomic<int> lost{0};
  KeepAliveOptions options;
  options.safety_margin = milliseconds(500);
  options.on_lost = [&] { ++lost; };
  auto keeper = store().KeepAlive(lease.id, options).value();
  ASSERT_TRUE(store().RevokeLease(lease.id).ok());
  backend_->PassTime(milliseconds(2000));  // the next renewal finds it gone
  EXPECT_TRUE(keeper->lost());
  EXPECT_EQ(lost, 1);
}

TEST_P(StoreConformanceTest, KeepAliveOfAnUnknownLeaseFails) {
  KeepAliveOptions options;
  const auto keeper = store().KeepAlive(987654321, options);
  ASSERT_FALSE(keeper.ok());
  EXPECT_EQ(keeper.status().code(), absl::StatusCode::kNotFound);
}

// --- watches -----------------------------------------------------------------

TEST_P(StoreConformanceTest, WatchDeliversChangesInOrder) {
  testing::WatchRecorder c;
  auto watch = store().Watch({"/w/", PrefixEnd("/w/"), 0, false}, c.Callback()).value();
  const Revision r1 = Put("/w/a", "1");
  Put("/other", "x");
  const Revision r2 = Put("/w/b", "2");
  const Revision r3 = store().Delete({"/w/a", "", false}).value().revision;
  c.WaitForEvents(3);
  const auto events = c.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(events[0].kv, (KeyValue{"/w/a", "1", r1, r1, 1, 0}));
  EXPECT_EQ(events[1].kv.key, "/w/b");
  EXPECT_EQ(events[1].kv.mod_revision, r2);
  EXPECT_EQ(events[2].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(events[2].kv.key, "/w/a");
  EXPECT_EQ(events[2].kv.mod_revision, r3);
}

TEST_P(StoreConformanceTest, WatchFromAnOldRevisionReplaysHistory) {
  const Revision r1 = Put("/w/a", "1");
  Put("/w/a", "2");
  Put("/w/b", "3");
  testing::WatchRecorder c;
  auto watch = store().Watch({"/w/", PrefixEnd("/w/"), r1 + 1, false}, c.Callback()).value();
  Put("/w/c", "4");
  c.WaitForEvents(3);
  const auto events = c.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kv.value, "2");
  EXPECT_EQ(events[1].kv.value, "3");
  EXPECT_EQ(events[2].kv.value, "4");
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(c.size(), 3u);  // nothing twice
}

TEST_P(StoreConformanceTest, WatchOfOneKeyIgnoresItsNeighbours) {
  testing::WatchRecorder c;
  auto watch = store().Watch({"/w/a", "", 0, false}, c.Callback()).value();
  Put("/w/ab", "x");
  Put("/w/", "x");
  Put("/w/a", "1");
  c.WaitForEvents(1);
  const auto events = c.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kv.key, "/w/a");
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(c.size(), 1u);
}

TEST_P(StoreConformanceTest, WatchWithPreviousValues) {
  Put("/w/a", "1");
  testing::WatchRecorder c;
  auto watch = store().Watch({"/w/a", "", 0, true}, c.Callback()).value();
  Put("/w/a", "2");
  store().Delete({"/w/a", "", false}).value();
  c.WaitForEvents(2);
  const auto events = c.events();
  ASSERT_EQ(events.size(), 2u);
  ASSERT_TRUE(events[0].prev_kv.has_value());
  EXPECT_EQ(events[0].prev_kv->value, "1");
  ASSERT_TRUE(events[1].prev_kv.has_value());
  EXPECT_EQ(events[1].prev_kv->value, "2");
}

TEST_P(StoreConformanceTest, WatchSeesLeaseDeletes) {
  const LeaseGrant lease = store().GrantLease(seconds(30)).value();
  Put("/w/a", "1", lease.id);
  testing::WatchRecorder c;
  auto watch = store().Watch({"/w/", PrefixEnd("/w/"), 0, false}, c.Callback()).value();
  ASSERT_TRUE(store().RevokeLease(lease.id).ok());
  c.WaitForEvents(1);
  const auto events = c.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(events[0].kv.key, "/w/a");
}

TEST_P(StoreConformanceTest, WatchFromACompactedRevisionIsReported) {
  const Revision r1 = Put("/w/a", "1");
  Put("/w/a", "2");
  const Revision r3 = Put("/w/a", "3");
  ASSERT_TRUE(store().Compact(r3).ok());
  testing::WatchRecorder c;
  auto watch = store().Watch({"/w/", PrefixEnd("/w/"), r1, false}, c.Callback());
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(c.WaitForEnd());
  EXPECT_EQ(c.end().compact_revision, r3);
  EXPECT_EQ(c.size(), 0u);
}

TEST_P(StoreConformanceTest, CancelledWatchGetsNothingMore) {
  testing::WatchRecorder c;
  auto watch = store().Watch({"/w/", PrefixEnd("/w/"), 0, false}, c.Callback()).value();
  Put("/w/a", "1");
  c.WaitForEvents(1);
  watch.reset();
  Put("/w/b", "2");
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(c.size(), 1u);
}

TEST_P(StoreConformanceTest, ConcurrentWritersAreSeenOnceEachInRevisionOrder) {
  testing::WatchRecorder c;
  const Revision start = Current() + 1;
  auto watch = store().Watch({"/s/", PrefixEnd("/s/"), start, false}, c.Callback()).value();
  constexpr int kPerWriter = 150;
  auto writer = [&](const std::string& name) {
    for (int i = 0; i < kPerWriter; ++i) Put("/s/" + name, std::to_string(i));
  };
  std::thread a(writer, "a"), b(writer, "b");
  a.join();
  b.join();
  c.WaitForEvents(2 * kPerWriter);
  const auto events = c.events();
  ASSERT_EQ(events.size(), size_t(2 * kPerWriter));
  int next_a = 0, next_b = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) {
      ASSERT_GT(events[i].kv.mod_revision, events[i - 1].kv.mod_revision);
    }
    int& next = events[i].kv.key == "/s/a" ? next_a : next_b;
    ASSERT_EQ(events[i].kv.value, std::to_string(next)) << events[i].kv.key;
    ++next;
  }
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(c.size(), size_t(2 * kPerWriter));
}

std::unique_ptr<Backend> MakeEmbedded() { return std::make_unique<EmbeddedBackend>(); }
std::unique_ptr<Backend> MakeEtcd() { return std::make_unique<EtcdBackend>(); }

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::Values(MakeEmbedded, MakeEtcd),
                         [](const ::testing::TestParamInfo<BackendFactory>& param) {
                           return std::string(param.index == 0 ? "Embedded" : "Etcd");
                         });

}  // namespace
}  // namespace forest::coord
