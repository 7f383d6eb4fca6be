#include "coord/testing/etcd_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include <thread>

#include "coord/etcd/etcd.grpc.pb.h"
#include "coord/testing/spawner.h"

extern char** environ;

namespace forest::coord::testing {

namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kOpenssl = "/usr/bin/openssl";
constexpr auto kStartTimeout = std::chrono::seconds(20);


struct Member {
  std::string name;
  int client_port = 0;
  int peer_port = 0;
  std::string log_path;
  std::string out_path;  // stdout and stderr (before the logger starts)
  std::vector<std::string> args;
  pid_t pid = -1;
};

bool Contains(const std::string& path, const std::string& text) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Makes a CA, a server certificate for 127.0.0.1 and a client certificate in
// `dir` (P-256 keys, valid for a day).
absl::Status MakeCertificates(const std::string& dir) {
  std::ofstream(dir + "/server.ext") << "subjectAltName=IP:127.0.0.1\n"
                                        "extendedKeyUsage=serverAuth,clientAuth\n";
  std::ofstream(dir + "/client.ext") << "extendedKeyUsage=clientAuth\n";
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::vector<std::string> commands = {
      fmt::format("{} req -x509 {} -keyout ca.key -out ca.crt -days 1 -subj /CN=forest-test-ca",
                  kOpenssl, key),
      fmt::format("{} req {} -keyout server.key -out server.csr -subj /CN=127.0.0.1", kOpenssl,
                  key),
      fmt::format("{} x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                  "-out server.crt -days 1 -extfile server.ext",
                  kOpenssl),
      fmt::format("{} req {} -keyout client.key -out client.csr -subj /CN=forest-test-client",
                  kOpenssl, key),
      fmt::format("{} x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                  "-out client.crt -days 1 -extfile client.ext",
                  kOpenssl),
  };
  for (const std::string& command : commands) {
    const std::string full = fmt::format("cd '{}' && {} >>openssl.log 2>&1", dir, command);
    if (std::system(full.c_str()) != 0) {
      return absl::InternalError(
          fmt::format("'{}' failed:\n{}", command, ReadAll(dir + "/openssl.log")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// Free loopback ports (held open together, so they are distinct).
std::vector<int> FreeLoopbackPorts(int n) {
  std::vector<int> fds, ports;
  for (int i = 0; i < n; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) close(fd);
      continue;
    }
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (const int fd : fds) close(fd);
  return ports;
}


struct EtcdCluster::Impl {
  std::string dir;
  bool tls = false;
  std::vector<Member> members;
  std::unique_ptr<Spawner> spawner = std::make_unique<Spawner>();

  ~Impl() {
    for (size_t i = 0; i < members.size(); ++i) Kill(i);
    spawner.reset();
    if (!dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }

  void Kill(size_t i) {
    Member& m = members[i];
    if (m.pid <= 0) return;
    kill(m.pid, SIGKILL);
    int status = 0;
    waitpid(m.pid, &status, 0);
    m.pid = -1;
  }

  absl::Status Spawn(size_t i) {
    Member& m = members[i];
    // Everything the child needs, prepared before fork (only async-signal-safe
    // calls between fork and exec).
    std::vector<char*> argv;
    for (std::string& a : m.args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // etcd also reads ETCD_* variables, which would fight with our flags.
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "ETCD_", 5) != 0) env.push_back(*e);
    }
    env.push_back(nullptr);
    const std::string out = m.out_path;
    const pid_t parent = getpid();
    const long max_fd = std::min(sysconf(_SC_OPEN_MAX), 65536L);
    const pid_t pid = spawner->Run([&]() -> pid_t {
      const pid_t child = fork();
      if (child != 0) return child;
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int null = open("/dev/null", O_RDONLY);
      if (fd < 0 || null < 0) _exit(126);
      dup2(null, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
        for (long f = 3; f < max_fd; ++f) close(int(f));
      }
      execve(kEtcd, argv.data(), env.data());
      _exit(127);
    });
    if (pid < 0) return absl::InternalError(fmt::format("fork: {}", std::strerror(errno)));
    m.pid = pid;
    return absl::OkStatus();
  }

  // Whether member i exited (reaps it).
  bool Exited(size_t i) {
    Member& m = members[i];
    if (m.pid <= 0) return true;
    int status = 0;
    if (waitpid(m.pid, &status, WNOHANG) == m.pid) {
      m.pid = -1;
      return true;
    }
    return false;
  }

  std::string Logs(size_t i) {
    const Member& m = members[i];
    return fmt::format("--- {} log (tail) ---\n{}--- {} output (tail) ---\n{}", m.name,
                       Tail(m.log_path, 30), m.name, Tail(m.out_path, 10));
  }

  // Waits until member i serves a (linearizable) read: it is up and has a
  // leader. An error answer from etcd itself (e.g. auth) counts as serving.
  absl::Status WaitServing(size_t i, std::chrono::steady_clock::time_point deadline) {
    const Member& m = members[i];
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (tls) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = ReadAll(dir + "/ca.crt");
      ssl.pem_cert_chain = ReadAll(dir + "/client.crt");
      ssl.pem_private_key = ReadAll(dir + "/client.key");
      credentials = grpc::SslCredentials(ssl);
    }
    auto channel =
        grpc::CreateCustomChannel(fmt::format("127.0.0.1:{}", m.client_port), credentials, args);
    auto kv = etcdserverpb::KV::NewStub(channel);
    std::string last = "no answer";
    while (std::chrono::steady_clock::now() < deadline) {
      if (Exited(i)) {
        return absl::UnavailableError(
            fmt::format("etcd member {} exited while starting\n{}", m.name, Logs(i)));
      }
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      context.set_wait_for_ready(true);
      etcdserverpb::RangeRequest request;
      request.set_key("/forest-testing/health");
      request.set_count_only(true);
      etcdserverpb::RangeResponse response;
      const grpc::Status s = kv->Range(&context, request, &response);
      const auto code = s.error_code();
      if (s.ok() ||
          (code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::DEADLINE_EXCEEDED &&
           code != grpc::StatusCode::UNKNOWN && code != grpc::StatusCode::CANCELLED)) {
        return absl::OkStatus();
      }
      last = s.error_message();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return absl::UnavailableError(fmt::format("etcd member {} did not serve within {} s ({})\n{}",
                                              m.name, kStartTimeout.count(), last, Logs(i)));
  }

  // One attempt at starting `n` members in a fresh directory.
  absl::Status StartOnce(int n) {
    const char* base = std::getenv("TMPDIR");
    const std::string pattern =
        fmt::format("{}/forest-etcd-XXXXXX", base != nullptr && *base != '\0' ? base : "/tmp");
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) {
      return absl::InternalError(fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
    }
    dir = buffer.data();

    if (tls) RETURN_IF_ERROR(MakeCertificates(dir));
    const std::vector<int> ports = FreeLoopbackPorts(2 * n);
    if (ports.size() != size_t(2 * n)) return absl::InternalError("no free loopback ports");
    std::string initial;
    for (int i = 0; i < n; ++i) {
      Member m;
      m.name = fmt::format("m{}", i);
      m.client_port = ports[2 * i];
      m.peer_port = ports[2 * i + 1];
      m.log_path = fmt::format("{}/{}.log", dir, m.name);
      m.out_path = fmt::format("{}/{}.out", dir, m.name);
      if (!initial.empty()) initial += ",";
      initial += fmt::format("{}=http://127.0.0.1:{}", m.name, m.peer_port);
      members.push_back(std::move(m));
    }
    static std::atomic<int> counter{0};
    const std::string token = fmt::format("forest-test-{}-{}", getpid(), counter++);
    for (Member& m : members) {
      const std::string client =
          fmt::format("{}://127.0.0.1:{}", tls ? "https" : "http", m.client_port);
      const std::string peer = fmt::format("http://127.0.0.1:{}", m.peer_port);
      m.args = {kEtcd, "--name=" + m.name, fmt::format("--data-dir={}/{}.etcd", dir, m.name),
                "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
                "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
                "--initial-cluster=" + initial, "--initial-cluster-state=new",
                "--initial-cluster-token=" + token,
                // Fast elections, so failover tests are quick.
                "--heartbeat-interval=50", "--election-timeout=500", "--logger=zap",
                "--log-outputs=" + m.log_path};
      if (tls) {
        m.args.push_back(fmt::format("--cert-file={}/server.crt", dir));
        m.args.push_back(fmt::format("--key-file={}/server.key", dir));
        m.args.push_back(fmt::format("--trusted-ca-file={}/ca.crt", dir));
        m.args.push_back("--client-cert-auth=true");
      }
    }
    for (size_t i = 0; i < members.size(); ++i) RETURN_IF_ERROR(Spawn(i));
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    for (size_t i = 0; i < members.size(); ++i) RETURN_IF_ERROR(WaitServing(i, deadline));
    return absl::OkStatus();
  }

  // Undoes a failed StartOnce; whether it failed on a port someone else took.
  bool Reset() {
    bool port_taken = false;
    for (size_t i = 0; i < members.size(); ++i) {
      Kill(i);
      port_taken = port_taken || Contains(members[i].log_path, "address already in use") ||
                   Contains(members[i].out_path, "address already in use");
    }
    members.clear();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    dir.clear();
    return port_taken;
  }
};

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(EtcdClusterOptions options) {
  if (options.members < 1) return absl::InvalidArgumentError("EtcdCluster: at least one member");
  if (access(kEtcd, X_OK) != 0) {
    return absl::NotFoundError(fmt::format("{} not found (Debian package etcd-server)", kEtcd));
  }
  if (options.tls && access(kOpenssl, X_OK) != 0) {
    return absl::NotFoundError(fmt::format("{} not found (Debian package openssl)", kOpenssl));
  }
  for (int attempt = 0;; ++attempt) {
    auto impl = std::make_unique<Impl>();
    impl->tls = options.tls;
    const absl::Status status = impl->StartOnce(options.members);
    if (status.ok()) return std::unique_ptr<EtcdCluster>(new EtcdCluster(std::move(impl)));
    // A free port may be taken between our probe and etcd's bind: try anew.
    if (!impl->Reset() || attempt == 2) return status;
  }
}

EtcdCluster::EtcdCluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EtcdCluster::~EtcdCluster() = default;

int EtcdCluster::size() const { return int(impl_->members.size()); }

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
  return out;
}

std::string EtcdCluster::endpoint(int member) const {
  return fmt::format("127.0.0.1:{}", impl_->members.at(size_t(member)).client_port);
}

std::string EtcdCluster::ca_file() const { return impl_->tls ? impl_->dir + "/ca.crt" : ""; }
std::string EtcdCluster::client_cert_file() const {
  return impl_->tls ? impl_->dir + "/client.crt" : "";
}
std::string EtcdCluster::client_key_file() const {
  return impl_->tls ? impl_->dir + "/client.key" : "";
}

void EtcdCluster::Kill(int member) { impl_->Kill(size_t(member)); }

absl::Status EtcdCluster::Restart(int member) {
  const auto i = size_t(member);
  impl_->Kill(i);
  RETURN_IF_ERROR(impl_->Spawn(i));
  return impl_->WaitServing(i, std::chrono::steady_clock::now() + kStartTimeout);
}

void EtcdCluster::Pause(int member) {
  const pid_t pid = impl_->members.at(size_t(member)).pid;
  if (pid <= 0 || kill(pid, SIGSTOP) != 0) return;
  // SIGSTOP takes effect asynchronously: a thread running on another core
  // could still answer a request sent right after kill() returns. Wait until
  // every thread reports the stopped state.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    bool all_stopped = true;
    std::error_code ec;
    for (const auto& task :
         std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
      std::ifstream stat(task.path() / "stat");
      std::string line;
      std::getline(stat, line);
      const auto close = line.rfind(')');
      if (close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'T' &&
          line[close + 2] != 't') {
        all_stopped = false;
        break;
      }
    }
    if (all_stopped) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void EtcdCluster::Resume(int member) {
  const pid_t pid = impl_->members.at(size_t(member)).pid;
  if (pid > 0) kill(pid, SIGCONT);
}

}  // namespace forest::coord::testing
