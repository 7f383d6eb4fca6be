// Who is calling, and may they: users with roles, API tokens for
// automation, signed browser sessions with a CSRF token, login rate limits,
// and the first admin. The HTTP layer (api/) asks this module and maps its
// Status codes; nothing here knows about HTTP.
//
// Everything durable lives in the coordination store, so every node of a
// cluster sees the same users and tokens and accepts the same sessions:
//   /forest/auth/secret           the cluster secret (32 random bytes,
//                                 base64url; created once, if absent)
//   /forest/auth/users/{name}     a user (JSON; the password as an Argon2id
//                                 string, never the password)
//   /forest/auth/tokens/{id}      an API token (JSON; a SHA-256 of the
//                                 token, never the token)
//   /forest/auth/revoked/{nonce}  a logged-out session, under a lease that
//                                 outlives the session
// Login failures are counted in memory, per node.
//
// Errors: kUnauthenticated for credentials that do not check out (one
// message whatever the reason: a caller learns nothing about which part was
// wrong), kResourceExhausted for a login refused by the rate limit (the
// message says how many seconds to wait), kPermissionDenied for a missing
// or wrong CSRF token, kInvalidArgument for bad names, roles and passwords
// (the message never repeats a password), kNotFound / kAlreadyExists for
// users and tokens, kFailedPrecondition for a change that would leave no
// enabled admin, kAborted when a user kept changing under an update (try
// again), kDataLoss for a stored record that does not parse, and the
// store's codes (kUnavailable...) when it fails.
//
// Nothing here logs, and no error message carries a password, a token or a
// cookie.
//
// Thread safety: every method of Authenticator may be called from any
// thread concurrently. The store is read on every verification (no cache):
// a revoked token, a deleted or disabled user and a logout take effect on
// every node at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/time.h"
#include "coord/store.h"

namespace forest::auth {

// What a caller may do; each role can do what the one below it can.
//   viewer: read jobs, executions, history, statistics;
//   operator: also run, pause, resume and kill;
//   admin: also change jobs and groups, users and everyone's tokens.
enum class Role { kViewer, kOperator, kAdmin };
std::string_view Name(Role role);  // "viewer", "operator", "admin"
// InvalidArgument naming the roles for anything else (case-sensitive).
absl::StatusOr<Role> ParseRole(std::string_view name);
// admin ⊇ operator ⊇ viewer.
bool Allows(Role have, Role need);

// The cookie and header names the browser uses (the API sets and reads them).
inline constexpr std::string_view kSessionCookieName = "forest_session";
inline constexpr std::string_view kCsrfHeaderName = "X-CSRF-Token";

// User names: 1..64 of letters, digits, '.', '_', '-'. Passwords: 8..1024
// characters (counted as UTF-8 code points). InvalidArgument otherwise.
absl::Status ValidateUserName(std::string_view name);
absl::Status ValidatePassword(std::string_view password);

// An authenticated caller.
struct Principal {
  enum class How { kSession, kToken, kAuthOff };
  std::string user;  // "" when authentication is off
  Role role = Role::kViewer;
  How how = How::kSession;
  std::string token_id;  // kToken: the token's id (for audit)

  // Authentication switched off: an anonymous admin.
  static Principal AuthOff() { return {"", Role::kAdmin, How::kAuthOff, ""}; }
};

// A user as the API may print it: no password hash.
struct UserInfo {
  std::string name;
  Role role = Role::kViewer;
  bool disabled = false;
  Time created_at;
  Time updated_at;
};

// Changes to a user; fields left empty stay as they are. A new password
// also ends the user's sessions. Disabling suspends the user's sessions and
// tokens; enabling again restores those not expired, logged out or revoked.
struct UserUpdate {
  std::optional<Role> role;
  std::optional<std::string> password;
  std::optional<bool> disabled;
};

// A token as the API may print it: no secret.
struct TokenInfo {
  std::string id;     // 12 characters of [A-Za-z0-9]; also in the token text
  std::string user;   // whose rights it carries
  std::string name;   // the label its creator gave it
  std::string last4;  // the token's last 4 characters, to recognise it
  Time created_at;
};

// A token just created: `text` ("fst_<id>_<secret>") is shown to its
// creator once and stored nowhere.
struct NewToken {
  TokenInfo info;
  std::string text;
};

// A browser session just issued by Login.
struct Session {
  std::string cookie;      // the value of the kSessionCookieName cookie
  std::string csrf_token;  // what the browser echoes in kCsrfHeaderName
  Principal principal;
  Time expires_at;
};

// What EnsureAdmin did.
struct AdminBootstrap {
  bool created = false;  // false: users existed, or another node won the race
  // When created with a generated password: the password (for the server
  // to print once) and the file holding it.
  std::optional<std::string> generated_password;
  std::string password_file;
};

struct AuthOptions {
  // How long a session lasts from login (no sliding renewal). Positive.
  std::chrono::seconds session_ttl = std::chrono::hours(12);
  // A user with this many failed logins from one address within the window
  // is refused there until the oldest of them leaves it; an address gets 4
  // times as many whatever the users, a user 10 times as many from all
  // addresses together (login_limiter.h). Positive.
  int max_login_failures = 5;
  std::chrono::seconds login_failure_window = std::chrono::minutes(5);
};

class Authenticator {
 public:
  // Initialises libsodium and reads the cluster secret, creating it when
  // absent (the first node to do so wins; the others read its secret).
  // `store` and `clock` are borrowed and must outlive the Authenticator.
  // InvalidArgument for bad options; the store's error when it fails.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(coord::Store& store, Clock& clock,
                                                               AuthOptions options = {});
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // --- Bootstrap --------------------------------------------------------

  // When no user exists, creates "admin" (role admin) with `password`, or
  // with a random one of 24 characters written (with a newline) to
  // `data_dir`/admin-password, a file created with mode 0600 and replacing
  // any older one. With users present it does nothing. Two nodes calling it
  // at once create one admin: the loser does nothing and writes no file.
  // InvalidArgument for a short password; kUnavailable naming the file
  // when it cannot be written (nothing is created then), or when it cannot
  // be moved into place once the admin exists (the error names the
  // temporary file that holds the password).
  absl::StatusOr<AdminBootstrap> EnsureAdmin(std::optional<std::string> password,
                                             const std::string& data_dir);

  // --- Sessions ---------------------------------------------------------

  // Checks the password and issues a session. Unauthenticated ("invalid
  // user name or password") for an unknown user, a wrong password or a
  // disabled user alike, taking as long either way. ResourceExhausted when
  // the user name or `client_address` has too many recent failures (see
  // AuthOptions); a success clears the failures of this user from this
  // address.
  absl::StatusOr<Session> Login(std::string_view user, std::string_view password,
                                std::string_view client_address);
  // The caller of a session cookie: Unauthenticated ("invalid or expired
  // session") unless its signature checks, it has not expired, was not
  // logged out, and its user still exists (the same user, not one
  // re-created under the name), is enabled, and has not changed password
  // since. The role is the user's current one.
  absl::StatusOr<Principal> VerifySession(std::string_view cookie);
  // Ends the session on every node. A cookie that is not a valid session
  // (forged, expired) has nothing to end: OK.
  absl::Status Logout(std::string_view cookie);
  // The CSRF token of a session (as Login returned it), for a page that
  // lost it. Unauthenticated when the cookie's signature does not check.
  absl::StatusOr<std::string> CsrfToken(std::string_view cookie);
  // OK when `header_value` is the CSRF token of the session `cookie`
  // (compared in constant time); PermissionDenied otherwise. Checks only
  // that the two belong together: VerifySession the cookie first.
  absl::Status CheckCsrf(std::string_view cookie, std::string_view header_value);

  // --- Tokens -----------------------------------------------------------

  // `header_value` is the Authorization header ("Bearer fst_...", the
  // scheme case-insensitive) or the bare token. Unauthenticated ("invalid
  // or revoked token") unless the token exists, its hash matches, and its
  // user still exists (the same user) and is enabled.
  absl::StatusOr<Principal> VerifyBearer(std::string_view header_value);
  // A token carrying `user`'s rights. `name`: 1..128 bytes, no control
  // characters (InvalidArgument). NotFound when the user does not exist.
  absl::StatusOr<NewToken> CreateToken(std::string_view user, std::string_view name);
  // Every token of `user`, or of everyone when `user` is empty; by creation
  // time.
  absl::StatusOr<std::vector<TokenInfo>> ListTokens(std::string_view user = "");
  absl::StatusOr<TokenInfo> GetToken(std::string_view id);  // NotFound
  absl::Status RevokeToken(std::string_view id);            // NotFound

  // --- Users ------------------------------------------------------------

  // AlreadyExists when the name is taken.
  absl::StatusOr<UserInfo> CreateUser(std::string_view name, std::string_view password, Role role);
  absl::StatusOr<std::vector<UserInfo>> ListUsers();        // by name
  absl::StatusOr<UserInfo> GetUser(std::string_view name);  // NotFound
  // NotFound; FailedPrecondition when it would leave no enabled admin.
  absl::StatusOr<UserInfo> UpdateUser(std::string_view name, const UserUpdate& update);
  // Deletes the user and revokes their tokens; their sessions stop working.
  // NotFound; FailedPrecondition when it would leave no enabled admin.
  absl::Status DeleteUser(std::string_view name);

 private:
  class Impl;
  explicit Authenticator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::auth
