"""Prepared statements on the PostgreSQL backend: psqlODBC runs a prepared
SELECT either through a cursor (UseDeclareFetch, with its parameters written
into the text, so the server parses and plans it at every execution) or as a
named server-side statement planned once.  Once a statement has proven to
return few rows, pgiris prepares it again without the cursor, so the server
keeps its plan; a large result turns the cursor back on.  The answers must
stay right through every change.

One worker and a pool of one connection: every query below runs on the same
backend connection, whose pg_prepared_statements the test can read."""

import struct

import psycopg
import pytest

import pgwire

POOL_OF_ONE = {"workers": 1, "default_pool_size": 1, "min_pool_size": 1}
PROBE = "SELECT x, 'probe ' || x FROM generate_series(1, %s::int) AS x /* server_prepare_probe */"


@pytest.fixture(scope="module")
def pgiris(module_pgiris_factory):
    return module_pgiris_factory(settings=POOL_OF_ONE, databases={"pg": {"pool_size": 1}})


def server_plans(conn):
    """The server-side prepared statements of the backend connection that carry the probe."""
    rows = conn.execute("SELECT statement FROM pg_prepared_statements").fetchall()
    return [r[0] for r in rows if "server_prepare_probe" in r[0]]


def run_probe(conn, n):
    rows = conn.execute(PROBE, (n,)).fetchall()
    assert rows == [(x, "probe %d" % x) for x in range(1, n + 1)]


def test_statement_that_stays_small_gets_a_server_plan(pgiris):
    with pgiris.connect("pg") as conn:
        run_probe(conn, 3)
        # Unknown shape: the cursor is on and nothing is kept on the server.
        assert server_plans(conn) == []
        for n in (5, 7, 2):
            run_probe(conn, n)
        plans = server_plans(conn)
        assert len(plans) == 1, plans
        assert "$1" in plans[0]


def test_large_result_after_small_ones_is_whole_and_turns_the_cursor_back_on(pgiris):
    with pgiris.connect("pg") as conn:
        for n in (4, 6, 8):
            run_probe(conn, n)
        # The shape has proven small: this one is read whole, and correct.
        run_probe(conn, 5000)
        # From now on the shape runs with the cursor again, answers unchanged.
        for n in (9, 2500, 1):
            run_probe(conn, n)


def test_prepared_statement_in_a_transaction_keeps_working(pgiris):
    with pgiris.connect("pg", autocommit=False) as conn:
        for n in (3, 4, 5, 6):
            run_probe(conn, n)
        conn.execute("CREATE TEMP TABLE sp_t (v int)")
        conn.execute("INSERT INTO sp_t SELECT x FROM generate_series(1, %s::int) x", (10,))
        conn.rollback()
        run_probe(conn, 2)
        conn.commit()


def test_statement_parsed_again_after_its_table_changed_sees_the_new_columns(pgiris, postgres):
    """The backend refuses a cached plan whose result columns changed; a client that
    parses its statement again (every driver's unnamed statement) must get the new
    columns, as it would from PostgreSQL, not that error."""
    with postgres.connect() as direct:
        direct.execute("DROP TABLE IF EXISTS sp_alt")
        direct.execute("CREATE TABLE sp_alt (id int PRIMARY KEY, v text)")
        direct.execute("INSERT INTO sp_alt VALUES (1, 'one')")
    with pgiris.connect("pg") as conn:
        for _ in range(4):
            assert conn.execute("SELECT * FROM sp_alt WHERE id = %s", (1,)).fetchall() == [(1, "one")]
        with postgres.connect() as direct:
            direct.execute("ALTER TABLE sp_alt ADD COLUMN z int DEFAULT 7")
        for _ in range(3):
            cur = conn.execute("SELECT * FROM sp_alt WHERE id = %s", (1,))
            assert [d.name for d in cur.description] == ["id", "v", "z"]
            assert cur.fetchall() == [(1, "one", 7)]
        with postgres.connect() as direct:
            direct.execute("ALTER TABLE sp_alt DROP COLUMN v")
        # In a transaction the refused Bind has aborted it: the error is PostgreSQL's, and the next
        # transaction prepares the statement afresh.
        conn.autocommit = False
        try:
            conn.execute("SELECT * FROM sp_alt WHERE id = %s", (1,)).fetchall()
            conn.commit()
        except psycopg.errors.FeatureNotSupported:
            conn.rollback()
        assert conn.execute("SELECT * FROM sp_alt WHERE id = %s", (1,)).fetchall() == [(1, 7)]
        conn.commit()


def _parse(name, sql):
    return pgwire.message(b"P", name + b"\0" + sql.encode() + b"\0\0\0")


def _bind(stmt, value):
    return pgwire.message(b"B", b"\0" + stmt + b"\0\0\0" + struct.pack("!hi", 1, len(value)) + value + b"\0\0")


def _describe_statement(name):
    return pgwire.message(b"D", b"S" + name + b"\0")


EXECUTE_SYNC = pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S")


@pytest.mark.parametrize("name", [b"s_named", b""], ids=["named", "unnamed"])
def test_statement_described_before_its_table_changed_gets_the_error(pgiris, postgres, name):
    """A client that described the statement before holds its old columns: rows
    of another width must not follow.  PostgreSQL answers 0A000 then; after
    parsing (and describing) again, the client gets the new columns."""
    table = "sp_desc_" + (name.decode() or "unnamed")
    with postgres.connect() as direct:
        direct.execute("DROP TABLE IF EXISTS %s" % table)
        direct.execute("CREATE TABLE %s (id int, v text)" % table)
        direct.execute("INSERT INTO %s VALUES (1, 'a')" % table)
    sql = "SELECT * FROM %s WHERE id = $1" % table
    conn = pgwire.login(pgiris, "pg")
    try:
        conn.send(_parse(name, sql) + _describe_statement(name) + pgwire.message(b"S"))
        assert pgwire.reply_shape(conn)[2] is None
        for _ in range(4):
            conn.send(_bind(name, b"1") + EXECUTE_SYNC)
            assert pgwire.reply_shape(conn) == (None, [2], None)
        with postgres.connect() as direct:
            direct.execute("ALTER TABLE %s ADD COLUMN z int DEFAULT 7" % table)
        conn.send(_bind(name, b"1") + EXECUTE_SYNC)
        assert pgwire.reply_shape(conn) == (None, [], "0A000")
        if name:
            conn.send(pgwire.message(b"C", b"S" + name + b"\0") + pgwire.message(b"S"))
            pgwire.reply_shape(conn)
        conn.send(_parse(name, sql) + _describe_statement(name) + pgwire.message(b"S"))
        assert pgwire.reply_shape(conn)[0] == ["id", "v", "z"]
        conn.send(_bind(name, b"1") + EXECUTE_SYNC)
        assert pgwire.reply_shape(conn) == (None, [3], None)
    finally:
        conn.close()
