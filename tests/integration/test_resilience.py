"""What a serious pooler must survive: graceful shutdown with a transaction
open, a backend connection killed under a client, and the Unix socket."""

import signal
import time

import psycopg
import pytest

from conftest import is_alive, wait_for


def port_refuses(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def test_sigterm_lets_an_open_transaction_finish(pgiris_factory):
    inst = pgiris_factory(settings={"shutdown_timeout": 20})
    workers = inst.children()
    busy = inst.connect("pg")
    idle = inst.connect("pg")
    try:
        busy.execute("BEGIN")
        busy.execute("CREATE TEMP TABLE graceful (x int)")
        inst.proc.send_signal(signal.SIGTERM)
        # New clients are refused and idle ones are let go ...
        wait_for(lambda: port_refuses(inst.port), 5, message="the listener to close")
        deadline = time.time() + 5
        with pytest.raises(psycopg.OperationalError):
            while time.time() < deadline:
                idle.execute("SELECT 1")
                time.sleep(0.1)
        # ... while the open transaction carries on to its end.
        busy.execute("INSERT INTO graceful VALUES (1)")
        assert busy.execute("SELECT count(*) FROM graceful").fetchone() == (1,)
        assert inst.proc.poll() is None, "pgiris quit with a transaction open"
        busy.execute("COMMIT")
        inst.proc.wait(10)
        assert inst.proc.returncode == 0
        wait_for(lambda: not [w for w in workers if is_alive(w)], 5, message="workers to exit")
    finally:
        busy.close()
        idle.close()


def test_killed_backend_connection_is_reported_and_replaced(pgiris_factory):
    inst = pgiris_factory(settings={"pool_mode": "session"}, databases={"pg": {"pool_size": 1}})
    with inst.connect("pg") as conn:
        victim = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        inst.direct("pg", "SELECT pg_terminate_backend(%d)" % victim)
        time.sleep(0.2)
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT 1")
        assert info.value.sqlstate == "08006", info.value.sqlstate
        assert "backend connection lost" in str(info.value)
    # The pool's only connection was replaced: a new client gets a fresh backend.
    with inst.connect("pg") as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert pid != victim
        assert conn.execute("SELECT 41 + 1").fetchone() == (42,)


def test_unix_socket(pgiris_factory, tmp_path):
    sockdir = tmp_path / "sock"
    sockdir.mkdir()
    inst = pgiris_factory(settings={"unix_socket_dir": sockdir})
    assert (sockdir / (".s.PGSQL.%d" % inst.port)).exists()
    with psycopg.connect(host=str(sockdir), port=inst.port, user="demo", password="demo",
                         dbname="demo", autocommit=True) as conn:
        assert conn.execute("SELECT name FROM customers WHERE id = 3").fetchone() == ("Dmitri Almeida",)
    inst.stop()
    assert not (sockdir / (".s.PGSQL.%d" % inst.port)).exists(), "socket file left behind"
