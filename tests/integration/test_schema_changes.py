"""A table changed through pgiris while statements on it are cached.

Each backend connection keeps its prepared statements by text.  SQLite's
driver keeps the columns it described when it prepared one and reads a
changed table's rows by them: a column added was left out (or the result
refused as "broken"), a column dropped shifted the others.  A schema change
made through any connection to the database must send every connection's
cached statements to be prepared again, and a client that described the
statement before must get PostgreSQL's error, not rows of another shape.

One worker and a pool of two connections, so that the tests can hold one
connection in a transaction and know which one the other client gets."""

import contextlib
import struct
import uuid

import psycopg
import pytest

import pgwire

POOL_OF_TWO = {"workers": 1, "default_pool_size": 2, "min_pool_size": 2}


@pytest.fixture(scope="module")
def pgiris(module_pgiris_factory):
    return module_pgiris_factory(settings=POOL_OF_TWO, databases={"pg": {"pool_size": 2}})


def fresh_table(conn, prefix):
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:8])
    conn.execute("CREATE TABLE %s (id integer PRIMARY KEY, v varchar(10))" % name)
    conn.execute("INSERT INTO %s VALUES (1, 'one'), (2, 'two')" % name)
    return name


def select_all(conn, table, key):
    cur = conn.execute("SELECT * FROM %s WHERE id = %%s" % table, (key,))
    return [d.name for d in cur.description], cur.fetchall()


def test_columns_added_and_dropped_through_pgiris(pgiris, backend):
    with pgiris.connect(backend) as conn:
        table = fresh_table(conn, "sc_alter")
        for key in (1, 2, 1, 2):
            assert select_all(conn, table, key)[1] == [(key, ["one", "two"][key - 1])]
        conn.execute("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table)
        for key in (1, 2, 1):
            assert select_all(conn, table, key) == (["id", "v", "z"], [(key, ["one", "two"][key - 1], 7)])
        conn.execute("ALTER TABLE %s DROP COLUMN v" % table)
        for key in (2, 1, 2):
            assert select_all(conn, table, key) == (["id", "z"], [(key, 7)])
        conn.execute("DROP TABLE %s" % table)


def test_columns_changed_under_a_simple_query_run_as_its_shape(pgiris, backend):
    """The simple protocol's literal statements run as one prepared shape once repeated."""
    with pgiris.connect(backend, prepare_threshold=None) as conn:
        table = fresh_table(conn, "sc_shape")
        for key in (1, 2, 1, 2, 1, 2):
            assert conn.execute("SELECT * FROM %s WHERE id = %d" % (table, key)).fetchall() == \
                [(key, ["one", "two"][key - 1])]
        conn.execute("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table)
        for key in (1, 2, 1):
            cur = conn.execute("SELECT * FROM %s WHERE id = %d" % (table, key))
            assert [d.name for d in cur.description] == ["id", "v", "z"]
            assert cur.fetchall() == [(key, ["one", "two"][key - 1], 7)]
        conn.execute("DROP TABLE %s" % table)


def test_table_changed_on_another_backend_connection(pgiris, backend):
    """Client a caches the statement on one connection; b changes the table on the
    other; a runs it again on the first, inside a transaction (where PostgreSQL's
    own refusal of the stale plan could not be answered by running it again)."""
    a = pgiris.connect(backend, autocommit=False)
    b = pgiris.connect(backend, autocommit=False)
    try:
        with pgiris.connect(backend) as setup:
            table = fresh_table(setup, "sc_other")
        for key in (1, 2, 1, 2):
            assert select_all(a, table, key)[1] == [(key, ["one", "two"][key - 1])]
        b.execute("SELECT 1")           # b holds the other connection
        a.commit()                      # a's goes back to the pool, its statement cached
        b.execute("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table)
        b.commit()
        b.execute("SELECT 1")           # b takes the connection it changed the table on
        for key in (2, 1):
            assert select_all(a, table, key) == (["id", "v", "z"], [(key, ["one", "two"][key - 1], 7)])
        a.commit()
        b.commit()
        b.execute("DROP TABLE %s" % table)
        b.commit()
    finally:
        a.close()
        b.close()


def test_change_rolled_back(pgiris, backend):
    """Statements prepared while the transaction's change was visible are prepared again after it is undone."""
    with pgiris.connect(backend, autocommit=False) as conn:
        table = fresh_table(conn, "sc_rollback")
        conn.commit()
        for key in (1, 2):
            select_all(conn, table, key)
        conn.execute("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table)
        for key in (1, 2, 1):
            assert select_all(conn, table, key)[0] == ["id", "v", "z"]
        conn.rollback()
        for key in (2, 1):
            assert select_all(conn, table, key) == (["id", "v"], [(key, ["one", "two"][key - 1])])
        conn.commit()
        conn.execute("DROP TABLE %s" % table)
        conn.commit()


def test_change_rolled_back_to_a_savepoint(pgiris, backend):
    with pgiris.connect(backend, autocommit=False) as conn:
        table = fresh_table(conn, "sc_savepoint")
        conn.commit()
        select_all(conn, table, 1)
        conn.execute("SAVEPOINT s")
        conn.execute("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table)
        for key in (1, 2):
            assert select_all(conn, table, key)[0] == ["id", "v", "z"]
        conn.execute("ROLLBACK TO SAVEPOINT s")
        for key in (2, 1):
            assert select_all(conn, table, key) == (["id", "v"], [(key, ["one", "two"][key - 1])])
        conn.commit()
        conn.execute("DROP TABLE %s" % table)
        conn.commit()


def _parse_describe(name, sql):
    return (pgwire.message(b"P", name + b"\0" + sql.encode() + b"\0\0\0") +
            pgwire.message(b"D", b"S" + name + b"\0") + pgwire.message(b"S"))


def _bind_execute(name, value):
    return (pgwire.message(b"B", b"\0" + name + b"\0\0\0" + struct.pack("!hi", 1, len(value)) + value + b"\0\0") +
            pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S"))


@contextlib.contextmanager
def raw_client_on_a_table(pgiris, backend, prefix):
    """A raw-wire client, a fresh table, and the text of a lookup on it; the table is dropped after."""
    with pgiris.connect(backend) as setup:
        table = fresh_table(setup, prefix)
    conn = pgwire.login(pgiris, backend)
    try:
        yield conn, table, "SELECT * FROM %s WHERE id = $1" % table
    finally:
        conn.close()
        with pgiris.connect(backend) as cleanup:
            cleanup.execute("DROP TABLE %s" % table)


def test_statement_described_before_the_change_gets_the_error(pgiris, backend):
    """A client that described the statement holds its old columns: PostgreSQL answers
    0A000 rather than rows of another width, and so must pgiris; described again,
    the statement runs with the new columns."""
    with raw_client_on_a_table(pgiris, backend, "sc_desc") as (conn, table, sql):
        conn.send(_parse_describe(b"s1", sql))
        assert pgwire.reply_shape(conn) == (["id", "v"], [], None)
        for _ in range(3):
            conn.send(_bind_execute(b"s1", b"1"))
            assert pgwire.reply_shape(conn) == (None, [2], None)
        conn.send(pgwire.query_message("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table))
        assert pgwire.reply_shape(conn)[2] is None
        conn.send(_bind_execute(b"s1", b"1"))
        assert pgwire.reply_shape(conn) == (None, [], "0A000")
        conn.send(pgwire.message(b"C", b"Ss1\0") + pgwire.message(b"S"))
        pgwire.reply_shape(conn)
        conn.send(_parse_describe(b"s1", sql))
        assert pgwire.reply_shape(conn)[0] == ["id", "v", "z"]
        conn.send(_bind_execute(b"s1", b"1"))
        assert pgwire.reply_shape(conn) == (None, [3], None)
        # A change that leaves the columns as they were costs the client nothing.
        conn.send(pgwire.query_message("CREATE INDEX %s_v ON %s (v)" % (table, table)))
        assert pgwire.reply_shape(conn)[2] is None
        conn.send(pgwire.query_message("DROP INDEX %s_v" % table))
        assert pgwire.reply_shape(conn)[2] is None
        conn.send(_bind_execute(b"s1", b"2"))
        assert pgwire.reply_shape(conn) == (None, [3], None)


def test_psycopg_prepared_statement_after_the_change(pgiris, backend):
    """psycopg prepares a statement run often enough, and describes it once."""
    with pgiris.connect(backend, prepare_threshold=2) as conn:
        table = fresh_table(conn, "sc_psycopg")
        for key in (1, 2, 1, 2, 1):
            select_all(conn, table, key)
        conn.execute("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table)
        try:
            got = select_all(conn, table, 2)
        except psycopg.errors.FeatureNotSupported:
            # psycopg forgets its prepared statements on this error and parses afresh.
            got = select_all(conn, table, 2)
        assert got == (["id", "v", "z"], [(2, "two", 7)])
        conn.execute("DROP TABLE %s" % table)


# One connection: every step below runs on the same backend handle.
POOL_OF_ONE = {"workers": 1, "default_pool_size": 1, "min_pool_size": 1}


@pytest.fixture(scope="module")
def pgiris_one(module_pgiris_factory):
    return module_pgiris_factory(settings=POOL_OF_ONE,
                                 databases={"pg": {"pool_size": 1}, "demo": {"pool_size": 1}})


def test_temporary_table_hides_the_cached_one(pgiris_one, backend):
    """CREATE TEMP TABLE of the same name hides the table the cached statement read."""
    with pgiris_one.connect(backend) as conn:
        table = fresh_table(conn, "sc_temp")
        for key in (1, 2, 1, 2, 1, 2):
            select_all(conn, table, key)
        conn.execute("CREATE TEMP TABLE %s (id integer, a text, b text, c text)" % table)
        conn.execute("INSERT INTO %s VALUES (1, 'x', 'y', 'z')" % table)
        assert select_all(conn, table, 1) == (["id", "a", "b", "c"], [(1, "x", "y", "z")])


def test_change_elsewhere_does_not_stop_a_described_statement(pgiris_one, backend):
    """A no-parameter statement described while its table was empty; rows come; an
    unrelated table is dropped.  Its columns did not change: PostgreSQL runs it."""
    with pgiris_one.connect(backend) as setup:
        table = fresh_table(setup, "sc_empty")
        setup.execute("DELETE FROM %s" % table)
        other = fresh_table(setup, "sc_other2")
    sql = "SELECT max(id) AS m FROM %s" % table
    conn = pgwire.login(pgiris_one, backend)
    try:
        conn.send(pgwire.message(b"P", b"s1\0" + sql.encode() + b"\0\0\0") +
                  pgwire.message(b"D", b"Ss1\0") + pgwire.message(b"S"))
        assert pgwire.reply_shape(conn)[2] is None
        conn.send(pgwire.message(b"B", b"\0s1\0\0\0\0\0\0\0") + pgwire.message(b"E", b"\0\0\0\0\0") +
                  pgwire.message(b"S"))
        assert pgwire.reply_shape(conn) == (None, [1], None)
        conn.send(pgwire.query_message("INSERT INTO %s VALUES (5, 'five')" % table))
        assert pgwire.reply_shape(conn)[2] is None
        conn.send(pgwire.query_message("DROP TABLE %s" % other))
        assert pgwire.reply_shape(conn)[2] is None
        conn.send(pgwire.message(b"B", b"\0s1\0\0\0\0\0\0\0") + pgwire.message(b"E", b"\0\0\0\0\0") +
                  pgwire.message(b"S"))
        assert pgwire.reply_shape(conn) == (None, [1], None)
    finally:
        conn.close()


def test_change_in_a_query_of_several_statements(pgiris_one, backend):
    with pgiris_one.connect(backend) as setup:
        table = fresh_table(setup, "sc_multi")
        for key in (1, 2, 1, 2):
            select_all(setup, table, key)
        conn = pgwire.login(pgiris_one, backend)
        try:
            conn.send(pgwire.query_message(
                "ALTER TABLE %s ADD COLUMN z integer DEFAULT 7; SELECT 1" % table))
            assert pgwire.reply_shape(conn)[2] is None
        finally:
            conn.close()
        assert select_all(setup, table, 1) == (["id", "v", "z"], [(1, "one", 7)])


def _bind_describe_execute(name, value):
    return (pgwire.message(b"B", b"\0" + name + b"\0\0\0" + struct.pack("!hi", 1, len(value)) + value + b"\0\0") +
            pgwire.message(b"D", b"P\0") + pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S"))


def test_statement_described_before_another_client_prepared_it_again(pgiris_one, backend):
    """Client a described its statement; the table changes and client b runs the same
    text, so the backend's cached handle is prepared again with the new columns.  a
    still holds the old ones: every run of its statement gets 0A000, as in
    PostgreSQL, until it parses it again, never rows wider than it was told."""
    with raw_client_on_a_table(pgiris_one, backend, "sc_other_client") as (a, table, sql):
        a.send(_parse_describe(b"s1", sql))
        assert pgwire.reply_shape(a) == (["id", "v"], [], None)
        a.send(_bind_execute(b"s1", b"1"))
        assert pgwire.reply_shape(a) == (None, [2], None)
        with pgiris_one.connect(backend) as b:
            b.execute("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table)
            assert select_all(b, table, 1) == (["id", "v", "z"], [(1, "one", 7)])
        for _ in range(2):
            a.send(_bind_execute(b"s1", b"1"))
            assert pgwire.reply_shape(a) == (None, [], "0A000")
        a.send(pgwire.message(b"C", b"Ss1\0") + _parse_describe(b"s1", sql))
        assert pgwire.reply_shape(a)[0] == ["id", "v", "z"]
        a.send(_bind_execute(b"s1", b"2"))
        assert pgwire.reply_shape(a) == (None, [3], None)


def test_statement_described_again_through_its_portal(pgiris_one, backend):
    """After the change a run that describes its portal tells the client the new
    columns: later runs without a description read those, and the statement's
    own Describe answers them too, not the description kept from before."""
    with raw_client_on_a_table(pgiris_one, backend, "sc_portal_desc") as (a, table, sql):
        a.send(_parse_describe(b"s1", sql))
        assert pgwire.reply_shape(a) == (["id", "v"], [], None)
        a.send(pgwire.query_message("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table))
        assert pgwire.reply_shape(a)[2] is None
        a.send(_bind_describe_execute(b"s1", b"1"))
        assert pgwire.reply_shape(a) == (["id", "v", "z"], [3], None)
        a.send(_bind_execute(b"s1", b"2"))
        assert pgwire.reply_shape(a) == (None, [3], None)
        a.send(pgwire.message(b"D", b"Ss1\0") + pgwire.message(b"S"))
        assert pgwire.reply_shape(a) == (["id", "v", "z"], [], None)


def _parse(name, sql, oids=()):
    return pgwire.message(b"P", name + b"\0" + sql.encode() + b"\0" + struct.pack("!h", len(oids)) +
                          b"".join(struct.pack("!i", o) for o in oids))


def _alter(conn, table):
    conn.send(pgwire.query_message("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table))
    assert pgwire.reply_shape(conn)[2] is None


def test_unnamed_statement_parsed_again_after_the_change(pgiris_one, backend):
    """Parse of the unnamed statement, even with the same text, makes a new statement:
    after the change it runs with the new columns, as in PostgreSQL."""
    with raw_client_on_a_table(pgiris_one, backend, "sc_unnamed") as (a, table, sql):
        a.send(_parse(b"", sql) + _bind_describe_execute(b"", b"1"))
        assert pgwire.reply_shape(a) == (["id", "v"], [2], None)
        _alter(a, table)
        for key in (b"1", b"2"):
            a.send(_parse(b"", sql) + _bind_execute(b"", key))
            assert pgwire.reply_shape(a) == (None, [3], None)


def test_statement_parsed_after_the_change_runs(pgiris_one, backend):
    """A statement parsed after the change holds no old columns, even when another
    statement of the same text, described before, would be refused."""
    with raw_client_on_a_table(pgiris_one, backend, "sc_fresh") as (a, table, sql):
        a.send(_parse_describe(b"s1", sql))
        assert pgwire.reply_shape(a)[0] == ["id", "v"]
        _alter(a, table)
        a.send(_parse(b"s2", sql) + _bind_execute(b"s2", b"1"))
        assert pgwire.reply_shape(a) == (None, [3], None)
        a.send(_bind_execute(b"s1", b"1"))
        assert pgwire.reply_shape(a) == (None, [], "0A000")


def test_describing_run_that_failed_told_the_client_nothing(pgiris_one, backend):
    """After the change, a run that was to describe its portal fails before its
    RowDescription (a bad value): the client still holds the old columns, and the
    next run without a description is refused, as in PostgreSQL."""
    with raw_client_on_a_table(pgiris_one, backend, "sc_failed") as (a, table, sql):
        a.send(_parse(b"s1", sql, (23,)) + pgwire.message(b"D", b"Ss1\0") + pgwire.message(b"S"))
        assert pgwire.reply_shape(a)[0] == ["id", "v"]
        _alter(a, table)
        a.send(_bind_describe_execute(b"s1", b"abc"))
        failed = pgwire.reply_shape(a)
        assert failed[0] is None and failed[2] == "22P02"
        a.send(_bind_execute(b"s1", b"1"))
        assert pgwire.reply_shape(a) == (None, [], "0A000")


def test_statement_parsed_after_a_change_made_elsewhere(pgiris_one, postgres):
    """The table changes on PostgreSQL behind pgiris's back, under a server-side plan.
    A statement parsed afterwards may meet PostgreSQL's own 0A000 once (the handle is
    then dropped), and runs from then on, as it would on PostgreSQL."""
    with raw_client_on_a_table(pgiris_one, "pg", "sc_outside") as (a, table, sql):
        a.send(_parse(b"s0", sql) + pgwire.message(b"S"))
        pgwire.reply_shape(a)
        for _ in range(4):      # past psqlODBC's cursor runs: a plan prepared on the server
            a.send(_bind_execute(b"s0", b"1"))
            assert pgwire.reply_shape(a) == (None, [2], None)
        with postgres.connect() as direct:
            direct.execute("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table)
        a.send(_parse(b"s9", sql) + pgwire.message(b"S"))
        pgwire.reply_shape(a)
        a.send(_bind_execute(b"s9", b"1"))
        pgwire.reply_shape(a)
        for _ in range(2):
            a.send(_bind_execute(b"s9", b"1"))
            assert pgwire.reply_shape(a) == (None, [3], None)


def changed_on_the_other_connection(pgiris, backend, prefix):
    """Clients a and b on the two connections; a's caches a statement on its table, b adds a column.
    a's next statement runs on the connection that has not seen the change."""
    a = pgiris.connect(backend, autocommit=False)
    b = pgiris.connect(backend, autocommit=False)
    with pgiris.connect(backend) as setup:
        table = fresh_table(setup, prefix)
    select_all(a, table, 1)
    b.execute("SELECT 1")
    a.commit()
    b.execute("ALTER TABLE %s ADD COLUMN z integer DEFAULT 7" % table)
    b.commit()
    b.execute("SELECT 1")
    return a, b, table


def test_copy_from_after_a_change_on_another_connection(pgiris, backend):
    a, b, table = changed_on_the_other_connection(pgiris, backend, "sc_copy")
    try:
        with a.cursor().copy("COPY %s FROM STDIN" % table) as cp:
            cp.write_row((3, "three", 9))
        a.commit()
        b.commit()
        with pgiris.connect(backend) as check:
            assert check.execute("SELECT z FROM %s WHERE id = 3" % table).fetchall() == [(9,)]
    finally:
        a.close()
        b.close()


def test_copy_to_after_a_change_on_another_connection(pgiris, backend):
    a, b, table = changed_on_the_other_connection(pgiris, backend, "sc_copyto")
    try:
        with a.cursor().copy("COPY %s TO STDOUT" % table) as cp:
            rows = list(cp.rows())
        a.commit()
        b.commit()
        assert sorted(rows) == [("1", "one", "7"), ("2", "two", "7")]
    finally:
        a.close()
        b.close()
