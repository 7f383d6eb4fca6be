#!/usr/bin/env bash
# Installs the Debian 12 packages Forest builds and tests with (the list in
# docs/dependencies.md). Installs only what is missing, so a second run takes
# about a second. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git openssl
  clang libclang-rt-14-dev            # libFuzzer target and sanitizer runtime
  # libraries of src/ (architecture page, "Dependencies")
  libabsl-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev tzdata
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libsoci-dev libsqlite3-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev libsodium-dev libyaml-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  etcd-server etcd-client
  postgresql-15 postgresql-client-15 mariadb-server mariadb-client  # history DB tests (label db)
  python3 python3-croniter             # differential oracle for 5-field cron
  python3-aiosmtpd                     # the alarm e-mail tests' SMTP server
  libquartz2-java default-jdk-headless # differential oracle for the quartz dialect
  chromium                             # the web UI's end-to-end test (label browser)
)
# The web UI's build (web/, npm): the machine's Node.js when it has one
# (Vite needs 20.19 or later: scripts/web-build.sh checks), else Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  # dpkg-query answers "install ok installed" only for a fully installed package.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if ((EUID != 0)); then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
