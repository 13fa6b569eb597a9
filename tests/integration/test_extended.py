"""The extended query protocol, as psycopg uses it whenever a query has
parameters (Parse/Bind/Describe/Execute/Sync with $n placeholders)."""

import datetime
import struct
import uuid
from decimal import Decimal

import psycopg
import pytest

import pgwire



def test_parameters(pgiris, backend):
    with pgiris.connect(backend) as conn:
        row = conn.execute("SELECT id, name FROM customers WHERE id = %s", (3,)).fetchone()
        assert row == (3, "Dmitri Almeida")
        rows = conn.execute("SELECT id FROM customers WHERE id BETWEEN %s AND %s ORDER BY id",
                            (10, 14)).fetchall()
        assert rows == [(10,), (11,), (12,), (13,), (14,)]
        row = conn.execute("SELECT id FROM customers WHERE email = %s",
                           ("dmitri.almeida.3@example.com",)).fetchone()
        assert row == (3,)


def test_prepared_statement_reused(pgiris, backend):
    with pgiris.connect(backend) as conn:
        for i in (1, 2, 3, 4, 5, 6, 7, 3):
            row = conn.execute("SELECT name FROM customers WHERE id = %s", (i,), prepare=True).fetchone()
            assert row == pgiris.direct(backend, "SELECT name FROM customers WHERE id = %d" % i)[0]


def test_executemany_and_null_parameter(pgiris, backend):
    table = "ext_%s" % uuid.uuid4().hex[:10]
    with pgiris.connect(backend) as conn:
        conn.execute("CREATE TABLE %s (id INTEGER PRIMARY KEY, v VARCHAR(20))" % table)
        try:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO %s (id, v) VALUES (%%s, %%s)" % table,
                                [(i, None if i % 2 else "v%d" % i) for i in range(50)])
            rows = conn.execute("SELECT id, v FROM %s ORDER BY id" % table).fetchall()
            assert rows == [(i, None if i % 2 else "v%d" % i) for i in range(50)]
        finally:
            conn.execute("DROP TABLE %s" % table)


def test_error_in_extended_query_keeps_connection(pgiris, backend):
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT * FROM no_such_table WHERE id = %s", (1,))
        assert info.value.sqlstate == "42P01"
        assert conn.execute("SELECT id FROM customers WHERE id = %s", (2,)).fetchone() == (2,)


def test_statement_the_backend_refuses_is_not_kept(pgiris, backend):
    """pgx v5 names a statement by a hash of its text and prepares it with
    Parse + Describe + Sync: after the backend refused it (no table yet),
    the same name and text prepare again once the table exists, as after
    PostgreSQL's failed Parse (the name stayed taken: 42P05)."""
    table = "later_%s" % uuid.uuid4().hex[:10]
    m = pgwire.message
    prepare = (m(b"P", b"stmtcache_1\0SELECT a FROM " + table.encode() + b"\0\0\0") +
               m(b"D", b"Sstmtcache_1\0") + m(b"S"))
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        c.send(prepare)
        assert pgwire.until_ready(c, 10, skip=(b"N", b"S")) == [("1", None), ("E", "42P01"), ("Z", None)]
        with pgiris.connect(backend) as other:
            other.execute("CREATE TABLE %s (a integer)" % table)
        try:
            c.send(prepare)
            assert [t for t, _ in pgwire.until_ready(c, 10, skip=(b"N", b"S"))] == ["1", "t", "T", "Z"]
        finally:
            with pgiris.connect(backend) as other:
                other.execute("DROP TABLE %s" % table)


def test_binary_rows_after_a_portal_describe_match_it(pgiris):
    """PgJDBC describes a portal once (text rows), then, the statement
    prepared, runs it with binary rows and no Describe.  On SQLite an
    expression's column is typed by the values (float8 for sum() here):
    the binary rows must be float8's 8 bytes, not the text the driver gave
    (which PgJDBC read as a float8 and failed on)."""
    m = pgwire.message
    sql = b"SELECT sum(price) FROM products WHERE id < $1"

    def bind(fmt):
        return (m(b"B", b"\0S_1\0" + struct.pack("!hh", 1, 1) + struct.pack("!hi", 1, 4) + struct.pack("!i", 3)
                  + struct.pack("!hh", 1, fmt)))

    execute = m(b"E", b"\0\0\0\0\0") + m(b"S")
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", "demo", pgiris.users["demo"])
        c.send(m(b"P", b"S_1\0" + sql + b"\0" + struct.pack("!hI", 1, 23)) + bind(0) + m(b"D", b"P\0") + execute)
        got = {}
        while True:
            t, payload = c.read_message(10)
            if t == b"T":
                got["oid"] = struct.unpack("!I", payload[payload.index(b"\0", 2) + 7:][:4])[0]
            elif t == b"D":
                got["text"] = pgwire.parse_data_row(payload)[0]
            elif t == b"Z":
                break
        assert got["oid"] == 701, got
        c.send(bind(1) + execute)
        rows = []
        while True:
            t, payload = c.read_message(10)
            if t == b"D":
                rows.append(payload)
            elif t == b"Z":
                break
        assert len(rows) == 1
        (n,), (length,) = struct.unpack("!h", rows[0][:2]), struct.unpack("!i", rows[0][2:6])
        assert (n, length) == (1, 8), rows[0]
        assert struct.unpack("!d", rows[0][6:14])[0] == float(got["text"])


@pytest.mark.parametrize("sql, oids", [
    ("SELECT $1::int4 * 2", [23]),
    ("SELECT CAST($1 AS bigint), $2::double precision, $3::timestamp with time zone, $4::timestamp, "
     "$5::varchar(10), $6::numeric(10, 2), $7::boolean, $8::timestamp without time zone, "
     "$9::character varying(5)", [20, 701, 1184, 1114, 1043, 1700, 16, 1114, 1043]),
])
def test_cast_parameters_are_described_as_their_type(pgiris, backend, sql, oids):
    """A parameter Parse leaves untyped that the text casts has the cast's
    type, on every backend as on PostgreSQL: pgx encodes values by the
    described types and could not send an integer for a text."""
    m = pgwire.message
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        c.send(m(b"P", b"cast_s\0" + sql.encode() + b"\0\0\0") + m(b"D", b"Scast_s\0") + m(b"S"))
        described = None
        while True:
            t, payload = c.read_message(10)
            if t == b"t":
                (n,) = struct.unpack("!h", payload[:2])
                described = list(struct.unpack("!%dI" % n, payload[2:2 + 4 * n]))
            elif t == b"E":
                raise AssertionError(pgwire.parse_error_fields(payload))
            elif t == b"Z":
                break
        assert described == oids


def test_cast_to_an_array_is_not_its_element(pgiris):
    """$1::int4[] is an array: not described as int4 (pgx would send one integer)."""
    with pgiris.connect("pg") as conn:
        res = conn.pgconn.prepare(b"arr_s", b"SELECT $1::int4[]")
        assert res.status == psycopg.pq.ExecStatus.COMMAND_OK, res.error_message
        assert conn.pgconn.describe_prepared(b"arr_s").param_type(0) != 23


def _query_count(pgiris, backend):
    rows = [r for r in pgiris.show("STATS") if r["database"] == backend]
    return int(rows[0]["total_query_count"])


def test_repeated_describe_is_answered_without_the_backend(pgiris, backend):
    """Describe(statement) reaches the backend once; the same description comes back after."""
    import struct
    import pgwire
    parse = pgwire.message(b"P", b"s1\0SELECT id, name FROM customers WHERE id = $1\0" +
                           struct.pack("!hI", 1, 23))
    describe = pgwire.message(b"D", b"Ss1\0")
    sync = pgwire.message(b"S")
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        c.send(parse + describe + sync)
        first = []
        while True:
            t, payload = c.read_message()
            first.append((t, payload))
            if t == b"Z":
                break
        assert [t for t, _ in first] == [b"1", b"t", b"T", b"Z"]
        assert struct.unpack("!hI", first[1][1]) == (1, 23)
        before = _query_count(pgiris, backend)
        for _ in range(3):
            c.send(describe + sync)
            again = []
            while True:
                t, payload = c.read_message()
                again.append((t, payload))
                if t == b"Z":
                    break
            assert again == first[1:]
        assert _query_count(pgiris, backend) == before
        # An error in a describe is not kept: a statement on a missing table fails each time.
        c.send(pgwire.message(b"P", b"s2\0SELECT * FROM no_such_table\0\0\0") +
               pgwire.message(b"D", b"Ss2\0") + sync)
        kinds = []
        while True:
            t, payload = c.read_message()
            kinds.append(t)
            if t == b"Z":
                break
        assert b"E" in kinds


def test_sql_prepare_and_execute_survive_transaction_pooling(pgiris, backend):
    """SQL PREPARE/EXECUTE: the statement is the client's, so it runs on any backend connection."""
    import pgwire
    with pgwire.Conn(pgiris.port) as c:
        c.startup("demo", backend, pgiris.users["demo"])
        assert c.simple_query("PREPARE byid (int) AS SELECT name FROM customers WHERE id = $1")[0][2] == "PREPARE"
        want = pgiris.direct(backend, "SELECT name FROM customers WHERE id = 3")[0][0]
        for _ in range(3):
            cols, rows, tag = c.simple_query("BEGIN; EXECUTE byid(3); COMMIT")[1]
            assert [r[0] for r in rows] == [want]
            assert tag == "SELECT 1"
        # Without types, and with several parameters.
        c.simple_query("PREPARE two AS SELECT count(*) FROM customers WHERE id BETWEEN $1 AND $2")
        assert c.simple_query("EXECUTE two (10, 14)")[0][1] == [["5"]]
        with pytest.raises(pgwire.ServerError) as exc:
            c.simple_query("EXECUTE two (10)")
        assert exc.value.sqlstate == "42601"
        with pytest.raises(pgwire.ServerError) as exc:
            c.simple_query("PREPARE two AS SELECT 1")
        assert exc.value.sqlstate == "42P05"
        assert c.simple_query("DEALLOCATE two")[0][2] == "DEALLOCATE"
        with pytest.raises(pgwire.ServerError) as exc:
            c.simple_query("EXECUTE two (1, 2)")
        assert exc.value.sqlstate == "26000"
        # A string argument with a quote in it stays one argument.
        c.simple_query("PREPARE bymail (text) AS SELECT id FROM customers WHERE email = $1")
        assert c.simple_query("EXECUTE bymail ('it''s@nowhere, really')")[0][1] == []


class RawBinary:
    """A parameter sent as these bytes, in binary format, with this type OID."""

    def __init__(self, oid, data):
        self.oid = oid
        self.data = data


def raw_binary_dumpers(conn):
    for oid in TYPE_NAMES:
        dumper = type("RawBinaryDumper%d" % oid, (psycopg.adapt.Dumper,),
                      {"format": psycopg.pq.Format.BINARY, "oid": oid, "dump": lambda self, obj: obj.data})
        # A class per OID: psycopg picks the dumper by the Python type.
        cls = type("RawBinary%d" % oid, (RawBinary,), {})
        conn.adapters.register_dumper(cls, dumper)
        yield oid, cls


TYPE_NAMES = {114: "json", 1186: "interval", 1266: "timetz", 3802: "jsonb"}

BINARY_PARAMETERS = [
    (1186, struct.pack("!qii", -86399999995, -1, 0)),
    (1186, struct.pack("!qii", 2 ** 63 - 1, 2 ** 31 - 1, 2 ** 31 - 1)),
    (1186, struct.pack("!qii", -(2 ** 63 - 1), -(2 ** 31), -(2 ** 31))),
    (1186, struct.pack("!qii", 90061000001, 0, -14)),
    (1266, struct.pack("!qi", 43200000000, -19800)),
    (1266, struct.pack("!qi", 1, 39600)),
    (1266, struct.pack("!qi", 86400000000, -57599)),
    (114, '[1, "x", {"b": true}]'.encode()),
    (3802, b"\x01" + '{"a": [1, 2.5], "\u00e9": null}'.encode()),
]


@pytest.mark.parametrize("backend", ["pg"])
@pytest.mark.parametrize("oid, data", BINARY_PARAMETERS, ids=[
    "interval", "interval-max", "interval-min", "interval-months", "timetz", "timetz-west", "timetz-24h",
    "json", "jsonb"])
def test_binary_parameter_reaches_the_server_as_sent(pgiris, backend, oid, data):
    """interval, timetz, json and jsonb parameters in binary format (psycopg
    sends a timedelta so) read as PostgreSQL reads the same bytes."""
    got = []
    for connect in (lambda: pgiris.connect(backend), pgiris.postgres.connect):
        with connect() as conn:
            classes = dict(raw_binary_dumpers(conn))
            sql = "SELECT (%%b::%s)::text" % TYPE_NAMES[oid]
            got.append(conn.execute(sql, (classes[oid](oid, data),)).fetchone()[0])
    assert got[0] == got[1]


@pytest.mark.parametrize("oid, data", [
    (1186, b"\x00" * 15),
    (1266, struct.pack("!qi", 0, 57600)),
    (1266, struct.pack("!qi", 86400000001, 0)),
    (3802, b"\x02{}"),
    (3802, b""),
], ids=["interval-short", "timetz-zone", "timetz-time", "jsonb-version", "jsonb-empty"])
def test_bad_binary_parameter_is_refused(pgiris, backend, oid, data):
    with pgiris.connect(backend) as conn:
        classes = dict(raw_binary_dumpers(conn))
        with pytest.raises(psycopg.errors.InvalidBinaryRepresentation,
                           match="incorrect binary data format in bind parameter 1"):
            conn.execute("SELECT %b", (classes[oid](oid, data),))
        assert conn.execute("SELECT 'still here'").fetchone() == ("still here",)


TYPED_VALUES = [1, -2 ** 40, 1.5, Decimal("2.50"), True, b"\x00\x01", datetime.date(2024, 1, 2),
                datetime.time(12, 34, 56, 789000), datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
                datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
                datetime.timedelta(days=1, seconds=2), uuid.UUID(int=7)]


def typed_results(conn):
    got = []
    for v in TYPED_VALUES:
        got.append(conn.execute("SELECT pg_typeof(%s)::text, (%s)::text", (v, v)).fetchone())
        # A bare marker's column (pgiris describes an interval's as varchar: it has no binary form here).
        if not isinstance(v, datetime.timedelta):
            cur = conn.execute("SELECT %s", (v,))
            got.append((cur.description[0].type_code, cur.fetchone()[0]))
    got.append(conn.execute("SELECT pg_typeof(%s + %s)::text", (Decimal("1.5"), 2)).fetchone())
    return got


@pytest.mark.parametrize("backend", ["pg"])
def test_declared_parameter_type_is_the_parameter_type(pgiris, backend):
    """A type declared in Parse is the parameter's type, as in PostgreSQL:
    a bare SELECT $1 has it and operators resolve by it (PostgreSQL would
    otherwise type each marker from its context, a bare one as text)."""
    with pgiris.connect(backend) as conn:
        got = typed_results(conn)
    with pgiris.postgres.connect() as conn:
        want = typed_results(conn)
    assert got == want
    assert got[:2] == [("smallint", "1"), (21, 1)] and got[-1] == ("numeric",)


@pytest.mark.parametrize("backend", ["pg"])
def test_declared_varchar_compared_with_integer_fails_as_in_postgres(pgiris, backend):
    """pgjdbc sends strings as varchar: compared with an integer column that
    is an error in PostgreSQL, and so it is through pgiris."""
    class Varchar(str):
        pass

    class VarcharDumper(psycopg.adapt.Dumper):
        oid = 1043

        def dump(self, obj):
            return obj.encode()

    for connect in (lambda: pgiris.connect(backend), pgiris.postgres.connect):
        with connect() as conn:
            conn.adapters.register_dumper(Varchar, VarcharDumper)
            with pytest.raises(psycopg.errors.UndefinedFunction, match="integer = character varying"):
                conn.execute("SELECT 1 WHERE 1 = %s", (Varchar("1"),))
            assert conn.execute("SELECT %s || 'x'", (Varchar("a"),)).fetchone() == ("ax",)


def test_unnamed_statement_parsed_again_only_when_the_text_is_the_same(pgiris, backend):
    """The unnamed statement is kept when Parse brings the same text again;
    a text that only starts the same, or extends it, is a new statement."""
    conn = pgwire.login(pgiris, backend)
    try:
        for value in (12, 1, 12, 123, 1, 1):
            conn.send(pgwire.parse_bind_execute("SELECT %d" % value) + pgwire.message(b"S"))
            got = []
            while True:
                t, payload = conn.read_message()
                if t == b"D":
                    got.append(pgwire.parse_data_row(payload))
                elif t == b"E":
                    got.append(pgwire.parse_error_fields(payload))
                elif t == b"Z":
                    break
            assert got == [[str(value)]]
    finally:
        conn.close()


def test_describe_of_a_suspended_portal(pgiris, backend):
    """A portal a row limit suspended is described as PostgreSQL describes any
    portal, whether the Describe comes alone or right before the next Execute."""
    sql = b"SELECT x, 'v' || x AS y FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3) AS t ORDER BY 1"
    one = pgwire.message(b"E", b"\0" + struct.pack("!i", 1))
    describe = pgwire.message(b"D", b"P\0")
    conn = pgwire.login(pgiris, backend)
    try:
        conn.send(pgwire.message(b"P", b"\0" + sql + b"\0\0\0") + pgwire.message(b"B", b"\0\0\0\0\0\0\0\0") +
                  one + describe + one + describe + pgwire.message(b"S") + one + pgwire.message(b"S"))
        seen = pgwire.until_ready(conn) + pgwire.until_ready(conn)
        names = ("T", ["x", "y"])
        assert seen == [("1", None), ("2", None), ("D", ["1", "v1"]), ("s", None),
                        names, ("D", ["2", "v2"]), ("s", None), names, ("Z", None),
                        # Sync closed the unnamed portal outside a transaction block.
                        ("E", "34000"), ("Z", None)]
    finally:
        conn.close()


def test_suspended_portals_live_while_other_statements_run(pgiris, backend):
    """PostgreSQL keeps any number of portals open in a transaction: JDBC with a
    fetch size reads a result a few rows per Execute and runs other statements
    in between, some with the same text.  Every portal must go on where it
    stopped, with the parameter values it was bound with."""
    table = "portals_" + uuid.uuid4().hex[:8]
    with pgiris.connect(backend) as conn:
        conn.execute("CREATE TABLE %s (id integer, s text)" % table)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO %s VALUES (%%s, %%s)" % table, [(i, "k%02d" % i) for i in range(1, 21)])
    m = pgwire.message
    ids = "SELECT id FROM %s WHERE s >= $1 ORDER BY id" % table

    def bind(portal, stmt, value):
        value = value.encode()
        return m(b"B", portal + b"\0" + stmt + b"\0\0\0" + struct.pack("!hi", 1, len(value)) + value + b"\0\0")

    def execute(portal, max_rows):
        return m(b"E", portal + b"\0" + struct.pack("!i", max_rows))

    def rows(*ids):
        return [("D", [str(i)]) for i in ids]

    conn = pgwire.login(pgiris, backend)
    try:
        conn.send(pgwire.query_message("BEGIN"))
        pgwire.until_ready(conn)
        conn.send(m(b"P", b"s_ids\0" + ids.encode() + b"\0\0\0") +
                  m(b"P", b"s_count\0SELECT count(*) FROM %s WHERE s < $1\0\0\0" % table.encode()) +
                  bind(b"p1", b"s_ids", "k05") + execute(b"p1", 3) +
                  # The same statement, a longer value bound in its place.
                  bind(b"p2", b"s_ids", "k15" + "x" * 200) + m(b"D", b"Pp2\0") + execute(b"p2", 2) +
                  bind(b"p3", b"s_count", "k03") + execute(b"p3", 0) +
                  bind(b"p4", b"s_ids", "k01") + execute(b"p4", 1) + m(b"C", b"Pp4\0") +
                  m(b"S"))
        seen = pgwire.until_ready(conn)
        assert [x for x in seen if x[0] != "T"] == (
            [("1", None), ("1", None), ("2", None)] + rows(5, 6, 7) + [("s", None)] +
            [("2", None)] + rows(16, 17) + [("s", None)] +
            [("2", None), ("D", ["2"]), ("C", "SELECT 1")] +
            [("2", None)] + rows(1) + [("s", None), ("3", None), ("Z", None)])
        conn.send(pgwire.query_message("SELECT 42"))
        assert ("D", ["42"]) in pgwire.until_ready(conn)
        conn.send(execute(b"p2", 2) + execute(b"p1", 0) + execute(b"p2", 0) + execute(b"p1", 0) +
                  execute(b"p4", 0) + m(b"S"))
        assert pgwire.until_ready(conn) == (
            rows(18, 19) + [("s", None)] + rows(*range(8, 21)) + [("C", "SELECT 13")] +
            rows(20) + [("C", "SELECT 1")] + [("C", "SELECT 0")] +
            [("E", "34000"), ("Z", None)])
        conn.send(pgwire.query_message("COMMIT"))
        assert pgwire.until_ready(conn)[-1] == ("Z", None)
    finally:
        conn.close()
    with pgiris.connect(backend) as cleanup:
        cleanup.execute("DROP TABLE %s" % table)
