// The forest binary: every subcommand lives in src/cli.
#include "cli/cli.h"

int main(int argc, char** argv) { return forest::cli::Main(argc, argv); }
