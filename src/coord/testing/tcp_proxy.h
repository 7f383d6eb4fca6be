// Test support: a TCP proxy on 127.0.0.1 in front of one target, for
// partition tests. Blocking it holds every byte in both directions (the
// connections stay open, as in a network partition) until unblocked.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace forest::coord::testing {

class TcpProxy {
 public:
  // Listens on a free loopback port and forwards to `target` ("127.0.0.1:PORT").
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(std::string target);
  ~TcpProxy();  // closes everything

  std::string endpoint() const;  // "127.0.0.1:PORT"
  void Block();                  // stop forwarding (bytes wait)
  void Unblock();                // forward again
  void CloseAll();               // drop every open connection (RST); new ones are accepted

 private:
  struct Impl;
  explicit TcpProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::coord::testing
