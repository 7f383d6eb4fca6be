// Process-wide logging setup (spdlog). Modules log through spdlog's default
// logger; this sets its level and format once, in main.
#pragma once

#include <string_view>

#include "common/status.h"

namespace forest {

// `level`: trace, debug, info, warn, error, off. InvalidArgument otherwise.
// Logs go to stderr so stdout stays clean for command output.
absl::Status InitLogging(std::string_view level);

}  // namespace forest
