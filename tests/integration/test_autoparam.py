"""Simple-protocol statements run as their shape on the PostgreSQL backend.

A simple Query's statement whose literal form has run twice with a small
result (and whose shape's text has come twice) is run as its shape: "... WHERE id = 5" as "... WHERE id =
$1::pg_catalog.int4" with 5 bound, prepared once on the server.  Every
answer must be the one PostgreSQL gives the literal statement: the same
rows, the same command tags, the same errors (SQLSTATE), in and out of
transactions, and a large result must still arrive whole.

One worker and a pool of one connection: every query runs on the same
backend connection, whose pg_prepared_statements the test reads.  psycopg
sends a query without parameters as a simple Query."""

import time

import psycopg
import pytest

POOL_OF_ONE = {"workers": 1, "default_pool_size": 1, "min_pool_size": 1}

SETUP = [
    "DROP TABLE IF EXISTS ap_t",
    "CREATE TABLE ap_t (id int PRIMARY KEY, big bigint, num numeric(10,2), f float8,"
    " t text, v varchar(20), d date, ts timestamp, b boolean, s smallint)",
    "INSERT INTO ap_t SELECT x, x * 1000000000::bigint, x + 0.5, x / 10.0, 'text ' || x,"
    " 'v' || x, date '2024-01-01' + x, timestamp '2024-01-01 10:00' + x * interval '1 hour',"
    " x % 2 = 0, x FROM generate_series(1, 50) AS x",
    "INSERT INTO ap_t VALUES (2147483647, 2147483648, 1.50, 0.1, 'h\u00e9llo', '', '2024-02-29',"
    " '2024-02-29 23:59:59.5', true, 7)",
    "DROP TABLE IF EXISTS ap_big",
    "CREATE TABLE ap_big (x int)",
    "INSERT INTO ap_big SELECT generate_series(1, 5000)",
]


@pytest.fixture(scope="module")
def pgiris(module_pgiris_factory, postgres):
    with postgres.connect() as conn:
        for sql in SETUP:
            conn.execute(sql)
    return module_pgiris_factory(settings=POOL_OF_ONE, databases={"pg": {"pool_size": 1}})


def shapes(conn, marker):
    """The server-side prepared statements of the backend connection that carry marker."""
    rows = conn.execute("SELECT statement FROM pg_prepared_statements").fetchall()
    return [r[0] for r in rows if marker in r[0]]


def fresh_table(postgres, name, *statements):
    """Drop name on PostgreSQL, then run statements there (its CREATE and what fills it)."""
    with postgres.connect() as direct:
        direct.execute("DROP TABLE IF EXISTS %s" % name)
        for sql in statements:
            direct.execute(sql)


def same_as_direct(pgiris, conn, sql):
    """Run sql through pgiris (simple protocol) and straight on PostgreSQL; the same answer."""
    cur = conn.execute(sql)
    got = (cur.statusmessage, cur.fetchall() if cur.description else None)
    with pgiris.postgres.connect() as direct:
        dcur = direct.execute(sql)
        want = (dcur.statusmessage, dcur.fetchall() if dcur.description else None)
    assert got == want, sql
    return got


def test_repeated_select_is_prepared_once_as_its_shape(pgiris):
    with pgiris.connect("pg") as conn:
        for i in (3, 4):
            same_as_direct(pgiris, conn, "SELECT id, t AS ap_probe_select FROM ap_t WHERE id = %d" % i)
        # Run twice as written: nothing kept on the server yet.
        assert shapes(conn, "ap_probe_select") == []
        for i in (5, 6, 7, 99):
            same_as_direct(pgiris, conn, "SELECT id, t AS ap_probe_select FROM ap_t WHERE id = %d" % i)
        plans = shapes(conn, "ap_probe_select")
        assert len(plans) == 1, plans
        assert "$1::pg_catalog.int4" in plans[0], plans


WHERES = [
    "id = 2147483647",
    "id = 9999999999",                  # int8 literal against int4: no row, no error
    "id = 99999999999999999999",        # numeric literal
    "big = 2147483648",
    "big > 45000000000",
    "num = 1.50",
    "num >= 10.5",
    "f = 0.1",
    "f < 1.0",
    "t = 'h\u00e9llo'",
    "t <> 'text 1'",
    "v = ''",
    "d = '2024-02-29'",
    "ts >= '2024-01-01 20:00'",
    "ts = '2024-02-29 23:59:59.5'",
    "b = 'true'",
    "s = 7",
    "s != 40000",                       # beyond smallint: compared as int4
    "id = 0007",
]


@pytest.mark.parametrize("case", range(len(WHERES)), ids=WHERES)
def test_answers_match_postgres(pgiris, case):
    with pgiris.connect("pg") as conn:
        alias = "ap_case_%d" % case
        sql = "SELECT id AS %s, big, num, f, t, v, d, ts, b, s FROM ap_t WHERE %s ORDER BY id" % (
            alias, WHERES[case])
        for _ in range(4):
            same_as_direct(pgiris, conn, sql)
        # ... and the later runs went through the shape.
        plans = shapes(conn, alias)
        assert len(plans) == 1 and "$1" in plans[0], plans


def test_updates_and_deletes_keep_their_tags(pgiris, postgres):
    fresh_table(postgres, "ap_w", "CREATE TABLE ap_w (id int PRIMARY KEY, t text, n numeric)",
                "INSERT INTO ap_w SELECT x, 'w' || x, x FROM generate_series(1, 20) x")
    with pgiris.connect("pg") as conn:
        for i in range(1, 7):
            cur = conn.execute("UPDATE ap_w SET t = 'new %d', n = 2.5 WHERE id = %d" % (i, i))
            assert cur.statusmessage == "UPDATE 1"
        cur = conn.execute("UPDATE ap_w SET t = 'none', n = 1 WHERE id = 1000")
        assert cur.statusmessage == "UPDATE 0"
        for i in range(10, 15):
            cur = conn.execute("DELETE FROM ap_w WHERE id = %d" % i)
            assert cur.statusmessage == "DELETE 1"
        cur = conn.execute("DELETE FROM ap_w WHERE id = 1000")
        assert cur.statusmessage == "DELETE 0"
        cur = conn.execute("UPDATE ap_w SET t = 'ret' WHERE id = 2 RETURNING id, t")
        assert cur.fetchall() == [(2, "ret")]
    rows = postgres.query("SELECT id, t, n FROM ap_w WHERE id <= 6 OR id BETWEEN 10 AND 15 ORDER BY id")
    assert rows == [(1, "new 1", 2.5), (2, "ret", 2.5)] + [(i, "new %d" % i, 2.5) for i in range(3, 7)] + [
        (15, "w15", 15)]


def test_errors_are_postgres_errors(pgiris):
    with pgiris.connect("pg") as conn:
        for i in ("1", "2", "3"):
            conn.execute("SELECT id FROM ap_t WHERE id = '%s'" % i)
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            conn.execute("SELECT id FROM ap_t WHERE id = 'abc'")
        for i in (1, 2, 3):
            conn.execute("SELECT id FROM ap_t WHERE s = %d" % i)
        # 70000 is int4, compared with smallint: no error, no row.
        assert conn.execute("SELECT id FROM ap_t WHERE s = 70000").fetchall() == []
        # The connection is fine afterwards.
        assert conn.execute("SELECT id FROM ap_t WHERE id = '4'").fetchall() == [(4,)]


def test_error_in_a_transaction_aborts_it(pgiris):
    with pgiris.connect("pg", autocommit=False) as conn:
        for i in ("1", "2", "3"):
            conn.execute("SELECT t FROM ap_t WHERE d = '2024-01-0%s'" % i)
        with pytest.raises(psycopg.errors.InvalidDatetimeFormat):
            conn.execute("SELECT t FROM ap_t WHERE d = 'not a date'")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT t FROM ap_t WHERE d = '2024-01-05'")
        conn.rollback()
        assert conn.execute("SELECT t FROM ap_t WHERE d = '2024-01-05'").fetchall() == [("text 4",)]
        conn.commit()


def test_large_result_after_small_ones_arrives_whole(pgiris):
    with pgiris.connect("pg") as conn:
        for n in (4990, 4995, 4998):
            assert conn.execute("SELECT x FROM ap_big WHERE x > %d ORDER BY x" % n).fetchall() == [
                (x,) for x in range(n + 1, 5001)]
        rows = conn.execute("SELECT x FROM ap_big WHERE x > 0 ORDER BY x").fetchall()
        assert rows == [(x,) for x in range(1, 5001)]
        for n in (10, 4999):
            assert conn.execute("SELECT x FROM ap_big WHERE x > %d ORDER BY x" % n).fetchall() == [
                (x,) for x in range(n + 1, 5001)]


def test_statements_left_as_they_are(pgiris):
    """Literals that a parameter would not read the same way stay in the text."""
    with pgiris.connect("pg") as conn:
        for i in range(4):
            same_as_direct(pgiris, conn, "SELECT id FROM ap_t WHERE t = 'it''s' OR id = -%d ORDER BY id" % i)
            same_as_direct(pgiris, conn, "SELECT id, t = 'text %d' FROM ap_t WHERE id IN (1, %d) ORDER BY id"
                           % (i, i))
            same_as_direct(pgiris, conn, "SELECT %d AS c, 'lit' AS d" % i)
        assert shapes(conn, "it''s") == []


@pytest.fixture(scope="module")
def pgiris_off(module_pgiris_factory, pgiris):
    return module_pgiris_factory(settings=POOL_OF_ONE,
                                 databases={"pg": {"pool_size": 1, "auto_parameterize": "off"}})


def test_auto_parameterize_off_keeps_the_literal_form(pgiris_off):
    with pgiris_off.connect("pg") as conn:
        for i in range(1, 7):
            same_as_direct(pgiris_off, conn, "SELECT t AS ap_probe_off FROM ap_t WHERE id = %d" % i)
        assert shapes(conn, "ap_probe_off") == []


def test_reload_turns_it_on(pgiris_off):
    """SIGHUP applies a changed auto_parameterize to the connections already open."""
    pgiris_off.databases["pg"]["auto_parameterize"] = "on"
    pgiris_off.write_config()
    pgiris_off.reload()
    deadline = time.monotonic() + 10
    with pgiris_off.connect("pg") as conn:
        i = 0
        while not shapes(conn, "ap_probe_reload"):
            assert time.monotonic() < deadline, "auto_parameterize = on was not applied on reload"
            i += 1
            same_as_direct(pgiris_off, conn, "SELECT t AS ap_probe_reload FROM ap_t WHERE id = %d" % (i % 50))
            time.sleep(0.05)
        assert "$1::pg_catalog.int4" in shapes(conn, "ap_probe_reload")[0]


def autoparam_count(pgiris, database):
    rows = [r for r in pgiris.show("STATS") if r["database"] == database]
    return int(rows[0]["total_autoparam_count"])


def test_show_stats_counts_statements_run_as_their_shape(pgiris):
    before = autoparam_count(pgiris, "pg")
    with pgiris.connect("pg") as conn:
        for i in range(1, 9):
            same_as_direct(pgiris, conn, "SELECT t AS ap_probe_stats FROM ap_t WHERE id = %d" % i)
    # Two runs as written; the third finds the shape's text new and runs as written too; then five.
    assert autoparam_count(pgiris, "pg") - before == 5


@pytest.mark.parametrize("where", [
    "id = 3",
    "id <> 2",
    "id = 9999999999",
    "id = 99999999999999999999",
    "credit_limit > 1000.5",
    "credit_limit >= 2000.0",
    "city = 'Lyon'",
    "name <> ''",
    "id > '3'",
])
def test_sqlite_answers_match_sqlite(pgiris, where):
    """The embedded SQLite database: bare markers, the values bound as SQLite reads the literals."""
    sql = "SELECT id, name, city FROM customers WHERE %s ORDER BY id" % where
    before = autoparam_count(pgiris, "demo")
    with pgiris.connect() as conn:
        for _ in range(8):
            assert conn.execute(sql).fetchall() == pgiris.direct("demo", sql), sql
    assert autoparam_count(pgiris, "demo") > before


def test_expressions_that_must_match_keep_their_literals(pgiris):
    """GROUP BY, DISTINCT ON and ORDER BY must find the select list's expressions, in a transaction too."""
    with pgiris.connect("pg", autocommit=False) as conn:
        for _ in range(5):
            same_as_direct(pgiris, conn, "SELECT id = 1, count(*) FROM ap_t GROUP BY id = 1 ORDER BY 1")
            same_as_direct(pgiris, conn, "SELECT DISTINCT ON (id = 3) id FROM ap_t WHERE id < 9 "
                                         "ORDER BY id = 3, id")
            same_as_direct(pgiris, conn, "SELECT DISTINCT t, id = 2 FROM ap_t WHERE id < 4 ORDER BY id = 2, t")
        conn.commit()


def test_table_changed_under_a_shape(pgiris, postgres):
    """A column added to the table: the shape's prepared statement is refused, the answer is not."""
    fresh_table(postgres, "ap_alt", "CREATE TABLE ap_alt (id int PRIMARY KEY, v text)",
                "INSERT INTO ap_alt VALUES (1, 'one'), (2, 'two')")
    with pgiris.connect("pg") as conn:
        for i in (1, 2, 1, 2, 1):
            same_as_direct(pgiris, conn, "SELECT * FROM ap_alt WHERE id = %d" % i)
        assert shapes(conn, "FROM ap_alt WHERE id = $1")
        with postgres.connect() as direct:
            direct.execute("ALTER TABLE ap_alt ADD COLUMN z int DEFAULT 7")
        for i in (1, 2, 1, 2):
            assert same_as_direct(pgiris, conn, "SELECT * FROM ap_alt WHERE id = %d" % i)[1][0][2] == 7


def test_on_conflict_with_a_partial_index(pgiris, postgres):
    fresh_table(postgres, "ap_oc", "CREATE TABLE ap_oc (a int, b int, c int, t text)",
                "CREATE UNIQUE INDEX ON ap_oc (a) WHERE b = 1 AND c = 2",
                "INSERT INTO ap_oc VALUES (100, 1, 2, 'x')")
    # Simple protocol throughout: psycopg would prepare the text after five runs.
    with pgiris.connect("pg", prepare_threshold=None) as conn:
        for _ in range(12):
            cur = conn.execute("INSERT INTO ap_oc VALUES (100, 1, 2, 'y') ON CONFLICT (a) WHERE b = 1 AND c = 2 "
                               "DO NOTHING")
            assert cur.statusmessage == "INSERT 0 0"
    assert postgres.query("SELECT t FROM ap_oc") == [("x",)]


def test_numbers_with_exponents_stay_in_the_text(pgiris):
    with pgiris.connect("pg") as conn:
        for i in (1, 2, 3, 4, 5):
            same_as_direct(pgiris, conn, "SELECT id FROM ap_t WHERE num < 1e1001 AND id = %d" % i)
            same_as_direct(pgiris, conn, "SELECT id FROM ap_t WHERE num > 1e-1001 AND id = %d" % i)
