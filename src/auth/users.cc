// Users: create, read, change, delete (never leaving the cluster without an
// enabled admin), and the first admin of an empty cluster.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "auth/auth.h"
#include "auth/authenticator_impl.h"
#include "auth/crypto.h"
#include "auth/records.h"

namespace forest::auth {
namespace {

using internal::UserRecord;

constexpr char kAdminName[] = "admin";
constexpr char kPasswordFile[] = "admin-password";
constexpr size_t kGeneratedPasswordLength = 24;  // ~143 bits over [A-Za-z0-9]
// Read-modify-write attempts before giving up on a busy user.
constexpr int kAttempts = 5;
// Compares a change of an admin makes on the other admins (etcd allows 128).
constexpr size_t kMaxAdminCompares = 100;

absl::Status NoUser(std::string_view name) {
  return absl::NotFoundError("no user \"" + std::string(name) + "\"");
}

absl::Status ErrnoStatus(const std::string& what, int error) {
  return absl::UnavailableError(what + ": " + std::generic_category().message(error));
}

// Writes `content` to a new file in `dir` created with mode 0600 (O_EXCL:
// never an existing file, never through a link) and syncs it; answers its path.
absl::StatusOr<std::string> WritePrivateTempFile(const std::string& dir,
                                                 const std::string& content) {
  const std::string path = dir + "/." + kPasswordFile + ".tmp-" + internal::RandomAlphanumeric(8);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create " + path, errno);
  size_t written = 0;
  int error = 0;
  while (written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      break;
    }
    written += static_cast<size_t>(n);
  }
  if (error == 0 && fsync(fd) != 0) error = errno;
  if (close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    unlink(path.c_str());
    return ErrnoStatus("cannot write " + path, error);
  }
  return path;
}

// Moves the written file to its final name (atomically replacing an older
// one) and syncs the directory. On failure the file stays where it is: it
// may hold the only copy of a password in use.
absl::Status Install(const std::string& temp, const std::string& path, const std::string& dir) {
  if (rename(temp.c_str(), path.c_str()) != 0) {
    return ErrnoStatus("cannot rename " + temp + " (which holds the admin password) to " + path,
                       errno);
  }
  if (const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  return absl::OkStatus();
}

bool IsEnabledAdmin(const UserRecord& u) { return u.role == Role::kAdmin && !u.disabled; }

}  // namespace

absl::StatusOr<std::optional<UserRecord>> Authenticator::Impl::ReadUser(std::string_view name) {
  ASSIGN_OR_RETURN(const coord::RangeResponse range,
                   store_.Range(internal::ReadKey(internal::UserKey(name))));
  if (range.kvs.empty()) return std::optional<UserRecord>();
  ASSIGN_OR_RETURN(UserRecord user, internal::ParseUser(range.kvs[0]));
  return std::optional<UserRecord>(std::move(user));
}

absl::StatusOr<std::vector<UserRecord>> Authenticator::Impl::ReadUsers() {
  const std::string prefix = internal::UsersPrefix();
  ASSIGN_OR_RETURN(const coord::RangeResponse range, store_.Range(internal::ReadPrefix(prefix)));
  std::vector<UserRecord> users;
  for (const coord::KeyValue& kv : range.kvs) {
    ASSIGN_OR_RETURN(UserRecord user, internal::ParseUser(kv));
    users.push_back(std::move(user));
  }
  return users;
}

namespace {

// For a change that takes `name`'s admin rights away: compares that hold
// while some other enabled admin stays as read, or FailedPrecondition when
// there is none.
absl::StatusOr<std::vector<coord::Compare>> OtherAdminsStay(const std::vector<UserRecord>& users,
                                                            std::string_view name) {
  std::vector<coord::Compare> compares;
  for (const UserRecord& u : users) {
    if (u.name == name || !IsEnabledAdmin(u)) continue;
    if (compares.size() == kMaxAdminCompares) break;
    compares.push_back(coord::Compare::ModRevision(internal::UserKey(u.name),
                                                   coord::Compare::Result::kEqual, u.mod_revision));
  }
  if (compares.empty()) {
    return absl::FailedPreconditionError("\"" + std::string(name) + "\" is the last enabled admin");
  }
  return compares;
}

}  // namespace

absl::StatusOr<UserInfo> Authenticator::Impl::CreateUser(std::string_view name,
                                                         std::string_view password, Role role) {
  RETURN_IF_ERROR(ValidateUserName(name));
  RETURN_IF_ERROR(ValidatePassword(password));
  UserRecord user;
  user.name = std::string(name);
  user.role = role;
  ASSIGN_OR_RETURN(user.password_hash, internal::HashPassword(password));
  user.created_at = user.updated_at = clock_.Now();
  const std::string key = internal::UserKey(name);
  coord::TxnRequest txn;
  txn.compare.push_back(coord::Compare::Absent(key));
  txn.success.push_back(coord::PutRequest{key, ToJson(user), 0, false});
  ASSIGN_OR_RETURN(const coord::TxnResponse response, store_.Txn(txn));
  if (!response.succeeded) {
    return absl::AlreadyExistsError("user \"" + user.name + "\" already exists");
  }
  return user.Info();
}

absl::StatusOr<std::vector<UserInfo>> Authenticator::Impl::ListUsers() {
  ASSIGN_OR_RETURN(const std::vector<UserRecord> users, ReadUsers());
  std::vector<UserInfo> out;
  for (const UserRecord& u : users) out.push_back(u.Info());
  return out;
}

absl::StatusOr<UserInfo> Authenticator::Impl::GetUser(std::string_view name) {
  if (!ValidateUserName(name).ok()) return NoUser(name);
  ASSIGN_OR_RETURN(const std::optional<UserRecord> user, ReadUser(name));
  if (!user) return NoUser(name);
  return user->Info();
}

absl::StatusOr<UserInfo> Authenticator::Impl::UpdateUser(std::string_view name,
                                                         const UserUpdate& update) {
  if (!ValidateUserName(name).ok()) return NoUser(name);
  std::string new_hash;
  if (update.password) {
    RETURN_IF_ERROR(ValidatePassword(*update.password));
    ASSIGN_OR_RETURN(new_hash, internal::HashPassword(*update.password));
  }
  const std::string key = internal::UserKey(name);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const std::vector<UserRecord> users, ReadUsers());
    const UserRecord* old = nullptr;
    for (const UserRecord& u : users) {
      if (u.name == name) old = &u;
    }
    if (old == nullptr) return NoUser(name);
    UserRecord changed = *old;
    if (update.role) changed.role = *update.role;
    if (update.disabled) changed.disabled = *update.disabled;
    if (update.password) {
      changed.password_hash = new_hash;
      ++changed.session_epoch;
    }
    changed.updated_at = clock_.Now();
    coord::TxnRequest txn;
    txn.compare.push_back(
        coord::Compare::ModRevision(key, coord::Compare::Result::kEqual, old->mod_revision));
    if (IsEnabledAdmin(*old) && !IsEnabledAdmin(changed)) {
      ASSIGN_OR_RETURN(std::vector<coord::Compare> others, OtherAdminsStay(users, name));
      for (coord::Compare& c : others) txn.compare.push_back(std::move(c));
    }
    txn.success.push_back(coord::PutRequest{key, ToJson(changed), 0, false});
    ASSIGN_OR_RETURN(const coord::TxnResponse response, store_.Txn(txn));
    if (response.succeeded) return changed.Info();
  }
  return absl::AbortedError("user \"" + std::string(name) + "\" kept changing; try again");
}

absl::Status Authenticator::Impl::DeleteUser(std::string_view name) {
  if (!ValidateUserName(name).ok()) return NoUser(name);
  const std::string key = internal::UserKey(name);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const std::vector<UserRecord> users, ReadUsers());
    const UserRecord* old = nullptr;
    for (const UserRecord& u : users) {
      if (u.name == name) old = &u;
    }
    if (old == nullptr) return NoUser(name);
    ASSIGN_OR_RETURN(const std::vector<internal::TokenRecord> all_tokens, ReadTokens());
    std::vector<std::string> token_keys;
    for (const internal::TokenRecord& t : all_tokens) {
      if (t.info.user == name) token_keys.push_back(internal::TokenKey(t.info.id));
    }
    coord::TxnRequest txn;
    txn.compare.push_back(
        coord::Compare::ModRevision(key, coord::Compare::Result::kEqual, old->mod_revision));
    if (IsEnabledAdmin(*old)) {
      ASSIGN_OR_RETURN(std::vector<coord::Compare> others, OtherAdminsStay(users, name));
      for (coord::Compare& c : others) txn.compare.push_back(std::move(c));
    }
    txn.success.push_back(coord::DeleteRequest{key, "", false});
    // The tokens go with the user where they fit; the rest right after.
    // Either way they stop working now: a token names its user's generation.
    size_t next = 0;
    for (; next < token_keys.size() && txn.success.size() < coord::kMaxTxnOps; ++next) {
      txn.success.push_back(coord::DeleteRequest{token_keys[next], "", false});
    }
    ASSIGN_OR_RETURN(const coord::TxnResponse response, store_.Txn(txn));
    if (!response.succeeded) continue;
    for (; next < token_keys.size(); ++next) {
      RETURN_IF_ERROR(store_.Delete({token_keys[next], "", false}).status());
    }
    return absl::OkStatus();
  }
  return absl::AbortedError("user \"" + std::string(name) + "\" kept changing; try again");
}

absl::StatusOr<AdminBootstrap> Authenticator::Impl::EnsureAdmin(std::optional<std::string> password,
                                                                const std::string& data_dir) {
  const std::string prefix = internal::UsersPrefix();
  coord::RangeRequest any_user = internal::ReadPrefix(prefix);
  any_user.count_only = true;
  ASSIGN_OR_RETURN(const coord::RangeResponse existing, store_.Range(any_user));
  if (existing.count > 0) return AdminBootstrap{};

  const bool generate = !password.has_value();
  if (generate) {
    if (data_dir.empty()) {
      return absl::InvalidArgumentError("no data directory to write the admin password to");
    }
    password = internal::RandomAlphanumeric(kGeneratedPasswordLength);
  }
  RETURN_IF_ERROR(ValidatePassword(*password));
  UserRecord admin;
  admin.name = kAdminName;
  admin.role = Role::kAdmin;
  ASSIGN_OR_RETURN(admin.password_hash, internal::HashPassword(*password));
  admin.created_at = admin.updated_at = clock_.Now();

  // The file is written before the user exists, so a created admin always
  // has its password somewhere; it gets its final name only once ours won.
  const std::string file = data_dir + "/" + kPasswordFile;
  std::string temp;
  if (generate) {
    ASSIGN_OR_RETURN(temp, WritePrivateTempFile(data_dir, *password + "\n"));
  }
  AdminBootstrap result;
  const auto won = [&]() -> absl::StatusOr<AdminBootstrap> {
    result.created = true;
    if (generate) {
      RETURN_IF_ERROR(Install(temp, file, data_dir));
      result.generated_password = *password;
      result.password_file = file;
    }
    return result;
  };
  const auto lost = [&]() {
    if (generate) unlink(temp.c_str());
  };

  // Created only while there is no user at all: of two nodes starting at
  // once, one creates the admin and the other finds it there.
  coord::Compare no_users;
  no_users.key = prefix;
  no_users.range_end = coord::PrefixEnd(prefix);
  no_users.target = coord::Compare::Target::kCreateRevision;
  no_users.result = coord::Compare::Result::kEqual;
  no_users.number = 0;
  coord::TxnRequest txn;
  txn.compare.push_back(no_users);
  txn.success.push_back(coord::PutRequest{internal::UserKey(kAdminName), ToJson(admin), 0, false});
  const absl::StatusOr<coord::TxnResponse> response = store_.Txn(txn);
  if (response.ok()) {
    if (response->succeeded) return won();
    lost();
    return result;
  }
  // The answer was lost: look whether the write happened.
  const absl::StatusOr<std::optional<UserRecord>> stored = ReadUser(kAdminName);
  if (stored.ok()) {
    if (*stored && (*stored)->password_hash == admin.password_hash) return won();
    lost();
    return response.status();
  }
  // Still unknown: keep the file, which may hold the only copy.
  if (generate) {
    if (Install(temp, file, data_dir).ok()) {
      return absl::Status(response.status().code(),
                          std::string(response.status().message()) +
                              " (if the admin was created, its password is in " + file + ")");
    }
  }
  return response.status();
}

}  // namespace forest::auth
