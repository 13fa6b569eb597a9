"""Query cancellation and statement_timeout.

A CancelRequest (psycopg's conn.cancel(), or raw bytes with a wrong key)
must stop exactly the query of the client it names, whichever worker
accepts the cancel connection, also while the query waits for a backend
connection, and never a later statement.  statement_timeout is the
client's own session setting, even though the backend connection is
shared.
"""

import socket
import struct
import threading
import time

import psycopg
import pytest

import pgwire

IDLE = psycopg.pq.TransactionStatus.IDLE
INTRANS = psycopg.pq.TransactionStatus.INTRANS
INERROR = psycopg.pq.TransactionStatus.INERROR

USER_CANCEL = "canceling statement due to user request"
TIMEOUT_CANCEL = "canceling statement due to statement timeout"

# A query that runs far longer than any test waits.
LONG = {
    "pg": "SELECT pg_sleep(30)",
    "demo": "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 2000000000)"
            " SELECT sum(x) FROM s",
}


def medium(backend, seconds):
    """(sql, expected first column) of a query that takes about `seconds`."""
    if backend == "pg":
        return "SELECT pg_sleep(%s), 'slept'" % seconds, "slept"
    # SQLite counts about two million rows a second here.
    n = int(2_000_000 * seconds)
    return ("WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < %d)"
            " SELECT count(*), 'slept' FROM s" % n), "slept"


def run_medium(conn, backend, seconds):
    sql, expected = medium(backend, seconds)
    row = conn.execute(sql).fetchone()
    assert row[1] == expected
    return row


def cancel_after(conn, delay):
    timer = threading.Timer(delay, conn.cancel)
    timer.start()
    return timer


def expect_canceled(conn, sql, message, within):
    """Run sql, which must fail with QueryCanceled(message); return the seconds it took."""
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled) as info:
        conn.execute(sql)
    took = time.monotonic() - started
    assert info.value.sqlstate == "57014"
    assert info.value.diag.message_primary == message
    assert took < within, "the query was canceled only after %.2f s" % took
    return took


def send_cancel_request(port, pid, key):
    """Send a raw CancelRequest; return once the server has closed the socket."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(struct.pack("!IIii", 16, pgwire.CANCEL_REQUEST_CODE, pid, key))
        # The server answers nothing and closes the connection.
        assert sock.recv(1) == b""


@pytest.fixture(scope="module")
def single(module_pgiris_factory):
    """One backend connection per database: every client shares it."""
    return module_pgiris_factory(
        settings={"query_wait_timeout": 10, "default_pool_size": 1, "min_pool_size": 1},
        databases={"demo": {"pool_size": 1}, "pg": {"pool_size": 1}})


# -- cancel -------------------------------------------------------------------------

def test_cancel_long_query(pgiris, backend):
    with pgiris.connect(backend) as conn:
        timer = cancel_after(conn, 0.5)
        try:
            took = expect_canceled(conn, LONG[backend], USER_CANCEL, within=5)
        finally:
            timer.join()
        assert took >= 0.4
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)
        assert conn.execute("SELECT id FROM customers WHERE id = 2").fetchone() == (2,)


def test_cancel_inside_transaction(pgiris, backend):
    with pgiris.connect(backend) as conn:
        conn.execute("BEGIN")
        assert conn.execute("SELECT 'in'").fetchone() == ("in",)
        timer = cancel_after(conn, 0.3)
        try:
            expect_canceled(conn, LONG[backend], USER_CANCEL, within=5)
        finally:
            timer.join()
        assert conn.info.transaction_status == INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 'ignored'")
        conn.execute("ROLLBACK")
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SELECT 'r2'").fetchone() == ("r2",)


def test_cancel_request_with_wrong_key_is_ignored(pgiris, backend):
    sql, expected = medium(backend, 1.5)
    conn = pgwire.Conn(pgiris.port, timeout=20)
    try:
        conn.startup("demo", backend, pgiris.users["demo"])
        pid, key = conn.backend_key
        conn.send(pgwire.query_message(sql))
        time.sleep(0.3)
        send_cancel_request(pgiris.port, pid, key ^ 0x5A5A)
        send_cancel_request(pgiris.port, pid + 1, key)
        started = time.monotonic()
        results = conn.read_results()
        assert results[0][1][0][1] == expected
        assert conn.txn_status == b"I"
        # The right key does cancel: the request above was really wrong.
        conn.send(pgwire.query_message(LONG[backend]))
        time.sleep(0.3)
        send_cancel_request(pgiris.port, pid, key)
        with pytest.raises(pgwire.ServerError) as info:
            conn.read_results(timeout=5)
        assert (info.value.sqlstate, info.value.message) == ("57014", USER_CANCEL)
        assert conn.simple_query("SELECT 'after'")[0][1] == [["after"]]
        assert time.monotonic() - started < 10
    finally:
        conn.close()


def test_cancel_while_waiting_for_a_connection(single, backend):
    # Several times on fresh connections: with two workers, the cancel
    # connection may or may not land on the waiting client's worker.
    for attempt in range(4):
        with single.connect(backend) as a, single.connect(backend) as b:
            a.execute("BEGIN")
            assert a.execute("SELECT 'holds'").fetchone() == ("holds",)
            # B waits for the only backend connection, which A holds.
            timer = cancel_after(b, 0.5)
            try:
                took = expect_canceled(b, "SELECT 'b waits'", USER_CANCEL, within=5)
            finally:
                timer.join()
            assert took >= 0.4
            assert b.info.transaction_status == IDLE
            # A's transaction is untouched.
            assert a.info.transaction_status == INTRANS
            assert a.execute("SELECT 'still mine'").fetchone() == ("still mine",)
            a.execute("COMMIT")
            assert b.execute("SELECT 'b runs'").fetchone() == ("b runs",)
            assert a.execute("SELECT 'a runs'").fetchone() == ("a runs",)


def test_cancel_reaches_the_right_client(pgiris, backend):
    # Two workers: the cancel connection may land on either one.  Each time
    # a bystander runs a query of its own, which must not be canceled.
    with pgiris.connect(backend) as bystander:
        for attempt in range(6):
            with pgiris.connect(backend) as conn:
                outcome = {}

                def other():
                    try:
                        outcome["row"] = run_medium(bystander, backend, 0.6)
                    except BaseException as exc:
                        outcome["error"] = exc

                thread = threading.Thread(target=other)
                thread.start()
                timer = cancel_after(conn, 0.2)
                try:
                    expect_canceled(conn, LONG[backend], USER_CANCEL, within=5)
                finally:
                    timer.join()
                    thread.join(30)
                assert "error" not in outcome, "attempt %d: the bystander failed: %r" % (
                    attempt, outcome["error"])
                assert outcome["row"][1] == "slept"
                assert conn.execute("SELECT 'ok'").fetchone() == ("ok",)


def test_cancel_between_statements_hits_nothing(pgiris, backend):
    with pgiris.connect(backend) as conn:
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)
        conn.cancel()  # nothing is running
        time.sleep(0.3)
        assert conn.execute("SELECT 'r2'").fetchone() == ("r2",)
        # A cancel kept for later would strike this one.
        run_medium(conn, backend, 0.8)
        assert conn.info.transaction_status == IDLE


# -- statement_timeout --------------------------------------------------------------

def test_statement_timeout(pgiris, backend):
    with pgiris.connect(backend) as conn:
        conn.execute("SET statement_timeout = '300ms'")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("300ms",)
        took = expect_canceled(conn, LONG[backend], TIMEOUT_CANCEL, within=5)
        assert took >= 0.25
        assert conn.info.transaction_status == IDLE
        # Short statements are not affected, and the setting stays.
        assert conn.execute("SELECT 'quick'").fetchone() == ("quick",)
        expect_canceled(conn, LONG[backend], TIMEOUT_CANCEL, within=5)

        conn.execute("SET statement_timeout = 0")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
        run_medium(conn, backend, 1)

        conn.execute("SET statement_timeout TO '2s'")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("2s",)
        conn.execute("RESET statement_timeout")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
        run_medium(conn, backend, 1)


def test_statement_timeout_inside_transaction(pgiris, backend):
    with pgiris.connect(backend) as conn:
        conn.execute("SET statement_timeout = '300ms'")
        conn.execute("BEGIN")
        assert conn.execute("SELECT 'in'").fetchone() == ("in",)
        expect_canceled(conn, LONG[backend], TIMEOUT_CANCEL, within=5)
        assert conn.info.transaction_status == INERROR
        conn.execute("ROLLBACK")
        assert conn.info.transaction_status == IDLE
        assert conn.execute("SHOW statement_timeout").fetchone() == ("300ms",)


def test_statement_timeout_bad_value(pgiris, backend):
    with pgiris.connect(backend) as conn:
        conn.execute("SET statement_timeout = '5s'")
        with pytest.raises(psycopg.errors.InvalidParameterValue) as info:
            conn.execute("SET statement_timeout = 'abc'")
        assert info.value.sqlstate == "22023"
        assert conn.info.transaction_status == IDLE
        # The old value stays.
        assert conn.execute("SHOW statement_timeout").fetchone() == ("5s",)


def test_statement_timeout_is_per_client(single, backend):
    # One backend connection serves both clients; only A has a timeout.
    with single.connect(backend) as a, single.connect(backend) as b:
        a.execute("SET statement_timeout = '300ms'")
        run_medium(b, backend, 1)
        assert b.execute("SHOW statement_timeout").fetchone() == ("0",)
        expect_canceled(a, LONG[backend], TIMEOUT_CANCEL, within=5)
        run_medium(b, backend, 1)
        # And A keeps its own setting after B used the connection.
        assert a.execute("SHOW statement_timeout").fetchone() == ("300ms",)
        expect_canceled(a, LONG[backend], TIMEOUT_CANCEL, within=5)
        run_medium(b, backend, 1)
