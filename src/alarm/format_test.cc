#include "alarm/format.h"

#include <gtest/gtest.h>

#include "alarm/signing.h"
#include "common/time_zone.h"

namespace forest::alarm {
namespace {

using nlohmann::json;

const Time kNow = ParseIso8601("2026-01-01T00:00:00.123Z", TimeZone::Utc()).value();

Message Failed() {
  Event e;
  e.kind = Kind::kFailed;
  e.key = "failed/20260101000000000-j1";
  e.job_id = "j1";
  e.job_name = "nightly <report> & co";
  e.group = "trade";
  e.execution_id = "20260101000000000-j1";
  e.worker = "w1";
  e.node = "node-a";
  e.status = "error";
  e.result = "exit status 3";
  e.at = e.first_at = e.last_at = kNow;
  e.link = "http://forest:2856/executions?id=20260101000000000-j1";
  return Message{AlarmId(e.key), e};
}

Channel Of(ChannelType type, std::string url, std::string secret = "") {
  Channel c;
  c.id = "c1";
  c.name = "c";
  c.type = type;
  c.url = std::move(url);
  c.secret = std::move(secret);
  return c;
}

std::string Header(const HttpRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

TEST(FormatTest, WebhookSendsTheFactsAsJsonSignedWithItsSecret) {
  Channel c = Of(ChannelType::kWebhook, "https://h.example/hook", "whsecret");
  c.headers = {{"X-Api-Key", "k1"}};
  const Message m = Failed();
  const HttpRequest r = BuildRequest(c, m, kNow);
  EXPECT_EQ(r.url, "https://h.example/hook");
  const json body = json::parse(r.body);
  EXPECT_EQ(body["alarmId"], m.alarm_id);
  EXPECT_EQ(body["kind"], "failed");
  EXPECT_EQ(body["jobId"], "j1");
  EXPECT_EQ(body["group"], "trade");
  EXPECT_EQ(body["executionId"], "20260101000000000-j1");
  EXPECT_EQ(body["worker"], "w1");
  EXPECT_EQ(body["result"], "exit status 3");
  EXPECT_EQ(body["count"], 1);
  EXPECT_EQ(body["link"], m.event.link);
  EXPECT_EQ(body["title"], "Job nightly <report> & co failed on w1");
  EXPECT_NE(body["text"].get<std::string>().find("Link: " + m.event.link), std::string::npos);
  EXPECT_EQ(Header(r, "X-Api-Key"), "k1");
  EXPECT_EQ(Header(r, "X-Forest-Alarm-Id"), m.alarm_id);
  EXPECT_EQ(Header(r, "X-Forest-Event"), "failed");
  EXPECT_EQ(Header(r, "X-Forest-Timestamp"), "1767225600");
  EXPECT_EQ(Header(r, "X-Forest-Signature"), WebhookSignature("whsecret", 1767225600, r.body));

  c.secret.clear();
  const HttpRequest unsigned_request = BuildRequest(c, m, kNow);
  EXPECT_EQ(Header(unsigned_request, "X-Forest-Signature"), "");
}

TEST(FormatTest, WebhookBodyTemplateAndTextTemplate) {
  Channel c = Of(ChannelType::kWebhook, "https://sms.example/send");
  c.sms_gateway = true;
  c.body_template = R"({"to": "{{mobile}}", "msg": "{{text}}"})";
  c.text_template = "{{jobName}} {{kind}}: \"{{result}}\"";
  Message m = Failed();
  m.event.mobile = "13800138000";
  const json body = json::parse(BuildRequest(c, m, kNow).body);
  EXPECT_EQ(body, json::parse(R"({"to": "13800138000",
                                  "msg": "nightly <report> & co failed: \"exit status 3\""})"));
}

TEST(FormatTest, DingTalkSignsTheUrlAndMentionsTheMobile) {
  const Channel c =
      Of(ChannelType::kDingTalk, "https://oapi.dingtalk.com/robot/send?access_token=T", "SECabc");
  Message m = Failed();
  m.event.mobile = "13800138000";
  const HttpRequest r = BuildRequest(c, m, kNow);
  EXPECT_EQ(r.url,
            "https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1767225600123"
            "&sign=" +
                DingTalkSign("SECabc", 1767225600123));
  const json body = json::parse(r.body);
  EXPECT_EQ(body["msgtype"], "markdown");
  EXPECT_EQ(body["markdown"]["title"], "Job nightly <report> & co failed on w1");
  const std::string text = body["markdown"]["text"];
  EXPECT_NE(text.find("[Forest] Job nightly"), std::string::npos);
  EXPECT_NE(text.find("  \nGroup: trade"), std::string::npos);  // markdown line breaks
  EXPECT_NE(text.find("@13800138000"), std::string::npos);
  EXPECT_EQ(body["at"]["atMobiles"], json::array({"13800138000"}));
  EXPECT_EQ(body["at"]["isAtAll"], false);
  // Without a secret the URL is left alone.
  EXPECT_EQ(BuildRequest(Of(ChannelType::kDingTalk, "https://d/x?access_token=T"), m, kNow).url,
            "https://d/x?access_token=T");
}

TEST(FormatTest, WeComSendsMarkdownToItsUrl) {
  const Channel c =
      Of(ChannelType::kWeCom, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K");
  const HttpRequest r = BuildRequest(c, Failed(), kNow);
  EXPECT_EQ(r.url, c.url);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["msgtype"], "markdown");
  EXPECT_NE(body["markdown"]["content"].get<std::string>().find("Result: exit status 3"),
            std::string::npos);
}

TEST(FormatTest, FeishuPutsTimestampAndSignInTheBody) {
  const Channel c =
      Of(ChannelType::kFeishu, "https://open.feishu.cn/open-apis/bot/v2/hook/H", "fs");
  const json body = json::parse(BuildRequest(c, Failed(), kNow).body);
  EXPECT_EQ(body["msg_type"], "text");
  EXPECT_EQ(body["timestamp"], "1767225600");
  EXPECT_EQ(body["sign"], FeishuSign("fs", 1767225600));
  EXPECT_NE(body["content"]["text"].get<std::string>().find("[Forest] Job nightly"),
            std::string::npos);
  EXPECT_FALSE(json::parse(BuildRequest(Of(ChannelType::kFeishu, c.url), Failed(), kNow).body)
                   .contains("sign"));
}

TEST(FormatTest, SlackEscapesItsMarkup) {
  const json body =
      json::parse(BuildRequest(Of(ChannelType::kSlack, "https://hooks.slack.com/services/T/B/X"),
                               Failed(), kNow)
                      .body);
  EXPECT_EQ(body["text"], "Job nightly &lt;report&gt; &amp; co failed on w1");
  EXPECT_EQ(body["blocks"][0]["type"], "section");
  EXPECT_EQ(body["blocks"][0]["text"]["type"], "mrkdwn");
  EXPECT_NE(body["blocks"][0]["text"]["text"].get<std::string>().find("&lt;report&gt;"),
            std::string::npos);
}

TEST(FormatTest, SummariesSayHowMany) {
  Message m = Failed();
  m.event.count = 17;
  m.event.window_seconds = 300;
  m.event.first_at = kNow;
  m.event.last_at = kNow + std::chrono::minutes(4);
  EXPECT_EQ(m.event.Title(), "Job nightly <report> & co failed 17 more times in 5 min");
  EXPECT_NE(m.event.Text().find("Events: 17 between 2026-01-01T00:00:00.123Z and "
                                "2026-01-01T00:04:00.123Z"),
            std::string::npos)
      << m.event.Text();
}

TEST(FormatTest, ResponsesTellSuccessFromRefusal) {
  EXPECT_TRUE(CheckResponse(ChannelType::kWebhook, 204, "").ok());
  EXPECT_EQ(CheckResponse(ChannelType::kWebhook, 500, "oops").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(CheckResponse(ChannelType::kWebhook, 429, "").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CheckResponse(ChannelType::kWebhook, 404, "").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckResponse(ChannelType::kDingTalk, 200, R"({"errcode":0,"errmsg":"ok"})").ok());
  const absl::Status ding =
      CheckResponse(ChannelType::kDingTalk, 200, R"({"errcode":310000,"errmsg":"sign not match"})");
  EXPECT_EQ(ding.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(ding.message().find("sign not match"), std::string::npos);
  EXPECT_TRUE(CheckResponse(ChannelType::kWeCom, 200, R"({"errcode":0,"errmsg":"ok"})").ok());
  EXPECT_FALSE(CheckResponse(ChannelType::kWeCom, 200, "not json").ok());
  EXPECT_TRUE(CheckResponse(ChannelType::kFeishu, 200, R"({"code":0,"msg":"success"})").ok());
  EXPECT_TRUE(CheckResponse(ChannelType::kFeishu, 200, R"({"StatusCode":0})").ok());
  EXPECT_FALSE(CheckResponse(ChannelType::kFeishu, 200, R"({"code":19021,"msg":"sign"})").ok());
  EXPECT_TRUE(CheckResponse(ChannelType::kSlack, 200, "ok").ok());
}

TEST(FormatTest, EmailIsAPlainTextMessageWithItsHeaders) {
  Channel c;
  c.type = ChannelType::kEmail;
  c.from = "forest@example.com";
  c.to = {"ops@example.com", "dev@example.com"};
  Message m = Failed();
  m.event.job_name = "nightly 报表";
  const std::string email = BuildEmail(c, m, kNow);
  EXPECT_NE(email.find("From: forest@example.com\r\n"), std::string::npos);
  EXPECT_NE(email.find("To: ops@example.com, dev@example.com\r\n"), std::string::npos);
  EXPECT_NE(email.find("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"), std::string::npos) << email;
  // Not ASCII: an RFC 2047 encoded word.
  EXPECT_NE(email.find("Subject: =?UTF-8?B?" + Base64("[Forest] Job nightly 报表 failed on w1") +
                       "?=\r\n"),
            std::string::npos)
      << email;
  EXPECT_NE(email.find("X-Forest-Alarm-Id: " + m.alarm_id + "\r\n"), std::string::npos);
  EXPECT_NE(email.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(email.find("\r\n\r\n[Forest] Job nightly 报表 failed on w1\r\nJob: "),
            std::string::npos);
  EXPECT_EQ(email.find("\n\n"), std::string::npos);  // every line end is CRLF
}

}  // namespace
}  // namespace forest::alarm
