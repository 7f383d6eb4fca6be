// Test support: the backends the conformance suite
// (history_conformance_test.cc) runs on. Each test binary links the suite
// and one definition of TestBackends(): SQLite in history_test, PostgreSQL
// and MariaDB (real servers, label db) in history_db_test.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "history/history.h"

namespace forest::history {

struct TestBackend {
  std::string name;  // a test-name suffix: letters and digits
  // A database without Forest's or the original's tables (fresh for each
  // call); may start a server the first time.
  std::function<absl::StatusOr<DbUrl>()> fresh;
};

std::vector<TestBackend> TestBackends();

}  // namespace forest::history
