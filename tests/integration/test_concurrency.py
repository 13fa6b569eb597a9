"""Many more clients than backend connections: 200 concurrent clients share a
transaction pool of a handful of backend connections, and every query of
every client gets its own right answer."""

import sys
import threading
import time
import uuid

import pytest

CLIENTS = 200
QUERIES = 20


@pytest.fixture(scope="module")
def pgiris(module_pgiris_factory):
    # The clients are Python threads: a thread that holds a transaction can
    # wait a while for the interpreter lock, so give waiters more than the
    # default query_wait_timeout.  The pool sizes are the point here.
    return module_pgiris_factory(settings={"query_wait_timeout": 30},
                                 databases={"demo": {"pool_size": 5}, "pg": {"pool_size": 5}})


def test_200_clients_share_a_small_pool(pgiris, backend):
    table = "conc_%s" % uuid.uuid4().hex[:10]
    with pgiris.connect(backend) as conn:
        conn.execute("CREATE TABLE %s (id INTEGER PRIMARY KEY, client INTEGER NOT NULL,"
                     " note VARCHAR(40))" % table)

    errors = []
    done = []
    barrier = threading.Barrier(CLIENTS)

    def client(i):
        try:
            with pgiris.connect(backend, connect_timeout=60) as conn:
                # Hold every connection open at the same time.
                barrier.wait(90)
                for j in range(QUERIES):
                    row = conn.execute("SELECT 'c%d', 'q%d', 'client %d query %d'" % (i, j, i, j)).fetchone()
                    assert row == ("c%d" % i, "q%d" % j, "client %d query %d" % (i, j)), row
                conn.execute("BEGIN")
                conn.execute("INSERT INTO %s (id, client, note) VALUES (%d, %d, 'first')"
                             % (table, 2 * i, i))
                conn.execute("INSERT INTO %s (id, client, note) VALUES (%d, %d, 'second')"
                             % (table, 2 * i + 1, i))
                mine = conn.execute("SELECT note FROM %s WHERE client = %d ORDER BY id" % (table, i)).fetchall()
                assert mine == [("first",), ("second",)], mine
                conn.execute("COMMIT")
            done.append(i)
        except BaseException as exc:
            errors.append((i, repr(exc)))
            barrier.abort()

    # On the PostgreSQL backend, count pgiris's backend connections meanwhile.
    peak = [0]
    stop = threading.Event()

    def watch_backend():
        with pgiris.postgres.connect() as conn:
            while not stop.is_set():
                n = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                    " AND datname = 'postgres' AND application_name <> 'pgiris-tests'").fetchone()[0]
                peak[0] = max(peak[0], n)
                time.sleep(0.1)

    watcher = threading.Thread(target=watch_backend, daemon=True) if backend == "pg" else None
    if watcher:
        watcher.start()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, 150 - (time.monotonic() - started)))
    sys.setswitchinterval(switch_interval)
    stop.set()
    if watcher:
        watcher.join(5)

    assert not [t for t in threads if t.is_alive()], "clients still running after 150 s"
    assert not errors, "%d of %d clients failed, e.g. %s" % (len(errors), CLIENTS, errors[:5])
    assert sorted(done) == list(range(CLIENTS))

    with pgiris.connect(backend) as conn:
        rows = conn.execute("SELECT id, client FROM %s ORDER BY id" % table).fetchall()
        conn.execute("DROP TABLE %s" % table)
    assert rows == [(n, n // 2) for n in range(2 * CLIENTS)]

    if backend == "pg":
        pool_size = pgiris.databases["pg"]["pool_size"]
        assert 1 <= peak[0] <= pool_size, (
            "pgiris used %d PostgreSQL connections for a pool of %d" % (peak[0], pool_size))
