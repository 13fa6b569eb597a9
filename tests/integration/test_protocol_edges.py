"""Protocol edges against PostgreSQL itself: aborted blocks, statements
that failed to run, casts that type parameters, FunctionCall in a batch,
format codes, startup options.  What pgiris still does differently is a
strict xfail naming the cause.

Flows reuse test_wire_diff's helpers: the same raw messages go to
PostgreSQL directly and to pgiris's `pg` database.
"""

import struct
from decimal import Decimal

import pytest

import pgwire
from test_wire_diff import B, C, D, E, P, S, both, flow_diff, read_step, tables  # noqa: F401

m = pgwire.message


def defect(reason):
    return pytest.mark.xfail(strict=True, reason=reason)


def F(oid=0):
    """FunctionCall of function oid with no arguments."""
    return m(b"F", struct.pack("!IHHH", oid, 0, 0, 0))


def assert_same(pgiris, steps):
    direct, proxied = both(pgiris, steps)
    assert proxied == direct, flow_diff(direct, proxied)


# -- a simple Query the lexer refuses aborts the block ------------------------------------

def test_lexer_error_in_block_aborts_it(tables):
    assert_same(tables, [
        ("BEGIN", 1),
        ("INSERT INTO {t} VALUES (1)", 1),
        ("SELECT 'unterminated", 1),
        ("COMMIT", 1),
        ("SELECT count(*) FROM {t}", 1),
    ])


# -- a statement that ran is kept when a later prepare fails -------------------------------

def test_statement_survives_a_failed_run(tables):
    direct, proxied = both(tables, [
        ("DROP TABLE IF EXISTS {t}_x", 1),
        ("CREATE TABLE {t}_x (a int)", 1),
        (P("SELECT a FROM {t}_x", "s") + B("", "s") + E() + S, 1),
        ("DROP TABLE {t}_x", 1),
        (B("", "s") + E() + S, 1),
        ("CREATE TABLE {t}_x (a int)", 1),
        (B("", "s") + E() + S, 1),
        ("DROP TABLE {t}_x", 1),
    ])
    assert direct[4] == [("E", "42P01"), ("Z", "I")]
    assert proxied[4] == ["2", ("E", "42P01"), ("Z", "I")]      # documented: after BindComplete
    assert proxied[6] == direct[6] == ["2", ("C", "SELECT 0"), ("Z", "I")]


# -- cast inference: arrays and zoned times ------------------------------------------------

# $1::int4[], CAST($1 AS int4[]) and $1::bigint[] were bound as their element type at
# 5605679 (22P02 for '{1,2}', which ran before); c61f2a8 fixed the brackets, not SQL's ARRAY.
@pytest.mark.parametrize("sql,value", [
    ("SELECT $1::int4[] AS a", "{1,2}"),
    ("SELECT CAST($1 AS int4[]) AS a", "{1,2}"),
    ("SELECT count(*) FROM {t} WHERE id = ANY($1::bigint[])", "{1,2}"),
    pytest.param("SELECT $1::int4 ARRAY AS a", "{1,2}"),
])
def test_array_cast_is_not_its_element_type(tables, sql, value):
    assert_same(tables, [(P(sql, "s") + B("", "s", params=(value,)) + E() + S, 1)])


# The ParameterDescription alone (the column's type is psqlODBC's mapping, varchar, before and after).
def param_description(pgiris, sql):
    direct, proxied = both(pgiris, [(P(sql, "s") + D("S", "s") + S, 1)])
    return [x for x in direct[0] if x[0] == "t"], [x for x in proxied[0] if x[0] == "t"]


# Described as time (1083) at 5605679; c61f2a8 knows "time with time zone".
def test_time_with_time_zone_cast(tables):
    direct, proxied = param_description(tables, "SELECT $1::time with time zone AS a")
    assert proxied == direct == [("t", (1266,))]


def test_timestamp_precision_with_time_zone_cast(tables):
    direct, proxied = param_description(tables, "SELECT $1::timestamp(3) with time zone AS a")
    assert proxied == direct == [("t", (1184,))]


def test_cast_inference_first_use_wins(tables):
    direct, proxied = param_description(tables, "SELECT v FROM {t} WHERE v = $1 OR id = $1::int4")
    assert proxied == direct == [("t", (25,))]


# -- FunctionCall ---------------------------------------------------------------------------

def test_function_call_after_error_waits_for_sync(tables):
    direct, proxied = both(tables, [
        (P("SELECT 1/g FROM generate_series(0, 0) g") + B() + E() + F() + S, 1),
        ("SELECT 1", 1),
    ])
    assert proxied == direct, flow_diff(direct, proxied)


def test_function_call_reply_not_held(tables):
    direct, proxied = both(tables, [(P("SELECT 1") + B() + F(), 1), (S, 1)])
    # PostgreSQL's error code differs (42883, no function 0; pgiris 0A000): compare the shape.
    assert [x[0] for x in proxied[0]] == [x[0] for x in direct[0]]


# -- Bind format codes ----------------------------------------------------------------------

def test_format_code_without_parameters(tables):
    assert_same(tables, [(P("SELECT 1") + B(pfmts=(2,)) + E() + S, 1)])


# -- startup options ------------------------------------------------------------------------

def _app_name(port, user, db, password, opts):
    c = pgwire.Conn(port)
    try:
        c.startup(user, db, password, extra={"options": opts})
        return c.simple_query("SHOW application_name")[-1][1][0][0]
    finally:
        c.close()


def test_options_trailing_backslash(pgiris):
    opts = "-c application_name=foo\\"
    assert _app_name(pgiris.postgres.port, "postgres", "postgres", None, opts) == "foo"
    assert _app_name(pgiris.port, "demo", "pg", pgiris.users["demo"], opts) == "foo"


# -- a SHOW of a setting only the server knows goes to it --------------------------------

def test_show_known_setting_in_block(tables):
    assert_same(tables, [("BEGIN", 1), ("INSERT INTO {t} VALUES (1)", 1), ("SHOW work_mem", 1),
                         ("COMMIT", 1), ("SELECT count(*) FROM {t}", 1)])


# -- SQLite: a run without Describe typed other than the client was told -------------------

def _read(c):
    out = []
    while True:
        t, payload = c.read_message(5)
        if t == b"T":
            end = payload.index(b"\0", 2)
            out.append(("T", struct.unpack("!I", payload[end + 7:end + 11])[0]))
        elif t == b"D":
            (n,) = struct.unpack("!i", payload[2:6])
            out.append(("D", payload[6:6 + n] if n >= 0 else None))
        elif t == b"E":
            out.append(("E", pgwire.parse_error_fields(payload).get("C")))
        elif t == b"Z":
            return out
        else:
            out.append(t.decode())


def _numeric_binary(b):
    if len(b) < 8 or len(b) != 8 + 2 * struct.unpack("!h", b[:2])[0]:
        return None             # not numeric's binary form
    ndigits, weight, sign, dscale = struct.unpack("!hhHh", b[:8])
    digits = struct.unpack("!%dh" % ndigits, b[8:8 + 2 * ndigits])
    v = Decimal(0)
    for i, d in enumerate(digits):
        v += Decimal(d) * Decimal(10000) ** (weight - i)
    return -v if sign == 0x4000 else v


@defect("odbc_sqlite_portal_cols probes again when the values' kinds change (a NULL): the "
        "client was told numeric, the rows come as float8's 8 bytes, no RowDescription")
def test_sqlite_run_without_describe_keeps_the_told_type(pgiris):
    c = pgwire.login(pgiris, "demo")
    try:
        c.simple_query("DROP TABLE IF EXISTS rv22")
        c.simple_query("CREATE TABLE rv22 (k integer, x)")
        c.simple_query("INSERT INTO rv22 VALUES (1, 1), (1, 2), (2, 1.5)")
        sql = "SELECT sum(x) AS s FROM rv22 WHERE k = $1 OR k = $2"
        c.send(P(sql, "s") + B("", "s", params=("1", "1"), rfmts=(1,)) + D("P") + E() + S)
        first = _read(c)
        assert ("T", 1700) in first                     # told: numeric, binary
        c.send(B("", "s", params=("2", None), rfmts=(1,)) + E() + S)
        rows = [x[1] for x in _read(c) if isinstance(x, tuple) and x[0] == "D"]
        assert rows and _numeric_binary(rows[0]) == Decimal("1.5"), rows[0].hex()
    finally:
        c.close()


# -- DEALLOCATE ALL and portals ---------------------------------------------------------------

def test_deallocate_all_keeps_portals(tables):
    assert_same(tables, [
        ("BEGIN", 1),
        (P("DEALLOCATE ALL", "d") + B("pd", "d") + P("INSERT INTO {t} VALUES (1)", "x") + B("px", "x")
         + E("pd") + E("px") + S, 1),
        ("COMMIT", 1),
        ("SELECT count(*) FROM {t}", 1),
    ])


# -- statements pgiris runs itself are refused in an aborted block, as PostgreSQL's are -------

@pytest.mark.parametrize("step", [
    pytest.param("DEALLOCATE ALL", id="simple-deallocate-all"),
    pytest.param("DISCARD ALL", id="simple-discard-all"),
    pytest.param(P("DEALLOCATE ALL") + B() + E() + S, id="extended-deallocate-all"),
    pytest.param(B("pset", "sset") + E("pset") + S, id="set-bound-before-the-error"),
    pytest.param(P("") + B() + E() + S, id="empty-statement-runs"),
])
def test_local_statements_in_an_aborted_block(tables, step):
    assert_same(tables, [
        ("BEGIN", 1),
        (P("SET application_name = 'x'", "sset") + S, 1),
        ("SELECT 1/0", 1),
        (step, 1),
        ("ROLLBACK", 1),
    ])
