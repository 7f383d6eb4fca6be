#include "model/keys.h"

#include <gtest/gtest.h>

#include <ostream>
#include <utility>

namespace forest::model::keys {
namespace {

using Kind = Parsed::Kind;

struct KeyCase {
  KeyCase(std::string built, std::string layout, Kind k, std::string first = "",
          std::string second = "", std::string third = "")
      : key(std::move(built)),
        expected(std::move(layout)),
        kind(k),
        a(std::move(first)),
        b(std::move(second)),
        c(std::move(third)) {}

  std::string key;  // as built
  std::string expected;
  Kind kind;
  std::string a, b, c;
};

void PrintTo(const KeyCase& c, std::ostream* os) { *os << c.expected; }

class KeyTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(KeyTest, BuildsTheLayoutAndParsesBack) {
  const KeyCase& c = GetParam();
  EXPECT_EQ(c.key, c.expected);
  const std::optional<Parsed> p = Parse(c.key);
  ASSERT_TRUE(p.has_value()) << c.key;
  EXPECT_EQ(p->kind, c.kind);
  EXPECT_EQ(p->a, c.a);
  EXPECT_EQ(p->b, c.b);
  EXPECT_EQ(p->c, c.c);
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, KeyTest,
    ::testing::Values(
        KeyCase{"/forest/server/elect/leader", "/forest/server/elect/leader", Kind::kLeader},
        KeyCase{Node("10.0.0.1"), "/forest/server/node/10.0.0.1", Kind::kNode, "10.0.0.1"},
        KeyCase{Group("trade"), "/forest/server/group/trade", Kind::kGroup, "trade"},
        KeyCase{Conf("20190725150540123456"), "/forest/server/conf/20190725150540123456",
                Kind::kConf, "20190725150540123456"},
        KeyCase{Cursor("job-1"), "/forest/server/cursor/job-1", Kind::kCursor, "job-1"},
        KeyCase{Retry("job-1", "20260101000030000-job-1"),
                "/forest/server/retry/job-1/20260101000030000-job-1", Kind::kRetry, "job-1",
                "20260101000030000-job-1"},
        KeyCase{Run("job-1", "20260101000030000"), "/forest/server/run/job-1/20260101000030000",
                Kind::kRun, "job-1", "20260101000030000"},
        KeyCase{Client("trade", "192.168.1.5"), "/forest/client/trade/clients/192.168.1.5",
                Kind::kClient, "trade", "192.168.1.5"},
        KeyCase{Snapshot("trade", "192.168.1.5", "201901011111111323"),
                "/forest/client/snapshot/trade/192.168.1.5/201901011111111323", Kind::kSnapshot,
                "trade", "192.168.1.5", "201901011111111323"},
        KeyCase{Execute("trade", "192.168.1.5", "201901011111111323"),
                "/forest/client/execute/snapshot/trade/192.168.1.5/201901011111111323",
                Kind::kExecute, "trade", "192.168.1.5", "201901011111111323"},
        KeyCase{Execute("trade", std::string(kNoWorker), "20260101000030000-j"),
                "/forest/client/execute/snapshot/trade/~/20260101000030000-j", Kind::kExecute,
                "trade", "~", "20260101000030000-j"},
        KeyCase{Kill("trade", "w1", "20260101000030000m1.0-j"),
                "/forest/client/kill/trade/w1/20260101000030000m1.0-j", Kind::kKill, "trade", "w1",
                "20260101000030000m1.0-j"},
        // Groups and workers named like the fixed segments still parse by
        // their segment count.
        KeyCase{Client("snapshot", "w1"), "/forest/client/snapshot/clients/w1", Kind::kClient,
                "snapshot", "w1"},
        KeyCase{Client("kill", "w1"), "/forest/client/kill/clients/w1", Kind::kClient, "kill",
                "w1"},
        KeyCase{Client("execute", "snapshot"), "/forest/client/execute/clients/snapshot",
                Kind::kClient, "execute", "snapshot"},
        KeyCase{Client("clients", "clients"), "/forest/client/clients/clients/clients",
                Kind::kClient, "clients", "clients"},
        KeyCase{Snapshot("snapshot", "clients", "x"), "/forest/client/snapshot/snapshot/clients/x",
                Kind::kSnapshot, "snapshot", "clients", "x"},
        KeyCase{Snapshot("kill", "w", "x"), "/forest/client/snapshot/kill/w/x", Kind::kSnapshot,
                "kill", "w", "x"},
        KeyCase{Snapshot("execute", "snapshot", "x"), "/forest/client/snapshot/execute/snapshot/x",
                Kind::kSnapshot, "execute", "snapshot", "x"},
        KeyCase{Kill("snapshot", "w", "x"), "/forest/client/kill/snapshot/w/x", Kind::kKill,
                "snapshot", "w", "x"},
        KeyCase{Execute("execute", "snapshot", "clients"),
                "/forest/client/execute/snapshot/execute/snapshot/clients", Kind::kExecute,
                "execute", "snapshot", "clients"},
        KeyCase{Conf("conf"), "/forest/server/conf/conf", Kind::kConf, "conf"},
        KeyCase{Node("leader"), "/forest/server/node/leader", Kind::kNode, "leader"},
        KeyCase{Run("run", "retry"), "/forest/server/run/run/retry", Kind::kRun, "run", "retry"},
        KeyCase{WorkerFacts("trade", "w1"), "/forest/worker/trade/w1", Kind::kWorkerFacts, "trade",
                "w1"},
        KeyCase{Claim("trade", "20260101000030000-j"), "/forest/worker/claim/trade/20260101000030000-j",
                Kind::kClaim, "trade", "20260101000030000-j"},
        // A group called "claim": its facts have one segment fewer than a claim.
        KeyCase{WorkerFacts("claim", "w1"), "/forest/worker/claim/w1", Kind::kWorkerFacts, "claim",
                "w1"}));

TEST(KeysTest, PrefixesMatchTheirKeys) {
  EXPECT_EQ(ClientPrefix("trade"), "/forest/client/trade/clients/");
  EXPECT_EQ(SnapshotPrefix("trade", "w1"), "/forest/client/snapshot/trade/w1/");
  EXPECT_EQ(Client("trade", "w1").rfind(ClientPrefix("trade"), 0), 0u);
  EXPECT_EQ(Snapshot("trade", "w1", "x").rfind(SnapshotPrefix("trade", "w1"), 0), 0u);
  EXPECT_EQ(Conf("j").rfind(kConfPrefix, 0), 0u);
  EXPECT_EQ(Group("g").rfind(kGroupPrefix, 0), 0u);
  EXPECT_EQ(Node("n").rfind(kNodePrefix, 0), 0u);
  EXPECT_EQ(Cursor("j").rfind(kCursorPrefix, 0), 0u);
  EXPECT_EQ(Retry("j", "i").rfind(kRetryPrefix, 0), 0u);
  EXPECT_EQ(keys::Run("j", "r").rfind(kRunPrefix, 0), 0u);
  EXPECT_EQ(Execute("g", "w", "i").rfind(kExecutePrefix, 0), 0u);
  EXPECT_EQ(Kill("g", "w", "i").rfind(kKillPrefix, 0), 0u);
  for (const std::string_view prefix :
       {kConfPrefix, kGroupPrefix, kNodePrefix, kCursorPrefix, kRetryPrefix, kRunPrefix,
        kSnapshotPrefix, kExecutePrefix, kKillPrefix}) {
    EXPECT_EQ(prefix.rfind(kRoot, 0), 0u) << prefix;
  }
}

TEST(KeysTest, ParsedSegmentsPointIntoTheKey) {
  const std::string key = Snapshot("g", "w", "id");
  const Parsed p = Parse(key).value();
  EXPECT_GE(p.a.data(), key.data());
  EXPECT_LT(p.c.data(), key.data() + key.size());
}

class NotAKeyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(NotAKeyTest, DoesNotParse) { EXPECT_EQ(Parse(GetParam()), std::nullopt) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(
    Rejected, NotAKeyTest,
    ::testing::Values(
        "", "/", "/forest", "/forest/", "forest/server/conf/j", "/forest/server/conf/",
        "/forest/server/conf", "/forest/server/conf//", "/forest/server/conf/j/",
        "/forest/server/conf/j/extra", "//forest/server/conf/j", "/forest//server/conf/j",
        "/other/server/conf/j", "/Forest/server/conf/j", "/forest/server/unknown/j",
        "/forest/server/elect/follower", "/forest/server/elect", "/forest/server/elect/leader/x",
        "/forest/server/retry/j", "/forest/server/retry/j/", "/forest/server/retry//id",
        "/forest/server/run/j", "/forest/server/run/j/r/x", "/forest/server/node/a/b",
        "/forest/client/trade/clients/", "/forest/client/trade/clients",
        "/forest/client/trade/workers/w1", "/forest/client//clients/w1",
        "/forest/client/trade/clients/w1/x", "/forest/client/snapshot/trade/w1/",
        "/forest/client/snapshot/trade/w1", "/forest/client/snapshot/trade//id",
        "/forest/client/snapshot/trade/w1/id/x", "/forest/client/kill/trade/w1",
        "/forest/client/execute/snapshot/trade/w1/", "/forest/client/execute/snapshot/trade/w1",
        "/forest/client/execute/other/trade/w1/id", "/forest/client/execute/trade/w1/id/x",
        "/forest/client/other/trade/w1/id", "/forest/server/x/y/z/w/v/u", "/forest/nowhere/conf/j",
        "/forest/worker/a/b/c/d"));

TEST(KeysTest, EveryBuilderRoundTripsOverAwkwardNames) {
  using K = Kind;
  for (const std::string n : {"a", "snapshot", "kill", "execute", "clients", "server", "client",
                              "forest", "~", "20260101000030000c2.0-x", "a.b_c-d"}) {
    const auto check = [&](const std::string& key, K kind, std::string_view a,
                           std::string_view b = {}, std::string_view c = {}) {
      const std::optional<Parsed> p = Parse(key);
      ASSERT_TRUE(p.has_value()) << key;
      EXPECT_EQ(p->kind, kind) << key;
      EXPECT_EQ(p->a, a) << key;
      EXPECT_EQ(p->b, b) << key;
      EXPECT_EQ(p->c, c) << key;
    };
    check(Conf(n), K::kConf, n);
    check(Group(n), K::kGroup, n);
    check(Node(n), K::kNode, n);
    check(Cursor(n), K::kCursor, n);
    check(Retry(n, n), K::kRetry, n, n);
    check(keys::Run(n, n), K::kRun, n, n);
    check(Client(n, n), K::kClient, n, n);
    check(Snapshot(n, n, n), K::kSnapshot, n, n, n);
    check(Execute(n, n, n), K::kExecute, n, n, n);
    check(Kill(n, n, n), K::kKill, n, n, n);
  }
}

}  // namespace
}  // namespace forest::model::keys
