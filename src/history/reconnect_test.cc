// A store outlives its database server's restart: calls fail with
// kUnavailable while the server is down and succeed once it is back, on a
// new connection. Real PostgreSQL and MariaDB (label db).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "history/history.h"
#include "history/testing/db_servers.h"

namespace forest::history {
namespace {

using testing::DbServer;

Execution Row(const std::string& id) {
  Execution e;
  e.record.run.id = id;
  e.record.run.job_id = "j";
  e.record.run.create_time = "2026-03-01 08:00:00";
  e.record.status = model::RunStatus::kSuccess;
  return e;
}

void ExpectReconnects(DbServer& server) {
  auto url = ParseDbUrl(server.url());
  ASSERT_TRUE(url.ok()) << url.status();
  auto store = Open(*url);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Upsert({Row("before")}).ok());

  server.Stop();
  const absl::Status down = (*store)->Upsert({Row("during")});
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_EQ((*store)->Get("before").status().code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE(server.Start().ok());
  const absl::Status up = (*store)->Upsert({Row("after")});
  EXPECT_TRUE(up.ok()) << up;
  EXPECT_TRUE((*store)->Get("before").ok());
  EXPECT_TRUE((*store)->Get("after").ok());
}

TEST(HistoryReconnectTest, PostgresRestart) {
  auto server = DbServer::StartPostgres();
  ASSERT_TRUE(server.ok()) << server.status();
  ExpectReconnects(**server);
}

TEST(HistoryReconnectTest, MariaDbRestart) {
  auto server = DbServer::StartMariaDb();
  ASSERT_TRUE(server.ok()) << server.status();
  ExpectReconnects(**server);
}

}  // namespace
}  // namespace forest::history
