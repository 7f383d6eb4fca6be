#!/usr/bin/env bash
# Sets up a Debian 12 machine (missing packages only), builds Forest (release)
# and runs it with the given arguments: `scripts/run.sh cron next '*/5 * * * *'`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target forest >&2

if (($# == 0)); then
  # TODO(issue 4): default to `server` (standalone, UI on :2856) once it exists.
  set -- --help
fi
exec build/release/apps/forest/forest "$@"
