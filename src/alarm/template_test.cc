#include "alarm/template.h"

#include <gtest/gtest.h>

#include "model/job.h"

namespace forest::alarm {
namespace {

TEST(TemplateTest, FillsPlaceholdersWithOrWithoutSpaces) {
  const std::map<std::string, std::string> vars = {{"jobName", "nightly"}, {"count", "3"}};
  EXPECT_EQ(Render("{{jobName}} failed {{ count }} times", vars), "nightly failed 3 times");
  EXPECT_EQ(Render("no placeholders", vars), "no placeholders");
  EXPECT_EQ(Render("{{group}}|", vars), "|");  // not given: empty
  EXPECT_EQ(Render("left {{ open", vars), "left {{ open");
  EXPECT_EQ(Render("{{count}} then {{ open {{x", vars), "3 then {{ open {{x");
}

TEST(TemplateTest, JsonEscapingKeepsABodyValid) {
  const std::map<std::string, std::string> vars = {{"result", "said \"no\"\nbye\\"}};
  EXPECT_EQ(Render(R"({"r": "{{result}}"})", vars, Escape::kJson),
            R"({"r": "said \"no\"\nbye\\"})");
}

TEST(TemplateTest, ValidationNamesTheFieldAndTheUnknownPlaceholder) {
  EXPECT_TRUE(ValidateTemplate("{{title}} {{ link }}", "template").ok());
  const absl::Status unknown = ValidateTemplate("{{title}} {{jobname}}", "template");
  EXPECT_EQ(model::ErrorField(unknown), "template");
  EXPECT_NE(unknown.message().find("'jobname'"), std::string::npos) << unknown;
  EXPECT_EQ(model::ErrorField(ValidateTemplate("{{title", "bodyTemplate")), "bodyTemplate");
}

}  // namespace
}  // namespace forest::alarm
