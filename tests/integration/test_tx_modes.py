"""Transaction modes (isolation level, READ ONLY / READ WRITE, DEFERRABLE)
and savepoints, through the simple and the extended protocol.

A mode belongs to one transaction: it must not leak into the next
transaction, nor to another client that gets the same backend connection
(the "single" instance has one backend connection per database, so every
client shares it).
"""

import uuid

import psycopg
import pytest

import pgwire
from pgwire import message, parse_bind_execute

IDLE = psycopg.pq.TransactionStatus.IDLE
INTRANS = psycopg.pq.TransactionStatus.INTRANS
INERROR = psycopg.pq.TransactionStatus.INERROR


@pytest.fixture(scope="module")
def single(module_pgiris_factory):
    return module_pgiris_factory(
        settings={"query_wait_timeout": 5, "default_pool_size": 1, "min_pool_size": 1},
        databases={"demo": {"pool_size": 1}, "pg": {"pool_size": 1}})


def make_table(inst, backend):
    name = "txm_%s" % uuid.uuid4().hex[:10]
    with inst.connect(backend) as conn:
        conn.execute("CREATE TABLE %s (id INTEGER PRIMARY KEY, v VARCHAR(20))" % name)
    return name


@pytest.fixture
def table(pgiris, backend):
    name = make_table(pgiris, backend)
    yield name
    with pgiris.connect(backend) as conn:
        conn.execute("DROP TABLE %s" % name)


@pytest.fixture
def single_table(single, backend):
    name = make_table(single, backend)
    yield name
    with single.connect(backend) as conn:
        conn.execute("DROP TABLE %s" % name)


def ids(inst, backend, table):
    return [r[0] for r in inst.direct(backend, "SELECT id FROM %s ORDER BY id" % table)]


def run(conn, sql):
    """Execute sql; return its command tag."""
    return conn.execute(sql).statusmessage


# -- modes ------------------------------------------------------------------------

# (statement, its tag, transaction_isolation and transaction_read_only on PostgreSQL)
MODES = [
    ("BEGIN ISOLATION LEVEL SERIALIZABLE", "BEGIN", "serializable", "off"),
    ("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", "START TRANSACTION",
     "repeatable read", "on"),
    ("BEGIN READ WRITE", "BEGIN", "read committed", "off"),
    ("BEGIN ISOLATION LEVEL READ COMMITTED", "BEGIN", "read committed", "off"),
    ("BEGIN TRANSACTION ISOLATION LEVEL READ UNCOMMITTED", "BEGIN", "read uncommitted", "off"),
    ("BEGIN WORK ISOLATION LEVEL REPEATABLE READ", "BEGIN", "repeatable read", "off"),
    ("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE", "BEGIN", "serializable", "on"),
    ("begin read only, isolation level serializable", "BEGIN", "serializable", "on"),
    ("START TRANSACTION NOT DEFERRABLE", "START TRANSACTION", "read committed", "off"),
]


@pytest.mark.parametrize("mode", MODES, ids=[m[0] for m in MODES])
def test_begin_with_mode(pgiris, backend, mode):
    sql, tag, isolation, read_only = mode
    with pgiris.connect(backend) as conn:
        assert run(conn, sql) == tag
        assert conn.info.transaction_status == INTRANS
        assert conn.execute("SELECT name FROM customers WHERE id = 3").fetchone() == (
            "Dmitri Almeida",)
        if backend == "pg":
            assert conn.execute(
                "SELECT current_setting('transaction_isolation'),"
                " current_setting('transaction_read_only')").fetchone() == (isolation, read_only)
        assert run(conn, "COMMIT") == "COMMIT"
        assert conn.info.transaction_status == IDLE
        if backend == "pg":
            assert conn.execute(
                "SELECT current_setting('transaction_isolation'),"
                " current_setting('transaction_read_only')").fetchone() == ("read committed", "off")


@pytest.fixture
def pg_table(pgiris):
    name = make_table(pgiris, "pg")
    yield name
    with pgiris.connect("pg") as conn:
        conn.execute("DROP TABLE %s" % name)


def test_repeatable_read_takes_effect(pgiris, postgres, pg_table):
    # PostgreSQL: a REPEATABLE READ snapshot does not see a row committed
    # after it began; the next (default) transaction does.
    table = pg_table
    with pgiris.connect("pg") as conn:
        conn.execute("INSERT INTO %s VALUES (1, 'one')" % table)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        assert conn.execute("SELECT count(*) FROM %s" % table).fetchone() == (1,)
        with postgres.connect() as other:
            other.execute("INSERT INTO %s VALUES (2, 'two')" % table)
        assert conn.execute("SELECT count(*) FROM %s" % table).fetchone() == (1,)
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        assert conn.execute("SELECT count(*) FROM %s" % table).fetchone() == (2,)
        with postgres.connect() as other:
            other.execute("INSERT INTO %s VALUES (3, 'three')" % table)
        # Read committed: each statement sees what is committed.
        assert conn.execute("SELECT count(*) FROM %s" % table).fetchone() == (3,)
        conn.execute("COMMIT")


def test_modes_do_not_leak_to_the_next_transaction_or_client(single):
    # One backend connection for both clients (the same backend pid).
    check = ("SELECT current_setting('transaction_isolation'),"
             " current_setting('transaction_read_only'), pg_backend_pid()")
    with single.connect("pg") as a, single.connect("pg") as b:
        a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        iso, ro, pid = a.execute(check).fetchone()
        assert (iso, ro) == ("repeatable read", "on")
        a.execute("COMMIT")

        a.execute("BEGIN")
        assert a.execute(check).fetchone() == ("read committed", "off", pid)
        a.execute("COMMIT")
        assert a.execute(check).fetchone() == ("read committed", "off", pid)

        a.execute("START TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        assert a.execute(check).fetchone() == ("serializable", "off", pid)
        a.execute("ROLLBACK")
        assert b.execute(check).fetchone() == ("read committed", "off", pid)
        b.execute("BEGIN")
        assert b.execute(check).fetchone() == ("read committed", "off", pid)
        b.execute("COMMIT")

        # A client that leaves in the middle of a READ ONLY transaction.
        with single.connect("pg") as c:
            c.execute("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY")
            assert c.execute(check).fetchone() == ("serializable", "on", pid)
        assert b.execute(check).fetchone()[:2] == ("read committed", "off")


# -- READ ONLY ------------------------------------------------------------------------

READ_ONLY_MESSAGE = {
    "pg": "cannot execute INSERT in a read-only transaction",
    "demo": "attempt to write a readonly database",
}


def test_read_only_transaction(pgiris, backend, table):
    with pgiris.connect(backend) as conn:
        conn.execute("INSERT INTO %s VALUES (1, 'before')" % table)
        conn.execute("BEGIN READ ONLY")
        assert conn.execute("SELECT id, v FROM %s" % table).fetchall() == [(1, "before")]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as info:
            conn.execute("INSERT INTO %s VALUES (2, 'refused')" % table)
        assert info.value.sqlstate == "25006"
        assert info.value.diag.message_primary == READ_ONLY_MESSAGE[backend]
        assert conn.info.transaction_status == INERROR
        conn.execute("ROLLBACK")
        assert conn.info.transaction_status == IDLE

        # Read-only does not stay behind.
        conn.execute("INSERT INTO %s VALUES (3, 'autocommit')" % table)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO %s VALUES (4, 'in a transaction')" % table)
        conn.execute("COMMIT")

        # READ ONLY ended by COMMIT, then READ WRITE.
        conn.execute("START TRANSACTION READ ONLY")
        assert conn.execute("SELECT count(*) FROM %s" % table).fetchone()[0] in (3, "3")
        conn.execute("COMMIT")
        conn.execute("BEGIN READ WRITE")
        conn.execute("UPDATE %s SET v = 'updated' WHERE id = 1" % table)
        conn.execute("COMMIT")
    assert pgiris.direct(backend, "SELECT id, v FROM %s ORDER BY id" % table) == [
        (1, "updated"), (3, "autocommit"), (4, "in a transaction")]


def test_read_only_does_not_leak_to_another_client(single, backend, single_table):
    table = single_table
    with single.connect(backend) as a, single.connect(backend) as b:
        # Ended by ROLLBACK after the error.
        a.execute("BEGIN READ ONLY")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            a.execute("INSERT INTO %s VALUES (1, 'a')" % table)
        a.execute("ROLLBACK")
        b.execute("INSERT INTO %s VALUES (2, 'b')" % table)

        # Ended by COMMIT without an error.
        a.execute("BEGIN READ ONLY")
        a.execute("SELECT count(*) FROM %s" % table)
        a.execute("COMMIT")
        b.execute("INSERT INTO %s VALUES (3, 'b')" % table)

        # Left open by a client that goes away.
        with single.connect(backend) as c:
            c.execute("START TRANSACTION READ ONLY")
            c.execute("SELECT count(*) FROM %s" % table)
        b.execute("BEGIN")
        b.execute("INSERT INTO %s VALUES (4, 'b')" % table)
        b.execute("COMMIT")
        a.execute("INSERT INTO %s VALUES (5, 'a')" % table)
    assert ids(single, backend, table) == [2, 3, 4, 5]


@pytest.mark.parametrize("sql", [
    "BEGIN ISOLATION LEVEL SOMETIMES",
    "BEGIN READ SOMETIMES",
    "START TRANSACTION ISOLATION LEVEL",
    "BEGIN ISOLATION SERIALIZABLE",
    "BEGIN READ ONLY,",
])
def test_bad_mode(pgiris, backend, table, sql):
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.errors.SyntaxError) as info:
            conn.execute(sql)
        assert info.value.sqlstate == "42601"
        assert conn.info.transaction_status == IDLE
        # No transaction was opened: this INSERT commits by itself.
        conn.execute("INSERT INTO %s VALUES (1, 'x')" % table)
        assert conn.info.transaction_status == IDLE
    assert ids(pgiris, backend, table) == [1]


# -- savepoints ---------------------------------------------------------------------

def test_savepoint_rollback_to_and_release(pgiris, backend, table):
    with pgiris.connect(backend) as conn:
        assert run(conn, "BEGIN") == "BEGIN"
        assert run(conn, "SAVEPOINT a") == "SAVEPOINT"
        conn.execute("INSERT INTO %s VALUES (1, 'one')" % table)
        assert run(conn, "SAVEPOINT b") == "SAVEPOINT"
        conn.execute("INSERT INTO %s VALUES (2, 'two')" % table)
        assert run(conn, "ROLLBACK TO SAVEPOINT b") == "ROLLBACK"
        assert conn.info.transaction_status == INTRANS
        assert [r[0] for r in conn.execute("SELECT id FROM %s ORDER BY id" % table)] == [1]
        assert run(conn, "RELEASE SAVEPOINT a") == "RELEASE"
        assert conn.info.transaction_status == INTRANS
        assert run(conn, "COMMIT") == "COMMIT"
        assert conn.info.transaction_status == IDLE
    assert ids(pgiris, backend, table) == [1]


def test_rollback_to_short_and_long_forms(pgiris, backend, table):
    with pgiris.connect(backend) as conn:
        conn.execute("BEGIN")
        conn.execute("SAVEPOINT a")
        conn.execute("INSERT INTO %s VALUES (1, 'gone')" % table)
        assert run(conn, "ROLLBACK TO a") == "ROLLBACK"
        # The savepoint stays after ROLLBACK TO: roll back to it again.
        conn.execute("INSERT INTO %s VALUES (2, 'gone too')" % table)
        assert run(conn, "ROLLBACK TRANSACTION TO SAVEPOINT a") == "ROLLBACK"
        conn.execute("INSERT INTO %s VALUES (3, 'kept')" % table)
        assert run(conn, "RELEASE a") == "RELEASE"
        conn.execute("COMMIT")
    assert ids(pgiris, backend, table) == [3]


def test_other_spellings(pgiris, backend, table):
    # PostgreSQL's optional noise words and quoted savepoint names.
    with pgiris.connect(backend) as conn:
        assert run(conn, "BEGIN TRANSACTION") == "BEGIN"
        assert run(conn, 'SAVEPOINT "Mixed Case"') == "SAVEPOINT"
        conn.execute("INSERT INTO %s VALUES (1, 'gone')" % table)
        assert run(conn, 'ROLLBACK TO SAVEPOINT "Mixed Case"') == "ROLLBACK"
        assert run(conn, 'RELEASE SAVEPOINT "Mixed Case"') == "RELEASE"
        conn.execute("INSERT INTO %s VALUES (2, 'kept')" % table)
        assert run(conn, "COMMIT WORK") == "COMMIT"
        assert run(conn, "START TRANSACTION") == "START TRANSACTION"
        conn.execute("INSERT INTO %s VALUES (3, 'kept')" % table)
        assert run(conn, "END") == "COMMIT"
        assert run(conn, "BEGIN WORK") == "BEGIN"
        conn.execute("INSERT INTO %s VALUES (4, 'gone')" % table)
        assert run(conn, "ABORT") == "ROLLBACK"
        assert conn.info.transaction_status == IDLE

        conn.execute("BEGIN")
        assert run(conn, "SAVEPOINT b") == "SAVEPOINT"
        conn.execute("INSERT INTO %s VALUES (5, 'gone')" % table)
        assert run(conn, "ROLLBACK WORK TO b") == "ROLLBACK"
        conn.execute("INSERT INTO %s VALUES (6, 'kept')" % table)
        assert run(conn, "COMMIT TRANSACTION") == "COMMIT"
    assert ids(pgiris, backend, table) == [2, 3, 6]


def test_nested_and_repeated_savepoint_names(pgiris, backend, table):
    with pgiris.connect(backend) as conn:
        conn.execute("BEGIN")
        conn.execute("SAVEPOINT a")
        conn.execute("INSERT INTO %s VALUES (1, 'x')" % table)
        conn.execute("SAVEPOINT a")  # a second "a" hides the first
        conn.execute("INSERT INTO %s VALUES (2, 'x')" % table)
        conn.execute("ROLLBACK TO SAVEPOINT a")  # the newer one
        assert [r[0] for r in conn.execute("SELECT id FROM %s ORDER BY id" % table)] == [1]
        conn.execute("RELEASE SAVEPOINT a")  # the newer one
        conn.execute("ROLLBACK TO SAVEPOINT a")  # now the older one
        assert conn.execute("SELECT id FROM %s" % table).fetchall() == []
        # Releasing an outer savepoint releases the inner ones too.
        conn.execute("SAVEPOINT outer_sp")
        conn.execute("SAVEPOINT inner_sp")
        conn.execute("INSERT INTO %s VALUES (3, 'x')" % table)
        conn.execute("RELEASE SAVEPOINT outer_sp")
        with pytest.raises(psycopg.errors.InvalidSavepointSpecification):
            conn.execute("ROLLBACK TO SAVEPOINT inner_sp")
        assert conn.info.transaction_status == INERROR
        conn.execute("ROLLBACK")
    assert ids(pgiris, backend, table) == []


def test_error_recovery_with_savepoint(pgiris, backend, table):
    with pgiris.connect(backend) as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO %s VALUES (1, 'before')" % table)
        conn.execute("SAVEPOINT s")
        conn.execute("INSERT INTO %s VALUES (2, 'undone')" % table)
        with pytest.raises(psycopg.errors.UndefinedTable) as info:
            conn.execute("SELECT * FROM no_such_table_here")
        assert info.value.sqlstate == "42P01"
        assert conn.info.transaction_status == INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction) as info:
            conn.execute("SELECT 1")
        assert info.value.sqlstate == "25P02"
        assert conn.info.transaction_status == INERROR
        assert run(conn, "ROLLBACK TO SAVEPOINT s") == "ROLLBACK"
        assert conn.info.transaction_status == INTRANS
        conn.execute("INSERT INTO %s VALUES (3, 'after')" % table)
        # The savepoint is still there: a second failure, a second recovery.
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO %s VALUES (1, 'duplicate')" % table)
        assert conn.info.transaction_status == INERROR
        conn.execute("ROLLBACK TO s")
        assert conn.info.transaction_status == INTRANS
        conn.execute("INSERT INTO %s VALUES (4, 'last')" % table)
        assert run(conn, "COMMIT") == "COMMIT"
        assert conn.info.transaction_status == IDLE
    assert ids(pgiris, backend, table) == [1, 4]


def backend_read_only(conn, backend):
    """Whether the backend itself holds the transaction read-only."""
    if backend == "pg":
        return conn.execute("SELECT current_setting('transaction_read_only')").fetchone()[0] == "on"
    return conn.execute("PRAGMA query_only").fetchone()[0] in (1, "1")


def test_set_transaction_in_a_block(pgiris, backend, table):
    with pgiris.connect(backend) as conn:
        notices = []
        conn.add_notice_handler(lambda d: notices.append((d.sqlstate, d.message_primary)))
        # Outside a block: PostgreSQL's warning, and no effect.
        assert run(conn, "SET TRANSACTION READ ONLY") == "SET"
        assert notices == [("25P01", "SET TRANSACTION can only be used in transaction blocks")]
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("off",)
        conn.execute("INSERT INTO %s VALUES (1, 'outside')" % table)

        # After a query, READ ONLY takes hold, on the backend and in SHOW.
        conn.execute("BEGIN")
        conn.execute("INSERT INTO %s VALUES (2, 'undone')" % table)
        assert run(conn, "SET LOCAL TRANSACTION READ ONLY") == "SET"
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)
        assert backend_read_only(conn, backend)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO %s VALUES (3, 'refused')" % table)
        assert run(conn, "ROLLBACK") == "ROLLBACK"
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("off",)

        # Before any query (SHOW is pgiris's): the isolation level, and READ
        # WRITE again; the next block has the defaults.
        conn.execute("BEGIN")
        assert run(conn, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY") == "SET"
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)
        assert run(conn, "SET TRANSACTION READ WRITE") == "SET"
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("off",)
        assert not backend_read_only(conn, backend)
        if backend == "pg":
            assert conn.execute("SELECT current_setting('transaction_isolation')").fetchone() == (
                "serializable",)
        conn.execute("INSERT INTO %s VALUES (4, 'kept')" % table)
        assert run(conn, "COMMIT") == "COMMIT"
        conn.execute("BEGIN")
        conn.execute("SELECT 1")
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("read committed",)
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("off",)
        assert not backend_read_only(conn, backend)
        conn.execute("INSERT INTO %s VALUES (5, 'kept')" % table)
        assert run(conn, "COMMIT") == "COMMIT"
        assert not backend_read_only(conn, backend)

        # No mode at all is PostgreSQL's syntax error, and ends the block.
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("SET TRANSACTION")
        assert conn.info.transaction_status == INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SET TRANSACTION READ ONLY")
        conn.execute("ROLLBACK")
    assert ids(pgiris, backend, table) == [1, 4, 5]


def test_set_transaction_extended_protocol(pgiris, backend, table):
    conn = pgwire.Conn(pgiris.port)
    try:
        conn.startup("demo", backend, pgiris.users["demo"])
        assert run_extended(conn, "SET TRANSACTION READ ONLY", notices=True) == (["N 25P01", "SET"], b"I")
        assert run_extended(conn, "BEGIN", "INSERT INTO %s VALUES (1, 'undone')" % table,
                            "SET TRANSACTION READ ONLY", "INSERT INTO %s VALUES (2, 'refused')" % table) == (
            ["BEGIN", "INSERT 0 1", "SET", "E 25006"], b"E")
        assert run_extended(conn, "ROLLBACK") == (["ROLLBACK"], b"I")
        assert run_extended(conn, "BEGIN", "SET TRANSACTION") == (["BEGIN", "E 42601"], b"E")
        assert run_extended(conn, "ROLLBACK") == (["ROLLBACK"], b"I")
        assert run_extended(conn, "INSERT INTO %s VALUES (3, 'kept')" % table) == (["INSERT 0 1"], b"I")
    finally:
        conn.close()
    assert ids(pgiris, backend, table) == [3]


@pytest.mark.parametrize("backend", ["pg"])
def test_set_transaction_after_a_query_holds(pgiris, backend, table):
    # psqlODBC's default rollback on errors puts every statement of a
    # transaction but the first in a SAVEPOINT and a RELEASE, and PostgreSQL
    # gives the transaction its read-only mode back when a subtransaction
    # ends: the SET undid itself.  pgiris connects with Protocol=7.4-0.
    with pgiris.connect(backend) as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO %s VALUES (1, 'first')" % table)
        assert run(conn, "SET TRANSACTION READ ONLY") == "SET"
        assert conn.execute("SELECT current_setting('transaction_read_only')").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO %s VALUES (2, 'refused')" % table)
        assert conn.info.transaction_status == INERROR
        assert run(conn, "ROLLBACK") == "ROLLBACK"
        # The mode was this transaction's alone.
        conn.execute("BEGIN")
        conn.execute("SELECT 1")
        conn.execute("INSERT INTO %s VALUES (3, 'next')" % table)
        assert conn.execute("SELECT current_setting('transaction_read_only')").fetchone() == ("off",)
        assert run(conn, "COMMIT") == "COMMIT"
    assert ids(pgiris, backend, table) == [3]


def test_commit_of_a_failed_transaction_rolls_back(pgiris, backend, table):
    with pgiris.connect(backend) as conn:
        conn.execute("BEGIN")
        conn.execute("SAVEPOINT s")
        conn.execute("INSERT INTO %s VALUES (1, 'x')" % table)
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM no_such_table_here")
        # COMMIT of a failed transaction is a ROLLBACK, as in PostgreSQL.
        assert run(conn, "COMMIT") == "ROLLBACK"
        assert conn.info.transaction_status == IDLE
    assert ids(pgiris, backend, table) == []


@pytest.mark.parametrize("sql, msg", [
    ("SAVEPOINT x", "SAVEPOINT can only be used in transaction blocks"),
    ("RELEASE SAVEPOINT x", "RELEASE SAVEPOINT can only be used in transaction blocks"),
    ("RELEASE x", "RELEASE SAVEPOINT can only be used in transaction blocks"),
    ("ROLLBACK TO SAVEPOINT x", "ROLLBACK TO SAVEPOINT can only be used in transaction blocks"),
    ("ROLLBACK TO x", "ROLLBACK TO SAVEPOINT can only be used in transaction blocks"),
])
def test_savepoint_outside_transaction(pgiris, backend, sql, msg):
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.errors.NoActiveSqlTransaction) as info:
            conn.execute(sql)
        assert info.value.sqlstate == "25P01"
        assert info.value.diag.message_primary == msg
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'fine'").fetchone() == ("fine",)


@pytest.mark.parametrize("sql", ["ROLLBACK TO SAVEPOINT nosp", "RELEASE SAVEPOINT nosp"])
def test_unknown_savepoint(pgiris, backend, table, sql):
    with pgiris.connect(backend) as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO %s VALUES (1, 'x')" % table)
        conn.execute("SAVEPOINT other")
        with pytest.raises(psycopg.errors.InvalidSavepointSpecification) as info:
            conn.execute(sql)
        assert info.value.sqlstate == "3B001"
        assert "nosp" in info.value.diag.message_primary
        assert conn.info.transaction_status == INERROR
        conn.execute("ROLLBACK")
        assert conn.info.transaction_status == IDLE
    assert ids(pgiris, backend, table) == []


def test_psycopg_nested_transactions(pgiris, backend, table):
    # psycopg implements a nested transaction() with SAVEPOINT / RELEASE /
    # ROLLBACK TO SAVEPOINT.
    with pgiris.connect(backend, autocommit=False) as conn:
        with conn.transaction():
            conn.execute("INSERT INTO %s VALUES (1, 'outer')" % table)
            with pytest.raises(psycopg.errors.UniqueViolation):
                with conn.transaction():
                    conn.execute("INSERT INTO %s VALUES (2, 'inner')" % table)
                    conn.execute("INSERT INTO %s VALUES (1, 'duplicate')" % table)
            assert conn.info.transaction_status == INTRANS
            with conn.transaction():
                conn.execute("INSERT INTO %s VALUES (3, 'inner kept')" % table)
            with conn.transaction() as inner:
                conn.execute("INSERT INTO %s VALUES (4, 'rolled back')" % table)
                raise psycopg.Rollback(inner)
        assert conn.info.transaction_status == IDLE
    assert ids(pgiris, backend, table) == [1, 3]


# -- the extended protocol ------------------------------------------------------------

def run_extended(conn, *sqls, notices=False):
    """Send Parse/Bind/Execute for each statement and one Sync; return
    (the command tags and error SQLSTATEs in order, and with notices the
    notices' as "N state", the ReadyForQuery status)."""
    conn.send(b"".join(parse_bind_execute(sql) for sql in sqls) + message(b"S"))
    seen = []
    while True:
        t, payload = conn.read_message()
        if t == b"C":
            seen.append(payload.rstrip(b"\0").decode())
        elif t == b"E" or (t == b"N" and notices):
            seen.append(t.decode() + " " + pgwire.parse_error_fields(payload)["C"])
        elif t == b"Z":
            return seen, payload
        elif t in (b"1", b"2", b"T", b"D", b"n", b"N", b"S"):
            continue
        else:
            raise AssertionError("unexpected message %r %r" % (t, payload))


def test_savepoints_extended_protocol(pgiris, backend, table):
    conn = pgwire.Conn(pgiris.port)
    try:
        conn.startup("demo", backend, pgiris.users["demo"])
        assert run_extended(conn, "SAVEPOINT early") == (["E 25P01"], b"I")
        assert run_extended(conn, "BEGIN") == (["BEGIN"], b"T")
        assert run_extended(conn, "INSERT INTO %s VALUES (1, 'kept')" % table) == (
            ["INSERT 0 1"], b"T")
        assert run_extended(conn, "SAVEPOINT s") == (["SAVEPOINT"], b"T")
        assert run_extended(conn, "INSERT INTO %s VALUES (2, 'undone')" % table) == (
            ["INSERT 0 1"], b"T")
        assert run_extended(conn, "SELECT * FROM no_such_table_here") == (["E 42P01"], b"E")
        assert run_extended(conn, "SELECT 1") == (["E 25P02"], b"E")
        assert run_extended(conn, "ROLLBACK TO SAVEPOINT s") == (["ROLLBACK"], b"T")
        assert run_extended(conn, "INSERT INTO %s VALUES (3, 'after')" % table) == (
            ["INSERT 0 1"], b"T")
        assert run_extended(conn, "RELEASE SAVEPOINT s") == (["RELEASE"], b"T")
        assert run_extended(conn, "ROLLBACK TO SAVEPOINT s") == (["E 3B001"], b"E")
        assert run_extended(conn, "ROLLBACK") == (["ROLLBACK"], b"I")

        # Several statements before one Sync.
        assert run_extended(
            conn, "BEGIN ISOLATION LEVEL SERIALIZABLE", "SAVEPOINT s",
            "INSERT INTO %s VALUES (4, 'undone')" % table, "ROLLBACK TO SAVEPOINT s",
            "INSERT INTO %s VALUES (5, 'kept')" % table, "RELEASE s", "COMMIT") == (
            ["BEGIN", "SAVEPOINT", "INSERT 0 1", "ROLLBACK", "INSERT 0 1", "RELEASE", "COMMIT"],
            b"I")
        assert run_extended(conn, "BEGIN READ ONLY") == (["BEGIN"], b"T")
        assert run_extended(conn, "INSERT INTO %s VALUES (6, 'refused')" % table) == (
            ["E 25006"], b"E")
        assert run_extended(conn, "ROLLBACK") == (["ROLLBACK"], b"I")
        assert run_extended(conn, "BEGIN ISOLATION LEVEL SOMETIMES") == (["E 42601"], b"I")
    finally:
        conn.close()
    assert ids(pgiris, backend, table) == [5]


def test_savepoints_prepared_with_psycopg(pgiris, backend, table):
    # prepare=True makes psycopg send named Parse/Bind/Execute messages.
    with pgiris.connect(backend) as conn:
        for round_ in range(3):
            conn.execute("BEGIN", prepare=True)
            conn.execute("SAVEPOINT sp", prepare=True)
            conn.execute("INSERT INTO %s VALUES (%%s, 'x')" % table, (10 + round_,), prepare=True)
            conn.execute("ROLLBACK TO SAVEPOINT sp", prepare=True)
            assert conn.info.transaction_status == INTRANS
            conn.execute("INSERT INTO %s VALUES (%%s, 'y')" % table, (20 + round_,), prepare=True)
            conn.execute("RELEASE SAVEPOINT sp", prepare=True)
            conn.execute("COMMIT", prepare=True)
            assert conn.info.transaction_status == IDLE
    assert ids(pgiris, backend, table) == [20, 21, 22]
