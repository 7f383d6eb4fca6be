#!/usr/bin/env bash
# End-to-end checks of the client commands against a real standalone
# `forest server` (authentication on): login keeps a 0600 token, groups and
# jobs are created, listed (aligned table, -o json), applied from YAML
# idempotently, run and deleted; errors exit non-zero with the server's
# message on stderr; node, plan, worker and exec listings work.
# Usage: client_cli_test.sh PATH_TO_FOREST
set -uo pipefail
forest=$(realpath "$1")
tmp=$(mktemp -d)
failures=0
checks=0
server_pid=

cleanup() {
  if [[ -n $server_pid ]]; then
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  failures=$((failures + 1))
  echo "FAIL $1"
  [[ -n ${2:-} ]] && printf '%s\n' "$2" | sed 's/^/  | /'
}

# A loopback port nothing listens on.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The client's environment: its own credentials file and home, nothing
# inherited that would point it elsewhere.
export FOREST_CONFIG=$tmp/config/credentials.json
export HOME=$tmp/home
unset FOREST_SERVER FOREST_TOKEN FOREST_PASSWORD XDG_CONFIG_HOME
mkdir -p "$HOME"

password=cli-admin-password
port=$(free_port)
"$forest" server --node-id cli --data-dir "$tmp/data" --http-address "127.0.0.1:$port" \
  --admin-password "$password" >"$tmp/server.log" 2>&1 &
server_pid=$!
ready=0
for _ in $(seq 1 200); do
  # No proxy, whatever the environment says: loopback only.
  if python3 -c 'import sys, urllib.request as u; u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=2)' \
    "http://127.0.0.1:$port/readyz" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
if [[ $ready != 1 ]]; then
  echo "FAIL the server did not become ready"
  sed 's/^/  log: /' "$tmp/server.log"
  echo "0 passed, 1 failed"
  exit 1
fi

# run NAME -- COMMAND...: runs it (10 s at most), stdout in $out, stderr in
# $err, exit status in $status.
run() {
  shift 2
  timeout 10 "$@" >"$tmp/out" 2>"$tmp/err"
  status=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

# expect_ok NAME -- COMMAND...: exit 0.
expect_ok() {
  local name=$1
  checks=$((checks + 1))
  run "$@"
  if [[ $status != 0 ]]; then
    fail "$name: exit status $status (want 0)" "stdout: $out
stderr: $err"
    return 1
  fi
  return 0
}

# expect_error NAME PATTERN -- COMMAND...: a non-zero exit with PATTERN (an
# extended regular expression) in stderr.
expect_error() {
  local name=$1 want=$2
  shift
  checks=$((checks + 1))
  run "$@"
  if [[ $status == 0 ]]; then
    fail "$name: exit status 0 (want non-zero)" "stdout: $out"
  elif ! grep -Eq -- "$want" <<<"$err"; then
    fail "$name: stderr does not match /$want/" "stderr: $err"
  fi
}

# check NAME CONDITION_STATUS [DETAIL]: counts a check of something already computed.
check() {
  checks=$((checks + 1))
  [[ $2 == 0 ]] || fail "$1" "${3:-}"
}

is_json() { python3 -c 'import json, sys; json.load(sys.stdin)' 2>/dev/null; }

# The value of FIELD in a `FIELD: VALUE` listing (forest job create, get).
field() { awk -v f="$1:" '$1 == f { print $2; exit }'; }

# Login: exit 0, a token in a 0600 file.
FOREST_PASSWORD=$password expect_ok "login" -- "$forest" login --server "127.0.0.1:$port" -u admin
mode=$(stat -c %a "$FOREST_CONFIG" 2>/dev/null)
check "login: credentials file mode is $mode (want 600)" "$([[ $mode == 600 ]]; echo $?)"
token=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "$FOREST_CONFIG" 2>/dev/null)
check "login: the credentials file holds a token" "$([[ $token == fst_* ]]; echo $?)" \
  "$(cat "$FOREST_CONFIG" 2>/dev/null | sed 's/fst_[A-Za-z0-9_-]*/fst_.../')"
FOREST_PASSWORD=wrong-password expect_error "login with a wrong password" "invalid" -- \
  "$forest" login --server "127.0.0.1:$port" -u admin

# Groups and jobs.
expect_ok "group create" -- "$forest" group create trade --remark "trade cluster"
expect_ok "job create" -- "$forest" job create --name a --group trade --cron '0 0 2 * * ?' \
  --target 'http://127.0.0.1:9/x'
job_id=$(field id <<<"$out")
check "job create prints the job's id" "$([[ -n $job_id ]]; echo $?)" "$out"

# Checks that a `job ls` table (stdin) is aligned: each row has a cell
# starting at each header's column, after a space; and shows job argv[1].
read -r -d '' aligned_py <<'EOF'
import sys
lines = sys.stdin.read().splitlines()
header = lines[0]
assert header.split() == ["ID", "NAME", "GROUP", "CRON", "STATUS", "TARGET", "VERSION"], header
starts = [header.index(h) for h in header.split()]
rows = [l for l in lines[1:] if l.startswith(sys.argv[1])]
assert len(rows) == 1, f"no row for job {sys.argv[1]}"
row = rows[0]
for s in starts:
    assert row[s] != " " and (s == 0 or row[s - 1] == " "), f"column at {s} not aligned:\n{header}\n{row}"
cells = {h: row[s:e].strip() for h, s, e in zip(header.split(), starts, starts[1:] + [len(row)])}
assert cells["NAME"] == "a" and cells["GROUP"] == "trade", cells
assert cells["CRON"] == "0 0 2 * * ?" and cells["TARGET"] == "http://127.0.0.1:9/x", cells
EOF

if expect_ok "job ls" -- "$forest" job ls; then
  # Aligned: each row has a cell starting at each header's column, after a space.
  python3 -c "$aligned_py" "$job_id" <<<"$out" >"$tmp/check" 2>&1
  check "job ls shows the job in an aligned table" $? "$(cat "$tmp/check")
$out"
fi
if expect_ok "job ls -o json" -- "$forest" job ls -o json; then
  is_json <<<"$out"
  check "job ls -o json parses as JSON" $? "$out"
  python3 -c 'import json, sys; d = json.load(sys.stdin); assert any(j["id"] == sys.argv[1] for j in d["items"])' \
    "$job_id" <<<"$out" 2>/dev/null
  check "job ls -o json lists the job" $? "$out"
fi
expect_ok "job get" -- "$forest" job get "$job_id"
check "job get shows the job's name" "$([[ $(field name <<<"$out") == a ]]; echo $?)" "$out"

# The login's --server, given again, keeps using the saved token.
expect_ok "job ls --server as given to login" -- "$forest" job ls --server "127.0.0.1:$port"

# Jobs as code: the first apply creates, the second changes nothing.
cat >"$tmp/jobs.yaml" <<'EOF'
jobs:
  - name: applied-one
    group: trade
    cron: "0 0 3 * * ?"
    target: http://127.0.0.1:9/one
    remark: first of two
  - name: applied-two
    group: trade
    cron: "0 30 3 * * ?"
    target: http://127.0.0.1:9/two
    tags: [nightly, e2e]
EOF
if expect_ok "job apply (first)" -- "$forest" job apply -f "$tmp/jobs.yaml"; then
  created=$(awk 'NR > 1 && $NF == "created"' <<<"$out" | wc -l)
  check "job apply (first): created twice (ACTION column)" "$([[ $created == 2 ]]; echo $?)" "$out"
  check "job apply (first): a NAME ID ACTION table" \
    "$([[ $(head -1 <<<"$out" | tr -s ' ') == "NAME ID ACTION" ]]; echo $?)" "$out"
fi
if expect_ok "job apply (second)" -- "$forest" job apply -f "$tmp/jobs.yaml"; then
  unchanged=$(awk 'NR > 1 && $NF == "unchanged"' <<<"$out" | wc -l)
  check "job apply (second): unchanged twice" "$([[ $unchanged == 2 ]]; echo $?)" "$out"
fi
if expect_ok "job apply -o json" -- "$forest" job apply -f "$tmp/jobs.yaml" -o json; then
  python3 -c 'import json, sys; r = json.load(sys.stdin)["results"]; assert sorted(x["action"] for x in r) == ["unchanged", "unchanged"], r' \
    <<<"$out" 2>/dev/null
  check "job apply -o json: unchanged twice" $? "$out"
fi

# A run on request prints the execution's id.
if expect_ok "job run" -- "$forest" job run "$job_id"; then
  check "job run prints an execution id" \
    "$([[ $out =~ ^requested\ execution\ [^[:space:]]+$ ]]; echo $?)" "$out"
fi
expect_ok "job run --params" -- "$forest" job run "$job_id" --params '{"day":1}'

# Errors: non-zero, the server's message on stderr.
expect_error "job get of an unknown id" 'no job with id "nosuchid"' -- "$forest" job get nosuchid
expect_error "group rm of a group in use" "used" -- "$forest" group rm trade
expect_error "group create of an existing group" "exist" -- "$forest" group create trade
expect_error "job create with a bad cron" "cron" -- "$forest" job create --name b --group trade \
  --cron 'every day' --target 'http://127.0.0.1:9/x'
expect_error "a wrong --token" "invalid|log in" -- "$forest" job ls --token fst_wrongwrongwr_nope
expect_error "a server nobody listens on" "cannot reach" -- "$forest" node ls \
  --server "127.0.0.1:$(free_port)"

expect_ok "job rm" -- "$forest" job rm "$job_id"
check "job rm says so" "$([[ $out == "deleted job $job_id" ]]; echo $?)" "$out"
expect_error "job get after rm" "no job" -- "$forest" job get "$job_id"

# The listings.
if expect_ok "node ls" -- "$forest" node ls; then
  check "node ls shows this node leading" "$(grep -Eq '^cli +leader' <<<"$out"; echo $?)" "$out"
fi
if expect_ok "plan ls" -- "$forest" plan ls; then
  check "plan ls shows the applied jobs" "$(grep -q applied-one <<<"$out"; echo $?)" "$out"
fi
if expect_ok "worker ls --group local" -- "$forest" worker ls --group local; then
  check "worker ls shows the embedded worker" "$(grep -Eq '^local +cli' <<<"$out"; echo $?)" "$out"
fi
expect_ok "exec ls" -- "$forest" exec ls
expect_ok "group ls" -- "$forest" group ls
if expect_ok "node ls -o json" -- "$forest" node ls -o json; then
  is_json <<<"$out"
  check "node ls -o json parses as JSON" $? "$out"
fi

# Nothing went to the working directory or the home directory.
check "nothing written to HOME" "$([[ -z $(ls -A "$HOME") ]]; echo $?)" "$(ls -A "$HOME")"

if ((failures > 0)); then
  echo "---- server log (tail):"
  tail -n 40 "$tmp/server.log" | sed 's/^/  log: /'
fi
echo "$((checks - failures)) passed, $failures failed"
exit $((failures > 0))
