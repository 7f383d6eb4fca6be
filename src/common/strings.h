// Small string helpers on std::string_view.
//
// Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so absl's string functions do not take ours: Forest uses
// Abseil for Status only, fmt for formatting, and these for the rest.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"

namespace forest {

// Between the two string_view types (no copy), for absl containers keyed by
// strings and for Status messages.
inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view FromAbsl(absl::string_view s) { return {s.data(), s.size()}; }

// Splits on `sep`; keeps empty pieces ("a,,b" -> {"a", "", "b"}).
std::vector<std::string_view> Split(std::string_view s, char sep);
// Splits on runs of spaces and tabs; no empty pieces.
std::vector<std::string_view> SplitWhitespace(std::string_view s);
std::string_view Trim(std::string_view s);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix);
bool ContainsIgnoreCase(std::string_view s, char c);

}  // namespace forest
