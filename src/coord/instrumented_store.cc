#include "coord/instrumented_store.h"

#include <array>
#include <cctype>

#include "absl/status/status.h"

namespace forest::coord {
namespace {

enum StoreOp {
  kRange,
  kPut,
  kDelete,
  kTxn,
  kCompact,
  kGrant,
  kRevoke,
  kTtl,
  kKeepAlive,
  kWatch,
  kOps
};
constexpr std::array<std::string_view, kOps> kOpNames = {
    "range",       "put",          "delete",    "txn",        "compact",
    "grant_lease", "revoke_lease", "lease_ttl", "keep_alive", "watch"};

std::string CodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace

// The store's metrics: one handle per operation, looked up once.
class InstrumentedStore::Probe {
 public:
  explicit Probe(metrics::Registry* registry)
      : registry_(registry),
        errors_(registry_.get().AddCounterFamily(
            "forest_coord_errors_total",
            "Coordination store calls that failed, by operation and status code.",
            {"op", "code"})) {
    metrics::CounterFamily& calls = registry_.get().AddCounterFamily(
        "forest_coord_requests_total", "Coordination store calls, by operation.", {"op"});
    metrics::HistogramFamily& seconds = registry_.get().AddHistogramFamily(
        "forest_coord_request_duration_seconds",
        "Time a coordination store call took, by operation.", {"op"}, metrics::LatencyBuckets());
    for (int op = 0; op < kOps; ++op) {
      calls_[op] = &calls.WithLabels({kOpNames[op]});
      seconds_[op] = &seconds.WithLabels({kOpNames[op]});
    }
  }

  void Done(StoreOp op, const metrics::Stopwatch& watch, const absl::Status& status) {
    calls_[op]->Increment();
    seconds_[op]->Observe(watch.Elapsed());
    if (!status.ok()) Error(op, status.code());
  }
  void Error(StoreOp op, absl::StatusCode code) {
    errors_.WithLabels({kOpNames[op], CodeName(code)}).Increment();
  }

 private:
  metrics::ProbeRegistry registry_;
  metrics::CounterFamily& errors_;
  std::array<metrics::Counter*, kOps> calls_{};
  std::array<metrics::Histogram*, kOps> seconds_{};
};

InstrumentedStore::InstrumentedStore(std::unique_ptr<Store> inner, metrics::Registry* registry)
    : probe_(std::make_shared<Probe>(registry)), inner_(std::move(inner)) {}

InstrumentedStore::~InstrumentedStore() = default;

namespace {
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
const absl::Status& StatusOf(const absl::Status& s) { return s; }
}  // namespace

#define FOREST_COUNTED(op, call)                 \
  do {                                           \
    const metrics::Stopwatch watch;              \
    auto result = (call);                        \
    probe_->Done((op), watch, StatusOf(result)); \
    return result;                               \
  } while (0)

absl::StatusOr<RangeResponse> InstrumentedStore::Range(const RangeRequest& request) {
  FOREST_COUNTED(kRange, inner_->Range(request));
}
absl::StatusOr<PutResponse> InstrumentedStore::Put(const PutRequest& request) {
  FOREST_COUNTED(kPut, inner_->Put(request));
}
absl::StatusOr<DeleteResponse> InstrumentedStore::Delete(const DeleteRequest& request) {
  FOREST_COUNTED(kDelete, inner_->Delete(request));
}
absl::StatusOr<TxnResponse> InstrumentedStore::Txn(const TxnRequest& request) {
  FOREST_COUNTED(kTxn, inner_->Txn(request));
}
absl::Status InstrumentedStore::Compact(Revision revision) {
  FOREST_COUNTED(kCompact, inner_->Compact(revision));
}
absl::StatusOr<LeaseGrant> InstrumentedStore::GrantLease(std::chrono::seconds ttl) {
  FOREST_COUNTED(kGrant, inner_->GrantLease(ttl));
}
absl::Status InstrumentedStore::RevokeLease(LeaseId id) {
  FOREST_COUNTED(kRevoke, inner_->RevokeLease(id));
}
absl::StatusOr<LeaseStatus> InstrumentedStore::LeaseTimeToLive(LeaseId id, bool with_keys) {
  FOREST_COUNTED(kTtl, inner_->LeaseTimeToLive(id, with_keys));
}
absl::StatusOr<std::unique_ptr<LeaseKeeper>> InstrumentedStore::KeepAlive(
    LeaseId id, KeepAliveOptions options) {
  FOREST_COUNTED(kKeepAlive, inner_->KeepAlive(id, std::move(options)));
}

absl::StatusOr<std::unique_ptr<WatchHandle>> InstrumentedStore::Watch(
    const WatchRequest& request, std::function<void(WatchUpdate)> callback) {
  // The callback keeps the probe: a watch handle may outlive this store.
  auto counted = [probe = probe_, callback = std::move(callback)](WatchUpdate update) {
    if (update.ended && !update.status.ok() &&
        update.status.code() != absl::StatusCode::kCancelled) {
      probe->Error(kWatch, update.status.code());
    }
    callback(std::move(update));
  };
  FOREST_COUNTED(kWatch, inner_->Watch(request, std::move(counted)));
}

#undef FOREST_COUNTED

}  // namespace forest::coord
