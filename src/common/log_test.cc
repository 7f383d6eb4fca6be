#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace forest {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void Init(std::string_view format, std::string_view level = "info") {
    out_.str("");
    ASSERT_TRUE(
        InitLogging(level, format, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)).ok());
  }
  void TearDown() override {
    SetLogNode("");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cerr)));
  }
  std::string Out() {
    spdlog::default_logger()->flush();
    return out_.str();
  }
  std::ostringstream out_;
};

TEST_F(LogTest, ParsesFormats) {
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
  EXPECT_FALSE(InitLogging("info", "xml").ok());
  EXPECT_FALSE(InitLogging("loud", "text").ok());
}

TEST_F(LogTest, TextLinesCarryTheKnownFields) {
  Init("text");
  spdlog::info("plain {}", 1);
  LogEvent(spdlog::level::warn, {.job = "j1", .execution = "e1"}, "run {}", "finished");
  SetLogNode("n1");
  LogEvent(spdlog::level::info, {.job = "j2"}, "fired");
  LogEvent(spdlog::level::info, {.node = "other node"}, "elsewhere");
  const std::string out = Out();
  std::istringstream lines(out);
  std::string line;
  std::vector<std::string> all;
  while (std::getline(lines, line)) all.push_back(line);
  ASSERT_EQ(all.size(), 4u) << out;
  EXPECT_TRUE(all[0].ends_with(" info plain 1")) << all[0];
  EXPECT_TRUE(all[1].ends_with(" warning run finished job=j1 execution=e1")) << all[1];
  EXPECT_TRUE(all[2].ends_with(" info fired job=j2 node=n1")) << all[2];
  EXPECT_TRUE(all[3].ends_with(" info elsewhere node=\"other node\"")) << all[3];
  EXPECT_EQ(all[0].size(), std::string("2026-01-01T00:00:30.000Z info plain 1").size());
  EXPECT_EQ(all[0][23], 'Z');
}

TEST_F(LogTest, JsonLinesAreOneObjectEach) {
  Init("json");
  spdlog::info("plain \"quoted\"\nsecond line");
  SetLogNode("n1");
  LogEvent(spdlog::level::err, {.job = "j1", .execution = "e1"}, "failed: {}", 7);
  const std::string out = Out();
  std::istringstream lines(out);
  std::string line;
  std::vector<nlohmann::json> all;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    all.push_back(j);
  }
  ASSERT_EQ(all.size(), 2u) << out;
  EXPECT_EQ(all[0]["msg"], "plain \"quoted\"\nsecond line");
  EXPECT_EQ(all[0]["level"], "info");
  EXPECT_FALSE(all[0].contains("job"));
  EXPECT_FALSE(all[0].contains("node"));
  EXPECT_EQ(all[0]["ts"].get<std::string>().size(), 24u);
  EXPECT_EQ(all[1]["msg"], "failed: 7");
  EXPECT_EQ(all[1]["level"], "error");
  EXPECT_EQ(all[1]["job"], "j1");
  EXPECT_EQ(all[1]["execution"], "e1");
  EXPECT_EQ(all[1]["node"], "n1");
}

TEST_F(LogTest, LevelFiltersBeforeFormatting) {
  Init("json", "warn");
  LogEvent(spdlog::level::info, {.job = "j"}, "quiet");
  spdlog::warn("loud");
  const std::string out = Out();
  EXPECT_EQ(out.find("quiet"), std::string::npos);
  EXPECT_NE(out.find("loud"), std::string::npos);
}

}  // namespace
}  // namespace forest
