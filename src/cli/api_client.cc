#include "cli/api_client.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace forest::cli {
namespace {

absl::Status FromHttp(int status, std::string message) {
  switch (status) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 409:
      return absl::AbortedError(message);
    case 413:
      return absl::InvalidArgumentError(message);
    case 429:
      return absl::ResourceExhaustedError(message);
    case 503:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(fmt::format("HTTP {}: {}", status, message));
  }
}

}  // namespace

std::string CredentialsPath() {
  if (const char* p = std::getenv("FOREST_CONFIG"); p != nullptr && *p != '\0') return p;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/forest/credentials.json";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.config/forest/credentials.json";
}

absl::StatusOr<std::optional<Credentials>> LoadCredentials() {
  const std::string path = CredentialsPath();
  std::ifstream in(path);
  if (!in) return std::optional<Credentials>();
  std::stringstream text;
  text << in.rdbuf();
  try {
    const nlohmann::json j = nlohmann::json::parse(text.str());
    Credentials c;
    c.server = j.value("server", "");
    c.token = j.value("token", "");
    c.user = j.value("user", "");
    return std::optional<Credentials>(c);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("{} is not a credentials file ({}); run forest login again", path, e.what()));
  }
}

absl::Status SaveCredentials(const Credentials& c) {
  const std::filesystem::path path = CredentialsPath();
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  const std::string text =
      nlohmann::json{{"server", c.server}, {"token", c.token}, {"user", c.user}}.dump(2) + "\n";
  const std::string tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(fmt::format("cannot write {}", path.string()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeServer(std::string_view server) {
  std::string s(Trim(server));
  while (!s.empty() && s.back() == '/') s.pop_back();
  if (s.empty()) return absl::InvalidArgumentError("empty server address");
  if (s.rfind("http://", 0) != 0 && s.rfind("https://", 0) != 0) {
    if (s.find("://") != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("\"{}\": only http:// and https:// servers", s));
    }
    if (s.front() == ':') s = "127.0.0.1" + s;
    s = "http://" + s;
  }
  return s;
}

std::string PathEscape(std::string_view segment) {
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

ApiClient::ApiClient(std::string server, std::string token)
    : server_(std::move(server)), token_(std::move(token)) {}

absl::StatusOr<nlohmann::json> ApiClient::Call(const std::string& method, const std::string& path,
                                               const Query& query,
                                               const std::optional<nlohmann::json>& body) {
  httplib::Client client(server_);
  if (!client.is_valid()) {
    return absl::InvalidArgumentError(fmt::format("cannot use the server \"{}\"", server_));
  }
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(60));
  httplib::Request req;
  req.method = method;
  req.path = path;
  for (size_t i = 0; i < query.size(); ++i) {
    req.path +=
        (i == 0 ? "?" : "&") + PathEscape(query[i].first) + "=" + PathEscape(query[i].second);
  }
  if (!token_.empty()) req.set_header("Authorization", "Bearer " + token_);
  for (const auto& [name, value] : extra_headers) req.set_header(name, value);
  if (body) {
    req.body = body->dump();
    req.set_header("Content-Type", "application/json");
  }
  auto result = client.send(req);
  if (!result) {
    return absl::UnavailableError(
        fmt::format("cannot reach the server {}: {}", server_, httplib::to_string(result.error())));
  }
  last_set_cookie = result->get_header_value("Set-Cookie");
  nlohmann::json answer;
  if (!result->body.empty()) {
    try {
      answer = nlohmann::json::parse(result->body);
    } catch (const std::exception&) {
      if (result->status >= 400) return FromHttp(result->status, result->body);
      return absl::InternalError(
          fmt::format("the server {} answered something that is not JSON", server_));
    }
  }
  if (result->status >= 400) {
    std::string message = fmt::format("HTTP {}", result->status);
    if (answer.is_object() && answer.contains("error")) {
      const nlohmann::json& e = answer["error"];
      message = e.value("message", message);
    }
    return FromHttp(result->status, message);
  }
  return answer;
}

}  // namespace forest::cli
