// `forest worker`: a generic worker that runs shell and HTTP targets for one
// or more groups until SIGINT/SIGTERM, then drains: stops claiming,
// deregisters (the leader moves what is still assigned here), waits up to
// --drain-timeout for running executions and stops the rest.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <memory>

#include "api/errors.h"
#include "api/http_server.h"
#include "api/router.h"
#include "cli/commands.h"
#include "cli/common_flags.h"
#include "cli/drop_in.h"
#include "cli/version.h"
#include "common/host.h"
#include "common/log.h"
#include "common/strings.h"
#include "coord/etcd/etcd_store.h"
#include "coord/instrumented_store.h"
#include "metrics/metrics.h"
#include "server/server.h"
#include "worker/http_executor.h"
#include "worker/shell_executor.h"
#include "worker/worker.h"

namespace forest::cli {
namespace {

struct WorkerArgs {
  EtcdArgs etcd;  // endpoints default to the original's 127.0.0.1:2379
  std::vector<std::string> groups;
  std::string name;
  int concurrency = 4;
  std::string log_dir;
  std::string spool_dir = "forest-worker-spool";
  std::string drain_timeout = "30s";
  std::string lease_ttl = "5s";
  std::string kill_grace = "5s";
  bool allow_shell = false;
  std::vector<std::string> allow_commands;
  std::vector<std::string> labels;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string metrics_address;  // "" = no /metrics
};

int Fail(std::string_view flag, std::string_view message) {
  std::cerr << "forest worker: invalid " << flag << ": " << message << "\n";
  return 2;
}

int RunWorker(const WorkerArgs& args) {
  if (const absl::Status s = ParseLogFormat(args.log_format).status(); !s.ok()) {
    return Fail("--log-format", std::string(s.message()));
  }
  if (const absl::Status s = InitLogging(args.log_level, args.log_format); !s.ok()) {
    return Fail("--log-level", std::string(s.message()));
  }
  worker::WorkerOptions options;
  options.groups = args.groups;
  options.name = args.name.empty() ? MachineAddress() : args.name;
  // Every line of this process is about this worker.
  SetLogNode(options.name);
  options.concurrency = args.concurrency;
  if (args.concurrency < 1) return Fail("--concurrency", "must be at least 1");
  options.log_dir = args.log_dir;
  options.spool_dir = args.spool_dir;
  options.version = FOREST_VERSION;
  for (const std::string& label : args.labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) return Fail("--label", "expected key=value: " + label);
    options.labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
  auto ttl = ParseDuration(args.lease_ttl, std::chrono::seconds(1));
  if (!ttl.ok() || ttl->count() % 1000 != 0 || *ttl < std::chrono::seconds(1)) {
    return Fail("--lease-ttl", "a whole number of seconds, at least 1s");
  }
  options.lease_ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
  auto drain = ParseDuration(args.drain_timeout, std::chrono::seconds(1));
  if (!drain.ok()) return Fail("--drain-timeout", std::string(drain.status().message()));
  auto grace = ParseDuration(args.kill_grace, std::chrono::seconds(1));
  if (!grace.ok()) return Fail("--kill-grace", std::string(grace.status().message()));

  auto etcd = ToEtcdOptions(args.etcd);
  if (!etcd.ok()) {
    std::cerr << "forest worker: invalid " << etcd.status().message() << "\n";
    return 2;
  }
  if (etcd->endpoints.empty()) return Fail("--etcd-endpoints", "a worker needs etcd endpoints");
  if (!args.metrics_address.empty()) {
    if (const absl::Status s = server::ValidateHttpAddress(args.metrics_address); !s.ok()) {
      return Fail("--metrics-address", std::string(s.message()));
    }
  }

  // The worker's metrics (and its etcd calls'), served at /metrics on
  // --metrics-address when given.
  metrics::Registry registry;
  worker::Probe probe(&registry);
  options.probe = &probe;
  registry
      .AddGaugeFamily("forest_build_info", "1, labelled with the binary's version.", {"version"})
      .WithLabels({FOREST_VERSION})
      .Set(1);

  std::vector<std::unique_ptr<worker::Executor>> executors;
  worker::HttpOptions http;
  executors.push_back(std::make_unique<worker::HttpExecutor>(http));
  worker::ShellOptions shell;
  shell.allow_shell = args.allow_shell;
  shell.allowed_prefixes = args.allow_commands;
  shell.kill_grace = *grace;
  executors.push_back(std::make_unique<worker::ShellExecutor>(shell));

  SignalWaiter signals;  // before any thread starts
  auto connected = coord::EtcdStore::Connect(*std::move(etcd));
  if (!connected.ok()) {
    std::cerr << "forest worker: cannot reach etcd: " << connected.status().message() << "\n";
    return 1;
  }
  coord::InstrumentedStore store(*std::move(connected), &registry);
  api::Router router;
  std::unique_ptr<api::HttpServer> metrics_http;
  if (!args.metrics_address.empty()) {
    router.Add("GET", "/metrics", api::Access::kPublic, [&registry](api::Request&) {
      api::Response r;
      r.content_type = std::string(metrics::kContentType);
      r.body = registry.Render();
      return r;
    });
    router.Add("GET", "/healthz", api::Access::kPublic, [](api::Request&) {
      return api::JsonResponse({{"status", "ok"}});
    });
    api::HttpServerOptions ho;
    ho.address = args.metrics_address;
    ho.threads = 4;
    auto served = api::HttpServer::Start(router, ho);
    if (!served.ok()) {
      std::cerr << "forest worker: cannot serve --metrics-address: " << served.status().message()
                << "\n";
      return 1;
    }
    metrics_http = *std::move(served);
    spdlog::info("forest worker {}: metrics on http://{}/metrics (port {})", options.name,
                 args.metrics_address, metrics_http->port());
  }
  auto started = worker::Worker::Start(store, options, std::move(executors));
  if (!started.ok()) {
    std::cerr << "forest worker: cannot start: " << started.status().message() << "\n";
    return 1;
  }
  spdlog::info("forest worker {}: groups {}, concurrency {}, shell targets {}", options.name,
               Join(options.groups, ","), options.concurrency,
               !args.allow_shell             ? "refused (no --allow-shell)"
               : args.allow_commands.empty() ? "allowed"
                                             : "allowed under " + Join(args.allow_commands, ","));
  const int sig = signals.Wait();
  spdlog::info("forest worker {}: {}, draining (up to {} ms)", options.name, strsignal(sig),
               drain->count());
  (*started)->Drain(*drain);
  started->reset();
  if (metrics_http != nullptr) metrics_http->Stop();
  spdlog::info("forest worker {}: stopped", options.name);
  return 0;
}

}  // namespace

void AddWorkerCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<WorkerArgs>();
  args->etcd.endpoints = "127.0.0.1:2379";
  CLI::App* cmd = app.add_subcommand(
      "worker", "Run shell and HTTP targets for one or more groups until SIGINT/SIGTERM");
  AddEtcdFlags(*cmd, args->etcd, "etcd endpoints, comma separated");
  cmd->add_option("--group", args->groups, "a group to work for (repeatable; required)")
      ->envname("FOREST_GROUP");
  const auto add = [&](const std::string& names, std::string& value, const std::string& env,
                       const std::string& help) {
    cmd->add_option(names, value, help)->envname("FOREST_" + env)->capture_default_str();
  };
  add("--name", args->name, "NAME",
      "this worker's name, unique per group (default: the first non-loopback IPv4 address)");
  cmd->add_option("--concurrency", args->concurrency, "runs at once")
      ->envname("FOREST_CONCURRENCY")
      ->capture_default_str();
  add("--log-dir", args->log_dir, "LOG_DIR", "where whole run logs go (rotated); empty = none");
  add("--spool-dir", args->spool_dir, "SPOOL_DIR",
      "where final records wait while etcd is unreachable");
  add("--drain-timeout", args->drain_timeout, "DRAIN_TIMEOUT",
      "on SIGTERM, how long running executions may finish before they are stopped");
  add("--lease-ttl", args->lease_ttl, "LEASE_TTL", "TTL of the registration (whole seconds)");
  add("--kill-grace", args->kill_grace, "KILL_GRACE",
      "between SIGTERM and SIGKILL when a run is stopped");
  cmd->add_flag("--allow-shell", args->allow_shell,
                "run command targets (without it every command target is refused)")
      ->envname("FOREST_ALLOW_SHELL");
  cmd->add_option("--allow-command", args->allow_commands,
                  "only commands under this prefix (repeatable), e.g. /opt/jobs/")
      ->envname("FOREST_ALLOW_COMMAND");
  cmd->add_option("--label", args->labels, "key=value facts for the UI (repeatable)");
  add("--log-level", args->log_level, "LOG_LEVEL", "trace, debug, info, warn, error or off");
  add("--log-format", args->log_format, "LOG_FORMAT",
      "text, or json: one object a line with ts, level, msg, and job, execution, node when known");
  add("--metrics-address", args->metrics_address, "METRICS_ADDRESS",
      "host:port or :port to serve /metrics (Prometheus text format) on; empty = off");
  // `forest worker ls` lists workers through a server's API instead.
  AddWorkerListCommand(*cmd, exit_code);
  cmd->callback([args, cmd, &exit_code] {
    if (cmd->got_subcommand("ls")) return;
    if (args->groups.empty()) {
      std::cerr << "forest worker: --group is required\n";
      exit_code = 2;
      return;
    }
    exit_code = RunWorker(*args);
  });
}

}  // namespace forest::cli
