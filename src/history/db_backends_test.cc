// The conformance suite's backends in history_db_test: a real PostgreSQL and
// a real MariaDB (history/testing), one of each for the whole binary, their
// tables dropped before each test.
#include <memory>
#include <string>

#include "history/history_conformance.h"
#include "history/testing/db_servers.h"

namespace forest::history {
namespace {

using testing::DbServer;

absl::StatusOr<DbUrl> Fresh(std::unique_ptr<DbServer>& server,
                            absl::StatusOr<std::unique_ptr<DbServer>> (*start)()) {
  if (server == nullptr) {
    auto started = start();
    if (!started.ok()) return started.status();
    server = std::move(started).value();
  }
  RETURN_IF_ERROR(server->Exec(
      "DROP TABLE IF EXISTS job_execute_snapshot, forest_quarantine, forest_audit, forest_alarm, "
      "forest_alarm_delivery, forest_alarm_condition, "
      "forest_schema_migrations"));
  return ParseDbUrl(server->url());
}

}  // namespace

std::vector<TestBackend> TestBackends() {
  return {{"PostgreSQL",
           [] {
             static std::unique_ptr<DbServer> server;
             return Fresh(server, &DbServer::StartPostgres);
           }},
          {"MariaDB", [] {
             static std::unique_ptr<DbServer> server;
             return Fresh(server, &DbServer::StartMariaDb);
           }}};
}

}  // namespace forest::history
