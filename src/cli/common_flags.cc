#include "cli/common_flags.h"

#include <fmt/format.h>
#include <pthread.h>

#include "cli/drop_in.h"
#include "common/strings.h"

namespace forest::cli {

void AddEtcdFlags(CLI::App& cmd, EtcdArgs& args, const std::string& endpoints_help) {
  const auto add = [&](const std::string& names, std::string& value, const std::string& env,
                       const std::string& help) {
    cmd.add_option(names, value, help)->envname("FOREST_" + env)->capture_default_str();
  };
  add("--etcd-endpoints", args.endpoints, "ETCD_ENDPOINTS", endpoints_help);
  add("--etcd-dial-timeout,--etcd-dailtimeout", args.dial_timeout, "ETCD_DIAL_TIMEOUT",
      "How long to wait for etcd: seconds, or a duration (500ms, 5s)");
  add("--etcd-user", args.user, "ETCD_USER", "etcd user (authentication)");
  add("--etcd-password", args.password, "ETCD_PASSWORD", "etcd password");
  add("--etcd-cacert", args.cacert, "ETCD_CACERT", "CA file (PEM): talk TLS to etcd");
  add("--etcd-cert", args.cert, "ETCD_CERT", "client certificate (PEM) for etcd");
  add("--etcd-key", args.key, "ETCD_KEY", "client key (PEM) for etcd");
}

absl::StatusOr<coord::EtcdStoreOptions> ToEtcdOptions(const EtcdArgs& args) {
  coord::EtcdStoreOptions o;
  const std::string_view endpoints = Trim(args.endpoints);
  if (!endpoints.empty() && endpoints != "none") {
    for (const std::string_view e : Split(endpoints, ',')) {
      if (!Trim(e).empty()) o.endpoints.emplace_back(Trim(e));
    }
  }
  auto dial = ParseDuration(args.dial_timeout, std::chrono::seconds(1));
  if (!dial.ok() || dial->count() <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("--etcd-dial-timeout: {}",
                    dial.ok() ? "must be positive" : std::string(dial.status().message())));
  }
  o.dial_timeout = *dial;
  o.user = args.user;
  o.password = args.password;
  o.ca_file = args.cacert;
  o.cert_file = args.cert;
  o.key_file = args.key;
  return o;
}

SignalWaiter::SignalWaiter() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &old_mask_);
}

SignalWaiter::~SignalWaiter() { pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr); }

int SignalWaiter::Wait() {
  int sig = 0;
  while (sigwait(&signals_, &sig) != 0) {
  }
  return sig;
}

}  // namespace forest::cli
