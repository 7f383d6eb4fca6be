#include "common/log.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace forest {

absl::Status InitLogging(std::string_view level) {
  const spdlog::level::level_enum lvl = spdlog::level::from_str(std::string(level));
  // from_str answers `off` for anything it does not know.
  if (lvl == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(fmt::format(
        "unknown log level '{}' (expected trace, debug, info, warn, error or off)", level));
  }
  auto logger = std::make_shared<spdlog::logger>(
      "forest", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(lvl);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

}  // namespace forest
