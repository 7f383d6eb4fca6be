// The composition root: option checks, the default node id, and a
// standalone server that starts, creates its store and group, leads, and
// stops.
#include "server/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "coord/embedded/embedded_store.h"
#include "history/history.h"
#include "model/job.h"

namespace forest::server {
namespace {

using std::chrono::milliseconds;

// A fresh directory under the system's temporary directory, removed after.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "forest_server_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A standalone node "n1" with its data in `dir`/data and the API on a free
// loopback port.
ServerOptions LocalOptions(const TempDir& dir) {
  ServerOptions o;
  o.data_dir = dir.path() + "/data";
  o.node_id = "n1";
  o.http_address = "127.0.0.1:0";
  return o;
}

TEST(ValidateHttpAddressTest, AcceptsHostPortAndPort) {
  for (const char* a :
       {":2856", "127.0.0.1:2856", "0.0.0.0:1", "localhost:65535", "[::1]:8080", "127.0.0.1:0"}) {
    EXPECT_TRUE(ValidateHttpAddress(a).ok()) << a;
  }
}

TEST(ValidateHttpAddressTest, RejectsTheRest) {
  for (const char* a : {"", "2856", ":", ":65536", ":http", "host:", "::1:80", "a b:80", ":-1",
                        "[::1:80", ":123456"}) {
    EXPECT_EQ(ValidateHttpAddress(a).code(), absl::StatusCode::kInvalidArgument) << a;
  }
}

TEST(DefaultNodeIdTest, IsANonLoopbackAddressOrTheHostName) {
  const auto id = DefaultNodeId();
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_FALSE(id->empty());
  EXPECT_NE(*id, "127.0.0.1") << "this machine has a host name at least";
  EXPECT_NE(id->rfind("127.", 0), 0u) << *id;
}

TEST(ServerTest, RejectsBadOptions) {
  TempDir dir;
  ServerOptions o;
  o.data_dir = dir.path();
  o.node_id = "n1";
  o.http_address = "nowhere";
  EXPECT_EQ(Server::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.http_address = "127.0.0.1:0";
  o.db_url = "nonsense";
  EXPECT_EQ(Server::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
  // A database that does not answer: the server does not start.
  o.db_url = "root:123456@tcp(127.0.0.1:1)/forest?charset=utf8";
  EXPECT_EQ(Server::Start(o).status().code(), absl::StatusCode::kUnavailable);
  o.db_url = "";
  o.lease_ttl = std::chrono::seconds(0);
  EXPECT_EQ(Server::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.lease_ttl = std::chrono::seconds(5);
  o.history_retention_days = -1;
  const auto negative = Server::Start(o);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(negative.status().message()).find("retention"), std::string::npos)
      << negative.status();
}

// Every module's probe records into the server's registry, served at
// /metrics without a login.
TEST(ServerTest, ServesItsMetricsPublicly) {
  TempDir dir;
  ServerOptions o;
  o.data_dir = dir.path() + "/data";
  o.node_id = "n1";
  o.http_address = "127.0.0.1:0";
  o.version = "1.2.3";
  auto server = Server::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client http("127.0.0.1", (*server)->http_port());
  std::string body;
  for (int i = 0; i < 200; ++i) {
    auto r = http.Get("/metrics");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    body = r->body;
    if (body.find("forest_scheduler_leader 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_NE(body.find("forest_scheduler_leader 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("forest_build_info{version=\"1.2.3\"} 1\n"), std::string::npos);
  EXPECT_NE(body.find("forest_workers{group=\"local\"} 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("forest_coord_requests_total{op=\"txn\"}"), std::string::npos);
  EXPECT_NE(body.find("# TYPE forest_alarms_sent_total counter\n"), std::string::npos);
  // A request is counted once answered: the next scrape shows the last.
  body = http.Get("/metrics")->body;
  EXPECT_NE(body.find("forest_http_requests_total{method=\"GET\",route=\"/metrics\","
                      "status=\"200\"}"),
            std::string::npos)
      << body;
  (*server)->alarm_probe().Declare("webhook", "ch-1");
  EXPECT_NE((*server)->metrics().Render().find(
                "forest_alarms_sent_total{channel=\"ch-1\",type=\"webhook\"} 0"),
            std::string::npos);
  (*server)->Stop();
  EXPECT_NE((*server)->metrics().Render().find("forest_scheduler_leader 0\n"), std::string::npos);
}

// With authentication on (the default), the first start creates `admin`
// with a random password in a 0600 file; the API refuses anonymous calls
// and accepts that admin.
TEST(ServerTest, FirstStartCreatesTheAdminAndTheApiNeedsALogin) {
  TempDir dir;
  ServerOptions o = LocalOptions(dir);
  auto server = Server::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string file = o.data_dir + "/admin-password";
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::ifstream in(file);
  std::string password;
  std::getline(in, password);
  EXPECT_GE(password.size(), 16u);

  httplib::Client http("127.0.0.1", (*server)->http_port());
  EXPECT_EQ(http.Get("/api/v1/jobs")->status, 401);
  EXPECT_EQ(http.Get("/healthz")->status, 200);
  const nlohmann::json creds = {{"user", "admin"}, {"password", password}};
  auto login = http.Post("/api/v1/login", creds.dump(), "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200) << login->body;
  const std::string cookie = login->get_header_value("Set-Cookie");
  auto jobs = http.Get("/api/v1/jobs", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  EXPECT_EQ(jobs->status, 200) << jobs->body;
  (*server)->Stop();
  server->reset();

  // A restart keeps the admin; a given password does not replace it.
  o.admin_password = "another-password";
  auto again = Server::Start(o);
  ASSERT_TRUE(again.ok()) << again.status();
  httplib::Client http2("127.0.0.1", (*again)->http_port());
  EXPECT_EQ(http2.Post("/api/v1/login", creds.dump(), "application/json")->status, 200);
  (*again)->Stop();
}

// HTTPS with --tls-cert/--tls-key, and CORS only for the listed origins.
TEST(ServerTest, ServesHttpsAndCorsOnlyForListedOrigins) {
  TempDir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a certificate";
  ServerOptions o = LocalOptions(dir);
  o.auth = false;
  o.tls_cert = cert;
  o.tls_key = key;
  o.cors_origins = {"https://ops.example.com"};
  auto server = Server::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::SSLClient https("127.0.0.1", (*server)->http_port());
  https.enable_server_certificate_verification(false);
  auto ok = https.Get("/healthz", {{"Origin", "https://ops.example.com"}});
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("Access-Control-Allow-Origin"), "https://ops.example.com");
  auto other = https.Get("/healthz", {{"Origin", "https://evil.example.com"}});
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
  auto preflight = https.Options("/api/v1/jobs", {{"Origin", "https://ops.example.com"},
                                                  {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  // Plain HTTP on the HTTPS port gets nothing useful.
  httplib::Client plain("127.0.0.1", (*server)->http_port());
  auto refused = plain.Get("/healthz");
  EXPECT_TRUE(!refused || refused->status != 200);
  (*server)->Stop();
  server->reset();

  o.tls_key = dir.path() + "/missing.pem";
  EXPECT_EQ(Server::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
}

// An origin allowed only by "*" may read answers, but never with the
// caller's cookie: a plain "*", no credentials.
TEST(ServerTest, CorsWildcardNeverGrantsCredentials) {
  TempDir dir;
  ServerOptions o = LocalOptions(dir);
  o.auth = false;
  o.cors_origins = {"https://ops.example.com", "*"};
  auto server = Server::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client http("127.0.0.1", (*server)->http_port());
  auto listed = http.Get("/healthz", {{"Origin", "https://ops.example.com"}});
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->get_header_value("Access-Control-Allow-Origin"), "https://ops.example.com");
  EXPECT_EQ(listed->get_header_value("Access-Control-Allow-Credentials"), "true");
  auto any = http.Get("/healthz", {{"Origin", "https://other.example.com"}});
  ASSERT_TRUE(any);
  EXPECT_EQ(any->get_header_value("Access-Control-Allow-Origin"), "*");
  EXPECT_FALSE(any->has_header("Access-Control-Allow-Credentials"));
  (*server)->Stop();
}

// --web-dir serves a UI build as a single-page app beside the API; a
// directory without index.html is refused before anything starts.
TEST(ServerTest, ServesTheUiOfWebDirBesideTheApi) {
  TempDir dir;
  ServerOptions o = LocalOptions(dir);
  o.web_dir = FOREST_WEB_TESTDATA;
  auto server = Server::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client http("127.0.0.1", (*server)->http_port());
  auto page = http.Get("/jobs/123");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("test ui"), std::string::npos) << page->body;
  auto script = http.Get("/assets/app-1a2b3c.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  auto api = http.Get("/api/v1/jobs");  // the API keeps its authentication
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 401);
  (*server)->Stop();
  server->reset();

  o.web_dir = dir.path();  // no index.html
  const absl::Status refused = Server::Start(o).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("--web-dir"), std::string::npos) << refused;
}

// Executions older than --history-retention-days leave the history at start
// (and every interval after); younger ones stay.
TEST(ServerTest, KeepsTheHistoryToItsRetention) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  std::filesystem::create_directories(data);
  const auto db = history::ParseDbUrl("sqlite://" + data + "/history.db").value();
  {
    auto h = history::Open(db).value();
    std::vector<history::Execution> rows;
    for (int age_days : {40, 31, 29, 1}) {
      history::Execution e;
      e.record.run.id = "age-" + std::to_string(age_days);
      e.record.run.job_id = "j";
      e.record.status = model::RunStatus::kSuccess;
      e.record.started_at = SystemClock::Get().Now() - std::chrono::hours(24 * age_days);
      rows.push_back(e);
    }
    ASSERT_TRUE(h->Upsert(rows).ok());
  }
  ServerOptions o;
  o.data_dir = data;
  o.node_id = "n1";
  o.http_address = "127.0.0.1:0";
  o.history_retention_days = 30;
  auto server = Server::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  auto h = history::Open(db).value();
  std::vector<std::string> ids;
  for (int i = 0; i < 500; ++i) {
    ids.clear();
    auto page = h->List({});
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& e : page->rows) ids.push_back(e.record.run.id);
    if (ids.size() == 2) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"age-1", "age-29"}));
  (*server)->Stop();
}

TEST(ServerTest, StandaloneStartsLeadsAndStops) {
  TempDir dir;
  ServerOptions o;
  o.data_dir = dir.path() + "/data";  // created by Start
  o.node_id = "n1";
  o.http_address = "127.0.0.1:0";
  o.auth = false;
  o.lease_ttl = std::chrono::seconds(2);
  auto server = Server::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE((*server)->standalone());
  EXPECT_EQ((*server)->options().node_id, "n1");
  EXPECT_TRUE(std::filesystem::exists(o.data_dir + "/forest.db"));
  // No --db-url: the history is a SQLite file beside it.
  EXPECT_TRUE(std::filesystem::exists(o.data_dir + "/history.db"));
  bool leading = false;
  for (int i = 0; i < 500 && !leading; ++i) {
    leading = (*server)->status().leading;
    if (!leading) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(leading);

  // The API answers on its port.
  httplib::Client http("127.0.0.1", (*server)->http_port());
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  auto groups = http.Get("/api/v1/groups");
  ASSERT_TRUE(groups);
  EXPECT_NE(groups->body.find("\"local\""), std::string::npos) << groups->body;

  // One data directory, one server: a second would lead on its own copy.
  ServerOptions other = o;
  other.node_id = "n2";
  auto second = Server::Start(other);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();

  (*server)->Stop();
  EXPECT_FALSE((*server)->status().leading);
  (*server)->Stop();  // idempotent
  server->reset();

  // The group `local` was persisted; a second start keeps it (and its edits).
  {
    coord::EmbeddedStoreOptions eo;
    eo.sqlite_path = o.data_dir + "/forest.db";
    auto store = coord::EmbeddedStore::Open(eo);
    ASSERT_TRUE(store.ok()) << store.status();
    auto r =
        (*store)->Range(coord::RangeRequest{"/forest/server/group/local", "", 0, 0, false, false});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->kvs.size(), 1u);
    auto group = model::Group::FromJson(r->kvs[0].value);
    ASSERT_TRUE(group.ok()) << group.status();
    EXPECT_EQ(group->name, "local");
    group->remark = "edited";
    ASSERT_TRUE(
        (*store)
            ->Put(coord::PutRequest{"/forest/server/group/local", group->ToJson(), 0, false})
            .ok());
  }
  auto again = Server::Start(o);
  ASSERT_TRUE(again.ok()) << again.status();
  (*again)->Stop();
  again->reset();
  coord::EmbeddedStoreOptions eo;
  eo.sqlite_path = o.data_dir + "/forest.db";
  auto store = coord::EmbeddedStore::Open(eo);
  ASSERT_TRUE(store.ok()) << store.status();
  auto r =
      (*store)->Range(coord::RangeRequest{"/forest/server/group/local", "", 0, 0, false, false});
  ASSERT_TRUE(r.ok() && r->kvs.size() == 1);
  EXPECT_EQ(model::Group::FromJson(r->kvs[0].value)->remark, "edited");
}

}  // namespace
}  // namespace forest::server
