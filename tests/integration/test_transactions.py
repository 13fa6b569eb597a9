"""Transactions through the transaction pool: what another client sees after
COMMIT and ROLLBACK, isolation while a transaction is open, and the
transaction status that ReadyForQuery reports to the client."""

import uuid

import psycopg
import pytest


IDLE = psycopg.pq.TransactionStatus.IDLE
INTRANS = psycopg.pq.TransactionStatus.INTRANS


@pytest.fixture
def table(make_table):
    return make_table("id INTEGER PRIMARY KEY, v VARCHAR(20)", prefix="tx")


def ids(conn, table):
    return [r[0] for r in conn.execute("SELECT id FROM %s ORDER BY id" % table)]


def test_commit_is_visible_to_another_client(pgiris, backend, table):
    with pgiris.connect(backend) as a, pgiris.connect(backend) as b:
        a.execute("BEGIN")
        assert a.info.transaction_status == INTRANS
        a.execute("INSERT INTO %s VALUES (1, 'a')" % table)
        a.execute("INSERT INTO %s VALUES (2, 'b')" % table)
        assert ids(a, table) == [1, 2]
        a.execute("COMMIT")
        assert a.info.transaction_status == IDLE
        assert ids(b, table) == [1, 2]
    assert [r[0] for r in pgiris.direct(backend, "SELECT id FROM %s ORDER BY id" % table)] == [1, 2]


def test_rollback_is_not_visible(pgiris, backend, table):
    with pgiris.connect(backend) as a, pgiris.connect(backend) as b:
        a.execute("BEGIN")
        a.execute("INSERT INTO %s VALUES (10, 'gone')" % table)
        assert ids(a, table) == [10]
        a.execute("ROLLBACK")
        assert a.info.transaction_status == IDLE
        assert ids(a, table) == []
        assert ids(b, table) == []
    assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table) == [(0,)]


def test_psycopg_transaction_api(pgiris, backend, table):
    # psycopg's default mode: an implicit BEGIN, then commit() / rollback().
    with pgiris.connect(backend, autocommit=False) as a, pgiris.connect(backend) as b:
        a.execute("INSERT INTO %s VALUES (1, 'kept')" % table)
        assert a.info.transaction_status == INTRANS
        a.commit()
        a.execute("INSERT INTO %s VALUES (2, 'dropped')" % table)
        a.rollback()
        with a.transaction():
            a.execute("INSERT INTO %s VALUES (3, 'kept too')" % table)
        assert a.info.transaction_status == IDLE
        assert ids(b, table) == [1, 3]


def test_error_inside_transaction(pgiris, backend, table):
    with pgiris.connect(backend) as a, pgiris.connect(backend) as b:
        a.execute("BEGIN")
        a.execute("INSERT INTO %s VALUES (1, 'x')" % table)
        with pytest.raises(psycopg.Error) as info:
            a.execute("INSERT INTO %s VALUES (1, 'duplicate')" % table)
        assert info.value.sqlstate == "23505"
        a.execute("ROLLBACK")
        assert a.info.transaction_status == IDLE
        assert ids(a, table) == []
        assert ids(b, table) == []
        assert a.execute("SELECT 'r1'").fetchone() == ("r1",)


INERROR = psycopg.pq.TransactionStatus.INERROR


# Errors pgiris answers in the worker, without the backend: each aborts the block as PostgreSQL's would.
@pytest.mark.parametrize("bad, sqlstate", [
    ("SHOW no_such_setting", "42704"),
    ("EXECUTE no_such_statement", "26000"),
    ("SET statement_timeout = 'soon'", "22023"),
    ("SELECT {fn 1}", "42601"),
])
def test_error_answered_by_pgiris_aborts_the_block(pgiris, backend, table, bad, sqlstate):
    with pgiris.connect(backend) as a:
        a.execute("BEGIN")
        a.execute("INSERT INTO %s VALUES (1, 'kept?')" % table)
        with pytest.raises(psycopg.Error) as info:
            a.execute(bad)
        assert info.value.sqlstate == sqlstate
        assert a.info.transaction_status == INERROR
        with pytest.raises(psycopg.Error) as info:
            a.execute("SELECT 1")
        assert info.value.sqlstate == "25P02"
        # COMMIT of the aborted block rolls back, and says so.
        cur = a.execute("COMMIT")
        assert cur.statusmessage == "ROLLBACK"
        assert a.info.transaction_status == IDLE
    assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table)[0][0] == 0


def test_rollback_to_savepoint_clears_an_error_answered_by_pgiris(pgiris, backend, table):
    with pgiris.connect(backend) as a:
        a.execute("BEGIN")
        a.execute("INSERT INTO %s VALUES (1, 'before')" % table)
        a.execute("SAVEPOINT s")
        a.execute("INSERT INTO %s VALUES (2, 'after')" % table)
        with pytest.raises(psycopg.Error):
            a.execute("EXECUTE no_such_statement")
        with pytest.raises(psycopg.Error) as info:
            a.execute("RELEASE SAVEPOINT s")
        assert info.value.sqlstate == "25P02"
        a.execute("ROLLBACK TO SAVEPOINT s")
        assert a.info.transaction_status == INTRANS
        assert a.execute("COMMIT").statusmessage == "COMMIT"
    assert [r[0] for r in pgiris.direct(backend, "SELECT id FROM %s ORDER BY id" % table)] == [1]


def test_uncommitted_rows_are_isolated(pgiris, postgres):
    # PostgreSQL: a second client neither sees nor waits for A's open
    # transaction, and sees everything once A commits.
    name = "iso_%s" % uuid.uuid4().hex[:10]
    with pgiris.connect("pg") as a, pgiris.connect("pg") as b:
        a.execute("CREATE TABLE %s (id INTEGER PRIMARY KEY)" % name)
        try:
            a.execute("BEGIN")
            a.execute("INSERT INTO %s SELECT generate_series(1, 50)" % name)
            assert a.execute("SELECT count(*) FROM %s" % name).fetchone() == (50,)
            assert b.execute("SELECT count(*) FROM %s" % name).fetchone() == (0,)
            assert postgres.query("SELECT count(*) FROM %s" % name) == [(0,)]
            a.execute("COMMIT")
            assert b.execute("SELECT count(*) FROM %s" % name).fetchone() == (50,)
        finally:
            a.execute("DROP TABLE %s" % name)


def test_transaction_keeps_its_backend_session(pgiris):
    # A temporary table lives in one backend session; inside a transaction
    # every statement must reach the same backend connection.
    with pgiris.connect("pg") as a, pgiris.connect("pg") as b:
        a.execute("BEGIN")
        a.execute("CREATE TEMPORARY TABLE tmp_kept (x integer) ON COMMIT DROP")
        for i in range(20):
            a.execute("INSERT INTO tmp_kept VALUES (%d)" % i)
            # Another client's statements in between must not move A.
            b.execute("SELECT 'b%d'" % i)
        assert a.execute("SELECT count(*), sum(x) FROM tmp_kept").fetchone() == (20, 190)
        a.execute("COMMIT")


def test_set_follows_the_transaction_block(pgiris, backend):
    """SET undone by ROLLBACK, kept by COMMIT; SET LOCAL gone at either; as PostgreSQL does."""
    with pgiris.connect(backend) as conn:
        show = lambda: conn.execute("SHOW application_name").fetchone()[0]
        conn.execute("SET application_name = 'before'")
        conn.execute("BEGIN")
        conn.execute("SET application_name = 'inside'")
        assert show() == "inside"
        conn.execute("ROLLBACK")
        assert show() == "before"
        assert conn.info.parameter_status("application_name") == "before"
        conn.execute("BEGIN")
        conn.execute("SET application_name = 'kept'")
        conn.execute("COMMIT")
        assert show() == "kept"
        conn.execute("BEGIN")
        conn.execute("SET LOCAL application_name = 'local'")
        assert show() == "local"
        conn.execute("COMMIT")
        assert show() == "kept"
        # SET then SET LOCAL: COMMIT keeps the SET, not the value from before the block.
        conn.execute("BEGIN")
        conn.execute("SET application_name = 'session'")
        conn.execute("SET LOCAL application_name = 'local'")
        assert show() == "local"
        conn.execute("COMMIT")
        assert show() == "session"
        # SET LOCAL then SET: the SET wins at COMMIT.
        conn.execute("BEGIN")
        conn.execute("SET LOCAL application_name = 'local'")
        conn.execute("SET application_name = 'kept'")
        conn.execute("COMMIT")
        assert show() == "kept"
        # A failed transaction rolls back its SETs too, even when it ends with COMMIT.
        conn.execute("BEGIN")
        conn.execute("SET application_name = 'doomed'")
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT * FROM no_such_table_here")
        conn.execute("COMMIT")
        assert show() == "kept"
        # RESET inside a rolled-back transaction is undone as well.
        conn.execute("BEGIN")
        conn.execute("RESET application_name")
        assert show() == ""
        conn.execute("ROLLBACK")
        assert show() == "kept"


def test_set_local_outside_a_block_and_over_the_extended_protocol(pgiris, backend):
    """SET LOCAL outside a transaction block only warns, as PostgreSQL does;
    through Parse/Bind/Execute, SET follows the block as through a Query."""
    with pgiris.connect(backend) as conn:
        notices = []
        conn.add_notice_handler(lambda d: notices.append((d.sqlstate, d.message_primary)))
        show = lambda: conn.execute("SHOW application_name").fetchone()[0]
        conn.execute("SET application_name = 'kept'")
        for prepare in (False, True):
            conn.execute("SET LOCAL application_name = 'local'", prepare=prepare)
            assert show() == "kept"
        assert notices == [("25P01", "SET LOCAL can only be used in transaction blocks")] * 2
        conn.execute("BEGIN")
        conn.execute("SET LOCAL application_name = 'local'", prepare=True)
        assert show() == "local"
        conn.execute("COMMIT")
        assert show() == "kept"
        conn.execute("BEGIN")
        conn.execute("SET application_name = 'inside'", prepare=True)
        conn.execute("ROLLBACK")
        assert show() == "kept"
        conn.execute("BEGIN")
        conn.execute("RESET application_name", prepare=True)
        conn.execute("ROLLBACK")
        assert show() == "kept"


def test_statement_timeout_is_shown_in_its_unit(pgiris):
    with pgiris.connect("demo") as conn:
        for value, shown in (("1500", "1500ms"), ("'2s'", "2s"), ("'120s'", "2min"), ("0", "0"),
                             ("'1h'", "1h")):
            conn.execute("SET statement_timeout = %s" % value)
            assert conn.execute("SHOW statement_timeout").fetchone()[0] == shown
