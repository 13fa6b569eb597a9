"""Suspended portals (Execute with a row limit) beside other statements.

The executor keeps a named portal's cursor open in a transaction block
while other statements run; these are the edges: Close in a failed
transaction, the unnamed portal bound again, portals abandoned outside a
transaction, a cancel, ROLLBACK TO SAVEPOINT and COPY."""

import struct
import uuid

import pytest

import pgwire

m = pgwire.message
SYNC = m(b"S")
LONG = {
    "pg": "SELECT pg_sleep(30)",
    "demo": "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 2000000000) SELECT sum(x) FROM s",
}


def until_ready(conn, timeout=None):
    """Up to ReadyForQuery, notices, parameter statuses and descriptions left out."""
    return pgwire.until_ready(conn, timeout, skip=(b"N", b"S", b"T"))


def query(conn, sql):
    conn.send(pgwire.query_message(sql))
    return until_ready(conn, 30)


def open_portal(conn, portal, sql, rows=1):
    conn.send(m(b"P", portal + b"\0" + sql.encode() + b"\0\0\0") +
              m(b"B", portal + b"\0" + portal + b"\0\0\0\0\0\0\0") + execute(portal, rows) + SYNC)
    return until_ready(conn)


def execute(portal, max_rows):
    return m(b"E", portal + b"\0" + struct.pack("!i", max_rows))


def fresh_table(pgiris, backend, n=20):
    table = "portal_" + uuid.uuid4().hex[:8]
    with pgiris.connect(backend) as conn:
        conn.execute("CREATE TABLE %s (id integer, s text)" % table)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO %s VALUES (%%s, %%s)" % table, [(i, "k%02d" % i) for i in range(1, n + 1)])
    return table


def rows(*ids):
    return [("D", [str(i)]) for i in ids]


def test_close_in_a_failed_transaction(pgiris, backend):
    """PostgreSQL answers Close with CloseComplete in an aborted transaction;
    JDBC sends Close, ROLLBACK and Sync together after an error."""
    table = fresh_table(pgiris, backend)
    conn = pgwire.login(pgiris, backend)
    try:
        query(conn, "BEGIN")
        assert open_portal(conn, b"p1", "SELECT id FROM %s ORDER BY id" % table)[-3:] == rows(1) + [("s", None), ("Z", None)]
        assert query(conn, "SELECT * FROM no_such_table_here")[0] == ("E", "42P01")
        conn.send(m(b"C", b"Pp1\0") + m(b"Q", b"ROLLBACK\0"))
        assert until_ready(conn) == [("3", None), ("C", "ROLLBACK"), ("Z", None)]
        assert query(conn, "SELECT 42") == rows(42) + [("C", "SELECT 1"), ("Z", None)]
    finally:
        conn.close()


def test_unnamed_portal_bound_again_leaves_a_named_one(pgiris, backend):
    """The unnamed portal dies when bound again (JDBC's setMaxRows in a loop):
    no cursor of it stays behind to crowd out the named portal being read."""
    table = fresh_table(pgiris, backend)
    conn = pgwire.login(pgiris, backend)
    try:
        query(conn, "BEGIN")
        assert open_portal(conn, b"po", "SELECT id FROM %s ORDER BY id" % table)[-3:] == rows(1) + [("s", None), ("Z", None)]
        for i in range(40):
            assert ("s", None) in open_portal(conn, b"", "SELECT id FROM %s WHERE id > %d ORDER BY id" % (table, i % 5))
        conn.send(execute(b"po", 2) + SYNC)
        assert until_ready(conn) == rows(2, 3) + [("s", None), ("Z", None)]
        query(conn, "ROLLBACK")
    finally:
        conn.close()


def test_portal_abandoned_outside_a_transaction_closes(pgiris_factory, backend, postgres):
    """In session mode the slot stays with the client: a portal the implicit
    transaction ended must not keep its cursor (and its locks)."""
    inst = pgiris_factory(settings={"pool_mode": "session"})
    table = fresh_table(inst, backend)
    conn = pgwire.login(inst, backend)
    try:
        assert ("s", None) in open_portal(conn, b"p1", "SELECT id FROM %s ORDER BY id" % table)
        assert query(conn, "SELECT 1")[-1] == ("Z", None)
        if backend == "demo":
            assert query(conn, "DROP TABLE %s" % table) == [("C", "DROP TABLE"), ("Z", None)]
        else:
            with postgres.connect() as direct:
                direct.execute("SET lock_timeout = '5s'")
                direct.execute("DROP TABLE %s" % table)
    finally:
        conn.close()


def test_cancel_with_a_portal_open(pgiris_factory, backend):
    """SQLite clears an interrupt only once no statement runs, and a suspended
    cursor is one: after a statement_timeout the connection must work again."""
    inst = pgiris_factory(settings={"pool_mode": "session"})
    table = fresh_table(inst, backend)
    conn = pgwire.login(inst, backend)
    try:
        query(conn, "BEGIN")
        assert ("s", None) in open_portal(conn, b"p1", "SELECT id FROM %s ORDER BY id" % table)
        query(conn, "SAVEPOINT a")
        query(conn, "SET statement_timeout = '300ms'")
        assert query(conn, LONG[backend])[0] == ("E", "57014")
        query(conn, "SET statement_timeout = 0")
        assert query(conn, "ROLLBACK TO a") == [("C", "ROLLBACK"), ("Z", None)]
        assert query(conn, "SELECT 7") == rows(7) + [("C", "SELECT 1"), ("Z", None)]
        # Closed, and said so: PostgreSQL would go on with a portal opened before the savepoint.
        conn.send(execute(b"p1", 2) + SYNC)
        assert until_ready(conn) == [("E", "34000"), ("Z", None)]
        query(conn, "ROLLBACK")
        # Outside a transaction as well.
        assert ("s", None) in open_portal(conn, b"", "SELECT id FROM %s ORDER BY id" % table)
        query(conn, "SET statement_timeout = '300ms'")
        assert query(conn, LONG[backend])[0] == ("E", "57014")
        query(conn, "SET statement_timeout = 0")
        assert query(conn, "SELECT 7") == rows(7) + [("C", "SELECT 1"), ("Z", None)]
    finally:
        conn.close()


def test_rollback_to_savepoint_closes_portals(pgiris, backend):
    """A portal opened after the savepoint may hold rows the rollback undid:
    PostgreSQL closes it (34000 when executed again), and so does pgiris."""
    table = fresh_table(pgiris, backend)
    conn = pgwire.login(pgiris, backend)
    try:
        for sql in ("BEGIN", "SAVEPOINT a", "INSERT INTO %s VALUES (100, 'x')" % table):
            assert query(conn, sql)[-1] == ("Z", None)
        assert open_portal(conn, b"p1", "SELECT id FROM %s WHERE id >= 18 ORDER BY id" % table)[-3:] == (
            rows(18) + [("s", None), ("Z", None)])
        assert query(conn, "ROLLBACK TO a") == [("C", "ROLLBACK"), ("Z", None)]
        conn.send(execute(b"p1", 0) + SYNC)
        assert until_ready(conn) == [("E", "34000"), ("Z", None)]
        query(conn, "ROLLBACK")
    finally:
        conn.close()


@pytest.mark.parametrize("end", ["COMMIT", "ROLLBACK"])
def test_portals_end_with_their_block(pgiris, backend, end):
    """A named portal lives until its transaction ends, as in PostgreSQL:
    executed after the block's COMMIT or ROLLBACK it is 34000 (it was a
    silently empty SELECT 0), and its name is free for the next block."""
    table = fresh_table(pgiris, backend)
    conn = pgwire.login(pgiris, backend)
    try:
        query(conn, "BEGIN")
        assert open_portal(conn, b"p1", "SELECT id FROM %s ORDER BY id" % table)[-3:] == rows(1) + [("s", None), ("Z", None)]
        assert query(conn, end) == [("C", end), ("Z", None)]
        conn.send(execute(b"p1", 0) + SYNC)
        assert until_ready(conn) == [("E", "34000"), ("Z", None)]
        query(conn, "BEGIN")
        conn.send(m(b"B", b"p1\0p1\0\0\0\0\0\0\0") + execute(b"p1", 0) + SYNC)
        assert until_ready(conn) == [("2", None)] + rows(*range(1, 21)) + [("C", "SELECT 20"), ("Z", None)]
        query(conn, "COMMIT")
    finally:
        conn.close()


def test_copy_with_a_portal_open(pgiris, backend):
    table = fresh_table(pgiris, backend)
    other = fresh_table(pgiris, backend, n=0)
    conn = pgwire.login(pgiris, backend)
    try:
        query(conn, "BEGIN")
        assert ("s", None) in open_portal(conn, b"p1", "SELECT id FROM %s ORDER BY id" % table)
        conn.send(pgwire.query_message("COPY %s FROM STDIN" % other))
        while conn.read_message()[0] != b"G":
            pass
        conn.send(m(b"d", b"1\ta\n2\tb\n") + m(b"c"))
        assert ("C", "COPY 2") in until_ready(conn)
        conn.send(execute(b"p1", 2) + SYNC)
        assert until_ready(conn) == rows(2, 3) + [("s", None), ("Z", None)]
        query(conn, "ROLLBACK")
    finally:
        conn.close()
