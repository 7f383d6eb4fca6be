// Internal to src/cli: aligned text tables for command output.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace forest::cli {

// Prints `headers` and `rows` in columns two spaces apart, each as wide as
// its widest cell (counted in UTF-8 characters); cells longer than
// `max_width` are cut with "...".
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows, size_t max_width = 60);

}  // namespace forest::cli
