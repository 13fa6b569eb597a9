"""COPY FROM STDIN and COPY TO STDOUT through pgiris, on both backends.

Text and CSV formats with their options (current and old syntax), data
split across CopyData messages at awkward places, the exact bytes COPY TO
produces, the "COPY n" tag, errors (bad rows, CopyFail, unsupported forms),
atomicity of a failed COPY, a large load, a COPY that stays open while
another client works, and COPY through the extended query protocol.

On SQLite ("demo") the columns are declared with PostgreSQL type names, as
the ODBC driver reports the declared types; where SQLite cannot store a
type exactly (NUMERIC keeps no scale, BOOLEAN is an integer, DATE text) the
expected values say what SQLite gives.  Binary data goes to a BLOB column
there: the driver reports a column declared BYTEA as varchar.
"""

import datetime
import os
import signal
import socket
import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest

import pgwire
from pgwire import message, parse_bind_execute

IDLE = psycopg.pq.TransactionStatus.IDLE
INTRANS = psycopg.pq.TransactionStatus.INTRANS
INERROR = psycopg.pq.TransactionStatus.INERROR


# -- helpers ------------------------------------------------------------------

def copy_in(conn, sql, chunks):
    """Run COPY ... FROM STDIN, writing each chunk as one CopyData; return rowcount."""
    cur = conn.cursor()
    with cur.copy(sql) as copy:
        for chunk in chunks:
            copy.write(chunk)
    return cur.rowcount


def copy_out(conn, sql):
    """Run COPY ... TO STDOUT; return (all the data, rowcount)."""
    cur = conn.cursor()
    with cur.copy(sql) as copy:
        data = b"".join(bytes(block) for block in copy)
    return data, cur.rowcount


def count(inst, backend, table):
    return inst.direct(backend, "SELECT count(*) FROM %s" % table)[0][0]


def with_deadline(conn, fn, timeout, what):
    """Run fn() in a thread; if it is still running after timeout seconds,
    shut conn's socket down (so the thread gets an error instead of hanging
    forever) and fail the test."""
    result = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as exc:  # handed to the test below
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        try:
            sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        except OSError:
            pass
        thread.join(10)
        pytest.fail("%s did not finish within %d s" % (what, timeout), pytrace=False)
    if "error" in result:
        raise result["error"]
    return result["value"], time.monotonic() - started


def bytea_type(backend):
    # The SQLite ODBC driver reports a column declared BYTEA as varchar; BLOB
    # is its binary type.
    return "BLOB" if backend == "demo" else "BYTEA"


# -- COPY FROM: text format -----------------------------------------------------

TYPED_COLUMNS = ("i INTEGER, b BIGINT, t TEXT, n NUMERIC(10,2), bo BOOLEAN, d DATE,"
                 " ts TIMESTAMP")

# Text-format data, cut into CopyData messages in the middle of escapes,
# of a multi-byte character, of \N and of a line.
TYPED_CHUNKS = [
    b"1\t9000000000\ta\\",
    b"tb\\nc\\\\d'\"\xc3",
    b"\xa9\xe2\x82\xac\t12.50\tt\t2024-01-02\t2024-01-02 03:04:05\n2\t-9000000000\t\t-0.01\tfalse"
    b"\t1999-12-31\t2000-02-29 23:59:59\n3\t\\",
    b"N\t\\N\t\\N\t\\N\t\\N\t\\N\n4\t0\ttrue\t0\ttrue\t2024-02-29\t2024-02-29 00:00:00\n",
    b"5\t-1\t\\",
    b"t\\r\\\\N\t99999999.99\tf\t0001-01-01\t1970-01-01 00:00:01",  # no final newline
]

TYPED_TEXTS = ["a\tb\nc\\d'\"é€", "", None, "true", "\t\r\\N"]


# NUMERIC comes back as Decimal from both; SQLite keeps a REAL or an
# INTEGER, so no scale: 12.5, not 12.50.
NUMERIC_TEXT = {
    "demo": ["12.5", "-0.01", None, "0", "99999999.99"],
    "pg": ["12.50", "-0.01", None, "0.00", "99999999.99"],
}


def typed_expected(backend):
    numerics = [None if n is None else Decimal(n) for n in NUMERIC_TEXT[backend]]
    return [
        (1, 9000000000, TYPED_TEXTS[0], numerics[0], True, datetime.date(2024, 1, 2),
         datetime.datetime(2024, 1, 2, 3, 4, 5)),
        (2, -9000000000, TYPED_TEXTS[1], numerics[1], False, datetime.date(1999, 12, 31),
         datetime.datetime(2000, 2, 29, 23, 59, 59)),
        (3, None, None, None, None, None, None),
        (4, 0, TYPED_TEXTS[3], numerics[3], True, datetime.date(2024, 2, 29),
         datetime.datetime(2024, 2, 29, 0, 0, 0)),
        (5, -1, TYPED_TEXTS[4], numerics[4], False, datetime.date(1, 1, 1),
         datetime.datetime(1970, 1, 1, 0, 0, 1)),
    ]


def test_copy_from_text_types(pgiris, backend, make_table):
    table = make_table(TYPED_COLUMNS)
    with pgiris.connect(backend) as conn:
        assert copy_in(conn, "COPY %s FROM STDIN" % table, TYPED_CHUNKS) == 5
        assert conn.info.transaction_status == IDLE
        rows = conn.execute("SELECT i, b, t, n, bo, d, ts FROM %s ORDER BY i" % table).fetchall()
    assert rows == typed_expected(backend)
    # Decimal equality ignores the scale: compare the digits too.
    assert [None if r[3] is None else str(r[3]) for r in rows] == NUMERIC_TEXT[backend]
    # The backend itself has the same values.
    direct = pgiris.direct(backend, "SELECT i, b, t, bo FROM %s ORDER BY i" % table)
    if backend == "demo":
        bools = [1, 0, None, 1, 0]
    else:
        bools = [True, False, None, True, False]
    assert direct == [(i + 1, r[1], TYPED_TEXTS[i], bools[i])
                      for i, r in enumerate(typed_expected(backend))]


@pytest.mark.parametrize("escape", [b"\\000", b"\\x00", b"\\0"])
def test_copy_from_nul_escape_is_refused(pgiris, backend, make_table, escape):
    """A NUL is no character of PostgreSQL's text: 22021, as PostgreSQL
    answers, and nothing stored (the driver once cut the value there and
    stored "ab" for ab\000cd)."""
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.errors.CharacterNotInRepertoire):
            copy_in(conn, "COPY %s FROM STDIN" % table, [b"1\tok\n2\tab" + escape + b"cd\n"])
    assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table) == [(0,)]


def test_copy_from_header_match_checks_the_names(pgiris, backend, make_table):
    """HEADER MATCH: a header naming the columns in another order is
    22P04, as PostgreSQL answers, not rows loaded into the wrong columns."""
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        assert copy_in(conn, "COPY %s (id, v) FROM STDIN (FORMAT csv, HEADER MATCH)" % table,
                       [b"id,v\n1,a\n"]) == 1
        with pytest.raises(psycopg.errors.BadCopyFileFormat, match="header"):
            copy_in(conn, "COPY %s (id, v) FROM STDIN (FORMAT csv, HEADER MATCH)" % table, [b"v,id\n2,b\n"])
    assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table) == [(1,)]


@pytest.mark.parametrize("backend", ["pg"])
def test_copy_from_into_an_always_identity_column(pgiris, backend, make_table):
    """PostgreSQL's COPY writes a GENERATED ALWAYS identity column from the
    data (pg_dump's output of such a table loads); an INSERT needs
    OVERRIDING SYSTEM VALUE for it."""
    table = make_table("id INTEGER GENERATED ALWAYS AS IDENTITY, v TEXT")
    with pgiris.connect(backend) as conn:
        assert copy_in(conn, "COPY %s FROM STDIN" % table, [b"10\tx\n11\ty\n"]) == 2
    assert pgiris.direct(backend, "SELECT id, v FROM %s ORDER BY id" % table) == [(10, "x"), (11, "y")]


def test_copy_from_write_row(pgiris, backend, make_table):
    table = make_table(TYPED_COLUMNS)
    rows = [
        (1, 2 ** 40, "tab\there\nnewline \\ back 'q' \"dq\" ünï", Decimal("3.25"), True,
         datetime.date(2023, 12, 31), datetime.datetime(2023, 12, 31, 23, 59, 58)),
        (2, None, None, None, False, None, None),
        (3, -5, "\\N", Decimal("-7.00"), None, datetime.date(2000, 1, 1),
         datetime.datetime(2000, 1, 1, 12, 0, 0)),
    ]
    with pgiris.connect(backend) as conn:
        cur = conn.cursor()
        with cur.copy("COPY %s FROM STDIN" % table) as copy:
            for row in rows:
                copy.write_row(row)
        assert cur.rowcount == 3
        got = conn.execute("SELECT i, b, t, n, bo, d, ts FROM %s ORDER BY i" % table).fetchall()
    assert got == rows
    assert [None if r[3] is None else str(r[3]) for r in got] == (
        ["3.25", None, "-7"] if backend == "demo" else ["3.25", None, "-7.00"])


def test_copy_from_column_list(pgiris, backend, make_table):
    table = make_table("id INTEGER, a TEXT, b TEXT, c INTEGER")
    with pgiris.connect(backend) as conn:
        assert copy_in(conn, "COPY %s (c, id, a) FROM STDIN" % table,
                       [b"7\t1\tone\n\\N\t2\ttwo\n"]) == 2
        rows = conn.execute("SELECT id, a, b, c FROM %s ORDER BY id" % table).fetchall()
    assert rows == [(1, "one", None, 7), (2, "two", None, None)]


# Values that only the server's own input functions read right: special
# values, BC dates, a year past 9999, offsets in every form, fractions.
DATETIME_DATA = (
    b"1\tinfinity\tinfinity\tinfinity\t24:00:00\n"
    b"2\t-infinity\t-infinity\t-infinity\t00:00:00.000001\n"
    b"3\t2000-01-01 12:00:00 BC\t2000-01-01 12:00:00+05 BC\t0044-03-15 BC\t23:59:59.999999\n"
    b"4\t2024-06-01 12:00:00.5\t2024-06-01 12:00:00.5-07\t2024-02-29\t12:34:56.789\n"
    b"5\tepoch\t2024-01-01 00:00:00+05:30\t10000-01-01\tallballs\n"
    b"6\t2024-01-01T10:11:12\t2024-01-01 10:11:12 America/New_York\tJanuary 8, 1999\t04:05 PM\n"
)


@pytest.mark.parametrize("backend", ["pg"])
def test_copy_from_date_time_values_as_the_server_reads_them(pgiris, backend, make_table):
    """The same data COPYed through pgiris and straight into PostgreSQL
    gives the same values: the driver's own date/time parsing must not
    come between (it dropped every time zone offset and refused infinity)."""
    columns = "id INTEGER, a TIMESTAMP, b TIMESTAMPTZ, c DATE, d TIME"
    table, twin = make_table(columns), make_table(columns)
    with pgiris.connect(backend) as conn:
        assert copy_in(conn, "COPY %s FROM STDIN" % table, [DATETIME_DATA]) == 6
    with pgiris.postgres.connect() as conn:
        assert copy_in(conn, "COPY %s FROM STDIN" % twin, [DATETIME_DATA]) == 6
    query = "SELECT id, a::text, extract(epoch FROM b)::text, c::text, d::text FROM %s ORDER BY id"
    got = pgiris.direct(backend, query % table)
    assert got == pgiris.direct(backend, query % twin)
    assert got[0][1:] == ("infinity", "Infinity", "infinity", "24:00:00")
    assert got[3][2] == "1717268400.500000"


def test_copy_from_bytea(pgiris, backend, make_table):
    # Values of different lengths, the longest not first, and an empty one.
    table = make_table("id INTEGER, v %s" % bytea_type(backend))
    values = [b"\x00\x05", b"\x01\x02\x03\x04", b"\x07", b"", b"\n\x0b", b"\xff" * 300]
    with pgiris.connect(backend) as conn:
        cur = conn.cursor()
        with cur.copy("COPY %s FROM STDIN" % table) as copy:
            copy.write("1\t\\\\x0005\n2\t\\\\x01020304\n3\t\\\\x07\n4\t\\\\x\n")
            copy.write_row((5, b"\n\x0b"))
            copy.write_row((6, b"\xff" * 300))
            copy.write("7\t\\N\n")
        assert cur.rowcount == 7
        got = conn.execute("SELECT id, v FROM %s ORDER BY id" % table).fetchall()
    assert got == [(i + 1, v) for i, v in enumerate(values)] + [(7, None)]
    assert pgiris.direct(backend, "SELECT id, v FROM %s ORDER BY id" % table) == got


def test_copy_from_empty_and_end_marker(pgiris, backend, make_table):
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        assert copy_in(conn, "COPY %s FROM STDIN" % table, []) == 0
        # Whatever follows the end-of-data marker is ignored.
        assert copy_in(conn, "COPY %s FROM STDIN" % table,
                       [b"1\ta\n2\tb\n\\.\n3\tnot loaded\n"]) == 2
        assert conn.info.transaction_status == IDLE
    assert pgiris.direct(backend, "SELECT id, v FROM %s ORDER BY id" % table) == [
        (1, "a"), (2, "b")]


def test_copy_from_rows_of_empty_values(pgiris, backend, make_table):
    """A batch whose every value is the empty string has no value bytes at all (the
    executor once copied from a buffer it never allocated: undefined behaviour that
    UndefinedBehaviorSanitizer stops the process for)."""
    table = make_table("b TEXT")
    with pgiris.connect(backend) as conn:
        assert copy_in(conn, "COPY %s FROM STDIN" % table, [b"\n\n"]) == 2
    assert pgiris.direct(backend, "SELECT b FROM %s" % table) == [("",), ("",)]


# -- COPY FROM: CSV and the options --------------------------------------------

# (statement, data, rows) -- the rows PostgreSQL itself loads from that data.
FROM_CASES = [
    ("csv", "COPY {t} FROM STDIN WITH (FORMAT csv)",
     ['1,plain\n2,"with, comma"\n3,"quote ""q"""\n4,\n5,""\n6,"multi\nline"\n'],
     [(1, "plain"), (2, "with, comma"), (3, 'quote "q"'), (4, None), (5, ""),
      (6, "multi\nline")]),
    ("csv-split", "COPY {t} FROM STDIN WITH (FORMAT csv)",
     ['1,"a', 'b""', 'c"\n2', ',"x\n', 'y"\n3,'],
     [(1, 'ab"c'), (2, "x\ny"), (3, None)]),
    ("header", "COPY {t} FROM STDIN WITH (FORMAT csv, HEADER)",
     ["id,v\n1,a\n2,b\n"],
     [(1, "a"), (2, "b")]),
    ("delimiter-null",
     "COPY {t} FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'x')",
     ['id;v\n1;x\n2;"x"\n3;\n4;"a;b"\n'],
     [(1, None), (2, "x"), (3, ""), (4, "a;b")]),
    ("quote-escape", "COPY {t} FROM STDIN WITH (FORMAT csv, QUOTE '''', ESCAPE '\\')",
     ["1,'it\\'s'\n2,'a,b'\n3,''\n"],
     [(1, "it's"), (2, "a,b"), (3, "")]),
    ("force-not-null", "COPY {t} FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (v))",
     ['1,\n2,""\n'],
     [(1, ""), (2, "")]),
    ("force-null", "COPY {t} FROM STDIN WITH (FORMAT csv, FORCE_NULL (v))",
     ['1,\n2,""\n3,"z"\n'],
     [(1, None), (2, None), (3, "z")]),
    ("old-csv-header", "COPY {t} FROM STDIN CSV HEADER",
     ["id,v\n1,old\n"],
     [(1, "old")]),
    ("old-delimiter-csv", "COPY {t} FROM STDIN DELIMITER ',' CSV",
     ['1,"o,d"\n'],
     [(1, "o,d")]),
    ("text-delimiter-columns", "COPY {t} (v, id) FROM STDIN DELIMITER '|'",
     ["a|1\n\\N|2\n"],
     [(1, "a"), (2, None)]),
    ("text-null", "COPY {t} FROM STDIN NULL 'NIL'",
     ["1\tNIL\n2\t\\N\n"],
     [(1, None), (2, "N")]),
    ("text-options", "COPY {t} FROM STDIN WITH (FORMAT text, DELIMITER ',', NULL '')",
     ["1,\n2,x\\,y\n"],
     [(1, None), (2, "x,y")]),
]


@pytest.mark.parametrize("case", FROM_CASES, ids=[c[0] for c in FROM_CASES])
def test_copy_from_options(pgiris, backend, make_table, case):
    _, sql, chunks, expected = case
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        assert copy_in(conn, sql.format(t=table), chunks) == len(expected)
    assert pgiris.direct(backend, "SELECT id, v FROM %s ORDER BY id" % table) == expected


# -- COPY TO --------------------------------------------------------------------

OUT_ROWS = [(1, "plain"), (2, None), (3, ""),
            (4, 'tab\there "q" nl\nx back\\slash ,comma é'), (5, "\\.")]


@pytest.fixture
def out_table(pgiris, backend, make_table):
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO %s VALUES (%%s, %%s)" % table, OUT_ROWS)
    return table


TEXT_VALUE = b'tab\\there "q" nl\\nx back\\\\slash ,comma \xc3\xa9'
CSV_VALUE = b'"tab\there ""q"" nl\nx back\\slash ,comma \xc3\xa9"'

# (statement, the exact bytes PostgreSQL sends, rows)
TO_CASES = [
    ("text", "COPY {t} TO STDOUT",
     b"1\tplain\n2\t\\N\n3\t\n4\t" + TEXT_VALUE + b"\n5\t\\\\.\n", 5),
    ("csv-header-columns", "COPY {t} (v, id) TO STDOUT WITH (FORMAT csv, HEADER)",
     b'v,id\nplain,1\n,2\n"",3\n' + CSV_VALUE + b",4\n\\.,5\n", 5),
    ("csv-force-quote", "COPY {t} TO STDOUT WITH (FORMAT csv, FORCE_QUOTE (v))",
     b'1,"plain"\n2,\n3,""\n4,' + CSV_VALUE + b'\n5,"\\."\n', 5),
    ("csv-force-quote-all",
     "COPY {t} TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *, NULL 'NULL', DELIMITER ';')",
     b'"1";"plain"\n"2";NULL\n"3";""\n"4";' + CSV_VALUE + b'\n"5";"\\."\n', 5),
    ("old-csv-header", "COPY {t} TO STDOUT CSV HEADER",
     b'id,v\n1,plain\n2,\n3,""\n4,' + CSV_VALUE + b"\n5,\\.\n", 5),
    ("old-text-options", "COPY {t} TO STDOUT WITH NULL AS 'nil' DELIMITER '|'",
     b"1|plain\n2|nil\n3|\n4|" + TEXT_VALUE + b"\n5|\\\\.\n", 5),
    ("query", "COPY (SELECT id, v FROM {t} WHERE id > 2 ORDER BY id DESC) TO STDOUT",
     b"5\t\\\\.\n4\t" + TEXT_VALUE + b"\n3\t\n", 3),
    ("query-csv-header",
     "COPY (SELECT id * 2 AS dbl, v FROM {t} ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)",
     b'dbl,v\n2,plain\n4,\n6,""\n8,' + CSV_VALUE + b"\n10,\\.\n", 5),
    ("query-no-rows", "COPY (SELECT id, v FROM {t} WHERE id > 100) TO STDOUT",
     b"", 0),
]


@pytest.mark.parametrize("case", TO_CASES, ids=[c[0] for c in TO_CASES])
def test_copy_to_exact_bytes(pgiris, backend, out_table, case):
    _, sql, expected, rows = case
    with pgiris.connect(backend) as conn:
        data, rowcount = copy_out(conn, sql.format(t=out_table))
        assert data == expected
        assert rowcount == rows
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'after'").fetchone() == ("after",)


def test_copy_to_csv_escape_is_quoted_like_postgres(pgiris, backend, out_table):
    # PostgreSQL quotes a CSV value for the delimiter, the quote character,
    # CR and LF -- not for the escape character alone: "\." stays unquoted.
    with pgiris.connect(backend) as conn:
        data, rowcount = copy_out(
            conn, "COPY %s TO STDOUT (FORMAT csv, QUOTE '''', ESCAPE '\\')" % out_table)
    assert data == (b"1,plain\n2,\n3,''\n4,'tab\there \"q\" nl\nx back\\\\slash ,comma \xc3\xa9'\n"
                    b"5,\\.\n")
    assert rowcount == 5


def test_copy_to_typed_columns(pgiris, backend, make_table):
    table = make_table(TYPED_COLUMNS)
    with pgiris.connect(backend) as conn:
        assert copy_in(conn, "COPY %s FROM STDIN" % table, TYPED_CHUNKS) == 5
        data, rowcount = copy_out(conn, "COPY (SELECT i, b, n, bo, d, ts FROM %s ORDER BY i)"
                                        " TO STDOUT" % table)
    assert rowcount == 5
    numerics = [b"\\N" if n is None else n.encode() for n in NUMERIC_TEXT[backend]]
    assert data.split(b"\n") == [
        b"1\t9000000000\t" + numerics[0] + b"\tt\t2024-01-02\t2024-01-02 03:04:05",
        b"2\t-9000000000\t" + numerics[1] + b"\tf\t1999-12-31\t2000-02-29 23:59:59",
        b"3\t\\N\t\\N\t\\N\t\\N\t\\N",
        b"4\t0\t" + numerics[3] + b"\tt\t2024-02-29\t2024-02-29 00:00:00",
        b"5\t-1\t" + numerics[4] + b"\tf\t0001-01-01\t1970-01-01 00:00:01",
        b"",
    ]


def test_copy_round_trip(pgiris, backend, make_table):
    # What COPY TO writes, COPY FROM reads back unchanged, in both formats.
    src = make_table("id INTEGER, v TEXT")
    text_copy = make_table("id INTEGER, v TEXT")
    csv_copy = make_table("id INTEGER, v TEXT")
    values = [(i, None if i % 7 == 0 else "v%d\t\\ \"%s\"\n,;'" % (i, "é" * (i % 3)))
              for i in range(1, 60)]
    with pgiris.connect(backend) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO %s VALUES (%%s, %%s)" % src, values)
        text, _ = copy_out(conn, "COPY %s TO STDOUT" % src)
        csv, _ = copy_out(conn, "COPY %s TO STDOUT (FORMAT csv, HEADER)" % src)
        # Cut the data into 13-byte messages, wherever that falls.
        assert copy_in(conn, "COPY %s FROM STDIN" % text_copy,
                       [text[i:i + 13] for i in range(0, len(text), 13)]) == 59
        assert copy_in(conn, "COPY %s FROM STDIN (FORMAT csv, HEADER)" % csv_copy,
                       [csv[i:i + 13] for i in range(0, len(csv), 13)]) == 59
    for table in (text_copy, csv_copy):
        assert pgiris.direct(backend, "SELECT id, v FROM %s ORDER BY id" % table) == values


# -- errors ---------------------------------------------------------------------

@pytest.mark.parametrize("data, message, context", [
    (b"1\ta\n2\tb\n3\tc\td\n4\tx\n", "extra data after last expected column",
     'COPY {t}, line 3: "3\tc\td"'),
    (b"1\ta\n2\tb\n3\n4\tx\n", 'missing data for column "v"',
     'COPY {t}, line 3: "3"'),
], ids=["extra-column", "missing-column"])
def test_copy_wrong_number_of_columns(pgiris, backend, make_table, data, message, context):
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.errors.BadCopyFileFormat) as info:
            copy_in(conn, "COPY %s FROM STDIN" % table, [data])
        assert info.value.sqlstate == "22P04"
        assert info.value.diag.message_primary == message
        assert info.value.diag.context == context.format(t=table)
        # Atomic outside a transaction: not even the good rows 1 and 2.
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'still works'").fetchone() == ("still works",)
    assert count(pgiris, backend, table) == 0


def test_copy_bad_value(pgiris, backend, make_table):
    # PostgreSQL refuses "xx" for an integer; SQLite only in a STRICT table.
    if backend == "demo":
        table = make_table("id INTEGER, v TEXT", suffix=" STRICT")
    else:
        table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.Error) as info:
            copy_in(conn, "COPY %s FROM STDIN" % table, [b"1\ta\n2\tb\nxx\tc\n4\td\n"])
        err = info.value
        assert err.sqlstate is not None and err.sqlstate.startswith("22"), (
            "expected a data exception (class 22), got %s: %s" % (err.sqlstate, err))
        if backend == "pg":
            assert err.sqlstate == "22P02"
            assert err.diag.message_primary == 'invalid input syntax for type integer: "xx"'
        # The CONTEXT, when pgiris gives one, names the bad line.
        context = err.diag.context
        if backend == "pg" or context is not None:
            assert context is not None and context.startswith("COPY %s, line 3" % table), context
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'ok'").fetchone() == ("ok",)
    assert count(pgiris, backend, table) == 0


def test_copy_error_in_a_later_batch_keeps_nothing(pgiris, backend, make_table):
    # Rows go to the backend in batches; an error after the first batches
    # still leaves none of them behind.
    table = make_table("id INTEGER PRIMARY KEY, v TEXT")
    good = b"".join(b"%d\tr%d\n" % (i, i) for i in range(1, 2501))
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.errors.BadCopyFileFormat) as info:
            copy_in(conn, "COPY %s FROM STDIN" % table, [good, b"2501\ta\tb\n2502\tc\n"])
        assert info.value.diag.context == 'COPY %s, line 2501: "2501\ta\tb"' % table
        assert conn.info.transaction_status == IDLE
        assert count(pgiris, backend, table) == 0

        with pytest.raises(psycopg.errors.UniqueViolation):
            copy_in(conn, "COPY %s FROM STDIN" % table, [good, b"2501\tx\n17\tdup\n2503\ty\n"])
        assert conn.info.transaction_status == IDLE
        assert count(pgiris, backend, table) == 0

        # The same rows without the bad one load.
        assert copy_in(conn, "COPY %s FROM STDIN" % table, [good]) == 2500
    assert pgiris.direct(backend, "SELECT count(*), sum(id) FROM %s" % table) == [
        (2500, 2500 * 2501 // 2)]


def test_copy_error_inside_transaction(pgiris, backend, make_table):
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO %s VALUES (100, 'before')" % table)
        with pytest.raises(psycopg.errors.BadCopyFileFormat):
            copy_in(conn, "COPY %s FROM STDIN" % table, [b"1\ta\n2\tb\n3\n"])
        assert conn.info.transaction_status == INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.execute("ROLLBACK")
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'fine'").fetchone() == ("fine",)
    assert count(pgiris, backend, table) == 0


def test_copy_error_inside_transaction_names_its_line(pgiris, backend, make_table):
    # In the client's transaction a failed batch is taken back to a
    # savepoint of pgiris's before its rows run again for the line; the
    # client's own savepoint still works after it, even one that has the
    # name pgiris's once had.
    table = make_table("id INTEGER, v TEXT", suffix=" STRICT" if backend == "demo" else "")
    good = b"".join(b"%d\tr%d\n" % (i, i) for i in range(1, 1502))
    with pgiris.connect(backend) as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO %s VALUES (100, 'before')" % table)
        conn.execute("SAVEPOINT pgiris_copy")
        with pytest.raises(psycopg.Error) as info:
            copy_in(conn, "COPY %s FROM STDIN" % table, [good, b"xx\tbad\n1503\tlast\n"])
        assert info.value.sqlstate.startswith("22"), info.value
        assert info.value.diag.context.startswith("COPY %s, line 1502" % table), info.value.diag.context
        assert conn.info.transaction_status == INERROR
        conn.execute("ROLLBACK TO SAVEPOINT pgiris_copy")
        assert conn.execute("SELECT count(*) FROM %s" % table).fetchone()[0] in (1, "1")
        conn.execute("COMMIT")
    assert pgiris.direct(backend, "SELECT id, v FROM %s ORDER BY id" % table) == [(100, "before")]


def test_copy_inside_transaction_follows_it(pgiris, backend, make_table):
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend, autocommit=False) as conn:
        conn.execute("INSERT INTO %s VALUES (100, 'before')" % table)
        assert copy_in(conn, "COPY %s FROM STDIN" % table, [b"1\ta\n2\tb\n"]) == 2
        assert conn.info.transaction_status == INTRANS
        ids = [r[0] for r in conn.execute("SELECT id FROM %s ORDER BY id" % table)]
        assert ids == [1, 2, 100]
        conn.rollback()
        assert count(pgiris, backend, table) == 0

        assert copy_in(conn, "COPY %s FROM STDIN" % table, [b"3\tc\n"]) == 1
        conn.execute("INSERT INTO %s VALUES (101, 'after')" % table)
        conn.commit()
    assert pgiris.direct(backend, "SELECT id, v FROM %s ORDER BY id" % table) == [
        (3, "c"), (101, "after")]


def test_copy_fail_from_client(pgiris, backend, make_table):
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled) as info:
            cur = conn.cursor()
            with cur.copy("COPY %s FROM STDIN" % table) as copy:
                copy.write(b"".join(b"%d\tx\n" % i for i in range(1, 1500)))
                copy.write(b"1500\tpartial")
                raise ValueError("boom")
        assert info.value.sqlstate == "57014"
        assert str(info.value) == "COPY from stdin failed: error from Python: ValueError - boom"
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'next'").fetchone() == ("next",)
    assert count(pgiris, backend, table) == 0


@pytest.mark.parametrize("sql, sqlstate", [
    ("COPY {t} FROM '/tmp/x'", "0A000"),
    ("COPY {t} TO '/tmp/x'", "0A000"),
    ("COPY {t} TO PROGRAM 'ls'", "0A000"),
    ("COPY {t} FROM PROGRAM 'ls'", "0A000"),
    ("COPY {t} FROM STDIN (FORMAT binary)", "0A000"),
    ("COPY {t} TO STDOUT (FORMAT binary)", "0A000"),
    ("COPY {t} FROM STDIN BINARY", "0A000"),
    ("COPY {t} FROM STDIN (BOGUS 1)", "42601"),
    ("COPY {t} FROM STDIN (FORMAT csv, FORMAT text)", "42601"),
    ("COPY {t} FROM STDIN (FORMAT xml)", "22023"),
    ("COPY {t} (id, id) FROM STDIN", "42701"),
    ("COPY {t} FROM STDIN (FORMAT csv, FORCE_NULL (nope))", "42P10"),
    ("COPY {t} FROM STDIN (QUOTE '''')", "0A000"),
    ("COPY {t} FROM STDIN WITH (FORMAT csv, DELIMITER ',', QUOTE ',')", "22023"),
])
def test_copy_refused(pgiris, backend, make_table, sql, sqlstate):
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.Error) as info:
            cur = conn.cursor()
            with cur.copy(sql.format(t=table)) as copy:
                copy.write(b"1\ta\n")
        assert info.value.sqlstate == sqlstate, str(info.value)
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'usable'").fetchone() == ("usable",)
    assert count(pgiris, backend, table) == 0


def test_copy_missing_table_and_column(pgiris, backend, make_table):
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable):
            copy_in(conn, "COPY no_such_table_xyz FROM STDIN", [b"1\n"])
        with pytest.raises(psycopg.errors.UndefinedColumn):
            copy_in(conn, "COPY %s (id, nope) FROM STDIN" % table, [b"1\t2\n"])
        with pytest.raises(psycopg.errors.UndefinedTable):
            copy_out(conn, "COPY no_such_table_xyz TO STDOUT")
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'usable'").fetchone() == ("usable",)


# -- volume and concurrency -------------------------------------------------------

LARGE_ROWS = 200_000


def test_copy_large(pgiris_factory, backend):
    # A private instance: if the load hangs, the test kills it rather than
    # leave a backend transaction open under the other tests.
    inst = pgiris_factory()
    table = "cp_large_%s" % uuid.uuid4().hex[:8]
    with inst.connect(backend) as conn:
        conn.execute("CREATE TABLE %s (id INTEGER, name TEXT, amount BIGINT)" % table)
    # About 40 bytes a row, sent in 64 kB messages.
    data = "".join("%d\tname-%012d-abcdefgh\t%d\n" % (i, i, i * 7)
                   for i in range(1, LARGE_ROWS + 1)).encode()
    assert 35 * LARGE_ROWS < len(data) < 50 * LARGE_ROWS
    conn = inst.connect(backend)
    try:
        rowcount, _ = with_deadline(
            conn, lambda: copy_in(conn, "COPY %s FROM STDIN" % table,
                                  [data[i:i + 65536] for i in range(0, len(data), 65536)]),
            25, "COPY FROM STDIN of %d rows" % LARGE_ROWS)
        assert rowcount == LARGE_ROWS
        assert inst.direct(backend, "SELECT count(*), sum(id), sum(amount) FROM %s" % table) == [
            (LARGE_ROWS, LARGE_ROWS * (LARGE_ROWS + 1) // 2,
             7 * LARGE_ROWS * (LARGE_ROWS + 1) // 2)]

        def read_all():
            cur = conn.cursor()
            lines, size = 0, 0
            with cur.copy("COPY %s TO STDOUT" % table) as copy:
                for block in copy:
                    lines += bytes(block).count(b"\n")
                    size += len(block)
            return lines, size, cur.rowcount

        result, _ = with_deadline(conn, read_all, 20, "COPY TO STDOUT of %d rows" % LARGE_ROWS)
        assert result == (LARGE_ROWS, len(data), LARGE_ROWS)
    except BaseException:
        # Whatever pgiris still holds goes with it.
        inst.stop(sig=signal.SIGKILL)
        raise
    finally:
        conn.close()
        if backend == "pg":
            with inst.postgres.connect() as direct:
                direct.execute("DROP TABLE %s" % table)
        else:
            inst.direct(backend, "DROP TABLE %s" % table)


def test_other_client_works_during_copy(pgiris, backend, make_table):
    loading = make_table("id INTEGER, v TEXT")
    other = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as a, pgiris.connect(backend) as b:
        cur = a.cursor()
        with cur.copy("COPY %s FROM STDIN" % loading) as copy:
            copy.write(b"".join(b"%d\trow\n" % i for i in range(1, 1501)))
            # The COPY is open; another client is not held up by it.
            for i in range(5):
                if backend == "pg":
                    (_, took) = with_deadline(
                        b, lambda: b.execute("INSERT INTO %s VALUES (%d, 'b')" % (other, i)),
                        5, "an INSERT from another client")
                    assert took < 2
                rows, took = with_deadline(
                    b, lambda: b.execute("SELECT count(*) FROM %s" % other).fetchall(),
                    5, "a SELECT from another client")
                assert took < 2
                assert int(rows[0][0]) == (i + 1 if backend == "pg" else 0)
                rows, took = with_deadline(
                    b, lambda: b.execute("SELECT name FROM customers WHERE id = 3").fetchall(),
                    5, "a SELECT from another client")
                assert rows == [("Dmitri Almeida",)]
            # Nothing of the unfinished COPY is visible yet.
            assert int(b.execute("SELECT count(*) FROM %s" % loading).fetchone()[0]) == 0
            copy.write(b"1501\tlast\n")
        assert cur.rowcount == 1501
        assert int(b.execute("SELECT count(*) FROM %s" % loading).fetchone()[0]) == 1501
    assert count(pgiris, backend, loading) == 1501


# -- the raw protocol -------------------------------------------------------------

def read_until_ready(conn, timeout=10):
    seen = []
    while True:
        t, payload = conn.read_message(timeout)
        seen.append((t, payload))
        if t == b"Z":
            return seen


def test_copy_from_extended_protocol(pgiris, backend, make_table):
    table = make_table("id INTEGER, v TEXT")
    conn = pgwire.login(pgiris, backend)
    try:
        conn.send(parse_bind_execute("COPY %s FROM STDIN" % table) + message(b"S"))
        assert conn.read_message() == (b"1", b"")
        assert conn.read_message() == (b"2", b"")
        # CopyInResponse: text format, two text columns.
        assert conn.read_message() == (b"G", b"\x00\x00\x02\x00\x00\x00\x00")
        # A client library sends Sync again after CopyDone (the first one
        # was ignored during the COPY, as PostgreSQL does).
        conn.send(message(b"d", b"1\tone\n2\t") + message(b"d", b"two\n3\t\\N\n")
                  + message(b"c") + message(b"S"))
        assert read_until_ready(conn) == [(b"C", b"COPY 3\0"), (b"Z", b"I")]
        assert conn.simple_query("SELECT id, v FROM %s ORDER BY id" % table)[0][1] == [
            ["1", "one"], ["2", "two"], ["3", None]]
    finally:
        conn.close()


def test_copy_to_extended_protocol(pgiris, backend, make_table):
    table = make_table("id INTEGER, v TEXT")
    with pgiris.connect(backend) as c:
        c.execute("INSERT INTO %s VALUES (1, 'one'), (2, NULL)" % table)
    conn = pgwire.login(pgiris, backend)
    try:
        conn.send(message(b"P", b"s1\0COPY %s TO STDOUT (FORMAT csv)\0\0\0" % table.encode())
                  + message(b"B", b"\0s1\0\0\0\0\0\0\0")
                  + message(b"D", b"P\0")
                  + message(b"E", b"\0\0\0\0\0")
                  + message(b"S"))
        assert read_until_ready(conn) == [
            (b"1", b""), (b"2", b""), (b"n", b""),
            (b"H", b"\x00\x00\x02\x00\x00\x00\x00"),
            (b"d", b"1,one\n"), (b"d", b"2,\n"), (b"c", b""),
            (b"C", b"COPY 2\0"), (b"Z", b"I")]
    finally:
        conn.close()


@pytest.mark.parametrize("extended", [False, True], ids=["simple", "extended"])
def test_copy_data_after_an_early_error_is_dropped(pgiris, backend, make_table, extended):
    table = make_table("id INTEGER, v TEXT")
    conn = pgwire.login(pgiris, backend)
    try:
        sql = "COPY %s FROM STDIN" % table
        if extended:
            conn.send(parse_bind_execute(sql) + message(b"S"))
            assert conn.read_message() == (b"1", b"")
            assert conn.read_message() == (b"2", b"")
        else:
            conn.send(pgwire.query_message(sql))
        assert conn.read_message()[0] == b"G"
        # The first row is bad; much more data follows it, then CopyDone.
        tail = message(b"c") + (message(b"S") if extended else b"")
        conn.send(message(b"d", b"x\ty\tz\n")
                  + b"".join(message(b"d", b"%d\tten\n" % i * 50) for i in range(200))
                  + message(b"d", b"11\televen\n") + tail)
        seen = read_until_ready(conn)
        assert [t for t, _ in seen] == [b"E", b"Z"], seen
        fields = pgwire.parse_error_fields(seen[0][1])
        assert fields["C"] == "22P04"
        assert fields["M"] == "extra data after last expected column"
        assert fields["W"] == 'COPY %s, line 1: "x\ty\tz"' % table
        assert seen[1] == (b"Z", b"I")
        # The connection is in step: the next query answers normally.
        assert conn.simple_query("SELECT 'again'")[0][1] == [["again"]]
        assert conn.txn_status == b"I"
    finally:
        conn.close()
    assert count(pgiris, backend, table) == 0


def test_copy_fail_message_over_raw_protocol(pgiris, backend, make_table):
    table = make_table("id INTEGER, v TEXT")
    conn = pgwire.login(pgiris, backend)
    try:
        conn.send(pgwire.query_message("COPY %s FROM STDIN" % table))
        assert conn.read_message()[0] == b"G"
        conn.send(message(b"d", b"1\ta\n2\tb\n") + message(b"f", b"client gave up\0"))
        seen = read_until_ready(conn)
        assert [t for t, _ in seen] == [b"E", b"Z"]
        fields = pgwire.parse_error_fields(seen[0][1])
        assert (fields["C"], fields["M"]) == ("57014", "COPY from stdin failed: client gave up")
        assert conn.simple_query("SELECT 'x'")[0][1] == [["x"]]
    finally:
        conn.close()
    assert count(pgiris, backend, table) == 0
