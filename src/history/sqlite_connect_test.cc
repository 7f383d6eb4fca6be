// Connecting to a SQLite history that other connections open at the same time.
#include <gtest/gtest.h>
#include <soci/soci.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "history/soci_backend.h"

namespace forest::history {
namespace {

// Regression: two servers starting on one fresh SQLite file; one's
// `PRAGMA journal_mode=WAL` failed at once with "database is locked" (SQLite
// answers SQLITE_BUSY there without calling the busy handler).
TEST(SqliteConnectTest, ConnectionsOpeningOneFreshFileTogetherAllSucceed) {
  int failures = 0;
  std::string first_error;
  for (int round = 0; round < 30; ++round) {
    const std::string path = ::testing::TempDir() + "forest_sqlite_connect_" +
                             std::to_string(getpid()) + "_" + std::to_string(round) + ".db";
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::remove((path + suffix).c_str());
    }
    DbUrl url;
    url.kind = DbUrl::Kind::kSqlite;
    url.path = path;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    std::vector<std::string> errors(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        while (!go) std::this_thread::yield();
        try {
          auto session = internal::Connect(url);
          *session << "CREATE TABLE IF NOT EXISTS t (x INTEGER)";
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    }
    go = true;
    for (std::thread& t : threads) t.join();
    for (const std::string& e : errors) {
      if (e.empty()) continue;
      ++failures;
      if (first_error.empty()) first_error = e;
    }
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::remove((path + suffix).c_str());
    }
  }
  EXPECT_EQ(failures, 0) << first_error;
}

}  // namespace
}  // namespace forest::history
