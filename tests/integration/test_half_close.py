"""Clients that close their sending side once they have sent everything:
shutdown(SHUT_WR), over plain TCP or TLS, and over TLS a close_notify
first.  PostgreSQL runs what such a client sent before its end of file, a
COPY FROM STDIN up to its CopyDone included, and sends the replies while
the socket takes them; pgiris must do the same on both backends.  A COPY
whose input ends before its CopyDone is rolled back.

One worker and one backend connection per pool: a later client's query
runs only once the executor is done with what the closed client left."""

import socket

import pytest

import pgwire
from pgwire import message
from test_tls import make_cert

# Rows of a COPY sent after a slow statement: few enough to be all read
# with the end of file while that statement runs; about 400 kB, more than
# the worker reads ahead, so that most of it is read during the COPY.
COPY_ROWS = [10, 30000]


@pytest.fixture(scope="module")
def pgiris(module_pgiris_factory, tmp_path_factory):
    key, cert = make_cert(tmp_path_factory.mktemp("half_close_tls"), "hc")
    return module_pgiris_factory(
        settings={"workers": 1, "default_pool_size": 1, "min_pool_size": 1,
                  "query_wait_timeout": 20, "client_tls_sslmode": "prefer",
                  "client_tls_key_file": key, "client_tls_cert_file": cert},
        databases={"demo": {"pool_size": 1}, "pg": {"pool_size": 1}})


@pytest.fixture(params=["plain", "tls", "tls_close_notify"])
def transport(request):
    return request.param


@pytest.fixture
def table(make_table):
    return make_table("id INTEGER, v TEXT", prefix="hc")


def login(pgiris, backend, transport):
    if transport == "plain":
        return pgwire.login(pgiris, backend)
    return pgwire.login_tls(pgiris, backend)


def close_sending_side(conn, transport):
    if transport == "tls_close_notify":
        conn.sock.close_notify()
    conn.sock.shutdown(socket.SHUT_WR)


def count_rows(pgiris, backend, table):
    # Through pgiris first: with one backend connection this waits for the
    # executor to finish with the closed client's lease.
    with pgiris.connect(backend) as c:
        through = int(c.execute("SELECT count(*) FROM %s" % table).fetchone()[0])
    assert pgiris.direct(backend, "SELECT count(*) FROM %s" % table)[0][0] == through
    return through


def slow_query(backend):
    """A statement that runs long enough for the end of file after it to be
    read while it runs; its reply is one row."""
    if backend == "pg":
        return pgwire.query_message("SELECT pg_sleep(0.3)")
    return pgwire.query_message("WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s"
                                " WHERE x < 300000) SELECT count(*) FROM s")


def copy_data(rows):
    data = b"".join(b"%d\tvalue %d\n" % (i, i) for i in range(rows))
    return b"".join(message(b"d", data[i:i + 8192]) for i in range(0, len(data), 8192))


def test_query_then_closed_is_run_and_answered(pgiris, backend, transport, table):
    sql = "BEGIN; INSERT INTO %s VALUES (1, 'a'); INSERT INTO %s VALUES (2, 'b'); COMMIT" % (
        table, table)
    other = pgiris.connect(backend, sslmode="require" if transport != "plain" else "disable")
    try:
        conn = login(pgiris, backend, transport)
        try:
            conn.send(slow_query(backend) + pgwire.query_message(sql))
            close_sending_side(conn, transport)
            seen = conn.wait_closed(10)
        finally:
            conn.close()
        assert [t for t, _ in seen] == [b"T", b"D", b"C", b"Z", b"C", b"C", b"C", b"C", b"Z"], seen
        assert count_rows(pgiris, backend, table) == 2
        # Another client of the same worker was not disturbed.
        assert other.execute("SELECT 'still here'").fetchone()[0] == "still here"
    finally:
        other.close()


@pytest.mark.parametrize("then_query", [False, True], ids=["copy_only", "then_query"])
@pytest.mark.parametrize("rows", COPY_ROWS)
def test_copy_sent_whole_then_closed_is_committed(pgiris, backend, transport, table, rows,
                                                  then_query):
    conn = login(pgiris, backend, transport)
    try:
        conn.send(slow_query(backend)
                  + pgwire.query_message("COPY %s FROM STDIN" % table) + copy_data(rows)
                  + message(b"c")
                  + (pgwire.query_message("SELECT 42") if then_query else b""))
        close_sending_side(conn, transport)
        seen = conn.wait_closed(30)
    finally:
        conn.close()
    expected = [b"T", b"D", b"C", b"Z", b"G", b"C", b"Z"]
    expected += [b"T", b"D", b"C", b"Z"] if then_query else []
    assert [t for t, _ in seen] == expected, seen
    assert seen[5] == (b"C", b"COPY %d\0" % rows)
    if then_query:
        assert seen[8] == (b"D", b"\0\1\0\0\0\00242")
    assert count_rows(pgiris, backend, table) == rows


@pytest.mark.parametrize("cut", [0, 100], ids=["after_a_message", "inside_a_message"])
def test_copy_cut_short_by_the_close_is_rolled_back(pgiris, backend, transport, table, cut):
    data = copy_data(COPY_ROWS[-1])
    conn = login(pgiris, backend, transport)
    try:
        conn.send(slow_query(backend) + pgwire.query_message("COPY %s FROM STDIN" % table)
                  + data[:len(data) - cut])
        close_sending_side(conn, transport)
        seen = conn.wait_closed(30)
    finally:
        conn.close()
    # No CommandComplete for the COPY: the session ends at the end of file.
    assert [t for t, _ in seen] == [b"T", b"D", b"C", b"Z", b"G"], seen
    assert count_rows(pgiris, backend, table) == 0


def test_tls_terminate_then_close_notify(pgiris, backend):
    # Terminate and close_notify decrypted in one read: the session goes at
    # the Terminate, with its end of file still to be reported.
    conn = pgwire.login_tls(pgiris, backend)
    try:
        conn.sock.close_notify(last=message(b"X"))
        assert conn.wait_closed(10) == []
    finally:
        conn.close()
    with pgiris.connect(backend, sslmode="require") as c:
        assert c.execute("SELECT 'next'").fetchone()[0] == "next"
