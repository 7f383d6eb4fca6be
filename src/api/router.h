// Routes: a method (HEAD matches GET) and a path pattern ("/api/v1/jobs/{id}", "{name}" takes
// one segment, "{name...}" the rest of the path), who may call it, and the
// handler. Dispatch finds the route, fills Request::params, asks the
// authorizer, and calls the handler:
//  - no route for the path: 404; a route for the path but not the method:
//    405 with Allow;
//  - the authorizer's error (401, 403, 429...) is answered as is;
//  - a handler that throws is answered 500 without details (logged), never
//    a crash.
// Thread safety: Add before serving; Dispatch from any number of threads.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/http.h"
#include "api/probe.h"
#include "common/status.h"

namespace forest::api {

using Handler = std::function<Response(Request&)>;
// Decides whether `request` may call a route needing `access`; on success
// sets request.caller. The default lets everyone in as an admin (auth off).
using Authorizer = std::function<absl::Status(Request& request, Access access)>;

struct RouteInfo {
  std::string method;
  std::string pattern;
  Access access;
  // A route that changes nothing whatever its method: GET ones, and the
  // original's POST list endpoints (no CSRF token needed, not audited).
  bool reads_only = false;
};

// Told of every request that reached a handler (the audit log), after it.
using Observer =
    std::function<void(const Request& request, const RouteInfo& route, const Response& response)>;

class Router {
 public:
  Router();
  void Add(std::string method, std::string pattern, Access access, Handler handler);
  // A route whose method is not GET but that only reads (RouteInfo::reads_only).
  void AddReader(std::string method, std::string pattern, Access access, Handler handler);
  void SetAuthorizer(Authorizer authorizer);
  // Also told of requests the authorizer refused (with its answer).
  void SetObserver(Observer observer);
  // GET and HEAD requests whose path no route matches go here instead of
  // getting 404 (the web UI's files): public, neither authorized nor observed.
  void SetFallback(Handler fallback);
  // Every dispatched request is counted and timed there (probe.h); not
  // owned, must outlive the router. None by default.
  void SetProbe(Probe* probe);
  Response Dispatch(Request& request) const;
  std::vector<RouteInfo> routes() const;

 private:
  struct Route {
    RouteInfo info;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool Match(const Route& route, const std::vector<std::string>& path,
                    std::map<std::string, std::string>* params);
  // Dispatch without the probe; `route` is set to the probe's route label.
  Response DispatchRoute(Request& request, std::string_view& route) const;
  std::vector<Route> routes_;
  Authorizer authorizer_;
  Observer observer_;
  Handler fallback_;
  Probe* probe_ = nullptr;
};

// "/a/b/" -> {"a", "b"}. The path is decoded already (the server library
// decodes it once; decoding again would read "%2541" as "A").
std::vector<std::string> SplitPath(const std::string& path);
std::string PercentDecode(std::string_view text);

}  // namespace forest::api
