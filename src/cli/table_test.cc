#include "cli/table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace forest::cli {
namespace {

TEST(TableTest, AlignsColumnsAndCutsLongCells) {
  std::ostringstream out;
  PrintTable(out, {"ID", "NAME"}, {{"1", "日报"}, {"22", std::string(30, 'x')}}, 10);
  EXPECT_EQ(out.str(),
            "ID  NAME\n"
            "1   日报\n"
            "22  xxxxxxx...\n");
}

}  // namespace
}  // namespace forest::cli
