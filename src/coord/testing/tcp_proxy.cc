#include "coord/testing/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace forest::coord::testing {

namespace {

constexpr size_t kMaxBuffered = 256 * 1024;

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

// Closes with a reset (SO_LINGER 0), as a dropped connection looks to its peer.
void Reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

struct Connection {
  int client = -1;
  int upstream = -1;
  std::string to_upstream;  // read from the client, not yet written
  std::string to_client;
  bool dead = false;
};

// Reads what `from` has into `buffer`; false on EOF or error.
bool Pump(int from, std::string& buffer) {
  char chunk[16384];
  while (buffer.size() < kMaxBuffered) {
    const ssize_t n = read(from, chunk, sizeof chunk);
    if (n > 0) {
      buffer.append(chunk, size_t(n));
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  return true;
}

// Writes what it can of `buffer` to `to`; false on error.
bool Flush(int to, std::string& buffer) {
  while (!buffer.empty()) {
    const ssize_t n = send(to, buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n > 0) {
      buffer.erase(0, size_t(n));
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }
  return true;
}

}  // namespace

struct TcpProxy::Impl {
  int listen_fd = -1;
  int port = 0;
  sockaddr_in target{};
  int wake[2] = {-1, -1};
  std::atomic<bool> blocked{false};
  std::atomic<bool> stop{false};

  std::mutex mu;
  std::condition_variable cv;
  uint64_t close_requested = 0;  // guarded by mu
  uint64_t close_done = 0;       // guarded by mu

  std::vector<Connection> connections;  // the proxy thread's
  std::thread thread;

  void Wake() {
    const char c = 1;
    [[maybe_unused]] const ssize_t n = write(wake[1], &c, 1);
  }

  void CloseConnections() {
    for (Connection& c : connections) {
      Reset(c.client);
      Reset(c.upstream);
    }
    connections.clear();
  }

  void Accept() {
    while (true) {
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      // Loopback: a blocking connect answers at once (refused or accepted).
      if (up < 0 || connect(up, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
        if (up >= 0) close(up);
        Reset(fd);
        continue;
      }
      SetNonBlocking(up);
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Connection c;
      c.client = fd;
      c.upstream = up;
      connections.push_back(std::move(c));
    }
  }

  void Loop() {
    std::vector<pollfd> fds;
    while (!stop) {
      const bool is_blocked = blocked;
      fds.clear();
      fds.push_back({wake[0], POLLIN, 0});
      fds.push_back({listen_fd, POLLIN, 0});
      if (!is_blocked) {
        // Blocked: nothing is read or written; the connections just stay open.
        for (const Connection& c : connections) {
          short ce = 0, ue = 0;
          if (c.to_upstream.size() < kMaxBuffered) ce |= POLLIN;
          if (!c.to_client.empty()) ce |= POLLOUT;
          if (c.to_client.size() < kMaxBuffered) ue |= POLLIN;
          if (!c.to_upstream.empty()) ue |= POLLOUT;
          fds.push_back({c.client, ce, 0});
          fds.push_back({c.upstream, ue, 0});
        }
      }
      if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
      if (fds[0].revents != 0) {
        char drain[64];
        while (read(wake[0], drain, sizeof drain) > 0) {
        }
        uint64_t requested = 0;
        {
          std::lock_guard lock(mu);
          if (close_done < close_requested) requested = close_requested;
        }
        if (requested != 0) {
          CloseConnections();
          std::lock_guard lock(mu);
          close_done = requested;
          cv.notify_all();
        }
        continue;  // the connection list may have changed
      }
      if (fds[1].revents & POLLIN) Accept();
      if (is_blocked) continue;
      for (size_t i = 0; i < connections.size() && 2 + 2 * i + 1 < fds.size(); ++i) {
        Connection& c = connections[i];
        const short cr = fds[2 + 2 * i].revents;
        const short ur = fds[2 + 2 * i + 1].revents;
        bool ok = true;
        if (cr & (POLLIN | POLLHUP | POLLERR)) ok = Pump(c.client, c.to_upstream) && ok;
        if (ur & (POLLIN | POLLHUP | POLLERR)) ok = Pump(c.upstream, c.to_client) && ok;
        ok = Flush(c.upstream, c.to_upstream) && ok;
        ok = Flush(c.client, c.to_client) && ok;
        if (!ok) c.dead = true;
      }
      for (size_t i = 0; i < connections.size();) {
        if (connections[i].dead) {
          // One side went away: so does the other (what is pending was flushed
          // as far as it could be).
          close(connections[i].client);
          close(connections[i].upstream);
          connections.erase(connections.begin() + long(i));
        } else {
          ++i;
        }
      }
    }
  }
};

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(std::string target) {
  auto impl = std::make_unique<Impl>();
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(fmt::format("TcpProxy: bad target '{}'", target));
  }
  const std::string host = target.substr(0, colon);
  impl->target.sin_family = AF_INET;
  impl->target.sin_port = htons(uint16_t(std::atoi(target.c_str() + colon + 1)));
  if (host != "127.0.0.1" || inet_pton(AF_INET, host.c_str(), &impl->target.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        fmt::format("TcpProxy: target must be 127.0.0.1:PORT, not '{}'", target));
  }

  impl->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (impl->listen_fd < 0 ||
      bind(impl->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(impl->listen_fd, 64) != 0 ||
      getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(impl->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    const std::string error = std::strerror(errno);
    if (impl->listen_fd >= 0) close(impl->listen_fd);
    return absl::InternalError(fmt::format("TcpProxy: cannot listen: {}", error));
  }
  impl->port = ntohs(addr.sin_port);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<TcpProxy>(new TcpProxy(std::move(impl)));
}

TcpProxy::TcpProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TcpProxy::~TcpProxy() {
  impl_->stop = true;
  impl_->Wake();
  impl_->thread.join();
  impl_->CloseConnections();
  close(impl_->listen_fd);
  close(impl_->wake[0]);
  close(impl_->wake[1]);
}

std::string TcpProxy::endpoint() const { return fmt::format("127.0.0.1:{}", impl_->port); }

void TcpProxy::Block() {
  impl_->blocked = true;
  impl_->Wake();
}

void TcpProxy::Unblock() {
  impl_->blocked = false;
  impl_->Wake();
}

void TcpProxy::CloseAll() {
  std::unique_lock lock(impl_->mu);
  const uint64_t request = ++impl_->close_requested;
  impl_->Wake();
  impl_->cv.wait(lock, [&] { return impl_->close_done >= request; });
}

}  // namespace forest::coord::testing
