#include "api/errors.h"

#include <fmt/format.h>

#include <charconv>

#include "model/job.h"

namespace forest::api {

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string CodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "ok";
    case absl::StatusCode::kInvalidArgument:
      return "invalid_argument";
    case absl::StatusCode::kOutOfRange:
      return "out_of_range";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    case absl::StatusCode::kPermissionDenied:
      return "permission_denied";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kAlreadyExists:
      return "already_exists";
    case absl::StatusCode::kAborted:
      return "conflict";
    case absl::StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case absl::StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case absl::StatusCode::kUnimplemented:
      return "unimplemented";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    default:
      return "internal";
  }
}

Response JsonResponse(const nlohmann::json& body, int status) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response ErrorResponse(const absl::Status& status) {
  nlohmann::json error = {{"code", CodeName(status.code())},
                          {"message", std::string(status.message())}};
  if (std::string field = model::ErrorField(status); !field.empty()) error["field"] = field;
  return JsonResponse({{"error", error}}, HttpStatus(status.code()));
}

absl::StatusOr<nlohmann::json> ParseJsonObject(const std::string& body) {
  if (body.empty()) return absl::InvalidArgumentError("the request has no body: a JSON object");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(
        fmt::format("the body is not valid JSON (at byte {})", e.byte));
  }
  if (!j.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  return j;
}

absl::Status FieldError(std::string_view field, std::string_view message) {
  return model::FieldError(field, message);
}

absl::StatusOr<int64_t> QueryInt(const Request& request, const std::string& name, int64_t fallback,
                                 int64_t min, int64_t max) {
  const auto text = request.Query(name);
  if (!text) return fallback;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    return FieldError(name, fmt::format("\"{}\" is not an integer", *text));
  }
  if (value < min || value > max) {
    return FieldError(name, fmt::format("{} is outside {}..{}", value, min, max));
  }
  return value;
}

absl::StatusOr<std::optional<Time>> TimeQuery(const Request& request, const std::string& name,
                                              const TimeZone& zone) {
  const auto text = request.Query(name);
  if (!text || text->empty()) return std::optional<Time>();
  auto t = ParseIso8601(*text, zone);
  if (!t.ok()) return FieldError(name, std::string(t.status().message()));
  return std::optional<Time>(*t);
}

}  // namespace forest::api
