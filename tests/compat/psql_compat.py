#!/usr/bin/python3
"""psql against pgiris.

psql (15) has no parameterised queries: the values are literals, and the
prepared statement is SQL PREPARE / EXECUTE.  COPY is psql's \\copy, the
SQLSTATE comes from VERBOSITY verbose and :SQLSTATE, and the cancel is a
SIGINT to psql during a long query (psql then sends a CancelRequest).

Prints `ok NAME` or `FAIL NAME: reason` per check; exits 1 if any failed.
Settings come from the environment, see compat_common.py.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from compat_common import (  # noqa: E402
    COLUMNS, COPY_IN, DBNAME, HOST, MODE, PASSWORD, PORT, SSLMODE, TEXT_VALUES, TYPE_NAMES,
    USER, CheckFailed, Reporter, create_copy_sql, create_sql, expect, expect_true, long_query,
    table_name)

R = Reporter()
T = table_name("psql")
COLS = ", ".join(c[0] for c in COLUMNS)
SEP = "\x1f"
NULL = "(null)"
TMP = tempfile.mkdtemp(prefix="compat-psql-")


def psql_env(sslmode=SSLMODE):
    env = dict(os.environ)
    env.update(PGHOST=HOST, PGPORT=str(PORT), PGUSER=USER, PGPASSWORD=PASSWORD,
               PGDATABASE=DBNAME, PGSSLMODE=sslmode, PGAPPNAME="compat-psql",
               PGCONNECT_TIMEOUT="10")
    return env


def psql_argv(stop_on_error=True):
    argv = ["psql", "-X", "-q", "-A", "-t", "-F", SEP, "-P", "null=" + NULL]
    if stop_on_error:
        argv += ["-v", "ON_ERROR_STOP=1"]
    return argv


def psql(script, stop_on_error=True, sslmode=SSLMODE, timeout=15, expect_status=0):
    """Run a psql script; return (stdout lines, stderr)."""
    proc = subprocess.run(psql_argv(stop_on_error) + ["-f", "-"], input=script, text=True,
                          env=psql_env(sslmode), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)
    if expect_status is not None and proc.returncode != expect_status:
        raise CheckFailed("psql exited with %d: %s" % (
            proc.returncode, " | ".join(proc.stderr.strip().splitlines()[-3:])))
    return proc.stdout.splitlines(), proc.stderr


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def check_connect():
    lines, _ = psql("SELECT id, name FROM customers WHERE id = 3;")
    expect(lines, ["3" + SEP + "Dmitri Almeida"], "psql output")


def check_tls_require():
    lines, _ = psql("\\conninfo\nSELECT id, name FROM customers WHERE id = 3;", sslmode="require")
    expect_true(any(line.startswith("SSL connection (protocol:") for line in lines),
                "\\conninfo shows no SSL connection: %r" % (lines,))
    expect(lines[-1], "3" + SEP + "Dmitri Almeida", "psql output over TLS")


def check_tls_disable():
    lines, _ = psql("\\conninfo\nSELECT id, name FROM customers WHERE id = 3;", sslmode="disable")
    expect_true(not any("SSL" in line for line in lines),
                "\\conninfo shows SSL although sslmode=disable: %r" % (lines,))
    expect(lines[-1], "3" + SEP + "Dmitri Almeida", "psql output without TLS")


def setup():
    psql("DROP TABLE IF EXISTS %s;\nDROP TABLE IF EXISTS %s_c;\n%s;\n%s;\n" % (
        T, T, create_sql(T), create_copy_sql(T)))


LITERALS = {
    "int2": "32767",
    "int4": "-2147483648",
    "int8": "9007199254740993",
    "float4": "1.5",
    "float8": "2.71828182845904",
    "numeric": "12345.678",
    "bool": "true",
    "text": quote(TEXT_VALUES["text"]),
    "varchar": quote(TEXT_VALUES["varchar"]),
    # Cast: without the column's type, SQLite (and IRIS) would keep an untyped '\x..' as text.
    "bytea": "'\\x00017f80ff5c27'::bytea",
    "date": "'2024-02-29'",
    "time": "'13:45:30.123456'",
    "timestamp": "'2024-02-29 13:45:30.123456'",
    "timestamptz": "'2024-02-29 13:45:30.123456+00'",
}


def type_checks():
    try:
        script = "INSERT INTO %s (id, %s) VALUES (1, %s);\n" % (
            T, COLS, ", ".join(LITERALS[n] for n in TYPE_NAMES))
        script += "INSERT INTO %s (id) VALUES (2);\n" % T
        script += "SELECT id, %s FROM %s WHERE id = 1;\n" % (COLS, T)
        script += "SELECT id, %s FROM %s WHERE id = 2;\n" % (COLS, T)
        lines, _ = psql(script)
        problem = None
        if len(lines) != 2:
            problem = CheckFailed("expected two rows, got %r" % (lines,))
    except Exception as exc:
        problem = exc
    for i, name in enumerate(TYPE_NAMES):
        def one(i=i, name=name):
            if problem:
                raise problem
            fields = lines[0].split(SEP)
            expect(len(fields), len(COLUMNS) + 1, "number of fields in %r" % lines[0])
            expect(fields[i + 1], TEXT_VALUES[name])
        R.check("type_" + name, one)

    def check_nulls():
        if problem:
            raise problem
        expect(lines[1], SEP.join(["2"] + [NULL] * len(COLUMNS)), "NULL row")
    R.check("nulls", check_nulls)


def check_rollback():
    lines, _ = psql("BEGIN;\nINSERT INTO %s (id, c_text) VALUES (3, 'rolled back');\n"
                    "SELECT c_text FROM %s WHERE id = 3;\nROLLBACK;\n"
                    "SELECT c_text FROM %s WHERE id = 3;\n" % (T, T, T))
    expect(lines, ["rolled back"], "rows inside and after the rolled-back transaction")


ERROR_RUN = {}


def run_error_script():
    if not ERROR_RUN:
        lines, err = psql("\\set VERBOSITY verbose\n"
                          "INSERT INTO %s (id, c_text) VALUES (1, 'duplicate');\n"
                          "\\echo sqlstate :SQLSTATE\n"
                          "SELECT id FROM %s WHERE id = 1;\n" % (T, T),
                          stop_on_error=False)
        ERROR_RUN.update(lines=lines, err=err)
    return ERROR_RUN["lines"], ERROR_RUN["err"]


def check_error():
    lines, err = run_error_script()
    expect_true("ERROR:  23505:" in err, "no 'ERROR:  23505:' in psql's stderr: %r" % err)
    expect_true("sqlstate 23505" in lines, ":SQLSTATE is not 23505: %r" % (lines,))


def check_error_recovery():
    lines, err = run_error_script()
    expect(lines[-1:], ["1"], "query after the error (stderr %r)" % err)


def check_prepared():
    lines, _ = psql("PREPARE compat_sel (integer) AS SELECT id, c_varchar FROM %s WHERE id = $1;\n"
                    "BEGIN;\nEXECUTE compat_sel (1);\nCOMMIT;\n"
                    "BEGIN;\nEXECUTE compat_sel (1);\nCOMMIT;\n"
                    "EXECUTE compat_sel (2);\nDEALLOCATE compat_sel;\n" % T)
    expect(lines, ["1" + SEP + "varchar value", "1" + SEP + "varchar value", "2" + SEP + NULL],
           "EXECUTE results")


def check_copy_in():
    path = os.path.join(TMP, "in.txt")
    with open(path, "w") as f:
        f.write(COPY_IN)
    lines, _ = psql("DELETE FROM %s_c;\n\\copy %s_c (id, t, n) FROM '%s'\n"
                    "SELECT id, t, n FROM %s_c ORDER BY id;\n" % (T, T, path, T), timeout=8)
    expect(lines, [SEP.join(["1", "one", "10"]), SEP.join(["2", NULL, "20"]),
                   SEP.join(["3", "back\\slash", NULL]), SEP.join(["4", "tab\there", "-4"])],
           "rows copied in")


def check_copy_out():
    path = os.path.join(TMP, "out.txt")
    psql("DELETE FROM %s_c;\n"
         "INSERT INTO %s_c (id, t, n) VALUES (1, 'one', 10), (2, NULL, 20), "
         "(3, 'back\\slash', NULL), (4, 'tab\there', -4);\n" % (T, T))
    psql("\\copy %s_c (id, t, n) TO '%s'\n" % (T, path), timeout=8)
    with open(path) as f:
        data = f.read()
    expect(sorted(data.splitlines()), sorted(COPY_IN.splitlines()), "COPY TO lines")


def check_cancel():
    path = os.path.join(TMP, "cancel.sql")
    with open(path, "w") as f:
        f.write("\\set VERBOSITY verbose\n%s;\n" % long_query())
    proc = subprocess.Popen(psql_argv() + ["-f", path], env=psql_env(), text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(1.0)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise CheckFailed("psql still waiting 8 s after SIGINT (query not cancelled)")
    elapsed = time.monotonic() - start
    expect_true("ERROR:  57014:" in err, "no 'ERROR:  57014:' in psql's stderr: %r" % err)
    expect_true(elapsed < 6, "cancelled only after %.1f s" % elapsed)


def check_cleanup():
    psql("DROP TABLE %s;\nDROP TABLE %s_c;\n" % (T, T))


def main():
    if MODE == "tls":
        R.check("tls_require", check_tls_require)
        R.check("tls_disable", check_tls_disable)
        R.exit()
    if not R.check("connect", check_connect):
        R.exit()
    R.check("setup", setup)
    type_checks()
    R.check("rollback", check_rollback)
    R.check("error_sqlstate", check_error)
    R.check("error_recovery", check_error_recovery)
    R.check("prepared_reuse", check_prepared)
    R.check("copy_in", check_copy_in, timeout=10)
    R.check("copy_out", check_copy_out, timeout=10)
    R.check("cancel", check_cancel, timeout=12)
    R.check("cleanup", check_cleanup)
    R.exit()


if __name__ == "__main__":
    main()
