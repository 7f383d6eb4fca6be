#include "alarm/sender.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

namespace forest::alarm {
namespace {

constexpr size_t kMaxAnswer = 64 * 1024;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Curl = std::unique_ptr<CURL, CurlDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;

size_t OnAnswer(char* data, size_t size, size_t count, void* user) {
  auto* answer = static_cast<std::string*>(user);
  const size_t n = size * count;
  if (answer->size() < kMaxAnswer) answer->append(data, std::min(n, kMaxAnswer - answer->size()));
  return n;
}

struct Upload {
  const std::string* data = nullptr;
  size_t offset = 0;
};

size_t OnUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, upload->data->size() - upload->offset);
  std::memcpy(buffer, upload->data->data() + upload->offset, n);
  upload->offset += n;
  return n;
}

bool Append(List& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next == nullptr) return false;
  (void)list.release();
  list.reset(next);
  return true;
}

// A transport error: Unavailable (worth retrying), never with the URL.
absl::Status TransportError(const Channel& channel, CURLcode code, const char* detail) {
  std::string message = curl_easy_strerror(code);
  if (detail != nullptr && detail[0] != '\0') message += std::string(": ") + detail;
  return absl::UnavailableError(channel.Redact(message));
}

void CommonOptions(CURL* c, const Channel& channel, const std::string& user_agent, char* error) {
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(channel.timeout_seconds) * 1000L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   std::min(10000L, static_cast<long>(channel.timeout_seconds) * 1000L));
  curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
}

}  // namespace

CurlSender::CurlSender(CurlSenderOptions options) : options_(std::move(options)) { InitCurlOnce(); }

absl::Status CurlSender::Send(const Channel& channel, const Message& message) {
  if (channel.type == ChannelType::kEmail) return SendEmail(channel, message);
  return SendHttp(channel, message);
}

absl::Status CurlSender::SendHttp(const Channel& channel, const Message& message) {
  const HttpRequest request = BuildRequest(channel, message, options_.clock->Now());
  Curl c(curl_easy_init());
  if (c == nullptr) return absl::ResourceExhaustedError("cannot start an HTTP request");
  char error[CURL_ERROR_SIZE] = {0};
  CommonOptions(c.get(), channel, options_.user_agent, error);
  List headers;
  for (const auto& [name, value] : request.headers) {
    if (!Append(headers, name + ": " + value)) {
      return absl::ResourceExhaustedError("cannot build the request's headers");
    }
  }
  Append(headers, "Expect:");  // no 100-continue round trip
  std::string answer;
  curl_easy_setopt(c.get(), CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, &OnAnswer);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &answer);
  const CURLcode code = curl_easy_perform(c.get());
  if (code != CURLE_OK) return TransportError(channel, code, error);
  long status = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
  const absl::Status checked = CheckResponse(channel.type, status, answer);
  if (checked.ok()) return checked;
  return absl::Status(checked.code(), channel.Redact(std::string(checked.message())));
}

absl::Status CurlSender::SendEmail(const Channel& channel, const Message& message) {
  const std::string email = BuildEmail(channel, message, options_.clock->Now());
  Curl c(curl_easy_init());
  if (c == nullptr) return absl::ResourceExhaustedError("cannot start an SMTP session");
  char error[CURL_ERROR_SIZE] = {0};
  CommonOptions(c.get(), channel, options_.user_agent, error);
  const bool tls = channel.security == SmtpSecurity::kTls;
  const std::string host = channel.host.find(':') != std::string::npos
                               ? "[" + channel.host + "]"  // an IPv6 address
                               : channel.host;
  const std::string url =
      fmt::format("{}://{}:{}", tls ? "smtps" : "smtp", host, channel.SmtpPort());
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (channel.security == SmtpSecurity::kStartTls) {
    curl_easy_setopt(c.get(), CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  }
  if (!channel.ca_file.empty()) curl_easy_setopt(c.get(), CURLOPT_CAINFO, channel.ca_file.c_str());
  if (channel.insecure_skip_verify) {
    curl_easy_setopt(c.get(), CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c.get(), CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!channel.username.empty()) {
    curl_easy_setopt(c.get(), CURLOPT_USERNAME, channel.username.c_str());
    curl_easy_setopt(c.get(), CURLOPT_PASSWORD, channel.password.c_str());
  }
  const std::string from = "<" + channel.from + ">";
  curl_easy_setopt(c.get(), CURLOPT_MAIL_FROM, from.c_str());
  List rcpt;
  for (const std::string& to : channel.to) {
    if (!Append(rcpt, "<" + to + ">")) {
      return absl::ResourceExhaustedError("cannot build the recipient list");
    }
  }
  curl_easy_setopt(c.get(), CURLOPT_MAIL_RCPT, rcpt.get());
  Upload upload{&email, 0};
  curl_easy_setopt(c.get(), CURLOPT_READFUNCTION, &OnUpload);
  curl_easy_setopt(c.get(), CURLOPT_READDATA, &upload);
  curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
  const CURLcode code = curl_easy_perform(c.get());
  if (code == CURLE_OK) return absl::OkStatus();
  long smtp = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &smtp);
  if (code == CURLE_LOGIN_DENIED || (smtp >= 500 && smtp < 600)) {
    std::string why = fmt::format("the SMTP server refused it: {}", curl_easy_strerror(code));
    if (smtp != 0) why += fmt::format(" (reply {})", smtp);
    if (error[0] != '\0') why += std::string(": ") + error;
    return absl::FailedPreconditionError(channel.Redact(why));
  }
  return TransportError(channel, code, error);
}

}  // namespace forest::alarm
