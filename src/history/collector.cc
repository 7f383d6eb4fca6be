#include "history/collector.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "model/keys.h"
#include "model/snapshot.h"

namespace forest::history {
namespace {

using std::chrono::milliseconds;
namespace keys = model::keys;

// Deletes per transaction: the fence adds one compare to ours.
constexpr size_t kDeletesPerTxn = coord::kMaxTxnOps - 1;
// Keys per page when ranging the records.
constexpr int64_t kRangePage = 1000;
// While a timer is pending, the thread looks at the clock at least this
// often (the clock may be a fake one, moved by a test).
constexpr milliseconds kMaxWait{50};

// What the watch thread and the public methods hand to the collector thread.
struct Item {
  enum class Kind { kLead, kFollow, kEvents, kReload };
  Kind kind = Kind::kEvents;
  uint64_t epoch = 0;       // kLead, kFollow: the epoch they opened
  uint64_t generation = 0;  // kEvents, kReload: the watch that sent them
  coord::Revision token = 0;
  std::vector<coord::WatchEvent> events;
};

// One key's version, on its way to the database.
struct Entry {
  std::string key;
  coord::Revision mod_revision = 0;
  bool quarantine = false;
  Execution row;        // !quarantine
  std::string value;    // quarantine: the raw value
  std::string reason;   // quarantine
  bool stored = false;  // quarantine: Quarantine() succeeded
};

struct Batch {
  std::vector<Entry> entries;
  std::unordered_map<std::string, size_t> index;  // key -> entries position
  Time first{};                                   // monotonic time of the first entry
  int refusals = 0;                               // failed Upserts that were not connection errors
};

struct PendingDelete {
  std::string key;
  coord::Revision mod_revision = 0;
  std::optional<model::RunStatus> finished;  // a final record's status
};

}  // namespace

class Collector::Impl {
 public:
  Impl(coord::Store& store, HistoryStore& history, CollectorOptions options)
      : store_(store),
        history_(history),
        options_(std::move(options)),
        clock_(*options_.clock),
        own_probe_(options_.probe == nullptr ? std::make_unique<CollectorProbe>() : nullptr),
        probe_(options_.probe == nullptr ? *own_probe_ : *options_.probe) {}
  ~Impl() { Stop(); }

  void StartThread() {
    thread_ = std::thread([this] { Run(); });
  }

  void Lead(coord::Revision token) {
    Item item;
    item.kind = Item::Kind::kLead;
    item.token = token;
    item.epoch = ++epoch_;
    Push(std::move(item));
  }
  void Follow() {
    Item item;
    item.kind = Item::Kind::kFollow;
    item.epoch = ++epoch_;
    Push(std::move(item));
  }
  void Stop() {
    std::lock_guard stop_lock(stop_mu_);
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      ++epoch_;  // abandon whatever the thread is in the middle of
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    watch_.reset();
    std::lock_guard lock(stats_mu_);
    stats_.leading = false;
  }

  CollectorStats stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

 private:
  void Push(Item item) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      queue_.push_back(std::move(item));
    }
    cv_.notify_all();
  }

  // True while the thread's leadership is still the latest word.
  bool Current() const { return leading_ && epoch_.load() == my_epoch_; }

  void Run();
  // The next instant the thread has something to do by itself (Time::max()
  // when only a queued item can give it work).
  Time NextDue() const;
  void Process(std::vector<Item>& items);
  void StartLeading(coord::Revision token, uint64_t epoch);
  void StopLeading();
  void FencedOut();
  // Range at R (paged) -> Add, then watch from R + 1.
  absl::Status Load();
  void Add(const coord::KeyValue& kv);
  void Seal();
  // Stores sealed batches in order until one fails.
  void Flush();
  // After a batch's Upsert failed for a reason other than the connection.
  absl::Status UpsertOneByOne(Batch& batch, std::vector<Execution>& rows);
  // Sends the pending deletes; false when they could not all be sent.
  bool DeleteKeys();
  void StoreError(std::string_view what, const absl::Status& status);
  void UpdatePending();

  coord::Store& store_;
  HistoryStore& history_;
  const CollectorOptions options_;
  Clock& clock_;
  const std::unique_ptr<CollectorProbe> own_probe_;  // when the options name none
  CollectorProbe& probe_;

  // Serializes Stop.
  std::mutex stop_mu_;
  std::thread thread_;
  // Bumped by Lead, Follow and Stop: the thread abandons work for an old one.
  std::atomic<uint64_t> epoch_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Item> queue_ ABSL_GUARDED_BY(mu_);
  // The current watch; updates of older ones are dropped.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;

  // The collector thread's own state.
  bool leading_ = false;
  uint64_t my_epoch_ = 0;
  coord::Revision token_ = 0;
  std::unique_ptr<coord::WatchHandle> watch_;
  bool reload_pending_ = false;
  Batch open_;
  std::deque<Batch> sealed_;
  std::vector<PendingDelete> deletes_;
  // Database retries (Upsert, Quarantine).
  milliseconds db_backoff_{0};
  Time db_retry_at_ = Time::min();
  // Store retries (Range, Watch, deletes).
  milliseconds store_backoff_{0};
  Time store_retry_at_ = Time::min();

  mutable std::mutex stats_mu_;
  CollectorStats stats_ ABSL_GUARDED_BY(stats_mu_);
};

void Collector::Impl::Run() {
  std::vector<Item> items;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      for (;;) {
        if (stop_ || !queue_.empty()) break;
        const Time due = NextDue();
        const Time now = clock_.Monotonic();
        if (due <= now) break;
        if (due == Time::max()) {
          cv_.wait(lock);
        } else {
          cv_.wait_for(lock, std::min<milliseconds>(due - now, kMaxWait));
        }
      }
      if (stop_) break;
      items.swap(queue_);
    }
    Process(items);
    items.clear();
    if (!leading_) continue;
    const Time now = clock_.Monotonic();
    if (reload_pending_ && now >= store_retry_at_) {
      const absl::Status loaded = Load();
      if (!loaded.ok()) StoreError("cannot read the execution records", loaded);
    }
    if (!open_.entries.empty() && now >= open_.first + options_.max_delay) Seal();
    if (!sealed_.empty() && now >= db_retry_at_) Flush();
    if (leading_ && !deletes_.empty() && now >= store_retry_at_) DeleteKeys();
    UpdatePending();
  }
  StopLeading();
}

Time Collector::Impl::NextDue() const {
  if (!leading_) return Time::max();
  Time due = Time::max();
  if (reload_pending_) due = std::min(due, store_retry_at_);
  if (!deletes_.empty()) due = std::min(due, store_retry_at_);
  if (!sealed_.empty()) due = std::min(due, db_retry_at_);
  if (!open_.entries.empty()) due = std::min(due, open_.first + options_.max_delay);
  return due;
}

void Collector::Impl::Process(std::vector<Item>& items) {
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = generation_;
  }
  for (Item& item : items) {
    switch (item.kind) {
      case Item::Kind::kLead:
        StartLeading(item.token, item.epoch);
        {
          std::lock_guard lock(mu_);
          generation = generation_;
        }
        break;
      case Item::Kind::kFollow:
        if (leading_) spdlog::info("collector {}: stops collecting", options_.node_id);
        StopLeading();
        break;
      case Item::Kind::kEvents:
        if (!leading_ || reload_pending_ || item.generation != generation) break;
        for (const coord::WatchEvent& e : item.events) {
          if (e.type == coord::WatchEvent::Type::kPut) Add(e.kv);
        }
        break;
      case Item::Kind::kReload:
        if (!leading_ || item.generation != generation) break;
        reload_pending_ = true;
        break;
    }
  }
}

void Collector::Impl::StartLeading(coord::Revision token, uint64_t epoch) {
  StopLeading();
  leading_ = true;
  my_epoch_ = epoch;
  token_ = token;
  reload_pending_ = true;
  store_retry_at_ = Time::min();
  spdlog::info("collector {}: collecting (token {})", options_.node_id, token);
  std::lock_guard lock(stats_mu_);
  stats_.leading = true;
}

void Collector::Impl::StopLeading() {
  // Destroy the watch outside mu_: its callback takes mu_.
  watch_.reset();
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  leading_ = false;
  reload_pending_ = false;
  open_ = Batch{};
  sealed_.clear();
  deletes_.clear();
  db_backoff_ = store_backoff_ = milliseconds(0);
  db_retry_at_ = store_retry_at_ = Time::min();
  probe_.Backlog(0);
  std::lock_guard lock(stats_mu_);
  stats_.leading = false;
  stats_.retrying = false;
  stats_.pending = 0;
}

void Collector::Impl::FencedOut() {
  spdlog::warn("collector {}: another node leads (token {} is stale); stops collecting",
               options_.node_id, token_);
  StopLeading();
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.fenced_out;
  }
  if (options_.on_fenced_out) options_.on_fenced_out();
}

void Collector::Impl::StoreError(std::string_view what, const absl::Status& status) {
  store_backoff_ = store_backoff_ == milliseconds(0)
                       ? options_.retry_min
                       : std::min(store_backoff_ * 2, options_.retry_max);
  store_retry_at_ = clock_.Monotonic() + store_backoff_;
  spdlog::warn("collector {}: {}: {}; retrying in {} ms", options_.node_id, what, status.ToString(),
               store_backoff_.count());
  probe_.StoreError();
  std::lock_guard lock(stats_mu_);
  ++stats_.store_errors;
}

absl::Status Collector::Impl::Load() {
  watch_.reset();
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = ++generation_;
  }
  // Whatever the batches hold is read again below.
  const std::string prefix(keys::kExecutePrefix);
  coord::RangeRequest range{prefix, coord::PrefixEnd(prefix), kRangePage, 0, false, false};
  coord::Revision revision = 0;
  for (;;) {
    ASSIGN_OR_RETURN(const coord::RangeResponse page, store_.Range(range));
    if (revision == 0) revision = page.revision;
    range.revision = revision;
    for (const coord::KeyValue& kv : page.kvs) Add(kv);
    if (!page.more || page.kvs.empty()) break;
    range.key = page.kvs.back().key + '\0';
  }
  auto watch = store_.Watch(
      coord::WatchRequest{prefix, coord::PrefixEnd(prefix), revision + 1, false},
      [this, generation](coord::WatchUpdate u) {
        if (!u.events.empty()) {
          Item item;
          item.kind = Item::Kind::kEvents;
          item.generation = generation;
          item.events = std::move(u.events);
          Push(std::move(item));
        }
        // kCancelled: the store is closing; nothing to redo.
        if (u.compact_revision != 0 ||
            (u.ended && u.status.code() != absl::StatusCode::kCancelled)) {
          spdlog::warn("collector {}: watch ended ({}), reading again", options_.node_id,
                       u.compact_revision != 0 ? fmt::format("compacted at {}", u.compact_revision)
                                               : u.status.ToString());
          Item item;
          item.kind = Item::Kind::kReload;
          item.generation = generation;
          Push(std::move(item));
        }
      });
  if (!watch.ok()) return watch.status();
  watch_ = *std::move(watch);
  reload_pending_ = false;
  store_backoff_ = milliseconds(0);
  spdlog::debug("collector {}: read the records at revision {}", options_.node_id, revision);
  return absl::OkStatus();
}

void Collector::Impl::Add(const coord::KeyValue& kv) {
  Entry entry;
  entry.key = kv.key;
  entry.mod_revision = kv.mod_revision;
  const std::optional<keys::Parsed> parsed = keys::Parse(kv.key);
  if (!parsed.has_value() || parsed->kind != keys::Parsed::Kind::kExecute) {
    entry.quarantine = true;
    entry.reason = "not an execution record key";
  } else {
    absl::StatusOr<model::ExecutionRecord> record = model::ExecutionRecord::FromJson(kv.value);
    if (!record.ok()) {
      entry.quarantine = true;
      entry.reason = std::string(record.status().message());
    } else {
      entry.row.record = *std::move(record);
      entry.row.worker = std::string(parsed->b);
      entry.row.leader_node = options_.node_id;
      // What no database would take is set aside at once, not retried forever.
      if (const absl::Status storable = CheckStorable(entry.row); !storable.ok()) {
        entry.quarantine = true;
        entry.reason = "cannot be stored: " + std::string(storable.message());
      }
    }
  }
  // Kept for every entry: a row the database refuses is quarantined with it.
  entry.value = kv.value;

  if (open_.entries.empty()) open_.first = clock_.Monotonic();
  const auto [it, inserted] = open_.index.try_emplace(entry.key, open_.entries.size());
  if (inserted) {
    open_.entries.push_back(std::move(entry));
  } else {
    open_.entries[it->second] = std::move(entry);
  }
  if (open_.entries.size() >= options_.max_batch) Seal();
}

void Collector::Impl::Seal() {
  if (open_.entries.empty()) return;
  sealed_.push_back(std::move(open_));
  open_ = Batch{};
}

absl::Status Collector::Impl::UpsertOneByOne(Batch& batch, std::vector<Execution>& rows) {
  std::unordered_map<std::string, std::string> refused;  // id -> why
  std::vector<Execution> kept;
  for (Execution& row : rows) {
    const absl::Status one = history_.Upsert({row});
    if (one.ok()) {
      kept.push_back(std::move(row));
      continue;
    }
    if (one.code() == absl::StatusCode::kUnavailable) return one;
    refused.emplace(row.record.run.id, std::string(one.message()));
  }
  for (Entry& e : batch.entries) {
    if (e.quarantine) continue;
    auto it = refused.find(e.row.record.run.id);
    if (it == refused.end()) continue;
    e.quarantine = true;
    e.reason = "the database refused it: " + it->second;
  }
  rows = std::move(kept);
  return absl::OkStatus();
}

void Collector::Impl::Flush() {
  while (!sealed_.empty() && Current()) {
    Batch& batch = sealed_.front();
    // One row per record id, the final one winning (a run's record under two
    // keys), so the database sees each id once per transaction.
    std::vector<Execution> rows;
    std::unordered_map<std::string, size_t> by_id;
    for (const Entry& e : batch.entries) {
      if (e.quarantine) continue;
      const auto [it, inserted] = by_id.try_emplace(e.row.record.run.id, rows.size());
      if (inserted) {
        rows.push_back(e.row);
      } else if (model::IsFinal(e.row.record.status) ||
                 !model::IsFinal(rows[it->second].record.status)) {
        rows[it->second] = e.row;
      }
    }
    absl::Status status = absl::OkStatus();
    milliseconds latency{0};
    if (!rows.empty()) {
      const Time begin = clock_.Monotonic();
      const metrics::Stopwatch watch;
      status = history_.Upsert(rows);
      latency = clock_.Monotonic() - begin;
      probe_.Wrote(rows.size(), watch.Elapsed(), status.ok());
      if (!status.ok() && status.code() != absl::StatusCode::kUnavailable &&
          ++batch.refusals >= 2) {
        // Refused twice, not for the connection: a row the database will not
        // take. Store the rows one by one and set the refused ones aside, so
        // one bad record cannot hold back every later one.
        status = UpsertOneByOne(batch, rows);
      }
    }
    for (Entry& e : batch.entries) {
      if (!status.ok()) break;
      if (!e.quarantine || e.stored) continue;
      status = history_.Quarantine(e.key, e.value, e.reason);
      if (status.ok()) {
        e.stored = true;
        probe_.Quarantined();
        spdlog::warn("collector {}: quarantined {}: {}", options_.node_id, e.key, e.reason);
        std::lock_guard lock(stats_mu_);
        ++stats_.quarantined;
      }
    }
    if (status.ok() && !rows.empty() && options_.on_stored) {
      // Told before any key goes: what it records survives a crash here.
      status = options_.on_stored(rows);
    }
    if (!status.ok()) {
      db_backoff_ = db_backoff_ == milliseconds(0) ? options_.retry_min
                                                   : std::min(db_backoff_ * 2, options_.retry_max);
      db_retry_at_ = clock_.Monotonic() + db_backoff_;
      spdlog::warn(
          "collector {}: cannot store a batch of {} rows ({} batches waiting): {}; "
          "retrying in {} ms",
          options_.node_id, rows.size(), sealed_.size(), status.ToString(), db_backoff_.count());
      std::lock_guard lock(stats_mu_);
      ++stats_.db_errors;
      stats_.retrying = true;
      return;
    }
    if (db_backoff_ != milliseconds(0)) {
      spdlog::info("collector {}: the database is back", options_.node_id);
    }
    db_backoff_ = milliseconds(0);
    for (const Entry& e : batch.entries) {
      if (e.quarantine) {
        deletes_.push_back(PendingDelete{e.key, e.mod_revision, std::nullopt});
      } else if (model::IsFinal(e.row.record.status)) {
        deletes_.push_back(PendingDelete{e.key, e.mod_revision, e.row.record.status});
      }
    }
    {
      std::lock_guard lock(stats_mu_);
      stats_.retrying = false;
      if (!rows.empty()) {
        ++stats_.batches;
        stats_.collected += static_cast<int64_t>(rows.size());
        stats_.last_batch_latency = latency;
      }
    }
    sealed_.pop_front();
    if (clock_.Monotonic() >= store_retry_at_ && !DeleteKeys()) return;
  }
}

bool Collector::Impl::DeleteKeys() {
  while (!deletes_.empty()) {
    if (!Current()) return false;
    const size_t n = std::min(deletes_.size(), kDeletesPerTxn);
    std::vector<PendingDelete> chunk(deletes_.begin(), deletes_.begin() + n);
    coord::TxnRequest txn;
    // The failure branch tells a fence failure (the leader key) from stale
    // versions (each key's current mod revision).
    txn.failure.push_back(coord::RangeRequest{options_.leader_key, "", 0, 0, true, false});
    for (const PendingDelete& d : chunk) {
      txn.compare.push_back(
          coord::Compare::ModRevision(d.key, coord::Compare::Result::kEqual, d.mod_revision));
      txn.success.push_back(coord::DeleteRequest{d.key, "", false});
      txn.failure.push_back(coord::RangeRequest{d.key, "", 0, 0, true, false});
    }
    const absl::StatusOr<coord::TxnResponse> response =
        store_.Txn(coord::Election::Fence(std::move(txn), options_.leader_key, token_));
    if (!response.ok()) {
      // Retried with the same compares: one that landed fails them, and the
      // failure branch then shows the key gone.
      StoreError("cannot delete collected records", response.status());
      return false;
    }
    store_backoff_ = milliseconds(0);
    if (response->succeeded) {
      int64_t deleted = 0;
      for (const coord::OpResponse& r : response->responses) {
        if (const auto* d = std::get_if<coord::DeleteResponse>(&r)) deleted += d->deleted;
      }
      // Every compare held: each final record went now, and only now.
      for (const PendingDelete& d : chunk) {
        if (d.finished) probe_.Finished(*d.finished);
      }
      deletes_.erase(deletes_.begin(), deletes_.begin() + n);
      std::lock_guard lock(stats_mu_);
      stats_.deleted += deleted;
      continue;
    }
    const auto& leader = std::get<coord::RangeResponse>(response->responses.at(0));
    if (leader.kvs.empty() || leader.kvs.front().create_revision != token_) {
      FencedOut();
      return false;
    }
    // Keep the keys whose version is still the one stored; the others were
    // rewritten (the new version comes through the watch) or deleted.
    std::vector<PendingDelete> keep;
    for (size_t i = 0; i < n; ++i) {
      const auto& current = std::get<coord::RangeResponse>(response->responses.at(i + 1));
      if (!current.kvs.empty() && current.kvs.front().mod_revision == chunk[i].mod_revision) {
        keep.push_back(std::move(chunk[i]));
      } else {
        spdlog::debug("collector {}: {} changed since it was stored; kept", options_.node_id,
                      chunk[i].key);
      }
    }
    deletes_.erase(deletes_.begin(), deletes_.begin() + n);
    deletes_.insert(deletes_.begin(), std::make_move_iterator(keep.begin()),
                    std::make_move_iterator(keep.end()));
  }
  return true;
}

void Collector::Impl::UpdatePending() {
  size_t pending = open_.entries.size();
  for (const Batch& b : sealed_) pending += b.entries.size();
  probe_.Backlog(pending);
  std::lock_guard lock(stats_mu_);
  stats_.pending = pending;
}

absl::StatusOr<std::unique_ptr<Collector>> Collector::Start(coord::Store& store,
                                                            HistoryStore& history,
                                                            CollectorOptions options) {
  if (options.node_id.empty()) return absl::InvalidArgumentError("collector: empty node id");
  if (options.clock == nullptr) return absl::InvalidArgumentError("collector: no clock");
  if (options.max_batch == 0) return absl::InvalidArgumentError("collector: max_batch is 0");
  if (options.leader_key.empty()) return absl::InvalidArgumentError("collector: no leader key");
  if (options.retry_min <= milliseconds(0) || options.retry_max < options.retry_min) {
    return absl::InvalidArgumentError("collector: retry backoff must be 0 < min <= max");
  }
  auto impl = std::make_unique<Impl>(store, history, std::move(options));
  impl->StartThread();
  return std::unique_ptr<Collector>(new Collector(std::move(impl)));
}

Collector::Collector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Collector::~Collector() { Stop(); }

void Collector::Lead(coord::Revision token) { impl_->Lead(token); }

void Collector::Follow() { impl_->Follow(); }

void Collector::Stop() { impl_->Stop(); }

CollectorStats Collector::stats() const { return impl_->stats(); }

}  // namespace forest::history
