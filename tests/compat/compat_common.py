"""Shared by the Python compatibility programs (psycopg 3, psycopg2, psql,
pgbench): the connection settings from the environment, the reporter that
prints one `ok NAME` / `FAIL NAME: reason` line per check, and the expected
values every driver round-trips.

Environment (set by tests/integration/test_compat.py):
  COMPAT_HOST COMPAT_PORT COMPAT_DBNAME COMPAT_USER COMPAT_PASSWORD
  COMPAT_SSLMODE   disable | require
  COMPAT_BACKEND   demo (SQLite) | pg (PostgreSQL)
  COMPAT_MODE      full (every check) | tls (connect over TLS only)
"""

import datetime
import decimal
import os
import sys
import threading
import traceback


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        sys.stderr.write("missing environment variable %s\n" % name)
        sys.exit(2)
    return value


HOST = env("COMPAT_HOST", "127.0.0.1")
PORT = int(env("COMPAT_PORT", "6432"))
DBNAME = env("COMPAT_DBNAME", "demo")
USER = env("COMPAT_USER", "demo")
PASSWORD = env("COMPAT_PASSWORD", "demo")
SSLMODE = env("COMPAT_SSLMODE", "disable")
BACKEND = env("COMPAT_BACKEND", DBNAME)
MODE = env("COMPAT_MODE", "full")


def table_name(driver):
    return "compat_%s_%s_%d" % (driver, BACKEND, os.getpid())


# The typed table every driver creates.  Standard type names, which the
# SQLite backend also understands (its ODBC driver maps declared types).
COLUMNS = [
    ("c_int2", "smallint"),
    ("c_int4", "integer"),
    ("c_int8", "bigint"),
    ("c_float4", "real"),
    ("c_float8", "double precision"),
    ("c_numeric", "numeric(12,3)"),
    ("c_bool", "boolean"),
    ("c_text", "text"),
    ("c_varchar", "varchar(40)"),
    ("c_bytea", "bytea"),
    ("c_date", "date"),
    ("c_time", "time"),
    ("c_timestamp", "timestamp"),
    ("c_timestamptz", "timestamptz"),
]
TYPE_NAMES = [c[0][2:] for c in COLUMNS]  # int2, int4, ...


def create_sql(table):
    cols = ", ".join("%s %s" % c for c in COLUMNS)
    return "CREATE TABLE %s (id integer PRIMARY KEY, %s)" % (table, cols)


def create_copy_sql(table):
    return "CREATE TABLE %s_c (id integer PRIMARY KEY, t text, n integer)" % table


UTC = datetime.timezone.utc
TEXT_VALUE = "h\u00e9llo w\u00f6rld \u2713 it's \"q\" \\ end"
BYTEA_VALUE = b"\x00\x01\x7f\x80\xff\\'"
VALUES = {
    "int2": 32767,
    "int4": -2147483648,
    "int8": 9007199254740993,
    "float4": 1.5,
    "float8": 2.71828182845904,
    "numeric": decimal.Decimal("12345.678"),
    "bool": True,
    "text": TEXT_VALUE,
    "varchar": "varchar value",
    "bytea": BYTEA_VALUE,
    "date": datetime.date(2024, 2, 29),
    "time": datetime.time(13, 45, 30, 123456),
    "timestamp": datetime.datetime(2024, 2, 29, 13, 45, 30, 123456),
    "timestamptz": datetime.datetime(2024, 2, 29, 13, 45, 30, 123456, tzinfo=UTC),
}

# PostgreSQL's text output of the same values (TimeZone UTC).
TEXT_VALUES = {
    "int2": "32767",
    "int4": "-2147483648",
    "int8": "9007199254740993",
    "float4": "1.5",
    "float8": "2.71828182845904",
    "numeric": "12345.678",
    "bool": "t",
    "text": TEXT_VALUE,
    "varchar": "varchar value",
    "bytea": "\\x00017f80ff5c27",
    "date": "2024-02-29",
    "time": "13:45:30.123456",
    "timestamp": "2024-02-29 13:45:30.123456",
    "timestamptz": "2024-02-29 13:45:30.123456+00",
}

# COPY data: a NULL, an escaped backslash, and a tab inside a value.
COPY_IN = "1\tone\t10\n2\t\\N\t20\n3\tback\\\\slash\t\\N\n4\ttab\\there\t-4\n"
COPY_ROWS = [(1, "one", 10), (2, None, 20), (3, "back\\slash", None), (4, "tab\there", -4)]


def long_query():
    """A statement that runs for 20-30 seconds unless cancelled (SQLite: CPU-bound)."""
    if BACKEND == "pg":
        return "SELECT pg_sleep(30)"
    return ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 60000000) "
            "SELECT count(*) FROM c")


def oneline(exc):
    text = "%s: %s" % (type(exc).__name__, exc)
    return " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())


class CheckFailed(Exception):
    pass


def expect(actual, expected, what="value"):
    """Equal value and the same Python type (so 1 is not True, nor 1.0)."""
    if type(actual) is not type(expected) or actual != expected:
        raise CheckFailed("%s: got %r (%s), expected %r (%s)" % (
            what, actual, type(actual).__name__, expected, type(expected).__name__))


def expect_true(cond, message):
    if not cond:
        raise CheckFailed(message)


class Reporter:
    def __init__(self):
        self.failed = 0
        self.lock = threading.Lock()

    def ok(self, name):
        with self.lock:
            print("ok %s" % name, flush=True)

    def fail(self, name, reason):
        with self.lock:
            self.failed += 1
            print("FAIL %s: %s" % (name, reason), flush=True)

    def check(self, name, fn, *args, timeout=20):
        """Run fn(*args); report ok, or FAIL with the exception.

        The check runs in a thread: one that hangs (a COPY or a long query
        the server never answers) is reported after timeout seconds and left
        behind, so the checks after it still run.  A check that can hang
        must therefore use a connection of its own.
        """
        outcome = {}

        def run():
            try:
                fn(*args)
                outcome["ok"] = True
            except CheckFailed as exc:
                outcome["error"] = str(exc)
            except Exception as exc:  # any driver error fails the check
                if os.environ.get("COMPAT_TRACE"):
                    traceback.print_exc()
                outcome["error"] = oneline(exc)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            self.fail(name, "no answer within %d s" % timeout)
            return False
        if "ok" in outcome:
            self.ok(name)
            return True
        self.fail(name, outcome.get("error", "no outcome"))
        return False

    def exit(self):
        sys.stdout.flush()
        os._exit(1 if self.failed else 0)
