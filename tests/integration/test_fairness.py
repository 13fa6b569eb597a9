"""Slots go to the clients that waited longest, whichever worker holds them.

With two workers and a pool of one connection, a slot freed in one worker
used to go to that worker's own waiters first (no wake-up needed), so the
other worker's clients waited through all of them; and a request that
arrived while others waited could take a slot that had just been freed.
Here each waiter takes a number from a sequence on the backend, so the
order in which the single connection served them is read back exactly.
"""

import threading
import time

import pytest

import pgwire

WAITERS = 10


@pytest.fixture
def inst(pgiris_factory):
    return pgiris_factory(
        settings={"query_wait_timeout": 20, "default_pool_size": 1, "min_pool_size": 1},
        databases={"demo": {"pool_size": 1}, "pg": {"pool_size": 1}})


@pytest.fixture
def sequence(inst):
    name = "fair_seq_%d" % inst.port
    with inst.connect("pg") as c:
        c.execute("CREATE SEQUENCE " + name)
    yield name
    with inst.connect("pg") as c:
        c.execute("DROP SEQUENCE " + name)


def wait_for_waiting(inst, n, timeout=10):
    deadline = time.monotonic() + timeout
    while int(inst.pool("pg")["cl_waiting"]) != n:
        assert time.monotonic() < deadline, "cl_waiting never reached %d" % n
        time.sleep(0.005)


def test_waiters_are_served_in_arrival_order_across_workers(inst, sequence):
    holder = inst.connect("pg")
    waiters = [inst.connect("pg") for _ in range(WAITERS)]
    ranks = [None] * WAITERS
    errors = []

    def take(i):
        try:
            ranks[i] = waiters[i].execute("SELECT nextval('%s')" % sequence).fetchone()[0]
        except Exception as e:  # reported below, with the ranks
            errors.append(e)

    try:
        holder.execute("BEGIN")
        holder.execute("SELECT 1")
        threads = []
        for i in range(WAITERS):
            t = threading.Thread(target=take, args=(i,))
            t.start()
            threads.append(t)
            # One at a time, so the arrival order is known; the gap is well
            # above the grace (5 ms) within which a worker serves its own first.
            wait_for_waiting(inst, i + 1)
            time.sleep(0.03)
        holder.execute("COMMIT")
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert ranks == sorted(ranks), "served in the order %s, not as they came" % ranks
    finally:
        for c in waiters + [holder]:
            c.close()


def test_new_request_queues_behind_waiting_clients(inst, sequence):
    """The client that frees the slot, with its next query already sent,
    goes behind the client that was waiting for that slot."""
    rank = {}
    with inst.connect("pg") as waiter, pgwire.Conn(inst.port) as holder:
        holder.startup("demo", "pg", inst.users["demo"])
        holder.simple_query("BEGIN")
        holder.simple_query("SELECT 1")

        def take():
            rank["waiter"] = waiter.execute("SELECT nextval('%s')" % sequence).fetchone()[0]

        t = threading.Thread(target=take)
        t.start()
        wait_for_waiting(inst, 1)
        # Longer than the grace within which a worker serves its own client first.
        time.sleep(0.05)
        # COMMIT and the next query in one write: the second arrives as the slot is freed.
        holder.send(pgwire.message(b"Q", b"COMMIT\0")
                    + pgwire.message(b"Q", ("SELECT nextval('%s')\0" % sequence).encode()))
        replies = []
        while sum(1 for t_, _ in replies if t_ == b"Z") < 2:
            replies.append(holder.read_message())
        t.join(10)
        rows = [pgwire.parse_data_row(p) for t_, p in replies if t_ == b"D"]
        assert len(rows) == 1, replies
        rank["holder"] = int(rows[0][0])
    assert rank["waiter"] < rank["holder"], rank
