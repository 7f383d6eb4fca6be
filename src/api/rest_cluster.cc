// REST v1: nodes, workers, plans, pending assignments, cron preview.
#include "api/api.h"

namespace forest::api {

void AddClusterRoutes(Router&, const ApiDeps&) {}

}  // namespace forest::api
