// Tests of what is specific to EmbeddedStore: its SQLite file, lease expiry
// on the injected clock, auto-compaction, watch delivery and concurrency. The
// Store contract itself is covered by coord/store_conformance_test.cc.
#include "coord/embedded/embedded_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "coord/keeper.h"
#include "coord/testing/watch_recorder.h"

namespace forest::coord {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::WaitUntil;
using testing::WatchRecorder;

const Time kStart{Millis(1767225600000)};

RangeRequest Get(std::string key, Revision revision = 0) {
  RangeRequest r;
  r.key = std::move(key);
  r.revision = revision;
  return r;
}
RangeRequest Prefix(const std::string& prefix) {
  RangeRequest r;
  r.key = prefix;
  r.range_end = PrefixEnd(prefix);
  return r;
}
PutRequest Set(std::string key, std::string value, LeaseId lease = 0) {
  PutRequest p;
  p.key = std::move(key);
  p.value = std::move(value);
  p.lease = lease;
  return p;
}
DeleteRequest Del(std::string key) {
  DeleteRequest d;
  d.key = std::move(key);
  return d;
}
WatchRequest WatchPrefix(const std::string& prefix, Revision start = 0) {
  WatchRequest w;
  w.key = prefix;
  w.range_end = PrefixEnd(prefix);
  w.start_revision = start;
  return w;
}

class EmbeddedStoreTest : public ::testing::Test {
 protected:
  EmbeddedStoreTest() : clock_(kStart) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "embedded_store_test.XXXXXX");
    dir_ = mkdtemp(tmpl.data());
    path_ = dir_ + "/store.db";
  }
  ~EmbeddedStoreTest() override { std::filesystem::remove_all(dir_); }

  EmbeddedStoreOptions Options(bool persistent = true) {
    EmbeddedStoreOptions o;
    if (persistent) o.sqlite_path = path_;
    o.clock = &clock_;
    o.expiry_poll = milliseconds(5);
    return o;
  }
  std::unique_ptr<EmbeddedStore> OpenStore(bool persistent = true) {
    auto store = EmbeddedStore::Open(Options(persistent));
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(store).value();  // throws (failing the test) when not ok
  }
  Revision CurrentRevision(Store& store) { return store.Range(Get("any")).value().revision; }
  std::optional<KeyValue> Find(Store& store, const std::string& key) {
    auto r = store.Range(Get(key)).value();
    if (r.kvs.empty()) return std::nullopt;
    return r.kvs[0];
  }
  // Runs `sql` on the store's file (which must be closed).
  void ExecSql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  FakeClock clock_;
  std::string dir_;
  std::string path_;
};

// --- Semantics the rest of the suite relies on ---------------------------------

TEST_F(EmbeddedStoreTest, RevisionsFollowEtcd) {
  auto store = OpenStore(false);
  EXPECT_EQ(CurrentRevision(*store), 1);  // a new store, like a new etcd
  EXPECT_EQ(store->Put(Set("a", "1")).value().revision, 2);
  // Deleting nothing and a txn without writes change nothing.
  EXPECT_EQ(store->Delete(Del("missing")).value().revision, 2);
  TxnRequest read_only;
  read_only.success.emplace_back(Get("a"));
  EXPECT_EQ(store->Txn(read_only).value().revision, 2);
  // One revision per txn, and its reads see its earlier writes.
  TxnRequest txn;
  txn.compare.push_back(Compare::Version("a", Compare::Result::kEqual, 1));
  txn.success.emplace_back(Get("b"));
  txn.success.emplace_back(Set("b", "2"));
  txn.success.emplace_back(Get("b"));
  txn.success.emplace_back(Set("c", "3"));
  const TxnResponse r = store->Txn(txn).value();
  EXPECT_TRUE(r.succeeded);
  EXPECT_EQ(r.revision, 3);
  EXPECT_EQ(std::get<RangeResponse>(r.responses[0]).kvs.size(), 0u);
  EXPECT_EQ(std::get<RangeResponse>(r.responses[0]).revision, 2);
  EXPECT_EQ(std::get<RangeResponse>(r.responses[2]).kvs.at(0).value, "2");
  EXPECT_EQ(std::get<RangeResponse>(r.responses[2]).revision, 3);
  EXPECT_EQ(Find(*store, "c")->mod_revision, 3);
  // Reads at an old revision; a future one is out of range.
  EXPECT_EQ(store->Range(Get("b", 2)).value().kvs.size(), 0u);
  EXPECT_EQ(store->Range(Get("b", 3)).value().kvs.at(0).value, "2");
  EXPECT_EQ(store->Range(Get("b", 4)).status().code(), absl::StatusCode::kOutOfRange);
  // A single empty key is refused (as etcd does); an empty key with a range
  // end means from the first key (as etcd's clients send it).
  EXPECT_EQ(store->Range(Get("")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Put(Set("", "x")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Range(Prefix("")).value().count, 3);
  DeleteRequest everything;
  everything.range_end = std::string(1, '\0');
  EXPECT_EQ(store->Delete(everything).value().deleted, 3);
}

TEST_F(EmbeddedStoreTest, RejectsDuplicateKeysAndTooManyOps) {
  auto store = OpenStore(false);
  TxnRequest twice;
  twice.success.emplace_back(Set("k", "1"));
  twice.success.emplace_back(Set("k", "2"));
  EXPECT_EQ(store->Txn(twice).status().code(), absl::StatusCode::kInvalidArgument);
  TxnRequest put_in_delete;
  DeleteRequest all = Del("a");
  all.range_end = PrefixEnd("");
  put_in_delete.failure.emplace_back(all);
  put_in_delete.failure.emplace_back(Set("k", "1"));
  EXPECT_EQ(store->Txn(put_in_delete).status().code(), absl::StatusCode::kInvalidArgument);
  TxnRequest many;
  for (size_t i = 0; i <= kMaxTxnOps; ++i)
    many.success.emplace_back(Set(fmt::format("k{}", i), ""));
  EXPECT_EQ(store->Txn(many).status().code(), absl::StatusCode::kInvalidArgument);
  many.success.pop_back();
  EXPECT_TRUE(store->Txn(many).ok());
  EXPECT_EQ(CurrentRevision(*store), 2);
}

// --- Persistence -----------------------------------------------------------------

TEST_F(EmbeddedStoreTest, UnleasedKeysAndRevisionSurviveReopen) {
  Revision before = 0;
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Put(Set("a", "1")).ok());
    ASSERT_TRUE(store->Put(Set("a", "2")).ok());
    ASSERT_TRUE(store->Put(Set(std::string("bin\0\xff", 5), std::string("\0x", 2))).ok());
    ASSERT_TRUE(store->Put(Set("gone", "x")).ok());
    ASSERT_TRUE(store->Delete(Del("gone")).ok());
    before = CurrentRevision(*store);
  }
  auto store = OpenStore();
  EXPECT_EQ(CurrentRevision(*store), before);
  const KeyValue a = Find(*store, "a").value();
  EXPECT_EQ(a.value, "2");
  EXPECT_EQ(a.create_revision, 2);
  EXPECT_EQ(a.mod_revision, 3);
  EXPECT_EQ(a.version, 2);
  EXPECT_EQ(Find(*store, std::string("bin\0\xff", 5))->value, std::string("\0x", 2));
  EXPECT_FALSE(Find(*store, "gone").has_value());
  // Revisions go on from where they were.
  EXPECT_EQ(store->Put(Set("b", "1")).value().revision, before + 1);
}

TEST_F(EmbeddedStoreTest, LeasedKeysDoNotSurviveReopen) {
  {
    auto store = OpenStore();
    const LeaseId lease = store->GrantLease(seconds(60)).value().id;
    ASSERT_TRUE(store->Put(Set("leased", "x", lease)).ok());
    // A persisted key that takes a lease leaves the file...
    ASSERT_TRUE(store->Put(Set("was-permanent", "1")).ok());
    ASSERT_TRUE(store->Put(Set("was-permanent", "2", lease)).ok());
    // ...and a leased key that drops its lease joins it.
    ASSERT_TRUE(store->Put(Set("was-leased", "1", lease)).ok());
    ASSERT_TRUE(store->Put(Set("was-leased", "2")).ok());
  }
  auto store = OpenStore();
  EXPECT_FALSE(Find(*store, "leased").has_value());
  EXPECT_FALSE(Find(*store, "was-permanent").has_value());
  const KeyValue kept = Find(*store, "was-leased").value();
  EXPECT_EQ(kept.value, "2");
  EXPECT_EQ(kept.version, 2);
  EXPECT_EQ(kept.lease, 0);
}

TEST_F(EmbeddedStoreTest, CompareAndPutAfterReopenSeesRevisionsAndVersions) {
  KeyValue job;
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Put(Set("job", "v1")).ok());
    ASSERT_TRUE(store->Put(Set("other", "x")).ok());
    ASSERT_TRUE(store->Put(Set("job", "v2")).ok());
    job = Find(*store, "job").value();
  }
  auto store = OpenStore();
  TxnRequest stale;
  stale.compare.push_back(
      Compare::ModRevision("job", Compare::Result::kEqual, job.create_revision));
  stale.success.emplace_back(Set("job", "lost"));
  EXPECT_FALSE(store->Txn(stale).value().succeeded);

  TxnRequest cas;
  cas.compare.push_back(Compare::ModRevision("job", Compare::Result::kEqual, job.mod_revision));
  cas.compare.push_back(
      Compare::CreateRevision("job", Compare::Result::kEqual, job.create_revision));
  cas.compare.push_back(Compare::Version("job", Compare::Result::kEqual, 2));
  cas.compare.push_back(Compare::Value("job", Compare::Result::kEqual, "v2"));
  cas.success.emplace_back(Set("job", "v3"));
  const TxnResponse r = store->Txn(cas).value();
  ASSERT_TRUE(r.succeeded);
  const KeyValue now = Find(*store, "job").value();
  EXPECT_EQ(now.create_revision, job.create_revision);
  EXPECT_EQ(now.mod_revision, r.revision);
  EXPECT_EQ(now.version, 3);
}

TEST_F(EmbeddedStoreTest, HistoryBeforeReopenIsCompacted) {
  Revision before = 0;
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Put(Set("a", "1")).ok());
    ASSERT_TRUE(store->Put(Set("a", "2")).ok());
    before = CurrentRevision(*store);
  }
  auto store = OpenStore();
  EXPECT_EQ(store->Range(Get("a", before - 1)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->Range(Get("a", before)).value().kvs.at(0).value, "2");
  // The events of `before` are gone: a watch from it must reload, not miss them.
  WatchRecorder compacted;
  auto h1 = store->Watch(WatchPrefix("a", before), compacted.Callback()).value();
  ASSERT_TRUE(compacted.WaitForEnd());
  EXPECT_EQ(compacted.end().compact_revision, before + 1);
  WatchRecorder live;
  auto h2 = store->Watch(WatchPrefix("a", before + 1), live.Callback()).value();
  ASSERT_TRUE(store->Put(Set("a", "3")).ok());
  ASSERT_TRUE(live.WaitForEvents(1));
  EXPECT_EQ(live.events()[0].kv.mod_revision, before + 1);
}

TEST_F(EmbeddedStoreTest, SecondStoreOnTheSameFileIsRefused) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Put(Set("a", "1")).ok());
  const auto second = EmbeddedStore::Open(Options());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
}

// --- Opening bad files -------------------------------------------------------------

TEST_F(EmbeddedStoreTest, FileThatIsNotSqliteIsUnavailable) {
  std::ofstream(path_) << "jobs:\n  - name: backup\n    cron: '0 3 * * *'\n"
                       << std::string(2000, '#');
  const auto store = EmbeddedStore::Open(Options());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_NE(store.status().message().find(path_), absl::string_view::npos) << store.status();
}

TEST_F(EmbeddedStoreTest, ForeignSqliteDatabaseIsUnavailableAndUntouched) {
  ExecSql(
      "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES(1, 'x')");
  const auto store = EmbeddedStore::Open(Options());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_NE(store.status().message().find("not a Forest embedded store"), absl::string_view::npos)
      << store.status();
  ExecSql("SELECT * FROM users");  // still readable, not switched to WAL by us
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "delete");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(EmbeddedStoreTest, UnsupportedFormatIsUnavailable) {
  { OpenStore(); }
  ExecSql("UPDATE meta SET value = 99 WHERE name = 'format'");
  const auto store = EmbeddedStore::Open(Options());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
}

TEST_F(EmbeddedStoreTest, CorruptPagesAreDataLoss) {
  {
    auto store = OpenStore();
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE(store->Put(Set(fmt::format("job/{:05}", i), std::string(100, 'v'))).ok());
    }
  }
  const auto size = std::filesystem::file_size(path_);
  ASSERT_GT(size, 16 * 4096u);
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);  // every page after the header page
    const std::string garbage(size - 4096, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  const auto store = EmbeddedStore::Open(Options());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

TEST_F(EmbeddedStoreTest, InvalidRowsAreDataLoss) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Put(Set("a", "1")).ok());
  }
  ExecSql("UPDATE kv SET mod_revision = 1000 WHERE key = CAST('a' AS BLOB)");
  const auto store = EmbeddedStore::Open(Options());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

TEST_F(EmbeddedStoreTest, UnopenablePathIsUnavailable) {
  EmbeddedStoreOptions o = Options();
  o.sqlite_path = dir_ + "/no/such/dir/store.db";
  EXPECT_EQ(EmbeddedStore::Open(o).status().code(), absl::StatusCode::kUnavailable);
}

// --- Leases on the injected clock --------------------------------------------------

TEST_F(EmbeddedStoreTest, ExpiredLeaseDeletesItsKeysAndWatchersSeeIt) {
  auto store = OpenStore();
  const LeaseGrant grant = store->GrantLease(seconds(10)).value();
  EXPECT_EQ(grant.ttl, seconds(10));
  ASSERT_TRUE(store->Put(Set("w/a", "1", grant.id)).ok());
  ASSERT_TRUE(store->Put(Set("w/b", "2", grant.id)).ok());
  ASSERT_TRUE(store->Put(Set("w/keep", "3")).ok());
  const Revision before = CurrentRevision(*store);
  WatchRecorder collector;
  WatchRequest request = WatchPrefix("w/");
  request.prev_kv = true;
  auto handle = store->Watch(request, collector.Callback()).value();

  clock_.Advance(milliseconds(9000));
  store->ExpireLeases();
  EXPECT_EQ(store->LeaseTimeToLive(grant.id, false).value().remaining, seconds(1));
  EXPECT_TRUE(Find(*store, "w/a").has_value());

  clock_.Advance(milliseconds(1000));
  store->ExpireLeases();
  EXPECT_FALSE(Find(*store, "w/a").has_value());
  EXPECT_FALSE(Find(*store, "w/b").has_value());
  EXPECT_TRUE(Find(*store, "w/keep").has_value());
  EXPECT_EQ(CurrentRevision(*store), before + 1);  // one revision for the whole lease
  EXPECT_EQ(store->LeaseTimeToLive(grant.id, false).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Put(Set("w/c", "1", grant.id)).status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(collector.WaitForEvents(2));
  const auto events = collector.events();
  ASSERT_EQ(events.size(), 2u);
  for (const WatchEvent& e : events) {
    EXPECT_EQ(e.type, WatchEvent::Type::kDelete);
    EXPECT_EQ(e.kv.mod_revision, before + 1);
    ASSERT_TRUE(e.prev_kv.has_value());
    EXPECT_EQ(e.prev_kv->lease, grant.id);
  }
  EXPECT_EQ(events[0].kv.key, "w/a");
  EXPECT_EQ(events[1].kv.key, "w/b");
}

TEST_F(EmbeddedStoreTest, BackgroundThreadExpiresLeases) {
  auto store = OpenStore(false);
  const LeaseId lease = store->GrantLease(seconds(2)).value().id;
  ASSERT_TRUE(store->Put(Set("k", "v", lease)).ok());
  clock_.Advance(milliseconds(2000));
  EXPECT_TRUE(WaitUntil([&] { return !Find(*store, "k").has_value(); }));
}

TEST_F(EmbeddedStoreTest, LeaseTtlHasAMinimumAndTimeToLiveListsKeys) {
  auto store = OpenStore(false);
  const LeaseGrant grant = store->GrantLease(seconds(0)).value();
  EXPECT_EQ(grant.ttl, seconds(1));
  EXPECT_GT(grant.id, 0);
  ASSERT_TRUE(store->Put(Set("b", "", grant.id)).ok());
  ASSERT_TRUE(store->Put(Set("a", "", grant.id)).ok());
  const LeaseStatus status = store->LeaseTimeToLive(grant.id, true).value();
  EXPECT_EQ(status.granted_ttl, seconds(1));
  EXPECT_EQ(status.keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(store->LeaseTimeToLive(grant.id, false).value().keys.empty());
  std::set<LeaseId> ids{grant.id};
  for (int i = 0; i < 100; ++i) ids.insert(store->GrantLease(seconds(5)).value().id);
  EXPECT_EQ(ids.size(), 101u);
}

TEST_F(EmbeddedStoreTest, RevokeDeletesKeysInOneRevision) {
  auto store = OpenStore(false);
  const LeaseId lease = store->GrantLease(seconds(10)).value().id;
  ASSERT_TRUE(store->Put(Set("a", "", lease)).ok());
  ASSERT_TRUE(store->Put(Set("b", "", lease)).ok());
  const Revision before = CurrentRevision(*store);
  ASSERT_TRUE(store->RevokeLease(lease).ok());
  EXPECT_EQ(CurrentRevision(*store), before + 1);
  EXPECT_EQ(store->Range(Prefix("")).value().count, 0);
  EXPECT_EQ(store->RevokeLease(lease).code(), absl::StatusCode::kNotFound);
  // A lease without keys goes without a revision.
  const LeaseId empty = store->GrantLease(seconds(10)).value().id;
  ASSERT_TRUE(store->RevokeLease(empty).ok());
  EXPECT_EQ(CurrentRevision(*store), before + 1);
}

TEST_F(EmbeddedStoreTest, KeepAliveKeepsTheLeaseWhileTheClockMoves) {
  auto store = OpenStore(false);
  const LeaseGrant grant = store->GrantLease(seconds(3)).value();
  ASSERT_TRUE(store->Put(Set("leader", "me", grant.id)).ok());
  std::atomic<int> lost{0};
  KeepAliveOptions options;
  options.safety_margin = milliseconds(500);
  options.on_lost = [&] { ++lost; };
  auto keeper = store->KeepAlive(grant.id, options).value();
  EXPECT_EQ(keeper->id(), grant.id);
  // 12 s of fake time in 200 ms steps (TTL/3 is 1 s); the keeper polls every
  // 20 ms of real time, so give it a few polls per step.
  for (int step = 0; step < 60; ++step) {
    clock_.Advance(milliseconds(200));
    std::this_thread::sleep_for(milliseconds(40));
    store->ExpireLeases();
    ASSERT_TRUE(Find(*store, "leader").has_value()) << "lease expired at step " << step;
  }
  EXPECT_FALSE(keeper->lost());
  EXPECT_EQ(lost, 0);
  EXPECT_GT(keeper->deadline(), clock_.Now());
  keeper.reset();  // stops renewing, does not revoke
  EXPECT_TRUE(Find(*store, "leader").has_value());
  clock_.Advance(milliseconds(3000));
  store->ExpireLeases();
  EXPECT_FALSE(Find(*store, "leader").has_value());
}

TEST_F(EmbeddedStoreTest, KeepAliveOfAGoneLeaseFailsAndRevokeIsNoticed) {
  auto store = OpenStore(false);
  EXPECT_EQ(store->KeepAlive(12345, {}).status().code(), absl::StatusCode::kNotFound);
  const LeaseId lease = store->GrantLease(seconds(3)).value().id;
  std::atomic<int> lost{0};
  KeepAliveOptions options;
  options.safety_margin = milliseconds(500);
  options.on_lost = [&] { ++lost; };
  auto keeper = store->KeepAlive(lease, options).value();
  ASSERT_TRUE(store->RevokeLease(lease).ok());
  // The next renewal (due after TTL/3) learns the lease is gone.
  clock_.Advance(milliseconds(1100));
  EXPECT_TRUE(WaitUntil([&] { return lost == 1; }));
  EXPECT_TRUE(keeper->lost());
}

TEST_F(EmbeddedStoreTest, KeeperMayOutliveTheStore) {
  auto store = OpenStore(false);
  const LeaseId lease = store->GrantLease(seconds(3)).value().id;
  auto keeper = store->KeepAlive(lease, {}).value();
  store.reset();
  clock_.Advance(milliseconds(1500));  // a renewal is due: it gets kCancelled
  std::this_thread::sleep_for(milliseconds(60));
  keeper.reset();
}

// --- History --------------------------------------------------------------------

TEST_F(EmbeddedStoreTest, HistoryLimitCompactsTheOldestRevisions) {
  EmbeddedStoreOptions o = Options(false);
  o.history_limit = 10;
  auto store = EmbeddedStore::Open(o).value();
  for (int i = 1; i <= 30; ++i) ASSERT_TRUE(store->Put(Set("h", std::to_string(i))).ok());
  const Revision now = CurrentRevision(*store);  // 31; events of 22..31 kept
  EXPECT_EQ(store->Range(Get("h", 5)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->Range(Get("h", now - 5)).value().kvs.at(0).value, "25");

  WatchRecorder old;
  auto h1 = store->Watch(WatchPrefix("h", 5), old.Callback()).value();
  ASSERT_TRUE(old.WaitForEnd());
  EXPECT_TRUE(old.end().ended);
  EXPECT_EQ(old.end().compact_revision, now - 9);
  EXPECT_TRUE(old.events().empty());

  WatchRecorder recent;
  auto h2 = store->Watch(WatchPrefix("h", now - 9), recent.Callback()).value();
  ASSERT_TRUE(recent.WaitForEvents(10));
  EXPECT_EQ(recent.events().front().kv.value, "21");
  EXPECT_EQ(recent.events().back().kv.value, "30");
  EXPECT_EQ(recent.ends(), 0);
}

TEST_F(EmbeddedStoreTest, HistoryLimitKeepsWholeRevisions) {
  EmbeddedStoreOptions o = Options(false);
  o.history_limit = 3;
  auto store = EmbeddedStore::Open(o).value();
  TxnRequest txn;
  for (int i = 0; i < 5; ++i) txn.success.emplace_back(Set(fmt::format("t/{}", i), "x"));
  const Revision big = store->Txn(txn).value().revision;
  // The one revision exceeds the limit alone: it goes, and watches from it are compacted.
  WatchRecorder collector;
  auto handle = store->Watch(WatchPrefix("t/", big), collector.Callback()).value();
  ASSERT_TRUE(collector.WaitForEnd());
  EXPECT_TRUE(collector.events().empty());
  EXPECT_EQ(store->Range(Prefix("t/")).value().count, 5);
  EXPECT_EQ(store
                ->Range([&] {
                  RangeRequest r = Prefix("t/");
                  r.revision = big;
                  return r;
                }())
                .value()
                .count,
            5);
}

// --- Concurrency ----------------------------------------------------------------

TEST_F(EmbeddedStoreTest, ConcurrentCompareAndSwapLosesNoUpdate) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Put(Set("counter", "0")).ok());
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<Revision> all_revisions;
  std::atomic<bool> ordered{true};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Revision last = 0;
      for (int done = 0; done < kIncrements;) {
        const KeyValue kv = store->Range(Get("counter")).value().kvs.at(0);
        TxnRequest txn;
        txn.compare.push_back(
            Compare::ModRevision("counter", Compare::Result::kEqual, kv.mod_revision));
        txn.success.emplace_back(Set("counter", std::to_string(std::stoi(kv.value) + 1)));
        const TxnResponse r = store->Txn(txn).value();
        if (r.revision <= last && r.succeeded) ordered = false;
        if (r.revision < last) ordered = false;
        last = r.revision;
        if (r.succeeded) {
          ++done;
          std::lock_guard lock(mu);
          all_revisions.push_back(r.revision);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(Find(*store, "counter")->value, std::to_string(kThreads * kIncrements));
  EXPECT_EQ(Find(*store, "counter")->version, kThreads * kIncrements + 1);
  EXPECT_EQ(std::set<Revision>(all_revisions.begin(), all_revisions.end()).size(),
            all_revisions.size());
  store.reset();
  store = OpenStore();
  EXPECT_EQ(Find(*store, "counter")->value, std::to_string(kThreads * kIncrements));
}

// --- Watches --------------------------------------------------------------------

TEST_F(EmbeddedStoreTest, WatchDeliversEveryEventOnceInRevisionOrder) {
  auto store = OpenStore(false);
  ASSERT_TRUE(store->Put(Set("w/early", "0")).ok());
  const Revision start = CurrentRevision(*store);  // replays the put at `start`
  WatchRecorder collector;
  auto handle = store->Watch(WatchPrefix("w/", start), collector.Callback()).value();
  constexpr int kThreads = 3;
  constexpr int kPuts = 200;
  std::mutex mu;
  std::set<Revision> written{start};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPuts; ++i) {
        const Revision r = store->Put(Set(fmt::format("w/{}/{}", t, i % 7), "v")).value().revision;
        ASSERT_TRUE(store->Put(Set(fmt::format("other/{}", t), "v")).ok());  // not watched
        std::lock_guard lock(mu);
        written.insert(r);
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_TRUE(collector.WaitForEvents(written.size()));
  std::this_thread::sleep_for(milliseconds(20));  // nothing more may come
  const auto events = collector.events();
  ASSERT_EQ(events.size(), written.size());
  std::set<Revision> seen;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(events[i - 1].kv.mod_revision, events[i].kv.mod_revision);
    }
    EXPECT_EQ(events[i].kv.key.rfind("w/", 0), 0u);
    seen.insert(events[i].kv.mod_revision);
  }
  EXPECT_EQ(seen, written);
}

TEST_F(EmbeddedStoreTest, DestroyingAHandleFromAnotherThreadStopsItsCallbacks) {
  auto store = OpenStore(false);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) ASSERT_TRUE(store->Put(Set(fmt::format("d/{}", i % 10), "v")).ok());
  });
  for (int round = 0; round < 20; ++round) {
    constexpr int kWatchers = 3;
    std::atomic<int> calls[kWatchers] = {};
    std::atomic<bool> destroyed[kWatchers] = {};
    std::atomic<bool> late{false};
    std::vector<std::unique_ptr<WatchHandle>> handles;
    for (int w = 0; w < kWatchers; ++w) {
      handles.push_back(store
                            ->Watch(WatchPrefix("d/"),
                                    [&, w](WatchUpdate) {
                                      if (destroyed[w]) late = true;
                                      ++calls[w];
                                      std::this_thread::sleep_for(std::chrono::microseconds(200));
                                      if (destroyed[w]) late = true;
                                    })
                            .value());
    }
    ASSERT_TRUE(WaitUntil([&] {
      for (auto& c : calls) {
        if (c < 2) return false;
      }
      return true;
    }));
    std::vector<std::thread> destroyers;
    for (int w = 0; w < kWatchers; ++w) {
      destroyers.emplace_back([&, w] {
        handles[w].reset();
        destroyed[w] = true;
      });
    }
    for (auto& d : destroyers) d.join();
    std::this_thread::sleep_for(milliseconds(2));
    EXPECT_FALSE(late) << "a callback ran after its handle was destroyed, round " << round;
  }
  stop = true;
  writer.join();
}

TEST_F(EmbeddedStoreTest, CallbacksMayCallTheStore) {
  auto store = OpenStore(false);
  std::atomic<int> reads{0};
  WatchRecorder echoes;
  auto echo_handle = store->Watch(WatchPrefix("echo/"), echoes.Callback()).value();
  auto handle = store
                    ->Watch(WatchPrefix("in/"),
                            [&](WatchUpdate update) {
                              for (const WatchEvent& e : update.events) {
                                if (store->Range(Get(e.kv.key)).ok()) ++reads;
                                ASSERT_TRUE(store->Put(Set("echo/" + e.kv.key, e.kv.value)).ok());
                              }
                            })
                    .value();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->Put(Set(fmt::format("in/{}", i), "x")).ok());
  ASSERT_TRUE(echoes.WaitForEvents(20));
  EXPECT_EQ(reads, 20);
}

TEST_F(EmbeddedStoreTest, ClosingTheStoreEndsEveryWatch) {
  auto store = OpenStore(false);
  WatchRecorder a, b;
  auto ha = store->Watch(WatchPrefix("a/"), a.Callback()).value();
  auto hb = store->Watch(WatchPrefix("b/"), b.Callback()).value();
  ASSERT_TRUE(store->Put(Set("a/1", "x")).ok());
  store.reset();
  // Queued events first, then the end.
  EXPECT_EQ(a.events().size(), 1u);
  for (WatchRecorder* c : {&a, &b}) {
    EXPECT_EQ(c->ends(), 1);
    EXPECT_TRUE(c->end().ended);
    EXPECT_EQ(c->end().status.code(), absl::StatusCode::kCancelled);
    EXPECT_EQ(c->end().compact_revision, 0);
  }
  ha.reset();  // handles outliving the store are fine
  hb.reset();
}

TEST_F(EmbeddedStoreTest, CompactedWatchEndsAndLaterOnesReplay) {
  auto store = OpenStore(false);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->Put(Set("c", std::to_string(i))).ok());  // 2..6
  ASSERT_TRUE(store->Compact(4).ok());
  EXPECT_EQ(store->Compact(4).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->Compact(100).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->Range(Get("c", 3)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->Range(Get("c", 4)).value().kvs.at(0).value, "2");

  WatchRecorder old;
  auto h1 = store->Watch(WatchPrefix("c", 3), old.Callback()).value();
  ASSERT_TRUE(old.WaitForEnd());
  EXPECT_EQ(old.end().compact_revision, 4);

  WatchRecorder from_compaction;
  WatchRequest request = WatchPrefix("c", 4);
  request.prev_kv = true;
  auto h2 = store->Watch(request, from_compaction.Callback()).value();
  ASSERT_TRUE(from_compaction.WaitForEvents(3));
  const auto events = from_compaction.events();
  EXPECT_EQ(events[0].kv.mod_revision, 4);
  EXPECT_EQ(events[0].prev_kv->value, "1");
  EXPECT_EQ(events[2].kv.value, "4");
}

}  // namespace
}  // namespace forest::coord
