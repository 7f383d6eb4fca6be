// cron_batch: Forest's cron engine behind a line protocol, for the
// differential tests (differential.py) and anything else that wants to ask it
// many questions from another language.
//
// Each input line is
//   dialect <TAB> zone <TAB> from <TAB> count <TAB> expression
// e.g. "forest\tUTC\t2026-01-01T00:00:00Z\t3\t*/5 * * * *", and produces
// exactly one output line:
//   OK <TAB> t1 t2 ... tn      up to `count` fire times strictly after `from`,
//                              as UTC ISO-8601 (FormatIso8601), space separated
//   ERR <TAB> message          the expression (or the line) was rejected
// `from` may carry an offset; without one it is a wall time in `zone`.
//
// Output is buffered and written whenever the input buffer runs dry (before
// the next read would block) and at the end: one write per batch the caller
// sends, so a caller that pipes thousands of lines pays for a few syscalls,
// and one that sends a line and waits for the answer still gets it.
#include <charconv>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"
#include "common/time.h"
#include "common/time_zone.h"
#include "cron/cron.h"

namespace {

// Splits off the text before the next tab; false when there is no tab.
bool NextColumn(std::string_view& rest, std::string_view& column) {
  const size_t tab = rest.find('\t');
  if (tab == std::string_view::npos) return false;
  column = rest.substr(0, tab);
  rest.remove_prefix(tab + 1);
  return true;
}

// The message of a status as a std::string_view.
std::string_view Message(const absl::Status& status) { return forest::FromAbsl(status.message()); }

// One output line never contains a newline or a tab after its first column.
void AppendSanitized(std::string& out, std::string_view text) {
  for (const char c : text) out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
}

class BatchRunner {
 public:
  // Appends the answer to one input line (without its newline) to `out`.
  void Answer(std::string_view line, std::string& out) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view dialect_text, zone_text, from_text, count_text;
    std::string_view expr = line;
    if (!NextColumn(expr, dialect_text) || !NextColumn(expr, zone_text) ||
        !NextColumn(expr, from_text) || !NextColumn(expr, count_text)) {
      return Error(out, "expected 5 tab-separated columns: dialect zone from count expression");
    }
    const auto dialect = forest::cron::ParseDialect(dialect_text);
    if (!dialect.ok()) return Error(out, Message(dialect.status()));
    const forest::TimeZone* zone = Zone(zone_text);
    if (zone == nullptr) return Error(out, zone_error_);
    const auto from = forest::ParseIso8601(from_text, *zone);
    if (!from.ok()) return Error(out, Message(from.status()));
    int count = 0;
    const auto [end, ec] =
        std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
    if (ec != std::errc() || end != count_text.data() + count_text.size() || count < 0) {
      return Error(out, "count must be a non-negative integer");
    }

    const auto schedule =
        forest::cron::Schedule::Parse(expr, forest::cron::ParseOptions{*dialect, *zone});
    if (!schedule.ok()) return Error(out, Message(schedule.status()));
    out += "OK\t";
    bool first = true;
    for (const forest::Time t : schedule->NextN(*from, count)) {
      if (!first) out.push_back(' ');
      first = false;
      out += forest::FormatIso8601(t);
    }
    out.push_back('\n');
  }

 private:
  static void Error(std::string& out, std::string_view message) {
    out += "ERR\t";
    AppendSanitized(out, message);
    out.push_back('\n');
  }

  // Zones are loaded once per name; nullptr (with zone_error_ set) if unknown.
  const forest::TimeZone* Zone(std::string_view name) {
    auto it = zones_.find(name);
    if (it == zones_.end()) {
      auto loaded = forest::TimeZone::Load(name);
      if (!loaded.ok()) {
        zone_error_ = std::string(Message(loaded.status()));
        return nullptr;
      }
      it = zones_.emplace(std::string(name), *loaded).first;
    }
    return &it->second;
  }

  std::map<std::string, forest::TimeZone, std::less<>> zones_;
  std::string zone_error_;
};

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::cin.tie(nullptr);
  BatchRunner runner;
  std::string line, out;
  while (std::getline(std::cin, line)) {
    runner.Answer(line, out);
    // Flush once the caller's batch is consumed (the next read would block),
    // or when the buffer grows large.
    if (std::cin.rdbuf()->in_avail() <= 0 || out.size() > (1u << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return std::ferror(stdout) ? 1 : 0;
}
