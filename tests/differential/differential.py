#!/usr/bin/python3
"""Differential test of Forest's cron engine against croniter and Quartz.

Generates seeded random cron expressions and start instants, asks our engine
(the cron_batch tool) and an independent implementation (the oracle) for the
next fire times, and compares the sequences.

  B=build/release/tests/differential
  J=$B/java:/usr/share/java/quartz2.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
  differential.py --oracle croniter --seed 1 --cases 3000 --count 10 --batch $B/cron_batch
  differential.py --oracle quartz [--zones fixed|dst|all] --seed 1 --cases 3000 \\
      --batch $B/cron_batch --java-classpath $J
  differential.py --known --batch $B/cron_batch --java-classpath $J

The seed can also come from $FOREST_DIFFERENTIAL_SEED (it wins over --seed);
the run prints the seed it used.

Oracles:
  croniter  croniter 1.3.5 (python3-croniter), in process: 5-field forest
            dialect expressions, and seconds-first 6-field ones rewritten into
            croniter's seconds-last form. Fixed-offset zones only: croniter
            gets wall times wrong across DST changes (KNOWN_DIFFERENCES.md).
  quartz    org.quartz.CronExpression 2.3.2 through QuartzOracle.java: 6 and
            7-field quartz-dialect expressions with L, L-n, nW, LW, nL, n#k,
            names and years. Fixed-offset zones (--zones fixed), or DST zones
            with the hours kept out of the transitions, where Quartz and we
            differ on purpose (--zones dst; KNOWN_DIFFERENCES.md), or both.

The generators keep away from the shapes listed in KNOWN_DIFFERENCES.md, where
an oracle is wrong or differs on purpose; --known checks each of those shapes
on both sides, so a change in either is noticed.

Python 3.11 standard library plus croniter; run it with /usr/bin/python3 (the
Debian interpreter that has python3-croniter). Exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import os
import random
import subprocess
import sys
import time
from typing import Callable, Optional
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
OUR_MAX_YEAR = 2199  # forest::cron::kMaxYear
SEED_ENV = "FOREST_DIFFERENTIAL_SEED"

# Zones with one UTC offset from the given year through 2200 (checked with
# zoneinfo): the year random starts in them begin.
FIXED_ZONES = {
    "UTC": 1990,
    "Asia/Tokyo": 1990,
    "Asia/Kolkata": 1990,      # +05:30
    "Asia/Kathmandu": 1990,    # +05:45
    "Asia/Kabul": 1990,        # +04:30
    "Asia/Shanghai": 1992,     # China observed DST until 1991
    "America/Panama": 1990,    # -05:00
    "Pacific/Honolulu": 1990,  # -10:00
    "Etc/GMT+5": 1990,         # -05:00 (POSIX sign)
}
# DST zones for the quartz run. From 1990 through 2200 every wall time they
# skip or repeat lies between 01:00 and 03:00 (checked with zoneinfo), so
# expressions whose hours are 4-23 never name one.
DST_ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
             "Australia/Sydney", "Australia/Lord_Howe"]
DST_SAFE_HOURS = (4, 23)


# ---------------------------------------------------------------------------
# Cases, answers, the two sides


@dataclasses.dataclass
class Case:
    dialect: str          # our dialect: "forest" or "quartz"
    zone: str
    start: dt.datetime    # aware
    ours: str             # the expression for our engine
    theirs: str           # the same schedule in the oracle's syntax
    count: int

    def line(self, expr: str, dialect: Optional[str] = None) -> str:
        return f"{dialect or self.dialect}\t{self.zone}\t{iso(self.start)}\t{self.count}\t{expr}"


@dataclasses.dataclass
class Answer:
    times: Optional[list[str]] = None  # UTC ISO-8601, as cron_batch prints them
    error: Optional[str] = None

    def __str__(self) -> str:
        return f"ERR {self.error}" if self.error is not None else " ".join(self.times) or "(none)"


def iso(t: dt.datetime) -> str:
    """2026-01-01T00:00:30Z, with .mmm when there are milliseconds (FormatIso8601's form)."""
    t = t.astimezone(UTC)
    ms = t.microsecond // 1000
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ms:03d}" if ms else "") + "Z"


def parse_answer(line: str) -> Answer:
    status, _, payload = line.partition("\t")
    if status == "OK":
        return Answer(times=payload.split())
    return Answer(error=payload)


def run_lines(cmd: list[str], lines: list[str]) -> list[Answer]:
    """Feeds all lines to a line-protocol tool at once; one answer per line."""
    proc = subprocess.run(cmd, input="".join(l + "\n" for l in lines), capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr}")
    out = proc.stdout.splitlines()
    if len(out) != len(lines):
        sys.exit(f"{cmd[0]} answered {len(out)} lines for {len(lines)}:\n{proc.stderr}")
    return [parse_answer(l) for l in out]


def run_ours(args, cases: list[Case]) -> list[Answer]:
    return run_lines([args.batch], [c.line(c.ours) for c in cases])


def java_cmd(args, *extra: str) -> list[str]:
    if not args.java_classpath:
        sys.exit("--java-classpath is needed for Quartz (QuartzOracle.class and the Quartz jars)")
    return [args.java, "-cp", args.java_classpath, "QuartzOracle", *extra]


def run_quartz(args, cases: list[Case]) -> list[Answer]:
    return run_lines(java_cmd(args), [c.line(c.theirs, "quartz") for c in cases])


def quartz_max_year(args) -> int:
    """CronExpression.MAX_YEAR: Quartz returns no fire time after it (current year + 100)."""
    out = subprocess.run(java_cmd(args, "--max-year"), capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def croniter_answer(case: Case) -> Answer:
    from croniter import croniter, CroniterBadDateError  # pylint: disable=import-outside-toplevel

    tz = UTC if case.zone == "UTC" else ZoneInfo(case.zone)
    try:
        it = croniter(case.theirs, case.start.astimezone(tz))
    except Exception as e:  # pylint: disable=broad-except
        return Answer(error=f"{type(e).__name__}: {e}")
    times = []
    for _ in range(case.count):
        try:
            t = it.get_next(dt.datetime)
        except CroniterBadDateError:
            # croniter gives up when nothing matches within 50 years: the end of the sequence.
            break
        times.append(iso(t))
    return Answer(times=times)


def run_croniter(cases: list[Case]) -> list[Answer]:
    return [croniter_answer(c) for c in cases]


def same(ours: Answer, theirs: Answer, max_year: int) -> bool:
    """Equal sequences, compared up to max_year (the end of the shorter-lived side)."""
    if ours.error is not None or theirs.error is not None:
        return False

    def cut(times: list[str]) -> list[str]:
        return [t for t in times if int(t[:4]) <= max_year]

    return cut(ours.times) == cut(theirs.times)


# ---------------------------------------------------------------------------
# Random expressions
#
# A field is built from parts (value, range, stepped range, ...). Each
# generator returns the text for our engine and the text for the oracle,
# which differ only where the oracle spells a thing differently.


class Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, weighted: dict) -> str:
        keys = list(weighted)
        return self.rng.choices(keys, weights=[weighted[k] for k in keys])[0]

    def numeric_field(self, lo: int, hi: int, kinds: dict, *, max_parts: int = 3,
                      wrap: bool = False, step_max: Optional[int] = None,
                      name_of: Optional[Callable[[int], str]] = None,
                      names_with_steps: bool = True, value_hi: Optional[int] = None) -> str:
        """A field over [lo, hi]: `*`, or a list of 1..max_parts parts of the given kinds.

        kinds weights: star, value, range, range_step, star_step, start_step.
        wrap: ranges may wrap (22-2). name_of: spells some values as names.
        value_hi: the largest value a part may name (defaults to hi).
        """
        rng = self.rng
        value_hi = hi if value_hi is None else value_hi
        step_max = step_max or (hi - lo + 1)
        kind = self.pick(kinds)
        if kind == "star":
            return "*"
        list_kinds = {k: w for k, w in kinds.items() if k != "star"}
        n_parts = min(max_parts, rng.choices([1, 2, 3], weights=[6, 3, 1])[0])
        parts = [self._part(kind if i == 0 else self.pick(list_kinds), lo, value_hi, wrap,
                            step_max, name_of, names_with_steps) for i in range(n_parts)]
        return ",".join(parts)

    def _part(self, kind, lo, value_hi, wrap, step_max, name_of, names_with_steps) -> str:
        rng = self.rng

        def spell(v: int, named: bool) -> str:
            return name_of(v) if named else str(v)

        if kind == "value":
            return spell(rng.randint(lo, value_hi), name_of is not None and rng.random() < 0.4)
        if kind == "star_step":
            return f"*/{rng.randint(1, step_max)}"
        if kind == "start_step":
            return f"{rng.randint(lo, value_hi)}/{rng.randint(1, step_max)}"
        a, b = sorted(rng.sample(range(lo, value_hi + 1), 2))
        if wrap and rng.random() < 0.3:
            a, b = b, a
        # Names on both ends or on neither (Quartz reads a name range as NAME-NAME).
        if kind == "range":
            named = name_of is not None and rng.random() < 0.4
            return f"{spell(a, named)}-{spell(b, named)}"
        assert kind == "range_step"
        named = name_of is not None and names_with_steps and rng.random() < 0.3
        return f"{spell(a, named)}-{spell(b, named)}/{rng.randint(1, step_max)}"


MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]  # the most each month can have


def random_case_name(rng: random.Random, name: str) -> str:
    return rng.choice([name, name.lower(), name.capitalize()])


def random_start(rng: random.Random, zone: str, first_year: int, last_year: int = 2090) -> dt.datetime:
    """A start instant in [first_year, last_year]: mostly any second, some on
    boundaries where fire times cluster, some with milliseconds."""
    lo = dt.datetime(first_year, 1, 1, tzinfo=UTC).timestamp()
    hi = dt.datetime(last_year, 12, 31, tzinfo=UTC).timestamp()
    t = dt.datetime.fromtimestamp(rng.randint(int(lo), int(hi)), UTC)
    local = t.astimezone(UTC if zone == "UTC" else ZoneInfo(zone))
    shape = rng.random()
    if shape < 0.10:
        local = local.replace(day=1, hour=0, minute=0, second=0)
    elif shape < 0.20:
        local = local.replace(hour=0, minute=0, second=0)
    elif shape < 0.30:
        local = local.replace(second=0)
    elif shape < 0.40:
        local = local.replace(microsecond=rng.randint(1, 999) * 1000)
    return local.astimezone(UTC)


# --- croniter ---------------------------------------------------------------


def croniter_trips(theirs: str, we_or_days: bool) -> bool:
    """True for the shapes where croniter is wrong or differs from us on
    purpose (KNOWN_DIFFERENCES.md), judged from croniter's own expansion."""
    from croniter import croniter  # pylint: disable=import-outside-toplevel

    expanded, _ = croniter.expand(theirs)
    days, months = expanded[2], expanded[3]
    # croniter ORs the day fields when both expand to less than everything;
    # we when both are written without a leading `*`.
    they_or_days = expanded[2][0] != "*" and expanded[4][0] != "*"
    if they_or_days != we_or_days:
        return True
    if days[0] == "*":
        return False
    listed = {d for d in days if d != "l"}
    # A listed day past the end of a month makes croniter jump into the next
    # month, skipping its first days (and the month's L).
    if (30 in listed and 1 in listed) or (31 in listed and listed & {1, 2}):
        return True
    if "l" in days and max(listed, default=0) >= 29:
        return True
    # When ORing, croniter raises if the day of month alone never matches.
    if they_or_days and "l" not in days:
        longest = 31 if months[0] == "*" else max(MONTH_DAYS[m - 1] for m in months)
        if min(listed) > longest:
            return True
    return False


def forest_restricted(field: str) -> bool:
    """Our rule (Vixie cron's): a day field is unrestricted when it starts with `*` or is `?`."""
    return not (field.startswith("*") or field == "?")


def gen_croniter_case(rng: random.Random, count: int) -> Case:
    g = Gen(rng)
    while True:
        if rng.random() < 0.03:
            expr = rng.choice(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
                               "@hourly"])
            return _croniter_case(rng, count, expr, expr)
        common = dict(star=3, value=4, range=2, range_step=1, star_step=2, start_step=1)
        # Seconds mostly fixed, so ten fire times reach past one minute.
        seconds = dict(star=1, value=8, range=1, range_step=1, star_step=1, start_step=1)
        minute = g.numeric_field(0, 59, common)
        hour = g.numeric_field(0, 23, common)
        month = g.numeric_field(1, 12, dict(star=8, value=2, range=2, range_step=1, star_step=1,
                                            start_step=1),
                                name_of=lambda v: random_case_name(rng, MONTHS[v - 1]))
        dom = dom_theirs = g.numeric_field(1, 31, dict(star=10, value=4, range=2, range_step=1,
                                                       star_step=1, start_step=1))
        if rng.random() < 0.08:
            # `L`, alone or with days that every month has (croniter skips L in a
            # month shorter than another listed day: KNOWN_DIFFERENCES.md).
            days = [str(d) for d in rng.sample(range(1, 29), rng.randint(0, 2))]
            dom = dom_theirs = ",".join(days + ["L"])
        seconds_form = rng.random() < 0.2
        dow, dow_theirs = gen_croniter_dow(g, seconds_form)
        if dow_has_nth(dow) and forest_restricted(dom):
            continue  # croniter cannot OR a day of month with n#k / nL (KNOWN_DIFFERENCES.md)
        if seconds_form:
            sec = g.numeric_field(0, 59, seconds)
            ours = f"{sec} {minute} {hour} {dom} {month} {dow}"
            theirs = f"{minute} {hour} {dom_theirs} {month} {dow_theirs} {sec}"
        else:
            ours = f"{minute} {hour} {dom} {month} {dow}"
            theirs = f"{minute} {hour} {dom_theirs} {month} {dow_theirs}"
        if croniter_trips(theirs, forest_restricted(dom) and forest_restricted(dow)):
            continue
        return _croniter_case(rng, count, ours, theirs)


def dow_has_nth(dow: str) -> bool:
    return "#" in dow or "L" in dow.upper()


def gen_croniter_dow(g: Gen, seconds_form: bool) -> tuple[str, str]:
    """Day of week: plain values 0-7 (0 and 7 = Sunday) and names, or a list of
    n#k / last-weekday items (croniter spells "last Friday" `L5`, we `5L`).
    In the 6-field form croniter never maps 7 to Sunday, so 7 is left out."""
    rng = g.rng
    hi = 6 if seconds_form else 7
    if rng.random() < 0.15:
        ours, theirs = [], []
        for _ in range(rng.randint(1, 2)):
            w = rng.randint(0, hi)
            wt = random_case_name(rng, DAYS[w % 7]) if rng.random() < 0.3 else str(w)
            if rng.random() < 0.6:
                k = rng.randint(1, 5)
                ours.append(f"{wt}#{k}")
                theirs.append(f"{wt}#{k}")
            else:
                ours.append(f"{w}L")
                theirs.append(f"L{w}")
        return ",".join(ours), ",".join(theirs)
    kinds = dict(star=10, value=4, range=3, range_step=1)
    if not seconds_form:
        # Both expand over 0-7, so they may produce 7 (`*/7` = 0,7; `3/2` = 3-7/2).
        kinds.update(star_step=1, start_step=1)
    dow = g.numeric_field(0, hi, kinds, value_hi=hi,
                          name_of=lambda v: random_case_name(rng, DAYS[v % 7]))
    return dow, dow


def _croniter_case(rng: random.Random, count: int, ours: str, theirs: str) -> Case:
    zone = "UTC" if rng.random() < 0.6 else rng.choice(list(FIXED_ZONES))
    return Case("forest", zone, random_start(rng, zone, FIXED_ZONES[zone]), ours, theirs, count)


# --- quartz -----------------------------------------------------------------


def gen_quartz_case(rng: random.Random, count: int, dst: bool) -> Case:
    g = Gen(rng)
    zone = rng.choice(DST_ZONES) if dst else (
        "UTC" if rng.random() < 0.6 else rng.choice(list(FIXED_ZONES)))
    wide = dict(star=3, value=4, range=2, range_step=1, star_step=2, start_step=1)
    seconds = dict(star=1, value=8, range=1, range_step=1, star_step=1, start_step=1)
    sec = g.numeric_field(0, 59, seconds, wrap=True, step_max=59)
    minute = g.numeric_field(0, 59, wide, wrap=True, step_max=59)
    if dst:
        # Hours 4-23 only: no skipped or repeated wall time (see DST_ZONES).
        lo, hi = DST_SAFE_HOURS
        hour = g.numeric_field(lo, hi, dict(value=5, range=2, range_step=1, start_step=1),
                               step_max=23)
    else:
        hour = g.numeric_field(0, 23, wide, wrap=True, step_max=23)
    month = g.numeric_field(1, 12, dict(star=8, value=2, range=2, range_step=1, star_step=1,
                                        start_step=1), wrap=True, step_max=12,
                            name_of=lambda v: random_case_name(rng, MONTHS[v - 1]),
                            names_with_steps=False)  # Quartz drops the step after a name
    dom, dow = "?", "?"
    if rng.random() < 0.5:
        dom = gen_quartz_dom(g)
    else:
        dow = gen_quartz_dow(g)
    fields = [sec, minute, hour, dom, month, dow]
    if rng.random() < 0.35:
        fields.append(gen_quartz_year(g))
    expr = " ".join(fields)
    first_year = 1990 if dst else FIXED_ZONES[zone]
    start = random_start(rng, zone, first_year)
    if dst and rng.random() < 0.5:
        start = near_transition(rng, zone, start)
    if "W" in dom:
        # Quartz compares a W candidate with the start's milliseconds against the
        # wall clock's (KNOWN_DIFFERENCES.md): whole seconds keep it deterministic.
        start = start.replace(microsecond=0)
    return Case("quartz", zone, start, expr, expr, count)


def gen_quartz_dom(g: Gen) -> str:
    rng = g.rng
    special = rng.random()
    if special < 0.06:
        return "L"
    if special < 0.12:
        return f"L-{rng.randint(0, 30)}"
    if special < 0.18:
        # 1-28: every month has the day (Quartz misreads nW past the month's end).
        return f"{rng.randint(1, 28)}W"
    if special < 0.22:
        return "LW"
    if special < 0.26:
        # The nearest weekday to the n-th day before the last (n < 28: the
        # day exists in every month).
        return f"L-{rng.randint(1, 27)}W"
    return g.numeric_field(1, 31, dict(star=6, value=4, range=2, range_step=1, star_step=1,
                                       start_step=1), wrap=True, step_max=31)


def gen_quartz_dow(g: Gen) -> str:
    rng = g.rng

    def day(w: int) -> str:
        return random_case_name(rng, DAYS[w - 1]) if rng.random() < 0.3 else str(w)

    special = rng.random()
    if special < 0.05:
        return "L"  # Saturday
    if special < 0.15:
        return f"{day(rng.randint(1, 7))}L"
    if special < 0.25:
        return f"{day(rng.randint(1, 7))}#{rng.randint(1, 5)}"
    return g.numeric_field(1, 7, dict(star=6, value=4, range=3, range_step=1, star_step=1,
                                      start_step=1), wrap=True, step_max=7,
                           name_of=lambda v: random_case_name(rng, DAYS[v - 1]),
                           names_with_steps=False)


def gen_quartz_year(g: Gen) -> str:
    rng = g.rng
    kind = g.pick(dict(star=3, value=2, range=2, list=1, start_step=1, range_step=1))
    if kind == "star":
        return "*"
    if kind == "value":
        return str(rng.randint(1990, 2125))
    if kind == "list":
        return ",".join(str(y) for y in sorted(rng.sample(range(1990, 2126), rng.randint(2, 4))))
    if kind == "start_step":
        return f"{rng.randint(1990, 2100)}/{rng.randint(1, 20)}"
    a, b = sorted(rng.sample(range(1990, 2126), 2))
    return f"{a}-{b}" if kind == "range" else f"{a}-{b}/{rng.randint(1, 10)}"


@functools.lru_cache(maxsize=None)
def dst_transitions(zone: str, year: int) -> tuple[dt.datetime, ...]:
    """The instants in `year` at which the zone's UTC offset changes (to the hour)."""
    tz = ZoneInfo(zone)

    def offset(t: dt.datetime) -> dt.timedelta:
        return t.astimezone(tz).utcoffset()

    out = []
    day = dt.datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        nxt = day + dt.timedelta(days=1)
        if offset(nxt) != offset(day):
            # The first whole hour of that day with the new offset.
            out.append(next(day + dt.timedelta(hours=h) for h in range(1, 25)
                            if offset(day + dt.timedelta(hours=h)) == offset(nxt)))
        day = nxt
    return tuple(out)


def near_transition(rng: random.Random, zone: str, start: dt.datetime) -> dt.datetime:
    """A start within two days of one of the zone's DST changes in the start's year."""
    transitions = dst_transitions(zone, start.year)
    if not transitions:
        return start
    return rng.choice(transitions) + dt.timedelta(seconds=rng.randint(-2 * 86400, 2 * 86400))


# ---------------------------------------------------------------------------
# The random run


def differential(args) -> int:
    seed = args.seed
    if os.environ.get(SEED_ENV):
        seed = int(os.environ[SEED_ENV])
        print(f"seed {seed} (from ${SEED_ENV})")
    else:
        print(f"seed {seed} (set ${SEED_ENV} to use another)")
    rng = random.Random(seed)
    if args.oracle == "croniter":
        if args.zones != "fixed":
            sys.exit("croniter runs in fixed-offset zones only (KNOWN_DIFFERENCES.md)")
        cases = [gen_croniter_case(rng, args.count) for _ in range(args.cases)]
    else:
        # --zones all: one case in five in a DST zone.
        cases = [gen_quartz_case(rng, args.count,
                                 args.zones == "dst" or (args.zones == "all" and rng.random() < 0.2))
                 for _ in range(args.cases)]

    t0 = time.monotonic()
    ours = run_ours(args, cases)
    t1 = time.monotonic()
    if args.oracle == "croniter":
        theirs = run_croniter(cases)
        max_year = OUR_MAX_YEAR
    else:
        theirs = run_quartz(args, cases)
        max_year = min(OUR_MAX_YEAR, quartz_max_year(args))
    t2 = time.monotonic()

    mismatches = [(c, o, t) for c, o, t in zip(cases, ours, theirs) if not same(o, t, max_year)]
    fires = sum(len(o.times or []) for o in ours)
    label = args.oracle + ("" if args.zones == "fixed" else f" ({args.zones} zones)")
    print(f"differential {label}: {len(cases)} cases, {len(mismatches)} mismatches "
          f"({fires} fire times; ours {t1 - t0:.2f}s, {args.oracle} {t2 - t1:.2f}s; "
          f"compared up to year {max_year})")
    for c, o, t in mismatches[:args.show]:
        print_mismatch(c, o, t, max_year)
    if len(mismatches) > args.show:
        print(f"... and {len(mismatches) - args.show} more")
    return 1 if mismatches else 0


def print_mismatch(c: Case, ours: Answer, theirs: Answer, max_year: int) -> None:
    print(f"\n  expr   {c.ours!r}" + (f"  (oracle: {c.theirs!r})" if c.theirs != c.ours else ""))
    print(f"  zone   {c.zone}   start {iso(c.start)}   dialect {c.dialect}   count {c.count}")
    if ours.times is not None and theirs.times is not None:
        o = [x for x in ours.times if int(x[:4]) <= max_year]
        t = [x for x in theirs.times if int(x[:4]) <= max_year]
        i = next((i for i, (a, b) in enumerate(zip(o, t)) if a != b), min(len(o), len(t)))
        print(f"  first difference at fire #{i + 1}")
    print(f"  ours   {ours}")
    print(f"  theirs {theirs}")


# ---------------------------------------------------------------------------
# Known differences (KNOWN_DIFFERENCES.md): each case pins down what the
# oracle does and what we do. A failure means one side changed: update the
# document and the case together.


@dataclasses.dataclass
class OneOf:
    """Any of several fire-time lists (for an oracle whose answer is not deterministic)."""
    choices: list[list[str]]


@dataclasses.dataclass
class Known:
    name: str
    oracle: str                     # "croniter" or "quartz"
    dialect: str
    zone: str
    start: str
    ours: str
    theirs: str
    ours_expect: list[str] | str    # fire times, or "ERR <message prefix>"
    # the same, or OneOf, or a function of Quartz's MAX_YEAR
    theirs_expect: list[str] | str | OneOf | Callable[[int], list[str]]
    count: int = 0                  # default: the longer expected list


KNOWN = [
    Known("croniter: a stepped day field starting with * is restricted (OR)",
          "croniter", "forest", "UTC", "2026-01-01T00:00:00Z", "0 0 */2 * 1", "0 0 */2 * 1",
          # ours: odd days AND Mondays
          ["2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z",
           "2026-02-23T00:00:00Z"],
          # croniter: odd days OR Mondays
          ["2026-01-03T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z",
           "2026-01-09T00:00:00Z"]),
    Known("croniter: a day field listing every value is unrestricted (AND)",
          "croniter", "forest", "UTC", "2026-01-01T00:00:00Z", "0 0 1-31 * 1", "0 0 1-31 * 1",
          # ours: any day (1-31) OR Monday = every day
          ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
           "2026-01-05T00:00:00Z"],
          # croniter: Mondays only
          ["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z",
           "2026-01-26T00:00:00Z"]),
    Known("croniter: day-of-week 0-6 with a day of month is unrestricted (AND)",
          "croniter", "forest", "UTC", "2026-01-01T00:00:00Z", "0 0 13 * 0-6", "0 0 13 * 0-6",
          # ours: the 13th OR any weekday = every day
          ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"],
          # croniter: the 13th only
          ["2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z"]),
    Known("croniter: a day of month cannot be ORed with n#k",
          "croniter", "forest", "UTC", "2026-01-01T00:00:00Z", "0 0 15 * 1#2", "0 0 15 * 1#2",
          # ours: the 15th OR the second Monday
          ["2026-01-12T00:00:00Z", "2026-01-15T00:00:00Z", "2026-02-09T00:00:00Z",
           "2026-02-15T00:00:00Z"],
          # croniter: ANDs them, finds nothing in 50 years, raises CroniterBadDateError
          []),
    Known("croniter: a day of month cannot be ORed with a last weekday (5L / L5)",
          "croniter", "forest", "UTC", "2026-01-01T00:00:00Z", "0 0 15 * 5L", "0 0 15 * L5",
          # ours: the 15th OR the last Friday
          ["2026-01-15T00:00:00Z", "2026-01-30T00:00:00Z", "2026-02-15T00:00:00Z"],
          []),
    Known("croniter: L in a list skips months shorter than another listed day",
          "croniter", "forest", "UTC", "2026-01-01T00:00:00Z", "0 0 30,L * *", "0 0 30,L * *",
          # ours: Feb 28 is the last day of February
          ["2026-01-30T00:00:00Z", "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z",
           "2026-03-30T00:00:00Z"],
          # croniter: jumps towards Feb 30, lands in March
          ["2026-01-30T00:00:00Z", "2026-01-31T00:00:00Z", "2026-03-30T00:00:00Z",
           "2026-03-31T00:00:00Z"]),
    Known("croniter: a listed day past the month's end skips the next month's first days",
          "croniter", "forest", "UTC", "2026-02-01T12:00:00Z", "0 0 1,31 * *", "0 0 1,31 * *",
          ["2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-01T00:00:00Z",
           "2026-05-01T00:00:00Z"],
          # croniter: from Feb 2 it adds 29 days towards "Feb 31" and lands on Mar 3
          ["2026-03-31T00:00:00Z", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z",
           "2026-05-31T00:00:00Z"]),
    Known("croniter: ORing with a day of month that never exists finds nothing",
          "croniter", "forest", "UTC", "2026-01-01T00:00:00Z", "0 0 31 4 1", "0 0 31 4 1",
          # ours: April 31 never comes, the Mondays of April do
          ["2026-04-06T00:00:00Z", "2026-04-13T00:00:00Z", "2026-04-20T00:00:00Z"],
          # croniter: the day-of-month half raises CroniterBadDateError
          []),
    Known("croniter: 7 is not Sunday in its 6-field (seconds-last) form",
          "croniter", "forest", "UTC", "2026-01-01T00:00:00Z", "0 0 0 * * 7", "0 0 * * 7 0",
          ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"],
          []),
    Known("croniter: wall times are wrong for a day after a DST change",
          "croniter", "forest", "America/New_York", "2026-03-07T17:00:00Z", "0 12 * * *",
          "0 12 * * *",
          # ours: noon EDT = 16:00Z
          ["2026-03-08T16:00:00Z", "2026-03-09T16:00:00Z"],
          # croniter: 11:00 EDT on the day of the change, then noon twice that day
          ["2026-03-08T15:00:00Z", "2026-03-08T16:00:00Z"]),
    Known("quartz: a step after a month name is ignored",
          "quartz", "quartz", "UTC", "2026-01-01T00:00:00Z", "0 0 12 1 JAN-JUN/2 ?",
          "0 0 12 1 JAN-JUN/2 ?",
          ["2026-01-01T12:00:00Z", "2026-03-01T12:00:00Z", "2026-05-01T12:00:00Z"],
          ["2026-01-01T12:00:00Z", "2026-02-01T12:00:00Z", "2026-03-01T12:00:00Z"]),
    Known("quartz: nW past the end of a short month",
          "quartz", "quartz", "UTC", "2027-03-01T00:00:00Z", "0 0 12 31W * ?", "0 0 12 31W * ?",
          # ours: only months that have a 31st, nearest weekday within the month
          ["2027-03-31T12:00:00Z", "2027-05-31T12:00:00Z", "2027-07-30T12:00:00Z"],
          # Quartz: lets Calendar roll Apr 31 into May 1 and, because May 1 2027 is a
          # Saturday, fires on the Friday before: Apr 30
          ["2027-03-31T12:00:00Z", "2027-04-30T12:00:00Z", "2027-05-31T12:00:00Z"]),
    Known("quartz: W with a start that has milliseconds depends on the wall clock",
          "quartz", "quartz", "UTC", "2026-01-30T11:59:59.500Z", "0 0 12 LW * ?", "0 0 12 LW * ?",
          # ours: Jan 30 (the last weekday) at noon is half a second after the start
          ["2026-01-30T12:00:00Z", "2026-02-27T12:00:00Z"],
          # Quartz: the same, or (when the wall clock's milliseconds are < 500) skips January
          OneOf([["2026-01-30T12:00:00Z", "2026-02-27T12:00:00Z"],
                 ["2026-02-27T12:00:00Z", "2026-03-31T12:00:00Z"]])),
    Known("quartz: no fire time after CronExpression.MAX_YEAR (current year + 100)",
          "quartz", "quartz", "UTC", "2026-01-01T00:00:00Z", "0 0 0 1 1 ? 2150",
          "0 0 0 1 1 ? 2150",
          ["2150-01-01T00:00:00Z"],
          lambda max_year: ["2150-01-01T00:00:00Z"] if max_year >= 2150 else []),
    Known("quartz: a wall time in the spring-forward gap is skipped",
          "quartz", "quartz", "America/New_York", "2026-03-07T17:00:00Z", "0 30 2 * * ?",
          "0 30 2 * * ?",
          # ours: 02:30 does not exist on Mar 8; fire at the end of the gap (03:00 EDT)
          ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"],
          ["2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]),
    Known("quartz: a repeated wall time fires at its second occurrence",
          "quartz", "quartz", "America/New_York", "2026-10-31T16:00:00Z", "0 30 1 * * ?",
          "0 30 1 * * ?",
          # ours: 01:30 EDT (the first); Quartz: 01:30 EST (the second)
          ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
          ["2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]),
    Known("quartz: hourly in the repeated hour fires at the second occurrence only",
          "quartz", "quartz", "America/New_York", "2026-11-01T04:00:00Z", "0 0 * * * ?",
          "0 0 * * * ?",
          # ours: 01:00 EDT, 02:00 EST; Quartz: 01:00 EST, 02:00 EST
          ["2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"],
          ["2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"]),
    Known("quartz: W in a list (Quartz keeps only the first day)",
          "quartz", "quartz", "UTC", "2026-01-01T00:00:00Z", "0 0 12 15W,20 * ?",
          "0 0 12 15W,20 * ?",
          "ERR field 4 (day-of-month)",
          ["2026-01-15T12:00:00Z", "2026-02-16T12:00:00Z", "2026-03-16T12:00:00Z"]),
    Known("quartz: n#k in a list (Quartz keeps only the first weekday)",
          "quartz", "quartz", "UTC", "2026-01-01T00:00:00Z", "0 0 12 ? * 2#1,3",
          "0 0 12 ? * 2#1,3",
          "ERR field 6 (day-of-week)",
          ["2026-01-05T12:00:00Z", "2026-02-02T12:00:00Z", "2026-03-02T12:00:00Z"]),
]


def known(args) -> int:
    max_year = quartz_max_year(args)
    cases, expects = [], []
    for k in KNOWN:
        theirs_expect = k.theirs_expect(max_year) if callable(k.theirs_expect) else k.theirs_expect
        count = k.count or max(len(e) if isinstance(e, list) else 1 for e in (k.ours_expect, theirs_expect)
                               if not isinstance(e, OneOf))
        start = dt.datetime.fromisoformat(k.start.replace("Z", "+00:00"))
        cases.append(Case(k.dialect, k.zone, start, k.ours, k.theirs, count))
        expects.append((k.ours_expect, theirs_expect))
    ours = run_ours(args, cases)
    quartz_cases = [c for c, k in zip(cases, KNOWN) if k.oracle == "quartz"]
    quartz_answers = iter(run_quartz(args, quartz_cases))
    failures = 0
    for k, c, o, (ours_expect, theirs_expect) in zip(KNOWN, cases, ours, expects):
        t = croniter_answer(c) if k.oracle == "croniter" else next(quartz_answers)
        problems = []
        if not matches(o, ours_expect):
            problems.append(f"ours   {o}\n      expected {fmt_expect(ours_expect)}")
        if not matches(t, theirs_expect):
            problems.append(f"{k.oracle} {t}\n      expected {fmt_expect(theirs_expect)}")
        print(f"{'FAIL' if problems else 'ok  '} {k.name}")
        for p in problems:
            print(f"      {p}")
        failures += bool(problems)
    print(f"differential known: {len(KNOWN)} cases, {failures} changed")
    return 1 if failures else 0


def matches(answer: Answer, expect) -> bool:
    if isinstance(expect, OneOf):
        return any(matches(answer, e) for e in expect.choices)
    if isinstance(expect, str):
        assert expect.startswith("ERR ")
        return answer.error is not None and answer.error.startswith(expect[4:])
    return answer.error is None and answer.times == expect


def fmt_expect(expect) -> str:
    if isinstance(expect, OneOf):
        return " | ".join(fmt_expect(e) for e in expect.choices)
    return expect if isinstance(expect, str) else (" ".join(expect) or "(none)")


# ---------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--oracle", choices=["croniter", "quartz"])
    p.add_argument("--known", action="store_true",
                   help="check the cases of KNOWN_DIFFERENCES.md instead of a random run")
    p.add_argument("--seed", type=int, default=1, help=f"random seed (${SEED_ENV} overrides it)")
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--count", type=int, default=10, help="fire times per case")
    p.add_argument("--batch", required=True, help="path to the cron_batch tool")
    p.add_argument("--java", default="java")
    p.add_argument("--java-classpath", default="",
                   help="where QuartzOracle.class and the Quartz and slf4j jars are")
    p.add_argument("--zones", choices=["fixed", "dst", "all"], default="fixed",
                   help="fixed-offset zones (UTC and others), DST zones (quartz only, hours "
                        "kept out of the transitions), or both")
    p.add_argument("--show", type=int, default=20, help="mismatches to print")
    args = p.parse_args()
    if args.known:
        return known(args)
    if not args.oracle:
        p.error("--oracle or --known is required")
    return differential(args)


if __name__ == "__main__":
    sys.exit(main())
