"""Statements go to the backend translated for its dialect, through the
worker's translation cache and the shared one (SHOW CACHES)."""

import os
import signal
import uuid

import psycopg
import pytest

from conftest import wait_for


def caches(inst):
    rows = inst.show("CACHES")
    local = [r for r in rows if r["cache"] == "translate"]
    shared = [r for r in rows if r["cache"] == "shared"]
    assert len(shared) == 1, rows
    return local, shared[0]


def total(rows, col):
    return sum(int(r[col]) for r in rows)


def test_postgresql_syntax_runs_on_sqlite(pgiris):
    with pgiris.connect("demo") as conn:
        row = conn.execute(
            "SELECT 'x'::text || 'y', 'Ab' ILIKE 'a%', E'a\\tb', $$q'q$$, "
            "position('b' in 'abc'), substring('hello' from 2 for 3), "
            "1 IS DISTINCT FROM 2, greatest(1, 3)").fetchone()
        assert [str(v) for v in row] == ["xy", "True", "a\tb", "q'q", "2", "ell", "True", "3"]
        # Booleans, casts and parameters through the extended protocol.
        row = conn.execute("SELECT name FROM customers WHERE id = %s::int AND true", ("7",)).fetchone()
        assert row == pgiris.direct("demo", "SELECT name FROM customers WHERE id = 7")[0]
        row = conn.execute("SELECT trim(leading 'x' from 'xxabxx'), trim(trailing from '  ab  '), "
                           "trim(both 'x' from 'xxabxx'), trim('x' from 'xab')").fetchone()
        assert row == ("abxx", "  ab", "ab", "ab")


@pytest.mark.parametrize("clause, want", [
    ("OFFSET 3", [4, 5, 6, 7, 8]),
    ("OFFSET 3 ROWS", [4, 5, 6, 7, 8]),
    ("OFFSET 3 LIMIT 2", [4, 5]),
    ("LIMIT ALL OFFSET 3", [4, 5, 6, 7, 8]),
    ("OFFSET 3 ROWS FETCH NEXT 2 ROWS ONLY", [4, 5]),
    ("LIMIT 2 OFFSET 3", [4, 5]),
])
def test_offset_forms_on_both_backends(pgiris, backend, clause, want):
    # PostgreSQL takes OFFSET alone, before LIMIT, and LIMIT ALL; SQLite only LIMIT n OFFSET m.
    numbers = " UNION ALL ".join("SELECT %d AS x" % i for i in range(1, 9))
    with pgiris.connect(backend) as conn:
        rows = conn.execute("SELECT x FROM (%s) AS v ORDER BY x %s" % (numbers, clause)).fetchall()
    assert [int(r[0]) for r in rows] == want


def test_serial_and_on_conflict_on_sqlite(pgiris):
    table = "tr_%s" % uuid.uuid4().hex[:8]
    with pgiris.connect("demo") as conn:
        conn.execute("CREATE TABLE %s (id serial PRIMARY KEY, v text)" % table)
        try:
            conn.execute("INSERT INTO %s (v) VALUES ('a')" % table)
            conn.execute("INSERT INTO %s (id, v) VALUES (1, 'b') ON CONFLICT (id) DO UPDATE SET v = excluded.v"
                         % table)
            conn.execute("INSERT INTO %s (id, v) VALUES (1, 'c') ON CONFLICT DO NOTHING" % table)
            assert pgiris.direct("demo", "SELECT id, v FROM %s" % table) == [(1, "b")]
        finally:
            conn.execute("DROP TABLE %s" % table)


def test_translation_failure_is_an_error_naming_the_construct(pgiris_factory):
    inst = pgiris_factory()
    with inst.connect("demo") as conn:
        with pytest.raises(psycopg.Error) as exc:
            conn.execute("SELECT date '2024-01-01' + interval '1 month'")
        assert exc.value.sqlstate == "0A000"
        assert "month" in str(exc.value).lower()
        # The same failure again comes from the cache, and says the same.
        with pytest.raises(psycopg.Error) as again:
            conn.execute("SELECT date '2024-01-01' + interval '1 month'")
        assert str(again.value) == str(exc.value)
        assert conn.execute("SELECT 'still fine'").fetchone()[0] == "still fine"


def test_show_caches_counts_hits(pgiris_factory):
    inst = pgiris_factory()
    sql = "SELECT name FROM customers WHERE id = 11"
    with inst.connect("demo") as conn:
        local0, shared0 = caches(inst)
        want = inst.direct("demo", sql)[0]
        for _ in range(5):
            assert conn.execute(sql).fetchone() == want
        local1, shared1 = caches(inst)
    # Five lookups: the first missed and was translated (once, for every worker), four hit.
    assert total(local1, "lookups") - total(local0, "lookups") >= 5
    assert total(local1, "hits") - total(local0, "hits") >= 4
    assert int(shared1["entries"]) >= int(shared0["entries"]) + 1
    assert int(shared1["capacity"]) > 0
    assert all(int(r["capacity"]) == 4194304 for r in local1)


def test_shared_cache_survives_a_worker_restart(pgiris_factory):
    inst = pgiris_factory(settings={"workers": 1})
    sql = "SELECT count(*) FROM orders WHERE status = 'shipped' AND id > 17"
    with inst.connect("demo") as conn:
        conn.execute(sql).fetchone()
    _, shared = caches(inst)
    hits_before = int(shared["hits"])
    worker = inst.children()[0]
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: inst.children() and inst.children()[0] != worker, 10,
             message="a new worker")

    def login():
        try:
            inst.connect("demo").close()
            return True
        except psycopg.OperationalError:
            return False
    wait_for(login, 10, message="the new worker to accept clients")
    with inst.connect("demo") as conn:
        conn.execute(sql).fetchone()
    local, shared = caches(inst)
    # The new worker's own cache missed, the shared one had it.
    assert int(shared["hits"]) >= hits_before + 1
    assert total(local, "misses") >= 1


def test_caches_can_be_turned_off(pgiris_factory):
    inst = pgiris_factory(settings={"translate_cache_size": 0, "shared_cache_size": 0})
    with inst.connect("demo") as conn:
        for _ in range(3):
            assert conn.execute("SELECT 'x'::text").fetchone() == ("x",)
    local, shared = caches(inst)
    assert total(local, "entries") == 0
    assert int(shared["capacity"]) == 0 and int(shared["entries"]) == 0


def test_small_cache_evicts(pgiris_factory):
    inst = pgiris_factory(settings={"translate_cache_size": 4096, "workers": 1})
    with inst.connect("demo") as conn:
        for i in range(60):
            conn.execute("SELECT %d + 0 AS n" % i).fetchone()
    local, _ = caches(inst)
    assert total(local, "evictions") > 0
    assert total(local, "bytes") <= 4096


def test_returning_and_typed_literals_on_sqlite(pgiris):
    table = "ret_%s" % uuid.uuid4().hex[:8]
    with pgiris.connect("demo") as conn:
        conn.execute("CREATE TABLE %s (id integer PRIMARY KEY, v text, d date)" % table)
        try:
            cur = conn.execute("INSERT INTO %s (v, d) VALUES ('a', date '2024-01-31'), ('b', NULL) "
                               "RETURNING id, v" % table)
            assert cur.fetchall() == [(1, "a"), (2, "b")]
            assert cur.statusmessage == "INSERT 0 2"
            cur = conn.execute("UPDATE %s SET v = %%s WHERE id = %%s RETURNING v" % table, ("c", 2))
            assert cur.fetchall() == [("c",)]
            assert cur.statusmessage == "UPDATE 1"
            cur = conn.execute("DELETE FROM %s WHERE d < date '2025-01-01' RETURNING id" % table)
            assert cur.fetchall() == [(1,)]
            assert cur.statusmessage == "DELETE 1"
            row = conn.execute("SELECT date_trunc('month', timestamp '2024-05-06 07:08:09')").fetchone()
            assert str(row[0]).startswith("2024-05-01 00:00:00")
        finally:
            conn.execute("DROP TABLE %s" % table)


def test_returning_on_postgres(pgiris):
    table = "ret_%s" % uuid.uuid4().hex[:8]
    with pgiris.connect("pg") as conn:
        conn.execute("CREATE TABLE %s (id serial PRIMARY KEY, v text)" % table)
        try:
            cur = conn.execute("INSERT INTO %s (v) VALUES ('a'), ('b') RETURNING id, v" % table)
            assert cur.fetchall() == [(1, "a"), (2, "b")]
            assert cur.statusmessage == "INSERT 0 2"
        finally:
            conn.execute("DROP TABLE %s" % table)


SESSION_INFO = "SELECT current_user, session_user, current_database(), current_schema(), version()"


def session_info(conn, protocol):
    """The row and column names of SESSION_INFO, sent with the simple or the extended protocol."""
    cur = psycopg.ClientCursor(conn) if protocol == "simple" else conn.cursor()
    cur.execute(SESSION_INFO, prepare=protocol == "prepared")
    return cur.fetchone(), [d.name for d in cur.description]


@pytest.mark.parametrize("protocol", ["simple", "extended", "prepared"])
def test_session_information_on_sqlite(pgiris, protocol):
    version = pgiris.connect("demo").info.parameter_status("server_version")
    table = "audit_%s_%s" % (protocol, uuid.uuid4().hex[:8])
    pgiris.connect("demo").execute("CREATE TABLE %s (who text, db text)" % table)
    # Two clients in turn, so the second one's statement comes from the caches.
    users = ("demo", "alice", "demo")
    for user in users:
        with pgiris.connect("demo", user=user) as conn:
            row, names = session_info(conn, protocol)
            assert row == (user, user, "demo", "public", "PostgreSQL %s on SQLite" % version)
            assert names == ["current_user", "session_user", "current_database", "current_schema", "version"]
            # In an expression, and as a value written to a table.
            assert conn.execute("SELECT 'by ' || current_user WHERE current_user = %s",
                                (user,)).fetchone() == ("by " + user,)
            conn.execute("INSERT INTO %s VALUES (session_user, current_catalog)" % table)
    rows = pgiris.direct("demo", "SELECT who, db FROM %s ORDER BY rowid" % table)
    assert [tuple(r) for r in rows] == [(u, "demo") for u in users]


def test_psql_list_commands(pgiris):
    """psql's \\dt, \\dv, \\di, \\d, \\dn and \\l list what the SQLite database holds."""
    from test_auth import psql

    def listing(*command):
        out = psql(pgiris, "-A", "-t", "-F", "|", *sum((["-c", c] for c in command), []))
        assert out.returncode == 0, out.stderr
        return [line.split("|") for line in out.stdout.splitlines() if line]

    def names(kind):
        return sorted(r[0] for r in pgiris.direct(
            "demo", "SELECT name FROM sqlite_master WHERE type = '%s' AND name NOT LIKE 'sqlite_stat%%'"
            " AND name <> 'sqlite_sequence'" % kind))

    tables, views, indexes = names("table"), names("view"), names("index")
    assert "customers" in tables and views and indexes
    assert listing("\\dt") == [["public", t, "table", "demo"] for t in tables]
    assert listing("\\dv") == [["public", v, "view", "demo"] for v in views]
    assert sorted(listing("\\d")) == sorted([["public", t, "table", "demo"] for t in tables] +
                                             [["public", v, "view", "demo"] for v in views])
    owners = {r[0]: r[1] for r in pgiris.direct("demo", "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")}
    assert listing("\\di") == [["public", i, "index", "demo", owners[i]] for i in indexes]
    # psql's patterns are regular expressions, matched as SQLite's GLOB.
    assert listing("\\dt cust*") == [["public", "customers", "table", "demo"]]
    assert listing("\\dt customers") == [["public", "customers", "table", "demo"]]
    assert listing("\\dt no_such_*") == []
    assert listing("\\dn") == [["public", "demo"]]
    assert listing("\\l")[0][:3] == ["demo", "demo", "UTF8"]
    # The owner is the client's own user, as SQLite has none.
    out = psql(pgiris, "-A", "-t", "-c", "\\dt customers", user="alice")
    assert out.stdout.strip() == "public|customers|table|alice", out.stderr


def test_psql_describe_a_relation(pgiris):
    """\\d NAME shows a table's, a view's and an index's columns as the SQLite schema declares
    them, NOT NULL and defaults, and a table's indexes."""
    from test_auth import psql

    def describe(name):
        out = psql(pgiris, "-A", "-F", "|", "-c", "\\d " + name)
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()

    lines = describe("order_items")
    assert lines[0] == 'Table "public.order_items"'
    columns = pgiris.direct("demo", "SELECT name, lower(type), \"notnull\" OR pk > 0, dflt_value"
                                    " FROM pragma_table_info('order_items') ORDER BY cid")
    assert lines[2:2 + len(columns)] == ["%s|%s||%s|%s" % (n, t, "not null" if nn else "", d or "")
                                         for n, t, nn, d in columns]
    assert any(d is not None for _, _, _, d in columns), "the table should show a default"
    keys = [r[0] for r in pgiris.direct("demo", "SELECT name FROM pragma_index_info("
                                                "'sqlite_autoindex_order_items_1') ORDER BY seqno")]
    assert '    "sqlite_autoindex_order_items_1" PRIMARY KEY, btree (%s)' % ", ".join(keys) in lines
    assert '    "order_items_product_id" btree (product_id)' in lines
    view = describe("order_totals")
    assert view[0] == 'View "public.order_totals"' and view[2].startswith("customer_id|")
    index = describe("orders_customer_id")
    assert index[0] == 'Index "public.orders_customer_id"'
    assert index[2] == "customer_id|integer|yes|customer_id"
    assert index[-1] == 'btree, for table "public.orders"'
    # A generated column is a column; an index on an expression still shows its table.
    pgiris.direct("demo", "CREATE TABLE gen_t16 (a INTEGER, g INTEGER GENERATED ALWAYS AS (a * 2) STORED)")
    pgiris.direct("demo", "CREATE INDEX gen_t16_expr ON gen_t16 (a + 1)")
    try:
        lines = describe("gen_t16")
        assert [line.split("|")[0] for line in lines[2:4]] == ["a", "g"], lines
        assert '    "gen_t16_expr" btree (expr)' in lines, lines
    finally:
        pgiris.direct("demo", "DROP TABLE gen_t16")


def test_psql_describe_names_what_is_missing(pgiris):
    """A catalog query the SQLite backend cannot answer fails with a message that names the
    construct, and the session goes on."""
    from test_auth import psql
    for command, message in (("\\d+ customers", "arrays (ARRAY(...)) are not supported by SQLite"),
                             ("\\dt+", "no such function: pg_table_size"),
                             ("\\du", "PostgreSQL's system catalogs (pg_catalog.pg_auth_members) are not available")):
        out = psql(pgiris, "-c", command)
        assert out.returncode != 0 and message in out.stderr, (command, out.stderr)
    out = psql(pgiris, "-A", "-t", "-c", "\\d+ customers", "-c", "SELECT current_user")
    assert out.stdout.strip() == "demo", out.stderr


def test_session_information_on_postgres_is_the_servers(pgiris):
    # PostgreSQL answers for itself: the pool's login, as through any pooler.
    with pgiris.connect("pg") as conn:
        user, version = conn.execute("SELECT current_user, version()").fetchone()
        assert user == "postgres"
        assert version.startswith("PostgreSQL 15")
        assert "pgiris" not in version


# Select items whose result column PostgreSQL names after the function, the column or the type.
NAMED_ITEMS = [
    "count(*)", "max(id)", "min(name)", "sum(id)", "lower(name)", "upper(c.name)", "length(name)",
    "coalesce(city, 'x')", "nullif(id, 0)", "id::text", "c.name::varchar(10)", "CAST(id AS bigint)",
    "1::int", "'2024-01-01'::date", "date '2024-01-01'", "now()", "current_date", "current_timestamp",
    "CASE WHEN id > 0 THEN 'p' END", "CASE WHEN id > 0 THEN name ELSE city END",
    "(SELECT max(id) FROM customers)", "trim(name)", "ltrim(name, 'A')", "trim(leading 'A' from name)", "trim(both 'x' from city)",
    "substring(name from 1 for 2)", "position('a' in name)", "greatest(id, 2)", "least(id, 2)",
    "concat(name, '!')", "exists (SELECT 1)", "extract(year from date '2024-05-06')",
    "row_number() OVER (ORDER BY id)", "count(*) OVER ()", "(city)", "current_user", "version()",
    "name", "c.city", "credit_limit::numeric(12,2)", "(id > 0)::int",
    "(SELECT count(*) n FROM customers)", "(SELECT DISTINCT city FROM customers WHERE id = 1)",
    "1 AS user", "2 AS current_schema",
]


@pytest.mark.parametrize("protocol", ["simple", "extended"])
def test_result_columns_are_named_as_postgresql_names_them(pgiris, protocol):
    aggregate = {"count(*)", "max(id)", "min(name)", "sum(id)", "row_number() OVER (ORDER BY id)",
                 "count(*) OVER ()"}
    queries = [
        "SELECT %s FROM customers c WHERE id = 1" % ", ".join(i for i in NAMED_ITEMS if i not in aggregate),
        "SELECT count(*), max(id), min(name), sum(id) FROM customers",
        "SELECT row_number() OVER (ORDER BY id), count(*) OVER () FROM customers LIMIT 1",
    ]
    names = {}
    for backend in ("pg", "demo"):
        with pgiris.connect(backend) as conn:
            got = []
            for q in queries:
                cur = psycopg.ClientCursor(conn) if protocol == "simple" else conn.cursor()
                cur.execute(q)
                got += [d.name for d in cur.description]
            names[backend] = got
    assert names["demo"] == names["pg"]
    assert len(names["pg"]) == len(NAMED_ITEMS)
    assert "count" in names["demo"] and "version" in names["demo"] and "int4" in names["demo"]


def test_returning_columns_are_named_as_postgresql_names_them(pgiris):
    table = "ret_%s" % uuid.uuid4().hex[:8]
    names = {}
    for backend in ("pg", "demo"):
        with pgiris.connect(backend) as conn:
            conn.execute("CREATE TABLE %s (id int, name text)" % table)
            try:
                cur = conn.execute("INSERT INTO %s VALUES (1, 'ann') RETURNING id, upper(name), "
                                   "name::varchar(5), id + 1, current_user, length(name) AS n" % table)
                names[backend] = [d.name for d in cur.description]
                assert cur.fetchone()[:3] == (1, "ANN", "ann")
            finally:
                conn.execute("DROP TABLE %s" % table)
    assert names["demo"][:3] == names["pg"][:3] == ["id", "upper", "name"]
    assert names["demo"][4:] == names["pg"][4:] == ["current_user", "n"]
