// Runs a job whose target is an http:// or https:// URL: one request with
// libcurl, success when the final answer is 2xx.
//
// The request comes from the assignment's params when they are a JSON
// object (see HttpRequestFromParams); otherwise (empty, not JSON, not an
// object) it is a plain GET of the target. The response status goes to
// Outcome::exit_code, "HTTP 200" / "HTTP 500" to the result, the start of
// the body to the output, and the whole response (headers and body) to the
// run log. Redirects are followed (http and https only) when the options say
// so. Cancellation (kill, timeout) aborts the transfer from curl's progress
// callback, so Run() returns within about a second of it.
//
// Threads: Run() may be called from several threads at once; each call uses
// its own curl handle and blocks the calling thread for the whole request.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "worker/executor.h"

namespace forest::worker {

struct HttpOptions {
  // For the TCP (and TLS) connection.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  // For the whole request when the assignment has no timeout of its own
  // (timeoutSeconds > 0 wins); 0 = none.
  std::chrono::milliseconds default_timeout{0};
  // How much of the start of the body Outcome::output keeps (and never more
  // than Execution::output_cap).
  size_t max_body_kept = 64 * 1024;
  // Follow up to 5 redirects (to http and https URLs only).
  bool follow_redirects = true;
  // The run log rotates past this size, keeping `log_keep` files; 0 = never.
  size_t log_max_bytes = 10 * 1024 * 1024;
  int log_keep = 3;
  std::string user_agent = "forest-worker";
};

struct HttpRequest {
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  bool has_body = false;
  std::string body;
};

// The request an assignment's params describe: a JSON object with "method"
// (default GET, or POST when there is a body), "headers" (an object of
// strings) and "body" (a string sent as is, or any other JSON value sent
// serialized with Content-Type: application/json unless the headers give
// one). Params that are empty, not JSON, or not an object: a plain GET.
// InvalidArgument naming the field for an object with a wrong type, a method
// that is not an HTTP token, or a header with a bad name or a line break.
absl::StatusOr<HttpRequest> HttpRequestFromParams(std::string_view params);

class HttpExecutor : public Executor {
 public:
  explicit HttpExecutor(HttpOptions options = {});

  std::string_view name() const override { return "http"; }
  // http:// and https:// targets (case-insensitive scheme).
  bool Accepts(const model::Assignment& assignment) const override;
  // Never throws: bad params, transport errors and cancellation are Outcomes
  // with success == false and the reason in `result`.
  Outcome Run(const Execution& execution, CancelToken& cancel) override;

 private:
  const HttpOptions options_;
};

}  // namespace forest::worker
