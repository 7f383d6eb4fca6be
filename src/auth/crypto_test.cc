// The primitives (crypto.h) and the stored forms (records.h).
#include "auth/crypto.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/records.h"

namespace forest::auth::internal {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

class CryptoTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

TEST_F(CryptoTest, PasswordHashIsArgon2idAndVerifiesOnlyThePassword) {
  auto hash = HashPassword("correct horse");
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_NE(*hash, "correct horse");
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horsE"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
  EXPECT_FALSE(VerifyPassword("not a hash", "correct horse"));
  // A random salt each time.
  EXPECT_NE(*HashPassword("correct horse"), *hash);
}

TEST_F(CryptoTest, HmacSha256MatchesRfc4231) {
  // RFC 4231, test case 2.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(CryptoTest, Base64UrlRoundTripsAndRejectsOtherForms) {
  const std::string bytes = std::string("\xfb\xff\x00\x01", 4);
  const std::string text = Base64UrlEncode(bytes);
  EXPECT_EQ(text, "-_8AAQ");
  EXPECT_EQ(Base64UrlDecode(text), bytes);
  EXPECT_EQ(Base64UrlDecode(""), "");
  EXPECT_EQ(Base64UrlDecode("+/8AAQ"), std::nullopt);    // standard alphabet
  EXPECT_EQ(Base64UrlDecode("-_8AAQ=="), std::nullopt);  // padding
  EXPECT_EQ(Base64UrlDecode("a"), std::nullopt);
}

TEST_F(CryptoTest, RandomValuesHaveTheirSizeAndAlphabet) {
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
  const std::string id = RandomAlphanumeric(200);
  ASSERT_EQ(id.size(), 200u);
  for (char c : id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
}

TEST_F(CryptoTest, ConstantTimeEqualsComparesContentsAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(RecordsTest, TokenTextParsesByPosition) {
  const std::string secret(32, '\xff');  // base64url: underscores
  const std::string text = TokenText("AbCdEfGh1234", secret);
  EXPECT_EQ(text.size(), 4u + 12 + 1 + 43);
  EXPECT_EQ(text.rfind("fst_AbCdEfGh1234_", 0), 0u);
  EXPECT_NE(text.find("___"), std::string::npos);
  EXPECT_EQ(TokenIdOf(text), "AbCdEfGh1234");
  for (const std::string& bad :
       {std::string(""), text.substr(1), "fsx" + text.substr(3), text + "A",
        text.substr(0, 16) + "-" + text.substr(17), "fst_AbCdEfGh12!4" + text.substr(16)}) {
    EXPECT_EQ(TokenIdOf(bad), std::nullopt) << bad;
  }
}

TEST(RecordsTest, SessionSignatureCoversEveryClaim) {
  ASSERT_TRUE(InitCrypto().ok());
  SessionClaims claims;
  claims.user = "alice";
  claims.user_generation = 7;
  claims.session_epoch = 2;
  claims.issued_at = Time(Millis(1000));
  claims.expires_at = Time(Millis(5000));
  claims.nonce = "n0nce";
  const std::string key(32, 'k');
  const std::string cookie = SignSession(claims, key);
  auto opened = OpenSession(cookie, key);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->user, "alice");
  EXPECT_EQ(opened->user_generation, 7);
  EXPECT_EQ(opened->session_epoch, 2);
  EXPECT_EQ(opened->issued_at, claims.issued_at);
  EXPECT_EQ(opened->expires_at, claims.expires_at);
  EXPECT_EQ(opened->nonce, "n0nce");

  EXPECT_EQ(OpenSession(cookie, std::string(32, 'K')), std::nullopt);
  claims.user = "mallory";
  const std::string other = SignSession(claims, key);
  const std::string spliced = other.substr(0, other.find('.')) + cookie.substr(cookie.find('.'));
  EXPECT_EQ(OpenSession(spliced, key), std::nullopt);
  EXPECT_EQ(OpenSession("", key), std::nullopt);
  EXPECT_EQ(OpenSession("abc", key), std::nullopt);
  EXPECT_EQ(OpenSession(cookie + "x", key), std::nullopt);
}

}  // namespace
}  // namespace forest::auth::internal
