// Test support: real etcd members (Debian's /usr/bin/etcd), each a child
// process in a fresh temporary directory, on free loopback ports. Never
// anything but 127.0.0.1.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace forest::coord::testing {

class EtcdCluster {
 public:
  // Starts `members` members forming one cluster and waits until it serves
  // requests (kUnavailable with the tail of etcd's log if it does not within
  // 20 s, kNotFound if etcd is not installed).
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(int members = 1);
  // Kills every member (SIGKILL) and removes the temporary directory.
  ~EtcdCluster();

  int size() const;
  // "127.0.0.1:PORT" client endpoints, one per member.
  std::vector<std::string> endpoints() const;
  std::string endpoint(int member) const;

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
