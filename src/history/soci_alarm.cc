// The AlarmLog over SOCI: forest_alarm, forest_alarm_delivery and
// forest_alarm_condition (migration 5), one session of its own
// (soci_session.h). Every value goes through a bound parameter; only our
// column names, placeholders and validated integers are spliced into SQL.
#include <soci/soci.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "history/alarm_log.h"
#include "history/soci_backend.h"
#include "history/soci_rows.h"
#include "history/soci_session.h"

namespace forest::history {
namespace {

using internal::CleanText;
using internal::CountPages;
using internal::Filters;
using internal::PageCount;
using internal::ToMillis;

constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxName = 255;
constexpr size_t kMaxTitle = 512;
constexpr size_t kMaxError = 1024;
constexpr size_t kMaxOwner = 255;
constexpr size_t kMaxWorker = 128;
constexpr size_t kMaxLeader = 128;
constexpr size_t kMaxChannelType = 16;

// Valid UTF-8, at most `limit` characters (cut on a character boundary).
std::string Fit(const std::string& s, size_t limit) {
  std::string clean = CleanText(s);
  if (internal::Characters(clean) <= limit) return clean;
  size_t chars = 0, i = 0;
  while (i < clean.size() && chars < limit) {
    const unsigned char c = static_cast<unsigned char>(clean[i]);
    i += c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    ++chars;
  }
  return clean.substr(0, std::min(i, clean.size()));
}

absl::Status CheckId(const std::string& value, size_t limit, const char* what) {
  if (value.size() > limit) {
    return absl::InvalidArgumentError(std::string(what) + " is longer than " +
                                      std::to_string(limit) + " bytes");
  }
  if (CleanText(value) != value) {
    return absl::InvalidArgumentError(std::string(what) + " is not valid UTF-8");
  }
  return absl::OkStatus();
}

absl::Status Validate(const AlarmEntry& e) {
  if (e.id.empty()) return absl::InvalidArgumentError("an alarm needs an id");
  if (e.kind.empty()) return absl::InvalidArgumentError("an alarm needs a kind");
  if (e.deliveries.empty()) return absl::InvalidArgumentError("an alarm needs a delivery");
  RETURN_IF_ERROR(CheckId(e.id, kMaxAlarmId, "alarm id"));
  RETURN_IF_ERROR(CheckId(e.kind, kMaxAlarmKind, "alarm kind"));
  RETURN_IF_ERROR(CheckId(e.job_id, kMaxAlarmJobId, "job id"));
  RETURN_IF_ERROR(CheckId(e.group, kMaxAlarmGroup, "group"));
  RETURN_IF_ERROR(CheckId(e.execution_id, kMaxAlarmExecutionId, "execution id"));
  for (const AlarmDelivery& d : e.deliveries) {
    if (d.channel_id.empty()) return absl::InvalidArgumentError("a delivery needs a channel");
    RETURN_IF_ERROR(CheckId(d.channel_id, kMaxAlarmChannelId, "channel id"));
  }
  return absl::OkStatus();
}

// One delivery row as SOCI binds it.
struct DeliveryRow {
  std::string alarm_id, channel_id, channel_name, channel_type, state;
  int attempts = 0;
  std::string last_error;
  long long next_attempt_at = 0;
  std::string owner;
  long long updated_at = 0;
  long long sent_at = 0;
  soci::indicator sent_ind = soci::i_null;
  long long alarm_created_at = 0;

  AlarmDelivery ToDelivery() const {
    AlarmDelivery d;
    d.alarm_id = alarm_id;
    d.channel_id = channel_id;
    d.channel_name = channel_name;
    d.channel_type = channel_type;
    d.state = ParseDeliveryState(state).value_or(DeliveryState::kFailed);
    d.attempts = attempts;
    d.last_error = last_error;
    d.next_attempt_at = Time(Millis(next_attempt_at));
    d.owner = owner;
    d.updated_at = Time(Millis(updated_at));
    if (sent_ind == soci::i_ok) d.sent_at = Time(Millis(sent_at));
    d.alarm_created_at = Time(Millis(alarm_created_at));
    return d;
  }
};

constexpr char kDeliveryColumns[] =
    "alarm_id, channel_id, channel_name, channel_type, state, attempts, last_error, "
    "next_attempt_at, owner, updated_at, sent_at, alarm_created_at";

void IntoDelivery(soci::statement& st, DeliveryRow& r) {
  st.exchange(soci::into(r.alarm_id));
  st.exchange(soci::into(r.channel_id));
  st.exchange(soci::into(r.channel_name));
  st.exchange(soci::into(r.channel_type));
  st.exchange(soci::into(r.state));
  st.exchange(soci::into(r.attempts));
  st.exchange(soci::into(r.last_error));
  st.exchange(soci::into(r.next_attempt_at));
  st.exchange(soci::into(r.owner));
  st.exchange(soci::into(r.updated_at));
  st.exchange(soci::into(r.sent_at, r.sent_ind));
  st.exchange(soci::into(r.alarm_created_at));
}

struct AlarmRow {
  std::string id, kind, job_id, job_name, group, execution_id, worker, title, detail;
  soci::indicator detail_ind = soci::i_ok;
  long long count = 1, first_at = 0, last_at = 0, created_at = 0;
  std::string leader_node;

  AlarmEntry ToEntry() const {
    AlarmEntry e;
    e.id = id;
    e.kind = kind;
    e.job_id = job_id;
    e.job_name = job_name;
    e.group = group;
    e.execution_id = execution_id;
    e.worker = worker;
    e.title = title;
    if (detail_ind == soci::i_ok) e.detail = detail;
    e.count = count;
    e.first_at = Time(Millis(first_at));
    e.last_at = Time(Millis(last_at));
    e.created_at = Time(Millis(created_at));
    e.leader_node = leader_node;
    return e;
  }
};

constexpr char kAlarmColumns[] =
    "id, kind, job_id, job_name, group_name, execution_id, worker, title, detail, event_count, "
    "first_at, last_at, created_at, leader_node";

void IntoAlarm(soci::statement& st, AlarmRow& r) {
  st.exchange(soci::into(r.id));
  st.exchange(soci::into(r.kind));
  st.exchange(soci::into(r.job_id));
  st.exchange(soci::into(r.job_name));
  st.exchange(soci::into(r.group));
  st.exchange(soci::into(r.execution_id));
  st.exchange(soci::into(r.worker));
  st.exchange(soci::into(r.title));
  st.exchange(soci::into(r.detail, r.detail_ind));
  st.exchange(soci::into(r.count));
  st.exchange(soci::into(r.first_at));
  st.exchange(soci::into(r.last_at));
  st.exchange(soci::into(r.created_at));
  st.exchange(soci::into(r.leader_node));
}

// A transaction that writes. On SQLite it takes the write lock at once
// (BEGIN IMMEDIATE): a deferred one that read first could not upgrade after
// another connection (the history's, in the same file) wrote meanwhile,
// and would fail at once instead of waiting out the busy timeout.
class WriteTransaction {
 public:
  WriteTransaction(soci::session& sql, DbUrl::Kind kind)
      : sql_(sql), sqlite_(kind == DbUrl::Kind::kSqlite) {
    if (sqlite_) {
      sql_ << "BEGIN IMMEDIATE";
    } else {
      sql_.begin();
    }
  }
  ~WriteTransaction() {
    if (done_) return;
    try {
      if (sqlite_) {
        sql_ << "ROLLBACK";
      } else {
        sql_.rollback();
      }
    } catch (...) {
      // The connection is gone: so is the transaction.
    }
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void Commit() {
    if (sqlite_) {
      sql_ << "COMMIT";
    } else {
      sql_.commit();
    }
    done_ = true;
  }

 private:
  soci::session& sql_;
  const bool sqlite_;
  bool done_ = false;
};

class SociAlarmLog final : public AlarmLog {
 public:
  SociAlarmLog(DbUrl url, Clock& clock, std::unique_ptr<soci::session> session)
      : clock_(clock), db_(std::move(url), std::move(session)) {}

  absl::StatusOr<bool> Record(const AlarmEntry& entry) override {
    RETURN_IF_ERROR(Validate(entry));
    return db_.Run("recording an alarm", [&](soci::session& sql) -> absl::StatusOr<bool> {
      WriteTransaction tr(sql, db_.url().kind);
      std::string id = entry.id;
      long long existing = 0;
      sql << "SELECT COUNT(*) FROM forest_alarm WHERE id = :id", soci::into(existing),
          soci::use(id);
      if (existing > 0) return false;
      long long created = ToMillis(entry.created_at == Time() ? clock_.Now() : entry.created_at);
      std::string kind = entry.kind, job_id = entry.job_id,
                  job_name = Fit(entry.job_name, kMaxName), group = entry.group,
                  execution_id = entry.execution_id, worker = Fit(entry.worker, kMaxWorker),
                  title = Fit(entry.title, kMaxTitle), detail = CleanText(entry.detail),
                  leader = Fit(entry.leader_node, kMaxLeader);
      long long count = entry.count, first = ToMillis(entry.first_at),
                last = ToMillis(entry.last_at);
      sql << "INSERT INTO forest_alarm (" << kAlarmColumns
          << ") VALUES (:id, :kind, :job, :jname, :grp, :exec, :worker, :title, :detail, "
             ":count, :first, :last, :created, :leader)",
          soci::use(id), soci::use(kind), soci::use(job_id), soci::use(job_name), soci::use(group),
          soci::use(execution_id), soci::use(worker), soci::use(title), soci::use(detail),
          soci::use(count), soci::use(first), soci::use(last), soci::use(created),
          soci::use(leader);
      for (const AlarmDelivery& d : entry.deliveries) {
        std::string channel = d.channel_id, name = Fit(d.channel_name, kMaxName),
                    type = Fit(d.channel_type, kMaxChannelType), state = std::string(Name(d.state)),
                    error = Fit(d.last_error, kMaxError), owner = Fit(d.owner, kMaxOwner);
        int attempts = d.attempts;
        long long next = ToMillis(d.next_attempt_at);
        long long updated = d.updated_at == Time() ? created : ToMillis(d.updated_at);
        long long sent = d.sent_at ? ToMillis(*d.sent_at) : 0;
        soci::indicator sent_ind = d.sent_at ? soci::i_ok : soci::i_null;
        sql << "INSERT INTO forest_alarm_delivery (" << kDeliveryColumns
            << ") VALUES (:a, :c, :n, :t, :s, :at, :e, :next, :o, :u, :sent, :created)",
            soci::use(id), soci::use(channel), soci::use(name), soci::use(type), soci::use(state),
            soci::use(attempts), soci::use(error), soci::use(next), soci::use(owner),
            soci::use(updated), soci::use(sent, sent_ind), soci::use(created);
      }
      tr.Commit();
      return true;
    });
  }

  absl::StatusOr<std::vector<AlarmDelivery>> Due(Time now, std::string_view owner,
                                                 int limit) override {
    using Rows = std::vector<AlarmDelivery>;
    if (limit < 1) return Rows{};
    return db_.Run("reading due alarm deliveries", [&](soci::session& sql) -> absl::StatusOr<Rows> {
      DeliveryRow r;
      long long at = ToMillis(now);
      std::string pending(Name(DeliveryState::kPending)), sending(Name(DeliveryState::kSending)),
          me(owner);
      soci::statement st(sql);
      IntoDelivery(st, r);
      st.exchange(soci::use(pending));
      st.exchange(soci::use(at));
      st.exchange(soci::use(sending));
      st.exchange(soci::use(me));
      st.alloc();
      st.prepare(std::string("SELECT ") + kDeliveryColumns +
                 " FROM forest_alarm_delivery WHERE (state = :p AND next_attempt_at <= :now) OR "
                 "(state = :s AND owner <> :me) ORDER BY alarm_created_at, alarm_id, channel_id "
                 "LIMIT " +
                 std::to_string(limit));
      st.define_and_bind();
      st.execute(false);
      Rows out;
      while (st.fetch()) out.push_back(r.ToDelivery());
      return out;
    });
  }

  absl::StatusOr<bool> Claim(const AlarmDelivery& seen, std::string_view owner, Time now) override {
    return db_.Run("claiming an alarm delivery", [&](soci::session& sql) -> absl::StatusOr<bool> {
      std::string sending(Name(DeliveryState::kSending)),
          me = Fit(std::string(owner), kMaxOwner), alarm = seen.alarm_id, channel = seen.channel_id,
          state(Name(seen.state)), old_owner = seen.owner;
      long long at = ToMillis(now);
      int attempts = seen.attempts;
      soci::statement st =
          (sql.prepare << "UPDATE forest_alarm_delivery SET state = :s, owner = :o, attempts = "
                          "attempts + 1, updated_at = :u WHERE alarm_id = :a AND channel_id = :c "
                          "AND state = :old AND owner = :oldo AND attempts = :n",
           soci::use(sending), soci::use(me), soci::use(at), soci::use(alarm), soci::use(channel),
           soci::use(state), soci::use(old_owner), soci::use(attempts));
      st.execute(true);
      return st.get_affected_rows() == 1;
    });
  }

  absl::StatusOr<bool> Finish(std::string_view alarm_id, std::string_view channel_id,
                              std::string_view owner, DeliveryState state, std::string_view error,
                              Time next_attempt_at, Time now) override {
    if (state == DeliveryState::kSending) {
      return absl::InvalidArgumentError("an attempt finishes as sent, pending or failed");
    }
    return db_.Run("recording an alarm delivery", [&](soci::session& sql) -> absl::StatusOr<bool> {
      std::string sending(Name(DeliveryState::kSending)), me(owner), alarm(alarm_id),
          channel(channel_id), next_state(Name(state)), why = Fit(std::string(error), kMaxError);
      long long at = ToMillis(now), next = ToMillis(next_attempt_at);
      long long sent = at;
      soci::indicator sent_ind = state == DeliveryState::kSent ? soci::i_ok : soci::i_null;
      soci::statement st =
          (sql.prepare << "UPDATE forest_alarm_delivery SET state = :s, last_error = :e, "
                          "next_attempt_at = :next, updated_at = :u, sent_at = :sent WHERE "
                          "alarm_id = :a AND channel_id = :c AND state = :sending AND owner = :o",
           soci::use(next_state), soci::use(why), soci::use(next), soci::use(at),
           soci::use(sent, sent_ind), soci::use(alarm), soci::use(channel), soci::use(sending),
           soci::use(me));
      st.execute(true);
      return st.get_affected_rows() == 1;
    });
  }

  absl::StatusOr<AlarmPage> List(const AlarmQuery& query) override {
    if (query.page_size < 1 || query.page_size > kMaxPageSize) {
      return absl::InvalidArgumentError("page size " + std::to_string(query.page_size) +
                                        " is outside 1.." + std::to_string(kMaxPageSize));
    }
    if (query.page_no < 1) {
      return absl::InvalidArgumentError("page number " + std::to_string(query.page_no) +
                                        " is below 1");
    }
    return db_.Run("listing alarms", [&](soci::session& sql) -> absl::StatusOr<AlarmPage> {
      Filters filters;
      if (!query.kind.empty()) filters.Add("kind = ?", query.kind);
      if (!query.job_id.empty()) filters.Add("job_id = ?", query.job_id);
      if (!query.group.empty()) filters.Add("group_name = ?", query.group);
      if (query.from) filters.Add("created_at >= ?", ToMillis(*query.from));
      if (query.to) filters.Add("created_at < ?", ToMillis(*query.to));
      if (!query.channel_id.empty()) {
        filters.Add("id IN (SELECT alarm_id FROM forest_alarm_delivery WHERE channel_id = ?)",
                    query.channel_id);
      }
      if (query.state) {
        filters.Add("id IN (SELECT alarm_id FROM forest_alarm_delivery WHERE state = ?)",
                    std::string(Name(*query.state)));
      }
      const std::string where = filters.Where();

      AlarmPage page;
      {
        const PageCount counted = CountPages(sql, filters, "forest_alarm", query.page_size);
        page.total_count = counted.total_count;
        page.total_pages = counted.total_pages;
      }
      const long long offset = static_cast<long long>(query.page_no - 1) * query.page_size;
      if (offset >= page.total_count) return page;
      {
        AlarmRow r;
        soci::statement st(sql);
        filters.Bind(st);
        IntoAlarm(st, r);
        st.alloc();
        st.prepare(std::string("SELECT ") + kAlarmColumns + " FROM forest_alarm" + where +
                   " ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(query.page_size) +
                   " OFFSET " + std::to_string(offset));
        st.define_and_bind();
        st.execute(false);
        while (st.fetch()) page.rows.push_back(r.ToEntry());
      }
      LoadDeliveries(sql, page.rows);
      return page;
    });
  }

  absl::StatusOr<AlarmEntry> Get(std::string_view id) override {
    return db_.Run("reading an alarm", [&](soci::session& sql) -> absl::StatusOr<AlarmEntry> {
      std::vector<AlarmEntry> rows;
      AlarmRow r;
      std::string wanted(id);
      soci::statement st(sql);
      IntoAlarm(st, r);
      st.exchange(soci::use(wanted));
      st.alloc();
      st.prepare(std::string("SELECT ") + kAlarmColumns + " FROM forest_alarm WHERE id = :id");
      st.define_and_bind();
      st.execute(false);
      while (st.fetch()) rows.push_back(r.ToEntry());
      if (rows.empty()) return absl::NotFoundError("no alarm " + wanted);
      LoadDeliveries(sql, rows);
      return rows.front();
    });
  }

  absl::StatusOr<std::vector<AlarmCondition>> OpenConditions() override {
    using Rows = std::vector<AlarmCondition>;
    return db_.Run("reading alarm conditions", [&](soci::session& sql) -> absl::StatusOr<Rows> {
      Rows out;
      std::string key;
      int open = 0;
      long long episode = 0, changed = 0;
      soci::statement st =
          (sql.prepare << "SELECT cond_key, is_open, episode, changed_at FROM "
                          "forest_alarm_condition WHERE is_open = 1 ORDER BY "
                          "cond_key",
           soci::into(key), soci::into(open), soci::into(episode), soci::into(changed));
      st.execute(false);
      while (st.fetch()) out.push_back({key, open != 0, episode, Time(Millis(changed))});
      return out;
    });
  }

  absl::StatusOr<std::optional<AlarmCondition>> GetCondition(std::string_view key) override {
    using Row = std::optional<AlarmCondition>;
    return db_.Run("reading an alarm condition", [&](soci::session& sql) -> absl::StatusOr<Row> {
      std::string wanted(key), found;
      int open = 0;
      long long episode = 0, changed = 0;
      soci::statement st = (sql.prepare << "SELECT cond_key, is_open, episode, changed_at FROM "
                                           "forest_alarm_condition WHERE cond_key = :k",
                            soci::into(found), soci::into(open), soci::into(episode),
                            soci::into(changed), soci::use(wanted));
      st.execute(false);
      if (!st.fetch()) return Row{};
      return Row(AlarmCondition{found, open != 0, episode, Time(Millis(changed))});
    });
  }

  absl::Status PutCondition(const AlarmCondition& c) override {
    if (c.key.empty()) return absl::InvalidArgumentError("an alarm condition needs a key");
    RETURN_IF_ERROR(CheckId(c.key, kMaxAlarmConditionKey, "condition key"));
    return db_.Run("writing an alarm condition", [&](soci::session& sql) -> absl::Status {
      WriteTransaction tr(sql, db_.url().kind);
      std::string key = c.key;
      int open = c.open ? 1 : 0;
      long long episode = c.episode, changed = ToMillis(c.changed_at);
      soci::statement update =
          (sql.prepare << "UPDATE forest_alarm_condition SET is_open = :o, episode = :e, "
                          "changed_at = :c WHERE cond_key = :k",
           soci::use(open), soci::use(episode), soci::use(changed), soci::use(key));
      update.execute(true);
      if (update.get_affected_rows() == 0) {
        // MySQL counts rows changed, not matched: a row already holding
        // these values answers 0 too, and then the insert must not run.
        long long exists = 0;
        sql << "SELECT COUNT(*) FROM forest_alarm_condition WHERE cond_key = :k",
            soci::into(exists), soci::use(key);
        if (exists == 0) {
          sql << "INSERT INTO forest_alarm_condition (cond_key, is_open, episode, changed_at) "
                 "VALUES (:k, :o, :e, :c)",
              soci::use(key), soci::use(open), soci::use(episode), soci::use(changed);
        }
      }
      tr.Commit();
      return absl::OkStatus();
    });
  }

  absl::StatusOr<int64_t> DeleteOlderThan(Time before, int limit) override {
    if (limit < 1) return absl::InvalidArgumentError("limit must be positive");
    return db_.Run("deleting old alarms", [&](soci::session& sql) -> absl::StatusOr<int64_t> {
      long long cutoff = ToMillis(before);
      std::vector<std::string> ids;
      {
        std::string id;
        soci::statement st = (sql.prepare << "SELECT id FROM forest_alarm WHERE created_at < :b "
                                             "ORDER BY created_at LIMIT " +
                                                 std::to_string(limit),
                              soci::into(id), soci::use(cutoff));
        st.execute(false);
        while (st.fetch()) ids.push_back(id);
      }
      if (ids.empty()) return int64_t{0};
      WriteTransaction tr(sql, db_.url().kind);
      for (std::string& id : ids) {
        sql << "DELETE FROM forest_alarm_delivery WHERE alarm_id = :a", soci::use(id);
        sql << "DELETE FROM forest_alarm WHERE id = :a", soci::use(id);
      }
      tr.Commit();
      return static_cast<int64_t>(ids.size());
    });
  }

 private:
  // Fills each entry's deliveries (one query for the page).
  void LoadDeliveries(soci::session& sql, std::vector<AlarmEntry>& entries) {
    if (entries.empty()) return;
    std::map<std::string, size_t> index;
    std::deque<std::string> ids;
    std::string placeholders;
    for (size_t i = 0; i < entries.size(); ++i) {
      index[entries[i].id] = i;
      ids.push_back(entries[i].id);
      placeholders += (i == 0 ? ":a" : ", :a") + std::to_string(i);
    }
    DeliveryRow r;
    soci::statement st(sql);
    IntoDelivery(st, r);
    for (std::string& id : ids) st.exchange(soci::use(id));
    st.alloc();
    st.prepare(std::string("SELECT ") + kDeliveryColumns +
               " FROM forest_alarm_delivery WHERE alarm_id IN (" + placeholders +
               ") ORDER BY alarm_id, channel_id");
    st.define_and_bind();
    st.execute(false);
    while (st.fetch()) {
      const auto it = index.find(r.alarm_id);
      if (it != index.end()) entries[it->second].deliveries.push_back(r.ToDelivery());
    }
  }

  Clock& clock_;
  internal::ReconnectingSession db_;
};

}  // namespace

std::string_view Name(DeliveryState s) {
  switch (s) {
    case DeliveryState::kPending:
      return "pending";
    case DeliveryState::kSending:
      return "sending";
    case DeliveryState::kSent:
      return "sent";
    case DeliveryState::kFailed:
      return "failed";
  }
  return "failed";
}

std::optional<DeliveryState> ParseDeliveryState(std::string_view name) {
  for (DeliveryState s : {DeliveryState::kPending, DeliveryState::kSending, DeliveryState::kSent,
                          DeliveryState::kFailed}) {
    if (Name(s) == name) return s;
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<AlarmLog>> OpenAlarmLog(const DbUrl& url, Clock& clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<soci::session> session,
                   internal::ConnectAndMigrate(url, clock.Now()));
  return std::make_unique<SociAlarmLog>(url, clock, std::move(session));
}

}  // namespace forest::history
