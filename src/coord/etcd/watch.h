// Internal to EtcdStore: every watch of one store on one etcd Watch stream.
//
// Threads: a reader owns the stream (opens it, reads it, reopens it after a
// failure) and turns responses into updates; a dispatcher runs the callbacks,
// one at a time, in the order the updates were read. Callbacks therefore
// never run on the reader, so they may call the store, even Watch().
//
// Watch ids are ours (WatchCreateRequest.watch_id, etcd >= 3.4), so creates
// and cancels need no round trip bookkeeping. Each watch remembers the next
// revision it needs (last delivered + 1, or the creation's header revision +
// 1 for a watch "from now"); after the stream fails the reader reopens it on
// the next endpoint (backing off when none answers) and creates every watch
// again from that revision: no gap, no repeat. A watch whose next revision was
// compacted meanwhile ends with compact_revision set.
//
// Writes on the stream are serialised by write_mu_, taken before mu_.
//
// Lifetime: shared by the store and its handles (a handle may outlive the
// store). Close() ends every live watch with kCancelled after what is queued,
// and stops both threads. Destroying a handle cancels its watch and waits
// until its callback is not running (unless called from that very callback).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "coord/etcd/client.h"
#include "coord/store.h"

namespace forest::coord::etcd_internal {

class WatchHub : public std::enable_shared_from_this<WatchHub> {
 public:
  explicit WatchHub(std::shared_ptr<Client> client) : client_(std::move(client)) {}
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Creates a watch and waits (up to the request timeout) for the server to
  // confirm it.
  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(const WatchRequest& request,
                                                     std::function<void(WatchUpdate)> callback);
  // REQUIRES: not on the dispatcher thread.
  void Close();

 private:
  struct Watcher;
  class Handle;
  using Stream = grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>;

  void StartThreads() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReaderLoop();
  void DispatchLoop();
  // One stream's life: open, create the watches, read until it fails.
  // Returns whether any response arrived.
  bool RunStream(size_t endpoint);
  // Applies one response; `stray` collects ids the server has but we do not.
  void OnResponse(const etcdserverpb::WatchResponse& response, std::vector<int64_t>* stray)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues the last update of `w` and forgets it.
  void End(const std::shared_ptr<Watcher>& w, WatchUpdate update)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends a create for `w` if the stream is open and it was not sent on it.
  void SendCreate(const std::shared_ptr<Watcher>& w) ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Sends a cancel for watch `id` if the stream is still generation `gen`.
  void SendCancel(int64_t id, uint64_t gen) ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  void Cancel(const std::shared_ptr<Watcher>& w);

  const std::shared_ptr<Client> client_;

  std::mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_dispatch_ ABSL_GUARDED_BY(mu_) = false;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<std::shared_ptr<Watcher>, WatchUpdate>> queue_ ABSL_GUARDED_BY(mu_);

  // The open stream (null between streams) and its generation; writers use
  // it under write_mu_, the reader replaces it under both mutexes.
  std::shared_ptr<grpc::ClientContext> context_ ABSL_GUARDED_BY(mu_);
  Stream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t gen_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);

  std::thread reader_;
  std::thread dispatcher_;
  std::thread::id dispatcher_id_ ABSL_GUARDED_BY(mu_);
};

}  // namespace forest::coord::etcd_internal
