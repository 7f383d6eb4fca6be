// Sends a message on a channel: the seam between the alarm engine and the
// network. CurlSender speaks HTTP(S) to the webhook services and SMTP
// (STARTTLS or TLS, with authentication) through libcurl; tests use it
// against local receivers, or a fake.
//
// Errors never quote a channel's secrets (Channel::Redact): they end up in
// the alarm log and the logs.
#pragma once

#include <memory>
#include <string>

#include "alarm/channel.h"
#include "alarm/format.h"
#include "common/clock.h"
#include "common/status.h"

namespace forest::alarm {

class Sender {
 public:
  virtual ~Sender() = default;
  // Blocks until the service answered, at most channel.timeout_seconds.
  // OK when it took the message; Unavailable when it could not be reached
  // or answered 5xx/408/429; FailedPrecondition when it refused the message
  // (format.h's CheckResponse, SMTP rejections). Thread-safe.
  virtual absl::Status Send(const Channel& channel, const Message& message) = 0;
};

struct CurlSenderOptions {
  // Signature timestamps and e-mail dates. Not owned.
  Clock* clock = &SystemClock::Get();
  std::string user_agent = "forest-alarm";
};

class CurlSender final : public Sender {
 public:
  explicit CurlSender(CurlSenderOptions options = {});
  absl::Status Send(const Channel& channel, const Message& message) override;

 private:
  absl::Status SendHttp(const Channel& channel, const Message& message);
  absl::Status SendEmail(const Channel& channel, const Message& message);
  const CurlSenderOptions options_;
};

}  // namespace forest::alarm
