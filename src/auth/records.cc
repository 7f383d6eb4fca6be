#include "auth/records.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/crypto.h"
#include "common/time_zone.h"
#include "model/keys.h"

namespace forest::auth::internal {
namespace {

using nlohmann::json;

std::string AuthPrefix() { return std::string(model::keys::kRoot) + "auth/"; }

// nullopt unless `text` is a JSON object.
std::optional<json> ParseObject(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

bool GetString(const json& j, const char* field, std::string& out) {
  const auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

bool GetInt(const json& j, const char* field, int64_t& out) {
  const auto it = j.find(field);
  if (it == j.end() || !it->is_number_integer()) return false;
  out = it->get<int64_t>();
  return true;
}

bool GetTime(const json& j, const char* field, Time& out) {
  std::string text;
  if (!GetString(j, field, text)) return false;
  auto t = ParseIso8601(text, TimeZone::Utc());
  if (!t.ok()) return false;
  out = *t;
  return true;
}

}  // namespace

std::string SecretKey() { return AuthPrefix() + "secret"; }
std::string UsersPrefix() { return AuthPrefix() + "users/"; }
std::string UserKey(std::string_view name) { return UsersPrefix() + std::string(name); }
std::string TokensPrefix() { return AuthPrefix() + "tokens/"; }
std::string TokenKey(std::string_view id) { return TokensPrefix() + std::string(id); }
std::string RevokedKey(std::string_view nonce) {
  return AuthPrefix() + "revoked/" + std::string(nonce);
}

coord::RangeRequest ReadKey(std::string key) {
  coord::RangeRequest r;
  r.key = std::move(key);
  return r;
}

coord::RangeRequest ReadPrefix(const std::string& prefix) {
  coord::RangeRequest r;
  r.key = prefix;
  r.range_end = coord::PrefixEnd(prefix);
  return r;
}

std::string ToJson(const UserRecord& user) {
  return json{{"name", user.name},
              {"role", Name(user.role)},
              {"password_hash", user.password_hash},
              {"created_at", FormatRfc3339Millis(user.created_at)},
              {"updated_at", FormatRfc3339Millis(user.updated_at)},
              {"disabled", user.disabled},
              {"session_epoch", user.session_epoch}}
      .dump();
}

absl::StatusOr<UserRecord> ParseUser(const coord::KeyValue& kv) {
  const auto bad = [&] { return absl::DataLossError("user record " + kv.key + " is corrupt"); };
  const std::optional<json> j = ParseObject(kv.value);
  if (!j) return bad();
  UserRecord user;
  std::string role;
  if (!GetString(*j, "name", user.name) || !GetString(*j, "role", role) ||
      !GetString(*j, "password_hash", user.password_hash) ||
      !GetTime(*j, "created_at", user.created_at) || !GetTime(*j, "updated_at", user.updated_at) ||
      !GetInt(*j, "session_epoch", user.session_epoch)) {
    return bad();
  }
  const auto disabled = j->find("disabled");
  if (disabled == j->end() || !disabled->is_boolean()) return bad();
  user.disabled = disabled->get<bool>();
  auto parsed_role = ParseRole(role);
  if (!parsed_role.ok()) return bad();
  user.role = *parsed_role;
  user.generation = kv.create_revision;
  user.mod_revision = kv.mod_revision;
  return user;
}

std::string ToJson(const TokenRecord& token) {
  return json{{"id", token.info.id},
              {"user", token.info.user},
              {"name", token.info.name},
              {"hash", Base64UrlEncode(token.hash)},
              {"last4", token.info.last4},
              {"created_at", FormatRfc3339Millis(token.info.created_at)},
              {"user_generation", token.user_generation}}
      .dump();
}

absl::StatusOr<TokenRecord> ParseToken(std::string_view text) {
  const auto bad = [] { return absl::DataLossError("a token record is corrupt"); };
  const std::optional<json> j = ParseObject(text);
  if (!j) return bad();
  TokenRecord token;
  std::string hash;
  if (!GetString(*j, "id", token.info.id) || !GetString(*j, "user", token.info.user) ||
      !GetString(*j, "name", token.info.name) || !GetString(*j, "hash", hash) ||
      !GetString(*j, "last4", token.info.last4) ||
      !GetTime(*j, "created_at", token.info.created_at) ||
      !GetInt(*j, "user_generation", token.user_generation)) {
    return bad();
  }
  std::optional<std::string> raw = Base64UrlDecode(hash);
  if (!raw) return bad();
  token.hash = std::move(*raw);
  return token;
}

std::string TokenText(std::string_view id, std::string_view secret) {
  return "fst_" + std::string(id) + "_" + Base64UrlEncode(secret);
}

std::optional<std::string> TokenIdOf(std::string_view text) {
  constexpr std::string_view kPrefix = "fst_";
  const size_t secret_chars = Base64UrlEncode(std::string(kTokenSecretBytes, '\0')).size();
  if (text.size() != kPrefix.size() + kTokenIdLength + 1 + secret_chars) return std::nullopt;
  if (text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  if (text[kPrefix.size() + kTokenIdLength] != '_') return std::nullopt;
  const std::string_view id = text.substr(kPrefix.size(), kTokenIdLength);
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return std::string(id);
}

std::string SignSession(const SessionClaims& claims, std::string_view key) {
  const std::string payload = Base64UrlEncode(json{
      {"u", claims.user},
      {"g", claims.user_generation},
      {"e", claims.session_epoch},
      {"iat", claims.issued_at.time_since_epoch().count()},
      {"exp", claims.expires_at.time_since_epoch().count()},
      {"n", claims.nonce}}.dump());
  return payload + "." + Base64UrlEncode(HmacSha256(key, payload));
}

std::optional<SessionClaims> OpenSession(std::string_view cookie, std::string_view key) {
  const size_t dot = cookie.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view payload = cookie.substr(0, dot);
  const std::optional<std::string> signature = Base64UrlDecode(cookie.substr(dot + 1));
  if (!signature || !ConstantTimeEquals(*signature, HmacSha256(key, payload))) {
    return std::nullopt;
  }
  const std::optional<std::string> text = Base64UrlDecode(payload);
  if (!text) return std::nullopt;
  const std::optional<json> j = ParseObject(*text);
  if (!j) return std::nullopt;
  SessionClaims claims;
  int64_t issued = 0, expires = 0;
  if (!GetString(*j, "u", claims.user) || !GetInt(*j, "g", claims.user_generation) ||
      !GetInt(*j, "e", claims.session_epoch) || !GetInt(*j, "iat", issued) ||
      !GetInt(*j, "exp", expires) || !GetString(*j, "n", claims.nonce)) {
    return std::nullopt;
  }
  claims.issued_at = Time(Millis(issued));
  claims.expires_at = Time(Millis(expires));
  return claims;
}

}  // namespace forest::auth::internal
