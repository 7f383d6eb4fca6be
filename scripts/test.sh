#!/usr/bin/env bash
# Sets up a Debian 12 machine (missing packages only), builds Forest (with the
# web UI: npm ci when web/package-lock.json changed) and runs every test:
# unit, CLI, etcd, databases, integration, differential (croniter, Quartz),
# the web UI's unit tests and its end-to-end test in headless Chromium,
# benchmark smoke runs, the unit, CLI and etcd tests again under ASan+UBSan,
# and the libFuzzer targets.
#
#   scripts/test.sh                     everything (what CI runs)
#   FOREST_FUZZ_SECONDS=0 scripts/test.sh        skip the fuzz run
#   FOREST_SANITIZER_TESTS=0 scripts/test.sh     skip the ASan+UBSan build
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

step() { printf '\n== %s ==\n' "$*"; }

step "build (release)"
cmake --preset release >/dev/null
cmake --build --preset release

step "tests (release)"
ctest --preset release

if [[ ${FOREST_SANITIZER_TESTS:-1} != 0 ]]; then
  step "unit, CLI and etcd tests under ASan+UBSan"
  cmake --preset asan-ubsan >/dev/null
  cmake --build --preset asan-ubsan
  ctest --preset asan-ubsan -L 'unit|cli|etcd'
fi

fuzz_seconds=${FOREST_FUZZ_SECONDS:-60}
if [[ $fuzz_seconds != 0 ]]; then
  step "fuzz (${fuzz_seconds}s per target)"
  scripts/fuzz.sh "$fuzz_seconds"
fi
