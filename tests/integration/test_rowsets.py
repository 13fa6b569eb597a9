"""Long results read in rowsets (broker/odbc.c, odbc_fetch): past the first
ODBC_ROWSET_AFTER (64) rows, a result through psqlODBC is fetched 64 rows a
call into bound buffers, each column as wide as its described size within
32..1024 bytes; a value longer than its buffer is read again whole.

Every value must come out as PostgreSQL gives it, in text and binary
format and through COPY TO: values that fit their buffer and values that
do not (text beyond 1024 bytes, a varchar(10) of four-byte characters),
NULLs, floats, bytea, and results that end just before, at and after a
rowset's edge.  An error in the middle of a result, and a portal read a
few rows at a time, must behave as before.
"""

import math
import struct

import psycopg
import pytest

import pgwire

ROWS = 3000

COLUMNS = """
    id int,
    s text,
    v varchar(10),
    f float8,
    f4 float4,
    b bytea,
    bo boolean,
    ts timestamp,
    tz timestamptz,
    n numeric(20, 3),
    u uuid
"""

FILL = """
INSERT INTO rowset_t
SELECT g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE repeat(chr(65 + g % 26), (g * 37) % 3000) || 'é' END,
       CASE WHEN g % 3 = 0 THEN repeat('😀', g % 11) WHEN g % 3 = 1 THEN repeat('ü', g % 11) ELSE NULL END,
       CASE WHEN g % 5 = 0 THEN NULL WHEN g = 11 THEN 'NaN' WHEN g = 12 THEN '-Infinity'
            ELSE g * 1.1::float8 / 3 END,
       (g / 3.0)::float4,
       decode(repeat(lpad(to_hex(g % 256), 2, '0'), g % 900), 'hex'),
       CASE WHEN g % 11 = 0 THEN NULL ELSE g % 2 = 0 END,
       timestamp '2024-01-01' + g * interval '1.25 second',
       timestamptz '2024-01-01 00:00+02' + g * interval '1 minute',
       (g * 1.125)::numeric(20, 3),
       md5(g::text)::uuid
FROM generate_series(1, {rows}) g
""".format(rows=ROWS)


@pytest.fixture(scope="module")
def table(pgiris):
    with pgiris.postgres.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS rowset_t")
        conn.execute("CREATE TABLE rowset_t (%s)" % COLUMNS)
        conn.execute(FILL)
    yield "rowset_t"
    with pgiris.postgres.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS rowset_t")


def direct(pgiris, sql, binary=False):
    with pgiris.postgres.connect() as conn:
        return conn.cursor(binary=binary).execute(sql).fetchall()


def through(pgiris, sql, binary=False):
    with pgiris.connect("pg") as conn:
        return conn.cursor(binary=binary).execute(sql).fetchall()


def test_every_value_as_postgresql_gives_it(pgiris, table):
    sql = "SELECT * FROM rowset_t ORDER BY id"
    got = through(pgiris, sql)
    assert len(got) == ROWS
    want = direct(pgiris, sql)
    for g, w in zip(got, want):
        assert g == w or _nan_row(g, w), "row %s differs" % (w[0],)
    # The values that cannot fit a buffer were there to be read again.
    assert max(len(r[1] or "") for r in got) > 1024
    assert max(len((r[2] or "").encode()) for r in got) > 32


def _nan_row(g, w):
    """The rows are equal but for NaN, which is not equal to itself."""
    return len(g) == len(w) and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(g, w))


def test_simple_protocol_text_as_postgresql_prints_it(pgiris, table):
    """The simple protocol's handle, and the text of every value byte for
    byte (timestamptz aside: its text depends on the session's TimeZone)."""
    sql = "SELECT id, s, v, f, f4, b, bo, ts, n, u FROM rowset_t ORDER BY id"
    mine = pgwire.login(pgiris, "pg", user="demo")
    theirs = pgwire.Conn(pgiris.postgres.port)
    try:
        theirs.startup("postgres", "postgres")
        got = mine.simple_query(sql)[0][1]
        want = theirs.simple_query(sql)[0][1]
    finally:
        mine.close()
        theirs.close()
    assert len(got) == ROWS
    assert got == want


def test_binary_format(pgiris, table):
    sql = "SELECT * FROM rowset_t ORDER BY id"
    got = through(pgiris, sql, binary=True)
    want = direct(pgiris, sql, binary=True)
    assert len(got) == ROWS
    for g, w in zip(got, want):
        assert g == w or _nan_row(g, w), "row %s differs" % (w[0],)


@pytest.mark.parametrize("fmt", ["", " (FORMAT csv)"])
def test_copy_to(pgiris, table, fmt):
    def copy_out(conn):
        data = bytearray()
        with conn.cursor().copy("COPY (SELECT * FROM rowset_t ORDER BY id) TO STDOUT" + fmt) as cp:
            for chunk in cp:
                data += chunk
        return bytes(data)

    with pgiris.connect("pg") as conn:
        got = copy_out(conn)
    with pgiris.postgres.connect() as conn:
        want = copy_out(conn)
    assert got.count(b"\n") >= ROWS
    assert got == want


@pytest.mark.parametrize("rows", [63, 64, 65, 128, 129, 191, 1000, 1001])
def test_results_at_a_rowsets_edge(pgiris, table, rows):
    sql = "SELECT id, s, v, f4 FROM rowset_t WHERE id <= %d ORDER BY id" % rows
    got = through(pgiris, sql)
    assert [r[0] for r in got] == list(range(1, rows + 1))
    assert got == direct(pgiris, sql)


def test_error_in_the_middle_of_a_result(pgiris, table):
    with pgiris.connect("pg") as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT id, 1 / (id - 2500) FROM rowset_t ORDER BY id").fetchall()
        # The connection, and the backend connection behind it, go on.
        assert conn.execute("SELECT count(*), max(length(s)) FROM rowset_t").fetchone() == \
            direct(pgiris, "SELECT count(*), max(length(s)) FROM rowset_t")[0]
        got = conn.execute("SELECT id, s FROM rowset_t ORDER BY id").fetchall()
        assert got == direct(pgiris, "SELECT id, s FROM rowset_t ORDER BY id")


def test_a_portal_read_a_few_rows_at_a_time(pgiris, table):
    """Execute with a row limit keeps the cursor between calls: each call's
    rows follow the last call's, none skipped, none twice."""
    sql = b"SELECT id, s FROM rowset_t ORDER BY id"
    conn = pgwire.login(pgiris, "pg", user="demo")
    try:
        conn.send(pgwire.message(b"P", b"\0" + sql + b"\0\0\0")
                  + pgwire.message(b"B", b"\0\0\0\0\0\0\0\0")
                  + b"".join(pgwire.message(b"E", b"\0" + struct.pack("!I", 100)) for _ in range(ROWS // 100 + 1))
                  + pgwire.message(b"S"))
        ids, suspended = [], 0
        while True:
            t, payload = conn.read_message(timeout=30)
            if t == b"D":
                ids.append(int(pgwire.parse_data_row(payload)[0]))
            elif t == b"s":
                suspended += 1
            elif t == b"E":
                pytest.fail("error: %r" % pgwire.parse_error_fields(payload))
            elif t == b"Z":
                break
        assert ids == list(range(1, ROWS + 1))
        assert suspended == ROWS // 100 - 1 or suspended == ROWS // 100
    finally:
        conn.close()


def test_a_cursor_fetched_in_batches(pgiris, table):
    """DECLARE and FETCH in batches: each FETCH is a result of its own."""
    got = []
    with pgiris.connect("pg", autocommit=False) as conn:
        conn.execute("DECLARE rs_cursor CURSOR FOR SELECT id, s, v FROM rowset_t ORDER BY id")
        while True:
            batch = conn.execute("FETCH 500 FROM rs_cursor").fetchall()
            if not batch:
                break
            got += batch
        conn.rollback()
    assert got == direct(pgiris, "SELECT id, s, v FROM rowset_t ORDER BY id")


def test_a_result_too_wide_for_rowsets(pgiris, table):
    """40 text columns would need 2.5 MB of rowset buffers (more than 1 MB):
    such a result is read row by row, and must come out the same."""
    cols = ", ".join("repeat(chr(65 + (id + %d) %% 26), (id * %d) %% 1500) AS c%d" % (i, i + 1, i)
                     for i in range(40))
    sql = "SELECT id, %s FROM rowset_t WHERE id <= 300 ORDER BY id" % cols
    got = through(pgiris, sql)
    assert len(got) == 300 and len(got[0]) == 41
    assert got == direct(pgiris, sql)
