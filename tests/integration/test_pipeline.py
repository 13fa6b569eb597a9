"""Pipelined clients: a client that sends many Parse/Bind/Execute/Sync groups
(or simple Queries) at once gets every result, in order, without waiting on
anything else happening in pgiris.

The next query of a pipeline, and a client that waited for a backend
connection, start while the worker is already finishing its loop turn: the
executor must still wake the worker for their results.  One worker and a
pool of one connection make every request take that path in turn.  Also:
a client that closes its side right after sending still has its query
run, and a pipeline larger than what the worker buffers is all answered."""

import socket
import threading
import uuid

import pytest

import pgwire
from conftest import PGIRIS_BIN, is_sanitized_binary
from pgwire import message

ROUNDS = 300


@pytest.fixture(scope="module")
def pgiris(module_pgiris_factory):
    return module_pgiris_factory(
        settings={"workers": 1, "default_pool_size": 1, "min_pool_size": 1,
                  "query_wait_timeout": 20},
        databases={"demo": {"pool_size": 1}, "pg": {"pool_size": 1}})


def extended_select(value):
    return pgwire.parse_bind_execute("SELECT %d" % value) + message(b"S")


def read_answers(conn, count, timeout=10):
    """The value of the one row of each of count results, up to its 'Z'."""
    values = []
    row = None
    while len(values) < count:
        t, payload = conn.read_message(timeout)
        if t == b"D":
            row = pgwire.parse_data_row(payload)
        elif t == b"E":
            raise AssertionError(pgwire.parse_error_fields(payload))
        elif t == b"Z":
            values.append(int(row[0]) if row is not None else None)
            row = None
    return values


def test_extended_pipeline_gets_every_result(pgiris, backend):
    conn = pgwire.login(pgiris, backend)
    try:
        conn.send(b"".join(extended_select(i) for i in range(ROUNDS)))
        assert read_answers(conn, ROUNDS) == list(range(ROUNDS))
    finally:
        conn.close()


def test_simple_pipeline_gets_every_result(pgiris, backend):
    conn = pgwire.login(pgiris, backend)
    try:
        conn.send(b"".join(pgwire.query_message("SELECT %d" % i) for i in range(ROUNDS)))
        assert read_answers(conn, ROUNDS) == list(range(ROUNDS))
    finally:
        conn.close()


def test_pipelines_take_turns_on_one_connection(pgiris, backend):
    # Three clients pipeline at once over one backend connection: each of
    # their requests waits for the slot, and is started when another
    # client's lease ends.
    results = {}

    def run(k):
        conn = pgwire.login(pgiris, backend)
        try:
            conn.send(b"".join(extended_select(k * 1000 + i) for i in range(ROUNDS // 3)))
            results[k] = read_answers(conn, ROUNDS // 3, timeout=20)
        except Exception as e:  # reported below
            results[k] = e
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for k in range(3):
        assert results.get(k) == [k * 1000 + i for i in range(ROUNDS // 3)], results.get(k)


def test_client_that_closes_after_sending_has_its_query_run(pgiris, backend):
    # PostgreSQL runs a Query message to its end even when the client has
    # closed its side meanwhile; pgiris must not drop the transaction when
    # it reads that end of file while the query still runs.
    table = "pl_%s" % uuid.uuid4().hex[:10]
    with pgiris.connect(backend) as c:
        c.execute("CREATE TABLE %s (id INTEGER)" % table)
    try:
        slow = "SELECT pg_sleep(0.3); " if backend == "pg" else ""
        sql = "BEGIN; %sINSERT INTO %s VALUES (1); INSERT INTO %s VALUES (2); COMMIT" % (
            slow, table, table)
        conn = pgwire.login(pgiris, backend)
        try:
            conn.send(pgwire.query_message(sql))
            conn.sock.shutdown(socket.SHUT_WR)
            seen = []
            while not seen or seen[-1] != b"Z":
                seen.append(conn.read_message(10)[0])
            assert b"E" not in seen, seen
            # Then the session ends: the client said it has nothing more.
            assert conn.wait_closed(10) == []
        finally:
            conn.close()
        assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table)[0][0] == 2
    finally:
        with pgiris.connect(backend) as c:
            c.execute("DROP TABLE %s" % table)


def peak_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % pid)


def test_large_pipelined_input_waits_and_is_all_answered(pgiris, backend):
    # 8 MB of Query messages sent at once: the worker keeps at most about
    # 256 KiB of them while a query runs (reading stops, and goes on as the
    # queries are answered), and every one is answered.
    filler = "x" * 1000
    count = 8000
    worker = pgiris.children()[0]
    before = peak_kb(worker)
    conn = pgwire.login(pgiris, backend)
    try:
        # One text for all: the translation cache holds it once.
        payload = pgwire.query_message("SELECT 7, '%s'" % filler) * count
        sender = threading.Thread(target=conn.send, args=(payload,))
        sender.start()
        assert read_answers(conn, count, timeout=30) == [7] * count
        sender.join(30)
        assert not sender.is_alive()
    finally:
        conn.close()
    if is_sanitized_binary(PGIRIS_BIN):
        return  # a sanitizer's quarantine keeps freed memory: the peak says nothing
    grown = peak_kb(worker) - before
    assert grown < 4096, "the worker's peak memory grew by %d kB for 8 MB of input" % grown
