// The audit log: who did what, to which object, from where, and whether it
// worked. The API appends an entry for every state change and every login
// attempt; admins list them, newest first.
//
// Stored in the history database (schema version 4, table `forest_audit`,
// indexed by time, by actor, by action and by object), so a cluster sharing
// one database shares one log. OpenAuditLog connects on its own (one
// connection, serialized by a mutex, replaced after a connection error, as
// the HistoryStore's) and creates or migrates the schema like Open does:
// the server opens both on the same --db-url.
//
// Entries are never updated; nothing here deletes them.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/time.h"
#include "history/history.h"

namespace forest::history {

// Limits of the text fields, in bytes; Append rejects longer ones.
inline constexpr size_t kMaxAuditActor = 128;
inline constexpr size_t kMaxAuditAction = 64;
inline constexpr size_t kMaxAuditObjectType = 64;
inline constexpr size_t kMaxAuditObjectId = 255;
inline constexpr size_t kMaxAuditClientAddress = 128;
inline constexpr size_t kMaxAuditDetail = 65535;

struct AuditEntry {
  int64_t id = 0;  // assigned by the database; ignored by Append
  Time at;         // when; Append stamps the clock's Now() when left at the epoch
  // The user ("" when authentication is off, or for a failed login of an
  // unknown name: then the name tried is in `detail`).
  std::string actor;
  // What was done: "job.create", "job.update", "job.delete", "job.pause",
  // "job.resume", "job.run", "execution.kill", "assignment.delete",
  // "group.create", "user.create", "token.create", "token.revoke", "login",
  // "login.failed", ... Required.
  std::string action;
  std::string object_type;     // "job", "group", "user", "token", ... or ""
  std::string object_id;       // its id or name, or ""
  std::string detail;          // JSON text by convention (never a secret), or ""
  std::string client_address;  // the caller's address
  bool ok = true;              // false: the action was refused or failed

  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

// Every filter that is set must match (exact matches; times on `at`).
struct AuditQuery {
  std::string actor;
  std::string action;
  std::string object_type;
  std::string object_id;
  std::optional<Time> from;  // at >= from
  std::optional<Time> to;    // at < to
  int page_size = 20;        // 1..1000
  int page_no = 1;           // from 1
};

struct AuditPage {
  int64_t total_count = 0;
  int64_t total_pages = 0;
  std::vector<AuditEntry> rows;  // newest first (ties: the later appended first)
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // InvalidArgument for an empty action or a field over its limit.
  virtual absl::Status Append(const AuditEntry& entry) = 0;
  // InvalidArgument for a page size or number out of range.
  virtual absl::StatusOr<AuditPage> List(const AuditQuery& query) = 0;
};

// As history::Open: kUnavailable when the database cannot be reached,
// kInvalidArgument for an unusable URL. `clock` must outlive the log.
absl::StatusOr<std::unique_ptr<AuditLog>> OpenAuditLog(const DbUrl& url, Clock& clock);

}  // namespace forest::history
