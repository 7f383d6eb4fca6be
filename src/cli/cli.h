// The `forest` command line: one binary, subcommands (CLI11). main() calls
// Main and nothing else.
//
// Exit status: 0 on success, 1 when the command ran but failed (e.g. an
// expression that never fires), 2 on bad usage or bad input.
#pragma once

namespace forest::cli {

int Main(int argc, char** argv);

}  // namespace forest::cli
