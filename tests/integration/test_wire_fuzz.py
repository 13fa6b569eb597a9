"""Seeded fuzzing of the frontend messages that follow a login.

Each case logs in on a raw socket, sends a mutated sequence of extended
query, COPY, fast-path and simple query messages, and then either

- (a well-framed case) CopyFail, Sync, ROLLBACK and a marker query: the marker's row
  and ReadyForQuery must come back, or the connection must be closed after
  an ErrorResponse; or
- (a case whose framing lies: lengths, truncation) the end of its sending
  side: the connection must be closed within the deadline.

Every ErrorResponse must carry a five-character SQLSTATE.  After each case
no pgiris process may have died or been replaced, a fresh client must log
in and run SELECT 1 on the same database, and pgiris's stderr must hold no
sanitizer report.

The cases are deterministic: seed and count come from PGIRIS_FUZZ_SEED and
PGIRIS_FUZZ_CASES (per backend) for longer runs; PGIRIS_FUZZ_LOG names a
file that gets each failing case's bytes as hex.
"""

import collections
import json
import os
import random
import socket
import struct
import time

import pytest

import pgwire
from conftest import is_alive

msg = pgwire.message

SEED = int(os.environ.get("PGIRIS_FUZZ_SEED", "20240611"))
CASES = int(os.environ.get("PGIRIS_FUZZ_CASES", "400"))
LOG = os.environ.get("PGIRIS_FUZZ_LOG")
REPLY_TIMEOUT = 5.0
MARKER = "fz-end"

SYNC = msg(b"S")
FLUSH = msg(b"H")


# -- message builders ------------------------------------------------------------

def cstr(s):
    return (s.encode() if isinstance(s, str) else s) + b"\0"


def parse(name, sql, oids=(), count=None):
    body = cstr(name) + cstr(sql) + struct.pack("!h", len(oids) if count is None else count)
    return msg(b"P", body + b"".join(struct.pack("!i", o) for o in oids))


def bind(portal, stmt, values, pformats=(), rformats=(), nvalues=None, npformats=None, nrformats=None):
    """values: bytes, or None for NULL, or an int for a bare length with no bytes."""
    body = cstr(portal) + cstr(stmt)
    body += struct.pack("!h", len(pformats) if npformats is None else npformats)
    body += b"".join(struct.pack("!h", f) for f in pformats)
    body += struct.pack("!h", len(values) if nvalues is None else nvalues)
    for v in values:
        if v is None:
            body += struct.pack("!i", -1)
        elif isinstance(v, int):
            body += struct.pack("!i", v)
        else:
            body += struct.pack("!i", len(v)) + v
    body += struct.pack("!h", len(rformats) if nrformats is None else nrformats)
    body += b"".join(struct.pack("!h", f) for f in rformats)
    return msg(b"B", body)


def describe(kind, name=""):
    return msg(b"D", kind + cstr(name))


def close(kind, name=""):
    return msg(b"C", kind + cstr(name))


def execute(portal="", max_rows=0):
    return msg(b"E", cstr(portal) + struct.pack("!i", max_rows))


def function_call(oid, args, argformats=(), resformat=0):
    body = struct.pack("!ih", oid, len(argformats)) + b"".join(struct.pack("!h", f) for f in argformats)
    body += struct.pack("!h", len(args))
    for a in args:
        body += struct.pack("!i", -1) if a is None else struct.pack("!i", len(a)) + a
    return msg(b"F", body + struct.pack("!h", resformat))


def query(sql):
    return msg(b"Q", cstr(sql))


# -- what the cases are made of ----------------------------------------------------

INT2, INT4, INT8, FLOAT4, FLOAT8, BOOL = 21, 23, 20, 700, 701, 16
DATE, TIME, TIMESTAMP, TIMESTAMPTZ, TIMETZ, INTERVAL = 1082, 1083, 1114, 1184, 1266, 1186
NUMERIC, UUID, TEXT, VARCHAR, BYTEA, JSONB, UNKNOWN = 1700, 2950, 25, 1043, 17, 3802, 705
TYPED_OIDS = [INT2, INT4, INT8, FLOAT4, FLOAT8, BOOL, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, TIMETZ,
              INTERVAL, NUMERIC, UUID, TEXT, VARCHAR, BYTEA, JSONB, UNKNOWN, 0, 26, 1042, 114, 790,
              999999, -1]

SQL = [
    "SELECT 1", "SELECT $1", "SELECT $1, $2", "SELECT $2", "SELECT $1 AS a, $1 AS b",
    "SELECT id, name FROM customers WHERE id = $1",
    "SELECT name, price FROM products WHERE price > $1 ORDER BY id",
    "SELECT * FROM products ORDER BY id", "SELECT * FROM customers ORDER BY id LIMIT $1",
    "SELECT count(*) FROM customers WHERE city = $1 OR $2 IS NULL",
    "INSERT INTO fz_t (a, b) VALUES ($1, $2)", "UPDATE fz_t SET b = $1 WHERE a = $2",
    "DELETE FROM fz_t WHERE a > $1", "SELECT * FROM fz_t ORDER BY a",
    "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s", "RELEASE s", "ROLLBACK TO s", "START TRANSACTION READ ONLY",
    "SELECT 1; SELECT 2", "SELECT $1; SELECT $2", "", " ", ";", "-- comment only", "/* unterminated",
    "SELEC garbage", "SELECT 'unterminated", "SELECT $0", "SELECT $99999", "SELECT $1 WHERE $3 IS NULL",
    "SELECT $-1", "SELECT $2147483648", "SELECT \"", "SELECT 1 FROM nosuchtable",
    "COPY fz_t FROM STDIN", "COPY fz_t (a, b) FROM STDIN WITH (FORMAT csv)", "COPY fz_t TO STDOUT",
    "COPY (SELECT * FROM customers) TO STDOUT", "COPY fz_t FROM STDIN WITH (FORMAT binary)",
    "DECLARE fzc CURSOR FOR SELECT * FROM products", "FETCH 2 FROM fzc", "CLOSE fzc", "CLOSE ALL",
    "PREPARE fzp AS SELECT $1", "EXECUTE fzp(1)", "DEALLOCATE fzp", "DEALLOCATE ALL",
    "SET statement_timeout = 0", "SET client_encoding = 'LATIN1'", "SHOW ALL", "RESET ALL", "DISCARD ALL",
    "SET search_path = \"\"", "SHOW transaction_isolation", "LISTEN fz", "NOTIFY fz", "SELECT pg_sleep(0)",
    "SELECT E'\\xff'", "SELECT 'caf\xe9'", "SELECT 'x' || $1 || 'y'", "SELECT CAST($1 AS integer)",
    "SELECT $1::int + 1", "SELECT $1::numeric", "SELECT $1::date", "SELECT $1::timestamp", "SELECT $1::bytea",
    "SELECT greatest($1, $2)", "SELECT coalesce($1, 'z')", "VALUES ($1), ($2)", "SELECT ?", "SELECT :a",
]

NAMES = ["", "", "", "s1", "s2", "p1", "fzc", "fzp", "x" * 63, "x" * 64, "y" * 300, "n\xe9", "unnamed"]

COPY_ROWS = [b"1\ta\n", b"2\tb\n3\t\\N\n", b"x\ty\n", b"1\n", b"1\ta\tz\n", b"\\.\n", b"4\t\xff\xfe\n",
             b"5\t" + b"q" * 5000 + b"\n", b"", b"\n", b"6,c\n", b"PGCOPY\n\xff\r\n\0", b"7\ta"]


def rnd_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def rnd_name(rng):
    r = rng.random()
    if r < 0.05:
        return b"bad\xff\xfe"
    if r < 0.08:
        return "z" * rng.choice([1000, 20000])
    return rng.choice(NAMES)


def rnd_sql(rng):
    sql = rng.choice(SQL)
    r = rng.random()
    if r < 0.05:
        return sql.encode() + b"\xc3\x28"                  # invalid UTF-8
    if r < 0.08:
        return sql.encode() + b" \xed\xa0\x80"             # an encoded surrogate
    if r < 0.1:
        return sql + " " + "a" * rng.choice([70, 1000, 70000])  # a very long identifier
    if r < 0.12:
        return "SELECT " + ", ".join("$%d" % (i + 1) for i in range(rng.choice([100, 1000, 33000])))
    return sql


def numeric_binary(rng):
    ndigits = rng.choice([0, 1, 2, 3, 5, 40, 1000, 32767, -1, -32768])
    weight = rng.choice([0, 1, -1, 2, -6, 100, 32767, -32768, rng.randint(-40000, 40000) & 0x7FFF])
    sign = rng.choice([0, 0x4000, 0xC000, 0xD000, 0xF000, 0x1234, 0xFFFF])
    dscale = rng.choice([0, 2, 16383, 16384, 0xFFFF, rng.getrandbits(16)])
    real = max(0, min(ndigits, 50)) if rng.random() < 0.7 else rng.randint(0, 5)
    digits = [rng.choice([0, 1, 9999, 10000, 65535, rng.getrandbits(16)]) for _ in range(real)]
    body = struct.pack("!hhHH", ndigits, weight, sign, dscale) + b"".join(struct.pack("!H", d) for d in digits)
    if rng.random() < 0.2:
        body = body[:rng.randint(0, len(body))]
    return body


def binary_value(rng, oid):
    if oid == NUMERIC and rng.random() < 0.7:
        return numeric_binary(rng)
    if oid == JSONB and rng.random() < 0.5:
        return b"\x01" + rng.choice([b"{}", b"[1,2]", b"{\"a\":", b"\xff", b""])
    size = rng.choice([0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 64])
    special = rng.random()
    if special < 0.3 and size in (2, 4, 8, 12, 16):
        fill = rng.choice([b"\x7f" + b"\xff" * (size - 1), b"\x80" + b"\0" * (size - 1), b"\xff" * size,
                           b"\0" * size])
        return fill
    return rnd_bytes(rng, size)


def text_value(rng):
    return rng.choice([b"1", b"-1", b"0", b"abc", b"", b"2147483648", b"9223372036854775808", b"1e400",
                       b"NaN", b"infinity", b"2024-02-30", b"00:00:99", b"t", b"\xff\xfe", b"a\0b",
                       b"12345678901234567890.123", b"-0", b"  7  ", b"x" * 3000, b"0x10", b"1.5",
                       b"{\"a\":1}", b"2000-01-01 00:00:00+14:59"])


def rnd_bind(rng, stmt=None, portal=None):
    stmt = rnd_name(rng) if stmt is None else stmt
    portal = rnd_name(rng) if portal is None else portal
    n = rng.choice([0, 0, 1, 1, 2, 2, 3, 5, 100])
    pformats = rng.choice([(), (), (0,), (1,), tuple(rng.choice([0, 1]) for _ in range(n)),
                           (2,), (-1,), (1, 0, 1, 0, 1, 0, 1)])
    oids = [rng.choice(TYPED_OIDS) for _ in range(n)]
    values = []
    for i in range(n):
        fmt = pformats[0] if len(pformats) == 1 else pformats[i] if i < len(pformats) else 0
        r = rng.random()
        if r < 0.1:
            values.append(None)
        elif r < 0.15:
            values.append(rng.choice([-2, -100, 0x7FFFFFFF, 1 << 20, 100]))   # a length with no bytes
        else:
            values.append(binary_value(rng, oids[i]) if fmt == 1 else text_value(rng))
    rformats = rng.choice([(), (), (0,), (1,), (1, 1), (0, 1, 0), (2,), (-1,), (1,) * 40])
    kw = {}
    if rng.random() < 0.15:
        kw[rng.choice(["nvalues", "npformats", "nrformats"])] = rng.choice([-1, 0, 1, 7, 32767, -32768])
    return oids, bind(portal, stmt, values, pformats, rformats, **kw)


def rnd_message(rng):
    k = rng.randrange(17)
    if k < 3:
        oids = [rng.choice(TYPED_OIDS) for _ in range(rng.choice([0, 0, 1, 2, 3, 10]))]
        count = rng.choice([None] * 8 + [-1, 32767, -32768, 65, len(oids) + 1])
        return parse(rnd_name(rng), rnd_sql(rng), oids, count)
    if k < 6:
        return rnd_bind(rng)[1]
    if k == 6:
        return describe(rng.choice([b"S", b"P", b"S", b"P", b"X", b"\0", b"s", b""]), rnd_name(rng))
    if k == 7:
        return close(rng.choice([b"S", b"P", b"S", b"P", b"Q", b"\0", b""]), rnd_name(rng))
    if k == 8:
        return execute(rnd_name(rng), rng.choice([0, 0, 1, 2, -1, 0x7FFFFFFF, -0x80000000]))
    if k == 9:
        return rng.choice([SYNC, FLUSH])
    if k == 10:
        args = [rnd_bytes(rng, rng.choice([0, 4, 8])) for _ in range(rng.choice([0, 1, 2]))]
        return function_call(rng.choice([0, 1598, 2275, 16, -1]), args,
                             rng.choice([(), (0,), (1,), (1, 1, 1)]), rng.choice([0, 1, 7]))
    if k == 11:
        return msg(b"d", rng.choice(COPY_ROWS))
    if k == 12:
        return msg(b"c", rng.choice([b"", b"junk"]))
    if k == 13:
        return msg(b"f", rng.choice([b"fz fail\0", b"", b"no nul", b"\xff\0"]))
    if k == 14:
        return query(rnd_sql(rng))
    if k == 15:
        return msg(rng.choice([b"p", b"v", b"\0", b"\xff", b"a"]), rnd_bytes(rng, rng.choice([0, 3, 20])))
    return rng.choice([SYNC, FLUSH, execute()])


def typed_flow(rng):
    """Parse with declared types, Bind with binary (or text) values of random sizes."""
    n = rng.choice([1, 1, 2, 3])
    oids = [rng.choice(TYPED_OIDS) for _ in range(n)]
    sql = "SELECT " + ", ".join("$%d" % (i + 1) for i in range(n))
    if rng.random() < 0.3:
        sql = rng.choice(["INSERT INTO fz_t (a, b) VALUES ($1, $2)", "SELECT id FROM customers WHERE id = $1",
                          "SELECT $1::text, $2::text, $3::text"])
        n = sql.count("$")
    fmts = tuple(rng.choice([1, 1, 0]) for _ in range(n))
    values = [binary_value(rng, oids[i] if i < len(oids) else 0) if fmts[i] == 1 else text_value(rng)
              for i in range(n)]
    rf = rng.choice([(), (1,), (0,), (1,) * n])
    return [parse("", sql, oids), bind("", "", values, fmts, rf), describe(b"P"), execute(), SYNC]


def extended_flow(rng):
    """A plausible Parse/Bind/Describe/Execute pipeline, mutated message by message."""
    stmt, portal = rng.choice(NAMES[:7]), rng.choice(NAMES[:7])
    seq = [parse(stmt, rnd_sql(rng), [rng.choice(TYPED_OIDS) for _ in range(rng.choice([0, 0, 1, 2]))])]
    if rng.random() < 0.3:
        seq.append(parse(stmt, "SELECT 2"))     # a name used twice
    seq.append(rnd_bind(rng, stmt, portal)[1])
    seq.append(describe(rng.choice([b"S", b"P"]), rng.choice([stmt, portal])))
    seq.append(execute(portal, rng.choice([0, 1, 2, -1, 0x7FFFFFFF])))
    if rng.random() < 0.5:
        seq.append(execute(portal, rng.choice([0, 1, -5])))
    if rng.random() < 0.3:
        seq.append(close(b"P", portal))
    if rng.random() < 0.5:
        seq.append(rng.choice([SYNC, FLUSH]))
    return seq


def copy_flow(rng):
    """Into COPY FROM STDIN (simple or extended), then data, messages of other kinds, and an end."""
    sql = rng.choice(["COPY fz_t FROM STDIN", "COPY fz_t (a, b) FROM STDIN WITH (FORMAT csv)",
                      "COPY fz_t FROM STDIN WITH (FORMAT binary)"])
    if rng.random() < 0.5:
        seq = [query(sql)]
    else:
        seq = [parse("", sql), bind("", "", []), execute()] + ([SYNC] if rng.random() < 0.3 else [FLUSH])
    for _ in range(rng.randint(0, 4)):
        seq.append(msg(b"d", rng.choice(COPY_ROWS)) if rng.random() < 0.6 else rnd_message(rng))
    seq.append(rng.choice([msg(b"c"), msg(b"c"), msg(b"f", b"fz\0"), msg(b"c", b"tail"), SYNC]))
    return seq


def mixed_flow(rng):
    return [rnd_message(rng) for _ in range(rng.randint(1, 8))]


def mutate_framed(rng, m):
    """Change a message's content, keeping its length word true."""
    t, body = m[:1], m[5:]
    r = rng.random()
    if r < 0.25 and body:
        body = body[:rng.randrange(len(body))]                      # cut short, length still true
    elif r < 0.45 and body:
        i = rng.randrange(len(body))
        body = body[:i] + bytes([rng.getrandbits(8)]) + body[i + 1:]
    elif r < 0.6:
        i = rng.randint(0, len(body))
        body = body[:i] + b"\0" + body[i:]
    elif r < 0.75:
        body = body + rnd_bytes(rng, rng.choice([1, 2, 5]))         # trailing bytes
    elif r < 0.85 and len(body) >= 2:
        i = rng.randrange(len(body) - 1)
        body = body[:i] + b"\xff\xff" + body[i + 2:]                # a count or length of -1
    else:
        body = body.replace(b"\0", b"", 1)                          # a string without its NUL
    return msg(t, body)


def mutate_unframed(rng, data):
    """Make the byte stream lie about lengths, or end it early."""
    r = rng.random()
    starts, pos = [], 0
    while pos + 5 <= len(data):
        starts.append(pos)
        pos += 1 + struct.unpack("!I", data[pos + 1:pos + 5])[0]
    p = rng.choice(starts)
    (length,) = struct.unpack("!I", data[p + 1:p + 5])
    if r < 0.4:
        new = rng.choice([0, 1, 3, 4, length - 1, length + 1, length + rng.randint(2, 50),
                          max(4, length - rng.randint(2, 10)), 0x7FFFFFFF, 0xFFFFFFFF, 1 << 20])
        return data[:p + 1] + struct.pack("!I", new & 0xFFFFFFFF) + data[p + 5:]
    if r < 0.8:
        return data[:rng.randint(p + 1, min(len(data), p + 1 + length) - 1)] if length > 0 else data[:p + 1]
    return data + rnd_bytes(rng, rng.randint(1, 12))


FLOWS = [(0.3, typed_flow), (0.6, extended_flow), (0.75, copy_flow), (1.0, mixed_flow)]


def one_flow(rng):
    r = rng.random()
    seq = next(flow for bound, flow in FLOWS if r < bound)(rng)
    if rng.random() < 0.4:
        i = rng.randrange(len(seq))
        seq[i] = mutate_framed(rng, seq[i])
    return seq


def gen_case(seed):
    """(bytes to send, how to send them) for one case.  How: "framed" (then
    the marker query), "unframed" (then the end of the sending side),
    "chunked" (framed, sent a few bytes at a time) or "reset" (framed, and the
    socket reset before the answer is read)."""
    rng = random.Random(seed)
    seq = []
    for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 4)):   # several syncs: state carried over
        seq += one_flow(rng) + [SYNC]
    if rng.random() < 0.5:
        seq.pop()                                                       # a pipeline without its Sync
    data = b"".join(seq)
    r = rng.random()
    if r < 0.15:
        return mutate_unframed(rng, data), "unframed"
    if r < 0.22:
        return data, "chunked"
    if r < 0.27:
        return data, "reset"
    return data, "framed"


# -- running a case ------------------------------------------------------------------

class Outcome:
    def __init__(self):
        self.types = b""
        self.states = []
        self.problems = []
        self.result = None      # "answered", "closed", "hang"

    def __repr__(self):
        return "%s types=%r states=%r problems=%r" % (self.result, self.types[-40:], self.states[-5:],
                                                       self.problems)


def _split(buf, out):
    while len(buf) >= 5:
        (length,) = struct.unpack("!I", buf[1:5])
        if length < 4:
            out.problems.append("server sent a message of length %d" % length)
            return b""
        if len(buf) < 1 + length:
            break
        t, payload = buf[:1], buf[5:1 + length]
        buf = buf[1 + length:]
        out.types += t
        if t == b"E":
            fields = pgwire.parse_error_fields(payload)
            state = fields.get("C", "")
            out.states.append(state + ":" + fields.get("M", "")[:80])
            if len(state) != 5:
                out.problems.append("ErrorResponse without a SQLSTATE: %r" % fields)
        elif t == b"D" and MARKER.encode() in payload:
            out.marker = True
        elif t == b"Z" and getattr(out, "marker", False):
            out.result = "answered"
    return buf


def send_chunked(sock, data, seed):
    rng = random.Random(seed)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pos = 0
    while pos < len(data):
        n = rng.choice([1, 2, 3, 5, 7, 64, 1000])
        sock.sendall(data[pos:pos + n])
        pos += n
        time.sleep(rng.choice([0, 0, 0.001]))


def run_case(port, db, user, password, data, how, timeout=REPLY_TIMEOUT):
    """Send one case on a fresh login; return its Outcome."""
    out = Outcome()
    framed = how != "unframed"
    c = pgwire.Conn(port, timeout=timeout)
    try:
        c.startup(user, db, password)
        try:
            if how == "chunked":
                send_chunked(c.sock, data, len(data))
            else:
                c.send(data)
            if how == "reset":
                time.sleep(0.002 * (len(data) % 4))
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                out.result = "reset"
                return out
            if framed:
                c.send(msg(b"f", b"fz\0") + SYNC + query("ROLLBACK") + query("SELECT '%s'" % MARKER))
            else:
                c.sock.shutdown(socket.SHUT_WR)
        except OSError:         # already closed by the server: what it sent is still read
            pass
        buf = b""
        deadline = time.monotonic() + timeout
        while out.result is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                out.result = "hang"
                out.problems.append("no answer and no close within %.0f s" % timeout)
                break
            c.sock.settimeout(remaining)
            try:
                chunk = c.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                out.result = "closed"
                if buf:
                    out.problems.append("closed in the middle of a message")
                break
            buf = _split(buf + chunk, out)
        if out.result == "closed" and framed and b"E" not in out.types:
            out.problems.append("closed without an ErrorResponse")
    finally:
        c.close()
    return out


def witness_login(port, db, password):
    c = pgwire.Conn(port, timeout=REPLY_TIMEOUT)
    try:
        c.startup("demo", db, password)
        return c.simple_query("SELECT 1", timeout=REPLY_TIMEOUT)[0][1] == [["1"]]
    finally:
        c.close()


class Health:
    """Processes, a fresh client, and the sanitizer output, after each case."""

    def __init__(self, inst):
        self.inst = inst
        self.workers = inst.children()
        self.log_offset = len(inst.stderr_text())

    def problems(self, db):
        found = []
        if self.inst.proc.poll() is not None:
            found.append("the broker exited with %s" % self.inst.proc.returncode)
        elif not all(is_alive(w) for w in self.workers) or self.inst.children() != self.workers:
            found.append("workers %s became %s" % (self.workers, self.inst.children()))
        text = self.inst.stderr_text()
        new, self.log_offset = text[self.log_offset:], len(text)
        found += ["sanitizer: " + line.strip() for line in new.splitlines()
                  if "ERROR: AddressSanitizer" in line or "runtime error:" in line][:3]
        if self.inst.proc.poll() is None:
            try:
                if not witness_login(self.inst.port, db, self.inst.users["demo"]):
                    found.append("a fresh client's SELECT 1 got a wrong answer")
            except Exception as exc:   # noqa: BLE001 - any failure of the witness is the finding
                found.append("a fresh client failed: %r" % exc)
        return found


def setup_tables(inst):
    for db in ("demo", "pg"):
        with inst.connect(db) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS fz_t (a integer, b text)")


def fuzz(inst, db, seeds, log=None):
    health = Health(inst)
    findings = []
    tally = collections.Counter()
    for seed in seeds:
        data, how = gen_case(seed)
        out = run_case(inst.port, db, "demo", inst.users["demo"], data, how)
        tally[out.result] += 1
        tally.update(state[:5] for state in out.states)
        problems = out.problems + health.problems(db)
        if problems:
            findings.append((seed, problems, out))
            if log:
                log.write(json.dumps({"db": db, "seed": seed, "how": how, "hex": data.hex(),
                                      "problems": problems, "types": out.types.decode("latin-1"),
                                      "states": out.states}) + "\n")
                log.flush()
            if inst.proc.poll() is not None or "workers" in " ".join(problems):
                # A dead or replaced process: take the new ones as the baseline and go on.
                time.sleep(1)
                health = Health(inst)
                if inst.proc.poll() is not None:
                    break
    print("%s: %d cases: %s" % (db, len(seeds), sorted(tally.items(), key=str)))
    return findings


@pytest.fixture(scope="module")
def fuzz_pgiris(pgiris):
    setup_tables(pgiris)
    return pgiris


@pytest.mark.parametrize("database", ["demo", "pg"])
def test_wire_fuzz(fuzz_pgiris, database):
    base = SEED * 1000003 + (0 if database == "demo" else 500000)
    log = open(LOG, "a") if LOG else None
    try:
        findings = fuzz(fuzz_pgiris, database, range(base, base + CASES), log)
    finally:
        if log:
            log.close()
    assert not findings, "\n".join("seed %d: %s (%r)" % (s, p, o) for s, p, o in findings[:10])
    with fuzz_pgiris.connect("demo") as conn:
        assert conn.execute("SELECT 'w'").fetchone() == ("w",)
    with fuzz_pgiris.connect("pg") as conn:
        assert conn.execute("SELECT 'w'").fetchone() == ("w",)


# -- defects the fuzzing found ---------------------------------------------------------

def exchange(inst, database, data):
    with pgwire.login(inst, database) as c:
        c.send(data)
        return pgwire.until_ready(c, timeout=REPLY_TIMEOUT)


@pytest.mark.parametrize("database", ["demo", "pg"])
def test_portal_run_to_completion_is_not_run_again(fuzz_pgiris, database):
    """A second Execute of a portal that has run to completion: PostgreSQL
    answers 55000 (portal cannot be run) for an INSERT and a bare
    "SELECT 0" for a query.  pgiris ran the statement again: the row was
    inserted twice and the query's rows sent twice."""
    inst = fuzz_pgiris
    with inst.connect(database) as conn:
        conn.execute("DELETE FROM fz_t WHERE a = 4242")
    seen = exchange(inst, database, parse("", "INSERT INTO fz_t (a, b) VALUES (4242, 'once')")
                    + bind("p1", "", []) + execute("p1") + execute("p1") + SYNC)
    assert inst.direct(database, "SELECT count(*) FROM fz_t WHERE a = 4242") == [(1,)]
    assert seen == [("1", None), ("2", None), ("C", "INSERT 0 1"), ("E", "55000"), ("Z", None)]
    seen = exchange(inst, database, parse("", "SELECT 'once'") + bind("p2", "", [])
                    + execute("p2") + execute("p2") + SYNC)
    assert seen == [("1", None), ("2", None), ("D", ["once"]), ("C", "SELECT 1"), ("C", "SELECT 0"),
                    ("Z", None)]


def test_fetch_portal_run_to_completion_fetches_no_more(fuzz_pgiris):
    """A FETCH's portal, executed again, is at its end as PostgreSQL has it
    (FETCH 0): neither the next rows of the cursor nor an error that would
    abort the transaction."""
    with pgwire.login(fuzz_pgiris, "pg") as c:
        for step in (query("BEGIN"), query("DECLARE fz_c CURSOR FOR SELECT g FROM generate_series(1, 5) g")):
            c.send(step)
            pgwire.until_ready(c, timeout=REPLY_TIMEOUT)
        c.send(parse("", "FETCH 2 FROM fz_c") + bind("pf", "", []) + execute("pf") + execute("pf") + SYNC)
        seen = pgwire.until_ready(c, timeout=REPLY_TIMEOUT)
        c.send(query("COMMIT"))
        pgwire.until_ready(c, timeout=REPLY_TIMEOUT)
    assert [k for k, _ in seen if k in ("D", "C", "E")] == ["D", "D", "C", "C"], seen
    assert [v for k, v in seen if k == "C"] == ["FETCH 2", "FETCH 0"]


@pytest.mark.parametrize("database", ["demo", "pg"])
@pytest.mark.parametrize("sql", ["SELECT {d '2020-01-02'}", "SELECT {fn ucase('abc')}", "{call version()}",
                                 "SELECT 1 {", "SELECT 1 }"])
@pytest.mark.parametrize("protocol", ["simple", "extended"])
def test_odbc_escapes_are_not_interpreted(fuzz_pgiris, database, sql, protocol):
    """Braces are no PostgreSQL syntax: PostgreSQL answers 42601 to each of
    these.  The ODBC drivers read them as escape clauses ({d ...}, {fn ...},
    {call ...}): pgiris ran them (a date, UCASE, version(); an
    EmptyQueryResponse for {call} over Parse), or the PostgreSQL driver's
    failure to convert an unbalanced one came back as XX000."""
    if protocol == "simple":
        data = query(sql)
    else:
        data = parse("", sql) + bind("", "", []) + execute() + SYNC
    seen = exchange(fuzz_pgiris, database, data)
    states = [v for k, v in seen if k == "E"]
    assert len(states) == 1 and states[0].startswith("42"), seen
    assert not any(k in ("D", "I") for k, _ in seen), seen
