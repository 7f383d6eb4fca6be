#include "alarm/config.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

#include "model/job.h"
#include "model/keys.h"

namespace forest::alarm {
namespace {

std::string ChannelKey(std::string_view id) {
  return std::string(kChannelPrefix) + std::string(id);
}
std::string GroupRuleKey(std::string_view group) {
  return std::string(kGroupRulePrefix) + std::string(group);
}

std::string NewChannelId() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::uniform_int_distribution<int> pick(0, 35);
  std::string id = "ch-";
  for (int i = 0; i < 10; ++i) id += kChars[pick(rd)];
  return id;
}

absl::StatusOr<coord::RangeResponse> Prefix(coord::Store& store, std::string_view prefix) {
  return store.Range(coord::RangeRequest::Prefix(prefix));
}

}  // namespace

AlarmConfig::AlarmConfig(coord::Store& store, Clock& clock) : store_(store), clock_(clock) {}

absl::StatusOr<AlarmSnapshot> AlarmConfig::Load() const {
  ASSIGN_OR_RETURN(const coord::RangeResponse all, Prefix(store_, kAlarmPrefix));
  AlarmSnapshot s;
  for (const coord::KeyValue& kv : all.kvs) {
    const std::string_view key = kv.key;
    if (key.rfind(kChannelPrefix, 0) == 0) {
      auto channel = Channel::FromJson(kv.value);
      if (!channel.ok()) {
        spdlog::warn("alarm: ignoring {}: {}", key, std::string(channel.status().message()));
        continue;
      }
      s.channels[channel->id] = *std::move(channel);
    } else if (key == kGlobalRuleKey || key.rfind(kGroupRulePrefix, 0) == 0) {
      auto rule = model::AlarmRule::FromJsonText(kv.value, "");
      if (!rule.ok()) {
        spdlog::warn("alarm: ignoring {}: {}", key, std::string(rule.status().message()));
        continue;
      }
      if (key == kGlobalRuleKey) {
        s.rules.global = *std::move(rule);
      } else {
        s.rules.groups[std::string(key.substr(kGroupRulePrefix.size()))] = *std::move(rule);
      }
    }
  }
  return s;
}

absl::StatusOr<std::vector<Channel>> AlarmConfig::Channels() const {
  ASSIGN_OR_RETURN(const coord::RangeResponse all, Prefix(store_, kChannelPrefix));
  std::vector<Channel> out;
  for (const coord::KeyValue& kv : all.kvs) {
    auto channel = Channel::FromJson(kv.value);
    if (channel.ok()) out.push_back(*std::move(channel));
  }
  return out;
}

absl::StatusOr<Channel> AlarmConfig::GetChannel(std::string_view id) const {
  ASSIGN_OR_RETURN(const coord::RangeResponse r,
                   store_.Range(coord::RangeRequest::Single(ChannelKey(id))));
  if (r.kvs.empty()) return absl::NotFoundError(fmt::format("no alarm channel '{}'", id));
  return Channel::FromJson(r.kvs.front().value);
}

absl::StatusOr<Channel> AlarmConfig::CreateChannel(Channel channel, std::string_view by) {
  const bool drawn = channel.id.empty();
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (drawn) channel.id = NewChannelId();
    const Time now = clock_.Now();
    channel.version = 1;
    channel.created_at = channel.updated_at = now;
    channel.created_by = channel.updated_by = std::string(by);
    RETURN_IF_ERROR(channel.Validate());
    const std::string key = ChannelKey(channel.id);
    coord::TxnRequest txn;
    txn.compare.push_back(coord::Compare::Absent(key));
    txn.success.push_back(coord::PutRequest{key, channel.ToJson(), 0, false});
    ASSIGN_OR_RETURN(const coord::TxnResponse r, store_.Txn(txn));
    if (r.succeeded) return channel;
    if (!drawn) {
      return absl::AlreadyExistsError(fmt::format("alarm channel '{}' exists", channel.id));
    }
  }
  return absl::AbortedError("could not draw a free channel id");
}

absl::StatusOr<Channel> AlarmConfig::UpdateChannel(std::string_view id, const nlohmann::json& patch,
                                                   std::optional<int64_t> expected_version,
                                                   std::string_view by) {
  const std::string key = ChannelKey(id);
  ASSIGN_OR_RETURN(const coord::RangeResponse r, store_.Range(coord::RangeRequest::Single(key)));
  if (r.kvs.empty()) return absl::NotFoundError(fmt::format("no alarm channel '{}'", id));
  ASSIGN_OR_RETURN(const Channel current, Channel::FromJson(r.kvs.front().value));
  if (expected_version && *expected_version != current.version) {
    return absl::AbortedError(
        fmt::format("alarm channel '{}' is at version {}, not {}: read it again", id,
                    current.version, *expected_version));
  }
  ASSIGN_OR_RETURN(Channel next, current.Patch(patch));
  next.version = current.version + 1;
  next.updated_at = clock_.Now();
  next.updated_by = std::string(by);
  RETURN_IF_ERROR(next.Validate());
  coord::TxnRequest txn;
  txn.compare.push_back(
      coord::Compare::ModRevision(key, coord::Compare::Result::kEqual, r.kvs.front().mod_revision));
  txn.success.push_back(coord::PutRequest{key, next.ToJson(), 0, false});
  ASSIGN_OR_RETURN(const coord::TxnResponse written, store_.Txn(txn));
  if (!written.succeeded) {
    return absl::AbortedError(
        fmt::format("alarm channel '{}' changed meanwhile: read it again", id));
  }
  return next;
}

absl::Status AlarmConfig::DeleteChannel(std::string_view id) {
  return DeleteKey(ChannelKey(id), fmt::format("alarm channel '{}'", id));
}

absl::StatusOr<AlarmRules> AlarmConfig::Rules() const {
  ASSIGN_OR_RETURN(AlarmSnapshot s, Load());
  return std::move(s.rules);
}

absl::StatusOr<std::optional<model::AlarmRule>> AlarmConfig::GlobalRule() const {
  ASSIGN_OR_RETURN(const coord::RangeResponse r,
                   store_.Range(coord::RangeRequest::Single(std::string(kGlobalRuleKey))));
  if (r.kvs.empty()) return std::optional<model::AlarmRule>();
  ASSIGN_OR_RETURN(model::AlarmRule rule, model::AlarmRule::FromJsonText(r.kvs.front().value, ""));
  return std::optional<model::AlarmRule>(std::move(rule));
}

absl::StatusOr<std::optional<model::AlarmRule>> AlarmConfig::GroupRule(
    std::string_view group) const {
  ASSIGN_OR_RETURN(const coord::RangeResponse r,
                   store_.Range(coord::RangeRequest::Single(GroupRuleKey(group))));
  if (r.kvs.empty()) return std::optional<model::AlarmRule>();
  ASSIGN_OR_RETURN(model::AlarmRule rule, model::AlarmRule::FromJsonText(r.kvs.front().value, ""));
  return std::optional<model::AlarmRule>(std::move(rule));
}

absl::Status AlarmConfig::CheckChannels(const model::AlarmRule& rule) const {
  RETURN_IF_ERROR(rule.Validate(""));
  if (!rule.channels) return absl::OkStatus();
  for (const std::string& id : *rule.channels) {
    ASSIGN_OR_RETURN(const coord::RangeResponse r,
                     store_.Range(coord::RangeRequest::Single(ChannelKey(id))));
    if (r.kvs.empty()) return model::FieldError("channels", fmt::format("no channel '{}'", id));
  }
  return absl::OkStatus();
}

absl::Status AlarmConfig::PutRule(const std::string& key, const model::AlarmRule& rule) {
  RETURN_IF_ERROR(CheckChannels(rule));
  coord::PutRequest put;
  put.key = key;
  put.value = rule.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return store_.Put(put).status();
}

absl::Status AlarmConfig::PutGlobalRule(const model::AlarmRule& rule) {
  return PutRule(std::string(kGlobalRuleKey), rule);
}

absl::Status AlarmConfig::PutGroupRule(std::string_view group, const model::AlarmRule& rule) {
  RETURN_IF_ERROR(model::ValidateKeyName("group", group));
  ASSIGN_OR_RETURN(const coord::RangeResponse g,
                   store_.Range(coord::RangeRequest::Single(model::keys::Group(group))));
  if (g.kvs.empty()) return absl::NotFoundError(fmt::format("no group '{}'", group));
  return PutRule(GroupRuleKey(group), rule);
}

absl::Status AlarmConfig::DeleteGlobalRule() {
  return DeleteKey(std::string(kGlobalRuleKey), "global alarm rule");
}

absl::Status AlarmConfig::DeleteGroupRule(std::string_view group) {
  return DeleteKey(GroupRuleKey(group), fmt::format("alarm rule of group '{}'", group));
}

absl::Status AlarmConfig::DeleteKey(const std::string& key, std::string_view what) {
  coord::DeleteRequest del;
  del.key = key;
  ASSIGN_OR_RETURN(const coord::DeleteResponse r, store_.Delete(del));
  if (r.deleted == 0) return absl::NotFoundError(fmt::format("no {}", what));
  return absl::OkStatus();
}

}  // namespace forest::alarm
