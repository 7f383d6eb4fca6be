// Roles, validation, the Authenticator's setup, sessions and tokens (users
// and the first admin are in users.cc).
#include "auth/auth.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <tuple>
#include <utility>
#include <variant>

#include "auth/authenticator_impl.h"
#include "auth/crypto.h"
#include "auth/records.h"
#include "common/strings.h"

namespace forest::auth {
namespace {

using internal::TokenRecord;
using internal::UserRecord;

constexpr char kBadLogin[] = "invalid user name or password";
constexpr char kBadSession[] = "invalid or expired session";
constexpr char kBadToken[] = "invalid or revoked token";
constexpr char kBadCsrf[] = "missing or invalid CSRF token";
constexpr size_t kSecretBytes = 32;
constexpr size_t kNonceBytes = 16;

absl::Status BadSession() { return absl::UnauthenticatedError(kBadSession); }
absl::Status BadToken() { return absl::UnauthenticatedError(kBadToken); }

// The cluster's secret: the one in the store, or a new one put there when
// there is none (the first node to try wins; the others read its secret).
absl::StatusOr<std::string> LoadOrCreateSecret(coord::Store& store) {
  const std::string key = internal::SecretKey();
  const std::string fresh = internal::Base64UrlEncode(internal::RandomBytes(kSecretBytes));
  coord::TxnRequest txn;
  txn.compare.push_back(coord::Compare::Absent(key));
  txn.success.push_back(coord::PutRequest{key, fresh, 0, false});
  txn.failure.push_back(internal::ReadKey(key));
  ASSIGN_OR_RETURN(const coord::TxnResponse response, store.Txn(txn));
  std::string text = fresh;
  if (!response.succeeded) {
    const auto& range = std::get<coord::RangeResponse>(response.responses.at(0));
    if (range.kvs.empty()) return absl::AbortedError("the cluster secret vanished; try again");
    text = range.kvs[0].value;
  }
  std::optional<std::string> secret = internal::Base64UrlDecode(text);
  if (!secret || secret->size() != kSecretBytes) {
    return absl::DataLossError("the cluster secret " + key + " is corrupt");
  }
  return *secret;
}

bool ValidTokenId(std::string_view id) {
  return id.size() == internal::kTokenIdLength &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(uint8_t(c)) != 0; });
}

absl::Status ValidateTokenName(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return absl::InvalidArgumentError("a token name must have 1 to 128 bytes");
  }
  for (char c : name) {
    if (uint8_t(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("a token name may not hold control characters");
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view Name(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

absl::StatusOr<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    if (name == Name(r)) return r;
  }
  return absl::InvalidArgumentError("unknown role; expected viewer, operator or admin");
}

bool Allows(Role have, Role need) { return static_cast<int>(have) >= static_cast<int>(need); }

absl::Status ValidateUserName(std::string_view name) {
  const bool ok =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(uint8_t(c)) != 0 || c == '.' || c == '_' || c == '-';
      });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "a user name must have 1 to 64 characters: letters, digits, '.', '_' or '-'");
}

absl::Status ValidatePassword(std::string_view password) {
  // UTF-8 code points: every byte but the continuation bytes starts one.
  const auto characters = std::count_if(password.begin(), password.end(),
                                        [](char c) { return (uint8_t(c) & 0xC0) != 0x80; });
  if (characters < 8)
    return absl::InvalidArgumentError("a password must have at least 8 characters");
  if (characters > 1024) {
    return absl::InvalidArgumentError("a password must have at most 1024 characters");
  }
  return absl::OkStatus();
}

// --- Authenticator: setup and forwarding -----------------------------------

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(coord::Store& store,
                                                                     Clock& clock,
                                                                     AuthOptions options) {
  if (options.session_ttl <= std::chrono::seconds(0)) {
    return absl::InvalidArgumentError("the session TTL must be positive");
  }
  if (options.max_login_failures <= 0 || options.login_failure_window <= std::chrono::seconds(0)) {
    return absl::InvalidArgumentError("the login failure limit and window must be positive");
  }
  RETURN_IF_ERROR(internal::InitCrypto());
  ASSIGN_OR_RETURN(const std::string secret, LoadOrCreateSecret(store));
  return std::unique_ptr<Authenticator>(
      new Authenticator(std::make_unique<Impl>(store, clock, options, secret)));
}

Authenticator::Authenticator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Authenticator::~Authenticator() = default;

absl::StatusOr<AdminBootstrap> Authenticator::EnsureAdmin(std::optional<std::string> password,
                                                          const std::string& data_dir) {
  return impl_->EnsureAdmin(std::move(password), data_dir);
}
absl::StatusOr<Session> Authenticator::Login(std::string_view user, std::string_view password,
                                             std::string_view client_address) {
  return impl_->Login(user, password, client_address);
}
absl::StatusOr<Principal> Authenticator::VerifySession(std::string_view cookie) {
  return impl_->VerifySession(cookie);
}
absl::Status Authenticator::Logout(std::string_view cookie) { return impl_->Logout(cookie); }
absl::StatusOr<std::string> Authenticator::CsrfToken(std::string_view cookie) {
  return impl_->CsrfToken(cookie);
}
absl::Status Authenticator::CheckCsrf(std::string_view cookie, std::string_view header_value) {
  return impl_->CheckCsrf(cookie, header_value);
}
absl::StatusOr<Principal> Authenticator::VerifyBearer(std::string_view header_value) {
  return impl_->VerifyBearer(header_value);
}
absl::StatusOr<NewToken> Authenticator::CreateToken(std::string_view user, std::string_view name) {
  return impl_->CreateToken(user, name);
}
absl::StatusOr<std::vector<TokenInfo>> Authenticator::ListTokens(std::string_view user) {
  return impl_->ListTokens(user);
}
absl::StatusOr<TokenInfo> Authenticator::GetToken(std::string_view id) {
  return impl_->GetToken(id);
}
absl::Status Authenticator::RevokeToken(std::string_view id) { return impl_->RevokeToken(id); }
absl::StatusOr<UserInfo> Authenticator::CreateUser(std::string_view name, std::string_view password,
                                                   Role role) {
  return impl_->CreateUser(name, password, role);
}
absl::StatusOr<std::vector<UserInfo>> Authenticator::ListUsers() { return impl_->ListUsers(); }
absl::StatusOr<UserInfo> Authenticator::GetUser(std::string_view name) {
  return impl_->GetUser(name);
}
absl::StatusOr<UserInfo> Authenticator::UpdateUser(std::string_view name,
                                                   const UserUpdate& update) {
  return impl_->UpdateUser(name, update);
}
absl::Status Authenticator::DeleteUser(std::string_view name) { return impl_->DeleteUser(name); }

Authenticator::Impl::Impl(coord::Store& store, Clock& clock, AuthOptions options,
                          std::string_view secret)
    : store_(store),
      clock_(clock),
      options_(options),
      // One key per use, so a value made for one purpose never checks as another.
      session_key_(internal::HmacSha256(secret, "forest session signing v1")),
      csrf_key_(internal::HmacSha256(secret, "forest csrf v1")),
      limiter_(clock, options.max_login_failures, options.login_failure_window) {}

const std::string& Authenticator::Impl::DummyHash() {
  std::call_once(dummy_once_, [this] {
    auto hash = internal::HashPassword(internal::RandomAlphanumeric(24));
    if (hash.ok()) dummy_hash_ = *std::move(hash);
  });
  return dummy_hash_;
}

// --- Sessions ---------------------------------------------------------------

std::string Authenticator::Impl::Csrf(std::string_view nonce) const {
  return internal::Base64UrlEncode(internal::HmacSha256(csrf_key_, nonce));
}

Session Authenticator::Impl::Issue(const UserRecord& user) {
  internal::SessionClaims claims;
  claims.user = user.name;
  claims.user_generation = user.generation;
  claims.session_epoch = user.session_epoch;
  claims.issued_at = clock_.Now();
  claims.expires_at = claims.issued_at + options_.session_ttl;
  claims.nonce = internal::Base64UrlEncode(internal::RandomBytes(kNonceBytes));
  Session session;
  session.cookie = internal::SignSession(claims, session_key_);
  session.csrf_token = Csrf(claims.nonce);
  session.principal = {user.name, user.role, Principal::How::kSession, ""};
  session.expires_at = claims.expires_at;
  return session;
}

absl::StatusOr<Session> Authenticator::Impl::Login(std::string_view user, std::string_view password,
                                                   std::string_view client_address) {
  // Bounded keys for the limiter, whatever a client sends.
  const std::string_view limit_user = user.substr(0, 128);
  const std::string_view limit_address = client_address.substr(0, 128);
  // Counted as a failure from here on, so guesses sent together are counted
  // together; a success takes it back.
  RETURN_IF_ERROR(limiter_.Admit(limit_user, limit_address));
  std::optional<UserRecord> found;
  if (ValidateUserName(user).ok()) {
    absl::StatusOr<std::optional<UserRecord>> read = ReadUser(user);
    if (!read.ok()) {
      limiter_.Withdraw(limit_user, limit_address);
      return read.status();
    }
    found = *std::move(read);
  }
  bool ok = false;
  if (found) {
    ok = internal::VerifyPassword(found->password_hash, password) && !found->disabled;
  } else {
    (void)internal::VerifyPassword(DummyHash(), password);
  }
  if (!ok) return absl::UnauthenticatedError(kBadLogin);
  limiter_.RecordSuccess(limit_user, limit_address);
  return Issue(*found);
}

absl::StatusOr<Principal> Authenticator::Impl::VerifySession(std::string_view cookie) {
  const std::optional<internal::SessionClaims> claims = internal::OpenSession(cookie, session_key_);
  if (!claims || clock_.Now() >= claims->expires_at || !ValidateUserName(claims->user).ok()) {
    return BadSession();
  }
  // The user and the logout mark in one read.
  coord::TxnRequest read;
  read.success.push_back(internal::ReadKey(internal::UserKey(claims->user)));
  read.success.push_back(internal::ReadKey(internal::RevokedKey(claims->nonce)));
  ASSIGN_OR_RETURN(const coord::TxnResponse response, store_.Txn(read));
  const auto& user_range = std::get<coord::RangeResponse>(response.responses.at(0));
  const auto& revoked_range = std::get<coord::RangeResponse>(response.responses.at(1));
  if (user_range.kvs.empty() || !revoked_range.kvs.empty()) return BadSession();
  ASSIGN_OR_RETURN(const UserRecord user, internal::ParseUser(user_range.kvs[0]));
  if (user.generation != claims->user_generation || user.session_epoch != claims->session_epoch ||
      user.disabled) {
    return BadSession();
  }
  return Principal{user.name, user.role, Principal::How::kSession, ""};
}

absl::Status Authenticator::Impl::Logout(std::string_view cookie) {
  const std::optional<internal::SessionClaims> claims = internal::OpenSession(cookie, session_key_);
  const Time now = clock_.Now();
  if (!claims || now >= claims->expires_at) return absl::OkStatus();
  // The mark outlives the session by a second, then goes with its lease.
  const auto remaining =
      std::chrono::ceil<std::chrono::seconds>(claims->expires_at - now) + std::chrono::seconds(1);
  ASSIGN_OR_RETURN(const coord::LeaseGrant lease, store_.GrantLease(remaining));
  return store_.Put({internal::RevokedKey(claims->nonce), claims->user, lease.id, false}).status();
}

absl::StatusOr<std::string> Authenticator::Impl::CsrfToken(std::string_view cookie) {
  const std::optional<internal::SessionClaims> claims = internal::OpenSession(cookie, session_key_);
  if (!claims) return BadSession();
  return Csrf(claims->nonce);
}

absl::Status Authenticator::Impl::CheckCsrf(std::string_view cookie,
                                            std::string_view header_value) {
  const std::optional<internal::SessionClaims> claims = internal::OpenSession(cookie, session_key_);
  if (!claims || !internal::ConstantTimeEquals(Csrf(claims->nonce), header_value)) {
    return absl::PermissionDeniedError(kBadCsrf);
  }
  return absl::OkStatus();
}

// --- Tokens -----------------------------------------------------------------

absl::StatusOr<Principal> Authenticator::Impl::VerifyBearer(std::string_view header_value) {
  std::string_view text = Trim(header_value);
  if (StartsWithIgnoreCase(text, "bearer ")) text = Trim(text.substr(7));
  const std::optional<std::string> id = internal::TokenIdOf(text);
  if (!id) return BadToken();
  ASSIGN_OR_RETURN(const coord::RangeResponse range,
                   store_.Range(internal::ReadKey(internal::TokenKey(*id))));
  if (range.kvs.empty()) return BadToken();
  ASSIGN_OR_RETURN(const TokenRecord token, internal::ParseToken(range.kvs[0].value));
  if (!internal::ConstantTimeEquals(token.hash, internal::Sha256(text))) return BadToken();
  ASSIGN_OR_RETURN(const std::optional<UserRecord> user, ReadUser(token.info.user));
  if (!user || user->generation != token.user_generation || user->disabled) return BadToken();
  return Principal{user->name, user->role, Principal::How::kToken, token.info.id};
}

absl::StatusOr<NewToken> Authenticator::Impl::CreateToken(std::string_view user,
                                                          std::string_view name) {
  RETURN_IF_ERROR(ValidateTokenName(name));
  const auto no_user = [&] { return absl::NotFoundError("no user \"" + std::string(user) + "\""); };
  if (!ValidateUserName(user).ok()) return no_user();
  // A new id when one collides (about never, with 62^12 of them).
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(const std::optional<UserRecord> owner, ReadUser(user));
    if (!owner) return no_user();
    const std::string id = internal::RandomAlphanumeric(internal::kTokenIdLength);
    const std::string text =
        internal::TokenText(id, internal::RandomBytes(internal::kTokenSecretBytes));
    TokenRecord record;
    record.info = {id, owner->name, std::string(name), text.substr(text.size() - 4), clock_.Now()};
    record.hash = internal::Sha256(text);
    record.user_generation = owner->generation;
    coord::TxnRequest txn;
    txn.compare.push_back(coord::Compare::Absent(internal::TokenKey(id)));
    txn.compare.push_back(coord::Compare::CreateRevision(
        internal::UserKey(owner->name), coord::Compare::Result::kEqual, owner->generation));
    txn.success.push_back(coord::PutRequest{internal::TokenKey(id), ToJson(record), 0, false});
    ASSIGN_OR_RETURN(const coord::TxnResponse response, store_.Txn(txn));
    if (response.succeeded) return NewToken{record.info, text};
  }
  return absl::AbortedError("could not create a token; try again");
}

absl::StatusOr<std::vector<TokenRecord>> Authenticator::Impl::ReadTokens() {
  const std::string prefix = internal::TokensPrefix();
  ASSIGN_OR_RETURN(const coord::RangeResponse range, store_.Range(internal::ReadPrefix(prefix)));
  std::vector<TokenRecord> tokens;
  for (const coord::KeyValue& kv : range.kvs) {
    ASSIGN_OR_RETURN(TokenRecord token, internal::ParseToken(kv.value));
    tokens.push_back(std::move(token));
  }
  return tokens;
}

absl::StatusOr<std::vector<TokenInfo>> Authenticator::Impl::ListTokens(std::string_view user) {
  ASSIGN_OR_RETURN(const std::vector<TokenRecord> tokens, ReadTokens());
  std::vector<TokenInfo> out;
  for (const TokenRecord& t : tokens) {
    if (user.empty() || t.info.user == user) out.push_back(t.info);
  }
  std::sort(out.begin(), out.end(), [](const TokenInfo& a, const TokenInfo& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return out;
}

absl::StatusOr<TokenInfo> Authenticator::Impl::GetToken(std::string_view id) {
  // The id is not echoed: a caller may have pasted a whole token.
  const auto not_found = [] { return absl::NotFoundError("no such token"); };
  if (!ValidTokenId(id)) return not_found();
  ASSIGN_OR_RETURN(const coord::RangeResponse range,
                   store_.Range(internal::ReadKey(internal::TokenKey(id))));
  if (range.kvs.empty()) return not_found();
  ASSIGN_OR_RETURN(const TokenRecord token, internal::ParseToken(range.kvs[0].value));
  return token.info;
}

absl::Status Authenticator::Impl::RevokeToken(std::string_view id) {
  // The id is not echoed: a caller may have pasted a whole token.
  const auto not_found = [] { return absl::NotFoundError("no such token"); };
  if (!ValidTokenId(id)) return not_found();
  ASSIGN_OR_RETURN(const coord::DeleteResponse deleted,
                   store_.Delete({internal::TokenKey(id), "", false}));
  if (deleted.deleted == 0) return not_found();
  return absl::OkStatus();
}

}  // namespace forest::auth
