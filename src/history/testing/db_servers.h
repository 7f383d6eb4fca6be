// Test support: real database servers for the history backends, each a child
// process in a fresh temporary directory on a free loopback port: PostgreSQL
// (Debian's postgresql-15, /usr/lib/postgresql/N/bin) and MariaDB (Debian's
// mariadb-server). Never anything but 127.0.0.1; the system services are not
// touched. Label tests that use them `db`.
//
// Each server has a fresh database `forest` and a user `forest` (password
// `forest`) that owns it / has every privilege on it; url() is what a client
// under test connects with. The password is really checked over TCP (scram
// for PostgreSQL), so a client that sends a wrong one fails as in production.
// The admin (postgres / root, no password) connects only over the server's
// Unix socket in the temporary directory: that is what Exec() uses.
//
// As root (CI), PostgreSQL refuses to run: initdb and postgres then run as the
// system user `postgres` (created by Debian's postgresql-common; `nobody`
// when it does not exist) and the temporary directory is handed to it.
// MariaDB runs as the current user (`--user=root` when root).
//
// A server and every process it forks are in a process group of their own,
// killed when the DbServer is destroyed, and also killed if the test process
// dies (parent-death signal), so a failed or crashed test leaves nothing.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace forest::history::testing {

class DbServer {
 public:
  // Initialises a data directory, starts the server, waits until it accepts
  // connections and creates the database and user `forest`. kNotFound if the
  // server is not installed, kUnavailable (with the tail of its log) if it
  // does not start within 60 s.
  static absl::StatusOr<std::unique_ptr<DbServer>> StartPostgres();
  static absl::StatusOr<std::unique_ptr<DbServer>> StartMariaDb();

  // Kills the server (PostgreSQL: an immediate shutdown, SIGKILL to the
  // whole process group if it lingers; MariaDB: SIGKILL) and removes the
  // temporary directory.
  ~DbServer();
  DbServer(const DbServer&) = delete;
  DbServer& operator=(const DbServer&) = delete;

  // postgres://forest:forest@127.0.0.1:PORT/forest or
  // mysql://forest:forest@127.0.0.1:PORT/forest
  std::string url() const;
  int port() const;
  // "postgres" or "mariadb".
  std::string kind() const;

  // Stops the server cleanly (PostgreSQL: SIGINT, its "fast" shutdown, which
  // does not wait for clients to disconnect; MariaDB: SIGTERM) and waits for
  // it (SIGKILL after 60 s). The data stays. No-op when stopped.
  void Stop();
  // Starts it again on the same port and data directory; waits until it
  // accepts connections. No-op when running.
  absl::Status Start();
  bool running() const;

  // Runs SQL as the admin user in database `forest` through the server's
  // command-line client (psql -c / mariadb -e). Several statements may be
  // given (psql runs a multi-statement -c in one transaction). On PostgreSQL
  // the tables and sequences the admin creates are usable by `forest`
  // (default privileges). An SQL error is kInternal with the client's output.
  absl::Status Exec(std::string_view sql);
  // Same, returning the rows printed: one line per row, columns separated by
  // a tab, no header ("1\n" for SELECT 1).
  absl::StatusOr<std::string> Query(std::string_view sql);

  // For tests of the test support: the server's process id (-1 when
  // stopped; it is also its process group id) and the temporary directory.
  int pid() const;
  std::string dir() const;

  struct Impl;

 private:
  explicit DbServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::history::testing
