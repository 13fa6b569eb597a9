"""A worker process killed with SIGKILL in the middle of traffic: the other
worker's clients carry on, the broker starts a replacement, and the backend
connections the dead worker had leased go back to the pool."""

import os
import signal
import socket
import threading
import time

import psycopg
import pytest

from conftest import wait_for

CLIENTS = 20


def server_socket_inodes(port):
    """{client port: inode of pgiris's end} for connections to 127.0.0.1:port."""
    result = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            lhost, lport = local.split(":")
            rhost, rport = remote.split(":")
            if int(lport, 16) == port and lhost == "0100007F" and inode:
                result[int(rport, 16)] = inode
    return result


def socket_inodes_of(pid):
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except FileNotFoundError:
        pass
    return inodes


def client_port(conn):
    sock = socket.socket(fileno=os.dup(conn.fileno()))
    try:
        return sock.getsockname()[1]
    finally:
        sock.close()


def owning_worker(inst, conn, workers):
    """The worker process that holds the server end of conn's socket."""
    inode = server_socket_inodes(inst.port).get(client_port(conn))
    owners = [w for w in workers if inode in socket_inodes_of(w)]
    return owners[0] if len(owners) == 1 else None


NAMES = {}


class Client(threading.Thread):
    def __init__(self, inst, database, index, stop):
        super().__init__(daemon=True)
        self.inst, self.database, self.index, self.stop = inst, database, index, stop
        self.conn = self.connect()
        self.worker = None
        self.errors = []
        self.ok_after_kill = 0
        self.killed_at = None
        self.fatal = None

    def connect(self, **kwargs):
        # No automatic server-side prepare: this test is about processes,
        # not about the extended protocol.
        return self.inst.connect(self.database, prepare_threshold=None, **kwargs)

    def one_round(self, i):
        conn = self.conn
        if i % 3 == 0:
            conn.execute("BEGIN")
            a = conn.execute("SELECT 'r%d'" % i).fetchone()
            b = conn.execute("SELECT name FROM customers WHERE id = %d" % (1 + i % 300)).fetchone()
            conn.execute("COMMIT")
            assert a == ("r%d" % i,) and b == (NAMES[1 + i % 300],), (a, b)
        else:
            row = conn.execute("SELECT 'r%d', 'c%d'" % (i, self.index)).fetchone()
            assert row == ("r%d" % i, "c%d" % self.index), row

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                self.one_round(i)
                if self.killed_at is not None and time.monotonic() > self.killed_at:
                    self.ok_after_kill += 1
            except psycopg.OperationalError as exc:
                self.errors.append(repr(exc))
                if not self.reconnect():
                    return
            except BaseException as exc:
                self.fatal = repr(exc)
                return
        try:
            self.conn.close()
        except Exception:
            pass

    def reconnect(self):
        try:
            self.conn.close()
        except Exception:
            pass
        deadline = time.monotonic() + 15
        while not self.stop.is_set():
            try:
                self.conn = self.connect(connect_timeout=5)
                return True
            except psycopg.Error as exc:
                if time.monotonic() > deadline:
                    self.fatal = "cannot reconnect: %r" % exc
                    return False
                time.sleep(0.2)
        return False


@pytest.mark.parametrize("database", ["demo", "pg"])
def test_kill_one_worker(pgiris_factory, database):
    inst = pgiris_factory(settings={"query_wait_timeout": 10})
    NAMES.update(inst.direct(database, "SELECT id, name FROM customers"))
    workers = inst.children()
    assert len(workers) == 2, "expected 2 workers, found %s" % workers

    stop = threading.Event()
    clients = [Client(inst, database, i, stop) for i in range(CLIENTS)]
    try:
        for c in clients:
            c.worker = owning_worker(inst, c.conn, workers)
        assert all(c.worker for c in clients), \
            "could not find the worker of every client: %s" % [c.worker for c in clients]
        load = {w: sum(1 for c in clients if c.worker == w) for w in workers}
        victim = max(workers, key=lambda w: load[w])

        for c in clients:
            c.start()
        time.sleep(1.0)
        killed_at = time.monotonic()
        for c in clients:
            c.killed_at = killed_at
        os.kill(victim, signal.SIGKILL)

        # The broker replaces the worker.
        replacement = wait_for(
            lambda: [w for w in inst.children() if w not in workers]
            if len(inst.children()) == 2 else None,
            10, message="a replacement worker")
        assert victim not in inst.children()
        assert len(replacement) == 1

        # New connections work (several, so that some reach the new worker).
        for i in range(6):
            with inst.connect(database) as conn:
                assert conn.execute("SELECT 'r%d'" % i).fetchone() == ("r%d" % i,)

        time.sleep(2.0)
    finally:
        stop.set()
        for c in clients:
            c.join(30)

    assert not [c.index for c in clients if c.is_alive()], "clients hung"
    assert not [c.fatal for c in clients if c.fatal], [c.fatal for c in clients if c.fatal]
    survivors = [c for c in clients if c.worker != victim]
    assert not [c.errors for c in survivors if c.errors], \
        "clients of the surviving worker saw errors: %s" % [c.errors for c in survivors if c.errors]
    victims = [c for c in clients if c.worker == victim]
    assert victims and all(c.errors for c in victims), "the victim's clients were not cut off"
    slow = [c.index for c in clients if c.ok_after_kill == 0]
    assert not slow, "clients made no progress after the kill: %s" % slow

    # Every backend connection the dead worker leased is back in the pool.
    def nothing_leased():
        pools = inst.show("POOLS")
        return pools and all(int(p["sv_active"]) == 0 for p in pools)
    wait_for(nothing_leased, 10, message="sv_active == 0 in every pool")

    if database == "pg":
        # and no transaction of the dead worker's clients was left open.
        def no_open_transactions():
            return inst.postgres.query(
                "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"
                " AND application_name <> 'pgiris-tests'") == [(0,)]
        wait_for(no_open_transactions, 10, message="no idle-in-transaction backend")

    assert inst.proc.poll() is None
    with inst.connect(database) as conn:
        assert conn.execute("SELECT name FROM customers WHERE id = 3").fetchone() == ("Dmitri Almeida",)
