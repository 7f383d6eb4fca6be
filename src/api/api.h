// The HTTP API of a scheduler node: REST v1 under /api/v1 (rest_*.cc),
// the original's legacy endpoints (legacy.cc), /healthz, /readyz and
// /metrics. Every
// node serves the same API; writes go through the coordination store.
//
// AddRoutes registers everything on a Router; http_server.h serves it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "alarm/sender.h"
#include "api/router.h"
#include "auth/auth.h"
#include "common/clock.h"
#include "coord/store.h"
#include "history/alarm_log.h"
#include "history/audit.h"
#include "history/history.h"
#include "metrics/metrics.h"
#include "scheduler/node.h"

namespace forest::api {

class Catalog;

// What the handlers use; every pointer must outlive the routes.
struct ApiDeps {
  coord::Store* store = nullptr;
  Clock* clock = &SystemClock::Get();
  history::HistoryStore* history = nullptr;
  // This node's status (leader or follower, the leader's id).
  std::function<scheduler::NodeStatus()> node_status;
  std::string node_id;
  std::string http_address;
  std::string version;
  Time started_at{};
  // Authentication: null turns it off (every caller is an admin; the
  // server warns). The audit log: null records nothing.
  auth::Authenticator* auth = nullptr;
  history::AuditLog* audit = nullptr;
  // Session cookies carry Secure (the API is served over HTTPS).
  bool secure_cookies = false;
  // Alarms (alarm/): the alarm log the history routes list, and the sender
  // of test messages. Null: those routes answer 503 (channels and rules,
  // kept in the store, work regardless). `ui_url` links test messages.
  history::AlarmLog* alarm_log = nullptr;
  alarm::Sender* alarm_sender = nullptr;
  std::string ui_url;
  // What GET /metrics renders (public, the Prometheus text format); null:
  // an empty answer.
  const metrics::Registry* metrics = nullptr;
  // The jobs and groups (catalog.h), shared by the REST and the legacy
  // routes so a list after a write through either sees it. AddRoutes makes
  // one when null; the Add*Routes below each make their own when null.
  std::shared_ptr<Catalog> catalog;
};

void AddRoutes(Router& router, const ApiDeps& deps);

// The parts, for tests that want one.
void AddSystemRoutes(Router& router, const ApiDeps& deps);
void AddCatalogRoutes(Router& router, const ApiDeps& deps);
// Nodes, workers, plans, pending assignments, cron preview (rest_cluster.cc).
void AddClusterRoutes(Router& router, const ApiDeps& deps);
// Executions (list, get, kill) and statistics (rest_history.cc).
void AddHistoryRoutes(Router& router, const ApiDeps& deps);
// Alarm channels, rules and history (rest_alarm.cc).
void AddAlarmRoutes(Router& router, const ApiDeps& deps);
// The original's endpoints (POST /job/add, ...; legacy.cc, docs/legacy-api.md).
void AddLegacyRoutes(Router& router, const ApiDeps& deps);
// Login, logout, session, users, tokens, audit (rest_auth.cc); and the
// router's authorizer and audit observer: with deps.auth, every route but
// the public ones needs an API token (Authorization: Bearer) or a session
// cookie, whose state-changing requests also need the X-CSRF-Token header;
// the caller's role must allow the route. Every request that changes
// something, and every login, is appended to deps.audit.
void AddAuthRoutes(Router& router, const ApiDeps& deps);
void InstallAuth(Router& router, const ApiDeps& deps);

// The OpenAPI 3 document served at /api/v1/openapi.json.
const std::string& OpenApiDocument();

}  // namespace forest::api
