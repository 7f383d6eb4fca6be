// The conformance suite's backend in history_test: SQLite in a temporary file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "history/history_conformance.h"

namespace forest::history {

std::vector<TestBackend> TestBackends() {
  return {{"SQLite", []() -> absl::StatusOr<DbUrl> {
             static int counter = 0;
             const std::string path = ::testing::TempDir() + "forest_history_" +
                                      std::to_string(getpid()) + "_" + std::to_string(++counter) +
                                      ".db";
             for (const char* suffix : {"", "-wal", "-shm"}) {
               std::remove((path + suffix).c_str());
             }
             return ParseDbUrl("sqlite://" + path);
           }}};
}

}  // namespace forest::history
