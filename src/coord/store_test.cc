#include "coord/store.h"

#include <gtest/gtest.h>

namespace forest::coord {
namespace {

TEST(PrefixEndTest, IncrementsTheLastByte) {
  EXPECT_EQ(PrefixEnd("/forest/client/"), "/forest/client0");
  EXPECT_EQ(PrefixEnd("a"), "b");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("a\xfe\xff", 3)), std::string("a\xff", 2));
}

TEST(PrefixEndTest, WithNothingToIncrementSelectsEveryKey) {
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST(CompareTest, FactoriesFillTheRightTarget) {
  const Compare v = Compare::Value("k", Compare::Result::kNotEqual, "x");
  EXPECT_EQ(v.target, Compare::Target::kValue);
  EXPECT_EQ(v.result, Compare::Result::kNotEqual);
  EXPECT_EQ(v.value, "x");
  const Compare absent = Compare::Absent("k");
  EXPECT_EQ(absent.target, Compare::Target::kCreateRevision);
  EXPECT_EQ(absent.result, Compare::Result::kEqual);
  EXPECT_EQ(absent.number, 0);
  EXPECT_EQ(Compare::ModRevision("k", Compare::Result::kLess, 7).number, 7);
  EXPECT_EQ(Compare::Lease("k", Compare::Result::kEqual, 9).target, Compare::Target::kLease);
  EXPECT_EQ(Compare::Version("k", Compare::Result::kGreater, 2).target, Compare::Target::kVersion);
}

}  // namespace
}  // namespace forest::coord
