"""Simple queries through pgiris against both backends: results, types,
errors, several statements in one query string, and the session start."""

import decimal
import struct
import uuid

import psycopg
import pytest

import pgwire

# Both backends accept this recursive CTE unchanged.
COUNT_TO = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) SELECT x FROM c"


def table_name(prefix="t"):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:10])


def test_startup_parameters(pgiris):
    with pgiris.connect("demo") as conn:
        info = conn.info
        assert info.parameter_status("server_version"), "no server_version ParameterStatus"
        assert info.server_version > 0, "libpq cannot parse server_version %r" % (
            info.parameter_status("server_version"),)
        assert info.parameter_status("client_encoding") == "UTF8"
        assert info.parameter_status("server_encoding") == "UTF8"
        assert info.parameter_status("standard_conforming_strings") == "on"
        assert info.parameter_status("integer_datetimes") == "on"
        assert (info.parameter_status("DateStyle") or "").startswith("ISO")
        assert info.parameter_status("application_name") == ""
        assert info.backend_pid != 0, "no BackendKeyData"
        assert info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_startup_parameter_reported(pgiris):
    """A value the client sent in its startup packet is reported, not the default."""
    with pgiris.connect("demo", application_name="from-startup") as conn:
        assert conn.info.parameter_status("application_name") == "from-startup"
        assert conn.execute("SHOW application_name").fetchone()[0] == "from-startup"


@pytest.mark.parametrize("stmt", ["SET TimeZone = 'Asia/Kolkata'", "SET timezone TO 'Asia/Kolkata'",
                                  "SET SESSION timezone TO 'Asia/Kolkata'", "SET TIME ZONE 'Asia/Kolkata'",
                                  "SET time zone 'Asia/Kolkata'"])
def test_set_timezone_in_each_form(pgiris, stmt):
    """Every spelling of SET TimeZone stores the zone itself: the TO or =
    of the first three was once kept as part of the value ("TOAsia/Kolkata"),
    which clients were then told in ParameterStatus."""
    with pgiris.connect("demo") as conn:
        conn.execute(stmt)
        assert conn.execute("SHOW TimeZone").fetchone()[0] == "Asia/Kolkata"
        assert conn.info.parameter_status("TimeZone") == "Asia/Kolkata"


@pytest.mark.parametrize("value", ["public", "\"$user\", public", "pg_catalog, public", "public, pg_temp", "PUBLIC", "''", "DEFAULT"])
def test_search_path_of_public_is_taken(pgiris, value):
    with pgiris.connect("demo") as conn:
        conn.execute("SET search_path TO %s" % value)
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] > 0
        if value == '"$user", public':      # shown as PostgreSQL shows it, quotes and all
            assert conn.execute("SHOW search_path").fetchone()[0] == value


@pytest.mark.parametrize("value", ["tenant1", "tenant1, public", "public, \"Tenant\"", "\"Public\""])
def test_search_path_of_another_schema_is_refused(pgiris, backend, value):
    """Statements are not resolved against a client's search_path: a SET
    naming another schema would be kept and do nothing, and unqualified
    names would still reach public's tables."""
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="search_path"):
            conn.execute("SET search_path TO %s" % value)
        conn.rollback()
        assert conn.execute("SHOW search_path").fetchone()[0] == '"$user", public'


@pytest.mark.parametrize("value,refused", [("tenant1", True), ("public", False), ("\"$user\", public", False)])
def test_search_path_at_login(pgiris, value, refused):
    """pgjdbc's currentSchema sends search_path in the startup packet: a
    schema other than public is refused there as a SET of it is."""
    conn = pgwire.Conn(pgiris.port)
    try:
        if refused:
            with pytest.raises(pgwire.ServerError) as err:
                conn.startup("demo", "demo", pgiris.users["demo"], extra={"search_path": value})
            assert err.value.sqlstate == "0A000" and "search_path" in err.value.fields["M"]
        else:
            assert conn.startup("demo", "demo", pgiris.users["demo"], extra={"search_path": value}) is not None
    finally:
        conn.close()


def test_startup_options_are_applied(pgiris, backend):
    """libpq's PGOPTIONS / options=, PgJDBC's options: "-c name=value" and
    "--name=value" set parameters at login, as PostgreSQL does (they were
    dropped); a parameter named in the packet itself wins."""
    opts = r"-c statement_timeout=300 --application-name=opt\ app -cDateStyle=ISO,\ MDY"
    long_query = {"pg": "SELECT pg_sleep(5)",
                  "demo": "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 30000000) "
                          "SELECT sum(x) FROM s"}[backend]
    with pgiris.connect(backend, options=opts, application_name="named") as conn:
        assert conn.execute("SHOW application_name").fetchone()[0] == "named"
        assert conn.execute("SHOW DateStyle").fetchone()[0] == "ISO, MDY"
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(long_query)
    with pgiris.connect(backend, options="--application-name=opt\\ app") as conn:
        assert conn.execute("SHOW application_name").fetchone()[0] == "opt app"
    # shown as PostgreSQL shows a time: in its largest whole unit
    with pgiris.connect(backend, options="-c statement_timeout=1500") as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1500ms"


@pytest.mark.parametrize("opts,message", [
    ("-c search_path=tenant1", "search_path"),
    ("-c statement_timeout", "requires a value"),
    ("-B 100", "invalid command-line argument"),
    ("-c statement_timeout=soon", "invalid value for parameter"),
])
def test_startup_options_refused(pgiris, opts, message):
    """What pgiris would otherwise drop is refused at login, as the same SET would be."""
    with pytest.raises(psycopg.OperationalError, match=message):
        pgiris.connect("demo", options=opts)


def test_set_time_zone_takes_no_to(pgiris):
    """SET TIME ZONE takes its value directly, as PostgreSQL's grammar has it."""
    with pgiris.connect("demo") as conn:
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("SET TIME ZONE = 'UTC'")


def test_select_one(pgiris, backend):
    with pgiris.connect(backend) as conn:
        cur = conn.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        assert cur.statusmessage == "SELECT 1"


def test_result_types(pgiris, backend):
    sql = {
        "demo": "SELECT 42 AS i, 2.5 AS r, 'abc' AS t, NULL AS n, 40 + 2 AS e",
        "pg": "SELECT 42 AS i, 2.5::float8 AS r, 'abc'::text AS t, NULL AS n, 40 + 2 AS e",
    }[backend]
    with pgiris.connect(backend) as conn:
        cur = conn.execute(sql)
        row = cur.fetchone()
        assert [d.name for d in cur.description] == ["i", "r", "t", "n", "e"]
        assert row == (42, 2.5, "abc", None, 42)
        # An integer literal is an integer, as in PostgreSQL; on SQLite an expression's
        # integer column is numeric (its later values could be reals).
        assert type(row[0]) is int
        assert type(row[1]) is float
        assert type(row[2]) is str
        assert type(row[4]) is (int if backend == "pg" else decimal.Decimal)


def test_demo_table_matches_backend(pgiris, backend):
    sql = "SELECT id, name, email, city FROM customers WHERE id = 3"
    with pgiris.connect(backend) as conn:
        rows = conn.execute(sql).fetchall()
    assert rows == [(3, "Dmitri Almeida", "dmitri.almeida.3@example.com", "Lyon")]
    assert rows == [tuple(r) for r in pgiris.direct(backend, sql)]


def test_real_column(pgiris, backend):
    sql = "SELECT id, weight_kg FROM products WHERE id <= 5 ORDER BY id"
    with pgiris.connect(backend) as conn:
        rows = conn.execute(sql).fetchall()
    expected = pgiris.direct(backend, sql)
    assert len(rows) == 5
    for (gid, got), (eid, want) in zip(rows, expected):
        assert gid == eid
        assert isinstance(got, float)
        assert got == pytest.approx(want, rel=1e-6)


FLOAT_TEXTS = "SELECT '5e-324'::float8, '2.5e-320'::float8, '1e-45'::float4, '1.5e-40'::float4," \
              " '0.1'::float8, '1e308'::float8, '1.2345678901234568e+17'::float8, '3.4028235e+38'::float4," \
              " '-0.1'::float4, '123456.7'::float4"


@pytest.mark.parametrize("backend", ["pg"])
def test_float_text_is_postgres_shortest(pgiris, backend):
    """Floats in text format read back exactly in as few digits as
    PostgreSQL prints them, subnormal values too (they have fewer
    significant digits than DBL_DIG or FLT_DIG)."""
    with pgiris.connect(backend) as conn:
        cur = conn.cursor(binary=False)
        cur.execute(FLOAT_TEXTS)
        got = [cur.pgresult.get_value(0, i).decode() for i in range(cur.pgresult.nfields)]
    with pgiris.postgres.connect() as conn:
        cur = conn.cursor(binary=False)
        cur.execute(FLOAT_TEXTS)
        want = [cur.pgresult.get_value(0, i).decode() for i in range(cur.pgresult.nfields)]
    assert got == want
    assert got[:4] == ["5e-324", "2.5e-320", "1e-45", "1.5e-40"]


MONEY = "SELECT 12.34::money, (-0.01)::money, '92233720368547758.07'::money"


@pytest.mark.parametrize("backend", ["pg"])
def test_money_as_postgres_prints_it(pgiris, backend):
    """psqlODBC calls money a float; it is money, in the server's own text
    (a float lost cents past 2^53), and its binary form is refused."""
    def text_result(conn):
        cur = conn.cursor(binary=False)
        cur.execute(MONEY)
        return ([d.type_code for d in cur.description],
                [cur.pgresult.get_value(0, i).decode() for i in range(cur.pgresult.nfields)])

    with pgiris.connect(backend) as conn:
        got = text_result(conn)
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="binary format is not supported"):
            conn.cursor(binary=True).execute(MONEY)
    with pgiris.postgres.connect() as conn:
        assert got == text_result(conn)
    assert got == ([790] * 3, ["$12.34", "-$0.01", "$92,233,720,368,547,758.07"])


TZ_TEXTS = ["2024-06-01 12:00:00.5-07", "2024-01-01 00:00:00+05:30", "2024-01-01 10:11:12",
            "2024-01-01 10:11:12Z", "2024-01-01 10:11:12 -03", "1999-01-08 04:05:06 BC", "2024-01-01"]


@pytest.mark.parametrize("backend", ["demo"])
def test_sqlite_timestamptz_as_a_utc_server_prints_it(pgiris, backend):
    """SQLite keeps a timestamptz as the text it was given; pgiris reads it
    as PostgreSQL in UTC prints it (an offset with minutes once came back
    with "+00" after it, which no client can read)."""
    table = table_name("tz")
    with pgiris.connect(backend) as conn:
        conn.execute("CREATE TABLE %s (id INTEGER, t TIMESTAMPTZ)" % table)
        try:
            for i, v in enumerate(TZ_TEXTS):
                conn.execute("INSERT INTO %s VALUES (%d, '%s')" % (table, i, v))
            cur = conn.cursor(binary=False)
            cur.execute("SELECT t FROM %s ORDER BY id" % table)
            got = [cur.pgresult.get_value(r, 0).decode() for r in range(cur.pgresult.ntuples)]
        finally:
            conn.execute("DROP TABLE %s" % table)
    with pgiris.postgres.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        want = [conn.execute("SELECT %s::timestamptz::text", (v,)).fetchone()[0] for v in TZ_TEXTS]
    assert got == want


# SQLite's driver hands a REAL over as 15 significant digits: the longer values only on PostgreSQL.
FLOAT_VALUES = ["0.1", "1234567", "100000000", "0.0001", "0.00001234", "1e308", "123456789012345", "1e15",
                "-2.5e-7", "12345.678"]
FLOAT_VALUES_17 = ["1234567890123456.7", "3.141592653589793", "0.3333333333333333"]


@pytest.mark.parametrize("kind", ["float8", "float4"])
def test_float_text_as_postgres_prints_it(pgiris, backend, kind):
    """Shortest digits, and positional notation only for decimal exponents
    from -4 to below 15 (float8) or 6 (float4), as float8out/float4out
    print them: 1e8 is 100000000, 1234567::float4 is 1.234567e+06."""
    if kind == "float4" and backend == "demo":
        pytest.skip("SQLite has one floating-point type")
    values = [v for v in FLOAT_VALUES + (FLOAT_VALUES_17 if backend == "pg" else [])
              if kind == "float8" or abs(float(v)) < 3e38]
    sql = "SELECT " + ", ".join("'%s'::%s" % (v, kind) for v in values)
    with pgiris.connect(backend) as conn:
        cur = conn.cursor(binary=False)
        cur.execute(sql)
        got = [cur.pgresult.get_value(0, i).decode() for i in range(len(values))]
    with pgiris.postgres.connect() as conn:
        want = list(conn.execute(sql.replace("::" + kind, "::%s::text" % kind)).fetchone())
    assert got == want


@pytest.mark.parametrize("order", ["a", "a DESC", "a ASC, id", "a DESC NULLS LAST, id", "a NULLS FIRST, id"])
def test_null_sorts_where_postgresql_sorts_it(pgiris, backend, order):
    """NULL is last in ascending order and first in descending order, as
    in PostgreSQL (SQLite's own default is the other way round), in an
    ORDER BY and in a window's."""
    table = table_name("nulls")
    rows = "(1, 2), (2, NULL), (3, 1), (4, NULL), (5, 3)"
    sql = "SELECT id, row_number() OVER (ORDER BY %s) FROM %s ORDER BY %s" % (order, table, order)
    results = []
    for conn in (pgiris.connect(backend), pgiris.postgres.connect()):
        with conn:
            conn.execute("CREATE TABLE %s (id INTEGER, a INTEGER)" % table)
            try:
                conn.execute("INSERT INTO %s VALUES %s" % (table, rows))
                results.append(conn.execute(sql).fetchall())
            finally:
                conn.execute("DROP TABLE %s" % table)
    if order in ("a", "a DESC"):     # ties broken by nothing: compare the NULL positions
        results = [[r[0] in (2, 4) for r in result] for result in results]
    assert results[0] == results[1]


def test_at_time_zone_utc_as_django_writes_it(pgiris):
    """Django with USE_TZ wraps every date lookup in AT TIME ZONE 'UTC':
    where every timestamp is UTC that changes nothing, on SQLite too."""
    table = table_name("tz")
    with pgiris.connect("demo") as conn:
        conn.execute("CREATE TABLE %s (id INTEGER, created TIMESTAMPTZ)" % table)
        try:
            conn.execute("INSERT INTO %s VALUES (1, '2024-05-01 23:30:00'), (2, '2024-05-02 00:30:00')" % table)
            rows = conn.execute("SELECT id, (created AT TIME ZONE 'UTC')::date FROM %s "
                                "WHERE (created AT TIME ZONE 'UTC')::date = %%s::date ORDER BY id" % table,
                                ("2024-05-02",)).fetchall()
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute("SELECT created AT TIME ZONE 'Europe/Paris' FROM %s" % table)
        finally:
            conn.rollback()
            conn.execute("DROP TABLE %s" % table)
    assert [(r[0], str(r[1])) for r in rows] == [(2, "2024-05-02")]


def test_aggregate_over_demo_data(pgiris):
    sql = ("SELECT c.country, count(*), sum(oi.quantity) FROM customers c"
           " JOIN orders o ON o.customer_id = c.id"
           " JOIN order_items oi ON oi.order_id = o.id"
           " GROUP BY c.country ORDER BY c.country")
    with pgiris.connect("demo") as conn:
        rows = conn.execute(sql).fetchall()
    assert rows == [tuple(r) for r in pgiris.direct("demo", sql)]
    assert sum(r[1] for r in rows) == 3000


def test_many_rows(pgiris, backend):
    with pgiris.connect(backend) as conn:
        rows = conn.execute(COUNT_TO % 10000).fetchall()
    assert len(rows) == 10000
    # First mismatch only: a failing comparison of two 10,000-item lists makes
    # pytest diff them in full when CI is set, which takes minutes.
    bad = next((i for i, r in enumerate(rows) if r[0] != i + 1), None)
    assert bad is None, "row %d is %r, expected %d" % (bad + 1, rows[bad][0], bad + 1)


def test_values_list(pgiris, backend):
    """A VALUES list on its own is a query: its rows, named column1, column2, in its order."""
    with pgiris.connect(backend) as conn:
        cur = conn.execute("VALUES (1, 'a'), (2, 'b'), (3, 'c') ORDER BY 1 DESC LIMIT 2")
        assert [d.name for d in cur.description] == ["column1", "column2"]
        assert cur.fetchall() == [(3, "c"), (2, "b")]
        assert cur.statusmessage == "SELECT 2"
        assert conn.execute("VALUES (7) UNION ALL SELECT 8").fetchall() == [(7,), (8,)]


def test_column_names_with_dots(pgiris, backend):
    """A name with a dot in it is the whole name, in results of one column or
    more; a qualified column is named by its column alone."""
    with pgiris.connect(backend) as conn:
        cur = conn.execute('SELECT 2.5 AS "a.b"')
        assert [d.name for d in cur.description] == ["a.b"]
        cur = conn.execute('SELECT c.name, c.id AS "x.y", 1.5 AS "1.5" FROM customers c WHERE c.id = 1')
        assert [d.name for d in cur.description] == ["name", "x.y", "1.5"]
        cur = conn.execute("SELECT customers.email FROM customers WHERE id = %s", (1,))
        assert [d.name for d in cur.description] == ["email"]


def test_string_agg(pgiris, backend):
    """string_agg is SQLite's group_concat; named string_agg as in PostgreSQL."""
    with pgiris.connect(backend) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM customers WHERE id <= 3 ORDER BY id")]
        cur = conn.execute("SELECT string_agg(name, ' | ') FROM"
                           " (SELECT name FROM customers WHERE id <= 3 ORDER BY id) AS s")
        assert [d.name for d in cur.description] == ["string_agg"]
        assert cur.fetchone() == (" | ".join(names),)


def test_select_for_update(pgiris, backend):
    """FOR UPDATE and its kin run (SQLite has no row locks: the clause goes)."""
    with pgiris.connect(backend, autocommit=False) as conn:
        sql = "SELECT id FROM customers WHERE id <= 2 ORDER BY id FOR %s"
        for lock in ("UPDATE", "NO KEY UPDATE OF customers NOWAIT", "SHARE SKIP LOCKED"):
            assert conn.execute(sql % lock).fetchall() == [(1,), (2,)], lock
        assert conn.execute("UPDATE customers SET name = name WHERE id = 1").rowcount == 1
        conn.rollback()


def test_untyped_columns_in_and_out_of_a_transaction(pgiris, backend):
    """An expression's column has the same type whether or not a transaction is open."""
    sql = "SELECT count(*) AS n, max(id) * 0.5 AS half, 'x' AS t FROM customers"
    with pgiris.connect(backend) as conn:
        outside = conn.execute(sql)
        want = outside.fetchall()
        # A number, not a string: count() is bigint on both.
        assert type(want[0][0]) is int and type(want[0][2]) is str
        assert float(want[0][1]) == 150.0
        types = [d.type_code for d in outside.description]
        with conn.transaction():
            inside = conn.execute(sql)
            assert inside.fetchall() == want
            assert [d.type_code for d in inside.description] == types


def test_untyped_columns_with_parameters(pgiris, backend):
    """With a parameter, as without, an expression's column reaches the client as a number,
    in text and binary results, prepared or not (psycopg describes each portal it runs)."""
    sql = "SELECT count(*) AS n, max(id) * 0.5 AS half, 'x' AS t FROM customers WHERE id > %s"
    number = int if backend == "pg" else decimal.Decimal
    with pgiris.connect(backend) as conn:
        for binary in (False, True):
            for prepare in (False, True, True):
                with conn.cursor(binary=binary) as cur:
                    n, half, t = cur.execute(sql, (100,), prepare=prepare).fetchone()
                    assert (type(n), n) == (int, 200), (binary, prepare)
                    assert type(half) is not str and float(half) == 150.0, (binary, prepare)
                    assert t == "x"
        # Typed by each run's values where their kinds differ: SELECT $1 is a number for 1, text for 'abc'.
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                assert cur.execute("SELECT %s AS v", (1,)).fetchone() == (number(1),)
                assert cur.execute("SELECT %s AS v", ("abc",)).fetchone() == ("abc",)
        # A run that found no value to judge by leaves the next run its own probe.
        typed = "SELECT max(id) AS m, 7 + 0 AS seven FROM customers WHERE id > %s"
        assert conn.execute(typed, (99999,)).fetchone()[1] == 7
        m, seven = conn.execute(typed, (0,)).fetchone()
        assert (type(m), m, type(seven)) == (number, 300, number)


def test_integer_expressions(pgiris, backend):
    """count(), the ranking window functions, integer literals, length() and casts to
    integer types are integers on both backends (SQLite's integer values otherwise reach
    the client as numeric), through both protocols, text and binary; a UNION whose other
    side has a real keeps its reals."""
    sql = ("SELECT count(*) AS n, row_number() OVER () AS r, 7 AS seven, 3000000000 AS big,"
           " length('abcd') AS l, '12'::smallint AS s, count(*) FILTER (WHERE id > {}) AS f,"
           " strpos('abcd', 'c') AS sp FROM customers")
    want = (300, 1, 7, 3000000000, 4, 12, 200, 3)
    with pgiris.connect(backend) as conn:
        for binary in (False, True):
            for prepare in (False, True, True):
                with conn.cursor(binary=binary) as cur:
                    for limit in (100, 100):      # a literal: the second run is a shape's
                        row = cur.execute(sql.format(limit), prepare=prepare).fetchone()
                        assert row == want and all(type(v) is int for v in row), (binary, prepare, row)
                    row = cur.execute(sql.replace("{}", "%s"), (100,), prepare=prepare).fetchone()
                    assert row == want and all(type(v) is int for v in row), (binary, prepare, row)
        rows = conn.execute("SELECT 1 AS v UNION ALL SELECT 2.5 ORDER BY v").fetchall()
        assert [float(v) for v, in rows] == [1.0, 2.5]


def test_typed_columns_keep_their_names(pgiris, backend):
    """The translator's type note follows the statement on SQLite, which names an
    unaliased last item by its text up to the next token: the note must not show."""
    with pgiris.connect(backend) as conn:
        for sql in ("SELECT 1", "SELECT 'x' AS a, 42", "SELECT true", "SELECT 2 > 1"):
            cur = conn.execute(sql)
            cur.fetchall()
            assert "pgiris" not in cur.description[-1].name, (sql, cur.description[-1].name)
        assert conn.execute("SELECT 1").description[0].name == ("1" if backend == "demo" else "?column?")
        # A name the client chose stays whole, whatever it holds.
        for alias in ("a /*pgiris:x*/", "/*pgiris:int4 1*/"):
            assert conn.execute('SELECT 1 AS "%s"' % alias).description[0].name == alias


def test_ntile_is_integer_and_integer_casts_overflow(pgiris, backend):
    with pgiris.connect(backend) as conn:
        cur = conn.execute("SELECT ntile(2) OVER (ORDER BY id) AS n FROM customers ORDER BY id LIMIT 1")
        assert cur.fetchone() == (1,) and cur.description[0].type_code == 23
        for sql in ("SELECT 3000000000::int AS x", "SELECT 100000::smallint AS x",
                    "SELECT %s::int AS x"):
            for binary in (False, True):
                with pytest.raises(psycopg.errors.NumericValueOutOfRange):
                    conn.cursor(binary=binary).execute(sql, ("3000000000",) if "%s" in sql else None).fetchall()
        assert conn.execute("SELECT 2147483647::int AS x").fetchone() == (2147483647,)


def test_boolean_after_many_integer_items(pgiris, backend):
    sql = "SELECT %s, 1 = 1 AS b" % ", ".join("%d AS c%d" % (i, i) for i in range(1, 130))
    with pgiris.connect(backend) as conn:
        row = conn.execute(sql).fetchone()
        assert row[-1] is True and row[:64] == tuple(range(1, 65))


def test_greatest_and_least_ignore_nulls(pgiris, backend):
    """PostgreSQL's greatest and least skip NULL arguments (SQLite's max(a, b) would be
    NULL), also for parameters, which the SQLite form names twice."""
    with pgiris.connect(backend) as conn:
        for prepare in (False, True):
            row = conn.execute("SELECT greatest(1, NULL, 3) AS g, least(NULL, 2) AS l,"
                               " greatest(NULL::int, NULL) AS n, least(%s::int, 5) AS p,"
                               " greatest(%s::int, NULL, %s::int) AS q",
                               (7, None, 4), prepare=prepare).fetchone()
            assert [None if v is None else int(v) for v in row] == [3, 2, None, 5, 4], prepare
        nine = "SELECT greatest(1, 2, 3, 4, 5, 6, 7, 8, NULL)"
        if backend == "pg":
            assert conn.execute(nine).fetchone() == (8,)
        else:       # refused rather than NULL, which SQLite's max would give
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(nine)


def test_like_is_case_sensitive_and_escapes_with_backslash(pgiris, backend):
    """LIKE is case-sensitive and takes a backslash as its escape, ILIKE ignores case, as in
    PostgreSQL (SQLite's LIKE ignores ASCII case and has no default escape); literal and
    parameter patterns, as Django escapes % and _ in contains lookups."""
    with pgiris.connect(backend) as conn:
        row = conn.execute(r"SELECT 'x' LIKE 'X', 'abc' LIKE 'a%', 'Abc' ILIKE 'a%', 'Abc' NOT ILIKE 'b%',"
                           r" 'a_b' LIKE 'a\_b', 'axb' LIKE 'a\_b', '50%' LIKE '50\%', '50x' LIKE '50\%',"
                           r" 'a\b' LIKE 'a\\b', 'A!' LIKE 'a!' ESCAPE '!'").fetchone()
        assert row == (False, True, True, True, True, False, True, False, True, False)
        words = "SELECT count(*) FROM (SELECT 'Ab' AS v UNION ALL SELECT 'ab' UNION ALL SELECT 'a_x') s WHERE v %s %%s"
        for prepare in (False, True):
            assert conn.execute(words % "LIKE", ("a%",), prepare=prepare).fetchone()[0] == 2
            assert conn.execute(words % "ILIKE", ("a%",), prepare=prepare).fetchone()[0] == 3
            assert conn.execute(words % "LIKE", ("%\\_%",), prepare=prepare).fetchone()[0] == 1
            assert conn.execute(words % "NOT LIKE", ("A%",), prepare=prepare).fetchone()[0] == 2
        row = conn.execute(r"SELECT 'x%' ILIKE 'Xq%' ESCAPE 'q', 'a\b' LIKE 'a\b' ESCAPE ''").fetchone()
        assert row == (True, True)
        with pytest.raises(psycopg.errors.InvalidEscapeSequence):
            conn.execute(r"SELECT 'a\' LIKE 'a\'")


def test_boolean_expressions(pgiris, backend):
    """Comparisons, EXISTS, TRUE and the like reach the client as booleans on both backends
    (SQLite computes them as 0 and 1), through both protocols, text and binary."""
    sql = ("SELECT id > {} AS big, EXISTS (SELECT 1 FROM customers c2 WHERE c2.id = customers.id * 200) AS far,"
           " true AS yes, name IS NULL, id FROM customers WHERE id IN (1, 2) ORDER BY id")
    with pgiris.connect(backend) as conn:
        want = None
        for binary in (False, True):
            for prepare in (False, True):
                with conn.cursor(binary=binary) as cur:
                    rows = cur.execute(sql.format("%s"), (1,), prepare=prepare).fetchall()
                    assert [type(v) for v in rows[0][:4]] == [bool] * 4, (binary, prepare, rows)
                    assert [r[:2] for r in rows] == [(False, True), (True, False)] and [r[2:4] for r in rows] == [(True, False)] * 2
                    assert want is None or rows == want
                    want = rows
        # Casts to boolean: a string as PostgreSQL reads it, a number true unless zero.
        assert conn.execute("SELECT 'yes'::boolean, 'off'::boolean, 5::boolean, 0::boolean").fetchone() == (
            True, False, True, False)
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                assert cur.execute("SELECT %s::boolean, %s::boolean, 5::boolean",
                                   ("yes", "f")).fetchone() == (True, False, True), binary
        # CASE, coalesce and nullif of booleans are booleans.
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                rows = cur.execute(
                    "SELECT CASE WHEN id = 1 THEN true ELSE NULL END, coalesce(NULL, id > 1), nullif(id > 1, %s),"
                    " CASE id WHEN 2 THEN name IS NULL ELSE id < 5 END FROM customers WHERE id IN (1, 2) ORDER BY id",
                    (True,)).fetchall()
                # Compared as types too: Decimal(1) == True in Python.
                assert [[(type(v), v) for v in r] for r in rows] == [
                    [(bool, True), (bool, False), (bool, False), (bool, True)],
                    [(type(None), None), (bool, True), (type(None), None), (bool, False)]], binary
        # A cast to boolean inside a longer expression is not the column's type.
        row = conn.execute("SELECT 'x' || (1 = 1)::text AS s").fetchone()
        assert row[0] in ("xtrue", "x1")
        # The simple protocol, three times: the third runs as its shape (auto_parameterize).
        with psycopg.ClientCursor(conn) as cur:
            for _ in range(3):
                assert cur.execute(sql.format(1)).fetchall() == want


def test_typed_literals(pgiris, backend):
    """type 'string' is PostgreSQL's cast of a literal, for any type name."""
    with pgiris.connect(backend) as conn:
        row = conn.execute("SELECT boolean 'yes', bool 'off', int '5' + 1, bigint '7', double precision '2.5',"
                           " text 'ab' || 'c'").fetchone()
        assert row == (True, False, 6, 7, 2.5, "abc")
        # Decimal(1) == True: the booleans' types too (SQLite's numbers may come as numeric).
        assert [type(v) for v in row[:2]] == [bool, bool]
        assert conn.execute("SELECT count(*) FROM customers WHERE id <= int '3'").fetchone()[0] == 3


def statement_description(c, name, sql):
    """Parse sql as statement name and Describe it; the type OID of each column."""
    c.send(pgwire.message(b"P", name + b"\0" + sql.encode() + b"\0\0\0")
           + pgwire.message(b"D", b"S" + name + b"\0") + pgwire.message(b"S"))
    oids = None
    while True:
        t, payload = c.read_message()
        if t == b"E":
            raise pgwire.ServerError(pgwire.parse_error_fields(payload))
        if t == b"T":
            (count,) = struct.unpack("!H", payload[:2])
            pos, oids = 2, []
            for _ in range(count):
                pos = payload.index(b"\0", pos) + 1
                oids.append(struct.unpack("!I", payload[pos + 6:pos + 10])[0])
                pos += 18
        if t == b"Z":
            return oids


def binary_value(oid, raw):
    """A binary result value of the types these tests meet, as a Python number or str."""
    if oid == 20:
        return struct.unpack("!q", raw)[0]
    if oid == 701:
        return struct.unpack("!d", raw)[0]
    if oid == 1700:
        ndigits, weight, sign, dscale = struct.unpack("!hhHH", raw[:8])
        digits = struct.unpack("!%dH" % ndigits, raw[8:8 + 2 * ndigits])
        value = sum(decimal.Decimal(d) * decimal.Decimal(10000) ** (weight - i) for i, d in enumerate(digits))
        return -value if sign == 0x4000 else value
    assert oid in (25, 1043), "unexpected type %d" % oid
    return raw.decode()


def run_binary(c, name, param):
    """Bind statement name to param with every result column binary, Execute; the raw values."""
    value = param.encode()
    bind = (b"\0" + name + b"\0" + struct.pack("!HHi", 0, 1, len(value)) + value
            + struct.pack("!HH", 1, 1))
    c.send(pgwire.message(b"B", bind) + pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S"))
    rows = []
    while True:
        t, payload = c.read_message()
        if t == b"E":
            raise pgwire.ServerError(pgwire.parse_error_fields(payload))
        if t == b"D":
            (count,) = struct.unpack("!H", payload[:2])
            pos, row = 2, []
            for _ in range(count):
                (length,) = struct.unpack("!i", payload[pos:pos + 4])
                row.append(payload[pos + 4:pos + 4 + length])
                pos += 4 + length
            rows.append(row)
        if t == b"Z":
            return rows


def test_statement_described_before_it_runs_keeps_its_description(pgiris, backend):
    """A client that described a statement (pgx, JDBC) reads every later run's rows, binary
    ones too, by that description, also after another run of it described its portal."""
    sql = "SELECT count(*) AS n, max(id) * 0.5 AS half FROM customers WHERE id > $1"
    with pgwire.login(pgiris, backend) as c:
        oids = statement_description(c, b"s1", sql)
        assert len(oids) == 2
        for _ in range(2):
            rows = run_binary(c, b"s1", "100")
            assert len(rows) == 1
            n, half = (binary_value(oid, raw) for oid, raw in zip(oids, rows[0]))
            assert (int(n), float(half)) == (200, 150.0), (oids, rows)
            # A run that describes its portal, on the same statement text, in between.
            c.send(pgwire.extended_query(sql, ["100"]))
            (described,) = c.read_results()[0][1]
            assert (int(described[0]), float(described[1])) == (200, 150.0)


def test_no_rows(pgiris, backend):
    with pgiris.connect(backend) as conn:
        cur = conn.execute("SELECT id, name FROM customers WHERE id < 0")
        assert [d.name for d in cur.description] == ["id", "name"]
        assert cur.fetchall() == []


def test_unicode_round_trip(pgiris, backend):
    text = "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c \U0001f418"
    with pgiris.connect(backend) as conn:
        assert conn.execute("SELECT '%s'" % text).fetchone() == (text,)


def test_several_statements(pgiris, backend):
    with pgiris.connect(backend) as conn:
        cur = conn.execute("SELECT 'one' AS a; SELECT 'two' AS b, 'three' AS c")
        assert cur.fetchall() == [("one",)]
        assert cur.nextset()
        assert [d.name for d in cur.description] == ["b", "c"]
        assert cur.fetchall() == [("two", "three")]
        assert not cur.nextset()


def test_missing_table(pgiris, backend):
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT * FROM no_such_table_here")
        assert info.value.sqlstate == "42P01"
        assert "no_such_table_here" in str(info.value)
        assert conn.execute("SELECT 'r7'").fetchone() == ("r7",)


def test_syntax_error(pgiris, backend):
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELEC 1")
        assert info.value.sqlstate == "42601"
        assert info.value.diag.severity == "ERROR"
        assert conn.execute("SELECT 'r8'").fetchone() == ("r8",)


def test_error_in_second_statement_stops_the_string(pgiris, backend):
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT 1; SELECT * FROM no_such_table_either; SELECT 3")
        assert info.value.sqlstate == "42P01"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("SELECT 'r9'").fetchone() == ("r9",)


def test_dml_and_unique_violation(pgiris, backend):
    t = table_name()
    with pgiris.connect(backend) as conn:
        conn.execute("CREATE TABLE %s (id INTEGER PRIMARY KEY, v VARCHAR(20))" % t)
        try:
            cur = conn.execute("INSERT INTO %s (id, v) VALUES (1, 'one')" % t)
            assert cur.rowcount == 1
            conn.execute("INSERT INTO %s (id, v) VALUES (2, 'two'), (3, 'three')" % t)
            with pytest.raises(psycopg.Error) as info:
                conn.execute("INSERT INTO %s (id, v) VALUES (2, 'again')" % t)
            assert info.value.sqlstate == "23505"
            cur = conn.execute("UPDATE %s SET v = upper(v) WHERE id >= 2" % t)
            assert cur.rowcount == 2
            cur = conn.execute("DELETE FROM %s WHERE id = 1" % t)
            assert cur.rowcount == 1
            rows = conn.execute("SELECT id, v FROM %s ORDER BY id" % t).fetchall()
            assert rows == [(2, "TWO"), (3, "THREE")]
            assert [tuple(r) for r in pgiris.direct(backend, "SELECT id, v FROM %s ORDER BY id" % t)] == rows
        finally:
            conn.execute("DROP TABLE %s" % t)


def test_empty_query(pgiris, backend):
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        assert c.simple_query("") == [(None, [], "")]
        assert c.simple_query("SELECT 5")[0][1] == [["5"]]


def test_raw_simple_query_many_results(pgiris, backend):
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        results = c.simple_query("SELECT 1 AS one; SELECT 'x' AS ex, NULL AS nada")
        assert results == [(["one"], [["1"]], "SELECT 1"),
                           (["ex", "nada"], [["x", None]], "SELECT 1")]
        assert c.txn_status == b"I"


def test_large_query_text(pgiris, backend):
    # A query of several hundred kB, under max_message_size, must work.
    literal = "x" * 500000
    with pgiris.connect(backend) as conn:
        row = conn.execute("SELECT length('%s'), 'done'" % literal).fetchone()
        assert (int(row[0]), row[1]) == (500000, "done")


def test_unknown_database(pgiris):
    with pgwire.Conn(pgiris.port) as c:
        with pytest.raises(pgwire.ServerError) as info:
            c.startup("demo", "no_such_db", pgiris.users["demo"])
        assert info.value.sqlstate == "3D000"
        assert info.value.fields.get("S") == "FATAL"
        assert 'database "no_such_db" does not exist' in info.value.message
        c.wait_closed(5)
    with pytest.raises(psycopg.OperationalError) as info:
        pgiris.connect("no_such_db")
    assert 'database "no_such_db" does not exist' in str(info.value)


def test_generate_series(pgiris, backend):
    """generate_series in a FROM list gives PostgreSQL's rows and column names on both backends."""
    with pgiris.connect(backend) as conn:
        cur = conn.execute("SELECT * FROM generate_series(1, 3)")
        assert [d.name for d in cur.description] == ["generate_series"]
        assert [int(r[0]) for r in cur.fetchall()] == [1, 2, 3]
        cur = conn.execute("SELECT x, x * 2 AS d FROM generate_series(10, 1, -3) AS g(x)")
        assert [d.name for d in cur.description] == ["x", "d"]
        assert [(int(a), int(b)) for a, b in cur.fetchall()] == [(10, 20), (7, 14), (4, 8), (1, 2)]
        rows = conn.execute("SELECT g FROM generate_series(%s::int, %s::int, %s::int) g", (1, 10, 4)).fetchall()
        assert [int(r[0]) for r in rows] == [1, 5, 9]
        assert conn.execute("SELECT count(*) FROM generate_series(5, 1) g").fetchone()[0] == 0
        assert int(conn.execute("SELECT sum(g) FROM generate_series(1, 100000) g").fetchone()[0]) == 5000050000
        # Joined with a table, and feeding an INSERT.
        n = conn.execute("SELECT count(*) FROM customers c JOIN generate_series(1, 3) g ON g = c.id").fetchone()[0]
        assert n == 3
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT * FROM generate_series(1, 5, 0)")
        assert info.value.sqlstate == "22023"
        # A NULL step gives no rows (the function is strict); a keyword may be the alias.
        assert conn.execute("SELECT * FROM generate_series(5, 1, NULL)").fetchall() == []
        assert [int(r[0]) for r in conn.execute("SELECT level FROM generate_series(1, 2) AS level")] == [1, 2]
    if backend == "demo":
        # Parameters of no declared type come as text: read as numbers, the series ends.
        with pgwire.login(pgiris, backend) as c:
            # At most 10 rows: an endless series stops at PortalSuspended, which read_results refuses.
            batch = pgwire.extended_query("SELECT * FROM generate_series($1, $2)", ["1", "3"])
            batch = batch.replace(pgwire.message(b"E", b"\0\0\0\0\0"), pgwire.message(b"E", b"\0\0\0\0\x0a"))
            c.send(batch)
            assert c.read_results(timeout=10)[0][1] == [["1"], ["2"], ["3"]]


@pytest.mark.parametrize("sql", ["SELECT '{\"a\": 1}'::jsonb ? 'a'", "SELECT '{\"a\": 1}'::jsonb ?| array['a']",
                                 "SELECT '{\"a\": 1}'::jsonb ?& array['a']"])
def test_question_mark_operators_are_refused_clearly(pgiris, backend, sql):
    """Every ODBC driver reads a bare ? as a parameter marker: psqlODBC
    failed with 07002, no PostgreSQL SQLSTATE.  pgiris refuses such an
    operator with 0A000 naming the functions to use, in both protocols;
    a ? in a string, an identifier or a comment is no operator."""
    with pgiris.connect(backend) as conn:
        for params in (None, (1,)):
            text = sql if params is None else sql + " AND %s = 1"
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="jsonb_exists"):
                conn.execute(text, params)
        assert conn.execute("SELECT '?' AS \"q?\" -- ?").fetchone() == ("?",)
        assert conn.execute("SELECT %s::text || '?'", ("a",)).fetchone() == ("a?",)


def test_show_of_a_server_setting_goes_to_postgresql(pgiris):
    """pgiris answers SHOW for the settings it keeps; on PostgreSQL one it
    does not keep (work_mem) is the server's, as a client reached directly
    would see it, tagged SHOW (it was 42704, which in a block aborted it)."""
    with pgiris.connect("pg") as conn:
        expected = pgiris.postgres.query("SHOW work_mem")[0][0]
        for extended in (False, True):
            cur = conn.execute("SHOW work_mem", prepare=extended) if extended else conn.execute("SHOW work_mem")
            assert cur.fetchone() == (expected,)
            assert cur.statusmessage == "SHOW"
        conn.execute("BEGIN")
        assert conn.execute("SHOW work_mem").fetchone() == (expected,)
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
        conn.execute("COMMIT")
        assert conn.execute("EXPLAIN SELECT 1").statusmessage == "EXPLAIN"
    with pgiris.connect("demo") as conn:
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute("SHOW work_mem")
