#include "cli/yaml.h"

#include <gtest/gtest.h>

namespace forest::cli {
namespace {

using nlohmann::json;

TEST(YamlTest, ReadsJobsAsJson) {
  const auto doc = YamlToJson(R"(
jobs:
  - name: nightly report
    group: trade
    cron: "0 0 2 * * ?"
    status: 1
    retry: {maxAttempts: 3, factor: 1.5}
    tags: [etl, "night"]
    remark: ~
    enabled: true
    id: 123456789012345678901234
)");
  ASSERT_TRUE(doc.ok()) << doc.status();
  const json& job = (*doc)["jobs"][0];
  EXPECT_EQ(job["name"], "nightly report");
  EXPECT_EQ(job["cron"], "0 0 2 * * ?");
  EXPECT_EQ(job["status"], 1);
  EXPECT_EQ(job["retry"]["maxAttempts"], 3);
  EXPECT_DOUBLE_EQ(job["retry"]["factor"].get<double>(), 1.5);
  EXPECT_EQ(job["tags"], json({"etl", "night"}));
  EXPECT_TRUE(job["remark"].is_null());
  EXPECT_EQ(job["enabled"], true);
  EXPECT_EQ(job["id"], "123456789012345678901234");  // too long for a number: kept as text
}

TEST(YamlTest, JsonIsYaml) {
  const auto doc = YamlToJson(R"({"jobs": [{"name": "a", "status": 2}]})");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ((*doc)["jobs"][0]["status"], 2);
}

TEST(YamlTest, ErrorsNameTheLine) {
  const auto bad = YamlToJson("jobs:\n  - name: a\n   group: b\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("line 3"), std::string::npos) << bad.status();
  EXPECT_FALSE(YamlToJson("").ok());
  EXPECT_FALSE(YamlToJson("a: &x 1\nb: *x\n").ok());
}

}  // namespace
}  // namespace forest::cli
