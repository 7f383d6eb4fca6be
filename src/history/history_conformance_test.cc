// The HistoryStore contract, run on every backend a test binary provides
// (history_conformance.h): the same body on SQLite, PostgreSQL and MariaDB.
#include "history/history_conformance.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/time_zone.h"
#include "history/history.h"
#include "history/soci_backend.h"

// Queries are written as designated initializers naming only the filters a
// case sets; the others keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace forest::history {
namespace {

using model::RunStatus;
using model::Trigger;

TEST_P(HistoryConformanceTest, RoundTripsEveryStoredField) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  Execution e;
  model::ExecutionRecord& r = e.record;
  r.run.id = model::SnapshotId({.job_id = "job-ü1",
                                .scheduled = At("2026-03-01T07:59:00Z"),
                                .manual = false,
                                .attempt = 2,
                                .shard_index = 3});
  r.run.job_id = "job-ü1";
  r.run.name = "nightly report ✓";
  r.run.group = "trade";
  r.run.cron = "0 0 2 * * ?";
  r.run.target = "https://example.com/run?x=1";
  r.run.params = R"({"day":1,"quote":"it's"})";
  r.run.ip = "worker-7";
  r.run.mobile = "13800138000";
  r.run.remark = "a remark; DROP TABLE x; --";
  r.run.create_time = "2026-03-01 07:59:00";
  r.run.scheduled_time = At("2026-03-01T07:59:00.250Z");
  r.run.trigger = Trigger::kRetry;
  r.run.attempt = 2;
  r.run.shard_total = 4;
  r.run.timeout_seconds = 90;
  r.start_time = "2026-03-01 08:00:00";
  r.finish_time = "2026-03-01 08:00:03";
  r.times = 3;
  r.status = RunStatus::kError;
  r.result = "exit status 2";
  r.duration_ms = 3250;
  r.exit_code = 2;
  r.output = std::string("line 1\nline 2 \xF0\x9F\x9A\x80\n") + std::string(100000, 'x');
  r.started_at = At("2026-03-01T08:00:00.125Z");
  e.worker = "worker-7";
  e.leader_node = "node-b";
  ASSERT_TRUE(store->Upsert({e}).ok());

  auto got = store->Get(r.run.id);
  ASSERT_TRUE(got.ok()) << got.status();
  const model::ExecutionRecord& g = got->record;
  EXPECT_EQ(g.run.id, r.run.id);
  EXPECT_EQ(g.run.job_id, r.run.job_id);
  EXPECT_EQ(g.run.name, r.run.name);
  EXPECT_EQ(g.run.group, r.run.group);
  EXPECT_EQ(g.run.cron, r.run.cron);
  EXPECT_EQ(g.run.target, r.run.target);
  EXPECT_EQ(g.run.params, r.run.params);
  EXPECT_EQ(g.run.ip, r.run.ip);
  EXPECT_EQ(g.run.mobile, r.run.mobile);
  EXPECT_EQ(g.run.remark, r.run.remark);
  EXPECT_EQ(g.run.create_time, r.run.create_time);
  EXPECT_EQ(g.run.scheduled_time, r.run.scheduled_time);
  EXPECT_EQ(g.run.trigger, r.run.trigger);
  EXPECT_EQ(g.run.attempt, 2);
  EXPECT_EQ(g.run.shard_index, 3);  // from the id
  EXPECT_EQ(g.run.shard_total, 4);
  EXPECT_EQ(g.run.timeout_seconds, 90);
  EXPECT_EQ(g.started_at, r.started_at);
  EXPECT_EQ(g.start_time, r.start_time);
  EXPECT_EQ(g.finish_time, r.finish_time);
  EXPECT_EQ(g.times, r.times);
  EXPECT_EQ(g.status, r.status);
  EXPECT_EQ(g.result, r.result);
  EXPECT_EQ(g.duration_ms, r.duration_ms);
  EXPECT_EQ(g.exit_code, r.exit_code);
  EXPECT_EQ(g.output, r.output);
  EXPECT_EQ(got->worker, e.worker);
  EXPECT_EQ(got->leader_node, e.leader_node);
  // created_at is the record's start.
  EXPECT_EQ(Scalar("SELECT created_at FROM job_execute_snapshot"),
            std::to_string(r.started_at->time_since_epoch().count()));

  // Absent optionals stay absent.
  Execution bare = MakeExecution("bare", "j", 0);
  bare.record.status = RunStatus::kRunning;
  ASSERT_TRUE(store->Upsert({bare}).ok());
  auto got_bare = store->Get("bare");
  ASSERT_TRUE(got_bare.ok()) << got_bare.status();
  EXPECT_FALSE(got_bare->record.run.scheduled_time.has_value());
  EXPECT_FALSE(got_bare->record.duration_ms.has_value());
  EXPECT_FALSE(got_bare->record.exit_code.has_value());
  EXPECT_EQ(got_bare->record.status, RunStatus::kRunning);
  EXPECT_EQ(got_bare->record.run.trigger, Trigger::kCron);
}

TEST_P(HistoryConformanceTest, GetOfAnAbsentIdIsNotFound) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Get("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(HistoryConformanceTest, ABatchAppliedTwiceIsAppliedOnce) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<Execution> batch = {MakeExecution("a", "j1", 1), MakeExecution("b", "j1", 2),
                                  MakeExecution("c", "j2", 3)};
  ASSERT_TRUE(store->Upsert(batch).ok());
  ASSERT_TRUE(store->Upsert(batch).ok());
  Page page = ListOrDie(*store, {});
  EXPECT_EQ(page.total_count, 3);
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"c", "b", "a"}));
  // A later version of a row replaces it.
  batch[0].record.result = "changed";
  ASSERT_TRUE(store->Upsert({batch[0]}).ok());
  EXPECT_EQ(store->Get("a")->record.result, "changed");
  EXPECT_EQ(ListOrDie(*store, {}).total_count, 3);
  EXPECT_TRUE(store->Upsert({}).ok());
}

TEST_P(HistoryConformanceTest, AFinalRowIsNeverMovedBackToRunning) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  Execution running = MakeExecution("r1", "j1", 1);
  running.record.status = RunStatus::kRunning;
  running.record.result = "";
  ASSERT_TRUE(store->Upsert({running}).ok());
  EXPECT_EQ(store->Get("r1")->record.status, RunStatus::kRunning);

  for (const RunStatus final_status :
       {RunStatus::kSuccess, RunStatus::kError, RunStatus::kUnknown}) {
    SCOPED_TRACE(static_cast<int>(final_status));
    Execution done = running;
    done.record.status = final_status;
    done.record.result = "done";
    done.record.output = "all of it";
    done.record.finish_time = "2026-03-01 08:01:02";
    ASSERT_TRUE(store->Upsert({done}).ok());
    // A late running record (a retried write) leaves the final row alone.
    Execution late = running;
    late.record.output = "partial";
    late.leader_node = "node-z";
    ASSERT_TRUE(store->Upsert({late}).ok());
    auto got = store->Get("r1");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->record.status, final_status);
    EXPECT_EQ(got->record.result, "done");
    EXPECT_EQ(got->record.output, "all of it");
    EXPECT_EQ(got->record.finish_time, "2026-03-01 08:01:02");
    EXPECT_EQ(got->leader_node, "node-a");
  }
  // One final status may replace another (the leader's "unknown" by the
  // worker's late "success").
  Execution success = running;
  success.record.status = RunStatus::kSuccess;
  ASSERT_TRUE(store->Upsert({success}).ok());
  EXPECT_EQ(store->Get("r1")->record.status, RunStatus::kSuccess);
}

TEST_P(HistoryConformanceTest, ListFiltersEachAndTogether) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  Execution a = MakeExecution("a", "j1", 1);
  a.record.run.name = "alpha";
  Execution b = MakeExecution("b", "j1", 2);
  b.record.run.name = "alpha";
  b.record.run.group = "g2";
  b.record.run.ip = "w2";
  b.record.status = RunStatus::kError;
  b.record.run.trigger = Trigger::kManual;
  Execution c = MakeExecution("c", "j2", 3);
  c.record.run.name = "beta";
  c.record.status = RunStatus::kRunning;
  c.record.run.trigger = Trigger::kRetry;
  Execution d = MakeExecution("d", "j3", 4);
  d.record.run.name = "gamma";
  d.record.run.group = "g2";
  d.record.run.ip = "w2";
  d.record.status = RunStatus::kUnknown;
  d.record.run.trigger = Trigger::kApi;
  d.record.output = "not listed";
  ASSERT_TRUE(store->Upsert({a, b, c, d}).ok());

  auto ids = [&](Query q) { return Ids(ListOrDie(*store, q)); };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"d", "c", "b", "a"}));
  EXPECT_EQ(ids({.id = "b"}), (V{"b"}));
  EXPECT_EQ(ids({.job_id = "j1"}), (V{"b", "a"}));
  EXPECT_EQ(ids({.job_name = "beta"}), (V{"c"}));
  EXPECT_EQ(ids({.job_name = "alph"}), V{});  // exact, not a prefix
  EXPECT_EQ(ids({.group = "g1"}), (V{"c", "a"}));
  EXPECT_EQ(ids({.worker = "w2"}), (V{"d", "b"}));
  EXPECT_EQ(ids({.status = RunStatus::kError}), (V{"b"}));
  EXPECT_EQ(ids({.status = RunStatus::kRunning}), (V{"c"}));
  EXPECT_EQ(ids({.trigger = Trigger::kManual}), (V{"b"}));
  EXPECT_EQ(ids({.from = kT0 + std::chrono::minutes(2)}), (V{"d", "c", "b"}));
  EXPECT_EQ(ids({.to = kT0 + std::chrono::minutes(2)}), (V{"a"}));
  EXPECT_EQ(ids({.from = kT0 + std::chrono::minutes(2), .to = kT0 + std::chrono::minutes(4)}),
            (V{"c", "b"}));
  EXPECT_EQ(ids({.job_id = "j1", .group = "g1"}), (V{"a"}));
  EXPECT_EQ(ids({.job_id = "j1", .group = "g1", .status = RunStatus::kError}), V{});

  Page page = ListOrDie(*store, {.group = "g2"});
  EXPECT_EQ(page.total_count, 2);
  for (const Execution& e : page.rows) EXPECT_EQ(e.record.output, "") << "List omits output";
  EXPECT_EQ(store->Get("d")->record.output, "not listed");
}

TEST_P(HistoryConformanceTest, ListPagesNewestFirstWithTotals) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<Execution> batch;
  for (int i = 0; i < 25; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "r%02d", i);
    batch.push_back(MakeExecution(id, i % 2 == 0 ? "even" : "odd", i));
  }
  // Two rows at the same instant are ordered by id, descending.
  batch.push_back(MakeExecution("r24b", "even", 24));
  ASSERT_TRUE(store->Upsert(batch).ok());

  Page p1 = ListOrDie(*store, {.page_size = 10, .page_no = 1});
  EXPECT_EQ(p1.total_count, 26);
  EXPECT_EQ(p1.total_pages, 3);
  ASSERT_EQ(p1.rows.size(), 10u);
  EXPECT_EQ(p1.rows[0].record.run.id, "r24b");
  EXPECT_EQ(p1.rows[1].record.run.id, "r24");
  EXPECT_EQ(p1.rows[9].record.run.id, "r16");
  Page p3 = ListOrDie(*store, {.page_size = 10, .page_no = 3});
  EXPECT_EQ(p3.total_count, 26);
  EXPECT_EQ(Ids(p3), (std::vector<std::string>{"r05", "r04", "r03", "r02", "r01", "r00"}));
  Page p4 = ListOrDie(*store, {.page_size = 10, .page_no = 4});
  EXPECT_EQ(p4.total_count, 26);
  EXPECT_TRUE(p4.rows.empty());
  Page odd = ListOrDie(*store, {.job_id = "odd", .page_size = 5, .page_no = 3});
  EXPECT_EQ(odd.total_count, 12);
  EXPECT_EQ(odd.total_pages, 3);
  EXPECT_EQ(Ids(odd), (std::vector<std::string>{"r03", "r01"}));

  for (const Query& bad : {Query{.page_size = 0}, Query{.page_size = 1001}, Query{.page_no = 0}}) {
    EXPECT_EQ(store->List(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_P(HistoryConformanceTest, QuarantineKeepsTheRawValueAndWhy) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->Quarantine("/forest/client/execute/snapshot/g/w/x", "{not json",
                               "syntax error at byte 1")
                  .ok());
  ASSERT_TRUE(store->Quarantine("/k2", "it's \"quoted\"", "bad status 7").ok());
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM forest_quarantine"), "2");
  EXPECT_EQ(Scalar("SELECT raw_value FROM forest_quarantine WHERE record_key = '/k2'"),
            "it's \"quoted\"");
  EXPECT_EQ(Scalar("SELECT reason FROM forest_quarantine WHERE record_key = '/k2'"),
            "bad status 7");
  EXPECT_EQ(Scalar("SELECT created_at FROM forest_quarantine WHERE record_key = '/k2'"),
            std::to_string(clock_.Now().time_since_epoch().count()));
}

TEST_P(HistoryConformanceTest, RetentionDeletesOldRowsInBatches) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<Execution> batch;
  for (int i = 0; i < 13; ++i) batch.push_back(MakeExecution("r" + std::to_string(i), "j", i));
  ASSERT_TRUE(store->Upsert(batch).ok());
  const Time cutoff = kT0 + std::chrono::minutes(10);  // r0..r9 are older
  std::vector<int64_t> deleted;
  for (int round = 0; round < 4; ++round) {
    auto n = store->DeleteOlderThan(cutoff, 4);
    ASSERT_TRUE(n.ok()) << n.status();
    deleted.push_back(*n);
  }
  EXPECT_EQ(deleted, (std::vector<int64_t>{4, 4, 2, 0}));
  EXPECT_EQ(Ids(ListOrDie(*store, {})), (std::vector<std::string>{"r12", "r11", "r10"}));
  EXPECT_EQ(store->DeleteOlderThan(cutoff, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(HistoryConformanceTest, OpeningTwiceIsANoOp) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Upsert({MakeExecution("a", "j", 1)}).ok());
  }
  auto again = OpenStore();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM forest_schema_migrations"),
            std::to_string(internal::kSchemaVersion));
  EXPECT_EQ(ListOrDie(*again, {}).total_count, 1);
}

// The original's DDL (the seed's, verbatim for MySQL; the same columns for
// the others) and two rows it wrote.
std::vector<std::string> OriginalSchemaWithRows(DbUrl::Kind kind) {
  std::vector<std::string> sql;
  if (kind == DbUrl::Kind::kMysql) {
    sql.push_back(R"(CREATE TABLE `job_execute_snapshot` (
    `id` VARCHAR (64) NOT NULL COMMENT '主键',
    `job_id` VARCHAR (32) NOT NULL COMMENT '任务定义id',
    `name` VARCHAR (32) NOT NULL COMMENT '任务名称',
    `group` VARCHAR (32) NOT NULL COMMENT '任务集群',
    `cron` VARCHAR (32) NOT NULL COMMENT 'cron表达式',
    `target` VARCHAR (255) NOT NULL COMMENT '目标任务',
    `params` VARCHAR (255) DEFAULT NULL COMMENT '参数',
    `ip` VARCHAR (32) NOT NULL COMMENT 'ip',
    `status` TINYINT (4) NOT NULL COMMENT '状态 1-执行中 2-完成 3-未知 4-错误',
    `mobile` VARCHAR (32) DEFAULT NULL COMMENT '手机号码',
    `remark` VARCHAR (255) DEFAULT NULL COMMENT '备注',
    `create_time` VARCHAR (32) NOT NULL COMMENT '创建时间',
    `start_time` VARCHAR (255) DEFAULT NULL COMMENT '开始时间',
    `finish_time` VARCHAR (32) DEFAULT NULL COMMENT '结束时间',
    `times` BIGINT (20) DEFAULT '0' COMMENT '耗时',
    `result` VARCHAR (255) DEFAULT NULL COMMENT '返回结果',
    PRIMARY KEY (`id`),
    KEY `ip` (`ip`),
    KEY `job_id` (`job_id`),
    KEY `status` (`status`),
    KEY `group` (`group`)
) ENGINE = INNODB DEFAULT CHARSET = utf8 COMMENT = '任务作业执行快照')");
  } else {
    sql.push_back(R"(CREATE TABLE job_execute_snapshot (
    id VARCHAR (64) NOT NULL PRIMARY KEY,
    job_id VARCHAR (32) NOT NULL,
    name VARCHAR (32) NOT NULL,
    "group" VARCHAR (32) NOT NULL,
    cron VARCHAR (32) NOT NULL,
    target VARCHAR (255) NOT NULL,
    params VARCHAR (255) DEFAULT NULL,
    ip VARCHAR (32) NOT NULL,
    status SMALLINT NOT NULL,
    mobile VARCHAR (32) DEFAULT NULL,
    remark VARCHAR (255) DEFAULT NULL,
    create_time VARCHAR (32) NOT NULL,
    start_time VARCHAR (255) DEFAULT NULL,
    finish_time VARCHAR (32) DEFAULT NULL,
    times BIGINT DEFAULT 0,
    result VARCHAR (255) DEFAULT NULL))");
    sql.push_back("CREATE INDEX ip ON job_execute_snapshot (ip)");
    sql.push_back("CREATE INDEX job_id ON job_execute_snapshot (job_id)");
  }
  const std::string group(internal::GroupColumn(kind));
  sql.push_back("INSERT INTO job_execute_snapshot (id, job_id, name, " + group +
                ", cron, target, params, ip, status, mobile, remark, create_time, start_time, "
                "finish_time, times, result) VALUES ('20190725150540123456201907251505401234', "
                "'20190725150540123456', '日报', 'trade', '0/30 * * * * ?', "
                "'com.busgo.trade.DailyReport', '{\"day\":1}', '192.168.1.5', 2, "
                "'13800138000', 'old', '2019-07-25 15:05:40', '2019-07-25 15:05:41', "
                "'2019-07-25 15:05:44', 3, 'ok')");
  sql.push_back("INSERT INTO job_execute_snapshot (id, job_id, name, " + group +
                ", cron, target, ip, status, create_time) VALUES ('x2', 'j2', 'n2', 'trade', "
                "'* * * * * ?', 't', '10.0.0.1', 1, '2019-07-25 15:06:00')");
  return sql;
}

// Large batches go many rows to a statement: the same rules hold.
TEST_P(HistoryConformanceTest, LargeBatchesAndRepeatedIdsKeepTheUpsertRules) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<Execution> finals;
  for (int i = 0; i < 150; ++i) finals.push_back(MakeExecution("f" + std::to_string(i), "j", i));
  ASSERT_TRUE(store->Upsert(finals).ok());
  std::vector<Execution> second;
  for (int i = 0; i < 160; ++i) {
    Execution e = MakeExecution("f" + std::to_string(i), "j", i);
    e.record.status = RunStatus::kRunning;  // late "running" of a finished run
    second.push_back(e);
  }
  const absl::Status again = store->Upsert(second);
  ASSERT_TRUE(again.ok()) << again;
  EXPECT_EQ(ListOrDie(*store, {.status = RunStatus::kSuccess, .page_size = 1000}).total_count, 150);
  EXPECT_EQ(ListOrDie(*store, {.status = RunStatus::kRunning, .page_size = 1000}).total_count, 10);

  // One id twice in a batch: applied in order.
  Execution running = MakeExecution("twice", "j", 0);
  running.record.status = RunStatus::kRunning;
  Execution done = MakeExecution("twice", "j", 0);
  done.record.result = "done";
  ASSERT_TRUE(store->Upsert({running, done}).ok());
  EXPECT_EQ(store->Get("twice")->record.result, "done");
  EXPECT_EQ(store->Get("twice")->record.status, RunStatus::kSuccess);
}

TEST_P(HistoryConformanceTest, MigratesTheOriginalsTableKeepingEveryRow) {
  ASSERT_TRUE(internal::ExecuteSql(url_, OriginalSchemaWithRows(url_.kind)).ok());
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);

  Page page = ListOrDie(*store, {});
  EXPECT_EQ(page.total_count, 2);
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"x2", "20190725150540123456201907251505401234"}));
  auto old = store->Get("20190725150540123456201907251505401234");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->record.run.name, "日报");
  EXPECT_EQ(old->record.run.params, "{\"day\":1}");
  EXPECT_EQ(old->record.status, RunStatus::kSuccess);
  EXPECT_EQ(old->record.times, 3);
  EXPECT_EQ(old->record.result, "ok");
  EXPECT_EQ(old->record.run.trigger, Trigger::kCron);
  auto x2 = store->Get("x2");
  ASSERT_TRUE(x2.ok()) << x2.status();
  EXPECT_EQ(x2->record.run.params, "");
  EXPECT_EQ(x2->record.status, RunStatus::kRunning);
  EXPECT_EQ(x2->record.finish_time, "");
  // created_at came from create_time, a local wall time.
  const Time x2_created = ParseIso8601("2019-07-25 15:06:00", TimeZone::Local()).value();
  EXPECT_EQ(Ids(ListOrDie(*store, {.from = x2_created})), (std::vector<std::string>{"x2"}));
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM forest_schema_migrations"),
            std::to_string(internal::kSchemaVersion));

  // The widened columns take our ids, targets and params.
  Execution wide = MakeExecution("wide", std::string(128, 'j'), 1);
  wide.record.run.name = std::string(128, 'n');
  wide.record.run.group = std::string(128, 'g');
  wide.record.run.target = std::string(4096, 't');
  wide.record.run.params = std::string(65536, 'p');
  wide.record.result = std::string(70000, 'r');
  wide.record.output = "emoji \xF0\x9F\x98\x80";
  const absl::Status upserted = store->Upsert({wide});
  ASSERT_TRUE(upserted.ok()) << upserted;
  auto got = store->Get("wide");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->record.run.params.size(), 65536u);
  EXPECT_EQ(got->record.run.target.size(), 4096u);
  EXPECT_EQ(got->record.output, wide.record.output);

  store.reset();
  auto again = OpenStore();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(ListOrDie(*again, {}).total_count, 3);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM forest_schema_migrations"),
            std::to_string(internal::kSchemaVersion));
}

INSTANTIATE_TEST_SUITE_P(Backends, HistoryConformanceTest, ::testing::ValuesIn(TestBackends()),
                         [](const ::testing::TestParamInfo<TestBackend>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace forest::history
