"""The admin console: database `pgiris`, admin users only, pgbouncer's
SHOW commands with pgbouncer's column names."""

import psycopg
import pytest

import pgwire
from conftest import wait_for

POOLS_COLUMNS = ["database", "user", "cl_active", "cl_waiting", "sv_active", "sv_idle",
                 "sv_used", "sv_tested", "sv_login", "maxwait", "maxwait_us", "pool_mode",
                 "pool_size"]
STATS_COLUMNS = ["database", "total_xact_count", "total_query_count", "total_received",
                 "total_sent", "total_xact_time", "total_query_time", "total_wait_time",
                 "avg_xact_count", "avg_query_count"]
DATABASES_COLUMNS = ["name", "host", "port", "database", "pool_size", "min_pool_size"]


def columns(conn, command):
    cur = conn.execute(command)
    return [d.name for d in cur.description], cur.fetchall()


def rows_for(rows, **match):
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def test_show_pools(pgiris):
    with pgiris.connect("demo") as client:
        client.execute("SELECT 1")
        with pgiris.admin() as admin:
            names, _ = columns(admin, "SHOW POOLS")
            for col in POOLS_COLUMNS:
                assert col in names, "SHOW POOLS has no column %s: %s" % (col, names)
        pool = pgiris.pool("demo")
    assert pool["pool_mode"] == "transaction"
    assert int(pool["pool_size"]) == 5
    assert int(pool["cl_active"]) >= 1
    assert int(pool["cl_waiting"]) == 0
    assert int(pool["sv_active"]) == 0
    assert int(pool["sv_idle"]) + int(pool["sv_used"]) >= 1


def test_show_clients(pgiris):
    with pgiris.connect("pg") as client:
        client.execute("SELECT 1")
        clients = pgiris.show("CLIENTS")
    assert clients, "SHOW CLIENTS returned no rows"
    for col in ("user", "database", "state", "addr", "port"):
        assert col in clients[0], "SHOW CLIENTS has no column %s" % col
    assert rows_for(clients, user="demo", database="pg"), clients


def test_client_logging_in(pgiris):
    """Between its startup packet and its password a client is logging in to
    its database: SHOW CLIENTS says so, and SHOW POOLS does not count it."""
    with pgwire.Conn(pgiris.port) as c:
        c.send(pgwire.startup_packet({"user": "demo", "database": "demo"}))
        assert c.read_message()[0] == b"R"
        clients = pgiris.show("CLIENTS")
        assert rows_for(clients, user="demo", database="demo", state="login"), clients
        wait_for(lambda: int(pgiris.pool("demo")["cl_active"]) == 0, 10,
                 message="no active client on demo")


def test_show_servers(pgiris):
    with pgiris.connect("demo") as client:
        client.execute("SELECT 1")
    servers = pgiris.show("SERVERS")
    assert servers, "SHOW SERVERS returned no rows"
    for col in ("database", "state"):
        assert col in servers[0], "SHOW SERVERS has no column %s" % col
    assert rows_for(servers, database="demo")


def test_show_stats_counts_queries(pgiris):
    def demo_queries():
        rows = rows_for(pgiris.show("STATS"), database="demo")
        return sum(int(r["total_query_count"]) for r in rows)

    with pgiris.admin() as admin:
        names, _ = columns(admin, "SHOW STATS")
    for col in STATS_COLUMNS:
        assert col in names, "SHOW STATS has no column %s: %s" % (col, names)

    before = demo_queries()
    with pgiris.connect("demo") as client:
        for i in range(25):
            client.execute("SELECT %d" % i)
    # Statistics may be rolled up periodically.
    wait_for(lambda: demo_queries() >= before + 25, 5,
             message="total_query_count of demo to grow by 25")


def test_show_databases(pgiris):
    with pgiris.admin() as admin:
        names, _ = columns(admin, "SHOW DATABASES")
    for col in DATABASES_COLUMNS:
        assert col in names, "SHOW DATABASES has no column %s: %s" % (col, names)
    dbs = {r["name"]: r for r in pgiris.show("DATABASES")}
    assert int(dbs["demo"]["pool_size"]) == 5
    assert int(dbs["pg"]["pool_size"]) == 4
    assert int(dbs["demo"]["min_pool_size"]) == 1


def test_show_config(pgiris):
    with pgiris.admin() as admin:
        names, _ = columns(admin, "SHOW CONFIG")
    assert "key" in names and "value" in names and "changeable" in names, names
    config = {r["key"]: r for r in pgiris.show("CONFIG")}
    assert str(config["listen_port"]["value"]) == str(pgiris.port)
    assert config["pool_mode"]["value"] == "transaction"
    assert str(config["query_wait_timeout"]["value"]) in ("2", "2s", "2.0")


def test_show_version(pgiris):
    rows = pgiris.show("VERSION")
    assert len(rows) == 1
    assert "pgiris" in str(list(rows[0].values())[0]).lower()


def test_reload_command(pgiris):
    with pgiris.admin() as admin:
        cur = admin.execute("RELOAD")
        assert cur.statusmessage == "RELOAD"
        assert admin.execute("SHOW VERSION").fetchall()
    with pgiris.connect("demo") as client:
        assert client.execute("SELECT 'r1'").fetchone() == ("r1",)


def test_unknown_command_is_an_error(pgiris):
    with pgiris.admin() as admin:
        with pytest.raises(psycopg.Error):
            admin.execute("SHOW NO_SUCH_THING")
        assert admin.execute("SHOW VERSION").fetchall()


def test_non_admin_is_refused(pgiris):
    with pgwire.Conn(pgiris.port) as c:
        with pytest.raises(pgwire.ServerError) as info:
            c.startup("demo", "pgiris", pgiris.users["demo"])
        assert info.value.sqlstate in ("28000", "42501")
        assert info.value.fields.get("S") == "FATAL"
    with pytest.raises(psycopg.OperationalError):
        pgiris.connect("pgiris", user="demo")


def test_admin_login_needs_the_password(pgiris):
    with pgwire.Conn(pgiris.port) as c:
        with pytest.raises(pgwire.ServerError) as info:
            c.startup("admin", "pgiris", "not-the-password")
        assert info.value.sqlstate == "28P01"
