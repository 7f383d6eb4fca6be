#!/usr/bin/env bash
# Builds the web UI (web/) into OUT_DIR: `npm ci` when package-lock.json
# changed since the last install (so a rebuild does not reinstall), then the
# Vite build. The CMake build runs it (src/web/CMakeLists.txt).
#
#   scripts/web-build.sh OUT_DIR
set -euo pipefail
out=${1:?usage: scripts/web-build.sh OUT_DIR}
cd "$(dirname "$0")/../web"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "web-build: node and npm are needed (scripts/install-deps.sh installs them)," \
    "or configure with -DFOREST_WEB=OFF" >&2
  exit 1
fi
# Vite needs Node.js 20.19 or later.
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)'; then
  echo "web-build: Node.js $(node --version) is too old: the UI build needs 20.19 or later" >&2
  exit 1
fi
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent -- --outDir "$out" --emptyOutDir --logLevel warn
