#include "worker/shell_executor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "common/strings.h"
#include "common/time.h"
#include "worker/executor_internal.h"

extern char** environ;

namespace forest::worker {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kShellPrefix = "sh:";
constexpr char kShellPath[] = "/bin/sh";
// How often the supervising loop looks at the child and the token.
constexpr std::chrono::milliseconds kTick{20};

std::string ErrnoText(int err) { return std::generic_category().message(err); }

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// `fd` moved to a number >= 3 (close-on-exec), so that the child's dup2 onto
// 0, 1 and 2 cannot clobber it when the worker runs with a standard stream
// closed.
absl::StatusOr<Fd> AboveStdio(int fd) {
  if (fd < 0) return absl::InternalError(ErrnoText(errno));
  if (fd >= 3) return Fd(fd);
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int err = errno;
  ::close(fd);
  if (moved < 0) return absl::InternalError(fmt::format("fcntl: {}", ErrnoText(err)));
  return Fd(moved);
}

bool IsHttpTarget(std::string_view target) {
  target = Trim(target);
  return StartsWithIgnoreCase(target, "http://") || StartsWithIgnoreCase(target, "https://");
}

// argv[0] looked up the way execvp does: as given when it has a '/'
// (relative to the working directory), else in each PATH directory in turn.
// The absolute, lexically normalized path, or the errno execvp would report.
struct Resolved {
  std::string path;
  int error = 0;
};

Resolved ResolveCommand(const std::string& name) {
  namespace fs = std::filesystem;
  const auto absolute = [](const std::string& p) {
    std::error_code ec;
    const fs::path abs = fs::absolute(p, ec);
    return (ec ? fs::path(p) : abs).lexically_normal().string();
  };
  if (name.find('/') != std::string::npos) {
    const int error = ::access(name.c_str(), X_OK) != 0 ? errno : 0;
    return {absolute(name), error};
  }
  const char* path_var = std::getenv("PATH");
  int error = ENOENT;
  for (std::string_view dir :
       Split(path_var != nullptr ? path_var : "/usr/local/bin:/usr/bin:/bin", ':')) {
    const std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::access(candidate.c_str(), X_OK) != 0) {
      error = EACCES;
      continue;
    }
    return {absolute(candidate), 0};
  }
  return {"", error};
}

bool UnderPrefix(const std::string& path, std::string_view prefix) {
  std::string p = std::filesystem::path(std::string(prefix)).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p.empty()) return false;
  if (p == "/") return !path.empty() && path[0] == '/';
  return path == p ||
         (path.size() > p.size() && path.compare(0, p.size(), p) == 0 && path[p.size()] == '/');
}

std::vector<std::string> ChildEnvironment(const Execution& execution) {
  const model::Assignment& a = execution.assignment;
  const std::vector<std::pair<std::string_view, std::string>> ours = {
      {"FOREST_JOB_ID", a.job_id},
      {"FOREST_EXECUTION_ID", a.id},
      {"FOREST_PARAMS", a.params},
      {"FOREST_SHARD_INDEX", std::to_string(a.shard_index)},
      {"FOREST_SHARD_TOTAL", std::to_string(a.shard_total)},
      {"FOREST_ATTEMPT", std::to_string(a.attempt)},
      {"FOREST_SCHEDULED_TIME", a.scheduled_time ? FormatRfc3339Millis(*a.scheduled_time) : ""},
      {"FOREST_TRIGGER", std::string(model::Name(a.trigger))},
      {"FOREST_GROUP", execution.group.empty() ? a.group : execution.group},
  };
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    if (std::none_of(ours.begin(), ours.end(), [&](const auto& kv) { return kv.first == name; })) {
      env.emplace_back(entry);
    }
  }
  for (const auto& [name, value] : ours) env.push_back(fmt::format("{}={}", name, value));
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

Outcome Failure(std::string result, std::optional<int> exit_code = std::nullopt) {
  Outcome o;
  o.success = false;
  o.exit_code = exit_code;
  o.result = std::move(result);
  return o;
}

// Starts `path` in a new process group (its id = the pid) with stdin from
// /dev/null and stdout and stderr on `out_fd`. 0, or the errno of a failed
// start (posix_spawn reports the exec's).
int Spawn(const std::string& path, std::vector<std::string>& argv, std::vector<std::string>& env,
          int null_fd, int out_fd, pid_t& pid) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, null_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
  // Descriptors the worker opened without close-on-exec stay out of the job.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  // The job starts with default signal handling whatever the worker ignores
  // or blocks (SIGPIPE, typically).
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> argv_ptrs = Pointers(argv);
  std::vector<char*> env_ptrs = Pointers(env);
  const int error =
      posix_spawn(&pid, path.c_str(), &actions, &attr, argv_ptrs.data(), env_ptrs.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return error;
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("ended with wait status {}", status);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitCommandLine(std::string_view line) {
  const auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // `word` has begun (it may be empty: '')
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (is_blank(c)) {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
      ++i;
    } else if (c == '\'') {
      const size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) {
        return absl::InvalidArgumentError(
            fmt::format("unterminated single quote (opened at column {})", i + 1));
      }
      word.append(line.substr(i + 1, close - i - 1));
      in_word = true;
      i = close + 1;
    } else if (c == '"') {
      const size_t open = i++;
      bool closed = false;
      while (i < line.size()) {
        const char d = line[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < line.size()) {
          const char e = line[i + 1];
          if (e == '"' || e == '\\' || e == '$' || e == '`') {
            word += e;
            i += 2;
            continue;
          }
          if (e == '\n') {
            i += 2;
            continue;
          }
        }
        word += d;
        ++i;
      }
      if (!closed) {
        return absl::InvalidArgumentError(
            fmt::format("unterminated double quote (opened at column {})", open + 1));
      }
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 == line.size()) {
        return absl::InvalidArgumentError(
            fmt::format("backslash at the end (column {}) escapes nothing", i + 1));
      }
      if (line[i + 1] != '\n') {
        word += line[i + 1];
        in_word = true;
      }
      i += 2;
    } else {
      word += c;
      in_word = true;
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return absl::InvalidArgumentError("empty command");
  return words;
}

ShellExecutor::ShellExecutor(ShellOptions options) : options_(std::move(options)) {}

bool ShellExecutor::Accepts(const model::Assignment& assignment) const {
  return !IsHttpTarget(assignment.target);
}

Outcome ShellExecutor::Run(const Execution& execution, CancelToken& cancel) {
  if (!options_.allow_shell) {
    return Failure(
        "refused: shell targets are disabled on this worker (start it with --allow-shell)");
  }
  const std::string_view target = Trim(execution.assignment.target);

  // What to run.
  std::string path;
  std::vector<std::string> argv;
  if (target.starts_with(kShellPrefix)) {
    const std::string_view script = target.substr(kShellPrefix.size());
    if (Trim(script).empty()) return Failure("bad command line: nothing after 'sh:'");
    path = kShellPath;
    argv = {"sh", "-c", std::string(script)};
  } else {
    absl::StatusOr<std::vector<std::string>> words = SplitCommandLine(target);
    if (!words.ok()) {
      return Failure(fmt::format("bad command line: {}", std::string(words.status().message())));
    }
    argv = *std::move(words);
    const Resolved resolved = ResolveCommand(argv[0]);
    if (resolved.error != 0) {
      return Failure(fmt::format("cannot run '{}': {}", argv[0], ErrnoText(resolved.error)),
                     resolved.error == ENOENT ? 127 : 126);
    }
    path = resolved.path;
  }
  if (!options_.allowed_prefixes.empty() &&
      std::none_of(options_.allowed_prefixes.begin(), options_.allowed_prefixes.end(),
                   [&](const std::string& prefix) { return UnderPrefix(path, prefix); })) {
    return Failure(fmt::format("refused: {} is not under an allowed command prefix ({})", path,
                               Join(options_.allowed_prefixes, ", ")));
  }
  if (cancel.cancelled()) return Failure(cancel.reason());

  // Where its output goes.
  absl::StatusOr<internal::RunLog> opened =
      internal::RunLog::Open(execution.log_path, options_.log_max_bytes, options_.log_keep);
  internal::RunLog log;
  if (opened.ok()) {
    log = *std::move(opened);
  } else {
    spdlog::warn("run {}: {}", execution.assignment.id, std::string(opened.status().message()));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Failure(fmt::format("cannot run '{}': pipe: {}", argv[0], ErrnoText(errno)));
  }
  absl::StatusOr<Fd> read_end = AboveStdio(pipe_fds[0]);
  absl::StatusOr<Fd> write_end = AboveStdio(pipe_fds[1]);
  absl::StatusOr<Fd> null_in = AboveStdio(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  for (const auto* fd : {&read_end, &write_end, &null_in}) {
    if (!fd->ok()) {
      return Failure(
          fmt::format("cannot run '{}': {}", argv[0], std::string(fd->status().message())));
    }
  }

  std::vector<std::string> env = ChildEnvironment(execution);
  pid_t pid = -1;  // also the process group id
  const int spawn_error = Spawn(path, argv, env, null_in->get(), write_end->get(), pid);
  write_end->Reset();  // the child holds it now: EOF once the job and its children are done
  null_in->Reset();
  if (spawn_error != 0) {
    return Failure(fmt::format("cannot run '{}': {}", argv[0], ErrnoText(spawn_error)),
                   spawn_error == ENOENT ? 127 : 126);
  }

  // Supervise: read the pipe, watch the child and the token. The child is
  // only reaped at the end (waitid WNOWAIT until then), so its pid, and with
  // it the group id, cannot be reused while this loop signals the group.
  internal::TailBuffer tail(execution.output_cap);
  bool log_failed = false;
  const auto consume = [&](std::string_view data) {
    tail.Append(data);
    if (log_failed) return;
    if (absl::Status s = log.Append(data); !s.ok()) {
      log_failed = true;
      spdlog::warn("run {}: {}", execution.assignment.id, std::string(s.message()));
    }
  };
  std::string buffer(64 * 1024, '\0');
  bool exited = false, eof = false, term_sent = false, kill_sent = false;
  // Waits up to a tick for output and takes what there is.
  const auto read_some = [&] {
    pollfd p{read_end->get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(kTick.count())) <= 0) return;
    const ssize_t n = ::read(read_end->get(), buffer.data(), buffer.size());
    if (n > 0) {
      consume(std::string_view(buffer.data(), static_cast<size_t>(n)));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      eof = true;
    }
  };
  bool lost = false;  // reaped by someone else: the group id may be another's now
  const auto signal_group = [&](int sig) {
    if (!lost) ::kill(-pid, sig);
  };
  SteadyClock::time_point exited_at, kill_at, killed_at;
  std::string cancel_reason;
  while (true) {
    const SteadyClock::time_point now = SteadyClock::now();
    if (!exited) {
      siginfo_t info{};
      const int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
      if ((rc == 0 && info.si_pid == pid) || (rc != 0 && errno == ECHILD)) {
        lost = rc != 0;
        exited = true;
        exited_at = now;
      }
    }
    if (!term_sent && cancel.cancelled()) {
      cancel_reason = cancel.reason();
      signal_group(SIGTERM);
      term_sent = true;
      kill_at = now + options_.kill_grace;
    }
    if (term_sent && !kill_sent && now >= kill_at) {
      signal_group(SIGKILL);
      kill_sent = true;
      killed_at = now;
    }
    if (exited && eof) break;
    // The pipe outlived the process: held by something it left behind in the
    // group (killed below) or, after SIGKILL, outside it (abandoned).
    if (exited && !term_sent && now >= exited_at + options_.drain_timeout) break;
    if (exited && kill_sent && now >= std::max(exited_at, killed_at) + options_.drain_timeout) {
      break;
    }

    if (eof) {
      ::poll(nullptr, 0, static_cast<int>(kTick.count()));
    } else {
      read_some();
    }
  }
  // Whatever is left in the group dies with the run.
  signal_group(SIGKILL);
  // Read on until the pipe closes, so that what held it is gone when Run()
  // returns; bounded, since a holder outside the group would not die.
  const SteadyClock::time_point give_up = SteadyClock::now() + options_.drain_timeout;
  while (!eof && SteadyClock::now() < give_up) read_some();
  read_end->Reset();

  int status = 0;
  pid_t reaped;
  do {
    reaped = ::waitpid(pid, &status, 0);
  } while (reaped < 0 && errno == EINTR);

  Outcome outcome;
  outcome.output = tail.Take();
  std::string what;
  if (reaped != pid) {
    what = "lost track of the process (reaped elsewhere)";
  } else {
    what = Describe(status);
    if (WIFEXITED(status)) {
      outcome.exit_code = WEXITSTATUS(status);
      outcome.success = !term_sent && WEXITSTATUS(status) == 0;
    } else if (WIFSIGNALED(status)) {
      outcome.exit_code = 128 + WTERMSIG(status);
    }
  }
  outcome.result = term_sent ? fmt::format("{}; {}", cancel_reason, what) : what;
  return outcome;
}

}  // namespace forest::worker
