// The signatures alarm channels use, over libsodium: HMAC-SHA256, SHA-256,
// base64, hex and URL encoding, and each service's signing scheme.
//
//   webhook:  X-Forest-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))
//             with X-Forest-Timestamp: timestamp (Unix seconds)
//   DingTalk: query timestamp=<ms>&sign=urlencode(base64(HMAC-SHA256(secret,
//             "<ms>\n" + secret)))
//   Feishu:   body "timestamp": "<s>", "sign": base64(HMAC-SHA256(key = "<s>\n" +
//             secret, message = ""))
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace forest::alarm {

// Raw 32-byte digests.
std::string HmacSha256(std::string_view key, std::string_view message);
std::string Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);

std::string Base64(std::string_view bytes);  // RFC 4648, padded
std::string Hex(std::string_view bytes);     // lower case
// RFC 3986: everything but unreserved characters as %XX (upper case).
std::string UrlEncode(std::string_view text);

// "sha256=<hex>" over "<timestamp>.<body>".
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);
// The `sign` query value, URL-encoded.
std::string DingTalkSign(std::string_view secret, int64_t unix_millis);
// The body's `sign` value.
std::string FeishuSign(std::string_view secret, int64_t unix_seconds);

}  // namespace forest::alarm
