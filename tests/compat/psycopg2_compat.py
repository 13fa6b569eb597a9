#!/usr/bin/python3
"""psycopg2 against pgiris.

psycopg2 sends every statement with the simple query protocol (it quotes
the parameters itself), and has no protocol-level prepare: its users
prepare with SQL PREPARE / EXECUTE, which is what prepared_reuse does.

Prints `ok NAME` or `FAIL NAME: reason` per check; exits 1 if any failed.
Settings come from the environment, see compat_common.py.
"""

import io
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402
import psycopg2.extensions  # noqa: E402

from compat_common import (  # noqa: E402
    COLUMNS, COPY_IN, COPY_ROWS, DBNAME, HOST, MODE, PASSWORD, PORT, SSLMODE, TYPE_NAMES,
    USER, VALUES, CheckFailed, Reporter, create_copy_sql, create_sql, expect, expect_true,
    long_query, oneline, table_name)

R = Reporter()
T = table_name("psycopg2")
COLS = ", ".join(c[0] for c in COLUMNS)


def connect(autocommit=True):
    conn = psycopg2.connect(host=HOST, port=PORT, dbname=DBNAME, user=USER, password=PASSWORD,
                            sslmode=SSLMODE, connect_timeout=10,
                            application_name="compat-psycopg2")
    conn.autocommit = autocommit
    return conn


def query(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def check_connect():
    conn = connect()
    try:
        expect(query(conn, "SELECT id, name FROM customers WHERE id = 3"),
               [(3, "Dmitri Almeida")], "customer 3")
    finally:
        conn.close()


def check_tls():
    conn = connect()
    try:
        expect_true(conn.info.ssl_in_use, "the connection is not encrypted")
        expect(query(conn, "SELECT id, name FROM customers WHERE id = 3"),
               [(3, "Dmitri Almeida")], "customer 3 over TLS")
    finally:
        conn.close()


def setup(conn):
    query(conn, "DROP TABLE IF EXISTS %s" % T)
    query(conn, "DROP TABLE IF EXISTS %s_c" % T)
    query(conn, create_sql(T))
    query(conn, create_copy_sql(T))


def compare_type(name, got):
    want = VALUES[name]
    if name == "numeric":
        expect_true(type(got).__name__ in ("Decimal", "float") and str(got) == str(want),
                    "got %r, expected %r" % (got, want))
    elif name == "bytea":
        expect_true(isinstance(got, memoryview), "got %r (%s), expected a memoryview" % (
            got, type(got).__name__))
        expect(bytes(got), want)
    else:
        expect(got, want)


def type_checks(conn):
    # psycopg2 quotes each value itself, some with a PostgreSQL cast
    # ('...'::bytea, '...'::timestamp): one UPDATE per column keeps the types
    # apart, so one that the backend refuses fails only its own check.
    problems = {}
    try:
        query(conn, "INSERT INTO %s (id) VALUES (%%s)" % T, (1,))
        for col, name in zip((c[0] for c in COLUMNS), TYPE_NAMES):
            value = psycopg2.Binary(VALUES[name]) if name == "bytea" else VALUES[name]
            sql = "UPDATE %s SET %s = %%s WHERE id = %%s" % (T, col)
            try:
                query(conn, sql, (value, 1))
            except psycopg2.Error as exc:
                with conn.cursor() as cur:
                    sent = cur.mogrify(sql, (value, 1)).decode()
                problems[name] = CheckFailed("%s (statement: %s)" % (oneline(exc), sent))
        full = query(conn, "SELECT id, %s FROM %s WHERE id = %%s" % (COLS, T), (1,))
        sql = "INSERT INTO %s (id, %s) VALUES (%s)" % (T, COLS, ", ".join(["%s"] * (len(COLUMNS) + 1)))
        query(conn, sql, [2] + [None] * len(COLUMNS))
        nulls = query(conn, "SELECT id, %s FROM %s WHERE id = %%s" % (COLS, T), (2,))
        problem = None
    except Exception as exc:
        problem = exc
    for i, name in enumerate(TYPE_NAMES):
        def one(i=i, name=name):
            if problem or name in problems:
                raise problem or problems[name]
            expect_true(len(full) == 1, "row 1: %r" % (full,))
            compare_type(name, full[0][i + 1])
        R.check("type_" + name, one)

    def check_nulls():
        if problem:
            raise problem
        expect(nulls, [(2,) + (None,) * len(COLUMNS)], "NULL row")
    R.check("nulls", check_nulls)


def check_rollback():
    conn = connect(autocommit=False)
    try:
        query(conn, "INSERT INTO %s (id, c_text) VALUES (%%s, %%s)" % T, (3, "rolled back"))
        expect(query(conn, "SELECT c_text FROM %s WHERE id = %%s" % T, (3,)),
               [("rolled back",)], "row inside the transaction")
        conn.rollback()
        expect(query(conn, "SELECT c_text FROM %s WHERE id = %%s" % T, (3,)), [],
               "row after ROLLBACK")
        conn.rollback()
    finally:
        conn.close()


def check_error(conn):
    try:
        query(conn, "INSERT INTO %s (id, c_text) VALUES (%%s, %%s)" % T, (1, "duplicate"))
    except psycopg2.Error as exc:
        expect(exc.pgcode, "23505", "SQLSTATE of a duplicate key")
        return
    raise CheckFailed("a duplicate key was accepted")


def check_error_recovery(conn):
    expect(query(conn, "SELECT id FROM %s WHERE id = %%s" % T, (1,)), [(1,)],
           "query after the error")


def check_prepared():
    conn = connect(autocommit=False)
    try:
        query(conn, "PREPARE compat_sel (integer) AS SELECT id, c_varchar FROM %s WHERE id = $1" % T)
        conn.commit()
        for i, want in ((1, "varchar value"), (1, "varchar value"), (2, None)):
            expect(query(conn, "EXECUTE compat_sel (%s)", (i,)), [(i, want)],
                   "EXECUTE compat_sel (%d)" % i)
            conn.commit()
        query(conn, "DEALLOCATE compat_sel")
        conn.commit()
    finally:
        conn.close()


def check_copy_in():
    conn = connect()
    try:
        query(conn, "DELETE FROM %s_c" % T)
        with conn.cursor() as cur:
            cur.copy_expert("COPY %s_c (id, t, n) FROM STDIN" % T, io.StringIO(COPY_IN))
            expect(cur.rowcount, len(COPY_ROWS), "rows reported by COPY")
        expect(query(conn, "SELECT id, t, n FROM %s_c ORDER BY id" % T), COPY_ROWS,
               "rows copied in")
    finally:
        conn.close()


def check_copy_out():
    conn = connect()
    try:
        query(conn, "DELETE FROM %s_c" % T)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO %s_c (id, t, n) VALUES (%%s, %%s, %%s)" % T, COPY_ROWS)
            out = io.StringIO()
            cur.copy_expert("COPY %s_c (id, t, n) TO STDOUT" % T, out)
        expect(sorted(out.getvalue().splitlines()), sorted(COPY_IN.splitlines()),
               "COPY TO STDOUT lines")
    finally:
        conn.close()


def check_cancel():
    conn = connect()
    timer = threading.Timer(0.5, conn.cancel)
    start = time.monotonic()
    timer.start()
    try:
        query(conn, long_query())
        raise CheckFailed("the long query finished without being cancelled")
    except psycopg2.Error as exc:
        expect(exc.pgcode, "57014", "SQLSTATE of the cancelled query (%s)" % str(exc).strip())
    finally:
        timer.cancel()
    elapsed = time.monotonic() - start
    expect_true(elapsed < 8, "cancelled only after %.1f s" % elapsed)
    expect(query(conn, "SELECT id FROM customers WHERE id = 3"), [(3,)],
           "query after the cancel")
    conn.close()


def check_cleanup():
    conn = connect()
    try:
        query(conn, "DROP TABLE %s" % T)
        query(conn, "DROP TABLE %s_c" % T)
    finally:
        conn.close()


def main():
    if MODE == "tls":
        R.check("tls", check_tls)
        R.exit()
    if not R.check("connect", check_connect):
        R.exit()
    conn = connect()
    R.check("setup", setup, conn)
    type_checks(conn)
    R.check("rollback", check_rollback)
    R.check("error_sqlstate", check_error, conn)
    R.check("error_recovery", check_error_recovery, conn)
    R.check("prepared_reuse", check_prepared)
    conn.close()
    R.check("copy_in", check_copy_in, timeout=10)
    R.check("copy_out", check_copy_out, timeout=10)
    R.check("cancel", check_cancel, timeout=10)
    R.check("cleanup", check_cleanup)
    R.exit()


if __name__ == "__main__":
    main()
