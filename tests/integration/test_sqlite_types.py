"""Types of SQLite result columns that have no declared type.

SQLite types an expression (1, count(*), x + 1) by its value, and its ODBC
driver describes such a column as varchar until it has read a row: inside a
transaction, or with parameters, it reads the first row before the columns
are described; streaming a result in autocommit it never does.  pgiris
describes the columns by the first row in every case, so a query's types do
not depend on whether it ran in a transaction, and a value that does not
read as its column's type is an error, not a garbled or lost value.
"""

import psycopg
import pytest

INT4, FLOAT8, VARCHAR = 23, 701, 1043

QUERIES = [
    ("SELECT 42 AS i, 2.5 AS r, 'abc' AS t, NULL AS n",
     [INT4, FLOAT8, VARCHAR, VARCHAR], [(42, 2.5, "abc", None)]),
    ("SELECT count(*) AS n FROM customers", [INT4], None),
    ("SELECT country, count(*), sum(id) FROM customers GROUP BY country ORDER BY country",
     [None, INT4, INT4], None),
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5)"
     " SELECT x, x * 1.5 AS y FROM c",
     [INT4, FLOAT8], [(x, x * 1.5) for x in range(1, 6)]),
]


def types(cur):
    return [d.type_code for d in cur.description]


def check(cur, sql, want_types, want_rows):
    rows = cur.fetchall()
    got = types(cur)
    for g, w in zip(got, want_types):
        if w is not None:
            assert g == w, (sql, got, want_types)
    if want_rows is not None:
        assert rows == want_rows
    return got, rows


@pytest.mark.parametrize("sql,want_types,want_rows", QUERIES)
def test_same_types_in_and_out_of_a_transaction(pgiris, sql, want_types, want_rows):
    with pgiris.connect("demo") as conn:
        outside = check(conn.execute(sql), sql, want_types, want_rows)
        with conn.transaction():
            inside = check(conn.execute(sql), sql, want_types, want_rows)
    assert outside == inside
    # Values are what the types say, not text.
    for row in outside[1]:
        for value, oid in zip(row, outside[0]):
            if value is not None and oid == INT4:
                assert type(value) is int
            if value is not None and oid == FLOAT8:
                assert type(value) is float


def test_simple_protocol(pgiris):
    """The simple Query message: the same types as the extended protocol."""
    with pgiris.connect("demo") as conn:
        res = conn.pgconn.exec_(b"SELECT 1 AS a, count(*) AS n, 2.5 AS r, 'x' AS t FROM customers")
        assert res.status == psycopg.pq.ExecStatus.TUPLES_OK
        assert [res.ftype(i) for i in range(4)] == [INT4, INT4, FLOAT8, VARCHAR]
        assert res.get_value(0, 1) == b"300"


def test_statement_describe(pgiris):
    """Parse and Describe of a statement before it runs (a prepared statement)."""
    with pgiris.connect("demo") as conn:
        for _ in range(2):
            cur = conn.execute("SELECT count(*) AS n, max(id) + 0.5 AS m FROM customers", prepare=True)
            assert types(cur) == [INT4, FLOAT8]
            assert cur.fetchone() == (300, 300.5)


def test_parameter_decides_each_run(pgiris):
    """SELECT $1 is typed by the value of each run, as the driver types it once only."""
    with pgiris.connect("demo") as conn:
        seen = []
        for value in (1, "x", 2, None, 2.5, 3):
            cur = conn.execute("SELECT %s AS v", (value,))
            seen.append((types(cur)[0], cur.fetchone()[0]))
        assert seen == [(INT4, 1), (VARCHAR, "x"), (INT4, 2), (VARCHAR, None),
                        (FLOAT8, 2.5), (INT4, 3)]


@pytest.mark.parametrize("first,typename", [("1", "integer"), ("1.5", "double precision")])
def test_value_not_of_its_column_type(pgiris, first, typename):
    """A later row that is not of the type the first row gave: 22P02, and the connection goes on."""
    sql = "SELECT x FROM (SELECT %s AS x UNION ALL SELECT 'abc')" % first
    with pgiris.connect("demo") as conn:
        for binary in (False, True):
            with pytest.raises(psycopg.errors.InvalidTextRepresentation) as info:
                conn.cursor(binary=binary).execute(sql).fetchall()
            assert 'type %s: "abc"' % typename in str(info.value)
            assert 'column "x"' in info.value.diag.message_detail
            assert conn.execute("SELECT 'still here'").fetchone() == ("still here",)
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            with conn.transaction():
                conn.execute(sql).fetchall()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_float_column_keeps_text_in_copy(pgiris):
    """COPY TO writes the text a float column holds, where the driver would give NULL."""
    sql = "COPY (SELECT x FROM (SELECT 1.5 AS x UNION ALL SELECT 'abc' UNION ALL SELECT NULL)) TO STDOUT"
    with pgiris.connect("demo") as conn:
        for autocommit in (True, False):
            conn.autocommit = autocommit
            with conn.cursor().copy(sql) as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            assert data == b"1.5\nabc\n\\N\n", autocommit
            conn.rollback()


def test_integers_beyond_int4_pass_whole(pgiris):
    """SQLite's integers have 64 bits whatever the column says: text carries them."""
    with pgiris.connect("demo") as conn:
        assert conn.execute("SELECT 3000000000 AS big, -9223372036854775808 AS low").fetchone() == (
            3000000000, -9223372036854775808)


def test_returning(pgiris):
    """INSERT ... RETURNING runs once; an expression it returns is typed where the driver reads
    the row first (a transaction, parameters).  In autocommit without parameters it stays text:
    a data-modifying statement cannot be run a second time to learn its types."""
    table = "types_returning"
    sql = "INSERT INTO %s (a) VALUES (1) RETURNING a + 1 AS b, a" % table
    with pgiris.connect("demo") as conn:
        conn.execute("DROP TABLE IF EXISTS %s" % table)
        conn.execute("CREATE TABLE %s (a integer)" % table)
        try:
            with conn.transaction():
                cur = conn.execute(sql)
                assert (types(cur), cur.fetchall()) == ([INT4, INT4], [(2, 1)])
            cur = conn.execute("INSERT INTO %s (a) VALUES (%%s) RETURNING a + 1 AS b, a" % table, (5,))
            assert (types(cur), cur.fetchall()) == ([INT4, INT4], [(6, 5)])
            cur = conn.execute(sql)
            assert (types(cur), cur.fetchall()) == ([VARCHAR, INT4], [("2", 1)])
            assert pgiris.direct("demo", "SELECT a FROM %s ORDER BY a" % table) == [(1,), (1,), (5,)]
        finally:
            conn.execute("DROP TABLE %s" % table)
