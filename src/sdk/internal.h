// Internal to Forest (not installed): ways into forest::Worker that the
// public API does not offer, for tests and benchmarks.
#pragma once

#include "coord/store.h"
#include "forest/worker.h"
#include "worker/worker.h"

namespace forest::sdk {

struct WorkerAccess {
  // Start() on `store` instead of connecting to etcd (the etcd_* options are
  // ignored). Throws as Start(). `store` must outlive the worker's Stop().
  static void StartOn(forest::Worker& worker, coord::Store& store);
  // The runtime's counters; zeros unless running.
  static worker::WorkerStats Stats(const forest::Worker& worker);
};

}  // namespace forest::sdk
