"""Logins: md5, scram-sha-256 and trust, with libpq (psycopg, psql) and with
the raw client that checks the server's side of each exchange."""

import os
import shutil
import struct
import subprocess

import psycopg
import pytest

import pgwire


@pytest.fixture(scope="module")
def scram_pgiris(module_pgiris_factory):
    return module_pgiris_factory(settings={"auth_type": "scram-sha-256"})


@pytest.fixture(scope="module")
def trust_pgiris(module_pgiris_factory):
    return module_pgiris_factory(settings={"auth_type": "trust"})


def first_auth_request(inst, user="demo"):
    with pgwire.Conn(inst.port) as c:
        c.send(pgwire.startup_packet({"user": user, "database": "demo"}))
        t, payload = c.read_message(timeout=5)
        assert t == b"R", (t, payload)
        return struct.unpack("!I", payload[:4])[0]


def assert_password_failure(inst, user, password):
    with pgwire.Conn(inst.port) as c:
        with pytest.raises(pgwire.ServerError) as info:
            c.startup(user, "demo", password)
        assert info.value.sqlstate == "28P01"
        assert info.value.fields.get("S") == "FATAL"
        assert 'password authentication failed for user "%s"' % user in info.value.message
        c.wait_closed(5)
    with pytest.raises(psycopg.OperationalError) as info:
        inst.connect("demo", user=user, password=password)
    assert "password authentication failed" in str(info.value)


# -- md5 -------------------------------------------------------------------------

def test_md5_is_requested(pgiris):
    assert first_auth_request(pgiris) == pgwire.AUTH_MD5


@pytest.mark.parametrize("user", ["demo", "alice", "scram"])
def test_md5_login(pgiris, user):
    with pgiris.connect("demo", user=user) as conn:
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)
    with pgwire.Conn(pgiris.port) as c:
        c.startup(user, "pg", pgiris.users[user])
        assert c.simple_query("SELECT 2")[0][1] == [["2"]]


def test_md5_wrong_password(pgiris):
    assert_password_failure(pgiris, "demo", "not-demo")


def test_md5_empty_password(pgiris):
    with pgwire.Conn(pgiris.port) as c:
        with pytest.raises(pgwire.ServerError) as info:
            c.startup("demo", "demo", "")
        assert info.value.sqlstate == "28P01"


def test_user_not_in_auth_file(pgiris):
    with pgwire.Conn(pgiris.port) as c:
        with pytest.raises(pgwire.ServerError) as info:
            c.startup("mallory", "demo", "anything")
        assert info.value.sqlstate in ("28P01", "28000")


# -- scram-sha-256 ---------------------------------------------------------------

def test_scram_is_requested(scram_pgiris):
    assert first_auth_request(scram_pgiris) == pgwire.AUTH_SASL


@pytest.mark.parametrize("user", ["demo", "scram"])
def test_scram_login(scram_pgiris, user):
    with scram_pgiris.connect("demo", user=user) as conn:
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)
    # The raw client also checks the server's final signature.
    with pgwire.Conn(scram_pgiris.port) as c:
        c.startup(user, "pg", scram_pgiris.users[user])
        assert c.simple_query("SELECT 3")[0][1] == [["3"]]


def test_scram_wrong_password(scram_pgiris):
    assert_password_failure(scram_pgiris, "scram", "not-the-secret")


def test_scram_wrong_nonce_is_rejected(scram_pgiris):
    # A client-final message that does not echo the server nonce.
    with pgwire.Conn(scram_pgiris.port) as c:
        c.send(pgwire.startup_packet({"user": "scram", "database": "demo"}))
        t, payload = c.read_message(timeout=5)
        assert struct.unpack("!I", payload[:4])[0] == pgwire.AUTH_SASL
        client = pgwire.ScramClient("scram-secret")
        first = client.client_first()
        c.send(pgwire.message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first))
        t, payload = c.read_message(timeout=5)
        assert struct.unpack("!I", payload[:4])[0] == pgwire.AUTH_SASL_CONTINUE
        final = client.client_final(payload[4:]).replace(b"r=", b"r=X", 1)
        c.send(pgwire.message(b"p", final))
        messages = c.wait_closed(5)
        assert messages and messages[0][0] == b"E", messages
        assert pgwire.parse_error_fields(messages[0][1]).get("C") in ("28P01", "08P01")


def test_scram_console_login(scram_pgiris):
    with scram_pgiris.admin() as admin:
        assert admin.execute("SHOW VERSION").fetchall()


# -- trust -----------------------------------------------------------------------

def test_trust_needs_no_password(trust_pgiris):
    assert first_auth_request(trust_pgiris) == pgwire.AUTH_OK
    with trust_pgiris.connect("demo", user="alice", password="") as conn:
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)
    with pgwire.Conn(trust_pgiris.port) as c:
        c.startup("demo", "pg")
        assert c.simple_query("SELECT 4")[0][1] == [["4"]]


def test_trust_still_needs_a_known_user(trust_pgiris):
    with pgwire.Conn(trust_pgiris.port) as c:
        with pytest.raises(pgwire.ServerError) as info:
            c.startup("mallory", "demo")
        assert info.value.sqlstate in ("28P01", "28000")


# -- psql ------------------------------------------------------------------------

def psql(inst, *args, database="demo", user="demo", password=None):
    exe = shutil.which("psql") or "/usr/bin/psql"
    env = dict(os.environ, PGPASSWORD=inst.users[user] if password is None else password,
               PGCONNECT_TIMEOUT="10")
    env.pop("PGSERVICE", None)
    return subprocess.run([exe, "-X", "-h", "127.0.0.1", "-p", str(inst.port), "-U", user,
                           "-d", database] + list(args),
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=30)


def test_psql_query(pgiris, backend):
    out = psql(pgiris, "-A", "-t", "-c", "SELECT name FROM customers WHERE id = 3", database=backend)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Dmitri Almeida"


def test_psql_several_statements(pgiris, backend):
    out = psql(pgiris, "-A", "-t", "-c", "SELECT 1; SELECT 'two'; SELECT 3", database=backend)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "two", "3"]


def test_psql_table_output(pgiris):
    out = psql(pgiris, "-c", "SELECT id, city FROM customers WHERE id IN (1, 2) ORDER BY id")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert [c.strip() for c in lines[0].split("|")] == ["id", "city"]
    assert lines[-1] == "(2 rows)"


def test_psql_error_exit_status(pgiris, backend):
    out = psql(pgiris, "-c", "SELECT * FROM no_such_table", database=backend)
    assert out.returncode == 1
    assert "ERROR" in out.stderr and "no_such_table" in out.stderr


def test_psql_script_stops_on_error(pgiris, tmp_path):
    script = tmp_path / "script.sql"
    script.write_text("SELECT 'before';\nSELECT * FROM no_such_table;\nSELECT 'after';\n")
    out = psql(pgiris, "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", str(script))
    assert out.returncode == 3
    assert "before" in out.stdout and "after" not in out.stdout


def test_psql_wrong_password(pgiris):
    out = psql(pgiris, "-c", "SELECT 1", password="wrong")
    assert out.returncode == 2
    assert "password authentication failed" in out.stderr


def test_psql_scram(scram_pgiris):
    out = psql(scram_pgiris, "-A", "-t", "-c", "SELECT 5", user="scram")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "5"
