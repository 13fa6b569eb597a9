"""Client compatibility: real drivers against pgiris, with both backends.

Each driver has a small program under tests/compat/ that connects through
pgiris, runs a fixed list of checks and prints `ok NAME` or
`FAIL NAME: reason` per check (see tests/compat/README.md).  This module
builds what needs building (javac, go build, npm install into build/compat/),
runs every program once per backend (a few at a time, on a pgiris shared by
the module), and turns each expected check into a test of its own:

    test_compat.py::test_check[pg-jdbc-copy_in]

A driver that cannot be built or run (a missing toolchain) fails every one of
its tests with the reason: `make check` has to prove every driver.

TLS: a second pgiris, with client_tls_sslmode=prefer and a self-signed
certificate made by the openssl CLI, takes one TLS login from every driver
(test_tls_check).
"""

import concurrent.futures
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import PGIRIS_BIN, REPO_ROOT

COMPAT_DIR = REPO_ROOT / "tests" / "compat"
BUILD_DIR = Path(os.environ.get("PGIRIS_COMPAT_BUILD") or PGIRIS_BIN.resolve().parent / "compat")
PYTHON = sys.executable
PGJDBC_JAR = Path("/usr/share/java/postgresql.jar")
GOPATH = "/usr/share/gocode"

# A driver program bounds its own checks (a hung check is reported after a
# few seconds); this only catches a program that hangs outright.
RUN_TIMEOUT = 150
PARALLEL_RUNS = 3

TYPES = ["int2", "int4", "int8", "float4", "float8", "numeric", "bool", "text", "varchar",
         "bytea", "date", "time", "timestamp", "timestamptz"]
COMMON = (["connect", "setup"] + ["type_" + t for t in TYPES] +
          ["nulls", "rollback", "error_sqlstate", "error_recovery", "prepared_reuse",
           "copy_in", "copy_out", "cancel", "cleanup"])

CHECKS = {
    "psql": COMMON,
    "pgbench": ["init", "simple", "extended", "prepared", "cleanup"],
    "psycopg2": COMMON,
    "psycopg": COMMON + ["binary_type_" + t for t in TYPES] + ["binary_nulls"],
    "jdbc": COMMON + ["batch", "metadata", "fetch_size_nested"],
    "node": COMMON,
    "ruby": COMMON + ["binary_bytea"],
    "go": COMMON,
    "perl": COMMON,
}
DRIVERS = list(CHECKS)
TLS_CHECKS = {driver: ["tls"] for driver in DRIVERS}
TLS_CHECKS["psql"] = ["tls_require", "tls_disable"]


# -- building the driver programs ---------------------------------------------

class BuildError(Exception):
    pass


def _need(tool, package):
    path = shutil.which(tool)
    if path is None:
        raise BuildError("%s not found: install the Debian package %s (scripts/install-deps.sh)"
                         % (tool, package))
    return path


def _need_file(path, package):
    if not Path(path).exists():
        raise BuildError("%s not found: install the Debian package %s (scripts/install-deps.sh)"
                         % (path, package))


def _run_build(cmd, what, env=None, timeout=300):
    try:
        proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BuildError("%s timed out after %d s" % (what, timeout))
    if proc.returncode != 0:
        raise BuildError("%s failed (exit %d):\n%s" % (what, proc.returncode, proc.stdout[-4000:]))


def _fresh(target, sources):
    """Whether target exists and is newer than every source."""
    if not target.exists():
        return False
    mtime = target.stat().st_mtime
    return all(Path(s).stat().st_mtime < mtime for s in sources)


def build_jdbc():
    _need("java", "default-jre-headless")
    _need("javac", "default-jdk-headless")
    _need_file(PGJDBC_JAR, "libpostgresql-jdbc-java")
    src = COMPAT_DIR / "jdbc" / "Compat.java"
    out = BUILD_DIR / "jdbc"
    if not _fresh(out / "Compat.class", [src]):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        _run_build(["javac", "-encoding", "UTF-8", "-cp", PGJDBC_JAR, "-d", out, src], "javac")
    return ["java", "-Xss1m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-cp", "%s:%s" % (out, PGJDBC_JAR), "Compat"]


def build_go():
    _need("go", "golang-go")
    _need_file(Path(GOPATH) / "src/github.com/jackc/pgx/v4/conn.go", "golang-github-jackc-pgx-v4-dev")
    src = COMPAT_DIR / "go" / "compat.go"
    out = BUILD_DIR / "go"
    binary = out / "compat"
    if not _fresh(binary, [src]):
        out.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="",
                   GOCACHE=str(out / "cache"), HOME=os.environ.get("HOME", str(out)))
        _run_build(["go", "build", "-o", binary.with_suffix(".tmp"), src], "go build", env=env)
        os.replace(binary.with_suffix(".tmp"), binary)
    return [str(binary)]


def build_node():
    _need("node", "nodejs")
    _need("npm", "npm")
    manifest = COMPAT_DIR / "node" / "package.json"
    out = BUILD_DIR / "node"
    stamp = out / "node_modules" / ".compat-installed"
    if not _fresh(stamp, [manifest]):
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(manifest, out / "package.json")
        _run_build(["npm", "install", "--no-audit", "--no-fund", "--no-package-lock",
                    "--prefix", out], "npm install (in %s)" % out)
        stamp.write_text("")
    return ["node", str(COMPAT_DIR / "node" / "compat.js")], {"NODE_PATH": str(out / "node_modules")}


def build_ruby():
    _need("ruby", "ruby")
    _run_build(["ruby", "-e", "require 'pg'"], "ruby -e \"require 'pg'\" (Debian package ruby-pg)")
    return ["ruby", str(COMPAT_DIR / "ruby" / "compat.rb")]


def build_perl():
    _need("perl", "perl")
    _run_build(["perl", "-MDBD::Pg", "-e", "1"], "perl -MDBD::Pg (Debian package libdbd-pg-perl)")
    return ["perl", str(COMPAT_DIR / "perl" / "compat.pl")]


def build_psycopg2():
    _run_build([PYTHON, "-c", "import psycopg2"], "import psycopg2 (Debian package python3-psycopg2)")
    return [PYTHON, str(COMPAT_DIR / "psycopg2_compat.py")]


def build_psycopg():
    return [PYTHON, str(COMPAT_DIR / "psycopg_compat.py")]


def build_psql():
    _need("psql", "postgresql-client")
    return [PYTHON, str(COMPAT_DIR / "psql_compat.py")]


def build_pgbench():
    # The server's own pgbench (the one conftest's PostgreSQL comes with).
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"),
                   key=lambda p: [int(x) for x in p.parent.parent.name.split(".") if x.isdigit()])
    pgbench = str(found[-1]) if found else shutil.which("pgbench")
    if not pgbench:
        raise BuildError("pgbench not found: install the Debian package postgresql-contrib "
                         "or postgresql (scripts/install-deps.sh)")
    return [PYTHON, str(COMPAT_DIR / "pgbench_compat.py")], {"COMPAT_PGBENCH": pgbench}


BUILDERS = {
    "psql": build_psql,
    "pgbench": build_pgbench,
    "psycopg2": build_psycopg2,
    "psycopg": build_psycopg,
    "jdbc": build_jdbc,
    "node": build_node,
    "ruby": build_ruby,
    "go": build_go,
    "perl": build_perl,
}

_BUILT = {}
_BUILD_LOCK = threading.Lock()


def driver_command(driver):
    """(argv, extra environment) of a driver's program, built on first use."""
    with _BUILD_LOCK:
        if driver not in _BUILT:
            try:
                made = BUILDERS[driver]()
                _BUILT[driver] = made if isinstance(made, tuple) else (made, {})
            except BuildError as exc:
                _BUILT[driver] = exc
            except Exception as exc:  # pragma: no cover - unexpected build trouble
                _BUILT[driver] = BuildError("%s: %r" % (driver, exc))
        built = _BUILT[driver]
    if isinstance(built, BuildError):
        raise built
    return built


# -- running them ---------------------------------------------------------------

class Run:
    """The outcome of one program run: its checks, status and output."""

    def __init__(self, driver, backend, mode, argv=None, returncode=None, stdout="",
                 stderr="", seconds=0.0, error=None):
        self.driver = driver
        self.backend = backend
        self.mode = mode
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.error = error
        self.checks = {}
        self.unexpected = []
        for line in stdout.splitlines():
            if line.startswith("ok "):
                self.checks.setdefault(line[3:].strip(), (True, None))
            elif line.startswith("FAIL "):
                name, _, reason = line[5:].partition(":")
                self.checks.setdefault(name.strip(), (False, reason.strip()))

    def describe(self):
        head = "%s on %s (%s mode)" % (self.driver, self.backend, self.mode)
        if self.error:
            return "%s could not run: %s" % (head, self.error)
        return "%s: %s exited with %s after %.1f s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            head, " ".join(self.argv or []), self.returncode, self.seconds,
            self.stdout.rstrip(), self.stderr.rstrip()[-6000:])


def run_driver(driver, inst, backend, mode):
    try:
        argv, extra = driver_command(driver)
    except BuildError as exc:
        return Run(driver, backend, mode, error=str(exc))
    env = dict(os.environ)
    env.update(extra)
    env.update({
        "COMPAT_HOST": "127.0.0.1",
        "COMPAT_PORT": str(inst.port),
        "COMPAT_DBNAME": backend,
        "COMPAT_BACKEND": backend,
        "COMPAT_USER": "demo",
        "COMPAT_PASSWORD": inst.users["demo"],
        "COMPAT_SSLMODE": "require" if mode == "tls" else "disable",
        "COMPAT_MODE": mode,
        # The PostgreSQL server itself, for pgbench -i.
        "COMPAT_PG_HOST": "127.0.0.1",
        "COMPAT_PG_PORT": str(inst.postgres.port),
        "TZ": "UTC",
        "PGCONNECT_TIMEOUT": "10",
    })
    for var in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSSLMODE",
                "PGSERVICE", "PGOPTIONS", "PGTZ", "PGDATESTYLE", "PGCLIENTENCODING"):
        env.pop(var, None)
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, env=env, cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=RUN_TIMEOUT)
        out, err, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out, err, rc = exc.stdout or b"", (exc.stderr or b"") + (
            b"\n[killed after %d s]" % RUN_TIMEOUT), "timeout"
    except OSError as exc:
        return Run(driver, backend, mode, argv=argv, error="cannot run %s: %s" % (argv[0], exc))
    return Run(driver, backend, mode, argv=argv, returncode=rc,
               stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"),
               seconds=time.monotonic() - start)


class RunSet:
    """Every driver's run against one pgiris, started together on first use.

    Only the (driver, backend) pairs that the selected tests need are run,
    PARALLEL_RUNS at a time, slow starters first.
    """

    ORDER = ["jdbc", "go", "pgbench", "node", "psql", "psycopg", "psycopg2", "ruby", "perl"]

    def __init__(self, inst, mode, wanted):
        self.inst = inst
        self.mode = mode
        self.wanted = wanted
        self.pool = None
        self.futures = {}
        self.lock = threading.Lock()

    def _submit(self, driver, backend):
        self.futures[(driver, backend)] = self.pool.submit(run_driver, driver, self.inst,
                                                           backend, self.mode)

    def get(self, driver, backend):
        with self.lock:
            if self.pool is None:
                self.pool = concurrent.futures.ThreadPoolExecutor(PARALLEL_RUNS)
                for d in self.ORDER:
                    for b in ("demo", "pg"):
                        if (d, b) in self.wanted:
                            self._submit(d, b)
            if (driver, backend) not in self.futures:
                self._submit(driver, backend)
        return self.futures[(driver, backend)].result()

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def wanted_runs(request, *test_names):
    """The (driver, backend) pairs of the selected tests named test_names."""
    wanted = set()
    for item in request.session.items:
        if item.module is request.module and getattr(item, "originalname", None) in test_names:
            params = item.callspec.params
            wanted.add((params["driver"], params["backend"]))
    return wanted


def assert_check(run, check):
    if run.error:
        pytest.fail(run.describe(), pytrace=False)
    if check not in run.checks:
        pytest.fail("check %r was not reported\n%s" % (check, run.describe()), pytrace=False)
    ok, reason = run.checks[check]
    if not ok:
        stderr = "\n".join(run.stderr.rstrip().splitlines()[-20:])
        pytest.fail("%s on %s: %s failed: %s%s" % (
            run.driver, run.backend, check, reason,
            "\n--- stderr of %s ---\n%s" % (run.driver, stderr) if stderr else ""),
            pytrace=False)


def assert_exit(run, expected_checks):
    if run.error:
        pytest.fail(run.describe(), pytrace=False)
    failed = [name for name, (ok, _) in run.checks.items() if not ok]
    unknown = [name for name in run.checks if name not in expected_checks]
    assert not unknown, "unexpected checks %s\n%s" % (unknown, run.describe())
    want = 1 if failed else 0
    assert run.returncode == want, "exit status %s, expected %d (failed: %s)\n%s" % (
        run.returncode, want, failed, run.describe())


# -- fixtures ---------------------------------------------------------------------

# A JVM starting next to two other driver programs on a busy 2-core machine
# can take more than conftest's 2 s to log in (a TLS handshake in Java is
# slow until the JIT warms up).
SLOW_CLIENTS = {"client_login_timeout": 15}


@pytest.fixture(scope="module")
def compat_pgiris(module_pgiris_factory):
    # Stuck checks (a COPY or a query nobody cancels) hold backend
    # connections: leave room for them and for the programs running at once.
    return module_pgiris_factory(
        settings=dict(SLOW_CLIENTS, query_wait_timeout=10),
        databases={"demo": {"pool_size": 12}, "pg": {"pool_size": 12}})


@pytest.fixture(scope="module")
def compat_runs(request, compat_pgiris):
    runs = RunSet(compat_pgiris, "full", wanted_runs(request, "test_check", "test_exit_status"))
    yield runs
    runs.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("openssl not found: install the Debian package openssl", pytrace=False)
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "server.crt", directory / "server.key"
    proc = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert proc.returncode == 0, "openssl req failed:\n" + proc.stdout
    os.chmod(key, 0o600)
    return cert, key


@pytest.fixture(scope="module")
def tls_pgiris(module_pgiris_factory, tls_files):
    cert, key = tls_files
    return module_pgiris_factory(settings=dict(SLOW_CLIENTS, **{
        "client_tls_sslmode": "prefer",
        "client_tls_cert_file": cert,
        "client_tls_key_file": key,
    }))


@pytest.fixture(scope="module")
def tls_runs(request, tls_pgiris):
    runs = RunSet(tls_pgiris, "tls", wanted_runs(request, "test_tls_check"))
    yield runs
    runs.close()


# -- tests ------------------------------------------------------------------------

@pytest.mark.parametrize("driver,check", [(d, c) for d in DRIVERS for c in CHECKS[d]])
def test_check(compat_runs, backend, driver, check):
    assert_check(compat_runs.get(driver, backend), check)


@pytest.mark.parametrize("driver", DRIVERS)
def test_exit_status(compat_runs, backend, driver):
    """The program exits 1 exactly when a check failed, and reports no stray checks."""
    assert_exit(compat_runs.get(driver, backend), CHECKS[driver])


@pytest.mark.parametrize("driver,check", [(d, c) for d in DRIVERS for c in TLS_CHECKS[d]])
def test_tls_check(tls_runs, backend, driver, check):
    assert_check(tls_runs.get(driver, backend), check)
