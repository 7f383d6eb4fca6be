// Internal to src/cli: the original's command line, kept working.
//
// The Go binary took no subcommand and Go-style flags with one dash:
// `forest -etcd-endpoints 127.0.0.1:2379 -http-address :2856 -db-url '...'`
// (also `-flag=value`). Run that way, or with no arguments at all, `forest`
// starts the server, as the original did.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace forest::cli {

// `args` without the program name. No arguments -> {"server"}. When the
// first argument is a single-dash long flag (`-name`, `-name=value`; not
// `-h`, not `--name`), answers "server" followed by the arguments with each
// flag written `--name=value` (the next argument is the value of a flag
// without `=`, whatever it looks like; `-h`/`-help` become `--help`).
// Anything else is returned as it is.
std::vector<std::string> TranslateDropIn(std::vector<std::string> args);

// A duration as Go writes them ("500ms", "5s", "1m30s", "1.5h") or a bare
// number of `bare_unit` ("5"). Units: ms, s, m, h. InvalidArgument on
// anything else, negative values included.
absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text,
                                                        std::chrono::milliseconds bare_unit);

}  // namespace forest::cli
