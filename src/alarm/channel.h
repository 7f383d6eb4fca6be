// An alarm channel: where alarms go and how. Kept in the coordination store
// under /forest/alarm/channel/{id} (config.h), secrets included: whoever
// can read the store's keys can read them, as with every other secret a
// scheduler holds (restrict access to etcd and to the data directory).
//
// Types and their fields (JSON names):
//   every type: id, name, type, enabled (true), template (the message text,
//     template.h; default Event::Text()), timeoutSeconds (10)
//   webhook:  url, secret (HMAC-SHA256 signature header), headers (name ->
//             value), bodyTemplate (the whole JSON body), smsGateway (true:
//             the SMS gateway that jobs' `mobile` field alarms through)
//   dingtalk: url (with its access_token), secret (signing, optional)
//   wecom:    url (with its key: the URL is the secret)
//   feishu:   url (the hook), secret (signing, optional)
//   slack:    url (the incoming webhook: the URL is the secret)
//   email:    host, port (by security: 587, 465, 25), security (starttls,
//             tls, none), username, password, from, to (addresses), caFile,
//             insecureSkipVerify
//
// Secrets (url, secret, header values, password) are write-only through the
// API: PublicJson() shows only that they are set (urlSet, urlHost,
// secretSet, headerNames, passwordSet). An edit (Patch) keeps a secret the
// edit leaves out, and clears one given as "".
//
// Plain values, no I/O. Errors are InvalidArgument naming the field.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time.h"

namespace forest::alarm {

enum class ChannelType { kWebhook, kDingTalk, kWeCom, kFeishu, kSlack, kEmail };
// "webhook", "dingtalk", "wecom", "feishu", "slack", "email".
std::string_view Name(ChannelType type);
std::optional<ChannelType> ParseChannelType(std::string_view name);

enum class SmtpSecurity { kStartTls, kTls, kNone };
std::string_view Name(SmtpSecurity security);

struct Channel {
  std::string id;
  std::string name;
  ChannelType type = ChannelType::kWebhook;
  bool enabled = true;
  std::string text_template;  // "template"
  int timeout_seconds = 10;

  // The webhook types.
  std::string url;
  std::string secret;
  std::map<std::string, std::string> headers;  // webhook only
  std::string body_template;                   // webhook only
  bool sms_gateway = false;                    // webhook only

  // email
  std::string host;
  int port = 0;  // 0: the security's default
  SmtpSecurity security = SmtpSecurity::kStartTls;
  std::string username;
  std::string password;
  std::string from;
  std::vector<std::string> to;
  std::string ca_file;
  bool insecure_skip_verify = false;

  int64_t version = 0;  // +1 on every edit
  std::optional<Time> created_at, updated_at;
  std::string created_by, updated_by;
  nlohmann::json extra = nlohmann::json::object();

  // The stored document (secrets included), and back.
  static absl::StatusOr<Channel> FromJson(std::string_view text);
  std::string ToJson() const;
  // What the API shows: secrets replaced by whether they are set.
  nlohmann::json PublicJson() const;

  // A new channel from an API body (id optional: the caller draws one).
  static absl::StatusOr<Channel> FromRequest(const nlohmann::json& body);
  // This channel with the fields `body` names replaced (secrets left out
  // are kept); type and id cannot change.
  absl::StatusOr<Channel> Patch(const nlohmann::json& body) const;

  absl::Status Validate() const;
  // The port email goes to (port, or the security's default).
  int SmtpPort() const;
  // `text` with every secret of this channel replaced by "***" (for errors
  // that may quote a URL or a response).
  std::string Redact(std::string text) const;
};

}  // namespace forest::alarm
