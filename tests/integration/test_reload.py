"""Reloading the configuration: SIGHUP and the console's RELOAD apply a new
pool size at once; a broken file is rejected and the old settings stay."""

import signal
import time

import psycopg
import pytest

from conftest import wait_for


def pool_size(inst, database, user="demo"):
    """(pool_size in SHOW POOLS, pool_size in SHOW DATABASES) for one database."""
    pool = inst.pool(database, user)
    dbs = [r for r in inst.show("DATABASES") if r["name"] == database]
    assert len(dbs) == 1, dbs
    return int(pool["pool_size"]), int(dbs[0]["pool_size"])


def use_pool(inst, database):
    with inst.connect(database) as conn:
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)


def test_sighup_changes_pool_size(pgiris_factory):
    inst = pgiris_factory()
    use_pool(inst, "demo")
    assert pool_size(inst, "demo") == (5, 5)
    workers = inst.children()

    inst.set_pool_size("demo", 7)
    inst.reload()
    wait_for(lambda: pool_size(inst, "demo") == (7, 7), 5,
             message="pool_size 7 in SHOW POOLS and SHOW DATABASES")
    # The other database is untouched, and a reload restarts nothing.
    use_pool(inst, "pg")
    assert pool_size(inst, "pg") == (4, 4)
    assert inst.children() == workers
    use_pool(inst, "demo")


def test_reload_command_changes_pool_size(pgiris_factory):
    inst = pgiris_factory()
    use_pool(inst, "pg")
    inst.set_pool_size("pg", 2)
    with inst.admin() as admin:
        admin.execute("RELOAD")
    wait_for(lambda: pool_size(inst, "pg") == (2, 2), 5,
             message="pool_size 2 in SHOW POOLS and SHOW DATABASES")
    use_pool(inst, "pg")


def test_pool_reuses_warm_connection_and_shrinks_cold(pgiris_factory, postgres):
    """The connection released last is the next one leased; a pool that
    shrinks closes the ones idle longest and keeps it."""
    inst = pgiris_factory()
    inst.set_pool_size("pg", 3)
    inst.reload()
    wait_for(lambda: pool_size(inst, "pg")[1] == 3, 5, message="pool_size 3")
    conns = [inst.connect("pg") for _ in range(3)]
    try:
        pids = []
        for c in conns:
            c.execute("BEGIN")
            pids.append(c.execute("SELECT pg_backend_pid()").fetchone()[0])
        assert len(set(pids)) == 3, pids
        for c in conns:     # released in order: the last one is the warmest
            c.execute("COMMIT")
    finally:
        for c in conns:
            c.close()
    for _ in range(3):
        with inst.connect("pg") as c:
            assert c.execute("SELECT pg_backend_pid()").fetchone()[0] == pids[2]

    inst.set_pool_size("pg", 1)
    inst.reload()
    alive = lambda: sorted(r[0] for r in postgres.query(
        "SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)))
    wait_for(lambda: alive() == [pids[2]], 10,
             message="only the connection used last left open")
    with inst.connect("pg") as c:
        assert c.execute("SELECT pg_backend_pid()").fetchone()[0] == pids[2]


def test_smaller_pool_is_enforced(pgiris_factory, postgres):
    # After shrinking the pool to 1, a transaction holding the only
    # connection makes the next client wait into query_wait_timeout.
    inst = pgiris_factory(settings={"query_wait_timeout": 1})
    inst.set_pool_size("pg", 1)
    inst.reload()
    wait_for(lambda: pool_size(inst, "pg")[1] == 1, 5, message="pool_size 1")
    with inst.connect("pg") as a, inst.connect("pg") as b:
        a.execute("BEGIN")
        a.execute("SELECT 1")
        started = time.monotonic()
        try:
            b.execute("SELECT 2")
            raise AssertionError("B ran while A held the only backend connection")
        except Exception as exc:
            assert getattr(exc, "sqlstate", None) == "53300", exc
        assert time.monotonic() - started >= 0.8
        a.execute("COMMIT")
        assert b.execute("SELECT 'r3'").fetchone() == ("r3",)


def test_broken_config_keeps_old_settings(pgiris_factory):
    inst = pgiris_factory()
    use_pool(inst, "demo")
    workers = inst.children()
    log_size = len(inst.stderr_text())

    good = inst.config_text()
    inst.write_raw_config(good.replace("[pgiris]\n", "[pgiris]\nno_such_setting = 3\n", 1)
                          .replace("pool_size = 5", "pool_size = 9"))
    inst.reload()
    wait_for(lambda: "no_such_setting" in inst.stderr_text()[log_size:], 5,
             message="a log line naming the bad key")
    time.sleep(0.5)

    assert inst.proc.poll() is None, "pgiris exited on a bad config reload"
    assert inst.children() == workers
    use_pool(inst, "demo")
    use_pool(inst, "pg")
    assert pool_size(inst, "demo") == (5, 5)

    # A bad file that cannot even be parsed is rejected the same way.
    inst.write_raw_config("[pgiris\nthis is not an ini file\n")
    inst.reload()
    time.sleep(1)
    assert inst.proc.poll() is None
    use_pool(inst, "demo")
    assert pool_size(inst, "demo") == (5, 5)

    # Once the file is fixed, reloading works again.
    inst.set_pool_size("demo", 6)
    inst.reload()
    wait_for(lambda: pool_size(inst, "demo") == (6, 6), 5, message="pool_size 6")
    assert inst.proc.poll() is None
    assert inst.children() == workers


def test_sighup_storm(pgiris_factory):
    # Many reloads in a row while clients work must not disturb them.
    inst = pgiris_factory()
    with inst.connect("demo") as conn:
        for i in range(20):
            inst.set_pool_size("demo", 3 + i % 4)
            inst.proc.send_signal(signal.SIGHUP)
            assert conn.execute("SELECT 'r%d'" % i).fetchone() == ("r%d" % i,)
            time.sleep(0.05)
    inst.set_pool_size("demo", 8)
    inst.reload()
    wait_for(lambda: pool_size(inst, "demo") == (8, 8), 5, message="pool_size 8")
    assert len(inst.children()) == 2


def test_sighup_adds_and_removes_a_database(pgiris_factory):
    inst = pgiris_factory()
    with pytest.raises(psycopg.OperationalError) as info:
        inst.connect("extra")
    assert 'database "extra" does not exist' in str(info.value)

    inst.databases["extra"] = dict(inst.databases["demo"], pool_size=2)
    inst.write_config()
    inst.reload()

    def extra_works():
        try:
            with inst.connect("extra") as conn:
                return conn.execute("SELECT name FROM customers WHERE id = 3").fetchone() == ("Dmitri Almeida",)
        except psycopg.OperationalError:
            return False
    wait_for(extra_works, 5, message="the added database to accept clients")
    assert pool_size(inst, "extra") == (2, 2)

    del inst.databases["extra"]
    inst.write_config()
    inst.reload()

    def extra_gone():
        try:
            inst.connect("extra").close()
            return False
        except psycopg.OperationalError as e:
            return 'database "extra" does not exist' in str(e)
    wait_for(extra_gone, 5, message="the removed database to refuse new clients")
    use_pool(inst, "demo")
