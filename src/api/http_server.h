// Serves a Router over HTTP (or HTTPS with a certificate and key) with
// cpp-httplib: a pool of threads, a body size limit (413 beyond it), CORS
// for the listed origins only (none by default: same-origin), and JSON
// error bodies for what the library itself refuses.
//
// Threads: Start returns once the socket is bound and the server accepts;
// the listener and its workers are the server's. Stop (or the destructor)
// closes the socket and joins them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/router.h"
#include "common/status.h"

namespace forest::api {

struct HttpServerOptions {
  // "host:port", ":port" (every IPv4 address) or "[::1]:port"; port 0
  // takes a free one (see port()).
  std::string address = ":2856";
  size_t max_body_bytes = 1 << 20;
  // HTTPS when both are set (PEM files).
  std::string tls_cert;
  std::string tls_key;
  // Origins allowed to call from a browser page of another origin, exactly
  // as the browser sends them ("https://ops.example.com"); "*" allows any.
  std::vector<std::string> cors_origins;
  // cpp-httplib serves a connection on one thread for as long as it is kept
  // alive: more clients than threads wait. 64 serve 64 at once.
  int threads = 64;
};

class HttpServer {
 public:
  // `router` must outlive the server. InvalidArgument for a bad address or
  // unreadable certificate; Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const Router& router,
                                                           HttpServerOptions options);
  ~HttpServer();
  void Stop();
  int port() const;
  bool tls() const;

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::api
