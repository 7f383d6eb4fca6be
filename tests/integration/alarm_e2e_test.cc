// Alarms end to end: two real `forest server` processes on a real etcd,
// sharing one history database (a SQLite file), a webhook receiver in the
// test. A job in a group with no worker fails every second (the leader's
// "no live worker" records); its alarm is written to the alarm log and
// its delivery fails while the receiver answers 500; the leader is killed
// (SIGKILL) with the alarm logged but not delivered; the receiver comes
// back. The new leader delivers that alarm, once, and announces itself
// (leader_changed); no alarm is ever delivered twice, every message is
// signed, and the channel's secret is in no answer and no log.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "alarm/signing.h"
#include "coord/testing/etcd_cluster.h"
#include "process.h"

namespace forest {
namespace {

namespace fs = std::filesystem;
using integration::ServerProcess;
using integration::Tail;
using integration::TempDir;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSecret[] = "e2e-S1GN1NG-secret";

bool Eventually(const std::function<bool()>& cond, milliseconds limit = milliseconds(30000)) {
  return integration::Eventually(cond, limit, milliseconds(100));
}

struct Answer {
  int status = 0;
  std::string body;
  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

Answer Call(int port, const std::string& method, const std::string& path,
            const std::string& body = "") {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(seconds(5));
  client.set_read_timeout(seconds(15));
  httplib::Request req;
  req.method = method;
  req.path = path;
  if (!body.empty()) {
    req.body = body;
    req.set_header("Content-Type", "application/json");
  }
  Answer a;
  if (auto result = client.send(req)) {
    a.status = result->status;
    a.body = result->body;
  }
  return a;
}

// Answers 500 until told to recover, then 200; keeps every request and
// what it answered.
class Receiver {
 public:
  struct Got {
    std::string event, alarm_id, timestamp, signature, body;
    int answered = 0;
  };
  Receiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      Got g{req.get_header_value("X-Forest-Event"),
            req.get_header_value("X-Forest-Alarm-Id"),
            req.get_header_value("X-Forest-Timestamp"),
            req.get_header_value("X-Forest-Signature"),
            req.body,
            ok_ ? 200 : 500};
      got_.push_back(g);
      res.status = g.answered;
      res.set_content(ok_ ? "{}" : R"({"error":"down"})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  void Recover() {
    std::lock_guard lock(mu_);
    ok_ = true;
  }
  std::vector<Got> got() const {
    std::lock_guard lock(mu_);
    return got_;
  }
  // Deliveries the receiver took (answered 200), by alarm id.
  std::map<std::string, int> Taken() const {
    std::map<std::string, int> out;
    for (const Got& g : got()) {
      if (g.answered == 200) ++out[g.alarm_id];
    }
    return out;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  bool ok_ = false;
  std::vector<Got> got_;
};

class AlarmE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("alarm-e2e");
    ASSERT_FALSE(dir_->path().empty());
    auto cluster = coord::testing::EtcdCluster::Start(1);
    if (!cluster.ok()) {
      if (cluster.status().code() == absl::StatusCode::kNotFound) {
        GTEST_SKIP() << "etcd is not installed: " << cluster.status().message();
      }
      FAIL() << "cannot start etcd: " << cluster.status();
    }
    cluster_ = *std::move(cluster);
    const std::vector<int> ports = coord::testing::FreeLoopbackPorts(2);
    const std::string db = "sqlite://" + (dir_->path() / "history.db").string();
    for (int i = 0; i < 2; ++i) {
      const std::string id = fmt::format("n{}", i + 1);
      std::vector<std::string> args = {FOREST_BINARY,      "server",
                                       "--node-id",        id,
                                       "--etcd-endpoints", cluster_->endpoint(0),
                                       "--lease-ttl",      "2s",
                                       "--http-address",   fmt::format("127.0.0.1:{}", ports[i]),
                                       "--data-dir",       (dir_->path() / (id + "-data")).string(),
                                       "--db-url",         db,
                                       "--auth",           "off",
                                       "--alarm-window",   "1h",
                                       "--ui-url",         "https://forest.example.com"};
      nodes_.push_back(std::make_unique<ServerProcess>(id, ports[i], args, dir_->path()));
      ASSERT_TRUE(nodes_.back()->Start()) << "cannot spawn " << FOREST_BINARY;
    }
    for (auto& node : nodes_) {
      ASSERT_TRUE(Eventually([&] { return Call(node->port(), "GET", "/readyz").status == 200; }))
          << node->id() << " not ready:\n"
          << Tail(node->Log());
    }
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& node : nodes_) {
        std::cout << "---- server " << node->id() << " log (tail):\n" << Tail(node->Log()) << "\n";
      }
    }
    nodes_.clear();
    cluster_.reset();
    dir_.reset();
  }

  // The node that leads, as both agree; -1 when they do not (yet).
  int Leader() {
    std::string leader;
    for (const auto& node : nodes_) {
      if (!node->Running()) continue;
      const json j = Call(node->port(), "GET", "/api/v1/nodes").Json();
      if (!j.is_object() || !j["leader"].is_string()) return -1;
      if (!leader.empty() && leader != j["leader"]) return -1;
      leader = j["leader"];
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->id() == leader) return static_cast<int>(i);
    }
    return -1;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<coord::testing::EtcdCluster> cluster_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
};

TEST_F(AlarmE2eTest, ALeaderKilledWithAnAlarmLoggedButUndeliveredHasItDeliveredOnceByTheNext) {
  Receiver receiver;
  const int port = nodes_[0]->port();
  ASSERT_EQ(Call(port, "POST", "/api/v1/groups", R"({"name": "nobody"})").status, 201);
  const Answer channel =
      Call(port, "POST", "/api/v1/alarm-channels",
           json{{"name", "hook"},
                {"type", "webhook"},
                {"url", fmt::format("http://127.0.0.1:{}/hook", receiver.port())},
                {"secret", kSecret}}
               .dump());
  ASSERT_EQ(channel.status, 201) << channel.body;
  const std::string channel_id = channel.Json().value("id", "");
  ASSERT_FALSE(channel_id.empty()) << channel.body;
  const Answer rule =
      Call(port, "PUT", "/api/v1/alarm-rules/global",
           json{{"onNoWorker", true}, {"onLeaderChange", true}, {"channels", {channel_id}}}.dump());
  ASSERT_EQ(rule.status, 200) << rule.body;
  // A job nobody can run: the leader records "no live worker" every second.
  const Answer job = Call(port, "POST", "/api/v1/jobs",
                          json{{"name", "orphan"},
                               {"group", "nobody"},
                               {"cron", "* * * * * ?"},
                               {"target", "http://127.0.0.1:9/x"}}
                              .dump());
  ASSERT_EQ(job.status, 201) << job.body;

  // The first no_worker alarm is logged and its delivery fails (500).
  std::string first;
  ASSERT_TRUE(Eventually([&] {
    for (const Receiver::Got& g : receiver.got()) {
      if (g.event == "no_worker") first = g.alarm_id;
    }
    return !first.empty();
  })) << "no no_worker alarm reached the receiver";
  ASSERT_TRUE(Eventually([&] {
    const json a = Call(port, "GET", "/api/v1/alarms/" + first).Json();
    return a.is_object() && a["deliveries"].size() == 1 &&
           a["deliveries"][0].value("state", "") == "pending" &&
           a["deliveries"][0].value("attempts", 0) >= 1;
  }));

  // Kill the leader: the alarm is in the log, not delivered.
  int leader = -1;
  ASSERT_TRUE(Eventually([&] { return (leader = Leader()) >= 0; }));
  nodes_[leader]->Kill();
  const int survivor = 1 - leader;
  receiver.Recover();

  // The next leader delivers it, once, and says it leads now.
  ASSERT_TRUE(Eventually(
      [&] {
        const auto taken = receiver.Taken();
        bool announced = false;
        for (const Receiver::Got& g : receiver.got()) {
          announced |= g.event == "leader_changed" && g.answered == 200 &&
                       g.body.find(nodes_[survivor]->id()) != std::string::npos;
        }
        return taken.count(first) == 1 && announced;
      },
      milliseconds(90000)))
      << "the logged alarm was not delivered by the next leader";
  std::this_thread::sleep_for(seconds(6));  // time enough for a duplicate to show up
  for (const auto& [id, n] : receiver.Taken())
    EXPECT_EQ(n, 1) << "alarm " << id << " delivered " << n << " times";

  const json a = Call(nodes_[survivor]->port(), "GET", "/api/v1/alarms/" + first).Json();
  ASSERT_TRUE(a.is_object()) << a.dump();
  EXPECT_EQ(a["kind"], "no_worker");
  EXPECT_EQ(a["group"], "nobody");
  EXPECT_EQ(a["deliveries"][0]["state"], "sent") << a.dump();
  EXPECT_GE(a["deliveries"][0]["attempts"].get<int>(), 2) << a.dump();
  EXPECT_EQ(
      a["facts"]["link"].get<std::string>().rfind("https://forest.example.com/executions?id=", 0),
      0u)
      << a.dump();

  // Every message is signed over its body; the secret is nowhere to be read.
  for (const Receiver::Got& g : receiver.got()) {
    EXPECT_EQ(g.signature,
              "sha256=" + alarm::Hex(alarm::HmacSha256(kSecret, g.timestamp + "." + g.body)));
    EXPECT_EQ(g.body.find(kSecret), std::string::npos);
  }
  const Answer shown =
      Call(nodes_[survivor]->port(), "GET", "/api/v1/alarm-channels/" + channel_id);
  EXPECT_EQ(shown.status, 200);
  EXPECT_EQ(shown.body.find(kSecret), std::string::npos) << shown.body;
  EXPECT_EQ(shown.Json().value("secretSet", false), true);
  for (const auto& node : nodes_) {
    EXPECT_EQ(node->Log().find(kSecret), std::string::npos)
        << node->id() << "'s log has the secret";
  }
}

}  // namespace
}  // namespace forest
