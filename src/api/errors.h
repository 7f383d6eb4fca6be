// Answers: JSON bodies, and errors as the REST API writes them:
//   {"error": {"code": "invalid_argument", "message": "...", "field": "cron"}}
// with the HTTP status of the absl code (InvalidArgument 400,
// Unauthenticated 401, PermissionDenied 403, NotFound 404, AlreadyExists,
// Aborted and FailedPrecondition 409, ResourceExhausted 429,
// Unimplemented 501, Unavailable 503, DeadlineExceeded 504, others 500).
// "field" comes from model::ErrorField and is left out when empty.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/http.h"
#include "common/time.h"
#include "common/time_zone.h"
#include "common/status.h"

namespace forest::api {

int HttpStatus(absl::StatusCode code);
// "invalid_argument", "not_found", ...
std::string CodeName(absl::StatusCode code);

Response ErrorResponse(const absl::Status& status);
Response JsonResponse(const nlohmann::json& body, int status = 200);

// The body as a JSON object; InvalidArgument naming the position of a
// syntax error, or saying that the body is not an object.
absl::StatusOr<nlohmann::json> ParseJsonObject(const std::string& body);

// An error about one field: InvalidArgument, field set (model::FieldError).
absl::Status FieldError(std::string_view field, std::string_view message);

// A query parameter as an integer in [min, max], or `fallback` when absent;
// InvalidArgument naming the parameter otherwise.
absl::StatusOr<int64_t> QueryInt(const Request& request, const std::string& name, int64_t fallback,
                                 int64_t min, int64_t max);

// A time query parameter (RFC 3339; without an offset, a wall time in
// `zone`), or nullopt when absent; InvalidArgument naming it otherwise.
absl::StatusOr<std::optional<Time>> TimeQuery(const Request& request, const std::string& name,
                                              const TimeZone& zone);

}  // namespace forest::api
