// The jobs, parsed, kept in memory by one watch of /forest/server/conf/, so
// listing 10,000 jobs reads no store and parses no JSON per request.
//
// Start ranges the prefix at a revision R and watches from R + 1. Read
// gives the jobs as of at least `revision` (waiting briefly for the watch
// to get there: a write through this node is then visible to its next
// read); it answers false when the view cannot (the watch ended, or it
// lags): the caller reads the store instead. A document that does not
// parse is left out, as the store read does.
//
// Thread-safe: many readers at once; the watch's updates wait for them.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "coord/store.h"
#include "model/job.h"

namespace forest::api {

class JobView {
 public:
  // nullptr when the store cannot be read or watched now.
  static std::unique_ptr<JobView> Start(coord::Store& store);
  ~JobView();

  // Calls `read(jobs)` with the jobs by id as of at least `revision`, under
  // a shared lock; false (without calling) when the view cannot answer.
  template <typename F>
  bool Read(coord::Revision revision, F&& read) {
    if (!WaitFor(revision)) return false;
    std::shared_lock lock(mu_);
    if (broken_) return false;
    read(static_cast<const std::map<std::string, model::Job>&>(jobs_));
    return true;
  }

 private:
  JobView() = default;
  bool WaitFor(coord::Revision revision);

  mutable std::shared_mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, model::Job> jobs_;
  coord::Revision revision_ = 0;
  bool broken_ = false;
  std::unique_ptr<coord::WatchHandle> watch_;
};

}  // namespace forest::api
