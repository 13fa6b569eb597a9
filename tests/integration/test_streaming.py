"""A result far larger than any buffer: two million rows read by a client
that consumes them as they arrive.  Every row must be right, and no pgiris
process may grow past a fixed memory bound while it streams."""

import threading

import pytest

from conftest import PGIRIS_BIN, is_sanitized_binary, rss_kb

ROWS = 2_000_000
RSS_LIMIT_KB = 64 * 1024

SQL = {
    "demo": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d)"
            " SELECT x, 'row number ' || x FROM c" % ROWS,
    "pg": "SELECT x, 'row number ' || x FROM generate_series(1, %d) AS x" % ROWS,
}


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
        for pid in self.inst.pgiris_pids():
            rss = rss_kb(pid)
            if rss is not None:
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
        self.samples += 1


def test_two_million_rows_stream_in_bounded_memory(pgiris, backend):
    sampler = RssSampler(pgiris)
    sampler.sample()
    sampler.start()
    count = total = 0
    try:
        with pgiris.connect(backend) as conn:
            cur = conn.cursor()
            expected = 1
            for x, text in cur.stream(SQL[backend]):
                if x != expected or text != "row number %d" % x:
                    pytest.fail("row %d is (%r, %r)" % (expected, x, text))
                expected += 1
                count += 1
                total += x
            # The connection is usable afterwards.
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        sampler.done.set()
        sampler.join(5)

    assert count == ROWS
    assert total == ROWS * (ROWS + 1) // 2
    assert sampler.samples >= 5
    assert len(sampler.peak) >= 3, "expected the broker and its workers: %s" % sampler.peak
    if is_sanitized_binary(PGIRIS_BIN):
        pytest.skip("memory bound not checked for a sanitizer build (shadow memory)")
    over = {pid: kb for pid, kb in sampler.peak.items() if kb >= RSS_LIMIT_KB}
    assert not over, "pgiris processes over %d kB RSS: %s (all: %s)" % (
        RSS_LIMIT_KB, over, sampler.peak)
