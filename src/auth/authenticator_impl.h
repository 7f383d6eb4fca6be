// Internal to auth/: the Authenticator's state, shared by auth.cc
// (sessions, tokens) and users.cc (users, the first admin).
//
// Thread safety: the members are immutable after construction except the
// limiter (locked inside) and the dummy hash (std::call_once); the store is
// thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.h"
#include "auth/login_limiter.h"
#include "auth/records.h"

namespace forest::auth {

class Authenticator::Impl {
 public:
  Impl(coord::Store& store, Clock& clock, AuthOptions options, std::string_view secret);

  // Sessions and tokens (auth.cc).
  absl::StatusOr<Session> Login(std::string_view user, std::string_view password,
                                std::string_view client_address);
  absl::StatusOr<Principal> VerifySession(std::string_view cookie);
  absl::Status Logout(std::string_view cookie);
  absl::StatusOr<std::string> CsrfToken(std::string_view cookie);
  absl::Status CheckCsrf(std::string_view cookie, std::string_view header_value);
  absl::StatusOr<Principal> VerifyBearer(std::string_view header_value);
  absl::StatusOr<NewToken> CreateToken(std::string_view user, std::string_view name);
  absl::StatusOr<std::vector<TokenInfo>> ListTokens(std::string_view user);
  absl::StatusOr<TokenInfo> GetToken(std::string_view id);
  absl::Status RevokeToken(std::string_view id);

  // Users (users.cc).
  absl::StatusOr<AdminBootstrap> EnsureAdmin(std::optional<std::string> password,
                                             const std::string& data_dir);
  absl::StatusOr<UserInfo> CreateUser(std::string_view name, std::string_view password, Role role);
  absl::StatusOr<std::vector<UserInfo>> ListUsers();
  absl::StatusOr<UserInfo> GetUser(std::string_view name);
  absl::StatusOr<UserInfo> UpdateUser(std::string_view name, const UserUpdate& update);
  absl::Status DeleteUser(std::string_view name);

  // The user, or nullopt when absent; DataLoss when corrupt.
  absl::StatusOr<std::optional<internal::UserRecord>> ReadUser(std::string_view name);
  absl::StatusOr<std::vector<internal::UserRecord>> ReadUsers();  // by name
  absl::StatusOr<std::vector<internal::TokenRecord>> ReadTokens();

 private:
  Session Issue(const internal::UserRecord& user);
  std::string Csrf(std::string_view nonce) const;
  // A hash of no one's password, checked when the user does not exist so
  // that a login takes as long either way.
  const std::string& DummyHash();

  coord::Store& store_;
  Clock& clock_;
  const AuthOptions options_;
  const std::string session_key_;  // HMAC keys derived from the cluster secret
  const std::string csrf_key_;
  internal::LoginLimiter limiter_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

}  // namespace forest::auth
