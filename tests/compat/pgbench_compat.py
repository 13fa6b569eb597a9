#!/usr/bin/python3
"""pgbench against pgiris: the select-only benchmark in the three query modes.

pgbench -i does not run through pgiris on the SQLite backend (its DDL uses
storage parameters and multi-table DROP), so the tables are made first:
  pg    pgbench -i -s 1 straight against the PostgreSQL server
        (COMPAT_PG_HOST / COMPAT_PG_PORT, user postgres);
  demo  the same four tables and rows, created through pgiris.
Then `pgbench -n -S -M simple|extended|prepared -c 4 -j 2 -t 200` runs
through pgiris; every transaction must be processed and none may fail.
cleanup drops the four tables through pgiris.

Prints `ok NAME` or `FAIL NAME: reason` per check; exits 1 if any failed.
Settings come from the environment, see compat_common.py; COMPAT_PGBENCH is
the pgbench binary.
"""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg  # noqa: E402

from compat_common import (  # noqa: E402
    BACKEND, DBNAME, HOST, MODE, PASSWORD, PORT, SSLMODE, USER, CheckFailed, Reporter,
    expect, expect_true)

R = Reporter()
PGBENCH = os.environ.get("COMPAT_PGBENCH", "pgbench")
CLIENTS, THREADS, TRANSACTIONS = 4, 2, 200
ACCOUNTS = 100000


def pgiris_env(**extra):
    env = dict(os.environ)
    env.update(PGHOST=HOST, PGPORT=str(PORT), PGUSER=USER, PGPASSWORD=PASSWORD,
               PGDATABASE=DBNAME, PGSSLMODE=SSLMODE, PGAPPNAME="compat-pgbench")
    env.update(extra)
    return env


def run(argv, env, timeout=60):
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise CheckFailed("%s exited with %d: %s" % (
            " ".join(argv[:3]), proc.returncode, " | ".join(proc.stdout.strip().splitlines()[-6:])))
    return proc.stdout


def connect():
    return psycopg.connect(host=HOST, port=PORT, dbname=DBNAME, user=USER, password=PASSWORD,
                           sslmode=SSLMODE, autocommit=True, connect_timeout=10)


DEMO_TABLES = [
    ("pgbench_branches", "bid integer PRIMARY KEY, bbalance integer, filler char(88)"),
    ("pgbench_tellers", "tid integer PRIMARY KEY, bid integer, tbalance integer, filler char(84)"),
    ("pgbench_accounts", "aid integer PRIMARY KEY, bid integer, abalance integer, filler char(84)"),
    ("pgbench_history", "tid integer, bid integer, aid integer, delta integer, mtime timestamp, "
                        "filler char(22)"),
]


def init_demo():
    with connect() as conn:
        for name, cols in DEMO_TABLES:
            conn.execute("DROP TABLE IF EXISTS %s" % name)
            conn.execute("CREATE TABLE %s (%s)" % (name, cols))
        conn.execute("INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0)")
        conn.execute("INSERT INTO pgbench_tellers (tid, bid, tbalance) "
                     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) "
                     "SELECT i, 1, 0 FROM n")
        conn.execute("INSERT INTO pgbench_accounts (aid, bid, abalance, filler) "
                     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                     "SELECT i, 1, 0, '' FROM n" % ACCOUNTS)


def init_pg():
    env = dict(os.environ)
    env.update(PGHOST=os.environ.get("COMPAT_PG_HOST", "127.0.0.1"),
               PGPORT=os.environ["COMPAT_PG_PORT"], PGUSER="postgres", PGDATABASE="postgres",
               PGSSLMODE="disable")
    for var in ("PGPASSWORD", "PGAPPNAME"):
        env.pop(var, None)
    run([PGBENCH, "-i", "-q", "-s", "1"], env, timeout=120)


def check_init():
    if BACKEND == "pg":
        init_pg()
    else:
        init_demo()
    # Seen through pgiris: typed columns only (count(*) is untyped on SQLite).
    with connect() as conn:
        rows = conn.execute("SELECT aid FROM pgbench_accounts ORDER BY aid DESC LIMIT 1").fetchall()
        expect(rows, [(ACCOUNTS,)], "last pgbench_accounts row")
        rows = conn.execute("SELECT bid FROM pgbench_branches").fetchall()
        expect(rows, [(1,)], "pgbench_branches")


def parse_result(out, expected):
    m = re.search(r"number of transactions actually processed: (\d+)/(\d+)", out)
    expect_true(m, "no transaction count in pgbench's output: %r" % out[-800:])
    expect((int(m.group(1)), int(m.group(2))), (expected, expected), "transactions processed")
    m = re.search(r"number of failed transactions: (\d+)", out)
    expect_true(m, "no failed-transaction count in pgbench's output: %r" % out[-800:])
    expect(int(m.group(1)), 0, "failed transactions")


def check_mode(mode):
    out = run([PGBENCH, "-n", "-S", "-M", mode, "-c", str(CLIENTS), "-j", str(THREADS),
               "-t", str(TRANSACTIONS)], pgiris_env())
    parse_result(out, CLIENTS * TRANSACTIONS)


def check_cleanup():
    with connect() as conn:
        for name, _ in DEMO_TABLES:
            conn.execute("DROP TABLE %s" % name)


def check_tls():
    script = os.path.join(tempfile.mkdtemp(prefix="compat-pgbench-"), "select.sql")
    with open(script, "w") as f:
        f.write("\\set id random(1, 300)\nSELECT name FROM customers WHERE id = :id;\n")
    # sslmode=require: libpq refuses a connection the server does not encrypt.
    out = run([PGBENCH, "-n", "-M", "extended", "-f", script, "-c", "2", "-j", "1", "-t", "20"],
              pgiris_env())
    parse_result(out, 40)


def main():
    if MODE == "tls":
        R.check("tls", check_tls, timeout=60)
        R.exit()
    if R.check("init", check_init, timeout=120):
        for mode in ("simple", "extended", "prepared"):
            R.check(mode, check_mode, mode, timeout=60)
    R.check("cleanup", check_cleanup)
    R.exit()


if __name__ == "__main__":
    main()
