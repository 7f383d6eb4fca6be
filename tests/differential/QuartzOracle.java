// QuartzOracle: Quartz's org.quartz.CronExpression behind the same line
// protocol as cron_batch, so differential.py can compare the two.
//
//   java -cp QUARTZ_JARS:DIR QuartzOracle              answer lines on stdin
//   java -cp QUARTZ_JARS:DIR QuartzOracle --max-year   print CronExpression.MAX_YEAR
//   java -cp QUARTZ_JARS:DIR QuartzOracle --bench MS [UNTIL]   time each line (see bench())
//
// Input line:  dialect <TAB> zone <TAB> from <TAB> count <TAB> expression
// Output line: OK <TAB> t1 t2 ... (UTC, e.g. 2026-01-01T00:00:30Z) or ERR <TAB> message
//
// The dialect column is ignored: Quartz only speaks its own dialect (the
// caller sends "quartz"). Quartz works at second resolution: it computes the
// next fire from (after + 1 s) with the milliseconds cleared, which is
// "strictly after" for expressions that fire on whole seconds. It returns
// null past CronExpression.MAX_YEAR (the current year + 100), so a sequence
// can end early; the caller compares only up to --max-year.
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.Date;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;
import org.quartz.CronExpression;

public final class QuartzOracle {
  private final Map<String, TimeZone> zones = new HashMap<>();

  /** The five columns of one input line. */
  private static final class Query {
    TimeZone zone;
    Date from;
    int count;
    String expression;
  }

  /** Thrown for a malformed line (not for a bad expression). */
  private static final class BadLine extends Exception {
    private static final long serialVersionUID = 1L;

    BadLine(String message) {
      super(message);
    }
  }

  public static void main(String[] args) throws IOException {
    if (args.length == 1 && args[0].equals("--max-year")) {
      System.out.println(CronExpression.MAX_YEAR);
      return;
    }
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
    Writer out =
        new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
    QuartzOracle oracle = new QuartzOracle();
    if ((args.length == 2 || args.length == 3) && args[0].equals("--bench")) {
      Date until = Date.from(Instant.parse(args.length == 3 ? args[2] : "2100-01-01T00:00:00Z"));
      oracle.bench(in, out, Long.parseLong(args[1]), until);
    } else if (args.length == 0) {
      oracle.answerAll(in, out);
    } else {
      System.err.println("usage: QuartzOracle [--max-year | --bench MILLIS [UNTIL]] < lines");
      System.exit(2);
    }
    out.flush();
  }

  private void answerAll(BufferedReader in, Writer out) throws IOException {
    String line;
    while ((line = in.readLine()) != null) {
      out.write(answer(line));
      out.write('\n');
      // Flush per batch: when the caller has sent nothing more yet.
      if (!in.ready()) out.flush();
    }
  }

  private String answer(String line) {
    Query q;
    try {
      q = parseLine(line);
    } catch (BadLine e) {
      return "ERR\t" + e.getMessage();
    }
    CronExpression cron;
    try {
      cron = new CronExpression(q.expression);
    } catch (ParseException e) {
      return "ERR\t" + sanitize(e.getMessage());
    }
    cron.setTimeZone(q.zone);
    StringBuilder sb = new StringBuilder("OK\t");
    Date t = q.from;
    for (int i = 0; i < q.count; i++) {
      try {
        t = cron.getNextValidTimeAfter(t);
      } catch (RuntimeException e) {
        // Quartz throws from a few corners of getTimeAfter; report it as a
        // result the caller will see as a mismatch, not as a crash.
        return "ERR\tgetNextValidTimeAfter threw " + sanitize(e.toString());
      }
      if (t == null) break;
      if (i > 0) sb.append(' ');
      sb.append(t.toInstant().toString());
    }
    return sb.toString();
  }

  private Query parseLine(String line) throws BadLine {
    String[] cols = line.split("\t", 5);
    if (cols.length != 5) {
      throw new BadLine("expected 5 tab-separated columns: dialect zone from count expression");
    }
    Query q = new Query();
    q.zone = zone(cols[1]);
    q.from = parseInstant(cols[2]);
    try {
      q.count = Integer.parseInt(cols[3]);
    } catch (NumberFormatException e) {
      throw new BadLine("count must be a non-negative integer");
    }
    q.expression = cols[4];
    return q;
  }

  private TimeZone zone(String name) throws BadLine {
    TimeZone tz = zones.get(name);
    if (tz == null) {
      // TimeZone.getTimeZone silently answers GMT for an unknown name; ZoneId does not.
      try {
        tz = TimeZone.getTimeZone(ZoneId.of(name));
      } catch (RuntimeException e) {
        throw new BadLine("unknown time zone " + name);
      }
      zones.put(name, tz);
    }
    return tz;
  }

  private static Date parseInstant(String text) throws BadLine {
    try {
      return Date.from(Instant.parse(text));
    } catch (DateTimeParseException e) {
      try {
        return Date.from(OffsetDateTime.parse(text).toInstant());
      } catch (DateTimeParseException e2) {
        throw new BadLine("bad instant " + text + " (expected e.g. 2026-01-01T00:00:30Z)");
      }
    }
  }

  private static String sanitize(String s) {
    return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ').replace('\t', ' ');
  }

  // ---------------------------------------------------------------------------
  // Timing mode, for bench/cron_compare.py.
  //
  // For each input line (same format; count is ignored) prints
  //   BENCH <TAB> next_ns_per_op <TAB> parse_ns_per_op
  // or ERR <TAB> message. "next" chains getNextValidTimeAfter from `from`
  // (t = next(t)), restarting at `from` when Quartz returns null or a time at
  // or after `until` (default 2100-01-01T00:00:00Z): the walk a scheduler
  // makes, and the one bench/cron_bench.cc times. Each measurement first runs
  // at least `millis` of warm-up (so the JIT has compiled the hot path) while
  // it calibrates the iteration count, then takes the best of 5 runs of about
  // `millis` each.

  private interface Op {
    /** Runs the operation `n` times; returns something derived from the results. */
    long run(long n) throws Exception;
  }

  private static long sink; // results go here so the JIT cannot drop the work

  private static double nsPerOp(Op op, long millis) throws Exception {
    final long budget = millis * 1_000_000L;
    long n = 1;
    // Calibrate (this doubles as the warm-up): grow n until one run takes the budget.
    long start = System.nanoTime();
    while (true) {
      long t0 = System.nanoTime();
      sink += op.run(n);
      long elapsed = System.nanoTime() - t0;
      if (elapsed >= budget && System.nanoTime() - start >= budget) break;
      n = elapsed <= 0 ? n * 10 : Math.max(n + 1, Math.min(n * 10, n * budget / elapsed + 1));
    }
    double best = Double.MAX_VALUE;
    for (int rep = 0; rep < 5; rep++) {
      long t0 = System.nanoTime();
      sink += op.run(n);
      best = Math.min(best, (double) (System.nanoTime() - t0) / n);
    }
    return best;
  }

  private void bench(BufferedReader in, Writer out, long millis, Date until) throws IOException {
    String line;
    while ((line = in.readLine()) != null) {
      String result;
      try {
        final Query q = parseLine(line);
        final CronExpression cron = new CronExpression(q.expression);
        cron.setTimeZone(q.zone);
        final Date from = q.from;
        double next =
            nsPerOp(
                n -> {
                  long acc = 0;
                  Date t = from;
                  for (long i = 0; i < n; i++) {
                    Date r = cron.getNextValidTimeAfter(t);
                    t = r == null || !r.before(until) ? from : r;
                    acc += t.getTime();
                  }
                  return acc;
                },
                millis);
        double parse =
            nsPerOp(
                n -> {
                  long acc = 0;
                  for (long i = 0; i < n; i++) {
                    acc += new CronExpression(q.expression).hashCode();
                  }
                  return acc;
                },
                millis);
        result = String.format(Locale.ROOT, "BENCH\t%.1f\t%.1f", next, parse);
      } catch (BadLine | ParseException e) {
        result = "ERR\t" + sanitize(e.getMessage());
      } catch (Exception e) {
        result = "ERR\t" + sanitize(e.toString());
      }
      out.write(result);
      out.write('\n');
      out.flush();
    }
    if (sink == 42) System.err.print(""); // keeps `sink` observable
  }
}
