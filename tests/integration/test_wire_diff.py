"""Differential tests of the protocol's message flows: the same raw message
sequence sent to the PostgreSQL server directly and to pgiris's `pg`
database, compared message by message.

What is compared: the sequence of backend message types; command tags;
the SQLSTATE of each ErrorResponse and NoticeResponse; RowDescription
(column names, type OIDs, format codes) and ParameterDescription (type
OIDs); DataRow values; ReadyForQuery's status byte.  ParameterStatus
messages are left out (pgiris reports SETs itself).  Each step of a
scenario is a chunk of client messages and how far to read the reply: a
number of ReadyForQuery messages, a message type to stop after (for a
Flush without Sync), or "eof" (Terminate).

Three kinds of tests:
* test_flow_matches_postgres: flows that are the same on both;
* test_documented_*: differences README/architecture describe (no
  implicit transactions; Parse and Bind answered by the worker, so an
  error PostgreSQL raises at Parse or Bind comes after ParseComplete /
  BindComplete).  They assert what each side does, so they fail if
  either changes;
* the rest: defects, xfail(strict=True) with the reason.

Both sides share one PostgreSQL database: a scenario names its table
{t}, which is wd_direct on one side and wd_proxy on the other (emptied
before each scenario).
"""

import struct

import pytest

import pgwire

m = pgwire.message

INT4, TEXT, INT8, BOOL = 23, 25, 20, 16


# -- client messages ------------------------------------------------------------

def P(sql, name="", types=()):
    return m(b"P", name.encode() + b"\0" + sql.encode() + b"\0"
             + struct.pack("!H", len(types)) + b"".join(struct.pack("!I", t) for t in types))


def B(portal="", stmt="", params=(), pfmts=(), rfmts=()):
    body = portal.encode() + b"\0" + stmt.encode() + b"\0"
    body += struct.pack("!H", len(pfmts)) + b"".join(struct.pack("!H", f) for f in pfmts)
    body += struct.pack("!H", len(params))
    for p in params:
        if p is None:
            body += struct.pack("!i", -1)
        else:
            v = str(p).encode()
            body += struct.pack("!i", len(v)) + v
    body += struct.pack("!H", len(rfmts)) + b"".join(struct.pack("!H", f) for f in rfmts)
    return m(b"B", body)


def D(kind, name=""):
    return m(b"D", kind.encode() + name.encode() + b"\0")


def E(portal="", rows=0):
    return m(b"E", portal.encode() + b"\0" + struct.pack("!i", rows))


def C(kind, name=""):
    return m(b"C", kind.encode() + name.encode() + b"\0")


def Q(sql):
    return pgwire.query_message(sql)


S = m(b"S")
H = m(b"H")
X = m(b"X")

# An error PostgreSQL raises while executing (1/0 on a constant is folded,
# and raised, when the plan is made at Bind).
RUNTIME_ERROR = "SELECT 1/g FROM generate_series(0, 0) g"
SERIES3 = "SELECT g FROM generate_series(1, 3) g"


# -- reading and comparing ------------------------------------------------------

def summarize(t, payload):
    """One backend message as the tests compare it; None to leave it out."""
    if t == b"S":            # ParameterStatus
        return None
    if t == b"T":
        (n,) = struct.unpack("!H", payload[:2])
        pos, cols = 2, []
        for _ in range(n):
            end = payload.index(b"\0", pos)
            name = payload[pos:end].decode()
            _table, _attnum, oid, _len, _mod, fmt = struct.unpack("!IhIhih", payload[end + 1:end + 19])
            cols.append((name, oid, fmt))
            pos = end + 19
        return ("T", tuple(cols))
    if t == b"t":
        (n,) = struct.unpack("!H", payload[:2])
        return ("t", struct.unpack("!%dI" % n, payload[2:2 + 4 * n]))
    if t == b"D":
        return ("D", tuple(pgwire.parse_data_row(payload)))
    if t == b"C":
        return ("C", payload.rstrip(b"\0").decode())
    if t in (b"E", b"N"):
        return (t.decode(), pgwire.parse_error_fields(payload).get("C"))
    if t == b"Z":
        return ("Z", payload.decode())
    return t.decode()        # '1' '2' '3' 'n' 's' 'I' ...


def read_step(conn, until, timeout):
    """One step's reply: until ReadyForQuery number `until` (an int), after
    the first message of type `until` (a str), or to the end ("eof")."""
    seen = []
    if until == "eof":
        try:
            for t, payload in conn.wait_closed(timeout):
                s = summarize(t, payload)
                if s is not None:
                    seen.append(s)
            seen.append("<eof>")
        except OSError:
            seen.append("<still open>")
        return seen
    zs = 0
    while True:
        try:
            t, payload = conn.read_message(timeout)
        except (OSError, EOFError) as exc:
            seen.append("<%s>" % type(exc).__name__)
            return seen
        s = summarize(t, payload)
        if s is None:
            continue
        seen.append(s)
        if isinstance(until, int) and t == b"Z":
            zs += 1
            if zs == until:
                return seen
        if isinstance(until, str) and t == until.encode():
            return seen


def with_table(data, table):
    """data with {t} in each message replaced by table, lengths made good."""
    out, pos = b"", 0
    while pos < len(data):
        (length,) = struct.unpack("!I", data[pos + 1:pos + 5])
        out += m(data[pos:pos + 1], data[pos + 5:pos + 1 + length].replace(b"{t}", table.encode()))
        pos += 1 + length
    return out


def run_steps(conn, steps, table, timeout):
    out = []
    for data, until in steps:
        conn.send(with_table(Q(data) if isinstance(data, str) else data, table))
        out.append(read_step(conn, until, timeout))
    return out


TABLES = ("wd_direct", "wd_proxy")


@pytest.fixture(scope="module")
def tables(pgiris):
    with pgiris.postgres.connect() as conn:
        for n in TABLES:
            conn.execute("DROP TABLE IF EXISTS %s" % n)
            conn.execute("CREATE TABLE %s (id int PRIMARY KEY, v text)" % n)
    return pgiris


def both(pgiris, steps, timeout=3.0):
    """(direct, through pgiris): each step's reply, one connection a side."""
    with pgiris.postgres.connect() as c:
        c.execute("TRUNCATE %s" % ", ".join(TABLES))
    direct = pgwire.Conn(pgiris.postgres.port)
    proxied = None
    try:
        direct.startup("postgres", "postgres")
        proxied = pgwire.login(pgiris, "pg")
        return (run_steps(direct, steps, TABLES[0], timeout),
                run_steps(proxied, steps, TABLES[1], timeout))
    finally:
        direct.close()
        if proxied is not None:
            proxied.close()


def rows_in(pgiris, table):
    return pgiris.postgres.query("SELECT count(*) FROM %s" % table)[0][0]


def flow_diff(direct, proxied):
    lines = []
    for i, (d, p) in enumerate(zip(direct, proxied)):
        if d != p:
            lines.append("step %d\n  postgres: %s\n  pgiris:   %s" % (i, d, p))
    return "\n".join(lines)


def assert_same(pgiris, steps):
    direct, proxied = both(pgiris, steps)
    assert proxied == direct, flow_diff(direct, proxied)


# -- flows that match -------------------------------------------------------------

MATCHING = {
    # An error in the middle of a batch: the rest is skipped to Sync.
    "error_mid_batch": [
        (P("SELECT 1") + B() + E() + P(RUNTIME_ERROR) + B() + E() + P("SELECT 2") + B() + E() + S, 1),
    ],
    "error_mid_batch_skips_named_parse": [
        (P(RUNTIME_ERROR) + B() + E() + P("SELECT 1", "after") + S, 1),
        (B("", "after") + E() + S, 1),
    ],
    "error_mid_batch_skips_close": [
        (P("SELECT 7", "keep") + S, 1),
        (P(RUNTIME_ERROR) + B() + E() + C("S", "keep") + S, 1),
        (B("", "keep") + E() + S, 1),
    ],
    "error_mid_batch_skips_query": [
        (P(RUNTIME_ERROR) + B() + E() + Q("SELECT 2") + S, 1),
        ("SELECT 3", 1),
    ],
    "error_mid_batch_in_block": [
        ("BEGIN", 1),
        (P("SELECT 1") + B() + E() + P(RUNTIME_ERROR) + B() + E() + P("SELECT 2") + B() + E() + S, 1),
        (S, 1),
        ("ROLLBACK", 1),
    ],
    # Describe of statements and portals.
    "describe_statement_select": [
        (P("SELECT $1::int4 AS a, 'x'::text AS b, 1.5::numeric AS c, true AS d", "s1") + D("S", "s1") + S, 1),
    ],
    "describe_statement_inferred_param": [
        (P("SELECT id, v FROM {t} WHERE id = $1", "s1") + D("S", "s1") + S, 1),
    ],
    "describe_statement_untyped_param": [
        (P("SELECT $1 AS x", "s1") + D("S", "s1") + S, 1),
    ],
    "describe_statement_declared_params": [
        (P("SELECT $1 AS x, $2 AS y", "s1", (INT8, BOOL)) + D("S", "s1") + S, 1),
    ],
    "describe_statement_repeated_param": [
        (P("SELECT $1::int4 + $1 AS a", "s") + D("S", "s") + B("", "s", params=(4,)) + E() + S, 1),
    ],
    "describe_statement_insert_nodata": [
        (P("INSERT INTO {t} VALUES ($1, $2)", "s1") + D("S", "s1") + S, 1),
    ],
    "describe_statement_insert_returning": [
        (P("INSERT INTO {t} VALUES ($1, $2) RETURNING id", "s1") + D("S", "s1") + S, 1),
    ],
    "describe_statement_ddl_nodata": [
        (P("CREATE TABLE wd_never_made (a int)", "s1") + D("S", "s1") + S, 1),
    ],
    "describe_portal_then_execute": [
        (P("SELECT 1 AS a, 'x'::text AS b") + B() + D("P") + E() + S, 1),
    ],
    "describe_portal_binary": [
        (P("SELECT 1 AS a, 'x'::text AS b") + B(rfmts=(1,)) + D("P") + E() + S, 1),
    ],
    "describe_portal_mixed_formats": [
        (P("SELECT 1 AS a, 2::int8 AS b") + B(rfmts=(0, 1)) + D("P") + S, 1),
    ],
    "describe_portal_alone": [
        (P("SELECT 1 AS a, 'x'::text AS b") + B() + D("P") + S, 1),
    ],
    "describe_portal_insert_nodata": [
        (P("INSERT INTO {t} VALUES (1)") + B() + D("P") + E() + S, 1),
    ],
    "describe_portal_ddl_nodata": [
        (P("CREATE TABLE wd_never_made (a int)") + B() + D("P") + S, 1),
    ],
    "describe_missing": [
        (D("S", "nope") + S, 1),
        (D("P", "nope") + S, 1),
    ],
    # Close.
    "close_missing": [
        (C("S", "nope") + C("P", "nope") + C("S") + C("P") + S, 1),
    ],
    "close_then_use": [
        (P("SELECT 1", "s1") + C("S", "s1") + B("", "s1") + S, 1),
        (P("SELECT 1") + B("p1") + C("P", "p1") + E("p1") + S, 1),
    ],
    "close_statement_portal_lives": [
        (P("SELECT 5", "s") + B("p", "s") + C("S", "s") + E("p") + S, 1),
    ],
    "reparse_unnamed_portal_lives": [
        (P("SELECT 5") + B("p") + P("SELECT 6") + E("p") + S, 1),
    ],
    # Bind and Execute errors outside a block.
    "bind_too_few_params": [(P("SELECT $1::int4") + B() + S, 1)],
    "bind_too_many_params": [(P("SELECT $1::int4") + B(params=(1, 2)) + S, 1)],
    "bind_wrong_param_format_count": [(P("SELECT $1::int4") + B(params=(1,), pfmts=(0, 0)) + S, 1)],
    "bind_formats_without_params": [(P("SELECT 1") + B(pfmts=(0,)) + S, 1)],
    "bind_missing_statement": [(B("", "nope") + S, 1), (B() + S, 1)],
    "execute_missing_portal": [(E("nope") + S, 1), (E() + S, 1)],
    "duplicate_portal_outside_block": [(P("SELECT 1") + B("p") + B("p") + S, 1)],
    # Parse.
    "parse_duplicate": [
        (P("SELECT 1", "dup") + P("SELECT 2", "dup") + S, 1),
        (P("SELECT 1") + P("SELECT 2") + B() + E() + S, 1),
    ],
    "parse_multiple_commands": [(P("SELECT 1; SELECT 2") + S, 1)],
    # Empty queries.
    "empty_simple": [("", 1), (";", 1), ("  -- nothing", 1), ("SELECT 1;;", 1)],
    "empty_extended": [
        (P("") + B() + D("P") + E() + S, 1),
        (P("", "e") + D("S", "e") + S, 1),
    ],
    # Flush and Sync.
    "flush_without_sync": [(P("SELECT 1") + B() + E() + H, "C"), (S, 1)],
    "flush_parse_only": [(P("SELECT 1", "f1") + H, "1"), (S, 1)],
    "flush_after_error": [(P(RUNTIME_ERROR) + B() + E() + H, "E"), (S, 1)],
    "syncs_in_a_row": [
        (S + S + S, 3),
        (P(RUNTIME_ERROR) + B() + E() + S + S, 2),
    ],
    "query_mid_batch": [(P("SELECT 1") + B() + E() + Q("SELECT 2") + S, 2)],
    # Row limits.
    "row_limit_then_completion": [
        (P("SELECT g FROM generate_series(1, 5) g") + B("p") + E("p", 2) + E("p", 2) + E("p") + E("p") + S, 1),
    ],
    "row_limit_exact": [
        (P("SELECT g FROM generate_series(1, 4) g") + B("p") + E("p", 2) + E("p", 2) + E("p", 2) + S, 1),
    ],
    "row_limit_returning": [
        (P("INSERT INTO {t} SELECT g FROM generate_series(1, 3) g RETURNING id") + B("p") + E("p", 1) + E("p") + S, 1),
    ],
    "negative_row_limit_fresh_portal": [(P(SERIES3) + B("p") + E("p", -1) + S, 1)],
    "insert_portal_executed_twice": [(P("INSERT INTO {t} VALUES (1)") + B("p") + E("p") + E("p") + S, 1)],
    # Portals and Sync.
    "suspended_portal_dies_at_sync_outside_block": [
        (P(SERIES3) + B("p") + E("p", 1) + S, 1),
        (E("p") + S, 1),
    ],
    "unstarted_portal_dies_at_sync_outside_block": [
        (P("SELECT 1") + B("p") + S, 1),
        (E("p") + S, 1),
    ],
    "unnamed_portal_dies_at_sync": [(P("SELECT 1") + B() + S, 1), (E() + S, 1)],
    "portal_in_block_survives_sync": [
        ("BEGIN", 1),
        (P(SERIES3) + B("p") + E("p", 1) + S, 1),
        (E("p", 1) + S, 1),
        ("COMMIT", 1),
    ],
    # Portals after an error in a block.
    "portal_after_error_in_block": [
        ("BEGIN", 1),
        (P(SERIES3) + B("p") + E("p", 1) + S, 1),
        (P(RUNTIME_ERROR) + B() + E() + S, 1),
        (E("p") + S, 1),
        (C("P", "p") + S, 1),
        ("ROLLBACK", 1),
    ],
    "describe_portal_in_aborted_block": [
        ("BEGIN", 1),
        (P("SELECT 1") + B("p") + S, 1),
        ("SELECT 1/0", 1),
        (D("P", "p") + S, 1),
        ("ROLLBACK", 1),
    ],
    "rollback_prepared_before_error": [
        ("BEGIN", 1),
        (P("ROLLBACK", "rb") + S, 1),
        ("SELECT 1/0", 1),
        (D("S", "rb") + B("", "rb") + D("P") + E() + S, 1),
    ],
    "extended_commit_in_aborted_block": [
        ("BEGIN", 1),
        ("SELECT 1/0", 1),
        (P("COMMIT") + B() + E() + S, 1),
    ],
    "extended_begin_error_sync_rollback": [
        (P("BEGIN") + B() + E() + S, 1),
        (P(RUNTIME_ERROR) + B() + E() + S, 1),
        (S, 1),
        (P("ROLLBACK") + B() + E() + S, 1),
    ],
    # Simple Query with several statements.
    "simple_multi_error_middle": [("SELECT 1; SELECT 1/0; SELECT 2", 1)],
    "simple_multi_begin_error": [("BEGIN; SELECT 1/0; SELECT 2", 1), ("SELECT 1", 1), ("ROLLBACK", 1)],
    "simple_multi_in_block_error": [("BEGIN", 1), ("SELECT 1; SELECT 1/0; SELECT 2", 1), ("ROLLBACK", 1)],
    "simple_multi_commit": [("SELECT 1; COMMIT", 1), ("BEGIN; SELECT 1; COMMIT; SELECT 2", 1)],
    "simple_select_then_begin": [("SELECT 1; BEGIN; SELECT 2", 1), ("ROLLBACK", 1)],
    # Simple Query in an aborted block.
    "simple_in_aborted_block": [
        ("BEGIN", 1),
        ("SELECT 1/0", 1),
        ("SELECT 1", 1),
        ("", 1),
        ("SELECT 1; ROLLBACK", 1),
        ("ROLLBACK; SELECT 1", 1),
    ],
    "set_show_in_aborted_block": [
        ("BEGIN", 1), ("SELECT 1/0", 1), ("SHOW application_name", 1),
        ("SET application_name = 'wd'", 1), ("ROLLBACK", 1),
    ],
    "commit_in_aborted_block": [("BEGIN", 1), ("SELECT 1/0", 1), ("COMMIT", 1)],
    "savepoint_flow": [
        ("BEGIN; SAVEPOINT a; SELECT 1/0", 1), ("SELECT 1", 1), ("ROLLBACK TO a", 1),
        ("SELECT 1", 1), ("COMMIT", 1),
    ],
    "rollback_to_missing_in_aborted_block": [("BEGIN", 1), ("SELECT 1/0", 1), ("ROLLBACK TO nope", 1), ("ROLLBACK", 1)],
    "tx_commands_outside_block": [
        ("COMMIT", 1), ("ROLLBACK", 1), ("SAVEPOINT a", 1), ("RELEASE a", 1), ("ROLLBACK TO a", 1),
    ],
    "begin_in_block": [("BEGIN", 1), ("BEGIN", 1), ("COMMIT", 1)],
    "local_errors_outside_block": [
        ("DEALLOCATE nope", 1), ("EXECUTE nope", 1), ("SHOW wd_no_such_setting", 1),
        ("SET statement_timeout = 'abc'", 1),
    ],
    # Errors in a block that the backend raises.
    "set_transaction_late_in_block": [
        ("BEGIN", 1), ("SELECT 1", 1), ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", 1),
        ("SELECT 1", 1), ("ROLLBACK", 1),
    ],
    "release_missing_in_block": [("BEGIN", 1), ("RELEASE nope", 1), ("SELECT 1", 1), ("ROLLBACK", 1)],
    # Sync inside an explicit block.
    "sync_in_block": [
        ("BEGIN", 1),
        (P("INSERT INTO {t} VALUES (1)") + B() + E() + S, 1),
        (S, 1),
        (P("SELECT count(*) FROM {t}") + B() + E() + S, 1),
        ("ROLLBACK", 1),
        ("SELECT count(*) FROM {t}", 1),
    ],
}


@pytest.mark.parametrize("name", list(MATCHING))
def test_flow_matches_postgres(tables, name):
    assert_same(tables, MATCHING[name])


def test_terminate_in_block_rolls_back(tables):
    direct, proxied = both(tables, [
        ("BEGIN", 1),
        (P("INSERT INTO {t} VALUES (1)") + B() + E() + X, "eof"),
    ])
    assert direct[1] == ["<eof>"]
    # pgiris sends what it answered before the Terminate; PostgreSQL sends nothing.
    assert proxied[1] == ["1", "2", ("C", "INSERT 0 1"), "<eof>"]
    assert rows_in(tables, TABLES[0]) == 0
    assert rows_in(tables, TABLES[1]) == 0


# -- documented differences: no implicit transactions ------------------------------

def test_documented_multi_statement_query_is_not_one_transaction(tables):
    """PostgreSQL runs a multi-statement Query as one implicit transaction:
    the error in the middle undoes the INSERT before it and the SET.
    pgiris has none (README, SET TRANSACTION; docs/architecture.md):
    the same messages come back, but the INSERT and the SET stay."""
    steps = [
        ("SET application_name = 'wd'; INSERT INTO {t} VALUES (1); SELECT 1/0; INSERT INTO {t} VALUES (2)", 1),
        ("SELECT count(*) FROM {t}", 1),
        ("SHOW application_name", 1),
    ]
    direct, proxied = both(tables, steps)
    flow = [("C", "SET"), ("C", "INSERT 0 1"), ("E", "22012"), ("Z", "I")]
    assert direct[0] == flow and proxied[0] == flow
    assert direct[1][1] == ("D", ("0",))
    assert proxied[1][1] == ("D", ("1",))
    assert direct[2][1] == ("D", ("",))
    assert proxied[2][1] == ("D", ("wd",))


def test_documented_batch_before_sync_is_not_one_transaction(tables):
    """An extended batch up to Sync is one implicit transaction in
    PostgreSQL: the unique violation rolls back the first INSERT too.
    Through pgiris the first INSERT stays."""
    steps = [
        (P("INSERT INTO {t} VALUES (1)") + B() + E()
         + P("INSERT INTO {t} VALUES (1)") + B() + E() + P("SELECT 2") + B() + E() + S, 1),
        ("SELECT count(*) FROM {t}", 1),
    ]
    direct, proxied = both(tables, steps)
    flow = ["1", "2", ("C", "INSERT 0 1"), "1", "2", ("E", "23505"), ("Z", "I")]
    assert direct[0] == flow and proxied[0] == flow
    assert direct[1][1] == ("D", ("0",))
    assert proxied[1][1] == ("D", ("1",))


def test_documented_terminate_mid_batch_keeps_what_ran(tables):
    """Terminate before Sync: PostgreSQL sends nothing more and its implicit
    transaction is rolled back; pgiris has already run the INSERT in
    autocommit, sends its replies, and the row stays."""
    direct, proxied = both(tables, [(P("INSERT INTO {t} VALUES (1)") + B() + E() + X + S, "eof")])
    assert direct == [["<eof>"]]
    assert proxied == [["1", "2", ("C", "INSERT 0 1"), "<eof>"]]
    assert rows_in(tables, TABLES[0]) == 0
    assert rows_in(tables, TABLES[1]) == 1


# -- documented differences: Parse and Bind answered by the worker --------------------

def test_documented_bind_time_errors_come_after_bind_complete(tables):
    """PostgreSQL plans at Bind, so a bad parameter value or a constant
    folded to 1/0 fails the Bind.  The worker answers Bind itself
    (docs/architecture.md, "Extended query protocol"); the same error
    comes from the Execute, after BindComplete."""
    direct, proxied = both(tables, [
        (P("SELECT $1::int4") + B(params=("abc",)) + E() + S, 1),
        (P("SELECT 1") + B() + E() + P("SELECT 1/0") + B() + E() + P("SELECT 2") + B() + E() + S, 1),
    ])
    assert direct[0] == ["1", ("E", "22P02"), ("Z", "I")]
    assert proxied[0] == ["1", "2", ("E", "22P02"), ("Z", "I")]
    head = ["1", "2", ("D", ("1",)), ("C", "SELECT 1"), "1"]
    assert direct[1] == head + [("E", "22012"), ("Z", "I")]
    assert proxied[1] == head + ["2", ("E", "22012"), ("Z", "I")]


def test_documented_parse_errors_come_later(tables):
    """PostgreSQL parses and analyses at Parse: a syntax error or a
    missing table fails it.  pgiris's Parse only rewrites the markers, so
    it answers ParseComplete, and the error comes from the backend at the
    first Describe or Execute (or not at all for Parse + Sync)."""
    direct, proxied = both(tables, [
        (P("SELECT 1") + B() + E() + P("SELEC 2") + B() + E() + S, 1),
        (P("SELECT * FROM wd_nowhere", "s1") + S, 1),
        (P("SELECT * FROM wd_nowhere", "s2") + D("S", "s2") + S, 1),
    ])
    head = ["1", "2", ("D", ("1",)), ("C", "SELECT 1")]
    assert direct[0] == head + [("E", "42601"), ("Z", "I")]
    assert proxied[0] == head + ["1", "2", ("E", "42601"), ("Z", "I")]
    assert direct[1] == [("E", "42P01"), ("Z", "I")]
    assert proxied[1] == ["1", ("Z", "I")]
    assert direct[2] == [("E", "42P01"), ("Z", "I")]
    assert proxied[2] == ["1", ("E", "42P01"), ("Z", "I")]


# -- defects ------------------------------------------------------------------------

def defect(reason):
    return pytest.mark.xfail(strict=True, reason=reason)


IN_BLOCK_ERRORS = {
    "bind_missing_statement": B("", "nope") + S,
    "bind_wrong_param_count": P("SELECT $1::int4") + B() + S,
    "bind_wrong_format_count": P("SELECT $1::int4") + B(params=(1,), pfmts=(0, 0)) + S,
    "execute_missing_portal": E("nope") + S,
    "describe_missing_statement": D("S", "nope") + S,
    "describe_missing_portal": D("P", "nope") + S,
    "parse_multiple_commands": P("SELECT 1; SELECT 2") + S,
    "parse_duplicate": P("SELECT 1", "d") + P("SELECT 1", "d") + S,
    "duplicate_portal": P("SELECT 1") + B("p") + B("p") + S,
    "insert_portal_executed_twice": P("INSERT INTO {t} VALUES (1)") + B("p") + E("p") + E("p") + S,
    "extended_deallocate_missing": P("DEALLOCATE nope") + B() + E() + S,
    "simple_deallocate_missing": Q("DEALLOCATE nope"),
    "simple_execute_missing": Q("EXECUTE nope"),
    "simple_prepare_duplicate": Q("PREPARE pd AS SELECT 1; PREPARE pd AS SELECT 1"),
    "simple_bad_set_value": Q("SET statement_timeout = 'abc'"),
    "simple_show_unknown": Q("SHOW wd_no_such_setting"),
    "simple_brace": Q("SELECT {fn 1}"),
}


# Errors pgiris answers itself, in the worker: each aborts the block as PostgreSQL's would.
@pytest.mark.parametrize("name", list(IN_BLOCK_ERRORS))
def test_error_answered_by_pgiris_aborts_the_block(tables, name):
    assert_same(tables, [("BEGIN", 1), (IN_BLOCK_ERRORS[name], 1), ("SELECT 1", 1), ("ROLLBACK", 1)])


# The block's COMMIT after such an error rolls back what ran before it, and says ROLLBACK.
def test_commit_after_error_answered_by_pgiris_rolls_back(tables):
    assert_same(tables, [
        ("BEGIN", 1),
        ("INSERT INTO {t} VALUES (1)", 1),
        (B("", "nope") + S, 1),
        ("COMMIT", 1),
        ("SELECT count(*) FROM {t}", 1),
    ])


# Portals end with their block (COMMIT, ROLLBACK), as in PostgreSQL: 34000 after it.
@pytest.mark.parametrize("end", ["COMMIT", "ROLLBACK"])
@pytest.mark.parametrize("portal", [
    pytest.param(P(SERIES3) + B("p") + E("p", 1), id="suspended"),
    pytest.param(P("SELECT 1") + B("p"), id="unstarted"),
    pytest.param(P("SELECT 1") + B("p") + E("p"), id="completed"),
])
@pytest.mark.parametrize("then", [pytest.param(E("p"), id="execute"), pytest.param(D("P", "p"), id="describe")])
def test_portal_dies_with_its_block(tables, portal, end, then):
    assert_same(tables, [("BEGIN", 1), (portal + S, 1), (end, 1), (then + S, 1)])


def test_portal_dies_with_extended_commit(tables):
    assert_same(tables, [
        ("BEGIN", 1),
        (P(SERIES3) + B("p") + E("p", 1) + P("COMMIT") + B() + E() + E("p") + S, 1),
    ])


def test_portal_name_free_after_commit(tables):
    assert_same(tables, [
        (P(SERIES3, "s") + S, 1),
        ("BEGIN", 1),
        (B("p", "s") + E("p", 1) + S, 1),
        ("COMMIT", 1),
        ("BEGIN", 1),
        (B("p", "s") + E("p") + S, 1),
        ("COMMIT", 1),
    ])


# ParameterDescription in $n order, whatever order the markers have in the text.
@pytest.mark.parametrize("sql", [
    "SELECT $2::int4 AS a, $1::text AS b",
    "SELECT id FROM {t} WHERE v = $2 AND id = $1",
])
def test_parameter_description_in_parameter_order(tables, sql):
    assert_same(tables, [(P(sql, "s") + D("S", "s") + S, 1)])


def test_unused_parameter_has_no_type(tables):
    """A parameter Parse did not type that the statement never uses has no
    type: 42P18, at Parse on PostgreSQL, at the Describe on pgiris (after
    ParseComplete, as every Parse error; see above)."""
    direct, proxied = both(tables, [(P("SELECT $2::int4", "s") + D("S", "s") + S, 1)])
    assert direct[0] == [("E", "42P18"), ("Z", "I")]
    assert proxied[0] == ["1", ("E", "42P18"), ("Z", "I")]


# A named statement the backend refuses to prepare is no statement, as after
# PostgreSQL's failed Parse: the name is free for the same text once it can
# prepare (pgx v5 names statements by a hash of their text).  pgiris's
# error comes after ParseComplete (documented above); what follows is the same.
def test_failed_parse_leaves_no_statement(tables):
    direct, proxied = both(tables, [
        ("DROP TABLE IF EXISTS {t}_later", 1),
        (P("SELECT a FROM {t}_later", "s") + D("S", "s") + S, 1),
        ("CREATE TABLE {t}_later (a int)", 1),
        (P("SELECT a FROM {t}_later", "s") + D("S", "s") + S, 1),
        ("DROP TABLE {t}_later", 1),
    ])
    assert direct[1] == [("E", "42P01"), ("Z", "I")]
    assert proxied[1] == ["1"] + direct[1]
    assert direct[3] == ["1", ("t", ()), ("T", (("a", INT4, 0),)), ("Z", "I")]
    assert proxied[3] == direct[3]


def test_syntax_error_leaves_no_statement(tables):
    direct, proxied = both(tables, [
        (P("SELEC 1", "s") + B("", "s") + E() + S, 1),
        (P("SELECT 1", "s") + B("", "s") + E() + S, 1),
    ])
    assert direct[0] == [("E", "42601"), ("Z", "I")]
    assert proxied[0] == ["1", "2"] + direct[0]
    assert proxied[1] == direct[1] == ["1", "2", ("D", ("1",)), ("C", "SELECT 1"), ("Z", "I")]


# Parse and Bind in an aborted block are 25P02, and leave no statement behind the ROLLBACK.
def test_parse_and_bind_in_aborted_block(tables):
    assert_same(tables, [
        ("BEGIN", 1),
        (P("SELECT 9", "ok") + S, 1),
        ("SELECT 1/0", 1),
        (P("SELECT 1", "new") + S, 1),
        (B("", "ok") + S, 1),
        ("ROLLBACK", 1),
        (B("", "new") + E() + S, 1),
    ])


# A statement prepared in an aborted block (Parse + Describe + Sync, as pgx does) is not kept.
def test_prepare_in_aborted_block_then_again(tables):
    assert_same(tables, [
        ("BEGIN", 1),
        ("SELECT 1/0", 1),
        (P("SELECT 1", "s") + D("S", "s") + S, 1),
        ("ROLLBACK", 1),
        (P("SELECT 1", "s") + D("S", "s") + S, 1),
    ])


# Execute with a negative row count reads the rest, as with 0 (max_rows <= 0 is all rows).
@pytest.mark.parametrize("in_block", [False, True], ids=["implicit", "block"])
def test_negative_row_count_reads_the_rest(tables, in_block):
    batch = (P(SERIES3) + B("p") + E("p", 1) + E("p", -1) + S, 1)
    steps = [("BEGIN", 1), batch, ("COMMIT", 1)] if in_block else [batch]
    assert_same(tables, steps)


# An INSERT portal run with a row limit ran to its end: executed again it is 55000.
def test_insert_portal_with_row_limit_run_again(tables):
    assert_same(tables, [(P("INSERT INTO {t} VALUES (1)") + B("p") + E("p", 1) + E("p") + S, 1)])


# A simple Query drops the unnamed statement: a Bind of it after is 26000.
def test_simple_query_drops_unnamed_statement(tables):
    assert_same(tables, [(P("SELECT 1") + S, 1), ("SELECT 2", 1), (B() + E() + S, 1)])


# A parameter format code other than 0 or 1 is 22023 at Bind.
def test_bind_bad_format_code(tables):
    assert_same(tables, [
        (P("SELECT $1::int4") + B(params=(1,), pfmts=(2,)) + S, 1),
        (P("SELECT $1::int4") + B(params=(1,), pfmts=(2,)) + E() + S, 1),
    ])


@defect("Describe of a statement that returns no rows is refused with 25P02 in an aborted "
        "block; PostgreSQL describes it (ParameterDescription, NoData)")
def test_describe_nodata_statement_in_aborted_block(tables):
    assert_same(tables, [
        ("BEGIN", 1),
        (P("INSERT INTO {t} VALUES ($1)", "s") + S, 1),
        ("SELECT 1/0", 1),
        (D("S", "s") + S, 1),
        ("ROLLBACK", 1),
    ])
