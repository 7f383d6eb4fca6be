// Test support: real etcd members (Debian's /usr/bin/etcd), each a child
// process in a fresh temporary directory, on free loopback ports. Never
// anything but 127.0.0.1.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace forest::coord::testing {

// `n` distinct free loopback TCP ports (free when the call returns).
std::vector<int> FreeLoopbackPorts(int n);

struct EtcdClusterOptions {
  int members = 1;
  // Clients must speak TLS and present a certificate signed by a throwaway
  // CA made for this cluster (with openssl); see ca_file() and friends.
  bool tls = false;
};

class EtcdCluster {
 public:
  // Starts the members, forming one cluster, and waits until it serves
  // requests (kUnavailable with the tail of etcd's log if it does not within
  // 20 s, kNotFound if etcd or openssl is not installed).
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(EtcdClusterOptions options);
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(int members = 1) {
    return Start(EtcdClusterOptions{members, false});
  }
  // Kills every member (SIGKILL) and removes the temporary directory.
  ~EtcdCluster();

  int size() const;
  // "127.0.0.1:PORT" client endpoints, one per member.
  std::vector<std::string> endpoints() const;
  std::string endpoint(int member) const;

  // With tls: PEM files for a client (empty otherwise).
  std::string ca_file() const;
  std::string client_cert_file() const;
  std::string client_key_file() const;

  void Kill(int member);             // SIGKILL, then reaped
  absl::Status Restart(int member);  // same ports and data dir; waits until it serves
  void Pause(int member);            // SIGSTOP
  void Resume(int member);           // SIGCONT

 private:
  struct Impl;
  explicit EtcdCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::coord::testing
