// The original's legacy endpoints (docs/legacy-api.md).
#include "api/api.h"

namespace forest::api {

void AddLegacyRoutes(Router&, const ApiDeps&) {}

}  // namespace forest::api
