// Each channel type's message: the HTTP request a webhook service expects
// (URL with its signature, headers, JSON body), what its answer means, and
// the e-mail an SMTP channel sends. Pure functions of the channel, the
// message and the time; no I/O.
//
//   webhook:  POST url, Content-Type application/json, the channel's
//             headers, X-Forest-Alarm-Id, X-Forest-Event (the kind), and with
//             a secret X-Forest-Timestamp + X-Forest-Signature (signing.h).
//             Body: bodyTemplate rendered (JSON-escaped values), else
//             {"alarmId", "kind", "title", "text", "jobId", "jobName",
//             "group", "executionId", "worker", "status", "result", "node",
//             "mobile", "scheduledAt", "startedAt", "finishedAt", "at",
//             "count", "firstAt", "lastAt", "link"}. Any 2xx is success.
//   dingtalk: POST url[&timestamp=&sign=], {"msgtype": "markdown",
//             "markdown": {"title", "text"}, "at": {"atMobiles": [mobile],
//             "isAtAll": false}}; success is {"errcode": 0}.
//   wecom:    POST url, {"msgtype": "markdown", "markdown": {"content"}};
//             success is {"errcode": 0}.
//   feishu:   POST url, {["timestamp", "sign",] "msg_type": "text",
//             "content": {"text"}}; success is {"code": 0} (or the older
//             {"StatusCode": 0}).
//   slack:    POST url, {"text", "blocks": [{"type": "section", "text":
//             {"type": "mrkdwn", "text"}}]} with &, <, > escaped; success
//             is 2xx.
//   email:    an RFC 5322 message: From, To, Subject (the title, RFC 2047
//             encoded when not ASCII), Date, Message-ID, X-Forest-Alarm-Id,
//             a text/plain UTF-8 body (the text), CRLF line ends.
// A channel's `template` replaces the text in every type.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alarm/channel.h"
#include "alarm/event.h"
#include "common/status.h"
#include "common/time.h"

namespace forest::alarm {

// What a channel sends: an event, as alarm `alarm_id`.
struct Message {
  std::string alarm_id;
  Event event;
};

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The message text: the channel's template rendered, else the event's.
std::string MessageText(const Channel& channel, const Message& message);

// For the webhook types (not email). `now` signs it.
HttpRequest BuildRequest(const Channel& channel, const Message& message, Time now);

// OK when the service took it. Unavailable for 5xx, 408 and 429 (worth a
// retry), FailedPrecondition for other refusals (also retried: a
// misconfigured channel may be fixed), both with the status and the start
// of the answer.
absl::Status CheckResponse(ChannelType type, long http_status, std::string_view body);

// The whole e-mail (headers and body), CRLF line ends, dot lines left to
// the SMTP client.
std::string BuildEmail(const Channel& channel, const Message& message, Time now);

}  // namespace forest::alarm
