// The original's command line translated to `forest server`, and the
// duration flags' parser.
#include "cli/drop_in.h"

#include <gtest/gtest.h>

namespace forest::cli {
namespace {

using Args = std::vector<std::string>;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(TranslateDropInTest, NoArgumentsRunsTheServer) {
  EXPECT_EQ(TranslateDropIn({}), Args{"server"});
}

TEST(TranslateDropInTest, SingleDashFlagsWithSeparateValues) {
  EXPECT_EQ(TranslateDropIn({"-etcd-endpoints", "127.0.0.1:2379", "-http-address", ":2856",
                             "-db-url", "root:123456@tcp(127.0.0.1:3306)/forest?charset=utf8"}),
            (Args{"server", "--etcd-endpoints=127.0.0.1:2379", "--http-address=:2856",
                  "--db-url=root:123456@tcp(127.0.0.1:3306)/forest?charset=utf8"}));
}

TEST(TranslateDropInTest, SingleDashFlagsWithEqualsValues) {
  EXPECT_EQ(TranslateDropIn({"-etcd-endpoints=a:1,b:2", "-etcd-dailtimeout=3", "-node-id", "n1"}),
            (Args{"server", "--etcd-endpoints=a:1,b:2", "--etcd-dailtimeout=3", "--node-id=n1"}));
}

TEST(TranslateDropInTest, ValuesThatLookLikeFlagsStayValues) {
  EXPECT_EQ(TranslateDropIn({"-http-address", ":2856"}), (Args{"server", "--http-address=:2856"}));
  EXPECT_EQ(TranslateDropIn({"-node-id", "-n1", "-lease-ttl", "-5s"}),
            (Args{"server", "--node-id=-n1", "--lease-ttl=-5s"}));
  EXPECT_EQ(TranslateDropIn({"-etcd-password", "--secret"}),
            (Args{"server", "--etcd-password=--secret"}));
}

TEST(TranslateDropInTest, DoubleDashFlagsAndHelpAfterASingleDashOne) {
  EXPECT_EQ(TranslateDropIn({"-data-dir", "/tmp/x", "--node-id", "n2"}),
            (Args{"server", "--data-dir=/tmp/x", "--node-id=n2"}));
  EXPECT_EQ(TranslateDropIn({"-help"}), (Args{"server", "--help"}));
  EXPECT_EQ(TranslateDropIn({"-node-id", "n1", "-h"}), (Args{"server", "--node-id=n1", "--help"}));
  // A flag with no value left: passed on for CLI11 to report.
  EXPECT_EQ(TranslateDropIn({"-node-id"}), (Args{"server", "--node-id"}));
}

TEST(TranslateDropInTest, LeavesEverythingElseAlone) {
  for (const Args& args :
       {Args{"--help"}, Args{"-h"}, Args{"version"},
        Args{"cron", "next", "*/5 * * * *", "--count", "3"}, Args{"server", "--node-id", "n1"},
        Args{"--version"}, Args{"-5"}, Args{"frobnicate", "-node-id", "x"}}) {
    EXPECT_EQ(TranslateDropIn(args), args);
  }
}

TEST(ParseDurationTest, AcceptsGoDurationsAndBareNumbers) {
  struct Case {
    std::string text;
    milliseconds bare;
    milliseconds want;
  };
  for (const Case& c : std::vector<Case>{
           {"5", seconds(1), seconds(5)},
           {"5", milliseconds(1), milliseconds(5)},
           {"0", seconds(1), milliseconds(0)},
           {"500ms", seconds(1), milliseconds(500)},
           {"5s", seconds(1), seconds(5)},
           {"1.5s", seconds(1), milliseconds(1500)},
           {"2m", seconds(1), seconds(120)},
           {"1h", seconds(1), seconds(3600)},
           {"1m30s", seconds(1), seconds(90)},
           {"1h2m3s4ms", seconds(1), milliseconds(3723004)},
           {"0.25", seconds(1), milliseconds(250)},
       }) {
    const auto got = ParseDuration(c.text, c.bare);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseDurationTest, RejectsEverythingElse) {
  for (const std::string text :
       {"", "abc", "5x", "s", "-5s", "5 s", "1.s.", "5s3", "3 ", ".s", "1d", "99999999h"}) {
    const auto got = ParseDuration(text, seconds(1));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << "'" << text << "'";
  }
  EXPECT_NE(std::string(ParseDuration("abc", seconds(1)).status().message()).find("duration"),
            std::string::npos);
}

}  // namespace
}  // namespace forest::cli
