#include "cli/cli.h"

#include <iostream>

#include "cli/commands.h"
#include "cli/version.h"

namespace forest::cli {

void AddVersionCommand(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("version", "Print the version and build of this binary");
  cmd->callback([&exit_code] {
    std::cout << "forest " << FOREST_VERSION << " (commit " << FOREST_GIT_COMMIT << ", "
              << FOREST_BUILD_TYPE << ", g++ " << __VERSION__ << ")\n";
    exit_code = 0;
  });
}

int Main(int argc, char** argv) {
  CLI::App app("Forest: a distributed job scheduler", "forest");
  app.require_subcommand(1);
  int exit_code = 0;
  AddVersionCommand(app, exit_code);
  AddCronCommands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Prints the help for --help, the message otherwise.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace forest::cli
