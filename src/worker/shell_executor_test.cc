// The shell executor: argv splitting, what a run gets (environment, stdin)
// and gives back (output's end, log, exit), refusals, and that cancelling
// kills the whole process tree, escalating to SIGKILL. Also the output and
// log helpers every executor uses.
#include "worker/shell_executor.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "worker/executor_internal.h"

namespace forest::worker {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// A fresh directory under the system's temporary directory, removed after.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "forest_shell_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

// /proc/<pid>/stat: the state letter and the process group, if it exists.
struct ProcState {
  char state = '?';
  pid_t pgrp = 0;
};
std::optional<ProcState> ReadProc(pid_t pid) {
  const std::string stat = ReadFile(fmt::format("/proc/{}/stat", pid));
  const size_t paren = stat.rfind(')');
  if (stat.empty() || paren == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(paren + 2));
  ProcState p;
  pid_t ppid = 0;
  rest >> p.state >> ppid >> p.pgrp;
  return p;
}

// Running (not gone, not a zombie waiting for an init that does not reap).
bool Alive(pid_t pid) {
  const auto p = ReadProc(pid);
  return p && p->state != 'Z' && p->state != 'X';
}

// Whether `pid` is gone within a second (a killed process takes a moment to
// go).
bool Gone(pid_t pid) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(1);
  while (Alive(pid)) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// Live processes in process group `pgid`, once none is left or after a
// second: a signal sent to a group is delivered to each member when it next
// runs, which on a loaded machine is a few milliseconds after kill()
// returned (a full run beside a build saw a member still running).
std::vector<pid_t> LiveMembers(pid_t pgid) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(1);
  for (;;) {
    std::vector<pid_t> out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = std::stoi(name);
      const auto p = ReadProc(pid);
      if (p && p->pgrp == pgid && p->state != 'Z' && p->state != 'X') out.push_back(pid);
    }
    if (out.empty() || SteadyClock::now() > deadline) return out;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// The pids a script wrote, one a line, once there are `count` of them.
std::vector<pid_t> WaitForPids(const std::string& path, size_t count) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  while (SteadyClock::now() < deadline) {
    std::istringstream in(ReadFile(path));
    std::vector<pid_t> pids;
    for (pid_t pid; in >> pid;) pids.push_back(pid);
    if (pids.size() >= count) return pids;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ADD_FAILURE() << "no " << count << " pids in " << path;
  return {};
}

ShellOptions Allowed() {
  ShellOptions o;
  o.allow_shell = true;
  o.kill_grace = milliseconds(2000);
  o.drain_timeout = milliseconds(300);
  return o;
}

Execution Exec(std::string target) {
  Execution e;
  e.assignment.id = "20260101000030000-job1";
  e.assignment.job_id = "job1";
  e.assignment.target = std::move(target);
  e.group = "g1";
  e.worker = "w1";
  return e;
}

Outcome RunOnce(const ShellOptions& options, const Execution& e) {
  ShellExecutor executor(options);
  CancelToken cancel;
  return executor.Run(e, cancel);
}

// --- CancelToken -------------------------------------------------------------------

TEST(CancelTokenTest, FirstReasonWinsAndWakesWaiters) {
  CancelToken token;
  EXPECT_FALSE(token.cancelled());
  EXPECT_FALSE(token.WaitFor(milliseconds(10)));
  int calls = 0;
  token.OnCancel([&] { ++calls; });
  std::thread waiter([&] { EXPECT_TRUE(token.WaitFor(std::chrono::seconds(10))); });
  token.Cancel("timed out after 30 s");
  token.Cancel("killed: by a user");
  waiter.join();
  EXPECT_TRUE(token.cancelled());
  EXPECT_EQ(token.reason(), "timed out after 30 s");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(token.WaitFor(milliseconds(0)));
}

TEST(CancelTokenTest, OnCancelRunsAtOnceWhenAlreadyCancelled) {
  CancelToken token;
  token.Cancel("killed");
  int calls = 0;
  token.OnCancel([&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

// --- SplitCommandLine ------------------------------------------------------------

TEST(SplitCommandLineTest, SplitsLikeAPosixShellWithoutExpanding) {
  const struct {
    std::string line;
    std::vector<std::string> words;
  } cases[] = {
      {"echo hello", {"echo", "hello"}},
      {"  a   b\t c\n", {"a", "b", "c"}},
      {"'a b' c", {"a b", "c"}},
      {"\"a b\"", {"a b"}},
      {R"("q\"q" "b\\s" "d\$" "t\`")", {"q\"q", "b\\s", "d$", "t`"}},
      {R"("a\nb")", {"a\\nb"}},   // other escapes stay as written in double quotes
      {R"('a\"b')", {"a\\\"b"}},  // nothing escapes in single quotes
      {R"(a\ b c\'d)", {"a b", "c'd"}},
      {"''", {""}},
      {"a '' \"\" b", {"a", "", "", "b"}},
      {"a'b'\"c\"d", {"abcd"}},
      {R"('it'\''s')", {"it's"}},
      {"ab\\\ncd", {"abcd"}},
      {"\"ab\\\ncd\"", {"abcd"}},
      {"$HOME *.txt | wc; x > y", {"$HOME", "*.txt", "|", "wc;", "x", ">", "y"}},
  };
  for (const auto& c : cases) {
    const auto words = SplitCommandLine(c.line);
    ASSERT_TRUE(words.ok()) << c.line << ": " << words.status();
    EXPECT_EQ(*words, c.words) << c.line;
  }
}

TEST(SplitCommandLineTest, RejectsMalformedLinesNamingTheProblem) {
  const struct {
    std::string line;
    std::string message;
  } cases[] = {
      {"'abc", "unterminated single quote (opened at column 1)"},
      {"echo \"abc", "unterminated double quote (opened at column 6)"},
      {"echo 'a'\"b'", "unterminated double quote (opened at column 9)"},
      {"echo \"a\\\"", "unterminated double quote (opened at column 6)"},
      {"echo a\\", "backslash at the end (column 7) escapes nothing"},
      {"", "empty command"},
      {" \t\n", "empty command"},
  };
  for (const auto& c : cases) {
    const auto words = SplitCommandLine(c.line);
    ASSERT_FALSE(words.ok()) << c.line;
    EXPECT_EQ(words.status().code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_EQ(std::string(words.status().message()), c.message) << c.line;
  }
}

// --- Output helpers ----------------------------------------------------------------

TEST(Utf8OutputTest, KeepsValidUtf8WithinTheCap) {
  const struct {
    std::string bytes;
    size_t cap;
    std::string tail, head;
  } cases[] = {
      {"hello", 10, "hello", "hello"},
      {"hello", 3, "llo", "hel"},
      {"hello", 0, "", ""},
      // "é" is C3 A9: a cut character is dropped whole, at either end.
      {"\xC3\xA9"
       "ab\xC3\xA9",
       3, "b\xC3\xA9",
       "\xC3\xA9"
       "a"},
      {"a\xC3\xA9", 2, "\xC3\xA9", "a"},
      // Invalid bytes become U+FFFD (EF BF BD), still within the cap.
      {"\xFF"
       "abc",
       10,
       "\xEF\xBF\xBD"
       "abc",
       "\xEF\xBF\xBD"
       "abc"},
      {"abc\xFF", 3, "\xEF\xBF\xBD", "abc"},
      {"\xC0\xAF", 10, "\xEF\xBF\xBD\xEF\xBF\xBD", "\xEF\xBF\xBD\xEF\xBF\xBD"},  // overlong
      {"\xED\xA0\x80", 9, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD",
       "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // a surrogate
  };
  for (const auto& c : cases) {
    EXPECT_EQ(internal::Utf8Tail(c.bytes, c.cap), c.tail) << c.bytes << " cap " << c.cap;
    EXPECT_EQ(internal::Utf8Head(c.bytes, c.cap), c.head) << c.bytes << " cap " << c.cap;
  }
}

TEST(Utf8OutputTest, TailBufferKeepsTheEndOfALongStream) {
  internal::TailBuffer tail(5);
  std::string all;
  for (int i = 0; i < 10000; ++i) {
    const std::string piece = std::to_string(i) + ",";
    tail.Append(piece);
    all += piece;
  }
  EXPECT_EQ(tail.Take(), all.substr(all.size() - 5));
}

TEST(RunLogTest, AppendsCreatingDirectoriesAndRotates) {
  TempDir dir;
  const std::string path = dir / "a/b/run.log";
  std::string all;
  {
    auto log = internal::RunLog::Open(path, 10, 2);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 10; ++i) {
      const std::string line = fmt::format("line {}\n", i);  // 7 bytes
      ASSERT_TRUE(log->Append(line).ok());
      all += line;
    }
  }
  // 70 bytes in files of 10: 7 files' worth, the newest three kept.
  EXPECT_EQ(ReadFile(path), all.substr(60));
  EXPECT_EQ(ReadFile(path + ".1"), all.substr(50, 10));
  EXPECT_EQ(ReadFile(path + ".2"), all.substr(40, 10));
  EXPECT_FALSE(Exists(path + ".3"));

  // Reopened: appends to what is there (here full, so it rotates first).
  auto log = internal::RunLog::Open(path, 10, 2);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE(log->Append("xyz").ok());
  EXPECT_EQ(ReadFile(path), "xyz");
  EXPECT_EQ(ReadFile(path + ".1"), all.substr(60, 10));
  EXPECT_EQ(ReadFile(path + ".2"), all.substr(50, 10));
  auto again = internal::RunLog::Open(path, 10, 2);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->Append("uv").ok());
  EXPECT_EQ(ReadFile(path), "xyzuv");
}

TEST(RunLogTest, CannotOpenUnderAFile) {
  TempDir dir;
  WriteFile(dir / "file", "");
  EXPECT_EQ(internal::RunLog::Open(dir / "file/run.log", 0).status().code(),
            absl::StatusCode::kInternal);
}

// --- ShellExecutor -----------------------------------------------------------------

TEST(ShellExecutorTest, AcceptsEverythingButHttpUrls) {
  ShellExecutor executor(Allowed());
  const struct {
    std::string target;
    bool accepted;
  } cases[] = {
      {"echo hi", true},          {"sh: echo hi | wc", true},  {"/usr/bin/env", true},
      {"http://example/", false}, {"HTTPS://example/", false}, {"  http://x/", false},
      {"httpd --check", true},    {"https-checker run", true},
  };
  for (const auto& c : cases) {
    model::Assignment a;
    a.target = c.target;
    EXPECT_EQ(executor.Accepts(a), c.accepted) << c.target;
  }
}

TEST(ShellExecutorTest, OutputReachesTheOutcomeAndTheLog) {
  TempDir dir;
  Execution e = Exec("printf 'hello\\n%s\\n' \"big world\"");
  e.log_path = dir / "logs/g1/job1/run.log";
  const Outcome o = RunOnce(Allowed(), e);
  EXPECT_TRUE(o.success) << o.result;
  EXPECT_EQ(o.result, "exit 0");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.output, "hello\nbig world\n");
  EXPECT_EQ(ReadFile(e.log_path), "hello\nbig world\n");
}

TEST(ShellExecutorTest, MergesStderrIntoTheOutput) {
  const Outcome o = RunOnce(Allowed(), Exec("sh: echo out; echo err >&2; echo out2"));
  EXPECT_EQ(o.output, "out\nerr\nout2\n");
}

TEST(ShellExecutorTest, RunsWithoutAShellUnlessAsked) {
  // No variable expansion, no pipe: echo gets the words as written.
  const Outcome o = RunOnce(Allowed(), Exec("echo $HOME '*' | wc"));
  EXPECT_EQ(o.output, "$HOME * | wc\n");
  EXPECT_EQ(RunOnce(Allowed(), Exec("sh: echo one two | wc -w")).output, "2\n");
}

TEST(ShellExecutorTest, OutputCapKeepsTheEndAndTheLogKeepsAll) {
  TempDir dir;
  Execution e = Exec("seq 1 20000");
  e.output_cap = 12;
  e.log_path = dir / "run.log";
  std::string all;
  for (int i = 1; i <= 20000; ++i) all += std::to_string(i) + "\n";
  const Outcome o = RunOnce(Allowed(), e);
  EXPECT_TRUE(o.success) << o.result;
  EXPECT_EQ(o.output, "19999\n20000\n");
  EXPECT_EQ(ReadFile(e.log_path), all);
}

TEST(ShellExecutorTest, InvalidUtf8OutputIsReplaced) {
  const Outcome o = RunOnce(Allowed(), Exec("printf 'a\\377b'"));
  EXPECT_EQ(o.output,
            "a\xEF\xBF\xBD"
            "b");
}

TEST(ShellExecutorTest, SetsTheForestEnvironmentOverTheWorkers) {
  ::setenv("FOREST_TEST_INHERITED", "inherited", 1);
  ::setenv("FOREST_JOB_ID", "stale", 1);  // ours win over the worker's
  Execution e = Exec(
      "sh: echo \"$FOREST_JOB_ID|$FOREST_EXECUTION_ID|$FOREST_SHARD_INDEX/$FOREST_SHARD_TOTAL|"
      "$FOREST_ATTEMPT|$FOREST_SCHEDULED_TIME|$FOREST_TRIGGER|$FOREST_GROUP|$FOREST_PARAMS|"
      "$FOREST_TEST_INHERITED\"");
  e.assignment.shard_index = 2;
  e.assignment.shard_total = 5;
  e.assignment.attempt = 3;
  e.assignment.trigger = model::Trigger::kRetry;
  e.assignment.params = R"({"a": "b c"})";
  e.assignment.scheduled_time = Time(std::chrono::milliseconds(1767225630250));
  const Outcome o = RunOnce(Allowed(), e);
  ::unsetenv("FOREST_JOB_ID");
  ::unsetenv("FOREST_TEST_INHERITED");
  EXPECT_EQ(o.output,
            "job1|20260101000030000-job1|2/5|3|2026-01-01T00:00:30.250Z|retry|g1|"
            "{\"a\": \"b c\"}|inherited\n");

  e.assignment.scheduled_time.reset();
  e.assignment.target = "sh: echo \"[$FOREST_SCHEDULED_TIME]\"";
  EXPECT_EQ(RunOnce(Allowed(), e).output, "[]\n");
}

TEST(ShellExecutorTest, SignalsTheWorkerIgnoresAreDefaultInTheJob) {
  // A worker typically ignores SIGPIPE; `yes` must still die of it quietly
  // rather than fail writing to a closed pipe.
  const auto previous = ::signal(SIGPIPE, SIG_IGN);
  const Outcome o = RunOnce(Allowed(), Exec("sh: yes | head -n 1; echo done"));
  ::signal(SIGPIPE, previous);
  EXPECT_EQ(o.output, "y\ndone\n");
}

TEST(ShellExecutorTest, StdinIsDevNull) {
  const Outcome o = RunOnce(Allowed(), Exec("sh: cat; echo done"));
  EXPECT_EQ(o.output, "done\n");
}

TEST(ShellExecutorTest, ReportsExitStatusAndSignals) {
  const struct {
    std::string target;
    bool success;
    int exit_code;
    std::string result;
  } cases[] = {
      {"true", true, 0, "exit 0"},
      {"false", false, 1, "exit 1"},
      {"sh: exit 3", false, 3, "exit 3"},
      {"sh: kill -9 $$", false, 137, "killed by signal 9"},
      {"sh: kill -TERM $$", false, 143, "killed by signal 15"},
  };
  for (const auto& c : cases) {
    const Outcome o = RunOnce(Allowed(), Exec(c.target));
    EXPECT_EQ(o.success, c.success) << c.target;
    EXPECT_EQ(o.exit_code, c.exit_code) << c.target;
    EXPECT_EQ(o.result, c.result) << c.target;
  }
}

TEST(ShellExecutorTest, ExecFailureIs127NamingTheCommand) {
  TempDir dir;
  WriteFile(dir / "not-executable", "#!/bin/sh\necho ran\n", 0644);
  const struct {
    std::string target;
    int exit_code;
    std::string result;
  } cases[] = {
      {"forest-no-such-command --flag", 127,
       "cannot run 'forest-no-such-command': No such file or directory"},
      {dir / "missing", 127, "cannot run '" + (dir / "missing") + "': No such file or directory"},
      {dir / "not-executable", 126,
       "cannot run '" + (dir / "not-executable") + "': Permission denied"},
  };
  for (const auto& c : cases) {
    const Outcome o = RunOnce(Allowed(), Exec(c.target));
    EXPECT_FALSE(o.success) << c.target;
    EXPECT_EQ(o.exit_code, c.exit_code) << c.target;
    EXPECT_EQ(o.result, c.result) << c.target;
  }
}

TEST(ShellExecutorTest, MalformedQuotingIsAnOutcomeNotAnException) {
  const Outcome o = RunOnce(Allowed(), Exec("echo 'unfinished"));
  EXPECT_FALSE(o.success);
  EXPECT_FALSE(o.exit_code.has_value());
  EXPECT_EQ(o.result, "bad command line: unterminated single quote (opened at column 6)");
  EXPECT_EQ(RunOnce(Allowed(), Exec("sh:  ")).result, "bad command line: nothing after 'sh:'");
}

TEST(ShellExecutorTest, RefusesEverythingWithoutAllowShellAndRunsNothing) {
  TempDir dir;
  for (const std::string& target : {"touch " + (dir / "ran"), "sh: touch " + (dir / "ran")}) {
    ShellOptions options;  // the default: allow_shell = false
    const Outcome o = RunOnce(options, Exec(target));
    EXPECT_FALSE(o.success);
    EXPECT_EQ(o.result,
              "refused: shell targets are disabled on this worker (start it with --allow-shell)");
    EXPECT_FALSE(o.exit_code.has_value());
  }
  // Give a wrongly started process time to show itself.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(Exists(dir / "ran"));
  // The same target runs once allowed.
  EXPECT_TRUE(RunOnce(Allowed(), Exec("touch " + (dir / "ran"))).success);
  EXPECT_TRUE(Exists(dir / "ran"));
}

TEST(ShellExecutorTest, AllowedPrefixesCheckTheResolvedCommand) {
  TempDir dir;
  std::filesystem::create_directories(dir / "bin");
  std::filesystem::create_directories(dir / "other");
  const std::string job = "#!/bin/sh\necho ran >> " + (dir / "ran") + "\n";
  WriteFile(dir / "bin/job.sh", job, 0755);
  WriteFile(dir / "other/job.sh", job, 0755);
  const std::string bin = dir / "bin";

  const struct {
    std::vector<std::string> prefixes;
    std::string target;
    std::string refused_path;  // "" = runs
  } cases[] = {
      {{bin}, bin + "/job.sh", ""},
      {{bin + "/"}, bin + "/job.sh a b", ""},
      {{"/nonexistent", dir.path()}, bin + "/job.sh", ""},
      {{bin}, bin + "/../bin/./job.sh", ""},
      {{bin}, bin + "/../other/job.sh", dir / "other/job.sh"},
      {{bin.substr(0, bin.size() - 1)},
       bin + "/job.sh",
       bin + "/job.sh"},  // ".../bi" is not a dir of it
      {{bin}, "sh: " + bin + "/job.sh", "/bin/sh"},
      {{"/bin/sh"}, "sh: " + bin + "/job.sh", ""},
  };
  int runs = 0;
  for (const auto& c : cases) {
    ShellOptions options = Allowed();
    options.allowed_prefixes = c.prefixes;
    const Outcome o = RunOnce(options, Exec(c.target));
    if (c.refused_path.empty()) {
      EXPECT_TRUE(o.success) << c.target << ": " << o.result;
      ++runs;
    } else {
      EXPECT_FALSE(o.success) << c.target;
      std::string list;
      for (const auto& p : c.prefixes) list += (list.empty() ? "" : ", ") + p;
      EXPECT_EQ(o.result, "refused: " + c.refused_path +
                              " is not under an allowed command prefix (" + list + ")")
          << c.target;
    }
  }
  std::string expected;
  for (int i = 0; i < runs; ++i) expected += "ran\n";
  EXPECT_EQ(ReadFile(dir / "ran"), expected);
}

TEST(ShellExecutorTest, AllowedPrefixesApplyToThePathLookup) {
  TempDir dir;
  std::filesystem::create_directories(dir / "bin");
  WriteFile(dir / "bin/forest-test-job", "#!/bin/sh\necho found\n", 0755);
  const std::string old_path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  ::setenv("PATH", ((dir / "bin") + ":" + old_path).c_str(), 1);
  ShellOptions options = Allowed();
  options.allowed_prefixes = {dir / "bin"};
  const Outcome found = RunOnce(options, Exec("forest-test-job"));
  const Outcome refused = RunOnce(options, Exec("echo hi"));
  ::setenv("PATH", old_path.c_str(), 1);
  EXPECT_EQ(found.output, "found\n") << found.result;
  EXPECT_EQ(refused.result.rfind("refused: /", 0), 0u) << refused.result;
  EXPECT_NE(refused.result.find("/echo is not under an allowed command prefix"), std::string::npos)
      << refused.result;
}

// Runs `e` on a thread, cancels it with `reason` once `ready` says so, and
// returns the outcome and how long Run() took after the cancel.
struct CancelledRun {
  Outcome outcome;
  milliseconds after_cancel{0};
};
CancelledRun RunAndCancel(const ShellOptions& options, const Execution& e,
                          const std::function<void()>& ready, const std::string& reason) {
  ShellExecutor executor(options);
  CancelToken cancel;
  CancelledRun r;
  SteadyClock::time_point returned;
  std::thread runner([&] {
    r.outcome = executor.Run(e, cancel);
    returned = SteadyClock::now();
  });
  ready();
  const SteadyClock::time_point cancelled = SteadyClock::now();
  cancel.Cancel(reason);
  runner.join();
  r.after_cancel = std::chrono::duration_cast<milliseconds>(returned - cancelled);
  return r;
}

TEST(ShellExecutorTest, CancelKillsTheWholeTreeWithSigterm) {
  TempDir dir;
  const std::string pids = dir / "pids";
  // The shell ($$, also the group id), a background grandchild, and a
  // foreground child.
  Execution e = Exec(fmt::format("sh: echo $$ > {0}; sleep 100 & echo $! >> {0}; sleep 100", pids));
  std::vector<pid_t> tree;
  const CancelledRun r = RunAndCancel(
      Allowed(), e, [&] { tree = WaitForPids(pids, 2); }, "timed out after 1 s");
  ASSERT_EQ(tree.size(), 2u);
  EXPECT_FALSE(r.outcome.success);
  EXPECT_EQ(r.outcome.result, "timed out after 1 s; killed by signal 15");
  EXPECT_EQ(r.outcome.exit_code, 143);
  EXPECT_LT(r.after_cancel, milliseconds(2000 + 1000));  // kill_grace + a margin
  for (pid_t pid : tree) EXPECT_TRUE(Gone(pid)) << pid;
  EXPECT_EQ(LiveMembers(tree[0]), std::vector<pid_t>{});
}

TEST(ShellExecutorTest, CancelEscalatesToSigkillAfterTheGrace) {
  TempDir dir;
  const std::string pids = dir / "pids";
  // The shell ignores SIGTERM, and so do the sleeps it starts (an ignored
  // signal stays ignored across exec).
  Execution e = Exec(
      fmt::format("sh: trap '' TERM; echo $$ > {0}; sleep 100 & echo $! >> {0}; sleep 100", pids));
  ShellOptions options = Allowed();
  options.kill_grace = milliseconds(500);
  std::vector<pid_t> tree;
  const CancelledRun r = RunAndCancel(
      options, e, [&] { tree = WaitForPids(pids, 2); }, "killed: by the test");
  ASSERT_EQ(tree.size(), 2u);
  EXPECT_FALSE(r.outcome.success);
  EXPECT_EQ(r.outcome.result, "killed: by the test; killed by signal 9");
  EXPECT_EQ(r.outcome.exit_code, 137);
  EXPECT_GE(r.after_cancel, milliseconds(500));
  EXPECT_LT(r.after_cancel, milliseconds(500 + 1500));  // kill_grace + a margin
  for (pid_t pid : tree) EXPECT_TRUE(Gone(pid)) << pid;
  EXPECT_EQ(LiveMembers(tree[0]), std::vector<pid_t>{});
}

TEST(ShellExecutorTest, CancelledBeforeStartRunsNothing) {
  TempDir dir;
  ShellExecutor executor(Allowed());
  CancelToken cancel;
  cancel.Cancel("killed: replaced by the next run");
  const Outcome o = executor.Run(Exec("touch " + (dir / "ran")), cancel);
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.result, "killed: replaced by the next run");
  EXPECT_FALSE(Exists(dir / "ran"));
}

TEST(ShellExecutorTest, DoesNotHangOnAPipeHeldByABackgroundChild) {
  TempDir dir;
  const std::string pids = dir / "pids";
  // The shell exits at once; the sleep it left behind keeps the pipe open.
  const auto start = SteadyClock::now();
  const Outcome o =
      RunOnce(Allowed(), Exec(fmt::format("sh: sleep 100 & echo $! > {}; echo started", pids)));
  const auto took = SteadyClock::now() - start;
  EXPECT_TRUE(o.success) << o.result;
  EXPECT_EQ(o.output, "started\n");
  EXPECT_LT(took, milliseconds(300 + 1500));  // drain_timeout + a margin
  const auto tree = WaitForPids(pids, 1);
  ASSERT_EQ(tree.size(), 1u);
  EXPECT_TRUE(Gone(tree[0]));
}

TEST(ShellExecutorTest, KillsWhatTheRunLeftBehindInItsGroup) {
  TempDir dir;
  const std::string pids = dir / "pids";
  // The leftover does not hold the pipe: the run ends at once, and so does it.
  const Outcome o =
      RunOnce(Allowed(), Exec(fmt::format("sh: sleep 100 >/dev/null 2>&1 & echo $! > {}", pids)));
  EXPECT_TRUE(o.success) << o.result;
  const auto tree = WaitForPids(pids, 1);
  ASSERT_EQ(tree.size(), 1u);
  EXPECT_TRUE(Gone(tree[0]));
}

TEST(ShellExecutorTest, RotatesTheRunLog) {
  TempDir dir;
  Execution e = Exec("seq 1 3000");
  e.log_path = dir / "run.log";
  ShellOptions options = Allowed();
  options.log_max_bytes = 1000;
  std::string all;
  for (int i = 1; i <= 3000; ++i) all += std::to_string(i) + "\n";
  ASSERT_TRUE(RunOnce(options, e).success);
  // Files of 1000 bytes, the newest three rotated ones kept.
  const std::string current = ReadFile(e.log_path);
  ASSERT_GT(current.size(), 0u);
  ASSERT_LE(current.size(), 1000u);
  EXPECT_EQ(ReadFile(e.log_path + ".3") + ReadFile(e.log_path + ".2") +
                ReadFile(e.log_path + ".1") + current,
            all.substr(all.size() - 3000 - current.size()));
  EXPECT_FALSE(Exists(e.log_path + ".4"));
}

}  // namespace
}  // namespace forest::worker
