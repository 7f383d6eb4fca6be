#include "cli/yaml.h"

#include <fmt/format.h>
#include <yaml.h>

#include <charconv>
#include <cmath>
#include <memory>
#include <regex>
#include <vector>

namespace forest::cli {
namespace {

nlohmann::json Scalar(const yaml_event_t& e) {
  const std::string text(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
  if (e.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return text;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (std::regex_match(text, kInt)) {
    int64_t v = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size()) return v;
    return text;  // too large for a number: kept as written
  }
  if (std::regex_match(text, kFloat)) return std::stod(text);
  return text;
}

}  // namespace

absl::StatusOr<nlohmann::json> YamlToJson(std::string_view text) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return absl::InternalError("cannot start the YAML parser");
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> guard(&parser, yaml_parser_delete);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  // The containers being filled, and for mappings the key waiting for its value.
  struct Frame {
    nlohmann::json value;
    std::optional<std::string> key;
  };
  std::vector<Frame> stack;
  std::optional<nlohmann::json> result;
  auto add = [&](nlohmann::json v, const yaml_event_t& e) -> absl::Status {
    if (stack.empty()) {
      result = std::move(v);
      return absl::OkStatus();
    }
    Frame& top = stack.back();
    if (top.value.is_array()) {
      top.value.push_back(std::move(v));
    } else if (!top.key) {
      if (!v.is_string() && !v.is_number() && !v.is_boolean()) {
        return absl::InvalidArgumentError(
            fmt::format("line {}: a mapping key must be a scalar", e.start_mark.line + 1));
      }
      top.key = v.is_string() ? v.get<std::string>() : v.dump();
    } else {
      top.value[*top.key] = std::move(v);
      top.key.reset();
    }
    return absl::OkStatus();
  };
  for (;;) {
    yaml_event_t e;
    if (!yaml_parser_parse(&parser, &e)) {
      return absl::InvalidArgumentError(
          fmt::format("not valid YAML or JSON: line {}, column {}: {}",
                      parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                      parser.problem != nullptr ? parser.problem : "syntax error"));
    }
    std::unique_ptr<yaml_event_t, void (*)(yaml_event_t*)> event(&e, yaml_event_delete);
    absl::Status s;
    switch (e.type) {
      case YAML_STREAM_END_EVENT:
      case YAML_DOCUMENT_END_EVENT:
        if (result || e.type == YAML_STREAM_END_EVENT) {
          if (!result) return absl::InvalidArgumentError("the document is empty");
          return *result;
        }
        break;
      case YAML_ALIAS_EVENT:
        return absl::InvalidArgumentError(
            fmt::format("line {}: aliases are not supported", e.start_mark.line + 1));
      case YAML_SCALAR_EVENT:
        if (e.data.scalar.anchor != nullptr) {
          return absl::InvalidArgumentError(
              fmt::format("line {}: anchors are not supported", e.start_mark.line + 1));
        }
        s = add(Scalar(e), e);
        break;
      case YAML_SEQUENCE_START_EVENT:
        stack.push_back({nlohmann::json::array(), std::nullopt});
        break;
      case YAML_MAPPING_START_EVENT:
        stack.push_back({nlohmann::json::object(), std::nullopt});
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        nlohmann::json done = std::move(stack.back().value);
        stack.pop_back();
        s = add(std::move(done), e);
        break;
      }
      default:
        break;
    }
    if (!s.ok()) return s;
  }
}

}  // namespace forest::cli
