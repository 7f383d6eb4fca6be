// CurlSender against a local webhook receiver and a local SMTP server.
#include "alarm/sender.h"

#include <gtest/gtest.h>

#include "alarm/signing.h"
#include "alarm/testing/receivers.h"
#include "common/time_zone.h"

namespace forest::alarm {
namespace {

using nlohmann::json;
using testing::SmtpServer;
using testing::WebhookReceiver;

const Time kNow = ParseIso8601("2026-01-01T00:00:00Z", TimeZone::Utc()).value();

Message Failed() {
  Event e;
  e.kind = Kind::kFailed;
  e.key = "failed/x";
  e.job_id = "j1";
  e.job_name = "nightly";
  e.group = "trade";
  e.execution_id = "20260101000000000-j1";
  e.worker = "w1";
  e.result = "exit status 3";
  e.at = e.first_at = e.last_at = kNow;
  return Message{AlarmId(e.key), e};
}

Channel Webhook(ChannelType type, std::string url, std::string secret = "") {
  Channel c;
  c.id = "c1";
  c.name = "c";
  c.type = type;
  c.url = std::move(url);
  c.secret = std::move(secret);
  c.timeout_seconds = 5;
  return c;
}

class SenderTest : public ::testing::Test {
 protected:
  FakeClock clock_{kNow};
  CurlSender sender_{CurlSenderOptions{&clock_, "forest-test"}};
  WebhookReceiver receiver_;
};

TEST_F(SenderTest, WebhookArrivesSignedWithItsHeaders) {
  Channel c = Webhook(ChannelType::kWebhook, receiver_.Url("/hook"), "whsecret");
  c.headers = {{"X-Api-Key", "k1"}};
  ASSERT_TRUE(sender_.Send(c, Failed()).ok());
  const auto got = receiver_.requests("/hook");
  ASSERT_EQ(got.size(), 1u);
  const auto& h = got[0].headers;
  EXPECT_EQ(h.at("X-Api-Key"), "k1");
  EXPECT_EQ(h.at("X-Forest-Event"), "failed");
  EXPECT_EQ(h.at("User-Agent"), "forest-test");
  EXPECT_EQ(h.at("X-Forest-Timestamp"), "1767225600");
  // The receiver can check the signature with the shared secret alone.
  EXPECT_EQ(h.at("X-Forest-Signature"),
            "sha256=" + Hex(HmacSha256("whsecret", "1767225600." + got[0].body)));
  EXPECT_EQ(json::parse(got[0].body)["jobId"], "j1");
}

TEST_F(SenderTest, DingTalkFeishuWeComSlackArriveInTheirFormats) {
  ASSERT_TRUE(
      sender_
          .Send(Webhook(ChannelType::kDingTalk, receiver_.Url("/ding?access_token=T"), "SECx"),
                Failed())
          .ok());
  ASSERT_TRUE(
      sender_.Send(Webhook(ChannelType::kFeishu, receiver_.Url("/lark"), "fs"), Failed()).ok());
  ASSERT_TRUE(
      sender_.Send(Webhook(ChannelType::kWeCom, receiver_.Url("/wecom?key=K")), Failed()).ok());
  receiver_.Answer("/slack", "ok");
  ASSERT_TRUE(sender_.Send(Webhook(ChannelType::kSlack, receiver_.Url("/slack")), Failed()).ok());

  const auto ding = receiver_.requests("/ding").at(0);
  EXPECT_EQ(ding.query.at("access_token"), "T");
  EXPECT_EQ(ding.query.at("timestamp"), "1767225600000");
  // The query carries the URL-encoded signature; decoded it is the base64.
  EXPECT_EQ(ding.raw_query,
            "access_token=T&timestamp=1767225600000&sign=" + DingTalkSign("SECx", 1767225600000));
  EXPECT_EQ(json::parse(ding.body)["msgtype"], "markdown");

  const json lark = json::parse(receiver_.requests("/lark").at(0).body);
  EXPECT_EQ(lark["timestamp"], "1767225600");
  EXPECT_EQ(lark["sign"], FeishuSign("fs", 1767225600));
  EXPECT_EQ(lark["msg_type"], "text");

  const auto wecom = receiver_.requests("/wecom").at(0);
  EXPECT_EQ(wecom.query.at("key"), "K");
  EXPECT_EQ(json::parse(wecom.body)["msgtype"], "markdown");

  EXPECT_TRUE(json::parse(receiver_.requests("/slack").at(0).body).contains("blocks"));
}

TEST_F(SenderTest, FailuresSayWhyWithoutTheSecrets) {
  receiver_.FailNext(1);
  const absl::Status down =
      sender_.Send(Webhook(ChannelType::kWebhook, receiver_.Url("/hook/S3CR3TPATH")), Failed());
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(down.message().find("HTTP 500"), std::string::npos) << down;

  receiver_.Answer("/ding", R"({"errcode":310000,"errmsg":"sign not match"})");
  const absl::Status refused = sender_.Send(
      Webhook(ChannelType::kDingTalk, receiver_.Url("/ding?access_token=T0K3N"), "SECx"), Failed());
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("sign not match"), std::string::npos) << refused;

  // Nobody listens there: the error names no part of the URL's secret path.
  int closed_port;
  {
    WebhookReceiver gone;
    closed_port = gone.port();
  }
  const absl::Status unreachable =
      sender_.Send(Webhook(ChannelType::kSlack,
                           fmt::format("http://127.0.0.1:{}/services/T0K3N/S3CR3T", closed_port)),
                   Failed());
  EXPECT_EQ(unreachable.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(unreachable.message().find("S3CR3T"), std::string::npos) << unreachable;
  EXPECT_EQ(unreachable.message().find("T0K3N"), std::string::npos) << unreachable;
}

TEST_F(SenderTest, SlowServiceTimesOut) {
  receiver_.Delay("/slow", std::chrono::milliseconds(2500));
  Channel c = Webhook(ChannelType::kWebhook, receiver_.Url("/slow"));
  c.timeout_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(sender_.Send(c, Failed()).code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2400));
}

Channel Email(const SmtpServer& server, SmtpSecurity security, std::string user = "",
              std::string password = "") {
  Channel c;
  c.id = "mail";
  c.name = "mail";
  c.type = ChannelType::kEmail;
  c.host = "127.0.0.1";
  c.port = server.port();
  c.security = security;
  c.username = std::move(user);
  c.password = std::move(password);
  c.from = "forest@example.com";
  c.to = {"ops@example.com", "dev@example.com"};
  c.ca_file = server.ca_file();
  c.timeout_seconds = 10;
  return c;
}

TEST(SenderEmailTest, StartTlsWithAuthentication) {
  SmtpServer server("starttls", "forest", "pw");
  ASSERT_TRUE(server.ok()) << "cannot start smtp_server.py (python3-aiosmtpd installed?)";
  FakeClock clock(kNow);
  CurlSender sender(CurlSenderOptions{&clock, "forest-test"});
  const Channel c = Email(server, SmtpSecurity::kStartTls, "forest", "pw");
  ASSERT_TRUE(c.Validate().ok()) << c.Validate();
  const absl::Status sent = sender.Send(c, Failed());
  ASSERT_TRUE(sent.ok()) << sent;
  const auto got = server.messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["mail_from"], "forest@example.com");
  EXPECT_EQ(got[0]["rcpt_tos"], json::array({"ops@example.com", "dev@example.com"}));
  EXPECT_EQ(got[0]["authenticated"], "forest");
  EXPECT_EQ(got[0]["tls"], true);
  const std::string data = got[0]["data"];
  EXPECT_NE(data.find("Subject: [Forest] Job nightly failed on w1"), std::string::npos) << data;
  EXPECT_NE(data.find("Result: exit status 3"), std::string::npos) << data;

  // A wrong password is refused, and the error does not quote it.
  Channel wrong_password = Email(server, SmtpSecurity::kStartTls, "forest", "WR0NGPW");
  wrong_password.timeout_seconds = 2;  // the server hangs up slowly after a refusal
  const absl::Status wrong = sender.Send(wrong_password, Failed());
  EXPECT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.message().find("WR0NGPW"), std::string::npos) << wrong;
  EXPECT_EQ(server.messages().size(), 1u);
}

TEST(SenderEmailTest, ImplicitTlsAndPlain) {
  FakeClock clock(kNow);
  CurlSender sender(CurlSenderOptions{&clock, "forest-test"});
  {
    SmtpServer server("tls", "forest", "pw");
    ASSERT_TRUE(server.ok());
    const absl::Status sent =
        sender.Send(Email(server, SmtpSecurity::kTls, "forest", "pw"), Failed());
    ASSERT_TRUE(sent.ok()) << sent;
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_EQ(server.messages()[0]["tls"], true);
    // An untrusted certificate is refused.
    Channel untrusted = Email(server, SmtpSecurity::kTls, "forest", "pw");
    untrusted.ca_file.clear();
    EXPECT_FALSE(sender.Send(untrusted, Failed()).ok());
  }
  {
    SmtpServer server("plain");
    ASSERT_TRUE(server.ok());
    const absl::Status sent = sender.Send(Email(server, SmtpSecurity::kNone), Failed());
    ASSERT_TRUE(sent.ok()) << sent;
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_EQ(server.messages()[0]["tls"], false);
  }
  {
    // STARTTLS required by the channel but not offered: refused, not sent in clear.
    SmtpServer server("plain");
    ASSERT_TRUE(server.ok());
    EXPECT_FALSE(sender.Send(Email(server, SmtpSecurity::kStartTls), Failed()).ok());
    EXPECT_TRUE(server.messages().empty());
  }
}

}  // namespace
}  // namespace forest::alarm
