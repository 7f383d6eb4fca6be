// Error vocabulary for all of Forest: absl::Status / absl::StatusOr<T> with the
// canonical codes (they map one-to-one onto gRPC and HTTP), plus the two
// propagation macros every module uses.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FOREST_STATUS_CONCAT_INNER_(a, b) a##b
#define FOREST_STATUS_CONCAT_(a, b) FOREST_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
// (__COUNTER__ keeps the names apart when one use nests in another's lambda.)
#define RETURN_IF_ERROR(expr) \
  FOREST_RETURN_IF_ERROR_IMPL_(FOREST_STATUS_CONCAT_(forest_status_, __COUNTER__), expr)

#define FOREST_RETURN_IF_ERROR_IMPL_(tmp, expr) \
  do {                                          \
    ::absl::Status tmp = (expr);                \
    if (!tmp.ok()) return tmp;                  \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F());` binds the value of an absl::StatusOr or
// returns its status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  FOREST_ASSIGN_OR_RETURN_IMPL_(FOREST_STATUS_CONCAT_(forest_statusor_, __COUNTER__), lhs, expr)

#define FOREST_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()
