"""A result far larger than any buffer: two million rows read by a client
that consumes them as they arrive (and stops reading for a while in the
middle).  Every row must be right, and no pgiris process may grow past a
fixed memory bound while it streams.

The two-million-row read uses the raw protocol client: psycopg's
cursor.stream() (single-row mode, pure-Python build) needs about 25 s for
that many rows, so it streams a smaller result instead.
"""

import decimal
import threading
import time

import pytest

import pgwire
from conftest import PGIRIS_BIN, is_sanitized_binary

ROWS = 2_000_000
RSS_LIMIT_KB = 64 * 1024


def sql(backend, rows):
    if backend == "demo":
        return ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d)"
                " SELECT x, 'row number ' || x FROM c" % rows)
    return "SELECT x, 'row number ' || x FROM generate_series(1, %d) AS x" % rows


class RssSampler(threading.Thread):
    """Samples VmRSS of the broker and all its children every 0.2 s."""

    def __init__(self, inst):
        super().__init__(daemon=True)
        self.inst = inst
        self.peak = {}
        self.samples = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.2):
            self.sample()

    def sample(self):
        for pid, kb in self.inst.rss().items():
            self.peak[pid] = max(self.peak.get(pid, 0), kb)
        self.samples += 1

    def __enter__(self):
        self.sample()
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join(5)


def check_rss(sampler, min_samples):
    assert sampler.samples >= min_samples
    assert len(sampler.peak) >= 3, "expected the broker and its workers: %s" % sampler.peak
    if is_sanitized_binary(PGIRIS_BIN):
        return  # shadow memory makes RSS meaningless for a sanitizer build
    over = {pid: kb for pid, kb in sampler.peak.items() if kb >= RSS_LIMIT_KB}
    assert not over, "pgiris processes over %d kB RSS: %s (all: %s)" % (
        RSS_LIMIT_KB, over, sampler.peak)


def test_two_million_rows_stream_in_bounded_memory(pgiris, backend):
    count = total = 0
    with RssSampler(pgiris) as sampler, pgwire.Conn(pgiris.port, timeout=60) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        expected = 1
        for x, text in c.stream_query(sql(backend, ROWS), recv_size=16384):
            value = int(x)
            if value != expected or text != b"row number %d" % value:
                pytest.fail("row %d is (%r, %r)" % (expected, x, text))
            if value == 100_000:
                # Stop reading: the socket buffers fill up and pgiris must
                # stop pulling rows from the backend instead of buffering.
                time.sleep(1.5)
            expected += 1
            count += 1
            total += value
        assert c.simple_query("SELECT 1")[0][1] == [["1"]]

    assert count == ROWS
    assert total == ROWS * (ROWS + 1) // 2
    check_rss(sampler, 5)


def test_stream_inside_a_transaction(pgiris, backend):
    """A transaction block streams too: SQLite's driver reads a whole result
    when it executes inside a transaction it manages itself."""
    rows = 1_000_000
    count = total = 0
    with RssSampler(pgiris) as sampler, pgwire.Conn(pgiris.port, timeout=60) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        c.simple_query("BEGIN")
        for x, text in c.stream_query(sql(backend, rows), recv_size=16384):
            value = int(x)
            if value != count + 1 or text != b"row number %d" % value:
                pytest.fail("row %d is (%r, %r)" % (count + 1, x, text))
            count += 1
            total += value
        assert c.simple_query("SELECT 1")[0][1] == [["1"]]
        assert c.simple_query("COMMIT")[0][2] == "COMMIT"
    assert count == rows
    assert total == rows * (rows + 1) // 2
    check_rss(sampler, 3)


def test_repeated_large_result_streams(pgiris, backend):
    """A statement run again and again is not auto-parameterized once its
    result proved large: SQLite's driver would read the whole result of a
    statement with parameters into the broker's memory."""
    rows = 1_000_000
    with RssSampler(pgiris) as sampler, pgwire.Conn(pgiris.port, timeout=60) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        for run in range(4):
            count = 0
            for x, _ in c.stream_query(sql(backend, rows), recv_size=65536):
                count += 1
            assert count == rows, "run %d" % (run + 1)
    check_rss(sampler, 3)


def test_parameterized_stream_in_bounded_memory(pgiris, backend):
    """A statement with a parameter streams too, the first time and after
    it has proved large: SQLite's driver reads the whole result of a
    statement with parameters when it executes it."""
    rows = 1_000_000
    text = sql(backend, 0).replace(" 0)", " $1::int)") if backend == "demo" else (
        "SELECT x, 'row number ' || x FROM generate_series(1, $1) AS x")
    with RssSampler(pgiris) as sampler, pgwire.Conn(pgiris.port, timeout=60) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        for run in range(3):
            count = total = 0
            for x, _ in c.stream_query(text, params=[rows]):
                count += 1
                total += int(x)
                if count > rows:
                    pytest.fail("more than %d rows" % rows)
            assert (count, total) == (rows, rows * (rows + 1) // 2), "run %d" % (run + 1)
    check_rss(sampler, 3)


def test_psycopg_stream(pgiris, backend):
    rows = 100_000
    with RssSampler(pgiris) as sampler, pgiris.connect(backend) as conn:
        cur = conn.cursor()
        count = total = 0
        for x, text in cur.stream(sql(backend, rows)):
            # SQLite: an untyped integer column is numeric (its later values could be reals).
            assert type(x) is (int if backend == "pg" else decimal.Decimal)
            if text != "row number %d" % x:
                pytest.fail("row %d is (%r, %r)" % (count + 1, x, text))
            count += 1
            total += x
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)
    assert count == rows
    assert total == rows * (rows + 1) // 2
    check_rss(sampler, 1)


def test_client_leaves_in_the_middle_of_a_big_result(pgiris, backend):
    # The backend connection must be released (and usable) even though the
    # client went away with a million rows still to come.
    with pgwire.Conn(pgiris.port, timeout=30) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        rows = c.stream_query(sql(backend, 1_000_000))
        for _ in range(1000):
            next(rows)
    deadline = time.monotonic() + 15
    while True:
        pools = [p for p in pgiris.show("POOLS") if p["database"] == backend]
        if pools and all(int(p["sv_active"]) == 0 for p in pools):
            break
        assert time.monotonic() < deadline, "backend connection still leased: %s" % pools
        time.sleep(0.2)
    with pgiris.connect(backend) as conn:
        assert conn.execute("SELECT name FROM customers WHERE id = 300").fetchone() == ("Mateo Dubois",)


@pytest.fixture(scope="module")
def small_ring(module_pgiris_factory):
    # The smallest response ring: most replies fill it, and many end with the ring full
    # when the executor comes to write the record that ends them.
    return module_pgiris_factory(settings={"ring_size": 4096})


def test_replies_that_fill_the_ring_do_not_stall(small_ring, backend):
    """A reply whose last record the executor could write only in part (the ring
    full) left the worker spinning on the part and the executor asleep for want of
    room until its one-second wait ran out: about one query in three hundred here
    took a second.  Each reply must come at once."""
    pad = "y" * 300
    slow = []
    with small_ring.connect(backend) as conn:
        for i in range(1, 2000):
            start = time.monotonic()
            rows = conn.execute("SELECT x, substr('%s', 1, %d) FROM generate_series(1, %d) AS s(x)"
                                % (pad, i % 97 + 1, i % 53 + 1), prepare=False).fetchall()
            took = time.monotonic() - start
            assert len(rows) == i % 53 + 1 and len(rows[0][1]) == i % 97 + 1
            if took > 0.9:
                slow.append((i, round(took, 3)))
    assert slow == []


def test_copy_from_through_the_smallest_ring(small_ring, backend):
    """COPY FROM resumed only when the request ring (a quarter of ring_size, at
    least 4 kB) had room for a 16 kB chunk, which a small ring never has: the
    COPY waited for ever, and the client's socket went unread."""
    table = "ring_copy_%s" % backend
    with small_ring.connect(backend) as conn:
        conn.execute("DROP TABLE IF EXISTS %s" % table)
        conn.execute("CREATE TABLE %s (id integer, v text)" % table)
        data = b"".join(b"%d\t%s\n" % (i, b"v" * 100) for i in range(500))
        cur = conn.cursor()
        start = time.monotonic()
        with cur.copy("COPY %s (id, v) FROM STDIN" % table) as copy:
            for k in range(0, len(data), 30000):
                copy.write(data[k:k + 30000])
        assert cur.rowcount == 500 and time.monotonic() - start < 30
        assert conn.execute("SELECT count(*), sum(length(v)) FROM %s" % table).fetchone() == (500, 50000)
        conn.execute("DROP TABLE %s" % table)
