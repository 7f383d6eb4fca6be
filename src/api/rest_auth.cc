// Authentication on the API: the authorizer (tokens, sessions with CSRF,
// roles), the audit observer, and the routes for login, logout, the
// session, users, tokens and the audit log.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "api/api.h"
#include "api/errors.h"
#include "common/strings.h"
#include "common/time_zone.h"

namespace forest::api {
namespace {

using nlohmann::json;

Access ToAccess(auth::Role r) {
  switch (r) {
    case auth::Role::kAdmin:
      return Access::kAdmin;
    case auth::Role::kOperator:
      return Access::kOperator;
    case auth::Role::kViewer:
      break;
  }
  return Access::kViewer;
}

auth::Role ToRole(Access a) {
  switch (a) {
    case Access::kAdmin:
      return auth::Role::kAdmin;
    case Access::kOperator:
      return auth::Role::kOperator;
    default:
      return auth::Role::kViewer;
  }
}

// The value of cookie `name` in a Cookie header, or "".
std::string CookieValue(const std::string& header, std::string_view name) {
  for (std::string_view part : Split(header, ';')) {
    part = Trim(part);
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
  }
  return "";
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "job.create", "job.pause", "group.delete", "execution.kill", "job.add"
// (legacy): the object type from the path, the verb from the method or the
// path's last literal segment.
std::pair<std::string, std::string> ActionOf(const RouteInfo& route) {
  std::vector<std::string> segments = SplitPath(route.pattern);
  if (segments.size() >= 2 && segments[0] == "api" && segments[1] == "v1") {
    segments.erase(segments.begin(), segments.begin() + 2);
  }
  if (segments.empty()) return {Lower(route.method), ""};
  std::string type = segments[0];
  std::string verb;
  if (const size_t colon = type.find(':'); colon != std::string::npos) {
    verb = type.substr(colon + 1);  // jobs:apply
    type = type.substr(0, colon);
  }
  if (type.size() > 1 && type.back() == 's') type.pop_back();  // jobs -> job
  if (type == "execute") type = "execution";                   // legacy /execute/snapshot
  const std::string& last = segments.back();
  const bool last_is_param = last.size() > 1 && last.front() == '{';
  if (verb.empty() && segments.size() > 1 && !last_is_param) verb = last;
  if (verb.empty()) {
    verb = route.method == "POST"     ? "create"
           : route.method == "PUT"    ? "update"
           : route.method == "PATCH"  ? "update"
           : route.method == "DELETE" ? "delete"
                                      : Lower(route.method);
  }
  return {type, type + "." + verb};
}

std::string ObjectId(const Request& request, const Response& response) {
  std::string id;
  for (const auto& [name, value] : request.params) {
    // A whole token given as its id is not written down.
    const std::string shown = value.rfind("fst_", 0) == 0 ? "(a token's text)" : value;
    id += (id.empty() ? "" : "/") + shown;
  }
  if (!id.empty() || response.body.empty() || response.status >= 300) return id;
  try {
    const json body = json::parse(response.body);
    if (body.is_object()) {
      if (body.contains("id") && body["id"].is_string()) return body["id"];
      if (body.contains("name") && body["name"].is_string()) return body["name"];
      if (body.contains("data") && body["data"].is_object() && body["data"].contains("id")) {
        return body["data"]["id"].is_string() ? body["data"]["id"].get<std::string>() : "";
      }
    }
  } catch (const std::exception&) {
  }
  return id;
}

json UserJson(const auth::UserInfo& u) {
  return {{"name", u.name},
          {"role", std::string(auth::Name(u.role))},
          {"disabled", u.disabled},
          {"createdAt", FormatRfc3339Millis(u.created_at)},
          {"updatedAt", FormatRfc3339Millis(u.updated_at)}};
}

json TokenJson(const auth::TokenInfo& t) {
  return {{"id", t.id},
          {"user", t.user},
          {"name", t.name},
          {"last4", t.last4},
          {"createdAt", FormatRfc3339Millis(t.created_at)}};
}

std::string SessionCookie(const std::string& value, std::chrono::seconds max_age, bool secure) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                     auth::kSessionCookieName, value, max_age.count(), secure ? "; Secure" : "");
}

template <typename T, typename F>
Response Answer(const absl::StatusOr<T>& value, F&& to_json, int status = 200) {
  if (!value.ok()) return ErrorResponse(value.status());
  return JsonResponse(to_json(*value), status);
}

std::string CallerName(const Request& r) { return r.caller ? r.caller->user : ""; }

// A string field of a request body: `fallback` when absent, InvalidArgument
// naming it when it is not a string.
absl::StatusOr<std::string> StringField(const json& body, const char* name,
                                        std::string fallback = "") {
  if (!body.contains(name) || body[name].is_null()) return fallback;
  if (!body[name].is_string()) return FieldError(name, "must be a string");
  return body[name].get<std::string>();
}

}  // namespace

void InstallAuth(Router& router, const ApiDeps& deps) {
  auth::Authenticator* authn = deps.auth;
  router.SetAuthorizer([authn](Request& r, Access need) -> absl::Status {
    if (need == Access::kPublic) return absl::OkStatus();
    if (authn == nullptr) {
      r.caller = Caller{"", Access::kAdmin, false};
      return absl::OkStatus();
    }
    const std::string authorization = r.Header("authorization");
    const std::string cookie = CookieValue(r.Header("cookie"), auth::kSessionCookieName);
    absl::StatusOr<auth::Principal> principal =
        absl::UnauthenticatedError("log in, or send an API token (Authorization: Bearer)");
    bool browser = false;
    if (!authorization.empty()) {
      principal = authn->VerifyBearer(authorization);
    } else if (!cookie.empty()) {
      principal = authn->VerifySession(cookie);
      browser = true;
      if (principal.ok() && r.changes_state) {
        RETURN_IF_ERROR(authn->CheckCsrf(cookie, r.Header("x-csrf-token")));
      }
    }
    if (!principal.ok()) return principal.status();
    r.caller = Caller{principal->user, ToAccess(principal->role), browser};
    if (!auth::Allows(principal->role, ToRole(need))) {
      return absl::PermissionDeniedError(
          fmt::format("user {} (role {}) may not do this: it needs the role {}", principal->user,
                      auth::Name(principal->role), Name(need)));
    }
    return absl::OkStatus();
  });
  history::AuditLog* audit = deps.audit;
  if (audit == nullptr) return;
  router.SetObserver([audit](const Request& r, const RouteInfo& route, const Response& response) {
    // Reads are not audited; logins are, by their own handler.
    if (route.reads_only || route.pattern == "/api/v1/login") return;
    if (response.status == 401 && !r.caller) return;  // anonymous noise
    history::AuditEntry e;
    std::tie(e.object_type, e.action) = ActionOf(route);
    e.actor = CallerName(r);
    e.object_id = ObjectId(r, response);
    e.client_address = r.remote_address;
    e.ok = response.status < 400;
    // Legacy answers are 200 with code -1 when refused.
    if (e.ok && response.body.rfind("{\"code\":-1", 0) == 0) e.ok = false;
    // The route, not the path: a token pasted where its id belongs is a secret.
    e.detail =
        json{{"method", r.method}, {"route", route.pattern}, {"status", response.status}}.dump(
            -1, ' ', false, json::error_handler_t::replace);
    if (const absl::Status s = audit->Append(e); !s.ok()) {
      spdlog::warn("api: cannot append to the audit log: {}", s.ToString());
    }
  });
}

void AddAuthRoutes(Router& router, const ApiDeps& deps) {
  auth::Authenticator* authn = deps.auth;
  history::AuditLog* audit = deps.audit;
  const bool secure = deps.secure_cookies;
  const auto off = [] {
    return ErrorResponse(absl::FailedPreconditionError(
        "authentication is off on this server (--auth=off): there are no users or tokens"));
  };

  router.Add("POST", "/api/v1/login", Access::kPublic, [=](Request& r) {
    if (authn == nullptr) return off();
    auto body = ParseJsonObject(r.body);
    if (!body.ok()) return ErrorResponse(body.status());
    auto user_field = StringField(*body, "user");
    auto password_field = StringField(*body, "password");
    if (!user_field.ok()) return ErrorResponse(user_field.status());
    if (!password_field.ok()) return ErrorResponse(password_field.status());
    const std::string user = *user_field;
    const std::string password = *password_field;
    if (user.empty()) return ErrorResponse(FieldError("user", "required"));
    if (password.empty()) return ErrorResponse(FieldError("password", "required"));
    auto session = authn->Login(user, password, r.remote_address);
    if (audit != nullptr) {
      history::AuditEntry e;
      e.actor = session.ok() ? user : "";
      e.action = session.ok() ? "login" : "login.failed";
      e.object_type = "user";
      e.object_id = user;
      e.client_address = r.remote_address;
      e.ok = session.ok();
      if (!session.ok())
        e.detail = json{{"reason", std::string(session.status().message())}}.dump();
      if (const absl::Status s = audit->Append(e); !s.ok()) {
        spdlog::warn("api: cannot append to the audit log: {}", s.ToString());
      }
    }
    if (!session.ok()) {
      Response out = ErrorResponse(session.status());
      if (session.status().code() == absl::StatusCode::kResourceExhausted) {
        // "... try again in N seconds"
        const std::string m(session.status().message());
        const size_t in = m.rfind(" in ");
        if (in != std::string::npos) {
          out.headers.emplace_back("Retry-After", m.substr(in + 4, m.find(' ', in + 4) - in - 4));
        }
      }
      return out;
    }
    const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(session->expires_at -
                                                                      SystemClock::Get().Now());
    Response out = JsonResponse({{"user", session->principal.user},
                                 {"role", std::string(auth::Name(session->principal.role))},
                                 {"csrfToken", session->csrf_token},
                                 {"expiresAt", FormatRfc3339Millis(session->expires_at)}});
    out.headers.emplace_back(
        "Set-Cookie",
        SessionCookie(session->cookie, std::max(ttl, std::chrono::seconds(1)), secure));
    return out;
  });
  router.Add("POST", "/api/v1/logout", Access::kViewer, [=](Request& r) {
    if (authn != nullptr) {
      const std::string cookie = CookieValue(r.Header("cookie"), auth::kSessionCookieName);
      if (!cookie.empty()) {
        if (const absl::Status s = authn->Logout(cookie); !s.ok()) return ErrorResponse(s);
      }
    }
    Response out = JsonResponse({{"loggedOut", true}});
    out.headers.emplace_back("Set-Cookie", SessionCookie("", std::chrono::seconds(0), secure));
    return out;
  });
  router.Add("GET", "/api/v1/session", Access::kViewer, [=](Request& r) {
    json j = {{"user", CallerName(r)},
              {"role", std::string(Name(r.caller->role))},
              {"auth", authn != nullptr}};
    const std::string cookie = CookieValue(r.Header("cookie"), auth::kSessionCookieName);
    if (authn != nullptr && !cookie.empty()) {
      if (auto csrf = authn->CsrfToken(cookie); csrf.ok()) j["csrfToken"] = *csrf;
    }
    return JsonResponse(j);
  });

  // Tokens: every user manages their own; admins anyone's.
  router.Add("GET", "/api/v1/tokens", Access::kViewer, [=](Request& r) {
    if (authn == nullptr) return off();
    std::string user = r.Query("user").value_or(CallerName(r));
    if (user != CallerName(r) && r.caller->role != Access::kAdmin) {
      return ErrorResponse(absl::PermissionDeniedError("only admins list other users' tokens"));
    }
    return Answer(authn->ListTokens(user), [](const std::vector<auth::TokenInfo>& tokens) {
      json items = json::array();
      for (const auto& t : tokens) items.push_back(TokenJson(t));
      return json{{"items", items}};
    });
  });
  router.Add("POST", "/api/v1/tokens", Access::kViewer, [=](Request& r) {
    if (authn == nullptr) return off();
    auto body = ParseJsonObject(r.body.empty() ? "{}" : r.body);
    if (!body.ok()) return ErrorResponse(body.status());
    auto name_field = StringField(*body, "name");
    if (!name_field.ok()) return ErrorResponse(name_field.status());
    const std::string name = *name_field;
    if (name.empty()) return ErrorResponse(FieldError("name", "required: what the token is for"));
    return Answer(
        authn->CreateToken(CallerName(r), name),
        [](const auth::NewToken& t) {
          json j = TokenJson(t.info);
          j["token"] = t.text;
          return j;
        },
        201);
  });
  router.Add("DELETE", "/api/v1/tokens/{id}", Access::kViewer, [=](Request& r) {
    if (authn == nullptr) return off();
    auto token = authn->GetToken(r.Param("id"));
    if (!token.ok()) return ErrorResponse(token.status());
    if (token->user != CallerName(r) && r.caller->role != Access::kAdmin) {
      return ErrorResponse(absl::NotFoundError(fmt::format("no token \"{}\"", r.Param("id"))));
    }
    if (const absl::Status s = authn->RevokeToken(r.Param("id")); !s.ok()) return ErrorResponse(s);
    Response out;
    out.status = 204;
    out.content_type.clear();
    return out;
  });

  // Users: admins only.
  router.Add("GET", "/api/v1/users", Access::kAdmin, [=](Request&) {
    if (authn == nullptr) return off();
    return Answer(authn->ListUsers(), [](const std::vector<auth::UserInfo>& users) {
      json items = json::array();
      for (const auto& u : users) items.push_back(UserJson(u));
      return json{{"items", items}};
    });
  });
  router.Add("POST", "/api/v1/users", Access::kAdmin, [=](Request& r) {
    if (authn == nullptr) return off();
    auto body = ParseJsonObject(r.body);
    if (!body.ok()) return ErrorResponse(body.status());
    auto role_name = StringField(*body, "role", "viewer");
    auto name = StringField(*body, "name");
    auto password = StringField(*body, "password");
    for (const auto* field : {&role_name, &name, &password}) {
      if (!field->ok()) return ErrorResponse(field->status());
    }
    auto role = auth::ParseRole(*role_name);
    if (!role.ok()) return ErrorResponse(FieldError("role", std::string(role.status().message())));
    return Answer(authn->CreateUser(*name, *password, *role), UserJson, 201);
  });
  router.Add("GET", "/api/v1/users/{name}", Access::kAdmin, [=](Request& r) {
    if (authn == nullptr) return off();
    return Answer(authn->GetUser(r.Param("name")), UserJson);
  });
  router.Add("PUT", "/api/v1/users/{name}", Access::kAdmin, [=](Request& r) {
    if (authn == nullptr) return off();
    auto body = ParseJsonObject(r.body);
    if (!body.ok()) return ErrorResponse(body.status());
    auth::UserUpdate u;
    if (body->contains("role")) {
      if (!(*body)["role"].is_string())
        return ErrorResponse(FieldError("role", "must be a string"));
      auto role = auth::ParseRole((*body)["role"].get<std::string>());
      if (!role.ok())
        return ErrorResponse(FieldError("role", std::string(role.status().message())));
      u.role = *role;
    }
    if (body->contains("password")) {
      if (!(*body)["password"].is_string()) {
        return ErrorResponse(FieldError("password", "must be a string"));
      }
      u.password = (*body)["password"].get<std::string>();
    }
    if (body->contains("disabled")) {
      if (!(*body)["disabled"].is_boolean()) {
        return ErrorResponse(FieldError("disabled", "must be true or false"));
      }
      u.disabled = (*body)["disabled"].get<bool>();
    }
    return Answer(authn->UpdateUser(r.Param("name"), u), UserJson);
  });
  router.Add("DELETE", "/api/v1/users/{name}", Access::kAdmin, [=](Request& r) {
    if (authn == nullptr) return off();
    if (const absl::Status s = authn->DeleteUser(r.Param("name")); !s.ok()) return ErrorResponse(s);
    Response out;
    out.status = 204;
    out.content_type.clear();
    return out;
  });

  router.Add("GET", "/api/v1/audit", Access::kAdmin, [=](Request& r) {
    if (audit == nullptr) {
      return ErrorResponse(absl::UnavailableError("this server keeps no audit log"));
    }
    history::AuditQuery q;
    q.actor = r.Query("actor").value_or("");
    q.action = r.Query("action").value_or("");
    q.object_type = r.Query("objectType").value_or("");
    q.object_id = r.Query("objectId").value_or("");
    for (const char* name : {"from", "to"}) {
      if (auto text = r.Query(name)) {
        auto t = ParseIso8601(*text, TimeZone::Utc());
        if (!t.ok()) return ErrorResponse(FieldError(name, "is not an RFC 3339 time"));
        (std::string(name) == "from" ? q.from : q.to) = *t;
      }
    }
    auto page = QueryInt(r, "page", 1, 1, 1000000);
    auto size = QueryInt(r, "pageSize", 50, 1, 1000);
    if (!page.ok()) return ErrorResponse(page.status());
    if (!size.ok()) return ErrorResponse(size.status());
    q.page_no = static_cast<int>(*page);
    q.page_size = static_cast<int>(*size);
    return Answer(audit->List(q), [](const history::AuditPage& p) {
      json items = json::array();
      for (const auto& e : p.rows) {
        items.push_back({{"id", e.id},
                         {"at", FormatRfc3339Millis(e.at)},
                         {"actor", e.actor},
                         {"action", e.action},
                         {"objectType", e.object_type},
                         {"objectId", e.object_id},
                         {"detail", e.detail},
                         {"clientAddress", e.client_address},
                         {"ok", e.ok}});
      }
      return json{{"items", items}, {"total", p.total_count}, {"totalPages", p.total_pages}};
    });
  });
}

}  // namespace forest::api
