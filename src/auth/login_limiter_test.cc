#include "auth/login_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace forest::auth::internal {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class LoginLimiterTest : public ::testing::Test {
 protected:
  // Fails a login: admitted, never a success.
  void Fail(const std::string& user, const std::string& address) {
    ASSERT_TRUE(limiter_.Admit(user, address).ok()) << user << " from " << address;
  }
  FakeClock clock_{Time(Millis(1'000'000'000))};
  LoginLimiter limiter_{clock_, 3, minutes(5)};
};

TEST_F(LoginLimiterTest, RefusesAUserFromOneAddressAfterTheLimit) {
  Fail("bob", "10.0.0.1");
  clock_.Advance(seconds(10));
  Fail("bob", "10.0.0.1");
  Fail("bob", "10.0.0.1");
  const absl::Status refused = limiter_.Admit("bob", "10.0.0.1");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  // The first failure leaves the window 290 s from now.
  EXPECT_EQ(refused.message(), "too many failed logins; try again in 290 seconds");
  EXPECT_TRUE(limiter_.Admit("carol", "10.0.0.1").ok());

  clock_.Advance(seconds(289));
  EXPECT_EQ(limiter_.Admit("bob", "10.0.0.1").message(),
            "too many failed logins; try again in 1 second");
  clock_.Advance(seconds(1));
  EXPECT_TRUE(limiter_.Admit("bob", "10.0.0.1").ok());
}

// Regression: five bad logins from anywhere locked the user out everywhere.
TEST_F(LoginLimiterTest, OneClientFailingOnPurposeDoesNotLockTheUserOutElsewhere) {
  for (int i = 0; i < 3; ++i) Fail("admin", "203.0.113.9");
  EXPECT_FALSE(limiter_.Admit("admin", "203.0.113.9").ok());
  EXPECT_TRUE(limiter_.Admit("admin", "10.0.0.1").ok());
}

TEST_F(LoginLimiterTest, RefusesAnAddressAfterFourTimesTheLimitWhateverTheUser) {
  for (int i = 0; i < 12; ++i) Fail("user" + std::to_string(i), "10.0.0.9");
  EXPECT_EQ(limiter_.Admit("someone", "10.0.0.9").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(limiter_.Admit("someone", "10.0.0.8").ok());
  clock_.Advance(minutes(5));
  EXPECT_TRUE(limiter_.Admit("someone", "10.0.0.9").ok());
}

TEST_F(LoginLimiterTest, RefusesAUserEverywhereAfterTenTimesTheLimitFromManyAddresses) {
  for (int i = 0; i < 30; ++i) Fail("bob", "10.1.0." + std::to_string(i));
  EXPECT_EQ(limiter_.Admit("bob", "10.2.0.1").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(limiter_.Admit("carol", "10.2.0.1").ok());
}

// Regression: the check and the count were two steps, so guesses sent
// together all passed the check before any of them was counted.
TEST_F(LoginLimiterTest, ConcurrentGuessesCannotPassTogether) {
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      if (limiter_.Admit("bob", "10.0.0.1").ok()) ++admitted;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 3);
}

TEST_F(LoginLimiterTest, ASuccessClearsOnlyThatUserFromThatAddress) {
  Fail("bob", "10.0.0.1");
  Fail("bob", "10.0.0.1");
  Fail("bob", "10.0.0.2");
  // eve logs in as herself from .1: bob's failures stay.
  ASSERT_TRUE(limiter_.Admit("eve", "10.0.0.1").ok());
  limiter_.RecordSuccess("eve", "10.0.0.1");
  Fail("bob", "10.0.0.1");
  EXPECT_FALSE(limiter_.Admit("bob", "10.0.0.1").ok());
  // bob from .2 succeeds: .1 still refuses him.
  ASSERT_TRUE(limiter_.Admit("bob", "10.0.0.2").ok());
  limiter_.RecordSuccess("bob", "10.0.0.2");
  EXPECT_FALSE(limiter_.Admit("bob", "10.0.0.1").ok());
  // Only a success from .1 clears .1, and the address's count with it.
  clock_.Advance(minutes(5));
  for (int i = 0; i < 11; ++i) Fail("x" + std::to_string(i), "10.0.0.3");
  ASSERT_TRUE(limiter_.Admit("bob", "10.0.0.3").ok());
  limiter_.RecordSuccess("bob", "10.0.0.3");
  EXPECT_TRUE(limiter_.Admit("y", "10.0.0.3").ok());
}

TEST_F(LoginLimiterTest, AWithdrawnAttemptDoesNotCount) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(limiter_.Admit("bob", "10.0.0.1").ok()) << i;
    limiter_.Withdraw("bob", "10.0.0.1");
  }
  Fail("bob", "10.0.0.1");
  Fail("bob", "10.0.0.1");
  EXPECT_TRUE(limiter_.Admit("bob", "10.0.0.1").ok());
  EXPECT_FALSE(limiter_.Admit("bob", "10.0.0.1").ok());
}

TEST_F(LoginLimiterTest, AFloodOfNamesIsForgottenAfterTheWindow) {
  for (int i = 0; i < 20000; ++i) {
    Fail("user" + std::to_string(i), "addr" + std::to_string(i));
  }
  clock_.Advance(minutes(6));
  for (int i = 0; i < 3; ++i) Fail("late", "addr");
  EXPECT_TRUE(limiter_.Admit("user1", "addr1").ok());
  EXPECT_FALSE(limiter_.Admit("late", "addr").ok());
}

}  // namespace
}  // namespace forest::auth::internal
