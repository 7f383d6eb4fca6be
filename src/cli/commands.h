// Internal to src/cli: how each group of subcommands plugs into the app.
#pragma once

#include <CLI/CLI.hpp>

namespace forest::cli {

// Each Add* registers its subcommands on `app`. A subcommand's callback runs
// the command and stores its exit status in `exit_code`.
void AddCronCommands(CLI::App& app, int& exit_code);
void AddServerCommand(CLI::App& app, int& exit_code);
void AddVersionCommand(CLI::App& app, int& exit_code);
void AddWorkerCommand(CLI::App& app, int& exit_code);
// login, job, group, exec, node, plan: clients of a server's HTTP API.
void AddClientCommands(CLI::App& app, int& exit_code);
// `forest worker ls`, under the worker command.
void AddWorkerListCommand(CLI::App& worker, int& exit_code);

}  // namespace forest::cli
