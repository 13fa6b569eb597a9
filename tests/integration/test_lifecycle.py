"""The pgiris process: command line, config errors at start, the worker
processes, and stopping with SIGTERM, SIGINT or the loss of the broker."""

import os
import signal
import socket
import subprocess

import psycopg
import pytest

from conftest import PGIRIS_BIN, is_alive, wait_for


def run_pgiris(*args, timeout=10):
    return subprocess.run([str(PGIRIS_BIN)] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def port_is_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_version():
    out = run_pgiris("-V")
    assert out.returncode == 0
    text = out.stdout + out.stderr
    assert "pgiris" in text.lower()
    assert any(ch.isdigit() for ch in text)


def test_help():
    out = run_pgiris("-h")
    assert out.returncode == 0
    assert "-d" in out.stdout + out.stderr


def test_no_config_argument():
    out = run_pgiris()
    assert out.returncode != 0


def test_missing_config_file(tmp_path):
    missing = tmp_path / "nowhere.ini"
    out = run_pgiris(missing)
    assert out.returncode == 1
    assert str(missing) in out.stderr or missing.name in out.stderr


def config_with(launcher, edit):
    """Write a config changed by edit(lines) -> lines; return (instance, lines)."""
    inst = launcher.create()
    inst.write_config()
    lines = edit(inst.config_text().splitlines())
    inst.write_raw_config("\n".join(lines) + "\n")
    return inst, lines


def insert_after(lines, header, new_line):
    i = lines.index(header) + 1
    return lines[:i] + [new_line] + lines[i:]


BAD_CONFIGS = {
    "unknown key": (lambda ls: insert_after(ls, "[pgiris]", "pool_sise = 5"), "pool_sise"),
    "unknown section": (lambda ls: ls + ["[databse extra]", "dialect = sqlite"], "databse"),
    "bad pool_mode": (lambda ls: [l if not l.startswith("pool_mode") else "pool_mode = sideways"
                                  for l in ls], "pool_mode"),
    "bad number": (lambda ls: [l if not l.startswith("workers") else "workers = lots"
                               for l in ls], "workers"),
    "unknown database key": (lambda ls: insert_after(ls, "[database demo]", "pool_sizes = 3"),
                             "pool_sizes"),
    "bad dialect": (lambda ls: [l if l != "dialect = sqlite" else "dialect = oracle"
                                for l in ls], "dialect"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_exits_1(launcher, case):
    edit, key = BAD_CONFIGS[case]
    inst, lines = config_with(launcher, edit)
    line_no = next(i + 1 for i, l in enumerate(lines) if key in l)
    out = run_pgiris(inst.config_path)
    assert out.returncode == 1, "exit status %s; stderr:\n%s" % (out.returncode, out.stderr)
    assert inst.config_path.name in out.stderr, out.stderr
    assert str(line_no) in out.stderr, "line %d not named: %s" % (line_no, out.stderr)
    assert key in out.stderr, out.stderr
    assert not port_is_open(inst.port)


def test_workers_setting(pgiris_factory):
    inst = pgiris_factory(settings={"workers": 3})
    assert len(inst.children()) == 3


@pytest.mark.parametrize("holder", ["pgiris", "SO_REUSEPORT socket"])
def test_port_in_use_exits_1(pgiris_factory, launcher, holder):
    """A port that another pgiris, or any socket, listens on is an error at
    start, even one bound with SO_REUSEPORT: pgiris never shares a port."""
    first = pgiris_factory()
    other = None
    port = first.port
    if holder != "pgiris":
        assert first.stop() == 0
        other = socket.socket()
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", port))
        other.listen(16)
    try:
        second = launcher.create(settings={"listen_port": port})
        second.write_config()
        out = run_pgiris(second.config_path)
        assert out.returncode == 1, "exit status %s; stderr:\n%s" % (out.returncode, out.stderr)
        assert "in use" in out.stderr, out.stderr
        if other is None:
            for i in range(10):     # every connection still reaches the first pgiris
                with first.connect("demo") as conn:
                    assert conn.execute("SELECT 'r%d'" % i).fetchone() == ("r%d" % i,)
        else:
            assert listening_inodes(port) == {os.fstat(other.fileno()).st_ino}
    finally:
        if other is not None:
            other.close()


def listening_inodes(port):
    """Inodes of the sockets listening on 127.0.0.1:port."""
    result = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            lhost, lport = fields[1].split(":")
            if int(lport, 16) == port and lhost == "0100007F" and fields[3] == "0A":
                result.add(int(fields[9]))
    return result


def test_sigterm_stops_everything(pgiris_factory):
    inst = pgiris_factory()
    workers = inst.children()
    assert len(workers) == 2
    with inst.connect("demo") as conn:
        conn.execute("SELECT 1")
    status = inst.stop(signal.SIGTERM, timeout=10)
    assert status == 0, "exit status %s after SIGTERM" % status
    assert not [w for w in workers if is_alive(w)], "workers outlived the broker"
    assert not port_is_open(inst.port)


def test_sigint_stops_with_a_client_connected(pgiris_factory):
    inst = pgiris_factory()
    workers = inst.children()
    conn = inst.connect("demo")
    try:
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)
        inst.proc.send_signal(signal.SIGINT)
        inst.proc.wait(10)
        assert inst.proc.returncode == 0, "exit status %s after SIGINT" % inst.proc.returncode
        wait_for(lambda: not [w for w in workers if is_alive(w)], 5,
                 message="workers to exit after SIGINT")
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 2")
    finally:
        conn.close()
    assert not port_is_open(inst.port)


def test_workers_exit_when_the_broker_dies(pgiris_factory):
    inst = pgiris_factory()
    workers = inst.children()
    inst.proc.kill()
    inst.proc.wait(5)
    wait_for(lambda: not [w for w in workers if is_alive(w)], 10,
             message="orphaned workers to exit")


def test_restart_on_the_same_port(pgiris_factory):
    first = pgiris_factory()
    assert first.stop() == 0
    again = pgiris_factory(settings={"listen_port": first.port})
    assert again.port == first.port
    with again.connect("demo") as conn:
        assert conn.execute("SELECT 'r1'").fetchone() == ("r1",)
