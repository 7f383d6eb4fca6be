// Internal to src/model: the JSON reading helpers the documents share.
#pragma once

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "common/time_zone.h"
#include "model/job.h"

namespace forest::model::internal {

using nlohmann::json;

template <typename E, size_t N>
struct EnumNames {
  std::array<std::pair<E, std::string_view>, N> names;

  std::string_view Name(E e) const {
    for (const auto& [value, name] : names) {
      if (value == e) return name;
    }
    return "?";
  }
  std::optional<E> Parse(std::string_view s) const {
    for (const auto& [value, name] : names) {
      if (name == s) return value;
    }
    return std::nullopt;
  }
  std::string List() const {
    std::string out;
    for (const auto& [value, name] : names) out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
  }
};

// Reads the fields of one JSON object, removing each field it reads so that
// what is left at the end is `extra`. Type errors name the field.
class Reader {
 public:
  explicit Reader(json& object) : object_(object) {}

  absl::Status String(const char* field, std::string& out) {
    const auto it = object_.find(field);
    if (it == object_.end() || it->is_null()) return Take(it);
    if (!it->is_string()) return FieldError(field, "expected a string");
    out = it->get<std::string>();
    return Take(it);
  }
  absl::Status Int(const char* field, int64_t& out) {
    const auto it = object_.find(field);
    if (it == object_.end() || it->is_null()) return Take(it);
    if (it->is_number_integer()) {
      out = it->get<int64_t>();
    } else if (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>() &&
               std::abs(it->get<double>()) < 9e15) {
      out = static_cast<int64_t>(it->get<double>());
    } else {
      return FieldError(field, "expected a whole number");
    }
    return Take(it);
  }
  absl::Status Int(const char* field, int& out) {
    int64_t v = out;
    RETURN_IF_ERROR(Int(field, v));
    if (v < INT32_MIN || v > INT32_MAX) return FieldError(field, "number out of range");
    out = static_cast<int>(v);
    return absl::OkStatus();
  }
  absl::Status Bool(const char* field, std::optional<bool>& out) {
    const auto it = object_.find(field);
    if (it == object_.end() || it->is_null()) return Take(it);
    if (!it->is_boolean()) return FieldError(field, "expected true or false");
    out = it->get<bool>();
    return Take(it);
  }
  // The field's value as it is (nullopt when absent or null), taken out.
  absl::Status Raw(const char* field, std::optional<json>& out) {
    const auto it = object_.find(field);
    if (it == object_.end() || it->is_null()) return Take(it);
    out = *it;
    return Take(it);
  }
  absl::Status Double(const char* field, double& out) {
    const auto it = object_.find(field);
    if (it == object_.end() || it->is_null()) return Take(it);
    if (!it->is_number()) return FieldError(field, "expected a number");
    out = it->get<double>();
    return Take(it);
  }
  absl::Status Time(const char* field, std::optional<forest::Time>& out) {
    std::string text;
    RETURN_IF_ERROR(String(field, text));
    if (text.empty()) return absl::OkStatus();
    auto t = ParseIso8601(text, TimeZone::Utc());
    if (!t.ok()) return FieldError(field, std::string(t.status().message()));
    out = *t;
    return absl::OkStatus();
  }
  template <typename E, size_t N>
  absl::Status Enum(const char* field, const EnumNames<E, N>& names, E& out) {
    std::string text;
    RETURN_IF_ERROR(String(field, text));
    if (text.empty()) return absl::OkStatus();
    const std::optional<E> v = names.Parse(text);
    if (!v) return FieldError(field, fmt::format("'{}' is not one of {}", text, names.List()));
    out = *v;
    return absl::OkStatus();
  }
  absl::Status Strings(const char* field, std::vector<std::string>& out) {
    const auto it = object_.find(field);
    if (it == object_.end() || it->is_null()) return Take(it);
    if (!it->is_array()) return FieldError(field, "expected an array of strings");
    for (const json& v : *it) {
      if (!v.is_string()) return FieldError(field, "expected an array of strings");
      out.push_back(v.get<std::string>());
    }
    return Take(it);
  }
  // An object field, read by `read` with a Reader of its own.
  template <typename F>
  absl::Status Object(const char* field, F read) {
    const auto it = object_.find(field);
    if (it == object_.end() || it->is_null()) return Take(it);
    if (!it->is_object()) return FieldError(field, "expected an object");
    json inner = *it;
    Reader r(inner);
    RETURN_IF_ERROR(read(r));
    // Unknown members of a known object are kept too.
    if (!inner.empty()) nested_extra_[field] = inner;
    return Take(it);
  }

  json Rest() {
    json rest = object_;
    for (auto& [field, value] : nested_extra_.items()) rest[field] = value;
    return rest;
  }

 private:
  absl::Status Take(json::iterator it) {
    if (it != object_.end()) object_.erase(it);
    return absl::OkStatus();
  }
  json& object_;
  json nested_extra_ = json::object();
};

// Writes a document; bytes that are not UTF-8 (a process's output, say)
// become U+FFFD instead of throwing.
inline std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

inline absl::StatusOr<json> ParseObject(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("malformed JSON");
  if (!j.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  return j;
}

inline bool HasControlChar(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

inline absl::Status CheckText(std::string_view field, std::string_view value, size_t max) {
  if (value.size() > max) return FieldError(field, fmt::format("longer than {} bytes", max));
  if (HasControlChar(value)) return FieldError(field, "contains a control character");
  return absl::OkStatus();
}

}  // namespace forest::model::internal
