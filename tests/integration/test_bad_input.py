"""Malformed, hostile or silent clients on raw sockets.  Each must get an
error or a closed connection, never a hang or a crash: a well-behaved client
connected the whole time keeps working and no pgiris process dies."""

import socket
import struct
import time

import pytest

import pgwire
from conftest import is_alive, wait_for

USER, DB = "demo", "demo"


@pytest.fixture
def witness(pgiris):
    """A normal client connected across the test; checked before and after."""
    workers = pgiris.children()
    assert len(workers) == 2
    with pgiris.connect("demo") as conn:
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)
        yield conn
        assert conn.execute("SELECT 'still here'").fetchone() == ("still here",)
    assert pgiris.proc.poll() is None, "the broker exited"
    assert all(is_alive(w) for w in workers), "a worker died"
    assert pgiris.children() == workers, "workers were replaced: %s -> %s" % (
        workers, pgiris.children())
    with pgiris.connect("pg") as conn:
        assert conn.execute("SELECT 'r2'").fetchone() == ("r2",)


def login(pgiris):
    c = pgwire.Conn(pgiris.port, timeout=10)
    c.startup(USER, DB, pgiris.users[USER])
    return c


def assert_only_errors(messages):
    assert all(t == b"E" for t, _ in messages), messages


@pytest.mark.parametrize("length", [0, 4, 7, 10001, 1 << 20, 0x7FFFFFFF])
def test_bad_startup_length(pgiris, witness, length):
    with pgwire.Conn(pgiris.port) as c:
        c.send(struct.pack("!I", length) + struct.pack("!I", pgwire.PROTOCOL_3_0) + b"user\0")
        assert_only_errors(c.wait_closed(5))


def test_startup_packet_without_terminator(pgiris, witness):
    # A well-sized packet whose parameter list is not NUL-terminated: an
    # error at once, or at the latest the login timeout, must end it.
    body = struct.pack("!I", pgwire.PROTOCOL_3_0) + b"user\0demo\0database\0de"
    with pgwire.Conn(pgiris.port) as c:
        c.send(struct.pack("!I", len(body) + 4) + body)
        c.wait_closed(6)


def test_startup_packet_without_user(pgiris, witness):
    with pgwire.Conn(pgiris.port) as c:
        c.send(pgwire.startup_packet({"database": DB}))
        messages = c.wait_closed(5)
        assert messages and messages[0][0] == b"E"
        fields = pgwire.parse_error_fields(messages[0][1])
        assert fields.get("S") == "FATAL"


def test_unsupported_protocol_version(pgiris, witness):
    with pgwire.Conn(pgiris.port) as c:
        c.send(pgwire.startup_packet({"user": USER, "database": DB}, version=2 << 16))
        messages = c.wait_closed(5)
        assert messages and messages[0][0] == b"E", messages
        assert pgwire.parse_error_fields(messages[0][1]).get("C") == "0A000"


def test_ssl_request_is_declined(pgiris, witness):
    with pgwire.Conn(pgiris.port) as c:
        c.send(pgwire.request_packet(pgwire.SSL_REQUEST_CODE))
        assert c.read_exact(1, timeout=5) == b"N"
        c.startup(USER, DB, pgiris.users[USER])
        assert c.simple_query("SELECT 1")[0][1] == [["1"]]


def test_gssenc_request_is_declined(pgiris, witness):
    with pgwire.Conn(pgiris.port) as c:
        c.send(pgwire.request_packet(pgwire.GSSENC_REQUEST_CODE))
        assert c.read_exact(1, timeout=5) == b"N"
        c.startup(USER, DB, pgiris.users[USER])
        assert c.simple_query("SELECT 1")[0][1] == [["1"]]


def test_ssl_then_gssenc_then_startup(pgiris, witness):
    with pgwire.Conn(pgiris.port) as c:
        c.send(pgwire.request_packet(pgwire.GSSENC_REQUEST_CODE))
        assert c.read_exact(1, timeout=5) == b"N"
        c.send(pgwire.request_packet(pgwire.SSL_REQUEST_CODE))
        assert c.read_exact(1, timeout=5) == b"N"
        c.startup(USER, DB, pgiris.users[USER])
        assert c.simple_query("SELECT 2")[0][1] == [["2"]]


def test_cancel_request_with_unknown_key(pgiris, witness):
    with pgwire.Conn(pgiris.port) as c:
        c.send(struct.pack("!IIii", 16, pgwire.CANCEL_REQUEST_CODE, 12345, 67890))
        assert c.wait_closed(5) == []


def test_unknown_message_type(pgiris, witness):
    with login(pgiris) as c:
        c.send(pgwire.message(b"z", b"whatever"))
        messages = c.wait_closed(5)
        assert messages and messages[0][0] == b"E", messages
        assert pgwire.parse_error_fields(messages[0][1]).get("C") == "08P01"


def test_bad_message_length(pgiris, witness):
    with login(pgiris) as c:
        c.send(b"Q" + struct.pack("!I", 2) + b"SELECT 1\0")
        messages = c.wait_closed(5)
        assert messages and messages[0][0] == b"E", messages
        assert pgwire.parse_error_fields(messages[0][1]).get("C") == "08P01"


@pytest.mark.parametrize("length", [1048576 + 100, 64 << 20, 0x7FFFFFF0])
def test_message_over_max_message_size(pgiris, witness, length):
    # Only the header and a few bytes are sent: pgiris must refuse at the
    # header instead of waiting for (or allocating) the announced body.
    with login(pgiris) as c:
        c.send(b"Q" + struct.pack("!I", length) + b"SELECT '")
        started = time.monotonic()
        messages = c.wait_closed(5)
        assert time.monotonic() - started < 5
        assert messages and messages[0][0] == b"E", messages
        assert pgwire.parse_error_fields(messages[0][1]).get("C") in ("08P01", "54000")


def test_query_without_terminator(pgiris, witness):
    with login(pgiris) as c:
        c.send(pgwire.message(b"Q", b"SELECT 1"))
        try:
            # Either an error and the connection goes on, or an error and close.
            t, payload = c.read_message(timeout=5)
            assert t == b"E"
        except EOFError:
            pass


def assert_closed_after_login_timeout(port, sent):
    with pgwire.Conn(port) as c:
        started = time.monotonic()
        c.send(sent)
        try:
            c.wait_closed(8)
        except socket.timeout:
            pytest.fail("connection still open after 8 s (client_login_timeout = 2)")
        elapsed = time.monotonic() - started
    assert 1.5 <= elapsed <= 6, "closed after %.2f s (client_login_timeout = 2)" % elapsed


@pytest.mark.parametrize("sent", [b"\0\0", pgwire.startup_packet({"user": USER, "database": DB})],
                         ids=["half-header", "no-password"])
def test_silent_client_is_closed_after_login_timeout(pgiris, witness, sent):
    assert_closed_after_login_timeout(pgiris.port, sent)


def test_client_sending_nothing_is_closed_after_login_timeout(pgiris_factory):
    """Without tcp_defer_accept a connection reaches pgiris at once; one that
    sends nothing shows in SHOW CLIENTS and is closed by the login timer."""
    inst = pgiris_factory(settings={"tcp_defer_accept": 0})
    with pgwire.Conn(inst.port) as c:
        port = c.sock.getsockname()[1]
        wait_for(lambda: client_ports(inst) & {port}, 5, message="the silent client in SHOW CLIENTS")
    assert_closed_after_login_timeout(inst.port, b"")


def client_ports(inst):
    return {int(r["port"]) for r in inst.show("CLIENTS") if r["addr"] == "127.0.0.1"}


def test_client_sending_nothing_waits_in_the_kernel(pgiris_factory):
    """With tcp_defer_accept (45 s by default) the kernel keeps a TCP
    connection until its first bytes: pgiris neither sees it nor times it out,
    and the login that follows works.  A reload turns the option off."""
    inst = pgiris_factory()
    with pgwire.Conn(inst.port) as c:
        port = c.sock.getsockname()[1]
        time.sleep(3)   # past client_login_timeout (2 s), had pgiris seen it
        assert port not in client_ports(inst)
        c.startup(USER, DB, inst.users[USER])
        assert port in client_ports(inst)
        (_, rows, _), = c.simple_query("SELECT 'deferred'")
        assert rows == [["deferred"]], rows

    inst.settings["tcp_defer_accept"] = 0
    inst.write_config()
    inst.reload()
    wait_for(lambda: {r["key"]: r["value"] for r in inst.show("CONFIG")}["tcp_defer_accept"] == "0", 5,
             message="tcp_defer_accept = 0 in SHOW CONFIG")
    with pgwire.Conn(inst.port) as c:
        port = c.sock.getsockname()[1]
        wait_for(lambda: client_ports(inst) & {port}, 5, message="the silent client in SHOW CLIENTS")


def test_garbage_instead_of_password(pgiris, witness):
    with pgwire.Conn(pgiris.port) as c:
        c.send(pgwire.startup_packet({"user": USER, "database": DB}))
        t, _ = c.read_message(timeout=5)
        assert t == b"R"
        c.send(pgwire.message(b"p", b"\xff\xfe not a password"))
        messages = c.wait_closed(5)
        assert messages and messages[0][0] == b"E"
        assert pgwire.parse_error_fields(messages[0][1]).get("C") in ("28P01", "08P01")


def test_query_before_login(pgiris, witness):
    with pgwire.Conn(pgiris.port) as c:
        c.send(pgwire.query_message("SELECT 1"))
        assert_only_errors(c.wait_closed(5))


def test_terminate_and_abrupt_close(pgiris, witness):
    with login(pgiris) as c:
        c.send(pgwire.message(b"X"))
        assert c.wait_closed(5) == []
    for _ in range(20):
        c = login(pgiris)
        c.send(pgwire.query_message("SELECT 1"))
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


def test_many_half_open_connections(pgiris, witness):
    # Connections that stall in the middle of the startup packet must not
    # keep pgiris from serving others.
    stalled = [pgwire.Conn(pgiris.port) for _ in range(50)]
    try:
        for c in stalled:
            c.send(b"\0\0\0")
        for i in range(5):
            with pgiris.connect("demo") as conn:
                assert conn.execute("SELECT 'r%d'" % i).fetchone() == ("r%d" % i,)
    finally:
        for c in stalled:
            c.close()


def _parse(sql):
    return pgwire.message(b"P", b"\0" + sql.encode() + b"\0\0\0")


def _bind(values, nformats=0):
    body = b"\0\0\0\0" + struct.pack("!h", len(values))
    for v in values:
        body += struct.pack("!i", len(v)) + v
    return pgwire.message(b"B", body + struct.pack("!h", nformats))


EXECUTE_SYNC = pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S")


@pytest.mark.parametrize("database", ["demo", "pg"])
def test_bind_whose_markers_outgrow_a_request(pgiris, witness, database):
    """A Bind within max_message_size whose value each of two markers carries makes a
    request larger than the executor takes.  It gets 54000; before, the executor
    dropped the lease with the request half read, and every later lease of the
    database read the rest of it as requests: the database answered nobody."""
    with pgwire.login(pgiris, database) as c:
        c.send(_parse("SELECT $1, $1") + _bind([b"x" * 600000]) + EXECUTE_SYNC)
        assert pgwire.reply_shape(c) == (None, [], "54000")
        c.send(_parse("SELECT $1, $1") + _bind([b"xy"]) + EXECUTE_SYNC)
        assert pgwire.reply_shape(c) == (None, [2], None)
    for _ in range(3):
        with pgiris.connect(database) as other:
            assert other.execute("SELECT 'after'").fetchone() == ("after",)


def test_translation_that_outgrows_a_request(pgiris, witness):
    """A statement within max_message_size whose translation is longer than the
    executor takes (SQLite's greatest() names each argument twice): the executor
    reads the request through, so the ring stays in step, and answers 54000."""
    big = "'%s'" % ("x" * 400000)
    with pgwire.login(pgiris, "demo") as c:
        c.send(pgwire.query_message("SELECT greatest(%s, %s) AS g" % (big, big)))
        assert pgwire.reply_shape(c) == (None, [], "54000")
        c.send(pgwire.query_message("SELECT 'still in step'"))
        assert pgwire.reply_shape(c)[1:] == ([1], None)
    for _ in range(3):
        with pgiris.connect("demo") as other:
            assert other.execute("SELECT 'after'").fetchone() == ("after",)


@pytest.mark.parametrize("database", ["demo", "pg"])
def test_statement_with_more_markers_than_a_request_counts(pgiris, witness, database):
    """A request counts its markers in 16 bits: 65,536 of them ran as none (no row, no
    error), 32,768 came out negative.  More than 32,767 are refused at Parse."""
    with pgwire.login(pgiris, database) as c:
        for n in (32768, 65536):
            c.send(_parse("SELECT 1 WHERE 1 IN (%s)" % ", ".join(["$1"] * n)) + pgwire.message(b"S"))
            assert pgwire.reply_shape(c) == (None, [], "54000")
        c.send(_parse("SELECT 1 WHERE 'a' IN (%s)" % ", ".join(["$1"] * 100)) + _bind([b"a"]) + EXECUTE_SYNC)
        assert pgwire.reply_shape(c) == (None, [1], None)


def test_bind_missing_its_result_formats(pgiris, witness):
    """A Bind that counts five result formats and carries none is refused at Bind."""
    with login(pgiris) as c:
        c.send(_parse("SELECT 1") + _bind([], nformats=5) + pgwire.message(b"S"))
        seen = pgwire.until_ready(c)
        assert ("E", "08P01") in seen and not any(k == "2" for k, _ in seen), seen
        assert c.simple_query("SELECT 3")[0][1] == [["3"]]


def test_sqlite_limits_have_their_sqlstates(pgiris, witness):
    """SQLite's own limits and a marker with no parameter get PostgreSQL's SQLSTATEs, not XX000."""
    with login(pgiris) as c:
        c.send(pgwire.query_message("SELECT $1"))
        assert pgwire.reply_shape(c)[2] == "42P02"
        c.send(pgwire.query_message("SELECT %s" % ", ".join(["1"] * 40000)))
        assert pgwire.reply_shape(c)[2] == "54011"


@pytest.mark.parametrize("in_block", [False, True], ids=["outside", "in-block"])
def test_fast_path_call_is_an_error_not_a_disconnect(pgiris, backend, in_block):
    """FunctionCall (libpq's lo_*, PgJDBC's large objects): 0A000 and
    ReadyForQuery, the connection usable after it; in a block the error
    aborts it, as any error does."""
    conn = pgwire.login(pgiris, backend)
    try:
        if in_block:
            conn.send(pgwire.query_message("BEGIN"))
            assert pgwire.until_ready(conn, 10, skip=(b"N", b"S"))[-1] == ("Z", None)
        # lo_open(oid 0, mode 0x40000): function 952, two int4 arguments in binary
        body = struct.pack("!Ihhhiiiih", 952, 1, 1, 2, 4, 0, 4, 0x40000, 1)
        conn.send(pgwire.message(b"F", body))
        t, payload = conn.read_message(10)
        assert t == b"E" and pgwire.parse_error_fields(payload)["C"] == "0A000"
        t, payload = conn.read_message(10)
        assert (t, payload) == (b"Z", b"E" if in_block else b"I")
        if in_block:
            conn.send(pgwire.query_message("COMMIT"))
            assert pgwire.until_ready(conn, 10, skip=(b"N", b"S")) == [("C", "ROLLBACK"), ("Z", None)]
        conn.send(pgwire.query_message("SELECT 7"))
        assert pgwire.until_ready(conn, 10, skip=(b"N", b"S", b"T")) == [("D", ["7"]), ("C", "SELECT 1"), ("Z", None)]
    finally:
        conn.close()
