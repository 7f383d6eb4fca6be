#include "cli/cli.h"

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/drop_in.h"
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
  // A peer that closes its end (an HTTP client gone mid-answer, a server
  // gone mid-request) is an error on that write, not the end of the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app("Forest: a distributed job scheduler", "forest");
  app.require_subcommand(1);
  int exit_code = 0;
  AddVersionCommand(app, exit_code);
  AddCronCommands(app, exit_code);
  AddServerCommand(app, exit_code);
  AddWorkerCommand(app, exit_code);
  AddClientCommands(app, exit_code);
  // The original's command line (no subcommand, `-flag value`) runs `server`.
  std::vector<std::string> args =
      TranslateDropIn(std::vector<std::string>(argv + (argc > 0 ? 1 : 0), argv + argc));
  std::vector<const char*> translated{argc > 0 ? argv[0] : "forest"};
  for (const std::string& a : args) translated.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(translated.size()), translated.data());
  } catch (const CLI::ParseError& e) {
    // Prints the help for --help, the message otherwise.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace forest::cli
