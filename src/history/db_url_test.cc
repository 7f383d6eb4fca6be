#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "history/history.h"

namespace forest::history {
namespace {

using Kind = DbUrl::Kind;

struct GoodCase {
  std::string input;
  Kind kind;
  std::string path;
  std::string host;
  int port;
  std::string user;
  std::string password;
  std::string database;
};

TEST(ParseDbUrlTest, AcceptsEveryForm) {
  const std::vector<GoodCase> cases = {
      {"sqlite:///var/lib/forest/history.db", Kind::kSqlite, "/var/lib/forest/history.db", "", 0,
       "", "", ""},
      {"sqlite://history.db", Kind::kSqlite, "history.db", "", 0, "", "", ""},
      {"sqlite://data/my%20history.db", Kind::kSqlite, "data/my history.db", "", 0, "", "", ""},
      {"postgres://forest:secret@db.example:5433/forest", Kind::kPostgres, "", "db.example", 5433,
       "forest", "secret", "forest"},
      {"postgresql://forest:secret@10.0.0.1/history?sslmode=disable", Kind::kPostgres, "",
       "10.0.0.1", 0, "forest", "secret", "history"},
      {"postgres://u%40corp:p%3Ass%2Fw%25rd@host:1/db", Kind::kPostgres, "", "host", 1, "u@corp",
       "p:ss/w%rd", "db"},
      {"postgres://user@[::1]:5432/db", Kind::kPostgres, "", "::1", 5432, "user", "", "db"},
      {"postgres:///db", Kind::kPostgres, "", "127.0.0.1", 0, "", "", "db"},
      {"mysql://root:123456@127.0.0.1:3306/forest", Kind::kMysql, "", "127.0.0.1", 3306, "root",
       "123456", "forest"},
      {"mysql://root:p@ss@host/forest", Kind::kMysql, "", "host", 0, "root", "p@ss", "forest"},
      // The original's Go DSN.
      {"root:123456@tcp(127.0.0.1:3306)/forest?charset=utf8", Kind::kMysql, "", "127.0.0.1", 3306,
       "root", "123456", "forest"},
      {"user@tcp(db.local)/forest", Kind::kMysql, "", "db.local", 3306, "user", "", "forest"},
      {"/forest", Kind::kMysql, "", "127.0.0.1", 3306, "", "", "forest"},
      {"tcp(db:3307)/forest", Kind::kMysql, "", "db", 3307, "", "", "forest"},
      // The last '@' before the last '/' ends the user part, as the driver.
      {"us:er:p@ss@tcp(h:1)/db", Kind::kMysql, "", "h", 1, "us", "er:p@ss", "db"},
      {"u:pa/ss@tcp(h:1)/db", Kind::kMysql, "", "h", 1, "u", "pa/ss", "db"},
      // Go DSNs are not %-decoded.
      {"u:p%41@tcp(h:2)/db?loc=Local", Kind::kMysql, "", "h", 2, "u", "p%41", "db"},
      {"u:p://x@tcp(h:2)/db", Kind::kMysql, "", "h", 2, "u", "p://x", "db"},
  };
  for (const GoodCase& c : cases) {
    SCOPED_TRACE(c.input);
    auto url = ParseDbUrl(c.input);
    ASSERT_TRUE(url.ok()) << url.status();
    EXPECT_EQ(url->kind, c.kind);
    EXPECT_EQ(url->path, c.path);
    EXPECT_EQ(url->host, c.host);
    EXPECT_EQ(url->port, c.port);
    EXPECT_EQ(url->user, c.user);
    EXPECT_EQ(url->password, c.password);
    EXPECT_EQ(url->database, c.database);
  }
}

TEST(ParseDbUrlTest, RejectsWithTheReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {"sqlite://", "names no file"},
      {"oracle://u:p@h/db", "unsupported scheme \"oracle\""},
      {"postgres://u:p@h:5432", "names no database"},
      {"postgres://u:p@h:5432/", "names no database"},
      {"postgres://u:p@h:99999/db", "port \"99999\""},
      {"mysql://u:p@h:x/db", "port \"x\""},
      {"mysql://u:p@h:/db", "empty port"},
      {"postgres://u:p%zz@h/db", "bad %-escape in the password"},
      {"postgres://[::1/db", "unterminated '['"},
      {"forest.db", "not a database URL"},
      {"root:pw@tcp(127.0.0.1:3306/forest", "closing ')'"},
      {"root:pw@unix(/tmp/mysql.sock)/forest", "network \"unix\""},
      {"root:pw@tcp(h:3306)/", "names no database"},
  };
  for (const auto& [input, reason] : cases) {
    SCOPED_TRACE(input);
    auto url = ParseDbUrl(input);
    ASSERT_FALSE(url.ok());
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(url.status().message());
    EXPECT_NE(message.find(reason), std::string::npos) << message;
  }
}

TEST(DbUrlTest, SociConnectionStrings) {
  EXPECT_EQ(ParseDbUrl("sqlite:///tmp/h.db")->SociBackend(), "sqlite3");
  EXPECT_EQ(ParseDbUrl("sqlite:///tmp/h.db")->SociConnect(),
            "db=/tmp/h.db timeout=10");
  EXPECT_EQ(ParseDbUrl("postgres://u:p@h:5433/d")->SociBackend(), "postgresql");
  EXPECT_EQ(ParseDbUrl("postgres://u:p@h:5433/d")->SociConnect(),
            "host=h port=5433 dbname=d user=u password=p connect_timeout=5");
  EXPECT_EQ(ParseDbUrl("postgres://h/d")->SociConnect(),
            "host=h port=5432 dbname=d connect_timeout=5");
  EXPECT_EQ(ParseDbUrl("root:123456@tcp(127.0.0.1:3306)/forest?charset=utf8")->SociBackend(),
            "mysql");
  EXPECT_EQ(ParseDbUrl("root:123456@tcp(127.0.0.1:3306)/forest?charset=utf8")->SociConnect(),
            "host=127.0.0.1 port=3306 db=forest user=root password=123456 charset=utf8mb4 "
            "connect_timeout=5");
  // Spaces and quotes are quoted for libpq and SOCI's MySQL parser.
  EXPECT_EQ(ParseDbUrl("mysql://u:it%27s%20me@h/d")->SociConnect(),
            "host=h port=3306 db=d user=u password='it\\'s me' charset=utf8mb4 "
            "connect_timeout=5");
}

TEST(DbUrlTest, DescribeHidesThePassword) {
  EXPECT_EQ(ParseDbUrl("postgres://u:secret@h:5433/d")->Describe(), "postgres://u:***@h:5433/d");
  EXPECT_EQ(ParseDbUrl("root:123456@tcp(127.0.0.1:3306)/forest")->Describe(),
            "mysql://root:***@127.0.0.1:3306/forest");
  EXPECT_EQ(ParseDbUrl("sqlite:///x.db")->Describe(), "sqlite:///x.db");
}

}  // namespace
}  // namespace forest::history
