#include "alarm/config.h"

#include <gtest/gtest.h>

#include "coord/embedded/embedded_store.h"
#include "model/job.h"
#include "model/keys.h"

namespace forest::alarm {
namespace {

using nlohmann::json;

class AlarmConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = coord::EmbeddedStore::Open({}).value();
    config_ = std::make_unique<AlarmConfig>(*store_, clock_);
  }
  Channel Slack(std::string id = "") {
    Channel c = Channel::FromRequest(json{{"name", "ops"},
                                          {"type", "slack"},
                                          {"url", "https://hooks.slack.com/services/T/B/X"}})
                    .value();
    c.id = std::move(id);
    return c;
  }
  void PutGroup(const std::string& name) {
    model::Group g;
    g.name = name;
    ASSERT_TRUE(store_->Put({model::keys::Group(name), g.ToJson(), 0, false}).ok());
  }

  FakeClock clock_{ParseIso8601("2026-01-01T00:00:00Z", TimeZone::Utc()).value()};
  std::unique_ptr<coord::EmbeddedStore> store_;
  std::unique_ptr<AlarmConfig> config_;
};

TEST_F(AlarmConfigTest, ChannelsAreCreatedWithAnIdEditedByVersionAndDeleted) {
  const Channel created = config_->CreateChannel(Slack(), "alice").value();
  EXPECT_EQ(created.id.rfind("ch-", 0), 0u) << created.id;
  EXPECT_EQ(created.version, 1);
  EXPECT_EQ(created.created_by, "alice");
  EXPECT_EQ(created.created_at, clock_.Now());
  EXPECT_EQ(config_->GetChannel(created.id)->url, "https://hooks.slack.com/services/T/B/X");

  const Channel named = config_->CreateChannel(Slack("slack-ops"), "alice").value();
  EXPECT_EQ(named.id, "slack-ops");
  EXPECT_EQ(config_->CreateChannel(Slack("slack-ops"), "bob").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(config_->Channels()->size(), 2u);

  clock_.Advance(std::chrono::seconds(5));
  const Channel edited =
      config_->UpdateChannel("slack-ops", json{{"name", "renamed"}}, 1, "bob").value();
  EXPECT_EQ(edited.name, "renamed");
  EXPECT_EQ(edited.version, 2);
  EXPECT_EQ(edited.updated_by, "bob");
  EXPECT_EQ(edited.url, named.url);  // a secret left out is kept
  EXPECT_EQ(config_->UpdateChannel("slack-ops", json{{"name", "x"}}, 1, "bob").status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(config_->UpdateChannel("nope", json::object(), std::nullopt, "bob").status().code(),
            absl::StatusCode::kNotFound);
  const auto invalid = config_->UpdateChannel("slack-ops", json{{"url", "ftp://x"}}, 2, "bob");
  EXPECT_EQ(model::ErrorField(invalid.status()), "url");

  EXPECT_TRUE(config_->DeleteChannel("slack-ops").ok());
  EXPECT_EQ(config_->DeleteChannel("slack-ops").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(config_->GetChannel("slack-ops").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AlarmConfigTest, RulesNameExistingChannelsAndGroups) {
  ASSERT_TRUE(config_->CreateChannel(Slack("ops"), "alice").ok());
  model::AlarmRule rule;
  rule.on_failure = true;
  rule.channels = std::vector<std::string>{"ops"};
  EXPECT_FALSE(config_->GlobalRule().value().has_value());
  ASSERT_TRUE(config_->PutGlobalRule(rule).ok());
  EXPECT_EQ(config_->GlobalRule().value(), rule);

  model::AlarmRule unknown = rule;
  unknown.channels = std::vector<std::string>{"ops", "ghost"};
  const absl::Status refused = config_->PutGlobalRule(unknown);
  EXPECT_EQ(model::ErrorField(refused), "channels");
  EXPECT_NE(refused.message().find("ghost"), std::string::npos);

  EXPECT_EQ(config_->PutGroupRule("trade", rule).code(), absl::StatusCode::kNotFound);
  PutGroup("trade");
  ASSERT_TRUE(config_->PutGroupRule("trade", rule).ok());
  const AlarmRules all = config_->Rules().value();
  ASSERT_TRUE(all.global.has_value());
  ASSERT_EQ(all.groups.count("trade"), 1u);

  const AlarmSnapshot snapshot = config_->Load().value();
  EXPECT_EQ(snapshot.channels.count("ops"), 1u);
  EXPECT_EQ(snapshot.rules.groups.at("trade"), rule);

  EXPECT_TRUE(config_->DeleteGroupRule("trade").ok());
  EXPECT_EQ(config_->DeleteGroupRule("trade").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(config_->DeleteGlobalRule().ok());
  EXPECT_EQ(config_->DeleteGlobalRule().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace forest::alarm
