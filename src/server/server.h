// The composition root: builds a scheduler node from options. Standalone
// (no etcd endpoints): an embedded store persisted to SQLite in the data
// directory, and the group `local` for the embedded worker. Cluster: an
// EtcdStore. Either way a scheduler::Node on top, which registers, keeps its
// view and campaigns for leadership.
//
// The history database (db_url, else history.db in the data directory) is
// filled by the collector while this node leads, and kept to
// history_retention_days by every node. Standalone runs the embedded worker
// of group `local`.
// Every node serves the HTTP API (api/) on http_address, and its metrics
// at /metrics: every module's probe records into the server's registry. The
// leader raises and delivers alarms (alarm/) from what the collector stores
// and what the scheduler sees, through the alarm log in the same database.
//
// Threads: Start returns once the node runs; the node's and the store's
// threads are the server's. Public methods are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alarm/engine.h"
#include "alarm/metrics_probe.h"
#include "alarm/sender.h"
#include "api/http_server.h"
#include "api/router.h"
#include "auth/auth.h"
#include "common/status.h"
#include "coord/etcd/etcd_store.h"
#include "coord/store.h"
#include "history/alarm_log.h"
#include "history/audit.h"
#include "history/collector.h"
#include "history/history.h"
#include "history/probe.h"
#include "history/retention.h"
#include "metrics/metrics.h"
#include "scheduler/node.h"
#include "scheduler/probe.h"
#include "web/web.h"
#include "worker/worker.h"

namespace forest::server {

struct ServerOptions {
  // The etcd cluster (endpoints, dial timeout, auth, TLS: see
  // coord/etcd/etcd_store.h); no endpoints = standalone.
  coord::EtcdStoreOptions etcd;
  // host:port or :port of the HTTP API; port 0 takes a free one
  // (http_port()). Default ":2856".
  std::string http_address = ":2856";
  // Requests with a larger body get 413. Default 1 MiB.
  size_t max_body_bytes = 1 << 20;
  // HTTPS when both are set (PEM files).
  std::string tls_cert;
  std::string tls_key;
  // Origins whose pages may call the API from a browser (CORS); none by default.
  std::vector<std::string> cors_origins;
  // The web UI's files: empty = the copy built into the binary; else a
  // directory with index.html (a UI build), read on every request.
  std::string web_dir;
  // Authentication of the API (auth/auth.h). Off: every caller is an admin,
  // and the server warns at start and every hour.
  bool auth = true;
  // The first admin's password when no user exists yet; unset: a random one,
  // printed once and saved to DATA_DIR/admin-password (0600).
  std::optional<std::string> admin_password;
  // This node's id. Default (empty): DefaultNodeId().
  std::string node_id;
  // Standalone: where forest.db lives (created if missing). Default
  // "forest-data" in the working directory.
  std::string data_dir = "forest-data";
  // TTL of the node's and the leader's leases. Default 5 s.
  std::chrono::seconds lease_ttl{5};
  // Fires later than this follow the job's misfire policy. Default 60 s.
  std::chrono::milliseconds misfire_threshold{60000};
  // The history database: a Go MySQL DSN as the original's, or a sqlite://,
  // postgres://, mysql:// URL (history/history.h). Default: a SQLite file
  // in the data directory (in a cluster too, with a warning: a cluster
  // wants one shared database).
  std::string db_url;
  // Executions older than this many days are deleted, a small batch at a
  // time (history/retention.h); 0 keeps them forever. Default 30.
  int history_retention_days = 30;
  // Standalone: the embedded worker of group `local` runs command targets
  // only when allowed (like `forest worker --allow-shell`), optionally only
  // under these prefixes. HTTP targets always run. Default: refused.
  bool allow_shell = false;
  std::vector<std::string> allowed_commands;
  // Reported by the API (the binary's version).
  std::string version;
  // Where users reach the web UI; alarm messages link to
  // {ui_url}/executions?id=... Empty: http(s)://{http host, or the node
  // id when it listens on every address}:{port}.
  std::string ui_url;
  // Repeats of an alarm (one kind, one job) within this window go as one
  // summary, unless a rule sets groupWindowSeconds. Default 5 min.
  std::chrono::seconds alarm_window{300};
  // Standalone: runs the embedded worker at once. Default 4.
  int local_concurrency = 4;
};

class Server {
 public:
  // InvalidArgument for bad options (http_address, db_url, lease_ttl,
  // history_retention_days);
  // kUnavailable when etcd or the data directory cannot be reached;
  // FailedPrecondition when another process runs on the data directory; the
  // node's errors (AlreadyExists: a live node has this id).
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options);
  // Stops.
  ~Server();

  // Resigns leadership (another node takes over at once) and stops the
  // node. Idempotent.
  void Stop();

  scheduler::NodeStatus status() const;
  // The options as run (node_id filled in).
  const ServerOptions& options() const { return options_; }
  bool standalone() const { return options_.etcd.endpoints.empty(); }
  // The port the API listens on.
  int http_port() const;
  // What /metrics renders.
  const metrics::Registry& metrics() const { return *parts_.registry; }
  // What the alarm engine counts (alarms raised, deliveries by channel).
  alarm::MetricsProbe& alarm_probe() { return *parts_.alarm_probe; }

 private:
  class DataDirLock;
  class PeriodicWarning;
  // Declared in the order they start; they stop in reverse.
  struct Parts {
    // First: every part below records into them until it stops.
    std::unique_ptr<metrics::Registry> registry;
    std::unique_ptr<scheduler::Probe> scheduler_probe;
    std::unique_ptr<history::CollectorProbe> collector_probe;
    std::unique_ptr<api::Probe> api_probe;
    std::unique_ptr<alarm::MetricsProbe> alarm_probe;
    std::unique_ptr<worker::Probe> worker_probe;  // standalone: the embedded worker's
    std::unique_ptr<DataDirLock> lock;  // standalone: held while the store is open
    std::unique_ptr<coord::Store> store;
    std::unique_ptr<history::HistoryStore> history;
    std::unique_ptr<history::Retention> retention;  // none when retention is 0 days
    // Alarms: before the collector and the node, which call the engine.
    std::unique_ptr<history::AlarmLog> alarm_log;
    std::unique_ptr<alarm::CurlSender> alarm_sender;
    std::unique_ptr<alarm::AlarmEngine> alarms;     // works while this node leads
    std::unique_ptr<history::Collector> collector;  // works while this node leads
    std::unique_ptr<scheduler::Node> node;
    std::unique_ptr<worker::Worker> local;      // standalone: the worker of group `local`
    std::unique_ptr<auth::Authenticator> auth;  // none with auth off
    std::unique_ptr<history::AuditLog> audit;
    std::unique_ptr<PeriodicWarning> auth_off_warning;
    std::unique_ptr<web::WebFiles> web;
    std::unique_ptr<api::Router> router;
    std::unique_ptr<api::HttpServer> http;
  };
  Server(ServerOptions options, Parts parts);

  const ServerOptions options_;
  Parts parts_;
};

// The first non-loopback IPv4 address of an interface that is up; else the
// host name; else "127.0.0.1".
absl::StatusOr<std::string> DefaultNodeId();

// The UI's address derived from the options (ServerOptions::ui_url).
std::string DefaultUiUrl(const ServerOptions& options);

// "host:port" or ":port" ("[::1]:port" for IPv6), port 0-65535 (0: any free port).
// InvalidArgument otherwise.
absl::Status ValidateHttpAddress(std::string_view address);

}  // namespace forest::server
