#include "alarm/signing.h"

#include <sodium.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace forest::alarm {
namespace {

void InitOnce() {
  static std::once_flag once;
  // sodium_init only fails without an entropy source, which hashing does not use.
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // never for hashing; a broken libsodium
  });
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view message) {
  InitOnce();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, Bytes(key), key.size());
  crypto_auth_hmacsha256_update(&state, Bytes(message), message.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string Sha256(std::string_view data) {
  InitOnce();
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), Bytes(data), data.size());
  return out;
}

std::string Sha256Hex(std::string_view data) { return Hex(Sha256(data)); }

std::string Base64(std::string_view bytes) {
  InitOnce();
  const size_t size = sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(size, '\0');
  sodium_bin2base64(out.data(), size, Bytes(bytes), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(size - 1);  // the terminating NUL
  return out;
}

std::string Hex(std::string_view bytes) {
  InitOnce();
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), Bytes(bytes), bytes.size());
  out.resize(bytes.size() * 2);
  return out;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  std::string message = std::to_string(unix_seconds);
  message += '.';
  message += body;
  return "sha256=" + Hex(HmacSha256(secret, message));
}

std::string DingTalkSign(std::string_view secret, int64_t unix_millis) {
  const std::string to_sign = std::to_string(unix_millis) + "\n" + std::string(secret);
  return UrlEncode(Base64(HmacSha256(secret, to_sign)));
}

std::string FeishuSign(std::string_view secret, int64_t unix_seconds) {
  const std::string key = std::to_string(unix_seconds) + "\n" + std::string(secret);
  return Base64(HmacSha256(key, ""));
}

}  // namespace forest::alarm
