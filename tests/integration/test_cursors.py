"""Cursors declared in SQL on the PostgreSQL backend, as drivers use them.

psycopg's server-side cursors (conn.cursor(name=...), which Django's
QuerySet.iterator() and many ETL tools use) send DECLARE name CURSOR FOR
..., then a protocol Describe of the portal `name`, then FETCH FORWARD n
FROM name.  In PostgreSQL a cursor declared in SQL is a portal, so the
Describe must be answered with the cursor's columns, and the rows must come
whole, in order, through every FETCH.
"""

import decimal
import struct

import psycopg
import pytest

import pgwire

ROWS = 2500


def expected(n):
    return [(i, "row %d" % i, decimal.Decimal(i) / 4) for i in range(1, n + 1)]


QUERY = ("SELECT g AS id, 'row ' || g AS label, (g / 4.0)::numeric(10, 2) AS quarter"
         " FROM generate_series(1, %s::int) AS g ORDER BY g")


def test_server_side_cursor_reads_every_row(pgiris):
    with pgiris.connect("pg", autocommit=False) as conn:
        with conn.cursor(name="all_rows") as cur:
            cur.itersize = 300
            cur.execute(QUERY, (ROWS,))
            assert [d.name for d in cur.description] == ["id", "label", "quarter"]
            assert [d.type_code for d in cur.description] == [23, 25, 1700]
            assert list(cur) == expected(ROWS)
        conn.commit()


def test_server_side_cursor_fetchmany_and_scroll_position(pgiris):
    with pgiris.connect("pg", autocommit=False) as conn:
        with conn.cursor(name="some_rows") as cur:
            cur.execute(QUERY, (10,))
            assert cur.fetchmany(3) == expected(3)
            assert cur.fetchone() == expected(4)[3]
            assert cur.fetchall() == expected(10)[4:]
            assert cur.fetchone() is None
        conn.rollback()


def test_cursor_declared_again_for_another_query_is_described_anew(pgiris):
    """The same cursor name, declared in turn for queries of different
    columns: each Describe must show that transaction's columns."""
    with pgiris.connect("pg", autocommit=False) as conn:
        for query, names, first in [
            ("SELECT 1 AS a, 'x'::text AS b", ["a", "b"], (1, "x")),
            ("SELECT 2.5::float8 AS c", ["c"], (2.5,)),
            ("SELECT 'y'::text AS d, 3 AS e, true AS f", ["d", "e", "f"], ("y", 3, True)),
        ]:
            with conn.cursor(name="again") as cur:
                cur.execute(query)
                assert [d.name for d in cur.description] == names
                assert cur.fetchone() == first
            conn.commit()


def test_cursor_name_that_needs_quotes(pgiris):
    with pgiris.connect("pg", autocommit=False) as conn:
        with conn.cursor(name='Odd "Name" é') as cur:
            cur.execute(QUERY, (5,))
            assert [d.name for d in cur.description] == ["id", "label", "quarter"]
            assert cur.fetchall() == expected(5)
        conn.rollback()


def test_two_cursors_read_in_turns(pgiris):
    with pgiris.connect("pg", autocommit=False) as conn:
        with conn.cursor(name="left") as a, conn.cursor(name="right") as b:
            a.execute(QUERY, (100,))
            b.execute("SELECT g * 10 AS tens FROM generate_series(1, 100) AS g ORDER BY g")
            got_a, got_b = [], []
            while True:
                ra, rb = a.fetchmany(7), b.fetchmany(11)
                if not ra and not rb:
                    break
                got_a += ra
                got_b += rb
        conn.commit()
    assert got_a == expected(100)
    assert got_b == [(i * 10,) for i in range(1, 101)]


def test_psycopg2_named_cursor(pgiris):
    """psycopg2's named cursors: DECLARE, then FETCH FORWARD itersize in
    simple queries, and the row counts it reads from FETCH's tags."""
    psycopg2 = pytest.importorskip("psycopg2")
    conn = psycopg2.connect(host="127.0.0.1", port=pgiris.port, dbname="pg", user="demo",
                            password=pgiris.users["demo"])
    try:
        with conn.cursor(name="p2_cursor") as cur:
            cur.itersize = 400
            cur.execute(QUERY, (ROWS,))
            assert cur.fetchmany(5) == expected(5)
            assert cur.rowcount == 5
            rest = list(cur)
            assert [d.name for d in cur.description] == ["id", "label", "quarter"]
        assert rest == expected(ROWS)[5:]
        conn.commit()
    finally:
        conn.close()


def exchange(c, data):
    """Send data; return every message up to and including ReadyForQuery."""
    c.send(data)
    seen = []
    while not seen or seen[-1][0] != b"Z":
        seen.append(c.read_message())
    return seen


def describe_portal(c, name):
    return exchange(c, pgwire.message(b"D", b"P" + name + b"\0") + pgwire.message(b"S"))


def test_describe_of_a_declared_cursor_on_the_wire(pgiris):
    """RowDescription, as PostgreSQL sends for Describe of the cursor's portal."""
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", "pg", pgiris.users["demo"])
        c.simple_query("BEGIN")
        c.simple_query("DECLARE wire_cur CURSOR FOR SELECT 7 AS seven, 'z'::text AS zed")
        seen = describe_portal(c, b"wire_cur")
        assert [t for t, _ in seen] == [b"T", b"Z"], seen
        assert pgwire.parse_row_description(seen[0][1]) == ["seven", "zed"]
        (_, rows, tag), = c.simple_query("FETCH ALL FROM wire_cur")
        assert rows == [["7", "z"]] and tag == "FETCH 1"
        c.simple_query("COMMIT")


def test_describe_of_an_unknown_portal_is_an_error(pgiris):
    """Outside a transaction, and inside one where no such cursor exists:
    SQLSTATE 34000, and the connection goes on."""
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", "pg", pgiris.users["demo"])
        for begin in (False, True):
            if begin:
                c.simple_query("BEGIN")
                c.simple_query("SELECT 1")
            seen = describe_portal(c, b"no_such_cursor")
            errors = [pgwire.parse_error_fields(p) for t, p in seen if t == b"E"]
            assert len(errors) == 1 and errors[0]["C"] == "34000", seen
            assert "no_such_cursor" in errors[0]["M"], errors
            # As in PostgreSQL, the error aborts the transaction it happened in.
            assert seen[-1] == (b"Z", b"E" if begin else b"I"), seen
            if begin:
                c.simple_query("ROLLBACK")
        (_, rows, _), = c.simple_query("SELECT 'still here'")
        assert rows == [["still here"]]


def test_withhold_cursor_in_session_mode(pgiris_factory):
    """A WITH HOLD cursor outlives its transaction on the session's own
    backend connection (pool_mode = session)."""
    inst = pgiris_factory(settings={"pool_mode": "session"})
    with inst.connect("pg") as conn:
        with conn.cursor(name="held", withhold=True) as cur:
            cur.execute(QUERY, (50,))
            assert [d.name for d in cur.description] == ["id", "label", "quarter"]
            assert cur.fetchmany(20) == expected(20)
            assert cur.fetchall() == expected(50)[20:]


def test_sqlite_database_refuses_declare_with_an_error(pgiris):
    with pgiris.connect("demo", autocommit=False) as conn:
        with pytest.raises(psycopg.Error) as info:
            with conn.cursor(name="lite") as cur:
                cur.execute("SELECT 1")
                cur.fetchall()
        assert info.value.sqlstate is not None


def test_fetch_and_move_tags_count_rows(pgiris):
    """FETCH n and MOVE n, as PostgreSQL tags them, over the simple protocol."""
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", "pg", pgiris.users["demo"])
        c.simple_query("BEGIN")
        c.simple_query("DECLARE tag_cur CURSOR FOR SELECT g FROM generate_series(1, 10) AS g")
        (_, rows, tag), = c.simple_query("FETCH 3 FROM tag_cur")
        assert (rows, tag) == ([["1"], ["2"], ["3"]], "FETCH 3")
        (_, _, tag), = c.simple_query("MOVE FORWARD 4 IN tag_cur")
        assert tag == "MOVE 4"
        (_, rows, tag), = c.simple_query("FETCH ALL FROM tag_cur")
        assert (rows, tag) == ([["8"], ["9"], ["10"]], "FETCH 3")
        (_, rows, tag), = c.simple_query("FETCH NEXT FROM tag_cur")
        assert (rows, tag) == ([], "FETCH 0")
        (_, _, tag), = c.simple_query("MOVE FORWARD 5 IN tag_cur")
        assert tag == "MOVE 0"
        c.simple_query("CLOSE tag_cur")
        c.simple_query("COMMIT")


def test_fetch_statement_described_after_its_cursor_is_declared_again(pgiris):
    """Parse and Describe of the same FETCH text in two transactions, its
    cursor declared for different columns: each Describe shows the cursor's
    columns now, not a kept description or prepared handle."""
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", "pg", pgiris.users["demo"])
        for query, names in [("SELECT 1 AS a", ["a"]), ("SELECT 'x'::text AS b, 2 AS d", ["b", "d"])]:
            c.simple_query("BEGIN")
            c.simple_query("DECLARE again_f CURSOR FOR " + query)
            seen = exchange(c, pgwire.message(b"P", b"\0FETCH 10 FROM again_f\0\0\0")
                            + pgwire.message(b"D", b"S\0")
                            + pgwire.message(b"B", b"\0\0\0\0\0\0\0\0")
                            + pgwire.message(b"E", b"\0\0\0\0\0")
                            + pgwire.message(b"S"))
            assert [t for t, _ in seen] == [b"1", b"t", b"T", b"2", b"D", b"C", b"Z"], seen
            assert pgwire.parse_row_description(seen[2][1]) == names
            assert len(pgwire.parse_data_row(seen[4][1])) == len(names)
            c.simple_query("COMMIT")


def test_fetch_portal_resumed_after_suspension_ends_with_fetch_tag(pgiris):
    """A FETCH run as a protocol portal with a row limit: PortalSuspended,
    then the last Execute's CommandComplete is `FETCH n` (the rows of that
    Execute), as PostgreSQL tags it, not `SELECT n`."""
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", "pg", pgiris.users["demo"])
        c.simple_query("BEGIN")
        c.simple_query("DECLARE susp_cur CURSOR FOR SELECT g FROM generate_series(1, 10) AS g")
        seen = exchange(c, pgwire.message(b"P", b"\0FETCH 5 FROM susp_cur\0\0\0")
                        + pgwire.message(b"B", b"\0\0\0\0\0\0\0\0")
                        + pgwire.message(b"E", b"\0\0\0\0\3")
                        + pgwire.message(b"E", b"\0\0\0\0\3")
                        + pgwire.message(b"S"))
        assert [t for t, _ in seen] == [b"1", b"2", b"D", b"D", b"D", b"s", b"D", b"D", b"C", b"Z"], seen
        assert [pgwire.parse_data_row(p) for t, p in seen if t == b"D"] == [[str(i)] for i in range(1, 6)]
        assert seen[-2][1] == b"FETCH 2\0"
        c.simple_query("COMMIT")


def execute_cursor_portal_trace(port, user, database, password):
    """Execute of a SQL-declared cursor as a protocol portal, with row
    limits, then without: every message up to ReadyForQuery."""
    with pgwire.Conn(port) as c:
        c.startup(user, database, password)
        c.simple_query("BEGIN")
        c.simple_query('DECLARE "exec ""cur""" CURSOR FOR SELECT g, g * 10 AS t FROM generate_series(1, 5) AS g')
        portal = b'exec "cur"\0'
        seen = exchange(c, b"".join(pgwire.message(b"E", portal + struct.pack("!i", n)) for n in (2, 2, 2, 0))
                        + pgwire.message(b"S"))
        after = exchange(c, pgwire.message(b"E", b"no_such_cur\0\0\0\0\0") + pgwire.message(b"S"))
        c.simple_query("ROLLBACK")
    errors = [pgwire.parse_error_fields(p)["C"] for t, p in after if t == b"E"]
    return seen, errors, after[-1]


def test_execute_of_a_declared_cursor_portal_as_postgresql_does(pgiris, postgres):
    """Execute(portal) of a cursor declared in SQL: its rows in batches of
    the row limit with PortalSuspended between them, then the rest, the
    same messages PostgreSQL sends; an unknown one is 34000 and aborts the
    transaction."""
    want = execute_cursor_portal_trace(postgres.port, "postgres", "postgres", None)
    got = execute_cursor_portal_trace(pgiris.port, "demo", "pg", pgiris.users["demo"])
    assert [t for t, _ in want[0]] == [b"D", b"D", b"s", b"D", b"D", b"s", b"D", b"C", b"C", b"Z"], want
    assert got == want
