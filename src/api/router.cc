#include "api/router.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <set>
#include <utility>

#include "api/errors.h"

namespace forest::api {

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex(text[i + 1]);
      const int lo = hex(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Router::Router() {
  authorizer_ = [](Request& request, Access) {
    request.caller = Caller{"", Access::kAdmin, false};
    return absl::OkStatus();
  };
}

void Router::Add(std::string method, std::string pattern, Access access, Handler handler) {
  Route r;
  r.segments = SplitPath(pattern);
  const bool get = method == "GET";
  r.info = {std::move(method), std::move(pattern), access, get};
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::AddReader(std::string method, std::string pattern, Access access, Handler handler) {
  Add(std::move(method), std::move(pattern), access, std::move(handler));
  routes_.back().info.reads_only = true;
}

void Router::SetAuthorizer(Authorizer authorizer) { authorizer_ = std::move(authorizer); }
void Router::SetObserver(Observer observer) { observer_ = std::move(observer); }
void Router::SetFallback(Handler fallback) { fallback_ = std::move(fallback); }
void Router::SetProbe(Probe* probe) { probe_ = probe; }

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const Route& r : routes_) out.push_back(r.info);
  return out;
}

bool Router::Match(const Route& route, const std::vector<std::string>& path,
                   std::map<std::string, std::string>* params) {
  params->clear();
  size_t i = 0;
  for (; i < route.segments.size(); ++i) {
    const std::string& s = route.segments[i];
    const bool is_param = s.size() > 2 && s.front() == '{' && s.back() == '}';
    if (is_param && s.size() > 5 && s.compare(s.size() - 4, 4, "...}") == 0) {
      if (i >= path.size()) return false;
      std::string rest;
      for (size_t j = i; j < path.size(); ++j) rest += (j > i ? "/" : "") + path[j];
      (*params)[s.substr(1, s.size() - 5)] = rest;
      return true;
    }
    if (i >= path.size()) return false;
    if (is_param) {
      (*params)[s.substr(1, s.size() - 2)] = path[i];
    } else if (s != path[i]) {
      return false;
    }
  }
  return i == path.size();
}

Response Router::Dispatch(Request& request) const {
  if (probe_ == nullptr) {
    std::string_view route;
    return DispatchRoute(request, route);
  }
  const metrics::Stopwatch watch;
  std::string_view route = "none";
  Response response = DispatchRoute(request, route);
  probe_->Request(request.method, route, response.status, watch.Elapsed());
  return response;
}

Response Router::DispatchRoute(Request& request, std::string_view& route_label) const {
  route_label = "none";
  const std::vector<std::string> path = SplitPath(request.path);
  std::set<std::string> allowed;
  std::map<std::string, std::string> params;
  // HEAD is GET without the body (the server library drops it).
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  for (const Route& route : routes_) {
    if (!Match(route, path, &params)) continue;
    if (route.info.method != method) {
      allowed.insert(route.info.method);
      continue;
    }
    request.params = params;
    request.changes_state = !route.info.reads_only;
    route_label = route.info.pattern;
    Response response;
    if (const absl::Status s = authorizer_(request, route.info.access); !s.ok()) {
      response = ErrorResponse(s);
    } else {
      try {
        response = route.handler(request);
      } catch (const std::exception& e) {
        spdlog::error("api: {} {}: {}", request.method, request.path, e.what());
        response = ErrorResponse(absl::InternalError("internal error (logged on the server)"));
      }
    }
    if (observer_) {
      try {
        observer_(request, route.info, response);
      } catch (const std::exception& e) {
        // The answer stands; only its record is missing.
        spdlog::error("api: observing {} {}: {}", request.method, request.path, e.what());
      }
    }
    return response;
  }
  if (!allowed.empty()) {
    Response r = ErrorResponse(absl::UnimplementedError("method " + request.method +
                                                        " is not allowed on " + request.path));
    r.status = 405;
    std::string allow;
    for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  if (fallback_ && method == "GET") {
    route_label = "ui";
    try {
      return fallback_(request);
    } catch (const std::exception& e) {
      spdlog::error("api: {} {}: {}", request.method, request.path, e.what());
      return ErrorResponse(absl::InternalError("internal error (logged on the server)"));
    }
  }
  return ErrorResponse(absl::NotFoundError("no route for " + request.path));
}

}  // namespace forest::api
