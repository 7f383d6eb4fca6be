#!/usr/bin/python3
"""Speed of Forest's cron engine next to croniter and Quartz.

  /usr/bin/python3 bench/cron_compare.py [BUILD_DIR]      (default build/release)

Runs the expressions of bench/cron_bench.cc through three implementations and
prints ns per operation and the ratios theirs / ours (above 1: we are faster):

  ours      BUILD_DIR/bench/cron_bench (Google Benchmark, JSON output)
  croniter  croniter 1.3.5 in this process (python3-croniter; run with
            /usr/bin/python3, the Debian interpreter that has it)
  quartz    org.quartz.CronExpression 2.3.2 through QuartzOracle --bench,
            compiled with javac into a temporary directory; the JIT is warmed
            up before timing

"next" is the walk cron_bench does: from 2026-01-01T00:00:00Z each call
starts from the previous fire time, back to the start when there is none or
it reaches 2100. Each implementation gets the same schedule in its own
syntax; where one cannot express it, its column says so. The `_ny` rows read
wall times in America/New_York. "parse" is building the schedule object from
text (croniter: the constructor, which parses).

Python 3.11 standard library plus croniter. Numbers from a 2-core machine
shared with a build are noisy: compare orders of magnitude, not percents.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
QUARTZ_SOURCE = REPO / "tests" / "differential" / "QuartzOracle.java"
QUARTZ_JARS = ["/usr/share/java/quartz2.jar", "/usr/share/java/slf4j-api.jar",
               "/usr/share/java/slf4j-nop.jar"]
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)   # kStart in cron_bench.cc
UNTIL = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)   # its restart bound


@dataclasses.dataclass
class Case:
    label: str                 # cron_bench's label
    ours: str                  # the expression cron_bench uses
    croniter: Optional[str]    # the same schedule for croniter, None if it cannot say it
    quartz: Optional[str]      # the same for Quartz
    note: str = ""


# Keep in step with kCases in bench/cron_bench.cc.
CASES = [
    Case("every5min", "*/5 * * * *", "*/5 * * * *", "0 */5 * * * ?"),
    Case("weekdays", "0 0/30 9-17 ? * MON-FRI", "0/30 9-17 * * MON-FRI", "0 0/30 9-17 ? * MON-FRI"),
    Case("lastday", "0 0 12 L * ?", "0 12 L * *", "0 0 12 L * ?"),
    Case("every1h", "@every 1h", "0 * * * *", "0 0 * * * ?",
         "@every 1h fires on the hour (multiples of 1h since the epoch)"),
    Case("feb29", "0 0 0 29 2 *", "0 0 29 2 *", "0 0 0 29 2 ?"),
    Case("never", "0 0 0 30 2 *", "0 0 30 2 *", "0 0 0 30 2 ?",
         "no fire time: croniter gives up after 50 years, Quartz at its MAX_YEAR"),
]


# ---------------------------------------------------------------------------
# ours


def run_ours(build: Path, min_time: float) -> tuple[dict[str, float], Optional[str]]:
    """name -> ns/op from cron_bench, or ({}, why) when it cannot run."""
    binary = build / "bench" / "cron_bench"
    if not binary.exists():
        return {}, (f"{binary} is missing: build it with "
                    f"`cmake --build --preset release --target cron_bench`")
    # Debian 12's Google Benchmark (1.7) takes --benchmark_min_time in seconds, without a unit.
    cmd = [str(binary), "--benchmark_format=json", "--benchmark_filter=^BM_Cron(Next|Parse)/",
           f"--benchmark_min_time={min_time}", "--benchmark_repetitions=3",
           "--benchmark_report_aggregates_only=true"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {}, f"{binary} failed ({proc.returncode}): {proc.stderr.strip()[:500]}"
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
    out = {}
    for b in json.loads(proc.stdout)["benchmarks"]:
        # With repetitions, use the median of the repetitions.
        if b.get("aggregate_name", "median") != "median":
            continue
        name = b.get("run_name", b["name"])
        out[name] = b["real_time"] * scale[b.get("time_unit", "ns")]
    return out, None


# ---------------------------------------------------------------------------
# croniter


def best_ns_per_op(run, min_time: float, repetitions: int = 3) -> float:
    """Calibrates n so that run(n) takes about min_time, then the best of `repetitions`."""
    n = 1
    while True:
        t0 = time.perf_counter()
        run(n)
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time / 4:
            break
        n *= 4 if elapsed < min_time / 40 else 2
    n = max(1, int(n * min_time / max(elapsed, 1e-9)))
    best = float("inf")
    for _ in range(repetitions):
        t0 = time.perf_counter_ns()
        run(n)
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def croniter_times(expr: str, zone: str, min_time: float) -> tuple[float, float]:
    """(next ns/op, parse ns/op) for croniter."""
    from croniter import croniter, CroniterBadDateError  # pylint: disable=import-outside-toplevel

    start = START.astimezone(ZoneInfo(zone)) if zone != "UTC" else START
    start_ts, until_ts = START.timestamp(), UNTIL.timestamp()
    it = croniter(expr, start)

    def walk(n: int) -> None:
        for _ in range(n):
            try:
                t = it.get_next(float)
            except CroniterBadDateError:
                t = until_ts
            if t >= until_ts:
                it.set_current(start_ts)

    def parse(n: int) -> None:
        for _ in range(n):
            croniter(expr, start)

    return best_ns_per_op(walk, min_time), best_ns_per_op(parse, min_time)


# ---------------------------------------------------------------------------
# Quartz


def quartz_times(rows: list[tuple[str, str]], min_time: float) -> tuple[dict, Optional[str]]:
    """{(expr, zone): (next ns/op, parse ns/op)} from QuartzOracle --bench, or ({}, why)."""
    java, javac = shutil.which("java"), shutil.which("javac")
    missing = [p for p in QUARTZ_JARS if not os.path.exists(p)]
    if not java or not javac or missing:
        return {}, ("Quartz needs java, javac and " + ", ".join(QUARTZ_JARS) +
                    " (apt-get install default-jdk-headless libquartz2-java)")
    with tempfile.TemporaryDirectory(prefix="forest-quartz-") as classes:
        cp = ":".join(QUARTZ_JARS)
        proc = subprocess.run([javac, "-cp", cp, "-d", classes, str(QUARTZ_SOURCE)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return {}, f"javac failed: {proc.stderr.strip()[:500]}"
        iso_start = START.strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = [f"quartz\t{zone}\t{iso_start}\t1\t{expr}\n" for expr, zone in rows]
        proc = subprocess.run(
            [java, "-cp", f"{classes}:{cp}", "QuartzOracle", "--bench",
             str(max(1, int(min_time * 1000))), UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ")],
            input="".join(lines), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {}, f"QuartzOracle --bench failed: {proc.stderr.strip()[:500]}"
    out = {}
    for (expr, zone), line in zip(rows, proc.stdout.splitlines()):
        cols = line.split("\t")
        if cols[0] == "BENCH":
            out[(expr, zone)] = (float(cols[1]), float(cols[2]))
        else:
            print(f"quartz rejected {expr!r}: {line}", file=sys.stderr)
    return out, None


# ---------------------------------------------------------------------------
# The table


def fmt_ns(ns: Optional[float]) -> str:
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} us"
    return f"{ns:.0f} ns"


def fmt_ratio(theirs: Optional[float], ours: Optional[float]) -> str:
    if theirs is None or ours is None or ours <= 0:
        return "-"
    return f"{theirs / ours:.0f}x" if theirs / ours >= 10 else f"{theirs / ours:.1f}x"


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build", nargs="?", default=str(REPO / "build" / "release"),
                   help="the CMake build dir with bench/cron_bench (default build/release)")
    p.add_argument("--min-time", type=float, default=0.3,
                   help="seconds per measurement for each implementation (default 0.3)")
    p.add_argument("--no-croniter", action="store_true")
    p.add_argument("--no-quartz", action="store_true")
    args = p.parse_args()

    zones = [("", "UTC"), ("_ny", "America/New_York")]
    print(f"cron_compare: start {START:%Y-%m-%dT%H:%MZ}, walking until {UNTIL:%Y}; "
          f"min time {args.min_time}s per measurement")

    ours, ours_problem = run_ours(Path(args.build), args.min_time)
    if ours_problem:
        print(f"ours: {ours_problem}")

    cron = {}
    if not args.no_croniter:
        try:
            for c in CASES:
                for suffix, zone in zones:
                    if c.croniter:
                        cron[(c.label + suffix)] = croniter_times(c.croniter, zone, args.min_time)
        except ImportError:
            print("croniter: not importable; run with /usr/bin/python3 (apt-get install python3-croniter)")

    quartz = {}
    if not args.no_quartz:
        rows = [(c.quartz, zone) for c in CASES if c.quartz for _, zone in zones]
        by_expr, problem = quartz_times(rows, args.min_time)
        if problem:
            print(f"quartz: {problem}")
        for c in CASES:
            for suffix, zone in zones:
                if (c.quartz, zone) in by_expr:
                    quartz[c.label + suffix] = by_expr[(c.quartz, zone)]

    header = ["case", "expression (ours)", "ours", "croniter", "quartz", "croniter/ours",
              "quartz/ours"]
    next_rows, parse_rows = [], []
    for c in CASES:
        for suffix, _ in zones:
            label = c.label + suffix
            o = ours.get(f"BM_CronNext/{label}")
            cn = cron.get(label, (None, None))[0]
            q = quartz.get(label, (None, None))[0]
            next_rows.append([label, c.ours, fmt_ns(o), fmt_ns(cn), fmt_ns(q), fmt_ratio(cn, o),
                              fmt_ratio(q, o)])
        o = ours.get(f"BM_CronParse/{c.label}")
        cn = cron.get(c.label, (None, None))[1]
        q = quartz.get(c.label, (None, None))[1]
        parse_rows.append([c.label, c.ours, fmt_ns(o), fmt_ns(cn), fmt_ns(q), fmt_ratio(cn, o),
                           fmt_ratio(q, o)])
    print_table("next fire time (ns per Next, walking forward)", header, next_rows)
    print_table("parse (ns per expression)", header, parse_rows)

    print("\nequivalents:")
    for c in CASES:
        note = f"  ({c.note})" if c.note else ""
        print(f"  {c.label:10} croniter {c.croniter or '-'!r:28} quartz {c.quartz or '-'!r}{note}")
    return 1 if ours_problem else 0


if __name__ == "__main__":
    sys.exit(main())
