#include "alarm/template.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "model/job.h"

namespace forest::alarm {
namespace {

constexpr std::array<std::string_view, 20> kNames = {
    "kind",       "title", "text",   "jobId",   "jobName", "group",       "executionId",
    "worker",     "node",  "status", "result",  "mobile",  "scheduledAt", "startedAt",
    "finishedAt", "at",    "count",  "firstAt", "lastAt",  "link"};

std::string JsonEscaped(const std::string& value) {
  const std::string quoted =
      nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

// Calls on_text(text) and on_name(name) in order; answers where an unclosed
// "{{" starts (npos when none: then the whole text was walked).
template <typename OnText, typename OnName>
size_t Walk(std::string_view text, OnText on_text, OnName on_name) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("{{", i);
    if (open == std::string_view::npos) {
      on_text(text.substr(i));
      return std::string_view::npos;
    }
    on_text(text.substr(i, open - i));
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return open;
    on_name(Trim(text.substr(open + 2, close - open - 2)));
    i = close + 2;
  }
  return std::string_view::npos;
}

}  // namespace

std::string Render(std::string_view text, const std::map<std::string, std::string>& vars,
                   Escape escape) {
  std::string out;
  const size_t unclosed = Walk(
      text, [&](std::string_view t) { out += t; },
      [&](std::string_view name) {
        const auto it = vars.find(std::string(name));
        if (it == vars.end()) return;
        out += escape == Escape::kJson ? JsonEscaped(it->second) : it->second;
      });
  if (unclosed != std::string_view::npos) out += text.substr(unclosed);
  return out;
}

absl::Status ValidateTemplate(std::string_view text, std::string_view field) {
  std::string unknown;
  const size_t unclosed = Walk(
      text, [](std::string_view) {},
      [&](std::string_view name) {
        if (!unknown.empty()) return;
        bool known = false;
        for (std::string_view n : kNames) known = known || n == name;
        if (!known) unknown = name.empty() ? "{{}}" : std::string(name);
      });
  if (unclosed != std::string_view::npos)
    return model::FieldError(field, "has a '{{' without its '}}'");
  if (!unknown.empty()) {
    return model::FieldError(
        field, fmt::format("'{}' is not a template variable (kind, title, text, jobId, jobName, "
                           "group, executionId, worker, node, status, result, mobile, "
                           "scheduledAt, startedAt, finishedAt, at, count, firstAt, lastAt, "
                           "link)",
                           unknown));
  }
  return absl::OkStatus();
}

}  // namespace forest::alarm
