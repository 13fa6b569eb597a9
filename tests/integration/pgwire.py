"""A minimal PostgreSQL wire-protocol (v3) client over a raw socket.

libpq refuses to send malformed traffic, so the tests that feed pgiris bad
input build the bytes themselves with these helpers.  Only what the tests
need is here: startup, the three password methods, simple queries,
reading messages with a deadline, and TLS whose two directions the test
closes itself (close_notify, shutdown of the socket's sending side).
"""

import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import time

PROTOCOL_3_0 = 3 << 16
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102

AUTH_OK = 0
AUTH_CLEARTEXT = 3
AUTH_MD5 = 5
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
AUTH_SASL_FINAL = 12


class ProtocolError(Exception):
    pass


class ServerError(Exception):
    """An ErrorResponse; fields maps field codes ('S', 'C', 'M', ...) to values."""

    def __init__(self, fields):
        self.fields = fields
        super().__init__("%s %s: %s" % (fields.get("S"), fields.get("C"), fields.get("M")))

    @property
    def sqlstate(self):
        return self.fields.get("C")

    @property
    def message(self):
        return self.fields.get("M", "")


def startup_packet(params, version=PROTOCOL_3_0):
    body = struct.pack("!I", version)
    for key, value in params.items():
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def request_packet(code):
    return struct.pack("!II", 8, code)


def message(type_byte, payload=b""):
    return type_byte + struct.pack("!I", len(payload) + 4) + payload


def query_message(sql):
    return message(b"Q", sql.encode() + b"\0")


def parse_bind_execute(sql, statement=b""):
    """Parse sql (as statement, unnamed by default), Bind it without
    parameters to the unnamed portal, Execute it; no Sync."""
    return (message(b"P", statement + b"\0" + sql.encode() + b"\0\0\0")
            + message(b"B", b"\0" + statement + b"\0\0\0\0\0\0\0")
            + message(b"E", b"\0\0\0\0\0"))


def extended_query(sql, params):
    """Parse sql unnamed, Bind the text parameters (None: NULL) to the
    unnamed portal, Describe it, Execute it, Sync."""
    bind = b"\0\0\0\0" + struct.pack("!H", len(params))
    for p in params:
        if p is None:
            bind += struct.pack("!i", -1)
        else:
            v = str(p).encode()
            bind += struct.pack("!i", len(v)) + v
    bind += b"\0\0"
    return (message(b"P", b"\0" + sql.encode() + b"\0\0\0")
            + message(b"B", bind)
            + message(b"D", b"P\0")
            + message(b"E", b"\0\0\0\0\0")
            + message(b"S"))


def parse_error_fields(payload):
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


class Conn:
    """One raw connection.  Every read has a deadline so a test cannot hang."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.params = {}
        self.backend_key = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("no data before the deadline")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf += chunk

    def read_exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_message(self, timeout=None):
        """Return (type byte, payload).  Raises EOFError if the server closed."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < 5:
            self._fill(deadline)
        type_byte = self.buf[:1]
        (length,) = struct.unpack("!I", self.buf[1:5])
        if length < 4:
            raise ProtocolError("bad message length %d" % length)
        while len(self.buf) < 1 + length:
            self._fill(deadline)
        payload = self.buf[5:1 + length]
        self.buf = self.buf[1 + length:]
        return type_byte, payload

    def wait_closed(self, timeout):
        """Read until the server closes the socket; return the messages seen.

        Raises socket.timeout if the connection is still open at the deadline.
        """
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                while len(self.buf) >= 5:
                    (length,) = struct.unpack("!I", self.buf[1:5])
                    if len(self.buf) < 1 + length:
                        break
                    seen.append((self.buf[:1], self.buf[5:1 + length]))
                    self.buf = self.buf[1 + length:]
                self._fill(deadline)
            except EOFError:
                return seen
            except ConnectionResetError:
                return seen

    # -- login ------------------------------------------------------------

    def startup(self, user, database, password=None, extra=None):
        """Log in; return the ParameterStatus dict.  Raises ServerError."""
        params = {"user": user, "database": database}
        params.update(extra or {})
        self.send(startup_packet(params))
        return self.finish_login(user, password)

    def finish_login(self, user, password):
        scram = None
        while True:
            t, payload = self.read_message()
            if t == b"E":
                raise ServerError(parse_error_fields(payload))
            if t == b"R":
                (code,) = struct.unpack("!I", payload[:4])
                if code == AUTH_OK:
                    continue
                if code == AUTH_CLEARTEXT:
                    self.send(message(b"p", password.encode() + b"\0"))
                elif code == AUTH_MD5:
                    self.send(message(b"p", md5_response(user, password, payload[4:8]) + b"\0"))
                elif code == AUTH_SASL:
                    mechanisms = [m for m in payload[4:].split(b"\0") if m]
                    if b"SCRAM-SHA-256" not in mechanisms:
                        raise ProtocolError("no SCRAM-SHA-256 in %r" % mechanisms)
                    scram = ScramClient(password)
                    first = scram.client_first()
                    self.send(message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first))
                elif code == AUTH_SASL_CONTINUE:
                    self.send(message(b"p", scram.client_final(payload[4:])))
                elif code == AUTH_SASL_FINAL:
                    scram.verify_server_final(payload[4:])
                else:
                    raise ProtocolError("unsupported authentication request %d" % code)
            elif t == b"S":
                key, value = payload.split(b"\0")[:2]
                self.params[key.decode()] = value.decode()
            elif t == b"K":
                self.backend_key = struct.unpack("!ii", payload)
            elif t == b"Z":
                return self.params
            elif t == b"N":
                continue
            else:
                raise ProtocolError("unexpected message %r during login" % t)

    # -- queries ----------------------------------------------------------

    def simple_query(self, sql, timeout=None):
        """Run a simple query; return a list of (columns, rows, tag) per result.

        Raises ServerError for an ErrorResponse (after ReadyForQuery).
        """
        self.send(query_message(sql))
        return self.read_results(timeout)

    def read_results(self, timeout=None):
        results = []
        columns, rows, error = None, [], None
        while True:
            t, payload = self.read_message(timeout)
            if t == b"T":
                columns, rows = parse_row_description(payload), []
            elif t == b"D":
                rows.append(parse_data_row(payload))
            elif t == b"C":
                results.append((columns, rows, payload.rstrip(b"\0").decode()))
                columns, rows = None, []
            elif t == b"I":
                results.append((None, [], ""))
            elif t == b"E":
                error = ServerError(parse_error_fields(payload))
            elif t == b"Z":
                self.txn_status = payload
                if error:
                    raise error
                return results
            elif t in (b"N", b"S", b"1", b"2"):    # ParseComplete, BindComplete: extended_query's
                continue
            else:
                raise ProtocolError("unexpected message %r" % t)


    def stream_query(self, sql, recv_size=65536, timeout=None, params=None):
        """Run a simple query (with params: an extended one, see
        extended_query) and yield each DataRow's values (bytes or None)
        as the bytes arrive, without keeping the result.  Raises ServerError
        if the server reports an error; returns at ReadyForQuery.
        """
        self.send(query_message(sql) if params is None else extended_query(sql, params))
        timeout = timeout or self.timeout
        buf = bytearray(self.buf)
        self.buf = b""
        pos = 0
        unpack_header = struct.Struct("!cI").unpack_from
        unpack_count = struct.Struct("!H").unpack_from
        unpack_len = struct.Struct("!i").unpack_from
        error = None
        self.sock.settimeout(timeout)
        while True:
            if len(buf) - pos < 5:
                chunk = self.sock.recv(recv_size)
                if not chunk:
                    raise EOFError("connection closed by the server")
                del buf[:pos]
                pos = 0
                buf += chunk
                continue
            t, length = unpack_header(buf, pos)
            end = pos + 1 + length
            if end > len(buf):
                chunk = self.sock.recv(max(recv_size, end - len(buf)))
                if not chunk:
                    raise EOFError("connection closed by the server")
                del buf[:pos]
                pos = 0
                buf += chunk
                continue
            if t == b"D":
                (count,) = unpack_count(buf, pos + 5)
                p = pos + 7
                values = []
                for _ in range(count):
                    (n,) = unpack_len(buf, p)
                    p += 4
                    if n < 0:
                        values.append(None)
                    else:
                        values.append(bytes(buf[p:p + n]))
                        p += n
                yield values
            elif t == b"E":
                error = ServerError(parse_error_fields(bytes(buf[pos + 5:end])))
            elif t == b"Z":
                self.txn_status = bytes(buf[pos + 5:end])
                self.buf = bytes(buf[end:])
                if error:
                    raise error
                return
            pos = end


def parse_row_description(payload):
    (count,) = struct.unpack("!H", payload[:2])
    pos, names = 2, []
    for _ in range(count):
        end = payload.index(b"\0", pos)
        names.append(payload[pos:end].decode())
        pos = end + 1 + 18
    return names


def parse_data_row(payload):
    (count,) = struct.unpack("!H", payload[:2])
    pos, values = 2, []
    for _ in range(count):
        (length,) = struct.unpack("!i", payload[pos:pos + 4])
        pos += 4
        if length < 0:
            values.append(None)
        else:
            values.append(payload[pos:pos + length].decode())
            pos += length
    return values


def reply_shape(conn):
    """Read up to ReadyForQuery: (column names of the RowDescription or None,
    the number of values of each DataRow, the SQLSTATE of the error or None)."""
    seen = until_ready(conn)
    names = next((v for k, v in seen if k == "T"), None)
    state = next((v for k, v in seen if k == "E"), None)
    return names, [len(v) for k, v in seen if k == "D"], state


def until_ready(conn, timeout=None, skip=b""):
    """The messages up to ReadyForQuery as (type, RowDescription names / DataRow values /
    SQLSTATE / tag / None), leaving out the message types in skip."""
    seen = []
    while True:
        t, payload = conn.read_message(timeout)
        if t in skip and t != b"Z":
            continue
        if t == b"T":
            seen.append(("T", parse_row_description(payload)))
        elif t == b"D":
            seen.append(("D", parse_data_row(payload)))
        elif t == b"E":
            seen.append(("E", parse_error_fields(payload).get("C")))
        elif t == b"C":
            seen.append(("C", payload.rstrip(b"\0").decode()))
        else:
            seen.append((t.decode(), None))
        if t == b"Z":
            return seen


def md5_response(user, password, salt):
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode()


class ScramClient:
    """Client side of SCRAM-SHA-256 without channel binding (RFC 5802/7677)."""

    def __init__(self, password):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = "n=,r=" + self.nonce
        self.server_signature = None

    def client_first(self):
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first):
        server_first = server_first.decode()
        attrs = dict(item.split("=", 1) for item in server_first.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise ProtocolError("server nonce does not extend the client nonce")
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_message = ",".join([self.first_bare, server_first, without_proof]).encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        return (without_proof + ",p=" + base64.b64encode(proof).decode()).encode()

    def verify_server_final(self, server_final):
        attrs = dict(item.split("=", 1) for item in server_final.decode().split(","))
        if "e" in attrs:
            raise ProtocolError("SCRAM server error: " + attrs["e"])
        if base64.b64decode(attrs["v"]) != self.server_signature:
            raise ProtocolError("SCRAM server signature does not verify")


def login(inst, database, user="demo"):
    """A raw connection to a running pgiris (conftest's Pgiris), logged in."""
    conn = Conn(inst.port)
    conn.startup(user, database, inst.users[user])
    return conn


class TlsSocket:
    """The client end of TLS over a connected socket, with the socket's
    methods that Conn uses.  OpenSSL works on memory buffers here, not on
    the socket, so that close_notify and shutdown() are two steps the test
    takes, and reading still decrypts after either (ssl.SSLSocket ends TLS
    at shutdown())."""

    def __init__(self, sock, timeout):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing)
        self.sock.settimeout(timeout)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._push()
                if not self._pull():
                    raise EOFError("connection closed during the TLS handshake")
        self._push()

    def _push(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def _pull(self):
        data = self.sock.recv(65536)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()
        return data

    def settimeout(self, timeout):
        self.sock.settimeout(timeout)

    def sendall(self, data):
        self.tls.write(data)
        self._push()

    def recv(self, size):
        """Like socket.recv: b"" at the server's close_notify or end of file."""
        while True:
            try:
                return self.tls.read(size)
            except ssl.SSLWantReadError:
                self._pull()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    def close_notify(self, last=b""):
        """Send TLS close_notify, after last in the same write; the server's
        reply to it is not awaited."""
        if last:
            self.tls.write(last)
        try:
            self.tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        self._push()

    def shutdown(self, how):
        self.sock.shutdown(how)

    def close(self):
        self.sock.close()


def login_tls(inst, database, user="demo"):
    """Like login, over TLS (the server must accept SSLRequest)."""
    conn = Conn(inst.port)
    conn.send(request_packet(SSL_REQUEST_CODE))
    answer = conn.read_exact(1)
    if answer != b"S":
        conn.close()
        raise ProtocolError("SSLRequest answered %r" % answer)
    conn.sock = TlsSocket(conn.sock, conn.timeout)
    conn.startup(user, database, inst.users[user])
    return conn
