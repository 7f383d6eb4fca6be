// Internal to auth/: the key layout under /forest/auth/ (auth.h lists it),
// the JSON documents stored there, and the session cookie's payload. Pure
// functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/auth.h"
#include "common/status.h"
#include "common/time.h"
#include "coord/store.h"

namespace forest::auth::internal {

std::string SecretKey();
std::string UsersPrefix();
std::string UserKey(std::string_view name);
std::string TokensPrefix();
std::string TokenKey(std::string_view id);
std::string RevokedKey(std::string_view nonce);

// A read of one key, or of every key under a prefix.
coord::RangeRequest ReadKey(std::string key);
coord::RangeRequest ReadPrefix(const std::string& prefix);

// /forest/auth/users/{name}. `generation` is the key's create_revision
// (not stored in the JSON): tokens and sessions carry it, so a user deleted
// and created again under the same name does not inherit them.
struct UserRecord {
  std::string name;
  Role role = Role::kViewer;
  std::string password_hash;  // Argon2id string
  Time created_at;
  Time updated_at;
  bool disabled = false;
  // Bumped by every password change: sessions issued before it end.
  int64_t session_epoch = 0;

  coord::Revision generation = 0;
  coord::Revision mod_revision = 0;

  UserInfo Info() const { return {name, role, disabled, created_at, updated_at}; }
};
std::string ToJson(const UserRecord& user);
// DataLoss for a document that is not a user of ours; the revisions from `kv`.
absl::StatusOr<UserRecord> ParseUser(const coord::KeyValue& kv);

// /forest/auth/tokens/{id}.
struct TokenRecord {
  TokenInfo info;
  std::string hash;                     // SHA-256 of the token text (raw bytes)
  coord::Revision user_generation = 0;  // the user's create_revision
};
std::string ToJson(const TokenRecord& token);
absl::StatusOr<TokenRecord> ParseToken(std::string_view json);

// The token text: "fst_" + 12-character id + "_" + 43-character secret
// (32 bytes, base64url). Parsed by position (the secret may hold '_').
inline constexpr size_t kTokenIdLength = 12;
inline constexpr size_t kTokenSecretBytes = 32;
std::string TokenText(std::string_view id, std::string_view secret);
// The id of a well-formed token text, else nullopt.
std::optional<std::string> TokenIdOf(std::string_view text);

// What a session cookie asserts; signed with the cluster's session key.
struct SessionClaims {
  std::string user;
  coord::Revision user_generation = 0;
  int64_t session_epoch = 0;
  Time issued_at;
  Time expires_at;
  std::string nonce;  // 16 random bytes, base64url: the session's identity
};
// "<base64url(JSON)>.<base64url(HMAC-SHA256(key, first part))>".
std::string SignSession(const SessionClaims& claims, std::string_view key);
// The claims of a cookie whose signature checks under `key` (constant-time),
// else nullopt. Expiry is the caller's to check.
std::optional<SessionClaims> OpenSession(std::string_view cookie, std::string_view key);

}  // namespace forest::auth::internal
