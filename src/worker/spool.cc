#include "worker/spool.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>
#include <vector>

namespace forest::worker::internal {
namespace {

std::string FileName(std::string_view key) {
  std::string out(key.substr(key.starts_with('/') ? 1 : 0));
  for (char& c : out) {
    if (c == '/') c = '_';
  }
  return out + ".json";
}

// Writes `text` to `path` via a temporary file, fsynced, then renamed.
bool WriteAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return false;
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return false;
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return true;
}

}  // namespace

absl::Status WriteFinal(coord::Store& store, const SpooledRecord& record) {
  coord::TxnRequest txn;
  txn.compare.push_back(coord::Compare::CreateRevision(record.key, coord::Compare::Result::kEqual,
                                                       record.create_revision));
  coord::PutRequest put;
  put.key = record.key;
  put.value = record.value;
  txn.success.push_back(put);
  auto response = store.Txn(txn);
  if (!response.ok()) return response.status();
  if (!response->succeeded) {
    spdlog::warn("final record {} not written: the record was replaced or collected meanwhile",
                 record.key);
  }
  return absl::OkStatus();
}

void Spool::Add(const SpooledRecord& record) {
  std::lock_guard lock(mu_);
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    const nlohmann::json j{{"key", record.key},
                           {"value", record.value},
                           {"createRevision", record.create_revision}};
    if (!ec && WriteAtomically(std::filesystem::path(dir_) / FileName(record.key),
                               j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))) {
      return;
    }
    spdlog::warn("cannot spool {} to {}: keeping it in memory", record.key, dir_);
  }
  memory_[record.key] = record;
}

size_t Spool::Flush(coord::Store& store) {
  std::vector<SpooledRecord> records;
  std::vector<std::filesystem::path> files;  // parallel to the tail of `records`
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, record] : memory_) records.push_back(record);
  }
  const size_t in_memory = records.size();
  std::error_code ec;
  if (!dir_.empty() && std::filesystem::is_directory(dir_, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      if (entry.path().extension() != ".json") continue;
      std::ifstream in(entry.path());
      const auto j = nlohmann::json::parse(in, nullptr, false);
      if (!j.is_object() || !j.contains("key") || !j["key"].is_string() || !j.contains("value") ||
          !j["value"].is_string()) {
        spdlog::warn("spool file {} is unreadable; leaving it aside", entry.path().string());
        std::filesystem::rename(entry.path(), entry.path().string() + ".bad", ec);
        continue;
      }
      records.push_back({j["key"].get<std::string>(), j["value"].get<std::string>(),
                         j.value("createRevision", coord::Revision{0})});
      files.push_back(entry.path());
    }
  }
  size_t left = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!WriteFinal(store, records[i]).ok()) {
      ++left;
      continue;
    }
    std::lock_guard lock(mu_);
    ++written_;
    if (i < in_memory) {
      memory_.erase(records[i].key);
    } else {
      std::filesystem::remove(files[i - in_memory], ec);
    }
  }
  return left;
}

int64_t Spool::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

}  // namespace forest::worker::internal
