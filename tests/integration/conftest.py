"""Fixtures for the integration tests: a throw-away PostgreSQL server and
pgiris instances started from generated configs.

Run from the repository root:

    PGIRIS_BIN=$PWD/build/pgiris /usr/bin/python3 -m pytest -q tests/integration

PGIRIS_BIN defaults to build/pgiris.  The SQLite demo database is var/demo.db
(built from etc/demo.sql if missing); every pgiris instance works on its own
copy, so tests may write to it.
"""

import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO_ROOT = Path(__file__).resolve().parents[2]
def _sigterm_as_interrupt(signum, frame):
    # A CI time-out or a killed make sends SIGTERM: turn it into the same
    # interruption as Ctrl-C, so fixture finalizers still stop the PostgreSQL
    # and pgiris processes this suite started.
    raise KeyboardInterrupt("SIGTERM")


signal.signal(signal.SIGTERM, _sigterm_as_interrupt)

PGIRIS_BIN = Path(os.environ.get("PGIRIS_BIN") or REPO_ROOT / "build" / "pgiris")

USERS = {"demo": "demo", "admin": "admin", "scram": "scram-secret", "alice": "wonderland"}

# Instances that are running, so a failing test can show their logs.
_LIVE = []
_LIVE_LOCK = threading.Lock()


# -- small helpers ------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.1, message="condition"):
    """Poll predicate() until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as exc:  # the predicate may fail until it holds
            last_exc = exc
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s%s" % (
        timeout, message, " (last error: %r)" % (last_exc,) if last_exc else ""))


def proc_stat(pid):
    """(state, ppid) of a process, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may itself contain spaces.
    fields = data.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def is_alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def child_pids(pid):
    """Live (non-zombie) direct children of pid."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = proc_stat(int(entry))
        if st and st[1] == pid and st[0] not in ("Z", "X"):
            children.append(int(entry))
    return sorted(children)


def rss_kb(pid):
    """VmRSS of a process in kB, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return 0


def is_sanitized_binary(path):
    """True for an AddressSanitizer build, whose RSS says nothing about pgiris."""
    try:
        return b"__asan_init" in Path(path).read_bytes()
    except OSError:
        return False


def pg_bin_dir():
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.iterdir() if (p / "bin" / "initdb").exists()),
                      key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()])
    if not versions:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    return versions[-1] / "bin"


# -- PostgreSQL ---------------------------------------------------------------

class PostgresServer:
    def __init__(self):
        self.bindir = pg_bin_dir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pgiris-pg-"))
        self.datadir = self.dir / "data"
        self.logfile = self.dir / "postgres.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)

    def _run(self, *args, check=True, timeout=60):
        cmd = [str(a) for a in args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=check, timeout=timeout, cwd=self.dir,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def start(self):
        self._run(self.bindir / "initdb", "-D", self.datadir, "-A", "trust",
                  "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8")
        options = " ".join([
            "-p %d" % self.port,
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=%s" % self.dir,
            "-c max_connections=300",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
        ])
        try:
            self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-l", self.logfile,
                      "-o", options, "-w", "-t", "60", "start", timeout=90)
        except subprocess.CalledProcessError as exc:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise RuntimeError("pg_ctl start failed:\n%s\n%s" % (exc.stdout, log))
        wait_for(self._ready, 30, message="PostgreSQL to accept connections")

    def _ready(self):
        with self.connect() as conn:
            conn.execute("SELECT 1")
        return True

    def stop(self):
        if (self.datadir / "postmaster.pid").exists():
            self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-m", "immediate",
                      "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, **kwargs):
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(host="127.0.0.1", port=self.port, dbname="postgres",
                               user="postgres", connect_timeout=10,
                               application_name="pgiris-tests", **kwargs)

    def query(self, sql, params=None):
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def odbc(self):
        return ("Driver=PostgreSQL Unicode;Server=127.0.0.1;Port=%d;Database=postgres;"
                "Uid=postgres;Pwd=x;UseDeclareFetch=1;Fetch=1000;BoolsAsChar=0" % self.port)

    def load_demo_tables(self, demo_db):
        """Copy the demo customers and products so both backends answer alike."""
        src = sqlite3.connect(str(demo_db))
        customers = src.execute("SELECT id, name, email, city, credit_limit FROM customers").fetchall()
        products = src.execute("SELECT id, sku, name, price, weight_kg FROM products").fetchall()
        src.close()
        with self.connect() as conn:
            conn.execute("CREATE TABLE customers (id integer PRIMARY KEY, name varchar(40) NOT NULL,"
                         " email varchar(80) NOT NULL UNIQUE, city varchar(40) NOT NULL,"
                         " credit_limit numeric(10,2) NOT NULL)")
            conn.execute("CREATE TABLE products (id integer PRIMARY KEY, sku varchar(20) NOT NULL,"
                         " name varchar(60) NOT NULL, price numeric(10,2) NOT NULL,"
                         " weight_kg real NOT NULL)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO customers VALUES (%s, %s, %s, %s, %s)", customers)
                cur.executemany("INSERT INTO products VALUES (%s, %s, %s, %s, %s)", products)


@pytest.fixture(scope="session")
def postgres(demo_db):
    server = PostgresServer()
    try:
        server.start()
        server.load_demo_tables(demo_db)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """A private copy of var/demo.db (built from etc/demo.sql when missing).

    Even reading a WAL database creates files beside it, so the tests never
    open var/demo.db itself.
    """
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    built = REPO_ROOT / "var" / "demo.db"
    if built.exists():
        shutil.copyfile(built, path)
    else:
        with open(REPO_ROOT / "etc" / "demo.sql", "rb") as sql:
            subprocess.run(["sqlite3", str(path)], stdin=sql, check=True,
                           stdout=subprocess.DEVNULL, timeout=60)
    return path


# -- pgiris -------------------------------------------------------------------

class Pgiris:
    """One running pgiris with its own directory, config, userlist and demo.db."""

    def __init__(self, directory, postgres, demo_db, settings=None, databases=None,
                 users=None):
        self.dir = Path(directory)
        self.postgres = postgres
        self.port = free_port()
        self.config_path = self.dir / "pgiris.ini"
        self.userlist_path = self.dir / "userlist.txt"
        self.stderr_path = self.dir / "pgiris.stderr"
        self.demo_db = self.dir / "demo.db"
        shutil.copyfile(demo_db, self.demo_db)
        self.users = dict(USERS if users is None else users)
        self.settings = {
            "listen_addr": "127.0.0.1",
            "listen_port": self.port,
            "workers": 2,
            "pool_mode": "transaction",
            "default_pool_size": 5,
            "min_pool_size": 1,
            "auth_type": "md5",
            "auth_file": self.userlist_path,
            "admin_users": "admin",
            "query_wait_timeout": 2,
            "client_login_timeout": 2,
            "max_message_size": 1048576,
        }
        self.settings.update(settings or {})
        self.port = int(self.settings["listen_port"])
        self.databases = {
            "demo": {
                "dialect": "sqlite",
                "odbc": "Driver=SQLite3;Database=%s;StepAPI=1" % self.demo_db,
                "pool_size": 5,
            },
            "pg": {
                "dialect": "postgres",
                "odbc": postgres.odbc(),
                "pool_size": 4,
            },
        }
        for name, values in (databases or {}).items():
            if values is None:
                self.databases.pop(name, None)
            else:
                self.databases.setdefault(name, {}).update(values)
        self.proc = None
        self._stderr = None
        self._known_children = set()

    # -- config ---------------------------------------------------------------

    def config_text(self):
        lines = ["; generated by tests/integration/conftest.py", "[pgiris]"]
        lines += ["%s = %s" % (k, v) for k, v in self.settings.items()]
        for name, values in self.databases.items():
            lines += ["", "[database %s]" % name]
            lines += ["%s = %s" % (k, v) for k, v in values.items()]
        for line in lines:
            assert len(line) < 199, "config line too long for inih: %r" % line
        return "\n".join(lines) + "\n"

    def write_config(self):
        self.userlist_path.write_text("".join(
            '"%s" "%s"\n' % (u, p) for u, p in self.users.items()))
        self.write_raw_config(self.config_text())

    def write_raw_config(self, text):
        # Write then rename, so a reload never sees half a file.
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config_path)

    def set_pool_size(self, database, size):
        self.databases[database]["pool_size"] = size
        self.write_config()

    def reload(self):
        os.kill(self.pid, signal.SIGHUP)

    # -- process --------------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=15):
        if not PGIRIS_BIN.exists():
            pytest.fail("pgiris binary %s does not exist (build it, or set PGIRIS_BIN)"
                        % PGIRIS_BIN, pytrace=False)
        self.write_config()
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([str(PGIRIS_BIN), str(self.config_path)],
                                     cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self._stderr, stderr=self._stderr)
        with _LIVE_LOCK:
            _LIVE.append(self)
        problem = None
        try:
            wait_for(self._login_works, timeout, interval=0.1,
                     message="pgiris on port %d to accept a login" % self.port)
        except AssertionError as exc:
            problem = str(exc)
        if problem:
            exited = self.proc.poll()
            self.stop()
            pytest.fail("%s%s\n--- pgiris stderr ---\n%s" % (
                problem, "" if exited is None else " (pgiris exited with %s)" % exited,
                self.stderr_tail()), pytrace=False)
        self._known_children = set(self.children())
        return self

    def _login_works(self):
        if self.proc.poll() is not None:
            raise AssertionError("pgiris exited with status %s" % self.proc.returncode)
        with self.connect("demo", connect_timeout=2) as conn:
            conn.execute("SELECT 1").fetchall()
        return True

    def children(self):
        return child_pids(self.pid)

    def pgiris_pids(self):
        return [self.pid] + self.children()

    def rss(self):
        """{pid: VmRSS in kB} for the broker and each worker."""
        sizes = {pid: rss_kb(pid) for pid in self.pgiris_pids()}
        return {pid: kb for pid, kb in sizes.items() if kb is not None}

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, lines=50):
        return "\n".join(self.stderr_text().splitlines()[-lines:])

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stop pgiris; return its exit status.  Never leaves a process behind."""
        if self.proc is None:
            return None
        workers = set(self._known_children) | set(self.children()) if self.proc.poll() is None \
            else set(self._known_children)
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        # Workers must follow the broker; make sure none is left running.
        deadline = time.monotonic() + 5
        for pid in workers:
            while is_alive(pid) and _is_pgiris(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if is_alive(pid) and _is_pgiris(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        with _LIVE_LOCK:
            if self in _LIVE:
                _LIVE.remove(self)
        return self.proc.returncode

    def sanitizer_reports(self):
        text = self.stderr_text()
        return [line for line in text.splitlines()
                if "ERROR: AddressSanitizer" in line or "runtime error:" in line]

    # -- clients --------------------------------------------------------------

    def connect(self, dbname="demo", user="demo", password=None, autocommit=True, **kwargs):
        if password is None:
            password = self.users.get(user, "")
        kwargs.setdefault("connect_timeout", 10)
        return psycopg.connect(host="127.0.0.1", port=self.port, dbname=dbname, user=user,
                               password=password, autocommit=autocommit, **kwargs)

    def admin(self, user="admin"):
        """A connection to the admin console (which has no transactions)."""
        return self.connect("pgiris", user=user, autocommit=True)

    def show(self, what):
        """Run SHOW <what> on the console; return a list of dicts."""
        with self.admin() as conn:
            cur = conn.execute("SHOW " + what)
            names = [d.name for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def pool(self, database, user="demo"):
        """The SHOW POOLS row serving user on database.

        Pools may be kept per (database, user) or per database alone (the
        backend login is in the connection string): accept either.
        """
        rows = [r for r in self.show("POOLS") if r["database"] == database]
        mine = [r for r in rows if r["user"] == user]
        if mine:
            rows = mine
        assert len(rows) == 1, "no single pool for %s/%s in SHOW POOLS: %s" % (
            database, user, rows)
        return rows[0]

    def direct(self, dbname, sql):
        """Run sql on the backend itself, bypassing pgiris."""
        if dbname == "pg":
            return self.postgres.query(sql)
        conn = sqlite3.connect(str(self.demo_db), timeout=30)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


def _is_pgiris(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid).startswith(str(PGIRIS_BIN.resolve()))
    except OSError:
        return False


class Launcher:
    def __init__(self, tmp_path_factory, postgres, demo_db):
        self.tmp_path_factory = tmp_path_factory
        self.postgres = postgres
        self.demo_db = demo_db

    def create(self, **kwargs):
        """A configured but not yet started instance."""
        return Pgiris(self.tmp_path_factory.mktemp("pgiris"), self.postgres, self.demo_db,
                      **kwargs)

    def start(self, **kwargs):
        return self.create(**kwargs).start()


def finish(inst):
    """Stop an instance and fail the test if a sanitizer reported an error."""
    inst.stop()
    reports = inst.sanitizer_reports()
    if reports:
        pytest.fail("sanitizer reports in pgiris stderr:\n" + "\n".join(reports[:20]),
                    pytrace=False)


@pytest.fixture(scope="session")
def launcher(tmp_path_factory, postgres, demo_db):
    return Launcher(tmp_path_factory, postgres, demo_db)


@pytest.fixture(scope="module")
def pgiris(launcher):
    """The shared instance of a test module: demo (SQLite) and pg, md5 logins."""
    inst = launcher.start()
    yield inst
    finish(inst)


def _factory(launcher):
    started = []

    def start(**kwargs):
        inst = launcher.start(**kwargs)
        started.append(inst)
        return inst

    yield start
    for inst in started:
        finish(inst)


@pytest.fixture
def pgiris_factory(launcher):
    """Start instances private to one test: pgiris_factory(settings=..., databases=...)."""
    yield from _factory(launcher)


@pytest.fixture(scope="module")
def module_pgiris_factory(launcher):
    """The same, for instances shared by the tests of one module."""
    yield from _factory(launcher)


@pytest.fixture(params=["demo", "pg"])
def backend(request):
    """The database name to test against: demo (SQLite) or pg (PostgreSQL)."""
    return request.param


@pytest.fixture
def make_table(pgiris, backend):
    """make_table("id INTEGER, v TEXT") creates a table private to the test on
    its backend (suffix: what follows the column list); dropped after it."""
    made = []

    def make(columns, suffix="", prefix="t"):
        name = "%s_%s" % (prefix, uuid.uuid4().hex[:10])
        with pgiris.connect(backend) as conn:
            conn.execute("CREATE TABLE %s (%s)%s" % (name, columns, suffix))
        made.append(name)
        return name

    yield make
    with pgiris.connect(backend) as conn:
        for name in made:
            conn.execute("DROP TABLE %s" % name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        with _LIVE_LOCK:
            live = list(_LIVE)
        for inst in live:
            report.sections.append(("pgiris stderr (port %d)" % inst.port, inst.stderr_tail()))
