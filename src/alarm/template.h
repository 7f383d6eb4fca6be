// Message templates: text with {{name}} placeholders (spaces inside the
// braces allowed), filled from Event::Variables(). A channel's `template`
// replaces the default message text; a webhook's `bodyTemplate` replaces
// its whole JSON body, with each value JSON-escaped (the template supplies
// the quotes: {"msg": "{{title}}"}).
//
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace forest::alarm {

enum class Escape { kNone, kJson };

// Placeholders whose name is not in `vars` become "".
std::string Render(std::string_view text, const std::map<std::string, std::string>& vars,
                   Escape escape = Escape::kNone);

// InvalidArgument naming the first unknown placeholder or an unclosed "{{",
// with `field` as the error's field.
absl::Status ValidateTemplate(std::string_view text, std::string_view field);

}  // namespace forest::alarm
