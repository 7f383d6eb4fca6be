#include "coord/etcd/watch.h"

#include <fmt/format.h>

#include <algorithm>

#include "coord/etcd/convert.h"

namespace forest::coord::etcd_internal {

struct WatchHub::Watcher {
  int64_t id = 0;
  std::string key;
  std::string range_end;
  bool prev_kv = false;
  std::function<void(WatchUpdate)> callback;

  // Guarded by the hub's mu_.
  bool created = false;        // the server confirmed it once (Watch() returned it)
  bool ended = false;          // no longer in watchers_; nothing more is queued
  bool cancelled = false;      // its handle is gone: drop what is queued
  bool in_callback = false;    // the dispatcher is running its callback
  Revision next_revision = 0;  // the next revision it needs; 0 = from now (not yet created)
  uint64_t sent_gen = 0;       // the stream generation its last create went on
  absl::Status error;          // why the creation failed
};

class WatchHub::Handle final : public WatchHandle {
 public:
  Handle(std::shared_ptr<WatchHub> hub, std::shared_ptr<Watcher> watcher)
      : hub_(std::move(hub)), watcher_(std::move(watcher)) {}
  ~Handle() override { hub_->Cancel(watcher_); }

 private:
  const std::shared_ptr<WatchHub> hub_;
  const std::shared_ptr<Watcher> watcher_;
};

namespace {

etcdserverpb::WatchRequest CreateRequest(int64_t id, const std::string& key,
                                         const std::string& range_end, Revision start,
                                         bool prev_kv) {
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(WireKey(key, range_end));
  create->set_range_end(range_end);
  create->set_start_revision(start);
  create->set_prev_kv(prev_kv);
  create->set_watch_id(id);
  return request;
}

}  // namespace

WatchHub::~WatchHub() { Close(); }

void WatchHub::StartThreads() {
  if (started_) return;
  started_ = true;
  reader_ = std::thread([this] { ReaderLoop(); });
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  dispatcher_id_ = dispatcher_.get_id();
}

absl::StatusOr<std::unique_ptr<WatchHandle>> WatchHub::Watch(
    const WatchRequest& request, std::function<void(WatchUpdate)> callback) {
  if (!callback) return absl::InvalidArgumentError("etcd Watch: no callback");
  if (request.start_revision < 0) {
    return absl::InvalidArgumentError(
        fmt::format("etcd Watch: negative start revision {}", request.start_revision));
  }
  auto w = std::make_shared<Watcher>();
  w->key = request.key;
  w->range_end = request.range_end;
  w->prev_kv = request.prev_kv;
  w->callback = std::move(callback);
  w->next_revision = request.start_revision;
  {
    std::lock_guard lock(mu_);
    if (closing_ || client_->closed()) {
      return absl::CancelledError("etcd Watch: the store is closing");
    }
    w->id = next_id_++;
    watchers_.emplace(w->id, w);
    StartThreads();
  }
  SendCreate(w);  // else the reader sends it when its stream opens

  const auto deadline = std::chrono::steady_clock::now() + client_->options().request_timeout;
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return w->created || w->ended || closing_; });
  if (w->created) return std::make_unique<Handle>(shared_from_this(), w);
  if (w->ended) return w->error;
  // Not confirmed in time: forget it (a late confirmation is cancelled by the reader).
  absl::Status status =
      closing_ ? absl::CancelledError("etcd Watch: the store is closing")
      : stream_ == nullptr
          ? absl::UnavailableError(fmt::format(
                "etcd Watch: no watch stream within {} ms (last error: {})",
                client_->options().request_timeout.count(), std::string(last_error_.message())))
          : absl::DeadlineExceededError(fmt::format("etcd Watch: not confirmed within {} ms",
                                                    client_->options().request_timeout.count()));
  w->ended = true;
  w->cancelled = true;
  watchers_.erase(w->id);
  const bool sent = stream_ != nullptr && w->sent_gen == gen_;
  const uint64_t gen = w->sent_gen;
  lock.unlock();
  if (sent) SendCancel(w->id, gen);
  return status;
}

void WatchHub::SendCreate(const std::shared_ptr<Watcher>& w) {
  std::lock_guard write_lock(write_mu_);
  etcdserverpb::WatchRequest request;
  Stream* stream = nullptr;
  {
    std::lock_guard lock(mu_);
    if (stream_ == nullptr || w->ended || w->sent_gen == gen_) return;
    w->sent_gen = gen_;
    request = CreateRequest(w->id, w->key, w->range_end, w->next_revision, w->prev_kv);
    stream = stream_;
  }
  // A failed write shows as the end of the stream; the reader then re-creates.
  stream->Write(request);
}

void WatchHub::SendCancel(int64_t id, uint64_t gen) {
  std::lock_guard write_lock(write_mu_);
  Stream* stream = nullptr;
  {
    std::lock_guard lock(mu_);
    if (stream_ == nullptr || gen_ != gen) return;
    stream = stream_;
  }
  etcdserverpb::WatchRequest request;
  request.mutable_cancel_request()->set_watch_id(id);
  stream->Write(request);
}

void WatchHub::Cancel(const std::shared_ptr<Watcher>& w) {
  bool send = false;
  uint64_t gen = 0;
  {
    std::unique_lock lock(mu_);
    w->cancelled = true;
    if (!w->ended) {
      w->ended = true;
      watchers_.erase(w->id);
      send = stream_ != nullptr && w->sent_gen == gen_;
      gen = w->sent_gen;
    }
    // From inside a callback (of another watch) the dispatcher is busy with
    // that one, so this watch's callback cannot be running.
    if (std::this_thread::get_id() != dispatcher_id_) {
      cv_.wait(lock, [&] { return !w->in_callback; });
    }
  }
  if (send) SendCancel(w->id, gen);
}

void WatchHub::End(const std::shared_ptr<Watcher>& w, WatchUpdate update) {
  w->ended = true;
  watchers_.erase(w->id);
  queue_.emplace_back(w, std::move(update));
  cv_.notify_all();
}

void WatchHub::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  cv_.notify_all();
  if (reader_.joinable()) reader_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& [id, w] : watchers_) {
      w->ended = true;
      if (!w->created) {
        w->error = absl::CancelledError("etcd Watch: the store is closing");
        continue;
      }
      WatchUpdate end;
      end.ended = true;
      end.status = absl::CancelledError("etcd watch: the store is closing");
      queue_.emplace_back(w, std::move(end));
    }
    watchers_.clear();
    stop_dispatch_ = true;
  }
  cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

void WatchHub::DispatchLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return !queue_.empty() || stop_dispatch_; });
    if (queue_.empty()) return;  // stopping, and everything was delivered
    auto [w, update] = std::move(queue_.front());
    queue_.pop_front();
    if (w->cancelled) continue;
    w->in_callback = true;
    lock.unlock();
    w->callback(std::move(update));
    lock.lock();
    w->in_callback = false;
    cv_.notify_all();
  }
}

void WatchHub::ReaderLoop() {
  std::chrono::milliseconds backoff{0};
  while (true) {
    const size_t endpoint = client_->current();
    const bool progressed = RunStream(endpoint);
    std::unique_lock lock(mu_);
    if (closing_) return;
    // Next time, the next endpoint (unless requests already moved on).
    client_->Rotate(endpoint);
    if (progressed) {
      backoff = std::chrono::milliseconds(0);
    } else {
      backoff =
          std::clamp(backoff * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(500));
      cv_.wait_for(lock, backoff, [&] { return closing_; });
      if (closing_) return;
    }
  }
}

bool WatchHub::RunStream(size_t index) {
  Endpoint& endpoint = client_->endpoint(index);
  // Connect first, polling (see Client::Connected), in short steps so that
  // Close() need not wait for the dial timeout.
  {
    const auto start = std::chrono::system_clock::now();
    const auto deadline = start + client_->options().dial_timeout;
    const auto grace = std::min(deadline, start + Client::kFailureGrace);
    grpc_connectivity_state state = endpoint.channel->GetState(true);
    while (state != GRPC_CHANNEL_READY) {
      const auto now = std::chrono::system_clock::now();
      const bool give_up = state == GRPC_CHANNEL_SHUTDOWN || now >= deadline ||
                           (state == GRPC_CHANNEL_TRANSIENT_FAILURE && now >= grace);
      {
        std::lock_guard lock(mu_);
        if (closing_) return false;
        if (give_up) {
          last_error_ = absl::UnavailableError(fmt::format("{} not reachable", endpoint.address));
          return false;
        }
      }
      endpoint.channel->WaitForStateChange(state,
                                           std::min(deadline, now + std::chrono::milliseconds(50)));
      state = endpoint.channel->GetState(true);
    }
  }
  // The stream's token is checked when each watch is created, also after a
  // reconnect hours later: take a fresh one (tokens expire when unused).
  if (!client_->options().user.empty()) {
    const absl::Status status = client_->Reauthenticate(client_->token());
    if (!status.ok()) {
      std::lock_guard lock(mu_);
      last_error_ = status;
      return false;
    }
  }

  auto context = std::make_shared<grpc::ClientContext>();
  // etcd ends the stream when its member loses the leader, instead of letting
  // the watches stall on an isolated member: the reader then moves on.
  context->AddMetadata("hasleader", "true");
  client_->AddAuth(*context);
  {
    std::lock_guard lock(mu_);
    if (closing_) return false;
    context_ = context;  // Close() cancels it
  }
  std::unique_ptr<Stream> stream = endpoint.watch->Watch(context.get());
  {
    std::lock_guard write_lock(write_mu_);
    std::vector<etcdserverpb::WatchRequest> creates;
    {
      std::lock_guard lock(mu_);
      stream_ = stream.get();
      ++gen_;
      for (auto& [id, w] : watchers_) {
        w->sent_gen = gen_;
        creates.push_back(CreateRequest(w->id, w->key, w->range_end, w->next_revision, w->prev_kv));
      }
    }
    for (const auto& create : creates) {
      if (!stream->Write(create)) break;
    }
  }

  bool progressed = false;
  etcdserverpb::WatchResponse response;
  while (stream->Read(&response)) {
    progressed = true;
    std::vector<int64_t> stray;
    uint64_t gen = 0;
    {
      std::lock_guard lock(mu_);
      OnResponse(response, &stray);
      gen = gen_;
    }
    for (const int64_t id : stray) SendCancel(id, gen);
  }
  context->TryCancel();  // unblocks a writer, if any
  {
    std::lock_guard write_lock(write_mu_);
    std::lock_guard lock(mu_);
    stream_ = nullptr;
    context_ = nullptr;
  }
  const grpc::Status status = stream->Finish();
  std::lock_guard lock(mu_);
  last_error_ =
      status.ok()
          ? absl::UnavailableError(fmt::format("etcd Watch at {}: stream ended", endpoint.address))
          : FromGrpc(status, "Watch", endpoint.address);
  return progressed;
}

void WatchHub::OnResponse(const etcdserverpb::WatchResponse& response,
                          std::vector<int64_t>* stray) {
  const auto it = watchers_.find(response.watch_id());
  if (it == watchers_.end()) {
    // Gone on our side (cancelled, or Watch() gave up waiting): make sure the
    // server forgets it too.
    if (response.created() && !response.canceled()) stray->push_back(response.watch_id());
    return;
  }
  const std::shared_ptr<Watcher> w = it->second;
  if (response.created()) {
    if (response.canceled()) {
      absl::Status error = FromCancelReason(response.cancel_reason());
      if (!w->created) {
        w->ended = true;
        w->error = std::move(error);
        watchers_.erase(it);
        cv_.notify_all();
      } else {
        WatchUpdate end;
        end.ended = true;
        end.status = std::move(error);
        End(w, std::move(end));
      }
      return;
    }
    // From now: the revision the member had when it created the watch.
    if (w->next_revision == 0) w->next_revision = response.header().revision() + 1;
    if (!w->created) {
      w->created = true;
      cv_.notify_all();
    }
  }
  if (response.events_size() > 0 && w->created) {
    WatchUpdate update;
    update.events.reserve(response.events_size());
    for (const auto& event : response.events()) {
      // Never twice: a revision is never split over responses, and a re-created
      // watch starts at next_revision, so this only guards against surprises.
      if (event.kv().mod_revision() < w->next_revision) continue;
      update.events.push_back(FromProto(event));
    }
    if (!update.events.empty()) {
      w->next_revision = update.events.back().kv.mod_revision + 1;
      queue_.emplace_back(w, std::move(update));
      cv_.notify_all();
    }
  }
  if (!response.created() && (response.canceled() || response.compact_revision() != 0)) {
    WatchUpdate end;
    end.ended = true;
    if (response.compact_revision() != 0) {
      end.compact_revision = response.compact_revision();
      end.status = absl::OutOfRangeError(
          fmt::format("etcd watch: revision {} has been compacted (history starts at {})",
                      w->next_revision, response.compact_revision()));
    } else {
      end.status = FromCancelReason(response.cancel_reason());
    }
    End(w, std::move(end));
  }
}

}  // namespace forest::coord::etcd_internal
