// REST v1: executions and statistics (history/history.h).
#include "api/api.h"

namespace forest::api {

void AddHistoryRoutes(Router&, const ApiDeps&) {}

}  // namespace forest::api
