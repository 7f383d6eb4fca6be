// Internal to src/cli: what `forest server` and `forest worker` share: the
// etcd connection flags and waiting for SIGINT/SIGTERM.
#pragma once

#include <CLI/CLI.hpp>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "coord/etcd/etcd_store.h"

namespace forest::cli {

// The etcd flags as typed (every one also FOREST_<NAME>).
struct EtcdArgs {
  std::string endpoints;
  std::string dial_timeout = "5s";
  std::string user;
  std::string password;
  std::string cacert;
  std::string cert;
  std::string key;
};
void AddEtcdFlags(CLI::App& cmd, EtcdArgs& args, const std::string& endpoints_help);

// The parsed form: endpoints split on commas ("none" or empty: none).
// InvalidArgument naming the flag for a bad dial timeout.
absl::StatusOr<coord::EtcdStoreOptions> ToEtcdOptions(const EtcdArgs& args);

// Blocks SIGINT and SIGTERM in every thread started after construction, so
// Wait() receives them (no work in a signal handler); the destructor
// restores the mask.
class SignalWaiter {
 public:
  SignalWaiter();
  ~SignalWaiter();
  // The signal that arrived.
  int Wait();

 private:
  sigset_t signals_;
  sigset_t old_mask_;
};

}  // namespace forest::cli
