// Internal to auth/: the few primitives the module needs, over libsodium.
// Byte strings travel in std::string. Call InitCrypto() (idempotent,
// thread-safe) before any other function; Authenticator::Create does.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace forest::auth::internal {

// Internal when libsodium cannot initialise (no entropy source).
absl::Status InitCrypto();

// `n` bytes from the system's CSPRNG.
std::string RandomBytes(size_t n);
// `n` characters drawn uniformly from [A-Za-z0-9].
std::string RandomAlphanumeric(size_t n);

// RFC 4648 base64url without padding; Decode answers nullopt for anything
// else (padding, other alphabets, bad trailing bits).
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Raw 32-byte digests.
std::string HmacSha256(std::string_view key, std::string_view message);
std::string Sha256(std::string_view data);

// Equal contents, in time independent of where they differ (the length is
// not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// An Argon2id string ("$argon2id$v=19$m=...") with libsodium's interactive
// limits and a random salt. ResourceExhausted when memory is short.
absl::StatusOr<std::string> HashPassword(std::string_view password);
// Whether `password` matches `hash` (false for a malformed hash).
bool VerifyPassword(std::string_view hash, std::string_view password);

}  // namespace forest::auth::internal
