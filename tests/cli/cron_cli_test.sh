#!/usr/bin/env bash
# End-to-end checks of `forest cron next|explain` and `forest version`:
# stdout, stderr and exit status exactly as a script would see them.
# Usage: cron_cli_test.sh PATH_TO_FOREST
set -uo pipefail
forest=$1
failures=0
checks=0

# expect NAME WANT_STATUS WANT_STDOUT WANT_STDERR_SUBSTRING -- ARGS...
expect() {
  local name=$1 want_status=$2 want_out=$3 want_err=$4
  shift 5
  local out err status
  out=$("$forest" "$@" 2>/tmp/forest_cli_err.$$)
  status=$?
  err=$(cat /tmp/forest_cli_err.$$)
  checks=$((checks + 1))
  if [[ $status != "$want_status" || $out != "$want_out" || $err != *"$want_err"* ]]; then
    failures=$((failures + 1))
    echo "FAIL $name: forest $*"
    echo "  status $status (want $want_status)"
    echo "  stdout: $out"
    echo "  want:   $want_out"
    echo "  stderr: $err (want to contain: $want_err)"
  fi
}

expect "six fields, original UI example" 0 $'2026-01-01T00:00:30Z\n2026-01-01T00:01:00Z\n2026-01-01T00:01:30Z' "" \
  -- cron next '0/30 * * * * ?' --from 2026-01-01T00:00:00Z --count 3
expect "default count is 5" 0 $'2026-01-01T00:05:00Z\n2026-01-01T00:10:00Z\n2026-01-01T00:15:00Z\n2026-01-01T00:20:00Z\n2026-01-01T00:25:00Z' "" \
  -- cron next '*/5 * * * *' --from 2026-01-01T00:00:00Z
expect "unquoted expression words are joined" 0 $'2026-01-01T09:00:00Z' "" \
  -- cron next 0 9 '*' '*' '*' --from 2026-01-01T00:00:00Z --count 1
expect "zone of the wall times" 0 $'2026-03-08T07:00:00Z\n2026-03-09T06:30:00Z' "" \
  -- cron next '30 2 * * *' --tz America/New_York --from 2026-03-07T12:00:00Z --count 2
expect "naive --from is a wall time in the zone" 0 $'2026-01-01T01:00:00Z' "" \
  -- cron next '0 9 * * *' --tz Asia/Shanghai --from 2026-01-01T00:00:00 --count 1
expect "quartz dialect" 0 $'2026-01-01T09:00:00Z\n2026-01-02T09:00:00Z' "" \
  -- cron next '0 0 9 ? * MON-FRI' --dialect quartz --from 2026-01-01T00:00:00Z --count 2
expect "milliseconds only when present" 0 $'2026-01-01T00:00:01.500Z\n2026-01-01T00:00:03Z' "" \
  -- cron next '@every 1500ms' --from 2026-01-01T00:00:00Z --count 2
expect "year field runs out: fewer lines" 0 $'2027-01-01T00:00:00Z' "" \
  -- cron next '0 0 0 1 1 * 2027' --from 2026-01-01T00:00:00Z --count 3
expect "malformed expression exits 2 naming the field" 2 "" "field 3 (hour): 25 is out of range 0-23" \
  -- cron next '0 0 25 * * *'
expect "malformed five-field expression" 2 "" "field 2 (hour): 25 is out of range 0-23" \
  -- cron next '0 25 * * *'
expect "quartz needs a ?" 2 "" "one of day-of-month and day-of-week must be '?'" \
  -- cron next '0 0 0 * * *' --dialect quartz
expect "never-firing expression" 1 "" "never fires" \
  -- cron next '0 0 0 30 2 *'
expect "unknown zone" 2 "" "unknown time zone 'Mars/Base'" \
  -- cron next '* * * * *' --tz Mars/Base
expect "bad --from" 2 "" "is not an ISO-8601 time" \
  -- cron next '* * * * *' --from yesterday
expect "bad dialect" 2 "" "--dialect" \
  -- cron next '* * * * *' --dialect vixie
expect "bad count" 2 "" "--count" \
  -- cron next '* * * * *' --count 0
expect "missing expression" 2 "" "expression" \
  -- cron next
expect "explain" 0 "$(cat <<'OUT'
expression     0 0/30 9-17 ? * MON-FRI
dialect        quartz
time zone      America/New_York
second         0
minute         0,30
hour           9-17
day-of-month   *
month          *
day-of-week    1-5
year           *
days           match day-of-month AND day-of-week (one of them is unrestricted)
next fires (America/New_York):
  2026-11-24 09:00:00-05:00  (2026-11-24T14:00:00Z)
  2026-11-24 09:30:00-05:00  (2026-11-24T14:30:00Z)
OUT
)" "" -- cron explain '0 0/30 9-17 ? * MON-FRI' --dialect quartz --tz America/New_York --from 2026-11-24T00:00:00Z --count 2
expect "explain @every" 0 "$(cat <<'OUT'
expression     @every 1h
dialect        forest
time zone      UTC
interval       3600000 ms, on multiples since the Unix epoch
next fires (UTC):
  2026-01-01 01:00:00+00:00  (2026-01-01T01:00:00Z)
OUT
)" "" -- cron explain '@every 1h' --from 2026-01-01T00:00:00Z --count 1
expect "explain never" 1 "$(cat <<'OUT'
expression     0 0 0 30 2 *
dialect        forest
time zone      UTC
second         0
minute         0
hour           0
day-of-month   30
month          2
day-of-week    *
year           *
days           match day-of-month AND day-of-week (one of them is unrestricted)
next           never: no date matches these fields
OUT
)" "" -- cron explain '0 0 0 30 2 *'
expect "explain bad input" 2 "" "field 1 (minute): 'x' is not a number" \
  -- cron explain 'x * * * *'
# (`forest` with no arguments starts the server: server_cli_test.sh.)
expect "unknown subcommand" 2 "" "" -- frobnicate

out=$("$forest" version)
checks=$((checks + 1))
if [[ ! $out =~ ^forest\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\  ]]; then
  failures=$((failures + 1))
  echo "FAIL version: $out"
fi
rm -f /tmp/forest_cli_err.$$

echo "$((checks - failures)) passed, $failures failed"
exit $((failures > 0))
