"""Chained leases: with every connection of a pool busy, the first waiting
client's request is queued on a connection whose running statement ends its
lease, and runs there as soon as that statement ends, without the connection
going back to the pool first (shm/lease.h 'N', worker/session.c).

One worker, so that the waiting client and the running one share it (a
worker chains onto its own clients' leases), and a pool of one connection,
so that who runs when is known.  SHOW STATS counts the chained requests.
Each waiting request here is an INSERT, so that a request taken back (by
query_wait_timeout, a cancel, its client leaving) is seen not to have run,
and one passed on is seen to have run exactly once.
"""

import contextlib
import os
import random
import signal
import socket
import struct
import threading
import time

import psycopg
import pytest

import pgwire


def one_worker(pgiris_factory, pool=1, wait=20, **settings):
    settings.update({"workers": 1, "query_wait_timeout": wait, "default_pool_size": pool, "min_pool_size": pool})
    return pgiris_factory(settings=settings, databases={"demo": {"pool_size": pool}, "pg": {"pool_size": pool}})


@contextlib.contextmanager
def scratch_table(inst):
    name = "chain_t_%d" % inst.port
    with inst.connect("pg") as c:
        c.execute("CREATE TABLE %s (who text)" % name)
    try:
        yield name
    finally:
        with inst.connect("pg") as c:
            c.execute("DROP TABLE " + name)


@pytest.fixture
def inst(pgiris_factory):
    return one_worker(pgiris_factory)


@pytest.fixture
def table(inst):
    with scratch_table(inst) as name:
        yield name


def chained(inst, database):
    rows = [r for r in inst.show("STATS") if r["database"] == database]
    assert len(rows) == 1
    return int(rows[0]["total_chained_count"])


def wait_for_waiting(inst, database, n, timeout=10):
    deadline = time.monotonic() + timeout
    while int(inst.pool(database)["cl_waiting"]) != n:
        assert time.monotonic() < deadline, "cl_waiting never reached %d" % n
        time.sleep(0.005)


def rows_of(inst, table):
    with inst.connect("pg") as c:
        return [r[0] for r in c.execute("SELECT who FROM %s ORDER BY who" % table).fetchall()]


class Background:
    """Run fn in a thread; result() returns what it returned or raises what it raised."""

    def __init__(self, fn):
        self.value = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(fn,))
        self.thread.start()

    def _run(self, fn):
        try:
            self.value = fn()
        except Exception as e:  # re-raised by result()
            self.error = e

    def result(self, timeout=20):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "still running after %s s" % timeout
        if self.error is not None:
            raise self.error
        return self.value


def wait_active(inst):
    # A statement is on the connection once the pool has an active client.
    deadline = time.monotonic() + 10
    while int(inst.pool("pg")["cl_active"]) == 0:
        assert time.monotonic() < deadline, "the holder never got the connection"
        time.sleep(0.005)


def start_holder(inst, sql, params=None):
    """A client whose statement holds the pool's only connection for a while
    (with params, through the extended protocol)."""
    conn = inst.connect("pg")
    job = Background(lambda: conn.execute(sql, params).fetchall())
    wait_active(inst)
    return conn, job


def slow_holder(inst, sql, rcvbuf=None):
    """A raw client that sends sql and reads nothing: with a ring large enough
    for its whole reply, the executor answers it and goes on to the request
    chained behind, while the lease has not ended in the worker."""
    conn = pgwire.Conn(inst.port, timeout=30)
    conn.startup("demo", "pg", password=inst.users["demo"])
    if rcvbuf is not None:
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    conn.send(pgwire.query_message(sql))
    wait_active(inst)
    return conn


def queue_insert(inst, waiter, table):
    """waiter's INSERT ... RETURNING, in the background, once it waits."""
    job = Background(lambda: waiter.execute(
        "INSERT INTO %s VALUES ('waiter') RETURNING who" % table).fetchall())
    wait_for_waiting(inst, "pg", 1)
    return job


def drain(conn):
    """Read a raw client's reply through ReadyForQuery; the message types."""
    conn.sock.settimeout(60)
    buf = bytearray(conn.buf)
    types = []
    while True:
        while len(buf) < 5:
            buf += conn.sock.recv(1 << 20)
        n = struct.unpack("!I", bytes(buf[1:5]))[0]
        while len(buf) < 1 + n:
            buf += conn.sock.recv(1 << 20)
        types.append(bytes(buf[:1]))
        del buf[:1 + n]
        if types[-1] == b"Z":
            conn.buf = bytes(buf)
            return types


def backend_running(inst, text):
    return [r for r in inst.postgres.query(
        "SELECT query FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s", ("%" + text + "%",))
        if "pg_stat_activity" not in r[0]]


def wait_until(what, check, timeout=10):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


# What a lease in front runs last: each ends the lease, so a request can be
# chained behind it.  An Execute counts when the worker holds its Sync
# already (drivers send Parse to Sync together).
FRONTS = {   # what is sent first (and answered), what the lease in front runs, its ReadyForQuery count
    "query": ([], pgwire.query_message("SELECT pg_sleep(0.6), 'holder'"), 1),
    "execute": ([], pgwire.extended_query("SELECT pg_sleep($1), 'holder'", [0.6]), 1),
    "commit": ([], pgwire.query_message("BEGIN; SELECT pg_sleep(0.6), 'holder'; COMMIT"), 1),
    "rollback": ([], pgwire.query_message("BEGIN; SELECT pg_sleep(0.6), 'holder'; ROLLBACK"), 1),
    "execute-commit": ([pgwire.query_message("BEGIN")],
                       pgwire.extended_query("SELECT pg_sleep($1), 'holder'", [0.6])
                       + pgwire.parse_bind_execute("COMMIT") + pgwire.message(b"S"), 2),
}


def raw_client(inst, *answered):
    """A raw client of pg, logged in, that has sent each of answered and read its reply."""
    conn = pgwire.Conn(inst.port, timeout=30)
    try:
        conn.startup("demo", "pg", password=inst.users["demo"])
        for data in answered:
            conn.send(data)
            pgwire.until_ready(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def start_front(inst, kind):
    """A raw client running FRONTS[kind]; the job returns every message up to its last ReadyForQuery."""
    first, last, readies = FRONTS[kind]
    conn = raw_client(inst, *first)
    conn.send(last)
    job = Background(lambda: [m for _ in range(readies) for m in pgwire.until_ready(conn)])
    wait_active(inst)
    return conn, job


@pytest.mark.parametrize("extended", [False, True], ids=["simple", "extended"])
@pytest.mark.parametrize("front", list(FRONTS))
def test_a_waiting_request_runs_behind_a_lease_that_ends(inst, table, extended, front):
    before = chained(inst, "pg")
    holder, held = start_front(inst, front)
    waiter = inst.connect("pg")
    try:
        if extended:
            job = Background(lambda: waiter.execute(
                "INSERT INTO %s VALUES (%%s) RETURNING who" % table, ("waiter",)).fetchall())
        else:
            job = Background(lambda: waiter.execute(
                "INSERT INTO %s VALUES ('waiter') RETURNING who" % table).fetchall())
        wait_for_waiting(inst, "pg", 1)
        seen = held.result()
        assert ("D", ["", "holder"]) in seen and not [m for m in seen if m[0] == "E"], seen
        assert seen[-1] == ("Z", None)
        assert job.result() == [("waiter",)]
        # The holder's connection goes on as any other.
        holder.send(pgwire.query_message("SELECT 'holder again'"))
        assert ("D", ["holder again"]) in pgwire.until_ready(holder)
    finally:
        holder.close()
        waiter.close()
    assert rows_of(inst, table) == ["waiter"]
    assert chained(inst, "pg") == before + 1
    # The connection is free again for anyone.
    with inst.connect("pg") as c:
        assert c.execute("SELECT 'after'").fetchone() == ("after",)


@pytest.mark.parametrize("holder_extended", [False, True], ids=["query-in-front", "execute-in-front"])
def test_a_lease_that_ends_in_an_error_passes_nothing_on(inst, table, holder_extended):
    # The executor resets the connection after an error before anyone else
    # uses it: the request queued behind is read through, waits in the queue
    # again and runs once the connection is back in the pool.
    before = chained(inst, "pg")
    if holder_extended:
        holder, held = start_holder(inst, "SELECT pg_sleep(%s), 1 / (random() * 0)::int", (0.5,))
    else:
        holder, held = start_holder(inst, "SELECT pg_sleep(0.5), 1 / (random() * 0)::int")
    waiter = inst.connect("pg")
    try:
        job = queue_insert(inst, waiter, table)
        with pytest.raises(psycopg.Error) as info:
            held.result()
        assert info.value.sqlstate == "22012"
        assert job.result() == [("waiter",)]
        assert holder.execute("SELECT 'holder again'").fetchone() == ("holder again",)
    finally:
        holder.close()
        waiter.close()
    assert rows_of(inst, table) == ["waiter"]
    assert chained(inst, "pg") == before


def test_query_wait_timeout_takes_a_chained_request_back(pgiris_factory):
    inst = one_worker(pgiris_factory, wait=1)
    with scratch_table(inst) as table:
        holder, held = start_holder(inst, "SELECT pg_sleep(2)")
        waiter = inst.connect("pg")
        started = time.monotonic()
        with pytest.raises(psycopg.Error) as info:
            waiter.execute("INSERT INTO %s VALUES ('waiter')" % table)
        waited = time.monotonic() - started
        finish_taken_back(inst, table, holder, held, waiter)
        assert info.value.sqlstate == "53300"
        assert 0.8 <= waited < 1.9, "the wait ended after %.2f s" % waited
        assert chained(inst, "pg") == 0


def finish_taken_back(inst, table, holder, held, waiter):
    """The waiter's INSERT was refused: once the holder is done, it has not run, and the waiter goes on."""
    try:
        held.result()
        assert waiter.execute("SELECT 'waiter again'").fetchone() == ("waiter again",)
    finally:
        holder.close()
        waiter.close()
    assert rows_of(inst, table) == []


def test_a_cancel_takes_a_chained_request_back(inst, table):
    holder, held = start_holder(inst, "SELECT pg_sleep(1.2)")
    waiter = inst.connect("pg")
    job = Background(lambda: waiter.execute("INSERT INTO %s VALUES ('waiter')" % table))
    wait_for_waiting(inst, "pg", 1)
    waiter.cancel()
    with pytest.raises(psycopg.Error) as info:
        job.result()
    finish_taken_back(inst, table, holder, held, waiter)
    assert info.value.sqlstate == "57014"


def hard_close(conn):
    """Close with a reset, as a client that crashes or is killed."""
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def test_a_chained_client_that_goes_away_runs_nothing(inst, table):
    holder, held = start_holder(inst, "SELECT pg_sleep(0.8)")
    try:
        raw = pgwire.Conn(inst.port)
        raw.startup("demo", "pg", password=inst.users["demo"])
        raw.send(pgwire.query_message("INSERT INTO %s VALUES ('gone')" % table))
        wait_for_waiting(inst, "pg", 1)
        hard_close(raw)
        wait_for_waiting(inst, "pg", 0)
        held.result()
    finally:
        holder.close()
    with inst.connect("pg") as c:
        assert c.execute("SELECT 'next'").fetchone() == ("next",)
    assert rows_of(inst, table) == []
    assert chained(inst, "pg") == 0


def test_the_request_behind_a_client_that_goes_away_runs_once(inst, table):
    # The holder's client resets its connection mid-statement: its lease is
    # abandoned (the executor rolls back and resets the connection), and the
    # request that was queued behind it runs afterwards, once.
    raw = slow_holder(inst, "SELECT pg_sleep(0.6)")
    waiter = inst.connect("pg")
    try:
        job = queue_insert(inst, waiter, table)
        hard_close(raw)
        assert job.result() == [("waiter",)]
        assert waiter.execute("SELECT 'waiter again'").fetchone() == ("waiter again",)
    finally:
        waiter.close()
    assert rows_of(inst, table) == ["waiter"]


@pytest.mark.parametrize("database", ["demo", "pg"])
@pytest.mark.parametrize("extended", [False, True], ids=["simple", "extended"])
def test_many_clients_each_get_their_own_answers(inst, database, extended):
    # Thirty clients over one connection: most requests wait, many are
    # chained (behind an Execute and its Sync too, with parameters); every
    # client must get the answers to its own statements.
    before = chained(inst, database)
    errors = []

    def client(k):
        try:
            with inst.connect(database) as c:
                for i in range(20):
                    want = k * 1000 + i
                    if extended:
                        got = c.execute("SELECT %s, %s", (want, "c%d" % k)).fetchone()
                    else:
                        got = c.execute("SELECT %d, 'c%d'" % (want, k)).fetchone()
                    assert tuple(got) == (want, "c%d" % k), (k, i, got)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert chained(inst, database) > before


def test_a_free_connection_takes_a_request_stuck_behind_a_slow_reader(pgiris_factory):
    # The request is chained behind a client that does not read its large
    # result, so that lease does not end; when the pool's other connection
    # comes free the request is taken back and runs there, not after the
    # slow reader (nor at query_wait_timeout).
    inst = one_worker(pgiris_factory, pool=2)
    with scratch_table(inst) as table:
        slow_reader_and_waiter(inst, table)


def slow_reader_and_waiter(inst, table):
    slow = pgwire.Conn(inst.port)
    try:
        slow.startup("demo", "pg", password=inst.users["demo"])
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.send(pgwire.query_message("SELECT repeat('x', 1000) FROM generate_series(1, 20000)"))
        in_tx = inst.connect("pg")
        in_tx.execute("BEGIN")
        in_tx.execute("SELECT 1")
        waiter = inst.connect("pg")
        try:
            started = time.monotonic()
            job = queue_insert(inst, waiter, table)
            time.sleep(0.3)
            in_tx.execute("COMMIT")
            assert job.result(timeout=10) == [("waiter",)]
            waited = time.monotonic() - started
            assert waited < 3, "the request waited %.2f s" % waited
        finally:
            in_tx.close()
            waiter.close()
    finally:
        hard_close(slow)
    assert rows_of(inst, table) == ["waiter"]


# The executor gets to the chained request before the worker has ended the
# lease in front: a holder that reads nothing, with a ring of 16 MB that
# takes its whole reply.
BIG_RING = 16 * 1024 * 1024


def test_the_holder_leaving_mid_message_leaves_the_next_reply_whole(pgiris_factory):
    inst = one_worker(pgiris_factory, ring_size=BIG_RING)
    with scratch_table(inst) as table:
        # An error has the executor reset the rings, then a clean 8 MB reply
        # moves them to the middle: the holder's 10 MB row wraps at the end,
        # where the worker stops mid-message.
        with inst.connect("pg") as c:
            with pytest.raises(psycopg.Error):
                c.execute("SELECT 1/0")
            c.execute("SELECT repeat('y', 8000000)").fetchall()
        holder = slow_holder(inst, "SELECT pg_sleep(0.5), repeat('x', 10000000)", rcvbuf=4096)
        waiter = inst.connect("pg")
        try:
            job = queue_insert(inst, waiter, table)
            time.sleep(1.5)
            hard_close(holder)
            assert job.result(timeout=10) == [("waiter",)]
        finally:
            waiter.close()
        with inst.connect("pg") as c:
            assert c.execute("SELECT 'next'").fetchone() == ("next",)


def test_a_cancel_reaches_a_chained_statement_that_runs(pgiris_factory):
    inst = one_worker(pgiris_factory, ring_size=BIG_RING)
    holder = slow_holder(inst, "SELECT pg_sleep(0.5), repeat('x', 12000000)")
    waiter = inst.connect("pg")
    try:
        job = Background(lambda: waiter.execute("SELECT pg_sleep(4), 'chained-b'").fetchall())
        wait_for_waiting(inst, "pg", 1)
        wait_until("the chained request never ran", lambda: backend_running(inst, "chained-b"))
        waiter.cancel()
        wait_until("the cancel never reached the statement", lambda: not backend_running(inst, "chained-b"),
                   timeout=2)
        drain(holder)
        with pytest.raises(psycopg.errors.QueryCanceled):
            job.result(timeout=15)
    finally:
        waiter.close()
        holder.close()


def test_a_cancel_behind_a_lease_that_ends_in_an_error_is_told_truly(pgiris_factory):
    # The lease in front ends in an error after a reply larger than the
    # socket takes, so the executor reads the chained INSERT through and it
    # waits in the queue again; the client cancels meanwhile.  Whether the
    # cancel came in time depends on how fast the worker reads the holder's
    # reply out of the ring; what the client is told must match what ran.
    inst = one_worker(pgiris_factory, ring_size=BIG_RING)
    with scratch_table(inst) as table:
        holder = slow_holder(inst, "SELECT CASE WHEN g = 0 THEN pg_sleep(0.5)::text WHEN g = 3000 "
                                   "THEN (1 / (g - 3000))::text ELSE repeat('x', 5000) END "
                                   "FROM generate_series(0, 3000) g")
        waiter = inst.connect("pg")
        try:
            job = queue_insert(inst, waiter, table)
            time.sleep(0.6)
            waiter.cancel()
            assert b"E" in drain(holder)
            try:
                told = job.result(timeout=15)
            except psycopg.errors.QueryCanceled:
                told = []
            assert waiter.execute("SELECT 'waiter again'").fetchone() == ("waiter again",)
        finally:
            waiter.close()
            holder.close()
        assert rows_of(inst, table) == [w for (w,) in told]


def test_graceful_shutdown_answers_a_chained_request_that_ran(pgiris_factory):
    inst = one_worker(pgiris_factory, ring_size=BIG_RING)
    name = "chain_sd_%d" % inst.port
    with inst.postgres.connect() as c:
        c.execute("CREATE TABLE %s (who text)" % name)
    holder = slow_holder(inst, "SELECT pg_sleep(0.5), repeat('x', 12000000)")
    waiter = inst.connect("pg")
    try:
        job = Background(lambda: waiter.execute(
            "INSERT INTO %s VALUES ('waiter') RETURNING who" % name).fetchall())
        wait_for_waiting(inst, "pg", 1)
        wait_until("the chained INSERT never ran", lambda: inst.postgres.query("SELECT * FROM %s" % name))
        os.kill(inst.pid, signal.SIGTERM)
        time.sleep(0.5)
        drain(holder)
        # It ran and committed: the client is told so, not 57P01.
        assert job.result(timeout=10) == [("waiter",)]
    finally:
        waiter.close()
        holder.close()
        with inst.postgres.connect() as c:
            c.execute("DROP TABLE IF EXISTS " + name)


def test_a_chained_request_does_not_wait_for_a_client_that_does_not_read(pgiris_factory):
    # Once the executor has passed the slot on, the holder's reply is read
    # out of the ring whatever its client takes, so the chained reply
    # behind it is not held up (and a free connection is not needed).
    inst = one_worker(pgiris_factory, pool=2, wait=1, ring_size=BIG_RING)
    other = inst.connect("pg")
    other.execute("BEGIN")
    other.execute("SELECT 1")
    holder = slow_holder(inst, "SELECT pg_sleep(0.5), repeat('x', 12000000)")
    waiter = inst.connect("pg")
    try:
        job = Background(lambda: waiter.execute("SELECT 'b'").fetchall())
        wait_for_waiting(inst, "pg", 1)
        time.sleep(0.7)
        other.execute("COMMIT")
        job.thread.join(4)
        stuck = job.thread.is_alive()
        drain(holder)
        assert job.result(timeout=10) == [("b",)]
        assert not stuck, "the chained request waited for a client that does not read"
    finally:
        waiter.close()
        other.close()
        holder.close()


def test_a_mixed_load_leaves_nothing_behind(pgiris_factory):
    # Twenty clients over two connections: lookups (simple and extended),
    # errors, cancels, transactions, large results, several statements,
    # clients that leave mid-query.  Every answer must be the client's own, nobody may hang,
    # and the pool must end with nobody active or waiting.
    inst = one_worker(pgiris_factory, pool=2, wait=3)
    errors = []
    stop = time.monotonic() + 10

    def one(c, rnd, k, i):
        op = rnd.random()
        want = k * 100000 + i
        if op < 0.3:
            assert tuple(c.execute("SELECT %d, 'c%d'" % (want, k)).fetchone()) == (want, "c%d" % k)
        elif op < 0.5:
            # Parameters: the extended protocol, a Sync behind each Execute.
            assert tuple(c.execute("SELECT %s::int, %s", (want, "c%d" % k)).fetchone()) == (want, "c%d" % k)
        elif op < 0.6:
            with pytest.raises(psycopg.errors.DivisionByZero):
                c.execute("SELECT 1/0")
        elif op < 0.7:
            assert c.execute("SELECT pg_sleep(%f), %d" % (rnd.random() * 0.05, want)).fetchone()[1] == want
        elif op < 0.75:
            timer = threading.Timer(rnd.random() * 0.05, c.cancel)
            timer.start()
            try:
                assert c.execute("SELECT pg_sleep(0.05), %d" % want).fetchone()[1] == want
            except psycopg.errors.QueryCanceled:
                pass
            timer.join()
        elif op < 0.8:
            c.execute("BEGIN")
            assert c.execute("SELECT %d" % want).fetchone()[0] == want
            c.execute("COMMIT")
        elif op < 0.85:
            assert c.execute("SELECT %d, repeat('x', 300000)" % want).fetchone()[0] == want
        elif op < 0.9:
            raw = pgwire.Conn(inst.port)
            raw.startup("demo", "pg", password=inst.users["demo"])
            raw.send(pgwire.query_message("SELECT pg_sleep(0.01), repeat('y', 500000)"))
            time.sleep(rnd.random() * 0.05)
            hard_close(raw)
        else:
            assert c.execute("SELECT %d; SELECT %d" % (want, want + 1)).fetchone()[0] in (want, want + 1)

    def client(k):
        rnd = random.Random(k)
        while time.monotonic() < stop:
            try:
                with inst.connect("pg") as c:
                    for i in range(rnd.randint(1, 15)):
                        one(c, rnd, k, i)
            except Exception as e:  # reported below
                errors.append((k, repr(e)))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "clients hung"
    assert errors == [], errors[:5]
    with inst.connect("pg") as c:
        assert c.execute("SELECT 'after'").fetchone() == ("after",)
    deadline = time.monotonic() + 5
    while True:
        pool = inst.pool("pg")
        if int(pool["cl_active"]) == 0 and int(pool["cl_waiting"]) == 0:
            break
        assert time.monotonic() < deadline, pool
        time.sleep(0.05)
    assert chained(inst, "pg") > 0
    assert not inst.sanitizer_reports(), inst.sanitizer_reports()


@pytest.mark.parametrize("delay", [0.58, 0.6, 0.62, 0.64, 0.7])
def test_a_cancel_for_a_chained_statement_never_reaches_a_later_one(pgiris_factory, delay):
    # The cancel comes around the time the executor runs the chained request
    # that opens a transaction block (the delays straddle it): it is
    # cancelled or runs, but a statement sent after its answer, on the same
    # lease, must never be the one that is cancelled.
    inst = one_worker(pgiris_factory, ring_size=BIG_RING)
    holder = slow_holder(inst, "SELECT pg_sleep(0.5), repeat('x', 12000000)", rcvbuf=4096)
    waiter = inst.connect("pg")
    try:
        job = Background(lambda: waiter.execute("BEGIN; SELECT 'first'"))
        wait_for_waiting(inst, "pg", 1)
        time.sleep(delay)
        waiter.cancel()
        time.sleep(0.3)
        hard_close(holder)
        try:
            job.result(timeout=10)
        except psycopg.errors.QueryCanceled:
            return
        assert waiter.execute("SELECT 'later'").fetchone() == ("later",)
        waiter.execute("COMMIT")
    finally:
        waiter.close()
        holder.close()


def test_a_backend_lost_under_the_lease_in_front_runs_the_chained_request_once(inst, table):
    holder = slow_holder(inst, "SELECT pg_sleep(3), 'killme'")
    waiter = inst.connect("pg")
    try:
        job = queue_insert(inst, waiter, table)
        time.sleep(0.3)
        with inst.postgres.connect() as c:
            c.autocommit = True
            c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE query LIKE '%killme%' AND pid <> pg_backend_pid()")
        assert b"E" in drain(holder)
        assert job.result(timeout=15) == [("waiter",)]
        assert waiter.execute("SELECT 'again'").fetchone() == ("again",)
    finally:
        waiter.close()
        holder.close()
    assert rows_of(inst, table) == ["waiter"]


# ---- extended-protocol leases in front ----
# An Execute whose Sync the worker already holds ends its lease when it is
# answered, as the last statement of a Query does: a waiting request can be
# chained behind it.  psycopg sends Parse, Bind, Describe, Execute and Sync
# together for a statement with parameters.


def test_nothing_is_chained_behind_an_execute_whose_sync_has_not_come(inst, table):
    # Without its Sync the implicit transaction of the Execute goes on after
    # it: the waiting INSERT must not run until the Sync ends it, and the
    # holder's next Execute runs on the same lease.
    holder = raw_client(inst)
    waiter = inst.connect("pg")
    try:
        holder.send(pgwire.parse_bind_execute("SELECT pg_sleep(0.4), 'first'"))
        wait_active(inst)
        job = queue_insert(inst, waiter, table)
        first = []
        while not first or first[-1][0] != "C":
            t, payload = holder.read_message()
            first.append((t.decode(), payload))
        assert [t for t, _ in first] == ["1", "2", "D", "C"]
        time.sleep(0.3)
        # Straight to PostgreSQL: the pool's only connection is the holder's.
        assert inst.postgres.query("SELECT who FROM " + table) == [], "the waiting INSERT ran inside the holder's lease"
        holder.send(pgwire.parse_bind_execute("SELECT count(*) FROM %s" % table) + pgwire.message(b"S"))
        seen = pgwire.until_ready(holder)
        assert ("D", ["0"]) in seen, seen
        assert job.result() == [("waiter",)]
    finally:
        holder.close()
        waiter.close()
    assert rows_of(inst, table) == ["waiter"]


def test_a_suspended_portal_in_front_passes_nothing_on(inst, table):
    # An Execute with a row limit leaves its cursor open until the Sync: the
    # executor does not pass a connection on with a cursor open, the request
    # behind waits in the queue again and runs once the connection is reset.
    before = chained(inst, "pg")
    holder = raw_client(inst)
    waiter = inst.connect("pg")
    try:
        sql = b"SELECT g FROM pg_sleep(0.5), generate_series(1, 3) AS g"
        holder.send(pgwire.message(b"P", b"\0" + sql + b"\0\0\0")
                    + pgwire.message(b"B", b"\0\0\0\0\0\0\0\0")
                    + pgwire.message(b"E", b"\0" + struct.pack("!i", 1))
                    + pgwire.message(b"S"))
        wait_active(inst)
        job = queue_insert(inst, waiter, table)
        seen = pgwire.until_ready(holder)
        assert [t for t, _ in seen] == ["1", "2", "D", "s", "Z"], seen
        assert seen[2] == ("D", ["1"])
        assert job.result() == [("waiter",)]
        holder.send(pgwire.query_message("SELECT 'holder again'"))
        assert ("D", ["holder again"]) in pgwire.until_ready(holder)
    finally:
        holder.close()
        waiter.close()
    assert rows_of(inst, table) == ["waiter"]
    assert chained(inst, "pg") == before



def test_a_commit_that_fails_in_front_passes_nothing_on(inst, table):
    # A deferred unique check fails at COMMIT: the transaction ends with an
    # error, and the request chained behind waits in the queue again.
    before = chained(inst, "pg")
    with inst.connect("pg") as c:
        c.execute("CREATE TABLE %s_u (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)" % table)
    holder = raw_client(inst)
    waiter = inst.connect("pg")
    try:
        holder.send(pgwire.query_message(
            "BEGIN; INSERT INTO %s_u VALUES (1), (1); SELECT pg_sleep(0.6); COMMIT" % table))
        wait_active(inst)
        job = queue_insert(inst, waiter, table)
        seen = pgwire.until_ready(holder)
        assert ("E", "23505") in seen, seen
        assert job.result() == [("waiter",)]
        holder.send(pgwire.query_message("SELECT count(*) FROM %s_u" % table))
        assert ("D", ["0"]) in pgwire.until_ready(holder)
    finally:
        holder.close()
        waiter.close()
        with inst.connect("pg") as c:
            c.execute("DROP TABLE %s_u" % table)
    assert rows_of(inst, table) == ["waiter"]
    assert chained(inst, "pg") == before


def test_the_commit_of_a_failed_transaction_in_front(inst, table):
    # COMMIT of a transaction that failed rolls it back: the lease ends, and
    # the request behind runs once, on a connection with nothing left open.
    holder = raw_client(inst, pgwire.query_message("BEGIN"))
    waiter = inst.connect("pg")
    try:
        holder.send(pgwire.query_message("INSERT INTO %s VALUES ('holder'); SELECT pg_sleep(0.6), 1/0" % table))
        wait_active(inst)
        job = queue_insert(inst, waiter, table)
        assert ("E", "22012") in pgwire.until_ready(holder)
        holder.send(pgwire.query_message("COMMIT"))
        assert ("C", "ROLLBACK") in pgwire.until_ready(holder)
        assert job.result() == [("waiter",)]
        assert waiter.execute("SELECT 'waiter again'").fetchone() == ("waiter again",)
    finally:
        holder.close()
        waiter.close()
    assert rows_of(inst, table) == ["waiter"]


def test_a_block_begun_here_is_read_through_whole_behind_an_error(inst, table):
    # The waiter's BEGIN was answered by the worker: its request goes as a
    # 'b' record and the INSERT together.  Chained behind a lease that ends
    # in an error, both are read through, and run later, in the block.
    holder, held = start_holder(inst, "SELECT pg_sleep(0.5), 1 / (random() * 0)::int")
    waiter = inst.connect("pg")
    try:
        waiter.execute("BEGIN")
        job = queue_insert(inst, waiter, table)
        with pytest.raises(psycopg.Error):
            held.result()
        assert job.result() == [("waiter",)]
        assert inst.postgres.query("SELECT who FROM " + table) == []
        waiter.execute("ROLLBACK")
        assert holder.execute("SELECT 'holder again'").fetchone() == ("holder again",)
    finally:
        holder.close()
        waiter.close()
    assert rows_of(inst, table) == []
