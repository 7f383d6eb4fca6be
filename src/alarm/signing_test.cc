// Signatures against values computed independently (Python's hmac, hashlib
// and base64, and RFC 4231's test vectors).
#include "alarm/signing.h"

#include <gtest/gtest.h>

namespace forest::alarm {
namespace {

TEST(SigningTest, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SigningTest, Base64AndUrlEncoding) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(UrlEncode("a+b/c=d e~_.-"), "a%2Bb%2Fc%3Dd%20e~_.-");
  EXPECT_EQ(UrlEncode("\xe4\xb8\xad"), "%E4%B8%AD");
}

TEST(SigningTest, DingTalkSignIsUrlEncodedBase64OfTheHmacOfTimestampAndSecret) {
  EXPECT_EQ(DingTalkSign("SEC0123456789abcdef", 1767225600123),
            "hMcDGhJiDtObVyiB%2BeN64T57tbf88fhdBUXWQ1wX%2B3U%3D");
}

TEST(SigningTest, FeishuSignIsTheHmacOfNothingKeyedWithTimestampAndSecret) {
  EXPECT_EQ(FeishuSign("feishu-secret", 1767225600),
            "hm9QDKjC+ecxOxpTkx3o/E8TJDhB/Fq5pPz6i8mf5Lw=");
}

TEST(SigningTest, WebhookSignatureCoversTimestampAndBody) {
  EXPECT_EQ(WebhookSignature("whsecret", 1767225600, R"({"a":1})"),
            "sha256=5eee6e12afc1a976aacb9cd75ed43681fffe630722f1a1602c3ad2b3471e57ae");
  EXPECT_NE(WebhookSignature("whsecret", 1767225601, R"({"a":1})"),
            WebhookSignature("whsecret", 1767225600, R"({"a":1})"));
}

}  // namespace
}  // namespace forest::alarm
