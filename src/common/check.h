// Invariant checks. A broken invariant is a bug: it crashes loudly, in every
// build type. Bad input and a failing environment get an absl::Status instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FOREST_CHECK(cond)                                                          \
  do {                                                                              \
    if (!(cond)) [[unlikely]] {                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
