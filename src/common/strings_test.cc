#include "common/strings.h"

#include <gtest/gtest.h>

namespace forest {
namespace {

using Views = std::vector<std::string_view>;

TEST(StringsTest, SplitKeepsEmptyPieces) {
  EXPECT_EQ(Split("a,,b", ','), (Views{"a", "", "b"}));
  EXPECT_EQ(Split("", ','), (Views{""}));
  EXPECT_EQ(Split("a,", ','), (Views{"a", ""}));
}

TEST(StringsTest, SplitWhitespaceDropsRuns) {
  EXPECT_EQ(SplitWhitespace("  0 \t*/5  * "), (Views{"0", "*/5", "*"}));
  EXPECT_TRUE(SplitWhitespace(" \t ").empty());
}

TEST(StringsTest, TrimAndJoin) {
  EXPECT_EQ(Trim("\t x y \n"), "x y");
  EXPECT_EQ(Join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(Join({}, ","), "");
}

TEST(StringsTest, CaseInsensitiveComparisons) {
  EXPECT_TRUE(EqualsIgnoreCase("Mon", "MON"));
  EXPECT_FALSE(EqualsIgnoreCase("Mon", "MONDAY"));
  EXPECT_TRUE(StartsWithIgnoreCase("l-3", "L-"));
  EXPECT_TRUE(EndsWithIgnoreCase("15w", "W"));
  EXPECT_FALSE(EndsWithIgnoreCase("", "W"));
  EXPECT_TRUE(ContainsIgnoreCase("lw", 'W'));
}

}  // namespace
}  // namespace forest
