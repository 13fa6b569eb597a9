"""Waiting for a backend connection: with one connection per pool, a client
that holds a transaction makes the next client wait; the wait ends when the
connection is returned, or with SQLSTATE 53300 after query_wait_timeout."""

import threading
import time

import psycopg
import pytest


@pytest.fixture(scope="module")
def pgiris(module_pgiris_factory):
    return module_pgiris_factory(
        settings={"query_wait_timeout": 1, "default_pool_size": 1, "min_pool_size": 1},
        databases={"demo": {"pool_size": 1}, "pg": {"pool_size": 1}})


def test_idle_client_does_not_hold_the_connection(pgiris, backend):
    # Transaction pooling: between transactions a client owns no backend
    # connection, so two clients take turns on a pool of one.
    with pgiris.connect(backend) as a, pgiris.connect(backend) as b:
        for i in range(5):
            assert a.execute("SELECT 'r%d'" % i).fetchone() == ("r%d" % i,)
            started = time.monotonic()
            assert b.execute("SELECT 'b%d'" % i).fetchone() == ("b%d" % i,)
            assert time.monotonic() - started < 0.8


def test_query_wait_timeout(pgiris, backend):
    with pgiris.connect(backend) as a, pgiris.connect(backend) as b:
        a.execute("BEGIN")
        assert a.execute("SELECT 'r1'").fetchone() == ("r1",)

        started = time.monotonic()
        with pytest.raises(psycopg.Error) as info:
            b.execute("SELECT 2")
        waited = time.monotonic() - started
        assert 0.8 <= waited <= 5, "the query failed after %.2f s" % waited
        assert info.value.sqlstate == "53300"
        assert "query_wait_timeout" in str(info.value)

        # A still owns its transaction and its backend connection.
        assert a.execute("SELECT 'r3'").fetchone() == ("r3",)
        assert a.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        a.execute("COMMIT")

        # B's connection survived the timeout and works now.
        assert b.execute("SELECT 'r4'").fetchone() == ("r4",)
        assert a.execute("SELECT 'r5'").fetchone() == ("r5",)


def test_waiting_client_gets_the_connection_when_it_is_returned(pgiris, backend):
    with pgiris.connect(backend) as a, pgiris.connect(backend) as b:
        a.execute("BEGIN")
        a.execute("SELECT 1")
        release = threading.Timer(0.4, lambda: a.execute("COMMIT"))
        release.start()
        try:
            started = time.monotonic()
            assert b.execute("SELECT 'r42'").fetchone() == ("r42",)
            waited = time.monotonic() - started
        finally:
            release.join()
        assert 0.3 <= waited < 1.0, "B waited %.2f s" % waited


def test_session_pooling_holds_the_connection(pgiris_factory):
    inst = pgiris_factory(settings={"pool_mode": "session", "query_wait_timeout": 1},
                          databases={"demo": {"pool_size": 1}, "pg": None})
    with inst.connect("demo") as a:
        assert a.execute("SELECT 'r1'").fetchone() == ("r1",)
        with inst.connect("demo") as b:
            # A is idle but keeps its backend connection until it leaves.
            with pytest.raises(psycopg.Error) as info:
                b.execute("SELECT 2")
            assert info.value.sqlstate == "53300"
            a.close()
            assert wait_until_works(b) == ("r3",)


def wait_until_works(conn, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return conn.execute("SELECT 'r3'").fetchone()
        except psycopg.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
