#include "common/gzip.h"

#include <gtest/gtest.h>

#include <string>

namespace forest {
namespace {

TEST(GzipTest, RoundTripsEmptySmallAndLargeData) {
  std::string large;
  for (int i = 0; i < 100000; ++i) large += "{\"id\":\"" + std::to_string(i) + "\"},";
  for (const std::string& data : {std::string(), std::string("hello"), large}) {
    for (int level : {1, 6, 9}) {
      const std::string packed = Gzip(data, level);
      ASSERT_GE(packed.size(), 18u);  // header and trailer
      EXPECT_EQ(packed.substr(0, 2), "\x1f\x8b");
      auto back = Gunzip(packed);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, data);
    }
  }
  EXPECT_LT(Gzip(large).size(), large.size() / 5);
}

TEST(GzipTest, RefusesWhatIsNotOneCompleteStream) {
  const std::string packed = Gzip("some text to pack");
  EXPECT_EQ(Gunzip("plain text").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Gunzip(packed.substr(0, packed.size() - 4)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Gunzip(packed + "trailing").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Gunzip("").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace forest
