// Internal to history/: the SOCI plumbing shared by the store, the schema
// migrations and the tests (connections, error mapping, raw SQL).
//
// Functions that take a soci::session& throw soci::soci_error (callers
// catch and map with ErrorStatus); the others answer a Status.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "history/history.h"

namespace soci {
class session;
}  // namespace soci

namespace forest::history::internal {

// The newest schema version Migrate knows.
inline constexpr int kSchemaVersion = 5;

// A connected session (SQLite in WAL mode). Throws soci::soci_error.
std::unique_ptr<soci::session> Connect(const DbUrl& url);

// An exception from SOCI (or the standard library under it) as a Status:
// connection problems are kUnavailable, anything else kInternal; `what`
// says which operation failed.
absl::Status ErrorStatus(const std::exception& e, std::string_view what);
// True when `e` says the connection is gone (the session must be replaced).
bool IsConnectionError(const std::exception& e);

// What history::Open and OpenAuditLog share: checks the URL, connects, and
// creates or migrates the schema (`now` stamps the applied versions).
// kInvalidArgument, kUnavailable, or the migration's error.
absl::StatusOr<std::unique_ptr<soci::session>> ConnectAndMigrate(const DbUrl& url, Time now);

// Creates or migrates the schema to kSchemaVersion; a no-op when current.
// `now` stamps the applied versions. Throws soci::soci_error.
void Migrate(soci::session& sql, DbUrl::Kind kind, Time now);
// The applied versions, ascending. Throws soci::soci_error.
std::vector<int> AppliedVersions(soci::session& sql);

// The `group` column's name quoted for the backend.
std::string_view GroupColumn(DbUrl::Kind kind);

// Runs statements on a fresh connection, in order (tests and tools: the
// original's DDL, fixtures). No values are bound: trusted SQL only.
absl::Status ExecuteSql(const DbUrl& url, const std::vector<std::string>& statements);
// The first column of the first row of `query` as text (empty when NULL or
// no row); trusted SQL only.
absl::StatusOr<std::string> QueryScalar(const DbUrl& url, const std::string& query);

}  // namespace forest::history::internal
