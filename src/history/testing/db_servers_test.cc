#include "history/testing/db_servers.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace forest::history::testing {
namespace {

// Live (not zombie) processes whose process group is `pgid`.
std::vector<int> LiveProcessesInGroup(int pgid) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    int ppid = 0, pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != 'Z' && state != 'X') out.push_back(std::stoi(name));
  }
  return out;
}

// Runs a shell command; its exit status and output (stdout and stderr).
std::pair<int, std::string> RunShell(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// The command line client connecting over TCP as the user `forest` with
// `password`, running `sql` in database forest.
std::string ClientAsForest(const DbServer& db, const std::string& password,
                           const std::string& sql) {
  const std::string port = std::to_string(db.port());
  if (db.kind() == "postgres") {
    return "env -u PGPASSWORD -u PGSERVICE psql -X -A -t -w 'postgres://forest:" + password +
           "@127.0.0.1:" + port + "/forest' -c \"" + sql + "\"";
  }
  return "mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P " + port + " -u forest -p" +
         password + " --batch --skip-column-names forest -e \"" + sql + "\"";
}

class DbServerTest : public ::testing::TestWithParam<const char*> {
 protected:
  absl::StatusOr<std::unique_ptr<DbServer>> StartServer() {
    const auto start = std::chrono::steady_clock::now();
    auto server = std::string(GetParam()) == "postgres" ? DbServer::StartPostgres()
                                                        : DbServer::StartMariaDb();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::cout << GetParam() << " started in " << ms.count() << " ms\n";
    return server;
  }
};

TEST_P(DbServerTest, ServesOnLoopbackWithUserAndDatabase) {
  auto server = StartServer();
  ASSERT_TRUE(server.ok()) << server.status();
  DbServer& db = **server;
  EXPECT_EQ(db.kind(), GetParam());
  EXPECT_GT(db.port(), 0);
  const std::string scheme = db.kind() == "postgres" ? "postgres" : "mysql";
  EXPECT_EQ(db.url(),
            scheme + "://forest:forest@127.0.0.1:" + std::to_string(db.port()) + "/forest");
  EXPECT_TRUE(db.running());

  ASSERT_TRUE(db.Exec("SELECT 1").ok());
  auto one = db.Query("SELECT 1");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, "1\n");
  // Exec runs in the database `forest`.
  auto current =
      db.Query(db.kind() == "postgres" ? "SELECT current_database()" : "SELECT DATABASE()");
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(*current, "forest\n");
  // The user exists.
  auto user = db.Query(db.kind() == "postgres"
                           ? "SELECT rolname FROM pg_roles WHERE rolname = 'forest' AND rolcanlogin"
                           : "SELECT DISTINCT user FROM mysql.user WHERE user = 'forest'");
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(*user, "forest\n");

  // An SQL error is an error, with the client's message.
  const absl::Status bad = db.Exec("SELECT * FROM no_such_table");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("no_such_table"), std::string::npos) << bad;
}

TEST_P(DbServerTest, UserForestLogsInOverTcpWithItsPassword) {
  auto server = StartServer();
  ASSERT_TRUE(server.ok()) << server.status();
  DbServer& db = **server;
  // A table the admin prepared is the user's to use.
  ASSERT_TRUE(db.Exec("CREATE TABLE prepared (id INT PRIMARY KEY)").ok());
  const auto [code, output] = RunShell(
      ClientAsForest(db, "forest", "INSERT INTO prepared VALUES (7); SELECT id FROM prepared"));
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find('7'), std::string::npos) << output;
  auto rows = db.Query("SELECT id FROM prepared");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, "7\n");
  // The password is checked.
  const auto [bad_code, bad_output] = RunShell(ClientAsForest(db, "wrong", "SELECT 1"));
  EXPECT_NE(bad_code, 0) << bad_output;
}

TEST_P(DbServerTest, StopAndStartKeepTheData) {
  auto server = StartServer();
  ASSERT_TRUE(server.ok()) << server.status();
  DbServer& db = **server;
  ASSERT_TRUE(db.Exec("CREATE TABLE kept (id INT PRIMARY KEY, name VARCHAR(20))").ok());
  ASSERT_TRUE(db.Exec("INSERT INTO kept VALUES (1, 'one'), (2, 'two')").ok());
  const int port = db.port();
  const int pid = db.pid();

  db.Stop();
  EXPECT_FALSE(db.running());
  EXPECT_EQ(db.pid(), -1);
  EXPECT_TRUE(LiveProcessesInGroup(pid).empty());
  EXPECT_FALSE(db.Exec("SELECT 1").ok());
  db.Stop();  // no-op

  const auto start = std::chrono::steady_clock::now();
  const absl::Status started = db.Start();
  ASSERT_TRUE(started.ok()) << started;
  std::cout << GetParam() << " restarted in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms\n";
  EXPECT_TRUE(db.running());
  EXPECT_EQ(db.port(), port);
  auto rows = db.Query("SELECT id, name FROM kept ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, "1\tone\n2\ttwo\n");
  EXPECT_TRUE(db.Start().ok());  // no-op while running
}

TEST_P(DbServerTest, DestructorLeavesNothingBehind) {
  auto server = StartServer();
  ASSERT_TRUE(server.ok()) << server.status();
  const int pid = (*server)->pid();
  const std::string dir = (*server)->dir();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(std::filesystem::exists(dir));
  // A PostgreSQL backend (a child of the server) exists while a client is
  // connected; the server has several background processes anyway.
  ASSERT_TRUE((*server)->Exec("SELECT 1").ok());
  EXPECT_FALSE(LiveProcessesInGroup(pid).empty());

  server->reset();
  EXPECT_TRUE(LiveProcessesInGroup(pid).empty());
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_P(DbServerTest, TwoServersRunSideBySide) {
  auto a = StartServer();
  auto b = StartServer();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE((*a)->port(), (*b)->port());
  ASSERT_TRUE((*a)->Exec("CREATE TABLE only_in_a (id INT)").ok());
  EXPECT_FALSE((*b)->Exec("SELECT * FROM only_in_a").ok());
}

INSTANTIATE_TEST_SUITE_P(Servers, DbServerTest, ::testing::Values("postgres", "mariadb"),
                         [](const auto& param_info) { return std::string(param_info.param); });

}  // namespace
}  // namespace forest::history::testing
