#include "api/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <thread>
#include <utility>

#include "api/errors.h"
#include "common/gzip.h"

namespace forest::api {
namespace {

// Answers smaller than this are not worth compressing by us.
constexpr size_t kCompressFrom = 1024;

struct HostPort {
  std::string host;
  int port = 0;
};

absl::StatusOr<HostPort> SplitAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(fmt::format("\"{}\" is not host:port or :port", address));
  }
  HostPort hp;
  hp.host = address.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  if (hp.host.empty()) hp.host = "0.0.0.0";
  const std::string port = address.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return absl::InvalidArgumentError(fmt::format("\"{}\": the port is not a number", address));
  }
  hp.port = std::stoi(port);
  if (hp.port > 65535) {
    return absl::InvalidArgumentError(fmt::format("\"{}\": the port is above 65535", address));
  }
  return hp;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void Fill(Response& from, httplib::Response& to) {
  // 200 is left to the library: it answers 206 (or 416) to a Range request,
  // where a 200 would label a part as the whole (and get it cached so).
  if (from.status != 200) to.status = from.status;
  bool encoded = false;
  for (const auto& [name, value] : from.headers) {
    to.set_header(name, value);
    if (Lower(name) == "content-encoding") encoded = true;
  }
  if (from.content_type.empty()) return;
  if (!encoded) {
    to.set_content(std::move(from.body), from.content_type.c_str());
    return;
  }
  // Encoded already (the UI's gzip files): the library compresses bodies it
  // is given whole a second time, but never one it is given by a provider
  // of known length.
  auto body = std::make_shared<const std::string>(std::move(from.body));
  to.set_content_provider(body->size(), from.content_type.c_str(),
                          [body](size_t offset, size_t length, httplib::DataSink& sink) {
                            return sink.write(body->data() + offset, length);
                          });
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const Router& router, HttpServerOptions options)
      : router_(router), options_(std::move(options)) {}
  ~Impl() { Stop(); }

  absl::Status Start() {
    ASSIGN_OR_RETURN(const HostPort hp, SplitAddress(options_.address));
    if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
      for (const std::string& f : {options_.tls_cert, options_.tls_key}) {
        std::error_code ec;
        if (f.empty() || !std::filesystem::is_regular_file(f, ec)) {
          return absl::InvalidArgumentError(
              fmt::format("HTTPS needs both --tls-cert and --tls-key as readable PEM files; "
                          "\"{}\" is not one",
                          f));
        }
      }
      auto ssl =
          std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
      if (!ssl->is_valid()) {
        return absl::InvalidArgumentError(fmt::format(
            "cannot use the certificate {} with the key {}", options_.tls_cert, options_.tls_key));
      }
      server_ = std::move(ssl);
      tls_ = true;
    } else {
      server_ = std::make_unique<httplib::Server>();
    }
    const int threads = std::max(1, options_.threads);
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_->set_payload_max_length(options_.max_body_bytes);
    server_->set_keep_alive_max_count(1000);
    // Answers go out at once, not after a delayed ACK (40 ms a request).
    server_->set_tcp_nodelay(true);
    const auto handle = [this](const httplib::Request& in, httplib::Response& out) {
      Handle(in, out);
    };
    server_->Get(".*", handle);
    server_->Post(".*", handle);
    server_->Put(".*", handle);
    server_->Patch(".*", handle);
    server_->Delete(".*", handle);
    server_->Options(".*", handle);
    // Before the library reads a body: it bounds only bodies with a
    // Content-Length, and waits out a body that has none.
    server_->set_pre_routing_handler([this](const httplib::Request& in, httplib::Response& out) {
      const std::string encoding = Lower(in.get_header_value("Transfer-Encoding"));
      if (encoding.find("chunked") != std::string::npos) {
        Response r = ErrorResponse(absl::InvalidArgumentError(
            "send the body with a Content-Length (chunked bodies are not accepted)"));
        r.status = 411;
        Cors(in, r);
        Fill(r, out);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!in.has_header("Content-Length") && in.method != "GET" && in.method != "HEAD" &&
          in.method != "OPTIONS") {
        // No length and no chunks: the body is empty (RFC 9112, 6.3).
        Handle(in, out);
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_->set_error_handler([this](const httplib::Request& in, httplib::Response& out) {
      // Only what the library refused itself: our own answers have a body
      // (or, encoded already, a provider of it).
      if (!out.body.empty() || out.content_provider_) return;
      absl::Status s = out.status == 413
                           ? absl::InvalidArgumentError(fmt::format(
                                 "the body is larger than {} bytes", options_.max_body_bytes))
                           : absl::InvalidArgumentError("the request was refused");
      Response r = ErrorResponse(s);
      r.status = out.status;
      Cors(in, r);
      Fill(r, out);
    });
    if (hp.port == 0) {
      port_ = server_->bind_to_any_port(hp.host);
      if (port_ < 0) port_ = 0;
    } else if (server_->bind_to_port(hp.host, hp.port)) {
      port_ = hp.port;
    }
    if (port_ <= 0) {
      return absl::UnavailableError(fmt::format("cannot listen on {}", options_.address));
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 1000 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return absl::OkStatus();
  }

  void Stop() {
    if (server_ != nullptr) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return port_; }
  bool tls() const { return tls_; }

 private:
  bool OriginAllowed(const std::string& origin) const {
    for (const std::string& o : options_.cors_origins) {
      if (o == "*" || o == origin) return true;
    }
    return false;
  }

  void Cors(const httplib::Request& in, Response& r) const {
    const std::string origin = in.get_header_value("Origin");
    if (origin.empty() || !OriginAllowed(origin)) return;
    if (std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin) ==
        options_.cors_origins.end()) {
      // Allowed by "*" only: any page may read answers, but never with the
      // caller's cookie (a session's CSRF token would be readable).
      r.headers.emplace_back("Access-Control-Allow-Origin", "*");
      return;
    }
    r.headers.emplace_back("Access-Control-Allow-Origin", origin);
    r.headers.emplace_back("Access-Control-Allow-Credentials", "true");
    r.headers.emplace_back("Vary", "Origin");
  }

  // A request that may change something, from a browser page of another
  // origin that --cors-origins does not list, is refused before it runs:
  // browsers send such "simple" requests (a form, text/plain) without asking
  // first, which with --auth=off would let any web page create a job. REST
  // writes must also say their body is JSON (415 otherwise), which a page of
  // another origin cannot send without a preflight. The original's
  // endpoints keep taking forms, as its UI sent them.
  absl::Status CheckWrite(const httplib::Request& in) const {
    if (in.method == "GET" || in.method == "HEAD") return absl::OkStatus();
    const std::string origin = in.get_header_value("Origin");
    if (!origin.empty() && !SameOrigin(in, origin) && !OriginAllowed(origin)) {
      return absl::PermissionDeniedError(fmt::format(
          "requests from the page {} are not allowed (same origin only, or list it in "
          "--cors-origins)",
          origin));
    }
    if (in.path.rfind("/api/", 0) == 0 && !in.body.empty()) {
      const std::string type = Lower(in.get_header_value("Content-Type"));
      const std::string media = type.substr(0, type.find(';'));
      if (media != "application/json" && !media.ends_with("+json")) {
        return absl::InvalidArgumentError(fmt::format(
            "send the body as JSON (Content-Type: application/json), not \"{}\"", type));
      }
    }
    return absl::OkStatus();
  }

  // Whether `origin` ("https://host:port") names this server as the request
  // reached it (Host, or X-Forwarded-Host behind a proxy).
  static bool SameOrigin(const httplib::Request& in, const std::string& origin) {
    const size_t scheme = origin.find("://");
    if (scheme == std::string::npos) return false;
    const std::string authority = Lower(origin.substr(scheme + 3));
    for (const char* header : {"Host", "X-Forwarded-Host"}) {
      const std::string host = Lower(in.get_header_value(header));
      if (host.empty()) continue;
      if (host == authority) return true;
      // A default port is left out of one and written in the other.
      for (const char* port : {":80", ":443"}) {
        if (host == authority + port || host + port == authority) return true;
      }
    }
    return false;
  }

  // Large answers go out gzipped by us when the client takes gzip: the
  // library would pick brotli at its slowest setting (a 2 MB job list took
  // 3.7 s instead of 0.26 s).
  static void Compress(const httplib::Request& in, Response& r) {
    const std::string& type = r.content_type;
    const bool compressible = type.rfind("application/json", 0) == 0 ||
                              type.rfind("text/", 0) == 0 || type.rfind("image/svg+xml", 0) == 0;
    if (in.method == "HEAD" || r.body.size() < kCompressFrom || !compressible ||
        !AcceptsGzip(in.get_header_value("Accept-Encoding"))) {
      return;
    }
    for (const auto& [name, value] : r.headers) {
      if (Lower(name) == "content-encoding") return;  // encoded already
    }
    r.body = Gzip(r.body);
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.headers.emplace_back("Vary", "Accept-Encoding");
  }

  void Handle(const httplib::Request& in, httplib::Response& out) {
    Response r;
    if (in.method == "OPTIONS") {
      // A CORS preflight: answered for allowed origins only.
      const std::string origin = in.get_header_value("Origin");
      if (!origin.empty() && OriginAllowed(origin)) {
        r.status = 204;
        r.content_type.clear();
        r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
        r.headers.emplace_back("Access-Control-Allow-Headers",
                               "Content-Type, Authorization, X-CSRF-Token");
        r.headers.emplace_back("Access-Control-Max-Age", "600");
      } else {
        r = ErrorResponse(absl::PermissionDeniedError(
            origin.empty() ? "OPTIONS is only answered to a CORS preflight"
                           : "cross-origin requests from " + origin + " are not allowed"));
      }
    } else if (absl::Status refused = CheckWrite(in); !refused.ok()) {
      r = ErrorResponse(refused);
      if (refused.code() == absl::StatusCode::kInvalidArgument) r.status = 415;
    } else {
      Request req;
      req.method = in.method;
      req.path = in.path;
      for (const auto& [k, v] : in.params) req.query.emplace(k, v);
      for (const auto& [k, v] : in.headers) req.headers[Lower(k)] = v;
      req.body = in.body;
      req.remote_address = in.remote_addr;
      r = router_.Dispatch(req);
      Compress(in, r);
      if (in.path.rfind("/api/", 0) == 0) {
        // Answers may carry a CSRF token or a token's text: kept by no cache.
        r.headers.emplace_back("Cache-Control", "no-store");
      }
    }
    Cors(in, r);
    Fill(r, out);
  }

  const Router& router_;
  const HttpServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  bool tls_ = false;
  int port_ = 0;
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const Router& router,
                                                              HttpServerOptions options) {
  auto impl = std::make_unique<Impl>(router, std::move(options));
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
void HttpServer::Stop() { impl_->Stop(); }
int HttpServer::port() const { return impl_->port(); }
bool HttpServer::tls() const { return impl_->tls(); }

}  // namespace forest::api
