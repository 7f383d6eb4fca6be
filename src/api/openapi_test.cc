// Every route the server registers is in the OpenAPI document, with its
// method; and the document is valid JSON of OpenAPI 3.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "coord/embedded/embedded_store.h"

namespace forest::api {
namespace {

TEST(OpenApiTest, DescribesEveryRegisteredRoute) {
  auto store = coord::EmbeddedStore::Open({}).value();
  ApiDeps deps;
  deps.store = store.get();
  Router router;
  AddRoutes(router, deps);
  const nlohmann::json doc = nlohmann::json::parse(OpenApiDocument());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  ASSERT_TRUE(doc["paths"].is_object());
  size_t described = 0;
  for (const RouteInfo& route : router.routes()) {
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    EXPECT_TRUE(doc["paths"].contains(route.pattern)) << route.pattern << " is not documented";
    if (!doc["paths"].contains(route.pattern)) continue;
    EXPECT_TRUE(doc["paths"][route.pattern].contains(method))
        << route.method << " " << route.pattern << " is not documented";
    ++described;
  }
  EXPECT_GT(described, 10u);
  // And nothing documented that is not served.
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      std::string upper = method;
      std::transform(upper.begin(), upper.end(), upper.begin(),
                     [](unsigned char c) { return std::toupper(c); });
      const auto routes = router.routes();
      EXPECT_TRUE(
          std::any_of(routes.begin(), routes.end(),
                      [&](const RouteInfo& r) { return r.pattern == path && r.method == upper; }))
          << upper << " " << path << " is documented but not served";
    }
  }
}

}  // namespace
}  // namespace forest::api
