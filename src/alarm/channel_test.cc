#include "alarm/channel.h"

#include <gtest/gtest.h>

#include "model/job.h"

namespace forest::alarm {
namespace {

using nlohmann::json;

Channel FromRequest(const std::string& body) {
  auto c = Channel::FromRequest(json::parse(body));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : Channel{};
}

std::string FieldOf(const std::string& body) {
  auto c = Channel::FromRequest(json::parse(body));
  if (!c.ok()) return model::ErrorField(c.status());
  if (c->id.empty()) c->id = "x";
  return model::ErrorField(c->Validate());
}

TEST(ChannelTest, EveryTypeParsesAndValidates) {
  for (
      const char* body : {
          R"({"id":"a","name":"hook","type":"webhook","url":"https://h.example/x","secret":"s",
               "headers":{"X-Api-Key":"k"},"bodyTemplate":"{\"t\":\"{{title}}\"}"})",
          R"({"id":"b","name":"ding","type":"dingtalk",
               "url":"https://oapi.dingtalk.com/robot/send?access_token=t","secret":"SECx"})",
          R"({"id":"c","name":"wecom","type":"wecom",
               "url":"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"})",
          R"({"id":"d","name":"lark","type":"feishu",
               "url":"https://open.feishu.cn/open-apis/bot/v2/hook/h","secret":"f"})",
          R"({"id":"e","name":"slack","type":"slack","url":"https://hooks.slack.com/services/T/B/X"})",
          R"({"id":"f","name":"mail","type":"email","host":"smtp.example.com","port":587,
               "security":"starttls","username":"u","password":"p","from":"forest@example.com",
               "to":["ops@example.com","dev@example.com"]})",
      }) {
    const Channel c = FromRequest(body);
    EXPECT_TRUE(c.Validate().ok()) << body << ": " << c.Validate();
    // The stored document reads back the same.
    const Channel back = Channel::FromJson(c.ToJson()).value();
    EXPECT_EQ(back.ToJson(), c.ToJson());
  }
}

TEST(ChannelTest, ErrorsNameTheField) {
  EXPECT_EQ(FieldOf(R"({"name":"n","url":"https://x/y"})"), "type");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"pager","url":"https://x/y"})"), "type");
  EXPECT_EQ(FieldOf(R"({"type":"webhook","url":"https://x/y"})"), "name");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"webhook"})"), "url");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"webhook","url":"ftp://x/y"})"), "url");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"webhook","url":"https://x/y","headers":{"a b":"v"}})"),
            "headers");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"webhook","url":"https://x/y","template":"{{nope}}"})"),
            "template");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"slack","url":"https://x/y","secret":"s"})"), "secret");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"wecom","url":"https://x/y","headers":{"a":"b"}})"),
            "headers");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"dingtalk","url":"https://x/y","smsGateway":true})"),
            "smsGateway");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"webhook","url":"https://x/y","host":"h"})"), "host");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"webhook","url":"https://x/y","timeoutSeconds":0})"),
            "timeoutSeconds");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"email","from":"a@b.c","to":["d@e.f"]})"), "host");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"email","host":"h","to":["d@e.f"]})"), "from");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"email","host":"h","from":"a@b.c"})"), "to");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"email","host":"h","from":"a@b.c","to":["nobody"]})"),
            "to");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"email","host":"h","from":"a@b.c","to":"d@e.f",
                        "security":"ssl"})"),
            "security");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"email","host":"h","from":"a@b.c","to":"d@e.f",
                        "password":"p"})"),
            "username");
  // A password never goes out in clear.
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"email","host":"h","from":"a@b.c","to":"d@e.f",
                        "security":"none","username":"u","password":"p"})"),
            "security");
  EXPECT_EQ(FieldOf(R"({"name":"n","type":"email","host":"h","from":"a@b.c","to":"d@e.f",
                        "url":"https://x/y"})"),
            "url");
  EXPECT_EQ(FieldOf(R"({"id":"a/b","name":"n","type":"slack","url":"https://x/y"})"), "id");
}

TEST(ChannelTest, AnswersShowWhetherSecretsAreSetNeverTheirValues) {
  const Channel hook = FromRequest(
      R"({"id":"a","name":"hook","type":"webhook","url":"https://user@h.example:8443/p?token=t0k3n",
          "secret":"s3cr3t-value","headers":{"Authorization":"Bearer hdr-s3cr3t"}})");
  const json shown = hook.PublicJson();
  const std::string text = shown.dump();
  for (const char* secret : {"t0k3n", "s3cr3t-value", "hdr-s3cr3t", "/p?"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  }
  EXPECT_EQ(shown["urlSet"], true);
  EXPECT_EQ(shown["urlHost"], "h.example:8443");
  EXPECT_EQ(shown["secretSet"], true);
  EXPECT_EQ(shown["headerNames"], json::array({"Authorization"}));
  EXPECT_EQ(shown["id"], "a");
  EXPECT_EQ(shown["type"], "webhook");

  const Channel mail = FromRequest(
      R"({"id":"m","name":"mail","type":"email","host":"h","username":"u","password":"pw-s3cr3t",
          "from":"a@b.c","to":["d@e.f"]})");
  const json mail_shown = mail.PublicJson();
  EXPECT_EQ(mail_shown.dump().find("pw-s3cr3t"), std::string::npos);
  EXPECT_EQ(mail_shown["passwordSet"], true);
  EXPECT_EQ(mail_shown["username"], "u");
  EXPECT_EQ(mail_shown["to"], json::array({"d@e.f"}));
}

TEST(ChannelTest, PatchKeepsSecretsLeftOutAndClearsOnesGivenEmpty) {
  const Channel hook = FromRequest(
      R"({"id":"a","name":"hook","type":"webhook","url":"https://h/x","secret":"s",
          "headers":{"A":"1","B":"2"}})");
  // An answer sent back as an edit changes nothing it does not name.
  Channel same = hook.Patch(hook.PublicJson()).value();
  EXPECT_EQ(same.url, "https://h/x");
  EXPECT_EQ(same.secret, "s");
  EXPECT_EQ(same.headers, hook.headers);
  EXPECT_FALSE(same.extra.contains("urlSet"));

  const Channel renamed = hook.Patch(json::parse(R"({"name":"renamed"})")).value();
  EXPECT_EQ(renamed.name, "renamed");
  EXPECT_EQ(renamed.secret, "s");

  const Channel cleared =
      hook.Patch(json::parse(R"({"secret":"","headers":{"A":"","C":"3"}})")).value();
  EXPECT_EQ(cleared.secret, "");
  // The headers given are the new set; "" keeps a header's stored value.
  EXPECT_EQ(cleared.headers, (std::map<std::string, std::string>{{"A", "1"}, {"C", "3"}}));

  EXPECT_EQ(model::ErrorField(hook.Patch(json::parse(R"({"type":"slack"})")).status()), "type");
  EXPECT_EQ(model::ErrorField(hook.Patch(json::parse(R"({"id":"b"})")).status()), "id");
}

TEST(ChannelTest, RedactHidesEverySecretInAText) {
  const Channel c = FromRequest(
      R"({"id":"a","name":"n","type":"webhook","url":"https://h.example/hooks/T0K3N?key=K3YV4L",
          "secret":"S3CR3T","headers":{"X":"H34D3R"}})");
  const std::string text = c.Redact(
      "connecting to https://h.example/hooks/T0K3N?key=K3YV4L failed; echo: key=K3YV4L "
      "/hooks/T0K3N S3CR3T H34D3R");
  for (const char* secret : {"T0K3N", "K3YV4L", "S3CR3T", "H34D3R"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
  }
  EXPECT_NE(text.find("connecting to"), std::string::npos);
}

TEST(ChannelTest, SmtpPortDefaultsBySecurity) {
  Channel c;
  c.type = ChannelType::kEmail;
  EXPECT_EQ(c.SmtpPort(), 587);
  c.security = SmtpSecurity::kTls;
  EXPECT_EQ(c.SmtpPort(), 465);
  c.security = SmtpSecurity::kNone;
  EXPECT_EQ(c.SmtpPort(), 25);
  c.port = 2525;
  EXPECT_EQ(c.SmtpPort(), 2525);
}

}  // namespace
}  // namespace forest::alarm
