#include "alarm/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "alarm/signing.h"
#include "alarm/template.h"
#include "common/time_zone.h"

namespace forest::alarm {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

int64_t UnixSeconds(Time t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
int64_t UnixMillis(Time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string SlackEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Markdown services show single newlines as spaces: two spaces before each
// line break keep the lines (DingTalk and WeCom both honour it).
std::string MarkdownLines(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += "  ";
    out += c;
  }
  return out;
}

json DefaultWebhookBody(const Message& m, const std::string& text) {
  const Event& e = m.event;
  const auto vars = e.Variables();
  json body{{"alarmId", m.alarm_id},
            {"kind", std::string(Name(e.kind))},
            {"title", e.Title()},
            {"text", text}};
  for (const char* field :
       {"jobId", "jobName", "group", "executionId", "worker", "status", "result", "node", "mobile",
        "scheduledAt", "startedAt", "finishedAt", "at", "firstAt", "lastAt", "link"}) {
    body[field] = vars.at(field);
  }
  body["count"] = e.count;
  return body;
}

std::string Start(std::string_view body) {
  std::string s(body.substr(0, 200));
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return s;
}

// RFC 2047: a header value with non-ASCII bytes as one encoded word.
std::string HeaderText(std::string_view text) {
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (ascii) return std::string(text);
  std::string clean(text);
  std::replace_if(
      clean.begin(), clean.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return "=?UTF-8?B?" + Base64(clean) + "?=";
}

std::string EmailDate(Time now) {
  // RFC 5322 in UTC: "Mon, 02 Mar 2026 08:00:00 +0000".
  const std::time_t t = static_cast<std::time_t>(UnixSeconds(now));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace

std::string MessageText(const Channel& channel, const Message& message) {
  if (channel.text_template.empty()) return message.event.Text();
  return Render(channel.text_template, message.event.Variables());
}

HttpRequest BuildRequest(const Channel& channel, const Message& message, Time now) {
  const Event& e = message.event;
  const std::string text = MessageText(channel, message);
  HttpRequest r;
  r.url = channel.url;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  switch (channel.type) {
    case ChannelType::kWebhook: {
      for (const auto& [name, value] : channel.headers) r.headers.emplace_back(name, value);
      r.headers.emplace_back("X-Forest-Alarm-Id", message.alarm_id);
      r.headers.emplace_back("X-Forest-Event", std::string(Name(e.kind)));
      if (channel.body_template.empty()) {
        r.body = Dump(DefaultWebhookBody(message, text));
      } else {
        auto vars = e.Variables();
        vars["text"] = text;
        r.body = Render(channel.body_template, vars, Escape::kJson);
      }
      if (!channel.secret.empty()) {
        const int64_t ts = UnixSeconds(now);
        r.headers.emplace_back("X-Forest-Timestamp", std::to_string(ts));
        r.headers.emplace_back("X-Forest-Signature", WebhookSignature(channel.secret, ts, r.body));
      }
      break;
    }
    case ChannelType::kDingTalk: {
      std::string content = MarkdownLines(text);
      json at{{"isAtAll", false}, {"atMobiles", json::array()}};
      if (!e.mobile.empty()) {
        // DingTalk notifies a mobile only when the text names it too.
        at["atMobiles"].push_back(e.mobile);
        content += "\n\n@" + e.mobile;
      }
      r.body = Dump({{"msgtype", "markdown"},
                     {"markdown", {{"title", e.Title()}, {"text", content}}},
                     {"at", at}});
      if (!channel.secret.empty()) {
        const int64_t ms = UnixMillis(now);
        r.url += (r.url.find('?') == std::string::npos ? "?" : "&");
        r.url += fmt::format("timestamp={}&sign={}", ms, DingTalkSign(channel.secret, ms));
      }
      break;
    }
    case ChannelType::kWeCom:
      r.body = Dump({{"msgtype", "markdown"}, {"markdown", {{"content", MarkdownLines(text)}}}});
      break;
    case ChannelType::kFeishu: {
      json body{{"msg_type", "text"}, {"content", {{"text", text}}}};
      if (!channel.secret.empty()) {
        const int64_t ts = UnixSeconds(now);
        body["timestamp"] = std::to_string(ts);
        body["sign"] = FeishuSign(channel.secret, ts);
      }
      r.body = Dump(body);
      break;
    }
    case ChannelType::kSlack:
      r.body =
          Dump({{"text", SlackEscape(e.Title())},
                {"blocks",
                 json::array({{{"type", "section"},
                               {"text", {{"type", "mrkdwn"}, {"text", SlackEscape(text)}}}}})}});
      break;
    case ChannelType::kEmail:
      break;  // BuildEmail
  }
  return r;
}

absl::Status CheckResponse(ChannelType type, long http_status, std::string_view body) {
  if (http_status >= 500 || http_status == 408 || http_status == 429) {
    return absl::UnavailableError(fmt::format("HTTP {}: {}", http_status, Start(body)));
  }
  if (http_status < 200 || http_status >= 300) {
    return absl::FailedPreconditionError(fmt::format("HTTP {}: {}", http_status, Start(body)));
  }
  const auto code_of = [&](std::initializer_list<const char*> fields) -> std::optional<int64_t> {
    const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    for (const char* field : fields) {
      const auto it = j.find(field);
      if (it != j.end() && it->is_number_integer()) return it->get<int64_t>();
    }
    return std::nullopt;
  };
  switch (type) {
    case ChannelType::kDingTalk:
    case ChannelType::kWeCom: {
      const auto code = code_of({"errcode"});
      if (!code) {
        return absl::FailedPreconditionError("the service's answer has no errcode: " + Start(body));
      }
      if (*code != 0) {
        return absl::FailedPreconditionError(
            fmt::format("the service refused it (errcode {}): {}", *code, Start(body)));
      }
      return absl::OkStatus();
    }
    case ChannelType::kFeishu: {
      const auto code = code_of({"code", "StatusCode"});
      if (!code) {
        return absl::FailedPreconditionError("the service's answer has no code: " + Start(body));
      }
      if (*code != 0) {
        return absl::FailedPreconditionError(
            fmt::format("the service refused it (code {}): {}", *code, Start(body)));
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

std::string BuildEmail(const Channel& channel, const Message& message, Time now) {
  std::string to;
  for (const std::string& address : channel.to) to += (to.empty() ? "" : ", ") + address;
  std::string body = MessageText(channel, message);
  // CRLF line ends throughout.
  std::string crlf_body;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) crlf_body += '\r';
    crlf_body += body[i];
  }
  const std::string domain =
      channel.from.substr(channel.from.find('@') == std::string::npos ? channel.from.size()
                                                                      : channel.from.find('@') + 1);
  std::string out;
  out += "Date: " + EmailDate(now) + "\r\n";
  out += "From: " + channel.from + "\r\n";
  out += "To: " + to + "\r\n";
  out += "Subject: " + HeaderText("[Forest] " + message.event.Title()) + "\r\n";
  out += fmt::format("Message-ID: <{}.{}@{}>\r\n", message.alarm_id, UnixMillis(now),
                     domain.empty() ? "forest" : domain);
  out += "X-Forest-Alarm-Id: " + message.alarm_id + "\r\n";
  out += "X-Forest-Event: " + std::string(Name(message.event.kind)) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\n";
  out += crlf_body + "\r\n";
  return out;
}

}  // namespace forest::alarm
