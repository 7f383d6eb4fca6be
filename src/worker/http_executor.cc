#include "worker/http_executor.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "worker/executor_internal.h"

namespace forest::worker {
namespace {

using nlohmann::json;

// RFC 9110 token characters: what a method and a header name may be made of.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// What the curl callbacks share with Run().
struct Transfer {
  const CancelToken* cancel = nullptr;
  std::string body_start;  // the first `keep` bytes of the body (and a few more)
  size_t keep = 0;
  internal::RunLog* log = nullptr;
  bool log_failed = false;
  const std::string* run_id = nullptr;

  void Log(std::string_view data) {
    if (log_failed) return;
    if (absl::Status s = log->Append(data); !s.ok()) {
      log_failed = true;
      spdlog::warn("run {}: {}", *run_id, std::string(s.message()));
    }
  }
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  // Four more bytes than kept, so Utf8Head sees whether the cap cut a character.
  const size_t limit = t->keep + 4;
  if (t->body_start.size() < limit) {
    t->body_start.append(data, std::min(n, limit - t->body_start.size()));
  }
  t->Log(std::string_view(data, n));
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->Log(std::string_view(data, n));
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->cancel->cancelled() ? 1 : 0;
}

struct CurlCleanup {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistCleanup {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

Outcome Failure(std::string result) {
  Outcome o;
  o.success = false;
  o.result = std::move(result);
  return o;
}

}  // namespace

absl::StatusOr<HttpRequest> HttpRequestFromParams(std::string_view params) {
  HttpRequest req;
  const json j = json::parse(params.begin(), params.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return req;

  bool json_body = false;
  if (const auto it = j.find("body"); it != j.end() && !it->is_null()) {
    req.has_body = true;
    if (it->is_string()) {
      req.body = it->get<std::string>();
    } else {
      req.body = it->dump();
      json_body = true;
    }
  }
  if (const auto it = j.find("headers"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) {
      return absl::InvalidArgumentError("params.headers: expected an object of strings");
    }
    for (const auto& [name, value] : it->items()) {
      if (!IsToken(name)) {
        return absl::InvalidArgumentError(
            fmt::format("params.headers: '{}' is not a valid header name", name));
      }
      if (!value.is_string()) {
        return absl::InvalidArgumentError(
            fmt::format("params.headers.{}: expected a string", name));
      }
      std::string v = value.get<std::string>();
      if (v.find_first_of("\r\n") != std::string::npos || v.find('\0') != std::string::npos) {
        return absl::InvalidArgumentError(
            fmt::format("params.headers.{}: must not contain line breaks", name));
      }
      req.headers.emplace_back(name, std::move(v));
    }
  }
  if (const auto it = j.find("method"); it != j.end() && !it->is_null()) {
    if (!it->is_string() || !IsToken(it->get<std::string>())) {
      return absl::InvalidArgumentError("params.method: expected an HTTP method such as \"POST\"");
    }
    req.method = Upper(it->get<std::string>());
  } else {
    req.method = req.has_body ? "POST" : "GET";
  }
  if (json_body && std::none_of(req.headers.begin(), req.headers.end(), [](const auto& h) {
        return EqualsIgnoreCase(h.first, "Content-Type");
      })) {
    req.headers.emplace_back("Content-Type", "application/json");
  }
  return req;
}

HttpExecutor::HttpExecutor(HttpOptions options) : options_(std::move(options)) { InitCurlOnce(); }

bool HttpExecutor::Accepts(const model::Assignment& assignment) const {
  const std::string_view target = Trim(assignment.target);
  return StartsWithIgnoreCase(target, "http://") || StartsWithIgnoreCase(target, "https://");
}

Outcome HttpExecutor::Run(const Execution& execution, CancelToken& cancel) {
  const model::Assignment& a = execution.assignment;
  absl::StatusOr<HttpRequest> request = HttpRequestFromParams(a.params);
  if (!request.ok())
    return Failure(fmt::format("bad params: {}", std::string(request.status().message())));
  if (cancel.cancelled()) return Failure(cancel.reason());

  absl::StatusOr<internal::RunLog> opened =
      internal::RunLog::Open(execution.log_path, options_.log_max_bytes, options_.log_keep);
  internal::RunLog log;
  if (opened.ok()) {
    log = *std::move(opened);
  } else {
    spdlog::warn("run {}: {}", a.id, std::string(opened.status().message()));
  }

  std::unique_ptr<CURL, CurlCleanup> curl(curl_easy_init());
  if (!curl) return Failure("request failed: cannot create a curl handle");
  CURL* c = curl.get();
  Transfer transfer;
  transfer.cancel = &cancel;
  transfer.keep = std::min(options_.max_body_kept, execution.output_cap);
  transfer.log = &log;
  transfer.run_id = &a.id;

  const std::string url(Trim(a.target));
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  const long timeout_ms = a.timeout_seconds > 0
                              ? static_cast<long>(a.timeout_seconds * 1000)
                              : static_cast<long>(options_.default_timeout.count());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (options_.follow_redirects) {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);

  const std::string& method = request->method;
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request->has_body || method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request->body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request->body.c_str());
    if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_slist* raw_headers = nullptr;
  for (const auto& [name, value] : request->headers) {
    // "Name;" is how curl sends a header with an empty value.
    const std::string line =
        value.empty() ? fmt::format("{};", name) : fmt::format("{}: {}", name, value);
    raw_headers = curl_slist_append(raw_headers, line.c_str());
  }
  // No "Expect: 100-continue" round trip before a large body.
  raw_headers = curl_slist_append(raw_headers, "Expect:");
  std::unique_ptr<curl_slist, SlistCleanup> headers(raw_headers);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

  Outcome outcome;
  outcome.output = internal::Utf8Head(transfer.body_start, transfer.keep);
  if (status > 0) outcome.exit_code = static_cast<int>(status);
  if (rc == CURLE_ABORTED_BY_CALLBACK && cancel.cancelled()) {
    outcome.result = cancel.reason();
  } else if (rc != CURLE_OK) {
    outcome.result =
        fmt::format("request failed: {}", error[0] != '\0' ? error : curl_easy_strerror(rc));
  } else {
    outcome.success = status >= 200 && status < 300;
    outcome.result = fmt::format("HTTP {}", status);
  }
  return outcome;
}

}  // namespace forest::worker
