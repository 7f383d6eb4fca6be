#include "cli/drop_in.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>

namespace forest::cli {
namespace {

bool IsLetter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// `-name...` (not `-h`, `--name` or `-5`).
bool IsSingleDashLongFlag(std::string_view a) {
  return a.size() >= 3 && a[0] == '-' && IsLetter(a[1]);
}

// `-name...` or `--name...`.
bool IsFlag(std::string_view a) {
  if (a.size() >= 2 && a[0] == '-' && IsLetter(a[1])) return true;
  return a.size() >= 3 && a[0] == '-' && a[1] == '-' && IsLetter(a[2]);
}

}  // namespace

std::vector<std::string> TranslateDropIn(std::vector<std::string> args) {
  if (args.empty()) return {"server"};
  if (!IsSingleDashLongFlag(args.front())) return args;
  std::vector<std::string> out{"server"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {  // Go's end of flags: the rest as it is
      out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (!IsFlag(a)) {
      out.push_back(a);
      continue;
    }
    const std::string name = a.substr(a[1] == '-' ? 2 : 1);
    if (name.find('=') != std::string::npos) {
      out.push_back("--" + name);
    } else if (name == "h" || name == "help") {
      out.push_back("--help");
    } else if (i + 1 < args.size()) {
      // Joined, so a value that starts with '-' stays a value.
      out.push_back("--" + name + "=" + args[++i]);
    } else {
      out.push_back("--" + name);  // CLI11 reports the missing value
    }
  }
  return out;
}

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text,
                                                        std::chrono::milliseconds bare_unit) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not a duration (expected e.g. 5s, 500ms, 1m30s, or a number of {})",
                    text, bare_unit == std::chrono::seconds(1) ? "seconds" : "milliseconds"));
  };
  if (text.empty()) return bad();
  long double total = 0;  // milliseconds
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    size_t digits = i - start;
    long double value = 0;
    for (size_t k = start; k < i; ++k) value = value * 10 + (text[k] - '0');
    if (i < text.size() && text[i] == '.') {
      ++i;
      long double scale = 0.1L;
      for (; i < text.size() && IsDigit(text[i]); ++i, scale /= 10) {
        value += (text[i] - '0') * scale;
        ++digits;
      }
    }
    if (digits == 0) return bad();
    const size_t unit_start = i;
    while (i < text.size() && IsLetter(text[i])) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    long double unit_ms;
    if (unit.empty()) {
      // A bare number: only as the whole text.
      if (start != 0 || i != text.size()) return bad();
      unit_ms = static_cast<long double>(bare_unit.count());
    } else if (unit == "ms") {
      unit_ms = 1;
    } else if (unit == "s") {
      unit_ms = 1000;
    } else if (unit == "m") {
      unit_ms = 60000;
    } else if (unit == "h") {
      unit_ms = 3600000;
    } else {
      return bad();
    }
    total += value * unit_ms;
  }
  // Ten years is more than any timeout here means.
  if (total > 3.2e11L) return bad();
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(total)));
}

}  // namespace forest::cli
