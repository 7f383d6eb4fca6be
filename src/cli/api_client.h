// Internal to src/cli: the client side of the HTTP API for the `forest`
// commands that talk to a server (job, group, exec, node, worker ls, plan,
// login).
//
// Where the server and token come from, first found wins: --server and
// --token, FOREST_SERVER and FOREST_TOKEN, the credentials file that
// `forest login` writes ($FOREST_CONFIG, else ~/.config/forest/credentials.json,
// mode 0600), then http://127.0.0.1:2856 without a token.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace forest::cli {

struct Credentials {
  std::string server;  // "http://host:port" or "https://host:port"
  std::string token;
  std::string user;
};

// The credentials file's path.
std::string CredentialsPath();
absl::StatusOr<std::optional<Credentials>> LoadCredentials();
// Writes the file with mode 0600 (created so, never widened later).
absl::Status SaveCredentials(const Credentials& credentials);

// "host:port" or ":port" become http:// URLs; a URL is checked.
absl::StatusOr<std::string> NormalizeServer(std::string_view server);

using Query = std::vector<std::pair<std::string, std::string>>;

class ApiClient {
 public:
  ApiClient(std::string server, std::string token);

  // Sends the request; the answer's JSON body (null for 204). An HTTP error
  // becomes a Status of the matching code whose message is the server's
  // ("field: message" when it names a field); a transport error is
  // kUnavailable naming the server.
  absl::StatusOr<nlohmann::json> Call(const std::string& method, const std::string& path,
                                      const Query& query = {},
                                      const std::optional<nlohmann::json>& body = std::nullopt);
  // For login: extra headers sent, and the Set-Cookie answered.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::string last_set_cookie;

  const std::string& server() const { return server_; }

 private:
  std::string server_;
  std::string token_;
};

// Percent-encodes a path segment.
std::string PathEscape(std::string_view segment);

}  // namespace forest::cli
