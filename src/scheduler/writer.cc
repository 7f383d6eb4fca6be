#include "scheduler/writer.h"

#include "absl/container/flat_hash_set.h"
#include "coord/election.h"

namespace forest::scheduler::internal {
namespace {

constexpr size_t kMaxCompares = coord::kMaxTxnOps - 1;  // one for the fence

bool OutcomeUnknown(const absl::Status& s) {
  return absl::IsUnknown(s) || absl::IsDeadlineExceeded(s);
}

}  // namespace

Writer::Writer(coord::Store& store, std::string leader_key, int parallel)
    : store_(store), leader_key_(std::move(leader_key)), parallel_(std::max(1, parallel)) {
  for (int i = 1; i < parallel_; ++i) threads_.emplace_back([this] { Worker(); });
}

Writer::~Writer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void Writer::Worker() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Txn* txn = queue_.front();
    queue_.pop_front();
    lock.unlock();
    txn->response = store_.Txn(txn->request);
    lock.lock();
    if (--outstanding_ == 0) cv_.notify_all();
  }
}

void Writer::RunAll(std::vector<Txn>& txns) {
  if (txns.size() == 1 || threads_.empty()) {
    for (Txn& txn : txns) txn.response = store_.Txn(txn.request);
    return;
  }
  // The calling thread takes part: it runs the first, the pool the rest.
  {
    std::lock_guard lock(mu_);
    for (size_t i = 1; i < txns.size(); ++i) queue_.push_back(&txns[i]);
    outstanding_ += txns.size() - 1;
  }
  cv_.notify_all();
  txns[0].response = store_.Txn(txns[0].request);
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return outstanding_ == 0; });
}

coord::TxnRequest Writer::Build(coord::Revision token, const std::vector<WriteUnit>& units,
                                const std::vector<size_t>& which) const {
  coord::TxnRequest request;
  for (size_t i : which) {
    const WriteUnit& unit = units[i];
    request.compare.insert(request.compare.end(), unit.compares.begin(), unit.compares.end());
    request.success.insert(request.success.end(), unit.ops.begin(), unit.ops.end());
  }
  coord::RangeRequest leader;
  leader.key = leader_key_;
  request.failure.push_back(leader);
  return coord::Election::Fence(std::move(request), leader_key_, token);
}

bool Writer::FencedOut(const coord::TxnResponse& response, coord::Revision token) const {
  if (response.responses.empty()) return true;
  const auto* range = std::get_if<coord::RangeResponse>(&response.responses[0]);
  return range == nullptr || range->kvs.empty() || range->kvs[0].create_revision != token;
}

bool Writer::Commit(coord::Revision token, std::vector<WriteUnit>& units, WriteCounts& counts) {
  // Pack. A key may be written once per transaction: a unit that writes a
  // key the current transaction already writes starts the next one.
  std::vector<Txn> txns;
  size_t ops = 0;
  size_t compares = 0;
  absl::flat_hash_set<std::string_view> written;
  const auto key_of = [](const coord::Op& op) -> std::string_view {
    if (const auto* put = std::get_if<coord::PutRequest>(&op)) return put->key;
    if (const auto* del = std::get_if<coord::DeleteRequest>(&op)) return del->key;
    return {};
  };
  const auto overlaps = [&](const WriteUnit& unit) {
    for (const coord::Op& op : unit.ops) {
      if (written.contains(key_of(op))) return true;
    }
    return false;
  };
  for (size_t i = 0; i < units.size(); ++i) {
    const WriteUnit& unit = units[i];
    if (unit.ops.size() > coord::kMaxTxnOps || unit.compares.size() > kMaxCompares) {
      if (unit.on_error) {
        unit.on_error(absl::InvalidArgumentError(
            "a single dispatch needs more than 128 operations (too many workers in the group)"));
      }
      continue;
    }
    if (txns.empty() || ops + unit.ops.size() > coord::kMaxTxnOps ||
        compares + unit.compares.size() > kMaxCompares || overlaps(unit)) {
      txns.emplace_back();
      ops = compares = 0;
      written.clear();
    }
    for (const coord::Op& op : unit.ops) written.insert(key_of(op));
    txns.back().units.push_back(i);
    ops += unit.ops.size();
    compares += unit.compares.size();
  }
  for (Txn& txn : txns) txn.request = Build(token, units, txn.units);
  RunAll(txns);

  bool fenced_out = false;
  std::vector<Txn> singles;  // units to retry one by one
  const auto refuse = [&](const WriteUnit& unit, const absl::Status& status) {
    if (unit.on_error) unit.on_error(status);
  };
  for (Txn& txn : txns) {
    if (!txn.response.ok()) {
      if (OutcomeUnknown(txn.response.status()) && txn.units.size() > 1) {
        for (size_t i : txn.units) singles.push_back(Txn{{i}, Build(token, units, {i})});
        continue;
      }
      ++counts.errors;
      for (size_t i : txn.units) refuse(units[i], txn.response.status());
      continue;
    }
    if (txn.response->succeeded) {
      ++counts.txns;
      for (size_t i : txn.units) {
        if (units[i].on_commit) units[i].on_commit(txn.response->revision);
      }
      continue;
    }
    if (FencedOut(*txn.response, token)) {
      fenced_out = true;
      for (size_t i : txn.units) refuse(units[i], absl::FailedPreconditionError("another node leads"));
      continue;
    }
    ++counts.conflicts;
    if (txn.units.size() == 1) {
      if (units[txn.units[0]].on_conflict) units[txn.units[0]].on_conflict();
      continue;
    }
    for (size_t i : txn.units) singles.push_back(Txn{{i}, Build(token, units, {i})});
  }
  if (singles.empty()) return !fenced_out;

  RunAll(singles);
  for (Txn& txn : singles) {
    const WriteUnit& unit = units[txn.units[0]];
    if (!txn.response.ok()) {
      // Unknown twice: whoever acts on it next re-reads (the compares make a
      // later attempt safe either way).
      ++counts.errors;
      refuse(unit, txn.response.status());
    } else if (txn.response->succeeded) {
      ++counts.txns;
      if (unit.on_commit) unit.on_commit(txn.response->revision);
    } else if (FencedOut(*txn.response, token)) {
      fenced_out = true;
      refuse(unit, absl::FailedPreconditionError("another node leads"));
    } else {
      ++counts.conflicts;
      if (unit.on_conflict) unit.on_conflict();
    }
  }
  return !fenced_out;
}

}  // namespace forest::scheduler::internal
