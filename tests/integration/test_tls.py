"""TLS for clients: client_tls_sslmode, the certificate files, SIGHUP reload,
and what SHOW CLIENTS says about each connection."""

import subprocess

import psycopg
import pytest

from conftest import wait_for


SSL_REQUEST = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"


def read_until_closed(sock):
    """Everything the server sends until it closes the connection."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.close()
    return data


def make_cert(directory, name):
    key = directory / ("%s.key" % name)
    cert = directory / ("%s.crt" % name)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", "/CN=pgiris-test-%s" % name],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return key, cert


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    return {"one": make_cert(d, "one"), "two": make_cert(d, "two"), "dir": d}


def tls_settings(mode, pair):
    key, cert = pair
    return {"client_tls_sslmode": mode, "client_tls_key_file": key, "client_tls_cert_file": cert}


def test_prefer_serves_tls_and_plain(pgiris_factory, certs, backend):
    inst = pgiris_factory(settings=tls_settings("prefer", certs["one"]))
    with inst.connect(backend, sslmode="require") as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT name FROM customers WHERE id = 300").fetchone()[0] == "Mateo Dubois"
        clients = [c for c in inst.show("CLIENTS") if c["database"] == backend]
        assert len(clients) == 1
        assert clients[0]["tls"].split("/")[0] in ("TLSv1.2", "TLSv1.3"), clients[0]["tls"]
    with inst.connect(backend, sslmode="disable") as conn:
        assert not conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 'plain'").fetchone()[0] == "plain"
        clients = [c for c in inst.show("CLIENTS") if c["database"] == backend]
        assert [c["tls"] for c in clients] == [""]


def test_large_result_over_tls(pgiris_factory, certs):
    inst = pgiris_factory(settings=tls_settings("require", certs["one"]))
    sql = ("WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 50000) "
           "SELECT x, 'row ' || x FROM s")
    with inst.connect("demo", sslmode="require") as conn:
        rows = conn.execute(sql).fetchall()
    assert len(rows) == 50000
    assert [str(v) for v in rows[-1]] == ["50000", "row 50000"]


def test_require_refuses_plain(pgiris_factory, certs):
    inst = pgiris_factory(settings=tls_settings("require", certs["one"]))
    with pytest.raises(psycopg.OperationalError) as exc:
        inst.connect("demo", sslmode="disable")
    assert "SSL required" in str(exc.value)
    with inst.connect("demo", sslmode="require") as conn:
        assert conn.pgconn.ssl_in_use


def test_require_does_not_apply_to_unix_socket(pgiris_factory, certs, tmp_path):
    settings = tls_settings("require", certs["one"])
    settings["unix_socket_dir"] = tmp_path
    inst = pgiris_factory(settings=settings)
    with psycopg.connect(host=str(tmp_path), port=inst.port, dbname="demo", user="demo",
                         password=inst.users["demo"], sslmode="disable", autocommit=True) as conn:
        assert conn.execute("SELECT 'one'").fetchone()[0] == "one"


def test_disable_answers_no(pgiris_factory, certs):
    inst = pgiris_factory(settings=tls_settings("disable", certs["one"]))
    with pytest.raises(psycopg.OperationalError) as exc:
        inst.connect("demo", sslmode="require")
    assert "does not support SSL" in str(exc.value)
    with inst.connect("demo", sslmode="prefer") as conn:
        assert not conn.pgconn.ssl_in_use


def test_bad_certificate_refuses_to_start(launcher, certs):
    inst = launcher.create(settings=tls_settings("require", (certs["dir"] / "missing.key",
                                                              certs["one"][1])))
    inst.write_config()
    run = subprocess.run([str(inst_bin()), str(inst.config_path)], cwd=inst.dir,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert "client_tls_key_file" in run.stderr and "missing.key" in run.stderr


def test_key_not_matching_certificate_refuses_to_start(launcher, certs):
    inst = launcher.create(settings=tls_settings("require", (certs["two"][0], certs["one"][1])))
    inst.write_config()
    run = subprocess.run([str(inst_bin()), str(inst.config_path)], cwd=inst.dir,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert "client_tls_key_file" in run.stderr


def inst_bin():
    from conftest import PGIRIS_BIN
    return PGIRIS_BIN


def served_certificate(inst):
    """The subject of the certificate a new TLS connection is served."""
    out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % inst.port,
                          "-starttls", "postgres"],
                         input="", capture_output=True, text=True, timeout=30)
    for line in out.stdout.splitlines():
        if line.startswith("subject="):
            return line
    return out.stdout + out.stderr


def test_reload_switches_certificate_and_mode(pgiris_factory, certs):
    inst = pgiris_factory(settings=tls_settings("prefer", certs["one"]))
    assert "pgiris-test-one" in served_certificate(inst)
    held = inst.connect("demo", sslmode="require")
    try:
        inst.settings.update(tls_settings("require", certs["two"]))
        inst.write_config()
        inst.reload()
        wait_for(lambda: "pgiris-test-two" in served_certificate(inst), 10,
                 message="the new certificate to be served")
        # A connection made before the reload keeps working.
        assert held.execute("SELECT 'still here'").fetchone()[0] == "still here"
        with pytest.raises(psycopg.OperationalError):
            inst.connect("demo", sslmode="disable")
        # A broken certificate is refused: the running one stays.
        inst.settings["client_tls_cert_file"] = certs["dir"] / "nothing-here.crt"
        inst.write_config()
        inst.reload()
        wait_for(lambda: "reload rejected" in inst.stderr_text(), 10, message="the rejected reload")
        assert "pgiris-test-two" in served_certificate(inst)
        with inst.connect("demo", sslmode="require") as conn:
            assert conn.execute("SELECT 'one'").fetchone()[0] == "one"
        # Back to disable: TLS is refused from then on.
        inst.settings.update(tls_settings("disable", certs["two"]))
        inst.write_config()
        inst.reload()

        def plain_only():
            try:
                inst.connect("demo", sslmode="require").close()
                return False
            except psycopg.OperationalError:
                return True
        wait_for(plain_only, 10, message="TLS to be turned off")
    finally:
        held.close()


def test_ssl_request_twice_is_refused(pgiris_factory, certs):
    """An SSLRequest inside TLS is a protocol violation, not a second handshake."""
    import socket
    import ssl
    inst = pgiris_factory(settings=tls_settings("require", certs["one"]))
    raw = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
    raw.sendall(SSL_REQUEST)
    assert raw.recv(1) == b"S"
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    tls = ctx.wrap_socket(raw)
    tls.sendall(SSL_REQUEST)
    data = read_until_closed(tls)
    assert data[:1] == b"E"
    assert b"08P01" in data


def test_unencrypted_bytes_after_ssl_request_are_refused(pgiris_factory, certs):
    import socket
    inst = pgiris_factory(settings=tls_settings("prefer", certs["one"]))
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
    # SSLRequest with a startup packet glued to it, before the server answered.
    startup = b"\x00\x03\x00\x00user\x00demo\x00\x00"
    s.sendall(SSL_REQUEST + (len(startup) + 4).to_bytes(4, "big") + startup)
    data = read_until_closed(s)
    assert data[:1] == b"E"
    assert b"received unencrypted data after SSL request" in data


def test_unfinished_handshake_is_closed_at_login_timeout(pgiris_factory, certs):
    """A client that asks for TLS and then says nothing is disconnected, not kept."""
    import socket
    import time
    settings = tls_settings("prefer", certs["one"])
    settings["client_login_timeout"] = 1
    inst = pgiris_factory(settings=settings)
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
    s.sendall(SSL_REQUEST)
    assert s.recv(1) == b"S"
    started = time.monotonic()
    assert s.recv(4096) == b""
    assert time.monotonic() - started < 5
    s.close()
