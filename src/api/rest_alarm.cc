// REST v1: alarm channels, the group and global alarm rules, and the
// alarm history with its deliveries (alarm/, history/alarm_log.h).
//
// Roles: viewers read everything (channels without their secrets);
// operators edit rules; admins create, edit, test and delete channels,
// which hold secrets (webhook URLs with tokens, signing keys, passwords).
#include <fmt/format.h>

#include "alarm/config.h"
#include "alarm/engine.h"
#include "api/api.h"
#include "api/errors.h"
#include "common/time_zone.h"
#include "history/alarm_log.h"

namespace forest::api {
namespace {

using nlohmann::json;

std::string User(const Request& r) { return r.caller ? r.caller->user : std::string(); }

Response NoContent(const absl::Status& status) {
  if (!status.ok()) return ErrorResponse(status);
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

absl::Status NoAlarmLog() {
  return absl::UnavailableError("this node has no alarm log (no history database)");
}

json RuleJson(const std::optional<model::AlarmRule>& rule) {
  return rule ? rule->ToJson() : json(nullptr);
}

absl::StatusOr<model::AlarmRule> RuleFromBody(const Request& r) {
  ASSIGN_OR_RETURN(const json body, ParseJsonObject(r.body));
  ASSIGN_OR_RETURN(model::AlarmRule rule, model::AlarmRule::FromJson(body, ""));
  RETURN_IF_ERROR(rule.Validate(""));
  return rule;
}

std::string TimeText(Time t) { return FormatRfc3339Millis(t); }

json DeliveryJson(const history::AlarmDelivery& d) {
  json j{{"channelId", d.channel_id},
         {"channelName", d.channel_name},
         {"channelType", d.channel_type},
         {"state", std::string(history::Name(d.state))},
         {"attempts", d.attempts},
         {"lastError", d.last_error},
         {"updatedAt", TimeText(d.updated_at)},
         {"sentAt", d.sent_at ? json(TimeText(*d.sent_at)) : json(nullptr)}};
  if (d.state == history::DeliveryState::kPending) j["nextAttemptAt"] = TimeText(d.next_attempt_at);
  return j;
}

json AlarmJson(const history::AlarmEntry& a) {
  json deliveries = json::array();
  for (const history::AlarmDelivery& d : a.deliveries) deliveries.push_back(DeliveryJson(d));
  json facts = json::parse(a.detail, nullptr, /*allow_exceptions=*/false);
  if (facts.is_discarded()) facts = nullptr;
  return json{{"id", a.id},
              {"kind", a.kind},
              {"title", a.title},
              {"jobId", a.job_id},
              {"jobName", a.job_name},
              {"group", a.group},
              {"executionId", a.execution_id},
              {"worker", a.worker},
              {"count", a.count},
              {"firstAt", TimeText(a.first_at)},
              {"lastAt", TimeText(a.last_at)},
              {"createdAt", TimeText(a.created_at)},
              {"leaderNode", a.leader_node},
              {"facts", facts},
              {"deliveries", deliveries}};
}

absl::StatusOr<std::optional<Time>> TimeQuery(const Request& r, const std::string& field) {
  const auto text = r.Query(field);
  if (!text || text->empty()) return std::optional<Time>();
  auto t = ParseIso8601(*text, TimeZone::Utc());
  if (!t.ok()) return FieldError(field, std::string(t.status().message()));
  return std::optional<Time>(*t);
}

absl::StatusOr<json> ListAlarms(history::AlarmLog& log, const Request& r) {
  history::AlarmQuery q;
  q.kind = r.Query("kind").value_or("");
  if (!q.kind.empty() && !alarm::ParseKind(q.kind)) {
    return FieldError("kind", fmt::format("\"{}\" is not an alarm kind", q.kind));
  }
  q.job_id = r.Query("jobId").value_or("");
  q.group = r.Query("group").value_or("");
  q.channel_id = r.Query("channelId").value_or("");
  if (const auto state = r.Query("state"); state && !state->empty()) {
    q.state = history::ParseDeliveryState(*state);
    if (!q.state) {
      return FieldError("state",
                        fmt::format("\"{}\" is not pending, sending, sent or failed", *state));
    }
  }
  ASSIGN_OR_RETURN(q.from, TimeQuery(r, "from"));
  ASSIGN_OR_RETURN(q.to, TimeQuery(r, "to"));
  ASSIGN_OR_RETURN(const int64_t page, QueryInt(r, "page", 1, 1, 1000000));
  ASSIGN_OR_RETURN(const int64_t size, QueryInt(r, "pageSize", 20, 1, 1000));
  q.page_no = static_cast<int>(page);
  q.page_size = static_cast<int>(size);
  ASSIGN_OR_RETURN(const history::AlarmPage p, log.List(q));
  json items = json::array();
  for (const history::AlarmEntry& a : p.rows) items.push_back(AlarmJson(a));
  return json{{"items", items},
              {"total", p.total_count},
              {"totalPages", p.total_pages},
              {"page", page},
              {"pageSize", size}};
}

template <typename T, typename F>
Response Answer(const absl::StatusOr<T>& value, F&& to_json, int status = 200) {
  if (!value.ok()) return ErrorResponse(value.status());
  return JsonResponse(to_json(*value), status);
}

json ChannelJson(const alarm::Channel& c) { return c.PublicJson(); }

}  // namespace

void AddAlarmRoutes(Router& router, const ApiDeps& deps) {
  auto config = std::make_shared<alarm::AlarmConfig>(*deps.store, *deps.clock);
  history::AlarmLog* log = deps.alarm_log;
  alarm::Sender* sender = deps.alarm_sender;
  Clock* clock = deps.clock;
  const std::string node = deps.node_id;
  const std::string ui_url = deps.ui_url;

  // --- Channels ---
  router.Add("GET", "/api/v1/alarm-channels", Access::kViewer, [config](Request&) {
    return Answer(config->Channels(), [](const std::vector<alarm::Channel>& channels) {
      json items = json::array();
      for (const alarm::Channel& c : channels) items.push_back(ChannelJson(c));
      return json{{"items", items}};
    });
  });
  router.Add("POST", "/api/v1/alarm-channels", Access::kAdmin, [config](Request& r) {
    auto body = ParseJsonObject(r.body);
    if (!body.ok()) return ErrorResponse(body.status());
    auto channel = alarm::Channel::FromRequest(*body);
    if (!channel.ok()) return ErrorResponse(channel.status());
    return Answer(config->CreateChannel(*std::move(channel), User(r)), ChannelJson, 201);
  });
  router.Add("GET", "/api/v1/alarm-channels/{id}", Access::kViewer, [config](Request& r) {
    return Answer(config->GetChannel(r.Param("id")), ChannelJson);
  });
  router.Add("PUT", "/api/v1/alarm-channels/{id}", Access::kAdmin, [config](Request& r) {
    auto body = ParseJsonObject(r.body);
    if (!body.ok()) return ErrorResponse(body.status());
    std::optional<int64_t> version;
    if (const auto it = body->find("version"); it != body->end() && !it->is_null()) {
      if (!it->is_number_integer()) {
        return ErrorResponse(FieldError("version", "expected the version you edited"));
      }
      version = it->get<int64_t>();
    }
    return Answer(config->UpdateChannel(r.Param("id"), *body, version, User(r)), ChannelJson);
  });
  router.Add("DELETE", "/api/v1/alarm-channels/{id}", Access::kAdmin,
             [config](Request& r) { return NoContent(config->DeleteChannel(r.Param("id"))); });
  router.Add("POST", "/api/v1/alarm-channels/{id}/test", Access::kAdmin,
             [config, sender, clock, node, ui_url](Request& r) {
               if (sender == nullptr) {
                 return ErrorResponse(absl::UnavailableError("this node sends no alarms"));
               }
               auto channel = config->GetChannel(r.Param("id"));
               if (!channel.ok()) return ErrorResponse(channel.status());
               const alarm::Message message =
                   alarm::TestMessage(*channel, node, ui_url, clock->Now());
               const absl::Status sent = sender->Send(*channel, message);
               json answer{{"sent", sent.ok()}, {"alarmId", message.alarm_id}};
               if (!sent.ok()) answer["error"] = std::string(sent.message());
               return JsonResponse(answer);
             });

  // --- Rules (a job's own is its `alarm` field) ---
  router.Add("GET", "/api/v1/alarm-rules", Access::kViewer, [config](Request&) {
    return Answer(config->Rules(), [](const alarm::AlarmRules& rules) {
      json groups = json::object();
      for (const auto& [name, rule] : rules.groups) groups[name] = rule.ToJson();
      return json{{"global", RuleJson(rules.global)}, {"groups", groups}};
    });
  });
  const auto global_only = [](const Request& r) -> absl::Status {
    if (r.Param("scope") == "global") return absl::OkStatus();
    return absl::NotFoundError(
        fmt::format("no alarm rule scope \"{}\": use /api/v1/alarm-rules/global or "
                    "/api/v1/alarm-rules/groups/{{name}} (a job's rule is its `alarm` field)",
                    r.Param("scope")));
  };
  router.Add("GET", "/api/v1/alarm-rules/{scope}", Access::kViewer,
             [config, global_only](Request& r) {
               if (auto s = global_only(r); !s.ok()) return ErrorResponse(s);
               auto rule = config->GlobalRule();
               if (!rule.ok()) return ErrorResponse(rule.status());
               if (!*rule) return ErrorResponse(absl::NotFoundError("no global alarm rule"));
               return JsonResponse((*rule)->ToJson());
             });
  router.Add("PUT", "/api/v1/alarm-rules/{scope}", Access::kOperator,
             [config, global_only](Request& r) {
               if (auto s = global_only(r); !s.ok()) return ErrorResponse(s);
               auto rule = RuleFromBody(r);
               if (!rule.ok()) return ErrorResponse(rule.status());
               if (auto s = config->PutGlobalRule(*rule); !s.ok()) return ErrorResponse(s);
               return JsonResponse(rule->ToJson());
             });
  router.Add("DELETE", "/api/v1/alarm-rules/{scope}", Access::kOperator,
             [config, global_only](Request& r) {
               if (auto s = global_only(r); !s.ok()) return ErrorResponse(s);
               return NoContent(config->DeleteGlobalRule());
             });
  router.Add("GET", "/api/v1/alarm-rules/groups/{name}", Access::kViewer, [config](Request& r) {
    auto rule = config->GroupRule(r.Param("name"));
    if (!rule.ok()) return ErrorResponse(rule.status());
    if (!*rule) {
      return ErrorResponse(
          absl::NotFoundError(fmt::format("no alarm rule for group \"{}\"", r.Param("name"))));
    }
    return JsonResponse((*rule)->ToJson());
  });
  router.Add("PUT", "/api/v1/alarm-rules/groups/{name}", Access::kOperator, [config](Request& r) {
    auto rule = RuleFromBody(r);
    if (!rule.ok()) return ErrorResponse(rule.status());
    if (auto s = config->PutGroupRule(r.Param("name"), *rule); !s.ok()) return ErrorResponse(s);
    return JsonResponse(rule->ToJson());
  });
  router.Add("DELETE", "/api/v1/alarm-rules/groups/{name}", Access::kOperator,
             [config](Request& r) { return NoContent(config->DeleteGroupRule(r.Param("name"))); });

  // --- The alarm history ---
  router.Add("GET", "/api/v1/alarms", Access::kViewer, [log](Request& r) {
    if (log == nullptr) return ErrorResponse(NoAlarmLog());
    auto page = ListAlarms(*log, r);
    if (!page.ok()) return ErrorResponse(page.status());
    return JsonResponse(*page);
  });
  router.Add("GET", "/api/v1/alarms/{id}", Access::kViewer, [log](Request& r) {
    if (log == nullptr) return ErrorResponse(NoAlarmLog());
    return Answer(log->Get(r.Param("id")), AlarmJson);
  });
}

}  // namespace forest::api
