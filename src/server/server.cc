#include "server/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

#include "api/api.h"
#include "common/host.h"
#include "coord/embedded/embedded_store.h"
#include "coord/etcd/etcd_store.h"
#include "coord/instrumented_store.h"
#include "model/job.h"
#include "model/keys.h"
#include "worker/http_executor.h"
#include "worker/shell_executor.h"

namespace forest::server {
namespace {

constexpr std::string_view kLocalGroup = "local";

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Creates the group of the embedded worker unless it exists (an operator's
// edits of it are kept).
absl::Status EnsureLocalGroup(coord::Store& store) {
  const std::string key = std::string(model::keys::kGroupPrefix) + std::string(kLocalGroup);
  model::Group group;
  group.name = std::string(kLocalGroup);
  group.remark = "embedded worker (standalone)";
  coord::TxnRequest txn;
  txn.compare.push_back(coord::Compare::Absent(key));
  txn.success.push_back(coord::PutRequest{key, group.ToJson(), 0, false});
  ASSIGN_OR_RETURN(const coord::TxnResponse created, store.Txn(txn));
  if (created.succeeded) spdlog::info("server: created group {}", kLocalGroup);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<coord::Store>> OpenStore(const ServerOptions& o) {
  if (o.etcd.endpoints.empty()) {
    coord::EmbeddedStoreOptions eo;
    eo.sqlite_path = (std::filesystem::path(o.data_dir) / "forest.db").string();
    ASSIGN_OR_RETURN(std::unique_ptr<coord::EmbeddedStore> store,
                     coord::EmbeddedStore::Open(std::move(eo)));
    RETURN_IF_ERROR(EnsureLocalGroup(*store));
    return std::unique_ptr<coord::Store>(std::move(store));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<coord::EtcdStore> store, coord::EtcdStore::Connect(o.etcd));
  return std::unique_ptr<coord::Store>(std::move(store));
}

}  // namespace

// An exclusive flock on DATA_DIR/LOCK: two processes on one embedded store
// would each believe they alone lead.
class Server::DataDirLock {
 public:
  static absl::StatusOr<std::unique_ptr<DataDirLock>> Acquire(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::UnavailableError(
          fmt::format("cannot create the data directory {}: {}", dir, ec.message()));
    }
    const std::string path = (std::filesystem::path(dir) / "LOCK").string();
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::UnavailableError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      close(fd);
      if (err == EWOULDBLOCK) {
        return absl::FailedPreconditionError(
            fmt::format("the data directory {} is in use by another forest server", dir));
      }
      return absl::UnavailableError(fmt::format("cannot lock {}: {}", path, std::strerror(err)));
    }
    return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
  }
  ~DataDirLock() { close(fd_); }  // releases the lock
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  const int fd_;
};

absl::StatusOr<std::string> DefaultNodeId() { return MachineAddress(); }

std::string DefaultUiUrl(const ServerOptions& o) {
  const size_t colon = o.http_address.rfind(':');
  std::string host = o.http_address.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : o.http_address.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0" || host == "[::]") {
    host = o.node_id.find(':') != std::string::npos ? "[" + o.node_id + "]" : o.node_id;
  }
  return fmt::format("{}://{}:{}", o.tls_cert.empty() ? "http" : "https", host, port);
}

absl::Status ValidateHttpAddress(std::string_view address) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid http address '{}': {} (expected host:port or :port, port 0-65535, 0 = any "
        "free port)",
        address, why));
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  const std::string_view host = address.substr(0, colon);
  const std::string_view port = address.substr(colon + 1);
  if (!AllDigits(port) || port.size() > 5) return bad("the port is not a number");
  const int number = std::stoi(std::string(port));
  if (number > 65535) return bad("the port is out of range");
  if (host.find_first_of(" \t/") != std::string_view::npos) return bad("bad host");
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("bad IPv6 host");
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 host needs brackets");
  }
  return absl::OkStatus();
}

// Logs `message` as a warning now and every `every` until destroyed.
class Server::PeriodicWarning {
 public:
  PeriodicWarning(std::string message, std::chrono::milliseconds every)
      : message_(std::move(message)), every_(every) {
    thread_ = std::thread([this] {
      std::unique_lock lock(mu_);
      do {
        spdlog::warn("{}", message_);
      } while (!cv_.wait_for(lock, every_, [&] { return stop_; }));
    });
  }
  ~PeriodicWarning() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  const std::string message_;
  const std::chrono::milliseconds every_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  RETURN_IF_ERROR(ValidateHttpAddress(options.http_address));
  if (options.lease_ttl < std::chrono::seconds(1)) {
    return absl::InvalidArgumentError("the lease TTL must be at least 1s");
  }
  if (options.misfire_threshold < std::chrono::milliseconds(0)) {
    return absl::InvalidArgumentError("the misfire threshold must not be negative");
  }
  if (options.history_retention_days < 0 || options.history_retention_days > 36500) {
    return absl::InvalidArgumentError(
        fmt::format("history retention of {} days is outside 0..36500 (0 keeps every execution)",
                    options.history_retention_days));
  }
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    for (const std::string& f : {options.tls_cert, options.tls_key}) {
      std::error_code ec;
      if (f.empty() || !std::filesystem::is_regular_file(f, ec)) {
        return absl::InvalidArgumentError(fmt::format(
            "HTTPS needs both a certificate and a key as readable PEM files; \"{}\" is not one",
            f));
      }
    }
  }
  std::unique_ptr<web::WebFiles> web_files;
  if (options.web_dir.empty()) {
    web_files = web::EmbeddedWebFiles();
    if (!web_files->HasIndex()) {
      spdlog::warn("server: this binary has no web UI built in (FOREST_WEB=OFF); --web-dir "
                   "serves one");
    }
  } else {
    auto dir = web::DirectoryWebFiles(options.web_dir);
    if (!dir.ok()) {
      return absl::InvalidArgumentError("--web-dir: " + std::string(dir.status().message()));
    }
    web_files = *std::move(dir);
  }
  if (options.node_id.empty()) {
    ASSIGN_OR_RETURN(options.node_id, DefaultNodeId());
  }
  if (options.etcd.endpoints.empty() && options.data_dir.empty()) {
    return absl::InvalidArgumentError("standalone mode needs a data directory");
  }
  Parts parts;
  parts.registry = std::make_unique<metrics::Registry>();
  metrics::Registry* registry = parts.registry.get();
  parts.scheduler_probe = std::make_unique<scheduler::Probe>(registry);
  parts.collector_probe = std::make_unique<history::CollectorProbe>(registry);
  parts.api_probe = std::make_unique<api::Probe>(registry);
  parts.alarm_probe = std::make_unique<alarm::MetricsProbe>(registry);
  registry
      ->AddGaugeFamily("forest_build_info", "1, labelled with the binary's version.", {"version"})
      .WithLabels({options.version})
      .Set(1);
  registry
      ->AddGauge("forest_process_start_time_seconds",
                 "When this process started, in seconds since the Unix epoch.")
      .Set(std::chrono::duration<double>(SystemClock::Get().Now().time_since_epoch()).count());
  if (options.etcd.endpoints.empty()) {
    ASSIGN_OR_RETURN(parts.lock, DataDirLock::Acquire(options.data_dir));
  }
  {
    // Every module's store calls are counted (by operation) here.
    ASSIGN_OR_RETURN(std::unique_ptr<coord::Store> store, OpenStore(options));
    parts.store = std::make_unique<coord::InstrumentedStore>(std::move(store), registry);
  }

  // Execution history, and the collector that fills it while this node leads.
  history::DbUrl db;
  if (!options.db_url.empty()) {
    ASSIGN_OR_RETURN(db, history::ParseDbUrl(options.db_url));
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    db.kind = history::DbUrl::Kind::kSqlite;
    db.path = (std::filesystem::path(options.data_dir) / "history.db").string();
    if (!options.etcd.endpoints.empty()) {
      spdlog::warn(
          "server: no --db-url: execution history goes to {} on this node only; a cluster wants "
          "one shared database (--db-url postgres://... or mysql://...)",
          db.path);
    }
  }
  spdlog::info("server: history database {}", db.Describe());
  {
    ASSIGN_OR_RETURN(std::unique_ptr<history::HistoryStore> history, history::Open(db));
    parts.history = std::make_unique<history::InstrumentedHistory>(std::move(history), registry);
  }
  if (options.history_retention_days > 0) {
    history::RetentionOptions ro;
    ro.days = options.history_retention_days;
    ASSIGN_OR_RETURN(parts.retention, history::Retention::Start(*parts.history, ro));
  }
  // Alarms, raised and sent by the leader, recorded in the same database.
  if (options.ui_url.empty()) options.ui_url = DefaultUiUrl(options);
  ASSIGN_OR_RETURN(parts.alarm_log, history::OpenAlarmLog(db, SystemClock::Get()));
  parts.alarm_sender = std::make_unique<alarm::CurlSender>();
  alarm::EngineOptions ao;
  ao.node_id = options.node_id;
  ao.probe = parts.alarm_probe.get();
  ao.ui_url = options.ui_url;
  ao.default_window = options.alarm_window;
  ao.retention_days = options.history_retention_days;
  ASSIGN_OR_RETURN(parts.alarms,
                   alarm::AlarmEngine::Start(*parts.store, *parts.alarm_log, *parts.alarm_sender,
                                             parts.history.get(), ao));

  history::CollectorOptions co;
  co.node_id = options.node_id;
  co.on_stored = [alarms = parts.alarms.get()](const std::vector<history::Execution>& rows) {
    return alarms->OnStored(rows);
  };
  co.probe = parts.collector_probe.get();
  ASSIGN_OR_RETURN(parts.collector, history::Collector::Start(*parts.store, *parts.history, co));

  scheduler::NodeOptions no;
  no.leader.node_id = options.node_id;
  no.leader.misfire_threshold = options.misfire_threshold;
  no.leader.probe = parts.scheduler_probe.get();
  no.lease_ttl = options.lease_ttl;
  // The margin must leave room to renew: a quarter of short TTLs, 1 s of long ones.
  no.safety_margin = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(1000),
      std::chrono::duration_cast<std::chrono::milliseconds>(options.lease_ttl) / 4);
  no.leader.observer = parts.alarms.get();
  no.on_leadership = [collector = parts.collector.get(),
                      alarms = parts.alarms.get()](std::optional<coord::Revision> token) {
    if (token) {
      alarms->Lead(*token);
      collector->Lead(*token);
    } else {
      collector->Follow();
      alarms->Follow();
    }
  };
  ASSIGN_OR_RETURN(parts.node, scheduler::Node::Start(*parts.store, std::move(no)));
  // Who may use the API, and the record of what they did.
  ASSIGN_OR_RETURN(parts.audit, history::OpenAuditLog(db, SystemClock::Get()));
  if (options.auth) {
    ASSIGN_OR_RETURN(parts.auth, auth::Authenticator::Create(*parts.store, SystemClock::Get()));
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    ASSIGN_OR_RETURN(const auth::AdminBootstrap admin,
                     parts.auth->EnsureAdmin(options.admin_password, options.data_dir));
    if (admin.created && admin.generated_password) {
      // Printed once, on the terminal that started the first node.
      std::cerr << "\n  forest: created the user `admin` with the password\n\n      "
                << *admin.generated_password << "\n\n  (also saved, mode 0600, in "
                << admin.password_file << "; change it after logging in)\n\n"
                << std::flush;
    } else if (admin.created) {
      spdlog::info("server: created the user `admin` with the given --admin-password");
    }
  } else {
    parts.auth_off_warning = std::make_unique<PeriodicWarning>(
        "server: authentication is OFF (--auth=off): anyone who reaches the API is an admin; "
        "use it only on a trusted network",
        std::chrono::hours(1));
  }

  // The API last: it answers about the parts above.
  parts.web = std::move(web_files);
  parts.router = std::make_unique<api::Router>();
  parts.router->SetFallback(web::WebHandler(*parts.web));
  parts.router->SetProbe(parts.api_probe.get());
  api::ApiDeps deps;
  deps.store = parts.store.get();
  deps.history = parts.history.get();
  deps.node_status = [node = parts.node.get()] { return node->status(); };
  deps.node_id = options.node_id;
  deps.http_address = options.http_address;
  deps.version = options.version;
  deps.started_at = SystemClock::Get().Now();
  deps.auth = parts.auth.get();
  deps.audit = parts.audit.get();
  deps.secure_cookies = !options.tls_cert.empty();
  deps.alarm_log = parts.alarm_log.get();
  deps.alarm_sender = parts.alarm_sender.get();
  deps.ui_url = options.ui_url;
  deps.metrics = parts.registry.get();
  api::AddRoutes(*parts.router, deps);
  api::HttpServerOptions ho;
  ho.address = options.http_address;
  ho.max_body_bytes = options.max_body_bytes;
  ho.tls_cert = options.tls_cert;
  ho.tls_key = options.tls_key;
  ho.cors_origins = options.cors_origins;
  auto http = api::HttpServer::Start(*parts.router, ho);
  if (!http.ok()) {
    parts.node->Stop();
    parts.collector->Stop();
    parts.alarms->Stop();
    return http.status();
  }
  parts.http = *std::move(http);
  // What the other nodes' API shows about this one (not leased: a stopped
  // node's facts are only shown while its node key is there).
  {
    const std::string host = options.http_address.substr(0, options.http_address.rfind(':'));
    const nlohmann::json info = {
        {"httpAddress",
         fmt::format("{}:{}", host.empty() ? options.node_id : host, parts.http->port())},
        {"version", options.version},
        {"startedAt", FormatRfc3339Millis(deps.started_at)},
        {"host", MachineAddress()},
        {"pid", static_cast<int64_t>(::getpid())}};
    coord::PutRequest put;
    put.key = model::keys::NodeInfo(options.node_id);
    put.value = info.dump();
    if (auto written = parts.store->Put(put); !written.ok()) {
      spdlog::warn("server: cannot publish this node's facts: {}", written.status().ToString());
    }
  }
  spdlog::info("server: API on {}://{} (port {})", parts.http->tls() ? "https" : "http",
               options.http_address, parts.http->port());
  if (options.etcd.endpoints.empty()) {
    // Standalone: one binary does the work too, in group `local`.
    worker::WorkerOptions wo;
    wo.groups = {std::string(kLocalGroup)};
    wo.name = options.node_id;
    wo.concurrency = options.local_concurrency;
    wo.log_dir = (std::filesystem::path(options.data_dir) / "logs").string();
    wo.spool_dir = (std::filesystem::path(options.data_dir) / "spool").string();
    wo.lease_ttl = options.lease_ttl;
    parts.worker_probe = std::make_unique<worker::Probe>(parts.registry.get());
    wo.probe = parts.worker_probe.get();
    std::vector<std::unique_ptr<worker::Executor>> executors;
    executors.push_back(std::make_unique<worker::HttpExecutor>(worker::HttpOptions{}));
    worker::ShellOptions shell;
    shell.allow_shell = options.allow_shell;
    shell.allowed_prefixes = options.allowed_commands;
    executors.push_back(std::make_unique<worker::ShellExecutor>(shell));
    auto started = worker::Worker::Start(*parts.store, std::move(wo), std::move(executors));
    if (!started.ok()) {
      parts.node->Stop();
      parts.collector->Stop();
      parts.alarms->Stop();
      return started.status();
    }
    parts.local = std::move(*started);
    spdlog::info("server: standalone; the embedded worker runs group '{}' (command targets {})",
                 kLocalGroup,
                 options.allow_shell ? "allowed" : "refused: start with --allow-shell");
  }
  return std::unique_ptr<Server>(new Server(std::move(options), std::move(parts)));
}

Server::Server(ServerOptions options, Parts parts)
    : options_(std::move(options)), parts_(std::move(parts)) {}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (parts_.http != nullptr) parts_.http->Stop();
  // Runs in progress get a moment to finish and are recorded either way.
  if (parts_.local != nullptr) parts_.local->Drain(std::chrono::seconds(10));
  parts_.node->Stop();
  parts_.collector->Stop();
  parts_.alarms->Stop();
  if (parts_.retention != nullptr) parts_.retention->Stop();
}

scheduler::NodeStatus Server::status() const { return parts_.node->status(); }

int Server::http_port() const { return parts_.http->port(); }

}  // namespace forest::server
