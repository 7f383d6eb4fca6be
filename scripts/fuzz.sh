#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (preset `fuzz`) and runs each for
# the given number of seconds (default 60) over its seed corpus. New inputs go
# to build/fuzz/corpus/, never into the repository; a crash or hang fails the
# run and leaves the reproducer in build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

run() {
  local name=$1 corpus=$2
  mkdir -p "build/fuzz/corpus/$name" build/fuzz/artifacts
  echo "fuzz: $name for ${seconds}s"
  "build/fuzz/$3/$name" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/ \
    "build/fuzz/corpus/$name" "$corpus" 2>&1 | tail -n 12
}

run cron_parse_fuzz src/cron/fuzz_corpus src/cron
