"""SQLite keeps any value in any column: nothing of it is lost on the way.

SQLite's ODBC driver says NULL for text in a column it types as a float
(inside a transaction it types an expression's column by the first row),
so `'abc'` after a `1.5` used to reach the client as NULL, in DataRows and
in COPY TO.  pgiris hands the text on as it is.
"""

import psycopg

SQL = "SELECT x FROM (SELECT 1.5 AS x UNION ALL SELECT 'abc' UNION ALL SELECT NULL)"
FLOAT8 = 701


def test_float_column_keeps_its_text(pgiris):
    with pgiris.connect("demo") as conn:
        conn.execute("BEGIN")
        res = conn.pgconn.exec_(SQL.encode())
        assert res.status == psycopg.pq.ExecStatus.TUPLES_OK, res.error_message
        assert res.ftype(0) == FLOAT8
        assert [res.get_value(i, 0) for i in range(res.ntuples)] == [b"1.5", b"abc", None]
        conn.execute("ROLLBACK")


def test_copy_keeps_the_text(pgiris):
    with pgiris.connect("demo") as conn:
        for autocommit in (True, False):
            conn.autocommit = autocommit
            with conn.cursor().copy("COPY (%s) TO STDOUT" % SQL) as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            assert data == b"1.5\nabc\n\\N\n", autocommit
            conn.rollback()


BYTEA = 17


def test_blob_expressions_are_bytea(pgiris):
    """An expression SQLite computes as a blob has no declared type: its driver
    describes it as text and prints the value as X'0102'.  A bytea cast, decode()
    or a bytea parameter echoed back must reach the client as bytea."""
    with pgiris.connect("demo") as conn:
        for binary in (False, True):
            for sql, params in [("SELECT X'0102'", None), ("SELECT decode('0102', 'hex')", None),
                                ("SELECT '\\x0102'::bytea", None), ("SELECT %s", (b"\x01\x02",)),
                                ("SELECT coalesce(%s, X'00')", (b"\x01\x02",))]:
                cur = conn.cursor(binary=binary)
                cur.execute(sql, params)
                assert cur.description[0].type_code == BYTEA, (sql, binary)
                assert cur.fetchall() == [(b"\x01\x02",)], (sql, binary)
        # Through a subquery too.
        cur = conn.execute("SELECT x FROM (SELECT zeroblob(2) AS x)")
        assert cur.fetchall() == [(b"\x00\x00",)]
        assert cur.description[0].type_code == BYTEA


def test_zone_offsets_are_read_as_postgresql_reads_them(pgiris):
    """PgJDBC sends dates and timestamps with an offset ("2024-02-29 +00",
    "2024-02-29 13:45:30+00"), untyped or typed.  SQLite would keep the
    offset as part of the text, so a lookup by the plain value missed the
    row and SQLite's date functions returned NULL; PostgreSQL reads a date
    without it, a timestamp as its wall time and a timestamptz as an
    instant (UTC on SQLite)."""
    import uuid
    table = "zoned_" + uuid.uuid4().hex[:8]
    with pgiris.connect("demo") as conn:
        conn.execute("CREATE TABLE %s (id integer, d date, ts timestamp, tz timestamptz)" % table)
        try:
            ins = "INSERT INTO %s (id, d, ts, tz) VALUES ($1, $2, $3, $4)" % table
            # untyped (psycopg sends a str as unknown), as PgJDBC sends setTimestamp
            conn.pgconn.exec_params(ins.encode(), [b"1", b"2024-02-29 +00", b"2024-02-29 13:45:30+00",
                                                   b"2024-02-29 22:45:30.25+09"], [0, 0, 0, 0])
            # typed, as PgJDBC sends setDate (date) and setObject(LocalDateTime) (timestamp)
            res = conn.pgconn.exec_params(ins.encode(), [b"2", b"2024-02-29 +09", b"2024-02-29 13:45:30-05",
                                                         b"2024-02-29T08:45:30-05:00"], [23, 1082, 1114, 1184])
            assert res.status == psycopg.pq.ExecStatus.COMMAND_OK, res.error_message
            rows = conn.execute("SELECT id, d, ts, tz FROM %s ORDER BY id" % table).fetchall()
            got = [(i, str(d), str(ts), str(tz)) for i, d, ts, tz in rows]
            assert got == [(1, "2024-02-29", "2024-02-29 13:45:30", "2024-02-29 13:45:30.250000+00:00"),
                           (2, "2024-02-29", "2024-02-29 13:45:30", "2024-02-29 13:45:30+00:00")]
            assert conn.execute("SELECT count(*) FROM %s WHERE d = '2024-02-29' AND ts = '2024-02-29 13:45:30'"
                                % table).fetchone() == (2,)
        finally:
            conn.execute("DROP TABLE %s" % table)
