// EtcdStore against real etcd members started by the test (EtcdCluster):
// basic requests and error codes, endpoint failover, timeouts, watches that
// survive a restart, a killed member and dropped connections, and auth.
// The store.h semantics themselves are checked by store_conformance_test.
#include "coord/etcd/etcd_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "coord/testing/etcd_cluster.h"
#include "coord/testing/tcp_proxy.h"
#include "coord/testing/watch_recorder.h"

namespace forest::coord {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::EtcdCluster;
using testing::TcpProxy;
using testing::WatchRecorder;
using Clock = std::chrono::steady_clock;

EtcdStoreOptions Options(std::vector<std::string> endpoints,
                         milliseconds request_timeout = milliseconds(2000),
                         milliseconds dial_timeout = milliseconds(2000)) {
  EtcdStoreOptions o;
  o.endpoints = std::move(endpoints);
  o.request_timeout = request_timeout;
  o.dial_timeout = dial_timeout;
  return o;
}

// A loopback port nobody listens on (bound, then released).
std::string DeadEndpoint() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return fmt::format("127.0.0.1:{}", ntohs(addr.sin_port));
}

RangeRequest Get(std::string key) {
  RangeRequest r;
  r.key = std::move(key);
  return r;
}
RangeRequest Prefix(const std::string& prefix) {
  RangeRequest r;
  r.key = prefix;
  r.range_end = PrefixEnd(prefix);
  return r;
}
PutRequest Set(std::string key, std::string value, LeaseId lease = 0) {
  return PutRequest{std::move(key), std::move(value), lease, false};
}
Revision Current(Store& store) {
  RangeRequest r = Get("/");
  r.count_only = true;
  return store.Range(r).value().revision;
}

// Keeps trying `f` (a StatusOr-returning call) until it succeeds or `limit` passes.
template <typename F>
auto Eventually(F f, milliseconds limit = milliseconds(15000)) {
  const auto deadline = Clock::now() + limit;
  auto result = f();
  while (!result.ok() && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
    result = f();
  }
  return result;
}

// Events of a prefix that only the test writes: every revision from `first`
// on, once each, in order.
void ExpectConsecutive(const std::vector<WatchEvent>& events, Revision first) {
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kv.mod_revision, first);
  for (size_t i = 1; i < events.size(); ++i) {
    ASSERT_EQ(events[i].kv.mod_revision, events[i - 1].kv.mod_revision + 1)
        << "gap or repeat at event " << i;
  }
}

// The acknowledged writes (revision -> value) all appear among the events.
void ExpectDelivered(const std::vector<WatchEvent>& events,
                     const std::map<Revision, std::string>& acknowledged) {
  std::map<Revision, std::string> seen;
  for (const WatchEvent& e : events) seen[e.kv.mod_revision] = e.kv.value;
  for (const auto& [revision, value] : acknowledged) {
    auto it = seen.find(revision);
    ASSERT_NE(it, seen.end()) << "acknowledged write at revision " << revision << " not delivered";
    EXPECT_EQ(it->second, value);
  }
}

// Puts /seq/<n> for n = 0, 1, ... in the background, retrying a number until
// it is acknowledged; remembers the acknowledged revisions.
class SequenceWriter {
 public:
  explicit SequenceWriter(Store& store) : store_(store), thread_([this] { Run(); }) {}
  ~SequenceWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int acknowledged() const { return acked_; }
  int failures() const { return failures_; }
  bool WaitAcknowledged(int n, milliseconds limit = milliseconds(20000)) {
    const auto deadline = Clock::now() + limit;
    while (acked_ < n && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
    return acked_ >= n;
  }
  std::map<Revision, std::string> revisions() {
    std::lock_guard lock(mu_);
    return revisions_;
  }

 private:
  void Run() {
    int n = 0;
    while (!stop_) {
      const std::string value = std::to_string(n);
      auto r = store_.Put(Set(fmt::format("/seq/{:06}", n), value));
      if (r.ok()) {
        std::lock_guard lock(mu_);
        revisions_[r->revision] = value;
        ++n;
        acked_ = n;
      } else {
        ++failures_;
        std::this_thread::sleep_for(milliseconds(20));
      }
    }
  }

  Store& store_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acked_{0};
  std::atomic<int> failures_{0};
  std::mutex mu_;
  std::map<Revision, std::string> revisions_;
  std::thread thread_;
};

// --- basics --------------------------------------------------------------------

TEST(EtcdStoreTest, BasicRequestsAndErrorCodes) {
  auto cluster = EtcdCluster::Start(1).value();
  auto store = EtcdStore::Connect(Options(cluster->endpoints())).value();

  const Revision r1 = store->Put(Set("/a", "1")).value().revision;
  EXPECT_GT(r1, 0);
  auto got = store->Range(Get("/a")).value();
  ASSERT_EQ(got.kvs.size(), 1u);
  EXPECT_EQ(got.kvs[0], (KeyValue{"/a", "1", r1, r1, 1, 0}));
  EXPECT_EQ(got.revision, r1);

  PutRequest again = Set("/a", "2");
  again.prev_kv = true;
  const PutResponse put = store->Put(again).value();
  EXPECT_EQ(put.revision, r1 + 1);
  ASSERT_TRUE(put.prev_kv.has_value());
  EXPECT_EQ(put.prev_kv->value, "1");

  TxnRequest txn;
  txn.compare = {Compare::Value("/a", Compare::Result::kEqual, "2"), Compare::Absent("/b")};
  txn.success = {Set("/b", "x"), Get("/a")};
  txn.failure = {Get("/b")};
  const TxnResponse t = store->Txn(txn).value();
  EXPECT_TRUE(t.succeeded);
  EXPECT_EQ(t.revision, r1 + 2);
  ASSERT_EQ(t.responses.size(), 2u);
  EXPECT_EQ(std::get<RangeResponse>(t.responses[1]).kvs.at(0).value, "2");
  EXPECT_FALSE(store->Txn(txn).value().succeeded);  // /b exists now

  const DeleteResponse del = store->Delete({"/", PrefixEnd("/"), true}).value();
  EXPECT_EQ(del.deleted, 2);
  EXPECT_EQ(del.prev_kvs.size(), 2u);

  // Error codes.
  RangeRequest future = Get("/a");
  future.revision = del.revision + 1000;
  EXPECT_EQ(store->Range(future).status().code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(store->Compact(r1 + 1).ok());
  RangeRequest old = Get("/a");
  old.revision = r1;
  EXPECT_EQ(store->Range(old).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->Compact(r1).code(), absl::StatusCode::kOutOfRange);  // already compacted
  TxnRequest big;
  for (size_t i = 0; i <= kMaxTxnOps; ++i)
    big.success.push_back(Set(fmt::format("/big/{}", i), ""));
  EXPECT_EQ(store->Txn(big).status().code(), absl::StatusCode::kInvalidArgument);
  TxnRequest dup;
  dup.success = {Set("/dup", "1"), Set("/dup", "2")};
  EXPECT_EQ(store->Txn(dup).status().code(), absl::StatusCode::kInvalidArgument);

  // Leases.
  const LeaseGrant lease = store->GrantLease(seconds(10)).value();
  EXPECT_GT(lease.id, 0);
  EXPECT_EQ(lease.ttl, seconds(10));
  ASSERT_TRUE(store->Put(Set("/l", "v", lease.id)).ok());
  const LeaseStatus status = store->LeaseTimeToLive(lease.id, true).value();
  EXPECT_EQ(status.granted_ttl, seconds(10));
  EXPECT_EQ(status.keys, std::vector<std::string>{"/l"});
  ASSERT_TRUE(store->RevokeLease(lease.id).ok());
  EXPECT_TRUE(store->Range(Get("/l")).value().kvs.empty());
  EXPECT_EQ(store->LeaseTimeToLive(lease.id, false).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->RevokeLease(lease.id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Put(Set("/l", "v", lease.id)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->KeepAlive(lease.id, {}).status().code(), absl::StatusCode::kNotFound);

  // A watch, with previous values.
  WatchRecorder c;
  auto watch = store->Watch({"/w/", PrefixEnd("/w/"), 0, true}, c.Callback()).value();
  store->Put(Set("/w/a", "1")).value();
  const Revision last = store->Put(Set("/w/a", "2")).value().revision;
  ASSERT_TRUE(c.WaitForRevision(last));
  const auto events = c.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[0].prev_kv.has_value());
  ASSERT_TRUE(events[1].prev_kv.has_value());
  EXPECT_EQ(events[1].prev_kv->value, "1");
}

TEST(EtcdStoreTest, ConnectSkipsADeadEndpointAndNamesAllWhenNoneAnswers) {
  auto cluster = EtcdCluster::Start(1).value();
  const std::string dead = DeadEndpoint();
  auto store = EtcdStore::Connect(Options({dead, "http://" + cluster->endpoint(0)})).value();
  const Revision r = store->Put(Set("/k", "v")).value().revision;
  EXPECT_EQ(store->Range(Get("/k")).value().kvs.at(0).mod_revision, r);

  const std::string dead2 = DeadEndpoint();
  const auto none =
      EtcdStore::Connect(Options({dead, dead2}, milliseconds(500), milliseconds(500)));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(none.status().message().find(dead), std::string::npos) << none.status();
  EXPECT_NE(none.status().message().find(dead2), std::string::npos) << none.status();

  EXPECT_EQ(EtcdStore::Connect(Options({})).status().code(), absl::StatusCode::kInvalidArgument);
  EtcdStoreOptions tls = Options(cluster->endpoints());
  tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(EtcdStore::Connect(tls).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EtcdStoreTest, RequestsTimeOutAgainstAPausedMemberAndRecover) {
  auto cluster = EtcdCluster::Start(1).value();
  auto store = EtcdStore::Connect(Options(cluster->endpoints(), milliseconds(500))).value();
  ASSERT_TRUE(store->Put(Set("/k", "v")).ok());

  cluster->Pause(0);
  auto start = Clock::now();
  const auto read = store->Range(Get("/k"));
  const auto write = store->Put(Set("/k", "w"));
  const auto elapsed = Clock::now() - start;
  cluster->Resume(0);
  ASSERT_FALSE(read.ok()) << "a paused member answered a read";
  EXPECT_TRUE(read.status().code() == absl::StatusCode::kDeadlineExceeded ||
              read.status().code() == absl::StatusCode::kUnavailable)
      << read.status();
  ASSERT_FALSE(write.ok()) << "a paused member answered a write";
  EXPECT_TRUE(write.status().code() == absl::StatusCode::kDeadlineExceeded ||
              write.status().code() == absl::StatusCode::kUnavailable)
      << write.status();
  // Two requests of 500 ms each: bounded by their timeouts, not by the dial
  // timeout or gRPC's reconnect backoff (slack for a loaded sanitizer run).
  EXPECT_LT(elapsed, milliseconds(4000))
      << std::chrono::duration_cast<milliseconds>(elapsed).count() << " ms";

  const auto after = Eventually([&] { return store->Range(Get("/k")); });
  EXPECT_TRUE(after.ok()) << after.status();
}

// --- watches across failures ---------------------------------------------------

TEST(EtcdStoreTest, WatchDeliversEveryWriteOnceAcrossAKillAndRestart) {
  auto cluster = EtcdCluster::Start(1).value();
  auto store =
      EtcdStore::Connect(Options(cluster->endpoints(), milliseconds(1000), milliseconds(1000)))
          .value();
  WatchRecorder c;
  const Revision first = Current(*store) + 1;
  auto watch = store->Watch({"/seq/", PrefixEnd("/seq/"), first, false}, c.Callback()).value();

  SequenceWriter writer(*store);
  ASSERT_TRUE(writer.WaitAcknowledged(50));
  cluster->Kill(0);
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_TRUE(cluster->Restart(0).ok());
  const int before = writer.acknowledged();
  ASSERT_TRUE(writer.WaitAcknowledged(before + 50));
  writer.Stop();
  EXPECT_GT(writer.failures(), 0);  // the writer did see the outage

  const auto acknowledged = writer.revisions();
  ASSERT_TRUE(c.WaitForRevision(acknowledged.rbegin()->first));
  std::this_thread::sleep_for(milliseconds(100));
  const auto events = c.events();
  ExpectConsecutive(events, first);
  ExpectDelivered(events, acknowledged);
  EXPECT_EQ(c.ends(), 0);
}

TEST(EtcdStoreTest, ThreeMemberClusterKeepsWorkingWithOneMemberKilled) {
  auto cluster = EtcdCluster::Start(3).value();
  auto store =
      EtcdStore::Connect(Options(cluster->endpoints(), milliseconds(1500), milliseconds(1000)))
          .value();
  WatchRecorder c;
  const Revision first = Current(*store) + 1;
  auto watch = store->Watch({"/seq/", PrefixEnd("/seq/"), first, false}, c.Callback()).value();

  SequenceWriter writer(*store);
  ASSERT_TRUE(writer.WaitAcknowledged(30));
  cluster->Kill(0);  // the endpoint the store was using
  const int before = writer.acknowledged();
  ASSERT_TRUE(writer.WaitAcknowledged(before + 60));
  writer.Stop();

  // Reads and writes through the remaining members.
  ASSERT_TRUE(store->Put(Set("/after", "1")).ok());
  RangeRequest all = Prefix("/seq/");
  all.count_only = true;
  EXPECT_EQ(store->Range(all).value().count, writer.acknowledged());

  const auto acknowledged = writer.revisions();
  ASSERT_TRUE(c.WaitForRevision(acknowledged.rbegin()->first));
  const auto events = c.events();
  ExpectConsecutive(events, first);
  ExpectDelivered(events, acknowledged);
  EXPECT_EQ(c.ends(), 0);

  // A new store, whose first endpoint is the dead member, connects too.
  auto other = EtcdStore::Connect(Options(cluster->endpoints(), milliseconds(1500))).value();
  EXPECT_EQ(other->Range(Get("/after")).value().kvs.size(), 1u);
}

TEST(EtcdStoreTest, WatchResumesWithoutGapsAfterTheConnectionIsDropped) {
  auto cluster = EtcdCluster::Start(1).value();
  auto proxy = TcpProxy::Start(cluster->endpoint(0)).value();
  auto watching = EtcdStore::Connect(Options({proxy->endpoint()})).value();
  auto writing = EtcdStore::Connect(Options(cluster->endpoints())).value();

  WatchRecorder c;
  const Revision first = Current(*writing) + 1;
  auto watch = watching->Watch({"/p/", PrefixEnd("/p/"), 0, false}, c.Callback()).value();
  constexpr int kWrites = 120;
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(writing->Put(Set(fmt::format("/p/{}", i % 7), std::to_string(i))).ok());
    if (i % 30 == 10) proxy->CloseAll();
    if (i % 30 == 20) std::this_thread::sleep_for(milliseconds(30));
  }
  ASSERT_TRUE(c.WaitForEvents(kWrites));
  std::this_thread::sleep_for(milliseconds(200));
  const auto events = c.events();
  ASSERT_EQ(events.size(), size_t(kWrites));
  ExpectConsecutive(events, first);
  for (int i = 0; i < kWrites; ++i) EXPECT_EQ(events[size_t(i)].kv.value, std::to_string(i));
}

TEST(EtcdStoreTest, WatchResumingAtACompactedRevisionEndsWithTheCompactRevision) {
  auto cluster = EtcdCluster::Start(1).value();
  auto proxy = TcpProxy::Start(cluster->endpoint(0)).value();
  auto watching = EtcdStore::Connect(Options({proxy->endpoint()})).value();
  auto writing = EtcdStore::Connect(Options(cluster->endpoints())).value();
  WatchRecorder c;
  auto watch = watching->Watch({"/c/", PrefixEnd("/c/"), 0, false}, c.Callback()).value();
  const Revision r1 = writing->Put(Set("/c/a", "1")).value().revision;
  ASSERT_TRUE(c.WaitForRevision(r1));

  proxy->Block();  // the watch misses what follows...
  writing->Put(Set("/c/a", "2")).value();
  const Revision r3 = writing->Put(Set("/c/a", "3")).value().revision;
  ASSERT_TRUE(writing->Compact(r3).ok());  // ...and it is compacted away
  proxy->CloseAll();
  proxy->Unblock();

  ASSERT_TRUE(c.WaitForEnd());
  EXPECT_EQ(c.end().compact_revision, r3);
  EXPECT_EQ(c.end().status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(c.events().size(), 1u);  // only what was delivered before
  EXPECT_EQ(c.ends(), 1);
}

TEST(EtcdStoreTest, BlockedConnectionTimesOutThenRecovers) {
  auto cluster = EtcdCluster::Start(1).value();
  auto proxy = TcpProxy::Start(cluster->endpoint(0)).value();
  auto store = EtcdStore::Connect(Options({proxy->endpoint()}, milliseconds(400))).value();
  ASSERT_TRUE(store->Put(Set("/k", "1")).ok());
  proxy->Block();
  const auto blocked = store->Range(Get("/k"));
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kDeadlineExceeded) << blocked.status();
  proxy->Unblock();
  EXPECT_TRUE(Eventually([&] { return store->Range(Get("/k")); }).ok());
}

// --- lifetimes ---------------------------------------------------------------------

TEST(EtcdStoreTest, ClosingTheStoreEndsEveryWatchWithCancelled) {
  auto cluster = EtcdCluster::Start(1).value();
  auto store = EtcdStore::Connect(Options(cluster->endpoints())).value();
  WatchRecorder a, b;
  auto wa = store->Watch({"/a/", PrefixEnd("/a/"), 0, false}, a.Callback()).value();
  auto wb = store->Watch({"/b", "", 0, false}, b.Callback()).value();
  const Revision r = store->Put(Set("/a/1", "x")).value().revision;
  ASSERT_TRUE(a.WaitForRevision(r));
  store.reset();
  ASSERT_EQ(a.ends(), 1);
  ASSERT_EQ(b.ends(), 1);
  EXPECT_EQ(a.end().status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(b.end().status.code(), absl::StatusCode::kCancelled);
  wa.reset();  // handles may outlive the store
  wb.reset();
}

TEST(EtcdStoreTest, DestroyingAHandleWaitsForItsRunningCallback) {
  auto cluster = EtcdCluster::Start(1).value();
  auto store = EtcdStore::Connect(Options(cluster->endpoints())).value();
  std::atomic<bool> inside{false};
  std::atomic<int> calls{0};
  auto watch = store
                   ->Watch({"/s/", PrefixEnd("/s/"), 0, false},
                           [&](WatchUpdate) {
                             inside = true;
                             ++calls;
                             std::this_thread::sleep_for(milliseconds(300));
                             inside = false;
                           })
                   .value();
  ASSERT_TRUE(store->Put(Set("/s/1", "x")).ok());
  const auto deadline = Clock::now() + seconds(10);
  while (!inside && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(1));
  ASSERT_TRUE(inside);
  watch.reset();
  EXPECT_FALSE(inside);  // the destructor waited for the callback
  const int seen = calls;
  ASSERT_TRUE(store->Put(Set("/s/2", "y")).ok());
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(calls, seen);

  // A watch can be created and dropped from inside a callback.
  WatchRecorder inner;
  std::unique_ptr<WatchHandle> nested;
  std::atomic<bool> done{false};
  auto outer = store
                   ->Watch({"/o", "", 0, false},
                           [&](WatchUpdate u) {
                             if (u.ended || done) return;
                             nested = store->Watch({"/i", "", 0, false}, inner.Callback()).value();
                             done = true;
                           })
                   .value();
  ASSERT_TRUE(store->Put(Set("/o", "1")).ok());
  while (!done && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(1));
  ASSERT_TRUE(done);
  const Revision r = store->Put(Set("/i", "1")).value().revision;
  EXPECT_TRUE(inner.WaitForRevision(r));
}

TEST(EtcdStoreTest, KeeperNoticesAPausedMemberAndStopsPromptly) {
  auto cluster = EtcdCluster::Start(1).value();
  auto store = EtcdStore::Connect(Options(cluster->endpoints(), milliseconds(5000))).value();
  const LeaseGrant lease = store->GrantLease(seconds(2)).value();
  std::atomic<int> lost{0};
  KeepAliveOptions options;
  options.safety_margin = milliseconds(500);
  options.on_lost = [&] { ++lost; };
  auto keeper = store->KeepAlive(lease.id, options).value();
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_FALSE(keeper->lost());

  cluster->Pause(0);  // renewals hang (request timeout 5 s)
  std::this_thread::sleep_for(milliseconds(2000));
  EXPECT_TRUE(keeper->lost());
  EXPECT_EQ(lost, 1);
  const auto start = Clock::now();
  keeper.reset();  // interrupts the hanging renewal
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  cluster->Resume(0);
}

// --- auth --------------------------------------------------------------------------

int Etcdctl(const std::string& endpoint, const std::string& args) {
  const std::string command = fmt::format(
      "ETCDCTL_API=3 etcdctl --endpoints={} --dial-timeout=5s --command-timeout=10s {} "
      ">/dev/null 2>&1",
      endpoint, args);
  return std::system(command.c_str());
}

TEST(EtcdStoreTest, TlsWithAClientCertificate) {
  auto cluster = EtcdCluster::Start(testing::EtcdClusterOptions{1, true}).value();
  EtcdStoreOptions options = Options(cluster->endpoints(), milliseconds(2000), milliseconds(1000));
  options.ca_file = cluster->ca_file();
  options.cert_file = cluster->client_cert_file();
  options.key_file = cluster->client_key_file();
  auto store = EtcdStore::Connect(options).value();
  ASSERT_TRUE(store->Put({"/tls/k", "v", 0, false}).ok());
  EXPECT_EQ(store->Range({"/tls/k", "", 0, 0, false, false}).value().kvs.at(0).value, "v");

  // The server demands a client certificate.
  EtcdStoreOptions no_cert = options;
  no_cert.cert_file.clear();
  no_cert.key_file.clear();
  EXPECT_FALSE(EtcdStore::Connect(no_cert).ok());
  // Plain text to a TLS member does not connect.
  EXPECT_FALSE(
      EtcdStore::Connect(Options(cluster->endpoints(), milliseconds(1000), milliseconds(1000)))
          .ok());
  // A missing CA file is a clear error, not a silent fallback.
  EtcdStoreOptions bad_ca = options;
  bad_ca.ca_file = "/nonexistent/ca.crt";
  const auto bad = EtcdStore::Connect(bad_ca);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("/nonexistent/ca.crt"), std::string::npos);
}

TEST(EtcdStoreTest, AuthWithUserAndPassword) {
  auto cluster = EtcdCluster::Start(1).value();
  const std::string endpoint = cluster->endpoint(0);
  ASSERT_EQ(Etcdctl(endpoint, "user add root:secret"), 0);
  ASSERT_EQ(Etcdctl(endpoint, "auth enable"), 0);

  EtcdStoreOptions options = Options(cluster->endpoints());
  options.user = "root";
  options.password = "secret";
  auto store = EtcdStore::Connect(options).value();
  WatchRecorder c;
  auto watch = store->Watch({"/k", "", 0, false}, c.Callback()).value();
  const Revision r = store->Put(Set("/k", "v")).value().revision;
  EXPECT_EQ(store->Range(Get("/k")).value().kvs.at(0).value, "v");
  EXPECT_TRUE(c.WaitForRevision(r));

  // An auth change makes the store's token stale: it re-authenticates.
  ASSERT_EQ(Etcdctl(endpoint, "--user=root:secret user add other:pw"), 0);
  EXPECT_TRUE(store->Put(Set("/k", "w")).ok());

  options.password = "wrong";
  EXPECT_EQ(EtcdStore::Connect(options).status().code(), absl::StatusCode::kUnauthenticated);

  auto anonymous = EtcdStore::Connect(Options(cluster->endpoints())).value();
  EXPECT_EQ(anonymous->Put(Set("/k", "x")).status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace forest::coord
