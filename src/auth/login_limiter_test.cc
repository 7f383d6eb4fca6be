#include "auth/login_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace forest::auth::internal {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class LoginLimiterTest : public ::testing::Test {
 protected:
  FakeClock clock_{Time(Millis(1'000'000'000))};
  LoginLimiter limiter_{clock_, 3, minutes(5)};
};

TEST_F(LoginLimiterTest, RefusesAUserAfterTheLimitFromAnyAddress) {
  limiter_.RecordFailure("bob", "10.0.0.1");
  clock_.Advance(seconds(10));
  limiter_.RecordFailure("bob", "10.0.0.2");
  EXPECT_TRUE(limiter_.Check("bob", "10.0.0.3").ok());
  limiter_.RecordFailure("bob", "10.0.0.3");
  const absl::Status refused = limiter_.Check("bob", "10.0.0.4");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  // The first failure leaves the window 290 s from now.
  EXPECT_EQ(refused.message(), "too many failed logins; try again in 290 seconds");
  EXPECT_TRUE(limiter_.Check("carol", "10.0.0.4").ok());

  clock_.Advance(seconds(289));
  EXPECT_EQ(limiter_.Check("bob", "10.0.0.4").message(),
            "too many failed logins; try again in 1 second");
  clock_.Advance(seconds(1));
  EXPECT_TRUE(limiter_.Check("bob", "10.0.0.4").ok());
}

TEST_F(LoginLimiterTest, RefusesAnAddressAfterTheLimitWhateverTheUser) {
  limiter_.RecordFailure("a", "10.0.0.9");
  limiter_.RecordFailure("b", "10.0.0.9");
  limiter_.RecordFailure("c", "10.0.0.9");
  EXPECT_EQ(limiter_.Check("d", "10.0.0.9").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(limiter_.Check("d", "10.0.0.8").ok());
  clock_.Advance(minutes(5));
  EXPECT_TRUE(limiter_.Check("d", "10.0.0.9").ok());
}

TEST_F(LoginLimiterTest, ASuccessClearsOnlyThatUserFromThatAddress) {
  limiter_.RecordFailure("bob", "10.0.0.1");
  limiter_.RecordFailure("bob", "10.0.0.1");
  limiter_.RecordFailure("eve", "10.0.0.1");
  ASSERT_FALSE(limiter_.Check("x", "10.0.0.1").ok());
  // eve logs in as herself: her own failure goes, bob's stay.
  limiter_.RecordSuccess("eve", "10.0.0.1");
  EXPECT_TRUE(limiter_.Check("x", "10.0.0.1").ok());
  limiter_.RecordFailure("bob", "10.0.0.1");
  EXPECT_FALSE(limiter_.Check("x", "10.0.0.1").ok());
  EXPECT_FALSE(limiter_.Check("bob", "10.0.0.2").ok());
  limiter_.RecordSuccess("bob", "10.0.0.1");
  EXPECT_TRUE(limiter_.Check("bob", "10.0.0.1").ok());
}

TEST_F(LoginLimiterTest, AFloodOfNamesIsForgottenAfterTheWindow) {
  for (int i = 0; i < 20000; ++i) {
    limiter_.RecordFailure("user" + std::to_string(i), "addr" + std::to_string(i));
  }
  clock_.Advance(minutes(6));
  for (int i = 0; i < 10; ++i) limiter_.RecordFailure("late", "addr");
  EXPECT_TRUE(limiter_.Check("user1", "addr1").ok());
  EXPECT_FALSE(limiter_.Check("late", "elsewhere").ok());
}

}  // namespace
}  // namespace forest::auth::internal
