// The AuditLog over SOCI: the forest_audit table (migration 4), one session
// of its own (soci_session.h). Every value goes through a bound parameter;
// only our column names, placeholders and validated integers (LIMIT/OFFSET)
// are spliced into the SQL text.
#include <soci/soci.h>

#include <memory>
#include <string>
#include <utility>

#include "history/audit.h"
#include "history/soci_backend.h"
#include "history/soci_rows.h"
#include "history/soci_session.h"

namespace forest::history {
namespace {

using internal::ToMillis;

constexpr int kMaxPageSize = 1000;

absl::Status CheckLength(const std::string& value, size_t limit, const char* field) {
  if (value.size() <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError("audit " + std::string(field) + " has " +
                                    std::to_string(value.size()) + " bytes; the limit is " +
                                    std::to_string(limit));
}

absl::Status Validate(const AuditEntry& e) {
  if (e.action.empty()) return absl::InvalidArgumentError("audit entry without an action");
  RETURN_IF_ERROR(CheckLength(e.actor, kMaxAuditActor, "actor"));
  RETURN_IF_ERROR(CheckLength(e.action, kMaxAuditAction, "action"));
  RETURN_IF_ERROR(CheckLength(e.object_type, kMaxAuditObjectType, "object type"));
  RETURN_IF_ERROR(CheckLength(e.object_id, kMaxAuditObjectId, "object id"));
  RETURN_IF_ERROR(CheckLength(e.client_address, kMaxAuditClientAddress, "client address"));
  return CheckLength(e.detail, kMaxAuditDetail, "detail");
}

class SociAuditLog final : public AuditLog {
 public:
  SociAuditLog(DbUrl url, Clock& clock, std::unique_ptr<soci::session> session)
      : clock_(clock), db_(std::move(url), std::move(session)) {}

  absl::Status Append(const AuditEntry& entry) override {
    RETURN_IF_ERROR(Validate(entry));
    return db_.Run("appending to the audit log", [&](soci::session& sql) -> absl::Status {
      long long at = ToMillis(entry.at == Time() ? clock_.Now() : entry.at);
      std::string actor = entry.actor, action = entry.action, object_type = entry.object_type,
                  object_id = entry.object_id, detail = entry.detail,
                  address = entry.client_address;
      int ok = entry.ok ? 1 : 0;
      sql << "INSERT INTO forest_audit (created_at, actor, action, object_type, object_id, "
             "detail, client_address, ok) VALUES (:at, :actor, :action, :type, :object, "
             ":detail, :address, :ok)",
          soci::use(at), soci::use(actor), soci::use(action), soci::use(object_type),
          soci::use(object_id), soci::use(detail), soci::use(address), soci::use(ok);
      return absl::OkStatus();
    });
  }

  absl::StatusOr<AuditPage> List(const AuditQuery& query) override {
    if (query.page_size < 1 || query.page_size > kMaxPageSize) {
      return absl::InvalidArgumentError("page size " + std::to_string(query.page_size) +
                                        " is outside 1.." + std::to_string(kMaxPageSize));
    }
    if (query.page_no < 1) {
      return absl::InvalidArgumentError("page number " + std::to_string(query.page_no) +
                                        " is below 1");
    }
    return db_.Run("listing the audit log", [&](soci::session& sql) -> absl::StatusOr<AuditPage> {
      internal::Filters filters;
      if (!query.actor.empty()) filters.Add("actor = ", query.actor);
      if (!query.action.empty()) filters.Add("action = ", query.action);
      if (!query.object_type.empty()) filters.Add("object_type = ", query.object_type);
      if (!query.object_id.empty()) filters.Add("object_id = ", query.object_id);
      if (query.from) filters.Add("created_at >= ", ToMillis(*query.from));
      if (query.to) filters.Add("created_at < ", ToMillis(*query.to));
      const std::string where = filters.Where();

      AuditPage page;
      {
        const internal::PageCount counted =
            internal::CountPages(sql, filters, "forest_audit", query.page_size);
        page.total_count = counted.total_count;
        page.total_pages = counted.total_pages;
      }
      const long long offset = static_cast<long long>(query.page_no - 1) * query.page_size;
      if (offset >= page.total_count) return page;

      long long id = 0, at = 0;
      int ok = 0;
      std::string actor, action, object_type, object_id, detail, address;
      soci::indicator detail_ind = soci::i_ok;
      soci::statement st(sql);
      filters.Bind(st);
      st.exchange(soci::into(id));
      st.exchange(soci::into(at));
      st.exchange(soci::into(actor));
      st.exchange(soci::into(action));
      st.exchange(soci::into(object_type));
      st.exchange(soci::into(object_id));
      st.exchange(soci::into(detail, detail_ind));
      st.exchange(soci::into(address));
      st.exchange(soci::into(ok));
      st.alloc();
      st.prepare(
          "SELECT id, created_at, actor, action, object_type, object_id, detail, "
          "client_address, ok FROM forest_audit" +
          where + " ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(query.page_size) +
          " OFFSET " + std::to_string(offset));
      st.define_and_bind();
      st.execute(false);
      while (st.fetch()) {
        AuditEntry e;
        e.id = id;
        e.at = Time(Millis(at));
        e.actor = actor;
        e.action = action;
        e.object_type = object_type;
        e.object_id = object_id;
        if (detail_ind == soci::i_ok) e.detail = detail;
        e.client_address = address;
        e.ok = ok != 0;
        page.rows.push_back(std::move(e));
      }
      return page;
    });
  }

 private:
  Clock& clock_;
  internal::ReconnectingSession db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> OpenAuditLog(const DbUrl& url, Clock& clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<soci::session> session,
                   internal::ConnectAndMigrate(url, clock.Now()));
  return std::make_unique<SociAuditLog>(url, clock, std::move(session));
}

}  // namespace forest::history
