"""A transaction block's BEGIN under transaction pooling: answered by the
worker and sent to the executor with the block's first statement ('b' in
shm/lease.h), so that the block holds no backend connection until a
statement needs one, and a block in which nothing ran ends in the worker.
A BEGIN that names modes, or whose client has default modes, still goes to
the backend at once.  COMMIT / ROLLBACK AND CHAIN are refused."""

import contextlib
import signal
import threading
import time
import uuid

import psycopg
import pytest

import pgwire


IDLE = psycopg.pq.TransactionStatus.IDLE
INTRANS = psycopg.pq.TransactionStatus.INTRANS


@pytest.fixture
def one(pgiris_factory):
    """One worker, a pool of one connection per database."""
    return pgiris_factory(settings={"workers": 1, "query_wait_timeout": 20, "default_pool_size": 1,
                                    "min_pool_size": 1},
                          databases={"demo": {"pool_size": 1}, "pg": {"pool_size": 1}})


@pytest.fixture
def table(make_table):
    return make_table("id INTEGER PRIMARY KEY", prefix="db")


@contextlib.contextmanager
def pg_table(inst, prefix):
    """A scratch table made and dropped on PostgreSQL directly (the pool may be held)."""
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:8])
    with inst.postgres.connect() as pc:
        pc.autocommit = True
        pc.execute("CREATE TABLE %s (id int)" % name)
    try:
        yield name
    finally:
        with inst.postgres.connect() as pc:
            pc.autocommit = True
            pc.execute("DROP TABLE " + name)


def xacts(inst, database):
    row = [r for r in inst.show("STATS") if r["database"] == database]
    return int(row[0]["total_xact_count"])


def test_an_open_block_holds_no_connection_until_a_statement_runs(one, backend):
    with one.connect(backend) as a, one.connect(backend) as b:
        a.execute("BEGIN")
        assert a.info.transaction_status == INTRANS
        # The pool's only connection is free for another client meanwhile.
        assert int(one.pool(backend)["sv_active"]) == 0
        assert b.execute("SELECT 'b'").fetchone() == ("b",)
        assert a.execute("SELECT 'a'").fetchone() == ("a",)
        assert int(one.pool(backend)["sv_active"]) == 1
        a.execute("COMMIT")
        assert a.info.transaction_status == IDLE


@pytest.mark.parametrize("end", ["COMMIT", "ROLLBACK", "END", "ABORT"])
def test_an_empty_block_ends_without_a_connection(one, backend, end):
    # The only connection is busy for a second: BEGIN and its end are answered at once.
    holder = one.connect(backend)
    job = threading.Thread(target=lambda: holder.execute(
        "SELECT count(*) FROM (WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3000000) "
        "SELECT n FROM r) AS t" if backend == "demo" else "SELECT pg_sleep(1)"))
    job.start()
    try:
        deadline = time.monotonic() + 10
        while int(one.pool(backend)["sv_active"]) == 0:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        before = xacts(one, backend)
        with pgwire.Conn(one.port) as c:
            c.startup("demo", backend, password=one.users["demo"])
            t0 = time.monotonic()
            c.send(pgwire.query_message("BEGIN"))
            assert pgwire.until_ready(c) == [("C", "BEGIN"), ("Z", None)]
            c.send(pgwire.query_message(end))
            seen = pgwire.until_ready(c)
            took = time.monotonic() - t0
            assert seen == [("C", "COMMIT" if end in ("COMMIT", "END") else "ROLLBACK"), ("Z", None)]
        assert took < 0.5, took
        assert int(one.pool(backend)["sv_active"]) == 1      # the holder's, still running
        assert xacts(one, backend) == before + 1
    finally:
        job.join(30)
        holder.close()


def status_after(conn, data, readies=1):
    """Send data; the transaction status of its last ReadyForQuery, and every message before."""
    conn.send(data)
    seen = []
    for _ in range(readies):
        while True:
            t, payload = conn.read_message()
            if t == b"Z":
                status = payload.decode()
                break
            if t == b"E":
                seen.append(("E", pgwire.parse_error_fields(payload).get("C")))
            elif t == b"C":
                seen.append(("C", payload.rstrip(b"\0").decode()))
            elif t == b"D":
                seen.append(("D", pgwire.parse_data_row(payload)))
            else:
                seen.append((t.decode(), None))
    return status, seen


def test_statuses_and_atomicity_of_a_block_begun_here(pgiris, backend, table):
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, password=pgiris.users["demo"])
        assert status_after(c, pgwire.query_message("BEGIN")) == ("T", [("C", "BEGIN")])
        assert status_after(c, pgwire.query_message("INSERT INTO %s VALUES (1)" % table)) == \
            ("T", [("C", "INSERT 0 1")])
        # Not visible outside the block before COMMIT: the block was open on the backend.
        assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table) == [(0,)]
        assert status_after(c, pgwire.query_message("ROLLBACK")) == ("I", [("C", "ROLLBACK")])
        assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table) == [(0,)]
        # The same in one Query, and committed.
        assert status_after(c, pgwire.query_message(
            "BEGIN; INSERT INTO %s VALUES (2); COMMIT" % table)) == \
            ("I", [("C", "BEGIN"), ("C", "INSERT 0 1"), ("C", "COMMIT")])
    assert pgiris.direct(backend, "SELECT id FROM %s" % table) == [(2,)]


def test_an_extended_batch_begins_and_ends_its_block(pgiris, backend, table):
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, password=pgiris.users["demo"])
        status, seen = status_after(c, pgwire.parse_bind_execute("BEGIN")
                                    + pgwire.parse_bind_execute("INSERT INTO %s VALUES (3)" % table)
                                    + pgwire.message(b"S"))
        assert status == "T" and ("C", "BEGIN") in seen and ("C", "INSERT 0 1") in seen, seen
        assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table) == [(0,)]
        status, seen = status_after(c, pgwire.parse_bind_execute("ROLLBACK") + pgwire.message(b"S"))
        assert status == "I" and ("C", "ROLLBACK") in seen, seen
        assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table) == [(0,)]
        # BEGIN and COMMIT with nothing between, in one batch.
        status, seen = status_after(c, pgwire.parse_bind_execute("BEGIN") + pgwire.parse_bind_execute("COMMIT")
                                    + pgwire.message(b"S"))
        assert status == "I" and ("C", "COMMIT") in seen, seen
        status, seen = status_after(c, pgwire.parse_bind_execute("BEGIN")
                                    + pgwire.parse_bind_execute("INSERT INTO %s VALUES (4)" % table)
                                    + pgwire.parse_bind_execute("COMMIT") + pgwire.message(b"S"))
        assert status == "I" and ("C", "COMMIT") in seen, seen
    assert pgiris.direct(backend, "SELECT id FROM %s" % table) == [(4,)]


def test_modes_named_or_by_default_still_apply(pgiris):
    with pgiris.connect("pg") as c:
        c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        assert c.execute("SELECT current_setting('transaction_isolation')").fetchone() == ("repeatable read",)
        c.execute("COMMIT")
        c.execute("SET default_transaction_isolation = 'serializable'")
        c.execute("BEGIN")
        assert c.execute("SELECT current_setting('transaction_isolation')").fetchone() == ("serializable",)
        c.execute("COMMIT")
        c.execute("RESET default_transaction_isolation")
        c.execute("BEGIN")
        assert c.execute("SELECT current_setting('transaction_isolation')").fetchone() == ("read committed",)
        c.execute("COMMIT")


@pytest.mark.parametrize("end,kept", [("COMMIT", True), ("ROLLBACK", False)])
def test_a_set_in_a_block_where_nothing_ran_follows_its_end(pgiris, backend, end, kept):
    with pgiris.connect(backend) as c:
        before = c.execute("SHOW application_name").fetchone()[0]
        c.execute("BEGIN")
        c.execute("SET application_name = 'in_block'")
        c.execute(end)
        assert c.execute("SHOW application_name").fetchone()[0] == ("in_block" if kept else before)


@pytest.mark.parametrize("protocol", ["simple", "extended"])
@pytest.mark.parametrize("end", ["COMMIT AND CHAIN", "ROLLBACK AND CHAIN", "END AND CHAIN"])
def test_and_chain_is_refused_and_the_block_goes_on(pgiris, backend, table, protocol, end):
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, password=pgiris.users["demo"])
        status_after(c, pgwire.query_message("BEGIN; INSERT INTO %s VALUES (5)" % table))
        if protocol == "simple":
            status, seen = status_after(c, pgwire.query_message(end))
        else:
            status, seen = status_after(c, pgwire.parse_bind_execute(end) + pgwire.message(b"S"))
        assert ("E", "0A000") in seen, seen
        # Nothing was committed (and no new block begun): ROLLBACK undoes the INSERT.
        assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table) == [(0,)]
        status_after(c, pgwire.query_message("ROLLBACK"))
    assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table) == [(0,)]
    # AND NO CHAIN is a plain end.
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, password=pgiris.users["demo"])
        status, seen = status_after(c, pgwire.query_message(
            "BEGIN; INSERT INTO %s VALUES (6); COMMIT AND NO CHAIN" % table))
        assert status == "I" and ("C", "COMMIT") in seen, seen
    assert pgiris.direct(backend, "SELECT id FROM %s" % table) == [(6,)]


def test_a_commit_that_fails_undoes_a_set_in_its_block(pgiris):
    name = "db_u_%s" % uuid.uuid4().hex[:10]
    with pgiris.connect("pg") as c:
        c.execute("CREATE TABLE %s (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)" % name)
    try:
        with pgwire.Conn(pgiris.port) as c:
            c.startup("demo", "pg", password=pgiris.users["demo"])
            status, seen = status_after(c, pgwire.query_message(
                "BEGIN; SET application_name = 'in_block'; INSERT INTO %s VALUES (1), (1); COMMIT" % name))
            assert status == "I" and ("E", "23505") in seen, seen
            status, seen = status_after(c, pgwire.query_message("SHOW application_name"))
            assert ("D", ["in_block"]) not in seen, seen
    finally:
        with pgiris.connect("pg") as c:
            c.execute("DROP TABLE " + name)


def test_shutdown_lets_a_block_where_nothing_ran_go(pgiris_factory):
    # A block with something on the backend is waited for (test_resilience);
    # one begun in the worker where nothing ran yet has nothing to finish.
    inst = pgiris_factory(settings={"shutdown_timeout": 20})
    c = inst.connect("pg")
    try:
        c.execute("BEGIN")
        c.execute("SET application_name = 'in_block'")
        t0 = time.monotonic()
        inst.proc.send_signal(signal.SIGTERM)
        inst.proc.wait(10)
        assert inst.proc.returncode == 0
        assert time.monotonic() - t0 < 5
        with pytest.raises(psycopg.OperationalError):
            c.execute("SELECT 1")
    finally:
        c.close()


def test_a_wait_that_fails_aborts_a_block_begun_here(pgiris_factory):
    # The block's first statement never reached the backend (53300): the
    # block is aborted as PostgreSQL's would be, later statements are
    # refused, and its COMMIT rolls back; nothing of it is committed.
    one = pgiris_factory(settings={"workers": 1, "query_wait_timeout": 1, "default_pool_size": 1,
                                   "min_pool_size": 1}, databases={"pg": {"pool_size": 1}})
    with pg_table(one, "db_w") as name, one.connect("pg") as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT 1")      # holds the pool's only connection
        with pgwire.Conn(one.port) as c:
            c.startup("demo", "pg", password=one.users["demo"])
            assert status_after(c, pgwire.query_message("BEGIN")) == ("T", [("C", "BEGIN")])
            status, seen = status_after(c, pgwire.query_message("INSERT INTO %s VALUES (1)" % name))
            assert (status, seen) == ("E", [("E", "53300")]), seen
            holder.execute("COMMIT")
            assert status_after(c, pgwire.query_message("INSERT INTO %s VALUES (2)" % name)) == \
                ("E", [("E", "25P02")])
            assert status_after(c, pgwire.parse_bind_execute("INSERT INTO %s VALUES (3)" % name)
                                + pgwire.message(b"S"))[0] == "E"
            assert status_after(c, pgwire.query_message("ROLLBACK TO SAVEPOINT s")) == ("E", [("E", "3B001")])
            assert status_after(c, pgwire.query_message("COMMIT")) == ("I", [("C", "ROLLBACK")])
            assert status_after(c, pgwire.query_message("INSERT INTO %s VALUES (4)" % name)) == \
                ("I", [("C", "INSERT 0 1")])
        with one.postgres.connect() as pc:
            assert pc.execute("SELECT id FROM %s" % name).fetchall() == [(4,)]


def test_a_cancelled_wait_aborts_a_block_begun_here(one):
    holder = one.connect("pg")
    c = one.connect("pg")
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT 1")
        c.execute("BEGIN")
        timer = threading.Timer(0.5, c.cancel)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            c.execute("SELECT 1")
        timer.join()
        holder.execute("COMMIT")
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            c.execute("SELECT 2")
        c.execute("ROLLBACK")
        assert c.info.transaction_status == IDLE
        assert c.execute("SELECT 3").fetchone() == (3,)
    finally:
        holder.close()
        c.close()


@pytest.mark.parametrize("first", [False, True], ids=["later-statement", "first-statement"])
def test_a_block_whose_backend_connection_is_lost_is_aborted(one, first):
    # The backend connection dies under a block (under its first statement,
    # sent with the block's BEGIN, or a later one): the block is gone on the
    # backend, and the client must not run its next statements outside it.
    with pg_table(one, "db_k") as name, one.connect("pg") as c:
        pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
        c.execute("BEGIN")
        if not first:
            c.execute("INSERT INTO %s VALUES (1)" % name)
            assert c.execute("SELECT pg_backend_pid()").fetchone()[0] == pid
        one.direct("pg", "SELECT pg_terminate_backend(%d)" % pid)
        time.sleep(0.2)
        with pytest.raises(psycopg.Error) as info:
            c.execute("INSERT INTO %s VALUES (2)" % name)
        assert info.value.sqlstate == "08006", info.value.sqlstate
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            c.execute("INSERT INTO %s VALUES (3)" % name)
        c.execute("ROLLBACK")
        assert c.info.transaction_status == IDLE
        assert c.execute("SELECT count(*) FROM %s" % name).fetchone() == (0,)
        assert c.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
