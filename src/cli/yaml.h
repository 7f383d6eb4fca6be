// Internal to src/cli: YAML (or JSON, which is YAML) documents as JSON, for
// `forest job apply -f`. Plain scalars take YAML 1.2 core types (null,
// true/false, integers that fit 64 bits, floats); quoted ones stay strings.
// Anchors, aliases and tags are refused with the line they are on.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"

namespace forest::cli {

// The first document of `text`; InvalidArgument with line and column.
absl::StatusOr<nlohmann::json> YamlToJson(std::string_view text);

}  // namespace forest::cli
