#!/usr/bin/python3
"""psycopg 3 against pgiris: text and binary parameters and results.

Prints `ok NAME` or `FAIL NAME: reason` per check; exits 1 if any failed.
Settings come from the environment, see compat_common.py.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg  # noqa: E402

from compat_common import (  # noqa: E402
    COLUMNS, COPY_IN, COPY_ROWS, DBNAME, HOST, MODE, PASSWORD, PORT, SSLMODE,
    TYPE_NAMES, USER, VALUES, CheckFailed, Reporter, create_copy_sql, create_sql,
    expect, expect_true, long_query, table_name)

R = Reporter()
T = table_name("psycopg")
COLS = ", ".join(c[0] for c in COLUMNS)


def connect(autocommit=True):
    return psycopg.connect(host=HOST, port=PORT, dbname=DBNAME, user=USER, password=PASSWORD,
                           sslmode=SSLMODE, connect_timeout=10, autocommit=autocommit,
                           application_name="compat-psycopg")


def check_connect():
    with connect() as conn:
        row = conn.execute("SELECT id, name FROM customers WHERE id = 3").fetchone()
        expect(row, (3, "Dmitri Almeida"), "customer 3")


def check_tls():
    with connect() as conn:
        expect_true(conn.pgconn.ssl_in_use, "the connection is not encrypted")
        row = conn.execute("SELECT id, name FROM customers WHERE id = 3").fetchone()
        expect(row, (3, "Dmitri Almeida"), "customer 3 over TLS")


def setup(conn):
    conn.execute("DROP TABLE IF EXISTS %s" % T)
    conn.execute("DROP TABLE IF EXISTS %s_c" % T)
    conn.execute(create_sql(T))
    conn.execute(create_copy_sql(T))


def compare_type(name, got):
    want = VALUES[name]
    if name == "numeric":
        # The SQLite backend has no exact numeric: accept any number whose
        # text is the same.
        expect_true(type(got).__name__ in ("Decimal", "float") and str(got) == str(want),
                    "got %r, expected %r" % (got, want))
    else:
        expect(got, want)


def insert_and_fetch(conn, binary, ids):
    ph = "%b" if binary else "%s"
    sql = "INSERT INTO %s (id, %s) VALUES (%s)" % (T, COLS, ", ".join([ph] * (len(COLUMNS) + 1)))
    with conn.cursor(binary=binary) as cur:
        cur.execute(sql, [ids[0]] + [VALUES[n] for n in TYPE_NAMES])
        cur.execute(sql, [ids[1]] + [None] * len(COLUMNS))
        cur.execute("SELECT id, %s FROM %s WHERE id = %s ORDER BY id" % (COLS, T, ph), (ids[0],))
        full = cur.fetchone()
        cur.execute("SELECT id, %s FROM %s WHERE id = %s" % (COLS, T, ph), (ids[1],))
        nulls = cur.fetchone()
    return full, nulls


def type_checks(conn, prefix, binary, ids):
    try:
        full, nulls = insert_and_fetch(conn, binary, ids)
        problem = None
    except Exception as exc:
        problem = exc
    for i, name in enumerate(TYPE_NAMES):
        def one(i=i, name=name):
            if problem:
                raise problem
            expect_true(full is not None, "row %d not found" % ids[0])
            compare_type(name, full[i + 1])
        R.check("%stype_%s" % (prefix, name), one)

    def check_nulls():
        if problem:
            raise problem
        expect_true(nulls is not None, "row %d not found" % ids[1])
        expect(tuple(nulls), (ids[1],) + (None,) * len(COLUMNS), "NULL row")
    R.check(prefix + "nulls", check_nulls)


def check_rollback():
    with connect(autocommit=False) as conn:
        conn.execute("INSERT INTO %s (id, c_text) VALUES (%%s, %%s)" % T, (3, "rolled back"))
        row = conn.execute("SELECT c_text FROM %s WHERE id = %%s" % T, (3,)).fetchone()
        expect(row, ("rolled back",), "row inside the transaction")
        conn.rollback()
        row = conn.execute("SELECT c_text FROM %s WHERE id = %%s" % T, (3,)).fetchone()
        expect(row, None, "row after ROLLBACK")
        conn.rollback()


def check_error(conn):
    try:
        conn.execute("INSERT INTO %s (id, c_text) VALUES (%%s, %%s)" % T, (1, "duplicate"))
    except psycopg.Error as exc:
        expect(exc.sqlstate, "23505", "SQLSTATE of a duplicate key")
        return
    raise CheckFailed("a duplicate key was accepted")


def check_error_recovery(conn):
    row = conn.execute("SELECT id FROM %s WHERE id = %%s" % T, (1,)).fetchone()
    expect(row, (1,), "query after the error")


def check_prepared():
    with connect(autocommit=False) as conn:
        sql = "SELECT id, c_varchar FROM %s WHERE id = %%s" % T
        for _ in range(2):
            row = conn.execute(sql, (1,), prepare=True).fetchone()
            expect(row, (1, "varchar value"), "prepared statement result")
            conn.commit()
        row = conn.execute(sql, (2,), prepare=True).fetchone()
        expect(row, (2, None), "prepared statement result")
        conn.commit()
        # psycopg's cache of prepared names (private; checked where it exists).
        names = getattr(getattr(conn, "_prepared", None), "_names", None)
        if names is not None:
            expect_true(len(names) >= 1, "psycopg did not prepare the statement")


def check_copy_in():
    with connect() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM %s_c" % T)
        with cur.copy("COPY %s_c (id, t, n) FROM STDIN" % T) as copy:
            copy.write(COPY_IN)
        rows = cur.execute("SELECT id, t, n FROM %s_c ORDER BY id" % T).fetchall()
    expect(rows, COPY_ROWS, "rows copied in")


def check_copy_out():
    with connect() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM %s_c" % T)
        cur.executemany("INSERT INTO %s_c (id, t, n) VALUES (%%s, %%s, %%s)" % T, COPY_ROWS)
        with cur.copy("COPY %s_c (id, t, n) TO STDOUT" % T) as copy:
            data = b"".join(bytes(chunk) for chunk in copy).decode()
    expect(sorted(data.splitlines()), sorted(COPY_IN.splitlines()), "COPY TO STDOUT lines")


def check_cleanup():
    with connect() as conn:
        conn.execute("DROP TABLE %s" % T)
        conn.execute("DROP TABLE %s_c" % T)


def check_cancel():
    conn = connect()
    timer = threading.Timer(0.5, conn.cancel)
    start = time.monotonic()
    timer.start()
    try:
        conn.execute(long_query()).fetchall()
        raise CheckFailed("the long query finished without being cancelled")
    except psycopg.Error as exc:
        expect(exc.sqlstate, "57014", "SQLSTATE of the cancelled query (%s)" % exc)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - start
    expect_true(elapsed < 8, "cancelled only after %.1f s" % elapsed)
    row = conn.execute("SELECT id FROM customers WHERE id = 3").fetchone()
    expect(row, (3,), "query after the cancel")
    conn.close()


def main():
    if MODE == "tls":
        R.check("tls", check_tls)
        R.exit()
    if not R.check("connect", check_connect):
        R.exit()
    conn = connect()
    R.check("setup", setup, conn)
    type_checks(conn, "", False, (1, 2))
    type_checks(conn, "binary_", True, (11, 12))
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
