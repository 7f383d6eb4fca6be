#include "history/testing/db_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "coord/testing/etcd_cluster.h"
#include "coord/testing/spawner.h"

extern char** environ;

namespace forest::history::testing {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(60);
constexpr auto kToolTimeout = std::chrono::seconds(60);
constexpr const char* kMariaDbd = "/usr/sbin/mariadbd";
constexpr const char* kMariaDbInstall = "/usr/bin/mariadb-install-db";
constexpr const char* kMariaDbClient = "/usr/bin/mariadb";
constexpr const char* kUser = "forest";
constexpr const char* kPassword = "forest";

enum class Kind { kPostgres, kMariaDb };

using coord::testing::Spawner;
using coord::testing::Tail;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool Contains(const std::string& path, const std::string& text) {
  return ReadAll(path).find(text) != std::string::npos;
}

// The newest /usr/lib/postgresql/N/bin with a postgres binary ("" if none).
std::string PostgresBinDir() {
  std::error_code ec;
  int best = -1;
  std::string dir;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const int version = std::atoi(name.c_str());
    const std::string bin = entry.path().string() + "/bin";
    if (version > best && access((bin + "/postgres").c_str(), X_OK) == 0) {
      best = version;
      dir = bin;
    }
  }
  return dir;
}

bool TcpConnects(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// The environment for children: without the client and server variables
// that would redirect them (PGHOST, PGDATA, MYSQL_HOST, ...).
std::vector<std::string> ChildEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("PG") || v.starts_with("MYSQL") || v.starts_with("MARIADB")) continue;
    env.emplace_back(v);
  }
  return env;
}

}  // namespace

struct DbServer::Impl {
  Kind kind = Kind::kPostgres;
  std::string dir;       // the temporary directory
  std::string data;      // dir/data
  std::string log_path;  // the server's stdout and stderr
  std::string socket;    // PostgreSQL: the socket directory; MariaDB: the socket file
  std::string bin;       // PostgreSQL's bin directory
  int port = 0;
  pid_t pid = -1;
  // As root, PostgreSQL's processes run as this user.
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<std::string> server_args;
  std::atomic<int> counter{0};
  std::unique_ptr<Spawner> spawner = std::make_unique<Spawner>();

  ~Impl() {
    Kill();
    spawner.reset();
    RemoveDir();
  }

  void RemoveDir() {
    if (dir.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    dir.clear();
  }

  // Forks (on the spawner thread) and execs argv with stdout and stderr
  // appended to `out`, as root's stand-in user when `drop` and
  // `as_server_user`. A server gets a process group of its own.
  // Everything dies with the spawner thread (parent-death signal).
  absl::StatusOr<pid_t> Spawn(std::vector<std::string> args, const std::string& out, bool server,
                              bool as_server_user) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings = ChildEnvironment();
    std::vector<char*> env;
    for (std::string& e : env_strings) env.push_back(e.data());
    env.push_back(nullptr);
    const pid_t parent = getpid();
    const long max_fd = std::min(sysconf(_SC_OPEN_MAX), 65536L);
    const bool drop_privileges = drop && as_server_user;
    const uid_t to_uid = uid;
    const gid_t to_gid = gid;
    // PostgreSQL's postmaster shuts down its backends on SIGQUIT; SIGKILL
    // would leave them to notice on their own.
    const int death_signal = kind == Kind::kPostgres && server ? SIGQUIT : SIGKILL;
    const pid_t child = spawner->Run([&]() -> pid_t {
      const pid_t p = fork();
      if (p != 0) return p;
      // Only async-signal-safe calls from here to exec.
      if (server) setpgid(0, 0);
      if (drop_privileges) {
        if (setgroups(0, nullptr) != 0 || setgid(to_gid) != 0 || setuid(to_uid) != 0) _exit(125);
      }
      // After the credentials change, which clears it.
      prctl(PR_SET_PDEATHSIG, death_signal);
      if (getppid() != parent) _exit(1);
      const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0 || null < 0) _exit(126);
      dup2(null, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
        for (long f = 3; f < max_fd; ++f) close(int(f));
      }
      execve(argv[0], argv.data(), env.data());
      _exit(127);
    });
    if (child < 0) return absl::InternalError(fmt::format("fork: {}", std::strerror(errno)));
    return child;
  }

  // Runs a tool to completion (as the server's user if `as_server_user`);
  // its output (stdout and stderr), or an error with that output if it fails.
  absl::StatusOr<std::string> RunTool(std::vector<std::string> args, bool as_server_user) {
    const std::string out = fmt::format("{}/tool-{}.out", dir, counter++);
    const std::string name = args[0];
    auto child = Spawn(std::move(args), out, false, as_server_user);
    if (!child.ok()) return child.status();
    const auto deadline = Clock::now() + kToolTimeout;
    int status = 0;
    while (true) {
      const pid_t r = waitpid(*child, &status, WNOHANG);
      if (r == *child) break;
      if (r < 0 && errno != EINTR) return absl::InternalError("waitpid: " + name);
      if (Clock::now() > deadline) {
        kill(*child, SIGKILL);
        waitpid(*child, &status, 0);
        const std::string output = ReadAll(out);
        std::remove(out.c_str());
        return absl::DeadlineExceededError(
            fmt::format("{} did not finish within {} s:\n{}", name, kToolTimeout.count(), output));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::string output = ReadAll(out);
    std::remove(out.c_str());
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 125 && WEXITSTATUS(status) <= 127) {
      // From the child before exec (see Spawn).
      return absl::InternalError(
          fmt::format("{} could not be run: {}", name,
                      WEXITSTATUS(status) == 125 ? "could not switch to the server's user"
                      : WEXITSTATUS(status) == 126
                          ? fmt::format("could not write {}{}", out,
                                        drop && as_server_user ? " as the server's user (is every "
                                                                 "parent directory of TMPDIR "
                                                                 "searchable by it?)"
                                                               : "")
                          : "exec failed"));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return absl::InternalError(
          fmt::format("{} failed ({} {}):\n{}", name, WIFEXITED(status) ? "exit" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), output));
    }
    return output;
  }

  // The admin client's command line for `sql` in `database`.
  std::vector<std::string> ClientArgs(std::string_view sql, const std::string& database) {
    if (kind == Kind::kPostgres) {
      return {bin + "/psql",
              "-X",
              "-q",
              "-A",
              "-t",
              "-F",
              "\t",
              "-v",
              "ON_ERROR_STOP=1",
              "-h",
              socket,
              "-p",
              std::to_string(port),
              "-U",
              "postgres",
              "-d",
              database,
              "-c",
              std::string(sql)};
    }
    std::vector<std::string> args = {
        kMariaDbClient, "--no-defaults", "--protocol=socket", "--socket=" + socket,
        "-u",           "root",          "--batch",           "--skip-column-names",
        "-e",           std::string(sql)};
    if (!database.empty()) args.push_back(database);
    return args;
  }

  absl::StatusOr<std::string> Admin(std::string_view sql, const std::string& database) {
    return RunTool(ClientArgs(sql, database), false);
  }

  std::string Logs() {
    return fmt::format("--- {} log (tail) ---\n{}", log_path, Tail(log_path, 40));
  }

  // Whether the server exited (reaps it).
  bool Exited() {
    if (pid <= 0) return true;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return true;
    }
    return false;
  }

  // Waits up to `timeout` for the server to exit, without reaping it (so
  // that its pid stays its process group's id); whether it did.
  bool WaitExit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      siginfo_t info{};
      if (waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
        return true;
      }
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Kills whatever is left of the server's process group and reaps it.
  void Finish() {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
  }

  void Kill() {
    if (pid <= 0) return;
    if (kind == Kind::kPostgres) {
      kill(pid, SIGQUIT);  // immediate shutdown: the postmaster ends its backends
      WaitExit(std::chrono::seconds(5));
    }
    Finish();
  }

  void Stop() {
    if (pid <= 0) return;
    kill(pid, kind == Kind::kPostgres ? SIGINT : SIGTERM);
    WaitExit(kStopTimeout);
    Finish();
  }

  absl::Status Launch() {
    ASSIGN_OR_RETURN(pid, Spawn(server_args, log_path, true, true));
    return WaitReady();
  }

  // Waits until the server accepts connections on its port and answers the
  // admin's SELECT 1.
  absl::Status WaitReady() {
    const auto deadline = Clock::now() + kStartTimeout;
    std::string last = "no connection";
    while (Clock::now() < deadline) {
      if (Exited()) {
        return absl::UnavailableError(fmt::format("{} exited while starting (port {})\n{}",
                                                  kind == Kind::kPostgres ? "postgres" : "mariadbd",
                                                  port, Logs()));
      }
      if (TcpConnects(port)) {
        auto answer = Admin("SELECT 1", kind == Kind::kPostgres ? "postgres" : "");
        if (answer.ok()) return absl::OkStatus();
        last = std::string(answer.status().message());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return absl::UnavailableError(
        fmt::format("{} did not accept connections on 127.0.0.1:{} within {} s ({})\n{}",
                    kind == Kind::kPostgres ? "postgres" : "mariadbd", port, kStartTimeout.count(),
                    last, Logs()));
  }

  absl::Status MakeDir() {
    const char* base = std::getenv("TMPDIR");
    const std::string pattern =
        fmt::format("{}/forest-{}-XXXXXX", base != nullptr && *base != '\0' ? base : "/tmp",
                    kind == Kind::kPostgres ? "pg" : "mariadb");
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) {
      return absl::InternalError(fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
    }
    dir = buffer.data();
    data = dir + "/data";
    log_path = dir + "/server.log";
    return absl::OkStatus();
  }

  absl::Status InitPostgres() {
    if (geteuid() == 0) {
      // postgres will not run as root: as its system user (nobody if none).
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) pw = getpwnam("nobody");
      if (pw == nullptr) return absl::NotFoundError("neither user postgres nor nobody exists");
      drop = true;
      uid = pw->pw_uid;
      gid = pw->pw_gid;
      if (chown(dir.c_str(), uid, gid) != 0) {
        return absl::InternalError(fmt::format("chown {}: {}", dir, std::strerror(errno)));
      }
    }
    socket = dir;
    RETURN_IF_ERROR(
        RunTool({bin + "/initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C",
                 "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256"},
                true)
            .status());
    server_args = {bin + "/postgres",
                   "-D",
                   data,
                   "-p",
                   std::to_string(port),
                   "-k",
                   socket,
                   "-c",
                   "listen_addresses=127.0.0.1",
                   "-c",
                   "fsync=off",
                   "-c",
                   "synchronous_commit=off",
                   "-c",
                   "full_page_writes=off",
                   "-c",
                   "shared_buffers=32MB",
                   "-c",
                   "logging_collector=off"};
    return absl::OkStatus();
  }

  absl::Status SetUpPostgres() {
    RETURN_IF_ERROR(
        Admin(fmt::format("CREATE ROLE {} LOGIN PASSWORD '{}'", kUser, kPassword), "postgres")
            .status());
    RETURN_IF_ERROR(
        Admin(fmt::format("CREATE DATABASE forest OWNER {}", kUser), "postgres").status());
    // Tables the admin prepares (Exec) are the forest user's to use.
    return Admin(
               fmt::format("ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON TABLES TO {0};"
                           "ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON SEQUENCES "
                           "TO {0};",
                           kUser),
               "forest")
        .status();
  }

  absl::Status InitMariaDb() {
    socket = dir + "/mariadb.sock";
    const bool root = geteuid() == 0;
    std::vector<std::string> install = {
        kMariaDbInstall,     "--no-defaults",
        "--datadir=" + data, "--auth-root-authentication-method=normal",
        "--skip-test-db",    "--skip-name-resolve",
        // Its own temporary files: two bootstraps at once in /tmp removed
        // each other's (ERROR: 6 Error on delete of /tmp/#sql-temptable-...).
        "--tmpdir=" + dir};
    if (root) install.push_back("--user=root");
    RETURN_IF_ERROR(RunTool(install, false).status());
    server_args = {kMariaDbd,
                   "--no-defaults",
                   "--datadir=" + data,
                   "--port=" + std::to_string(port),
                   "--bind-address=127.0.0.1",
                   "--socket=" + socket,
                   "--pid-file=" + dir + "/mariadb.pid",
                   "--tmpdir=" + dir,
                   "--skip-name-resolve",
                   "--skip-log-bin",
                   "--innodb-flush-log-at-trx-commit=2",
                   "--innodb-buffer-pool-size=32M",
                   "--character-set-server=utf8mb4",
                   "--collation-server=utf8mb4_general_ci"};
    if (root) server_args.push_back("--user=root");
    return absl::OkStatus();
  }

  absl::Status SetUpMariaDb() {
    std::string sql = "CREATE DATABASE forest;";
    for (const char* host : {"%", "127.0.0.1", "localhost"}) {
      sql += fmt::format(
          "CREATE USER '{0}'@'{1}' IDENTIFIED BY '{2}';"
          "GRANT ALL PRIVILEGES ON forest.* TO '{0}'@'{1}';",
          kUser, host, kPassword);
    }
    return Admin(sql, "").status();
  }

  // One attempt at initialising and starting a server in a fresh directory.
  absl::Status StartOnce() {
    RETURN_IF_ERROR(MakeDir());
    const std::vector<int> ports = coord::testing::FreeLoopbackPorts(1);
    if (ports.size() != 1) return absl::InternalError("no free loopback port");
    port = ports[0];
    if (kind == Kind::kPostgres) {
      RETURN_IF_ERROR(InitPostgres());
      RETURN_IF_ERROR(Launch());
      return SetUpPostgres();
    }
    RETURN_IF_ERROR(InitMariaDb());
    RETURN_IF_ERROR(Launch());
    return SetUpMariaDb();
  }

  // Undoes a failed StartOnce; whether it failed on a port someone else took.
  bool Reset() {
    Kill();
    const bool port_taken = Contains(log_path, "already in use");
    RemoveDir();
    drop = false;
    return port_taken;
  }
};

namespace {

absl::StatusOr<std::unique_ptr<DbServer::Impl>> StartServer(Kind kind) {
  std::string bin;
  if (kind == Kind::kPostgres) {
    bin = PostgresBinDir();
    if (bin.empty()) {
      return absl::NotFoundError(
          "no /usr/lib/postgresql/N/bin/postgres (Debian package postgresql-15)");
    }
  } else {
    for (const char* path : {kMariaDbd, kMariaDbInstall, kMariaDbClient}) {
      if (access(path, X_OK) != 0) {
        return absl::NotFoundError(
            fmt::format("{} not found (Debian packages mariadb-server, mariadb-client)", path));
      }
    }
  }
  for (int attempt = 0;; ++attempt) {
    auto impl = std::make_unique<DbServer::Impl>();
    impl->kind = kind;
    impl->bin = bin;
    const absl::Status status = impl->StartOnce();
    if (status.ok()) return impl;
    // A free port may be taken between our probe and the server's bind.
    if (!impl->Reset() || attempt == 2) return status;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<DbServer>> DbServer::StartPostgres() {
  ASSIGN_OR_RETURN(auto impl, StartServer(Kind::kPostgres));
  return std::unique_ptr<DbServer>(new DbServer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<DbServer>> DbServer::StartMariaDb() {
  ASSIGN_OR_RETURN(auto impl, StartServer(Kind::kMariaDb));
  return std::unique_ptr<DbServer>(new DbServer(std::move(impl)));
}

DbServer::DbServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DbServer::~DbServer() = default;

std::string DbServer::url() const {
  return fmt::format("{}://{}:{}@127.0.0.1:{}/forest",
                     impl_->kind == Kind::kPostgres ? "postgres" : "mysql", kUser, kPassword,
                     impl_->port);
}

int DbServer::port() const { return impl_->port; }

std::string DbServer::kind() const {
  return impl_->kind == Kind::kPostgres ? "postgres" : "mariadb";
}

void DbServer::Stop() { impl_->Stop(); }

absl::Status DbServer::Start() {
  if (impl_->pid > 0 && !impl_->Exited()) return absl::OkStatus();
  return impl_->Launch();
}

bool DbServer::running() const { return impl_->pid > 0 && !impl_->Exited(); }

absl::Status DbServer::Exec(std::string_view sql) { return impl_->Admin(sql, "forest").status(); }

absl::StatusOr<std::string> DbServer::Query(std::string_view sql) {
  return impl_->Admin(sql, "forest");
}

int DbServer::pid() const { return impl_->pid; }

std::string DbServer::dir() const { return impl_->dir; }

}  // namespace forest::history::testing
