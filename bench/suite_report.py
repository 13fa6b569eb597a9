"""Turn bench/suite.sh's raw measurements into the table, the JSON and the chart.

Usage: suite_report.py RAW.tsv META.tsv OUT-PREFIX WORKDIR

RAW.tsv lines: scenario, case, target, round, key, value (tab-separated).
META.tsv lines: key, value.  Writes OUT-PREFIX.txt (also printed),
OUT-PREFIX.json and OUT-PREFIX.png (gnuplot, bench/suite_plot.gp; the data
file goes to WORKDIR).  Exits 1 when a check failed (listed at the end of
the table), 0 otherwise.
"""
import json
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict

LABEL = {
    "pgiris": "pgiris",
    "pgbouncer": "pgbouncer (transaction)",
    "pgbouncer-session": "pgbouncer (session)",
    "postgres": "postgres (direct)",
    "pgiris-sqlite": "pgiris -> SQLite",
    "inproc-prepared": "sqlite3 in-process, prepared once",
    "inproc-each": "sqlite3 in-process, prepared each time",
    "psqlodbc": "psqlODBC alone",
}


def num(v):
    try:
        f = float(v)
    except ValueError:
        return v
    return int(f) if f.is_integer() and "." not in v else f


def load(raw_path, meta_path):
    # data[scenario][case][target][round][key] = value
    data = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(dict))))
    with open(raw_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                continue
            scen, case, tgt, rnd, key, val = parts
            data[scen][case][tgt][int(rnd)][key] = num(val)
    meta = {}
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    return data, meta


def stat(values):
    vals = [v for v in values if isinstance(v, (int, float))]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def summarize(rounds, key):
    return stat([r.get(key) for _, r in sorted(rounds.items())])


def ratio(a, b):
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


def fnum(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:,.{}f}".format(v, digits)


def fstat(s, digits=0, spread=True):
    if s is None:
        return "-"
    m = fnum(s["median"], digits)
    if not spread or s["n"] < 2:
        return m
    return "%s [%s..%s]" % (m, fnum(s["min"], digits), fnum(s["max"], digits))


def fratio(r):
    return "-" if r is None else "%.2f" % r


class Report:
    def __init__(self, data, meta):
        self.data, self.meta = data, meta
        self.lines = []
        self.checks = []        # failed checks
        self.notes = []
        self.ratios = []        # headline: (label, vs_bouncer, vs_direct, note)
        self.memory = []        # (label, pgiris/pgbouncer)
        self.cpu = []           # (label, pgiris/pgbouncer): the poolers' CPU per transaction
        self.summary = {}       # the JSON's "summary"

    def out(self, s=""):
        self.lines.append(s)

    def rounds(self, scen, case, tgt):
        return self.data.get(scen, {}).get(case, {}).get(tgt, {})

    def run_errors(self, rounds):
        """failed transactions + aborted clients over the rounds, plus runs with no result."""
        n = 0
        for r in rounds.values():
            n += int(r.get("failed", 0) or 0) + int(r.get("aborted", 0) or 0)
            if "tps" not in r:
                n += 1
        return n

    def first_errors(self, rounds):
        return [r["first_error"] for _, r in sorted(rounds.items()) if r.get("first_error")]

    def stalls(self, rounds):
        return sum(int(r.get("zero_tps_s", 0) or 0) for r in rounds.values())

    # --- header --------------------------------------------------------------------
    def header(self):
        m = self.meta
        self.out("pgiris benchmark suite  %s  commit %s  (%s)" % (m.get("date"), m.get("commit"), m.get("pgiris")))
        self.out("machine: %s cores (%s), %.1f GiB, %s, %s; load average %s at the start, %s at the end"
                 % (m.get("cores"), m.get("cpu"), int(m.get("memory_kb", 0)) / 1048576, m.get("kernel"),
                    m.get("os"), m.get("loadavg_start"), m.get("loadavg_end")))
        self.out("versions: %s; %s; %s; psqlODBC %s; SQLite %s (sqliteodbc %s)"
                 % (m.get("postgres"), m.get("pgbench"), m.get("pgbouncer"), m.get("psqlodbc"),
                    m.get("sqlite"), m.get("sqliteodbc")))
        self.out("all on loopback; pgiris: postgres dialect over psqlODBC (UseDeclareFetch=%s), transaction "
                 "pooling, pool 20; pgbouncer: transaction mode, pool 20" % m.get("use_declare_fetch"))
        self.out("%s rounds, the targets alternating within each round (pgiris, pgbouncer, postgres);"
                 " figures are median [min..max] over the rounds" % m.get("param_ROUNDS"))
        if m.get("quick") not in (None, "", "0"):
            self.out("QUICK=1: smoke-run sizes, the figures mean little")
        self.out("run took %.0f s" % float(m.get("duration_s", 0)))

    # --- 1 ---------------------------------------------------------------------------
    def oltp(self):
        m = self.meta
        self.out()
        self.out("1. OLTP reads: pgbench -S -c %s -j 2 -T %s, scale 10 (p50/p99 from per-transaction logs)"
                 % (m.get("param_CLIENTS"), m.get("param_T")))
        self.out("   %-9s %-24s %26s %9s %22s %7s %7s" % ("-M", "target", "tps", "p50 ms", "p99 ms", "errors", "stalls"))
        summ = {}
        for proto in ("simple", "extended", "prepared", "txread"):
            cases = self.data.get("oltp", {}).get(proto, {})
            for tgt in ("pgiris", "pgbouncer", "pgbouncer-session", "postgres"):
                if tgt not in cases:
                    continue
                rd = cases[tgt]
                tps, p50, p99 = summarize(rd, "tps"), summarize(rd, "p50_ms"), summarize(rd, "p99_ms")
                err, st = self.run_errors(rd), self.stalls(rd)
                summ.setdefault(proto, {})[tgt] = {"tps": tps, "p50_ms": p50, "p99_ms": p99, "errors": err,
                                                   "zero_tps_seconds": st, "first_errors": self.first_errors(rd)}
                self.out("   %-9s %-24s %26s %9s %22s %7d %7d" % (proto, LABEL[tgt], fstat(tps), fstat(p50, 3, False),
                                                               fstat(p99, 3), err, st))
                expected = proto == "prepared" and tgt == "pgbouncer" and self.bouncer_old()
                if (err or st >= 2) and not expected:
                    self.checks.append("OLTP -M %s through %s: %d errors, %d s at 0 tps%s"
                                       % (proto, LABEL[tgt], err, st, self.first_err_text(rd)))
        self.out("   ratios of tps (and of p99 latency, lower is better):")
        for proto in ("simple", "extended", "prepared", "txread"):
            s = summ.get(proto, {})
            bouncer = "pgbouncer"
            if proto == "prepared" and self.bouncer_old():
                bouncer = "pgbouncer-session"
            g = s.get("pgiris", {})
            b, d = s.get(bouncer, {}), s.get("postgres", {})
            rb, rd_ = ratio(g.get("tps"), b.get("tps")), ratio(g.get("tps"), d.get("tps"))
            lb, ld = ratio(g.get("p99_ms"), b.get("p99_ms")), ratio(g.get("p99_ms"), d.get("p99_ms"))
            mode = " (pgbouncer in session mode)" if bouncer == "pgbouncer-session" else ""
            self.out("   %-9s pgiris/pgbouncer %5s  pgiris/direct %5s   p99: pgiris/pgbouncer %5s  pgiris/direct %5s%s"
                     % (proto, fratio(rb), fratio(rd_), fratio(lb), fratio(ld), mode))
            label = "OLTP -M %s%s" % (proto, " (bouncer: session)" if mode else "")
            self.ratios.append((label, rb, rd_))
            summ.setdefault(proto, {})["ratios"] = {"tps_pgiris_pgbouncer": rb, "tps_pgiris_direct": rd_,
                                                    "p99_pgiris_pgbouncer": lb, "p99_pgiris_direct": ld,
                                                    "pgbouncer_mode": "session" if mode else "transaction"}
            self.cpu_line(proto, label, "oltp", proto, bouncer, summ[proto])
        if self.bouncer_old():
            tx = summ.get("prepared", {}).get("pgbouncer", {})
            self.out("   %s < 1.21 does not keep protocol-level prepared statements in transaction mode: -M prepared"
                     % self.meta.get("pgbouncer", "pgbouncer"))
            self.out("   through it had %d errors (expected; first: %s); the prepared ratio uses session mode"
                     % (tx.get("errors", 0), (tx.get("first_errors") or ["-"])[0][:120]))
        self.out("   txread: -M simple, the lookup inside BEGIN ... END (three statements a transaction)")
        self.out("   stalls: seconds pgbench reported 0 tps (-P 1); errors: failed transactions + aborted clients")
        self.oltp_floor(summ)
        self.summary["oltp"] = summ

    def oltp_floor(self, summ):
        """psqlODBC alone: the lookups without a pooler, and what the driver's calls cost the
        client, against the whole of what pgbouncer costs per transaction."""
        rd = self.rounds("oltp", "floor", "psqlodbc")
        if not rd:
            return
        tps, cpu = summarize(rd, "tps"), summarize(rd, "cpu_us_per_tx")
        bouncer = "pgbouncer-session" if self.bouncer_old() else "pgbouncer"
        b = summ.get("prepared", {}).get("cpu_us_per_tx", {}).get(bouncer)
        g = summ.get("prepared", {}).get("cpu_us_per_tx", {}).get("pgiris")
        self.out("   psqlODBC alone (bench/odbc_floor.c): the same lookups from %s threads in one process, prepared once"
                 % self.meta.get("param_CLIENTS"))
        self.out("   (SQLExecute, SQLFetch, SQLGetData), UseDeclareFetch=0 as pgiris runs small results, no pooler:")
        self.out("   %s tps; the driver's CPU per lookup %s us, against pooler CPU per transaction (-M prepared)"
                 " pgiris %s, %s %s" % (fstat(tps), fstat(cpu, 1), fnum(g["median"] if g else None, 1),
                                        LABEL[bouncer], fnum(b["median"] if b else None, 1)))
        for e in self.first_errors(rd):
            self.checks.append("OLTP through psqlODBC alone: %s" % e[:200])
        self.driver_async(summ)
        summ["psqlodbc_alone"] = {"tps": tps, "cpu_us_per_lookup": cpu,
                                  "cpu_ratio_to_pgbouncer": ratio(cpu, b), "first_errors": self.first_errors(rd)}

    def driver_async(self, summ):
        """Whether psqlODBC can run a statement without blocking the calling thread
        (odbc_floor async): if not, every statement in flight needs a thread of its own."""
        words = (self.meta.get("psqlodbc_async") or "").split()
        if len(words) != 5 or words[0] != "async":
            if words:
                self.checks.append("psqlODBC asynchronous probe: %s" % " ".join(words)[:200])
            return
        _, mode, enabled, first, secs = words
        self.out("   psqlODBC's asynchronous execution: SQL_ASYNC_MODE %s; SQL_ATTR_ASYNC_ENABLE set on reads back %s;"
                 % (mode, enabled))
        self.out("   SELECT pg_sleep(0.2) with it set returned %s after %s s%s" % (
            "SQL_STILL_EXECUTING" if first == "still_executing" else "code %s" % first, secs,
            ": every call blocks its thread, so each statement in flight takes an executor thread"
            if first != "still_executing" else ""))
        summ["psqlodbc_async"] = {"async_mode": mode, "enable_reads_back": enabled, "first_return": first,
                                  "seconds": float(secs)}

    def cpu_line(self, what, label, scen, case, bouncer, summ):
        """The poolers' CPU per transaction (from /proc, around each pgbench run), which the
        machine's load moves much less than tps, and its ratio."""
        g = summarize(self.rounds(scen, case, "pgiris"), "cpu_us_per_tx")
        b = summarize(self.rounds(scen, case, bouncer), "cpu_us_per_tx")
        r = ratio(g, b)
        self.out("   %-9s pooler CPU us per transaction: pgiris %s, %s %s; pgiris/pgbouncer %s (lower is better)"
                 % (what, fstat(g, 1), LABEL[bouncer], fstat(b, 1), fratio(r)))
        summ["cpu_us_per_tx"] = {"pgiris": g, bouncer: b, "pgiris_pgbouncer": r}
        gs = summarize(self.rounds(scen, case, "pgiris"), "switches_per_tx")
        bs = summarize(self.rounds(scen, case, bouncer), "switches_per_tx")
        if gs or bs:
            self.out("   %-9s context switches per transaction (the pooler's threads): pgiris %s, %s %s"
                     % (what, fstat(gs, 2), LABEL[bouncer], fstat(bs, 2)))
            summ["switches_per_tx"] = {"pgiris": gs, bouncer: bs}
        self.cpu.append((label, r))

    def bouncer_old(self):
        v = self.meta.get("pgbouncer", "").split()
        try:
            parts = [int(x) for x in v[1].split(".")[:2]]
        except (IndexError, ValueError):
            return True
        return parts < [1, 21]

    def first_err_text(self, rounds):
        e = self.first_errors(rounds)
        return "; first: " + e[0][:200] if e else ""

    # --- 2 ---------------------------------------------------------------------------
    def churn(self):
        self.out()
        self.out("2. connection churn: pgbench -S -C -c %s -j 2 -T %s (a new connection per transaction)"
                 % (self.meta.get("param_CLIENTS"), self.meta.get("param_CHURN_T")))
        self.out("   %-24s %26s %22s %7s" % ("target", "connections/s", "avg connection ms", "errors"))
        summ = {}
        for tgt in ("pgiris", "pgbouncer", "postgres"):
            rd = self.rounds("churn", "C", tgt)
            if not rd:
                continue
            tps, ct = summarize(rd, "tps"), summarize(rd, "conn_ms")
            err = self.run_errors(rd)
            summ[tgt] = {"connections_per_s": tps, "avg_connection_ms": ct, "errors": err,
                         "first_errors": self.first_errors(rd)}
            self.out("   %-24s %26s %22s %7d" % (LABEL[tgt], fstat(tps), fstat(ct, 3), err))
            if err:
                self.checks.append("churn through %s: %d errors%s" % (LABEL[tgt], err, self.first_err_text(rd)))
        g, b, d = (summ.get(t, {}).get("connections_per_s") for t in ("pgiris", "pgbouncer", "postgres"))
        rb, rd_ = ratio(g, b), ratio(g, d)
        self.out("   ratios of connections/s: pgiris/pgbouncer %s  pgiris/direct %s" % (fratio(rb), fratio(rd_)))
        self.ratios.append(("churn (-C)", rb, rd_))
        summ["ratios"] = {"pgiris_pgbouncer": rb, "pgiris_direct": rd_}
        self.cpu_line("churn", "churn (-C)", "churn", "C", "pgbouncer", summ)
        self.summary["churn"] = summ

    # --- 3 ---------------------------------------------------------------------------
    def many(self):
        cases = self.data.get("many", {})
        self.out()
        self.out("3. many clients: pgbench -S -j 2, pool of 20 (pgiris, pgbouncer)")
        self.out("   %-7s %-24s %26s %22s %22s %7s" % ("clients", "target", "tps", "p99 ms", "connecting, ms", "errors"))
        summ = {}
        for n in sorted(cases, key=lambda c: int(c) if c.isdigit() else 0):
            s = summ.setdefault(n, {})
            for tgt in ("pgiris", "pgbouncer"):
                rd = cases[n].get(tgt)
                if not rd:
                    continue
                tps, p99 = summarize(rd, "tps"), summarize(rd, "p99_ms")
                conn = summarize(rd, "init_conn_ms")
                err, st = self.run_errors(rd), self.stalls(rd)
                s[tgt] = {"tps": tps, "p99_ms": p99, "p50_ms": summarize(rd, "p50_ms"), "connect_ms": conn,
                          "errors": err, "zero_tps_seconds": st, "rounds": len(rd),
                          "first_errors": self.first_errors(rd)}
                self.out("   %-7s %-24s %26s %22s %22s %7d" % (n, LABEL[tgt], fstat(tps), fstat(p99, 1),
                                                             fstat(conn), err))
                if err:
                    self.checks.append("%s clients through %s: %d errors (must be 0)%s"
                                       % (n, LABEL[tgt], err, self.first_err_text(rd)))
                if st >= 2:
                    self.checks.append("%s clients through %s: %d s at 0 tps" % (n, LABEL[tgt], st))
            for tgt, rd in cases[n].items():
                for r in rd.values():
                    if r.get("skipped"):
                        s.setdefault("skipped", {})[tgt] = r["skipped"]
                        self.out("   %-7s %-24s %s" % (n, LABEL.get(tgt, tgt), "n/a: " + r["skipped"]))
            if "pgiris" in s and "pgbouncer" in s:
                rb = ratio(s["pgiris"]["tps"], s["pgbouncer"]["tps"])
                lb = ratio(s["pgiris"]["p99_ms"], s["pgbouncer"]["p99_ms"])
                rounds = s["pgiris"]["rounds"]
                self.out("   %-7s ratios: tps pgiris/pgbouncer %s, p99 pgiris/pgbouncer %s%s"
                         % (n, fratio(rb), fratio(lb), "" if rounds > 1 else " (one round)"))
                self.ratios.append(("%s clients, pool 20" % n, rb, None))
                s["ratios"] = {"tps_pgiris_pgbouncer": rb, "p99_pgiris_pgbouncer": lb}
        self.summary["many"] = summ

    # --- 4 ---------------------------------------------------------------------------
    def idle(self):
        cases = self.data.get("idle", {})
        summ = {}
        for n, tg in cases.items():
            self.out()
            self.out("4. idle clients: RSS with %s idle connections, measured after %s warm-up connections "
                     "(kept open, not counted)" % (n, self.meta.get("param_IDLE_WARMUP")))
            self.out("   %-24s %-18s %12s %12s %12s" % ("target", "process", "before kB", "after kB", "kB/client"))
            for tgt in ("pgiris", "pgbouncer"):
                r = tg.get(tgt, {}).get(1, {})
                try:
                    d = json.loads(r.get("detail", "{}"))
                except ValueError:
                    d = {"error": r.get("detail")}
                if "procs" not in d:
                    self.out("   %-24s FAILED: %s" % (LABEL[tgt], d.get("error")))
                    self.checks.append("idle clients through %s: %s" % (LABEL[tgt], d.get("error")))
                    continue
                labels = str(r.get("labels", "")).split(",")
                clients = d["clients"] or 1
                tb = ta = 0
                procs = []
                for i, p in enumerate(d["procs"]):
                    lab = labels[i] if i < len(labels) else str(p["pid"])
                    tb += p["before_kb"]
                    ta += p["after_kb"]
                    per = (p["after_kb"] - p["before_kb"]) / clients
                    procs.append({"process": lab, "before_kb": p["before_kb"], "after_kb": p["after_kb"],
                                  "kb_per_client": round(per, 3)})
                    self.out("   %-24s %-18s %12s %12s %12.2f" % (LABEL[tgt], lab, fnum(p["before_kb"]),
                                                               fnum(p["after_kb"]), per))
                per = (ta - tb) / clients
                if len(d["procs"]) > 1:
                    self.out("   %-24s %-18s %12s %12s %12.2f" % (LABEL[tgt], "total", fnum(tb), fnum(ta), per))
                summ[tgt] = {"clients": d["clients"], "warmup": d["warmup"], "connect_seconds": d["seconds"],
                             "errors": d["errors"], "first_error": d["first_error"], "processes": procs,
                             "total_before_kb": tb, "total_after_kb": ta, "kb_per_client": round(per, 3)}
                if d["errors"]:
                    self.checks.append("idle clients through %s: %d connections failed: %s"
                                       % (LABEL[tgt], d["errors"], d["first_error"][:200]))
            r = tg.get("postgres", {}).get(1, {})
            if r.get("skipped"):
                self.out("   %-24s n/a: %s" % (LABEL["postgres"], r["skipped"]))
            if "pgiris" in summ and "pgbouncer" in summ and summ["pgbouncer"]["kb_per_client"] > 0:
                rm = summ["pgiris"]["kb_per_client"] / summ["pgbouncer"]["kb_per_client"]
                self.out("   kB per idle client, pgiris/pgbouncer: %.2f (all processes, RSS, one measurement:"
                         " a second round would reuse what the first freed)" % rm)
                summ["ratio_kb_per_client_pgiris_pgbouncer"] = rm
                self.memory.append(("idle: kB per client", rm))
        self.summary["idle"] = summ

    # --- 5 ---------------------------------------------------------------------------
    def large(self):
        cases = self.data.get("large", {})
        m = self.meta
        want_rows, want_bytes = int(m.get("param_ROWS", 0)), int(m.get("large_bytes", 0))
        self.out()
        self.out("5. large results: %s rows, %.1f MB as COPY text, read as they arrive (bench/bigread.c, libpq)"
                 % (fnum(want_rows), want_bytes / 1e6))
        self.out("   peak RSS: VmHWM of each pooler process, reset before each read (its RSS then in parentheses),")
        self.out("   and the reader's maximum RSS (client); medians over the rounds")
        summ = {}
        for mode, title in (("copy", "COPY large_bench TO STDOUT"), ("select", "SELECT * FROM large_bench, single-row mode")):
            if mode not in cases:
                continue
            self.out("   %s" % title)
            self.out("   %-24s %22s %10s  %s" % ("target", "MB/s", "s", "peak RSS kB: process peak (before) ..."))
            s = summ.setdefault(mode, {})
            for tgt in ("pgiris", "pgbouncer", "postgres", "psqlodbc"):
                rd = cases[mode].get(tgt)
                if not rd:
                    continue
                mbs, secs = summarize(rd, "mb_s"), summarize(rd, "seconds")
                keys = sorted({k for r in rd.values() for k in r if k.startswith("peak_kb:")},
                              key=lambda k: (k == "peak_kb:client", k))
                peaks = {k[8:]: summarize(rd, k) for k in keys}
                bases = {k[8:]: summarize(rd, k) for k in
                         sorted({k for r in rd.values() for k in r if k.startswith("base_kb:")})}
                own = [v["median"] for k, v in peaks.items() if v and k != "client"]
                total = sum(own) if own else None
                s[tgt] = {"mb_s": mbs, "seconds": secs, "peak_kb": peaks, "rss_before_kb": bases,
                          "peak_kb_total": total, "first_errors": self.first_errors(rd)}
                ptxt = "  ".join("%s %s%s" % (k, fnum(v["median"] if v else None),
                                              " (%s before)" % fnum(bases[k]["median"]) if bases.get(k) else "")
                                 for k, v in peaks.items())
                self.out("   %-24s %22s %10s  %s" % (LABEL[tgt], fstat(mbs, 1), fstat(secs, 2, False), ptxt))
                for rn, r in sorted(rd.items()):
                    # a pooler that streams holds a ring's worth, not the result: flag a process
                    # whose RSS rose by more than half the result during the read
                    for k, peak in r.items():
                        if not k.startswith("peak_kb:") or k == "peak_kb:client":
                            continue
                        base = r.get("base_kb:" + k[8:])
                        if isinstance(peak, int) and isinstance(base, int) and \
                                (peak - base) * 1024 > want_bytes / 2:
                            self.checks.append(
                                "large results (%s) through %s, round %d: %s RSS rose from %s to %s kB during the read"
                                " of a %.0f MB result: held in memory, not streamed"
                                % (mode, LABEL[tgt], rn, k[8:], fnum(base), fnum(peak), want_bytes / 1e6))
                    bad = r.get("first_error")
                    if not bad and (r.get("rows") != want_rows or r.get("bytes") != want_bytes):
                        bad = "%s rows, %s bytes; expected %d rows, %d bytes" % (r.get("rows"), r.get("bytes"),
                                                                                want_rows, want_bytes)
                    if bad:
                        self.checks.append("large results (%s) through %s, round %d: %s" % (mode, LABEL[tgt], rn, bad))
            g, b, d = (s.get(t, {}).get("mb_s") for t in ("pgiris", "pgbouncer", "postgres"))
            rb, rd_ = ratio(g, b), ratio(g, d)
            self.out("   ratios of MB/s: pgiris/pgbouncer %s  pgiris/direct %s" % (fratio(rb), fratio(rd_)))
            self.ratios.append(("large: %s" % ("COPY TO" if mode == "copy" else "SELECT"), rb, rd_))
            s["ratios"] = {"pgiris_pgbouncer": rb, "pgiris_direct": rd_}
            f = s.get("psqlodbc", {}).get("mb_s")
            if f:
                fb, fg = ratio(f, b), ratio(g, f)
                self.out("   psqlODBC alone: the same rows read in one process (bench/odbc_floor.c), the most any route")
                self.out("   through the driver delivers: psqlODBC alone/pgbouncer %s  pgiris/psqlODBC alone %s"
                         % (fratio(fb), fratio(fg)))
                s["ratios"].update({"psqlodbc_alone_pgbouncer": fb, "pgiris_psqlodbc_alone": fg})
                if mode == "select":
                    self.ratios.append(("large: SELECT, psqlODBC alone", fb, ratio(f, d)))
            gp, bp = s.get("pgiris", {}).get("peak_kb_total"), s.get("pgbouncer", {}).get("peak_kb_total")
            if gp and bp:
                s["ratios"]["peak_rss_pgiris_pgbouncer"] = gp / bp
                self.memory.append(("peak RSS, %s" % ("COPY TO" if mode == "copy" else "SELECT"), gp / bp))
        self.summary["large"] = summ

    # --- 6 ---------------------------------------------------------------------------
    def bulk(self):
        cases = self.data.get("bulk", {}).get("copy_from", {})
        want = int(self.meta.get("param_ROWS", 0))
        self.out()
        self.out("6. bulk load: COPY load_bench FROM STDIN (psql), %s rows (%.1f MB), table emptied before each, "
                 "%s round(s)" % (fnum(want), int(self.meta.get("large_bytes", 0)) / 1e6, self.meta.get("param_BULK_ROUNDS")))
        self.out("   %-24s %26s %18s" % ("target", "rows/s", "s"))
        summ = {}
        for tgt in ("pgiris", "pgbouncer", "postgres"):
            rd = cases.get(tgt)
            if not rd:
                continue
            rs, secs = summarize(rd, "rows_s"), summarize(rd, "seconds")
            summ[tgt] = {"rows_s": rs, "seconds": secs, "first_errors": self.first_errors(rd)}
            self.out("   %-24s %26s %18s" % (LABEL[tgt], fstat(rs), fstat(secs, 2)))
            for rn, r in sorted(rd.items()):
                if r.get("first_error") or r.get("loaded") != want:
                    self.checks.append("bulk load through %s, round %d: %s rows loaded, not %d%s"
                                       % (LABEL[tgt], rn, r.get("loaded"), want,
                                          "; " + r["first_error"][:200] if r.get("first_error") else ""))
        g, b, d = (summ.get(t, {}).get("rows_s") for t in ("pgiris", "pgbouncer", "postgres"))
        rb, rd_ = ratio(g, b), ratio(g, d)
        self.out("   ratios of rows/s: pgiris/pgbouncer %s  pgiris/direct %s" % (fratio(rb), fratio(rd_)))
        self.ratios.append(("bulk: COPY FROM", rb, rd_))
        summ["ratios"] = {"pgiris_pgbouncer": rb, "pgiris_direct": rd_}
        self.summary["bulk"] = summ

    # --- 7 ---------------------------------------------------------------------------
    def sqlite(self):
        cases = self.data.get("sqlite", {})
        self.out()
        self.out("7. the embedded default: SELECT abalance FROM pgbench_accounts WHERE aid = random(1, %s),"
                 % self.meta.get("param_SQLITE_ROWS"))
        self.out("   SQLite (WAL) file; pgbench -c %s -j 2 -T %s through pgiris (sqliteodbc, StepAPI=1, pool 20),"
                 % (self.meta.get("param_CLIENTS"), self.meta.get("param_SQLITE_T")))
        self.out("   and the floor: the same lookups in-process with the sqlite3 library, %s threads"
                 " (bench/sqlite_floor.c)" % self.meta.get("cores"))
        self.out("   %-40s %26s %9s %22s %7s" % ("", "lookups/s", "p50 ms", "p99 ms", "errors"))
        summ = {}
        floor = cases.get("floor", {})
        for mode in ("prepared", "each"):
            rd = floor.get("inproc-" + mode)
            if not rd:
                continue
            t = summarize(rd, "tps")
            summ["inproc-" + mode] = {"lookups_s": t, "first_errors": self.first_errors(rd)}
            self.out("   %-40s %26s" % (LABEL["inproc-" + mode], fstat(t)))
            if self.first_errors(rd):
                self.checks.append("SQLite floor (%s): %s" % (mode, self.first_errors(rd)[0][:200]))
        fl = summ.get("inproc-prepared", {}).get("lookups_s")
        for proto in ("simple", "extended", "prepared"):
            rd = cases.get(proto, {}).get("pgiris-sqlite")
            if not rd:
                continue
            tps, p50, p99 = summarize(rd, "tps"), summarize(rd, "p50_ms"), summarize(rd, "p99_ms")
            err, st = self.run_errors(rd), self.stalls(rd)
            r = ratio(tps, fl)
            summ[proto] = {"tps": tps, "p50_ms": p50, "p99_ms": p99, "errors": err, "zero_tps_seconds": st,
                           "ratio_to_floor": r, "first_errors": self.first_errors(rd)}
            self.out("   %-40s %26s %9s %22s %7d" % ("pgiris -> SQLite, -M " + proto, fstat(tps), fstat(p50, 3, False),
                                                    fstat(p99, 3), err))
            if err or st >= 2:
                self.checks.append("SQLite -M %s through pgiris: %d errors, %d s at 0 tps%s"
                                   % (proto, err, st, self.first_err_text(rd)))
        self.out("   pgiris / in-process floor (prepared once): " + "  ".join(
            "-M %s %s" % (p, fratio(summ.get(p, {}).get("ratio_to_floor"))) for p in ("simple", "extended", "prepared")))
        for p in ("simple", "prepared"):
            if p in summ:
                self.ratios.append(("SQLite -M %s (vs in-process)" % p, None, summ[p]["ratio_to_floor"]))
        self.summary["sqlite"] = summ

    # --- 8 ---------------------------------------------------------------------------
    def translate(self):
        cases = self.data.get("translate", {})
        if not cases:
            return
        self.out()
        allr = cases.get("all", {}).get("translator", {}).get(1, {})
        if allr.get("skipped"):
            self.out("8. SQL translation: skipped: %s" % allr["skipped"])
            return
        lines = [r.get("line", "") for _, r in sorted(cases.get("output", {}).get("translator", {}).items())]
        lines = [str(x) for x in lines]
        head = next((x for x in lines if "statements" in x), "")
        self.out("8. SQL translation: build/translate_bench --rounds %s: %s" % (self.meta.get("param_XLATE_ROUNDS"), head))
        self.out("   ns per statement, uncached (sql_translate + free) and cached (the worker's translation cache)")
        self.out("   %-9s %10s %10s %10s %10s %16s %14s" % ("dialect", "median", "p99", "mean", "rejected",
                                                           "cached median", "cached p99"))
        summ = {}
        unc = re.compile(r"^(\w+)\s+median\s+(\d+) ns\s+p99\s+(\d+) ns\s+mean\s+(\d+) ns.*?\((\d+) samples, (\d+) rejected")
        cac = re.compile(r"^(\w+)\s+cached: median\s+(\d+) ns\s+p99\s+(\d+) ns\s+mean\s+(\d+) ns")
        for x in lines:
            m = unc.match(x)
            if m:
                summ.setdefault(m.group(1), {}).update(
                    {"median_ns": int(m.group(2)), "p99_ns": int(m.group(3)), "mean_ns": int(m.group(4)),
                     "samples": int(m.group(5)), "rejected": int(m.group(6))})
            m = cac.match(x)
            if m:
                summ.setdefault(m.group(1), {}).update(
                    {"cached_median_ns": int(m.group(2)), "cached_p99_ns": int(m.group(3)),
                     "cached_mean_ns": int(m.group(4))})
        for d, r in summ.items():
            self.out("   %-9s %10s %10s %10s %10s %16s %14s" % (d, fnum(r.get("median_ns")), fnum(r.get("p99_ns")),
                                                              fnum(r.get("mean_ns")), r.get("rejected", "-"),
                                                              fnum(r.get("cached_median_ns")),
                                                              fnum(r.get("cached_p99_ns"))))
        if not summ or allr.get("first_error"):
            self.checks.append("SQL translation: %s" % (allr.get("first_error") or "no figures from build/translate_bench"))
        self.summary["translate"] = {"dialects": summ, "output": lines}

    # --- the end -----------------------------------------------------------------------
    def headline(self):
        self.out()
        self.out("HEADLINE RATIOS (pgiris / other; throughput, higher is better for pgiris)")
        self.out("   %-36s %18s %16s" % ("scenario", "pgiris/pgbouncer", "pgiris/direct"))
        for label, b, d in self.ratios:
            self.out("   %-36s %18s %16s" % (label, fratio(b), fratio(d)))
        for label, r in self.memory:
            self.out("   %-36s %18s %16s   (memory, lower is better)" % (label, fratio(r), "-"))
        for label, r in self.cpu:
            self.out("   %-36s %18s %16s   (pooler CPU per transaction, lower is better)"
                     % (label, fratio(r), "-"))
        self.out("   (SQLite rows: the 'direct' column is the in-process sqlite3 floor; 'psqlODBC alone' rows:")
        self.out("    the driver read in-process, no pooler, in place of pgiris)")

    def checks_section(self):
        self.out()
        if self.checks:
            self.out("CHECKS FAILED (%d):" % len(self.checks))
            for c in self.checks:
                self.out("   " + c)
        else:
            self.out("checks: all passed (no errors where there must be none, every result and load complete)")


def plot(rep, prefix, workdir):
    dat = os.path.join(workdir, "suite_ratios.dat")
    mem = os.path.join(workdir, "suite_memory.dat")

    def v(x):
        return "-" if x is None else "%.4f" % x

    with open(dat, "w") as f:
        for label, b, d in rep.ratios:
            f.write('"%s" %s %s\n' % (label.replace('"', "'"), v(b), v(d)))
    with open(mem, "w") as f:
        for label, r in rep.memory:
            f.write('"%s" %s\n' % (label, v(r)))
        if not rep.memory:
            f.write('"none" -\n')
    title = "pgiris / pgbouncer and pgiris / direct, median of %s rounds (%s, %s cores, commit %s)" % (
        rep.meta.get("param_ROUNDS"), rep.meta.get("date", "")[:10], rep.meta.get("cores"), rep.meta.get("commit"))
    gp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suite_plot.gp")
    cmd = ["gnuplot", "-e", "ratios='%s'; nr=%d; memory='%s'; nm=%d; out='%s'; maintitle='%s'" % (
        dat, len(rep.ratios), mem, max(1, len(rep.memory)), prefix + ".png", title.replace("'", "")), gp]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "gnuplot failed: %s" % e
    if r.returncode != 0:
        return "gnuplot failed: %s" % r.stderr.strip()[-500:]
    return None


def main():
    raw, meta_path, prefix, workdir = sys.argv[1:5]
    data, meta = load(raw, meta_path)
    rep = Report(data, meta)
    rep.header()
    rep.oltp()
    rep.churn()
    rep.many()
    rep.idle()
    rep.large()
    rep.bulk()
    rep.sqlite()
    rep.translate()
    rep.headline()
    err = plot(rep, prefix, workdir)
    if err:
        rep.checks.append(err)
    rep.checks_section()
    rep.out()
    rep.out("files: %s.txt, %s.json, %s.png" % (prefix, prefix, prefix))
    text = "\n".join(rep.lines) + "\n"
    with open(prefix + ".txt", "w") as f:
        f.write(text)
    rounds = {s: {c: {t: {str(r): v for r, v in sorted(rd.items())} for t, rd in cd.items()}
                  for c, cd in sd.items()} for s, sd in data.items()}
    doc = {
        "suite": "pgiris bench/suite.sh",
        "date": meta.get("date"),
        "commit": meta.get("commit"),
        "machine": {k: num(meta.get(k, "")) for k in ("cores", "cpu", "memory_kb", "kernel", "os", "loadavg_start",
                                                      "loadavg_end", "fd_limit")},
        "versions": {k: meta.get(k) for k in ("pgiris", "postgres", "pgbench", "pgbouncer", "psqlodbc", "sqlite",
                                               "sqliteodbc", "libpq")},
        "parameters": {k[6:]: num(v) for k, v in meta.items() if k.startswith("param_")},
        "use_declare_fetch": meta.get("use_declare_fetch"),
        "quick": meta.get("quick") not in (None, "", "0"),
        "duration_s": num(meta.get("duration_s", "0")),
        "headline_ratios": [{"scenario": l, "pgiris_pgbouncer": b, "pgiris_direct": d} for l, b, d in rep.ratios],
        "memory_ratios": [{"measure": l, "pgiris_pgbouncer": r} for l, r in rep.memory],
        "summary": rep.summary,
        "rounds": rounds,
        "checks_failed": rep.checks,
    }
    with open(prefix + ".json", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    sys.stdout.write(text)
    return 1 if rep.checks else 0


if __name__ == "__main__":
    sys.exit(main())
