// The execution history end to end: a real etcd, real PostgreSQL and
// MariaDB servers, real `forest server` processes. The test plays the
// workers: it writes execution records straight into etcd under
// /forest/client/execute/snapshot/{group}/{worker}/{id}, and the leader's
// collector must store them in job_execute_snapshot (upsert by id), then
// delete the keys of the final ones; values that are no record go to
// forest_quarantine and their keys are deleted too.
//
// Covered: a round trip on PostgreSQL (running records, then final), malformed
// records, the database stopped and restarted mid-stream (PostgreSQL and
// MariaDB), and the leader SIGKILLed mid-stream with two followers waiting.
// The invariant every test ends on: each id written is in the table exactly
// once, and the execute prefix in etcd is empty.
//
// Each test has its own etcd, servers and temporary directory. The database
// servers are started once per binary, on first use, and their tables are
// dropped before each test (every server creates them again). Destructors
// kill whatever a test started, so a failed assertion leaves nothing behind.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "coord/election.h"
#include "coord/etcd/etcd_store.h"
#include "coord/testing/etcd_cluster.h"
#include "history/testing/db_servers.h"
#include "model/keys.h"
#include "model/snapshot.h"
#include "process.h"

extern char** environ;

namespace forest {
namespace {

namespace fs = std::filesystem;
namespace keys = model::keys;
using history::testing::DbServer;
using model::ExecutionRecord;
using model::RunStatus;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;
using integration::Eventually;
using integration::ReadFile;
using integration::ServerProcess;
using integration::Tail;
using integration::TempDir;

// The servers' lease: a SIGKILLed leader is replaced within about this.
constexpr seconds kLeaseTtl{2};
constexpr char kGroup[] = "hist";
// How long the collector may take to drain what is in etcd. Generous: after
// a database outage its backoff reaches up to 5 s, and sanitizer builds are
// slow.
constexpr milliseconds kDrainLimit{60000};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string piece;
  std::istringstream in(s);
  while (std::getline(in, piece, sep)) out.push_back(piece);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

// An SQL string literal (no backslashes in our values: MariaDB would read
// them as escapes).
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// The record of run `id` as a worker writes it: running, or finished (most
// succeed, every tenth fails). The run's `ip` differs from the key's worker
// segment on purpose: the `worker` column must come from the key.
ExecutionRecord MakeRecord(const std::string& id, const std::string& worker, int i,
                           RunStatus status) {
  ExecutionRecord r;
  r.run.id = id;
  r.run.job_id = fmt::format("job-{}", i % 7);
  r.run.name = "history e2e";
  r.run.ip = "ip-of-" + worker;
  r.run.group = kGroup;
  r.run.cron = "*/5 * * * * ?";
  r.run.target = "echo";
  r.run.params = "p";
  r.run.create_time = "2026-03-01 08:00:00";
  r.start_time = "2026-03-01 08:00:01";
  r.status = status;
  if (model::IsFinal(status)) {
    r.finish_time = "2026-03-01 08:00:02";
    r.times = 1;
    r.result = "result of " + id;
    r.duration_ms = 1000 + i;
    r.exit_code = status == RunStatus::kSuccess ? 0 : 1;
    r.output = fmt::format("output of {} ({} bytes of it)", id, i);
  }
  return r;
}

RunStatus FinalStatus(int i) { return i % 10 == 9 ? RunStatus::kError : RunStatus::kSuccess; }
std::string WorkerOf(int i) { return fmt::format("w{}", i % 4); }
std::string IdOf(const std::string& prefix, int i) { return fmt::format("{}-{:05d}", prefix, i); }
std::string KeyOf(const std::string& prefix, int i) {
  return keys::Execute(kGroup, WorkerOf(i), IdOf(prefix, i));
}

// Keys under the execute prefix (count only).
int64_t CountRecords(coord::Store& store) {
  coord::RangeRequest r;
  r.key = std::string(keys::kExecutePrefix);
  r.range_end = coord::PrefixEnd(r.key);
  r.count_only = true;
  auto response = store.Range(r);
  return response.ok() ? response->count : -1;
}

std::set<std::string> RecordKeys(coord::Store& store) {
  coord::RangeRequest r;
  r.key = std::string(keys::kExecutePrefix);
  r.range_end = coord::PrefixEnd(r.key);
  r.keys_only = true;
  auto response = store.Range(r);
  EXPECT_TRUE(response.ok()) << response.status();
  std::set<std::string> out;
  if (response.ok()) {
    for (const coord::KeyValue& kv : response->kvs) out.insert(kv.key);
  }
  return out;
}

// Puts every (key, value), a hundred per transaction.
void PutAll(coord::Store& store, const std::vector<std::pair<std::string, std::string>>& kvs) {
  for (size_t begin = 0; begin < kvs.size(); begin += 100) {
    coord::TxnRequest txn;
    for (size_t i = begin; i < std::min(kvs.size(), begin + 100); ++i) {
      txn.success.push_back(coord::PutRequest{kvs[i].first, kvs[i].second, 0, false});
    }
    auto response = store.Txn(txn);
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_TRUE(response->succeeded);
  }
}

// Plays a fleet of workers: on its own thread, writes the final records of
// ids prefix-00000 .. prefix-{total-1} at a steady pace over `duration`,
// one Put each as a worker does; every fifth run is first written running
// (so the collector sees the same key twice). Puts that fail are retried.
class RecordWriter {
 public:
  RecordWriter(coord::Store& store, std::string prefix, int total, milliseconds duration)
      : store_(store), prefix_(std::move(prefix)), total_(total), duration_(duration) {
    thread_ = std::thread([this] { Run(); });
  }
  ~RecordWriter() {
    stop_ = true;
    Join();
  }
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Ids 0 .. written()-1 have their final record in etcd (id written() may
  // be on its way).
  int written() const { return written_.load(); }
  bool done() const { return written() == total_; }
  int put_errors() const { return put_errors_.load(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  std::set<std::string> Ids() const {
    std::set<std::string> ids;
    for (int i = 0; i < written(); ++i) ids.insert(IdOf(prefix_, i));
    return ids;
  }

 private:
  void Run() {
    const auto start = Steady::now();
    for (int i = 0; i < total_ && !stop_; ++i) {
      std::this_thread::sleep_until(start + duration_ * i / total_);
      if (i % 5 == 0) {
        Put(KeyOf(prefix_, i), MakeRecord(IdOf(prefix_, i), WorkerOf(i), i, RunStatus::kRunning));
      }
      if (!Put(KeyOf(prefix_, i), MakeRecord(IdOf(prefix_, i), WorkerOf(i), i, FinalStatus(i)))) {
        return;
      }
      written_.store(i + 1);
    }
  }
  bool Put(const std::string& key, const ExecutionRecord& record) {
    const std::string value = record.ToJson();
    while (!stop_) {
      if (store_.Put({key, value, 0, false}).ok()) return true;
      ++put_errors_;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  coord::Store& store_;
  const std::string prefix_;
  const int total_;
  const milliseconds duration_;
  std::atomic<bool> stop_{false};
  std::atomic<int> written_{0};
  std::atomic<int> put_errors_{0};
  std::thread thread_;
};

// The database servers, one of each per binary, started on first use and
// stopped when the tests are over.
enum class DbKind { kPostgres, kMariaDb };

struct SharedDb {
  bool tried = false;
  absl::Status error;
  std::unique_ptr<DbServer> server;
};

SharedDb& Shared(DbKind kind) {
  static SharedDb postgres, mariadb;
  return kind == DbKind::kPostgres ? postgres : mariadb;
}

class DbEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    Shared(DbKind::kPostgres).server.reset();
    Shared(DbKind::kMariaDb).server.reset();
  }
};
[[maybe_unused]] ::testing::Environment* const kDbEnvironment =
    ::testing::AddGlobalTestEnvironment(new DbEnvironment);

class HistoryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("history-e2e");
    ASSERT_FALSE(dir_->path().empty()) << "mkdtemp failed";
    auto cluster = coord::testing::EtcdCluster::Start(1);
    if (!cluster.ok()) {
      if (cluster.status().code() == absl::StatusCode::kNotFound) {
        GTEST_SKIP() << "etcd is not installed: " << cluster.status().message();
      }
      FAIL() << "cannot start etcd: " << cluster.status();
    }
    cluster_ = *std::move(cluster);
    coord::EtcdStoreOptions options;
    options.endpoints = {cluster_->endpoint(0)};
    auto store = coord::EtcdStore::Connect(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    RegisterWorkers();
  }

  void TearDown() override {
    if (HasFailure()) {  // what the servers said
      for (const auto& [id, server] : servers_) {
        std::cout << "---- server " << id << " log (tail):\n" << Tail(server->Log()) << "\n";
      }
    }
    servers_.clear();  // SIGKILL
    workers_lease_.reset();
    store_.reset();
    cluster_.reset();
    dir_.reset();
  }

  // Registers the workers w0..w3 of the group (their client keys, under a
  // lease kept alive until the test ends), as live workers would be: the
  // leader marks the running records of an unregistered worker lost.
  void RegisterWorkers() {
    auto lease = store_->GrantLease(seconds(10));
    ASSERT_TRUE(lease.ok()) << lease.status();
    auto keeper = store_->KeepAlive(lease->id, {});
    ASSERT_TRUE(keeper.ok()) << keeper.status();
    workers_lease_ = *std::move(keeper);
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(
          store_->Put({keys::Client(kGroup, WorkerOf(i)), WorkerOf(i), lease->id, false}).ok());
    }
  }

  // Sets `db` to the shared database of `kind`, its tables dropped; leaves
  // it null (the test skipped or failed) when it cannot run. Call as
  //   DbServer* db = nullptr; UseDb(kind, db); if (db == nullptr) return;
  void UseDb(DbKind kind, DbServer*& db) {
    SharedDb& shared = Shared(kind);
    if (!shared.tried) {
      shared.tried = true;
      auto started =
          kind == DbKind::kPostgres ? DbServer::StartPostgres() : DbServer::StartMariaDb();
      if (started.ok()) {
        shared.server = *std::move(started);
      } else {
        shared.error = started.status();
      }
    }
    if (shared.server == nullptr) {
      const char* name = kind == DbKind::kPostgres ? "PostgreSQL" : "MariaDB";
      if (shared.error.code() == absl::StatusCode::kNotFound) {
        GTEST_SKIP() << name << " is not installed: " << shared.error.message();
      } else {
        ADD_FAILURE() << "cannot start " << name << ": " << shared.error;
      }
      return;
    }
    DbServer& server = *shared.server;
    if (!server.running()) {
      const absl::Status restarted = server.Start();  // a previous test left it stopped
      if (!restarted.ok()) {
        ADD_FAILURE() << "cannot restart " << server.kind() << ": " << restarted;
        return;
      }
    }
    const absl::Status dropped = server.Exec(
        "DROP TABLE IF EXISTS job_execute_snapshot, forest_quarantine, forest_audit, forest_alarm, "
        "forest_alarm_delivery, forest_alarm_condition, "
        "forest_schema_migrations");
    if (!dropped.ok()) {
      ADD_FAILURE() << "cannot drop the history tables: " << dropped;
      return;
    }
    db = &server;
  }

  // Starts `forest server` --node-id `id` on this test's etcd and `db`.
  ServerProcess& StartServer(const std::string& id, DbServer& db) {
    const int http_port = coord::testing::FreeLoopbackPorts(1).at(0);
    std::vector<std::string> args = {FOREST_BINARY,      "server",
                                     "--etcd-endpoints", cluster_->endpoint(0),
                                     "--db-url",         db.url(),
                                     "--node-id",        id,
                                     "--data-dir",       (dir_->path() / (id + "-data")).string(),
                                     "--http-address",   fmt::format("127.0.0.1:{}", http_port),
                                     "--lease-ttl",      fmt::format("{}s", kLeaseTtl.count())};
    auto server = std::make_unique<ServerProcess>(id, http_port, std::move(args), dir_->path());
    EXPECT_TRUE(server->Start()) << "cannot spawn " << FOREST_BINARY;
    ServerProcess& ref = *server;
    servers_[id] = std::move(server);
    return ref;
  }

  std::optional<coord::KeyValue> Leader() {
    coord::RangeRequest r;
    r.key = std::string(coord::kLeaderKey);
    auto response = store_->Range(r);
    if (!response.ok() || response->kvs.empty()) return std::nullopt;
    return response->kvs.front();
  }

  // Waits for a leader whose key is not the one created at `previous` (0:
  // any leader); nullopt after `limit`.
  std::optional<coord::KeyValue> WaitForLeader(coord::Revision previous,
                                               milliseconds limit = milliseconds(20000)) {
    std::optional<coord::KeyValue> leader;
    Eventually(
        [&] {
          leader = Leader();
          return leader.has_value() && leader->create_revision != previous;
        },
        limit, milliseconds(20));
    if (leader.has_value() && leader->create_revision == previous) return std::nullopt;
    return leader;
  }

  bool NodeRegistered(const std::string& id) {
    coord::RangeRequest r;
    r.key = keys::Node(id);
    r.count_only = true;
    auto response = store_->Range(r);
    return response.ok() && response->count == 1;
  }

  bool PrefixEmptyWithin(milliseconds limit) {
    return Eventually([&] { return CountRecords(*store_) == 0; }, limit, milliseconds(100));
  }

  // `sql`'s single number; -1 when the query fails (the database is down).
  static int64_t Number(DbServer& db, const std::string& sql) {
    auto answer = db.Query(sql);
    if (!answer.ok()) return -1;
    try {
      return std::stoll(*answer);
    } catch (const std::exception&) {
      return -1;
    }
  }
  static int64_t CountRows(DbServer& db, const std::string& where = "") {
    return Number(
        db, "SELECT COUNT(*) FROM job_execute_snapshot" + (where.empty() ? "" : " WHERE " + where));
  }

  // Every id in the table is one written, each exactly once, and none is
  // missing.
  static void ExpectExactlyOnce(DbServer& db, const std::set<std::string>& written) {
    auto counts = db.Query("SELECT COUNT(*), COUNT(DISTINCT id) FROM job_execute_snapshot");
    ASSERT_TRUE(counts.ok()) << counts.status();
    EXPECT_EQ(*counts, fmt::format("{}\t{}\n", written.size(), written.size()))
        << "COUNT(*) and COUNT(DISTINCT id) of job_execute_snapshot";
    auto ids = db.Query("SELECT id FROM job_execute_snapshot");
    ASSERT_TRUE(ids.ok()) << ids.status();
    std::multiset<std::string> stored;
    std::istringstream lines(*ids);
    for (std::string line; std::getline(lines, line);) stored.insert(line);
    std::vector<std::string> missing, unexpected, twice;
    for (const std::string& id : written) {
      if (stored.count(id) == 0) missing.push_back(id);
    }
    for (auto it = stored.begin(); it != stored.end(); it = stored.upper_bound(*it)) {
      if (written.count(*it) == 0) unexpected.push_back(*it);
      if (stored.count(*it) > 1) twice.push_back(*it);
    }
    EXPECT_TRUE(missing.empty()) << missing.size() << " ids missing, first " << missing.front();
    EXPECT_TRUE(unexpected.empty())
        << unexpected.size() << " ids never written, first \"" << unexpected.front() << "\"";
    EXPECT_TRUE(twice.empty()) << twice.size() << " ids more than once, first " << twice.front();
    EXPECT_EQ(CountRows(db, "status = 1"), 0) << "rows left running";
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<coord::testing::EtcdCluster> cluster_;
  std::unique_ptr<coord::EtcdStore> store_;
  std::unique_ptr<coord::LeaseKeeper> workers_lease_;
  std::map<std::string, std::unique_ptr<ServerProcess>> servers_;
};

// 500 runs are written running, then final. The running rows are stored and
// their keys kept; the final versions replace them and their keys go. Every
// field the worker wrote comes back from the table, with the key's worker
// segment and the collecting node.
TEST_F(HistoryE2eTest, PostgresStoresRunningThenFinalRecordsAndDeletesTheFinalKeys) {
  DbServer* db = nullptr;
  UseDb(DbKind::kPostgres, db);
  if (db == nullptr) return;
  StartServer("node-a", *db);
  const auto leader = WaitForLeader(0);
  ASSERT_TRUE(leader.has_value()) << "nobody was elected";
  ASSERT_EQ(leader->value, "node-a");

  constexpr int kRuns = 500;
  std::vector<std::pair<std::string, std::string>> running, final;
  for (int i = 0; i < kRuns; ++i) {
    running.emplace_back(KeyOf("rt", i),
                         MakeRecord(IdOf("rt", i), WorkerOf(i), i, RunStatus::kRunning).ToJson());
    final.emplace_back(KeyOf("rt", i),
                       MakeRecord(IdOf("rt", i), WorkerOf(i), i, FinalStatus(i)).ToJson());
  }
  PutAll(*store_, running);
  ASSERT_TRUE(Eventually([&] { return CountRows(*db, "status = 1") == kRuns; }, milliseconds(30000),
                         milliseconds(100)))
      << CountRows(*db, "status = 1") << " running rows of " << kRuns << "; by status:\n"
      << db->Query("SELECT status, COUNT(*) FROM job_execute_snapshot GROUP BY status")
             .value_or("(query failed)")
      << CountRecords(*store_) << " keys in etcd";
  // Running records stay in etcd: the worker still owns them.
  EXPECT_EQ(CountRecords(*store_), kRuns);

  PutAll(*store_, final);
  ASSERT_TRUE(PrefixEmptyWithin(kDrainLimit)) << CountRecords(*store_) << " records left in etcd";

  std::set<std::string> ids;
  for (int i = 0; i < kRuns; ++i) ids.insert(IdOf("rt", i));
  ExpectExactlyOnce(*db, ids);

  auto rows = db->Query(
      "SELECT id, status, worker, leader_node, ip, job_id, name, result, output, duration_ms, "
      "exit_code, start_time, finish_time, times FROM job_execute_snapshot ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::istringstream lines(*rows);
  int i = 0;
  for (std::string line; std::getline(lines, line); ++i) {
    ASSERT_LT(i, kRuns);
    const ExecutionRecord want = MakeRecord(IdOf("rt", i), WorkerOf(i), i, FinalStatus(i));
    const std::vector<std::string> got = Split(line, '\t');
    ASSERT_EQ(got.size(), 14u) << line;
    EXPECT_EQ(got[0], want.run.id);
    EXPECT_EQ(got[1], std::to_string(static_cast<int>(want.status))) << want.run.id;
    EXPECT_EQ(got[2], WorkerOf(i)) << want.run.id << ": worker is the key's segment";
    EXPECT_EQ(got[3], "node-a") << want.run.id;
    EXPECT_EQ(got[4], want.run.ip) << want.run.id;
    EXPECT_EQ(got[5], want.run.job_id) << want.run.id;
    EXPECT_EQ(got[6], want.run.name) << want.run.id;
    EXPECT_EQ(got[7], want.result) << want.run.id;
    EXPECT_EQ(got[8], want.output) << want.run.id;
    EXPECT_EQ(got[9], std::to_string(*want.duration_ms)) << want.run.id;
    EXPECT_EQ(got[10], std::to_string(*want.exit_code)) << want.run.id;
    EXPECT_EQ(got[11], want.start_time) << want.run.id;
    EXPECT_EQ(got[12], want.finish_time) << want.run.id;
    EXPECT_EQ(got[13], std::to_string(want.times)) << want.run.id;
    if (HasFailure()) break;  // one row's story is enough
  }
  EXPECT_EQ(i, kRuns);
}

// Values that are no execution record (not JSON, a status that does not
// exist, keys of the wrong shape under the prefix) are kept in
// forest_quarantine with their raw value and a reason, their keys deleted;
// the records around them are collected, and so are those written after.
TEST_F(HistoryE2eTest, MalformedRecordsAreQuarantinedAndCollectionGoesOn) {
  DbServer* db = nullptr;
  UseDb(DbKind::kPostgres, db);
  if (db == nullptr) return;
  StartServer("node-q", *db);
  ASSERT_TRUE(WaitForLeader(0).has_value()) << "nobody was elected";

  const std::string prefix(keys::kExecutePrefix);
  const std::string valid =
      MakeRecord("misplaced", "w1", 0, RunStatus::kSuccess).ToJson();  // under a bad key
  std::string bad_status = MakeRecord("bad-status", "w1", 0, RunStatus::kSuccess).ToJson();
  const size_t status_at = bad_status.find("\"status\":2");
  ASSERT_NE(status_at, std::string::npos) << bad_status;
  bad_status.replace(status_at, 10, "\"status\":7");
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {keys::Execute(kGroup, "w1", "not-json"), "this is {not JSON"},
      {keys::Execute(kGroup, "w1", "bad-status"), bad_status},
      {prefix + kGroup + "/w1", valid},                  // no id segment
      {prefix + kGroup + "/w1/misplaced/extra", valid},  // one segment too many
      {prefix + kGroup + "//misplaced", valid},          // an empty worker
  };

  std::vector<std::pair<std::string, std::string>> before = {
      {KeyOf("mq", 0), MakeRecord(IdOf("mq", 0), WorkerOf(0), 0, RunStatus::kSuccess).ToJson()}};
  PutAll(*store_, before);
  PutAll(*store_, malformed);
  ASSERT_TRUE(PrefixEmptyWithin(milliseconds(30000)))
      << CountRecords(*store_) << " keys left in etcd";

  EXPECT_EQ(Number(*db, "SELECT COUNT(*) FROM forest_quarantine"),
            static_cast<int64_t>(malformed.size()));
  for (const auto& [key, value] : malformed) {
    EXPECT_EQ(Number(*db, "SELECT COUNT(*) FROM forest_quarantine WHERE record_key = " +
                              Quote(key) + " AND raw_value = " + Quote(value) +
                              " AND reason IS NOT NULL AND reason <> ''"),
              1)
        << key << " is not quarantined with its value and a reason";
  }
  auto reasons = db->Query("SELECT record_key, reason FROM forest_quarantine ORDER BY id");
  ASSERT_TRUE(reasons.ok()) << reasons.status();
  std::cout << "quarantined:\n" << *reasons;
  // A valid record under a key of the wrong shape is not stored as a run.
  EXPECT_EQ(CountRows(*db, "id = 'misplaced'"), 0);
  EXPECT_EQ(CountRows(*db, "id = 'bad-status'"), 0);

  // The collector goes on.
  std::vector<std::pair<std::string, std::string>> after;
  std::set<std::string> ids = {IdOf("mq", 0)};
  for (int i = 1; i <= 50; ++i) {
    after.emplace_back(KeyOf("mq", i),
                       MakeRecord(IdOf("mq", i), WorkerOf(i), i, FinalStatus(i)).ToJson());
    ids.insert(IdOf("mq", i));
  }
  PutAll(*store_, after);
  ASSERT_TRUE(PrefixEmptyWithin(milliseconds(30000)))
      << CountRecords(*store_) << " records left in etcd";
  ExpectExactlyOnce(*db, ids);
  EXPECT_EQ(Number(*db, "SELECT COUNT(*) FROM forest_quarantine"),
            static_cast<int64_t>(malformed.size()));
}

class HistoryDbRestartTest : public HistoryE2eTest, public ::testing::WithParamInterface<DbKind> {};

// A writer streams 2,000 final records over 5 s; the database is stopped a
// fifth of the way in, stays down for 2 s while the records keep coming
// (they must stay in etcd: nothing is deleted before it is stored) and
// comes back. In the end every record is in the table once and etcd is
// empty.
TEST_P(HistoryDbRestartTest, DatabaseStoppedAndRestartedMidStreamLosesNothing) {
  DbServer* db = nullptr;
  UseDb(GetParam(), db);
  if (db == nullptr) return;
  StartServer("node-r", *db);
  ASSERT_TRUE(WaitForLeader(0).has_value()) << "nobody was elected";

  constexpr int kRuns = 2000;
  RecordWriter writer(*store_, "rs", kRuns, milliseconds(5000));
  // The collector is storing when the database goes.
  ASSERT_TRUE(Eventually([&] { return writer.written() >= 300 && CountRows(*db) > 0; },
                         milliseconds(20000), milliseconds(20)))
      << writer.written() << " written, " << CountRows(*db) << " stored";
  db->Stop();
  const int written_at_stop = writer.written();
  ASSERT_LT(written_at_stop, kRuns) << "the stream ended before the database went";

  // Down for 2 s while the writer goes on.
  std::this_thread::sleep_for(milliseconds(2000));
  const int written_while_down = writer.written();
  const std::set<std::string> in_etcd = RecordKeys(*store_);
  // Ids after written_at_stop were written once the database was down: none
  // can have been stored, so every key is still there.
  EXPECT_GT(written_while_down, written_at_stop + 1) << "the writer stalled";
  int deleted = 0;
  for (int i = written_at_stop + 1; i < written_while_down; ++i) {
    if (in_etcd.count(KeyOf("rs", i)) == 0) ++deleted;
  }
  EXPECT_EQ(deleted, 0) << "keys deleted while the database was down (of "
                        << written_while_down - written_at_stop - 1 << " written meanwhile)";
  std::cout << written_at_stop << " records written before the stop, "
            << written_while_down - written_at_stop << " while down, " << in_etcd.size()
            << " keys in etcd at the restart\n";

  const absl::Status started = db->Start();
  ASSERT_TRUE(started.ok()) << started;
  writer.Join();
  ASSERT_TRUE(writer.done());
  ASSERT_TRUE(PrefixEmptyWithin(kDrainLimit)) << CountRecords(*store_) << " records left in etcd";
  ExpectExactlyOnce(*db, writer.Ids());
  const std::string log = servers_.at("node-r")->Log();
  std::cout << "the server logged the outage: "
            << (log.find("cannot store a batch") != std::string::npos ? "yes" : "no")
            << "; put errors " << writer.put_errors() << "\n";
}

INSTANTIATE_TEST_SUITE_P(Databases, HistoryDbRestartTest,
                         ::testing::Values(DbKind::kPostgres, DbKind::kMariaDb),
                         [](const ::testing::TestParamInfo<DbKind>& param_info) {
                           return param_info.param == DbKind::kPostgres ? "PostgreSQL" : "MariaDB";
                         });

// Three servers on one etcd and one PostgreSQL; a writer streams 3,000 final
// records over 6 s; the leader is SIGKILLed once it has collected (and
// deleted) a few hundred, mid-stream. A follower takes over and collects the
// rest: every record is in the table once, etcd is empty, and leader_node
// shows both collectors.
TEST_F(HistoryE2eTest, LeaderKilledMidStreamAFollowerCollectsTheRest) {
  DbServer* db = nullptr;
  UseDb(DbKind::kPostgres, db);
  if (db == nullptr) return;
  // The first creates the schema alone; then the followers join.
  StartServer("node-1", *db);
  const auto first = WaitForLeader(0);
  ASSERT_TRUE(first.has_value()) << "nobody was elected";
  StartServer("node-2", *db);
  StartServer("node-3", *db);
  ASSERT_TRUE(Eventually([&] { return NodeRegistered("node-2") && NodeRegistered("node-3"); },
                         milliseconds(20000)));

  constexpr int kRuns = 3000;
  RecordWriter writer(*store_, "lk", kRuns, milliseconds(6000));
  const std::string old_leader = first->value;
  const std::string mine = "leader_node = " + Quote(old_leader);
  // The leader has stored and deleted a few hundred records: those rows are
  // its for good (their keys are gone, nobody stores them again).
  int64_t deleted_by_old = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        const int written = writer.written();
        const int64_t left = CountRecords(*store_);
        deleted_by_old = left < 0 ? 0 : written - left;
        return deleted_by_old >= 300 && CountRows(*db, mine) >= 300;
      },
      milliseconds(20000), milliseconds(20)))
      << writer.written() << " written, " << CountRecords(*store_) << " in etcd";
  servers_.at(old_leader)->Kill();
  const int written_at_kill = writer.written();
  ASSERT_LT(written_at_kill + 1, kRuns) << "the stream ended before the kill";
  const auto killed_at = Steady::now();

  const auto next = WaitForLeader(first->create_revision);
  ASSERT_TRUE(next.has_value()) << "no new leader";
  ASSERT_NE(next->value, old_leader);
  std::cout << next->value << " leads "
            << std::chrono::duration_cast<milliseconds>(Steady::now() - killed_at).count()
            << " ms after the SIGKILL of " << old_leader << "; " << written_at_kill << " of "
            << kRuns << " records written by then\n";

  writer.Join();
  ASSERT_TRUE(writer.done());
  ASSERT_TRUE(PrefixEmptyWithin(kDrainLimit)) << CountRecords(*store_) << " records left in etcd";
  ExpectExactlyOnce(*db, writer.Ids());

  auto by_node = db->Query(
      "SELECT leader_node, COUNT(*) FROM job_execute_snapshot GROUP BY leader_node ORDER BY 1");
  ASSERT_TRUE(by_node.ok()) << by_node.status();
  std::cout << "rows by leader_node:\n" << *by_node;
  std::map<std::string, int64_t> counts;
  std::istringstream lines(*by_node);
  for (std::string line; std::getline(lines, line);) {
    const std::vector<std::string> cells = Split(line, '\t');
    ASSERT_EQ(cells.size(), 2u) << line;
    counts[cells[0]] = std::stoll(cells[1]);
  }
  for (const auto& [node, n] : counts) {
    EXPECT_TRUE(node == "node-1" || node == "node-2" || node == "node-3")
        << n << " rows collected by \"" << node << "\"";
  }
  EXPECT_GE(counts[old_leader], deleted_by_old) << "rows the killed leader had collected";
  EXPECT_GE(counts[next->value], 1) << "the new leader collected nothing";
  // Records written after the kill can only have been collected by another node.
  EXPECT_GE(kRuns - counts[old_leader], kRuns - written_at_kill - 1);
}

// A record that parses but cannot be stored (here an id longer than the id
// column's 64 characters) is quarantined; it does not hold back the others.
TEST_F(HistoryE2eTest, ARecordTheDatabaseRefusesDoesNotStopCollection) {
  DbServer* db = nullptr;
  UseDb(DbKind::kPostgres, db);
  if (db == nullptr) return;
  StartServer("node-p", *db);
  ASSERT_TRUE(WaitForLeader(0).has_value()) << "nobody was elected";

  const std::string long_id(80, 'x');
  const std::string poison_key = keys::Execute(kGroup, "w1", long_id);
  ASSERT_TRUE(
      store_
          ->Put({poison_key, MakeRecord(long_id, "w1", 0, RunStatus::kSuccess).ToJson(), 0, false})
          .ok());
  std::vector<std::pair<std::string, std::string>> after;
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    after.emplace_back(KeyOf("pp", i),
                       MakeRecord(IdOf("pp", i), WorkerOf(i), i, FinalStatus(i)).ToJson());
    ids.insert(IdOf("pp", i));
  }
  PutAll(*store_, after);
  ASSERT_TRUE(PrefixEmptyWithin(milliseconds(30000)))
      << CountRecords(*store_) << " records left in etcd";
  ExpectExactlyOnce(*db, ids);
  EXPECT_EQ(
      Number(*db, "SELECT COUNT(*) FROM forest_quarantine WHERE record_key = " + Quote(poison_key)),
      1);
}

// Nodes of a new cluster started together on a fresh database all run
// their schema migration at once: they take turns (the migration lock) and
// all start.
TEST_F(HistoryE2eTest, NodesStartedTogetherOnAFreshDatabaseAllRun) {
  DbServer* db = nullptr;
  UseDb(DbKind::kMariaDb, db);
  if (db == nullptr) return;
  for (const char* id : {"node-1", "node-2", "node-3"}) StartServer(id, *db);
  ASSERT_TRUE(WaitForLeader(0).has_value()) << "nobody was elected";
  EXPECT_TRUE(Eventually(
      [&] {
        return NodeRegistered("node-1") && NodeRegistered("node-2") && NodeRegistered("node-3");
      },
      milliseconds(20000)));
  for (const auto& [id, server] : servers_) EXPECT_TRUE(server->Running()) << id << " exited";
}

}  // namespace
}  // namespace forest
