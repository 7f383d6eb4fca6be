#include "worker/executor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "common/check.h"
#include "worker/executor_internal.h"

namespace forest::worker {

// --- CancelToken ---------------------------------------------------------------

void CancelToken::Cancel(std::string reason) {
  std::function<void()> callback;
  {
    std::lock_guard lock(mu_);
    if (cancelled_.load(std::memory_order_relaxed)) return;
    reason_ = std::move(reason);
    cancelled_.store(true, std::memory_order_release);
    callback = std::move(callback_);
    callback_ = nullptr;
  }
  cv_.notify_all();
  if (callback) callback();
}

std::string CancelToken::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

bool CancelToken::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return cancelled_.load(std::memory_order_relaxed); });
}

void CancelToken::OnCancel(std::function<void()> callback) {
  {
    std::lock_guard lock(mu_);
    FOREST_CHECK(!callback_);
    if (!cancelled_.load(std::memory_order_relaxed)) {
      callback_ = std::move(callback);
      return;
    }
  }
  if (callback) callback();
}

namespace internal {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the well-formed UTF-8 sequence at s[i], or 0 when it is not
// one (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF).
size_t SequenceLength(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (!IsContinuation(at(i + k))) return 0;
  }
  return n;
}

std::string Sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace

std::string Utf8Tail(std::string_view bytes, size_t cap) {
  if (cap == 0) return {};
  std::string_view s = bytes;
  if (s.size() > cap) {
    s = s.substr(s.size() - cap);
    // The rest of a character whose start fell before the window.
    for (int k = 0; k < 3 && !s.empty() && IsContinuation(static_cast<unsigned char>(s[0])); ++k) {
      s.remove_prefix(1);
    }
  }
  std::string out = Sanitize(s);
  if (out.size() > cap) {
    size_t from = out.size() - cap;
    while (from < out.size() && IsContinuation(static_cast<unsigned char>(out[from]))) ++from;
    out.erase(0, from);
  }
  return out;
}

std::string Utf8Head(std::string_view bytes, size_t cap) {
  if (cap == 0) return {};
  std::string_view s = bytes;
  if (s.size() > cap) {
    s = s.substr(0, cap);
    // A character the cap cut: drop its start.
    for (size_t k = 1; k <= 3 && k <= s.size(); ++k) {
      const auto c = static_cast<unsigned char>(s[s.size() - k]);
      if (IsContinuation(c)) continue;
      if (c >= 0xC0 && SequenceLength(bytes, s.size() - k) > k) s.remove_suffix(k);
      break;
    }
  }
  std::string out = Sanitize(s);
  if (out.size() > cap) {
    size_t to = cap;
    while (to > 0 && IsContinuation(static_cast<unsigned char>(out[to]))) --to;
    out.resize(to);
  }
  return out;
}

void TailBuffer::Append(std::string_view data) {
  // Kept: the window and the bytes just before it, which tell Utf8Tail that
  // the window starts inside the stream.
  const size_t keep = cap_ + 4;
  if (data.size() >= keep) {
    buf_.assign(data.substr(data.size() - keep));
    return;
  }
  buf_.append(data);
  if (buf_.size() > 2 * keep + 4096) buf_.erase(0, buf_.size() - keep);
}

std::string TailBuffer::Take() const { return Utf8Tail(buf_, cap_); }

absl::StatusOr<RunLog> RunLog::Open(std::string path, size_t max_bytes, int keep) {
  RunLog log;
  if (path.empty()) return log;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("run log: cannot create {}: {}", parent.string(), ec.message()));
    }
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        fmt::format("run log: cannot open {}: {}", path, std::generic_category().message(errno)));
  }
  struct stat st {};
  log.size_ = ::fstat(fd, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  log.fd_ = fd;
  log.path_ = std::move(path);
  log.max_bytes_ = max_bytes;
  log.keep_ = keep;
  return log;
}

RunLog::RunLog(RunLog&& other) noexcept { *this = std::move(other); }

RunLog& RunLog::operator=(RunLog&& other) noexcept {
  if (this != &other) {
    Close();
    path_ = std::move(other.path_);
    max_bytes_ = other.max_bytes_;
    keep_ = other.keep_;
    fd_ = other.fd_;
    size_ = other.size_;
    other.fd_ = -1;
  }
  return *this;
}

RunLog::~RunLog() { Close(); }

void RunLog::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status RunLog::Append(std::string_view data) {
  while (fd_ >= 0 && !data.empty()) {
    if (max_bytes_ > 0 && size_ >= max_bytes_) {
      if (absl::Status s = Rotate(); !s.ok()) {
        Close();
        return s;
      }
    }
    const size_t room = max_bytes_ > 0 ? max_bytes_ - size_ : data.size();
    const ssize_t n = ::write(fd_, data.data(), std::min(room, data.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      Close();
      return absl::InternalError(
          fmt::format("run log: writing {}: {}", path_, std::generic_category().message(err)));
    }
    data.remove_prefix(static_cast<size_t>(n));
    size_ += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status RunLog::Rotate() {
  Close();
  const auto numbered = [&](int i) { return fmt::format("{}.{}", path_, i); };
  const auto move = [](const std::string& from, const std::string& to) -> absl::Status {
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(fmt::format("run log: rotating {} to {}: {}", from, to,
                                             std::generic_category().message(errno)));
    }
    return absl::OkStatus();
  };
  for (int i = keep_ - 1; i >= 1; --i) RETURN_IF_ERROR(move(numbered(i), numbered(i + 1)));
  if (keep_ >= 1) RETURN_IF_ERROR(move(path_, numbered(1)));
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        fmt::format("run log: cannot open {}: {}", path_, std::generic_category().message(errno)));
  }
  fd_ = fd;
  size_ = 0;
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace forest::worker
