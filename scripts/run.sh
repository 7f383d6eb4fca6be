#!/usr/bin/env bash
# Sets up a Debian 12 machine (missing packages only), builds Forest (release)
# and runs it with the given arguments: `scripts/run.sh cron next '*/5 * * * *'`;
# with none, `forest server` (standalone).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target forest >&2

if (($# == 0)); then
  set -- server  # standalone: data in ./forest-data, stops on Ctrl-C
fi
exec build/release/apps/forest/forest "$@"
