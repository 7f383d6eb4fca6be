// `forest cron next` and `forest cron explain`: the cron engine from the shell.

#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "common/clock.h"
#include "common/strings.h"
#include "cron/cron.h"

namespace forest::cli {
namespace {

struct CronArgs {
  std::vector<std::string> words;  // the expression; quoted or not
  std::string from;
  int count = 5;
  std::string tz = "UTC";
  std::string dialect = "forest";
};

void AddCommonOptions(CLI::App* cmd, CronArgs& args) {
  cmd->add_option("expression", args.words, "The cron expression (quote it)")->required();
  cmd->add_option("--from", args.from,
                  "Start instant, ISO-8601 (default: now); without an offset it is a wall time in "
                  "the expression's zone");
  cmd->add_option("--count", args.count, "How many fire times")->check(CLI::Range(1, 100000));
  cmd->add_option("--tz", args.tz, "IANA time zone of the wall times (a CRON_TZ= prefix wins)");
  cmd->add_option("--dialect", args.dialect, "forest or quartz")
      ->check(CLI::IsMember({"forest", "quartz"}));
}

// Parses the expression and the start instant; on bad input prints the error
// and answers nullopt.
struct Loaded {
  cron::Schedule schedule;
  Time from;
};
std::optional<Loaded> Load(const CronArgs& args) {
  const std::string expr = Join(args.words, " ");
  const auto fail = [&](const absl::Status& s) {
    std::cerr << "forest: " << s.message() << "\n";
    return std::nullopt;
  };
  cron::ParseOptions options;
  auto dialect = cron::ParseDialect(args.dialect);
  if (!dialect.ok()) return fail(dialect.status());
  options.dialect = *dialect;
  auto zone = TimeZone::Load(args.tz);
  if (!zone.ok()) return fail(zone.status());
  options.zone = *zone;
  auto schedule = cron::Schedule::Parse(expr, options);
  if (!schedule.ok()) {
    std::cerr << "forest: invalid cron expression '" << expr << "': " << schedule.status().message()
              << "\n";
    return std::nullopt;
  }
  Time from = SystemClock::Get().Now();
  if (!args.from.empty()) {
    auto parsed = ParseIso8601(args.from, schedule->zone());
    if (!parsed.ok()) return fail(parsed.status());
    from = *parsed;
  }
  return Loaded{*std::move(schedule), from};
}

int RunNext(const CronArgs& args) {
  const std::optional<Loaded> loaded = Load(args);
  if (!loaded) return 2;
  if (!loaded->schedule.can_fire()) {
    std::cerr << "forest: the expression never fires\n";
    return 1;
  }
  for (const Time t : loaded->schedule.NextN(loaded->from, args.count)) {
    std::cout << FormatIso8601(t) << "\n";
  }
  return 0;
}

int RunExplain(const CronArgs& args) {
  const std::optional<Loaded> loaded = Load(args);
  if (!loaded) return 2;
  const cron::Schedule& s = loaded->schedule;
  const auto row = [](std::string_view name, std::string_view value) {
    std::cout << name << std::string(15 - std::min<size_t>(name.size(), 14), ' ') << value << "\n";
  };
  row("expression", Join(args.words, " "));
  row("dialect", cron::DialectName(s.dialect()));
  row("time zone", s.zone().name());
  if (s.every().count() > 0) {
    row("interval", std::to_string(s.every().count()) + " ms, on multiples since the Unix epoch");
  } else {
    for (const auto& [name, value] : s.Fields()) row(name, value);
    row("days", s.days_match_both()
                    ? "match day-of-month AND day-of-week (one of them is unrestricted)"
                    : "match day-of-month OR day-of-week (both are restricted)");
  }
  if (!s.can_fire()) {
    row("next", "never: no date matches these fields");
    return 1;
  }
  std::cout << "next fires (" << s.zone().name() << "):\n";
  for (const Time t : s.NextN(loaded->from, args.count)) {
    std::cout << "  " << FormatLocal(t, s.zone()) << "  (" << FormatIso8601(t) << ")\n";
  }
  return 0;
}

}  // namespace

void AddCronCommands(CLI::App& app, int& exit_code) {
  CLI::App* cron = app.add_subcommand("cron", "Check cron expressions");
  cron->require_subcommand(1);

  auto next_args = std::make_shared<CronArgs>();
  CLI::App* next =
      cron->add_subcommand("next", "Print the next fire times, one ISO-8601 UTC timestamp a line");
  AddCommonOptions(next, *next_args);
  next->callback([next_args, &exit_code] { exit_code = RunNext(*next_args); });

  auto explain_args = std::make_shared<CronArgs>();
  CLI::App* explain = cron->add_subcommand(
      "explain", "Print the normalized fields and the next fire times in the zone");
  AddCommonOptions(explain, *explain_args);
  explain->callback([explain_args, &exit_code] { exit_code = RunExplain(*explain_args); });
}

}  // namespace forest::cli
