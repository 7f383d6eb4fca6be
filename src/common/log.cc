#include "common/log.h"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>

namespace forest {
namespace {

std::mutex& NodeMu() {
  static std::mutex mu;
  return mu;
}
std::string& ProcessNode() {
  static std::string node;
  return node;
}

std::string CurrentNode(const LogFields* fields) {
  if (fields != nullptr && !fields->node.empty()) return std::string(fields->node);
  std::lock_guard lock(NodeMu());
  return ProcessNode();
}

void AppendJsonString(spdlog::memory_buf_t& out, std::string_view s) {
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

// A text value, quoted when it would not read back as one word.
void AppendTextValue(spdlog::memory_buf_t& out, std::string_view s) {
  if (!s.empty() && s.find_first_of(" \t\n\"=") == std::string_view::npos) {
    out.append(s);
    return;
  }
  AppendJsonString(out, s);
}

void AppendTimestamp(spdlog::memory_buf_t& out, spdlog::log_clock::time_point t) {
  const auto since = t.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ms);
}

// The text format's tail: " job=.. execution=.. node=..", for the fields
// that are known (%* in the pattern).
class FieldsFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const LogFields* fields = internal::CurrentLogFields();
    const auto add = [&](std::string_view key, std::string_view value) {
      if (value.empty()) return;
      dest.push_back(' ');
      dest.append(key);
      dest.push_back('=');
      AppendTextValue(dest, value);
    };
    if (fields != nullptr) {
      add("job", fields->job);
      add("execution", fields->execution);
    }
    add("node", CurrentNode(fields));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<FieldsFlag>();
  }
};

// One JSON object a line: ts, level, msg, and job, execution, node when known.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    dest.append(std::string_view("{\"ts\":\""));
    AppendTimestamp(dest, msg.time);
    dest.append(std::string_view("\",\"level\":"));
    const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
    AppendJsonString(dest, std::string_view(level.data(), level.size()));
    dest.append(std::string_view(",\"msg\":"));
    AppendJsonString(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    const LogFields* fields = internal::CurrentLogFields();
    const auto add = [&](std::string_view key, std::string_view value) {
      if (value.empty()) return;
      dest.push_back(',');
      AppendJsonString(dest, key);
      dest.push_back(':');
      AppendJsonString(dest, value);
    };
    if (fields != nullptr) {
      add("job", fields->job);
      add("execution", fields->execution);
    }
    add("node", CurrentNode(fields));
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

namespace internal {
const LogFields*& CurrentLogFields() {
  thread_local const LogFields* fields = nullptr;
  return fields;
}
}  // namespace internal

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view format) {
  if (format == "text") return LogFormat::kText;
  if (format == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      fmt::format("unknown log format '{}' (expected text or json)", format));
}

absl::Status InitLogging(std::string_view level, std::string_view format) {
  return InitLogging(level, format, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
}

absl::Status InitLogging(std::string_view level, std::string_view format, spdlog::sink_ptr sink) {
  const spdlog::level::level_enum lvl = spdlog::level::from_str(std::string(level));
  // from_str answers `off` for anything it does not know.
  if (lvl == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(fmt::format(
        "unknown log level '{}' (expected trace, debug, info, warn, error or off)", level));
  }
  ASSIGN_OR_RETURN(const LogFormat parsed, ParseLogFormat(format));
  auto logger = std::make_shared<spdlog::logger>("forest", std::move(sink));
  logger->set_level(lvl);
  if (parsed == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    auto text = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    text->add_flag<FieldsFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v%*");
    logger->set_formatter(std::move(text));
  }
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

void SetLogNode(std::string node) {
  std::lock_guard lock(NodeMu());
  ProcessNode() = std::move(node);
}

}  // namespace forest
