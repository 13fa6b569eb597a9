"""RSS of a pooler's processes per idle client (bench/suite.sh, idle clients).

Usage: idle_rss.py HOST PORT USER PASSWORD DBNAME WARMUP N PID...

Opens WARMUP connections first and keeps them (so one-time costs, code and
library pages touched by the first logins, pools and arenas the pooler grows
once, are not charged per client), reads the RSS of every PID, opens N more
connections, runs SELECT 1 on every 20th to prove they are usable, reads the
RSS again, and prints one JSON object:

  {"warmup": W, "clients": N, "seconds": S, "errors": E, "first_error": "...",
   "procs": [{"pid": P, "name": "...", "before_kb": B, "after_kb": A}, ...]}

A connection that fails is counted in errors (the first message is kept); the
figures are then per connection actually opened.
"""
import json
import os
import sys
import time

# psycopg 3.1 waits with select() by default, which fails on descriptors
# above 1023: thousands of connections need epoll.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_epoll")
import psycopg  # noqa: E402


def status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split()[1]
    except OSError:
        pass
    return "0"


def main():
    host, port, user, password, db, warmup, n = sys.argv[1:8]
    pids = [int(p) for p in sys.argv[8:]]
    warmup, n = int(warmup), int(n)
    errors, first_error = 0, ""

    def connect():
        nonlocal errors, first_error
        try:
            return psycopg.connect(host=host, port=int(port), user=user, password=password,
                                   dbname=db, autocommit=True, connect_timeout=30)
        except psycopg.Error as e:
            errors += 1
            first_error = first_error or str(e).strip()
            return None

    warm = [c for c in (connect() for _ in range(warmup)) if c]
    for c in warm[:: max(1, len(warm) // 10)]:
        c.execute("SELECT 1").fetchall()
    time.sleep(0.5)
    before = {p: int(status(p, "VmRSS")) for p in pids}
    t0 = time.monotonic()
    conns = [c for c in (connect() for _ in range(n)) if c]
    for c in conns[:: max(1, len(conns) // 20)]:
        c.execute("SELECT 1").fetchall()
    secs = time.monotonic() - t0
    time.sleep(0.5)
    procs = [{"pid": p, "name": status(p, "Name"), "before_kb": before[p],
              "after_kb": int(status(p, "VmRSS"))} for p in pids]
    print(json.dumps({"warmup": len(warm), "clients": len(conns), "seconds": round(secs, 2),
                      "errors": errors, "first_error": first_error, "procs": procs}))
    for c in warm + conns:
        c.close()


if __name__ == "__main__":
    main()
