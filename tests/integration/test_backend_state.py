"""State a client leaves on its backend connection past a transaction.

Under transaction pooling a client's next transaction may run on another
backend connection, and its last one goes on to other clients.  A temporary
table, a cursor WITH HOLD, a session-level advisory lock or SET ROLE would
then show up for whoever gets the connection next, and be missing for the
client that made it.  pgiris keeps such a client on its connection from the
statement on, and connects the slot anew when the client lets it go.
"""

import os
import signal

import psycopg
import pytest

from conftest import wait_for
from test_worker_kill import owning_worker


@pytest.fixture(scope="module")
def pgiris(module_pgiris_factory):
    return module_pgiris_factory(
        settings={"query_wait_timeout": 5, "default_pool_size": 2, "min_pool_size": 1},
        databases={"demo": {"pool_size": 2}, "pg": {"pool_size": 2}})


def client_row(pgiris, name):
    rows = [r for r in pgiris.show("CLIENTS") if r["application_name"] == name]
    assert len(rows) == 1, rows
    return rows[0]


def client_state(pgiris, name):
    return client_row(pgiris, name)["state"]


def missing_table(conn, sql):
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    assert info.value.sqlstate == "42P01", info.value
    return info.value


def test_temporary_table_stays_with_its_client(pgiris, backend):
    with pgiris.connect(backend, application_name="owner") as a, \
            pgiris.connect(backend, application_name="other") as b:
        # Before: both take a slot per transaction and hold none between them.
        a.execute("SELECT 1")
        assert client_state(pgiris, "owner") == "idle"
        a.execute("CREATE TEMP TABLE scratch (v text)")
        a.execute("INSERT INTO scratch VALUES ('mine')")
        # The owner keeps its slot while idle, and SHOW CLIENTS and SHOW SERVERS say why.
        assert client_state(pgiris, "owner") == "active"
        assert client_row(pgiris, "owner")["keeps"] == "session state"
        assert client_row(pgiris, "other")["keeps"] == ""
        servers = [r for r in pgiris.show("SERVERS") if r["application_name"] == "owner"]
        assert [r["keeps"] for r in servers] == ["session state"], servers
        for _ in range(3):
            missing_table(b, "SELECT v FROM scratch")
            assert a.execute("SELECT v FROM scratch").fetchall() == [("mine",)]
        assert client_state(pgiris, "other") == "idle"
        # The log says which client keeps a connection, and why.
        wait_for(lambda: "keeps its backend connection: CREATE TABLE leaves state there"
                 in pgiris.stderr_text(), 5, message="the log line")
    # The owner is gone: whoever gets a slot now finds no table.
    for _ in range(2):
        with pgiris.connect(backend) as c:
            missing_table(c, "SELECT v FROM scratch")


def test_connection_is_made_anew_after_its_owner_leaves(pgiris, postgres):
    with pgiris.connect("pg") as a:
        a.execute("CREATE TEMP TABLE scratch2 (v int)")
        pid = a.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert a.execute("SELECT pg_backend_pid()").fetchone()[0] == pid
    # The connection that held the table is closed, not handed on.
    wait_for(lambda: postgres.query("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                    (pid,))[0][0] == 0,
             5, message="backend %d to end" % pid)
    with pgiris.connect("pg") as c:
        assert c.execute("SELECT pg_backend_pid()").fetchone()[0] != pid


def test_cursor_with_hold(pgiris):
    with pgiris.connect("pg", application_name="cursor") as a, pgiris.connect("pg") as b:
        a.execute("BEGIN")
        a.execute("DECLARE held CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 5) g")
        a.execute("COMMIT")
        assert client_state(pgiris, "cursor") == "active"
        with pytest.raises(psycopg.Error) as info:
            b.execute("FETCH ALL FROM held")
        assert info.value.sqlstate == "34000"
        assert a.execute("FETCH 2 FROM held").fetchall() == [(1,), (2,)]
        assert a.execute("FETCH ALL FROM held").fetchall() == [(3,), (4,), (5,)]
        a.execute("CLOSE held")


def test_session_advisory_lock(pgiris):
    with pgiris.connect("pg") as b:
        with pgiris.connect("pg") as a:
            a.execute("SELECT pg_advisory_lock(4242)")
            # Another client is another session: the lock is not its own.
            assert b.execute("SELECT pg_try_advisory_lock(4242)").fetchone() == (False,)
            assert a.execute("SELECT pg_try_advisory_lock(4242)").fetchone() == (True,)
        # The owner left: its session, and so its locks, ended with it.
        wait_for(lambda: b.execute("SELECT pg_try_advisory_lock(4242)").fetchone() == (True,),
                 5, message="the lock to go with its owner")
        b.execute("SELECT pg_advisory_unlock_all()")


def test_set_role_does_not_reach_other_clients(pgiris, postgres):
    with postgres.connect(autocommit=True) as direct:
        direct.execute("DROP ROLE IF EXISTS pgiris_reader")
        direct.execute("CREATE ROLE pgiris_reader")
    with pgiris.connect("pg") as a:
        user = a.execute("SELECT current_user").fetchone()[0]
        a.execute("SET ROLE pgiris_reader")
        assert a.execute("SELECT current_user").fetchone() == ("pgiris_reader",)
        with pgiris.connect("pg") as b:
            assert b.execute("SELECT current_user").fetchone() == (user,)
        # RESET ROLE reaches the connection that SET ROLE changed.
        a.execute("RESET ROLE")
        assert a.execute("SELECT current_user").fetchone() == (user,)
    for _ in range(2):
        with pgiris.connect("pg") as c:
            assert c.execute("SELECT current_user").fetchone() == (user,)


def test_session_characteristics_are_the_clients(pgiris, backend):
    """SET SESSION CHARACTERISTICS sets the client's transaction defaults, which each BEGIN
    applies on whichever connection it gets: the client keeps none, and nobody else sees them."""
    pg = backend == "pg"
    tx_settings = "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')"
    with pgiris.connect(backend, application_name="chars") as a, pgiris.connect(backend) as b:
        a.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY")
        assert client_state(pgiris, "chars") == "idle"
        assert client_row(pgiris, "chars")["keeps"] == ""
        assert a.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
        assert a.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        # Outside a block each statement is a read-only transaction of its own: writes are refused.
        for write in ("CREATE TABLE chars_read_only (v int)", "INSERT INTO chars_none VALUES (1)",
                      "DELETE FROM chars_none"):
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                a.execute(write)
        res = a.pgconn.exec_(b"UPDATE chars_none SET v = 2")  # the simple Query protocol
        assert res.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"25006", res.error_message
        assert str(a.execute("SELECT 1").fetchone()[0]) == "1"  # reads go on (SQLite types it text)
        for i in range(3):
            if i == 0:
                # The simple Query protocol's BEGIN; the others go by Parse/Bind/Execute.
                assert a.pgconn.exec_(b"BEGIN").status == psycopg.pq.ExecStatus.COMMAND_OK
            else:
                a.execute("BEGIN")
            assert a.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
            assert a.execute("SHOW transaction_read_only").fetchone() == ("on",)
            # SHOW ALL gives the block's modes too.
            shown = {r[0]: r[1] for r in a.execute("SHOW ALL").fetchall()}
            assert (shown["transaction_isolation"], shown["transaction_read_only"]) == ("serializable", "on")
            if pg:
                assert a.execute(tx_settings).fetchone() == ("serializable", "on")
            # A second BEGIN only warns: the block keeps its modes.
            a.execute("BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE")
            assert a.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
            with pytest.raises(psycopg.Error):
                a.execute("CREATE TABLE chars_read_only (v int)")
            a.execute("ROLLBACK")
            # The other client's transactions have the server's defaults.
            b.execute("BEGIN")
            assert b.execute("SHOW transaction_isolation").fetchone() == ("read committed",)
            if pg:
                assert b.execute(tx_settings).fetchone() == ("read committed", "off")
            b.execute("ROLLBACK")
        # What BEGIN names wins over the defaults.
        a.execute("BEGIN READ WRITE ISOLATION LEVEL READ COMMITTED")
        assert a.execute("SHOW transaction_read_only").fetchone() == ("off",)
        if pg:
            assert a.execute(tx_settings).fetchone() == ("read committed", "off")
        a.execute("ROLLBACK")
        # Set inside a block that rolls back: undone, as in PostgreSQL.
        a.execute("BEGIN")
        a.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
        a.execute("ROLLBACK")
        assert a.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            a.execute("DELETE FROM chars_none")
        a.execute("SET default_transaction_read_only = off")
        a.execute("SET default_transaction_isolation = 'repeatable read'")
        with a.transaction():
            assert a.execute("SHOW transaction_isolation").fetchone() == ("repeatable read",)
            if pg:
                assert a.execute(tx_settings).fetchone() == ("repeatable read", "off")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            a.execute("SET default_transaction_isolation = 'sometimes'")
        with pytest.raises(psycopg.errors.SyntaxError):
            a.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ SOMETIMES")
        with pytest.raises(psycopg.errors.SyntaxError):
            a.execute("SET SESSION CHARACTERISTICS AS TRANSACTION")
        # The open transaction's modes are BEGIN's to name: a SET would change nothing.
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            a.execute("SET transaction_read_only = on")
        assert client_state(pgiris, "chars") == "idle"


def test_what_ends_with_the_transaction_does_not_pin(pgiris):
    with pgiris.connect("pg", application_name="brief") as a:
        a.execute("BEGIN")
        a.execute("CREATE TEMP TABLE brief (v int) ON COMMIT DROP")
        a.execute("SELECT pg_advisory_xact_lock(77)")
        a.execute("SELECT set_config('application_name', 'brief', true)")
        a.execute("DECLARE plain CURSOR FOR SELECT 1")
        a.execute("COMMIT")
        assert client_state(pgiris, "brief") == "idle"


def test_extended_protocol_pins_too(pgiris, backend):
    with pgiris.connect(backend, application_name="ext") as a, pgiris.connect(backend) as b:
        # A parameter sends the statement through Parse/Bind/Execute.
        a.execute("CREATE TEMP TABLE ext_scratch AS SELECT %s::text AS v", ("x",), prepare=False)
        assert client_state(pgiris, "ext") == "active"
        assert a.execute("SELECT v FROM ext_scratch WHERE v = %s", ("x",)).fetchall() == [("x",)]
        missing_table(b, "SELECT v FROM ext_scratch")


def test_discard_all_lets_the_slot_go(pgiris, backend):
    with pgiris.connect(backend, application_name="discard") as a, pgiris.connect(backend) as b:
        a.execute("CREATE TEMP TABLE gone (v int)")
        assert client_state(pgiris, "discard") == "active"
        a.execute("DISCARD ALL")
        assert client_state(pgiris, "discard") == "idle"
        missing_table(a, "SELECT v FROM gone")
        missing_table(b, "SELECT v FROM gone")


def test_session_pooling_hands_on_a_clean_connection(pgiris_factory):
    # In session pooling the client has its slot anyway; what it leaves
    # behind must still not reach the next client.
    inst = pgiris_factory(settings={"pool_mode": "session", "query_wait_timeout": 10},
                          databases={"pg": {"pool_size": 1}})
    with inst.connect("pg") as a:
        a.execute("CREATE TEMP TABLE left_behind (v int)")
        a.execute("SELECT pg_advisory_lock(4343)")
    with inst.connect("pg") as c:
        missing_table(c, "SELECT v FROM left_behind")
        assert c.execute("SELECT pg_try_advisory_lock(4343)").fetchone() == (True,)
    # A client that left nothing behind hands its connection on as it is.
    with inst.connect("pg") as d:
        pid = d.execute("SELECT pg_backend_pid()").fetchone()[0]
    with inst.connect("pg") as e:
        assert e.execute("SELECT pg_backend_pid()").fetchone()[0] == pid


def test_worker_death_still_drops_the_state(pgiris_factory, postgres):
    # The slot of a dead worker's client is reclaimed by the broker, which
    # cannot ask the worker what its client left: the slot says so itself.
    inst = pgiris_factory(settings={"query_wait_timeout": 10}, databases={"pg": {"pool_size": 1}})
    a = inst.connect("pg")
    a.execute("CREATE TEMP TABLE orphan (v int)")
    pid = a.execute("SELECT pg_backend_pid()").fetchone()[0]
    worker = owning_worker(inst, a, inst.children())
    assert worker is not None
    os.kill(worker, signal.SIGKILL)
    with pytest.raises(psycopg.OperationalError):
        a.execute("SELECT 1")
    a.close()
    wait_for(lambda: postgres.query("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                    (pid,))[0][0] == 0,
             10, message="backend %d to end" % pid)
    with inst.connect("pg") as c:
        missing_table(c, "SELECT v FROM orphan")


def test_wait_timeout_names_the_kept_connections(pgiris_factory, backend):
    # Both connections of the pool are kept: the next client's wait ends
    # in 53300, whose hint says why the pool is full.
    inst = pgiris_factory(settings={"query_wait_timeout": 1},
                          databases={"demo": {"pool_size": 2}, "pg": {"pool_size": 2}})
    with inst.connect(backend) as a1, inst.connect(backend) as a2, inst.connect(backend) as b:
        a1.execute("CREATE TEMP TABLE full1 (v int)")
        a2.execute("CREATE TEMP TABLE full2 (v int)")
        with pytest.raises(psycopg.Error) as info:
            b.execute("SELECT 1")
        assert info.value.sqlstate == "53300"
        assert "2 of the pool's connections are kept by clients that left session state" in \
            info.value.diag.message_hint, info.value.diag.message_hint
        a1.execute("DISCARD ALL")

        def b_gets_in():
            # The freed connection is made anew first, which a loaded machine may take a while over.
            try:
                return b.execute("SELECT 'in'").fetchone() == ("in",)
            except psycopg.errors.TooManyConnections:
                return False
        wait_for(b_gets_in, 15, message="the connection DISCARD ALL freed")


def test_currval_in_a_transaction_of_its_own_warns(pgiris):
    # nextval() ran in one transaction, currval() in the next: under
    # transaction pooling that may be another connection's session.
    with pgiris.connect("pg") as setup:
        setup.execute("CREATE SEQUENCE IF NOT EXISTS warn_seq")
    with pgiris.connect("pg") as a:
        notices = []
        a.add_notice_handler(lambda d: notices.append((d.severity_nonlocalized, d.sqlstate, d.message_primary)))
        a.execute("SELECT nextval('warn_seq')")
        assert notices == []

        def on_any_connection(sql, params=None):
            # Which connection the transaction gets is the point: there,
            # nextval() may never have run (55000), or run for someone else.
            try:
                a.execute(sql, params)
            except psycopg.errors.ObjectNotInPrerequisiteState:
                pass
        on_any_connection("SELECT currval('warn_seq')")
        assert len(notices) == 1 and notices[0][:2] == ("WARNING", "01000"), notices
        assert "currval() and lastval()" in notices[0][2]
        on_any_connection("SELECT lastval() + %s", (0,))     # the extended protocol warns too
        assert len(notices) == 2, notices
        # In the transaction that called nextval(), or in the same Query, it is the same session.
        a.execute("BEGIN")
        n = a.execute("SELECT nextval('warn_seq')").fetchone()[0]
        assert a.execute("SELECT currval('warn_seq')").fetchone() == (n,)
        a.execute("COMMIT")
        a.execute("SELECT nextval('warn_seq'); SELECT currval('warn_seq')")
        # A client that keeps its connection has one session.
        a.execute("CREATE TEMP TABLE warn_pin (v int)")
        n = a.execute("SELECT nextval('warn_seq')").fetchone()[0]
        assert a.execute("SELECT currval('warn_seq')").fetchone() == (n,)
        assert len(notices) == 2, notices


@pytest.mark.parametrize("database", ["demo", "pg"])
def test_listen_is_refused(pgiris, postgres, database):
    # Notifications would reach the backend connection and stop there.
    with pgiris.connect(database) as a:
        for params in (None, ()):       # simple and extended protocol
            with pytest.raises(psycopg.Error) as info:
                a.execute("LISTEN chan", params, prepare=False)
            assert info.value.sqlstate == "0A000"
            assert "notifications cannot be delivered" in str(info.value)
            assert a.execute("SELECT 'still here'").fetchone() == ("still here",)
        if database == "pg":
            # NOTIFY reaches listeners connected to PostgreSQL itself.
            with postgres.connect(autocommit=True) as listener:
                heard = []
                listener.add_notify_handler(lambda n: heard.append(n.payload))
                listener.execute("LISTEN chan")
                a.execute("NOTIFY chan, 'hello'")
                wait_for(lambda: listener.execute("SELECT 1") and heard == ["hello"], 5,
                         message="the notification")


def test_held_cursors_closed_let_the_connection_go(pgiris):
    # psycopg's server-side cursor in autocommit mode (what Django's
    # QuerySet.iterator() uses) is a cursor WITH HOLD: the client keeps its
    # connection while the cursor is open, and not after.
    with pgiris.connect("pg", application_name="named") as a, pgiris.connect("pg") as b:
        cur = a.cursor(name="Big One", withhold=True)
        cur.execute("SELECT g FROM generate_series(1, 300) g")
        assert client_state(pgiris, "named") == "active"
        assert client_row(pgiris, "named")["keeps"] == "cursors with hold"
        assert [r[0] for r in cur.fetchmany(100)] == list(range(1, 101))
        assert b.execute("SELECT 'other'").fetchone() == ("other",)
        assert len(cur.fetchall()) == 200
        cur.close()
        assert client_state(pgiris, "named") == "idle"
        # Two cursors: the first closed keeps the connection for the second; CLOSE ALL ends both.
        a.execute("DECLARE c1 CURSOR WITH HOLD FOR SELECT 1")
        a.execute('DECLARE "C2" CURSOR WITH HOLD FOR SELECT 2')
        a.execute("CLOSE C1")
        assert client_state(pgiris, "named") == "active"
        assert a.execute('FETCH ALL FROM "C2"').fetchall() == [(2,)]
        a.execute("CLOSE ALL")
        assert client_state(pgiris, "named") == "idle"
        # A comment before the command does not hide the cursor's name (the
        # extended protocol, which prepare=True asks for, keeps the text as written).
        a.execute("/* batch */ DECLARE c5 CURSOR WITH HOLD FOR SELECT 5", prepare=True)
        assert client_state(pgiris, "named") == "active"
        a.execute("-- done\nCLOSE c5", prepare=True)
        assert client_state(pgiris, "named") == "idle"
        # Closed in a transaction block, a cursor keeps the connection until the client goes.
        a.execute("DECLARE c3 CURSOR WITH HOLD FOR SELECT 3")
        a.execute("BEGIN")
        a.execute("CLOSE c3")
        a.execute("COMMIT")
        assert client_state(pgiris, "named") == "active"
        # Other state keeps it whatever the cursors do.
        a.execute("DISCARD ALL")
        a.execute("CREATE TEMP TABLE with_cursor (v int)")
        a.execute("DECLARE c4 CURSOR WITH HOLD FOR SELECT 4")
        a.execute("CLOSE c4")
        assert client_state(pgiris, "named") == "active"
        assert client_row(pgiris, "named")["keeps"] in ("session state", "session state, cursors with hold")
        assert a.execute("SELECT count(*) FROM with_cursor").fetchone() == (0,)
