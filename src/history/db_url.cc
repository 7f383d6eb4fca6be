// --db-url parsing: URL forms (sqlite://, postgres://, postgresql://,
// mysql://) and the original's Go MySQL DSN, and the SOCI connection strings.
#include <cctype>
#include <charconv>
#include <string>
#include <string_view>

#include "common/status.h"
#include "history/history.h"

namespace forest::history {
namespace {

constexpr int kMysqlDefaultPort = 3306;
constexpr int kPostgresDefaultPort = 5432;

absl::Status Invalid(std::string_view url, std::string_view why) {
  return absl::InvalidArgumentError("database URL \"" + std::string(url) +
                                    "\": " + std::string(why));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX sequences as bytes; false on a malformed one.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// "host", "host:port", "[v6]", "[v6]:port"; an empty host stays empty.
absl::Status ParseHostPort(std::string_view url, std::string_view hostport, DbUrl* out) {
  std::string_view host = hostport;
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return Invalid(url, "unterminated '[' in the host");
    host = hostport.substr(1, close - 1);
    std::string_view rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Invalid(url, "unexpected text after ']' in the host");
      port = rest.substr(1);
      if (port.empty()) return Invalid(url, "empty port");
    }
  } else if (const size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
    if (port.empty()) return Invalid(url, "empty port");
  }
  out->host = std::string(host);
  if (!port.empty()) {
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return Invalid(url, "port \"" + std::string(port) + "\" is not a number in 1..65535");
    }
    out->port = value;
  }
  return absl::OkStatus();
}

// scheme://[user[:password]@]host[:port]/database[?options] (options ignored).
absl::StatusOr<DbUrl> ParseServerUrl(std::string_view url, std::string_view rest,
                                     DbUrl::Kind kind) {
  DbUrl out;
  out.kind = kind;
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos)
    return Invalid(url, "names no database (expected .../dbname)");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = rest.substr(slash + 1);
  if (const size_t q = path.find_first_of("?#"); q != std::string_view::npos) {
    path = path.substr(0, q);
  }
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::string_view user = userinfo;
    std::string_view password;
    if (const size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      password = userinfo.substr(colon + 1);
    }
    if (!PercentDecode(user, &out.user)) return Invalid(url, "bad %-escape in the user");
    if (!PercentDecode(password, &out.password)) {
      return Invalid(url, "bad %-escape in the password");
    }
  }
  RETURN_IF_ERROR(ParseHostPort(url, authority, &out));
  if (out.host.empty()) out.host = "127.0.0.1";
  if (!PercentDecode(path, &out.database)) return Invalid(url, "bad %-escape in the database");
  if (out.database.empty()) return Invalid(url, "names no database (expected .../dbname)");
  if (out.database.find('/') != std::string::npos) {
    return Invalid(url, "database name \"" + out.database + "\" contains '/'");
  }
  return out;
}

// The Go MySQL driver's DSN: [user[:password]@][net[(addr)]]/dbname[?params].
// As the driver: the last '/' ends the address, the last '@' before it ends
// the user part; no %-decoding.
absl::StatusOr<DbUrl> ParseGoDsn(std::string_view dsn) {
  const size_t slash = dsn.rfind('/');
  if (slash == std::string_view::npos) {
    return Invalid(dsn,
                   "not a database URL (expected sqlite://FILE, postgres://, mysql:// or "
                   "user:password@tcp(host:port)/db)");
  }
  DbUrl out;
  out.kind = DbUrl::Kind::kMysql;
  std::string_view head = dsn.substr(0, slash);
  std::string_view db = dsn.substr(slash + 1);
  if (const size_t q = db.find('?'); q != std::string_view::npos) db = db.substr(0, q);
  if (db.empty()) return Invalid(dsn, "names no database (expected .../dbname)");
  out.database = std::string(db);

  std::string_view address = head;
  if (const size_t at = head.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = head.substr(0, at);
    address = head.substr(at + 1);
    const size_t colon = userinfo.find(':');
    out.user = std::string(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) out.password = std::string(userinfo.substr(colon + 1));
  }
  std::string_view net = address;
  std::string_view addr;
  if (const size_t open = address.find('('); open != std::string_view::npos) {
    if (address.back() != ')') return Invalid(dsn, "the address lacks its closing ')'");
    net = address.substr(0, open);
    addr = address.substr(open + 1, address.size() - open - 2);
  }
  if (!net.empty() && net != "tcp") {
    return Invalid(dsn, "network \"" + std::string(net) + "\" is not supported (only tcp)");
  }
  RETURN_IF_ERROR(ParseHostPort(dsn, addr, &out));
  if (out.host.empty()) out.host = "127.0.0.1";
  if (out.port == 0) out.port = kMysqlDefaultPort;
  return out;
}

// A value for a "key=value ..." connection string (libpq and SOCI's MySQL
// parser both take '...' with backslash escapes).
std::string Quote(std::string_view value) {
  if (!value.empty() && value.find_first_of(" \t'\\\"") == std::string_view::npos) {
    return std::string(value);
  }
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace

absl::StatusOr<DbUrl> ParseDbUrl(std::string_view url) {
  if (url.empty()) return absl::InvalidArgumentError("database URL is empty");
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return ParseGoDsn(url);
  const std::string_view scheme = url.substr(0, scheme_end);
  // A Go DSN may hold "://" in its password or parameters: a scheme is a word.
  for (const char c : scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return ParseGoDsn(url);
    }
  }
  const std::string_view rest = url.substr(scheme_end + 3);
  if (scheme == "sqlite" || scheme == "sqlite3") {
    std::string_view path = rest;
    if (const size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    if (path.empty() || path == "/") return Invalid(url, "names no file (sqlite:///path/file.db)");
    DbUrl out;
    out.kind = DbUrl::Kind::kSqlite;
    if (!PercentDecode(path, &out.path)) return Invalid(url, "bad %-escape in the path");
    return out;
  }
  if (scheme == "postgres" || scheme == "postgresql") {
    return ParseServerUrl(url, rest, DbUrl::Kind::kPostgres);
  }
  if (scheme == "mysql" || scheme == "mariadb") {
    return ParseServerUrl(url, rest, DbUrl::Kind::kMysql);
  }
  return Invalid(url, "unsupported scheme \"" + std::string(scheme) +
                          "\" (sqlite, postgres, postgresql, mysql)");
}

std::string DbUrl::SociBackend() const {
  switch (kind) {
    case Kind::kSqlite:
      return "sqlite3";
    case Kind::kPostgres:
      return "postgresql";
    case Kind::kMysql:
      return "mysql";
  }
  return "";
}

std::string DbUrl::SociConnect() const {
  switch (kind) {
    case Kind::kSqlite:
      // Private caches: a shared one locks whole tables between the
      // store's, the audit log's and the API's connections (SQLITE_LOCKED,
      // which no busy timeout waits out); WAL and the timeout serialize writers.
      return "db=" + Quote(path) + " timeout=10";
    case Kind::kPostgres: {
      std::string s = "host=" + Quote(host) +
                      " port=" + std::to_string(port == 0 ? kPostgresDefaultPort : port) +
                      " dbname=" + Quote(database);
      if (!user.empty()) s += " user=" + Quote(user);
      if (!password.empty()) s += " password=" + Quote(password);
      return s + " connect_timeout=5";
    }
    case Kind::kMysql: {
      std::string s = "host=" + Quote(host) +
                      " port=" + std::to_string(port == 0 ? kMysqlDefaultPort : port) +
                      " db=" + Quote(database);
      if (!user.empty()) s += " user=" + Quote(user);
      if (!password.empty()) s += " password=" + Quote(password);
      return s + " charset=utf8mb4 connect_timeout=5";
    }
  }
  return "";
}

std::string DbUrl::Describe() const {
  if (kind == Kind::kSqlite) return "sqlite://" + path;
  std::string s = kind == Kind::kPostgres ? "postgres://" : "mysql://";
  if (!user.empty()) {
    s += user;
    if (!password.empty()) s += ":***";
    s += "@";
  }
  const bool v6 = host.find(':') != std::string::npos;
  s += v6 ? "[" + host + "]" : host;
  if (port != 0) s += ":" + std::to_string(port);
  return s + "/" + database;
}

}  // namespace forest::history
