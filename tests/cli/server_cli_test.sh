#!/usr/bin/env bash
# End-to-end checks of `forest server` in standalone mode: it starts, leads,
# stops on SIGTERM with status 0 and leaves its store in the data directory;
# bad flags exit 2; the original's single-dash command line and a bare
# `forest` start the server too.
# Usage: server_cli_test.sh PATH_TO_FOREST
set -uo pipefail
forest=$(realpath "$1")
tmp=$(mktemp -d)
failures=0
checks=0
pids=()

cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  failures=$((failures + 1))
  echo "FAIL $1"
  [[ -n ${2:-} && -f $2 ]] && sed 's/^/  log: /' "$2"
}

# A loopback port nothing listens on.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo 28560
}

# wait_log FILE PATTERN: up to 5 s for PATTERN to appear in FILE.
wait_log() {
  for _ in $(seq 1 100); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# run_until_leading NAME NODE_ID LOG DIR -- COMMAND...: starts COMMAND in DIR,
# waits until node NODE_ID leads, sends SIGTERM and checks a clean exit.
run_until_leading() {
  local name=$1 node=$2 log=$3 dir=$4
  shift 5
  checks=$((checks + 1))
  (cd "$dir" && exec "$@" 2>"$log") &
  local pid=$!
  pids+=("$pid")
  if ! wait_log "$log" "node $node: leads"; then
    fail "$name: node $node did not lead within 5 s" "$log"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return
  fi
  kill -TERM "$pid"
  wait "$pid"
  local status=$?
  if [[ $status != 0 ]]; then
    fail "$name: exit status $status after SIGTERM (want 0)" "$log"
  elif ! grep -q "forest server: stopped" "$log"; then
    fail "$name: no 'stopped' line in the log" "$log"
  fi
}

# Standalone, as documented.
mkdir -p "$tmp/cwd1"
run_until_leading "standalone" n1 "$tmp/log1" "$tmp/cwd1" -- \
  "$forest" server --data-dir "$tmp/data1" --http-address "127.0.0.1:$(free_port)" --node-id n1
checks=$((checks + 1))
[[ -f $tmp/data1/forest.db ]] || fail "standalone: no forest.db in the data directory"
checks=$((checks + 1))
[[ -z $(ls -A "$tmp/cwd1") ]] || fail "standalone: wrote into the working directory: $(ls -A "$tmp/cwd1")"

# The original's command line: single-dash flags, no subcommand.
mkdir -p "$tmp/cwd2"
run_until_leading "drop-in" n2 "$tmp/log2" "$tmp/cwd2" -- \
  "$forest" -etcd-endpoints none -node-id n2 -data-dir "$tmp/data2" -http-address=:2856
checks=$((checks + 1))
[[ -f $tmp/data2/forest.db ]] || fail "drop-in: no forest.db in -data-dir"

# No arguments at all: the server, data in ./forest-data; flags from the
# environment.
mkdir -p "$tmp/cwd3"
FOREST_NODE_ID=n3 run_until_leading "no arguments" n3 "$tmp/log3" "$tmp/cwd3" -- "$forest"
checks=$((checks + 1))
[[ -f $tmp/cwd3/forest-data/forest.db ]] || fail "no arguments: no ./forest-data/forest.db"

# Bad values exit 2 with the flag named, before anything starts.
# expect_usage NAME STDERR_SUBSTRING -- ARGS...
expect_usage() {
  local name=$1 want=$2
  shift 3
  checks=$((checks + 1))
  local err status
  err=$(cd "$tmp" && timeout 10 "$forest" "$@" 2>&1 >/dev/null)
  status=$?
  if [[ $status != 2 || $err != *"$want"* ]]; then
    fail "$name: status $status (want 2), stderr: $err (want to contain: $want)"
  fi
}
expect_usage "bad --lease-ttl" "--lease-ttl" -- server --lease-ttl abc --data-dir "$tmp/bad"
expect_usage "fractional --lease-ttl" "whole number of seconds" -- server --lease-ttl 1500ms
expect_usage "bad --http-address" "--http-address" -- server --http-address 2856
expect_usage "bad --etcd-dial-timeout" "--etcd-dial-timeout" -- server --etcd-dailtimeout soon
expect_usage "bad --db-url" "--db-url" -- -db-url nonsense
expect_usage "negative --history-retention-days" "--history-retention-days" -- server \
  --history-retention-days -1
expect_usage "word --history-retention-days" "--history-retention-days" -- server \
  --history-retention-days forever
expect_usage "bad --ui-url" "--ui-url" -- server --ui-url forest.example.com
expect_usage "bad --alarm-window" "--alarm-window" -- server --alarm-window soon
expect_usage "long --alarm-window" "--alarm-window" -- server --alarm-window 48h
checks=$((checks + 1))
err=$(cd "$tmp" && FOREST_MISFIRE_THRESHOLD=abc timeout 10 "$forest" server 2>&1 >/dev/null)
status=$?
[[ $status == 2 && $err == *"--misfire-threshold"* ]] ||
  fail "FOREST_MISFIRE_THRESHOLD=abc: status $status (want 2), stderr: $err"
[[ ! -e $tmp/bad ]] || fail "a rejected command created its data directory"

echo "$((checks - failures)) passed, $failures failed"
exit $((failures > 0))
