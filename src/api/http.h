// The API's view of HTTP: a request in, a response out, independent of the
// server library (http_server.h adapts cpp-httplib to it), so handlers and
// the router are tested without sockets.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace forest::api {

// Who may call a route. Every route but kPublic needs an authenticated
// caller whose role allows it (viewer < operator < admin).
enum class Access { kPublic, kViewer, kOperator, kAdmin };
std::string_view Name(Access a);

// The authenticated caller, as the authorizer found it.
struct Caller {
  std::string user;  // "" when authentication is off
  Access role = Access::kViewer;
  bool browser = false;  // by session cookie: state changes need a CSRF token
};

struct Request {
  std::string method;  // upper case
  std::string path;    // without the query
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote_address;
  // Filled by the router: the pattern's {name} segments, whether the route
  // may change state (RouteInfo::reads_only), and the caller.
  std::map<std::string, std::string> params;
  bool changes_state = true;
  std::optional<Caller> caller;

  // The last value of a query parameter, or nullopt.
  std::optional<std::string> Query(const std::string& name) const;
  std::string Header(const std::string& lower_case_name) const;
  std::string Param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Whether an Accept-Encoding header value accepts gzip ("gzip" or "*",
// without q=0).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace forest::api
