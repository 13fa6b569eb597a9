"""Differential tests: the same statements on PostgreSQL (directly) and on
pgiris's SQLite database `demo`, compared by value and by column type.

test_matches runs the cases that agree; the NULL ordering tests pin a
difference this comparison found (SQLite sorts NULL first in ascending
order).  The differences left, from SQLite's types, are listed in the
README.
"""

import datetime
import decimal
import re

import psycopg
import pytest
from psycopg.adapt import Loader

D = decimal.Decimal

SETUP = [
    "CREATE TABLE sd_t (id integer PRIMARY KEY, a integer, b text, n numeric(10,2), d date,"
    " ts timestamp, flag boolean, g varchar(10))",
    "INSERT INTO sd_t VALUES (1, 10, 'apple', 1.25, '2024-01-15', '2024-01-15 10:30:00', true, 'x')",
    "INSERT INTO sd_t VALUES (2, -7, 'Banana', 2.50, '2024-02-29', '2024-02-29 23:59:59', false, 'x')",
    "INSERT INTO sd_t VALUES (3, NULL, 'cherry ', NULL, NULL, NULL, NULL, 'y')",
    "INSERT INTO sd_t VALUES (4, 3, NULL, 10.00, '2023-12-31', '2023-12-31 00:00:00', true, 'y')",
    "INSERT INTO sd_t VALUES (5, 0, '\u00c4rger', -3.75, '2024-03-01', '2024-03-01 12:00:00', false, NULL)",
    "INSERT INTO sd_t VALUES (6, 10, 'a_b%c', 0.10, '2024-01-15', '2024-01-15 08:00:00', true, 'z')",
]
# Recreated inside each DML case's transaction, so PostgreSQL's sequence
# (which a ROLLBACK does not reset) starts afresh every time.
SD_U = [
    "DROP TABLE IF EXISTS sd_u",
    "CREATE TABLE sd_u (id serial PRIMARY KEY, k text UNIQUE, v integer DEFAULT 5,"
    " created boolean DEFAULT false)",
    "INSERT INTO sd_u (k, v) VALUES ('one', 1), ('two', 2)",
]
TEARDOWN = ["DROP TABLE IF EXISTS sd_t", "DROP TABLE IF EXISTS sd_u"]

CAT = {16: "bool", 20: "int", 21: "int", 23: "int", 1700: "num", 700: "float", 701: "float",
       25: "text", 1043: "text", 1042: "text", 1082: "date", 1114: "ts", 1184: "tstz",
       1186: "interval", 114: "json", 3802: "json", 17: "bytea", 2950: "uuid"}
NUM = {"int", "num", "float"}


class RawLoader(Loader):
    """Values as the text the server sent, so nothing fails to load client-side."""

    def load(self, data):
        return bytes(data).decode()


RAW = ["int2", "int4", "int8", "numeric", "float4", "float8", "bool", "date", "timestamp",
       "timestamptz", "time", "interval", "json", "jsonb", "text", "varchar", "bpchar", "uuid"]


def rawify(conn):
    for t in RAW:
        conn.adapters.register_loader(t, RawLoader)


def normv(v, cat):
    """A value as a client would compare it: numbers by value, timestamps by instant text."""
    if v is None:
        return None
    if cat in NUM:
        try:
            return ("n", D(v).normalize())
        except decimal.InvalidOperation:
            return v
    if cat in ("ts", "date", "tstz"):
        m = re.match(r"^(\d{4}-\d\d-\d\d)(?:[ T](\d\d:\d\d:\d\d)(\.\d+)?)?", v)
        if m:
            frac = (m.group(3) or "").rstrip("0").rstrip(".")
            return ("t", m.group(1), m.group(2) or "00:00:00", frac)
    return v


def run(conn, stmts, names=False):
    out = []
    for item in stmts:
        sql, params = (item, None) if isinstance(item, str) else item
        try:
            cur = conn.execute(sql, params)
        except psycopg.Error as e:
            out.append(("error", e.sqlstate))
            break
        if cur.description:
            cats = [CAT.get(d.type_code, str(d.type_code)) for d in cur.description]
            rows = [[normv(v, cats[i]) for i, v in enumerate(row)] for row in cur.fetchall()]
            out.append((cats, rows) if not names else [d.name for d in cur.description])
        else:
            out.append(("rowcount", cur.rowcount))
    return out


def both(sides, stmts, tx=False, names=False):
    """(PostgreSQL's, pgiris-on-SQLite's) results of the statements."""
    res = []
    for conn in sides:
        if tx:
            conn.execute("BEGIN")
            for s in SD_U:
                conn.execute(s)
        try:
            res.append(run(conn, stmts, names))
        finally:
            if tx:
                conn.execute("ROLLBACK")
    return tuple(res)


def same(sides, *stmts, tx=False):
    pg, sq = both(sides, list(stmts), tx)
    assert sq == pg, "pgiris-on-SQLite (left) differs from PostgreSQL (right)"


@pytest.fixture(scope="module")
def sides(pgiris):
    pgc = pgiris.postgres.connect()
    sq = pgiris.connect("demo")
    for c in (pgc, sq):
        rawify(c)
        for s in TEARDOWN + SETUP + SD_U:
            c.execute(s)
    yield pgc, sq
    for c in (pgc, sq):
        for s in TEARDOWN:
            c.execute(s)
        c.close()


CASES = []


def Q(name, sql, params=None):
    CASES.append(pytest.param([(sql, params)], False, id=name))


def T(name, *stmts):
    CASES.append(pytest.param(list(stmts), True, id=name))


# strings
Q("lower_upper_ascii", "SELECT lower('HeLLo'), upper('HeLLo')")
Q("length_col", "SELECT id, length(b) FROM sd_t ORDER BY id")
Q("trim", "SELECT trim('  x  '), ltrim('  x'), rtrim('x  '), trim(both 'x' from 'xxaxx'), trim(leading 'x' from 'xxaxx'), trim(trailing 'x' from 'xxaxx')")
Q("btrim", "SELECT btrim('xxaxx', 'x')")
Q("substring_for", "SELECT substring('hello' from 2 for 3), substring('hello', 2), substring('hello', 2, 2), substr('hello', 2, 3)")
Q("substring_zero", "SELECT substring('hello' from 0 for 3), substring('hello', 0, 3), substr('hello', 0, 2)")
Q("substring_multibyte", "SELECT substring('Ärger', 1, 2)")
Q("position", "SELECT position('l' in 'hello'), strpos('hello', 'lo'), position('z' in 'hello')")
Q("replace", "SELECT replace('aXbXc', 'X', '-')")
Q("concat_col", "SELECT id, b || '-' || a FROM sd_t ORDER BY id")
Q("format", "SELECT format('%s-%s', 'a', 1)")
# LIKE
Q("like_underscore", "SELECT id FROM sd_t WHERE b LIKE '_pple' ORDER BY id")
Q("like_percent", "SELECT id FROM sd_t WHERE b LIKE '%an%' ORDER BY id")
Q("like_case", "SELECT id FROM sd_t WHERE b LIKE 'b%' ORDER BY id")
Q("ilike", "SELECT id FROM sd_t WHERE b ILIKE 'b%' ORDER BY id")
Q("like_escape_backslash", "SELECT id FROM sd_t WHERE b LIKE 'a\\_b%' ORDER BY id")
Q("like_escape_clause", "SELECT id FROM sd_t WHERE b LIKE 'a!_b!%c' ESCAPE '!' ORDER BY id")
Q("not_like_null", "SELECT count(*) FROM sd_t WHERE b NOT LIKE 'a%'")
Q("like_trailing_space", "SELECT id FROM sd_t WHERE b LIKE 'cherry' ORDER BY id")
Q("eq_trailing_space_text", "SELECT id FROM sd_t WHERE b = 'cherry' ORDER BY id")
Q("varchar_trailing", "SELECT 'a '::varchar = 'a'")
Q("text_compare_case", "SELECT 'a' < 'B', 'abc' < 'abd'")
# arithmetic
Q("round_int", "SELECT round(7), round(7 / 2)")
Q("numeric_typmod_insert", "SELECT n FROM sd_t WHERE id = 6")
# casts
Q("cast_text_int_space", "SELECT ' 12 '::int")
Q("cast_bool_int", "SELECT true::int, 1::boolean, 0::boolean")
Q("cast_text_bool", "SELECT 't'::boolean, 'off'::boolean, 'yes'::bool")
Q("cast_date_text", "SELECT '2024-01-15'::date::text")
Q("cast_float_text", "SELECT 0.1::float8, 1e20::float8, 100.0::float8")
Q("cast_timestamp_text", "SELECT '2024-01-15 10:30:00'::timestamp::text")
# NULL semantics
Q("in_null", "SELECT 1 IN (1, NULL), 2 IN (1, NULL), 2 NOT IN (1, NULL)")
Q("not_in_subquery_null", "SELECT count(*) FROM sd_t WHERE id NOT IN (SELECT a FROM sd_t)")
Q("count_col_star", "SELECT count(*), count(a), count(b), count(DISTINCT a) FROM sd_t")
Q("string_agg", "SELECT string_agg(g, ',') FROM (SELECT g FROM sd_t WHERE g IS NOT NULL ORDER BY id) s")
Q("is_distinct", "SELECT NULL IS DISTINCT FROM NULL, 1 IS DISTINCT FROM NULL, 1 IS NOT DISTINCT FROM 1")
Q("null_eq", "SELECT NULL = NULL, NULL IS NULL")
Q("null_concat_agg", "SELECT count(*) FROM sd_t WHERE b <> 'apple'")
# ORDER BY / NULLs
Q("order_nulls_first", "SELECT id FROM sd_t ORDER BY a NULLS FIRST, id")
Q("order_nulls_last_desc", "SELECT id FROM sd_t ORDER BY a DESC NULLS LAST, id")
Q("order_text_case", "SELECT b FROM sd_t WHERE b IS NOT NULL ORDER BY b")
# windows
Q("first_value", "SELECT id, first_value(b) OVER (PARTITION BY g ORDER BY id) FROM sd_t ORDER BY id")
Q("ntile", "SELECT id, ntile(2) OVER (ORDER BY id) FROM sd_t ORDER BY id")
Q("count_over", "SELECT id, count(*) OVER () FROM sd_t ORDER BY id")
# CTEs, subqueries
Q("cte", "WITH x AS (SELECT id, a FROM sd_t WHERE a > 0) SELECT count(*) FROM x")
Q("exists", "SELECT id FROM sd_t t WHERE EXISTS (SELECT 1 FROM sd_u u WHERE u.v = t.a) ORDER BY id")
Q("exists_select", "SELECT EXISTS (SELECT 1 FROM sd_t WHERE a > 5)")
Q("in_subquery", "SELECT id FROM sd_t WHERE a IN (SELECT v FROM sd_u) ORDER BY id")
Q("union_all", "SELECT a FROM sd_t WHERE id < 3 UNION ALL SELECT a FROM sd_t WHERE id < 3 ORDER BY 1")
Q("union_int_text_types", "SELECT 1 AS x UNION ALL SELECT 2.5 ORDER BY 1")
Q("case", "SELECT id, CASE WHEN a > 5 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'other' END FROM sd_t ORDER BY id")
Q("between", "SELECT id FROM sd_t WHERE a BETWEEN 0 AND 10 ORDER BY id")
Q("between_dates", "SELECT id FROM sd_t WHERE d BETWEEN '2024-01-01' AND '2024-02-29' ORDER BY id")
Q("between_ts_date", "SELECT id FROM sd_t WHERE ts BETWEEN '2024-01-15' AND '2024-02-29' ORDER BY id")
Q("ts_eq_date", "SELECT id FROM sd_t WHERE ts >= '2024-02-29' ORDER BY id")
Q("ts_lt_date_literal", "SELECT id FROM sd_t WHERE ts < '2024-01-16' ORDER BY id")
Q("ts_cmp_timestamp_literal", "SELECT id FROM sd_t WHERE ts > timestamp '2024-01-15 09:00' ORDER BY id")
Q("ts_date_cast_eq", "SELECT id FROM sd_t WHERE ts::date = '2024-01-15' ORDER BY id")
# dates
Q("current_date_type", "SELECT current_date = current_date, now() >= current_date")
Q("interval_where", "SELECT id FROM sd_t WHERE ts > '2024-03-01'::timestamp - interval '30 days' ORDER BY id")
Q("extract_parts", "SELECT extract(year from ts), extract(month from ts), extract(day from ts), extract(hour from ts) FROM sd_t WHERE id = 1")
Q("extract_dow", "SELECT id, extract(dow from d), extract(doy from d) FROM sd_t ORDER BY id")
Q("extract_quarter", "SELECT extract(quarter from '2024-05-01'::date)")
Q("timestamptz_cmp", "SELECT '2024-01-15 10:00:00+02'::timestamptz = '2024-01-15 08:00:00+00'::timestamptz")
Q("date_select", "SELECT d, ts FROM sd_t WHERE id = 1")
Q("date_order", "SELECT id FROM sd_t ORDER BY d DESC NULLS LAST, id")
Q("current_timestamp_type", "SELECT current_timestamp IS NOT NULL, localtimestamp IS NOT NULL")
# booleans
Q("bool_select", "SELECT id, flag FROM sd_t ORDER BY id")
Q("bool_where", "SELECT id FROM sd_t WHERE flag ORDER BY id")
Q("bool_where_not", "SELECT id FROM sd_t WHERE NOT flag ORDER BY id")
Q("bool_eq_true", "SELECT id FROM sd_t WHERE flag = true ORDER BY id")
Q("bool_is_true", "SELECT id FROM sd_t WHERE flag IS TRUE ORDER BY id")
Q("bool_is_not_false", "SELECT id FROM sd_t WHERE flag IS NOT FALSE ORDER BY id")
Q("bool_count_filter", "SELECT count(*) FILTER (WHERE flag), count(*) FILTER (WHERE a > 0) FROM sd_t")
Q("bool_expr_col", "SELECT id, a > 5 FROM sd_t ORDER BY id")
# limit/offset
Q("limit_offset", "SELECT id FROM sd_t ORDER BY id LIMIT 2 OFFSET 3")
Q("offset_only", "SELECT id FROM sd_t ORDER BY id OFFSET 4")
Q("fetch_first", "SELECT id FROM sd_t ORDER BY id FETCH FIRST 2 ROWS ONLY")
Q("limit_all", "SELECT count(*) FROM (SELECT id FROM sd_t ORDER BY id LIMIT ALL) s")
Q("limit_param", "SELECT id FROM sd_t ORDER BY id LIMIT %s OFFSET %s", (2, 1))
# generate_series
# JSON
# misc
Q("text_num_cmp_col", "SELECT id FROM sd_t WHERE g = 'x' AND a > '5' ORDER BY id")
Q("text_col_vs_int", "SELECT count(*) FROM sd_t WHERE id = '1'")
Q("count_distinct_multi", "SELECT count(DISTINCT g), count(DISTINCT flag) FROM sd_t")
Q("join_using", "SELECT t.id, u.k FROM sd_t t JOIN sd_u u ON u.v = t.a ORDER BY t.id")
Q("left_join_null", "SELECT t.id, u.k FROM sd_t t LEFT JOIN sd_u u ON u.v = t.a ORDER BY t.id")
Q("full_join", "SELECT count(*) FROM sd_t t FULL JOIN sd_u u ON u.v = t.a")
Q("cast_in_where_text_col", "SELECT id FROM sd_t WHERE a::text = '10' ORDER BY id")
Q("numeric_col_values", "SELECT id, n FROM sd_t ORDER BY id")
Q("numeric_eq", "SELECT id FROM sd_t WHERE n = 2.5 ORDER BY id")
Q("numeric_eq_text", "SELECT id FROM sd_t WHERE n = '2.50' ORDER BY id")
# parameters (extended protocol)
Q("param_int", "SELECT id FROM sd_t WHERE a = %s ORDER BY id", (10,))
Q("param_text", "SELECT id FROM sd_t WHERE b = %s ORDER BY id", ("apple",))
Q("param_text_echo", "SELECT %s::text, %s", ("x", "y"))
Q("param_numeric", "SELECT id FROM sd_t WHERE n = %s ORDER BY id", (D("2.50"),))
Q("param_bool", "SELECT id FROM sd_t WHERE flag = %s ORDER BY id", (True,))
Q("param_bool_false", "SELECT id FROM sd_t WHERE flag = %s ORDER BY id", (False,))
Q("param_bool_echo", "SELECT %s::boolean, NOT %s", (True, True))
Q("param_date", "SELECT id FROM sd_t WHERE d = %s ORDER BY id", (datetime.date(2024, 1, 15),))
Q("param_date_range", "SELECT id FROM sd_t WHERE d >= %s AND d < %s ORDER BY id", (datetime.date(2024, 1, 1), datetime.date(2024, 3, 1)))
Q("param_ts", "SELECT id FROM sd_t WHERE ts = %s ORDER BY id", (datetime.datetime(2024, 1, 15, 10, 30),))
Q("param_ts_range", "SELECT id FROM sd_t WHERE ts >= %s ORDER BY id", (datetime.datetime(2024, 1, 15),))
Q("param_tstz", "SELECT id FROM sd_t WHERE ts < %s ORDER BY id", (datetime.datetime(2024, 1, 15, 10, 0, tzinfo=datetime.timezone.utc),))
Q("param_null", "SELECT id FROM sd_t WHERE a IS NOT DISTINCT FROM %s ORDER BY id", (None,))
Q("param_like", "SELECT id FROM sd_t WHERE b LIKE %s ORDER BY id", ("%an%",))
Q("param_in_list", "SELECT id FROM sd_t WHERE id IN (%s, %s) ORDER BY id", (1, 3))
Q("param_float", "SELECT %s * 2", (1.5,))
Q("param_int_text_compare", "SELECT id FROM sd_t WHERE g = %s ORDER BY id", ("x",))
Q("param_limit", "SELECT id FROM sd_t ORDER BY id LIMIT %s", (3,))
Q("param_numeric_col_cmp", "SELECT id FROM sd_t WHERE n > %s ORDER BY id", (D("1.5"),))
Q("param_text_int_col", "SELECT id FROM sd_t WHERE a = %s::int ORDER BY id", ("10",))
# DML
T("insert_returning", "INSERT INTO sd_u (k) VALUES ('three') RETURNING id, k, v, created")
T("update_returning", "UPDATE sd_u SET v = v + 10 WHERE k = 'one' RETURNING id, v")
T("update_rowcount", "UPDATE sd_t SET a = a WHERE a > 0")
T("update_no_match", "UPDATE sd_t SET a = 1 WHERE id > 100")
T("delete_returning", "DELETE FROM sd_u WHERE k = 'two' RETURNING *")
T("on_conflict_nothing", "INSERT INTO sd_u (k, v) VALUES ('one', 9) ON CONFLICT DO NOTHING", "SELECT k, v FROM sd_u ORDER BY id")
T("on_conflict_nothing_returning", "INSERT INTO sd_u (k, v) VALUES ('one', 9) ON CONFLICT (k) DO NOTHING RETURNING id")
T("on_conflict_update", "INSERT INTO sd_u (k, v) VALUES ('one', 9) ON CONFLICT (k) DO UPDATE SET v = excluded.v RETURNING id, k, v")
T("on_conflict_update_expr", "INSERT INTO sd_u (k, v) VALUES ('one', 9) ON CONFLICT (k) DO UPDATE SET v = sd_u.v + excluded.v", "SELECT k, v FROM sd_u ORDER BY id")
T("on_conflict_update_where", "INSERT INTO sd_u (k, v) VALUES ('one', 9) ON CONFLICT (k) DO UPDATE SET v = excluded.v WHERE sd_u.v > 5 RETURNING v")
T("on_conflict_multi", "INSERT INTO sd_u (k, v) VALUES ('one', 9), ('new', 3) ON CONFLICT (k) DO UPDATE SET v = excluded.v", "SELECT k, v FROM sd_u ORDER BY id")
T("update_from", "UPDATE sd_t SET a = u.v FROM sd_u u WHERE u.k = 'one' AND sd_t.id = 1", "SELECT a FROM sd_t WHERE id = 1")
T("insert_select", "INSERT INTO sd_u (k, v) SELECT b, a FROM sd_t WHERE id IN (1, 2)", "SELECT k, v FROM sd_u ORDER BY id")
T("insert_bool_text", "UPDATE sd_t SET flag = 'yes' WHERE id = 2", "SELECT flag FROM sd_t WHERE id = 2")
T("insert_bool_param", ("UPDATE sd_t SET flag = %s WHERE id = 2", (True,)), "SELECT id FROM sd_t WHERE flag ORDER BY id")
T("insert_date_param", ("UPDATE sd_t SET d = %s WHERE id = 2", (datetime.date(2025, 5, 6),)), "SELECT d FROM sd_t WHERE id = 2", "SELECT id FROM sd_t WHERE d > '2025-01-01'")
T("insert_ts_param", ("UPDATE sd_t SET ts = %s WHERE id = 2", (datetime.datetime(2025, 5, 6, 7, 8, 9),)), "SELECT ts FROM sd_t WHERE id = 2", "SELECT id FROM sd_t WHERE ts > '2025-05-06'")
T("insert_tstz_param", ("UPDATE sd_t SET ts = %s WHERE id = 2", (datetime.datetime(2025, 5, 6, 7, 8, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),)), "SELECT ts FROM sd_t WHERE id = 2")
T("insert_ts_now", "UPDATE sd_t SET ts = now() WHERE id = 1", "SELECT count(*) FROM sd_t WHERE ts > '2024-06-01' AND ts < now() + interval '1 minute'")
T("insert_date_current", "UPDATE sd_t SET d = current_date WHERE id = 1", "SELECT count(*) FROM sd_t WHERE d = current_date")
T("insert_ts_iso_T", "UPDATE sd_t SET ts = '2024-05-01T10:00:00' WHERE id = 1", "SELECT ts FROM sd_t WHERE id = 1", "SELECT count(*) FROM sd_t WHERE ts > '2024-05-01 09:00'")
T("insert_ts_tz_literal", "UPDATE sd_t SET ts = '2024-05-01 10:00:00+02' WHERE id = 1", "SELECT ts FROM sd_t WHERE id = 1")
T("insert_text_trailing", "UPDATE sd_t SET g = 'ab  ' WHERE id = 1", "SELECT length(g), g = 'ab' FROM sd_t WHERE id = 1")
T("select_for_update", "SELECT id FROM sd_u WHERE k = 'one' FOR UPDATE")
T("upsert_count", "INSERT INTO sd_u (k, v) VALUES ('one', 9), ('zz', 1) ON CONFLICT DO NOTHING")
T("check_constraint_default", "CREATE TABLE sd_x (id int, s text DEFAULT 'a', t timestamp DEFAULT now(), b boolean DEFAULT true)", "INSERT INTO sd_x (id) VALUES (1)", "SELECT s, t IS NOT NULL, b FROM sd_x")
T("default_current_date", "CREATE TABLE sd_y (id int, d date DEFAULT current_date, n numeric(5,2) DEFAULT 1.5)", "INSERT INTO sd_y (id) VALUES (1)", "SELECT d = current_date, n FROM sd_y")
T("identity", "CREATE TABLE sd_z (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, s text)", "INSERT INTO sd_z (s) VALUES ('a'), ('b') RETURNING id")
T("bigserial", "CREATE TABLE sd_w (id bigserial PRIMARY KEY, s text)", "INSERT INTO sd_w (s) VALUES ('a') RETURNING id", "INSERT INTO sd_w (s) VALUES ('b') RETURNING id")
# ---- round 2
Q("r2_ts_eq_date_col", "SELECT id FROM sd_t WHERE ts >= d ORDER BY id")
Q("r2_param_ts_eq_nomicro", "SELECT id FROM sd_t WHERE ts = %s ORDER BY id", (datetime.datetime(2024, 1, 15, 10, 30, 0, 0),))
Q("r2_bool_coalesce", "SELECT id, coalesce(flag, false) FROM sd_t ORDER BY id")
Q("r2_bool_not_col", "SELECT id, NOT flag FROM sd_t ORDER BY id")
Q("r2_bool_case_text", "SELECT id, CASE WHEN flag THEN 'yes' ELSE 'no' END FROM sd_t ORDER BY id")
Q("r2_bool_param_text", "SELECT id FROM sd_t WHERE flag = %s::boolean ORDER BY id", ("true",))
Q("r2_order_max_nulls", "SELECT id, a FROM sd_t ORDER BY a DESC NULLS FIRST, id")
Q("r2_extract_epoch_now", "SELECT abs(extract(epoch from now()) - extract(epoch from current_timestamp)) < 5")
Q("r2_now_vs_localtime", "SELECT now()::date = current_date")
Q("r2_ts_order", "SELECT id FROM sd_t ORDER BY ts DESC NULLS LAST, id")
Q("r2_string_num_sort", "SELECT b FROM sd_t WHERE b IS NOT NULL ORDER BY lower(b)")
Q("r2_concat_date_col", "SELECT id, 'd=' || d FROM sd_t WHERE id = 1")
Q("r2_numeric_eq_float", "SELECT id FROM sd_t WHERE n = 0.1 ORDER BY id")
Q("r2_min_text_num", "SELECT min(g), max(b) FROM sd_t")
Q("r2_length_null", "SELECT length(''), length(NULL), '' IS NULL")
Q("r2_exists_param", "SELECT EXISTS (SELECT 1 FROM sd_t WHERE a = %s)", (3,))
Q("r2_in_param_text", "SELECT id FROM sd_t WHERE g IN (%s, %s) ORDER BY id", ("x", "z"))
Q("r2_ts_str_param", "SELECT id FROM sd_t WHERE ts >= %s::timestamp ORDER BY id", ("2024-01-15T10:30:00",))
Q("r2_ts_param_T", "SELECT id FROM sd_t WHERE ts = %s::timestamp ORDER BY id", ("2024-01-15 10:30",))
T("r2_tstz_col_param", "CREATE TABLE sd_tz (id int, t timestamptz)", ("INSERT INTO sd_tz VALUES (1, %s), (2, %s)", (datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.timezone(datetime.timedelta(hours=2))), datetime.datetime(2024, 5, 1, 9, tzinfo=datetime.timezone.utc))), "SELECT id FROM sd_tz ORDER BY t")
T("r2_default_ts_now", "CREATE TABLE sd_x (id int, t timestamp DEFAULT now(), t2 timestamp DEFAULT CURRENT_TIMESTAMP)", "INSERT INTO sd_x (id) VALUES (1)", "SELECT count(*) FROM sd_x WHERE t <= now() AND t2 <= now() AND t > now() - interval '1 minute'")
T("r2_on_conflict_rowcount_update", "INSERT INTO sd_u (k, v) VALUES ('one', 9), ('two', 8), ('new', 1) ON CONFLICT (k) DO UPDATE SET v = excluded.v")


@pytest.mark.parametrize("stmts,tx", CASES)
def test_matches(sides, stmts, tx):
    pg, sq = both(sides, stmts, tx)
    assert pg and "error" not in pg[-1], "PostgreSQL failed: %r" % (pg,)
    assert sq == pg


# -- where NULL sorts --------------------------------------------------------------

def test_null_sort_order(sides):
    """PostgreSQL sorts NULL as larger than every value (last in ASC, first in
    DESC); SQLite sorts it smallest, unless told NULLS FIRST/LAST: plain ORDER
    BY, ORDER BY ... DESC LIMIT 1, ORDER BY after DISTINCT, GROUP BY or UNION,
    and a window's ORDER BY (row_number, rank)."""
    same(sides, "SELECT id FROM sd_t ORDER BY a, id")


def test_null_sort_order_desc_limit(sides):
    """id 3: a IS NULL comes first in DESC (SQLite's own order gave id 1)."""
    same(sides, "SELECT id FROM sd_t ORDER BY a DESC LIMIT 1")


def test_null_sort_order_window(sides):
    same(sides, "SELECT id, row_number() OVER (ORDER BY a) FROM sd_t ORDER BY id",
         "SELECT id, rank() OVER (ORDER BY a) FROM sd_t ORDER BY id")


def test_null_sort_order_group_distinct_union(sides):
    same(sides, "SELECT g, count(*) FROM sd_t GROUP BY g ORDER BY g",
         "SELECT DISTINCT g FROM sd_t ORDER BY g",
         "SELECT g FROM sd_t UNION SELECT 'x' ORDER BY 1")
