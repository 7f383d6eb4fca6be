#include "api/http.h"

#include <algorithm>

namespace forest::api {

std::string_view Name(Access a) {
  switch (a) {
    case Access::kPublic:
      return "public";
    case Access::kViewer:
      return "viewer";
    case Access::kOperator:
      return "operator";
    case Access::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<std::string> Request::Query(const std::string& name) const {
  auto [first, last] = query.equal_range(name);
  if (first == last) return std::nullopt;
  return std::prev(last)->second;
}

std::string Request::Header(const std::string& lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string Request::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

bool AcceptsGzip(std::string_view accept) {
  for (const std::string_view token : {"gzip", "*"}) {
    const size_t at = accept.find(token);
    if (at == std::string_view::npos) continue;
    const size_t end = std::min(accept.find(',', at), accept.size());
    const std::string_view params = accept.substr(at + token.size(), end - at - token.size());
    // "gzip;q=0" (or q=0.0, q=0.000) refuses it.
    const size_t q = params.find("q=");
    if (q != std::string_view::npos) {
      const std::string_view value = params.substr(q + 2);
      if (!value.empty() && value.find_first_not_of("0. ") == std::string_view::npos) continue;
    }
    return true;
  }
  return false;
}

}  // namespace forest::api
