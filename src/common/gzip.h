// gzip (RFC 1952) in memory, with zlib: the web UI's files are stored this
// way, and large API answers are sent this way.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace forest {

// `level`: 1 (fastest) to 9 (smallest).
std::string Gzip(std::string_view data, int level = 6);

// DataLoss when `data` is not one complete gzip stream.
absl::StatusOr<std::string> Gunzip(std::string_view data);

}  // namespace forest
