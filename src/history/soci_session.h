// Internal to history/: what the SOCI stores (the HistoryStore and the
// AuditLog) share: a session that is replaced after a lost connection, and
// a WHERE clause built from optional filters with bound values.
#pragma once

#include <soci/soci.h>

#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/status.h"
#include "history/history.h"
#include "history/soci_backend.h"

namespace forest::history::internal {

// One connection, serialized by a mutex. Thread-safe.
class ReconnectingSession {
 public:
  ReconnectingSession(DbUrl url, std::unique_ptr<soci::session> session)
      : url_(std::move(url)), session_(std::move(session)) {}

  const DbUrl& url() const { return url_; }

  // Runs `fn` on the session (connecting first when there is none) and maps
  // what SOCI throws; a lost connection is dropped, the next call makes a
  // new one. `what` names the operation in errors.
  template <typename Fn>
  auto Run(std::string_view what, Fn&& fn) -> decltype(fn(std::declval<soci::session&>())) {
    std::lock_guard<std::mutex> lock(mu_);
    if (session_ == nullptr) {
      try {
        session_ = Connect(url_);
      } catch (const std::exception& e) {
        return absl::UnavailableError("connecting to " + url_.Describe() + ": " + e.what());
      }
    }
    try {
      return fn(*session_);
    } catch (const std::exception& e) {
      absl::Status status = ErrorStatus(e, what);
      if (IsConnectionError(e) || !session_->is_connected()) {
        session_.reset();
        if (status.code() != absl::StatusCode::kUnavailable) {
          status = absl::UnavailableError(std::string(status.message()));
        }
      }
      return status;
    }
  }

 private:
  const DbUrl url_;
  std::mutex mu_;
  std::unique_ptr<soci::session> session_ ABSL_GUARDED_BY(mu_);
};

// WHERE clauses with their bound values, in placeholder order. A condition
// holds its value's place as '?' ("id IN (SELECT ... WHERE state = ?)"), or
// ends where the value goes ("ip = ").
class Filters {
 public:
  void Add(const std::string& condition, std::string value) {
    Clause(condition);
    strings_.push_back(std::move(value));
    order_.push_back({true, strings_.size() - 1});
  }
  void Add(const std::string& condition, long long value) {
    Clause(condition);
    numbers_.push_back(value);
    order_.push_back({false, numbers_.size() - 1});
  }
  std::string Where() const {
    std::string out;
    for (const std::string& c : clauses_) out += (out.empty() ? " WHERE " : " AND ") + c;
    return out;
  }
  void Bind(soci::statement& st) {
    for (const auto& [is_string, index] : order_) {
      if (is_string) {
        st.exchange(soci::use(strings_[index]));
      } else {
        st.exchange(soci::use(numbers_[index]));
      }
    }
  }

 private:
  void Clause(const std::string& condition) {
    const std::string placeholder = ":f" + std::to_string(order_.size());
    const size_t at = condition.find('?');
    clauses_.push_back(at == std::string::npos
                           ? condition + placeholder
                           : condition.substr(0, at) + placeholder + condition.substr(at + 1));
  }
  std::vector<std::string> clauses_;
  std::deque<std::string> strings_;  // deques: bound by address
  std::deque<long long> numbers_;
  std::vector<std::pair<bool, size_t>> order_;
};

// How many rows `table` has under `filters`, and in how many pages of
// `page_size`: what every paged list answers first.
struct PageCount {
  int64_t total_count = 0;
  int64_t total_pages = 0;
};
inline PageCount CountPages(soci::session& sql, Filters& filters, const std::string& table,
                            int64_t page_size) {
  long long count = 0;
  soci::statement st(sql);
  filters.Bind(st);
  st.exchange(soci::into(count));
  st.alloc();
  st.prepare("SELECT COUNT(*) FROM " + table + filters.Where());
  st.define_and_bind();
  st.execute(true);
  return {count, (count + page_size - 1) / page_size};
}

}  // namespace forest::history::internal
