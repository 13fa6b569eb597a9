"""Pipelined clients: a client that sends many Parse/Bind/Execute/Sync groups
(or simple Queries) at once gets every result, in order, without waiting on
anything else happening in pgiris.

The next query of a pipeline, and a client that waited for a backend
connection, start while the worker is already finishing its loop turn: the
executor must still wake the worker for their results.  One worker and a
pool of one connection make every request take that path in turn."""

import threading

import pytest

import pgwire
from pgwire import message

ROUNDS = 300


@pytest.fixture(scope="module")
def pgiris(module_pgiris_factory):
    return module_pgiris_factory(
        settings={"workers": 1, "default_pool_size": 1, "min_pool_size": 1,
                  "query_wait_timeout": 20},
        databases={"demo": {"pool_size": 1}, "pg": {"pool_size": 1}})


def extended_select(value):
    sql = b"SELECT %d" % value
    return (message(b"P", b"\0" + sql + b"\0\0\0")
            + message(b"B", b"\0\0\0\0\0\0\0\0")
            + message(b"E", b"\0\0\0\0\0")
            + message(b"S"))


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


def login(pgiris, backend):
    conn = pgwire.Conn(pgiris.port)
    conn.startup("demo", backend, pgiris.users["demo"])
    return conn


def test_extended_pipeline_gets_every_result(pgiris, backend):
    conn = login(pgiris, backend)
    try:
        conn.send(b"".join(extended_select(i) for i in range(ROUNDS)))
        assert read_answers(conn, ROUNDS) == list(range(ROUNDS))
    finally:
        conn.close()


def test_simple_pipeline_gets_every_result(pgiris, backend):
    conn = login(pgiris, backend)
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
        conn = login(pgiris, backend)
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
