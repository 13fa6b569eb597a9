"""What data-modifying statements return, on both backends.

An INSERT, UPDATE or DELETE ... RETURNING that matches no row still has a
result: PostgreSQL sends its RowDescription and no rows, and clients read
the empty result by it (psycopg's fetchall, a driver's column list).  A
WITH whose queries write cannot run inside a cursor (DECLARE CURSOR refuses
it), so it must run without one however new its shape is.  Both through the
simple and the extended protocol."""

import pytest

TABLES = {
    "pg": [
        "DROP TABLE IF EXISTS dml_t",
        "CREATE TABLE dml_t (id int PRIMARY KEY, v text)",
        "INSERT INTO dml_t VALUES (1, 'one'), (2, 'two'), (3, 'three')",
    ],
    "demo": [
        "DROP TABLE IF EXISTS dml_t",
        "CREATE TABLE dml_t (id integer PRIMARY KEY, v text)",
        "INSERT INTO dml_t VALUES (1, 'one'), (2, 'two'), (3, 'three')",
    ],
}


@pytest.fixture(params=["pg", "demo"])
def db(request, pgiris):
    with pgiris.connect(request.param) as conn:
        for sql in TABLES[request.param]:
            conn.execute(sql)
    return request.param


def run(conn, sql, params):
    """Simple protocol without params, extended with them: (tag, column names, rows)."""
    cur = conn.execute(sql, params) if params is not None else conn.execute(sql)
    names = [d.name for d in cur.description] if cur.description else None
    return cur.statusmessage, names, cur.fetchall() if cur.description else None


@pytest.mark.parametrize("params", [None, (99,)], ids=["simple", "extended"])
@pytest.mark.parametrize("sql,tag,names", [
    ("UPDATE dml_t SET v = 'x' WHERE id = 99 RETURNING id, v", "UPDATE 0", ["id", "v"]),
    ("DELETE FROM dml_t WHERE id = 99 RETURNING id", "DELETE 0", ["id"]),
    ("INSERT INTO dml_t SELECT id + 100, v FROM dml_t WHERE id = 99 RETURNING v, id", "INSERT 0 0", ["v", "id"]),
])
def test_returning_that_matches_nothing_has_its_columns(pgiris, db, params, sql, tag, names):
    if params is not None:
        sql = sql.replace("99", "%s")
    with pgiris.connect(db) as conn:
        for _ in range(3):
            assert run(conn, sql, params) == (tag, names, [])
        # ... and one that matches still returns its row.
        got = run(conn, sql.replace("%s", "1").replace("99", "1"), None)
        assert got[1] == names and len(got[2]) == 1


@pytest.mark.parametrize("params", [None, (2,)], ids=["simple", "extended"])
def test_with_that_writes_runs(pgiris, postgres, params):
    sql = ("WITH u AS (UPDATE dml_t SET v = v || '!' WHERE id = %s RETURNING id, v) "
           "SELECT id, v FROM u ORDER BY id")
    with pgiris.connect("pg") as conn:
        for sql_ in TABLES["pg"]:
            conn.execute(sql_)
        for n in range(1, 4):
            got = run(conn, sql if params is not None else sql % "2", params)
            assert got == ("SELECT 1", ["id", "v"], [(2, "two" + "!" * n)])
        # A statement that only reads stays as it was, with the word in a string.
        assert run(conn, "WITH r AS (SELECT 'update' AS w) SELECT w FROM r", None) == (
            "SELECT 1", ["w"], [("update",)])
    assert postgres.query("SELECT v FROM dml_t WHERE id = 2") == [("two!!!",)]


@pytest.mark.parametrize("sql", [
    "(WITH u AS (UPDATE dml_t SET v = v WHERE id = 1 RETURNING id) SELECT id FROM u)",
    "WITH a AS (SELECT $$ ' $$ AS q), u AS (UPDATE dml_t SET v = v WHERE id = 1 RETURNING id) SELECT id FROM u, a",
    "WITH a AS (SELECT E'\\'' AS q), u AS (UPDATE dml_t SET v = v WHERE id = 1 RETURNING id) SELECT id FROM u, a",
    "/* it's */ WITH u AS (DELETE FROM dml_t WHERE id = 99 RETURNING id) SELECT count(*) FROM u",
], ids=["parenthesised", "dollar-quote", "escape-string", "comment"])
def test_with_that_writes_in_any_spelling(pgiris, sql):
    with pgiris.connect("pg") as conn:
        for sql_ in TABLES["pg"]:
            conn.execute(sql_)
        want = [(0,)] if "count" in sql else [(1,)]
        for _ in range(3):
            assert conn.execute(sql).fetchall() == want
