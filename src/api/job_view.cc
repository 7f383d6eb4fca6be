#include "api/job_view.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>

#include "model/keys.h"

namespace forest::api {

std::unique_ptr<JobView> JobView::Start(coord::Store& store) {
  auto range = store.Range(coord::RangeRequest::Prefix(model::keys::kConfPrefix));
  if (!range.ok()) return nullptr;
  std::unique_ptr<JobView> view(new JobView());
  for (const coord::KeyValue& kv : range->kvs) {
    if (auto job = model::Job::FromJson(kv.value); job.ok()) {
      view->jobs_[kv.key.substr(model::keys::kConfPrefix.size())] = *std::move(job);
    }
  }
  view->revision_ = range->revision;
  JobView* v = view.get();
  coord::WatchRequest w;
  w.key = std::string(model::keys::kConfPrefix);
  w.range_end = coord::PrefixEnd(model::keys::kConfPrefix);
  w.start_revision = range->revision + 1;
  auto watch = store.Watch(w, [v](coord::WatchUpdate u) {
    std::unique_lock lock(v->mu_);
    for (const coord::WatchEvent& e : u.events) {
      const std::string id = e.kv.key.substr(model::keys::kConfPrefix.size());
      if (e.type == coord::WatchEvent::Type::kDelete) {
        v->jobs_.erase(id);
      } else if (auto job = model::Job::FromJson(e.kv.value); job.ok()) {
        v->jobs_[id] = *std::move(job);
      } else {
        v->jobs_.erase(id);
      }
      v->revision_ = std::max(v->revision_, e.kv.mod_revision);
    }
    if (u.ended || u.compact_revision != 0) {
      // Reads go to the store from now on.
      v->broken_ = true;
      spdlog::warn("api: the job list's watch ended ({}); lists read the store",
                   u.status.ToString());
    }
    lock.unlock();
    v->cv_.notify_all();
  });
  if (!watch.ok()) return nullptr;
  view->watch_ = *std::move(watch);
  return view;
}

JobView::~JobView() {
  // Ends the watch (and its callbacks) before the members go.
  watch_.reset();
}

bool JobView::WaitFor(coord::Revision revision) {
  std::shared_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::seconds(2), [&] {
    return broken_ || revision_ >= revision;
  }) && !broken_;
}

}  // namespace forest::api
