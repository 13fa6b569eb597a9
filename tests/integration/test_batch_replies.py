"""Replies to an extended-protocol batch leave together, as PostgreSQL sends
them at Sync: the worker answers Parse and Bind itself, and holds those
replies until the executor's answer to Execute comes, so the client is woken
once per batch.  A Flush message, or an error, still sends at once what is
there; replies already complete before a batch are never held back."""

import socket
import time

import pgwire
from pgwire import message

# Long enough that the executor's answer is clearly later than the worker's own replies.
SLOW_SECONDS = 0.8


def slow_query(backend):
    if backend == "demo":
        return ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000)"
                " SELECT count(*) FROM c")
    return "SELECT pg_sleep(%s)::text" % SLOW_SECONDS


def nothing_within(conn, seconds):
    """True if no byte arrives within seconds (and none is buffered)."""
    if conn.buf:
        return False
    conn.sock.settimeout(seconds)
    try:
        chunk = conn.sock.recv(65536)
    except socket.timeout:
        return True
    if not chunk:
        raise EOFError("connection closed by the server")
    conn.buf += chunk
    return False


def read_until_ready(conn, timeout=30):
    types = []
    while True:
        t, payload = conn.read_message(timeout)
        types.append(t)
        if t == b"E":
            raise AssertionError(pgwire.parse_error_fields(payload))
        if t == b"Z":
            return types


def test_parse_and_bind_replies_wait_for_the_result(pgiris, backend):
    conn = pgwire.login(pgiris, backend)
    try:
        started = time.monotonic()
        conn.send(pgwire.parse_bind_execute(slow_query(backend)) + message(b"S"))
        # PostgreSQL holds ParseComplete and BindComplete until Sync: so does pgiris.
        assert nothing_within(conn, 0.3), "replies sent before the query's result: %r" % conn.buf[:20]
        assert read_until_ready(conn) == [b"1", b"2", b"D", b"C", b"Z"]
        assert time.monotonic() - started < 30
    finally:
        conn.close()


def test_flush_sends_what_is_held(pgiris, backend):
    conn = pgwire.login(pgiris, backend)
    try:
        sql = slow_query(backend).encode()
        conn.send(message(b"P", b"\0" + sql + b"\0\0\0") + message(b"B", b"\0\0\0\0\0\0\0\0")
                  + message(b"H"))
        # Flush, with no Sync: ParseComplete and BindComplete now, as PostgreSQL sends them.
        assert conn.read_message(timeout=0.5)[0] == b"1"
        assert conn.read_message(timeout=0.5)[0] == b"2"
        conn.send(message(b"E", b"\0\0\0\0\0") + message(b"S"))
        assert read_until_ready(conn) == [b"D", b"C", b"Z"]
    finally:
        conn.close()


def test_earlier_results_are_not_held_behind_a_batch(pgiris, backend):
    conn = pgwire.login(pgiris, backend)
    try:
        # A quick batch, then a slow one, in one write: the first one's
        # replies, complete with ReadyForQuery, go before the slow query ends.
        conn.send(pgwire.parse_bind_execute("SELECT 1") + message(b"S")
                  + pgwire.parse_bind_execute(slow_query(backend)) + message(b"S"))
        first = []
        while not first or first[-1] != b"Z":
            first.append(conn.read_message(timeout=0.5)[0])
        assert first == [b"1", b"2", b"D", b"C", b"Z"]
        assert read_until_ready(conn) == [b"1", b"2", b"D", b"C", b"Z"]
    finally:
        conn.close()


def test_error_in_a_batch_is_sent_at_once(pgiris, backend):
    conn = pgwire.login(pgiris, backend)
    try:
        # Bind to a statement that does not exist fails in the worker itself.
        conn.send(message(b"P", b"\0SELECT 1\0\0\0") + message(b"B", b"\0nosuch\0\0\0\0\0\0\0"))
        t, payload = conn.read_message(timeout=0.5)
        assert t == b"1"
        t, payload = conn.read_message(timeout=0.5)
        assert t == b"E", (t, payload)
        assert pgwire.parse_error_fields(payload)["C"] == "26000"
        conn.send(message(b"S"))
        assert conn.read_message(timeout=5)[0] == b"Z"
    finally:
        conn.close()
