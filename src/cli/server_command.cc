// `forest server`: runs a scheduler node until SIGINT or SIGTERM, then
// resigns (another node leads at once) and exits 0. Standalone by default;
// `--etcd-endpoints` for a cluster. Every flag also reads FOREST_<NAME>.

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common_flags.h"
#include "cli/drop_in.h"
#include "cli/version.h"
#include "common/log.h"
#include "common/strings.h"
#include "history/history.h"
#include "server/server.h"
#include "web/web.h"

namespace forest::cli {
namespace {

// The flags as typed; durations and lists are parsed after CLI11.
struct ServerArgs {
  EtcdArgs etcd;
  std::string http_address = ":2856";
  std::string node_id;
  std::string data_dir = "forest-data";
  std::string lease_ttl = "5s";
  std::string misfire_threshold = "60s";
  std::string db_url;
  int history_retention_days = 30;
  std::string tls_cert;
  std::string tls_key;
  std::string cors_origins;
  std::string web_dir;
  int64_t max_body_bytes = 1 << 20;
  std::string auth = "on";
  std::string admin_password;
  std::string log_level = "info";
  std::string log_format = "text";
  bool allow_shell = false;
  std::vector<std::string> allow_commands;
  std::string ui_url;
  std::string alarm_window = "5m";
};

// Turns the flags into options; on a bad value prints why and answers nullopt.
std::optional<server::ServerOptions> ToOptions(const ServerArgs& args) {
  const auto fail = [](std::string_view flag, const absl::Status& s) {
    std::cerr << "forest server: invalid " << flag << ": " << s.message() << "\n";
    return std::nullopt;
  };
  server::ServerOptions o;
  auto etcd = ToEtcdOptions(args.etcd);
  if (!etcd.ok()) {
    std::cerr << "forest server: invalid " << etcd.status().message() << "\n";
    return std::nullopt;
  }
  o.etcd = *std::move(etcd);
  if (const absl::Status s = server::ValidateHttpAddress(args.http_address); !s.ok()) {
    return fail("--http-address", s);
  }
  o.http_address = args.http_address;
  o.node_id = args.node_id;
  if (o.etcd.endpoints.empty() && args.data_dir.empty()) {
    return fail("--data-dir", absl::InvalidArgumentError("empty"));
  }
  o.data_dir = args.data_dir;
  auto ttl = ParseDuration(args.lease_ttl, std::chrono::seconds(1));
  if (!ttl.ok()) return fail("--lease-ttl", ttl.status());
  if (ttl->count() % 1000 != 0 || *ttl < std::chrono::seconds(1)) {
    return fail("--lease-ttl", absl::InvalidArgumentError(
                                   "must be a whole number of seconds, at least 1s (etcd leases "
                                   "count in seconds)"));
  }
  o.lease_ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
  auto misfire = ParseDuration(args.misfire_threshold, std::chrono::seconds(1));
  if (!misfire.ok()) return fail("--misfire-threshold", misfire.status());
  o.misfire_threshold = *misfire;
  if (!args.db_url.empty()) {
    if (auto db = history::ParseDbUrl(args.db_url); !db.ok()) return fail("--db-url", db.status());
  }
  o.db_url = args.db_url;
  if (args.history_retention_days < 0 || args.history_retention_days > 36500) {
    return fail("--history-retention-days",
                absl::InvalidArgumentError("must be 0 (keep every execution) to 36500"));
  }
  o.history_retention_days = args.history_retention_days;
  if ((args.tls_cert.empty()) != (args.tls_key.empty())) {
    return fail(args.tls_cert.empty() ? "--tls-cert" : "--tls-key",
                absl::InvalidArgumentError("HTTPS needs both --tls-cert and --tls-key"));
  }
  o.tls_cert = args.tls_cert;
  o.tls_key = args.tls_key;
  for (std::string_view origin : Split(args.cors_origins, ',')) {
    origin = Trim(origin);
    if (origin.empty()) continue;
    if (origin != "*" && origin.find("://") == std::string_view::npos) {
      return fail("--cors-origins",
                  absl::InvalidArgumentError(
                      fmt::format("\"{}\" is not an origin like https://ops.example.com", origin)));
    }
    o.cors_origins.emplace_back(origin);
  }
  if (!args.web_dir.empty()) {
    if (auto dir = web::DirectoryWebFiles(args.web_dir); !dir.ok()) {
      return fail("--web-dir", dir.status());
    }
  }
  o.web_dir = args.web_dir;
  if (args.max_body_bytes < 1024 || args.max_body_bytes > (int64_t{1} << 30)) {
    return fail("--max-body-bytes", absl::InvalidArgumentError("must be within 1024..1073741824"));
  }
  o.max_body_bytes = static_cast<size_t>(args.max_body_bytes);
  o.version = FOREST_VERSION;
  if (args.auth != "on" && args.auth != "off") {
    return fail("--auth", absl::InvalidArgumentError("must be on or off"));
  }
  o.auth = args.auth == "on";
  if (!args.admin_password.empty()) o.admin_password = args.admin_password;
  o.allow_shell = args.allow_shell;
  o.allowed_commands = args.allow_commands;
  if (!args.ui_url.empty()) {
    if (args.ui_url.rfind("http://", 0) != 0 && args.ui_url.rfind("https://", 0) != 0) {
      return fail("--ui-url", absl::InvalidArgumentError(
                                  "must start with http:// or https:// (where users open the UI)"));
    }
    o.ui_url = args.ui_url;
    while (!o.ui_url.empty() && o.ui_url.back() == '/') o.ui_url.pop_back();
  }
  auto window = ParseDuration(args.alarm_window, std::chrono::seconds(1));
  if (!window.ok()) return fail("--alarm-window", window.status());
  if (*window < std::chrono::seconds(0) || *window > std::chrono::hours(24)) {
    return fail("--alarm-window", absl::InvalidArgumentError("must be within 0s..24h"));
  }
  o.alarm_window = std::chrono::duration_cast<std::chrono::seconds>(*window);
  return o;
}

std::string Describe(const server::Server& s) {
  const server::ServerOptions& o = s.options();
  if (s.standalone()) return fmt::format("standalone (data directory {})", o.data_dir);
  return fmt::format("cluster (etcd {})", Join(o.etcd.endpoints, ","));
}

int RunServer(const ServerArgs& args) {
  if (const absl::Status s = ParseLogFormat(args.log_format).status(); !s.ok()) {
    std::cerr << "forest server: invalid --log-format: " << s.message() << "\n";
    return 2;
  }
  if (const absl::Status s = InitLogging(args.log_level, args.log_format); !s.ok()) {
    std::cerr << "forest server: invalid --log-level: " << s.message() << "\n";
    return 2;
  }
  std::optional<server::ServerOptions> options = ToOptions(args);
  if (!options) return 2;
  if (options->node_id.empty()) {
    auto id = server::DefaultNodeId();
    if (!id.ok()) {
      std::cerr << "forest server: cannot start: " << id.status().message() << "\n";
      return 1;
    }
    options->node_id = *std::move(id);
  }
  // Every line of this process is about this node.
  SetLogNode(options->node_id);

  // Before any thread starts, so every thread inherits the mask.
  SignalWaiter signals;
  auto started = server::Server::Start(*std::move(options));
  if (!started.ok()) {
    std::cerr << "forest server: cannot start: " << started.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<server::Server> srv = *std::move(started);
  spdlog::info("forest server: {}, node id {}", Describe(*srv), srv->options().node_id);

  const int sig = signals.Wait();
  spdlog::info("forest server: {}, stopping (resigning leadership)", strsignal(sig));
  srv->Stop();
  srv.reset();
  spdlog::info("forest server: stopped");
  return 0;
}

}  // namespace

void AddServerCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServerArgs>();
  CLI::App* cmd = app.add_subcommand(
      "server",
      "Run a scheduler node until SIGINT/SIGTERM (standalone unless --etcd-endpoints is given)");
  const auto add = [&](const std::string& names, std::string& value, const std::string& env,
                       const std::string& help) {
    cmd->add_option(names, value, help)->envname("FOREST_" + env)->capture_default_str();
  };
  AddEtcdFlags(*cmd, args->etcd,
               "etcd endpoints, comma separated; empty or 'none' = standalone (embedded store)");
  add("--http-address", args->http_address, "HTTP_ADDRESS",
      "host:port or :port of the HTTP API and UI (port 0: any free port)");
  add("--tls-cert", args->tls_cert, "TLS_CERT", "serve HTTPS with this certificate (PEM)");
  add("--tls-key", args->tls_key, "TLS_KEY", "the certificate's private key (PEM)");
  add("--cors-origins", args->cors_origins, "CORS_ORIGINS",
      "comma-separated origins whose pages may call the API (none by default)");
  add("--web-dir", args->web_dir, "WEB_DIR",
      "serve the web UI from this directory (a `vite build` output) instead of the copy built "
      "into the binary: for UI development");
  add("--auth", args->auth, "AUTH",
      "on: the API needs a login or an API token; off: anyone reaching it is an admin (a "
      "trusted network only; warned at start and hourly)");
  cmd->add_option("--admin-password", args->admin_password,
                  "the first admin's password when no user exists (default: a random one, "
                  "printed once and saved to DATA_DIR/admin-password)")
      ->envname("FOREST_ADMIN_PASSWORD");
  cmd->add_option("--max-body-bytes", args->max_body_bytes,
                  "larger request bodies are refused with 413")
      ->envname("FOREST_MAX_BODY_BYTES")
      ->capture_default_str();
  add("--node-id", args->node_id, "NODE_ID",
      "this node's id (default: the first non-loopback IPv4 address)");
  add("--data-dir", args->data_dir, "DATA_DIR", "standalone: directory of forest.db");
  add("--lease-ttl", args->lease_ttl, "LEASE_TTL",
      "TTL of the node's and the leader's leases (whole seconds): how fast a dead leader is "
      "replaced");
  add("--misfire-threshold", args->misfire_threshold, "MISFIRE_THRESHOLD",
      "fires later than this follow the job's misfire policy");
  add("--db-url", args->db_url, "DB_URL",
      "history database: a Go MySQL DSN or a mysql://, postgres://, sqlite:// URL (default: "
      "history.db in the data directory)");
  cmd->add_option("--history-retention-days", args->history_retention_days,
                  "executions older than this many days are deleted in small batches in the "
                  "background; 0 keeps them forever")
      ->envname("FOREST_HISTORY_RETENTION_DAYS")
      ->capture_default_str();
  add("--ui-url", args->ui_url, "UI_URL",
      "where users open the web UI, for the links in alarm messages (default: http(s)://HOST:PORT "
      "of --http-address, the node id when it listens on every address)");
  add("--alarm-window", args->alarm_window, "ALARM_WINDOW",
      "repeats of one alarm (kind and job) within this window are sent as one summary, unless a "
      "rule sets groupWindowSeconds; 0s sends every one");
  add("--log-level", args->log_level, "LOG_LEVEL", "trace, debug, info, warn, error or off");
  add("--log-format", args->log_format, "LOG_FORMAT",
      "text, or json: one object a line with ts, level, msg, and job, execution, node when known");
  cmd->add_flag("--allow-shell", args->allow_shell,
                "standalone: the embedded worker runs command targets (refused without it)")
      ->envname("FOREST_ALLOW_SHELL");
  cmd->add_option("--allow-command", args->allow_commands,
                  "standalone: only commands under this prefix (repeatable)")
      ->envname("FOREST_ALLOW_COMMAND");
  cmd->callback([args, &exit_code] { exit_code = RunServer(*args); });
}

}  // namespace forest::cli
