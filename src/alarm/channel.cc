#include "alarm/channel.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "alarm/template.h"
#include "common/time_zone.h"
#include "model/job.h"

namespace forest::alarm {
namespace {

using model::FieldError;
using nlohmann::json;

constexpr std::array<std::pair<ChannelType, std::string_view>, 6> kTypes{{
    {ChannelType::kWebhook, "webhook"},
    {ChannelType::kDingTalk, "dingtalk"},
    {ChannelType::kWeCom, "wecom"},
    {ChannelType::kFeishu, "feishu"},
    {ChannelType::kSlack, "slack"},
    {ChannelType::kEmail, "email"},
}};

constexpr std::array<std::pair<SmtpSecurity, std::string_view>, 3> kSecurities{{
    {SmtpSecurity::kStartTls, "starttls"},
    {SmtpSecurity::kTls, "tls"},
    {SmtpSecurity::kNone, "none"},
}};

// What answers carry but a document does not keep (a GET answer sent back
// as an edit must not store them).
const std::set<std::string> kAnswerOnly = {"urlSet",      "urlHost",     "secretSet",
                                           "headerNames", "passwordSet", "createdAt",
                                           "updatedAt",   "createdBy",   "updatedBy"};

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

absl::Status Text(std::string_view field, std::string_view value, size_t max) {
  if (value.size() > max) return FieldError(field, fmt::format("longer than {} bytes", max));
  if (HasControl(value)) return FieldError(field, "contains a control character");
  return absl::OkStatus();
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool IsWebhookType(ChannelType t) { return t != ChannelType::kEmail; }

// scheme://[user@]host[:port]/... -> host[:port]; "" when not a URL.
std::string UrlHost(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  return std::string(rest);
}

// Reads one JSON body into `c`: every field it names (a patch names some).
class Fields {
 public:
  Fields(const json& body, Channel& c) : j_(body), c_(c) {}

  absl::Status String(const char* field, std::string& out) {
    const auto it = j_.find(field);
    if (it == j_.end()) return absl::OkStatus();
    if (it->is_null()) {
      out.clear();
    } else if (!it->is_string()) {
      return FieldError(field, "expected a string");
    } else {
      out = it->get<std::string>();
    }
    j_.erase(it);
    return absl::OkStatus();
  }
  // A secret: absent or null keeps it ("" clears it).
  absl::Status Secret(const char* field, std::string& out) {
    const auto it = j_.find(field);
    if (it == j_.end()) return absl::OkStatus();
    if (!it->is_null()) {
      if (!it->is_string()) return FieldError(field, "expected a string");
      out = it->get<std::string>();
    }
    j_.erase(it);
    return absl::OkStatus();
  }
  absl::Status Bool(const char* field, bool& out) {
    const auto it = j_.find(field);
    if (it == j_.end()) return absl::OkStatus();
    if (!it->is_null()) {
      if (!it->is_boolean()) return FieldError(field, "expected true or false");
      out = it->get<bool>();
    }
    j_.erase(it);
    return absl::OkStatus();
  }
  absl::Status Int(const char* field, int& out) {
    const auto it = j_.find(field);
    if (it == j_.end()) return absl::OkStatus();
    if (!it->is_null()) {
      if (!it->is_number_integer()) return FieldError(field, "expected a whole number");
      const int64_t v = it->get<int64_t>();
      if (v < 0 || v > 1000000) return FieldError(field, "number out of range");
      out = static_cast<int>(v);
    }
    j_.erase(it);
    return absl::OkStatus();
  }
  absl::Status Strings(const char* field, std::vector<std::string>& out) {
    const auto it = j_.find(field);
    if (it == j_.end()) return absl::OkStatus();
    out.clear();
    if (it->is_string()) {
      out.push_back(it->get<std::string>());
    } else if (!it->is_null()) {
      if (!it->is_array()) return FieldError(field, "expected an array of strings");
      for (const json& v : *it) {
        if (!v.is_string()) return FieldError(field, "expected an array of strings");
        out.push_back(v.get<std::string>());
      }
    }
    j_.erase(it);
    return absl::OkStatus();
  }
  // Header values are secrets: a header named with a null value is removed,
  // one left out of a patch's object... is removed too (the object is the
  // whole set); a value "" keeps the stored one (so an answer's names can
  // be sent back).
  absl::Status Headers(const char* field, std::map<std::string, std::string>& out) {
    const auto it = j_.find(field);
    if (it == j_.end()) return absl::OkStatus();
    std::map<std::string, std::string> next;
    if (!it->is_null()) {
      if (!it->is_object()) return FieldError(field, "expected an object of names and values");
      for (const auto& [name, value] : it->items()) {
        if (value.is_null()) continue;
        if (!value.is_string()) return FieldError(field, "header values must be strings");
        std::string v = value.get<std::string>();
        if (v.empty()) {
          const auto kept = out.find(name);
          if (kept == out.end()) continue;
          v = kept->second;
        }
        next[name] = std::move(v);
      }
    }
    out = std::move(next);
    j_.erase(it);
    return absl::OkStatus();
  }
  absl::Status Time(const char* field, std::optional<forest::Time>& out) {
    const auto it = j_.find(field);
    if (it == j_.end()) return absl::OkStatus();
    if (it->is_string()) {
      auto t = ParseIso8601(it->get<std::string>(), TimeZone::Utc());
      if (!t.ok()) return FieldError(field, std::string(t.status().message()));
      out = *t;
    }
    j_.erase(it);
    return absl::OkStatus();
  }

  // The shared fields (every document and request).
  absl::Status Common() {
    RETURN_IF_ERROR(String("name", c_.name));
    RETURN_IF_ERROR(Bool("enabled", c_.enabled));
    RETURN_IF_ERROR(String("template", c_.text_template));
    RETURN_IF_ERROR(Int("timeoutSeconds", c_.timeout_seconds));
    RETURN_IF_ERROR(Secret("url", c_.url));
    RETURN_IF_ERROR(Secret("secret", c_.secret));
    RETURN_IF_ERROR(Headers("headers", c_.headers));
    RETURN_IF_ERROR(String("bodyTemplate", c_.body_template));
    RETURN_IF_ERROR(Bool("smsGateway", c_.sms_gateway));
    RETURN_IF_ERROR(String("host", c_.host));
    RETURN_IF_ERROR(Int("port", c_.port));
    std::string security;
    RETURN_IF_ERROR(String("security", security));
    if (!security.empty()) {
      bool found = false;
      for (const auto& [s, name] : kSecurities) {
        if (name == security) {
          c_.security = s;
          found = true;
        }
      }
      if (!found) return FieldError("security", "expected starttls, tls or none");
    }
    RETURN_IF_ERROR(String("username", c_.username));
    RETURN_IF_ERROR(Secret("password", c_.password));
    RETURN_IF_ERROR(String("from", c_.from));
    RETURN_IF_ERROR(Strings("to", c_.to));
    RETURN_IF_ERROR(String("caFile", c_.ca_file));
    return Bool("insecureSkipVerify", c_.insecure_skip_verify);
  }

  json& rest() { return j_; }

 private:
  json j_;
  Channel& c_;
};

absl::Status ReadType(const json& body, ChannelType& out, bool required) {
  const auto it = body.find("type");
  if (it == body.end() || it->is_null()) {
    if (required) {
      return FieldError("type", "required: webhook, dingtalk, wecom, feishu, slack or email");
    }
    return absl::OkStatus();
  }
  if (!it->is_string()) return FieldError("type", "expected a string");
  const auto type = ParseChannelType(it->get<std::string>());
  if (!type) {
    return FieldError("type", fmt::format("'{}' is not one of webhook, dingtalk, wecom, feishu, "
                                          "slack, email",
                                          it->get<std::string>()));
  }
  out = *type;
  return absl::OkStatus();
}

absl::Status CheckAddress(std::string_view field, std::string_view address) {
  RETURN_IF_ERROR(Text(field, address, 254));
  const size_t at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size() ||
      address.find_first_of(" <>,;\"") != std::string_view::npos) {
    return FieldError(field, fmt::format("'{}' is not an e-mail address", address));
  }
  return absl::OkStatus();
}

void Replace(std::string& text, std::string_view what) {
  if (what.size() < 4) return;  // too short to tell from ordinary text
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 3)) {
    text.replace(at, what.size(), "***");
  }
}

}  // namespace

std::string_view Name(ChannelType type) {
  for (const auto& [t, name] : kTypes) {
    if (t == type) return name;
  }
  return "?";
}

std::optional<ChannelType> ParseChannelType(std::string_view name) {
  for (const auto& [t, n] : kTypes) {
    if (n == name) return t;
  }
  return std::nullopt;
}

std::string_view Name(SmtpSecurity security) {
  for (const auto& [s, name] : kSecurities) {
    if (s == security) return name;
  }
  return "?";
}

absl::StatusOr<Channel> Channel::FromJson(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("a channel document is not a JSON object");
  }
  Channel c;
  RETURN_IF_ERROR(ReadType(j, c.type, /*required=*/true));
  Fields f(j, c);
  f.rest().erase("type");
  RETURN_IF_ERROR(f.String("id", c.id));
  RETURN_IF_ERROR(f.Common());
  if (const auto it = f.rest().find("version"); it != f.rest().end()) {
    if (it->is_number_integer()) c.version = it->get<int64_t>();
    f.rest().erase(it);
  }
  RETURN_IF_ERROR(f.Time("createdAt", c.created_at));
  RETURN_IF_ERROR(f.Time("updatedAt", c.updated_at));
  RETURN_IF_ERROR(f.String("createdBy", c.created_by));
  RETURN_IF_ERROR(f.String("updatedBy", c.updated_by));
  c.extra = f.rest();
  return c;
}

std::string Channel::ToJson() const {
  json j = extra.is_object() ? extra : json::object();
  j["id"] = id;
  j["name"] = name;
  j["type"] = std::string(Name(type));
  j["enabled"] = enabled;
  j["template"] = text_template;
  j["timeoutSeconds"] = timeout_seconds;
  if (IsWebhookType(type)) {
    j["url"] = url;
    j["secret"] = secret;
  }
  if (type == ChannelType::kWebhook) {
    j["headers"] = headers;
    j["bodyTemplate"] = body_template;
    j["smsGateway"] = sms_gateway;
  }
  if (type == ChannelType::kEmail) {
    j["host"] = host;
    j["port"] = port;
    j["security"] = std::string(Name(security));
    j["username"] = username;
    j["password"] = password;
    j["from"] = from;
    j["to"] = to;
    j["caFile"] = ca_file;
    j["insecureSkipVerify"] = insecure_skip_verify;
  }
  j["version"] = version;
  if (created_at) j["createdAt"] = FormatRfc3339Millis(*created_at);
  if (updated_at) j["updatedAt"] = FormatRfc3339Millis(*updated_at);
  j["createdBy"] = created_by;
  j["updatedBy"] = updated_by;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json Channel::PublicJson() const {
  json j = json::parse(ToJson());
  for (const char* field : {"url", "secret", "headers", "password"}) j.erase(field);
  if (IsWebhookType(type)) {
    j["urlSet"] = !url.empty();
    j["urlHost"] = UrlHost(url);
    j["secretSet"] = !secret.empty();
  }
  if (type == ChannelType::kWebhook) {
    json names = json::array();
    for (const auto& header : headers) names.push_back(header.first);
    j["headerNames"] = names;
  }
  if (type == ChannelType::kEmail) j["passwordSet"] = !password.empty();
  return j;
}

absl::StatusOr<Channel> Channel::FromRequest(const json& body) {
  if (!body.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  Channel c;
  RETURN_IF_ERROR(ReadType(body, c.type, /*required=*/true));
  Fields f(body, c);
  f.rest().erase("type");
  f.rest().erase("version");
  RETURN_IF_ERROR(f.String("id", c.id));
  RETURN_IF_ERROR(f.Common());
  for (const std::string& field : kAnswerOnly) f.rest().erase(field);
  c.extra = f.rest();
  return c;
}

absl::StatusOr<Channel> Channel::Patch(const json& body) const {
  if (!body.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  Channel c = *this;
  ChannelType given = c.type;
  RETURN_IF_ERROR(ReadType(body, given, /*required=*/false));
  if (given != c.type) return FieldError("type", "a channel's type cannot change");
  Fields f(body, c);
  f.rest().erase("type");
  f.rest().erase("version");
  if (const auto it = f.rest().find("id"); it != f.rest().end()) {
    if (!it->is_string() || it->get<std::string>() != id) {
      return FieldError("id", "a channel's id cannot change");
    }
    f.rest().erase(it);
  }
  RETURN_IF_ERROR(f.Common());
  for (const std::string& field : kAnswerOnly) f.rest().erase(field);
  for (auto& [field, value] : f.rest().items()) c.extra[field] = value;
  return c;
}

absl::Status Channel::Validate() const {
  RETURN_IF_ERROR(model::ValidateKeyName("id", id));
  if (name.empty()) return FieldError("name", "must not be empty");
  RETURN_IF_ERROR(Text("name", name, 128));
  if (text_template.size() > 16384) return FieldError("template", "longer than 16384 bytes");
  RETURN_IF_ERROR(ValidateTemplate(text_template, "template"));
  if (timeout_seconds < 1 || timeout_seconds > 120) {
    return FieldError("timeoutSeconds", "must be between 1 and 120");
  }
  const auto only = [&](bool set, const char* field, std::string_view types) -> absl::Status {
    if (!set) return absl::OkStatus();
    return FieldError(field, fmt::format("only for {} channels", types));
  };
  if (type != ChannelType::kWebhook) {
    RETURN_IF_ERROR(only(!headers.empty(), "headers", "webhook"));
    RETURN_IF_ERROR(only(!body_template.empty(), "bodyTemplate", "webhook"));
    RETURN_IF_ERROR(only(sms_gateway, "smsGateway", "webhook"));
  }
  if (type != ChannelType::kEmail) {
    const bool email_field = !host.empty() || port != 0 || !username.empty() || !password.empty() ||
                             !from.empty() || !to.empty() || !ca_file.empty() ||
                             insecure_skip_verify;
    RETURN_IF_ERROR(only(email_field,
                         !host.empty()       ? "host"
                         : !to.empty()       ? "to"
                         : !from.empty()     ? "from"
                         : !password.empty() ? "password"
                         : !username.empty() ? "username"
                         : port != 0         ? "port"
                         : !ca_file.empty()  ? "caFile"
                                             : "insecureSkipVerify",
                         "email"));
  }
  if (IsWebhookType(type)) {
    if (url.empty()) return FieldError("url", "required");
    if (url.size() > 2048) return FieldError("url", "longer than 2048 bytes");
    if (HasControl(url) || url.find(' ') != std::string::npos) {
      return FieldError("url", "contains spaces or control characters");
    }
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return FieldError("url", "must start with http:// or https://");
    }
    if (UrlHost(url).empty()) return FieldError("url", "has no host");
    if ((type == ChannelType::kWeCom || type == ChannelType::kSlack) && !secret.empty()) {
      return FieldError(
          "secret", fmt::format("{} webhooks are not signed: their URL is the secret", Name(type)));
    }
    RETURN_IF_ERROR(Text("secret", secret, 1024));
  } else {
    RETURN_IF_ERROR(only(!url.empty(), "url", "webhook, dingtalk, wecom, feishu and slack"));
    RETURN_IF_ERROR(only(!secret.empty(), "secret", "webhook, dingtalk and feishu"));
  }
  if (type == ChannelType::kWebhook) {
    if (headers.size() > 32) return FieldError("headers", "more than 32 headers");
    for (const auto& [header, value] : headers) {
      if (!IsToken(header)) {
        return FieldError("headers", fmt::format("'{}' is not a header name", header));
      }
      RETURN_IF_ERROR(Text("headers", value, 4096));
    }
    if (body_template.size() > 65536) return FieldError("bodyTemplate", "longer than 65536 bytes");
    RETURN_IF_ERROR(ValidateTemplate(body_template, "bodyTemplate"));
  }
  if (type == ChannelType::kEmail) {
    if (host.empty()) return FieldError("host", "required");
    RETURN_IF_ERROR(Text("host", host, 255));
    if (host.find_first_of(" /:@") != std::string::npos) {
      return FieldError("host", "a host name or address, without scheme or port");
    }
    if (port > 65535) return FieldError("port", "must be between 1 and 65535 (0: the default)");
    RETURN_IF_ERROR(CheckAddress("from", from));
    if (to.empty()) return FieldError("to", "at least one address");
    if (to.size() > 100) return FieldError("to", "more than 100 addresses");
    for (const std::string& address : to) RETURN_IF_ERROR(CheckAddress("to", address));
    RETURN_IF_ERROR(Text("username", username, 255));
    RETURN_IF_ERROR(Text("password", password, 1024));
    if (!password.empty() && username.empty()) {
      return FieldError("username", "required with a password");
    }
    if (!password.empty() && security == SmtpSecurity::kNone) {
      return FieldError("security", "a password is never sent without TLS: use starttls or tls");
    }
    RETURN_IF_ERROR(Text("caFile", ca_file, 4096));
  }
  return absl::OkStatus();
}

int Channel::SmtpPort() const {
  if (port != 0) return port;
  switch (security) {
    case SmtpSecurity::kStartTls:
      return 587;
    case SmtpSecurity::kTls:
      return 465;
    case SmtpSecurity::kNone:
      break;
  }
  return 25;
}

std::string Channel::Redact(std::string text) const {
  // Longest first, so a secret inside the URL does not leave the rest of it.
  std::vector<std::string> secrets = {url, secret, password};
  if (const size_t host_end =
          url.find('/', url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
      host_end != std::string::npos) {
    const std::string rest = url.substr(host_end);  // path and query: where tokens live
    secrets.push_back(rest);
    secrets.push_back(rest.substr(0, rest.find('?')));
  }
  if (const size_t query = url.find('?'); query != std::string::npos) {
    secrets.push_back(url.substr(query + 1));
  }
  for (const auto& header : headers) secrets.push_back(header.second);
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& s : secrets) Replace(text, s);
  return text;
}

}  // namespace forest::alarm
