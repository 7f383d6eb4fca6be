// The OpenAPI document: openapi/base.json (info, components) with the
// "paths" of every openapi/*.json fragment merged in, parsed once. The
// fragments are compiled in (CMake generates openapi_data.cc from them).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/api.h"

namespace forest::api {

// Generated: the files' texts, base.json first.
extern const std::vector<std::string>& OpenApiFragments();

const std::string& OpenApiDocument() {
  static const std::string document = [] {
    const std::vector<std::string>& fragments = OpenApiFragments();
    nlohmann::json doc = nlohmann::json::parse(fragments.at(0));
    for (size_t i = 1; i < fragments.size(); ++i) {
      const nlohmann::json part = nlohmann::json::parse(fragments[i]);
      for (const auto& [path, item] : part.at("paths").items()) doc["paths"][path] = item;
      if (part.contains("components")) {
        for (const auto& [kind, entries] : part["components"].items()) {
          for (const auto& [name, value] : entries.items()) doc["components"][kind][name] = value;
        }
      }
    }
    return doc.dump(2);
  }();
  return document;
}

}  // namespace forest::api
